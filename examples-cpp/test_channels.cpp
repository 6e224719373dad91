// The pool side of channels through the C++ API, against the C++ mining client. A template
// provider, a pool and a miner talk over plaintext sessions in memory: templates become jobs,
// jobs reach the client channel, its shares are accepted, every kind of bad share is rejected
// with the spec's error code, a share that meets the network target becomes a SubmitSolution,
// and targets follow UpdateChannel and vardiff; then groups, extranonce allocation, and bad
// input. Prints "N passed, N failed" and exits non-zero on any failure.
#include <sv2.h>
#include "test_util.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr std::uint32_t NOW = 1700000000;
const std::vector<std::uint8_t> SCRIPT = {0x51}; // OP_TRUE
const std::vector<std::uint8_t> TAG = {'t', 'e', 's', 't'};
const std::vector<std::uint8_t> ROLLED = {1, 2, 3, 4, 5, 6};

sv2::Bytes32 share_target() { // half of all hashes meet it
    sv2::Bytes32 t = test::filled(0xff);
    t[31] = 0x7f;
    return t;
}

const sv2::Bytes32 HARD{};                    // nothing meets it
const sv2::Bytes32 EASY = test::filled(0xff); // everything meets it

// Sends `m` over a plaintext link and returns it as the other side decodes it.
sv2::Message wire(sv2::Session &from, sv2::Session &to, const sv2::Message &m) {
    from.send(m);
    to.receive(from.take_output());
    std::optional<sv2::Message> got = to.next_message();
    CHECK(got.has_value() && got->index() == m.index());
    return got ? *got : m;
}

sv2::NewTemplate new_template(std::uint64_t id, bool future) {
    sv2::NewTemplate t{};
    t.template_id = id;
    t.future_template = future;
    t.version = 0x20000000;
    t.coinbase_tx_version = 2;
    t.coinbase_prefix = {0x01, 0x65};
    t.coinbase_tx_input_sequence = 0xffffffff;
    t.coinbase_tx_value_remaining = 5000000000u;
    t.merkle_path.push_back(test::filled(0x31));
    t.merkle_path.push_back(test::filled(0x32));
    return t;
}

sv2::SetNewPrevHashTdp prev_hash_tdp(std::uint64_t template_id, const sv2::Bytes32 &target) {
    return sv2::SetNewPrevHashTdp{template_id, test::filled(static_cast<std::uint8_t>(template_id)), NOW, 0x207fffff,
                                  target};
}

struct Net {
    sv2::Session tp = sv2::Session::plaintext();
    sv2::Session pool_tdp = sv2::Session::plaintext();
    sv2::Session pool_mining = sv2::Session::plaintext();
    sv2::Session miner = sv2::Session::plaintext();
};

// The template provider sends `m`; the pool's factory makes the job.
sv2::TemplateJob from_tp(Net &n, sv2::JobFactory &f, const sv2::Message &m) {
    std::optional<sv2::TemplateJob> j = f.handle(wire(n.tp, n.pool_tdp, m));
    CHECK(j.has_value());
    return j.value_or(sv2::TemplateJob{});
}

// The pool sends a message a channel made; the miner's client channel takes it.
void to_miner(Net &n, sv2::ClientChannel &c, const sv2::Message &m) {
    CHECK(c.handle(wire(n.pool_mining, n.miner, m)));
}

// A share on the client's current work whose hash meets (or misses) the share target.
sv2::Message make_share(const sv2::ClientChannel &c, bool extended, std::uint32_t seq, std::uint32_t version_roll,
                        bool meets, sv2::Work &w) {
    w = c.work(ROLLED).value();
    const std::uint32_t version = w.version | version_roll;
    std::uint32_t nonce = 0;
    while (sv2::hash_meets_target(sv2::header_hash(w, version, w.min_ntime, nonce), share_target()) != meets) ++nonce;
    if (extended) return c.submit_extended(w, seq, nonce, w.min_ntime, version);
    return c.submit_standard(w, seq, nonce, w.min_ntime, version);
}

// Edits the fields every share has, whichever kind `m` holds.
template <class F> sv2::Message edited(sv2::Message m, F &&f) {
    std::visit(
        [&](auto &s) {
            using T = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<T, sv2::SubmitSharesStandard> || std::is_same_v<T, sv2::SubmitSharesExtended>)
                f(s.channel_id, s.job_id, s.ntime);
        },
        m);
    return m;
}

// The miner submits `share`; the pool validates it. A rejection goes back on the wire, where
// the miner reads the spec's code.
sv2::ShareResult submit(Net &n, sv2::ServerChannel &ch, const sv2::Message &share) {
    sv2::ShareResult r = ch.validate(wire(n.miner, n.pool_mining, share), NOW);
    CHECK(r.accepted() != r.reply.has_value());
    if (r.reply) {
        sv2::Message back = wire(n.pool_mining, n.miner, *r.reply);
        CHECK(std::get<sv2::SubmitSharesError>(back).error_code == r.reply->error_code);
    }
    return r;
}

bool rejected(const sv2::ShareResult &r, sv2::ErrorCode code, const char *text) {
    return r.error == code && r.reply && r.reply->error_code == text;
}

void channel_against_client(bool extended) {
    Net n;
    sv2::JobFactory f(SCRIPT, TAG, 8);
    sv2::ExtranonceAllocator alloc({}, 2, 8);
    const std::uint32_t id = extended ? 3 : 2;

    sv2::Message c = wire(n.pool_tdp, n.tp, f.coinbase_output_constraints());
    CHECK(std::get<sv2::CoinbaseOutputConstraints>(c).coinbase_output_max_additional_size == 10);

    // The miner opens a channel; the pool answers from the channel it makes.
    sv2::ServerChannelParams p{};
    p.channel_id = id;
    p.extended = extended;
    if (extended) {
        sv2::OpenExtendedMiningChannel open{};
        open.request_id = 7;
        open.user_identity = "alice.1";
        open.max_target = EASY;
        open.min_extranonce_size = 4;
        auto got = std::get<sv2::OpenExtendedMiningChannel>(wire(n.miner, n.pool_mining, open));
        CHECK(got.min_extranonce_size <= alloc.rollable() && alloc.rollable() == 6);
        p.extranonce_size = static_cast<std::uint16_t>(alloc.rollable());
        p.user_identity = got.user_identity;
        p.max_target = got.max_target;
        p.extranonce_prefix = alloc.next_extended();
    } else {
        sv2::OpenStandardMiningChannel open{};
        open.request_id = 7;
        open.user_identity = "alice.1";
        open.max_target = EASY;
        auto got = std::get<sv2::OpenStandardMiningChannel>(wire(n.miner, n.pool_mining, open));
        p.user_identity = got.user_identity;
        p.max_target = got.max_target;
        p.extranonce_prefix = alloc.next_standard();
    }
    p.target = share_target();
    p.shares_per_minute = 6;
    p.vardiff_window_secs = 60;
    sv2::ServerChannel ch(p, 0);
    sv2::Message ok = wire(n.pool_mining, n.miner, ch.open_success(7, 1));
    std::optional<sv2::ClientChannel> client;
    if (extended) {
        auto s = std::get<sv2::OpenExtendedMiningChannelSuccess>(ok);
        CHECK(s.request_id == 7 && s.channel_id == id && s.extranonce_size == 6 && s.group_channel_id == 1);
        client.emplace(sv2::ClientChannel::extended(s.channel_id, s.target, s.extranonce_prefix, s.extranonce_size));
    } else {
        auto s = std::get<sv2::OpenStandardMiningChannelSuccess>(ok);
        CHECK(s.request_id == 7 && s.channel_id == id && s.extranonce_prefix.size() == 8);
        client.emplace(sv2::ClientChannel::standard(s.channel_id, s.target, s.extranonce_prefix, true));
    }

    // A future template and its tip.
    sv2::TemplateJob job = from_tp(n, f, new_template(1, true));
    CHECK(!job.min_ntime && !job.new_tip);
    sv2::Message out = ch.add_job(f, job.job_id, std::nullopt);
    CHECK(sv2::message_type(out) ==
          (extended ? sv2::MessageType::NewExtendedMiningJob : sv2::MessageType::NewMiningJob));
    to_miner(n, *client, out);
    CHECK(!client->work(ROLLED).has_value());
    sv2::TemplateJob tip = from_tp(n, f, prev_hash_tdp(1, HARD));
    CHECK(tip.new_tip && tip.job_id == job.job_id && tip.min_ntime == NOW);
    sv2::SetNewPrevHash snph = ch.activate(f);
    CHECK(snph.channel_id == id && snph.job_id == job.job_id);
    to_miner(n, *client, snph);

    // Valid shares, at the target and with a BIP323 version bit rolled.
    sv2::Work w{};
    sv2::Message good = make_share(*client, extended, 1, 0, true, w);
    sv2::ShareResult r = submit(n, ch, good);
    CHECK(r.accepted() && r.target == share_target() && r.difficulty > 0 && !r.solution);
    CHECK(submit(n, ch, make_share(*client, extended, 2, 1u << 5, true, w)).accepted());
    std::optional<sv2::SubmitSharesSuccess> s = ch.take_success();
    CHECK(s && s->new_submits_accepted_count == 2 && s->last_sequence_number == 2 && s->channel_id == id);
    if (s) wire(n.pool_mining, n.miner, *s);
    CHECK(!ch.take_success());

    // Every kind of bad share.
    CHECK(rejected(submit(n, ch, good), sv2::ErrorCode::DuplicateShare, "duplicate-share"));
    CHECK(rejected(submit(n, ch, make_share(*client, extended, 3, 0, false, w)), sv2::ErrorCode::DifficultyTooLow,
                   "difficulty-too-low"));
    CHECK(rejected(submit(n, ch, make_share(*client, extended, 4, 1, true, w)),
                   sv2::ErrorCode::InvalidNonRollableVersionBit, "invalid-non-rollable-version-bit"));
    auto fresh = [&](std::uint32_t seq) { return make_share(*client, extended, seq, 0, true, w); };
    CHECK(rejected(
        submit(n, ch, edited(fresh(5), [](std::uint32_t &, std::uint32_t &job_id, std::uint32_t &) { job_id = 9999; })),
        sv2::ErrorCode::InvalidJobId, "invalid-job-id"));
    for (std::uint32_t ntime : {NOW - 1, NOW + 7201}) {
        auto late = [&](std::uint32_t &, std::uint32_t &, std::uint32_t &t) { t = ntime; };
        auto r2 = submit(n, ch, edited(fresh(6), late));
        CHECK(rejected(r2, sv2::ErrorCode::NtimeOutOfRange, "invalid-timestamp"));
    }
    CHECK(rejected(
        submit(n, ch, edited(fresh(7), [](std::uint32_t &channel, std::uint32_t &, std::uint32_t &) { channel = 77; })),
        sv2::ErrorCode::InvalidChannelId, "invalid-channel-id"));
    sv2::SubmitSharesExtended wrong_size = client->submit_extended(w, 8, 0, w.min_ntime, w.version);
    wrong_size.extranonce = std::vector<std::uint8_t>(extended ? 5 : 6);
    CHECK(rejected(submit(n, ch, wrong_size), sv2::ErrorCode::BadExtranonceSize, "bad-extranonce-size"));

    // A new tip whose network target every hash meets: old shares are stale, and the next
    // share is a block for the template provider.
    sv2::Message old = fresh(9);
    job = from_tp(n, f, new_template(2, true));
    to_miner(n, *client, ch.add_job(f, job.job_id, std::nullopt));
    from_tp(n, f, prev_hash_tdp(2, EASY));
    to_miner(n, *client, ch.activate(f));
    CHECK(rejected(submit(n, ch, old), sv2::ErrorCode::StaleShare, "stale-share"));
    sv2::Message found = fresh(10);
    r = submit(n, ch, found);
    CHECK(r.accepted() && r.solution.has_value());
    if (r.solution) {
        auto sol = std::get<sv2::SubmitSolution>(wire(n.pool_tdp, n.tp, *r.solution));
        std::uint32_t nonce = std::visit(
            [](const auto &m) -> std::uint32_t {
                if constexpr (std::is_same_v<std::decay_t<decltype(m)>, sv2::SubmitSharesStandard> ||
                              std::is_same_v<std::decay_t<decltype(m)>, sv2::SubmitSharesExtended>)
                    return m.nonce;
                return 0;
            },
            found);
        CHECK(sol.template_id == 2 && sol.header_nonce == nonce && sol.header_timestamp == w.min_ntime &&
              sol.version == w.version);
        // The coinbase hashes, up the merkle path, to the root the miner hashed.
        sv2::Bytes32 root = sv2::sha256d(sol.coinbase_tx);
        for (std::uint8_t level : {0x31, 0x32}) {
            std::vector<std::uint8_t> pair(root.begin(), root.end());
            sv2::Bytes32 sibling = test::filled(level);
            pair.insert(pair.end(), sibling.begin(), sibling.end());
            root = sv2::sha256d(pair);
        }
        CHECK(root == w.merkle_root);
        CHECK(sv2::header_hash(w, sol.version, sol.header_timestamp, sol.header_nonce) == r.hash);
    }

    // UpdateChannel: a nominal hashrate gives a SetTarget the miner follows; a NaN one an
    // UpdateChannelError; another channel's id too.
    sv2::UpdateChannel u{id, 1e12f, EASY};
    std::optional<sv2::Message> reply = ch.update(std::get<sv2::UpdateChannel>(wire(n.miner, n.pool_mining, u)), 100);
    const sv2::Bytes32 want = sv2::target_for_hashrate(static_cast<double>(1e12f), 6, EASY);
    CHECK(reply && std::get<sv2::SetTarget>(*reply).maximum_target == want && ch.target() == want);
    if (reply) to_miner(n, *client, *reply);
    CHECK(client->target() == want);
    CHECK(!ch.update(u, 100).has_value());
    u.nominal_hash_rate = std::nanf("");
    reply = ch.update(u, 100);
    CHECK(reply && std::get<sv2::UpdateChannelError>(*reply).error_code == "invalid-nominal-hashrate");
    if (reply) wire(n.pool_mining, n.miner, *reply);
    u.channel_id = 99;
    reply = ch.update(u, 100);
    CHECK(reply && std::get<sv2::UpdateChannelError>(*reply).error_code == "invalid-channel-id");

    // Vardiff: a window without shares makes the target easier.
    CHECK(!ch.retarget(101));
    std::optional<sv2::SetTarget> easier = ch.retarget(200);
    CHECK(easier && easier->maximum_target != want);
    if (easier) to_miner(n, *client, *easier);
    CHECK(client->target() != want);
}

void group_channels() {
    sv2::JobFactory f(SCRIPT, {}, 8);
    sv2::GroupChannel g(1, true);
    sv2::ServerChannelParams p{};
    p.channel_id = 2;
    p.user_identity = "bob";
    p.extranonce_prefix = {0, 1, 0, 0, 0, 0, 0, 0};
    p.target = share_target();
    p.max_target = EASY;
    p.shares_per_minute = 6;
    p.vardiff_window_secs = 60;
    sv2::ServerChannel a(p, 0);
    p.channel_id = 3;
    p.extended = true;
    p.extranonce_size = 6;
    p.extranonce_prefix = {0, 2};
    sv2::ServerChannel b(p, 0);
    const std::vector<std::uint8_t> pa = {0, 1, 0, 0, 0, 0, 0, 0};
    sv2::ClientChannel ca = sv2::ClientChannel::standard(2, share_target(), pa, true);
    sv2::ClientChannel cb = sv2::ClientChannel::extended(3, share_target(), std::vector<std::uint8_t>{0, 2}, 6);
    g.add(std::move(a));
    g.add(std::move(b));
    CHECK(g.size() == 2 && g.group_id() == 1);
    sv2::ServerChannel dup(p, 0);
    CHECK_THROWS(InvalidChannelId, g.add(std::move(dup)));
    CHECK(dup.channel_id() == 3); // a refused channel stays usable

    std::optional<sv2::TemplateJob> j = f.handle(new_template(1, true));
    std::vector<sv2::Message> jobs = g.add_job(f, j.value().job_id, std::nullopt);
    CHECK(jobs.size() == 2 && sv2::message_type(jobs[0]) == sv2::MessageType::NewMiningJob &&
          sv2::message_type(jobs[1]) == sv2::MessageType::NewExtendedMiningJob);
    f.handle(prev_hash_tdp(1, HARD));
    std::vector<sv2::SetNewPrevHash> prevs = g.activate(f);
    CHECK(prevs.size() == 2 && prevs[0].channel_id == 2 && prevs[1].channel_id == 3);
    for (const auto &m : jobs) {
        ca.handle(m);
        cb.handle(m);
    }
    for (const auto &m : prevs) {
        ca.handle(m);
        cb.handle(m);
    }
    sv2::Work w{};
    CHECK(g.validate(make_share(ca, false, 1, 0, true, w), NOW).accepted());
    sv2::Message ext = make_share(cb, true, 1, 0, true, w);
    CHECK(g.validate(ext, NOW).accepted());
    std::get<sv2::SubmitSharesExtended>(ext).channel_id = 1;
    CHECK(g.validate(ext, NOW).error == sv2::ErrorCode::InvalidChannelId);
    CHECK(g.take_successes().size() == 2 && g.take_successes().empty());
    CHECK(g.set_target(share_target()).channel_id == 1);
    std::optional<sv2::Message> t = g.update(sv2::UpdateChannel{3, 1e15f, EASY}, 5);
    CHECK(t && std::get<sv2::SetTarget>(*t).channel_id == 3);
    t = g.update(sv2::UpdateChannel{9, 1e15f, EASY}, 5);
    CHECK(t && std::get<sv2::UpdateChannelError>(*t).error_code == "invalid-channel-id");
    CHECK(g.retarget(100).size() == 2 && g.retarget(100).empty());
    sv2::ServerChannel back = g.remove(2);
    CHECK(back.channel_id() == 2 && g.size() == 1);
    CHECK_THROWS(InvalidChannelId, g.remove(2));

    // Without REQUIRES_STANDARD_JOBS a standard member's job goes to the group.
    sv2::GroupChannel shared(10, false);
    shared.add(std::move(back));
    jobs = shared.add_job(f, f.jobs().at(0).job_id, std::nullopt);
    CHECK(jobs.size() == 1 && std::get<sv2::NewExtendedMiningJob>(jobs[0]).channel_id == 10);
    // The member's client, told its group, mines that job with its own extranonce prefix once
    // the group's SetNewPrevHash activates it, and the pool accepts its share.
    sv2::ClientChannel member = sv2::ClientChannel::standard(2, share_target(), pa, true);
    CHECK(!member.group_channel_id() && !member.handle(jobs.at(0)));
    member.set_group_channel_id(10);
    CHECK(member.group_channel_id() == std::optional<std::uint32_t>(10));
    CHECK(member.handle(jobs.at(0)));
    prevs = shared.activate(f);
    CHECK(prevs.size() == 1 && prevs.at(0).channel_id == 10 && member.handle(prevs.at(0)));
    CHECK(member.work().has_value());
    // (A rolled version bit: ca's share on the same work and tip was already credited.)
    CHECK(shared.validate(make_share(member, false, 2, 1u << 6, true, w), NOW).accepted());
    CHECK(member.handle(sv2::SetGroupChannel{11, {2}}) &&
          member.group_channel_id() == std::optional<std::uint32_t>(11));
}

void factory_allocator_and_bad_input() {
    sv2::JobFactory f(SCRIPT, {}, 8);
    CHECK_THROWS(NoPrevHash, f.handle(new_template(1, false)));
    CHECK_THROWS(UnknownJob, f.handle(prev_hash_tdp(1, HARD)));
    CHECK(!f.handle(sv2::SetTarget{}).has_value());
    sv2::NewTemplate bad = new_template(1, true);
    bad.coinbase_tx_outputs = {1, 2, 3};
    bad.coinbase_tx_outputs_count = 1;
    CHECK_THROWS(InvalidCoinbaseOutputs, f.handle(bad));
    bad = new_template(1, true);
    for (int i = 0; i < 254; ++i) bad.merkle_path.push_back(sv2::Bytes32{});
    CHECK_THROWS(TooLong, f.handle(bad));
    CHECK_THROWS(ScriptSigTooLong, sv2::JobFactory(SCRIPT, std::vector<std::uint8_t>(80), 8));

    sv2::TemplateJob first = f.handle(new_template(1, true)).value();
    f.handle(prev_hash_tdp(1, HARD));
    sv2::TemplateJob later = f.handle(new_template(2, false)).value();
    sv2::TemplateJob future = f.handle(new_template(3, true)).value();
    std::vector<sv2::TemplateJob> jobs = f.jobs();
    CHECK(jobs.size() == 3 && jobs[0].job_id == first.job_id && jobs[0].new_tip && jobs[1].job_id == later.job_id &&
          jobs[1].min_ntime.has_value() && jobs[2].job_id == future.job_id && !jobs[2].min_ntime.has_value());

    sv2::ServerChannelParams p{};
    p.channel_id = 2;
    p.user_identity = "u";
    p.extranonce_prefix = {1, 2};
    p.extended = true;
    p.extranonce_size = 4; // 6 bytes in all: the factory's jobs have 8
    p.target = EASY;
    p.max_target = EASY;
    p.shares_per_minute = 6;
    sv2::ServerChannel odd(p, 0);
    CHECK_THROWS(ExtranonceMismatch, odd.add_job(f, later.job_id, later.min_ntime));
    CHECK_THROWS(UnknownJob, odd.add_job(f, 4242, std::nullopt));
    CHECK_THROWS(InvalidArgument, odd.validate(sv2::SetTarget{}, NOW));
    sv2::SubmitSharesExtended long_extranonce{};
    long_extranonce.channel_id = 2;
    long_extranonce.extranonce = std::vector<std::uint8_t>(40);
    CHECK(odd.validate(long_extranonce, NOW).error == sv2::ErrorCode::InvalidJobId);
    p.extended = false;
    CHECK_THROWS(InvalidArgument, sv2::ServerChannel(p, 0));
    p.extranonce_size = 0;
    p.shares_per_minute = 0;
    CHECK_THROWS(InvalidArgument, sv2::ServerChannel(p, 0));
    p.shares_per_minute = 6;
    p.extranonce_prefix = std::vector<std::uint8_t>(33);
    CHECK_THROWS(TooLong, sv2::ServerChannel(p, 0));
    p.extranonce_prefix = {};
    p.user_identity = std::string(256, 'x');
    CHECK_THROWS(TooLong, sv2::ServerChannel(p, 0));
    p.user_identity = "\xff"
                      "bob"; // the channel keeps its user as text
    CHECK_THROWS(InvalidArgument, sv2::ServerChannel(p, 0));
    CHECK_THROWS(NoPrevHash, sv2::ServerChannel(sv2::ServerChannelParams{0, false, 0, "u", {}, EASY, EASY, 1, 1}, 0)
                                 .activate(sv2::JobFactory(SCRIPT, {}, 8)));

    CHECK_THROWS(InvalidNominalHashrate, sv2::target_for_hashrate(-1, 6, EASY));
    CHECK_THROWS(InvalidArgument, sv2::target_for_hashrate(1e9, 0, EASY));
    CHECK(sv2::target_for_hashrate(0, 6, share_target()) == share_target());

    sv2::ExtranonceAllocator a(std::vector<std::uint8_t>{0xaa}, 1, 4);
    std::set<std::vector<std::uint8_t>> seen;
    for (int i = 0; i < 256; ++i) {
        std::vector<std::uint8_t> prefix = i % 2 ? a.next_standard() : a.next_extended();
        CHECK(prefix.size() == (i % 2 ? 4u : 2u) && prefix[0] == 0xaa);
        CHECK(seen.insert({prefix[0], prefix[1]}).second);
    }
    CHECK_THROWS(ExtranonceExhausted, a.next_extended());
    CHECK_THROWS(ExtranonceLayout, sv2::ExtranonceAllocator({}, 9, 32));
}

} // namespace

int main() {
    channel_against_client(false);
    channel_against_client(true);
    group_channels();
    factory_allocator_and_bad_input();
    return test::report();
}
