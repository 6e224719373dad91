//! The template provider over a real Noise connection to the embedded regtest node: templates
//! arrive, blocks built from them are validated by libbitcoinkernel, the tip moves, and the
//! chain survives a restart.

mod tp_client;

use bitcoin::consensus::deserialize;
use bitcoin::hashes::Hash as _;
use bitcoin::Transaction;
use sv2::channels::coinbase::parse_outputs;
use sv2::channels::hash::coinbase_merkle_path;
use sv2_roles::tp::template::witness_commitment_script;
use sv2_roles::tp::{BlockVerdict, SolutionOutcome, SolutionReport};
use tp_client::{solve, start_tp, temp_dir, Client};

/// Regtest subsidy below height 150.
const SUBSIDY: u64 = 50 * 100_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_mined_over_noise_become_the_tip_and_survive_a_restart() {
    let dir = temp_dir("mine");
    let tp = start_tp(&dir).await;
    let start = tp.tip();
    assert!(start.height >= 110, "the node mined its first blocks itself");

    let mut client = Client::connect(&tp, 100, 4).await;
    let (t, p) = client.next_tip().await;
    assert_eq!(p.prev, start.hash);

    // A template with transactions of the node's own: check the path, the commitment and the
    // value against RequestTransactionData.
    let txs = client.tx_data(t.id).await.expect("transaction data");
    assert!(!txs.is_empty(), "from block 101 on the node keeps transactions of its own");
    let parsed: Vec<Transaction> = txs.iter().map(|b| deserialize(b).expect("transaction parses")).collect();
    assert!(parsed.iter().any(|tx| tx.input.iter().any(|i| !i.witness.is_empty())), "some are segwit spends");
    assert!(parsed.iter().any(|tx| tx.input.iter().any(|i| !i.script_sig.is_empty())), "some are legacy spends");
    let mut txids = vec![[0u8; 32]];
    txids.extend(parsed.iter().map(|tx| tx.compute_txid().to_byte_array()));
    assert_eq!(t.path, coinbase_merkle_path(&txids));
    let outputs = parse_outputs(&t.outputs, t.outputs_count).unwrap();
    let wtxids: Vec<[u8; 32]> = parsed.iter().map(|tx| tx.compute_wtxid().to_byte_array()).collect();
    assert_eq!(outputs[0].script_pubkey.as_bytes(), witness_commitment_script(wtxids.iter()).as_slice());
    assert!(t.value > SUBSIDY, "fees are on top of the subsidy");

    // Mine it: libbitcoinkernel accepts it, the tip moves, and the next template follows.
    let s = solve(&t, &p, t.value, true);
    client.submit(&s).await.unwrap();
    let (t2, p2) = client.next_tip().await;
    assert_eq!(p2.prev, s.hash, "SetNewPrevHash names the block just mined");
    assert!(t2.id > t.id);
    let tip = tp.wait_for_height(start.height + 1).await;
    assert_eq!(tip.hash, s.hash);
    // The mined transactions left the mempool: the new template's are new ones.
    let txs2 = client.tx_data(t2.id).await.unwrap();
    assert!(txs2.iter().all(|tx| !txs.contains(tx)));

    // A second block on top, with the node's next transactions.
    let s2 = solve(&t2, &p2, t2.value, true);
    client.submit(&s2).await.unwrap();
    let (_, p3) = client.next_tip().await;
    assert_eq!(p3.prev, s2.hash);
    drop(client);
    tp.shutdown().await;

    // Restart on the same directory: the chain is still there.
    let tp = start_tp(&dir).await;
    assert_eq!(tp.tip().height, start.height + 2);
    assert_eq!(tp.tip().hash, s2.hash);
    let mut client = Client::connect(&tp, 100, 4).await;
    let (t4, p4) = client.next_tip().await;
    assert_eq!(p4.prev, s2.hash);
    let s4 = solve(&t4, &p4, t4.value, true);
    client.submit(&s4).await.unwrap();
    let (_, p5) = client.next_tip().await;
    assert_eq!(p5.prev, s4.hash);
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn report(rx: &mut tokio::sync::broadcast::Receiver<SolutionReport>) -> SolutionReport {
    tokio::time::timeout(tp_client::PATIENCE, rx.recv()).await.expect("a report").expect("report channel open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_solutions_are_rejected_by_the_kernel_and_the_tip_stays() {
    let dir = temp_dir("reject");
    let tp = start_tp(&dir).await;
    let start = tp.tip();
    let mut reports = tp.solutions();
    let mut client = Client::connect(&tp, 100, 4).await;
    let (t, p) = client.next_tip().await;

    // Proof of work above the target: turned away before a block is built (tp_hardening.rs).
    let weak = solve(&t, &p, t.value, false);
    client.submit(&weak).await.unwrap();
    let r = report(&mut reports).await;
    assert_eq!((r.block_hash, r.outcome), (None, SolutionOutcome::AboveTarget));

    // A coinbase that pays one satoshi more than the template allows: valid work, invalid block.
    let greedy = solve(&t, &p, t.value + 1, true);
    client.submit(&greedy).await.unwrap();
    let r = report(&mut reports).await;
    let SolutionOutcome::Node(BlockVerdict::Rejected(reason)) = &r.outcome else { panic!("{r:?}") };
    assert!(reason.contains("bad-cb-amount"), "{reason}");
    println!("coinbase paying too much: {reason}");

    // An unknown template, and a coinbase that is not a transaction.
    let mut unknown = solve(&t, &p, t.value, true);
    unknown.template_id = t.id + 1_000_000;
    client.submit(&unknown).await.unwrap();
    assert_eq!(report(&mut reports).await.outcome, SolutionOutcome::UnknownTemplate);
    let mut garbage = solve(&t, &p, t.value, true);
    garbage.coinbase = vec![1, 2, 3];
    client.submit(&garbage).await.unwrap();
    assert!(matches!(report(&mut reports).await.outcome, SolutionOutcome::BadCoinbase(_)));

    // None of that moved the tip, and the connection still serves.
    assert_eq!(tp.tip().hash, start.hash);
    assert!(client.tx_data(t.id).await.is_ok());

    // The right solution to the same template is still accepted.
    let good = solve(&t, &p, t.value, true);
    client.submit(&good).await.unwrap();
    assert_eq!(report(&mut reports).await.outcome, SolutionOutcome::Node(BlockVerdict::NewTip));
    assert_eq!(client.next_tip().await.1.prev, good.hash);
    // The same block again is a duplicate, not a second tip.
    client.submit(&good).await.unwrap();
    assert_eq!(report(&mut reports).await.outcome, SolutionOutcome::Node(BlockVerdict::Duplicate));
    assert_eq!(tp.tip().height, start.height + 1);
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_gets_templates_that_fit_its_constraints() {
    let dir = temp_dir("constraints");
    let tp = start_tp(&dir).await;
    let mut roomy = Client::connect(&tp, 100, 4).await;
    // Outputs this large leave under 100 weight units: no transaction fits next to them.
    let mut cramped = Client::connect(&tp, 999_700, 4).await;
    let (a, _) = roomy.next_tip().await;
    let (b, pb) = cramped.next_tip().await;
    assert_ne!(a.id, b.id);
    let a_txs = roomy.tx_data(a.id).await.unwrap();
    assert!(!a_txs.is_empty());
    assert_eq!(cramped.tx_data(b.id).await.unwrap(), Vec::<Vec<u8>>::new());
    assert!(b.path.is_empty());
    assert_eq!(b.value, SUBSIDY, "no fees without transactions");
    assert!(a.value > b.value);

    // Clients with equal constraints share a template.
    let mut twin = Client::connect(&tp, 100, 4).await;
    assert_eq!(twin.next_tip().await.0.id, a.id);

    // Loosening the constraints brings a template with the transactions, minable at once.
    let c = sv2::messages::CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: 100,
        coinbase_output_max_additional_sigops: 4,
    };
    cramped.conn.send(&sv2::Message::CoinbaseOutputConstraints(c)).await.unwrap();
    let loose = cramped.next_template().await;
    assert!(!loose.future && loose.id > b.id);
    assert_eq!(cramped.tx_data(loose.id).await.unwrap(), a_txs);
    // The cramped template is still minable: its block is accepted.
    let s = solve(&b, &pb, b.value, true);
    cramped.submit(&s).await.unwrap();
    assert_eq!(roomy.next_tip().await.1.prev, s.hash);
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rising_fees_bring_a_template_minable_at_once() {
    let dir = temp_dir("fees");
    let tp = start_tp(&dir).await;
    let mut client = Client::connect(&tp, 100, 4).await;
    let (t, p) = client.next_tip().await;
    let before = client.tx_data(t.id).await.unwrap();
    let added = tp.add_transactions(3).await.unwrap();
    assert_eq!(added.len(), 3);
    let t2 = client.next_template().await;
    assert!(!t2.future, "fees on the same tip: minable now");
    assert!(t2.id > t.id && t2.value > t.value);
    let txs: Vec<Transaction> = client.tx_data(t2.id).await.unwrap().iter().map(|b| deserialize(b).unwrap()).collect();
    assert_eq!(txs.len(), before.len() + 3);
    let ids: Vec<[u8; 32]> = txs.iter().map(|tx| tx.compute_txid().to_byte_array()).collect();
    assert!(added.iter().all(|a| ids.contains(a)));
    // It is mined on the SetNewPrevHash already in force.
    let s = solve(&t2, &p, t2.value, true);
    client.submit(&s).await.unwrap();
    assert_eq!(client.next_tip().await.1.prev, s.hash);
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_from_elsewhere_reach_every_client_and_old_templates_go_stale() {
    let dir = temp_dir("elsewhere");
    let tp = start_tp(&dir).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(Client::connect(&tp, 100, 4).await);
    }
    let mut first = Vec::new();
    for c in &mut clients {
        first.push(c.next_tip().await.0);
    }
    let tip = tp.mine_block().await.unwrap();
    for (c, old) in clients.iter_mut().zip(&first) {
        let (t, p) = c.next_tip().await;
        assert_eq!(p.prev, tip.hash);
        assert!(t.id > old.id);
        assert_eq!(c.tx_data(old.id).await, Err("stale-template-id".to_owned()));
        assert_eq!(c.tx_data(1).await, Err("template-id-not-found".to_owned()));
    }
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_the_same_directory_is_refused_with_the_kernels_reason() {
    let dir = temp_dir("twice");
    let _tp = start_tp(&dir).await;
    let mut config = sv2_roles::tp::TpConfig::embedded(&dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let err = match sv2_roles::tp::start(config).await {
        Ok(_) => panic!("two nodes opened one chain"),
        Err(e) => e,
    };
    // LevelDB's lock on the block index, as the kernel logged it.
    assert!(err.contains("opening the chain") && err.contains("lock"), "{err}");
}
