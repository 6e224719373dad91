//! Bad input against the pool's port while an honest miner mines: a garbage flood (before and
//! after the handshake), stalled handshakes, a stalled setup, a frame that announces a huge
//! length, and thousands of connections opened and dropped. The pool drops each offender,
//! keeps serving the miner, and loses none of its records.

mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pool_common::*;
use sv2_roles::miner::{self, ChannelMode, MinerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_survives_bad_input_and_keeps_every_record() {
    let tp_dir = temp_dir("bad-tp");
    let pool_dir = temp_dir("bad-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool = start_pool(&pool_dir, &tp, |c| {
        c.shares_per_minute = 120.0;
        c.limits.handshake = Duration::from_secs(1);
        c.setup_timeout = Duration::from_secs(2);
    })
    .await;
    let addr = pool.addr();
    let mut c = MinerConfig::new(addr.to_string(), pool.authority(), "honest.rig", ChannelMode::Extended);
    c.threads = 1;
    c.record_shares = true;
    c.report_every = None;
    c.reconnect = false;
    let mut honest = miner::start(c);
    until("the honest miner's first accepted share", || honest.stats().accepted > 0).await;

    let authority = pool.authority();
    let mut attacks = bad_input_attacks(addr, authority, Attacks { garbage: 50, stalls: 20, connect_batches: 15 });
    let accepted_before = honest.stats().accepted;
    while let Some(r) = attacks.join_next().await {
        r.unwrap();
    }
    let m = pool.metrics();
    // Connects return before the pool's accept loop has counted every socket.
    until("the pool to count every connection", || m.connections_total.load(Ordering::Relaxed) >= 3000).await;
    assert!(m.connections_failed.load(Ordering::Relaxed) >= 100);

    // The honest miner kept mining through it all, and a new miner is served.
    until("more accepted shares for the honest miner", || honest.stats().accepted > accepted_before).await;
    let mut fresh = RawMiner::connect(addr, authority, 0).await;
    let ch = fresh.open(true, "honest.late").await;
    let work = fresh.work(ch).unwrap();
    let nonce = grind(&work, 0, true);
    fresh.submit(ch, 1, &work, nonce, work.min_ntime, work.version, &work.extranonce.clone()).await;
    assert!(matches!(fresh.answer().await, Answer::Accepted { count: 1, .. }));
    drop(fresh);

    honest.stop().await;
    let stats = honest.stats();
    assert_eq!(stats.connections, 1, "the honest miner was never disconnected");
    until("every connection to close", || m.connections_open.load(Ordering::Relaxed) == 0).await;
    // Every share the honest miner sent that was not rejected (stale ones at a tip change
    // are counted, not stored) is recorded.
    let sent: Vec<_> = honest.sent_shares().into_iter().filter(|s| !matches!(s.answer, Some(Err(_)))).collect();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let records = loop {
        let r = pool.records().unwrap();
        let mine = r.shares.iter().filter(|s| s.identity == "honest.rig").count();
        if mine >= sent.len() || tokio::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut recorded: Vec<_> = records
        .shares
        .iter()
        .filter(|s| s.identity == "honest.rig")
        .map(|s| (s.sequence_number, s.job_id, s.nonce, s.ntime, s.version, s.extranonce.clone()))
        .collect();
    let mut expected: Vec<_> =
        sent.iter().map(|s| (s.sequence_number, s.job_id, s.nonce, s.ntime, s.version, s.extranonce.clone())).collect();
    recorded.sort();
    expected.sort();
    assert_eq!(recorded, expected, "every share the honest miner sent and was not refused is recorded");
    assert!(records.shares.iter().any(|s| s.identity == "honest.late"));

    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(tp_dir);
    let _ = std::fs::remove_dir_all(pool_dir);
}
