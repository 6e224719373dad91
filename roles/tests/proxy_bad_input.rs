//! Bad input against the proxy's device port while an honest device mines through it, in both
//! layouts: garbage before and after the handshake, stalled handshakes, a silent connection, a
//! message before SetupConnection, a frame announcing 16 MiB, and a thousand connections
//! opened and dropped. The proxy drops each offender and keeps serving the honest device.

mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pool_common::*;
use sv2_roles::miner::{self, ChannelMode, MinerConfig};
use sv2_roles::proxy::{Layout, ProxyConfig};
use sv2_roles::upstream::{PoolEndpoint, UpstreamConfig};

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

    let mut attacks = bad_input_attacks(addr, authority, Attacks { garbage: 30, stalls: 10, connect_batches: 5 });
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
