//! `sv2 miner` command line.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{ChannelMode, MinerConfig};
use crate::net::load_authority_key;

/// Channel kind on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Standard channel (header-only).
    Standard,
    /// Extended channel (extranonce rolling).
    Extended,
}

/// `sv2 miner` flags.
#[derive(Debug, Args)]
pub struct MinerArgs {
    /// Pool address, host:port.
    #[arg(long, default_value = "127.0.0.1:34254")]
    pub pool: String,
    /// The pool's authority public key (base58check text, or a file holding it); not used
    /// with --sv1.
    #[arg(long, required_unless_present = "sv1")]
    pub authority: Option<String>,
    /// Speak Stratum V1 to a translator (`sv2 translator`) instead of Stratum V2 to a pool:
    /// configure, subscribe and authorize pipelined, as firmware does.
    #[arg(long)]
    pub sv1: bool,
    /// User identity (user.worker).
    #[arg(long, default_value = "libsv2.cpu")]
    pub user: String,
    /// Hashing threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Channel kind.
    #[arg(long, value_enum, default_value = "extended")]
    pub channel: ModeArg,
    /// Ask for one NewMiningJob per standard channel instead of group jobs.
    #[arg(long)]
    pub requires_standard_jobs: bool,
    /// Announced hashrate in h/s (default: measured at start).
    #[arg(long)]
    pub hashrate: Option<f64>,
    /// Seconds between hashrate reports.
    #[arg(long, default_value_t = 10.0)]
    pub report_secs: f64,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub duration_secs: Option<f64>,
}

/// Runs `sv2 miner` until Ctrl-C (or `--duration-secs`).
pub fn run(args: MinerArgs) -> Result<(), String> {
    crate::logging::init("info");
    if args.sv1 {
        return super::sv1::run_cli(args);
    }
    let authority = load_authority_key(std::path::Path::new(args.authority.as_deref().unwrap_or_default()))?;
    let mode = match args.channel {
        ModeArg::Standard => ChannelMode::Standard,
        ModeArg::Extended => ChannelMode::Extended,
    };
    let mut config = MinerConfig::new(args.pool, authority, args.user, mode);
    if let Some(t) = args.threads {
        config.threads = t.max(1);
    }
    config.requires_standard_jobs = args.requires_standard_jobs;
    config.nominal_hashrate = args.hashrate;
    if !(args.report_secs.is_finite() && args.report_secs > 0.0) {
        return Err("--report-secs must be a positive number".into());
    }
    config.report_every = Some(Duration::from_secs_f64(args.report_secs));
    mine_until_stopped(move || super::start(config), args.duration_secs)
}

/// Runs a miner (the SV2 one or the SV1 one) until Ctrl-C or `duration_secs`, then prints
/// what it did.
pub(super) fn mine_until_stopped(
    start: impl FnOnce() -> super::MinerHandle,
    duration_secs: Option<f64>,
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let miner = start();
        let limit = async {
            match duration_secs {
                Some(s) if s.is_finite() && s >= 0.0 => tokio::time::sleep(Duration::from_secs_f64(s)).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = limit => {}
        }
        let s = miner.stats();
        miner.shutdown().await;
        println!(
            "hashed {} headers at {:.2} MH/s; shares sent {}, accepted {}, rejected {:?}",
            s.hashes,
            s.hashrate() / 1e6,
            s.submitted,
            s.accepted,
            s.rejected
        );
        Ok(())
    })
}
