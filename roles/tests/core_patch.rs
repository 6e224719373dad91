//! Bitcoin Core with bitcoin-core-patch/ applied: the Template Provider inside bitcoind
//! (`-sv2`) serves Template Distribution over Noise to the test client of `tp_client` —
//! handshake pinned to the authority key bitcoind keeps in its data directory, templates on
//! each tip, a fee rise, RequestTransactionData, SubmitSolution advancing the tip, and the
//! same key after a restart. Then the tip-to-template latency inside bitcoind next to the
//! standalone `sv2 tp` on the same node over RPC.
//!
//! Runs against the bitcoind named by $SV2_CORE_BITCOIND (scripts/test-core-patch.sh builds
//! it and sets it); without it the test says it is skipped.

mod jds_client;
mod pool_common;
mod tp_client;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash as _;
use bitcoin::{absolute::LockTime, transaction::Version, Address, Amount, BlockHash, OutPoint, ScriptBuf, Sequence};
use bitcoin::{Transaction, TxIn, TxOut, Txid, Witness};
use jds_client::{declaration, spending_nothing, tip, Jdc, Miner};
use pool_common::PAYOUT;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use sv2::channels::hash::{header_bytes, merkle_root, sha256d};
use sv2::jd::client::Event as JdEvent;
use sv2::noise::AuthorityPublicKey;
use sv2_roles::pool::jds::{JdNode, JdServerConfig};
use sv2_roles::pool::PoolConfig;
use sv2_roles::tp::rpc::http::RpcClient;
use sv2_roles::tp::{Network, RpcAuth, RpcConfig, SourceConfig, TpConfig};
use tp_client::{solve, temp_dir, Client, Event, PrevHash, PATIENCE};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A patched bitcoind on regtest with the Template Provider on, killed on drop.
struct Node {
    child: Child,
    exe: PathBuf,
    dir: PathBuf,
    rpc_port: u16,
    sv2_port: u16,
    rpc: RpcClient,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Node {
    /// `name` keeps the data directories of tests running at once apart.
    async fn start(exe: &Path, name: &str) -> Node {
        let dir = temp_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        let (rpc_port, sv2_port) = (free_port(), free_port());
        let rpc = RpcClient::new(format!("127.0.0.1:{rpc_port}"), RpcAuth::Cookie(dir.join("regtest/.cookie")));
        let child = Node::spawn(exe, &dir, rpc_port, sv2_port);
        let node = Node { child, exe: exe.to_owned(), dir, rpc_port, sv2_port, rpc };
        node.wait_ready().await;
        node
    }

    fn spawn(exe: &Path, dir: &Path, rpc_port: u16, sv2_port: u16) -> Child {
        Command::new(exe)
            .args(["-regtest", "-server", "-listen=0", "-printtoconsole=0", "-rpcbind=127.0.0.1"])
            .args(["-rpcallowip=127.0.0.1", "-debug=sv2", "-sv2", "-sv2interval=1", "-sv2feedelta=1"])
            .arg(format!("-rpcport={rpc_port}"))
            .arg(format!("-sv2port={sv2_port}"))
            .arg(format!("-datadir={}", dir.display()))
            .stdout(Stdio::null())
            .spawn()
            .expect("bitcoind runs")
    }

    async fn wait_ready(&self) {
        let ready = async {
            while self.rpc.call("getblockchaininfo", json!([]), PATIENCE).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(PATIENCE, ready).await.expect("bitcoind starts");
    }

    async fn restart(&mut self) {
        self.call("stop", json!([])).await;
        let _ = self.child.wait();
        self.child = Node::spawn(&self.exe, &self.dir, self.rpc_port, self.sv2_port);
        self.wait_ready().await;
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        self.rpc.call(method, params, PATIENCE).await.unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// The authority key bitcoind keeps next to its chain, as pools pin it.
    fn authority(&self) -> (String, AuthorityPublicKey) {
        let text = std::fs::read_to_string(self.dir.join("regtest/sv2_authority.pub")).unwrap();
        let text = text.trim().to_owned();
        let key = text.parse().expect("base58check authority key");
        (text, key)
    }

    fn sv2_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.sv2_port))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("regtest/debug.log")).unwrap_or_default()
    }

    async fn tip(&self) -> [u8; 32] {
        let best = self.call("getbestblockhash", json!([])).await;
        best.as_str().unwrap().parse::<BlockHash>().unwrap().to_byte_array()
    }

    /// Waits until the node's tip is `hash`.
    async fn wait_tip(&self, hash: [u8; 32]) {
        let wait = async {
            while self.tip().await != hash {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(PATIENCE, wait).await.expect("the solution becomes the tip");
    }
}

/// OP_TRUE in P2WSH: anyone can spend it with the script as the only witness item.
fn anyone_can_spend() -> ScriptBuf {
    ScriptBuf::from_bytes(vec![0x51])
}

/// A transaction spending the anyone-can-spend coinbase of block `height` (mature from 101
/// blocks on) to the same script, paying 10 000 sat of fees.
async fn spend_coinbase(node: &Node, height: u32) -> Transaction {
    let hash = node.call("getblockhash", json!([height])).await;
    let block = node.call("getblock", json!([hash, 2])).await;
    let coinbase_txid: Txid = block["tx"][0]["txid"].as_str().unwrap().parse().unwrap();
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: coinbase_txid, vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[anyone_can_spend().into_bytes()]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50 * 100_000_000 - 10_000),
            script_pubkey: ScriptBuf::new_p2wsh(&anyone_can_spend().wscript_hash()),
        }],
    }
}

fn patched_bitcoind() -> Option<PathBuf> {
    let exe = std::env::var_os("SV2_CORE_BITCOIND").map(PathBuf::from);
    if exe.is_none() {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED core_patch: set SV2_CORE_BITCOIND to a bitcoind built with bitcoin-core-patch/ (scripts/test-core-patch.sh)"
        );
    }
    exe
}

/// Skips messages until SetNewPrevHash.
async fn next_prev_hash(client: &mut Client) -> PrevHash {
    loop {
        if let Event::PrevHash(p) = client.next().await {
            return p;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitcoind_template_provider_serves_templates_and_takes_blocks() {
    let Some(exe) = patched_bitcoind() else { return };
    sv2_roles::logging::init("error");
    let mut node = Node::start(&exe, "core-patch-templates").await;
    let (text, authority) = node.authority();
    assert!(node.log().contains(&format!("authority key {text}")), "bitcoind logs the authority key");
    let address = Address::p2wsh(&anyone_can_spend(), bitcoin::Network::Regtest);
    node.call("generatetoaddress", json!([101, address.to_string()])).await;

    // Handshake pinned to the authority, SetupConnection, constraints, then a template and
    // its SetNewPrevHash on the node's tip.
    let mut client = Client::connect_to(node.sv2_addr(), authority, 100, 4).await;
    let (t, p) = client.next_tip().await;
    assert_eq!(p.prev, node.tip().await);
    assert!(t.value == 50 * 100_000_000 && t.path.is_empty());

    // A coinbase-only block through SubmitSolution: the tip moves, the next template follows.
    let s = solve(&t, &p, t.value, true);
    client.submit(&s).await.unwrap();
    node.wait_tip(s.hash).await;
    let (t2, p2) = client.next_tip().await;
    assert_eq!(p2.prev, s.hash);
    assert!(t2.id > t.id);

    // A transaction in the mempool raises the fees: a template for the same tip carries it.
    let spend = spend_coinbase(&node, 1).await;
    node.call("sendrawtransaction", json!([hex::encode(serialize(&spend))])).await;
    let t3 = client.next_template().await;
    assert!(!t3.future && t3.id > t2.id, "{t3:?}");
    assert_eq!(t3.value, t2.value + 10_000);
    assert_eq!(t3.path, vec![spend.compute_txid().to_byte_array()]);

    // RequestTransactionData: the transaction, with its witness; unknown ids are refused.
    let txs = client.tx_data(t3.id).await.unwrap();
    assert_eq!(txs.len(), 1);
    let got: Transaction = deserialize(&txs[0]).unwrap();
    assert_eq!(got.compute_wtxid(), spend.compute_wtxid());
    assert_eq!(client.tx_data(t3.id + 1000).await.unwrap_err(), "template-id-not-found");

    // A solution claiming one satoshi too many is no block; the right one is, with the spend.
    let greedy = solve(&t3, &p2, t3.value + 1, true);
    client.submit(&greedy).await.unwrap();
    let s3 = solve(&t3, &p2, t3.value, true);
    client.submit(&s3).await.unwrap();
    node.wait_tip(s3.hash).await;
    let mined = node.call("getblock", json!([BlockHash::from_byte_array(s3.hash).to_string(), 1])).await;
    assert_eq!(mined["tx"][1].as_str().unwrap(), spend.compute_txid().to_string());
    assert_eq!(node.call("getblockcount", json!([])).await, json!(103));
    let p4 = next_prev_hash(&mut client).await;
    assert_eq!(p4.prev, s3.hash);

    // A restart keeps the authority key: a client pinned to it connects again.
    drop(client);
    node.restart().await;
    assert_eq!(node.authority().0, text);
    let mut client = Client::connect_to(node.sv2_addr(), authority, 100, 4).await;
    let (_, p5) = client.next_tip().await;
    assert_eq!(p5.prev, s3.hash);
}

/// The next SetNewPrevHash and how long after `start` it arrived.
async fn timed(client: &mut Client, start: Instant) -> (PrevHash, Duration) {
    let p = next_prev_hash(client).await;
    (p, start.elapsed())
}

/// Median of a few samples, in milliseconds.
fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tip_latency_inside_bitcoind_and_over_rpc() {
    let Some(exe) = patched_bitcoind() else { return };
    sv2_roles::logging::init("error");
    let node = Node::start(&exe, "core-patch-latency").await;
    let address = Address::p2wsh(&anyone_can_spend(), bitcoin::Network::Regtest).to_string();
    node.call("generatetoaddress", json!([101, address])).await;

    // The standalone template provider on the same node, with its default settings.
    let dir = temp_dir("core-patch-rpc-tp");
    let mut config = TpConfig::embedded(&dir);
    config.source = SourceConfig::Rpc(RpcConfig {
        url: format!("127.0.0.1:{}", node.rpc_port),
        auth: RpcAuth::Cookie(node.dir.join("regtest/.cookie")),
        network: Network::Regtest,
        tip_poll: Duration::from_millis(250),
        timeout: Duration::from_secs(30),
    });
    let standalone = sv2_roles::tp::start(config).await.expect("sv2 tp over RPC");

    let mut inside = Client::connect_to(node.sv2_addr(), node.authority().1, 100, 4).await;
    let mut outside = Client::connect_to(standalone.addr(), standalone.authority(), 100, 4).await;
    inside.next_tip().await;
    outside.next_tip().await;

    // From just before generatetoaddress to the client holding the SetNewPrevHash of the tip.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let start = Instant::now();
        let mined = node.call("generatetoaddress", json!([1, address])).await;
        let hash: BlockHash = mined[0].as_str().unwrap().parse().unwrap();
        let ((pa, ta), (pb, tb)) = tokio::join!(timed(&mut inside, start), timed(&mut outside, start));
        assert_eq!(pa.prev, hash.to_byte_array());
        assert_eq!(pb.prev, hash.to_byte_array());
        a.push(ta);
        b.push(tb);
    }
    // Written past the test harness's capture, so that the numbers show in every run.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "tip -> NewTemplate + SetNewPrevHash, median of 7 blocks: inside bitcoind (-sv2) {:.1} ms, sv2 tp over RPC {:.1} ms",
        median_ms(a),
        median_ms(b)
    );
    standalone.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pools_jds_takes_bitcoin_cores_verdict_over_rpc() {
    let Some(exe) = patched_bitcoind() else { return };
    sv2_roles::logging::init("error");
    let node = Node::start(&exe, "core-patch-jds").await;
    let (_, authority) = node.authority();
    let address = Address::p2wsh(&anyone_can_spend(), bitcoin::Network::Regtest).to_string();
    node.call("generatetoaddress", json!([101, address])).await;
    let spend = spend_coinbase(&node, 1).await;
    node.call("sendrawtransaction", json!([hex::encode(serialize(&spend))])).await;

    // The pool on the patched bitcoind's Template Provider, its JDS asking bitcoind over RPC.
    let dir = temp_dir("core-patch-jds-pool");
    let mut config = PoolConfig::new(&dir, node.sv2_addr().to_string(), PAYOUT.to_vec());
    config.tp_authority = Some(authority);
    config.min_difficulty = 1e-12;
    let rpc = JdNode::Rpc {
        url: format!("127.0.0.1:{}", node.rpc_port),
        auth: RpcAuth::Cookie(node.dir.join("regtest/.cookie")),
    };
    config.jds = Some(JdServerConfig::new("127.0.0.1:0".parse().unwrap(), rpc));
    let pool = sv2_roles::pool::start(config).await.expect("pool starts");

    // The farm's template: the node's, with the spend in it.
    let mut client = Client::connect_to(node.sv2_addr(), authority, 100, 4).await;
    let (mut t, p) = client.next_tip().await;
    while t.path.is_empty() {
        t = client.next_template().await;
    }
    let txs = client.tx_data(t.id).await.unwrap();
    let mut jdc = Jdc::connect(&pool, true).await;

    // A coin that does not exist: refused with bitcoind's own reason.
    let bogus = vec![spending_nothing(0)];
    jdc.token().await;
    jdc.declare(&declaration(&t, &bogus), &tip(&p), &bogus).await;
    let refusal = loop {
        match jdc.next().await {
            JdEvent::JobRefused { code, .. } => break code,
            JdEvent::MissingTransactionsSent { .. } => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    assert_eq!(refusal, "bad-txns-inputs-missingorspent");

    // The template's own transactions: accepted, mined as a custom job, and the block (with the
    // spend) becomes bitcoind's tip.
    jdc.token().await;
    let decl = declaration(&t, &txs);
    jdc.declare(&decl, &tip(&p), &txs).await;
    let mut req = loop {
        match jdc.next().await {
            JdEvent::JobDeclared(req) => break req,
            JdEvent::MissingTransactionsSent { .. } => {}
            other => panic!("expected the declaration accepted, got {other:?}"),
        }
    };
    let mut miner = Miner::connect(&pool).await;
    let job_id = miner.set_custom(&mut req).await.expect("SetCustomMiningJob accepted");
    let (extranonce, nonce) = miner.share(&req, job_id).await;
    let root = merkle_root(&req.coinbase.parts().unwrap().stripped(&extranonce), &req.merkle_path);
    let header = header_bytes(req.version, &req.prev_hash, &root, req.min_ntime, req.nbits, nonce);
    let hash = sha256d(&header);
    node.wait_tip(hash).await;
    let mined = node.call("getblock", json!([BlockHash::from_byte_array(hash).to_string(), 1])).await;
    assert_eq!(mined["tx"][1].as_str().unwrap(), spend.compute_txid().to_string());
    let stats = pool.jds_stats().unwrap();
    assert!(stats.jobs_refused.load(Ordering::Relaxed) >= 1 && stats.jobs_declared.load(Ordering::Relaxed) >= 1);

    pool.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
