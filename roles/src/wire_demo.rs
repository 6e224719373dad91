//! `sv2 wire-demo`: an in-process client and server complete the Noise NX handshake and send
//! every Stratum V2 message type across the encrypted transport, printing the wire traffic.

use sv2::codec::{frame_to_vec, Tlv};
use sv2::noise::{random_bytes, AuthorityKeypair, ServerAuth, ServerCredentials, Session, ACT1_LEN, ACT2_LEN};

use crate::keygen::unix_now;
use crate::samples;

fn hex_prefix(bytes: &[u8], full: bool) -> String {
    let shown = if full { bytes } else { &bytes[..bytes.len().min(48)] };
    let more = if shown.len() < bytes.len() { "…" } else { "" };
    format!("{}{more}", hex::encode(shown))
}

/// Moves everything `from` has queued into `to` and returns the number of bytes moved.
fn deliver(from: &mut Session, to: &mut Session) -> Result<usize, String> {
    let bytes = from.take_output();
    to.receive(&bytes).map_err(|e| e.to_string())?;
    Ok(bytes.len())
}

/// Runs the demo and prints the traffic; `full` prints whole frames.
pub fn run(full: bool) -> Result<(), String> {
    let err = |e: sv2::noise::NoiseError| e.to_string();
    let authority = AuthorityKeypair::generate().map_err(err)?;
    let now = unix_now();
    let creds = ServerCredentials::generate(&authority, now, now + 3600).map_err(err)?;
    println!("authority key (pinned by the client): {}", authority.public_key());
    println!("server static key: {}", hex::encode(creds.static_public_key()));

    let mut client =
        Session::initiator(ServerAuth::Authority(authority.public_key()), random_bytes().map_err(err)?, now)
            .map_err(err)?;
    let mut server = Session::responder(&creds, random_bytes().map_err(err)?).map_err(err)?;
    let act1 = deliver(&mut client, &mut server)?;
    let act2 = deliver(&mut server, &mut client)?;
    assert_eq!((act1, act2), (ACT1_LEN, ACT2_LEN));
    let info = client.handshake_info().ok_or("handshake did not complete")?;
    println!("handshake: client → server {act1} B (ephemeral key), server → client {act2} B (ephemeral, static key, certificate)");
    println!(
        "certificate valid {} .. {}, verified against the authority; handshake hash {}",
        info.certificate.valid_from,
        info.certificate.not_valid_after,
        hex::encode(info.handshake_hash)
    );
    println!();

    let (mut plain_total, mut wire_total, mut count) = (0, 0, 0);
    for (from_client, msg) in samples::all() {
        // Extension 0x0002 appends the worker's identity to extended shares.
        let tlv_storage;
        let tlvs: &[Tlv] = if msg.name() == "SubmitSharesExtended" {
            tlv_storage = [Tlv::user_identity("alice.rig7").map_err(|e| e.to_string())?];
            &tlv_storage
        } else {
            &[]
        };
        let (tx, rx) = if from_client { (&mut client, &mut server) } else { (&mut server, &mut client) };
        let plain = frame_to_vec(&msg, tlvs).map_err(|e| e.to_string())?;
        tx.send(&msg, tlvs).map_err(err)?;
        let wire = deliver(tx, rx)?;
        let frame = rx.next_frame().map_err(err)?.ok_or("frame did not arrive whole")?;
        let (decoded, tlv) = frame.message().map_err(|e| e.to_string())?;
        if decoded != msg {
            return Err(format!("{} changed on the way: {decoded:?}", msg.name()));
        }
        println!(
            "{} {:<34} ext 0x{:04x} type 0x{:02x} ch {}  plain {:>3} B  wire {:>3} B  {}",
            if from_client { "C→S" } else { "S→C" },
            msg.name(),
            frame.header.extension_type & 0x7fff,
            frame.header.msg_type,
            u8::from(frame.header.channel_msg()),
            plain.len(),
            wire,
            hex_prefix(&plain, full)
        );
        println!("    {decoded:?}");
        if let Some(id) = tlv.user_identity() {
            println!("    TLV user_identity = {:?}", String::from_utf8_lossy(id));
        }
        plain_total += plain.len();
        wire_total += wire;
        count += 1;
    }
    println!();
    println!(
        "{count} message types exchanged: {plain_total} B of frames, {wire_total} B on the wire \
         (encryption adds 32 B per frame: a 16-byte tag on the header and one on the payload)"
    );
    Ok(())
}
