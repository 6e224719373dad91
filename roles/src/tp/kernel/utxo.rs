//! Every unspent output of the embedded node's chain, and the check of a proposed block
//! against it: what Bitcoin Core's `getblocktemplate` proposal mode decides, for a Job
//! Declaration Server whose node is the embedded one. libbitcoinkernel runs the context-free
//! block checks and every input script; this view supplies the coins they spend (the kernel
//! has no call that looks a coin up). Regtest chains are small, so the whole set is kept.

use std::collections::HashMap;

use bitcoin::hashes::Hash as _;
use bitcoin::{Block, OutPoint, TxOut};
use bitcoinkernel::prelude::*;
use bitcoinkernel::{
    BlockCheckResult, ChainParams, ChainType, PrecomputedTransactionData, BLOCK_CHECK_BASE, BLOCK_CHECK_MERKLE,
};

use super::wallet::COINBASE_MATURITY;

/// A coin of the chain.
#[derive(Debug, Clone)]
struct Utxo {
    out: TxOut,
    height: u32,
    coinbase: bool,
}

/// The chain's unspent outputs.
#[derive(Debug, Default)]
pub struct UtxoSet {
    coins: HashMap<OutPoint, Utxo>,
}

/// What the proposal is checked against: the tip it must build on.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The tip's hash (internal byte order).
    pub tip: [u8; 32],
    /// The height the block would have.
    pub height: u32,
    /// The block subsidy at that height.
    pub subsidy: u64,
}

impl UtxoSet {
    /// Forgets every coin (before a rescan).
    pub fn clear(&mut self) {
        self.coins.clear();
    }

    /// Spends a connected block's inputs and adds its outputs.
    pub fn apply_block(&mut self, block: &Block, height: u32) {
        for tx in &block.txdata {
            let coinbase = tx.is_coinbase();
            if !coinbase {
                for input in &tx.input {
                    self.coins.remove(&input.previous_output);
                }
            }
            let txid = tx.compute_txid();
            for (vout, out) in tx.output.iter().enumerate() {
                // Provably unspendable outputs (witness commitments) are never spent.
                if out.script_pubkey.is_op_return() {
                    continue;
                }
                let utxo = Utxo { out: out.clone(), height, coinbase };
                self.coins.insert(OutPoint { txid, vout: vout as u32 }, utxo);
            }
        }
    }

    /// Whether `raw` would be a valid block on `ctx.tip` apart from its proof of work, with
    /// Bitcoin Core's reject reason when not (`bad-txns-inputs-missingorspent`,
    /// `bad-cb-amount`, ...).
    pub fn check_proposal(&self, raw: &[u8], ctx: Context) -> Result<(), String> {
        let kernel_block = bitcoinkernel::Block::new(raw).map_err(|_| "bad-blk-decode".to_string())?;
        let params = ChainParams::new(ChainType::Regtest);
        if let BlockCheckResult::Invalid(state) = kernel_block.check(&params, BLOCK_CHECK_BASE | BLOCK_CHECK_MERKLE) {
            return Err(format!("bad-blk-{:?}", state.result()).to_ascii_lowercase());
        }
        let block: Block = bitcoin::consensus::deserialize(raw).map_err(|_| "bad-blk-decode".to_string())?;
        // Contextual in Core (the kernel's context-free check leaves it out).
        if !block.check_witness_commitment() {
            return Err("bad-witness-merkle-match".into());
        }
        if block.header.prev_blockhash.to_byte_array() != ctx.tip {
            return Err("inconclusive-not-best-prevblk".into());
        }
        // Outputs of earlier transactions in the block may be spent by later ones.
        let mut created: HashMap<OutPoint, Utxo> = HashMap::new();
        let mut spent = std::collections::HashSet::new();
        let mut fees = 0u64;
        for tx in block.txdata.iter().skip(1) {
            let mut spent_outs = Vec::with_capacity(tx.input.len());
            let mut value_in = 0u64;
            for input in &tx.input {
                let o = input.previous_output;
                let coin = created.get(&o).or_else(|| self.coins.get(&o));
                let Some(coin) = coin.filter(|_| spent.insert(o)) else {
                    return Err("bad-txns-inputs-missingorspent".into());
                };
                if coin.coinbase && ctx.height < coin.height + COINBASE_MATURITY {
                    return Err("bad-txns-premature-spend-of-coinbase".into());
                }
                value_in = value_in.saturating_add(coin.out.value.to_sat());
                spent_outs.push(coin.out.clone());
            }
            let value_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).fold(0, u64::saturating_add);
            if value_in < value_out {
                return Err("bad-txns-in-belowout".into());
            }
            fees = fees.saturating_add(value_in - value_out);
            verify_scripts(&bitcoin::consensus::serialize(tx), &spent_outs)?;
            let txid = tx.compute_txid();
            for (vout, out) in tx.output.iter().enumerate() {
                created.insert(
                    OutPoint { txid, vout: vout as u32 },
                    Utxo { out: out.clone(), height: ctx.height, coinbase: false },
                );
            }
        }
        let claimed: u64 = block.txdata[0].output.iter().map(|o| o.value.to_sat()).fold(0, u64::saturating_add);
        if claimed > ctx.subsidy.saturating_add(fees) {
            return Err("bad-cb-amount".into());
        }
        Ok(())
    }
}

/// Every input script of `tx` run by libbitcoinkernel against the outputs it spends.
fn verify_scripts(raw_tx: &[u8], spent: &[TxOut]) -> Result<(), String> {
    let tx = bitcoinkernel::Transaction::new(raw_tx).map_err(|_| "bad-txns-decode".to_string())?;
    let outs: Vec<bitcoinkernel::TxOut> = spent
        .iter()
        .map(|o| {
            let script = bitcoinkernel::ScriptPubkey::new(o.script_pubkey.as_bytes());
            script.map(|s| bitcoinkernel::TxOut::new(&s, o.value.to_sat() as i64))
        })
        .collect::<Result<_, _>>()
        .map_err(|_| "bad-txns-prevout-script".to_string())?;
    let data = PrecomputedTransactionData::new(&tx, &outs).map_err(|e| format!("script-verify: {e}"))?;
    for (i, out) in outs.iter().enumerate() {
        let amount = Some(out.value());
        bitcoinkernel::verify(&out.script_pubkey(), amount, &tx, i, Some(bitcoinkernel::VERIFY_ALL), &data)
            .map_err(|_| "mandatory-script-verify-flag-failed".to_string())?;
    }
    Ok(())
}
