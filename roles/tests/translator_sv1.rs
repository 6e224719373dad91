//! The translator as firmware meets it, over raw TCP: the template provider on its embedded
//! regtest node, the pool, and `sv2 translator` in front of it, with devices written byte for
//! byte as Bitaxe (pipelined configure, subscribe, authorize, suggest_difficulty and
//! extranonce.subscribe in one write), cgminer (no configure, waits for each answer), and
//! broken or idle clients: an unknown method, malformed JSON, a 1 MiB line, hundreds of
//! sockets that never speak.

mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pool_common::*;
use serde_json::{json, Value};
use sv2_roles::translator::{TranslatorConfig, TranslatorHandle};
use sv2_roles::upstream::PoolEndpoint;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A raw SV1 device connection.
struct Device {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Device {
    async fn connect(addr: SocketAddr) -> Device {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        Device { reader: BufReader::new(r), writer: w }
    }

    async fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).await.unwrap();
    }

    /// The next line as JSON (None: the translator closed the connection).
    async fn line(&mut self) -> Option<Value> {
        let mut l = String::new();
        let n = tokio::time::timeout(PATIENCE, self.reader.read_line(&mut l)).await.expect("a line in time").ok()?;
        (n > 0).then(|| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
    }

    /// Lines until the answer to `id`, which is returned; notifications before it are kept in
    /// `seen`.
    async fn answer(&mut self, id: Value, seen: &mut Vec<Value>) -> Value {
        loop {
            let l = self.line().await.expect("connection open");
            if l["id"] == id && l.get("method").is_none() {
                return l;
            }
            seen.push(l);
        }
    }

    /// Lines until a notification `method`.
    async fn until_method(&mut self, method: &str) -> Value {
        loop {
            let l = self.line().await.expect("connection open");
            if l["method"] == method {
                return l;
            }
        }
    }

    /// Whether the translator closed the connection: EOF, or a reset when it closed with our
    /// bytes unread, within the patience.
    async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        tokio::time::timeout(PATIENCE, self.reader.read_to_end(&mut rest)).await.is_ok()
    }
}

struct Stack {
    tp: sv2_roles::tp::TpHandle,
    pool: sv2_roles::pool::PoolHandle,
    translator: TranslatorHandle,
}

async fn stack(name: &str) -> Stack {
    stack_with(name, |_| {}, |_| {}).await
}

async fn stack_with(
    name: &str,
    change: impl FnOnce(&mut TranslatorConfig),
    pool_change: impl FnOnce(&mut sv2_roles::pool::PoolConfig),
) -> Stack {
    let tp = start_tp(&temp_dir(&format!("{name}-tp")), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool = start_pool(&temp_dir(&format!("{name}-pool")), &tp, pool_change).await;
    let mut c = TranslatorConfig::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        vec![PoolEndpoint::new(pool.addr().to_string(), pool.authority())],
    );
    // A cgminer-style device subscribes before it authorizes: its channel opens after this.
    c.authorize_grace = Duration::from_millis(200);
    c.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    // Keep-alive jobs at the translator's next tick rather than after a minute.
    c.session.keepalive_secs = 1;
    change(&mut c);
    let translator = sv2_roles::translator::start(c).await.expect("translator starts");
    Stack { tp, pool, translator }
}

impl Stack {
    async fn shutdown(self) {
        self.translator.shutdown().await;
        self.pool.shutdown().await;
        self.tp.shutdown().await;
    }
}

const BITAXE_BURST: &str = concat!(
    r#"{"id": 1, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "1fffe000", "version-rolling.min-bit-count": 16}]}"#,
    "\n",
    r#"{"id": 2, "method": "mining.subscribe", "params": ["bitaxe/BM1370/v2.5.0"]}"#,
    "\n",
    r#"{"id": 3, "method": "mining.authorize", "params": ["bc1qexample.bitaxe", "x"]}"#,
    "\n",
    r#"{"id": 4, "method": "mining.suggest_difficulty", "params": [2048]}"#,
    "\n",
    r#"{"id": 5, "method": "mining.extranonce.subscribe", "params": []}"#,
    "\n",
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_conversations() {
    let s = stack("t-firmware").await;
    let addr = s.translator.addr();

    // Bitaxe: everything in one write, before the upstream channel exists. Every request is
    // answered, in order, then the difficulty it suggested and a job.
    let mut bitaxe = Device::connect(addr).await;
    bitaxe.send(BITAXE_BURST).await;
    let mut seen = Vec::new();
    let configure = bitaxe.answer(json!(1), &mut seen).await;
    assert_eq!(configure["result"], json!({"version-rolling": true, "version-rolling.mask": "1fffe000"}));
    let subscribe = bitaxe.answer(json!(2), &mut seen).await;
    let en1 = hex::decode(subscribe["result"][1].as_str().unwrap()).unwrap();
    let en2_size = subscribe["result"][2].as_u64().unwrap();
    assert!((1..=8).contains(&en2_size), "extranonce2 of at most 8 bytes: {subscribe}");
    // The pool's extended channel prefix (4 bytes) and the rest of its 12 rolled bytes but 8.
    assert_eq!(en1.len(), 4 + 12 - en2_size as usize);
    assert_eq!(bitaxe.answer(json!(3), &mut seen).await["result"], json!(true));
    assert_eq!(bitaxe.answer(json!(4), &mut seen).await["result"], json!(true));
    assert_eq!(bitaxe.answer(json!(5), &mut seen).await["result"], json!(true));
    assert!(seen.is_empty(), "answers come first, in order: {seen:?}");
    assert_eq!(bitaxe.line().await.unwrap(), json!({"id": null, "method": "mining.set_difficulty", "params": [2048]}));
    let notify = bitaxe.line().await.unwrap();
    assert_eq!(notify["method"], "mining.notify");
    assert_eq!(notify["params"][8], json!(true), "the first job is clean");

    // cgminer: no configure, each request after the answer to the one before.
    let mut cgminer = Device::connect(addr).await;
    cgminer.send("{\"id\":\"s\",\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.12.1\"]}\n").await;
    let sub = cgminer.answer(json!("s"), &mut Vec::new()).await;
    assert_eq!(sub["error"], Value::Null);
    cgminer.send("{\"id\":\"a\",\"method\":\"mining.authorize\",\"params\":[\"farm.cg1\",\"\"]}\n").await;
    assert_eq!(cgminer.answer(json!("a"), &mut Vec::new()).await["result"], json!(true));
    let d = cgminer.until_method("mining.set_difficulty").await;
    assert!(d["params"][0].as_f64().unwrap() >= 1.0, "integer difficulties at and above 1: {d}");
    assert_eq!(d["params"][0].as_f64().unwrap().fract(), 0.0);
    let job = cgminer.until_method("mining.notify").await;
    let job_id = job["params"][0].as_str().unwrap();
    let en2 = "00".repeat(sub["result"][2].as_u64().unwrap() as usize);
    let ntime = job["params"][7].as_str().unwrap();
    // Honest verdicts: version bits it was never granted, and an unknown job, are refused
    // with a reason.
    let submit = |id: u32, job: &str, bits: &str| {
        format!("{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"farm.cg1\",\"{job}\",\"{en2}\",\"{ntime}\",\"00000000\"{bits}]}}\n")
    };
    cgminer.send(&submit(7, job_id, ",\"00002000\"")).await;
    let refused = cgminer.answer(json!(7), &mut Vec::new()).await;
    assert_eq!(refused["result"], json!(false));
    assert_eq!(refused["error"][1], json!("Version bits outside the granted mask"));
    cgminer.send(&submit(8, "ffffff", "")).await;
    let unknown_job = cgminer.answer(json!(8), &mut Vec::new()).await;
    assert_eq!((unknown_job["result"].clone(), unknown_job["error"][0].clone()), (json!(false), json!(21)));

    // An unknown method is answered with an error and the connection stays usable.
    cgminer.send("{\"id\":9,\"method\":\"mining.frobnicate\",\"params\":[]}\n").await;
    let unknown = cgminer.answer(json!(9), &mut Vec::new()).await;
    assert_eq!(unknown["error"][0], json!(20));
    assert_eq!(unknown["error"][1], json!("Unknown method"));
    cgminer.send("{\"id\":10,\"method\":\"mining.multi_version\",\"params\":[1]}\n").await;
    assert_eq!(cgminer.answer(json!(10), &mut Vec::new()).await["result"], json!(true));

    // Idle firmware gets a keep-alive job before it would reconnect: the same work under a
    // new job id, not clean, nTime not earlier.
    let mut last = notify;
    loop {
        let n = bitaxe.until_method("mining.notify").await;
        let p = &n["params"];
        let same_work = (1..=6).all(|i| p[i] == last["params"][i]);
        if same_work && p[8] == json!(false) {
            assert_ne!(p[0], last["params"][0], "a new job id");
            assert!(p[7].as_str().unwrap() >= last["params"][7].as_str().unwrap(), "nTime not earlier");
            break;
        }
        last = n;
    }

    // Both devices are in the per-device statistics, also as JSON.
    let devices = s.translator.metrics().devices();
    let workers: Vec<&str> = devices.iter().map(|d| d.worker.as_str()).collect();
    assert!(workers.contains(&"bc1qexample.bitaxe") && workers.contains(&"farm.cg1"), "{workers:?}");
    let m = s.translator.metrics_addr().unwrap();
    let json = http_get(m, "/stats.json").await;
    let stats: Value = serde_json::from_str(json.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(stats["connections_open"], json!(2));
    let prom = http_get(m, "/metrics").await;
    assert!(prom.contains("sv2_translator_device_difficulty{device=\""), "{prom}");
    assert!(prom.contains("worker=\"bc1qexample.bitaxe\""));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_closes_one_connection_and_idle_sockets_hurt_no_one() {
    let s = stack("t-bad").await;
    let addr = s.translator.addr();
    // Hundreds of sockets that never speak.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    until("the idle sockets to be accepted", || s.translator.metrics().connections_open.load(Ordering::Relaxed) >= 300)
        .await;

    // Malformed JSON: that connection is closed (after the answers before it).
    let mut broken = Device::connect(addr).await;
    broken.send("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\": 2, \"method\": \n").await;
    assert!(broken.closed().await, "malformed JSON closes the connection");

    // A 1 MiB line: refused once the limit is passed, without buffering it.
    let mut long = Device::connect(addr).await;
    let line = vec![b'x'; 1 << 20];
    // The translator may close before the whole line is written.
    let _ = long.writer.write_all(&line).await;
    assert!(long.closed().await, "an overlong line closes the connection");
    until("both bad connections to be counted", || {
        s.translator.metrics().connections_bad_input.load(Ordering::Relaxed) == 2
    })
    .await;

    // Another device is served all along.
    let mut bitaxe = Device::connect(addr).await;
    bitaxe.send(BITAXE_BURST).await;
    let mut seen = Vec::new();
    for id in 1..=5 {
        let a = bitaxe.answer(json!(id), &mut seen).await;
        assert_eq!(a["error"], Value::Null, "{a}");
    }
    bitaxe.until_method("mining.notify").await;
    assert!(s.translator.metrics().connections_open.load(Ordering::Relaxed) >= 301);
    drop(idle);
    s.shutdown().await;
}

/// A socket that never speaks and a device that subscribes but never authorizes are both
/// closed (idle and setup timeouts) and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_set_up_devices_time_out() {
    let s = stack_with(
        "t-timeouts",
        |c| {
            c.idle_timeout = Duration::from_secs(2);
            c.setup_timeout = Duration::from_secs(1);
        },
        |_| {},
    )
    .await;
    let addr = s.translator.addr();
    let mut silent = Device::connect(addr).await;
    let mut half = Device::connect(addr).await;
    half.send("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.12.1\"]}\n").await;
    assert_eq!(half.answer(json!(1), &mut Vec::new()).await["error"], Value::Null);
    assert!(silent.closed().await, "a silent socket is closed");
    assert!(half.closed().await, "a device that never authorizes is closed");
    until("both timeouts to be counted", || s.translator.metrics().connections_timed_out.load(Ordering::Relaxed) == 2)
        .await;
    assert_eq!(s.translator.metrics().connections_open.load(Ordering::Relaxed), 0);
    s.shutdown().await;
}

/// A pool that requires a fixed version (REQUIRES_FIXED_VERSION): the device's
/// `mining.configure` is answered with version rolling refused, both keys present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_version_pool_grants_no_rolling() {
    let s = stack_with("t-fixed", |_| {}, |p| p.version_rolling = false).await;
    let mut bitaxe = Device::connect(s.translator.addr()).await;
    bitaxe.send(BITAXE_BURST).await;
    let configure = bitaxe.answer(json!(1), &mut Vec::new()).await;
    assert_eq!(configure["result"], json!({"version-rolling": false, "version-rolling.mask": "00000000"}));
    bitaxe.until_method("mining.notify").await;
    s.shutdown().await;
}
