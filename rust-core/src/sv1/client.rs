//! What devices send: requests (and, rarely, answers to a server's requests).

use serde_json::{json, Map, Value};

use super::server::Response;
use super::value::{hex, hex_u32, id_of, parse_hex, parse_hex_u32, parse_object, positive, write_json, Id};
use super::{ParseError, MAX_EXTRANONCE_BYTES};

/// BIP310 `mining.configure`: the extensions asked for and their parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Configure {
    /// Every extension name, in the order sent.
    pub extensions: Vec<String>,
    /// `version-rolling`, when asked for.
    pub version_rolling: Option<VersionRolling>,
    /// `minimum-difficulty.value`, when `minimum-difficulty` is asked for with a valid value.
    pub minimum_difficulty: Option<f64>,
}

/// The `version-rolling` parameters of `mining.configure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRolling {
    /// `version-rolling.mask`; `ffffffff` when absent (the device takes whatever is granted).
    pub mask: u32,
    /// `version-rolling.min-bit-count`, when sent.
    pub min_bit_count: Option<u32>,
}

/// `mining.submit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    /// The worker name (as authorized).
    pub worker: String,
    /// The job id from `mining.notify`.
    pub job_id: String,
    /// The rolled extranonce2.
    pub extranonce2: Vec<u8>,
    /// Header nTime.
    pub ntime: u32,
    /// Header nonce.
    pub nonce: u32,
    /// The 6th parameter (BIP310 version bits), when sent.
    pub version_bits: Option<u32>,
}

/// A request's method and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `mining.configure`.
    Configure(Configure),
    /// `mining.subscribe`: `[]`, `[agent]`, `[agent, session_id]`, or BraiinsOS's
    /// `[agent, null, "host:port", null]` (the host is not kept).
    Subscribe {
        /// The user agent.
        user_agent: Option<String>,
        /// A previous session's id (resume).
        session_id: Option<String>,
    },
    /// `mining.authorize`.
    Authorize {
        /// `user.worker`.
        user: String,
        /// The password, when sent.
        password: Option<String>,
    },
    /// `mining.submit`.
    Submit(Submit),
    /// `mining.suggest_difficulty`: `[d]` or a bare `d`.
    SuggestDifficulty(f64),
    /// `mining.extranonce.subscribe`.
    ExtranonceSubscribe,
    /// Any other method (`mining.multi_version`, `mining.ping`, unknown ones), with its
    /// params as sent.
    Other {
        /// The method name.
        method: String,
        /// The params (null when absent).
        params: Value,
    },
}

impl Call {
    /// The method name.
    pub fn method(&self) -> &str {
        match self {
            Call::Configure(_) => "mining.configure",
            Call::Subscribe { .. } => "mining.subscribe",
            Call::Authorize { .. } => "mining.authorize",
            Call::Submit(_) => "mining.submit",
            Call::SuggestDifficulty(_) => "mining.suggest_difficulty",
            Call::ExtranonceSubscribe => "mining.extranonce.subscribe",
            Call::Other { method, .. } => method,
        }
    }

    fn params(&self) -> Value {
        match self {
            Call::Configure(c) => {
                let mut p = Map::new();
                if let Some(vr) = c.version_rolling {
                    p.insert("version-rolling.mask".into(), hex_u32(vr.mask).into());
                    if let Some(n) = vr.min_bit_count {
                        p.insert("version-rolling.min-bit-count".into(), n.into());
                    }
                }
                if let Some(d) = c.minimum_difficulty {
                    p.insert("minimum-difficulty.value".into(), super::value::difficulty_value(d));
                }
                json!([c.extensions, p])
            }
            Call::Subscribe { user_agent, session_id } => match (user_agent, session_id) {
                (None, None) => json!([]),
                (ua, None) => json!([ua]),
                (ua, sid) => json!([ua, sid]),
            },
            Call::Authorize { user, password } => match password {
                Some(p) => json!([user, p]),
                None => json!([user]),
            },
            Call::Submit(s) => {
                let mut p = vec![
                    Value::from(s.worker.as_str()),
                    s.job_id.as_str().into(),
                    hex(&s.extranonce2).into(),
                    hex_u32(s.ntime).into(),
                    hex_u32(s.nonce).into(),
                ];
                if let Some(v) = s.version_bits {
                    p.push(hex_u32(v).into());
                }
                Value::Array(p)
            }
            Call::SuggestDifficulty(d) => json!([super::value::difficulty_value(*d)]),
            Call::ExtranonceSubscribe => json!([]),
            Call::Other { params, .. } => params.clone(),
        }
    }
}

/// A request from a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Its id (null: a notification, not answered).
    pub id: Id,
    /// Method and parameters.
    pub call: Call,
}

impl Request {
    /// Appends the request as one line (with its `\n`).
    pub fn write_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        self.id.write(out);
        out.extend_from_slice(b",\"method\":");
        write_json(out, &Value::String(self.call.method().to_string()));
        out.extend_from_slice(b",\"params\":");
        write_json(out, &self.call.params());
        out.extend_from_slice(b"}\n");
    }
}

/// A message a device sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// A request.
    Request(Request),
    /// An answer (to a server request such as `client.get_version`).
    Response(Response),
}

impl ClientMessage {
    /// Parses one line (without its line end) from a device.
    pub fn parse(line: &[u8]) -> Result<ClientMessage, ParseError> {
        let m = parse_object(line)?;
        let id = id_of(&m)?;
        let Some(method) = m.get("method") else {
            return Response::from_object(id, &m).map(ClientMessage::Response);
        };
        let method = method.as_str().ok_or(ParseError::NotAMessage)?;
        let params = m.get("params").unwrap_or(&Value::Null);
        let call = parse_call(method, params).map_err(|reason| ParseError::InvalidParams {
            id: id.clone(),
            method: method.to_string(),
            reason,
        })?;
        Ok(ClientMessage::Request(Request { id, call }))
    }

    /// Appends the message as one line (with its `\n`).
    pub fn write_line(&self, out: &mut Vec<u8>) {
        match self {
            ClientMessage::Request(r) => r.write_line(out),
            ClientMessage::Response(r) => r.write_line(out),
        }
    }
}

/// Params as an array: a bare scalar counts as a one-item array, null or absent as empty.
fn items(params: &Value) -> &[Value] {
    match params {
        Value::Array(a) => a,
        Value::Null => &[],
        other => core::slice::from_ref(other),
    }
}

fn opt_str(v: Option<&Value>) -> Result<Option<String>, &'static str> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("expected a string or null"),
    }
}

fn parse_call(method: &str, params: &Value) -> Result<Call, &'static str> {
    let p = items(params);
    Ok(match method {
        "mining.configure" => Call::Configure(parse_configure(p)?),
        "mining.subscribe" => Call::Subscribe { user_agent: opt_str(p.first())?, session_id: opt_str(p.get(1))? },
        "mining.authorize" => Call::Authorize {
            user: opt_str(p.first())?.ok_or("missing user")?,
            password: opt_str(p.get(1)).unwrap_or(None),
        },
        "mining.submit" => Call::Submit(parse_submit(p)?),
        "mining.suggest_difficulty" => {
            Call::SuggestDifficulty(p.first().and_then(positive).ok_or("difficulty is not a positive number")?)
        }
        "mining.extranonce.subscribe" => Call::ExtranonceSubscribe,
        _ => Call::Other { method: method.to_string(), params: params.clone() },
    })
}

fn parse_configure(p: &[Value]) -> Result<Configure, &'static str> {
    let names = p.first().and_then(Value::as_array).ok_or("missing extension list")?;
    let extensions =
        names.iter().map(|n| n.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().ok_or("extension names")?;
    let empty = Map::new();
    let args = match p.get(1) {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => &empty,
        Some(_) => return Err("extension parameters are not an object"),
    };
    let asked = |name: &str| extensions.iter().any(|e| e == name);
    let version_rolling = if asked("version-rolling") {
        let mask = match args.get("version-rolling.mask") {
            None => u32::MAX,
            Some(v) => v.as_str().and_then(parse_hex_u32).ok_or("version-rolling.mask is not hex")?,
        };
        let min_bit_count = match args.get("version-rolling.min-bit-count") {
            None => None,
            Some(v) => Some(v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or("min-bit-count")?),
        };
        Some(VersionRolling { mask, min_bit_count })
    } else {
        None
    };
    let minimum_difficulty =
        if asked("minimum-difficulty") { args.get("minimum-difficulty.value").and_then(positive) } else { None };
    Ok(Configure { extensions, version_rolling, minimum_difficulty })
}

fn parse_submit(p: &[Value]) -> Result<Submit, &'static str> {
    if !(5..=6).contains(&p.len()) {
        return Err("expected 5 or 6 params");
    }
    let s = |i: usize| p[i].as_str().ok_or("params must be strings");
    let u = |i: usize| s(i).and_then(|v| parse_hex_u32(v).ok_or("not 8 hex digits"));
    Ok(Submit {
        worker: s(0)?.to_string(),
        job_id: s(1)?.to_string(),
        extranonce2: parse_hex(s(2)?, MAX_EXTRANONCE_BYTES).ok_or("extranonce2 is not hex")?,
        ntime: u(3)?,
        nonce: u(4)?,
        version_bits: if p.len() == 6 { Some(u(5)?) } else { None },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(line: &str) -> Request {
        match ClientMessage::parse(line.as_bytes()) {
            Ok(ClientMessage::Request(r)) => r,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn firmware_requests() {
        let r = req(
            r#"{"id": 1, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "1fffe000", "version-rolling.min-bit-count": 16}]}"#,
        );
        assert_eq!(r.id, Id::from(1));
        let Call::Configure(c) = r.call else { panic!() };
        assert_eq!(c.version_rolling, Some(VersionRolling { mask: 0x1fff_e000, min_bit_count: Some(16) }));
        let r = req(r#"{"id":"a","method":"mining.subscribe","params":["bosminer/1.0",null,"pool:3333",null]}"#);
        assert_eq!(r.id, Id::String("a".into()));
        assert_eq!(r.call, Call::Subscribe { user_agent: Some("bosminer/1.0".into()), session_id: None });
        let r = req(r#"{"id":null,"method":"mining.suggest_difficulty","params":512}"#);
        assert_eq!((r.id, r.call), (Id::Null, Call::SuggestDifficulty(512.0)));
        let r =
            req(r#"{"id":5,"method":"mining.submit","params":["w","1a","00000001","6553f100","DEADBEEF","00002000"]}"#);
        let Call::Submit(s) = r.call else { panic!() };
        assert_eq!((s.nonce, s.version_bits, s.extranonce2), (0xdead_beef, Some(0x2000), vec![0, 0, 0, 1]));
        let r = req(r#"{"id":6,"method":"mining.multi_version","params":[1]}"#);
        assert_eq!(r.call.method(), "mining.multi_version");
    }

    #[test]
    fn bad_params_keep_the_id() {
        let e = ClientMessage::parse(br#"{"id":7,"method":"mining.submit","params":["w","1"]}"#).unwrap_err();
        assert!(!e.is_fatal());
        assert!(matches!(e, ParseError::InvalidParams { id, .. } if id == Id::from(7)));
        assert!(ClientMessage::parse(b"{\"id\":[1],\"method\":\"x\"}").unwrap_err().is_fatal());
        assert!(ClientMessage::parse(b"{\"id\":1}").unwrap_err().is_fatal());
    }

    #[test]
    fn requests_round_trip() {
        for line in [
            r#"{"id":1,"method":"mining.configure","params":[["version-rolling","minimum-difficulty"],{"version-rolling.mask":"ffffffff","minimum-difficulty.value":2.5}]}"#,
            r#"{"id":2,"method":"mining.subscribe","params":["cgminer/4.11.1","deadbeef"]}"#,
            r#"{"id":3,"method":"mining.authorize","params":["bc1q.rig","x"]}"#,
            r#"{"id":4,"method":"mining.submit","params":["bc1q.rig","2","0000000000000000","6553f100","00000000"]}"#,
            r#"{"id":"s","method":"mining.suggest_difficulty","params":[0.001]}"#,
            r#"{"id":6,"method":"mining.extranonce.subscribe","params":[]}"#,
            r#"{"id":7,"method":"mining.ping","params":{"x":[1,"2",null]}}"#,
        ] {
            let m = ClientMessage::parse(line.as_bytes()).unwrap();
            let mut out = Vec::new();
            m.write_line(&mut out);
            assert_eq!(out.last(), Some(&b'\n'));
            assert_eq!(ClientMessage::parse(&out[..out.len() - 1]).unwrap(), m, "{}", String::from_utf8_lossy(&out));
        }
    }
}
