//! The client channel against the spec's job lifecycle: SetTarget and SetExtranoncePrefix
//! apply to later jobs (shared/spec/04-semantics.md §1, §2), and the server channel validates
//! the same way the client mines.

use std::sync::Arc;

use sv2::channels::client::{ClientChannel, ClientChannels};
use sv2::channels::coinbase::{serialize_output, CoinbaseSpec};
use sv2::channels::hash::{header_bytes, merkle_root, sha256d};
use sv2::channels::server::{ChannelKind, Job, PrevHash, ServerChannel, Share};
use sv2::channels::target::{hash_meets_target, MAX_TARGET};
use sv2::channels::vardiff::Vardiff;
use sv2::codec::{Bytes, Seq};
use sv2::messages::{
    NewExtendedMiningJob, NewMiningJob, SetExtranoncePrefix, SetGroupChannel, SetNewPrevHash, SetTarget,
};
use sv2::Message;

const NBITS: u32 = 0x207f_ffff;
const NTIME: u32 = 1_700_000_000;

fn target(top: u8) -> [u8; 32] {
    let mut t = [0xff; 32];
    t[31] = top;
    t
}

fn prev_hash(channel_id: u32, job_id: u32) -> SetNewPrevHash {
    SetNewPrevHash { channel_id, job_id, prev_hash: [0x42; 32], min_ntime: NTIME, nbits: NBITS }
}

fn std_job(channel_id: u32, job_id: u32, min_ntime: Option<u32>) -> NewMiningJob {
    NewMiningJob { channel_id, job_id, min_ntime, version: 0x2000_0000, merkle_root: [job_id as u8; 32] }
}

const PREFIX: &[u8] = b"coinbase-prefix";
const SUFFIX: &[u8] = b"coinbase-suffix";
const PATH: [[u8; 32]; 2] = [[1; 32], [2; 32]];

fn ext_job(channel_id: u32, job_id: u32, min_ntime: Option<u32>) -> NewExtendedMiningJob<'static> {
    NewExtendedMiningJob {
        channel_id,
        job_id,
        min_ntime,
        version: 0x2000_0000,
        version_rolling_allowed: true,
        merkle_path: Seq::new(&PATH).unwrap(),
        coinbase_tx_prefix: Bytes::new(PREFIX).unwrap(),
        coinbase_tx_suffix: Bytes::new(SUFFIX).unwrap(),
    }
}

fn root_with(prefix: &[u8], rolled: &[u8]) -> [u8; 32] {
    merkle_root(&[PREFIX, prefix, rolled, SUFFIX].concat(), &PATH)
}

#[test]
fn set_target_leaves_the_active_job_alone_and_reaches_future_jobs() {
    let (t1, t2, t3) = (target(0x7f), target(0x3f), target(0x1f));
    let mut c = ClientChannel::standard(1, t1, &[9; 4], true);
    c.on_new_mining_job(&std_job(1, 1, None));
    c.on_set_new_prev_hash(&prev_hash(1, 1));
    // Future job 2 arrives while job 1 is active.
    c.on_new_mining_job(&std_job(1, 2, None));
    c.on_set_target(t2);
    assert_eq!(c.target(), t2, "the channel's target for jobs to come");
    assert_eq!(c.work(&[]).unwrap().target, t1, "job 1 was active before SetTarget: it keeps its target");
    // A job received after SetTarget gets the new one, and so does future job 2, received
    // before it but activated after.
    c.on_new_mining_job(&std_job(1, 3, Some(NTIME)));
    assert_eq!(c.work(&[]).unwrap().target, t2);
    c.on_set_target(t3);
    c.on_set_new_prev_hash(&prev_hash(1, 2));
    assert_eq!(c.work(&[]).unwrap().job_id, 2);
    assert_eq!(c.work(&[]).unwrap().target, t3);
}

#[test]
fn set_extranonce_prefix_applies_to_jobs_sent_after_it() {
    let (p1, p2) = ([1u8, 1, 1, 1], [2u8, 2, 2, 2]);
    let rolled = [7u8; 4];
    let mut c = ClientChannel::extended(5, target(0x7f), &p1, 4);
    c.on_new_extended_job(&ext_job(5, 1, None));
    c.on_set_new_prev_hash(&prev_hash(5, 1));
    // Future job 2 was sent before the new prefix; job 3 after it.
    c.on_new_extended_job(&ext_job(5, 2, None));
    c.on_set_extranonce_prefix(&p2);
    assert_eq!(c.work(&rolled).unwrap().merkle_root, root_with(&p1, &rolled), "active job 1 keeps its prefix");
    c.on_set_new_prev_hash(&prev_hash(5, 2));
    assert_eq!(c.work(&rolled).unwrap().merkle_root, root_with(&p1, &rolled), "job 2 was sent before the prefix");
    c.on_new_extended_job(&ext_job(5, 3, Some(NTIME)));
    assert_eq!(c.work(&rolled).unwrap().merkle_root, root_with(&p2, &rolled));
}

#[test]
fn client_channels_apply_them_per_job_too() {
    let (t1, t2) = (target(0x7f), target(0x3f));
    let mut cs = ClientChannels::new();
    cs.insert(ClientChannel::standard(1, t1, &[1; 4], true), 100);
    cs.on_message(&ext_job(100, 1, None).into());
    cs.on_message(&prev_hash(100, 1).into());
    cs.on_message(&SetTarget { channel_id: 100, maximum_target: t2 }.into());
    cs.on_message(&SetExtranoncePrefix { channel_id: 1, extranonce_prefix: Bytes::new(&[2; 4]).unwrap() }.into());
    let w = cs.get(1).unwrap().work(&[]).unwrap();
    assert_eq!((w.target, w.merkle_root), (t1, root_with(&[1; 4], &[])));
}

fn server_job() -> Arc<Job> {
    let pool_output = serialize_output(50 * 100_000_000, &[0x51]);
    let coinbase = CoinbaseSpec {
        version: 2,
        script_prefix: &[0x01, 0x65],
        tag: b"/t/",
        sequence: 0xffff_ffff,
        pool_outputs: &pool_output,
        pool_outputs_count: 1,
        template_outputs: &[],
        template_outputs_count: 0,
        locktime: 0,
        extranonce_len: 8,
    }
    .build()
    .unwrap();
    Arc::new(Job {
        template_id: None,
        version: 0x2000_0000,
        version_rolling_allowed: true,
        coinbase,
        merkle_path: vec![],
    })
}

#[test]
fn client_and_server_agree_on_the_target_of_each_job() {
    // A share target harder than anything found by chance, and a block target nothing meets.
    let mut impossible = [0u8; 32];
    impossible[0] = 1;
    let easy = target(0x7f);
    let mut server = ServerChannel::new(
        1,
        ChannelKind::Extended { extranonce_size: 4 },
        "u",
        vec![3; 4],
        easy,
        MAX_TARGET,
        Vardiff::new(10.0, 60, 0),
    );
    let mut client = ClientChannel::extended(1, easy, &[3; 4], 4);
    let prev = PrevHash { prev_hash: [0x42; 32], nbits: NBITS, min_ntime: NTIME, block_target: impossible };
    server.add_job(1, server_job(), None).unwrap();
    match server.job_message(1, None).unwrap() {
        Message::NewExtendedMiningJob(m) => client.on_new_extended_job(&m),
        other => panic!("unexpected {other:?}"),
    }
    client.on_set_new_prev_hash(&server.activate(1, prev).unwrap());
    server.add_job(2, server_job(), None).unwrap();
    if let Some(Message::NewExtendedMiningJob(m)) = server.job_message(2, None) {
        client.on_new_extended_job(&m);
    }
    server.set_target(impossible);
    client.on_set_target(impossible);

    let work = client.work(&[5; 4]).unwrap();
    assert_eq!(work.target, easy);
    let nonce = (0..)
        .find(|n| {
            let h = sha256d(&header_bytes(work.version, &work.prev_hash, &work.merkle_root, NTIME, NBITS, *n));
            hash_meets_target(&h, &work.target)
        })
        .unwrap();
    let share = Share { job_id: 1, nonce, ntime: NTIME, version: work.version, extranonce: &work.extranonce };
    assert!(server.validate(&share, 0, NTIME).is_ok(), "the server credits the active job at its own target");

    // Future job 2 takes the new target on both sides once activated.
    client.on_set_new_prev_hash(&server.activate(2, prev).unwrap());
    assert_eq!(client.work(&[5; 4]).unwrap().target, impossible);
}

#[test]
fn a_lone_standard_channel_follows_its_group() {
    // Finding 9: a single ClientChannel (as the C and C++ APIs hold it) on a standard channel
    // in group 100 mines jobs sent to the group, with its own prefix.
    let prefix = [4u8; 4];
    let mut c = ClientChannel::standard(1, target(0x7f), &prefix, true);
    assert_eq!(c.group_channel_id(), None);
    c.set_group_channel_id(100);
    assert!(c.on_message(&ext_job(100, 1, None).into()));
    assert!(c.on_message(&prev_hash(100, 1).into()));
    let w = c.work(&[]).unwrap();
    assert_eq!((w.job_id, w.merkle_root), (1, root_with(&prefix, &[])));
    assert!(c.on_message(&SetTarget { channel_id: 100, maximum_target: target(0x3f) }.into()));
    assert_eq!(c.target(), target(0x3f));
    // SetExtranoncePrefix is never for a group; other groups' messages are not for us.
    let to_group = SetExtranoncePrefix { channel_id: 100, extranonce_prefix: Bytes::new(&[8; 4]).unwrap() };
    assert!(!c.on_message(&to_group.into()));
    assert!(!c.on_message(&ext_job(101, 2, Some(NTIME)).into()));
    // SetGroupChannel moves it to another group.
    let ids = [7u32, 1];
    assert!(c.on_message(&SetGroupChannel { group_channel_id: 200, channel_ids: Seq::new(&ids).unwrap() }.into()));
    assert_eq!(c.group_channel_id(), Some(200));
    assert!(!c.on_message(&prev_hash(100, 1).into()));
    assert!(c.on_message(&ext_job(200, 3, Some(NTIME)).into()));
    assert_eq!(c.work(&[]).unwrap().job_id, 3);
    // Its own id still works.
    assert!(c.on_message(&std_job(1, 4, Some(NTIME)).into()));
    assert_eq!(c.work(&[]).unwrap().job_id, 4);
}
