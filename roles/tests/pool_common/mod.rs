//! What the pool's tests share: a template provider on the embedded regtest node, a pool fed
//! by it, and a hand-driven mining client that sends exactly the shares a test wants.

#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sv2::channels::client::{ClientChannel, ClientChannels, Work};
use sv2::channels::hash::{header_bytes, sha256d};
use sv2::channels::target::{hash_meets_target, target_from_nbits, MAX_TARGET};
use sv2::codec::{Bytes, Str0_255};
use sv2::messages::{OpenExtendedMiningChannel, OpenStandardMiningChannel, SetupConnection, SubmitSharesExtended};
use sv2::noise::{AuthorityPublicKey, ServerAuth};
use sv2::Message;
use sv2_roles::net::{Connection, Limits};
use sv2_roles::pool::{PoolConfig, PoolHandle};
use sv2_roles::tp::{TpConfig, TpHandle};

/// Bound on any single wait, so that a bug fails a test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The scriptPubKey the test pools pay (a P2WPKH to a made-up key).
pub const PAYOUT: [u8; 22] = [
    0x00, 0x14, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11,
];

/// A fresh directory under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sv2-pool-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// An embedded-node template provider in `dir` listening on `listen` (port 0: any), checking
/// fees often so that transactions reach templates quickly.
pub async fn start_tp(dir: &PathBuf, listen: SocketAddr) -> TpHandle {
    sv2_roles::logging::init("warn");
    let mut config = TpConfig::embedded(dir);
    config.listen = listen;
    config.fee_check_interval = Duration::from_millis(100);
    config.fee_delta_sats = 1;
    sv2_roles::tp::start(config).await.expect("template provider starts")
}

/// A pool in `dir` fed by `tp`, pinned to its authority key.
pub async fn start_pool(dir: &PathBuf, tp: &TpHandle, change: impl FnOnce(&mut PoolConfig)) -> PoolHandle {
    let mut config = PoolConfig::new(dir, tp.addr().to_string(), PAYOUT.to_vec());
    config.tp_authority = Some(tp.authority());
    // Tests grind shares by hand: a few hashes each.
    config.min_difficulty = 1e-12;
    change(&mut config);
    sv2_roles::pool::start(config).await.expect("pool starts")
}

/// Waits until `cond` holds, checking every 20 ms, at most [`PATIENCE`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn setup_connection(flags: u32) -> SetupConnection<'static> {
    SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags,
        endpoint_host: Str0_255::from_str("127.0.0.1").unwrap(),
        endpoint_port: 0,
        vendor: Str0_255::from_str("libsv2-test").unwrap(),
        hardware_version: Bytes::EMPTY,
        firmware: Bytes::EMPTY,
        device_id: Bytes::EMPTY,
    }
}

/// A mining client driven by hand: it keeps its channels up to date and answers nothing on
/// its own.
pub struct RawMiner {
    pub conn: Connection,
    pub channels: ClientChannels,
    /// Every SetNewPrevHash seen, in order.
    pub tips: Vec<[u8; 32]>,
    /// `new_shares_sum` of every SubmitShares.Success, in order.
    pub share_sums: Vec<u64>,
    /// Every SetTarget seen, in order.
    pub set_targets: Vec<[u8; 32]>,
    pub setup_flags: u32,
}

/// An answer to a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accepted { last_sequence_number: u32, count: u32 },
    Rejected { sequence_number: u32, code: String },
}

impl RawMiner {
    /// Connects with SetupConnection `flags` and reads the Success (panics on an Error).
    pub async fn connect(addr: SocketAddr, authority: AuthorityPublicKey, flags: u32) -> RawMiner {
        let mut conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
        conn.send(&setup_connection(flags).into()).await.unwrap();
        let f = tokio::time::timeout(PATIENCE, conn.read_frame()).await.unwrap().unwrap();
        let setup_flags = match f.message().unwrap().0 {
            Message::SetupConnectionSuccess(s) => s.flags,
            other => panic!("expected SetupConnection.Success, got {other:?}"),
        };
        RawMiner {
            conn,
            channels: ClientChannels::new(),
            tips: Vec::new(),
            share_sums: Vec::new(),
            set_targets: Vec::new(),
            setup_flags,
        }
    }

    /// Opens a standard or extended channel and returns its id once the pool has sent it an
    /// active job.
    pub async fn open(&mut self, extended: bool, user: &str) -> u32 {
        self.open_with(extended, user, 1e3, MAX_TARGET).await
    }

    /// [`Self::open`] announcing `nominal_hash_rate` and `max_target`.
    pub async fn open_with(&mut self, extended: bool, user: &str, nominal_hash_rate: f32, max_target: [u8; 32]) -> u32 {
        let user = Str0_255::from_str(user).unwrap();
        let msg: Message<'_> = if extended {
            OpenExtendedMiningChannel {
                request_id: 7,
                user_identity: user,
                nominal_hash_rate,
                max_target,
                min_extranonce_size: 4,
            }
            .into()
        } else {
            OpenStandardMiningChannel { request_id: 7, user_identity: user, nominal_hash_rate, max_target }.into()
        };
        self.conn.send(&msg).await.unwrap();
        let f = tokio::time::timeout(PATIENCE, self.conn.read_frame()).await.unwrap().unwrap();
        let id = match f.message().unwrap().0 {
            Message::OpenStandardMiningChannelSuccess(s) => {
                let fixed = self.setup_flags & sv2::messages::mining_success_flags::REQUIRES_FIXED_VERSION != 0;
                let c = ClientChannel::standard(s.channel_id, s.target, s.extranonce_prefix.as_bytes(), !fixed);
                self.channels.insert(c, s.group_channel_id);
                s.channel_id
            }
            Message::OpenExtendedMiningChannelSuccess(s) => {
                let c =
                    ClientChannel::extended(s.channel_id, s.target, s.extranonce_prefix.as_bytes(), s.extranonce_size);
                self.channels.insert(c, s.group_channel_id);
                s.channel_id
            }
            other => panic!("expected a channel, got {other:?}"),
        };
        while self.work(id).is_none() {
            self.next().await;
        }
        id
    }

    /// The work to hash on a channel now (extranonce of all 0x01).
    pub fn work(&self, channel_id: u32) -> Option<Work> {
        let c = self.channels.get(channel_id)?;
        c.work(&vec![1; c.extranonce_size()])
    }

    /// Reads one message, applies it to the channels, and returns share answers.
    pub async fn next(&mut self) -> Option<Answer> {
        let f = tokio::time::timeout(PATIENCE, self.conn.read_frame()).await.expect("pool answers").expect("frame");
        let msg = f.message().expect("valid message").0;
        if let Message::SetNewPrevHash(p) = &msg {
            self.tips.push(p.prev_hash);
        }
        if let Message::SetTarget(t) = &msg {
            self.set_targets.push(t.maximum_target);
        }
        match msg {
            Message::SubmitSharesSuccess(s) => {
                self.share_sums.push(s.new_shares_sum);
                Some(Answer::Accepted {
                    last_sequence_number: s.last_sequence_number,
                    count: s.new_submits_accepted_count,
                })
            }
            Message::SubmitSharesError(e) => Some(Answer::Rejected {
                sequence_number: e.sequence_number,
                code: String::from_utf8_lossy(e.error_code.as_bytes()).into_owned(),
            }),
            other => {
                self.channels.on_message(&other);
                None
            }
        }
    }

    /// Reads until the next share answer.
    pub async fn answer(&mut self) -> Answer {
        loop {
            if let Some(a) = self.next().await {
                return a;
            }
        }
    }

    /// Sends an extended share built from `work` with these header fields.
    #[allow(clippy::too_many_arguments)]
    pub async fn submit(
        &mut self,
        channel_id: u32,
        seq: u32,
        work: &Work,
        nonce: u32,
        ntime: u32,
        version: u32,
        extranonce: &[u8],
    ) {
        self.queue_submit(channel_id, seq, work, nonce, ntime, version, extranonce);
        self.conn.flush().await.unwrap();
    }

    /// Queues an extended share without writing it (several then go out in one write).
    #[allow(clippy::too_many_arguments)]
    pub fn queue_submit(
        &mut self,
        channel_id: u32,
        seq: u32,
        work: &Work,
        nonce: u32,
        ntime: u32,
        version: u32,
        extranonce: &[u8],
    ) {
        let m = SubmitSharesExtended {
            channel_id,
            sequence_number: seq,
            job_id: work.job_id,
            nonce,
            ntime,
            version,
            extranonce: Bytes::new(extranonce).unwrap(),
        };
        self.conn.queue(&m.into()).unwrap();
    }
}

/// The hash of `work`'s header with this nonce (at min_ntime, the work's version).
pub fn header_hash(work: &Work, nonce: u32) -> [u8; 32] {
    sha256d(&header_bytes(work.version, &work.prev_hash, &work.merkle_root, work.min_ntime, work.nbits, nonce))
}

/// A nonce whose header meets the share target (`meets` true) or meets neither it nor the
/// block target (`meets` false).
pub fn grind(work: &Work, start: u32, meets: bool) -> u32 {
    let block = target_from_nbits(work.nbits);
    (start..)
        .find(|n| {
            let h = header_hash(work, *n);
            if meets {
                hash_meets_target(&h, &work.target)
            } else {
                !hash_meets_target(&h, &work.target) && !hash_meets_target(&h, &block)
            }
        })
        .unwrap()
}

/// The body (with headers) of an HTTP GET of `path` from a metrics server.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(PATIENCE, c.read_to_string(&mut out)).await.unwrap().unwrap();
    out
}

/// Reads until the peer closes the connection (or an error); panics if it stays open.
pub async fn closed_by_peer(mut s: tokio::net::TcpStream, what: &str) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let r = tokio::time::timeout(PATIENCE, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(r.is_ok(), "the server kept a {what} connection open");
}

/// `n` pseudo-random bytes (xorshift from `seed`).
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// How hard [`bad_input_attacks`] hits a port.
pub struct Attacks {
    /// Connections sending 64 KiB of garbage, before and after the handshake (each).
    pub garbage: u64,
    /// Handshakes stopped half way, and connections silent after the handshake (each).
    pub stalls: usize,
    /// Batches of 200 connections opened and dropped.
    pub connect_batches: usize,
}

/// Bad input against a Mining server's Noise port, every attack a task: garbage before and
/// after the handshake, stalled handshakes, silent connections, a channel open before
/// SetupConnection and a frame announcing 16 MiB (each must be closed by the server), and
/// connections opened and dropped.
pub fn bad_input_attacks(addr: SocketAddr, authority: AuthorityPublicKey, a: Attacks) -> tokio::task::JoinSet<()> {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let mut attacks = tokio::task::JoinSet::new();
    for i in 0..a.garbage {
        attacks.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let _ = s.write_all(&noise(i, 64 * 1024)).await;
            closed_by_peer(s, "garbage").await;
        });
        attacks.spawn(async move {
            let conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
            let mut s = conn.into_stream();
            let _ = s.write_all(&noise(1000 + i, 64 * 1024)).await;
            closed_by_peer(s, "garbage after the handshake").await;
        });
    }
    for _ in 0..a.stalls {
        attacks.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&[0x42; 20]).await.unwrap();
            closed_by_peer(s, "stalled handshake").await;
        });
        attacks.spawn(async move {
            let conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
            closed_by_peer(conn.into_stream(), "silent after the handshake").await;
        });
    }
    attacks.spawn(async move {
        let mut conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
        let open = OpenStandardMiningChannel {
            request_id: 1,
            user_identity: Str0_255::from_str("early").unwrap(),
            nominal_hash_rate: 1.0,
            max_target: MAX_TARGET,
        };
        conn.send(&open.into()).await.unwrap();
        closed_by_peer(conn.into_stream(), "message before SetupConnection").await;
    });
    attacks.spawn(async move {
        let mut conn = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await.unwrap();
        conn.send(&setup_connection(0).into()).await.unwrap();
        let huge = vec![0u8; 0xFF_FFFF];
        let header = sv2::codec::FrameHeader { extension_type: 0, msg_type: 0x1b, msg_length: huge.len() as u32 };
        conn.queue_frame(header, &huge).unwrap();
        let _ = conn.flush().await;
        let mut closed = false;
        for _ in 0..4 {
            if conn.read_frame().await.is_err() {
                closed = true;
                break;
            }
        }
        assert!(closed, "the server answered a frame over its limit instead of closing");
    });
    attacks.spawn(async move {
        for batch in 0..a.connect_batches {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..200 {
                set.spawn(async move {
                    if let Ok(s) = TcpStream::connect(addr).await {
                        drop(s);
                    }
                });
            }
            if batch % 3 == 0 {
                for _ in 0..20 {
                    set.spawn(async move {
                        let c = Connection::connect(addr, ServerAuth::Authority(authority), Limits::default()).await;
                        drop(c);
                    });
                }
            }
            while set.join_next().await.is_some() {}
        }
    });
    attacks
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed (SIGKILL) and reaped when dropped, also when a test fails.
pub struct ChildPool(pub std::process::Child);

impl ChildPool {
    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildPool {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `sv2 pool` as a child process on `port` (so that it can be killed with SIGKILL).
pub async fn pool_process(dir: &std::path::Path, tp: &TpHandle, port: u16) -> (ChildPool, AuthorityPublicKey) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sv2"))
        .arg("pool")
        .args(["--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", ""])
        .args(["--data-dir", dir.to_str().unwrap(), "--tp-address", &tp.addr().to_string()])
        .args(["--tp-authority", &tp.authority().to_string(), "--payout-script-hex", &hex::encode(PAYOUT)])
        .env("SV2_POOL_MIN_DIFFICULTY", "1e-12")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .map(ChildPool)
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let (Ok(k), Ok(_)) =
            (sv2_roles::net::load_authority_key(&dir.join("authority.pub")), std::net::TcpStream::connect(addr))
        {
            return (child, k);
        }
        assert!(tokio::time::Instant::now() < deadline, "sv2 pool did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
