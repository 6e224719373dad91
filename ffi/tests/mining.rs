//! The mining-client helpers for firmware: a client channel follows job messages and yields
//! the header to hash; hashing and target checks agree with a direct computation.

use std::ptr::{null, null_mut};

use sv2::channels::hash::sha256d;
use sv2_ffi::messages::*;
use sv2_ffi::mining::*;
use sv2_ffi::sv2_result::{self, Ok as OK};

fn msg(ty: u8) -> sv2_message {
    let mut m = unsafe { std::mem::zeroed::<sv2_message>() };
    m.msg_type = ty;
    m
}

fn new_job(channel_id: u32, job_id: u32, root: u8) -> sv2_message {
    let mut m = msg(SV2_MSG_NEW_MINING_JOB);
    m.body.new_mining_job = sv2_new_mining_job {
        channel_id,
        job_id,
        min_ntime: sv2_option_u32 { present: false.into(), value: 0 },
        version: 0x2000_0000,
        merkle_root: [root; 32],
    };
    m
}

fn prev_hash(channel_id: u32, job_id: u32) -> sv2_message {
    let mut m = msg(SV2_MSG_SET_NEW_PREV_HASH);
    m.body.set_new_prev_hash = sv2_set_new_prev_hash {
        channel_id,
        job_id,
        prev_hash: [0x11; 32],
        min_ntime: 1_700_000_000,
        nbits: 0x207f_ffff,
    };
    m
}

fn header(w: &sv2_work, version: u32, ntime: u32, nonce: u32) -> Vec<u8> {
    [
        &version.to_le_bytes()[..],
        &w.prev_hash,
        &w.merkle_root,
        &ntime.to_le_bytes(),
        &w.nbits.to_le_bytes(),
        &nonce.to_le_bytes(),
    ]
    .concat()
}

#[test]
fn standard_channel_follows_its_jobs() {
    let target = [0xff_u8; 32];
    let mut ch = null_mut();
    assert_eq!(unsafe { sv2_client_channel_new_standard(7, target.as_ptr(), null(), 0, true, &mut ch) }, OK);
    let mut w = unsafe { std::mem::zeroed::<sv2_work>() };
    for m in [new_job(7, 1, 0xaa), new_job(8, 2, 0xbb), prev_hash(8, 2)] {
        assert_eq!(unsafe { sv2_client_channel_handle(ch, &m) }, OK);
    }
    // Messages for another channel changed nothing.
    assert_eq!(unsafe { sv2_client_channel_work(ch, null(), 0, &mut w) }, sv2_result::NeedMoreData);
    assert_eq!(unsafe { sv2_client_channel_handle(ch, &prev_hash(7, 1)) }, OK);
    assert_eq!(unsafe { sv2_client_channel_work(ch, null(), 0, &mut w) }, OK);
    assert_eq!((w.job_id, w.version, w.min_ntime, w.nbits), (1, 0x2000_0000, 1_700_000_000, 0x207f_ffff));
    assert_eq!((w.merkle_root, w.prev_hash, w.target), ([0xaa; 32], [0x11; 32], target));
    assert_ne!(w.version_mask, 0);

    let mut h = [0u8; 32];
    assert_eq!(unsafe { sv2_work_hash(&w, w.version, w.min_ntime, 42, h.as_mut_ptr()) }, OK);
    assert_eq!(h, sha256d(&header(&w, w.version, w.min_ntime, 42)));
    let mut meets = false;
    assert_eq!(unsafe { sv2_hash_meets_target(h.as_ptr(), w.target.as_ptr(), &mut meets) }, OK);
    assert!(meets);
    assert_eq!(unsafe { sv2_hash_meets_target(h.as_ptr(), [0; 32].as_ptr(), &mut meets) }, OK);
    assert!(!meets);
    let mut d = [0u8; 32];
    assert_eq!(unsafe { sv2_sha256d(b"abc".as_ptr(), 3, d.as_mut_ptr()) }, OK);
    assert_eq!(d, sha256d(b"abc"));

    // SetTarget for the channel changes the share target of later jobs; the active job keeps
    // the target it arrived with, as the server validates it.
    let mut m = msg(SV2_MSG_SET_TARGET);
    m.body.set_target = sv2_set_target { channel_id: 7, maximum_target: [0x0f; 32] };
    assert_eq!(unsafe { sv2_client_channel_handle(ch, &m) }, OK);
    assert_eq!(unsafe { sv2_client_channel_work(ch, null(), 0, &mut w) }, OK);
    assert_eq!(w.target, target);
    let mut active = new_job(7, 4, 0xcc);
    active.body.new_mining_job.min_ntime = sv2_option_u32 { present: true.into(), value: 1_700_000_001 };
    assert_eq!(unsafe { sv2_client_channel_handle(ch, &active) }, OK);
    assert_eq!(unsafe { sv2_client_channel_work(ch, null(), 0, &mut w) }, OK);
    assert_eq!((w.job_id, w.target), (4, [0x0f; 32]));

    // Messages that are not for a channel are ignored; unknown ids are refused.
    assert_eq!(unsafe { sv2_client_channel_handle(ch, &msg(SV2_MSG_SUBMIT_SHARES_STANDARD)) }, OK);
    assert_eq!(unsafe { sv2_client_channel_handle(ch, &msg(0x7f)) }, sv2_result::UnknownMessage);
    unsafe { sv2_client_channel_free(ch) };
}

#[test]
fn extended_channel_builds_the_merkle_root_from_the_extranonce() {
    let prefix = [1u8, 2, 3, 4];
    let (cb_prefix, cb_suffix) = ([0x10u8; 41], [0x20u8; 30]);
    let mut ch = null_mut();
    assert_eq!(unsafe { sv2_client_channel_new_extended(9, [0xff; 32].as_ptr(), prefix.as_ptr(), 4, 4, &mut ch) }, OK);
    let mut m = msg(SV2_MSG_NEW_EXTENDED_MINING_JOB);
    m.body.new_extended_mining_job = sv2_new_extended_mining_job {
        channel_id: 9,
        job_id: 3,
        min_ntime: sv2_option_u32 { present: false.into(), value: 0 },
        version: 0x2000_0000,
        version_rolling_allowed: false.into(),
        merkle_path: sv2_u256_list { data: null(), count: 0 },
        coinbase_tx_prefix: sv2_bytes { data: cb_prefix.as_ptr(), len: cb_prefix.len() },
        coinbase_tx_suffix: sv2_bytes { data: cb_suffix.as_ptr(), len: cb_suffix.len() },
    };
    assert_eq!(unsafe { sv2_client_channel_handle(ch, &m) }, OK);
    assert_eq!(unsafe { sv2_client_channel_handle(ch, &prev_hash(9, 3)) }, OK);
    let rolled = [0xde_u8, 0xad, 0xbe, 0xef];
    let mut w = unsafe { std::mem::zeroed::<sv2_work>() };
    assert_eq!(unsafe { sv2_client_channel_work(ch, rolled.as_ptr(), 3, &mut w) }, sv2_result::InvalidArgument);
    assert_eq!(unsafe { sv2_client_channel_work(ch, rolled.as_ptr(), 4, &mut w) }, OK);
    let coinbase = [&cb_prefix[..], &prefix, &rolled, &cb_suffix].concat();
    // With an empty merkle path the root is the coinbase txid.
    assert_eq!(w.merkle_root, sha256d(&coinbase));
    assert_eq!(w.version_mask, 0);
    unsafe { sv2_client_channel_free(ch) };
}

fn group_job(group_id: u32, job_id: u32, cb_prefix: &[u8], cb_suffix: &[u8]) -> sv2_message {
    let mut m = msg(SV2_MSG_NEW_EXTENDED_MINING_JOB);
    m.body.new_extended_mining_job = sv2_new_extended_mining_job {
        channel_id: group_id,
        job_id,
        min_ntime: sv2_option_u32 { present: false.into(), value: 0 },
        version: 0x2000_0000,
        version_rolling_allowed: true.into(),
        merkle_path: sv2_u256_list { data: null(), count: 0 },
        coinbase_tx_prefix: sv2_bytes { data: cb_prefix.as_ptr(), len: cb_prefix.len() },
        coinbase_tx_suffix: sv2_bytes { data: cb_suffix.as_ptr(), len: cb_suffix.len() },
    };
    m
}

#[test]
fn a_standard_channel_mines_the_jobs_sent_to_its_group() {
    let prefix = [5u8, 6, 7, 8];
    let (cb_prefix, cb_suffix) = ([0x10u8; 41], [0x20u8; 30]);
    let mut w = unsafe { std::mem::zeroed::<sv2_work>() };

    // Told its group by SetGroupChannel.
    let mut ch = null_mut();
    assert_eq!(
        unsafe { sv2_client_channel_new_standard(7, [0xff; 32].as_ptr(), prefix.as_ptr(), 4, true, &mut ch) },
        OK
    );
    let ids = [3u32, 7];
    let mut set_group = msg(SV2_MSG_SET_GROUP_CHANNEL);
    set_group.body.set_group_channel = sv2_set_group_channel {
        group_channel_id: 100,
        channel_ids: sv2_u32_list { items: ids.as_ptr(), wire: null(), count: 2 },
    };
    for m in [set_group, group_job(100, 1, &cb_prefix, &cb_suffix), prev_hash(100, 1)] {
        assert_eq!(unsafe { sv2_client_channel_handle(ch, &m) }, OK);
    }
    assert_eq!(unsafe { sv2_client_channel_work(ch, null(), 0, &mut w) }, OK, "the group's job reached the channel");
    // The standard channel's merkle root comes from its own prefix.
    assert_eq!((w.job_id, w.merkle_root), (1, sha256d(&[&cb_prefix[..], &prefix, &cb_suffix].concat())));
    let mut group = 0;
    assert_eq!(unsafe { sv2_client_channel_group(ch, &mut group) }, OK);
    assert_eq!(group, 100);
    unsafe { sv2_client_channel_free(ch) };

    // Told its group from OpenStandardMiningChannel.Success.group_channel_id.
    let mut ch = null_mut();
    assert_eq!(
        unsafe { sv2_client_channel_new_standard(7, [0xff; 32].as_ptr(), prefix.as_ptr(), 4, true, &mut ch) },
        OK
    );
    assert_eq!(unsafe { sv2_client_channel_group(ch, &mut group) }, sv2_result::NotFound);
    assert_eq!(unsafe { sv2_client_channel_set_group(ch, 100) }, OK);
    for m in [group_job(100, 2, &cb_prefix, &cb_suffix), group_job(101, 3, &cb_prefix, &cb_suffix), prev_hash(100, 2)] {
        assert_eq!(unsafe { sv2_client_channel_handle(ch, &m) }, OK);
    }
    assert_eq!(unsafe { sv2_client_channel_work(ch, null(), 0, &mut w) }, OK);
    assert_eq!(w.job_id, 2);
    // Its own id still means no group.
    assert_eq!(unsafe { sv2_client_channel_set_group(ch, 7) }, OK);
    assert_eq!(unsafe { sv2_client_channel_group(ch, &mut group) }, sv2_result::NotFound);
    unsafe { sv2_client_channel_free(ch) };
}
