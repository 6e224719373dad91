//! The Mining endpoints through the C ABI, driven as C drives them: a pool's
//! sv2_server_endpoint and a miner's sv2_client_endpoint in memory. The miner's frames reach the
//! pool as sv2_frames; the pool's answers reach the miner decoded as sv2_messages. Shares are
//! mined on the endpoint's work; bad ones are rejected with the spec's codes on both sides;
//! every way an endpoint ends a connection gives its result.

use std::ptr::{null, null_mut};

use sv2_ffi::channels_jobs::*;
use sv2_ffi::endpoint_client::*;
use sv2_ffi::endpoint_server::*;
use sv2_ffi::jd_server::*;
use sv2_ffi::jd_store::*;
use sv2_ffi::messages::*;
use sv2_ffi::mining::*;
use sv2_ffi::session::*;
use sv2_ffi::sv2_result::{self, Ok as OK};

const NOW: u32 = 1_700_000_000;
const PATH: [[u8; 32]; 2] = [[0x31; 32], [0x32; 32]];
/// Half of all hashes meet it.
const HALF: [u8; 32] = {
    let mut t = [0xff; 32];
    t[31] = 0x7f;
    t
};
const ALL: [u8; 32] = [0xff; 32];
const NONE: [u8; 32] = [0; 32];
const ROLLED: [u8; 6] = [9, 8, 7, 6, 5, 4];

fn zeroed<T>() -> T {
    // SAFETY: only used for the C structs of this crate, for which all-zero is valid.
    unsafe { std::mem::zeroed() }
}

fn view(b: &[u8]) -> sv2_bytes {
    sv2_bytes { data: b.as_ptr(), len: b.len() }
}

fn text(b: sv2_bytes) -> String {
    if b.len == 0 {
        return String::new();
    }
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(b.data, b.len) }).into_owned()
}

fn config(vendor: &'static str) -> sv2_client_config {
    sv2_client_config {
        struct_size: std::mem::size_of::<sv2_client_config>(),
        requires_standard_jobs: sv2_bool(0),
        requires_version_rolling: sv2_bool(0),
        endpoint_port: 3333,
        endpoint_host: view(b"pool.example"),
        vendor: view(vendor.as_bytes()),
        hardware_version: view(b""),
        firmware: view(b"test-1"),
        device_id: view(b""),
    }
}

/// A client event with its text copied out of the endpoint.
#[derive(Debug, Clone)]
struct Got {
    e: sv2_client_event,
    text: String,
    extensions: Vec<u16>,
    required: Vec<u16>,
}

fn ids(l: sv2_u16_list) -> Vec<u16> {
    (0..l.count).map(|i| unsafe { *l.items.add(i) }).collect()
}

struct World {
    jobs: *mut sv2_job_factory,
    prefixes: *mut sv2_extranonce_allocator,
    pool: *mut sv2_server_endpoint,
    miner: *mut sv2_client_endpoint,
    decoder: sv2::codec::FrameDecoder,
}

impl World {
    fn new(options: impl FnOnce(*mut sv2_server_options)) -> World {
        let (mut jobs, mut prefixes, mut pool, mut miner, mut o) =
            (null_mut(), null_mut(), null_mut(), null_mut(), null_mut());
        unsafe {
            assert_eq!(sv2_job_factory_new([0x51].as_ptr(), 1, b"test".as_ptr(), 4, 8, true, &mut jobs), OK);
            assert_eq!(sv2_extranonce_allocator_new(null(), 0, 2, 8, &mut prefixes), OK);
            assert_eq!(sv2_server_options_new(&mut o), OK);
            // Easy shares: no difficulty floor above the miner's maximum target.
            assert_eq!(sv2_server_options_set_vardiff(o, 10.0, 60, 1e6, 1e-12), OK);
            options(o);
            assert_eq!(sv2_server_endpoint_new(o, prefixes, &mut pool), OK);
            sv2_server_options_free(o);
            assert_eq!(sv2_client_endpoint_new(&config("libsv2-test"), &mut miner), OK);
        }
        World { jobs, prefixes, pool, miner, decoder: sv2::codec::FrameDecoder::new(1 << 16) }
    }

    fn tip(&mut self, template_id: u64, block: [u8; 32]) {
        let mut j = zeroed::<sv2_template_job>();
        let path = PATH.concat();
        let mut m = new_template(template_id, true, &path);
        unsafe { assert_eq!(sv2_job_factory_handle(self.jobs, &m, &mut j), OK) };
        m = zeroed();
        m.msg_type = SV2_MSG_SET_NEW_PREV_HASH_TDP;
        m.body.set_new_prev_hash_tdp = sv2_set_new_prev_hash_tdp {
            template_id,
            prev_hash: [template_id as u8; 32],
            header_timestamp: NOW,
            nbits: 0x207f_ffff,
            target: block,
        };
        unsafe { assert_eq!(sv2_job_factory_handle(self.jobs, &m, &mut j), OK) };
        assert!(j.new_tip);
    }

    /// The pool's events for the frames the miner queued, or the first error.
    fn miner_to_pool(&mut self) -> Result<Vec<sv2_server_event>, sv2_result> {
        let (mut data, mut len) = (null(), 0);
        unsafe {
            assert_eq!(sv2_client_endpoint_pending_output(self.miner, &mut data, &mut len), OK);
            self.decoder.push(std::slice::from_raw_parts(data, len));
            assert_eq!(sv2_client_endpoint_consume_output(self.miner, len), OK);
        }
        let mut out = Vec::new();
        while let Some(f) = self.decoder.next_frame().unwrap() {
            let frame = sv2_frame::from(f);
            let mut ev = zeroed::<sv2_server_event>();
            match unsafe { sv2_server_endpoint_on_frame(self.pool, self.jobs, &frame, 100, NOW, null_mut(), &mut ev) } {
                OK => out.push(ev),
                e => return Err(e),
            }
        }
        Ok(out)
    }

    /// The miner's events for the frames the pool queued, decoded as messages.
    fn pool_to_miner(&mut self) -> Vec<Got> {
        let (mut data, mut len) = (null(), 0);
        let bytes = unsafe {
            assert_eq!(sv2_server_endpoint_pending_output(self.pool, &mut data, &mut len), OK);
            std::slice::from_raw_parts(data, len).to_vec()
        };
        unsafe { assert_eq!(sv2_server_endpoint_consume_output(self.pool, usize::MAX), OK) };
        let mut d = sv2::codec::FrameDecoder::new(1 << 16);
        d.push(&bytes);
        let mut out = Vec::new();
        while let Some(f) = d.next_frame().unwrap() {
            out.extend(self.feed(&message(f)));
        }
        out
    }

    fn feed(&mut self, m: &sv2_message) -> Vec<Got> {
        let mut n = 0;
        unsafe { assert_eq!(sv2_client_endpoint_on_message(self.miner, m, &mut n), OK) };
        self.events(n)
    }

    fn events(&mut self, n: usize) -> Vec<Got> {
        let mut out = Vec::new();
        let mut e = zeroed::<sv2_client_event>();
        for _ in 0..n {
            unsafe { assert_eq!(sv2_client_endpoint_next_event(self.miner, &mut e), OK) };
            out.push(Got {
                e,
                text: text(e.text),
                extensions: ids(e.extensions),
                required: ids(e.required_extensions),
            });
        }
        unsafe { assert_eq!(sv2_client_endpoint_next_event(self.miner, &mut e), sv2_result::NotFound) };
        out
    }

    fn set_up(&mut self) {
        unsafe { assert_eq!(sv2_client_endpoint_setup_connection(self.miner, null_mut()), OK) };
        let ev = self.miner_to_pool().unwrap();
        assert_eq!(ev[0].kind, sv2_server_event_kind::SetUp);
        assert!(matches!(&self.pool_to_miner()[..], [g] if g.e.kind == sv2_client_event_kind::Connected));
    }

    fn open(&mut self, extended: bool, user: &str) -> Result<u32, sv2_result> {
        let mut request = 0;
        let r = unsafe {
            if extended {
                let u = user.as_bytes();
                sv2_client_endpoint_open_extended(
                    self.miner,
                    u.as_ptr(),
                    u.len(),
                    1.0,
                    HALF.as_ptr(),
                    4,
                    null_mut(),
                    &mut request,
                )
            } else {
                let u = user.as_bytes();
                sv2_client_endpoint_open_standard(
                    self.miner,
                    u.as_ptr(),
                    u.len(),
                    1.0,
                    HALF.as_ptr(),
                    null_mut(),
                    &mut request,
                )
            }
        };
        if r != OK {
            return Err(r);
        }
        let ev = self.miner_to_pool()?;
        assert_eq!(ev[0].kind, sv2_server_event_kind::ChannelOpened);
        let got = self.pool_to_miner();
        let opened = got.iter().find(|g| g.e.kind == sv2_client_event_kind::ChannelOpened).unwrap();
        assert_eq!((opened.e.request_id, opened.e.channel_id), (request, ev[0].channel_id));
        assert_eq!((opened.e.extranonce_size, opened.text.len()), if extended { (6, 2) } else { (0, 8) });
        assert!(got.iter().any(|g| g.e.kind == sv2_client_event_kind::PrevHash));
        Ok(ev[0].channel_id)
    }

    fn work(&self, channel: u32, extended: bool) -> sv2_work {
        let mut w = zeroed::<sv2_work>();
        let en: &[u8] = if extended { &ROLLED } else { &[] };
        unsafe { assert_eq!(sv2_client_endpoint_work(self.miner, channel, en.as_ptr(), en.len(), &mut w), OK) };
        w
    }

    /// Submits a share on `work` with `nonce`; the pool's answer.
    fn submit(
        &mut self,
        channel: u32,
        extended: bool,
        w: &sv2_work,
        nonce: u32,
        tag: u64,
    ) -> Result<sv2_server_event, sv2_result> {
        let en: &[u8] = if extended { &ROLLED } else { &[] };
        let mut seq = 0;
        unsafe {
            let r = sv2_client_endpoint_submit(
                self.miner,
                channel,
                w.job_id,
                nonce,
                w.min_ntime,
                w.version,
                en.as_ptr(),
                en.len(),
                tag,
                null_mut(),
                &mut seq,
            );
            assert_eq!(r, OK);
        }
        let ev = self.miner_to_pool()?;
        assert_eq!(ev.len(), 1);
        Ok(ev[0])
    }
}

impl Drop for World {
    fn drop(&mut self) {
        unsafe {
            sv2_server_endpoint_free(self.pool);
            sv2_client_endpoint_free(self.miner);
            sv2_job_factory_free(self.jobs);
            sv2_extranonce_allocator_free(self.prefixes);
        }
    }
}

fn new_template(id: u64, future: bool, path: &[u8]) -> sv2_message {
    let mut m = zeroed::<sv2_message>();
    m.msg_type = SV2_MSG_NEW_TEMPLATE;
    m.body.new_template = sv2_new_template {
        template_id: id,
        future_template: future.into(),
        version: 0x2000_0000,
        coinbase_tx_version: 2,
        coinbase_prefix: sv2_bytes { data: [0x01, 0x65].as_ptr(), len: 2 },
        coinbase_tx_input_sequence: 0xffff_ffff,
        coinbase_tx_value_remaining: 50_0000_0000,
        coinbase_tx_outputs_count: 0,
        coinbase_tx_outputs: sv2_bytes { data: null(), len: 0 },
        coinbase_tx_locktime: 0,
        merkle_path: sv2_u256_list { data: path.as_ptr(), count: path.len() / 32 },
    };
    m
}

/// The C form of a frame's message; its views point into the frame.
fn message(f: sv2::codec::Frame<'_>) -> sv2_message {
    let mut m = zeroed::<sv2_message>();
    let (ext, ty) = (f.header.extension_id(), f.header.msg_type);
    unsafe { assert_eq!(sv2_message_decode(ext, ty, f.payload.as_ptr(), f.payload.len(), &mut m, null_mut()), OK) };
    m
}

/// A nonce whose hash meets (or misses) the work's target.
fn mine(w: &sv2_work, meets: bool) -> u32 {
    (0..)
        .find(|&nonce| {
            let (mut h, mut ok) = ([0u8; 32], false);
            unsafe {
                assert_eq!(sv2_work_hash(w, w.version, w.min_ntime, nonce, h.as_mut_ptr()), OK);
                assert_eq!(sv2_hash_meets_target(h.as_ptr(), w.target.as_ptr(), &mut ok), OK);
            }
            ok == meets
        })
        .unwrap()
}

fn mining(extended: bool) {
    let mut w = World::new(|_| {});
    w.tip(1, NONE);
    let (mut tip_sent, mut skipped) = (true, 9);
    unsafe { assert_eq!(sv2_server_endpoint_sync(w.pool, w.jobs, null_mut(), &mut tip_sent, &mut skipped), OK) };
    assert!(!tip_sent && skipped == 0);
    w.set_up();
    let ch = w.open(extended, "alice.rig1").unwrap();
    let mut user = sv2_bytes { data: null(), len: 0 };
    unsafe { assert_eq!(sv2_server_endpoint_channel_user(w.pool, ch, &mut user), OK) };
    assert_eq!(text(user), "alice.rig1");

    // Accepted, acknowledged with the tag once the pool takes its successes.
    let work = w.work(ch, extended);
    let good = mine(&work, true);
    let ev = w.submit(ch, extended, &work, good, 42).unwrap();
    assert_eq!((ev.kind, ev.channel_id, ev.share.block), (sv2_server_event_kind::ShareAccepted, ch, false));
    let mut m = zeroed::<sv2_message>();
    unsafe { assert_eq!(sv2_server_endpoint_solution(w.pool, &mut m), sv2_result::NotFound) };
    assert!(w.pool_to_miner().is_empty());
    let mut sent = 0;
    unsafe { assert_eq!(sv2_server_endpoint_take_successes(w.pool, null_mut(), &mut sent), OK) };
    assert_eq!(sent, 1);
    let got = w.pool_to_miner();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].e.kind, got[0].e.has_tag, got[0].e.tag), (sv2_client_event_kind::ShareAccepted, true, 42));

    // Rejected: the same share again, one that misses the target.
    let ev = w.submit(ch, extended, &work, good, 43).unwrap();
    assert_eq!((ev.error, text(ev.error_code).as_str()), (sv2_result::DuplicateShare as i32, "duplicate-share"));
    let ev = w.submit(ch, extended, &work, mine(&work, false), 44).unwrap();
    assert_eq!((ev.error, text(ev.error_code).as_str()), (sv2_result::DifficultyTooLow as i32, "difficulty-too-low"));
    let got = w.pool_to_miner();
    let seen: Vec<(u64, &str)> = got.iter().map(|g| (g.e.tag, g.text.as_str())).collect();
    assert_eq!(seen, [(43, "duplicate-share"), (44, "difficulty-too-low")]);

    // A job on the tip, then a new tip whose network target every hash meets.
    let path = PATH.concat();
    let (m2, mut j) = (new_template(2, false, &path), zeroed::<sv2_template_job>());
    unsafe { assert_eq!(sv2_job_factory_handle(w.jobs, &m2, &mut j), OK) };
    unsafe { assert_eq!(sv2_server_endpoint_sync(w.pool, w.jobs, null_mut(), &mut tip_sent, &mut skipped), OK) };
    let got = w.pool_to_miner();
    assert!(got.iter().any(|g| g.e.job_id == j.job_id && bool::from(g.e.min_ntime.present)));
    w.tip(3, ALL);
    unsafe { assert_eq!(sv2_server_endpoint_sync(w.pool, w.jobs, null_mut(), &mut tip_sent, &mut skipped), OK) };
    assert!(tip_sent);
    assert!(w.pool_to_miner().iter().any(|g| g.e.kind == sv2_client_event_kind::PrevHash));
    let ev = w.submit(ch, extended, &work, good, 45).unwrap();
    assert_eq!(ev.error, sv2_result::StaleShare as i32);
    assert_eq!(w.pool_to_miner()[0].text, "stale-share");
    let work = w.work(ch, extended);
    let nonce = mine(&work, true);
    let ev = w.submit(ch, extended, &work, nonce, 46).unwrap();
    assert!(ev.share.block);
    unsafe { assert_eq!(sv2_server_endpoint_solution(w.pool, &mut m), OK) };
    assert_eq!(unsafe { (m.body.submit_solution.template_id, m.body.submit_solution.header_nonce) }, (3, nonce));
    // A block on the pool's own job is the template provider's to complete, not a custom one.
    let mut block = sv2_bytes { data: null(), len: 0 };
    unsafe { assert_eq!(sv2_server_endpoint_custom_block(w.pool, &mut block), sv2_result::NotFound) };

    // UpdateChannel: a target, then a refusal; vardiff later.
    unsafe {
        assert_eq!(sv2_client_endpoint_update_channel(w.miner, ch, 1e3, HALF.as_ptr(), null_mut()), OK);
        assert_eq!(sv2_client_endpoint_update_channel(w.miner, ch, -1.0, HALF.as_ptr(), null_mut()), OK);
    }
    assert!(w.miner_to_pool().unwrap().iter().all(|e| e.kind == sv2_server_event_kind::Handled));
    let got = w.pool_to_miner();
    let refused = got.iter().find(|g| g.e.kind == sv2_client_event_kind::UpdateRefused).unwrap();
    assert_eq!(refused.text, "invalid-nominal-hashrate");
    let session = {
        let mut s = null_mut();
        unsafe { assert_eq!(sv2_session_new_plaintext(&mut s), OK) };
        s
    };
    unsafe {
        assert_eq!(sv2_server_endpoint_retarget(w.pool, 100_000, session, &mut sent), OK);
        let (mut data, mut len) = (null(), 0);
        assert_eq!(sv2_session_pending_output(session, &mut data, &mut len), OK);
        assert_eq!(len, sent * (6 + 36));
        sv2_session_free(session);
    }

    // A refused open, then CloseChannel.
    let mut request = 0;
    let blank = b"  ";
    unsafe {
        let r =
            sv2_client_endpoint_open_standard(w.miner, blank.as_ptr(), 2, 1.0, HALF.as_ptr(), null_mut(), &mut request);
        assert_eq!(r, OK);
    }
    let ev = w.miner_to_pool().unwrap();
    assert_eq!((ev[0].kind, ev[0].request_id), (sv2_server_event_kind::OpenRefused, request));
    assert_eq!(text(ev[0].error_code), "invalid-user-identity");
    let got = w.pool_to_miner();
    assert_eq!((got[0].e.kind, got[0].e.request_id), (sv2_client_event_kind::ChannelRefused, request));
    assert_eq!(got[0].text, "invalid-user-identity");
    unsafe { assert_eq!(sv2_client_endpoint_close_channel(w.miner, ch, b"bye".as_ptr(), 3, null_mut()), OK) };
    let ev = w.miner_to_pool().unwrap();
    assert_eq!((ev[0].kind, ev[0].count), (sv2_server_event_kind::ChannelsClosed, 1));
    let mut n = 9;
    unsafe { assert_eq!(sv2_server_endpoint_channel_count(w.pool, &mut n), OK) };
    assert_eq!(n, 0);
    unsafe { assert_eq!(sv2_server_endpoint_channel_user(w.pool, ch, &mut user), sv2_result::InvalidChannelId) };
}

#[test]
fn a_standard_channel_mines() {
    mining(false);
}

#[test]
fn an_extended_channel_mines() {
    mining(true);
}

fn mining_msg(ty: u8) -> sv2_message {
    let mut m = zeroed::<sv2_message>();
    m.msg_type = ty;
    m
}

#[test]
fn endpoints_end_connections_with_their_results() {
    use sv2_result::*;
    let mut w = World::new(|o| unsafe {
        assert_eq!(sv2_server_options_set_vardiff(o, 0.0, 60, 1e6, 1.0), InvalidArgument);
        assert_eq!(sv2_server_options_set_vardiff(o, 10.0, 0, 1e6, 1.0), InvalidArgument);
        assert_eq!(sv2_server_options_set_vardiff(o, 10.0, 60, f64::NAN, 1.0), InvalidArgument);
        assert_eq!(sv2_server_options_set_extended_channels_only(o, sv2_bool(0x80)), OK);
        assert_eq!(sv2_server_options_set_version_rolling(o, sv2_bool(0)), OK);
        assert_eq!(sv2_server_options_set_max_channels(o, 1), OK);
        assert_eq!(sv2_server_options_set_share_limits(o, 1, 1), OK);
    });
    let mut request = 0;
    let mut ev = zeroed::<sv2_server_event>();
    unsafe {
        let r = sv2_client_endpoint_open_extended(w.miner, null(), 0, 1.0, HALF.as_ptr(), 0, null_mut(), &mut request);
        assert_eq!(r, NotSetUp);
        let open = mining_msg(SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL);
        assert_eq!(sv2_server_endpoint_on_message(w.pool, w.jobs, &open, 1, NOW, null_mut(), &mut ev), NotSetUp);
        assert_eq!(sv2_client_endpoint_setup_connection(w.miner, null_mut()), OK);
    }
    assert_eq!(w.miner_to_pool().unwrap()[0].flags, 0b11);
    let got = w.pool_to_miner();
    assert_eq!((got[0].e.kind, got[0].e.flags), (sv2_client_event_kind::Connected, 0b11));
    unsafe {
        let r = sv2_client_endpoint_open_standard(w.miner, null(), 0, 1.0, HALF.as_ptr(), null_mut(), &mut request);
        assert_eq!(r, ExtendedChannelsRequired);
    }
    w.tip(1, NONE);
    let ch = w.open(true, "bob").unwrap();
    // One channel at most.
    unsafe {
        let r = sv2_client_endpoint_open_extended(w.miner, null(), 0, 1.0, HALF.as_ptr(), 0, null_mut(), &mut request);
        assert_eq!(r, OK);
    }
    assert_eq!(text(w.miner_to_pool().unwrap()[0].error_code), "too-many-channels");
    w.pool_to_miner();
    // One share a tip: the second ends the connection.
    let work = w.work(ch, true);
    let nonce = mine(&work, true);
    assert_eq!(w.submit(ch, true, &work, nonce, 1).unwrap().kind, sv2_server_event_kind::ShareAccepted);
    let other = (nonce + 1..).find(|n| {
        let (mut h, mut ok) = ([0u8; 32], false);
        unsafe {
            assert_eq!(sv2_work_hash(&work, work.version, work.min_ntime, *n, h.as_mut_ptr()), OK);
            assert_eq!(sv2_hash_meets_target(h.as_ptr(), work.target.as_ptr(), &mut ok), OK);
        }
        ok
    });
    assert_eq!(w.submit(ch, true, &work, other.unwrap(), 2).unwrap_err(), TooManyShares);
    // A second SetupConnection ends it too; so does a frame that does not decode, without
    // changing anything.
    unsafe { assert_eq!(sv2_client_endpoint_setup_connection(w.miner, null_mut()), OK) };
    assert_eq!(w.miner_to_pool().unwrap_err(), UnexpectedMessage);
    let short = sv2_frame {
        extension_type: 0,
        msg_type: SV2_MSG_SUBMIT_SHARES_STANDARD,
        channel_msg: true,
        payload: sv2_bytes { data: [1u8, 2, 3].as_ptr(), len: 3 },
    };
    let mut n = 0;
    unsafe {
        assert_eq!(sv2_server_endpoint_on_frame(w.pool, w.jobs, &short, 1, NOW, null_mut(), &mut ev), UnexpectedEnd);
        assert_eq!(sv2_client_endpoint_on_frame(w.miner, &short, &mut n), UnexpectedEnd);
        // A message only clients send, from the server.
        assert_eq!(
            sv2_client_endpoint_on_message(w.miner, &mining_msg(SV2_MSG_OPEN_STANDARD_MINING_CHANNEL), &mut n),
            UnexpectedMessage
        );
    }

    // Invalid shares past the limit end a connection.
    let mut w = World::new(|o| unsafe { assert_eq!(sv2_server_options_set_share_limits(o, 1, 100), OK) });
    w.tip(1, NONE);
    w.set_up();
    let ch = w.open(false, "carol").unwrap();
    let work = w.work(ch, false);
    let bad = mine(&work, false);
    assert_eq!(w.submit(ch, false, &work, bad, 1).unwrap().kind, sv2_server_event_kind::ShareRejected);
    assert_eq!(w.submit(ch, false, &work, bad, 2).unwrap_err(), InvalidShareFlood);
}

#[test]
fn a_refused_setup_reaches_the_miner() {
    use sv2_result::*;
    let w = World::new(|_| {});
    let mut m = mining_msg(SV2_MSG_SETUP_CONNECTION);
    m.body.setup_connection.protocol = 1;
    let mut ev = zeroed::<sv2_server_event>();
    unsafe {
        assert_eq!(sv2_server_endpoint_on_message(w.pool, w.jobs, &m, 1, NOW, null_mut(), &mut ev), SetupRefused)
    };
    let (mut data, mut len) = (null(), 0);
    let bytes = unsafe {
        assert_eq!(sv2_server_endpoint_pending_output(w.pool, &mut data, &mut len), OK);
        std::slice::from_raw_parts(data, len).to_vec()
    };
    let mut d = sv2::codec::FrameDecoder::new(1 << 16);
    d.push(&bytes);
    let error = message(d.next_frame().unwrap().unwrap());
    assert_eq!(error.msg_type, SV2_MSG_SETUP_CONNECTION_ERROR);
    let mut n = 0;
    unsafe {
        assert_eq!(sv2_client_endpoint_on_message(w.miner, &error, &mut n), UnexpectedMessage);
        assert_eq!(sv2_client_endpoint_setup_connection(w.miner, null_mut()), OK);
        assert_eq!(sv2_client_endpoint_on_message(w.miner, &error, &mut n), SetupRefused);
    }
}

#[test]
fn every_server_message_reaches_the_miner_as_an_event() {
    use sv2_client_event_kind as K;
    use sv2_result::*;
    let mut w = World::new(|_| {});
    w.tip(1, NONE);
    w.set_up();
    let ch = w.open(true, "dave").unwrap();
    unsafe {
        let mut request = 0;
        let long = [b'a'; 256];
        let r = sv2_client_endpoint_open_standard(
            w.miner,
            long.as_ptr(),
            256,
            1.0,
            HALF.as_ptr(),
            null_mut(),
            &mut request,
        );
        assert_eq!(r, TooLong);
        let r = sv2_client_endpoint_open_standard(
            w.miner,
            [0xff].as_ptr(),
            1,
            1.0,
            HALF.as_ptr(),
            null_mut(),
            &mut request,
        );
        assert_eq!(r, InvalidArgument);
        let mut seq = 0;
        let r = sv2_client_endpoint_submit(w.miner, ch, 1, 1, 1, 1, [0u8; 33].as_ptr(), 33, 0, null_mut(), &mut seq);
        assert_eq!(r, TooLong);
    }
    let mut m = mining_msg(SV2_MSG_SET_TARGET);
    m.body.set_target = sv2_set_target { channel_id: ch, maximum_target: HALF };
    let got = w.feed(&m);
    assert_eq!((got[0].e.kind, got[0].e.target), (K::TargetChanged, HALF));
    let mut m = mining_msg(SV2_MSG_SET_EXTRANONCE_PREFIX);
    m.body.set_extranonce_prefix = sv2_set_extranonce_prefix { channel_id: ch, extranonce_prefix: view(&[7, 7]) };
    let got = w.feed(&m);
    assert_eq!((got[0].e.kind, got[0].text.as_bytes()), (K::ExtranoncePrefixChanged, &[7u8, 7][..]));
    let mut n = 0;
    unsafe {
        m.body.set_extranonce_prefix.extranonce_prefix = view(&[7; 30]);
        assert_eq!(sv2_client_endpoint_on_message(w.miner, &m, &mut n), ExtranonceLayout);
        let mut prev = mining_msg(SV2_MSG_SET_NEW_PREV_HASH);
        prev.body.set_new_prev_hash.channel_id = ch;
        prev.body.set_new_prev_hash.job_id = 999;
        assert_eq!(sv2_client_endpoint_on_message(w.miner, &prev, &mut n), UnknownJob);
    }
    let mut m = mining_msg(SV2_MSG_RECONNECT);
    m.body.reconnect = sv2_reconnect { new_host: view(b"b.example"), new_port: 9 };
    let got = w.feed(&m);
    assert_eq!((got[0].e.kind, got[0].text.as_str(), got[0].e.port), (K::Reconnect, "b.example", 9));
    // Extensions: refused, then negotiated.
    for ok in [false, true] {
        unsafe { assert_eq!(sv2_client_endpoint_request_extensions(w.miner, [2u16].as_ptr(), 1, null_mut()), OK) };
        let (mut data, mut len) = (null(), 0);
        let bytes = unsafe {
            assert_eq!(sv2_client_endpoint_pending_output(w.miner, &mut data, &mut len), OK);
            std::slice::from_raw_parts(data, len).to_vec()
        };
        unsafe { assert_eq!(sv2_client_endpoint_consume_output(w.miner, len), OK) };
        let mut d = sv2::codec::FrameDecoder::new(1 << 16);
        d.push(&bytes);
        let req = message(d.next_frame().unwrap().unwrap());
        let request_id = unsafe { req.body.request_extensions.request_id };
        let two = [2u16];
        let list = sv2_u16_list { items: two.as_ptr(), wire: null(), count: 1 };
        let empty = sv2_u16_list { items: null(), wire: null(), count: 0 };
        let mut m = zeroed::<sv2_message>();
        m.extension_type = 1;
        if ok {
            m.msg_type = 1;
            m.body.request_extensions_success =
                sv2_request_extensions_success { request_id, supported_extensions: list };
            let got = w.feed(&m);
            assert_eq!((got[0].e.kind, got[0].extensions.as_slice()), (K::ExtensionsNegotiated, &[2u16][..]));
        } else {
            m.msg_type = 2;
            m.body.request_extensions_error =
                sv2_request_extensions_error { request_id, unsupported_extensions: list, required_extensions: empty };
            let got = w.feed(&m);
            assert_eq!((got[0].e.kind, got[0].extensions.as_slice()), (K::ExtensionsRefused, &[2u16][..]));
            assert!(got[0].required.is_empty());
        }
    }
    let mut m = mining_msg(SV2_MSG_CLOSE_CHANNEL);
    m.body.close_channel = sv2_close_channel { channel_id: ch, reason_code: view(b"maintenance") };
    let got = w.feed(&m);
    assert_eq!((got[0].e.kind, got[0].e.channel_id, got[0].text.as_str()), (K::ChannelClosed, ch, "maintenance"));
    let mut work = zeroed::<sv2_work>();
    unsafe {
        assert_eq!(sv2_client_endpoint_work(w.miner, ch, ROLLED.as_ptr(), 6, &mut work), InvalidChannelId);
        assert_eq!(sv2_client_endpoint_update_channel(w.miner, ch, 1.0, HALF.as_ptr(), null_mut()), InvalidChannelId);
    }
}

#[test]
fn client_configs_are_checked() {
    let mut c = null_mut();
    let mut cfg = config("v");
    cfg.struct_size = 4;
    unsafe { assert_eq!(sv2_client_endpoint_new(&cfg, &mut c), sv2_result::InvalidArgument) };
    let mut bad = config("v");
    bad.vendor = view(&[0xff]);
    unsafe { assert_eq!(sv2_client_endpoint_new(&bad, &mut c), sv2_result::InvalidArgument) };
    bad.vendor = view(&[b'a'; 256]);
    unsafe { assert_eq!(sv2_client_endpoint_new(&bad, &mut c), sv2_result::TooLong) };
    assert!(c.is_null());
    // 256 opens unanswered at most.
    let mut w = World::new(|_| {});
    w.set_up();
    let mut request = 0;
    for _ in 0..256 {
        let r = unsafe {
            sv2_client_endpoint_open_extended(w.miner, null(), 0, 1.0, HALF.as_ptr(), 0, null_mut(), &mut request)
        };
        assert_eq!(r, OK);
    }
    let r = unsafe {
        sv2_client_endpoint_open_extended(w.miner, null(), 0, 1.0, HALF.as_ptr(), 0, null_mut(), &mut request)
    };
    assert_eq!(r, sv2_result::TooManyRequests);
}

/// SetupConnection with `flags`, then an extended channel for "alice", sent to the pool as
/// messages; the channel's id.
fn set_up_for_custom_jobs(w: &mut World, flags: u32) -> Result<u32, sv2_result> {
    let mut ev = zeroed::<sv2_server_event>();
    let mut m = mining_msg(SV2_MSG_SETUP_CONNECTION);
    (m.body.setup_connection.min_version, m.body.setup_connection.max_version) = (2, 2);
    m.body.setup_connection.flags = flags;
    let r = unsafe { sv2_server_endpoint_on_message(w.pool, w.jobs, &m, 1, NOW, null_mut(), &mut ev) };
    if r != OK {
        return Err(r);
    }
    assert_eq!(ev.kind, sv2_server_event_kind::SetUp);
    let mut m = mining_msg(SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL);
    let o = unsafe { &mut m.body.open_extended_mining_channel };
    (o.request_id, o.user_identity, o.nominal_hash_rate, o.max_target) = (1, view(b"alice"), 1.0, ALL);
    o.min_extranonce_size = 4;
    unsafe { assert_eq!(sv2_server_endpoint_on_message(w.pool, w.jobs, &m, 1, NOW, null_mut(), &mut ev), OK) };
    assert_eq!(ev.kind, sv2_server_event_kind::ChannelOpened);
    Ok(ev.channel_id)
}

/// A SetCustomMiningJob on `channel` with a token no store gave out: the pool's event.
fn unknown_custom_job(w: &mut World, channel: u32) -> sv2_server_event {
    let mut m = mining_msg(SV2_MSG_SET_CUSTOM_MINING_JOB);
    let j = unsafe { &mut m.body.set_custom_mining_job };
    (j.channel_id, j.request_id, j.mining_job_token) = (channel, 5, view(&[7; 16]));
    (j.version, j.prev_hash, j.min_ntime, j.nbits) = (0x2000_0000, [1; 32], NOW, 0x207f_ffff);
    let mut ev = zeroed::<sv2_server_event>();
    unsafe { assert_eq!(sv2_server_endpoint_on_message(w.pool, w.jobs, &m, 1, NOW, null_mut(), &mut ev), OK) };
    let (mut job_id, mut block) = (9, sv2_bytes { data: null(), len: 0 });
    unsafe {
        assert_eq!(sv2_server_endpoint_last_custom_job(w.pool, &mut job_id, null_mut()), sv2_result::NotFound);
        assert_eq!(sv2_server_endpoint_custom_block(w.pool, &mut block), sv2_result::NotFound);
    }
    assert_eq!(job_id, 9);
    ev
}

#[test]
fn custom_jobs_need_work_selection_and_a_token() {
    let work = sv2::messages::mining_flags::REQUIRES_WORK_SELECTION;
    // Without work selection: the flag is refused, and so is every SetCustomMiningJob.
    let mut w = World::new(|_| {});
    w.tip(1, NONE);
    assert_eq!(set_up_for_custom_jobs(&mut w, work), Err(sv2_result::SetupRefused));
    let mut w = World::new(|_| {});
    w.tip(1, NONE);
    let ch = set_up_for_custom_jobs(&mut w, 0).unwrap();
    let ev = unknown_custom_job(&mut w, ch);
    assert_eq!((ev.kind, ev.channel_id), (sv2_server_event_kind::CustomJobRefused, ch));
    assert_eq!(text(ev.error_code), "unsupported-feature-flags");

    // With work selection: a token the store never gave, a channel that is not open, a share
    // on a custom job id never given.
    let (mut store, mut jds) = (null_mut(), null_mut());
    unsafe {
        assert_eq!(sv2_token_store_new(8, &mut store), OK);
        assert_eq!(sv2_jd_server_options_new([0x51].as_ptr(), 1, &mut jds), OK);
    }
    let mut w = World::new(|o| unsafe { assert_eq!(sv2_server_options_set_work_selection(o, store, jds), OK) });
    unsafe {
        // The endpoint keeps its own handle on the tokens and its own copy of the outputs.
        sv2_token_store_free(store);
        sv2_jd_server_options_free(jds);
    }
    w.tip(1, NONE);
    let ch = set_up_for_custom_jobs(&mut w, work).unwrap();
    let ev = unknown_custom_job(&mut w, ch);
    assert_eq!((ev.kind, ev.channel_id), (sv2_server_event_kind::CustomJobRefused, ch));
    assert_eq!(text(ev.error_code), "invalid-mining-job-token");
    let ev = unknown_custom_job(&mut w, 99);
    assert_eq!(
        (ev.kind, ev.channel_id, text(ev.error_code).as_str()),
        (sv2_server_event_kind::CustomJobRefused, 99, "invalid-channel-id")
    );
    let mut m = mining_msg(SV2_MSG_SUBMIT_SHARES_EXTENDED);
    let s = unsafe { &mut m.body.submit_shares_extended };
    (s.channel_id, s.sequence_number, s.job_id, s.ntime) = (ch, 1, 1 << 31, NOW);
    (s.version, s.extranonce) = (0x2000_0000, view(&[0; 4]));
    let mut ev = zeroed::<sv2_server_event>();
    let mut block = sv2_bytes { data: null(), len: 0 };
    unsafe {
        assert_eq!(sv2_server_endpoint_on_message(w.pool, w.jobs, &m, 1, NOW, null_mut(), &mut ev), OK);
        assert_eq!(sv2_server_endpoint_custom_block(w.pool, &mut block), sv2_result::NotFound);
    }
    assert_eq!((ev.kind, text(ev.error_code).as_str()), (sv2_server_event_kind::ShareRejected, "invalid-job-id"));
}
