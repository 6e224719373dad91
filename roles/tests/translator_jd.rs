//! Deployment 6 end to end: `sv2 translator` with its Job Declarator Client between SV1 CPU
//! miners (`sv2 miner --sv1`, one like Bitaxe, one like cgminer) and `sv2 pool` with its Job
//! Declaration Server, in one process.
//!
//! Two embedded regtest nodes follow one chain, as in proxy_jd.rs: the pool's node (template
//! provider A) and the farm's (B) start from copies of one chain; blocks the farm finds reach
//! A through PushSolution (Full-Template), the pool's own block from the share, and a relay
//! of every block the JDC reports (standing in for the Bitcoin network). A transaction only
//! the farm's node holds shows that the SV1 devices mined the farm's templates.

mod jd_common;
mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bitcoin::consensus::deserialize;
use bitcoin::hashes::Hash as _;
use jd_common::*;
use pool_common::*;
use sv2::noise::AuthorityPublicKey;
use sv2::sv1::session::VardiffConfig;
use sv2_roles::jdc::{FoundBlock, JdConfig, JdcStats, Mode};
use sv2_roles::miner::sv1::Sv1MinerConfig;
use sv2_roles::miner::MinerHandle;
use sv2_roles::pool::PoolHandle;
use sv2_roles::tp::TpHandle;
use sv2_roles::translator::{TranslatorConfig, TranslatorHandle};
use sv2_roles::upstream::PoolEndpoint;

fn translator_config(pool: &PoolHandle, jds: SocketAddr, farm_tp: &TpHandle, full: bool) -> TranslatorConfig {
    config_for(pool.addr(), pool.authority(), jds, farm_tp, full)
}

fn config_for(
    pool: SocketAddr,
    authority: AuthorityPublicKey,
    jds: SocketAddr,
    farm_tp: &TpHandle,
    full: bool,
) -> TranslatorConfig {
    let pools = vec![PoolEndpoint::new(pool.to_string(), authority)];
    let mut c = TranslatorConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), pools);
    c.aggregate = true;
    c.user = "farm.translator".into();
    c.device_hashrate = 1e5;
    c.session.min_difficulty = 1e-9;
    c.session.initial_difficulty = 1e-5;
    c.session.vardiff = Some(VardiffConfig { shares_per_minute: 60.0, window_secs: 20 });
    c.upstream.connect_timeout = Duration::from_secs(2);
    c.upstream.probe_interval = Duration::from_millis(200);
    c.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    let mut jd = JdConfig::new(vec![Some(PoolEndpoint::new(jds.to_string(), authority))], farm_tp.addr().to_string());
    jd.tp_authority = Some(farm_tp.authority());
    jd.full_template = full;
    jd.solo_payout = Some(SOLO.to_vec());
    jd.retry_min = Duration::from_millis(200);
    jd.retry_max = Duration::from_secs(1);
    c.jd = Some(jd);
    c
}

/// An SV1 device like Bitaxe (version rolling, extranonce.subscribe) and one like cgminer.
fn start_devices(t: &TranslatorHandle) -> Vec<MinerHandle> {
    [("alice.bitaxe", true), ("bob.cgminer", false)]
        .iter()
        .map(|&(user, bitaxe)| {
            let mut m = Sv1MinerConfig::new(t.addr().to_string(), user);
            m.threads = 1;
            m.report_every = None;
            m.configure = bitaxe;
            m.extranonce_subscribe = bitaxe;
            sv2_roles::miner::sv1::start(m)
        })
        .collect()
}

fn stats(t: &TranslatorHandle) -> &JdcStats {
    t.jd_stats().expect("JD runs")
}

async fn sv1_devices_mine_the_farms_transactions(full: bool) {
    let dir = temp_dir(&format!("t6-{full}"));
    let (a, b) = two_nodes(&dir).await;
    let pool = jds_pool(&dir.join("pool"), &a, ANY, ANY, |c| c.shares_per_minute = 240.0).await;
    // A transaction only the farm's node has.
    let farm_tx = b.add_transactions(1).await.unwrap()[0];
    let t = sv2_roles::translator::start(translator_config(&pool, pool.jds_addr().unwrap(), &b, full)).await.unwrap();
    let mut blocks = t.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(t.jd_blocks().unwrap(), &a, &b);
    let devices = start_devices(&t);

    let carries = |f: &FoundBlock| {
        let b: bitcoin::Block = deserialize(&f.block).unwrap();
        b.txdata.iter().any(|t| t.compute_txid().to_byte_array() == farm_tx)
    };
    let block = next_block(&mut blocks, &verdicts, |f| !f.solo && carries(f)).await;
    assert!(block.check_merkle_root() && block.check_witness_commitment());
    assert!(block.txdata[0].output.iter().any(|o| o.script_pubkey.as_bytes() == PAYOUT), "the block pays the pool");
    let s = stats(&t);
    until("the pool accepts a custom job", || count(&s.custom_jobs_accepted) > 0).await;
    until("the pool accepts the devices' shares on custom jobs", || {
        t.upstream_metrics().shares_accepted.load(Ordering::Relaxed) > 0
    })
    .await;
    if full {
        assert!(count(&s.declarations_accepted) > 0);
        assert!(count(&s.missing_transactions_sent) > 0, "ProvideMissingTransactions answered");
        assert!(count(&s.solutions_pushed) > 0, "PushSolution sent");
    } else {
        assert_eq!(count(&s.missing_transactions_sent), 0, "Coinbase-only declares no transactions");
    }
    until("every SV1 device has shares accepted", || devices.iter().all(|m| m.stats().accepted > 0)).await;
    until("the pool credits every device's worker", || {
        let totals = t.metrics().totals();
        totals.upstream_accepted > 0 && t.metrics().json().contains("alice.bitaxe")
    })
    .await;
    assert_eq!(count(&s.fallbacks), 0, "no fallback: {s:?}");
    assert_eq!(s.mode(), Mode::Declared(0));
    let page = http_get(t.metrics_addr().unwrap(), "/metrics").await;
    assert!(page.contains("sv2_translator_jd_mode 2\n") && page.contains("sv2_translator_jd_pool 0\n"), "{page}");

    for mut m in devices {
        m.stop().await;
    }
    drop(relay);
    t.shutdown().await;
    pool.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_6_full_template_sv1_devices_mine_the_farms_transactions() {
    sv1_devices_mine_the_farms_transactions(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_6_coinbase_only_sv1_devices_mine_the_farms_transactions() {
    sv1_devices_mine_the_farms_transactions(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_6_a_dead_jds_means_solo_mining_then_back_to_the_pool() {
    let dir = temp_dir("t6-fallback");
    let (a, b) = two_nodes(&dir).await;
    let pool = jds_pool(&dir.join("pool"), &a, ANY, ANY, |c| c.shares_per_minute = 240.0).await;
    let door_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let door = Door::open(door_addr, pool.jds_addr().unwrap()).await;
    let t = sv2_roles::translator::start(translator_config(&pool, door_addr, &b, true)).await.unwrap();
    let mut blocks = t.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(t.jd_blocks().unwrap(), &a, &b);
    let devices = start_devices(&t);
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    let s = stats(&t);

    // Solo while the JDS is away, declared jobs again once it is back, on the same connections.
    let door = jds_away_then_back(door, &mut blocks, &verdicts, s).await;
    for m in &devices {
        assert_eq!(m.stats().connections, 1, "devices kept their connections");
    }

    for mut m in devices {
        m.stop().await;
    }
    drop(relay);
    door.close().await;
    t.shutdown().await;
    pool.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_6_a_pool_refusing_shares_on_custom_jobs_is_given_up() {
    let dir = temp_dir("t6-shares-refused");
    let (a, b) = two_nodes(&dir).await;
    // The faulty pool's declarations go to a working JDS; its Mining port refuses every share.
    let declarations = jds_pool(&dir.join("pool1"), &a, ANY, ANY, |_| {}).await;
    let (faulty, refused, faulty_task) = pool_refusing_every_share(&dir.join("faulty")).await;
    let second = jds_pool(&dir.join("pool2"), &a, ANY, ANY, |c| c.shares_per_minute = 240.0).await;
    let mut c = translator_config(&declarations, declarations.jds_addr().unwrap(), &b, true);
    c.upstream.pools = vec![faulty, PoolEndpoint::new(second.addr().to_string(), second.authority())];
    // The faulty pool still takes connections: probed again later than this test lasts.
    c.upstream.probe_interval = Duration::from_secs(60);
    let jd = c.jd.as_mut().unwrap();
    jd.jds.push(Some(PoolEndpoint::new(second.jds_addr().unwrap().to_string(), second.authority())));
    let max_rejected = jd.max_rejected_shares;
    let t = sv2_roles::translator::start(c).await.unwrap();
    let mut blocks = t.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(t.jd_blocks().unwrap(), &a, &b);
    let devices = start_devices(&t);
    let s = stats(&t);
    leaves_the_pool_refusing_shares(s, &refused, max_rejected, &mut blocks, &verdicts, &second).await;
    // The device that takes mining.set_extranonce keeps its connection; the other one is sent
    // client.reconnect for the new pool's extranonce.
    assert_eq!(devices[0].stats().connections, 1, "the Bitaxe kept its connection");

    for mut m in devices {
        m.stop().await;
    }
    drop(relay);
    faulty_task.abort();
    t.shutdown().await;
    declarations.shutdown().await;
    second.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_6_no_pool_at_start_means_solo_until_the_pool_is_up() {
    let dir = temp_dir("t6-no-pool");
    let (a, b) = two_nodes(&dir).await;
    // The pool's keys exist before the pool runs, as an operator's would.
    let pool_dir = dir.join("pool");
    let authority = sv2_roles::net::ServerIdentity::load_or_create(&pool_dir).unwrap().authority;
    let (listen, jd_listen) =
        (SocketAddr::from(([127, 0, 0, 1], free_port())), SocketAddr::from(([127, 0, 0, 1], free_port())));
    let mut c = config_for(listen, authority, jd_listen, &b, true);
    // Devices are served solo halfway through it.
    c.setup_timeout = Duration::from_secs(2);
    let t = sv2_roles::translator::start(c).await.unwrap();
    let mut blocks = t.jd_blocks().expect("JD runs");
    let (verdicts, relay) = relay(t.jd_blocks().unwrap(), &a, &b);
    let devices = start_devices(&t);
    // No pool: the farm's templates, solo, under a local prefix.
    let solo = next_block(&mut blocks, &verdicts, |f| f.solo).await;
    assert!(solo.txdata[0].output.iter().any(|o| o.script_pubkey.as_bytes() == SOLO));
    assert_eq!(stats(&t).mode(), Mode::Solo);

    // The pool comes up: the devices move under its prefix, and the farm declares to it.
    let pool = jds_pool(&pool_dir, &a, listen, jd_listen, |c| c.shares_per_minute = 240.0).await;
    until("declaring to the pool", || stats(&t).mode() == Mode::Declared(0)).await;
    next_block(&mut blocks, &verdicts, |f| !f.solo).await;
    until("the pool credits shares", || pool.metrics().shares_accepted.load(Ordering::Relaxed) > 0).await;
    until("every SV1 device mines on", || devices.iter().all(|m| m.stats().accepted > 0)).await;

    for mut m in devices {
        m.stop().await;
    }
    drop(relay);
    t.shutdown().await;
    pool.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Job Declaration sets custom jobs on one extended channel: a translator with a channel per
/// device refuses it, as it refuses a JDS list that does not match the pools.
#[tokio::test]
async fn job_declaration_needs_the_aggregated_channel_and_a_jds_entry_per_pool() {
    let key = sv2::noise::AuthorityKeypair::generate().unwrap().public_key();
    let pools = vec![PoolEndpoint::new("127.0.0.1:1", key)];
    let mut c = TranslatorConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), pools);
    c.jd = Some(JdConfig::new(vec![None], "127.0.0.1:2"));
    let e = sv2_roles::translator::start(c.clone()).await.err().expect("refused");
    assert!(e.contains("aggregate"), "{e}");
    c.aggregate = true;
    c.jd = Some(JdConfig::new(vec![None, None], "127.0.0.1:2"));
    let e = sv2_roles::translator::start(c).await.err().expect("refused");
    assert!(e.contains("one JDS entry per upstream pool"), "{e}");
}
