//! Shared by the Job Declaration tests: real transactions, a template over them, and a JDC
//! and a JDS talking through encoded frames in memory.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use bitcoin::consensus::serialize;
use bitcoin::hashes::Hash as _;
use bitcoin::{
    absolute::LockTime, transaction::Version, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness,
};
use sv2::channels::coinbase::serialize_output;
use sv2::channels::hash::{coinbase_merkle_path, merkle_root_from_path, sha256d};
use sv2::channels::server::PrevHash;
use sv2::channels::target::target_from_nbits;
use sv2::codec::{Bytes, Seq};
use sv2::jd::client::{self, JdcConfig, JobDeclarationClient};
use sv2::jd::coinbase::{tx_ids, PoolOutputs};
use sv2::jd::server::{self, JdsConfig, JobDeclarator, MempoolTx};
use sv2::jd::store::TokenStore;
use sv2::jd::Ctx;
use sv2::messages::NewTemplate;
use sv2::{FrameDecoder, Message};

pub const REGTEST_NBITS: u32 = 0x207f_ffff;
pub const MIN_NTIME: u32 = 1_700_000_000;
pub const VALUE_REMAINING: u64 = 50 * 100_000_000 + 12_345;
/// The pool's payout script (P2WPKH).
pub const POOL_SCRIPT: [u8; 22] = [0x00, 0x14, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9];
/// The upstream channel's extranonce: 4 bytes of prefix and 4 rolled.
pub const EXTRANONCE_PREFIX: [u8; 4] = [0, 0, 0, 7];
pub const EXTRANONCE_SIZE: u16 = 4;

/// A segwit transaction spending an output named by `i`.
pub fn tx(i: u32, witness_len: usize) -> Vec<u8> {
    let t = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: Txid::from_byte_array(sha256d(&i.to_le_bytes())), vout: i % 3 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[vec![i as u8; witness_len], vec![2; 33]]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(1000 + u64::from(i)),
            script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
        }],
    };
    serialize(&t)
}

/// A template over `txs`: BIP34 height, a witness commitment to them, their merkle path.
pub struct Template {
    pub txs: Vec<Vec<u8>>,
    pub outputs: Vec<u8>,
    pub path: Vec<[u8; 32]>,
}

impl Template {
    pub fn new(txs: Vec<Vec<u8>>) -> Self {
        let ids: Vec<([u8; 32], [u8; 32])> = txs.iter().map(|t| tx_ids(t).unwrap()).collect();
        let txids: Vec<[u8; 32]> = std::iter::once([0; 32]).chain(ids.iter().map(|i| i.0)).collect();
        let wtxids: Vec<[u8; 32]> = std::iter::once([0; 32]).chain(ids.iter().map(|i| i.1)).collect();
        let witness_root = merkle_root_from_path(wtxids[0], &coinbase_merkle_path(&wtxids));
        let commitment = sha256d(&[witness_root, [0; 32]].concat());
        let script = [[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed].as_slice(), &commitment].concat();
        Template { outputs: serialize_output(0, &script), path: coinbase_merkle_path(&txids), txs }
    }

    pub fn msg(&self) -> NewTemplate<'_> {
        NewTemplate {
            template_id: 77,
            future_template: false,
            version: 0x2000_0000,
            coinbase_tx_version: 2,
            coinbase_prefix: Bytes::new(&[0x02, 0x10, 0x27]).unwrap(),
            coinbase_tx_input_sequence: 0xffff_fffe,
            coinbase_tx_value_remaining: VALUE_REMAINING,
            coinbase_tx_outputs_count: 1,
            coinbase_tx_outputs: Bytes::new(&self.outputs).unwrap(),
            coinbase_tx_locktime: 0,
            merkle_path: Seq::new(&self.path).unwrap(),
        }
    }

    pub fn tx_refs(&self) -> Vec<&[u8]> {
        self.txs.iter().map(|t| t.as_slice()).collect()
    }

    /// A mempool holding the transactions at `known` positions.
    pub fn mempool(&self, known: impl Fn(usize) -> bool) -> HashMap<[u8; 32], MempoolTx> {
        self.txs
            .iter()
            .enumerate()
            .filter(|(i, _)| known(*i))
            .map(|(_, t)| {
                let (txid, wtxid) = tx_ids(t).unwrap();
                (wtxid, MempoolTx { txid, data: Arc::from(t.as_slice()) })
            })
            .collect()
    }
}

pub fn tip() -> PrevHash {
    PrevHash {
        prev_hash: [0x42; 32],
        nbits: REGTEST_NBITS,
        min_ntime: MIN_NTIME,
        block_target: target_from_nbits(REGTEST_NBITS),
    }
}

pub fn jdc_config(full_template: bool) -> JdcConfig {
    JdcConfig {
        full_template,
        user_identifier: "alice".into(),
        tag: b"/jdc/".to_vec(),
        extranonce_len: EXTRANONCE_PREFIX.len() + usize::from(EXTRANONCE_SIZE),
        endpoint_host: "pool.example".into(),
        endpoint_port: 3336,
        vendor: "libsv2-test".into(),
        max_tokens: 4,
        max_declarations: 4,
    }
}

pub fn jds_config() -> JdsConfig {
    JdsConfig::new(PoolOutputs::single(&POOL_SCRIPT))
}

/// Calls `f` with every message of the frames in `bytes`.
pub fn each_message(bytes: &[u8], mut f: impl FnMut(&Message<'_>)) {
    let mut dec = FrameDecoder::new(1 << 24);
    dec.push(bytes);
    while let Some(frame) = dec.next_frame().unwrap() {
        let (m, _) = frame.message().unwrap();
        f(&m);
    }
}

/// One message's frame.
pub fn frame(m: &Message<'_>) -> Vec<u8> {
    sv2::codec::frame_to_vec(m, &[]).unwrap()
}

/// A JDC and a JDS over frames in memory, with the pool's store and mempool and a clock.
pub struct Net {
    pub jdc: JobDeclarationClient,
    pub jds: JobDeclarator,
    pub store: TokenStore,
    pub mempool: HashMap<[u8; 32], MempoolTx>,
    pub now: u64,
    seed: u64,
    pub server_events: Vec<server::Event>,
    pub client_events: Vec<client::Event>,
}

impl Net {
    pub fn new(jdc: JdcConfig, jds: JdsConfig, mempool: HashMap<[u8; 32], MempoolTx>) -> Self {
        let mut store = TokenStore::new(1024);
        let jds = JobDeclarator::new(jds, &mut store);
        Net {
            jdc: JobDeclarationClient::new(jdc),
            jds,
            store,
            mempool,
            now: 1000,
            seed: 0,
            server_events: Vec::new(),
            client_events: Vec::new(),
        }
    }

    pub fn ctx(&mut self) -> Ctx {
        self.seed += 1;
        let mut entropy = [0u8; 16];
        entropy[..8].copy_from_slice(&sha256d(&self.seed.to_le_bytes())[..8]);
        Ctx { now: self.now, entropy }
    }

    /// Frames to the JDS; its answers go on to the JDC, and theirs back, until quiet.
    pub fn send_jds(&mut self, bytes: Vec<u8>) {
        let mut to_jds = bytes;
        while !to_jds.is_empty() {
            let mut to_jdc = Vec::new();
            each_message(&to_jds, |m| {
                let ctx = self.ctx();
                let ev = self.jds.on_message(m, &mut self.store, &self.mempool, ctx, &mut to_jdc).unwrap();
                self.server_events.push(ev);
            });
            to_jds = Vec::new();
            each_message(&to_jdc, |m| {
                let ev = self.jdc.on_message(m, &mut to_jds).unwrap();
                self.client_events.push(ev);
            });
        }
    }

    /// The caller's verdict on a job, and what follows from it.
    pub fn verdict(&mut self, request_id: u32, verdict: Result<(), &str>) {
        let mut to_jdc = Vec::new();
        let ctx = self.ctx();
        let ev = self.jds.on_verdict(request_id, verdict, &mut self.store, ctx, &mut to_jdc).unwrap();
        self.server_events.push(ev);
        let mut back = Vec::new();
        each_message(&to_jdc, |m| {
            let ev = self.jdc.on_message(m, &mut back).unwrap();
            self.client_events.push(ev);
        });
        assert!(back.is_empty());
    }

    /// SetupConnection and one token.
    pub fn connect(&mut self) {
        let mut out = Vec::new();
        self.jdc.start(&mut out).unwrap();
        self.send_jds(out);
        let mut out = Vec::new();
        self.jdc.request_token(&mut out).unwrap();
        self.send_jds(out);
        assert_eq!(self.jdc.tokens(), 1);
    }

    /// The request id of the last ValidateJob event.
    pub fn validate_request(&self) -> Option<u32> {
        self.server_events.iter().rev().find_map(|e| match e {
            server::Event::ValidateJob { request_id, .. } => Some(*request_id),
            _ => None,
        })
    }

    /// The last JobDeclared event's SetCustomMiningJob ingredients.
    pub fn declared(&self) -> Option<client::CustomJobRequest> {
        self.client_events.iter().rev().find_map(|e| match e {
            client::Event::JobDeclared(j) => Some((**j).clone()),
            _ => None,
        })
    }

    /// The last JobRefused event's code.
    pub fn refused(&self) -> Option<String> {
        self.client_events.iter().rev().find_map(|e| match e {
            client::Event::JobRefused { code, .. } => Some(code.clone()),
            _ => None,
        })
    }
}
