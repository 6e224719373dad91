//! What servers send: notifications (`id: null`) and answers.

use serde_json::{json, Map, Value};

use super::value::{
    difficulty_value, hex, hex_u32, id_of, parse_hex, parse_hex32, parse_hex_u32, parse_object, positive, push_hex,
    swap_words, write_json, Id,
};
use super::{ParseError, MAX_EXTRANONCE_BYTES};

/// The error of a rejected request: `[code, "message", null]` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The code (see [`super::codes`]).
    pub code: i64,
    /// The message.
    pub message: String,
}

impl RpcError {
    /// An error with this code and message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into() }
    }
}

/// An answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The request's id.
    pub id: Id,
    /// The result (`null` when there is an error, or `false` for a rejected share).
    pub result: Value,
    /// The error, if any.
    pub error: Option<RpcError>,
}

impl Response {
    /// A successful answer.
    pub fn ok(id: Id, result: Value) -> Self {
        Response { id, result, error: None }
    }

    /// A failed answer with `result: null` (`false` is used for rejected shares and
    /// authorizations, see [`Response::rejected`]).
    pub fn error(id: Id, error: RpcError) -> Self {
        Response { id, result: Value::Null, error: Some(error) }
    }

    /// `result: false` with a reason: how a share or an authorization is refused, so that a
    /// device that only looks at the result hears `false` too.
    pub fn rejected(id: Id, error: RpcError) -> Self {
        Response { id, result: Value::Bool(false), error: Some(error) }
    }

    /// A response from a parsed object without `method`.
    pub(crate) fn from_object(id: Id, m: &Map<String, Value>) -> Result<Response, ParseError> {
        if !m.contains_key("result") && !m.contains_key("error") {
            return Err(ParseError::NotAMessage);
        }
        let error = match m.get("error") {
            None | Some(Value::Null) => None,
            // The classic triple, and JSON-RPC 2.0's object from some pools.
            Some(Value::Array(a)) => Some(RpcError {
                code: a.first().and_then(Value::as_i64).unwrap_or(0),
                message: a.get(1).and_then(Value::as_str).unwrap_or_default().to_string(),
            }),
            Some(Value::Object(o)) => Some(RpcError {
                code: o.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: o.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
            }),
            Some(other) => Some(RpcError { code: 0, message: other.as_str().unwrap_or_default().to_string() }),
        };
        Ok(Response { id, result: m.get("result").cloned().unwrap_or(Value::Null), error })
    }

    /// Appends the answer as one line (with its `\n`).
    pub fn write_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        self.id.write(out);
        out.extend_from_slice(b",\"result\":");
        write_json(out, &self.result);
        out.extend_from_slice(b",\"error\":");
        match &self.error {
            None => out.extend_from_slice(b"null"),
            Some(e) => write_json(out, &json!([e.code, e.message, null])),
        }
        out.extend_from_slice(b"}\n");
    }
}

/// `mining.notify`: a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// The job id devices echo in `mining.submit`.
    pub job_id: String,
    /// Previous block hash in internal byte order (the wire form swaps each 4-byte word).
    pub prev_hash: [u8; 32],
    /// Coinbase bytes before extranonce1.
    pub coinb1: Vec<u8>,
    /// Coinbase bytes after extranonce2.
    pub coinb2: Vec<u8>,
    /// Merkle branch of the coinbase, leaf level first, each hash in internal byte order.
    pub merkle_branch: Vec<[u8; 32]>,
    /// Header version.
    pub version: u32,
    /// Compact network target.
    pub nbits: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Whether earlier jobs are void.
    pub clean_jobs: bool,
}

impl Notify {
    /// Appends the notification as one line (with its `\n`), without building a JSON tree.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let q = |out: &mut Vec<u8>, bytes: &[u8]| {
            out.push(b'"');
            push_hex(out, bytes);
            out.extend_from_slice(b"\",");
        };
        out.extend_from_slice(b"{\"id\":null,\"method\":\"mining.notify\",\"params\":[");
        write_json(out, &Value::String(self.job_id.clone()));
        out.push(b',');
        q(out, &swap_words(&self.prev_hash));
        q(out, &self.coinb1);
        q(out, &self.coinb2);
        out.push(b'[');
        for (i, h) in self.merkle_branch.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            push_hex(out, h);
            out.push(b'"');
        }
        out.extend_from_slice(b"],");
        q(out, &self.version.to_be_bytes());
        q(out, &self.nbits.to_be_bytes());
        q(out, &self.ntime.to_be_bytes());
        out.extend_from_slice(if self.clean_jobs { b"true]}\n" } else { b"false]}\n" });
    }

    fn parse(p: &[Value]) -> Result<Notify, &'static str> {
        if p.len() != 9 {
            return Err("expected 9 params");
        }
        let s = |i: usize| p[i].as_str().ok_or("params must be strings");
        let big = |i: usize| s(i).and_then(|v| parse_hex(v, usize::MAX).ok_or("not hex"));
        let u = |i: usize| s(i).and_then(|v| parse_hex_u32(v).ok_or("not 8 hex digits"));
        let branch = p[4].as_array().ok_or("merkle branch is not an array")?;
        Ok(Notify {
            job_id: s(0)?.to_string(),
            prev_hash: swap_words(&s(1).and_then(|v| parse_hex32(v).ok_or("prevhash is not 32 bytes"))?),
            coinb1: big(2)?,
            coinb2: big(3)?,
            merkle_branch: branch
                .iter()
                .map(|h| h.as_str().and_then(parse_hex32))
                .collect::<Option<Vec<_>>>()
                .ok_or("merkle branch entry is not 32 bytes")?,
            version: u(5)?,
            nbits: u(6)?,
            ntime: u(7)?,
            clean_jobs: p[8].as_bool().ok_or("clean_jobs is not a boolean")?,
        })
    }
}

/// A message a server sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// `mining.notify`.
    Notify(Notify),
    /// `mining.set_difficulty`: for jobs sent after it.
    SetDifficulty(f64),
    /// `mining.set_extranonce` (only to devices that sent `mining.extranonce.subscribe`).
    SetExtranonce {
        /// The new extranonce1.
        extranonce1: Vec<u8>,
        /// The new extranonce2 size.
        extranonce2_size: usize,
    },
    /// `mining.set_version_mask`: the mask granted from now on.
    SetVersionMask(u32),
    /// `client.reconnect`: `[host, port, wait]`, each optional.
    Reconnect {
        /// Host to connect to (None: the same).
        host: Option<String>,
        /// Port (None: the same).
        port: Option<u16>,
        /// Seconds to wait first.
        wait_secs: Option<u64>,
    },
    /// An answer to a device's request.
    Response(Response),
    /// Any other notification or server request (such as `client.get_version`).
    Other {
        /// Its id (null for a notification).
        id: Id,
        /// The method.
        method: String,
        /// The params (null when absent).
        params: Value,
    },
}

impl ServerMessage {
    /// Parses one line (without its line end) from a server.
    pub fn parse(line: &[u8]) -> Result<ServerMessage, ParseError> {
        let m = parse_object(line)?;
        let id = id_of(&m)?;
        let Some(method) = m.get("method") else {
            return Response::from_object(id, &m).map(ServerMessage::Response);
        };
        let method = method.as_str().ok_or(ParseError::NotAMessage)?;
        let params = m.get("params").unwrap_or(&Value::Null);
        let p: &[Value] = params.as_array().map_or(&[], Vec::as_slice);
        let invalid = |reason| ParseError::InvalidParams { id: id.clone(), method: method.to_string(), reason };
        Ok(match method {
            "mining.notify" => ServerMessage::Notify(Notify::parse(p).map_err(invalid)?),
            "mining.set_difficulty" => ServerMessage::SetDifficulty(
                p.first().or(Some(params)).and_then(positive).ok_or_else(|| invalid("not a positive number"))?,
            ),
            "mining.set_extranonce" => ServerMessage::SetExtranonce {
                extranonce1: p
                    .first()
                    .and_then(Value::as_str)
                    .and_then(|s| parse_hex(s, MAX_EXTRANONCE_BYTES))
                    .ok_or_else(|| invalid("extranonce1 is not hex"))?,
                extranonce2_size: p
                    .get(1)
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n <= MAX_EXTRANONCE_BYTES)
                    .ok_or_else(|| invalid("extranonce2_size"))?,
            },
            "mining.set_version_mask" => ServerMessage::SetVersionMask(
                p.first().and_then(Value::as_str).and_then(parse_hex_u32).ok_or_else(|| invalid("mask is not hex"))?,
            ),
            "client.reconnect" => ServerMessage::Reconnect {
                host: p.first().and_then(Value::as_str).map(str::to_string),
                // Ports come as numbers or strings.
                port: p
                    .get(1)
                    .and_then(|v| v.as_u64().and_then(|n| u16::try_from(n).ok()).or_else(|| v.as_str()?.parse().ok())),
                wait_secs: p.get(2).and_then(Value::as_u64),
            },
            _ => ServerMessage::Other { id, method: method.to_string(), params: params.clone() },
        })
    }

    /// Appends the message as one line (with its `\n`).
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let (method, params) = match self {
            ServerMessage::Notify(n) => return n.write_line(out),
            ServerMessage::Response(r) => return r.write_line(out),
            ServerMessage::SetDifficulty(d) => ("mining.set_difficulty", json!([difficulty_value(*d)])),
            ServerMessage::SetExtranonce { extranonce1, extranonce2_size } => {
                ("mining.set_extranonce", json!([hex(extranonce1), extranonce2_size]))
            }
            ServerMessage::SetVersionMask(m) => ("mining.set_version_mask", json!([hex_u32(*m)])),
            ServerMessage::Reconnect { host, port, wait_secs } => ("client.reconnect", json!([host, port, wait_secs])),
            ServerMessage::Other { id, method, params } => {
                out.extend_from_slice(b"{\"id\":");
                id.write(out);
                out.extend_from_slice(b",\"method\":");
                write_json(out, &Value::String(method.clone()));
                out.extend_from_slice(b",\"params\":");
                write_json(out, params);
                out.extend_from_slice(b"}\n");
                return;
            }
        };
        out.extend_from_slice(b"{\"id\":null,\"method\":\"");
        out.extend_from_slice(method.as_bytes());
        out.extend_from_slice(b"\",\"params\":");
        write_json(out, &params);
        out.extend_from_slice(b"}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(m: &ServerMessage) -> Vec<u8> {
        let mut out = Vec::new();
        m.write_line(&mut out);
        assert_eq!(&ServerMessage::parse(&out[..out.len() - 1]).unwrap(), m, "{}", String::from_utf8_lossy(&out));
        out
    }

    #[test]
    fn notify_swaps_prevhash_words_and_writes_big_endian_fields() {
        let mut prev = [0u8; 32];
        prev[0] = 1;
        prev[31] = 0xee;
        let n = Notify {
            job_id: "1f".into(),
            prev_hash: prev,
            coinb1: vec![1, 2],
            coinb2: vec![3],
            merkle_branch: vec![[0xab; 32]],
            version: 0x2000_0000,
            nbits: 0x1d00_ffff,
            ntime: 0x6553_f100,
            clean_jobs: true,
        };
        let line = String::from_utf8(round_trip(&ServerMessage::Notify(n))).unwrap();
        let swapped = format!("00000001{}ee000000", "0".repeat(48));
        assert!(line.contains(&swapped), "{line}");
        assert!(line.contains("\"20000000\",\"1d00ffff\",\"6553f100\",true]"), "{line}");
    }

    #[test]
    fn other_server_messages_round_trip() {
        round_trip(&ServerMessage::SetDifficulty(4096.0));
        round_trip(&ServerMessage::SetDifficulty(0.25));
        round_trip(&ServerMessage::SetExtranonce { extranonce1: vec![0xa, 0xb], extranonce2_size: 8 });
        round_trip(&ServerMessage::SetVersionMask(0x1fff_e000));
        round_trip(&ServerMessage::Reconnect { host: Some("pool".into()), port: Some(3333), wait_secs: Some(0) });
        round_trip(&ServerMessage::Response(Response::rejected(Id::from(4), RpcError::new(23, "Low difficulty"))));
        round_trip(&ServerMessage::Response(Response::ok(Id::String("x".into()), json!([[["a", "b"]], "00", 8]))));
        let line = String::from_utf8(round_trip(&ServerMessage::SetDifficulty(1024.0))).unwrap();
        assert!(line.contains("[1024]"), "{line}");
    }

    #[test]
    fn json_rpc2_error_objects_are_read() {
        let m = ServerMessage::parse(br#"{"id":3,"result":null,"error":{"code":-1,"message":"nope"}}"#).unwrap();
        assert_eq!(m, ServerMessage::Response(Response::error(Id::from(3), RpcError::new(-1, "nope"))));
    }
}
