//! Bad input to the template provider: malformed and out-of-order messages, clients that stop
//! mid-handshake, stay silent or never read, and more clients than allowed. Each such client
//! gets an error or a closed connection while the others keep being served.

mod tp_client;

use std::time::Duration;

use sv2::codec::FrameHeader;
use sv2::messages::{CoinbaseOutputConstraints, RequestTransactionData, SetupConnection, SubmitSolution};
use sv2::Message;
use sv2_roles::net::{Connection, NetError};
use sv2_roles::tp::TpHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tp_client::{connect_raw, setup_connection, start_tp_with, temp_dir, Client, PATIENCE};

// Short enough to keep the test quick, long enough for honest clients on a loaded machine.
const SHORT: Duration = Duration::from_secs(1);

async fn start(name: &str) -> (TpHandle, std::path::PathBuf) {
    let dir = temp_dir(name);
    let tp = start_tp_with(&dir, |c| {
        c.limits.handshake = SHORT;
        c.limits.write = SHORT;
        c.max_clients = 40;
    })
    .await;
    (tp, dir)
}

/// The server ends the connection: the next read reports it closed (or reset).
async fn assert_closed(conn: &mut Connection) {
    let r = tokio::time::timeout(PATIENCE, conn.read_frame()).await.expect("server acts");
    assert!(matches!(r, Err(NetError::Closed) | Err(NetError::Io(_))), "expected a closed connection, got {r:?}");
}

/// A client that is set up and has its first template and SetNewPrevHash.
async fn honest(tp: &TpHandle) -> Client {
    let mut c = Client::connect(tp, 100, 4).await;
    c.next_tip().await;
    c
}

/// The honest client is still served: a new tip reaches it and its requests are answered.
async fn still_served(tp: &TpHandle, c: &mut Client) {
    let tip = tp.mine_block().await.unwrap();
    let (t, p) = c.next_tip().await;
    assert_eq!(p.prev, tip.hash);
    assert!(c.tx_data(t.id).await.is_ok());
}

async fn set_up(tp: &TpHandle) -> Connection {
    let mut conn = connect_raw(tp).await;
    conn.send(&Message::SetupConnection(setup_connection(2))).await.unwrap();
    let f = conn.read_frame().await.unwrap();
    assert!(matches!(f.message().unwrap().0, Message::SetupConnectionSuccess(_)));
    conn
}

enum Bad {
    Frame(FrameHeader, Vec<u8>),
    Message(Message<'static>),
}

fn constraints() -> Message<'static> {
    Message::CoinbaseOutputConstraints(CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: 100,
        coinbase_output_max_additional_sigops: 4,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_out_of_order_messages_close_only_their_connection() {
    let (tp, dir) = start("malformed").await;
    let mut good = honest(&tp).await;

    // A request before SetupConnection.
    let mut c = connect_raw(&tp).await;
    c.send(&Message::RequestTransactionData(RequestTransactionData { template_id: 1 })).await.unwrap();
    assert_closed(&mut c).await;

    // The wrong sub-protocol, and versions the server does not speak: SetupConnection.Error.
    let mining = setup_connection(0);
    let future_only = SetupConnection { min_version: 3, max_version: 4, ..setup_connection(2) };
    for (setup, code) in [(mining, "unsupported-protocol"), (future_only, "protocol-version-mismatch")] {
        let mut c = connect_raw(&tp).await;
        c.send(&Message::SetupConnection(setup)).await.unwrap();
        let f = c.read_frame().await.unwrap();
        let Message::SetupConnectionError(e) = f.message().unwrap().0 else { panic!("{:?}", f.message()) };
        assert_eq!(e.error_code.as_bytes(), code.as_bytes());
        assert_closed(&mut c).await;
    }

    // A solution before CoinbaseOutputConstraints.
    let mut c = set_up(&tp).await;
    let s = SubmitSolution {
        template_id: 1,
        version: 0,
        header_timestamp: 0,
        header_nonce: 0,
        coinbase_tx: sv2::codec::Bytes::EMPTY,
    };
    c.send(&Message::SubmitSolution(s)).await.unwrap();
    assert_closed(&mut c).await;

    // Coinbase outputs larger than a block: no template can honour them.
    let mut c = set_up(&tp).await;
    let huge = CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: u32::MAX,
        coinbase_output_max_additional_sigops: u16::MAX,
    };
    c.send(&Message::CoinbaseOutputConstraints(huge)).await.unwrap();
    assert_closed(&mut c).await;

    // After a complete setup: a truncated payload, an unknown message type, SetupConnection a
    // second time, and a message only servers send.
    let server_only = Message::SetNewPrevHashTdp(sv2::messages::SetNewPrevHashTdp {
        template_id: 1,
        prev_hash: [0; 32],
        header_timestamp: 0,
        nbits: 0,
        target: [0; 32],
    });
    let bad = [
        Bad::Frame(FrameHeader { extension_type: 0, msg_type: 0x73, msg_length: 3 }, vec![1, 2, 3]),
        Bad::Frame(FrameHeader { extension_type: 0, msg_type: 0x7f, msg_length: 0 }, vec![]),
        Bad::Message(Message::SetupConnection(setup_connection(2))),
        Bad::Message(server_only),
    ];
    for b in bad {
        let mut c = set_up(&tp).await;
        c.send(&constraints()).await.unwrap();
        // Its first template and SetNewPrevHash.
        c.read_frame().await.unwrap();
        c.read_frame().await.unwrap();
        match b {
            Bad::Frame(header, payload) => c.queue_frame(header, &payload).unwrap(),
            Bad::Message(m) => c.queue(&m).unwrap(),
        }
        c.flush().await.unwrap();
        assert_closed(&mut c).await;
    }

    still_served(&tp, &mut good).await;
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_handshakes_and_silent_clients_are_dropped() {
    let (tp, dir) = start("stalled").await;
    let mut good = honest(&tp).await;

    // Half of the first handshake message, then nothing: the server hangs up.
    let mut stalled = TcpStream::connect(tp.addr()).await.unwrap();
    stalled.write_all(&[7u8; 20]).await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(PATIENCE, stalled.read(&mut buf)).await.expect("server hangs up");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");

    // A finished handshake, then silence: no SetupConnection in time.
    let mut silent = connect_raw(&tp).await;
    assert_closed(&mut silent).await;

    // SetupConnection, then no CoinbaseOutputConstraints.
    let mut half = set_up(&tp).await;
    assert_closed(&mut half).await;

    still_served(&tp, &mut good).await;
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped() {
    let (tp, dir) = start("noread").await;
    // Large transaction data, so that unread replies fill the socket buffers quickly.
    tp.add_transactions(200).await.unwrap();
    let mut good = honest(&tp).await;
    let mut greedy = Client::connect(&tp, 100, 4).await;
    let (t, _) = greedy.next_tip().await;

    // Ask again and again without reading the replies, until the server hangs up.
    let request = Message::RequestTransactionData(RequestTransactionData { template_id: t.id });
    let flood = async {
        loop {
            for _ in 0..100 {
                greedy.conn.queue(&request)?;
            }
            greedy.conn.flush().await?;
        }
    };
    let r: Result<(), NetError> = tokio::time::timeout(PATIENCE, flood).await.expect("the server drops the client");
    assert!(matches!(r, Err(NetError::Io(_)) | Err(NetError::Closed)), "{r:?}");

    still_served(&tp, &mut good).await;
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_at_once_and_no_more_than_allowed() {
    let (tp, dir) = start("many").await;
    let (addr, authority) = (tp.addr(), tp.authority());
    let connecting: Vec<_> = (0..40).map(|_| tokio::spawn(Client::connect_to(addr, authority, 100, 4))).collect();
    let mut clients = Vec::new();
    for c in connecting {
        clients.push(c.await.unwrap());
    }
    for c in &mut clients {
        c.next_tip().await;
    }
    // The forty-first is over max_clients: the server hangs up during its handshake.
    let auth = sv2::noise::ServerAuth::Authority(authority);
    assert!(Connection::connect(addr, auth, Default::default()).await.is_err());
    let tip = tp.mine_block().await.unwrap();
    for c in &mut clients {
        assert_eq!(c.next_tip().await.1.prev, tip.hash);
    }
    // One leaves; once the server has seen it go, there is room for another.
    drop(clients.pop());
    let retry = async {
        while Connection::connect(addr, auth, Default::default()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(PATIENCE, retry).await.expect("a slot frees up");
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
