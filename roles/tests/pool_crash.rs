//! A crash loses no acknowledged share: the pool process is killed (SIGKILL) while a miner's
//! shares stream in, and every share it had acknowledged is in the database afterwards, which
//! a restarted pool opens and extends.

mod pool_common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use pool_common::*;
use sv2::channels::target::{hash_meets_target, target_from_nbits};
use sv2::messages::mining_flags::REQUIRES_STANDARD_JOBS;
use sv2::messages::SubmitSharesStandard;
use sv2_roles::net::load_authority_key;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_pool_keeps_every_acknowledged_share() {
    let tp_dir = temp_dir("crash-tp");
    let pool_dir = temp_dir("crash-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // Every hash is a share (so the miner can send many without finding blocks).
    let mut child = Command::new(env!("CARGO_BIN_EXE_sv2"))
        .arg("pool")
        .args(["--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", ""])
        .args(["--data-dir", pool_dir.to_str().unwrap(), "--tp-address", &tp.addr().to_string()])
        .args(["--tp-authority", &tp.authority().to_string(), "--payout-script-hex", &hex::encode(PAYOUT)])
        .env("SV2_POOL_SHARES_PER_MINUTE", "1e9")
        .env("SV2_POOL_DEFAULT_HASHRATE", "1e-9")
        .env("SV2_POOL_MIN_DIFFICULTY", "1e-12")
        .env("SV2_POOL_VARDIFF_WINDOW_SECS", "100000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let authority = loop {
        if let (Ok(k), Ok(_)) =
            (load_authority_key(&pool_dir.join("authority.pub")), std::net::TcpStream::connect(addr))
        {
            break k;
        }
        assert!(tokio::time::Instant::now() < deadline, "sv2 pool did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut m = RawMiner::connect(addr, authority, REQUIRES_STANDARD_JOBS).await;
    let ch = m.open(false, "crash.rig").await;
    let work = m.work(ch).unwrap();
    let block = target_from_nbits(work.nbits);
    let mut nonce = 0u32;
    let mut next_share = |seq: u32| {
        loop {
            nonce += 1;
            let h = header_hash(&work, nonce);
            if hash_meets_target(&h, &work.target) && !hash_meets_target(&h, &block) {
                break;
            }
        }
        SubmitSharesStandard {
            channel_id: ch,
            sequence_number: seq,
            job_id: work.job_id,
            nonce,
            ntime: work.min_ntime,
            version: work.version,
        }
    };
    let mut sent = 0u32;
    let mut acked = 0u32;
    // Stream shares with up to 200 unanswered; kill the pool in the middle of a burst.
    while sent < 3000 {
        for _ in 0..100 {
            sent += 1;
            m.conn.queue(&next_share(sent).into()).unwrap();
        }
        m.conn.flush().await.unwrap();
        while acked + 200 < sent {
            match m.answer().await {
                Answer::Accepted { last_sequence_number, .. } => acked = acked.max(last_sequence_number),
                other => panic!("{other:?}"),
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Answers already on their way still count as acknowledged.
    while let Ok(Ok(f)) = tokio::time::timeout(Duration::from_secs(5), m.conn.read_frame()).await {
        if let Ok((sv2::Message::SubmitSharesSuccess(s), _)) = f.message() {
            acked = acked.max(s.last_sequence_number);
        }
    }
    eprintln!("{sent} shares sent, {acked} acknowledged when the pool was killed");
    assert!(acked > 2000, "{acked} of {sent} acknowledged before the kill");
    let records = sv2_roles::pool::store::read(&pool_dir.join("pool.sqlite")).unwrap();
    let mut stored: Vec<u32> =
        records.shares.iter().filter(|s| s.identity == "crash.rig").map(|s| s.sequence_number).collect();
    stored.sort_unstable();
    stored.dedup();
    let missing: Vec<u32> = (1..=acked).filter(|q| stored.binary_search(q).is_err()).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    eprintln!("{} stored, every acknowledged one among them", stored.len());
    assert!(stored.iter().all(|q| *q <= sent));

    // A pool started on the same directory opens the database and carries on.
    let pool = start_pool(&pool_dir, &tp, |_| {}).await;
    let after = pool.records().unwrap();
    assert_eq!(after.runs, records.runs + 1);
    assert_eq!(after.shares.len(), records.shares.len());
    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(tp_dir);
    let _ = std::fs::remove_dir_all(pool_dir);
}
