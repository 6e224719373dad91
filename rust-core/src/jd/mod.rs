//! Job Declaration, sans-IO: miners choose their transactions and the pool checks and pays
//! for what they chose.
//!
//! - [`server::JobDeclarator`]: one Job Declaration connection as the pool's Job Declarator
//!   Server (JDS) serves it — SetupConnection (Coinbase-only or Full-Template), token
//!   allocation with a lifetime and a rate limit, DeclareMiningJob with
//!   ProvideMissingTransactions, the caller's block-validity verdict, and PushSolution into a
//!   whole block.
//! - [`store::TokenStore`]: the tokens every connection allocated and the jobs they declared,
//!   shared by all JD connections and the pool's Mining connections.
//! - [`custom`]: the pool's check of a SetCustomMiningJob against that store, giving the job
//!   and tip to add to an extended channel, so shares on it are credited like any other.
//! - [`client::JobDeclarationClient`]: the Job Declarator Client (JDC) side — tokens, jobs
//!   declared from templates, missing transactions answered, SetCustomMiningJob built.
//! - [`coinbase::CustomCoinbase`] and [`coinbase::PoolOutputs`]: the coinbase of a custom
//!   job in the forms the messages carry it, and the pool's outputs it must pay.
//!
//! Error codes are in [`codes`]; docs/JOB_DECLARATION.md says when each is sent.

pub mod client;
pub mod coinbase;
pub mod custom;
pub mod server;
pub mod store;

/// Length of the tokens this crate's JDS hands out.
pub const TOKEN_LEN: usize = 16;

/// A token, as this crate's JDS makes them (random bytes from the caller).
pub type Token = [u8; TOKEN_LEN];

/// What the JDS takes from its caller with every call that may hand out a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    /// The caller's clock, in seconds (token lifetimes and the allocation rate limit).
    pub now: u64,
    /// Fresh random bytes: the token handed out, if one is.
    pub entropy: Token,
}

/// The error codes the JDS and the pool send (Job Declaration and SetCustomMiningJob).
pub mod codes {
    /// The token is unknown, expired, already used, another connection's, or of the wrong kind.
    pub const INVALID_MINING_JOB_TOKEN: &str = "invalid-mining-job-token";
    /// The coinbase prefix and suffix do not make a transaction.
    pub const INVALID_COINBASE_TX: &str = "invalid-coinbase-tx";
    /// The coinbase input is not a single null prevout with a 2–100 byte scriptSig.
    pub const INVALID_COINBASE_TX_INPUT: &str = "invalid-coinbase-tx-input";
    /// None of the coinbase outputs pays a script the pool requires.
    pub const POOL_OUTPUT_MISSING: &str = "pool-output-missing";
    /// The pool's payout output gets less than the pool's share of the coinbase value.
    pub const POOL_OUTPUT_UNDERPAID: &str = "pool-output-underpaid";
    /// The same wtxid twice in a declaration.
    pub const INVALID_JOB: &str = "invalid-job";
    /// ProvideMissingTransactions.Success without the transactions asked for.
    pub const MISSING_TXS: &str = "missing-txs";
    /// More unknown transactions than the JDS takes from one declaration.
    pub const TOO_MANY_MISSING_TXS: &str = "too-many-missing-txs";
    /// The missing transactions add up to more bytes than the JDS takes.
    pub const MISSING_TXS_TOO_LARGE: &str = "missing-txs-too-large";
    /// The connection already has as many declarations in flight as it may.
    pub const TOO_MANY_PENDING_DECLARATIONS: &str = "too-many-pending-declarations";
    /// SetCustomMiningJob on another tip than the pool's.
    pub const STALE_CHAIN_TIP: &str = "stale-chain-tip";
    /// SetCustomMiningJob.nbits is not the tip's.
    pub const INVALID_NBITS: &str = "invalid-nbits";
    /// SetCustomMiningJob.min_ntime before the tip's or too far ahead of the pool's clock.
    pub const INVALID_MIN_NTIME: &str = "invalid-min-ntime";
    /// SetCustomMiningJob.version is not the declared one, or not a BIP9 version.
    pub const INVALID_VERSION: &str = "invalid-version";
    /// SetCustomMiningJob.merkle_path does not commit to the declared transactions.
    pub const INVALID_MERKLE_PATH: &str = "invalid-merkle-path";
    /// SetCustomMiningJob.coinbase_prefix is not the declared one, or leaves no room for the
    /// channel's extranonce.
    pub const INVALID_COINBASE_PREFIX: &str = "invalid-coinbase-prefix";
    /// SetCustomMiningJob.coinbase_tx_version is not the declared one.
    pub const INVALID_COINBASE_TX_VERSION: &str = "invalid-coinbase-tx-version";
    /// SetCustomMiningJob.coinbase_tx_input_nSequence is not the declared one.
    pub const INVALID_COINBASE_TX_INPUT_N_SEQUENCE: &str = "invalid-coinbase-tx-input-n-sequence";
    /// SetCustomMiningJob.coinbase_tx_outputs do not parse or are not the declared ones.
    pub const INVALID_COINBASE_TX_OUTPUTS: &str = "invalid-coinbase-tx-outputs";
    /// SetCustomMiningJob.coinbase_tx_locktime is not the declared one.
    pub const INVALID_COINBASE_TX_LOCKTIME: &str = "invalid-coinbase-tx-locktime";
    /// SetupConnection: a coinbase-only JDC where the JDS wants the transactions.
    pub const MISSING_DECLARE_TX_DATA_FLAG: &str = "missing-declare-tx-data-flag";
    /// SetupConnection: flags the JDS does not support (listed in the Error's flags).
    pub const UNSUPPORTED_FEATURE_FLAGS: &str = "unsupported-feature-flags";
    /// SetupConnection: not the Job Declaration Protocol.
    pub const UNSUPPORTED_PROTOCOL: &str = "unsupported-protocol";
    /// SetupConnection: no common version.
    pub const PROTOCOL_VERSION_MISMATCH: &str = "protocol-version-mismatch";
}

/// An error code as a message field (codes are printable ASCII under 256 bytes; anything else
/// becomes `invalid-job`).
pub(crate) fn code_field(code: &str) -> crate::codec::Str0_255<'_> {
    let printable = !code.is_empty() && code.len() <= 255 && code.bytes().all(|b| (0x21..0x7f).contains(&b));
    crate::codec::Bytes::from_str(if printable { code } else { codes::INVALID_JOB }).unwrap_or_default()
}
