//! The wall clock, as Kafka reads it: milliseconds since the Unix epoch.
//!
//! Every timestamp klog stamps (a `LogAppendTime` batch, retention's "now", a group commit's
//! `committed_ms`, a topic's `created_ms`) comes from [`now_ms`]. Code whose behaviour depends
//! on the time takes it as a parameter (`Log::delete_old_segments`, `clean_partition`), so
//! that tests pass a fixed one.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 for a clock set before 1970.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_this_code_was_written() {
        // 2025-01-01T00:00:00Z: a clock this far behind (or a unit other than milliseconds)
        // would stamp every record wrongly.
        let t = now_ms();
        assert!(t > 1_735_689_600_000, "{t}");
        assert!(t < 1_735_689_600_000 * 10, "{t}");
    }
}
