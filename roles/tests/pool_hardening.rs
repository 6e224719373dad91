//! The pool against clients that game its accounting or its scheduling: a zero maximum
//! target, a near-zero hashrate, UpdateChannel spam, floods of invalid shares, a socket kept
//! busy across a new tip, channels closed and reopened, and connections left without a
//! channel. Each attack is answered on its own connection while an honest miner keeps mining
//! and every share it was told was accepted stays recorded.

mod pool_common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pool_common::*;
use sv2::channels::target::{difficulty, target_for_difficulty, target_from_nbits};
use sv2::codec::{Bytes, FrameHeader, Str0_255};
use sv2::messages::{CloseChannel, OpenExtendedMiningChannel, SubmitSharesStandard, UpdateChannel};
use sv2::Message;
use sv2_roles::miner::{self, ChannelMode, MinerConfig, MinerHandle};

fn honest_miner(pool: &sv2_roles::pool::PoolHandle, user: &str) -> MinerHandle {
    let mut c = MinerConfig::new(pool.addr().to_string(), pool.authority(), user, ChannelMode::Extended);
    c.threads = 1;
    c.record_shares = true;
    c.report_every = None;
    c.reconnect = false;
    miner::start(c)
}

/// Every share the honest miner heard accepted is in the database.
async fn acknowledged_shares_recorded(pool: &sv2_roles::pool::PoolHandle, honest: MinerHandle, user: &str) {
    let mut honest = honest;
    honest.stop().await;
    assert_eq!(honest.stats().connections, 1, "the honest miner was never disconnected");
    let acked: Vec<_> = honest.sent_shares().into_iter().filter(|s| s.answer == Some(Ok(()))).collect();
    assert!(!acked.is_empty());
    let records = pool.records().unwrap();
    for s in acked {
        assert!(
            records.shares.iter().any(|r| r.identity == user
                && r.sequence_number == s.sequence_number
                && r.nonce == s.nonce
                && r.job_id == s.job_id),
            "acknowledged share {} is recorded",
            s.sequence_number
        );
    }
}

/// Whether the pool closes `m`'s connection within `wait`.
async fn closed_within(m: &mut RawMiner, wait: Duration) -> bool {
    tokio::time::timeout(wait, async {
        loop {
            if m.conn.read_frame().await.is_err() {
                return;
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounting_attacks_gain_nothing() {
    let tp_dir = temp_dir("hard-acct-tp");
    let pool_dir = temp_dir("hard-acct-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool = start_pool(&pool_dir, &tp, |c| {
        c.min_difficulty = 1e-6;
        c.shares_per_minute = 60.0;
        c.max_invalid_shares_per_minute = 50;
    })
    .await;
    let honest = honest_miner(&pool, "honest.rig");
    until("the honest miner's first accepted share", || honest.stats().accepted > 0).await;
    let floor = target_for_difficulty(1e-6);

    // 1. max_target all zero: the channel's target is 0, so only blocks count, and each is
    // credited a block's difficulty, not an infinite one.
    let mut m = RawMiner::connect(pool.addr(), pool.authority(), 0).await;
    let ch = m.open_with(true, "mallory.zero", 1e3, [0; 32]).await;
    let work = m.work(ch).unwrap();
    assert_eq!(work.target, [0; 32]);
    let block_target = target_from_nbits(work.nbits);
    let block_work = sv2::channels::client::Work { target: block_target, ..work.clone() };
    let nonce = grind(&block_work, 0, true);
    m.submit(ch, 1, &work, nonce, work.min_ntime, work.version, &work.extranonce.clone()).await;
    assert!(matches!(m.answer().await, Answer::Accepted { count: 1, .. }));
    let sum = *m.share_sums.last().unwrap();
    assert!(sum as f64 <= difficulty(&block_target).ceil(), "new_shares_sum {sum} for one regtest block");
    let records = pool.records().unwrap();
    let credited = records.shares.iter().find(|r| r.identity == "mallory.zero").map(|r| r.difficulty);
    assert!(credited.is_some_and(|d| d.is_finite() && d <= difficulty(&block_target)), "{credited:?}");
    drop(m);

    // 2. A near-zero hashrate on open, then in UpdateChannel: the target stays at the pool's
    // minimum difficulty or harder, and UpdateChannel cannot keep easing it.
    let mut m = RawMiner::connect(pool.addr(), pool.authority(), 0).await;
    let ch = m.open_with(true, "mallory.slow", 1e-9, sv2::channels::target::MAX_TARGET).await;
    let opened = m.channels.get(ch).unwrap().target();
    assert!(sv2::channels::target::cmp_le(&opened, &floor).is_le(), "opened at difficulty {}", difficulty(&opened));
    for _ in 0..50 {
        let u = UpdateChannel {
            channel_id: ch,
            nominal_hash_rate: 1e-9,
            maximum_target: sv2::channels::target::MAX_TARGET,
        };
        m.conn.queue(&u.into()).unwrap();
    }
    m.conn.flush().await.unwrap();
    // Answered by nothing or a SetTarget no easier than the floor; a share then still gets its
    // answer (the connection is alive).
    let work = m.work(ch).unwrap();
    let nonce = grind(&work, 0, false);
    m.submit(ch, 1, &work, nonce, work.min_ntime, work.version, &work.extranonce.clone()).await;
    assert!(matches!(m.answer().await, Answer::Rejected { .. }));
    assert!(m.set_targets.iter().all(|t| sv2::channels::target::cmp_le(t, &floor).is_le()));
    drop(m);

    // 3. A flood of invalid shares: answered, counted without a row each, and the connection
    // closed once it is over the limit.
    let mut m = RawMiner::connect(pool.addr(), pool.authority(), 0).await;
    let ch = m.open(true, "mallory.flood").await;
    let work = m.work(ch).unwrap();
    let bad = grind(&work, 0, false);
    for seq in 0..400 {
        let channel = if seq % 2 == 0 { ch } else { 999 };
        m.queue_submit(channel, seq, &work, bad, work.min_ntime, work.version, &work.extranonce.clone());
    }
    let _ = m.conn.flush().await;
    assert!(closed_within(&mut m, PATIENCE).await, "the flooding connection was closed");
    assert_eq!(pool.metrics().connections_closed_invalid.load(Ordering::Relaxed), 1);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let counted = loop {
        let r = pool.records().unwrap();
        let n: u64 = r.rejections.iter().filter(|x| x.identity == "mallory.flood").map(|x| x.count).sum();
        if n > 0 || tokio::time::Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!((1..=60).contains(&counted), "{counted} rejections counted before the close");
    assert!(pool.records().unwrap().shares.iter().all(|r| r.identity != "mallory.flood"), "no row per bad share");

    acknowledged_shares_recorded(&pool, honest, "honest.rig").await;
    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(tp_dir);
    let _ = std::fs::remove_dir_all(pool_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_socket_still_gets_its_new_tip_first() {
    let tp_dir = temp_dir("hard-busy-tp");
    let pool_dir = temp_dir("hard-busy-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool = start_pool(&pool_dir, &tp, |_| {}).await;
    let mut m = RawMiner::connect(pool.addr(), pool.authority(), 0).await;
    let ch = m.open(true, "mallory.busy").await;
    let tips_before = m.tips.len();

    // Hundreds of megabytes of frames the pool reads and drops (an extension it does not
    // know), written as fast as loopback takes them, then one share for no channel whose
    // answer marks the end. A new tip arrives while the pool reads them.
    let payload = vec![0u8; 60_000];
    let header = FrameHeader { extension_type: 0x4444, msg_type: 1, msg_length: payload.len() as u32 };
    for _ in 0..5000 {
        m.conn.queue_frame(header, &payload).unwrap();
    }
    let marker =
        SubmitSharesStandard { channel_id: 4242, sequence_number: 77, job_id: 1, nonce: 0, ntime: 0, version: 0 };
    m.conn.queue(&marker.into()).unwrap();
    let flood = tokio::spawn(async move {
        m.conn.flush().await.unwrap();
        m
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    tp.mine_block().await.unwrap();
    let mut m = flood.await.unwrap();
    // The tip's SetNewPrevHash comes before the answer to the last frame of the flood.
    let mut tip_first = None;
    while tip_first.is_none() {
        if let Some(Answer::Rejected { sequence_number: 77, .. }) = m.next().await {
            tip_first = Some(m.tips.len() > tips_before);
        }
    }
    assert_eq!(tip_first, Some(true), "the new tip waited behind the peer's flood");
    let _ = ch;
    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(tp_dir);
    let _ = std::fs::remove_dir_all(pool_dir);
}

/// Opens an extended channel and returns its id and extranonce prefix.
async fn open_raw(m: &mut RawMiner, user: &str) -> (u32, Vec<u8>) {
    let open = OpenExtendedMiningChannel {
        request_id: 1,
        user_identity: Str0_255::from_str(user).unwrap(),
        nominal_hash_rate: 1e3,
        max_target: sv2::channels::target::MAX_TARGET,
        min_extranonce_size: 4,
    };
    m.conn.send(&open.into()).await.unwrap();
    loop {
        let f = tokio::time::timeout(PATIENCE, m.conn.read_frame()).await.unwrap().unwrap();
        if let Message::OpenExtendedMiningChannelSuccess(s) = f.message().unwrap().0 {
            return (s.channel_id, s.extranonce_prefix.as_bytes().to_vec());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_channels_give_back_their_prefix_and_channelless_connections_are_closed() {
    let tp_dir = temp_dir("hard-close-tp");
    let pool_dir = temp_dir("hard-close-pool");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let pool = start_pool(&pool_dir, &tp, |c| c.setup_timeout = Duration::from_secs(1)).await;

    // A prefix closed on one tip comes back after the next, not before.
    let mut watcher = RawMiner::connect(pool.addr(), pool.authority(), 0).await;
    watcher.open(true, "carol.watch").await;
    let mut m = RawMiner::connect(pool.addr(), pool.authority(), 0).await;
    let (a, prefix_a) = open_raw(&mut m, "carol.loop").await;
    m.conn.send(&CloseChannel { channel_id: a, reason_code: Bytes::EMPTY }.into()).await.unwrap();
    let (b, prefix_b) = open_raw(&mut m, "carol.loop").await;
    assert_ne!(prefix_a, prefix_b, "not reused on the same tip");
    m.conn.send(&CloseChannel { channel_id: b, reason_code: Bytes::EMPTY }.into()).await.unwrap();
    let tips = watcher.tips.len();
    tp.mine_block().await.unwrap();
    // Once another connection has the new tip, this one has it too before it reads on.
    while watcher.tips.len() == tips {
        watcher.next().await;
    }
    let (c, prefix_c) = open_raw(&mut m, "carol.loop").await;
    assert!(prefix_c == prefix_a || prefix_c == prefix_b, "a released prefix is reused after the tip moved");
    assert!(c > b, "channel ids are not reused");

    // A connection that closes its last channel must open another within the setup timeout.
    m.conn.send(&CloseChannel { channel_id: c, reason_code: Bytes::EMPTY }.into()).await.unwrap();
    assert!(closed_within(&mut m, Duration::from_secs(15)).await, "an idle connection without channels was kept");

    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(tp_dir);
    let _ = std::fs::remove_dir_all(pool_dir);
}
