//! The full Noise NX handshake, both sides in one process: the client's first message, the
//! server's answer with its certificate, and the client's check of that certificate against
//! the pinned authority key, ending with transport keys on both sides.
//!
//! Ours: `Session::initiator` / `Session::responder` with credentials issued once (a server
//! signs its certificate at start-up, not per connection). Reference: noise_sv2's
//! `Initiator::from_raw_k` / `Responder::from_authority_kp`, which draws fresh static and
//! ephemeral keys and signs a certificate in every handshake, as its API requires.
//!
//! Floor: the secp256k1 operations our handshake performs, done directly with the same
//! library: three key pairs made and EllSwift-encoded (client ephemeral, server ephemeral,
//! server static), four EllSwift ECDHs (ee and es on each side), the server key decoded to
//! x-only and the certificate's BIP340 signature verified.

use std::time::Duration;

use codec_sv2::{Handshake, TransportDecryptState, TransportEncryptState};
use secp256k1::ellswift::{ElligatorSwift, ElligatorSwiftParty};
use secp256k1::{Keypair, Message, PublicKey, Secp256k1, SecretKey};
use sv2::noise::{AuthorityKeypair, ServerAuth, ServerCredentials, Session};

use crate::harness::{each, Harness};

const AUTHORITY_SECRET: [u8; 32] = [0x11; 32];
const SERVER_STATIC_SECRET: [u8; 32] = [0x33; 32];
const CLIENT_EPHEMERAL: [u8; 32] = [0x44; 32];
const SERVER_EPHEMERAL: [u8; 32] = [0x55; 32];
/// A fixed unix time inside our certificate's validity.
const NOW: u32 = 1_780_000_000;
/// Validity of the reference responder's certificates (stamped with the system clock).
const CERT_VALIDITY: Duration = Duration::from_secs(3600);

fn authority() -> AuthorityKeypair {
    AuthorityKeypair::from_secret_bytes(&AUTHORITY_SECRET).expect("valid key")
}

fn credentials(authority: &AuthorityKeypair) -> ServerCredentials {
    ServerCredentials::issue(authority, SERVER_STATIC_SECRET, NOW - 60, NOW + 3600, &[0x66; 32]).expect("valid key")
}

/// Runs our handshake; returns the client and server sessions in transport mode.
fn our_handshake(auth: ServerAuth, credentials: &ServerCredentials) -> (Session, Session) {
    let mut client = Session::initiator(auth, CLIENT_EPHEMERAL, NOW).expect("starts");
    let mut server = Session::responder(credentials, SERVER_EPHEMERAL).expect("starts");
    server.receive(client.pending_output()).expect("act 1");
    let act1 = client.pending_output().len();
    client.consume_output(act1);
    client.receive(server.pending_output()).expect("act 2");
    let act2 = server.pending_output().len();
    server.consume_output(act2);
    assert!(client.is_established() && server.is_established());
    (client, server)
}

/// Our client and server after a handshake.
pub fn our_session_pair() -> (Session, Session) {
    let authority = authority();
    our_handshake(ServerAuth::Authority(authority.public_key()), &credentials(&authority))
}

/// The reference's client encrypting half and server decrypting half after a handshake.
pub fn reference_transport_pair() -> (TransportEncryptState, TransportDecryptState) {
    let authority = authority();
    let public = authority.public_key().to_bytes();
    let initiator = noise_sv2::Initiator::from_raw_k(public).expect("valid key");
    let (act1, initiator) = Handshake::initiator(initiator).step_0().expect("act 1");
    let responder =
        noise_sv2::Responder::from_authority_kp(&public, &authority.secret_bytes(), CERT_VALIDITY).expect("keys");
    let (act2, server) =
        Handshake::responder(responder).step_1(act1.payload().try_into().expect("64 bytes")).expect("act 2");
    let client = initiator.step_2(act2.payload().try_into().expect("234 bytes")).expect("certificate");
    (client.split().0, server.split().1)
}

fn secret(bytes: [u8; 32]) -> SecretKey {
    SecretKey::from_slice(&bytes).expect("valid key")
}

pub fn run(h: &mut Harness) {
    let secp = Secp256k1::new();
    let (ce, se, ss) = (secret(CLIENT_EPHEMERAL), secret(SERVER_EPHEMERAL), secret(SERVER_STATIC_SECRET));
    let encode = |sk: &SecretKey| ElligatorSwift::from_pubkey(PublicKey::from_secret_key(&secp, sk));
    let authority_kp = Keypair::from_secret_key(&secp, &secret(AUTHORITY_SECRET));
    let (authority_x, _) = authority_kp.x_only_public_key();
    let digest = Message::from_digest([0x99; 32]);
    let signature = secp.sign_schnorr_with_aux_rand(&digest, &authority_kp, &[0x66; 32]);
    let (ce_ell, se_ell, ss_ell) = (encode(&ce), encode(&se), encode(&ss));

    if h.wants("handshake NX handshake, both sides") {
        let authority = authority();
        let credentials = credentials(&authority);
        let auth = ServerAuth::Authority(authority.public_key());
        let mut ours = each(|| our_handshake(auth, &credentials).0.handshake_hash());

        let public = authority.public_key().to_bytes();
        let private = authority.secret_bytes();
        let mut reference = each(|| {
            let mut initiator = noise_sv2::Initiator::from_raw_k(public).expect("valid key");
            let mut responder =
                noise_sv2::Responder::from_authority_kp(&public, &private, CERT_VALIDITY).expect("keys");
            let act1 = initiator.step_0().expect("act 1");
            let (act2, _server) = responder.step_1(act1).expect("act 2");
            initiator.step_2(act2).expect("certificate")
        });

        let mut floor = each(|| {
            let (c, s, st) = (encode(&ce), encode(&se), encode(&ss));
            let mut acc = [0u8; 32];
            let shared = [
                ElligatorSwift::shared_secret(c, s, ce, ElligatorSwiftParty::A, None),
                ElligatorSwift::shared_secret(c, st, ce, ElligatorSwiftParty::A, None),
                ElligatorSwift::shared_secret(c, s, se, ElligatorSwiftParty::B, None),
                ElligatorSwift::shared_secret(c, st, ss, ElligatorSwiftParty::B, None),
            ];
            for k in shared {
                acc.iter_mut().zip(k.to_secret_bytes()).for_each(|(a, b)| *a ^= b);
            }
            let server_x = PublicKey::from_ellswift(st).x_only_public_key().0;
            secp.verify_schnorr(&signature, &digest, &authority_x).expect("valid signature");
            (acc, server_x)
        });
        h.case(
            "handshake",
            "NX handshake, both sides",
            &mut ours,
            Some(&mut reference),
            Some(("its secp256k1 ops", &mut floor)),
        );
    }

    h.primitive("secp256k1: key pair + EllSwift encode", &mut each(|| encode(&ce)));
    h.primitive(
        "secp256k1: EllSwift ECDH",
        &mut each(|| ElligatorSwift::shared_secret(ce_ell, se_ell, ce, ElligatorSwiftParty::A, None)),
    );
    h.primitive(
        "secp256k1: EllSwift decode to x-only",
        &mut each(|| PublicKey::from_ellswift(ss_ell).x_only_public_key()),
    );
    h.primitive(
        "secp256k1: BIP340 verify",
        &mut each(|| secp.verify_schnorr(&signature, &digest, &authority_x).is_ok()),
    );
    h.primitive(
        "secp256k1: BIP340 sign",
        &mut each(|| secp.sign_schnorr_with_aux_rand(&digest, &authority_kp, &[0x66; 32])),
    );
}
