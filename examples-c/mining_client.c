/* A minimal Stratum V2 mining client in C — what firmware does: open a standard channel,
 * follow its jobs, hash headers, submit shares.
 *
 *   mining_client HOST PORT KEY SHARES    pin pool authority KEY (base58check), submit shares
 *                                         until SHARES are accepted, waiting for each answer
 */
#include "example_util.h"

static void send_setup(sv2_session *s, int fd) {
    sv2_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_SETUP_CONNECTION;
    m.body.setup_connection.protocol = SV2_PROTOCOL_MINING;
    m.body.setup_connection.min_version = 2;
    m.body.setup_connection.max_version = 2;
    m.body.setup_connection.flags = SV2_MINING_FLAG_REQUIRES_STANDARD_JOBS;
    m.body.setup_connection.endpoint_host = cstr("127.0.0.1");
    m.body.setup_connection.vendor = cstr("libsv2-c-miner");
    m.body.setup_connection.hardware_version = cstr("cpu");
    m.body.setup_connection.firmware = cstr("0.1");
    m.body.setup_connection.device_id = cstr("");
    send_message(s, fd, &m);
}

static void open_channel(sv2_session *s, int fd) {
    sv2_message m;
    memset(&m, 0, sizeof m);
    m.msg_type = SV2_MSG_OPEN_STANDARD_MINING_CHANNEL;
    m.body.open_standard_mining_channel.request_id = 1;
    m.body.open_standard_mining_channel.user_identity = cstr("c-miner.1");
    m.body.open_standard_mining_channel.nominal_hash_rate = 1e6f;
    memset(m.body.open_standard_mining_channel.max_target, 0xff, 32);
    send_message(s, fd, &m);
}

int main(int argc, char **argv) {
    uint8_t key[32];
    sv2_session *s = NULL;
    sv2_client_channel *ch = NULL;
    sv2_message got, m;
    uint32_t channel_id = 0, sequence = 0, wanted;

    if (argc != 5) {
        fprintf(stderr, "usage: mining_client HOST PORT KEY SHARES\n");
        return 2;
    }
    wanted = (uint32_t)atoi(argv[4]);
    TRY(sv2_authority_key_parse(argv[3], key));
    int fd = connect_to(argv[1], argv[2]);
    TRY(sv2_session_new_initiator(key, unix_now(), &s));
    wait_established(s, fd);

    send_setup(s, fd);
    next_message(s, fd, &got);
    CHECK(got.msg_type == SV2_MSG_SETUP_CONNECTION_SUCCESS);
    /* Version rolling is allowed unless the pool asks for a fixed version. */
    bool rolling = !(got.body.setup_connection_success.flags & SV2_MINING_SUCCESS_FLAG_REQUIRES_FIXED_VERSION);
    open_channel(s, fd);
    next_message(s, fd, &got);
    CHECK(got.msg_type == SV2_MSG_OPEN_STANDARD_MINING_CHANNEL_SUCCESS);
    {
        const sv2_open_standard_mining_channel_success *ok = &got.body.open_standard_mining_channel_success;
        channel_id = ok->channel_id;
        TRY(sv2_client_channel_new_standard(ok->channel_id, ok->target, ok->extranonce_prefix.data,
                                            ok->extranonce_prefix.len, rolling, &ch));
        /* Jobs for the group reach the channel too (a server may send them when
         * REQUIRES_STANDARD_JOBS is not set). */
        TRY(sv2_client_channel_set_group(ch, ok->group_channel_id));
    }

    /* Follow messages until a job is active. */
    sv2_work w;
    while (sv2_client_channel_work(ch, NULL, 0, &w) != SV2_RESULT_OK) {
        next_message(s, fd, &got);
        TRY(sv2_client_channel_handle(ch, &got));
    }
    uint32_t nonce = 0, job = w.job_id, accepted = 0;
    while (accepted < wanted) {
        uint8_t hash[32];
        bool met = false;
        /* Grind nonces until the header meets the share target. */
        for (;; nonce++) {
            TRY(sv2_work_hash(&w, w.version, w.min_ntime, nonce, hash));
            TRY(sv2_hash_meets_target(hash, w.target, &met));
            if (met) break;
        }
        memset(&m, 0, sizeof m);
        m.msg_type = SV2_MSG_SUBMIT_SHARES_STANDARD;
        m.body.submit_shares_standard.channel_id = channel_id;
        m.body.submit_shares_standard.sequence_number = sequence;
        m.body.submit_shares_standard.job_id = w.job_id;
        m.body.submit_shares_standard.nonce = nonce++;
        m.body.submit_shares_standard.ntime = w.min_ntime;
        m.body.submit_shares_standard.version = w.version;
        send_message(s, fd, &m);
        /* Wait for the answer, following any job change on the way. A share for a job that a
         * new tip made stale on the way is normal (the previous share may have been the block
         * that moved the tip); any other rejection is a bug here. */
        do {
            next_message(s, fd, &got);
            TRY(sv2_client_channel_handle(ch, &got));
        } while (got.msg_type != SV2_MSG_SUBMIT_SHARES_SUCCESS && got.msg_type != SV2_MSG_SUBMIT_SHARES_ERROR);
        if (got.msg_type == SV2_MSG_SUBMIT_SHARES_ERROR) {
            sv2_bytes code = got.body.submit_shares_error.error_code;
            if (code.len != strlen("stale-share") || memcmp(code.data, "stale-share", code.len) != 0)
                die("share rejected");
            printf("share %u stale (job %u)\n", (unsigned)sequence, (unsigned)w.job_id);
        } else {
            CHECK(got.body.submit_shares_success.last_sequence_number == sequence);
            printf("share %u accepted (job %u)\n", (unsigned)sequence, (unsigned)w.job_id);
            accepted++;
        }
        sequence++;
        TRY(sv2_client_channel_work(ch, NULL, 0, &w));
        if (w.job_id != job) {
            job = w.job_id;
            nonce = 0;
        }
    }
    sv2_client_channel_free(ch);
    sv2_session_free(s);
    close(fd);
    return 0;
}
