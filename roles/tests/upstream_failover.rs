//! The farm side's upstream moves between real pools: a pool killed with SIGKILL (with shares
//! it never answered), a pool that refuses SetupConnection, a silent pool, and the move back
//! to the preferred pool once it is up again (with shares the abandoned one never answered).

mod pool_common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use pool_common::*;
use sv2::endpoint::server::JobState;
use sv2_roles::upstream::{self, ChannelSpec, PoolEndpoint, UpstreamConfig, UpstreamEvent, UpstreamShare};
use tokio::sync::{mpsc, watch};

/// Stops the process (SIGSTOP) and waits until it is stopped: from then on it answers
/// nothing, while its sockets stay open.
async fn stop(child: &ChildPool) {
    let pid = child.0.id();
    assert!(Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap().success());
    until("the pool process stopped", || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the parenthesised command name.
        stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('T'))
    })
    .await;
}

/// The next event that `pick` accepts (others are skipped), within [`PATIENCE`].
async fn next_event<T>(
    events: &mut mpsc::Receiver<UpstreamEvent>,
    what: &str,
    mut pick: impl FnMut(&UpstreamEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("upstream running");
        if let Some(t) = pick(&ev) {
            return t;
        }
        eprintln!("(waiting for {what}) {ev:?}");
    }
}

/// Waits until the job feed has a tip numbered above `after`; returns the state.
async fn tip_after(jobs: &mut watch::Receiver<Arc<JobState>>, after: u64) -> Arc<JobState> {
    let state = tokio::time::timeout(PATIENCE, jobs.wait_for(|s| s.tip.is_some() && s.tip_seq > after))
        .await
        .expect("a new tip in time")
        .expect("feed open");
    state.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_pool_moves_channels_to_the_next_and_back() {
    let tp_dir = temp_dir("upstream-kill-tp");
    let a_dir = temp_dir("upstream-kill-a");
    let b_dir = temp_dir("upstream-kill-b");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let port = free_port();
    let (mut a, a_key) = pool_process(&a_dir, &tp, port).await;
    let b_port = free_port();
    let (b, b_key) = pool_process(&b_dir, &tp, b_port).await;

    let mut config = UpstreamConfig::new(vec![
        PoolEndpoint::new(format!("127.0.0.1:{port}"), a_key),
        PoolEndpoint::new(format!("127.0.0.1:{b_port}"), b_key),
    ]);
    // Silence never decides here: stopped pools are killed or left, not timed out.
    config.response_timeout = Duration::from_secs(600);
    config.probe_interval = Duration::from_millis(200);
    config.probe_max = Duration::from_millis(400);
    config.drain_grace = Duration::from_millis(500);
    let (up, mut events) = upstream::start(config);
    let mut jobs = up.open(7, ChannelSpec::extended("farm.rack1", 1e9, 4)).await.unwrap().expect("extended feed");

    let (channel_a, size) = next_event(&mut events, "the channel on pool A", |e| match e {
        UpstreamEvent::ChannelReady { key: 7, index: 0, channel_id, extranonce_size, .. } => {
            Some((*channel_id, *extranonce_size))
        }
        _ => None,
    })
    .await;
    let state = tip_after(&mut jobs, 0).await;
    let tip = state.tip.clone().unwrap();
    assert_eq!(up.metrics().active(), Some(0));

    // One device's bad channel is not a pool failure: refused by the pool, or too long to
    // send at all; either is reported and forgotten while channel 7 stays on pool A.
    up.open(8, ChannelSpec::extended(" ", 1e9, 4)).await.unwrap();
    up.open(9, ChannelSpec::extended("x".repeat(300), 1e9, 4)).await.unwrap();
    let mut refused = std::collections::BTreeMap::new();
    while refused.len() < 2 {
        let (key, code) = next_event(&mut events, "the refused channels", |e| match e {
            UpstreamEvent::ChannelRefused { key, index: 0, code } => Some((*key, code.clone())),
            _ => None,
        })
        .await;
        refused.insert(key, code);
    }
    assert_eq!(refused[&8], "invalid-user-identity");
    assert!(refused[&9].contains("255"), "{}", refused[&9]);

    // A rejected share is an answer, not a pool failure.
    let bad = UpstreamShare {
        job_id: tip.job_id,
        nonce: 1,
        ntime: tip.prev.min_ntime,
        version: tip.job.version,
        extranonce: vec![0; usize::from(size) + 1],
    };
    up.submit(7, bad, 99).await.unwrap();
    let code = next_event(&mut events, "the bad share's answer", |e| match e {
        UpstreamEvent::ShareRejected { key: 7, id: 99, code } => Some(code.clone()),
        _ => None,
    })
    .await;
    assert_eq!(code, "bad-extranonce-size");
    assert_eq!((up.metrics().active(), up.metrics().failovers.load(Ordering::Relaxed)), (Some(0), 0));

    // Stop pool A so that shares go unanswered, send three, then kill it.
    stop(&a).await;
    for id in 100..103u64 {
        let share = UpstreamShare {
            job_id: tip.job_id,
            nonce: id as u32,
            ntime: tip.prev.min_ntime,
            version: tip.job.version,
            extranonce: vec![0; usize::from(size)],
        };
        up.submit(7, share, id).await.unwrap();
    }
    until("three shares forwarded", || up.metrics().shares_forwarded.load(Ordering::Relaxed) == 4).await;
    let killed = std::time::Instant::now();
    a.kill();

    let lost = next_event(&mut events, "pool A lost", |e| match e {
        UpstreamEvent::PoolLost { index: 0, unacknowledged, .. } => Some(unacknowledged.clone()),
        _ => None,
    })
    .await;
    assert_eq!(lost, [(7, 100), (7, 101), (7, 102)]);
    next_event(&mut events, "the channel re-opened on pool B", |e| match e {
        UpstreamEvent::ChannelReady { key: 7, index: 1, .. } => Some(()),
        _ => None,
    })
    .await;
    let reopened = killed.elapsed();
    let moved = tip_after(&mut jobs, state.tip_seq).await;
    // Reported, not asserted: how long the move took on this machine.
    eprintln!("SIGKILL to channel re-opened on pool B: {reopened:?}; to its first tip: {:?}", killed.elapsed());
    // Pool B's jobs never reuse an id pool A's jobs had, and A's jobs are not sent to B.
    let old_ids: Vec<u32> = state.tip.iter().map(|t| t.job_id).chain(state.latest.iter().map(|j| j.job_id)).collect();
    assert!(!old_ids.contains(&moved.tip.as_ref().unwrap().job_id), "{old_ids:?}");
    let stale = UpstreamShare {
        job_id: tip.job_id,
        nonce: 9,
        ntime: tip.prev.min_ntime,
        version: tip.job.version,
        extranonce: vec![0; usize::from(size)],
    };
    up.submit(7, stale, 200).await.unwrap();
    next_event(&mut events, "the stale share dropped", |e| match e {
        UpstreamEvent::ShareDropped { key: 7, id: 200 } => Some(()),
        _ => None,
    })
    .await;
    let m = up.metrics();
    assert_eq!(m.active(), Some(1));
    assert_eq!(m.failovers.load(Ordering::Relaxed), 1);
    assert_eq!(m.shares_unacknowledged.load(Ordering::Relaxed), 3);
    eprintln!("channel {channel_a} on pool A moved to pool B; 3 shares unacknowledged");

    // Pool B stops answering with two shares in flight; pool A comes back on its port. The
    // upstream moves back to A, and B's two shares, never answered, count as unacknowledged.
    stop(&b).await;
    let b_tip = moved.tip.clone().unwrap();
    for id in [300, 301] {
        let share = UpstreamShare {
            job_id: b_tip.job_id,
            nonce: id as u32,
            ntime: b_tip.prev.min_ntime,
            version: b_tip.job.version,
            extranonce: vec![0; usize::from(size)],
        };
        up.submit(7, share, id).await.unwrap();
    }
    until("two shares forwarded to B", || up.metrics().shares_forwarded.load(Ordering::Relaxed) == 6).await;
    let (mut a, _) = pool_process(&a_dir, &tp, port).await;
    next_event(&mut events, "the channel back on pool A", |e| match e {
        UpstreamEvent::ChannelReady { key: 7, index: 0, .. } => Some(()),
        _ => None,
    })
    .await;
    let left = next_event(&mut events, "pool B left", |e| match e {
        UpstreamEvent::PoolLost { index: 1, unacknowledged, .. } => Some(unacknowledged.clone()),
        _ => None,
    })
    .await;
    assert_eq!(left, [(7, 300), (7, 301)]);
    assert_eq!(up.metrics().shares_unacknowledged.load(Ordering::Relaxed), 5);
    let back = tip_after(&mut jobs, moved.tip_seq).await;
    assert!(back.tip_seq > moved.tip_seq);
    assert_eq!(up.metrics().active(), Some(0));
    assert_eq!(up.metrics().failovers.load(Ordering::Relaxed), 2);

    up.shutdown().await;
    a.kill();
    drop(b);
    tp.shutdown().await;
    for d in [tp_dir, a_dir, b_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_setup_moves_to_the_next_pool() {
    let tp_dir = temp_dir("upstream-refuse-tp");
    let a_dir = temp_dir("upstream-refuse-a");
    let b_dir = temp_dir("upstream-refuse-b");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    // Pool A serves extended channels only, so it refuses REQUIRES_STANDARD_JOBS.
    let a = start_pool(&a_dir, &tp, |c| c.extended_channels_only = true).await;
    let b = start_pool(&b_dir, &tp, |_| {}).await;
    let mut config = UpstreamConfig::new(vec![
        PoolEndpoint::new(a.addr().to_string(), a.authority()),
        PoolEndpoint::new(b.addr().to_string(), b.authority()),
    ]);
    config.requires_standard_jobs = true;
    let (up, mut events) = upstream::start(config);
    // Standard jobs are what REQUIRES_STANDARD_JOBS is for.
    assert!(up.open(1, ChannelSpec::standard("farm.rack2", 1e9)).await.unwrap().is_none());
    let reason = next_event(&mut events, "pool A refusing", |e| match e {
        UpstreamEvent::PoolUnavailable { index: 0, reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("unsupported-feature-flags"), "{reason}");
    let channel_id = next_event(&mut events, "the channel on pool B", |e| match e {
        UpstreamEvent::ChannelReady { key: 1, index: 1, channel_id, extranonce_size: 0, .. } => Some(*channel_id),
        _ => None,
    })
    .await;
    let job = next_event(&mut events, "a job", |e| match e {
        UpstreamEvent::StandardJob { key: 1, job } => Some(*job),
        _ => None,
    })
    .await;
    assert_eq!(job.channel_id, channel_id);
    let prev = next_event(&mut events, "a tip", |e| match e {
        UpstreamEvent::PrevHash { key: 1, prev } => Some(*prev),
        _ => None,
    })
    .await;
    // The tip names the job sent before it, in the consumer's numbering.
    assert_eq!((prev.channel_id, prev.job_id), (channel_id, job.job_id));
    // A harder easiest target reaches the pool as UpdateChannel, and its SetTarget comes back.
    let mut max_target = [0xff; 32];
    max_target[31] = 0x0f;
    up.update(1, 2e9, max_target).await.unwrap();
    let target = next_event(&mut events, "the new target", |e| match e {
        UpstreamEvent::TargetChanged { key: 1, target } => Some(*target),
        _ => None,
    })
    .await;
    assert!(target.iter().rev().cmp(max_target.iter().rev()).is_le());
    // A share sent just before its channel closes is still answered under the channel's key.
    let bad = UpstreamShare { job_id: job.job_id, nonce: 1, ntime: 0, version: 0, extranonce: Vec::new() };
    up.submit(1, bad, 42).await.unwrap();
    up.close(1).await.unwrap();
    next_event(&mut events, "the last share's answer", |e| match e {
        UpstreamEvent::ShareRejected { key: 1, id: 42, .. } | UpstreamEvent::ShareAccepted { key: 1, id: 42 } => {
            Some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(up.metrics().active(), Some(1));
    assert_eq!(up.metrics().failovers.load(Ordering::Relaxed), 0);
    up.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, a_dir, b_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_pool_is_given_up() {
    let tp_dir = temp_dir("upstream-silent-tp");
    let a_dir = temp_dir("upstream-silent-a");
    let b_dir = temp_dir("upstream-silent-b");
    let tp = start_tp(&tp_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let port = free_port();
    let (mut a, a_key) = pool_process(&a_dir, &tp, port).await;
    let b = start_pool(&b_dir, &tp, |_| {}).await;
    let mut config = UpstreamConfig::new(vec![
        PoolEndpoint::new(format!("127.0.0.1:{port}"), a_key),
        PoolEndpoint::new(b.addr().to_string(), b.authority()),
    ]);
    config.response_timeout = Duration::from_secs(2);
    // The pools refuse extension 0x0002; the upstream carries on without it.
    config.worker_identity = true;
    let (up, mut events) = upstream::start(config);
    let mut jobs = up.open(3, ChannelSpec::extended("farm.rack3", 1e9, 4)).await.unwrap().unwrap();
    next_event(&mut events, "the channel on pool A", |e| match e {
        UpstreamEvent::ChannelReady { key: 3, index: 0, .. } => Some(()),
        _ => None,
    })
    .await;
    let state = tip_after(&mut jobs, 0).await;
    let tip = state.tip.clone().unwrap();
    // Pool A stops answering (its process is stopped, its socket stays open).
    stop(&a).await;
    let share = UpstreamShare {
        job_id: tip.job_id,
        nonce: 1,
        ntime: tip.prev.min_ntime,
        version: tip.job.version,
        extranonce: vec![0; 4],
    };
    up.submit_as(3, share, 5, "rig9").await.unwrap();
    let (reason, lost) = next_event(&mut events, "pool A given up", |e| match e {
        UpstreamEvent::PoolLost { index: 0, reason, unacknowledged } => Some((reason.clone(), unacknowledged.clone())),
        _ => None,
    })
    .await;
    assert!(reason.contains("no answer"), "{reason}");
    assert_eq!(lost, [(3, 5)]);
    next_event(&mut events, "the channel on pool B", |e| match e {
        UpstreamEvent::ChannelReady { key: 3, index: 1, .. } => Some(()),
        _ => None,
    })
    .await;
    tip_after(&mut jobs, state.tip_seq).await;
    assert_eq!(up.metrics().shares_unacknowledged.load(Ordering::Relaxed), 1);
    up.shutdown().await;
    a.kill();
    b.shutdown().await;
    tp.shutdown().await;
    for d in [tp_dir, a_dir, b_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}
