//! `sv2 translator` as a process: it prints `translator <address> …` once it listens, takes
//! its pools as `host:port=authority-file`, serves an SV1 device a job from the pool, and
//! keeps serving devices while 10 000 sockets that never speak are open.

mod pool_common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use pool_common::*;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The child, killed and reaped when dropped (also when the test fails).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `sv2 translator` with `args` for `pool`; the child, its SV1 address and its metrics
/// address (when `--metrics-listen` is not empty) from the lines it prints.
async fn translator(
    pool: &sv2_roles::pool::PoolHandle,
    pool_dir: &std::path::Path,
    args: &[&str],
) -> (Killed, SocketAddr, Option<SocketAddr>) {
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_sv2"))
            .arg("translator")
            .args(["--listen", "127.0.0.1:0"])
            .args(["--pool", &format!("{}={}", pool.addr(), pool_dir.join("authority.pub").display())])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let metrics = !args.windows(2).any(|w| w == ["--metrics-listen", ""]);
    let stdout = child.0.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut r = BufReader::new(stdout);
        let mut lines = Vec::new();
        for _ in 0..1 + usize::from(metrics) {
            let mut l = String::new();
            r.read_line(&mut l)?;
            lines.push(l);
        }
        std::io::Result::Ok(lines)
    });
    let lines = tokio::time::timeout(PATIENCE, lines).await.expect("lines in time").unwrap().unwrap();
    let mut words = lines[0].split_whitespace();
    assert_eq!(words.next(), Some("translator"), "{lines:?}");
    let addr: SocketAddr = words.next().unwrap().parse().unwrap();
    // `translator metrics http://ADDR/metrics and …`
    let metrics = lines.get(1).map(|l| {
        let url = l.split_whitespace().nth(2).unwrap_or_else(|| panic!("{l}"));
        url.trim_start_matches("http://").trim_end_matches("/metrics").parse().unwrap()
    });
    (child, addr, metrics)
}

/// A device that subscribes and authorizes in one write, read until its first job.
async fn device_gets_a_job(addr: SocketAddr) {
    let (r, mut w) = TcpStream::connect(addr).await.unwrap().into_split();
    w.write_all(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"cli.dev\",\"x\"]}\n").await.unwrap();
    let mut lines = tokio::io::BufReader::new(r).lines();
    loop {
        let l = tokio::time::timeout(PATIENCE, lines.next_line()).await.expect("a line in time").unwrap();
        let v: Value = serde_json::from_str(&l.expect("connection open")).unwrap();
        if v["method"] == "mining.notify" {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn translator_process_serves_an_sv1_device() {
    let tp = start_tp(&temp_dir("tcli-tp"), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool_dir = temp_dir("tcli-pool");
    let pool = start_pool(&pool_dir, &tp, |_| {}).await;
    let (child, addr, _) = translator(&pool, &pool_dir, &["--metrics-listen", ""]).await;
    device_gets_a_job(addr).await;
    drop(child);
    pool.shutdown().await;
    tp.shutdown().await;
}

/// 10 000 sockets that connect and never speak (a port scan, a broken farm, an attack) are all
/// accepted and held, and a device connecting after them is served at once. The translator
/// is a process of its own so that it and this test each hold their 10 000 descriptors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_sockets_leave_devices_served() {
    const IDLE: usize = 10_000;
    let limit = sv2_roles::net::raise_open_files_limit().expect("an open-file limit");
    assert!(limit > IDLE as u64 + 500, "this test needs an open-file limit above {IDLE} (hard limit {limit})");
    let tp = start_tp(&temp_dir("tcli-idle-tp"), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool_dir = temp_dir("tcli-idle-pool");
    let pool = start_pool(&pool_dir, &tp, |_| {}).await;
    let (child, addr, metrics) = translator(&pool, &pool_dir, &["--metrics-listen", "127.0.0.1:0"]).await;
    let metrics = metrics.expect("a metrics address");

    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut open = 0;
    for _ in 0..600 {
        let page = http_get(metrics, "/stats.json").await;
        let stats: Value = serde_json::from_str(page.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        open = stats["connections_open"].as_u64().unwrap();
        if open >= IDLE as u64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(open >= IDLE as u64, "only {open} of {IDLE} idle sockets were accepted");

    device_gets_a_job(addr).await;
    drop(idle);
    drop(child);
    pool.shutdown().await;
    tp.shutdown().await;
}
