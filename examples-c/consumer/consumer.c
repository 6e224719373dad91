/* Links the installed libsv2 and runs a handshake between two sessions. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sv2.h>

#define TRY(call)                                                                \
    do {                                                                         \
        sv2_result r_ = (call);                                                  \
        if (r_ != SV2_RESULT_OK) {                                               \
            fprintf(stderr, "%s: %s\n", #call, sv2_result_message((int32_t)r_)); \
            return 1;                                                            \
        }                                                                        \
    } while (0)

static int pump(sv2_session *from, sv2_session *to) {
    const uint8_t *d;
    size_t n;
    TRY(sv2_session_pending_output(from, &d, &n));
    TRY(sv2_session_receive(to, d, n));
    TRY(sv2_session_consume_output(from, n));
    return 0;
}

int main(void) {
    uint8_t secret[32], key[32];
    sv2_server_credentials *creds;
    sv2_session *c, *s;
    bool up = false;
    uint32_t now = (uint32_t)time(NULL);
    TRY(sv2_authority_keypair_generate(secret, key));
    TRY(sv2_server_credentials_issue(secret, NULL, now, now + 60, &creds));
    TRY(sv2_session_new_initiator(key, now, &c));
    TRY(sv2_session_new_responder(creds, &s));
    if (pump(c, s) || pump(s, c)) return 1;
    TRY(sv2_session_is_established(c, &up));
    printf("libsv2 %s: handshake %s\n", sv2_version(), up ? "complete" : "incomplete");
    sv2_session_free(c);
    sv2_session_free(s);
    sv2_server_credentials_free(creds);
    return up ? 0 : 1;
}
