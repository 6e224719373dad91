/* Job Declaration through the C ABI: a C "farm" runs an sv2_jd_client against a C "pool"
 * running an sv2_jd_server, in memory, both queueing plaintext frames in their own outputs,
 * which the other side reads through an sv2_frame_decoder. The pool's mempool is a C callback
 * that knows two of the template's three transactions. Full-Template: token, declaration, the
 * unknown transaction asked for and answered, the pool's verdict (the job checked against the
 * transactions and merkle root the event gives), the SetCustomMiningJob checked against the
 * token store (refused on another tip and leaving the token, accepted, refused when reused),
 * PushSolution rebuilt into the block the farm found. Refusals: a verdict with a code on both
 * sides, declaring without a token or with transactions that are not the template's.
 * Coinbase-only: the SetCustomMiningJob at once. Work selection: the farm's SetCustomMiningJob
 * reaches the pool's Mining server endpoint (made with the JDS's token store and options) in
 * plaintext frames, refused on another tip and when its token is spent, accepted; a share on
 * the custom job that is a block gives the block completed from the declared transactions,
 * equal to the JDS's from PushSolution. Bad calls: NULLs, wrong messages, a message before
 * SetupConnection. Run plain, under valgrind and under AddressSanitizer +
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

/* The pool's Mining side with work selection: a job factory on the JDS's tip, an endpoint
 * sharing the JDS's token store and options, and the farm's Mining connection as a plaintext
 * session on each end. */
typedef struct {
    sv2_job_factory *jobs;
    sv2_extranonce_allocator *prefixes;
    sv2_server_options *options;
    sv2_server_endpoint *pool;
    sv2_session *farm, *pool_in;
    uint32_t channel_id;
    uint8_t extranonce[EXTRANONCE_LEN]; /* the channel's prefix, then the rolled part */
} mining;

/* `m` from the farm reaches the pool endpoint as a plaintext frame; its event goes to `ev`. */
static sv2_result farm_to_pool(mining *p, const sv2_message *m, sv2_server_event *ev) {
    const uint8_t *data = NULL;
    size_t len = 0;
    sv2_frame f;
    EXPECT(sv2_session_send(p->farm, m, NULL, 0), OK);
    EXPECT(sv2_session_pending_output(p->farm, &data, &len), OK);
    EXPECT(sv2_session_receive(p->pool_in, data, len), OK);
    EXPECT(sv2_session_consume_output(p->farm, len), OK);
    EXPECT(sv2_session_next_frame(p->pool_in, &f), OK);
    return sv2_server_endpoint_on_frame(p->pool, p->jobs, &f, CLOCK, NOW, NULL, ev);
}

/* Everything the pool endpoint queued reaches the farm; its first message goes to `first`
 * (views valid until the next call on the farm's session), the rest are dropped. */
static void pool_to_farm(mining *p, sv2_message *first) {
    const uint8_t *data = NULL;
    size_t len = 0;
    EXPECT(sv2_server_endpoint_pending_output(p->pool, &data, &len), OK);
    EXPECT(sv2_session_receive(p->farm, data, len), OK);
    EXPECT(sv2_server_endpoint_consume_output(p->pool, len), OK);
    EXPECT(sv2_session_next_message(p->farm, first, NULL), OK);
}

static void drain_farm(mining *p) {
    sv2_message m;
    while (sv2_session_next_message(p->farm, &m, NULL) == OK) {
    }
}

/* The pool's Mining side, set up with REQUIRES_WORK_SELECTION and one extended channel. */
static void mining_new(mining *p, world *w) {
    sv2_message m = new_template(), prev = tip(0x42);
    sv2_template_job j;
    sv2_server_event ev;
    memset(p, 0, sizeof *p);
    m.body.new_template.future_template = 1;
    EXPECT(sv2_job_factory_new(POOL_SCRIPT, sizeof POOL_SCRIPT, (const uint8_t *)"pool", 4, EXTRANONCE_LEN, true,
                               &p->jobs),
           OK);
    EXPECT(sv2_job_factory_handle(p->jobs, &m, &j), OK);
    EXPECT(sv2_job_factory_handle(p->jobs, &prev, &j), OK);
    EXPECT(sv2_extranonce_allocator_new(NULL, 0, 4, EXTRANONCE_LEN, &p->prefixes), OK);
    EXPECT(sv2_server_options_new(&p->options), OK);
    EXPECT(sv2_server_options_set_vardiff(p->options, 10, 60, 1e6, 1e-12), OK);
    EXPECT(sv2_server_options_set_work_selection(p->options, w->store, w->options), OK);
    EXPECT(sv2_server_endpoint_new(p->options, p->prefixes, &p->pool), OK);
    EXPECT(sv2_session_new_plaintext(&p->farm), OK);
    EXPECT(sv2_session_new_plaintext(&p->pool_in), OK);

    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION;
    m.body.setup_connection.min_version = 2;
    m.body.setup_connection.max_version = 2;
    m.body.setup_connection.flags = SV2_MINING_FLAG_REQUIRES_WORK_SELECTION;
    EXPECT(farm_to_pool(p, &m, &ev), OK);
    EXPECT_TRUE(ev.kind == SV2_SERVER_EVENT_KIND_SET_UP);
    pool_to_farm(p, &m);
    EXPECT_TRUE(m.msg_type == SV2_MSG_SETUP_CONNECTION_SUCCESS);

    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL;
    m.body.open_extended_mining_channel.request_id = 1;
    m.body.open_extended_mining_channel.user_identity = cstr("alice");
    m.body.open_extended_mining_channel.nominal_hash_rate = 1.0f;
    memset(m.body.open_extended_mining_channel.max_target, 0xff, 32);
    m.body.open_extended_mining_channel.min_extranonce_size = 4;
    EXPECT(farm_to_pool(p, &m, &ev), OK);
    EXPECT_TRUE(ev.kind == SV2_SERVER_EVENT_KIND_CHANNEL_OPENED);
    p->channel_id = ev.channel_id;
    pool_to_farm(p, &m);
    EXPECT_TRUE(m.msg_type == SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL_SUCCESS);
    const sv2_open_extended_mining_channel_success *ok = &m.body.open_extended_mining_channel_success;
    EXPECT_TRUE(ok->extranonce_prefix.len == 4 && ok->extranonce_size == 4);
    if (ok->extranonce_prefix.len == 4) memcpy(p->extranonce, ok->extranonce_prefix.data, 4);
    memcpy(p->extranonce + 4, "\x01\x02\x03\x04", 4);
    drain_farm(p); /* the channel's job and tip */
}

static void mining_free(mining *p) {
    sv2_server_endpoint_free(p->pool);
    sv2_server_options_free(p->options);
    sv2_extranonce_allocator_free(p->prefixes);
    sv2_job_factory_free(p->jobs);
    sv2_session_free(p->farm);
    sv2_session_free(p->pool_in);
}

/* The header of a block on tip 0x42 with this coinbase and nonce; its hash to `hash`. */
static void header_of(const uint8_t *coinbase, size_t len, uint32_t nonce, uint8_t *header, uint8_t *hash) {
    uint8_t cb_txid[32];
    const uint32_t fields[4] = {0x20000000, NOW + 1, 0x207fffff, nonce};
    EXPECT(sv2_sha256d(coinbase, len, cb_txid), OK);
    for (int k = 0; k < 4; k++) header[k] = (uint8_t)(fields[0] >> (8 * k));
    memset(header + 4, 0x42, 32);
    root_of(cb_txid, header + 36);
    for (int i = 1; i < 4; i++)
        for (int k = 0; k < 4; k++) header[64 + 4 * i + k] = (uint8_t)(fields[i] >> (8 * k));
    EXPECT(sv2_sha256d(header, 80, hash), OK);
}

static void work_selection(void) {
    world w;
    mining p;
    sv2_jd_server_event se;
    sv2_jd_client_event ce;
    sv2_server_event ev;
    sv2_message custom, m;
    world_new(&w, true);
    connect_and_take_token(&w, true);
    uint32_t id = declare(&w);
    EXPECT(sv2_jd_server_verdict(w.pool, id, NULL, 0, CLOCK, entropy(), NULL, &se), OK);
    to_farm(&w, &ce);
    EXPECT_TRUE(ce.kind == SV2_JD_CLIENT_EVENT_KIND_JOB_DECLARED);
    mining_new(&p, &w);

    /* Another tip: refused with the code, the token left. */
    uint32_t job_id = 0;
    sv2_bytes user = {0};
    EXPECT(sv2_jd_client_custom_job(w.farm, p.channel_id, 9, &custom), OK);
    m = custom;
    m.body.set_custom_mining_job.prev_hash[0] ^= 1;
    EXPECT(farm_to_pool(&p, &m, &ev), OK);
    EXPECT_TRUE(ev.kind == SV2_SERVER_EVENT_KIND_CUSTOM_JOB_REFUSED && ev.channel_id == p.channel_id);
    EXPECT_TRUE(text_is(ev.error_code, "stale-chain-tip"));
    EXPECT(sv2_server_endpoint_last_custom_job(p.pool, &job_id, &user), SV2_RESULT_NOT_FOUND);
    pool_to_farm(&p, &m);
    EXPECT_TRUE(m.msg_type == SV2_MSG_SET_CUSTOM_MINING_JOB_ERROR);

    /* The declared job: accepted under a custom job id. */
    EXPECT(farm_to_pool(&p, &custom, &ev), OK);
    EXPECT_TRUE(ev.kind == SV2_SERVER_EVENT_KIND_CUSTOM_JOB_ACCEPTED && ev.channel_id == p.channel_id);
    EXPECT(sv2_server_endpoint_last_custom_job(p.pool, &job_id, &user), OK);
    EXPECT_TRUE(job_id >= 0x80000000u && text_is(user, "alice"));
    pool_to_farm(&p, &m);
    EXPECT_TRUE(m.msg_type == SV2_MSG_SET_CUSTOM_MINING_JOB_SUCCESS);
    EXPECT_TRUE(m.body.set_custom_mining_job_success.job_id == job_id &&
                m.body.set_custom_mining_job_success.request_id == 9);

    /* A nonce whose header meets the regtest nbits; its PushSolution gives the JDS's block. */
    uint8_t coinbase[512], header[80], hash[32], jds_block[1024];
    size_t coinbase_len = 0, jds_len = 0;
    uint32_t nonce = 0;
    bool meets = false;
    uint8_t block_target[32];
    memset(block_target, 0xff, 31);
    block_target[31] = 0x7f;
    for (; nonce < 64 && !meets; nonce++) {
        sv2_bytes cb;
        EXPECT(sv2_jd_client_push_solution(w.farm, id, p.extranonce, EXTRANONCE_LEN, nonce, NOW + 1, 0x20000000, NULL,
                                           &cb),
               OK);
        CHECK(cb.len <= sizeof coinbase);
        memcpy(coinbase, cb.data, cb.len);
        coinbase_len = cb.len;
        header_of(coinbase, coinbase_len, nonce, header, hash);
        EXPECT(sv2_hash_meets_target(hash, block_target, &meets), OK);
        if (!meets) {
            const uint8_t *data = NULL;
            size_t len = 0;
            EXPECT(sv2_jd_client_pending_output(w.farm, &data, &len), OK);
            EXPECT(sv2_jd_client_consume_output(w.farm, len), OK);
        }
    }
    CHECK(meets);
    nonce--;
    to_pool(&w, &se);
    EXPECT_TRUE(se.kind == SV2_JD_SERVER_EVENT_KIND_BLOCK_FOUND);
    CHECK(se.block.len <= sizeof jds_block);
    memcpy(jds_block, se.block.data, se.block.len);
    jds_len = se.block.len;

    /* The same solution as a share on the custom job: a block with no template, completed by
     * the pool endpoint from the declared transactions. */
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SUBMIT_SHARES_EXTENDED;
    m.body.submit_shares_extended.channel_id = p.channel_id;
    m.body.submit_shares_extended.sequence_number = 1;
    m.body.submit_shares_extended.job_id = job_id;
    m.body.submit_shares_extended.nonce = nonce;
    m.body.submit_shares_extended.ntime = NOW + 1;
    m.body.submit_shares_extended.version = 0x20000000;
    m.body.submit_shares_extended.extranonce = (sv2_bytes){p.extranonce + 4, 4};
    EXPECT(farm_to_pool(&p, &m, &ev), OK);
    EXPECT_TRUE(ev.kind == SV2_SERVER_EVENT_KIND_SHARE_ACCEPTED && ev.share.block);
    EXPECT_TRUE(memcmp(ev.share.hash, hash, 32) == 0);
    EXPECT(sv2_server_endpoint_solution(p.pool, &m), SV2_RESULT_NOT_FOUND);
    sv2_bytes block = {0};
    EXPECT(sv2_server_endpoint_custom_block(p.pool, &block), OK);
    EXPECT_TRUE(block.len == 80 + 1 + coinbase_len + NTX * TX_LEN);
    if (block.len == 80 + 1 + coinbase_len + NTX * TX_LEN) {
        const uint8_t *b = block.data;
        EXPECT_TRUE(memcmp(b, header, 80) == 0); /* merkle root over the coinbase and the three */
        EXPECT_TRUE(b[80] == 1 + NTX && memcmp(b + 81, coinbase, coinbase_len) == 0);
        for (int i = 0; i < NTX; i++) EXPECT_TRUE(memcmp(b + 81 + coinbase_len + i * TX_LEN, txs[i], TX_LEN) == 0);
        EXPECT_TRUE(block.len == jds_len && memcmp(b, jds_block, jds_len) == 0);
    }
    EXPECT(sv2_server_endpoint_last_custom_job(p.pool, &job_id, NULL), SV2_RESULT_NOT_FOUND);

    /* The token is spent; after that message there is no block either. */
    EXPECT(sv2_jd_client_custom_job(w.farm, p.channel_id, 10, &custom), OK);
    EXPECT(farm_to_pool(&p, &custom, &ev), OK);
    EXPECT_TRUE(ev.kind == SV2_SERVER_EVENT_KIND_CUSTOM_JOB_REFUSED &&
                text_is(ev.error_code, "invalid-mining-job-token"));
    EXPECT(sv2_server_endpoint_custom_block(p.pool, &block), SV2_RESULT_NOT_FOUND);
    EXPECT(sv2_server_options_set_work_selection(p.options, NULL, w.options), SV2_RESULT_NULL_PARAMETER);
    mining_free(&p);
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
    work_selection();
    bad_calls();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("test_jd: ok\n");
    return 0;
}
