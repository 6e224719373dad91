//! The JDC's own refusals: what closes its connection and what it will not do locally.

mod jd_common;

use jd_common::*;
use sv2::codec::{Bytes, Seq};
use sv2::jd::client::{Declared, Event, JdcError, JobDeclarationClient};
use sv2::messages::{
    AllocateMiningJobTokenSuccess, DeclareMiningJobError, ProvideMissingTransactions, SetupConnectionError,
    SetupConnectionSuccess,
};

#[test]
fn setup_and_token_answers() {
    let mut jdc = JobDeclarationClient::new(jdc_config(true));
    let mut out = Vec::new();
    let early = AllocateMiningJobTokenSuccess {
        request_id: 1,
        mining_job_token: Bytes::EMPTY,
        coinbase_tx_outputs: Bytes::EMPTY,
    };
    assert!(matches!(jdc.on_message(&early.into(), &mut out), Err(JdcError::NotSetUp(_))));
    let err = SetupConnectionError { flags: 1, error_code: Bytes::from_str("unsupported-feature-flags").unwrap() };
    assert_eq!(jdc.on_message(&err.into(), &mut out), Err(JdcError::SetupRefused("unsupported-feature-flags".into())));

    let mut jdc = JobDeclarationClient::new(jdc_config(true));
    assert_eq!(
        jdc.on_message(&SetupConnectionSuccess { used_version: 2, flags: 0 }.into(), &mut out),
        Ok(Event::SetUp)
    );
    // A token nobody asked for.
    assert!(matches!(jdc.on_message(&early.into(), &mut out), Err(JdcError::Unexpected(_))));
    // Asked for, but with outputs that do not parse (or none).
    for outputs in [&[][..], &[0][..], &[1, 2, 3][..]] {
        let mut jdc = JobDeclarationClient::new(jdc_config(true));
        jdc.on_message(&SetupConnectionSuccess { used_version: 2, flags: 0 }.into(), &mut out).unwrap();
        jdc.request_token(&mut out).unwrap();
        let m = AllocateMiningJobTokenSuccess { coinbase_tx_outputs: Bytes::new(outputs).unwrap(), ..early };
        assert_eq!(jdc.on_message(&m.into(), &mut out), Err(JdcError::BadPoolOutputs));
    }
    // Tokens asked for are bounded.
    let mut jdc = JobDeclarationClient::new(jdc_config(true));
    for _ in 0..4 {
        jdc.request_token(&mut out).unwrap();
    }
    assert_eq!(jdc.request_token(&mut out), Err(JdcError::TooManyTokens));
}

#[test]
fn declarations_need_a_token_and_the_template_transactions() {
    let t = Template::new((0..4).map(|i| tx(i, 72)).collect());
    let mut net = Net::new(jdc_config(true), jds_config(), t.mempool(|_| true));
    let mut out = Vec::new();
    assert_eq!(net.jdc.declare(&t.msg(), &tip(), &t.tx_refs(), &mut out), Err(JdcError::NoToken));
    net.connect();
    let mut wrong = t.tx_refs();
    wrong.swap(0, 1);
    assert_eq!(net.jdc.declare(&t.msg(), &tip(), &wrong, &mut out), Err(JdcError::TransactionsMismatch));
    assert_eq!(net.jdc.declare(&t.msg(), &tip(), &[&[1, 2, 3]], &mut out), Err(JdcError::TransactionsMismatch));
    assert!(out.is_empty());
    assert_eq!(net.jdc.tokens(), 1, "a failed declaration keeps its token");
    let Ok(Declared::Sent { request_id }) = net.jdc.declare(&t.msg(), &tip(), &t.tx_refs(), &mut out) else { panic!() };

    // A position outside the declaration closes the connection.
    let positions = [4u16];
    let ask = ProvideMissingTransactions { request_id, unknown_tx_position_list: Seq::new(&positions).unwrap() };
    assert_eq!(net.jdc.on_message(&ask.into(), &mut Vec::new()), Err(JdcError::BadPosition(4)));
    // An answer about a declaration it does not keep is ignored.
    let other = ProvideMissingTransactions { request_id: 999, ..ask };
    assert!(matches!(net.jdc.on_message(&other.into(), &mut Vec::new()), Ok(Event::Ignored(_))));

    // A refusal forgets the declaration: no PushSolution for it.
    let refusal = DeclareMiningJobError {
        request_id,
        error_code: Bytes::from_str("invalid-job").unwrap(),
        error_details: Bytes::EMPTY,
    };
    assert!(matches!(net.jdc.on_message(&refusal.into(), &mut Vec::new()), Ok(Event::JobRefused { .. })));
    assert_eq!(
        net.jdc.push_solution(request_id, &[0; 8], 0, 0, 0, &mut out),
        Err(JdcError::UnknownDeclaration(request_id))
    );
}
