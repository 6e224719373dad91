//! Wire-level interop with the reference implementation's published role binaries, on
//! loopback: the reference pool (`pool_sv2`) fed by our template provider with our miner
//! mining through it until libbitcoinkernel accepts a block, and our pool serving the
//! reference translator (`translator_sv2`).
//!
//! The binaries are looked for in `$SV2_REF_BINS` (default `target/ref-bins/bin` in the
//! workspace). Each test skips, saying so, when its binary is absent. `scripts/interop-roles.sh`
//! installs the tried versions there and runs these tests.

mod interop_common;
mod pool_common;

use std::net::SocketAddr;

use interop_common::*;
use pool_common::*;
use sv2::noise::AuthorityPublicKey;
use sv2_roles::miner::{self, ChannelMode, MinerConfig};
use sv2_roles::tp::{BlockVerdict, SolutionOutcome};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_pool_on_our_template_provider_with_our_miner() {
    let Some(bin) = ref_binary("pool_sv2") else { return };
    let dir = temp_dir("interop-ref-pool");
    std::fs::create_dir_all(&dir).unwrap();
    let tp = start_tp(&dir.join("tp"), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let start_height = tp.tip().height;
    let mut reports = tp.solutions();
    let port = free_port();
    let config = ref_pool_config(port, &tp.addr().to_string(), &tp.authority());
    let pool = spawn(&bin, &dir, &config, "pool_sv2.log");
    let authority = AuthorityPublicKey::from_base58check(REF_AUTHORITY_PUBLIC).unwrap();
    for mode in [ChannelMode::Extended, ChannelMode::Standard] {
        let mut c = MinerConfig::new(format!("127.0.0.1:{port}"), authority, "libsv2.interop", mode);
        c.threads = 1;
        c.report_every = None;
        let m = miner::start(c);
        // A block found through the reference pool, accepted by the node.
        let deadline = tokio::time::Instant::now() + PATIENCE * 2;
        let block = loop {
            let r = tokio::time::timeout_at(deadline, reports.recv())
                .await
                .unwrap_or_else(|_| panic!("no block through pool_sv2; see {}", dir.join("pool_sv2.log").display()))
                .unwrap();
            if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
                break r;
            }
        };
        // The block goes to the node before the pool answers the share.
        until("the reference pool's SubmitShares.Success", || m.stats().accepted > 0).await;
        assert!(block.block_hash.is_some());
        m.shutdown().await;
    }
    assert!(tp.tip().height >= start_height + 2);
    drop(pool);
    tp.shutdown().await;
    if std::env::var_os("SV2_KEEP_LOGS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pool_serves_the_reference_translator() {
    let Some(bin) = ref_binary("translator_sv2") else { return };
    let dir = temp_dir("interop-translator");
    std::fs::create_dir_all(&dir).unwrap();
    let tp = start_tp(&dir.join("tp"), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let mut reports = tp.solutions();
    let pool = start_pool(&dir.join("pool"), &tp, |c| c.shares_per_minute = 60.0).await;
    let sv1_port = free_port();
    let config = ref_translator_config(sv1_port, pool.addr().port(), &pool.authority());
    let _translator = spawn(&bin, &dir, &config, "translator_sv2.log");
    let log = dir.join("translator_sv2.log");
    let mut miner = sv1_miner_when_listening(sv1_port, "interop.sv1", &log).await;
    // Each share of a CPU miner is a block on regtest; the translator passes it to our pool,
    // which hands it to the node.
    let verdict = tokio::time::timeout(PATIENCE, miner.mine_one()).await.expect("the translator answers");
    assert_eq!(verdict, serde_json::json!(true), "share through the translator; see {}", log.display());
    let block = loop {
        let r = tokio::time::timeout(PATIENCE, reports.recv()).await.expect("a block through the translator").unwrap();
        if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
            break r.block_hash.unwrap();
        }
    };
    // The block row and the share row are written by different tasks: wait for both.
    until("the pool's records of the translator's block and share", || {
        let records = pool.records().unwrap();
        records.blocks.iter().any(|b| b.hash == block && b.identity.starts_with("interop.translator"))
            && records.shares.iter().any(|s| s.identity.starts_with("interop.translator") && s.extranonce.len() >= 4)
    })
    .await;
    pool.shutdown().await;
    tp.shutdown().await;
    if std::env::var_os("SV2_KEEP_LOGS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
