//! `sv2 proxy` command line.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::{Layout, ProxyConfig};
use crate::jdc::cli::JdArgs;
use crate::upstream::{PoolEndpoint, UpstreamConfig};

/// `sv2 proxy` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "SIGINT/SIGTERM stop the proxy. Log detail: RUST_LOG (e.g. sv2_roles=debug). See docs/PROXY.md."
)]
pub struct ProxyArgs {
    /// Address devices connect to (Noise; they pin DATA_DIR/authority.pub).
    #[arg(long, default_value = "0.0.0.0:34255")]
    pub listen: SocketAddr,
    /// Directory of the proxy's keys (made on first start).
    #[arg(long, default_value = "~/.libsv2/proxy")]
    pub data_dir: String,
    /// A pool, `host:port=AUTHORITY` (the authority key as base58check text or a file holding
    /// it); repeat for failover pools, most preferred first.
    #[arg(long = "pool", required = true, value_name = "HOST:PORT=KEY")]
    pub pools: Vec<String>,
    /// One upstream standard channel per device channel instead of one aggregated extended
    /// channel.
    #[arg(long)]
    pub pass_through: bool,
    /// User identity of the aggregated upstream channel.
    #[arg(long, default_value = "libsv2.proxy")]
    pub user: String,
    /// Hashrate announced for the aggregated channel, h/s.
    #[arg(long, default_value_t = 1e12)]
    pub hashrate: f32,
    /// Shares a minute per device channel that the proxy's vardiff aims at (aggregation).
    #[arg(long, default_value_t = 10.0)]
    pub shares_per_minute: f64,
    /// Lowest share difficulty given to devices (aggregation).
    #[arg(long, default_value_t = 1e-3)]
    pub min_difficulty: f64,
    /// Device connections open at once.
    #[arg(long, default_value_t = 20_000)]
    pub max_connections: usize,
    /// Prometheus /metrics and /stats.json address ("" to turn it off).
    #[arg(long, default_value = "127.0.0.1:9186")]
    pub metrics_listen: String,
    /// Job Declaration (aggregation only; see docs/PROXY.md).
    #[command(flatten)]
    pub jd: JdArgs,
}

/// Runs `sv2 proxy` until Ctrl-C or SIGTERM.
pub fn run(args: ProxyArgs) -> Result<(), String> {
    crate::logging::init("info");
    let pools = args.pools.iter().map(|p| PoolEndpoint::parse(p)).collect::<Result<Vec<_>, _>>()?;
    let data_dir = crate::paths::expand_home(&args.data_dir);
    let mut c = ProxyConfig::new(data_dir, args.listen, UpstreamConfig::new(pools));
    c.layout = if args.pass_through { Layout::PassThrough } else { Layout::Aggregate };
    c.jd = args.jd.config(args.pools.len(), &args.user)?;
    c.user = args.user;
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(f64::from(args.hashrate)) || !positive(args.shares_per_minute) || !positive(args.min_difficulty) {
        return Err("--hashrate, --shares-per-minute and --min-difficulty must be positive numbers".into());
    }
    c.nominal_hashrate = args.hashrate;
    c.server.shares_per_minute = args.shares_per_minute;
    c.server.min_difficulty = args.min_difficulty;
    c.max_connections = args.max_connections.max(1);
    c.setup_timeout = Duration::from_secs(10);
    c.metrics_listen = match args.metrics_listen.as_str() {
        "" => None,
        a => Some(a.parse().map_err(|e| format!("--metrics-listen {a}: {e}"))?),
    };
    let proxy_jd = c.jd.clone();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let proxy = super::start(c).await?;
        println!("proxy {}  authority {}", proxy.addr(), proxy.authority());
        if let Some(jd) = &proxy_jd {
            let mode = if jd.full_template { "full-template" } else { "coinbase-only" };
            println!("jdc {}  templates from the farm's template provider, {mode}", jd.tp_address);
        }
        if let Some(m) = proxy.metrics_addr() {
            println!("proxy metrics http://{m}/metrics and http://{m}/stats.json");
        }
        crate::pool::cli::wait_for_signal().await;
        proxy.shutdown().await;
        Ok(())
    })
}
