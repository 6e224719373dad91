//! The Mining server endpoint driven like a connection: setup negotiation, channel admission,
//! jobs for new channels, shares mined by a client channel accepted and acknowledged, bad
//! shares answered and a flood of them closing the connection, prefixes given back.

use std::sync::{Arc, Mutex};

use sv2::channels::client::ClientChannels;
use sv2::channels::coinbase::{serialize_output, CoinbaseSpec};
use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::hash::{header_bytes, sha256d};
use sv2::channels::job::{TemplateJob, TipJob};
use sv2::channels::server::{Job, PrevHash};
use sv2::channels::target::{hash_meets_target, target_from_nbits, MAX_TARGET};
use sv2::channels::ShareError;
use sv2::codec::{Bytes, FrameDecoder, Seq, Str0_255};
use sv2::endpoint::server::{EndpointError, Event, JobState, Now, ServerConfig, ServerEndpoint, GROUP_CHANNEL_ID};
use sv2::messages::mining_flags::REQUIRES_STANDARD_JOBS;
use sv2::messages::mining_success_flags::{REQUIRES_EXTENDED_CHANNELS, REQUIRES_FIXED_VERSION};
use sv2::messages::{
    CloseChannel, OpenExtendedMiningChannel, OpenStandardMiningChannel, RequestExtensions, SetupConnection,
    SubmitSharesExtended, SubmitSharesStandard, UpdateChannel,
};
use sv2::Message;

const NBITS: u32 = 0x207f_ffff;
const NTIME: u32 = 1_700_000_000;
const NOW: Now = Now { mono_secs: 100, unix_secs: NTIME };

type Shared = Arc<Mutex<ExtranonceAllocator>>;

fn allocator() -> Shared {
    Arc::new(Mutex::new(ExtranonceAllocator::new(&[], 4, 16).unwrap()))
}

fn job() -> Arc<Job> {
    let outputs = serialize_output(50 * 100_000_000, &[0x51]);
    let coinbase = CoinbaseSpec {
        version: 2,
        script_prefix: &[0x01, 0x65],
        tag: b"/test/",
        sequence: 0xffff_ffff,
        pool_outputs: &outputs,
        pool_outputs_count: 1,
        template_outputs: &[],
        template_outputs_count: 0,
        locktime: 0,
        extranonce_len: 16,
    }
    .build()
    .unwrap();
    Arc::new(Job {
        template_id: Some(7),
        version: 0x2000_0000,
        version_rolling_allowed: true,
        coinbase,
        merkle_path: vec![[1; 32]],
    })
}

fn jobs(tip_seq: u64, tip_job: u32, prev_hash: u8) -> JobState {
    let prev =
        PrevHash { prev_hash: [prev_hash; 32], nbits: NBITS, min_ntime: NTIME, block_target: target_from_nbits(NBITS) };
    JobState {
        tip_seq,
        tip: Some(TipJob { job_id: tip_job, job: job(), prev }),
        latest: Some(TemplateJob { job_id: tip_job, job: job(), active_ntime: Some(NTIME) }),
        future: vec![TemplateJob { job_id: tip_job + 1, job: job(), active_ntime: None }],
    }
}

fn config() -> ServerConfig {
    // Every hash a share: the tests mine with a few nonces.
    ServerConfig { min_difficulty: 1e-12, ..ServerConfig::default() }
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

fn open_standard(request_id: u32, user: &str, rate: f32) -> OpenStandardMiningChannel<'_> {
    OpenStandardMiningChannel {
        request_id,
        user_identity: Str0_255::from_str(user).unwrap(),
        nominal_hash_rate: rate,
        max_target: MAX_TARGET,
    }
}

fn open_extended(request_id: u32, min_extranonce_size: u16) -> OpenExtendedMiningChannel<'static> {
    OpenExtendedMiningChannel {
        request_id,
        user_identity: Str0_255::from_str("alice.ext").unwrap(),
        nominal_hash_rate: 1.0,
        max_target: MAX_TARGET,
        min_extranonce_size,
    }
}

/// Every message in the outbox, by name, fed to `client` too; the outbox is emptied.
fn drain(out: &mut Vec<u8>, client: &mut ClientChannels) -> Vec<&'static str> {
    let mut decoder = FrameDecoder::new(1 << 24);
    decoder.push(out);
    out.clear();
    let mut names = Vec::new();
    while let Some(frame) = decoder.next_frame().unwrap() {
        let (msg, _) = frame.message().unwrap();
        names.push(msg.name());
        match &msg {
            Message::OpenStandardMiningChannelSuccess(s) => {
                let c = sv2::channels::client::ClientChannel::standard(
                    s.channel_id,
                    s.target,
                    s.extranonce_prefix.as_bytes(),
                    true,
                );
                client.insert(c, s.group_channel_id);
            }
            Message::OpenExtendedMiningChannelSuccess(s) => {
                let c = sv2::channels::client::ClientChannel::extended(
                    s.channel_id,
                    s.target,
                    s.extranonce_prefix.as_bytes(),
                    s.extranonce_size,
                );
                client.insert(c, s.group_channel_id);
            }
            other => {
                client.on_message(other);
            }
        }
    }
    names
}

fn endpoint(flags: u32) -> (ServerEndpoint<Shared>, Shared, Vec<u8>, ClientChannels) {
    let prefixes = allocator();
    let mut ep = ServerEndpoint::new(config(), prefixes.clone());
    let mut out = Vec::new();
    let ev = ep.on_message(&setup(flags).into(), &JobState::default(), NOW, &mut out).unwrap();
    assert_eq!(ev, Event::SetUp { flags: 0 });
    let mut client = ClientChannels::new();
    assert_eq!(drain(&mut out, &mut client), ["SetupConnectionSuccess"]);
    (ep, prefixes, out, client)
}

/// A nonce whose header meets the client's target, submitted as the channel's share.
fn mine(client: &ClientChannels, channel_id: u32, sequence: u32) -> Message<'static> {
    let ch = client.get(channel_id).unwrap();
    let extranonce = vec![9u8; ch.extranonce_size()];
    let work = ch.work(&extranonce).unwrap();
    let nonce = (0u32..)
        .find(|n| {
            let h = header_bytes(work.version, &work.prev_hash, &work.merkle_root, NTIME, work.nbits, *n);
            hash_meets_target(&sha256d(&h), &work.target)
        })
        .unwrap();
    if ch.extranonce_size() == 0 {
        SubmitSharesStandard {
            channel_id,
            sequence_number: sequence,
            job_id: work.job_id,
            nonce,
            ntime: NTIME,
            version: work.version,
        }
        .into()
    } else {
        let extranonce: &'static [u8] = Box::leak(work.extranonce.clone().into_boxed_slice());
        SubmitSharesExtended {
            channel_id,
            sequence_number: sequence,
            job_id: work.job_id,
            nonce,
            ntime: NTIME,
            version: work.version,
            extranonce: Bytes::new(extranonce).unwrap(),
        }
        .into()
    }
}

#[test]
fn nothing_before_setup_and_bad_setups_refused() {
    let mut out = Vec::new();
    let mut ep = ServerEndpoint::new(config(), allocator());
    let msg = open_standard(1, "a", 1.0).into();
    assert_eq!(
        ep.on_message(&msg, &JobState::default(), NOW, &mut out),
        Err(EndpointError::NotSetUp("OpenStandardMiningChannel"))
    );
    let mut wrong = setup(0);
    wrong.protocol = 1;
    let r = ep.on_message(&wrong.into(), &JobState::default(), NOW, &mut out);
    assert_eq!(r, Err(EndpointError::SetupRefused("unsupported-protocol")));
    assert_eq!(drain(&mut out, &mut ClientChannels::new()), ["SetupConnectionError"]);
    let r = ep.on_message(&setup(0x8000_0000).into(), &JobState::default(), NOW, &mut out);
    assert_eq!(r, Err(EndpointError::SetupRefused("unsupported-feature-flags")));
    let strict = ServerConfig { version_rolling: false, extended_channels_only: true, ..config() };
    let mut ep = ServerEndpoint::new(strict, allocator());
    let r = ep.on_message(&setup(REQUIRES_STANDARD_JOBS).into(), &JobState::default(), NOW, &mut out);
    assert_eq!(r, Err(EndpointError::SetupRefused("unsupported-feature-flags")));
    let r = ep.on_message(&setup(0).into(), &JobState::default(), NOW, &mut out).unwrap();
    assert_eq!(r, Event::SetUp { flags: REQUIRES_FIXED_VERSION | REQUIRES_EXTENDED_CHANNELS });
    let r = ep.on_message(&setup(0).into(), &JobState::default(), NOW, &mut out);
    assert_eq!(r, Err(EndpointError::SecondSetup));
}

#[test]
fn standard_channels_get_group_jobs_and_shares_are_acknowledged() {
    let (mut ep, _, mut out, mut client) = endpoint(0);
    let state = jobs(1, 10, 0x42);
    let ev = ep.on_message(&open_standard(5, "alice.rig", 1.0).into(), &state, NOW, &mut out).unwrap();
    assert_eq!(ev, Event::ChannelOpened { channel_id: 2 });
    // Success, the tip's job (future) and its SetNewPrevHash, then the future job.
    let names = drain(&mut out, &mut client);
    assert_eq!(names, ["OpenStandardMiningChannelSuccess", "NewMiningJob", "SetNewPrevHash", "NewMiningJob"]);
    let share = mine(&client, 2, 1);
    match ep.on_message(&share, &state, NOW, &mut out).unwrap() {
        Event::ShareAccepted { channel_id: 2, sequence_number: 1, accepted } => assert!(accepted.credit > 0.0),
        other => panic!("{other:?}"),
    }
    assert!(out.is_empty(), "no answer before the caller acknowledges");
    let successes = ep.take_successes();
    assert_eq!(successes.len(), 1);
    assert_eq!(
        (successes[0].channel_id, successes[0].last_sequence_number, successes[0].new_submits_accepted_count),
        (2, 1, 1)
    );
    assert!(ep.take_successes().is_empty());
    // The same share again is a duplicate, answered at once.
    let ev = ep.on_message(&share, &state, NOW, &mut out).unwrap();
    assert_eq!(ev, Event::ShareRejected { channel_id: 2, error: ShareError::DuplicateShare });
    assert_eq!(drain(&mut out, &mut client), ["SubmitSharesError"]);

    // A new tip reaches the group once: a group job and one SetNewPrevHash.
    let next = jobs(2, 20, 0x43);
    let synced = ep.sync(&next, &mut out).unwrap();
    assert!(synced.tip_sent && synced.skipped.is_empty());
    let names = drain(&mut out, &mut client);
    assert_eq!(names, ["NewExtendedMiningJob", "SetNewPrevHash", "NewExtendedMiningJob"]);
    let ev = ep.on_message(&share, &next, NOW, &mut out).unwrap();
    assert_eq!(ev, Event::ShareRejected { channel_id: 2, error: ShareError::StaleShare });
    let fresh = mine(&client, 2, 3);
    assert!(matches!(ep.on_message(&fresh, &next, NOW, &mut out).unwrap(), Event::ShareAccepted { .. }));
}

#[test]
fn extended_and_standard_jobs_channels() {
    let (mut ep, _, mut out, mut client) = endpoint(REQUIRES_STANDARD_JOBS);
    let state = jobs(1, 10, 0x42);
    let ev = ep.on_message(&open_extended(1, 0).into(), &state, NOW, &mut out).unwrap();
    assert_eq!(ev, Event::OpenRefused { request_id: 1, code: "extended-channels-not-supported-for-standard-jobs" });
    assert_eq!(drain(&mut out, &mut client), ["OpenMiningChannelError"]);

    let (mut ep, _, mut out, mut client) = endpoint(0);
    let ev = ep.on_message(&open_extended(1, 13).into(), &state, NOW, &mut out).unwrap();
    assert_eq!(ev, Event::OpenRefused { request_id: 1, code: "min-extranonce-size-too-large" });
    let ev = ep.on_message(&open_extended(2, 12).into(), &state, NOW, &mut out).unwrap();
    assert_eq!(ev, Event::ChannelOpened { channel_id: 2 });
    let names = drain(&mut out, &mut client);
    assert_eq!(
        names,
        [
            "OpenMiningChannelError",
            "OpenExtendedMiningChannelSuccess",
            "NewExtendedMiningJob",
            "SetNewPrevHash",
            "NewExtendedMiningJob"
        ]
    );
    let share = mine(&client, 2, 1);
    assert!(matches!(ep.on_message(&share, &state, NOW, &mut out).unwrap(), Event::ShareAccepted { .. }));
}

#[test]
fn admission_refusals() {
    let (mut ep, _, mut out, mut client) = endpoint(0);
    let state = JobState::default();
    for (user, rate, code) in [
        ("", 1.0, "invalid-user-identity"),
        ("a\nb", 1.0, "invalid-user-identity"),
        ("alice", f32::NAN, "invalid-nominal-hashrate"),
        ("alice", -1.0, "invalid-nominal-hashrate"),
    ] {
        let ev = ep.on_message(&open_standard(3, user, rate).into(), &state, NOW, &mut out).unwrap();
        assert_eq!(ev, Event::OpenRefused { request_id: 3, code });
    }
    let small = ServerConfig { max_channels: 1, extended_channels_only: false, ..config() };
    let mut ep = ServerEndpoint::new(small, allocator());
    ep.on_message(&setup(0).into(), &state, NOW, &mut out).unwrap();
    assert_eq!(
        ep.on_message(&open_standard(1, "a", 1.0).into(), &state, NOW, &mut out).unwrap(),
        Event::ChannelOpened { channel_id: 2 }
    );
    let ev = ep.on_message(&open_standard(2, "a", 1.0).into(), &state, NOW, &mut out).unwrap();
    assert_eq!(ev, Event::OpenRefused { request_id: 2, code: "too-many-channels" });
    // Unknown channels: UpdateChannel answered with an error, a share rejected.
    let update = UpdateChannel { channel_id: 99, nominal_hash_rate: 1.0, maximum_target: MAX_TARGET };
    assert_eq!(ep.on_message(&update.into(), &state, NOW, &mut out).unwrap(), Event::Handled);
    let names = drain(&mut out, &mut client);
    assert_eq!(names.last(), Some(&"UpdateChannelError"));
    let share = SubmitSharesStandard { channel_id: 99, sequence_number: 1, job_id: 1, nonce: 0, ntime: 0, version: 0 };
    let ev = ep.on_message(&share.into(), &state, NOW, &mut out).unwrap();
    assert_eq!(ev, Event::ShareRejected { channel_id: 99, error: ShareError::InvalidChannelId });
    // Extensions: none supported, each named in the Error.
    let req = RequestExtensions { request_id: 4, requested_extensions: Seq::new(&[2u16]).unwrap() };
    assert_eq!(ep.on_message(&req.into(), &state, NOW, &mut out).unwrap(), Event::Handled);
    assert_eq!(drain(&mut out, &mut client).last(), Some(&"RequestExtensionsError"));
}

#[test]
fn a_flood_of_invalid_shares_closes_the_connection() {
    let limited = ServerConfig { max_invalid_shares_per_minute: 5, ..config() };
    let mut ep = ServerEndpoint::new(limited, allocator());
    let mut out = Vec::new();
    let state = jobs(1, 10, 0x42);
    ep.on_message(&setup(0).into(), &state, NOW, &mut out).unwrap();
    ep.on_message(&open_standard(1, "a", 1.0).into(), &state, NOW, &mut out).unwrap();
    let bad =
        SubmitSharesStandard { channel_id: 2, sequence_number: 1, job_id: 999, nonce: 0, ntime: NTIME, version: 0 };
    for _ in 0..5 {
        let ev = ep.on_message(&bad.into(), &state, NOW, &mut out).unwrap();
        assert_eq!(ev, Event::ShareRejected { channel_id: 2, error: ShareError::InvalidJobId });
    }
    assert_eq!(ep.on_message(&bad.into(), &state, NOW, &mut out), Err(EndpointError::InvalidShareFlood(6)));
    // A minute later the count starts again.
    let later = Now { mono_secs: NOW.mono_secs + 60, ..NOW };
    assert!(ep.on_message(&bad.into(), &state, later, &mut out).is_ok());
}

#[test]
fn closed_channels_give_their_prefixes_back() {
    let (mut ep, prefixes, mut out, _) = endpoint(0);
    let state = jobs(1, 10, 0x42);
    ep.on_message(&open_extended(1, 0).into(), &state, NOW, &mut out).unwrap();
    ep.on_message(&open_extended(2, 0).into(), &state, NOW, &mut out).unwrap();
    let first = ep.channel(2).unwrap().extranonce_prefix().to_vec();
    let ev = ep.on_message(&CloseChannel { channel_id: 2, reason_code: Str0_255::EMPTY }.into(), &state, NOW, &mut out);
    assert_eq!(ev.unwrap(), Event::ChannelsClosed { count: 1 });
    assert_eq!(ep.channel_count(), 1);
    // Reusable once the tip has moved on (not before: old jobs could be credited twice).
    prefixes.lock().unwrap().new_tip(&[0x43; 32]);
    assert_eq!(prefixes.lock().unwrap().next_extended().unwrap(), first);
    // Closing the group closes every member; dropping the endpoint returns what is left.
    let ev = ep.on_message(
        &CloseChannel { channel_id: GROUP_CHANNEL_ID, reason_code: Str0_255::EMPTY }.into(),
        &state,
        NOW,
        &mut out,
    );
    assert_eq!(ev.unwrap(), Event::ChannelsClosed { count: 1 });
    ep.on_message(&open_standard(3, "a", 1.0).into(), &state, NOW, &mut out).unwrap();
    let held = ep.channel(4).unwrap().extranonce_prefix()[..4].to_vec();
    drop(ep);
    let mut alloc = prefixes.lock().unwrap();
    alloc.new_tip(&[0x44; 32]);
    let again: Vec<Vec<u8>> = (0..3).map(|_| alloc.next_extended().unwrap()[..4].to_vec()).collect();
    assert!(again.contains(&held), "the dropped endpoint's prefix {held:?} is handed out again: {again:?}");
}

/// Counts the heap bytes each thread holds, so that a test can weigh what it builds.
struct Weighing;

thread_local! {
    static HELD: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

fn held(delta: isize) {
    // try_with: the allocator also runs while thread-locals are torn down.
    let _ = HELD.try_with(|h| h.set(h.get() + delta));
}

unsafe impl std::alloc::GlobalAlloc for Weighing {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        held(l.size() as isize);
        std::alloc::System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        held(-(l.size() as isize));
        std::alloc::System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, size: usize) -> *mut u8 {
        held(size as isize - l.size() as isize);
        std::alloc::System.realloc(p, l, size)
    }
}

#[global_allocator]
static WEIGHING: Weighing = Weighing;

fn heap_held() -> isize {
    HELD.with(|h| h.get())
}

#[test]
fn a_connection_with_one_channel_stays_small() {
    // A pool holds tens of thousands of these: the endpoint and a client's channel set with
    // one channel each must not carry room for a dozen (a B-tree node's inline capacity).
    let shared = allocator();
    let state = jobs(1, 1, 9);
    let mut out = Vec::with_capacity(4096);
    let start = heap_held();
    let mut e = ServerEndpoint::new(config(), shared.clone());
    e.on_message(&setup(REQUIRES_STANDARD_JOBS).into(), &state, NOW, &mut out).unwrap();
    e.on_message(&open_standard(1, "load.m1", 0.0).into(), &state, NOW, &mut out).unwrap();
    let server = heap_held() - start;
    let mut client = ClientChannels::new();
    let before = heap_held();
    drain(&mut out, &mut client);
    let channels = heap_held() - before;
    assert!(server < 1536, "the endpoint with one standard channel holds {server} heap bytes");
    assert!(channels < 1536, "a client with one channel holds {channels} heap bytes");
    drop(e);
}
