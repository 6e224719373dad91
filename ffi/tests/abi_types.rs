//! The C types of the ABI: a struct field that libsv2 reads from C must accept every byte C can
//! leave in it. A Rust `bool` holding anything but 0 or 1 is undefined behaviour, so such
//! fields are `sv2_bool` (a `uint8_t`: 0 false, anything else true); `bool` stays only in
//! structs libsv2 writes and C reads.

use sv2_ffi::messages::*;
use sv2_ffi::sv2_result::Ok as OK;

/// (struct, field) of every `bool` field in include/sv2.h.
fn bool_fields() -> Vec<(String, String)> {
    let header = include_str!("../../include/sv2.h");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in header.lines() {
        if let Some(name) = line.strip_prefix("typedef struct ").and_then(|r| r.strip_suffix(" {")) {
            current = Some(name.to_string());
        } else if line.starts_with('}') {
            current = None;
        } else if let (Some(s), Some(field)) = (&current, line.trim().strip_prefix("bool ")) {
            out.push((s.clone(), field.trim_end_matches(';').to_string()));
        }
    }
    out
}

#[test]
fn only_structs_libsv2_writes_have_bool_fields() {
    let found = bool_fields();
    let written_only = [
        ("sv2_frame", "channel_msg"),
        ("sv2_template_job", "new_tip"),
        ("sv2_accepted_share", "block"),
        ("sv2_client_event", "has_tag"),
        ("sv2_jd_server_event", "full_template"),
    ];
    let unexpected: Vec<_> = found.iter().filter(|(s, f)| !written_only.contains(&(s.as_str(), f.as_str()))).collect();
    assert!(unexpected.is_empty(), "bool fields libsv2 reads from C: {unexpected:?}");
}

#[test]
fn any_nonzero_byte_is_true() {
    // C code that sets a flag from a bit mask or leaves memset bytes behind: 0x80, 0xff.
    for byte in [0u8, 1, 2, 0x80, 0xff] {
        let mut m = unsafe { std::mem::zeroed::<sv2_message>() };
        m.msg_type = SV2_MSG_NEW_TEMPLATE;
        unsafe {
            let t = &mut m.body.new_template;
            std::ptr::write(std::ptr::addr_of_mut!(t.future_template).cast::<u8>(), byte);
        }
        let mut buf = [0u8; 256];
        let mut n = 0;
        assert_eq!(unsafe { sv2_message_encode(&m, buf.as_mut_ptr(), buf.len(), &mut n) }, OK);
        // future_template follows the U64 template_id.
        assert_eq!(buf[8], u8::from(byte != 0), "byte {byte:#x}");
    }
}
