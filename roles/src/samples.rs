//! One plausible instance of every Stratum V2 message, for the wire demo.

use sv2::codec::{Bytes, Seq};
use sv2::messages::*;
use sv2::Message;

const HASH_A: [u8; 32] = [0xaa; 32];
const HASH_B: [u8; 32] = [0xbb; 32];
const PATH: [[u8; 32]; 2] = [HASH_A, HASH_B];
const DIFF1_TARGET: [u8; 32] = {
    let mut t = [0u8; 32];
    t[26] = 0xff;
    t[27] = 0xff;
    t
};
const CHANNELS: [u32; 3] = [1, 2, 3];
const EXTENSIONS: [u16; 1] = [0x0002];
const POSITIONS: [u16; 2] = [0, 4];
const TX: &[u8] = &[0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03];

fn b<const N: usize>(bytes: &'static [u8]) -> Bytes<'static, N> {
    Bytes::new(bytes).unwrap_or(Bytes::EMPTY)
}

fn seq<T, const N: usize>(items: &'static [T]) -> Seq<'static, T, N>
where
    T: Copy + sv2::codec::Encode + sv2::codec::Decode<'static>,
{
    Seq::new(items).unwrap_or(Seq::EMPTY)
}

/// Messages in the order a session would see them: (sent by the client?, message).
pub fn all() -> Vec<(bool, Message<'static>)> {
    static TXS: [Bytes<'static, 16_777_215>; 2] = match Bytes::new(TX) {
        Ok(tx) => [tx, tx],
        Err(_) => [Bytes::EMPTY, Bytes::EMPTY],
    };
    let txs: &'static [Bytes<'static, 16_777_215>] = &TXS;
    vec![
        (
            true,
            SetupConnection {
                protocol: 0,
                min_version: 2,
                max_version: 2,
                flags: 0b101,
                endpoint_host: b(b"pool.example"),
                endpoint_port: 3333,
                vendor: b(b"libsv2"),
                hardware_version: b(b"cpu"),
                firmware: b(b"0.1.0"),
                device_id: b(b""),
            }
            .into(),
        ),
        (false, SetupConnectionSuccess { used_version: 2, flags: 0 }.into()),
        (false, SetupConnectionError { flags: 0b10, error_code: b(b"unsupported-feature-flags") }.into()),
        (false, ChannelEndpointChanged { channel_id: 7 }.into()),
        (false, Reconnect { new_host: b(b""), new_port: 34255 }.into()),
        (true, RequestExtensions { request_id: 1, requested_extensions: seq(&EXTENSIONS) }.into()),
        (false, RequestExtensionsSuccess { request_id: 1, supported_extensions: seq(&EXTENSIONS) }.into()),
        (
            false,
            RequestExtensionsError {
                request_id: 1,
                unsupported_extensions: seq(&EXTENSIONS),
                required_extensions: Seq::EMPTY,
            }
            .into(),
        ),
        (
            true,
            OpenStandardMiningChannel {
                request_id: 1,
                user_identity: b(b"alice.w1"),
                nominal_hash_rate: 1.0e14,
                max_target: [0xff; 32],
            }
            .into(),
        ),
        (
            false,
            OpenStandardMiningChannelSuccess {
                request_id: 1,
                channel_id: 7,
                target: DIFF1_TARGET,
                extranonce_prefix: b(&[0, 0, 0, 1]),
                group_channel_id: 100,
            }
            .into(),
        ),
        (false, OpenMiningChannelError { request_id: 2, error_code: b(b"unknown-user") }.into()),
        (
            true,
            OpenExtendedMiningChannel {
                request_id: 3,
                user_identity: b(b"alice.proxy"),
                nominal_hash_rate: 5.0e15,
                max_target: [0xff; 32],
                min_extranonce_size: 8,
            }
            .into(),
        ),
        (
            false,
            OpenExtendedMiningChannelSuccess {
                request_id: 3,
                channel_id: 8,
                target: DIFF1_TARGET,
                extranonce_size: 8,
                extranonce_prefix: b(&[0, 0, 0, 2]),
                group_channel_id: 100,
            }
            .into(),
        ),
        (
            false,
            NewMiningJob { channel_id: 7, job_id: 42, min_ntime: None, version: 0x2000_0000, merkle_root: HASH_A }
                .into(),
        ),
        (
            false,
            NewExtendedMiningJob {
                channel_id: 8,
                job_id: 43,
                min_ntime: None,
                version: 0x2000_0000,
                version_rolling_allowed: true,
                merkle_path: seq(&PATH),
                coinbase_tx_prefix: b(&[0x02, 0, 0, 0, 1, 0, 0, 0]),
                coinbase_tx_suffix: b(&[0xff, 0xff, 0xff, 0xff]),
            }
            .into(),
        ),
        (
            false,
            SetNewPrevHash {
                channel_id: 7,
                job_id: 42,
                prev_hash: HASH_B,
                min_ntime: 1_700_000_000,
                nbits: 0x207f_ffff,
            }
            .into(),
        ),
        (false, SetTarget { channel_id: 7, maximum_target: DIFF1_TARGET }.into()),
        (false, SetGroupChannel { group_channel_id: 100, channel_ids: seq(&CHANNELS) }.into()),
        (true, UpdateChannel { channel_id: 7, nominal_hash_rate: 2.0e14, maximum_target: [0xff; 32] }.into()),
        (false, UpdateChannelError { channel_id: 9, error_code: b(b"invalid-channel-id") }.into()),
        (false, SetExtranoncePrefix { channel_id: 8, extranonce_prefix: b(&[0, 0, 0, 3]) }.into()),
        (
            true,
            SubmitSharesStandard {
                channel_id: 7,
                sequence_number: 0,
                job_id: 42,
                nonce: 0xdead_beef,
                ntime: 1_700_000_001,
                version: 0x2000_2000,
            }
            .into(),
        ),
        (
            true,
            SubmitSharesExtended {
                channel_id: 8,
                sequence_number: 1,
                job_id: 43,
                nonce: 7,
                ntime: 1_700_000_002,
                version: 0x2000_0000,
                extranonce: b(&[1, 2, 3, 4, 5, 6, 7, 8]),
            }
            .into(),
        ),
        (
            false,
            SubmitSharesSuccess {
                channel_id: 7,
                last_sequence_number: 1,
                new_submits_accepted_count: 2,
                new_shares_sum: 2,
            }
            .into(),
        ),
        (false, SubmitSharesError { channel_id: 7, sequence_number: 2, error_code: b(b"stale-share") }.into()),
        (
            true,
            SetCustomMiningJob {
                channel_id: 8,
                request_id: 4,
                mining_job_token: b(b"token-1"),
                version: 0x2000_0000,
                prev_hash: HASH_B,
                min_ntime: 1_700_000_000,
                nbits: 0x207f_ffff,
                coinbase_tx_version: 2,
                coinbase_prefix: b(&[0x03, 0x65, 0x00, 0x00]),
                coinbase_tx_input_nsequence: 0xffff_ffff,
                coinbase_tx_outputs: b(&[0x00]),
                coinbase_tx_locktime: 0,
                merkle_path: seq(&PATH),
            }
            .into(),
        ),
        (false, SetCustomMiningJobSuccess { channel_id: 8, request_id: 4, job_id: 44 }.into()),
        (
            false,
            SetCustomMiningJobError { channel_id: 8, request_id: 5, error_code: b(b"invalid-mining-job-token") }.into(),
        ),
        (true, CloseChannel { channel_id: 7, reason_code: b(b"shutting-down") }.into()),
        (true, AllocateMiningJobToken { user_identifier: b(b"alice"), request_id: 1 }.into()),
        (
            false,
            AllocateMiningJobTokenSuccess {
                request_id: 1,
                mining_job_token: b(b"token-1"),
                coinbase_tx_outputs: b(&[0x00]),
            }
            .into(),
        ),
        (
            true,
            DeclareMiningJob {
                request_id: 2,
                mining_job_token: b(b"token-1"),
                version: 0x2000_0000,
                coinbase_tx_prefix: b(&[0x02, 0, 0, 0]),
                coinbase_tx_suffix: b(&[0xff, 0xff, 0xff, 0xff]),
                wtxid_list: seq(&PATH),
                excess_data: b(b""),
            }
            .into(),
        ),
        (false, ProvideMissingTransactions { request_id: 2, unknown_tx_position_list: seq(&POSITIONS) }.into()),
        (true, ProvideMissingTransactionsSuccess { request_id: 2, transaction_list: seq(txs) }.into()),
        (false, DeclareMiningJobSuccess { request_id: 2, new_mining_job_token: b(b"token-2") }.into()),
        (false, DeclareMiningJobError { request_id: 3, error_code: b(b"invalid-job"), error_details: b(b"") }.into()),
        (
            true,
            PushSolution {
                extranonce: b(&[0, 0, 0, 2, 1, 2, 3, 4]),
                prev_hash: HASH_B,
                nonce: 7,
                ntime: 1_700_000_002,
                nbits: 0x207f_ffff,
                version: 0x2000_0000,
            }
            .into(),
        ),
        (
            true,
            CoinbaseOutputConstraints {
                coinbase_output_max_additional_size: 100,
                coinbase_output_max_additional_sigops: 400,
            }
            .into(),
        ),
        (
            false,
            NewTemplate {
                template_id: 1,
                future_template: true,
                version: 0x2000_0000,
                coinbase_tx_version: 2,
                coinbase_prefix: b(&[0x02, 0x65, 0x00]),
                coinbase_tx_input_sequence: 0xffff_ffff,
                coinbase_tx_value_remaining: 5_000_000_000,
                coinbase_tx_outputs_count: 0,
                coinbase_tx_outputs: b(b""),
                coinbase_tx_locktime: 0,
                merkle_path: seq(&PATH),
            }
            .into(),
        ),
        (
            false,
            SetNewPrevHashTdp {
                template_id: 1,
                prev_hash: HASH_B,
                header_timestamp: 1_700_000_000,
                nbits: 0x207f_ffff,
                target: [0xff; 32],
            }
            .into(),
        ),
        (true, RequestTransactionData { template_id: 1 }.into()),
        (
            false,
            RequestTransactionDataSuccess { template_id: 1, excess_data: b(b""), transaction_list: seq(txs) }.into(),
        ),
        (false, RequestTransactionDataError { template_id: 0, error_code: b(b"template-id-not-found") }.into()),
        (
            true,
            SubmitSolution {
                template_id: 1,
                version: 0x2000_0000,
                header_timestamp: 1_700_000_002,
                header_nonce: 7,
                coinbase_tx: b(TX),
            }
            .into(),
        ),
    ]
}
