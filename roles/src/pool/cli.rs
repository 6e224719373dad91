//! `sv2 pool` command line: flags over `SV2_POOL_*` variables over a TOML file over defaults.

use std::path::PathBuf;

use clap::Args;

use super::config::Settings;

/// `sv2 pool` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Precedence: flags, then SV2_POOL_* environment variables, then the --config file, then\ndefaults. SIGINT/SIGTERM stop the pool cleanly: every accepted share is committed and answered\nfirst. Log detail: RUST_LOG or SV2_POOL_LOG (e.g. sv2_roles=debug). See docs/POOL.md."
)]
pub struct PoolArgs {
    /// TOML configuration file; its keys are the long flag names with `_` for `-`, plus the
    /// tuning keys listed in docs/POOL.md (vardiff, limits, timeouts, pool tag, log).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address miners connect to (Noise) [default: 127.0.0.1:34254] [env: SV2_POOL_LISTEN].
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<String>,
    /// Prometheus /metrics address, "" to turn it off [default: 127.0.0.1:9184]
    /// [env: SV2_POOL_METRICS_LISTEN].
    #[arg(long, value_name = "IP:PORT")]
    pub metrics_listen: Option<String>,
    /// Directory for the pool's keys (made on first start; miners pin authority.pub) and the share
    /// database pool.sqlite [default: ~/.libsv2/pool] [env: SV2_POOL_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// Template provider to take templates from [default: 127.0.0.1:8442] [env: SV2_POOL_TP_ADDRESS].
    #[arg(long, value_name = "HOST:PORT")]
    pub tp_address: Option<String>,
    /// The template provider's authority key: base58check text or a file holding it (its
    /// DATA_DIR/authority.pub). Without it any key is accepted: only for a provider on the same
    /// host [env: SV2_POOL_TP_AUTHORITY].
    #[arg(long, value_name = "KEY|FILE")]
    pub tp_authority: Option<String>,
    /// Bitcoin address every found block pays; required unless --payout-script-hex is given
    /// [env: SV2_POOL_PAYOUT_ADDRESS].
    #[arg(long, value_name = "ADDRESS")]
    pub payout_address: Option<String>,
    /// scriptPubKey (hex) every found block pays, instead of an address
    /// [env: SV2_POOL_PAYOUT_SCRIPT_HEX].
    #[arg(long, value_name = "HEX")]
    pub payout_script_hex: Option<String>,
    /// Address of the Job Declaration Server, where miners declare their own jobs (Noise, the
    /// pool's authority key); off unless given. Needs --jd-node-rpc [env: SV2_POOL_JD_LISTEN].
    #[arg(long, value_name = "IP:PORT")]
    pub jd_listen: Option<String>,
    /// Bitcoin Core's RPC server (host:port) that checks declared jobs (getblocktemplate
    /// proposals) and takes their blocks; credentials from --jd-node-rpc-cookie or the
    /// jd_node_rpc_user/jd_node_rpc_password keys [env: SV2_POOL_JD_NODE_RPC].
    #[arg(long, value_name = "HOST:PORT")]
    pub jd_node_rpc: Option<String>,
    /// Bitcoin Core's RPC cookie file [env: SV2_POOL_JD_NODE_RPC_COOKIE].
    #[arg(long, value_name = "FILE")]
    pub jd_node_rpc_cookie: Option<String>,
}

impl PoolArgs {
    fn settings(&self) -> Settings {
        Settings {
            listen: self.listen.clone(),
            metrics_listen: self.metrics_listen.clone(),
            data_dir: self.data_dir.clone(),
            tp_address: self.tp_address.clone(),
            tp_authority: self.tp_authority.clone(),
            payout_address: self.payout_address.clone(),
            payout_script_hex: self.payout_script_hex.clone(),
            jd_listen: self.jd_listen.clone(),
            jd_node_rpc: self.jd_node_rpc.clone(),
            jd_node_rpc_cookie: self.jd_node_rpc_cookie.clone(),
            ..Settings::default()
        }
    }
}

/// Runs `sv2 pool` until Ctrl-C or SIGTERM.
pub fn run(args: PoolArgs) -> Result<(), String> {
    let file = match &args.config {
        Some(p) => Settings::from_file(p)?,
        None => Settings::default(),
    };
    let env = Settings::from_env(|k| std::env::var(k).ok())?;
    let settings = file.overlay(&env).overlay(&args.settings());
    let config = settings.resolve()?;
    crate::logging::init(settings.log.as_deref().unwrap_or("info"));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let pool = super::start(config).await?;
        println!("pool listening on {}; miners pin authority key {}", pool.addr(), pool.authority());
        if let Some(a) = pool.jds_addr() {
            println!("jds {a} (job declaration, same authority key)");
        }
        wait_for_signal().await;
        tracing::info!("stopping: answering accepted shares and closing the database");
        pool.shutdown().await;
        Ok(())
    })
}

pub(crate) async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
