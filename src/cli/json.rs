//! The JSON bytes shape for the CLI's writers (`segments dump --json`): thin `io::Write`
//! wrappers over [`klog::render`], which owns the shape `consume --json` prints and
//! [`klog::input::parse_record`] reads back.

use std::io::{self, Write};

/// Writes bytes in the JSON bytes shape (see [`klog::render`]), a chunk at a time.
pub fn write_bytes(out: &mut impl Write, b: Option<&[u8]>) -> io::Result<()> {
    klog::render::write_json_bytes(out, b)
}

/// Writes a JSON string literal.
pub fn write_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    let mut buf = Vec::new();
    klog::render::json_str(&mut buf, s);
    out.write_all(&buf)
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
            assert_eq!(read_bytes(v, "x").unwrap().as_deref(), b, "{text}");
        }
        assert_eq!(bytes_json(Some(b"\xff")), r#"{"base64":"/w=="}"#);
    }
}
