//! Variable difficulty: keep each channel near a chosen share rate, from the shares it
//! actually finds.

use super::target::{harder, hashes_per_share, target_for_hashrate, TargetLe};

/// Vardiff state of one channel. Time is whatever monotonic seconds the caller hands in.
#[derive(Debug, Clone)]
pub struct Vardiff {
    shares_per_minute: f64,
    window_start: u64,
    shares: u32,
    /// Seconds a window lasts before the rate is judged.
    min_window: u64,
}

impl Vardiff {
    /// Aims at `shares_per_minute`, judging the rate over windows of at least `min_window`
    /// seconds.
    pub fn new(shares_per_minute: f64, min_window: u64, now: u64) -> Self {
        Vardiff { shares_per_minute, window_start: now, shares: 0, min_window: min_window.max(1) }
    }

    /// The target for a channel that announces `hashrate` h/s, never easier than `max_target`.
    pub fn initial_target(&self, hashrate: f64, max_target: TargetLe) -> TargetLe {
        harder(target_for_hashrate(hashrate, self.shares_per_minute), max_target)
    }

    /// Starts a new window at `now` (after the target was set from outside the vardiff).
    pub fn restart(&mut self, now: u64) {
        self.window_start = now;
        self.shares = 0;
    }

    /// Whether the current window has lasted its minimum length at `now`.
    pub fn window_done(&self, now: u64) -> bool {
        now.saturating_sub(self.window_start) >= self.min_window
    }

    /// Counts an accepted share.
    pub fn on_share(&mut self) {
        self.shares = self.shares.saturating_add(1);
    }

    /// After a window, the target that would give the aimed rate, if it differs enough from
    /// `current` (more than 2× either way, or any change once shares arrive 3× too fast);
    /// never easier than `max_target`. Starts a new window when it judges.
    pub fn retarget(&mut self, now: u64, current: TargetLe, max_target: TargetLe) -> Option<TargetLe> {
        let elapsed = now.saturating_sub(self.window_start);
        let expected = self.shares_per_minute * elapsed as f64 / 60.0;
        let too_fast = f64::from(self.shares) > 3.0 * expected.max(1.0);
        if elapsed < self.min_window && !too_fast {
            return None;
        }
        let observed_hashrate = if self.shares == 0 {
            // Nothing found: assume the channel is 4× slower than its target implies.
            hashes_per_share(&current) * self.shares_per_minute / 60.0 / 4.0
        } else {
            f64::from(self.shares) * hashes_per_share(&current) / elapsed.max(1) as f64
        };
        self.window_start = now;
        let ratio = if self.shares == 0 { 0.0 } else { f64::from(self.shares) / expected.max(1e-9) };
        self.shares = 0;
        if (0.5..=2.0).contains(&ratio) {
            return None;
        }
        let next = harder(target_for_hashrate(observed_hashrate, self.shares_per_minute), max_target);
        (next != current).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::super::target::{difficulty, MAX_TARGET};
    use super::*;

    #[test]
    fn converges_towards_the_real_hashrate() {
        let real_hashrate = 1e9;
        let mut v = Vardiff::new(10.0, 60, 0);
        let mut target = v.initial_target(1e6, MAX_TARGET); // announced far too low
        let mut now = 0;
        for _ in 0..20 {
            now += 60;
            let shares = (real_hashrate * 60.0 / hashes_per_share(&target)).round() as u32;
            for _ in 0..shares {
                v.on_share();
            }
            if let Some(t) = v.retarget(now, target, MAX_TARGET) {
                target = t;
            }
        }
        let rate = real_hashrate * 60.0 / hashes_per_share(&target);
        assert!((5.0..=20.0).contains(&rate), "rate {rate}, difficulty {}", difficulty(&target));
    }

    #[test]
    fn silence_makes_it_easier_but_not_past_the_maximum() {
        let mut v = Vardiff::new(10.0, 60, 0);
        let t = target_for_hashrate(1e12, 10.0);
        let easier = v.retarget(60, t, MAX_TARGET).unwrap();
        assert!(hashes_per_share(&easier) < hashes_per_share(&t));
        let mut v = Vardiff::new(10.0, 60, 0);
        assert_eq!(v.retarget(60, t, t), None);
    }
}
