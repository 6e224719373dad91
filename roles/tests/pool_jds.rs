//! The pool's Job Declaration Server end to end: a template provider on the embedded regtest
//! node, the pool with its JDS checking declared jobs with that node (the pool in this process
//! gets the node's handle), a JD client from rust-core's `JobDeclarationClient` over a real
//! Noise connection, and a Mining connection with REQUIRES_WORK_SELECTION.

mod jds_client;
mod pool_common;
mod tp_client;

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::time::Duration;

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash as _;
use bitcoin::secp256k1::{Message as SecpMessage, SecretKey, SECP256K1};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{absolute::LockTime, transaction::Version, Amount, OutPoint, ScriptBuf, Sequence};
use bitcoin::{CompressedPublicKey, Transaction, TxIn, TxOut, Witness};
use jds_client::{declaration, spending_nothing, tip, Jdc, Miner};
use pool_common::{http_get, start_pool, start_tp, temp_dir, until, PATIENCE};
use sv2::channels::hash::{header_bytes, merkle_root, sha256d};
use sv2::codec::Str0_255;
use sv2::jd::client::{Declared, Event};
use sv2::messages::AllocateMiningJobToken;
use sv2_roles::pool::jds::{JdNode, JdServerConfig};
use sv2_roles::pool::{PoolConfig, PoolHandle};
use sv2_roles::tp::TpHandle;
use tp_client::{Client, Template};

/// A pool with its JDS on the embedded node of `tp`.
async fn jds_pool(dir: &std::path::Path, tp: &TpHandle, change: impl FnOnce(&mut JdServerConfig)) -> PoolHandle {
    let node = JdNode::Embedded(tp.embedded_node().expect("embedded node"));
    let mut jds = JdServerConfig::new("127.0.0.1:0".parse().unwrap(), node);
    change(&mut jds);
    start_pool(&dir.to_path_buf(), tp, |c: &mut PoolConfig| {
        c.jds = Some(jds);
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
}

/// The tp's wallet key (the embedded node keeps it in its data directory).
fn wallet_key(tp_dir: &std::path::Path) -> SecretKey {
    let text = std::fs::read_to_string(tp_dir.join("regtest/wallet.key")).unwrap();
    SecretKey::from_slice(&hex::decode(text.trim()).unwrap()).unwrap()
}

/// A transaction spending `parent`'s P2WPKH output to the wallet: valid, and in no template.
fn child_of(parent: &[u8], key: &SecretKey) -> Vec<u8> {
    let parent: Transaction = deserialize(parent).unwrap();
    let public = CompressedPublicKey(key.public_key(SECP256K1));
    let wpkh = ScriptBuf::new_p2wpkh(&public.wpubkey_hash());
    let (vout, spent) = parent.output.iter().enumerate().find(|(_, o)| o.script_pubkey == wpkh).unwrap();
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: parent.compute_txid(), vout: vout as u32 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: spent.value - Amount::from_sat(1_000), script_pubkey: wpkh.clone() }],
    };
    let sighash = SighashCache::new(&tx).p2wpkh_signature_hash(0, &wpkh, spent.value, EcdsaSighashType::All).unwrap();
    let sig = SECP256K1.sign_ecdsa(&SecpMessage::from_digest(sighash.to_byte_array()), key);
    tx.input[0].witness = Witness::p2wpkh(&bitcoin::ecdsa::Signature::sighash_all(sig), &public.0);
    serialize(&tx)
}

/// The template on the tp's tip, its transactions, and the tip.
async fn template(client: &mut Client) -> (Template, Vec<Vec<u8>>, tp_client::PrevHash) {
    let (t, p) = client.next_tip().await;
    let txs = client.tx_data(t.id).await.unwrap();
    (t, txs, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_jobs_are_mined_in_both_modes() {
    let dir = temp_dir("jds-flow");
    let tp = start_tp(&dir.join("tp"), "127.0.0.1:0".parse().unwrap()).await;
    tp.add_transactions(4).await.unwrap();
    let pool = jds_pool(&dir.join("pool"), &tp, |_| {}).await;
    let mut client = Client::connect(&tp, 0, 0).await;
    let (t, mut txs, p) = template(&mut client).await;
    assert!(!txs.is_empty(), "the template carries the node's transactions");
    let known = txs.len();
    until("the JDS learns the template's transactions", || pool.jds_mempool_len() >= known).await;
    // The farm adds a transaction of its own that no template of the pool's holds (spending
    // the last template transaction, whose outputs no other one spends).
    let child = child_of(txs.last().unwrap(), &wallet_key(&dir.join("tp")));
    txs.push(child.clone());
    let decl = declaration(&t, &txs);

    let mut jdc = Jdc::connect(&pool, true).await;
    jdc.token().await;
    let Declared::Sent { request_id } = jdc.declare(&decl, &tip(&p), &txs).await else { panic!("full template") };
    assert_eq!(jdc.next().await, Event::MissingTransactionsSent { request_id, count: 1 });
    let mut req = match jdc.next().await {
        Event::JobDeclared(req) => req,
        other => panic!("expected the declaration accepted, got {other:?}"),
    };
    let stats = pool.jds_stats().unwrap();
    assert_eq!(stats.missing_requests.load(std::sync::atomic::Ordering::Relaxed), 1);

    let mut miner = Miner::connect(&pool).await;
    let job_id = miner.set_custom(&mut req).await.expect("SetCustomMiningJob accepted");
    let height = tp.tip().height;
    let (extranonce, nonce) = miner.share(&req, job_id).await;
    // The share is a block: the pool completes it with the declared transactions and the
    // embedded node (libbitcoinkernel) makes it its tip.
    let new_tip = tokio::time::timeout(PATIENCE, tp.wait_for_height(height + 1)).await.unwrap();
    let root = merkle_root(&req.coinbase.parts().unwrap().stripped(&extranonce), &req.merkle_path);
    let header = header_bytes(req.version, &req.prev_hash, &root, req.min_ntime, req.nbits, nonce);
    assert_eq!(new_tip.hash, sha256d(&header), "the farm's block, with its own transaction, is the tip");

    // PushSolution of the same block: the JDS rebuilds and submits it too (a duplicate now).
    jdc.c.push_solution(request_id, &extranonce, nonce, req.min_ntime, req.version, &mut jdc.conn).unwrap();
    jdc.conn.flush().await.unwrap();
    until("both blocks submitted", || stats.blocks_submitted.load(std::sync::atomic::Ordering::Relaxed) == 2).await;
    // The JDS's counters are on the pool's /metrics.
    let page = http_get(pool.metrics_addr().unwrap(), "/metrics").await;
    for line in [
        "sv2_pool_jd_blocks_submitted_total 2",
        "sv2_pool_jd_missing_requests_total 1",
        "sv2_pool_jd_jobs_declared_total 1",
    ] {
        assert!(page.contains(line), "{line} in {page}");
    }

    // Coinbase-only on the new tip: no declaration, the token goes straight to the pool.
    let (t2, _, p2) = template(&mut client).await;
    assert_eq!(p2.prev, new_tip.hash);
    let mut cb_only = Jdc::connect(&pool, false).await;
    cb_only.token().await;
    let Declared::Ready(mut req2) = cb_only.declare(&Template { future: false, ..t2 }, &tip(&p2), &[]).await else {
        panic!("ready")
    };
    while miner.min_ntime < p2.time {
        miner.read().await;
    }
    let job2 = miner.set_custom(&mut req2).await.expect("coinbase-only SetCustomMiningJob accepted");
    miner.share(&req2, job2).await;
    // Its token is spent: the same SetCustomMiningJob again is refused.
    assert_eq!(miner.set_custom(&mut req2).await, Err("invalid-mining-job-token".into()));

    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_coins_and_stale_tokens_are_refused() {
    let dir = temp_dir("jds-refusals");
    let tp = start_tp(&dir.join("tp"), "127.0.0.1:0".parse().unwrap()).await;
    let pool = jds_pool(&dir.join("pool"), &tp, |j| j.token_lifetime_secs = 1).await;
    let mut client = Client::connect(&tp, 0, 0).await;
    let (t, _, p) = template(&mut client).await;
    let bogus = vec![spending_nothing(0)];
    let decl = declaration(&t, &bogus);
    let mut jdc = Jdc::connect(&pool, true).await;
    jdc.token().await;
    jdc.declare(&decl, &tip(&p), &bogus).await;
    assert!(matches!(jdc.next().await, Event::MissingTransactionsSent { count: 1, .. }));
    match jdc.next().await {
        Event::JobRefused { code, .. } => assert_eq!(code, "bad-txns-inputs-missingorspent"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A token past its lifetime (1 s here) is refused.
    jdc.token().await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let empty = declaration(&t, &[]);
    jdc.declare(&empty, &tip(&p), &[]).await;
    match jdc.next().await {
        Event::JobRefused { code, .. } => assert_eq!(code, "invalid-mining-job-token"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_at_the_jd_port_leaves_honest_clients_served() {
    use pool_common::{bad_input_attacks, closed_by_peer, Attacks};
    let dir = temp_dir("jds-bad-input");
    let tp = start_tp(&dir.join("tp"), "127.0.0.1:0".parse().unwrap()).await;
    let pool = jds_pool(&dir.join("pool"), &tp, |j| {
        j.setup_timeout = Duration::from_secs(2);
        j.max_connections = 2_000;
    })
    .await;
    let (addr, authority) = (pool.jds_addr().unwrap(), pool.authority());
    let mut attacks = bad_input_attacks(addr, authority, Attacks { garbage: 4, stalls: 4, connect_batches: 2 });

    // A token flood: one request over the minute's allowance closes the connection.
    let mut flood = Jdc::connect(&pool, true).await;
    for i in 0..=120 {
        let m = AllocateMiningJobToken { user_identifier: Str0_255::from_str("flood").unwrap(), request_id: i };
        flood.conn.queue(&m.into()).unwrap();
    }
    flood.conn.flush().await.unwrap();
    closed_by_peer(flood.conn.into_stream(), "token flood").await;

    // A declaration of 65 535 transactions the JDS has never seen: refused before any is
    // asked for.
    let mut client = Client::connect(&tp, 0, 0).await;
    let (t, txs, p) = template(&mut client).await;
    let many: Vec<Vec<u8>> = (0..65_535).map(spending_nothing).collect();
    let decl = declaration(&t, &many);
    let mut big = Jdc::connect(&pool, true).await;
    big.token().await;
    big.declare(&decl, &tip(&p), &many).await;
    match big.next().await {
        Event::JobRefused { code, .. } => assert_eq!(code, "too-many-missing-txs"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // A frame announcing 16 MiB after SetupConnection closes the connection.
    let mut huge = Jdc::connect(&pool, true).await;
    let payload = vec![0u8; 0xFF_FFFF];
    let header = sv2::codec::FrameHeader { extension_type: 0, msg_type: 0x58, msg_length: payload.len() as u32 };
    huge.conn.queue_frame(header, &payload).unwrap();
    let _ = huge.conn.flush().await;
    closed_by_peer(huge.conn.into_stream(), "16 MiB frame").await;

    while let Some(r) = attacks.join_next().await {
        r.unwrap();
    }
    // An honest client is still served: a token and an accepted declaration.
    let mut honest = Jdc::connect(&pool, true).await;
    honest.token().await;
    let decl = declaration(&t, &txs);
    honest.declare(&decl, &tip(&p), &txs).await;
    let mut event = honest.next().await;
    if let Event::MissingTransactionsSent { .. } = event {
        event = honest.next().await;
    }
    assert!(matches!(event, Event::JobDeclared(_)), "honest declaration accepted: {event:?}");
    let stats = pool.jds_stats().unwrap();
    assert!(stats.connections_closed_error.load(std::sync::atomic::Ordering::Relaxed) >= 3);
    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sv2_pool_process_serves_jd_and_refuses_when_its_node_is_unreachable() {
    let dir = temp_dir("jds-process");
    let tp = start_tp(&dir.join("tp"), "127.0.0.1:0".parse().unwrap()).await;
    let (port, jd_port, rpc_port) = (pool_common::free_port(), pool_common::free_port(), pool_common::free_port());
    let pool_dir = dir.join("pool");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sv2"))
        .arg("pool")
        .args(["--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", ""])
        .args(["--data-dir", pool_dir.to_str().unwrap(), "--tp-address", &tp.addr().to_string()])
        .args(["--tp-authority", &tp.authority().to_string(), "--payout-script-hex", &hex::encode(pool_common::PAYOUT)])
        .args(["--jd-listen", &format!("127.0.0.1:{jd_port}"), "--jd-node-rpc", &format!("127.0.0.1:{rpc_port}")])
        .args(["--jd-node-rpc-cookie", dir.join("no-cookie").to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map(pool_common::ChildPool)
        .unwrap();
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout).lines().map_while(Result::ok).find(|l| l.starts_with("jds "))
    });
    let line = tokio::time::timeout(PATIENCE, line).await.unwrap().unwrap().expect("a jds line");
    assert!(line.starts_with(&format!("jds 127.0.0.1:{jd_port} ")), "{line}");
    let authority = sv2_roles::net::load_authority_key(&pool_dir.join("authority.pub")).unwrap();
    let mut client = Client::connect(&tp, 0, 0).await;
    let (t, txs, p) = template(&mut client).await;
    let mut jdc = Jdc::connect_to(SocketAddr::from(([127, 0, 0, 1], jd_port)), authority, true).await;
    let decl = declaration(&t, &txs);
    // Until the pool process has its first template it answers stale-chain-tip (a tip race,
    // as for any JDC): declare again then.
    let mut code = String::new();
    for _ in 0..50 {
        jdc.token().await;
        jdc.declare(&decl, &tip(&p), &txs).await;
        let mut event = jdc.next().await;
        if let Event::MissingTransactionsSent { .. } = event {
            event = jdc.next().await;
        }
        code = match event {
            Event::JobRefused { code, .. } => code,
            other => panic!("expected a refusal, got {other:?}"),
        };
        if code != "stale-chain-tip" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Nobody answers on the node's RPC port: the declaration is refused, not left waiting.
    assert_eq!(code, "node-unavailable");
    child.kill();
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
