//! `sv2 pool` command line: flags over `SV2_POOL_*` variables over a TOML file over defaults.

use std::path::PathBuf;

use clap::Args;

use super::config::Settings;

/// `sv2 pool` flags.
#[derive(Debug, Args)]
pub struct PoolArgs {
    /// TOML configuration file (keys as in docs/POOL.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Mining server address.
    #[arg(long)]
    pub listen: Option<String>,
    /// Prometheus /metrics address ("" to turn it off).
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Keys and the share database.
    #[arg(long)]
    pub data_dir: Option<String>,
    /// Template provider host:port.
    #[arg(long)]
    pub tp_address: Option<String>,
    /// Template provider authority key (base58check text or a file holding it).
    #[arg(long)]
    pub tp_authority: Option<String>,
    /// Address every block pays.
    #[arg(long)]
    pub payout_address: Option<String>,
    /// scriptPubKey (hex) every block pays, instead of an address.
    #[arg(long)]
    pub payout_script_hex: Option<String>,
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
        wait_for_signal().await;
        tracing::info!("stopping: answering accepted shares and closing the database");
        pool.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
