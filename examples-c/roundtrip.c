/* Encode/decode round trips of messages of every sub-protocol through the C ABI: each message
 * is framed, fed to a frame decoder one byte at a time, decoded, and compared field by field.
 * Also shows the error answers: NULL arguments, short buffers, garbage bytes. */
#include "example_util.h"

static uint8_t frame_buf[1 << 16];

/* Frames `in`, streams the frame through a decoder byte by byte and decodes it into `out`.
 * The decoder is returned so that `out`'s views (which point into it) stay valid. */
static sv2_frame_decoder *roundtrip(const sv2_message *in, sv2_message *out) {
    size_t len = 0, need = 0;
    sv2_frame_decoder *d = NULL;
    sv2_frame f;
    TRY(sv2_frame_encoded_len(in, NULL, 0, &need));
    TRY(sv2_frame_encode(in, NULL, 0, frame_buf, sizeof frame_buf, &len));
    CHECK(len == need);
    TRY(sv2_frame_decoder_new(1 << 20, &d));
    for (size_t i = 0; i < len; i++) {
        CHECK(sv2_frame_decoder_next(d, &f) == SV2_RESULT_NEED_MORE_DATA);
        TRY(sv2_frame_decoder_push(d, frame_buf + i, 1));
    }
    TRY(sv2_frame_decoder_next(d, &f));
    CHECK(f.msg_type == in->msg_type && f.extension_type == in->extension_type);
    TRY(sv2_message_decode(f.extension_type, f.msg_type, f.payload.data, f.payload.len, out, NULL));
    return d;
}

static void common(void) {
    sv2_message m, out;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION;
    m.body.setup_connection.protocol = SV2_PROTOCOL_JOB_DECLARATION;
    m.body.setup_connection.min_version = 2;
    m.body.setup_connection.max_version = 2;
    m.body.setup_connection.flags = SV2_JD_FLAG_DECLARE_TX_DATA;
    m.body.setup_connection.endpoint_host = cstr("jds.example");
    m.body.setup_connection.endpoint_port = 34264;
    m.body.setup_connection.vendor = cstr("acme");
    m.body.setup_connection.hardware_version = cstr("");
    m.body.setup_connection.firmware = cstr("");
    m.body.setup_connection.device_id = cstr("");
    sv2_frame_decoder *d = roundtrip(&m, &out);
    CHECK(out.body.setup_connection.protocol == SV2_PROTOCOL_JOB_DECLARATION);
    CHECK(out.body.setup_connection.endpoint_port == 34264);
    CHECK(bytes_eq(out.body.setup_connection.endpoint_host, "jds.example", 11));
    sv2_frame_decoder_free(d);
}

static void mining(void) {
    sv2_message m, out;
    uint8_t path[3][32], prefix[40], suffix[60];
    memset(path, 7, sizeof path);
    memset(prefix, 1, sizeof prefix);
    memset(suffix, 2, sizeof suffix);
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_NEW_EXTENDED_MINING_JOB;
    m.body.new_extended_mining_job.channel_id = 9;
    m.body.new_extended_mining_job.job_id = 10;
    m.body.new_extended_mining_job.min_ntime.present = true;
    m.body.new_extended_mining_job.min_ntime.value = 1700000000;
    m.body.new_extended_mining_job.version = 0x20000000;
    m.body.new_extended_mining_job.version_rolling_allowed = true;
    m.body.new_extended_mining_job.merkle_path.data = &path[0][0];
    m.body.new_extended_mining_job.merkle_path.count = 3;
    m.body.new_extended_mining_job.coinbase_tx_prefix.data = prefix;
    m.body.new_extended_mining_job.coinbase_tx_prefix.len = sizeof prefix;
    m.body.new_extended_mining_job.coinbase_tx_suffix.data = suffix;
    m.body.new_extended_mining_job.coinbase_tx_suffix.len = sizeof suffix;
    sv2_frame_decoder *d = roundtrip(&m, &out);
    const sv2_new_extended_mining_job *j = &out.body.new_extended_mining_job;
    CHECK(j->job_id == 10 && j->min_ntime.present && j->min_ntime.value == 1700000000);
    CHECK(j->merkle_path.count == 3 && memcmp(j->merkle_path.data, path, sizeof path) == 0);
    CHECK(bytes_eq(j->coinbase_tx_suffix, suffix, sizeof suffix));
    sv2_frame_decoder_free(d);

    /* SetGroupChannel: a list built from a native array, read back with the getter. */
    uint32_t ids[4] = {1, 2, 3, 70000};
    uint32_t id = 0;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SET_GROUP_CHANNEL;
    m.body.set_group_channel.group_channel_id = 100;
    m.body.set_group_channel.channel_ids.items = ids;
    m.body.set_group_channel.channel_ids.count = 4;
    d = roundtrip(&m, &out);
    CHECK(out.body.set_group_channel.channel_ids.count == 4);
    TRY(sv2_u32_list_get(&out.body.set_group_channel.channel_ids, 3, &id));
    CHECK(id == 70000);
    sv2_frame_decoder_free(d);
}

static void job_declaration(void) {
    sv2_message m, out;
    uint8_t tx1[] = {2, 0, 0, 0, 9}, tx2[] = {2, 0, 0, 0, 8, 8};
    sv2_bytes txs[2] = {{tx1, sizeof tx1}, {tx2, sizeof tx2}}, item;
    uint8_t wire[64];
    size_t wire_len = 0;
    TRY(sv2_bytes_list_encode(txs, 2, wire, sizeof wire, &wire_len));
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_PROVIDE_MISSING_TRANSACTIONS_SUCCESS;
    m.body.provide_missing_transactions_success.request_id = 5;
    m.body.provide_missing_transactions_success.transaction_list.wire = wire;
    m.body.provide_missing_transactions_success.transaction_list.wire_len = wire_len;
    m.body.provide_missing_transactions_success.transaction_list.count = 2;
    sv2_frame_decoder *d = roundtrip(&m, &out);
    CHECK(out.body.provide_missing_transactions_success.transaction_list.count == 2);
    TRY(sv2_bytes_list_get(&out.body.provide_missing_transactions_success.transaction_list, 1, &item));
    CHECK(bytes_eq(item, tx2, sizeof tx2));
    /* Every item, in one pass over the list. */
    size_t offset = 0, seen = 0;
    while (sv2_bytes_list_next(&out.body.provide_missing_transactions_success.transaction_list, &offset, &item) ==
           SV2_RESULT_OK) {
        CHECK(seen < 2 && bytes_eq(item, txs[seen].data, txs[seen].len));
        seen++;
    }
    CHECK(seen == 2);
    sv2_frame_decoder_free(d);
}

static void template_distribution(void) {
    sv2_message m, out;
    uint8_t prev[32];
    memset(prev, 0xab, sizeof prev);
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SET_NEW_PREV_HASH_TDP;
    m.body.set_new_prev_hash_tdp.template_id = 77;
    memcpy(m.body.set_new_prev_hash_tdp.prev_hash, prev, 32);
    m.body.set_new_prev_hash_tdp.header_timestamp = 1700000000;
    m.body.set_new_prev_hash_tdp.nbits = 0x1d00ffff;
    sv2_frame_decoder *d = roundtrip(&m, &out);
    CHECK(out.body.set_new_prev_hash_tdp.template_id == 77);
    CHECK(memcmp(out.body.set_new_prev_hash_tdp.prev_hash, prev, 32) == 0);
    sv2_frame_decoder_free(d);
}

static void extensions(void) {
    sv2_message m, out;
    uint16_t wanted[1] = {SV2_EXTENSION_WORKER_HASHRATE_TRACKING};
    uint16_t got = 0;
    memset(&m, 0, sizeof m);
    m.extension_type = SV2_EXTENSION_NEGOTIATION;
    m.msg_type = SV2_MSG_REQUEST_EXTENSIONS;
    m.body.request_extensions.request_id = 1;
    m.body.request_extensions.requested_extensions.items = wanted;
    m.body.request_extensions.requested_extensions.count = 1;
    sv2_frame_decoder *d = roundtrip(&m, &out);
    TRY(sv2_u16_list_get(&out.body.request_extensions.requested_extensions, 0, &got));
    CHECK(got == SV2_EXTENSION_WORKER_HASHRATE_TRACKING);
    sv2_frame_decoder_free(d);
}

static void errors(void) {
    sv2_message m, out;
    uint8_t small[4];
    size_t len = 12345;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION_SUCCESS;
    CHECK(sv2_frame_encode(NULL, NULL, 0, small, sizeof small, &len) == SV2_RESULT_NULL_PARAMETER);
    CHECK(sv2_frame_encode(&m, NULL, 0, small, sizeof small, &len) == SV2_RESULT_INSUFFICIENT_SIZE);
    CHECK(len == 12345); /* out-parameters are written only on success */
    CHECK(sv2_message_decode(0, SV2_MSG_SETUP_CONNECTION_SUCCESS, small, 3, &out, NULL) == SV2_RESULT_UNEXPECTED_END);
    CHECK(sv2_message_decode(0, 0x7f, small, 0, &out, NULL) == SV2_RESULT_UNKNOWN_MESSAGE);
    CHECK(sv2_message_decode(0, SV2_MSG_SETUP_CONNECTION, NULL, 10, &out, NULL) == SV2_RESULT_NULL_PARAMETER);
    sv2_session_free(NULL); /* no-ops */
    sv2_frame_decoder_free(NULL);
    sv2_server_credentials_free(NULL);
    CHECK(strcmp(sv2_result_message(SV2_RESULT_OK), "ok") == 0);
    CHECK(strcmp(sv2_result_message(-1), "unknown result") == 0);
}

int main(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", SV2_VERSION_MAJOR, SV2_VERSION_MINOR, SV2_VERSION_PATCH);
    CHECK(strcmp(sv2_version(), expected) == 0);
    common();
    mining();
    job_declaration();
    template_distribution();
    extensions();
    errors();
    printf("round trips: common, mining, job declaration, template distribution, extensions ok\n");
    return 0;
}
