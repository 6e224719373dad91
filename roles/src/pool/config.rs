//! The pool's settings: [`PoolConfig`] for code, and the layers the command reads it from —
//! defaults, a TOML file, `SV2_POOL_*` environment variables, then flags, each later layer
//! overriding the one before.

use crate::paths::{default_data_dir, expand_home};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use sv2::noise::AuthorityPublicKey;

use super::jds::{JdNode, JdServerConfig};
use crate::net::{load_authority_key, Limits};
use crate::tp::RpcAuth;

/// Everything the pool needs.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Mining server address (port 0: any free port; see [`super::PoolHandle::addr`]).
    pub listen: SocketAddr,
    /// Prometheus `/metrics` address (None: no metrics endpoint).
    pub metrics_listen: Option<SocketAddr>,
    /// Keys (`authority.key`, `server.key`) and the share database (`pool.sqlite`).
    pub data_dir: PathBuf,
    /// The template provider, `host:port`.
    pub tp_address: String,
    /// The template provider's authority key (None: accept any key; loopback only).
    pub tp_authority: Option<AuthorityPublicKey>,
    /// scriptPubKey every block pays.
    pub payout_script: Vec<u8>,
    /// Pushed in every coinbase scriptSig.
    pub pool_tag: String,
    /// Shares a minute vardiff aims at per channel.
    pub shares_per_minute: f64,
    /// Seconds vardiff watches a channel before it judges the rate.
    pub vardiff_window_secs: u64,
    /// Hashrate assumed for a channel that announces none (h/s).
    pub default_hashrate: f64,
    /// The easiest share difficulty a channel may get, whatever hashrate or maximum target it
    /// announces (bdiff; difficulty 1 is 2^32 hashes a share).
    pub min_difficulty: f64,
    /// A connection that sends more invalid shares than this within a minute, and more
    /// invalid than valid ones, is closed.
    pub max_invalid_shares_per_minute: u32,
    /// Whether miners may roll the BIP323 version bits (false: REQUIRES_FIXED_VERSION).
    pub version_rolling: bool,
    /// Refuse standard channels (REQUIRES_EXTENDED_CHANNELS).
    pub extended_channels_only: bool,
    /// Connections beyond this are closed at once.
    pub max_connections: usize,
    /// Channels one connection may open.
    pub max_channels_per_connection: usize,
    /// Time a connection has from TCP accept to its first open channel.
    pub setup_timeout: Duration,
    /// Handshake and write deadlines, and the largest frame taken from a miner.
    pub limits: Limits,
    /// The Job Declaration Server (None: off; miners mine the pool's templates only).
    pub jds: Option<JdServerConfig>,
}

impl PoolConfig {
    /// A pool on a free loopback port with data in `data_dir`, paying `payout_script`, fed by
    /// the template provider at `tp_address`; no metrics endpoint.
    pub fn new(data_dir: impl Into<PathBuf>, tp_address: impl Into<String>, payout_script: Vec<u8>) -> Self {
        PoolConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_listen: None,
            data_dir: data_dir.into(),
            tp_address: tp_address.into(),
            tp_authority: None,
            payout_script,
            pool_tag: "libsv2".into(),
            shares_per_minute: 10.0,
            vardiff_window_secs: 60,
            default_hashrate: 1e6,
            // A CPU miner (a few MH/s) finds about one share a second at this difficulty,
            // and no client gets an easier one. Mainnet pools raise it.
            min_difficulty: 1e-3,
            max_invalid_shares_per_minute: 600,
            version_rolling: true,
            extended_channels_only: false,
            max_connections: 20_000,
            max_channels_per_connection: 64,
            setup_timeout: Duration::from_secs(30),
            // Small frames only: nothing a miner sends is near 64 KiB.
            limits: Limits { max_payload: 64 * 1024, ..Limits::default() },
            jds: None,
        }
    }
}

/// One layer of settings (TOML keys as written); each field overrides the layer below when set.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `listen = "0.0.0.0:34254"`
    pub listen: Option<String>,
    /// `metrics_listen = "127.0.0.1:9184"` (`""` turns the endpoint off)
    pub metrics_listen: Option<String>,
    /// `data_dir = "~/.libsv2/pool"`
    pub data_dir: Option<String>,
    /// `tp_address = "127.0.0.1:8442"`
    pub tp_address: Option<String>,
    /// `tp_authority = "9bD..."` (base58check, or a file holding it)
    pub tp_authority: Option<String>,
    /// `payout_address = "bcrt1q..."`
    pub payout_address: Option<String>,
    /// `payout_script_hex = "0014..."` (instead of an address)
    pub payout_script_hex: Option<String>,
    /// `pool_tag = "libsv2"`
    pub pool_tag: Option<String>,
    /// `shares_per_minute = 10.0`
    pub shares_per_minute: Option<f64>,
    /// `vardiff_window_secs = 60`
    pub vardiff_window_secs: Option<u64>,
    /// `default_hashrate = 1e6`
    pub default_hashrate: Option<f64>,
    /// `min_difficulty = 0.001`
    pub min_difficulty: Option<f64>,
    /// `max_invalid_shares_per_minute = 600`
    pub max_invalid_shares_per_minute: Option<u32>,
    /// `version_rolling = true`
    pub version_rolling: Option<bool>,
    /// `extended_channels_only = false`
    pub extended_channels_only: Option<bool>,
    /// `max_connections = 20000`
    pub max_connections: Option<usize>,
    /// `max_channels_per_connection = 64`
    pub max_channels_per_connection: Option<usize>,
    /// `setup_timeout_secs = 30.0`
    pub setup_timeout_secs: Option<f64>,
    /// `handshake_timeout_secs = 10.0`
    pub handshake_timeout_secs: Option<f64>,
    /// `write_timeout_secs = 30.0`
    pub write_timeout_secs: Option<f64>,
    /// `log = "info"` (a tracing filter; RUST_LOG wins when set)
    pub log: Option<String>,
    /// `jd_listen = "0.0.0.0:34264"` (the Job Declaration Server; off when unset)
    pub jd_listen: Option<String>,
    /// `jd_node_rpc = "127.0.0.1:8332"` (Bitcoin Core's RPC: checks declared jobs, takes their blocks)
    pub jd_node_rpc: Option<String>,
    /// `jd_node_rpc_cookie = "~/.bitcoin/.cookie"`
    pub jd_node_rpc_cookie: Option<String>,
    /// `jd_node_rpc_user = "pool"` (with `jd_node_rpc_password`, instead of the cookie)
    pub jd_node_rpc_user: Option<String>,
    /// `jd_node_rpc_password = "..."`
    pub jd_node_rpc_password: Option<String>,
    /// `jd_token_lifetime_secs = 600`
    pub jd_token_lifetime_secs: Option<u64>,
    /// `jd_max_tokens_per_connection = 16`
    pub jd_max_tokens_per_connection: Option<usize>,
    /// `jd_max_allocations_per_minute = 120`
    pub jd_max_allocations_per_minute: Option<u32>,
    /// `jd_max_connections = 64`
    pub jd_max_connections: Option<usize>,
    /// `jd_max_missing_txs = 16384`
    pub jd_max_missing_txs: Option<usize>,
    /// `jd_max_missing_bytes = 4000000`
    pub jd_max_missing_bytes: Option<usize>,
    /// `jd_idle_timeout_secs = 900.0`
    pub jd_idle_timeout_secs: Option<f64>,
}

macro_rules! overlay {
    ($dst:expr, $src:expr, $($f:ident),*) => { $( if $src.$f.is_some() { $dst.$f = $src.$f.clone(); } )* };
}

/// Environment variables read by [`Settings::from_env`], with the key each sets.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("SV2_POOL_LISTEN", "listen"),
    ("SV2_POOL_METRICS_LISTEN", "metrics_listen"),
    ("SV2_POOL_DATA_DIR", "data_dir"),
    ("SV2_POOL_TP_ADDRESS", "tp_address"),
    ("SV2_POOL_TP_AUTHORITY", "tp_authority"),
    ("SV2_POOL_PAYOUT_ADDRESS", "payout_address"),
    ("SV2_POOL_PAYOUT_SCRIPT_HEX", "payout_script_hex"),
    ("SV2_POOL_TAG", "pool_tag"),
    ("SV2_POOL_SHARES_PER_MINUTE", "shares_per_minute"),
    ("SV2_POOL_VARDIFF_WINDOW_SECS", "vardiff_window_secs"),
    ("SV2_POOL_DEFAULT_HASHRATE", "default_hashrate"),
    ("SV2_POOL_MIN_DIFFICULTY", "min_difficulty"),
    ("SV2_POOL_MAX_INVALID_SHARES_PER_MINUTE", "max_invalid_shares_per_minute"),
    ("SV2_POOL_VERSION_ROLLING", "version_rolling"),
    ("SV2_POOL_EXTENDED_CHANNELS_ONLY", "extended_channels_only"),
    ("SV2_POOL_MAX_CONNECTIONS", "max_connections"),
    ("SV2_POOL_MAX_CHANNELS_PER_CONNECTION", "max_channels_per_connection"),
    ("SV2_POOL_SETUP_TIMEOUT_SECS", "setup_timeout_secs"),
    ("SV2_POOL_HANDSHAKE_TIMEOUT_SECS", "handshake_timeout_secs"),
    ("SV2_POOL_WRITE_TIMEOUT_SECS", "write_timeout_secs"),
    ("SV2_POOL_LOG", "log"),
    ("SV2_POOL_JD_LISTEN", "jd_listen"),
    ("SV2_POOL_JD_NODE_RPC", "jd_node_rpc"),
    ("SV2_POOL_JD_NODE_RPC_COOKIE", "jd_node_rpc_cookie"),
    ("SV2_POOL_JD_NODE_RPC_USER", "jd_node_rpc_user"),
    ("SV2_POOL_JD_NODE_RPC_PASSWORD", "jd_node_rpc_password"),
    ("SV2_POOL_JD_TOKEN_LIFETIME_SECS", "jd_token_lifetime_secs"),
    ("SV2_POOL_JD_MAX_TOKENS_PER_CONNECTION", "jd_max_tokens_per_connection"),
    ("SV2_POOL_JD_MAX_ALLOCATIONS_PER_MINUTE", "jd_max_allocations_per_minute"),
    ("SV2_POOL_JD_MAX_CONNECTIONS", "jd_max_connections"),
    ("SV2_POOL_JD_MAX_MISSING_TXS", "jd_max_missing_txs"),
    ("SV2_POOL_JD_MAX_MISSING_BYTES", "jd_max_missing_bytes"),
    ("SV2_POOL_JD_IDLE_TIMEOUT_SECS", "jd_idle_timeout_secs"),
];

impl Settings {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Reads the `SV2_POOL_*` variables ([`ENV_VARS`]) through `get` (the process environment
    /// in the command). Each value is read as the TOML value of its key, so numbers and
    /// booleans are checked the same way as in the file.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut table = toml::Table::new();
        for (var, key) in ENV_VARS {
            let Some(raw) = get(var) else { continue };
            let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
                Ok(mut t) if !matches!(t.get("v"), Some(toml::Value::String(_))) => t.remove("v"),
                _ => None,
            }
            .unwrap_or(toml::Value::String(raw.clone()));
            table.insert((*key).to_string(), value);
        }
        toml::Value::Table(table).try_into().map_err(|e| format!("environment: {e}"))
    }

    /// This layer with `top` laid over it.
    pub fn overlay(mut self, top: &Settings) -> Self {
        overlay!(
            self,
            top,
            listen,
            metrics_listen,
            data_dir,
            tp_address,
            tp_authority,
            payout_address,
            payout_script_hex,
            pool_tag,
            shares_per_minute,
            vardiff_window_secs,
            default_hashrate,
            min_difficulty,
            max_invalid_shares_per_minute,
            version_rolling,
            extended_channels_only,
            max_connections,
            max_channels_per_connection,
            setup_timeout_secs,
            handshake_timeout_secs,
            write_timeout_secs,
            log,
            jd_listen,
            jd_node_rpc,
            jd_node_rpc_cookie,
            jd_node_rpc_user,
            jd_node_rpc_password,
            jd_token_lifetime_secs,
            jd_max_tokens_per_connection,
            jd_max_allocations_per_minute,
            jd_max_connections,
            jd_max_missing_txs,
            jd_max_missing_bytes,
            jd_idle_timeout_secs
        );
        self
    }

    /// The configuration these settings describe, defaults filling the gaps; every bad value
    /// is named in the error.
    pub fn resolve(&self) -> Result<PoolConfig, String> {
        let payout_script = match (&self.payout_address, &self.payout_script_hex) {
            (Some(_), Some(_)) => return Err("set payout_address or payout_script_hex, not both".into()),
            (Some(a), None) => bitcoin::Address::from_str(a.trim())
                .map_err(|e| format!("payout_address = {a:?}: {e}"))?
                .assume_checked()
                .script_pubkey()
                .to_bytes(),
            (None, Some(h)) => {
                let s = hex::decode(h.trim()).map_err(|e| format!("payout_script_hex = {h:?}: {e}"))?;
                if s.is_empty() || s.len() > 10_000 {
                    return Err(format!("payout_script_hex = {h:?}: expected 1 to 10000 bytes"));
                }
                s
            }
            (None, None) => {
                return Err("no payout address: set payout_address (or payout_script_hex) in the config file, \
                            SV2_POOL_PAYOUT_ADDRESS, or --payout-address"
                    .into())
            }
        };
        let addr = |name: &str, v: &str| -> Result<SocketAddr, String> {
            v.trim().parse().map_err(|_| format!("{name} = {v:?}: expected ip:port, like 0.0.0.0:34254"))
        };
        let secs = |name: &str, v: Option<f64>, default: Duration| match v {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(format!("{name} = {s}: expected a positive number of seconds")),
        };
        let positive = |name: &str, v: Option<f64>, default: f64| match v {
            None => Ok(default),
            Some(x) if x.is_finite() && x > 0.0 => Ok(x),
            Some(x) => Err(format!("{name} = {x}: expected a positive number")),
        };
        let mut c = PoolConfig::new(
            self.data_dir.as_deref().map(expand_home).unwrap_or_else(|| default_data_dir("pool")),
            self.tp_address.clone().unwrap_or_else(|| "127.0.0.1:8442".into()),
            payout_script,
        );
        c.listen = match &self.listen {
            Some(l) => addr("listen", l)?,
            None => SocketAddr::from(([127, 0, 0, 1], 34254)),
        };
        c.metrics_listen = match self.metrics_listen.as_deref() {
            None => Some(SocketAddr::from(([127, 0, 0, 1], 9184))),
            Some("") => None,
            Some(l) => Some(addr("metrics_listen", l)?),
        };
        if c.tp_address.trim().is_empty() || !c.tp_address.contains(':') {
            return Err(format!("tp_address = {:?}: expected host:port", c.tp_address));
        }
        c.tp_authority = self.tp_authority.as_deref().map(|a| load_authority_key(Path::new(a.trim()))).transpose()?;
        // Without a pinned key anyone on the path could serve templates paying themselves.
        if c.tp_authority.is_none() && !is_loopback_host(&c.tp_address) {
            return Err(format!(
                "tp_authority is required for a template provider that is not on this host ({}): \
                 give its authority.pub",
                c.tp_address
            ));
        }
        if let Some(tag) = &self.pool_tag {
            if tag.len() > 32 {
                return Err(format!("pool_tag = {tag:?}: at most 32 bytes"));
            }
            c.pool_tag = tag.clone();
        }
        c.shares_per_minute = positive("shares_per_minute", self.shares_per_minute, c.shares_per_minute)?;
        c.default_hashrate = positive("default_hashrate", self.default_hashrate, c.default_hashrate)?;
        c.min_difficulty = positive("min_difficulty", self.min_difficulty, c.min_difficulty)?;
        c.max_invalid_shares_per_minute = self.max_invalid_shares_per_minute.unwrap_or(c.max_invalid_shares_per_minute);
        if let Some(w) = self.vardiff_window_secs {
            if w == 0 {
                return Err("vardiff_window_secs = 0: expected at least 1".into());
            }
            c.vardiff_window_secs = w;
        }
        c.version_rolling = self.version_rolling.unwrap_or(c.version_rolling);
        c.extended_channels_only = self.extended_channels_only.unwrap_or(c.extended_channels_only);
        for (name, v, dst) in [
            ("max_connections", self.max_connections, &mut c.max_connections),
            ("max_channels_per_connection", self.max_channels_per_connection, &mut c.max_channels_per_connection),
        ] {
            match v {
                Some(0) => return Err(format!("{name} = 0: expected at least 1")),
                Some(n) => *dst = n,
                None => {}
            }
        }
        c.setup_timeout = secs("setup_timeout_secs", self.setup_timeout_secs, c.setup_timeout)?;
        c.limits.handshake = secs("handshake_timeout_secs", self.handshake_timeout_secs, c.limits.handshake)?;
        c.limits.write = secs("write_timeout_secs", self.write_timeout_secs, c.limits.write)?;
        c.jds = self.jds()?;
        Ok(c)
    }

    /// The Job Declaration Server these settings describe (None without `jd_listen`).
    fn jds(&self) -> Result<Option<JdServerConfig>, String> {
        let Some(listen) = &self.jd_listen else { return Ok(None) };
        let listen = listen
            .trim()
            .parse()
            .map_err(|_| format!("jd_listen = {listen:?}: expected ip:port, like 0.0.0.0:34264"))?;
        let Some(url) = &self.jd_node_rpc else {
            return Err("jd_listen needs jd_node_rpc: the Bitcoin Core RPC server that checks declared jobs".into());
        };
        let auth = match (&self.jd_node_rpc_cookie, &self.jd_node_rpc_user, &self.jd_node_rpc_password) {
            (Some(c), None, None) => RpcAuth::Cookie(expand_home(c)),
            (None, Some(u), Some(p)) => RpcAuth::UserPass { user: u.clone(), password: p.clone() },
            _ => {
                return Err("jd_node_rpc needs jd_node_rpc_cookie, or jd_node_rpc_user with jd_node_rpc_password".into())
            }
        };
        let mut j = JdServerConfig::new(listen, JdNode::Rpc { url: url.trim().to_string(), auth });
        j.token_lifetime_secs = self.jd_token_lifetime_secs.unwrap_or(j.token_lifetime_secs);
        j.max_allocations_per_minute = self.jd_max_allocations_per_minute.unwrap_or(j.max_allocations_per_minute);
        j.max_missing_bytes = self.jd_max_missing_bytes.unwrap_or(j.max_missing_bytes);
        for (name, v, dst) in [
            ("jd_max_tokens_per_connection", self.jd_max_tokens_per_connection, &mut j.max_tokens_per_connection),
            ("jd_max_connections", self.jd_max_connections, &mut j.max_connections),
            ("jd_max_missing_txs", self.jd_max_missing_txs, &mut j.max_missing_txs),
        ] {
            match v {
                Some(0) => return Err(format!("{name} = 0: expected at least 1")),
                Some(n) => *dst = n,
                None => {}
            }
        }
        if j.token_lifetime_secs == 0 {
            return Err("jd_token_lifetime_secs = 0: expected at least 1".into());
        }
        if j.max_missing_bytes > 64 << 20 {
            return Err(format!("jd_max_missing_bytes = {}: at most {}", j.max_missing_bytes, 64 << 20));
        }
        if let Some(s) = self.jd_idle_timeout_secs {
            if !(s.is_finite() && s > 0.0 && s < 1e9) {
                return Err(format!("jd_idle_timeout_secs = {s}: expected a positive number of seconds"));
            }
            j.idle_timeout = Duration::from_secs_f64(s);
        }
        Ok(Some(j))
    }
}

/// Whether `host:port` names this host (loopback address or `localhost`).
fn is_loopback_host(host_port: &str) -> bool {
    let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h).trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGTEST_ADDRESS: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

    #[test]
    fn layers_override_in_order_and_resolve() {
        let file = Settings::from_toml(&format!(
            "listen = \"0.0.0.0:3333\"\npayout_address = \"{REGTEST_ADDRESS}\"\nshares_per_minute = 6.0\n"
        ))
        .unwrap();
        let env = Settings::from_env(|k| match k {
            "SV2_POOL_SHARES_PER_MINUTE" => Some("30".into()),
            "SV2_POOL_VERSION_ROLLING" => Some("false".into()),
            "SV2_POOL_METRICS_LISTEN" => Some("".into()),
            _ => None,
        })
        .unwrap();
        let c = file.overlay(&env).resolve().unwrap();
        assert_eq!(c.listen, "0.0.0.0:3333".parse().unwrap());
        assert_eq!(c.shares_per_minute, 30.0);
        assert!(!c.version_rolling);
        assert_eq!(c.metrics_listen, None);
        assert_eq!(c.payout_script[..2], [0x00, 0x14]);
    }

    #[test]
    fn bad_values_are_named() {
        let err = |toml: &str| {
            Settings::from_toml(&format!("payout_script_hex = \"51\"\n{toml}")).and_then(|s| s.resolve()).unwrap_err()
        };
        assert!(err("listen = \"nowhere\"").contains("listen"));
        assert!(err("shares_per_minute = -1.0").contains("shares_per_minute"));
        assert!(err("max_connections = 0").contains("max_connections"));
        assert!(err("colour = \"blue\"").contains("colour"));
        assert!(err("tp_address = \"localhost\"").contains("tp_address"));
        // A remote template provider needs its key pinned; a local one may go unpinned.
        assert!(err("tp_address = \"tp.example:8442\"").contains("tp_authority"));
        assert!(err("tp_address = \"10.0.0.2:8442\"").contains("tp_authority"));
        for local in ["localhost:8442", "127.0.0.1:8442", "[::1]:8442"] {
            let s = Settings::from_toml(&format!("payout_script_hex = \"51\"\ntp_address = \"{local}\"")).unwrap();
            assert!(s.resolve().is_ok(), "{local}");
        }
        assert!(Settings::default().resolve().unwrap_err().contains("payout"));
        assert!(Settings { payout_address: Some("not-an-address".into()), ..Settings::default() }
            .resolve()
            .unwrap_err()
            .contains("payout_address"));
        let env = Settings::from_env(|k| (k == "SV2_POOL_MAX_CONNECTIONS").then(|| "lots".into()));
        assert!(env.unwrap_err().contains("max_connections"));
    }

    #[test]
    fn job_declaration_server_settings() {
        let base = format!("payout_address = \"{REGTEST_ADDRESS}\"\n");
        let c = Settings::from_toml(&base).unwrap().resolve().unwrap();
        assert!(c.jds.is_none(), "off by default");
        let on = format!(
            "{base}jd_listen = \"127.0.0.1:34264\"\njd_node_rpc = \"127.0.0.1:18443\"\n\
             jd_node_rpc_user = \"u\"\njd_node_rpc_password = \"p\"\njd_token_lifetime_secs = 30\n"
        );
        let env = Settings::from_env(|k| (k == "SV2_POOL_JD_MAX_CONNECTIONS").then(|| "5".into())).unwrap();
        let j = Settings::from_toml(&on).unwrap().overlay(&env).resolve().unwrap().jds.unwrap();
        assert_eq!((j.listen.port(), j.token_lifetime_secs, j.max_connections), (34264, 30, 5));
        assert!(matches!(j.node, JdNode::Rpc { ref url, auth: RpcAuth::UserPass { .. } } if url == "127.0.0.1:18443"));
        let no_node = format!("{base}jd_listen = \"127.0.0.1:34264\"\n");
        assert!(Settings::from_toml(&no_node).unwrap().resolve().unwrap_err().contains("jd_node_rpc"));
        let no_auth = format!("{no_node}jd_node_rpc = \"127.0.0.1:18443\"\n");
        assert!(Settings::from_toml(&no_auth).unwrap().resolve().unwrap_err().contains("jd_node_rpc_cookie"));
        let zero = on.replace("jd_token_lifetime_secs = 30", "jd_token_lifetime_secs = 0");
        assert!(Settings::from_toml(&zero).unwrap().resolve().unwrap_err().contains("jd_token_lifetime_secs"));
    }
}
