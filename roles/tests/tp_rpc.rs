//! The template provider on Bitcoin Core over JSON-RPC. Against a real `bitcoind -regtest`
//! when one is on the PATH (or named by $BITCOIND), skipped with a message otherwise; the
//! error cases that need no node always run.

mod tp_client;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash as _;
use bitcoin::{absolute::LockTime, transaction::Version, Address, Amount, OutPoint, ScriptBuf, Sequence};
use bitcoin::{Transaction, TxIn, TxOut, Txid, Witness};
use serde_json::{json, Value};
use sv2_roles::tp::rpc::check_chain_info;
use sv2_roles::tp::rpc::http::RpcClient;
use sv2_roles::tp::{BlockVerdict, Network, RpcAuth, RpcConfig, SolutionOutcome, SourceConfig, TpConfig};
use tp_client::{solve, temp_dir, Client, PATIENCE};

fn rpc_config(url: String, auth: RpcAuth, network: Network) -> RpcConfig {
    RpcConfig { url, auth, network, tip_poll: Duration::from_millis(50), timeout: Duration::from_secs(30) }
}

fn tp_config(dir: &Path, rpc: RpcConfig) -> TpConfig {
    let mut c = TpConfig::embedded(dir);
    c.source = SourceConfig::Rpc(rpc);
    c.fee_check_interval = Duration::from_millis(50);
    c.fee_delta_sats = 1;
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_err(config: TpConfig) -> String {
    match sv2_roles::tp::start(config).await {
        Ok(_) => panic!("start should fail"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn unreachable_node_and_missing_cookie_are_clear_errors() {
    let dir = temp_dir("rpc-unreachable");
    let url = format!("127.0.0.1:{}", free_port());
    let auth = RpcAuth::UserPass { user: "u".into(), password: "p".into() };
    let e = start_err(tp_config(&dir, rpc_config(url.clone(), auth, Network::Regtest))).await;
    assert!(e.contains("cannot reach") && e.contains(&url), "{e}");
    let cookie = RpcAuth::Cookie(dir.join("no-such-dir/.cookie"));
    let e = start_err(tp_config(&dir, rpc_config(url, cookie, Network::Regtest))).await;
    assert!(e.contains("cookie") && e.contains("no-such-dir"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_network_and_syncing_nodes_are_refused() {
    let info = |chain: &str, ibd: bool| {
        json!({ "chain": chain, "blocks": 1000, "headers": 900000, "initialblockdownload": ibd,
                "verificationprogress": 0.0012, "bestblockhash": "00".repeat(32) })
    };
    let e = check_chain_info(&info("regtest", false), Network::Mainnet).unwrap_err();
    assert!(e.contains("\"regtest\"") && e.contains("\"main\""), "{e}");
    let e = check_chain_info(&info("main", true), Network::Mainnet).unwrap_err();
    assert!(e.contains("still syncing") && e.contains("1000 of 900000"), "{e}");
    // bitcoind serves templates on regtest while it calls itself in initial download.
    check_chain_info(&info("regtest", true), Network::Regtest).unwrap();
    check_chain_info(&info("testnet4", false), Network::Testnet4).unwrap();
    assert!(check_chain_info(&json!({}), Network::Mainnet).is_err());
}

/// `bitcoind` from $BITCOIND or the PATH.
fn find_bitcoind() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BITCOIND") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("bitcoind")).find(|p| p.is_file())
}

/// A regtest bitcoind in its own directory, killed on drop.
struct Bitcoind {
    child: Child,
    exe: PathBuf,
    dir: PathBuf,
    port: u16,
    rpc: RpcClient,
    url: String,
}

impl Drop for Bitcoind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Bitcoind {
    async fn start(exe: &Path) -> Bitcoind {
        let dir = temp_dir("bitcoind");
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let url = format!("127.0.0.1:{port}");
        let rpc = RpcClient::new(url.clone(), RpcAuth::Cookie(dir.join("regtest/.cookie")));
        let child = Bitcoind::spawn(exe, &dir, port);
        let node = Bitcoind { child, exe: exe.to_owned(), dir, port, rpc, url };
        node.wait_ready().await;
        node
    }

    fn spawn(exe: &Path, dir: &Path, port: u16) -> Child {
        Command::new(exe)
            .args(["-regtest", "-server", "-listen=0", "-printtoconsole=0", "-rpcbind=127.0.0.1"])
            .arg("-rpcallowip=127.0.0.1")
            .arg(format!("-rpcport={port}"))
            .arg(format!("-datadir={}", dir.display()))
            .stdout(Stdio::null())
            .spawn()
            .expect("bitcoind runs")
    }

    /// Waits until the RPC server answers (it writes the cookie, then warms up).
    async fn wait_ready(&self) {
        let ready = async {
            while self.rpc.call("getblockchaininfo", json!([]), PATIENCE).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(PATIENCE, ready).await.expect("bitcoind starts");
    }

    /// Stops bitcoind and starts it again on the same data and port.
    async fn restart(&mut self) {
        self.call("stop", json!([])).await;
        let _ = self.child.wait();
        self.child = Bitcoind::spawn(&self.exe, &self.dir, self.port);
        self.wait_ready().await;
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        self.rpc.call(method, params, PATIENCE).await.unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    fn config(&self) -> RpcConfig {
        rpc_config(self.url.clone(), RpcAuth::Cookie(self.dir.join("regtest/.cookie")), Network::Regtest)
    }
}

/// OP_TRUE in P2WSH: anyone can spend it with the script as the only witness item.
fn anyone_can_spend() -> ScriptBuf {
    ScriptBuf::from_bytes(vec![0x51])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitcoind_regtest_templates_blocks_and_errors() {
    let Some(exe) = find_bitcoind() else {
        // Written past the test harness's capture, so that the skip shows in every run.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED bitcoind_regtest_templates_blocks_and_errors: no bitcoind on the PATH (set BITCOIND=/path/to/bitcoind)"
        );
        return;
    };
    sv2_roles::logging::init("error");
    let mut node = Bitcoind::start(&exe).await;
    let address = Address::p2wsh(&anyone_can_spend(), bitcoin::Network::Regtest);
    node.call("generatetoaddress", json!([101, address.to_string()])).await;

    // Wrong network and wrong credentials are refused with a clear error.
    let dir = temp_dir("rpc-tp");
    let mut wrong_net = node.config();
    wrong_net.network = Network::Signet;
    let e = start_err(tp_config(&dir, wrong_net)).await;
    assert!(e.contains("\"regtest\""), "{e}");
    let mut wrong_auth = node.config();
    wrong_auth.auth = RpcAuth::UserPass { user: "nobody".into(), password: "wrong".into() };
    let e = start_err(tp_config(&dir, wrong_auth)).await;
    assert!(e.contains("credentials"), "{e}");

    let tp = sv2_roles::tp::start(tp_config(&dir, node.config())).await.expect("TP on bitcoind");
    assert_eq!(tp.tip().height, 101);
    let mut reports = tp.solutions();
    let mut client = Client::connect(&tp, 100, 4).await;
    let (t, p) = client.next_tip().await;
    let best = node.call("getbestblockhash", json!([])).await;
    assert_eq!(p.prev.iter().rev().copied().collect::<Vec<u8>>(), hex::decode(best.as_str().unwrap()).unwrap());

    // A coinbase-only block, accepted by bitcoind.
    let s = solve(&t, &p, t.value, true);
    client.submit(&s).await.unwrap();
    let r = tokio::time::timeout(PATIENCE, reports.recv()).await.unwrap().unwrap();
    assert_eq!(r.outcome, SolutionOutcome::Node(BlockVerdict::NewTip));
    let (t2, p2) = client.next_tip().await;
    assert_eq!(p2.prev, s.hash);
    assert_eq!(node.call("getblockcount", json!([])).await, json!(102));

    // A segwit transaction in bitcoind's mempool: a fee-driven template carries it, the
    // transaction data matches, and the block with it is accepted.
    let first = node.call("getblockhash", json!([1])).await;
    let block1 = node.call("getblock", json!([first, 2])).await;
    let coinbase_txid: Txid = block1["tx"][0]["txid"].as_str().unwrap().parse().unwrap();
    let spend = Transaction {
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
            script_pubkey: address.script_pubkey(),
        }],
    };
    node.call("sendrawtransaction", json!([hex::encode(serialize(&spend))])).await;
    let t3 = client.next_template().await;
    assert!(!t3.future && t3.id > t2.id && t3.value == t2.value + 10_000);
    let txs = client.tx_data(t3.id).await.unwrap();
    assert_eq!(txs.len(), 1);
    let got: Transaction = deserialize(&txs[0]).unwrap();
    assert_eq!(got.compute_wtxid(), spend.compute_wtxid());
    assert_eq!(t3.path, vec![spend.compute_txid().to_byte_array()]);
    let s3 = solve(&t3, &p2, t3.value, true);
    client.submit(&s3).await.unwrap();
    let r = tokio::time::timeout(PATIENCE, reports.recv()).await.unwrap().unwrap();
    assert_eq!(r.outcome, SolutionOutcome::Node(BlockVerdict::NewTip));
    let (t4, p4) = client.next_tip().await;
    assert_eq!(p4.prev, s3.hash);
    let mined = node.call("getblock", json!([bitcoin::BlockHash::from_byte_array(s3.hash).to_string(), 1])).await;
    assert_eq!(mined["tx"][1].as_str().unwrap(), spend.compute_txid().to_string());

    // A wrong solution: bitcoind's verdict, the tip stays.
    let greedy = solve(&t4, &p4, t4.value + 1, true);
    client.submit(&greedy).await.unwrap();
    let r = tokio::time::timeout(PATIENCE, reports.recv()).await.unwrap().unwrap();
    assert_eq!(r.outcome, SolutionOutcome::Node(BlockVerdict::Rejected("bad-cb-amount".into())));
    assert_eq!(node.call("getblockcount", json!([])).await, json!(103));

    // A block from elsewhere (bitcoind mines it): the tip check brings the next template.
    let mined = node.call("generatetoaddress", json!([1, address.to_string()])).await;
    let (_, p6) = client.next_tip().await;
    assert_eq!(bitcoin::BlockHash::from_byte_array(p6.prev).to_string(), mined[0].as_str().unwrap());

    // bitcoind goes away and comes back (with a new cookie): the provider picks it up again.
    node.restart().await;
    let mined = node.call("generatetoaddress", json!([1, address.to_string()])).await;
    let (t7, p7) = client.next_tip().await;
    assert_eq!(bitcoin::BlockHash::from_byte_array(p7.prev).to_string(), mined[0].as_str().unwrap());
    let s7 = solve(&t7, &p7, t7.value, true);
    client.submit(&s7).await.unwrap();
    let r = tokio::time::timeout(PATIENCE, reports.recv()).await.unwrap().unwrap();
    assert_eq!(r.outcome, SolutionOutcome::Node(BlockVerdict::NewTip));
    assert_eq!(node.call("getblockcount", json!([])).await, json!(106));
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
