//! What the interop tests with the reference implementation's role binaries share: where
//! the binaries are, child processes killed on drop, the reference pool's, translator's and Job
//! Declaration Client's configurations, and a Stratum V1 CPU miner to drive a translator.

#![allow(dead_code)] // each test binary uses a different part

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use sv2::noise::AuthorityPublicKey;

/// The reference pool's example authority key pair (from its published example configs).
pub const REF_AUTHORITY_PUBLIC: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
pub const REF_AUTHORITY_SECRET: &str = "mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n";
/// A regtest address for the reference pool's coinbase.
pub const REGTEST_ADDRESS: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

pub fn ref_binary(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SV2_REF_BINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ref-bins/bin"));
    let path = dir.join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} not found. `bash scripts/interop-roles.sh` installs the reference binaries \
             and runs this test (or point SV2_REF_BINS at their directory).",
            path.display()
        );
        None
    }
}

/// A child process killed when dropped.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn(bin: &PathBuf, dir: &std::path::Path, config: &str, log: &str) -> Reaped {
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let log = std::fs::File::create(dir.join(log)).unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&config_path)
        .current_dir(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    Reaped(child)
}

/// The reference pool's configuration: listening on `port`, templates from our template
/// provider at `tp_address` pinned to `tp_authority`.
pub fn ref_pool_config(port: u16, tp_address: &str, tp_authority: &AuthorityPublicKey) -> String {
    format!(
        "authority_public_key = \"{REF_AUTHORITY_PUBLIC}\"\n\
         authority_secret_key = \"{REF_AUTHORITY_SECRET}\"\n\
         cert_validity_sec = 3600\n\
         listen_address = \"127.0.0.1:{port}\"\n\
         coinbase_reward_script = \"addr({REGTEST_ADDRESS})\"\n\
         server_id = 1\n\
         pool_signature = \"libsv2 interop\"\n\
         shares_per_minute = 60.0\n\
         share_batch_size = 1\n\
         [template_provider_type.Sv2Tp]\n\
         address = \"{tp_address}\"\n\
         public_key = \"{tp_authority}\"\n"
    )
}

/// The reference translator's configuration: SV1 devices on `sv1_port`, one channel each,
/// upstream an SV2 server on `upstream_port` pinned to `authority`.
pub fn ref_translator_config(sv1_port: u16, upstream_port: u16, authority: &AuthorityPublicKey) -> String {
    format!(
        "downstream_address = \"127.0.0.1\"\n\
         downstream_port = {sv1_port}\n\
         max_supported_version = 2\n\
         min_supported_version = 2\n\
         downstream_extranonce2_size = 4\n\
         aggregate_channels = false\n\
         supported_extensions = [0x0002]\n\
         [downstream_difficulty_config]\n\
         min_individual_miner_hashrate = 100000.0\n\
         shares_per_minute = 60.0\n\
         enable_vardiff = false\n\
         job_keepalive_interval_secs = 60\n\
         [[upstreams]]\n\
         address = \"127.0.0.1\"\n\
         port = {upstream_port}\n\
         authority_pubkey = \"{authority}\"\n\
         user_identity = \"interop.translator\"\n"
    )
}

/// The reference Job Declaration Client's configuration: SV2 miners on `listen_port` (Noise
/// with the reference example authority), templates from our template provider at
/// `tp_address` pinned to `tp_authority`, one upstream: a pool's Mining port and its JDS port,
/// both pinned to `pool_authority`. Full-Template mode; every share acknowledged at once.
pub fn ref_jdc_config(
    listen_port: u16,
    tp_address: &str,
    tp_authority: &AuthorityPublicKey,
    pool_port: u16,
    jds_port: u16,
    pool_authority: &AuthorityPublicKey,
) -> String {
    format!(
        "listening_address = \"127.0.0.1:{listen_port}\"\n\
         max_supported_version = 2\n\
         min_supported_version = 2\n\
         authority_public_key = \"{REF_AUTHORITY_PUBLIC}\"\n\
         authority_secret_key = \"{REF_AUTHORITY_SECRET}\"\n\
         cert_validity_sec = 3600\n\
         shares_per_minute = 60.0\n\
         share_batch_size = 1\n\
         mode = \"FULLTEMPLATE\"\n\
         jdc_signature = \"libsv2 interop jdc\"\n\
         coinbase_reward_script = \"addr({REGTEST_ADDRESS})\"\n\
         supported_extensions = []\n\
         [[upstreams]]\n\
         authority_pubkey = \"{pool_authority}\"\n\
         pool_address = \"127.0.0.1\"\n\
         pool_port = {pool_port}\n\
         jds_address = \"127.0.0.1\"\n\
         jds_port = {jds_port}\n\
         user_identity = \"interop.jdc\"\n\
         [template_provider_type.Sv2Tp]\n\
         address = \"{tp_address}\"\n\
         public_key = \"{tp_authority}\"\n"
    )
}

/// Connects an SV1 miner to a translator on `port` once it listens (within ten seconds).
pub async fn sv1_miner_when_listening(port: u16, user: &str, log: &std::path::Path) -> sv1::Miner {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return sv1::Miner::connect(port, user).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the translator did not listen; see {}", log.display())
}

/// A Stratum V1 CPU miner, just enough to drive the reference translator: subscribe,
/// authorize, hash each mining.notify at the set difficulty, submit.
pub mod sv1 {
    use serde_json::{json, Value};
    use sv2::channels::hash::{header_bytes, merkle_root_from_path, sha256d};
    use sv2::channels::target::{from_f64, hash_meets_target};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    pub struct Miner {
        lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
        out: tokio::net::tcp::OwnedWriteHalf,
        extranonce1: Vec<u8>,
        extranonce2_size: usize,
        difficulty: f64,
        next_id: u64,
    }

    fn hex(v: &Value) -> Vec<u8> {
        hex::decode(v.as_str().unwrap_or_default()).expect("hex")
    }

    fn be_u32(v: &Value) -> u32 {
        u32::from_str_radix(v.as_str().unwrap_or_default(), 16).expect("hex u32")
    }

    impl Miner {
        pub async fn connect(port: u16, user: &str) -> Miner {
            let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("translator listens");
            let (r, w) = stream.into_split();
            let mut m = Miner {
                lines: BufReader::new(r).lines(),
                out: w,
                extranonce1: Vec::new(),
                extranonce2_size: 0,
                difficulty: 1.0,
                next_id: 1,
            };
            let sub = m.call("mining.subscribe", json!(["libsv2-test-sv1"])).await;
            m.extranonce1 = hex(&sub[1]);
            m.extranonce2_size = sub[2].as_u64().unwrap_or(4) as usize;
            assert_eq!(m.call("mining.authorize", json!([user, "x"])).await, json!(true));
            m
        }

        async fn send(&mut self, method: &str, params: Value) -> u64 {
            let id = self.next_id;
            self.next_id += 1;
            let line = json!({"id": id, "method": method, "params": params}).to_string() + "\n";
            self.out.write_all(line.as_bytes()).await.unwrap();
            id
        }

        /// Sends a request and returns its result; notifications in between are handled.
        async fn call(&mut self, method: &str, params: Value) -> Value {
            let id = self.send(method, params).await;
            loop {
                let v = self.read().await;
                if v["id"].as_u64() == Some(id) && v.get("method").is_none() {
                    return v["result"].clone();
                }
                self.note(&v);
            }
        }

        async fn read(&mut self) -> Value {
            let line = self.lines.next_line().await.expect("read").expect("translator open");
            serde_json::from_str(&line).expect("JSON line")
        }

        fn note(&mut self, v: &Value) {
            if v["method"] == "mining.set_difficulty" {
                self.difficulty = v["params"][0].as_f64().unwrap_or(1.0);
            }
        }

        /// Waits for the next mining.notify, mines it, submits; returns the pool's verdict.
        pub async fn mine_one(&mut self) -> Value {
            let params = loop {
                let v = self.read().await;
                if v["method"] == "mining.notify" {
                    break v["params"].clone();
                }
                self.note(&v);
            };
            let job_id = params[0].clone();
            // Stratum V1 sends the previous hash with every 4-byte word byte-swapped.
            let mut prev = hex(&params[1]);
            prev.chunks_mut(4).for_each(|w| w.reverse());
            let prev: [u8; 32] = prev.try_into().expect("32 bytes");
            let extranonce2 = vec![0x5a; self.extranonce2_size];
            let coinbase = [hex(&params[2]), self.extranonce1.clone(), extranonce2.clone(), hex(&params[3])].concat();
            let branches: Vec<[u8; 32]> =
                params[4].as_array().unwrap().iter().map(|b| hex(b).try_into().expect("32 bytes")).collect();
            let root = merkle_root_from_path(sha256d(&coinbase), &branches);
            let (version, nbits, ntime) = (be_u32(&params[5]), be_u32(&params[6]), be_u32(&params[7]));
            // Difficulty 1 is 0xFFFF * 2^208.
            let target = from_f64(65535.0 * 2f64.powi(208) / self.difficulty);
            let nonce = (0u32..)
                .find(|n| hash_meets_target(&sha256d(&header_bytes(version, &prev, &root, ntime, nbits, *n)), &target))
                .expect("a nonce");
            let submit = json!([
                "interop.sv1",
                job_id,
                hex::encode(&extranonce2),
                format!("{ntime:08x}"),
                format!("{nonce:08x}")
            ]);
            self.call("mining.submit", submit).await
        }
    }
}
