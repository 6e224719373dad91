// A minimal Stratum V2 mining client in C++: open a standard channel, follow its jobs through
// sv2::ClientChannel, hash headers, submit shares.
//
//   mining_client HOST PORT KEY SHARES    pin pool authority KEY (base58check), submit SHARES
//                                         shares and wait for each acknowledgement
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "net.hpp"

namespace {

sv2::SetupConnection setup_mining() {
    sv2::SetupConnection m{};
    m.protocol = 0;
    m.min_version = 2;
    m.max_version = 2;
    m.flags = 1; // REQUIRES_STANDARD_JOBS
    m.endpoint_host = "127.0.0.1";
    m.vendor = "libsv2-cpp-miner";
    m.hardware_version = "cpu";
    m.firmware = "0.1";
    return m;
}

sv2::OpenStandardMiningChannel open_channel() {
    sv2::OpenStandardMiningChannel m{};
    m.request_id = 1;
    m.user_identity = "cpp-miner.1";
    m.nominal_hash_rate = 1e6f;
    m.max_target.fill(0xff);
    return m;
}

// The next nonce from `nonce` on whose header meets the work's share target.
std::uint32_t grind(const sv2::Work &w, std::uint32_t nonce) {
    while (!sv2::hash_meets_target(sv2::header_hash(w, w.version, w.min_ntime, nonce), w.target)) ++nonce;
    return nonce;
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: mining_client HOST PORT KEY SHARES\n");
        return 2;
    }
    try {
        const std::uint32_t wanted = static_cast<std::uint32_t>(std::strtoul(argv[4], nullptr, 10));
        sv2::Bytes32 authority = sv2::authority_key_from_text(argv[3]);
        example::Socket sock = example::connect_to(argv[1], argv[2]);
        sv2::Session s = sv2::Session::initiator(authority, example::unix_now());
        example::handshake(s, sock);

        example::send(s, sock, setup_mining());
        sv2::Message m = example::next_message(s, sock);
        const auto *ok = std::get_if<sv2::SetupConnectionSuccess>(&m);
        if (ok == nullptr) throw std::runtime_error("expected SetupConnectionSuccess");
        const bool rolling = (ok->flags & 1) == 0; // unless REQUIRES_FIXED_VERSION

        example::send(s, sock, open_channel());
        m = example::next_message(s, sock);
        const auto *open = std::get_if<sv2::OpenStandardMiningChannelSuccess>(&m);
        if (open == nullptr) throw std::runtime_error("expected OpenStandardMiningChannelSuccess");
        sv2::ClientChannel ch =
            sv2::ClientChannel::standard(open->channel_id, open->target, open->extranonce_prefix, rolling);
        // Jobs for the group reach the channel too (a server may send them when
        // REQUIRES_STANDARD_JOBS is not set).
        ch.set_group_channel_id(open->group_channel_id);

        // Follow messages until a job is active.
        std::optional<sv2::Work> w;
        while (!(w = ch.work())) ch.handle(example::next_message(s, sock));

        std::uint32_t nonce = 0;
        for (std::uint32_t sequence = 0; sequence < wanted; ++sequence) {
            nonce = grind(*w, nonce);
            example::send(s, sock, ch.submit_standard(*w, sequence, nonce++, w->min_ntime, w->version));
            // Wait for the answer, following any job change on the way.
            for (;;) {
                m = example::next_message(s, sock);
                ch.handle(m);
                if (std::holds_alternative<sv2::SubmitSharesError>(m)) throw std::runtime_error("share rejected");
                if (const auto *acked = std::get_if<sv2::SubmitSharesSuccess>(&m)) {
                    if (acked->last_sequence_number != sequence) throw std::runtime_error("wrong acknowledgement");
                    break;
                }
            }
            std::printf("share %u accepted (job %u)\n", static_cast<unsigned>(sequence),
                        static_cast<unsigned>(w->job_id));
            std::optional<sv2::Work> next = ch.work();
            if (next && next->job_id != w->job_id) nonce = 0;
            w = std::move(next);
            if (!w) throw std::runtime_error("no active job");
        }
        return 0;
    } catch (const sv2::Error &e) {
        std::fprintf(stderr, "mining client: libsv2 error %u: %s\n", static_cast<unsigned>(e.code()), e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mining client: %s\n", e.what());
    }
    return 1;
}
