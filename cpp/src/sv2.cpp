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

// A result of the C ABI, which the server endpoint and the extranonce allocator are built on:
// anything but OK is thrown with its number.
void check(sv2_result r) {
    if (r != SV2_RESULT_OK) throw Error(static_cast<ErrorCode>(r), sv2_result_message(static_cast<std::int32_t>(r)));
}

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
SV2_DROP(ServerChannelImpl)
SV2_DROP(GroupChannelImpl)
SV2_DROP(ClientEndpointImpl)
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
      }))) {
    sv2_job_factory *f = nullptr;
    check(sv2_job_factory_new(payout_script.data, payout_script.size, pool_tag.data, pool_tag.size, extranonce_len,
                              version_rolling, &f));
    jobs_.reset(f);
}

CoinbaseOutputConstraints JobFactory::coinbase_output_constraints() const noexcept {
    return from_bridge<CoinbaseOutputConstraints>(impl_->coinbase_output_constraints());
}

std::optional<TemplateJob> JobFactory::handle(const Message &m) {
    std::optional<TemplateJob> job;
    if (auto *t = std::get_if<NewTemplate>(&m)) {
        bridge::NewTemplate b = to_bridge(*t);
        job = from_bridge<TemplateJob>(guarded([&] { return impl_->on_new_template(b); }));
    } else if (auto *p = std::get_if<SetNewPrevHashTdp>(&m)) {
        bridge::SetNewPrevHashTdp b = to_bridge(*p);
        job = from_bridge<TemplateJob>(guarded([&] { return impl_->on_set_new_prev_hash(b); }));
    } else {
        return std::nullopt;
    }
    // The server endpoints' factory takes the same message and makes the same job.
    MessageSpec spec = message_spec(static_cast<MessageType>(m.index()));
    std::vector<std::uint8_t> payload = encode_payload(m);
    sv2_message c;
    sv2_template_job same;
    check(sv2_message_decode(spec.extension_type, spec.msg_type, payload.data(), payload.size(), &c, nullptr));
    check(sv2_job_factory_handle(jobs_.get(), &c, &same));
    if (same.job_id != job->job_id) throw Error(ErrorCode::Internal, "the endpoints' job factory made another job");
    return job;
}

std::vector<TemplateJob> JobFactory::jobs() const { return from_bridge<TemplateJob>(impl_->jobs()); }

ExtranonceAllocator::ExtranonceAllocator(detail::ByteView upstream, std::size_t counter_len, std::size_t full_len) {
    sv2_extranonce_allocator *a = nullptr;
    check(sv2_extranonce_allocator_new(upstream.data, upstream.size, counter_len, full_len, &a));
    impl_.reset(a);
}

std::size_t ExtranonceAllocator::rollable() const noexcept {
    std::size_t n = 0;
    // Only fails for NULL, and then n stays 0 (GCC does not let a (void) cast drop the result).
    if (sv2_extranonce_allocator_rollable(impl_.get(), &n) != SV2_RESULT_OK) n = 0;
    return n;
}

std::vector<std::uint8_t> ExtranonceAllocator::next_extended() {
    std::vector<std::uint8_t> p(SV2_EXTRANONCE_MAX_LEN);
    std::size_t n = 0;
    check(sv2_extranonce_allocator_next_extended(impl_.get(), p.data(), p.size(), &n));
    p.resize(n);
    return p;
}

std::vector<std::uint8_t> ExtranonceAllocator::next_standard() {
    std::vector<std::uint8_t> p(SV2_EXTRANONCE_MAX_LEN);
    std::size_t n = 0;
    check(sv2_extranonce_allocator_next_standard(impl_.get(), p.data(), p.size(), &n));
    p.resize(n);
    return p;
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

// ---- Mining endpoints ----

namespace {

ClientEvent client_event(const bridge::ClientEvent &e) {
    ClientEvent r;
    r.kind = static_cast<ClientEvent::Kind>(e.kind);
    r.flags = e.flags;
    r.channel_id = e.channel_id;
    r.request_id = e.request_id;
    r.group_channel_id = e.group_channel_id;
    r.sequence_number = e.sequence_number;
    r.job_id = e.job_id;
    convert::put(r.min_ntime, e.min_ntime);
    r.extranonce_size = e.extranonce_size;
    r.port = e.port;
    r.target = e.target;
    if (e.has_tag) r.tag = e.tag;
    r.text.assign(e.text.begin(), e.text.end());
    r.extranonce_prefix.assign(e.extranonce_prefix.begin(), e.extranonce_prefix.end());
    r.extensions.assign(e.extensions.begin(), e.extensions.end());
    r.required_extensions.assign(e.required_extensions.begin(), e.required_extensions.end());
    return r;
}

// Whole plaintext frames as the messages they carry.
std::vector<Message> messages_of(const rust::Vec<std::uint8_t> &frames) {
    FrameDecoder d;
    d.push(ByteSpan(frames.data(), frames.size()));
    std::vector<Message> out;
    while (std::optional<Frame> f = d.next_frame()) out.push_back(f->message());
    return out;
}

std::vector<std::uint8_t> bytes_of(const rust::Vec<std::uint8_t> &v) {
    return std::vector<std::uint8_t>(v.begin(), v.end());
}

// A message's place on the wire and its payload.
struct Encoded {
    MessageSpec spec;
    std::vector<std::uint8_t> payload;
    detail::ByteView view() const noexcept { return detail::ByteView(payload.data(), payload.size()); }
};

Encoded encoded(const Message &m) {
    return Encoded{message_spec(static_cast<MessageType>(m.index())), encode_payload(m)};
}

detail::ByteView payload_view(const Frame &f) noexcept { return detail::ByteView(f.payload.data(), f.payload.size()); }

} // namespace

ServerOptions ServerOptions::defaults() { return from_bridge<ServerOptions>(bridge::server_options_default()); }

detail::Owned<sv2_server_options> ServerEndpoint::c_options(const ServerOptions &o) {
    sv2_server_options *made = nullptr;
    check(sv2_server_options_new(&made));
    detail::Owned<sv2_server_options> c(made);
    check(sv2_server_options_set_version_rolling(c.get(), o.version_rolling));
    check(sv2_server_options_set_extended_channels_only(c.get(), o.extended_channels_only));
    check(sv2_server_options_set_max_channels(c.get(), o.max_channels));
    check(sv2_server_options_set_vardiff(c.get(), o.shares_per_minute, o.vardiff_window_secs, o.default_hashrate,
                                         o.min_difficulty));
    check(sv2_server_options_set_share_limits(c.get(), o.max_invalid_shares_per_minute, o.max_shares_per_tip));
    return c;
}

void ServerEndpoint::make(const sv2_server_options *options, ExtranonceAllocator &prefixes) {
    sv2_server_endpoint *ep = nullptr;
    check(sv2_server_endpoint_new(options, prefixes.impl_.get(), &ep));
    impl_.reset(ep);
}

ServerEndpoint::ServerEndpoint(const ServerOptions &options, ExtranonceAllocator &prefixes) {
    make(c_options(options).get(), prefixes);
}

ServerEvent ServerEndpoint::handle(const Message &m, const JobFactory &jobs, std::uint64_t now_mono,
                                   std::uint32_t now_unix) {
    Encoded e = encoded(m);
    sv2_frame f{e.spec.extension_type, e.spec.msg_type, e.spec.channel_msg, {e.payload.data(), e.payload.size()}};
    return handle_frame(f, jobs, now_mono, now_unix);
}

ServerEvent ServerEndpoint::handle(const Frame &frame, const JobFactory &jobs, std::uint64_t now_mono,
                                   std::uint32_t now_unix) {
    const FrameHeader &h = frame.header;
    sv2_frame f{h.extension_type, h.msg_type, h.channel_msg, {frame.payload.data(), frame.payload.size()}};
    return handle_frame(f, jobs, now_mono, now_unix);
}

ServerEvent ServerEndpoint::handle_frame(const sv2_frame &frame, const JobFactory &jobs, std::uint64_t now_mono,
                                         std::uint32_t now_unix) {
    sv2_server_event e;
    check(sv2_server_endpoint_on_frame(impl_.get(), jobs.jobs_.get(), &frame, now_mono, now_unix, nullptr, &e));
    ServerEvent r;
    r.kind = static_cast<ServerEvent::Kind>(e.kind);
    r.flags = e.flags;
    r.channel_id = e.channel_id;
    r.request_id = e.request_id;
    r.sequence_number = e.sequence_number;
    r.count = e.count;
    if (r.kind == ServerEvent::Kind::SetUp) set_up_ = true;
    if (r.kind == ServerEvent::Kind::ShareRejected) r.error = static_cast<ErrorCode>(e.error);
    if (e.error_code.len > 0) r.error_code.assign(reinterpret_cast<const char *>(e.error_code.data), e.error_code.len);
    if (r.kind == ServerEvent::Kind::CustomJobAccepted) {
        sv2_bytes user;
        check(sv2_server_endpoint_last_custom_job(impl_.get(), &r.job_id, &user));
        r.user.assign(reinterpret_cast<const char *>(user.data), user.len);
    }
    std::copy(std::begin(e.share.hash), std::end(e.share.hash), r.hash.begin());
    std::copy(std::begin(e.share.target), std::end(e.share.target), r.target.begin());
    r.difficulty = e.share.difficulty;
    if (e.share.block) {
        sv2_message m;
        sv2_bytes block;
        sv2_result found = sv2_server_endpoint_solution(impl_.get(), &m);
        if (found == SV2_RESULT_OK) {
            const sv2_submit_solution &s = m.body.submit_solution;
            r.solution =
                SubmitSolution{s.template_id, s.version, s.header_timestamp, s.header_nonce,
                               std::vector<std::uint8_t>(s.coinbase_tx.data, s.coinbase_tx.data + s.coinbase_tx.len)};
        } else if (found != SV2_RESULT_NOT_FOUND) {
            check(found);
        } else if (sv2_server_endpoint_custom_block(impl_.get(), &block) == SV2_RESULT_OK) {
            // No template: a custom job's block, completed with its declared transactions.
            r.block = std::vector<std::uint8_t>(block.data, block.data + block.len);
        }
    }
    return r;
}

Synced ServerEndpoint::sync(const JobFactory &jobs) {
    bool tip_sent = false;
    std::size_t skipped = 0;
    check(sv2_server_endpoint_sync(impl_.get(), jobs.jobs_.get(), nullptr, &tip_sent, &skipped));
    return Synced{tip_sent, skipped};
}

std::size_t ServerEndpoint::retarget(std::uint64_t now_mono) {
    std::size_t sent = 0;
    check(sv2_server_endpoint_retarget(impl_.get(), now_mono, nullptr, &sent));
    return sent;
}

std::size_t ServerEndpoint::take_successes() {
    std::size_t sent = 0;
    check(sv2_server_endpoint_take_successes(impl_.get(), nullptr, &sent));
    return sent;
}

bool ServerEndpoint::set_up() const noexcept { return set_up_; }

std::size_t ServerEndpoint::channel_count() const noexcept {
    std::size_t n = 0;
    // Only fails for NULL, and then n stays 0 (GCC does not let a (void) cast drop the result).
    if (sv2_server_endpoint_channel_count(impl_.get(), &n) != SV2_RESULT_OK) n = 0;
    return n;
}

std::optional<std::string> ServerEndpoint::channel_user(std::uint32_t channel_id) const {
    sv2_bytes user;
    if (sv2_server_endpoint_channel_user(impl_.get(), channel_id, &user) != SV2_RESULT_OK) return std::nullopt;
    return std::string(reinterpret_cast<const char *>(user.data), user.len);
}

std::vector<std::uint8_t> ServerEndpoint::take_output() {
    const std::uint8_t *data = nullptr;
    std::size_t len = 0;
    check(sv2_server_endpoint_pending_output(impl_.get(), &data, &len));
    std::vector<std::uint8_t> out(data, data + len);
    check(sv2_server_endpoint_consume_output(impl_.get(), len));
    return out;
}

std::vector<Message> ServerEndpoint::take_messages() {
    std::vector<std::uint8_t> frames = take_output();
    FrameDecoder d;
    d.push(frames);
    std::vector<Message> out;
    while (std::optional<Frame> f = d.next_frame()) out.push_back(f->message());
    return out;
}

void ServerEndpoint::send_output(Session &session) {
    std::vector<std::uint8_t> frames = take_output();
    guarded([&] { session.impl_->send_frames({frames.data(), frames.size()}); });
}

ClientEndpoint::ClientEndpoint(const ClientOptions &options)
    : impl_(own(guarded([&] { return bridge::client_endpoint_new(to_bridge(options)); }))) {}

void ClientEndpoint::setup_connection() {
    guarded([&] { impl_->setup_connection(); });
}

std::uint32_t ClientEndpoint::open_standard(std::string_view user_identity, float nominal_hash_rate,
                                            const Bytes32 &max_target) {
    return guarded([&] { return impl_->open_standard(slice(user_identity), nominal_hash_rate, max_target); });
}

std::uint32_t ClientEndpoint::open_extended(std::string_view user_identity, float nominal_hash_rate,
                                            const Bytes32 &max_target, std::uint16_t min_extranonce_size) {
    return guarded(
        [&] { return impl_->open_extended(slice(user_identity), nominal_hash_rate, max_target, min_extranonce_size); });
}

void ClientEndpoint::update_channel(std::uint32_t channel_id, float nominal_hash_rate, const Bytes32 &max_target) {
    guarded([&] { impl_->update_channel(channel_id, nominal_hash_rate, max_target); });
}

void ClientEndpoint::close_channel(std::uint32_t channel_id, std::string_view reason) {
    guarded([&] { impl_->close_channel(channel_id, slice(reason)); });
}

void ClientEndpoint::request_extensions(const std::vector<std::uint16_t> &extensions) {
    guarded([&] { impl_->request_extensions({extensions.data(), extensions.size()}); });
}

std::uint32_t ClientEndpoint::submit(std::uint32_t channel_id, const Work &work, std::uint32_t nonce,
                                     std::uint32_t ntime, std::uint32_t version, std::uint64_t tag) {
    bridge::Work w = to_bridge(work);
    return guarded([&] { return impl_->submit(channel_id, w, nonce, ntime, version, tag); });
}

std::vector<ClientEvent> ClientEndpoint::handle(const Message &m) {
    Encoded e = encoded(m);
    return handle_payload(e.spec.extension_type, e.spec.msg_type, e.view());
}

std::vector<ClientEvent> ClientEndpoint::handle(const Frame &f) {
    return handle_payload(f.header.extension_type, f.header.msg_type, payload_view(f));
}

std::vector<ClientEvent> ClientEndpoint::handle_payload(std::uint16_t extension_type, std::uint8_t msg_type,
                                                        detail::ByteView payload) {
    rust::Vec<bridge::ClientEvent> events =
        guarded([&] { return impl_->on_payload(extension_type, msg_type, slice(payload)); });
    std::vector<ClientEvent> out;
    out.reserve(events.size());
    for (const bridge::ClientEvent &e : events) out.push_back(client_event(e));
    return out;
}

std::optional<Work> ClientEndpoint::work_view(std::uint32_t channel_id, detail::ByteView extranonce) const {
    bridge::Work w{};
    if (!guarded([&] { return impl_->work(channel_id, slice(extranonce), w); })) return std::nullopt;
    return from_bridge<Work>(w);
}

std::vector<std::uint8_t> ClientEndpoint::take_output() { return bytes_of(impl_->take_output()); }

std::vector<Message> ClientEndpoint::take_messages() { return messages_of(impl_->take_output()); }

void ClientEndpoint::send_output(Session &session) {
    rust::Vec<std::uint8_t> frames = impl_->take_output();
    guarded([&] { session.impl_->send_frames({frames.data(), frames.size()}); });
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
