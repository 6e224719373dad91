//! The SV1 server session driven as a translator drives it, fed the bytes real firmware sends:
//! Bitaxe-style pipelining before the upstream is ready, cgminer without mining.configure,
//! unknown methods, malformed JSON, a 1 MiB line, and shares built from `mining.notify` the
//! way a device builds them, validated by the SV2 channel code to the header hash the SV2
//! side computes (and to Bitcoin block 1's hash as a known vector).

use std::sync::Arc;

use bitcoin::hashes::{sha256d, Hash as _};
use serde_json::{json, Value};
use sv2::channels::client::ClientChannel;
use sv2::channels::coinbase::{serialize_output, CoinbaseParts, CoinbaseSpec};
use sv2::channels::server::{ChannelKind, Job, PrevHash, ServerChannel};
use sv2::channels::target::{hash_meets_target, target_for_difficulty, target_from_nbits, MAX_TARGET};
use sv2::channels::vardiff::Vardiff;
use sv2::channels::{ShareError, VERSION_ROLLING_MASK};
use sv2::sv1::session::{
    Event, Session, SessionConfig, SessionError, ShareTicket, Sv1Job, Sv1Share, Upstream, Verdict,
};
use sv2::sv1::{codes, ParseError};
use sv2::Message;

const REGTEST_NBITS: u32 = 0x207f_ffff;
const NTIME: u32 = 1_700_000_000;

/// Every line of `out` as JSON.
fn lines(out: &[u8]) -> Vec<Value> {
    out.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
}

fn upstream(extranonce2_size: usize) -> Upstream {
    Upstream { extranonce1: vec![0xe1, 0x00, 0x00, 0x07], extranonce2_size, version_mask: VERSION_ROLLING_MASK }
}

/// A regtest job with a witness commitment and a two-level merkle path, its hole sized for
/// the device's extranonce1 and extranonce2.
fn channel_job(extranonce_len: usize) -> Arc<Job> {
    let mut commitment = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    commitment.extend_from_slice(&[3; 32]);
    let template_outputs = serialize_output(0, &commitment);
    let pool_output = serialize_output(50 * 100_000_000, &[0x51]);
    let coinbase = CoinbaseSpec {
        version: 2,
        script_prefix: &[0x01, 0x65],
        tag: b"/libsv2/",
        sequence: 0xffff_ffff,
        pool_outputs: &pool_output,
        pool_outputs_count: 1,
        template_outputs: &template_outputs,
        template_outputs_count: 1,
        locktime: 0,
        extranonce_len,
    }
    .build()
    .unwrap();
    Arc::new(Job {
        template_id: Some(1),
        version: 0x2000_0000,
        version_rolling_allowed: true,
        coinbase,
        merkle_path: vec![[1; 32], [2; 32]],
    })
}

fn regtest_prev() -> PrevHash {
    let mut prev_hash = [0u8; 32];
    for (i, b) in prev_hash.iter_mut().enumerate() {
        *b = i as u8;
    }
    PrevHash { prev_hash, nbits: REGTEST_NBITS, min_ntime: NTIME, block_target: target_from_nbits(REGTEST_NBITS) }
}

/// The per-device channel a translator validates with: the device's extranonce1 as prefix,
/// its extranonce2 as the rolled part, and the easiest target the session may give.
fn device_channel(up: &Upstream, easiest: [u8; 32]) -> ServerChannel {
    ServerChannel::new(
        7,
        ChannelKind::Extended { extranonce_size: up.extranonce2_size as u16 },
        "user.rig",
        up.extranonce1.clone(),
        easiest,
        MAX_TARGET,
        Vardiff::new(10.0, 60, 0),
    )
}

/// What firmware does with `mining.notify`: the 80-byte header for its extranonces, nTime,
/// nonce and version, computed from the JSON text alone.
fn firmware_header(notify: &Value, en1: &[u8], en2: &[u8], ntime: u32, nonce: u32, version: u32) -> [u8; 80] {
    let p = notify["params"].as_array().unwrap();
    let h = |i: usize| hex::decode(p[i].as_str().unwrap()).unwrap();
    let be = |i: usize| u32::from_str_radix(p[i].as_str().unwrap(), 16).unwrap();
    let coinbase = [h(2), en1.to_vec(), en2.to_vec(), h(3)].concat();
    let mut root = sha256d::Hash::hash(&coinbase).to_byte_array();
    for b in p[4].as_array().unwrap() {
        let sibling = hex::decode(b.as_str().unwrap()).unwrap();
        root = sha256d::Hash::hash(&[&root[..], &sibling].concat()).to_byte_array();
    }
    // The classic quirk: the previous hash comes with each 4-byte word byte-swapped.
    let prev: Vec<u8> = h(1).chunks(4).flat_map(|w| w.iter().rev().copied().collect::<Vec<_>>()).collect();
    let mut header = [0u8; 80];
    header[..4].copy_from_slice(&version.to_le_bytes());
    header[4..36].copy_from_slice(&prev);
    header[36..68].copy_from_slice(&root);
    header[68..72].copy_from_slice(&ntime.to_le_bytes());
    header[72..76].copy_from_slice(&be(6).to_le_bytes());
    header[76..].copy_from_slice(&nonce.to_le_bytes());
    header
}

fn take_share(session: &mut Session) -> (ShareTicket, Sv1Share) {
    loop {
        match session.next_event() {
            Some(Event::Share { ticket, share }) => return (ticket, share),
            Some(_) => continue,
            None => panic!("no share event"),
        }
    }
}

fn drain_events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.next_event()).collect()
}

fn submit_line(id: u64, worker: &str, job_id: &str, en2: &[u8], ntime: u32, nonce: u32, bits: Option<u32>) -> String {
    let mut params = vec![
        json!(worker),
        json!(job_id),
        json!(hex::encode(en2)),
        json!(format!("{ntime:08x}")),
        json!(format!("{nonce:08x}")),
    ];
    if let Some(b) = bits {
        params.push(json!(format!("{b:08x}")));
    }
    format!("{}\n", json!({"id": id, "method": "mining.submit", "params": params}))
}

#[test]
fn bitaxe_pipelines_before_the_upstream_is_ready_and_is_answered_in_order() {
    let mut s = Session::new(SessionConfig::default(), 0);
    // ESP-Miner writes these back to back, without waiting for answers.
    let burst = concat!(
        r#"{"id": 1, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff"}]}"#,
        "\n",
        r#"{"id": 2, "method": "mining.subscribe", "params": ["bitaxe/BM1370/v2.5.0"]}"#,
        "\n",
        r#"{"id": 3, "method": "mining.authorize", "params": ["bc1qexample.bitaxe", "x"]}"#,
        "\n",
        r#"{"id": 4, "method": "mining.suggest_difficulty", "params": [1000]}"#,
        "\n",
        r#"{"id": 5, "method": "mining.extranonce.subscribe", "params": []}"#,
        "\r\n",
    );
    // Split mid-line, as TCP may.
    s.receive(&burst.as_bytes()[..100], 0).unwrap();
    s.receive(&burst.as_bytes()[100..], 0).unwrap();
    assert!(s.take_output().is_empty(), "nothing is answered before the upstream is ready");
    assert_eq!(s.queued(), 5);
    assert_eq!(s.queued_worker(), Some("bc1qexample.bitaxe"), "a translator can open the channel under it");
    let job = Sv1Job::from_channel_job(11, &channel_job(12), &regtest_prev());
    s.notify(job, true, 0);
    assert!(s.take_output().is_empty());

    let up = upstream(8);
    s.set_upstream(up.clone(), 1).unwrap();
    assert_eq!((s.queued(), s.queued_worker()), (0, None));
    let out = lines(&s.take_output());
    let ids: Vec<&Value> = out.iter().map(|l| &l["id"]).collect();
    assert_eq!(ids, [&json!(1), &json!(2), &json!(3), &json!(4), &json!(5), &Value::Null, &Value::Null]);
    assert_eq!(out[0]["result"], json!({"version-rolling": true, "version-rolling.mask": "1fffffe0"}));
    assert_eq!(
        out[1]["result"],
        json!([[["mining.set_difficulty", "e1000007"], ["mining.notify", "e1000007"]], "e1000007", 8])
    );
    assert_eq!(out[2]["result"], json!(true));
    assert_eq!(out[3]["result"], json!(true));
    assert_eq!(out[4]["result"], json!(true));
    // The suggestion applies to the first job: an integer difficulty, then the job.
    assert_eq!(out[5], json!({"id": null, "method": "mining.set_difficulty", "params": [1000]}));
    assert_eq!(out[6]["method"], "mining.notify");
    assert_eq!(out[6]["params"][8], json!(true));
    assert!(s.extranonce_subscribed());
    assert_eq!(s.version_mask(), VERSION_ROLLING_MASK);

    let events = drain_events(&mut s);
    assert!(matches!(&events[0], Event::Subscribed { user_agent: Some(ua), .. } if ua.starts_with("bitaxe")));
    assert!(matches!(&events[1], Event::Authorized { worker } if worker == "bc1qexample.bitaxe"));
    assert!(matches!(events[2], Event::DifficultyChanged { difficulty, .. } if difficulty == 1000.0));

    // The extranonce can move (failover) for a device that subscribed to it.
    assert_eq!(s.set_extranonce(&[9, 9, 9, 9], 8), Ok(true));
    let out = lines(&s.take_output());
    assert_eq!(out[0], json!({"id": null, "method": "mining.set_extranonce", "params": ["09090909", 8]}));
}

#[test]
fn cgminer_without_configure_mines_with_a_fixed_version() {
    let mut s = Session::new(SessionConfig::default(), 0);
    let up = upstream(4);
    s.set_upstream(up.clone(), 0).unwrap();
    s.receive(b"{\"id\":\"sub\",\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.12.1\"]}\n", 0).unwrap();
    let out = lines(&s.take_output());
    assert_eq!(out[0]["id"], "sub");
    assert_eq!(out[0]["result"][2], 4);
    s.receive(b"{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"user.rig\",\"\"]}\n", 0).unwrap();
    assert_eq!(lines(&s.take_output())[0]["result"], true);
    // No job yet: nothing to mine.
    assert!(!s.is_mining());
    let job = channel_job(8);
    s.notify(Sv1Job::from_channel_job(3, &job, &regtest_prev()), true, 0);
    let out = lines(&s.take_output());
    assert_eq!(out[0]["method"], "mining.set_difficulty");
    assert_eq!(out[0]["params"], json!([1024]));
    let job_id = out[1]["params"][0].as_str().unwrap().to_string();

    // Five params: the job's version.
    s.receive(submit_line(10, "user.rig", &job_id, &[0, 0, 0, 1], NTIME, 5, None).as_bytes(), 0).unwrap();
    let (ticket, share) = take_share(&mut s);
    assert_eq!(
        (share.job_id, share.version, share.nonce, share.extranonce2.clone()),
        (3, 0x2000_0000, 5, vec![0, 0, 0, 1])
    );
    s.answer_share(ticket, Verdict::Accepted, 0);
    assert_eq!(lines(&s.take_output())[0], json!({"id": 10, "result": true, "error": null}));

    // Rolled bits without a grant, a wrong extranonce2 size, an unknown worker, an unknown
    // job: each answered false with a reason.
    let cases = [
        (submit_line(11, "user.rig", &job_id, &[0; 4], NTIME, 6, Some(0x0000_2000)), codes::OTHER),
        (submit_line(12, "user.rig", &job_id, &[0; 5], NTIME, 6, None), codes::OTHER),
        (submit_line(13, "someone.else", &job_id, &[0; 4], NTIME, 6, None), codes::UNAUTHORIZED),
        (submit_line(14, "user.rig", "ffff", &[0; 4], NTIME, 6, None), codes::JOB_NOT_FOUND),
    ];
    for (line, code) in cases {
        s.receive(line.as_bytes(), 0).unwrap();
        let out = lines(&s.take_output());
        assert_eq!(out[0]["result"], false, "{line}");
        assert_eq!(out[0]["error"][0], code, "{line}");
    }
    // Rolling nothing (bits equal to the job's) is fine without a grant.
    s.receive(submit_line(15, "user.rig", &job_id, &[0; 4], NTIME, 6, Some(0)).as_bytes(), 0).unwrap();
    assert_eq!(take_share(&mut s).1.version, 0x2000_0000);
    assert_eq!(s.stats().shares_rejected, 4);
}

#[test]
fn unknown_methods_and_bad_params_are_answered_and_null_ids_are_not() {
    let mut s = Session::new(SessionConfig::default(), 0);
    s.set_upstream(upstream(8), 0).unwrap();
    let input = concat!(
        "{\"id\":9,\"method\":\"mining.foo\",\"params\":[]}\n",
        "{\"id\":10,\"method\":\"mining.multi_version\",\"params\":[1]}\n",
        "{\"id\":11,\"method\":\"mining.submit\",\"params\":[\"w\",\"1\",\"zz\",\"0\",\"0\"]}\n",
        "{\"id\":null,\"method\":\"mining.foo\",\"params\":[]}\n",
        "{\"id\":12,\"method\":\"mining.get_transactions\",\"params\":[\"1\"]}\n",
        "{\"id\":13,\"method\":\"mining.configure\",\"params\":[[\"subscribe-extranonce\",\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\",\"version-rolling.min-bit-count\":20}]}\n",
        "{\"id\":14,\"result\":\"cgminer/4.12.1\",\"error\":null}\n",
    );
    s.receive(input.as_bytes(), 0).unwrap();
    let out = lines(&s.take_output());
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], json!({"id": 9, "result": null, "error": [20, "Unknown method", null]}));
    assert_eq!(out[1]["result"], true);
    assert_eq!(out[2]["id"], 11);
    assert_eq!(out[2]["error"][0], codes::OTHER);
    assert_eq!(out[3]["result"], json!([]));
    // 16 bits granted, 20 asked: refused, with both keys present.
    assert_eq!(
        out[4]["result"],
        json!({"subscribe-extranonce": false, "version-rolling": false, "version-rolling.mask": "00000000"})
    );
    // min-bit-count met: granted.
    s.receive(b"{\"id\":15,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\",\"version-rolling.min-bit-count\":16}]}\n", 0).unwrap();
    assert_eq!(lines(&s.take_output())[0]["result"]["version-rolling.mask"], "1fffe000");
    // The upstream narrows its permission: the device hears the new mask.
    // The upstream narrows its permission below the device's 16 bits: rolling is withdrawn.
    s.set_upstream_version_mask(0x0000_e000);
    assert_eq!(
        lines(&s.take_output())[0],
        json!({"id": null, "method": "mining.set_version_mask", "params": ["00000000"]})
    );
    assert_eq!(s.version_mask(), 0);
}

#[test]
fn malformed_json_closes_that_session_and_others_go_on() {
    let mut bad = Session::new(SessionConfig::default(), 0);
    let mut good = Session::new(SessionConfig::default(), 0);
    for s in [&mut bad, &mut good] {
        s.set_upstream(upstream(8), 0).unwrap();
    }
    let err = bad
        .receive(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.auth", 0)
        .and_then(|_| bad.receive(b"orize\",\"params\":[\"a\"]\n", 0))
        .unwrap_err();
    assert!(matches!(err, SessionError::Malformed(ParseError::Json(_))), "{err:?}");
    // The parse error is the session error's source.
    let source = std::error::Error::source(&err).map(|e| e.to_string());
    assert!(source.is_some_and(|s| s.starts_with("malformed JSON")), "{err:?}");
    // The line before the bad one was answered; the session stays failed.
    assert_eq!(lines(&bad.take_output())[0]["id"], 1);
    assert_eq!(bad.receive(b"{\"id\":3,\"method\":\"mining.ping\"}\n", 0), Err(err));
    for garbage in [&b"[1,2,3]\n"[..], b"\"hello\"\n", b"{\"method\":7}\n", b"\xff\xfe\n"] {
        let mut s = Session::new(SessionConfig::default(), 0);
        assert!(matches!(s.receive(garbage, 0), Err(SessionError::Malformed(_))), "{garbage:?}");
    }
    good.receive(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n", 0).unwrap();
    assert_eq!(lines(&good.take_output())[0]["id"], 1);
}

#[test]
fn a_one_mib_line_fails_at_the_limit_not_at_its_end() {
    let mut s = Session::new(SessionConfig::default(), 0);
    s.set_upstream(upstream(8), 0).unwrap();
    s.receive(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n", 0).unwrap();
    let mut line = b"{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"".to_vec();
    line.resize(1 << 20, b'a');
    let mut failed_after = None;
    for (i, chunk) in line.chunks(4096).enumerate() {
        if let Err(e) = s.receive(chunk, 0) {
            assert!(matches!(e, SessionError::LineTooLong(_)));
            failed_after = Some((i + 1) * 4096);
            break;
        }
    }
    let failed_after = failed_after.expect("the line was refused");
    assert!(failed_after <= 16 * 1024 + 4096, "refused after {failed_after} bytes");
    assert_eq!(lines(&s.take_output()).len(), 1);
}

#[test]
fn too_many_requests_before_the_upstream_close_the_connection() {
    let mut s = Session::new(SessionConfig { max_queued: 4, ..SessionConfig::default() }, 0);
    let ping = "{\"id\":1,\"method\":\"mining.ping\"}\n";
    s.receive(ping.repeat(4).as_bytes(), 0).unwrap();
    assert_eq!(s.receive(ping.as_bytes(), 0), Err(SessionError::TooManyQueued));
}

/// Bitcoin block 1 delivered as an SV1 job (its scriptSig split into extranonce1 and
/// extranonce2), mined by a device that found block 1's nonce, and validated by the
/// channel code to block 1's hash.
#[test]
fn block_one_through_notify_submit_and_channel_validation() {
    let coinbase = hex::decode(concat!(
        "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff07",
        "04ffff001d0104ffffffff0100f2052a0100000043410496b538e853519c726a2c91e61ec11600ae1390",
        "813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e62294721166bf621e73a82cbf2342c8",
        "58eeac00000000"
    ))
    .unwrap();
    // The scriptSig "04ffff001d0104": push opcode in coinb1, then 4 bytes of extranonce1 and
    // 2 of extranonce2.
    let (coinb1, rest) = coinbase.split_at(43);
    let (en1, rest) = rest.split_at(4);
    let (en2, coinb2) = rest.split_at(2);
    assert_eq!((en1, en2), (&[0xff, 0xff, 0x00, 0x1d][..], &[0x01, 0x04][..]));
    let mut genesis = hex::decode("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f").unwrap();
    genesis.reverse();
    let prev = PrevHash {
        prev_hash: genesis.try_into().unwrap(),
        nbits: 0x1d00_ffff,
        min_ntime: 1_231_469_665,
        block_target: target_from_nbits(0x1d00_ffff),
    };
    let job = Arc::new(Job {
        template_id: None,
        version: 1,
        version_rolling_allowed: true,
        coinbase: CoinbaseParts { prefix: coinb1.to_vec(), suffix: coinb2.to_vec(), segwit: false, extranonce_len: 6 },
        merkle_path: vec![],
    });
    let up = Upstream { extranonce1: en1.to_vec(), extranonce2_size: 2, version_mask: VERSION_ROLLING_MASK };
    let mut channel = device_channel(&up, target_for_difficulty(1.0));
    channel.add_job(1, job.clone(), None).unwrap();
    channel.activate(1, prev).unwrap();

    let mut s = Session::new(SessionConfig { initial_difficulty: 1.0, vardiff: None, ..SessionConfig::default() }, 0);
    s.set_upstream(up, 0).unwrap();
    s.receive(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"satoshi\",\"\"]}\n", 0).unwrap();
    s.notify(Sv1Job::from_channel_job(1, &job, &prev), true, 0);
    let out = lines(&s.take_output());
    let notify = out.iter().find(|l| l["method"] == "mining.notify").unwrap();
    assert_eq!(notify["params"][1], "0a8ce26f72b3f1b646a2a6c14ff763ae65831e939c085ae10019d66800000000");

    let nonce = 2_573_394_689;
    let header = firmware_header(notify, en1, en2, prev.min_ntime, nonce, 1);
    let mut device_hash = sha256d::Hash::hash(&header).to_byte_array();
    device_hash.reverse();
    assert_eq!(hex::encode(device_hash), "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048");

    let job_id = notify["params"][0].as_str().unwrap();
    s.receive(submit_line(3, "satoshi", job_id, en2, prev.min_ntime, nonce, None).as_bytes(), 0).unwrap();
    let (ticket, share) = take_share(&mut s);
    let validated = channel.validate(&share.as_share(), 0, prev.min_ntime);
    let block = validated.as_ref().unwrap().block.clone().expect("block 1 meets its own nbits");
    let mut hash = block.hash();
    hash.reverse();
    assert_eq!(hash.to_vec(), device_hash);
    assert_eq!(block.coinbase, coinbase);
    assert_eq!(share.verdict(&validated), Verdict::Accepted);
    s.answer_share(ticket, share.verdict(&validated), 0);
    assert_eq!(lines(&s.take_output())[0]["result"], true);
}

/// A device mining an SV2 job through the session: the header it builds from the notify
/// line, the hash the channel validates, and the hash an SV2 client on the same extended
/// job computes are one and the same; rolled version bits arrive in both BIP310 forms;
/// duplicates, stale jobs and low-difficulty shares are answered false with their code.
#[test]
fn shares_from_notify_validate_to_the_sv2_header_hash() {
    let up = upstream(4);
    let job = channel_job(up.extranonce1.len() + up.extranonce2_size);
    // Blocks at difficulty 1, so that the device's easy shares are shares, not blocks.
    let prev = PrevHash { block_target: target_for_difficulty(1.0), ..regtest_prev() };
    let config = SessionConfig { min_difficulty: 1e-5, initial_difficulty: 1e-5, vardiff: None, ..Default::default() };
    let easiest = target_for_difficulty(config.min_difficulty);
    let mut channel = device_channel(&up, easiest);
    channel.add_job(21, job.clone(), None).unwrap();
    // The SV2 view of the same work: an extended channel client with the same prefix.
    let mut sv2_client = ClientChannel::extended(7, easiest, &up.extranonce1, up.extranonce2_size as u16);
    match channel.job_message(21, None).unwrap() {
        Message::NewExtendedMiningJob(m) => sv2_client.on_new_extended_job(&m),
        other => panic!("{other:?}"),
    }
    sv2_client.on_set_new_prev_hash(&channel.activate(21, prev).unwrap());

    let mut s = Session::new(config, 0);
    s.set_upstream(up.clone(), 0).unwrap();
    s.receive(concat!(
        "{\"id\":1,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\",\"version-rolling.min-bit-count\":2}]}\n",
        "{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[\"bmminer/2.0.0\", null, \"pool:3333\", null]}\n",
        "{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"user.rig\",\"x\"]}\n"
    ).as_bytes(), 0).unwrap();
    s.notify(Sv1Job::from_channel_job(21, &job, &prev), true, 0);
    let out = lines(&s.take_output());
    let notify = out.iter().find(|l| l["method"] == "mining.notify").unwrap().clone();
    let job_id = notify["params"][0].as_str().unwrap().to_string();
    let device_target = s.target();

    let en2 = [0xde, 0xad, 0xbe, 0xef];
    let rolled = 0x2000_0000 | 0x0000_6000;
    let (nonce, header) = (0u32..)
        .map(|n| (n, firmware_header(&notify, &up.extranonce1, &en2, NTIME + 5, n, rolled)))
        .find(|(_, h)| hash_meets_target(&sha256d::Hash::hash(h).to_byte_array(), &device_target))
        .unwrap();
    let device_hash = sha256d::Hash::hash(&header).to_byte_array();

    let work = sv2_client.work(&en2).unwrap();
    let sv2_header =
        sv2::channels::hash::header_bytes(rolled, &work.prev_hash, &work.merkle_root, NTIME + 5, work.nbits, nonce);
    assert_eq!(sv2_header, header, "the SV2 client builds the same header");

    // Bitmain-style: only the rolled bits.
    s.receive(submit_line(4, "user.rig", &job_id, &en2, NTIME + 5, nonce, Some(0x6000)).as_bytes(), 0).unwrap();
    let (ticket, share) = take_share(&mut s);
    assert_eq!(share.version, rolled);
    let validated = channel.validate(&share.as_share(), 0, NTIME);
    assert_eq!(validated.as_ref().unwrap().hash, device_hash);
    s.answer_share(ticket, share.verdict(&validated), 0);
    assert_eq!(lines(&s.take_output())[0]["result"], true);

    // The whole version instead: the same share, now a duplicate.
    s.receive(submit_line(5, "user.rig", &job_id, &en2, NTIME + 5, nonce, Some(rolled)).as_bytes(), 0).unwrap();
    let (ticket, share) = take_share(&mut s);
    assert_eq!(share.version, rolled);
    let validated = channel.validate(&share.as_share(), 1, NTIME);
    assert_eq!(validated.as_ref().unwrap_err(), &ShareError::DuplicateShare);
    s.answer_share(ticket, share.verdict(&validated), 0);
    assert_eq!(lines(&s.take_output())[0]["error"][0], codes::DUPLICATE_SHARE);

    // A bit outside the granted 1fffe000 (though inside BIP323's bits).
    s.receive(submit_line(6, "user.rig", &job_id, &en2, NTIME + 5, nonce, Some(0x0000_1000)).as_bytes(), 0).unwrap();
    let out = lines(&s.take_output());
    assert_eq!((out[0]["result"].clone(), out[0]["error"][0].clone()), (json!(false), json!(codes::OTHER)));

    // A hash the channel takes but the device's (harder) target does not: low difficulty.
    s.set_difficulty(1e6, 0);
    let out = lines(&s.take_output());
    assert_eq!(out[0]["params"], json!([1_000_000]));
    let hard_job = out[1]["params"][0].as_str().unwrap().to_string();
    assert_eq!(out[1]["params"][8], false, "the job is resent at the new difficulty");
    let (nonce, _) = (0u32..)
        .map(|n| (n, firmware_header(&notify, &up.extranonce1, &en2, NTIME + 6, n, 0x2000_0000)))
        .find(|(_, h)| {
            let hash = sha256d::Hash::hash(h).to_byte_array();
            hash_meets_target(&hash, &easiest) && !hash_meets_target(&hash, &prev.block_target)
        })
        .unwrap();
    s.receive(submit_line(7, "user.rig", &hard_job, &en2, NTIME + 6, nonce, None).as_bytes(), 0).unwrap();
    let (ticket, share) = take_share(&mut s);
    let validated = channel.validate(&share.as_share(), 2, NTIME);
    assert!(validated.is_ok());
    let verdict = share.verdict(&validated);
    assert!(matches!(&verdict, Verdict::Rejected(e) if e.code == codes::LOW_DIFFICULTY));
    s.answer_share(ticket, verdict, 0);

    // A new tip voids the old jobs: "stale".
    s.notify(Sv1Job::from_channel_job(22, &job, &prev), true, 10);
    s.take_output();
    s.receive(submit_line(8, "user.rig", &job_id, &en2, NTIME + 5, nonce, None).as_bytes(), 0).unwrap();
    let out = lines(&s.take_output());
    assert_eq!(out[0]["error"], json!([codes::JOB_NOT_FOUND, "Stale share", null]));
    assert_eq!(s.stats(), sv2::sv1::session::SessionStats { requests: 8, shares_accepted: 1, shares_rejected: 4 });
}

#[test]
fn idle_devices_get_a_keepalive_job_with_a_later_ntime() {
    let mut s = Session::new(SessionConfig { keepalive_secs: 60, ..SessionConfig::default() }, 0);
    s.set_upstream(upstream(8), 0).unwrap();
    s.receive(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"u\",\"\"]}\n", 0).unwrap();
    assert!(!s.keepalive_due(1000), "nothing to resend before a job");
    s.notify(Sv1Job::from_channel_job(1, &channel_job(12), &regtest_prev()), true, 100);
    let first = lines(&s.take_output()).pop().unwrap();
    assert!(!s.keepalive_due(159));
    assert!(s.keepalive_due(160));
    assert!(s.resend_job(NTIME + 60, 160));
    let again = lines(&s.take_output()).pop().unwrap();
    assert!(!s.keepalive_due(161));
    assert_ne!(again["params"][0], first["params"][0], "a new job id, so firmware does not ignore it");
    assert_eq!(again["params"][7], format!("{:08x}", NTIME + 60));
    assert_eq!(again["params"][8], false);
    assert_eq!(again["params"][2], first["params"][2], "the same work");
    // The earlier job still takes shares.
    let old = first["params"][0].as_str().unwrap();
    s.receive(submit_line(3, "u", old, &[0; 8], NTIME, 1, None).as_bytes(), 200).unwrap();
    assert!(matches!(drain_events(&mut s).last(), Some(Event::Share { .. })));
}

/// Vardiff holds the configured rate for devices from 10 GH/s to 500 TH/s, starting from
/// the default difficulty, with integer difficulties. Shares arrive at the rate the
/// difficulty implies (deterministically: every whole expected share is submitted).
#[test]
fn vardiff_holds_the_share_rate_from_10_ghs_to_500_ths() {
    for hashrate in [1e10, 1e12, 1e14, 5e14] {
        let config = SessionConfig::default();
        let aim = config.vardiff.unwrap().shares_per_minute;
        let mut s = Session::new(config, 0);
        s.set_upstream(upstream(8), 0).unwrap();
        s.receive(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"u\",\"\"]}\n", 0).unwrap();
        s.notify(Sv1Job::from_channel_job(1, &channel_job(12), &regtest_prev()), true, 0);
        let mut job_id = String::new();
        let mut pending = 0.0;
        let mut shares_last_ten_minutes = 0;
        let minutes = 40;
        let latest_job = |s: &mut Session, job_id: &mut String| {
            for l in lines(&s.take_output()) {
                if l["method"] == "mining.notify" {
                    *job_id = l["params"][0].as_str().unwrap().to_string();
                }
            }
        };
        for now in 1..=minutes * 60 {
            latest_job(&mut s, &mut job_id);
            pending += hashrate / (s.difficulty() * 2f64.powi(32));
            while pending >= 1.0 {
                pending -= 1.0;
                s.receive(submit_line(3, "u", &job_id, &[0; 8], NTIME, 0, None).as_bytes(), now).unwrap();
                let (ticket, share) = take_share(&mut s);
                assert_eq!(share.difficulty, s.difficulty());
                s.answer_share(ticket, Verdict::Accepted, now);
                latest_job(&mut s, &mut job_id);
                if now > (minutes - 10) * 60 {
                    shares_last_ten_minutes += 1;
                }
            }
            s.tick(now);
            assert!(s.difficulty().fract() == 0.0 && s.difficulty() >= 1.0);
        }
        let rate = f64::from(shares_last_ten_minutes) / 10.0;
        assert!((aim / 2.0..=aim * 2.0).contains(&rate), "{hashrate} h/s: {rate} shares/min at {}", s.difficulty());
    }
}

#[test]
fn extranonce_changes_need_the_subscription() {
    let mut s = Session::new(SessionConfig::default(), 0);
    assert_eq!(s.set_extranonce(&[1], 4), Err(SessionError::NotReady));
    s.set_upstream(upstream(8), 0).unwrap();
    assert_eq!(s.set_upstream(upstream(8), 0), Err(SessionError::AlreadyReady));
    assert_eq!(s.set_extranonce(&[1], 9), Err(SessionError::InvalidExtranonce));
    assert_eq!(s.set_extranonce(&[1], 4), Ok(true), "before subscribe: taken silently");
    s.receive(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n", 0).unwrap();
    assert_eq!(lines(&s.take_output())[0]["result"][1], "01");
    assert_eq!(s.set_extranonce(&[2], 4), Ok(false), "no mining.extranonce.subscribe: reconnect instead");
    s.reconnect(None, None, 0);
    assert_eq!(
        lines(&s.take_output())[0],
        json!({"id": null, "method": "client.reconnect", "params": [null, null, 0]})
    );
    let mut oversize = Session::new(SessionConfig::default(), 0);
    assert_eq!(oversize.set_upstream(upstream(9), 0), Err(SessionError::InvalidExtranonce));
}

#[test]
fn suggested_difficulty_as_a_minimum_and_in_its_bare_form() {
    use sv2::sv1::session::SuggestedDifficulty;
    let config = SessionConfig { suggested_difficulty: SuggestedDifficulty::Minimum, ..SessionConfig::default() };
    let mut s = Session::new(config, 0);
    s.set_upstream(upstream(8), 0).unwrap();
    s.receive(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"u\",\"\"]}\n", 0).unwrap();
    s.notify(Sv1Job::from_channel_job(1, &channel_job(12), &regtest_prev()), true, 0);
    s.take_output();
    // The bare-number form some firmware sends, fractional: an integer not below it.
    s.receive(b"{\"id\":3,\"method\":\"mining.suggest_difficulty\",\"params\":2048.7}\n", 0).unwrap();
    let out = lines(&s.take_output());
    assert_eq!(out[0]["result"], true);
    assert_eq!(out[1], json!({"id": null, "method": "mining.set_difficulty", "params": [2049]}));
    assert_eq!(out[2]["method"], "mining.notify");
    // Vardiff may not go below the suggestion: a silent device stays there.
    for now in (60..=600).step_by(60) {
        s.tick(now);
    }
    assert_eq!(s.difficulty(), 2049.0);
    // Asking for the same again is answered and followed by the difficulty in force.
    s.receive(b"{\"id\":4,\"method\":\"mining.suggest_difficulty\",\"params\":[0.5]}\n", 0).unwrap();
    let out = lines(&s.take_output());
    assert_eq!(out[1]["params"], json!([2049]));
}
