//! A small JSON-RPC client for Bitcoin Core: one HTTP/1.1 POST per call over a fresh TCP
//! connection (bitcoind closes it after the reply), with basic auth from a cookie file or a
//! user and password, a deadline per call, and a bound on the reply's size.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::tp::config::RpcAuth;

/// Largest reply accepted: a full getblocktemplate is around 10 MB of JSON.
const MAX_RESPONSE: u64 = 64 << 20;

/// Why a call failed.
#[derive(Debug)]
pub enum RpcError {
    /// No TCP connection to the RPC port.
    Unreachable(String, std::io::Error),
    /// The cookie file could not be read.
    Cookie(PathBuf, std::io::Error),
    /// HTTP 401: wrong user, password or cookie.
    Unauthorized,
    /// HTTP 403: this address is not in bitcoind's rpcallowip.
    Forbidden,
    /// The call did not finish in time.
    Timeout(String, Duration),
    /// bitcoind answered with a JSON-RPC error.
    Rpc {
        /// Bitcoin Core's error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The reply is not HTTP with a JSON-RPC body.
    Protocol(String),
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Unreachable(addr, e) => {
                write!(f, "cannot reach bitcoind's RPC server at {addr}: {e} (is bitcoind running with -server, on this port?)")
            }
            RpcError::Cookie(p, e) => write!(
                f,
                "cannot read the RPC cookie {}: {e} (is bitcoind running, and is this its data directory? \
                 or configure rpc user and password)",
                p.display()
            ),
            RpcError::Unauthorized => {
                f.write_str("bitcoind refused the RPC credentials (check the user and password or the cookie file)")
            }
            RpcError::Forbidden => f.write_str("bitcoind refused this address (see its rpcallowip setting)"),
            RpcError::Timeout(method, d) => write!(f, "bitcoind did not answer {method} within {d:?}"),
            RpcError::Rpc { code: -28, message } => write!(f, "bitcoind is still starting up: {message}"),
            RpcError::Rpc { code: -10, message } => write!(f, "bitcoind is still syncing: {message}"),
            RpcError::Rpc { code: -9, message } => write!(f, "bitcoind has no peers: {message}"),
            RpcError::Rpc { code, message } => write!(f, "bitcoind error {code}: {message}"),
            RpcError::Protocol(e) => write!(f, "unexpected reply from bitcoind: {e}"),
        }
    }
}

impl std::error::Error for RpcError {}

/// The client.
pub struct RpcClient {
    addr: String,
    auth: RpcAuth,
    next_id: AtomicU64,
}

impl RpcClient {
    /// A client for the RPC server at `addr` (`host:port`).
    pub fn new(addr: String, auth: RpcAuth) -> Self {
        RpcClient { addr, auth, next_id: AtomicU64::new(1) }
    }

    /// The server address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Calls `method`, failing after `deadline`.
    pub async fn call(&self, method: &str, params: Value, deadline: Duration) -> Result<Value, RpcError> {
        timeout(deadline, self.call_unbounded(method, params))
            .await
            .map_err(|_| RpcError::Timeout(method.to_owned(), deadline))?
    }

    async fn call_unbounded(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let credentials = match &self.auth {
            RpcAuth::UserPass { user, password } => format!("{user}:{password}"),
            RpcAuth::Cookie(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| RpcError::Cookie(path.clone(), e))?;
                text.trim().to_owned()
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({ "jsonrpc": "1.0", "id": id, "method": method, "params": params }).to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            base64(credentials.as_bytes()),
            body.len()
        );
        let mut stream =
            TcpStream::connect(&self.addr).await.map_err(|e| RpcError::Unreachable(self.addr.clone(), e))?;
        let io = |e: std::io::Error| RpcError::Protocol(format!("connection: {e}"));
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let mut reply = Vec::new();
        (&mut stream).take(MAX_RESPONSE + 1).read_to_end(&mut reply).await.map_err(io)?;
        if reply.len() as u64 > MAX_RESPONSE {
            return Err(RpcError::Protocol(format!("reply larger than {MAX_RESPONSE} bytes")));
        }
        parse_response(&reply)
    }
}

/// The `result` of an HTTP reply carrying a JSON-RPC response, or the error it reports.
pub fn parse_response(raw: &[u8]) -> Result<Value, RpcError> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| RpcError::Protocol("no complete HTTP header (connection closed early?)".into()))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| RpcError::Protocol("HTTP header is not text".into()))?;
    let mut body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1."))
        .and_then(|l| l.get(2..5))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            RpcError::Protocol(format!("not an HTTP status line: {:?}", head.lines().next().unwrap_or("")))
        })?;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.parse().map_err(|_| RpcError::Protocol(format!("bad Content-Length {value:?}")))?;
            body = body.get(..n).ok_or_else(|| RpcError::Protocol("reply shorter than its Content-Length".into()))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let dechunked;
    if chunked {
        dechunked = dechunk(body)?;
        body = &dechunked;
    }
    match status {
        401 => return Err(RpcError::Unauthorized),
        403 => return Err(RpcError::Forbidden),
        _ => {}
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        RpcError::Protocol(format!("HTTP {status} without a JSON-RPC body: {text:?}"))
    })?;
    match v.get("error") {
        Some(e) if !e.is_null() => Err(RpcError::Rpc {
            code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: e.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
        }),
        _ => v.get("result").cloned().ok_or_else(|| RpcError::Protocol(format!("HTTP {status}: no result in reply"))),
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, RpcError> {
    let bad = || RpcError::Protocol("bad chunked encoding".into());
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = std::str::from_utf8(&body[..eol]).map_err(|_| bad())?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).map_err(|_| bad())?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).ok_or_else(bad)?);
        body = body.get(size + 2..).ok_or_else(bad)?;
    }
}

/// Standard base64 with padding (for the Authorization header).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
        assert_eq!(base64(b"__cookie__:abc"), "X19jb29raWVfXzphYmM=");
    }

    #[test]
    fn replies_are_parsed() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"result\":5,\"error\":null,\"id\":1}\n\n\n\n\n\n\nEXTRA";
        assert_eq!(parse_response(ok).unwrap(), json!(5));
        let err = b"HTTP/1.1 500 Internal Server Error\r\n\r\n{\"result\":null,\"error\":{\"code\":-10,\"message\":\"Bitcoin Core is in initial sync and waiting for blocks...\"},\"id\":1}";
        let e = parse_response(err).unwrap_err();
        assert!(matches!(e, RpcError::Rpc { code: -10, .. }));
        assert!(e.to_string().contains("still syncing"), "{e}");
        assert!(matches!(parse_response(b"HTTP/1.1 401 Unauthorized\r\n\r\n"), Err(RpcError::Unauthorized)));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{\"result\r\n8\r\n\":[1,2]}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), json!([1, 2]));
    }

    #[test]
    fn garbage_is_a_clear_error() {
        for raw in [
            &b""[..],
            b"SSH-2.0-OpenSSH\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n<html>",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}",
        ] {
            assert!(matches!(parse_response(raw), Err(RpcError::Protocol(_))), "{raw:?}");
        }
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(matches!(parse_response(chunked), Err(RpcError::Protocol(_))));
    }
}
