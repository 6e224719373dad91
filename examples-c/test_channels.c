/* The pool side of channels through the C ABI, against the C mining client. A template
 * provider, a pool and a miner talk over plaintext sessions in memory: templates become jobs,
 * jobs reach the client channel, its shares are accepted, every kind of bad share is rejected
 * with the spec's error code, a share that meets the network target becomes a SubmitSolution
 * for the template provider, and targets follow UpdateChannel and vardiff. Group channels,
 * extranonce allocation, and NULL and garbage for every function of that part of the ABI.
 * Run plain, under valgrind and under AddressSanitizer + UndefinedBehaviorSanitizer by ctest. */
#include "test_util.h"

#define OK SV2_RESULT_OK
#define NOW 1700000000u

static uint8_t PATH[64]; /* two merkle path entries: 0x31..., 0x32... */
static const uint8_t ROLLED[6] = {1, 2, 3, 4, 5, 6};
static uint8_t share_target[32]; /* half of all hashes meet it */
static const uint8_t HARD[32];   /* nothing meets it */
static uint8_t easy[32];         /* everything meets it */

/* Three parties, each pair joined by two plaintext sessions. */
typedef struct {
    sv2_session *tp, *pool_tdp, *pool_mining, *miner;
} net;

static net net_new(void) {
    net n;
    EXPECT(sv2_session_new_plaintext(&n.tp), OK);
    EXPECT(sv2_session_new_plaintext(&n.pool_tdp), OK);
    EXPECT(sv2_session_new_plaintext(&n.pool_mining), OK);
    EXPECT(sv2_session_new_plaintext(&n.miner), OK);
    return n;
}

static void net_free(net *n) {
    sv2_session_free(n->tp);
    sv2_session_free(n->pool_tdp);
    sv2_session_free(n->pool_mining);
    sv2_session_free(n->miner);
}

/* Sends `m` from one session to the other and decodes it there into `got`, whose views point
 * into `to` until the next call on it. */
static void wire(sv2_session *from, sv2_session *to, const sv2_message *m, sv2_message *got) {
    const uint8_t *data = NULL;
    size_t len = 0;
    EXPECT(sv2_session_send(from, m, NULL, 0), OK);
    EXPECT(sv2_session_pending_output(from, &data, &len), OK);
    EXPECT(sv2_session_receive(to, data, len), OK);
    EXPECT(sv2_session_consume_output(from, len), OK);
    EXPECT(sv2_session_next_message(to, got, NULL), OK);
    EXPECT_TRUE(got->msg_type == m->msg_type);
}

static sv2_message new_template(uint64_t id, bool future) {
    sv2_message m;
    memset(&m, 0, sizeof m);
    static const uint8_t height[2] = {0x01, 0x65};
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

static sv2_message prev_hash_tdp(uint64_t template_id, const uint8_t *block_target) {
    sv2_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SET_NEW_PREV_HASH_TDP;
    m.body.set_new_prev_hash_tdp.template_id = template_id;
    memset(m.body.set_new_prev_hash_tdp.prev_hash, (int)template_id, 32);
    m.body.set_new_prev_hash_tdp.header_timestamp = NOW;
    m.body.set_new_prev_hash_tdp.nbits = 0x207fffff;
    memcpy(m.body.set_new_prev_hash_tdp.target, block_target, 32);
    return m;
}

/* The template provider sends `m`; the pool's factory makes the job. */
static sv2_template_job from_tp(net *n, sv2_job_factory *f, const sv2_message *m) {
    sv2_message got;
    sv2_template_job j;
    memset(&j, 0, sizeof j);
    wire(n->tp, n->pool_tdp, m, &got);
    EXPECT(sv2_job_factory_handle(f, &got, &j), OK);
    return j;
}

/* The pool sends a message a channel made; the miner's client channel takes it. */
static void to_miner(net *n, sv2_client_channel *c, const sv2_message *m) {
    sv2_message got;
    wire(n->pool_mining, n->miner, m, &got);
    EXPECT(sv2_client_channel_handle(c, &got), OK);
}

static bool str_is(sv2_bytes b, const char *s) { return bytes_eq(b, s, strlen(s)); }

/* The error code text of a result, never NULL here. */
static const char *code(sv2_result r) {
    const char *c = sv2_result_error_code((int32_t)r);
    EXPECT_TRUE(c != NULL);
    return c ? c : "";
}

/* A share on the client's current work whose hash meets (or misses) the share target. */
static sv2_message make_share(sv2_client_channel *c, uint32_t channel_id, bool extended, uint32_t seq,
                              uint32_t version_roll, bool meets, sv2_work *w) {
    sv2_message m;
    memset(&m, 0, sizeof m);
    EXPECT(sv2_client_channel_work(c, ROLLED, extended ? sizeof ROLLED : 0, w), OK);
    uint32_t version = w->version | version_roll, nonce = 0;
    for (;; nonce++) {
        uint8_t h[32];
        bool ok = false;
        EXPECT(sv2_work_hash(w, version, w->min_ntime, nonce, h), OK);
        EXPECT(sv2_hash_meets_target(h, share_target, &ok), OK);
        if (ok == meets) break;
    }
    if (extended) {
        m.msg_type = SV2_MSG_SUBMIT_SHARES_EXTENDED;
        m.body.submit_shares_extended = (sv2_submit_shares_extended){
            channel_id, seq, w->job_id, nonce, w->min_ntime, version, {ROLLED, sizeof ROLLED}};
    } else {
        m.msg_type = SV2_MSG_SUBMIT_SHARES_STANDARD;
        m.body.submit_shares_standard =
            (sv2_submit_shares_standard){channel_id, seq, w->job_id, nonce, w->min_ntime, version};
    }
    return m;
}

/* The miner submits `share`; the pool validates it at NOW. A rejection is answered on the wire
 * with the spec's code, which the miner checks. */
static sv2_result submit(net *n, sv2_server_channel *ch, const sv2_message *share, sv2_accepted_share *acc) {
    sv2_message got, reply, back;
    wire(n->miner, n->pool_mining, share, &got);
    sv2_result r = sv2_server_channel_validate(ch, &got, NOW, acc);
    if (r != OK) {
        EXPECT(sv2_channel_error_reply(&got, (int32_t)r, &reply), OK);
        wire(n->pool_mining, n->miner, &reply, &back);
        EXPECT_TRUE(back.msg_type == SV2_MSG_SUBMIT_SHARES_ERROR);
        EXPECT_TRUE(str_is(back.body.submit_shares_error.error_code, code(r)));
    }
    return r;
}

/* The merkle root of a coinbase and the path above it. */
static void merkle_root(const uint8_t *coinbase, size_t len, uint8_t out[32]) {
    uint8_t pair[64];
    EXPECT(sv2_sha256d(coinbase, len, out), OK);
    for (int i = 0; i < 2; i++) {
        memcpy(pair, out, 32);
        memcpy(pair + 32, PATH + 32 * i, 32);
        EXPECT(sv2_sha256d(pair, 64, out), OK);
    }
}

static const uint8_t SCRIPT[1] = {0x51}; /* OP_TRUE */

/* One channel of each kind, from OpenStandard/ExtendedMiningChannel to a found block. */
static void channel_against_client(bool extended) {
    net n = net_new();
    sv2_job_factory *f = NULL;
    sv2_extranonce_allocator *alloc = NULL;
    sv2_server_channel *ch = NULL;
    sv2_client_channel *client = NULL;
    sv2_message m, got, out;
    sv2_accepted_share acc;
    sv2_work w;
    const uint32_t id = extended ? 3 : 2;
    EXPECT(sv2_job_factory_new(SCRIPT, 1, (const uint8_t *)"test", 4, 8, true, &f), OK);
    EXPECT(sv2_extranonce_allocator_new(NULL, 0, 2, 8, &alloc), OK);

    /* The pool asks the template provider for room for its payout output. */
    EXPECT(sv2_job_factory_coinbase_output_constraints(f, &m), OK);
    wire(n.pool_tdp, n.tp, &m, &got);
    EXPECT_TRUE(got.body.coinbase_output_constraints.coinbase_output_max_additional_size == 10);

    /* The miner opens a channel; the pool answers from the channel it makes. */
    memset(&m, 0, sizeof m);
    m.msg_type = extended ? SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL : SV2_MSG_OPEN_STANDARD_MINING_CHANNEL;
    if (extended) {
        m.body.open_extended_mining_channel.request_id = 7;
        m.body.open_extended_mining_channel.user_identity = cstr("alice.1");
        m.body.open_extended_mining_channel.nominal_hash_rate = 0;
        memset(m.body.open_extended_mining_channel.max_target, 0xff, 32);
        m.body.open_extended_mining_channel.min_extranonce_size = 4;
    } else {
        m.body.open_standard_mining_channel.request_id = 7;
        m.body.open_standard_mining_channel.user_identity = cstr("alice.1");
        memset(m.body.open_standard_mining_channel.max_target, 0xff, 32);
    }
    wire(n.miner, n.pool_mining, &m, &got);
    sv2_server_channel_params p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    uint8_t prefix[SV2_EXTRANONCE_MAX_LEN];
    size_t prefix_len = 0, rollable = 0;
    EXPECT(sv2_extranonce_allocator_rollable(alloc, &rollable), OK);
    EXPECT_TRUE(rollable == 6);
    p.channel_id = id;
    p.extended = extended;
    if (extended) {
        EXPECT_TRUE(got.body.open_extended_mining_channel.min_extranonce_size <= rollable);
        EXPECT(sv2_extranonce_allocator_next_extended(alloc, prefix, sizeof prefix, &prefix_len), OK);
        p.extranonce_size = (uint16_t)rollable;
        p.user_identity = got.body.open_extended_mining_channel.user_identity;
        memcpy(p.max_target, got.body.open_extended_mining_channel.max_target, 32);
    } else {
        EXPECT(sv2_extranonce_allocator_next_standard(alloc, prefix, sizeof prefix, &prefix_len), OK);
        p.user_identity = got.body.open_standard_mining_channel.user_identity;
        memcpy(p.max_target, got.body.open_standard_mining_channel.max_target, 32);
    }
    p.extranonce_prefix = (sv2_bytes){prefix, prefix_len};
    memcpy(p.target, share_target, 32);
    p.shares_per_minute = 6;
    p.vardiff_window_secs = 60;
    EXPECT(sv2_server_channel_new(&p, 0, &ch), OK);
    EXPECT(sv2_server_channel_open_success(ch, 7, 1, &m), OK);
    wire(n.pool_mining, n.miner, &m, &got);
    if (extended) {
        sv2_open_extended_mining_channel_success s = got.body.open_extended_mining_channel_success;
        EXPECT_TRUE(s.request_id == 7 && s.channel_id == id && s.extranonce_size == 6 && s.group_channel_id == 1);
        EXPECT(sv2_client_channel_new_extended(s.channel_id, s.target, s.extranonce_prefix.data,
                                               s.extranonce_prefix.len, s.extranonce_size, &client),
               OK);
    } else {
        sv2_open_standard_mining_channel_success s = got.body.open_standard_mining_channel_success;
        EXPECT_TRUE(s.request_id == 7 && s.channel_id == id && s.extranonce_prefix.len == 8);
        EXPECT(sv2_client_channel_new_standard(s.channel_id, s.target, s.extranonce_prefix.data,
                                               s.extranonce_prefix.len, true, &client),
               OK);
    }

    /* A future template and its tip: the job, then the SetNewPrevHash, reach the miner. */
    m = new_template(1, true);
    sv2_template_job job = from_tp(&n, f, &m);
    EXPECT_TRUE(!job.min_ntime.present && !job.new_tip);
    EXPECT(sv2_server_channel_add_job(ch, f, job.job_id, job.min_ntime, &out), OK);
    EXPECT_TRUE(out.msg_type == (extended ? SV2_MSG_NEW_EXTENDED_MINING_JOB : SV2_MSG_NEW_MINING_JOB));
    to_miner(&n, client, &out);
    EXPECT(sv2_client_channel_work(client, ROLLED, extended ? 6 : 0, &w), SV2_RESULT_NEED_MORE_DATA);
    m = prev_hash_tdp(1, HARD);
    sv2_template_job tip = from_tp(&n, f, &m);
    EXPECT_TRUE(tip.new_tip && tip.job_id == job.job_id && tip.min_ntime.present && tip.min_ntime.value == NOW);
    EXPECT(sv2_server_channel_activate(ch, f, &out), OK);
    EXPECT_TRUE(out.msg_type == SV2_MSG_SET_NEW_PREV_HASH && out.body.set_new_prev_hash.channel_id == id);
    to_miner(&n, client, &out);

    /* Valid shares: at the target, and with a BIP323 version bit rolled. */
    sv2_message good = make_share(client, id, extended, 1, 0, true, &w);
    EXPECT(submit(&n, ch, &good, &acc), OK);
    EXPECT_TRUE(!acc.block && memcmp(acc.target, share_target, 32) == 0 && acc.difficulty > 0);
    sv2_message rolled = make_share(client, id, extended, 2, 1u << 5, true, &w);
    EXPECT(submit(&n, ch, &rolled, &acc), OK);
    EXPECT(sv2_server_channel_solution(ch, &m), SV2_RESULT_NOT_FOUND);
    EXPECT(sv2_server_channel_take_success(ch, &out), OK);
    wire(n.pool_mining, n.miner, &out, &got);
    EXPECT_TRUE(got.body.submit_shares_success.new_submits_accepted_count == 2 &&
                got.body.submit_shares_success.last_sequence_number == 2);
    EXPECT(sv2_server_channel_take_success(ch, &out), SV2_RESULT_NOT_FOUND);

    /* Every kind of bad share. */
    EXPECT(submit(&n, ch, &good, &acc), SV2_RESULT_DUPLICATE_SHARE);
    EXPECT_TRUE(strcmp(code(SV2_RESULT_DUPLICATE_SHARE), "duplicate-share") == 0);
    sv2_message s = make_share(client, id, extended, 3, 0, false, &w);
    EXPECT(submit(&n, ch, &s, &acc), SV2_RESULT_DIFFICULTY_TOO_LOW);
    EXPECT_TRUE(strcmp(code(SV2_RESULT_DIFFICULTY_TOO_LOW), "difficulty-too-low") == 0);
    s = make_share(client, id, extended, 4, 1, true, &w);
    EXPECT(submit(&n, ch, &s, &acc), SV2_RESULT_INVALID_NON_ROLLABLE_VERSION_BIT);
    EXPECT_TRUE(strcmp(code(SV2_RESULT_INVALID_NON_ROLLABLE_VERSION_BIT), "invalid-non-rollable-version-bit") == 0);
    /* The fields every share has sit at the same offsets in both structs. */
    s = make_share(client, id, extended, 5, 0, true, &w);
    s.body.submit_shares_standard.job_id = 9999;
    EXPECT(submit(&n, ch, &s, &acc), SV2_RESULT_INVALID_JOB_ID);
    EXPECT_TRUE(strcmp(code(SV2_RESULT_INVALID_JOB_ID), "invalid-job-id") == 0);
    s = make_share(client, id, extended, 6, 0, true, &w);
    s.body.submit_shares_standard.ntime = NOW - 1;
    EXPECT(submit(&n, ch, &s, &acc), SV2_RESULT_NTIME_OUT_OF_RANGE);
    s.body.submit_shares_standard.ntime = NOW + 7201;
    EXPECT(submit(&n, ch, &s, &acc), SV2_RESULT_NTIME_OUT_OF_RANGE);
    EXPECT_TRUE(strcmp(code(SV2_RESULT_NTIME_OUT_OF_RANGE), "invalid-timestamp") == 0);
    s = make_share(client, id, extended, 7, 0, true, &w);
    s.body.submit_shares_standard.channel_id = 77;
    EXPECT(submit(&n, ch, &s, &acc), SV2_RESULT_INVALID_CHANNEL_ID);
    EXPECT_TRUE(strcmp(code(SV2_RESULT_INVALID_CHANNEL_ID), "invalid-channel-id") == 0);
    /* An extended channel rolls exactly 6 bytes; a standard one none. */
    s = make_share(client, id, true, 8, 0, true, &w);
    s.body.submit_shares_extended.extranonce.len = extended ? 5 : 6;
    EXPECT(submit(&n, ch, &s, &acc), SV2_RESULT_BAD_EXTRANONCE_SIZE);
    EXPECT_TRUE(strcmp(code(SV2_RESULT_BAD_EXTRANONCE_SIZE), "bad-extranonce-size") == 0);

    /* A new tip whose network target every hash meets: the old job's shares are stale and the
     * next share is a block, handed to the template provider as a SubmitSolution. */
    sv2_message old = make_share(client, id, extended, 9, 0, true, &w);
    m = new_template(2, true);
    job = from_tp(&n, f, &m);
    EXPECT(sv2_server_channel_add_job(ch, f, job.job_id, job.min_ntime, &out), OK);
    to_miner(&n, client, &out);
    m = prev_hash_tdp(2, easy);
    from_tp(&n, f, &m);
    EXPECT(sv2_server_channel_activate(ch, f, &out), OK);
    to_miner(&n, client, &out);
    EXPECT(submit(&n, ch, &old, &acc), SV2_RESULT_STALE_SHARE);
    EXPECT_TRUE(strcmp(code(SV2_RESULT_STALE_SHARE), "stale-share") == 0);
    sv2_message found = make_share(client, id, extended, 10, 0, true, &w);
    EXPECT(submit(&n, ch, &found, &acc), OK);
    EXPECT_TRUE(acc.block);
    EXPECT(sv2_server_channel_solution(ch, &out), OK);
    wire(n.pool_tdp, n.tp, &out, &got);
    sv2_submit_solution sol = got.body.submit_solution;
    uint8_t root[32];
    merkle_root(sol.coinbase_tx.data, sol.coinbase_tx.len, root);
    EXPECT_TRUE(sol.template_id == 2 && sol.header_nonce == found.body.submit_shares_standard.nonce &&
                sol.header_timestamp == w.min_ntime && sol.version == w.version);
    EXPECT_TRUE(memcmp(root, w.merkle_root, 32) == 0);
    uint8_t hash[32];
    EXPECT(sv2_work_hash(&w, sol.version, sol.header_timestamp, sol.header_nonce, hash), OK);
    EXPECT_TRUE(memcmp(hash, acc.hash, 32) == 0);

    /* UpdateChannel: a new nominal hashrate gives a SetTarget the miner follows; a NaN one an
     * UpdateChannel.Error. */
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_UPDATE_CHANNEL;
    m.body.update_channel.channel_id = id;
    m.body.update_channel.nominal_hash_rate = 1e12f;
    memset(m.body.update_channel.maximum_target, 0xff, 32);
    wire(n.miner, n.pool_mining, &m, &got);
    EXPECT(sv2_server_channel_update(ch, &got, 100, &out), OK);
    uint8_t want[32], now_target[32];
    EXPECT(sv2_target_for_hashrate((double)1e12f, 6, easy, want), OK);
    EXPECT_TRUE(memcmp(out.body.set_target.maximum_target, want, 32) == 0);
    to_miner(&n, client, &out);
    /* The job being mined keeps its target, on both sides; the next job has the new one. */
    EXPECT(sv2_client_channel_work(client, ROLLED, extended ? 6 : 0, &w), OK);
    EXPECT_TRUE(memcmp(w.target, share_target, 32) == 0);
    sv2_message t3 = new_template(3, false);
    job = from_tp(&n, f, &t3);
    EXPECT(sv2_server_channel_add_job(ch, f, job.job_id, job.min_ntime, &out), OK);
    to_miner(&n, client, &out);
    EXPECT(sv2_client_channel_work(client, ROLLED, extended ? 6 : 0, &w), OK);
    EXPECT_TRUE(w.job_id == job.job_id && memcmp(w.target, want, 32) == 0);
    EXPECT(sv2_server_channel_target(ch, now_target), OK);
    EXPECT_TRUE(memcmp(now_target, want, 32) == 0);
    EXPECT(sv2_server_channel_update(ch, &got, 100, &out), SV2_RESULT_NOT_FOUND);
    m.body.update_channel.nominal_hash_rate = -1.0f;
    wire(n.miner, n.pool_mining, &m, &got);
    sv2_result r = sv2_server_channel_update(ch, &got, 100, &out);
    EXPECT(r, SV2_RESULT_INVALID_NOMINAL_HASHRATE);
    EXPECT(sv2_channel_error_reply(&got, (int32_t)r, &out), OK);
    wire(n.pool_mining, n.miner, &out, &got);
    EXPECT_TRUE(got.body.update_channel_error.channel_id == id &&
                str_is(got.body.update_channel_error.error_code, "invalid-nominal-hashrate"));

    /* Vardiff: a window without shares makes the target easier. */
    EXPECT(sv2_server_channel_retarget(ch, 101, &out), SV2_RESULT_NOT_FOUND);
    EXPECT(sv2_server_channel_retarget(ch, 200, &out), OK);
    uint8_t easier[32];
    memcpy(easier, out.body.set_target.maximum_target, 32);
    to_miner(&n, client, &out);
    EXPECT(sv2_client_channel_work(client, ROLLED, extended ? 6 : 0, &w), OK);
    EXPECT_TRUE(memcmp(w.target, want, 32) == 0);
    sv2_message t4 = new_template(4, false);
    job = from_tp(&n, f, &t4);
    EXPECT(sv2_server_channel_add_job(ch, f, job.job_id, job.min_ntime, &out), OK);
    to_miner(&n, client, &out);
    EXPECT(sv2_client_channel_work(client, ROLLED, extended ? 6 : 0, &w), OK);
    EXPECT_TRUE(memcmp(w.target, want, 32) != 0 && memcmp(w.target, easier, 32) == 0);

    sv2_server_channel_free(ch);
    sv2_client_channel_free(client);
    sv2_extranonce_allocator_free(alloc);
    sv2_job_factory_free(f);
    net_free(&n);
}

/* A group with a standard and an extended member: one message per member (the connection set
 * REQUIRES_STANDARD_JOBS), shares validated on the member they name, successes per member. */
static void group_channels(void) {
    sv2_job_factory *f = NULL;
    sv2_group_channel *g = NULL;
    sv2_server_channel *a = NULL, *b = NULL, *back = NULL;
    sv2_client_channel *ca = NULL, *cb = NULL;
    sv2_message msgs[3], m, out;
    sv2_accepted_share acc;
    sv2_work w;
    size_t n = 0;
    uint8_t pa[8] = {0, 1}, pb[2] = {0, 2};
    EXPECT(sv2_job_factory_new(SCRIPT, 1, NULL, 0, 8, true, &f), OK);
    EXPECT(sv2_group_channel_new(1, true, &g), OK);
    sv2_server_channel_params p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.channel_id = 2;
    p.user_identity = cstr("bob");
    p.extranonce_prefix = (sv2_bytes){pa, 8};
    memcpy(p.target, share_target, 32);
    memcpy(p.max_target, easy, 32);
    p.shares_per_minute = 6;
    p.vardiff_window_secs = 60;
    EXPECT(sv2_server_channel_new(&p, 0, &a), OK);
    p.channel_id = 3;
    p.extended = true;
    p.extranonce_size = 6;
    p.extranonce_prefix = (sv2_bytes){pb, 2};
    EXPECT(sv2_server_channel_new(&p, 0, &b), OK);
    EXPECT(sv2_client_channel_new_standard(2, share_target, pa, 8, true, &ca), OK);
    EXPECT(sv2_client_channel_new_extended(3, share_target, pb, 2, 6, &cb), OK);
    EXPECT(sv2_group_channel_add(g, &a), OK);
    EXPECT(sv2_group_channel_add(g, &b), OK);
    EXPECT_TRUE(a == NULL && b == NULL);
    EXPECT(sv2_group_channel_len(g, &n), OK);
    EXPECT_TRUE(n == 2);

    sv2_template_job j;
    m = new_template(1, true);
    EXPECT(sv2_job_factory_handle(f, &m, &j), OK);
    EXPECT(sv2_group_channel_add_job(g, f, j.job_id, j.min_ntime, msgs, 2, &n), SV2_RESULT_INSUFFICIENT_SIZE);
    EXPECT(sv2_group_channel_add_job(g, f, j.job_id, j.min_ntime, msgs, 3, &n), OK);
    EXPECT_TRUE(n == 2 && msgs[0].msg_type == SV2_MSG_NEW_MINING_JOB &&
                msgs[1].msg_type == SV2_MSG_NEW_EXTENDED_MINING_JOB);
    for (size_t i = 0; i < n; i++) {
        EXPECT(sv2_client_channel_handle(ca, &msgs[i]), OK);
        EXPECT(sv2_client_channel_handle(cb, &msgs[i]), OK);
    }
    m = prev_hash_tdp(1, HARD);
    EXPECT(sv2_job_factory_handle(f, &m, &j), OK);
    EXPECT(sv2_group_channel_activate(g, f, msgs, 3, &n), OK);
    EXPECT_TRUE(n == 2 && msgs[0].body.set_new_prev_hash.channel_id == 2 &&
                msgs[1].body.set_new_prev_hash.channel_id == 3);
    for (size_t i = 0; i < n; i++) {
        EXPECT(sv2_client_channel_handle(ca, &msgs[i]), OK);
        EXPECT(sv2_client_channel_handle(cb, &msgs[i]), OK);
    }
    m = make_share(ca, 2, false, 1, 0, true, &w);
    EXPECT(sv2_group_channel_validate(g, &m, NOW, &acc), OK);
    m = make_share(cb, 3, true, 1, 0, true, &w);
    EXPECT(sv2_group_channel_validate(g, &m, NOW, &acc), OK);
    EXPECT(sv2_group_channel_solution(g, &out), SV2_RESULT_NOT_FOUND);
    m.body.submit_shares_extended.channel_id = 1;
    EXPECT(sv2_group_channel_validate(g, &m, NOW, &acc), SV2_RESULT_INVALID_CHANNEL_ID);
    int acked = 0;
    while (sv2_group_channel_take_success(g, &out) == OK) acked++;
    EXPECT_TRUE(acked == 2);
    EXPECT(sv2_group_channel_set_target(g, share_target, &out), OK);
    EXPECT_TRUE(out.msg_type == SV2_MSG_SET_TARGET && out.body.set_target.channel_id == 1);
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_UPDATE_CHANNEL;
    m.body.update_channel.channel_id = 3;
    m.body.update_channel.nominal_hash_rate = 1e15f;
    memset(m.body.update_channel.maximum_target, 0xff, 32);
    EXPECT(sv2_group_channel_update(g, &m, 5, &out), OK);
    EXPECT_TRUE(out.body.set_target.channel_id == 3);
    m.body.update_channel.channel_id = 9;
    EXPECT(sv2_group_channel_update(g, &m, 5, &out), SV2_RESULT_INVALID_CHANNEL_ID);
    int retargeted = 0;
    /* A silent window: each member's target gets easier, once. */
    while (sv2_group_channel_retarget(g, 100, &out) == OK) retargeted++;
    EXPECT_TRUE(retargeted == 2);
    EXPECT(sv2_group_channel_remove(g, 2, &back), OK);
    EXPECT(sv2_group_channel_remove(g, 2, &back), SV2_RESULT_INVALID_CHANNEL_ID);
    sv2_server_channel_free(back);
    sv2_group_channel_free(g);
    sv2_client_channel_free(ca);
    sv2_client_channel_free(cb);
    sv2_job_factory_free(f);
}

/* A group whose connection did not set REQUIRES_STANDARD_JOBS: one NewExtendedMiningJob and one
 * SetNewPrevHash to the group id reach every member. The standard member's client learns its
 * group from OpenStandardMiningChannel.Success (sv2_client_channel_set_group) or from
 * SetGroupChannel, builds the merkle root with its own prefix, and its shares are accepted. */
static void broadcast_group(void) {
    net n = net_new();
    sv2_job_factory *f = NULL;
    sv2_group_channel *g = NULL;
    sv2_server_channel *a = NULL, *b = NULL;
    sv2_client_channel *ca = NULL, *cb = NULL, *cc = NULL;
    sv2_message msgs[3], m;
    sv2_accepted_share acc;
    sv2_work w;
    size_t count = 0;
    uint32_t group = 0;
    uint8_t pa[8] = {0, 1}, pb[2] = {0, 2};
    EXPECT(sv2_job_factory_new(SCRIPT, 1, NULL, 0, 8, true, &f), OK);
    EXPECT(sv2_group_channel_new(10, false, &g), OK);
    sv2_server_channel_params p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.channel_id = 2;
    p.user_identity = cstr("bob");
    p.extranonce_prefix = (sv2_bytes){pa, 8};
    memcpy(p.target, share_target, 32);
    memcpy(p.max_target, easy, 32);
    p.shares_per_minute = 6;
    p.vardiff_window_secs = 60;
    EXPECT(sv2_server_channel_new(&p, 0, &a), OK);
    p.channel_id = 3;
    p.extended = true;
    p.extranonce_size = 6;
    p.extranonce_prefix = (sv2_bytes){pb, 2};
    EXPECT(sv2_server_channel_new(&p, 0, &b), OK);
    EXPECT(sv2_group_channel_add(g, &a), OK);
    EXPECT(sv2_group_channel_add(g, &b), OK);
    EXPECT(sv2_client_channel_new_standard(2, share_target, pa, 8, true, &ca), OK);
    EXPECT(sv2_client_channel_new_extended(3, share_target, pb, 2, 6, &cb), OK);
    EXPECT(sv2_client_channel_new_standard(2, share_target, pa, 8, true, &cc), OK);
    EXPECT(sv2_client_channel_group(ca, &group), SV2_RESULT_NOT_FOUND);
    EXPECT(sv2_client_channel_set_group(ca, 10), OK);
    EXPECT(sv2_client_channel_set_group(cb, 10), OK);
    EXPECT(sv2_client_channel_group(ca, &group), OK);
    EXPECT_TRUE(group == 10);
    uint32_t ids[2] = {2, 3};
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SET_GROUP_CHANNEL;
    m.body.set_group_channel.group_channel_id = 10;
    m.body.set_group_channel.channel_ids = (sv2_u32_list){ids, NULL, 2};
    to_miner(&n, cc, &m);
    EXPECT(sv2_client_channel_group(cc, &group), OK);
    EXPECT_TRUE(group == 10);

    sv2_template_job j;
    m = new_template(1, true);
    EXPECT(sv2_job_factory_handle(f, &m, &j), OK);
    EXPECT(sv2_group_channel_add_job(g, f, j.job_id, j.min_ntime, msgs, 3, &count), OK);
    /* One job to the group for the standard member, one to the extended member. */
    EXPECT_TRUE(count == 2 && msgs[0].msg_type == SV2_MSG_NEW_EXTENDED_MINING_JOB &&
                msgs[0].body.new_extended_mining_job.channel_id == 10 &&
                msgs[1].body.new_extended_mining_job.channel_id == 3);
    sv2_client_channel *clients[3] = {ca, cb, cc};
    for (size_t i = 0; i < count; i++)
        for (int c = 0; c < 3; c++) to_miner(&n, clients[c], &msgs[i]);
    m = prev_hash_tdp(1, HARD);
    EXPECT(sv2_job_factory_handle(f, &m, &j), OK);
    EXPECT(sv2_group_channel_activate(g, f, msgs, 3, &count), OK);
    EXPECT_TRUE(count >= 1 && msgs[0].body.set_new_prev_hash.channel_id == 10);
    for (size_t i = 0; i < count; i++)
        for (int c = 0; c < 3; c++) to_miner(&n, clients[c], &msgs[i]);
    m = make_share(ca, 2, false, 1, 0, true, &w);
    EXPECT(sv2_group_channel_validate(g, &m, NOW, &acc), OK);
    m = make_share(cc, 2, false, 2, 0, true, &w);
    EXPECT_TRUE(w.job_id == j.job_id);
    m = make_share(cb, 3, true, 1, 0, true, &w);
    EXPECT(sv2_group_channel_validate(g, &m, NOW, &acc), OK);
    sv2_group_channel_free(g);
    sv2_client_channel_free(ca);
    sv2_client_channel_free(cb);
    sv2_client_channel_free(cc);
    sv2_job_factory_free(f);
    net_free(&n);
}

/* Prefixes never repeat, and running out is an error that uses nothing. */
static void extranonce_allocation(void) {
    sv2_extranonce_allocator *a = NULL;
    uint8_t p[SV2_EXTRANONCE_MAX_LEN], seen[256] = {0};
    size_t len = 0;
    EXPECT(sv2_extranonce_allocator_new((const uint8_t *)"\xaa", 1, 1, 4, &a), OK);
    EXPECT(sv2_extranonce_allocator_next_standard(a, p, 3, &len), SV2_RESULT_INSUFFICIENT_SIZE);
    for (int i = 0; i < 256; i++) {
        if (i % 2)
            EXPECT(sv2_extranonce_allocator_next_standard(a, p, sizeof p, &len), OK);
        else
            EXPECT(sv2_extranonce_allocator_next_extended(a, p, sizeof p, &len), OK);
        EXPECT_TRUE(len == (i % 2 ? 4u : 2u) && p[0] == 0xaa && !seen[p[1]]);
        seen[p[1]] = 1;
    }
    EXPECT(sv2_extranonce_allocator_next_extended(a, p, sizeof p, &len), SV2_RESULT_EXTRANONCE_EXHAUSTED);
    sv2_extranonce_allocator_free(a);
    a = NULL;
    EXPECT(sv2_extranonce_allocator_new(NULL, 0, 9, 32, &a), SV2_RESULT_EXTRANONCE_LAYOUT);
    EXPECT_TRUE(a == NULL);
}

/* NULL in every pointer argument, and messages and parameters that make no sense. */
static void null_and_garbage(void) {
    sv2_job_factory *f = NULL;
    sv2_extranonce_allocator *a = NULL;
    sv2_server_channel *ch = NULL, *none_ch = NULL;
    sv2_group_channel *g = NULL;
    sv2_message m, msgs[2];
    sv2_template_job j, jobs[SV2_MAX_TEMPLATE_JOBS];
    sv2_accepted_share acc;
    uint8_t buf[32], t32[32];
    size_t len = 12345;
    const sv2_option_u32 absent = {false, 0};
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SET_TARGET;
    memset(t32, 0xaa, 32);

    EXPECT(sv2_job_factory_new(NULL, 1, NULL, 0, 8, true, &f), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_job_factory_new(SCRIPT, 1, NULL, 0, 8, true, NULL), SV2_RESULT_NULL_PARAMETER);
    uint8_t long_tag[80] = {0};
    EXPECT(sv2_job_factory_new(SCRIPT, 1, long_tag, sizeof long_tag, 8, true, &f), SV2_RESULT_SCRIPT_SIG_TOO_LONG);
    EXPECT_TRUE(f == NULL);
    EXPECT(sv2_job_factory_new(SCRIPT, 1, NULL, 0, 8, true, &f), OK);
    EXPECT(sv2_job_factory_coinbase_output_constraints(NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_job_factory_coinbase_output_constraints(f, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_job_factory_handle(NULL, &m, &j), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_job_factory_handle(f, NULL, &j), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_job_factory_handle(f, &m, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_job_factory_handle(f, &m, &j), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_job_factory_jobs(NULL, jobs, SV2_MAX_TEMPLATE_JOBS, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_job_factory_jobs(f, NULL, SV2_MAX_TEMPLATE_JOBS, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_job_factory_jobs(f, jobs, SV2_MAX_TEMPLATE_JOBS, NULL), SV2_RESULT_NULL_PARAMETER);
    /* A template whose outputs do not parse, and one with a merkle path too long to read. */
    sv2_message t = new_template(1, true);
    t.body.new_template.coinbase_tx_outputs = (sv2_bytes){(const uint8_t *)"\x01\x02\x03", 3};
    t.body.new_template.coinbase_tx_outputs_count = 1;
    EXPECT(sv2_job_factory_handle(f, &t, &j), SV2_RESULT_INVALID_COINBASE_OUTPUTS);
    t = new_template(1, true);
    t.body.new_template.merkle_path.count = 256;
    EXPECT(sv2_job_factory_handle(f, &t, &j), SV2_RESULT_TOO_LONG);
    t = new_template(1, false);
    EXPECT(sv2_job_factory_handle(f, &t, &j), SV2_RESULT_NO_PREV_HASH);
    t = prev_hash_tdp(5, HARD);
    EXPECT(sv2_job_factory_handle(f, &t, &j), SV2_RESULT_UNKNOWN_JOB);
    sv2_job_factory_free(NULL);

    EXPECT(sv2_extranonce_allocator_new(NULL, 1, 2, 8, &a), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_new(NULL, 0, 2, 8, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_new(NULL, 0, 2, 8, &a), OK);
    EXPECT(sv2_extranonce_allocator_rollable(NULL, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_rollable(a, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_next_extended(NULL, buf, 32, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_next_extended(a, NULL, 32, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_next_extended(a, buf, 32, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_next_standard(NULL, buf, 32, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_next_standard(a, NULL, 32, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_extranonce_allocator_next_standard(a, buf, 32, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT_TRUE(len == 12345);
    sv2_extranonce_allocator_free(a);
    sv2_extranonce_allocator_free(NULL);
    EXPECT(sv2_target_for_hashrate(1e9, 6, NULL, t32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_target_for_hashrate(1e9, 6, easy, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_target_for_hashrate(-1, 6, easy, t32), SV2_RESULT_INVALID_NOMINAL_HASHRATE);
    EXPECT(sv2_target_for_hashrate(1e9, 0, easy, t32), SV2_RESULT_INVALID_ARGUMENT);

    sv2_server_channel_params p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.channel_id = 2;
    p.shares_per_minute = 6;
    memcpy(p.target, easy, 32);
    memcpy(p.max_target, easy, 32);
    p.extranonce_prefix = (sv2_bytes){buf, 8};
    EXPECT(sv2_server_channel_new(NULL, 0, &ch), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_new(&p, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    p.user_identity = (sv2_bytes){NULL, 3};
    EXPECT(sv2_server_channel_new(&p, 0, &ch), SV2_RESULT_NULL_PARAMETER);
    p.user_identity = (sv2_bytes){(const uint8_t *)"\xff", 1};
    EXPECT(sv2_server_channel_new(&p, 0, &ch), SV2_RESULT_INVALID_ARGUMENT);
    p.user_identity = cstr("u");
    p.extranonce_size = 1;
    EXPECT(sv2_server_channel_new(&p, 0, &ch), SV2_RESULT_INVALID_ARGUMENT);
    p.extranonce_size = 0;
    p.shares_per_minute = 0;
    EXPECT(sv2_server_channel_new(&p, 0, &ch), SV2_RESULT_INVALID_ARGUMENT);
    p.shares_per_minute = 6;
    p.extranonce_prefix.len = 33;
    EXPECT(sv2_server_channel_new(&p, 0, &ch), SV2_RESULT_TOO_LONG);
    p.extranonce_prefix.len = 8;
    EXPECT_TRUE(ch == NULL);
    EXPECT(sv2_server_channel_new(&p, 0, &ch), OK);
    EXPECT(sv2_server_channel_target(NULL, t32), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_target(ch, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_open_success(NULL, 1, 1, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_open_success(ch, 1, 1, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_add_job(NULL, f, 1, absent, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_add_job(ch, NULL, 1, absent, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_add_job(ch, f, 1, absent, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_add_job(ch, f, 1, absent, &m), SV2_RESULT_UNKNOWN_JOB);
    EXPECT(sv2_server_channel_activate(NULL, f, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_activate(ch, NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_activate(ch, f, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_activate(ch, f, &m), SV2_RESULT_NO_PREV_HASH);
    EXPECT(sv2_server_channel_validate(NULL, &m, NOW, &acc), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_validate(ch, NULL, NOW, &acc), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_validate(ch, &m, NOW, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_validate(ch, &m, NOW, &acc), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_server_channel_solution(NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_solution(ch, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_take_success(NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_take_success(ch, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_set_target(NULL, easy, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_set_target(ch, NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_set_target(ch, easy, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_update(NULL, &m, 0, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_update(ch, NULL, 0, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_update(ch, &m, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_update(ch, &m, 0, msgs), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT(sv2_server_channel_retarget(NULL, 0, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_server_channel_retarget(ch, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_channel_error_reply(NULL, SV2_RESULT_STALE_SHARE, msgs), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_channel_error_reply(&m, SV2_RESULT_STALE_SHARE, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_channel_error_reply(&m, SV2_RESULT_STALE_SHARE, msgs), SV2_RESULT_INVALID_ARGUMENT);
    EXPECT_TRUE(sv2_result_error_code(SV2_RESULT_OK) == NULL && sv2_result_error_code(-7) == NULL);
    EXPECT_TRUE(t32[0] == 0xaa);
    /* Unknown message ids and views past their limits, refused unread. */
    m.msg_type = 0x7f;
    EXPECT(sv2_server_channel_validate(ch, &m, NOW, &acc), SV2_RESULT_UNKNOWN_MESSAGE);
    m.msg_type = SV2_MSG_SUBMIT_SHARES_EXTENDED;
    m.body.submit_shares_extended.extranonce = (sv2_bytes){NULL, 33};
    EXPECT(sv2_server_channel_validate(ch, &m, NOW, &acc), SV2_RESULT_TOO_LONG);

    EXPECT(sv2_group_channel_new(1, false, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_new(1, false, &g), OK);
    EXPECT(sv2_group_channel_add(NULL, &ch), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_add(g, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_add(g, &none_ch), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_add(g, &ch), OK);
    EXPECT_TRUE(ch == NULL);
    EXPECT(sv2_group_channel_remove(NULL, 2, &ch), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_remove(g, 2, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_len(NULL, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_len(g, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_add_job(NULL, f, 1, absent, msgs, 2, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_add_job(g, NULL, 1, absent, msgs, 2, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_add_job(g, f, 1, absent, NULL, 2, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_add_job(g, f, 1, absent, msgs, 2, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_add_job(g, f, 1, absent, msgs, 2, &len), SV2_RESULT_UNKNOWN_JOB);
    EXPECT(sv2_group_channel_activate(NULL, f, msgs, 2, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_activate(g, NULL, msgs, 2, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_activate(g, f, NULL, 2, &len), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_activate(g, f, msgs, 2, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_activate(g, f, msgs, 1, &len), SV2_RESULT_INSUFFICIENT_SIZE);
    EXPECT_TRUE(len == 12345);
    EXPECT(sv2_group_channel_set_target(NULL, easy, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_set_target(g, NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_set_target(g, easy, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_validate(NULL, &m, NOW, &acc), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_validate(g, NULL, NOW, &acc), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_validate(g, &m, NOW, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_solution(NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_solution(g, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_take_success(NULL, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_take_success(g, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_take_success(g, &m), SV2_RESULT_NOT_FOUND);
    EXPECT(sv2_group_channel_update(NULL, &m, 0, msgs), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_update(g, NULL, 0, msgs), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_update(g, &m, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_retarget(NULL, 0, &m), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_retarget(g, 0, NULL), SV2_RESULT_NULL_PARAMETER);
    EXPECT(sv2_group_channel_retarget(g, 0, &m), SV2_RESULT_NOT_FOUND);
    /* The group frees its members. */
    sv2_group_channel_free(g);
    sv2_group_channel_free(NULL);
    sv2_server_channel_free(NULL);
    sv2_job_factory_free(f);
}

int main(void) {
    memset(PATH, 0x31, 32);
    memset(PATH + 32, 0x32, 32);
    memset(share_target, 0xff, 32);
    share_target[31] = 0x7f;
    memset(easy, 0xff, 32);
    channel_against_client(false);
    channel_against_client(true);
    group_channels();
    broadcast_group();
    extranonce_allocation();
    null_and_garbage();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("test_channels: ok\n");
    return 0;
}
