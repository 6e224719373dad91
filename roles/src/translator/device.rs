//! One device connection: its socket, its SV1 [`Session`], and the [`ServerChannel`] that
//! validates its shares against the pool's jobs at the device's difficulty. Shares that also
//! meet the pool's target go to the hub to be forwarded.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sv2::channels::server::{ChannelKind, ServerChannel};
use sv2::channels::target::{hash_meets_target, target_for_difficulty, TargetLe};
use sv2::channels::vardiff::Vardiff;
use sv2::endpoint::server::JobState;
use sv2::sv1::session::{Event, Session, Sv1Job, Sv1Share, Upstream, Verdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::hub::{Assignment, ToDevice, ToHub, DEVICE_QUEUE};
use super::Shared;
use crate::farm_metrics::DeviceStats;
use crate::keygen::unix_now;
use crate::net::{sleep_until_some, stopped};
use crate::upstream::UpstreamShare;

/// Shares one device may have validated on one tip (its channel's duplicate set); vardiff
/// keeps an honest device far below it.
const MAX_SHARES_PER_TIP: usize = 100_000;

/// How often vardiff and the keep-alive run.
const TICK: Duration = Duration::from_secs(5);

/// Why a connection ended.
enum End {
    /// The device closed it, or the socket failed.
    Gone,
    /// Bad input (counted), already answered as far as possible.
    BadInput(String),
    /// Setup or idle timeout.
    Timeout(&'static str),
    /// The hub or the translator closed it.
    Closed(String),
}

/// A device connection before it runs.
pub(super) struct Device {
    id: u64,
    peer: SocketAddr,
    shared: Arc<Shared>,
    hub: mpsc::Sender<ToHub>,
    shutdown: watch::Receiver<bool>,
}

/// Where the device mines, once assigned.
struct Mining {
    assignment: Assignment,
    /// Validates at the device's own targets (the session checks each job's).
    channel: ServerChannel,
    /// The tip last sent (None: send the next tip with clean_jobs).
    tip_seq: Option<u64>,
    /// Job ids already in the channel on this tip.
    known: HashSet<u32>,
    /// The pool's target for forwarded shares.
    upstream_target: TargetLe,
}

impl Device {
    pub(super) fn new(
        id: u64,
        peer: SocketAddr,
        shared: Arc<Shared>,
        hub: mpsc::Sender<ToHub>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Device { id, peer, shared, hub, shutdown }
    }

    pub(super) async fn run(mut self, mut stream: TcpStream) {
        let m = self.shared.metrics.clone();
        m.connections_open.fetch_add(1, Ordering::Relaxed);
        crate::farm_metrics::lock(&m.devices).insert(
            self.id,
            DeviceStats { id: self.id, peer: self.peer.to_string(), connected_at: unix_now(), ..Default::default() },
        );
        let _ = stream.set_nodelay(true);
        let end = self.serve(&mut stream).await;
        match &end {
            End::Gone => tracing::debug!("device {} ({}) disconnected", self.id, self.peer),
            End::BadInput(e) => {
                m.connections_bad_input.fetch_add(1, Ordering::Relaxed);
                tracing::info!("device {} ({}) closed: {e}", self.id, self.peer);
            }
            End::Timeout(what) => {
                m.connections_timed_out.fetch_add(1, Ordering::Relaxed);
                tracing::info!("device {} ({}) closed: {what} timeout", self.id, self.peer);
            }
            End::Closed(why) => tracing::info!("device {} ({}) closed: {why}", self.id, self.peer),
        }
        let _ = self.hub.send(ToHub::Gone { device: self.id }).await;
        m.remove(self.id);
        m.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    async fn serve(&mut self, stream: &mut TcpStream) -> End {
        let config = &self.shared.config;
        let mut session = Session::new(config.session.clone(), self.shared.mono());
        let (tx, mut rx) = mpsc::channel(DEVICE_QUEUE);
        let mut tx = Some(tx);
        let mut mining: Option<Mining> = None;
        let mut buf = vec![0u8; 4096];
        let mut last_read = Instant::now();
        let mut setup_deadline: Option<Instant> = None;
        let (mut subscribed, mut authorized) = (false, false);
        let mut first_queued: Option<Instant> = None;
        let mut tick = tokio::time::interval(TICK);
        let mut seq = 0u32;
        let mut shutdown = self.shutdown.clone();
        loop {
            let grace = first_queued.filter(|_| tx.is_some()).map(|t| t + config.authorize_grace);
            let jobs_changed = async {
                match mining.as_mut() {
                    Some(m) => m.assignment.jobs.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            let step: Result<(), End> = tokio::select! {
                n = stream.read(&mut buf) => match n {
                    Ok(0) | Err(_) => Err(End::Gone),
                    Ok(n) => {
                        last_read = Instant::now();
                        let r = session.receive(&buf[..n], self.shared.mono()).map_err(|e| End::BadInput(e.to_string()));
                        // Open the channel once the device has asked for something: at once
                        // with the worker a pipelining device is about to authorize, or after
                        // the grace under the configured user.
                        if tx.is_some() && session.queued() > 0 {
                            if let Some(w) = session.queued_worker().map(str::to_string) {
                                self.open(&mut tx, w).await;
                            } else if config.aggregate {
                                self.open(&mut tx, config.user.clone()).await;
                            } else {
                                first_queued.get_or_insert_with(Instant::now);
                            }
                        }
                        r
                    }
                },
                _ = sleep_until_some(grace) => {
                    self.open(&mut tx, config.user.clone()).await;
                    Ok(())
                }
                m = rx.recv() => match m {
                    None => Err(End::Closed("dropped by the hub".into())),
                    Some(ToDevice::Close(why)) => Err(End::Closed(why)),
                    Some(ToDevice::Target(t)) => {
                        if let Some(m) = mining.as_mut() {
                            m.upstream_target = t;
                        }
                        Ok(())
                    }
                    Some(ToDevice::VersionMask(mask)) => {
                        session.set_upstream_version_mask(mask);
                        Ok(())
                    }
                    Some(ToDevice::Assign(a)) => self.assign(&mut session, &mut mining, a, &mut setup_deadline),
                },
                true = jobs_changed => {
                    if let Some(m) = mining.as_mut() {
                        sync(&mut session, m, self.shared.mono());
                    }
                    Ok(())
                }
                _ = tick.tick() => {
                    let now = self.shared.mono();
                    session.tick(now);
                    if session.keepalive_due(now) {
                        session.resend_job(unix_now(), now);
                    }
                    if last_read.elapsed() >= config.idle_timeout {
                        Err(End::Timeout("idle"))
                    } else if setup_deadline.is_some_and(|d| Instant::now() >= d) {
                        Err(End::Timeout("setup"))
                    } else {
                        Ok(())
                    }
                }
                _ = stopped(&mut shutdown) => Err(End::Closed("translator shutting down".into())),
            };
            // Shares and the rest of what the session decided.
            while let Some(event) = session.next_event() {
                match event {
                    Event::Share { ticket, share } => {
                        let now = self.shared.mono();
                        let Some(m) = mining.as_mut() else { continue };
                        seq = seq.wrapping_add(1);
                        if m.channel.shares_on_tip() >= MAX_SHARES_PER_TIP {
                            return End::BadInput(format!("over {MAX_SHARES_PER_TIP} shares on one tip"));
                        }
                        let (verdict, outcome) = judge(m, &share, seq, unix_now());
                        let metrics = &self.shared.metrics;
                        match (&verdict, outcome) {
                            (Verdict::Accepted, Some(o)) => {
                                metrics.device(self.id, |d| {
                                    d.shares_accepted += 1;
                                    d.accepted_difficulty += share.difficulty;
                                    d.blocks += u64::from(o.block);
                                    if o.forward.is_some() {
                                        d.shares_forwarded += 1;
                                    } else {
                                        d.shares_below_upstream += 1;
                                    }
                                });
                                if let Some(up) = o.forward {
                                    let extranonce = [&m.assignment.extranonce1[..], &share.extranonce2].concat();
                                    let (worker, block) = (share.worker.clone(), o.block);
                                    let msg = ToHub::Share { device: self.id, worker, share: up, extranonce, block };
                                    if self.hub.send(msg).await.is_err() {
                                        return End::Closed("translator shutting down".into());
                                    }
                                }
                            }
                            (Verdict::Rejected(e), _) => {
                                let why = e.message.clone();
                                metrics.device(self.id, |d| *d.shares_rejected.entry(why).or_default() += 1);
                            }
                            (Verdict::Accepted, None) => {}
                        }
                        session.answer_share(ticket, verdict, now);
                    }
                    Event::DifficultyChanged { difficulty, .. } => {
                        self.shared.metrics.device(self.id, |d| d.difficulty = difficulty);
                    }
                    Event::Subscribed { user_agent, .. } => {
                        subscribed = true;
                        let ua = user_agent.unwrap_or_default().chars().take(128).collect();
                        self.shared.metrics.device(self.id, |d| d.user_agent = ua);
                    }
                    Event::Authorized { worker } => {
                        authorized = true;
                        self.shared.metrics.device(self.id, |d| {
                            if d.worker.is_empty() {
                                d.worker = worker.chars().take(128).collect();
                            }
                        });
                    }
                }
            }
            if subscribed && authorized {
                setup_deadline = None;
            }
            let out = session.take_output();
            if !out.is_empty() {
                match tokio::time::timeout(config.write_timeout, stream.write_all(&out)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return End::Gone,
                    Err(_) => return End::Timeout("write"),
                }
            }
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Asks the hub for an extranonce (once).
    async fn open(&self, tx: &mut Option<mpsc::Sender<ToDevice>>, worker: String) {
        if let Some(tx) = tx.take() {
            let _ = self.hub.send(ToHub::Open { device: self.id, worker, tx }).await;
        }
    }

    /// Where to mine: the first assignment answers the queued requests; a later one (failover,
    /// new prefix) moves the device with `mining.set_extranonce`, or `client.reconnect` when
    /// it did not subscribe to that.
    fn assign(
        &self,
        session: &mut Session,
        mining: &mut Option<Mining>,
        a: Assignment,
        setup_deadline: &mut Option<Instant>,
    ) -> Result<(), End> {
        let now = self.shared.mono();
        let (en1, size) = (a.extranonce1.clone(), a.extranonce2_size);
        if !session.is_ready() {
            let up = Upstream { extranonce1: en1.clone(), extranonce2_size: size, version_mask: a.version_mask };
            session.set_upstream(up, now).map_err(|e| End::Closed(format!("bad extranonce from the hub: {e}")))?;
            *setup_deadline = Some(Instant::now() + self.shared.config.setup_timeout);
        } else {
            session.set_upstream_version_mask(a.version_mask);
            match session.set_extranonce(&en1, size) {
                Ok(true) => {
                    self.shared.metrics.extranonce_changes.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {
                    self.shared.metrics.reconnects_sent.fetch_add(1, Ordering::Relaxed);
                    session.reconnect(None, None, 0);
                    return Err(End::Closed("new extranonce: told to reconnect".into()));
                }
                Err(e) => return Err(End::Closed(format!("bad extranonce from the hub: {e}"))),
            }
        }
        self.shared.metrics.device(self.id, |d| d.extranonce1 = hex::encode(&en1));
        let easiest = target_for_difficulty(self.shared.config.session.min_difficulty);
        let channel = ServerChannel::new(
            1,
            ChannelKind::Extended { extranonce_size: size as u16 },
            "",
            en1,
            // The session holds each job's device target; the channel checks the rest, at
            // the easiest difficulty a device may get (so that junk never fills its
            // duplicate set).
            easiest,
            easiest,
            Vardiff::new(1.0, 60, now),
        );
        let mut m = Mining { upstream_target: a.target, assignment: a, channel, tip_seq: None, known: HashSet::new() };
        sync(session, &mut m, now);
        *mining = Some(m);
        Ok(())
    }
}

/// An accepted share: whether it found a block, and the share to forward when it also meets
/// the pool's target (or is a block).
#[derive(Debug)]
struct Outcome {
    block: bool,
    forward: Option<UpstreamShare>,
}

/// Validates a device share with the device's channel at unix time `now`: the verdict for the
/// device, and for an accepted share what to do upstream. The extranonce forwarded is what
/// lies below the pool's prefix: the tail of extranonce1 and the device's extranonce2.
fn judge(m: &mut Mining, share: &Sv1Share, seq: u32, now: u32) -> (Verdict, Option<Outcome>) {
    let validated = m.channel.validate(&share.as_share(), seq, now);
    let verdict = share.verdict(&validated);
    let accepted = match (&verdict, validated) {
        (Verdict::Accepted, Ok(a)) => a,
        _ => return (verdict, None),
    };
    let block = accepted.block.is_some();
    let forward = (block || hash_meets_target(&accepted.hash, &m.upstream_target)).then(|| {
        let en1 = &m.assignment.extranonce1;
        UpstreamShare {
            job_id: share.job_id,
            nonce: share.nonce,
            ntime: share.ntime,
            version: share.version,
            extranonce: [&en1[m.assignment.prefix_len.min(en1.len())..], &share.extranonce2].concat(),
        }
    });
    (verdict, Some(Outcome { block, forward }))
}

/// Brings the device's channel and session up to the job feed: a new tip as a clean job,
/// then jobs made on it since; future jobs wait in the channel for their tip.
fn sync(session: &mut Session, m: &mut Mining, now: u64) {
    let jobs: Arc<JobState> = m.assignment.jobs.borrow_and_update().clone();
    let Some(tip) = &jobs.tip else { return };
    if m.tip_seq != Some(jobs.tip_seq) {
        // The tip's job, or the newest later job on the tip when it does not fit this
        // extranonce: under Job Declaration the tip's job may be made for the channel the
        // device was just moved from, and the JDC's next job for the new one.
        let later = jobs.latest.iter().rev().filter_map(|l| l.active_ntime.map(|t| (l.job_id, &l.job, Some(t))));
        let mut candidates = std::iter::once((tip.job_id, &tip.job, None)).chain(later);
        let ch = &mut m.channel;
        let Some((job_id, job, ntime)) = candidates.find(|(id, job, _)| {
            (m.known.contains(id) || ch.add_job(*id, (*job).clone(), None).is_ok())
                && ch.activate(*id, tip.prev).is_ok()
        }) else {
            return;
        };
        m.known.clear();
        m.known.insert(job_id);
        m.tip_seq = Some(jobs.tip_seq);
        let mut clean = Sv1Job::from_channel_job(job_id, job, &tip.prev);
        if let Some(ntime) = ntime {
            clean.ntime = ntime;
        }
        session.notify(clean, true, now);
    }
    let latest = jobs.latest.iter().filter(|l| l.active_ntime.is_some());
    for j in latest.chain(&jobs.future) {
        if !m.known.insert(j.job_id) || m.channel.add_job(j.job_id, j.job.clone(), j.active_ntime).is_err() {
            continue;
        }
        if let Some(ntime) = j.active_ntime {
            let mut job = Sv1Job::from_channel_job(j.job_id, &j.job, &tip.prev);
            job.ntime = ntime;
            session.notify(job, false, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sv2::channels::client::ClientChannel;
    use sv2::channels::coinbase::{serialize_output, CoinbaseSpec};
    use sv2::channels::hash::{header_bytes, sha256d};
    use sv2::channels::server::{Job, PrevHash};
    use sv2::channels::target::{target_from_nbits, MAX_TARGET};
    use sv2::codec::{Bytes, Seq};
    use sv2::messages::{NewExtendedMiningJob, SetNewPrevHash};

    /// A device under pool prefix 01020304 with 4 more extranonce1 bytes and 8 to roll, on a
    /// job whose block target (mainnet difficulty 1) no test hash meets.
    #[test]
    fn shares_between_device_and_pool_targets_are_accepted_not_forwarded() {
        let pool_output = serialize_output(50 * 100_000_000, &[0x51]);
        let coinbase = CoinbaseSpec {
            version: 2,
            script_prefix: &[0x01, 0x65],
            tag: b"t",
            sequence: 0xffff_ffff,
            pool_outputs: &pool_output,
            pool_outputs_count: 1,
            template_outputs: &[],
            template_outputs_count: 0,
            locktime: 0,
            extranonce_len: 16,
        }
        .build()
        .unwrap();
        let job = Arc::new(Job {
            template_id: Some(1),
            version: 0x2000_0000,
            version_rolling_allowed: true,
            coinbase,
            merkle_path: vec![[7; 32]],
        });
        let nbits = 0x1d00_ffff;
        let prev =
            PrevHash { prev_hash: [9; 32], nbits, min_ntime: 1_700_000_000, block_target: target_from_nbits(nbits) };
        let en1 = vec![1, 2, 3, 4, 0xa0, 0, 0, 5];
        let (device_d, pool_d) = (2f64.powi(-24), 2f64.powi(-20));
        let (_tx, jobs) = watch::channel(Arc::new(JobState::default()));
        let assignment = Assignment {
            extranonce1: en1.clone(),
            extranonce2_size: 8,
            prefix_len: 4,
            target: target_for_difficulty(pool_d),
            version_mask: 0,
            jobs,
        };
        let mut channel = ServerChannel::new(
            1,
            ChannelKind::Extended { extranonce_size: 8 },
            "",
            en1.clone(),
            MAX_TARGET,
            MAX_TARGET,
            Vardiff::new(1.0, 60, 0),
        );
        channel.add_job(5, job.clone(), None).unwrap();
        channel.activate(5, prev).unwrap();
        let mut m =
            Mining { upstream_target: assignment.target, assignment, channel, tip_seq: None, known: HashSet::new() };

        // The header as the SV2 client side builds it, independently of the server channel.
        let mut client = ClientChannel::extended(1, MAX_TARGET, &en1, 8);
        client.on_new_extended_job(&NewExtendedMiningJob {
            channel_id: 1,
            job_id: 5,
            min_ntime: None,
            version: job.version,
            version_rolling_allowed: true,
            merkle_path: Seq::new(&job.merkle_path).unwrap(),
            coinbase_tx_prefix: Bytes::new(&job.coinbase.prefix).unwrap(),
            coinbase_tx_suffix: Bytes::new(&job.coinbase.suffix).unwrap(),
        });
        client.on_set_new_prev_hash(&SetNewPrevHash {
            channel_id: 1,
            job_id: 5,
            prev_hash: prev.prev_hash,
            min_ntime: prev.min_ntime,
            nbits,
        });
        let en2 = vec![0, 0, 0, 0, 0, 0, 0, 42];
        let work = client.work(&en2).unwrap();
        let (device_t, pool_t) = (target_for_difficulty(device_d), target_for_difficulty(pool_d));
        let (mut forwarded, mut below, mut low) = (0, 0, 0);
        for nonce in 0..40_000u32 {
            let hash =
                sha256d(&header_bytes(work.version, &prev.prev_hash, &work.merkle_root, prev.min_ntime, nbits, nonce));
            let share = Sv1Share {
                worker: "w".into(),
                job_id: 5,
                extranonce2: en2.clone(),
                ntime: prev.min_ntime,
                nonce,
                version: work.version,
                target: device_t,
                difficulty: device_d,
            };
            let (verdict, outcome) = judge(&mut m, &share, nonce, prev.min_ntime);
            if !hash_meets_target(&hash, &device_t) {
                // A few of these are enough to see the honest "false".
                if low < 3 {
                    low += 1;
                    assert!(matches!(verdict, Verdict::Rejected(ref e) if e.code == 23), "{verdict:?}");
                }
                continue;
            }
            assert_eq!(verdict, Verdict::Accepted);
            let o = outcome.unwrap();
            assert!(!o.block);
            match o.forward {
                Some(up) => {
                    assert!(hash_meets_target(&hash, &pool_t), "only shares at the pool's target go up");
                    assert_eq!(up.extranonce, [&en1[4..], &en2[..]].concat());
                    assert_eq!((up.job_id, up.nonce, up.version), (5, nonce, work.version));
                    forwarded += 1;
                }
                None => {
                    assert!(!hash_meets_target(&hash, &pool_t), "a share at the pool's target is forwarded");
                    below += 1;
                }
            }
        }
        assert!(forwarded > 0 && below > forwarded, "forwarded {forwarded}, below the pool's target {below}");
        assert_eq!(low, 3);
    }
}
