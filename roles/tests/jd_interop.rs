//! Job Declaration with the reference implementation's Job Declaration Client
//! (`jd_client_sv2`), on loopback: our template provider (embedded regtest node) gives the JDC
//! its templates, our pool with its Job Declaration Server takes the JDC's declarations and
//! custom jobs, and our miner hashes behind the JDC until libbitcoinkernel accepts a block
//! mined on a declared job.
//!
//! Skips, saying so, when the binary is absent; `scripts/interop-roles.sh` installs the tried
//! version and runs this test.

mod interop_common;
mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use interop_common::*;
use pool_common::*;
use sv2::noise::AuthorityPublicKey;
use sv2_roles::miner::{self, ChannelMode, MinerConfig};
use sv2_roles::pool::jds::{JdNode, JdServerConfig};
use sv2_roles::tp::{BlockVerdict, SolutionOutcome};

/// Waits until something listens on `port` (the reference binary starts in the background).
async fn listening(port: u16, log: &std::path::Path) {
    for _ in 0..1_200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("jd_client_sv2 did not listen; see {}", log.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_jdc_mines_a_declared_job_on_our_pool() {
    let Some(bin) = ref_binary("jd_client_sv2") else { return };
    let dir = temp_dir("interop-ref-jdc");
    std::fs::create_dir_all(&dir).unwrap();
    let tp = start_tp(&dir.join("tp"), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    // Templates with transactions, so that the declared jobs list wtxids the JDS must know.
    tp.add_transactions(3).await.unwrap();
    let node = JdNode::Embedded(tp.embedded_node().expect("embedded node"));
    let jds = JdServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), node);
    let pool = start_pool(&dir.join("pool"), &tp, |c| {
        c.jds = Some(jds);
        c.shares_per_minute = 60.0;
    })
    .await;
    let jds_addr = pool.jds_addr().expect("the JDS runs");
    let height = tp.tip().height;
    let mut solutions = tp.solutions();

    let jdc_port = free_port();
    let config = ref_jdc_config(
        jdc_port,
        &tp.addr().to_string(),
        &tp.authority(),
        pool.addr().port(),
        jds_addr.port(),
        &pool.authority(),
    );
    let _jdc = spawn(&bin, &dir, &config, "jd_client_sv2.log");
    let log = dir.join("jd_client_sv2.log");
    listening(jdc_port, &log).await;

    let authority = AuthorityPublicKey::from_base58check(REF_AUTHORITY_PUBLIC).unwrap();
    let mut c = MinerConfig::new(format!("127.0.0.1:{jdc_port}"), authority, "libsv2.jd", ChannelMode::Extended);
    c.threads = 1;
    c.nominal_hashrate = Some(1e5);
    c.report_every = None;
    let m = miner::start(c);

    // Two blocks: the second on a job declared after the tip moved. Each reaches the node
    // three ways (the JDC's SubmitSolution to our template provider, its PushSolution to the
    // JDS, the share on the custom job through our pool); whichever comes first,
    // libbitcoinkernel makes it the tip.
    let stats = pool.jds_stats().unwrap();
    for k in 1..=2 {
        let tip = tokio::time::timeout(PATIENCE * 2, tp.wait_for_height(height + k))
            .await
            .unwrap_or_else(|_| panic!("no block {k}; see {}", log.display()));
        assert_eq!(tip.height, height + k, "the node's tip advanced by one block");
        // The JDC sent that block to our template provider as a SubmitSolution.
        let submitted = loop {
            let r = tokio::time::timeout(PATIENCE, solutions.recv()).await.expect("the JDC's SubmitSolution").unwrap();
            if r.block_hash == Some(tip.hash) {
                break r;
            }
        };
        assert!(
            matches!(submitted.outcome, SolutionOutcome::Node(BlockVerdict::NewTip | BlockVerdict::Duplicate)),
            "{submitted:?}"
        );
        // The pool credited the share that was the block, on the JDC's custom job.
        let recorded = || pool.records().map(|r| r.blocks.iter().any(|b| b.hash == tip.hash)).unwrap_or(false);
        until("the pool's record of the node's new block", recorded).await;
        // The JDS accepted a declaration per block and had each block submitted (from the
        // JDC's PushSolution, and from the share the JDC forwarded on the custom job).
        until("declared jobs", || stats.jobs_declared.load(Ordering::Relaxed) >= k as u64).await;
        until("the JDS's blocks", || stats.blocks_submitted.load(Ordering::Relaxed) >= k as u64).await;
        eprintln!(
            "jd_client_sv2 block {k}: height {}, SubmitSolution {:?}; JDS: {} declared, {} refused, {} blocks submitted",
            tip.height,
            submitted.outcome,
            stats.jobs_declared.load(Ordering::Relaxed),
            stats.jobs_refused.load(Ordering::Relaxed),
            stats.blocks_submitted.load(Ordering::Relaxed),
        );
    }
    assert_eq!(stats.jobs_refused.load(Ordering::Relaxed), 0, "no declaration refused; see {}", log.display());
    let records = pool.records().unwrap();
    assert!(records.shares.iter().all(|s| s.identity == "interop.jdc"), "shares come through the JDC's channel");
    until("the JDC's acknowledgements of our miner's shares", || m.stats().accepted > 0).await;
    m.shutdown().await;
    pool.shutdown().await;
    tp.shutdown().await;
    if std::env::var_os("SV2_KEEP_LOGS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
