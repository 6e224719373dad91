//! Bitcoin Core over JSON-RPC as a template source: `getblocktemplate` with the segwit rule,
//! a long poll plus a fast best-block check to notice new tips, and `submitblock`.

pub mod gbt;
pub mod http;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::http::{RpcClient, RpcError};
use super::config::{Network, RpcConfig};
use super::source::{display_hash, BlockVerdict, SourceError, TemplateSource, TipInfo};
use super::template::BlockTemplate;

/// How long one long poll may wait before it is asked again (bitcoind holds it until the tip
/// changes, or the mempool changed and a minute passed).
const LONG_POLL: Duration = Duration::from_secs(300);

/// Bitcoin Core.
pub struct RpcSource {
    client: Arc<RpcClient>,
    config: RpcConfig,
    tips: Arc<watch::Sender<TipInfo>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

fn gbt_params(longpollid: Option<&str>) -> Value {
    match longpollid {
        Some(id) => json!([{ "rules": ["segwit"], "longpollid": id }]),
        None => json!([{ "rules": ["segwit"] }]),
    }
}

impl RpcSource {
    /// Connects and checks that the node is reachable, on the configured network, and not
    /// in its initial sync; then starts watching its tip.
    pub async fn connect(config: RpcConfig) -> Result<Self, String> {
        let client = Arc::new(RpcClient::new(config.url.clone(), config.auth.clone()));
        let info = client.call("getblockchaininfo", json!([]), config.timeout).await.map_err(|e| e.to_string())?;
        check_chain_info(&info, config.network)?;
        let tip = TipInfo {
            height: info.get("blocks").and_then(Value::as_u64).unwrap_or(0) as u32,
            hash: gbt::hash_from_rpc(&info, "bestblockhash")?,
            seen: Instant::now(),
        };
        tracing::info!(
            "bitcoind at {} on {}: tip {} at height {}",
            config.url,
            config.network.core_chain_name(),
            tip.hash_hex(),
            tip.height
        );
        let tips = Arc::new(watch::channel(tip).0);
        let tasks = vec![
            tokio::spawn(poll_tip(client.clone(), tips.clone(), config.tip_poll, config.timeout)),
            tokio::spawn(long_poll(client.clone(), tips.clone())),
        ];
        Ok(RpcSource { client, config, tips, tasks: Mutex::new(tasks) })
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, SourceError> {
        self.client.call(method, params, self.config.timeout).await.map_err(|e| SourceError(e.to_string()))
    }
}

/// Refuses a node on another network, or (outside regtest, where bitcoind serves templates
/// regardless) one still in its initial block download.
pub fn check_chain_info(info: &Value, network: Network) -> Result<(), String> {
    let chain = info.get("chain").and_then(Value::as_str).ok_or("getblockchaininfo: no chain")?;
    if chain != network.core_chain_name() {
        return Err(format!(
            "bitcoind is on {chain:?} but the template provider is configured for {:?} (set rpc network / --network)",
            network.core_chain_name()
        ));
    }
    if network != Network::Regtest && info.get("initialblockdownload").and_then(Value::as_bool) == Some(true) {
        let blocks = info.get("blocks").and_then(Value::as_u64).unwrap_or(0);
        let headers = info.get("headers").and_then(Value::as_u64).unwrap_or(0);
        let progress = info.get("verificationprogress").and_then(Value::as_f64).unwrap_or(0.0);
        return Err(format!(
            "bitcoind is still syncing: block {blocks} of {headers} headers ({:.1}% verified); \
             start the template provider when it has caught up",
            progress * 100.0
        ));
    }
    Ok(())
}

fn set_tip(tips: &watch::Sender<TipInfo>, height: u32, hash: [u8; 32]) {
    tips.send_if_modified(|t| {
        let changed = t.hash != hash;
        if changed {
            *t = TipInfo { height, hash, seen: Instant::now() };
        }
        changed
    });
}

/// Asks for the best block hash every `every`; logs when the node goes away and comes back.
async fn poll_tip(client: Arc<RpcClient>, tips: Arc<watch::Sender<TipInfo>>, every: Duration, deadline: Duration) {
    let mut failing = false;
    loop {
        tokio::time::sleep(every).await;
        let r = async {
            let best = client.call("getbestblockhash", json!([]), deadline).await?;
            let hash = gbt::hash_from_rpc(&json!({ "h": best }), "h").map_err(RpcError::Protocol)?;
            if hash != tips.borrow().hash {
                let header = client.call("getblockheader", json!([best]), deadline).await?;
                let height = header.get("height").and_then(Value::as_u64).unwrap_or(0) as u32;
                set_tip(&tips, height, hash);
            }
            Ok::<_, RpcError>(())
        }
        .await;
        match (r, failing) {
            (Err(e), false) => {
                tracing::warn!("lost bitcoind: {e}");
                failing = true;
            }
            (Ok(()), true) => {
                tracing::info!("bitcoind reachable again");
                failing = false;
            }
            _ => {}
        }
    }
}

/// Holds a getblocktemplate long poll open; bitcoind answers it as soon as its tip changes.
async fn long_poll(client: Arc<RpcClient>, tips: Arc<watch::Sender<TipInfo>>) {
    let mut longpollid: Option<String> = None;
    loop {
        match client.call("getblocktemplate", gbt_params(longpollid.as_deref()), LONG_POLL).await {
            Ok(v) => match gbt::parse(&v) {
                Ok(reply) => {
                    set_tip(&tips, reply.template.height.saturating_sub(1), reply.template.prev_hash);
                    longpollid = reply.longpollid;
                }
                Err(e) => {
                    tracing::warn!("long poll: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            // A long poll that simply ran out of time is asked again at once.
            Err(RpcError::Timeout(..)) => {}
            Err(_) => {
                // poll_tip reports the node's state; avoid a busy loop while it is away.
                longpollid = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

impl TemplateSource for RpcSource {
    fn describe(&self) -> String {
        format!("bitcoind over RPC at {} ({})", self.client.addr(), self.config.network.core_chain_name())
    }

    fn tips(&self) -> watch::Receiver<TipInfo> {
        self.tips.subscribe()
    }

    async fn template(&self) -> Result<BlockTemplate, SourceError> {
        let v = self.call("getblocktemplate", gbt_params(None)).await?;
        let t = gbt::parse(&v).map_err(SourceError)?.template;
        set_tip(&self.tips, t.height.saturating_sub(1), t.prev_hash);
        Ok(t)
    }

    async fn submit_block(&self, block: Vec<u8>) -> Result<BlockVerdict, SourceError> {
        let hash_hex = block.get(..80).map(|h| display_hash(&sv2::channels::hash::sha256d(h))).unwrap_or_default();
        let v = self.call("submitblock", json!([hex::encode(&block)])).await?;
        match v.as_str() {
            None => {
                let header = self.call("getblockheader", json!([hash_hex])).await?;
                let height = header.get("height").and_then(Value::as_u64).unwrap_or(0) as u32;
                let best = self.call("getbestblockhash", json!([])).await?;
                if best.as_str() == Some(hash_hex.as_str()) {
                    set_tip(&self.tips, height, gbt::hash_from_rpc(&json!({ "h": best }), "h").map_err(SourceError)?);
                    Ok(BlockVerdict::NewTip)
                } else {
                    Ok(BlockVerdict::AcceptedNotTip)
                }
            }
            Some("duplicate") => Ok(BlockVerdict::Duplicate),
            Some("inconclusive") => Ok(BlockVerdict::AcceptedNotTip),
            Some(reason) => Ok(BlockVerdict::Rejected(reason.to_owned())),
        }
    }

    async fn close(&self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }
}
