/* Noise NX handshake and a SetupConnection exchange from C.
 *
 *   noise_peer selftest                    C client and C server in one process
 *   noise_peer client HOST PORT KEY        connect, pin authority KEY (base58check), handshake,
 *                                          send SetupConnection, expect SetupConnection.Success
 *   noise_peer server PORT_FILE            make keys, listen, write "PORT KEY" to PORT_FILE,
 *                                          answer one client's SetupConnection with Success
 */
#include "example_util.h"

static sv2_message setup_connection(void) {
    sv2_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION;
    m.body.setup_connection.protocol = SV2_PROTOCOL_MINING;
    m.body.setup_connection.min_version = 2;
    m.body.setup_connection.max_version = 2;
    m.body.setup_connection.flags = SV2_MINING_FLAG_REQUIRES_STANDARD_JOBS;
    m.body.setup_connection.endpoint_host = cstr("127.0.0.1");
    m.body.setup_connection.endpoint_port = 3333;
    m.body.setup_connection.vendor = cstr("libsv2-example");
    m.body.setup_connection.hardware_version = cstr("c");
    m.body.setup_connection.firmware = cstr("0.1");
    m.body.setup_connection.device_id = cstr("");
    return m;
}

static sv2_message setup_success(void) {
    sv2_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION_SUCCESS;
    m.body.setup_connection_success.used_version = 2;
    return m;
}

/* Moves what one session queued into the other. */
static void deliver(sv2_session *from, sv2_session *to) {
    const uint8_t *data;
    size_t len;
    TRY(sv2_session_pending_output(from, &data, &len));
    TRY(sv2_session_receive(to, data, len));
    TRY(sv2_session_consume_output(from, len));
}

static int selftest(void) {
    uint8_t authority_secret[32], authority_key[32];
    sv2_server_credentials *creds = NULL;
    sv2_session *client = NULL, *server = NULL;
    sv2_message got, m = setup_connection();
    bool up = false;

    TRY(sv2_authority_keypair_generate(authority_secret, authority_key));
    TRY(sv2_server_credentials_issue(authority_secret, NULL, unix_now(), unix_now() + 3600, &creds));
    TRY(sv2_session_new_initiator(authority_key, unix_now(), &client));
    TRY(sv2_session_new_responder(creds, &server));
    sv2_server_credentials_free(creds); /* the session keeps what it needs */

    deliver(client, server); /* act 1: 64 bytes */
    deliver(server, client); /* act 2: 234 bytes */
    TRY(sv2_session_is_established(client, &up));
    CHECK(up);

    TRY(sv2_session_send(client, &m, NULL, 0));
    deliver(client, server);
    TRY(sv2_session_next_message(server, &got, NULL));
    CHECK(got.msg_type == SV2_MSG_SETUP_CONNECTION);
    CHECK(bytes_eq(got.body.setup_connection.vendor, "libsv2-example", 14));

    m = setup_success();
    TRY(sv2_session_send(server, &m, NULL, 0));
    deliver(server, client);
    TRY(sv2_session_next_message(client, &got, NULL));
    CHECK(got.msg_type == SV2_MSG_SETUP_CONNECTION_SUCCESS);
    CHECK(got.body.setup_connection_success.used_version == 2);

    /* Nothing more has arrived. */
    CHECK(sv2_session_next_message(client, &got, NULL) == SV2_RESULT_NEED_MORE_DATA);
    sv2_session_free(client);
    sv2_session_free(server);
    printf("selftest: handshake and SetupConnection exchange ok\n");
    return 0;
}

static int client(const char *host, const char *port, const char *key_text) {
    uint8_t key[32];
    sv2_session *s = NULL;
    sv2_message m = setup_connection(), got;
    TRY(sv2_authority_key_parse(key_text, key));
    int fd = connect_to(host, port);
    TRY(sv2_session_new_initiator(key, unix_now(), &s));
    wait_established(s, fd);
    send_message(s, fd, &m);
    next_message(s, fd, &got);
    CHECK(got.msg_type == SV2_MSG_SETUP_CONNECTION_SUCCESS);
    printf("client: server certificate verified, SetupConnection.Success (version %u)\n",
           (unsigned)got.body.setup_connection_success.used_version);
    sv2_session_free(s);
    close(fd);
    return 0;
}

static int server(const char *port_file) {
    uint8_t authority_secret[32], authority_key[32];
    char key_text[SV2_AUTHORITY_KEY_TEXT_MAX + 1];
    size_t key_len;
    sv2_server_credentials *creds = NULL;
    sv2_session *s = NULL;
    sv2_message got, m = setup_success();

    TRY(sv2_authority_keypair_generate(authority_secret, authority_key));
    TRY(sv2_authority_key_format(authority_key, key_text, sizeof key_text, &key_len));
    TRY(sv2_server_credentials_issue(authority_secret, NULL, unix_now(), unix_now() + 3600, &creds));
    int fd = accept_one(port_file, key_text);
    TRY(sv2_session_new_responder(creds, &s));
    next_message(s, fd, &got);
    CHECK(got.msg_type == SV2_MSG_SETUP_CONNECTION);
    send_message(s, fd, &m);
    printf("server: answered SetupConnection from %.*s\n", (int)got.body.setup_connection.vendor.len,
           (const char *)got.body.setup_connection.vendor.data);
    sv2_session_free(s);
    sv2_server_credentials_free(creds);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "selftest") == 0) return selftest();
    if (argc == 5 && strcmp(argv[1], "client") == 0) return client(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "server") == 0) return server(argv[2]);
    fprintf(stderr, "usage: noise_peer selftest | client HOST PORT KEY | server PORT_FILE\n");
    return 2;
}
