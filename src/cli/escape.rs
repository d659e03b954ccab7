//! Backslash escapes in delimiters, separators, markers and formats: `\n \t \r \0 \\ \xNN`.

use super::UsageError;

/// Decodes the escapes of `s` into bytes. `what` names the argument in errors.
pub fn unescape(s: &str, what: &str) -> Result<Vec<u8>, UsageError> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let bad = |detail: &str| {
            UsageError(format!(
                "invalid escape in {what} '{s}': {detail} (use \\n \\t \\r \\0 \\\\ or \\xNN)"
            ))
        };
        match b.get(i + 1) {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex = b
                    .get(i + 2..i + 4)
                    .ok_or_else(|| bad("\\x needs two hex digits"))?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad("\\x needs two hex digits"))?;
                let v = u8::from_str_radix(hex, 16).map_err(|_| bad("\\x needs two hex digits"))?;
                out.push(v);
                i += 4;
                continue;
            }
            Some(&c) => return Err(bad(&format!("unknown escape \\{}", c as char))),
            None => return Err(bad("a lone backslash at the end")),
        }
        i += 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"a\tb\n", "x").unwrap(), b"a\tb\n");
        assert_eq!(
            unescape(r"\0\x00\xff\\", "x").unwrap(),
            vec![0, 0, 255, b'\\']
        );
        assert_eq!(unescape("::", "x").unwrap(), b"::");
        assert_eq!(unescape("é", "x").unwrap(), "é".as_bytes());
        for bad in [r"\q", r"\x1", r"\xzz", "\\"] {
            assert!(unescape(bad, "x").is_err(), "{bad}");
        }
    }
}
