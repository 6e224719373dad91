//! The server side of channels through the C ABI, driven against the C client channel: jobs
//! from templates reach the client, its shares are accepted, every kind of bad share is
//! rejected with the spec's error code, a share that meets the network target becomes a
//! SubmitSolution, and targets follow SetTarget, UpdateChannel and vardiff.

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use sv2::channels::hash::{merkle_root, sha256d};
use sv2_ffi::channels_jobs::*;
use sv2_ffi::channels_server::*;
use sv2_ffi::messages::*;
use sv2_ffi::mining::*;
use sv2_ffi::result::sv2_result_error_code;
use sv2_ffi::sv2_result::{self, Ok as OK};

const NOW: u32 = 1_700_000_000;
const PATH: [[u8; 32]; 2] = [[0x31; 32], [0x32; 32]];
/// Half of all hashes meet it.
const SHARE_TARGET: [u8; 32] = {
    let mut t = [0xff; 32];
    t[31] = 0x7f;
    t
};
/// Nothing meets it.
const HARD: [u8; 32] = [0; 32];

fn zeroed<T>() -> T {
    // SAFETY: only used for the C structs of this crate, for which all-zero is valid.
    unsafe { std::mem::zeroed() }
}

fn msg(ty: u8) -> sv2_message {
    let mut m: sv2_message = zeroed();
    m.msg_type = ty;
    m
}

fn none() -> sv2_option_u32 {
    sv2_option_u32 { present: false.into(), value: 0 }
}

fn code(r: sv2_result) -> &'static str {
    let p = sv2_result_error_code(r as i32);
    assert!(!p.is_null(), "{r:?} has no error code");
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

fn new_template(id: u64, future: bool) -> sv2_message {
    let mut m = msg(SV2_MSG_NEW_TEMPLATE);
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
        merkle_path: sv2_u256_list { data: PATH.as_ptr().cast(), count: PATH.len() },
    };
    m
}

fn prev_hash_tdp(template_id: u64, target: [u8; 32]) -> sv2_message {
    let mut m = msg(SV2_MSG_SET_NEW_PREV_HASH_TDP);
    m.body.set_new_prev_hash_tdp = sv2_set_new_prev_hash_tdp {
        template_id,
        prev_hash: [template_id as u8; 32],
        header_timestamp: NOW,
        nbits: 0x207f_ffff,
        target,
    };
    m
}

struct Pool {
    factory: *mut sv2_job_factory,
    allocator: *mut sv2_extranonce_allocator,
}

impl Pool {
    fn new(version_rolling: bool) -> Self {
        let (mut factory, mut allocator) = (null_mut(), null_mut());
        unsafe {
            assert_eq!(
                sv2_job_factory_new([0x51].as_ptr(), 1, b"test".as_ptr(), 4, 8, version_rolling, &mut factory),
                OK
            );
            assert_eq!(sv2_extranonce_allocator_new(null(), 0, 2, 8, &mut allocator), OK);
        }
        Pool { factory, allocator }
    }

    fn handle(&self, m: &sv2_message) -> sv2_template_job {
        let mut j: sv2_template_job = zeroed();
        assert_eq!(unsafe { sv2_job_factory_handle(self.factory, m, &mut j) }, OK);
        j
    }

    fn channel(&self, id: u32, extended: bool) -> *mut sv2_server_channel {
        let mut prefix = [0u8; SV2_EXTRANONCE_MAX_LEN];
        let (mut len, mut rollable) = (0, 0);
        unsafe {
            assert_eq!(sv2_extranonce_allocator_rollable(self.allocator, &mut rollable), OK);
            let next =
                if extended { sv2_extranonce_allocator_next_extended } else { sv2_extranonce_allocator_next_standard };
            assert_eq!(next(self.allocator, prefix.as_mut_ptr(), prefix.len(), &mut len), OK);
        }
        let params = sv2_server_channel_params {
            struct_size: std::mem::size_of::<sv2_server_channel_params>(),
            channel_id: id,
            extended: extended.into(),
            extranonce_size: if extended { rollable as u16 } else { 0 },
            user_identity: sv2_bytes { data: b"alice.1".as_ptr(), len: 7 },
            extranonce_prefix: sv2_bytes { data: prefix.as_ptr(), len },
            target: SHARE_TARGET,
            max_target: [0xff; 32],
            shares_per_minute: 6.0,
            vardiff_window_secs: 60,
        };
        let mut ch = null_mut();
        assert_eq!(unsafe { sv2_server_channel_new(&params, 0, &mut ch) }, OK);
        ch
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        unsafe {
            sv2_job_factory_free(self.factory);
            sv2_extranonce_allocator_free(self.allocator);
        }
    }
}

/// The client channel for a server channel, made from its Open*.Success.
fn client_for(server: *const sv2_server_channel) -> *mut sv2_client_channel {
    let mut ok = msg(0);
    let mut c = null_mut();
    unsafe {
        assert_eq!(sv2_server_channel_open_success(server, 5, 99, &mut ok), OK);
        if ok.msg_type == SV2_MSG_OPEN_STANDARD_MINING_CHANNEL_SUCCESS {
            let s = ok.body.open_standard_mining_channel_success;
            assert_eq!((s.request_id, s.group_channel_id, s.extranonce_prefix.len), (5, 99, 8));
            let p = s.extranonce_prefix;
            assert_eq!(
                sv2_client_channel_new_standard(s.channel_id, s.target.as_ptr(), p.data, p.len, true, &mut c),
                OK
            );
        } else {
            assert_eq!(ok.msg_type, SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL_SUCCESS);
            let s = ok.body.open_extended_mining_channel_success;
            assert_eq!((s.extranonce_size, s.extranonce_prefix.len), (6, 2));
            let p = s.extranonce_prefix;
            let size = s.extranonce_size;
            assert_eq!(
                sv2_client_channel_new_extended(s.channel_id, s.target.as_ptr(), p.data, p.len, size, &mut c),
                OK
            );
        }
    }
    c
}

const ROLLED: [u8; 6] = [1, 2, 3, 4, 5, 6];

/// The client's work, and a share on it whose hash meets (or, with `meets` false, misses) the
/// share target.
fn share(client: *const sv2_client_channel, seq: u32, version_roll: u32, meets: bool) -> (sv2_work, sv2_message) {
    let mut w: sv2_work = zeroed();
    assert_eq!(unsafe { sv2_client_channel_work(client, ROLLED.as_ptr(), ROLLED.len(), &mut w) }, OK);
    let version = w.version | version_roll;
    let nonce = (0u32..)
        .find(|n| {
            let mut h = [0u8; 32];
            let mut ok = false;
            unsafe {
                assert_eq!(sv2_work_hash(&w, version, w.min_ntime, *n, h.as_mut_ptr()), OK);
                assert_eq!(sv2_hash_meets_target(h.as_ptr(), SHARE_TARGET.as_ptr(), &mut ok), OK);
            }
            ok == meets
        })
        .unwrap();
    let mut m = msg(SV2_MSG_SUBMIT_SHARES_EXTENDED);
    m.body.submit_shares_extended = sv2_submit_shares_extended {
        channel_id: 0,
        sequence_number: seq,
        job_id: w.job_id,
        nonce,
        ntime: w.min_ntime,
        version,
        extranonce: sv2_bytes { data: ROLLED.as_ptr(), len: ROLLED.len() },
    };
    (w, m)
}

/// Sets the share's channel and makes it a SubmitSharesStandard when `standard`.
fn addressed(mut m: sv2_message, channel_id: u32, standard: bool) -> sv2_message {
    unsafe {
        m.body.submit_shares_extended.channel_id = channel_id;
        if standard {
            let e = m.body.submit_shares_extended;
            m.msg_type = SV2_MSG_SUBMIT_SHARES_STANDARD;
            m.body.submit_shares_standard = sv2_submit_shares_standard {
                channel_id,
                sequence_number: e.sequence_number,
                job_id: e.job_id,
                nonce: e.nonce,
                ntime: e.ntime,
                version: e.version,
            };
        }
    }
    m
}

fn validate(ch: *mut sv2_server_channel, m: &sv2_message) -> Result<sv2_accepted_share, sv2_result> {
    let mut a: sv2_accepted_share = zeroed();
    match unsafe { sv2_server_channel_validate(ch, m, NOW, &mut a) } {
        OK => Ok(a),
        e => Err(e),
    }
}

fn feed(client: *mut sv2_client_channel, m: &sv2_message) {
    assert_eq!(unsafe { sv2_client_channel_handle(client, m) }, OK);
}

fn each_kind(f: impl Fn(bool)) {
    f(false);
    f(true);
}

#[test]
fn shares_from_the_client_channel_are_judged_as_the_spec_says() {
    each_kind(|extended| {
        let pool = Pool::new(true);
        let id = if extended { 3 } else { 2 };
        let ch = pool.channel(id, extended);
        let client = client_for(ch);
        let mut out = msg(0);
        unsafe {
            // A future template, then its tip: the job reaches the client before the tip does.
            let job = pool.handle(&new_template(1, true));
            assert!(!job.min_ntime.present.get() && !job.new_tip);
            assert_eq!(sv2_server_channel_add_job(ch, pool.factory, job.job_id, job.min_ntime, &mut out), OK);
            let want = if extended { SV2_MSG_NEW_EXTENDED_MINING_JOB } else { SV2_MSG_NEW_MINING_JOB };
            assert_eq!(out.msg_type, want);
            if extended {
                let e = out.body.new_extended_mining_job;
                assert_eq!(e.merkle_path.count, 2);
                assert_eq!(std::slice::from_raw_parts(e.merkle_path.data, 64), PATH.concat());
                assert!(e.version_rolling_allowed.get());
            }
            feed(client, &out);
            let tip = pool.handle(&prev_hash_tdp(1, HARD));
            assert!(tip.new_tip && tip.min_ntime.present.get() && tip.job_id == job.job_id);
            assert_eq!(sv2_server_channel_activate(ch, pool.factory, &mut out), OK);
            assert_eq!(out.msg_type, SV2_MSG_SET_NEW_PREV_HASH);
            assert_eq!(out.body.set_new_prev_hash.channel_id, id);
            feed(client, &out);
        }

        let standard = !extended;
        let submit = |seq, roll, meets| addressed(share(client, seq, roll, meets).1, id, standard);
        let good = submit(1, 0, true);
        let a = validate(ch, &good).expect("a share at the target is accepted");
        assert!(!a.block && a.target == SHARE_TARGET && a.difficulty > 0.0);
        let mut sol = msg(0);
        assert_eq!(unsafe { sv2_server_channel_solution(ch, &mut sol) }, sv2_result::NotFound);
        // Version rolling inside the BIP323 mask is allowed.
        assert!(validate(ch, &submit(2, 1 << 5, true)).is_ok());

        // Every kind of bad share, each with the spec's error code.
        let mut bad = Vec::new();
        bad.push((validate(ch, &good), "duplicate-share"));
        bad.push((validate(ch, &submit(3, 0, false)), "difficulty-too-low"));
        bad.push((validate(ch, &submit(4, 1, true)), "invalid-non-rollable-version-bit"));
        let mut wrong_job = submit(5, 0, true);
        let mut early = submit(6, 0, true);
        let mut late = submit(7, 0, true);
        let mut other_channel = submit(8, 0, true);
        unsafe {
            let (j, t) = if standard {
                (&mut wrong_job.body.submit_shares_standard.job_id, &mut early.body.submit_shares_standard.ntime)
            } else {
                (&mut wrong_job.body.submit_shares_extended.job_id, &mut early.body.submit_shares_extended.ntime)
            };
            *j = 9999;
            *t = NOW - 1;
            if standard {
                late.body.submit_shares_standard.ntime = NOW + 7201;
                other_channel.body.submit_shares_standard.channel_id = 77;
            } else {
                late.body.submit_shares_extended.ntime = NOW + 7201;
                other_channel.body.submit_shares_extended.channel_id = 77;
            }
        }
        bad.push((validate(ch, &wrong_job), "invalid-job-id"));
        bad.push((validate(ch, &early), "invalid-timestamp"));
        bad.push((validate(ch, &late), "invalid-timestamp"));
        bad.push((validate(ch, &other_channel), "invalid-channel-id"));
        // The extranonce size: a standard channel rolls none, an extended one exactly 6 bytes.
        let mut wrong_size = addressed(share(client, 9, 0, true).1, id, false);
        wrong_size.body.submit_shares_extended.extranonce.len = if extended { 5 } else { 6 };
        bad.push((validate(ch, &wrong_size), "bad-extranonce-size"));
        for (i, (got, want)) in bad.iter().enumerate() {
            let e = got.expect_err(want);
            assert_eq!(code(e), *want, "case {i}");
        }

        // The reply to a rejected share carries the code.
        let mut reply = msg(0);
        let e = bad[1].0.unwrap_err();
        assert_eq!(unsafe { sv2_channel_error_reply(&submit(3, 0, false), e as i32, &mut reply) }, OK);
        assert_eq!(reply.msg_type, SV2_MSG_SUBMIT_SHARES_ERROR);
        let r = unsafe { reply.body.submit_shares_error };
        assert_eq!((r.channel_id, r.sequence_number), (id, 3));
        assert_eq!(unsafe { std::slice::from_raw_parts(r.error_code.data, r.error_code.len) }, b"difficulty-too-low");

        // Two shares accepted since the channel opened, acknowledged once.
        let mut ok = msg(0);
        assert_eq!(unsafe { sv2_server_channel_take_success(ch, &mut ok) }, OK);
        let s = unsafe { ok.body.submit_shares_success };
        assert_eq!(
            (ok.msg_type, s.channel_id, s.new_submits_accepted_count, s.last_sequence_number),
            (SV2_MSG_SUBMIT_SHARES_SUCCESS, id, 2, 2)
        );
        assert_eq!(unsafe { sv2_server_channel_take_success(ch, &mut ok) }, sv2_result::NotFound);

        // A new tip whose network target every hash meets: the next share is a block, and
        // shares on the old job are stale.
        let old = submit(10, 0, true);
        unsafe {
            let job = pool.handle(&new_template(2, true));
            assert_eq!(sv2_server_channel_add_job(ch, pool.factory, job.job_id, job.min_ntime, &mut out), OK);
            feed(client, &out);
            pool.handle(&prev_hash_tdp(2, [0xff; 32]));
            assert_eq!(sv2_server_channel_activate(ch, pool.factory, &mut out), OK);
            feed(client, &out);
        }
        assert_eq!(code(validate(ch, &old).unwrap_err()), "stale-share");
        let (w, found) = share(client, 11, 0, true);
        let a = validate(ch, &addressed(found, id, standard)).expect("a block is a share");
        assert!(a.block);
        assert_eq!(unsafe { sv2_server_channel_solution(ch, &mut sol) }, OK);
        assert_eq!(sol.msg_type, SV2_MSG_SUBMIT_SOLUTION);
        let s = unsafe { sol.body.submit_solution };
        let f = unsafe { found.body.submit_shares_extended };
        assert_eq!((s.template_id, s.header_nonce, s.header_timestamp, s.version), (2, f.nonce, f.ntime, f.version));
        // The coinbase the template provider gets hashes, up the merkle path, to the root the
        // client mined on; the block hash is the share's.
        let coinbase = unsafe { std::slice::from_raw_parts(s.coinbase_tx.data, s.coinbase_tx.len) };
        assert_eq!(merkle_root(coinbase, &PATH), w.merkle_root);
        let header = [
            &f.version.to_le_bytes()[..],
            &w.prev_hash,
            &w.merkle_root,
            &f.ntime.to_le_bytes(),
            &w.nbits.to_le_bytes(),
            &f.nonce.to_le_bytes(),
        ]
        .concat();
        assert_eq!(sha256d(&header), a.hash);
        // The next share validated, even a rejected one, clears it.
        assert_eq!(code(validate(ch, &addressed(found, id, standard)).unwrap_err()), "duplicate-share");
        assert_eq!(unsafe { sv2_server_channel_solution(ch, &mut sol) }, sv2_result::NotFound);
        unsafe {
            sv2_server_channel_free(ch);
            sv2_client_channel_free(client);
        }
    });
}

#[test]
fn a_job_that_forbids_version_rolling_rejects_rolled_versions() {
    let pool = Pool::new(false);
    let ch = pool.channel(4, true);
    let client = client_for(ch);
    let mut out = msg(0);
    unsafe {
        let job = pool.handle(&new_template(1, true));
        assert_eq!(sv2_server_channel_add_job(ch, pool.factory, job.job_id, job.min_ntime, &mut out), OK);
        assert!(!out.body.new_extended_mining_job.version_rolling_allowed.get());
        feed(client, &out);
        pool.handle(&prev_hash_tdp(1, HARD));
        assert_eq!(sv2_server_channel_activate(ch, pool.factory, &mut out), OK);
        feed(client, &out);
    }
    let (w, m) = share(client, 1, 1 << 5, true);
    assert_eq!(w.version_mask, 0);
    assert_eq!(code(validate(ch, &addressed(m, 4, false)).unwrap_err()), "version-rolling-not-allowed");
    assert!(validate(ch, &addressed(share(client, 2, 0, true).1, 4, false)).is_ok());
    unsafe {
        sv2_server_channel_free(ch);
        sv2_client_channel_free(client);
    }
}

#[test]
fn targets_follow_set_target_update_channel_and_vardiff() {
    let pool = Pool::new(true);
    let ch = pool.channel(2, false);
    let client = client_for(ch);
    let mut out = msg(0);
    let mut target = [0u8; 32];
    unsafe {
        // SetTarget reaches the client.
        let easier = [0xff; 32];
        assert_eq!(sv2_server_channel_set_target(ch, easier.as_ptr(), &mut out), OK);
        assert_eq!((out.msg_type, out.body.set_target.channel_id), (SV2_MSG_SET_TARGET, 2));
        feed(client, &out);
        let job = pool.handle(&new_template(1, true));
        assert_eq!(sv2_server_channel_add_job(ch, pool.factory, job.job_id, job.min_ntime, &mut out), OK);
        feed(client, &out);
        pool.handle(&prev_hash_tdp(1, HARD));
        assert_eq!(sv2_server_channel_activate(ch, pool.factory, &mut out), OK);
        feed(client, &out);
        let mut w: sv2_work = zeroed();
        assert_eq!(sv2_client_channel_work(client, null(), 0, &mut w), OK);
        assert_eq!(w.target, easier);

        // UpdateChannel: a nominal hashrate gives the target for 6 shares a minute.
        let mut u = msg(SV2_MSG_UPDATE_CHANNEL);
        u.body.update_channel =
            sv2_update_channel { channel_id: 2, nominal_hash_rate: 1e12, maximum_target: [0xff; 32] };
        assert_eq!(sv2_server_channel_update(ch, &u, 10, &mut out), OK);
        let mut want = [0u8; 32];
        assert_eq!(sv2_target_for_hashrate(f64::from(1e12f32), 6.0, [0xff; 32].as_ptr(), want.as_mut_ptr()), OK);
        assert_eq!(out.body.set_target.maximum_target, want);
        assert_eq!(sv2_server_channel_target(ch, target.as_mut_ptr()), OK);
        assert_eq!(target, want);
        // The same again changes nothing; a bad hashrate is answered with its code.
        assert_eq!(sv2_server_channel_update(ch, &u, 10, &mut out), sv2_result::NotFound);
        u.body.update_channel.nominal_hash_rate = f32::NAN;
        let e = sv2_server_channel_update(ch, &u, 10, &mut out);
        assert_eq!(code(e), "invalid-nominal-hashrate");
        let mut reply = msg(0);
        assert_eq!(sv2_channel_error_reply(&u, e as i32, &mut reply), OK);
        assert_eq!((reply.msg_type, reply.body.update_channel_error.channel_id), (SV2_MSG_UPDATE_CHANNEL_ERROR, 2));
        u.body.update_channel.channel_id = 3;
        assert_eq!(code(sv2_server_channel_update(ch, &u, 10, &mut out)), "invalid-channel-id");

        // Vardiff from the observed rate: a target the client meets with every hash, ten
        // shares in a second, is made harder.
        assert_eq!(sv2_server_channel_set_target(ch, easier.as_ptr(), &mut out), OK);
        feed(client, &out);
        let job = pool.handle(&new_template(2, false));
        assert!(job.min_ntime.present.get());
        assert_eq!(sv2_server_channel_add_job(ch, pool.factory, job.job_id, job.min_ntime, &mut out), OK);
        feed(client, &out);
        assert_eq!(sv2_server_channel_retarget(ch, 10, &mut out), sv2_result::NotFound);
        assert_eq!(sv2_client_channel_work(client, null(), 0, &mut w), OK);
        assert_eq!(w.job_id, job.job_id);
        for nonce in 0..10 {
            let mut m = msg(SV2_MSG_SUBMIT_SHARES_STANDARD);
            m.body.submit_shares_standard = sv2_submit_shares_standard {
                channel_id: 2,
                sequence_number: nonce,
                job_id: w.job_id,
                nonce,
                ntime: w.min_ntime,
                version: w.version,
            };
            assert!(validate(ch, &m).is_ok());
        }
        assert_eq!(sv2_server_channel_retarget(ch, 11, &mut out), OK);
        let harder = out.body.set_target.maximum_target;
        assert!(harder.iter().rev().lt(easier.iter().rev()));
        feed(client, &out);
        // The job being mined keeps its target, as the server validates it; the next job has
        // the harder one.
        assert_eq!(sv2_client_channel_work(client, null(), 0, &mut w), OK);
        assert_eq!(w.target, easier);
        let job = pool.handle(&new_template(3, false));
        assert_eq!(sv2_server_channel_add_job(ch, pool.factory, job.job_id, job.min_ntime, &mut out), OK);
        feed(client, &out);
        assert_eq!(sv2_client_channel_work(client, null(), 0, &mut w), OK);
        assert_eq!((w.job_id, w.target), (job.job_id, harder));
        // A silent window makes it easier again.
        assert_eq!(sv2_server_channel_retarget(ch, 200, &mut out), OK);
        assert!(out.body.set_target.maximum_target.iter().rev().gt(harder.iter().rev()));
        sv2_server_channel_free(ch);
        sv2_client_channel_free(client);
    }
}

#[test]
fn a_group_sends_each_job_once_and_validates_for_its_members() {
    for requires_standard_jobs in [false, true] {
        let pool = Pool::new(true);
        let mut group = null_mut();
        unsafe { assert_eq!(sv2_group_channel_new(1, requires_standard_jobs, &mut group), OK) };
        let (std_ch, ext_ch) = (pool.channel(2, false), pool.channel(3, true));
        let (std_client, ext_client) = (client_for(std_ch), client_for(ext_ch));
        let mut msgs = [msg(0); 3];
        let mut n = 0;
        unsafe {
            let (mut a, mut b) = (std_ch, ext_ch);
            assert_eq!(sv2_group_channel_add(group, &mut a), OK);
            assert_eq!(sv2_group_channel_add(group, &mut b), OK);
            assert!(a.is_null() && b.is_null());
            let mut len = 0;
            assert_eq!(sv2_group_channel_len(group, &mut len), OK);
            assert_eq!(len, 2);
            // One message per member and one for the group must fit.
            let job = pool.handle(&new_template(1, true));
            let r =
                sv2_group_channel_add_job(group, pool.factory, job.job_id, job.min_ntime, msgs.as_mut_ptr(), 2, &mut n);
            assert_eq!(r, sv2_result::InsufficientSize);
            assert_eq!(
                sv2_group_channel_add_job(group, pool.factory, job.job_id, job.min_ntime, msgs.as_mut_ptr(), 3, &mut n),
                OK
            );
            let kinds: Vec<(u8, u32)> = msgs[..n]
                .iter()
                .map(|m| {
                    (
                        m.msg_type,
                        if m.msg_type == SV2_MSG_NEW_MINING_JOB {
                            m.body.new_mining_job.channel_id
                        } else {
                            m.body.new_extended_mining_job.channel_id
                        },
                    )
                })
                .collect();
            if requires_standard_jobs {
                assert_eq!(kinds, [(SV2_MSG_NEW_MINING_JOB, 2), (SV2_MSG_NEW_EXTENDED_MINING_JOB, 3)]);
            } else {
                // The standard member's job goes to the group (clients of groups resolve it).
                assert_eq!(kinds, [(SV2_MSG_NEW_EXTENDED_MINING_JOB, 1), (SV2_MSG_NEW_EXTENDED_MINING_JOB, 3)]);
            }
            for m in &msgs[..n] {
                feed(std_client, m);
                feed(ext_client, m);
            }
            pool.handle(&prev_hash_tdp(1, HARD));
            assert_eq!(sv2_group_channel_activate(group, pool.factory, msgs.as_mut_ptr(), 3, &mut n), OK);
            let ids: Vec<u32> = msgs[..n].iter().map(|m| m.body.set_new_prev_hash.channel_id).collect();
            assert_eq!(ids, if requires_standard_jobs { vec![2, 3] } else { vec![1, 3] });
            for m in &msgs[..n] {
                feed(std_client, m);
                feed(ext_client, m);
            }
        }
        let mut a: sv2_accepted_share = zeroed();
        let ext_share = addressed(share(ext_client, 1, 0, true).1, 3, false);
        unsafe {
            assert_eq!(sv2_group_channel_validate(group, &ext_share, NOW, &mut a), OK);
            if requires_standard_jobs {
                let std_share = addressed(share(std_client, 2, 0, true).1, 2, true);
                assert_eq!(sv2_group_channel_validate(group, &std_share, NOW, &mut a), OK);
            }
            // The group's own id is no channel to submit on.
            let to_group = addressed(share(ext_client, 3, 0, true).1, 1, false);
            assert_eq!(code(sv2_group_channel_validate(group, &to_group, NOW, &mut a)), "invalid-channel-id");
            let mut sol = msg(0);
            assert_eq!(sv2_group_channel_solution(group, &mut sol), sv2_result::NotFound);
            let mut ok = msg(0);
            let mut acked = Vec::new();
            while sv2_group_channel_take_success(group, &mut ok) == OK {
                acked.push(ok.body.submit_shares_success.channel_id);
            }
            assert_eq!(acked, if requires_standard_jobs { vec![2, 3] } else { vec![3] });
            let mut t = msg(0);
            assert_eq!(sv2_group_channel_set_target(group, SHARE_TARGET.as_ptr(), &mut t), OK);
            assert_eq!(t.body.set_target.channel_id, 1);
            let mut u = msg(SV2_MSG_UPDATE_CHANNEL);
            u.body.update_channel =
                sv2_update_channel { channel_id: 3, nominal_hash_rate: 1e15, maximum_target: [0xff; 32] };
            assert_eq!(sv2_group_channel_update(group, &u, 5, &mut t), OK);
            assert_eq!(t.body.set_target.channel_id, 3);
            u.body.update_channel.channel_id = 9;
            assert_eq!(sv2_group_channel_update(group, &u, 5, &mut t), sv2_result::InvalidChannelId);
            // Silence on every member for a window: each gets an easier target, once.
            let mut retargeted = Vec::new();
            while sv2_group_channel_retarget(group, 100, &mut t) == OK {
                retargeted.push(t.body.set_target.channel_id);
            }
            assert_eq!(retargeted, [2, 3]);
            let mut back = null_mut();
            assert_eq!(sv2_group_channel_remove(group, 2, &mut back), OK);
            assert_eq!(sv2_group_channel_remove(group, 2, &mut back), sv2_result::InvalidChannelId);
            // Its id is free again; a member's or the group's is not.
            let mut again = back;
            assert_eq!(sv2_group_channel_add(group, &mut again), OK);
            let mut dup = pool.channel(3, true);
            assert_eq!(sv2_group_channel_add(group, &mut dup), sv2_result::InvalidChannelId);
            assert!(!dup.is_null());
            sv2_server_channel_free(dup);
            sv2_group_channel_free(group);
            sv2_client_channel_free(std_client);
            sv2_client_channel_free(ext_client);
        }
    }
}

#[test]
fn factory_lists_the_jobs_a_new_channel_needs() {
    let pool = Pool::new(true);
    let mut jobs = [sv2_template_job { job_id: 0, min_ntime: none(), new_tip: false }; SV2_MAX_TEMPLATE_JOBS];
    let mut n = 0;
    unsafe {
        let mut c = msg(0);
        assert_eq!(sv2_job_factory_coinbase_output_constraints(pool.factory, &mut c), OK);
        assert_eq!(c.msg_type, SV2_MSG_COINBASE_OUTPUT_CONSTRAINTS);
        // 8 value + 1 length + 1 script byte.
        assert_eq!(c.body.coinbase_output_constraints.coinbase_output_max_additional_size, 10);
        let mut j: sv2_template_job = zeroed();
        assert_eq!(sv2_job_factory_handle(pool.factory, &new_template(1, false), &mut j), sv2_result::NoPrevHash);
        assert_eq!(sv2_job_factory_handle(pool.factory, &prev_hash_tdp(1, HARD), &mut j), sv2_result::UnknownJob);
        assert_eq!(
            sv2_job_factory_handle(pool.factory, &msg(SV2_MSG_SUBMIT_SOLUTION), &mut j),
            sv2_result::InvalidArgument
        );
        let first = pool.handle(&new_template(1, true));
        assert_eq!(sv2_job_factory_jobs(pool.factory, jobs.as_mut_ptr(), jobs.len(), &mut n), OK);
        assert_eq!((n, jobs[0].job_id, jobs[0].new_tip), (1, first.job_id, false));
        pool.handle(&prev_hash_tdp(1, HARD));
        let later = pool.handle(&new_template(2, false));
        let future = pool.handle(&new_template(3, true));
        assert_eq!(sv2_job_factory_jobs(pool.factory, jobs.as_mut_ptr(), 2, &mut n), sv2_result::InsufficientSize);
        assert_eq!(sv2_job_factory_jobs(pool.factory, jobs.as_mut_ptr(), jobs.len(), &mut n), OK);
        assert_eq!(n, 3);
        assert_eq!((jobs[0].job_id, jobs[0].new_tip, jobs[0].min_ntime.present.get()), (first.job_id, true, true));
        assert_eq!((jobs[1].job_id, jobs[1].min_ntime.present.get()), (later.job_id, true));
        assert_eq!((jobs[2].job_id, jobs[2].min_ntime.present.get()), (future.job_id, false));

        // A channel opened now catches up: the tip's job, activated, then the rest.
        let ch = pool.channel(2, true);
        let client = client_for(ch);
        let mut out = msg(0);
        for j in &jobs[..n] {
            let ntime = if j.new_tip { none() } else { j.min_ntime };
            assert_eq!(sv2_server_channel_add_job(ch, pool.factory, j.job_id, ntime, &mut out), OK);
            feed(client, &out);
            if j.new_tip {
                assert_eq!(sv2_server_channel_activate(ch, pool.factory, &mut out), OK);
                feed(client, &out);
            }
        }
        let mut w: sv2_work = zeroed();
        assert_eq!(sv2_client_channel_work(client, ROLLED.as_ptr(), 6, &mut w), OK);
        assert_eq!(w.job_id, later.job_id);
        // A job the factory dropped, and a channel whose extranonce does not fit the jobs.
        assert_eq!(sv2_server_channel_add_job(ch, pool.factory, 4242, none(), &mut out), sv2_result::UnknownJob);
        let params = sv2_server_channel_params {
            struct_size: std::mem::size_of::<sv2_server_channel_params>(),
            channel_id: 9,
            extended: true.into(),
            extranonce_size: 4,
            user_identity: sv2_bytes { data: b"bob".as_ptr(), len: 3 },
            extranonce_prefix: sv2_bytes { data: [1, 2].as_ptr(), len: 2 },
            target: SHARE_TARGET,
            max_target: [0xff; 32],
            shares_per_minute: 6.0,
            vardiff_window_secs: 60,
        };
        let mut odd = null_mut();
        assert_eq!(sv2_server_channel_new(&params, 0, &mut odd), OK);
        assert_eq!(
            sv2_server_channel_add_job(odd, pool.factory, later.job_id, jobs[1].min_ntime, &mut out),
            sv2_result::ExtranonceMismatch
        );
        sv2_server_channel_free(odd);
        sv2_server_channel_free(ch);
        sv2_client_channel_free(client);
    }
}

#[test]
fn extranonce_prefixes_never_collide_and_run_out_cleanly() {
    let mut a = null_mut();
    let mut seen = std::collections::HashSet::new();
    let mut p = [0u8; 32];
    let mut len = 0;
    unsafe {
        assert_eq!(sv2_extranonce_allocator_new([0xaa].as_ptr(), 1, 1, 4, &mut a), OK);
        // A buffer too small takes no prefix.
        assert_eq!(
            sv2_extranonce_allocator_next_standard(a, p.as_mut_ptr(), 3, &mut len),
            sv2_result::InsufficientSize
        );
        for i in 0..256 {
            let f = if i % 2 == 0 {
                sv2_extranonce_allocator_next_extended
            } else {
                sv2_extranonce_allocator_next_standard
            };
            assert_eq!(f(a, p.as_mut_ptr(), p.len(), &mut len), OK);
            assert_eq!(len, if i % 2 == 0 { 2 } else { 4 });
            assert!(seen.insert(p[..2].to_vec()), "prefix {i} repeats");
        }
        assert_eq!(
            sv2_extranonce_allocator_next_extended(a, p.as_mut_ptr(), 32, &mut len),
            sv2_result::ExtranonceExhausted
        );
        sv2_extranonce_allocator_free(a);
        let mut b = null_mut();
        assert_eq!(sv2_extranonce_allocator_new(null(), 0, 9, 32, &mut b), sv2_result::ExtranonceLayout);
        assert!(b.is_null());
    }
}

#[test]
fn garbage_in_gives_errors_not_crashes() {
    let pool = Pool::new(true);
    let ch = pool.channel(2, true);
    let mut out = msg(0);
    let mut a: sv2_accepted_share = zeroed();
    let mut j: sv2_template_job = zeroed();
    unsafe {
        // Messages of the wrong kind, and an unknown message id.
        for m in [msg(SV2_MSG_SETUP_CONNECTION_SUCCESS), msg(SV2_MSG_SET_TARGET)] {
            assert_eq!(sv2_server_channel_validate(ch, &m, NOW, &mut a), sv2_result::InvalidArgument);
            assert_eq!(sv2_server_channel_update(ch, &m, 0, &mut out), sv2_result::InvalidArgument);
            assert_eq!(
                sv2_channel_error_reply(&m, sv2_result::StaleShare as i32, &mut out),
                sv2_result::InvalidArgument
            );
        }
        assert_eq!(sv2_server_channel_validate(ch, &msg(0x7f), NOW, &mut a), sv2_result::UnknownMessage);
        assert_eq!(sv2_job_factory_handle(pool.factory, &msg(0x7f), &mut j), sv2_result::UnknownMessage);
        // Views longer than their type allows are refused before they are read.
        let mut m = msg(SV2_MSG_SUBMIT_SHARES_EXTENDED);
        m.body.submit_shares_extended.extranonce = sv2_bytes { data: [0u8; 1].as_ptr(), len: 33 };
        assert_eq!(sv2_server_channel_validate(ch, &m, NOW, &mut a), sv2_result::TooLong);
        let mut t = new_template(1, true);
        t.body.new_template.merkle_path.count = 256;
        assert_eq!(sv2_job_factory_handle(pool.factory, &t, &mut j), sv2_result::TooLong);
        t = new_template(1, true);
        t.body.new_template.coinbase_tx_outputs = sv2_bytes { data: [1u8, 2, 3].as_ptr(), len: 3 };
        t.body.new_template.coinbase_tx_outputs_count = 1;
        assert_eq!(sv2_job_factory_handle(pool.factory, &t, &mut j), sv2_result::InvalidCoinbaseOutputs);
        // Results without a spec error code have no reply.
        let ok = addressed(msg(SV2_MSG_SUBMIT_SHARES_EXTENDED), 2, false);
        assert_eq!(sv2_channel_error_reply(&ok, sv2_result::Ok as i32, &mut out), sv2_result::InvalidArgument);
        assert_eq!(sv2_channel_error_reply(&ok, 12345, &mut out), sv2_result::InvalidArgument);
        assert!(sv2_result_error_code(sv2_result::Panic as i32).is_null());
        assert!(sv2_result_error_code(-1).is_null());
        // No job before any template, no tip to activate.
        assert_eq!(sv2_server_channel_activate(ch, pool.factory, &mut out), sv2_result::NoPrevHash);
        assert_eq!(sv2_server_channel_retarget(ch, 0, &mut out), sv2_result::NotFound);
        // Bad parameters.
        let bad_params = |edit: &dyn Fn(&mut sv2_server_channel_params)| {
            let mut p = sv2_server_channel_params {
                struct_size: std::mem::size_of::<sv2_server_channel_params>(),
                channel_id: 1,
                extended: false.into(),
                extranonce_size: 0,
                user_identity: sv2_bytes { data: b"u".as_ptr(), len: 1 },
                extranonce_prefix: sv2_bytes { data: null(), len: 0 },
                target: [0xff; 32],
                max_target: [0xff; 32],
                shares_per_minute: 1.0,
                vardiff_window_secs: 1,
            };
            edit(&mut p);
            let mut c = null_mut();
            let r = sv2_server_channel_new(&p, 0, &mut c);
            assert!(c.is_null());
            r
        };
        assert_eq!(bad_params(&|p| p.extranonce_size = 1), sv2_result::InvalidArgument);
        // A size of another layout: a caller built against another header, or one that did
        // not set it.
        for size in [0, std::mem::size_of::<sv2_server_channel_params>() + 8] {
            assert_eq!(bad_params(&|p| p.struct_size = size), sv2_result::InvalidArgument);
        }
        // Any non-zero byte opens an extended channel.
        let p = sv2_server_channel_params {
            struct_size: std::mem::size_of::<sv2_server_channel_params>(),
            extended: sv2_bool(0x80),
            extranonce_size: 4,
            user_identity: sv2_bytes { data: b"u".as_ptr(), len: 1 },
            target: [0xff; 32],
            max_target: [0xff; 32],
            shares_per_minute: 1.0,
            ..std::mem::zeroed()
        };
        let mut c = null_mut();
        assert_eq!(sv2_server_channel_new(&p, 0, &mut c), OK);
        let mut success = std::mem::zeroed::<sv2_message>();
        assert_eq!(sv2_server_channel_open_success(c, 1, 1, &mut success), OK);
        assert_eq!(success.msg_type, SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL_SUCCESS);
        sv2_server_channel_free(c);
        assert_eq!(
            bad_params(&|p| p.user_identity = sv2_bytes { data: [0xffu8].as_ptr(), len: 1 }),
            sv2_result::InvalidArgument
        );
        assert_eq!(bad_params(&|p| p.user_identity.len = 256), sv2_result::TooLong);
        assert_eq!(bad_params(&|p| p.extranonce_prefix = sv2_bytes { data: null(), len: 33 }), sv2_result::TooLong);
        assert_eq!(
            bad_params(&|p| {
                p.extended = true.into();
                p.extranonce_size = 33
            }),
            sv2_result::InvalidArgument
        );
        for spm in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(bad_params(&|p| p.shares_per_minute = spm), sv2_result::InvalidArgument);
        }
        let mut f = null_mut();
        assert_eq!(
            sv2_job_factory_new([0x51].as_ptr(), 1, [0u8; 80].as_ptr(), 80, 8, true, &mut f),
            sv2_result::ScriptSigTooLong
        );
        assert_eq!(sv2_job_factory_new([0x51].as_ptr(), 1, null(), 0, 0, true, &mut f), sv2_result::ScriptSigTooLong);
        assert!(f.is_null());
        let mut t32 = [0u8; 32];
        for h in [-1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                sv2_target_for_hashrate(h, 6.0, [0xff; 32].as_ptr(), t32.as_mut_ptr()),
                sv2_result::InvalidNominalHashrate
            );
        }
        assert_eq!(
            sv2_target_for_hashrate(1e9, 0.0, [0xff; 32].as_ptr(), t32.as_mut_ptr()),
            sv2_result::InvalidArgument
        );
        assert_eq!(t32, [0; 32]);
        assert_eq!(sv2_target_for_hashrate(0.0, 6.0, SHARE_TARGET.as_ptr(), t32.as_mut_ptr()), OK);
        assert_eq!(t32, SHARE_TARGET);
        sv2_server_channel_free(ch);
    }
}

#[test]
fn every_share_error_has_its_own_result_and_code() {
    use sv2::channels::ShareError;
    let mut seen = std::collections::HashSet::new();
    for e in ShareError::ALL {
        let r = sv2_result::from(e);
        assert_eq!(code(r), e.code());
        assert!(seen.insert(r as i32));
        assert!((300..400).contains(&(r as i32)));
    }
    assert_eq!(SV2_MAX_TEMPLATE_JOBS, sv2::channels::job::MAX_FUTURE_TEMPLATES + 2);
}
