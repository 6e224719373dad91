//! Share accounting in SQLite: every accepted share, rejected shares counted per worker and
//! error code (a flood of invalid shares costs no row each), totals per user and worker, and
//! found blocks, in `pool.sqlite` in the data directory.
//!
//! One writer thread owns the database. It commits whatever is waiting as one transaction
//! (WAL, `synchronous = FULL`) and only then answers the connections that wait for it, so a
//! share is acknowledged to a miner only once it is on disk: a crash loses no acknowledged
//! share.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

/// Requests that may wait for the writer before senders are slowed down.
const QUEUE: usize = 8192;
/// Requests folded into one transaction at most.
const MAX_GROUP: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS shares (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    user TEXT NOT NULL,
    worker TEXT NOT NULL,
    connection INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    sequence_number INTEGER NOT NULL,
    job_id INTEGER NOT NULL,
    nonce INTEGER NOT NULL,
    ntime INTEGER NOT NULL,
    version INTEGER NOT NULL,
    extranonce BLOB NOT NULL,
    difficulty REAL NOT NULL,
    error TEXT,
    hash BLOB
);
CREATE TABLE IF NOT EXISTS workers (
    user TEXT NOT NULL,
    worker TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    difficulty REAL NOT NULL,
    PRIMARY KEY (user, worker)
);
CREATE TABLE IF NOT EXISTS rejections (
    user TEXT NOT NULL,
    worker TEXT NOT NULL,
    code TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (user, worker, code)
);
CREATE TABLE IF NOT EXISTS blocks (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    user TEXT NOT NULL,
    worker TEXT NOT NULL,
    hash BLOB NOT NULL,
    template_id INTEGER,
    merkle_path_len INTEGER NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0
);
";

/// One share as received, with the pool's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRecord {
    /// Pool start it was received in (set by the store on write; 0 in new records).
    pub run: i64,
    /// Unix time in milliseconds.
    pub time_ms: u64,
    /// User identity of the channel (`user.worker`), or empty for an unknown channel.
    pub identity: String,
    /// Connection number within the run.
    pub connection: u64,
    /// Channel.
    pub channel_id: u32,
    /// Sequence number.
    pub sequence_number: u32,
    /// Job.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
    /// Rolled extranonce (empty on standard channels).
    pub extranonce: Vec<u8>,
    /// Difficulty credited (0 for a rejected share).
    pub difficulty: f64,
    /// None: accepted; Some: the error code sent.
    pub error: Option<String>,
    /// Header hash of an accepted share.
    pub hash: Option<[u8; 32]>,
}

/// Shares of one worker rejected with one error code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rejections {
    /// User identity of the channel (`user.worker`).
    pub identity: String,
    /// The error code sent.
    pub code: String,
    /// How many.
    pub count: u64,
}

/// A block found by a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord {
    /// Unix time in milliseconds.
    pub time_ms: u64,
    /// User identity of the channel that found it.
    pub identity: String,
    /// Block hash, internal byte order.
    pub hash: [u8; 32],
    /// Template it was built on.
    pub template_id: Option<u64>,
    /// Levels of the merkle path (0: no transaction besides the coinbase).
    pub merkle_path_len: u32,
    /// Whether the template provider's node made it its tip (seen as the next previous hash).
    pub accepted: bool,
}

/// Totals of one user's worker.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerTotals {
    /// User (the identity up to the first dot).
    pub user: String,
    /// Worker (after the first dot; empty when there is none).
    pub worker: String,
    /// Shares accepted.
    pub accepted: u64,
    /// Shares rejected.
    pub rejected: u64,
    /// Sum of the accepted shares' difficulties.
    pub difficulty: f64,
}

/// Splits `user.worker`.
pub fn split_identity(identity: &str) -> (&str, &str) {
    identity.split_once('.').unwrap_or((identity, ""))
}

enum Op {
    Share(ShareRecord),
    Rejected(Rejections),
    Block(BlockRecord),
    BlockAccepted([u8; 32]),
}

struct Request {
    ops: Vec<Op>,
    ack: Option<oneshot::Sender<Result<(), String>>>,
}

/// The handle every connection writes through (cheap to clone).
#[derive(Clone)]
pub struct StoreWriter {
    tx: mpsc::Sender<Request>,
}

/// The open database and its writer thread.
pub struct Store {
    writer: StoreWriter,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
    run: i64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn open(path: &Path) -> Result<Connection, String> {
    let db = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    db.pragma_update(None, "journal_mode", "WAL").map_err(|e| format!("{}: WAL: {e}", path.display()))?;
    db.pragma_update(None, "synchronous", "FULL").map_err(|e| format!("{}: {e}", path.display()))?;
    db.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
    Ok(db)
}

impl Store {
    /// Opens (or makes) the database at `path` and starts the writer.
    pub fn open(path: &Path) -> Result<Store, String> {
        let db = open(path)?;
        db.execute_batch(SCHEMA).map_err(|e| format!("{}: {e}", path.display()))?;
        db.execute("INSERT INTO runs (started_ms) VALUES (?1)", params![now_ms() as i64])
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let run = db.last_insert_rowid();
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("sv2-pool-store".into())
            .spawn(move || write_loop(db, rx, run))
            .map_err(|e| e.to_string())?;
        Ok(Store { writer: StoreWriter { tx }, thread: Some(thread), path: path.to_path_buf(), run })
    }

    /// A writer handle.
    pub fn writer(&self) -> StoreWriter {
        self.writer.clone()
    }

    /// This pool start's run number.
    pub fn run(&self) -> i64 {
        self.run
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits until everything queued is written (every other writer handle must be dropped
    /// first), then closes the database.
    pub fn close(self) {
        let Store { writer, thread, .. } = self;
        drop(writer);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl StoreWriter {
    async fn send(&self, ops: Vec<Op>, ack: Option<oneshot::Sender<Result<(), String>>>) -> Result<(), String> {
        self.tx.send(Request { ops, ack }).await.map_err(|_| "share database closed".to_string())
    }

    /// Queues shares and rejection counts, and returns a receiver that answers once they are
    /// committed to disk.
    pub async fn commit(
        &self,
        shares: Vec<ShareRecord>,
        rejections: Vec<Rejections>,
    ) -> Result<oneshot::Receiver<Result<(), String>>, String> {
        let (ack, rx) = oneshot::channel();
        let ops = shares.into_iter().map(Op::Share).chain(rejections.into_iter().map(Op::Rejected)).collect();
        self.send(ops, Some(ack)).await?;
        Ok(rx)
    }

    /// Queues rejection counts (nothing waits for their commit).
    pub async fn record_rejections(&self, rejections: Vec<Rejections>) -> Result<(), String> {
        self.send(rejections.into_iter().map(Op::Rejected).collect(), None).await
    }

    /// Records a found block and waits for the commit.
    pub async fn record_block(&self, block: BlockRecord) -> Result<(), String> {
        let (ack, rx) = oneshot::channel();
        self.send(vec![Op::Block(block)], Some(ack)).await?;
        rx.await.map_err(|_| "share database closed".to_string())?
    }

    /// Marks a block as accepted by the node (its hash became the previous hash).
    pub async fn block_accepted(&self, hash: [u8; 32]) -> Result<(), String> {
        self.send(vec![Op::BlockAccepted(hash)], None).await
    }
}

fn write_loop(mut db: Connection, mut rx: mpsc::Receiver<Request>, run: i64) {
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let result = write_group(&mut db, &group, run).map_err(|e| format!("share database: {e}"));
        if let Err(e) = &result {
            tracing::error!("{e}");
        }
        for r in group {
            if let Some(ack) = r.ack {
                let _ = ack.send(result.clone());
            }
        }
    }
}

fn write_group(db: &mut Connection, group: &[Request], run: i64) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    {
        let mut share = tx.prepare_cached(
            "INSERT INTO shares (run, time_ms, user, worker, connection, channel_id, sequence_number, job_id, \
             nonce, ntime, version, extranonce, difficulty, error, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        let mut totals = tx.prepare_cached(
            "INSERT INTO workers (user, worker, accepted, rejected, difficulty) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (user, worker) DO UPDATE SET accepted = accepted + excluded.accepted, \
             rejected = rejected + excluded.rejected, difficulty = difficulty + excluded.difficulty",
        )?;
        let mut block = tx.prepare_cached(
            "INSERT INTO blocks (run, time_ms, user, worker, hash, template_id, merkle_path_len, accepted) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut accepted = tx.prepare_cached("UPDATE blocks SET accepted = 1 WHERE hash = ?1")?;
        let mut rejected = tx.prepare_cached(
            "INSERT INTO rejections (user, worker, code, count) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (user, worker, code) DO UPDATE SET count = count + excluded.count",
        )?;
        // Per-worker totals summed over the whole group: one upsert per worker per commit
        // rather than one per share.
        let mut sums: HashMap<&str, (i64, i64, f64)> = HashMap::new();
        for op in group.iter().flat_map(|r| &r.ops) {
            match op {
                Op::Share(s) => {
                    let (user, worker) = split_identity(&s.identity);
                    share.execute(params![
                        run,
                        s.time_ms as i64,
                        user,
                        worker,
                        s.connection as i64,
                        s.channel_id,
                        s.sequence_number,
                        s.job_id,
                        s.nonce,
                        s.ntime,
                        s.version,
                        s.extranonce,
                        s.difficulty,
                        s.error,
                        s.hash.map(|h| h.to_vec()),
                    ])?;
                    let ok = s.error.is_none();
                    let sum = sums.entry(&s.identity).or_default();
                    sum.0 += ok as i64;
                    sum.1 += (!ok) as i64;
                    sum.2 += s.difficulty;
                }
                Op::Rejected(r) => {
                    let (user, worker) = split_identity(&r.identity);
                    rejected.execute(params![user, worker, r.code, r.count as i64])?;
                    sums.entry(&r.identity).or_default().1 += r.count as i64;
                }
                Op::Block(b) => {
                    let (user, worker) = split_identity(&b.identity);
                    block.execute(params![
                        run,
                        b.time_ms as i64,
                        user,
                        worker,
                        b.hash.to_vec(),
                        b.template_id.map(|t| t as i64),
                        b.merkle_path_len,
                        b.accepted as i64
                    ])?;
                }
                Op::BlockAccepted(h) => {
                    accepted.execute(params![h.to_vec()])?;
                }
            }
        }
        for (identity, (n_accepted, n_rejected, difficulty)) in sums {
            let (user, worker) = split_identity(identity);
            totals.execute(params![user, worker, n_accepted, n_rejected, difficulty])?;
        }
    }
    tx.commit()
}

/// Everything the database holds, read through a separate read-only connection (the pool
/// may be running).
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// Every accepted share, in the order received.
    pub shares: Vec<ShareRecord>,
    /// Rejected shares counted per worker and error code, sorted.
    pub rejections: Vec<Rejections>,
    /// Totals per user and worker.
    pub workers: Vec<WorkerTotals>,
    /// Found blocks, in the order found.
    pub blocks: Vec<BlockRecord>,
    /// Pool starts recorded.
    pub runs: u64,
}

fn blob32(v: Option<Vec<u8>>) -> Option<[u8; 32]> {
    v.and_then(|b| b.try_into().ok())
}

/// Reads the database at `path`.
pub fn read(path: &Path) -> Result<Records, String> {
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let e = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let mut out = Records::default();
    let mut q = db
        .prepare(
            "SELECT run, time_ms, user, worker, connection, channel_id, sequence_number, job_id, nonce, ntime, \
             version, extranonce, difficulty, error, hash FROM shares ORDER BY id",
        )
        .map_err(e)?;
    out.shares = q
        .query_map([], |r| {
            let user: String = r.get(2)?;
            let worker: String = r.get(3)?;
            Ok(ShareRecord {
                run: r.get(0)?,
                time_ms: r.get::<_, i64>(1)? as u64,
                identity: if worker.is_empty() { user } else { format!("{user}.{worker}") },
                connection: r.get::<_, i64>(4)? as u64,
                channel_id: r.get(5)?,
                sequence_number: r.get(6)?,
                job_id: r.get(7)?,
                nonce: r.get(8)?,
                ntime: r.get(9)?,
                version: r.get(10)?,
                extranonce: r.get(11)?,
                difficulty: r.get(12)?,
                error: r.get(13)?,
                hash: blob32(r.get(14)?),
            })
        })
        .map_err(e)?
        .collect::<Result<_, _>>()
        .map_err(e)?;
    let mut q = db
        .prepare("SELECT user, worker, accepted, rejected, difficulty FROM workers ORDER BY user, worker")
        .map_err(e)?;
    out.workers = q
        .query_map([], |r| {
            Ok(WorkerTotals {
                user: r.get(0)?,
                worker: r.get(1)?,
                accepted: r.get::<_, i64>(2)? as u64,
                rejected: r.get::<_, i64>(3)? as u64,
                difficulty: r.get(4)?,
            })
        })
        .map_err(e)?
        .collect::<Result<_, _>>()
        .map_err(e)?;
    let mut q =
        db.prepare("SELECT user, worker, code, count FROM rejections ORDER BY user, worker, code").map_err(e)?;
    out.rejections = q
        .query_map([], |r| {
            let user: String = r.get(0)?;
            let worker: String = r.get(1)?;
            Ok(Rejections {
                identity: if worker.is_empty() { user } else { format!("{user}.{worker}") },
                code: r.get(2)?,
                count: r.get::<_, i64>(3)? as u64,
            })
        })
        .map_err(e)?
        .collect::<Result<_, _>>()
        .map_err(e)?;
    let mut q = db
        .prepare("SELECT time_ms, user, worker, hash, template_id, merkle_path_len, accepted FROM blocks ORDER BY id")
        .map_err(e)?;
    out.blocks = q
        .query_map([], |r| {
            let user: String = r.get(1)?;
            let worker: String = r.get(2)?;
            Ok(BlockRecord {
                time_ms: r.get::<_, i64>(0)? as u64,
                identity: if worker.is_empty() { user } else { format!("{user}.{worker}") },
                hash: blob32(r.get(3)?).unwrap_or_default(),
                template_id: r.get::<_, Option<i64>>(4)?.map(|t| t as u64),
                merkle_path_len: r.get(5)?,
                accepted: r.get::<_, i64>(6)? != 0,
            })
        })
        .map_err(e)?
        .collect::<Result<_, _>>()
        .map_err(e)?;
    out.runs = db.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0)).map_err(e)? as u64;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(identity: &str, seq: u32, error: Option<&str>) -> ShareRecord {
        ShareRecord {
            run: 0,
            time_ms: 1,
            identity: identity.into(),
            connection: 1,
            channel_id: 2,
            sequence_number: seq,
            job_id: 3,
            nonce: 4,
            ntime: 5,
            version: 6,
            extranonce: vec![7; 3],
            difficulty: if error.is_none() { 2.5 } else { 0.0 },
            error: error.map(str::to_string),
            hash: error.is_none().then_some([9; 32]),
        }
    }

    #[tokio::test]
    async fn committed_shares_survive_a_reopen_with_totals_per_worker() {
        let dir = std::env::temp_dir().join(format!("sv2-pool-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pool.sqlite");
        let store = Store::open(&path).unwrap();
        let w = store.writer();
        let rejected =
            |identity: &str, code: &str| Rejections { identity: identity.into(), code: code.into(), count: 1 };
        let ack = w
            .commit(
                vec![share("alice.rig1", 1, None), share("alice.rig1", 2, None)],
                vec![rejected("alice.rig1", "stale-share")],
            )
            .await
            .unwrap();
        w.record_rejections(vec![rejected("bob", "difficulty-too-low"), rejected("bob", "difficulty-too-low")])
            .await
            .unwrap();
        ack.await.unwrap().unwrap();
        w.record_block(BlockRecord {
            time_ms: 2,
            identity: "bob".into(),
            hash: [1; 32],
            template_id: Some(5),
            merkle_path_len: 2,
            accepted: false,
        })
        .await
        .unwrap();
        w.block_accepted([1; 32]).await.unwrap();
        drop(w);
        store.close();
        let store = Store::open(&path).unwrap();
        assert_eq!(store.run(), 2);
        store.close();
        let r = read(&path).unwrap();
        assert_eq!(r.runs, 2);
        assert_eq!(r.shares.len(), 2);
        assert_eq!(r.shares[0], ShareRecord { run: 1, ..share("alice.rig1", 1, None) });
        assert_eq!(
            r.rejections,
            vec![
                rejected("alice.rig1", "stale-share"),
                Rejections { count: 2, ..rejected("bob", "difficulty-too-low") }
            ]
        );
        assert_eq!(
            r.workers,
            vec![
                WorkerTotals { user: "alice".into(), worker: "rig1".into(), accepted: 2, rejected: 1, difficulty: 5.0 },
                WorkerTotals { user: "bob".into(), worker: "".into(), accepted: 0, rejected: 2, difficulty: 0.0 },
            ]
        );
        assert!(r.blocks[0].accepted);
        assert_eq!(r.blocks[0].template_id, Some(5));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
