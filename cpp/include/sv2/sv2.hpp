// sv2/sv2.hpp — the C++ API of libsv2 (Stratum V2). Standard C++17 (std::span with C++20):
// nothing here or in the headers it includes comes from Rust or cxx.
//
// Everything is in namespace sv2:
//   - every message of every sub-protocol as a struct, and sv2::Message, a std::variant of
//     all of them (sv2/messages.hpp); decode_message / encode_frame between them and bytes;
//   - Session (Noise NX handshake, then encrypted frames; or plaintext), FrameDecoder
//     (plaintext frames from a byte stream) and ClientChannel (work and shares on a mining
//     channel), all RAII and movable;
//   - the pool side: JobFactory (templates in, jobs out), ExtranonceAllocator, ServerChannel
//     and GroupChannel (jobs out, shares and UpdateChannel in, vardiff), also RAII and movable;
//   - keys, certificates and hashing helpers;
//   - Job Declaration (sv2/jd.hpp): TokenStore, JdServer and JdClient.
//
// Bytes go in as sv2::ByteSpan (std::span<const std::uint8_t> in C++20; a small span-like
// class with the same conversions in C++17) and come out as std::vector<std::uint8_t>,
// std::array or std::string. Every failure throws sv2::Error (sv2/error.hpp), whose code() is
// the result number of the C ABI. None of these calls are thread-safe on one object; separate
// objects may be used from separate threads.
#ifndef SV2_SV2_HPP
#define SV2_SV2_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>
#if __cplusplus >= 202002L
#include <span>
#endif

#include "sv2/error.hpp"
#include "sv2/messages.hpp"

namespace sv2 {

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
    template <std::size_t N> constexpr ByteSpan(const std::uint8_t (&a)[N]) noexcept : data_(a), size_(N) {}
    template <class C, class = std::enable_if_t<
                           std::is_convertible_v<decltype(std::declval<const C &>().data()), const std::uint8_t *>>>
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

// ---- Records of keys, work and channels (see "Records" in sv2/messages.hpp) ----

/// A pool authority's key pair: it signs server certificates; clients pin its public key.
struct AuthorityKeypair {
    /// The secret key (keep it secret).
    Bytes32 secret_key{};
    /// The x-only public key clients pin.
    Bytes32 public_key{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// A server certificate: the authority's signature over the server's static key and a
/// validity window.
struct Certificate {
    /// Format version (0).
    std::uint16_t version{};
    /// Unix time from which it is valid.
    std::uint32_t valid_from{};
    /// Unix time after which it is not.
    std::uint32_t not_valid_after{};
    /// BIP340 signature by the authority.
    std::array<std::uint8_t, 64> signature{};
    static constexpr std::size_t field_count = 4; ///< How many fields (see "Records").
};

/// What a responder needs: its static secret key and a certificate for it. Store both to
/// keep the same server identity across restarts.
struct ServerCredentials {
    /// The static secret key (keep it secret).
    Bytes32 static_secret{};
    /// The certificate for its public key.
    Certificate certificate{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// What a client learned about the server in the handshake.
struct HandshakeInfo {
    /// The server's x-only static key.
    Bytes32 server_static_key{};
    /// The certificate it presented (already checked against the pinned authority).
    Certificate certificate{};
    /// The final handshake hash (channel binding).
    Bytes32 handshake_hash{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// Work to hash on a mining client channel: the header fields and the share target.
struct Work {
    /// Job id to submit shares for.
    std::uint32_t job_id{};
    /// Header version to start from.
    std::uint32_t version{};
    /// Version bits that may be rolled (0: none).
    std::uint32_t version_mask{};
    /// Previous block hash.
    Bytes32 prev_hash{};
    /// Merkle root for the extranonce given.
    Bytes32 merkle_root{};
    /// First nTime.
    std::uint32_t min_ntime{};
    /// Compact network target.
    std::uint32_t nbits{};
    /// Share target of this job (little-endian 256-bit integer): the channel's when the job
    /// arrived, or the last SetTarget before a future job was activated.
    Bytes32 target{};
    /// The rolled extranonce this work was built with (empty on standard channels).
    std::vector<std::uint8_t> extranonce{};
    static constexpr std::size_t field_count = 9; ///< How many fields (see "Records").
};

/// A job a template made, by id: give it to every channel (`ServerChannel::add_job`,
/// `GroupChannel::add_job`).
struct TemplateJob {
    /// The job's id, the same on every channel.
    std::uint32_t job_id{};
    /// None: a future job, minable once its tip arrives. A value: minable now, from this
    /// nTime on.
    std::optional<std::uint32_t> min_ntime{};
    /// The job of a new tip (a SetNewPrevHashTdp made it current): every channel activates
    /// it, which makes every other job stale.
    bool new_tip{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// What a server channel is opened with.
struct ServerChannelParams {
    /// The channel id (unique on the connection, and not the group's).
    std::uint32_t channel_id{};
    /// False: a standard channel; true: an extended one.
    bool extended{};
    /// Extended: bytes the client rolls after the prefix (prefix and rolled part together
    /// make the factory's extranonce_len). Standard: must be 0.
    std::uint16_t extranonce_size{};
    /// The user (and worker) the channel mines for (at most 255 bytes).
    std::string user_identity{};
    /// The channel's prefix from an ExtranonceAllocator (at most 32 bytes).
    std::vector<std::uint8_t> extranonce_prefix{};
    /// Initial share target (little-endian 256-bit), e.g. from target_for_hashrate().
    Bytes32 target{};
    /// The easiest target the client accepts (its Open*MiningChannel.max_target).
    Bytes32 max_target{};
    /// Vardiff aims at this many shares a minute (positive).
    double shares_per_minute{};
    /// Vardiff judges the share rate over windows of at least this many seconds.
    std::uint64_t vardiff_window_secs{};
    static constexpr std::size_t field_count = 9; ///< How many fields (see "Records").
};

/// What a ServerEndpoint offers and allows on its connection. Start from defaults().
struct ServerOptions {
    /// Miners may roll the BIP320 version bits (false: SetupConnectionSuccess carries
    /// REQUIRES_FIXED_VERSION; make the JobFactory with version_rolling false too).
    bool version_rolling{};
    /// Refuse standard channels (SetupConnectionSuccess carries REQUIRES_EXTENDED_CHANNELS).
    bool extended_channels_only{};
    /// Channels one connection may have open at once.
    std::size_t max_channels{};
    /// Shares a minute vardiff aims at per channel (positive).
    double shares_per_minute{};
    /// Shortest vardiff window, in seconds (at least 1).
    std::uint64_t vardiff_window_secs{};
    /// Hashes per second assumed for a channel opened with a nominal hashrate of 0 (positive).
    double default_hashrate{};
    /// The easiest share difficulty any channel gets (positive).
    double min_difficulty{};
    /// Invalid shares a connection may send within a minute (while sending fewer valid ones)
    /// before the endpoint throws InvalidShareFlood.
    std::uint32_t max_invalid_shares_per_minute{};
    /// Shares one channel may have accepted on one tip before the endpoint throws TooManyShares.
    std::size_t max_shares_per_tip{};
    static constexpr std::size_t field_count = 9; ///< How many fields (see "Records").

    /// The library's defaults: version rolling allowed, both kinds of channel, 64 channels,
    /// 10 shares a minute over windows of at least 60 s, 1 Mh/s for a nominal hashrate of 0,
    /// difficulty at least 0.001, 600 invalid shares a minute, 65 536 shares a channel a tip.
    static ServerOptions defaults();
};

/// What a ClientEndpoint sends in SetupConnection (text as UTF-8, at most 255 bytes each).
struct ClientOptions {
    /// REQUIRES_STANDARD_JOBS: standard channels get NewMiningJob, not group extended jobs.
    bool requires_standard_jobs{};
    /// REQUIRES_VERSION_ROLLING: refuse servers that fix the version.
    bool requires_version_rolling{};
    /// The host the client dialled.
    std::string endpoint_host{};
    /// The port the client dialled.
    std::uint16_t endpoint_port{};
    /// Vendor.
    std::string vendor{};
    /// Hardware version.
    std::string hardware_version{};
    /// Firmware version.
    std::string firmware{};
    /// Device id (empty: none).
    std::string device_id{};
    static constexpr std::size_t field_count = 8; ///< How many fields (see "Records").
};

/// What ServerEndpoint::sync did.
struct Synced {
    /// A new tip went out to the connection's channels.
    bool tip_sent{};
    /// Jobs a channel could not take (skipped, not fatal: the same job reaches every connection).
    std::size_t skipped{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

} // namespace sv2

// The library's state behind each class: opaque here, freed by the library.
namespace sv2bridge {
struct SessionImpl;
struct FrameDecoderImpl;
struct ClientChannelImpl;
struct JobFactoryImpl;
struct ServerChannelImpl;
struct GroupChannelImpl;
struct ClientEndpointImpl;
} // namespace sv2bridge

namespace sv2 {

namespace detail {
/// Bytes as the library's own functions take them: one type in C++17 and C++20, so that the
/// library's symbols do not depend on which ByteSpan the caller has.
/// Never built implicitly, so that it does not compete with ByteSpan in overloads.
struct ByteView {
    explicit ByteView(const std::uint8_t *d, std::size_t n) noexcept : data(d), size(n) {}
    const std::uint8_t *data;
    std::size_t size;
};
inline ByteView view(ByteSpan b) noexcept { return ByteView(b.data(), b.size()); }

Message decode_message(std::uint16_t extension_type, std::uint8_t msg_type, ByteView payload, std::vector<Tlv> *tlvs);
Bytes32 sha256d(ByteView data) noexcept;

/// Frees the library's state of one object.
struct Drop {
    void operator()(sv2bridge::SessionImpl *p) const noexcept;
    void operator()(sv2bridge::FrameDecoderImpl *p) const noexcept;
    void operator()(sv2bridge::ClientChannelImpl *p) const noexcept;
    void operator()(sv2bridge::JobFactoryImpl *p) const noexcept;
    void operator()(sv2bridge::ServerChannelImpl *p) const noexcept;
    void operator()(sv2bridge::GroupChannelImpl *p) const noexcept;
    void operator()(sv2bridge::ClientEndpointImpl *p) const noexcept;
    // Handles of the C ABI (sv2.h), which the extranonce allocator and the server endpoint use.
    void operator()(sv2_job_factory *p) const noexcept { sv2_job_factory_free(p); }
    void operator()(sv2_extranonce_allocator *p) const noexcept { sv2_extranonce_allocator_free(p); }
    void operator()(sv2_server_endpoint *p) const noexcept { sv2_server_endpoint_free(p); }
    void operator()(sv2_server_options *p) const noexcept { sv2_server_options_free(p); }
};
/// The owner of one object's state.
template <class T> using Owned = std::unique_ptr<T, Drop>;
} // namespace detail

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

// ---- Messages ----

/// The version of libsv2, e.g. "0.1.0".
std::string_view version() noexcept;

/// Where messages of type `t` sit on the wire (extension type, message type, channel bit).
/// Throws sv2::Error (InvalidArgument) for a value that names no type.
MessageSpec message_spec(MessageType t);

/// The spec's name of messages of type `t`, e.g. "SetupConnection". Throws sv2::Error
/// (InvalidArgument) for a value that names no type.
std::string_view message_name(MessageType t);

/// Decodes a frame payload as the message (extension_type, msg_type) names; the channel bit
/// of extension_type is ignored. TLV records after the message's fields go into *tlvs when
/// tlvs is not null. Throws sv2::Error (UnknownMessage, UnexpectedEnd, InvalidTlv, ...).
inline Message decode_message(std::uint16_t extension_type, std::uint8_t msg_type, ByteSpan payload,
                              std::vector<Tlv> *tlvs = nullptr) {
    return detail::decode_message(extension_type, msg_type, detail::view(payload), tlvs);
}

/// The whole frame (6-byte header, message, TLV records) for `m`. Throws sv2::Error when a
/// field is longer than its type allows (TooLong).
std::vector<std::uint8_t> encode_frame(const Message &m, const std::vector<Tlv> &tlvs = {});

/// The frame payload for `m` (its fields, then the TLV records), without the header.
std::vector<std::uint8_t> encode_payload(const Message &m, const std::vector<Tlv> &tlvs = {});

/// The `user_identity` TLV of extension 0x0002 for SubmitSharesExtended (at most 32 bytes,
/// taken as they are). Throws sv2::Error (TooLong).
Tlv user_identity_tlv(std::string_view identity);

// ---- Streams and sessions ----

/// Whole plaintext frames out of a byte stream that arrives in any chunking. Memory grows
/// only with the bytes pushed; a frame announcing more than max_payload bytes is refused as
/// soon as its header is seen.
class FrameDecoder {
  public:
    explicit FrameDecoder(std::size_t max_payload = max_payload_len);

    /// Appends received bytes.
    void push(ByteSpan bytes) { push_view(detail::view(bytes)); }
    /// The next whole frame, or nullopt until more bytes arrive. Throws sv2::Error
    /// (FrameTooLarge) when the next frame is over the limit: the stream cannot recover.
    std::optional<Frame> next_frame();
    /// Bytes buffered and not yet returned as frames.
    std::size_t buffered() const noexcept;

  private:
    void push_view(detail::ByteView bytes);

    detail::Owned<sv2bridge::FrameDecoderImpl> impl_;
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
    void set_max_payload(std::size_t max) noexcept;
    /// True once the handshake is complete (always for plaintext sessions).
    bool established() const noexcept;
    /// The final handshake hash, once established over Noise.
    std::optional<Bytes32> handshake_hash() const;
    /// For a client: the server's static key and certificate, once established.
    std::optional<HandshakeInfo> handshake_info() const;

    /// Takes bytes read from the peer (handshake or frames). Throws sv2::Error.
    void receive(ByteSpan bytes) { receive_view(detail::view(bytes)); }
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
    void send_frame(const FrameHeader &header, ByteSpan payload) { send_frame_view(header, detail::view(payload)); }

    /// Bytes waiting to be written to the peer; valid until the next non-const call.
    ByteSpan pending_output() const noexcept {
        detail::ByteView v = pending_view();
        return ByteSpan(v.data, v.size);
    }
    /// Marks the first n pending bytes as written.
    void consume_output(std::size_t n) noexcept;
    /// Takes every pending byte.
    std::vector<std::uint8_t> take_output();

  private:
    explicit Session(detail::Owned<sv2bridge::SessionImpl> impl) noexcept : impl_(std::move(impl)) {}
    void receive_view(detail::ByteView bytes);
    void send_frame_view(const FrameHeader &header, detail::ByteView payload);
    detail::ByteView pending_view() const noexcept;

    detail::Owned<sv2bridge::SessionImpl> impl_;
    friend class ServerEndpoint;
    friend class ClientEndpoint;
};

// ---- Mining client ----

/// A standard or extended channel as a mining client sees it: feed it every message of the
/// connection, ask it for work to hash, build shares from solved work.
class ClientChannel {
  public:
    /// A standard channel from OpenStandardMiningChannelSuccess's fields;
    /// allow_version_rolling is false when the server set REQUIRES_FIXED_VERSION. Throws
    /// sv2::Error (TooLong for a prefix over 32 bytes).
    static ClientChannel standard(std::uint32_t channel_id, const Bytes32 &target, ByteSpan extranonce_prefix,
                                  bool allow_version_rolling) {
        return standard_view(channel_id, target, detail::view(extranonce_prefix), allow_version_rolling);
    }
    /// An extended channel from OpenExtendedMiningChannelSuccess's fields. Throws sv2::Error
    /// (TooLong for a prefix over 32 bytes).
    static ClientChannel extended(std::uint32_t channel_id, const Bytes32 &target, ByteSpan extranonce_prefix,
                                  std::uint16_t extranonce_size) {
        return extended_view(channel_id, target, detail::view(extranonce_prefix), extranonce_size);
    }

    /// The channel id.
    std::uint32_t channel_id() const noexcept;
    /// Bytes of extranonce the client rolls (0 on standard channels).
    std::size_t extranonce_size() const noexcept;
    /// The share target for jobs received from now on. The active job keeps the target in
    /// force when it arrived (Work::target); SetTarget also reaches future jobs not yet active.
    Bytes32 target() const noexcept;
    /// Puts the channel in group `group_channel_id` (OpenStandardMiningChannelSuccess's or
    /// OpenExtendedMiningChannelSuccess's group_channel_id), so that jobs, previous hashes and
    /// targets sent to the group reach it; a standard channel builds a group job's merkle root
    /// with its own extranonce prefix. The channel's own id means no group.
    void set_group_channel_id(std::uint32_t group_channel_id) noexcept;
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
    std::optional<Work> work(ByteSpan extranonce = {}) const { return work_view(detail::view(extranonce)); }
    /// SubmitSharesStandard for solved `work`.
    SubmitSharesStandard submit_standard(const Work &work, std::uint32_t sequence_number, std::uint32_t nonce,
                                         std::uint32_t ntime, std::uint32_t version) const;
    /// SubmitSharesExtended for solved `work` (with its extranonce). Throws sv2::Error
    /// (TooLong for an extranonce over 32 bytes).
    SubmitSharesExtended submit_extended(const Work &work, std::uint32_t sequence_number, std::uint32_t nonce,
                                         std::uint32_t ntime, std::uint32_t version) const;

  private:
    explicit ClientChannel(detail::Owned<sv2bridge::ClientChannelImpl> impl) noexcept : impl_(std::move(impl)) {}
    static ClientChannel standard_view(std::uint32_t channel_id, const Bytes32 &target, detail::ByteView prefix,
                                       bool allow_version_rolling);
    static ClientChannel extended_view(std::uint32_t channel_id, const Bytes32 &target, detail::ByteView prefix,
                                       std::uint16_t extranonce_size);
    std::optional<Work> work_view(detail::ByteView extranonce) const;

    detail::Owned<sv2bridge::ClientChannelImpl> impl_;
};

/// SHA-256d of `data`.
inline Bytes32 sha256d(ByteSpan data) noexcept { return detail::sha256d(detail::view(data)); }
/// SHA-256d of the block header built from `work` with these version, nTime and nonce.
Bytes32 header_hash(const Work &work, std::uint32_t version, std::uint32_t ntime, std::uint32_t nonce);
/// Whether `hash` (raw SHA-256d, a little-endian integer) is at or below `target`.
bool hash_meets_target(const Bytes32 &hash, const Bytes32 &target) noexcept;
/// The network target a compact nbits encodes.
Bytes32 target_from_nbits(std::uint32_t nbits) noexcept;

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
        : JobFactory(detail::view(payout_script), detail::view(pool_tag), extranonce_len, version_rolling) {}

    /// The CoinbaseOutputConstraints to send the template provider.
    CoinbaseOutputConstraints coinbase_output_constraints() const noexcept;
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
    JobFactory(detail::ByteView payout_script, detail::ByteView pool_tag, std::size_t extranonce_len,
               bool version_rolling);

    detail::Owned<sv2bridge::JobFactoryImpl> impl_;
    /// The same jobs for server endpoints (the C ABI's factory, fed the same messages).
    detail::Owned<sv2_job_factory> jobs_;
    friend class ServerChannel;
    friend class GroupChannel;
    friend class ServerEndpoint;
};

/// Extranonce prefixes that never collide: `upstream ‖ counter`.
class ExtranonceAllocator {
  public:
    /// For channels whose full extranonce (prefix and rolled part) is `full_len` bytes (at most
    /// 32, the factory's extranonce_len): `upstream` (the prefix this server was given; empty
    /// for a pool) then a `counter_len`-byte counter (1–8). Throws sv2::Error
    /// (ExtranonceLayout).
    ExtranonceAllocator(ByteSpan upstream, std::size_t counter_len, std::size_t full_len)
        : ExtranonceAllocator(detail::view(upstream), counter_len, full_len) {}

    /// Bytes an extended channel rolls after its prefix.
    std::size_t rollable() const noexcept;
    /// The next prefix for an extended channel. Throws sv2::Error (ExtranonceExhausted).
    std::vector<std::uint8_t> next_extended();
    /// The next prefix for a standard channel, padded with zeros to the full length. Throws
    /// sv2::Error (ExtranonceExhausted).
    std::vector<std::uint8_t> next_standard();

  private:
    ExtranonceAllocator(detail::ByteView upstream, std::size_t counter_len, std::size_t full_len);

    detail::Owned<sv2_extranonce_allocator> impl_;
    friend class ServerEndpoint;
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
    /// sv2::Error (InvalidArgument for a user identity that is not UTF-8, a standard channel
    /// with an extranonce_size, a prefix and size over 32 bytes together or shares_per_minute
    /// not positive; TooLong).
    ServerChannel(const ServerChannelParams &params, std::uint64_t now);

    /// The channel id.
    std::uint32_t channel_id() const noexcept;
    /// The current share target (for jobs sent from now on).
    Bytes32 target() const noexcept;
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
    SetTarget set_target(const Bytes32 &target) noexcept;
    /// Applies an UpdateChannel at monotonic time `now`: a SetTarget when the target changes,
    /// an UpdateChannelError ("invalid-nominal-hashrate", "invalid-channel-id") for a bad
    /// request, nullopt when there is nothing to send.
    std::optional<Message> update(const UpdateChannel &m, std::uint64_t now);
    /// Runs vardiff at monotonic time `now`: the SetTarget to send when the observed share
    /// rate calls for a new target. Call it every few seconds.
    std::optional<SetTarget> retarget(std::uint64_t now);

  private:
    explicit ServerChannel(detail::Owned<sv2bridge::ServerChannelImpl> impl) noexcept : impl_(std::move(impl)) {}

    detail::Owned<sv2bridge::ServerChannelImpl> impl_;
    friend class GroupChannel;
};

/// A connection's channels as one group: each job goes out once per group where it can (one
/// NewExtendedMiningJob to the group for its standard members, unless the connection set
/// REQUIRES_STANDARD_JOBS), one per extended member.
class GroupChannel {
  public:
    /// An empty group.
    GroupChannel(std::uint32_t group_id, bool requires_standard_jobs);

    /// The group's channel id.
    std::uint32_t group_id() const noexcept;
    /// The number of members.
    std::size_t size() const noexcept;
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
    SetTarget set_target(const Bytes32 &target) noexcept;
    /// Validates a share on the member it names (InvalidChannelId for others, the group's id
    /// included).
    ShareResult validate(const Message &submit, std::uint32_t now);
    /// Each member's SubmitShares.Success for the shares it accepted since its last one.
    std::vector<SubmitSharesSuccess> take_successes();
    /// Applies an UpdateChannel to the member it names, as ServerChannel::update does.
    std::optional<Message> update(const UpdateChannel &m, std::uint64_t now);
    /// Runs vardiff on every member: the SetTarget messages to send.
    std::vector<SetTarget> retarget(std::uint64_t now);

  private:
    detail::Owned<sv2bridge::GroupChannelImpl> impl_;
};

// ---- Mining endpoints: the protocol decisions of one connection ----

/// What a message to a ServerEndpoint asks of the caller. `kind` says which fields mean
/// something.
struct ServerEvent {
    /// What happened.
    enum class Kind : std::uint8_t {
        Handled,           ///< Answered in the output, or a message a server ignores.
        SetUp,             ///< SetupConnection accepted with `flags`.
        ChannelOpened,     ///< Channel `channel_id` opened; its Success and jobs are in the output.
        OpenRefused,       ///< Open `request_id` refused with `error_code` (the Error is in the output).
        ChannelsClosed,    ///< CloseChannel removed `count` channels.
        ShareAccepted,     ///< A valid share: record it, then take_successes(); a block in `solution` or `block`.
        ShareRejected,     ///< An invalid share: `error` and `error_code` (its Error is in the output).
        CustomJobAccepted, ///< SetCustomMiningJob on `channel_id` accepted as `job_id` for `user`.
        CustomJobRefused,  ///< SetCustomMiningJob on `channel_id` refused with `error_code`.
    };
    Kind kind = Kind::Handled;
    /// SetUp: the SetupConnectionSuccess flags sent.
    std::uint32_t flags = 0;
    /// ChannelOpened, ShareAccepted, ShareRejected, CustomJobAccepted, CustomJobRefused: the
    /// channel.
    std::uint32_t channel_id = 0;
    /// OpenRefused: the request.
    std::uint32_t request_id = 0;
    /// ShareAccepted: the share's sequence number.
    std::uint32_t sequence_number = 0;
    /// ChannelsClosed: how many.
    std::size_t count = 0;
    /// ShareRejected: why (StaleShare, DifficultyTooLow, ...).
    std::optional<ErrorCode> error;
    /// OpenRefused, ShareRejected, CustomJobRefused: the spec's error code sent ("stale-share",
    /// "invalid-mining-job-token", ...).
    std::string error_code;
    /// CustomJobAccepted: the job id shares on the custom job name (its Success is in the
    /// output).
    std::uint32_t job_id = 0;
    /// CustomJobAccepted: the user its token was allocated for.
    std::string user;
    /// ShareAccepted: the header hash, the target it met and that target's difficulty.
    Bytes32 hash{};
    Bytes32 target{};
    double difficulty = 0;
    /// ShareAccepted when the share is a block: the SubmitSolution to send the template
    /// provider at once.
    std::optional<SubmitSolution> solution;
    /// ShareAccepted when the share is a block on a Full-Template custom job (no template, so
    /// no `solution`): the whole block, completed with the declared transactions, for the
    /// node's submitblock. (On a Coinbase-only custom job neither is set: its JDC submits it.)
    std::optional<std::vector<std::uint8_t>> block;
};

/// What a message from the server changed on a ClientEndpoint. `kind` says which fields mean
/// something.
struct ClientEvent {
    /// What changed.
    enum class Kind : std::uint8_t {
        Other,                   ///< Something this version has no kind for: ignore it.
        Connected,               ///< SetupConnectionSuccess with `flags`.
        ChannelOpened,           ///< Open `request_id` made `channel_id` (group, target, prefix, size).
        ChannelRefused,          ///< Open `request_id` refused with the code in `text`.
        StandardJob,             ///< Job `job_id` on standard channel `channel_id` (`min_ntime`: none if future).
        ExtendedJob,             ///< Job `job_id` on extended channel `channel_id` (`min_ntime`: none if future).
        PrevHash,                ///< New tip on `channel_id`: job `job_id` active from `min_ntime`.
        TargetChanged,           ///< New share `target` on `channel_id`.
        ExtranoncePrefixChanged, ///< New `extranonce_prefix` on `channel_id`.
        ShareAccepted,           ///< Share `sequence_number` (with `tag`) acknowledged.
        ShareRejected,           ///< Share `sequence_number` rejected with the code in `text`.
        UpdateRefused,           ///< UpdateChannel on `channel_id` refused with the code in `text`.
        ChannelClosed,           ///< The server closed `channel_id`, the reason in `text`.
        ExtensionsNegotiated,    ///< Both sides use `extensions` from now on.
        ExtensionsRefused,       ///< None used: `extensions` unsupported, `required_extensions` required.
        Reconnect,               ///< Reconnect to host `text`, `port` (empty and 0: the same).
    };
    Kind kind = Kind::Other;
    std::uint32_t flags = 0;
    std::uint32_t channel_id = 0;
    std::uint32_t request_id = 0;
    std::uint32_t group_channel_id = 0;
    std::uint32_t sequence_number = 0;
    std::uint32_t job_id = 0;
    std::optional<std::uint32_t> min_ntime;
    /// ChannelOpened: bytes the client rolls (0 on standard channels).
    std::uint16_t extranonce_size = 0;
    std::uint16_t port = 0;
    Bytes32 target{};
    /// ShareAccepted, ShareRejected: the caller's tag from submit() (none: the share was not
    /// pending).
    std::optional<std::uint64_t> tag;
    std::string text;
    std::vector<std::uint8_t> extranonce_prefix;
    std::vector<std::uint16_t> extensions;
    std::vector<std::uint16_t> required_extensions;
};

class TokenStore;
struct JdServerOptions;

/// One downstream Mining Protocol connection as a pool or proxy serves it: SetupConnection
/// negotiation, channel admission with extranonce prefixes, the jobs a new channel needs,
/// UpdateChannel and CloseChannel, share validation and the spec's error codes. Feed it every
/// message from the client with handle(); its answers queue in an output of plaintext frames
/// (take_output(), take_messages(), or send_output() into the connection's Session). An
/// sv2::Error from handle() or sync() means the connection must close: send what is queued
/// (SetupRefused has queued the SetupConnectionError), then close.
class ServerEndpoint {
  public:
    /// A connection before its SetupConnection. Channels take their prefixes from `prefixes`,
    /// which every endpoint of a server shares (also after it is destroyed); closed channels
    /// give them back. Throws sv2::Error (InvalidArgument for options out of range).
    ServerEndpoint(const ServerOptions &options, ExtranonceAllocator &prefixes);
    /// As above, with work selection (sv2/jd.hpp): the connection may set
    /// REQUIRES_WORK_SELECTION and send SetCustomMiningJob on its extended channels, each
    /// checked against `tokens` (the store the pool's JdServers share) and the pool outputs of
    /// `pool`, on the JobFactory's tip; events CustomJobAccepted and CustomJobRefused. Throws
    /// sv2::Error (InvalidArgument).
    ServerEndpoint(const ServerOptions &options, ExtranonceAllocator &prefixes, const TokenStore &tokens,
                   const JdServerOptions &pool);

    /// Handles a message from the client at monotonic time `now_mono` (seconds: vardiff) and
    /// unix time `now_unix` (a share's nTime); a new channel gets its jobs from `jobs`. Throws
    /// sv2::Error (SetupRefused, NotSetUp, UnexpectedMessage, InvalidShareFlood,
    /// TooManyShares).
    ServerEvent handle(const Message &m, const JobFactory &jobs, std::uint64_t now_mono, std::uint32_t now_unix);
    /// As above for a received frame (decoded here). Throws sv2::Error (also a decode error).
    ServerEvent handle(const Frame &f, const JobFactory &jobs, std::uint64_t now_mono, std::uint32_t now_unix);
    /// Brings every channel up to the factory's jobs after it took a template message.
    Synced sync(const JobFactory &jobs);
    /// Runs vardiff on every channel; returns how many SetTargets were queued.
    std::size_t retarget(std::uint64_t now_mono);
    /// Queues the SubmitSharesSuccess messages for every share accepted since the last call
    /// (call it once they are recorded); returns how many.
    std::size_t take_successes();
    /// Whether SetupConnection was accepted.
    bool set_up() const noexcept;
    /// Open channels.
    std::size_t channel_count() const noexcept;
    /// The user identity an open channel mines for, or nullopt.
    std::optional<std::string> channel_user(std::uint32_t channel_id) const;

    /// The queued output as plaintext frames (emptied).
    std::vector<std::uint8_t> take_output();
    /// The queued output as messages (emptied).
    std::vector<Message> take_messages();
    /// Moves the queued output into `session` (encrypted there once its handshake is done).
    /// Throws sv2::Error (NotEstablished).
    void send_output(Session &session);

  private:
    ServerEvent handle_frame(const sv2_frame &frame, const JobFactory &jobs, std::uint64_t now_mono,
                             std::uint32_t now_unix);
    static detail::Owned<sv2_server_options> c_options(const ServerOptions &options);
    void make(const sv2_server_options *options, ExtranonceAllocator &prefixes);

    detail::Owned<sv2_server_endpoint> impl_;
    bool set_up_ = false;
};

/// One upstream Mining Protocol connection as a miner or firmware uses it: SetupConnection,
/// channels opened by request id, jobs, targets and prefixes applied to its channels (work()
/// gives what to hash), sequence numbers, and each share's answer matched to the caller's
/// tag. Its messages queue in an output of plaintext frames, as ServerEndpoint's do.
class ClientEndpoint {
  public:
    /// A connection before its SetupConnection. Throws sv2::Error (InvalidArgument for text
    /// that is not UTF-8, TooLong).
    explicit ClientEndpoint(const ClientOptions &options);

    /// Queues SetupConnection (Mining Protocol, version 2).
    void setup_connection();
    /// Queues OpenStandardMiningChannel; returns its request id. Throws sv2::Error (NotSetUp,
    /// ExtendedChannelsRequired, TooManyRequests, TooLong, InvalidArgument).
    std::uint32_t open_standard(std::string_view user_identity, float nominal_hash_rate, const Bytes32 &max_target);
    /// Queues OpenExtendedMiningChannel; returns its request id. Throws as open_standard().
    std::uint32_t open_extended(std::string_view user_identity, float nominal_hash_rate, const Bytes32 &max_target,
                                std::uint16_t min_extranonce_size);
    /// Queues UpdateChannel. Throws sv2::Error (InvalidChannelId).
    void update_channel(std::uint32_t channel_id, float nominal_hash_rate, const Bytes32 &max_target);
    /// Queues CloseChannel and forgets the channel. Throws sv2::Error (InvalidChannelId).
    void close_channel(std::uint32_t channel_id, std::string_view reason);
    /// Queues RequestExtensions (e.g. 0x0002). Throws sv2::Error (NotSetUp).
    void request_extensions(const std::vector<std::uint16_t> &extensions);
    /// Queues a share on solved `work` of an open channel (its job and rolled extranonce);
    /// returns its sequence number. Its answer's event carries `tag`. Throws sv2::Error
    /// (InvalidChannelId, TooLong).
    std::uint32_t submit(std::uint32_t channel_id, const Work &work, std::uint32_t nonce, std::uint32_t ntime,
                         std::uint32_t version, std::uint64_t tag);
    /// Handles a message from the server; returns what it changed. Throws sv2::Error
    /// (SetupRefused, UnexpectedMessage, UnknownJob, ExtranonceLayout): close the connection.
    std::vector<ClientEvent> handle(const Message &m);
    /// As above for a received frame (decoded here). Throws sv2::Error (also a decode error).
    std::vector<ClientEvent> handle(const Frame &f);
    /// The work to hash on an open channel with `extranonce` rolled (its extranonce size;
    /// ignored on standard channels), or nullopt until a job is active. Throws sv2::Error
    /// (InvalidChannelId, InvalidArgument for an extranonce of the wrong size).
    std::optional<Work> work(std::uint32_t channel_id, ByteSpan extranonce = {}) const {
        return work_view(channel_id, detail::view(extranonce));
    }

    /// The queued output as plaintext frames (emptied).
    std::vector<std::uint8_t> take_output();
    /// The queued output as messages (emptied).
    std::vector<Message> take_messages();
    /// Moves the queued output into `session`. Throws sv2::Error (NotEstablished).
    void send_output(Session &session);

  private:
    std::vector<ClientEvent> handle_payload(std::uint16_t extension_type, std::uint8_t msg_type,
                                            detail::ByteView payload);
    std::optional<Work> work_view(std::uint32_t channel_id, detail::ByteView extranonce) const;

    detail::Owned<sv2bridge::ClientEndpointImpl> impl_;
};

// ---- Keys and certificates ----

/// A new random authority key pair. Throws sv2::Error (Entropy).
AuthorityKeypair generate_authority_keypair();
/// The key pair of a stored secret key. Throws sv2::Error (InvalidKey).
AuthorityKeypair authority_keypair_from_secret(const Bytes32 &secret_key);
/// The base58check text of an authority public key, as pools publish it. Throws sv2::Error
/// (InvalidKey).
std::string authority_key_to_text(const Bytes32 &public_key);
/// Parses that text. Throws sv2::Error (InvalidAuthorityKey).
Bytes32 authority_key_from_text(std::string_view text);
/// A fresh random static key with a certificate signed by the authority, valid over
/// [valid_from, not_valid_after] (unix seconds). Throws sv2::Error (InvalidKey, Entropy).
ServerCredentials generate_server_credentials(const Bytes32 &authority_secret_key, std::uint32_t valid_from,
                                              std::uint32_t not_valid_after);
/// A certificate for a stored static key. Throws sv2::Error (InvalidKey).
ServerCredentials issue_server_credentials(const Bytes32 &authority_secret_key, const Bytes32 &static_secret_key,
                                           std::uint32_t valid_from, std::uint32_t not_valid_after);
/// The x-only public key of the credentials' static key. Throws sv2::Error (InvalidKey).
Bytes32 server_public_key(const ServerCredentials &credentials);
/// Checks that `certificate` is signed by the authority for `server_key` and valid at `now`.
/// Throws sv2::Error (InvalidCertificateSignature, CertificateNotYetValid, CertificateExpired).
void verify_certificate(const Certificate &certificate, const Bytes32 &authority_public_key, const Bytes32 &server_key,
                        std::uint32_t now);

} // namespace sv2

#include "sv2/jd.hpp"

#endif // SV2_SV2_HPP
