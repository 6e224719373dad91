//! The Rust side of the C examples' tests (run by ctest through examples-c/run_pair.sh).
//!
//! Servers bind 127.0.0.1:0 and write "PORT AUTHORITY_KEY" to a file once listening; clients
//! take host, port and the authority key. Each mode does one connection and exits 0 only if
//! the exchange went as the protocol says.
//!
//! - `responder PORT_FILE`: libsv2 Noise responder; expects SetupConnection, answers Success.
//! - `reference-responder PORT_FILE`: the same with the reference implementation's noise_sv2.
//! - `initiator HOST PORT KEY`: libsv2 Noise initiator; sends SetupConnection, expects Success.
//! - `tdp-client HOST PORT KEY`: a Template Distribution client; expects Success, then
//!   NewTemplate (future) and a SetNewPrevHash naming it.
//! - `mining-server SHARES PORT_FILE`: a pool with one standard channel; expects SHARES valid
//!   shares and acknowledges each.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sv2::channels::coinbase::{serialize_output, CoinbaseSpec};
use sv2::channels::server::{ChannelKind, Job, PrevHash, ServerChannel, Share};
use sv2::channels::target::target_from_nbits;
use sv2::channels::vardiff::Vardiff;
use sv2::codec::{frame_to_vec, Bytes, FrameHeader, Str0_255};
use sv2::messages::*;
use sv2::noise::{random_bytes, AuthorityKeypair, AuthorityPublicKey, ServerAuth, ServerCredentials, Session};
use sv2::Message;

type Result<T> = std::result::Result<T, String>;

fn now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

fn listen(port_file: &str, authority: &AuthorityKeypair) -> Result<TcpStream> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    let tmp = format!("{port_file}.tmp");
    std::fs::write(&tmp, format!("{port} {}\n", authority.public_key())).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, port_file).map_err(|e| e.to_string())?;
    let (s, _) = l.accept().map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(20))).map_err(|e| e.to_string())?;
    Ok(s)
}

/// Reads until the session yields a frame; returns the decoded message (owned by a closure).
fn next_message<T>(s: &mut Session, sock: &mut TcpStream, f: impl FnOnce(Message<'_>) -> Result<T>) -> Result<T> {
    let mut buf = [0u8; 4096];
    loop {
        let out = s.take_output();
        sock.write_all(&out).map_err(|e| e.to_string())?;
        if let Some(frame) = s.next_frame().map_err(|e| e.to_string())? {
            let (m, _) = frame.message().map_err(|e| e.to_string())?;
            return f(m);
        }
        let n = sock.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("peer closed the connection".into());
        }
        s.receive(&buf[..n]).map_err(|e| e.to_string())?;
    }
}

fn send(s: &mut Session, sock: &mut TcpStream, m: Message<'_>) -> Result<()> {
    s.send(&m, &[]).map_err(|e| e.to_string())?;
    sock.write_all(&s.take_output()).map_err(|e| e.to_string())
}

fn connect(host: &str, port: &str, key: &str, protocol: u8, flags: u32) -> Result<(Session, TcpStream)> {
    let mut sock = TcpStream::connect(format!("{host}:{port}")).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(20))).map_err(|e| e.to_string())?;
    let pk = AuthorityPublicKey::from_base58check(key).map_err(|e| e.to_string())?;
    let mut s = Session::initiator(ServerAuth::Authority(pk), random_bytes().map_err(|e| e.to_string())?, now())
        .map_err(|e| e.to_string())?;
    sock.write_all(&s.take_output()).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    while !s.is_established() {
        let n = sock.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("server closed during the handshake".into());
        }
        s.receive(&buf[..n]).map_err(|e| e.to_string())?;
    }
    let s255 = |v: &'static str| Str0_255::from_str(v).unwrap_or(Str0_255::EMPTY);
    let setup = SetupConnection {
        protocol,
        min_version: 2,
        max_version: 2,
        flags,
        endpoint_host: s255("127.0.0.1"),
        endpoint_port: port.parse().unwrap_or(0),
        vendor: s255("libsv2-test-peer"),
        hardware_version: s255(""),
        firmware: s255(""),
        device_id: s255(""),
    };
    send(&mut s, &mut sock, setup.into())?;
    next_message(&mut s, &mut sock, |m| match m {
        Message::SetupConnectionSuccess(_) => Ok(()),
        other => Err(format!("expected SetupConnection.Success, got {other:?}")),
    })?;
    Ok((s, sock))
}

fn responder(port_file: &str) -> Result<()> {
    let authority = AuthorityKeypair::generate().map_err(|e| e.to_string())?;
    let creds = ServerCredentials::generate(&authority, now(), now() + 3600).map_err(|e| e.to_string())?;
    let mut sock = listen(port_file, &authority)?;
    let mut s = Session::responder(&creds, random_bytes().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    next_message(&mut s, &mut sock, |m| match m {
        Message::SetupConnection(_) => Ok(()),
        other => Err(format!("expected SetupConnection, got {other:?}")),
    })?;
    send(&mut s, &mut sock, SetupConnectionSuccess { used_version: 2, flags: 0 }.into())
}

fn reference_responder(port_file: &str) -> Result<()> {
    let authority = AuthorityKeypair::generate().map_err(|e| e.to_string())?;
    let mut sock = listen(port_file, &authority)?;
    let mut r = noise_sv2::Responder::from_authority_kp(
        &authority.public_key().to_bytes(),
        &authority.secret_bytes(),
        Duration::from_secs(3600),
    )
    .map_err(|e| format!("{e:?}"))?;
    let mut act1 = [0u8; 64];
    sock.read_exact(&mut act1).map_err(|e| e.to_string())?;
    let (act2, mut engine) = r.step_1(act1).map_err(|e| format!("{e:?}"))?;
    sock.write_all(&act2).map_err(|e| e.to_string())?;
    // One frame in: the 22-byte header, then its payload as one AEAD message.
    let mut header = vec![0u8; 22];
    sock.read_exact(&mut header).map_err(|e| e.to_string())?;
    engine.decrypt(&mut header).map_err(|e| format!("{e:?}"))?;
    let h = FrameHeader::from_bytes(header[..6].try_into().map_err(|_| "short header")?);
    let mut payload = vec![0u8; h.msg_length as usize + 16];
    sock.read_exact(&mut payload).map_err(|e| e.to_string())?;
    engine.decrypt(&mut payload).map_err(|e| format!("{e:?}"))?;
    match Message::decode(h.extension_type, h.msg_type, &payload).map_err(|e| e.to_string())?.0 {
        Message::SetupConnection(_) => {}
        other => return Err(format!("expected SetupConnection, got {other:?}")),
    }
    let frame =
        frame_to_vec(&SetupConnectionSuccess { used_version: 2, flags: 0 }.into(), &[]).map_err(|e| e.to_string())?;
    let (mut hdr, mut body) = (frame[..6].to_vec(), frame[6..].to_vec());
    engine.encrypt(&mut hdr).map_err(|e| format!("{e:?}"))?;
    engine.encrypt(&mut body).map_err(|e| format!("{e:?}"))?;
    sock.write_all(&[hdr, body].concat()).map_err(|e| e.to_string())
}

fn tdp_client(host: &str, port: &str, key: &str) -> Result<()> {
    let (mut s, mut sock) = connect(host, port, key, 2, 0)?;
    let constraints = CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: 100,
        coinbase_output_max_additional_sigops: 4,
    };
    send(&mut s, &mut sock, constraints.into())?;
    let template_id = next_message(&mut s, &mut sock, |m| match m {
        Message::NewTemplate(t) if t.future_template => Ok(t.template_id),
        other => Err(format!("expected a future NewTemplate, got {other:?}")),
    })?;
    next_message(&mut s, &mut sock, |m| match m {
        Message::SetNewPrevHashTdp(p) if p.template_id == template_id => Ok(()),
        other => Err(format!("expected SetNewPrevHash for template {template_id}, got {other:?}")),
    })
}

fn mining_server(port_file: &str, shares: u32) -> Result<()> {
    let authority = AuthorityKeypair::generate().map_err(|e| e.to_string())?;
    let creds = ServerCredentials::generate(&authority, now(), now() + 3600).map_err(|e| e.to_string())?;
    let mut sock = listen(port_file, &authority)?;
    let mut s = Session::responder(&creds, random_bytes().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    next_message(&mut s, &mut sock, |m| match m {
        Message::SetupConnection(m) if m.protocol == 0 => Ok(()),
        other => Err(format!("expected a mining SetupConnection, got {other:?}")),
    })?;
    send(&mut s, &mut sock, SetupConnectionSuccess { used_version: 2, flags: 0 }.into())?;
    let request_id = next_message(&mut s, &mut sock, |m| match m {
        Message::OpenStandardMiningChannel(o) => Ok(o.request_id),
        other => Err(format!("expected OpenStandardMiningChannel, got {other:?}")),
    })?;
    // About one hash in sixteen is a share.
    let mut target = [0xff; 32];
    target[31] = 0x0f;
    let prefix = vec![0, 0, 0, 1, 0, 0, 0, 0];
    let mut ch = ServerChannel::new(
        7,
        ChannelKind::Standard,
        "c-miner",
        prefix.clone(),
        target,
        [0xff; 32],
        Vardiff::new(10.0, 60, 0),
    );
    let open = OpenStandardMiningChannelSuccess {
        request_id,
        channel_id: 7,
        target,
        extranonce_prefix: Bytes::new(&prefix).map_err(|e| e.to_string())?,
        group_channel_id: 100,
    };
    send(&mut s, &mut sock, open.into())?;
    let pool_output = serialize_output(50 * 100_000_000, &[0x51]);
    let coinbase = CoinbaseSpec {
        version: 2,
        script_prefix: &[0x01, 0x11],
        tag: b"",
        sequence: 0xffff_ffff,
        pool_outputs: &pool_output,
        pool_outputs_count: 1,
        template_outputs: &[],
        template_outputs_count: 0,
        locktime: 0,
        extranonce_len: prefix.len(),
    }
    .build()
    .map_err(|e| e.to_string())?;
    let job = Arc::new(Job {
        template_id: Some(1),
        version: 0x2000_0000,
        version_rolling_allowed: true,
        coinbase,
        merkle_path: vec![],
    });
    ch.add_job(1, job, None).map_err(|e| e.to_string())?;
    let job_msg = ch.job_message(1, None).ok_or("job message")?;
    let job_frame = frame_to_vec(&job_msg, &[]).map_err(|e| e.to_string())?;
    s.send_frame(FrameHeader::from_bytes(job_frame[..6].try_into().map_err(|_| "hdr")?), &job_frame[6..])
        .map_err(|e| e.to_string())?;
    let prev = PrevHash {
        prev_hash: [0x11; 32],
        nbits: 0x207f_ffff,
        min_ntime: now(),
        block_target: target_from_nbits(0x207f_ffff),
    };
    let snph = ch.activate(1, prev).map_err(|e| e.to_string())?;
    send(&mut s, &mut sock, snph.into())?;
    for _ in 0..shares {
        let share = next_message(&mut s, &mut sock, |m| match m {
            Message::SubmitSharesStandard(sh) => Ok(sh),
            other => Err(format!("expected SubmitSharesStandard, got {other:?}")),
        })?;
        let sh = Share {
            job_id: share.job_id,
            nonce: share.nonce,
            ntime: share.ntime,
            version: share.version,
            extranonce: &[],
        };
        ch.validate(&sh, share.sequence_number, now()).map_err(|e| format!("share rejected: {e}"))?;
        let ok = ch.take_success().ok_or("no success batch")?;
        send(&mut s, &mut sock, ok.into())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = match a.as_slice() {
        ["responder", pf] => responder(pf),
        ["reference-responder", pf] => reference_responder(pf),
        ["initiator", host, port, key] => connect(host, port, key, 0, 0).map(|_| ()),
        ["tdp-client", host, port, key] => tdp_client(host, port, key),
        ["mining-server", n, pf] => {
            n.parse().map_err(|_| "SHARES must be a number".to_string()).and_then(|n| mining_server(pf, n))
        }
        _ => Err("usage: see the comment at the top of ffi/examples/c_test_peer.rs".into()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("c_test_peer: {e}");
            ExitCode::FAILURE
        }
    }
}
