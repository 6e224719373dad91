//! What the load benchmarks (`pool_load`, `farm_load`) share: the SV2 miner that submits
//! shares at a fixed rate and times their answers, the tallies, the start line every miner
//! waits at, the reference implementation's binaries, child processes reaped on drop, and
//! resident memory and CPU time from `/proc`.

#![allow(dead_code)] // each benchmark uses a different part

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sv2::channels::client::{ClientChannel, ClientChannels, Work};
use sv2::channels::hash::{header_bytes, sha256d};
use sv2::channels::target::{harder, hash_meets_target, target_from_nbits, MAX_TARGET};
use sv2::codec::{Bytes, Str0_255};
use sv2::messages::mining_flags::REQUIRES_STANDARD_JOBS;
use sv2::messages::{OpenStandardMiningChannel, SetupConnection, SubmitSharesStandard};
use sv2::noise::{AuthorityPublicKey, ServerAuth};
use sv2::Message;
use sv2_roles::net::{Connection, Limits};
use tokio::sync::{watch, Barrier, Mutex};

/// Shares sent and answered, and how long each answer took.
#[derive(Default)]
pub struct Tally {
    pub latencies_us: Vec<u32>,
    pub answered: u64,
    pub rejected: u64,
    pub sent: u64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.answered += other.answered;
        self.rejected += other.rejected;
        self.sent += other.sent;
    }

    /// An answer to the share sent at `at`.
    pub fn answer(&mut self, at: Instant) {
        self.latencies_us.push(at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        self.answered += 1;
    }

    /// Sorts the answer times; then [`Tally::quantile_us`] reads them.
    pub fn sort(&mut self) {
        self.latencies_us.sort_unstable();
    }

    /// The answer time below which a fraction `q` of answers came (0 without answers).
    pub fn quantile_us(&self, q: f64) -> u32 {
        let l = &self.latencies_us;
        l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or(0)
    }

    pub fn max_us(&self) -> u32 {
        self.latencies_us.last().copied().unwrap_or(0)
    }
}

/// What every miner task shares: the barrier all pass once connected, the start time, the
/// length of the run, the tallies.
pub struct Run {
    pub ready: Barrier,
    pub start: watch::Receiver<Option<Instant>>,
    pub measure: Duration,
    pub tally: Mutex<Tally>,
    /// Set-ups tried again (see [`sv2_miner`]).
    pub retried_setups: AtomicU64,
}

impl Run {
    /// A run of `n` miners for `measure`, and the sender that starts it.
    pub fn new(n: usize, measure: Duration) -> (Run, watch::Sender<Option<Instant>>) {
        let (start_tx, start) = watch::channel(None);
        let run = Run {
            ready: Barrier::new(n + 1),
            start,
            measure,
            tally: Mutex::new(Tally::default()),
            retried_setups: AtomicU64::new(0),
        };
        (run, start_tx)
    }

    /// Waits for every miner, then for the start; returns the start and the end.
    pub async fn started(&self) -> Result<(Instant, Instant), String> {
        self.ready.wait().await;
        let mut rx = self.start.clone();
        let t0 = rx.wait_for(|s| s.is_some()).await.map_err(|e| e.to_string())?.expect("set");
        Ok((t0, t0 + self.measure))
    }
}

/// A nonce after `nonce` whose header meets the work's target but not the block's, so that
/// no share is a block and the tip stays put.
pub fn find_share(work: &Work, nonce: &mut u32) {
    let block_target = target_from_nbits(work.nbits);
    loop {
        *nonce = nonce.wrapping_add(1);
        let h = sha256d(&header_bytes(
            work.version,
            &work.prev_hash,
            &work.merkle_root,
            work.min_ntime,
            work.nbits,
            *nonce,
        ));
        if hash_meets_target(&h, &work.target) && !hash_meets_target(&h, &block_target) {
            return;
        }
    }
}

/// Who a miner says it is.
pub struct MinerId<'a> {
    /// SetupConnection's vendor.
    pub vendor: &'a str,
    /// The channel's user identity.
    pub user: String,
    /// How long the Noise handshake may take (thousands connect at once).
    pub handshake: Duration,
}

/// Connects, sets up and opens a standard channel; returns the connection, the channel and
/// its first work.
async fn set_up(
    addr: SocketAddr,
    authority: AuthorityPublicKey,
    id: &MinerId<'_>,
) -> Result<(Connection, u32, Work), String> {
    let limits = Limits { handshake: id.handshake, ..Limits::default() };
    let mut conn =
        Connection::connect(addr, ServerAuth::Authority(authority), limits).await.map_err(|e| e.to_string())?;
    let setup = SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags: REQUIRES_STANDARD_JOBS,
        endpoint_host: Str0_255::EMPTY,
        endpoint_port: 0,
        vendor: Str0_255::from_str(id.vendor).map_err(|e| e.to_string())?,
        hardware_version: Bytes::EMPTY,
        firmware: Bytes::EMPTY,
        device_id: Bytes::EMPTY,
    };
    conn.send(&setup.into()).await.map_err(|e| e.to_string())?;
    let open = OpenStandardMiningChannel {
        request_id: 1,
        user_identity: Str0_255::from_str(&id.user).map_err(|e| e.to_string())?,
        nominal_hash_rate: 0.0,
        max_target: MAX_TARGET,
    };
    conn.send(&open.into()).await.map_err(|e| e.to_string())?;
    let mut channels = ClientChannels::new();
    let mut channel_id = 0;
    loop {
        let f = conn.read_frame().await.map_err(|e| e.to_string())?;
        match f.message().map_err(|e| e.to_string())?.0 {
            Message::SetupConnectionSuccess(_) => {}
            Message::OpenStandardMiningChannelSuccess(s) => {
                channel_id = s.channel_id;
                channels.insert(
                    ClientChannel::standard(s.channel_id, s.target, s.extranonce_prefix.as_bytes(), true),
                    s.group_channel_id,
                );
            }
            Message::OpenMiningChannelError(e) => return Err(format!("channel refused: {e:?}")),
            other => {
                channels.on_message(&other);
            }
        }
        if let Some(w) = channels.get(channel_id).and_then(|c| c.work(&[])) {
            return Ok((conn, channel_id, w));
        }
    }
}

/// One SV2 miner: Noise, SetupConnection with REQUIRES_STANDARD_JOBS, one standard channel,
/// then a share every `period` from the run's start to its end, each answer timed. A failed
/// set-up is tried again up to 5 times. A SubmitShares.Success covers every share up to its
/// last sequence number. A SetTarget makes later shares meet the harder of the two targets
/// (a share meeting both is valid whichever the server applies).
pub async fn sv2_miner(
    addr: SocketAddr,
    authority: AuthorityPublicKey,
    id: MinerId<'_>,
    index: usize,
    period: Duration,
    run: &Run,
) -> Result<(), String> {
    let mut tries = 0;
    let (mut conn, channel_id, mut work) = loop {
        match set_up(addr, authority, &id).await {
            Ok(set) => break set,
            // Setting up is not what is measured: a pool swamped by thousands of handshakes
            // at once may drop some, and `Connection::connect` checks the certificate against
            // the time the handshake started, so a server that signs its certificate when it
            // answers (the reference pool) and answers in a later second is refused. Tried
            // again after a pause, and counted.
            Err(_) if tries < 5 => {
                tries += 1;
                run.retried_setups.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let (t0, end) = run.started().await?;
    let mut nonce = (index as u32).wrapping_mul(0x9E37_79B9);
    let mut seq = 0u32;
    let mut outstanding: VecDeque<(u32, Instant)> = VecDeque::new();
    let mut mine = Tally::default();
    // Spread the miners' sends over the period.
    let offset = period.mul_f64((index % 1000) as f64 / 1000.0);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(t0) + offset, period);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if Instant::now() >= end {
                    break;
                }
                find_share(&work, &mut nonce);
                seq += 1;
                let share = SubmitSharesStandard { channel_id, sequence_number: seq, job_id: work.job_id, nonce, ntime: work.min_ntime, version: work.version };
                outstanding.push_back((seq, Instant::now()));
                mine.sent += 1;
                conn.send(&share.into()).await.map_err(|e| e.to_string())?;
            }
            f = conn.read_frame() => {
                let f = f.map_err(|e| e.to_string())?;
                match f.message().map_err(|e| e.to_string())?.0 {
                    Message::SubmitSharesSuccess(s) => {
                        while outstanding.front().is_some_and(|(q, _)| *q <= s.last_sequence_number) {
                            let (_, at) = outstanding.pop_front().expect("checked");
                            mine.answer(at);
                        }
                    }
                    Message::SubmitSharesError(e) => {
                        outstanding.retain(|(q, _)| *q != e.sequence_number);
                        mine.rejected += 1;
                    }
                    Message::SetTarget(t) => work.target = harder(work.target, t.maximum_target),
                    _ => {}
                }
            }
        }
    }
    run.tally.lock().await.add(mine);
    Ok(())
}

/// A reference implementation binary (`pool_sv2`, `translator_sv2`): in `$SV2_REF_BINS`, else
/// `target/ref-bins/bin` of the workspace, where `scripts/interop-roles.sh` installs them.
/// `Err` names the path looked at.
pub fn reference_binary(name: &str) -> Result<PathBuf, PathBuf> {
    let dir = std::env::var_os("SV2_REF_BINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ref-bins/bin"));
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(path)
    }
}

/// Starts the reference binary `bin` in `dir` with `config` (TOML) and its output in
/// `dir/<log>`; returns it once `addr` accepts connections (at most 20 s).
pub async fn start_reference(
    bin: &Path,
    dir: &Path,
    config: &str,
    log: &str,
    addr: SocketAddr,
) -> Result<Reaped, String> {
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join(log)).map_err(|e| e.to_string())?;
    let child = Command::new(bin)
        .arg("-c")
        .arg(&config_path)
        .current_dir(dir)
        // The same log level as the roles in the bench.
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut child = Reaped::kill_on_drop(child);
    for _ in 0..400 {
        if let Ok(Some(status)) = child.child.try_wait() {
            return Err(format!("it exited ({status})"));
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("it did not listen within 20 s".into())
}

/// The last lines of a log, before the run's directory is removed.
pub fn print_log_tail(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines[lines.len().saturating_sub(20)..] {
        println!("  | {line}");
    }
}

/// A child process ended when dropped: killed, or first asked with SIGTERM (so that it closes
/// its database cleanly) and killed if still there after 5 s.
pub struct Reaped {
    pub child: Child,
    pub graceful: bool,
}

impl Reaped {
    pub fn kill_on_drop(child: Child) -> Self {
        Reaped { child, graceful: false }
    }

    pub fn terminate_on_drop(child: Child) -> Self {
        Reaped { child, graceful: true }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.graceful {
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
            for _ in 0..100 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// VmRSS of this process (`None`) or of the process `pid`, in KiB.
pub fn rss_kib(pid: Option<u32>) -> u64 {
    let status = pid.map_or_else(|| "/proc/self/status".to_string(), |p| format!("/proc/{p}/status"));
    std::fs::read_to_string(status)
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) of this process (`None`) or of the process `pid`, in ms (Linux's
/// `/proc/<pid>/stat` counts it in ticks of 1/100 s on every architecture it runs on).
pub fn cpu_ms(pid: Option<u32>) -> u64 {
    let stat = pid.map_or_else(|| "/proc/self/stat".to_string(), |p| format!("/proc/{p}/stat"));
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the command name in parentheses: state is the first, utime the 12th.
    let fields: Vec<&str> = text.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

/// The machine's load average over the last minute (other engineers' builds share it).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
