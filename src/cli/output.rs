//! Output helpers: tables for people, sizes, timestamps and counts in readable form, and the
//! buffered stdout every command writes to.

use comfy_table::{ContentArrangement, Table, presets};

/// A table fitted to the terminal width, without borders (like `kubectl get`). A terminal
/// that reports no usable width (a pseudo-terminal with no size set) gets natural widths.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(|h| h.to_string()));
    if t.width().is_none_or(|w| w < 40) {
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

/// Prints a table with two spaces between columns and none at the line ends.
pub fn print_table(out: &mut impl std::io::Write, t: &mut Table) -> std::io::Result<()> {
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    for line in t.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Prints `value` as pretty JSON and a newline: the `--json` output of the listing commands.
pub fn print_json(
    out: &mut impl std::io::Write,
    value: &impl serde::Serialize,
) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// 1536 → "1.5 KiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC (`2021-01-25T03:08:52.675Z`), by `jiff`. A
/// timestamp outside its years (-9999 to 9999: a damaged or made-up one) is shown as the
/// milliseconds it is (`@-62167219200001ms`), which the table still lines up.
pub fn rfc3339_ms(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => format!("@{ms}ms"),
    }
}

/// Retention in readable form: "7d", "1h", "unlimited".
pub fn human_ms(ms: i64) -> String {
    if ms < 0 {
        return "unlimited".into();
    }
    for (unit, n) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms >= n && ms % n == 0 {
            return format!("{}{unit}", ms / n);
        }
    }
    format!("{ms}ms")
}

/// `1 batch`, `2 batches`: [`plural`] for a noun whose plural is not the noun and an `s`.
pub fn plural_of(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `1 record`, `2 records`: a count and its noun, singular or plural as the count says.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A buffered stdout that turns a closed pipe into a quiet stop.
pub fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout().lock())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(rfc3339_ms(1_611_544_132_675), "2021-01-25T03:08:52.675Z");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_ms(i64::MAX), format!("@{}ms", i64::MAX));
        assert_eq!(human_ms(604_800_000), "7d");
        assert_eq!(human_ms(-1), "unlimited");
        assert_eq!(human_ms(1500), "1500ms");
    }
}

/// Bytes for a terminal or a text line: printable text as is (UTF-8 included), control
/// characters and invalid UTF-8 escaped (`\n`, `\t`, `\r`, `\\`, `\xNN`), so that a dump
/// line is always one line and never a terminal control sequence.
/// [`escape_bytes`] written to `out` a piece at a time: a value of any size takes no more
/// memory than a piece.
pub fn write_escaped(out: &mut impl std::io::Write, b: &[u8]) -> std::io::Result<()> {
    let mut piece = String::new();
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            escape_char(&mut piece, c);
            if piece.len() >= 64 << 10 {
                out.write_all(piece.as_bytes())?;
                piece.clear();
            }
        }
        for byte in chunk.invalid() {
            piece.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.write_all(piece.as_bytes())
}

fn escape_char(s: &mut String, c: char) {
    match c {
        '\n' => s.push_str("\\n"),
        '\t' => s.push_str("\\t"),
        '\r' => s.push_str("\\r"),
        '\\' => s.push_str("\\\\"),
        c if c.is_control() => {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                s.push_str(&format!("\\x{byte:02x}"));
            }
        }
        c => s.push(c),
    }
}

pub fn escape_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            escape_char(&mut s, c);
        }
        for byte in chunk.invalid() {
            s.push_str(&format!("\\x{byte:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod escape_tests {
    use super::escape_bytes;

    #[test]
    fn escapes_what_a_terminal_would_misread() {
        assert_eq!(escape_bytes(b"plain text"), "plain text");
        assert_eq!(escape_bytes("naïve".as_bytes()), "naïve");
        assert_eq!(escape_bytes(b"a\nb\tc\\"), "a\\nb\\tc\\\\");
        assert_eq!(escape_bytes(b"\x1b[31m\xff\x00"), "\\x1b[31m\\xff\\x00");
    }

    /// The streaming form writes what the string form makes, also across its pieces.
    #[test]
    fn written_pieces_are_the_escaped_string() {
        let long: Vec<u8> = b"x\n\xffna\xc3\xafve\x1b".repeat(30_000);
        for b in [&b""[..], b"plain", b"a\nb\tc\\", b"\x1b[31m\xff\x00", &long] {
            let mut out = Vec::new();
            super::write_escaped(&mut out, b).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), escape_bytes(b));
        }
    }
}
