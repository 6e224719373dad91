//! The Job Declaration flags of a role with a JDC (`sv2 translator`): `--jd` per pool,
//! `--jd-tp`, `--jd-mode`, `--solo-payout`, as `sv2 proxy` spells them.

use clap::Args;

use super::JdConfig;
use crate::upstream::PoolEndpoint;

/// Job Declaration flags.
#[derive(Debug, Args)]
pub struct JdArgs {
    /// Job Declaration: the Job Declaration Server of each `--pool`, in the same order,
    /// `host:port=AUTHORITY` (usually the pool's own key), or `none` for a pool without one.
    /// Turns on Job Declaration (one aggregated upstream channel).
    #[arg(long = "jd", value_name = "HOST:PORT=KEY|none")]
    pub jds: Vec<String>,
    /// The farm's own template provider for Job Declaration, `host:port` or
    /// `host:port=AUTHORITY` (without a key any server key is accepted: loopback only).
    #[arg(long, value_name = "HOST:PORT[=KEY]")]
    pub jd_tp: Option<String>,
    /// `full` (declare the transactions: Full-Template) or `coinbase-only`.
    #[arg(long, default_value = "full")]
    pub jd_mode: String,
    /// scriptPubKey (hex) paid when no Job Declaration Server is usable: the farm mines its
    /// own templates solo meanwhile.
    #[arg(long, value_name = "SCRIPT_HEX")]
    pub solo_payout: Option<String>,
}

impl JdArgs {
    /// The JDC's configuration for `pools` upstream pools, asking tokens as `user` (None: no
    /// `--jd`).
    pub fn config(&self, pools: usize, user: &str) -> Result<Option<JdConfig>, String> {
        if self.jds.is_empty() {
            if self.jd_tp.is_some() || self.solo_payout.is_some() {
                return Err("--jd-tp and --solo-payout need --jd".into());
            }
            return Ok(None);
        }
        if self.jds.len() != pools {
            return Err(format!(
                "{} --jd for {pools} --pool: give one per pool, in order (`none` for none)",
                self.jds.len()
            ));
        }
        let jds = self
            .jds
            .iter()
            .map(|j| if j == "none" { Ok(None) } else { PoolEndpoint::parse(j).map(Some) })
            .collect::<Result<Vec<_>, _>>()?;
        let tp = self.jd_tp.as_deref().ok_or("--jd needs --jd-tp (the farm's template provider)")?;
        let (address, authority) = match tp.rsplit_once('=') {
            Some((a, k)) => (a, Some(crate::net::load_authority_key(std::path::Path::new(k))?)),
            None => (tp, None),
        };
        let mut c = JdConfig::new(jds, address);
        c.tp_authority = authority;
        c.full_template = match self.jd_mode.as_str() {
            "full" => true,
            "coinbase-only" => false,
            other => return Err(format!("--jd-mode {other}: full or coinbase-only")),
        };
        c.solo_payout = match &self.solo_payout {
            Some(h) => Some(hex::decode(h).map_err(|e| format!("--solo-payout: {e}"))?).filter(|s| !s.is_empty()),
            None => None,
        };
        c.user = user.to_string();
        Ok(Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(jds: &[&str], tp: Option<&str>, mode: &str, solo: Option<&str>) -> JdArgs {
        JdArgs {
            jds: jds.iter().map(|s| s.to_string()).collect(),
            jd_tp: tp.map(str::to_string),
            jd_mode: mode.into(),
            solo_payout: solo.map(str::to_string),
        }
    }

    #[test]
    fn flags_are_checked() {
        assert!(args(&[], None, "full", None).config(1, "u").unwrap().is_none());
        assert!(args(&[], Some("127.0.0.1:1"), "full", None).config(1, "u").is_err(), "--jd-tp alone");
        assert!(args(&["none"], Some("127.0.0.1:1"), "full", None).config(2, "u").is_err(), "one per pool");
        assert!(args(&["none"], None, "full", None).config(1, "u").is_err(), "no --jd-tp");
        assert!(args(&["none"], Some("127.0.0.1:1"), "half", None).config(1, "u").is_err(), "bad mode");
        assert!(args(&["none"], Some("127.0.0.1:1"), "full", Some("zz")).config(1, "u").is_err(), "bad hex");
        let c = args(&["none"], Some("127.0.0.1:1"), "coinbase-only", Some("0014aa")).config(1, "u").unwrap().unwrap();
        assert!(!c.full_template && c.jds.len() == 1 && c.jds[0].is_none() && c.tp_address == "127.0.0.1:1");
        assert_eq!((c.solo_payout.as_deref(), c.user.as_str()), (Some(&[0x00, 0x14, 0xaa][..]), "u"));
    }
}
