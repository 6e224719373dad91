// A minimal Template Provider in C++: accept a Noise connection, answer SetupConnection and
// CoinbaseOutputConstraints, then send a future NewTemplate and the SetNewPrevHash that
// activates it.
//
//   template_provider PORT_FILE    listen on 127.0.0.1, write "PORT KEY" to PORT_FILE, serve
//                                  one client
#include <cstdio>
#include <exception>

#include "net.hpp"

namespace {

// Answers SetupConnection: Success for Template Distribution, Error for anything else.
bool accept_setup(sv2::Session &s, const example::Socket &sock) {
    sv2::Message m = example::next_message(s, sock);
    const auto *setup = std::get_if<sv2::SetupConnection>(&m);
    if (setup == nullptr) throw std::runtime_error("expected SetupConnection");
    if (setup->protocol != 2) {
        sv2::SetupConnectionError refused{};
        refused.error_code = "unsupported-protocol";
        example::send(s, sock, refused);
        return false;
    }
    example::send(s, sock, sv2::SetupConnectionSuccess{2, 0});
    return true;
}

sv2::NewTemplate future_template() {
    sv2::NewTemplate t{};
    t.template_id = 1;
    t.future_template = true;
    t.version = 0x20000000;
    t.coinbase_tx_version = 2;
    t.coinbase_prefix = {0x01, 0x65}; // BIP34: push of the block height (101)
    t.coinbase_tx_input_sequence = 0xffffffff;
    t.coinbase_tx_value_remaining = 5000000000;
    // One witness commitment output: value 0, OP_RETURN OP_PUSHBYTES_36 aa21a9ed <32 bytes>.
    t.coinbase_tx_outputs_count = 1;
    t.coinbase_tx_outputs = {0, 0, 0, 0, 0, 0, 0, 0, 38, 0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed};
    for (std::uint8_t i = 1; i <= 32; ++i) t.coinbase_tx_outputs.push_back(i);
    t.coinbase_tx_locktime = 0;
    return t;
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: template_provider PORT_FILE\n");
        return 2;
    }
    try {
        const std::uint32_t now = example::unix_now();
        sv2::AuthorityKeypair authority = sv2::generate_authority_keypair();
        sv2::ServerCredentials creds = sv2::generate_server_credentials(authority.secret_key, now, now + 86400);
        example::Socket sock = example::accept_one(argv[1], sv2::authority_key_to_text(authority.public_key));
        sv2::Session s = sv2::Session::responder(creds);

        if (!accept_setup(s, sock)) throw std::runtime_error("client asked for another sub-protocol");
        sv2::Message m = example::next_message(s, sock);
        const auto *constraints = std::get_if<sv2::CoinbaseOutputConstraints>(&m);
        if (constraints == nullptr) throw std::runtime_error("expected CoinbaseOutputConstraints");
        std::printf("template provider: client reserves %u bytes and %u sigops in the coinbase\n",
                    static_cast<unsigned>(constraints->coinbase_output_max_additional_size),
                    static_cast<unsigned>(constraints->coinbase_output_max_additional_sigops));

        // The template for the next block, then the tip that activates it.
        example::send(s, sock, future_template());
        sv2::SetNewPrevHashTdp tip{};
        tip.template_id = 1;
        tip.prev_hash.fill(0x42);
        tip.header_timestamp = now;
        tip.nbits = 0x207fffff;
        tip.target.fill(0xff);
        tip.target[31] = 0x7f;
        example::send(s, sock, tip);
        std::printf("template provider: sent NewTemplate 1 and its SetNewPrevHash\n");
        return 0;
    } catch (const sv2::Error &e) {
        std::fprintf(stderr, "template provider: libsv2 error %u: %s\n", static_cast<unsigned>(e.code()), e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "template provider: %s\n", e.what());
    }
    return 1;
}
