//! Frame encode + decode of three hot messages. Each iteration writes a whole frame (header
//! and payload) into a reused buffer, parses the header, decodes the payload through the
//! crate's dispatch on the message type, and reads every field of the result once (so a lazy
//! decoder pays for what it deferred).
//!
//! Reference path: `MessageFrame::from_message` + `encode_into`, `SerializedFrame::from_bytes`,
//! `AnyMessage::try_from((header, payload))` — its cheapest dispatching decode
//! (`parse_message_frame_with_tlvs` adds a copy of the payload). Its encoder consumes the
//! message, so each iteration clones the prepared message (for the two job messages that
//! clones the merkle-path vector).

use std::hint::black_box;

use binary_sv2::{Seq0255, Sv2Option, U256 as RefU256};
use framing_sv2::framing::{EncodableFrame, MessageFrame, SerializedFrame};
use mining_sv2 as mi;
use parsers_sv2::{AnyMessage, Mining, TemplateDistribution};
use sv2::codec::{encode_frame, Bytes, FrameHeader, Seq, HEADER_LEN};
use sv2::messages::{NewExtendedMiningJob, NewTemplate, SubmitSharesExtended};
use sv2::Message;
use template_distribution_sv2 as td;

use crate::data::{coinbase_suffix, merkle_path, witness_commitment_output};
use crate::harness::{each, Harness};

/// What a consumer reads of a byte string: its length and its ends (reading every byte would
/// time the reader, not the decoder).
fn bytes(b: &[u8]) -> u64 {
    b.len() as u64 + u64::from(b.first().copied().unwrap_or(0)) + u64::from(b.last().copied().unwrap_or(0))
}

/// Reads every field of one of the three messages (and every item of a sequence).
fn digest_ours(m: &Message<'_>) -> u64 {
    match m {
        Message::SubmitSharesExtended(s) => {
            u64::from(s.channel_id ^ s.sequence_number ^ s.job_id ^ s.nonce ^ s.ntime ^ s.version)
                + bytes(s.extranonce.as_bytes())
        }
        Message::NewExtendedMiningJob(j) => {
            u64::from(j.channel_id ^ j.job_id ^ j.min_ntime.unwrap_or(0) ^ j.version)
                + u64::from(j.version_rolling_allowed)
                + j.merkle_path.iter().map(|h| bytes(&h)).sum::<u64>()
                + bytes(j.coinbase_tx_prefix.as_bytes())
                + bytes(j.coinbase_tx_suffix.as_bytes())
        }
        Message::NewTemplate(t) => {
            t.template_id
                + u64::from(t.future_template)
                + u64::from(t.version ^ t.coinbase_tx_version ^ t.coinbase_tx_input_sequence)
                + bytes(t.coinbase_prefix.as_bytes())
                + t.coinbase_tx_value_remaining
                + u64::from(t.coinbase_tx_outputs_count ^ t.coinbase_tx_locktime)
                + bytes(t.coinbase_tx_outputs.as_bytes())
                + t.merkle_path.iter().map(|h| bytes(&h)).sum::<u64>()
        }
        _ => unreachable!("only the three benchmarked messages are decoded"),
    }
}

/// The same reading of the reference's decoded message.
fn digest_reference(m: &AnyMessage<'_>) -> u64 {
    match m {
        AnyMessage::Mining(Mining::SubmitSharesExtended(s)) => {
            u64::from(s.channel_id ^ s.sequence_number ^ s.job_id ^ s.nonce ^ s.ntime ^ s.version)
                + bytes(s.extranonce.as_bytes())
        }
        AnyMessage::Mining(Mining::NewExtendedMiningJob(j)) => {
            u64::from(j.channel_id ^ j.job_id ^ j.min_ntime.as_ref().copied().unwrap_or(0) ^ j.version)
                + u64::from(j.version_rolling_allowed)
                + j.merkle_path.iter().map(|h| bytes(h.as_bytes())).sum::<u64>()
                + bytes(j.coinbase_tx_prefix.as_bytes())
                + bytes(j.coinbase_tx_suffix.as_bytes())
        }
        AnyMessage::TemplateDistribution(TemplateDistribution::NewTemplate(t)) => {
            t.template_id
                + u64::from(t.future_template)
                + u64::from(t.version ^ t.coinbase_tx_version ^ t.coinbase_tx_input_sequence)
                + bytes(t.coinbase_prefix.as_bytes())
                + t.coinbase_tx_value_remaining
                + u64::from(t.coinbase_tx_outputs_count ^ t.coinbase_tx_locktime)
                + bytes(t.coinbase_tx_outputs.as_bytes())
                + t.merkle_path.iter().map(|h| bytes(h.as_bytes())).sum::<u64>()
        }
        _ => unreachable!("only the three benchmarked messages are decoded"),
    }
}

/// Ours and the reference's encode+decode of the same message; checks first that both write
/// the same frame and read the same fields back.
fn compare<T>(h: &mut Harness, case: &str, ours: Message<'_>, theirs: T, (ty, channel_msg): (u8, bool))
where
    T: Clone + binary_sv2::Serialize + binary_sv2::GetSize,
{
    let mut buf = vec![0u8; 4096];
    let mut ref_buf = vec![0u8; 4096];

    let n = encode_frame(&ours, &[], &mut buf).expect("frame fits");
    let frame = MessageFrame::from_message(theirs.clone(), ty, 0, channel_msg).expect("frame fits");
    let m = frame.encoded_length();
    frame.encode_into(&mut ref_buf[..m]).expect("frame fits");
    assert_eq!(buf[..n], ref_buf[..m], "{case}: the two frames differ");
    let (msg, _) = Message::decode(ours.extension_type(), ours.msg_type(), &buf[HEADER_LEN..n]).expect("decodes");
    let mut frame = SerializedFrame::from_bytes(&mut ref_buf[..m]).expect("whole frame");
    let header = frame.header();
    let theirs_msg = AnyMessage::try_from((header, frame.payload())).expect("decodes");
    assert_eq!(digest_ours(&msg), digest_reference(&theirs_msg), "{case}: the two decoders read different fields");

    let mut ours_routine = each(|| {
        let n = encode_frame(black_box(&ours), &[], &mut buf).expect("frame fits");
        let header = FrameHeader::from_bytes(buf[..HEADER_LEN].try_into().expect("6 bytes"));
        let (msg, _tlvs) =
            Message::decode(header.extension_type, header.msg_type, &buf[HEADER_LEN..n]).expect("decodes");
        digest_ours(&msg)
    });
    let mut ref_routine = each(|| {
        let frame = MessageFrame::from_message(black_box(&theirs).clone(), ty, 0, channel_msg).expect("frame fits");
        let m = frame.encoded_length();
        frame.encode_into(&mut ref_buf[..m]).expect("frame fits");
        let mut frame = SerializedFrame::from_bytes(&mut ref_buf[..m]).expect("whole frame");
        let header = frame.header();
        let msg = AnyMessage::try_from((header, frame.payload())).expect("decodes");
        digest_reference(&msg)
    });
    h.case("codec", case, &mut ours_routine, Some(&mut ref_routine), None);
}

pub fn run(h: &mut Harness) {
    // SubmitSharesExtended with an 8-byte rolled extranonce.
    let extranonce = [0x5a; 8];
    let ours = SubmitSharesExtended {
        channel_id: 7,
        sequence_number: 1234,
        job_id: 42,
        nonce: 0xdead_beef,
        ntime: 1_780_000_000,
        version: 0x2000_0000,
        extranonce: Bytes::new(&extranonce).expect("8 bytes"),
    };
    let theirs = mi::SubmitSharesExtended {
        channel_id: 7,
        sequence_number: 1234,
        job_id: 42,
        nonce: 0xdead_beef,
        ntime: 1_780_000_000,
        version: 0x2000_0000,
        extranonce: (&extranonce[..]).try_into().expect("8 bytes"),
    };
    let id = (mi::MESSAGE_TYPE_SUBMIT_SHARES_EXTENDED, mi::CHANNEL_BIT_SUBMIT_SHARES_EXTENDED);
    compare(h, "SubmitSharesExtended enc+dec", ours.into(), theirs, id);

    // NewExtendedMiningJob: a 12-level merkle path (a block of ~4 000 transactions) and the
    // coinbase around its extranonce.
    let merkle = merkle_path();
    let prefix: Vec<u8> = (0..60u8).collect();
    let suffix = coinbase_suffix();
    let ours = NewExtendedMiningJob {
        channel_id: 7,
        job_id: 43,
        min_ntime: Some(1_780_000_000),
        version: 0x2000_0000,
        version_rolling_allowed: true,
        merkle_path: Seq::new(&merkle).expect("12 items"),
        coinbase_tx_prefix: Bytes::new(&prefix).expect("short"),
        coinbase_tx_suffix: Bytes::new(&suffix).expect("short"),
    };
    let path: Vec<RefU256<'_>> = merkle.iter().map(Into::into).collect();
    let theirs = mi::NewExtendedMiningJob {
        channel_id: 7,
        job_id: 43,
        min_ntime: Sv2Option::new(Some(1_780_000_000)),
        version: 0x2000_0000,
        version_rolling_allowed: true,
        merkle_path: Seq0255::new(path.clone()).expect("12 items"),
        coinbase_tx_prefix: (&prefix[..]).try_into().expect("short"),
        coinbase_tx_suffix: (&suffix[..]).try_into().expect("short"),
    };
    let id = (mi::MESSAGE_TYPE_NEW_EXTENDED_MINING_JOB, mi::CHANNEL_BIT_NEW_EXTENDED_MINING_JOB);
    compare(h, "NewExtendedMiningJob enc+dec", ours.into(), theirs, id);

    // NewTemplate: BIP34 height, the witness commitment output, the same merkle path.
    let height = [0x03, 0x40, 0x0d, 0x03];
    let outputs = witness_commitment_output();
    let ours = NewTemplate {
        template_id: 9001,
        future_template: false,
        version: 0x2000_0000,
        coinbase_tx_version: 2,
        coinbase_prefix: Bytes::new(&height).expect("short"),
        coinbase_tx_input_sequence: 0xffff_ffff,
        coinbase_tx_value_remaining: 312_500_000,
        coinbase_tx_outputs_count: 1,
        coinbase_tx_outputs: Bytes::new(&outputs).expect("short"),
        coinbase_tx_locktime: 0,
        merkle_path: Seq::new(&merkle).expect("12 items"),
    };
    let theirs = td::NewTemplate {
        template_id: 9001,
        future_template: false,
        version: 0x2000_0000,
        coinbase_tx_version: 2,
        coinbase_prefix: (&height[..]).try_into().expect("short"),
        coinbase_tx_input_sequence: 0xffff_ffff,
        coinbase_tx_value_remaining: 312_500_000,
        coinbase_tx_outputs_count: 1,
        coinbase_tx_outputs: (&outputs[..]).try_into().expect("short"),
        coinbase_tx_locktime: 0,
        merkle_path: Seq0255::new(path).expect("12 items"),
    };
    let id = (td::MESSAGE_TYPE_NEW_TEMPLATE, td::CHANNEL_BIT_NEW_TEMPLATE);
    compare(h, "NewTemplate enc+dec", ours.into(), theirs, id);
}
