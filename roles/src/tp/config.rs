//! The template provider's settings: [`TpConfig`] for code, and the layers the command reads
//! it from — defaults, a TOML file, `SV2_TP_*` environment variables, then flags, each later
//! layer overriding the one before.

use crate::paths::{default_data_dir, expand_home};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::net::Limits;

/// A Bitcoin network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Bitcoin main network.
    Mainnet,
    /// testnet3.
    Testnet3,
    /// testnet4.
    Testnet4,
    /// The default signet.
    Signet,
    /// Regression test network.
    Regtest,
}

impl Network {
    /// The `chain` value `getblockchaininfo` reports on this network.
    pub fn core_chain_name(self) -> &'static str {
        match self {
            Network::Mainnet => "main",
            Network::Testnet3 => "test",
            Network::Testnet4 => "testnet4",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
        }
    }

    /// Bitcoin Core's default RPC port.
    pub fn default_rpc_port(self) -> u16 {
        match self {
            Network::Mainnet => 8332,
            Network::Testnet3 => 18332,
            Network::Testnet4 => 48332,
            Network::Signet => 38332,
            Network::Regtest => 18443,
        }
    }

    /// Bitcoin Core's data subdirectory (where the cookie file is).
    fn core_subdir(self) -> &'static str {
        match self {
            Network::Mainnet => "",
            Network::Testnet3 => "testnet3",
            Network::Testnet4 => "testnet4",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
        }
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mainnet" | "main" | "bitcoin" => Ok(Network::Mainnet),
            "testnet3" | "testnet" | "test" => Ok(Network::Testnet3),
            "testnet4" => Ok(Network::Testnet4),
            "signet" => Ok(Network::Signet),
            "regtest" => Ok(Network::Regtest),
            other => Err(format!("unknown network {other:?} (mainnet, testnet3, testnet4, signet, regtest)")),
        }
    }
}

/// How to log in to Bitcoin Core's RPC server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcAuth {
    /// The cookie file bitcoind writes at start (re-read for every request).
    Cookie(PathBuf),
    /// `rpcuser`/`rpcpassword` (or an `rpcauth` entry).
    UserPass {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
}

/// Bitcoin Core over JSON-RPC.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcConfig {
    /// `host:port` of the RPC server.
    pub url: String,
    /// Credentials.
    pub auth: RpcAuth,
    /// The network the node must be on.
    pub network: Network,
    /// How often to ask for the best block hash (besides the long poll).
    pub tip_poll: Duration,
    /// Time allowed for one ordinary call.
    pub timeout: Duration,
}

/// Where templates come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceConfig {
    /// The embedded regtest node on libbitcoinkernel, kept in `<data_dir>/regtest`.
    Embedded {
        /// How many transactions of its own it keeps in its mempool.
        own_transactions: usize,
    },
    /// Bitcoin Core over JSON-RPC.
    Rpc(RpcConfig),
}

/// Everything the template provider needs.
#[derive(Debug, Clone)]
pub struct TpConfig {
    /// Address to listen on (port 0: any free port; [`super::TpHandle::addr`] tells which).
    pub listen: SocketAddr,
    /// Keys, and the embedded node's chain.
    pub data_dir: PathBuf,
    /// The node.
    pub source: SourceConfig,
    /// A non-future template goes out when fees rose by at least this many satoshis...
    pub fee_delta_sats: u64,
    /// ...checked this often (so at most one such template per interval).
    pub fee_check_interval: Duration,
    /// Connections beyond this are closed at once.
    pub max_clients: usize,
    /// Handshake and write deadlines, and the largest frame taken from a client. The handshake
    /// deadline also bounds the time to SetupConnection and CoinbaseOutputConstraints.
    pub limits: Limits,
}

/// The embedded node keeps this many of its own transactions unless told otherwise.
pub const DEFAULT_OWN_TRANSACTIONS: usize = 4;

impl Default for TpConfig {
    fn default() -> Self {
        TpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8442)),
            data_dir: default_data_dir("tp"),
            source: SourceConfig::Embedded { own_transactions: DEFAULT_OWN_TRANSACTIONS },
            fee_delta_sats: 1000,
            fee_check_interval: Duration::from_secs(10),
            max_clients: 1000,
            limits: Limits::default(),
        }
    }
}

impl TpConfig {
    /// The embedded regtest node in `data_dir`, listening on a free loopback port.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        TpConfig { listen: SocketAddr::from(([127, 0, 0, 1], 0)), data_dir: data_dir.into(), ..TpConfig::default() }
    }
}

/// One layer of settings; each field overrides the layer below when set.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `listen = "127.0.0.1:8442"`
    pub listen: Option<String>,
    /// `data_dir = "~/.libsv2/tp"`
    pub data_dir: Option<String>,
    /// `fee_delta_sats = 1000`
    pub fee_delta_sats: Option<u64>,
    /// `fee_check_interval_secs = 10.0`
    pub fee_check_interval_secs: Option<f64>,
    /// `max_clients = 1000`
    pub max_clients: Option<usize>,
    /// `handshake_timeout_secs = 10.0`
    pub handshake_timeout_secs: Option<f64>,
    /// `write_timeout_secs = 30.0`
    pub write_timeout_secs: Option<f64>,
    /// `log = "info"` (a tracing filter; RUST_LOG wins when set)
    pub log: Option<String>,
    /// `[embedded]`
    #[serde(default)]
    pub embedded: EmbeddedSettings,
    /// `[rpc]`
    #[serde(default)]
    pub rpc: RpcSettings,
}

/// The `[embedded]` table.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSettings {
    /// `own_transactions = 4`
    pub own_transactions: Option<usize>,
}

/// The `[rpc]` table; setting `url` selects Bitcoin Core over RPC.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RpcSettings {
    /// `url = "127.0.0.1:8332"` (an `http://` prefix is accepted)
    pub url: Option<String>,
    /// `network = "mainnet"`
    pub network: Option<String>,
    /// `cookie_file = "~/.bitcoin/.cookie"`
    pub cookie_file: Option<String>,
    /// `user = "..."`
    pub user: Option<String>,
    /// `password = "..."`
    pub password: Option<String>,
    /// `tip_poll_ms = 250`
    pub tip_poll_ms: Option<u64>,
    /// `timeout_secs = 30.0`
    pub timeout_secs: Option<f64>,
}

macro_rules! overlay {
    ($dst:expr, $src:expr, $($f:ident),*) => { $( if $src.$f.is_some() { $dst.$f = $src.$f.clone(); } )* };
}

impl Settings {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Reads `SV2_TP_*` variables through `get` (the process environment in the command).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        fn num<T: FromStr>(name: &str, v: Option<String>) -> Result<Option<T>, String> {
            v.map(|s| s.trim().parse().map_err(|_| format!("{name}={s:?} is not a number"))).transpose()
        }
        Ok(Settings {
            listen: get("SV2_TP_LISTEN"),
            data_dir: get("SV2_TP_DATA_DIR"),
            fee_delta_sats: num("SV2_TP_FEE_DELTA", get("SV2_TP_FEE_DELTA"))?,
            fee_check_interval_secs: num("SV2_TP_FEE_INTERVAL", get("SV2_TP_FEE_INTERVAL"))?,
            max_clients: num("SV2_TP_MAX_CLIENTS", get("SV2_TP_MAX_CLIENTS"))?,
            handshake_timeout_secs: None,
            write_timeout_secs: None,
            log: get("SV2_TP_LOG"),
            embedded: EmbeddedSettings { own_transactions: num("SV2_TP_OWN_TXS", get("SV2_TP_OWN_TXS"))? },
            rpc: RpcSettings {
                url: get("SV2_TP_RPC_URL"),
                network: get("SV2_TP_NETWORK"),
                cookie_file: get("SV2_TP_RPC_COOKIE"),
                user: get("SV2_TP_RPC_USER"),
                password: get("SV2_TP_RPC_PASSWORD"),
                tip_poll_ms: None,
                timeout_secs: None,
            },
        })
    }

    /// This layer with `top` laid over it.
    pub fn overlay(mut self, top: &Settings) -> Self {
        overlay!(
            self,
            top,
            listen,
            data_dir,
            fee_delta_sats,
            fee_check_interval_secs,
            max_clients,
            handshake_timeout_secs,
            write_timeout_secs,
            log
        );
        overlay!(self.embedded, top.embedded, own_transactions);
        overlay!(self.rpc, top.rpc, url, network, cookie_file, user, password, tip_poll_ms, timeout_secs);
        self
    }

    /// The configuration these settings describe, defaults filling the gaps.
    pub fn resolve(&self) -> Result<TpConfig, String> {
        let d = TpConfig::default();
        let secs = |name: &str, v: Option<f64>, default: Duration| match v {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(format!("{name} = {s}: expected a positive number of seconds")),
        };
        let listen = match &self.listen {
            None => d.listen,
            Some(s) => s.parse().map_err(|_| format!("listen = {s:?}: expected ip:port, like 0.0.0.0:8442"))?,
        };
        let source = match &self.rpc.url {
            None => {
                let r = &self.rpc;
                if r.user.is_some() || r.password.is_some() || r.cookie_file.is_some() {
                    return Err("RPC credentials given but no RPC url (set rpc.url / --rpc-url)".into());
                }
                SourceConfig::Embedded {
                    own_transactions: self.embedded.own_transactions.unwrap_or(DEFAULT_OWN_TRANSACTIONS),
                }
            }
            Some(url) => SourceConfig::Rpc(self.rpc_config(url)?),
        };
        Ok(TpConfig {
            listen,
            data_dir: self.data_dir.as_deref().map(expand_home).unwrap_or(d.data_dir),
            source,
            fee_delta_sats: self.fee_delta_sats.unwrap_or(d.fee_delta_sats),
            fee_check_interval: secs("fee_check_interval_secs", self.fee_check_interval_secs, d.fee_check_interval)?,
            max_clients: self.max_clients.unwrap_or(d.max_clients),
            limits: Limits {
                handshake: secs("handshake_timeout_secs", self.handshake_timeout_secs, d.limits.handshake)?,
                write: secs("write_timeout_secs", self.write_timeout_secs, d.limits.write)?,
                ..d.limits
            },
        })
    }

    fn rpc_config(&self, url: &str) -> Result<RpcConfig, String> {
        let r = &self.rpc;
        let network: Network = r.network.as_deref().unwrap_or("mainnet").parse()?;
        let host = url.trim().trim_start_matches("http://").trim_end_matches('/');
        if host.is_empty() || host.contains('/') || host.starts_with("https") {
            return Err(format!("rpc url {url:?}: expected host:port (plain http, as bitcoind serves it)"));
        }
        let url = if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !host.ends_with(']') {
            host.to_owned()
        } else {
            format!("{host}:{}", network.default_rpc_port())
        };
        let auth = match (&r.user, &r.password, &r.cookie_file) {
            (Some(user), Some(password), None) => RpcAuth::UserPass { user: user.clone(), password: password.clone() },
            (None, None, Some(cookie)) => RpcAuth::Cookie(expand_home(cookie)),
            (None, None, None) => {
                RpcAuth::Cookie(expand_home("~/.bitcoin").join(network.core_subdir()).join(".cookie"))
            }
            (_, _, Some(_)) => return Err("give either an RPC cookie file or a user and password, not both".into()),
            _ => return Err("RPC user and password go together".into()),
        };
        let timeout = match r.timeout_secs {
            None => Duration::from_secs(30),
            Some(s) if s.is_finite() && s > 0.0 && s < 1e6 => Duration::from_secs_f64(s),
            Some(s) => return Err(format!("rpc.timeout_secs = {s}: expected a positive number of seconds")),
        };
        Ok(RpcConfig {
            url,
            auth,
            network,
            tip_poll: Duration::from_millis(r.tip_poll_ms.unwrap_or(250).max(10)),
            timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        let file: Settings = toml::from_str(
            r#"
            listen = "0.0.0.0:9000"
            fee_delta_sats = 5
            [rpc]
            url = "http://127.0.0.1"
            network = "regtest"
            user = "u"
            password = "p"
            "#,
        )
        .unwrap();
        let env = Settings::from_env(|k| (k == "SV2_TP_FEE_DELTA").then(|| "7".to_owned())).unwrap();
        let flags = Settings { listen: Some("127.0.0.1:1".into()), ..Settings::default() };
        let c = file.overlay(&env).overlay(&flags).resolve().unwrap();
        assert_eq!(c.listen, "127.0.0.1:1".parse().unwrap());
        assert_eq!(c.fee_delta_sats, 7);
        let SourceConfig::Rpc(rpc) = c.source else { panic!("expected rpc") };
        assert_eq!(rpc.url, "127.0.0.1:18443");
        assert_eq!(rpc.auth, RpcAuth::UserPass { user: "u".into(), password: "p".into() });
        assert_eq!(rpc.network, Network::Regtest);
    }

    #[test]
    fn embedded_is_the_default_and_mistakes_are_named() {
        let c = Settings::default().resolve().unwrap();
        assert_eq!(c.source, SourceConfig::Embedded { own_transactions: DEFAULT_OWN_TRANSACTIONS });
        let bad =
            |s: &str| toml::from_str::<Settings>(s).map_err(|e| e.to_string()).and_then(|s| s.resolve().map(|_| ()));
        assert!(bad("lisen = \"x\"").unwrap_err().contains("lisen"));
        assert!(bad("listen = \"nowhere\"").unwrap_err().contains("ip:port"));
        assert!(bad("[rpc]\nurl = \"h:1\"\nnetwork = \"moon\"").unwrap_err().contains("unknown network"));
        assert!(bad("[rpc]\nuser = \"u\"").unwrap_err().contains("no RPC url"));
        assert!(bad("[rpc]\nurl = \"h:1\"\nuser = \"u\"").unwrap_err().contains("go together"));
        assert!(bad("fee_check_interval_secs = -1.0").unwrap_err().contains("positive"));
        let env = Settings::from_env(|k| (k == "SV2_TP_MAX_CLIENTS").then(|| "many".to_owned()));
        assert!(env.unwrap_err().contains("SV2_TP_MAX_CLIENTS"));
    }

    #[test]
    fn cookie_defaults_to_the_network_directory() {
        let s = Settings {
            rpc: RpcSettings { url: Some("127.0.0.1".into()), network: Some("signet".into()), ..Default::default() },
            ..Default::default()
        };
        let SourceConfig::Rpc(rpc) = s.resolve().unwrap().source else { panic!() };
        assert_eq!(rpc.url, "127.0.0.1:38332");
        let RpcAuth::Cookie(p) = rpc.auth else { panic!() };
        assert!(p.ends_with(".bitcoin/signet/.cookie"), "{}", p.display());
    }
}
