// A C++ program outside the libsv2 tree: links the installed libsv2.a or libsv2.so (through
// find_package or pkg-config) and uses the C++ API (a Noise handshake between two sessions,
// then one message) next to the C ABI.
#include <cstdio>
#include <ctime>

#include <sv2.h>
#include <sv2/sv2.hpp>

int main() {
    try {
        const auto now = static_cast<std::uint32_t>(std::time(nullptr));
        sv2::AuthorityKeypair authority = sv2::generate_authority_keypair();
        sv2::ServerCredentials creds = sv2::generate_server_credentials(authority.secret_key, now, now + 60);
        sv2::Session client = sv2::Session::initiator(authority.public_key, now);
        sv2::Session server = sv2::Session::responder(creds);
        server.receive(client.take_output());
        client.receive(server.take_output());
        client.send(sv2::CoinbaseOutputConstraints{100, 4});
        server.receive(client.take_output());
        std::optional<sv2::Message> m = server.next_message();
        const bool ok = client.established() && m && std::holds_alternative<sv2::CoinbaseOutputConstraints>(*m);
        std::printf("libsv2 %s (C ABI %s) from C++: handshake and %s %s\n", std::string(sv2::version()).c_str(),
                    sv2_version(), m ? std::string(sv2::message_name(sv2::message_type(*m))).c_str() : "nothing",
                    ok ? "ok" : "failed");
        return ok ? 0 : 1;
    } catch (const sv2::Error &e) {
        std::fprintf(stderr, "libsv2 error %u: %s\n", static_cast<unsigned>(e.code()), e.what());
        return 1;
    }
}
