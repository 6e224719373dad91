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
    // Blocks come from whichever miner is luckiest: go on until each has had a share too.
    while accepted_blocks.len() < 12 || miners.iter().any(|m| m.stats().accepted == 0) {
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

    // The records: each share a miner sent is an accepted row or one in the rejection counts,
    // with the verdict the miner heard.
    let total: usize = sent.iter().map(Vec::len).sum();
    let records = wait_for_records(&pool, total).await;
    let rows: BTreeMap<Key, &ShareRecord> = records.shares.iter().map(|r| (record_key(r), r)).collect();
    assert_eq!(rows.len(), records.shares.len(), "no share is recorded twice");
    let mut heard_rejected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (u, shares) in users.iter().zip(&sent) {
        for s in shares {
            match &s.answer {
                Some(Ok(())) => assert!(rows.contains_key(&sent_key(u, s)), "an accepted share is recorded"),
                Some(Err(code)) => {
                    assert!(!rows.contains_key(&sent_key(u, s)), "a rejected share has no row");
                    *heard_rejected.entry((u.to_string(), code.clone())).or_default() += 1;
                }
                None => {}
            }
        }
    }
    let counted: BTreeMap<(String, String), u64> =
        records.rejections.iter().map(|r| ((r.identity.clone(), r.code.clone()), r.count)).collect();
    for (key, n) in &heard_rejected {
        assert!(counted.get(key).copied().unwrap_or(0) >= *n, "rejections of {key:?} are counted");
    }
    let from_miners: std::collections::BTreeSet<Key> =
        users.iter().zip(&sent).flat_map(|(u, s)| s.iter().map(move |x| sent_key(u, x))).collect();
    assert!(rows.keys().all(|k| from_miners.contains(k)), "every row is a share a miner sent");
    let rejected_total: u64 = records.rejections.iter().map(|r| r.count).sum();
    assert_eq!(records.shares.len() as u64 + rejected_total, total as u64, "every share sent is accounted for once");
    // Per-worker totals agree with the share rows and the rejection counts.
    for w in &records.workers {
        let id = format!("{}.{}", w.user, w.worker);
        assert_eq!(w.accepted as usize, records.shares.iter().filter(|r| r.identity == id).count());
        let rejected: u64 = records.rejections.iter().filter(|r| r.identity == id).map(|r| r.count).sum();
        assert_eq!(w.rejected, rejected);
    }
    // Blocks: found by these users, accepted as tips by the node, some with transactions.
    let accepted: Vec<_> = records.blocks.iter().filter(|b| b.accepted).collect();
    assert!(accepted.len() >= 10, "{} blocks accepted", accepted.len());
    assert!(accepted.iter().filter(|b| accepted_blocks.contains(&b.hash)).count() >= 10);
    assert!(accepted.iter().any(|b| b.merkle_path_len > 0), "some blocks carry transactions");
    assert!(accepted.iter().all(|b| users.contains(&b.identity.as_str())));

    // Prometheus reads the same counts.
    let text = scrape(pool.metrics_addr().unwrap()).await;
    let accepted_metric = format!("sv2_pool_shares_accepted_total {}", records.shares.len());
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
    assert_eq!(after.rejections, before.rejections);
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
        let rejected: u64 = r.rejections.iter().map(|x| x.count).sum();
        if r.shares.len() + rejected as usize >= n || tokio::time::Instant::now() > deadline {
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
    // duplicate if the pool reads it before it hears of the block's new tip, stale if after
    // (new tips go before the socket, so either order is right).
    let tips_seen = m.tips.len();
    m.queue_submit(ch, seq + 1, &work, good, work.min_ntime, work.version, &en);
    m.queue_submit(ch, seq + 2, &work, good, work.min_ntime, work.version, &en);
    m.conn.flush().await.unwrap();
    seq += 2;
    let (a, b) = (m.answer().await, m.answer().await);
    let (ok, dup) = if matches!(a, Answer::Accepted { .. }) { (a, b) } else { (b, a) };
    assert_eq!(ok, Answer::Accepted { last_sequence_number: seq - 1, count: 1 });
    let Answer::Rejected { code: replay_code, .. } = dup.clone() else { panic!("{dup:?}") };
    assert!(replay_code == "duplicate-share" || replay_code == "stale-share", "{replay_code}");
    expect(&replay_code, dup, seq);
    let replay_dup = u64::from(replay_code == "duplicate-share");
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
        (ShareError::StaleShare, 2 - replay_dup),
        (ShareError::DifficultyTooLow, 1),
        (ShareError::DuplicateShare, replay_dup),
        (ShareError::BadExtranonceSize, 1),
        (ShareError::InvalidNonRollableVersionBit, 1),
        (ShareError::NtimeOutOfRange, 2),
    ];
    for (e, n) in expected_more {
        let i = ShareError::ALL.iter().position(|k| *k == e).unwrap();
        assert_eq!(pool.metrics().rejected_with(e), rejected_before[i] + n, "{e}");
    }
    // Counted per code for the worker (the share for no channel has no worker), with no row
    // each, once the connection's counts are written.
    drop(m);
    let expected: BTreeMap<String, u64> = [
        ("bad-extranonce-size", 1),
        ("difficulty-too-low", 1),
        ("duplicate-share", replay_dup),
        ("invalid-job-id", 1),
        ("invalid-non-rollable-version-bit", 1),
        ("invalid-timestamp", 2),
        ("stale-share", 2 - replay_dup),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(c, n)| (c.to_string(), *n))
    .collect();
    let mut counted = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while counted != expected && tokio::time::Instant::now() < deadline {
        let r = pool.records().unwrap();
        counted =
            r.rejections.iter().filter(|x| x.identity == "mallory.bad").map(|x| (x.code.clone(), x.count)).collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(counted, expected, "every bad share is counted with its code");
    let r = pool.records().unwrap();
    assert_eq!(r.shares.iter().filter(|s| s.identity == "mallory.bad").count(), 1, "only the good share has a row");
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
