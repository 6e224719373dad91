//! An initiator (client) session fed arbitrary act-2 bytes and after. In "real act 2" mode the
//! fixture server's act 2 is used with up to three byte mutations, an authority that did or
//! did not sign the certificate (or none), a clock and a certificate window from the input:
//! any mutation must fail the handshake (HandshakeDecryptFailed), and otherwise the outcome
//! is exactly what the certificate rules say. Never panics; errors are fatal.
//!
//! Input: flags (bit 0: real act 2; bits 1-2: 0/3 right authority, 1 wrong, 2 insecure;
//! bit 3: certificate window from the input), now (U32), valid_from (U32),
//! not_valid_after (U32), chunking seed, mutation count (0-3), (position, xor) pairs, then
//! the bytes after act 2 (or for raw mode, everything the server sends).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv2::noise::{NoiseError, ServerAuth, ServerCredentials, Session, ACT2_LEN, CLOCK_SKEW_SECS};
use sv2_fuzz::{
    assert_session_dead, authority, bound_allocations, credentials, feed_session, other_authority, seed_corpus_dir,
    Input, CLIENT_EPHEMERAL, SERVER_EPHEMERAL, SERVER_STATIC,
};

fuzz_target!(init: seed_corpus_dir("noise_initiator"), |data: &[u8]| {
    let _ = credentials();
    bound_allocations(data.len());
    let mut input = Input::new(data);
    let flags = input.u8();
    let (now, valid_from, not_valid_after) = (input.u32(), input.u32(), input.u32());
    let seed = input.u8();
    let auth = match (flags >> 1) & 3 {
        1 => ServerAuth::Authority(other_authority().public_key()),
        2 => ServerAuth::InsecureAcceptAnyServer,
        _ => ServerAuth::Authority(authority().public_key()),
    };
    let window = flags & 8 == 8;
    let mut client = Session::initiator(auth, CLIENT_EPHEMERAL, now).expect("initiator");
    let act1 = client.take_output();

    let real = flags & 1 == 1;
    let mut stream = Vec::new();
    let mut tampered = false;
    if real {
        let creds = if window {
            ServerCredentials::issue(authority(), SERVER_STATIC, valid_from, not_valid_after, &[9; 32])
                .expect("credentials")
        } else {
            *credentials()
        };
        let mut server = Session::responder(&creds, SERVER_EPHEMERAL).expect("responder");
        server.receive(&act1).expect("the client's act 1");
        stream = server.take_output();
        for _ in 0..input.u8() % 4 {
            let (pos, xor) = (usize::from(input.u8()) % ACT2_LEN, input.u8());
            stream[pos] ^= xor;
            tampered |= xor != 0;
        }
        if tampered {
            // Mutations may cancel out.
            let mut fresh = Session::responder(&creds, SERVER_EPHEMERAL).expect("responder");
            fresh.receive(&act1).expect("act 1");
            tampered = fresh.take_output() != stream;
        }
    }
    stream.extend_from_slice(input.rest());

    let (_, err) = feed_session(&mut client, &stream, seed);
    if stream.len() < ACT2_LEN {
        assert_eq!(err, None, "a handshake cut short is no error");
        assert!(!client.is_established());
        assert!(matches!(client.next_frame(), Ok(None)));
        return;
    }
    if real {
        let handshake_err = err.filter(|e| !matches!(e, NoiseError::DecryptFailed | NoiseError::Codec(_)));
        let expected = if tampered {
            Some(NoiseError::HandshakeDecryptFailed)
        } else {
            match ((flags >> 1) & 3, window) {
                (1, _) => Some(NoiseError::InvalidCertificateSignature),
                (2, _) | (_, false) => None,
                _ if now.saturating_add(CLOCK_SKEW_SECS) < valid_from => {
                    Some(NoiseError::CertificateNotYetValid { valid_from, now })
                }
                _ if now.saturating_sub(CLOCK_SKEW_SECS) > not_valid_after => {
                    Some(NoiseError::CertificateExpired { not_valid_after, now })
                }
                _ => None,
            }
        };
        assert_eq!(handshake_err, expected);
        if expected.is_none() {
            let info = client.handshake_info().expect("handshake done");
            assert_eq!(info.server_static_key, credentials().static_public_key());
        }
    }
    match err {
        Some(_) => assert_session_dead(&mut client),
        None => assert!(client.is_established()),
    }
});
