//! The Job Declarator Client's side of its Job Declaration connection: SetupConnection,
//! tokens, jobs declared from templates (Full-Template) or built straight from them
//! (Coinbase-only), missing transactions answered, and the SetCustomMiningJob for the pool.
//!
//! Sans-IO like the server: messages in, messages (into an [`Outbox`]) and [`Event`]s out.

use std::collections::{HashMap, VecDeque};

use super::coinbase::{constraints_for, parse_counted_outputs, tx_ids, CustomCoinbase};
use crate::channels::coinbase::{serialize_output, CoinbaseSpec};
use crate::channels::hash::coinbase_merkle_path;
use crate::channels::server::PrevHash;
use crate::channels::ChannelError;
use crate::codec::{Bytes, Seq};
use crate::endpoint::Outbox;
use crate::messages::job_declaration_flags::DECLARE_TX_DATA;
use crate::messages::{
    AllocateMiningJobToken, CoinbaseOutputConstraints, DeclareMiningJob, NewTemplate, ProvideMissingTransactions,
    ProvideMissingTransactionsSuccess, PushSolution, SetCustomMiningJob, SetupConnection,
};
use crate::Message;

/// How a JDC declares, and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdcConfig {
    /// Declare transactions (DECLARE_TX_DATA): Full-Template mode; else Coinbase-only.
    pub full_template: bool,
    /// The user tokens are asked for.
    pub user_identifier: String,
    /// Pushed in the coinbase scriptSig after the template's prefix (empty: none).
    pub tag: Vec<u8>,
    /// The upstream extended channel's full extranonce length (prefix and rolled part).
    pub extranonce_len: usize,
    /// Host the JDC dialled (SetupConnection).
    pub endpoint_host: String,
    /// Port the JDC dialled.
    pub endpoint_port: u16,
    /// Vendor and version (SetupConnection).
    pub vendor: String,
    /// Tokens asked for and held unspent at once.
    pub max_tokens: usize,
    /// Declarations kept (for missing transactions, the answer and PushSolution); a further
    /// one forgets the oldest.
    pub max_declarations: usize,
}

/// The SetCustomMiningJob of a declared job, owned until the caller sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomJobRequest {
    /// The DeclareMiningJob's request id (or, Coinbase-only, the JDC's own id for the job).
    pub declaration_id: u32,
    /// The template it was built from.
    pub template_id: u64,
    /// The token that proves the declaration.
    pub token: Vec<u8>,
    /// Header version.
    pub version: u32,
    /// Previous block hash.
    pub prev_hash: [u8; 32],
    /// Smallest nTime.
    pub min_ntime: u32,
    /// Compact network target.
    pub nbits: u32,
    /// The coinbase.
    pub coinbase: CustomCoinbase,
    /// Merkle path of the coinbase, leaf level first.
    pub merkle_path: Vec<[u8; 32]>,
}

impl CustomJobRequest {
    /// The SetCustomMiningJob for an extended (or group) channel.
    pub fn message(&self, channel_id: u32, request_id: u32) -> SetCustomMiningJob<'_> {
        // Sizes are checked when the job is built: the token came in a B0_255, the scriptSig
        // prefix is under 100 bytes, the outputs fit a B0_64K and the path a SEQ0_255.
        SetCustomMiningJob {
            channel_id,
            request_id,
            mining_job_token: Bytes::new(&self.token).unwrap_or_default(),
            version: self.version,
            prev_hash: self.prev_hash,
            min_ntime: self.min_ntime,
            nbits: self.nbits,
            coinbase_tx_version: self.coinbase.version,
            coinbase_prefix: Bytes::new(&self.coinbase.script_prefix).unwrap_or_default(),
            coinbase_tx_input_nsequence: self.coinbase.sequence,
            coinbase_tx_outputs: Bytes::new(&self.coinbase.outputs).unwrap_or_default(),
            coinbase_tx_locktime: self.coinbase.locktime,
            merkle_path: Seq::new(&self.merkle_path).unwrap_or_default(),
        }
    }
}

/// What [`JobDeclarationClient::declare`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared {
    /// DeclareMiningJob is in the outbox; the answer comes as [`Event::JobDeclared`].
    Sent {
        /// Its request id.
        request_id: u32,
    },
    /// Coinbase-only: nothing to declare, the SetCustomMiningJob is ready.
    Ready(Box<CustomJobRequest>),
}

/// What the caller must act on after a message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// SetupConnection.Success arrived.
    SetUp,
    /// A token arrived; tell the template provider these constraints (they only change when
    /// the pool's outputs do).
    TokenReady {
        /// The AllocateMiningJobToken's request id.
        request_id: u32,
        /// The pool's outputs' size and sigops.
        constraints: CoinbaseOutputConstraints,
    },
    /// ProvideMissingTransactions was answered (the Success is in the outbox).
    MissingTransactionsSent {
        /// The declaration.
        request_id: u32,
        /// How many transactions.
        count: usize,
    },
    /// The JDS accepted a declaration: send this SetCustomMiningJob to the pool.
    JobDeclared(Box<CustomJobRequest>),
    /// The JDS refused a declaration (the spec's trigger for falling back to another pool).
    JobRefused {
        /// The declaration.
        request_id: u32,
        /// The JDS's code.
        code: String,
        /// Its details.
        details: String,
    },
    /// A message about a declaration this client no longer keeps.
    Ignored(&'static str),
}

/// Why the connection (or a local call) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JdcError<E> {
    /// The outbox refused a message.
    Outbox(E),
    /// The JDS refused SetupConnection with this code.
    SetupRefused(String),
    /// A message (named) before SetupConnection.Success.
    NotSetUp(&'static str),
    /// A message (named) a JDC does not take, or not in this state.
    Unexpected(&'static str),
    /// The JDS's outputs in AllocateMiningJobToken.Success do not parse.
    BadPoolOutputs,
    /// ProvideMissingTransactions named a position outside the declaration.
    BadPosition(u16),
    /// A local call: as many tokens asked for or held as allowed.
    TooManyTokens,
    /// A local call: no token to declare with.
    NoToken,
    /// A local call: no kept declaration with this id.
    UnknownDeclaration(u32),
    /// A local call: the template's coinbase cannot be built.
    Coinbase(ChannelError),
    /// A local call: the transactions are not the template's (its merkle path differs), or
    /// one does not parse.
    TransactionsMismatch,
}

impl<E: core::fmt::Display> core::fmt::Display for JdcError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            JdcError::Outbox(e) => write!(f, "sending: {e}"),
            JdcError::SetupRefused(code) => write!(f, "SetupConnection refused: {code}"),
            JdcError::NotSetUp(name) => write!(f, "{name} before SetupConnection.Success"),
            JdcError::Unexpected(name) => write!(f, "unexpected {name}"),
            JdcError::BadPoolOutputs => f.write_str("the pool's coinbase outputs do not parse"),
            JdcError::BadPosition(p) => write!(f, "missing transaction position {p} out of range"),
            JdcError::TooManyTokens => f.write_str("too many tokens asked for"),
            JdcError::NoToken => f.write_str("no token to declare with"),
            JdcError::UnknownDeclaration(id) => write!(f, "no declaration {id}"),
            JdcError::Coinbase(e) => write!(f, "coinbase: {e}"),
            JdcError::TransactionsMismatch => f.write_str("transactions are not the template's"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for JdcError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JdcError::Outbox(e) => Some(e),
            JdcError::Coinbase(e) => Some(e),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Allocation {
    token: Vec<u8>,
    /// The pool's outputs, CompactSize-counted.
    outputs: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Declaration {
    job: CustomJobRequest,
    transactions: Vec<Vec<u8>>,
}

/// One Job Declaration connection, client side.
#[derive(Debug)]
pub struct JobDeclarationClient {
    config: JdcConfig,
    set_up: bool,
    next_request_id: u32,
    asked: usize,
    tokens: VecDeque<Allocation>,
    declarations: HashMap<u32, Declaration>,
    order: VecDeque<u32>,
}

/// A string field, cut at 255 bytes.
fn text(s: &str) -> Bytes<'_, 255> {
    Bytes::new(&s.as_bytes()[..s.len().min(255)]).unwrap_or_default()
}

type Reply<E> = Result<Event, JdcError<E>>;

impl JobDeclarationClient {
    /// A client before its SetupConnection.
    pub fn new(config: JdcConfig) -> Self {
        JobDeclarationClient {
            config,
            set_up: false,
            next_request_id: 1,
            asked: 0,
            tokens: VecDeque::new(),
            declarations: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Tokens held unspent.
    pub fn tokens(&self) -> usize {
        self.tokens.len()
    }

    /// The job of a kept declaration as declared (its token is the allocated one until the
    /// JDS answers): lets the caller mine it before the answer.
    pub fn declaration(&self, request_id: u32) -> Option<&CustomJobRequest> {
        self.declarations.get(&request_id).map(|d| &d.job)
    }

    fn request_id(&mut self) -> u32 {
        let id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1).max(1);
        id
    }

    /// Queues SetupConnection (Job Declaration, DECLARE_TX_DATA in Full-Template mode).
    pub fn start<O: Outbox>(&mut self, out: &mut O) -> Result<(), JdcError<O::Error>> {
        let m = SetupConnection {
            protocol: 1,
            min_version: 2,
            max_version: 2,
            flags: if self.config.full_template { DECLARE_TX_DATA } else { 0 },
            endpoint_host: text(&self.config.endpoint_host),
            endpoint_port: self.config.endpoint_port,
            vendor: text(&self.config.vendor),
            hardware_version: Bytes::EMPTY,
            firmware: Bytes::EMPTY,
            device_id: Bytes::EMPTY,
        };
        out.push(&m.into()).map_err(JdcError::Outbox)
    }

    /// Queues AllocateMiningJobToken; the token comes as [`Event::TokenReady`].
    pub fn request_token<O: Outbox>(&mut self, out: &mut O) -> Result<u32, JdcError<O::Error>> {
        if self.asked + self.tokens.len() >= self.config.max_tokens {
            return Err(JdcError::TooManyTokens);
        }
        let request_id = self.request_id();
        let user = &self.config.user_identifier;
        let m = AllocateMiningJobToken { user_identifier: text(user), request_id };
        out.push(&m.into()).map_err(JdcError::Outbox)?;
        self.asked += 1;
        Ok(request_id)
    }

    /// Handles one message from the JDS.
    pub fn on_message<O: Outbox>(&mut self, msg: &Message<'_>, out: &mut O) -> Reply<O::Error> {
        if !self.set_up {
            return match msg {
                Message::SetupConnectionSuccess(_) => {
                    self.set_up = true;
                    Ok(Event::SetUp)
                }
                Message::SetupConnectionError(m) => {
                    Err(JdcError::SetupRefused(String::from_utf8_lossy(m.error_code.as_bytes()).into_owned()))
                }
                other => Err(JdcError::NotSetUp(other.name())),
            };
        }
        match msg {
            Message::AllocateMiningJobTokenSuccess(m) => {
                if self.asked == 0 {
                    return Err(JdcError::Unexpected("AllocateMiningJobTokenSuccess"));
                }
                let outputs = m.coinbase_tx_outputs.as_bytes();
                let constraints = constraints_for(outputs).ok_or(JdcError::BadPoolOutputs)?;
                if parse_counted_outputs(outputs).is_none_or(|o| o.is_empty()) {
                    return Err(JdcError::BadPoolOutputs);
                }
                self.asked -= 1;
                self.tokens
                    .push_back(Allocation { token: m.mining_job_token.as_bytes().to_vec(), outputs: outputs.to_vec() });
                Ok(Event::TokenReady { request_id: m.request_id, constraints })
            }
            Message::ProvideMissingTransactions(m) => self.provide(m, out),
            Message::DeclareMiningJobSuccess(m) => {
                let Some(d) = self.declarations.get_mut(&m.request_id) else {
                    return Ok(Event::Ignored("DeclareMiningJobSuccess for a forgotten declaration"));
                };
                d.job.token = m.new_mining_job_token.as_bytes().to_vec();
                Ok(Event::JobDeclared(Box::new(d.job.clone())))
            }
            Message::DeclareMiningJobError(m) => {
                self.forget(m.request_id);
                Ok(Event::JobRefused {
                    request_id: m.request_id,
                    code: String::from_utf8_lossy(m.error_code.as_bytes()).into_owned(),
                    details: String::from_utf8_lossy(m.error_details.as_bytes()).into_owned(),
                })
            }
            other => Err(JdcError::Unexpected(other.name())),
        }
    }

    fn provide<O: Outbox>(&mut self, m: &ProvideMissingTransactions<'_>, out: &mut O) -> Reply<O::Error> {
        let Some(d) = self.declarations.get(&m.request_id) else {
            return Ok(Event::Ignored("ProvideMissingTransactions for a forgotten declaration"));
        };
        let mut list = Vec::with_capacity(m.unknown_tx_position_list.len());
        for p in m.unknown_tx_position_list.iter() {
            let tx = d.transactions.get(usize::from(p)).ok_or(JdcError::BadPosition(p))?;
            list.push(Bytes::new(tx).map_err(|_| JdcError::BadPosition(p))?);
        }
        let count = list.len();
        let reply = ProvideMissingTransactionsSuccess {
            request_id: m.request_id,
            transaction_list: Seq::new(&list).unwrap_or_default(),
        };
        out.push(&reply.into()).map_err(JdcError::Outbox)?;
        Ok(Event::MissingTransactionsSent { request_id: m.request_id, count })
    }

    fn forget(&mut self, request_id: u32) {
        self.declarations.remove(&request_id);
        self.order.retain(|id| *id != request_id);
    }

    /// Builds the job for `template` on `tip` with the oldest token: the coinbase pays
    /// everything the template leaves to the pool's payout output. Full-Template: queues
    /// DeclareMiningJob with the wtxids of `transactions` (the template's, in block order,
    /// checked against its merkle path). Coinbase-only: the SetCustomMiningJob is ready at
    /// once and `transactions` are not needed.
    pub fn declare<O: Outbox>(
        &mut self,
        template: &NewTemplate<'_>,
        tip: &PrevHash,
        transactions: &[&[u8]],
        out: &mut O,
    ) -> Result<Declared, JdcError<O::Error>> {
        let alloc = self.tokens.front().ok_or(JdcError::NoToken)?;
        let mut pool_outs = parse_counted_outputs(&alloc.outputs).ok_or(JdcError::BadPoolOutputs)?;
        if let Some(payout) = pool_outs.first_mut() {
            payout.value = bitcoin::Amount::from_sat(template.coinbase_tx_value_remaining);
        }
        let pool_bytes: Vec<u8> =
            pool_outs.iter().flat_map(|o| serialize_output(o.value.to_sat(), o.script_pubkey.as_bytes())).collect();
        let parts = CoinbaseSpec {
            version: template.coinbase_tx_version,
            script_prefix: template.coinbase_prefix.as_bytes(),
            tag: &self.config.tag,
            sequence: template.coinbase_tx_input_sequence,
            pool_outputs: &pool_bytes,
            pool_outputs_count: pool_outs.len() as u32,
            template_outputs: template.coinbase_tx_outputs.as_bytes(),
            template_outputs_count: template.coinbase_tx_outputs_count,
            locktime: template.coinbase_tx_locktime,
            extranonce_len: self.config.extranonce_len,
        }
        .build()
        .map_err(JdcError::Coinbase)?;
        let coinbase =
            CustomCoinbase::from_parts(&parts).ok_or(JdcError::Coinbase(ChannelError::InvalidCoinbaseOutputs))?;
        if coinbase.outputs.len() > 0xFFFF {
            return Err(JdcError::Coinbase(ChannelError::JobTooLarge));
        }
        let merkle_path = template.merkle_path.to_vec();
        let mut wtxids = Vec::new();
        if self.config.full_template {
            let mut leaves = vec![[0; 32]];
            for tx in transactions {
                let (txid, wtxid) = tx_ids(tx).ok_or(JdcError::TransactionsMismatch)?;
                leaves.push(txid);
                wtxids.push(wtxid);
            }
            if coinbase_merkle_path(&leaves) != merkle_path || wtxids.len() > 0xFFFF {
                return Err(JdcError::TransactionsMismatch);
            }
        }
        let Some(alloc) = self.tokens.pop_front() else { return Err(JdcError::NoToken) };
        let request_id = self.request_id();
        let job = CustomJobRequest {
            declaration_id: request_id,
            template_id: template.template_id,
            token: alloc.token,
            version: template.version,
            prev_hash: tip.prev_hash,
            min_ntime: tip.min_ntime,
            nbits: tip.nbits,
            coinbase,
            merkle_path,
        };
        if self.config.full_template {
            let (prefix, suffix) = job
                .coinbase
                .declared_prefix_suffix()
                .ok_or(JdcError::Coinbase(ChannelError::InvalidCoinbaseOutputs))?;
            let m = DeclareMiningJob {
                request_id,
                mining_job_token: Bytes::new(&job.token).unwrap_or_default(),
                version: job.version,
                coinbase_tx_prefix: Bytes::new(&prefix).map_err(|_| JdcError::Coinbase(ChannelError::JobTooLarge))?,
                coinbase_tx_suffix: Bytes::new(&suffix).map_err(|_| JdcError::Coinbase(ChannelError::JobTooLarge))?,
                wtxid_list: Seq::new(&wtxids).unwrap_or_default(),
                excess_data: Bytes::EMPTY,
            };
            out.push(&m.into()).map_err(JdcError::Outbox)?;
        }
        let kept =
            if self.config.full_template { transactions.iter().map(|t| t.to_vec()).collect() } else { Vec::new() };
        self.declarations.insert(request_id, Declaration { job: job.clone(), transactions: kept });
        self.order.push_back(request_id);
        while self.order.len() > self.config.max_declarations {
            if let Some(old) = self.order.pop_front() {
                self.declarations.remove(&old);
            }
        }
        Ok(if self.config.full_template { Declared::Sent { request_id } } else { Declared::Ready(Box::new(job)) })
    }

    /// A block was found on a declared job: queues PushSolution (Full-Template) and returns
    /// the full coinbase for the template provider's SubmitSolution (the caller sends that
    /// in both modes). `extranonce` is the full extranonce.
    pub fn push_solution<O: Outbox>(
        &mut self,
        declaration_id: u32,
        extranonce: &[u8],
        nonce: u32,
        ntime: u32,
        version: u32,
        out: &mut O,
    ) -> Result<Vec<u8>, JdcError<O::Error>> {
        let d = self.declarations.get(&declaration_id).ok_or(JdcError::UnknownDeclaration(declaration_id))?;
        let parts = d.job.coinbase.parts().ok_or(JdcError::Coinbase(ChannelError::InvalidCoinbaseOutputs))?;
        if extranonce.len() != parts.extranonce_len {
            return Err(JdcError::Coinbase(ChannelError::ExtranonceMismatch));
        }
        if self.config.full_template {
            let m = PushSolution {
                extranonce: Bytes::new(extranonce).map_err(|_| JdcError::Coinbase(ChannelError::ExtranonceMismatch))?,
                prev_hash: d.job.prev_hash,
                nonce,
                ntime,
                nbits: d.job.nbits,
                version,
            };
            out.push(&m.into()).map_err(JdcError::Outbox)?;
        }
        Ok(parts.full(extranonce))
    }
}
