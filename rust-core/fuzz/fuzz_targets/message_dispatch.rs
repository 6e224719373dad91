//! `Message::decode` with arbitrary (extension_type, msg_type, payload), and with ids drawn
//! from each sub-protocol's range (Common, Mining, Job Declaration, Template Distribution,
//! extension 0x0001) so that every known message sees arbitrary payloads. Never panics; an
//! id outside the table is `UnknownMessage`, one inside it decodes to that very message.
//!
//! Input: mode, id byte, flags (bit 0: channel_msg bit), payload — or for mode 0 the raw
//! extension_type (U16), msg_type and payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv2::codec::{CodecError, CHANNEL_MSG_BIT};
use sv2::messages::{Message, Protocol, ALL_MESSAGE_IDS};
use sv2_fuzz::{bound_allocations, exercise_message, seed_corpus_dir, Input};

fuzz_target!(init: seed_corpus_dir("message_dispatch"), |data: &[u8]| {
    bound_allocations(data.len());
    let mut input = Input::new(data);
    let mode = input.u8() % 7;
    let (ext, ty, expected) = if mode == 0 {
        let ext = input.u16();
        (ext, input.u8(), None)
    } else {
        let id = input.u8();
        let ch = if input.u8() & 1 == 1 { CHANNEL_MSG_BIT } else { 0 };
        let (ext, ty, proto) = match mode {
            1 => (0, id % 0x10, Protocol::Common),
            2 => (0, 0x10 + id % 0x40, Protocol::Mining),
            3 => (0, 0x50 + id % 0x20, Protocol::JobDeclaration),
            4 => (0, 0x70 + id % 0x10, Protocol::TemplateDistribution),
            5 => (0x0001, id, Protocol::Extension(0x0001)),
            _ => {
                // A known id; its protocol is not checked.
                let (e, t, _, _) = ALL_MESSAGE_IDS[usize::from(id) % ALL_MESSAGE_IDS.len()];
                (e, t, Protocol::Common)
            }
        };
        (ext | ch, ty, (mode != 6).then_some(proto))
    };
    let payload = input.rest();

    let id = (ext & !CHANNEL_MSG_BIT, ty);
    let known = ALL_MESSAGE_IDS.iter().any(|&(e, t, _, _)| (e, t) == id);
    match Message::decode(ext, ty, payload) {
        Ok((msg, tlvs)) => {
            assert!(known, "decoded an unknown id {id:?}");
            assert_eq!((msg.extension_type(), msg.msg_type()), id);
            if let Some(proto) = expected {
                assert_eq!(msg.protocol(), proto, "{} decoded from the wrong range", msg.name());
            }
            exercise_message(&msg, &tlvs);
        }
        Err(CodecError::UnknownMessage { extension_type, msg_type }) => {
            assert!(!known, "known id {id:?} reported unknown");
            assert_eq!((extension_type, msg_type), id);
        }
        Err(e) => {
            assert!(known, "unknown id {id:?} gave {e:?} instead of UnknownMessage");
            let _ = e.to_string();
        }
    }
});
