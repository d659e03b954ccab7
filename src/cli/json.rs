//! The JSON shape of records, shared by `consume --json` (writing) and `produce --json`
//! (reading), so that one pipes into the other losslessly.
//!
//! ```text
//! {"topic":"t","partition":0,"offset":42,"timestamp":1714564800000,"timestamp_type":"CreateTime",
//!  "key":"k","value":{"base64":"AP8="},"headers":[["h","v"],["h",null]]}
//! ```
//! Bytes (key, value, header values) are `null` when absent, a JSON string when they are valid
//! UTF-8, otherwise `{"base64": "…"}` (standard alphabet, padded). Header names are strings.

use std::io::{self, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// Writes bytes in the JSON bytes shape (see [`klog::render`]).
pub fn write_bytes(out: &mut impl Write, b: Option<&[u8]>) -> io::Result<()> {
    let mut buf = Vec::new();
    klog::render::json_bytes(&mut buf, b);
    out.write_all(&buf)
}

/// Writes a JSON string literal.
pub fn write_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    let mut buf = Vec::new();
    klog::render::json_str(&mut buf, s);
    out.write_all(&buf)
}

/// Reads the JSON bytes shape back: `null`, a string, or `{"base64": "…"}`.
pub fn read_bytes(v: &Value, what: &str) -> Result<Option<Vec<u8>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
        Value::Object(m) if m.len() == 1 && m.contains_key("base64") => match &m["base64"] {
            Value::String(s) => STANDARD
                .decode(s)
                .map(Some)
                .map_err(|e| format!("{what}: invalid base64: {e}")),
            _ => Err(format!("{what}: \"base64\" must be a string")),
        },
        _ => Err(format!(
            "{what} must be null, a string, or {{\"base64\": \"...\"}}"
        )),
    }
}

/// A record read from a `produce --json` line.
#[derive(Debug, Default, PartialEq)]
pub struct JsonRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    pub partition: Option<u32>,
    pub timestamp: Option<i64>,
}

/// Parses one `produce --json` line. Unknown fields (topic, offset, timestamp_type) are ignored.
pub fn parse_record(line: &[u8]) -> Result<JsonRecord, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(m) = v else {
        return Err("expected a JSON object".into());
    };
    let mut r = JsonRecord::default();
    if let Some(k) = m.get("key") {
        r.key = read_bytes(k, "key")?;
    }
    if let Some(val) = m.get("value") {
        r.value = read_bytes(val, "value")?;
    }
    match m.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(hs)) => {
            for h in hs {
                match h {
                    Value::Array(pair) if pair.len() == 2 => {
                        let Value::String(name) = &pair[0] else {
                            return Err("a header name must be a string".into());
                        };
                        let value = read_bytes(&pair[1], "header value")?;
                        r.headers.push((name.as_bytes().to_vec(), value));
                    }
                    _ => return Err("headers must be [[name, value], ...]".into()),
                }
            }
        }
        Some(_) => return Err("headers must be [[name, value], ...]".into()),
    }
    match m.get("partition") {
        None | Some(Value::Null) => {}
        Some(p) => {
            r.partition = Some(
                p.as_u64()
                    .and_then(|p| u32::try_from(p).ok())
                    .ok_or("partition must be a non-negative integer")?,
            )
        }
    }
    match m.get("timestamp") {
        None | Some(Value::Null) => {}
        Some(t) => {
            r.timestamp = Some(
                t.as_i64()
                    .filter(|&t| t >= 0)
                    .ok_or("timestamp must be a non-negative integer (ms)")?,
            )
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_json(b: Option<&[u8]>) -> String {
        let mut out = Vec::new();
        write_bytes(&mut out, b).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bytes_round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        for b in [
            None,
            Some(&b""[..]),
            Some(b"plain"),
            Some(b"q\"u\\o\n\x01"),
            Some(&all),
        ] {
            let text = bytes_json(b);
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(read_bytes(&v, "x").unwrap().as_deref(), b, "{text}");
        }
        assert_eq!(bytes_json(Some(b"\xff")), r#"{"base64":"/w=="}"#);
    }

    #[test]
    fn records() {
        let r = parse_record(
            br#"{"topic":"t","offset":3,"key":null,"value":{"base64":"AAE="},"headers":[["h","v"],["h",null]],"partition":2,"timestamp":5}"#,
        )
        .unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.value, Some(vec![0, 1]));
        assert_eq!(r.headers.len(), 2);
        assert_eq!(r.headers[1], (b"h".to_vec(), None));
        assert_eq!((r.partition, r.timestamp), (Some(2), Some(5)));
        for bad in [
            &b"{"[..],
            b"[1]",
            br#"{"value":1}"#,
            br#"{"value":{"base64":"!!"}}"#,
            br#"{"headers":[["h"]]}"#,
            br#"{"partition":-1}"#,
        ] {
            assert!(
                parse_record(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
