//! Keys, certificates and sessions through the C ABI: the handshake both ways, messages over
//! it, and the documented answer to every bad input (garbage handshake bytes, forged frames,
//! wrong or expired certificates, bad keys and key text).

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use sv2_ffi::keys::*;
use sv2_ffi::messages::*;
use sv2_ffi::result::sv2_result_message;
use sv2_ffi::session::*;
use sv2_ffi::sv2_result::{self, Ok as OK};

const NOW: u32 = 1_750_000_000;

struct Authority {
    secret: [u8; 32],
    public: [u8; 32],
}

fn authority() -> Authority {
    let (mut secret, mut public) = ([0u8; 32], [0u8; 32]);
    assert_eq!(unsafe { sv2_authority_keypair_generate(secret.as_mut_ptr(), public.as_mut_ptr()) }, OK);
    Authority { secret, public }
}

fn credentials(a: &Authority, from: u32, until: u32) -> *mut sv2_server_credentials {
    let mut c = null_mut();
    assert_eq!(unsafe { sv2_server_credentials_issue(a.secret.as_ptr(), null(), from, until, &mut c) }, OK);
    c
}

fn initiator(key: &[u8; 32], now: u32) -> *mut sv2_session {
    let mut s = null_mut();
    assert_eq!(unsafe { sv2_session_new_initiator(key.as_ptr(), now, &mut s) }, OK);
    s
}

fn responder(c: *const sv2_server_credentials) -> *mut sv2_session {
    let mut s = null_mut();
    assert_eq!(unsafe { sv2_session_new_responder(c, &mut s) }, OK);
    s
}

fn output(s: *mut sv2_session) -> Vec<u8> {
    let (mut d, mut n) = (null(), 0);
    assert_eq!(unsafe { sv2_session_pending_output(s, &mut d, &mut n) }, OK);
    let v = if n == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(d, n) }.to_vec() };
    assert_eq!(unsafe { sv2_session_consume_output(s, n) }, OK);
    v
}

/// Moves `from`'s output into `to`; the result of `to`'s receive.
fn deliver(from: *mut sv2_session, to: *mut sv2_session) -> sv2_result {
    let bytes = output(from);
    unsafe { sv2_session_receive(to, bytes.as_ptr(), bytes.len()) }
}

fn established(s: *mut sv2_session) -> bool {
    let mut up = false;
    assert_eq!(unsafe { sv2_session_is_established(s, &mut up) }, OK);
    up
}

fn setup_success(version: u16) -> sv2_message {
    let mut m = unsafe { std::mem::zeroed::<sv2_message>() };
    m.msg_type = SV2_MSG_SETUP_CONNECTION_SUCCESS;
    m.body.setup_connection_success = sv2_setup_connection_success { used_version: version, flags: 3 };
    m
}

fn free(sessions: &[*mut sv2_session]) {
    sessions.iter().for_each(|s| unsafe { sv2_session_free(*s) });
}

#[test]
fn handshake_and_messages_both_ways() {
    let a = authority();
    let creds = credentials(&a, NOW - 10, NOW + 3600);
    let (c, s) = (initiator(&a.public, NOW), responder(creds));
    let mut server_key = [0u8; 32];
    assert_eq!(unsafe { sv2_server_credentials_export(creds, null_mut(), server_key.as_mut_ptr(), null_mut()) }, OK);
    unsafe { sv2_server_credentials_free(creds) };

    assert!(!established(c) && !established(s));
    let m = setup_success(2);
    assert_eq!(unsafe { sv2_session_send(c, &m, null(), 0) }, sv2_result::NotEstablished);
    let act1 = output(c);
    assert_eq!(act1.len(), 64);
    // Any chunking: the responder answers once the 64 bytes are in.
    assert_eq!(unsafe { sv2_session_receive(s, act1.as_ptr(), 10) }, OK);
    assert!(!established(s));
    assert_eq!(unsafe { sv2_session_receive(s, act1[10..].as_ptr(), 54) }, OK);
    assert!(established(s));
    assert_eq!(deliver(s, c), OK);
    assert!(established(c));
    let mut got_key = [0u8; 32];
    assert_eq!(unsafe { sv2_session_server_key(c, got_key.as_mut_ptr()) }, OK);
    assert_eq!(got_key, server_key);

    for (from, to, v) in [(c, s, 2u16), (s, c, 3), (c, s, 4)] {
        assert_eq!(unsafe { sv2_session_send(from, &setup_success(v), null(), 0) }, OK);
        assert_eq!(deliver(from, to), OK);
        let mut got = unsafe { std::mem::zeroed::<sv2_message>() };
        assert_eq!(unsafe { sv2_session_next_message(to, &mut got, null_mut()) }, OK);
        assert_eq!(unsafe { (got.msg_type, got.body.setup_connection_success.used_version) }, (1, v));
        assert_eq!(unsafe { sv2_session_next_message(to, &mut got, null_mut()) }, sv2_result::NeedMoreData);
    }

    // A raw frame of an unknown extension passes through; decoding it is an error that
    // leaves the session usable.
    assert_eq!(unsafe { sv2_session_send_frame(c, 0x0042, 7, true, b"abc".as_ptr(), 3) }, OK);
    assert_eq!(unsafe { sv2_session_send(c, &setup_success(9), null(), 0) }, OK);
    assert_eq!(deliver(c, s), OK);
    let mut got = unsafe { std::mem::zeroed::<sv2_message>() };
    assert_eq!(unsafe { sv2_session_next_message(s, &mut got, null_mut()) }, sv2_result::UnknownMessage);
    assert_eq!(unsafe { sv2_session_next_message(s, &mut got, null_mut()) }, OK);
    assert_eq!(unsafe { got.body.setup_connection_success.used_version }, 9);
    free(&[c, s]);
}

#[test]
fn frames_keep_their_ids_and_channel_bit() {
    let a = authority();
    let creds = credentials(&a, 0, u32::MAX);
    let (c, s) = (initiator(&a.public, NOW), responder(creds));
    assert_eq!(deliver(c, s), OK);
    assert_eq!(deliver(s, c), OK);
    assert_eq!(unsafe { sv2_session_send_frame(s, 0x8042, 7, false, b"xyz".as_ptr(), 3) }, OK);
    assert_eq!(unsafe { sv2_session_send_frame(s, 0x0042, 8, true, null(), 0) }, OK);
    assert_eq!(deliver(s, c), OK);
    let mut f = unsafe { std::mem::zeroed::<sv2_frame>() };
    assert_eq!(unsafe { sv2_session_next_frame(c, &mut f) }, OK);
    let payload = unsafe { std::slice::from_raw_parts(f.payload.data, f.payload.len) }.to_vec();
    assert_eq!((f.extension_type, f.msg_type, f.channel_msg, &payload[..]), (0x42, 7, false, &b"xyz"[..]));
    assert_eq!(unsafe { sv2_session_next_frame(c, &mut f) }, OK);
    assert_eq!((f.extension_type, f.msg_type, f.channel_msg, f.payload.len), (0x42, 8, true, 0));
    // Over the 24-bit length: refused before the payload pointer is read.
    let r = unsafe { sv2_session_send_frame(s, 0, 1, false, b"x".as_ptr(), 1 << 24) };
    assert_eq!(r, sv2_result::TooLong);
    unsafe { sv2_server_credentials_free(creds) };
    free(&[c, s]);
}

#[test]
fn certificates_are_checked_by_the_client() {
    let a = authority();
    let other = authority();
    let cases = [
        (credentials(&other, NOW - 10, NOW + 10), sv2_result::InvalidCertificateSignature),
        (credentials(&a, NOW + 100, NOW + 200), sv2_result::CertificateNotYetValid),
        (credentials(&a, NOW - 200, NOW - 100), sv2_result::CertificateExpired),
    ];
    for (creds, want) in cases {
        let (c, s) = (initiator(&a.public, NOW), responder(creds));
        assert_eq!(deliver(c, s), OK);
        assert_eq!(deliver(s, c), want);
        assert!(!established(c));
        // The failure is final.
        assert_eq!(unsafe { sv2_session_receive(c, [0u8; 1].as_ptr(), 1) }, sv2_result::SessionFailed);
        unsafe { sv2_server_credentials_free(creds) };
        free(&[c, s]);
    }
}

#[test]
fn credentials_are_rebuilt_from_exported_parts() {
    let a = authority();
    let creds = credentials(&a, NOW - 10, NOW + 10);
    let (mut secret, mut public, mut cert) = ([0u8; 32], [0u8; 32], [0u8; SV2_CERTIFICATE_LEN]);
    assert_eq!(
        unsafe { sv2_server_credentials_export(creds, secret.as_mut_ptr(), public.as_mut_ptr(), cert.as_mut_ptr()) },
        OK
    );
    let mut again = null_mut();
    assert_eq!(unsafe { sv2_server_credentials_new(secret.as_ptr(), cert.as_ptr(), &mut again) }, OK);
    let (c, s) = (initiator(&a.public, NOW), responder(again));
    assert_eq!(deliver(c, s), OK);
    assert_eq!(deliver(s, c), OK);
    let mut key = [0u8; 32];
    assert_eq!(unsafe { sv2_session_server_key(c, key.as_mut_ptr()) }, OK);
    assert_eq!(key, public);

    // The same secret, issued again with a fixed static key, keeps the public key.
    let mut fixed = null_mut();
    assert_eq!(unsafe { sv2_server_credentials_issue(a.secret.as_ptr(), secret.as_ptr(), 0, 1, &mut fixed) }, OK);
    let mut public2 = [0u8; 32];
    assert_eq!(unsafe { sv2_server_credentials_export(fixed, null_mut(), public2.as_mut_ptr(), null_mut()) }, OK);
    assert_eq!(public2, public);

    // A garbage certificate is accepted by the server and refused by the client.
    let mut forged = null_mut();
    assert_eq!(
        unsafe { sv2_server_credentials_new(secret.as_ptr(), [0x5a; SV2_CERTIFICATE_LEN].as_ptr(), &mut forged) },
        OK
    );
    let (c2, s2) = (initiator(&a.public, NOW), responder(forged));
    assert_eq!(deliver(c2, s2), OK);
    assert_eq!(deliver(s2, c2), sv2_result::InvalidCertificateSignature);
    for p in [creds, again, fixed, forged] {
        unsafe { sv2_server_credentials_free(p) };
    }
    free(&[c, s, c2, s2]);
}

#[test]
fn garbage_handshake_and_transport_bytes_are_refused() {
    let a = authority();
    let creds = credentials(&a, 0, u32::MAX);

    // Garbage where the server's answer belongs.
    let c = initiator(&a.public, NOW);
    let junk: Vec<u8> = (0..234u32).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(unsafe { sv2_session_receive(c, junk.as_ptr(), junk.len()) }, sv2_result::HandshakeFailed);
    free(&[c]);

    // The server takes any 64 bytes as an ephemeral key (NX authenticates the server only);
    // the client's answer then fails the check.
    let s = responder(creds);
    assert_eq!(unsafe { sv2_session_receive(s, junk.as_ptr(), 64) }, OK);
    let c = initiator(&a.public, NOW);
    assert_eq!(deliver(s, c), sv2_result::HandshakeFailed);
    free(&[c, s]);

    // A flipped bit in a transport frame.
    let (c, s) = (initiator(&a.public, NOW), responder(creds));
    assert_eq!(deliver(c, s), OK);
    assert_eq!(deliver(s, c), OK);
    assert_eq!(unsafe { sv2_session_send(c, &setup_success(2), null(), 0) }, OK);
    let mut frame = output(c);
    frame[30] ^= 1;
    assert_eq!(unsafe { sv2_session_receive(s, frame.as_ptr(), frame.len()) }, OK);
    let mut got = unsafe { std::mem::zeroed::<sv2_message>() };
    assert_eq!(unsafe { sv2_session_next_message(s, &mut got, null_mut()) }, sv2_result::DecryptFailed);
    assert_eq!(unsafe { sv2_session_next_message(s, &mut got, null_mut()) }, sv2_result::SessionFailed);
    assert_eq!(unsafe { sv2_session_send(s, &setup_success(2), null(), 0) }, sv2_result::SessionFailed);
    free(&[c, s]);

    // A frame over the receiver's limit.
    let (c, s) = (initiator(&a.public, NOW), responder(creds));
    assert_eq!(deliver(c, s), OK);
    assert_eq!(deliver(s, c), OK);
    assert_eq!(unsafe { sv2_session_set_max_payload(s, 4) }, OK);
    assert_eq!(unsafe { sv2_session_send(c, &setup_success(2), null(), 0) }, OK);
    assert_eq!(deliver(c, s), OK);
    let mut f = unsafe { std::mem::zeroed::<sv2_frame>() };
    assert_eq!(unsafe { sv2_session_next_frame(s, &mut f) }, sv2_result::FrameTooLarge);
    free(&[c, s]);
    unsafe { sv2_server_credentials_free(creds) };
}

#[test]
fn bad_keys_and_key_text_are_refused() {
    let zero = [0u8; 32];
    let order = [0xff_u8; 32]; // above the curve order
    let mut out = [0xaa_u8; 32];
    let mut c = null_mut();
    for bad in [&zero, &order] {
        assert_eq!(unsafe { sv2_authority_public_key(bad.as_ptr(), out.as_mut_ptr()) }, sv2_result::InvalidKey);
        assert_eq!(unsafe { sv2_server_credentials_issue(bad.as_ptr(), null(), 0, 1, &mut c) }, sv2_result::InvalidKey);
        assert_eq!(
            unsafe { sv2_server_credentials_new(bad.as_ptr(), [0; SV2_CERTIFICATE_LEN].as_ptr(), &mut c) },
            sv2_result::InvalidKey
        );
    }
    assert!(c.is_null());
    // x = 5 is not on secp256k1.
    let mut off_curve = [0u8; 32];
    off_curve[31] = 5;
    let mut s = null_mut();
    assert_eq!(unsafe { sv2_session_new_initiator(off_curve.as_ptr(), NOW, &mut s) }, sv2_result::InvalidKey);
    assert_eq!(
        unsafe { sv2_authority_key_format(off_curve.as_ptr(), [0; 64].as_mut_ptr(), 64, &mut 0) },
        sv2_result::InvalidKey
    );
    assert!(s.is_null());
    for text in [c"", c"not base58 0OIl", c"9bDuixKmZqAJnrmP746n8zU1wyAQRrus7th9dxnkPg6RzQvCnaX", c"\xff\xfe"] {
        assert_eq!(
            unsafe { sv2_authority_key_parse(text.as_ptr(), out.as_mut_ptr()) },
            sv2_result::InvalidAuthorityKey
        );
    }
    assert_eq!(out, [0xaa; 32]);

    // Text round trip, and the size answer.
    let a = authority();
    let mut text = [0 as std::ffi::c_char; SV2_AUTHORITY_KEY_TEXT_MAX + 1];
    let mut len = 0;
    assert_eq!(unsafe { sv2_authority_key_format(a.public.as_ptr(), text.as_mut_ptr(), text.len(), &mut len) }, OK);
    let s = unsafe { CStr::from_ptr(text.as_ptr()) };
    assert_eq!(s.to_bytes().len(), len);
    assert_eq!(unsafe { sv2_authority_key_parse(text.as_ptr(), out.as_mut_ptr()) }, OK);
    assert_eq!(out, a.public);
    let mut short = [0x11 as std::ffi::c_char; 8];
    let mut untouched = 77;
    let r = unsafe { sv2_authority_key_format(a.public.as_ptr(), short.as_mut_ptr(), 8, &mut untouched) };
    assert_eq!((r, untouched, short), (sv2_result::InsufficientSize, 77, [0x11; 8]));
    let mut public = [0u8; 32];
    assert_eq!(unsafe { sv2_authority_public_key(a.secret.as_ptr(), public.as_mut_ptr()) }, OK);
    assert_eq!(public, a.public);
}

#[test]
fn deterministic_initiators_send_the_same_first_message() {
    let a = authority();
    let entropy = [9u8; 32];
    let mut s1 = null_mut();
    let mut s2 = null_mut();
    assert_eq!(
        unsafe { sv2_session_new_initiator_with_entropy(a.public.as_ptr(), entropy.as_ptr(), NOW, &mut s1) },
        OK
    );
    assert_eq!(
        unsafe { sv2_session_new_initiator_with_entropy(a.public.as_ptr(), entropy.as_ptr(), NOW, &mut s2) },
        OK
    );
    assert_eq!(output(s1), output(s2));
    free(&[s1, s2]);
}

#[test]
fn plaintext_sessions_carry_frames_unencrypted() {
    let (mut a, mut b) = (null_mut(), null_mut());
    assert_eq!(unsafe { sv2_session_new_plaintext(&mut a) }, OK);
    assert_eq!(unsafe { sv2_session_new_plaintext(&mut b) }, OK);
    assert!(established(a));
    assert_eq!(unsafe { sv2_session_send(a, &setup_success(2), null(), 0) }, OK);
    let bytes = output(a);
    assert_eq!(bytes, [0, 0, 1, 6, 0, 0, 2, 0, 3, 0, 0, 0]);
    assert_eq!(unsafe { sv2_session_receive(b, bytes.as_ptr(), bytes.len()) }, OK);
    let mut got = unsafe { std::mem::zeroed::<sv2_message>() };
    assert_eq!(unsafe { sv2_session_next_message(b, &mut got, null_mut()) }, OK);
    free(&[a, b]);
}

#[test]
fn every_result_has_its_own_message() {
    let mut seen = std::collections::HashSet::new();
    for n in [
        0, 1, 2, 3, 4, 5, 6, 100, 101, 102, 103, 104, 105, 106, 107, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209,
        210, 299, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 320, 321, 322, 323, 324, 325, 326, 327,
    ] {
        let text = unsafe { CStr::from_ptr(sv2_result_message(n)) }.to_str().expect("ASCII");
        assert_ne!(text, "unknown result", "{n}");
        assert!(seen.insert(text), "{n} repeats {text}");
    }
    for n in [-1, 7, 99, 108, 310, 328, i32::MIN, i32::MAX] {
        assert_eq!(unsafe { CStr::from_ptr(sv2_result_message(n)) }.to_str(), Ok("unknown result"));
    }
}
