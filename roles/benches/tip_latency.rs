//! New tip to miner job: the time from the node learning of a new tip to a miner holding the
//! pool's SetNewPrevHash for it, through the template provider, the pool and the miner's
//! Noise connection, all on loopback in this process (one clock).
//!
//! `cargo bench -p sv2-roles --bench tip_latency -- [TIPS] [MINERS]` (default 500 tips, 1 and
//! 100 miners on standard channels sharing their connection's group jobs).
//!
//! Each tip is a block the embedded node mines itself, as another pool's miner would; the
//! start is [`TipInfo::seen`] (when the template provider saw it), the end is when the last
//! miner decodes the SetNewPrevHash naming it.

use std::time::Duration;

use sv2::codec::{Bytes, Str0_255};
use sv2::messages::{OpenStandardMiningChannel, SetupConnection};
use sv2::Message;
use sv2_roles::net::{Connection, Limits};
use sv2_roles::pool::PoolConfig;
use sv2_roles::tp::TpConfig;

async fn miner(pool: &sv2_roles::pool::PoolHandle, index: usize) -> Connection {
    let auth = sv2::noise::ServerAuth::Authority(pool.authority());
    let mut conn = Connection::connect(pool.addr(), auth, Limits::default()).await.expect("connects");
    let setup = SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags: 0,
        endpoint_host: Str0_255::EMPTY,
        endpoint_port: 0,
        vendor: Str0_255::from_str("libsv2-bench").unwrap(),
        hardware_version: Bytes::EMPTY,
        firmware: Bytes::EMPTY,
        device_id: Bytes::EMPTY,
    };
    conn.send(&setup.into()).await.expect("setup");
    let user = format!("tips.m{index}");
    let open = OpenStandardMiningChannel {
        request_id: 1,
        user_identity: Str0_255::from_str(&user).unwrap(),
        nominal_hash_rate: 1e9,
        max_target: sv2::channels::target::MAX_TARGET,
    };
    conn.send(&open.into()).await.expect("open");
    // Up to the channel's first SetNewPrevHash.
    loop {
        let f = conn.read_frame().await.expect("frame");
        if let Ok((Message::SetNewPrevHash(_), _)) = f.message() {
            return conn;
        }
    }
}

/// Reads until `conn` has the SetNewPrevHash for `hash`.
async fn wait_for_tip(conn: &mut Connection, hash: &[u8; 32]) {
    loop {
        let f = conn.read_frame().await.expect("frame");
        if let Ok((Message::SetNewPrevHash(p), _)) = f.message() {
            if &p.prev_hash == hash {
                return;
            }
        }
    }
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e3
}

async fn run(tips: usize, miners: usize) {
    let base = std::env::temp_dir().join(format!("sv2-tip-latency-{}-{miners}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut tp_config = TpConfig::embedded(base.join("tp"));
    // Templates change only with the tip.
    tp_config.fee_check_interval = Duration::from_secs(3600);
    let tp = sv2_roles::tp::start(tp_config).await.expect("template provider starts");
    let payout = [&[0x00, 0x14][..], &[0x11; 20]].concat();
    let mut config = PoolConfig::new(base.join("pool"), tp.addr().to_string(), payout);
    config.tp_authority = Some(tp.authority());
    let pool = sv2_roles::pool::start(config).await.expect("pool starts");
    let mut conns = Vec::new();
    for i in 0..miners {
        conns.push(miner(&pool, i).await);
    }
    let mut latencies = Vec::with_capacity(tips);
    for _ in 0..tips {
        let tip = tp.mine_block().await.expect("the node mines");
        for c in &mut conns {
            tokio::time::timeout(Duration::from_secs(10), wait_for_tip(c, &tip.hash))
                .await
                .expect("tip reaches the miner");
        }
        latencies.push(tip.seen.elapsed());
        // Let the template provider and the pool settle before the next tip.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latencies.sort_unstable();
    println!(
        "{tips} tips, {miners} miner(s): new tip to the last miner's SetNewPrevHash p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        quantile(&latencies, 0.5),
        quantile(&latencies, 0.9),
        quantile(&latencies, 0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    );
    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&base);
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let tips = args.first().copied().unwrap_or(500);
    let miners: Vec<usize> = if args.len() > 1 { args[1..].to_vec() } else { vec![1, 100] };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        sv2_roles::logging::init("warn");
        println!("tip latency on loopback, {} cores", std::thread::available_parallelism().map_or(1, |n| n.get()));
        for m in miners {
            run(tips, m).await;
        }
    });
}
