//! The `sv2 tp` command: settings from a TOML file, `SV2_TP_*` variables and flags (later
//! ones win), logs to stderr, and a clean shutdown on Ctrl-C or SIGTERM.

use std::path::PathBuf;

use clap::Args;

use super::config::{EmbeddedSettings, RpcSettings, Settings};

/// Options of `sv2 tp`.
#[derive(Args, Debug)]
#[command(after_help = "\
Precedence: flags, then SV2_TP_* environment variables, then the --config file, then defaults.
Without an RPC url the embedded regtest node (Bitcoin Core's validation engine, libbitcoinkernel)
is used; its chain is kept in DATA_DIR/regtest. Clients pin the authority key printed at start
(also in DATA_DIR/authority.pub). Log detail: RUST_LOG or --log, e.g. --log sv2_roles=debug.
See docs/TEMPLATE_PROVIDER.md for the configuration file.")]
pub struct TpArgs {
    /// TOML configuration file with the same settings as the flags below.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on for Template Distribution clients [default: 127.0.0.1:8442] [env: SV2_TP_LISTEN].
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<String>,
    /// Directory for the keys (authority.key, server.key) and the embedded node's chain
    /// [default: ~/.libsv2/tp] [env: SV2_TP_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// Bitcoin Core's RPC address, HOST or HOST:PORT; without it the embedded regtest node is used
    /// [env: SV2_TP_RPC_URL].
    #[arg(long, value_name = "HOST:PORT")]
    pub rpc_url: Option<String>,
    /// Network bitcoind must be on: mainnet, testnet3, testnet4, signet or regtest
    /// [default: mainnet] [env: SV2_TP_NETWORK].
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// bitcoind's cookie file [default: ~/.bitcoin/NETWORK/.cookie] [env: SV2_TP_RPC_COOKIE].
    #[arg(long, value_name = "FILE")]
    pub rpc_cookie: Option<String>,
    /// RPC user (with --rpc-password, instead of the cookie) [env: SV2_TP_RPC_USER].
    #[arg(long, value_name = "USER")]
    pub rpc_user: Option<String>,
    /// RPC password; prefer SV2_TP_RPC_PASSWORD or the config file, which other users cannot
    /// see in the process list [env: SV2_TP_RPC_PASSWORD].
    #[arg(long, value_name = "PASSWORD")]
    pub rpc_password: Option<String>,
    /// Milliseconds between best-block checks besides the long poll [default: 250].
    #[arg(long, value_name = "MS")]
    pub tip_poll_ms: Option<u64>,
    /// Send a new template on the same tip when fees rose by at least this many satoshis
    /// [default: 1000] [env: SV2_TP_FEE_DELTA].
    #[arg(long, value_name = "SATS")]
    pub fee_delta: Option<u64>,
    /// Seconds between fee checks, so at most one fee-driven template per interval
    /// [default: 10] [env: SV2_TP_FEE_INTERVAL].
    #[arg(long, value_name = "SECS")]
    pub fee_interval: Option<f64>,
    /// Embedded node: transactions of its own it keeps in its mempool from block 101 on
    /// [default: 4] [env: SV2_TP_OWN_TXS].
    #[arg(long, value_name = "N")]
    pub own_txs: Option<usize>,
    /// Connections beyond this many are closed at once [default: 1000] [env: SV2_TP_MAX_CLIENTS].
    #[arg(long, value_name = "N")]
    pub max_clients: Option<usize>,
    /// Seconds a client has for the Noise handshake, and again for SetupConnection and
    /// CoinbaseOutputConstraints [default: 10].
    #[arg(long, value_name = "SECS")]
    pub handshake_timeout: Option<f64>,
    /// Seconds a client may take to read what is sent to it before it is dropped [default: 30].
    #[arg(long, value_name = "SECS")]
    pub write_timeout: Option<f64>,
    /// Log filter when RUST_LOG is unset, e.g. info, debug, sv2_roles=debug,bitcoinkernel=info
    /// [default: info] [env: SV2_TP_LOG].
    #[arg(long, value_name = "FILTER")]
    pub log: Option<String>,
}

impl TpArgs {
    fn settings(&self) -> Settings {
        Settings {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            fee_delta_sats: self.fee_delta,
            fee_check_interval_secs: self.fee_interval,
            max_clients: self.max_clients,
            handshake_timeout_secs: self.handshake_timeout,
            write_timeout_secs: self.write_timeout,
            log: self.log.clone(),
            embedded: EmbeddedSettings { own_transactions: self.own_txs },
            rpc: RpcSettings {
                url: self.rpc_url.clone(),
                network: self.network.clone(),
                cookie_file: self.rpc_cookie.clone(),
                user: self.rpc_user.clone(),
                password: self.rpc_password.clone(),
                tip_poll_ms: self.tip_poll_ms,
                timeout_secs: None,
            },
        }
    }
}

/// Runs the template provider until Ctrl-C or SIGTERM.
pub fn run(args: TpArgs) -> Result<(), String> {
    let file = match &args.config {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let settings = file.overlay(&Settings::from_env(|k| std::env::var(k).ok())?).overlay(&args.settings());
    let config = settings.resolve()?;
    crate::logging::init(settings.log.as_deref().unwrap_or("info"));
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        // Handlers first: a signal that comes while the node starts still shuts down cleanly.
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("signal handler: {e}"))?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("signal handler: {e}"))?;
        let tp = super::start(config).await?;
        println!("authority public key: {}", tp.authority());
        println!("listening on {}", tp.addr());
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down");
        tp.shutdown().await;
        Ok(())
    })
}
