// Job Declaration through the C++ API: a C++ "farm" runs an sv2::JdClient against a C++ "pool"
// running an sv2::JdServer with a std::function mempool that knows two of the template's three
// transactions, in memory (the farm's output reaches the pool as frames, the pool's the farm as
// messages). Full-Template: token, declaration, the unknown transaction asked for and answered,
// the verdict on the job the event shows, the SetCustomMiningJob checked against the shared
// TokenStore, PushSolution rebuilt into the block found. Work selection: the SetCustomMiningJob
// sent to a pool sv2::ServerEndpoint made with the same TokenStore and options, refused on
// another tip and once its token is spent, accepted; a share on it that is a block gives the
// whole block, equal to the JdServer's from PushSolution (on a Coinbase-only job, neither a block
// nor a SubmitSolution). A refused verdict on both sides,
// Coinbase-only, and the errors that end a connection. Prints "N passed, N failed" and exits
// non-zero on any failure.
#include "test_util.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint32_t NOW = 1700000000;
constexpr std::uint64_t CLOCK = 1000;
const Bytes POOL_SCRIPT = {0x00, 0x14, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
const Bytes EXTRANONCE = {0, 0, 0, 7, 1, 2, 3, 4};

// A legacy transaction spending output `i` of a made-up transaction to OP_TRUE: its txid and
// wtxid are the SHA-256d of its bytes.
Bytes tx(std::uint8_t i) {
    Bytes t = {2, 0, 0, 0, 1};
    t.insert(t.end(), 32, static_cast<std::uint8_t>(0x30 + i));
    t.insert(t.end(), {i, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1});
    std::uint64_t value = 1000 + i;
    for (int k = 0; k < 8; k++) t.push_back(static_cast<std::uint8_t>(value >> (8 * k)));
    t.insert(t.end(), {1, 0x51, 0, 0, 0, 0});
    return t;
}

sv2::Bytes32 pair(const sv2::Bytes32 &a, const sv2::Bytes32 &b) {
    Bytes both(a.begin(), a.end());
    both.insert(both.end(), b.begin(), b.end());
    return sv2::sha256d(both);
}

// Three transactions, the coinbase's merkle path over them, and the template and tip.
struct Template {
    std::vector<Bytes> txs{tx(0), tx(1), tx(2)};
    std::vector<sv2::Bytes32> path{sv2::sha256d(txs[0]), pair(sv2::sha256d(txs[1]), sv2::sha256d(txs[2]))};

    sv2::NewTemplate msg() const {
        sv2::NewTemplate t;
        t.template_id = 77;
        t.version = 0x20000000;
        t.coinbase_tx_version = 2;
        t.coinbase_prefix = {0x02, 0x10, 0x27};
        t.coinbase_tx_input_sequence = 0xfffffffe;
        t.coinbase_tx_value_remaining = 5000012345u;
        t.merkle_path = path;
        return t;
    }

    sv2::Bytes32 root(const Bytes &coinbase) const { return pair(pair(sv2::sha256d(coinbase), path[0]), path[1]); }
};

sv2::SetNewPrevHashTdp tip(std::uint8_t prev) {
    sv2::SetNewPrevHashTdp p;
    p.template_id = 77;
    p.prev_hash = test::filled(prev);
    p.header_timestamp = NOW;
    p.nbits = 0x207fffff;
    p.target = test::filled(0xff);
    p.target[31] = 0x7f;
    return p;
}

sv2::JdServerOptions pool_options() {
    sv2::JdServerOptions o;
    o.payout_script = POOL_SCRIPT;
    return o;
}

sv2::JdClientOptions farm_options(bool full_template) {
    sv2::JdClientOptions o;
    o.full_template = full_template;
    o.extranonce_len = 8;
    o.user_identifier = "alice";
    o.tag = {'/', 'j', 'd', 'c', '/'};
    o.endpoint_host = "pool.example";
    o.endpoint_port = 3336;
    o.vendor = "libsv2-test";
    return o;
}

// A farm and a pool in memory; the pool's mempool lacks the transaction at `unknown`.
struct World {
    Template t;
    sv2::TokenStore store{64};
    int lookups = 0;
    sv2::JdServer pool;
    sv2::JdClient farm;
    std::uint64_t seed = 0;

    World(bool full_template, int unknown)
        : pool(pool_options(), store,
               [this, unknown](const sv2::Bytes32 &wtxid) -> std::optional<Bytes> {
                   lookups++;
                   for (int i = 0; i < 3; i++)
                       if (i != unknown && sv2::sha256d(t.txs[i]) == wtxid) return t.txs[i];
                   return std::nullopt;
               }),
          farm(farm_options(full_template)) {}

    sv2::Entropy16 entropy() {
        sv2::Entropy16 e{};
        seed++;
        for (int k = 0; k < 8; k++) e[k] = static_cast<std::uint8_t>(seed >> (8 * k));
        e[15] = 0xe0;
        return e;
    }

    // The farm's one queued frame to the pool.
    sv2::JdServerEvent to_pool() {
        sv2::FrameDecoder d;
        d.push(farm.take_output());
        std::optional<sv2::Frame> f = d.next_frame();
        CHECK(f.has_value() && !d.next_frame());
        return pool.handle(*f, CLOCK, entropy());
    }

    // The pool's one queued message to the farm.
    sv2::JdClientEvent to_farm() {
        std::vector<sv2::Message> m = pool.take_messages();
        CHECK(m.size() == 1);
        return farm.handle(m.at(0));
    }

    void connect(bool full_template) {
        farm.start();
        sv2::JdServerEvent se = to_pool();
        CHECK(se.kind == sv2::JdServerEvent::Kind::SetUp && se.full_template == full_template);
        CHECK(to_farm().kind == sv2::JdClientEvent::Kind::SetUp);
        std::uint32_t id = farm.request_token();
        se = to_pool();
        CHECK(se.kind == sv2::JdServerEvent::Kind::TokenAllocated && se.request_id == id);
        sv2::JdClientEvent ce = to_farm();
        CHECK(ce.kind == sv2::JdClientEvent::Kind::TokenReady && ce.request_id == id);
        CHECK(ce.constraints.coinbase_output_max_additional_size == 31);
        CHECK(farm.tokens() == 1);
    }

    // Declares the template: the missing transaction asked for and sent, then the job to judge.
    std::uint32_t declare() {
        sv2::Declaration d = farm.declare(t.msg(), tip(0x42), t.txs);
        CHECK(!d.ready);
        sv2::JdServerEvent se = to_pool();
        CHECK(se.kind == sv2::JdServerEvent::Kind::MissingTransactionsRequested && se.count == 1);
        sv2::JdClientEvent ce = to_farm();
        CHECK(ce.kind == sv2::JdClientEvent::Kind::MissingTransactionsSent && ce.request_id == d.request_id);
        se = to_pool();
        CHECK(se.kind == sv2::JdServerEvent::Kind::ValidateJob && se.request_id == d.request_id);
        CHECK(se.version == 0x20000000 && se.user == "alice" && se.transactions == t.txs);
        CHECK(se.merkle_root == t.root(se.coinbase));
        CHECK(pool.pending_declarations() == 1);
        return d.request_id;
    }

    sv2::CustomJobCheck check(std::uint8_t prev) {
        std::optional<sv2::SetCustomMiningJob> job = farm.custom_job(5, 1);
        CHECK(job.has_value() && job->channel_id == 5 && job->merkle_path == t.path);
        return store.check_custom_job(pool_options(), job.value(), tip(prev), 8, true, CLOCK, NOW);
    }
};

void full_template() {
    World w(true, 1);
    w.connect(true);
    std::uint32_t id = w.declare();
    CHECK(w.lookups == 3);
    sv2::JdServerEvent se = w.pool.verdict(id, std::nullopt, CLOCK, w.entropy());
    CHECK(se.kind == sv2::JdServerEvent::Kind::JobDeclared && se.request_id == id);
    sv2::JdClientEvent ce = w.to_farm();
    CHECK(ce.kind == sv2::JdClientEvent::Kind::JobDeclared && ce.request_id == id && ce.template_id == 77);

    sv2::CustomJobCheck c = w.check(0x41);
    CHECK(!c.accepted && c.code == "stale-chain-tip");
    c = w.check(0x42);
    CHECK(c.accepted && c.user == "alice");
    c = w.check(0x42);
    CHECK(!c.accepted && c.code == "invalid-mining-job-token");

    std::optional<sv2::JdServerEvent> found;
    Bytes coinbase;
    for (std::uint32_t nonce = 0; nonce < 64 && !found; nonce++) {
        coinbase = w.farm.push_solution(id, EXTRANONCE, nonce, NOW + 1, 0x20000000);
        se = w.to_pool();
        if (se.kind == sv2::JdServerEvent::Kind::BlockFound)
            found = se;
        else
            CHECK(se.kind == sv2::JdServerEvent::Kind::SolutionIgnored && !se.text.empty());
    }
    CHECK(found.has_value());
    if (found) {
        const Bytes &b = found->block;
        CHECK(b.size() == 80 + 1 + coinbase.size() + 3 * w.t.txs[0].size());
        CHECK(Bytes(b.begin() + 81, b.begin() + 81 + static_cast<long>(coinbase.size())) == coinbase);
        CHECK(sv2::sha256d(sv2::ByteSpan(b.data(), 80)) == found->block_hash);
        sv2::Bytes32 root = w.t.root(coinbase);
        CHECK(std::equal(root.begin(), root.end(), b.begin() + 36));
    }
    CHECK(w.store.size() == 0);
    sv2::TokenStore copy = w.store, assigned(1);
    assigned = copy;
    CHECK(copy.size() == 0 && assigned.size() == 0);
    CHECK_THROWS(UnknownDeclaration, w.farm.push_solution(999, EXTRANONCE, 0, NOW, 0x20000000));
    CHECK_THROWS(ExtranonceMismatch, w.farm.push_solution(id, Bytes(4), 0, NOW, 0x20000000));
}

// The 80-byte header of a block on tip 0x42 with this coinbase and nonce.
Bytes header_of(const Template &t, const Bytes &coinbase, std::uint32_t nonce) {
    Bytes h;
    auto le = [&h](std::uint32_t v) {
        for (int k = 0; k < 4; k++) h.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
    };
    le(0x20000000);
    h.insert(h.end(), 32, 0x42);
    sv2::Bytes32 root = t.root(coinbase);
    h.insert(h.end(), root.begin(), root.end());
    le(NOW + 1);
    le(0x207fffff);
    le(nonce);
    return h;
}

// Full-Template: the block is the pool's to complete; Coinbase-only: only the farm knows the
// transactions, so neither a SubmitSolution nor a block comes with the share.
void work_selection(bool full_template) {
    World w(full_template, 1);
    w.connect(full_template);
    std::uint32_t id = 0;
    if (full_template) {
        id = w.declare();
        CHECK(w.pool.verdict(id, std::nullopt, CLOCK, w.entropy()).kind == sv2::JdServerEvent::Kind::JobDeclared);
        CHECK(w.to_farm().kind == sv2::JdClientEvent::Kind::JobDeclared);
    } else {
        sv2::Declaration d = w.farm.declare(w.t.msg(), tip(0x42), {});
        CHECK(d.ready);
        id = d.request_id;
    }

    // The pool's Mining side: a factory on the same tip, an endpoint sharing the store.
    sv2::JobFactory jobs(POOL_SCRIPT, Bytes{'p', 'o', 'o', 'l'}, 8);
    sv2::NewTemplate future = w.t.msg();
    future.future_template = true;
    jobs.handle(sv2::Message(future));
    jobs.handle(sv2::Message(tip(0x42)));
    sv2::ExtranonceAllocator prefixes(Bytes{}, 4, 8);
    sv2::ServerOptions o = sv2::ServerOptions::defaults();
    o.min_difficulty = 1e-12;
    sv2::ServerEndpoint pool(o, prefixes, w.store, pool_options());
    sv2::SetupConnection setup;
    setup.min_version = setup.max_version = 2;
    setup.flags = 2; // REQUIRES_WORK_SELECTION
    CHECK(pool.handle(sv2::Message(setup), jobs, CLOCK, NOW).kind == sv2::ServerEvent::Kind::SetUp);
    sv2::OpenExtendedMiningChannel open;
    open.request_id = 1;
    open.user_identity = "alice";
    open.nominal_hash_rate = 1;
    open.max_target = test::filled(0xff);
    open.min_extranonce_size = 4;
    sv2::ServerEvent ev = pool.handle(sv2::Message(open), jobs, CLOCK, NOW);
    CHECK(ev.kind == sv2::ServerEvent::Kind::ChannelOpened);
    std::uint32_t channel = ev.channel_id;
    Bytes extranonce;
    for (const sv2::Message &m : pool.take_messages())
        if (const auto *ok = std::get_if<sv2::OpenExtendedMiningChannelSuccess>(&m)) extranonce = ok->extranonce_prefix;
    CHECK(extranonce.size() == 4);
    extranonce.insert(extranonce.end(), {1, 2, 3, 4});

    // Another tip, refused; the declared job, accepted.
    std::optional<sv2::SetCustomMiningJob> job = w.farm.custom_job(channel, 9);
    CHECK(job.has_value());
    sv2::SetCustomMiningJob stale = job.value();
    stale.prev_hash[0] ^= 1;
    ev = pool.handle(sv2::Message(stale), jobs, CLOCK, NOW);
    CHECK(ev.kind == sv2::ServerEvent::Kind::CustomJobRefused && ev.channel_id == channel);
    CHECK(ev.error_code == "stale-chain-tip");
    ev = pool.handle(sv2::Message(job.value()), jobs, CLOCK, NOW);
    CHECK(ev.kind == sv2::ServerEvent::Kind::CustomJobAccepted && ev.channel_id == channel);
    CHECK(ev.job_id >= 0x80000000u && ev.user == "alice");
    std::uint32_t job_id = ev.job_id;
    std::vector<sv2::Message> answers = pool.take_messages();
    CHECK(answers.size() == 2 && std::holds_alternative<sv2::SetCustomMiningJobError>(answers.at(0)));
    const auto *ok = answers.size() == 2 ? std::get_if<sv2::SetCustomMiningJobSuccess>(&answers[1]) : nullptr;
    CHECK(ok && ok->job_id == job_id && ok->request_id == 9);

    // A nonce whose header meets the regtest nbits; the JdServer's block from PushSolution.
    Bytes coinbase, header;
    std::uint32_t nonce = 0;
    for (;; nonce++) {
        CHECK(nonce < 64);
        coinbase = w.farm.push_solution(id, extranonce, nonce, NOW + 1, 0x20000000);
        header = header_of(w.t, coinbase, nonce);
        if (sv2::hash_meets_target(sv2::sha256d(header), tip(0x42).target) || nonce >= 64) break;
        w.farm.take_output();
    }
    std::optional<sv2::JdServerEvent> se;
    if (full_template) se = w.to_pool();
    CHECK(!full_template || se->kind == sv2::JdServerEvent::Kind::BlockFound);

    // The share: a block with no template, completed by the endpoint.
    sv2::SubmitSharesExtended share;
    share.channel_id = channel;
    share.sequence_number = 1;
    share.job_id = job_id;
    share.nonce = nonce;
    share.ntime = NOW + 1;
    share.version = 0x20000000;
    share.extranonce = Bytes(extranonce.begin() + 4, extranonce.end());
    ev = pool.handle(sv2::Message(share), jobs, CLOCK, NOW);
    CHECK(ev.kind == sv2::ServerEvent::Kind::ShareAccepted && !ev.solution);
    CHECK(ev.block.has_value() == full_template);
    CHECK(ev.hash == sv2::sha256d(header));
    if (ev.block && se) {
        const Bytes &b = *ev.block;
        CHECK(b.size() == 80 + 1 + coinbase.size() + 3 * w.t.txs[0].size());
        CHECK(Bytes(b.begin(), b.begin() + 80) == header);
        CHECK(Bytes(b.begin() + 81, b.begin() + 81 + static_cast<long>(coinbase.size())) == coinbase);
        CHECK(b == se->block);
    }
    // The token is spent.
    ev = pool.handle(sv2::Message(job.value()), jobs, CLOCK, NOW);
    CHECK(ev.kind == sv2::ServerEvent::Kind::CustomJobRefused && ev.error_code == "invalid-mining-job-token");
    sv2::JdServerOptions bad = pool_options();
    bad.payout_script.clear();
    CHECK_THROWS(InvalidArgument, sv2::ServerEndpoint(o, prefixes, w.store, bad));
}

void refusals() {
    World w(true, 1);
    CHECK_THROWS(NoToken, w.farm.declare(w.t.msg(), tip(0x42), w.t.txs));
    w.connect(true);
    std::vector<Bytes> swapped = {w.t.txs[1], w.t.txs[0], w.t.txs[2]};
    CHECK_THROWS(TransactionsMismatch, w.farm.declare(w.t.msg(), tip(0x42), swapped));
    // Another handle on the store, on another thread, sees the token.
    sv2::TokenStore other = w.store;
    std::size_t seen = 0;
    std::thread([&] { seen = other.size(); }).join();
    CHECK(seen == 1);
    std::uint32_t id = w.declare();
    sv2::JdServerEvent se = w.pool.verdict(id, "bad-txns-inputs-missingorspent", CLOCK);
    CHECK(se.kind == sv2::JdServerEvent::Kind::JobRefused && se.text == "bad-txns-inputs-missingorspent");
    sv2::JdClientEvent ce = w.to_farm();
    CHECK(ce.kind == sv2::JdClientEvent::Kind::JobRefused && ce.code == "bad-txns-inputs-missingorspent");
    CHECK(!ce.details.empty());
    CHECK(!w.farm.custom_job(5, 1).has_value());
    CHECK(w.pool.pending_declarations() == 0);
    CHECK_THROWS(TooLong, w.pool.verdict(id, std::string(256, 'x'), CLOCK));
}

void coinbase_only() {
    World w(false, 1);
    w.connect(false);
    sv2::Declaration d = w.farm.declare(w.t.msg(), tip(0x42), {});
    CHECK(d.ready);
    CHECK(w.farm.take_output().empty());
    sv2::CustomJobCheck c = w.check(0x42);
    CHECK(c.accepted && c.user == "alice");
    CHECK(!w.farm.push_solution(d.request_id, EXTRANONCE, 1, NOW, 0x20000000).empty());
}

void connections_end() {
    World w(true, 1);
    sv2::AllocateMiningJobToken alloc;
    alloc.request_id = 1;
    CHECK_THROWS(NotSetUp, w.pool.handle(sv2::Message(alloc), CLOCK));
    sv2::SetupConnection setup;
    setup.protocol = 1;
    setup.min_version = setup.max_version = 2;
    setup.flags = 0x80;
    CHECK_THROWS(SetupRefused, w.pool.handle(sv2::Message(setup), CLOCK));
    setup.flags = 1;
    CHECK(w.pool.handle(sv2::Message(setup), CLOCK).kind == sv2::JdServerEvent::Kind::SetUp);
    CHECK_THROWS(UnexpectedMessage, w.pool.handle(sv2::Message(setup), CLOCK));
    // A token request flood, with tokens from the operating system.
    sv2::JdServerOptions o = pool_options();
    o.max_token_requests_per_minute = 1;
    sv2::JdServer strict(o, w.store);
    CHECK(strict.handle(sv2::Message(setup), CLOCK).kind == sv2::JdServerEvent::Kind::SetUp);
    CHECK(strict.handle(sv2::Message(alloc), CLOCK).kind == sv2::JdServerEvent::Kind::TokenAllocated);
    CHECK_THROWS(TokenRequestFlood, strict.handle(sv2::Message(alloc), CLOCK));
    CHECK(strict.take_messages().size() == 2);

    sv2::SetupConnectionError refused;
    refused.error_code = "unsupported-protocol";
    CHECK_THROWS(SetupRefused, w.farm.handle(sv2::Message(refused)));
    o.payout_script.clear();
    CHECK_THROWS(InvalidArgument, sv2::JdServer(o, w.store));
    CHECK_THROWS(InvalidArgument, sv2::TokenStore(0));
    sv2::JdClientOptions f = farm_options(true);
    f.extranonce_len = 33;
    CHECK_THROWS(InvalidArgument, sv2::JdClient(f));
}

// The output through plaintext Sessions both ways, and a mempool that throws: every
// transaction is asked of the farm.
void sessions_and_a_throwing_mempool() {
    Template t;
    sv2::TokenStore store(8);
    sv2::JdServer pool(pool_options(), store, [](const sv2::Bytes32 &) -> std::optional<Bytes> {
        throw std::runtime_error("node unreachable");
    });
    sv2::JdClient farm(farm_options(true));
    sv2::Session farm_out = sv2::Session::plaintext(), pool_out = sv2::Session::plaintext();
    sv2::Session pool_in = sv2::Session::plaintext(), farm_in = sv2::Session::plaintext();
    auto to_pool = [&] {
        farm.send_output(farm_out);
        pool_in.receive(farm_out.take_output());
        std::optional<sv2::Frame> f = pool_in.next_frame();
        CHECK(f.has_value());
        return pool.handle(f.value(), CLOCK);
    };
    auto to_farm = [&] {
        pool.send_output(pool_out);
        farm_in.receive(pool_out.take_output());
        std::optional<sv2::Frame> f = farm_in.next_frame();
        CHECK(f.has_value());
        return farm.handle(f.value());
    };
    farm.start();
    CHECK(to_pool().kind == sv2::JdServerEvent::Kind::SetUp);
    CHECK(to_farm().kind == sv2::JdClientEvent::Kind::SetUp);
    farm.request_token();
    CHECK(farm.take_messages().size() == 1); // AllocateMiningJobToken, taken here
    farm.request_token();
    CHECK(to_pool().kind == sv2::JdServerEvent::Kind::TokenAllocated);
    CHECK(to_farm().kind == sv2::JdClientEvent::Kind::TokenReady);
    farm.declare(t.msg(), tip(0x42), t.txs);
    sv2::JdServerEvent se = to_pool();
    CHECK(se.kind == sv2::JdServerEvent::Kind::MissingTransactionsRequested && se.count == 3);
    CHECK(to_farm().count == 3);
    CHECK(to_pool().kind == sv2::JdServerEvent::Kind::ValidateJob);
    // A moved-from server answers without crashing.
    sv2::JdServer moved = std::move(pool);
    CHECK(moved.pending_declarations() == 1);
    CHECK(pool.pending_declarations() == 0); // NOLINT(bugprone-use-after-move): checked on purpose
    CHECK_THROWS(NullParameter, pool.verdict(1, std::nullopt, CLOCK));
}

} // namespace

int main() {
    full_template();
    refusals();
    coinbase_only();
    work_selection(true);
    work_selection(false);
    connections_end();
    sessions_and_a_throwing_mempool();
    return test::report();
}
