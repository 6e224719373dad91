//! Deployment 4 end to end: `sv2 proxy` with its Job Declarator Client between SV2 CPU miners
//! and `sv2 pool` with its Job Declaration Server, in one process.
//!
//! Two embedded regtest nodes follow one chain: the pool's node (template provider A) and the
//! farm's (template provider B) start from copies of one chain, blocks the farm finds reach
//! A through PushSolution (Full-Template), the pool's own block from the share, and a relay
//! of every block the JDC reports (standing in for the Bitcoin network, which the embedded
//! nodes lack). A transaction only the farm's node holds shows that the blocks carry the
//! farm's transactions, not the pool's.

mod jd_common;
mod pool_common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bitcoin::consensus::deserialize;
use bitcoin::hashes::Hash as _;
use jd_common::*;
use pool_common::*;
use sv2_roles::jdc::{FoundBlock, JdConfig, JdcStats, Mode};
use sv2_roles::miner::{ChannelMode, MinerConfig, MinerHandle};
use sv2_roles::pool::jds::{JdNode, JdServerConfig};
use sv2_roles::pool::{PoolConfig, PoolHandle};
use sv2_roles::proxy::{ProxyConfig, ProxyHandle};
use sv2_roles::tp::{BlockVerdict, SolutionOutcome, TpHandle};
use sv2_roles::upstream::{PoolEndpoint, UpstreamConfig};

async fn start_proxy(dir: &Path, pool: &PoolHandle, jds: SocketAddr, farm_tp: &TpHandle, full: bool) -> ProxyHandle {
    let mut upstream = UpstreamConfig::new(vec![PoolEndpoint::new(pool.addr().to_string(), pool.authority())]);
    upstream.connect_timeout = Duration::from_secs(2);
    upstream.probe_interval = Duration::from_millis(200);
    let mut c = ProxyConfig::new(dir, SocketAddr::from(([127, 0, 0, 1], 0)), upstream);
    c.user = "farm.proxy".into();
    c.nominal_hashrate = 2e5;
    c.server.min_difficulty = 1e-12;
    c.server.shares_per_minute = 120.0;
    c.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    let mut jd =
        JdConfig::new(vec![Some(PoolEndpoint::new(jds.to_string(), pool.authority()))], farm_tp.addr().to_string());
    jd.tp_authority = Some(farm_tp.authority());
    jd.full_template = full;
    jd.solo_payout = Some(SOLO.to_vec());
    jd.retry_min = Duration::from_millis(200);
    jd.retry_max = Duration::from_secs(1);
    c.jd = Some(jd);
    sv2_roles::proxy::start(c).await.expect("proxy starts")
}

/// Devices of deployment 4 (every channel kind, aggregated).
const DEPLOYMENT_4: [(&str, ChannelMode, bool); 2] =
    [("alice.group", ChannelMode::Standard, false), ("carol.extended", ChannelMode::Extended, false)];
/// Devices of deployment 2 (deployment 1's: standard channels, group jobs or their own).
const DEPLOYMENT_2: [(&str, ChannelMode, bool); 2] =
    [("alice.group", ChannelMode::Standard, false), ("bob.own-jobs", ChannelMode::Standard, true)];

fn start_miners(proxy: &ProxyHandle) -> Vec<MinerHandle> {
    start_devices(proxy, &DEPLOYMENT_4)
}

fn start_devices(proxy: &ProxyHandle, devices: &[(&str, ChannelMode, bool)]) -> Vec<MinerHandle> {
    devices
        .iter()
        .map(|(user, mode, own_jobs)| {
            let mut c = MinerConfig::new(proxy.addr().to_string(), proxy.authority(), *user, *mode);
            c.threads = 1;
            c.nominal_hashrate = Some(1e5);
            c.requires_standard_jobs = *own_jobs;
            c.report_every = None;
            sv2_roles::miner::start(c)
        })
        .collect()
}

fn stats(proxy: &ProxyHandle) -> &JdcStats {
    proxy.jd_stats().expect("JD runs")
}

async fn farm_chooses_the_transactions(full: bool, devices: &[(&str, ChannelMode, bool)]) {
    let dir = temp_dir(&format!("jd-{full}-{}", devices[1].0));
    let (a, b) = two_nodes(&dir).await;
    let pool = jds_pool(&dir.join("pool"), &a, ANY, ANY, |_| {}).await;
    // A transaction only the farm's node has.
    let farm_tx = b.add_transactions(1).await.unwrap()[0];
    let proxy = start_proxy(&dir.join("proxy"), &pool, pool.jds_addr().unwrap(), &b, full).await;
    let mut blocks = proxy.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(proxy.jd_blocks().unwrap(), &a, &b);
    let miners = start_devices(&proxy, devices);

    // The first block carrying the transaction only the farm's node had (the first templates
    // may predate it), paying the pool.
    let carries = |f: &FoundBlock| {
        let b: bitcoin::Block = deserialize(&f.block).unwrap();
        b.txdata.iter().any(|t| t.compute_txid().to_byte_array() == farm_tx)
    };
    let block = next_block(&mut blocks, &verdicts, |f| !f.solo && carries(f)).await;
    assert!(block.check_merkle_root() && block.check_witness_commitment());
    // Its coinbase pays the pool.
    assert!(block.txdata[0].output.iter().any(|o| o.script_pubkey.as_bytes() == PAYOUT));
    let s = stats(&proxy);
    until("the pool accepts a custom job", || count(&s.custom_jobs_accepted) > 0).await;
    until("the pool accepts shares on custom jobs", || {
        proxy.upstream_metrics().shares_accepted.load(Ordering::Relaxed) > 0
    })
    .await;
    assert!(s.custom_job_round_trip.count() > 0);
    if full {
        assert!(count(&s.declarations_accepted) > 0 && s.declare_round_trip.count() > 0);
        // The JDS had never seen the farm's transaction: it asked for it.
        assert!(count(&s.missing_transactions_sent) > 0, "ProvideMissingTransactions answered");
        assert!(count(&s.solutions_pushed) > 0, "PushSolution sent");
        assert!(pool.jds_stats().unwrap().missing_requests.load(Ordering::Relaxed) > 0);
    } else {
        assert_eq!(count(&s.missing_transactions_sent), 0, "Coinbase-only declares no transactions");
    }
    until("every device has shares accepted", || miners.iter().all(|m| m.stats().accepted > 0)).await;
    assert_eq!(count(&s.fallbacks), 0, "no fallback: {s:?}");
    assert_eq!(s.mode(), Mode::Declared(0));
    let page = http_get(proxy.metrics_addr().unwrap(), "/metrics").await;
    assert!(page.contains("sv2_proxy_jd_mode 2\n") && page.contains("sv2_proxy_jd_pool 0\n"), "{page}");
    assert!(page.contains("sv2_proxy_jd_custom_jobs_accepted_total "), "{page}");

    for mut m in miners {
        m.stop().await;
    }
    drop(relay);
    proxy.shutdown().await;
    pool.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_4_full_template_blocks_carry_the_farms_transactions() {
    farm_chooses_the_transactions(true, &DEPLOYMENT_4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_4_coinbase_only_blocks_carry_the_farms_transactions() {
    farm_chooses_the_transactions(false, &DEPLOYMENT_4).await;
}

/// Deployment 2 is served as aggregation (docs/PROXY.md): deployment 1's devices, on
/// standard channels, under one upstream extended channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_2_full_template_blocks_carry_the_farms_transactions() {
    farm_chooses_the_transactions(true, &DEPLOYMENT_2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_jds_means_solo_mining_then_back_to_the_pool() {
    let dir = temp_dir("jd-fallback");
    let (a, b) = two_nodes(&dir).await;
    let pool = jds_pool(&dir.join("pool"), &a, ANY, ANY, |_| {}).await;
    let door_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let door = Door::open(door_addr, pool.jds_addr().unwrap()).await;
    let proxy = start_proxy(&dir.join("proxy"), &pool, door_addr, &b, true).await;
    let mut blocks = proxy.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(proxy.jd_blocks().unwrap(), &a, &b);
    let miners = start_miners(&proxy);
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    let s = stats(&proxy);

    // Solo while the JDS is away, declared jobs again once it is back, on the same connections.
    let door = jds_away_then_back(door, &mut blocks, &verdicts, s).await;
    for m in &miners {
        assert_eq!(m.stats().connections, 1, "devices kept their connections");
    }

    for mut m in miners {
        m.stop().await;
    }
    drop(relay);
    door.close().await;
    proxy.shutdown().await;
    pool.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_jds_moves_the_farm_to_the_next_pool_and_back() {
    let dir = temp_dir("jd-next-pool");
    let (a, b) = two_nodes(&dir).await;
    let first = jds_pool(&dir.join("pool1"), &a, ANY, ANY, |_| {}).await;
    let second = jds_pool(&dir.join("pool2"), &a, ANY, ANY, |_| {}).await;
    let door_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let door = Door::open(door_addr, first.jds_addr().unwrap()).await;
    let pools = [&first, &second].map(|p| PoolEndpoint::new(p.addr().to_string(), p.authority()));
    let mut upstream = UpstreamConfig::new(pools.to_vec());
    upstream.connect_timeout = Duration::from_secs(2);
    upstream.probe_interval = Duration::from_millis(200);
    upstream.probe_max = Duration::from_secs(2);
    let mut c = ProxyConfig::new(dir.join("proxy"), ANY, upstream);
    c.nominal_hashrate = 2e5;
    c.server.min_difficulty = 1e-12;
    c.server.shares_per_minute = 120.0;
    let jds = vec![
        Some(PoolEndpoint::new(door_addr.to_string(), first.authority())),
        Some(PoolEndpoint::new(second.jds_addr().unwrap().to_string(), second.authority())),
    ];
    let mut jd = JdConfig::new(jds, b.addr().to_string());
    jd.tp_authority = Some(b.authority());
    jd.solo_payout = Some(SOLO.to_vec());
    jd.retry_min = Duration::from_millis(200);
    jd.retry_max = Duration::from_secs(1);
    c.jd = Some(jd);
    let proxy = sv2_roles::proxy::start(c).await.expect("proxy starts");
    let mut blocks = proxy.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(proxy.jd_blocks().unwrap(), &a, &b);
    let miners = start_miners(&proxy);
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    let s = stats(&proxy);
    assert_eq!(s.mode(), Mode::Declared(0));

    // The first pool's JDS goes away while its Mining port stays: the farm declares to the
    // second pool instead, and mines for it.
    let (addr, to) = door.close().await;
    until("declaring to the second pool", || s.mode() == Mode::Declared(1)).await;
    // A block right after the move may still be on a job declared to the first pool.
    until("the second pool's JDS to take declarations", || {
        second.jds_stats().unwrap().jobs_declared.load(Ordering::Relaxed) > 0
    })
    .await;
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    assert_eq!(proxy.upstream_metrics().active(), Some(1));

    // Back: the upstream probes the preferred pool and the JDC finds its JDS again.
    let door = Door::open(addr, to).await;
    until("declaring to the first pool again", || s.mode() == Mode::Declared(0)).await;
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    for m in &miners {
        assert_eq!(m.stats().connections, 1, "devices kept their connections");
    }

    for mut m in miners {
        m.stop().await;
    }
    drop(relay);
    door.close().await;
    proxy.shutdown().await;
    first.shutdown().await;
    second.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn job_declaration_needs_the_aggregation_layout_and_a_jds_entry_per_pool() {
    let key = sv2::noise::AuthorityKeypair::generate().unwrap().public_key();
    let pool = PoolEndpoint::new("127.0.0.1:1", key);
    let mut c = ProxyConfig::new(temp_dir("jd-config"), ANY, UpstreamConfig::new(vec![pool.clone()]));
    c.jd = Some(JdConfig::new(vec![Some(pool.clone())], "127.0.0.1:2"));
    c.layout = sv2_roles::proxy::Layout::PassThrough;
    let e = sv2_roles::proxy::start(c.clone()).await.err().expect("refused");
    assert!(e.contains("aggregation"), "{e}");
    c.layout = sv2_roles::proxy::Layout::Aggregate;
    c.jd = Some(JdConfig::new(vec![Some(pool.clone()), None], "127.0.0.1:2"));
    let e = sv2_roles::proxy::start(c).await.err().expect("refused");
    assert!(e.contains("one JDS entry per upstream pool"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sv2_proxy_process_declares_the_farms_templates() {
    use std::io::BufRead as _;
    let dir = temp_dir("jd-process");
    let (a, b) = two_nodes(&dir).await;
    let pool = jds_pool(&dir.join("pool"), &a, ANY, ANY, |_| {}).await;
    let proxy_dir = dir.join("proxy");
    let port = free_port();
    let args = |extra: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sv2"));
        c.arg("proxy")
            .args(["--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", ""])
            .args(["--data-dir", proxy_dir.to_str().unwrap()])
            .args(["--pool", &format!("{}={}", pool.addr(), pool.authority())])
            .args(["--jd", &format!("{}={}", pool.jds_addr().unwrap(), pool.authority())])
            .args(["--jd-tp", &format!("{}={}", b.addr(), b.authority())])
            .args(["--solo-payout", &hex::encode(SOLO)])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    };
    // Pass-through cannot carry Job Declaration.
    let refused = args(&["--pass-through"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("aggregation"), "{refused:?}");

    let mut child = ChildPool(args(&["--jd-mode", "coinbase-only"]).spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
        let proxy = lines.find(|l| l.starts_with("proxy "));
        let jdc = lines.find(|l| l.starts_with("jdc "));
        (proxy, jdc)
    });
    let (proxy_line, jdc_line) = tokio::time::timeout(PATIENCE, lines).await.unwrap().unwrap();
    assert!(proxy_line.unwrap().starts_with(&format!("proxy 127.0.0.1:{port} ")));
    let jdc_line = jdc_line.expect("a jdc line");
    assert!(jdc_line.starts_with(&format!("jdc {} ", b.addr())) && jdc_line.contains("coinbase-only"), "{jdc_line}");

    // A device through the process: the farm's node takes blocks on the farm's templates and
    // the pool credits shares on custom jobs.
    let mut reports = b.solutions();
    let authority = sv2_roles::net::load_authority_key(&proxy_dir.join("authority.pub")).unwrap();
    let mut c = MinerConfig::new(format!("127.0.0.1:{port}"), authority, "dave.rig", ChannelMode::Extended);
    c.threads = 1;
    c.report_every = None;
    let mut miner = sv2_roles::miner::start(c);
    // Generous: the proxy is a debug-build process of its own beside the test's other work.
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    loop {
        let r = tokio::time::timeout_at(deadline, reports.recv()).await.expect("a block").unwrap();
        if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
            break;
        }
    }
    until("shares on custom jobs credited", || pool.metrics().shares_accepted.load(Ordering::Relaxed) > 0).await;
    assert!(pool.jds_stats().unwrap().tokens_allocated.load(Ordering::Relaxed) > 0);
    miner.stop().await;
    child.kill();
    pool.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jds_refusing_declarations_moves_the_farm_to_the_next_pool() {
    let dir = temp_dir("jd-refusing");
    let (a, b) = two_nodes(&dir).await;
    // The first pool's JDS cannot reach its node: it refuses every declaration
    // (`node-unavailable`), while its Mining port works.
    let unreachable = JdNode::Rpc {
        url: format!("127.0.0.1:{}", free_port()),
        auth: sv2_roles::tp::RpcAuth::Cookie(dir.join("no-cookie")),
    };
    let first =
        start_pool(&dir.join("pool1"), &a, |c: &mut PoolConfig| c.jds = Some(JdServerConfig::new(ANY, unreachable)))
            .await;
    let second = jds_pool(&dir.join("pool2"), &a, ANY, ANY, |_| {}).await;
    let pools = [&first, &second].map(|p| PoolEndpoint::new(p.addr().to_string(), p.authority()));
    let mut upstream = UpstreamConfig::new(pools.to_vec());
    upstream.connect_timeout = Duration::from_secs(2);
    let mut c = ProxyConfig::new(dir.join("proxy"), ANY, upstream);
    c.nominal_hashrate = 2e5;
    c.server.min_difficulty = 1e-12;
    c.server.shares_per_minute = 120.0;
    let jds = [&first, &second].map(|p| Some(PoolEndpoint::new(p.jds_addr().unwrap().to_string(), p.authority())));
    let mut jd = JdConfig::new(jds.to_vec(), b.addr().to_string());
    jd.tp_authority = Some(b.authority());
    jd.solo_payout = Some(SOLO.to_vec());
    c.jd = Some(jd);
    let proxy = sv2_roles::proxy::start(c).await.expect("proxy starts");
    let mut blocks = proxy.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(proxy.jd_blocks().unwrap(), &a, &b);
    let miners = start_miners(&proxy);
    let s = stats(&proxy);
    until("declaring to the second pool", || s.mode() == Mode::Declared(1)).await;
    assert!(count(&s.declarations_refused) > 0 && count(&s.fallbacks) > 0);
    assert!(first.jds_stats().unwrap().jobs_refused.load(Ordering::Relaxed) > 0);
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    until("the second pool credits shares", || second.metrics().shares_accepted.load(Ordering::Relaxed) > 0).await;

    for mut m in miners {
        m.stop().await;
    }
    drop(relay);
    proxy.shutdown().await;
    first.shutdown().await;
    second.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_refusing_shares_on_custom_jobs_moves_the_farm_to_the_next_pool() {
    let dir = temp_dir("jd-shares-refused");
    let (a, b) = two_nodes(&dir).await;
    // The faulty pool's declarations go to a working JDS; its Mining port refuses every share.
    let declarations = jds_pool(&dir.join("pool1"), &a, ANY, ANY, |_| {}).await;
    let (faulty, refused, faulty_task) = pool_refusing_every_share(&dir.join("faulty")).await;
    let second = jds_pool(&dir.join("pool2"), &a, ANY, ANY, |_| {}).await;
    let mut upstream =
        UpstreamConfig::new(vec![faulty, PoolEndpoint::new(second.addr().to_string(), second.authority())]);
    upstream.connect_timeout = Duration::from_secs(2);
    // The faulty pool still takes connections: probed again later than this test lasts.
    upstream.probe_interval = Duration::from_secs(60);
    let mut c = ProxyConfig::new(dir.join("proxy"), ANY, upstream);
    c.nominal_hashrate = 2e5;
    c.server.min_difficulty = 1e-12;
    c.server.shares_per_minute = 120.0;
    let jds =
        [&declarations, &second].map(|p| Some(PoolEndpoint::new(p.jds_addr().unwrap().to_string(), p.authority())));
    let mut jd = JdConfig::new(jds.to_vec(), b.addr().to_string());
    jd.tp_authority = Some(b.authority());
    jd.solo_payout = Some(SOLO.to_vec());
    let max_rejected = jd.max_rejected_shares;
    c.jd = Some(jd);
    let proxy = sv2_roles::proxy::start(c).await.expect("proxy starts");
    let mut blocks = proxy.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(proxy.jd_blocks().unwrap(), &a, &b);
    let miners = start_miners(&proxy);
    let s = stats(&proxy);
    leaves_the_pool_refusing_shares(s, &refused, max_rejected, &mut blocks, &verdicts, &second).await;
    assert!(count(&s.fallbacks) > 0);
    for m in &miners {
        assert_eq!(m.stats().connections, 1, "devices kept their connections");
    }

    for mut m in miners {
        m.stop().await;
    }
    drop(relay);
    faulty_task.abort();
    proxy.shutdown().await;
    declarations.shutdown().await;
    second.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pool_at_start_means_solo_until_the_pool_is_up() {
    let dir = temp_dir("jd-no-pool");
    let (a, b) = two_nodes(&dir).await;
    // The pool's keys exist before the pool runs, as an operator's would.
    let pool_dir = dir.join("pool");
    let authority = sv2_roles::net::ServerIdentity::load_or_create(&pool_dir).unwrap().authority;
    let (port, jd_port) = (free_port(), free_port());
    let (listen, jd_listen) = (SocketAddr::from(([127, 0, 0, 1], port)), SocketAddr::from(([127, 0, 0, 1], jd_port)));
    let mut upstream = UpstreamConfig::new(vec![PoolEndpoint::new(listen.to_string(), authority)]);
    upstream.connect_timeout = Duration::from_secs(2);
    let mut c = ProxyConfig::new(dir.join("proxy"), SocketAddr::from(([127, 0, 0, 1], 0)), upstream);
    c.nominal_hashrate = 2e5;
    c.server.min_difficulty = 1e-12;
    c.server.shares_per_minute = 120.0;
    c.setup_timeout = Duration::from_secs(2);
    let mut jd = JdConfig::new(vec![Some(PoolEndpoint::new(jd_listen.to_string(), authority))], b.addr().to_string());
    jd.tp_authority = Some(b.authority());
    jd.solo_payout = Some(SOLO.to_vec());
    jd.retry_min = Duration::from_millis(200);
    jd.retry_max = Duration::from_secs(1);
    c.jd = Some(jd);
    let proxy = sv2_roles::proxy::start(c).await.expect("proxy starts");
    let mut blocks = proxy.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(proxy.jd_blocks().unwrap(), &a, &b);
    let miners = start_miners(&proxy);
    // No pool: the farm's templates, solo.
    let solo = next_block(&mut blocks, &verdicts, |f| f.solo).await;
    assert!(solo.txdata[0].output.iter().any(|o| o.script_pubkey.as_bytes() == SOLO));
    assert_eq!(stats(&proxy).mode(), Mode::Solo);

    // The pool comes up: the farm declares to it and mines for it.
    let pool = jds_pool(&pool_dir, &a, listen, jd_listen, |_| {}).await;
    until("declaring to the pool", || stats(&proxy).mode() == Mode::Declared(0)).await;
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    until("the pool credits shares", || pool.metrics().shares_accepted.load(Ordering::Relaxed) > 0).await;

    for mut m in miners {
        m.stop().await;
    }
    drop(relay);
    proxy.shutdown().await;
    pool.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_tip_race_is_not_a_fallback() {
    let dir = temp_dir("jd-race");
    let (a, b) = two_nodes(&dir).await;
    let pool = jds_pool(&dir.join("pool"), &a, ANY, ANY, |_| {}).await;
    let proxy = start_proxy(&dir.join("proxy"), &pool, pool.jds_addr().unwrap(), &b, true).await;
    let mut blocks = proxy.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(proxy.jd_blocks().unwrap(), &a, &b);
    let miners = start_miners(&proxy);
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    let s = stats(&proxy);
    until("a custom job accepted", || count(&s.custom_jobs_accepted) > 0).await;

    // The pool's node takes a block of its own that the farm's node never hears of: the two
    // tips differ until the farm's chain is longer and the pool's node follows it.
    let refused = count(&s.declarations_refused);
    let raced = a.mine_block().await.unwrap();
    until("a declaration refused for the tip", || count(&s.declarations_refused) > refused).await;
    until("the pool's node back on the farm's chain", || a.tip().hash == b.tip().hash && a.tip().height > raced.height)
        .await;
    let accepted = count(&s.custom_jobs_accepted);
    until("custom jobs accepted again", || count(&s.custom_jobs_accepted) > accepted).await;
    assert_eq!(count(&s.fallbacks), 0, "a tip race is not a fallback");
    assert_eq!(s.mode(), Mode::Declared(0));

    for mut m in miners {
        m.stop().await;
    }
    drop(relay);
    proxy.shutdown().await;
    pool.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
