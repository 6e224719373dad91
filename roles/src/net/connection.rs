//! One Noise-encrypted Stratum V2 connection over a TCP stream.
//!
//! The sans-IO [`Session`] does the protocol work; this adds the socket and deadlines: a peer
//! that stalls the handshake or stops reading is dropped instead of holding a task forever.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sv2::codec::{CodecError, FrameHeader, Tlv, TlvList};
use sv2::noise::{random_bytes, NoiseError, ServerAuth, ServerCredentials, Session};
use sv2::Message;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::time::timeout;

use crate::keygen::unix_now;

/// Deadlines and sizes of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for the whole handshake (and for the TCP connect of an initiator).
    pub handshake: Duration,
    /// Time allowed for one write to drain into the socket; a peer that does not read in
    /// this time is dropped.
    pub write: Duration,
    /// Largest frame payload accepted from the peer.
    pub max_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // 1 MiB covers every message a role exchanges except DeclareMiningJob/ProvideMissing-
        // Transactions.Success with large blocks; job declaration raises it.
        Limits { handshake: Duration::from_secs(10), write: Duration::from_secs(30), max_payload: 1 << 20 }
    }
}

/// Why a connection ended.
#[derive(Debug)]
pub enum NetError {
    /// The socket failed.
    Io(io::Error),
    /// The peer closed the connection.
    Closed,
    /// The handshake did not finish in time.
    HandshakeTimeout,
    /// A write did not drain in time: the peer is not reading.
    WriteTimeout,
    /// The Noise layer rejected the peer's bytes (bad MAC, bad certificate, oversized frame).
    Noise(NoiseError),
    /// A frame's payload is not a valid message.
    Codec(CodecError),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Io(e) => write!(f, "socket error: {e}"),
            NetError::Closed => f.write_str("peer closed the connection"),
            NetError::HandshakeTimeout => f.write_str("handshake timed out"),
            NetError::WriteTimeout => f.write_str("peer stopped reading (write timed out)"),
            NetError::Noise(e) => write!(f, "noise: {e}"),
            NetError::Codec(e) => write!(f, "bad message: {e}"),
        }
    }
}

impl std::error::Error for NetError {}

impl From<io::Error> for NetError {
    fn from(e: io::Error) -> Self {
        NetError::Io(e)
    }
}

impl From<NoiseError> for NetError {
    fn from(e: NoiseError) -> Self {
        NetError::Noise(e)
    }
}

impl From<CodecError> for NetError {
    fn from(e: CodecError) -> Self {
        NetError::Codec(e)
    }
}

/// A received frame, owned so that the connection can be used while it is handled.
#[derive(Debug, Clone)]
pub struct OwnedFrame {
    /// The frame header.
    pub header: FrameHeader,
    /// The plaintext payload.
    pub payload: Vec<u8>,
}

impl OwnedFrame {
    /// Decodes the message (and any TLVs after it), borrowing from the payload.
    pub fn message(&self) -> Result<(Message<'_>, TlvList<'_>), CodecError> {
        sv2::codec::Frame { header: self.header, payload: &self.payload }.message()
    }
}

/// A Stratum V2 connection with the Noise handshake done.
pub struct Connection {
    stream: TcpStream,
    session: Session,
    peer: SocketAddr,
    limits: Limits,
}

/// Bytes taken from the socket per read.
const READ_CHUNK: usize = 16 * 1024;

thread_local! {
    /// One read buffer per thread instead of one per connection: 10 000 idle miners would
    /// otherwise hold 160 MiB of buffers (and zeroing a fresh one per read costs more than the
    /// read).
    static READ_BUF: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

impl Connection {
    /// Runs the responder side of the handshake on an accepted stream.
    pub async fn accept(stream: TcpStream, credentials: &ServerCredentials, limits: Limits) -> Result<Self, NetError> {
        let session = Session::responder(credentials, random_bytes()?)?;
        Self::handshake(stream, session, limits).await
    }

    /// Connects to `addr` and runs the initiator side of the handshake.
    pub async fn connect(addr: impl ToSocketAddrs, auth: ServerAuth, limits: Limits) -> Result<Self, NetError> {
        let stream =
            timeout(limits.handshake, TcpStream::connect(addr)).await.map_err(|_| NetError::HandshakeTimeout)??;
        let session = Session::initiator(auth, random_bytes()?, unix_now())?;
        Self::handshake(stream, session, limits).await
    }

    async fn handshake(stream: TcpStream, mut session: Session, limits: Limits) -> Result<Self, NetError> {
        stream.set_nodelay(true)?;
        session.set_max_payload(limits.max_payload);
        let peer = stream.peer_addr()?;
        let mut conn = Connection { stream, session, peer, limits };
        timeout(limits.handshake, conn.drive_handshake()).await.map_err(|_| NetError::HandshakeTimeout)??;
        Ok(conn)
    }

    async fn drive_handshake(&mut self) -> Result<(), NetError> {
        loop {
            self.flush_unbounded().await?;
            if self.session.is_established() {
                return Ok(());
            }
            // A server may sign its certificate when it answers: check it against the time
            // its answer comes, not the time the handshake began.
            self.stream.readable().await?;
            self.session.set_now(unix_now());
            self.try_read_some()?;
        }
    }

    /// Gives up the Noise session and returns the socket, after the handshake (for tests that
    /// write raw bytes into an established connection).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The Noise session (for the handshake details).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The next frame from the peer. Cancel-safe: a partly received frame stays buffered.
    pub async fn read_frame(&mut self) -> Result<OwnedFrame, NetError> {
        loop {
            if let Some(f) = self.session.next_frame()? {
                return Ok(OwnedFrame { header: f.header, payload: f.payload.to_vec() });
            }
            self.read_some().await?;
        }
    }

    /// Waits for the socket and feeds what it holds to the session. Waiting for readiness and
    /// then reading synchronously keeps the read buffer out of the connection's future.
    async fn read_some(&mut self) -> Result<(), NetError> {
        loop {
            self.stream.readable().await?;
            if self.try_read_some()? {
                return Ok(());
            }
        }
    }

    /// One non-blocking read into the thread's buffer; false when the readiness was spurious.
    fn try_read_some(&mut self) -> Result<bool, NetError> {
        READ_BUF.with_borrow_mut(|buf| match self.stream.try_read(buf) {
            Ok(0) => Err(NetError::Closed),
            Ok(n) => {
                self.session.receive(&buf[..n])?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e.into()),
        })
    }

    /// Queues a message without writing it; [`Connection::flush`] writes everything queued.
    pub fn queue(&mut self, msg: &Message<'_>) -> Result<(), NetError> {
        self.queue_with_tlvs(msg, &[])
    }

    /// Queues a message followed by TLV fields.
    pub fn queue_with_tlvs(&mut self, msg: &Message<'_>, tlvs: &[Tlv<'_>]) -> Result<(), NetError> {
        Ok(self.session.send(msg, tlvs)?)
    }

    /// Queues a frame unchanged (for forwarding).
    pub fn queue_frame(&mut self, header: FrameHeader, payload: &[u8]) -> Result<(), NetError> {
        Ok(self.session.send_frame(header, payload)?)
    }

    /// Writes everything queued, failing when the peer does not take it in time.
    pub async fn flush(&mut self) -> Result<(), NetError> {
        // Almost every write fits in the socket buffer at once: only one that would block
        // needs the deadline, whose timer costs more than the write.
        while !self.session.pending_output().is_empty() {
            match self.stream.try_write(self.session.pending_output()) {
                Ok(0) => return Err(NetError::Closed),
                Ok(n) => self.session.consume_output(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        if self.session.pending_output().is_empty() {
            return Ok(());
        }
        let write = self.limits.write;
        timeout(write, self.flush_unbounded()).await.map_err(|_| NetError::WriteTimeout)?
    }

    async fn flush_unbounded(&mut self) -> Result<(), NetError> {
        while !self.session.pending_output().is_empty() {
            let n = self.stream.write(self.session.pending_output()).await?;
            if n == 0 {
                return Err(NetError::Closed);
            }
            self.session.consume_output(n);
        }
        Ok(())
    }

    /// Queues and writes one message.
    pub async fn send(&mut self, msg: &Message<'_>) -> Result<(), NetError> {
        self.queue(msg)?;
        self.flush().await
    }
}

/// A connection is the outbox of the sans-IO endpoints and declarators it carries: what they
/// send is queued and written by the next [`Connection::flush`].
impl sv2::endpoint::Outbox for Connection {
    type Error = NetError;
    fn push(&mut self, msg: &Message<'_>) -> Result<(), NetError> {
        self.queue(msg)
    }
}
