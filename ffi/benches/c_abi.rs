//! What the C ABI adds: the same work done through rust-core directly and through the
//! exported `sv2_*` functions (the calls a C program makes), side by side, with ratios.
//!
//! - message round trip: decode a payload and encode it again, for a share
//!   (SubmitSharesExtended) and a job with a 12-step merkle path (NewExtendedMiningJob);
//! - transport frame: one side encrypts a SubmitSharesExtended frame, the other decrypts and
//!   decodes it, over established Noise sessions.
//!
//! Run with `cargo bench -p sv2-ffi --bench c_abi`. Timings are the median of 21 batches.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::ptr::{null, null_mut};
use std::time::Instant;

use sv2::codec::{Bytes, Encode, Seq};
use sv2::messages::{NewExtendedMiningJob, SubmitSharesExtended};
use sv2::noise::{AuthorityKeypair, ServerAuth, ServerCredentials, Session};
use sv2::Message;
use sv2_ffi::keys::*;
use sv2_ffi::messages::*;
use sv2_ffi::session::*;
use sv2_ffi::sv2_result;

/// Nanoseconds per call of `rust` and of `c`, and their ratio: medians over 31 pairs of
/// batches of `n` calls, the two run alternately so that both see the same machine load.
fn compare(n: u32, mut rust: impl FnMut(), mut c: impl FnMut()) -> (f64, f64, f64) {
    let batch = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_nanos() as f64 / f64::from(n)
    };
    batch(&mut rust);
    batch(&mut c);
    let (mut r, mut k, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..31 {
        let (a, b) = (batch(&mut rust), batch(&mut c));
        r.push(a);
        k.push(b);
        ratio.push(b / a);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut r), median(&mut k), median(&mut ratio))
}

fn report(name: &str, (rust, c, ratio): (f64, f64, f64)) {
    println!("{name:<34} rust {rust:>8.1} ns   C ABI {c:>8.1} ns   C/rust {ratio:.2}");
}

fn share() -> Message<'static> {
    Message::SubmitSharesExtended(SubmitSharesExtended {
        channel_id: 7,
        sequence_number: 1234,
        job_id: 99,
        nonce: 0xdead_beef,
        ntime: 1_750_000_000,
        version: 0x2000_0000,
        extranonce: Bytes::new(&[1, 2, 3, 4, 5, 6, 7, 8]).expect("8 bytes"),
    })
}

fn job(path: &[[u8; 32]], prefix: &[u8], suffix: &[u8]) -> Message<'static> {
    let path: &'static [[u8; 32]] = Box::leak(path.to_vec().into_boxed_slice());
    let prefix: &'static [u8] = Box::leak(prefix.to_vec().into_boxed_slice());
    let suffix: &'static [u8] = Box::leak(suffix.to_vec().into_boxed_slice());
    Message::NewExtendedMiningJob(NewExtendedMiningJob {
        channel_id: 7,
        job_id: 100,
        min_ntime: None,
        version: 0x2000_0000,
        version_rolling_allowed: true,
        merkle_path: Seq::new(path).expect("12 items"),
        coinbase_tx_prefix: Bytes::new(prefix).expect("short"),
        coinbase_tx_suffix: Bytes::new(suffix).expect("short"),
    })
}

fn message_round_trip(name: &str, msg: &Message<'_>) {
    let mut payload = vec![0u8; msg.encoded_len()];
    msg.encode_into(&mut payload).expect("encodes");
    let (ext, ty) = (msg.extension_type(), msg.msg_type());
    let (mut out_rust, mut out_c) = ([0u8; 2048], [0u8; 2048]);
    let rust = || {
        let (m, _) = Message::decode(black_box(ext), black_box(ty), black_box(&payload)).expect("decodes");
        black_box(m.encode_into(&mut out_rust).expect("encodes"));
    };
    let c = || unsafe {
        let mut m = MaybeUninit::<sv2_message>::uninit();
        let mut n = 0;
        let p = black_box(&payload);
        let r = sv2_message_decode(black_box(ext), black_box(ty), p.as_ptr(), p.len(), m.as_mut_ptr(), null_mut());
        assert_eq!(r, sv2_result::Ok);
        assert_eq!(sv2_message_encode(m.as_ptr(), out_c.as_mut_ptr(), out_c.len(), &mut n), sv2_result::Ok);
        black_box(n);
    };
    report(name, compare(20_000, rust, c));
}

fn rust_pair() -> (Session, Session) {
    let authority = AuthorityKeypair::generate().expect("key");
    let creds = ServerCredentials::generate(&authority, 0, u32::MAX).expect("creds");
    let mut c = Session::initiator(ServerAuth::Authority(authority.public_key()), [1; 32], 1).expect("init");
    let mut s = Session::responder(&creds, [2; 32]).expect("resp");
    s.receive(&c.take_output()).expect("act 1");
    c.receive(&s.take_output()).expect("act 2");
    (c, s)
}

fn c_pair() -> (*mut sv2_session, *mut sv2_session) {
    unsafe {
        let (mut secret, mut public) = ([0u8; 32], [0u8; 32]);
        assert_eq!(sv2_authority_keypair_generate(secret.as_mut_ptr(), public.as_mut_ptr()), sv2_result::Ok);
        let mut creds = null_mut();
        assert_eq!(sv2_server_credentials_issue(secret.as_ptr(), null(), 0, u32::MAX, &mut creds), sv2_result::Ok);
        let (mut c, mut s) = (null_mut(), null_mut());
        assert_eq!(sv2_session_new_initiator(public.as_ptr(), 1, &mut c), sv2_result::Ok);
        assert_eq!(sv2_session_new_responder(creds, &mut s), sv2_result::Ok);
        sv2_server_credentials_free(creds);
        for (from, to) in [(c, s), (s, c)] {
            pump(from, to);
        }
        (c, s)
    }
}

unsafe fn pump(from: *mut sv2_session, to: *mut sv2_session) {
    let (mut d, mut n) = (null(), 0);
    assert_eq!(sv2_session_pending_output(from, &mut d, &mut n), sv2_result::Ok);
    assert_eq!(sv2_session_receive(to, d, n), sv2_result::Ok);
    assert_eq!(sv2_session_consume_output(from, n), sv2_result::Ok);
}

fn transport_frame() {
    let msg = share();
    let (mut rc, mut rs) = rust_pair();
    let rust = || {
        rc.send(black_box(&msg), &[]).expect("send");
        let n = rc.pending_output().len();
        rs.receive(rc.pending_output()).expect("receive");
        rc.consume_output(n);
        let f = rs.next_frame().expect("frame").expect("whole");
        black_box(f.message().expect("decodes"));
    };

    let (cc, cs) = c_pair();
    let mut m = MaybeUninit::<sv2_message>::uninit();
    unsafe {
        let p = {
            let mut payload = vec![0u8; msg.encoded_len()];
            msg.encode_into(&mut payload).expect("encodes");
            payload
        };
        assert_eq!(
            sv2_message_decode(0, msg.msg_type(), p.as_ptr(), p.len(), m.as_mut_ptr(), null_mut()),
            sv2_result::Ok
        );
    }
    let send = unsafe { m.assume_init() };
    let c = || unsafe {
        let mut got = MaybeUninit::<sv2_message>::uninit();
        assert_eq!(sv2_session_send(cc, black_box(&send), null(), 0), sv2_result::Ok);
        pump(cc, cs);
        assert_eq!(sv2_session_next_message(cs, got.as_mut_ptr(), null_mut()), sv2_result::Ok);
        black_box(got);
    };
    report("Noise frame SubmitSharesExtended", compare(5_000, rust, c));
    unsafe {
        sv2_session_free(cc);
        sv2_session_free(cs);
    }
}

fn main() {
    // `cargo test --benches` runs bench targets with --bench absent; keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    message_round_trip("round trip SubmitSharesExtended", &share());
    let big = job(&[[9; 32]; 12], &[1; 60], &[2; 120]);
    message_round_trip("round trip NewExtendedMiningJob", &big);
    transport_frame();
}
