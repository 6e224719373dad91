//! `sv2_result`: the one result enum of the C ABI.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use sv2::channels::{ChannelError, ShareError};
use sv2::codec::CodecError;
use sv2::noise::NoiseError;

/// What a function did. The numbers are stable and never reused. A 32-bit signed integer on
/// every compiler (`int32_t` in C; in C++ an enum whose underlying type is `int32_t`), so
/// that the ABI does not depend on how a compiler sizes an enum.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sv2_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// A bug inside libsv2 was caught before it reached C.
    Panic = 2,
    /// The caller's output buffer is too small; nothing was written.
    InsufficientSize = 3,
    /// An argument is out of range (a string longer than its type allows, an unknown id).
    InvalidArgument = 4,
    /// No whole frame yet: feed more bytes. Not an error.
    NeedMoreData = 5,
    /// The item looked for is not there.
    NotFound = 6,
    /// Input ended inside a value.
    UnexpectedEnd = 100,
    /// A length or count exceeds its type's maximum.
    TooLong = 101,
    /// An OPTION count other than 0 or 1.
    InvalidOption = 102,
    /// A value outside its type's range.
    OutOfRange = 103,
    /// Bytes left after a value that must fill its input.
    TrailingBytes = 104,
    /// Bytes after a message's fields that are not whole TLV records.
    InvalidTlv = 105,
    /// No message has this (extension_type, msg_type).
    UnknownMessage = 106,
    /// A frame announces a payload over the configured limit.
    FrameTooLarge = 107,
    /// A handshake message failed authentication.
    HandshakeFailed = 200,
    /// The server certificate is not signed by the pinned authority.
    InvalidCertificateSignature = 201,
    /// The server certificate is not valid yet.
    CertificateNotYetValid = 202,
    /// The server certificate has expired.
    CertificateExpired = 203,
    /// A transport frame failed authentication.
    DecryptFailed = 204,
    /// The transport nonces are used up.
    NonceExhausted = 205,
    /// Bytes that are not a valid secp256k1 key.
    InvalidKey = 206,
    /// Text that is not a base58check authority key.
    InvalidAuthorityKey = 207,
    /// The operating system's random generator failed.
    Entropy = 208,
    /// The handshake has not completed.
    NotEstablished = 209,
    /// An earlier error ended this session.
    SessionFailed = 210,
    /// An invariant inside libsv2 was broken.
    Internal = 299,
    /// No such channel here (spec error code `invalid-channel-id`).
    InvalidChannelId = 300,
    /// A share's job id is unknown, or a future job not activated yet (`invalid-job-id`).
    InvalidJobId = 301,
    /// A share for a job made stale by a newer previous hash (`stale-share`).
    StaleShare = 302,
    /// A share whose hash does not meet the job's target (`difficulty-too-low`).
    DifficultyTooLow = 303,
    /// A share accepted before (`duplicate-share`).
    DuplicateShare = 304,
    /// A share whose extranonce is not the channel's rollable size (`bad-extranonce-size`).
    BadExtranonceSize = 305,
    /// A share that changes a version bit outside the rollable mask
    /// (`invalid-non-rollable-version-bit`).
    InvalidNonRollableVersionBit = 306,
    /// A share that changes the version of a job that forbids rolling
    /// (`version-rolling-not-allowed`).
    VersionRollingNotAllowed = 307,
    /// A share's nTime is below the job's minimum or over two hours ahead (`invalid-timestamp`).
    NtimeOutOfRange = 308,
    /// A nominal hashrate that is negative, infinite or NaN (`invalid-nominal-hashrate`).
    InvalidNominalHashrate = 309,
    /// Template or pool outputs that are not valid serialized outputs.
    InvalidCoinbaseOutputs = 320,
    /// The coinbase scriptSig would exceed 100 bytes.
    ScriptSigTooLong = 321,
    /// Extranonce sizes that do not fit together.
    ExtranonceLayout = 322,
    /// Every extranonce prefix has been handed out.
    ExtranonceExhausted = 323,
    /// A job whose extranonce hole differs from the channel's full extranonce length.
    ExtranonceMismatch = 324,
    /// A job or template id that is not known (or not a future job) here.
    UnknownJob = 325,
    /// No previous hash yet: no job can be active.
    NoPrevHash = 326,
    /// A coinbase part over 64 KiB or a merkle path over 255 levels.
    JobTooLarge = 327,
    /// The server refused SetupConnection (a server endpoint has queued the
    /// SetupConnection.Error: send it, then close the connection).
    SetupRefused = 340,
    /// A message or call that needs SetupConnection to have succeeded first.
    NotSetUp = 341,
    /// A message out of place: a second SetupConnection, an answer to nothing asked, or a
    /// message only the other side sends.
    UnexpectedMessage = 342,
    /// More invalid shares within a minute than the server allows (and more than valid ones).
    InvalidShareFlood = 343,
    /// A channel reached the limit of shares accepted on one tip.
    TooManyShares = 344,
    /// The server requires extended channels (SetupConnection.Success flags).
    ExtendedChannelsRequired = 345,
    /// Too many requests unanswered (channel opens).
    TooManyRequests = 346,
    /// More token requests within a minute than a Job Declaration server allows.
    TokenRequestFlood = 360,
    /// A DeclareMiningJob reusing the request id of one in flight.
    DuplicateRequestId = 361,
    /// The token store holds as many live tokens as it may.
    TokenStoreFull = 362,
    /// The entropy given repeats a live token.
    TokenCollision = 363,
    /// ProvideMissingTransactions names a position outside the declaration.
    BadTransactionPosition = 364,
    /// No token to declare a job with: request one first.
    NoToken = 365,
    /// No declaration with this id is kept (never made, or forgotten).
    UnknownDeclaration = 366,
    /// The transactions are not the template's (its merkle path differs), or one does not parse.
    TransactionsMismatch = 367,
    /// A SetCustomMiningJob refused by the pool's checks (the error code says why).
    CustomJobRefused = 368,
}

impl From<CodecError> for sv2_result {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::UnexpectedEnd { .. } => sv2_result::UnexpectedEnd,
            CodecError::TooLong { .. } => sv2_result::TooLong,
            CodecError::InvalidOptionCount(_) => sv2_result::InvalidOption,
            CodecError::OutOfRange => sv2_result::OutOfRange,
            CodecError::TrailingBytes(_) => sv2_result::TrailingBytes,
            CodecError::InvalidTlv => sv2_result::InvalidTlv,
            CodecError::UnknownMessage { .. } => sv2_result::UnknownMessage,
            CodecError::FrameTooLarge { .. } => sv2_result::FrameTooLarge,
            CodecError::BufferTooSmall { .. } => sv2_result::InsufficientSize,
            _ => sv2_result::Internal,
        }
    }
}

impl From<NoiseError> for sv2_result {
    fn from(e: NoiseError) -> Self {
        match e {
            NoiseError::HandshakeDecryptFailed => sv2_result::HandshakeFailed,
            NoiseError::InvalidCertificateSignature => sv2_result::InvalidCertificateSignature,
            NoiseError::CertificateNotYetValid { .. } => sv2_result::CertificateNotYetValid,
            NoiseError::CertificateExpired { .. } => sv2_result::CertificateExpired,
            NoiseError::DecryptFailed => sv2_result::DecryptFailed,
            NoiseError::NonceExhausted => sv2_result::NonceExhausted,
            NoiseError::InvalidKey => sv2_result::InvalidKey,
            NoiseError::InvalidAuthorityKeyText => sv2_result::InvalidAuthorityKey,
            NoiseError::Entropy => sv2_result::Entropy,
            NoiseError::NotEstablished => sv2_result::NotEstablished,
            NoiseError::SessionFailed => sv2_result::SessionFailed,
            NoiseError::Codec(c) => c.into(),
            _ => sv2_result::Internal,
        }
    }
}

impl From<ShareError> for sv2_result {
    fn from(e: ShareError) -> Self {
        match e {
            ShareError::InvalidChannelId => sv2_result::InvalidChannelId,
            ShareError::InvalidJobId => sv2_result::InvalidJobId,
            ShareError::StaleShare => sv2_result::StaleShare,
            ShareError::DifficultyTooLow => sv2_result::DifficultyTooLow,
            ShareError::DuplicateShare => sv2_result::DuplicateShare,
            ShareError::BadExtranonceSize => sv2_result::BadExtranonceSize,
            ShareError::InvalidNonRollableVersionBit => sv2_result::InvalidNonRollableVersionBit,
            ShareError::VersionRollingNotAllowed => sv2_result::VersionRollingNotAllowed,
            ShareError::NtimeOutOfRange => sv2_result::NtimeOutOfRange,
            _ => sv2_result::Internal,
        }
    }
}

impl From<ChannelError> for sv2_result {
    fn from(e: ChannelError) -> Self {
        match e {
            ChannelError::InvalidCoinbaseOutputs => sv2_result::InvalidCoinbaseOutputs,
            ChannelError::ScriptSigTooLong => sv2_result::ScriptSigTooLong,
            ChannelError::ExtranonceLayout => sv2_result::ExtranonceLayout,
            ChannelError::ExtranonceExhausted => sv2_result::ExtranonceExhausted,
            ChannelError::ExtranonceMismatch => sv2_result::ExtranonceMismatch,
            ChannelError::UnknownJob => sv2_result::UnknownJob,
            ChannelError::NoPrevHash => sv2_result::NoPrevHash,
            ChannelError::JobTooLarge => sv2_result::JobTooLarge,
            ChannelError::InvalidHashrate => sv2_result::InvalidNominalHashrate,
            ChannelError::UnknownChannel => sv2_result::InvalidChannelId,
            _ => sv2_result::Internal,
        }
    }
}

impl sv2_result {
    /// The error code the spec's replies (SubmitShares.Error, UpdateChannel.Error) carry for
    /// this result, if it has one: the text the protocol core gives its share and channel
    /// errors, made NUL-terminated once.
    pub(crate) fn error_code(self) -> Option<&'static CStr> {
        static CODES: OnceLock<Vec<(sv2_result, CString)>> = OnceLock::new();
        let codes = CODES.get_or_init(|| {
            let shares = ShareError::ALL.iter().map(|e| (sv2_result::from(*e), e.code().to_string()));
            // The Display of this channel error is the spec's code.
            let channels = [ChannelError::InvalidHashrate].into_iter().map(|e| (sv2_result::from(e), e.to_string()));
            shares.chain(channels).filter_map(|(r, code)| Some((r, CString::new(code).ok()?))).collect()
        });
        codes.iter().find(|(r, _)| *r == self).map(|(_, c)| c.as_c_str())
    }

    fn message(self) -> &'static CStr {
        match self {
            sv2_result::Ok => c"ok",
            sv2_result::NullParameter => c"a required pointer argument is NULL",
            sv2_result::Panic => c"internal panic caught at the C boundary",
            sv2_result::InsufficientSize => c"output buffer too small",
            sv2_result::InvalidArgument => c"invalid argument",
            sv2_result::NeedMoreData => c"need more data",
            sv2_result::NotFound => c"not found",
            sv2_result::UnexpectedEnd => c"input ends inside a value",
            sv2_result::TooLong => c"length exceeds the type's maximum",
            sv2_result::InvalidOption => c"OPTION count is not 0 or 1",
            sv2_result::OutOfRange => c"value out of range",
            sv2_result::TrailingBytes => c"unexpected trailing bytes",
            sv2_result::InvalidTlv => c"trailing bytes are not valid TLV records",
            sv2_result::UnknownMessage => c"unknown message type",
            sv2_result::FrameTooLarge => c"frame exceeds the payload limit",
            sv2_result::HandshakeFailed => c"handshake message failed authentication",
            sv2_result::InvalidCertificateSignature => c"certificate not signed by the pinned authority",
            sv2_result::CertificateNotYetValid => c"certificate not valid yet",
            sv2_result::CertificateExpired => c"certificate expired",
            sv2_result::DecryptFailed => c"transport message failed authentication",
            sv2_result::NonceExhausted => c"transport nonces exhausted",
            sv2_result::InvalidKey => c"invalid secp256k1 key",
            sv2_result::InvalidAuthorityKey => c"invalid base58check authority key",
            sv2_result::Entropy => c"operating system random generator failed",
            sv2_result::NotEstablished => c"handshake not complete",
            sv2_result::SessionFailed => c"session already failed",
            sv2_result::Internal => c"internal error",
            sv2_result::InvalidChannelId => c"no such channel",
            sv2_result::InvalidJobId => c"share for an unknown or not yet active job",
            sv2_result::StaleShare => c"share for a job made stale by a new previous hash",
            sv2_result::DifficultyTooLow => c"share hash above the job's target",
            sv2_result::DuplicateShare => c"share already accepted",
            sv2_result::BadExtranonceSize => c"share extranonce not the channel's rollable size",
            sv2_result::InvalidNonRollableVersionBit => c"share changes a version bit outside the rollable mask",
            sv2_result::VersionRollingNotAllowed => c"share changes the version of a job that forbids rolling",
            sv2_result::NtimeOutOfRange => c"share nTime below the minimum or over two hours ahead",
            sv2_result::InvalidNominalHashrate => c"nominal hashrate negative, infinite or NaN",
            sv2_result::InvalidCoinbaseOutputs => c"invalid serialized coinbase outputs",
            sv2_result::ScriptSigTooLong => c"coinbase scriptSig would exceed 100 bytes",
            sv2_result::ExtranonceLayout => c"extranonce sizes do not fit together",
            sv2_result::ExtranonceExhausted => c"extranonce prefixes exhausted",
            sv2_result::ExtranonceMismatch => c"job extranonce length differs from the channel's",
            sv2_result::UnknownJob => c"unknown job or template id",
            sv2_result::NoPrevHash => c"no previous hash set yet",
            sv2_result::JobTooLarge => c"coinbase part or merkle path too large for a job message",
            sv2_result::SetupRefused => c"SetupConnection refused",
            sv2_result::NotSetUp => c"SetupConnection has not succeeded",
            sv2_result::UnexpectedMessage => c"message out of place",
            sv2_result::InvalidShareFlood => c"too many invalid shares within a minute",
            sv2_result::TooManyShares => c"too many shares on one tip",
            sv2_result::ExtendedChannelsRequired => c"the server requires extended channels",
            sv2_result::TooManyRequests => c"too many requests unanswered",
            sv2_result::TokenRequestFlood => c"too many token requests within a minute",
            sv2_result::DuplicateRequestId => c"request id already in flight",
            sv2_result::TokenStoreFull => c"token store full",
            sv2_result::TokenCollision => c"entropy repeats a live token",
            sv2_result::BadTransactionPosition => c"missing transaction position outside the declaration",
            sv2_result::NoToken => c"no token to declare with",
            sv2_result::UnknownDeclaration => c"no such declaration",
            sv2_result::TransactionsMismatch => c"transactions are not the template's",
            sv2_result::CustomJobRefused => c"custom job refused",
        }
    }
}

/// A static, NUL-terminated English description of `result` (never NULL; unknown numbers
/// give "unknown result").
///
/// @param result  any number, an sv2_result or not
/// @return a static string, never NULL
#[no_mangle]
pub extern "C" fn sv2_result_message(result: i32) -> *const c_char {
    const UNKNOWN: &CStr = c"unknown result";
    // Taken as an int so that a number from a newer library version cannot be an invalid enum.
    let text = std::panic::catch_unwind(|| ALL.iter().find(|r| **r as i32 == result).map(|r| r.message()));
    text.ok().flatten().unwrap_or(UNKNOWN).as_ptr()
}

/// The spec's error code for `result` as a static, NUL-terminated string — the text a
/// SubmitShares.Error or UpdateChannel.Error carries, e.g. "stale-share" for
/// SV2_RESULT_STALE_SHARE — or NULL for results that have none.
///
/// @param result  any number, an sv2_result or not
/// @return a static string, or NULL
#[no_mangle]
pub extern "C" fn sv2_result_error_code(result: i32) -> *const c_char {
    let code = std::panic::catch_unwind(|| ALL.iter().find(|r| **r as i32 == result).and_then(|r| r.error_code()));
    code.ok().flatten().map_or(std::ptr::null(), CStr::as_ptr)
}

const ALL: [sv2_result; 61] = [
    sv2_result::Ok,
    sv2_result::NullParameter,
    sv2_result::Panic,
    sv2_result::InsufficientSize,
    sv2_result::InvalidArgument,
    sv2_result::NeedMoreData,
    sv2_result::NotFound,
    sv2_result::UnexpectedEnd,
    sv2_result::TooLong,
    sv2_result::InvalidOption,
    sv2_result::OutOfRange,
    sv2_result::TrailingBytes,
    sv2_result::InvalidTlv,
    sv2_result::UnknownMessage,
    sv2_result::FrameTooLarge,
    sv2_result::HandshakeFailed,
    sv2_result::InvalidCertificateSignature,
    sv2_result::CertificateNotYetValid,
    sv2_result::CertificateExpired,
    sv2_result::DecryptFailed,
    sv2_result::NonceExhausted,
    sv2_result::InvalidKey,
    sv2_result::InvalidAuthorityKey,
    sv2_result::Entropy,
    sv2_result::NotEstablished,
    sv2_result::SessionFailed,
    sv2_result::Internal,
    sv2_result::InvalidChannelId,
    sv2_result::InvalidJobId,
    sv2_result::StaleShare,
    sv2_result::DifficultyTooLow,
    sv2_result::DuplicateShare,
    sv2_result::BadExtranonceSize,
    sv2_result::InvalidNonRollableVersionBit,
    sv2_result::VersionRollingNotAllowed,
    sv2_result::NtimeOutOfRange,
    sv2_result::InvalidNominalHashrate,
    sv2_result::InvalidCoinbaseOutputs,
    sv2_result::ScriptSigTooLong,
    sv2_result::ExtranonceLayout,
    sv2_result::ExtranonceExhausted,
    sv2_result::ExtranonceMismatch,
    sv2_result::UnknownJob,
    sv2_result::NoPrevHash,
    sv2_result::JobTooLarge,
    sv2_result::SetupRefused,
    sv2_result::NotSetUp,
    sv2_result::UnexpectedMessage,
    sv2_result::InvalidShareFlood,
    sv2_result::TooManyShares,
    sv2_result::ExtendedChannelsRequired,
    sv2_result::TooManyRequests,
    sv2_result::TokenRequestFlood,
    sv2_result::DuplicateRequestId,
    sv2_result::TokenStoreFull,
    sv2_result::TokenCollision,
    sv2_result::BadTransactionPosition,
    sv2_result::NoToken,
    sv2_result::UnknownDeclaration,
    sv2_result::TransactionsMismatch,
    sv2_result::CustomJobRefused,
];
