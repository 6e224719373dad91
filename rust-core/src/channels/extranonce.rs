//! Extranonce prefixes that never collide: every channel gets its own slice of the search
//! space.

use std::collections::BTreeSet;

use super::ChannelError;

/// Hands out unique extranonce prefixes: `upstream ‖ counter (big-endian, counter_len bytes)`.
/// Every channel's full extranonce (prefix and rolled part) has the same length, so that
/// channels can share group jobs.
///
/// Prefixes of closed channels come back through [`Self::release`], but only after the tip
/// has moved on ([`Self::new_tip`]): until then a new channel with the same prefix could be
/// sent the same jobs and be credited again for shares the old channel was credited for.
#[derive(Debug, Clone)]
pub struct ExtranonceAllocator {
    upstream: Vec<u8>,
    counter_len: usize,
    full_len: usize,
    next: u64,
    /// Released on the current tip: not reusable yet.
    cooling: BTreeSet<u64>,
    /// Released on an earlier tip: handed out before new counters.
    free: BTreeSet<u64>,
    tip: Option<[u8; 32]>,
}

impl ExtranonceAllocator {
    /// `upstream`: the prefix this layer was given (empty for a pool); `counter_len`: bytes
    /// of it this layer makes unique per channel; `full_len`: the full extranonce length of
    /// every channel (at most 32).
    pub fn new(upstream: &[u8], counter_len: usize, full_len: usize) -> Result<Self, ChannelError> {
        if counter_len == 0 || counter_len > 8 || upstream.len() + counter_len > full_len || full_len > 32 {
            return Err(ChannelError::ExtranonceLayout);
        }
        Ok(ExtranonceAllocator {
            upstream: upstream.to_vec(),
            counter_len,
            full_len,
            next: 0,
            cooling: BTreeSet::new(),
            free: BTreeSet::new(),
            tip: None,
        })
    }

    /// Full extranonce length of every channel.
    pub fn full_len(&self) -> usize {
        self.full_len
    }

    /// Bytes an extended channel rolls: the full length minus its prefix.
    pub fn extended_rollable(&self) -> usize {
        self.full_len - self.upstream.len() - self.counter_len
    }

    fn next_counter(&mut self) -> Result<Vec<u8>, ChannelError> {
        let n = match self.free.pop_first() {
            Some(n) => n,
            None => {
                let max = if self.counter_len >= 8 { u64::MAX } else { (1u64 << (8 * self.counter_len)) - 1 };
                if self.next > max {
                    return Err(ChannelError::ExtranonceExhausted);
                }
                self.next += 1;
                self.next - 1
            }
        };
        Ok(n.to_be_bytes()[8 - self.counter_len..].to_vec())
    }

    /// Takes back a prefix this allocator handed out (either kind), for reuse after the next
    /// tip. A prefix it never handed out is ignored.
    pub fn release(&mut self, prefix: &[u8]) {
        let start = self.upstream.len();
        let Some(counter) = prefix.get(start..start + self.counter_len) else { return };
        if !prefix.starts_with(&self.upstream) {
            return;
        }
        let n = counter.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if n < self.next && !self.free.contains(&n) {
            self.cooling.insert(n);
        }
    }

    /// The tip jobs are mined on is now `prev_hash`: prefixes released on an earlier tip may
    /// be handed out again.
    pub fn new_tip(&mut self, prev_hash: &[u8; 32]) {
        if self.tip.as_ref() != Some(prev_hash) {
            self.tip = Some(*prev_hash);
            self.free.append(&mut self.cooling);
        }
    }

    /// A prefix for an extended channel; the channel rolls [`Self::extended_rollable`] bytes.
    pub fn next_extended(&mut self) -> Result<Vec<u8>, ChannelError> {
        Ok([self.upstream.clone(), self.next_counter()?].concat())
    }

    /// A prefix for a standard channel: unique, padded with zeros to the full length, since a
    /// standard channel rolls nothing.
    pub fn next_standard(&mut self) -> Result<Vec<u8>, ChannelError> {
        let mut p = self.next_extended()?;
        p.resize(self.full_len, 0);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_unique_and_sized() {
        let mut a = ExtranonceAllocator::new(&[0xaa], 2, 12).unwrap();
        let e1 = a.next_extended().unwrap();
        let s1 = a.next_standard().unwrap();
        assert_eq!(e1, vec![0xaa, 0, 0]);
        assert_eq!(s1.len(), 12);
        assert_eq!(&s1[..3], &[0xaa, 0, 1]);
        assert_eq!(a.extended_rollable(), 9);
    }

    #[test]
    fn exhaustion_is_an_error() {
        let mut a = ExtranonceAllocator::new(&[], 1, 4).unwrap();
        for _ in 0..256 {
            a.next_extended().unwrap();
        }
        assert_eq!(a.next_extended(), Err(ChannelError::ExtranonceExhausted));
        assert!(ExtranonceAllocator::new(&[0; 30], 4, 32).is_err());
    }
}
