//! A Job Declaration client and a work-selecting Mining connection, hand-driven over real
//! Noise connections to a pool and its JDS (pool_jds.rs on the embedded node, core_patch.rs on
//! a patched bitcoind over RPC): declarations built from a template with the transactions a
//! test chooses, custom jobs set, and shares that are blocks.

#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;

use bitcoin::consensus::serialize;
use bitcoin::hashes::Hash as _;
use bitcoin::{absolute::LockTime, transaction::Version, Amount, OutPoint, ScriptBuf, Sequence};
use bitcoin::{Transaction, TxIn, TxOut, Witness};
use sv2::channels::hash::{header_bytes, merkle_root, sha256d};
use sv2::channels::server::PrevHash;
use sv2::channels::target::{hash_meets_target, target_from_nbits, MAX_TARGET};
use sv2::codec::{Bytes, Str0_255};
use sv2::jd::client::{CustomJobRequest, Declared, Event, JdcConfig, JobDeclarationClient};
use sv2::messages::mining_flags::REQUIRES_WORK_SELECTION;
use sv2::messages::{OpenExtendedMiningChannel, SubmitSharesExtended};
use sv2::noise::{AuthorityPublicKey, ServerAuth};
use sv2::Message;
use sv2_roles::net::{Connection, Limits};
use sv2_roles::pool::{PoolHandle, EXTRANONCE_LEN};
use sv2_roles::tp::template::with_transactions;

use crate::pool_common::setup_connection;
use crate::tp_client::{self, Template, PATIENCE};

/// A JD client on the pool's JDS.
pub struct Jdc {
    pub conn: Connection,
    pub c: JobDeclarationClient,
}

impl Jdc {
    pub async fn connect(pool: &PoolHandle, full_template: bool) -> Jdc {
        Jdc::connect_to(pool.jds_addr().expect("the JDS runs"), pool.authority(), full_template).await
    }

    pub async fn connect_to(addr: SocketAddr, authority: AuthorityPublicKey, full_template: bool) -> Jdc {
        let limits = Limits { max_payload: 16 << 20, ..Limits::default() };
        let conn = Connection::connect(addr, ServerAuth::Authority(authority), limits).await.unwrap();
        let c = JobDeclarationClient::new(JdcConfig {
            full_template,
            user_identifier: "farm".into(),
            tag: b"farm".to_vec(),
            extranonce_len: EXTRANONCE_LEN,
            endpoint_host: "127.0.0.1".into(),
            endpoint_port: addr.port(),
            vendor: "libsv2-test".into(),
            max_tokens: 4,
            max_declarations: 4,
        });
        let mut j = Jdc { conn, c };
        j.c.start(&mut j.conn).unwrap();
        j.conn.flush().await.unwrap();
        assert_eq!(j.next().await, Event::SetUp);
        j
    }

    /// The next event (answers the JDS wants are sent).
    pub async fn next(&mut self) -> Event {
        let f = tokio::time::timeout(PATIENCE, self.conn.read_frame()).await.expect("JDS answers").expect("frame");
        let event = self.c.on_message(&f.message().unwrap().0, &mut self.conn).unwrap();
        self.conn.flush().await.unwrap();
        event
    }

    pub async fn token(&mut self) {
        self.c.request_token(&mut self.conn).unwrap();
        self.conn.flush().await.unwrap();
        assert!(matches!(self.next().await, Event::TokenReady { .. }));
    }

    pub async fn declare(&mut self, t: &Template, tip: &PrevHash, txs: &[Vec<u8>]) -> Declared {
        let refs: Vec<&[u8]> = txs.iter().map(|t| &t[..]).collect();
        let d = self.c.declare(&t.message().unwrap(), tip, &refs, &mut self.conn).unwrap();
        self.conn.flush().await.unwrap();
        d
    }
}

/// A template as the JDC declares it: `template` with its transactions replaced by `txs`.
pub fn declaration(template: &Template, txs: &[Vec<u8>]) -> Template {
    with_transactions(template, txs).unwrap()
}

pub fn tip(p: &tp_client::PrevHash) -> PrevHash {
    PrevHash { prev_hash: p.prev, nbits: p.nbits, min_ntime: p.time, block_target: p.target }
}

/// A Mining connection with REQUIRES_WORK_SELECTION and one extended channel.
pub struct Miner {
    pub conn: Connection,
    pub channel_id: u32,
    pub prefix: Vec<u8>,
    pub rolled: usize,
    pub target: [u8; 32],
    /// The pool's latest SetNewPrevHash min_ntime.
    pub min_ntime: u32,
}

/// What the pool answered.
#[derive(Debug, PartialEq)]
pub enum Answer {
    Custom(Result<u32, String>),
    Share(Result<(), String>),
}

impl Miner {
    pub async fn connect(pool: &PoolHandle) -> Miner {
        let auth = ServerAuth::Authority(pool.authority());
        let mut conn = Connection::connect(pool.addr(), auth, Limits::default()).await.unwrap();
        conn.send(&setup_connection(REQUIRES_WORK_SELECTION).into()).await.unwrap();
        let open = OpenExtendedMiningChannel {
            request_id: 1,
            user_identity: Str0_255::from_str("farm").unwrap(),
            nominal_hash_rate: 1e3,
            max_target: MAX_TARGET,
            min_extranonce_size: 4,
        };
        conn.send(&open.into()).await.unwrap();
        let mut m = Miner { conn, channel_id: 0, prefix: Vec::new(), rolled: 0, target: [0; 32], min_ntime: 0 };
        while m.channel_id == 0 || m.min_ntime == 0 {
            m.read().await;
        }
        m
    }

    pub async fn read(&mut self) -> Option<Answer> {
        let f = tokio::time::timeout(PATIENCE, self.conn.read_frame()).await.expect("pool answers").unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match f.message().unwrap().0 {
            Message::SetupConnectionSuccess(_) => None,
            Message::OpenExtendedMiningChannelSuccess(s) => {
                (self.channel_id, self.target) = (s.channel_id, s.target);
                self.prefix = s.extranonce_prefix.as_bytes().to_vec();
                self.rolled = usize::from(s.extranonce_size);
                None
            }
            Message::SetNewPrevHash(p) => {
                self.min_ntime = p.min_ntime;
                None
            }
            Message::SetTarget(t) => {
                self.target = t.maximum_target;
                None
            }
            Message::SetCustomMiningJobSuccess(s) => Some(Answer::Custom(Ok(s.job_id))),
            Message::SetCustomMiningJobError(e) => Some(Answer::Custom(Err(text(e.error_code.as_bytes())))),
            Message::SubmitSharesSuccess(_) => Some(Answer::Share(Ok(()))),
            Message::SubmitSharesError(e) => Some(Answer::Share(Err(text(e.error_code.as_bytes())))),
            _ => None,
        }
    }

    pub async fn answer(&mut self) -> Answer {
        loop {
            if let Some(a) = self.read().await {
                return a;
            }
        }
    }

    /// SetCustomMiningJob for `req` (min_ntime raised to the pool's tip's if need be).
    pub async fn set_custom(&mut self, req: &mut CustomJobRequest) -> Result<u32, String> {
        req.min_ntime = req.min_ntime.max(self.min_ntime);
        self.conn.send(&req.message(self.channel_id, 9).into()).await.unwrap();
        match self.answer().await {
            Answer::Custom(r) => r,
            other => panic!("expected a SetCustomMiningJob answer, got {other:?}"),
        }
    }

    /// Mines a share on the custom job that is also a block; returns (full extranonce, nonce).
    pub async fn share(&mut self, req: &CustomJobRequest, job_id: u32) -> (Vec<u8>, u32) {
        let rolled = vec![1u8; self.rolled];
        let full = [self.prefix.clone(), rolled.clone()].concat();
        let parts = req.coinbase.parts().unwrap();
        let root = merkle_root(&parts.stripped(&full), &req.merkle_path);
        let header = |n| header_bytes(req.version, &req.prev_hash, &root, req.min_ntime, req.nbits, n);
        let block = target_from_nbits(req.nbits);
        let nonce = (0u32..)
            .find(|n| {
                let h = sha256d(&header(*n));
                hash_meets_target(&h, &self.target) && hash_meets_target(&h, &block)
            })
            .unwrap();
        let share = SubmitSharesExtended {
            channel_id: self.channel_id,
            sequence_number: 1,
            job_id,
            nonce,
            ntime: req.min_ntime,
            version: req.version,
            extranonce: Bytes::new(&rolled).unwrap(),
        };
        self.conn.send(&share.into()).await.unwrap();
        assert_eq!(self.answer().await, Answer::Share(Ok(())), "share on the custom job");
        (full, nonce)
    }
}

/// A transaction spending a coin that does not exist.
pub fn spending_nothing(seed: u32) -> Vec<u8> {
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: bitcoin::Txid::from_byte_array([0x77; 32]), vout: seed },
            script_sig: ScriptBuf::from_bytes(vec![0x51]),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: Amount::from_sat(1_000), script_pubkey: ScriptBuf::from_bytes(vec![0x51]) }],
    };
    serialize(&tx)
}
