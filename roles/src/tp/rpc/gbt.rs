//! Bitcoin Core's `getblocktemplate` reply (BIP22/BIP23 with the segwit rule) read into a
//! [`BlockTemplate`].

use serde_json::Value;

use crate::tp::template::{BlockTemplate, TemplateTx};

/// A parsed reply and its long-poll id.
pub struct GbtReply {
    /// The template.
    pub template: BlockTemplate,
    /// Pass back to wait for the next change.
    pub longpollid: Option<String>,
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name).ok_or_else(|| format!("getblocktemplate: no {name:?}"))
}

fn uint(v: &Value, name: &str) -> Result<u64, String> {
    field(v, name)?.as_u64().ok_or_else(|| format!("getblocktemplate: {name:?} is not a non-negative integer"))
}

fn u32_field(v: &Value, name: &str) -> Result<u32, String> {
    u32::try_from(uint(v, name)?).map_err(|_| format!("getblocktemplate: {name:?} out of range"))
}

/// A 32-byte hash as RPC prints it (byte-reversed hex), in internal byte order.
pub fn hash_from_rpc(v: &Value, name: &str) -> Result<[u8; 32], String> {
    let text = field(v, name)?.as_str().ok_or_else(|| format!("{name:?} is not a string"))?;
    let mut h: [u8; 32] = hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{name:?} is not a 32-byte hex hash: {text:?}"))?;
    h.reverse();
    Ok(h)
}

/// Reads a getblocktemplate result.
pub fn parse(v: &Value) -> Result<GbtReply, String> {
    // Header versions are signed in Bitcoin Core; the wire field is its two's complement.
    let version = field(v, "version")?.as_i64().ok_or("getblocktemplate: \"version\" is not an integer")? as u32;
    let bits_text = field(v, "bits")?.as_str().ok_or("getblocktemplate: \"bits\" is not a string")?;
    let bits = u32::from_str_radix(bits_text, 16).map_err(|_| format!("getblocktemplate: bad bits {bits_text:?}"))?;
    let coinbase_value = uint(v, "coinbasevalue")?;
    let time = u32_field(v, "curtime")?.max(u32_field(v, "mintime").unwrap_or(0));
    let list = field(v, "transactions")?.as_array().ok_or("getblocktemplate: \"transactions\" is not a list")?;
    let txs = list
        .iter()
        .enumerate()
        .map(|(i, t)| tx(t).map_err(|e| format!("transaction {i}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let fees = txs.iter().try_fold(0u64, |acc, t| acc.checked_add(t.fee)).ok_or("getblocktemplate: fees overflow")?;
    let subsidy = coinbase_value
        .checked_sub(fees)
        .ok_or_else(|| format!("getblocktemplate: coinbasevalue {coinbase_value} below the fees {fees}"))?;
    let template = BlockTemplate {
        height: u32_field(v, "height")?,
        prev_hash: hash_from_rpc(v, "previousblockhash")?,
        version,
        bits,
        time,
        subsidy,
        txs,
    };
    let longpollid = v.get("longpollid").and_then(Value::as_str).map(str::to_owned);
    Ok(GbtReply { template, longpollid })
}

fn tx(t: &Value) -> Result<TemplateTx, String> {
    let data_hex = field(t, "data")?.as_str().ok_or("\"data\" is not a string")?;
    let data = hex::decode(data_hex).map_err(|_| "\"data\" is not hex".to_owned())?;
    Ok(TemplateTx {
        data,
        txid: hash_from_rpc(t, "txid")?,
        wtxid: hash_from_rpc(t, "hash")?,
        fee: uint(t, "fee")?,
        weight: uint(t, "weight")?,
        sigops_cost: uint(t, "sigops")?,
    })
}

#[cfg(test)]
mod tests {
    use bitcoin::consensus::serialize;
    use bitcoin::hashes::Hash as _;
    use bitcoin::{absolute::LockTime, transaction::Version, Amount, OutPoint, ScriptBuf, Sequence};
    use bitcoin::{Transaction, TxIn, TxOut, Witness};
    use serde_json::json;

    use super::*;

    /// A segwit transaction (it need not be valid to be parsed).
    fn segwit_tx(n: u8) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint { txid: bitcoin::Txid::from_byte_array([n; 32]), vout: 1 },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(&[vec![0x51]]),
            }],
            output: vec![TxOut { value: Amount::from_sat(1000), script_pubkey: ScriptBuf::from_bytes(vec![0x51]) }],
        }
    }

    /// What Bitcoin Core's getblocktemplate prints for `txs` (hashes byte-reversed).
    fn reply(txs: &[Transaction]) -> Value {
        let list: Vec<Value> = txs
            .iter()
            .enumerate()
            .map(|(i, tx)| {
                json!({
                    "data": hex::encode(serialize(tx)),
                    "txid": tx.compute_txid().to_string(),
                    "hash": tx.compute_wtxid().to_string(),
                    "depends": [],
                    "fee": 100 + i as u64,
                    "sigops": 1,
                    "weight": tx.weight().to_wu(),
                })
            })
            .collect();
        json!({
            "capabilities": ["proposal"],
            "version": 536870912,
            "rules": ["csv", "!segwit", "taproot"],
            "vbavailable": {},
            "vbrequired": 0,
            "previousblockhash": "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
            "transactions": list,
            "coinbaseaux": {},
            "coinbasevalue": 5_000_000_000u64 + 201,
            "longpollid": "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e22060",
            "target": "7fffff0000000000000000000000000000000000000000000000000000000000",
            "mintime": 1_700_000_001,
            "mutable": ["time", "transactions", "prevblock"],
            "noncerange": "00000000ffffffff",
            "sigoplimit": 80000,
            "sizelimit": 4000000,
            "weightlimit": 4000000,
            "curtime": 1_700_000_100,
            "bits": "207fffff",
            "height": 1,
            "default_witness_commitment": "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9"
        })
    }

    #[test]
    fn a_core_reply_is_read_in_internal_byte_order() {
        let txs = [segwit_tx(1), segwit_tx(2)];
        let r = parse(&reply(&txs)).unwrap();
        let t = r.template;
        assert_eq!(t.height, 1);
        assert_eq!(t.version, 0x2000_0000);
        assert_eq!(t.bits, 0x207f_ffff);
        assert_eq!(t.time, 1_700_000_100);
        assert_eq!(t.subsidy, 5_000_000_000);
        assert_eq!(t.total_fees(), 201);
        // The regtest genesis hash, as the header carries it.
        let mut genesis = hex::decode("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206").unwrap();
        genesis.reverse();
        assert_eq!(t.prev_hash.to_vec(), genesis);
        for (got, tx) in t.txs.iter().zip(&txs) {
            assert_eq!(got.txid, tx.compute_txid().to_byte_array());
            assert_eq!(got.wtxid, tx.compute_wtxid().to_byte_array());
            assert_ne!(got.txid, got.wtxid);
            assert_eq!(got.data, serialize(tx));
            assert_eq!(got.weight, tx.weight().to_wu());
        }
        assert_eq!(r.longpollid.as_deref(), Some("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e22060"));
    }

    #[test]
    fn broken_replies_are_named() {
        let base = reply(&[segwit_tx(1)]);
        let broken = |f: &dyn Fn(&mut Value)| {
            let mut v = base.clone();
            f(&mut v);
            parse(&v).err().expect("refused")
        };
        assert!(broken(&|v| v["bits"] = json!("zz")).contains("bits"));
        assert!(broken(&|v| v["previousblockhash"] = json!("abcd")).contains("previousblockhash"));
        assert!(broken(&|v| v["height"] = json!(-1)).contains("height"));
        assert!(broken(&|v| v["coinbasevalue"] = json!(10)).contains("below the fees"));
        assert!(broken(&|v| v["transactions"][0]["data"] = json!("xyz")).contains("transaction 0"));
        assert!(broken(&|v| v["transactions"][0]["fee"] = json!(-5)).contains("fee"));
        assert!(broken(&|v| v.as_object_mut().unwrap().clear()).contains("no"));
        assert!(parse(&json!(null)).is_err());
    }
}
