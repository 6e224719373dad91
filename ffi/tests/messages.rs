//! Every message of every sub-protocol through the C structs: random valid payloads decode
//! into `sv2_message` and encode back to the same bytes, framed and unframed; garbage payloads
//! never panic; every SV2_MSG_* constant names the message rust-core gives that id.

use std::mem::MaybeUninit;

use sv2::codec::Encode;
use sv2::messages::ALL_MESSAGE_IDS;
use sv2::Message;
use sv2_ffi::decoder::*;
use sv2_ffi::messages::*;
use sv2_ffi::session::sv2_frame;
use sv2_ffi::sv2_result;
use sv2_ffi::views::*;

/// xorshift64*: deterministic test data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A length that is usually small and sometimes the type's maximum.
    fn len(&mut self, max: usize) -> usize {
        match self.below(8) {
            0 => max,
            1 => 0,
            _ => self.below(max.min(40) + 1),
        }
    }
}

/// Field kinds, in the spec's wire format.
const SCHEMAS: &[(&str, &str)] = &[
    ("SetupConnection", "u8 u16 u16 u32 str u16 str str str str"),
    ("SetupConnectionSuccess", "u16 u32"),
    ("SetupConnectionError", "u32 str"),
    ("ChannelEndpointChanged", "u32"),
    ("Reconnect", "str u16"),
    ("OpenStandardMiningChannel", "u32 str f32 u256"),
    ("OpenStandardMiningChannelSuccess", "u32 u32 u256 b32 u32"),
    ("OpenMiningChannelError", "u32 str"),
    ("OpenExtendedMiningChannel", "u32 str f32 u256 u16"),
    ("OpenExtendedMiningChannelSuccess", "u32 u32 u256 u16 b32 u32"),
    ("NewMiningJob", "u32 u32 opt u32 u256"),
    ("UpdateChannel", "u32 f32 u256"),
    ("UpdateChannelError", "u32 str"),
    ("CloseChannel", "u32 str"),
    ("SetExtranoncePrefix", "u32 b32"),
    ("SubmitSharesStandard", "u32 u32 u32 u32 u32 u32"),
    ("SubmitSharesExtended", "u32 u32 u32 u32 u32 u32 b32"),
    ("SubmitSharesSuccess", "u32 u32 u32 u64"),
    ("SubmitSharesError", "u32 u32 str"),
    ("NewExtendedMiningJob", "u32 u32 opt u32 bool seq255_u256 b64k b64k"),
    ("SetNewPrevHash", "u32 u32 u256 u32 u32"),
    ("SetTarget", "u32 u256"),
    ("SetCustomMiningJob", "u32 u32 b255 u32 u256 u32 u32 u32 b255 u32 b64k u32 seq255_u256"),
    ("SetCustomMiningJobSuccess", "u32 u32 u32"),
    ("SetCustomMiningJobError", "u32 u32 str"),
    ("SetGroupChannel", "u32 seq64k_u32"),
    ("AllocateMiningJobToken", "str u32"),
    ("AllocateMiningJobTokenSuccess", "u32 b255 b64k"),
    ("ProvideMissingTransactions", "u32 seq64k_u16"),
    ("ProvideMissingTransactionsSuccess", "u32 seq64k_b16m"),
    ("DeclareMiningJob", "u32 b255 u32 b64k b64k seq64k_u256 b64k"),
    ("DeclareMiningJobSuccess", "u32 b255"),
    ("DeclareMiningJobError", "u32 str b64k"),
    ("PushSolution", "b32 u256 u32 u32 u32 u32"),
    ("CoinbaseOutputConstraints", "u32 u16"),
    ("NewTemplate", "u64 bool u32 u32 b255 u32 u64 u32 b64k u32 seq255_u256"),
    ("SetNewPrevHashTdp", "u64 u256 u32 u32 u256"),
    ("RequestTransactionData", "u64"),
    ("RequestTransactionDataSuccess", "u64 b64k seq64k_b16m"),
    ("RequestTransactionDataError", "u64 str"),
    ("SubmitSolution", "u64 u32 u32 u32 b64k"),
    ("RequestExtensions", "u16 seq64k_u16"),
    ("RequestExtensionsSuccess", "u16 seq64k_u16"),
    ("RequestExtensionsError", "u16 seq64k_u16 seq64k_u16"),
];

fn prefixed(out: &mut Vec<u8>, prefix: usize, len: usize) {
    out.extend_from_slice(&(len as u32).to_le_bytes()[..prefix]);
}

/// A random valid payload for `schema`.
fn payload(rng: &mut Rng, schema: &str) -> Vec<u8> {
    let mut p = Vec::new();
    for kind in schema.split(' ') {
        match kind {
            "u8" | "u16" | "u32" | "u64" | "u256" => {
                let n = match kind {
                    "u8" => 1,
                    "u16" => 2,
                    "u32" => 4,
                    "u64" => 8,
                    _ => 32,
                };
                p.extend(rng.bytes(n));
            }
            "f32" => p.extend_from_slice(&(rng.below(1 << 20) as f32 * 1.5).to_le_bytes()),
            "bool" => p.push(rng.below(2) as u8),
            "opt" => match rng.below(2) {
                0 => p.push(0),
                _ => {
                    p.push(1);
                    p.extend(rng.bytes(4));
                }
            },
            "str" | "b32" | "b255" | "b64k" => {
                let (prefix, max) = match kind {
                    "b32" => (1, 32),
                    "b64k" => (2, 300),
                    _ => (1, 255),
                };
                let n = rng.len(max);
                prefixed(&mut p, prefix, n);
                p.extend(rng.bytes(n));
            }
            "seq255_u256" | "seq64k_u256" | "seq64k_u32" | "seq64k_u16" => {
                let prefix = if kind.starts_with("seq255") { 1 } else { 2 };
                let size = match kind {
                    "seq64k_u32" => 4,
                    "seq64k_u16" => 2,
                    _ => 32,
                };
                let n = rng.len(20);
                prefixed(&mut p, prefix, n);
                p.extend(rng.bytes(n * size));
            }
            "seq64k_b16m" => {
                let n = rng.len(6);
                prefixed(&mut p, 2, n);
                for _ in 0..n {
                    let len = rng.len(70);
                    prefixed(&mut p, 3, len);
                    p.extend(rng.bytes(len));
                }
            }
            other => panic!("unknown field kind {other}"),
        }
    }
    p
}

fn decode(ext: u16, ty: u8, payload: &[u8]) -> Result<(sv2_message, sv2_bytes), sv2_result> {
    let mut m = MaybeUninit::<sv2_message>::uninit();
    let mut tlvs = sv2_bytes { data: std::ptr::null(), len: 0 };
    let r = unsafe { sv2_message_decode(ext, ty, payload.as_ptr(), payload.len(), m.as_mut_ptr(), &mut tlvs) };
    match r {
        sv2_result::Ok => Ok((unsafe { m.assume_init() }, tlvs)),
        e => Err(e),
    }
}

fn encode(m: &sv2_message) -> Result<Vec<u8>, sv2_result> {
    let mut len = 0;
    let r = unsafe { sv2_message_encoded_len(m, &mut len) };
    if r != sv2_result::Ok {
        return Err(r);
    }
    let mut out = vec![0u8; len];
    let mut written = 0;
    match unsafe { sv2_message_encode(m, out.as_mut_ptr(), out.len(), &mut written) } {
        sv2_result::Ok => {
            assert_eq!(written, len);
            Ok(out)
        }
        e => Err(e),
    }
}

fn frame(m: &sv2_message) -> Vec<u8> {
    let mut len = 0;
    assert_eq!(unsafe { sv2_frame_encoded_len(m, std::ptr::null(), 0, &mut len) }, sv2_result::Ok);
    let mut out = vec![0u8; len];
    let mut written = 0;
    let r = unsafe { sv2_frame_encode(m, std::ptr::null(), 0, out.as_mut_ptr(), out.len(), &mut written) };
    assert_eq!(r, sv2_result::Ok);
    assert_eq!(written, len);
    out
}

#[test]
fn every_message_round_trips_through_the_c_structs() {
    let mut rng = Rng(0x5eed_f573);
    for &(ext, ty, channel_msg, name) in ALL_MESSAGE_IDS {
        let schema = SCHEMAS.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no schema for {name}")).1;
        for round in 0..200 {
            let p = payload(&mut rng, schema);
            // The schema is right when rust-core takes the payload whole.
            let (rust, tlvs) = Message::decode(ext, ty, &p).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(tlvs.as_bytes().is_empty(), "{name}: schema shorter than the message");

            let (c, c_tlvs) = decode(ext, ty, &p).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!((c.extension_type, c.msg_type, c_tlvs.len), (ext, ty, 0), "{name}");
            assert_eq!(encode(&c).unwrap_or_else(|e| panic!("{name}: {e:?}")), p, "{name} round {round}");

            // Framed: the header carries the ids, the spec's channel bit and the length.
            let f = frame(&c);
            let ext_field = u16::from_le_bytes([f[0], f[1]]);
            assert_eq!(ext_field, ext | if channel_msg { 0x8000 } else { 0 }, "{name}");
            assert_eq!((f[2], &f[6..]), (ty, &p[..]), "{name}");
            assert_eq!(rust.encoded_len(), p.len());
        }
    }
}

#[test]
fn frames_stream_through_the_decoder_in_any_chunking() {
    let mut rng = Rng(77);
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for &(ext, ty, _, name) in ALL_MESSAGE_IDS {
        let schema = SCHEMAS.iter().find(|(n, _)| *n == name).map(|s| s.1).unwrap_or_default();
        let p = payload(&mut rng, schema);
        let (c, _) = decode(ext, ty, &p).expect("valid payload");
        stream.extend(frame(&c));
        expected.push((ext, ty, p));
    }
    let mut d = std::ptr::null_mut();
    assert_eq!(unsafe { sv2_frame_decoder_new(1 << 20, &mut d) }, sv2_result::Ok);
    let mut got = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let n = (1 + rng.below(97)).min(stream.len() - pos);
        assert_eq!(unsafe { sv2_frame_decoder_push(d, stream[pos..].as_ptr(), n) }, sv2_result::Ok);
        pos += n;
        loop {
            let mut f = MaybeUninit::<sv2_frame>::uninit();
            match unsafe { sv2_frame_decoder_next(d, f.as_mut_ptr()) } {
                sv2_result::Ok => {
                    let f = unsafe { f.assume_init() };
                    let payload = unsafe { std::slice::from_raw_parts(f.payload.data, f.payload.len) };
                    got.push((f.extension_type, f.msg_type, payload.to_vec()));
                }
                sv2_result::NeedMoreData => break,
                e => panic!("{e:?}"),
            }
        }
    }
    unsafe { sv2_frame_decoder_free(d) };
    assert_eq!(got, expected);
}

#[test]
fn garbage_payloads_never_panic_and_what_decodes_re_encodes() {
    let mut rng = Rng(0xbad);
    let mut decoded = 0;
    for &(ext, ty, _, name) in ALL_MESSAGE_IDS {
        let schema = SCHEMAS.iter().find(|(n, _)| *n == name).map(|s| s.1).unwrap_or_default();
        for i in 0..500 {
            // Half pure noise, half valid payloads with a few bytes changed, cut or added.
            let p = if i % 2 == 0 {
                let len = rng.below(120);
                rng.bytes(len)
            } else {
                let mut p = payload(&mut rng, schema);
                for _ in 0..1 + rng.below(3) {
                    match rng.below(3) {
                        0 if !p.is_empty() => {
                            let at = rng.below(p.len());
                            p[at] = rng.next() as u8;
                        }
                        1 => p.truncate(rng.below(p.len() + 1)),
                        _ => {
                            let n = rng.below(8);
                            p.extend(rng.bytes(n));
                        }
                    }
                }
                p
            };
            match decode(ext, ty, &p) {
                Ok((c, tlvs)) => {
                    decoded += 1;
                    let again = encode(&c).unwrap_or_else(|e| panic!("{name}: decoded but does not encode: {e:?}"));
                    assert_eq!(again.len() + tlvs.len, p.len(), "{name}");
                    let (c2, _) = decode(ext, ty, &again).expect("re-encoded payload decodes");
                    assert_eq!(encode(&c2).expect("encodes"), again, "{name}");
                }
                Err(e) => assert!((e as i32) >= 100 && (e as i32) < 200, "{name}: {e:?}"),
            }
        }
    }
    // Enough garbage decodes for the re-encoding check to mean something.
    assert!(decoded > 2_000, "only {decoded} garbage payloads decoded");
    // Unknown ids, with and without the channel bit.
    for (ext, ty) in [(0u16, 0x7fu8), (0x8000, 0x7f), (0x0003, 0x00), (0x0001, 0x10)] {
        assert_eq!(decode(ext, ty, &[]).err(), Some(sv2_result::UnknownMessage));
    }
}

#[test]
fn encode_refuses_out_of_range_views() {
    let long = [b'x'; 256];
    let mut m = decode(0, SV2_MSG_SETUP_CONNECTION_ERROR, &[0, 0, 0, 0, 0]).expect("decodes").0;
    m.body.setup_connection_error.error_code = sv2_bytes { data: long.as_ptr(), len: 256 };
    assert_eq!(encode(&m).err(), Some(sv2_result::TooLong));
    // A length no buffer has: refused before any byte is read.
    m.body.setup_connection_error.error_code = sv2_bytes { data: long.as_ptr(), len: usize::MAX };
    assert_eq!(encode(&m).err(), Some(sv2_result::TooLong));
    m.body.setup_connection_error.error_code = sv2_bytes { data: std::ptr::null(), len: 3 };
    assert_eq!(encode(&m).err(), Some(sv2_result::NullParameter));

    // A bytes list whose wire bytes do not hold `count` items.
    let mut m = decode(0, SV2_MSG_PROVIDE_MISSING_TRANSACTIONS_SUCCESS, &[1, 0, 0, 0, 0, 0]).expect("decodes").0;
    let wire = [2u8, 0, 0, 9];
    m.body.provide_missing_transactions_success.transaction_list =
        sv2_bytes_list { wire: wire.as_ptr(), wire_len: 4, count: 1 };
    assert_eq!(encode(&m).err(), Some(sv2_result::UnexpectedEnd));
    m.body.provide_missing_transactions_success.transaction_list.count = 70_000;
    assert_eq!(encode(&m).err(), Some(sv2_result::TooLong));

    // Unknown ids.
    m.msg_type = 0x7f;
    assert_eq!(encode(&m).err(), Some(sv2_result::UnknownMessage));

    // A buffer one byte short is refused and left untouched.
    let ok = decode(0, SV2_MSG_SETUP_CONNECTION_SUCCESS, &[2, 0, 1, 0, 0, 0]).expect("decodes").0;
    let mut buf = [0xee_u8; 5];
    let mut written = 99;
    let r = unsafe { sv2_message_encode(&ok, buf.as_mut_ptr(), buf.len(), &mut written) };
    assert_eq!((r, written, buf), (sv2_result::InsufficientSize, 99, [0xee; 5]));
    let mut frame_buf = [0xee_u8; 11];
    let r = unsafe { sv2_frame_encode(&ok, std::ptr::null(), 0, frame_buf.as_mut_ptr(), 11, &mut written) };
    assert_eq!((r, written, frame_buf), (sv2_result::InsufficientSize, 99, [0xee; 11]));
}

#[test]
fn native_lists_encode_like_decoded_ones() {
    let ids = [1u32, 2, 70_000];
    let exts = [2u16, 0x0100];
    let mut m = decode(0, SV2_MSG_SET_GROUP_CHANNEL, &[5, 0, 0, 0, 0, 0]).expect("decodes").0;
    m.body.set_group_channel.channel_ids = sv2_u32_list { items: ids.as_ptr(), wire: std::ptr::null(), count: 3 };
    let p = encode(&m).expect("encodes");
    let (back, _) = decode(0, SV2_MSG_SET_GROUP_CHANNEL, &p).expect("decodes");
    let list = unsafe { back.body.set_group_channel.channel_ids };
    for (i, want) in ids.iter().enumerate() {
        let mut v = 0;
        assert_eq!(unsafe { sv2_u32_list_get(&list, i, &mut v) }, sv2_result::Ok);
        assert_eq!(v, *want);
    }
    let mut v = 7;
    assert_eq!(unsafe { sv2_u32_list_get(&list, 3, &mut v) }, sv2_result::InvalidArgument);
    assert_eq!(v, 7);

    let mut m = decode(SV2_EXTENSION_NEGOTIATION, SV2_MSG_REQUEST_EXTENSIONS, &[1, 0, 0, 0]).expect("decodes").0;
    m.body.request_extensions.requested_extensions =
        sv2_u16_list { items: exts.as_ptr(), wire: std::ptr::null(), count: 2 };
    let p = encode(&m).expect("encodes");
    assert_eq!(p, [1, 0, 2, 0, 2, 0, 0, 1]);
    let (back, _) = decode(SV2_EXTENSION_NEGOTIATION, SV2_MSG_REQUEST_EXTENSIONS, &p).expect("decodes");
    let mut v = 0;
    let list = unsafe { back.body.request_extensions.requested_extensions };
    assert_eq!(unsafe { sv2_u16_list_get(&list, 1, &mut v) }, sv2_result::Ok);
    assert_eq!(v, 0x0100);
}

#[test]
fn bytes_lists_are_built_and_read_item_by_item() {
    let (a, b) = (b"first".as_slice(), b"".as_slice());
    let items = [sv2_bytes { data: a.as_ptr(), len: a.len() }, sv2_bytes { data: b.as_ptr(), len: 0 }];
    let mut wire = [0u8; 64];
    let mut n = 0;
    assert_eq!(unsafe { sv2_bytes_list_encode(items.as_ptr(), 2, wire.as_mut_ptr(), 64, &mut n) }, sv2_result::Ok);
    assert_eq!(&wire[..n], b"\x05\x00\x00first\x00\x00\x00");
    let mut short = 99;
    assert_eq!(
        unsafe { sv2_bytes_list_encode(items.as_ptr(), 2, wire.as_mut_ptr(), 10, &mut short) },
        sv2_result::InsufficientSize
    );
    assert_eq!(short, 99);
    let list = sv2_bytes_list { wire: wire.as_ptr(), wire_len: n, count: 2 };
    let mut item = sv2_bytes { data: std::ptr::null(), len: 0 };
    assert_eq!(unsafe { sv2_bytes_list_get(&list, 0, &mut item) }, sv2_result::Ok);
    assert_eq!(unsafe { std::slice::from_raw_parts(item.data, item.len) }, a);
    assert_eq!(unsafe { sv2_bytes_list_get(&list, 2, &mut item) }, sv2_result::InvalidArgument);
    let garbage = sv2_bytes_list { wire: wire.as_ptr(), wire_len: n, count: 3 };
    assert_eq!(unsafe { sv2_bytes_list_get(&garbage, 0, &mut item) }, sv2_result::UnexpectedEnd);
}

#[test]
fn a_bytes_list_is_walked_once_from_start_to_end() {
    // The largest transaction list there can be: 65 535 items of 0 to 4 bytes.
    let items: Vec<Vec<u8>> = (0..65_535u32).map(|i| i.to_le_bytes()[..(i % 5) as usize].to_vec()).collect();
    let views: Vec<sv2_bytes> = items.iter().map(|v| sv2_bytes { data: v.as_ptr(), len: v.len() }).collect();
    let mut wire = vec![0u8; items.iter().map(|v| 3 + v.len()).sum()];
    let mut n = 0;
    assert_eq!(
        unsafe { sv2_bytes_list_encode(views.as_ptr(), views.len(), wire.as_mut_ptr(), wire.len(), &mut n) },
        sv2_result::Ok
    );
    let list = sv2_bytes_list { wire: wire.as_ptr(), wire_len: n, count: items.len() };
    // Each call reads one item and moves the cursor past exactly that item's bytes: the whole
    // walk reads the list once, however long it is.
    let (mut offset, mut item) = (0usize, sv2_bytes { data: std::ptr::null(), len: 0 });
    for want in &items {
        let before = offset;
        assert_eq!(unsafe { sv2_bytes_list_next(&list, &mut offset, &mut item) }, sv2_result::Ok);
        assert_eq!(offset - before, 3 + want.len());
        assert_eq!(unsafe { std::slice::from_raw_parts(item.data, item.len) }, &want[..]);
    }
    assert_eq!(offset, n);
    assert_eq!(unsafe { sv2_bytes_list_next(&list, &mut offset, &mut item) }, sv2_result::NotFound);
    assert_eq!(offset, n);

    // An item is read without looking at the ones after it; a cut item or a cursor past the
    // end is an error that moves nothing.
    let cut = sv2_bytes_list { wire: wire.as_ptr(), wire_len: 3 + 3, count: 3 };
    let mut offset = 0;
    assert_eq!(unsafe { sv2_bytes_list_next(&cut, &mut offset, &mut item) }, sv2_result::Ok);
    assert_eq!(unsafe { sv2_bytes_list_next(&cut, &mut offset, &mut item) }, sv2_result::UnexpectedEnd);
    assert_eq!(offset, 3);
    let mut past = n + 1;
    assert_eq!(unsafe { sv2_bytes_list_next(&list, &mut past, &mut item) }, sv2_result::InvalidArgument);
}

#[test]
fn tlvs_are_appended_found_and_checked() {
    let ok = decode(0, SV2_MSG_SUBMIT_SHARES_EXTENDED, &[0; 25]).expect("decodes").0;
    let worker = b"rig-7";
    let tlv = sv2_tlv {
        extension_type: SV2_EXTENSION_WORKER_HASHRATE_TRACKING,
        field_type: SV2_TLV_FIELD_USER_IDENTITY,
        value: sv2_bytes { data: worker.as_ptr(), len: worker.len() },
    };
    let mut buf = [0u8; 64];
    let mut n = 0;
    assert_eq!(unsafe { sv2_frame_encode(&ok, &tlv, 1, buf.as_mut_ptr(), 64, &mut n) }, sv2_result::Ok);
    assert_eq!(n, 6 + 25 + 5 + worker.len());
    let (_, tlvs) = decode(0, SV2_MSG_SUBMIT_SHARES_EXTENDED, &buf[6..n]).expect("decodes with a TLV");
    let mut v = sv2_bytes { data: std::ptr::null(), len: 0 };
    assert_eq!(unsafe { sv2_tlvs_find(tlvs, 2, 1, &mut v) }, sv2_result::Ok);
    assert_eq!(unsafe { std::slice::from_raw_parts(v.data, v.len) }, worker);
    assert_eq!(unsafe { sv2_tlvs_find(tlvs, 2, 9, &mut v) }, sv2_result::NotFound);
    let garbage = [2u8, 0, 1, 200, 0, 1];
    let g = sv2_bytes { data: garbage.as_ptr(), len: garbage.len() };
    assert_eq!(unsafe { sv2_tlvs_find(g, 2, 1, &mut v) }, sv2_result::InvalidTlv);
    assert_eq!(
        decode(0, SV2_MSG_SUBMIT_SHARES_EXTENDED, &[&[0u8; 25][..], &garbage].concat()).err(),
        Some(sv2_result::InvalidTlv)
    );
}

/// (name, value) of every SV2_MSG_* constant.
macro_rules! consts {
    ($($c:ident),* $(,)?) => { &[$((stringify!($c), $c)),*] };
}

#[test]
fn message_id_constants_match_the_core() {
    let ids: &[(&str, u8)] = consts![
        SV2_MSG_SETUP_CONNECTION,
        SV2_MSG_SETUP_CONNECTION_SUCCESS,
        SV2_MSG_SETUP_CONNECTION_ERROR,
        SV2_MSG_CHANNEL_ENDPOINT_CHANGED,
        SV2_MSG_RECONNECT,
        SV2_MSG_OPEN_STANDARD_MINING_CHANNEL,
        SV2_MSG_OPEN_STANDARD_MINING_CHANNEL_SUCCESS,
        SV2_MSG_OPEN_MINING_CHANNEL_ERROR,
        SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL,
        SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL_SUCCESS,
        SV2_MSG_NEW_MINING_JOB,
        SV2_MSG_UPDATE_CHANNEL,
        SV2_MSG_UPDATE_CHANNEL_ERROR,
        SV2_MSG_CLOSE_CHANNEL,
        SV2_MSG_SET_EXTRANONCE_PREFIX,
        SV2_MSG_SUBMIT_SHARES_STANDARD,
        SV2_MSG_SUBMIT_SHARES_EXTENDED,
        SV2_MSG_SUBMIT_SHARES_SUCCESS,
        SV2_MSG_SUBMIT_SHARES_ERROR,
        SV2_MSG_NEW_EXTENDED_MINING_JOB,
        SV2_MSG_SET_NEW_PREV_HASH,
        SV2_MSG_SET_TARGET,
        SV2_MSG_SET_CUSTOM_MINING_JOB,
        SV2_MSG_SET_CUSTOM_MINING_JOB_SUCCESS,
        SV2_MSG_SET_CUSTOM_MINING_JOB_ERROR,
        SV2_MSG_SET_GROUP_CHANNEL,
        SV2_MSG_ALLOCATE_MINING_JOB_TOKEN,
        SV2_MSG_ALLOCATE_MINING_JOB_TOKEN_SUCCESS,
        SV2_MSG_PROVIDE_MISSING_TRANSACTIONS,
        SV2_MSG_PROVIDE_MISSING_TRANSACTIONS_SUCCESS,
        SV2_MSG_DECLARE_MINING_JOB,
        SV2_MSG_DECLARE_MINING_JOB_SUCCESS,
        SV2_MSG_DECLARE_MINING_JOB_ERROR,
        SV2_MSG_PUSH_SOLUTION,
        SV2_MSG_COINBASE_OUTPUT_CONSTRAINTS,
        SV2_MSG_NEW_TEMPLATE,
        SV2_MSG_SET_NEW_PREV_HASH_TDP,
        SV2_MSG_REQUEST_TRANSACTION_DATA,
        SV2_MSG_REQUEST_TRANSACTION_DATA_SUCCESS,
        SV2_MSG_REQUEST_TRANSACTION_DATA_ERROR,
        SV2_MSG_SUBMIT_SOLUTION,
        SV2_MSG_REQUEST_EXTENSIONS,
        SV2_MSG_REQUEST_EXTENSIONS_SUCCESS,
        SV2_MSG_REQUEST_EXTENSIONS_ERROR,
    ];
    assert_eq!(ids.len(), ALL_MESSAGE_IDS.len());
    for &(ext, ty, _, name) in ALL_MESSAGE_IDS {
        // "SetNewPrevHashTdp" -> "SV2_MSG_SET_NEW_PREV_HASH_TDP"
        let mut want = String::from("SV2_MSG");
        for c in name.chars() {
            if c.is_ascii_uppercase() {
                want.push('_');
            }
            want.push(c.to_ascii_uppercase());
        }
        let (_, v) = ids.iter().find(|(n, _)| *n == want).unwrap_or_else(|| panic!("no constant {want}"));
        assert_eq!(*v, ty, "{want}");
        assert_eq!(ext == SV2_EXTENSION_NEGOTIATION, name.starts_with("RequestExtensions"), "{name}");
    }
}

#[test]
fn protocol_flag_and_extension_constants_match_the_core() {
    use sv2::codec::{EXTENSION_WORKER_HASHRATE_TRACKING, FIELD_USER_IDENTITY, USER_IDENTITY_MAX};
    use sv2::messages::{job_declaration_flags as jd, mining_flags as mf, mining_success_flags as ms, Protocol};
    assert_eq!(Protocol::Mining.setup_value(), Some(SV2_PROTOCOL_MINING));
    assert_eq!(Protocol::JobDeclaration.setup_value(), Some(SV2_PROTOCOL_JOB_DECLARATION));
    assert_eq!(Protocol::TemplateDistribution.setup_value(), Some(SV2_PROTOCOL_TEMPLATE_DISTRIBUTION));
    assert_eq!(
        [
            SV2_MINING_FLAG_REQUIRES_STANDARD_JOBS,
            SV2_MINING_FLAG_REQUIRES_WORK_SELECTION,
            SV2_MINING_FLAG_REQUIRES_VERSION_ROLLING
        ],
        [mf::REQUIRES_STANDARD_JOBS, mf::REQUIRES_WORK_SELECTION, mf::REQUIRES_VERSION_ROLLING]
    );
    assert_eq!(
        [SV2_MINING_SUCCESS_FLAG_REQUIRES_FIXED_VERSION, SV2_MINING_SUCCESS_FLAG_REQUIRES_EXTENDED_CHANNELS],
        [ms::REQUIRES_FIXED_VERSION, ms::REQUIRES_EXTENDED_CHANNELS]
    );
    assert_eq!(SV2_JD_FLAG_DECLARE_TX_DATA, jd::DECLARE_TX_DATA);
    assert_eq!(SV2_EXTENSION_WORKER_HASHRATE_TRACKING, EXTENSION_WORKER_HASHRATE_TRACKING);
    assert_eq!(SV2_TLV_FIELD_USER_IDENTITY, FIELD_USER_IDENTITY);
    assert_eq!(SV2_TLV_USER_IDENTITY_MAX, USER_IDENTITY_MAX);
    assert_eq!(
        Protocol::Extension(SV2_EXTENSION_NEGOTIATION),
        Message::decode(1, 0, &[0, 0, 0, 0]).expect("decodes").0.protocol()
    );
}
