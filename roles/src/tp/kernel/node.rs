//! A regtest node on libbitcoinkernel: the chain on disk, a mempool of the node's own
//! transactions, block templates on the tip, and blocks validated by Bitcoin Core's code
//! before they become the tip. Blocking; the async side runs it on tokio's blocking pool.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash as _;
use bitcoin::pow::CompactTarget;
use bitcoin::script::Builder;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, Block, BlockHash, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode,
    TxOut, Witness,
};
use bitcoinkernel::prelude::*;
use bitcoinkernel::{ChainType, ChainstateManager, Context, ContextBuilder, ProcessBlockResult, ValidationMode};

use super::log;
use super::utxo::{self, UtxoSet};
use super::wallet::{Coin, Wallet};
use crate::tp::source::{BlockVerdict, TipInfo};
use crate::tp::template::{bip34_prefix, block_subsidy, witness_commitment_script, BlockTemplate, TemplateTx};

/// Regtest halves the subsidy every 150 blocks.
pub const REGTEST_HALVING_INTERVAL: u32 = 150;
/// Height the node mines itself up to on first start, so that its first coinbases have matured
/// and templates can carry its own transactions at once.
pub const BOOTSTRAP_HEIGHT: u32 = 110;
/// Header version of blocks and templates (BIP9 top bits, no deployment signalled).
const BLOCK_VERSION: u32 = 0x2000_0000;

/// One of the node's own unconfirmed transactions.
struct MempoolTx {
    tx: Transaction,
    entry: TemplateTx,
}

/// The node.
pub struct KernelNode {
    // Field order is drop order: the chainstate manager goes before the context it uses.
    chainman: ChainstateManager,
    _context: Context,
    wallet: Wallet,
    /// Every unspent output of the chain (for block proposals).
    utxos: UtxoSet,
    mempool: Vec<MempoolTx>,
    tip: TipInfo,
    tip_bits: u32,
    own_txs: usize,
    /// The tip of the last template made: the first template on a new tip is made before the
    /// mempool is refilled (see [`KernelNode::refill_due`]).
    templated_tip: Option<[u8; 32]>,
    /// Blocks the kernel found invalid, with its validation result (from the block-checked
    /// callback, which runs synchronously inside `process_block`).
    invalid: Arc<Mutex<HashMap<[u8; 32], String>>>,
    /// Last: removed only after the chainstate manager has flushed.
    _open: OpenMarker,
}

/// A file that exists while the node is open. Found at start, it means the last run ended
/// without flushing the chain state (a crash or a kill): libbitcoinkernel writes blocks to
/// disk at once but its indexes only at shutdown, so the chain is then rebuilt from the
/// block files.
struct OpenMarker(PathBuf);

impl OpenMarker {
    /// Creates the marker; returns whether the last run left one behind.
    fn create(dir: &Path) -> Result<(Self, bool), String> {
        let path = dir.join("node.open");
        let left = match std::fs::read_to_string(&path) {
            Ok(pid) => {
                let pid = pid.trim();
                if !pid.is_empty() && pid != std::process::id().to_string() && process_alive(pid) {
                    return Err(format!("{} is in use by process {pid}", dir.display()));
                }
                true
            }
            Err(_) => false,
        };
        std::fs::write(&path, std::process::id().to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((OpenMarker(path), left))
    }
}

/// Whether a process runs with this pid (a zombie, dead but not yet reaped, does not count).
fn process_alive(pid: &str) -> bool {
    match std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")) {
        // "pid (comm) state ...": the state follows the last ')'.
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| !matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
        }
        Err(_) => false,
    }
}

impl Drop for OpenMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn unix_now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

fn kernel_err(what: &str) -> impl Fn(bitcoinkernel::KernelError) -> String + '_ {
    move |e| format!("libbitcoinkernel: {what}: {e}")
}

impl KernelNode {
    /// Opens (or creates) the chain in `dir`, mines up to [`BOOTSTRAP_HEIGHT`] if the chain is
    /// shorter, and keeps `own_txs` transactions of its own in the mempool.
    pub fn open(dir: &Path, own_txs: usize) -> Result<Self, String> {
        log::install();
        let blocks = dir.join("blocks");
        std::fs::create_dir_all(&blocks).map_err(|e| format!("{}: {e}", blocks.display()))?;
        let invalid: Arc<Mutex<HashMap<[u8; 32], String>>> = Arc::default();
        let seen = invalid.clone();
        let context = ContextBuilder::new()
            .chain_type(ChainType::Regtest)
            .with_block_checked_validation(
                move |block: bitcoinkernel::Block, state: bitcoinkernel::BlockValidationStateRef<'_>| {
                    if state.mode() != ValidationMode::Valid {
                        if let Ok(mut m) = seen.lock() {
                            m.insert(block.hash().to_bytes(), format!("{:?}", state.result()));
                        }
                    }
                },
            )
            .build()
            .map_err(kernel_err("context"))?;
        let (marker, unclean) = OpenMarker::create(dir)?;
        if unclean {
            tracing::warn!(
                "embedded node: the last run did not shut down cleanly; rebuilding the chain from its block files"
            );
        }
        let path = |p: &Path| p.to_str().map(str::to_owned).ok_or_else(|| format!("{}: not UTF-8", p.display()));
        let (chain_dir, blocks_dir) = (path(&dir.join("chainstate"))?, path(&blocks)?);
        // The kernel says why it cannot open a chain (a lock, a full disk) only in its log.
        let (chainman, lines) = log::capture(|| {
            ChainstateManager::builder(&context, &chain_dir, &blocks_dir)
                .and_then(|b| b.wipe_db(unclean, unclean))
                .and_then(|b| b.build())
        });
        let chainman = chainman.map_err(|e| {
            let why = lines[lines.len().saturating_sub(2)..].join("; ");
            format!("libbitcoinkernel: opening the chain: {e} ({why})")
        })?;
        chainman.import_blocks().map_err(kernel_err("loading blocks"))?;
        let wallet = Wallet::load_or_create(dir)?;
        let placeholder = TipInfo { height: 0, hash: [0; 32], seen: Instant::now() };
        let mut node = KernelNode {
            chainman,
            _context: context,
            wallet,
            utxos: UtxoSet::default(),
            mempool: Vec::new(),
            tip: placeholder,
            tip_bits: 0,
            own_txs,
            templated_tip: None,
            invalid,
            _open: marker,
        };
        node.rescan()?;
        if node.tip.height < BOOTSTRAP_HEIGHT {
            tracing::info!(
                "embedded node: chain at height {}, mining to {BOOTSTRAP_HEIGHT} so its coinbases mature",
                node.tip.height
            );
            while node.tip.height < BOOTSTRAP_HEIGHT {
                node.mine_block()?;
            }
        }
        node.top_up();
        Ok(node)
    }

    /// The best block.
    pub fn tip(&self) -> TipInfo {
        self.tip
    }

    /// Reads the tip from the kernel and rebuilds the wallet's confirmed coins from the chain.
    fn rescan(&mut self) -> Result<(), String> {
        let chain = self.chainman.active_chain();
        let tip = chain.tip();
        self.wallet.confirmed.clear();
        self.utxos.clear();
        for height in 1..=tip.height() {
            let entry = chain.at_height(height as usize).ok_or("libbitcoinkernel: chain shorter than its tip")?;
            let block = self.read_block(&entry)?;
            self.wallet.apply_block(&block, height as u32);
            self.utxos.apply_block(&block, height as u32);
        }
        self.tip = TipInfo { height: tip.height() as u32, hash: tip.block_hash().to_bytes(), seen: Instant::now() };
        self.tip_bits = tip.header().bits();
        Ok(())
    }

    fn read_block(&self, entry: &bitcoinkernel::BlockTreeEntry<'_>) -> Result<Block, String> {
        let raw = self
            .chainman
            .read_block_data(entry)
            .and_then(|b| b.consensus_encode())
            .map_err(kernel_err("reading a block"))?;
        deserialize(&raw).map_err(|e| format!("block on disk does not parse: {e}"))
    }

    /// Median time of the tip and the ten blocks before it.
    fn median_time_past(&self) -> u32 {
        let chain = self.chainman.active_chain();
        let mut entry = Some(chain.tip());
        let mut times = Vec::with_capacity(11);
        while let (Some(e), true) = (entry, times.len() < 11) {
            times.push(e.header().timestamp());
            entry = e.prev();
        }
        times.sort_unstable();
        times[times.len() / 2]
    }

    /// A template for the next block with every mempool transaction.
    pub fn template(&mut self) -> BlockTemplate {
        self.templated_tip = Some(self.tip.hash);
        let height = self.tip.height + 1;
        BlockTemplate {
            height,
            prev_hash: self.tip.hash,
            version: BLOCK_VERSION,
            bits: self.tip_bits,
            time: unix_now().max(self.median_time_past() + 1),
            subsidy: block_subsidy(height, REGTEST_HALVING_INTERVAL),
            txs: self.mempool.iter().map(|m| m.entry.clone()).collect(),
        }
    }

    /// Adds up to `n` transactions of its own to the mempool; returns their txids.
    pub fn add_transactions(&mut self, n: usize) -> Vec<[u8; 32]> {
        let mut added = Vec::new();
        while added.len() < n {
            let Some((outpoint, coin)) = self.best_coin() else { break };
            let Some((tx, fee)) = self.wallet.split(outpoint, coin) else { break };
            let entry = TemplateTx {
                data: serialize(&tx),
                txid: tx.compute_txid().to_byte_array(),
                wtxid: tx.compute_wtxid().to_byte_array(),
                fee,
                weight: tx.weight().to_wu(),
                sigops_cost: self.sigops_cost(&tx, coin),
            };
            added.push(entry.txid);
            self.mempool.push(MempoolTx { tx, entry });
        }
        added
    }

    fn sigops_cost(&self, tx: &Transaction, spent: Coin) -> u64 {
        let script = self.wallet.script(spent.lock).clone();
        tx.total_sigop_cost(|_| Some(TxOut { value: Amount::from_sat(spent.value), script_pubkey: script.clone() }))
            as u64
    }

    /// The largest coin a transaction in the next block may spend: confirmed coins not spent
    /// in the mempool, and mempool outputs not spent by a later mempool transaction. Spending
    /// the largest keeps values well above dust.
    fn best_coin(&self) -> Option<(OutPoint, Coin)> {
        let next_height = self.tip.height + 1;
        let mut spent = HashSet::new();
        let mut created = HashMap::new();
        for m in &self.mempool {
            spent.extend(m.tx.input.iter().map(|i| i.previous_output));
            created.extend(self.outputs(&m.tx));
        }
        self.wallet
            .confirmed
            .iter()
            .chain(created.iter())
            .filter(|(o, c)| !spent.contains(*o) && c.spendable_at(next_height))
            .max_by_key(|(o, c)| (c.value, o.txid, o.vout))
            .map(|(o, c)| (*o, *c))
    }

    /// The outputs of a mempool transaction that pay the wallet.
    fn outputs<'a>(&'a self, tx: &'a Transaction) -> impl Iterator<Item = (OutPoint, Coin)> + 'a {
        let txid = tx.compute_txid();
        tx.output.iter().enumerate().filter_map(move |(vout, out)| {
            let lock = self.wallet.lock_of(&out.script_pubkey)?;
            Some((
                OutPoint { txid, vout: vout as u32 },
                Coin { value: out.value.to_sat(), lock, height: None, coinbase: false },
            ))
        })
    }

    /// Whether the mempool is short of the node's own transactions and the tip already had its
    /// template: a new tip's first template goes out without waiting for the refill (signing
    /// transactions takes longer than the rest of the way from a tip to miners), and the
    /// refill comes with the next template on that tip (the next fee check), as transactions
    /// arriving after a block do.
    pub fn refill_due(&self) -> bool {
        self.templated_tip == Some(self.tip.hash) && self.short_of_own_txs()
    }

    fn short_of_own_txs(&self) -> bool {
        self.tip.height + 1 > 100 && self.mempool.len() < self.own_txs
    }

    /// Keeps at least `own_txs` transactions in the mempool once coinbases can mature.
    pub fn top_up(&mut self) {
        if self.short_of_own_txs() {
            let n = self.own_txs - self.mempool.len();
            self.add_transactions(n);
        }
    }

    /// Mines a block on the tip with the node's own coinbase and every mempool transaction,
    /// as another miner on the network would, and hands it to the kernel like any other.
    pub fn mine_block(&mut self) -> Result<TipInfo, String> {
        let t = self.template();
        let fees: u64 = t.txs.iter().map(|x| x.fee).sum();
        let mut script_sig = bip34_prefix(t.height);
        script_sig.extend(Builder::new().push_slice(b"libsv2 tp").into_script().into_bytes());
        let coinbase = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from_bytes(script_sig),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(&[[0u8; 32]]),
            }],
            output: vec![
                TxOut { value: Amount::from_sat(t.subsidy + fees), script_pubkey: self.wallet.payout_script() },
                TxOut {
                    value: Amount::ZERO,
                    script_pubkey: ScriptBuf::from_bytes(witness_commitment_script(t.txs.iter().map(|x| &x.wtxid))),
                },
            ],
        };
        let mut txdata = vec![coinbase];
        txdata.extend(self.mempool.iter().map(|m| m.tx.clone()));
        let mut block = Block {
            header: Header {
                version: BlockVersion::from_consensus(t.version as i32),
                prev_blockhash: BlockHash::from_byte_array(t.prev_hash),
                merkle_root: TxMerkleNode::all_zeros(),
                time: t.time,
                bits: CompactTarget::from_consensus(t.bits),
                nonce: 0,
            },
            txdata,
        };
        block.header.merkle_root = block.compute_merkle_root().ok_or("empty block")?;
        let target = block.header.target();
        while !target.is_met_by(block.header.block_hash()) {
            block.header.nonce = block.header.nonce.checked_add(1).ok_or("no nonce meets the regtest target")?;
        }
        match self.submit(&serialize(&block)) {
            BlockVerdict::NewTip => Ok(self.tip),
            other => Err(format!("own block {}: {other}", block.block_hash())),
        }
    }

    /// Whether a serialized block would be valid on the tip apart from its proof of work (a
    /// block proposal, as `getblocktemplate` in proposal mode), with the reject reason.
    pub fn check_proposal(&self, raw: &[u8]) -> Result<(), String> {
        let height = self.tip.height + 1;
        let ctx =
            utxo::Context { tip: self.tip.hash, height, subsidy: block_subsidy(height, REGTEST_HALVING_INTERVAL) };
        self.utxos.check_proposal(raw, ctx)
    }

    /// Hands a serialized block to libbitcoinkernel; it becomes the tip only if the kernel
    /// validates and connects it.
    pub fn submit(&mut self, raw: &[u8]) -> BlockVerdict {
        let block = match bitcoinkernel::Block::new(raw) {
            Ok(b) => b,
            Err(e) => return BlockVerdict::Rejected(format!("not a block ({e})")),
        };
        let hash = block.hash().to_bytes();
        let (result, lines) = log::capture(|| self.chainman.process_block(&block));
        let tip_hash = self.chainman.active_chain().tip().block_hash().to_bytes();
        // Taken, and the rest dropped: the map holds at most the blocks of one call.
        let invalid = self.invalid.lock().ok().and_then(|mut m| {
            let result = m.remove(&hash);
            m.clear();
            result
        });
        let verdict = if tip_hash == hash && self.tip.hash != hash {
            BlockVerdict::NewTip
        } else if let Some(result) = invalid {
            BlockVerdict::Rejected(reason(&result, &lines))
        } else if result == ProcessBlockResult::Rejected {
            BlockVerdict::Rejected(reason("Invalid", &lines))
        } else if result == ProcessBlockResult::Duplicate || tip_hash == hash {
            BlockVerdict::Duplicate
        } else {
            BlockVerdict::AcceptedNotTip
        };
        if tip_hash != self.tip.hash {
            if let Err(e) = self.follow_tip() {
                tracing::error!("embedded node: cannot follow the new tip: {e}");
            }
        }
        verdict
    }

    /// Moves the wallet and mempool to the kernel's new tip.
    fn follow_tip(&mut self) -> Result<(), String> {
        let chain = self.chainman.active_chain();
        let tip = chain.tip();
        let extends = tip.prev().map(|p| p.block_hash().to_bytes()) == Some(self.tip.hash);
        if extends {
            let block = self.read_block(&tip)?;
            self.wallet.apply_block(&block, tip.height() as u32);
            self.utxos.apply_block(&block, tip.height() as u32);
            self.tip = TipInfo { height: tip.height() as u32, hash: tip.block_hash().to_bytes(), seen: Instant::now() };
            self.tip_bits = tip.header().bits();
        } else {
            // A reorganisation: rebuild the wallet from the chain.
            self.rescan()?;
        }
        self.revalidate_mempool();
        Ok(())
    }

    /// Drops mempool transactions that were confirmed, or whose inputs are gone or not yet
    /// spendable, together with everything that depends on them.
    fn revalidate_mempool(&mut self) {
        let next_height = self.tip.height + 1;
        let mut spent = HashSet::new();
        let mut created = HashMap::new();
        let mut kept = Vec::with_capacity(self.mempool.len());
        for m in std::mem::take(&mut self.mempool) {
            let ok = m.tx.input.iter().all(|i| {
                let o = &i.previous_output;
                !spent.contains(o)
                    && self.wallet.confirmed.get(o).or(created.get(o)).is_some_and(|c| c.spendable_at(next_height))
            });
            if ok {
                spent.extend(m.tx.input.iter().map(|i| i.previous_output));
                created.extend(self.outputs(&m.tx));
                kept.push(m);
            }
        }
        self.mempool = kept;
    }
}

/// The kernel's validation result and the first error line it logged about the block.
fn reason(result: &str, lines: &[String]) -> String {
    match lines.iter().find(|l| l.to_ascii_lowercase().contains("error")) {
        Some(line) => format!("{result}: {}", line.trim_start_matches("[error] ")),
        None => result.to_owned(),
    }
}
