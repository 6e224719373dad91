//! Deployment 5 end to end, in one process: the template provider on its embedded regtest
//! node, the pool, `sv2 translator`, and SV1 CPU miners (`sv2 miner --sv1`), one like Bitaxe
//! (version rolling, extranonce.subscribe) and one like cgminer (neither). Blocks found by
//! the SV1 devices are accepted by libbitcoinkernel; the pool's per-worker share records are
//! exactly the shares the translator forwarded and the pool accepted, each one a share a
//! device sent and was told was good; the translator accounts for every device share.

mod pool_common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pool_common::*;
use sv2::sv1::session::VardiffConfig;
use sv2_roles::miner::sv1::Sv1MinerConfig;
use sv2_roles::miner::{MinerHandle, SentShare};
use sv2_roles::tp::{BlockVerdict, SolutionOutcome};
use sv2_roles::translator::{TranslatorConfig, TranslatorHandle};
use sv2_roles::upstream::PoolEndpoint;

/// (worker, nonce, ntime, version, extranonce below the pool's prefix). Job ids are left out:
/// the upstream numbers jobs per channel across pools, so the translator's differ from the
/// pool's.
type Key = (String, u32, u32, u32, Vec<u8>);

fn endpoint(pool: &sv2_roles::pool::PoolHandle) -> PoolEndpoint {
    PoolEndpoint::new(pool.addr().to_string(), pool.authority())
}

/// A translator in front of `pools` (in that order), for CPU miners.
async fn start_translator(pools: Vec<PoolEndpoint>, aggregate: bool) -> TranslatorHandle {
    let mut c = TranslatorConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), pools);
    c.aggregate = aggregate;
    c.record_shares = true;
    c.device_hashrate = 1e5;
    // CPU miners: difficulties far below 1, and many shares a minute.
    c.session.min_difficulty = 1e-9;
    c.session.initial_difficulty = 1e-5;
    c.session.vardiff = Some(VardiffConfig { shares_per_minute: 60.0, window_secs: 20 });
    // The miners pipeline their authorize: each channel opens under its worker name.
    c.authorize_grace = PATIENCE;
    c.upstream.connect_timeout = Duration::from_secs(2);
    sv2_roles::translator::start(c).await.expect("translator starts")
}

/// An SV1 CPU miner: like Bitaxe (version rolling, extranonce.subscribe) or like cgminer
/// without `#xnsub` (neither).
fn start_miner(t: &TranslatorHandle, user: &str, bitaxe: bool) -> MinerHandle {
    let mut m = Sv1MinerConfig::new(t.addr().to_string(), user);
    m.threads = 1;
    m.record_shares = true;
    m.report_every = None;
    m.configure = bitaxe;
    m.extranonce_subscribe = bitaxe;
    sv2_roles::miner::sv1::start(m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sv1_devices_find_blocks_through_translator_and_pool() {
    let tp_dir = temp_dir("t5-tp");
    let pool_dir = temp_dir("t5-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let start_height = tp.tip().height;
    let mut reports = tp.solutions();
    let pool = start_pool(&pool_dir, &tp, |c| c.shares_per_minute = 240.0).await;

    let translator = start_translator(vec![endpoint(&pool)], false).await;
    let users = ["alice.bitaxe", "bob.cgminer"];
    let mut miners: Vec<_> = users.iter().enumerate().map(|(i, u)| start_miner(&translator, u, i == 0)).collect();
    let mut blocks = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    while blocks.len() < 10 || miners.iter().any(|m| m.stats().accepted == 0) {
        let r = tokio::time::timeout_at(deadline, reports.recv()).await.expect("blocks keep coming").unwrap();
        if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
            blocks.push(r.block_hash.unwrap());
        }
    }
    assert!(tp.tip().height >= start_height + 10);
    for m in &mut miners {
        m.stop().await;
    }
    let sent: Vec<Vec<SentShare>> = miners.iter().map(|m| m.sent_shares()).collect();
    // A device that leaves closes its channel at the pool.
    until("the devices' channels to close at the pool", || pool.metrics().channels_open.load(Ordering::Relaxed) == 0)
        .await;
    until("the pool to answer every forwarded share", || {
        translator.forwarded_shares().iter().all(|f| f.answer.is_some())
    })
    .await;
    let forwarded = translator.forwarded_shares();
    let accepted_up: BTreeSet<Key> = forwarded
        .iter()
        .filter(|f| f.answer == Some(Ok(())))
        .map(|f| (f.worker.clone(), f.nonce, f.ntime, f.version, f.extranonce.clone()))
        .collect();
    assert!(!accepted_up.is_empty());

    // The pool's records are exactly the forwarded shares it accepted, per worker.
    let mut records = pool.records().unwrap();
    for _ in 0..250 {
        if records.shares.len() >= accepted_up.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        records = pool.records().unwrap();
    }
    let rows: BTreeSet<Key> = records
        .shares
        .iter()
        .map(|r| (r.identity.clone(), r.nonce, r.ntime, r.version, r.extranonce.clone()))
        .collect();
    assert_eq!(rows.len(), records.shares.len(), "no share recorded twice");
    assert_eq!(rows, accepted_up, "the pool recorded exactly the forwarded shares it accepted");
    for w in &records.workers {
        let id = format!("{}.{}", w.user, w.worker);
        assert!(users.contains(&id.as_str()), "a worker of the devices: {id}");
        assert_eq!(w.accepted as usize, accepted_up.iter().filter(|k| k.0 == id).count());
    }
    assert_eq!(records.workers.len(), 2, "one channel, one worker, per device");

    // Every forwarded share is one a device sent, and the device was not told it was bad.
    for f in &forwarded {
        let i = users.iter().position(|u| *u == f.worker).expect("a device's worker");
        let from_device = sent[i].iter().find(|s| {
            (s.nonce, s.ntime, s.version) == (f.nonce, f.ntime, f.version) && f.extranonce.ends_with(&s.extranonce)
        });
        let s = from_device.unwrap_or_else(|| panic!("forwarded share {f:?} was sent by {}", f.worker));
        assert!(!matches!(s.answer, Some(Err(_))), "a forwarded share was accepted for the device: {s:?}");
    }

    // The translator's accounting: every accepted device share either forwarded or counted
    // below the pool's target; the pool's rejections counted against the devices.
    let t = translator.metrics().totals();
    let heard_ok: u64 = miners.iter().map(|m| m.stats().accepted).sum();
    let submitted: u64 = miners.iter().map(|m| m.stats().submitted).sum();
    assert!(heard_ok <= t.shares_accepted && t.shares_accepted + t.rejected_total() <= submitted, "{t:?}");
    assert_eq!(t.shares_accepted, t.shares_forwarded + t.shares_below_upstream);
    assert_eq!(t.shares_forwarded as usize, forwarded.len());
    assert_eq!(t.upstream_accepted as usize, accepted_up.len());
    let pool_rejected: u64 = records.rejections.iter().map(|r| r.count).sum();
    assert_eq!(t.upstream_rejected_total(), pool_rejected, "{:?} vs {:?}", t.upstream_rejected, records.rejections);
    assert!(t.blocks >= 10);

    // Blocks: found by the devices' workers and accepted by the node.
    let found: Vec<_> = records.blocks.iter().filter(|b| b.accepted && blocks.contains(&b.hash)).collect();
    assert!(found.len() >= 10, "{} of the node's new tips recorded", found.len());
    assert!(found.iter().all(|b| users.contains(&b.identity.as_str())));

    translator.shutdown().await;
    pool.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, pool_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// All devices on one upstream channel: the pool sees the translator's user alone, and its
/// records are still exactly the forwarded shares it accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_devices_share_one_channel() {
    let tp_dir = temp_dir("t5a-tp");
    let pool_dir = temp_dir("t5a-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let mut reports = tp.solutions();
    let pool = start_pool(&pool_dir, &tp, |c| c.shares_per_minute = 240.0).await;
    let translator = start_translator(vec![endpoint(&pool)], true).await;
    let mut miners: Vec<_> =
        ["alice.bitaxe", "bob.cgminer"].iter().enumerate().map(|(i, u)| start_miner(&translator, u, i == 0)).collect();
    let mut blocks = 0;
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    while blocks < 6 || miners.iter().any(|m| m.stats().accepted == 0) {
        let r = tokio::time::timeout_at(deadline, reports.recv()).await.expect("blocks keep coming").unwrap();
        blocks += usize::from(r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip));
    }
    // The devices' extranonce1s differ in the counter under the one channel's prefix.
    let en1: BTreeSet<String> = translator.metrics().devices().iter().map(|d| d.extranonce1.clone()).collect();
    assert_eq!(en1.len(), 2, "{en1:?}");
    assert_eq!(en1.iter().map(|e| &e[..8]).collect::<BTreeSet<_>>().len(), 1, "one pool prefix: {en1:?}");
    for m in &mut miners {
        m.stop().await;
    }
    until("the pool to answer every forwarded share", || {
        translator.forwarded_shares().iter().all(|f| f.answer.is_some())
    })
    .await;
    let accepted_up: BTreeSet<(u32, u32, u32, Vec<u8>)> = translator
        .forwarded_shares()
        .iter()
        .filter(|f| f.answer == Some(Ok(())))
        .map(|f| (f.nonce, f.ntime, f.version, f.extranonce.clone()))
        .collect();
    let mut records = pool.records().unwrap();
    for _ in 0..250 {
        if records.shares.len() >= accepted_up.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        records = pool.records().unwrap();
    }
    let rows: BTreeSet<(u32, u32, u32, Vec<u8>)> =
        records.shares.iter().map(|r| (r.nonce, r.ntime, r.version, r.extranonce.clone())).collect();
    assert_eq!(rows, accepted_up);
    assert!(records.shares.iter().all(|r| r.identity == "libsv2.translator"));
    let t = translator.metrics().totals();
    assert_eq!(t.shares_accepted, t.shares_forwarded + t.shares_below_upstream);
    translator.shutdown().await;
    pool.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, pool_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// The preferred pool, a process, is killed with SIGKILL: the translator moves to the next
/// one and the devices keep mining. The Bitaxe-like device keeps its SV1 connection and gets
/// `mining.set_extranonce`; the cgminer-like one, which did not subscribe to that, is told
/// `client.reconnect` and comes back. Both then have shares recorded by the second pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_keeps_devices_mining() {
    let tp_dir = temp_dir("t5f-tp");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let (a_dir, b_dir) = (temp_dir("t5f-pool-a"), temp_dir("t5f-pool-b"));
    let a_port = free_port();
    let (mut pool_a, a_key) = pool_process(&a_dir, &tp, a_port).await;
    let pool_b = start_pool(&b_dir, &tp, |c| c.shares_per_minute = 240.0).await;
    let translator =
        start_translator(vec![PoolEndpoint::new(format!("127.0.0.1:{a_port}"), a_key), endpoint(&pool_b)], false).await;
    let users = ["alice.bitaxe", "bob.cgminer"];
    let mut miners: Vec<_> = users.iter().enumerate().map(|(i, u)| start_miner(&translator, u, i == 0)).collect();
    until("both devices to have shares accepted on the first pool", || miners.iter().all(|m| m.stats().accepted > 0))
        .await;
    assert_eq!(translator.upstream_metrics().active(), Some(0));

    pool_a.kill();
    until("the translator to move to the second pool", || translator.upstream_metrics().active() == Some(1)).await;
    let workers_on_b =
        || -> BTreeSet<String> { pool_b.records().unwrap().shares.iter().map(|r| r.identity.clone()).collect() };
    let both: BTreeSet<String> = users.iter().map(|u| u.to_string()).collect();
    until("both devices to have shares recorded by the second pool", || workers_on_b() == both).await;
    let m = translator.metrics();
    assert!(m.extranonce_changes.load(Ordering::Relaxed) >= 1, "the Bitaxe got mining.set_extranonce");
    assert!(m.reconnects_sent.load(Ordering::Relaxed) >= 1, "the cgminer got client.reconnect");
    assert_eq!(miners[0].stats().connections, 1, "the Bitaxe kept its connection");
    assert!(miners[1].stats().connections >= 2, "the cgminer reconnected");
    for mi in &mut miners {
        mi.stop().await;
    }
    until("the pool to answer every forwarded share", || {
        translator.forwarded_shares().iter().all(|f| f.answer.is_some())
    })
    .await;
    // Shares lost with the first pool or sent before a channel was open on the second are
    // answered too, and counted against their devices.
    let t = translator.metrics().totals();
    assert_eq!(t.upstream_accepted + t.upstream_rejected_total(), translator.forwarded_shares().len() as u64);
    translator.shutdown().await;
    pool_b.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, a_dir, b_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}
