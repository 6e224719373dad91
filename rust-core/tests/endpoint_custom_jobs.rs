//! SetCustomMiningJob through the Mining server endpoint: a job declared by a JDC to a JDS
//! (in memory) is set on an extended channel of a connection that asked for work selection,
//! a share on it is credited and its block completed from the declared transactions; the
//! same token twice, a connection without work selection and a standard channel are refused.

mod jd_common;

use std::sync::{Arc, Mutex};

use jd_common::*;
use sv2::channels::coinbase::{serialize_output, CoinbaseSpec};
use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::hash::{header_bytes, merkle_root, sha256d};
use sv2::channels::job::TipJob;
use sv2::channels::server::Job;
use sv2::channels::target::{hash_meets_target, MAX_TARGET};
use sv2::codec::{Bytes, Str0_255};
use sv2::endpoint::server::{Event, JobState, Now, ServerConfig, ServerEndpoint, WorkSelection};
use sv2::jd::client::{CustomJobRequest, Declared};
use sv2::jd::coinbase::PoolOutputs;
use sv2::jd::store::TokenStore;
use sv2::messages::mining_flags::REQUIRES_WORK_SELECTION;
use sv2::messages::{OpenExtendedMiningChannel, OpenStandardMiningChannel, SetupConnection, SubmitSharesExtended};

/// A job declared with every transaction known to the JDS, and the JDS's token store.
fn declared() -> (TokenStore, CustomJobRequest, u64) {
    let template = Template::new((0..3).map(|i| tx(i, 72)).collect());
    let mut net = Net::new(jdc_config(true), jds_config(), template.mempool(|_| true));
    net.connect();
    let mut out = Vec::new();
    let Declared::Sent { request_id } =
        net.jdc.declare(&template.msg(), &tip(), &template.tx_refs(), &mut out).unwrap()
    else {
        panic!("full-template declares")
    };
    net.send_jds(out);
    net.verdict(request_id, Ok(()));
    let req = net.declared().expect("DeclareMiningJob.Success");
    let now = net.now;
    (std::mem::replace(&mut net.store, TokenStore::new(1)), req, now)
}

/// The pool's own job on the tip, with the channels' 8-byte extranonce hole.
fn tip_jobs() -> JobState {
    let outputs = serialize_output(50 * 100_000_000, &POOL_SCRIPT);
    let coinbase = CoinbaseSpec {
        version: 2,
        script_prefix: &[0x01, 0x65],
        tag: b"/pool/",
        sequence: 0xffff_ffff,
        pool_outputs: &outputs,
        pool_outputs_count: 1,
        template_outputs: &[],
        template_outputs_count: 0,
        locktime: 0,
        extranonce_len: 8,
    }
    .build()
    .unwrap();
    let job = Arc::new(Job {
        template_id: Some(1),
        version: 0x2000_0000,
        version_rolling_allowed: true,
        coinbase,
        merkle_path: vec![],
    });
    JobState { tip_seq: 1, tip: Some(TipJob { job_id: 1, job, prev: tip() }), latest: None, future: vec![] }
}

fn setup(flags: u32) -> SetupConnection<'static> {
    SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags,
        endpoint_host: Str0_255::EMPTY,
        endpoint_port: 0,
        vendor: Str0_255::EMPTY,
        hardware_version: Str0_255::EMPTY,
        firmware: Str0_255::EMPTY,
        device_id: Str0_255::EMPTY,
    }
}

fn endpoint(store: TokenStore, flags: u32) -> ServerEndpoint<ExtranonceAllocator> {
    let work = WorkSelection {
        tokens: Arc::new(Mutex::new(store)),
        pool_outputs: Arc::new(PoolOutputs::single(&POOL_SCRIPT)),
    };
    let config = ServerConfig { min_difficulty: 1e-12, ..ServerConfig::default() };
    let mut ep = ServerEndpoint::new(config, ExtranonceAllocator::new(&[], 4, 8).unwrap()).with_work_selection(work);
    let now = Now { mono_secs: 0, unix_secs: MIN_NTIME };
    assert!(matches!(ep.on_message(&setup(flags).into(), &tip_jobs(), now, &mut Vec::new()), Ok(Event::SetUp { .. })));
    let open = OpenExtendedMiningChannel {
        request_id: 1,
        user_identity: Str0_255::from_str("alice").unwrap(),
        nominal_hash_rate: 1.0,
        max_target: MAX_TARGET,
        min_extranonce_size: 4,
    };
    let ev = ep.on_message(&open.into(), &tip_jobs(), now, &mut Vec::new()).unwrap();
    assert_eq!(ev, Event::ChannelOpened { channel_id: 2 });
    ep
}

#[test]
fn a_declared_job_is_mined_on_an_extended_channel() {
    let (store, req, token_now) = declared();
    let mut ep = endpoint(store, REQUIRES_WORK_SELECTION);
    let now = Now { mono_secs: token_now, unix_secs: MIN_NTIME };
    let jobs = tip_jobs();
    let mut out = Vec::new();
    let ev = ep.on_message(&req.message(2, 9).into(), &jobs, now, &mut out).unwrap();
    let Event::CustomJobAccepted { channel_id: 2, job_id } = ev else { panic!("{ev:?}") };
    let mut answers = Vec::new();
    each_message(&out, |m| answers.push(m.name()));
    assert_eq!(answers, ["SetCustomMiningJobSuccess"]);

    // A share on it that is also a block: credited, and the block completed from the
    // declared transactions.
    let custom = ep.custom_job(job_id).unwrap().clone();
    let rolled = [1u8, 2, 3, 4];
    let full = [ep.channel(2).unwrap().extranonce_prefix(), &rolled].concat();
    let root = merkle_root(&custom.job.coinbase.stripped(&full), &custom.job.merkle_path);
    let ntime = MIN_NTIME + 1;
    let nonce = (0u32..)
        .find(|n| {
            let h =
                sha256d(&header_bytes(custom.job.version, &custom.prev.prev_hash, &root, ntime, custom.prev.nbits, *n));
            hash_meets_target(&h, &custom.prev.block_target)
        })
        .unwrap();
    let share = SubmitSharesExtended {
        channel_id: 2,
        sequence_number: 1,
        job_id,
        nonce,
        ntime,
        version: custom.job.version,
        extranonce: Bytes::new(&rolled).unwrap(),
    };
    let Event::ShareAccepted { accepted, .. } = ep.on_message(&share.into(), &jobs, now, &mut out).unwrap() else {
        panic!("share on the custom job refused")
    };
    let found = accepted.block.expect("a block");
    let block = custom.block(&found).expect("a declared job completes its block");
    assert_eq!(block.transactions.len(), 3);

    // The token is spent.
    let mut out = Vec::new();
    let ev = ep.on_message(&req.message(2, 10).into(), &jobs, now, &mut out).unwrap();
    assert_eq!(ev, Event::CustomJobRefused { channel_id: 2, code: "invalid-mining-job-token" });
}

#[test]
fn custom_jobs_need_work_selection_and_an_extended_channel() {
    let (store, req, token_now) = declared();
    let now = Now { mono_secs: token_now, unix_secs: MIN_NTIME };
    let mut ep = endpoint(store, 0);
    let ev = ep.on_message(&req.message(2, 9).into(), &tip_jobs(), now, &mut Vec::new()).unwrap();
    assert_eq!(ev, Event::CustomJobRefused { channel_id: 2, code: "unsupported-feature-flags" });

    let (store, req, token_now) = declared();
    let now = Now { mono_secs: token_now, unix_secs: MIN_NTIME };
    let mut ep = endpoint(store, REQUIRES_WORK_SELECTION);
    let open = OpenStandardMiningChannel {
        request_id: 2,
        user_identity: Str0_255::from_str("alice").unwrap(),
        nominal_hash_rate: 1.0,
        max_target: MAX_TARGET,
    };
    assert_eq!(
        ep.on_message(&open.into(), &tip_jobs(), now, &mut Vec::new()).unwrap(),
        Event::ChannelOpened { channel_id: 3 }
    );
    for channel in [3, 99] {
        let ev = ep.on_message(&req.message(channel, 9).into(), &tip_jobs(), now, &mut Vec::new()).unwrap();
        assert_eq!(ev, Event::CustomJobRefused { channel_id: channel, code: "invalid-channel-id" });
    }
    // The refusals left the token for the right channel.
    let ev = ep.on_message(&req.message(2, 9).into(), &tip_jobs(), now, &mut Vec::new()).unwrap();
    assert!(matches!(ev, Event::CustomJobAccepted { channel_id: 2, .. }), "{ev:?}");
}
