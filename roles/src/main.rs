//! `sv2`: the libsv2 command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sv2_roles::{keygen, wire_demo};

#[derive(Parser)]
#[command(name = "sv2", version, about = "Stratum V2 roles and tools built on libsv2")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make an authority key pair and a server key with a certificate signed by it.
    Keygen {
        /// Directory to write authority.key, authority.pub, server.key and server.cert into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Sign with this existing authority secret key file (hex) instead of making one.
        #[arg(long)]
        authority_key: Option<PathBuf>,
        /// Days the server certificate stays valid.
        #[arg(long, default_value_t = 365)]
        valid_days: u32,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Run a Noise handshake between an in-process client and server and send every
    /// Stratum V2 message type across, printing what goes over the wire.
    WireDemo {
        /// Print full frame bytes instead of the first 48.
        #[arg(long)]
        full: bool,
    },
    /// Template Provider: block templates from a Bitcoin node (an embedded regtest node on
    /// libbitcoinkernel, or Bitcoin Core over RPC) served over Noise with Template Distribution.
    Tp(Box<sv2_roles::tp::cli::TpArgs>),
    /// The mining path in one process: template provider on an embedded regtest node, pool,
    /// and CPU miners, printing blocks, shares, bytes per share and job, and tip-to-job time.
    Demo(Box<sv2_roles::demo::DemoArgs>),
    /// Pool: Template Distribution client to a template provider, Mining server over Noise,
    /// share accounting in SQLite, Prometheus metrics.
    Pool(Box<sv2_roles::pool::cli::PoolArgs>),
    /// Mining proxy: SV2 devices through one aggregated extended channel (or one standard
    /// channel each) to an ordered list of SV2 pools with failover.
    Proxy(Box<sv2_roles::proxy::cli::ProxyArgs>),
    /// CPU miner: standard (header-only) or extended (extranonce rolling) channel to a pool.
    Miner(Box<sv2_roles::miner::cli::MinerArgs>),
    /// Translator: Stratum V1 devices (firmware, cpuminer) mining through Stratum V2 pools,
    /// with failover, per-device vardiff and Prometheus metrics.
    Translator(Box<sv2_roles::translator::cli::TranslatorArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Servers hold a socket per device: allow as many as the system lets this process have.
    sv2_roles::net::raise_open_files_limit();
    let result = match cli.command {
        Command::Keygen { out, authority_key, valid_days, force } => {
            keygen::run(&out, authority_key.as_deref(), valid_days, force)
        }
        Command::WireDemo { full } => wire_demo::run(full),
        Command::Tp(args) => sv2_roles::tp::cli::run(*args),
        Command::Demo(args) => sv2_roles::demo::run(*args),
        Command::Pool(args) => sv2_roles::pool::cli::run(*args),
        Command::Proxy(args) => sv2_roles::proxy::cli::run(*args),
        Command::Miner(args) => sv2_roles::miner::cli::run(*args),
        Command::Translator(args) => sv2_roles::translator::cli::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
