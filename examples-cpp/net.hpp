// Loopback sockets for the libsv2 C++ examples, and the loop that moves bytes between a socket
// and an sv2::Session.
#ifndef SV2_EXAMPLES_NET_HPP
#define SV2_EXAMPLES_NET_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>
#include <system_error>

#include <sv2/sv2.hpp>

namespace example {

inline std::uint32_t unix_now() { return static_cast<std::uint32_t>(std::time(nullptr)); }

/// A socket that closes itself.
class Socket {
  public:
    explicit Socket(int fd) : fd_(fd) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
    }
    Socket(Socket &&o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Socket &operator=(Socket &&) = delete;
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    int fd() const noexcept { return fd_; }

  private:
    int fd_;
};

/// Listens on 127.0.0.1 (any port), writes "PORT AUTHORITY_KEY" to port_file (through a rename,
/// so a reader never sees half a line), and accepts one connection.
inline Socket accept_one(const std::string &port_file, const std::string &authority_key_text) {
    Socket listener(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listener.fd(), reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(listener.fd(), 1) != 0 ||
        ::getsockname(listener.fd(), reinterpret_cast<sockaddr *>(&a), &len) != 0)
        throw std::system_error(errno, std::generic_category(), "listen");
    const std::string tmp = port_file + ".tmp";
    std::FILE *f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) throw std::runtime_error("cannot write " + tmp);
    std::fprintf(f, "%u %s\n", static_cast<unsigned>(ntohs(a.sin_port)), authority_key_text.c_str());
    std::fclose(f);
    if (std::rename(tmp.c_str(), port_file.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp);
    return Socket(::accept(listener.fd(), nullptr, nullptr));
}

/// Connects to host:port (an IPv4 address).
inline Socket connect_to(const std::string &host, const std::string &port) {
    Socket s(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoul(port)));
    if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) throw std::runtime_error("bad address " + host);
    if (::connect(s.fd(), reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
        throw std::system_error(errno, std::generic_category(), "connect");
    return s;
}

/// Writes everything the session has queued.
inline void flush(sv2::Session &s, const Socket &sock) {
    while (!s.pending_output().empty()) {
        sv2::ByteSpan out = s.pending_output();
        ssize_t n = ::write(sock.fd(), out.data(), out.size());
        if (n <= 0) throw std::system_error(errno, std::generic_category(), "write");
        s.consume_output(static_cast<std::size_t>(n));
    }
}

/// Reads until the session yields a whole message, writing whatever the session queues (its
/// handshake answer) on the way.
inline sv2::Message next_message(sv2::Session &s, const Socket &sock) {
    std::uint8_t buf[4096];
    for (;;) {
        flush(s, sock);
        if (std::optional<sv2::Message> m = s.next_message()) return std::move(*m);
        ssize_t n = ::read(sock.fd(), buf, sizeof buf);
        if (n <= 0) throw std::runtime_error("peer closed the connection");
        s.receive(sv2::ByteSpan(buf, static_cast<std::size_t>(n)));
    }
}

/// For a client: writes the first handshake message and reads until the handshake completes.
inline void handshake(sv2::Session &s, const Socket &sock) {
    std::uint8_t buf[512];
    while (!s.established()) {
        flush(s, sock);
        ssize_t n = ::read(sock.fd(), buf, sizeof buf);
        if (n <= 0) throw std::runtime_error("peer closed the connection during the handshake");
        s.receive(sv2::ByteSpan(buf, static_cast<std::size_t>(n)));
    }
}

/// Queues `m` and writes it.
inline void send(sv2::Session &s, const Socket &sock, const sv2::Message &m) {
    s.send(m);
    flush(s, sock);
}

} // namespace example

#endif // SV2_EXAMPLES_NET_HPP
