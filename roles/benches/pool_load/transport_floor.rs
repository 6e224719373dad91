//! The transport floor: a server on the pool's own transport (`net::Connection`: tokio, the
//! Noise session, framing) that answers every share the moment it reads it, without checking,
//! crediting or storing it. What it costs per share is what any pool on this transport pays
//! before doing a pool's work; the benchmark runs it as its own process, like the pools.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use sv2::channels::target::MAX_TARGET;
use sv2::codec::B0_32;
use sv2::messages::{
    NewMiningJob, OpenStandardMiningChannelSuccess, SetNewPrevHash, SetupConnectionSuccess, SubmitSharesSuccess,
};
use sv2::noise::ServerCredentials;
use sv2::Message;
use sv2_roles::net::{raise_open_files_limit, Connection, Limits, NetError, ServerIdentity};
use tokio::net::{TcpListener, TcpStream};

/// The environment variable that makes the benchmark binary serve the floor:
/// `PORT:DATA_DIR` (the identity's directory, where `authority.pub` appears once it listens).
pub const SERVE_ENV: &str = "SV2_POOL_LOAD_SERVE_FLOOR";

/// Regtest's compact target, as the template provider gives the pools: the miners then hash
/// about as often per share here as at the pools.
const REGTEST_NBITS: u32 = 0x207f_ffff;

/// Serves the floor as `SERVE_ENV` says, until killed.
pub fn serve(spec: &str) {
    let (port, dir) = spec.split_once(':').expect("PORT:DATA_DIR");
    let port: u16 = port.parse().expect("PORT");
    raise_open_files_limit();
    let identity = ServerIdentity::load_or_create(Path::new(dir)).expect("identity");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await.expect("listen");
        let mut next_prefix = 0u32;
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            next_prefix = next_prefix.wrapping_add(1);
            let credentials = identity.credentials;
            tokio::spawn(async move {
                let _ = connection(stream, credentials, next_prefix).await;
            });
        }
    });
}

/// One miner: the set-up, one standard channel with one job, then a Success per share.
async fn connection(stream: TcpStream, credentials: ServerCredentials, prefix: u32) -> Result<(), NetError> {
    let limits = Limits { handshake: Duration::from_secs(120), ..Limits::default() };
    let mut conn = Connection::accept(stream, &credentials, limits).await?;
    let prefix = prefix.to_le_bytes();
    loop {
        let frame = conn.read_frame().await?;
        let Ok((msg, _)) = frame.message() else { return Ok(()) };
        match msg {
            Message::SetupConnection(_) => conn.queue(&SetupConnectionSuccess { used_version: 2, flags: 0 }.into())?,
            Message::OpenStandardMiningChannel(open) => {
                let channel_id = 1;
                let opened = OpenStandardMiningChannelSuccess {
                    request_id: open.request_id,
                    channel_id,
                    target: MAX_TARGET,
                    extranonce_prefix: B0_32::new(&prefix).expect("4 bytes"),
                    group_channel_id: 0,
                };
                conn.queue(&opened.into())?;
                let job =
                    NewMiningJob { channel_id, job_id: 1, min_ntime: None, version: 0x2000_0000, merkle_root: [7; 32] };
                conn.queue(&job.into())?;
                let tip =
                    SetNewPrevHash { channel_id, job_id: 1, prev_hash: [9; 32], min_ntime: 1, nbits: REGTEST_NBITS };
                conn.queue(&tip.into())?;
            }
            Message::SubmitSharesStandard(share) => {
                let success = SubmitSharesSuccess {
                    channel_id: share.channel_id,
                    last_sequence_number: share.sequence_number,
                    new_submits_accepted_count: 1,
                    new_shares_sum: 1,
                };
                conn.queue(&success.into())?;
            }
            _ => {}
        }
        conn.flush().await?;
    }
}
