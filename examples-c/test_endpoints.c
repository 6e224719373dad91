/* The Mining endpoints through the C ABI: a C "pool" runs an sv2_server_endpoint and a C
 * "miner" an sv2_client_endpoint against it, in memory. The pool answers into a plaintext
 * sv2_session; the miner queues plaintext frames in its endpoint's own output, which the pool
 * reads through an sv2_frame_decoder. SetupConnection, a standard and an extended channel, jobs
 * from a job factory, shares mined on the endpoint's work (accepted, acknowledged with the
 * caller's tag once the pool takes its successes, a block found), bad shares rejected with the
 * spec's codes on both sides, UpdateChannel, a refused open, CloseChannel, new tips, refused
 * setups, frames that do not decode, and NULL for every pointer. Run plain, under valgrind and
 * under AddressSanitizer + UndefinedBehaviorSanitizer by ctest. */
#include "test_util.h"

#define OK SV2_RESULT_OK
#define NOW 1700000000u
#define MAX_EVENTS 16

static uint8_t PATH[64];
static const uint8_t SCRIPT[1] = {0x51};
static uint8_t half[32]; /* half of all hashes meet it */
static uint8_t all[32];  /* every hash meets it */
static const uint8_t NONE[32];

typedef struct {
    sv2_job_factory *jobs;
    sv2_extranonce_allocator *prefixes;
    sv2_server_endpoint *pool;
    sv2_session *pool_session; /* plaintext: the pool's answers */
    sv2_session *miner_session;
    sv2_frame_decoder *pool_in; /* the miner's frames, as the pool reads them */
    sv2_client_endpoint *miner;
    uint64_t mono;
} world;

static sv2_client_config client_config(const char *vendor) {
    sv2_client_config c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.endpoint_host = cstr("pool.example");
    c.endpoint_port = 3333;
    c.vendor = cstr(vendor);
    c.firmware = cstr("test-1");
    return c;
}

static sv2_message new_template(uint64_t id, bool future) {
    sv2_message m;
    static const uint8_t height[2] = {0x01, 0x65};
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_NEW_TEMPLATE;
    m.body.new_template.template_id = id;
    m.body.new_template.future_template = future;
    m.body.new_template.version = 0x20000000;
    m.body.new_template.coinbase_tx_version = 2;
    m.body.new_template.coinbase_prefix = (sv2_bytes){height, 2};
    m.body.new_template.coinbase_tx_input_sequence = 0xffffffff;
    m.body.new_template.coinbase_tx_value_remaining = 5000000000u;
    m.body.new_template.merkle_path = (sv2_u256_list){PATH, 2};
    return m;
}

/* The template provider's NewTemplate (future) and SetNewPrevHash for it, with `block` as the
 * network target. */
static void new_tip(world *w, uint64_t template_id, const uint8_t *block) {
    sv2_message m = new_template(template_id, true);
    sv2_template_job j;
    EXPECT(sv2_job_factory_handle(w->jobs, &m, &j), OK);
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SET_NEW_PREV_HASH_TDP;
    m.body.set_new_prev_hash_tdp.template_id = template_id;
    memset(m.body.set_new_prev_hash_tdp.prev_hash, (int)template_id, 32);
    m.body.set_new_prev_hash_tdp.header_timestamp = NOW;
    m.body.set_new_prev_hash_tdp.nbits = 0x207fffff;
    memcpy(m.body.set_new_prev_hash_tdp.target, block, 32);
    EXPECT(sv2_job_factory_handle(w->jobs, &m, &j), OK);
    EXPECT_TRUE(j.new_tip);
}

static void world_new(world *w, const sv2_server_options *opts) {
    memset(w, 0, sizeof *w);
    w->mono = 100;
    EXPECT(sv2_job_factory_new(SCRIPT, 1, (const uint8_t *)"test", 4, 8, true, &w->jobs), OK);
    EXPECT(sv2_extranonce_allocator_new(NULL, 0, 2, 8, &w->prefixes), OK);
    EXPECT(sv2_server_endpoint_new(opts, w->prefixes, &w->pool), OK);
    EXPECT(sv2_session_new_plaintext(&w->pool_session), OK);
    EXPECT(sv2_session_new_plaintext(&w->miner_session), OK);
    EXPECT(sv2_frame_decoder_new(1 << 16, &w->pool_in), OK);
    sv2_client_config c = client_config("libsv2-test");
    EXPECT(sv2_client_endpoint_new(&c, &w->miner), OK);
}

static void world_free(world *w) {
    sv2_server_endpoint_free(w->pool);
    sv2_client_endpoint_free(w->miner);
    sv2_session_free(w->pool_session);
    sv2_session_free(w->miner_session);
    sv2_frame_decoder_free(w->pool_in);
    sv2_job_factory_free(w->jobs);
    sv2_extranonce_allocator_free(w->prefixes);
}

/* Everything the miner queued reaches the pool, one frame at a time; the pool's event for each
 * goes to `ev`. Returns how many frames there were. */
static size_t to_pool(world *w, sv2_server_event *ev, size_t cap) {
    const uint8_t *data = NULL;
    size_t len = 0, n = 0;
    sv2_frame f;
    EXPECT(sv2_client_endpoint_pending_output(w->miner, &data, &len), OK);
    EXPECT(sv2_frame_decoder_push(w->pool_in, data, len), OK);
    EXPECT(sv2_client_endpoint_consume_output(w->miner, len), OK);
    while (sv2_frame_decoder_next(w->pool_in, &f) == OK && n < cap) {
        EXPECT(sv2_server_endpoint_on_frame(w->pool, w->jobs, &f, w->mono, NOW, w->pool_session, &ev[n]), OK);
        n++;
    }
    return n;
}

/* A client event, with its text copied out of the endpoint (its views last only until the
 * next frame is handed to it). */
typedef struct {
    sv2_client_event_kind kind;
    uint32_t channel_id, request_id, sequence_number, job_id;
    uint16_t extranonce_size;
    sv2_option_u32 min_ntime;
    bool has_tag;
    uint64_t tag;
    char text[64];
    size_t text_len;
} got_event;

/* Everything the pool's session queued reaches the miner; its events go to `ev`, in order.
 * Returns how many events there were. */
static size_t to_miner(world *w, got_event *ev, size_t cap) {
    const uint8_t *data = NULL;
    size_t len = 0, n = 0, made = 0;
    sv2_frame f;
    sv2_client_event e;
    EXPECT(sv2_session_pending_output(w->pool_session, &data, &len), OK);
    EXPECT(sv2_session_receive(w->miner_session, data, len), OK);
    EXPECT(sv2_session_consume_output(w->pool_session, len), OK);
    while (sv2_session_next_frame(w->miner_session, &f) == OK) {
        EXPECT(sv2_client_endpoint_on_frame(w->miner, &f, &made), OK);
        for (size_t i = 0; i < made; i++) {
            EXPECT(sv2_client_endpoint_next_event(w->miner, &e), OK);
            if (n == cap) continue;
            got_event *g = &ev[n++];
            memset(g, 0, sizeof *g);
            g->kind = e.kind;
            g->channel_id = e.channel_id;
            g->request_id = e.request_id;
            g->sequence_number = e.sequence_number;
            g->job_id = e.job_id;
            g->extranonce_size = e.extranonce_size;
            g->min_ntime = e.min_ntime;
            g->has_tag = e.has_tag;
            g->tag = e.tag;
            g->text_len = e.text.len < sizeof g->text ? e.text.len : sizeof g->text;
            if (g->text_len) memcpy(g->text, e.text.data, g->text_len);
        }
        EXPECT(sv2_client_endpoint_next_event(w->miner, &e), SV2_RESULT_NOT_FOUND);
    }
    return n;
}

static bool text_is(sv2_bytes b, const char *s) { return bytes_eq(b, s, strlen(s)); }

static bool got_text(const got_event *e, const char *s) {
    return e->text_len == strlen(s) && memcmp(e->text, s, e->text_len) == 0;
}

/* The first event of `kind` in `ev`, or NULL. */
static const got_event *find(const got_event *ev, size_t n, sv2_client_event_kind kind) {
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == kind) return &ev[i];
    return NULL;
}

/* A nonce for `work` whose hash meets its target (or misses it). */
static uint32_t mine(const sv2_work *work, bool meets) {
    for (uint32_t nonce = 0;; nonce++) {
        uint8_t h[32];
        bool ok = false;
        EXPECT(sv2_work_hash(work, work->version, work->min_ntime, nonce, h), OK);
        EXPECT(sv2_hash_meets_target(h, work->target, &ok), OK);
        if (ok == meets) return nonce;
    }
}

/* SetupConnection both ways. */
static void set_up(world *w) {
    sv2_server_event se[MAX_EVENTS];
    got_event ce[MAX_EVENTS];
    EXPECT(sv2_client_endpoint_setup_connection(w->miner, NULL), OK);
    EXPECT_TRUE(to_pool(w, se, MAX_EVENTS) == 1 && se[0].kind == SV2_SERVER_EVENT_KIND_SET_UP);
    EXPECT_TRUE(to_miner(w, ce, MAX_EVENTS) == 1 && ce[0].kind == SV2_CLIENT_EVENT_KIND_CONNECTED);
}

/* Opens a channel from the miner; its id. */
static uint32_t open_channel(world *w, bool extended, const char *user) {
    sv2_server_event se[MAX_EVENTS];
    got_event ce[MAX_EVENTS];
    uint32_t request = 0;
    if (extended)
        EXPECT(sv2_client_endpoint_open_extended(w->miner, (const uint8_t *)user, strlen(user), 1.0f, half, 4, NULL,
                                                 &request),
               OK);
    else
        EXPECT(sv2_client_endpoint_open_standard(w->miner, (const uint8_t *)user, strlen(user), 1.0f, half, NULL,
                                                 &request),
               OK);
    EXPECT_TRUE(to_pool(w, se, MAX_EVENTS) == 1 && se[0].kind == SV2_SERVER_EVENT_KIND_CHANNEL_OPENED);
    size_t n = to_miner(w, ce, MAX_EVENTS);
    const got_event *opened = find(ce, n, SV2_CLIENT_EVENT_KIND_CHANNEL_OPENED);
    EXPECT_TRUE(opened && opened->request_id == request && opened->channel_id == se[0].channel_id);
    if (opened) EXPECT_TRUE(opened->extranonce_size == (extended ? 6 : 0) && opened->text_len == (extended ? 2 : 8));
    /* The tip's job, then its previous hash, in the same answer. */
    EXPECT_TRUE(find(ce, n, extended ? SV2_CLIENT_EVENT_KIND_EXTENDED_JOB : SV2_CLIENT_EVENT_KIND_STANDARD_JOB));
    EXPECT_TRUE(find(ce, n, SV2_CLIENT_EVENT_KIND_PREV_HASH));
    return se[0].channel_id;
}

static const uint8_t ROLLED[6] = {9, 8, 7, 6, 5, 4};

/* Submits a share on the channel's current work from the miner; the pool's event goes to
 * `se`. `meets`: whether its hash meets the target. Returns the sequence number. */
static uint32_t submit(world *w, uint32_t channel, bool extended, bool meets, uint64_t tag, uint32_t *nonce,
                       sv2_server_event *se) {
    sv2_work work;
    uint32_t seq = 0;
    const uint8_t *en = extended ? ROLLED : NULL;
    size_t en_len = extended ? sizeof ROLLED : 0;
    EXPECT(sv2_client_endpoint_work(w->miner, channel, en, en_len, &work), OK);
    if (*nonce == UINT32_MAX) *nonce = mine(&work, meets);
    EXPECT(sv2_client_endpoint_submit(w->miner, channel, work.job_id, *nonce, work.min_ntime, work.version, en, en_len,
                                      tag, NULL, &seq),
           OK);
    EXPECT_TRUE(to_pool(w, se, 1) == 1);
    return seq;
}

static void mining(bool extended) {
    world w;
    sv2_server_options *opts = NULL;
    sv2_server_event se[MAX_EVENTS];
    got_event ce[MAX_EVENTS];
    sv2_message m;
    size_t n = 0, sent = 0;
    bool tip_sent = true;
    EXPECT(sv2_server_options_new(&opts), OK);
    /* Easy shares: no difficulty floor above the miner's maximum target. */
    EXPECT(sv2_server_options_set_vardiff(opts, 10.0, 60, 1e6, 1e-12), OK);
    world_new(&w, opts);
    sv2_server_options_free(opts);
    new_tip(&w, 1, NONE);
    EXPECT(sv2_server_endpoint_sync(w.pool, w.jobs, w.pool_session, &tip_sent, &n), OK);
    EXPECT_TRUE(!tip_sent && n == 0);
    set_up(&w);
    uint32_t ch = open_channel(&w, extended, "alice.rig1");
    EXPECT(sv2_server_endpoint_channel_count(w.pool, &n), OK);
    EXPECT_TRUE(n == 1);
    sv2_bytes user;
    EXPECT(sv2_server_endpoint_channel_user(w.pool, ch, &user), OK);
    EXPECT_TRUE(text_is(user, "alice.rig1"));
    EXPECT(sv2_server_endpoint_channel_user(w.pool, ch + 100, &user), SV2_RESULT_INVALID_CHANNEL_ID);

    /* A good share: accepted (no block: nothing meets the network target); the miner hears of
     * it only once the pool takes its successes. */
    uint32_t good = UINT32_MAX;
    uint32_t seq = submit(&w, ch, extended, true, 42, &good, se);
    EXPECT_TRUE(se[0].kind == SV2_SERVER_EVENT_KIND_SHARE_ACCEPTED && se[0].channel_id == ch &&
                se[0].sequence_number == seq && !se[0].share.block && se[0].share.difficulty > 0);
    EXPECT(sv2_server_endpoint_solution(w.pool, &m), SV2_RESULT_NOT_FOUND);
    EXPECT_TRUE(to_miner(&w, ce, MAX_EVENTS) == 0);
    EXPECT(sv2_server_endpoint_take_successes(w.pool, w.pool_session, &sent), OK);
    EXPECT_TRUE(sent == 1);
    EXPECT_TRUE(to_miner(&w, ce, MAX_EVENTS) == 1 && ce[0].kind == SV2_CLIENT_EVENT_KIND_SHARE_ACCEPTED &&
                ce[0].has_tag && ce[0].tag == 42 && ce[0].sequence_number == seq);

    /* The same share again, and one whose hash misses the target: rejected with their codes,
     * which reach the miner with the shares' tags. */
    seq = submit(&w, ch, extended, true, 43, &good, se);
    EXPECT_TRUE(se[0].kind == SV2_SERVER_EVENT_KIND_SHARE_REJECTED && se[0].error == SV2_RESULT_DUPLICATE_SHARE &&
                text_is(se[0].error_code, "duplicate-share"));
    uint32_t bad = UINT32_MAX;
    uint32_t seq2 = submit(&w, ch, extended, false, 44, &bad, se);
    EXPECT_TRUE(se[0].kind == SV2_SERVER_EVENT_KIND_SHARE_REJECTED && se[0].error == SV2_RESULT_DIFFICULTY_TOO_LOW &&
                text_is(se[0].error_code, "difficulty-too-low"));
    EXPECT_TRUE(to_miner(&w, ce, MAX_EVENTS) == 2);
    EXPECT_TRUE(ce[0].kind == SV2_CLIENT_EVENT_KIND_SHARE_REJECTED && ce[0].tag == 43 && ce[0].sequence_number == seq &&
                got_text(&ce[0], "duplicate-share"));
    EXPECT_TRUE(ce[1].kind == SV2_CLIENT_EVENT_KIND_SHARE_REJECTED && ce[1].tag == 44 &&
                ce[1].sequence_number == seq2 && got_text(&ce[1], "difficulty-too-low"));
    EXPECT(sv2_server_endpoint_take_successes(w.pool, w.pool_session, &sent), OK);
    EXPECT_TRUE(sent == 0);

    /* A job on the current tip, then a new tip: the old share is stale. */
    m = new_template(2, false);
    sv2_template_job j;
    EXPECT(sv2_job_factory_handle(w.jobs, &m, &j), OK);
    EXPECT(sv2_server_endpoint_sync(w.pool, w.jobs, w.pool_session, &tip_sent, &n), OK);
    EXPECT_TRUE(!tip_sent && n == 0);
    n = to_miner(&w, ce, MAX_EVENTS);
    const got_event *job =
        find(ce, n, extended ? SV2_CLIENT_EVENT_KIND_EXTENDED_JOB : SV2_CLIENT_EVENT_KIND_STANDARD_JOB);
    EXPECT_TRUE(job && job->channel_id == ch && job->job_id == j.job_id && job->min_ntime.present);
    sv2_work old;
    EXPECT(sv2_client_endpoint_work(w.miner, ch, extended ? ROLLED : NULL, extended ? 6 : 0, &old), OK);
    new_tip(&w, 3, all);
    EXPECT(sv2_server_endpoint_sync(w.pool, w.jobs, w.pool_session, &tip_sent, &n), OK);
    EXPECT_TRUE(tip_sent);
    n = to_miner(&w, ce, MAX_EVENTS);
    EXPECT_TRUE(find(ce, n, SV2_CLIENT_EVENT_KIND_PREV_HASH) != NULL);
    EXPECT(sv2_client_endpoint_submit(w.miner, ch, old.job_id, good, old.min_ntime, old.version,
                                      extended ? ROLLED : NULL, extended ? 6 : 0, 45, NULL, &seq),
           OK);
    EXPECT_TRUE(to_pool(&w, se, 1) == 1 && se[0].error == SV2_RESULT_STALE_SHARE);
    EXPECT_TRUE(to_miner(&w, ce, MAX_EVENTS) == 1 && got_text(&ce[0], "stale-share") && ce[0].tag == 45);
    /* A good share on the new tip is a block (its network target lets every hash through): its
     * SubmitSolution is for the template provider. */
    good = UINT32_MAX;
    submit(&w, ch, extended, true, 46, &good, se);
    EXPECT_TRUE(se[0].kind == SV2_SERVER_EVENT_KIND_SHARE_ACCEPTED && se[0].share.block);
    EXPECT(sv2_server_endpoint_solution(w.pool, &m), OK);
    EXPECT_TRUE(m.msg_type == SV2_MSG_SUBMIT_SOLUTION && m.body.submit_solution.header_nonce == good &&
                m.body.submit_solution.template_id == 3);

    /* UpdateChannel and vardiff answer into the session; a bad hashrate is refused. */
    EXPECT(sv2_client_endpoint_update_channel(w.miner, ch, 1e3f, half, NULL), OK);
    EXPECT(sv2_client_endpoint_update_channel(w.miner, ch, -1.0f, half, NULL), OK);
    EXPECT_TRUE(to_pool(&w, se, MAX_EVENTS) == 2 && se[1].kind == SV2_SERVER_EVENT_KIND_HANDLED);
    n = to_miner(&w, ce, MAX_EVENTS);
    const got_event *refused = find(ce, n, SV2_CLIENT_EVENT_KIND_UPDATE_REFUSED);
    EXPECT_TRUE(refused && refused->channel_id == ch && got_text(refused, "invalid-nominal-hashrate"));
    EXPECT(sv2_server_endpoint_retarget(w.pool, w.mono + 3600, w.pool_session, &sent), OK);
    n = to_miner(&w, ce, MAX_EVENTS);
    EXPECT_TRUE(n == sent);
    for (size_t i = 0; i < n; i++) EXPECT_TRUE(ce[i].kind == SV2_CLIENT_EVENT_KIND_TARGET_CHANGED);
    EXPECT(sv2_client_endpoint_update_channel(w.miner, 99, 1.0f, half, NULL), SV2_RESULT_INVALID_CHANNEL_ID);

    /* An open the pool refuses (an identity of spaces), by request id on both sides. */
    uint32_t request = 0;
    EXPECT(sv2_client_endpoint_open_standard(w.miner, (const uint8_t *)"  ", 2, 1.0f, half, NULL, &request), OK);
    EXPECT_TRUE(to_pool(&w, se, 1) == 1 && se[0].kind == SV2_SERVER_EVENT_KIND_OPEN_REFUSED &&
                se[0].request_id == request && text_is(se[0].error_code, "invalid-user-identity"));
    EXPECT_TRUE(to_miner(&w, ce, MAX_EVENTS) == 1 && ce[0].kind == SV2_CLIENT_EVENT_KIND_CHANNEL_REFUSED &&
                ce[0].request_id == request && got_text(&ce[0], "invalid-user-identity"));

    /* CloseChannel: the channel is gone on both sides; a share for it is refused by the miner. */
    EXPECT(sv2_client_endpoint_close_channel(w.miner, ch, (const uint8_t *)"bye", 3, NULL), OK);
    EXPECT_TRUE(to_pool(&w, se, 1) == 1 && se[0].kind == SV2_SERVER_EVENT_KIND_CHANNELS_CLOSED && se[0].count == 1);
    EXPECT(sv2_server_endpoint_channel_count(w.pool, &n), OK);
    EXPECT_TRUE(n == 0);
    EXPECT(sv2_client_endpoint_submit(w.miner, ch, 1, 1, 1, 1, NULL, 0, 0, NULL, &seq), SV2_RESULT_INVALID_CHANNEL_ID);
    world_free(&w);
}

/* Connections the endpoints end: what each side gets, and nothing else changes. */
static void refusals(void) {
    world w;
    sv2_server_options *opts = NULL;
    sv2_server_event ev;
    sv2_message m;
    size_t events = 0;
    uint32_t request = 0;
    EXPECT(sv2_server_options_new(&opts), OK);
    EXPECT(sv2_server_options_set_vardiff(opts, 0.0, 60, 1e6, 1.0), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_server_options_set_vardiff(opts, 10.0, 0, 1e6, 1.0), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_server_options_set_vardiff(opts, 10.0, 60, -1.0, 1.0), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_server_options_set_extended_channels_only(opts, 7), OK);
    EXPECT(sv2_server_options_set_version_rolling(opts, 0), OK);
    EXPECT(sv2_server_options_set_max_channels(opts, 1), OK);
    EXPECT(sv2_server_options_set_share_limits(opts, 1, 10), OK);
    world_new(&w, opts);
    sv2_server_options_free(opts);

    /* Before SetupConnection: the miner cannot open; the pool closes on any message. */
    EXPECT(sv2_client_endpoint_open_extended(w.miner, (const uint8_t *)"a", 1, 1.0f, half, 0, NULL, &request),
           SV2_RESULT_NOT_SET_UP);
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL;
    EXPECT(sv2_server_endpoint_on_message(w.pool, w.jobs, &m, 1, NOW, NULL, &ev), SV2_RESULT_NOT_SET_UP);

    /* Extended channels only, fixed version: the flags say so; a standard open is refused by
     * the miner itself; one channel at most. */
    set_up(&w);
    EXPECT(sv2_client_endpoint_open_standard(w.miner, (const uint8_t *)"a", 1, 1.0f, half, NULL, &request),
           SV2_RESULT_EXTENDED_CHANNELS_REQUIRED);
    new_tip(&w, 1, NONE);
    open_channel(&w, true, "bob");
    EXPECT(sv2_client_endpoint_open_extended(w.miner, (const uint8_t *)"bob", 3, 1.0f, half, 0, NULL, &request), OK);
    sv2_server_event se[2];
    EXPECT_TRUE(to_pool(&w, se, 2) == 1 && text_is(se[0].error_code, "too-many-channels"));
    /* A second SetupConnection ends the connection. */
    EXPECT(sv2_client_endpoint_setup_connection(w.miner, NULL), OK);
    const uint8_t *data = NULL;
    size_t len = 0;
    sv2_frame f;
    EXPECT(sv2_client_endpoint_pending_output(w.miner, &data, &len), OK);
    EXPECT(sv2_frame_decoder_push(w.pool_in, data, len), OK);
    EXPECT(sv2_client_endpoint_consume_output(w.miner, len + 100), OK);
    EXPECT(sv2_client_endpoint_pending_output(w.miner, &data, &len), OK);
    EXPECT_TRUE(len == 0);
    EXPECT(sv2_frame_decoder_next(w.pool_in, &f), OK);
    EXPECT(sv2_server_endpoint_on_frame(w.pool, w.jobs, &f, 1, NOW, NULL, &ev), SV2_RESULT_UNEXPECTED_MESSAGE);
    /* A frame whose payload does not decode changes nothing. */
    f.msg_type = SV2_MSG_SUBMIT_SHARES_STANDARD;
    f.payload.len = 3;
    EXPECT(sv2_server_endpoint_on_frame(w.pool, w.jobs, &f, 1, NOW, NULL, &ev), SV2_RESULT_UNEXPECTED_END);
    EXPECT(sv2_client_endpoint_on_frame(w.miner, &f, &events), SV2_RESULT_UNEXPECTED_END);
    /* A message only clients send, from the server. */
    EXPECT(sv2_client_endpoint_on_message(w.miner, &m, &events), SV2_RESULT_UNEXPECTED_MESSAGE);
    world_free(&w);

    /* A SetupConnection the server refuses: its Error is queued for the miner, who is refused. */
    EXPECT(sv2_server_options_new(&opts), OK);
    world_new(&w, opts);
    sv2_server_options_free(opts);
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION;
    m.body.setup_connection.protocol = 1;
    m.body.setup_connection.min_version = 2;
    m.body.setup_connection.max_version = 2;
    EXPECT(sv2_server_endpoint_on_message(w.pool, w.jobs, &m, 1, NOW, NULL, &ev), SV2_RESULT_SETUP_REFUSED);
    EXPECT(sv2_server_endpoint_pending_output(w.pool, &data, &len), OK);
    EXPECT(sv2_frame_decoder_push(w.pool_in, data, len), OK);
    EXPECT(sv2_server_endpoint_consume_output(w.pool, len), OK);
    EXPECT(sv2_frame_decoder_next(w.pool_in, &f), OK);
    EXPECT_TRUE(f.msg_type == SV2_MSG_SETUP_CONNECTION_ERROR);
    EXPECT(sv2_client_endpoint_on_frame(w.miner, &f, &events), SV2_RESULT_UNEXPECTED_MESSAGE);
    EXPECT(sv2_client_endpoint_setup_connection(w.miner, NULL), OK);
    EXPECT(sv2_client_endpoint_on_frame(w.miner, &f, &events), SV2_RESULT_SETUP_REFUSED);
    EXPECT(sv2_client_endpoint_next_event(w.miner, &(sv2_client_event){0}), SV2_RESULT_NOT_FOUND);
    world_free(&w);

    /* Configs the client endpoint refuses. */
    sv2_client_endpoint *c = NULL;
    sv2_client_config cfg = client_config("v");
    cfg.struct_size = 4;
    EXPECT(sv2_client_endpoint_new(&cfg, &c), SV2_RESULT_INVALID_ARGUMENT);
    cfg = client_config("\xff");
    EXPECT(sv2_client_endpoint_new(&cfg, &c), SV2_RESULT_INVALID_ARGUMENT);
    cfg = client_config("v");
    cfg.vendor.len = 256;
    EXPECT(sv2_client_endpoint_new(&cfg, &c), SV2_RESULT_TOO_LONG);
    EXPECT_TRUE(c == NULL);
}

/* NULL for every pointer of the endpoint functions. */
static void nulls(void) {
    world w;
    sv2_server_options *opts = NULL;
    sv2_server_event se;
    sv2_client_event ce;
    sv2_message m;
    sv2_frame f;
    sv2_work work;
    sv2_bytes b;
    const uint8_t *data;
    size_t n;
    uint32_t id;
    bool flag;
    const sv2_result NUL = SV2_RESULT_NULL_PARAMETER;
    memset(&m, 0, sizeof m);
    memset(&f, 0, sizeof f);
    EXPECT(sv2_server_options_new(NULL), NUL);
    EXPECT(sv2_server_options_set_version_rolling(NULL, 1), NUL);
    EXPECT(sv2_server_options_set_extended_channels_only(NULL, 1), NUL);
    EXPECT(sv2_server_options_set_max_channels(NULL, 1), NUL);
    EXPECT(sv2_server_options_set_vardiff(NULL, 1, 1, 1, 1), NUL);
    EXPECT(sv2_server_options_set_share_limits(NULL, 1, 1), NUL);
    sv2_server_options_free(NULL);
    EXPECT(sv2_server_options_new(&opts), OK);
    world_new(&w, opts);
    EXPECT(sv2_server_endpoint_new(NULL, w.prefixes, &w.pool), NUL);
    EXPECT(sv2_server_endpoint_new(opts, NULL, &w.pool), NUL);
    EXPECT(sv2_server_endpoint_new(opts, w.prefixes, NULL), NUL);
    sv2_server_options_free(opts);
    EXPECT(sv2_server_endpoint_on_message(NULL, w.jobs, &m, 0, 0, NULL, &se), NUL);
    EXPECT(sv2_server_endpoint_on_message(w.pool, NULL, &m, 0, 0, NULL, &se), NUL);
    EXPECT(sv2_server_endpoint_on_message(w.pool, w.jobs, NULL, 0, 0, NULL, &se), NUL);
    EXPECT(sv2_server_endpoint_on_message(w.pool, w.jobs, &m, 0, 0, NULL, NULL), NUL);
    EXPECT(sv2_server_endpoint_on_frame(w.pool, w.jobs, NULL, 0, 0, NULL, &se), NUL);
    EXPECT(sv2_server_endpoint_sync(NULL, w.jobs, NULL, &flag, &n), NUL);
    EXPECT(sv2_server_endpoint_sync(w.pool, NULL, NULL, &flag, &n), NUL);
    EXPECT(sv2_server_endpoint_sync(w.pool, w.jobs, NULL, NULL, &n), NUL);
    EXPECT(sv2_server_endpoint_sync(w.pool, w.jobs, NULL, &flag, NULL), NUL);
    EXPECT(sv2_server_endpoint_retarget(NULL, 0, NULL, &n), NUL);
    EXPECT(sv2_server_endpoint_retarget(w.pool, 0, NULL, NULL), NUL);
    EXPECT(sv2_server_endpoint_take_successes(NULL, NULL, &n), NUL);
    EXPECT(sv2_server_endpoint_take_successes(w.pool, NULL, NULL), NUL);
    EXPECT(sv2_server_endpoint_solution(NULL, &m), NUL);
    EXPECT(sv2_server_endpoint_solution(w.pool, NULL), NUL);
    EXPECT(sv2_server_endpoint_channel_count(NULL, &n), NUL);
    EXPECT(sv2_server_endpoint_channel_count(w.pool, NULL), NUL);
    EXPECT(sv2_server_endpoint_channel_user(NULL, 1, &b), NUL);
    EXPECT(sv2_server_endpoint_channel_user(w.pool, 1, NULL), NUL);
    EXPECT(sv2_server_endpoint_pending_output(NULL, &data, &n), NUL);
    EXPECT(sv2_server_endpoint_pending_output(w.pool, NULL, &n), NUL);
    EXPECT(sv2_server_endpoint_pending_output(w.pool, &data, NULL), NUL);
    EXPECT(sv2_server_endpoint_consume_output(NULL, 0), NUL);
    sv2_server_endpoint_free(NULL);

    EXPECT(sv2_client_endpoint_new(NULL, &w.miner), NUL);
    sv2_client_config cfg = client_config("v");
    EXPECT(sv2_client_endpoint_new(&cfg, NULL), NUL);
    EXPECT(sv2_client_endpoint_setup_connection(NULL, NULL), NUL);
    EXPECT(sv2_client_endpoint_open_standard(NULL, NULL, 0, 1, half, NULL, &id), NUL);
    EXPECT(sv2_client_endpoint_open_standard(w.miner, NULL, 1, 1, half, NULL, &id), NUL);
    EXPECT(sv2_client_endpoint_open_standard(w.miner, NULL, 0, 1, NULL, NULL, &id), NUL);
    EXPECT(sv2_client_endpoint_open_standard(w.miner, NULL, 0, 1, half, NULL, NULL), NUL);
    EXPECT(sv2_client_endpoint_open_extended(NULL, NULL, 0, 1, half, 0, NULL, &id), NUL);
    EXPECT(sv2_client_endpoint_open_extended(w.miner, NULL, 0, 1, NULL, 0, NULL, &id), NUL);
    EXPECT(sv2_client_endpoint_open_extended(w.miner, NULL, 0, 1, half, 0, NULL, NULL), NUL);
    EXPECT(sv2_client_endpoint_request_extensions(NULL, NULL, 0, NULL), NUL);
    EXPECT(sv2_client_endpoint_request_extensions(w.miner, NULL, 1, NULL), NUL);
    EXPECT(sv2_client_endpoint_update_channel(NULL, 1, 1, half, NULL), NUL);
    EXPECT(sv2_client_endpoint_update_channel(w.miner, 1, 1, NULL, NULL), NUL);
    EXPECT(sv2_client_endpoint_close_channel(NULL, 1, NULL, 0, NULL), NUL);
    EXPECT(sv2_client_endpoint_close_channel(w.miner, 1, NULL, 1, NULL), NUL);
    EXPECT(sv2_client_endpoint_submit(NULL, 1, 1, 1, 1, 1, NULL, 0, 0, NULL, &id), NUL);
    EXPECT(sv2_client_endpoint_submit(w.miner, 1, 1, 1, 1, 1, NULL, 1, 0, NULL, &id), NUL);
    EXPECT(sv2_client_endpoint_submit(w.miner, 1, 1, 1, 1, 1, NULL, 0, 0, NULL, NULL), NUL);
    EXPECT(sv2_client_endpoint_on_message(NULL, &m, &n), NUL);
    EXPECT(sv2_client_endpoint_on_message(w.miner, NULL, &n), NUL);
    EXPECT(sv2_client_endpoint_on_message(w.miner, &m, NULL), NUL);
    EXPECT(sv2_client_endpoint_on_frame(w.miner, NULL, &n), NUL);
    EXPECT(sv2_client_endpoint_next_event(NULL, &ce), NUL);
    EXPECT(sv2_client_endpoint_next_event(w.miner, NULL), NUL);
    EXPECT(sv2_client_endpoint_work(NULL, 1, NULL, 0, &work), NUL);
    EXPECT(sv2_client_endpoint_work(w.miner, 1, NULL, 0, NULL), NUL);
    EXPECT(sv2_client_endpoint_work(w.miner, 1, NULL, 0, &work), SV2_RESULT_INVALID_CHANNEL_ID);
    EXPECT(sv2_client_endpoint_pending_output(NULL, &data, &n), NUL);
    EXPECT(sv2_client_endpoint_pending_output(w.miner, NULL, &n), NUL);
    EXPECT(sv2_client_endpoint_pending_output(w.miner, &data, NULL), NUL);
    EXPECT(sv2_client_endpoint_consume_output(NULL, 0), NUL);
    sv2_client_endpoint_free(NULL);
    world_free(&w);
}

int main(void) {
    memset(PATH, 0x31, 32);
    memset(PATH + 32, 0x32, 32);
    memset(half, 0xff, 32);
    half[31] = 0x7f;
    memset(all, 0xff, 32);
    mining(false);
    mining(true);
    refusals();
    nulls();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("endpoints: every check passed\n");
    return 0;
}
