//! The farm-side roles with the reference implementation's role binaries, on loopback: our
//! proxy (both layouts) and our translator mining through the reference pool (`pool_sv2`, fed
//! by our template provider) until libbitcoinkernel accepts a block, and the reference
//! translator (`translator_sv2`) mining through our proxy in front of our pool.
//!
//! Each test skips, saying so, when its binary is absent; `scripts/interop-roles.sh` installs
//! the tried versions and runs these tests.

mod interop_common;
mod pool_common;

use std::net::SocketAddr;
use std::time::Duration;

use interop_common::*;
use pool_common::*;
use sv2::noise::AuthorityPublicKey;
use sv2::sv1::session::VardiffConfig;
use sv2_roles::miner::sv1::Sv1MinerConfig;
use sv2_roles::miner::{self, ChannelMode, MinerConfig, MinerHandle};
use sv2_roles::proxy::{Layout, ProxyConfig, ProxyHandle};
use sv2_roles::tp::{BlockVerdict, SolutionOutcome, TpHandle};
use sv2_roles::translator::TranslatorConfig;
use sv2_roles::upstream::{PoolEndpoint, UpstreamConfig};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Waits for a block the node takes as its new tip, and for `miner` to hear a share accepted.
async fn block_through(tp: &TpHandle, miner: &MinerHandle, log: &std::path::Path) {
    let mut reports = tp.solutions();
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    loop {
        let r = tokio::time::timeout_at(deadline, reports.recv())
            .await
            .unwrap_or_else(|_| panic!("no block; see {}", log.display()))
            .unwrap();
        if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
            break;
        }
    }
    until("an accepted share at the miner", || miner.stats().accepted > 0).await;
}

async fn proxy_to(dir: &std::path::Path, port: u16, authority: AuthorityPublicKey, layout: Layout) -> ProxyHandle {
    let upstream = UpstreamConfig::new(vec![PoolEndpoint::new(format!("127.0.0.1:{port}"), authority)]);
    let mut c = ProxyConfig::new(dir.join("proxy"), loopback(), upstream);
    c.layout = layout;
    c.server.min_difficulty = 1e-12;
    c.server.shares_per_minute = 60.0;
    sv2_roles::proxy::start(c).await.expect("proxy starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_proxy_and_translator_on_the_reference_pool() {
    let Some(bin) = ref_binary("pool_sv2") else { return };
    let dir = temp_dir("interop-farm-ref-pool");
    std::fs::create_dir_all(&dir).unwrap();
    let tp = start_tp(&dir.join("tp"), loopback()).await;
    let port = free_port();
    let _pool = spawn(&bin, &dir, &ref_pool_config(port, &tp.addr().to_string(), &tp.authority()), "pool_sv2.log");
    let log = dir.join("pool_sv2.log");
    let authority = AuthorityPublicKey::from_base58check(REF_AUTHORITY_PUBLIC).unwrap();

    for (layout, mode) in [(Layout::Aggregate, ChannelMode::Extended), (Layout::PassThrough, ChannelMode::Standard)] {
        let proxy = proxy_to(&dir, port, authority, layout).await;
        let mut c = MinerConfig::new(proxy.addr().to_string(), proxy.authority(), "libsv2.interop", mode);
        c.threads = 1;
        c.nominal_hashrate = Some(1e5);
        c.report_every = None;
        let m = miner::start(c);
        block_through(&tp, &m, &log).await;
        m.shutdown().await;
        proxy.shutdown().await;
    }

    let pools = vec![PoolEndpoint::new(format!("127.0.0.1:{port}"), authority)];
    let mut c = TranslatorConfig::new(loopback(), pools);
    c.session.min_difficulty = 1e-9;
    c.session.initial_difficulty = 1e-5;
    c.session.vardiff = Some(VardiffConfig { shares_per_minute: 60.0, window_secs: 20 });
    c.upstream.connect_timeout = Duration::from_secs(2);
    let translator = sv2_roles::translator::start(c).await.expect("translator starts");
    let mut s = Sv1MinerConfig::new(translator.addr().to_string(), "libsv2.sv1");
    s.threads = 1;
    s.report_every = None;
    let m = miner::sv1::start(s);
    block_through(&tp, &m, &log).await;
    m.shutdown().await;
    translator.shutdown().await;
    tp.shutdown().await;
    if std::env::var_os("SV2_KEEP_LOGS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_translator_through_our_proxy() {
    let Some(bin) = ref_binary("translator_sv2") else { return };
    let dir = temp_dir("interop-ref-translator-proxy");
    std::fs::create_dir_all(&dir).unwrap();
    let tp = start_tp(&dir.join("tp"), loopback()).await;
    let mut reports = tp.solutions();
    let pool = start_pool(&dir.join("pool"), &tp, |c| c.shares_per_minute = 60.0).await;
    let proxy = proxy_to(&dir, pool.addr().port(), pool.authority(), Layout::Aggregate).await;
    let sv1_port = free_port();
    let config = ref_translator_config(sv1_port, proxy.addr().port(), &proxy.authority());
    let _translator = spawn(&bin, &dir, &config, "translator_sv2.log");
    let log = dir.join("translator_sv2.log");
    let mut miner = sv1_miner_when_listening(sv1_port, "interop.sv1", &log).await;
    let verdict = tokio::time::timeout(PATIENCE, miner.mine_one()).await.expect("the translator answers");
    assert_eq!(verdict, serde_json::json!(true), "share through translator_sv2 and our proxy; see {}", log.display());
    loop {
        let r = tokio::time::timeout(PATIENCE, reports.recv()).await.expect("a block through the proxy").unwrap();
        if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
            break;
        }
    }
    let t = proxy.metrics().totals();
    assert!(t.shares_accepted > 0 && t.shares_forwarded > 0, "{t:?}");
    proxy.shutdown().await;
    pool.shutdown().await;
    tp.shutdown().await;
    if std::env::var_os("SV2_KEEP_LOGS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
