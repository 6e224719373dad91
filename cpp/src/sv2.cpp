// The out-of-line parts of the C++ API (include/sv2/sv2.hpp): turning the bridge's rust::Error
// into sv2::Error, the message variant's encode/decode dispatch, and the class members that
// can fail. Compiled into libsv2.a with the generated bridge.
#include "sv2/sv2.hpp"

#include <cstdlib>
#include <iterator>

namespace sv2 {
namespace {

// Bridge errors arrive as rust::Error with the message "<code>:<detail>" (cpp/src/error.rs).
[[noreturn]] void rethrow(const rust::Error &e) {
    std::string_view what(e.what());
    std::size_t colon = what.find(':');
    unsigned long code = 299; // Internal, should the format ever not match
    if (colon != std::string_view::npos && colon > 0) {
        std::string digits(what.substr(0, colon));
        char *end = nullptr;
        unsigned long parsed = std::strtoul(digits.c_str(), &end, 10);
        if (end == digits.c_str() + digits.size()) {
            code = parsed;
            what.remove_prefix(colon + 1);
        }
    }
    throw Error(static_cast<ErrorCode>(code), std::string(what));
}

template <class F>
decltype(auto) guarded(F &&f) {
    try {
        return f();
    } catch (const rust::Error &e) {
        rethrow(e);
    }
}

std::vector<Tlv> from_rust(rust::Vec<Tlv> &tlvs) {
    return std::vector<Tlv>(std::make_move_iterator(tlvs.begin()), std::make_move_iterator(tlvs.end()));
}

rust::Slice<const Tlv> slice(const std::vector<Tlv> &tlvs) noexcept { return {tlvs.data(), tlvs.size()}; }

// Encodes the whole frame for `m` into `out` (replacing its contents).
void encode_into(const Message &m, const std::vector<Tlv> &tlvs, rust::Vec<std::uint8_t> &out) {
    guarded([&] { std::visit([&](const auto &msg) { detail::encode(msg, slice(tlvs), out); }, m); });
}

// Decoding picks the alternative by index: MessageType's value is the variant index.
using Decoder = Message (*)(rust::Slice<const std::uint8_t>, rust::Vec<Tlv> &);

template <std::size_t I>
Message decode_as(rust::Slice<const std::uint8_t> payload, rust::Vec<Tlv> &tlvs) {
    std::variant_alternative_t<I, Message> out{};
    detail::decode(payload, tlvs, out);
    return Message(std::in_place_index<I>, std::move(out));
}

template <std::size_t... I>
constexpr std::array<Decoder, sizeof...(I)> decoders(std::index_sequence<I...>) {
    return {&decode_as<I>...};
}

constexpr auto DECODERS = decoders(std::make_index_sequence<std::variant_size_v<Message>>());
static_assert(DECODERS.size() == static_cast<std::size_t>(MessageType::RequestExtensionsError) + 1,
              "sv2::Message must have one alternative per sv2::MessageType, in order");

} // namespace

namespace detail {
Message decode_message(std::uint16_t extension_type, std::uint8_t msg_type, rust::Slice<const std::uint8_t> payload,
                       std::vector<Tlv> *tlvs) {
    return guarded([&] {
        MessageType t = detail::message_type(extension_type, msg_type);
        rust::Vec<Tlv> found;
        Message m = DECODERS.at(static_cast<std::size_t>(t))(payload, found);
        if (tlvs != nullptr) *tlvs = from_rust(found);
        return m;
    });
}
} // namespace detail

std::string_view version() noexcept {
    rust::Str v = detail::version();
    return std::string_view(v.data(), v.size());
}

MessageSpec message_spec(MessageType t) {
    return guarded([&] { return detail::message_spec(t); });
}

std::string_view message_name(MessageType t) {
    rust::Str name = guarded([&] { return detail::message_name(t); });
    return std::string_view(name.data(), name.size());
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
    return guarded([&] { return detail::user_identity_tlv(rust::Str(identity.data(), identity.size())); });
}

Message Frame::message(std::vector<Tlv> *tlvs) const {
    return detail::decode_message(header.extension_type, header.msg_type, {payload.data(), payload.size()}, tlvs);
}

// ---- FrameDecoder ----

FrameDecoder::FrameDecoder(std::size_t max_payload) : impl_(detail::frame_decoder_new(max_payload)) {}

std::optional<Frame> FrameDecoder::next_frame() {
    if (!guarded([&] { return impl_->next_frame(); })) return std::nullopt;
    auto payload = impl_->frame_payload();
    return Frame{impl_->frame_header(), std::vector<std::uint8_t>(payload.begin(), payload.end())};
}

// ---- Session ----

Session Session::initiator(const Bytes32 &authority_public_key, std::uint32_t now) {
    return Session(guarded([&] { return detail::session_initiator(authority_public_key, now); }));
}

Session Session::initiator(const Bytes32 &authority_public_key, std::uint32_t now, const Bytes32 &entropy) {
    return Session(guarded([&] { return detail::session_initiator_with_entropy(authority_public_key, entropy, now); }));
}

Session Session::responder(const ServerCredentials &credentials) {
    return Session(guarded([&] { return detail::session_responder(credentials); }));
}

Session Session::responder(const ServerCredentials &credentials, const Bytes32 &entropy) {
    return Session(guarded([&] { return detail::session_responder_with_entropy(credentials, entropy); }));
}

Session Session::plaintext() { return Session(detail::session_plaintext()); }

std::optional<Bytes32> Session::handshake_hash() const {
    Bytes32 hash{};
    if (!impl_->handshake_hash(hash)) return std::nullopt;
    return hash;
}

std::optional<HandshakeInfo> Session::handshake_info() const {
    HandshakeInfo info{};
    if (!impl_->handshake_info(info)) return std::nullopt;
    return info;
}

void Session::receive_slice(rust::Slice<const std::uint8_t> bytes) {
    guarded([&] { impl_->receive(bytes); });
}

std::optional<Frame> Session::next_frame() {
    if (!guarded([&] { return impl_->next_frame(); })) return std::nullopt;
    auto payload = impl_->frame_payload();
    return Frame{impl_->frame_header(), std::vector<std::uint8_t>(payload.begin(), payload.end())};
}

std::optional<Message> Session::next_message(std::vector<Tlv> *tlvs) {
    if (!guarded([&] { return impl_->next_frame(); })) return std::nullopt;
    FrameHeader h = impl_->frame_header();
    return detail::decode_message(h.extension_type, h.msg_type, impl_->frame_payload(), tlvs);
}

void Session::send(const Message &m, const std::vector<Tlv> &tlvs) {
    encode_into(m, tlvs, scratch_);
    guarded([&] { impl_->send_encoded({scratch_.data(), scratch_.size()}); });
}

void Session::send_frame_slice(const FrameHeader &header, rust::Slice<const std::uint8_t> payload) {
    guarded([&] { impl_->send_frame(header, payload); });
}

std::vector<std::uint8_t> Session::take_output() {
    auto pending = impl_->pending_output();
    std::vector<std::uint8_t> out(pending.begin(), pending.end());
    impl_->consume_output(out.size());
    return out;
}

// ---- ClientChannel ----

bool ClientChannel::handle(const Message &m) {
    const std::uint32_t id = impl_->channel_id();
    // A group's NewExtendedMiningJob, SetNewPrevHash and SetTarget reach every member; a
    // NewMiningJob and SetExtranoncePrefix are only ever for the channel itself.
    if (auto *job = std::get_if<NewMiningJob>(&m); job && job->channel_id == id) {
        impl_->on_new_mining_job(*job);
    } else if (auto *ext = std::get_if<NewExtendedMiningJob>(&m); ext && impl_->is_addressed_by(ext->channel_id)) {
        guarded([&] { impl_->on_new_extended_job(*ext); });
    } else if (auto *prev = std::get_if<SetNewPrevHash>(&m); prev && impl_->is_addressed_by(prev->channel_id)) {
        impl_->on_set_new_prev_hash(*prev);
    } else if (auto *target = std::get_if<SetTarget>(&m); target && impl_->is_addressed_by(target->channel_id)) {
        impl_->on_set_target(*target);
    } else if (auto *prefix = std::get_if<SetExtranoncePrefix>(&m); prefix && prefix->channel_id == id) {
        impl_->on_set_extranonce_prefix(*prefix);
    } else if (auto *group = std::get_if<SetGroupChannel>(&m)) {
        return impl_->on_set_group_channel(*group);
    } else {
        return false;
    }
    return true;
}

std::optional<std::uint32_t> ClientChannel::group_channel_id() const noexcept {
    std::uint32_t group = 0;
    if (!impl_->group_channel_id(group)) return std::nullopt;
    return group;
}

std::optional<Work> ClientChannel::work_slice(rust::Slice<const std::uint8_t> extranonce) const {
    Work w{};
    if (!guarded([&] { return impl_->work(extranonce, w); })) return std::nullopt;
    return w;
}

SubmitSharesExtended ClientChannel::submit_extended(const Work &work, std::uint32_t sequence_number,
                                                    std::uint32_t nonce, std::uint32_t ntime,
                                                    std::uint32_t version) const {
    return guarded([&] { return impl_->submit_extended(work, sequence_number, nonce, ntime, version); });
}

// ---- Pool side ----

namespace {

// The messages of a channel call, in the order it made them.
std::vector<Message> unpack(detail::ChannelMessages &m) {
    std::vector<Message> out;
    std::size_t standard = 0, extended = 0, target = 0, update_error = 0, open_standard = 0, open_extended = 0;
    for (std::uint8_t t : m.order) {
        switch (static_cast<MessageType>(t)) {
        case MessageType::NewMiningJob:
            out.emplace_back(std::move(m.new_mining_job.at(standard++)));
            break;
        case MessageType::NewExtendedMiningJob:
            out.emplace_back(std::move(m.new_extended_mining_job.at(extended++)));
            break;
        case MessageType::SetTarget:
            out.emplace_back(std::move(m.set_target.at(target++)));
            break;
        case MessageType::UpdateChannelError:
            out.emplace_back(std::move(m.update_channel_error.at(update_error++)));
            break;
        case MessageType::OpenStandardMiningChannelSuccess:
            out.emplace_back(std::move(m.open_standard_mining_channel_success.at(open_standard++)));
            break;
        case MessageType::OpenExtendedMiningChannelSuccess:
            out.emplace_back(std::move(m.open_extended_mining_channel_success.at(open_extended++)));
            break;
        default:
            throw Error(ErrorCode::Internal, "a channel made an unexpected message");
        }
    }
    return out;
}

std::optional<Message> first(detail::ChannelMessages &m) {
    std::vector<Message> all = unpack(m);
    if (all.empty()) return std::nullopt;
    return std::move(all.front());
}

OptionU32 option(std::optional<std::uint32_t> v) noexcept { return OptionU32{v.has_value(), v.value_or(0)}; }

ShareResult share_result(detail::ShareVerdict &v) {
    ShareResult r;
    if (!v.accepted) {
        r.error = v.error;
        r.reply = std::move(v.reply);
        return r;
    }
    r.hash = v.hash;
    r.target = v.target;
    r.difficulty = v.difficulty;
    if (v.block) r.solution = std::move(v.solution);
    return r;
}

// Validates `submit` with `standard` or `extended` by its type.
template <class Standard, class Extended>
ShareResult validate_share(const Message &submit, Standard &&standard, Extended &&extended) {
    detail::ShareVerdict v = guarded([&] {
        if (auto *s = std::get_if<SubmitSharesStandard>(&submit)) return standard(*s);
        if (auto *e = std::get_if<SubmitSharesExtended>(&submit)) return extended(*e);
        throw Error(ErrorCode::InvalidArgument, "validate takes SubmitSharesStandard or SubmitSharesExtended");
    });
    return share_result(v);
}

} // namespace

rust::Box<detail::JobFactoryImpl> JobFactory::make(rust::Slice<const std::uint8_t> payout_script,
                                                   rust::Slice<const std::uint8_t> pool_tag,
                                                   std::size_t extranonce_len, bool version_rolling) {
    return guarded([&] { return detail::job_factory_new(payout_script, pool_tag, extranonce_len, version_rolling); });
}

std::optional<TemplateJob> JobFactory::handle(const Message &m) {
    if (auto *t = std::get_if<NewTemplate>(&m)) return guarded([&] { return impl_->on_new_template(*t); });
    if (auto *p = std::get_if<SetNewPrevHashTdp>(&m)) return guarded([&] { return impl_->on_set_new_prev_hash(*p); });
    return std::nullopt;
}

std::vector<TemplateJob> JobFactory::jobs() const {
    rust::Vec<TemplateJob> jobs = impl_->jobs();
    return std::vector<TemplateJob>(jobs.begin(), jobs.end());
}

rust::Box<detail::ExtranonceAllocatorImpl> ExtranonceAllocator::make(rust::Slice<const std::uint8_t> upstream,
                                                                     std::size_t counter_len, std::size_t full_len) {
    return guarded([&] { return detail::extranonce_allocator_new(upstream, counter_len, full_len); });
}

std::vector<std::uint8_t> ExtranonceAllocator::next_extended() {
    rust::Vec<std::uint8_t> p = guarded([&] { return impl_->next_extended(); });
    return std::vector<std::uint8_t>(p.begin(), p.end());
}

std::vector<std::uint8_t> ExtranonceAllocator::next_standard() {
    rust::Vec<std::uint8_t> p = guarded([&] { return impl_->next_standard(); });
    return std::vector<std::uint8_t>(p.begin(), p.end());
}

Bytes32 target_for_hashrate(double hashrate, double shares_per_minute, const Bytes32 &max_target) {
    return guarded([&] { return detail::target_for_hashrate(hashrate, shares_per_minute, max_target); });
}

ServerChannel::ServerChannel(const ServerChannelParams &params, std::uint64_t now)
    : impl_(guarded([&] { return detail::server_channel_new(params, now); })) {}

Message ServerChannel::open_success(std::uint32_t request_id, std::uint32_t group_channel_id) const {
    detail::ChannelMessages m;
    guarded([&] { impl_->open_success(request_id, group_channel_id, m); });
    return unpack(m).at(0);
}

Message ServerChannel::add_job(const JobFactory &factory, std::uint32_t job_id,
                               std::optional<std::uint32_t> min_ntime) {
    detail::ChannelMessages m;
    guarded([&] { impl_->add_job(*factory.impl_, job_id, option(min_ntime), m); });
    return unpack(m).at(0);
}

SetNewPrevHash ServerChannel::activate(const JobFactory &factory) {
    return guarded([&] { return impl_->activate(*factory.impl_); });
}

ShareResult ServerChannel::validate(const Message &submit, std::uint32_t now) {
    return validate_share(
        submit, [&](const SubmitSharesStandard &s) { return impl_->validate_standard(s, now); },
        [&](const SubmitSharesExtended &e) { return impl_->validate_extended(e, now); });
}

std::optional<SubmitSharesSuccess> ServerChannel::take_success() {
    SubmitSharesSuccess s{};
    if (!impl_->take_success(s)) return std::nullopt;
    return s;
}

std::optional<Message> ServerChannel::update(const UpdateChannel &m, std::uint64_t now) {
    detail::ChannelMessages out;
    guarded([&] { impl_->update(m, now, out); });
    return first(out);
}

std::optional<SetTarget> ServerChannel::retarget(std::uint64_t now) {
    SetTarget t{};
    if (!impl_->retarget(now, t)) return std::nullopt;
    return t;
}

void GroupChannel::add(ServerChannel &&channel) {
    // Checked first: once moved, the channel cannot come back.
    if (!impl_->can_add(channel.channel_id()))
        throw Error(ErrorCode::InvalidChannelId, "channel id is the group's or a member's");
    guarded([&] { impl_->add(std::move(channel.impl_)); });
}

ServerChannel GroupChannel::remove(std::uint32_t channel_id) {
    return ServerChannel(guarded([&] { return impl_->remove(channel_id); }));
}

std::vector<Message> GroupChannel::add_job(const JobFactory &factory, std::uint32_t job_id,
                                           std::optional<std::uint32_t> min_ntime) {
    detail::ChannelMessages m;
    guarded([&] { impl_->add_job(*factory.impl_, job_id, option(min_ntime), m); });
    return unpack(m);
}

std::vector<SetNewPrevHash> GroupChannel::activate(const JobFactory &factory) {
    return from_rust(guarded([&] { return impl_->activate(*factory.impl_); }));
}

ShareResult GroupChannel::validate(const Message &submit, std::uint32_t now) {
    return validate_share(
        submit, [&](const SubmitSharesStandard &s) { return impl_->validate_standard(s, now); },
        [&](const SubmitSharesExtended &e) { return impl_->validate_extended(e, now); });
}

std::optional<Message> GroupChannel::update(const UpdateChannel &m, std::uint64_t now) {
    detail::ChannelMessages out;
    guarded([&] { impl_->update(m, now, out); });
    return first(out);
}

// ---- Keys and certificates ----

AuthorityKeypair generate_authority_keypair() {
    return guarded([] { return detail::authority_keypair_generate(); });
}

AuthorityKeypair authority_keypair_from_secret(const Bytes32 &secret_key) {
    return guarded([&] { return detail::authority_keypair_from_secret(secret_key); });
}

std::string authority_key_to_text(const Bytes32 &public_key) {
    return std::string(guarded([&] { return detail::authority_key_to_text(public_key); }));
}

Bytes32 authority_key_from_text(std::string_view text) {
    return guarded([&] { return detail::authority_key_from_text(rust::Str(text.data(), text.size())); });
}

ServerCredentials generate_server_credentials(const Bytes32 &authority_secret_key, std::uint32_t valid_from,
                                              std::uint32_t not_valid_after) {
    return guarded(
        [&] { return detail::server_credentials_generate(authority_secret_key, valid_from, not_valid_after); });
}

ServerCredentials issue_server_credentials(const Bytes32 &authority_secret_key, const Bytes32 &static_secret_key,
                                           std::uint32_t valid_from, std::uint32_t not_valid_after) {
    return guarded([&] {
        return detail::server_credentials_issue(authority_secret_key, static_secret_key, valid_from, not_valid_after);
    });
}

Bytes32 server_public_key(const ServerCredentials &credentials) {
    return guarded([&] { return detail::server_public_key(credentials); });
}

void verify_certificate(const Certificate &certificate, const Bytes32 &authority_public_key, const Bytes32 &server_key,
                        std::uint32_t now) {
    guarded([&] { detail::certificate_verify(certificate, authority_public_key, server_key, now); });
}

} // namespace sv2
