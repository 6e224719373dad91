/* Job Declaration through the C ABI: a C "farm" runs an sv2_jd_client against a C "pool"
 * running an sv2_jd_server, in memory, both queueing plaintext frames in their own outputs,
 * which the other side reads through an sv2_frame_decoder. The pool's mempool is a C callback
 * that knows two of the template's three transactions. Full-Template: token, declaration, the
 * unknown transaction asked for and answered, the pool's verdict (the job checked against the
 * transactions and merkle root the event gives), the SetCustomMiningJob checked against the
 * token store (refused on another tip and leaving the token, accepted, refused when reused),
 * PushSolution rebuilt into the block the farm found. Refusals: a verdict with a code on both
 * sides, declaring without a token or with transactions that are not the template's.
 * Coinbase-only: the SetCustomMiningJob at once. Bad calls: NULLs, wrong messages, a message
 * before SetupConnection. Run plain, under valgrind and under AddressSanitizer +
 * UndefinedBehaviorSanitizer by ctest. */
#include "test_util.h"

#define OK SV2_RESULT_OK
#define NOW 1700000000u
#define CLOCK 1000u
#define NTX 3
#define TX_LEN 61
#define EXTRANONCE_LEN 8

/* The pool's payout script (P2WPKH). */
static const uint8_t POOL_SCRIPT[22] = {0x00, 0x14, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
static uint8_t txs[NTX][TX_LEN];
static uint8_t txids[NTX][32];
static uint8_t path[2][32];
static uint64_t seed = 0;

/* A legacy transaction spending output `i` of a made-up transaction to OP_TRUE: its txid and
 * wtxid are both the SHA-256d of its bytes. */
static void make_tx(int i) {
    uint8_t *t = txs[i];
    size_t n = 0;
    t[n++] = 2, t[n++] = 0, t[n++] = 0, t[n++] = 0; /* version */
    t[n++] = 1;                                     /* one input */
    memset(t + n, 0x30 + i, 32), n += 32;           /* prevout txid */
    t[n++] = (uint8_t)i, t[n++] = 0, t[n++] = 0, t[n++] = 0;
    t[n++] = 0;                     /* empty scriptSig */
    memset(t + n, 0xff, 4), n += 4; /* sequence */
    t[n++] = 1;                     /* one output */
    uint64_t value = 1000 + (uint64_t)i;
    for (int k = 0; k < 8; k++) t[n++] = (uint8_t)(value >> (8 * k));
    t[n++] = 1, t[n++] = 0x51;   /* OP_TRUE */
    memset(t + n, 0, 4), n += 4; /* locktime */
    CHECK(n == TX_LEN);
    EXPECT(sv2_sha256d(t, TX_LEN, txids[i]), OK);
}

static void hash_pair(const uint8_t *a, const uint8_t *b, uint8_t *out) {
    uint8_t both[64];
    memcpy(both, a, 32);
    memcpy(both + 32, b, 32);
    EXPECT(sv2_sha256d(both, 64, out), OK);
}

/* The block's merkle root over the coinbase's txid and the three transactions. */
static void root_of(const uint8_t *coinbase_txid, uint8_t *root) {
    uint8_t left[32];
    hash_pair(coinbase_txid, path[0], left);
    hash_pair(left, path[1], root);
}

static void make_template(void) {
    for (int i = 0; i < NTX; i++) make_tx(i);
    /* The coinbase's path: its sibling, then the hash of the other pair. */
    memcpy(path[0], txids[0], 32);
    hash_pair(txids[1], txids[2], path[1]);
}

static sv2_message new_template(void) {
    static const uint8_t height[3] = {0x02, 0x10, 0x27};
    sv2_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_NEW_TEMPLATE;
    m.body.new_template.template_id = 77;
    m.body.new_template.version = 0x20000000;
    m.body.new_template.coinbase_tx_version = 2;
    m.body.new_template.coinbase_prefix = (sv2_bytes){height, 3};
    m.body.new_template.coinbase_tx_input_sequence = 0xfffffffe;
    m.body.new_template.coinbase_tx_value_remaining = 5000012345u;
    m.body.new_template.merkle_path = (sv2_u256_list){&path[0][0], 2};
    return m;
}

static sv2_message tip(uint8_t prev) {
    sv2_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SET_NEW_PREV_HASH_TDP;
    m.body.set_new_prev_hash_tdp.template_id = 77;
    memset(m.body.set_new_prev_hash_tdp.prev_hash, prev, 32);
    m.body.set_new_prev_hash_tdp.header_timestamp = NOW;
    m.body.set_new_prev_hash_tdp.nbits = 0x207fffff;
    memset(m.body.set_new_prev_hash_tdp.target, 0xff, 31);
    m.body.set_new_prev_hash_tdp.target[31] = 0x7f;
    return m;
}

/* The pool's mempool: every transaction but the one at `unknown`. */
typedef struct {
    int unknown;
    int calls;
} mempool;

static sv2_bool mempool_get(void *user, const uint8_t *wtxid, sv2_bytes *tx) {
    mempool *m = user;
    m->calls++;
    for (int i = 0; i < NTX; i++) {
        if (i != m->unknown && memcmp(wtxid, txids[i], 32) == 0) {
            *tx = (sv2_bytes){txs[i], TX_LEN};
            return 1;
        }
    }
    return 0;
}

typedef struct {
    sv2_token_store *store;
    sv2_jd_server_options *options;
    sv2_jd_server *pool;
    sv2_jd_client *farm;
    sv2_frame_decoder *pool_in, *farm_in;
    mempool mempool;
} world;

static sv2_jd_client_config farm_config(bool full_template) {
    sv2_jd_client_config c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.full_template = full_template;
    c.extranonce_len = EXTRANONCE_LEN;
    c.endpoint_port = 3336;
    c.max_tokens = 4;
    c.max_declarations = 4;
    c.user_identifier = cstr("alice");
    c.tag = cstr("/jdc/");
    c.endpoint_host = cstr("pool.example");
    c.vendor = cstr("libsv2-test");
    return c;
}

static void world_new(world *w, bool full_template) {
    memset(w, 0, sizeof *w);
    w->mempool.unknown = 1;
    EXPECT(sv2_token_store_new(64, &w->store), OK);
    EXPECT(sv2_jd_server_options_new(POOL_SCRIPT, sizeof POOL_SCRIPT, &w->options), OK);
    EXPECT(sv2_jd_server_new(w->options, w->store, mempool_get, &w->mempool, &w->pool), OK);
    sv2_jd_client_config c = farm_config(full_template);
    EXPECT(sv2_jd_client_new(&c, &w->farm), OK);
    EXPECT(sv2_frame_decoder_new(1 << 20, &w->pool_in), OK);
    EXPECT(sv2_frame_decoder_new(1 << 20, &w->farm_in), OK);
}

static void world_free(world *w) {
    sv2_jd_server_free(w->pool);
    sv2_jd_client_free(w->farm);
    sv2_jd_server_options_free(w->options);
    sv2_token_store_free(w->store);
    sv2_frame_decoder_free(w->pool_in);
    sv2_frame_decoder_free(w->farm_in);
}

/* Fresh, distinct entropy for each token. */
static const uint8_t *entropy(void) {
    static uint8_t e[16];
    seed++;
    memset(e, 0, sizeof e);
    memcpy(e, &seed, sizeof seed);
    e[15] = 0xe0;
    return e;
}

/* The one frame the farm queued reaches the pool; its event goes to `ev`. */
static void to_pool(world *w, sv2_jd_server_event *ev) {
    const uint8_t *data = NULL;
    size_t len = 0;
    sv2_frame f;
    EXPECT(sv2_jd_client_pending_output(w->farm, &data, &len), OK);
    EXPECT(sv2_frame_decoder_push(w->pool_in, data, len), OK);
    EXPECT(sv2_jd_client_consume_output(w->farm, len), OK);
    EXPECT(sv2_frame_decoder_next(w->pool_in, &f), OK);
    EXPECT(sv2_jd_server_on_frame(w->pool, &f, CLOCK, entropy(), NULL, ev), OK);
    EXPECT(sv2_frame_decoder_next(w->pool_in, &f), SV2_RESULT_NEED_MORE_DATA);
}

/* The one frame the pool queued reaches the farm; its event goes to `ev`. */
static void to_farm(world *w, sv2_jd_client_event *ev) {
    const uint8_t *data = NULL;
    size_t len = 0;
    sv2_frame f;
    EXPECT(sv2_jd_server_pending_output(w->pool, &data, &len), OK);
    EXPECT(sv2_frame_decoder_push(w->farm_in, data, len), OK);
    EXPECT(sv2_jd_server_consume_output(w->pool, len), OK);
    EXPECT(sv2_frame_decoder_next(w->farm_in, &f), OK);
    EXPECT(sv2_jd_client_on_frame(w->farm, &f, NULL, ev), OK);
    EXPECT(sv2_frame_decoder_next(w->farm_in, &f), SV2_RESULT_NEED_MORE_DATA);
}

static bool text_is(sv2_bytes b, const char *s) { return bytes_eq(b, s, strlen(s)); }

/* SetupConnection and a token, checked on both sides. */
static void connect_and_take_token(world *w, bool full_template) {
    sv2_jd_server_event se;
    sv2_jd_client_event ce;
    uint32_t id = 0;
    EXPECT(sv2_jd_client_start(w->farm, NULL), OK);
    to_pool(w, &se);
    EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_SET_UP && se.full_template == full_template);
    to_farm(w, &ce);
    EXPECT_TRUE(ce.kind == SV2_JD_CLIENT_EVENT_KIND_SET_UP);
    EXPECT(sv2_jd_client_request_token(w->farm, NULL, &id), OK);
    to_pool(w, &se);
    EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_TOKEN_ALLOCATED && se.request_id == id);
    to_farm(w, &ce);
    EXPECT_TRUE(ce.kind == SV2_JD_CLIENT_EVENT_KIND_TOKEN_READY && ce.request_id == id);
    /* The pool's output: value, script length, P2WPKH. */
    EXPECT_TRUE(ce.max_additional_size == 8 + 1 + 22 && ce.max_additional_sigops == 0);
    size_t tokens = 0;
    EXPECT(sv2_jd_client_tokens(w->farm, &tokens), OK);
    EXPECT_TRUE(tokens == 1);
}

static sv2_bytes tx_views[NTX];

static const sv2_bytes *template_txs(void) {
    for (int i = 0; i < NTX; i++) tx_views[i] = (sv2_bytes){txs[i], TX_LEN};
    return tx_views;
}

/* Declares the template; the pool asks for the transaction its mempool lacks, gets it, and
 * asks for a verdict on the whole job, which is checked here. Returns the declaration id. */
static uint32_t declare(world *w) {
    sv2_message t = new_template(), prev = tip(0x42);
    sv2_jd_server_event se;
    sv2_jd_client_event ce;
    uint32_t id = 0;
    bool ready = true;
    EXPECT(sv2_jd_client_declare(w->farm, &t, &prev, template_txs(), NTX, NULL, &id, &ready), OK);
    EXPECT_TRUE(!ready);
    to_pool(w, &se);
    EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_MISSING_TRANSACTIONS_REQUESTED);
    EXPECT_TRUE(se.request_id == id && se.count == 1);
    to_farm(w, &ce);
    EXPECT_TRUE(ce.kind == SV2_JD_CLIENT_EVENT_KIND_MISSING_TRANSACTIONS_SENT && ce.count == 1);
    to_pool(w, &se);
    EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_VALIDATE_JOB && se.request_id == id);
    EXPECT_TRUE(se.version == 0x20000000 && se.count == NTX && text_is(se.user, "alice"));
    /* The transactions in block order, the one asked for among them. */
    size_t offset = 0;
    sv2_bytes item;
    for (int i = 0; i < NTX; i++) {
        EXPECT(sv2_bytes_list_next(&se.transactions, &offset, &item), OK);
        EXPECT_TRUE(bytes_eq(item, txs[i], TX_LEN));
    }
    EXPECT(sv2_bytes_list_next(&se.transactions, &offset, &item), SV2_RESULT_NOT_FOUND);
    /* A legacy coinbase: its txid hashes it whole, and the root is over it and the three. */
    uint8_t cb_txid[32], root[32];
    EXPECT(sv2_sha256d(se.coinbase.data, se.coinbase.len, cb_txid), OK);
    root_of(cb_txid, root);
    EXPECT_TRUE(memcmp(root, se.merkle_root, 32) == 0);
    size_t pending = 0;
    EXPECT(sv2_jd_server_pending_declarations(w->pool, &pending), OK);
    EXPECT_TRUE(pending == 1);
    return id;
}

/* The SetCustomMiningJob from the farm, checked by the pool against its store. */
static sv2_result check(world *w, uint8_t prev_byte, sv2_bytes *user, sv2_bytes *code) {
    sv2_message m, prev = tip(prev_byte);
    EXPECT(sv2_jd_client_custom_job(w->farm, 5, 1, &m), OK);
    EXPECT_TRUE(m.msg_type == SV2_MSG_SET_CUSTOM_MINING_JOB && m.body.set_custom_mining_job.channel_id == 5);
    return sv2_token_store_check_custom_job(w->store, w->options, &m, &prev, EXTRANONCE_LEN, 1, CLOCK, NOW, user, code);
}

static void full_template(void) {
    world w;
    sv2_jd_server_event se;
    sv2_jd_client_event ce;
    world_new(&w, true);
    connect_and_take_token(&w, true);
    uint32_t id = declare(&w);
    EXPECT_TRUE(w.mempool.calls == NTX);

    /* Accepted: the token goes to the farm with the job. */
    EXPECT(sv2_jd_server_verdict(w.pool, id, NULL, 0, CLOCK, entropy(), NULL, &se), OK);
    EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_JOB_DECLARED && se.request_id == id);
    EXPECT(sv2_jd_server_verdict(w.pool, id, NULL, 0, CLOCK, entropy(), NULL, &se), OK);
    EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_HANDLED); /* answered once */
    to_farm(&w, &ce);
    EXPECT_TRUE(ce.kind == SV2_JD_CLIENT_EVENT_KIND_JOB_DECLARED && ce.request_id == id && ce.template_id == 77);

    /* The pool checks the SetCustomMiningJob: another tip is refused and leaves the token. */
    sv2_bytes user = {0}, code = {0};
    EXPECT(check(&w, 0x43, &user, &code), SV2_RESULT_CUSTOM_JOB_REFUSED);
    EXPECT_TRUE(text_is(code, "stale-chain-tip"));
    EXPECT(check(&w, 0x42, &user, &code), OK);
    EXPECT_TRUE(text_is(user, "alice"));
    EXPECT(check(&w, 0x42, &user, &code), SV2_RESULT_CUSTOM_JOB_REFUSED);
    EXPECT_TRUE(text_is(code, "invalid-mining-job-token"));

    /* A block: PushSolution until a header meets the regtest nbits (about half do). */
    const uint8_t extranonce[EXTRANONCE_LEN] = {0, 0, 0, 7, 1, 2, 3, 4};
    uint8_t coinbase[512];
    size_t coinbase_len = 0;
    bool found = false;
    for (uint32_t nonce = 0; nonce < 64 && !found; nonce++) {
        sv2_bytes cb;
        EXPECT(
            sv2_jd_client_push_solution(w.farm, id, extranonce, EXTRANONCE_LEN, nonce, NOW + 1, 0x20000000, NULL, &cb),
            OK);
        CHECK(cb.len <= sizeof coinbase);
        memcpy(coinbase, cb.data, cb.len);
        coinbase_len = cb.len;
        to_pool(&w, &se);
        EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_BLOCK_FOUND ||
                    (se.kind == SV2_JD_SERVER_EVENT_KIND_SOLUTION_IGNORED && se.text.len > 0));
        found = se.kind == SV2_JD_SERVER_EVENT_KIND_BLOCK_FOUND;
    }
    EXPECT_TRUE(found);
    if (found) {
        /* header, one-byte count (4), the farm's coinbase, the three transactions */
        const uint8_t *b = se.block.data;
        EXPECT_TRUE(se.block.len == 80 + 1 + coinbase_len + NTX * TX_LEN);
        EXPECT_TRUE(b[80] == 1 + NTX && memcmp(b + 81, coinbase, coinbase_len) == 0);
        for (int i = 0; i < NTX; i++) EXPECT_TRUE(memcmp(b + 81 + coinbase_len + i * TX_LEN, txs[i], TX_LEN) == 0);
        uint8_t hash[32], cb_txid[32], root[32];
        EXPECT(sv2_sha256d(b, 80, hash), OK);
        EXPECT_TRUE(memcmp(hash, se.block_hash, 32) == 0);
        EXPECT(sv2_sha256d(coinbase, coinbase_len, cb_txid), OK);
        root_of(cb_txid, root);
        EXPECT_TRUE(memcmp(b + 36, root, 32) == 0);
        EXPECT_TRUE(b[4] == 0x42); /* the tip declared */
    }
    /* A declaration the farm never made. */
    sv2_bytes cb;
    EXPECT(sv2_jd_client_push_solution(w.farm, 999, extranonce, EXTRANONCE_LEN, 0, NOW, 0x20000000, NULL, &cb),
           SV2_RESULT_UNKNOWN_DECLARATION);
    EXPECT(sv2_jd_client_push_solution(w.farm, id, extranonce, 4, 0, NOW, 0x20000000, NULL, &cb),
           SV2_RESULT_EXTRANONCE_MISMATCH);
    world_free(&w);
}

static void refusals(void) {
    world w;
    sv2_jd_server_event se;
    sv2_jd_client_event ce;
    sv2_message t = new_template(), prev = tip(0x42);
    uint32_t id = 0;
    bool ready = false;
    world_new(&w, true);

    /* A message before SetupConnection closes the connection. */
    EXPECT(sv2_jd_client_request_token(w.farm, NULL, &id), OK);
    const uint8_t *data = NULL;
    size_t len = 0;
    sv2_frame f;
    EXPECT(sv2_jd_client_pending_output(w.farm, &data, &len), OK);
    EXPECT(sv2_frame_decoder_push(w.pool_in, data, len), OK);
    EXPECT(sv2_jd_client_consume_output(w.farm, len), OK);
    EXPECT(sv2_frame_decoder_next(w.pool_in, &f), OK);
    EXPECT(sv2_jd_server_on_frame(w.pool, &f, CLOCK, entropy(), NULL, &se), SV2_RESULT_NOT_SET_UP);
    world_free(&w);

    world_new(&w, true);
    /* No token yet. */
    EXPECT(sv2_jd_client_declare(w.farm, &t, &prev, template_txs(), NTX, NULL, &id, &ready), SV2_RESULT_NO_TOKEN);
    connect_and_take_token(&w, true);
    /* Transactions that are not the template's: the token stays. */
    sv2_bytes swapped[NTX] = {{txs[1], TX_LEN}, {txs[0], TX_LEN}, {txs[2], TX_LEN}};
    EXPECT(sv2_jd_client_declare(w.farm, &t, &prev, swapped, NTX, NULL, &id, &ready), SV2_RESULT_TRANSACTIONS_MISMATCH);
    /* Not a template, not a tip. */
    EXPECT(sv2_jd_client_declare(w.farm, &prev, &prev, template_txs(), NTX, NULL, &id, &ready),
           SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_jd_client_declare(w.farm, &t, &t, template_txs(), NTX, NULL, &id, &ready), SV2_RESULT_INVALID_ARGUMENT);
    id = declare(&w);

    /* The pool's node refuses the block: both sides learn the code. */
    const char *why = "bad-txns-inputs-missingorspent";
    EXPECT(sv2_jd_server_verdict(w.pool, id, (const uint8_t *)why, strlen(why), CLOCK, NULL, NULL, &se), OK);
    EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_JOB_REFUSED && se.request_id == id && text_is(se.text, why));
    to_farm(&w, &ce);
    EXPECT_TRUE(ce.kind == SV2_JD_CLIENT_EVENT_KIND_JOB_REFUSED && ce.request_id == id && text_is(ce.code, why));
    EXPECT_TRUE(ce.details.len > 0);
    /* The refused declaration is forgotten, and there is no job to send the pool. */
    sv2_message m;
    EXPECT(sv2_jd_client_custom_job(w.farm, 5, 1, &m), SV2_RESULT_NOT_FOUND);
    size_t pending = 1;
    EXPECT(sv2_jd_server_pending_declarations(w.pool, &pending), OK);
    EXPECT_TRUE(pending == 0);
    world_free(&w);
}

static void coinbase_only(void) {
    world w;
    sv2_message t = new_template(), prev = tip(0x42), m;
    uint32_t id = 0;
    bool ready = false;
    world_new(&w, false);
    connect_and_take_token(&w, false);
    EXPECT(sv2_jd_client_declare(w.farm, &t, &prev, NULL, 0, NULL, &id, &ready), OK);
    EXPECT_TRUE(ready);
    const uint8_t *data = NULL;
    size_t len = 1;
    EXPECT(sv2_jd_client_pending_output(w.farm, &data, &len), OK);
    EXPECT_TRUE(len == 0); /* nothing declared to the pool */
    EXPECT(sv2_jd_client_custom_job(w.farm, 5, 1, &m), OK);
    EXPECT_TRUE(m.body.set_custom_mining_job.merkle_path.count == 2);
    sv2_bytes user = {0}, code = {0};
    EXPECT(check(&w, 0x42, &user, &code), OK);
    EXPECT_TRUE(text_is(user, "alice"));
    world_free(&w);
}

static void bad_calls(void) {
    world w;
    sv2_jd_server_event se;
    sv2_jd_client_event ce;
    sv2_message t = new_template(), prev = tip(0x42);
    uint32_t id = 0;
    bool ready = false;
    sv2_bytes cb;
    world_new(&w, true);
    sv2_jd_client_config c = farm_config(true);
    sv2_jd_client *other = NULL;
    c.struct_size = 1;
    EXPECT(sv2_jd_client_new(&c, &other), SV2_RESULT_INVALID_ARGUMENT);
    c = farm_config(true);
    c.extranonce_len = 33;
    EXPECT(sv2_jd_client_new(&c, &other), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_jd_client_new(NULL, &other), SV2_RESULT_NULL_PARAMETER);
    EXPECT_TRUE(other == NULL);
    EXPECT(sv2_token_store_new(0, &w.store), SV2_RESULT_INVALID_ARGUMENT);
    sv2_jd_server_options *o = NULL;
    EXPECT(sv2_jd_server_options_new(NULL, 0, &o), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_jd_server_options_set_modes(w.options, 0, 0), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_jd_server_options_set_min_payout_ppm(w.options, 1000001), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_jd_server_on_frame(NULL, NULL, CLOCK, NULL, NULL, &se), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_jd_server_on_message(w.pool, NULL, CLOCK, NULL, NULL, &se), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_jd_server_verdict(w.pool, 1, NULL, 0, CLOCK, NULL, NULL, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_jd_client_on_frame(w.farm, NULL, NULL, &ce), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_jd_client_declare(w.farm, &t, &prev, NULL, 2, NULL, &id, &ready), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_jd_client_push_solution(w.farm, 1, NULL, 0, 0, 0, 0, NULL, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_jd_client_push_solution(w.farm, 1, NULL, 0, 0, 0, 0, NULL, &cb), SV2_RESULT_UNKNOWN_DECLARATION);
    EXPECT(sv2_token_store_check_custom_job(w.store, w.options, &t, &prev, 8, 1, CLOCK, NOW, NULL, NULL),
           SV2_RESULT_INVALID_ARGUMENT);
    sv2_jd_server_free(NULL);
    sv2_jd_client_free(NULL);
    sv2_token_store_free(NULL);
    sv2_jd_server_options_free(NULL);
    world_free(&w);
}

int main(void) {
    make_template();
    full_template();
    refusals();
    coinbase_only();
    bad_calls();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("test_jd: ok\n");
    return 0;
}
