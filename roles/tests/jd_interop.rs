//! Job Declaration with the reference implementation's Job Declaration Client
//! (`jd_client_sv2`), on loopback: our template provider (embedded regtest node) gives the JDC
//! its templates, our pool with its Job Declaration Server takes the JDC's declarations and
//! custom jobs, and our miner hashes behind the JDC until libbitcoinkernel accepts a block
//! mined on a declared job. And a chain-tip race: the JDC declares on a tip our pool has not
//! heard of yet, is refused, keeps its upstream, and mines through our pool again once the
//! pool catches up.
//!
//! Skips, saying so, when the binary is absent; `scripts/interop-roles.sh` installs the tried
//! version and runs this test.

mod interop_common;
mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use interop_common::*;
use pool_common::*;
use sv2::noise::AuthorityPublicKey;
use sv2_roles::miner::{self, ChannelMode, MinerConfig, MinerHandle};
use sv2_roles::pool::jds::{JdNode, JdServerConfig};
use sv2_roles::pool::PoolHandle;
use sv2_roles::tp::{BlockVerdict, SolutionOutcome, SolutionReport, TipInfo, TpHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{broadcast, watch};

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

/// Our template provider and pool (with its JDS), the reference JDC between them and our
/// miner behind it.
struct Farm {
    dir: std::path::PathBuf,
    log: std::path::PathBuf,
    tp: TpHandle,
    pool: PoolHandle,
    miner: MinerHandle,
    _jdc: Reaped,
}

impl Farm {
    /// With `hold`, the pool reaches the template provider through a [`relay`] holding the
    /// template provider's messages back while `hold` is true.
    async fn start(bin: &std::path::Path, name: &str, hold: Option<watch::Receiver<bool>>) -> Farm {
        let dir = temp_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        let tp = start_tp(&dir.join("tp"), SocketAddr::from(([127, 0, 0, 1], 0))).await;
        // Templates with transactions, so that the declared jobs list wtxids the JDS must know.
        tp.add_transactions(3).await.unwrap();
        let node = JdNode::Embedded(tp.embedded_node().expect("embedded node"));
        let jds = JdServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), node);
        let tp_address = match hold {
            Some(hold) => relay(tp.addr(), hold).await.to_string(),
            None => tp.addr().to_string(),
        };
        let pool = start_pool(&dir.join("pool"), &tp, |c| {
            c.jds = Some(jds);
            c.shares_per_minute = 60.0;
            c.tp_address = tp_address;
        })
        .await;
        let jds_addr = pool.jds_addr().expect("the JDS runs");
        let jdc_port = free_port();
        let config = ref_jdc_config(
            jdc_port,
            &tp.addr().to_string(),
            &tp.authority(),
            pool.addr().port(),
            jds_addr.port(),
            &pool.authority(),
        );
        let jdc = spawn(&bin.to_path_buf(), &dir, &config, "jd_client_sv2.log");
        let log = dir.join("jd_client_sv2.log");
        listening(jdc_port, &log).await;
        let authority = AuthorityPublicKey::from_base58check(REF_AUTHORITY_PUBLIC).unwrap();
        let mut c = MinerConfig::new(format!("127.0.0.1:{jdc_port}"), authority, "libsv2.jd", ChannelMode::Extended);
        c.threads = 1;
        c.nominal_hashrate = Some(1e5);
        c.report_every = None;
        let miner = miner::start(c);
        Farm { dir, log, tp, pool, miner, _jdc: jdc }
    }

    /// Waits until a block above `height` the node made its tip is one our pool recorded (a
    /// share on the JDC's custom job), and returns it. Every tip seen is kept, as the pool may
    /// write its record after the node has moved on.
    async fn pool_block(&self, height: u32) -> TipInfo {
        let deadline = tokio::time::Instant::now() + PATIENCE * 2;
        let mut tips = self.tp.tips();
        let mut seen = Vec::new();
        loop {
            seen.push(*tips.borrow_and_update());
            let blocks = self.pool.records().map(|r| r.blocks).unwrap_or_default();
            if let Some(t) = seen.iter().find(|t| t.height > height && blocks.iter().any(|b| b.hash == t.hash)) {
                return *t;
            }
            assert!(tokio::time::Instant::now() < deadline, "no block through the pool; see {}", self.log.display());
            // A new tip, or a look at the pool's records again.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(20), tips.changed()).await;
        }
    }

    async fn stop(self) {
        self.miner.shutdown().await;
        self.pool.shutdown().await;
        self.tp.shutdown().await;
        if std::env::var_os("SV2_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A TCP relay to `to` whose answers from `to` wait while `hold` is true (bytes are kept, not
/// dropped), so that what is behind it learns of everything late.
async fn relay(to: SocketAddr, hold: watch::Receiver<bool>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(to).await else { return };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
            let mut hold = hold.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if hold.wait_for(|h| !*h).await.is_err() || cw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Every SubmitSolution report of `tp` from now on, kept as they come.
fn solution_reports(tp: &TpHandle) -> Arc<Mutex<Vec<SolutionReport>>> {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let (mut rx, kept) = (tp.solutions(), reports.clone());
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(r) => kept.lock().unwrap().push(r),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    reports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_jdc_mines_a_declared_job_on_our_pool() {
    let Some(bin) = ref_binary("jd_client_sv2") else { return };
    let farm = Farm::start(&bin, "interop-ref-jdc", None).await;
    let reports = solution_reports(&farm.tp);
    let stats = farm.pool.jds_stats().unwrap();
    let mut height = farm.tp.tip().height;
    // Two blocks through our pool, the second on a job declared after the tip moved. Each
    // reaches the node three ways (the JDC's SubmitSolution to our template provider, its
    // PushSolution to the JDS, the share on the custom job through our pool); whichever comes
    // first, libbitcoinkernel makes it the tip. (Blocks the JDC finds on a template before its
    // declaration is accepted, mining optimistically, go to the template provider only.)
    for k in 1..=2u64 {
        let tip = farm.pool_block(height).await;
        let submitted = || reports.lock().unwrap().iter().find(|r| r.block_hash == Some(tip.hash)).cloned();
        until("the JDC's SubmitSolution of the block", || submitted().is_some()).await;
        let outcome = submitted().unwrap().outcome;
        assert!(
            matches!(outcome, SolutionOutcome::Node(BlockVerdict::NewTip | BlockVerdict::Duplicate)),
            "{outcome:?}"
        );
        // The JDS accepted the declarations and had the blocks submitted (from the JDC's
        // PushSolution, and from the share the JDC forwarded on the custom job).
        until("declared jobs", || stats.jobs_declared.load(Ordering::Relaxed) >= k).await;
        until("the JDS's blocks", || stats.blocks_submitted.load(Ordering::Relaxed) >= k).await;
        eprintln!(
            "jd_client_sv2 block {k}: height {}, SubmitSolution {outcome:?}; JDS: {} declared, {} refused, {} blocks \
             submitted",
            tip.height,
            stats.jobs_declared.load(Ordering::Relaxed),
            stats.jobs_refused.load(Ordering::Relaxed),
            stats.blocks_submitted.load(Ordering::Relaxed),
        );
        height = tip.height;
    }
    // Refusals happen only in tip races (blocks come faster than our pool hears of them), and
    // the JDC takes them as such: it never left for another upstream.
    assert_eq!(stats.connections.load(Ordering::Relaxed), 1, "one JDS connection; see {}", farm.log.display());
    let records = farm.pool.records().unwrap();
    assert!(records.shares.iter().all(|s| s.identity == "interop.jdc"), "shares come through the JDC's channel");
    until("the JDC's acknowledgements of our miner's shares", || farm.miner.stats().accepted > 0).await;
    farm.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_jdc_rides_out_a_chain_tip_race() {
    let Some(bin) = ref_binary("jd_client_sv2") else { return };
    let (hold, held) = watch::channel(false);
    let farm = Farm::start(&bin, "interop-ref-jdc-race", Some(held)).await;
    let stats = farm.pool.jds_stats().unwrap();
    let first = farm.pool_block(0).await.height;
    // The pool's news from the template provider is held back, and another miner's block
    // moves the node's tip. The JDC hears of it at once and declares on the new tip, which our
    // JDS does not know yet: refused.
    hold.send(true).unwrap();
    let refused = stats.jobs_refused.load(Ordering::Relaxed);
    farm.tp.mine_block().await.unwrap();
    until("a declaration on the new tip refused", || stats.jobs_refused.load(Ordering::Relaxed) > refused).await;
    let raced = farm.tp.tip().height;
    hold.send(false).unwrap();
    // The refusal is a race, not a bad pool: the JDC keeps its connections, declares again
    // once our pool has the tip, and mines through our pool again.
    let next = farm.pool_block(raced).await.height;
    assert_eq!(
        stats.connections.load(Ordering::Relaxed),
        1,
        "the JDC kept its one JDS connection (no fallback); see {}",
        farm.log.display()
    );
    eprintln!(
        "jd_client_sv2 tip race: a pool block at {first}, the race at {raced}, a pool block at {next}; JDS: {} \
         declared, {} refused",
        stats.jobs_declared.load(Ordering::Relaxed),
        stats.jobs_refused.load(Ordering::Relaxed)
    );
    farm.stop().await;
}
