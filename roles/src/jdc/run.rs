//! The JDC's task: follows the farm's templates, the active pool and its JDS, makes the job
//! devices mine, routes their shares and blocks, and falls back (module docs of `jdc`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sv2::channels::coinbase::serialize_output;
use sv2::channels::server::PrevHash;
use sv2::endpoint::server::JobState;
use sv2::jd::client::{CustomJobRequest, Declared, Event, JdcConfig, JdcError};
use sv2::messages::CoinbaseOutputConstraints;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::jds::{self, Session};
use super::tp::{self, TpCmd, TpEvent, TpLink};
use super::work::{declared_job, MinedJob, Payout, Published, Template, Templates};
use super::{FoundBlock, Input, JdConfig, JdShare, JdcReports, Mode};
use crate::net::{stopped, NetError};
use crate::upstream::{UpstreamClient, UpstreamEvent, UpstreamShare};

/// Shares for the pool kept while their job's SetCustomMiningJob is unanswered.
const MAX_QUEUED_SHARES: usize = 64;
/// Share ids sent on custom jobs, kept to match the pool's answers.
const KEPT_SHARE_IDS: usize = 4096;
/// Shortest time between two declarations on one tip: a template provider may send a template
/// on every fee change, and each declaration spends a token (a JDS allows 120 a minute).
const MIN_REDECLARE: Duration = Duration::from_secs(1);
/// Refusals in a row put down to a chain-tip race before the nodes count as disagreeing (a
/// reason to fall back after all).
const MAX_TIP_RACES: u32 = 10;
/// The node's reject reasons for a block whose previous block is not its tip (a JDS's verdict
/// from Bitcoin Core or the kernel), besides the spec's `stale-chain-tip`.
const TIP_CODES: [&str; 3] = ["stale-chain-tip", "inconclusive-not-best-prevblk", "prev-blk-not-found"];

/// Back-off of one pool's JDS.
#[derive(Debug, Clone, Copy)]
struct Retry {
    at: Option<Instant>,
    backoff: Duration,
}

struct Jdc {
    config: Arc<JdConfig>,
    reports: JdcReports,
    upstream: UpstreamClient,
    key: u64,
    pool_jobs: watch::Receiver<Arc<JobState>>,
    jobs: watch::Sender<Arc<JobState>>,
    tp: mpsc::Sender<TpCmd>,
    templates: Templates,
    published: Published,
    /// The active pool and its channel's full extranonce length, once the channel is open.
    channel: Option<(usize, usize)>,
    /// The last full extranonce length (solo jobs keep it while no pool is active).
    extranonce_len: Option<usize>,
    retry: Vec<Retry>,
    /// A template waits for a token.
    want_job: bool,
    /// A declaration lost a race with the pool's tip: declare again once the tips match.
    tip_race: bool,
    /// Refusals in a row put down to tip races.
    races_in_row: u32,
    /// The tip and time of the last declaration.
    last_declared: Option<([u8; 32], Instant)>,
    /// A later template on the same tip waits until then.
    redeclare_at: Option<Instant>,
    next_request: u32,
    /// SetCustomMiningJob request id -> job id, and when it was sent.
    custom: HashMap<u32, (u32, Instant)>,
    /// Declaration id -> job id, and when it was declared.
    declared: HashMap<u32, (u32, Instant)>,
    /// Pool shares waiting for their job's SetCustomMiningJob.Success.
    queued: VecDeque<JdShare>,
    /// Share ids sent on custom jobs.
    sent: (HashSet<u64>, VecDeque<u64>),
    rejected_in_row: u32,
    constraints: CoinbaseOutputConstraints,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    config: Arc<JdConfig>,
    reports: JdcReports,
    upstream: UpstreamClient,
    key: u64,
    pool_jobs: watch::Receiver<Arc<JobState>>,
    jobs: watch::Sender<Arc<JobState>>,
    mut inputs: mpsc::Receiver<Input>,
    mut shutdown: watch::Receiver<bool>,
) {
    let solo = config.solo_payout.as_deref().map(solo_constraints);
    // Until the JDS's first token tells the pool's outputs, room for one ordinary output.
    let constraints = solo.unwrap_or(CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: 43,
        coinbase_output_max_additional_sigops: 4,
    });
    let (tp_cmds, tp_cmds_rx) = mpsc::channel(256);
    let (tp_events_tx, mut tp_events) = mpsc::channel(256);
    let link = TpLink { address: config.tp_address.clone(), authority: config.tp_authority };
    let tp_task = tokio::spawn(tp::run(link, constraints, tp_events_tx, tp_cmds_rx, shutdown.clone()));
    let retry = Retry { at: None, backoff: config.retry_min };
    let mut j = Jdc {
        retry: vec![retry; config.jds.len()],
        config,
        reports,
        upstream,
        key,
        pool_jobs,
        jobs,
        tp: tp_cmds,
        templates: Templates::default(),
        published: Published::default(),
        channel: None,
        extranonce_len: None,
        want_job: false,
        tip_race: false,
        races_in_row: 0,
        last_declared: None,
        redeclare_at: None,
        next_request: 1,
        custom: HashMap::new(),
        declared: HashMap::new(),
        queued: VecDeque::new(),
        sent: Default::default(),
        rejected_in_row: 0,
        constraints,
    };
    let mut session: Option<Box<Session>> = None;
    let mut connecting: Option<JoinHandle<Result<Session, String>>> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut pool_jobs = j.pool_jobs.clone();
    let mut pool_feed = true;
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            ev = tp_events.recv() => match ev {
                Some(ev) => j.on_tp(ev, &mut session).await,
                None => break,
            },
            input = inputs.recv() => match input {
                Some(Input::Upstream(ev)) => j.on_upstream(ev, &mut session, &mut connecting).await,
                Some(Input::Share(s)) => j.on_share(s, &mut session).await,
                Some(Input::PoolJobs(feed)) => {
                    j.pool_jobs = feed.clone();
                    pool_jobs = feed;
                    pool_feed = true;
                }
                Some(Input::LocalExtranonce(len)) => {
                    if j.channel.is_none() {
                        j.extranonce_len = Some(len);
                        j.make_job(&mut session).await;
                    }
                }
                None => break,
            },
            done = async { connecting.as_mut().expect("guarded").await }, if connecting.is_some() => {
                connecting = None;
                match done {
                    Ok(Ok(s)) if j.channel.is_some_and(|(i, _)| i == s.index) => {
                        tracing::info!("jdc: Job Declaration Server of pool {} set up", s.index);
                        j.reports.stats.jds_sessions.fetch_add(1, Ordering::Relaxed);
                        session = Some(Box::new(s));
                        j.want_job = true;
                        j.ensure_tokens(&mut session).await;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(reason)) => {
                        let index = j.channel.map_or(usize::MAX, |c| c.0);
                        j.fall_back(index, &format!("JDS: {reason}"), &mut session).await;
                    }
                    Err(_) => {}
                }
            }
            frame = async { session.as_mut().expect("guarded").conn.read_frame().await }, if session.is_some() => {
                j.on_jds_frame(frame, &mut session).await;
            }
            changed = pool_jobs.changed(), if pool_feed => {
                if changed.is_err() {
                    // The channel's feed ended: a new one may follow (Input::PoolJobs).
                    pool_feed = false;
                    continue;
                }
                pool_jobs.borrow_and_update();
                if j.tip_race && j.pool_tip().is_some_and(|p| Some(p.prev_hash) == j.templates.tip.map(|t| t.prev_hash)) {
                    j.tip_race = false;
                    j.make_job(&mut session).await;
                }
            }
            _ = tick.tick() => j.on_tick(&mut session, &mut connecting).await,
        }
    }
    if let Some(c) = connecting {
        c.abort();
    }
    tp_task.abort();
}

/// The constraints of a single output paying `script`.
fn solo_constraints(script: &[u8]) -> CoinbaseOutputConstraints {
    CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: serialize_output(0, script).len() as u32,
        // A bare multisig could count 20; standard payout scripts count at most 1 (x4).
        coinbase_output_max_additional_sigops: 80,
    }
}

impl Jdc {
    fn pool_tip(&self) -> Option<PrevHash> {
        self.pool_jobs.borrow().tip.as_ref().map(|t| t.prev)
    }

    async fn on_tp(&mut self, ev: TpEvent, session: &mut Option<Box<Session>>) {
        match ev {
            TpEvent::Connected => self.templates.reset(),
            TpEvent::Template(t) => {
                let id = t.msg.id;
                if self.templates.on_template(t) {
                    let _ = self.tp.send(TpCmd::Transactions(id)).await;
                }
            }
            TpEvent::Tip(p) => {
                if self.templates.on_tip(p.template_id, PrevHash::from(&p)) {
                    let _ = self.tp.send(TpCmd::Transactions(p.template_id)).await;
                } else {
                    tracing::warn!("jdc: tip for unknown template {}", p.template_id);
                }
            }
            TpEvent::Transactions { template_id, txs } => {
                if self.templates.on_transactions(template_id, txs) {
                    self.make_job(session).await;
                }
            }
        }
    }

    /// Makes the job for the current template: declared to the active pool's JDS when one is
    /// set up, else solo.
    async fn make_job(&mut self, session: &mut Option<Box<Session>>) {
        let Some(extranonce_len) = self.extranonce_len else { return };
        let Some((template, tip)) = self.templates.ready() else { return };
        let template = template.clone();
        let declaring = match (session.as_deref(), self.channel) {
            (Some(s), Some((index, _))) => s.index == index,
            _ => false,
        };
        if declaring {
            self.declare(&template, tip, session).await;
        } else {
            self.solo(&template, tip, extranonce_len);
        }
    }

    fn publish(&mut self, job: MinedJob) -> u32 {
        let (id, state) = self.published.add(job);
        self.jobs.send_replace(Arc::new(state));
        id
    }

    fn solo(&mut self, template: &Template, tip: PrevHash, extranonce_len: usize) {
        let Some(payout) = &self.config.solo_payout else { return };
        let job = match template.solo_job(payout, &self.config.tag, extranonce_len) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!("jdc: solo job for template {}: {e}", template.msg.id);
                return;
            }
        };
        let txs = template.txs.clone().unwrap_or_default();
        let job = MinedJob { template_id: template.msg.id, job: Arc::new(job), prev: tip, txs, payout: Payout::Solo };
        self.publish(job);
        self.reports.stats.solo_jobs.fetch_add(1, Ordering::Relaxed);
        self.reports.stats.set_mode(Mode::Solo);
    }

    async fn declare(&mut self, template: &Template, mut tip: PrevHash, session: &mut Option<Box<Session>>) {
        let Some(s) = session.as_deref_mut() else { return };
        if let Some((prev, at)) = self.last_declared {
            let next = at + MIN_REDECLARE;
            if prev == tip.prev_hash && next > Instant::now() {
                // Devices keep the job just declared on this tip; the newest template follows.
                self.redeclare_at = Some(next);
                return;
            }
        }
        self.redeclare_at = None;
        if s.client.tokens() == 0 {
            self.want_job = true;
            self.ensure_tokens(session).await;
            return;
        }
        self.want_job = false;
        // The pool checks min_ntime against its own tip's: on the same tip, the later of both.
        if let Some(p) = self.pool_tip().filter(|p| p.prev_hash == tip.prev_hash) {
            tip.min_ntime = tip.min_ntime.max(p.min_ntime);
        }
        let txs = template.txs.clone().unwrap_or_default();
        let refs: Vec<&[u8]> = txs.iter().map(|t| &t[..]).collect();
        let index = s.index;
        // Cannot fail: the fields came from a NewTemplate.
        let msg = match template.msg.message() {
            Ok(msg) => msg,
            Err(e) => return tracing::error!("jdc: template {}: {e}", template.msg.id),
        };
        let declared = s.client.declare(&msg, &tip, &refs, &mut s.conn);
        let (declaration_id, req, ready) = match declared {
            Ok(Declared::Sent { request_id }) => {
                s.asked();
                match s.client.declaration(request_id) {
                    Some(r) => (request_id, r.clone(), false),
                    None => return,
                }
            }
            Ok(Declared::Ready(req)) => (req.declaration_id, *req, true),
            Err(JdcError::Outbox(e)) => return self.fall_back(index, &format!("JDS: {e}"), session).await,
            Err(e) => {
                tracing::warn!("jdc: template {} not declared: {e}; mining it solo", template.msg.id);
                if let Some(len) = self.extranonce_len {
                    self.solo(template, tip, len);
                }
                return;
            }
        };
        let Some(job) = declared_job(&req) else { return };
        self.last_declared = Some((tip.prev_hash, Instant::now()));
        let payout = Payout::Declared { index, declaration_id, pool_job: None, refused: false };
        let mined = MinedJob { template_id: template.msg.id, job: Arc::new(job), prev: tip, txs, payout };
        let id = self.publish(mined);
        self.reports.stats.declared.fetch_add(1, Ordering::Relaxed);
        self.reports.stats.set_mode(Mode::Declared(index));
        self.declared.insert(declaration_id, (id, Instant::now()));
        if self.declared.len() > 64 {
            let oldest = self.declared.keys().min().copied();
            oldest.map(|k| self.declared.remove(&k));
        }
        if ready {
            self.set_custom(req, id).await;
        }
        self.ensure_tokens(session).await;
    }

    async fn set_custom(&mut self, req: CustomJobRequest, job_id: u32) {
        let request_id = self.next_request;
        self.next_request = self.next_request.wrapping_add(1).max(1);
        self.custom.insert(request_id, (job_id, Instant::now()));
        if self.custom.len() > 64 {
            let oldest = self.custom.keys().min().copied();
            oldest.map(|k| self.custom.remove(&k));
        }
        let _ = self.upstream.set_custom_job(self.key, request_id, req).await;
    }

    /// Asks for tokens until `tokens_ahead` are held or asked for.
    async fn ensure_tokens(&mut self, session: &mut Option<Box<Session>>) {
        let Some(s) = session.as_deref_mut() else { return };
        loop {
            match s.client.request_token(&mut s.conn) {
                Ok(_) => s.asked(),
                Err(JdcError::TooManyTokens) => break,
                Err(e) => {
                    let index = s.index;
                    return self.fall_back(index, &format!("JDS: {e}"), session).await;
                }
            }
        }
        if let Err(e) = s.conn.flush().await {
            let index = s.index;
            self.fall_back(index, &format!("JDS: {e}"), session).await;
        }
    }

    async fn on_jds_frame(
        &mut self,
        frame: Result<crate::net::OwnedFrame, NetError>,
        session: &mut Option<Box<Session>>,
    ) {
        let Some(s) = session.as_deref_mut() else { return };
        let index = s.index;
        let frame = match frame {
            Ok(f) => f,
            Err(e) => return self.fall_back(index, &format!("JDS connection: {e}"), session).await,
        };
        let msg = match frame.message() {
            Ok((m, _)) => m,
            Err(e) => return self.fall_back(index, &format!("JDS sent a bad message: {e}"), session).await,
        };
        let event = s.client.on_message(&msg, &mut s.conn);
        if let Err(e) = s.conn.flush().await {
            return self.fall_back(index, &format!("JDS: {e}"), session).await;
        }
        let stats = &self.reports.stats;
        match event {
            Err(e) => self.fall_back(index, &format!("JDS: {e}"), session).await,
            Ok(Event::TokenReady { constraints, .. }) => {
                s.answered();
                self.note_constraints(constraints).await;
                if self.want_job {
                    self.make_job(session).await;
                }
            }
            Ok(Event::MissingTransactionsSent { count, .. }) => {
                stats.missing_transactions_answered.fetch_add(1, Ordering::Relaxed);
                stats.missing_transactions_sent.fetch_add(count as u64, Ordering::Relaxed);
            }
            Ok(Event::JobDeclared(req)) => {
                s.answered();
                stats.declarations_accepted.fetch_add(1, Ordering::Relaxed);
                self.retry[index] = Retry { at: None, backoff: self.config.retry_min };
                self.races_in_row = 0;
                // A job of an earlier tip is no longer mined: the pool would only call it stale.
                let Some(&(job_id, at)) = self.declared.get(&req.declaration_id) else { return };
                stats.declare_round_trip.record(at.elapsed());
                if self.published.get(job_id).is_some() {
                    self.set_custom(*req, job_id).await;
                }
            }
            Ok(Event::JobRefused { request_id, code, details }) => {
                s.answered();
                stats.declarations_refused.fetch_add(1, Ordering::Relaxed);
                let job = self.declared.remove(&request_id).map(|(id, _)| id);
                if let Some(Payout::Declared { refused, .. }) =
                    job.and_then(|id| self.published.get_mut(id)).map(|j| &mut j.payout)
                {
                    *refused = true;
                }
                let prev = job.and_then(|id| self.published.get(id)).map(|j| j.prev.prev_hash);
                if self.is_tip_race(prev, &code) {
                    tracing::info!("jdc: declaration {request_id} refused ({code}): the pool's tip differs; declaring again when it matches");
                    self.tip_race = true;
                } else {
                    self.fall_back(index, &format!("JDS refused a declaration: {code} {details}"), session).await;
                }
            }
            Ok(_) => {}
        }
    }

    /// A refusal caused by the farm's and the pool's nodes being on different tips for a
    /// moment: a tip code, or a job on another previous hash than the pool's or the farm's
    /// current tip (or no longer kept, being on an earlier one) (the pool's node may learn of a block the farm found before the pool's
    /// jobs say so). Past [`MAX_TIP_RACES`] in a row, the nodes disagree: not a race.
    fn is_tip_race(&mut self, prev: Option<[u8; 32]>, code: &str) -> bool {
        let moved = |t: Option<[u8; 32]>| prev.is_some_and(|p| t.is_none_or(|t| t != p));
        // A job no longer kept was on an earlier tip of the farm's.
        let race = prev.is_none()
            || TIP_CODES.contains(&code)
            || moved(self.pool_tip().map(|t| t.prev_hash))
            || moved(self.templates.tip.map(|t| t.prev_hash));
        self.races_in_row = if race { self.races_in_row + 1 } else { 0 };
        race && self.races_in_row <= MAX_TIP_RACES
    }

    /// The template provider must leave room for the larger of the pool's and the solo outputs.
    async fn note_constraints(&mut self, c: CoinbaseOutputConstraints) {
        let mut merged = self.constraints;
        merged.coinbase_output_max_additional_size =
            merged.coinbase_output_max_additional_size.max(c.coinbase_output_max_additional_size);
        merged.coinbase_output_max_additional_sigops =
            merged.coinbase_output_max_additional_sigops.max(c.coinbase_output_max_additional_sigops);
        if merged != self.constraints {
            self.constraints = merged;
            let _ = self.tp.send(TpCmd::Constraints(merged)).await;
        }
    }

    async fn on_upstream(
        &mut self,
        ev: UpstreamEvent,
        session: &mut Option<Box<Session>>,
        connecting: &mut Option<JoinHandle<Result<Session, String>>>,
    ) {
        match ev {
            UpstreamEvent::ChannelReady { key, index, extranonce_prefix, extranonce_size, .. } if key == self.key => {
                let len = extranonce_prefix.len() + usize::from(extranonce_size);
                self.channel = Some((index, len));
                self.extranonce_len = Some(len);
                if session.as_ref().is_some_and(|s| s.index != index || s.extranonce_len != len) {
                    *session = None;
                }
                if let Some(c) = connecting.take() {
                    c.abort();
                }
                if session.is_none() {
                    self.connect(index, len, session, connecting).await;
                }
                if session.is_none() {
                    // Until the JDS is set up (or when it cannot be), the farm mines solo.
                    self.make_job(session).await;
                }
            }
            UpstreamEvent::PoolLost { index, .. } => {
                if self.channel.is_some_and(|(i, _)| i == index) {
                    self.channel = None;
                    if let Some(c) = connecting.take() {
                        c.abort();
                    }
                }
                if session.as_ref().is_some_and(|s| s.index == index) {
                    *session = None;
                    tracing::warn!("jdc: pool {index} lost; mining the farm's templates solo meanwhile");
                    self.make_job(session).await;
                }
            }
            UpstreamEvent::CustomJobAccepted { key, request_id, job_id, index } if key == self.key => {
                self.reports.stats.custom_jobs_accepted.fetch_add(1, Ordering::Relaxed);
                self.races_in_row = 0;
                let Some((local, at)) = self.custom.remove(&request_id) else { return };
                self.reports.stats.custom_job_round_trip.record(at.elapsed());
                if let Some(MinedJob { payout: Payout::Declared { pool_job, index: i, .. }, .. }) =
                    self.published.get_mut(local)
                {
                    if *i == index {
                        *pool_job = Some(job_id);
                    }
                }
                let waiting: Vec<JdShare> = std::mem::take(&mut self.queued).into_iter().collect();
                for s in waiting {
                    self.on_share(s, session).await;
                }
            }
            UpstreamEvent::CustomJobRefused { key, request_id, code } if key == self.key => {
                let Some((local, _)) = self.custom.remove(&request_id) else { return };
                if code == "channel-not-open" {
                    return;
                }
                self.reports.stats.custom_jobs_refused.fetch_add(1, Ordering::Relaxed);
                let Some(job) = self.published.get_mut(local) else { return };
                let Payout::Declared { index, refused, .. } = &mut job.payout else { return };
                *refused = true;
                let (index, prev) = (*index, job.prev.prev_hash);
                self.queued.retain(|s| s.job_id != local);
                if self.is_tip_race(Some(prev), &code) {
                    tracing::info!("jdc: SetCustomMiningJob refused ({code}): the pool's tip differs; declaring again when it matches");
                    self.tip_race = true;
                } else {
                    self.fall_back(index, &format!("the pool refused SetCustomMiningJob: {code}"), session).await;
                }
            }
            UpstreamEvent::ShareAccepted { id, .. } if self.sent.0.remove(&id) => self.rejected_in_row = 0,
            UpstreamEvent::ShareRejected { id, code, .. } if self.sent.0.remove(&id) => {
                if code.starts_with("stale") {
                    return;
                }
                self.rejected_in_row += 1;
                if self.rejected_in_row >= self.config.max_rejected_shares {
                    self.rejected_in_row = 0;
                    if let Some((index, _)) = self.channel {
                        let reason = format!("the pool rejects shares on custom jobs ({code})");
                        self.fall_back(index, &reason, session).await;
                    }
                }
            }
            _ => {}
        }
    }

    /// Starts the JDS connection of pool `index` unless it is in its back-off (then gives the
    /// pool up when another pool's JDS may serve).
    async fn connect(
        &mut self,
        index: usize,
        extranonce_len: usize,
        session: &mut Option<Box<Session>>,
        connecting: &mut Option<JoinHandle<Result<Session, String>>>,
    ) {
        let Some(Some(jds)) = self.config.jds.get(index).cloned() else {
            return self.fall_back(index, "no Job Declaration Server configured for this pool", session).await;
        };
        if self.retry[index].at.is_some_and(|at| at > Instant::now()) {
            if self.other_usable(index) {
                let _ = self.upstream.give_up(index, "its Job Declaration Server is in back-off").await;
            }
            return;
        }
        let (host, port) = jds.address.rsplit_once(':').unwrap_or((&jds.address, "0"));
        let config = JdcConfig {
            full_template: self.config.full_template,
            user_identifier: self.config.user.clone(),
            tag: self.config.tag.clone(),
            extranonce_len,
            endpoint_host: host.to_string(),
            endpoint_port: port.parse().unwrap_or(0),
            vendor: format!("libsv2 {}", env!("CARGO_PKG_VERSION")),
            max_tokens: self.config.tokens_ahead.max(1),
            max_declarations: 16,
        };
        *connecting = Some(tokio::spawn(jds::connect(index, jds, config, self.config.response_timeout)));
    }

    /// Whether a pool other than `index` has a JDS not in back-off.
    fn other_usable(&self, index: usize) -> bool {
        let now = Instant::now();
        self.config
            .jds
            .iter()
            .enumerate()
            .any(|(i, j)| i != index && j.is_some() && self.retry[i].at.is_none_or(|at| at <= now))
    }

    /// Gives up pool `index`'s JDS for its back-off: the next pool when another may serve,
    /// solo meanwhile.
    async fn fall_back(&mut self, index: usize, reason: &str, session: &mut Option<Box<Session>>) {
        tracing::warn!("jdc: falling back from pool {index}: {reason}");
        self.reports.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
        if session.as_ref().is_some_and(|s| s.index == index) {
            *session = None;
        }
        self.queued.clear();
        if let Some(r) = self.retry.get_mut(index) {
            r.at = Some(Instant::now() + r.backoff);
            r.backoff = (r.backoff * 2).min(self.config.retry_max);
        }
        if self.other_usable(index) {
            let _ = self.upstream.give_up(index, reason).await;
        }
        Box::pin(self.make_job(session)).await;
    }

    async fn on_tick(
        &mut self,
        session: &mut Option<Box<Session>>,
        connecting: &mut Option<JoinHandle<Result<Session, String>>>,
    ) {
        if let Some(s) = session.as_deref() {
            if s.overdue(self.config.response_timeout) {
                let index = s.index;
                return self.fall_back(index, "the JDS left a request unanswered", session).await;
            }
        }
        if self.redeclare_at.is_some_and(|at| at <= Instant::now()) {
            self.redeclare_at = None;
            self.make_job(session).await;
        }
        if session.is_none() && connecting.is_none() {
            if let Some((index, len)) = self.channel {
                let due = self.retry.get(index).is_some_and(|r| r.at.is_some_and(|at| at <= Instant::now()));
                if due {
                    self.connect(index, len, session, connecting).await;
                }
            }
        }
    }

    /// A device share: a block goes to the farm's template provider (and the JDS), a share
    /// for the pool to the pool on the job's SetCustomMiningJob.
    async fn on_share(&mut self, share: JdShare, session: &mut Option<Box<Session>>) {
        if self.published.get(share.job_id).is_none() {
            return;
        }
        if share.block {
            self.found_block(&share, session).await;
        }
        let Some(job) = self.published.get(share.job_id) else { return };
        let Payout::Declared { index, pool_job, refused, .. } = &job.payout else { return };
        let (Some(rolled), true) = (&share.rolled, share.for_pool) else { return };
        if *refused || self.channel.is_none_or(|(i, _)| i != *index) {
            return;
        }
        let Some(pool_job) = *pool_job else {
            if self.queued.len() < MAX_QUEUED_SHARES {
                self.queued.push_back(share);
            }
            return;
        };
        let up = UpstreamShare {
            job_id: pool_job,
            nonce: share.nonce,
            ntime: share.ntime,
            version: share.version,
            extranonce: rolled.clone(),
        };
        if self.upstream.submit_as(self.key, up, share.id, share.worker.clone()).await.is_ok() {
            self.reports.stats.shares_submitted.fetch_add(1, Ordering::Relaxed);
            self.sent.0.insert(share.id);
            self.sent.1.push_back(share.id);
            while self.sent.1.len() > KEPT_SHARE_IDS {
                if let Some(old) = self.sent.1.pop_front() {
                    self.sent.0.remove(&old);
                }
            }
        }
    }

    async fn found_block(&mut self, share: &JdShare, session: &mut Option<Box<Session>>) {
        let Some(job) = self.published.get(share.job_id) else { return };
        let block = job.block(&share.extranonce, share.nonce, share.ntime, share.version);
        let hash = block.hash();
        let solo = matches!(job.payout, Payout::Solo);
        tracing::info!(
            "jdc: block {} found ({})",
            crate::tp::source::display_hash(&hash),
            if solo { "solo" } else { "for the pool" }
        );
        let _ = self
            .tp
            .send(TpCmd::Solution {
                template_id: job.template_id,
                version: share.version,
                ntime: share.ntime,
                nonce: share.nonce,
                coinbase: block.coinbase.clone(),
            })
            .await;
        self.reports.stats.blocks_found.fetch_add(1, Ordering::Relaxed);
        // A refused declaration is forgotten by the JDS: no PushSolution for it.
        if let (Payout::Declared { index, declaration_id, refused: false, .. }, true) =
            (&job.payout, self.config.full_template)
        {
            if let Some(s) = session.as_deref_mut().filter(|s| s.index == *index) {
                let pushed = s.client.push_solution(
                    *declaration_id,
                    &share.extranonce,
                    share.nonce,
                    share.ntime,
                    share.version,
                    &mut s.conn,
                );
                match pushed {
                    Ok(_) => {
                        let _ = s.conn.flush().await;
                        self.reports.stats.solutions_pushed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!("jdc: PushSolution not sent: {e}"),
                }
            }
        }
        let _ = self.reports.blocks.send(FoundBlock { hash, block: block.serialize(), solo });
    }
}
