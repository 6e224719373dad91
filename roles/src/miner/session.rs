//! One miner's connection to the pool: setup, one channel, jobs to the hashing threads, shares
//! back to the pool, and reconnection after a drop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sv2::channels::client::{ClientChannel, ClientChannels};
use sv2::channels::target::MAX_TARGET;
use sv2::codec::{Encode, Str0_255};
use sv2::messages::mining_flags::REQUIRES_STANDARD_JOBS;
use sv2::messages::mining_success_flags::{REQUIRES_EXTENDED_CHANNELS, REQUIRES_FIXED_VERSION};
use sv2::messages::{OpenExtendedMiningChannel, OpenStandardMiningChannel, SetupConnection};
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
    let setup = SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags: if config.requires_standard_jobs { REQUIRES_STANDARD_JOBS } else { 0 },
        endpoint_host: Str0_255::from_str(host).unwrap_or_default(),
        endpoint_port: port.parse().unwrap_or(0),
        vendor: Str0_255::from_str("libsv2").unwrap_or_default(),
        hardware_version: Str0_255::from_str("cpu").unwrap_or_default(),
        firmware: Str0_255::from_str(env!("CARGO_PKG_VERSION")).unwrap_or_default(),
        device_id: Str0_255::EMPTY,
    };
    conn.send(&setup.into()).await.map_err(net)?;
    let frame = conn.read_frame().await.map_err(net)?;
    let flags = match frame.message().map_err(|e| e.to_string())?.0 {
        Message::SetupConnectionSuccess(s) => s.flags,
        Message::SetupConnectionError(e) => {
            return Err(format!("pool refused the connection: {}", String::from_utf8_lossy(e.error_code.as_bytes())))
        }
        other => return Err(format!("unexpected {} before SetupConnection.Success", other.name())),
    };
    let mut mode = config.mode;
    if flags & REQUIRES_EXTENDED_CHANNELS != 0 && mode == ChannelMode::Standard {
        tracing::info!("pool requires extended channels; opening one");
        mode = ChannelMode::Extended;
    }
    let user = Str0_255::from_str(&config.user).map_err(|e| format!("user identity: {e}"))?;
    let open: Message<'_> = match mode {
        ChannelMode::Standard => OpenStandardMiningChannel {
            request_id: 1,
            user_identity: user,
            nominal_hash_rate: nominal as f32,
            max_target: MAX_TARGET,
        }
        .into(),
        ChannelMode::Extended => OpenExtendedMiningChannel {
            request_id: 1,
            user_identity: user,
            nominal_hash_rate: nominal as f32,
            max_target: MAX_TARGET,
            min_extranonce_size: config.min_extranonce_size,
        }
        .into(),
    };
    conn.send(&open).await.map_err(net)?;

    let mut channels = ClientChannels::new();
    let mut channel_id = None;
    // Shares from hashing generations before this one are for an older connection or tip.
    let mut floor = hashing.generation() + 1;
    hashing.publish(None);
    let mut sequence: u32 = 0;
    let mut pending: BTreeMap<u32, usize> = BTreeMap::new();
    let mut report = tokio::time::interval(config.report_every.unwrap_or(Duration::from_secs(3600)));
    report.tick().await;
    let mut last_report = (std::time::Instant::now(), hashing.hashes.load(std::sync::atomic::Ordering::Relaxed));
    loop {
        tokio::select! {
            frame = conn.read_frame() => {
                let frame = frame.map_err(net)?;
                let (msg, _) = frame.message().map_err(|e| format!("bad message from the pool: {e}"))?;
                let wire = wire_len(frame.payload.len());
                match msg {
                    Message::OpenStandardMiningChannelSuccess(s) => {
                        let c = ClientChannel::standard(
                            s.channel_id,
                            s.target,
                            s.extranonce_prefix.as_bytes(),
                            flags & REQUIRES_FIXED_VERSION == 0,
                        );
                        channels.insert(c, s.group_channel_id);
                        channel_id = Some(s.channel_id);
                    }
                    Message::OpenExtendedMiningChannelSuccess(s) => {
                        let c = ClientChannel::extended(s.channel_id, s.target, s.extranonce_prefix.as_bytes(), s.extranonce_size);
                        channels.insert(c, s.group_channel_id);
                        channel_id = Some(s.channel_id);
                    }
                    Message::OpenMiningChannelError(e) => {
                        return Err(format!("pool refused the channel: {}", String::from_utf8_lossy(e.error_code.as_bytes())));
                    }
                    Message::SubmitSharesSuccess(s) => {
                        lock(&state.stats).accepted += u64::from(s.new_submits_accepted_count);
                        let later = pending.split_off(&s.last_sequence_number.wrapping_add(1));
                        let answered = std::mem::replace(&mut pending, later);
                        let mut sent = lock(&state.sent);
                        for (_, i) in answered {
                            if let Some(share) = sent.get_mut(i) {
                                share.answer = Some(Ok(()));
                            }
                        }
                    }
                    Message::SubmitSharesError(e) => {
                        let code = String::from_utf8_lossy(e.error_code.as_bytes()).into_owned();
                        tracing::debug!("share {} rejected: {code}", e.sequence_number);
                        *lock(&state.stats).rejected.entry(code.clone()).or_default() += 1;
                        if let Some(i) = pending.remove(&e.sequence_number) {
                            if let Some(share) = lock(&state.sent).get_mut(i) {
                                share.answer = Some(Err(code));
                            }
                        }
                    }
                    Message::Reconnect(_) => return Err("the pool asked to reconnect".into()),
                    Message::CloseChannel(m) if channels.resolve(m.channel_id).contains(&channel_id.unwrap_or(u32::MAX)) => {
                        return Err(format!("pool closed the channel: {}", String::from_utf8_lossy(m.reason_code.as_bytes())));
                    }
                    other => {
                        let touched = channels.on_message(&other);
                        let Some(id) = channel_id.filter(|id| touched.contains(id)) else { continue };
                        {
                            let mut stats = lock(&state.stats);
                            match other {
                                Message::NewMiningJob(_) | Message::NewExtendedMiningJob(_) => {
                                    stats.jobs += 1;
                                    stats.job_bytes += wire;
                                }
                                Message::SetNewPrevHash(_) => {
                                    stats.tips += 1;
                                    stats.job_bytes += wire;
                                }
                                _ => {}
                            }
                        }
                        hashing.publish(channels.get(id).cloned());
                        if let Message::SetNewPrevHash(p) = other {
                            floor = hashing.generation();
                            state.tips.send_replace(Some(TipSeen { prev_hash: p.prev_hash, at: std::time::Instant::now() }));
                        }
                    }
                }
            }
            Some(found) = found_rx.recv() => {
                if found.generation < floor {
                    lock(&state.stats).dropped_stale += 1;
                    continue;
                }
                let Some(channel) = channels.get(found.channel_id) else { continue };
                sequence = sequence.wrapping_add(1);
                let msg: Message<'_> = if channel.extranonce_size() == 0 {
                    channel.submit_standard(&found.work, sequence, found.nonce, found.ntime, found.version).into()
                } else {
                    channel.submit_extended(&found.work, sequence, found.nonce, found.ntime, found.version).into()
                };
                let wire = wire_len(msg.encoded_len());
                conn.send(&msg).await.map_err(net)?;
                {
                    let mut stats = lock(&state.stats);
                    stats.submitted += 1;
                    stats.share_bytes += wire;
                }
                if config.record_shares {
                    let mut sent = lock(&state.sent);
                    pending.insert(sequence, sent.len());
                    sent.push(SentShare {
                        connection,
                        channel_id: found.channel_id,
                        sequence_number: sequence,
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
