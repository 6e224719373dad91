/* The C test suite of libsv2: every message id through decode/encode/framing, garbage and
 * mutated payloads, NULL for every function, out-parameters untouched on errors, Noise
 * sessions with bad input, and sessions on several threads at once. Run plain, under
 * AddressSanitizer + UndefinedBehaviorSanitizer, and under valgrind by ctest. */
#include <pthread.h>

#include "test_util.h"

static const struct {
    uint16_t ext;
    uint8_t type;
} IDS[] = {
    {0, SV2_MSG_SETUP_CONNECTION},
    {0, SV2_MSG_SETUP_CONNECTION_SUCCESS},
    {0, SV2_MSG_SETUP_CONNECTION_ERROR},
    {0, SV2_MSG_CHANNEL_ENDPOINT_CHANGED},
    {0, SV2_MSG_RECONNECT},
    {0, SV2_MSG_OPEN_STANDARD_MINING_CHANNEL},
    {0, SV2_MSG_OPEN_STANDARD_MINING_CHANNEL_SUCCESS},
    {0, SV2_MSG_OPEN_MINING_CHANNEL_ERROR},
    {0, SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL},
    {0, SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL_SUCCESS},
    {0, SV2_MSG_NEW_MINING_JOB},
    {0, SV2_MSG_UPDATE_CHANNEL},
    {0, SV2_MSG_UPDATE_CHANNEL_ERROR},
    {0, SV2_MSG_CLOSE_CHANNEL},
    {0, SV2_MSG_SET_EXTRANONCE_PREFIX},
    {0, SV2_MSG_SUBMIT_SHARES_STANDARD},
    {0, SV2_MSG_SUBMIT_SHARES_EXTENDED},
    {0, SV2_MSG_SUBMIT_SHARES_SUCCESS},
    {0, SV2_MSG_SUBMIT_SHARES_ERROR},
    {0, SV2_MSG_NEW_EXTENDED_MINING_JOB},
    {0, SV2_MSG_SET_NEW_PREV_HASH},
    {0, SV2_MSG_SET_TARGET},
    {0, SV2_MSG_SET_CUSTOM_MINING_JOB},
    {0, SV2_MSG_SET_CUSTOM_MINING_JOB_SUCCESS},
    {0, SV2_MSG_SET_CUSTOM_MINING_JOB_ERROR},
    {0, SV2_MSG_SET_GROUP_CHANNEL},
    {0, SV2_MSG_ALLOCATE_MINING_JOB_TOKEN},
    {0, SV2_MSG_ALLOCATE_MINING_JOB_TOKEN_SUCCESS},
    {0, SV2_MSG_PROVIDE_MISSING_TRANSACTIONS},
    {0, SV2_MSG_PROVIDE_MISSING_TRANSACTIONS_SUCCESS},
    {0, SV2_MSG_DECLARE_MINING_JOB},
    {0, SV2_MSG_DECLARE_MINING_JOB_SUCCESS},
    {0, SV2_MSG_DECLARE_MINING_JOB_ERROR},
    {0, SV2_MSG_PUSH_SOLUTION},
    {0, SV2_MSG_COINBASE_OUTPUT_CONSTRAINTS},
    {0, SV2_MSG_NEW_TEMPLATE},
    {0, SV2_MSG_SET_NEW_PREV_HASH_TDP},
    {0, SV2_MSG_REQUEST_TRANSACTION_DATA},
    {0, SV2_MSG_REQUEST_TRANSACTION_DATA_SUCCESS},
    {0, SV2_MSG_REQUEST_TRANSACTION_DATA_ERROR},
    {0, SV2_MSG_SUBMIT_SOLUTION},
    {SV2_EXTENSION_NEGOTIATION, SV2_MSG_REQUEST_EXTENSIONS},
    {SV2_EXTENSION_NEGOTIATION, SV2_MSG_REQUEST_EXTENSIONS_SUCCESS},
    {SV2_EXTENSION_NEGOTIATION, SV2_MSG_REQUEST_EXTENSIONS_ERROR},
};
#define N_IDS (sizeof IDS / sizeof IDS[0])

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

/* Decodes, re-encodes, frames and streams one payload; returns the decode result. */
static sv2_result check_payload(uint16_t ext, uint8_t type, const uint8_t *p, size_t len) {
    sv2_message m;
    sv2_bytes tlvs;
    uint8_t out[1024], frame[1100];
    size_t need = 0, n = 0, flen = 0;
    sv2_result r = sv2_message_decode(ext, type, p, len, &m, &tlvs);
    if (r != SV2_RESULT_OK) return r;
    EXPECT_TRUE(m.extension_type == ext && m.msg_type == type);
    EXPECT(sv2_message_encoded_len(&m, &need), SV2_RESULT_OK);
    EXPECT(sv2_message_encode(&m, out, sizeof out, &n), SV2_RESULT_OK);
    EXPECT_TRUE(n == need && n + tlvs.len == len);
    EXPECT(sv2_frame_encode(&m, NULL, 0, frame, sizeof frame, &flen), SV2_RESULT_OK);
    EXPECT_TRUE(flen == n + 6);

    /* The frame through a decoder, then decoded again: the same bytes. */
    sv2_frame_decoder *d = NULL;
    sv2_frame f;
    sv2_message again;
    uint8_t out2[1024];
    size_t n2 = 0;
    EXPECT(sv2_frame_decoder_new(1 << 16, &d), SV2_RESULT_OK);
    EXPECT(sv2_frame_decoder_push(d, frame, flen), SV2_RESULT_OK);
    EXPECT(sv2_frame_decoder_next(d, &f), SV2_RESULT_OK);
    EXPECT_TRUE(f.extension_type == ext && f.msg_type == type && f.payload.len == n);
    EXPECT(sv2_message_decode(f.extension_type, f.msg_type, f.payload.data, f.payload.len, &again, NULL),
           SV2_RESULT_OK);
    EXPECT(sv2_message_encode(&again, out2, sizeof out2, &n2), SV2_RESULT_OK);
    EXPECT_TRUE(n2 == n && memcmp(out, out2, n) == 0);
    EXPECT(sv2_frame_decoder_next(d, &f), SV2_RESULT_NEED_MORE_DATA);
    sv2_frame_decoder_free(d);
    return SV2_RESULT_OK;
}

/* Every message id: the shortest payload that decodes is all zeros (empty strings and lists,
 * false, absent options) and re-encodes to itself. Then garbage and mutations of it. */
static void every_message(void) {
    uint8_t zeros[256], p[256];
    size_t decoded = 0;
    memset(zeros, 0, sizeof zeros);
    for (size_t i = 0; i < N_IDS; i++) {
        size_t min = 0;
        while (min < 200 &&
               sv2_message_decode(IDS[i].ext, IDS[i].type, zeros, min, &(sv2_message){0}, NULL) != SV2_RESULT_OK)
            min++;
        EXPECT_TRUE(min < 200);
        EXPECT(check_payload(IDS[i].ext, IDS[i].type, zeros, min), SV2_RESULT_OK);
        for (int round = 0; round < 400; round++) {
            size_t len;
            if (round % 2) {
                len = rnd() % 160;
                for (size_t j = 0; j < len; j++) p[j] = (uint8_t)(rnd() % 3 ? rnd() % 4 : rnd());
            } else {
                len = min + (rnd() % 3 ? 0 : rnd() % 8);
                memset(p, 0, len);
                for (int k = 0; k < 3; k++) p[rnd() % (len ? len : 1)] = (uint8_t)rnd();
            }
            sv2_result r = check_payload(IDS[i].ext, IDS[i].type, p, len);
            if (r == SV2_RESULT_OK)
                decoded++;
            else
                EXPECT_TRUE(r >= 100 && r < 200);
        }
    }
    EXPECT_TRUE(decoded > 1000);
    EXPECT(sv2_message_decode(0, 0x7f, zeros, 0, &(sv2_message){0}, NULL), SV2_RESULT_UNKNOWN_MESSAGE);
    EXPECT(sv2_message_decode(7, 0, zeros, 0, &(sv2_message){0}, NULL), SV2_RESULT_UNKNOWN_MESSAGE);
}

/* A byte stream of random frames: the decoder yields frames or asks for more, and refuses
 * announced lengths over its limit. */
static void garbage_streams(void) {
    for (int round = 0; round < 200; round++) {
        sv2_frame_decoder *d = NULL;
        sv2_frame f;
        uint8_t junk[300];
        EXPECT(sv2_frame_decoder_new(64, &d), SV2_RESULT_OK);
        for (size_t j = 0; j < sizeof junk; j++) junk[j] = (uint8_t)(rnd() % 4 ? rnd() % 16 : rnd());
        size_t pos = 0;
        sv2_result r = SV2_RESULT_OK;
        while (pos < sizeof junk && r != SV2_RESULT_FRAME_TOO_LARGE) {
            size_t n = 1 + rnd() % 40;
            if (n > sizeof junk - pos) n = sizeof junk - pos;
            EXPECT(sv2_frame_decoder_push(d, junk + pos, n), SV2_RESULT_OK);
            pos += n;
            while ((r = sv2_frame_decoder_next(d, &f)) == SV2_RESULT_OK) EXPECT_TRUE(f.payload.len <= 64);
            EXPECT_TRUE(r == SV2_RESULT_NEED_MORE_DATA || r == SV2_RESULT_FRAME_TOO_LARGE);
        }
        sv2_frame_decoder_free(d);
    }
}

static void null_arguments(void) {
    uint8_t k[32], out32[32], buf[64], cert[SV2_CERTIFICATE_LEN];
    char text[SV2_AUTHORITY_KEY_TEXT_MAX + 1];
    size_t len = 4242;
    bool flag = false;
    sv2_message m;
    sv2_frame f;
    sv2_work w;
    sv2_bytes v;
    uint16_t x16 = 0;
    uint32_t x32 = 0;
    sv2_frame_decoder *d = NULL;
    sv2_session *s = NULL;
    sv2_server_credentials *creds = NULL;
    sv2_client_channel *ch = NULL;
    const uint8_t *data = NULL;
    const uint8_t ok_payload[6] = {2, 0, 0, 0, 0, 0};
    memset(k, 7, sizeof k);
    memset(&w, 0, sizeof w);
    EXPECT(sv2_message_decode(0, SV2_MSG_SETUP_CONNECTION_SUCCESS, ok_payload, 6, &m, NULL), SV2_RESULT_OK);

    EXPECT(sv2_frame_decoder_new(10, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_decoder_push(NULL, buf, 1), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_decoder_next(NULL, &f), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_decoder_new(10, &d), SV2_RESULT_OK);
    EXPECT(sv2_frame_decoder_push(d, NULL, 1), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_decoder_next(d, NULL), SV2_RESULT_NULL_PARAMETER);
    sv2_frame_decoder_free(d);

    EXPECT(sv2_authority_keypair_generate(NULL, out32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_authority_keypair_generate(out32, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_authority_public_key(NULL, out32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_authority_public_key(k, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_authority_key_parse(NULL, out32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_authority_key_parse("x", NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_authority_key_format(NULL, text, sizeof text, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_authority_key_format(k, NULL, sizeof text, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_authority_key_format(k, text, sizeof text, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_credentials_issue(NULL, NULL, 0, 1, &creds), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_credentials_issue(k, NULL, 0, 1, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_credentials_new(NULL, cert, &creds), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_credentials_new(k, NULL, &creds), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_credentials_new(k, cert, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_credentials_export(NULL, out32, out32, cert), SV2_RESULT_NULL_PARAMETER);
    sv2_server_credentials_free(NULL);

    EXPECT(sv2_message_decode(0, 1, NULL, 6, &m, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_message_decode(0, 1, ok_payload, 6, NULL, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_message_encoded_len(NULL, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_message_encoded_len(&m, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_message_encode(NULL, buf, sizeof buf, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_message_encode(&m, NULL, sizeof buf, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_message_encode(&m, buf, sizeof buf, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_encoded_len(NULL, NULL, 0, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_encoded_len(&m, NULL, 1, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_encoded_len(&m, NULL, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_encode(NULL, NULL, 0, buf, sizeof buf, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_encode(&m, NULL, 0, NULL, sizeof buf, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_frame_encode(&m, NULL, 0, buf, sizeof buf, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_tlvs_find((sv2_bytes){NULL, 5}, 2, 1, &v), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_tlvs_find((sv2_bytes){NULL, 0}, 2, 1, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_u16_list_get(NULL, 0, &x16), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_u16_list_get(&(sv2_u16_list){NULL, NULL, 1}, 0, &x16), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_u32_list_get(NULL, 0, &x32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_u32_list_get(&(sv2_u32_list){NULL, NULL, 1}, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_bytes_list_get(NULL, 0, &v), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_bytes_list_get(&(sv2_bytes_list){NULL, 4, 1}, 0, &v), SV2_RESULT_NULL_PARAMETER);
    size_t offset = 0;
    EXPECT(sv2_bytes_list_next(NULL, &offset, &v), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_bytes_list_next(&(sv2_bytes_list){NULL, 4, 1}, &offset, &v), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_bytes_list_next(&(sv2_bytes_list){NULL, 0, 0}, NULL, &v), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_bytes_list_next(&(sv2_bytes_list){NULL, 0, 0}, &offset, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_bytes_list_encode(NULL, 1, buf, sizeof buf, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_bytes_list_encode(&(sv2_bytes){buf, 1}, 1, buf + 8, 8, NULL), SV2_RESULT_NULL_PARAMETER);

    EXPECT(sv2_session_new_initiator(NULL, 0, &s), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_new_initiator(k, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_new_initiator_with_entropy(k, NULL, 0, &s), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_new_responder(NULL, &s), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_new_plaintext(NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_set_max_payload(NULL, 1), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_receive(NULL, buf, 1), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_next_frame(NULL, &f), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_next_message(NULL, &m, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_send(NULL, &m, NULL, 0), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_send_frame(NULL, 0, 1, false, buf, 1), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_pending_output(NULL, &data, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_consume_output(NULL, 1), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_is_established(NULL, &flag), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_server_key(NULL, out32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_new_plaintext(&s), SV2_RESULT_OK);
    EXPECT(sv2_session_receive(s, NULL, 1), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_next_frame(s, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_next_message(s, NULL, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_send(s, NULL, NULL, 0), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_send_frame(s, 0, 1, false, NULL, 1), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_pending_output(s, NULL, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_is_established(s, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_session_server_key(s, NULL), SV2_RESULT_NULL_PARAMETER);
    sv2_session_free(s);
    sv2_session_free(NULL);

    EXPECT(sv2_client_channel_new_standard(1, NULL, NULL, 0, true, &ch), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_client_channel_new_standard(1, k, NULL, 3, true, &ch), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_client_channel_new_extended(1, k, NULL, 0, 4, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_client_channel_handle(NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_client_channel_work(NULL, NULL, 0, &w), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_client_channel_new_extended(1, k, NULL, 0, 4, &ch), SV2_RESULT_OK);
    EXPECT(sv2_client_channel_handle(ch, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_client_channel_work(ch, NULL, 4, &w), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_client_channel_work(ch, buf, 4, NULL), SV2_RESULT_NULL_PARAMETER);
    sv2_client_channel_free(ch);
    sv2_client_channel_free(NULL);
    EXPECT(sv2_work_hash(NULL, 0, 0, 0, out32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_work_hash(&w, 0, 0, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_hash_meets_target(NULL, k, &flag), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_hash_meets_target(k, k, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_sha256d(NULL, 1, out32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_sha256d(buf, 1, NULL), SV2_RESULT_NULL_PARAMETER);

    /* Out-parameters were written only by the calls that succeeded. */
    EXPECT_TRUE(len == 4242 && !flag && data == NULL && x16 == 0 && x32 == 0);
    EXPECT_TRUE(d != NULL && s != NULL && creds == NULL && ch != NULL);
}

static void short_buffers(void) {
    sv2_message m;
    uint8_t buf[12], text[8];
    size_t len = 4242;
    uint8_t key[32];
    uint8_t secret[32];
    const uint8_t p[6] = {2, 0, 0, 0, 0, 0};
    EXPECT(sv2_message_decode(0, SV2_MSG_SETUP_CONNECTION_SUCCESS, p, 6, &m, NULL), SV2_RESULT_OK);
    memset(buf, 0xee, sizeof buf);
    EXPECT(sv2_message_encode(&m, buf, 5, &len), SV2_RESULT_INSUFFICIENT_SIZE);
    EXPECT(sv2_frame_encode(&m, NULL, 0, buf, 11, &len), SV2_RESULT_INSUFFICIENT_SIZE);
    EXPECT_TRUE(len == 4242 && buf[0] == 0xee && buf[10] == 0xee);
    EXPECT(sv2_frame_encode(&m, NULL, 0, buf, 12, &len), SV2_RESULT_OK);
    EXPECT_TRUE(len == 12);
    EXPECT(sv2_authority_keypair_generate(secret, key), SV2_RESULT_OK);
    len = 4242;
    memset(text, 0x11, sizeof text);
    EXPECT(sv2_authority_key_format(key, (char *)text, sizeof text, &len), SV2_RESULT_INSUFFICIENT_SIZE);
    EXPECT_TRUE(len == 4242 && text[0] == 0x11);
}

static void bad_keys_and_text(void) {
    uint8_t zero[32], high[32], out[32], off_curve[32];
    sv2_server_credentials *creds = NULL;
    sv2_session *s = NULL;
    char junk[80];
    memset(zero, 0, 32);
    memset(high, 0xff, 32);
    memset(off_curve, 0, 32);
    off_curve[31] = 5;
    memset(out, 0xaa, 32);
    EXPECT(sv2_authority_public_key(zero, out), SV2_RESULT_INVALID_KEY);
    EXPECT(sv2_authority_public_key(high, out), SV2_RESULT_INVALID_KEY);
    EXPECT(sv2_server_credentials_issue(zero, NULL, 0, 1, &creds), SV2_RESULT_INVALID_KEY);
    EXPECT(sv2_server_credentials_new(high, (uint8_t[SV2_CERTIFICATE_LEN]){0}, &creds), SV2_RESULT_INVALID_KEY);
    EXPECT(sv2_session_new_initiator(off_curve, 0, &s), SV2_RESULT_INVALID_KEY);
    for (int i = 0; i < 200; i++) {
        size_t n = rnd() % (sizeof junk - 1);
        for (size_t j = 0; j < n; j++) junk[j] = (char)(1 + rnd() % 255);
        junk[n] = 0;
        EXPECT(sv2_authority_key_parse(junk, out), SV2_RESULT_INVALID_AUTHORITY_KEY);
    }
    EXPECT_TRUE(out[0] == 0xaa && creds == NULL && s == NULL);
}

static void deliver(sv2_session *from, sv2_session *to, sv2_result want) {
    const uint8_t *data;
    size_t len;
    EXPECT(sv2_session_pending_output(from, &data, &len), SV2_RESULT_OK);
    EXPECT(sv2_session_receive(to, data, len), want);
    EXPECT(sv2_session_consume_output(from, len), SV2_RESULT_OK);
}

/* Handshakes fed garbage, forged transport frames, and a failed session that stays failed. */
static void noise_garbage(void) {
    uint8_t secret[32], key[32], junk[300];
    sv2_server_credentials *creds = NULL;
    sv2_session *c = NULL, *s = NULL;
    sv2_message m;
    uint32_t now = unix_now();
    EXPECT(sv2_authority_keypair_generate(secret, key), SV2_RESULT_OK);
    EXPECT(sv2_server_credentials_issue(secret, NULL, now - 60, now + 60, &creds), SV2_RESULT_OK);
    for (int round = 0; round < 20; round++) {
        for (size_t j = 0; j < sizeof junk; j++) junk[j] = (uint8_t)rnd();
        EXPECT(sv2_session_new_initiator(key, now, &c), SV2_RESULT_OK);
        EXPECT(sv2_session_receive(c, junk, 233), SV2_RESULT_OK); /* one byte short: waits */
        EXPECT(sv2_session_receive(c, junk + 233, 1 + rnd() % 60), SV2_RESULT_HANDSHAKE_FAILED);
        EXPECT(sv2_session_receive(c, junk, 1), SV2_RESULT_SESSION_FAILED);
        sv2_session_free(c);

        /* Established, then a corrupted frame. */
        EXPECT(sv2_session_new_initiator(key, now, &c), SV2_RESULT_OK);
        EXPECT(sv2_session_new_responder(creds, &s), SV2_RESULT_OK);
        deliver(c, s, SV2_RESULT_OK);
        deliver(s, c, SV2_RESULT_OK);
        EXPECT(sv2_session_receive(s, junk, 22 + rnd() % 200), SV2_RESULT_OK);
        EXPECT(sv2_session_next_message(s, &m, NULL), SV2_RESULT_DECRYPT_FAILED);
        EXPECT(sv2_session_next_message(s, &m, NULL), SV2_RESULT_SESSION_FAILED);
        sv2_session_free(c);
        sv2_session_free(s);
    }
    sv2_server_credentials_free(creds);
}

/* Each thread runs its own handshake and message exchange: distinct handles are independent,
 * and functions without a handle may be called from any thread. */
static void *session_thread(void *arg) {
    uint8_t secret[32], key[32];
    sv2_server_credentials *creds = NULL;
    sv2_session *c = NULL, *s = NULL;
    sv2_message m, got;
    const uint8_t *d;
    size_t n;
    bool up = false;
    int ok = 1;
    uint32_t now = unix_now();
    (void)arg;
    ok &= sv2_authority_keypair_generate(secret, key) == SV2_RESULT_OK;
    ok &= sv2_server_credentials_issue(secret, NULL, now - 60, now + 60, &creds) == SV2_RESULT_OK;
    ok &= sv2_session_new_initiator(key, now, &c) == SV2_RESULT_OK;
    ok &= sv2_session_new_responder(creds, &s) == SV2_RESULT_OK;
    sv2_server_credentials_free(creds);
    for (int step = 0; step < 2 && ok; step++) {
        sv2_session *from = step ? s : c, *to = step ? c : s;
        ok &= sv2_session_pending_output(from, &d, &n) == SV2_RESULT_OK;
        ok &= sv2_session_receive(to, d, n) == SV2_RESULT_OK;
        ok &= sv2_session_consume_output(from, n) == SV2_RESULT_OK;
    }
    ok &= sv2_session_is_established(c, &up) == SV2_RESULT_OK && up;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION_SUCCESS;
    for (uint16_t i = 0; i < 100 && ok; i++) {
        m.body.setup_connection_success.used_version = i;
        ok &= sv2_session_send(c, &m, NULL, 0) == SV2_RESULT_OK;
        ok &= sv2_session_pending_output(c, &d, &n) == SV2_RESULT_OK;
        ok &= sv2_session_receive(s, d, n) == SV2_RESULT_OK;
        ok &= sv2_session_consume_output(c, n) == SV2_RESULT_OK;
        ok &= sv2_session_next_message(s, &got, NULL) == SV2_RESULT_OK;
        ok &= got.body.setup_connection_success.used_version == i;
    }
    sv2_session_free(c);
    sv2_session_free(s);
    return ok ? arg : NULL;
}

/* The ABI's fixed shapes: sv2_result is 32 bits whatever the compiler does with enums, and
 * the library linked is the version this header describes (numerically and as text). */
static void abi_shape(void) {
    _Static_assert(sizeof(sv2_result) == 4, "sv2_result is an int32_t");
    _Static_assert(SV2_VERSION_NUMBER == SV2_VERSION_MAJOR * 1000000 + SV2_VERSION_MINOR * 1000 + SV2_VERSION_PATCH,
                   "SV2_VERSION_NUMBER");
    char text[32];
    snprintf(text, sizeof text, "%d.%d.%d", SV2_VERSION_MAJOR, SV2_VERSION_MINOR, SV2_VERSION_PATCH);
    EXPECT_TRUE(strcmp(sv2_version(), text) == 0);
    EXPECT_TRUE(sv2_version_number() == SV2_VERSION_NUMBER);
    sv2_result r = SV2_RESULT_JOB_TOO_LARGE;
    EXPECT_TRUE(r == 327 && strcmp(sv2_result_message(r), "unknown result") != 0);
}

static void threads(void) {
    pthread_t t[4];
    int tag[4];
    for (int i = 0; i < 4; i++) EXPECT_TRUE(pthread_create(&t[i], NULL, session_thread, &tag[i]) == 0);
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        EXPECT_TRUE(pthread_join(t[i], &r) == 0 && r == &tag[i]);
    }
}

int main(void) {
    abi_shape();
    every_message();
    garbage_streams();
    null_arguments();
    short_buffers();
    bad_keys_and_text();
    noise_garbage();
    threads();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("C test suite: ABI shape, %zu message ids, garbage, NULL arguments, short buffers, bad keys, Noise errors, "
           "threads ok\n",
           (size_t)N_IDS);
    return 0;
}
