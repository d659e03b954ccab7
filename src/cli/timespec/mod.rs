//! Points in time, durations and offset specs on the command line.
//!
//! A time is RFC 3339 (`2024-05-01T12:00:00Z`, any offset, any year up to 9999), a date
//! (`2024-05-01`, midnight UTC), epoch milliseconds (`1714564800000`), `now`, or relative to
//! now: `-` or `+` and a duration.
//!
//! A duration is klog's compact form, one or more of `w d h m s ms` from the largest unit
//! down (`1h`, `30m`, `1h30m`, `1d12h`, `500ms`), or, where Kafka's tools take one (`groups
//! reset --by-duration`), ISO 8601 as Java's `Duration.parse` reads it: `PnDTnHnMn.nS`
//! (`PT1H`, `P1DT2H`, `PT0.5S`, `-PT30M`; letters in either case, signed parts).
//!
//! Durations are parsed in [`duration`].

mod duration;

pub use duration::{parse_duration_ms, parse_iso_duration_ms};
pub use klog::storage::now_ms;

use super::UsageError;
use klog::consume::{StartSpec, StopSpec};

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

/// A non-negative offset.
fn parse_offset_number(s: &str) -> Option<i64> {
    s.parse::<u64>().ok().and_then(|n| i64::try_from(n).ok())
}

/// Parses `consume --offset`: beginning, end, an offset N, -N (N before the end), or @TIME.
pub fn parse_start(spec: &str, now: i64) -> Result<StartSpec, UsageError> {
    let bad = || {
        UsageError(format!(
            "invalid offset '{spec}': expected beginning, end, an offset N, -N, or @TIME"
        ))
    };
    match spec {
        "beginning" | "earliest" => Ok(StartSpec::Beginning),
        "end" | "latest" => Ok(StartSpec::End),
        s if s.starts_with('@') => parse_time(&s[1..], now).map(StartSpec::Time),
        s => match s.strip_prefix('-') {
            Some(n) => parse_offset_number(n).map(StartSpec::Last).ok_or_else(bad),
            None => parse_offset_number(s)
                .map(StartSpec::Offset)
                .ok_or_else(bad),
        },
    }
}

/// Parses `consume --until`: end, an offset N, or @TIME.
pub fn parse_stop(spec: &str, now: i64) -> Result<StopSpec, UsageError> {
    if matches!(spec, "end" | "latest") {
        return Ok(StopSpec::End);
    }
    let bad = || {
        UsageError(format!(
            "invalid --until '{spec}': expected end, an offset N, or @TIME"
        ))
    };
    Ok(match parse_offset_or_time(spec, now, bad)? {
        OffsetOrTime::Offset(o) => StopSpec::Offset(o),
        OffsetOrTime::Time(t) => StopSpec::Time(t),
    })
}

/// Parses a time, relative times counted from `now` (ms since the epoch).
pub fn parse_time(s: &str, now: i64) -> Result<i64, UsageError> {
    let bad = || {
        UsageError(format!(
            "invalid time '{s}': expected RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01), \
             epoch milliseconds, now, or a relative time such as -1h, -30m, -1h30m, -2d"
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
    absolute_ms(s).ok_or_else(bad)
}

/// A date (midnight UTC) or a date and time with an offset, in ms since the epoch, counted
/// from the civil date and time themselves: unlike `jiff::Timestamp`, whose range stops a
/// day short of 9999-12-31, every RFC 3339 time has its value (Kafka's timestamps are i64
/// ms, which reach far beyond).
fn absolute_ms(s: &str) -> Option<i64> {
    use jiff::fmt::temporal::{Pieces, PiecesOffset};
    let pieces = Pieces::parse(s).ok()?;
    // A time without an offset is a local time of some unknown zone: refused.
    let offset_seconds = match (pieces.time(), pieces.offset()) {
        (None, None) => 0,
        (_, Some(PiecesOffset::Zulu)) => 0,
        (_, Some(PiecesOffset::Numeric(n))) => i64::from(n.offset().seconds()),
        (Some(_), None) => return None,
        (_, Some(_)) => return None,
    };
    if pieces.time_zone_annotation().is_some() {
        return None;
    }
    let epoch = jiff::civil::date(1970, 1, 1);
    let days = pieces.date().duration_since(epoch).as_millis();
    let time = pieces
        .time()
        .unwrap_or(jiff::civil::Time::midnight())
        .duration_since(jiff::civil::Time::midnight())
        .as_millis();
    let ms = days
        .checked_add(time)?
        .checked_sub(i128::from(offset_seconds) * 1000)?;
    i64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_714_564_800_000; // 2024-05-01T12:00:00Z

    #[test]
    fn times() {
        let now = NOW;
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
        for bad in [
            "",
            "yesterday",
            "-1x",
            "-h",
            "2024-13-01",
            "12:00",
            "2024-05-01T12:00:00",
            "10000-01-01",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn compound_relative_times() {
        assert_eq!(parse_time("-1h30m", NOW).unwrap(), NOW - 5_400_000);
        assert_eq!(parse_time("-1d12h", NOW).unwrap(), NOW - 129_600_000);
        assert_eq!(parse_time("+1m30s", NOW).unwrap(), NOW + 90_000);
        assert_eq!(parse_time("-1w2d3h4m5s6ms", NOW).unwrap(), {
            NOW - (604_800_000 + 2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5006)
        });
        assert_eq!(parse_duration_ms("2m500ms"), Some(120_500));
        // Units from the largest down, each once; every number has its unit.
        for bad in ["30m1h", "1h1h", "1h30", "h1", "1h-30m", "1.5h", "", "1 h"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn far_dates_within_kafkas_range() {
        // 9999-12-31 is beyond jiff::Timestamp's range but a valid RFC 3339 date.
        let end_of_9999 = 253_402_300_800_000;
        assert_eq!(
            parse_time("9999-12-31", NOW).unwrap(),
            end_of_9999 - 86_400_000
        );
        assert_eq!(
            parse_time("9999-12-31T23:59:59.999Z", NOW).unwrap(),
            end_of_9999 - 1
        );
        assert_eq!(
            parse_time("9999-12-31T23:59:59-23:59", NOW).unwrap(),
            end_of_9999 - 1000 + (23 * 3600 + 59 * 60) * 1000
        );
        assert_eq!(
            parse_time("0000-01-01T00:00:00Z", NOW).unwrap(),
            -62_167_219_200_000
        );
        assert_eq!(parse_time("1969-12-31T23:59:59Z", NOW).unwrap(), -1000);
    }

    #[test]
    fn start_specs() {
        let now = 1_000_000;
        assert_eq!(parse_start("beginning", now).unwrap(), StartSpec::Beginning);
        assert_eq!(parse_start("end", now).unwrap(), StartSpec::End);
        assert_eq!(parse_start("42", now).unwrap(), StartSpec::Offset(42));
        assert_eq!(parse_start("-3", now).unwrap(), StartSpec::Last(3));
        assert_eq!(parse_start("@-1s", now).unwrap(), StartSpec::Time(999_000));
        assert_eq!(parse_start("@123", now).unwrap(), StartSpec::Time(123));
        for bad in [
            "",
            "x",
            "-",
            "--3",
            "1.5",
            "99999999999999999999",
            "@",
            "@soon",
        ] {
            assert!(parse_start(bad, now).is_err(), "{bad}");
        }
        assert_eq!(parse_stop("end", now).unwrap(), StopSpec::End);
        assert_eq!(parse_stop("7", now).unwrap(), StopSpec::Offset(7));
        assert!(parse_stop("-7", now).is_err());
    }
}
