//! The Job Declarator Server's side of one Job Declaration connection: SetupConnection,
//! tokens, declarations checked against the pool's outputs and the caller's mempool, missing
//! transactions fetched from the JDC, the caller's verdict on block validity, and
//! PushSolution rebuilt into a whole block.
//!
//! Sans-IO: messages and the caller's clock and entropy ([`Ctx`]) in, messages (into an
//! [`Outbox`]) and [`Event`]s out. Full block validity (scripts, spent coins, the coinbase
//! claiming no more than subsidy and fees, the tip) is the caller's: [`Event::ValidateJob`]
//! asks, [`JobDeclarator::on_verdict`] answers, whenever the caller's node has decided.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::coinbase::{tx_ids, CustomCoinbase, PoolOutputs};
use super::store::{Grant, StoreError, TokenError, TokenStore};
use super::{code_field, codes, Ctx, Token};
use crate::channels::coinbase::push_compact_size;
use crate::channels::hash::{coinbase_merkle_path, header_bytes, merkle_root, sha256d};
use crate::channels::target::{hash_meets_target, target_from_nbits};
use crate::codec::{Bytes, Seq};
use crate::endpoint::Outbox;
use crate::messages::job_declaration_flags::DECLARE_TX_DATA;
use crate::messages::{
    AllocateMiningJobTokenSuccess, DeclareMiningJob, DeclareMiningJobError, DeclareMiningJobSuccess,
    ProvideMissingTransactions, ProvideMissingTransactionsSuccess, PushSolution, SetupConnection, SetupConnectionError,
    SetupConnectionSuccess,
};
use crate::Message;

/// A transaction the JDS's mempool holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MempoolTx {
    /// Its txid (internal byte order).
    pub txid: [u8; 32],
    /// The transaction, serialized with witness.
    pub data: Arc<[u8]>,
}

/// The caller's mempool, as the JDS sees it.
pub trait Mempool {
    /// The transaction with this wtxid (internal byte order), if the mempool has it.
    fn get(&self, wtxid: &[u8; 32]) -> Option<MempoolTx>;
}

/// A map from wtxid to transaction is a mempool.
impl<S: std::hash::BuildHasher> Mempool for HashMap<[u8; 32], MempoolTx, S> {
    fn get(&self, wtxid: &[u8; 32]) -> Option<MempoolTx> {
        HashMap::get(self, wtxid).cloned()
    }
}

/// What a JDS offers and allows on each connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdsConfig {
    /// Accept Coinbase-only JDCs (DECLARE_TX_DATA clear).
    pub coinbase_only: bool,
    /// Accept Full-Template JDCs (DECLARE_TX_DATA set).
    pub full_template: bool,
    /// The outputs every custom coinbase must pay.
    pub pool_outputs: PoolOutputs,
    /// How long a token lives, in the caller's seconds (allocated and declared alike).
    pub token_lifetime_secs: u64,
    /// Unspent allocated tokens one connection may hold; a further allocation revokes the
    /// oldest.
    pub max_tokens_per_connection: usize,
    /// Allocations one connection may ask for within a minute before it is closed.
    pub max_allocations_per_minute: u32,
    /// Declarations one connection may have waiting for transactions or a verdict.
    pub max_pending_declarations: usize,
    /// Declared jobs of one connection whose tokens stay valid for SetCustomMiningJob; a
    /// further one revokes the oldest.
    pub max_declared_jobs_per_connection: usize,
    /// Unknown transactions one declaration may have.
    pub max_missing_txs: usize,
    /// Bytes the missing transactions of one declaration may add up to.
    pub max_missing_bytes: usize,
}

impl JdsConfig {
    /// Both modes, the given outputs, and limits sized for mainnet blocks.
    pub fn new(pool_outputs: PoolOutputs) -> Self {
        JdsConfig {
            coinbase_only: true,
            full_template: true,
            pool_outputs,
            token_lifetime_secs: 600,
            max_tokens_per_connection: 16,
            max_allocations_per_minute: 120,
            max_pending_declarations: 4,
            max_declared_jobs_per_connection: 8,
            max_missing_txs: 16_384,
            max_missing_bytes: 4_000_000,
        }
    }
}

/// A job a JDC declared: everything needed to check its SetCustomMiningJob and to rebuild its
/// block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredJob {
    /// The DeclareMiningJob's request id.
    pub request_id: u32,
    /// The user its token was allocated for.
    pub user: String,
    /// Header version.
    pub version: u32,
    /// The coinbase.
    pub coinbase: CustomCoinbase,
    /// The non-coinbase transactions in block order, serialized with witness.
    pub transactions: Vec<Arc<[u8]>>,
    /// Their txids.
    pub txids: Vec<[u8; 32]>,
    /// The coinbase's merkle path over them.
    pub merkle_path: Vec<[u8; 32]>,
    /// DeclareMiningJob.excess_data.
    pub excess_data: Vec<u8>,
}

/// A block rebuilt from a PushSolution, for the caller to submit to its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdBlock {
    /// The 80-byte header.
    pub header: [u8; 80],
    /// The full coinbase.
    pub coinbase: Vec<u8>,
    /// The other transactions, in block order.
    pub transactions: Vec<Arc<[u8]>>,
}

impl JdBlock {
    /// The block hash (SHA-256d of the header, internal byte order).
    pub fn hash(&self) -> [u8; 32] {
        sha256d(&self.header)
    }

    /// The serialized block.
    pub fn serialize(&self) -> Vec<u8> {
        let size = self.transactions.iter().map(|t| t.len()).sum::<usize>() + self.coinbase.len() + 89;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&self.header);
        push_compact_size(&mut out, 1 + self.transactions.len() as u64);
        out.extend_from_slice(&self.coinbase);
        for tx in &self.transactions {
            out.extend_from_slice(tx);
        }
        out
    }
}

/// What the caller must act on after a call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// SetupConnection accepted.
    SetUp {
        /// Whether the JDC declares transactions (Full-Template mode).
        full_template: bool,
    },
    /// A token was handed out (its Success is in the outbox).
    TokenAllocated {
        /// The request id.
        request_id: u32,
    },
    /// ProvideMissingTransactions is in the outbox.
    MissingTransactionsRequested {
        /// The declaration.
        request_id: u32,
        /// How many transactions were asked for.
        count: usize,
    },
    /// Every transaction of a declaration is known: check the block is valid (with the
    /// caller's node) and pass the verdict to [`JobDeclarator::on_verdict`].
    ValidateJob {
        /// The declaration.
        request_id: u32,
        /// The job.
        job: Arc<DeclaredJob>,
    },
    /// A declaration was accepted (its Success is in the outbox).
    JobDeclared {
        /// The declaration.
        request_id: u32,
    },
    /// A declaration was refused with this code (its Error is in the outbox).
    JobRefused {
        /// The declaration.
        request_id: u32,
        /// The code sent.
        code: String,
    },
    /// A PushSolution made a block: submit it.
    BlockFound(Box<JdBlock>),
    /// A PushSolution that makes no block.
    SolutionIgnored(&'static str),
    /// Nothing for the caller.
    Handled,
}

/// Why a connection must close.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JdError<E> {
    /// The outbox refused a message.
    Outbox(E),
    /// SetupConnection refused with this code (the Error is in the outbox).
    SetupRefused(&'static str),
    /// A message (named) before SetupConnection.
    NotSetUp(&'static str),
    /// A second SetupConnection.
    SecondSetup,
    /// A message (named) a JDS does not take, or not in this mode or state.
    Unexpected(&'static str),
    /// More token requests within a minute than allowed.
    AllocationFlood(u32),
    /// A DeclareMiningJob reusing the request id of one in flight.
    DuplicateRequestId(u32),
    /// The token store is full, or the caller's entropy repeated a token.
    Store(StoreError),
}

impl<E: core::fmt::Display> core::fmt::Display for JdError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            JdError::Outbox(e) => write!(f, "sending: {e}"),
            JdError::SetupRefused(code) => write!(f, "SetupConnection refused: {code}"),
            JdError::NotSetUp(name) => write!(f, "{name} before SetupConnection"),
            JdError::SecondSetup => f.write_str("a second SetupConnection"),
            JdError::Unexpected(name) => write!(f, "unexpected {name}"),
            JdError::AllocationFlood(n) => write!(f, "{n} token requests within a minute"),
            JdError::DuplicateRequestId(id) => write!(f, "DeclareMiningJob request id {id} already in flight"),
            JdError::Store(e) => write!(f, "token store: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for JdError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JdError::Outbox(e) => Some(e),
            JdError::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// A declaration in flight.
#[derive(Debug)]
enum Pending {
    /// Waiting for ProvideMissingTransactions.Success.
    Missing {
        job: Box<DeclaredJob>,
        /// Positions asked for, in order.
        positions: Vec<u16>,
        /// Their wtxids.
        wtxids: Vec<[u8; 32]>,
    },
    /// Waiting for the caller's verdict.
    Validating(Arc<DeclaredJob>),
}

/// One Job Declaration connection, server side.
#[derive(Debug)]
pub struct JobDeclarator {
    config: JdsConfig,
    connection: u64,
    set_up: bool,
    full_template: bool,
    /// Unspent allocated tokens, oldest first.
    allocated: VecDeque<Token>,
    /// Tokens of declared jobs, oldest first.
    declared: VecDeque<Token>,
    /// Start of the current rate-limit minute and allocations within it.
    minute: (u64, u32),
    pending: HashMap<u32, Pending>,
    /// The newest accepted declaration: PushSolution rebuilds its block.
    latest: Option<Arc<DeclaredJob>>,
}

type Reply<E> = Result<Event, JdError<E>>;

impl JobDeclarator {
    /// A connection before its SetupConnection, with an id from the shared store.
    pub fn new(config: JdsConfig, store: &mut TokenStore) -> Self {
        JobDeclarator {
            config,
            connection: store.connection_id(),
            set_up: false,
            full_template: false,
            allocated: VecDeque::new(),
            declared: VecDeque::new(),
            minute: (0, 0),
            pending: HashMap::new(),
            latest: None,
        }
    }

    /// Whether SetupConnection succeeded.
    pub fn is_set_up(&self) -> bool {
        self.set_up
    }

    /// Whether the JDC declares transactions.
    pub fn is_full_template(&self) -> bool {
        self.full_template
    }

    /// Declarations in flight.
    pub fn pending_declarations(&self) -> usize {
        self.pending.len()
    }

    /// The connection closed: its unspent allocated tokens go (declared jobs stay valid for
    /// SetCustomMiningJob until they expire).
    pub fn close(&mut self, store: &mut TokenStore) {
        for t in self.allocated.drain(..) {
            store.remove(&t);
        }
        self.pending.clear();
    }

    /// Handles one message from the JDC.
    pub fn on_message<O: Outbox, M: Mempool + ?Sized>(
        &mut self,
        msg: &Message<'_>,
        store: &mut TokenStore,
        mempool: &M,
        ctx: Ctx,
        out: &mut O,
    ) -> Reply<O::Error> {
        if !self.set_up {
            let Message::SetupConnection(m) = msg else { return Err(JdError::NotSetUp(msg.name())) };
            return self.setup(m, out);
        }
        match msg {
            Message::SetupConnection(_) => Err(JdError::SecondSetup),
            Message::AllocateMiningJobToken(m) => {
                if ctx.now.saturating_sub(self.minute.0) >= 60 {
                    self.minute = (ctx.now, 0);
                }
                self.minute.1 += 1;
                if self.minute.1 > self.config.max_allocations_per_minute {
                    return Err(JdError::AllocationFlood(self.minute.1));
                }
                let user = String::from_utf8_lossy(m.user_identifier.as_bytes()).into_owned();
                let grant = Grant::Allocated { user, full_template: self.full_template };
                let expires = ctx.now.saturating_add(self.config.token_lifetime_secs);
                store.insert(ctx.entropy, self.connection, expires, grant, ctx.now).map_err(JdError::Store)?;
                self.allocated.push_back(ctx.entropy);
                while self.allocated.len() > self.config.max_tokens_per_connection {
                    if let Some(old) = self.allocated.pop_front() {
                        store.remove(&old);
                    }
                }
                let advertised = self.config.pool_outputs.advertised();
                let reply = AllocateMiningJobTokenSuccess {
                    request_id: m.request_id,
                    mining_job_token: Bytes::new(&ctx.entropy).unwrap_or_default(),
                    coinbase_tx_outputs: Bytes::new(&advertised).unwrap_or_default(),
                };
                out.push(&reply.into()).map_err(JdError::Outbox)?;
                Ok(Event::TokenAllocated { request_id: m.request_id })
            }
            Message::DeclareMiningJob(m) if self.full_template => self.declare(m, store, mempool, ctx.now, out),
            Message::ProvideMissingTransactionsSuccess(m) => self.provided(m, out),
            Message::PushSolution(m) => Ok(self.solution(m)),
            other => Err(JdError::Unexpected(other.name())),
        }
    }

    fn setup<O: Outbox>(&mut self, m: &SetupConnection<'_>, out: &mut O) -> Reply<O::Error> {
        let full = m.flags & DECLARE_TX_DATA != 0;
        let refusal = if m.protocol != 1 {
            Some((0, codes::UNSUPPORTED_PROTOCOL))
        } else if !(m.min_version <= 2 && 2 <= m.max_version) {
            Some((0, codes::PROTOCOL_VERSION_MISMATCH))
        } else if m.flags & !DECLARE_TX_DATA != 0 || (full && !self.config.full_template) {
            let supported = if self.config.full_template { DECLARE_TX_DATA } else { 0 };
            Some((m.flags & !supported, codes::UNSUPPORTED_FEATURE_FLAGS))
        } else if !full && !self.config.coinbase_only {
            Some((0, codes::MISSING_DECLARE_TX_DATA_FLAG))
        } else {
            None
        };
        if let Some((flags, code)) = refusal {
            let err = SetupConnectionError { flags, error_code: code_field(code) };
            out.push(&err.into()).map_err(JdError::Outbox)?;
            return Err(JdError::SetupRefused(code));
        }
        out.push(&SetupConnectionSuccess { used_version: 2, flags: 0 }.into()).map_err(JdError::Outbox)?;
        self.set_up = true;
        self.full_template = full;
        Ok(Event::SetUp { full_template: full })
    }

    fn refuse<O: Outbox>(&mut self, request_id: u32, code: &str, details: &str, out: &mut O) -> Reply<O::Error> {
        self.pending.remove(&request_id);
        let details = &details.as_bytes()[..details.len().min(0xFFFF)];
        let err = DeclareMiningJobError {
            request_id,
            error_code: code_field(code),
            error_details: Bytes::new(details).unwrap_or_default(),
        };
        out.push(&err.into()).map_err(JdError::Outbox)?;
        let code = code_field(code).as_str().unwrap_or(codes::INVALID_JOB).to_string();
        Ok(Event::JobRefused { request_id, code })
    }

    fn declare<O: Outbox, M: Mempool + ?Sized>(
        &mut self,
        m: &DeclareMiningJob<'_>,
        store: &mut TokenStore,
        mempool: &M,
        now: u64,
        out: &mut O,
    ) -> Reply<O::Error> {
        let id = m.request_id;
        if self.pending.contains_key(&id) {
            return Err(JdError::DuplicateRequestId(id));
        }
        if self.pending.len() >= self.config.max_pending_declarations {
            return self.refuse(id, codes::TOO_MANY_PENDING_DECLARATIONS, "wait for the answers in flight", out);
        }
        let token = m.mining_job_token.as_bytes();
        let user = match store.spend_for_declaration(token, self.connection, now) {
            Ok(user) => user,
            Err(e) => return self.refuse(id, codes::INVALID_MINING_JOB_TOKEN, token_details(e), out),
        };
        if let Ok(t) = Token::try_from(token) {
            self.allocated.retain(|a| *a != t);
        }
        let coinbase =
            match CustomCoinbase::parse_declared(m.coinbase_tx_prefix.as_bytes(), m.coinbase_tx_suffix.as_bytes()) {
                Ok(c) => c,
                Err(code) => return self.refuse(id, code, "coinbase prefix and suffix do not parse", out),
            };
        let outs = coinbase.tx_outs().unwrap_or_default();
        if let Err((code, details)) = self.config.pool_outputs.check(&outs) {
            return self.refuse(id, code, &details, out);
        }
        let wtxids = m.wtxid_list.to_vec();
        let mut seen = HashSet::with_capacity(wtxids.len());
        if let Some(dup) = wtxids.iter().position(|w| !seen.insert(*w)) {
            return self.refuse(id, codes::INVALID_JOB, &format!("wtxid {dup} repeats an earlier one"), out);
        }
        let mut job = DeclaredJob {
            request_id: id,
            user,
            version: m.version,
            coinbase,
            transactions: Vec::with_capacity(wtxids.len()),
            txids: Vec::with_capacity(wtxids.len()),
            merkle_path: Vec::new(),
            excess_data: m.excess_data.as_bytes().to_vec(),
        };
        let mut positions = Vec::new();
        let empty: Arc<[u8]> = Arc::from(&[][..]);
        for (i, w) in wtxids.iter().enumerate() {
            match mempool.get(w) {
                Some(tx) => {
                    job.transactions.push(tx.data);
                    job.txids.push(tx.txid);
                }
                None => {
                    if positions.len() == self.config.max_missing_txs {
                        let details = format!("more than {} unknown transactions", self.config.max_missing_txs);
                        return self.refuse(id, codes::TOO_MANY_MISSING_TXS, &details, out);
                    }
                    // Positions fit in u16: the list holds at most 65 535 wtxids.
                    positions.push(i as u16);
                    job.transactions.push(empty.clone());
                    job.txids.push([0; 32]);
                }
            }
        }
        if positions.is_empty() {
            return Ok(self.validate(job));
        }
        let ask = ProvideMissingTransactions {
            request_id: id,
            unknown_tx_position_list: Seq::new(&positions).unwrap_or_default(),
        };
        out.push(&ask.into()).map_err(JdError::Outbox)?;
        let count = positions.len();
        let wtxids = positions.iter().map(|p| wtxids[usize::from(*p)]).collect();
        self.pending.insert(id, Pending::Missing { job: Box::new(job), positions, wtxids });
        Ok(Event::MissingTransactionsRequested { request_id: id, count })
    }

    /// Every transaction is known: the merkle path is computed and the caller asked.
    fn validate(&mut self, mut job: DeclaredJob) -> Event {
        let leaves: Vec<[u8; 32]> = core::iter::once([0; 32]).chain(job.txids.iter().copied()).collect();
        // The coinbase's own txid never enters its path: a placeholder leaf does.
        job.merkle_path = coinbase_merkle_path(&leaves);
        let request_id = job.request_id;
        let job = Arc::new(job);
        self.pending.insert(request_id, Pending::Validating(job.clone()));
        Event::ValidateJob { request_id, job }
    }

    fn provided<O: Outbox>(&mut self, m: &ProvideMissingTransactionsSuccess<'_>, out: &mut O) -> Reply<O::Error> {
        let id = m.request_id;
        let (mut job, positions, wtxids) = match self.pending.remove(&id) {
            Some(Pending::Missing { job, positions, wtxids }) => (job, positions, wtxids),
            other => {
                // Not waiting for transactions: put back whatever was there.
                if let Some(p) = other {
                    self.pending.insert(id, p);
                }
                return Err(JdError::Unexpected("ProvideMissingTransactionsSuccess"));
            }
        };
        if m.transaction_list.len() != positions.len() {
            let details = format!("{} transactions asked for, {} sent", positions.len(), m.transaction_list.len());
            return self.refuse(id, codes::MISSING_TXS, &details, out);
        }
        let mut bytes = 0usize;
        for (k, tx) in m.transaction_list.iter().enumerate() {
            let data = tx.as_bytes();
            bytes = bytes.saturating_add(data.len());
            if bytes > self.config.max_missing_bytes {
                let details = format!("more than {} bytes of missing transactions", self.config.max_missing_bytes);
                return self.refuse(id, codes::MISSING_TXS_TOO_LARGE, &details, out);
            }
            let pos = usize::from(positions[k]);
            match tx_ids(data) {
                Some((txid, wtxid)) if wtxid == wtxids[k] => {
                    job.txids[pos] = txid;
                    job.transactions[pos] = Arc::from(data);
                }
                _ => {
                    let details = format!("transaction {k} is not the one at position {pos}");
                    return self.refuse(id, codes::MISSING_TXS, &details, out);
                }
            }
        }
        Ok(self.validate(*job))
    }

    /// The caller's verdict on a job it was asked to validate ([`Event::ValidateJob`]): Ok to
    /// accept it, or the DeclareMiningJob.Error code (printable ASCII; anything else is sent
    /// as `invalid-job`). A verdict for a declaration not waiting for one (the connection
    /// closed, or an answer twice) is [`Event::Handled`].
    pub fn on_verdict<O: Outbox>(
        &mut self,
        request_id: u32,
        verdict: Result<(), &str>,
        store: &mut TokenStore,
        ctx: Ctx,
        out: &mut O,
    ) -> Reply<O::Error> {
        let Some(Pending::Validating(_)) = self.pending.get(&request_id) else { return Ok(Event::Handled) };
        let Some(Pending::Validating(job)) = self.pending.remove(&request_id) else { return Ok(Event::Handled) };
        if let Err(code) = verdict {
            return self.refuse(request_id, code, "the block would not be valid", out);
        }
        let expires = ctx.now.saturating_add(self.config.token_lifetime_secs);
        store
            .insert(ctx.entropy, self.connection, expires, Grant::Declared(job.clone()), ctx.now)
            .map_err(JdError::Store)?;
        self.declared.push_back(ctx.entropy);
        while self.declared.len() > self.config.max_declared_jobs_per_connection {
            if let Some(old) = self.declared.pop_front() {
                store.remove(&old);
            }
        }
        self.latest = Some(job);
        let ok =
            DeclareMiningJobSuccess { request_id, new_mining_job_token: Bytes::new(&ctx.entropy).unwrap_or_default() };
        out.push(&ok.into()).map_err(JdError::Outbox)?;
        Ok(Event::JobDeclared { request_id })
    }

    /// PushSolution: the block of the newest accepted declaration, if the solution meets its
    /// nbits.
    fn solution(&self, m: &PushSolution<'_>) -> Event {
        let Some(job) = &self.latest else { return Event::SolutionIgnored("no declared job") };
        let extranonce = m.extranonce.as_bytes();
        if extranonce.len() != job.coinbase.extranonce_len {
            return Event::SolutionIgnored("extranonce length differs from the declared coinbase's");
        }
        let Some(parts) = job.coinbase.parts() else { return Event::SolutionIgnored("declared coinbase unusable") };
        let root = merkle_root(&parts.stripped(extranonce), &job.merkle_path);
        let header = header_bytes(m.version, &m.prev_hash, &root, m.ntime, m.nbits, m.nonce);
        if !hash_meets_target(&sha256d(&header), &target_from_nbits(m.nbits)) {
            return Event::SolutionIgnored("header hash above its nbits target");
        }
        Event::BlockFound(Box::new(JdBlock {
            header,
            coinbase: parts.full(extranonce),
            transactions: job.transactions.clone(),
        }))
    }
}

fn token_details(e: TokenError) -> &'static str {
    match e {
        TokenError::Unknown => "unknown or already used token",
        TokenError::Expired => "expired token",
        TokenError::Foreign => "token of another connection",
        TokenError::WrongKind => "not a token for DeclareMiningJob",
    }
}
