//! A Template Distribution client for the template provider's tests: Noise connection, setup,
//! templates kept as owned values, blocks built from them the way a pool builds them, and
//! regtest proof of work.

#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sv2::channels::coinbase::{serialize_output, CoinbaseSpec};
use sv2::channels::hash::{header_bytes, merkle_root, sha256d};
use sv2::channels::target::hash_meets_target;
use sv2::codec::{Bytes, Str0_255};
use sv2::messages::{CoinbaseOutputConstraints, RequestTransactionData, SetupConnection, SubmitSolution};
use sv2::noise::{AuthorityPublicKey, ServerAuth};
use sv2::Message;
use sv2_roles::net::{Connection, Limits, NetError};
use sv2_roles::tp::{TpConfig, TpHandle};

/// Bound on any single wait in these tests, so that a bug fails a test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A fresh data directory under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sv2-tp-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// An embedded-node TP in `dir` that checks fees often, so fee-driven templates come quickly.
pub async fn start_tp(dir: &PathBuf) -> TpHandle {
    start_tp_with(dir, |_| {}).await
}

/// Like [`start_tp`], with changes to the configuration.
pub async fn start_tp_with(dir: &PathBuf, change: impl FnOnce(&mut TpConfig)) -> TpHandle {
    sv2_roles::logging::init("error");
    let mut config = TpConfig::embedded(dir);
    config.fee_check_interval = Duration::from_millis(50);
    config.fee_delta_sats = 1;
    change(&mut config);
    sv2_roles::tp::start(config).await.expect("template provider starts")
}

pub use sv2::messages::OwnedTemplate as Template;

/// SetNewPrevHash (TDP), owned.
#[derive(Debug, Clone, Copy)]
pub struct PrevHash {
    pub id: u64,
    pub prev: [u8; 32],
    pub time: u32,
    pub nbits: u32,
    pub target: [u8; 32],
}

/// What the TP sent.
#[derive(Debug, Clone)]
pub enum Event {
    Template(Template),
    PrevHash(PrevHash),
    TxData { id: u64, txs: Vec<Vec<u8>> },
    TxDataError { id: u64, code: String },
}

pub struct Client {
    pub conn: Connection,
}

pub fn setup_connection(protocol: u8) -> SetupConnection<'static> {
    SetupConnection {
        protocol,
        min_version: 2,
        max_version: 2,
        flags: 0,
        endpoint_host: Str0_255::from_str("127.0.0.1").unwrap(),
        endpoint_port: 0,
        vendor: Str0_255::from_str("libsv2-test").unwrap(),
        hardware_version: Bytes::EMPTY,
        firmware: Bytes::EMPTY,
        device_id: Bytes::EMPTY,
    }
}

/// Connects, runs the Noise handshake pinned to the TP's authority, nothing more.
pub async fn connect_raw(tp: &TpHandle) -> Connection {
    connect_to(tp.addr(), tp.authority()).await
}

async fn connect_to(addr: SocketAddr, authority: AuthorityPublicKey) -> Connection {
    let limits = Limits { max_payload: 16 << 20, ..Limits::default() };
    Connection::connect(addr, ServerAuth::Authority(authority), limits).await.expect("handshake")
}

impl Client {
    /// Connects and sends SetupConnection and CoinbaseOutputConstraints.
    pub async fn connect(tp: &TpHandle, size: u32, sigops: u16) -> Client {
        Client::connect_to(tp.addr(), tp.authority(), size, sigops).await
    }

    /// [`Client::connect`] without borrowing the handle (for spawned tasks).
    pub async fn connect_to(addr: SocketAddr, authority: AuthorityPublicKey, size: u32, sigops: u16) -> Client {
        let mut conn = connect_to(addr, authority).await;
        conn.send(&Message::SetupConnection(setup_connection(2))).await.unwrap();
        let f = tokio::time::timeout(PATIENCE, conn.read_frame()).await.unwrap().unwrap();
        assert!(matches!(f.message().unwrap().0, Message::SetupConnectionSuccess(_)), "{:?}", f.message());
        let c = CoinbaseOutputConstraints {
            coinbase_output_max_additional_size: size,
            coinbase_output_max_additional_sigops: sigops,
        };
        conn.send(&Message::CoinbaseOutputConstraints(c)).await.unwrap();
        Client { conn }
    }

    /// The next message, which must be a TDP message for a client.
    pub async fn next(&mut self) -> Event {
        let f = tokio::time::timeout(PATIENCE, self.conn.read_frame()).await.expect("TP answers").expect("frame");
        match f.message().expect("valid message").0 {
            Message::NewTemplate(t) => Event::Template(Template::from(&t)),
            Message::SetNewPrevHashTdp(p) => Event::PrevHash(PrevHash {
                id: p.template_id,
                prev: p.prev_hash,
                time: p.header_timestamp,
                nbits: p.nbits,
                target: p.target,
            }),
            Message::RequestTransactionDataSuccess(s) => Event::TxData {
                id: s.template_id,
                txs: s.transaction_list.iter().map(|b| b.as_bytes().to_vec()).collect(),
            },
            Message::RequestTransactionDataError(e) => Event::TxDataError {
                id: e.template_id,
                code: String::from_utf8_lossy(e.error_code.as_bytes()).into_owned(),
            },
            other => panic!("unexpected {other:?}"),
        }
    }

    pub async fn next_template(&mut self) -> Template {
        match self.next().await {
            Event::Template(t) => t,
            other => panic!("expected NewTemplate, got {other:?}"),
        }
    }

    pub async fn next_prev_hash(&mut self) -> PrevHash {
        match self.next().await {
            Event::PrevHash(p) => p,
            other => panic!("expected SetNewPrevHash, got {other:?}"),
        }
    }

    /// A future template and the SetNewPrevHash that activates it (what comes on a new tip).
    /// Templates minable at once that arrive before it (fee rises on the old tip) are passed
    /// over.
    pub async fn next_tip(&mut self) -> (Template, PrevHash) {
        let mut t = self.next_template().await;
        while !t.future {
            t = self.next_template().await;
        }
        let p = self.next_prev_hash().await;
        assert_eq!(p.id, t.id);
        (t, p)
    }

    /// Asks for a template's transactions: Ok(list) or Err(error code).
    pub async fn tx_data(&mut self, id: u64) -> Result<Vec<Vec<u8>>, String> {
        self.conn.send(&Message::RequestTransactionData(RequestTransactionData { template_id: id })).await.unwrap();
        loop {
            match self.next().await {
                Event::TxData { id: got, txs } if got == id => return Ok(txs),
                Event::TxDataError { id: got, code } if got == id => return Err(code),
                // Templates may arrive in between; tests that care read them separately.
                Event::Template(_) | Event::PrevHash(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    pub async fn submit(&mut self, s: &Solution) -> Result<(), NetError> {
        let msg = SubmitSolution {
            template_id: s.template_id,
            version: s.version,
            header_timestamp: s.ntime,
            header_nonce: s.nonce,
            coinbase_tx: Bytes::new(&s.coinbase).unwrap(),
        };
        self.conn.send(&Message::SubmitSolution(msg)).await
    }
}

/// A solved (or deliberately broken) block, as SubmitSolution carries it.
#[derive(Debug, Clone)]
pub struct Solution {
    pub template_id: u64,
    pub version: u32,
    pub ntime: u32,
    pub nonce: u32,
    pub coinbase: Vec<u8>,
    /// Block hash, internal byte order.
    pub hash: [u8; 32],
}

/// Builds the coinbase from the template (prefix, then a pool tag and extranonce, our payout
/// output, then the template's outputs), the merkle root from the path, and grinds the nonce
/// until the header hash meets (`valid`) or misses (`!valid`) the target.
pub fn solve(t: &Template, p: &PrevHash, payout_value: u64, valid: bool) -> Solution {
    let payout = serialize_output(payout_value, &[0x51]); // OP_TRUE: anyone can spend
    let parts = CoinbaseSpec {
        version: t.coinbase_version,
        script_prefix: &t.prefix,
        tag: b"tp-test",
        sequence: t.sequence,
        pool_outputs: &payout,
        pool_outputs_count: 1,
        template_outputs: &t.outputs,
        template_outputs_count: t.outputs_count,
        locktime: t.locktime,
        extranonce_len: 8,
    }
    .build()
    .expect("coinbase parts");
    let extranonce = 0x0102_0304_0506_0708u64.to_le_bytes();
    let root = merkle_root(&parts.stripped(&extranonce), &t.path);
    let ntime = p.time;
    for nonce in 0.. {
        let header = header_bytes(t.version, &p.prev, &root, ntime, p.nbits, nonce);
        let hash = sha256d(&header);
        if hash_meets_target(&hash, &p.target) == valid {
            return Solution {
                template_id: t.id,
                version: t.version,
                ntime,
                nonce,
                coinbase: parts.full(&extranonce),
                hash,
            };
        }
    }
    unreachable!("a regtest target is met by about half of all hashes")
}
