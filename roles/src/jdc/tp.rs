//! The JDC's Template Distribution client of the farm's own template provider: templates,
//! tips and the templates' transactions in, CoinbaseOutputConstraints, RequestTransactionData
//! and SubmitSolution out. A lost template provider is reconnected to with back-off while the
//! devices keep their last jobs.

use std::time::Duration;

use sv2::codec::{Bytes, Str0_255};
use sv2::messages::{
    CoinbaseOutputConstraints, RequestTransactionData, SetNewPrevHashTdp, SetupConnection, SubmitSolution,
};
use sv2::noise::{AuthorityPublicKey, ServerAuth};
use sv2::Message;
use tokio::sync::{mpsc, watch};

use super::work::Template;
use crate::net::{stopped, Connection, Limits};

/// Largest frame taken from the template provider: a whole block's transactions.
const MAX_TRANSACTION_DATA: usize = 8 << 20;

/// What the template provider said.
#[derive(Debug)]
pub(super) enum TpEvent {
    /// A new session: earlier templates are gone.
    Connected,
    Template(Template),
    Tip(SetNewPrevHashTdp),
    Transactions {
        template_id: u64,
        txs: Vec<Vec<u8>>,
    },
}

/// What the JDC asks of the template provider.
#[derive(Debug)]
pub(super) enum TpCmd {
    /// The room the coinbase needs for outputs (sent now and on every reconnect).
    Constraints(CoinbaseOutputConstraints),
    /// RequestTransactionData.
    Transactions(u64),
    /// SubmitSolution of a block found on a template.
    Solution { template_id: u64, version: u32, ntime: u32, nonce: u32, coinbase: Vec<u8> },
}

pub(super) struct TpLink {
    pub address: String,
    pub authority: Option<AuthorityPublicKey>,
}

/// Runs until shutdown, reconnecting with back-off (100 ms doubling to 5 s).
pub(super) async fn run(
    link: TpLink,
    mut constraints: CoinbaseOutputConstraints,
    events: mpsc::Sender<TpEvent>,
    mut cmds: mpsc::Receiver<TpCmd>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let r = tokio::select! {
            r = session(&link, &mut constraints, &events, &mut cmds) => r,
            _ = stopped(&mut shutdown) => return,
        };
        if events.is_closed() {
            return;
        }
        tracing::warn!("jdc: template provider {}: {r}; reconnecting in {backoff:?}", link.address);
        let wait = tokio::time::sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                _ = stopped(&mut shutdown) => return,
                cmd = cmds.recv() => match cmd {
                    None => return,
                    Some(TpCmd::Constraints(c)) => constraints = c,
                    Some(TpCmd::Solution { template_id, .. }) => {
                        tracing::error!("jdc: block on template {template_id} found while the template provider is away: not submitted to it");
                    }
                    Some(TpCmd::Transactions(_)) => {}
                },
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn text(s: &str) -> Str0_255<'_> {
    Str0_255::from_str(s).unwrap_or_default()
}

async fn session(
    link: &TpLink,
    constraints: &mut CoinbaseOutputConstraints,
    events: &mpsc::Sender<TpEvent>,
    cmds: &mut mpsc::Receiver<TpCmd>,
) -> String {
    let auth = link.authority.map_or(ServerAuth::InsecureAcceptAnyServer, ServerAuth::Authority);
    let limits = Limits { max_payload: MAX_TRANSACTION_DATA, ..Limits::default() };
    let mut conn = match Connection::connect(&link.address, auth, limits).await {
        Ok(c) => c,
        Err(e) => return format!("connect: {e}"),
    };
    let (host, port) = link.address.rsplit_once(':').unwrap_or((&link.address, "0"));
    let setup = SetupConnection {
        protocol: 2,
        min_version: 2,
        max_version: 2,
        flags: 0,
        endpoint_host: text(host),
        endpoint_port: port.parse().unwrap_or(0),
        vendor: text("libsv2 jdc"),
        hardware_version: Str0_255::EMPTY,
        firmware: text(env!("CARGO_PKG_VERSION")),
        device_id: Str0_255::EMPTY,
    };
    if let Err(e) = conn.send(&setup.into()).await {
        return e.to_string();
    }
    match conn.read_frame().await.map_err(|e| e.to_string()).and_then(|f| {
        let ok = match f.message().map_err(|e| e.to_string())?.0 {
            Message::SetupConnectionSuccess(_) => Ok(()),
            Message::SetupConnectionError(e) => {
                Err(format!("refused: {}", String::from_utf8_lossy(e.error_code.as_bytes())))
            }
            other => Err(format!("unexpected {} before SetupConnection.Success", other.name())),
        };
        ok
    }) {
        Ok(()) => {}
        Err(e) => return e,
    }
    if let Err(e) = conn.send(&(*constraints).into()).await {
        return e.to_string();
    }
    tracing::info!("jdc: connected to the template provider at {}", link.address);
    if events.send(TpEvent::Connected).await.is_err() {
        return "stopped".into();
    }
    loop {
        tokio::select! {
            frame = conn.read_frame() => {
                let frame = match frame {
                    Ok(f) => f,
                    Err(e) => return e.to_string(),
                };
                let event = match frame.message() {
                    Ok((Message::NewTemplate(t), _)) => TpEvent::Template(Template::from_msg(&t)),
                    Ok((Message::SetNewPrevHashTdp(p), _)) => TpEvent::Tip(p),
                    Ok((Message::RequestTransactionDataSuccess(d), _)) => TpEvent::Transactions {
                        template_id: d.template_id,
                        txs: d.transaction_list.iter().map(|t| t.as_bytes().to_vec()).collect(),
                    },
                    Ok((Message::RequestTransactionDataError(e), _)) => {
                        tracing::debug!("jdc: no transactions for template {}: {}", e.template_id, String::from_utf8_lossy(e.error_code.as_bytes()));
                        continue;
                    }
                    Ok((other, _)) => {
                        tracing::debug!("jdc: ignoring {} from the template provider", other.name());
                        continue;
                    }
                    Err(e) => return format!("bad message: {e}"),
                };
                if events.send(event).await.is_err() {
                    return "stopped".into();
                }
            }
            cmd = cmds.recv() => {
                let sent = match cmd {
                    None => return "stopped".into(),
                    Some(TpCmd::Constraints(c)) => {
                        *constraints = c;
                        conn.send(&c.into()).await
                    }
                    Some(TpCmd::Transactions(template_id)) => conn.send(&RequestTransactionData { template_id }.into()).await,
                    Some(TpCmd::Solution { template_id, version, ntime, nonce, coinbase }) => {
                        let Ok(coinbase_tx) = Bytes::new(&coinbase) else {
                            tracing::error!("jdc: a coinbase of {} bytes does not fit SubmitSolution", coinbase.len());
                            continue;
                        };
                        let m = SubmitSolution { template_id, version, header_timestamp: ntime, header_nonce: nonce, coinbase_tx };
                        conn.send(&m.into()).await
                    }
                };
                if let Err(e) = sent {
                    return e.to_string();
                }
            }
        }
    }
}
