// sv2/jd.hpp — Job Declaration in the C++ API of libsv2 (included by sv2/sv2.hpp): the pool's
// Job Declarator Server (JdServer, one per JD connection, tokens in a TokenStore shared by all of
// them and checked by the pool's SetCustomMiningJob handling) and the farm's Job Declarator
// Client (JdClient). Standard C++17 only; the classes are RAII and movable, every failure
// throws sv2::Error. Messages queue in each object's output of plaintext frames, as the Mining
// endpoints' do (take_output(), take_messages(), send_output()). docs/JOB_DECLARATION.md
// describes the flow and the error codes.
#ifndef SV2_JD_HPP
#define SV2_JD_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sv2/error.hpp"
#include "sv2/messages.hpp"

namespace sv2 {

class Session;
struct Frame;

/// 16 random bytes: the token a call may hand out.
using Entropy16 = std::array<std::uint8_t, 16>;

/// What a JdServer offers and requires on each connection. The defaults are the library's.
struct JdServerOptions {
    /// The scriptPubKey every custom coinbase must pay (1 to 10 000 bytes).
    std::vector<std::uint8_t> payout_script{};
    /// Scripts every custom coinbase must also have an output for.
    std::vector<std::vector<std::uint8_t>> required_scripts{};
    /// The payout script's share of the coinbase's value, in millionths (at most 1 000 000).
    std::uint32_t min_payout_ppm = 1'000'000;
    /// Accept Coinbase-only clients (DECLARE_TX_DATA clear).
    bool coinbase_only = true;
    /// Accept Full-Template clients (DECLARE_TX_DATA set).
    bool full_template = true;
    /// A token's lifetime, in the caller's seconds.
    std::uint64_t token_lifetime_secs = 600;
    /// Unspent allocated tokens one connection may hold (a further one revokes the oldest).
    std::size_t max_tokens_per_connection = 16;
    /// Token requests one connection may make within a minute (one more: TokenRequestFlood).
    std::uint32_t max_token_requests_per_minute = 120;
    /// Declared jobs one connection keeps valid (a further one revokes the oldest).
    std::size_t max_declared_jobs = 8;
    /// Declarations one connection may have waiting for transactions or a verdict.
    std::size_t max_pending_declarations = 4;
    /// Unknown transactions one declaration may have.
    std::size_t max_missing_txs = 16'384;
    /// Bytes those may add up to.
    std::size_t max_missing_bytes = 4'000'000;
    static constexpr std::size_t field_count = 12; ///< How many fields (see "Records").
};

/// What the pool's check of a SetCustomMiningJob found.
struct CustomJobCheck {
    /// The job was accepted and its token spent: add it to the channel, answer Success.
    bool accepted = false;
    /// Accepted: the user the token was allocated for.
    std::string user;
    /// Refused: the SetCustomMiningJob.Error code to send (the token stays unspent).
    std::string code;
};

/// Every live token and declared job of one pool, shared by all its JdServers. A copy is
/// another handle on the same tokens: one object is used by one thread at a time, as every
/// object of this API, and a copy per thread shares the tokens safely.
class TokenStore {
  public:
    /// A store holding at most `max_tokens` live tokens. Throws sv2::Error (InvalidArgument
    /// for 0).
    explicit TokenStore(std::size_t max_tokens);
    /// Another handle on the same tokens.
    TokenStore(const TokenStore &other);
    TokenStore &operator=(const TokenStore &other);
    TokenStore(TokenStore &&) noexcept = default;
    TokenStore &operator=(TokenStore &&) noexcept = default;

    /// Live tokens.
    std::size_t size() const noexcept;

    /// The pool's check of a SetCustomMiningJob from a Mining connection that set
    /// REQUIRES_WORK_SELECTION: its token and declared job here, the pool outputs of `options`,
    /// and the pool's tip (its template provider's SetNewPrevHash); `extranonce_len` is the
    /// channel's full extranonce length, `now` the clock given to the JdServers, `now_unix`
    /// unix seconds. Throws sv2::Error (InvalidArgument for bad options).
    CustomJobCheck check_custom_job(const JdServerOptions &options, const SetCustomMiningJob &job,
                                    const SetNewPrevHashTdp &tip, std::size_t extranonce_len, bool version_rolling,
                                    std::uint64_t now, std::uint32_t now_unix);

  private:
    struct Free {
        void operator()(sv2_token_store *s) const noexcept;
    };
    std::unique_ptr<sv2_token_store, Free> impl_;
    friend class JdServer;
    friend class ServerEndpoint;
};

/// The pool's mempool: the transaction with this wtxid (internal byte order), serialized with
/// witness, if it has it. A wrong answer counts as unknown (the client is asked); an exception
/// too.
using Mempool = std::function<std::optional<std::vector<std::uint8_t>>(const Bytes32 &wtxid)>;

/// What a message or verdict asks of a JdServer's caller. `kind` says which fields mean
/// something.
struct JdServerEvent {
    /// What happened.
    enum class Kind : std::uint8_t {
        Handled,                      ///< Answered in the output, or nothing to do.
        SetUp,                        ///< SetupConnection accepted (`full_template`).
        TokenAllocated,               ///< Token request `request_id` answered.
        MissingTransactionsRequested, ///< `count` transactions of declaration `request_id` asked for.
        ValidateJob,                  ///< Check the block with your node, then verdict(`request_id`, ...).
        JobDeclared,                  ///< Declaration `request_id` accepted.
        JobRefused,                   ///< Declaration `request_id` refused with the code in `text`.
        BlockFound,                   ///< A PushSolution made `block`: submit it.
        SolutionIgnored,              ///< A PushSolution that makes no block; why in `text`.
    };
    Kind kind = Kind::Handled;
    std::uint32_t request_id = 0;
    /// SetUp: the client declares transactions.
    bool full_template = false;
    /// MissingTransactionsRequested: how many asked for.
    std::size_t count = 0;
    /// JobRefused: the code sent; SolutionIgnored: why.
    std::string text;
    /// ValidateJob: the declared header version, the token's user, the coinbase with an all-zero
    /// extranonce, the block's merkle root with it, and the other transactions in block order.
    std::uint32_t version = 0;
    std::string user;
    std::vector<std::uint8_t> coinbase;
    Bytes32 merkle_root{};
    std::vector<std::vector<std::uint8_t>> transactions;
    /// BlockFound: the serialized block and its hash.
    std::vector<std::uint8_t> block;
    Bytes32 block_hash{};
};

/// One Job Declaration connection as the pool serves it: SetupConnection, tokens, declarations
/// checked against the pool's outputs and mempool, missing transactions asked for, the caller's
/// verdict, PushSolution into a block. An sv2::Error from handle() or verdict() means the
/// connection must close: send what is queued, destroy the server (which revokes its unspent
/// tokens), close.
class JdServer {
  public:
    /// A connection before its SetupConnection, allocating from `store`. Throws sv2::Error
    /// (InvalidArgument for options out of range).
    JdServer(const JdServerOptions &options, TokenStore &store, Mempool mempool = {});

    /// Handles a message from the client at `now` (the caller's seconds). A token handed out is
    /// `entropy`, or 16 bytes from the operating system. Throws sv2::Error (SetupRefused,
    /// NotSetUp, UnexpectedMessage, TokenRequestFlood, DuplicateRequestId, TokenStoreFull,
    /// TokenCollision, Entropy).
    JdServerEvent handle(const Message &m, std::uint64_t now, const std::optional<Entropy16> &entropy = std::nullopt);
    /// As above for a received frame (decoded here). Throws sv2::Error (also a decode error).
    JdServerEvent handle(const Frame &f, std::uint64_t now, const std::optional<Entropy16> &entropy = std::nullopt);
    /// The verdict on declaration `request_id` (a ValidateJob event): no `refusal` accepts it,
    /// a code refuses it (printable ASCII, e.g. "bad-txns-inputs-missingorspent"; an empty or
    /// unprintable one is sent as "invalid-job"). Throws
    /// sv2::Error (TooLong, TokenStoreFull, TokenCollision, Entropy).
    JdServerEvent verdict(std::uint32_t request_id, std::optional<std::string_view> refusal, std::uint64_t now,
                          const std::optional<Entropy16> &entropy = std::nullopt);
    /// Declarations waiting for transactions or a verdict.
    std::size_t pending_declarations() const noexcept;

    /// The queued output as plaintext frames (emptied).
    std::vector<std::uint8_t> take_output();
    /// The queued output as messages (emptied).
    std::vector<Message> take_messages();
    /// Moves the queued output into `session`. Throws sv2::Error (NotEstablished).
    void send_output(Session &session);

  private:
    struct State;
    struct Free {
        void operator()(State *s) const noexcept;
    };
    JdServerEvent handle_frame(const sv2_frame &frame, std::uint64_t now, const std::optional<Entropy16> &entropy);
    /// The C callback over `mempool`.
    static sv2_bool mempool_get(void *state, const std::uint8_t *wtxid, sv2_bytes *tx) noexcept;
    /// The library's handle (null once moved from).
    sv2_jd_server *jds() const noexcept;

    std::unique_ptr<State, Free> state_;
};

/// How a JdClient declares, and to whom (text as UTF-8, at most 255 bytes each).
struct JdClientOptions {
    /// Full-Template (declare transactions, DECLARE_TX_DATA); false: Coinbase-only.
    bool full_template = true;
    /// The upstream extended channel's full extranonce length (1–32).
    std::uint8_t extranonce_len = 0;
    /// The user tokens are asked for.
    std::string user_identifier{};
    /// Pushed in the coinbase scriptSig after the template's prefix (at most 32 bytes).
    std::vector<std::uint8_t> tag{};
    /// The host and port the client dialled.
    std::string endpoint_host{};
    std::uint16_t endpoint_port = 0;
    /// Vendor and version.
    std::string vendor{};
    /// Tokens asked for and held at once.
    std::uint32_t max_tokens = 4;
    /// Declarations kept for answers and PushSolution.
    std::uint32_t max_declarations = 4;
    static constexpr std::size_t field_count = 9; ///< How many fields (see "Records").
};

/// What a message from the JDS changed on a JdClient. `kind` says which fields mean something.
struct JdClientEvent {
    /// What changed.
    enum class Kind : std::uint8_t {
        Other,                   ///< Something this version has no kind for: ignore it.
        SetUp,                   ///< SetupConnectionSuccess: tokens may be requested.
        TokenReady,              ///< Token request `request_id` answered: tell the TP `constraints`.
        MissingTransactionsSent, ///< `count` transactions of declaration `request_id` sent.
        JobDeclared,             ///< Declaration `request_id` (template `template_id`) accepted: custom_job().
        JobRefused,              ///< Declaration `request_id` refused: `code`, `details`.
        Ignored,                 ///< About a declaration no longer kept; why in `details`.
    };
    Kind kind = Kind::Other;
    std::uint32_t request_id = 0;
    CoinbaseOutputConstraints constraints{};
    std::size_t count = 0;
    std::uint64_t template_id = 0;
    std::string code;
    std::string details;
};

/// What JdClient::declare did.
struct Declaration {
    /// The declaration's id (push_solution names it).
    std::uint32_t request_id = 0;
    /// Coinbase-only: the SetCustomMiningJob is ready now (custom_job()); Full-Template: false,
    /// the answer comes as a JobDeclared or JobRefused event.
    bool ready = false;
};

/// The farm's connection to the pool's JDS: tokens, jobs declared from its own templates,
/// missing transactions answered, the SetCustomMiningJob for the pool, PushSolution. An
/// sv2::Error from handle() means the connection cannot go on.
class JdClient {
  public:
    /// A client before its SetupConnection. Throws sv2::Error (InvalidArgument, TooLong).
    explicit JdClient(const JdClientOptions &options);

    /// Queues SetupConnection.
    void start();
    /// Queues AllocateMiningJobToken; returns its request id. Throws sv2::Error (TooManyRequests).
    std::uint32_t request_token();
    /// Unspent tokens held.
    std::size_t tokens() const noexcept;
    /// Builds a job from `tmpl` on `tip` with the oldest token; Full-Template: queues
    /// DeclareMiningJob with `transactions` (the template's, block order). Throws sv2::Error
    /// (NoToken, TransactionsMismatch, a coinbase error).
    Declaration declare(const NewTemplate &tmpl, const SetNewPrevHashTdp &tip,
                        const std::vector<std::vector<std::uint8_t>> &transactions);
    /// Handles a message from the JDS. Throws sv2::Error (SetupRefused, NotSetUp,
    /// UnexpectedMessage, InvalidCoinbaseOutputs, BadTransactionPosition).
    JdClientEvent handle(const Message &m);
    /// As above for a received frame (decoded here). Throws sv2::Error (also a decode error).
    JdClientEvent handle(const Frame &f);
    /// The SetCustomMiningJob of the last job declared or built, for extended channel
    /// `channel_id` under `request_id`; nullopt before any.
    std::optional<SetCustomMiningJob> custom_job(std::uint32_t channel_id, std::uint32_t request_id) const;
    /// A block was found on declaration `declaration_id` with the full `extranonce`: queues
    /// PushSolution (Full-Template) and returns the full coinbase for the template provider's
    /// SubmitSolution. Throws sv2::Error (UnknownDeclaration, ExtranonceMismatch).
    std::vector<std::uint8_t> push_solution(std::uint32_t declaration_id, const std::vector<std::uint8_t> &extranonce,
                                            std::uint32_t nonce, std::uint32_t ntime, std::uint32_t version);

    /// The queued output as plaintext frames (emptied).
    std::vector<std::uint8_t> take_output();
    /// The queued output as messages (emptied).
    std::vector<Message> take_messages();
    /// Moves the queued output into `session`. Throws sv2::Error (NotEstablished).
    void send_output(Session &session);

  private:
    struct Free {
        void operator()(sv2_jd_client *c) const noexcept;
    };
    JdClientEvent handle_frame(const sv2_frame &frame);

    std::unique_ptr<sv2_jd_client, Free> impl_;
};

} // namespace sv2

#endif // SV2_JD_HPP
