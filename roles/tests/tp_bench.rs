//! Benchmark (run by hand, not part of the test suite): time from a new tip in the embedded
//! node to NewTemplate + SetNewPrevHash decrypted by each connected client, for 1 and for 100
//! clients over Noise on loopback.
//!
//! cargo test --release -p sv2-roles --test tp_bench -- --ignored --nocapture

mod tp_client;

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tp_client::{start_tp_with, temp_dir, Client};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn run(clients: usize, rounds: usize) {
    let dir = temp_dir(&format!("bench-{clients}"));
    let tp = start_tp_with(&dir, |c| {
        // Fee-driven templates would interleave with the tip's; this measures tips only.
        c.fee_check_interval = Duration::from_secs(3600);
        c.max_clients = clients + 1;
    })
    .await;
    let (tx, mut rx) = mpsc::unbounded_channel::<([u8; 32], Instant)>();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut c = Client::connect(&tp, 100, 4).await;
        c.next_tip().await;
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..rounds {
                let (_, p) = c.next_tip().await;
                let _ = tx.send((p.prev, Instant::now()));
            }
        }));
    }
    let mut latencies = Vec::with_capacity(clients * rounds);
    for _ in 0..rounds {
        let tip = tp.mine_block().await.unwrap();
        for _ in 0..clients {
            let (prev, at) = rx.recv().await.unwrap();
            assert_eq!(prev, tip.hash);
            latencies.push(at.duration_since(tip.seen));
        }
    }
    latencies.sort();
    println!(
        "tip -> NewTemplate+SetNewPrevHash, {clients:>3} client(s), {} samples: p50 {:>8.1?}  p99 {:>8.1?}  max {:>8.1?}",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );
    for t in tasks {
        t.await.unwrap();
    }
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture, in release mode"]
async fn new_tip_to_clients() {
    run(1, 500).await;
    run(100, 50).await;
}
