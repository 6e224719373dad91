//! Decides when clients get a new template: on every new tip (future template plus
//! SetNewPrevHash), and when fees on the same tip rose by the configured delta, checked at
//! most once per interval (a template that is minable at once).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::source::{display_hash, TemplateSource};
use super::store::Published;

/// Fee policy.
#[derive(Debug, Clone, Copy)]
pub struct FeePolicy {
    /// Minimum fee rise (satoshis) for a new template on the same tip.
    pub delta_sats: u64,
    /// How often fees are checked.
    pub interval: Duration,
}

/// Wait after a failed template request before asking again.
const RETRY: Duration = Duration::from_secs(1);

/// Runs until `shutdown` turns true, publishing templates on `out`.
pub async fn run<S: TemplateSource>(
    source: Arc<S>,
    out: watch::Sender<Published>,
    fees: FeePolicy,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tips = source.tips();
    let mut last_fees = out.borrow().template.total_fees();
    let mut next_check = Instant::now() + fees.interval;
    // Whether the last template request failed: failures are logged once, then the recovery.
    let mut failing = false;
    loop {
        let tip_changed = tokio::select! {
            _ = shutdown.changed() => return,
            r = tips.changed() => {
                if r.is_err() {
                    return;
                }
                true
            }
            _ = tokio::time::sleep_until(next_check) => false,
        };
        let (current_prev, seq) = {
            let p = out.borrow();
            (p.template.prev_hash, p.seq)
        };
        if tip_changed && tips.borrow_and_update().hash == current_prev {
            continue;
        }
        if tip_changed {
            tracing::debug!(target: super::TIP_TRACE, stage = "tp.woke");
        }
        let t = match source.template().await {
            Ok(t) => t,
            Err(e) => {
                if !failing {
                    tracing::warn!("cannot get a template from the node (clients keep their last one): {e}");
                    failing = true;
                }
                next_check = Instant::now() + RETRY;
                continue;
            }
        };
        if failing {
            tracing::info!("templates from the node again");
            failing = false;
        }
        next_check = Instant::now() + fees.interval;
        let total = t.total_fees();
        if t.prev_hash != current_prev {
            tracing::debug!(target: super::TIP_TRACE, stage = "tp.template");
            tracing::info!(
                "new tip {} at height {}: template with {} transactions, {} sat fees",
                display_hash(&t.prev_hash),
                t.height.saturating_sub(1),
                t.txs.len(),
                total
            );
        } else if total >= last_fees.saturating_add(fees.delta_sats) && total > last_fees {
            tracing::info!("fees rose from {last_fees} to {total} sat: new template with {} transactions", t.txs.len());
        } else {
            continue;
        }
        last_fees = total;
        let new_tip = t.prev_hash != current_prev;
        out.send_replace(Published { seq: seq + 1, template: Arc::new(t) });
        if new_tip {
            tracing::debug!(target: super::TIP_TRACE, stage = "tp.published");
        }
    }
}
