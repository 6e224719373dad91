//! Job ids as the consumer sees them: one numbering per channel across every pool, so that a
//! job of the pool now in use never takes the id of an abandoned pool's job that devices or
//! downstream endpoints may still hold.

use std::collections::{HashMap, VecDeque};

/// Ids kept for translation back; older ones are forgotten (a pool keeps far fewer jobs live
/// on one tip).
pub(super) const KEPT: usize = 256;

/// The mapping of one channel.
#[derive(Debug)]
pub(super) struct JobIds {
    to_pool: HashMap<u32, u32>,
    to_local: HashMap<u32, u32>,
    order: VecDeque<u32>,
    next: u32,
}

impl Default for JobIds {
    fn default() -> Self {
        JobIds { to_pool: HashMap::new(), to_local: HashMap::new(), order: VecDeque::new(), next: 1 }
    }
}

impl JobIds {
    /// The consumer's id for the pool's `job_id`, made on first sight.
    pub(super) fn local(&mut self, job_id: u32) -> u32 {
        if let Some(local) = self.to_local.get(&job_id) {
            return *local;
        }
        let local = self.next;
        // Zero is never used, so that a consumer's default value names no job.
        self.next = self.next.wrapping_add(1).max(1);
        self.to_local.insert(job_id, local);
        self.to_pool.insert(local, job_id);
        self.order.push_back(local);
        while self.order.len() > KEPT {
            if let Some(old) = self.order.pop_front() {
                if let Some(pool) = self.to_pool.remove(&old) {
                    self.to_local.remove(&pool);
                }
            }
        }
        local
    }

    /// The pool's id for the consumer's `local` id, on the current connection.
    pub(super) fn pool(&self, local: u32) -> Option<u32> {
        self.to_pool.get(&local).copied()
    }

    /// A new connection: earlier ids name nothing on it (numbering goes on).
    pub(super) fn reset(&mut self) {
        self.to_pool.clear();
        self.to_local.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_never_repeat_across_connections_and_stay_bounded() {
        let mut ids = JobIds::default();
        let a = ids.local(1);
        assert_eq!(ids.local(1), a);
        assert_eq!(ids.pool(a), Some(1));
        ids.reset();
        // The next pool's job 1 is another job.
        let b = ids.local(1);
        assert_ne!(a, b);
        assert_eq!(ids.pool(a), None);
        for j in 2..(KEPT as u32 + 10) {
            ids.local(j);
        }
        assert_eq!(ids.pool(b), None);
        assert_eq!(ids.to_pool.len(), KEPT);
        assert_eq!(ids.to_local.len(), KEPT);
    }
}
