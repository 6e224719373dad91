// sv2/error.hpp — sv2::Error, what every failing call of the C++ API throws, and
// sv2::ErrorCode, the library's result numbers.
//
// The numbers are the C ABI's sv2_result (include/sv2.h): each enumerator below is defined as
// its SV2_RESULT_* constant, so the C and C++ APIs cannot disagree on one.
#ifndef SV2_ERROR_HPP
#define SV2_ERROR_HPP

#include <cstdint>
#include <stdexcept>
#include <string>

#include <sv2.h>

namespace sv2 {

/// Why a call failed: the number of the C ABI's sv2_result. The codes the C ABI alone
/// returns (NullParameter, InsufficientSize, NeedMoreData, NotFound) are listed so that every
/// number has its name; the C++ API never throws them.
enum class ErrorCode : std::int32_t {
    /// A required pointer argument was NULL.
    NullParameter = SV2_RESULT_NULL_PARAMETER,
    /// A bug inside libsv2 was caught before it reached the caller.
    Panic = SV2_RESULT_PANIC,
    /// The caller's output buffer is too small; nothing was written.
    InsufficientSize = SV2_RESULT_INSUFFICIENT_SIZE,
    /// An argument is out of range (a string longer than its type allows, an unknown id).
    InvalidArgument = SV2_RESULT_INVALID_ARGUMENT,
    /// No whole frame yet: feed more bytes. Not an error.
    NeedMoreData = SV2_RESULT_NEED_MORE_DATA,
    /// The item looked for is not there.
    NotFound = SV2_RESULT_NOT_FOUND,
    /// Input ended inside a value.
    UnexpectedEnd = SV2_RESULT_UNEXPECTED_END,
    /// A length or count exceeds its type's maximum.
    TooLong = SV2_RESULT_TOO_LONG,
    /// An OPTION count other than 0 or 1.
    InvalidOption = SV2_RESULT_INVALID_OPTION,
    /// A value outside its type's range.
    OutOfRange = SV2_RESULT_OUT_OF_RANGE,
    /// Bytes left after a value that must fill its input.
    TrailingBytes = SV2_RESULT_TRAILING_BYTES,
    /// Bytes after a message's fields that are not whole TLV records.
    InvalidTlv = SV2_RESULT_INVALID_TLV,
    /// No message has this (extension_type, msg_type).
    UnknownMessage = SV2_RESULT_UNKNOWN_MESSAGE,
    /// A frame announces a payload over the configured limit.
    FrameTooLarge = SV2_RESULT_FRAME_TOO_LARGE,
    /// A handshake message failed authentication.
    HandshakeFailed = SV2_RESULT_HANDSHAKE_FAILED,
    /// The server certificate is not signed by the pinned authority.
    InvalidCertificateSignature = SV2_RESULT_INVALID_CERTIFICATE_SIGNATURE,
    /// The server certificate is not valid yet.
    CertificateNotYetValid = SV2_RESULT_CERTIFICATE_NOT_YET_VALID,
    /// The server certificate has expired.
    CertificateExpired = SV2_RESULT_CERTIFICATE_EXPIRED,
    /// A transport frame failed authentication.
    DecryptFailed = SV2_RESULT_DECRYPT_FAILED,
    /// The transport nonces are used up.
    NonceExhausted = SV2_RESULT_NONCE_EXHAUSTED,
    /// Bytes that are not a valid secp256k1 key.
    InvalidKey = SV2_RESULT_INVALID_KEY,
    /// Text that is not a base58check authority key.
    InvalidAuthorityKey = SV2_RESULT_INVALID_AUTHORITY_KEY,
    /// The operating system's random generator failed.
    Entropy = SV2_RESULT_ENTROPY,
    /// The handshake has not completed.
    NotEstablished = SV2_RESULT_NOT_ESTABLISHED,
    /// An earlier error ended this session.
    SessionFailed = SV2_RESULT_SESSION_FAILED,
    /// An invariant inside libsv2 was broken.
    Internal = SV2_RESULT_INTERNAL,
    /// No such channel here (spec error code `invalid-channel-id`).
    InvalidChannelId = SV2_RESULT_INVALID_CHANNEL_ID,
    /// A share's job id is unknown, or a future job not activated yet (`invalid-job-id`).
    InvalidJobId = SV2_RESULT_INVALID_JOB_ID,
    /// A share for a job made stale by a newer previous hash (`stale-share`).
    StaleShare = SV2_RESULT_STALE_SHARE,
    /// A share whose hash does not meet the job's target (`difficulty-too-low`).
    DifficultyTooLow = SV2_RESULT_DIFFICULTY_TOO_LOW,
    /// A share accepted before (`duplicate-share`).
    DuplicateShare = SV2_RESULT_DUPLICATE_SHARE,
    /// A share whose extranonce is not the channel's rollable size (`bad-extranonce-size`).
    BadExtranonceSize = SV2_RESULT_BAD_EXTRANONCE_SIZE,
    /// A share that changes a version bit outside the rollable mask
    /// (`invalid-non-rollable-version-bit`).
    InvalidNonRollableVersionBit = SV2_RESULT_INVALID_NON_ROLLABLE_VERSION_BIT,
    /// A share that changes the version of a job that forbids rolling
    /// (`version-rolling-not-allowed`).
    VersionRollingNotAllowed = SV2_RESULT_VERSION_ROLLING_NOT_ALLOWED,
    /// A share's nTime is below the job's minimum or over two hours ahead (`invalid-timestamp`).
    NtimeOutOfRange = SV2_RESULT_NTIME_OUT_OF_RANGE,
    /// A nominal hashrate that is negative, infinite or NaN (`invalid-nominal-hashrate`).
    InvalidNominalHashrate = SV2_RESULT_INVALID_NOMINAL_HASHRATE,
    /// Template or pool outputs that are not valid serialized outputs.
    InvalidCoinbaseOutputs = SV2_RESULT_INVALID_COINBASE_OUTPUTS,
    /// The coinbase scriptSig would exceed 100 bytes.
    ScriptSigTooLong = SV2_RESULT_SCRIPT_SIG_TOO_LONG,
    /// Extranonce sizes that do not fit together.
    ExtranonceLayout = SV2_RESULT_EXTRANONCE_LAYOUT,
    /// Every extranonce prefix has been handed out.
    ExtranonceExhausted = SV2_RESULT_EXTRANONCE_EXHAUSTED,
    /// A job whose extranonce hole differs from the channel's full extranonce length.
    ExtranonceMismatch = SV2_RESULT_EXTRANONCE_MISMATCH,
    /// A job or template id that is not known (or not a future job) here.
    UnknownJob = SV2_RESULT_UNKNOWN_JOB,
    /// No previous hash yet: no job can be active.
    NoPrevHash = SV2_RESULT_NO_PREV_HASH,
    /// A coinbase part over 64 KiB or a merkle path over 255 levels.
    JobTooLarge = SV2_RESULT_JOB_TOO_LARGE,
    /// The server refused SetupConnection (a ServerEndpoint has queued the SetupConnection.Error:
    /// send it, then close the connection).
    SetupRefused = SV2_RESULT_SETUP_REFUSED,
    /// A message or call that needs SetupConnection to have succeeded first.
    NotSetUp = SV2_RESULT_NOT_SET_UP,
    /// A message out of place: a second SetupConnection, an answer to nothing asked, or a message
    /// only the other side sends.
    UnexpectedMessage = SV2_RESULT_UNEXPECTED_MESSAGE,
    /// More invalid shares within a minute than the server allows (and more than valid ones).
    InvalidShareFlood = SV2_RESULT_INVALID_SHARE_FLOOD,
    /// A channel reached the limit of shares accepted on one tip.
    TooManyShares = SV2_RESULT_TOO_MANY_SHARES,
    /// The server requires extended channels (SetupConnection.Success flags).
    ExtendedChannelsRequired = SV2_RESULT_EXTENDED_CHANNELS_REQUIRED,
    /// Too many requests unanswered (channel opens).
    TooManyRequests = SV2_RESULT_TOO_MANY_REQUESTS,
    /// More token requests within a minute than a Job Declaration server allows.
    TokenRequestFlood = SV2_RESULT_TOKEN_REQUEST_FLOOD,
    /// A DeclareMiningJob reusing the request id of one in flight.
    DuplicateRequestId = SV2_RESULT_DUPLICATE_REQUEST_ID,
    /// The token store holds as many live tokens as it may.
    TokenStoreFull = SV2_RESULT_TOKEN_STORE_FULL,
    /// The entropy given repeats a live token.
    TokenCollision = SV2_RESULT_TOKEN_COLLISION,
    /// ProvideMissingTransactions names a position outside the declaration.
    BadTransactionPosition = SV2_RESULT_BAD_TRANSACTION_POSITION,
    /// No token to declare a job with: request one first.
    NoToken = SV2_RESULT_NO_TOKEN,
    /// No declaration with this id is kept (never made, or forgotten).
    UnknownDeclaration = SV2_RESULT_UNKNOWN_DECLARATION,
    /// The transactions are not the template's (its merkle path differs), or one does not parse.
    TransactionsMismatch = SV2_RESULT_TRANSACTIONS_MISMATCH,
    /// A SetCustomMiningJob refused by the pool's checks (the error code says why).
    CustomJobRefused = SV2_RESULT_CUSTOM_JOB_REFUSED,
};

/// What every failing call throws: code() is the result number, what() a description for
/// people (its wording may change; compare codes, not text).
class Error : public std::runtime_error {
  public:
    /// An error with `code` and a description.
    Error(ErrorCode code, const std::string &what) : std::runtime_error(what), code_(code) {}
    Error(const Error &) = default;
    Error &operator=(const Error &) = default;
    ~Error() override;

    /// The result number.
    ErrorCode code() const noexcept { return code_; }

  private:
    ErrorCode code_;
};

} // namespace sv2

#endif // SV2_ERROR_HPP
