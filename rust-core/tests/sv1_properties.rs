//! Property tests of the SV1 code: any bytes in any chunking never panic a session or the
//! parsers, line framing does not depend on chunking, and every message the encoders write
//! parses back to itself.

use proptest::prelude::*;
use sv2::sv1::client::{Call, ClientMessage, Configure, Request, Submit, VersionRolling};
use sv2::sv1::framing::LineDecoder;
use sv2::sv1::server::{Notify, Response, RpcError, ServerMessage};
use sv2::sv1::session::{Event, Session, SessionConfig, Upstream, Verdict};
use sv2::sv1::Id;

/// Lines that look like Stratum (known methods, plausible params, broken variants), so that
/// the session's handlers are reached, not only the JSON parser's errors.
fn stratum_line() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![
        Just("mining.configure"),
        Just("mining.subscribe"),
        Just("mining.authorize"),
        Just("mining.submit"),
        Just("mining.suggest_difficulty"),
        Just("mining.extranonce.subscribe"),
        Just("mining.multi_version"),
        Just("x"),
    ];
    let param = prop_oneof![
        Just("\"u\"".to_string()),
        Just("\"1\"".to_string()),
        Just("\"00000000\"".to_string()),
        Just("\"0000000000000000\"".to_string()),
        Just("[\"version-rolling\"]".to_string()),
        Just("{\"version-rolling.mask\":\"ffffffff\",\"version-rolling.min-bit-count\":2}".to_string()),
        Just("null".to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() { f.to_string() } else { "1".into() }),
        "[a-f0-9]{0,18}".prop_map(|s| format!("\"{s}\"")),
    ];
    let id = prop_oneof![Just("null".to_string()), any::<u32>().prop_map(|n| n.to_string()), Just("\"s\"".into())];
    (id, method, prop::collection::vec(param, 0..7), any::<bool>()).prop_map(|(id, m, params, truncate)| {
        let mut line = format!("{{\"id\":{id},\"method\":\"{m}\",\"params\":[{}]}}", params.join(",")).into_bytes();
        if truncate {
            line.truncate(line.len() / 2);
        }
        line.push(b'\n');
        line
    })
}

fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for c in cuts {
        let (a, b) = rest.split_at((*c).min(rest.len()));
        out.push(a.to_vec());
        rest = b;
    }
    out.push(rest.to_vec());
    out
}

fn lines_of(d: &mut LineDecoder, into: &mut Vec<Vec<u8>>) -> bool {
    loop {
        match d.next_line() {
            Ok(Some(l)) => into.push(l.to_vec()),
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sessions_survive_anything(
        lines in prop::collection::vec(prop_oneof![stratum_line(), prop::collection::vec(any::<u8>(), 0..64)], 0..24),
        cuts in prop::collection::vec(0usize..64, 0..8),
        ready_early in any::<bool>(),
    ) {
        let stream = lines.concat();
        let config = SessionConfig { max_line: 256, max_queued: 8, ..SessionConfig::default() };
        let mut s = Session::new(config, 0);
        let up = Upstream { extranonce1: vec![1, 2], extranonce2_size: 8, version_mask: 0x1fff_e000 };
        if ready_early {
            s.set_upstream(up.clone(), 0).unwrap();
        }
        let job = sv2::sv1::session::Sv1Job {
            job_id: 1, prev_hash: [0; 32], coinb1: vec![1], coinb2: vec![2], merkle_branch: vec![],
            version: 0x2000_0000, nbits: 0x207f_ffff, ntime: 1,
        };
        s.notify(job, true, 0);
        let mut failed = false;
        for (now, chunk) in chunked(&stream, &cuts).iter().enumerate() {
            if s.receive(chunk, now as u64).is_err() {
                failed = true;
                break;
            }
            while let Some(e) = s.next_event() {
                if let Event::Share { ticket, share } = e {
                    prop_assert_eq!(share.extranonce2.len(), 8);
                    s.answer_share(ticket, Verdict::Accepted, now as u64);
                }
            }
            s.tick(now as u64);
        }
        if !ready_early && !failed {
            s.set_upstream(up, 100).unwrap();
        }
        // Whatever was written is whole lines of JSON.
        let out = s.take_output();
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            prop_assert!(ServerMessage::parse(line).is_ok(), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn framing_does_not_depend_on_chunking(
        stream in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..400),
        cuts in prop::collection::vec(0usize..50, 0..10),
        max in 0usize..40,
    ) {
        let mut whole = LineDecoder::new(max);
        let whole_ok = whole.push(&stream).is_ok();
        let mut expected = Vec::new();
        let whole_clean = lines_of(&mut whole, &mut expected) && whole_ok;

        let mut d = LineDecoder::new(max);
        let mut got = Vec::new();
        let mut clean = true;
        for chunk in chunked(&stream, &cuts) {
            let pushed = d.push(&chunk).is_ok();
            if !lines_of(&mut d, &mut got) || !pushed {
                clean = false;
                lines_of(&mut d, &mut got);
                break;
            }
        }
        prop_assert_eq!(&got, &expected);
        prop_assert_eq!(clean, whole_clean);
        prop_assert!(got.iter().all(|l| l.len() <= max && !l.is_empty()));
        // Once every complete line is taken, at most one partial line is held.
        if clean {
            prop_assert!(d.buffered() <= max + 1, "{} buffered", d.buffered());
        }
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = ClientMessage::parse(&bytes);
        let _ = ServerMessage::parse(&bytes);
    }

    #[test]
    fn client_messages_round_trip(
        id in prop_oneof![Just(Id::Null), any::<u64>().prop_map(Id::from), "[a-z0-9 \"\\\\]{0,8}".prop_map(Id::String)],
        worker in "[ -~]{0,20}",
        en2 in prop::collection::vec(any::<u8>(), 0..=32),
        words in any::<(u32, u32, u32)>(),
        bits in prop::option::of(any::<u32>()),
        min_bits in prop::option::of(0u32..32),
        d in 1e-9f64..1e15,
        which in 0usize..7,
    ) {
        let call = match which {
            0 => Call::Configure(Configure {
                extensions: vec!["version-rolling".into()],
                version_rolling: Some(VersionRolling { mask: words.0, min_bit_count: min_bits }),
                minimum_difficulty: None,
            }),
            1 => Call::Subscribe { user_agent: Some(worker.clone()), session_id: bits.map(|b| format!("{b:x}")) },
            2 => Call::Authorize { user: worker.clone(), password: Some("x".into()) },
            3 => Call::Submit(Submit {
                worker: worker.clone(), job_id: format!("{:x}", words.0), extranonce2: en2,
                ntime: words.1, nonce: words.2, version_bits: bits,
            }),
            4 => Call::SuggestDifficulty(d),
            5 => Call::ExtranonceSubscribe,
            _ => Call::Other { method: worker.clone(), params: serde_json::json!([worker, d]) },
        };
        let m = ClientMessage::Request(Request { id, call });
        let mut out = Vec::new();
        m.write_line(&mut out);
        prop_assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        prop_assert_eq!(ClientMessage::parse(&out[..out.len() - 1]).unwrap(), m);
    }

    #[test]
    fn server_messages_round_trip(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        hash in any::<[u8; 32]>(),
        branch in prop::collection::vec(any::<[u8; 32]>(), 0..14),
        words in any::<(u32, u32, u32)>(),
        clean in any::<bool>(),
        d in 1e-9f64..1e15,
        code in any::<i32>(),
        text in "[ -~]{0,20}",
        which in 0usize..5,
    ) {
        let m = match which {
            0 => ServerMessage::Notify(Notify {
                job_id: text.clone(), prev_hash: hash, coinb1: bytes.clone(), coinb2: bytes.clone(),
                merkle_branch: branch, version: words.0, nbits: words.1, ntime: words.2, clean_jobs: clean,
            }),
            1 => ServerMessage::SetDifficulty(d),
            2 => ServerMessage::SetExtranonce { extranonce1: bytes[..bytes.len().min(32)].to_vec(), extranonce2_size: 8 },
            3 => ServerMessage::SetVersionMask(words.0),
            _ => ServerMessage::Response(Response::rejected(Id::from(u64::from(words.0)), RpcError::new(code.into(), text))),
        };
        let mut out = Vec::new();
        m.write_line(&mut out);
        prop_assert_eq!(ServerMessage::parse(&out[..out.len() - 1]).unwrap(), m);
    }
}
