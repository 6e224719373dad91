// The Mining endpoints through the C++ API: a C++ "pool" runs an sv2::ServerEndpoint and a C++
// "miner" an sv2::ClientEndpoint against it, in memory. The miner's output reaches the pool as
// messages; the pool's output goes through a plaintext Session to the miner as frames. Setup, a
// standard and an extended channel, jobs from a JobFactory, shares mined on the endpoint's work
// (accepted, acknowledged with the caller's tag once the pool takes its successes, a block
// found), bad shares rejected with the spec's codes on both sides, UpdateChannel, a refused
// open, CloseChannel, new tips, and the errors that end a connection. Prints "N passed, N
// failed" and exits non-zero on any failure.
#include "test_util.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace {

constexpr std::uint32_t NOW = 1700000000;
const std::vector<std::uint8_t> SCRIPT = {0x51};
const std::vector<std::uint8_t> TAG = {'t', 'e', 's', 't'};
const std::vector<std::uint8_t> ROLLED = {9, 8, 7, 6, 5, 4};

sv2::Bytes32 half() { // half of all hashes meet it
    sv2::Bytes32 t = test::filled(0xff);
    t[31] = 0x7f;
    return t;
}

const sv2::Bytes32 NONE{};
const sv2::Bytes32 ALL = test::filled(0xff);

sv2::ServerOptions easy_options() {
    sv2::ServerOptions o = sv2::ServerOptions::defaults();
    o.min_difficulty = 1e-12; // no difficulty floor above the miner's maximum target
    return o;
}

sv2::ClientOptions client_options() {
    sv2::ClientOptions o;
    o.endpoint_host = "pool.example";
    o.endpoint_port = 3333;
    o.vendor = "libsv2-test";
    o.firmware = "test-1";
    return o;
}

struct World {
    sv2::JobFactory jobs{SCRIPT, TAG, 8};
    sv2::ExtranonceAllocator prefixes{{}, 2, 8};
    sv2::ServerEndpoint pool;
    sv2::ClientEndpoint miner{client_options()};
    sv2::Session pool_session = sv2::Session::plaintext();
    sv2::Session miner_session = sv2::Session::plaintext();

    explicit World(const sv2::ServerOptions &o = easy_options()) : pool(o, prefixes) {}

    void tip(std::uint64_t template_id, const sv2::Bytes32 &block) {
        sv2::NewTemplate t{};
        t.template_id = template_id;
        t.future_template = true;
        t.version = 0x20000000;
        t.coinbase_tx_version = 2;
        t.coinbase_prefix = {0x01, 0x65};
        t.coinbase_tx_input_sequence = 0xffffffff;
        t.coinbase_tx_value_remaining = 5000000000u;
        t.merkle_path = {test::filled(0x31), test::filled(0x32)};
        CHECK(jobs.handle(t).has_value());
        sv2::SetNewPrevHashTdp p{template_id, test::filled(static_cast<std::uint8_t>(template_id)), NOW, 0x207fffff,
                                 block};
        std::optional<sv2::TemplateJob> j = jobs.handle(p);
        CHECK(j && j->new_tip);
    }

    // Everything the miner queued reaches the pool, message by message.
    std::vector<sv2::ServerEvent> to_pool() {
        std::vector<sv2::ServerEvent> out;
        for (const sv2::Message &m : miner.take_messages()) out.push_back(pool.handle(m, jobs, 100, NOW));
        return out;
    }

    // Everything the pool queued reaches the miner through the sessions, frame by frame.
    std::vector<sv2::ClientEvent> to_miner() {
        pool.send_output(pool_session);
        miner_session.receive(pool_session.take_output());
        std::vector<sv2::ClientEvent> out;
        while (std::optional<sv2::Frame> f = miner_session.next_frame()) {
            for (sv2::ClientEvent &e : miner.handle(*f)) out.push_back(std::move(e));
        }
        return out;
    }

    void set_up() {
        miner.setup_connection();
        std::vector<sv2::ServerEvent> ev = to_pool();
        CHECK(ev.size() == 1 && ev[0].kind == sv2::ServerEvent::Kind::SetUp && pool.set_up());
        std::vector<sv2::ClientEvent> got = to_miner();
        CHECK(got.size() == 1 && got[0].kind == sv2::ClientEvent::Kind::Connected);
    }

    std::uint32_t open(bool extended, const std::string &user) {
        std::uint32_t request =
            extended ? miner.open_extended(user, 1.0f, half(), 4) : miner.open_standard(user, 1.0f, half());
        std::vector<sv2::ServerEvent> ev = to_pool();
        CHECK(ev.size() == 1 && ev[0].kind == sv2::ServerEvent::Kind::ChannelOpened);
        std::vector<sv2::ClientEvent> got = to_miner();
        auto opened = std::find_if(got.begin(), got.end(),
                                   [](const auto &e) { return e.kind == sv2::ClientEvent::Kind::ChannelOpened; });
        CHECK(opened != got.end() && opened->request_id == request && opened->channel_id == ev.at(0).channel_id);
        if (opened != got.end())
            CHECK(opened->extranonce_size == (extended ? 6 : 0) &&
                  opened->extranonce_prefix.size() == (extended ? 2u : 8u));
        CHECK(std::any_of(got.begin(), got.end(),
                          [](const auto &e) { return e.kind == sv2::ClientEvent::Kind::PrevHash; }));
        return ev.at(0).channel_id;
    }

    sv2::Work work(std::uint32_t channel, bool extended) const {
        std::optional<sv2::Work> w = extended ? miner.work(channel, ROLLED) : miner.work(channel);
        CHECK(w.has_value());
        return w.value_or(sv2::Work{});
    }

    // Submits a share on `w` with `nonce`; the pool's event.
    sv2::ServerEvent submit(std::uint32_t channel, const sv2::Work &w, std::uint32_t nonce, std::uint64_t tag) {
        miner.submit(channel, w, nonce, w.min_ntime, w.version, tag);
        std::vector<sv2::ServerEvent> ev = to_pool();
        CHECK(ev.size() == 1);
        return ev.empty() ? sv2::ServerEvent{} : ev[0];
    }
};

// A nonce whose hash meets (or misses) the work's target.
std::uint32_t mine(const sv2::Work &w, bool meets, std::uint32_t from = 0) {
    for (std::uint32_t nonce = from;; nonce++) {
        if (sv2::hash_meets_target(sv2::header_hash(w, w.version, w.min_ntime, nonce), w.target) == meets) return nonce;
    }
}

template <class E, class K> const E *find(const std::vector<E> &events, K kind) {
    for (const E &e : events)
        if (e.kind == kind) return &e;
    return nullptr;
}

void mining(bool extended) {
    using SK = sv2::ServerEvent::Kind;
    using CK = sv2::ClientEvent::Kind;
    World w;
    w.tip(1, NONE);
    sv2::Synced s = w.pool.sync(w.jobs);
    CHECK(!s.tip_sent && s.skipped == 0);
    w.set_up();
    std::uint32_t ch = w.open(extended, "alice.rig1");
    CHECK(w.pool.channel_count() == 1 && w.pool.channel_user(ch) == std::string("alice.rig1"));
    CHECK(!w.pool.channel_user(ch + 100).has_value());

    // Accepted, acknowledged with the tag once the pool takes its successes.
    sv2::Work work = w.work(ch, extended);
    std::uint32_t good = mine(work, true);
    sv2::ServerEvent ev = w.submit(ch, work, good, 42);
    CHECK(ev.kind == SK::ShareAccepted && ev.channel_id == ch && !ev.solution && ev.difficulty > 0);
    CHECK(w.to_miner().empty());
    CHECK(w.pool.take_successes() == 1);
    std::vector<sv2::ClientEvent> got = w.to_miner();
    CHECK(got.size() == 1 && got[0].kind == CK::ShareAccepted && got[0].tag == std::optional<std::uint64_t>(42));

    // The same share again, and one that misses the target: their codes reach the miner.
    ev = w.submit(ch, work, good, 43);
    CHECK(ev.kind == SK::ShareRejected && ev.error == sv2::ErrorCode::DuplicateShare &&
          ev.error_code == "duplicate-share");
    ev = w.submit(ch, work, mine(work, false), 44);
    CHECK(ev.kind == SK::ShareRejected && ev.error == sv2::ErrorCode::DifficultyTooLow &&
          ev.error_code == "difficulty-too-low");
    got = w.to_miner();
    CHECK(got.size() == 2 && got[0].text == "duplicate-share" && got[0].tag == std::optional<std::uint64_t>(43) &&
          got[1].text == "difficulty-too-low" && got[1].tag == std::optional<std::uint64_t>(44));
    CHECK(w.pool.take_successes() == 0);

    // A new tip whose network target every hash meets: the old share is stale, a new one a
    // block.
    w.tip(3, ALL);
    CHECK(w.pool.sync(w.jobs).tip_sent);
    CHECK(find(w.to_miner(), CK::PrevHash) != nullptr);
    ev = w.submit(ch, work, good, 45);
    CHECK(ev.error == sv2::ErrorCode::StaleShare);
    got = w.to_miner();
    CHECK(got.size() == 1 && got[0].text == "stale-share");
    work = w.work(ch, extended);
    std::uint32_t nonce = mine(work, true);
    ev = w.submit(ch, work, nonce, 46);
    CHECK(ev.kind == SK::ShareAccepted && ev.solution && ev.solution->template_id == 3 &&
          ev.solution->header_nonce == nonce);

    // UpdateChannel: a bad hashrate is refused.
    w.miner.update_channel(ch, -1.0f, half());
    CHECK(w.to_pool().at(0).kind == SK::Handled);
    const sv2::ClientEvent *refused = nullptr;
    got = w.to_miner();
    refused = find(got, CK::UpdateRefused);
    CHECK(refused && refused->text == "invalid-nominal-hashrate");
    w.pool.retarget(100000);
    w.to_miner();

    // A refused open, by request id on both sides; then CloseChannel.
    std::uint32_t request = w.miner.open_standard("  ", 1.0f, half());
    std::vector<sv2::ServerEvent> evs = w.to_pool();
    CHECK(evs.size() == 1 && evs[0].kind == SK::OpenRefused && evs[0].request_id == request &&
          evs[0].error_code == "invalid-user-identity");
    got = w.to_miner();
    CHECK(got.size() == 1 && got[0].kind == CK::ChannelRefused && got[0].text == "invalid-user-identity");
    w.miner.close_channel(ch, "bye");
    evs = w.to_pool();
    CHECK(evs.size() == 1 && evs[0].kind == SK::ChannelsClosed && evs[0].count == 1 && w.pool.channel_count() == 0);
    CHECK_THROWS(InvalidChannelId, w.miner.submit(ch, work, 1, 1, 1, 0));
}

void endings() {
    sv2::ServerOptions o = easy_options();
    o.extended_channels_only = true;
    o.version_rolling = false;
    o.max_shares_per_tip = 1;
    World w(o);
    CHECK_THROWS(NotSetUp, w.miner.open_extended("a", 1.0f, half(), 0));
    CHECK_THROWS(NotSetUp, w.pool.handle(sv2::OpenExtendedMiningChannel{}, w.jobs, 1, NOW));
    w.miner.setup_connection();
    CHECK(w.to_pool().at(0).flags == 0b11);
    CHECK(w.to_miner().at(0).flags == 0b11);
    CHECK_THROWS(ExtendedChannelsRequired, w.miner.open_standard("a", 1.0f, half()));
    w.tip(1, NONE);
    std::uint32_t ch = w.open(true, "bob");
    sv2::Work work = w.work(ch, true);
    std::uint32_t nonce = mine(work, true);
    CHECK(w.submit(ch, work, nonce, 1).kind == sv2::ServerEvent::Kind::ShareAccepted);
    w.miner.submit(ch, work, mine(work, true, nonce + 1), work.min_ntime, work.version, 2);
    CHECK_THROWS(TooManyShares, w.to_pool());
    w.miner.setup_connection();
    CHECK_THROWS(UnexpectedMessage, w.to_pool());
    CHECK_THROWS(UnexpectedMessage, w.miner.handle(sv2::OpenStandardMiningChannel{}));
    sv2::Frame garbage{sv2::FrameHeader{0, 0x1a, true, 3}, {1, 2, 3}};
    CHECK_THROWS(UnexpectedEnd, w.pool.handle(garbage, w.jobs, 1, NOW));

    // A SetupConnection the server refuses: the Error is queued, and the miner is refused.
    World r;
    sv2::SetupConnection bad{};
    bad.protocol = 1;
    CHECK_THROWS(SetupRefused, r.pool.handle(bad, r.jobs, 1, NOW));
    std::vector<sv2::Message> out = r.pool.take_messages();
    CHECK(out.size() == 1 && std::holds_alternative<sv2::SetupConnectionError>(out[0]));
    r.miner.setup_connection();
    CHECK_THROWS(SetupRefused, r.miner.handle(out.at(0)));

    sv2::ClientOptions c = client_options();
    c.vendor = "\xff";
    CHECK_THROWS(InvalidArgument, sv2::ClientEndpoint{c});
    sv2::ServerOptions zero{};
    sv2::ExtranonceAllocator a({}, 2, 8);
    CHECK_THROWS(InvalidArgument, sv2::ServerEndpoint(zero, a));
}

} // namespace

int main() {
    mining(false);
    mining(true);
    endings();
    return test::report();
}
