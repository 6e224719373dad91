//! Hardening of the template provider (review issue 8, finding 10): one client cannot make the
//! server forget another client's templates, a solution whose header misses the target is
//! turned away before any block is built, and extension negotiation is answered.

mod tp_client;

use sv2::codec::Seq;
use sv2::messages::{CoinbaseOutputConstraints, RequestExtensions};
use sv2::Message;
use sv2_roles::tp::{BlockVerdict, SolutionOutcome, SolutionReport};
use tokio::sync::broadcast;
use tp_client::{connect_raw, setup_connection, solve, start_tp, temp_dir, Client, PATIENCE};

/// Coinbase outputs this large reserve exactly 4 MWU (1168 + 4 × size): no transaction fits
/// beside them, while 100 bytes leave room for all of them.
const NO_ROOM: u32 = 999_708;

fn constraints(size: u32) -> Message<'static> {
    Message::CoinbaseOutputConstraints(CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: size,
        coinbase_output_max_additional_sigops: 4,
    })
}

async fn report(rx: &mut broadcast::Receiver<SolutionReport>) -> SolutionReport {
    tokio::time::timeout(PATIENCE, rx.recv()).await.expect("a report").expect("report channel open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_churning_its_constraints_cannot_evict_another_clients_templates() {
    let dir = temp_dir("churn");
    let tp = start_tp(&dir).await;
    let mut reports = tp.solutions();

    // The pool: a template on the first tip, then (after a block from elsewhere) templates on
    // the next one, the latest with fees added.
    let mut pool = Client::connect(&tp, 100, 4).await;
    let (old, old_p) = pool.next_tip().await;
    let tip = tp.mine_block().await.unwrap();
    let (_, p) = pool.next_tip().await;
    assert_eq!(p.prev, tip.hash);
    tp.add_transactions(2).await.unwrap();
    let t = pool.next_template().await;
    assert!(!t.future);
    assert!(!pool.tx_data(t.id).await.unwrap().is_empty(), "the churn needs transactions to leave out");

    // The hostile client alternates between room for every transaction and room for none:
    // each change makes the server build a new template. More rounds than the 4096 templates
    // the store used to keep across all clients.
    let mut churn = Client::connect(&tp, 100, 4).await;
    churn.next_tip().await;
    let mut first_churned = None;
    const BATCH: usize = 100;
    for round in 0..50 {
        for i in 0..BATCH {
            let size = if (round * BATCH + i) % 2 == 0 { NO_ROOM } else { 100 };
            churn.conn.queue(&constraints(size)).unwrap();
        }
        churn.conn.flush().await.unwrap();
        for _ in 0..BATCH {
            let got = churn.next_template().await;
            first_churned.get_or_insert(got.id);
        }
    }

    // The churner's own old templates went: memory stays bounded. (Asked before any new tip:
    // tx_data passes over the templates that arrive in between.)
    let first = first_churned.expect("templates from the churn");
    assert_eq!(churn.tx_data(first).await, Err("template-id-not-found".to_owned()));

    // The pool's template on the previous tip is still known: its block is a valid competing
    // block, not an unknown template.
    let stale = solve(&old, &old_p, old.value, true);
    pool.submit(&stale).await.unwrap();
    let r = report(&mut reports).await;
    assert_eq!(r.template_id, old.id);
    assert_eq!(r.outcome, SolutionOutcome::Node(BlockVerdict::AcceptedNotTip), "{r:?}");

    // The pool's latest template: its block becomes the tip.
    let s = solve(&t, &p, t.value, true);
    pool.submit(&s).await.unwrap();
    let r = report(&mut reports).await;
    assert_eq!(r.template_id, t.id);
    assert_eq!(r.outcome, SolutionOutcome::Node(BlockVerdict::NewTip), "{r:?}");
    let reached = tokio::time::timeout(PATIENCE, tp.wait_for_height(tip.height + 1)).await.expect("tip advances");
    assert_eq!(reached.hash, s.hash);

    // The churner is still served.
    let (_, cp) = churn.next_tip().await;
    assert_eq!(cp.prev, s.hash);
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solution_above_the_target_is_rejected_before_a_block_is_built() {
    let dir = temp_dir("hash");
    let tp = start_tp(&dir).await;
    let start = tp.tip();
    let mut reports = tp.solutions();
    let mut client = Client::connect(&tp, 100, 4).await;
    let (t, p) = client.next_tip().await;

    // Nonces whose header hash is above the target (with a few different coinbases).
    for less in 0..3 {
        let weak = solve(&t, &p, t.value - less, false);
        client.submit(&weak).await.unwrap();
        let r = report(&mut reports).await;
        assert_eq!(r.template_id, t.id);
        // Before the fix the block went to the node, which said "high-hash".
        assert!(!matches!(r.outcome, SolutionOutcome::Node(_)), "the node was asked: {r:?}");
        assert_eq!(r.outcome, SolutionOutcome::AboveTarget);
        assert_eq!(r.block_hash, None, "no block was built: {r:?}");
    }
    assert_eq!(tp.solutions_above_target(), 3);

    // Nothing moved; the connection still serves and the right solution is accepted.
    assert_eq!(tp.tip().hash, start.hash);
    assert!(client.tx_data(t.id).await.is_ok());
    let good = solve(&t, &p, t.value, true);
    client.submit(&good).await.unwrap();
    assert_eq!(report(&mut reports).await.outcome, SolutionOutcome::Node(BlockVerdict::NewTip));
    assert_eq!(client.next_tip().await.1.prev, good.hash);
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

fn request_extensions(request_id: u16, ids: &'static [u16]) -> Message<'static> {
    Message::RequestExtensions(RequestExtensions { request_id, requested_extensions: Seq::new(ids).unwrap() })
}

/// Reads the answer to RequestExtensions: (request id, unsupported, required).
async fn extensions_reply(client: &mut Client) -> (u16, Vec<u16>, Vec<u16>) {
    let f = tokio::time::timeout(PATIENCE, client.conn.read_frame()).await.expect("TP answers").expect("a reply");
    match f.message().expect("valid message").0 {
        Message::RequestExtensionsError(e) => {
            (e.request_id, e.unsupported_extensions.iter().collect(), e.required_extensions.iter().collect())
        }
        other => panic!("expected RequestExtensions.Error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_extensions_is_answered_and_the_connection_stays_usable() {
    let dir = temp_dir("extensions");
    let tp = start_tp(&dir).await;

    // Where the spec puts it: right after SetupConnection.Success.
    let mut conn = connect_raw(&tp).await;
    conn.send(&Message::SetupConnection(setup_connection(2))).await.unwrap();
    let f = conn.read_frame().await.unwrap();
    assert!(matches!(f.message().unwrap().0, Message::SetupConnectionSuccess(_)));
    let mut client = Client { conn };
    client.conn.send(&request_extensions(7, &[2, 0x4001])).await.unwrap();
    // The TP supports no extension: each one requested is named, none is required.
    assert_eq!(extensions_reply(&mut client).await, (7, vec![2, 0x4001], vec![]));
    client.conn.send(&request_extensions(8, &[])).await.unwrap();
    assert_eq!(extensions_reply(&mut client).await, (8, vec![], vec![]));

    // Then the usual setup, templates and transaction data.
    client.conn.send(&constraints(100)).await.unwrap();
    let (t, p) = client.next_tip().await;
    assert_eq!(p.prev, tp.tip().hash);

    // Again after setup: answered, and the connection goes on.
    client.conn.send(&request_extensions(9, &[1, 2])).await.unwrap();
    assert_eq!(extensions_reply(&mut client).await, (9, vec![1, 2], vec![]));
    assert!(client.tx_data(t.id).await.is_ok());
    let s = solve(&t, &p, t.value, true);
    client.submit(&s).await.unwrap();
    assert_eq!(client.next_tip().await.1.prev, s.hash);
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
