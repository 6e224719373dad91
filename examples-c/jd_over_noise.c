/* Job Declaration over Noise, both sides in one process: a pool's Job Declarator Server
 * (sv2_jd_server with a token store and a mempool callback) and a farm's Job Declarator Client
 * (sv2_jd_client), each writing into its end of a Noise session. The farm declares a template
 * of one transaction the pool's mempool lacks, the pool asks for it and accepts the job, the
 * pool checks the farm's SetCustomMiningJob, and a solution pushed by the farm becomes a block
 * at the pool. Prints what happens; exits non-zero on any failure.
 *   jd_over_noise */
#include "example_util.h"

static uint8_t tx[61];
static uint8_t txid[32];

/* A legacy transaction spending a made-up output to OP_TRUE; txid = wtxid = SHA-256d. */
static void make_tx(void) {
    static const uint8_t head[5] = {2, 0, 0, 0, 1},
                         tail[20] = {0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0xe8, 3, 0, 0, 0, 0, 0, 0, 1, 0x51};
    memcpy(tx, head, 5);
    memset(tx + 5, 0x30, 32);
    memcpy(tx + 37, tail, 20);
    memset(tx + 57, 0, 4);
    TRY(sv2_sha256d(tx, sizeof tx, txid));
}

/* The pool's node knows no transaction: the farm is asked for every one. */
static sv2_bool empty_mempool(void *user, const uint8_t *wtxid, sv2_bytes *out) {
    (void)user, (void)wtxid, (void)out;
    return 0;
}

static void deliver(sv2_session *from, sv2_session *to) {
    const uint8_t *data;
    size_t len;
    TRY(sv2_session_pending_output(from, &data, &len));
    TRY(sv2_session_receive(to, data, len));
    TRY(sv2_session_consume_output(from, len));
}

/* Everything the farm sent reaches the pool; returns the pool's event for the last frame. */
static sv2_jd_server_event to_pool(sv2_session *farm_s, sv2_session *pool_s, sv2_jd_server *jds) {
    sv2_jd_server_event ev;
    sv2_frame f;
    memset(&ev, 0, sizeof ev);
    deliver(farm_s, pool_s);
    while (sv2_session_next_frame(pool_s, &f) == SV2_RESULT_OK)
        TRY(sv2_jd_server_on_frame(jds, &f, (uint64_t)unix_now(), NULL, pool_s, &ev));
    return ev;
}

static sv2_jd_client_event to_farm(sv2_session *pool_s, sv2_session *farm_s, sv2_jd_client *jdc) {
    sv2_jd_client_event ev;
    sv2_frame f;
    memset(&ev, 0, sizeof ev);
    deliver(pool_s, farm_s);
    while (sv2_session_next_frame(farm_s, &f) == SV2_RESULT_OK) TRY(sv2_jd_client_on_frame(jdc, &f, farm_s, &ev));
    return ev;
}

int main(void) {
    static const uint8_t pool_script[22] = {0x00, 0x14, 1,  2,  3,  4,  5,  6,  7,  8,  9,
                                            10,   11,   12, 13, 14, 15, 16, 17, 18, 19, 20};
    static const uint8_t height[3] = {0x02, 0x10, 0x27}, extranonce[8] = {0, 0, 0, 1, 0, 0, 0, 2};
    uint8_t authority_secret[32], authority_key[32];
    sv2_server_credentials *creds = NULL;
    sv2_session *farm_s = NULL, *pool_s = NULL;
    sv2_token_store *store = NULL;
    sv2_jd_server_options *opts = NULL;
    sv2_jd_server *jds = NULL;
    sv2_jd_client *jdc = NULL;
    bool up = false, ready = true;
    uint32_t token_request = 0, decl = 0;
    make_tx();

    /* Noise: the pool answers as responder, the farm pins the pool's authority. */
    TRY(sv2_authority_keypair_generate(authority_secret, authority_key));
    TRY(sv2_server_credentials_issue(authority_secret, NULL, unix_now(), unix_now() + 3600, &creds));
    TRY(sv2_session_new_initiator(authority_key, unix_now(), &farm_s));
    TRY(sv2_session_new_responder(creds, &pool_s));
    sv2_server_credentials_free(creds);
    deliver(farm_s, pool_s);
    deliver(pool_s, farm_s);
    TRY(sv2_session_is_established(farm_s, &up));
    CHECK(up);

    /* The pool: one token store for all its JD connections, one server per connection. */
    TRY(sv2_token_store_new(10000, &store));
    TRY(sv2_jd_server_options_new(pool_script, sizeof pool_script, &opts));
    TRY(sv2_jd_server_new(opts, store, empty_mempool, NULL, &jds));

    /* The farm: Full-Template, an 8-byte extranonce on its upstream channel. */
    sv2_jd_client_config c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.full_template = 1;
    c.extranonce_len = sizeof extranonce;
    c.max_tokens = 2;
    c.max_declarations = 2;
    c.user_identifier = cstr("farm.example");
    c.endpoint_host = cstr("pool.example");
    c.endpoint_port = 3336;
    c.vendor = cstr("libsv2-example");
    TRY(sv2_jd_client_new(&c, &jdc));

    TRY(sv2_jd_client_start(jdc, farm_s));
    CHECK(to_pool(farm_s, pool_s, jds).kind == SV2_JD_SERVER_EVENT_KIND_SET_UP);
    CHECK(to_farm(pool_s, farm_s, jdc).kind == SV2_JD_CLIENT_EVENT_KIND_SET_UP);
    TRY(sv2_jd_client_request_token(jdc, farm_s, &token_request));
    CHECK(to_pool(farm_s, pool_s, jds).kind == SV2_JD_SERVER_EVENT_KIND_TOKEN_ALLOCATED);
    sv2_jd_client_event ce = to_farm(pool_s, farm_s, jdc);
    CHECK(ce.kind == SV2_JD_CLIENT_EVENT_KIND_TOKEN_READY);
    printf("farm: token; the pool's outputs take %u bytes of the coinbase\n", ce.max_additional_size);

    /* The farm's own template: one transaction, the coinbase's merkle path is its txid. */
    sv2_message t, tip;
    memset(&t, 0, sizeof t);
    t.msg_type = SV2_MSG_NEW_TEMPLATE;
    t.body.new_template.template_id = 1;
    t.body.new_template.version = 0x20000000;
    t.body.new_template.coinbase_tx_version = 2;
    t.body.new_template.coinbase_prefix = (sv2_bytes){height, sizeof height};
    t.body.new_template.coinbase_tx_input_sequence = 0xffffffff;
    t.body.new_template.coinbase_tx_value_remaining = 5000000000u;
    t.body.new_template.merkle_path = (sv2_u256_list){txid, 1};
    memset(&tip, 0, sizeof tip);
    tip.msg_type = SV2_MSG_SET_NEW_PREV_HASH_TDP;
    memset(tip.body.set_new_prev_hash_tdp.prev_hash, 0x42, 32);
    tip.body.set_new_prev_hash_tdp.header_timestamp = unix_now();
    tip.body.set_new_prev_hash_tdp.nbits = 0x207fffff; /* regtest */
    memset(tip.body.set_new_prev_hash_tdp.target, 0xff, 31);
    tip.body.set_new_prev_hash_tdp.target[31] = 0x7f;
    sv2_bytes txs[1] = {{tx, sizeof tx}};
    TRY(sv2_jd_client_declare(jdc, &t, &tip, txs, 1, farm_s, &decl, &ready));

    sv2_jd_server_event se = to_pool(farm_s, pool_s, jds);
    CHECK(se.kind == SV2_JD_SERVER_EVENT_KIND_MISSING_TRANSACTIONS_REQUESTED);
    CHECK(to_farm(pool_s, farm_s, jdc).kind == SV2_JD_CLIENT_EVENT_KIND_MISSING_TRANSACTIONS_SENT);
    se = to_pool(farm_s, pool_s, jds);
    CHECK(se.kind == SV2_JD_SERVER_EVENT_KIND_VALIDATE_JOB && se.count == 1);
    printf("pool: declaration %u, %zu transaction, coinbase %zu bytes: accepted\n", se.request_id, se.count,
           se.coinbase.len);
    TRY(sv2_jd_server_verdict(jds, se.request_id, NULL, 0, (uint64_t)unix_now(), NULL, pool_s, &se));
    CHECK(se.kind == SV2_JD_SERVER_EVENT_KIND_JOB_DECLARED);
    CHECK(to_farm(pool_s, farm_s, jdc).kind == SV2_JD_CLIENT_EVENT_KIND_JOB_DECLARED);

    /* The farm's SetCustomMiningJob, as the pool's Mining connection checks it. */
    sv2_message custom;
    sv2_bytes user, code;
    TRY(sv2_jd_client_custom_job(jdc, 1, 1, &custom));
    TRY(sv2_token_store_check_custom_job(store, opts, &custom, &tip, sizeof extranonce, 1, (uint64_t)unix_now(),
                                         unix_now(), &user, &code));
    printf("pool: SetCustomMiningJob of %.*s accepted\n", (int)user.len, (const char *)user.data);

    /* A solution: PushSolution until the header meets the regtest target (about half do). */
    se.kind = SV2_JD_SERVER_EVENT_KIND_HANDLED;
    for (uint32_t nonce = 0; nonce < 64 && se.kind != SV2_JD_SERVER_EVENT_KIND_BLOCK_FOUND; nonce++) {
        sv2_bytes coinbase;
        TRY(sv2_jd_client_push_solution(jdc, decl, extranonce, sizeof extranonce, nonce, unix_now(), 0x20000000, farm_s,
                                        &coinbase));
        se = to_pool(farm_s, pool_s, jds);
    }
    CHECK(se.kind == SV2_JD_SERVER_EVENT_KIND_BLOCK_FOUND);
    printf("pool: block of %zu bytes to submit, hash ends ..%02x%02x\n", se.block.len, se.block_hash[1],
           se.block_hash[0]);

    sv2_jd_client_free(jdc);
    sv2_jd_server_free(jds);
    sv2_jd_server_options_free(opts);
    sv2_token_store_free(store);
    sv2_session_free(farm_s);
    sv2_session_free(pool_s);
    return 0;
}
