//! What the C ABI adds: the same work done through rust-core directly and through the
//! exported `sv2_*` functions (the calls a C program makes), side by side, with ratios.
//!
//! - message round trip: decode a payload and encode it again, for a share
//!   (SubmitSharesExtended) and a job with a 12-step merkle path (NewExtendedMiningJob);
//! - transport frame: one side encrypts a SubmitSharesExtended frame, the other decrypts and
//!   decodes it, over established Noise sessions;
//! - share validation: a pool's extended channel checks a SubmitSharesExtended against its
//!   active job (a 12-step merkle path), `ServerChannel::validate` against
//!   `sv2_server_channel_validate` on an sv2_message. Every share is valid and distinct; both
//!   sides move to a new tip every 1000 shares, which keeps their duplicate sets alike.
//!
//! Run with `cargo bench -p sv2-ffi --bench c_abi`. Timings are medians of 31 batches.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::ptr::{null, null_mut};
use std::sync::Arc;

use cpu_time::ThreadTime;

use sv2::channels::job::JobFactory;
use sv2::channels::server::{ChannelKind, ServerChannel, Share};
use sv2::channels::vardiff::Vardiff;
use sv2::codec::{Bytes, Encode, Seq};
use sv2::messages::{NewExtendedMiningJob, NewTemplate, SetNewPrevHashTdp, SubmitSharesExtended};
use sv2::noise::{AuthorityKeypair, ServerAuth, ServerCredentials, Session};
use sv2::Message;
use sv2_ffi::channels_jobs::*;
use sv2_ffi::channels_server::*;
use sv2_ffi::keys::*;
use sv2_ffi::messages::*;
use sv2_ffi::session::*;
use sv2_ffi::sv2_result;
use sv2_ffi::views::{sv2_bytes, sv2_u256_list};

/// Nanoseconds per call of `rust` and of `c`, and their ratio: medians over 31 pairs of
/// batches of `n` calls, the two run alternately so that both see the same machine load. The
/// clock is the thread's CPU time: time spent descheduled is not counted (cache and core
/// contention from other processes still is).
fn compare(n: u32, mut rust: impl FnMut(), mut c: impl FnMut()) -> (f64, f64, f64) {
    let batch = |f: &mut dyn FnMut()| {
        let t = ThreadTime::now();
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

/// The shares of one tip; then both channels move to the next.
const SHARES_PER_TIP: u32 = 1000;
const TIP_TIME: u32 = 1_780_000_000;
const PATH: [[u8; 32]; 12] = [[7; 32]; 12];
const PREFIX: [u8; 4] = [1, 2, 3, 4];
const SCRIPT: [u8; 22] = [0x00, 0x14, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9];

fn template(epoch: u32) -> NewTemplate<'static> {
    NewTemplate {
        template_id: u64::from(epoch),
        future_template: true,
        version: 0x2000_0000,
        coinbase_tx_version: 2,
        coinbase_prefix: Bytes::new(&[0x03, 0x10, 0x27, 0x00]).expect("fits"),
        coinbase_tx_input_sequence: u32::MAX,
        coinbase_tx_value_remaining: 50_0000_0000,
        coinbase_tx_outputs_count: 0,
        coinbase_tx_outputs: Bytes::EMPTY,
        coinbase_tx_locktime: 0,
        merkle_path: Seq::new(&PATH).expect("fits"),
    }
}

/// The tip of `epoch`: a mainnet-like network target that no share meets.
fn tip(epoch: u32) -> SetNewPrevHashTdp {
    let mut prev_hash = [0; 32];
    prev_hash[..4].copy_from_slice(&epoch.to_le_bytes());
    SetNewPrevHashTdp {
        template_id: u64::from(epoch),
        prev_hash,
        header_timestamp: TIP_TIME,
        nbits: 0x1703_0ecd,
        target: [0; 32],
    }
}

/// The shares of a tip: nonce `i`, the rolled extranonce `i` too (a new job id per tip).
fn rolled(i: u32) -> [u8; 4] {
    i.to_le_bytes()
}

struct RustPool {
    factory: JobFactory,
    channel: ServerChannel,
    epoch: u32,
    job_id: u32,
    i: u32,
}

impl RustPool {
    fn new() -> Self {
        let factory = JobFactory::new(&SCRIPT, b"bench", 8).expect("factory");
        let kind = ChannelKind::Extended { extranonce_size: 4 };
        let channel =
            ServerChannel::new(1, kind, "bench", PREFIX.to_vec(), [0xff; 32], [0xff; 32], Vardiff::new(6.0, 60, 0));
        let mut pool = RustPool { factory, channel, epoch: 0, job_id: 0, i: 0 };
        pool.next_tip();
        pool
    }

    fn next_tip(&mut self) {
        self.epoch += 1;
        let job = self.factory.on_new_template(&template(self.epoch)).expect("job");
        self.channel.add_job(job.job_id, Arc::clone(&job.job), None).expect("fits");
        let t = self.factory.on_set_new_prev_hash(&tip(self.epoch)).expect("tip");
        self.channel.activate(t.job_id, t.prev).expect("activates");
        (self.job_id, self.i) = (t.job_id, 0);
    }

    /// The header hash of share `i` of the current tip.
    fn share(&mut self, i: u32) -> [u8; 32] {
        let ex = rolled(i);
        let share = Share { job_id: self.job_id, nonce: i, ntime: TIP_TIME + 1, version: 0x2000_0000, extranonce: &ex };
        self.channel.validate(black_box(&share), i, TIP_TIME + 60).expect("valid").hash
    }

    fn validate(&mut self) {
        if self.i == SHARES_PER_TIP {
            self.next_tip();
        }
        black_box(self.share(self.i));
        self.i += 1;
    }
}

struct CPool {
    factory: *mut sv2_job_factory,
    channel: *mut sv2_server_channel,
    epoch: u32,
    job_id: u32,
    i: u32,
}

impl CPool {
    fn new() -> Self {
        let mut pool = CPool { factory: null_mut(), channel: null_mut(), epoch: 0, job_id: 0, i: 0 };
        let params = sv2_server_channel_params {
            struct_size: std::mem::size_of::<sv2_server_channel_params>(),
            channel_id: 1,
            extended: true.into(),
            extranonce_size: 4,
            user_identity: sv2_bytes { data: b"bench".as_ptr(), len: 5 },
            extranonce_prefix: sv2_bytes { data: PREFIX.as_ptr(), len: PREFIX.len() },
            target: [0xff; 32],
            max_target: [0xff; 32],
            shares_per_minute: 6.0,
            vardiff_window_secs: 60,
        };
        unsafe {
            let r =
                sv2_job_factory_new(SCRIPT.as_ptr(), SCRIPT.len(), b"bench".as_ptr(), 5, 8, true, &mut pool.factory);
            assert_eq!(r, sv2_result::Ok);
            assert_eq!(sv2_server_channel_new(&params, 0, &mut pool.channel), sv2_result::Ok);
        }
        pool.next_tip();
        pool
    }

    fn next_tip(&mut self) {
        self.epoch += 1;
        let (t, p) = (template(self.epoch), tip(self.epoch));
        let mut m = message(SV2_MSG_NEW_TEMPLATE);
        m.body.new_template = sv2_new_template {
            template_id: t.template_id,
            future_template: true.into(),
            version: t.version,
            coinbase_tx_version: t.coinbase_tx_version,
            coinbase_prefix: sv2_bytes { data: t.coinbase_prefix.as_bytes().as_ptr(), len: t.coinbase_prefix.len() },
            coinbase_tx_input_sequence: t.coinbase_tx_input_sequence,
            coinbase_tx_value_remaining: t.coinbase_tx_value_remaining,
            coinbase_tx_outputs_count: 0,
            coinbase_tx_outputs: sv2_bytes { data: null(), len: 0 },
            coinbase_tx_locktime: 0,
            merkle_path: sv2_u256_list { data: PATH.as_ptr().cast(), count: PATH.len() },
        };
        let mut prev = message(SV2_MSG_SET_NEW_PREV_HASH_TDP);
        prev.body.set_new_prev_hash_tdp = sv2_set_new_prev_hash_tdp {
            template_id: p.template_id,
            prev_hash: p.prev_hash,
            header_timestamp: p.header_timestamp,
            nbits: p.nbits,
            target: p.target,
        };
        unsafe {
            let (mut job, mut out) = (std::mem::zeroed::<sv2_template_job>(), message(0));
            assert_eq!(sv2_job_factory_handle(self.factory, &m, &mut job), sv2_result::Ok);
            let r = sv2_server_channel_add_job(self.channel, self.factory, job.job_id, job.min_ntime, &mut out);
            assert_eq!(r, sv2_result::Ok);
            assert_eq!(sv2_job_factory_handle(self.factory, &prev, &mut job), sv2_result::Ok);
            assert_eq!(sv2_server_channel_activate(self.channel, self.factory, &mut out), sv2_result::Ok);
            self.job_id = job.job_id;
        }
        self.i = 0;
    }

    /// The header hash of share `i` of the current tip.
    fn share(&mut self, i: u32) -> [u8; 32] {
        let ex = rolled(i);
        let mut m = message(SV2_MSG_SUBMIT_SHARES_EXTENDED);
        m.body.submit_shares_extended = sv2_submit_shares_extended {
            channel_id: 1,
            sequence_number: i,
            job_id: self.job_id,
            nonce: i,
            ntime: TIP_TIME + 1,
            version: 0x2000_0000,
            extranonce: sv2_bytes { data: ex.as_ptr(), len: ex.len() },
        };
        let mut accepted = MaybeUninit::<sv2_accepted_share>::uninit();
        let r =
            unsafe { sv2_server_channel_validate(self.channel, black_box(&m), TIP_TIME + 60, accepted.as_mut_ptr()) };
        assert_eq!(r, sv2_result::Ok);
        unsafe { accepted.assume_init() }.hash
    }

    fn validate(&mut self) {
        if self.i == SHARES_PER_TIP {
            self.next_tip();
        }
        black_box(self.share(self.i));
        self.i += 1;
    }
}

impl Drop for CPool {
    fn drop(&mut self) {
        unsafe {
            sv2_server_channel_free(self.channel);
            sv2_job_factory_free(self.factory);
        }
    }
}

/// An all-zero message with these ids (extension 0).
fn message(msg_type: u8) -> sv2_message {
    // SAFETY: every member of the union is plain integers, arrays and views; zero is valid.
    let mut m: sv2_message = unsafe { std::mem::zeroed() };
    m.msg_type = msg_type;
    m
}

fn share_validation() {
    let (mut rust, mut c) = (RustPool::new(), CPool::new());
    // The same work on both sides: one share, outside the ones timed, gives one header hash.
    assert_eq!(rust.share(u32::MAX), c.share(u32::MAX), "the two pools hash different headers");
    report("extended share validation", compare(2_000, || rust.validate(), || c.validate()));
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
    share_validation();
}
