//! The Noise NX known-answer vectors (tests/data/noise_nx_vectors.txt) reproduced byte for
//! byte: both handshake messages, the handshake hash, the server key and certificate, and the
//! first transport frame in each direction.

use std::collections::HashMap;

use sv2::codec::{frame_to_vec, Str0_255};
use sv2::messages::{Message, SetupConnection, SetupConnectionSuccess};
use sv2::noise::{
    AuthorityKeypair, AuthorityPublicKey, Certificate, Initiator, Responder, ServerAuth, ServerCredentials, Session,
};

fn vectors() -> HashMap<String, Vec<u8>> {
    include_str!("data/noise_nx_vectors.txt")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), hex::decode(v.trim()).unwrap_or_else(|_| v.trim().as_bytes().to_vec())))
        .collect()
}

fn arr<const N: usize>(v: &HashMap<String, Vec<u8>>, k: &str) -> [u8; N] {
    v[k].as_slice().try_into().unwrap_or_else(|_| panic!("{k} has {} bytes", v[k].len()))
}

/// The certificate inside act 2 of the vectors (its signature used random aux data).
const CERT: &str = "000000f1536510ff5365f42e13898f7ed2272f8fa7f7c559245315e44e0a23eb622cc31846886d619aae52bf603ebb62c09f42c654902a4715237cb99ce624f9c7b98c5ce8edb96c9821";

fn kat_credentials(v: &HashMap<String, Vec<u8>>) -> ServerCredentials {
    let cert = Certificate::from_bytes(&hex::decode(CERT).unwrap().try_into().unwrap());
    ServerCredentials::new(arr(v, "responder_s_sk"), cert).unwrap()
}

#[test]
fn authority_key_forms() {
    let v = vectors();
    let kp = AuthorityKeypair::from_secret_bytes(&arr(&v, "authority_sk")).unwrap();
    assert_eq!(kp.public_key().to_bytes(), arr::<32>(&v, "authority_xonly"));
    assert_eq!(kp.public_key().to_base58check(), "9aqh6754d1sAAnc6UvA3RWY2RT6VKidtBoyWyfvf82bhYoXcYaP");
    // The spec's own base58check vector.
    let raw = hex::decode("76637000979c1c11af0c300bcd8c7fe48610fce9b9c11e3daee35ae0b08a7455").unwrap();
    let pk = AuthorityPublicKey::from_bytes(&raw.try_into().unwrap()).unwrap();
    assert_eq!(pk.to_string(), "9bXiEd8boQVhq7WddEcERUL5tyyJVFYdU8th3HfbNXK3Yw6GRXh");
    assert_eq!("9bXiEd8boQVhq7WddEcERUL5tyyJVFYdU8th3HfbNXK3Yw6GRXh".parse::<AuthorityPublicKey>().unwrap(), pk);
}

#[test]
fn handshake_acts_and_hash() {
    let v = vectors();
    let authority = AuthorityPublicKey::from_bytes(&arr(&v, "authority_xonly")).unwrap();
    let (init, act1) = Initiator::new(ServerAuth::Authority(authority), arr(&v, "initiator_e_sk")).unwrap();
    assert_eq!(act1.to_vec(), v["act1"]);

    let resp = Responder::new(&kat_credentials(&v), arr(&v, "responder_e_sk")).unwrap();
    let (act2, _, resp_hash) = resp.respond(&act1).unwrap();
    assert_eq!(hex::encode(act2), hex::encode(&v["act2"]));
    assert_eq!(resp_hash.to_vec(), v["resp_h_final"]);

    let (_, info) = init.finish(&act2, 1_700_000_100).unwrap();
    assert_eq!(info.handshake_hash.to_vec(), v["init_h_final"]);
    assert_eq!(info.server_static_key.to_vec(), v["responder_s_xonly"]);
    assert_eq!(info.certificate.to_bytes().to_vec(), hex::decode(CERT).unwrap());
}

#[test]
fn transport_frames_both_directions() {
    let v = vectors();
    let authority = AuthorityPublicKey::from_bytes(&arr(&v, "authority_xonly")).unwrap();
    let mut client =
        Session::initiator(ServerAuth::Authority(authority), arr(&v, "initiator_e_sk"), 1_700_000_100).unwrap();
    let mut server = Session::responder(&kat_credentials(&v), arr(&v, "responder_e_sk")).unwrap();
    server.receive(&client.take_output()).unwrap();
    client.receive(&server.take_output()).unwrap();
    assert!(client.is_established() && server.is_established());

    let s = |x: &'static str| Str0_255::from_str(x).unwrap();
    let setup = Message::from(SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags: 0b101,
        endpoint_host: s("pool.example"),
        endpoint_port: 3333,
        vendor: s("acme"),
        hardware_version: s("hw1"),
        firmware: s("fw1"),
        device_id: s(""),
    });
    let plain = frame_to_vec(&setup, &[]).unwrap();
    assert_eq!(plain[..6], v["sample_plain_header"][..]);
    assert_eq!(plain[6..], v["sample_plain_payload"][..]);
    client.send(&setup, &[]).unwrap();
    let wire = client.take_output();
    assert_eq!(hex::encode(&wire[..22]), hex::encode(&v["sample_ct_header"]));
    assert_eq!(hex::encode(&wire[22..]), hex::encode(&v["sample_ct_payload"]));
    server.receive(&wire).unwrap();
    let frame = server.next_frame().unwrap().unwrap();
    assert_eq!(frame.message().unwrap().0, setup);

    let success = Message::from(SetupConnectionSuccess { used_version: 2, flags: 0 });
    server.send(&success, &[]).unwrap();
    let wire = server.take_output();
    assert_eq!(hex::encode(&wire[..22]), hex::encode(&v["sample_resp_ct_header"]));
    assert_eq!(hex::encode(&wire[22..]), hex::encode(&v["sample_resp_ct_payload"]));
    client.receive(&wire).unwrap();
    assert_eq!(client.next_frame().unwrap().unwrap().message().unwrap().0, success);
}
