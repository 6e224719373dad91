//! A JDC and a JDS through encoded frames: tokens, declarations with none, some and all
//! transactions unknown, the pool's check of the SetCustomMiningJob, a share on the custom
//! job credited by a ServerChannel, and PushSolution rebuilt into a block that Bitcoin's own
//! checks accept.

mod jd_common;

use bitcoin::consensus::deserialize;
use jd_common::*;
use sv2::channels::hash::{header_bytes, merkle_root, sha256d};
use sv2::channels::server::{ChannelKind, FoundBlock, ServerChannel, Share};
use sv2::channels::target::{hash_meets_target, MAX_TARGET};
use sv2::channels::vardiff::Vardiff;
use sv2::jd::client::{CustomJobRequest, Declared};
use sv2::jd::coinbase::PoolOutputs;
use sv2::jd::custom::{validate_custom_job, CustomJob, PoolView};
use sv2::jd::server::{self, JdBlock};
use sv2::jd::store::TokenStore;
use sv2::Message;

/// A change to a SetCustomMiningJob.
type Edit = Box<dyn FnOnce(&mut sv2::messages::SetCustomMiningJob<'_>)>;

fn channel() -> ServerChannel {
    let mut easy = [0xff; 32];
    easy[31] = 0x7f;
    ServerChannel::new(
        5,
        ChannelKind::Extended { extranonce_size: EXTRANONCE_SIZE },
        "alice",
        EXTRANONCE_PREFIX.to_vec(),
        easy,
        MAX_TARGET,
        Vardiff::new(10.0, 60, 0),
    )
}

fn view<'a>(tip: &'a sv2::channels::server::PrevHash, pool: &'a PoolOutputs, now: u64) -> PoolView<'a> {
    PoolView {
        tip,
        pool_outputs: pool,
        extranonce_len: EXTRANONCE_PREFIX.len() + usize::from(EXTRANONCE_SIZE),
        version_rolling_allowed: true,
        now,
        unix_now: MIN_NTIME,
    }
}

/// The SetCustomMiningJob through a frame, checked by the pool.
fn set_custom<'a>(
    store: &mut TokenStore,
    req: &'a CustomJobRequest,
    now: u64,
    edit: impl FnOnce(&mut sv2::messages::SetCustomMiningJob<'a>),
) -> Result<CustomJob, String> {
    let mut m = req.message(5, 1);
    edit(&mut m);
    let bytes = frame(&m.into());
    let pool = PoolOutputs::single(&POOL_SCRIPT);
    let tip = tip();
    let mut result = None;
    each_message(&bytes, |msg| {
        let Message::SetCustomMiningJob(m) = msg else { panic!("not a SetCustomMiningJob") };
        result = Some(validate_custom_job(store, m, view(&tip, &pool, now)).map_err(|e| {
            assert_eq!(e.message(m).error_code.as_str(), Some(e.code));
            e.code.to_string()
        }));
    });
    result.unwrap()
}

/// Mines a share on the custom job that is also a block; returns (extranonce, nonce, ntime).
fn mine(job: &CustomJob, ch: &mut ServerChannel) -> (Vec<u8>, u32, u32, FoundBlock) {
    let rolled = [1, 2, 3, 4];
    let full = [EXTRANONCE_PREFIX.as_slice(), &rolled].concat();
    let root = merkle_root(&job.job.coinbase.stripped(&full), &job.job.merkle_path);
    let ntime = MIN_NTIME + 1;
    let nonce = (0u32..)
        .find(|n| {
            let h = sha256d(&header_bytes(job.job.version, &job.prev.prev_hash, &root, ntime, job.prev.nbits, *n));
            hash_meets_target(&h, &job.prev.block_target)
        })
        .unwrap();
    let share = Share { job_id: 900, nonce, ntime, version: job.job.version, extranonce: &rolled };
    let accepted = ch.validate(&share, 1, MIN_NTIME).expect("share on the custom job accepted");
    assert!(accepted.credit > 0.0);
    let block = accepted.block.expect("a block");
    assert_eq!(ch.take_success().unwrap().new_submits_accepted_count, 1);
    (full, nonce, ntime, block)
}

/// Declares a template of `n` transactions, with the JDS knowing those `known` picks.
fn declare_job(n: u32, known: impl Fn(usize) -> bool) -> (Net, Template, u32) {
    let template = Template::new((0..n).map(|i| tx(i, 72)).collect());
    let mut net = Net::new(jdc_config(true), jds_config(), template.mempool(known));
    net.connect();
    let mut out = Vec::new();
    let Declared::Sent { request_id } =
        net.jdc.declare(&template.msg(), &tip(), &template.tx_refs(), &mut out).unwrap()
    else {
        panic!("full-template declares")
    };
    net.send_jds(out);
    (net, template, request_id)
}

fn full_flow(n: u32, known: impl Fn(usize) -> bool, expect_missing: usize) {
    let (mut net, template, request_id) = declare_job(n, known);
    // The JDC learns the pool output's size and sigops for its template provider.
    let constraints = net.client_events.iter().find_map(|e| match e {
        sv2::jd::client::Event::TokenReady { constraints, .. } => Some(*constraints),
        _ => None,
    });
    let c = constraints.expect("a token");
    assert_eq!((c.coinbase_output_max_additional_size, c.coinbase_output_max_additional_sigops), (8 + 1 + 22, 0));
    let asked = net.server_events.iter().find_map(|e| match e {
        server::Event::MissingTransactionsRequested { count, .. } => Some(*count),
        _ => None,
    });
    assert_eq!(asked.unwrap_or(0), expect_missing);
    let job = net.server_events.iter().find_map(|e| match e {
        server::Event::ValidateJob { job, .. } => Some(job.clone()),
        _ => None,
    });
    let job = job.expect("the JDS asks for a verdict");
    assert_eq!(job.transactions.len(), template.txs.len());
    assert!(job.transactions.iter().zip(&template.txs).all(|(a, b)| &a[..] == b.as_slice()));
    assert_eq!(job.merkle_path, template.path);
    assert!(net.declared().is_none(), "no Success before the verdict");
    // The job as declared is there to mine before the answer; only the token changes.
    let early = net.jdc.declaration(request_id).cloned().expect("the declaration is kept");
    net.verdict(request_id, Ok(()));
    let req = net.declared().expect("DeclareMiningJob.Success");
    assert_eq!(req.declaration_id, request_id);
    assert_eq!(
        (&early.coinbase, &early.merkle_path, early.prev_hash),
        (&req.coinbase, &req.merkle_path, req.prev_hash)
    );
    assert_ne!(early.token, req.token);

    // The pool accepts the custom job, and a share on it is credited.
    let now = net.now;
    let custom = set_custom(&mut net.store, &req, now, |_| {}).unwrap();
    assert_eq!(custom.user, "alice");
    let mut ch = channel();
    custom.install(&mut ch, 900).unwrap();
    let (extranonce, nonce, ntime, pool_found) = mine(&custom, &mut ch);
    let pool_block = custom.block(&pool_found).expect("the pool completes the block from the declaration");
    assert_eq!(set_custom(&mut net.store, &req, now, |_| {}).unwrap_err(), "invalid-mining-job-token", "token reused");

    // PushSolution: the JDS rebuilds the same block, and it is a valid block.
    let mut out = Vec::new();
    let coinbase = net.jdc.push_solution(request_id, &extranonce, nonce, ntime, custom.job.version, &mut out).unwrap();
    net.send_jds(out);
    let Some(server::Event::BlockFound(block)) = net.server_events.last().cloned() else {
        panic!("no block: {:?}", net.server_events.last())
    };
    let block: Box<JdBlock> = block;
    assert_eq!(*block, pool_block, "the pool and the JDS build the same block");
    assert_eq!(block.coinbase, coinbase);
    let parsed: bitcoin::Block = deserialize(&block.serialize()).unwrap();
    assert!(parsed.check_merkle_root());
    assert!(parsed.check_witness_commitment());
    assert_eq!(parsed.txdata.len(), template.txs.len() + 1);
    assert!(parsed.txdata[0].is_coinbase());
    assert_eq!(parsed.txdata[0].output[0].value.to_sat(), VALUE_REMAINING);
    assert_eq!(parsed.txdata[0].output[0].script_pubkey.as_bytes(), POOL_SCRIPT);
    assert_eq!(sha256d(&block.header), block.hash());
}

#[test]
fn every_transaction_known() {
    full_flow(9, |_| true, 0);
}

#[test]
fn some_transactions_unknown() {
    full_flow(9, |i| i % 3 != 0, 3);
}

#[test]
fn every_transaction_unknown() {
    full_flow(9, |_| false, 9);
}

#[test]
fn empty_block() {
    full_flow(0, |_| true, 0);
}

#[test]
fn coinbase_only_needs_no_declaration() {
    let template = Template::new((0..5).map(|i| tx(i, 72)).collect());
    let mut net = Net::new(jdc_config(false), jds_config(), template.mempool(|_| false));
    net.connect();
    assert!(matches!(net.server_events[0], server::Event::SetUp { full_template: false }));
    let mut out = Vec::new();
    let Declared::Ready(req) = net.jdc.declare(&template.msg(), &tip(), &[], &mut out).unwrap() else {
        panic!("coinbase-only is ready at once")
    };
    assert!(out.is_empty(), "nothing sent to the JDS");
    let m = req.message(5, 1);
    assert_eq!(m.merkle_path.to_vec(), template.path);
    let now = net.now;
    let custom = set_custom(&mut net.store, &req, now, |_| {}).unwrap();
    let mut ch = channel();
    custom.install(&mut ch, 900).unwrap();
    let (_, _, _, found) = mine(&custom, &mut ch);
    assert!(custom.block(&found).is_none(), "only the JDC knows the transactions");
    // The pool's outputs are checked in this mode too.
    let mut net2 = Net::new(jdc_config(false), jds_config(), template.mempool(|_| false));
    net2.connect();
    let mut out = Vec::new();
    let Declared::Ready(req2) = net2.jdc.declare(&template.msg(), &tip(), &[], &mut out).unwrap() else { panic!() };
    let other =
        [vec![2u8], sv2::channels::coinbase::serialize_output(VALUE_REMAINING, &[0x51]), template.outputs.clone()]
            .concat();
    let now = net2.now;
    let err = set_custom(&mut net2.store, &req2, now, |m| {
        m.coinbase_tx_outputs = sv2::codec::Bytes::new(&other[..]).unwrap()
    });
    assert_eq!(err.unwrap_err(), "pool-output-missing");
}

#[test]
fn a_full_template_token_must_declare_first() {
    let template = Template::new(vec![tx(1, 72)]);
    let mut net = Net::new(jdc_config(true), jds_config(), template.mempool(|_| true));
    net.connect();
    assert_eq!(net.store.len(), 1);
    let mut out = Vec::new();
    let Declared::Sent { .. } = net.jdc.declare(&template.msg(), &tip(), &template.tx_refs(), &mut out).unwrap() else {
        panic!()
    };
    // The allocated token (in the DeclareMiningJob), presented to the pool instead.
    let mut req = None;
    each_message(&out, |m| {
        let Message::DeclareMiningJob(d) = m else { panic!() };
        req = Some(d.mining_job_token.as_bytes().to_vec());
    });
    let declared_token = req.unwrap();
    net.send_jds(out);
    let request_id = net.validate_request().unwrap();
    net.verdict(request_id, Ok(()));
    let good = net.declared().unwrap();
    let mut early = good.clone();
    early.token = declared_token;
    let now = net.now;
    assert_eq!(set_custom(&mut net.store, &early, now, |_| {}).unwrap_err(), "invalid-mining-job-token");
    assert!(set_custom(&mut net.store, &good, now, |_| {}).is_ok());
}

#[test]
fn the_pool_refuses_custom_jobs_that_differ_from_the_declaration() {
    let (mut net, _template, request_id) = declare_job(6, |i| i != 2);
    net.verdict(request_id, Ok(()));
    let req = net.declared().unwrap();
    let now = net.now;
    let s = &mut net.store;
    let cases: Vec<(&str, Edit)> = vec![
        ("stale-chain-tip", Box::new(|m| m.prev_hash = [1; 32])),
        ("invalid-nbits", Box::new(|m| m.nbits = 0x1d00_ffff)),
        ("invalid-min-ntime", Box::new(|m| m.min_ntime = MIN_NTIME - 1)),
        ("invalid-min-ntime", Box::new(|m| m.min_ntime = MIN_NTIME + 7201)),
        ("invalid-version", Box::new(|m| m.version = 0x2000_0004)),
        ("invalid-version", Box::new(|m| m.version = 1)),
        ("invalid-merkle-path", Box::new(|m| m.merkle_path = sv2::codec::Seq::EMPTY)),
        ("invalid-coinbase-prefix", Box::new(|m| m.coinbase_prefix = sv2::codec::Bytes::new(&[1, 2, 3]).unwrap())),
        ("invalid-coinbase-prefix", Box::new(|m| m.coinbase_prefix = sv2::codec::Bytes::new(&[0; 99]).unwrap())),
        ("invalid-coinbase-tx-version", Box::new(|m| m.coinbase_tx_version = 1)),
        ("invalid-coinbase-tx-input-n-sequence", Box::new(|m| m.coinbase_tx_input_nsequence = 0)),
        ("invalid-coinbase-tx-outputs", Box::new(|m| m.coinbase_tx_outputs = sv2::codec::Bytes::new(&[0]).unwrap())),
        ("invalid-coinbase-tx-outputs", Box::new(|m| m.coinbase_tx_outputs = sv2::codec::Bytes::new(&[1, 2]).unwrap())),
        ("invalid-coinbase-tx-locktime", Box::new(|m| m.coinbase_tx_locktime = 5)),
        ("invalid-mining-job-token", Box::new(|m| m.mining_job_token = sv2::codec::Bytes::new(&[3; 16]).unwrap())),
    ];
    for (code, edit) in cases {
        assert_eq!(set_custom(s, &req, now, edit).unwrap_err(), code);
    }
    // None of those spent the token; a later one, after it expired, is refused.
    assert_eq!(set_custom(s, &req, now + 601, |_| {}).unwrap_err(), "invalid-mining-job-token");
    assert!(set_custom(s, &req, now, |_| {}).is_ok());
}

#[test]
fn shares_on_a_custom_job_on_the_current_tip_keep_older_jobs() {
    let (mut net, _t, request_id) = declare_job(3, |_| true);
    net.verdict(request_id, Ok(()));
    let req = net.declared().unwrap();
    let now = net.now;
    let custom = set_custom(&mut net.store, &req, now, |_| {}).unwrap();
    let mut ch = channel();
    custom.install(&mut ch, 900).unwrap();
    custom.install(&mut ch, 901).unwrap();
    assert!(ch.job_message(900, None).is_some() && ch.job_message(901, None).is_some());
}
