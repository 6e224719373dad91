//! Server and client channels together: jobs from a template, mined shares accepted, every
//! kind of bad share rejected with its error code, and blocks carrying a valid coinbase.

use std::sync::Arc;

use bitcoin::consensus::deserialize;
use bitcoin::hashes::Hash as _;
use sv2::channels::client::{ClientChannel, Work};
use sv2::channels::coinbase::{serialize_output, CoinbaseSpec};
use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::hash::{header_bytes, sha256d};
use sv2::channels::server::{ChannelKind, Job, PrevHash, ServerChannel, Share};
use sv2::channels::target::{hash_meets_target, target_from_nbits, MAX_TARGET};
use sv2::channels::vardiff::Vardiff;
use sv2::channels::ShareError;
use sv2::Message;

const REGTEST_NBITS: u32 = 0x207f_ffff;
const MIN_NTIME: u32 = 1_700_000_000;

fn job(version_rolling_allowed: bool) -> Arc<Job> {
    let mut commitment = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    commitment.extend_from_slice(&[3; 32]);
    let template_outputs = serialize_output(0, &commitment);
    let pool_output =
        serialize_output(50 * 100_000_000, &[0x00, 0x14, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
    let coinbase = CoinbaseSpec {
        version: 2,
        script_prefix: &[0x01, 0x65],
        tag: b"/libsv2/",
        sequence: 0xffff_ffff,
        pool_outputs: &pool_output,
        pool_outputs_count: 1,
        template_outputs: &template_outputs,
        template_outputs_count: 1,
        locktime: 0,
        extranonce_len: 16,
    }
    .build()
    .unwrap();
    Arc::new(Job {
        template_id: Some(9),
        version: 0x2000_0000,
        version_rolling_allowed,
        coinbase,
        merkle_path: vec![[1; 32], [2; 32]],
    })
}

fn prev() -> PrevHash {
    PrevHash {
        prev_hash: [0x42; 32],
        nbits: REGTEST_NBITS,
        min_ntime: MIN_NTIME,
        block_target: target_from_nbits(REGTEST_NBITS),
    }
}

/// An easy share target: about one hash in two meets it.
fn easy_target() -> [u8; 32] {
    let mut t = [0xff; 32];
    t[31] = 0x7f;
    t
}

fn channels() -> (ServerChannel, ClientChannel, ServerChannel, ClientChannel) {
    let mut alloc = ExtranonceAllocator::new(&[], 4, 16).unwrap();
    let vardiff = || Vardiff::new(10.0, 60, 0);
    let std_prefix = alloc.next_standard().unwrap();
    let ext_prefix = alloc.next_extended().unwrap();
    let size = alloc.extended_rollable() as u16;
    let s_std = ServerChannel::new(
        1,
        ChannelKind::Standard,
        "alice.a",
        std_prefix.clone(),
        easy_target(),
        MAX_TARGET,
        vardiff(),
    );
    let c_std = ClientChannel::standard(1, easy_target(), &std_prefix, true);
    let s_ext = ServerChannel::new(
        2,
        ChannelKind::Extended { extranonce_size: size },
        "alice.b",
        ext_prefix.clone(),
        easy_target(),
        MAX_TARGET,
        vardiff(),
    );
    let c_ext = ClientChannel::extended(2, easy_target(), &ext_prefix, size);
    (s_std, c_std, s_ext, c_ext)
}

/// Delivers a server channel's job and previous hash to its client.
fn deliver(server: &mut ServerChannel, client: &mut ClientChannel, job_id: u32, job: Arc<Job>) {
    server.add_job(job_id, job, None).unwrap();
    match server.job_message(job_id, None).unwrap() {
        Message::NewMiningJob(m) => client.on_new_mining_job(&m),
        Message::NewExtendedMiningJob(m) => client.on_new_extended_job(&m),
        other => panic!("unexpected {other:?}"),
    }
    client.on_set_new_prev_hash(&server.activate(job_id, prev()).unwrap());
}

/// Grinds nonces from `start` until the header meets `target` (or fails it, when `want` is
/// false).
fn grind(work: &Work, start: u32, want: bool) -> (u32, [u8; 32]) {
    (start..)
        .map(|nonce| {
            let h = header_bytes(work.version, &work.prev_hash, &work.merkle_root, MIN_NTIME, work.nbits, nonce);
            (nonce, sha256d(&h))
        })
        .find(|(_, hash)| hash_meets_target(hash, &work.target) == want)
        .unwrap()
}

fn share(work: &Work, nonce: u32) -> Share<'_> {
    Share { job_id: work.job_id, nonce, ntime: MIN_NTIME, version: work.version, extranonce: &work.extranonce }
}

#[test]
fn mined_shares_are_accepted_and_blocks_carry_a_valid_coinbase() {
    let (mut s_std, mut c_std, mut s_ext, mut c_ext) = channels();
    deliver(&mut s_std, &mut c_std, 1, job(true));
    deliver(&mut s_ext, &mut c_ext, 1, job(true));

    let work = c_std.work(&[]).unwrap();
    let (nonce, hash) = grind(&work, 0, true);
    let ok = s_std.validate(&share(&work, nonce), 0, MIN_NTIME).unwrap();
    assert_eq!(ok.hash, hash);

    let work = c_ext.work(&[5; 12]).unwrap();
    let (nonce, hash) = grind(&work, 0, true);
    let ok = s_ext.validate(&share(&work, nonce), 7, MIN_NTIME).unwrap();
    assert_eq!(ok.hash, hash);
    let success = s_ext.take_success().unwrap();
    assert_eq!((success.new_submits_accepted_count, success.last_sequence_number), (1, 7));
    assert!(s_ext.take_success().is_none());

    // Regtest: about half of all hashes are blocks. Find one and check what it carries.
    let block = (0..)
        .find_map(|start| {
            let (nonce, _) = grind(&work, start, true);
            s_ext.validate(&share(&work, nonce), 8, MIN_NTIME).ok().and_then(|a| a.block)
        })
        .unwrap();
    let coinbase: bitcoin::Transaction = deserialize(&block.coinbase).unwrap();
    assert!(coinbase.is_coinbase());
    assert_eq!(block.template_id, Some(9));
    assert_eq!(&block.extranonce[4..], &[5; 12]);
    let root = sv2::channels::hash::merkle_root_from_path(coinbase.compute_txid().to_byte_array(), &[[1; 32], [2; 32]]);
    assert_eq!(block.header[36..68], root);
}

#[test]
fn every_bad_share_gets_its_error() {
    let (mut s_std, _, mut s_ext, mut c_ext) = channels();
    deliver(&mut s_ext, &mut c_ext, 1, job(true));
    let work = c_ext.work(&[1; 12]).unwrap();
    let (good, _) = grind(&work, 0, true);
    let check = |s: &mut ServerChannel, sh: Share<'_>| s.validate(&sh, 0, MIN_NTIME).unwrap_err();

    assert_eq!(check(&mut s_ext, Share { job_id: 99, ..share(&work, good) }), ShareError::InvalidJobId);
    assert_eq!(check(&mut s_ext, Share { extranonce: &[1; 11], ..share(&work, good) }), ShareError::BadExtranonceSize);
    assert_eq!(
        check(&mut s_ext, Share { version: work.version | 1, ..share(&work, good) }),
        ShareError::InvalidNonRollableVersionBit
    );
    assert_eq!(check(&mut s_ext, Share { ntime: MIN_NTIME - 1, ..share(&work, good) }), ShareError::NtimeOutOfRange);
    assert_eq!(check(&mut s_ext, Share { ntime: MIN_NTIME + 7201, ..share(&work, good) }), ShareError::NtimeOutOfRange);
    let (bad, _) = grind(&work, 0, false);
    assert_eq!(check(&mut s_ext, share(&work, bad)), ShareError::DifficultyTooLow);
    s_ext.validate(&share(&work, good), 0, MIN_NTIME).unwrap();
    assert_eq!(check(&mut s_ext, share(&work, good)), ShareError::DuplicateShare);

    // A new previous hash makes job 1 stale.
    deliver(&mut s_ext, &mut c_ext, 2, job(true));
    assert_eq!(check(&mut s_ext, share(&work, good)), ShareError::StaleShare);

    // Version rolling forbidden by the job (on a standard channel the server says so with
    // REQUIRES_FIXED_VERSION, which the client learns from SetupConnection.Success).
    let mut c_std = ClientChannel::standard(1, easy_target(), s_std.extranonce_prefix(), false);
    deliver(&mut s_std, &mut c_std, 1, job(false));
    let work = c_std.work(&[]).unwrap();
    assert_eq!(work.version_mask, 0);
    let (n, _) = grind(&work, 0, true);
    assert_eq!(
        check(&mut s_std, Share { version: work.version ^ 0x20, ..share(&work, n) }),
        ShareError::VersionRollingNotAllowed
    );
    // Standard channels take no extranonce.
    assert_eq!(check(&mut s_std, Share { extranonce: &[0], ..share(&work, n) }), ShareError::BadExtranonceSize);
}

#[test]
fn future_jobs_wait_for_their_prev_hash_and_targets_apply_per_job() {
    let (_, _, mut s_ext, mut c_ext) = channels();
    deliver(&mut s_ext, &mut c_ext, 1, job(true));
    let work1 = c_ext.work(&[0; 12]).unwrap();
    // A future job is not minable until activated.
    s_ext.add_job(2, job(true), None).unwrap();
    let (nonce, _) = grind(&work1, 0, true);
    assert_eq!(
        s_ext.validate(&Share { job_id: 2, ..share(&work1, nonce) }, 0, MIN_NTIME).unwrap_err(),
        ShareError::InvalidJobId
    );
    // A harder target applies to the future job but not to the active one.
    let mut hard = [0u8; 32];
    hard[0] = 1;
    s_ext.set_target(hard);
    assert!(s_ext.validate(&share(&work1, nonce), 0, MIN_NTIME).is_ok());
    // (A block target nothing meets, since a block is accepted above the share target.)
    s_ext.activate(2, PrevHash { block_target: impossible_target(), ..prev() }).unwrap();
    let (n2, _) = grind(&work1, nonce + 1, true);
    assert_eq!(
        s_ext.validate(&Share { job_id: 2, ..share(&work1, n2) }, 0, MIN_NTIME).unwrap_err(),
        ShareError::DifficultyTooLow
    );
}

#[test]
fn error_codes_are_the_established_strings() {
    let codes: Vec<&str> = ShareError::ALL.iter().map(|e| e.code()).collect();
    assert!(
        codes.contains(&"stale-share") && codes.contains(&"difficulty-too-low") && codes.contains(&"invalid-job-id")
    );
    assert_eq!(codes.len(), codes.iter().collect::<std::collections::HashSet<_>>().len());
}

/// A share target harder than anything a test grinds to by chance.
fn impossible_target() -> [u8; 32] {
    let mut t = [0u8; 32];
    t[0] = 1;
    t
}

#[test]
fn a_block_is_accepted_even_above_the_share_target_and_becomes_a_submit_solution() {
    let (_, _, mut s_ext, mut c_ext) = channels();
    s_ext.set_target(impossible_target());
    deliver(&mut s_ext, &mut c_ext, 1, job(true));
    let work = c_ext.work(&[3; 12]).unwrap();
    // Regtest's block target: about one hash in two meets it.
    let (nonce, hash) = grind(&Work { target: target_from_nbits(REGTEST_NBITS), ..work.clone() }, 0, true);
    let accepted = s_ext.validate(&share(&work, nonce), 1, MIN_NTIME).unwrap();
    let block = accepted.block.unwrap();
    assert_eq!(block.hash(), hash);
    let solution = block.submit_solution().unwrap();
    assert_eq!((solution.template_id, solution.header_nonce, solution.header_timestamp), (9, nonce, MIN_NTIME));
    assert_eq!(solution.coinbase_tx.as_bytes(), &block.coinbase[..]);
    // A hash that is no block must meet the share target.
    let mut hard_block = prev();
    hard_block.block_target = impossible_target();
    s_ext.add_job(2, job(true), None).unwrap();
    s_ext.activate(2, hard_block).unwrap();
    let (n2, _) = grind(&work, 0, true);
    assert_eq!(
        s_ext.validate(&Share { job_id: 2, ..share(&work, n2) }, 2, MIN_NTIME).unwrap_err(),
        ShareError::DifficultyTooLow
    );
}

#[test]
fn update_channel_sets_a_target_from_the_hashrate_within_the_maximum() {
    let (_, _, mut s_ext, _) = channels();
    assert_eq!(s_ext.update_channel(f32::NAN, MAX_TARGET, 0), Err(sv2::channels::ChannelError::InvalidHashrate));
    assert_eq!(s_ext.update_channel(-1.0, MAX_TARGET, 0), Err(sv2::channels::ChannelError::InvalidHashrate));
    let fast = s_ext.update_channel(1e12, MAX_TARGET, 0).unwrap().unwrap();
    assert_eq!(fast, sv2::channels::target::target_for_hashrate(f64::from(1e12f32), 10.0));
    // A harder maximum than the current target must be honoured.
    let t = s_ext.update_channel(0.0, impossible_target(), 0).unwrap();
    assert_eq!(t, Some(impossible_target()));
    assert_eq!(s_ext.target(), impossible_target());
    assert_eq!(s_ext.update_channel(0.0, impossible_target(), 0).unwrap(), None);
}

#[test]
fn a_group_sends_each_job_once_and_its_members_mine_it() {
    use sv2::channels::client::ClientChannels;
    use sv2::channels::group::GroupChannel;
    let mut alloc = ExtranonceAllocator::new(&[], 4, 16).unwrap();
    let server_channel = |id, kind, prefix| {
        ServerChannel::new(id, kind, "bob", prefix, easy_target(), MAX_TARGET, Vardiff::new(10.0, 60, 0))
    };
    for requires_standard_jobs in [false, true] {
        let mut group = GroupChannel::new(100, requires_standard_jobs);
        let mut client = ClientChannels::new();
        for id in [1, 2] {
            let prefix = alloc.next_standard().unwrap();
            group.add(server_channel(id, ChannelKind::Standard, prefix.clone())).unwrap();
            client.insert(ClientChannel::standard(id, easy_target(), &prefix, true), 100);
        }
        let prefix = alloc.next_extended().unwrap();
        let size = alloc.extended_rollable() as u16;
        group.add(server_channel(3, ChannelKind::Extended { extranonce_size: size }, prefix.clone())).unwrap();
        client.insert(ClientChannel::extended(3, easy_target(), &prefix, size), 100);
        assert!(group.add(server_channel(100, ChannelKind::Standard, vec![0; 16])).is_err());

        let j = job(true);
        let msgs = group.add_job(5, &j, None).unwrap();
        let names: Vec<&str> = msgs.iter().map(|m| m.name()).collect();
        if requires_standard_jobs {
            assert_eq!(names, ["NewMiningJob", "NewMiningJob", "NewExtendedMiningJob"]);
        } else {
            assert_eq!(names, ["NewExtendedMiningJob", "NewExtendedMiningJob"]);
            assert!(matches!(msgs[0], Message::NewExtendedMiningJob(m) if m.channel_id == 100));
        }
        for m in &msgs {
            assert!(!client.on_message(m).is_empty());
        }
        let prevs = group.activate(5, prev()).unwrap();
        assert_eq!(prevs.len(), if requires_standard_jobs { 3 } else { 2 });
        for p in prevs {
            client.on_message(&Message::SetNewPrevHash(p));
        }
        // Every member mines the job with its own merkle root and the pool accepts it.
        let mut roots = std::collections::HashSet::new();
        for c in client.iter() {
            let work = c.work(&vec![8; c.extranonce_size()]).unwrap();
            assert!(roots.insert(work.merkle_root));
            let (nonce, _) = grind(&work, 0, true);
            group.validate(c.channel_id(), &share(&work, nonce), 0, MIN_NTIME).unwrap();
        }
        let work = client.get(1).unwrap().work(&[]).unwrap();
        let (nonce, _) = grind(&work, 1000, true);
        assert_eq!(group.validate(100, &share(&work, nonce), 0, MIN_NTIME).unwrap_err(), ShareError::InvalidChannelId);
        // SetTarget and CloseChannel to the group reach every member.
        let st = group.set_target(impossible_target());
        assert_eq!(client.on_message(&Message::SetTarget(st)), vec![1, 2, 3]);
        assert!(client.iter().all(|c| c.target() == impossible_target()));
        let close = sv2::messages::CloseChannel { channel_id: 100, reason_code: sv2::codec::Bytes::EMPTY };
        assert_eq!(client.on_message(&Message::CloseChannel(close)), vec![1, 2, 3]);
        assert!(client.is_empty());
    }
}

#[test]
fn jobs_from_templates_mine_blocks_with_the_pool_payout() {
    use sv2::channels::job::JobFactory;
    use sv2::codec::{Bytes, Seq};
    use sv2::messages::{NewTemplate, SetNewPrevHashTdp};
    let payout = [0x00, 0x14, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9];
    let mut factory = JobFactory::new(&payout, b"/libsv2/", 16).unwrap();
    let path = [[4u8; 32]];
    let template = NewTemplate {
        template_id: 77,
        future_template: true,
        version: 0x2000_0000,
        coinbase_tx_version: 2,
        coinbase_prefix: Bytes::new(&[0x01, 0x66]).unwrap(),
        coinbase_tx_input_sequence: 0xffff_fffe,
        coinbase_tx_value_remaining: 12_345,
        coinbase_tx_outputs_count: 0,
        coinbase_tx_outputs: Bytes::EMPTY,
        coinbase_tx_locktime: 101,
        merkle_path: Seq::new(&path).unwrap(),
    };
    let made = factory.on_new_template(&template).unwrap();
    let tip = factory
        .on_set_new_prev_hash(&SetNewPrevHashTdp {
            template_id: 77,
            prev_hash: [5; 32],
            header_timestamp: MIN_NTIME,
            nbits: REGTEST_NBITS,
            target: target_from_nbits(REGTEST_NBITS),
        })
        .unwrap();
    assert_eq!(tip.job_id, made.job_id);
    let (mut s_std, mut c_std, _, _) = channels();
    s_std.add_job(tip.job_id, tip.job.clone(), None).unwrap();
    if let Some(Message::NewMiningJob(m)) = s_std.job_message(tip.job_id, None) {
        c_std.on_new_mining_job(&m);
    }
    c_std.on_set_new_prev_hash(&s_std.activate(tip.job_id, tip.prev).unwrap());
    let work = c_std.work(&[]).unwrap();
    let block = (0..)
        .find_map(|start| {
            let (nonce, _) = grind(&work, start, true);
            s_std.validate(&share(&work, nonce), 0, MIN_NTIME).ok().and_then(|a| a.block)
        })
        .unwrap();
    let coinbase: bitcoin::Transaction = deserialize(&block.coinbase).unwrap();
    assert_eq!(coinbase.output.len(), 1);
    assert_eq!(coinbase.output[0].value.to_sat(), 12_345);
    assert_eq!(coinbase.output[0].script_pubkey.as_bytes(), &payout);
    assert_eq!((coinbase.lock_time.to_consensus_u32(), coinbase.input[0].sequence.0), (101, 0xffff_fffe));
    assert!(coinbase.input[0].script_sig.as_bytes().starts_with(&[0x01, 0x66, 8]));
}

#[test]
fn a_client_keeps_a_bounded_number_of_jobs() {
    use sv2::channels::client::MAX_JOBS;
    use sv2::messages::{NewMiningJob, SetNewPrevHash};
    let mut c = ClientChannel::standard(1, easy_target(), &[], true);
    let job = |job_id, min_ntime| NewMiningJob {
        channel_id: 1,
        job_id,
        min_ntime,
        version: 0x2000_0000,
        merkle_root: [7; 32],
    };
    let activate =
        |job_id| SetNewPrevHash { channel_id: 1, job_id, prev_hash: [1; 32], min_ntime: MIN_NTIME, nbits: 0x207fffff };
    // A server that sends ever more future jobs cannot grow the channel without bound: the
    // oldest go first, the newest stay minable.
    for id in 0..(MAX_JOBS as u32 * 4) {
        c.on_new_mining_job(&job(id, None));
    }
    c.on_set_new_prev_hash(&activate(MAX_JOBS as u32 * 4 - 1));
    assert!(c.work(&[]).is_some());
    for id in 0..(MAX_JOBS as u32 * 4) {
        c.on_new_mining_job(&job(id, None));
    }
    c.on_set_new_prev_hash(&activate(0));
    assert!(c.work(&[]).is_none(), "the oldest future job was dropped");
    // Active jobs replace each other; the latest is the one worked on.
    c.on_set_new_prev_hash(&activate(5));
    for id in 1000..1000 + MAX_JOBS as u32 * 4 {
        c.on_new_mining_job(&job(id, Some(MIN_NTIME)));
        assert_eq!(c.work(&[]).map(|w| w.job_id), Some(id));
    }
}

// Hardening: share credit, replays, eviction, vardiff and extranonce reuse.

#[test]
fn a_share_is_credited_the_work_it_proves_and_never_more() {
    // A channel whose target is 0 (a client that sent max_target all zero): only blocks are
    // shares, and each must be credited the block's difficulty, not an infinite one.
    let (_, _, mut s_ext, mut c_ext) = channels();
    s_ext.set_target([0; 32]);
    deliver(&mut s_ext, &mut c_ext, 1, job(true));
    let work = c_ext.work(&[3; 12]).unwrap();
    let (nonce, _) = grind(&Work { target: target_from_nbits(REGTEST_NBITS), ..work.clone() }, 0, true);
    let accepted = s_ext.validate(&share(&work, nonce), 1, MIN_NTIME).unwrap();
    assert!(accepted.block.is_some());
    let block_difficulty = sv2::channels::target::difficulty(&target_from_nbits(REGTEST_NBITS));
    assert!(accepted.credit.is_finite() && accepted.credit <= block_difficulty, "credit {}", accepted.credit);
    let success = s_ext.take_success().unwrap();
    assert!(success.new_shares_sum <= 1, "new_shares_sum {}", success.new_shares_sum);
    // A share whose job target is easier than the block target is credited the job's.
    let (_, _, mut s_ext, mut c_ext) = channels();
    deliver(&mut s_ext, &mut c_ext, 1, job(true));
    let work = c_ext.work(&[4; 12]).unwrap();
    let (nonce, _) = grind(&work, 0, true);
    let accepted = s_ext.validate(&share(&work, nonce), 1, MIN_NTIME).unwrap();
    assert_eq!(accepted.credit, sv2::channels::target::difficulty(&easy_target()).min(block_difficulty));
}

#[test]
fn reactivating_the_same_tip_keeps_the_duplicate_set() {
    // A template provider reconnect re-announces the tip: the same previous hash, a new job id
    // for the same work. A share credited before must not be credited again.
    let (_, _, mut s_ext, mut c_ext) = channels();
    deliver(&mut s_ext, &mut c_ext, 1, job(true));
    let work = c_ext.work(&[6; 12]).unwrap();
    let (nonce, _) = grind(&work, 0, true);
    s_ext.validate(&share(&work, nonce), 1, MIN_NTIME).unwrap();
    s_ext.add_job(2, job(true), None).unwrap();
    s_ext.activate(2, prev()).unwrap();
    assert_eq!(
        s_ext.validate(&Share { job_id: 2, ..share(&work, nonce) }, 2, MIN_NTIME).unwrap_err(),
        ShareError::DuplicateShare
    );
    // A new previous hash starts a new set.
    s_ext.add_job(3, job(true), None).unwrap();
    s_ext.activate(3, PrevHash { prev_hash: [0x43; 32], ..prev() }).unwrap();
    let mut c = ClientChannel::extended(2, easy_target(), s_ext.extranonce_prefix(), 12);
    if let Some(Message::NewExtendedMiningJob(m)) = s_ext.job_message(3, None) {
        c.on_new_extended_job(&m);
    }
    c.on_set_new_prev_hash(&sv2::messages::SetNewPrevHash {
        channel_id: 2,
        job_id: 3,
        prev_hash: [0x43; 32],
        min_ntime: MIN_NTIME,
        nbits: REGTEST_NBITS,
    });
    let work = c.work(&[6; 12]).unwrap();
    let (nonce, _) = grind(&work, 0, true);
    s_ext.validate(&share(&work, nonce), 3, MIN_NTIME).unwrap();
}

#[test]
fn many_active_jobs_never_evict_a_future_job() {
    let (_, _, mut s_ext, mut c_ext) = channels();
    deliver(&mut s_ext, &mut c_ext, 1, job(true));
    s_ext.add_job(2, job(true), None).unwrap();
    for id in 10..(10 + 4 * sv2::channels::server::MAX_JOBS_PER_CHANNEL as u32) {
        s_ext.add_job(id, job(true), Some(MIN_NTIME)).unwrap();
    }
    s_ext.activate(2, PrevHash { prev_hash: [0x44; 32], ..prev() }).expect("the future job is still there");
}

#[test]
fn a_repeated_template_id_replaces_the_older_future_template() {
    use sv2::channels::job::JobFactory;
    use sv2::codec::{Bytes, Seq};
    use sv2::messages::{NewTemplate, SetNewPrevHashTdp};
    // Template ids start over when the template provider restarts: the newer template with
    // an id is the one its SetNewPrevHash means.
    let mut factory = JobFactory::new(&[0x51], b"", 16).unwrap();
    let template = |version| NewTemplate {
        template_id: 5,
        future_template: true,
        version,
        coinbase_tx_version: 2,
        coinbase_prefix: Bytes::new(&[0x01, 0x66]).unwrap(),
        coinbase_tx_input_sequence: 0xffff_ffff,
        coinbase_tx_value_remaining: 1,
        coinbase_tx_outputs_count: 0,
        coinbase_tx_outputs: Bytes::EMPTY,
        coinbase_tx_locktime: 0,
        merkle_path: Seq::EMPTY,
    };
    factory.on_new_template(&template(0x2000_0000)).unwrap();
    factory.on_new_template(&template(0x2000_0004)).unwrap();
    let tip = factory
        .on_set_new_prev_hash(&SetNewPrevHashTdp {
            template_id: 5,
            prev_hash: [5; 32],
            header_timestamp: MIN_NTIME,
            nbits: REGTEST_NBITS,
            target: target_from_nbits(REGTEST_NBITS),
        })
        .unwrap();
    assert_eq!(tip.job.version, 0x2000_0004);
    // A provider reconnect forgets every job of the old session.
    factory.on_new_template(&template(0x2000_0008)).unwrap();
    factory.reset();
    assert!(factory.current().is_none() && factory.future_jobs().count() == 0);
}

#[test]
fn update_channel_cannot_ease_the_target_at_will_nor_below_the_minimum_difficulty() {
    use sv2::channels::target::{difficulty, target_for_hashrate};
    let floor = target_for_hashrate(1e6, 10.0);
    let start = target_for_hashrate(1e12, 10.0);
    let kind = ChannelKind::Extended { extranonce_size: 12 };
    let mut ch = ServerChannel::new(1, kind, "eve", vec![0; 4], start, MAX_TARGET, Vardiff::new(10.0, 60, 0))
        .with_easiest_target(floor);
    // Claiming almost no hashrate right after opening does not ease the target.
    assert_eq!(ch.update_channel(1e-6, MAX_TARGET, 1).unwrap(), None);
    assert_eq!(ch.target(), start);
    // Once a vardiff window has passed it may, but never past the pool's minimum difficulty.
    let eased = ch.update_channel(1e-6, MAX_TARGET, 61).unwrap().unwrap();
    assert_eq!(eased, floor);
    // And not again within the next window.
    ch.update_channel(1e12, MAX_TARGET, 62).unwrap().unwrap();
    assert_eq!(ch.update_channel(1e-6, MAX_TARGET, 63).unwrap(), None);
    // Vardiff never eases past the floor either, however long the silence.
    for now in (200..2000).step_by(60) {
        ch.retarget(now);
    }
    assert!(difficulty(&ch.target()) >= difficulty(&floor) * 0.999);
    // A channel opened with an easy target is clamped to the floor at once.
    let ch = ServerChannel::new(2, kind, "eve", vec![0; 4], MAX_TARGET, MAX_TARGET, Vardiff::new(10.0, 60, 0))
        .with_easiest_target(floor);
    assert_eq!(ch.target(), floor);
}

#[test]
fn released_extranonce_prefixes_are_reused_after_the_tip_moves_on() {
    let mut alloc = ExtranonceAllocator::new(&[], 1, 4).unwrap();
    let mut seen_reuse = false;
    for round in 0..1000u32 {
        let p = alloc.next_extended().expect("released prefixes come back");
        alloc.release(&p);
        // A prefix released on this tip is not handed out again before the next one.
        let q = alloc.next_extended().unwrap();
        assert_ne!(p, q);
        alloc.release(&q);
        seen_reuse |= round > 200;
        alloc.new_tip(&[(round % 256) as u8; 32]);
    }
    assert!(seen_reuse);
    // Standard (padded) prefixes are released the same way.
    let s = alloc.next_standard().unwrap();
    alloc.release(&s);
}
