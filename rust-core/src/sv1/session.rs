//! One Stratum V1 device connection on the server side, as a translator drives it: bytes in,
//! lines and [`Event`]s out, time handed in as monotonic seconds.
//!
//! The caller assigns the extranonce and the upstream's version-rolling permission
//! ([`Session::set_upstream`]); until then requests are queued and later answered in the
//! order they came. Jobs go in with [`Session::notify`]; submits come out as
//! [`Event::Share`] for the caller to validate with
//! [`crate::channels::server::ServerChannel::validate`] and answer with
//! [`Session::answer_share`].

use std::collections::VecDeque;

use serde_json::{json, Map, Value};

use super::client::{Call, ClientMessage, Configure, Request, Submit, VersionRolling};
use super::framing::{LineDecoder, LineTooLong, DEFAULT_MAX_LINE};
use super::server::{Notify, Response, RpcError, ServerMessage};
use super::value::{hex, hex_u32, Id};
use super::{codes, ParseError, MAX_EXTRANONCE_BYTES};
use crate::channels::server::{AcceptedShare, Job, PrevHash, Share};
use crate::channels::target::{difficulty, hash_meets_target, target_for_difficulty, TargetLe};
use crate::channels::vardiff::Vardiff;
use crate::channels::{ShareError, VERSION_ROLLING_MASK};

/// How `mining.suggest_difficulty` (and BIP310 `minimum-difficulty`, always a minimum) is
/// taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuggestedDifficulty {
    /// The difficulty to use now; vardiff may move away from it.
    Initial,
    /// The difficulty to use now and the lowest vardiff may go.
    Minimum,
}

/// Vardiff settings: the share rate each device is held at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VardiffConfig {
    /// Shares per minute to aim at.
    pub shares_per_minute: f64,
    /// Shortest window over which the rate is judged, in seconds.
    pub window_secs: u64,
}

/// Per-connection settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Longest line accepted (default [`DEFAULT_MAX_LINE`]).
    pub max_line: usize,
    /// Requests held before the upstream is ready; one more closes the connection.
    pub max_queued: usize,
    /// Largest extranonce2 the caller may assign (default 8: cgminer-family firmware fails
    /// silently above it).
    pub max_extranonce2_size: usize,
    /// Lowest difficulty sent (default 1; below 1 only for regtest and CPU miners).
    pub min_difficulty: f64,
    /// Highest difficulty sent.
    pub max_difficulty: f64,
    /// Round difficulties at and above 1 down to integers (default true: several firmwares
    /// mishandle fractions).
    pub integer_difficulty: bool,
    /// Difficulty before any suggestion or vardiff step.
    pub initial_difficulty: f64,
    /// How suggested difficulties are taken.
    pub suggested_difficulty: SuggestedDifficulty,
    /// Vardiff, or None for a fixed difficulty.
    pub vardiff: Option<VardiffConfig>,
    /// Seconds without a new job after which [`Session::keepalive_due`] says to resend one
    /// (default 60: cpuminer and some firmware reconnect after about 120).
    pub keepalive_secs: u64,
    /// Jobs remembered for submits; older ones answer "stale".
    pub max_jobs: usize,
    /// Worker names one connection may authorize.
    pub max_workers: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_line: DEFAULT_MAX_LINE,
            max_queued: 64,
            max_extranonce2_size: 8,
            min_difficulty: 1.0,
            max_difficulty: 2f64.powi(40),
            integer_difficulty: true,
            initial_difficulty: 1024.0,
            suggested_difficulty: SuggestedDifficulty::Initial,
            vardiff: Some(VardiffConfig { shares_per_minute: 10.0, window_secs: 60 }),
            keepalive_secs: 60,
            max_jobs: 16,
            max_workers: 16,
        }
    }
}

/// What the upstream side gives a device: its extranonce and the version bits it may roll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Extranonce1: every coinbase byte between coinb1 and the device's extranonce2.
    pub extranonce1: Vec<u8>,
    /// Bytes the device rolls.
    pub extranonce2_size: usize,
    /// Version bits the upstream lets miners roll (0 when it requires a fixed version).
    pub version_mask: u32,
}

/// A job for the device, in SV1's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sv1Job {
    /// The caller's job id (the [`crate::channels::server::ServerChannel`] job id that
    /// validates its shares). The device sees a session-made id instead.
    pub job_id: u32,
    /// Previous block hash (internal byte order).
    pub prev_hash: [u8; 32],
    /// Coinbase bytes before extranonce1.
    pub coinb1: Vec<u8>,
    /// Coinbase bytes after extranonce2.
    pub coinb2: Vec<u8>,
    /// Merkle branch of the coinbase.
    pub merkle_branch: Vec<[u8; 32]>,
    /// Header version.
    pub version: u32,
    /// Compact network target.
    pub nbits: u32,
    /// Header nTime.
    pub ntime: u32,
}

impl Sv1Job {
    /// The SV1 form of a channel job on tip `prev`: coinb1 is the coinbase before its
    /// extranonce hole, coinb2 after it, so extranonce1 must be the channel's extranonce
    /// prefix and extranonce2 its rolled part.
    pub fn from_channel_job(job_id: u32, job: &Job, prev: &PrevHash) -> Self {
        Sv1Job {
            job_id,
            prev_hash: prev.prev_hash,
            coinb1: job.coinbase.prefix.clone(),
            coinb2: job.coinbase.suffix.clone(),
            merkle_branch: job.merkle_path.clone(),
            version: job.version,
            nbits: prev.nbits,
            ntime: prev.min_ntime,
        }
    }
}

/// A submit, resolved against the job it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Sv1Share {
    /// The worker that submitted it.
    pub worker: String,
    /// The caller's job id.
    pub job_id: u32,
    /// The rolled extranonce2.
    pub extranonce2: Vec<u8>,
    /// Header nTime.
    pub ntime: u32,
    /// Header nonce.
    pub nonce: u32,
    /// The full header version (BIP310: the job's bits outside the granted mask, the
    /// device's inside it).
    pub version: u32,
    /// The target the device was given for this job.
    pub target: TargetLe,
    /// Its difficulty (the work the share is worth).
    pub difficulty: f64,
}

impl Sv1Share {
    /// The share for [`crate::channels::server::ServerChannel::validate`] on a channel whose
    /// extranonce prefix is the device's extranonce1 and whose rolled size its extranonce2
    /// size.
    pub fn as_share(&self) -> Share<'_> {
        Share {
            job_id: self.job_id,
            nonce: self.nonce,
            ntime: self.ntime,
            version: self.version,
            extranonce: &self.extranonce2,
        }
    }

    /// The verdict on what the channel said: accepted only when it validated and its hash
    /// meets the device's target for the job (or is a block). The channel's own target may
    /// be easier than the device's.
    pub fn verdict(&self, validated: &Result<AcceptedShare, ShareError>) -> Verdict {
        match validated {
            Ok(a) if a.block.is_some() || hash_meets_target(&a.hash, &self.target) => Verdict::Accepted,
            Ok(_) => Verdict::Rejected(share_rejection(ShareError::DifficultyTooLow)),
            Err(e) => Verdict::Rejected(share_rejection(*e)),
        }
    }
}

/// The SV1 error for a share the channel refused.
pub fn share_rejection(e: ShareError) -> RpcError {
    match e {
        ShareError::InvalidJobId => RpcError::new(codes::JOB_NOT_FOUND, "Job not found"),
        ShareError::StaleShare => RpcError::new(codes::JOB_NOT_FOUND, "Stale share"),
        ShareError::DuplicateShare => RpcError::new(codes::DUPLICATE_SHARE, "Duplicate share"),
        ShareError::DifficultyTooLow => RpcError::new(codes::LOW_DIFFICULTY, "Low difficulty share"),
        other => RpcError::new(codes::OTHER, other.code()),
    }
}

/// The answer to a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `true`.
    Accepted,
    /// `false`, with the reason.
    Rejected(RpcError),
}

/// The right to answer one submit (held by [`Event::Share`]).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "every submit must be answered with Session::answer_share"]
pub struct ShareTicket {
    id: Id,
}

/// What the caller acts on.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// `mining.subscribe` was answered.
    Subscribed {
        /// The user agent the device gave.
        user_agent: Option<String>,
        /// The session id it asked to resume (not honoured: extranonce1 is the caller's).
        session_id: Option<String>,
    },
    /// A worker name was authorized.
    Authorized {
        /// `user.worker` as sent.
        worker: String,
    },
    /// The device's difficulty changed (suggestion, vardiff, [`Session::set_difficulty`]):
    /// jobs sent from now on are at this target.
    DifficultyChanged {
        /// The new difficulty.
        difficulty: f64,
        /// Its target.
        target: TargetLe,
    },
    /// A submit to validate and answer.
    Share {
        /// Pass to [`Session::answer_share`].
        ticket: ShareTicket,
        /// The share.
        share: Sv1Share,
    },
}

/// Why a session failed, or refused a caller's call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// A line over the maximum (fatal: close the connection).
    LineTooLong(LineTooLong),
    /// A line that is not a Stratum message (fatal).
    Malformed(ParseError),
    /// More requests pipelined before the upstream was ready than allowed (fatal).
    TooManyQueued,
    /// An extranonce1 over 32 bytes, or an extranonce2 size of 0 or above the maximum.
    InvalidExtranonce,
    /// [`Session::set_upstream`] was already called.
    AlreadyReady,
    /// [`Session::set_extranonce`] before [`Session::set_upstream`].
    NotReady,
}

impl core::fmt::Display for SessionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SessionError::LineTooLong(e) => e.fmt(f),
            SessionError::Malformed(e) => e.fmt(f),
            SessionError::TooManyQueued => f.write_str("too many requests before the upstream was ready"),
            SessionError::InvalidExtranonce => f.write_str("invalid extranonce1 or extranonce2 size"),
            SessionError::AlreadyReady => f.write_str("upstream already set"),
            SessionError::NotReady => f.write_str("upstream not set yet"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::LineTooLong(e) => Some(e),
            SessionError::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

/// Counters of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Requests received.
    pub requests: u64,
    /// Submits answered `true`.
    pub shares_accepted: u64,
    /// Submits answered `false` (by the session or by the caller's verdict).
    pub shares_rejected: u64,
}

/// A request waiting for the upstream, or one to answer with an error.
#[derive(Debug)]
enum Incoming {
    Request(Request),
    Invalid { id: Id, message: String },
}

/// A job as sent: what a submit naming it resolves to.
#[derive(Debug, Clone, Copy)]
struct SentJob {
    sv1_id: u64,
    job_id: u32,
    version: u32,
    target: TargetLe,
    difficulty: f64,
}

/// One device connection. See the module documentation.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    decoder: LineDecoder,
    out: Vec<u8>,
    events: VecDeque<Event>,
    failed: Option<SessionError>,
    upstream: Option<Upstream>,
    queued: VecDeque<Incoming>,
    requested_rolling: Option<VersionRolling>,
    version_mask: u32,
    subscribed: bool,
    extranonce_subscribed: bool,
    workers: Vec<String>,
    difficulty: f64,
    target: TargetLe,
    /// From `minimum-difficulty` or a suggestion taken as a minimum.
    floor: Option<f64>,
    vardiff: Option<Vardiff>,
    /// The latest job (device job id left empty until sent).
    current: Option<(u32, Notify)>,
    jobs: VecDeque<SentJob>,
    next_sv1_id: u64,
    mining: bool,
    last_notify: u64,
    stats: SessionStats,
}

impl Session {
    /// A new connection at monotonic time `now` (seconds).
    pub fn new(config: SessionConfig, now: u64) -> Self {
        let vardiff = config.vardiff.map(|v| Vardiff::new(v.shares_per_minute, v.window_secs, now));
        let mut s = Session {
            decoder: LineDecoder::new(config.max_line),
            out: Vec::new(),
            events: VecDeque::new(),
            failed: None,
            upstream: None,
            queued: VecDeque::new(),
            requested_rolling: None,
            version_mask: 0,
            subscribed: false,
            extranonce_subscribed: false,
            workers: Vec::new(),
            difficulty: 0.0,
            target: [0; 32],
            floor: None,
            vardiff,
            current: None,
            jobs: VecDeque::new(),
            next_sv1_id: 1,
            mining: false,
            last_notify: now,
            stats: SessionStats::default(),
            config,
        };
        s.difficulty = s.normalize(s.config.initial_difficulty);
        s.target = target_for_difficulty(s.difficulty);
        s
    }

    /// Bytes from the device. Every complete line is handled: answers go to the output,
    /// the rest to [`Self::next_event`]. An error is fatal and sticky: send what
    /// [`Self::take_output`] holds (answers to the lines before the bad one) and close.
    pub fn receive(&mut self, bytes: &[u8], now: u64) -> Result<(), SessionError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        // An overlong line still lets the lines before it through next_line.
        let _ = self.decoder.push(bytes);
        let result = loop {
            let parsed = match self.decoder.next_line() {
                Ok(Some(line)) => ClientMessage::parse(line),
                Ok(None) => break Ok(()),
                Err(e) => break Err(SessionError::LineTooLong(e)),
            };
            let incoming = match parsed {
                Ok(ClientMessage::Request(r)) => Incoming::Request(r),
                // Answers to server requests this session never sends.
                Ok(ClientMessage::Response(_)) => continue,
                Err(ParseError::InvalidParams { id, method, reason }) => {
                    Incoming::Invalid { id, message: format!("Invalid params for {method}: {reason}") }
                }
                Err(e) => break Err(SessionError::Malformed(e)),
            };
            self.stats.requests += 1;
            if self.upstream.is_some() {
                self.handle(incoming, now);
            } else if self.queued.len() < self.config.max_queued {
                self.queued.push_back(incoming);
            } else {
                break Err(SessionError::TooManyQueued);
            }
        };
        self.start_mining(now);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    /// The next thing for the caller to act on.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Lines to send to the device (answers and notifications), emptying the buffer.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    /// Whether [`Self::set_upstream`] was called.
    pub fn is_ready(&self) -> bool {
        self.upstream.is_some()
    }

    /// Requests received and held until [`Self::set_upstream`].
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// The worker name of the first `mining.authorize` still held for the upstream (firmware
    /// that pipelines sends it before hearing back from subscribe): lets a translator open the
    /// device's upstream channel under that name.
    pub fn queued_worker(&self) -> Option<&str> {
        self.queued.iter().find_map(|q| match q {
            Incoming::Request(Request { call: Call::Authorize { user, .. }, .. }) if !user.is_empty() => {
                Some(user.as_str())
            }
            _ => None,
        })
    }

    /// The upstream is ready: sets the device's extranonce and the version bits it may roll,
    /// and answers every queued request in order.
    pub fn set_upstream(&mut self, upstream: Upstream, now: u64) -> Result<(), SessionError> {
        if self.upstream.is_some() {
            return Err(SessionError::AlreadyReady);
        }
        self.check_extranonce(&upstream.extranonce1, upstream.extranonce2_size)?;
        self.upstream = Some(upstream);
        while let Some(incoming) = self.queued.pop_front() {
            self.handle(incoming, now);
        }
        self.start_mining(now);
        Ok(())
    }

    /// A new job. `clean_jobs` voids earlier ones (a new tip, a new extranonce): submits
    /// naming them are answered "stale". Sent at once when the device is subscribed and
    /// authorized, else kept for then.
    pub fn notify(&mut self, job: Sv1Job, clean_jobs: bool, now: u64) {
        if clean_jobs {
            self.jobs.clear();
        }
        let notify = Notify {
            job_id: String::new(),
            prev_hash: job.prev_hash,
            coinb1: job.coinb1,
            coinb2: job.coinb2,
            merkle_branch: job.merkle_branch,
            version: job.version,
            nbits: job.nbits,
            ntime: job.ntime,
            clean_jobs,
        };
        self.current = Some((job.job_id, notify));
        if self.mining {
            self.send_current(clean_jobs, now);
        } else {
            self.start_mining(now);
        }
    }

    /// Answers a submit. Accepted shares feed vardiff, which may send a new difficulty.
    pub fn answer_share(&mut self, ticket: ShareTicket, verdict: Verdict, now: u64) {
        match verdict {
            Verdict::Accepted => {
                self.stats.shares_accepted += 1;
                if let Some(v) = &mut self.vardiff {
                    v.on_share();
                }
                self.respond(Response::ok(ticket.id, Value::Bool(true)));
                self.tick(now);
            }
            Verdict::Rejected(e) => self.reject_share(ticket.id, e),
        }
    }

    /// Runs vardiff at `now`: call it every few seconds.
    pub fn tick(&mut self, now: u64) {
        if !self.mining {
            return;
        }
        let easiest = target_for_difficulty(self.lowest());
        let Some(t) = self.vardiff.as_mut().and_then(|v| v.retarget(now, self.target, easiest)) else { return };
        self.change_difficulty(difficulty(&t), now);
    }

    /// Whether the device has had no new job for the keep-alive interval: then
    /// [`Self::resend_job`] so that it does not reconnect.
    pub fn keepalive_due(&self, now: u64) -> bool {
        self.mining && self.current.is_some() && now.saturating_sub(self.last_notify) >= self.config.keepalive_secs
    }

    /// Sends the current job again under a new id, with nTime raised to `ntime` (unix time)
    /// if later, without voiding earlier jobs. False when there is nothing to send yet.
    pub fn resend_job(&mut self, ntime: u32, now: u64) -> bool {
        let Some((_, n)) = self.current.as_mut().filter(|_| self.mining) else { return false };
        n.ntime = n.ntime.max(ntime);
        self.send_current(false, now);
        true
    }

    /// Forces a difficulty (clamped and rounded as configured); returns the one set. Jobs
    /// sent from now on use it.
    pub fn set_difficulty(&mut self, difficulty: f64, now: u64) -> f64 {
        self.change_difficulty(difficulty, now);
        self.difficulty
    }

    /// A new extranonce for the device. Sent as `mining.set_extranonce` when it subscribed
    /// to it (earlier jobs become stale: send a job with `clean_jobs`); taken silently before
    /// `mining.subscribe`. Ok(false) when the device cannot take it: reconnect it instead.
    pub fn set_extranonce(&mut self, extranonce1: &[u8], extranonce2_size: usize) -> Result<bool, SessionError> {
        self.check_extranonce(extranonce1, extranonce2_size)?;
        let (subscribed, xn) = (self.subscribed, self.extranonce_subscribed);
        let up = self.upstream.as_mut().ok_or(SessionError::NotReady)?;
        if subscribed && !xn {
            return Ok(false);
        }
        up.extranonce1 = extranonce1.to_vec();
        up.extranonce2_size = extranonce2_size;
        if subscribed {
            ServerMessage::SetExtranonce { extranonce1: extranonce1.to_vec(), extranonce2_size }
                .write_line(&mut self.out);
            self.jobs.clear();
        }
        Ok(true)
    }

    /// The upstream's rolling permission changed (failover): the grant shrinks or grows
    /// within what the device asked for, announced with `mining.set_version_mask`.
    pub fn set_upstream_version_mask(&mut self, mask: u32) {
        let Some(up) = self.upstream.as_mut() else { return };
        up.version_mask = mask;
        let Some(vr) = self.requested_rolling else { return };
        let granted = grant(vr, mask);
        if granted != self.version_mask {
            self.version_mask = granted;
            ServerMessage::SetVersionMask(granted).write_line(&mut self.out);
        }
    }

    /// Asks the device to reconnect (`client.reconnect`), to `host:port` or (None) the same.
    pub fn reconnect(&mut self, host: Option<&str>, port: Option<u16>, wait_secs: u64) {
        ServerMessage::Reconnect { host: host.map(str::to_string), port, wait_secs: Some(wait_secs) }
            .write_line(&mut self.out);
    }

    /// The difficulty of jobs sent from now on.
    pub fn difficulty(&self) -> f64 {
        self.difficulty
    }

    /// Its target.
    pub fn target(&self) -> TargetLe {
        self.target
    }

    /// The version bits granted (0: none).
    pub fn version_mask(&self) -> u32 {
        self.version_mask
    }

    /// The extranonce the device mines with, once the upstream is set.
    pub fn upstream(&self) -> Option<&Upstream> {
        self.upstream.as_ref()
    }

    /// Worker names authorized, in order.
    pub fn workers(&self) -> &[String] {
        &self.workers
    }

    /// Whether the device sent `mining.extranonce.subscribe`.
    pub fn extranonce_subscribed(&self) -> bool {
        self.extranonce_subscribed
    }

    /// Whether jobs are being sent (subscribed, authorized, and a job given).
    pub fn is_mining(&self) -> bool {
        self.mining
    }

    /// Counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    fn check_extranonce(&self, extranonce1: &[u8], size: usize) -> Result<(), SessionError> {
        if extranonce1.len() > MAX_EXTRANONCE_BYTES || size == 0 || size > self.config.max_extranonce2_size {
            return Err(SessionError::InvalidExtranonce);
        }
        Ok(())
    }

    fn handle(&mut self, incoming: Incoming, now: u64) {
        let (id, call) = match incoming {
            Incoming::Invalid { id, message } => return self.error(id, codes::OTHER, message),
            Incoming::Request(Request { id, call }) => (id, call),
        };
        match call {
            Call::Configure(c) => self.configure(id, &c, now),
            Call::Subscribe { user_agent, session_id } => self.subscribe(id, user_agent, session_id),
            Call::Authorize { user, .. } => self.authorize(id, user),
            Call::Submit(s) => self.submit(id, s),
            Call::SuggestDifficulty(d) => {
                self.respond(Response::ok(id, Value::Bool(true)));
                self.suggest(d, self.config.suggested_difficulty, now);
            }
            Call::ExtranonceSubscribe => {
                self.extranonce_subscribed = true;
                self.respond(Response::ok(id, Value::Bool(true)));
            }
            Call::Other { method, .. } => match method.as_str() {
                // bmminer reconnects in a loop when multi_version is refused.
                "mining.multi_version" | "mining.ping" => self.respond(Response::ok(id, Value::Bool(true))),
                "mining.get_transactions" => self.respond(Response::ok(id, json!([]))),
                _ => self.error(id, codes::OTHER, "Unknown method".into()),
            },
        }
    }

    fn configure(&mut self, id: Id, c: &Configure, now: u64) {
        let mut result = Map::new();
        for ext in &c.extensions {
            match (ext.as_str(), c.version_rolling, c.minimum_difficulty) {
                ("version-rolling", Some(vr), _) => {
                    let upstream_mask = self.upstream.as_ref().map_or(0, |u| u.version_mask);
                    self.requested_rolling = Some(vr);
                    self.version_mask = grant(vr, upstream_mask);
                    // Bitaxe needs both keys, also when rolling is refused.
                    result.insert(ext.clone(), Value::Bool(self.version_mask != 0));
                    result.insert("version-rolling.mask".into(), hex_u32(self.version_mask).into());
                }
                ("minimum-difficulty", _, Some(d)) => {
                    result.insert(ext.clone(), Value::Bool(true));
                    self.suggest(d, SuggestedDifficulty::Minimum, now);
                }
                _ => {
                    result.insert(ext.clone(), Value::Bool(false));
                }
            }
        }
        self.respond(Response::ok(id, Value::Object(result)));
    }

    fn subscribe(&mut self, id: Id, user_agent: Option<String>, session_id: Option<String>) {
        let Some(up) = &self.upstream else { return };
        let (en1, size) = (hex(&up.extranonce1), up.extranonce2_size);
        // The extranonce1 is unique per device, so it serves as the subscription id.
        let result = json!([[["mining.set_difficulty", en1], ["mining.notify", en1]], en1, size]);
        self.subscribed = true;
        self.respond(Response::ok(id, result));
        self.events.push_back(Event::Subscribed { user_agent, session_id });
    }

    fn authorize(&mut self, id: Id, user: String) {
        if user.is_empty() {
            return self.reject(id, RpcError::new(codes::UNAUTHORIZED, "Empty user"));
        }
        if !self.workers.contains(&user) {
            if self.workers.len() >= self.config.max_workers {
                return self.reject(id, RpcError::new(codes::UNAUTHORIZED, "Too many workers"));
            }
            self.workers.push(user.clone());
            self.events.push_back(Event::Authorized { worker: user });
        }
        self.respond(Response::ok(id, Value::Bool(true)));
    }

    fn submit(&mut self, id: Id, s: Submit) {
        let refuse = |code, msg: &str| RpcError::new(code, msg);
        let Some(up) = self.upstream.as_ref().filter(|_| self.subscribed) else {
            return self.reject_share(id, refuse(codes::NOT_SUBSCRIBED, "Not subscribed"));
        };
        if !self.workers.contains(&s.worker) {
            return self.reject_share(id, refuse(codes::UNAUTHORIZED, "Unauthorized worker"));
        }
        let sv1_id = u64::from_str_radix(&s.job_id, 16).ok();
        let Some(job) = sv1_id.and_then(|n| self.jobs.iter().find(|j| j.sv1_id == n)).copied() else {
            let stale = sv1_id.is_some_and(|n| n < self.next_sv1_id);
            return self
                .reject_share(id, refuse(codes::JOB_NOT_FOUND, if stale { "Stale share" } else { "Job not found" }));
        };
        if s.extranonce2.len() != up.extranonce2_size {
            return self.reject_share(id, refuse(codes::OTHER, "Invalid extranonce2 size"));
        }
        let mask = self.version_mask;
        let version = match s.version_bits {
            None => job.version,
            // BIP310: the job's bits outside the mask, the device's inside. Devices send
            // either the rolled bits alone or the whole version.
            Some(bits) if bits & !mask == 0 || bits & !mask == job.version & !mask => {
                (job.version & !mask) | (bits & mask)
            }
            Some(_) => return self.reject_share(id, refuse(codes::OTHER, "Version bits outside the granted mask")),
        };
        let share = Sv1Share {
            worker: s.worker,
            job_id: job.job_id,
            extranonce2: s.extranonce2,
            ntime: s.ntime,
            nonce: s.nonce,
            version,
            target: job.target,
            difficulty: job.difficulty,
        };
        self.events.push_back(Event::Share { ticket: ShareTicket { id }, share });
    }

    fn suggest(&mut self, d: f64, how: SuggestedDifficulty, now: u64) {
        if how == SuggestedDifficulty::Minimum {
            self.floor = Some(self.floor.map_or(d, |f| f.max(d)));
        }
        if !self.change_difficulty(d, now) && self.mining {
            // A suggestion is always followed by the difficulty in force.
            ServerMessage::SetDifficulty(self.difficulty).write_line(&mut self.out);
        }
    }

    /// The lowest difficulty allowed now.
    fn lowest(&self) -> f64 {
        self.floor.map_or(self.config.min_difficulty, |f| f.max(self.config.min_difficulty))
    }

    fn normalize(&self, d: f64) -> f64 {
        let lowest = self.lowest();
        let d = if d.is_nan() { lowest } else { d.clamp(lowest, self.config.max_difficulty.max(lowest)) };
        if self.config.integer_difficulty && d >= 1.0 {
            d.floor().max(lowest.ceil())
        } else {
            d
        }
    }

    /// Sets the difficulty; when it changed and jobs are flowing, tells the device and
    /// resends the current job so that it applies now. Returns whether it changed.
    fn change_difficulty(&mut self, d: f64, now: u64) -> bool {
        let d = self.normalize(d);
        if d == self.difficulty {
            return false;
        }
        self.difficulty = d;
        self.target = target_for_difficulty(d);
        if let Some(v) = &mut self.vardiff {
            v.restart(now);
        }
        self.events.push_back(Event::DifficultyChanged { difficulty: d, target: self.target });
        if self.mining {
            ServerMessage::SetDifficulty(d).write_line(&mut self.out);
            self.send_current(false, now);
        }
        true
    }

    /// The first set_difficulty and job, once the device is subscribed and authorized.
    fn start_mining(&mut self, now: u64) {
        if self.mining || !self.subscribed || self.workers.is_empty() || self.current.is_none() {
            return;
        }
        self.mining = true;
        ServerMessage::SetDifficulty(self.difficulty).write_line(&mut self.out);
        if let Some(v) = &mut self.vardiff {
            v.restart(now);
        }
        self.send_current(true, now);
    }

    fn send_current(&mut self, clean_jobs: bool, now: u64) {
        let Some((job_id, n)) = self.current.as_mut() else { return };
        let sv1_id = self.next_sv1_id;
        self.next_sv1_id += 1;
        n.job_id = format!("{sv1_id:x}");
        n.clean_jobs = clean_jobs;
        n.write_line(&mut self.out);
        self.jobs.push_back(SentJob {
            sv1_id,
            job_id: *job_id,
            version: n.version,
            target: self.target,
            difficulty: self.difficulty,
        });
        while self.jobs.len() > self.config.max_jobs.max(1) {
            self.jobs.pop_front();
        }
        self.last_notify = now;
    }

    fn respond(&mut self, r: Response) {
        // JSON-RPC 1.0: a request with a null id is a notification and gets no answer.
        if !r.id.is_null() {
            r.write_line(&mut self.out);
        }
    }

    fn error(&mut self, id: Id, code: i64, message: String) {
        self.respond(Response::error(id, RpcError { code, message }));
    }

    fn reject(&mut self, id: Id, e: RpcError) {
        self.respond(Response::rejected(id, e));
    }

    fn reject_share(&mut self, id: Id, e: RpcError) {
        self.stats.shares_rejected += 1;
        self.reject(id, e);
    }
}

/// BIP310 grant: the device's mask ∩ the upstream's ∩ the BIP323 bits, or nothing when that
/// leaves fewer bits than the device's minimum.
fn grant(vr: VersionRolling, upstream_mask: u32) -> u32 {
    let mask = vr.mask & upstream_mask & VERSION_ROLLING_MASK;
    if mask.count_ones() < vr.min_bit_count.unwrap_or(1) {
        0
    } else {
        mask
    }
}
