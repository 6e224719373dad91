//! Deployments 1 and 3 end to end, in one process: the template provider on its embedded
//! regtest node, the pool, `sv2 proxy`, and SV2 CPU miners on a standard channel with group
//! jobs, a standard channel with its own jobs and an extended channel. Blocks the devices find
//! through the proxy are accepted by libbitcoinkernel; the pool's per-worker records match
//! what the proxy forwarded; the proxy accounts for every device share. Then failover: the
//! preferred pool goes away and the devices keep mining on the second without reconnecting.

mod pool_common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pool_common::*;
use sv2_roles::miner::{ChannelMode, MinerConfig, MinerHandle};
use sv2_roles::pool::PoolHandle;
use sv2_roles::proxy::{Layout, ProxyConfig, ProxyHandle};
use sv2_roles::tp::{BlockVerdict, SolutionOutcome, TpHandle};
use sv2_roles::upstream::{PoolEndpoint, UpstreamConfig};

const DEVICES: [(&str, ChannelMode, bool); 3] = [
    ("alice.group", ChannelMode::Standard, false),
    ("bob.own-jobs", ChannelMode::Standard, true),
    ("carol.extended", ChannelMode::Extended, false),
];

fn endpoints(pools: &[&PoolHandle]) -> Vec<PoolEndpoint> {
    pools.iter().map(|p| PoolEndpoint::new(p.addr().to_string(), p.authority())).collect()
}

async fn start_proxy(name: &str, pools: Vec<PoolEndpoint>, layout: Layout) -> ProxyHandle {
    let mut upstream = UpstreamConfig::new(pools);
    upstream.connect_timeout = Duration::from_secs(2);
    let mut c = ProxyConfig::new(temp_dir(name), SocketAddr::from(([127, 0, 0, 1], 0)), upstream);
    c.layout = layout;
    c.user = "farm.proxy".into();
    // The pool's target for the aggregated channel sits between the devices' and a block's.
    c.nominal_hashrate = 2e5;
    c.server.min_difficulty = 1e-12;
    c.server.shares_per_minute = 120.0;
    c.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    sv2_roles::proxy::start(c).await.expect("proxy starts")
}

/// The devices for a layout: pass-through relays standard channels only.
fn devices(layout: Layout) -> &'static [(&'static str, ChannelMode, bool)] {
    match layout {
        Layout::Aggregate => &DEVICES,
        Layout::PassThrough => &DEVICES[..2],
    }
}

fn start_miners(proxy: &ProxyHandle, layout: Layout) -> Vec<MinerHandle> {
    devices(layout)
        .iter()
        .map(|(user, mode, standard_jobs)| {
            let mut c = MinerConfig::new(proxy.addr().to_string(), proxy.authority(), *user, *mode);
            c.threads = 1;
            c.nominal_hashrate = Some(1e5);
            c.requires_standard_jobs = *standard_jobs;
            c.record_shares = true;
            c.report_every = None;
            sv2_roles::miner::start(c)
        })
        .collect()
}

/// Waits for `n` blocks the node takes as its new tip while every miner gets shares accepted.
async fn mine_blocks(tp: &TpHandle, miners: &[MinerHandle], n: usize) -> Vec<[u8; 32]> {
    let mut reports = tp.solutions();
    let mut blocks = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    while blocks.len() < n || miners.iter().any(|m| m.stats().accepted == 0) {
        let r = tokio::time::timeout_at(deadline, reports.recv()).await.expect("blocks keep coming").unwrap();
        if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
            blocks.push(r.block_hash.unwrap());
        }
    }
    blocks
}

async fn deployment(layout: Layout, name: &str) {
    let tp_dir = temp_dir(&format!("{name}-tp"));
    let pool_dir = temp_dir(&format!("{name}-pool"));
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let start_height = tp.tip().height;
    let pool = start_pool(&pool_dir, &tp, |c| c.shares_per_minute = 240.0).await;
    let proxy = start_proxy(&format!("{name}-proxy"), endpoints(&[&pool]), layout).await;
    let mut miners = start_miners(&proxy, layout);
    let blocks = mine_blocks(&tp, &miners, 5).await;
    assert!(tp.tip().height >= start_height + 5);
    for m in &mut miners {
        m.stop().await;
    }
    if layout == Layout::PassThrough {
        until("the devices' channels to close at the pool", || {
            pool.metrics().channels_open.load(Ordering::Relaxed) == 0
        })
        .await;
    }
    until("the pool to answer every forwarded share", || {
        let t = proxy.metrics().totals();
        t.upstream_accepted + t.upstream_rejected_total() == t.shares_forwarded
    })
    .await;
    let t = proxy.metrics().totals();
    let records = pool.records().unwrap();
    let per_worker: BTreeMap<String, u64> =
        records.workers.iter().map(|w| (format!("{}.{}", w.user, w.worker), w.accepted)).collect();
    assert_eq!(records.shares.len() as u64, t.upstream_accepted, "every share the pool took is recorded: {t:?}");
    assert_eq!(per_worker.values().sum::<u64>(), t.upstream_accepted);
    let accepted_at_miners: u64 = miners.iter().map(|m| m.stats().accepted).sum();
    match layout {
        Layout::PassThrough => {
            // Each device is its own worker at the pool and hears the pool's own verdicts
            // (a device stopped before its last answer heard fewer).
            for (m, (user, ..)) in miners.iter().zip(devices(layout)) {
                let at_pool = per_worker.get(*user).copied().unwrap_or(0);
                assert!(m.stats().accepted > 0 && m.stats().accepted <= at_pool, "{user}: {per_worker:?}");
            }
        }
        Layout::Aggregate => {
            // The pool sees the proxy's channel; the proxy validated every device share and
            // forwarded those that meet the pool's target or a block's. (On regtest every
            // share at a device's target is also a block, so all are forwarded here; the
            // shares in between are exercised by `shares_below_the_pool_target_stay_here`.)
            assert_eq!(per_worker.keys().collect::<Vec<_>>(), ["farm.proxy"], "{per_worker:?}");
            assert_eq!(t.shares_accepted, t.shares_forwarded + t.shares_below_upstream, "{t:?}");
            assert!(accepted_at_miners <= t.shares_accepted, "{t:?}");
        }
    }
    let found = records.blocks.iter().filter(|b| b.accepted && blocks.contains(&b.hash)).count();
    assert!(found >= 5, "{found} of the node's new tips recorded by the pool");
    proxy.shutdown().await;
    pool.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, pool_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_1_pass_through() {
    deployment(Layout::PassThrough, "d1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_3_aggregation() {
    deployment(Layout::Aggregate, "d3").await;
}

/// The preferred pool, a process, is killed with SIGKILL mid-run: the proxy moves to the
/// next, devices keep their connections (new prefixes and jobs, or re-opened relayed channels)
/// and their shares reach the second pool.
async fn failover(layout: Layout, name: &str) {
    let tp_dir = temp_dir(&format!("{name}-tp"));
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let (a_dir, b_dir) = (temp_dir(&format!("{name}-pool-a")), temp_dir(&format!("{name}-pool-b")));
    let a_port = free_port();
    let (mut pool_a, a_key) = pool_process(&a_dir, &tp, a_port).await;
    let pool_b = start_pool(&b_dir, &tp, |c| c.shares_per_minute = 240.0).await;
    let mut pools = vec![PoolEndpoint::new(format!("127.0.0.1:{a_port}"), a_key)];
    pools.extend(endpoints(&[&pool_b]));
    let proxy = start_proxy(&format!("{name}-proxy"), pools, layout).await;
    let mut miners = start_miners(&proxy, layout);
    until("every device to have shares accepted", || miners.iter().all(|m| m.stats().accepted > 0)).await;
    assert_eq!(proxy.upstream_metrics().active(), Some(0));
    let before: Vec<u64> = miners.iter().map(|m| m.stats().accepted).collect();
    let lost = std::time::Instant::now();
    pool_a.kill();
    until("the proxy to move to the second pool", || proxy.upstream_metrics().active() == Some(1)).await;
    let tips: Vec<_> = miners.iter().map(|m| m.tips()).collect();
    until("every device to get new work after the move", || {
        tips.iter().all(|t| t.borrow().as_ref().is_some_and(|seen| seen.at > lost))
    })
    .await;
    let work = tips.iter().filter_map(|t| t.borrow().as_ref().map(|seen| seen.at - lost)).max().unwrap_or_default();
    until("every device to have more shares accepted", || {
        miners.iter().zip(&before).all(|(m, b)| m.stats().accepted > *b)
    })
    .await;
    // Reported, not asserted: timings on a shared machine.
    eprintln!(
        "{name}: after SIGKILL to the first pool, every device had new work within {:.1} ms and a share accepted within {:.1} s",
        work.as_secs_f64() * 1e3,
        lost.elapsed().as_secs_f64()
    );
    until("the second pool to record shares", || !pool_b.records().unwrap().shares.is_empty()).await;
    for m in &miners {
        assert_eq!(m.stats().connections, 1, "devices keep their connection to the proxy");
    }
    // The move is in the proxy's metrics, with the devices' counters.
    let prom = http_get(proxy.metrics_addr().unwrap(), "/metrics").await;
    let open = format!("sv2_proxy_connections_open {}", devices(layout).len());
    for line in ["sv2_proxy_upstream_active_pool 1", "sv2_proxy_upstream_failovers_total 1", open.as_str()] {
        assert!(prom.contains(line), "{line} in\n{prom}");
    }
    let json = http_get(proxy.metrics_addr().unwrap(), "/stats.json").await;
    assert!(json.contains("\"shares_unacknowledged\""), "{json}");
    for m in &mut miners {
        m.stop().await;
    }
    proxy.shutdown().await;
    pool_b.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, a_dir, b_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_aggregation() {
    failover(Layout::Aggregate, "d3f").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_pass_through() {
    failover(Layout::PassThrough, "d1f").await;
}

/// A device share that meets the device's target but neither the pool's nor a block's is
/// accepted for the device and counted at the proxy, not forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_below_the_pool_target_stay_here() {
    let tp_dir = temp_dir("d3b-tp");
    let pool_dir = temp_dir("d3b-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool = start_pool(&pool_dir, &tp, |_| {}).await;
    let proxy = start_proxy("d3b-proxy", endpoints(&[&pool]), Layout::Aggregate).await;
    let mut device = RawMiner::connect(proxy.addr(), proxy.authority(), 0).await;
    let channel = device.open_with(true, "dave.raw", 1e-3, sv2::channels::target::MAX_TARGET).await;
    let work = device.work(channel).unwrap();
    let block = sv2::channels::target::target_from_nbits(work.nbits);
    let meets = |h: &[u8; 32], t: &[u8; 32]| sv2::channels::target::hash_meets_target(h, t);
    let nonce = (0u32..)
        .find(|n| {
            let h = header_hash(&work, *n);
            meets(&h, &work.target) && !meets(&h, &block)
        })
        .unwrap();
    device.submit(channel, 1, &work, nonce, work.min_ntime, work.version, &work.extranonce).await;
    assert!(matches!(device.answer().await, Answer::Accepted { last_sequence_number: 1, count: 1 }));
    let t = proxy.metrics().totals();
    assert_eq!((t.shares_accepted, t.shares_below_upstream, t.shares_forwarded), (1, 1, 0), "{t:?}");
    assert_eq!(proxy.upstream_metrics().shares_forwarded.load(Ordering::Relaxed), 0);
    proxy.shutdown().await;
    pool.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, pool_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}
