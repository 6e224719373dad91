// A pool in C++ on libsv2's C++ API, for docs/tutorials/cpp-pool.md: templates from a
// template provider (Template Distribution over Noise), one miner on an extended channel
// (Mining Protocol over Noise), every share validated, every block handed back at once.
//
//   cpp_pool TP_PORT TP_AUTHORITY_FILE LISTEN_PORT POOL_AUTHORITY_FILE BLOCKS
//
// It writes its own authority key to POOL_AUTHORITY_FILE (the miner pins it), serves one miner
// on 127.0.0.1:LISTEN_PORT and exits after sending BLOCKS solutions to the template provider.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include <sv2/sv2.hpp>

namespace {

std::uint32_t unix_now() { return static_cast<std::uint32_t>(std::time(nullptr)); }

std::uint64_t monotonic_secs() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<seconds>(steady_clock::now().time_since_epoch()).count());
}

// One Noise connection: a socket and the session that encrypts what goes over it.
struct Peer {
    int fd;
    sv2::Session session;

    // Writes everything the session has queued.
    void flush() {
        while (!session.pending_output().empty()) {
            sv2::ByteSpan out = session.pending_output();
            ssize_t n = ::write(fd, out.data(), out.size());
            if (n <= 0) throw std::runtime_error("write failed");
            session.consume_output(static_cast<std::size_t>(n));
        }
    }
    void send(const sv2::Message &m) {
        session.send(m);
        flush();
    }
    // Reads what the socket has and feeds it to the session; false when the peer closed.
    bool read_some() {
        std::uint8_t buf[16384];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return false;
        session.receive(sv2::ByteSpan(buf, static_cast<std::size_t>(n)));
        flush(); // the handshake's answer, if any
        return true;
    }
    // Blocks until a whole message arrives.
    sv2::Message next() {
        for (;;) {
            if (std::optional<sv2::Message> m = session.next_message()) return std::move(*m);
            if (!read_some()) throw std::runtime_error("peer closed the connection");
        }
    }
};

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int connect_to(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
    return fd;
}

int accept_one(std::uint16_t port) {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = loopback(port);
    if (::bind(listener, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(listener, 1) != 0)
        throw std::runtime_error("listen failed");
    int fd = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    return fd;
}

std::string read_line(const std::string &path) {
    std::ifstream f(path);
    std::string line;
    if (!std::getline(f, line)) throw std::runtime_error("cannot read " + path);
    return line;
}

// Template Distribution: SetupConnection, then the pool's coinbase constraints.
void setup_template_provider(Peer &tp, const sv2::JobFactory &factory) {
    tp.flush(); // the first handshake message, queued when the session was made
    while (!tp.session.established())
        if (!tp.read_some()) throw std::runtime_error("template provider closed during the handshake");
    sv2::SetupConnection setup{};
    setup.protocol = 2; // Template Distribution
    setup.min_version = setup.max_version = 2;
    setup.endpoint_host = "127.0.0.1";
    setup.vendor = "libsv2-cpp-pool";
    tp.send(setup);
    if (!std::holds_alternative<sv2::SetupConnectionSuccess>(tp.next()))
        throw std::runtime_error("template provider refused SetupConnection");
    tp.send(factory.coinbase_output_constraints());
}

// The miner's channel, once it opened one.
struct Pool {
    sv2::JobFactory factory;
    sv2::ExtranonceAllocator extranonces;
    std::unique_ptr<sv2::ServerChannel> channel;
    int blocks = 0;

    // A template provider message: jobs for the channel, and a new tip activated.
    void on_template(const sv2::Message &m, Peer *miner) {
        std::optional<sv2::TemplateJob> job = factory.handle(m);
        if (!job || !channel || miner == nullptr) return;
        if (job->new_tip)
            miner->send(channel->activate(factory));
        else
            miner->send(channel->add_job(factory, job->job_id, job->min_ntime));
    }

    // A miner message: setup, the channel, shares, hashrate updates.
    void on_miner(const sv2::Message &m, Peer &miner, Peer &tp) {
        if (std::holds_alternative<sv2::SetupConnection>(m)) {
            sv2::SetupConnectionSuccess ok{};
            ok.used_version = 2;
            miner.send(ok);
        } else if (const auto *open = std::get_if<sv2::OpenExtendedMiningChannel>(&m)) {
            sv2::ServerChannelParams p{};
            p.channel_id = 1;
            p.extended = true;
            p.extranonce_size = static_cast<std::uint16_t>(extranonces.rollable());
            p.user_identity = open->user_identity;
            p.extranonce_prefix = extranonces.next_extended();
            p.max_target = open->max_target;
            p.target = sv2::target_for_hashrate(open->nominal_hash_rate, 10, open->max_target);
            p.shares_per_minute = 10;
            p.vardiff_window_secs = 60;
            channel = std::make_unique<sv2::ServerChannel>(p, monotonic_secs());
            miner.send(channel->open_success(open->request_id, p.channel_id));
            // The jobs a new channel needs: the tip's (a future job, then activated), the
            // newest on the tip, the future ones.
            for (const sv2::TemplateJob &job : factory.jobs()) {
                miner.send(channel->add_job(factory, job.job_id, job.new_tip ? std::nullopt : job.min_ntime));
                if (job.new_tip) miner.send(channel->activate(factory));
            }
            std::printf("channel open for %s\n", open->user_identity.c_str());
        } else if (std::holds_alternative<sv2::SubmitSharesExtended>(m) && channel) {
            sv2::ShareResult r = channel->validate(m, unix_now());
            if (r.solution) {
                tp.send(*r.solution); // a block: to the template provider at once
                std::printf("block found (share difficulty %.3g): SubmitSolution sent\n", r.difficulty);
                blocks++;
            }
            if (r.reply) miner.send(*r.reply);
            if (std::optional<sv2::SubmitSharesSuccess> ok = channel->take_success()) miner.send(*ok);
        } else if (const auto *update = std::get_if<sv2::UpdateChannel>(&m); update && channel) {
            if (std::optional<sv2::Message> reply = channel->update(*update, monotonic_secs())) miner.send(*reply);
        }
    }
};

} // namespace

int main(int argc, char **argv) try {
    if (argc != 6) {
        std::fprintf(stderr, "usage: cpp_pool TP_PORT TP_AUTHORITY_FILE LISTEN_PORT POOL_AUTHORITY_FILE BLOCKS\n");
        return 2;
    }
    const auto tp_port = static_cast<std::uint16_t>(std::stoul(argv[1]));
    const auto listen_port = static_cast<std::uint16_t>(std::stoul(argv[3]));
    const int wanted = std::stoi(argv[5]);

    // Pays every block to an anyone-can-spend script (regtest); 8-byte extranonces, of which
    // 2 bytes are the channel's prefix.
    const std::uint8_t payout[] = {0x51};
    const std::string tag = "libsv2-cpp";
    Pool pool{sv2::JobFactory(sv2::ByteSpan(payout, sizeof payout),
                              sv2::ByteSpan(reinterpret_cast<const std::uint8_t *>(tag.data()), tag.size()), 8),
              sv2::ExtranonceAllocator(sv2::ByteSpan(), 2, 8), nullptr};

    const sv2::Bytes32 tp_key = sv2::authority_key_from_text(read_line(argv[2]));
    Peer tp{connect_to(tp_port), sv2::Session::initiator(tp_key, unix_now())};
    setup_template_provider(tp, pool.factory);

    // The pool's own identity: an authority key the miner pins, and a server certificate.
    const sv2::AuthorityKeypair authority = sv2::generate_authority_keypair();
    const sv2::ServerCredentials credentials =
        sv2::generate_server_credentials(authority.secret_key, unix_now() - 60, unix_now() + 86400);
    std::ofstream(argv[4]) << sv2::authority_key_to_text(authority.public_key) << "\n";
    std::printf("pool listening on 127.0.0.1:%u\n", static_cast<unsigned>(listen_port));
    std::fflush(stdout);

    Peer miner{accept_one(listen_port), sv2::Session::responder(credentials)};
    while (pool.blocks < wanted) {
        pollfd fds[2] = {{tp.fd, POLLIN, 0}, {miner.fd, POLLIN, 0}};
        if (::poll(fds, 2, 5000) < 0) throw std::runtime_error("poll failed");
        if ((fds[0].revents & POLLIN) && !tp.read_some()) throw std::runtime_error("template provider closed");
        if ((fds[1].revents & POLLIN) && !miner.read_some()) throw std::runtime_error("miner closed");
        while (std::optional<sv2::Message> m = tp.session.next_message())
            pool.on_template(*m, miner.session.established() ? &miner : nullptr);
        while (std::optional<sv2::Message> m = miner.session.next_message()) pool.on_miner(*m, miner, tp);
        if (pool.channel)
            if (std::optional<sv2::SetTarget> t = pool.channel->retarget(monotonic_secs())) miner.send(*t);
    }
    std::printf("%d blocks sent to the template provider\n", pool.blocks);
    ::close(miner.fd);
    ::close(tp.fd);
    return 0;
} catch (const sv2::Error &e) {
    std::fprintf(stderr, "libsv2 error %d: %s\n", static_cast<int>(e.code()), e.what());
    return 1;
} catch (const std::exception &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
