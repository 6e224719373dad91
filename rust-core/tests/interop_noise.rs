//! Noise NX interoperability with the reference implementation (noise_sv2 2.0.0, with
//! codec_sv2 7.0.0's noise encoder/decoder for its transport side).
//!
//! - Our initiator against the reference `Responder`, and the reference `Initiator` against our
//!   responder; both initiators pin the authority key and verify the server certificate.
//! - Then frames both ways over the established transport: small frames, a zero-length payload,
//!   a frame with a TLV, and frames of 65 519, 65 520, 131 039 and 300 000 payload bytes that
//!   cross the 65 519-byte chunk boundary, delivered to our side in arbitrary pieces.
//! - Certificates from a wrong authority, expired or not yet valid are refused by ours with the
//!   matching error, and by the reference for certificates we issue.
//! - The same frames over a plaintext session against codec_sv2's plain encoder and decoder.
//!
//! The reference `Responder` stamps its certificate with the system clock (its fixed-time
//! variant needs a `rand` 0.8 generator we cannot name), so the tests that use it give our
//! initiator the system time too; the certificate is valid for an hour and both sides allow
//! ±10 s, so nothing depends on how long a step takes. Everything else uses fixed times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codec_sv2::{Decrypted, Handshake, NoiseDecoder, NoiseEncoder, TransportDecryptState, TransportEncryptState};
use framing_sv2::framing::{MessageFrame, SerializedFrame};
use sha2::{Digest, Sha256};
use sv2::codec::{frame_to_vec, Bytes, FrameHeader, Seq, Tlv, B0_16M};
use sv2::messages::*;
use sv2::noise::{
    encrypted_payload_len, AuthorityKeypair, AuthorityPublicKey, Certificate, Initiator, NoiseError, ServerAuth,
    ServerCredentials, Session, ACT1_LEN, ACT2_LEN, ENCRYPTED_HEADER_LEN, MAX_PLAINTEXT_CHUNK, PROTOCOL_NAME,
};

const AUTHORITY_SECRET: [u8; 32] = [0x11; 32];
const OTHER_AUTHORITY_SECRET: [u8; 32] = [0x22; 32];
const SERVER_STATIC_SECRET: [u8; 32] = [0x33; 32];
const CLIENT_EPHEMERAL: [u8; 32] = [0x44; 32];
const SERVER_EPHEMERAL: [u8; 32] = [0x55; 32];
/// Fixed unix time for the tests that do not involve the reference responder.
const NOW: u32 = 1_780_000_000;
const CERT_VALIDITY: u32 = 3600;

fn keypair(secret: &[u8; 32]) -> AuthorityKeypair {
    AuthorityKeypair::from_secret_bytes(secret).unwrap()
}

fn system_now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as u32
}

/// A reference responder whose certificate is signed by `authority` and valid for an hour from
/// the system time.
fn reference_responder(authority: &AuthorityKeypair) -> Handshake<noise_sv2::Responder> {
    let public = authority.public_key().to_bytes();
    let responder = noise_sv2::Responder::from_authority_kp(
        &public,
        &authority.secret_bytes(),
        Duration::from_secs(CERT_VALIDITY.into()),
    )
    .unwrap();
    Handshake::responder(responder)
}

/// Our credentials signed by `authority` for `[valid_from, not_valid_after]`.
fn our_credentials(authority: &AuthorityKeypair, valid_from: u32, not_valid_after: u32) -> ServerCredentials {
    ServerCredentials::issue(authority, SERVER_STATIC_SECRET, valid_from, not_valid_after, &[0x66; 32]).unwrap()
}

/// Runs our initiator (at time `now`) against a reference responder; returns our session after
/// it has read the responder's answer, or the error it refused it with.
fn our_initiator_against_reference(
    pinned: &AuthorityKeypair,
    signer: &AuthorityKeypair,
    now: u32,
) -> (Result<Session, NoiseError>, Option<codec_sv2::Transport>) {
    let mut client = Session::initiator(ServerAuth::Authority(pinned.public_key()), CLIENT_EPHEMERAL, now).unwrap();
    let act1 = client.take_output();
    assert_eq!(act1.len(), noise_sv2::ELLSWIFT_ENCODING_SIZE);
    let (act2, transport) = reference_responder(signer).step_1(act1.try_into().unwrap()).unwrap();
    let act2 = act2.payload();
    assert_eq!(act2.len(), noise_sv2::INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE);
    // The answer arrives in two pieces.
    let result = client.receive(&act2[..100]).and_then(|()| {
        assert!(!client.is_established());
        client.receive(&act2[100..])
    });
    (result.map(|()| client), Some(transport))
}

/// Runs the reference initiator (at time `now`) against our responder with `credentials`.
fn reference_initiator_against_ours(
    pinned: &AuthorityKeypair,
    credentials: &ServerCredentials,
    now: u32,
) -> (Session, Result<codec_sv2::Transport, codec_sv2::Error>) {
    let initiator = noise_sv2::Initiator::from_raw_k(pinned.public_key().to_bytes()).unwrap();
    let (act1, initiator) = Handshake::initiator(initiator).step_0().unwrap();
    assert_eq!(act1.payload().len(), ACT1_LEN);
    let mut server = Session::responder(credentials, SERVER_EPHEMERAL).unwrap();
    server.receive(act1.payload()).unwrap();
    assert!(server.is_established());
    let act2 = server.take_output();
    assert_eq!(act2.len(), ACT2_LEN);
    (server, initiator.step_2_with_now(act2.try_into().unwrap(), now))
}

// ---------------------------------------------------------------------------------------------
// The reference side of an established transport.
// ---------------------------------------------------------------------------------------------

struct Reference {
    encrypt: TransportEncryptState,
    decrypt: Option<TransportDecryptState>,
    encoder: NoiseEncoder,
    decoder: NoiseDecoder,
}

impl Reference {
    fn new(transport: codec_sv2::Transport) -> Self {
        let (encrypt, decrypt) = transport.split();
        Reference { encrypt, decrypt: Some(decrypt), encoder: NoiseEncoder::new(), decoder: NoiseDecoder::new() }
    }

    /// Encrypts a whole plaintext frame (header and payload).
    fn encrypt(&mut self, plain_frame: &[u8]) -> Vec<u8> {
        let frame = SerializedFrame::from_bytes(plain_frame.to_vec()).unwrap();
        let wire = self.encoder.encode_transport(frame, &mut self.encrypt).unwrap();
        AsRef::<[u8]>::as_ref(&wire).to_vec()
    }

    /// Encrypts a message the reference way.
    fn encrypt_message<T: binary_sv2::Serialize + binary_sv2::GetSize>(&mut self, frame: MessageFrame<T>) -> Vec<u8> {
        let wire = self.encoder.encode_transport(frame, &mut self.encrypt).unwrap();
        AsRef::<[u8]>::as_ref(&wire).to_vec()
    }

    /// Reads one frame from the front of `bytes`, filling the decoder exactly as much as it
    /// asks for; returns the plaintext frame and the bytes left over.
    fn decrypt<'b>(&mut self, mut bytes: &'b [u8]) -> (Vec<u8>, &'b [u8]) {
        let mut state = self.decrypt.take().unwrap();
        loop {
            let writable = self.decoder.writable();
            let n = writable.len();
            assert!(n <= bytes.len(), "the reference decoder wants {n} more bytes than were sent");
            writable.copy_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            match self.decoder.next_transport_frame(state).unwrap() {
                Decrypted::Frame(frame, next) => {
                    self.decrypt = Some(next);
                    return (frame.as_bytes().to_vec(), bytes);
                }
                Decrypted::Incomplete(_, next) => state = next,
            }
        }
    }
}

/// Plaintext frames to exchange: small messages, a zero-length payload, a TLV, and payloads
/// around and well past one 65 519-byte chunk.
fn frames() -> Vec<Vec<u8>> {
    let s = |x: &'static str| Bytes::new(x.as_bytes()).unwrap();
    let setup = SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags: 0b110,
        endpoint_host: s("pool.example"),
        endpoint_port: 3333,
        vendor: s("libsv2 interop"),
        hardware_version: s("hw"),
        firmware: s("fw"),
        device_id: Bytes::EMPTY,
    };
    let share = SubmitSharesExtended {
        channel_id: 3,
        sequence_number: 99,
        job_id: 17,
        nonce: 0xdead_beef,
        ntime: NOW,
        version: 0x2000_0000,
        extranonce: Bytes::new(&[7; 12]).unwrap(),
    };
    let mut out = vec![
        frame_to_vec(&Message::from(setup), &[]).unwrap(),
        frame_to_vec(&Message::from(SetupConnectionSuccess { used_version: 2, flags: 0 }), &[]).unwrap(),
        frame_to_vec(&Message::from(share), &[Tlv::user_identity("worker.7").unwrap()]).unwrap(),
        // An unknown extension with an empty payload: only the 22-byte header goes on the wire.
        FrameHeader { extension_type: 0x7f00, msg_type: 0x42, msg_length: 0 }.to_bytes().to_vec(),
    ];
    for payload_len in [MAX_PLAINTEXT_CHUNK, MAX_PLAINTEXT_CHUNK + 1, 2 * MAX_PLAINTEXT_CHUNK + 1, 300_000] {
        // template_id U64, excess_data B0_64K (empty), one B0_16M transaction.
        let tx: Vec<u8> = (0..payload_len - 15).map(|i| (i * 31 % 251) as u8).collect();
        let txs = [B0_16M::new(&tx).unwrap()];
        let msg = RequestTransactionDataSuccess {
            template_id: payload_len as u64,
            excess_data: Bytes::EMPTY,
            transaction_list: Seq::new(&txs).unwrap(),
        };
        let frame = frame_to_vec(&Message::from(msg), &[]).unwrap();
        assert_eq!(frame.len(), 6 + payload_len);
        out.push(frame);
    }
    out
}

fn ciphertext_len(plain_frame: &[u8]) -> usize {
    ENCRYPTED_HEADER_LEN + encrypted_payload_len(plain_frame.len() - 6)
}

/// Every frame both ways, one at a time and then all at once.
fn exchange(ours: &mut Session, theirs: &mut Reference) {
    let frames = frames();

    for plain in &frames {
        // Ours -> reference.
        let header = FrameHeader::from_bytes(plain[..6].try_into().unwrap());
        ours.send_frame(header, &plain[6..]).unwrap();
        let wire = ours.take_output();
        assert_eq!(wire.len(), ciphertext_len(plain));
        let (received, rest) = theirs.decrypt(&wire);
        assert!(rest.is_empty());
        assert!(received == *plain, "reference received a different frame of {} bytes", plain.len());

        // Reference -> ours, in pieces of 4 093 bytes (after a 1-byte piece), checking that no
        // frame appears before its last byte.
        let wire = theirs.encrypt(plain);
        assert_eq!(wire.len(), ciphertext_len(plain));
        let (first, rest) = wire.split_at(1);
        let mut pieces = vec![first];
        pieces.extend(rest.chunks(4093));
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            ours.receive(piece).unwrap();
            let frame = ours.next_frame().unwrap();
            if i < last {
                assert!(frame.is_none(), "frame complete before its last byte");
            } else {
                let frame = frame.expect("frame incomplete after its last byte");
                assert_eq!(frame.header.to_bytes(), plain[..6]);
                assert!(frame.payload == &plain[6..]);
            }
        }
    }

    // Several frames in one write each way.
    for plain in &frames {
        let header = FrameHeader::from_bytes(plain[..6].try_into().unwrap());
        ours.send_frame(header, &plain[6..]).unwrap();
    }
    let wire = ours.take_output();
    let mut rest = &wire[..];
    for plain in &frames {
        let (received, left) = theirs.decrypt(rest);
        assert!(received == *plain);
        rest = left;
    }
    assert!(rest.is_empty());

    let wire: Vec<u8> = frames.iter().flat_map(|plain| theirs.encrypt(plain)).collect();
    ours.receive(&wire).unwrap();
    for plain in &frames {
        let frame = ours.next_frame().unwrap().unwrap();
        assert_eq!(frame.header.to_bytes(), plain[..6]);
        assert!(frame.payload == &plain[6..]);
    }
    assert!(ours.next_frame().unwrap().is_none());

    // A message encoded by the reference's own message types, and decoded by ours.
    let success = common_messages_sv2::SetupConnectionSuccess { used_version: 2, flags: 0b11 };
    let frame = MessageFrame::from_message(success, 0x01, 0, false).unwrap();
    let wire = theirs.encrypt_message(frame);
    ours.receive(&wire).unwrap();
    let frame = ours.next_frame().unwrap().unwrap();
    let (msg, _) = frame.message().unwrap();
    assert_eq!(msg, Message::from(SetupConnectionSuccess { used_version: 2, flags: 0b11 }));
    // And one of ours, sent with `send`, decoded by the reference's message types.
    ours.send(&Message::from(ChannelEndpointChanged { channel_id: 0x0102_0304 }), &[]).unwrap();
    let wire = ours.take_output();
    let (plain, _) = theirs.decrypt(&wire);
    assert_eq!(&plain[..6], &[0x00, 0x80, 0x03, 0x04, 0x00, 0x00]);
    let decoded: common_messages_sv2::ChannelEndpointChanged =
        binary_sv2::from_bytes(&mut plain[6..].to_vec()).unwrap();
    assert_eq!(decoded.channel_id, 0x0102_0304);
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn sizes_and_constants_agree() {
    assert_eq!(ACT1_LEN, noise_sv2::ELLSWIFT_ENCODING_SIZE);
    assert_eq!(ACT2_LEN, noise_sv2::INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE);
    assert_eq!(ACT2_LEN, 234);
    assert_eq!(Certificate::LEN, noise_sv2::SIGNATURE_NOISE_MESSAGE_SIZE);
    assert_eq!(ENCRYPTED_HEADER_LEN, codec_sv2::ENCRYPTED_SV2_FRAME_HEADER_SIZE);
    assert_eq!(MAX_PLAINTEXT_CHUNK, codec_sv2::SV2_FRAME_PLAINTEXT_CHUNK_SIZE);
    let hashed: [u8; 32] = Sha256::digest(PROTOCOL_NAME.as_bytes()).into();
    assert_eq!(hashed, noise_sv2::NOISE_HASHED_PROTOCOL_NAME_CHACHA);
    for len in [0usize, 1, 65_518, 65_519, 65_520, 131_038, 131_039, 16_777_215] {
        let mut header = [0u8; 6];
        header[3..].copy_from_slice(&(len as u32).to_le_bytes()[..3]);
        let theirs = codec_sv2::encrypted_payload_length(&framing_sv2::header::Header::from_bytes(&header).unwrap());
        assert_eq!(encrypted_payload_len(len), theirs, "payload of {len} bytes");
    }
}

#[test]
fn our_initiator_with_reference_responder() {
    let authority = keypair(&AUTHORITY_SECRET);
    let (client, transport) = our_initiator_against_reference(&authority, &authority, system_now());
    let mut client = client.expect("our initiator refused the reference certificate");
    assert!(client.is_established());
    let info = client.handshake_info().unwrap();
    assert_eq!(info.certificate.version, noise_sv2::CERTIFICATE_VERSION);
    assert_eq!(info.certificate.not_valid_after - info.certificate.valid_from, CERT_VALIDITY);
    exchange(&mut client, &mut Reference::new(transport.unwrap()));
}

#[test]
fn reference_initiator_with_our_responder() {
    let authority = keypair(&AUTHORITY_SECRET);
    let credentials = our_credentials(&authority, NOW - 60, NOW + CERT_VALIDITY);
    let (mut server, transport) = reference_initiator_against_ours(&authority, &credentials, NOW);
    let transport = transport.expect("the reference initiator refused our certificate");
    exchange(&mut server, &mut Reference::new(transport));
}

/// Without encryption (trusted local links): our plaintext session against codec_sv2's plain
/// encoder and decoder, same frames.
#[test]
fn plaintext_session_with_reference_codec() {
    let mut ours = Session::plaintext();
    let mut encoder = codec_sv2::Encoder::new();
    let mut decoder = codec_sv2::Decoder::new();
    for plain in frames() {
        let header = FrameHeader::from_bytes(plain[..6].try_into().unwrap());
        ours.send_frame(header, &plain[6..]).unwrap();
        let wire = ours.take_output();
        assert!(wire == plain);
        let mut rest = &wire[..];
        let received = loop {
            let writable = decoder.writable();
            let n = writable.len();
            writable.copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            match decoder.next_frame().unwrap() {
                codec_sv2::Decoded::Frame(frame) => break frame.as_bytes().to_vec(),
                codec_sv2::Decoded::Incomplete(_) => {}
            }
        };
        assert!(rest.is_empty());
        assert!(received == plain);

        let wire = encoder.encode(SerializedFrame::from_bytes(plain.clone()).unwrap()).unwrap();
        let wire = AsRef::<[u8]>::as_ref(&wire).to_vec();
        assert!(wire == plain);
        ours.receive(&wire).unwrap();
        let frame = ours.next_frame().unwrap().unwrap();
        assert_eq!(frame.header.to_bytes(), plain[..6]);
        assert!(frame.payload == &plain[6..]);
    }
}

#[test]
fn our_initiator_refuses_a_certificate_from_another_authority() {
    let pinned = keypair(&AUTHORITY_SECRET);
    let other = keypair(&OTHER_AUTHORITY_SECRET);
    let (result, _) = our_initiator_against_reference(&pinned, &other, system_now());
    assert_eq!(result.unwrap_err(), NoiseError::InvalidCertificateSignature);
}

#[test]
fn our_initiator_refuses_expired_and_not_yet_valid_certificates() {
    let authority = keypair(&AUTHORITY_SECRET);
    // The reference signs [t, t + 1 h] with t its clock, read after ours.
    let later = system_now() + CERT_VALIDITY + 3600;
    let (result, _) = our_initiator_against_reference(&authority, &authority, later);
    match result.unwrap_err() {
        NoiseError::CertificateExpired { not_valid_after, now } => {
            assert_eq!(now, later);
            assert!(not_valid_after + 10 < now);
        }
        e => panic!("expected CertificateExpired, got {e:?}"),
    }

    let earlier = system_now() - 3600;
    let (result, _) = our_initiator_against_reference(&authority, &authority, earlier);
    match result.unwrap_err() {
        NoiseError::CertificateNotYetValid { valid_from, now } => {
            assert_eq!(now, earlier);
            assert!(now + 10 < valid_from);
        }
        e => panic!("expected CertificateNotYetValid, got {e:?}"),
    }
}

/// A server that answers long after the handshake began signs its certificate when it answers:
/// a client that moves its clock to the answer's arrival (`set_now`) accepts it.
#[test]
fn our_initiator_checks_the_certificate_when_the_answer_arrives() {
    let authority = keypair(&AUTHORITY_SECRET);
    let began = system_now() - 3600;
    let mut client =
        Session::initiator(ServerAuth::Authority(authority.public_key()), CLIENT_EPHEMERAL, began).unwrap();
    let (act2, _) = reference_responder(&authority).step_1(client.take_output().try_into().unwrap()).unwrap();
    client.set_now(system_now());
    client.receive(act2.payload()).unwrap();
    assert!(client.is_established());
    // Once established, a later clock changes nothing.
    client.set_now(0);
    assert!(client.is_established());
}

/// The reference initiator refuses our certificates in the same cases, and both sides allow the
/// same 10 s of clock difference at either end of the window.
#[test]
fn both_initiators_judge_our_certificates_alike() {
    let authority = keypair(&AUTHORITY_SECRET);
    let other = keypair(&OTHER_AUTHORITY_SECRET);
    let window = (NOW, NOW + CERT_VALIDITY);
    let cases = [
        // (signer, checked at, accepted)
        (&authority, NOW - 10, true),
        (&authority, NOW - 11, false),
        (&authority, NOW + CERT_VALIDITY + 10, true),
        (&authority, NOW + CERT_VALIDITY + 11, false),
        (&authority, NOW + 100, true),
        (&other, NOW + 100, false),
    ];
    for (signer, now, accepted) in cases {
        let credentials = our_credentials(signer, window.0, window.1);
        let (_, theirs) = reference_initiator_against_ours(&authority, &credentials, now);
        match theirs {
            Ok(_) => assert!(accepted, "reference accepted at {now}"),
            Err(codec_sv2::Error::NoiseSv2Error(noise_sv2::Error::InvalidCertificate(_))) => {
                assert!(!accepted, "reference refused at {now}")
            }
            Err(e) => panic!("unexpected reference error {e:?}"),
        }

        let ours = our_initiator_result(&authority.public_key(), &credentials, now);
        assert_eq!(ours.is_ok(), accepted, "ours at {now}: {ours:?}");
        let expected = if signer.public_key() != authority.public_key() {
            Err(NoiseError::InvalidCertificateSignature)
        } else if now + 10 < window.0 {
            Err(NoiseError::CertificateNotYetValid { valid_from: window.0, now })
        } else if now > window.1 + 10 {
            Err(NoiseError::CertificateExpired { not_valid_after: window.1, now })
        } else {
            Ok(())
        };
        assert_eq!(ours, expected);
    }
}

/// Our initiator against our responder, for comparing verdicts.
fn our_initiator_result(
    pinned: &AuthorityPublicKey,
    credentials: &ServerCredentials,
    now: u32,
) -> Result<(), NoiseError> {
    let (initiator, act1) = Initiator::new(ServerAuth::Authority(*pinned), CLIENT_EPHEMERAL)?;
    let mut server = Session::responder(credentials, SERVER_EPHEMERAL)?;
    server.receive(&act1)?;
    let act2: [u8; ACT2_LEN] = server.take_output().try_into().unwrap();
    initiator.finish(&act2, now).map(|_| ())
}

/// The certificate `version` has no defined values in the spec. The reference refuses any
/// version but 0; we check the signature (which covers the version) and the window only.
#[test]
fn certificate_version_other_than_zero() {
    let authority = keypair(&AUTHORITY_SECRET);
    let server_key = our_credentials(&authority, NOW, NOW + 1).static_public_key();
    let mut preimage = Vec::new();
    preimage.extend_from_slice(&1u16.to_le_bytes());
    preimage.extend_from_slice(&NOW.to_le_bytes());
    preimage.extend_from_slice(&(NOW + CERT_VALIDITY).to_le_bytes());
    preimage.extend_from_slice(&server_key);
    let digest: [u8; 32] = Sha256::digest(&preimage).into();
    let secp = secp256k1::Secp256k1::new();
    let keypair = secp256k1::Keypair::from_seckey_slice(&secp, &AUTHORITY_SECRET).unwrap();
    let signature = secp.sign_schnorr_no_aux_rand(&secp256k1::Message::from_digest(digest), &keypair);
    let certificate = Certificate {
        version: 1,
        valid_from: NOW,
        not_valid_after: NOW + CERT_VALIDITY,
        signature: signature.serialize(),
    };
    let credentials = ServerCredentials::new(SERVER_STATIC_SECRET, certificate).unwrap();

    assert_eq!(our_initiator_result(&authority.public_key(), &credentials, NOW + 1), Ok(()));
    let (_, theirs) = reference_initiator_against_ours(&authority, &credentials, NOW + 1);
    assert!(matches!(theirs, Err(codec_sv2::Error::NoiseSv2Error(noise_sv2::Error::InvalidCertificate(_)))));
}
