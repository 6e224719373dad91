//! What the JDS refuses, with which code, and what closes the connection: tokens that are
//! stale, reused or another connection's; coinbases without the pool's output or paying it
//! too little; missing transactions too many, too large or not the declared ones; floods;
//! setup mismatches; solutions that make no block.

mod jd_common;

use jd_common::*;
use sv2::channels::coinbase::serialize_output;
use sv2::codec::{Bytes, Seq};
use sv2::jd::client::Declared;
use sv2::jd::coinbase::{CustomCoinbase, PoolOutputs};
use sv2::jd::server::{Event, JdError, JobDeclarator};
use sv2::messages::{
    AllocateMiningJobToken, DeclareMiningJob, ProvideMissingTransactionsSuccess, PushSolution, SetupConnection,
};
use sv2::Message;

/// One message to the JDS: its result and the messages it sent, as frames.
fn send(net: &mut Net, m: &Message<'_>) -> (Result<Event, JdError<sv2::CodecError>>, Vec<u8>) {
    let mut out = Vec::new();
    let ctx = net.ctx();
    let r = net.jds.on_message(m, &mut net.store, &net.mempool, ctx, &mut out);
    (r, out)
}

/// The code of the DeclareMiningJob.Error in `out`.
fn error_code(out: &[u8]) -> String {
    let mut code = None;
    each_message(out, |m| {
        if let Message::DeclareMiningJobError(e) = m {
            code = Some(e.error_code.as_str().unwrap().to_string());
        }
    });
    code.expect("a DeclareMiningJob.Error")
}

/// A connected full-template pair and the DeclareMiningJob frame the JDC made, not yet sent.
fn declaration(template: &Template, known: impl Fn(usize) -> bool) -> (Net, Vec<u8>) {
    let mut net = Net::new(jdc_config(true), jds_config(), template.mempool(known));
    net.connect();
    let mut out = Vec::new();
    assert!(matches!(
        net.jdc.declare(&template.msg(), &tip(), &template.tx_refs(), &mut out),
        Ok(Declared::Sent { .. })
    ));
    (net, out)
}

/// The DeclareMiningJob in `frame` with its coinbase changed by `edit`.
fn tampered(frame_bytes: &[u8], edit: impl FnOnce(&mut CustomCoinbase)) -> Vec<u8> {
    let mut result = Vec::new();
    let mut edit = Some(edit);
    each_message(frame_bytes, |m| {
        let Message::DeclareMiningJob(d) = m else { panic!("not a DeclareMiningJob") };
        let edit = edit.take().expect("one message");
        let mut cb = CustomCoinbase::parse_declared(d.coinbase_tx_prefix.as_bytes(), d.coinbase_tx_suffix.as_bytes())
            .expect("the JDC's coinbase parses");
        edit(&mut cb);
        let (prefix, suffix) = cb.declared_prefix_suffix().unwrap();
        let m = DeclareMiningJob {
            coinbase_tx_prefix: Bytes::new(&prefix).unwrap(),
            coinbase_tx_suffix: Bytes::new(&suffix).unwrap(),
            ..*d
        };
        result = frame(&m.into());
    });
    result
}

fn template() -> Template {
    Template::new((0..6).map(|i| tx(i, 72)).collect())
}

fn outputs(outs: &[(u64, &[u8])], template: &Template) -> Vec<u8> {
    let mut v = vec![(outs.len() + 1) as u8];
    for (value, script) in outs {
        v.extend_from_slice(&serialize_output(*value, script));
    }
    v.extend_from_slice(&template.outputs);
    v
}

#[test]
fn a_declaration_without_the_pool_output_is_refused() {
    let t = template();
    let (mut net, out) = declaration(&t, |_| true);
    net.send_jds(tampered(&out, |cb| cb.outputs = outputs(&[(VALUE_REMAINING, &[0x51])], &t)));
    assert_eq!(net.refused().as_deref(), Some("pool-output-missing"));
    assert_eq!(net.jds.pending_declarations(), 0);
}

#[test]
fn an_underpaid_pool_output_is_refused() {
    let t = template();
    let (mut net, out) = declaration(&t, |_| true);
    let split = outputs(&[(VALUE_REMAINING - 1, &POOL_SCRIPT), (1, &[0x51])], &t);
    net.send_jds(tampered(&out, |cb| cb.outputs = split));
    assert_eq!(net.refused().as_deref(), Some("pool-output-underpaid"));
    // A pool that lets miners keep up to 1 %: the same split is fine.
    let mut config = jds_config();
    config.pool_outputs.min_payout_ppm = 990_000;
    let (mut net, _) = declaration(&t, |_| true);
    net.jds = JobDeclarator::new(config, &mut net.store);
    let mut setup = Vec::new();
    net.jdc.start(&mut setup).unwrap();
    each_message(&setup, |m| assert!(matches!(send(&mut net, m).0, Ok(Event::SetUp { .. }))));
    assert!(net.validate_request().is_none());
    // The old token belonged to the old connection: allocate on this one.
    let mut alloc = Vec::new();
    net.jdc.request_token(&mut alloc).unwrap();
    net.send_jds(alloc);
    let mut out2 = Vec::new();
    net.jdc.declare(&t.msg(), &tip(), &t.tx_refs(), &mut out2).unwrap();
    let split = outputs(&[(VALUE_REMAINING - 1, &POOL_SCRIPT), (1, &[0x51])], &t);
    net.send_jds(tampered(&out2, |cb| cb.outputs = split));
    assert!(net.validate_request().is_some());
    // Nothing at all paid to the pool is never fine.
    let zero = outputs(&[(0, &POOL_SCRIPT), (VALUE_REMAINING, &[0x51])], &t);
    let outs: Vec<bitcoin::TxOut> = sv2::jd::coinbase::parse_counted_outputs(&zero).unwrap();
    assert_eq!(
        PoolOutputs { min_payout_ppm: 0, ..PoolOutputs::single(&POOL_SCRIPT) }.check(&outs).unwrap_err().0,
        "pool-output-underpaid"
    );
}

#[test]
fn tokens_stale_reused_or_foreign_are_refused() {
    let t = template();
    // Stale.
    let (mut net, out) = declaration(&t, |_| true);
    net.now += 601;
    net.send_jds(out);
    assert_eq!(net.refused().as_deref(), Some("invalid-mining-job-token"));

    // Reused: the same declaration twice (the first answered).
    let (mut net, out) = declaration(&t, |_| true);
    net.send_jds(out.clone());
    net.verdict(net.validate_request().unwrap(), Ok(()));
    assert!(net.declared().is_some());
    let (r, sent) = each_first(&out, |m| send(&mut net, m));
    assert!(matches!(r, Ok(Event::JobRefused { .. })));
    assert_eq!(error_code(&sent), "invalid-mining-job-token");

    // Foreign: another connection on the same store cannot spend it, and does not burn it.
    let (mut net, out) = declaration(&t, |_| true);
    let mut other = JobDeclarator::new(jds_config(), &mut net.store);
    let mut setup = Vec::new();
    net.jdc.start(&mut setup).unwrap();
    let ctx = net.ctx();
    each_message(&setup, |m| {
        other.on_message(m, &mut net.store, &net.mempool, ctx, &mut Vec::new()).unwrap();
    });
    let mut sent = Vec::new();
    each_message(&out, |m| {
        other.on_message(m, &mut net.store, &net.mempool, ctx, &mut sent).unwrap();
    });
    assert_eq!(error_code(&sent), "invalid-mining-job-token");
    net.send_jds(out);
    assert!(net.validate_request().is_some(), "the owner still can");
}

/// Calls `f` on the first message in `bytes`.
fn each_first<R>(bytes: &[u8], mut f: impl FnMut(&Message<'_>) -> R) -> R {
    let mut r = None;
    each_message(bytes, |m| {
        if r.is_none() {
            r = Some(f(m));
        }
    });
    r.unwrap()
}

#[test]
fn the_verdict_decides() {
    let t = template();
    let (mut net, out) = declaration(&t, |i| i > 2);
    net.send_jds(out);
    let id = net.validate_request().unwrap();
    net.verdict(id, Err("bad-txns-inputs-missingorspent"));
    assert_eq!(net.refused().as_deref(), Some("bad-txns-inputs-missingorspent"));
    // A second verdict for the same declaration does nothing.
    let mut out = Vec::new();
    let ctx = net.ctx();
    assert_eq!(net.jds.on_verdict(id, Ok(()), &mut net.store, ctx, &mut out), Ok(Event::Handled));
    assert!(out.is_empty());
    // A code that is not printable ASCII goes out as invalid-job.
    let (mut net, out) = declaration(&t, |_| true);
    net.send_jds(out);
    net.verdict(net.validate_request().unwrap(), Err("bad\ncode"));
    assert_eq!(net.refused().as_deref(), Some("invalid-job"));
}

#[test]
fn missing_transactions_are_bounded_and_checked() {
    let t = template();
    // Too many unknown.
    let (mut net, _) = declaration(&t, |i| i < 3);
    let mut config = jds_config();
    config.max_missing_txs = 2;
    net.jds = JobDeclarator::new(config, &mut net.store);
    reconnect(&mut net);
    let out = redeclare(&mut net, &t);
    net.send_jds(out);
    assert_eq!(net.refused().as_deref(), Some("too-many-missing-txs"));

    // Too many bytes.
    let (mut net, _) = declaration(&t, |i| i < 3);
    let mut config = jds_config();
    config.max_missing_bytes = 2 * t.txs[3].len();
    net.jds = JobDeclarator::new(config, &mut net.store);
    reconnect(&mut net);
    let out = redeclare(&mut net, &t);
    net.send_jds(out);
    assert_eq!(net.refused().as_deref(), Some("missing-txs-too-large"));

    // The wrong transactions, or too few: the JDC is bypassed.
    for bad in
        [vec![t.txs[0].clone(), t.txs[4].clone(), t.txs[5].clone()], vec![t.txs[3].clone()], vec![vec![1, 2, 3]; 3]]
    {
        let (mut net, out) = declaration(&t, |i| i < 3);
        let (r, sent) = each_first(&out, |m| send(&mut net, m));
        let Ok(Event::MissingTransactionsRequested { request_id, count: 3 }) = r else { panic!("{r:?}") };
        assert!(!sent.is_empty());
        let list: Vec<Bytes<'_, 16_777_215>> = bad.iter().map(|b| Bytes::new(b).unwrap()).collect();
        let m = ProvideMissingTransactionsSuccess { request_id, transaction_list: Seq::new(&list).unwrap() };
        let (r, sent) = send(&mut net, &m.into());
        assert!(matches!(r, Ok(Event::JobRefused { .. })), "{r:?}");
        assert_eq!(error_code(&sent), "missing-txs");
        // An answer nobody asked for closes the connection.
        let (r, _) = send(&mut net, &m.into());
        assert!(matches!(r, Err(JdError::Unexpected(_))));
    }
}

/// SetupConnection and a token on a JDS swapped in after `declaration`.
fn reconnect(net: &mut Net) {
    let mut setup = Vec::new();
    net.jdc.start(&mut setup).unwrap();
    each_message(&setup, |m| assert!(send(net, m).0.is_ok()));
    let mut alloc = Vec::new();
    net.jdc.request_token(&mut alloc).unwrap();
    net.send_jds(alloc);
}

/// A new declaration of `t` on the new connection's token.
fn redeclare(net: &mut Net, t: &Template) -> Vec<u8> {
    let mut out = Vec::new();
    net.jdc.declare(&t.msg(), &tip(), &t.tx_refs(), &mut out).unwrap();
    out
}

#[test]
fn a_declaration_of_65535_unknown_transactions_and_a_huge_one_stay_bounded() {
    let mut net = Net::new(jdc_config(true), jds_config(), Default::default());
    net.connect();
    // A token of this connection, straight from the store's view: allocate another by hand.
    let (r, sent) = send(&mut net, &AllocateMiningJobToken { user_identifier: Bytes::EMPTY, request_id: 9 }.into());
    assert!(r.is_ok());
    let mut token = Vec::new();
    each_message(&sent, |m| {
        if let Message::AllocateMiningJobTokenSuccess(s) = m {
            token = s.mining_job_token.as_bytes().to_vec();
        }
    });
    let t = Template::new(vec![tx(1, 72)]);
    let cb = coinbase_paying_pool(&t);
    let (prefix, suffix) = cb.declared_prefix_suffix().unwrap();
    let wtxids: Vec<[u8; 32]> = (0..65_535u32).map(|i| sv2::channels::hash::sha256d(&i.to_le_bytes())).collect();
    let m = DeclareMiningJob {
        request_id: 1,
        mining_job_token: Bytes::new(&token).unwrap(),
        version: 0x2000_0000,
        coinbase_tx_prefix: Bytes::new(&prefix).unwrap(),
        coinbase_tx_suffix: Bytes::new(&suffix).unwrap(),
        wtxid_list: Seq::new(&wtxids).unwrap(),
        excess_data: Bytes::EMPTY,
    };
    let (r, sent) = send(&mut net, &m.into());
    assert!(matches!(r, Ok(Event::JobRefused { .. })));
    assert_eq!(error_code(&sent), "too-many-missing-txs");

    // One unknown transaction of 4 MB and a byte: refused before it is parsed.
    let (_, sent) = send(&mut net, &AllocateMiningJobToken { user_identifier: Bytes::EMPTY, request_id: 10 }.into());
    let mut token2 = Vec::new();
    each_message(&sent, |m| {
        if let Message::AllocateMiningJobTokenSuccess(s) = m {
            token2 = s.mining_job_token.as_bytes().to_vec();
        }
    });
    let m = DeclareMiningJob {
        request_id: 2,
        mining_job_token: Bytes::new(&token2).unwrap(),
        wtxid_list: Seq::new(&wtxids[..1]).unwrap(),
        ..m
    };
    let (r, _) = send(&mut net, &m.into());
    assert!(matches!(r, Ok(Event::MissingTransactionsRequested { count: 1, .. })));
    let huge = vec![0u8; 4_000_001];
    let list = [Bytes::new(&huge).unwrap()];
    let reply = ProvideMissingTransactionsSuccess { request_id: 2, transaction_list: Seq::new(&list).unwrap() };
    let bytes = frame(&reply.into());
    let mut sent = Vec::new();
    each_message(&bytes, |m| sent = send(&mut net, m).1);
    assert_eq!(error_code(&sent), "missing-txs-too-large");
}

/// A coinbase paying the pool, as a JDC would build it for `t`.
fn coinbase_paying_pool(t: &Template) -> CustomCoinbase {
    CustomCoinbase {
        version: 2,
        script_prefix: vec![0x02, 0x10, 0x27, 0x08],
        extranonce_len: 8,
        sequence: 0xffff_ffff,
        outputs: outputs(&[(VALUE_REMAINING, &POOL_SCRIPT)], t),
        locktime: 0,
    }
}

#[test]
fn duplicate_wtxids_pending_limits_and_request_ids() {
    let mut t = template();
    t.txs[1] = t.txs[0].clone();
    let t = Template::new(t.txs);
    let (mut net, out) = declaration(&t, |_| true);
    net.send_jds(out);
    assert_eq!(net.refused().as_deref(), Some("invalid-job"));

    // Pending declarations are bounded; a request id in flight twice closes the connection.
    let t = template();
    let mut net = Net::new(jdc_config(true), jds_config(), t.mempool(|_| true));
    net.connect();
    for _ in 0..3 {
        let mut alloc = Vec::new();
        net.jdc.request_token(&mut alloc).unwrap();
        net.send_jds(alloc);
    }
    let mut first = Vec::new();
    for i in 0..4 {
        let mut out = Vec::new();
        net.jdc.declare(&t.msg(), &tip(), &t.tx_refs(), &mut out).unwrap();
        if i == 0 {
            first = out.clone();
        }
        net.send_jds(out);
    }
    assert_eq!(net.jds.pending_declarations(), 4);
    let (r, _) = each_first(&first, |m| send(&mut net, m));
    assert_eq!(r, Err(JdError::DuplicateRequestId(first_id(&first))));
    let (r, sent) = send(&mut net, &AllocateMiningJobToken { user_identifier: Bytes::EMPTY, request_id: 50 }.into());
    assert!(r.is_ok());
    let mut token = Vec::new();
    each_message(&sent, |m| {
        if let Message::AllocateMiningJobTokenSuccess(s) = m {
            token = s.mining_job_token.as_bytes().to_vec();
        }
    });
    let mut fifth = Vec::new();
    each_message(&first, |m| {
        let Message::DeclareMiningJob(d) = m else { panic!() };
        fifth = frame(&DeclareMiningJob { request_id: 99, mining_job_token: Bytes::new(&token).unwrap(), ..*d }.into());
    });
    let (_, sent) = each_first(&fifth, |m| send(&mut net, m));
    assert_eq!(error_code(&sent), "too-many-pending-declarations");
}

fn first_id(bytes: &[u8]) -> u32 {
    each_first(bytes, |m| match m {
        Message::DeclareMiningJob(d) => d.request_id,
        _ => panic!(),
    })
}

#[test]
fn token_floods_close_and_old_tokens_are_revoked() {
    let mut config = jds_config();
    config.max_allocations_per_minute = 20;
    config.max_tokens_per_connection = 3;
    let mut net = Net::new(jdc_config(true), config, Default::default());
    net.connect();
    for i in 0..19 {
        let (r, _) = send(&mut net, &AllocateMiningJobToken { user_identifier: Bytes::EMPTY, request_id: i }.into());
        assert!(r.is_ok());
    }
    assert_eq!(net.store.len(), 3, "only the newest three tokens live");
    let (r, _) = send(&mut net, &AllocateMiningJobToken { user_identifier: Bytes::EMPTY, request_id: 20 }.into());
    assert_eq!(r, Err(JdError::AllocationFlood(21)));
    // A minute later the budget is back.
    net.now += 60;
    let (r, _) = send(&mut net, &AllocateMiningJobToken { user_identifier: Bytes::EMPTY, request_id: 21 }.into());
    assert!(r.is_ok());
    net.jds.close(&mut net.store);
    assert!(net.store.is_empty(), "a closed connection's tokens go");
}

fn setup(protocol: u8, flags: u32) -> SetupConnection<'static> {
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
}

#[test]
fn setup_mismatches_close_the_connection() {
    let cases = [
        (true, true, setup(0, 1), "unsupported-protocol", 0),
        (true, true, setup(1, 3), "unsupported-feature-flags", 2),
        (true, false, setup(1, 1), "unsupported-feature-flags", 1),
        (false, true, setup(1, 0), "missing-declare-tx-data-flag", 0),
        (true, true, SetupConnection { min_version: 3, max_version: 3, ..setup(1, 1) }, "protocol-version-mismatch", 0),
    ];
    for (coinbase_only, full_template, m, code, flags) in cases {
        let mut config = jds_config();
        config.coinbase_only = coinbase_only;
        config.full_template = full_template;
        let mut net = Net::new(jdc_config(true), config, Default::default());
        let (r, sent) = send(&mut net, &m.into());
        assert_eq!(r, Err(JdError::SetupRefused(code)));
        each_message(&sent, |m| {
            let Message::SetupConnectionError(e) = m else { panic!() };
            assert_eq!((e.error_code.as_str(), e.flags), (Some(code), flags));
        });
    }
    let mut net = Net::new(jdc_config(true), jds_config(), Default::default());
    let alloc = AllocateMiningJobToken { user_identifier: Bytes::EMPTY, request_id: 1 };
    assert!(matches!(send(&mut net, &alloc.into()).0, Err(JdError::NotSetUp(_))));
    assert!(send(&mut net, &setup(1, 0).into()).0.is_ok());
    assert_eq!(send(&mut net, &setup(1, 0).into()).0, Err(JdError::SecondSetup));
    // Coinbase-only: no DeclareMiningJob.
    let t = template();
    let cb = coinbase_paying_pool(&t);
    let (prefix, suffix) = cb.declared_prefix_suffix().unwrap();
    let m = DeclareMiningJob {
        request_id: 1,
        mining_job_token: Bytes::EMPTY,
        version: 0x2000_0000,
        coinbase_tx_prefix: Bytes::new(&prefix).unwrap(),
        coinbase_tx_suffix: Bytes::new(&suffix).unwrap(),
        wtxid_list: Seq::EMPTY,
        excess_data: Bytes::EMPTY,
    };
    assert!(matches!(send(&mut net, &m.into()).0, Err(JdError::Unexpected(_))));
}

#[test]
fn solutions_that_make_no_block_are_ignored() {
    let t = template();
    let (mut net, out) = declaration(&t, |_| true);
    let push = |extranonce: &'static [u8], nonce| PushSolution {
        extranonce: Bytes::new(extranonce).unwrap(),
        prev_hash: [0x42; 32],
        nonce,
        ntime: MIN_NTIME,
        nbits: REGTEST_NBITS,
        version: 0x2000_0000,
    };
    assert_eq!(send(&mut net, &push(&[0; 8], 0).into()).0, Ok(Event::SolutionIgnored("no declared job")));
    net.send_jds(out);
    net.verdict(net.validate_request().unwrap(), Ok(()));
    let (r, _) = send(&mut net, &push(&[0; 7], 0).into());
    assert!(matches!(r, Ok(Event::SolutionIgnored(_))));
    // About half the nonces miss the regtest target; none of them makes a block.
    let mut ignored = 0;
    let mut found = 0;
    for nonce in 0..64 {
        match send(&mut net, &push(&[0; 8], nonce).into()).0 {
            Ok(Event::SolutionIgnored(_)) => ignored += 1,
            Ok(Event::BlockFound(_)) => found += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(ignored > 0 && found > 0);
}
