//! Points in time on the command line: RFC 3339 (`2024-05-01T12:00:00Z`, with any offset), a
//! date (`2024-05-01`, midnight UTC), epoch milliseconds (`1714564800000`), `now`, or relative
//! to now (`-1h`, `-30m`, `-2d`, `-15s`, `-500ms`, `-1w`).

use std::time::{SystemTime, UNIX_EPOCH};

use super::UsageError;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Parses a duration such as `1h`, `30m`, `2d`, `15s`, `500ms`, `1w` into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    let mult = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// An offset, or a point in time (`@TIME`): what `consume --until` and `trim --before` take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetOrTime {
    Offset(i64),
    Time(i64),
}

/// Parses `N` (an offset) or `@TIME`; `bad` is the error for anything else.
pub fn parse_offset_or_time(
    spec: &str,
    now: i64,
    bad: impl FnOnce() -> UsageError,
) -> Result<OffsetOrTime, UsageError> {
    if let Some(t) = spec.strip_prefix('@') {
        return parse_time(t, now).map(OffsetOrTime::Time);
    }
    spec.parse::<u64>()
        .ok()
        .and_then(|n| i64::try_from(n).ok())
        .map(OffsetOrTime::Offset)
        .ok_or_else(bad)
}

/// Parses a time, relative times counted from `now` (ms since the epoch).
pub fn parse_time(s: &str, now: i64) -> Result<i64, UsageError> {
    let bad = || {
        UsageError(format!(
            "invalid time '{s}': expected RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01), \
             epoch milliseconds, now, or a relative time such as -1h, -30m, -2d"
        ))
    };
    let s = s.trim();
    if s == "now" {
        return Ok(now);
    }
    if let Some(rel) = s.strip_prefix('-') {
        return parse_duration_ms(rel)
            .map(|d| now.saturating_sub(d))
            .ok_or_else(bad);
    }
    if let Some(rel) = s.strip_prefix('+') {
        return parse_duration_ms(rel)
            .map(|d| now.saturating_add(d))
            .ok_or_else(bad);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().map_err(|_| bad());
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(date) = s.parse::<jiff::civil::Date>() {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .map(|t| t.as_millisecond())
            .map_err(|_| bad());
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let now = 1_714_564_800_000; // 2024-05-01T12:00:00Z
        assert_eq!(parse_time("2024-05-01T12:00:00Z", now).unwrap(), now);
        assert_eq!(parse_time("2024-05-01T14:00:00+02:00", now).unwrap(), now);
        assert_eq!(
            parse_time("2024-05-01T12:00:00.250Z", now).unwrap(),
            now + 250
        );
        assert_eq!(parse_time("2024-05-01", now).unwrap(), now - 12 * 3_600_000);
        assert_eq!(parse_time("1714564800000", now).unwrap(), now);
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(parse_time("-1h", now).unwrap(), now - 3_600_000);
        assert_eq!(parse_time("-30m", now).unwrap(), now - 1_800_000);
        assert_eq!(parse_time("-2d", now).unwrap(), now - 2 * 86_400_000);
        assert_eq!(parse_time("-500ms", now).unwrap(), now - 500);
        for bad in ["", "yesterday", "-1x", "-h", "2024-13-01", "12:00"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }
}
