//! The template provider with the reference implementation's crates as the client, the way a
//! pool or job declaration client built on them talks to it: the reference Noise initiator
//! pinned to our authority key, messages encoded and decoded by the reference codec, a block
//! built from the reference-decoded template and accepted by libbitcoinkernel.

mod tp_client;

use codec_sv2::{Decrypted, Handshake, NoiseDecoder, NoiseEncoder, TransportDecryptState, TransportEncryptState};
use common_messages_sv2::{Protocol, SetupConnection};
use framing_sv2::framing::MessageFrame;
use framing_sv2::header::Header;
use parsers_sv2::{AnyMessage, CommonMessages, TemplateDistribution};
use template_distribution_sv2::{CoinbaseOutputConstraints, RequestTransactionData, SubmitSolution};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tp_client::{solve, start_tp, temp_dir, PrevHash, Template};

/// A Template Distribution client made of the reference crates.
struct ReferenceClient {
    tcp: TcpStream,
    encrypt: TransportEncryptState,
    decrypt: Option<TransportDecryptState>,
    encoder: NoiseEncoder,
    decoder: NoiseDecoder,
}

/// What the reference decoder made of a frame, owned.
#[derive(Debug)]
enum Received {
    SetupSuccess(u16),
    Template(Template),
    PrevHash(PrevHash),
    TxData(u64, Vec<Vec<u8>>),
}

impl ReferenceClient {
    async fn connect(tp: &sv2_roles::tp::TpHandle) -> Self {
        let mut tcp = TcpStream::connect(tp.addr()).await.unwrap();
        let initiator = noise_sv2::Initiator::from_raw_k(tp.authority().to_bytes()).unwrap();
        let (act1, initiator) = Handshake::initiator(initiator).step_0().unwrap();
        tcp.write_all(act1.payload()).await.unwrap();
        let mut act2 = [0u8; noise_sv2::INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE];
        tcp.read_exact(&mut act2).await.unwrap();
        let transport = initiator.step_2(act2).expect("the reference initiator accepts our certificate");
        let (encrypt, decrypt) = transport.split();
        ReferenceClient {
            tcp,
            encrypt,
            decrypt: Some(decrypt),
            encoder: NoiseEncoder::new(),
            decoder: NoiseDecoder::new(),
        }
    }

    async fn send<T: binary_sv2::Serialize + binary_sv2::GetSize>(&mut self, msg: T, msg_type: u8) {
        let frame = MessageFrame::from_message(msg, msg_type, 0, false).unwrap();
        let wire = self.encoder.encode_transport(frame, &mut self.encrypt).unwrap();
        self.tcp.write_all(AsRef::<[u8]>::as_ref(&wire)).await.unwrap();
    }

    async fn receive(&mut self) -> Received {
        let mut state = self.decrypt.take().unwrap();
        let mut frame = loop {
            let writable = self.decoder.writable();
            tokio::time::timeout(tp_client::PATIENCE, self.tcp.read_exact(writable)).await.unwrap().unwrap();
            match self.decoder.next_transport_frame(state).unwrap() {
                Decrypted::Frame(frame, next) => {
                    self.decrypt = Some(next);
                    break frame.as_bytes().to_vec();
                }
                Decrypted::Incomplete(_, next) => state = next,
            }
        };
        let header = Header::from_bytes(&frame[..6]).unwrap();
        let (msg, _) = parsers_sv2::parse_message_frame_with_tlvs(header, &mut frame[6..], &[]).unwrap();
        match msg {
            AnyMessage::Common(CommonMessages::SetupConnectionSuccess(s)) => Received::SetupSuccess(s.used_version),
            AnyMessage::TemplateDistribution(TemplateDistribution::NewTemplate(t)) => Received::Template(Template {
                id: t.template_id,
                future: t.future_template,
                version: t.version,
                coinbase_version: t.coinbase_tx_version,
                prefix: t.coinbase_prefix.as_bytes().to_vec(),
                sequence: t.coinbase_tx_input_sequence,
                value: t.coinbase_tx_value_remaining,
                outputs_count: t.coinbase_tx_outputs_count,
                outputs: t.coinbase_tx_outputs.as_bytes().to_vec(),
                locktime: t.coinbase_tx_locktime,
                path: t.merkle_path.iter().map(|h| h.to_array()).collect(),
            }),
            AnyMessage::TemplateDistribution(TemplateDistribution::SetNewPrevHash(p)) => Received::PrevHash(PrevHash {
                id: p.template_id,
                prev: p.prev_hash.to_array(),
                time: p.header_timestamp,
                nbits: p.n_bits,
                target: p.target.to_array(),
            }),
            AnyMessage::TemplateDistribution(TemplateDistribution::RequestTransactionDataSuccess(s)) => {
                Received::TxData(s.template_id, s.transaction_list.iter().map(|b| b.as_bytes().to_vec()).collect())
            }
            other => panic!("unexpected message {other:?}"),
        }
    }

    async fn tip(&mut self) -> (Template, PrevHash) {
        let r = self.receive().await;
        let Received::Template(t) = r else { panic!("expected NewTemplate, got {r:?}") };
        assert!(t.future);
        let r = self.receive().await;
        let Received::PrevHash(p) = r else { panic!("expected SetNewPrevHash, got {r:?}") };
        assert_eq!(p.id, t.id);
        (t, p)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_the_reference_crates_mines_through_the_provider() {
    let dir = temp_dir("interop");
    let tp = start_tp(&dir).await;
    let mut client = ReferenceClient::connect(&tp).await;
    let setup = SetupConnection {
        protocol: Protocol::TemplateDistributionProtocol,
        min_version: 2,
        max_version: 2,
        flags: 0,
        endpoint_host: (&b"127.0.0.1"[..]).try_into().unwrap(),
        endpoint_port: 8442,
        vendor: (&b"reference crates"[..]).try_into().unwrap(),
        hardware_version: (&b""[..]).try_into().unwrap(),
        firmware: (&b""[..]).try_into().unwrap(),
        device_id: (&b""[..]).try_into().unwrap(),
    };
    client.send(setup, 0x00).await;
    assert!(matches!(client.receive().await, Received::SetupSuccess(2)));
    let constraints = CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: 100,
        coinbase_output_max_additional_sigops: 4,
    };
    client.send(constraints, 0x70).await;
    let (t, p) = client.tip().await;
    assert_eq!(p.prev, tp.tip().hash);

    client.send(RequestTransactionData { template_id: t.id }, 0x73).await;
    let r = client.receive().await;
    let Received::TxData(id, txs) = r else { panic!("expected transaction data, got {r:?}") };
    assert_eq!(id, t.id);
    assert!(!txs.is_empty());
    let mut txids = vec![[0u8; 32]];
    for tx in &txs {
        let tx: bitcoin::Transaction = bitcoin::consensus::deserialize(tx).unwrap();
        txids.push(bitcoin::hashes::Hash::to_byte_array(tx.compute_txid()));
    }
    assert_eq!(t.path, sv2::channels::hash::coinbase_merkle_path(&txids));

    let s = solve(&t, &p, t.value, true);
    let solution = SubmitSolution {
        template_id: s.template_id,
        version: s.version,
        header_timestamp: s.ntime,
        header_nonce: s.nonce,
        coinbase_tx: (&s.coinbase[..]).try_into().unwrap(),
    };
    client.send(solution, 0x76).await;
    let (_, next) = client.tip().await;
    assert_eq!(next.prev, s.hash);
    assert_eq!(tp.tip().hash, s.hash);
    tp.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
