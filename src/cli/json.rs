//! The JSON shape of records as `consume --json` writes it; `produce --json` reads it back with
//! [`klog::input::parse_record`], so that one pipes into the other losslessly.
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

/// Writes bytes in the JSON bytes shape.
pub fn write_bytes(out: &mut impl Write, b: Option<&[u8]>) -> io::Result<()> {
    match b {
        None => out.write_all(b"null"),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => write_str(out, s),
            Err(_) => {
                out.write_all(b"{\"base64\":\"")?;
                out.write_all(STANDARD.encode(b).as_bytes())?;
                out.write_all(b"\"}")
            }
        },
    }
}

/// Writes a JSON string literal.
pub fn write_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    // Fast path: nothing to escape.
    if !needs_escape(s.as_bytes()) {
        out.write_all(b"\"")?;
        out.write_all(s.as_bytes())?;
        return out.write_all(b"\"");
    }
    serde_json::to_writer(out, s).map_err(io::Error::other)
}

/// Whether a string has a byte JSON must escape (a control character, `"` or `\\`). Checks 16
/// bytes at a time without an early exit inside a block, so the compiler can vectorize it.
fn needs_escape(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(16);
    for c in &mut chunks {
        let mut bad = false;
        for &x in c {
            bad |= (x < 0x20) | (x == b'"') | (x == b'\\');
        }
        if bad {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&x| x < 0x20 || x == b'"' || x == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use klog::input::read_bytes;
    use serde_json::Value;

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
}
