//! The hashing threads: SHA-256d of block headers from a precomputed midstate, each thread on
//! its own slice of the search space, handing shares that meet the channel target back to the
//! connection task.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sha2::digest::generic_array::GenericArray;
use sv2::channels::client::{ClientChannel, Work};
use sv2::channels::hash::header_bytes;
use sv2::channels::target::hash_meets_target;
use tokio::sync::mpsc;

/// SHA-256's initial state.
const IV: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// Hashes between two looks at whether the work changed.
const BATCH: u64 = 1 << 14;

/// SHA-256d of an 80-byte header whose first 64 bytes are already compressed into `midstate`;
/// `tail` is the last 16 bytes (merkle root tail, nTime, nBits, nonce).
fn sha256d_from_midstate(midstate: &[u32; 8], tail: &[u8; 16]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..16].copy_from_slice(tail);
    block[16] = 0x80;
    block[56..].copy_from_slice(&(80u64 * 8).to_be_bytes());
    let mut state = *midstate;
    sha2::compress256(&mut state, &[GenericArray::clone_from_slice(&block)]);
    let mut second = [0u8; 64];
    for (chunk, word) in second[..32].chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    second[32] = 0x80;
    second[56..].copy_from_slice(&(32u64 * 8).to_be_bytes());
    let mut out_state = IV;
    sha2::compress256(&mut out_state, &[GenericArray::clone_from_slice(&second)]);
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(out_state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn midstate(header: &[u8; 80]) -> [u32; 8] {
    let mut state = IV;
    sha2::compress256(&mut state, &[GenericArray::clone_from_slice(&header[..64])]);
    state
}

/// A header that meets the share target.
#[derive(Debug, Clone)]
pub struct Found {
    /// The channel it was mined on.
    pub channel_id: u32,
    /// The work generation it belongs to (shares of older generations are dropped).
    pub generation: u64,
    /// The work it solves.
    pub work: Work,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
}

/// What the threads hash: a channel's state, replaced whenever a job, tip or target changes.
#[derive(Debug)]
pub struct Shared {
    current: Mutex<Option<(u64, Arc<ClientChannel>)>>,
    generation: AtomicU64,
    stop: AtomicBool,
    /// Headers hashed so far, all threads.
    pub hashes: AtomicU64,
}

impl Shared {
    /// Nothing to hash yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Shared {
            current: Mutex::new(None),
            generation: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            hashes: AtomicU64::new(0),
        })
    }

    /// Hands the threads a new state of the channel (None: pause).
    pub fn publish(&self, channel: Option<ClientChannel>) {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        *cur = channel.map(|c| (generation, Arc::new(c)));
    }

    /// The generation of the work being hashed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn snapshot(&self) -> Option<(u64, Arc<ClientChannel>)> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops every thread.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Starts `threads` hashing threads.
pub fn spawn(threads: usize, shared: Arc<Shared>, found: mpsc::Sender<Found>) -> Vec<JoinHandle<()>> {
    (0..threads)
        .map(|index| {
            let shared = shared.clone();
            let found = found.clone();
            std::thread::Builder::new()
                .name(format!("sv2-miner-{index}"))
                .spawn(move || run(index as u32, threads as u32, &shared, &found))
                .expect("spawning a hashing thread")
        })
        .collect()
}

fn run(index: u32, threads: u32, shared: &Shared, found: &mpsc::Sender<Found>) {
    while !shared.stopped() {
        let Some((generation, channel)) = shared.snapshot() else {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        };
        if !mine_generation(index, threads, generation, &channel, shared, found) {
            return;
        }
        // Wait for the next generation rather than spin on an exhausted or absent job.
        while shared.generation() == generation && !shared.stopped() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Hashes one generation until it is replaced. Returns false when the shares channel closed.
fn mine_generation(
    index: u32,
    threads: u32,
    generation: u64,
    channel: &ClientChannel,
    shared: &Shared,
    found: &mpsc::Sender<Found>,
) -> bool {
    let mut unit: u64 = 0;
    loop {
        // Each unit is a slice of the search space no other thread or unit touches: its own
        // extranonce on extended channels, its own version bits on standard ones (or its own
        // nonces and nTime where the version is fixed).
        let size = channel.extranonce_size();
        let mut extranonce = vec![0u8; size];
        let tag = ((u64::from(index)) << 48) | unit;
        let tag_bytes = tag.to_be_bytes();
        let n = size.min(8);
        extranonce[..n].copy_from_slice(&tag_bytes[8 - n..]);
        let Some(work) = channel.work(&extranonce) else { return true };
        let (version, ntime, nonce_start, nonce_step) = if size > 0 {
            (work.version, work.min_ntime, 0, 1)
        } else if work.version_mask != 0 {
            let roll = (u64::from(index) + unit * u64::from(threads)) as u32;
            let shift = work.version_mask.trailing_zeros();
            let rolled = (roll << shift) & work.version_mask;
            ((work.version & !work.version_mask) | rolled, work.min_ntime, 0, 1)
        } else {
            (work.version, work.min_ntime.wrapping_add(unit as u32), index, threads)
        };
        let header = header_bytes(version, &work.prev_hash, &work.merkle_root, ntime, work.nbits, 0);
        let mid = midstate(&header);
        let mut tail = [0u8; 16];
        tail[..12].copy_from_slice(&header[64..76]);
        let per_unit = (1u64 << 32) / u64::from(nonce_step);
        let mut done = 0u64;
        let mut nonce = nonce_start;
        while done < per_unit {
            let batch = (per_unit - done).min(BATCH);
            for _ in 0..batch {
                tail[12..].copy_from_slice(&nonce.to_le_bytes());
                let hash = sha256d_from_midstate(&mid, &tail);
                if hash_meets_target(&hash, &work.target) {
                    let share = Found {
                        channel_id: channel.channel_id(),
                        generation,
                        work: work.clone(),
                        nonce,
                        ntime,
                        version,
                    };
                    if found.blocking_send(share).is_err() {
                        return false;
                    }
                }
                nonce = nonce.wrapping_add(nonce_step);
            }
            done += batch;
            shared.hashes.fetch_add(batch, Ordering::Relaxed);
            if shared.stopped() || shared.generation() != generation {
                return true;
            }
        }
        unit += 1;
    }
}

/// Hashes for `millis` on one thread and returns hashes per second (for the nominal hashrate
/// announced when opening a channel).
pub fn measure_hashrate(millis: u64) -> f64 {
    let header = [0x5a; 80];
    let mid = midstate(&header);
    let mut tail = [0u8; 16];
    let start = std::time::Instant::now();
    let mut n: u64 = 0;
    while start.elapsed().as_millis() < u128::from(millis) {
        for i in 0..4096u32 {
            tail[12..].copy_from_slice(&i.to_le_bytes());
            std::hint::black_box(sha256d_from_midstate(&mid, &tail));
        }
        n += 4096;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sv2::channels::hash::sha256d;

    #[test]
    fn midstate_hash_equals_plain_sha256d() {
        let mut header = [0u8; 80];
        for (i, b) in header.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        let mut tail = [0u8; 16];
        tail.copy_from_slice(&header[64..]);
        assert_eq!(sha256d_from_midstate(&midstate(&header), &tail), sha256d(&header));
    }
}
