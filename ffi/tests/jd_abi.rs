//! Job Declaration through the C ABI, driven as C drives it: a pool's sv2_jd_server (mempool
//! as a C callback, tokens in an sv2_token_store) and a farm's sv2_jd_client in memory, their
//! plaintext frames handed across. The whole Full-Template flow to a block; then every way a
//! connection ends with its result, every option and argument refused, and NULL for every
//! pointer.

use std::ffi::c_void;
use std::ptr::{null, null_mut};

use sv2::channels::hash::sha256d;
use sv2::codec::{frame_to_vec, Bytes, Seq};
use sv2::messages::{
    AllocateMiningJobToken, AllocateMiningJobTokenSuccess, DeclareMiningJobSuccess, ProvideMissingTransactions,
    SetupConnection, SetupConnectionError,
};
use sv2::{FrameDecoder, Message};
use sv2_ffi::jd_client::*;
use sv2_ffi::jd_server::*;
use sv2_ffi::jd_store::*;
use sv2_ffi::messages::*;
use sv2_ffi::session::sv2_frame;
use sv2_ffi::sv2_result::{self, Ok as OK};
use sv2_ffi::views::{sv2_bool, sv2_bytes, sv2_bytes_list_next, sv2_u256_list};

const NOW: u32 = 1_700_000_000;
const CLOCK: u64 = 1000;
const POOL_SCRIPT: [u8; 22] = [0x00, 0x14, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9];
const EXTRANONCE: [u8; 8] = [0, 0, 0, 7, 1, 2, 3, 4];

fn zeroed<T>() -> T {
    // SAFETY: only used for the C structs of this crate, for which all-zero is valid.
    unsafe { std::mem::zeroed() }
}

fn view(b: &[u8]) -> sv2_bytes {
    sv2_bytes { data: b.as_ptr(), len: b.len() }
}

fn bytes_of(b: sv2_bytes) -> Vec<u8> {
    if b.len == 0 {
        return Vec::new();
    }
    unsafe { std::slice::from_raw_parts(b.data, b.len) }.to_vec()
}

fn text(b: sv2_bytes) -> String {
    String::from_utf8_lossy(&bytes_of(b)).into_owned()
}

/// A legacy transaction spending output `i` of a made-up transaction to OP_TRUE.
fn tx(i: u8) -> Vec<u8> {
    let mut t = vec![2, 0, 0, 0, 1];
    t.extend_from_slice(&[0x30 + i; 32]);
    t.extend_from_slice(&[i, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1]);
    t.extend_from_slice(&(1000 + u64::from(i)).to_le_bytes());
    t.extend_from_slice(&[1, 0x51, 0, 0, 0, 0]);
    t
}

fn pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    sha256d(&[a.as_slice(), b].concat())
}

/// Three transactions and the coinbase's merkle path over them.
struct Template {
    txs: Vec<Vec<u8>>,
    path: [[u8; 32]; 2],
}

impl Template {
    fn new() -> Self {
        let txs: Vec<Vec<u8>> = (0..3).map(tx).collect();
        let ids: Vec<[u8; 32]> = txs.iter().map(|t| sha256d(t)).collect();
        Template { path: [ids[0], pair(&ids[1], &ids[2])], txs }
    }

    fn msg(&self) -> sv2_message {
        static HEIGHT: [u8; 3] = [0x02, 0x10, 0x27];
        let mut m: sv2_message = zeroed();
        m.msg_type = 0x71;
        unsafe {
            let t = &mut m.body.new_template;
            t.template_id = 77;
            t.version = 0x2000_0000;
            t.coinbase_tx_version = 2;
            t.coinbase_prefix = view(&HEIGHT);
            t.coinbase_tx_input_sequence = 0xffff_fffe;
            t.coinbase_tx_value_remaining = 5_000_012_345;
            t.merkle_path = sv2_u256_list { data: self.path.as_ptr().cast(), count: 2 };
        }
        m
    }

    fn views(&self) -> Vec<sv2_bytes> {
        self.txs.iter().map(|t| view(t)).collect()
    }
}

fn tip(prev: u8) -> sv2_message {
    let mut m: sv2_message = zeroed();
    m.msg_type = 0x72;
    unsafe {
        let p = &mut m.body.set_new_prev_hash_tdp;
        p.template_id = 77;
        p.prev_hash = [prev; 32];
        p.header_timestamp = NOW;
        p.nbits = 0x207f_ffff;
        p.target = [0xff; 32];
        p.target[31] = 0x7f;
    }
    m
}

/// The pool's mempool: the transactions, and which of them it knows; `wrong` answers with
/// another transaction than the one asked for, `huge` with a length over the limit.
struct Pool {
    txs: Vec<Vec<u8>>,
    known: Vec<bool>,
    wrong: bool,
    huge: bool,
}

unsafe extern "C" fn mempool_get(user: *mut c_void, wtxid: *const u8, tx: *mut sv2_bytes) -> sv2_bool {
    let pool = &*(user as *const Pool);
    let wtxid = std::slice::from_raw_parts(wtxid, 32);
    for (i, t) in pool.txs.iter().enumerate() {
        if pool.known[i] && sha256d(t) == wtxid {
            let answer = if pool.wrong { &pool.txs[(i + 1) % pool.txs.len()] } else { t };
            *tx = sv2_bytes { data: answer.as_ptr(), len: if pool.huge { 4_000_001 } else { answer.len() } };
            return sv2_bool(1);
        }
    }
    sv2_bool(0)
}

fn farm_config(full_template: bool) -> sv2_jd_client_config {
    sv2_jd_client_config {
        struct_size: std::mem::size_of::<sv2_jd_client_config>(),
        full_template: sv2_bool(full_template.into()),
        extranonce_len: 8,
        endpoint_port: 3336,
        max_tokens: 4,
        max_declarations: 4,
        user_identifier: view(b"alice"),
        tag: view(b"/jdc/"),
        endpoint_host: view(b"pool.example"),
        vendor: view(b"libsv2-test"),
    }
}

/// A farm and a pool in memory.
struct World {
    store: *mut sv2_token_store,
    options: *mut sv2_jd_server_options,
    pool: *mut sv2_jd_server,
    farm: *mut sv2_jd_client,
    mempool: Box<Pool>,
    seed: u64,
}

impl World {
    fn new(full_template: bool, known: [bool; 3], options: impl FnOnce(*mut sv2_jd_server_options)) -> Self {
        Self::with_store(full_template, known, 64, options)
    }

    fn with_store(
        full_template: bool,
        known: [bool; 3],
        max_tokens: usize,
        options: impl FnOnce(*mut sv2_jd_server_options),
    ) -> Self {
        let mut w = World {
            store: null_mut(),
            options: null_mut(),
            pool: null_mut(),
            farm: null_mut(),
            mempool: Box::new(Pool { txs: Template::new().txs, known: known.to_vec(), wrong: false, huge: false }),
            seed: 0,
        };
        unsafe {
            assert_eq!(sv2_token_store_new(max_tokens, &mut w.store), OK);
            assert_eq!(sv2_jd_server_options_new(POOL_SCRIPT.as_ptr(), POOL_SCRIPT.len(), &mut w.options), OK);
            options(w.options);
            let user = (&*w.mempool as *const Pool).cast_mut().cast();
            assert_eq!(sv2_jd_server_new(w.options, w.store, Some(mempool_get), user, &mut w.pool), OK);
            let c = farm_config(full_template);
            assert_eq!(sv2_jd_client_new(&c, &mut w.farm), OK);
        }
        w
    }

    fn entropy(&mut self) -> [u8; 16] {
        self.seed += 1;
        let mut e = [0xe0; 16];
        e[..8].copy_from_slice(&self.seed.to_le_bytes());
        e
    }

    /// The farm's queued frames, one by one, to the pool: each frame's result and event.
    fn send_pool(&mut self) -> Vec<Result<sv2_jd_server_event, sv2_result>> {
        let bytes = unsafe { take(|d, l| sv2_jd_client_pending_output(self.farm, d, l)) };
        unsafe { assert_eq!(sv2_jd_client_consume_output(self.farm, usize::MAX), OK) };
        let mut out = Vec::new();
        for_frames(&bytes, |f| {
            let mut ev: sv2_jd_server_event = zeroed();
            let e = self.entropy();
            let r = unsafe { sv2_jd_server_on_frame(self.pool, f, CLOCK, e.as_ptr(), null_mut(), &mut ev) };
            out.push(if r == OK { Ok(ev) } else { Err(r) });
        });
        out
    }

    fn send_pool_one(&mut self) -> sv2_jd_server_event {
        let mut evs = self.send_pool();
        assert_eq!(evs.len(), 1);
        evs.remove(0).expect("the pool takes the frame")
    }

    fn send_farm(&mut self) -> Vec<Result<sv2_jd_client_event, sv2_result>> {
        let bytes = unsafe { take(|d, l| sv2_jd_server_pending_output(self.pool, d, l)) };
        unsafe { assert_eq!(sv2_jd_server_consume_output(self.pool, usize::MAX), OK) };
        let mut out = Vec::new();
        for_frames(&bytes, |f| {
            let mut ev: sv2_jd_client_event = zeroed();
            let r = unsafe { sv2_jd_client_on_frame(self.farm, f, null_mut(), &mut ev) };
            out.push(if r == OK { Ok(ev) } else { Err(r) });
        });
        out
    }

    fn send_farm_one(&mut self) -> sv2_jd_client_event {
        let mut evs = self.send_farm();
        assert_eq!(evs.len(), 1);
        evs.remove(0).expect("the farm takes the frame")
    }

    /// A message to the pool as an sv2_message (decoded from its encoding).
    fn pool_message(&mut self, m: &Message<'_>) -> Result<sv2_jd_server_event, sv2_result> {
        let frame = frame_to_vec(m, &[]).unwrap();
        let mut c: sv2_message = zeroed();
        let payload = &frame[6..];
        let r = unsafe {
            sv2_message_decode(m.extension_type(), m.msg_type(), payload.as_ptr(), payload.len(), &mut c, null_mut())
        };
        assert_eq!(r, OK);
        let mut ev: sv2_jd_server_event = zeroed();
        let e = self.entropy();
        let r = unsafe { sv2_jd_server_on_message(self.pool, &c, CLOCK, e.as_ptr(), null_mut(), &mut ev) };
        if r == OK {
            Ok(ev)
        } else {
            Err(r)
        }
    }

    /// A message to the farm as an sv2_message.
    fn farm_message(&mut self, m: &Message<'_>) -> Result<sv2_jd_client_event, sv2_result> {
        let frame = frame_to_vec(m, &[]).unwrap();
        let mut c: sv2_message = zeroed();
        let payload = &frame[6..];
        let r = unsafe {
            sv2_message_decode(m.extension_type(), m.msg_type(), payload.as_ptr(), payload.len(), &mut c, null_mut())
        };
        assert_eq!(r, OK);
        let mut ev: sv2_jd_client_event = zeroed();
        let r = unsafe { sv2_jd_client_on_message(self.farm, &c, null_mut(), &mut ev) };
        if r == OK {
            Ok(ev)
        } else {
            Err(r)
        }
    }

    fn connect(&mut self) {
        unsafe { assert_eq!(sv2_jd_client_start(self.farm, null_mut()), OK) };
        assert_eq!(self.send_pool_one().kind, sv2_jd_server_event_kind::SetUp);
        assert_eq!(self.send_farm_one().kind, sv2_jd_client_event_kind::SetUp);
    }

    fn token(&mut self) {
        let mut id = 0;
        unsafe { assert_eq!(sv2_jd_client_request_token(self.farm, null_mut(), &mut id), OK) };
        let ev = self.send_pool_one();
        assert_eq!((ev.kind, ev.request_id), (sv2_jd_server_event_kind::TokenAllocated, id));
        let ev = self.send_farm_one();
        assert_eq!((ev.kind, ev.request_id), (sv2_jd_client_event_kind::TokenReady, id));
        assert_eq!((ev.max_additional_size, ev.max_additional_sigops), (31, 0));
    }

    fn declare(&mut self, t: &Template) -> Result<(u32, bool), sv2_result> {
        let (msg, prev, txs) = (t.msg(), tip(0x42), t.views());
        let (mut id, mut ready) = (0, false);
        let r = unsafe {
            sv2_jd_client_declare(self.farm, &msg, &prev, txs.as_ptr(), txs.len(), null_mut(), &mut id, &mut ready)
        };
        if r == OK {
            Ok((id, ready))
        } else {
            Err(r)
        }
    }

    fn verdict(&mut self, id: u32, code: &[u8]) -> Result<sv2_jd_server_event, sv2_result> {
        let mut ev: sv2_jd_server_event = zeroed();
        let e = self.entropy();
        let code_ptr = if code.is_empty() { null() } else { code.as_ptr() };
        let r = unsafe {
            sv2_jd_server_verdict(self.pool, id, code_ptr, code.len(), CLOCK, e.as_ptr(), null_mut(), &mut ev)
        };
        if r == OK {
            Ok(ev)
        } else {
            Err(r)
        }
    }

    fn check(&mut self, prev: u8) -> Result<String, (sv2_result, String)> {
        let mut m: sv2_message = zeroed();
        unsafe { assert_eq!(sv2_jd_client_custom_job(self.farm, 5, 1, &mut m), OK) };
        let (mut user, mut code) = (view(b""), view(b""));
        let t = tip(prev);
        let r = unsafe {
            sv2_token_store_check_custom_job(
                self.store,
                self.options,
                &m,
                &t,
                8,
                sv2_bool(1),
                CLOCK,
                NOW,
                &mut user,
                &mut code,
            )
        };
        if r == OK {
            Ok(text(user))
        } else {
            Err((r, text(code)))
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        unsafe {
            sv2_jd_server_free(self.pool);
            sv2_jd_client_free(self.farm);
            sv2_jd_server_options_free(self.options);
            sv2_token_store_free(self.store);
        }
    }
}

/// The bytes a pending-output function points at, copied.
unsafe fn take(f: impl FnOnce(*mut *const u8, *mut usize) -> sv2_result) -> Vec<u8> {
    let (mut d, mut l) = (null(), 0);
    assert_eq!(f(&mut d, &mut l), OK);
    bytes_of(sv2_bytes { data: d, len: l })
}

fn for_frames(bytes: &[u8], mut f: impl FnMut(&sv2_frame)) {
    let mut dec = FrameDecoder::new(1 << 22);
    dec.push(bytes);
    while let Some(frame) = dec.next_frame().unwrap() {
        f(&sv2_frame::from(frame));
    }
}

fn coinbase_merkle_root(coinbase: &[u8], path: &[[u8; 32]; 2]) -> [u8; 32] {
    pair(&pair(&sha256d(coinbase), &path[0]), &path[1])
}

#[test]
fn a_full_template_job_is_declared_checked_and_mined() {
    let t = Template::new();
    let mut w = World::new(true, [true, false, true], |_| {});
    w.connect();
    w.token();
    let (id, ready) = w.declare(&t).unwrap();
    assert!(!ready);
    let ev = w.send_pool_one();
    assert_eq!((ev.kind, ev.request_id, ev.count), (sv2_jd_server_event_kind::MissingTransactionsRequested, id, 1));
    let ev = w.send_farm_one();
    assert_eq!((ev.kind, ev.count), (sv2_jd_client_event_kind::MissingTransactionsSent, 1));
    let ev = w.send_pool_one();
    assert_eq!((ev.kind, ev.request_id, ev.count), (sv2_jd_server_event_kind::ValidateJob, id, 3));
    assert_eq!((ev.version, text(ev.user)), (0x2000_0000, "alice".into()));
    assert_eq!(ev.merkle_root, coinbase_merkle_root(&bytes_of(ev.coinbase), &t.path));
    let mut offset = 0;
    let mut item = view(b"");
    for tx in &t.txs {
        unsafe { assert_eq!(sv2_bytes_list_next(&ev.transactions, &mut offset, &mut item), OK) };
        assert_eq!(&bytes_of(item), tx);
    }
    unsafe { assert_eq!(sv2_bytes_list_next(&ev.transactions, &mut offset, &mut item), sv2_result::NotFound) };

    let ev = w.verdict(id, b"").unwrap();
    assert_eq!((ev.kind, ev.request_id), (sv2_jd_server_event_kind::JobDeclared, id));
    let ev = w.send_farm_one();
    assert_eq!((ev.kind, ev.request_id, ev.template_id), (sv2_jd_client_event_kind::JobDeclared, id, 77));
    assert_eq!(w.check(0x41), Err((sv2_result::CustomJobRefused, "stale-chain-tip".into())));
    assert_eq!(w.check(0x42), Ok("alice".into()));
    assert_eq!(w.check(0x42), Err((sv2_result::CustomJobRefused, "invalid-mining-job-token".into())));

    // PushSolution until a header meets the regtest nbits.
    let mut found = None;
    for nonce in 0..64 {
        let mut cb = view(b"");
        let r = unsafe {
            sv2_jd_client_push_solution(
                w.farm,
                id,
                EXTRANONCE.as_ptr(),
                8,
                nonce,
                NOW + 1,
                0x2000_0000,
                null_mut(),
                &mut cb,
            )
        };
        assert_eq!(r, OK);
        let coinbase = bytes_of(cb);
        let ev = w.send_pool_one();
        if ev.kind == sv2_jd_server_event_kind::BlockFound {
            found = Some((coinbase, bytes_of(ev.block), ev.block_hash));
            break;
        }
        assert_eq!(ev.kind, sv2_jd_server_event_kind::SolutionIgnored);
        assert_eq!(text(ev.text), "header hash above its nbits target");
    }
    let (coinbase, block, hash) = found.expect("a block within 64 nonces");
    assert_eq!(block.len(), 80 + 1 + coinbase.len() + 3 * 61);
    assert_eq!(&block[81..81 + coinbase.len()], coinbase.as_slice());
    assert_eq!(sha256d(&block[..80]), hash);
    assert_eq!(block[36..68], coinbase_merkle_root(&coinbase, &t.path));
    let mut n = 0;
    unsafe { assert_eq!(sv2_token_store_len(w.store, &mut n), OK) };
    assert_eq!(n, 0, "the allocated token spent by the declaration, the job's by the check");
}

#[test]
fn handles_shared_across_threads_hold_the_same_tokens() {
    let mut w = World::new(true, [true; 3], |_| {});
    w.connect();
    w.token();
    let mut other = null_mut();
    unsafe { assert_eq!(sv2_token_store_share(w.store, &mut other), OK) };
    let other_addr = other as usize;
    let counted = std::thread::spawn(move || {
        let mut n = 0;
        let other = other_addr as *mut sv2_token_store;
        unsafe {
            assert_eq!(sv2_token_store_len(other, &mut n), OK);
            sv2_token_store_free(other);
        }
        n
    })
    .join()
    .unwrap();
    assert_eq!(counted, 1, "the other handle sees the token allocated through this one");
}

#[test]
fn a_mempool_answer_that_is_not_the_transaction_asked_for_counts_as_unknown() {
    let t = Template::new();
    for (wrong, huge) in [(true, false), (false, true)] {
        let mut w = World::new(true, [true, true, true], |_| {});
        (w.mempool.wrong, w.mempool.huge) = (wrong, huge);
        w.connect();
        w.token();
        w.declare(&t).unwrap();
        let ev = w.send_pool_one();
        assert_eq!((ev.kind, ev.count), (sv2_jd_server_event_kind::MissingTransactionsRequested, 3));
    }
    // No mempool at all.
    let mut w = World::new(true, [true; 3], |_| {});
    unsafe {
        sv2_jd_server_free(w.pool);
        assert_eq!(sv2_jd_server_new(w.options, w.store, None, null_mut(), &mut w.pool), OK);
    }
    w.connect();
    w.token();
    w.declare(&t).unwrap();
    assert_eq!(w.send_pool_one().count, 3);
    let mut pending = 0;
    unsafe { assert_eq!(sv2_jd_server_pending_declarations(w.pool, &mut pending), OK) };
    assert_eq!(pending, 1);
}

#[test]
fn refusals_reach_both_sides() {
    let t = Template::new();
    let mut w = World::new(true, [true; 3], |_| {});
    assert_eq!(w.declare(&t), Err(sv2_result::NoToken));
    w.connect();
    w.token();
    let (id, _) = w.declare(&t).unwrap();
    assert_eq!(w.send_pool_one().kind, sv2_jd_server_event_kind::ValidateJob);
    assert_eq!(w.verdict(id, &[b'x'; 256]).unwrap_err(), sv2_result::TooLong);
    // A code that is not text is sent as invalid-job.
    let ev = w.verdict(id, &[0xff, 0xfe]).unwrap();
    assert_eq!((ev.kind, text(ev.text)), (sv2_jd_server_event_kind::JobRefused, "invalid-job".into()));
    let ev = w.send_farm_one();
    assert_eq!((ev.kind, text(ev.code)), (sv2_jd_client_event_kind::JobRefused, "invalid-job".into()));
    assert_eq!(text(ev.details), "the block would not be valid");
    assert_eq!(w.verdict(id, b"late").unwrap().kind, sv2_jd_server_event_kind::Handled);
    let mut m: sv2_message = zeroed();
    unsafe { assert_eq!(sv2_jd_client_custom_job(w.farm, 5, 1, &mut m), sv2_result::NotFound) };

    // Transactions that are not the template's, and messages that are not a template or tip.
    w.token();
    let swapped = [view(&t.txs[1]), view(&t.txs[0]), view(&t.txs[2])];
    let (msg, prev) = (t.msg(), tip(0x42));
    let (mut id, mut ready) = (0, false);
    unsafe {
        let r = sv2_jd_client_declare(w.farm, &msg, &prev, swapped.as_ptr(), 3, null_mut(), &mut id, &mut ready);
        assert_eq!(r, sv2_result::TransactionsMismatch);
        let r = sv2_jd_client_declare(w.farm, &prev, &prev, swapped.as_ptr(), 3, null_mut(), &mut id, &mut ready);
        assert_eq!(r, sv2_result::InvalidArgument);
        let r = sv2_jd_client_declare(w.farm, &msg, &msg, swapped.as_ptr(), 3, null_mut(), &mut id, &mut ready);
        assert_eq!(r, sv2_result::InvalidArgument);
        let many = vec![view(&t.txs[0]); 70_000];
        let r = sv2_jd_client_declare(w.farm, &msg, &prev, many.as_ptr(), many.len(), null_mut(), &mut id, &mut ready);
        assert_eq!(r, sv2_result::TooLong);
        let mut n = 0;
        assert_eq!(sv2_jd_client_tokens(w.farm, &mut n), OK);
        assert_eq!(n, 1, "the token stays");
    }
    let mut cb = view(b"");
    unsafe {
        let r = sv2_jd_client_push_solution(w.farm, 999, EXTRANONCE.as_ptr(), 8, 0, NOW, 0, null_mut(), &mut cb);
        assert_eq!(r, sv2_result::UnknownDeclaration);
    }
}

#[test]
fn coinbase_only_jobs_are_ready_at_once() {
    let t = Template::new();
    let mut w = World::new(false, [true; 3], |_| {});
    w.connect();
    w.token();
    let (id, ready) = w.declare(&t).unwrap();
    assert!(ready);
    assert!(unsafe { take(|d, l| sv2_jd_client_pending_output(w.farm, d, l)) }.is_empty());
    assert_eq!(w.check(0x42), Ok("alice".into()));
    // Coinbase-only: no PushSolution, the coinbase for the template provider only.
    let mut cb = view(b"");
    unsafe {
        let r =
            sv2_jd_client_push_solution(w.farm, id, EXTRANONCE.as_ptr(), 8, 1, NOW, 0x2000_0000, null_mut(), &mut cb);
        assert_eq!(r, OK);
        assert!(cb.len > 0);
        let r =
            sv2_jd_client_push_solution(w.farm, id, EXTRANONCE.as_ptr(), 4, 1, NOW, 0x2000_0000, null_mut(), &mut cb);
        assert_eq!(r, sv2_result::ExtranonceMismatch);
    }
    assert!(unsafe { take(|d, l| sv2_jd_client_pending_output(w.farm, d, l)) }.is_empty());
}

fn setup(protocol: u8, flags: u32) -> Message<'static> {
    SetupConnection {
        protocol,
        min_version: 2,
        max_version: 2,
        flags,
        endpoint_host: Bytes::EMPTY,
        endpoint_port: 0,
        vendor: Bytes::EMPTY,
        hardware_version: Bytes::EMPTY,
        firmware: Bytes::EMPTY,
        device_id: Bytes::EMPTY,
    }
    .into()
}

fn alloc(request_id: u32) -> Message<'static> {
    AllocateMiningJobToken { user_identifier: Bytes::EMPTY, request_id }.into()
}

#[test]
fn the_server_ends_connections_with_their_results() {
    let mut w = World::new(true, [true; 3], |_| {});
    assert_eq!(w.pool_message(&alloc(1)).unwrap_err(), sv2_result::NotSetUp);
    assert_eq!(w.pool_message(&setup(1, 0x80)).unwrap_err(), sv2_result::SetupRefused);
    assert_eq!(w.pool_message(&setup(1, 1)).unwrap().kind, sv2_jd_server_event_kind::SetUp);
    assert_eq!(w.pool_message(&setup(1, 1)).unwrap_err(), sv2_result::UnexpectedMessage);
    let ok = DeclareMiningJobSuccess { request_id: 1, new_mining_job_token: Bytes::EMPTY };
    assert_eq!(w.pool_message(&ok.into()).unwrap_err(), sv2_result::UnexpectedMessage);

    // Token request flood.
    let mut w = World::new(true, [true; 3], |o| unsafe {
        assert_eq!(sv2_jd_server_options_set_token_limits(o, 60, 4, 1, 2), OK);
    });
    w.pool_message(&setup(1, 1)).unwrap();
    assert_eq!(w.pool_message(&alloc(1)).unwrap().kind, sv2_jd_server_event_kind::TokenAllocated);
    assert_eq!(w.pool_message(&alloc(2)).unwrap_err(), sv2_result::TokenRequestFlood);

    // A full store, and entropy repeating a live token.
    let mut w = World::with_store(true, [true; 3], 1, |_| {});
    w.pool_message(&setup(1, 1)).unwrap();
    w.pool_message(&alloc(1)).unwrap();
    assert_eq!(w.pool_message(&alloc(2)).unwrap_err(), sv2_result::TokenStoreFull);
    let mut w = World::new(true, [true; 3], |_| {});
    w.pool_message(&setup(1, 1)).unwrap();
    let frame = frame_to_vec(&alloc(1), &[]).unwrap();
    let mut results = Vec::new();
    for_frames(&[frame.clone(), frame].concat(), |f| {
        let mut ev: sv2_jd_server_event = zeroed();
        results.push(unsafe { sv2_jd_server_on_frame(w.pool, f, CLOCK, [7; 16].as_ptr(), null_mut(), &mut ev) });
    });
    assert_eq!(results, [OK, sv2_result::TokenCollision]);
    // Entropy from the operating system.
    let mut ev: sv2_jd_server_event = zeroed();
    let frame = frame_to_vec(&alloc(3), &[]).unwrap();
    for_frames(&frame, |f| {
        assert_eq!(unsafe { sv2_jd_server_on_frame(w.pool, f, CLOCK, null(), null_mut(), &mut ev) }, OK);
    });
    assert_eq!(ev.kind, sv2_jd_server_event_kind::TokenAllocated);
    // A frame that does not decode.
    let bad = sv2_frame { extension_type: 0, msg_type: 0x50, channel_msg: false, payload: view(&[1]) };
    assert_eq!(
        unsafe { sv2_jd_server_on_frame(w.pool, &bad, CLOCK, null(), null_mut(), &mut ev) },
        sv2_result::UnexpectedEnd
    );
}

#[test]
fn a_repeated_declaration_id_ends_the_connection() {
    let t = Template::new();
    let mut w = World::new(true, [false; 3], |_| {});
    w.connect();
    w.token();
    w.declare(&t).unwrap();
    let declared = unsafe { take(|d, l| sv2_jd_client_pending_output(w.farm, d, l)) };
    let mut results = Vec::new();
    for_frames(&[declared.clone(), declared].concat(), |f| {
        let mut ev: sv2_jd_server_event = zeroed();
        results.push(unsafe { sv2_jd_server_on_frame(w.pool, f, CLOCK, [8; 16].as_ptr(), null_mut(), &mut ev) });
    });
    assert_eq!(results, [OK, sv2_result::DuplicateRequestId]);
}

#[test]
fn the_client_ends_connections_with_their_results() {
    let mut w = World::new(true, [true; 3], |_| {});
    let ok = DeclareMiningJobSuccess { request_id: 1, new_mining_job_token: Bytes::EMPTY };
    assert_eq!(w.farm_message(&ok.into()).unwrap_err(), sv2_result::NotSetUp);
    let refused = SetupConnectionError { flags: 0, error_code: Bytes::from_str("unsupported-protocol").unwrap() };
    assert_eq!(w.farm_message(&refused.into()).unwrap_err(), sv2_result::SetupRefused);
    w.connect();
    let ev = w.farm_message(&ok.into()).unwrap();
    assert_eq!(ev.kind, sv2_jd_client_event_kind::Ignored);
    assert!(!text(ev.details).is_empty());
    assert_eq!(w.farm_message(&alloc(1)).unwrap_err(), sv2_result::UnexpectedMessage);
    let token = AllocateMiningJobTokenSuccess {
        request_id: 1,
        mining_job_token: Bytes::new(&[1; 16]).unwrap(),
        coinbase_tx_outputs: Bytes::new(&[5, 1]).unwrap(),
    };
    assert_eq!(w.farm_message(&token.into()).unwrap_err(), sv2_result::UnexpectedMessage, "not asked for");
    let mut id = 0;
    unsafe { assert_eq!(sv2_jd_client_request_token(w.farm, null_mut(), &mut id), OK) };
    assert_eq!(w.farm_message(&token.into()).unwrap_err(), sv2_result::InvalidCoinbaseOutputs);

    // A position outside the declaration.
    let t = Template::new();
    let mut w = World::new(true, [true; 3], |_| {});
    w.connect();
    w.token();
    let (mut id, _) = w.declare(&t).unwrap();
    let ask = ProvideMissingTransactions { request_id: id, unknown_tx_position_list: Seq::new(&[9]).unwrap() };
    assert_eq!(w.farm_message(&ask.into()).unwrap_err(), sv2_result::BadTransactionPosition);

    // Too many tokens asked for.
    let mut c = farm_config(true);
    c.max_tokens = 1;
    let mut farm = null_mut();
    unsafe {
        assert_eq!(sv2_jd_client_new(&c, &mut farm), OK);
        assert_eq!(sv2_jd_client_request_token(farm, null_mut(), &mut id), OK);
        assert_eq!(sv2_jd_client_request_token(farm, null_mut(), &mut id), sv2_result::TooManyRequests);
        let bad = sv2_frame { extension_type: 0, msg_type: 0x51, channel_msg: false, payload: view(&[1]) };
        let mut ev: sv2_jd_client_event = zeroed();
        assert_eq!(sv2_jd_client_on_frame(farm, &bad, null_mut(), &mut ev), sv2_result::UnexpectedEnd);
        sv2_jd_client_free(farm);
    }
}

#[test]
fn options_and_configs_are_checked() {
    unsafe {
        let mut o = null_mut();
        assert_eq!(sv2_jd_server_options_new(null(), 0, &mut o), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_new([0; 10_001].as_ptr(), 10_001, &mut o), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_new(null(), 1, &mut o), sv2_result::NullParameter);
        assert_eq!(sv2_jd_server_options_new(POOL_SCRIPT.as_ptr(), 22, null_mut()), sv2_result::NullParameter);
        assert_eq!(sv2_jd_server_options_new(POOL_SCRIPT.as_ptr(), 22, &mut o), OK);
        assert_eq!(sv2_jd_server_options_add_required_script(o, [0x51].as_ptr(), 1), OK);
        assert_eq!(sv2_jd_server_options_add_required_script(o, null(), 0), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_set_min_payout_ppm(o, 1_000_001), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_set_min_payout_ppm(o, 990_000), OK);
        assert_eq!(sv2_jd_server_options_set_modes(o, sv2_bool(0), sv2_bool(0)), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_set_modes(o, sv2_bool(1), sv2_bool(0)), OK);
        assert_eq!(sv2_jd_server_options_set_token_limits(o, 0, 1, 1, 1), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_set_token_limits(o, 1, 0, 1, 1), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_set_token_limits(o, 1, 1, 0, 1), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_set_token_limits(o, 1, 1, 1, 0), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_set_declaration_limits(o, 0, 1, 1), sv2_result::InvalidArgument);
        assert_eq!(sv2_jd_server_options_set_declaration_limits(o, 2, 10, 1000), OK);
        for r in [
            sv2_jd_server_options_add_required_script(null_mut(), [0x51].as_ptr(), 1),
            sv2_jd_server_options_set_min_payout_ppm(null_mut(), 0),
            sv2_jd_server_options_set_modes(null_mut(), sv2_bool(1), sv2_bool(1)),
            sv2_jd_server_options_set_token_limits(null_mut(), 1, 1, 1, 1),
            sv2_jd_server_options_set_declaration_limits(null_mut(), 1, 1, 1),
        ] {
            assert_eq!(r, sv2_result::NullParameter);
        }
        // Coinbase-only alone: a Full-Template client is refused.
        let mut store = null_mut();
        assert_eq!(sv2_token_store_new(0, &mut store), sv2_result::InvalidArgument);
        assert_eq!(sv2_token_store_new(8, null_mut()), sv2_result::NullParameter);
        assert_eq!(sv2_token_store_new(8, &mut store), OK);
        let mut jds = null_mut();
        assert_eq!(sv2_jd_server_new(o, store, None, null_mut(), &mut jds), OK);
        sv2_jd_server_options_free(o);
        sv2_token_store_free(store);
        let m = setup(1, 1);
        let frame = frame_to_vec(&m, &[]).unwrap();
        for_frames(&frame, |f| {
            let mut ev: sv2_jd_server_event = zeroed();
            assert_eq!(sv2_jd_server_on_frame(jds, f, 0, null(), null_mut(), &mut ev), sv2_result::SetupRefused);
        });
        sv2_jd_server_free(jds);

        let mut farm = null_mut();
        for edit in [
            |c: &mut sv2_jd_client_config| c.struct_size = 8,
            |c: &mut sv2_jd_client_config| c.extranonce_len = 0,
            |c: &mut sv2_jd_client_config| c.extranonce_len = 33,
            |c: &mut sv2_jd_client_config| c.max_tokens = 0,
            |c: &mut sv2_jd_client_config| c.max_declarations = 0,
            |c: &mut sv2_jd_client_config| c.tag = view(&[0; 33]),
            |c: &mut sv2_jd_client_config| c.vendor = view(&[0xff]),
        ] {
            let mut c = farm_config(true);
            edit(&mut c);
            assert_eq!(sv2_jd_client_new(&c, &mut farm), sv2_result::InvalidArgument);
        }
        let mut c = farm_config(true);
        c.endpoint_host = view(&[b'a'; 256]);
        assert_eq!(sv2_jd_client_new(&c, &mut farm), sv2_result::TooLong);
        c.endpoint_host = sv2_bytes { data: null(), len: 1 };
        assert_eq!(sv2_jd_client_new(&c, &mut farm), sv2_result::NullParameter);
        assert!(farm.is_null());
    }
}

#[test]
fn every_pointer_is_checked() {
    let t = Template::new();
    let mut w = World::new(true, [true; 3], |_| {});
    let (msg, prev) = (t.msg(), tip(0x42));
    let mut sev: sv2_jd_server_event = zeroed();
    let mut cev: sv2_jd_client_event = zeroed();
    let mut m: sv2_message = zeroed();
    let (mut id, mut ready, mut n, mut cb) = (0u32, false, 0usize, view(b""));
    let (mut d, mut l) = (null(), 0usize);
    let frame = sv2_frame { extension_type: 0, msg_type: 0x50, channel_msg: false, payload: view(&[]) };
    let c = farm_config(true);
    let e = [0u8; 16];
    let np = sv2_result::NullParameter;
    unsafe {
        let (s, o, p, f) = (w.store, w.options, w.pool, w.farm);
        for r in [
            sv2_token_store_len(null(), &mut n),
            sv2_token_store_len(s, null_mut()),
            sv2_token_store_check_custom_job(null_mut(), o, &m, &prev, 8, sv2_bool(1), 0, 0, null_mut(), null_mut()),
            sv2_token_store_check_custom_job(s, null(), &m, &prev, 8, sv2_bool(1), 0, 0, null_mut(), null_mut()),
            sv2_token_store_check_custom_job(s, o, null(), &prev, 8, sv2_bool(1), 0, 0, null_mut(), null_mut()),
            sv2_token_store_check_custom_job(s, o, &m, null(), 8, sv2_bool(1), 0, 0, null_mut(), null_mut()),
            sv2_jd_server_new(null(), s, None, null_mut(), &mut w.pool),
            sv2_jd_server_new(o, null(), None, null_mut(), &mut w.pool),
            sv2_jd_server_new(o, s, None, null_mut(), null_mut()),
            sv2_jd_server_on_message(null_mut(), &msg, 0, e.as_ptr(), null_mut(), &mut sev),
            sv2_jd_server_on_message(p, null(), 0, e.as_ptr(), null_mut(), &mut sev),
            sv2_jd_server_on_message(p, &msg, 0, e.as_ptr(), null_mut(), null_mut()),
            sv2_jd_server_on_frame(null_mut(), &frame, 0, e.as_ptr(), null_mut(), &mut sev),
            sv2_jd_server_on_frame(p, null(), 0, e.as_ptr(), null_mut(), &mut sev),
            sv2_jd_server_on_frame(p, &frame, 0, e.as_ptr(), null_mut(), null_mut()),
            sv2_jd_server_verdict(null_mut(), 1, null(), 0, 0, e.as_ptr(), null_mut(), &mut sev),
            sv2_jd_server_verdict(p, 1, null(), 1, 0, e.as_ptr(), null_mut(), &mut sev),
            sv2_jd_server_verdict(p, 1, null(), 0, 0, e.as_ptr(), null_mut(), null_mut()),
            sv2_jd_server_pending_declarations(null(), &mut n),
            sv2_jd_server_pending_declarations(p, null_mut()),
            sv2_jd_server_pending_output(null(), &mut d, &mut l),
            sv2_jd_server_pending_output(p, null_mut(), &mut l),
            sv2_jd_server_pending_output(p, &mut d, null_mut()),
            sv2_jd_server_consume_output(null_mut(), 0),
            sv2_jd_client_new(null(), &mut w.farm),
            sv2_jd_client_new(&c, null_mut()),
            sv2_jd_client_start(null_mut(), null_mut()),
            sv2_jd_client_request_token(null_mut(), null_mut(), &mut id),
            sv2_jd_client_request_token(f, null_mut(), null_mut()),
            sv2_jd_client_tokens(null(), &mut n),
            sv2_jd_client_tokens(f, null_mut()),
            sv2_jd_client_declare(null_mut(), &msg, &prev, null(), 0, null_mut(), &mut id, &mut ready),
            sv2_jd_client_declare(f, null(), &prev, null(), 0, null_mut(), &mut id, &mut ready),
            sv2_jd_client_declare(f, &msg, null(), null(), 0, null_mut(), &mut id, &mut ready),
            sv2_jd_client_declare(f, &msg, &prev, null(), 1, null_mut(), &mut id, &mut ready),
            sv2_jd_client_declare(f, &msg, &prev, null(), 0, null_mut(), null_mut(), &mut ready),
            sv2_jd_client_declare(f, &msg, &prev, null(), 0, null_mut(), &mut id, null_mut()),
            sv2_jd_client_on_message(null_mut(), &msg, null_mut(), &mut cev),
            sv2_jd_client_on_message(f, null(), null_mut(), &mut cev),
            sv2_jd_client_on_message(f, &msg, null_mut(), null_mut()),
            sv2_jd_client_on_frame(null_mut(), &frame, null_mut(), &mut cev),
            sv2_jd_client_on_frame(f, null(), null_mut(), &mut cev),
            sv2_jd_client_on_frame(f, &frame, null_mut(), null_mut()),
            sv2_jd_client_custom_job(null(), 1, 1, &mut m),
            sv2_jd_client_custom_job(f, 1, 1, null_mut()),
            sv2_jd_client_push_solution(null_mut(), 1, null(), 0, 0, 0, 0, null_mut(), &mut cb),
            sv2_jd_client_push_solution(f, 1, null(), 1, 0, 0, 0, null_mut(), &mut cb),
            sv2_jd_client_push_solution(f, 1, null(), 0, 0, 0, 0, null_mut(), null_mut()),
            sv2_jd_client_pending_output(null(), &mut d, &mut l),
            sv2_jd_client_pending_output(f, null_mut(), &mut l),
            sv2_jd_client_pending_output(f, &mut d, null_mut()),
            sv2_jd_client_consume_output(null_mut(), 0),
        ] {
            assert_eq!(r, np);
        }
        // A SetCustomMiningJob check on a message that is not one.
        let r = sv2_token_store_check_custom_job(
            w.store,
            w.options,
            &msg,
            &prev,
            8,
            sv2_bool(1),
            0,
            0,
            null_mut(),
            null_mut(),
        );
        assert_eq!(r, sv2_result::InvalidArgument);
        sv2_jd_server_free(null_mut());
        sv2_jd_client_free(null_mut());
        sv2_jd_server_options_free(null_mut());
        sv2_token_store_free(null_mut());
    }
}

#[test]
fn the_new_results_have_messages() {
    for n in 360..=368 {
        let s = unsafe { std::ffi::CStr::from_ptr(sv2_ffi::result::sv2_result_message(n)) };
        assert_ne!(s.to_str().unwrap(), "unknown result", "{n}");
        assert!(sv2_ffi::result::sv2_result_error_code(n).is_null());
    }
}
