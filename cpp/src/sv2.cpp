// The out-of-line C++ API (include/sv2/sv2.hpp) over the cxx bridge: records converted to and
// from the bridge's structs (convert.hpp), rust::Error turned into sv2::Error with the code
// the bridge left for it, the message variant's encode/decode dispatch, and every class
// member. Compiled into libsv2 with the generated bridge; nothing here is in a public header.
#include "sv2/sv2.hpp"

#include "convert.hpp"

namespace sv2 {

namespace bridge = ::sv2bridge;
namespace convert = ::sv2bridge::convert;
using convert::from_bridge;
using convert::slice;
using convert::to_bridge;

Error::~Error() = default;

namespace {

// Every bridge function that returns a Result has left its error's code for
// take_error_code() on this thread before cxx threw the rust::Error.
template <class F> decltype(auto) guarded(F &&f) {
    try {
        return f();
    } catch (const rust::Error &e) {
        throw Error(bridge::take_error_code(), e.what());
    }
}

template <class T> detail::Owned<T> own(rust::Box<T> b) noexcept { return detail::Owned<T>(b.into_raw()); }

rust::Vec<bridge::Tlv> bridge_tlvs(const std::vector<Tlv> &tlvs) {
    rust::Vec<bridge::Tlv> out;
    convert::put(out, tlvs);
    return out;
}

// The whole frame for `m` into `out` (replacing its contents).
void encode_into(const Message &m, const std::vector<Tlv> &tlvs, rust::Vec<std::uint8_t> &out) {
    rust::Vec<bridge::Tlv> t = bridge_tlvs(tlvs);
    rust::Slice<const bridge::Tlv> ts(t.data(), t.size());
    std::visit([&](const auto &msg) { guarded([&] { bridge::encode(to_bridge(msg), ts, out); }); }, m);
}

// Decoding picks the alternative by index: MessageType's value is the variant index.
using Decoder = Message (*)(rust::Slice<const std::uint8_t>, rust::Vec<bridge::Tlv> &);

template <std::size_t I> Message decode_as(rust::Slice<const std::uint8_t> payload, rust::Vec<bridge::Tlv> &tlvs) {
    using P = std::variant_alternative_t<I, Message>;
    convert::bridge_t<P> out{};
    guarded([&] { bridge::decode(payload, tlvs, out); });
    return Message(std::in_place_index<I>, from_bridge<P>(out));
}

template <std::size_t... I> constexpr std::array<Decoder, sizeof...(I)> decoders(std::index_sequence<I...>) {
    return {&decode_as<I>...};
}

constexpr auto DECODERS = decoders(std::make_index_sequence<std::variant_size_v<Message>>());

Message decode(std::uint16_t extension_type, std::uint8_t msg_type, rust::Slice<const std::uint8_t> payload,
               std::vector<Tlv> *tlvs) {
    MessageType t = guarded([&] { return bridge::message_type(extension_type, msg_type); });
    rust::Vec<bridge::Tlv> found;
    Message m = DECODERS.at(static_cast<std::size_t>(t))(payload, found);
    if (tlvs != nullptr) *tlvs = from_bridge<Tlv>(found);
    return m;
}

std::string_view view(rust::Str s) noexcept { return std::string_view(s.data(), s.size()); }

template <class Impl> std::optional<Frame> last_frame(Impl &impl) {
    if (!guarded([&] { return impl.next_frame(); })) return std::nullopt;
    auto payload = impl.frame_payload();
    return Frame{from_bridge<FrameHeader>(impl.frame_header()),
                 std::vector<std::uint8_t>(payload.begin(), payload.end())};
}

} // namespace

// ---- Freeing the bridge's objects ----

#define SV2_DROP(T) \
    void detail::Drop::operator()(sv2bridge::T *p) const noexcept { (void)rust::Box<bridge::T>::from_raw(p); }
SV2_DROP(SessionImpl)
SV2_DROP(FrameDecoderImpl)
SV2_DROP(ClientChannelImpl)
SV2_DROP(JobFactoryImpl)
SV2_DROP(ExtranonceAllocatorImpl)
SV2_DROP(ServerChannelImpl)
SV2_DROP(GroupChannelImpl)
#undef SV2_DROP

// ---- Messages ----

std::string_view version() noexcept { return view(bridge::version()); }

MessageSpec message_spec(MessageType t) {
    return from_bridge<MessageSpec>(guarded([&] { return bridge::message_spec(t); }));
}

std::string_view message_name(MessageType t) {
    return view(guarded([&] { return bridge::message_name(t); }));
}

Message detail::decode_message(std::uint16_t extension_type, std::uint8_t msg_type, ByteView payload,
                               std::vector<Tlv> *tlvs) {
    return decode(extension_type, msg_type, slice(payload), tlvs);
}

std::vector<std::uint8_t> encode_frame(const Message &m, const std::vector<Tlv> &tlvs) {
    rust::Vec<std::uint8_t> frame;
    encode_into(m, tlvs, frame);
    return std::vector<std::uint8_t>(frame.begin(), frame.end());
}

std::vector<std::uint8_t> encode_payload(const Message &m, const std::vector<Tlv> &tlvs) {
    rust::Vec<std::uint8_t> frame;
    encode_into(m, tlvs, frame);
    // Every encoded frame starts with its 6-byte header.
    return std::vector<std::uint8_t>(frame.begin() + 6, frame.end());
}

Tlv user_identity_tlv(std::string_view identity) {
    return from_bridge<Tlv>(guarded([&] { return bridge::user_identity_tlv(slice(identity)); }));
}

Message Frame::message(std::vector<Tlv> *tlvs) const {
    return decode(header.extension_type, header.msg_type,
                  rust::Slice<const std::uint8_t>(payload.data(), payload.size()), tlvs);
}

// ---- FrameDecoder ----

FrameDecoder::FrameDecoder(std::size_t max_payload) : impl_(own(bridge::frame_decoder_new(max_payload))) {}

void FrameDecoder::push_view(detail::ByteView bytes) { impl_->push(slice(bytes)); }

std::optional<Frame> FrameDecoder::next_frame() { return last_frame(*impl_); }

std::size_t FrameDecoder::buffered() const noexcept { return impl_->buffered(); }

// ---- Session ----

Session Session::initiator(const Bytes32 &authority_public_key, std::uint32_t now) {
    return Session(own(guarded([&] { return bridge::session_initiator(authority_public_key, now); })));
}

Session Session::initiator(const Bytes32 &authority_public_key, std::uint32_t now, const Bytes32 &entropy) {
    return Session(
        own(guarded([&] { return bridge::session_initiator_with_entropy(authority_public_key, entropy, now); })));
}

Session Session::responder(const ServerCredentials &credentials) {
    bridge::ServerCredentials c = to_bridge(credentials);
    return Session(own(guarded([&] { return bridge::session_responder(c); })));
}

Session Session::responder(const ServerCredentials &credentials, const Bytes32 &entropy) {
    bridge::ServerCredentials c = to_bridge(credentials);
    return Session(own(guarded([&] { return bridge::session_responder_with_entropy(c, entropy); })));
}

Session Session::plaintext() { return Session(own(bridge::session_plaintext())); }

void Session::set_max_payload(std::size_t max) noexcept { impl_->set_max_payload(max); }

bool Session::established() const noexcept { return impl_->is_established(); }

std::optional<Bytes32> Session::handshake_hash() const {
    Bytes32 hash{};
    if (!impl_->handshake_hash(hash)) return std::nullopt;
    return hash;
}

std::optional<HandshakeInfo> Session::handshake_info() const {
    bridge::HandshakeInfo info{};
    if (!impl_->handshake_info(info)) return std::nullopt;
    return from_bridge<HandshakeInfo>(info);
}

void Session::receive_view(detail::ByteView bytes) {
    guarded([&] { impl_->receive(slice(bytes)); });
}

std::optional<Frame> Session::next_frame() { return last_frame(*impl_); }

std::optional<Message> Session::next_message(std::vector<Tlv> *tlvs) {
    if (!guarded([&] { return impl_->next_frame(); })) return std::nullopt;
    bridge::FrameHeader h = impl_->frame_header();
    return decode(h.extension_type, h.msg_type, impl_->frame_payload(), tlvs);
}

void Session::send(const Message &m, const std::vector<Tlv> &tlvs) {
    rust::Vec<std::uint8_t> frame;
    encode_into(m, tlvs, frame);
    guarded([&] { impl_->send_encoded({frame.data(), frame.size()}); });
}

void Session::send_frame_view(const FrameHeader &header, detail::ByteView payload) {
    guarded([&] { impl_->send_frame(to_bridge(header), slice(payload)); });
}

detail::ByteView Session::pending_view() const noexcept {
    auto s = impl_->pending_output();
    return detail::ByteView(s.data(), s.size());
}

void Session::consume_output(std::size_t n) noexcept { impl_->consume_output(n); }

std::vector<std::uint8_t> Session::take_output() {
    auto pending = impl_->pending_output();
    std::vector<std::uint8_t> out(pending.begin(), pending.end());
    impl_->consume_output(out.size());
    return out;
}

// ---- ClientChannel ----

ClientChannel ClientChannel::standard_view(std::uint32_t channel_id, const Bytes32 &target,
                                           detail::ByteView extranonce_prefix, bool allow_version_rolling) {
    return ClientChannel(own(guarded([&] {
        return bridge::client_channel_standard(channel_id, target, slice(extranonce_prefix), allow_version_rolling);
    })));
}

ClientChannel ClientChannel::extended_view(std::uint32_t channel_id, const Bytes32 &target,
                                           detail::ByteView extranonce_prefix, std::uint16_t extranonce_size) {
    return ClientChannel(own(guarded([&] {
        return bridge::client_channel_extended(channel_id, target, slice(extranonce_prefix), extranonce_size);
    })));
}

std::uint32_t ClientChannel::channel_id() const noexcept { return impl_->channel_id(); }

std::size_t ClientChannel::extranonce_size() const noexcept { return impl_->extranonce_size(); }

Bytes32 ClientChannel::target() const noexcept { return impl_->target(); }

void ClientChannel::set_group_channel_id(std::uint32_t group_channel_id) noexcept {
    impl_->set_group_channel_id(group_channel_id);
}

std::optional<std::uint32_t> ClientChannel::group_channel_id() const noexcept {
    std::uint32_t group = 0;
    if (!impl_->group_channel_id(group)) return std::nullopt;
    return group;
}

bool ClientChannel::handle(const Message &m) {
    const std::uint32_t id = impl_->channel_id();
    // A group's NewExtendedMiningJob, SetNewPrevHash and SetTarget reach every member; a
    // NewMiningJob and SetExtranoncePrefix are only ever for the channel itself.
    if (auto *job = std::get_if<NewMiningJob>(&m); job && job->channel_id == id) {
        impl_->on_new_mining_job(to_bridge(*job));
    } else if (auto *ext = std::get_if<NewExtendedMiningJob>(&m); ext && impl_->is_addressed_by(ext->channel_id)) {
        bridge::NewExtendedMiningJob b = to_bridge(*ext);
        guarded([&] { impl_->on_new_extended_job(b); });
    } else if (auto *prev = std::get_if<SetNewPrevHash>(&m); prev && impl_->is_addressed_by(prev->channel_id)) {
        impl_->on_set_new_prev_hash(to_bridge(*prev));
    } else if (auto *target = std::get_if<SetTarget>(&m); target && impl_->is_addressed_by(target->channel_id)) {
        impl_->on_set_target(to_bridge(*target));
    } else if (auto *prefix = std::get_if<SetExtranoncePrefix>(&m); prefix && prefix->channel_id == id) {
        impl_->on_set_extranonce_prefix(to_bridge(*prefix));
    } else if (auto *group = std::get_if<SetGroupChannel>(&m)) {
        return impl_->on_set_group_channel(to_bridge(*group));
    } else {
        return false;
    }
    return true;
}

std::optional<Work> ClientChannel::work_view(detail::ByteView extranonce) const {
    bridge::Work w{};
    if (!guarded([&] { return impl_->work(slice(extranonce), w); })) return std::nullopt;
    return from_bridge<Work>(w);
}

SubmitSharesStandard ClientChannel::submit_standard(const Work &work, std::uint32_t sequence_number,
                                                    std::uint32_t nonce, std::uint32_t ntime,
                                                    std::uint32_t version) const {
    return from_bridge<SubmitSharesStandard>(
        impl_->submit_standard(to_bridge(work), sequence_number, nonce, ntime, version));
}

SubmitSharesExtended ClientChannel::submit_extended(const Work &work, std::uint32_t sequence_number,
                                                    std::uint32_t nonce, std::uint32_t ntime,
                                                    std::uint32_t version) const {
    bridge::Work w = to_bridge(work);
    return from_bridge<SubmitSharesExtended>(
        guarded([&] { return impl_->submit_extended(w, sequence_number, nonce, ntime, version); }));
}

Bytes32 detail::sha256d(ByteView data) noexcept { return bridge::sha256d(slice(data)); }

Bytes32 header_hash(const Work &work, std::uint32_t version, std::uint32_t ntime, std::uint32_t nonce) {
    return bridge::header_hash(to_bridge(work), version, ntime, nonce);
}

bool hash_meets_target(const Bytes32 &hash, const Bytes32 &target) noexcept {
    return bridge::hash_meets_target(hash, target);
}

Bytes32 target_from_nbits(std::uint32_t nbits) noexcept { return bridge::target_from_nbits(nbits); }

// ---- Pool side ----

namespace {

// The messages of a channel call, in the order it made them.
std::vector<Message> unpack(const bridge::ChannelMessages &m) {
    std::vector<Message> out;
    std::size_t standard = 0, extended = 0, target = 0, update_error = 0, open_standard = 0, open_extended = 0;
    for (std::uint8_t t : m.order) {
        switch (static_cast<MessageType>(t)) {
        case MessageType::NewMiningJob:
            out.emplace_back(from_bridge<NewMiningJob>(m.new_mining_job.at(standard++)));
            break;
        case MessageType::NewExtendedMiningJob:
            out.emplace_back(from_bridge<NewExtendedMiningJob>(m.new_extended_mining_job.at(extended++)));
            break;
        case MessageType::SetTarget: out.emplace_back(from_bridge<SetTarget>(m.set_target.at(target++))); break;
        case MessageType::UpdateChannelError:
            out.emplace_back(from_bridge<UpdateChannelError>(m.update_channel_error.at(update_error++)));
            break;
        case MessageType::OpenStandardMiningChannelSuccess:
            out.emplace_back(from_bridge<OpenStandardMiningChannelSuccess>(
                m.open_standard_mining_channel_success.at(open_standard++)));
            break;
        case MessageType::OpenExtendedMiningChannelSuccess:
            out.emplace_back(from_bridge<OpenExtendedMiningChannelSuccess>(
                m.open_extended_mining_channel_success.at(open_extended++)));
            break;
        default: throw Error(ErrorCode::Internal, "a channel made an unexpected message");
        }
    }
    return out;
}

std::optional<Message> first(const bridge::ChannelMessages &m) {
    std::vector<Message> all = unpack(m);
    if (all.empty()) return std::nullopt;
    return std::move(all.front());
}

bridge::OptionU32 option(std::optional<std::uint32_t> v) noexcept {
    return bridge::OptionU32{v.has_value(), v.value_or(0)};
}

ShareResult share_result(const bridge::ShareVerdict &v) {
    ShareResult r;
    if (!v.accepted) {
        r.error = v.error;
        r.reply = from_bridge<SubmitSharesError>(v.reply);
        return r;
    }
    r.hash = v.hash;
    r.target = v.target;
    r.difficulty = v.difficulty;
    if (v.block) r.solution = from_bridge<SubmitSolution>(v.solution);
    return r;
}

// Validates `submit` on `impl` (a server or group channel) by its type.
template <class Impl> ShareResult validate_share(Impl &impl, const Message &submit, std::uint32_t now) {
    if (auto *s = std::get_if<SubmitSharesStandard>(&submit)) {
        bridge::SubmitSharesStandard b = to_bridge(*s);
        return share_result(guarded([&] { return impl.validate_standard(b, now); }));
    }
    if (auto *e = std::get_if<SubmitSharesExtended>(&submit)) {
        bridge::SubmitSharesExtended b = to_bridge(*e);
        return share_result(guarded([&] { return impl.validate_extended(b, now); }));
    }
    throw Error(ErrorCode::InvalidArgument, "validate takes SubmitSharesStandard or SubmitSharesExtended");
}

} // namespace

JobFactory::JobFactory(detail::ByteView payout_script, detail::ByteView pool_tag, std::size_t extranonce_len,
                       bool version_rolling)
    : impl_(own(guarded([&] {
          return bridge::job_factory_new(slice(payout_script), slice(pool_tag), extranonce_len, version_rolling);
      }))) {}

CoinbaseOutputConstraints JobFactory::coinbase_output_constraints() const noexcept {
    return from_bridge<CoinbaseOutputConstraints>(impl_->coinbase_output_constraints());
}

std::optional<TemplateJob> JobFactory::handle(const Message &m) {
    if (auto *t = std::get_if<NewTemplate>(&m)) {
        bridge::NewTemplate b = to_bridge(*t);
        return from_bridge<TemplateJob>(guarded([&] { return impl_->on_new_template(b); }));
    }
    if (auto *p = std::get_if<SetNewPrevHashTdp>(&m)) {
        bridge::SetNewPrevHashTdp b = to_bridge(*p);
        return from_bridge<TemplateJob>(guarded([&] { return impl_->on_set_new_prev_hash(b); }));
    }
    return std::nullopt;
}

std::vector<TemplateJob> JobFactory::jobs() const { return from_bridge<TemplateJob>(impl_->jobs()); }

ExtranonceAllocator::ExtranonceAllocator(detail::ByteView upstream, std::size_t counter_len, std::size_t full_len)
    : impl_(own(guarded([&] { return bridge::extranonce_allocator_new(slice(upstream), counter_len, full_len); }))) {}

std::size_t ExtranonceAllocator::rollable() const noexcept { return impl_->rollable(); }

std::vector<std::uint8_t> ExtranonceAllocator::next_extended() {
    rust::Vec<std::uint8_t> p = guarded([&] { return impl_->next_extended(); });
    return std::vector<std::uint8_t>(p.begin(), p.end());
}

std::vector<std::uint8_t> ExtranonceAllocator::next_standard() {
    rust::Vec<std::uint8_t> p = guarded([&] { return impl_->next_standard(); });
    return std::vector<std::uint8_t>(p.begin(), p.end());
}

Bytes32 target_for_hashrate(double hashrate, double shares_per_minute, const Bytes32 &max_target) {
    return guarded([&] { return bridge::target_for_hashrate(hashrate, shares_per_minute, max_target); });
}

ServerChannel::ServerChannel(const ServerChannelParams &params, std::uint64_t now)
    : impl_(own(guarded([&] { return bridge::server_channel_new(to_bridge(params), now); }))) {}

std::uint32_t ServerChannel::channel_id() const noexcept { return impl_->channel_id(); }

Bytes32 ServerChannel::target() const noexcept { return impl_->target(); }

Message ServerChannel::open_success(std::uint32_t request_id, std::uint32_t group_channel_id) const {
    bridge::ChannelMessages m;
    guarded([&] { impl_->open_success(request_id, group_channel_id, m); });
    return unpack(m).at(0);
}

Message ServerChannel::add_job(const JobFactory &factory, std::uint32_t job_id,
                               std::optional<std::uint32_t> min_ntime) {
    bridge::ChannelMessages m;
    guarded([&] { impl_->add_job(*factory.impl_, job_id, option(min_ntime), m); });
    return unpack(m).at(0);
}

SetNewPrevHash ServerChannel::activate(const JobFactory &factory) {
    return from_bridge<SetNewPrevHash>(guarded([&] { return impl_->activate(*factory.impl_); }));
}

ShareResult ServerChannel::validate(const Message &submit, std::uint32_t now) {
    return validate_share(*impl_, submit, now);
}

std::optional<SubmitSharesSuccess> ServerChannel::take_success() {
    bridge::SubmitSharesSuccess s{};
    if (!impl_->take_success(s)) return std::nullopt;
    return from_bridge<SubmitSharesSuccess>(s);
}

SetTarget ServerChannel::set_target(const Bytes32 &target) noexcept {
    return from_bridge<SetTarget>(impl_->set_target(target));
}

std::optional<Message> ServerChannel::update(const UpdateChannel &m, std::uint64_t now) {
    bridge::ChannelMessages out;
    bridge::UpdateChannel b = to_bridge(m);
    guarded([&] { impl_->update(b, now, out); });
    return first(out);
}

std::optional<SetTarget> ServerChannel::retarget(std::uint64_t now) {
    bridge::SetTarget t{};
    if (!impl_->retarget(now, t)) return std::nullopt;
    return from_bridge<SetTarget>(t);
}

GroupChannel::GroupChannel(std::uint32_t group_id, bool requires_standard_jobs)
    : impl_(own(bridge::group_channel_new(group_id, requires_standard_jobs))) {}

std::uint32_t GroupChannel::group_id() const noexcept { return impl_->group_id(); }

std::size_t GroupChannel::size() const noexcept { return impl_->size(); }

void GroupChannel::add(ServerChannel &&channel) {
    // Checked first: once moved, the channel cannot come back.
    if (!impl_->can_add(channel.channel_id()))
        throw Error(ErrorCode::InvalidChannelId, "channel id is the group's or a member's");
    guarded([&] { impl_->add(rust::Box<bridge::ServerChannelImpl>::from_raw(channel.impl_.release())); });
}

ServerChannel GroupChannel::remove(std::uint32_t channel_id) {
    return ServerChannel(own(guarded([&] { return impl_->remove(channel_id); })));
}

std::vector<Message> GroupChannel::add_job(const JobFactory &factory, std::uint32_t job_id,
                                           std::optional<std::uint32_t> min_ntime) {
    bridge::ChannelMessages m;
    guarded([&] { impl_->add_job(*factory.impl_, job_id, option(min_ntime), m); });
    return unpack(m);
}

std::vector<SetNewPrevHash> GroupChannel::activate(const JobFactory &factory) {
    return from_bridge<SetNewPrevHash>(guarded([&] { return impl_->activate(*factory.impl_); }));
}

SetTarget GroupChannel::set_target(const Bytes32 &target) noexcept {
    return from_bridge<SetTarget>(impl_->set_target(target));
}

ShareResult GroupChannel::validate(const Message &submit, std::uint32_t now) {
    return validate_share(*impl_, submit, now);
}

std::vector<SubmitSharesSuccess> GroupChannel::take_successes() {
    return from_bridge<SubmitSharesSuccess>(impl_->take_successes());
}

std::optional<Message> GroupChannel::update(const UpdateChannel &m, std::uint64_t now) {
    bridge::ChannelMessages out;
    bridge::UpdateChannel b = to_bridge(m);
    guarded([&] { impl_->update(b, now, out); });
    return first(out);
}

std::vector<SetTarget> GroupChannel::retarget(std::uint64_t now) {
    return from_bridge<SetTarget>(impl_->retarget(now));
}

// ---- Keys and certificates ----

AuthorityKeypair generate_authority_keypair() {
    return from_bridge<AuthorityKeypair>(guarded([] { return bridge::authority_keypair_generate(); }));
}

AuthorityKeypair authority_keypair_from_secret(const Bytes32 &secret_key) {
    return from_bridge<AuthorityKeypair>(guarded([&] { return bridge::authority_keypair_from_secret(secret_key); }));
}

std::string authority_key_to_text(const Bytes32 &public_key) {
    return std::string(guarded([&] { return bridge::authority_key_to_text(public_key); }));
}

Bytes32 authority_key_from_text(std::string_view text) {
    return guarded([&] { return bridge::authority_key_from_text(slice(text)); });
}

ServerCredentials generate_server_credentials(const Bytes32 &authority_secret_key, std::uint32_t valid_from,
                                              std::uint32_t not_valid_after) {
    return from_bridge<ServerCredentials>(guarded(
        [&] { return bridge::server_credentials_generate(authority_secret_key, valid_from, not_valid_after); }));
}

ServerCredentials issue_server_credentials(const Bytes32 &authority_secret_key, const Bytes32 &static_secret_key,
                                           std::uint32_t valid_from, std::uint32_t not_valid_after) {
    return from_bridge<ServerCredentials>(guarded([&] {
        return bridge::server_credentials_issue(authority_secret_key, static_secret_key, valid_from, not_valid_after);
    }));
}

Bytes32 server_public_key(const ServerCredentials &credentials) {
    bridge::ServerCredentials c = to_bridge(credentials);
    return guarded([&] { return bridge::server_public_key(c); });
}

void verify_certificate(const Certificate &certificate, const Bytes32 &authority_public_key, const Bytes32 &server_key,
                        std::uint32_t now) {
    bridge::Certificate c = to_bridge(certificate);
    guarded([&] { bridge::certificate_verify(c, authority_public_key, server_key, now); });
}

} // namespace sv2
