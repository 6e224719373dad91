//! The embedded node's own coins: one key kept in the data directory, paid to both as P2WPKH
//! (segwit) and P2PKH (legacy), and transactions that spend those coins back to itself with a
//! fee, signed with the `bitcoin` and `secp256k1` crates.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash as _;
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{Amount, Block, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use secp256k1::{Message, SecretKey, SECP256K1};

/// Blocks a coinbase output must wait before it can be spent.
pub const COINBASE_MATURITY: u32 = 100;
/// Smallest coin worth splitting (below this the outputs would be dust).
const MIN_SPEND: u64 = 20_000;
/// Fee rates (sat/vB) the node cycles through, so that templates carry a spread of fees.
const FEE_RATES: [u64; 8] = [2, 5, 9, 14, 21, 30, 42, 55];

/// How a coin is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Pay to witness public key hash (segwit v0).
    Wpkh,
    /// Pay to public key hash (legacy).
    Pkh,
}

/// A coin of the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coin {
    /// Value in satoshis.
    pub value: u64,
    /// How it is locked.
    pub lock: Lock,
    /// Height of the block that created it; `None` while it is only in the node's mempool.
    pub height: Option<u32>,
    /// Whether it is a coinbase output (spendable only after [`COINBASE_MATURITY`] blocks).
    pub coinbase: bool,
}

impl Coin {
    /// Whether a transaction in a block at `height` may spend it.
    pub fn spendable_at(&self, height: u32) -> bool {
        match (self.coinbase, self.height) {
            (true, Some(h)) => height >= h + COINBASE_MATURITY,
            (true, None) => false,
            (false, _) => true,
        }
    }
}

/// The key, its two scripts, and the confirmed coins found in the chain.
pub struct Wallet {
    secret: SecretKey,
    public: CompressedPublicKey,
    wpkh: ScriptBuf,
    pkh: ScriptBuf,
    /// Confirmed coins (the node's mempool spends and adds on top of these).
    pub confirmed: HashMap<OutPoint, Coin>,
    counter: u64,
}

impl Wallet {
    /// Loads `wallet.key` from `dir`, making it on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, String> {
        let path = dir.join("wallet.key");
        let secret = if path.exists() {
            let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let bytes = hex::decode(text.trim()).map_err(|e| format!("{}: not hex: {e}", path.display()))?;
            SecretKey::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            let secret = SecretKey::from_slice(&sv2::noise::random_secret().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            write_secret(&path, &hex::encode(secret.secret_bytes()))?;
            secret
        };
        let public = CompressedPublicKey(secret.public_key(SECP256K1));
        Ok(Wallet {
            secret,
            public,
            wpkh: ScriptBuf::new_p2wpkh(&public.wpubkey_hash()),
            pkh: ScriptBuf::new_p2pkh(&public.pubkey_hash()),
            confirmed: HashMap::new(),
            counter: 0,
        })
    }

    /// The script of a lock kind.
    pub fn script(&self, lock: Lock) -> &ScriptBuf {
        match lock {
            Lock::Wpkh => &self.wpkh,
            Lock::Pkh => &self.pkh,
        }
    }

    /// Which of the wallet's scripts `script` is, if any.
    pub fn lock_of(&self, script: &ScriptBuf) -> Option<Lock> {
        if *script == self.wpkh {
            Some(Lock::Wpkh)
        } else if *script == self.pkh {
            Some(Lock::Pkh)
        } else {
            None
        }
    }

    /// The script a block the node mines itself pays to: segwit and legacy in turn.
    pub fn payout_script(&mut self) -> ScriptBuf {
        self.counter += 1;
        self.script(if self.counter % 2 == 0 { Lock::Wpkh } else { Lock::Pkh }).clone()
    }

    /// Records a connected block at `height`: spent coins go, coins paying the wallet come.
    pub fn apply_block(&mut self, block: &Block, height: u32) {
        for tx in &block.txdata {
            if !tx.is_coinbase() {
                for input in &tx.input {
                    self.confirmed.remove(&input.previous_output);
                }
            }
            let txid = tx.compute_txid();
            for (vout, out) in tx.output.iter().enumerate() {
                if let Some(lock) = self.lock_of(&out.script_pubkey) {
                    let coin =
                        Coin { value: out.value.to_sat(), lock, height: Some(height), coinbase: tx.is_coinbase() };
                    self.confirmed.insert(OutPoint { txid, vout: vout as u32 }, coin);
                }
            }
        }
    }

    /// A signed transaction spending `coin` at `outpoint` into two outputs of the wallet (one
    /// segwit, one legacy) with a fee; `None` when the coin is too small to split.
    pub fn split(&mut self, outpoint: OutPoint, coin: Coin) -> Option<(Transaction, u64)> {
        if coin.value < MIN_SPEND {
            return None;
        }
        let rate = FEE_RATES[(self.counter % FEE_RATES.len() as u64) as usize];
        self.counter += 1;
        // Virtual size: 10.5 overhead, the input (68 segwit, 148 legacy), outputs 31 + 34.
        let vsize = match coin.lock {
            Lock::Wpkh => 11 + 68 + 31 + 34,
            Lock::Pkh => 10 + 148 + 31 + 34,
        };
        let fee = rate * vsize;
        let rest = coin.value - fee;
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            }],
            output: vec![
                TxOut { value: Amount::from_sat(rest / 2), script_pubkey: self.wpkh.clone() },
                TxOut { value: Amount::from_sat(rest - rest / 2), script_pubkey: self.pkh.clone() },
            ],
        };
        self.sign(&mut tx, coin).ok()?;
        Some((tx, fee))
    }

    fn sign(&self, tx: &mut Transaction, coin: Coin) -> Result<(), String> {
        let script = self.script(coin.lock).clone();
        let mut cache = SighashCache::new(&*tx);
        let sighash = match coin.lock {
            Lock::Wpkh => cache
                .p2wpkh_signature_hash(0, &script, Amount::from_sat(coin.value), EcdsaSighashType::All)
                .map_err(|e| e.to_string())?
                .to_byte_array(),
            Lock::Pkh => cache
                .legacy_signature_hash(0, &script, EcdsaSighashType::All.to_u32())
                .map_err(|e| e.to_string())?
                .to_byte_array(),
        };
        let signature = bitcoin::ecdsa::Signature {
            signature: SECP256K1.sign_ecdsa(&Message::from_digest(sighash), &self.secret),
            sighash_type: EcdsaSighashType::All,
        };
        match coin.lock {
            Lock::Wpkh => tx.input[0].witness = Witness::p2wpkh(&signature, &self.public.0),
            Lock::Pkh => {
                let sig = PushBytesBuf::try_from(signature.to_vec()).map_err(|e| e.to_string())?;
                tx.input[0].script_sig = Builder::new().push_slice(sig).push_key(&self.public.into()).into_script();
            }
        }
        Ok(())
    }
}

/// Writes a secret readable by its owner only.
fn write_secret(path: &Path, hex_text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(f, "{hex_text}").map_err(|e| format!("{}: {e}", path.display()))
}
