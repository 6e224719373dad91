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
