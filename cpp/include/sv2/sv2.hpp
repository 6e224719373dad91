// sv2/sv2.hpp — the C++ API of libsv2 (Stratum V2).
//
// Everything is in namespace sv2:
//   - every message of every sub-protocol as a struct (SetupConnection, NewTemplate, ...;
//     defined in sv2/bridge.rs.h), and sv2::Message, a std::variant of all of them;
//   - decode_message / encode_frame between messages and wire bytes;
//   - Session (Noise NX handshake, then encrypted frames; or plaintext), FrameDecoder
//     (plaintext frames from a byte stream) and ClientChannel (work and shares on a mining
//     channel), all RAII and movable;
//   - the pool side: JobFactory (templates in, jobs out), ExtranonceAllocator, ServerChannel
//     and GroupChannel (jobs out, shares and UpdateChannel in, vardiff), also RAII and movable;
//   - keys, certificates and hashing helpers.
//
// Bytes go in as sv2::ByteSpan (std::span<const std::uint8_t> in C++20; a small span-like
// class with the same conversions in C++17) and come out as std::vector<std::uint8_t>,
// std::array or std::string. Every failure throws sv2::Error, whose code() is stable (the
// numbers of the C ABI's sv2_result).
//
// Message structs hold rust::String and rust::Vec fields (cxx's types, see sv2/rust/cxx.h):
// assign a std::string or a string literal to a rust::String, sv2::to_rust_vec(bytes) or an
// initializer list to a rust::Vec, and value-initialize structs (`sv2::NewTemplate t{};`) so
// that their byte arrays start zeroed. None of these calls are thread-safe on one object;
// separate objects may be used from separate threads.
#ifndef SV2_SV2_HPP
#define SV2_SV2_HPP

#include <array>
#include <cstddef>
#include <iterator>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>
#if __cplusplus >= 202002L
#include <span>
#endif

// cxx's runtime header (rust::String, rust::Vec, ...), then the generated bridge.
#include "rust/cxx.h"
#include "sv2/bridge.rs.h"

namespace sv2 {

/// 32 bytes: keys, hashes, targets (little-endian 256-bit integers).
using Bytes32 = std::array<std::uint8_t, 32>;

/// Largest payload a frame can carry (U24).
inline constexpr std::size_t max_payload_len = 0xFFFFFF;

#if __cplusplus >= 202002L
/// Bytes passed in: a view the callee reads during the call and does not keep.
using ByteSpan = std::span<const std::uint8_t>;
#else
/// Bytes passed in: a view the callee reads during the call and does not keep. Converts from
/// (pointer, size), from arrays and from any contiguous container of std::uint8_t.
class ByteSpan {
public:
    constexpr ByteSpan() noexcept = default;
    constexpr ByteSpan(const std::uint8_t *data, std::size_t size) noexcept : data_(data), size_(size) {}
    template <std::size_t N>
    constexpr ByteSpan(const std::uint8_t (&a)[N]) noexcept : data_(a), size_(N) {}
    template <class C, class = std::enable_if_t<std::is_convertible_v<
                           decltype(std::declval<const C &>().data()), const std::uint8_t *>>>
    constexpr ByteSpan(const C &c) noexcept : data_(c.data()), size_(c.size()) {}

    constexpr const std::uint8_t *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr const std::uint8_t *begin() const noexcept { return data_; }
    constexpr const std::uint8_t *end() const noexcept { return data_ + size_; }
    constexpr const std::uint8_t &operator[](std::size_t i) const noexcept { return data_[i]; }

private:
    const std::uint8_t *data_ = nullptr;
    std::size_t size_ = 0;
};
#endif

/// What every failing call throws. what() says what happened; code() says which kind of
/// failure it was, with the stable numbers of the C ABI.
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string &what) : std::runtime_error(what), code_(code) {}
    /// The kind of failure.
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

/// Any message. The alternatives are in the order of sv2::MessageType, so that
/// `static_cast<MessageType>(m.index())` names the one held.
using Message = std::variant<
    SetupConnection, SetupConnectionSuccess, SetupConnectionError, ChannelEndpointChanged, Reconnect,
    OpenStandardMiningChannel, OpenStandardMiningChannelSuccess, OpenMiningChannelError, OpenExtendedMiningChannel,
    OpenExtendedMiningChannelSuccess, NewMiningJob, UpdateChannel, UpdateChannelError, CloseChannel,
    SetExtranoncePrefix, SubmitSharesStandard, SubmitSharesExtended, SubmitSharesSuccess, SubmitSharesError,
    NewExtendedMiningJob, SetNewPrevHash, SetTarget, SetCustomMiningJob, SetCustomMiningJobSuccess,
    SetCustomMiningJobError, SetGroupChannel, AllocateMiningJobToken, AllocateMiningJobTokenSuccess,
    ProvideMissingTransactions, ProvideMissingTransactionsSuccess, DeclareMiningJob, DeclareMiningJobSuccess,
    DeclareMiningJobError, PushSolution, CoinbaseOutputConstraints, NewTemplate, SetNewPrevHashTdp,
    RequestTransactionData, RequestTransactionDataSuccess, RequestTransactionDataError, SubmitSolution,
    RequestExtensions, RequestExtensionsSuccess, RequestExtensionsError>;

/// A received frame, owning its payload.
struct Frame {
    /// The header (extension type without the channel bit, message type, channel bit, length).
    FrameHeader header{};
    /// The payload: the message's fields, then any TLV records.
    std::vector<std::uint8_t> payload;

    /// Decodes the payload as the message its header names; TLV records after the message's
    /// fields go into *tlvs when tlvs is not null. Throws sv2::Error.
    Message message(std::vector<Tlv> *tlvs = nullptr) const;
};

namespace detail {
inline rust::Slice<const std::uint8_t> slice(ByteSpan b) noexcept { return {b.data(), b.size()}; }
Message decode_message(std::uint16_t extension_type, std::uint8_t msg_type, rust::Slice<const std::uint8_t> payload,
                       std::vector<Tlv> *tlvs);
} // namespace detail

// ---- Messages ----

/// The version of libsv2, e.g. "0.1.0".
std::string_view version() noexcept;

/// Which message `m` holds.
inline MessageType message_type(const Message &m) noexcept { return static_cast<MessageType>(m.index()); }

/// Where messages of type `t` sit on the wire (extension type, message type, channel bit).
MessageSpec message_spec(MessageType t);

/// The spec's name of messages of type `t`, e.g. "SetupConnection".
std::string_view message_name(MessageType t);

/// Decodes a frame payload as the message (extension_type, msg_type) names; the channel bit
/// of extension_type is ignored. TLV records after the message's fields go into *tlvs when
/// tlvs is not null. Throws sv2::Error (UnknownMessage, UnexpectedEnd, InvalidTlv, ...).
inline Message decode_message(std::uint16_t extension_type, std::uint8_t msg_type, ByteSpan payload,
                              std::vector<Tlv> *tlvs = nullptr) {
    return detail::decode_message(extension_type, msg_type, detail::slice(payload), tlvs);
}

/// The whole frame (6-byte header, message, TLV records) for `m`. Throws sv2::Error when a
/// field is longer than its type allows (TooLong).
std::vector<std::uint8_t> encode_frame(const Message &m, const std::vector<Tlv> &tlvs = {});

/// The frame payload for `m` (its fields, then the TLV records), without the header.
std::vector<std::uint8_t> encode_payload(const Message &m, const std::vector<Tlv> &tlvs = {});

/// The `user_identity` TLV of extension 0x0002 for SubmitSharesExtended (at most 32 bytes).
Tlv user_identity_tlv(std::string_view identity);

/// A copy of `bytes` for a message's rust::Vec<std::uint8_t> field.
inline rust::Vec<std::uint8_t> to_rust_vec(ByteSpan bytes) { return detail::copy_bytes(detail::slice(bytes)); }

/// A copy of a message's byte field.
inline std::vector<std::uint8_t> to_vector(const rust::Vec<std::uint8_t> &bytes) {
    return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

// ---- Streams and sessions ----

/// Whole plaintext frames out of a byte stream that arrives in any chunking. Memory grows
/// only with the bytes pushed; a frame announcing more than max_payload bytes is refused as
/// soon as its header is seen.
class FrameDecoder {
public:
    explicit FrameDecoder(std::size_t max_payload = max_payload_len);

    /// Appends received bytes.
    void push(ByteSpan bytes) { impl_->push(detail::slice(bytes)); }
    /// The next whole frame, or nullopt until more bytes arrive. Throws sv2::Error
    /// (FrameTooLarge) when the next frame is over the limit: the stream cannot recover.
    std::optional<Frame> next_frame();
    /// Bytes buffered and not yet returned as frames.
    std::size_t buffered() const noexcept { return impl_->buffered(); }

private:
    rust::Box<detail::FrameDecoderImpl> impl_;
};

/// One side of a Stratum V2 connection, without I/O: feed it the bytes read from the socket
/// with receive(), take frames or messages with next_frame() / next_message(), queue messages
/// with send(), and write pending_output() to the socket. Any sv2::Error is fatal to the
/// connection: close it.
class Session {
public:
    /// A client that pins the pool's authority public key and checks the server certificate
    /// at unix time `now`. Its first handshake message is queued at once.
    static Session initiator(const Bytes32 &authority_public_key, std::uint32_t now);
    /// As above, with the caller's 32 bytes of entropy for the ephemeral key.
    static Session initiator(const Bytes32 &authority_public_key, std::uint32_t now, const Bytes32 &entropy);
    /// A server with its static key and certificate.
    static Session responder(const ServerCredentials &credentials);
    /// As above, with the caller's 32 bytes of entropy for the ephemeral key.
    static Session responder(const ServerCredentials &credentials, const Bytes32 &entropy);
    /// A session without encryption, for links where the operator owns both ends.
    static Session plaintext();

    /// Refuses frames with payloads over `max` bytes (default and ceiling: max_payload_len).
    void set_max_payload(std::size_t max) noexcept { impl_->set_max_payload(max); }
    /// True once the handshake is complete (always for plaintext sessions).
    bool established() const noexcept { return impl_->is_established(); }
    /// The final handshake hash, once established over Noise.
    std::optional<Bytes32> handshake_hash() const;
    /// For a client: the server's static key and certificate, once established.
    std::optional<HandshakeInfo> handshake_info() const;

    /// Takes bytes read from the peer (handshake or frames). Throws sv2::Error.
    void receive(ByteSpan bytes) { receive_slice(detail::slice(bytes)); }
    /// The next whole frame, or nullopt until more bytes arrive. Throws sv2::Error.
    std::optional<Frame> next_frame();
    /// The next whole frame decoded as a message (TLV records into *tlvs when not null), or
    /// nullopt until more bytes arrive. Throws sv2::Error.
    std::optional<Message> next_message(std::vector<Tlv> *tlvs = nullptr);

    /// Queues `m` (and TLV records) as one frame. Throws sv2::Error (NotEstablished before the
    /// handshake completes, TooLong for an oversized field).
    void send(const Message &m, const std::vector<Tlv> &tlvs = {});
    /// Queues a frame given as a header and its payload, e.g. to forward a frame unchanged;
    /// header.msg_length must equal payload.size().
    void send_frame(const FrameHeader &header, ByteSpan payload) { send_frame_slice(header, detail::slice(payload)); }

    /// Bytes waiting to be written to the peer; valid until the next non-const call.
    ByteSpan pending_output() const noexcept {
        auto s = impl_->pending_output();
        return ByteSpan(s.data(), s.size());
    }
    /// Marks the first n pending bytes as written.
    void consume_output(std::size_t n) noexcept { impl_->consume_output(n); }
    /// Takes every pending byte.
    std::vector<std::uint8_t> take_output();

private:
    explicit Session(rust::Box<detail::SessionImpl> impl) noexcept : impl_(std::move(impl)) {}
    void receive_slice(rust::Slice<const std::uint8_t> bytes);
    void send_frame_slice(const FrameHeader &header, rust::Slice<const std::uint8_t> payload);

    rust::Box<detail::SessionImpl> impl_;
    rust::Vec<std::uint8_t> scratch_; // encoded frames before they are queued
};

// ---- Mining client ----

/// A standard or extended channel as a mining client sees it: feed it every message of the
/// connection, ask it for work to hash, build shares from solved work.
class ClientChannel {
public:
    /// A standard channel from OpenStandardMiningChannelSuccess's fields;
    /// allow_version_rolling is false when the server set REQUIRES_FIXED_VERSION.
    static ClientChannel standard(std::uint32_t channel_id, const Bytes32 &target, ByteSpan extranonce_prefix,
                                  bool allow_version_rolling) {
        return ClientChannel(detail::client_channel_standard(channel_id, target, detail::slice(extranonce_prefix),
                                                             allow_version_rolling));
    }
    /// An extended channel from OpenExtendedMiningChannelSuccess's fields.
    static ClientChannel extended(std::uint32_t channel_id, const Bytes32 &target, ByteSpan extranonce_prefix,
                                  std::uint16_t extranonce_size) {
        return ClientChannel(detail::client_channel_extended(channel_id, target, detail::slice(extranonce_prefix),
                                                             extranonce_size));
    }

    /// The channel id.
    std::uint32_t channel_id() const noexcept { return impl_->channel_id(); }
    /// Bytes of extranonce the client rolls (0 on standard channels).
    std::size_t extranonce_size() const noexcept { return impl_->extranonce_size(); }
    /// The share target for jobs received from now on. The active job keeps the target in
    /// force when it arrived (Work::target); SetTarget also reaches future jobs not yet active.
    Bytes32 target() const noexcept { return impl_->target(); }
    /// Puts the channel in group `group_channel_id` (OpenStandardMiningChannelSuccess's or
    /// OpenExtendedMiningChannelSuccess's group_channel_id), so that jobs, previous hashes and
    /// targets sent to the group reach it; a standard channel builds a group job's merkle root
    /// with its own extranonce prefix. The channel's own id means no group.
    void set_group_channel_id(std::uint32_t group_channel_id) noexcept { impl_->set_group_channel_id(group_channel_id); }
    /// The channel's group, or nullopt when it is in no group but its own.
    std::optional<std::uint32_t> group_channel_id() const noexcept;

    /// Applies a NewMiningJob or SetExtranoncePrefix addressed to this channel, a
    /// NewExtendedMiningJob, SetNewPrevHash or SetTarget addressed to it or its group, or a
    /// SetGroupChannel listing it, and returns true; ignores anything else (CloseChannel
    /// included: compare its id with channel_id() and group_channel_id()).
    bool handle(const Message &m);
    /// The work to hash now with `extranonce` rolled (exactly extranonce_size() bytes; ignored
    /// on standard channels), or nullopt until a job is active. Throws sv2::Error
    /// (InvalidArgument) for an extranonce of the wrong size.
    std::optional<Work> work(ByteSpan extranonce = {}) const { return work_slice(detail::slice(extranonce)); }
    /// SubmitSharesStandard for solved `work`.
    SubmitSharesStandard submit_standard(const Work &work, std::uint32_t sequence_number, std::uint32_t nonce,
                                         std::uint32_t ntime, std::uint32_t version) const noexcept {
        return impl_->submit_standard(work, sequence_number, nonce, ntime, version);
    }
    /// SubmitSharesExtended for solved `work` (with its extranonce).
    SubmitSharesExtended submit_extended(const Work &work, std::uint32_t sequence_number, std::uint32_t nonce,
                                         std::uint32_t ntime, std::uint32_t version) const;

private:
    explicit ClientChannel(rust::Box<detail::ClientChannelImpl> impl) noexcept : impl_(std::move(impl)) {}
    std::optional<Work> work_slice(rust::Slice<const std::uint8_t> extranonce) const;

    rust::Box<detail::ClientChannelImpl> impl_;
};

/// SHA-256d of `data`.
inline Bytes32 sha256d(ByteSpan data) noexcept { return detail::sha256d(detail::slice(data)); }
/// SHA-256d of the block header built from `work` with these version, nTime and nonce.
inline Bytes32 header_hash(const Work &work, std::uint32_t version, std::uint32_t ntime, std::uint32_t nonce) noexcept {
    return detail::header_hash(work, version, ntime, nonce);
}
/// Whether `hash` (raw SHA-256d, a little-endian integer) is at or below `target`.
inline bool hash_meets_target(const Bytes32 &hash, const Bytes32 &target) noexcept {
    return detail::hash_meets_target(hash, target);
}
/// The network target a compact nbits encodes.
inline Bytes32 target_from_nbits(std::uint32_t nbits) noexcept { return detail::target_from_nbits(nbits); }

// ---- Pool side: jobs, extranonces, server and group channels ----

/// Turns Template Distribution messages into jobs paying one pool script, and tracks the tip.
/// Job ids are unique for the life of the factory, so one id names one job on every channel.
class JobFactory {
public:
    /// Pays every block to `payout_script` (a scriptPubKey), pushes `pool_tag` in the coinbase
    /// scriptSig and leaves an extranonce hole of `extranonce_len` bytes (1–32: every channel's
    /// prefix and rolled part together). version_rolling false makes jobs that forbid rolling
    /// (for a server that sets REQUIRES_FIXED_VERSION). Throws sv2::Error (ScriptSigTooLong,
    /// InvalidCoinbaseOutputs).
    JobFactory(ByteSpan payout_script, ByteSpan pool_tag, std::size_t extranonce_len, bool version_rolling = true)
        : impl_(make(detail::slice(payout_script), detail::slice(pool_tag), extranonce_len, version_rolling)) {}

    /// The CoinbaseOutputConstraints to send the template provider.
    CoinbaseOutputConstraints coinbase_output_constraints() const noexcept {
        return impl_->coinbase_output_constraints();
    }
    /// Feeds a NewTemplate (a job: future, or minable now on the current tip) or a
    /// SetNewPrevHashTdp (its future job becomes the tip's, `new_tip`; every other job is
    /// dropped) and returns the job; nullopt for any other message. Throws sv2::Error
    /// (NoPrevHash for a non-future template before the first tip, UnknownJob for a tip naming
    /// no future template kept, InvalidCoinbaseOutputs, TooLong).
    std::optional<TemplateJob> handle(const Message &m);
    /// Every job a channel opened now needs, in order: the tip's (add it as a future job, then
    /// activate it), the newest job on the tip if another, then the future jobs.
    std::vector<TemplateJob> jobs() const;

private:
    static rust::Box<detail::JobFactoryImpl> make(rust::Slice<const std::uint8_t> payout_script,
                                                  rust::Slice<const std::uint8_t> pool_tag,
                                                  std::size_t extranonce_len, bool version_rolling);

    rust::Box<detail::JobFactoryImpl> impl_;
    friend class ServerChannel;
    friend class GroupChannel;
};

/// Extranonce prefixes that never collide: `upstream ‖ counter`.
class ExtranonceAllocator {
public:
    /// For channels whose full extranonce (prefix and rolled part) is `full_len` bytes (at most
    /// 32, the factory's extranonce_len): `upstream` (the prefix this server was given; empty
    /// for a pool) then a `counter_len`-byte counter (1–8). Throws sv2::Error
    /// (ExtranonceLayout).
    ExtranonceAllocator(ByteSpan upstream, std::size_t counter_len, std::size_t full_len)
        : impl_(make(detail::slice(upstream), counter_len, full_len)) {}

    /// Bytes an extended channel rolls after its prefix.
    std::size_t rollable() const noexcept { return impl_->rollable(); }
    /// The next prefix for an extended channel. Throws sv2::Error (ExtranonceExhausted).
    std::vector<std::uint8_t> next_extended();
    /// The next prefix for a standard channel, padded with zeros to the full length. Throws
    /// sv2::Error (ExtranonceExhausted).
    std::vector<std::uint8_t> next_standard();

private:
    static rust::Box<detail::ExtranonceAllocatorImpl> make(rust::Slice<const std::uint8_t> upstream,
                                                           std::size_t counter_len, std::size_t full_len);

    rust::Box<detail::ExtranonceAllocatorImpl> impl_;
};

/// The share target for a device of `hashrate` h/s to find `shares_per_minute` shares a
/// minute, never easier than `max_target` (a zero hashrate gives max_target). Throws
/// sv2::Error (InvalidNominalHashrate, InvalidArgument for shares_per_minute).
Bytes32 target_for_hashrate(double hashrate, double shares_per_minute, const Bytes32 &max_target);

/// What validating a share found.
struct ShareResult {
    /// Why the share was rejected (InvalidJobId, StaleShare, DifficultyTooLow, ...); nullopt
    /// when it was accepted.
    std::optional<ErrorCode> error;
    /// For a rejected share: the SubmitShares.Error to send, whose error_code is the spec's
    /// ("invalid-job-id", "stale-share", ...).
    std::optional<SubmitSharesError> reply;
    /// For an accepted share: the header hash, the target it met and that target's difficulty.
    Bytes32 hash{};
    Bytes32 target{};
    double difficulty = 0;
    /// For an accepted share that meets the network target: the block, as the SubmitSolution
    /// to send the template provider at once.
    std::optional<SubmitSolution> solution;

    /// Whether the share was accepted.
    bool accepted() const noexcept { return !error.has_value(); }
};

/// A standard or extended channel as a pool keeps it: jobs, the tip, the share target,
/// vardiff, and the shares accepted since the last SubmitShares.Success.
class ServerChannel {
public:
    /// Opens a channel at monotonic time `now` (seconds, the clock vardiff runs on). Throws
    /// sv2::Error (InvalidArgument for a standard channel with an extranonce_size, a prefix and
    /// size over 32 bytes together or shares_per_minute not positive; TooLong).
    ServerChannel(const ServerChannelParams &params, std::uint64_t now);

    /// The channel id.
    std::uint32_t channel_id() const noexcept { return impl_->channel_id(); }
    /// The current share target (for jobs sent from now on).
    Bytes32 target() const noexcept { return impl_->target(); }
    /// The OpenStandardMiningChannelSuccess or OpenExtendedMiningChannelSuccess that answers
    /// the request that opened the channel.
    Message open_success(std::uint32_t request_id, std::uint32_t group_channel_id) const;
    /// Gives the channel the factory's job `job_id`: a future job when min_ntime is nullopt
    /// (activated later), minable now from min_ntime otherwise. Returns the NewMiningJob
    /// (standard) or NewExtendedMiningJob (extended) to send. Throws sv2::Error (UnknownJob,
    /// ExtranonceMismatch, NoPrevHash, JobTooLarge).
    Message add_job(const JobFactory &factory, std::uint32_t job_id, std::optional<std::uint32_t> min_ntime);
    /// Activates the factory's tip: its job (given before as a future job) becomes the one to
    /// mine and every other job is stale. Returns the SetNewPrevHash to send. Throws
    /// sv2::Error (NoPrevHash, UnknownJob).
    SetNewPrevHash activate(const JobFactory &factory);
    /// Validates a SubmitSharesStandard or SubmitSharesExtended at unix time `now`. Accepted
    /// shares count towards vardiff and the next take_success(). Throws sv2::Error
    /// (InvalidArgument) for any other message.
    ShareResult validate(const Message &submit, std::uint32_t now);
    /// The SubmitShares.Success for the shares accepted since the last one, if any.
    std::optional<SubmitSharesSuccess> take_success();
    /// Sets the target for jobs sent from now on; returns the SetTarget to send.
    SetTarget set_target(const Bytes32 &target) noexcept { return impl_->set_target(target); }
    /// Applies an UpdateChannel at monotonic time `now`: a SetTarget when the target changes,
    /// an UpdateChannelError ("invalid-nominal-hashrate", "invalid-channel-id") for a bad
    /// request, nullopt when there is nothing to send.
    std::optional<Message> update(const UpdateChannel &m, std::uint64_t now);
    /// Runs vardiff at monotonic time `now`: the SetTarget to send when the observed share
    /// rate calls for a new target. Call it every few seconds.
    std::optional<SetTarget> retarget(std::uint64_t now);

private:
    explicit ServerChannel(rust::Box<detail::ServerChannelImpl> impl) noexcept : impl_(std::move(impl)) {}

    rust::Box<detail::ServerChannelImpl> impl_;
    friend class GroupChannel;
};

/// A connection's channels as one group: each job goes out once per group where it can (one
/// NewExtendedMiningJob to the group for its standard members, unless the connection set
/// REQUIRES_STANDARD_JOBS), one per extended member.
class GroupChannel {
public:
    /// An empty group.
    GroupChannel(std::uint32_t group_id, bool requires_standard_jobs)
        : impl_(detail::group_channel_new(group_id, requires_standard_jobs)) {}

    /// The group's channel id.
    std::uint32_t group_id() const noexcept { return impl_->group_id(); }
    /// The number of members.
    std::size_t size() const noexcept { return impl_->size(); }
    /// Moves `channel` into the group (give a new channel its jobs first, so it gets them
    /// once). Throws sv2::Error (InvalidChannelId) when its id is the group's or a member's;
    /// the channel is then left as it was.
    void add(ServerChannel &&channel);
    /// Takes member `channel_id` out (CloseChannel). Throws sv2::Error (InvalidChannelId).
    ServerChannel remove(std::uint32_t channel_id);
    /// Gives every member the factory's job; returns the messages that carry it.
    std::vector<Message> add_job(const JobFactory &factory, std::uint32_t job_id,
                                 std::optional<std::uint32_t> min_ntime);
    /// Activates the factory's tip on every member; returns the SetNewPrevHash messages (one to
    /// the group for its broadcast members, one per other member).
    std::vector<SetNewPrevHash> activate(const JobFactory &factory);
    /// Sets `target` on every member; returns the SetTarget to the group.
    SetTarget set_target(const Bytes32 &target) noexcept { return impl_->set_target(target); }
    /// Validates a share on the member it names (InvalidChannelId for others, the group's id
    /// included).
    ShareResult validate(const Message &submit, std::uint32_t now);
    /// Each member's SubmitShares.Success for the shares it accepted since its last one.
    std::vector<SubmitSharesSuccess> take_successes() { return from_rust(impl_->take_successes()); }
    /// Applies an UpdateChannel to the member it names, as ServerChannel::update does.
    std::optional<Message> update(const UpdateChannel &m, std::uint64_t now);
    /// Runs vardiff on every member: the SetTarget messages to send.
    std::vector<SetTarget> retarget(std::uint64_t now) { return from_rust(impl_->retarget(now)); }

private:
    template <class T>
    static std::vector<T> from_rust(rust::Vec<T> v) {
        return std::vector<T>(std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
    }

    rust::Box<detail::GroupChannelImpl> impl_;
};

// ---- Keys and certificates ----

/// A new random authority key pair.
AuthorityKeypair generate_authority_keypair();
/// The key pair of a stored secret key. Throws sv2::Error (InvalidKey).
AuthorityKeypair authority_keypair_from_secret(const Bytes32 &secret_key);
/// The base58check text of an authority public key, as pools publish it.
std::string authority_key_to_text(const Bytes32 &public_key);
/// Parses that text. Throws sv2::Error (InvalidAuthorityKey).
Bytes32 authority_key_from_text(std::string_view text);
/// A fresh random static key with a certificate signed by the authority, valid over
/// [valid_from, not_valid_after] (unix seconds).
ServerCredentials generate_server_credentials(const Bytes32 &authority_secret_key, std::uint32_t valid_from,
                                              std::uint32_t not_valid_after);
/// A certificate for a stored static key.
ServerCredentials issue_server_credentials(const Bytes32 &authority_secret_key, const Bytes32 &static_secret_key,
                                           std::uint32_t valid_from, std::uint32_t not_valid_after);
/// The x-only public key of the credentials' static key.
Bytes32 server_public_key(const ServerCredentials &credentials);
/// Checks that `certificate` is signed by the authority for `server_key` and valid at `now`.
/// Throws sv2::Error (InvalidCertificateSignature, CertificateNotYetValid, CertificateExpired).
void verify_certificate(const Certificate &certificate, const Bytes32 &authority_public_key, const Bytes32 &server_key,
                        std::uint32_t now);

} // namespace sv2

#endif // SV2_SV2_HPP
