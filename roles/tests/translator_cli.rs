//! `sv2 translator` as a process: it prints `translator <address> …` once it listens, takes
//! its pools as `host:port=authority-file`, and serves an SV1 device a job from the pool.

mod pool_common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use pool_common::*;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// The child, killed and reaped when dropped (also when the test fails).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn translator_process_serves_an_sv1_device() {
    let tp = start_tp(&temp_dir("tcli-tp"), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool_dir = temp_dir("tcli-pool");
    let pool = start_pool(&pool_dir, &tp, |_| {}).await;
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_sv2"))
            .arg("translator")
            .args(["--listen", "127.0.0.1:0", "--metrics-listen", ""])
            .args(["--pool", &format!("{}={}", pool.addr(), pool_dir.join("authority.pub").display())])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut l = String::new();
        BufReader::new(stdout).read_line(&mut l).map(|_| l)
    });
    let line = tokio::time::timeout(PATIENCE, line).await.expect("a line in time").unwrap().unwrap();
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("translator"), "{line}");
    let addr: SocketAddr = words.next().unwrap().parse().unwrap();

    let (r, mut w) = tokio::net::TcpStream::connect(addr).await.unwrap().into_split();
    w.write_all(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"cli.dev\",\"x\"]}\n").await.unwrap();
    let mut lines = tokio::io::BufReader::new(r).lines();
    loop {
        let l = tokio::time::timeout(PATIENCE, lines.next_line()).await.expect("a line in time").unwrap();
        let v: Value = serde_json::from_str(&l.expect("connection open")).unwrap();
        if v["method"] == "mining.notify" {
            break;
        }
    }
    drop(child);
    pool.shutdown().await;
    tp.shutdown().await;
}
