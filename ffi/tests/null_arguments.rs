//! Every exported function with each pointer argument NULL: SV2_RESULT_NULL_PARAMETER (or the
//! documented no-op), never a crash, and out-parameters left untouched.

use std::ptr::{null, null_mut};

use sv2_ffi::channels_jobs::*;
use sv2_ffi::channels_server::*;
use sv2_ffi::decoder::*;
use sv2_ffi::endpoint_client::*;
use sv2_ffi::endpoint_server::*;
use sv2_ffi::jd_client::*;
use sv2_ffi::jd_server::*;
use sv2_ffi::jd_store::*;
use sv2_ffi::keys::*;
use sv2_ffi::messages::*;
use sv2_ffi::mining::*;
use sv2_ffi::result::{sv2_result_error_code, sv2_result_message};
use sv2_ffi::session::*;
use sv2_ffi::sv2_result::{self, NullParameter as NULL, Ok as OK};
use sv2_ffi::version::{sv2_version, sv2_version_number};
use sv2_ffi::views::*;

fn setup_success() -> sv2_message {
    let mut m = std::mem::MaybeUninit::<sv2_message>::uninit();
    let p = [2u8, 0, 0, 0, 0, 0];
    assert_eq!(
        unsafe { sv2_message_decode(0, SV2_MSG_SETUP_CONNECTION_SUCCESS, p.as_ptr(), 6, m.as_mut_ptr(), null_mut()) },
        OK
    );
    unsafe { m.assume_init() }
}

fn plaintext_session() -> *mut sv2_session {
    let mut s = null_mut();
    assert_eq!(unsafe { sv2_session_new_plaintext(&mut s) }, OK);
    s
}

#[test]
fn every_function_refuses_null() {
    let msg = setup_success();
    let k32 = [7u8; 32];
    let mut out32 = [0xaa_u8; 32];
    let mut len = 12345usize;
    let mut flag = false;
    let mut buf = [0u8; 128];
    unsafe {
        // Frame decoder.
        assert_eq!(sv2_frame_decoder_new(100, null_mut()), NULL);
        let mut d = null_mut();
        assert_eq!(sv2_frame_decoder_new(100, &mut d), OK);
        assert_eq!(sv2_frame_decoder_push(null_mut(), buf.as_ptr(), 1), NULL);
        assert_eq!(sv2_frame_decoder_push(d, null(), 1), NULL);
        assert_eq!(sv2_frame_decoder_push(d, null(), 0), OK);
        let mut f = std::mem::zeroed::<sv2_frame>();
        assert_eq!(sv2_frame_decoder_next(null_mut(), &mut f), NULL);
        assert_eq!(sv2_frame_decoder_next(d, null_mut()), NULL);
        sv2_frame_decoder_free(d);
        sv2_frame_decoder_free(null_mut());

        // Keys and credentials.
        let mut secret = [0u8; 32];
        let mut public = [0u8; 32];
        assert_eq!(sv2_authority_keypair_generate(null_mut(), public.as_mut_ptr()), NULL);
        assert_eq!(sv2_authority_keypair_generate(secret.as_mut_ptr(), null_mut()), NULL);
        assert_eq!(sv2_authority_keypair_generate(secret.as_mut_ptr(), public.as_mut_ptr()), OK);
        assert_eq!(sv2_authority_public_key(null(), out32.as_mut_ptr()), NULL);
        assert_eq!(sv2_authority_public_key(secret.as_ptr(), null_mut()), NULL);
        assert_eq!(out32, [0xaa; 32]);
        assert_eq!(sv2_authority_key_parse(null(), out32.as_mut_ptr()), NULL);
        assert_eq!(
            sv2_authority_key_parse(c"9bDuixKmZqAJnrmP746n8zU1wyAQRrus7th9dxnkPg6RzQvCnan".as_ptr(), null_mut()),
            NULL
        );
        let mut text = [0 as std::ffi::c_char; 64];
        assert_eq!(sv2_authority_key_format(null(), text.as_mut_ptr(), 64, &mut len), NULL);
        assert_eq!(sv2_authority_key_format(public.as_ptr(), null_mut(), 64, &mut len), NULL);
        assert_eq!(sv2_authority_key_format(public.as_ptr(), text.as_mut_ptr(), 64, null_mut()), NULL);
        assert_eq!(len, 12345);
        let mut creds = null_mut();
        assert_eq!(sv2_server_credentials_issue(null(), null(), 0, u32::MAX, &mut creds), NULL);
        assert_eq!(sv2_server_credentials_issue(secret.as_ptr(), null(), 0, u32::MAX, null_mut()), NULL);
        assert_eq!(sv2_server_credentials_issue(secret.as_ptr(), null(), 0, u32::MAX, &mut creds), OK);
        let mut cert = [0u8; SV2_CERTIFICATE_LEN];
        assert_eq!(sv2_server_credentials_export(null(), out32.as_mut_ptr(), null_mut(), cert.as_mut_ptr()), NULL);
        // Every output of export is optional.
        assert_eq!(sv2_server_credentials_export(creds, null_mut(), null_mut(), null_mut()), OK);
        assert_eq!(sv2_server_credentials_export(creds, out32.as_mut_ptr(), null_mut(), cert.as_mut_ptr()), OK);
        let mut creds2 = null_mut();
        assert_eq!(sv2_server_credentials_new(null(), cert.as_ptr(), &mut creds2), NULL);
        assert_eq!(sv2_server_credentials_new(out32.as_ptr(), null(), &mut creds2), NULL);
        assert_eq!(sv2_server_credentials_new(out32.as_ptr(), cert.as_ptr(), null_mut()), NULL);
        assert!(creds2.is_null());
        sv2_server_credentials_free(null_mut());

        // Messages.
        let mut m = std::mem::zeroed::<sv2_message>();
        let mut tlvs = sv2_bytes { data: null(), len: 0 };
        let p = [2u8, 0, 0, 0, 0, 0];
        assert_eq!(sv2_message_decode(0, 1, null(), 6, &mut m, &mut tlvs), NULL);
        assert_eq!(sv2_message_decode(0, 1, p.as_ptr(), 6, null_mut(), &mut tlvs), NULL);
        assert_eq!(sv2_message_decode(0, 1, p.as_ptr(), 6, &mut m, null_mut()), OK);
        assert_eq!(sv2_message_encoded_len(null(), &mut len), NULL);
        assert_eq!(sv2_message_encoded_len(&msg, null_mut()), NULL);
        assert_eq!(sv2_message_encode(null(), buf.as_mut_ptr(), 128, &mut len), NULL);
        assert_eq!(sv2_message_encode(&msg, null_mut(), 128, &mut len), NULL);
        assert_eq!(sv2_message_encode(&msg, buf.as_mut_ptr(), 128, null_mut()), NULL);
        assert_eq!(sv2_frame_encoded_len(null(), null(), 0, &mut len), NULL);
        assert_eq!(sv2_frame_encoded_len(&msg, null(), 1, &mut len), NULL);
        assert_eq!(sv2_frame_encoded_len(&msg, null(), 0, null_mut()), NULL);
        assert_eq!(sv2_frame_encode(null(), null(), 0, buf.as_mut_ptr(), 128, &mut len), NULL);
        assert_eq!(sv2_frame_encode(&msg, null(), 1, buf.as_mut_ptr(), 128, &mut len), NULL);
        assert_eq!(sv2_frame_encode(&msg, null(), 0, null_mut(), 128, &mut len), NULL);
        assert_eq!(sv2_frame_encode(&msg, null(), 0, buf.as_mut_ptr(), 128, null_mut()), NULL);
        assert_eq!(len, 12345);
        let mut v = sv2_bytes { data: null(), len: 0 };
        assert_eq!(sv2_tlvs_find(sv2_bytes { data: null(), len: 5 }, 2, 1, &mut v), NULL);
        assert_eq!(sv2_tlvs_find(sv2_bytes { data: null(), len: 0 }, 2, 1, null_mut()), NULL);
        assert_eq!(sv2_tlvs_find(sv2_bytes { data: null(), len: 0 }, 2, 1, &mut v), sv2_result::NotFound);

        // Lists.
        let items = [1u16, 2];
        let l16 = sv2_u16_list { items: items.as_ptr(), wire: null(), count: 2 };
        let mut x16 = 0u16;
        assert_eq!(sv2_u16_list_get(null(), 0, &mut x16), NULL);
        assert_eq!(sv2_u16_list_get(&l16, 0, null_mut()), NULL);
        let l16_wire = sv2_u16_list { items: null(), wire: null(), count: 2 };
        assert_eq!(sv2_u16_list_get(&l16_wire, 0, &mut x16), NULL);
        let l32 = sv2_u32_list { items: null(), wire: null(), count: 1 };
        let mut x32 = 0u32;
        assert_eq!(sv2_u32_list_get(null(), 0, &mut x32), NULL);
        assert_eq!(sv2_u32_list_get(&l32, 0, &mut x32), NULL);
        let bl = sv2_bytes_list { wire: null(), wire_len: 3, count: 1 };
        assert_eq!(sv2_bytes_list_get(null(), 0, &mut v), NULL);
        assert_eq!(sv2_bytes_list_get(&bl, 0, &mut v), NULL);
        let mut offset = 0usize;
        assert_eq!(sv2_bytes_list_next(null(), &mut offset, &mut v), NULL);
        assert_eq!(sv2_bytes_list_next(&bl, &mut offset, &mut v), NULL);
        let empty = sv2_bytes_list { wire: null(), wire_len: 0, count: 0 };
        assert_eq!(sv2_bytes_list_next(&empty, null_mut(), &mut v), NULL);
        assert_eq!(sv2_bytes_list_next(&empty, &mut offset, null_mut()), NULL);
        assert_eq!(sv2_bytes_list_next(&empty, &mut offset, &mut v), sv2_result::NotFound);
        let one = [sv2_bytes { data: p.as_ptr(), len: 1 }];
        assert_eq!(sv2_bytes_list_encode(null(), 1, buf.as_mut_ptr(), 128, &mut len), NULL);
        assert_eq!(sv2_bytes_list_encode(one.as_ptr(), 1, null_mut(), 128, &mut len), NULL);
        assert_eq!(sv2_bytes_list_encode(one.as_ptr(), 1, buf.as_mut_ptr(), 128, null_mut()), NULL);
        assert_eq!((x16, x32, len), (0, 0, 12345));

        // Sessions.
        let mut s = null_mut();
        assert_eq!(sv2_session_new_initiator(null(), 0, &mut s), NULL);
        assert_eq!(sv2_session_new_initiator(public.as_ptr(), 0, null_mut()), NULL);
        assert_eq!(sv2_session_new_initiator_with_entropy(null(), k32.as_ptr(), 0, &mut s), NULL);
        assert_eq!(sv2_session_new_initiator_with_entropy(public.as_ptr(), null(), 0, &mut s), NULL);
        assert_eq!(sv2_session_new_initiator_with_entropy(public.as_ptr(), k32.as_ptr(), 0, null_mut()), NULL);
        assert_eq!(sv2_session_new_responder(null(), &mut s), NULL);
        assert_eq!(sv2_session_new_responder(creds, null_mut()), NULL);
        assert_eq!(sv2_session_new_plaintext(null_mut()), NULL);
        assert!(s.is_null());
        let s = plaintext_session();
        assert_eq!(sv2_session_set_max_payload(null_mut(), 10), NULL);
        assert_eq!(sv2_session_receive(null_mut(), buf.as_ptr(), 1), NULL);
        assert_eq!(sv2_session_receive(s, null(), 1), NULL);
        assert_eq!(sv2_session_next_frame(null_mut(), &mut f), NULL);
        assert_eq!(sv2_session_next_frame(s, null_mut()), NULL);
        assert_eq!(sv2_session_next_message(null_mut(), &mut m, null_mut()), NULL);
        // A NULL out-parameter leaves the queued frame where it is.
        let mut frame = [0u8; 12];
        let mut flen = 0;
        assert_eq!(sv2_frame_encode(&msg, null(), 0, frame.as_mut_ptr(), 12, &mut flen), OK);
        assert_eq!(sv2_session_receive(s, frame.as_ptr(), flen), OK);
        assert_eq!(sv2_session_next_message(s, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_session_next_message(s, &mut m, null_mut()), OK);
        assert_eq!((m.msg_type, m.body.setup_connection_success.used_version), (SV2_MSG_SETUP_CONNECTION_SUCCESS, 2));
        assert_eq!(sv2_session_send(null_mut(), &msg, null(), 0), NULL);
        assert_eq!(sv2_session_send(s, null(), null(), 0), NULL);
        assert_eq!(sv2_session_send(s, &msg, null(), 2), NULL);
        assert_eq!(sv2_session_send_frame(null_mut(), 0, 1, false, p.as_ptr(), 6), NULL);
        assert_eq!(sv2_session_send_frame(s, 0, 1, false, null(), 6), NULL);
        let mut data: *const u8 = null();
        assert_eq!(sv2_session_pending_output(null(), &mut data, &mut len), NULL);
        assert_eq!(sv2_session_pending_output(s, null_mut(), &mut len), NULL);
        assert_eq!(sv2_session_pending_output(s, &mut data, null_mut()), NULL);
        assert_eq!(sv2_session_consume_output(null_mut(), 1), NULL);
        assert_eq!(sv2_session_is_established(null(), &mut flag), NULL);
        assert_eq!(sv2_session_is_established(s, null_mut()), NULL);
        assert_eq!(sv2_session_server_key(null(), out32.as_mut_ptr()), NULL);
        // A plaintext session has no server key.
        assert_eq!(sv2_session_server_key(s, null_mut()), NULL);
        assert_eq!(sv2_session_server_key(s, out32.as_mut_ptr()), sv2_result::NotEstablished);
        assert_eq!((data, len, flag), (null(), 12345, false));
        sv2_session_free(s);
        sv2_session_free(null_mut());
        sv2_server_credentials_free(creds);

        // Mining client.
        let mut ch = null_mut();
        assert_eq!(sv2_client_channel_new_standard(1, null(), null(), 0, true, &mut ch), NULL);
        assert_eq!(sv2_client_channel_new_standard(1, k32.as_ptr(), null(), 4, true, &mut ch), NULL);
        assert_eq!(sv2_client_channel_new_standard(1, k32.as_ptr(), null(), 0, true, null_mut()), NULL);
        assert_eq!(sv2_client_channel_new_extended(1, null(), null(), 0, 4, &mut ch), NULL);
        assert_eq!(sv2_client_channel_new_extended(1, k32.as_ptr(), null(), 4, 4, &mut ch), NULL);
        assert_eq!(sv2_client_channel_new_extended(1, k32.as_ptr(), null(), 0, 4, null_mut()), NULL);
        assert!(ch.is_null());
        assert_eq!(sv2_client_channel_new_extended(1, k32.as_ptr(), null(), 0, 4, &mut ch), OK);
        assert_eq!(sv2_client_channel_handle(null_mut(), &msg), NULL);
        assert_eq!(sv2_client_channel_handle(ch, null()), NULL);
        assert_eq!(sv2_client_channel_set_group(null_mut(), 9), NULL);
        let mut group = 7u32;
        assert_eq!(sv2_client_channel_group(null(), &mut group), NULL);
        assert_eq!(sv2_client_channel_group(ch, null_mut()), NULL);
        assert_eq!(sv2_client_channel_group(ch, &mut group), sv2_result::NotFound);
        assert_eq!(group, 7);
        let mut w = std::mem::zeroed::<sv2_work>();
        assert_eq!(sv2_client_channel_work(null(), buf.as_ptr(), 4, &mut w), NULL);
        assert_eq!(sv2_client_channel_work(ch, null(), 4, &mut w), NULL);
        // No job yet.
        assert_eq!(sv2_client_channel_work(ch, buf.as_ptr(), 4, null_mut()), NULL);
        assert_eq!(sv2_client_channel_work(ch, buf.as_ptr(), 4, &mut w), sv2_result::NeedMoreData);
        sv2_client_channel_free(ch);
        sv2_client_channel_free(null_mut());
        assert_eq!(sv2_work_hash(null(), 0, 0, 0, out32.as_mut_ptr()), NULL);
        assert_eq!(sv2_work_hash(&w, 0, 0, 0, null_mut()), NULL);
        assert_eq!(sv2_hash_meets_target(null(), k32.as_ptr(), &mut flag), NULL);
        assert_eq!(sv2_hash_meets_target(k32.as_ptr(), null(), &mut flag), NULL);
        assert_eq!(sv2_hash_meets_target(k32.as_ptr(), k32.as_ptr(), null_mut()), NULL);
        assert_eq!(sv2_sha256d(null(), 1, out32.as_mut_ptr()), NULL);
        assert_eq!(sv2_sha256d(buf.as_ptr(), 1, null_mut()), NULL);
        assert_eq!(sv2_sha256d(null(), 0, out32.as_mut_ptr()), OK);

        // Pool side: job factory, extranonce allocator, server and group channels.
        let script = [0x51u8];
        let none = sv2_option_u32 { present: false.into(), value: 0 };
        let mut f = null_mut();
        assert_eq!(sv2_job_factory_new(null(), 1, null(), 0, 8, true, &mut f), NULL);
        assert_eq!(sv2_job_factory_new(script.as_ptr(), 1, null(), 2, 8, true, &mut f), NULL);
        assert_eq!(sv2_job_factory_new(script.as_ptr(), 1, null(), 0, 8, true, null_mut()), NULL);
        assert!(f.is_null());
        assert_eq!(sv2_job_factory_new(script.as_ptr(), 1, null(), 0, 8, true, &mut f), OK);
        assert_eq!(sv2_job_factory_coinbase_output_constraints(null(), &mut m), NULL);
        assert_eq!(sv2_job_factory_coinbase_output_constraints(f, null_mut()), NULL);
        let mut tj = std::mem::zeroed::<sv2_template_job>();
        assert_eq!(sv2_job_factory_handle(null_mut(), &msg, &mut tj), NULL);
        assert_eq!(sv2_job_factory_handle(f, null(), &mut tj), NULL);
        assert_eq!(sv2_job_factory_handle(f, &msg, null_mut()), NULL);
        let mut jobs = [tj; SV2_MAX_TEMPLATE_JOBS];
        assert_eq!(sv2_job_factory_jobs(null(), jobs.as_mut_ptr(), jobs.len(), &mut len), NULL);
        assert_eq!(sv2_job_factory_jobs(f, null_mut(), jobs.len(), &mut len), NULL);
        assert_eq!(sv2_job_factory_jobs(f, jobs.as_mut_ptr(), jobs.len(), null_mut()), NULL);
        assert_eq!(len, 12345);
        sv2_job_factory_free(null_mut());

        let mut a = null_mut();
        assert_eq!(sv2_extranonce_allocator_new(null(), 1, 2, 8, &mut a), NULL);
        assert_eq!(sv2_extranonce_allocator_new(null(), 0, 2, 8, null_mut()), NULL);
        assert!(a.is_null());
        assert_eq!(sv2_extranonce_allocator_new(null(), 0, 2, 8, &mut a), OK);
        assert_eq!(sv2_extranonce_allocator_rollable(null(), &mut len), NULL);
        assert_eq!(sv2_extranonce_allocator_rollable(a, null_mut()), NULL);
        assert_eq!(sv2_extranonce_allocator_next_extended(null_mut(), buf.as_mut_ptr(), 32, &mut len), NULL);
        assert_eq!(sv2_extranonce_allocator_next_extended(a, null_mut(), 32, &mut len), NULL);
        assert_eq!(sv2_extranonce_allocator_next_extended(a, buf.as_mut_ptr(), 32, null_mut()), NULL);
        assert_eq!(sv2_extranonce_allocator_next_standard(null_mut(), buf.as_mut_ptr(), 32, &mut len), NULL);
        assert_eq!(sv2_extranonce_allocator_next_standard(a, null_mut(), 32, &mut len), NULL);
        assert_eq!(sv2_extranonce_allocator_next_standard(a, buf.as_mut_ptr(), 32, null_mut()), NULL);
        assert_eq!(len, 12345);
        // None of the refused calls used a prefix: the first is still counter 0.
        assert_eq!(sv2_extranonce_allocator_next_extended(a, buf.as_mut_ptr(), 32, &mut len), OK);
        assert_eq!(&buf[..len], &[0, 0]);
        len = 12345;
        sv2_extranonce_allocator_free(a);
        sv2_extranonce_allocator_free(null_mut());
        let mut t32 = [0xaa_u8; 32];
        assert_eq!(sv2_target_for_hashrate(1e9, 6.0, null(), t32.as_mut_ptr()), NULL);
        assert_eq!(sv2_target_for_hashrate(1e9, 6.0, k32.as_ptr(), null_mut()), NULL);

        let params = sv2_server_channel_params {
            struct_size: std::mem::size_of::<sv2_server_channel_params>(),
            channel_id: 2,
            extended: true.into(),
            extranonce_size: 6,
            user_identity: sv2_bytes { data: null(), len: 0 },
            extranonce_prefix: sv2_bytes { data: [0u8, 0].as_ptr(), len: 2 },
            target: [0xff; 32],
            max_target: [0xff; 32],
            shares_per_minute: 6.0,
            vardiff_window_secs: 60,
        };
        let mut sc = null_mut();
        assert_eq!(sv2_server_channel_new(null(), 0, &mut sc), NULL);
        assert_eq!(sv2_server_channel_new(&params, 0, null_mut()), NULL);
        let bad_view = sv2_server_channel_params { user_identity: sv2_bytes { data: null(), len: 3 }, ..params };
        assert_eq!(sv2_server_channel_new(&bad_view, 0, &mut sc), NULL);
        assert!(sc.is_null());
        assert_eq!(sv2_server_channel_new(&params, 0, &mut sc), OK);
        assert_eq!(sv2_server_channel_target(null(), t32.as_mut_ptr()), NULL);
        assert_eq!(sv2_server_channel_target(sc, null_mut()), NULL);
        assert_eq!(sv2_server_channel_open_success(null(), 1, 1, &mut m), NULL);
        assert_eq!(sv2_server_channel_open_success(sc, 1, 1, null_mut()), NULL);
        assert_eq!(sv2_server_channel_add_job(null_mut(), f, 1, none, &mut m), NULL);
        assert_eq!(sv2_server_channel_add_job(sc, null(), 1, none, &mut m), NULL);
        assert_eq!(sv2_server_channel_add_job(sc, f, 1, none, null_mut()), NULL);
        assert_eq!(sv2_server_channel_activate(null_mut(), f, &mut m), NULL);
        assert_eq!(sv2_server_channel_activate(sc, null(), &mut m), NULL);
        assert_eq!(sv2_server_channel_activate(sc, f, null_mut()), NULL);
        let mut acc = std::mem::zeroed::<sv2_accepted_share>();
        assert_eq!(sv2_server_channel_validate(null_mut(), &msg, 0, &mut acc), NULL);
        assert_eq!(sv2_server_channel_validate(sc, null(), 0, &mut acc), NULL);
        assert_eq!(sv2_server_channel_validate(sc, &msg, 0, null_mut()), NULL);
        assert_eq!(sv2_server_channel_solution(null(), &mut m), NULL);
        assert_eq!(sv2_server_channel_solution(sc, null_mut()), NULL);
        assert_eq!(sv2_server_channel_take_success(null_mut(), &mut m), NULL);
        assert_eq!(sv2_server_channel_take_success(sc, null_mut()), NULL);
        assert_eq!(sv2_server_channel_set_target(null_mut(), k32.as_ptr(), &mut m), NULL);
        assert_eq!(sv2_server_channel_set_target(sc, null(), &mut m), NULL);
        assert_eq!(sv2_server_channel_set_target(sc, k32.as_ptr(), null_mut()), NULL);
        assert_eq!(sv2_server_channel_update(null_mut(), &msg, 0, &mut m), NULL);
        assert_eq!(sv2_server_channel_update(sc, null(), 0, &mut m), NULL);
        assert_eq!(sv2_server_channel_update(sc, &msg, 0, null_mut()), NULL);
        assert_eq!(sv2_server_channel_retarget(null_mut(), 0, &mut m), NULL);
        assert_eq!(sv2_server_channel_retarget(sc, 0, null_mut()), NULL);
        assert_eq!(sv2_channel_error_reply(null(), sv2_result::StaleShare as i32, &mut m), NULL);
        assert_eq!(sv2_channel_error_reply(&msg, sv2_result::StaleShare as i32, null_mut()), NULL);
        assert_eq!(t32, [0xaa; 32]);

        let mut g = null_mut();
        assert_eq!(sv2_group_channel_new(1, false, null_mut()), NULL);
        assert_eq!(sv2_group_channel_new(1, false, &mut g), OK);
        assert_eq!(sv2_group_channel_add(null_mut(), &mut sc), NULL);
        assert_eq!(sv2_group_channel_add(g, null_mut()), NULL);
        let mut no_channel: *mut sv2_server_channel = null_mut();
        assert_eq!(sv2_group_channel_add(g, &mut no_channel), NULL);
        assert!(!sc.is_null());
        assert_eq!(sv2_group_channel_add(g, &mut sc), OK);
        assert!(sc.is_null());
        assert_eq!(sv2_group_channel_remove(null_mut(), 2, &mut sc), NULL);
        assert_eq!(sv2_group_channel_remove(g, 2, null_mut()), NULL);
        assert_eq!(sv2_group_channel_len(null(), &mut len), NULL);
        assert_eq!(sv2_group_channel_len(g, null_mut()), NULL);
        let mut msgs = [msg; 4];
        assert_eq!(sv2_group_channel_add_job(null_mut(), f, 1, none, msgs.as_mut_ptr(), 4, &mut len), NULL);
        assert_eq!(sv2_group_channel_add_job(g, null(), 1, none, msgs.as_mut_ptr(), 4, &mut len), NULL);
        assert_eq!(sv2_group_channel_add_job(g, f, 1, none, null_mut(), 4, &mut len), NULL);
        assert_eq!(sv2_group_channel_add_job(g, f, 1, none, msgs.as_mut_ptr(), 4, null_mut()), NULL);
        assert_eq!(sv2_group_channel_activate(null_mut(), f, msgs.as_mut_ptr(), 4, &mut len), NULL);
        assert_eq!(sv2_group_channel_activate(g, null(), msgs.as_mut_ptr(), 4, &mut len), NULL);
        assert_eq!(sv2_group_channel_activate(g, f, null_mut(), 4, &mut len), NULL);
        assert_eq!(sv2_group_channel_activate(g, f, msgs.as_mut_ptr(), 4, null_mut()), NULL);
        assert_eq!(len, 12345);
        assert_eq!(sv2_group_channel_set_target(null_mut(), k32.as_ptr(), &mut m), NULL);
        assert_eq!(sv2_group_channel_set_target(g, null(), &mut m), NULL);
        assert_eq!(sv2_group_channel_set_target(g, k32.as_ptr(), null_mut()), NULL);
        assert_eq!(sv2_group_channel_validate(null_mut(), &msg, 0, &mut acc), NULL);
        assert_eq!(sv2_group_channel_validate(g, null(), 0, &mut acc), NULL);
        assert_eq!(sv2_group_channel_validate(g, &msg, 0, null_mut()), NULL);
        assert_eq!(sv2_group_channel_solution(null(), &mut m), NULL);
        assert_eq!(sv2_group_channel_solution(g, null_mut()), NULL);
        assert_eq!(sv2_group_channel_take_success(null_mut(), &mut m), NULL);
        assert_eq!(sv2_group_channel_take_success(g, null_mut()), NULL);
        assert_eq!(sv2_group_channel_update(null_mut(), &msg, 0, &mut m), NULL);
        assert_eq!(sv2_group_channel_update(g, null(), 0, &mut m), NULL);
        assert_eq!(sv2_group_channel_update(g, &msg, 0, null_mut()), NULL);
        assert_eq!(sv2_group_channel_retarget(null_mut(), 0, &mut m), NULL);
        assert_eq!(sv2_group_channel_retarget(g, 0, null_mut()), NULL);
        assert_eq!(sv2_group_channel_remove(g, 2, &mut sc), OK);
        sv2_server_channel_free(sc);
        sv2_server_channel_free(null_mut());
        sv2_group_channel_free(g);
        sv2_group_channel_free(null_mut());
        sv2_job_factory_free(f);

        // Server endpoints and their options.
        let mut o = null_mut();
        assert_eq!(sv2_server_options_new(null_mut()), NULL);
        assert_eq!(sv2_server_options_new(&mut o), OK);
        assert_eq!(sv2_server_options_set_version_rolling(null_mut(), sv2_bool(1)), NULL);
        assert_eq!(sv2_server_options_set_extended_channels_only(null_mut(), sv2_bool(1)), NULL);
        assert_eq!(sv2_server_options_set_max_channels(null_mut(), 1), NULL);
        assert_eq!(sv2_server_options_set_vardiff(null_mut(), 1.0, 1, 1.0, 1.0), NULL);
        assert_eq!(sv2_server_options_set_share_limits(null_mut(), 1, 1), NULL);
        let (mut tokens, mut jds) = (null_mut(), null_mut());
        assert_eq!(sv2_token_store_new(8, &mut tokens), OK);
        assert_eq!(sv2_jd_server_options_new([0x51].as_ptr(), 1, &mut jds), OK);
        assert_eq!(sv2_server_options_set_work_selection(null_mut(), tokens, jds), NULL);
        assert_eq!(sv2_server_options_set_work_selection(o, null(), jds), NULL);
        assert_eq!(sv2_server_options_set_work_selection(o, tokens, null()), NULL);
        sv2_token_store_free(tokens);
        sv2_jd_server_options_free(jds);
        let (mut f, mut a, mut e) = (null_mut(), null_mut(), null_mut());
        assert_eq!(sv2_job_factory_new([0x51].as_ptr(), 1, null(), 0, 8, true, &mut f), OK);
        assert_eq!(sv2_extranonce_allocator_new(null(), 0, 2, 8, &mut a), OK);
        assert_eq!(sv2_server_endpoint_new(null(), a, &mut e), NULL);
        assert_eq!(sv2_server_endpoint_new(o, null_mut(), &mut e), NULL);
        assert_eq!(sv2_server_endpoint_new(o, a, null_mut()), NULL);
        assert!(e.is_null());
        assert_eq!(sv2_server_endpoint_new(o, a, &mut e), OK);
        sv2_server_options_free(o);
        sv2_server_options_free(null_mut());
        let mut ev = std::mem::zeroed::<sv2_server_event>();
        let frame = std::mem::zeroed::<sv2_frame>();
        assert_eq!(sv2_server_endpoint_on_message(null_mut(), f, &msg, 0, 0, null_mut(), &mut ev), NULL);
        assert_eq!(sv2_server_endpoint_on_message(e, null(), &msg, 0, 0, null_mut(), &mut ev), NULL);
        assert_eq!(sv2_server_endpoint_on_message(e, f, null(), 0, 0, null_mut(), &mut ev), NULL);
        assert_eq!(sv2_server_endpoint_on_message(e, f, &msg, 0, 0, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_server_endpoint_on_frame(null_mut(), f, &frame, 0, 0, null_mut(), &mut ev), NULL);
        assert_eq!(sv2_server_endpoint_on_frame(e, f, null(), 0, 0, null_mut(), &mut ev), NULL);
        assert_eq!(sv2_server_endpoint_sync(null_mut(), f, null_mut(), &mut flag, &mut len), NULL);
        assert_eq!(sv2_server_endpoint_sync(e, null(), null_mut(), &mut flag, &mut len), NULL);
        assert_eq!(sv2_server_endpoint_sync(e, f, null_mut(), null_mut(), &mut len), NULL);
        assert_eq!(sv2_server_endpoint_sync(e, f, null_mut(), &mut flag, null_mut()), NULL);
        assert_eq!(sv2_server_endpoint_retarget(null_mut(), 0, null_mut(), &mut len), NULL);
        assert_eq!(sv2_server_endpoint_retarget(e, 0, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_server_endpoint_take_successes(null_mut(), null_mut(), &mut len), NULL);
        assert_eq!(sv2_server_endpoint_take_successes(e, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_server_endpoint_solution(null(), &mut m), NULL);
        assert_eq!(sv2_server_endpoint_solution(e, null_mut()), NULL);
        assert_eq!(sv2_server_endpoint_channel_count(null(), &mut len), NULL);
        assert_eq!(sv2_server_endpoint_channel_count(e, null_mut()), NULL);
        let mut job_id = 7u32;
        assert_eq!(sv2_server_endpoint_last_custom_job(null(), &mut job_id, null_mut()), NULL);
        assert_eq!(sv2_server_endpoint_last_custom_job(e, null_mut(), null_mut()), NULL);
        let mut block = sv2_bytes { data: null(), len: 0 };
        assert_eq!(sv2_server_endpoint_custom_block(null_mut(), &mut block), NULL);
        assert_eq!(sv2_server_endpoint_custom_block(e, null_mut()), NULL);
        assert_eq!(job_id, 7);
        assert!(block.data.is_null());
        let mut b = sv2_bytes { data: null(), len: 0 };
        assert_eq!(sv2_server_endpoint_channel_user(null(), 1, &mut b), NULL);
        assert_eq!(sv2_server_endpoint_channel_user(e, 1, null_mut()), NULL);
        let mut data = null();
        assert_eq!(sv2_server_endpoint_pending_output(null(), &mut data, &mut len), NULL);
        assert_eq!(sv2_server_endpoint_pending_output(e, null_mut(), &mut len), NULL);
        assert_eq!(sv2_server_endpoint_pending_output(e, &mut data, null_mut()), NULL);
        assert_eq!(sv2_server_endpoint_consume_output(null_mut(), 1), NULL);
        assert_eq!(len, 12345);
        sv2_server_endpoint_free(e);
        sv2_server_endpoint_free(null_mut());
        sv2_extranonce_allocator_free(a);

        // Client endpoints.
        let cfg = sv2_client_config {
            struct_size: std::mem::size_of::<sv2_client_config>(),
            requires_standard_jobs: sv2_bool(0),
            requires_version_rolling: sv2_bool(0),
            endpoint_port: 0,
            endpoint_host: b,
            vendor: b,
            hardware_version: b,
            firmware: b,
            device_id: b,
        };
        let mut c = null_mut();
        assert_eq!(sv2_client_endpoint_new(null(), &mut c), NULL);
        assert_eq!(sv2_client_endpoint_new(&cfg, null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_new(&cfg, &mut c), OK);
        let mut id = 7u32;
        assert_eq!(sv2_client_endpoint_setup_connection(null_mut(), null_mut()), NULL);
        assert_eq!(
            sv2_client_endpoint_open_standard(null_mut(), null(), 0, 1.0, k32.as_ptr(), null_mut(), &mut id),
            NULL
        );
        assert_eq!(sv2_client_endpoint_open_standard(c, null(), 1, 1.0, k32.as_ptr(), null_mut(), &mut id), NULL);
        assert_eq!(sv2_client_endpoint_open_standard(c, null(), 0, 1.0, null(), null_mut(), &mut id), NULL);
        assert_eq!(sv2_client_endpoint_open_standard(c, null(), 0, 1.0, k32.as_ptr(), null_mut(), null_mut()), NULL);
        assert_eq!(
            sv2_client_endpoint_open_extended(null_mut(), null(), 0, 1.0, k32.as_ptr(), 0, null_mut(), &mut id),
            NULL
        );
        assert_eq!(sv2_client_endpoint_open_extended(c, null(), 0, 1.0, null(), 0, null_mut(), &mut id), NULL);
        assert_eq!(sv2_client_endpoint_open_extended(c, null(), 0, 1.0, k32.as_ptr(), 0, null_mut(), null_mut()), NULL);
        assert_eq!(id, 7);
        assert_eq!(sv2_client_endpoint_request_extensions(null_mut(), null(), 0, null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_request_extensions(c, null(), 1, null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_update_channel(null_mut(), 1, 1.0, k32.as_ptr(), null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_update_channel(c, 1, 1.0, null(), null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_close_channel(null_mut(), 1, null(), 0, null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_close_channel(c, 1, null(), 1, null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_submit(null_mut(), 1, 1, 1, 1, 1, null(), 0, 0, null_mut(), &mut id), NULL);
        assert_eq!(sv2_client_endpoint_submit(c, 1, 1, 1, 1, 1, null(), 1, 0, null_mut(), &mut id), NULL);
        assert_eq!(sv2_client_endpoint_submit(c, 1, 1, 1, 1, 1, null(), 0, 0, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_on_message(null_mut(), &msg, &mut len), NULL);
        assert_eq!(sv2_client_endpoint_on_message(c, null(), &mut len), NULL);
        assert_eq!(sv2_client_endpoint_on_message(c, &msg, null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_on_frame(null_mut(), &frame, &mut len), NULL);
        assert_eq!(sv2_client_endpoint_on_frame(c, null(), &mut len), NULL);
        let mut cev = std::mem::zeroed::<sv2_client_event>();
        assert_eq!(sv2_client_endpoint_next_event(null_mut(), &mut cev), NULL);
        assert_eq!(sv2_client_endpoint_next_event(c, null_mut()), NULL);
        let mut w = std::mem::zeroed::<sv2_work>();
        assert_eq!(sv2_client_endpoint_work(null(), 1, null(), 0, &mut w), NULL);
        assert_eq!(sv2_client_endpoint_work(c, 1, null(), 0, null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_pending_output(null(), &mut data, &mut len), NULL);
        assert_eq!(sv2_client_endpoint_pending_output(c, null_mut(), &mut len), NULL);
        assert_eq!(sv2_client_endpoint_pending_output(c, &mut data, null_mut()), NULL);
        assert_eq!(sv2_client_endpoint_consume_output(null_mut(), 1), NULL);
        assert_eq!(len, 12345);
        sv2_client_endpoint_free(c);
        sv2_client_endpoint_free(null_mut());
        sv2_job_factory_free(f);

        // Functions without pointer arguments still answer.
        assert!(!sv2_result_message(1).is_null());
        assert!(sv2_result_error_code(1).is_null());
        assert!(!sv2_version().is_null());
        assert_eq!(sv2_version_number(), sv2_ffi::version::SV2_VERSION_NUMBER);
    }
}

#[test]
fn job_declaration_refuses_null() {
    let msg = setup_success();
    let script = [0x51u8];
    let (mut n, mut id, mut ready) = (12345usize, 12345u32, false);
    let (mut data, mut len) = (null(), 12345usize);
    let mut b = sv2_bytes { data: null(), len: 12345 };
    let frame =
        sv2_frame { extension_type: 0, msg_type: 0, channel_msg: false, payload: sv2_bytes { data: null(), len: 0 } };
    unsafe {
        let (mut store, mut opts) = (null_mut(), null_mut());
        assert_eq!(sv2_token_store_new(8, null_mut()), NULL);
        assert_eq!(sv2_token_store_new(8, &mut store), OK);
        let mut shared = null_mut();
        assert_eq!(sv2_token_store_share(null(), &mut shared), NULL);
        assert_eq!(sv2_token_store_share(store, null_mut()), NULL);
        assert!(shared.is_null());
        assert_eq!(sv2_token_store_len(null(), &mut n), NULL);
        assert_eq!(sv2_token_store_len(store, null_mut()), NULL);
        assert_eq!(sv2_jd_server_options_new(null(), 1, &mut opts), NULL);
        assert_eq!(sv2_jd_server_options_new(script.as_ptr(), 1, null_mut()), NULL);
        assert_eq!(sv2_jd_server_options_new(script.as_ptr(), 1, &mut opts), OK);
        assert_eq!(sv2_jd_server_options_add_required_script(null_mut(), script.as_ptr(), 1), NULL);
        assert_eq!(sv2_jd_server_options_add_required_script(opts, null(), 1), NULL);
        assert_eq!(sv2_jd_server_options_set_min_payout_ppm(null_mut(), 1), NULL);
        assert_eq!(sv2_jd_server_options_set_modes(null_mut(), sv2_bool(1), sv2_bool(1)), NULL);
        assert_eq!(sv2_jd_server_options_set_token_limits(null_mut(), 1, 1, 1, 1), NULL);
        assert_eq!(sv2_jd_server_options_set_declaration_limits(null_mut(), 1, 1, 1), NULL);
        let check = |s, o, m, t, u: *mut sv2_bytes, c: *mut sv2_bytes| {
            sv2_token_store_check_custom_job(s, o, m, t, 8, sv2_bool(1), 0, 0, u, c)
        };
        assert_eq!(check(null_mut(), opts, &msg, &msg, &mut b, &mut b), NULL);
        assert_eq!(check(store, null(), &msg, &msg, &mut b, &mut b), NULL);
        assert_eq!(check(store, opts, null(), &msg, &mut b, &mut b), NULL);
        assert_eq!(check(store, opts, &msg, null(), &mut b, &mut b), NULL);

        let mut jds = null_mut();
        assert_eq!(sv2_jd_server_new(null(), store, None, null_mut(), &mut jds), NULL);
        assert_eq!(sv2_jd_server_new(opts, null(), None, null_mut(), &mut jds), NULL);
        assert_eq!(sv2_jd_server_new(opts, store, None, null_mut(), null_mut()), NULL);
        assert!(jds.is_null());
        assert_eq!(sv2_jd_server_new(opts, store, None, null_mut(), &mut jds), OK);
        let mut ev = std::mem::zeroed::<sv2_jd_server_event>();
        assert_eq!(sv2_jd_server_on_message(null_mut(), &msg, 0, null(), null_mut(), &mut ev), NULL);
        assert_eq!(sv2_jd_server_on_message(jds, null(), 0, null(), null_mut(), &mut ev), NULL);
        assert_eq!(sv2_jd_server_on_message(jds, &msg, 0, null(), null_mut(), null_mut()), NULL);
        assert_eq!(sv2_jd_server_on_frame(null_mut(), &frame, 0, null(), null_mut(), &mut ev), NULL);
        assert_eq!(sv2_jd_server_on_frame(jds, null(), 0, null(), null_mut(), &mut ev), NULL);
        assert_eq!(sv2_jd_server_on_frame(jds, &frame, 0, null(), null_mut(), null_mut()), NULL);
        assert_eq!(sv2_jd_server_verdict(null_mut(), 1, null(), 0, 0, null(), null_mut(), &mut ev), NULL);
        assert_eq!(sv2_jd_server_verdict(jds, 1, null(), 1, 0, null(), null_mut(), &mut ev), NULL);
        assert_eq!(sv2_jd_server_verdict(jds, 1, null(), 0, 0, null(), null_mut(), null_mut()), NULL);
        assert_eq!(sv2_jd_server_pending_declarations(null(), &mut n), NULL);
        assert_eq!(sv2_jd_server_pending_declarations(jds, null_mut()), NULL);
        assert_eq!(sv2_jd_server_pending_output(null(), &mut data, &mut len), NULL);
        assert_eq!(sv2_jd_server_pending_output(jds, null_mut(), &mut len), NULL);
        assert_eq!(sv2_jd_server_pending_output(jds, &mut data, null_mut()), NULL);
        assert_eq!(sv2_jd_server_consume_output(null_mut(), 1), NULL);
        sv2_jd_server_free(jds);
        sv2_jd_server_free(null_mut());
        sv2_jd_server_options_free(opts);
        sv2_jd_server_options_free(null_mut());
        sv2_token_store_free(store);
        sv2_token_store_free(null_mut());

        let mut config = std::mem::zeroed::<sv2_jd_client_config>();
        config.struct_size = std::mem::size_of::<sv2_jd_client_config>();
        (config.extranonce_len, config.max_tokens, config.max_declarations) = (8, 1, 1);
        let mut jdc = null_mut();
        assert_eq!(sv2_jd_client_new(null(), &mut jdc), NULL);
        assert_eq!(sv2_jd_client_new(&config, null_mut()), NULL);
        assert!(jdc.is_null());
        assert_eq!(sv2_jd_client_new(&config, &mut jdc), OK);
        let mut cev = std::mem::zeroed::<sv2_jd_client_event>();
        let mut m = setup_success();
        assert_eq!(sv2_jd_client_start(null_mut(), null_mut()), NULL);
        assert_eq!(sv2_jd_client_request_token(null_mut(), null_mut(), &mut id), NULL);
        assert_eq!(sv2_jd_client_request_token(jdc, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_jd_client_tokens(null(), &mut n), NULL);
        assert_eq!(sv2_jd_client_tokens(jdc, null_mut()), NULL);
        assert_eq!(sv2_jd_client_declare(null_mut(), &msg, &msg, null(), 0, null_mut(), &mut id, &mut ready), NULL);
        assert_eq!(sv2_jd_client_declare(jdc, null(), &msg, null(), 0, null_mut(), &mut id, &mut ready), NULL);
        assert_eq!(sv2_jd_client_declare(jdc, &msg, null(), null(), 0, null_mut(), &mut id, &mut ready), NULL);
        assert_eq!(sv2_jd_client_declare(jdc, &msg, &msg, null(), 1, null_mut(), &mut id, &mut ready), NULL);
        assert_eq!(sv2_jd_client_declare(jdc, &msg, &msg, null(), 0, null_mut(), null_mut(), &mut ready), NULL);
        assert_eq!(sv2_jd_client_declare(jdc, &msg, &msg, null(), 0, null_mut(), &mut id, null_mut()), NULL);
        assert_eq!(sv2_jd_client_on_message(null_mut(), &msg, null_mut(), &mut cev), NULL);
        assert_eq!(sv2_jd_client_on_message(jdc, null(), null_mut(), &mut cev), NULL);
        assert_eq!(sv2_jd_client_on_message(jdc, &msg, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_jd_client_on_frame(null_mut(), &frame, null_mut(), &mut cev), NULL);
        assert_eq!(sv2_jd_client_on_frame(jdc, null(), null_mut(), &mut cev), NULL);
        assert_eq!(sv2_jd_client_on_frame(jdc, &frame, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_jd_client_custom_job(null(), 1, 1, &mut m), NULL);
        assert_eq!(sv2_jd_client_custom_job(jdc, 1, 1, null_mut()), NULL);
        assert_eq!(sv2_jd_client_push_solution(null_mut(), 1, null(), 0, 0, 0, 0, null_mut(), &mut b), NULL);
        assert_eq!(sv2_jd_client_push_solution(jdc, 1, null(), 1, 0, 0, 0, null_mut(), &mut b), NULL);
        assert_eq!(sv2_jd_client_push_solution(jdc, 1, null(), 0, 0, 0, 0, null_mut(), null_mut()), NULL);
        assert_eq!(sv2_jd_client_pending_output(null(), &mut data, &mut len), NULL);
        assert_eq!(sv2_jd_client_pending_output(jdc, null_mut(), &mut len), NULL);
        assert_eq!(sv2_jd_client_pending_output(jdc, &mut data, null_mut()), NULL);
        assert_eq!(sv2_jd_client_consume_output(null_mut(), 1), NULL);
        sv2_jd_client_free(jdc);
        sv2_jd_client_free(null_mut());
    }
    assert_eq!((n, id, ready, len, b.len), (12345, 12345, false, 12345, 12345), "out-parameters untouched");
}

#[test]
fn every_exported_function_is_in_this_test() {
    let header = include_str!("../../include/sv2.h");
    let this = include_str!("null_arguments.rs");
    let mut n = 0;
    for line in header.lines().filter(|l| !l.starts_with("//") && !l.starts_with(' ')) {
        let Some(open) = line.find('(') else { continue };
        let Some(name) = line[..open].rsplit([' ', '*']).next().filter(|w| w.starts_with("sv2_")) else { continue };
        n += 1;
        assert!(this.contains(&format!("{name}(")), "{name} is not tried with NULL here");
    }
    assert!(n >= 85, "found only {n} functions in the header");
}
