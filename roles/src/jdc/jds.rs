//! The connection to a pool's Job Declaration Server: Noise to the pool's authority, the
//! rust-core [`JobDeclarationClient`] on it, and how long its requests have waited.

use std::time::Duration;

use sv2::jd::client::{Event, JdcConfig, JobDeclarationClient};
use sv2::noise::ServerAuth;
use tokio::time::{timeout, Instant};

use crate::net::{Connection, Limits};
use crate::upstream::PoolEndpoint;

/// A set-up session with the JDS of pool `index`.
pub(super) struct Session {
    pub index: usize,
    pub conn: Connection,
    pub client: JobDeclarationClient,
    /// The upstream channel's full extranonce length the jobs are declared with.
    pub extranonce_len: usize,
    /// Requests (tokens, declarations) sent and not answered yet.
    pub outstanding: usize,
    /// Since when the oldest of them has waited (restarted by each answer).
    pub waiting_since: Option<Instant>,
}

impl Session {
    /// One more request sent.
    pub fn asked(&mut self) {
        self.outstanding += 1;
        self.waiting_since.get_or_insert_with(Instant::now);
    }

    /// One request answered.
    pub fn answered(&mut self) {
        self.outstanding = self.outstanding.saturating_sub(1);
        self.waiting_since = (self.outstanding > 0).then(Instant::now);
    }

    /// Whether a request has waited longer than `limit`.
    pub fn overdue(&self, limit: Duration) -> bool {
        self.waiting_since.is_some_and(|s| s.elapsed() > limit)
    }
}

/// Connects to the JDS and runs SetupConnection (bounded by `patience` in all).
pub(super) async fn connect(
    index: usize,
    jds: PoolEndpoint,
    config: JdcConfig,
    patience: Duration,
) -> Result<Session, String> {
    let setup = async {
        // ProvideMissingTransactions.Success goes out, nothing big comes in.
        let mut conn = Connection::connect(&jds.address, ServerAuth::Authority(jds.authority), Limits::default())
            .await
            .map_err(|e| format!("connect to {}: {e}", jds.address))?;
        let extranonce_len = config.extranonce_len;
        let mut client = JobDeclarationClient::new(config);
        client.start(&mut conn).map_err(|e| e.to_string())?;
        conn.flush().await.map_err(|e| e.to_string())?;
        let frame = conn.read_frame().await.map_err(|e| e.to_string())?;
        let (msg, _) = frame.message().map_err(|e| format!("bad message: {e}"))?;
        match client.on_message(&msg, &mut conn) {
            Ok(Event::SetUp) => {
                Ok(Session { index, conn, client, extranonce_len, outstanding: 0, waiting_since: None })
            }
            Ok(other) => Err(format!("unexpected {other:?} before SetupConnection.Success")),
            Err(e) => Err(e.to_string()),
        }
    };
    timeout(patience, setup).await.map_err(|_| format!("no SetupConnection.Success within {patience:?}"))?
}
