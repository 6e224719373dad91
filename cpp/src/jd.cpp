// The out-of-line Job Declaration classes of the C++ API (include/sv2/jd.hpp), over the C ABI's
// sv2_token_store, sv2_jd_server and sv2_jd_client: messages cross as encoded payloads, results
// other than OK are thrown as sv2::Error with their number.
#include "sv2/sv2.hpp"

#include <algorithm>

namespace sv2 {

namespace {

void check(sv2_result r) {
    if (r != SV2_RESULT_OK) throw Error(static_cast<ErrorCode>(r), sv2_result_message(static_cast<std::int32_t>(r)));
}

std::string text_of(sv2_bytes b) { return b.len ? std::string(reinterpret_cast<const char *>(b.data), b.len) : ""; }

std::vector<std::uint8_t> bytes_of(sv2_bytes b) {
    return b.len ? std::vector<std::uint8_t>(b.data, b.data + b.len) : std::vector<std::uint8_t>{};
}

// A C++ message as the C ABI's sv2_message, whose views point into `payload`.
struct CMessage {
    std::vector<std::uint8_t> payload;
    sv2_message msg{};

    explicit CMessage(const Message &m) : payload(encode_payload(m)) {
        MessageSpec s = message_spec(static_cast<MessageType>(m.index()));
        check(sv2_message_decode(s.extension_type, s.msg_type, payload.data(), payload.size(), &msg, nullptr));
    }
};

// The C ABI's sv2_message as the C++ message.
Message from_c(const sv2_message &m) {
    std::size_t len = 0;
    check(sv2_message_encoded_len(&m, &len));
    std::vector<std::uint8_t> payload(len);
    std::size_t written = 0;
    check(sv2_message_encode(&m, payload.data(), payload.size(), &written));
    payload.resize(written);
    return decode_message(m.extension_type, m.msg_type, payload);
}

sv2_frame c_frame(const Frame &f) {
    const FrameHeader &h = f.header;
    return sv2_frame{h.extension_type, h.msg_type, h.channel_msg, {f.payload.data(), f.payload.size()}};
}

// JdServerOptions as the C ABI's options.
struct COptions {
    struct Free {
        void operator()(sv2_jd_server_options *o) const noexcept { sv2_jd_server_options_free(o); }
    };
    std::unique_ptr<sv2_jd_server_options, Free> impl;

    explicit COptions(const JdServerOptions &o) {
        sv2_jd_server_options *made = nullptr;
        check(sv2_jd_server_options_new(o.payout_script.data(), o.payout_script.size(), &made));
        impl.reset(made);
        for (const std::vector<std::uint8_t> &s : o.required_scripts)
            check(sv2_jd_server_options_add_required_script(made, s.data(), s.size()));
        check(sv2_jd_server_options_set_min_payout_ppm(made, o.min_payout_ppm));
        check(sv2_jd_server_options_set_modes(made, o.coinbase_only, o.full_template));
        check(sv2_jd_server_options_set_token_limits(made, o.token_lifetime_secs, o.max_tokens_per_connection,
                                                     o.max_token_requests_per_minute, o.max_declared_jobs));
        check(sv2_jd_server_options_set_declaration_limits(made, o.max_pending_declarations, o.max_missing_txs,
                                                           o.max_missing_bytes));
    }
};

const std::uint8_t *entropy_ptr(const std::optional<Entropy16> &e) { return e ? e->data() : nullptr; }

// Whole plaintext frames as the messages they carry.
std::vector<Message> messages_of(const std::vector<std::uint8_t> &frames) {
    FrameDecoder d;
    d.push(frames);
    std::vector<Message> out;
    while (std::optional<Frame> f = d.next_frame()) out.push_back(f->message());
    return out;
}

// Each frame into `session`.
void send_frames(const std::vector<std::uint8_t> &frames, Session &session) {
    FrameDecoder d;
    d.push(frames);
    while (std::optional<Frame> f = d.next_frame()) session.send_frame(f->header, f->payload);
}

} // namespace

void TokenStore::Free::operator()(sv2_token_store *s) const noexcept { sv2_token_store_free(s); }

TokenStore::TokenStore(std::size_t max_tokens) {
    sv2_token_store *made = nullptr;
    check(sv2_token_store_new(max_tokens, &made));
    impl_.reset(made);
}

TokenStore::TokenStore(const TokenStore &other) {
    sv2_token_store *made = nullptr;
    check(sv2_token_store_share(other.impl_.get(), &made));
    impl_.reset(made);
}

TokenStore &TokenStore::operator=(const TokenStore &other) {
    if (this != &other) *this = TokenStore(other);
    return *this;
}

std::size_t TokenStore::size() const noexcept {
    std::size_t n = 0;
    if (sv2_token_store_len(impl_.get(), &n) != SV2_RESULT_OK) return 0; // only fails for NULL
    return n;
}

CustomJobCheck TokenStore::check_custom_job(const JdServerOptions &options, const SetCustomMiningJob &job,
                                            const SetNewPrevHashTdp &tip, std::size_t extranonce_len,
                                            bool version_rolling, std::uint64_t now, std::uint32_t now_unix) {
    COptions o(options);
    CMessage m{Message(job)}, t{Message(tip)};
    sv2_bytes user{}, code{};
    sv2_result r = sv2_token_store_check_custom_job(impl_.get(), o.impl.get(), &m.msg, &t.msg, extranonce_len,
                                                    version_rolling, now, now_unix, &user, &code);
    CustomJobCheck c;
    if (r == SV2_RESULT_CUSTOM_JOB_REFUSED) {
        c.code = text_of(code);
        return c;
    }
    check(r);
    c.accepted = true;
    c.user = text_of(user);
    return c;
}

// The server's handle, with the mempool the callback reads and the answer it lends the library.
struct JdServer::State {
    sv2_jd_server *jds = nullptr;
    Mempool mempool;
    std::vector<std::uint8_t> answer;
};

void JdServer::Free::operator()(State *s) const noexcept {
    sv2_jd_server_free(s->jds);
    delete s;
}

sv2_jd_server *JdServer::jds() const noexcept { return state_ ? state_->jds : nullptr; }

// The answer stays in the state until the next lookup, long after the library has copied it.
// Nothing thrown crosses into the library.
sv2_bool JdServer::mempool_get(void *user, const std::uint8_t *wtxid, sv2_bytes *tx) noexcept {
    try {
        auto *state = static_cast<JdServer::State *>(user);
        Bytes32 id{};
        std::copy(wtxid, wtxid + 32, id.begin());
        std::optional<std::vector<std::uint8_t>> found = state->mempool(id);
        if (!found) return 0;
        state->answer = std::move(*found);
        *tx = sv2_bytes{state->answer.data(), state->answer.size()};
        return 1;
    } catch (...) {
        return 0;
    }
}

namespace {

JdServerEvent server_event(const sv2_jd_server_event &e) {
    JdServerEvent r;
    r.kind = static_cast<JdServerEvent::Kind>(e.kind);
    r.request_id = e.request_id;
    r.full_template = e.full_template;
    r.count = e.count;
    r.text = text_of(e.text);
    r.version = e.version;
    r.user = text_of(e.user);
    r.coinbase = bytes_of(e.coinbase);
    std::copy(std::begin(e.merkle_root), std::end(e.merkle_root), r.merkle_root.begin());
    std::size_t offset = 0;
    sv2_bytes item;
    while (e.transactions.count > 0 && sv2_bytes_list_next(&e.transactions, &offset, &item) == SV2_RESULT_OK)
        r.transactions.push_back(bytes_of(item));
    r.block = bytes_of(e.block);
    std::copy(std::begin(e.block_hash), std::end(e.block_hash), r.block_hash.begin());
    return r;
}

} // namespace

ServerEndpoint::ServerEndpoint(const ServerOptions &options, ExtranonceAllocator &prefixes, const TokenStore &tokens,
                               const JdServerOptions &pool) {
    detail::Owned<sv2_server_options> c = c_options(options);
    check(sv2_server_options_set_work_selection(c.get(), tokens.impl_.get(), COptions(pool).impl.get()));
    make(c.get(), prefixes);
}

JdServer::JdServer(const JdServerOptions &options, TokenStore &store, Mempool mempool) : state_(new State) {
    COptions o(options);
    state_->mempool = std::move(mempool);
    sv2_mempool_get_fn get = state_->mempool ? mempool_get : nullptr;
    check(sv2_jd_server_new(o.impl.get(), store.impl_.get(), get, state_.get(), &state_->jds));
}

JdServerEvent JdServer::handle(const Message &m, std::uint64_t now, const std::optional<Entropy16> &entropy) {
    CMessage c(m);
    sv2_jd_server_event e;
    check(sv2_jd_server_on_message(jds(), &c.msg, now, entropy_ptr(entropy), nullptr, &e));
    return server_event(e);
}

JdServerEvent JdServer::handle(const Frame &f, std::uint64_t now, const std::optional<Entropy16> &entropy) {
    return handle_frame(c_frame(f), now, entropy);
}

JdServerEvent JdServer::handle_frame(const sv2_frame &frame, std::uint64_t now,
                                     const std::optional<Entropy16> &entropy) {
    sv2_jd_server_event e;
    check(sv2_jd_server_on_frame(jds(), &frame, now, entropy_ptr(entropy), nullptr, &e));
    return server_event(e);
}

JdServerEvent JdServer::verdict(std::uint32_t request_id, std::optional<std::string_view> refusal, std::uint64_t now,
                                const std::optional<Entropy16> &entropy) {
    // An empty code would accept: refusals always name one.
    std::string_view code = refusal ? (refusal->empty() ? std::string_view("invalid-job") : *refusal) : "";
    sv2_jd_server_event e;
    check(sv2_jd_server_verdict(jds(), request_id, reinterpret_cast<const std::uint8_t *>(code.data()), code.size(),
                                now, entropy_ptr(entropy), nullptr, &e));
    return server_event(e);
}

std::size_t JdServer::pending_declarations() const noexcept {
    std::size_t n = 0;
    if (sv2_jd_server_pending_declarations(jds(), &n) != SV2_RESULT_OK) return 0; // only fails for NULL
    return n;
}

std::vector<std::uint8_t> JdServer::take_output() {
    const std::uint8_t *data = nullptr;
    std::size_t len = 0;
    check(sv2_jd_server_pending_output(jds(), &data, &len));
    std::vector<std::uint8_t> out(data, data + len);
    check(sv2_jd_server_consume_output(jds(), len));
    return out;
}

std::vector<Message> JdServer::take_messages() { return messages_of(take_output()); }

void JdServer::send_output(Session &session) { send_frames(take_output(), session); }

void JdClient::Free::operator()(sv2_jd_client *c) const noexcept { sv2_jd_client_free(c); }

JdClient::JdClient(const JdClientOptions &o) {
    sv2_jd_client_config c{};
    c.struct_size = sizeof c;
    c.full_template = o.full_template;
    c.extranonce_len = o.extranonce_len;
    c.endpoint_port = o.endpoint_port;
    c.max_tokens = o.max_tokens;
    c.max_declarations = o.max_declarations;
    auto view = [](const auto &s) { return sv2_bytes{reinterpret_cast<const std::uint8_t *>(s.data()), s.size()}; };
    c.user_identifier = view(o.user_identifier);
    c.tag = view(o.tag);
    c.endpoint_host = view(o.endpoint_host);
    c.vendor = view(o.vendor);
    sv2_jd_client *made = nullptr;
    check(sv2_jd_client_new(&c, &made));
    impl_.reset(made);
}

void JdClient::start() { check(sv2_jd_client_start(impl_.get(), nullptr)); }

std::uint32_t JdClient::request_token() {
    std::uint32_t id = 0;
    check(sv2_jd_client_request_token(impl_.get(), nullptr, &id));
    return id;
}

std::size_t JdClient::tokens() const noexcept {
    std::size_t n = 0;
    if (sv2_jd_client_tokens(impl_.get(), &n) != SV2_RESULT_OK) return 0; // only fails for NULL
    return n;
}

Declaration JdClient::declare(const NewTemplate &tmpl, const SetNewPrevHashTdp &tip,
                              const std::vector<std::vector<std::uint8_t>> &transactions) {
    CMessage t{Message(tmpl)}, p{Message(tip)};
    std::vector<sv2_bytes> views;
    views.reserve(transactions.size());
    for (const std::vector<std::uint8_t> &tx : transactions) views.push_back(sv2_bytes{tx.data(), tx.size()});
    Declaration d;
    check(sv2_jd_client_declare(impl_.get(), &t.msg, &p.msg, views.data(), views.size(), nullptr, &d.request_id,
                                &d.ready));
    return d;
}

namespace {

JdClientEvent client_event(const sv2_jd_client_event &e) {
    JdClientEvent r;
    r.kind = static_cast<JdClientEvent::Kind>(e.kind);
    r.request_id = e.request_id;
    r.constraints = CoinbaseOutputConstraints{e.max_additional_size, e.max_additional_sigops};
    r.count = e.count;
    r.template_id = e.template_id;
    r.code = text_of(e.code);
    r.details = text_of(e.details);
    return r;
}

} // namespace

JdClientEvent JdClient::handle(const Message &m) {
    CMessage c(m);
    sv2_jd_client_event e;
    check(sv2_jd_client_on_message(impl_.get(), &c.msg, nullptr, &e));
    return client_event(e);
}

JdClientEvent JdClient::handle(const Frame &f) { return handle_frame(c_frame(f)); }

JdClientEvent JdClient::handle_frame(const sv2_frame &frame) {
    sv2_jd_client_event e;
    check(sv2_jd_client_on_frame(impl_.get(), &frame, nullptr, &e));
    return client_event(e);
}

std::optional<SetCustomMiningJob> JdClient::custom_job(std::uint32_t channel_id, std::uint32_t request_id) const {
    sv2_message m;
    sv2_result r = sv2_jd_client_custom_job(impl_.get(), channel_id, request_id, &m);
    if (r == SV2_RESULT_NOT_FOUND) return std::nullopt;
    check(r);
    return std::get<SetCustomMiningJob>(from_c(m));
}

std::vector<std::uint8_t> JdClient::push_solution(std::uint32_t declaration_id,
                                                  const std::vector<std::uint8_t> &extranonce, std::uint32_t nonce,
                                                  std::uint32_t ntime, std::uint32_t version) {
    sv2_bytes coinbase{};
    check(sv2_jd_client_push_solution(impl_.get(), declaration_id, extranonce.data(), extranonce.size(), nonce, ntime,
                                      version, nullptr, &coinbase));
    return bytes_of(coinbase);
}

std::vector<std::uint8_t> JdClient::take_output() {
    const std::uint8_t *data = nullptr;
    std::size_t len = 0;
    check(sv2_jd_client_pending_output(impl_.get(), &data, &len));
    std::vector<std::uint8_t> out(data, data + len);
    check(sv2_jd_client_consume_output(impl_.get(), len));
    return out;
}

std::vector<Message> JdClient::take_messages() { return messages_of(take_output()); }

void JdClient::send_output(Session &session) { send_frames(take_output(), session); }

} // namespace sv2
