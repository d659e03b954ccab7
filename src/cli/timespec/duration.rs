//! Durations on the command line: klog's compact form (`1h30m`) and ISO 8601 as Java's
//! `Duration.parse` reads it (`PT1H30M`), both in milliseconds.

/// klog's units, largest first, with their length in ms.
const UNITS: [(&str, i64); 6] = [
    ("w", 604_800_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a duration such as `1h`, `30m`, `2d`, `15s`, `500ms`, `1w`, or several of them
/// from the largest unit down (`1h30m`, `1d12h`, `2m30s500ms`) into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let mut rest = s;
    let mut total: i64 = 0;
    // Index into UNITS of the smallest unit used so far: each next one must be smaller.
    let mut last: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let (n, tail) = rest.split_at(digits);
        let n: i64 = n.parse().ok()?;
        // "ms" before "m": the longest unit name that matches.
        let (i, (unit, mult)) = UNITS
            .iter()
            .enumerate()
            .filter(|(_, (u, _))| tail.starts_with(u))
            .max_by_key(|(_, (u, _))| u.len())?;
        if last.is_some_and(|l| i <= l) {
            return None;
        }
        last = Some(i);
        total = total.checked_add(n.checked_mul(*mult)?)?;
        rest = &tail[unit.len()..];
    }
    last.map(|_| total)
}

/// Parses an ISO 8601 duration as Java's `Duration.parse` does (what Kafka's
/// `kafka-consumer-groups --by-duration` takes): `[-+]P[nD][T[nH][nM][n[.f]S]]`, letters in
/// any case, each number optionally signed, at least one part, seconds with up to 9
/// fraction digits. Returns milliseconds (a fraction of a millisecond is dropped).
pub fn parse_iso_duration_ms(s: &str) -> Option<i64> {
    let upper = s.to_ascii_uppercase();
    let (negate, rest) = match upper.as_bytes().first()? {
        b'-' => (true, &upper[1..]),
        b'+' => (false, &upper[1..]),
        _ => (false, upper.as_str()),
    };
    let rest = rest.strip_prefix('P')?;
    let (day_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut parts = 0;
    if !day_part.is_empty() {
        let n = day_part.strip_suffix('D')?;
        total = total.checked_add(signed_int(n)?.checked_mul(86_400_000)?)?;
        parts += 1;
    }
    if let Some(mut t) = time_part {
        if t.is_empty() {
            return None;
        }
        for (letter, mult) in [('H', 3_600_000i64), ('M', 60_000)] {
            if let Some(i) = t.find(letter) {
                // Only a number may stand before the letter (not "1S2H").
                let n = signed_int(&t[..i])?;
                total = total.checked_add(n.checked_mul(mult)?)?;
                t = &t[i + 1..];
                parts += 1;
            }
        }
        if !t.is_empty() {
            let n = t.strip_suffix('S')?;
            total = total.checked_add(seconds_ms(n)?)?;
            parts += 1;
        }
    }
    if parts == 0 {
        return None;
    }
    if negate {
        total.checked_neg()
    } else {
        Some(total)
    }
}

/// An optionally signed decimal integer, digits only otherwise.
fn signed_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `n[.f]` seconds (sign allowed, `,` as Java allows, up to 9 fraction digits) in ms.
fn seconds_ms(s: &str) -> Option<i64> {
    let (whole, frac) = match s.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let negative = whole.starts_with('-');
    let ms_of_frac: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    let secs = signed_int(whole)?;
    let ms = secs.checked_mul(1000)?;
    if negative {
        ms.checked_sub(ms_of_frac)
    } else {
        ms.checked_add(ms_of_frac)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_as_java_reads_them() {
        let h = 3_600_000;
        for (s, ms) in [
            ("PT1H", h),
            ("pt1h", h),
            ("P1DT2H", 26 * h),
            ("P2D", 48 * h),
            ("PT0.5S", 500),
            ("PT0,25S", 250),
            ("PT1M30S", 90_000),
            ("PT1H30M", 90 * 60_000),
            ("-PT30M", -30 * 60_000),
            ("+PT30M", 30 * 60_000),
            ("PT-6H3M", -6 * h + 3 * 60_000),
            ("PT-0.5S", -500),
            ("PT0.0005S", 0),
            ("P0D", 0),
        ] {
            assert_eq!(parse_iso_duration_ms(s), Some(ms), "{s}");
        }
        for bad in [
            "",
            "P",
            "PT",
            "1H",
            "PT1",
            "P1H",
            "PT1D",
            "PT1S1H",
            "PT1H1H",
            "P1DT",
            "PT1.S1",
            "PT0.1234567890S",
            "P1W",
            "PTxH",
        ] {
            assert_eq!(parse_iso_duration_ms(bad), None, "{bad}");
        }
    }
}
