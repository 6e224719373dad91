// The C++ API test suite: every message through the wire, errors and their codes, the frame
// decoder, keys and certificates, Noise sessions in memory, and the mining client channel.
// Prints "N passed, N failed" and exits non-zero on any failure.
#include <sv2.h>

#include "test_util.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

// Every alternative of sv2::Message: a value-initialized message encodes to a frame whose header
// matches message_spec() of the alternative's index, and decodes back to an equal message.
template <std::size_t I> void default_message_round_trips() {
    using T = std::variant_alternative_t<I, sv2::Message>;
    const auto type = static_cast<sv2::MessageType>(I);
    sv2::Message m{std::in_place_index<I>, T{}};
    CHECK(sv2::message_type(m) == type);
    std::vector<std::uint8_t> frame = sv2::encode_frame(m);
    sv2::MessageSpec spec = sv2::message_spec(type);
    CHECK(frame.size() >= 6);
    const std::uint16_t ext = static_cast<std::uint16_t>(frame[0] | (frame[1] << 8));
    CHECK((ext & 0x7fff) == spec.extension_type);
    CHECK(((ext & 0x8000) != 0) == spec.channel_msg);
    CHECK(frame[2] == spec.msg_type);
    CHECK((frame[3] | (frame[4] << 8) | (frame[5] << 16)) == static_cast<int>(frame.size() - 6));
    CHECK(sv2::encode_payload(m) == std::vector<std::uint8_t>(frame.begin() + 6, frame.end()));
    sv2::Message back = sv2::decode_message(ext, frame[2], sv2::ByteSpan(frame.data() + 6, frame.size() - 6));
    CHECK(back.index() == I);
    CHECK(std::get<I>(back) == std::get<I>(m));
    CHECK(!sv2::message_name(type).empty());
}

template <std::size_t... I> void every_default_message_round_trips(std::index_sequence<I...>) {
    (default_message_round_trips<I>(), ...);
}

sv2::Message round_trip(const sv2::Message &m, std::vector<sv2::Tlv> *tlvs = nullptr,
                        const std::vector<sv2::Tlv> &with = {}) {
    std::vector<std::uint8_t> frame = sv2::encode_frame(m, with);
    sv2::FrameDecoder d;
    d.push(frame);
    std::optional<sv2::Frame> f = d.next_frame();
    CHECK(f.has_value());
    CHECK(!d.next_frame().has_value());
    return f->message(tlvs);
}

void test_messages() {
    every_default_message_round_trips(std::make_index_sequence<std::variant_size_v<sv2::Message>>());
    CHECK(!sv2::version().empty());
#if __cplusplus >= 202002L
    // Messages are aggregates: designated initializers name the fields.
    sv2::SetupConnectionSuccess named{.used_version = 2, .flags = 6};
    CHECK(std::get<sv2::SetupConnectionSuccess>(round_trip(named)).flags == 6);
#endif

    sv2::SetupConnection setup{};
    setup.protocol = 2;
    setup.min_version = 2;
    setup.max_version = 2;
    setup.flags = 1;
    setup.endpoint_host = std::string("pool.example");
    setup.endpoint_port = 3333;
    setup.vendor = "acme";
    setup.firmware = "1.2.3";
    sv2::Message back = round_trip(setup);
    CHECK(std::get<sv2::SetupConnection>(back) == setup);
    CHECK(std::get<sv2::SetupConnection>(back).vendor == "acme");

    sv2::NewExtendedMiningJob job{};
    job.channel_id = 7;
    job.job_id = 9;
    job.min_ntime = 1700000000;
    job.version = 0x20000000;
    job.version_rolling_allowed = true;
    job.merkle_path.push_back(test::filled(1));
    job.merkle_path.push_back(test::filled(2));
    job.coinbase_tx_prefix = std::vector<std::uint8_t>{1, 2, 3};
    job.coinbase_tx_suffix = {4, 5};
    back = round_trip(job);
    CHECK(std::get<sv2::NewExtendedMiningJob>(back) == job);
    CHECK(std::get<sv2::NewExtendedMiningJob>(back).coinbase_tx_prefix == std::vector<std::uint8_t>({1, 2, 3}));

    sv2::RequestTransactionDataSuccess txs{};
    txs.template_id = 42;
    txs.excess_data = {9, 9};
    txs.transaction_list.push_back(std::vector<std::uint8_t>{1, 2, 3, 4});
    txs.transaction_list.push_back(std::vector<std::uint8_t>{});
    back = round_trip(txs);
    CHECK(std::get<sv2::RequestTransactionDataSuccess>(back) == txs);

    sv2::RequestExtensionsError ext{};
    ext.request_id = 3;
    ext.unsupported_extensions = {2, 5};
    ext.required_extensions = {7};
    back = round_trip(ext);
    CHECK(std::get<sv2::RequestExtensionsError>(back) == ext);

    // TLVs: the 0x0002 user identity after SubmitSharesExtended.
    sv2::SubmitSharesExtended share{};
    share.channel_id = 1;
    share.extranonce = {1, 2, 3, 4};
    std::vector<sv2::Tlv> tlvs;
    back = round_trip(share, &tlvs, {sv2::user_identity_tlv("worker.7")});
    CHECK(std::get<sv2::SubmitSharesExtended>(back) == share);
    CHECK(tlvs.size() == 1 && tlvs[0].extension_type == 2 && tlvs[0].field_type == 1);
    CHECK(tlvs.size() == 1 && std::string(tlvs[0].value.begin(), tlvs[0].value.end()) == "worker.7");
}

void test_message_errors() {
    const std::vector<std::uint8_t> nothing;
    CHECK_THROWS(UnknownMessage, sv2::decode_message(0, 0x1e, nothing));
    CHECK_THROWS(UnknownMessage, sv2::decode_message(0x0003, 0x00, nothing));
    CHECK_THROWS(UnexpectedEnd, sv2::decode_message(0, 0x20, std::vector<std::uint8_t>(10)));
    // SetupConnectionSuccess (6 bytes) followed by two bytes that are not a TLV record.
    CHECK_THROWS(InvalidTlv, sv2::decode_message(0, 0x01, std::vector<std::uint8_t>(8)));
    // NewMiningJob with an OPTION count of 2.
    std::vector<std::uint8_t> job = sv2::encode_payload(sv2::NewMiningJob{});
    job[8] = 2;
    CHECK_THROWS(InvalidOption, sv2::decode_message(0, 0x15, job));
    CHECK_THROWS(InvalidArgument, sv2::message_spec(static_cast<sv2::MessageType>(200)));

    sv2::SetupConnectionError refused{};
    refused.error_code = std::string(256, 'x');
    CHECK_THROWS(TooLong, sv2::encode_frame(refused));
    sv2::OpenStandardMiningChannelSuccess open{};
    open.extranonce_prefix = std::vector<std::uint8_t>(33);
    CHECK_THROWS(TooLong, sv2::encode_frame(open));
    CHECK_THROWS(TooLong, sv2::user_identity_tlv(std::string(33, 'u')));

    // Garbage never crashes: every message type against every prefix of some noise.
    std::vector<std::uint8_t> noise(300);
    for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<std::uint8_t>(i * 37 + 11);
    int decoded = 0;
    for (std::size_t t = 0; t < std::variant_size_v<sv2::Message>; ++t) {
        sv2::MessageSpec spec = sv2::message_spec(static_cast<sv2::MessageType>(t));
        for (std::size_t len = 0; len <= noise.size(); len += 7) {
            try {
                sv2::decode_message(spec.extension_type, spec.msg_type, sv2::ByteSpan(noise.data(), len));
                ++decoded;
            } catch (const sv2::Error &) {
            }
        }
    }
    CHECK(decoded < static_cast<int>(std::variant_size_v<sv2::Message> * 43));
}

void test_frame_decoder() {
    std::vector<std::uint8_t> stream;
    for (std::uint32_t id = 1; id <= 3; ++id) {
        sv2::ChannelEndpointChanged m{};
        m.channel_id = id;
        std::vector<std::uint8_t> f = sv2::encode_frame(m);
        stream.insert(stream.end(), f.begin(), f.end());
    }
    sv2::FrameDecoder d;
    std::vector<std::uint32_t> seen;
    for (std::uint8_t b : stream) {
        d.push(sv2::ByteSpan(&b, 1));
        while (std::optional<sv2::Frame> f = d.next_frame()) {
            CHECK(f->header.channel_msg);
            CHECK(f->header.msg_length == 4);
            seen.push_back(std::get<sv2::ChannelEndpointChanged>(f->message()).channel_id);
        }
    }
    CHECK(seen == std::vector<std::uint32_t>({1, 2, 3}));
    CHECK(d.buffered() == 0);

    // A header announcing more than the limit is refused as soon as it is seen.
    sv2::FrameDecoder small(16);
    const std::uint8_t big_header[6] = {0, 0, 0x71, 0xff, 0xff, 0x00};
    small.push(big_header);
    CHECK_THROWS(FrameTooLarge, small.next_frame());
    sv2::FrameDecoder partial;
    partial.push(sv2::ByteSpan(big_header, 5));
    CHECK(!partial.next_frame().has_value());
    CHECK(partial.buffered() == 5);
}

void test_keys() {
    sv2::AuthorityKeypair authority = sv2::generate_authority_keypair();
    CHECK(sv2::authority_keypair_from_secret(authority.secret_key) == authority);
    std::string text = sv2::authority_key_to_text(authority.public_key);
    CHECK(sv2::authority_key_from_text(text) == authority.public_key);
    CHECK_THROWS(InvalidAuthorityKey, sv2::authority_key_from_text("not a key"));
    CHECK_THROWS(InvalidAuthorityKey, sv2::authority_key_from_text(text.substr(1)));
    CHECK_THROWS(InvalidKey, sv2::authority_keypair_from_secret(sv2::Bytes32{}));

    sv2::ServerCredentials creds = sv2::generate_server_credentials(authority.secret_key, 1000, 2000);
    sv2::Bytes32 server_key = sv2::server_public_key(creds);
    sv2::verify_certificate(creds.certificate, authority.public_key, server_key, 1500);
    CHECK_THROWS(CertificateExpired,
                 sv2::verify_certificate(creds.certificate, authority.public_key, server_key, 3000));
    CHECK_THROWS(CertificateNotYetValid,
                 sv2::verify_certificate(creds.certificate, authority.public_key, server_key, 100));
    sv2::AuthorityKeypair other = sv2::generate_authority_keypair();
    CHECK_THROWS(InvalidCertificateSignature,
                 sv2::verify_certificate(creds.certificate, other.public_key, server_key, 1500));

    // The same static key keeps its public key under a new certificate.
    sv2::ServerCredentials renewed = sv2::issue_server_credentials(authority.secret_key, creds.static_secret, 0, 5000);
    CHECK(sv2::server_public_key(renewed) == server_key);
    sv2::verify_certificate(renewed.certificate, authority.public_key, server_key, 4000);
    CHECK_THROWS(InvalidKey, sv2::issue_server_credentials(authority.secret_key, sv2::Bytes32{}, 0, 1));
}

// Moves every pending byte from one session to the other, in both directions, until quiet.
void pump(sv2::Session &a, sv2::Session &b) {
    for (int i = 0; i < 4; ++i) {
        std::vector<std::uint8_t> ab = a.take_output();
        if (!ab.empty()) b.receive(ab);
        sv2::ByteSpan ba = b.pending_output();
        if (!ba.empty()) {
            std::vector<std::uint8_t> copy(ba.begin(), ba.end());
            b.consume_output(copy.size());
            a.receive(copy);
        }
    }
}

void test_sessions() {
    const auto now = 1700000000u;
    sv2::AuthorityKeypair authority = sv2::generate_authority_keypair();
    sv2::ServerCredentials creds = sv2::generate_server_credentials(authority.secret_key, now - 60, now + 3600);

    sv2::Session client = sv2::Session::initiator(authority.public_key, now);
    sv2::Session server = sv2::Session::responder(creds);
    CHECK(!client.established() && !server.established());
    CHECK(!client.handshake_hash().has_value());
    CHECK_THROWS(NotEstablished, server.send(sv2::SetupConnectionSuccess{}));
    pump(client, server);
    CHECK(client.established() && server.established());
    CHECK(client.handshake_hash() == server.handshake_hash());
    std::optional<sv2::HandshakeInfo> info = client.handshake_info();
    CHECK(info.has_value() && info->server_static_key == sv2::server_public_key(creds));
    CHECK(info.has_value() && info->certificate == creds.certificate);
    CHECK(!server.handshake_info().has_value());

    // Messages both ways, with TLVs, and a forwarded frame.
    sv2::SetupConnection setup{};
    setup.protocol = 0;
    setup.vendor = "test";
    client.send(setup);
    sv2::SubmitSharesExtended share{};
    share.extranonce = {1, 2};
    client.send(share, {sv2::user_identity_tlv("w1")});
    sv2::Reconnect reconnect{};
    reconnect.new_port = 4444;
    std::vector<std::uint8_t> payload = sv2::encode_payload(reconnect);
    client.send_frame(sv2::FrameHeader{0, 0x04, false, static_cast<std::uint32_t>(payload.size())}, payload);
    pump(client, server);
    std::optional<sv2::Message> m = server.next_message();
    CHECK(m.has_value() && std::get<sv2::SetupConnection>(*m) == setup);
    std::vector<sv2::Tlv> tlvs;
    m = server.next_message(&tlvs);
    CHECK(m.has_value() && std::get<sv2::SubmitSharesExtended>(*m) == share);
    CHECK(tlvs.size() == 1);
    std::optional<sv2::Frame> f = server.next_frame();
    CHECK(f.has_value() && f->header.msg_type == 0x04 && f->payload == payload);
    CHECK(!server.next_message().has_value());
    // A frame that does not decode is consumed; the session goes on.
    client.send_frame(sv2::FrameHeader{0, 0x1e, false, 0}, sv2::ByteSpan());
    client.send(sv2::ChannelEndpointChanged{4});
    pump(client, server);
    CHECK_THROWS(UnknownMessage, server.next_message());
    m = server.next_message();
    CHECK(m.has_value() && std::get<sv2::ChannelEndpointChanged>(*m).channel_id == 4);
    server.send(sv2::SetupConnectionSuccess{2, 0});
    pump(client, server);
    m = client.next_message();
    CHECK(m.has_value() && std::get<sv2::SetupConnectionSuccess>(*m).used_version == 2);
    CHECK_THROWS(UnexpectedEnd, client.send_frame(sv2::FrameHeader{0, 0x04, false, 99}, payload));

    // Sessions are movable RAII objects.
    sv2::Session moved = std::move(server);
    moved.send(sv2::ChannelEndpointChanged{5});
    pump(client, moved);
    m = client.next_message();
    CHECK(m.has_value() && std::get<sv2::ChannelEndpointChanged>(*m).channel_id == 5);

    // A flipped bit in a transport frame fails authentication and ends the session.
    moved.send(sv2::ChannelEndpointChanged{6});
    std::vector<std::uint8_t> wire = moved.take_output();
    wire[3] ^= 1;
    client.receive(wire);
    CHECK_THROWS(DecryptFailed, client.next_frame());
    CHECK_THROWS(SessionFailed, client.receive(wire));

    // A client pinning another authority refuses the server.
    sv2::AuthorityKeypair other = sv2::generate_authority_keypair();
    sv2::Session wary = sv2::Session::initiator(other.public_key, now, test::filled(3));
    sv2::Session server2 = sv2::Session::responder(creds, test::filled(4));
    server2.receive(wary.take_output());
    CHECK_THROWS(InvalidCertificateSignature, wary.receive(server2.take_output()));

    // An expired certificate is refused too.
    sv2::Session late = sv2::Session::initiator(authority.public_key, now + 7200);
    sv2::Session server3 = sv2::Session::responder(creds);
    server3.receive(late.take_output());
    CHECK_THROWS(CertificateExpired, late.receive(server3.take_output()));

    // A garbage answer to the first handshake message fails the client (any 64 bytes are a
    // valid ElligatorSwift key, so the responder cannot tell garbage from a client).
    sv2::Session client5 = sv2::Session::initiator(authority.public_key, now);
    CHECK_THROWS(HandshakeFailed, client5.receive(std::vector<std::uint8_t>(234, 0xff)));

    // Plaintext sessions carry the same frames without encryption.
    sv2::Session p1 = sv2::Session::plaintext();
    sv2::Session p2 = sv2::Session::plaintext();
    p1.send(setup);
    std::vector<std::uint8_t> plain = p1.take_output();
    CHECK(plain == sv2::encode_frame(setup));
    p2.set_max_payload(8);
    p2.receive(plain);
    CHECK_THROWS(FrameTooLarge, p2.next_frame());
}

void test_client_channel() {
    const std::vector<std::uint8_t> prefix = {0, 0, 0, 1};
    sv2::Bytes32 target = test::filled(0xff);
    target[31] = 0x0f;
    sv2::ClientChannel ch = sv2::ClientChannel::standard(7, target, prefix, true);
    CHECK(ch.channel_id() == 7 && ch.extranonce_size() == 0 && ch.target() == target);
    CHECK(!ch.work().has_value());

    sv2::NewMiningJob job{};
    job.channel_id = 7;
    job.job_id = 1;
    job.version = 0x20000000;
    job.merkle_root = test::filled(0xab);
    CHECK(ch.handle(job));
    sv2::NewMiningJob foreign = job;
    foreign.channel_id = 8;
    CHECK(!ch.handle(foreign));
    CHECK(!ch.handle(sv2::SetupConnectionSuccess{}));
    CHECK(!ch.work().has_value()); // a future job waits for its previous hash

    sv2::SetNewPrevHash prev{7, 1, test::filled(0x42), 1700000000, 0x207fffff};
    CHECK(ch.handle(prev));
    std::optional<sv2::Work> w = ch.work();
    CHECK(w.has_value());
    if (!w) return;
    CHECK(w->job_id == 1 && w->merkle_root == job.merkle_root && w->prev_hash == prev.prev_hash);
    CHECK(w->min_ntime == prev.min_ntime && w->nbits == prev.nbits && w->target == target);
    CHECK(w->version_mask == 0x1FFFFFE0);

    // The header hash is SHA-256d of the 80-byte header.
    std::vector<std::uint8_t> header;
    auto le32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) header.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    le32(w->version);
    header.insert(header.end(), w->prev_hash.begin(), w->prev_hash.end());
    header.insert(header.end(), w->merkle_root.begin(), w->merkle_root.end());
    le32(w->min_ntime + 1);
    le32(w->nbits);
    le32(77);
    CHECK(sv2::header_hash(*w, w->version, w->min_ntime + 1, 77) == sv2::sha256d(header));
    CHECK(sv2::hash_meets_target(sv2::Bytes32{}, target));
    CHECK(!sv2::hash_meets_target(test::filled(0xff), target));
    sv2::SubmitSharesStandard s = ch.submit_standard(*w, 5, 77, w->min_ntime + 1, w->version);
    CHECK(s.channel_id == 7 && s.sequence_number == 5 && s.job_id == 1 && s.nonce == 77);

    sv2::SetTarget harder{7, test::filled(0x01)};
    CHECK(ch.handle(harder));
    CHECK(ch.target() == harder.maximum_target);

    // Difficulty 1: 0x00000000FFFF0000...0000 as a little-endian integer.
    sv2::Bytes32 one = sv2::target_from_nbits(0x1d00ffff);
    CHECK(one[26] == 0xff && one[27] == 0xff && one[28] == 0 && one[31] == 0);
}

void test_extended_channel() {
    const std::vector<std::uint8_t> prefix = {0xaa, 0xbb};
    sv2::ClientChannel ch = sv2::ClientChannel::extended(3, test::filled(0xff), prefix, 4);
    CHECK(ch.extranonce_size() == 4);
    sv2::NewExtendedMiningJob job{};
    job.channel_id = 3;
    job.job_id = 11;
    job.version = 0x20000000;
    job.version_rolling_allowed = false;
    job.merkle_path.push_back(test::filled(5));
    job.coinbase_tx_prefix = {1, 2, 3};
    job.coinbase_tx_suffix = {4, 5, 6};
    CHECK(ch.handle(job));
    CHECK(ch.handle(sv2::SetNewPrevHash{3, 11, test::filled(9), 1, 0x207fffff}));
    const std::vector<std::uint8_t> rolled = {0x10, 0x20, 0x30, 0x40};
    std::optional<sv2::Work> w = ch.work(rolled);
    CHECK(w.has_value());
    if (!w) return;
    CHECK(w->version_mask == 0);
    CHECK(w->extranonce == rolled);

    // The merkle root is the coinbase txid folded with the path.
    std::vector<std::uint8_t> coinbase = {1, 2, 3, 0xaa, 0xbb, 0x10, 0x20, 0x30, 0x40, 4, 5, 6};
    sv2::Bytes32 txid = sv2::sha256d(coinbase);
    std::vector<std::uint8_t> pair(txid.begin(), txid.end());
    pair.insert(pair.end(), job.merkle_path[0].begin(), job.merkle_path[0].end());
    CHECK(w->merkle_root == sv2::sha256d(pair));

    sv2::SubmitSharesExtended s = ch.submit_extended(*w, 1, 2, 3, 4);
    CHECK(s.channel_id == 3 && s.job_id == 11 && s.extranonce == rolled);
    CHECK_THROWS(InvalidArgument, ch.work(std::vector<std::uint8_t>(3)));
    sv2::Work too_long = *w;
    too_long.extranonce = std::vector<std::uint8_t>(33);
    CHECK_THROWS(TooLong, ch.submit_extended(too_long, 1, 2, 3, 4));

    // A new prefix applies to jobs sent after it: the job being mined keeps its coinbase, the
    // next job's coinbase, and so its merkle root, changes.
    sv2::SetExtranoncePrefix p{};
    p.channel_id = 3;
    p.extranonce_prefix = {0xcc, 0xdd};
    CHECK(ch.handle(p));
    std::optional<sv2::Work> w2 = ch.work(rolled);
    CHECK(w2.has_value() && w2->merkle_root == w->merkle_root);
    job.job_id = 12;
    job.min_ntime = 1;
    CHECK(ch.handle(job));
    w2 = ch.work(rolled);
    CHECK(w2.has_value() && w2->job_id == 12 && w2->merkle_root != w->merkle_root);
}

// STR0_255 fields are the wire's bytes in a std::string, whatever they are: not UTF-8, NULs.
void test_raw_text() {
    const std::string raw("a\xff\x00\xc3(b", 6);
    sv2::CloseChannel close{};
    close.channel_id = 9;
    close.reason_code = raw;
    std::vector<std::uint8_t> payload = sv2::encode_payload(close);
    const std::vector<std::uint8_t> wire = {9, 0, 0, 0, 6, 'a', 0xff, 0x00, 0xc3, '(', 'b'};
    CHECK(payload == wire);
    sv2::Message back = sv2::decode_message(0x8000, 0x18, payload);
    CHECK(std::get<sv2::CloseChannel>(back).reason_code == raw);
    CHECK(std::get<sv2::CloseChannel>(back) == close);

    sv2::SetupConnection setup{};
    setup.vendor = std::string("\x80\x81", 2);
    setup.device_id = std::string(255, '\xfe');
    CHECK(std::get<sv2::SetupConnection>(round_trip(setup)) == setup);

    // A user identity TLV takes bytes as they are too; text that is no key is refused as such.
    CHECK(sv2::user_identity_tlv(raw).value == std::vector<std::uint8_t>(raw.begin(), raw.end()));
    CHECK_THROWS(InvalidAuthorityKey, sv2::authority_key_from_text("\xff\xfe"));
}

// Errors carry the result number as a value, the same number the C ABI returns.
void test_error_codes() {
    try {
        sv2::decode_message(0, 0x20, std::vector<std::uint8_t>(10));
        CHECK(false);
    } catch (const sv2::Error &e) {
        CHECK(e.code() == sv2::ErrorCode::UnexpectedEnd);
        CHECK(static_cast<int>(e.code()) == SV2_RESULT_UNEXPECTED_END);
        CHECK(std::strchr("0123456789", e.what()[0]) == nullptr); // no number glued to the text
    }
    // Another library's exception handlers see a std::runtime_error.
    try {
        sv2::authority_key_from_text("no");
        CHECK(false);
    } catch (const std::runtime_error &e) {
        CHECK(std::strlen(e.what()) > 0);
    }
}

// A Template Distribution server as Bitcoin Core runs one: a Noise responder answers
// SetupConnection and CoinbaseOutputConstraints, sends a template and its tip, answers
// RequestTransactionData, and takes a SubmitSolution, all in standard types.
void test_template_distribution_server() {
    const std::uint32_t now = 1700000000;
    sv2::AuthorityKeypair authority = sv2::generate_authority_keypair();
    sv2::ServerCredentials creds = sv2::generate_server_credentials(authority.secret_key, now - 60, now + 3600);
    sv2::Session node = sv2::Session::responder(creds);
    sv2::Session pool = sv2::Session::initiator(authority.public_key, now);
    pump(pool, node);
    CHECK(node.established() && pool.established());

    sv2::SetupConnection setup{};
    setup.protocol = 2;
    setup.min_version = 2;
    setup.max_version = 2;
    setup.endpoint_host = "127.0.0.1";
    setup.endpoint_port = 8442;
    pool.send(setup);
    pool.send(sv2::CoinbaseOutputConstraints{100, 4});
    pump(pool, node);
    std::optional<sv2::Message> m = node.next_message();
    CHECK(m && std::get<sv2::SetupConnection>(*m).protocol == 2 &&
          std::get<sv2::SetupConnection>(*m).endpoint_host == "127.0.0.1");
    node.send(sv2::SetupConnectionSuccess{2, 0});
    m = node.next_message();
    CHECK(m && std::get<sv2::CoinbaseOutputConstraints>(*m).coinbase_output_max_additional_size == 100);

    sv2::NewTemplate t{};
    t.template_id = 7;
    t.future_template = true;
    t.version = 0x20000000;
    t.coinbase_tx_version = 2;
    t.coinbase_prefix = {0x03, 0x10, 0x27, 0x00};
    t.coinbase_tx_input_sequence = 0xffffffff;
    t.coinbase_tx_value_remaining = 312500000;
    t.merkle_path = {test::filled(1), test::filled(2)};
    node.send(t);
    sv2::SetNewPrevHashTdp tip{7, test::filled(0x42), now, 0x1703a30c, test::filled(0x11)};
    node.send(tip);
    pump(pool, node);
    m = pool.next_message();
    CHECK(m && std::get<sv2::SetupConnectionSuccess>(*m).used_version == 2);
    m = pool.next_message();
    CHECK(m && std::get<sv2::NewTemplate>(*m) == t);
    m = pool.next_message();
    CHECK(m && std::get<sv2::SetNewPrevHashTdp>(*m) == tip);

    pool.send(sv2::RequestTransactionData{7});
    pump(pool, node);
    m = node.next_message();
    CHECK(m && std::get<sv2::RequestTransactionData>(*m).template_id == 7);
    sv2::RequestTransactionDataSuccess txs{};
    txs.template_id = 7;
    txs.transaction_list = {{0x02, 0x00, 0x00, 0x00}, std::vector<std::uint8_t>(70000, 0xab)};
    node.send(txs);
    pump(pool, node);
    m = pool.next_message();
    CHECK(m && std::get<sv2::RequestTransactionDataSuccess>(*m) == txs);

    sv2::SubmitSolution solution{7, 0x20000000, now + 1, 12345, {0x02, 0x00, 0x00, 0x00, 0x01}};
    pool.send(solution);
    pump(pool, node);
    m = node.next_message();
    CHECK(m && std::get<sv2::SubmitSolution>(*m) == solution);
}

} // namespace

int main() {
    test_messages();
    test_message_errors();
    test_frame_decoder();
    test_keys();
    test_sessions();
    test_client_channel();
    test_extended_channel();
    test_raw_text();
    test_error_codes();
    test_template_distribution_server();
    return test::report();
}
