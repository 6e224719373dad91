//! Share validation on one core: a server channel checking SubmitShares against its active job
//! (job lookup, extranonce size, version bits, nTime window, header hash against the target,
//! duplicate check, accounting). Every share is valid and distinct; none finds a block.
//!
//! Both sides hash the same coinbase: the reference channel (channels_sv2 8.0.0) builds a job
//! from a NewTemplate, and our job is given that job's coinbase prefix, suffix and merkle path.
//! Before timing, one share goes through both and must give the same header hash.
//!
//! Shares are timed in batches of [`SHARES_PER_TIP`], each on a new previous hash (which
//! empties both duplicate sets); the reference's `validate_share` takes its share by value, so
//! its shares are built before the clock starts.
//!
//! Floors: SHA-256d of the 80-byte header (standard: the merkle root is fixed per job), plus
//! SHA-256d of the coinbase and one SHA-256d per merkle level (extended), with the sha2 crate
//! our build uses.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash as _;
use bitcoin::{Amount, ScriptBuf, Target, TxOut};
use channels_sv2::extranonce_manager::ExtranonceAllocator;
use channels_sv2::server::extended::ExtendedChannel;
use channels_sv2::server::share_accounting::ShareValidationResult;
use channels_sv2::server::standard::StandardChannel;
use mining_sv2::{SubmitSharesExtendedOwned, SubmitSharesStandard};
use sha2::{Digest, Sha256};
use sv2::channels::coinbase::CoinbaseParts;
use sv2::channels::server::{ChannelKind, Job, PrevHash, ServerChannel, Share};
use sv2::channels::target::{target_from_nbits, MAX_TARGET};
use sv2::channels::vardiff::Vardiff;
use sv2::Message;
use template_distribution_sv2::{NewTemplateOwned, SetNewPrevHashOwned};

use crate::data::{merkle_path, payout_script, witness_commitment_output, MERKLE_DEPTH};
use crate::harness::{each, start, Harness};

/// A mainnet-like network target: no share of the run meets it.
const NBITS: u32 = 0x1703_0ecd;
/// The tip's first nTime; shares use it plus one.
const TIP_TIME: u32 = 1_780_000_000;
/// Full extranonce: a 6-byte pool prefix, a 2-byte channel index and 8 rolled bytes.
const TOTAL_EXTRANONCE: u8 = 16;
const POOL_PREFIX: [u8; 6] = [0xb0; 6];
const VERSION: u32 = 0x2000_0000;
const POOL_TAG: &str = "libsv2-bench";

/// Shares a channel validates on one previous hash in the timed batches: a pool channel sees
/// tens to hundreds between blocks, a proxy's aggregated channel more. The duplicate set grows
/// with it, and past what the caches hold every insertion costs a miss.
const SHARES_PER_TIP: u64 = 1000;

/// Times `n` validations as batches of at most [`SHARES_PER_TIP`]; `batch(k)` moves both
/// channels to a new tip, then times `k` validations.
fn on_fresh_tips(n: u64, batch: &mut impl FnMut(u64) -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < n {
        let k = SHARES_PER_TIP.min(n - done);
        total += batch(k);
        done += k;
    }
    total
}

fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// A future template for epoch `epoch` (only the id changes, so every epoch's coinbase is the
/// same).
fn template(epoch: u64) -> NewTemplateOwned {
    NewTemplateOwned {
        template_id: epoch,
        future_template: true,
        version: VERSION,
        coinbase_tx_version: 2,
        coinbase_prefix: vec![0x03, 0x40, 0x0d, 0x03].try_into().expect("short"),
        coinbase_tx_input_sequence: 0xffff_ffff,
        coinbase_tx_value_remaining: 312_500_000,
        coinbase_tx_outputs_count: 1,
        coinbase_tx_outputs: witness_commitment_output().try_into().expect("short"),
        coinbase_tx_locktime: 0,
        merkle_path: merkle_path().into_iter().map(Into::into).collect::<Vec<_>>().try_into().expect("12 items"),
    }
}

fn payout() -> Vec<TxOut> {
    vec![TxOut { value: Amount::from_sat(312_500_000), script_pubkey: ScriptBuf::from(payout_script()) }]
}

/// The previous hash of epoch `epoch`: a new one each time, so duplicate sets are emptied.
fn prev_hash(epoch: u64) -> [u8; 32] {
    let mut h = [0x42; 32];
    h[..8].copy_from_slice(&epoch.to_le_bytes());
    h
}

fn reference_prev_hash(epoch: u64) -> SetNewPrevHashOwned {
    SetNewPrevHashOwned {
        template_id: epoch,
        prev_hash: prev_hash(epoch).into(),
        header_timestamp: TIP_TIME,
        n_bits: NBITS,
        target: target_from_nbits(NBITS).into(),
    }
}

fn our_prev_hash(epoch: u64) -> PrevHash {
    PrevHash { prev_hash: prev_hash(epoch), nbits: NBITS, min_ntime: TIP_TIME, block_target: target_from_nbits(NBITS) }
}

fn vardiff() -> Vardiff {
    Vardiff::new(10.0, 60, 0)
}

/// The 8 rolled extranonce bytes of share `i`.
fn rolled(i: u64) -> [u8; 8] {
    i.to_le_bytes()
}

/// A reference channel and ours, moved to a new tip before each timed batch.
struct Pair<R> {
    reference: R,
    ours: ServerChannel,
    job: Arc<Job>,
    epoch: u64,
}

trait ReferenceChannel {
    fn new_epoch(&mut self, epoch: u64) -> u32;
}

impl ReferenceChannel for ExtendedChannel {
    fn new_epoch(&mut self, epoch: u64) -> u32 {
        self.on_new_template(template(epoch), payout()).expect("job");
        self.on_set_new_prev_hash(reference_prev_hash(epoch)).expect("activates");
        self.get_active_job().expect("active job").get_job_id()
    }
}

impl ReferenceChannel for StandardChannel {
    fn new_epoch(&mut self, epoch: u64) -> u32 {
        self.on_new_template(template(epoch), payout()).expect("job");
        self.on_set_new_prev_hash(reference_prev_hash(epoch)).expect("activates");
        self.get_active_job().expect("active job").get_job_id()
    }
}

impl<R: ReferenceChannel> Pair<R> {
    /// Starts a new epoch on both; returns (reference job id, our job id).
    fn new_epoch(&mut self) -> (u32, u32) {
        self.epoch += 1;
        let theirs = self.reference.new_epoch(self.epoch);
        let ours = self.epoch as u32;
        self.ours.add_job(ours, self.job.clone(), None).expect("job fits");
        self.ours.activate(ours, our_prev_hash(self.epoch)).expect("activates");
        (theirs, ours)
    }
}

fn reference_extended(alloc: &mut ExtranonceAllocator, rollable: u16) -> ExtendedChannel {
    let prefix = alloc.allocate_extended(rollable.into()).expect("prefix");
    let mut ch = ExtendedChannel::new_for_pool(
        1,
        "bench".into(),
        prefix,
        Target::MAX,
        1e12,
        true,
        rollable,
        1000,
        1000.0,
        POOL_TAG.into(),
        None,
    )
    .expect("channel");
    ch.set_target(Target::from_le_bytes(MAX_TARGET)).expect("target");
    ch
}

fn reference_standard(alloc: &mut ExtranonceAllocator) -> StandardChannel {
    let prefix = alloc.allocate_standard().expect("prefix");
    let mut ch = StandardChannel::new_for_pool(
        2,
        "bench".into(),
        prefix,
        Target::MAX,
        1e12,
        1000,
        1000.0,
        POOL_TAG.into(),
        None,
    )
    .expect("channel");
    ch.set_target(Target::from_le_bytes(MAX_TARGET)).expect("target");
    ch
}

/// Our job with the coinbase and merkle path of the reference channel's active job.
fn our_job(reference: &ExtendedChannel) -> Arc<Job> {
    let j = reference.get_active_job().expect("active job");
    let path: Vec<[u8; 32]> = j.get_merkle_path().iter().map(|h| h.to_array()).collect();
    assert_eq!(path, merkle_path());
    let coinbase = CoinbaseParts {
        prefix: j.get_coinbase_tx_prefix_without_bip141(),
        suffix: j.get_coinbase_tx_suffix_without_bip141(),
        segwit: true,
        extranonce_len: usize::from(TOTAL_EXTRANONCE),
    };
    Arc::new(Job { template_id: Some(0), version: VERSION, version_rolling_allowed: true, coinbase, merkle_path: path })
}

fn extended(h: &mut Harness, reference: ExtendedChannel, job: Arc<Job>) {
    let rollable = reference.get_rollable_extranonce_size();
    let prefix = reference.get_extranonce_prefix().to_vec();
    let kind = ChannelKind::Extended { extranonce_size: rollable };
    let ours = ServerChannel::new(1, kind, "bench", prefix, MAX_TARGET, MAX_TARGET, vardiff());
    let coinbase_len = job.coinbase.prefix.len() + usize::from(TOTAL_EXTRANONCE) + job.coinbase.suffix.len();
    let mut pair = Pair { reference, ours, job, epoch: 0 };

    // The same share must give the same hash on both sides.
    let (theirs_id, ours_id) = pair.new_epoch();
    let share =
        |job_id, i: u64| Share { job_id, nonce: i as u32, ntime: TIP_TIME + 1, version: VERSION, extranonce: &[] };
    let ex = rolled(7);
    let ours_hash =
        pair.ours.validate(&Share { extranonce: &ex, ..share(ours_id, 7) }, 0, TIP_TIME + 60).expect("valid");
    let theirs_hash = match pair.reference.validate_share(extended_share(theirs_id, 7)) {
        Ok(ShareValidationResult::Valid(h)) => h.to_byte_array(),
        other => panic!("reference refused a valid share: {other:?}"),
    };
    assert_eq!(ours_hash.hash, theirs_hash, "extended: the two channels hash different headers");

    let pair = std::cell::RefCell::new(pair);
    let mut ours_batch = |n: u64| {
        let mut p = pair.borrow_mut();
        let (_, job_id) = p.new_epoch();
        let rolled: Vec<[u8; 8]> = (0..n).map(rolled).collect();
        let clock = start();
        let mut ok = 0u64;
        for (i, ex) in rolled.iter().enumerate() {
            let s = Share { extranonce: ex, ..share(job_id, i as u64) };
            ok += u64::from(black_box(p.ours.validate(&s, i as u32, TIP_TIME + 60)).is_ok());
        }
        let d = clock.elapsed();
        assert_eq!(ok, n, "ours refused valid shares");
        d
    };
    let mut theirs_batch = |n: u64| {
        let mut p = pair.borrow_mut();
        let (job_id, _) = p.new_epoch();
        let shares: Vec<SubmitSharesExtendedOwned> = (0..n).map(|i| extended_share(job_id, i)).collect();
        let clock = start();
        let mut ok = 0u64;
        for s in shares {
            ok += u64::from(matches!(black_box(p.reference.validate_share(s)), Ok(ShareValidationResult::Valid(_))));
        }
        let d = clock.elapsed();
        assert_eq!(ok, n, "the reference refused valid shares");
        d
    };
    let mut ours = |n| on_fresh_tips(n, &mut ours_batch);
    let mut theirs = |n| on_fresh_tips(n, &mut theirs_batch);
    let coinbase = vec![0x17u8; coinbase_len];
    let path = merkle_path();
    let mut nonce = 0u32;
    let mut floor = each(|| {
        let mut node = sha256d(&coinbase);
        let mut buf = [0u8; 64];
        for sibling in &path {
            buf[..32].copy_from_slice(&node);
            buf[32..].copy_from_slice(sibling);
            node = sha256d(&buf);
        }
        nonce = nonce.wrapping_add(1);
        sha256d(&header(&node, nonce))
    });
    let floor_name = format!("SHA-256d {coinbase_len} B + {MERKLE_DEPTH}x64 B + 80 B");
    h.case("shares", "extended share validation", &mut ours, Some(&mut theirs), Some((&floor_name, &mut floor)));
}

fn extended_share(job_id: u32, i: u64) -> SubmitSharesExtendedOwned {
    SubmitSharesExtendedOwned {
        channel_id: 1,
        sequence_number: i as u32,
        job_id,
        nonce: i as u32,
        ntime: TIP_TIME + 1,
        version: VERSION,
        extranonce: rolled(i).to_vec().try_into().expect("8 bytes"),
    }
}

/// An 80-byte header over `merkle_root` with `nonce`.
fn header(merkle_root: &[u8; 32], nonce: u32) -> [u8; 80] {
    let mut h = [0u8; 80];
    h[..4].copy_from_slice(&VERSION.to_le_bytes());
    h[4..36].copy_from_slice(&prev_hash(1));
    h[36..68].copy_from_slice(merkle_root);
    h[68..72].copy_from_slice(&(TIP_TIME + 1).to_le_bytes());
    h[72..76].copy_from_slice(&NBITS.to_le_bytes());
    h[76..].copy_from_slice(&nonce.to_le_bytes());
    h
}

fn standard(h: &mut Harness, alloc: &mut ExtranonceAllocator, job: Arc<Job>) {
    let mut reference = reference_standard(alloc);
    let prefix = reference.get_extranonce_prefix().to_vec();
    reference.new_epoch(0);
    let ours = ServerChannel::new(2, ChannelKind::Standard, "bench", prefix, MAX_TARGET, MAX_TARGET, vardiff());
    let mut pair = Pair { reference, ours, job, epoch: 0 };

    let (theirs_id, ours_id) = pair.new_epoch();
    let ref_root = pair.reference.get_active_job().expect("active job").get_merkle_root().to_array();
    let ours_root = match pair.ours.job_message(ours_id, None) {
        Some(Message::NewMiningJob(j)) => j.merkle_root,
        other => panic!("expected a NewMiningJob, got {other:?}"),
    };
    assert_eq!(ours_root, ref_root, "standard: the two jobs have different merkle roots");
    let share =
        |job_id, i: u64| Share { job_id, nonce: i as u32, ntime: TIP_TIME + 1, version: VERSION, extranonce: &[] };
    let ours_hash = pair.ours.validate(&share(ours_id, 7), 0, TIP_TIME + 60).expect("valid");
    let theirs_hash = match pair.reference.validate_share(standard_share(theirs_id, 7)) {
        Ok(ShareValidationResult::Valid(h)) => h.to_byte_array(),
        other => panic!("reference refused a valid share: {other:?}"),
    };
    assert_eq!(ours_hash.hash, theirs_hash, "standard: the two channels hash different headers");

    let pair = std::cell::RefCell::new(pair);
    let mut ours_batch = |n: u64| {
        let mut p = pair.borrow_mut();
        let (_, job_id) = p.new_epoch();
        let clock = start();
        let mut ok = 0u64;
        for i in 0..n {
            ok += u64::from(black_box(p.ours.validate(&share(job_id, i), i as u32, TIP_TIME + 60)).is_ok());
        }
        let d = clock.elapsed();
        assert_eq!(ok, n, "ours refused valid shares");
        d
    };
    let mut theirs_batch = |n: u64| {
        let mut p = pair.borrow_mut();
        let (job_id, _) = p.new_epoch();
        let shares: Vec<SubmitSharesStandard> = (0..n).map(|i| standard_share(job_id, i)).collect();
        let clock = start();
        let mut ok = 0u64;
        for s in shares {
            ok += u64::from(matches!(black_box(p.reference.validate_share(s)), Ok(ShareValidationResult::Valid(_))));
        }
        let d = clock.elapsed();
        assert_eq!(ok, n, "the reference refused valid shares");
        d
    };
    let mut ours = |n| on_fresh_tips(n, &mut ours_batch);
    let mut theirs = |n| on_fresh_tips(n, &mut theirs_batch);
    let mut nonce = 0u32;
    let mut floor = each(|| {
        nonce = nonce.wrapping_add(1);
        sha256d(&header(&ours_root, nonce))
    });
    h.case("shares", "standard share validation", &mut ours, Some(&mut theirs), Some(("SHA-256d 80 B", &mut floor)));
}

fn standard_share(job_id: u32, i: u64) -> SubmitSharesStandard {
    SubmitSharesStandard {
        channel_id: 2,
        sequence_number: i as u32,
        job_id,
        nonce: i as u32,
        ntime: TIP_TIME + 1,
        version: VERSION,
    }
}

pub fn run(h: &mut Harness) {
    if h.wants("shares extended share validation") || h.wants("shares standard share validation") {
        let mut alloc = ExtranonceAllocator::new(POOL_PREFIX.to_vec(), TOTAL_EXTRANONCE, 1 << 16).expect("allocator");
        let rollable = alloc.rollable_extranonce_size();
        assert_eq!(rollable, 8, "the allocator leaves 8 rolled bytes");
        let mut reference = reference_extended(&mut alloc, rollable.into());
        reference.new_epoch(0);
        // One template and one pool tag: the standard channel's coinbase is the same.
        let job = our_job(&reference);
        extended(h, reference, job.clone());
        standard(h, &mut alloc, job);
    }
    let mut n = 0u32;
    let root = [0x5c; 32];
    h.primitive(
        "SHA-256d of an 80-byte header (sha2)",
        &mut each(|| {
            n = n.wrapping_add(1);
            sha256d(&header(&root, n))
        }),
    );
    let node = [0x3a; 64];
    h.primitive("SHA-256d of a 64-byte merkle node (sha2)", &mut each(|| sha256d(black_box(&node))));
}
