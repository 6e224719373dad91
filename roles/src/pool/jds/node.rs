//! The node that decides whether a declared job would make a valid block, and takes the blocks
//! found on declared jobs: Bitcoin Core over JSON-RPC (`getblocktemplate` in proposal mode,
//! `submitblock`), or the embedded regtest node of a template provider in this process.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::tp::kernel::KernelSource;
use crate::tp::rpc::http::RpcClient;
use crate::tp::source::TemplateSource;
use crate::tp::RpcAuth;

/// Where the JDS's node is.
#[derive(Clone)]
pub enum JdNode {
    /// Bitcoin Core's RPC server, `host:port`, with its credentials.
    Rpc {
        /// `host:port`.
        url: String,
        /// Credentials.
        auth: RpcAuth,
    },
    /// The embedded node of a template provider started in this process
    /// ([`crate::tp::TpHandle::embedded_node`]).
    Embedded(Arc<KernelSource>),
}

impl std::fmt::Debug for JdNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JdNode::Rpc { url, .. } => write!(f, "bitcoind RPC at {url}"),
            JdNode::Embedded(_) => f.write_str("embedded node"),
        }
    }
}

/// Time one RPC call may take.
const RPC_TIMEOUT: Duration = Duration::from_secs(30);

/// A connected [`JdNode`].
pub(crate) enum Node {
    Rpc(RpcClient),
    Embedded(Arc<KernelSource>),
}

impl Node {
    pub(crate) fn new(node: &JdNode) -> Self {
        match node {
            JdNode::Rpc { url, auth } => Node::Rpc(RpcClient::new(url.clone(), auth.clone())),
            JdNode::Embedded(k) => Node::Embedded(k.clone()),
        }
    }

    /// The node's verdict on a block proposal: Ok, or its reject reason (a
    /// DeclareMiningJob.Error code). Err: the node could not be asked.
    pub(crate) async fn check(&self, block: Vec<u8>) -> Result<Result<(), String>, String> {
        match self {
            Node::Rpc(c) => {
                let params = json!([{ "mode": "proposal", "data": hex::encode(&block), "rules": ["segwit"] }]);
                match c.call("getblocktemplate", params, RPC_TIMEOUT).await.map_err(|e| e.to_string())? {
                    Value::Null => Ok(Ok(())),
                    Value::String(reason) => Ok(Err(reason)),
                    other => Err(format!("getblocktemplate proposal answered {other}")),
                }
            }
            Node::Embedded(k) => k.check_proposal(block).await.map_err(|e| e.0),
        }
    }

    /// Submits a found block; Ok with the node's verdict in words.
    pub(crate) async fn submit(&self, block: Vec<u8>) -> Result<String, String> {
        match self {
            Node::Rpc(c) => match c.call("submitblock", json!([hex::encode(&block)]), RPC_TIMEOUT).await {
                Ok(Value::Null) => Ok("accepted".into()),
                Ok(other) => Err(format!("rejected: {other}")),
                Err(e) => Err(e.to_string()),
            },
            Node::Embedded(k) => k.submit_block(block).await.map(|v| v.to_string()).map_err(|e| e.0),
        }
    }
}
