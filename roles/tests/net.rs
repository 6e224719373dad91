//! The TCP + Noise connection layer of the roles: handshake, messages both ways, and the
//! deadlines that drop peers that stall the handshake or stop reading.

use std::time::Duration;

use sv2::messages::{SetupConnectionSuccess, UpdateChannel};
use sv2::noise::ServerAuth;
use sv2::Message;
use sv2_roles::net::{Connection, Limits, NetError, ServerIdentity};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

fn identity() -> ServerIdentity {
    let dir =
        std::env::temp_dir().join(format!("sv2-net-test-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    ServerIdentity::load_or_create(&dir).unwrap()
}

fn short() -> Limits {
    Limits { handshake: Duration::from_millis(500), write: Duration::from_millis(500), ..Limits::default() }
}

#[tokio::test]
async fn handshake_and_messages_both_ways() {
    let id = identity();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let creds = id.credentials;
    let server = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut conn = Connection::accept(s, &creds, Limits::default()).await.unwrap();
        let f = conn.read_frame().await.unwrap();
        let (msg, _) = f.message().unwrap();
        assert!(matches!(msg, Message::UpdateChannel(UpdateChannel { channel_id: 7, .. })), "{msg:?}");
        conn.send(&Message::SetupConnectionSuccess(SetupConnectionSuccess { used_version: 2, flags: 5 }))
            .await
            .unwrap();
    });
    let mut client = Connection::connect(addr, ServerAuth::Authority(id.authority), Limits::default()).await.unwrap();
    let upd = UpdateChannel { channel_id: 7, nominal_hash_rate: 1e12, maximum_target: [0xff; 32] };
    client.send(&Message::UpdateChannel(upd)).await.unwrap();
    let f = client.read_frame().await.unwrap();
    assert!(matches!(f.message().unwrap().0, Message::SetupConnectionSuccess(SetupConnectionSuccess { flags: 5, .. })));
    server.await.unwrap();
    // The server is gone: the next read reports a closed connection, not a hang.
    assert!(matches!(client.read_frame().await, Err(NetError::Closed)));
}

#[tokio::test]
async fn wrong_authority_is_refused() {
    let id = identity();
    let other = identity_in("other");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let creds = id.credentials;
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let _ = Connection::accept(s, &creds, short()).await;
    });
    let r = Connection::connect(addr, ServerAuth::Authority(other.authority), short()).await;
    assert!(matches!(r, Err(NetError::Noise(sv2::noise::NoiseError::InvalidCertificateSignature))), "{:?}", r.err());
}

fn identity_in(name: &str) -> ServerIdentity {
    let dir = std::env::temp_dir().join(format!("sv2-net-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    ServerIdentity::load_or_create(&dir).unwrap()
}

#[tokio::test]
async fn stalled_handshake_times_out() {
    let id = identity();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A client that sends half of its first handshake message and then waits.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(&[7u8; 20]).await.unwrap();
    let (s, _) = listener.accept().await.unwrap();
    let r = Connection::accept(s, &id.credentials, short()).await;
    assert!(matches!(r, Err(NetError::HandshakeTimeout)), "{:?}", r.err());
}

#[tokio::test]
async fn garbage_handshake_is_an_error() {
    let id = identity();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    // 64 bytes that are a valid EllSwift encoding are accepted as act 1; what follows is not a
    // valid encrypted frame header, so the first read fails.
    garbage.write_all(&[0xAB; 64 + 22]).await.unwrap();
    let (s, _) = listener.accept().await.unwrap();
    let mut conn = Connection::accept(s, &id.credentials, short()).await.unwrap();
    assert!(matches!(conn.read_frame().await, Err(NetError::Noise(_))));
}

#[tokio::test]
async fn peer_that_never_reads_is_dropped() {
    let id = identity();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let auth = ServerAuth::Authority(id.authority);
    let client = tokio::spawn(async move {
        let c = Connection::connect(addr, auth, short()).await.unwrap();
        // Hold the connection open without reading.
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(c);
    });
    let (s, _) = listener.accept().await.unwrap();
    let mut conn = Connection::accept(s, &id.credentials, short()).await.unwrap();
    let big = UpdateChannel { channel_id: 1, nominal_hash_rate: 1.0, maximum_target: [0; 32] };
    let r = async {
        loop {
            for _ in 0..1000 {
                conn.queue(&Message::UpdateChannel(big))?;
            }
            conn.flush().await?;
        }
    };
    let r: Result<(), NetError> = r.await;
    assert!(matches!(r, Err(NetError::WriteTimeout)), "{:?}", r.err());
    client.abort();
}
