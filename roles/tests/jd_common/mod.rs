//! What the Job Declaration end-to-end tests (proxy_jd.rs, translator_jd.rs) share: two
//! embedded regtest nodes on one chain (the pool's, A, and the farm's, B), a pool with its JDS,
//! the relay that hands every block the farm finds to A (standing in for the network) and keeps
//! both nodes' verdicts, a door in front of a JDS the tests can close and reopen, and a faulty
//! pool that takes custom jobs and refuses every share.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bitcoin::consensus::deserialize;
use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::codec::Bytes;
use sv2::endpoint::server::{JobState, Now, ServerConfig, ServerEndpoint};
use sv2::messages::{SetCustomMiningJobSuccess, SubmitSharesError};
use sv2::Message;
use sv2_roles::jdc::{FoundBlock, JdcStats, Mode};
use sv2_roles::net::{Connection, Limits, ServerIdentity};
use sv2_roles::pool::jds::{JdNode, JdServerConfig};
use sv2_roles::pool::{PoolConfig, PoolHandle, EXTRANONCE_LEN, EXTRANONCE_PREFIX_LEN};
use sv2_roles::tp::source::TemplateSource;
use sv2_roles::tp::{BlockVerdict, SolutionOutcome, TpHandle};
use sv2_roles::upstream::PoolEndpoint;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use crate::pool_common::{start_pool, start_tp, until, PATIENCE};

/// Any free port on loopback.
pub const ANY: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));

/// What solo blocks pay (a P2WPKH to a made-up key, not the pool's).
pub const SOLO: [u8; 22] = [
    0x00, 0x14, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33,
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The pool's template provider (A) and the farm's (B), on copies of one chain.
pub async fn two_nodes(dir: &Path) -> (TpHandle, TpHandle) {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let first = start_tp(&dir.join("a"), any).await;
    first.shutdown().await;
    copy_dir(&dir.join("a").join("regtest"), &dir.join("b").join("regtest"));
    let a = start_tp(&dir.join("a"), any).await;
    let b = start_tp(&dir.join("b"), any).await;
    assert_eq!(a.tip().hash, b.tip().hash, "one chain");
    (a, b)
}

/// What the two nodes said of each block the farm found.
#[derive(Default)]
pub struct Verdicts {
    pool: HashMap<[u8; 32], BlockVerdict>,
    farm: HashMap<[u8; 32], SolutionOutcome>,
}

/// The verdicts, filled by [`relay`].
pub type Shared = Arc<Mutex<Verdicts>>;

/// Hands every block in `blocks` (the JDC's found blocks) to node A too, and keeps both nodes'
/// verdicts.
pub fn relay(mut blocks: broadcast::Receiver<FoundBlock>, a: &TpHandle, b: &TpHandle) -> (Shared, JoinSet<()>) {
    let node = a.embedded_node().expect("embedded node");
    let verdicts = Shared::default();
    let mut tasks = JoinSet::new();
    let v = verdicts.clone();
    tasks.spawn(async move {
        while let Ok(b) = blocks.recv().await {
            let verdict = node.submit_block(b.block).await.expect("the node answers");
            v.lock().unwrap().pool.insert(b.hash, verdict);
        }
    });
    let mut reports = b.solutions();
    let v = verdicts.clone();
    tasks.spawn(async move {
        while let Ok(r) = reports.recv().await {
            if let Some(h) = r.block_hash {
                v.lock().unwrap().farm.insert(h, r.outcome);
            }
        }
    });
    (verdicts, tasks)
}

/// A pool with its JDS on node A's embedded node, on `listen` and `jd_listen`.
pub async fn jds_pool(
    dir: &Path,
    tp: &TpHandle,
    listen: SocketAddr,
    jd_listen: SocketAddr,
    change: impl FnOnce(&mut PoolConfig),
) -> PoolHandle {
    let jds = JdServerConfig::new(jd_listen, JdNode::Embedded(tp.embedded_node().expect("embedded node")));
    start_pool(&dir.to_path_buf(), tp, |c: &mut PoolConfig| {
        c.listen = listen;
        c.jds = Some(jds);
        change(c);
    })
    .await
}

/// The next block the farm finds that `pick` wants, once both nodes (libbitcoinkernel) have
/// judged it valid.
pub async fn next_block(
    blocks: &mut broadcast::Receiver<FoundBlock>,
    verdicts: &Shared,
    pick: impl Fn(&FoundBlock) -> bool,
) -> bitcoin::Block {
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    loop {
        let found = match tokio::time::timeout_at(deadline, blocks.recv()).await.expect("blocks keep coming") {
            Ok(f) => f,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(e) => panic!("{e}"),
        };
        if !pick(&found) {
            continue;
        }
        let hash = found.hash;
        until("both nodes judge the block", || {
            let v = verdicts.lock().unwrap();
            v.pool.contains_key(&hash) && v.farm.contains_key(&hash)
        })
        .await;
        let v = verdicts.lock().unwrap();
        // Valid for both kernels: the JDS (PushSolution) or the pool (the share) may have given
        // it to node A first, and on regtest a second block on the same tip is often found
        // before the devices hear of the first (valid, not the tip).
        let valid = |v: &BlockVerdict| {
            matches!(v, BlockVerdict::NewTip | BlockVerdict::Duplicate | BlockVerdict::AcceptedNotTip)
        };
        assert!(valid(&v.pool[&hash]), "pool's node: {:?}", v.pool[&hash]);
        assert!(matches!(&v.farm[&hash], SolutionOutcome::Node(n) if valid(n)), "farm's node: {:?}", v.farm[&hash]);
        return deserialize(&found.block).unwrap();
    }
}

/// The JDS behind `door` goes away (the pool's Mining port stays): the farm mines its own
/// templates solo, blocks paying [`SOLO`]; then it comes back on the same port and the farm
/// declares to it again. The door, open again.
pub async fn jds_away_then_back(
    door: Door,
    blocks: &mut broadcast::Receiver<FoundBlock>,
    verdicts: &Shared,
    s: &JdcStats,
) -> Door {
    let (addr, to) = door.close().await;
    let solo = next_block(blocks, verdicts, |f| f.solo).await;
    assert!(solo.txdata[0].output.iter().any(|o| o.script_pubkey.as_bytes() == SOLO), "solo blocks pay the farm");
    assert!(count(&s.fallbacks) > 0);
    assert_eq!(s.mode(), Mode::Solo);

    let door = Door::open(addr, to).await;
    next_block(blocks, verdicts, |f| !f.solo).await;
    until("declared jobs again", || s.mode() == Mode::Declared(0)).await;
    door
}

/// A counter's value.
pub fn count(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// A TCP relay in front of a JDS that the test can take down and bring back on one port.
pub struct Door {
    addr: SocketAddr,
    to: SocketAddr,
    tasks: JoinSet<()>,
}

impl Door {
    /// Listens on `addr` and pipes every connection to `to`.
    pub async fn open(addr: SocketAddr, to: SocketAddr) -> Door {
        let listener = TcpListener::bind(addr).await.unwrap();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut pipes = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                pipes.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Door { addr, to, tasks }
    }

    /// Closes the port and every connection through it; the addresses to open it again.
    pub async fn close(mut self) -> (SocketAddr, SocketAddr) {
        self.tasks.shutdown().await;
        (self.addr, self.to)
    }
}

/// The farm gives up pool 0, which refuses its shares on custom jobs (`refused` counts them),
/// once `max_rejected` are refused in a row, then declares to pool 1 (`second`), which credits
/// its shares, and finds a block there.
pub async fn leaves_the_pool_refusing_shares(
    s: &JdcStats,
    refused: &AtomicU64,
    max_rejected: u32,
    blocks: &mut broadcast::Receiver<FoundBlock>,
    verdicts: &Shared,
    second: &PoolHandle,
) {
    until("declaring to the second pool", || s.mode() == Mode::Declared(1)).await;
    assert!(count(&s.custom_jobs_accepted) > 0, "the faulty pool took custom jobs first");
    assert!(
        refused.load(Ordering::Relaxed) >= u64::from(max_rejected),
        "moved only after {max_rejected} refused shares"
    );
    next_block(blocks, verdicts, |f| !f.solo).await;
    until("the second pool credits shares", || second.metrics().shares_accepted.load(Ordering::Relaxed) > 0).await;
}

/// A faulty pool: rust-core's Mining endpoint sets connections up and opens channels, every
/// SetCustomMiningJob is answered Success, and every share is refused. Counts the refusals.
pub async fn pool_refusing_every_share(dir: &Path) -> (PoolEndpoint, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let identity = ServerIdentity::load_or_create(dir).unwrap();
    let listener = tokio::net::TcpListener::bind(ANY).await.unwrap();
    let endpoint = PoolEndpoint::new(listener.local_addr().unwrap().to_string(), identity.authority);
    let refused = Arc::new(AtomicU64::new(0));
    let counter = refused.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (credentials, refused) = (identity.credentials, counter.clone());
            tokio::spawn(async move {
                let Ok(mut conn) = Connection::accept(stream, &credentials, Limits::default()).await else { return };
                let config = ServerConfig {
                    work_selection: true,
                    min_difficulty: 1e-12,
                    shares_per_minute: 600.0,
                    ..ServerConfig::default()
                };
                let prefixes = ExtranonceAllocator::new(&[], EXTRANONCE_PREFIX_LEN, EXTRANONCE_LEN).unwrap();
                let mut endpoint = ServerEndpoint::new(config, prefixes);
                let (jobs, mut next_job) = (JobState::default(), 1);
                while let Ok(frame) = conn.read_frame().await {
                    let Ok((msg, _)) = frame.message() else { return };
                    let answered = match msg {
                        Message::SetCustomMiningJob(m) => {
                            next_job += 1;
                            let ok = SetCustomMiningJobSuccess {
                                channel_id: m.channel_id,
                                request_id: m.request_id,
                                job_id: next_job,
                            };
                            conn.queue(&ok.into()).is_ok()
                        }
                        Message::SubmitSharesExtended(m) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            let error_code = Bytes::from_str("invalid-job-id").unwrap();
                            let no = SubmitSharesError {
                                channel_id: m.channel_id,
                                sequence_number: m.sequence_number,
                                error_code,
                            };
                            conn.queue(&no.into()).is_ok()
                        }
                        other => {
                            let now = Now { mono_secs: 0, unix_secs: sv2_roles::keygen::unix_now() };
                            endpoint.on_message(&other, &jobs, now, &mut conn).is_ok()
                        }
                    };
                    if !answered || conn.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (endpoint, refused, task)
}
