//! Shared pieces: request ids, the bounded JSON object parse, and hex.

use serde_json::{Map, Number, Value};

use super::{ParseError, MAX_DEPTH, MAX_ITEMS};

/// A JSON-RPC id as firmware sends it: a number, a string, or null. Answers echo it as
/// received (numbers in serde_json's canonical form).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    /// `null`: a notification; JSON-RPC 1.0 does not answer it.
    Null,
    /// A number.
    Number(Number),
    /// A string.
    String(String),
}

impl Id {
    /// The id from a JSON value (None for booleans, arrays and objects).
    pub fn from_value(v: &Value) -> Option<Id> {
        match v {
            Value::Null => Some(Id::Null),
            Value::Number(n) => Some(Id::Number(n.clone())),
            Value::String(s) => Some(Id::String(s.clone())),
            _ => None,
        }
    }

    /// The id as a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            Id::Null => Value::Null,
            Id::Number(n) => Value::Number(n.clone()),
            Id::String(s) => Value::String(s.clone()),
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Id::Null)
    }

    /// Writes the id as JSON.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Id::Null => out.extend_from_slice(b"null"),
            Id::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Id::String(s) => {
                let _ = serde_json::to_writer(&mut *out, s.as_str());
            }
        }
    }
}

impl From<u64> for Id {
    fn from(n: u64) -> Self {
        Id::Number(n.into())
    }
}

/// Parses one line as a JSON object within the nesting and size bounds.
pub(crate) fn parse_object(line: &[u8]) -> Result<Map<String, Value>, ParseError> {
    // serde_json itself stops at 128 levels, so the parse cannot exhaust the stack; the line
    // length bounds everything it allocates.
    let v: Value = serde_json::from_slice(line).map_err(|e| ParseError::Json(e.to_string()))?;
    check_shape(&v, 1)?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ParseError::NotAnObject),
    }
}

fn check_shape(v: &Value, depth: usize) -> Result<(), ParseError> {
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Array(a) if a.len() > MAX_ITEMS => return Err(ParseError::TooManyItems),
        Value::Object(m) if m.len() > MAX_ITEMS => return Err(ParseError::TooManyItems),
        Value::Array(a) => Box::new(a.iter()),
        Value::Object(m) => Box::new(m.values()),
        _ => return Ok(()),
    };
    if depth > MAX_DEPTH {
        return Err(ParseError::TooDeep);
    }
    for c in children {
        check_shape(c, depth + 1)?;
    }
    Ok(())
}

/// The id of a message object: absent counts as null.
pub(crate) fn id_of(m: &Map<String, Value>) -> Result<Id, ParseError> {
    m.get("id").map_or(Ok(Id::Null), |v| Id::from_value(v).ok_or(ParseError::BadId))
}

/// Appends `v` as compact JSON.
pub(crate) fn write_json(out: &mut Vec<u8>, v: &Value) {
    // Writing a Value into a Vec cannot fail (no I/O, string keys only).
    let _ = serde_json::to_writer(&mut *out, v);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends lowercase hex of `bytes`.
pub(crate) fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    String::from_utf8(out).unwrap_or_default()
}

/// Big-endian 8-digit hex of a u32, as Stratum writes versions, nbits, ntime and nonces.
pub(crate) fn hex_u32(n: u32) -> String {
    hex(&n.to_be_bytes())
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Bytes from hex (either case, even length, at most `max` bytes).
pub(crate) fn parse_hex(s: &str, max: usize) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.len() % 2 != 0 || s.len() / 2 > max {
        return None;
    }
    s.chunks(2).map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?)).collect()
}

/// A u32 from 1 to 8 hex digits, most significant first.
pub(crate) fn parse_hex_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    s.bytes().try_fold(0u32, |acc, c| Some(acc << 4 | u32::from(nibble(c)?)))
}

/// Exactly 32 bytes from 64 hex digits.
pub(crate) fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    parse_hex(s, 32)?.try_into().ok()
}

/// Reverses the bytes of each 4-byte word: the `mining.notify` previous-hash encoding from
/// and to the hash's internal byte order (it is its own inverse).
pub fn swap_words(h: &[u8; 32]) -> [u8; 32] {
    let mut out = *h;
    for w in out.chunks_mut(4) {
        w.reverse();
    }
    out
}

/// A difficulty as JSON: an integer when it is one (several firmwares mishandle `1024.0`).
pub(crate) fn difficulty_value(d: f64) -> Value {
    if d.fract() == 0.0 && (0.0..9.007_199_254_740_992e15).contains(&d) {
        Value::Number((d as u64).into())
    } else {
        Number::from_f64(d).map_or(Value::Null, Value::Number)
    }
}

/// A positive finite number (a difficulty).
pub(crate) fn positive(v: &Value) -> Option<f64> {
    v.as_f64().filter(|d| d.is_finite() && *d > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_bounds() {
        assert_eq!(parse_hex("00ffAB", 3), Some(vec![0, 0xff, 0xab]));
        assert_eq!(parse_hex("00ffAB", 2), None);
        assert_eq!(parse_hex("0", 2), None);
        assert_eq!(parse_hex("zz", 2), None);
        assert_eq!(parse_hex_u32("1fffe000"), Some(0x1fff_e000));
        assert_eq!(parse_hex_u32("123456789"), None);
        assert_eq!(parse_hex_u32(""), None);
        assert_eq!(hex_u32(0x0102_0304), "01020304");
    }

    #[test]
    fn shape_bounds() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(parse_object(format!("{{\"a\":{deep}}}").as_bytes()), Err(ParseError::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(parse_object(format!("{{\"a\":{ok}}}").as_bytes()).is_ok());
        let wide = format!("{{\"a\":[{}]}}", vec!["1"; MAX_ITEMS + 1].join(","));
        assert_eq!(parse_object(wide.as_bytes()), Err(ParseError::TooManyItems));
        assert_eq!(parse_object(b"[1]"), Err(ParseError::NotAnObject));
        assert!(matches!(parse_object(b"{\"a\":"), Err(ParseError::Json(_))));
    }

    #[test]
    fn difficulties_are_integers_when_whole() {
        assert_eq!(serde_json::to_string(&difficulty_value(1024.0)).unwrap(), "1024");
        assert_eq!(serde_json::to_string(&difficulty_value(0.5)).unwrap(), "0.5");
    }
}
