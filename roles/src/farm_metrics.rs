//! The farm-side roles' counters (`sv2 translator`, `sv2 proxy`), per device and in total,
//! with their upstream's, served as Prometheus text on `/metrics` and as JSON on
//! `/stats.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::upstream::UpstreamMetrics;

/// One device connection's counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DeviceStats {
    /// The translator's number for the connection (counts from 1).
    pub id: u64,
    /// The device's address.
    pub peer: String,
    /// The user agent it subscribed with.
    pub user_agent: String,
    /// The first worker it authorized.
    pub worker: String,
    /// Its extranonce1 (hex).
    pub extranonce1: String,
    /// Difficulty of the jobs it is sent now.
    pub difficulty: f64,
    /// Shares answered `true`.
    pub shares_accepted: u64,
    /// Shares answered `false`, by reason.
    pub shares_rejected: BTreeMap<String, u64>,
    /// Sum of the accepted shares' difficulties.
    pub accepted_difficulty: f64,
    /// Accepted shares that also met the upstream target, forwarded to the pool.
    pub shares_forwarded: u64,
    /// Accepted shares below the upstream target (counted here, not forwarded).
    pub shares_below_upstream: u64,
    /// Forwarded shares the pool accepted.
    pub upstream_accepted: u64,
    /// Forwarded shares the pool rejected (or that were never answered), by code.
    pub upstream_rejected: BTreeMap<String, u64>,
    /// Blocks its shares found.
    pub blocks: u64,
    /// Unix time of the connection.
    pub connected_at: u32,
}

impl DeviceStats {
    /// Shares answered `false`, all reasons.
    pub fn rejected_total(&self) -> u64 {
        self.shares_rejected.values().sum()
    }

    /// Forwarded shares the pool did not accept, all codes.
    pub fn upstream_rejected_total(&self) -> u64 {
        self.upstream_rejected.values().sum()
    }
}

/// Counters of the whole translator.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Device connections accepted.
    pub connections_total: AtomicU64,
    /// Device connections open now.
    pub connections_open: AtomicU64,
    /// Connections refused because the translator was full.
    pub connections_refused: AtomicU64,
    /// Connections closed for bad input (malformed JSON, an overlong line, too many queued
    /// requests).
    pub connections_bad_input: AtomicU64,
    /// Connections closed by the setup or idle timeout.
    pub connections_timed_out: AtomicU64,
    /// Devices told to reconnect (failover to a pool that changed their extranonce, for a
    /// device that did not subscribe to `mining.set_extranonce`).
    pub reconnects_sent: AtomicU64,
    /// Devices given a new extranonce with `mining.set_extranonce`.
    pub extranonce_changes: AtomicU64,
    /// Devices connected now, by id.
    pub devices: Mutex<BTreeMap<u64, DeviceStats>>,
    /// Counters of devices that disconnected, summed.
    pub closed: Mutex<DeviceStats>,
    /// The role in metric names (`sv2_<role>_…`).
    role: &'static str,
    /// The role's upstream (active pool, failovers, shares left unanswered by a pool that
    /// died), once it runs.
    upstream: OnceLock<Arc<UpstreamMetrics>>,
}

impl Metrics {
    /// Counters of `role` (`translator`, `proxy`), named `sv2_<role>_…`.
    pub fn new(role: &'static str) -> Self {
        Metrics { role, ..Metrics::default() }
    }

    /// Adds the upstream's counters to what is served.
    pub fn set_upstream(&self, upstream: Arc<UpstreamMetrics>) {
        let _ = self.upstream.set(upstream);
    }

    /// Applies `f` to a device's counters, or to the closed devices' sums when it is gone
    /// (the pool's answers may come after the device left).
    pub(crate) fn device(&self, id: u64, f: impl FnOnce(&mut DeviceStats)) {
        match lock(&self.devices).get_mut(&id) {
            Some(d) => f(d),
            None => f(&mut lock(&self.closed)),
        }
    }

    /// A device went away: its counters join the closed devices' sums.
    pub(crate) fn remove(&self, id: u64) {
        let Some(d) = lock(&self.devices).remove(&id) else { return };
        let mut c = lock(&self.closed);
        add(&mut c, &d);
    }

    /// Every device connected now.
    pub fn devices(&self) -> Vec<DeviceStats> {
        lock(&self.devices).values().cloned().collect()
    }

    /// All devices, connected now and gone, summed (id, peer and names left empty).
    pub fn totals(&self) -> DeviceStats {
        let mut t = lock(&self.closed).clone();
        for d in lock(&self.devices).values() {
            add(&mut t, d);
        }
        t.difficulty = 0.0;
        t
    }

    /// The JSON of `/stats.json`: totals, connection counters and every device.
    pub fn json(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "connections_total": get(&self.connections_total),
            "connections_open": get(&self.connections_open),
            "connections_refused": get(&self.connections_refused),
            "connections_bad_input": get(&self.connections_bad_input),
            "connections_timed_out": get(&self.connections_timed_out),
            "reconnects_sent": get(&self.reconnects_sent),
            "extranonce_changes": get(&self.extranonce_changes),
            "totals": self.totals(),
            "upstream": self.upstream.get().map(|u| serde_json::json!({
                "active_pool": u.active(),
                "failovers": get(&u.failovers),
                "shares_forwarded": get(&u.shares_forwarded),
                "shares_unacknowledged": get(&u.shares_unacknowledged),
                "shares_dropped": get(&u.shares_dropped),
            })),
            "devices": self.devices(),
        })
        .to_string()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let role = self.role;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP sv2_{role}_{name} {help}\n# TYPE sv2_{role}_{name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "sv2_{role}_{name}{labels} {v}");
            }
        };
        let one = |v: f64| vec![(String::new(), v)];
        metric("connections_total", "counter", "Device connections accepted.", &one(get(&self.connections_total)));
        metric("connections_open", "gauge", "Device connections open.", &one(get(&self.connections_open)));
        metric(
            "connections_refused_total",
            "counter",
            "Device connections refused (translator full).",
            &one(get(&self.connections_refused)),
        );
        metric(
            "connections_bad_input_total",
            "counter",
            "Device connections closed for malformed or overlong input.",
            &one(get(&self.connections_bad_input)),
        );
        metric(
            "connections_timed_out_total",
            "counter",
            "Device connections closed by the setup or idle timeout.",
            &one(get(&self.connections_timed_out)),
        );
        metric(
            "reconnects_sent_total",
            "counter",
            "client.reconnect sent on failover.",
            &one(get(&self.reconnects_sent)),
        );
        metric(
            "extranonce_changes_total",
            "counter",
            "mining.set_extranonce sent on failover.",
            &one(get(&self.extranonce_changes)),
        );
        let t = self.totals();
        metric("shares_accepted_total", "counter", "Device shares answered true.", &one(t.shares_accepted as f64));
        metric("shares_rejected_total", "counter", "Device shares answered false.", &one(t.rejected_total() as f64));
        metric("shares_forwarded_total", "counter", "Shares forwarded to the pool.", &one(t.shares_forwarded as f64));
        metric(
            "shares_below_upstream_total",
            "counter",
            "Accepted device shares below the pool's target (not forwarded).",
            &one(t.shares_below_upstream as f64),
        );
        metric(
            "upstream_accepted_total",
            "counter",
            "Forwarded shares the pool accepted.",
            &one(t.upstream_accepted as f64),
        );
        metric(
            "upstream_rejected_total",
            "counter",
            "Forwarded shares the pool rejected or never answered.",
            &one(t.upstream_rejected_total() as f64),
        );
        metric("blocks_found_total", "counter", "Blocks found by device shares.", &one(t.blocks as f64));
        let devices = self.devices();
        let per = |f: &dyn Fn(&DeviceStats) -> f64| -> Vec<(String, f64)> {
            devices.iter().map(|d| (labels(d), f(d))).collect()
        };
        metric("device_difficulty", "gauge", "Difficulty of a device's jobs.", &per(&|d| d.difficulty));
        metric(
            "device_shares_accepted_total",
            "counter",
            "Shares a device had accepted.",
            &per(&|d| d.shares_accepted as f64),
        );
        metric(
            "device_shares_rejected_total",
            "counter",
            "Shares a device had rejected.",
            &per(&|d| d.rejected_total() as f64),
        );
        metric(
            "device_accepted_difficulty_total",
            "counter",
            "Sum of a device's accepted share difficulties (work done).",
            &per(&|d| d.accepted_difficulty),
        );
        metric(
            "device_shares_forwarded_total",
            "counter",
            "A device's shares forwarded to the pool.",
            &per(&|d| d.shares_forwarded as f64),
        );
        metric(
            "device_upstream_rejected_total",
            "counter",
            "A device's forwarded shares the pool rejected.",
            &per(&|d| d.upstream_rejected_total() as f64),
        );
        if let Some(u) = self.upstream.get() {
            let active = u.active().map_or(-1.0, |i| i as f64);
            metric("upstream_active_pool", "gauge", "Index of the pool in use (-1: none).", &one(active));
            let counters = [
                ("upstream_failovers_total", "Moves from one pool to another.", &u.failovers),
                ("upstream_shares_forwarded_total", "Shares sent to a pool.", &u.shares_forwarded),
                (
                    "upstream_shares_unacknowledged_total",
                    "Shares sent to a pool that died before answering.",
                    &u.shares_unacknowledged,
                ),
                (
                    "upstream_shares_dropped_total",
                    "Shares not sent: their channel was open on no pool.",
                    &u.shares_dropped,
                ),
            ];
            for (name, help, c) in counters {
                metric(name, "counter", help, &one(get(c)));
            }
        }
        out
    }
}

fn add(t: &mut DeviceStats, d: &DeviceStats) {
    t.shares_accepted += d.shares_accepted;
    for (k, v) in &d.shares_rejected {
        *t.shares_rejected.entry(k.clone()).or_default() += v;
    }
    t.accepted_difficulty += d.accepted_difficulty;
    t.shares_forwarded += d.shares_forwarded;
    t.shares_below_upstream += d.shares_below_upstream;
    t.upstream_accepted += d.upstream_accepted;
    for (k, v) in &d.upstream_rejected {
        *t.upstream_rejected.entry(k.clone()).or_default() += v;
    }
    t.blocks += d.blocks;
}

fn labels(d: &DeviceStats) -> String {
    format!("{{device=\"{}\",worker=\"{}\",peer=\"{}\"}}", d.id, escape(&d.worker), escape(&d.peer))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves `GET /metrics` (Prometheus) and `GET /stats.json` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, shutdown: watch::Receiver<bool>) {
    crate::net::serve_pages(listener, shutdown, move |path| match path {
        "/metrics" | "/" => Some(("text/plain; version=0.0.4", metrics.render())),
        "/stats.json" => Some(("application/json", metrics.json())),
        _ => None,
    })
    .await;
}
