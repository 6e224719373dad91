//! The pool's counters and a Prometheus `/metrics` endpoint (text format 0.0.4, hand-written:
//! a handful of counters needs no metrics library).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sv2::channels::ShareError;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::jds::JdsStats;

/// Counters shared by every task of the pool.
#[derive(Debug, Default)]
pub struct Metrics {
    /// TCP connections accepted.
    pub connections_total: AtomicU64,
    /// Connections open now (handshake done).
    pub connections_open: AtomicU64,
    /// Connections refused because the pool was full.
    pub connections_refused: AtomicU64,
    /// Connections that failed before or during setup (bad handshake, bad message, timeout).
    pub connections_failed: AtomicU64,
    /// Channels open now.
    pub channels_open: AtomicU64,
    /// Shares accepted.
    pub shares_accepted: AtomicU64,
    /// Sum of the accepted shares' difficulties (an f64's bits: a block's difficulty can be
    /// far beyond what an integer in millionths holds).
    pub difficulty_sum: AtomicU64,
    /// Connections closed for sending too many invalid shares.
    pub connections_closed_invalid: AtomicU64,
    /// Shares rejected, by error code ([`ShareError::ALL`] order).
    pub shares_rejected: [AtomicU64; ShareError::ALL.len()],
    /// Blocks found by shares.
    pub blocks_found: AtomicU64,
    /// Found blocks that became the node's tip.
    pub blocks_accepted: AtomicU64,
    /// Templates received from the template provider.
    pub templates: AtomicU64,
    /// New tips (SetNewPrevHash) received from the template provider.
    pub tips: AtomicU64,
    /// Connections made to the template provider.
    pub tp_connections: AtomicU64,
    /// Whether the template provider is connected (0 or 1).
    pub tp_connected: AtomicU64,
    /// Bytes of Noise frames sent to miners.
    pub bytes_out: AtomicU64,
    /// Bytes of Noise frames received from miners.
    pub bytes_in: AtomicU64,
    /// Time from the template provider's SetNewPrevHash to a connection's SetNewPrevHash
    /// going out, microseconds: total and count, and the largest seen.
    pub tip_to_job_us_sum: AtomicU64,
    /// See [`Self::tip_to_job_us_sum`].
    pub tip_to_job_count: AtomicU64,
    /// See [`Self::tip_to_job_us_sum`].
    pub tip_to_job_us_max: AtomicU64,
    /// Time from a share's arrival to its answer going out, microseconds (sum and count).
    pub share_answer_us_sum: AtomicU64,
    /// See [`Self::share_answer_us_sum`].
    pub share_answer_count: AtomicU64,
    /// Accepted shares per user (for the `user` label), bounded to [`MAX_USER_LABELS`].
    pub per_user: Mutex<BTreeMap<String, u64>>,
}

/// Users given their own label; the rest are summed under `user="other"`.
pub const MAX_USER_LABELS: usize = 1000;

impl Metrics {
    /// Counts a rejected share.
    pub fn rejected(&self, e: ShareError) {
        if let Some(i) = ShareError::ALL.iter().position(|k| *k == e) {
            self.shares_rejected[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts an accepted share of `difficulty` for `user`.
    pub fn accepted(&self, user: &str, difficulty: f64) {
        self.shares_accepted.fetch_add(1, Ordering::Relaxed);
        let _ = self.difficulty_sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            Some((f64::from_bits(bits) + difficulty).to_bits())
        });
        let mut per_user = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = per_user.get_mut(user) {
            *n += 1;
            return;
        }
        let key = if per_user.len() < MAX_USER_LABELS { user } else { "other" };
        // Past the cap every further user lands on "other": found without a new String.
        match per_user.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                per_user.insert(key.to_string(), 1);
            }
        }
    }

    /// Records one tip-to-job latency.
    pub fn tip_to_job(&self, d: Duration) {
        let us = d.as_micros() as u64;
        self.tip_to_job_us_sum.fetch_add(us, Ordering::Relaxed);
        self.tip_to_job_count.fetch_add(1, Ordering::Relaxed);
        self.tip_to_job_us_max.fetch_max(us, Ordering::Relaxed);
    }

    /// Shares rejected, all codes.
    pub fn rejected_total(&self) -> u64 {
        self.shares_rejected.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Shares rejected with `e`.
    pub fn rejected_with(&self, e: ShareError) -> u64 {
        ShareError::ALL.iter().position(|k| *k == e).map_or(0, |i| self.shares_rejected[i].load(Ordering::Relaxed))
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        // A summary's parts are its name with `_sum` and `_count` appended (the "labels" here).
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP sv2_pool_{name} {help}\n# TYPE sv2_pool_{name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "sv2_pool_{name}{labels} {v}");
            }
        };
        let one = |v: u64| vec![(String::new(), v as f64)];
        metric("connections_total", "counter", "Miner connections accepted.", &one(get(&self.connections_total)));
        metric("connections_open", "gauge", "Miner connections open.", &one(get(&self.connections_open)));
        metric(
            "connections_refused_total",
            "counter",
            "Connections refused (pool full).",
            &one(get(&self.connections_refused)),
        );
        metric(
            "connections_failed_total",
            "counter",
            "Connections that failed in handshake or setup.",
            &one(get(&self.connections_failed)),
        );
        metric(
            "connections_closed_invalid_shares_total",
            "counter",
            "Connections closed for sending too many invalid shares.",
            &one(get(&self.connections_closed_invalid)),
        );
        metric("channels_open", "gauge", "Mining channels open.", &one(get(&self.channels_open)));
        metric("shares_accepted_total", "counter", "Shares accepted.", &one(get(&self.shares_accepted)));
        let rejected: Vec<(String, f64)> = ShareError::ALL
            .iter()
            .zip(&self.shares_rejected)
            .map(|(e, c)| (format!("{{code=\"{}\"}}", e.code()), get(c) as f64))
            .collect();
        metric("shares_rejected_total", "counter", "Shares rejected, by error code.", &rejected);
        metric(
            "accepted_difficulty_total",
            "counter",
            "Sum of the accepted shares' difficulties.",
            &[(String::new(), f64::from_bits(get(&self.difficulty_sum)))],
        );
        let users: Vec<(String, f64)> = self
            .per_user
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(u, n)| (format!("{{user=\"{}\"}}", escape(u)), *n as f64))
            .collect();
        metric("user_shares_accepted_total", "counter", "Shares accepted per user identity.", &users);
        metric("blocks_found_total", "counter", "Blocks found by shares.", &one(get(&self.blocks_found)));
        metric(
            "blocks_accepted_total",
            "counter",
            "Found blocks the node made its tip.",
            &one(get(&self.blocks_accepted)),
        );
        metric("templates_total", "counter", "Templates received.", &one(get(&self.templates)));
        metric("tips_total", "counter", "New tips received.", &one(get(&self.tips)));
        metric(
            "tp_connections_total",
            "counter",
            "Connections made to the template provider.",
            &one(get(&self.tp_connections)),
        );
        metric("tp_connected", "gauge", "Whether the template provider is connected.", &one(get(&self.tp_connected)));
        metric("bytes_sent_total", "counter", "Bytes of Noise frames sent to miners.", &one(get(&self.bytes_out)));
        metric(
            "bytes_received_total",
            "counter",
            "Bytes of Noise frames received from miners.",
            &one(get(&self.bytes_in)),
        );
        let secs = |us: u64| us as f64 / 1e6;
        metric(
            "tip_to_job_seconds",
            "summary",
            "Time from the template provider's new tip to a connection's SetNewPrevHash.",
            &[
                ("_sum".into(), secs(get(&self.tip_to_job_us_sum))),
                ("_count".into(), get(&self.tip_to_job_count) as f64),
            ],
        );
        metric(
            "tip_to_job_max_seconds",
            "gauge",
            "Longest time from a new tip to a connection's SetNewPrevHash.",
            &[(String::new(), secs(get(&self.tip_to_job_us_max)))],
        );
        metric(
            "share_answer_seconds",
            "summary",
            "Time from a share's arrival to its answer (after the database commit for accepted shares).",
            &[
                ("_sum".into(), secs(get(&self.share_answer_us_sum))),
                ("_count".into(), get(&self.share_answer_count) as f64),
            ],
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '\\' => vec!['\\', '\\'],
            '"' => vec!['\\', '"'],
            '\n' => vec!['\\', 'n'],
            c if c.is_control() => vec![],
            c => vec![c],
        })
        .collect()
}

/// Appends one metric `sv2_pool_{name}` with a single sample to a Prometheus page.
pub(crate) fn write_single(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP sv2_pool_{name} {help}\n# TYPE sv2_pool_{name} {kind}\nsv2_pool_{name} {value}");
}

/// Serves `GET /metrics` on `listener` until `shutdown` turns true: the pool's counters, and
/// its Job Declaration Server's when it runs one.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    jds: Option<Arc<JdsStats>>,
    shutdown: watch::Receiver<bool>,
) {
    crate::net::serve_pages(listener, shutdown, move |path| match path {
        "/metrics" | "/" => {
            let mut page = metrics.render();
            if let Some(j) = &jds {
                j.render(&mut page);
            }
            Some(("text/plain; version=0.0.4", page))
        }
        _ => None,
    })
    .await;
}

/// Binds the metrics endpoint.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| format!("metrics_listen {addr}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_past_the_label_cap_are_summed_under_other() {
        let m = Metrics::default();
        for u in 0..MAX_USER_LABELS + 3 {
            m.accepted(&format!("user{u}"), 1.0);
        }
        m.accepted("user0", 1.0);
        let per_user = m.per_user.lock().unwrap();
        assert_eq!(per_user.len(), MAX_USER_LABELS + 1);
        assert_eq!(per_user["other"], 3);
        assert_eq!(per_user["user0"], 2);
        drop(per_user);
        assert!(m.render().contains("user_shares_accepted_total{user=\"other\"} 3"));
    }
}
