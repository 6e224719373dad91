//! Bad input against the pool's port while an honest miner mines: a garbage flood (before and
//! after the handshake), stalled handshakes, a stalled setup, a frame that announces a huge
//! length, and thousands of connections opened and dropped. The pool drops each offender,
//! keeps serving the miner, and loses none of its records.

mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pool_common::*;
use sv2::codec::FrameHeader;
use sv2::noise::ServerAuth;
use sv2_roles::miner::{self, ChannelMode, MinerConfig};
use sv2_roles::net::{Connection, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the peer closes the connection (or an error); panics if it stays open.
async fn closed_by_pool(mut s: TcpStream, what: &str) {
    let mut buf = [0u8; 4096];
    let r = tokio::time::timeout(PATIENCE, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(r.is_ok(), "the pool kept a {what} connection open");
}

fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

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
    let mut attacks = tokio::task::JoinSet::new();
    // Garbage before the handshake.
    for i in 0..50u64 {
        attacks.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let _ = s.write_all(&noise(i, 64 * 1024)).await;
            closed_by_pool(s, "garbage").await;
        });
    }
    // Garbage after the handshake: the first bytes are not a valid encrypted frame.
    for i in 0..50u64 {
        attacks.spawn(async move {
            let conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
            let mut s = conn.into_stream();
            let _ = s.write_all(&noise(1000 + i, 64 * 1024)).await;
            closed_by_pool(s, "garbage after the handshake").await;
        });
    }
    // Handshakes that stop half way, and connections that never send SetupConnection.
    for _ in 0..20 {
        attacks.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&[0x42; 20]).await.unwrap();
            closed_by_pool(s, "stalled handshake").await;
        });
        attacks.spawn(async move {
            let conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
            closed_by_pool(conn.into_stream(), "silent after the handshake").await;
        });
    }
    // A frame announcing 16 MiB, far over what the pool takes from a miner.
    attacks.spawn(async move {
        let mut conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
        conn.send(&setup_connection(0).into()).await.unwrap();
        let huge = vec![0u8; 0xFF_FFFF];
        let header = FrameHeader { extension_type: 0, msg_type: 0x1b, msg_length: huge.len() as u32 };
        conn.queue_frame(header, &huge).unwrap();
        let _ = conn.flush().await;
        let mut got_error = false;
        for _ in 0..4 {
            if conn.read_frame().await.is_err() {
                got_error = true;
                break;
            }
        }
        assert!(got_error, "the pool answered a frame over its limit instead of closing");
    });
    // Thousands of connections opened and dropped, some after a full handshake.
    attacks.spawn(async move {
        for batch in 0..15 {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..200 {
                set.spawn(async move {
                    if let Ok(s) = TcpStream::connect(addr).await {
                        drop(s);
                    }
                });
            }
            if batch % 3 == 0 {
                for _ in 0..20 {
                    set.spawn(async move {
                        let c = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await;
                        drop(c);
                    });
                }
            }
            while set.join_next().await.is_some() {}
        }
    });
    let accepted_before = honest.stats().accepted;
    while let Some(r) = attacks.join_next().await {
        r.unwrap();
    }
    let m = pool.metrics();
    assert!(m.connections_total.load(Ordering::Relaxed) >= 3000);
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
