//! A responder (server) session fed arbitrary bytes as act 1 and after it: never panics,
//! allocates in proportion to its input, and once an error is returned refuses all use.
//! In "valid act 1" mode the fixture client's real act 1 comes first, so the handshake must
//! succeed (234 bytes of act 2 queued) and only transport bytes can fail, as DecryptFailed or
//! FrameTooLarge.
//!
//! Input: flags (bit 0: prepend a valid act 1; bit 1: max_payload = `limit × 4`), chunking
//! seed, `limit`, then the bytes the client sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv2::codec::CodecError;
use sv2::noise::{NoiseError, Session, ACT1_LEN, ACT2_LEN};
use sv2_fuzz::{
    assert_session_dead, bound_allocations, credentials, feed_session, seed_corpus_dir, valid_act1, Input,
    SERVER_EPHEMERAL,
};

fuzz_target!(init: seed_corpus_dir("noise_responder"), |data: &[u8]| {
    let act1 = valid_act1();
    bound_allocations(data.len());
    let mut input = Input::new(data);
    let (flags, seed, limit) = (input.u8(), input.u8(), input.u8());
    let valid = flags & 1 == 1;
    let stream = if valid { [act1, input.rest()].concat() } else { input.rest().to_vec() };

    let mut server = Session::responder(credentials(), SERVER_EPHEMERAL).expect("responder");
    if flags & 2 == 2 {
        server.set_max_payload(usize::from(limit) * 4);
    }
    let (_, err) = feed_session(&mut server, &stream, seed);
    let out = server.take_output();

    if stream.len() < ACT1_LEN {
        // A handshake cut short: no output, no frames, no error, waiting for more.
        assert_eq!(err, None);
        assert!(out.is_empty() && !server.is_established());
        assert!(matches!(server.next_frame(), Ok(None)));
        return;
    }
    if valid {
        assert_eq!(out.len(), ACT2_LEN, "a valid act 1 is answered with act 2");
        assert!(
            matches!(err, None | Some(NoiseError::DecryptFailed | NoiseError::Codec(CodecError::FrameTooLarge { .. }))),
            "{err:?}"
        );
    }
    match err {
        Some(_) => assert_session_dead(&mut server),
        None => assert!(server.is_established()),
    }
});
