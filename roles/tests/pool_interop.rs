//! Wire-level interop with the reference implementation's published role binaries, on
//! loopback: the reference pool (`pool_sv2`) fed by our template provider with our miner
//! mining through it until libbitcoinkernel accepts a block, and our pool serving the
//! reference translator (`translator_sv2`).
//!
//! The binaries are looked for in `$SV2_REF_BINS` (default `/work/ref-bins/bin`). Each test
//! skips, saying so, when its binary is absent. To install them:
//!
//! ```text
//! apt-get install -y capnproto libcapnp-dev   # pool_sv2 builds Bitcoin Core's IPC schema
//! cargo install --locked --root /work/ref-bins pool_sv2 translator_sv2
//! ```

mod pool_common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use pool_common::*;
use sv2::noise::AuthorityPublicKey;
use sv2_roles::miner::{self, ChannelMode, MinerConfig};
use sv2_roles::tp::{BlockVerdict, SolutionOutcome};

/// The reference pool's example authority key pair (from its published example configs).
const REF_AUTHORITY_PUBLIC: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
const REF_AUTHORITY_SECRET: &str = "mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n";
/// A regtest address for the reference pool's coinbase.
const REGTEST_ADDRESS: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

fn ref_binary(name: &str) -> Option<PathBuf> {
    let dir =
        std::env::var_os("SV2_REF_BINS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/work/ref-bins/bin"));
    let path = dir.join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} not found. Install the reference binaries with \
             `apt-get install -y capnproto libcapnp-dev && cargo install --locked --root /work/ref-bins pool_sv2 translator_sv2` \
             (or point SV2_REF_BINS at their directory).",
            path.display()
        );
        None
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &PathBuf, dir: &std::path::Path, config: &str, log: &str) -> Reaped {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_pool_on_our_template_provider_with_our_miner() {
    let Some(bin) = ref_binary("pool_sv2") else { return };
    let dir = temp_dir("interop-ref-pool");
    std::fs::create_dir_all(&dir).unwrap();
    let tp = start_tp(&dir.join("tp"), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let start_height = tp.tip().height;
    let mut reports = tp.solutions();
    let port = free_port();
    let config = format!(
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
         address = \"{}\"\n\
         public_key = \"{}\"\n",
        tp.addr(),
        tp.authority()
    );
    let pool = spawn(&bin, &dir, &config, "pool_sv2.log");
    let authority = AuthorityPublicKey::from_base58check(REF_AUTHORITY_PUBLIC).unwrap();
    for mode in [ChannelMode::Extended, ChannelMode::Standard] {
        let mut c = MinerConfig::new(format!("127.0.0.1:{port}"), authority, "libsv2.interop", mode);
        c.threads = 1;
        c.report_every = None;
        let m = miner::start(c);
        // A block found through the reference pool, accepted by the node.
        let deadline = tokio::time::Instant::now() + PATIENCE * 2;
        let block = loop {
            let r = tokio::time::timeout_at(deadline, reports.recv())
                .await
                .unwrap_or_else(|_| panic!("no block through pool_sv2; see {}", dir.join("pool_sv2.log").display()))
                .unwrap();
            if r.outcome == SolutionOutcome::Node(BlockVerdict::NewTip) {
                break r;
            }
        };
        // The block goes to the node before the pool answers the share.
        until("the reference pool's SubmitShares.Success", || m.stats().accepted > 0).await;
        assert!(block.block_hash.is_some());
        m.shutdown().await;
    }
    assert!(tp.tip().height >= start_height + 2);
    drop(pool);
    tp.shutdown().await;
    if std::env::var_os("SV2_KEEP_LOGS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
