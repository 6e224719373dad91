//! Garbage in, no panic out: arbitrary and mutated Job Declaration frames at a JDS and a JDC,
//! arbitrary coinbase bytes, arbitrary SetCustomMiningJob fields at the pool — with the
//! limits on pending declarations and live tokens holding throughout.

mod jd_common;

use jd_common::*;
use proptest::prelude::*;
use sv2::codec::{Bytes, Seq};
use sv2::jd::coinbase::{CustomCoinbase, PoolOutputs};
use sv2::jd::custom::{validate_custom_job, PoolView};
use sv2::Message;

/// JD message ids (and a few others) a peer might send.
const IDS: [u8; 12] = [0x00, 0x01, 0x02, 0x50, 0x51, 0x55, 0x56, 0x57, 0x58, 0x59, 0x60, 0x22];

/// A real exchange's frames from the JDC: SetupConnection, a token request, a declaration.
fn real_frames(t: &Template) -> (Net, Vec<u8>) {
    let mut net = Net::new(jdc_config(true), jds_config(), t.mempool(|i| i % 2 == 0));
    net.connect();
    let mut out = Vec::new();
    net.jdc.declare(&t.msg(), &tip(), &t.tx_refs(), &mut out).unwrap();
    (net, out)
}

#[derive(Debug, Clone)]
enum Input {
    /// A payload for a message id.
    Raw(u8, Vec<u8>),
    /// The real declaration with bytes flipped.
    Mutated(Vec<(usize, u8)>),
    /// The caller's verdict on a request id.
    Verdict(u32, bool),
    /// The clock moves.
    Tick(u16),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (prop::sample::select(IDS.to_vec()), prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(id, p)| Input::Raw(id, p)),
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..6).prop_map(Input::Mutated),
        (0u32..4, any::<bool>()).prop_map(|(id, ok)| Input::Verdict(id, ok)),
        any::<u16>().prop_map(Input::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_jds_survives_anything(inputs in prop::collection::vec(input(), 0..24)) {
        let t = Template::new((0..4).map(|i| tx(i, 40)).collect());
        let (mut net, declaration) = real_frames(&t);
        let payload = declaration[6..].to_vec();
        for i in inputs {
            let mut out = Vec::new();
            let ctx = net.ctx();
            let r = match i {
                Input::Raw(id, p) => match Message::decode(0, id, &p) {
                    Ok((m, _)) => net.jds.on_message(&m, &mut net.store, &net.mempool, ctx, &mut out),
                    Err(_) => continue,
                },
                Input::Mutated(flips) => {
                    let mut p = payload.clone();
                    for (at, x) in flips {
                        let n = p.len();
                        p[at % n] ^= x;
                    }
                    match Message::decode(0, 0x57, &p) {
                        Ok((m, _)) => net.jds.on_message(&m, &mut net.store, &net.mempool, ctx, &mut out),
                        Err(_) => continue,
                    }
                }
                Input::Verdict(id, ok) => {
                    let v = if ok { Ok(()) } else { Err("bad") };
                    net.jds.on_verdict(id, v, &mut net.store, ctx, &mut out)
                }
                Input::Tick(s) => {
                    net.now += u64::from(s);
                    continue;
                }
            };
            // Whatever the JDS sent decodes.
            each_message(&out, |_| {});
            prop_assert!(net.jds.pending_declarations() <= 4);
            prop_assert!(net.store.len() <= 16 + 8);
            if r.is_err() {
                break;
            }
        }
    }

    #[test]
    fn the_jdc_survives_anything(msgs in prop::collection::vec((prop::sample::select(IDS.to_vec()), prop::collection::vec(any::<u8>(), 0..200)), 0..16)) {
        let t = Template::new((0..3).map(|i| tx(i, 40)).collect());
        let (mut net, _) = real_frames(&t);
        for (id, p) in msgs {
            let Ok((m, _)) = Message::decode(0, id, &p) else { continue };
            let mut out = Vec::new();
            let r = net.jdc.on_message(&m, &mut out);
            each_message(&out, |_| {});
            if r.is_err() {
                break;
            }
        }
    }

    #[test]
    fn declared_coinbases_parse_or_refuse(prefix in prop::collection::vec(any::<u8>(), 0..120), suffix in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(cb) = CustomCoinbase::parse_declared(&prefix, &suffix) {
            let (p, s) = cb.declared_prefix_suffix().unwrap();
            prop_assert_eq!((p, s), (prefix, suffix));
        }
    }

    #[test]
    fn mutated_declared_coinbases_parse_or_refuse(flips in prop::collection::vec((any::<bool>(), any::<usize>(), any::<u8>()), 1..4)) {
        let t = Template::new(vec![tx(1, 40)]);
        let (_, declaration) = real_frames(&t);
        let mut parts = None;
        each_message(&declaration, |m| {
            if let Message::DeclareMiningJob(d) = m {
                parts = Some((d.coinbase_tx_prefix.as_bytes().to_vec(), d.coinbase_tx_suffix.as_bytes().to_vec()));
            }
        });
        let (mut prefix, mut suffix) = parts.unwrap();
        prop_assert!(CustomCoinbase::parse_declared(&prefix, &suffix).is_ok());
        for (in_prefix, at, x) in flips {
            let v = if in_prefix { &mut prefix } else { &mut suffix };
            let n = v.len();
            v[at % n] ^= x;
        }
        if let Ok(cb) = CustomCoinbase::parse_declared(&prefix, &suffix) {
            let (p, s) = cb.declared_prefix_suffix().unwrap();
            prop_assert_eq!((p, s), (prefix, suffix));
        }
    }

    #[test]
    fn the_pool_checks_any_set_custom_mining_job(
        script in prop::collection::vec(any::<u8>(), 0..110),
        outputs in prop::collection::vec(any::<u8>(), 0..120),
        path in prop::collection::vec(any::<[u8; 32]>(), 0..4),
        version in any::<u32>(),
        min_ntime in any::<u32>(),
        use_declared in any::<bool>(),
    ) {
        let t = Template::new((0..3).map(|i| tx(i, 40)).collect());
        let (mut net, declaration) = real_frames(&t);
        net.send_jds(declaration);
        net.verdict(net.validate_request().unwrap(), Ok(()));
        let req = net.declared().unwrap();
        let mut m = req.message(5, 1);
        if !use_declared {
            m.coinbase_prefix = Bytes::new(&script).unwrap();
            m.coinbase_tx_outputs = Bytes::new(&outputs).unwrap();
            m.merkle_path = Seq::new(&path).unwrap();
            m.version = version;
            m.min_ntime = min_ntime;
        }
        let pool = PoolOutputs::single(&POOL_SCRIPT);
        let tip = tip();
        let view = PoolView { tip: &tip, pool_outputs: &pool, extranonce_len: 8, version_rolling_allowed: true, now: net.now, unix_now: MIN_NTIME };
        let r = validate_custom_job(&mut net.store, &m, view);
        prop_assert_eq!(r.is_ok(), use_declared);
    }
}
