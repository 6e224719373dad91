//! The mining path end to end, in one process: the template provider on its embedded regtest
//! node, the pool, and CPU miners on every kind of channel. Blocks found through the pool are
//! accepted by libbitcoinkernel; the pool's share records are exactly what the miners sent;
//! every kind of bad share is rejected with its error code and counted; the records survive a
//! pool restart, and the pool survives a template provider restart.

mod pool_common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use pool_common::*;
use sv2::channels::ShareError;
use sv2::messages::mining_flags::REQUIRES_STANDARD_JOBS;
use sv2_roles::miner::{self, ChannelMode, MinerConfig, MinerHandle, SentShare};
use sv2_roles::pool::store::ShareRecord;
use sv2_roles::tp::{BlockVerdict, SolutionOutcome};

fn start_miner(pool: &sv2_roles::pool::PoolHandle, user: &str, mode: ChannelMode, standard_jobs: bool) -> MinerHandle {
    let mut c = MinerConfig::new(pool.addr().to_string(), pool.authority(), user, mode);
    c.threads = 1;
    c.requires_standard_jobs = standard_jobs;
    c.record_shares = true;
    c.report_every = None;
    miner::start(c)
}

/// What a share record and a sent share have in common.
type Key = (String, u32, u32, u32, u32, u32, Vec<u8>);

fn record_key(r: &ShareRecord) -> Key {
    (r.identity.clone(), r.sequence_number, r.job_id, r.nonce, r.ntime, r.version, r.extranonce.clone())
}

fn sent_key(user: &str, s: &SentShare) -> Key {
    (user.to_string(), s.sequence_number, s.job_id, s.nonce, s.ntime, s.version, s.extranonce.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_through_the_pool_records_bad_shares_and_restarts() {
    let tp_dir = temp_dir("e2e-tp");
    let pool_dir = temp_dir("e2e-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let tp_addr = tp.addr();
    let start_height = tp.tip().height;
    let mut reports = tp.solutions();
    // Many shares a minute: on regtest every share is a block, so blocks come quickly.
    let fast = |c: &mut sv2_roles::pool::PoolConfig| {
        c.shares_per_minute = 240.0;
        c.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    };
    let pool = start_pool(&pool_dir, &tp, fast).await;

    // Three miners: standard channel with group jobs, standard with REQUIRES_STANDARD_JOBS,
    // and extended.
    let users = ["alice.std", "bob.stdjobs", "carol.ext"];
    let miners = vec![
        start_miner(&pool, users[0], ChannelMode::Standard, false),
        start_miner(&pool, users[1], ChannelMode::Standard, true),
        start_miner(&pool, users[2], ChannelMode::Extended, false),
    ];
    // The node's own transactions go into templates; add more while mining.
    let mut accepted_blocks = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    while accepted_blocks.len() < 12 {
        let r = tokio::time::timeout_at(deadline, reports.recv()).await.expect("blocks keep coming").unwrap();
        if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
            accepted_blocks.push(r.block_hash.unwrap());
            if accepted_blocks.len() % 4 == 0 {
                tp.add_transactions(2).await.unwrap();
            }
        }
    }
    assert!(tp.tip().height >= start_height + 12);
    for m in &miners {
        let s = m.stats();
        assert!(s.accepted > 0 && s.jobs > 0 && s.tips > 0, "every miner mined: {s:?}");
    }
    let mut miners = miners;
    for m in &mut miners {
        m.stop().await;
    }
    let sent: Vec<Vec<SentShare>> = miners.iter().map(|m| m.sent_shares()).collect();
    until("the miners' connections to close", || {
        pool.metrics().connections_open.load(std::sync::atomic::Ordering::Relaxed) == 0
    })
    .await;

    // The records: every share each miner sent, nothing else, with the same verdicts.
    let records = wait_for_records(&pool, sent.iter().map(Vec::len).sum()).await;
    let mut from_pool: Vec<Key> = records.shares.iter().map(record_key).collect();
    let mut from_miners: Vec<Key> =
        users.iter().zip(&sent).flat_map(|(u, s)| s.iter().map(move |x| sent_key(u, x))).collect();
    from_pool.sort();
    from_miners.sort();
    assert_eq!(from_pool, from_miners, "the pool recorded exactly what the miners sent");
    let verdicts: BTreeMap<Key, Option<String>> =
        records.shares.iter().map(|r| (record_key(r), r.error.clone())).collect();
    for (u, shares) in users.iter().zip(&sent) {
        for s in shares {
            if let Some(answer) = &s.answer {
                assert_eq!(answer.clone().err(), verdicts[&sent_key(u, s)], "the miner heard what the pool recorded");
            }
        }
    }
    // Per-worker totals agree with the share rows.
    for w in &records.workers {
        let id = format!("{}.{}", w.user, w.worker);
        let rows: Vec<&ShareRecord> = records.shares.iter().filter(|r| r.identity == id).collect();
        assert_eq!(w.accepted as usize, rows.iter().filter(|r| r.error.is_none()).count());
        assert_eq!(w.rejected as usize, rows.iter().filter(|r| r.error.is_some()).count());
    }
    // Blocks: found by these users, accepted as tips by the node, some with transactions.
    let accepted: Vec<_> = records.blocks.iter().filter(|b| b.accepted).collect();
    assert!(accepted.len() >= 10, "{} blocks accepted", accepted.len());
    assert!(accepted.iter().filter(|b| accepted_blocks.contains(&b.hash)).count() >= 10);
    assert!(accepted.iter().any(|b| b.merkle_path_len > 0), "some blocks carry transactions");
    assert!(accepted.iter().all(|b| users.contains(&b.identity.as_str())));

    // Prometheus reads the same counts.
    let text = scrape(pool.metrics_addr().unwrap()).await;
    let accepted_metric =
        format!("sv2_pool_shares_accepted_total {}", records.shares.iter().filter(|s| s.error.is_none()).count());
    assert!(text.contains(&accepted_metric), "{accepted_metric} in\n{text}");
    assert!(text.contains("sv2_pool_shares_rejected_total{code=\"stale-share\"}"));
    assert!(text.contains("sv2_pool_blocks_found_total"));

    bad_shares(&pool, &tp).await;
    let fixed_dir = temp_dir("e2e-pool-fixed");
    version_rolling_forbidden(&fixed_dir, &tp).await;

    // Restart the pool: every record is still there, and mining goes on.
    let before = pool.records().unwrap();
    pool.shutdown().await;
    let pool = start_pool(&pool_dir, &tp, fast).await;
    let after = pool.records().unwrap();
    assert_eq!(after.shares, before.shares);
    assert_eq!(after.blocks, before.blocks);
    assert_eq!(after.workers, before.workers);
    assert_eq!(after.runs, before.runs + 1);

    // Restart the template provider on the same address: the pool reconnects, and miners get
    // the new provider's jobs and find blocks on them.
    let miner = start_miner(&pool, "dave.ext", ChannelMode::Extended, false);
    let height = tp.wait_for_height(tp.tip().height + 1).await.height;
    tp.shutdown().await;
    let tp = start_tp(&tp_dir, tp_addr).await;
    assert!(tp.tip().height >= height);
    let tips_before = pool.metrics().tp_connections.load(std::sync::atomic::Ordering::Relaxed);
    let reached = tp.wait_for_height(tp.tip().height + 3);
    tokio::time::timeout(PATIENCE, reached).await.expect("blocks after the template provider restart");
    assert!(pool.metrics().tp_connections.load(std::sync::atomic::Ordering::Relaxed) >= tips_before.max(2));
    miner.shutdown().await;
    pool.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, pool_dir, fixed_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

async fn scrape(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    body
}

async fn wait_for_records(pool: &sv2_roles::pool::PoolHandle, n: usize) -> sv2_roles::pool::store::Records {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let r = pool.records().unwrap();
        if r.shares.len() >= n || tokio::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every kind of bad share on an idle pool, each answered with its code, counted in the
/// metrics and recorded.
async fn bad_shares(pool: &sv2_roles::pool::PoolHandle, tp: &sv2_roles::tp::TpHandle) {
    let rejected_before: Vec<u64> = ShareError::ALL.iter().map(|e| pool.metrics().rejected_with(*e)).collect();
    let mut m = RawMiner::connect(pool.addr(), pool.authority(), 0).await;
    let ch = m.open(true, "mallory.bad").await;
    let work = m.work(ch).unwrap();
    let en = work.extranonce.clone();
    let good = grind(&work, 0, true);
    let mut seq = 0;
    let expect = |code: &str, answer: Answer, seq: u32| {
        assert_eq!(answer, Answer::Rejected { sequence_number: seq, code: code.into() });
    };
    // Unknown channel, unknown job, wrong extranonce size, a fixed version bit changed, nTime
    // before the minimum and too far ahead, a hash that meets no target.
    // (code, channel, job, nonce, ntime, extranonce, version)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, u32, u32, u32, u32, Vec<u8>, u32)> = vec![
        ("invalid-channel-id", 999, work.job_id, good, work.min_ntime, en.clone(), work.version),
        ("bad-extranonce-size", ch, work.job_id, good, work.min_ntime, en[1..].to_vec(), work.version),
        ("invalid-non-rollable-version-bit", ch, work.job_id, good, work.min_ntime, en.clone(), work.version ^ 1),
        ("invalid-timestamp", ch, work.job_id, good, work.min_ntime - 1, en.clone(), work.version),
        ("invalid-timestamp", ch, work.job_id, good, sv2_roles::keygen::unix_now() + 7300, en.clone(), work.version),
        ("difficulty-too-low", ch, work.job_id, grind(&work, 0, false), work.min_ntime, en.clone(), work.version),
    ];
    for (code, channel, job, nonce, ntime, extranonce, version) in cases {
        seq += 1;
        let w = sv2::channels::client::Work { job_id: job, ..work.clone() };
        m.submit(channel, seq, &w, nonce, ntime, version, &extranonce).await;
        expect(code, m.answer().await, seq);
    }
    seq += 1;
    let unknown = sv2::channels::client::Work { job_id: 0xdead, ..work.clone() };
    m.submit(ch, seq, &unknown, good, work.min_ntime, work.version, &en).await;
    expect("invalid-job-id", m.answer().await, seq);

    // A good share (a block, on regtest), then the same again in the same write: a
    // duplicate (the pool reads both before it hears of the block's new tip).
    let tips_seen = m.tips.len();
    m.queue_submit(ch, seq + 1, &work, good, work.min_ntime, work.version, &en);
    m.queue_submit(ch, seq + 2, &work, good, work.min_ntime, work.version, &en);
    m.conn.flush().await.unwrap();
    seq += 2;
    let (a, b) = (m.answer().await, m.answer().await);
    let (ok, dup) = if matches!(a, Answer::Accepted { .. }) { (a, b) } else { (b, a) };
    assert_eq!(ok, Answer::Accepted { last_sequence_number: seq - 1, count: 1 });
    expect("duplicate-share", dup, seq);
    // That block moved the tip: a share on the old job is stale.
    while m.tips.len() == tips_seen {
        m.next().await;
    }
    let other = grind(&work, good + 1, true);
    seq += 1;
    m.submit(ch, seq, &work, other, work.min_ntime, work.version, &en).await;
    expect("stale-share", m.answer().await, seq);
    let _ = tp;

    // Each is counted once more than before, and recorded with its code.
    let expected_more = [
        (ShareError::InvalidChannelId, 1),
        (ShareError::InvalidJobId, 1),
        (ShareError::StaleShare, 1),
        (ShareError::DifficultyTooLow, 1),
        (ShareError::DuplicateShare, 1),
        (ShareError::BadExtranonceSize, 1),
        (ShareError::InvalidNonRollableVersionBit, 1),
        (ShareError::NtimeOutOfRange, 2),
    ];
    for (e, n) in expected_more {
        let i = ShareError::ALL.iter().position(|k| *k == e).unwrap();
        assert_eq!(pool.metrics().rejected_with(e), rejected_before[i] + n, "{e}");
    }
    let mut codes: Vec<Option<String>> = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while codes.len() < seq as usize && tokio::time::Instant::now() < deadline {
        let r = pool.records().unwrap();
        let mine = r.shares.iter().rev().find(|s| s.identity == "mallory.bad").map(|s| (s.run, s.connection));
        codes = r.shares.iter().filter(|s| Some((s.run, s.connection)) == mine).map(|s| s.error.clone()).collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expected: Vec<Option<String>> = [
        Some("invalid-channel-id"),
        Some("bad-extranonce-size"),
        Some("invalid-non-rollable-version-bit"),
        Some("invalid-timestamp"),
        Some("invalid-timestamp"),
        Some("difficulty-too-low"),
        Some("invalid-job-id"),
        None,
        Some("duplicate-share"),
        Some("stale-share"),
    ]
    .iter()
    .map(|c| c.map(str::to_string))
    .collect();
    assert_eq!(codes, expected, "every bad share is recorded with its code");
}

/// A pool that forbids version rolling: it says so in SetupConnection.Success, refuses
/// clients that require rolling, and rejects a rolled version.
async fn version_rolling_forbidden(dir: &std::path::PathBuf, tp: &sv2_roles::tp::TpHandle) {
    let pool = start_pool(dir, tp, |c| c.version_rolling = false).await;
    let mut m = RawMiner::connect(pool.addr(), pool.authority(), REQUIRES_STANDARD_JOBS).await;
    assert_eq!(m.setup_flags & sv2::messages::mining_success_flags::REQUIRES_FIXED_VERSION, 1);
    let ch = m.open(false, "mallory.fixed").await;
    let work = m.work(ch).unwrap();
    assert_eq!(work.version_mask, 0);
    let nonce = grind(&work, 0, true);
    let msg = sv2::messages::SubmitSharesStandard {
        channel_id: ch,
        sequence_number: 1,
        job_id: work.job_id,
        nonce,
        ntime: work.min_ntime,
        version: work.version ^ (1 << 13),
    };
    m.conn.send(&msg.into()).await.unwrap();
    assert_eq!(m.answer().await, Answer::Rejected { sequence_number: 1, code: "version-rolling-not-allowed".into() });
    assert_eq!(pool.metrics().rejected_with(ShareError::VersionRollingNotAllowed), 1);
    pool.shutdown().await;
}
