//! `sv2 translator` command line.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::TranslatorConfig;
use crate::jdc::cli::JdArgs;
use crate::upstream::PoolEndpoint;

/// `sv2 translator` flags.
#[derive(Debug, Args)]
pub struct TranslatorArgs {
    /// Address SV1 devices connect to.
    #[arg(long, default_value = "0.0.0.0:3333")]
    pub listen: SocketAddr,
    /// A pool, `host:port=AUTHORITY` (the authority key as base58check text or a file holding
    /// it); repeat for failover pools, most preferred first.
    #[arg(long = "pool", required = true, value_name = "HOST:PORT=KEY")]
    pub pools: Vec<String>,
    /// User identity for the pool (the aggregated channel's, and a device's whose worker is
    /// not known when it subscribes).
    #[arg(long, default_value = "libsv2.translator")]
    pub user: String,
    /// One upstream channel for all devices instead of one per device (implied by `--jd`).
    #[arg(long)]
    pub aggregate: bool,
    /// Hashrate announced per device channel, h/s.
    #[arg(long, default_value_t = 1e12)]
    pub device_hashrate: f32,
    /// Device connections open at once.
    #[arg(long, default_value_t = 20_000)]
    pub max_connections: usize,
    /// Seconds a device has to subscribe and authorize once the pool is up.
    #[arg(long, default_value_t = 60)]
    pub setup_timeout_secs: u64,
    /// Seconds without a byte from a device before it is dropped.
    #[arg(long, default_value_t = 600)]
    pub idle_timeout_secs: u64,
    /// Shares a minute per device that vardiff aims at.
    #[arg(long, default_value_t = 10.0)]
    pub shares_per_minute: f64,
    /// Lowest difficulty sent to devices (below 1 only for CPU miners and regtest).
    #[arg(long, default_value_t = 1.0)]
    pub min_difficulty: f64,
    /// Difficulty of a device's first jobs.
    #[arg(long, default_value_t = 1024.0)]
    pub initial_difficulty: f64,
    /// Take mining.suggest_difficulty as the lowest vardiff may go (default: only as the
    /// starting difficulty).
    #[arg(long)]
    pub suggested_difficulty_is_minimum: bool,
    /// Prometheus /metrics and /stats.json address ("" to turn it off).
    #[arg(long, default_value = "127.0.0.1:9185")]
    pub metrics_listen: String,
    /// Job Declaration: the devices mine the farm's own templates (see docs/TRANSLATOR.md).
    #[command(flatten)]
    pub jd: JdArgs,
}

/// Runs `sv2 translator` until Ctrl-C.
pub fn run(args: TranslatorArgs) -> Result<(), String> {
    crate::logging::init("info");
    let pools = args.pools.iter().map(|p| PoolEndpoint::parse(p)).collect::<Result<Vec<_>, _>>()?;
    let mut c = TranslatorConfig::new(args.listen, pools);
    c.jd = args.jd.config(c.upstream.pools.len(), &args.user)?;
    c.user = args.user;
    // Job Declaration sets custom jobs on one extended channel: devices are aggregated.
    c.aggregate = args.aggregate || c.jd.is_some();
    if !(args.device_hashrate.is_finite() && args.device_hashrate > 0.0) {
        return Err("--device-hashrate must be a positive number".into());
    }
    c.device_hashrate = args.device_hashrate;
    c.max_connections = args.max_connections.max(1);
    c.setup_timeout = Duration::from_secs(args.setup_timeout_secs.max(1));
    c.idle_timeout = Duration::from_secs(args.idle_timeout_secs.max(1));
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(args.shares_per_minute) || !positive(args.min_difficulty) || !positive(args.initial_difficulty) {
        return Err("--shares-per-minute, --min-difficulty and --initial-difficulty must be positive numbers".into());
    }
    if let Some(v) = c.session.vardiff.as_mut() {
        v.shares_per_minute = args.shares_per_minute;
    }
    c.session.min_difficulty = args.min_difficulty;
    c.session.initial_difficulty = args.initial_difficulty;
    if args.suggested_difficulty_is_minimum {
        c.session.suggested_difficulty = sv2::sv1::session::SuggestedDifficulty::Minimum;
    }
    c.metrics_listen = match args.metrics_listen.as_str() {
        "" => None,
        a => Some(a.parse().map_err(|e| format!("--metrics-listen {a}: {e}"))?),
    };
    let jd = c.jd.clone();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let t = super::start(c).await?;
        println!("translator {}  (SV1 devices)", t.addr());
        if let Some(jd) = &jd {
            let mode = if jd.full_template { "full-template" } else { "coinbase-only" };
            println!(
                "jdc {}  templates from the farm's template provider, {mode}, one aggregated channel",
                jd.tp_address
            );
        }
        if let Some(m) = t.metrics_addr() {
            println!("translator metrics http://{m}/metrics and http://{m}/stats.json");
        }
        let _ = tokio::signal::ctrl_c().await;
        t.shutdown().await;
        Ok(())
    })
}
