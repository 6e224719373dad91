//! One miner's connection to the pool: setup, one channel, jobs to the hashing threads, shares
//! back to the pool, and reconnection after a drop. The protocol decisions (setup flags,
//! channel state, sequence numbers, matching answers to shares) are the client endpoint's,
//! [`sv2::endpoint::client::ClientEndpoint`].

use std::sync::Arc;
use std::time::Duration;

use sv2::channels::server::Share;
use sv2::channels::target::MAX_TARGET;
use sv2::codec::Encode;
use sv2::endpoint::client::{ClientConfig, ClientEndpoint, ClientError, Event};
use sv2::messages::mining_success_flags::REQUIRES_EXTENDED_CHANNELS;
use sv2::noise::ServerAuth;
use sv2::Message;
use tokio::sync::{mpsc, watch};

use super::hasher::{self, Found};
use super::{lock, ChannelMode, MinerConfig, SentShare, State, TipSeen};
use crate::net::{frame_wire_len as wire_len, Connection, NetError};

pub(super) async fn run(
    config: MinerConfig,
    state: Arc<State>,
    hashing: Arc<hasher::Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let threads = config.threads.max(1);
    let nominal = match config.nominal_hashrate {
        Some(h) => h,
        None => tokio::task::spawn_blocking(|| hasher::measure_hashrate(200)).await.unwrap_or(1e6) * threads as f64,
    };
    let (found_tx, mut found_rx) = mpsc::channel(1024);
    let workers = hasher::spawn(threads, hashing.clone(), found_tx);
    tracing::info!("miner: {threads} threads, about {:.2} MH/s, pool {}", nominal / 1e6, config.pool);
    let mut connection = 0u32;
    let mut backoff = Duration::from_millis(100);
    loop {
        connection += 1;
        lock(&state.stats).connections = connection;
        let result = tokio::select! {
            r = one_connection(&config, connection, nominal, &state, &hashing, &mut found_rx) => r,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        hashing.publish(None);
        match result {
            Ok(()) => break,
            Err(e) if config.reconnect => {
                tracing::warn!("miner {}: {e}; reconnecting in {backoff:?}", config.user);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|s| *s) => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::warn!("miner {}: {e}", config.user);
                break;
            }
        }
    }
    hashing.stop();
    drop(found_rx);
    let _ = tokio::task::spawn_blocking(move || workers.into_iter().for_each(|w| drop(w.join()))).await;
}

/// Why a connection ended (any end is a reason to reconnect).
type SessionResult = Result<(), String>;

fn net(e: NetError) -> String {
    e.to_string()
}

async fn one_connection(
    config: &MinerConfig,
    connection: u32,
    nominal: f64,
    state: &State,
    hashing: &hasher::Shared,
    found_rx: &mut mpsc::Receiver<Found>,
) -> SessionResult {
    let mut conn = Connection::connect(&config.pool, ServerAuth::Authority(config.authority), config.limits)
        .await
        .map_err(|e| format!("connect to {}: {e}", config.pool))?;
    let (host, port) = config.pool.rsplit_once(':').unwrap_or((&config.pool, "0"));
    let mut client = ClientConfig::new(host, port.parse().unwrap_or(0), "libsv2");
    client.requires_standard_jobs = config.requires_standard_jobs;
    client.hardware_version = "cpu".into();
    client.firmware = env!("CARGO_PKG_VERSION").into();
    let mut ep = ClientEndpoint::new(client);
    conn.send(&ep.setup_connection().into()).await.map_err(net)?;
    let frame = conn.read_frame().await.map_err(net)?;
    match ep.on_message(&frame.message().map_err(|e| e.to_string())?.0) {
        Ok(_) => {}
        Err(ClientError::SetupRefused { code, .. }) => return Err(format!("pool refused the connection: {code}")),
        Err(ClientError::Unexpected(name)) => return Err(format!("unexpected {name} before SetupConnection.Success")),
        Err(e) => return Err(e.to_string()),
    }
    let flags = ep.flags().unwrap_or(0);
    let mut mode = config.mode;
    if flags & REQUIRES_EXTENDED_CHANNELS != 0 && mode == ChannelMode::Standard {
        tracing::info!("pool requires extended channels; opening one");
        mode = ChannelMode::Extended;
    }
    let open: Message<'_> = match mode {
        ChannelMode::Standard => ep.open_standard(&config.user, nominal as f32, MAX_TARGET).map(Into::into),
        ChannelMode::Extended => {
            ep.open_extended(&config.user, nominal as f32, MAX_TARGET, config.min_extranonce_size).map(Into::into)
        }
    }
    .map_err(|e| format!("user identity: {e}"))?;
    conn.send(&open).await.map_err(net)?;

    let mut channel_id = None;
    // Shares from hashing generations before this one are for an older connection or tip.
    let mut floor = hashing.generation() + 1;
    hashing.publish(None);
    let mut report = tokio::time::interval(config.report_every.unwrap_or(Duration::from_secs(3600)));
    report.tick().await;
    let mut last_report = (std::time::Instant::now(), hashing.hashes.load(std::sync::atomic::Ordering::Relaxed));
    loop {
        tokio::select! {
            frame = conn.read_frame() => {
                let frame = frame.map_err(net)?;
                let (msg, _) = frame.message().map_err(|e| format!("bad message from the pool: {e}"))?;
                let wire = wire_len(frame.payload.len());
                let events = ep.on_message(&msg).map_err(|e| format!("pool: {e}"))?;
                let mut touched = false;
                let mut tip = None;
                for event in events {
                    match event {
                        Event::ChannelOpened { channel_id: id, .. } => {
                            channel_id = Some(id);
                            touched = true;
                        }
                        Event::ChannelRefused { code, .. } => return Err(format!("pool refused the channel: {code}")),
                        Event::ShareAccepted { tag, .. } => {
                            lock(&state.stats).accepted += 1;
                            answer(state, tag, Ok(()));
                        }
                        Event::ShareRejected { sequence_number, tag, code, .. } => {
                            tracing::debug!("share {sequence_number} rejected: {code}");
                            *lock(&state.stats).rejected.entry(code.clone()).or_default() += 1;
                            if let Some(tag) = tag {
                                answer(state, tag, Err(code));
                            }
                        }
                        Event::Reconnect { .. } => return Err("the pool asked to reconnect".into()),
                        Event::ChannelClosed { channel_id: id, reason } if channel_id == Some(id) => {
                            return Err(format!("pool closed the channel: {reason}"));
                        }
                        Event::StandardJob { channel_id: id, .. } | Event::ExtendedJob { channel_id: id, .. } if channel_id == Some(id) => {
                            let mut stats = lock(&state.stats);
                            stats.jobs += 1;
                            stats.job_bytes += wire;
                            touched = true;
                        }
                        Event::PrevHash { channel_id: id, prev } if channel_id == Some(id) => {
                            let mut stats = lock(&state.stats);
                            stats.tips += 1;
                            stats.job_bytes += wire;
                            touched = true;
                            tip = Some(prev.prev_hash);
                        }
                        Event::TargetChanged { channel_id: id, .. } | Event::ExtranoncePrefixChanged { channel_id: id, .. } if channel_id == Some(id) => {
                            touched = true;
                        }
                        _ => {}
                    }
                }
                let Some(id) = channel_id.filter(|_| touched) else { continue };
                hashing.publish(ep.channels().get(id).cloned());
                if let Some(prev_hash) = tip {
                    floor = hashing.generation();
                    state.tips.send_replace(Some(TipSeen { prev_hash, at: std::time::Instant::now() }));
                }
            }
            Some(found) = found_rx.recv() => {
                if found.generation < floor {
                    lock(&state.stats).dropped_stale += 1;
                    continue;
                }
                if ep.channels().get(found.channel_id).is_none() {
                    continue;
                }
                let share = Share {
                    job_id: found.work.job_id,
                    nonce: found.nonce,
                    ntime: found.ntime,
                    version: found.version,
                    extranonce: &found.work.extranonce,
                };
                // The tag is the share's place in the record (none when not recording).
                let tag = if config.record_shares { lock(&state.sent).len() as u64 } else { u64::MAX };
                let msg = ep.submit(found.channel_id, &share, tag).map_err(|e| e.to_string())?;
                let sequence_number = match &msg {
                    Message::SubmitSharesStandard(m) => m.sequence_number,
                    Message::SubmitSharesExtended(m) => m.sequence_number,
                    _ => 0,
                };
                let wire = wire_len(msg.encoded_len());
                conn.send(&msg).await.map_err(net)?;
                {
                    let mut stats = lock(&state.stats);
                    stats.submitted += 1;
                    stats.share_bytes += wire;
                }
                if config.record_shares {
                    lock(&state.sent).push(SentShare {
                        connection,
                        channel_id: found.channel_id,
                        sequence_number,
                        job_id: found.work.job_id,
                        nonce: found.nonce,
                        ntime: found.ntime,
                        version: found.version,
                        extranonce: found.work.extranonce.clone(),
                        answer: None,
                    });
                }
            }
            _ = report.tick(), if config.report_every.is_some() => {
                let now = (std::time::Instant::now(), hashing.hashes.load(std::sync::atomic::Ordering::Relaxed));
                let rate = (now.1 - last_report.1) as f64 / now.0.duration_since(last_report.0).as_secs_f64();
                last_report = now;
                let s = lock(&state.stats).clone();
                tracing::info!(
                    "miner {}: {:.2} MH/s, shares sent {} accepted {} rejected {}",
                    config.user, rate / 1e6, s.submitted, s.accepted, s.rejected_total()
                );
            }
        }
    }
}

/// Records the pool's answer on the share recorded at `tag`.
fn answer(state: &State, tag: u64, result: Result<(), String>) {
    let Ok(i) = usize::try_from(tag) else { return };
    if let Some(share) = lock(&state.sent).get_mut(i) {
        share.answer = Some(result);
    }
}
