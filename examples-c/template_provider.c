/* A minimal Template Provider in C — what Bitcoin Core's patch does with libsv2: accept a
 * Noise connection, answer SetupConnection and CoinbaseOutputConstraints, then send a future
 * NewTemplate and the SetNewPrevHash that activates it.
 *
 *   template_provider PORT_FILE     listen on 127.0.0.1, write "PORT KEY" to PORT_FILE, serve
 *                                   one client
 */
#include "example_util.h"

/* A witness commitment output: value 0, OP_RETURN OP_PUSHBYTES_36 aa21a9ed <32-byte commitment>. */
static const uint8_t COMMITMENT_OUTPUT[8 + 1 + 38] = {
    0,  0,  0,  0,  0,  0,  0,  0,  38, 0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed, 1,  2,  3,  4,  5,  6,  7,  8, 9,
    10, 11, 12, 13, 14, 15, 16, 17, 18, 19,   20,   21,   22,   23,   24,   25, 26, 27, 28, 29, 30, 31, 32};

int main(int argc, char **argv) {
    uint8_t authority_secret[32], authority_key[32], prev_hash[32], target[32];
    char key_text[SV2_AUTHORITY_KEY_TEXT_MAX + 1];
    size_t key_len;
    sv2_server_credentials *creds = NULL;
    sv2_session *s = NULL;
    sv2_message got, m;
    const uint8_t height_101[] = {0x01, 0x65}; /* BIP34: push of the block height */

    if (argc != 2) {
        fprintf(stderr, "usage: template_provider PORT_FILE\n");
        return 2;
    }
    TRY(sv2_authority_keypair_generate(authority_secret, authority_key));
    TRY(sv2_authority_key_format(authority_key, key_text, sizeof key_text, &key_len));
    TRY(sv2_server_credentials_issue(authority_secret, NULL, unix_now(), unix_now() + 86400, &creds));
    int fd = accept_one(argv[1], key_text);
    TRY(sv2_session_new_responder(creds, &s));

    next_message(s, fd, &got);
    CHECK(got.msg_type == SV2_MSG_SETUP_CONNECTION);
    if (got.body.setup_connection.protocol != SV2_PROTOCOL_TEMPLATE_DISTRIBUTION) {
        memset(&m, 0, sizeof m);
        m.msg_type = SV2_MSG_SETUP_CONNECTION_ERROR;
        m.body.setup_connection_error.error_code = cstr("unsupported-protocol");
        send_message(s, fd, &m);
        die("client asked for another sub-protocol");
    }
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION_SUCCESS;
    m.body.setup_connection_success.used_version = 2;
    send_message(s, fd, &m);

    next_message(s, fd, &got);
    CHECK(got.msg_type == SV2_MSG_COINBASE_OUTPUT_CONSTRAINTS);
    printf("template provider: client reserves %u bytes and %u sigops in the coinbase\n",
           (unsigned)got.body.coinbase_output_constraints.coinbase_output_max_additional_size,
           (unsigned)got.body.coinbase_output_constraints.coinbase_output_max_additional_sigops);

    /* The template for the next block, then the tip that activates it. */
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_NEW_TEMPLATE;
    m.body.new_template.template_id = 1;
    m.body.new_template.future_template = true;
    m.body.new_template.version = 0x20000000;
    m.body.new_template.coinbase_tx_version = 2;
    m.body.new_template.coinbase_prefix.data = height_101;
    m.body.new_template.coinbase_prefix.len = sizeof height_101;
    m.body.new_template.coinbase_tx_input_sequence = 0xffffffff;
    m.body.new_template.coinbase_tx_value_remaining = 5000000000;
    m.body.new_template.coinbase_tx_outputs_count = 1;
    m.body.new_template.coinbase_tx_outputs.data = COMMITMENT_OUTPUT;
    m.body.new_template.coinbase_tx_outputs.len = sizeof COMMITMENT_OUTPUT;
    m.body.new_template.coinbase_tx_locktime = 0;
    send_message(s, fd, &m);

    memset(prev_hash, 0x42, sizeof prev_hash);
    memset(target, 0xff, sizeof target);
    target[31] = 0x7f;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SET_NEW_PREV_HASH_TDP;
    m.body.set_new_prev_hash_tdp.template_id = 1;
    memcpy(m.body.set_new_prev_hash_tdp.prev_hash, prev_hash, 32);
    m.body.set_new_prev_hash_tdp.header_timestamp = unix_now();
    m.body.set_new_prev_hash_tdp.nbits = 0x207fffff;
    memcpy(m.body.set_new_prev_hash_tdp.target, target, 32);
    send_message(s, fd, &m);
    printf("template provider: sent NewTemplate 1 and its SetNewPrevHash\n");

    sv2_session_free(s);
    sv2_server_credentials_free(creds);
    close(fd);
    return 0;
}
