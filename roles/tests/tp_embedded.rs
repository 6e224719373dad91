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
