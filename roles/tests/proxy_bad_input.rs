//! Bad input against the proxy's device port while an honest device mines through it, in both
//! layouts: garbage before and after the handshake, stalled handshakes, a silent connection, a
//! message before SetupConnection, a frame announcing 16 MiB, and a thousand connections
//! opened and dropped. The proxy drops each offender and keeps serving the honest device.

mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pool_common::*;
use sv2::codec::FrameHeader;
use sv2::noise::ServerAuth;
use sv2_roles::miner::{self, ChannelMode, MinerConfig};
use sv2_roles::net::{Connection, Limits};
use sv2_roles::proxy::{Layout, ProxyConfig};
use sv2_roles::upstream::{PoolEndpoint, UpstreamConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the peer closes the connection (or an error); panics if it stays open.
async fn closed_by_proxy(mut s: TcpStream, what: &str) {
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
    assert!(r.is_ok(), "the proxy kept a {what} connection open");
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

async fn survives(layout: Layout, name: &str) {
    let tp_dir = temp_dir(&format!("{name}-tp"));
    let pool_dir = temp_dir(&format!("{name}-pool"));
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool = start_pool(&pool_dir, &tp, |c| c.shares_per_minute = 120.0).await;
    let upstream = UpstreamConfig::new(vec![PoolEndpoint::new(pool.addr().to_string(), pool.authority())]);
    let mut c = ProxyConfig::new(temp_dir(&format!("{name}-proxy")), SocketAddr::from(([127, 0, 0, 1], 0)), upstream);
    c.layout = layout;
    c.server.min_difficulty = 1e-12;
    c.server.shares_per_minute = 120.0;
    c.limits.handshake = Duration::from_secs(1);
    c.setup_timeout = Duration::from_secs(2);
    let proxy = sv2_roles::proxy::start(c).await.unwrap();
    let (addr, authority) = (proxy.addr(), proxy.authority());
    let mut c = MinerConfig::new(addr.to_string(), authority, "honest.rig", ChannelMode::Standard);
    c.threads = 1;
    c.nominal_hashrate = Some(1e5);
    c.report_every = None;
    c.reconnect = false;
    let mut honest = miner::start(c);
    until("the honest device's first accepted share", || honest.stats().accepted > 0).await;

    let mut attacks = tokio::task::JoinSet::new();
    for i in 0..30u64 {
        attacks.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let _ = s.write_all(&noise(i, 64 * 1024)).await;
            closed_by_proxy(s, "garbage").await;
        });
        attacks.spawn(async move {
            let conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
            let mut s = conn.into_stream();
            let _ = s.write_all(&noise(1000 + i, 64 * 1024)).await;
            closed_by_proxy(s, "garbage after the handshake").await;
        });
    }
    for _ in 0..10 {
        attacks.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&[0x42; 20]).await.unwrap();
            closed_by_proxy(s, "stalled handshake").await;
        });
        attacks.spawn(async move {
            let conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
            closed_by_proxy(conn.into_stream(), "silent after the handshake").await;
        });
    }
    // A channel open before SetupConnection.
    attacks.spawn(async move {
        let mut conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
        let open = sv2::messages::OpenStandardMiningChannel {
            request_id: 1,
            user_identity: sv2::codec::Str0_255::from_str("early").unwrap(),
            nominal_hash_rate: 1.0,
            max_target: [0xff; 32],
        };
        conn.send(&open.into()).await.unwrap();
        closed_by_proxy(conn.into_stream(), "message before SetupConnection").await;
    });
    // A frame announcing 16 MiB.
    attacks.spawn(async move {
        let mut conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
        conn.send(&setup_connection(0).into()).await.unwrap();
        let huge = vec![0u8; 0xFF_FFFF];
        let header = FrameHeader { extension_type: 0, msg_type: 0x1a, msg_length: huge.len() as u32 };
        conn.queue_frame(header, &huge).unwrap();
        let _ = conn.flush().await;
        let mut closed = false;
        for _ in 0..4 {
            if conn.read_frame().await.is_err() {
                closed = true;
                break;
            }
        }
        assert!(closed, "the proxy answered a frame over its limit instead of closing");
    });
    attacks.spawn(async move {
        for _ in 0..5 {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..200 {
                set.spawn(async move {
                    if let Ok(s) = TcpStream::connect(addr).await {
                        drop(s);
                    }
                });
            }
            while set.join_next().await.is_some() {}
        }
    });
    let before = honest.stats().accepted;
    while let Some(r) = attacks.join_next().await {
        r.unwrap();
    }
    let m = proxy.metrics();
    // Connects return before the proxy's accept loop has counted every socket.
    until("the proxy to count every connection", || m.connections_total.load(Ordering::Relaxed) >= 1000).await;
    assert!(m.connections_bad_input.load(Ordering::Relaxed) + m.connections_timed_out.load(Ordering::Relaxed) >= 60);
    until("more accepted shares for the honest device", || honest.stats().accepted > before).await;
    honest.stop().await;
    assert_eq!(honest.stats().connections, 1, "the honest device was never disconnected");
    until("every device connection to close", || m.connections_open.load(Ordering::Relaxed) == 0).await;
    proxy.shutdown().await;
    pool.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, pool_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregating_proxy_survives_bad_input() {
    survives(Layout::Aggregate, "pbad-a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_proxy_survives_bad_input() {
    survives(Layout::PassThrough, "pbad-p").await;
}
