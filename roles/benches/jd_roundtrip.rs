//! Job Declaration round trip: AllocateMiningJobToken → Success, DeclareMiningJob (with
//! ProvideMissingTransactions when the JDS lacks transactions) → Success, SetCustomMiningJob →
//! Success, against a real pool and its JDS on the embedded regtest node, over loopback Noise,
//! all in this process.
//!
//! `cargo bench -p sv2-roles --bench jd_roundtrip -- [N_1] [N_1000] [N_4000]` (round trips per
//! case for templates of 1, 1 000 and 4 000 transactions; default 200, 100, 50).
//!
//! Transactions are real and valid, so the node's verdict is "valid": the known ones are the
//! pool's own template's (its node keeps 4 000 of its own in its mempool), the unknown ones a
//! tree of self-spends (one input, two P2WPKH outputs each) that the bench signs itself from a
//! confirmed coin of the node's wallet; the pool's node never sees them, so the JDS asks for
//! them on every declaration. A declaration holds the first known transactions of the pool's
//! template (parents come before children there), then the unknown ones.
//!
//! Two measurements per case:
//! - over the wire: each step's wall time as the JDC sees it, and the CPU time of the whole
//!   process (pool, JDS, node, client: every thread) per round trip;
//! - in-process, sans-IO: the same declaration through a `JobDeclarator` with the JDS's own
//!   `TemplateMempool`, a `JobDeclarationClient`, plaintext frames in memory, the JDS's
//!   proposal block, the embedded node's check, and the pool's `validate_custom_job`; each
//!   step's CPU time on this thread (the node's check runs on tokio's blocking pool: its wall
//!   time and the process's CPU time). The difference to the wire figures is Noise, sockets
//!   and task wake-ups.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash as _;
use bitcoin::secp256k1::{Message as SecpMessage, SecretKey, SECP256K1};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{absolute::LockTime, transaction::Version, Amount, OutPoint, ScriptBuf, Sequence};
use bitcoin::{CompressedPublicKey, Transaction, TxIn, TxOut, Witness};
use sv2::channels::server::PrevHash;
use sv2::codec::{Bytes, FrameDecoder, Str0_255};
use sv2::jd::client::{CustomJobRequest, Declared, Event, JdcConfig, JobDeclarationClient};
use sv2::jd::coinbase::PoolOutputs;
use sv2::jd::custom::{validate_custom_job, PoolView};
use sv2::jd::server::{self, JdsConfig, JobDeclarator};
use sv2::jd::store::TokenStore;
use sv2::jd::Ctx;
use sv2::messages::mining_flags::REQUIRES_WORK_SELECTION;
use sv2::messages::{
    CoinbaseOutputConstraints, NewTemplate, OpenExtendedMiningChannel, OwnedTemplate as Template,
    RequestTransactionData, SetupConnection,
};
use sv2::noise::ServerAuth;
use sv2::Message;
use sv2_roles::net::{Connection, Limits};
use sv2_roles::pool::jds::mempool::TemplateMempool;
use sv2_roles::pool::jds::{proposal, JdNode, JdServerConfig};
use sv2_roles::pool::{PoolConfig, PoolHandle, EXTRANONCE_LEN};
use sv2_roles::tp::kernel::node::REGTEST_HALVING_INTERVAL;
use sv2_roles::tp::kernel::KernelSource;
use sv2_roles::tp::template::{block_subsidy, with_transactions};
use sv2_roles::tp::{SourceConfig, TpConfig, TpHandle};

/// Transactions the pool's node keeps in its mempool (the largest template's).
const POOL_TXS: usize = 4_000;
/// The pool's payout script (P2WPKH to a made-up key).
const PAYOUT: [u8; 22] = [
    0x00, 0x14, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22,
];
/// Fee of each unknown transaction.
const TREE_FEE: u64 = 200;
/// Bound on any single wait, so that a fault ends the bench instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// Clocks

fn clock(id: libc::clockid_t) -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(id, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// CPU time of this thread.
fn thread_cpu() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of every thread of this process.
fn process_cpu() -> Duration {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn unix_now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Samples

/// One step's samples, in µs.
#[derive(Default, Clone)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64() * 1e6);
    }

    fn q(&self, q: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or(f64::NAN)
    }
}

/// Named steps, in the order first recorded.
#[derive(Default)]
struct Steps(Vec<(&'static str, Samples)>);

impl Steps {
    fn add(&mut self, name: &'static str, d: Duration) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, s)) => s.push(d),
            None => {
                let mut s = Samples::default();
                s.push(d);
                self.0.push((name, s));
            }
        }
    }

    fn print(&self, indent: &str) {
        for (name, s) in &self.0 {
            println!("{indent}{name:<44} p50 {:>10} µs   p99 {:>10} µs", fmt_us(s.q(0.5)), fmt_us(s.q(0.99)));
        }
    }

    fn p50(&self, name: &str) -> f64 {
        self.0.iter().find(|(n, _)| *n == name).map_or(f64::NAN, |(_, s)| s.q(0.5))
    }
}

fn fmt_us(us: f64) -> String {
    if us.is_nan() {
        "-".into()
    } else if us >= 100.0 {
        format!("{us:.0}")
    } else {
        format!("{us:.1}")
    }
}

// ---------------------------------------------------------------------------------------------
// The pool's template, as the farm's template provider would give it (a Template
// Distribution client on the same template provider).

struct Td {
    conn: Connection,
}

impl Td {
    async fn connect(tp: &TpHandle) -> Td {
        let limits = Limits { max_payload: 16 << 20, ..Limits::default() };
        let mut conn = Connection::connect(tp.addr(), ServerAuth::Authority(tp.authority()), limits).await.unwrap();
        let setup = SetupConnection {
            protocol: 2,
            min_version: 2,
            max_version: 2,
            flags: 0,
            endpoint_host: Str0_255::EMPTY,
            endpoint_port: 0,
            vendor: Str0_255::from_str("libsv2-bench").unwrap(),
            hardware_version: Bytes::EMPTY,
            firmware: Bytes::EMPTY,
            device_id: Bytes::EMPTY,
        };
        conn.send(&setup.into()).await.unwrap();
        // Room for the pool's payout output, as the pool asks.
        let c = CoinbaseOutputConstraints {
            coinbase_output_max_additional_size: 31,
            coinbase_output_max_additional_sigops: 0,
        };
        conn.send(&c.into()).await.unwrap();
        Td { conn }
    }

    /// The first template on the current tip with at least `min_txs` transactions, the tip,
    /// and the transactions.
    async fn template_with(&mut self, min_txs: usize) -> (Template, PrevHash, Vec<Vec<u8>>) {
        let mut templates: HashMap<u64, Template> = HashMap::new();
        let mut tip: Option<(u64, PrevHash)> = None;
        loop {
            let f = tokio::time::timeout(PATIENCE, self.conn.read_frame()).await.expect("templates").unwrap();
            let ask = match f.message().unwrap().0 {
                Message::NewTemplate(t) => {
                    let id = t.template_id;
                    templates.insert(id, Template::from(&t));
                    (!t.future_template && tip.is_some()).then_some(id)
                }
                Message::SetNewPrevHashTdp(p) => {
                    tip = Some((p.template_id, PrevHash::from(&p)));
                    Some(p.template_id)
                }
                Message::RequestTransactionDataSuccess(s) => {
                    let txs: Vec<Vec<u8>> = s.transaction_list.iter().map(|b| b.as_bytes().to_vec()).collect();
                    if let (Some(t), Some((_, prev))) = (templates.get(&s.template_id), tip) {
                        if txs.len() >= min_txs {
                            return (t.clone(), prev, txs);
                        }
                    }
                    None
                }
                _ => None,
            };
            if let Some(template_id) = ask {
                self.conn.send(&RequestTransactionData { template_id }.into()).await.unwrap();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Transactions

/// The keys: the node's wallet (its coins fund the unknown transactions) and the bench's own.
struct Keys {
    wallet: SecretKey,
    wallet_wpkh: ScriptBuf,
    own: SecretKey,
    own_wpkh: ScriptBuf,
}

fn wpkh(key: &SecretKey) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&CompressedPublicKey(key.public_key(SECP256K1)).wpubkey_hash())
}

impl Keys {
    fn load(tp_dir: &std::path::Path) -> Keys {
        let text = std::fs::read_to_string(tp_dir.join("regtest/wallet.key")).expect("the node's wallet key");
        let wallet = SecretKey::from_slice(&hex::decode(text.trim()).unwrap()).unwrap();
        let own = SecretKey::from_slice(&[0x42; 32]).unwrap();
        Keys { wallet_wpkh: wpkh(&wallet), own_wpkh: wpkh(&own), wallet, own }
    }
}

/// A P2WPKH spend of `coin` (worth `value`, locked to `key`) into two equal outputs to `to`.
fn split(coin: OutPoint, value: u64, key: &SecretKey, to: &ScriptBuf) -> Transaction {
    let half = (value - TREE_FEE) / 2;
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: coin,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![
            TxOut { value: Amount::from_sat(half), script_pubkey: to.clone() },
            TxOut { value: Amount::from_sat(value - TREE_FEE - half), script_pubkey: to.clone() },
        ],
    };
    let script = wpkh(key);
    let sighash = SighashCache::new(&tx)
        .p2wpkh_signature_hash(0, &script, Amount::from_sat(value), EcdsaSighashType::All)
        .unwrap();
    let sig = SECP256K1.sign_ecdsa(&SecpMessage::from_digest(sighash.to_byte_array()), key);
    tx.input[0].witness = Witness::p2wpkh(&bitcoin::ecdsa::Signature::sighash_all(sig), &key.public_key(SECP256K1));
    tx
}

/// `n` transactions none of the pool's templates holds: a binary tree of splits from `root`
/// (a coin of the node's wallet), each spending one output of its parent.
fn unknown_tree(n: usize, root: (OutPoint, u64), keys: &Keys) -> Vec<Vec<u8>> {
    let mut txs: Vec<Transaction> = Vec::with_capacity(n);
    for i in 0..n {
        let tx = if i == 0 {
            split(root.0, root.1, &keys.wallet, &keys.own_wpkh)
        } else {
            let parent = &txs[(i - 1) / 2];
            let vout = ((i - 1) % 2) as u32;
            let value = parent.output[vout as usize].value.to_sat();
            assert!(value > 2 * TREE_FEE, "the root coin is too small for {n} transactions");
            split(OutPoint { txid: parent.compute_txid(), vout }, value, &keys.own, &keys.own_wpkh)
        };
        txs.push(tx);
    }
    txs.iter().map(serialize).collect()
}

/// The largest P2WPKH coin of the wallet among `candidates` that `known` does not spend.
fn root_coin(candidates: &HashMap<OutPoint, TxOut>, known: &[Vec<u8>], keys: &Keys) -> (OutPoint, u64) {
    let spent: HashSet<OutPoint> = known
        .iter()
        .flat_map(|t| deserialize::<Transaction>(t).unwrap().input.into_iter().map(|i| i.previous_output))
        .collect();
    let mut usable: Vec<(OutPoint, u64)> = candidates
        .iter()
        .filter(|(o, out)| out.script_pubkey == keys.wallet_wpkh && !spent.contains(*o))
        .map(|(o, out)| (*o, out.value.to_sat()))
        .chain(
            known
                .iter()
                .flat_map(|t| {
                    let tx: Transaction = deserialize(t).unwrap();
                    let txid = tx.compute_txid();
                    tx.output
                        .into_iter()
                        .enumerate()
                        .filter(|(_, o)| o.script_pubkey == keys.wallet_wpkh)
                        .map(move |(v, o)| (OutPoint { txid, vout: v as u32 }, o.value.to_sat()))
                        .collect::<Vec<_>>()
                })
                .filter(|(o, _)| !spent.contains(o)),
        )
        .collect();
    usable.sort_by_key(|(o, v)| (*v, o.txid, o.vout));
    usable.pop().expect("a coin of the wallet the known transactions do not spend")
}

/// The template as declared with `txs` in place of its own: witness commitment and merkle
/// path recomputed, the coinbase claiming `value`.
struct Declaration {
    template: Template,
    txs: Vec<Vec<u8>>,
}

impl Declaration {
    fn new(template: &Template, txs: Vec<Vec<u8>>, value: u64) -> Self {
        let template = Template { value, ..with_transactions(template, &txs).unwrap() };
        Declaration { template, txs }
    }

    fn msg(&self) -> NewTemplate<'_> {
        self.template.message().unwrap()
    }

    fn refs(&self) -> Vec<&[u8]> {
        self.txs.iter().map(|t| &t[..]).collect()
    }
}

fn jdc_config(port: u16) -> JdcConfig {
    JdcConfig {
        full_template: true,
        user_identifier: "bench".into(),
        tag: b"bench".to_vec(),
        extranonce_len: EXTRANONCE_LEN,
        endpoint_host: "127.0.0.1".into(),
        endpoint_port: port,
        vendor: "libsv2-bench".into(),
        max_tokens: 4,
        max_declarations: 4,
    }
}

// ---------------------------------------------------------------------------------------------
// Over the wire

struct Jdc {
    conn: Connection,
    c: JobDeclarationClient,
}

impl Jdc {
    async fn connect(pool: &PoolHandle) -> Jdc {
        let addr = pool.jds_addr().expect("the JDS runs");
        let limits = Limits { max_payload: 16 << 20, ..Limits::default() };
        let conn = Connection::connect(addr, ServerAuth::Authority(pool.authority()), limits).await.unwrap();
        let mut j = Jdc { conn, c: JobDeclarationClient::new(jdc_config(addr.port())) };
        j.c.start(&mut j.conn).unwrap();
        j.conn.flush().await.unwrap();
        assert_eq!(j.next().await.0, Event::SetUp);
        j
    }

    /// The next event, when its frame arrived, and how long handling it took (answers the
    /// JDS wants are queued and sent).
    async fn next(&mut self) -> (Event, Instant, Duration) {
        let f = tokio::time::timeout(PATIENCE, self.conn.read_frame()).await.expect("JDS answers").expect("frame");
        let arrived = Instant::now();
        let cpu = thread_cpu();
        let event = self.c.on_message(&f.message().unwrap().0, &mut self.conn).unwrap();
        let spent = thread_cpu() - cpu;
        self.conn.flush().await.unwrap();
        (event, arrived, spent)
    }
}

/// A Mining connection with REQUIRES_WORK_SELECTION and one extended channel.
struct Miner {
    conn: Connection,
    channel_id: u32,
    min_ntime: u32,
}

impl Miner {
    async fn connect(pool: &PoolHandle) -> Miner {
        let auth = ServerAuth::Authority(pool.authority());
        let mut conn = Connection::connect(pool.addr(), auth, Limits::default()).await.unwrap();
        let setup = SetupConnection {
            protocol: 0,
            min_version: 2,
            max_version: 2,
            flags: REQUIRES_WORK_SELECTION,
            endpoint_host: Str0_255::EMPTY,
            endpoint_port: 0,
            vendor: Str0_255::from_str("libsv2-bench").unwrap(),
            hardware_version: Bytes::EMPTY,
            firmware: Bytes::EMPTY,
            device_id: Bytes::EMPTY,
        };
        conn.send(&setup.into()).await.unwrap();
        let open = OpenExtendedMiningChannel {
            request_id: 1,
            user_identity: Str0_255::from_str("bench").unwrap(),
            nominal_hash_rate: 1e3,
            max_target: sv2::channels::target::MAX_TARGET,
            min_extranonce_size: 4,
        };
        conn.send(&open.into()).await.unwrap();
        let mut m = Miner { conn, channel_id: 0, min_ntime: 0 };
        while m.channel_id == 0 || m.min_ntime == 0 {
            m.read().await;
        }
        m
    }

    async fn read(&mut self) -> Option<Result<u32, String>> {
        let f = tokio::time::timeout(PATIENCE, self.conn.read_frame()).await.expect("pool answers").unwrap();
        match f.message().unwrap().0 {
            Message::OpenExtendedMiningChannelSuccess(s) => self.channel_id = s.channel_id,
            Message::SetNewPrevHash(p) => self.min_ntime = p.min_ntime,
            Message::SetCustomMiningJobSuccess(s) => return Some(Ok(s.job_id)),
            Message::SetCustomMiningJobError(e) => {
                return Some(Err(String::from_utf8_lossy(e.error_code.as_bytes()).into_owned()))
            }
            _ => {}
        }
        None
    }

    async fn set_custom(&mut self, req: &mut CustomJobRequest, request_id: u32) -> Result<u32, String> {
        req.min_ntime = req.min_ntime.max(self.min_ntime);
        self.conn.send(&req.message(self.channel_id, request_id).into()).await.unwrap();
        loop {
            if let Some(a) = self.read().await {
                return a;
            }
        }
    }
}

/// One round trip over the wire; how many transactions the JDS asked for.
async fn wire_round_trip(
    jdc: &mut Jdc,
    miner: &mut Miner,
    d: &Declaration,
    tip: &PrevHash,
    n: u32,
    steps: &mut Steps,
) -> usize {
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    jdc.c.request_token(&mut jdc.conn).unwrap();
    jdc.conn.flush().await.unwrap();
    let (e, token_at, _) = jdc.next().await;
    assert!(matches!(e, Event::TokenReady { .. }), "{e:?}");
    steps.add("token: AllocateMiningJobToken → Success", token_at - t0);

    let (b0, w0) = (thread_cpu(), Instant::now());
    let Declared::Sent { request_id } = jdc.c.declare(&d.msg(), tip, &d.refs(), &mut jdc.conn).unwrap() else {
        panic!("full template")
    };
    steps.add("JDC builds DeclareMiningJob (CPU)", thread_cpu() - b0);
    jdc.conn.flush().await.unwrap();
    let sent = Instant::now();
    steps.add("JDC builds and sends DeclareMiningJob (wall)", sent - w0);
    let (mut e, mut at, spent) = jdc.next().await;
    let mut asked = 0;
    if let Event::MissingTransactionsSent { count, .. } = e {
        asked = count;
        steps.add("DeclareMiningJob → ProvideMissingTransactions", at - sent);
        steps.add("JDC builds the missing transactions (CPU)", spent);
        let answered = Instant::now();
        (e, at, _) = jdc.next().await;
        steps.add("PMT.Success → DeclareMiningJob.Success", at - answered);
    } else {
        steps.add("DeclareMiningJob → DeclareMiningJob.Success", at - sent);
    }
    let Event::JobDeclared(mut req) = e else { panic!("declaration {request_id} not accepted: {e:?}") };
    let c0 = Instant::now();
    miner.set_custom(&mut req, n).await.expect("SetCustomMiningJob accepted");
    let end = Instant::now();
    steps.add("SetCustomMiningJob → Success", end - c0);
    steps.add("total (wall)", end - t0);
    steps.add("total, CPU of every thread", process_cpu() - cpu0);
    asked
}

// ---------------------------------------------------------------------------------------------
// In-process, sans-IO

/// Every message in `bytes` (plaintext frames), in order.
fn decode(bytes: &[u8], mut f: impl FnMut(&Message<'_>)) {
    let mut dec = FrameDecoder::new(16 << 20);
    dec.push(bytes);
    while let Some(frame) = dec.next_frame().unwrap() {
        f(&frame.message().unwrap().0);
    }
}

struct Core {
    jds: JobDeclarator,
    jdc: JobDeclarationClient,
    store: TokenStore,
    mempool: TemplateMempool,
    counter: u64,
    started: Instant,
}

impl Core {
    fn new(pool_txs: &[Vec<u8>]) -> Core {
        let mut store = TokenStore::new(100_000);
        let mut config = JdsConfig::new(PoolOutputs::single(&PAYOUT));
        config.max_allocations_per_minute = u32::MAX;
        let jds = JobDeclarator::new(config, &mut store);
        let mut mempool = TemplateMempool::default();
        mempool.replace(pool_txs.iter().map(|t| &t[..]));
        let mut core = Core {
            jds,
            jdc: JobDeclarationClient::new(jdc_config(0)),
            store,
            mempool,
            counter: 0,
            started: Instant::now(),
        };
        let mut out = Vec::new();
        core.jdc.start(&mut out).unwrap();
        let back = core.jds_answers(&out);
        core.jdc_reads(&back);
        core
    }

    fn ctx(&mut self) -> Ctx {
        self.counter += 1;
        let mut entropy = [0u8; 16];
        entropy[..8].copy_from_slice(&self.counter.to_le_bytes());
        Ctx { now: self.started.elapsed().as_secs(), entropy }
    }

    /// Frames to the JDS; its answer frames and last event.
    fn jds_reads(&mut self, bytes: &[u8]) -> (Vec<u8>, server::Event) {
        let mut out = Vec::new();
        let mut event = server::Event::Handled;
        let ctx = self.ctx();
        decode(bytes, |m| event = self.jds.on_message(m, &mut self.store, &self.mempool, ctx, &mut out).unwrap());
        (out, event)
    }

    /// Frames to the JDS; its answer frames.
    fn jds_answers(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.jds_reads(bytes).0
    }

    /// Frames to the JDC; its answer frames and last event.
    fn jdc_reads(&mut self, bytes: &[u8]) -> (Vec<u8>, Event) {
        let mut out = Vec::new();
        let mut event = Event::SetUp;
        decode(bytes, |m| event = self.jdc.on_message(m, &mut out).unwrap());
        (out, event)
    }
}

/// One declaration through the sans-IO core, the JDS's proposal block, the node's check and
/// the pool's SetCustomMiningJob check.
async fn core_round_trip(core: &mut Core, node: &KernelSource, d: &Declaration, tip: &PrevHash, steps: &mut Steps) {
    let mut out = Vec::new();
    core.jdc.request_token(&mut out).unwrap();
    let back = core.jds_answers(&out);
    core.jdc_reads(&back);

    let mut out = Vec::new();
    let c = thread_cpu();
    core.jdc.declare(&d.msg(), tip, &d.refs(), &mut out).unwrap();
    steps.add("JDC: declare (coinbase, merkle check, frame)", thread_cpu() - c);
    let c = thread_cpu();
    let (back, mut event) = core.jds_reads(&out);
    steps.add("JDS: DeclareMiningJob (decode, coinbase, lookup)", thread_cpu() - c);
    if let server::Event::MissingTransactionsRequested { .. } = event {
        let c = thread_cpu();
        let (answer, _) = core.jdc_reads(&back);
        steps.add("JDC: ProvideMissingTransactions.Success", thread_cpu() - c);
        let c = thread_cpu();
        (_, event) = core.jds_reads(&answer);
        steps.add("JDS: missing transactions (decode, parse, check)", thread_cpu() - c);
    }
    let server::Event::ValidateJob { request_id, job } = event else { panic!("expected ValidateJob, got {event:?}") };
    let c = thread_cpu();
    let block = proposal::block(&job, tip, unix_now()).expect("a proposal").serialize();
    steps.add("JDS: proposal block (build, serialize)", thread_cpu() - c);
    let (w, p) = (Instant::now(), process_cpu());
    let verdict = node.check_proposal(block).await.expect("the node answers");
    steps.add("node: kernel check (wall)", w.elapsed());
    steps.add("node: kernel check (CPU, all threads)", process_cpu() - p);
    assert_eq!(verdict, Ok(()), "the node finds the declared block valid");
    let mut out = Vec::new();
    let ctx = core.ctx();
    let c = thread_cpu();
    core.jds.on_verdict(request_id, Ok(()), &mut core.store, ctx, &mut out).unwrap();
    steps.add("JDS: verdict → Success", thread_cpu() - c);
    let (_, event) = core.jdc_reads(&out);
    let Event::JobDeclared(req) = event else { panic!("expected JobDeclared, got {event:?}") };

    let frame = sv2::codec::frame_to_vec(&req.message(1, 1).into(), &[]).unwrap();
    let pool_outputs = PoolOutputs::single(&PAYOUT);
    let now = core.started.elapsed().as_secs();
    let c = thread_cpu();
    let mut result = None;
    decode(&frame, |m| {
        let Message::SetCustomMiningJob(m) = m else { panic!("a SetCustomMiningJob") };
        let view = PoolView {
            tip,
            pool_outputs: &pool_outputs,
            extranonce_len: EXTRANONCE_LEN,
            version_rolling_allowed: true,
            now,
            unix_now: unix_now(),
        };
        result = Some(validate_custom_job(&mut core.store, m, view).map(|_| ()).map_err(|e| e.code.to_string()));
    });
    steps.add("pool: SetCustomMiningJob (decode, validate)", thread_cpu() - c);
    assert_eq!(result, Some(Ok(())), "the pool accepts the custom job");
}

/// CPU µs of one ECDSA verification (the median of 20 batches of 100): what a node pays at
/// least per transaction it checks.
fn ecdsa_verify_us() -> f64 {
    let key = SecretKey::from_slice(&[0x42; 32]).unwrap();
    let public = key.public_key(SECP256K1);
    let msg = SecpMessage::from_digest([7; 32]);
    let sig = SECP256K1.sign_ecdsa(&msg, &key);
    let mut batches = Samples::default();
    for _ in 0..20 {
        let c = thread_cpu();
        for _ in 0..100 {
            std::hint::black_box(SECP256K1.verify_ecdsa(std::hint::black_box(&msg), &sig, &public)).unwrap();
        }
        batches.push((thread_cpu() - c) / 100);
    }
    batches.q(0.5)
}

// ---------------------------------------------------------------------------------------------

struct Case {
    n: usize,
    unknown_pct: usize,
    rounds: usize,
}

async fn run(counts: [usize; 3]) {
    let base = std::env::temp_dir().join(format!("sv2-jd-roundtrip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let setup = Instant::now();
    let mut tp_config = TpConfig::embedded(base.join("tp"));
    tp_config.source = SourceConfig::Embedded { own_transactions: POOL_TXS };
    // Fee rises reach templates within a second (the mempool is refilled after the block
    // below); after that the mempool stays as it is.
    tp_config.fee_check_interval = Duration::from_secs(1);
    tp_config.fee_delta_sats = 1;
    let tp = sv2_roles::tp::start(tp_config).await.expect("template provider starts");
    let node = tp.embedded_node().expect("the embedded node");
    let mut jds = JdServerConfig::new("127.0.0.1:0".parse().unwrap(), JdNode::Embedded(node.clone()));
    // One connection declares for the whole bench, faster than a farm would.
    jds.max_allocations_per_minute = u32::MAX;
    let mut config = PoolConfig::new(base.join("pool"), tp.addr().to_string(), PAYOUT.to_vec());
    config.tp_authority = Some(tp.authority());
    config.jds = Some(jds);
    let pool = sv2_roles::pool::start(config).await.expect("pool starts");
    let keys = Keys::load(&base.join("tp"));

    // The first batch of the node's transactions is mined, so that their outputs are
    // confirmed coins for the unknown transactions; the node refills its mempool with
    // another batch, which the pool's templates then carry.
    let mut td = Td::connect(&tp).await;
    let (_, _, first) = td.template_with(POOL_TXS).await;
    let mut confirmed: HashMap<OutPoint, TxOut> = HashMap::new();
    let first_txs: Vec<Transaction> = first.iter().map(|t| deserialize(t).unwrap()).collect();
    for tx in &first_txs {
        let txid = tx.compute_txid();
        for (v, o) in tx.output.iter().enumerate() {
            confirmed.insert(OutPoint { txid, vout: v as u32 }, o.clone());
        }
    }
    // The node spends its own unconfirmed outputs too: those stay spent in the block.
    for i in first_txs.iter().flat_map(|t| &t.input) {
        confirmed.remove(&i.previous_output);
    }
    let tip_info = node.mine_block().await.expect("the node mines the first batch");
    let (template, tip, pool_txs) = td.template_with(POOL_TXS).await;
    assert_eq!(tip.prev_hash, tip_info.hash, "the template is on the new tip");
    let first_ids: HashSet<_> = first.iter().collect();
    assert!(pool_txs.iter().all(|t| !first_ids.contains(t)), "the second batch is new");
    let subsidy = block_subsidy(tip_info.height + 1, REGTEST_HALVING_INTERVAL);
    println!(
        "set-up: {} s (node at height {}, {} transactions in the pool's template, {} confirmed coins)",
        setup.elapsed().as_secs(),
        tip_info.height,
        pool_txs.len(),
        confirmed.len()
    );

    let mut jdc = Jdc::connect(&pool).await;
    let mut miner = Miner::connect(&pool).await;
    // The JDS knows the template's transactions once the pool has asked for them.
    let all = Declaration::new(&template, pool_txs[..POOL_TXS].to_vec(), subsidy);
    let deadline = Instant::now() + PATIENCE;
    while wire_round_trip(&mut jdc, &mut miner, &all, &tip, 0, &mut Steps::default()).await > 0 {
        assert!(Instant::now() < deadline, "the JDS never learnt the pool's template");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // What the process spends doing nothing for the bench (the template provider's fee
    // checks, each a template of the node's 4 000 transactions): it is in every figure of
    // "all threads".
    let (c, w) = (process_cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "idle: {:.2} ms of CPU per second of wall time (the template provider's fee checks)",
        (process_cpu() - c).as_secs_f64() * 1e3 / w.elapsed().as_secs_f64()
    );

    let cases = [
        Case { n: 1, unknown_pct: 0, rounds: counts[0] },
        Case { n: 1, unknown_pct: 100, rounds: counts[0] },
        Case { n: 1_000, unknown_pct: 0, rounds: counts[1] },
        Case { n: 1_000, unknown_pct: 10, rounds: counts[1] },
        Case { n: 1_000, unknown_pct: 100, rounds: counts[1] },
        Case { n: 4_000, unknown_pct: 0, rounds: counts[2] },
        Case { n: 4_000, unknown_pct: 10, rounds: counts[2] },
        Case { n: 4_000, unknown_pct: 100, rounds: counts[2] },
    ];
    let mut summary = Vec::new();
    for case in &cases {
        let unknown = case.n * case.unknown_pct / 100;
        let known = pool_txs[..case.n - unknown].to_vec();
        let tree =
            if unknown > 0 { unknown_tree(unknown, root_coin(&confirmed, &known, &keys), &keys) } else { Vec::new() };
        let tree_fees = unknown as u64 * TREE_FEE;
        let txs: Vec<Vec<u8>> = known.into_iter().chain(tree).collect();
        let bytes: usize = txs.iter().map(Vec::len).sum();
        let d = Declaration::new(&template, txs, subsidy + tree_fees);
        println!(
            "\n{} transactions, {} unknown to the JDS ({} %), {} bytes of transactions; {} round trips; load average {}",
            case.n,
            unknown,
            case.unknown_pct,
            bytes,
            case.rounds,
            load_average()
        );
        let mut wire = Steps::default();
        for i in 0..case.rounds {
            let asked = wire_round_trip(&mut jdc, &mut miner, &d, &tip, i as u32 + 10, &mut wire).await;
            assert_eq!(asked, unknown, "the JDS asks for exactly the transactions it lacks");
        }
        println!("  over the wire (pool + JDS + embedded node in this process, loopback Noise):");
        wire.print("    ");
        let mut core = Core::new(&pool_txs);
        let mut inproc = Steps::default();
        for _ in 0..case.rounds {
            core_round_trip(&mut core, &node, &d, &tip, &mut inproc).await;
        }
        println!("  in-process, sans-IO (CPU time of this thread unless noted):");
        inproc.print("    ");
        summary.push((case, unknown, wire, inproc));
    }
    println!("\nover the wire, p50 (p99) in µs:");
    println!("| txs | unknown | N | round trip | CPU, all threads | token | build + send DeclareMiningJob | → ProvideMissingTransactions | PMT.Success → Success | DeclareMiningJob → Success | SetCustomMiningJob → Success |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (case, unknown, wire, _) in &summary {
        let cell = |name: &str| match wire.0.iter().find(|(n, _)| *n == name) {
            Some((_, s)) => format!("{} ({})", fmt_us(s.q(0.5)), fmt_us(s.q(0.99))),
            None => "-".into(),
        };
        println!(
            "| {} | {} ({} %) | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.n,
            unknown,
            case.unknown_pct,
            case.rounds,
            cell("total (wall)"),
            cell("total, CPU of every thread"),
            cell("token: AllocateMiningJobToken → Success"),
            cell("JDC builds and sends DeclareMiningJob (wall)"),
            cell("DeclareMiningJob → ProvideMissingTransactions"),
            cell("PMT.Success → DeclareMiningJob.Success"),
            cell("DeclareMiningJob → DeclareMiningJob.Success"),
            cell("SetCustomMiningJob → Success"),
        );
    }
    println!("\nin-process, sans-IO, p50 in µs (CPU time of one thread; the node's check: CPU of all threads and wall time):");
    println!("| txs | unknown | JDC declare | JDS DeclareMiningJob | JDC missing txs | JDS missing txs | proposal block | node check CPU | node check wall | JDS verdict | validate SetCustomMiningJob |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (case, unknown, _, inproc) in &summary {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.n,
            unknown,
            fmt_us(inproc.p50("JDC: declare (coinbase, merkle check, frame)")),
            fmt_us(inproc.p50("JDS: DeclareMiningJob (decode, coinbase, lookup)")),
            fmt_us(inproc.p50("JDC: ProvideMissingTransactions.Success")),
            fmt_us(inproc.p50("JDS: missing transactions (decode, parse, check)")),
            fmt_us(inproc.p50("JDS: proposal block (build, serialize)")),
            fmt_us(inproc.p50("node: kernel check (CPU, all threads)")),
            fmt_us(inproc.p50("node: kernel check (wall)")),
            fmt_us(inproc.p50("JDS: verdict → Success")),
            fmt_us(inproc.p50("pool: SetCustomMiningJob (decode, validate)")),
        );
    }
    println!(
        "floor: one secp256k1 ECDSA verification (each transaction here has one signature) takes {} µs of CPU",
        fmt_us(ecdsa_verify_us())
    );
    println!("load average at the end: {}", load_average());
    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&base);
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let counts =
        [args.first().copied().unwrap_or(200), args.get(1).copied().unwrap_or(100), args.get(2).copied().unwrap_or(50)];
    sv2_roles::logging::init("warn");
    println!(
        "Job Declaration round trip on loopback, {} cores; load average {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run(counts));
}
