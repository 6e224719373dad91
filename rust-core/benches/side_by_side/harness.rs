//! Timing: every routine of a case is calibrated, then sampled in interleaved rounds, so that a
//! change in machine load during the run touches ours, the reference and the floor alike. A
//! case reports the median over the rounds of each routine's nanoseconds per operation.
//!
//! The clock is this thread's CPU time: on a shared machine the benchmark is descheduled
//! whenever other processes want the cores, and wall time would count those pauses.

use std::hint::black_box;
use std::time::Duration;

use cpu_time::ThreadTime;

/// Starts the sample clock.
pub fn start() -> ThreadTime {
    ThreadTime::now()
}

/// Runs an operation `n` times and returns the time the timed part took. Routines that need
/// fresh state (a new prev-hash, a new batch of shares) prepare it before starting the clock.
pub type Routine<'a> = &'a mut dyn FnMut(u64) -> Duration;

/// A routine timing `f` back to back, with its result kept from the optimiser.
pub fn each<T>(mut f: impl FnMut() -> T) -> impl FnMut(u64) -> Duration {
    move |n| {
        let clock = start();
        for _ in 0..n {
            black_box(f());
        }
        clock.elapsed()
    }
}

/// Median ns/op and the spread of the samples: (p75 − p25) / median.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub ns: f64,
    pub spread: f64,
}

/// One measured case.
pub struct Line {
    pub area: &'static str,
    pub case: String,
    pub ours: Stat,
    pub reference: Option<Stat>,
    pub floor: Option<(String, Stat)>,
}

pub struct Harness {
    filters: Vec<String>,
    sample: Duration,
    rounds: usize,
    pub lines: Vec<Line>,
    /// Raw primitives on their own: (name, cost).
    pub floors: Vec<(String, Stat)>,
}

impl Harness {
    /// `filters`: run only cases whose name contains one of them (all when empty).
    pub fn new(filters: Vec<String>, sample: Duration, rounds: usize) -> Self {
        Harness { filters, sample, rounds, lines: Vec::new(), floors: Vec::new() }
    }

    /// Whether a case of this name is selected.
    pub fn wants(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Measures ours, the reference and the floor of one case side by side.
    pub fn case<'a>(
        &mut self,
        area: &'static str,
        case: &str,
        ours: Routine<'a>,
        reference: Option<Routine<'a>>,
        floor: Option<(&str, Routine<'a>)>,
    ) {
        if !self.wants(&format!("{area} {case}")) {
            return;
        }
        let floor_name = floor.as_ref().map(|(n, _)| n.to_string());
        let mut routines: Vec<Routine<'a>> = vec![ours];
        let has_ref = reference.is_some();
        routines.extend(reference);
        routines.extend(floor.map(|(_, r)| r));
        let stats = self.measure(&mut routines);
        let ours = stats[0];
        let reference = has_ref.then(|| stats[1]);
        let floor = floor_name.map(|n| (n, stats[stats.len() - 1]));
        let line = Line { area, case: case.to_string(), ours, reference, floor };
        eprintln!("  {:<44} done", format!("{area} {case}"));
        self.lines.push(line);
    }

    /// Measures a raw primitive on its own, for the table of floors.
    pub fn primitive(&mut self, name: &str, routine: Routine<'_>) {
        if self.wants(&format!("primitives {name}")) {
            let s = self.measure(&mut [routine])[0];
            eprintln!("  {:<44} done", format!("primitives {name}"));
            self.floors.push((name.to_string(), s));
        }
    }

    fn measure(&self, routines: &mut [Routine<'_>]) -> Vec<Stat> {
        let iters: Vec<u64> = routines.iter_mut().map(|r| self.calibrate(r)).collect();
        let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(self.rounds); routines.len()];
        for round in 0..self.rounds {
            // Rotate who goes first, so no routine always runs right after the same other one.
            for k in 0..routines.len() {
                let i = (round + k) % routines.len();
                let d = routines[i](iters[i]);
                samples[i].push(d.as_nanos() as f64 / iters[i] as f64);
            }
        }
        samples.into_iter().map(stat).collect()
    }

    /// Iterations that take about one sample's time.
    fn calibrate(&self, routine: &mut Routine<'_>) -> u64 {
        let mut n = 1u64;
        loop {
            let d = routine(n);
            if d >= self.sample / 4 || n >= 1 << 30 {
                let per = d.as_nanos().max(1) as f64 / n as f64;
                return ((self.sample.as_nanos() as f64 / per) as u64).max(1);
            }
            n *= 2;
        }
    }
}

fn stat(mut v: Vec<f64>) -> Stat {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let median = q(0.5);
    Stat { ns: median, spread: (q(0.75) - q(0.25)) / median }
}
