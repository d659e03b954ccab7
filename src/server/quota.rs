//! Limits of `klog serve`: connections in all and per client address (Kafka's
//! `max.connections`, `max.connections.per.ip`), and byte-rate quotas on produce and fetch
//! per principal (Kafka's `producer_byte_rate`, `consumer_byte_rate`).
//!
//! # Quotas
//! Each principal has a bucket per direction that fills at the quota's rate, up to one
//! second's worth. A request's bytes are taken from it once it is handled; a bucket in debt
//! gives the time it takes to refill to zero as the response's `throttle_time_ms`, and the
//! connection reads nothing more for that long (KIP-219: the answer goes out at once, then
//! the connection is muted). Without a quota nothing is counted.
//!
//! # Invariants
//! 1. A connection over a limit is closed at once, before any of its bytes is read; its
//!    slot is never counted.
//! 2. Every accepted connection holds a [`Slot`] until it ends: the counts always equal the
//!    connections open.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connection limits.
#[derive(Debug)]
pub struct Connections {
    max: usize,
    max_per_ip: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// An accepted connection's place in the counts, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 -= 1;
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

impl Connections {
    pub fn new(max: usize, max_per_ip: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max,
            max_per_ip,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// A slot for a new connection from `ip`, or why it is refused.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, String> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.max {
            return Err(format!(
                "refused: {} connections open (max.connections)",
                open.0
            ));
        }
        let from_ip = open.1.get(&ip).copied().unwrap_or(0);
        if from_ip >= self.max_per_ip {
            return Err(format!(
                "refused: {from_ip} connections open from {ip} (max.connections.per.ip)"
            ));
        }
        open.0 += 1;
        *open.1.entry(ip).or_insert(0) += 1;
        Ok(Slot {
            limits: self.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

/// Which quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Produce,
    Fetch,
}

/// Byte-rate quotas per principal.
#[derive(Debug)]
pub struct Quotas {
    produce: Option<u64>,
    fetch: Option<u64>,
    /// Bytes available (negative: owed) per principal and direction, as of an instant.
    buckets: Mutex<HashMap<(String, Direction), (f64, Instant)>>,
}

impl Quotas {
    /// Quotas in bytes per second (`None`: unlimited).
    pub fn new(produce: Option<u64>, fetch: Option<u64>) -> Quotas {
        Quotas {
            produce,
            fetch,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `direction` has a quota (nothing is counted otherwise).
    pub fn limits(&self, direction: Direction) -> bool {
        self.rate(direction).is_some()
    }

    fn rate(&self, direction: Direction) -> Option<u64> {
        match direction {
            Direction::Produce => self.produce,
            Direction::Fetch => self.fetch,
        }
    }

    /// Counts `bytes` of `principal` at `now`; how long it must now wait (zero within its
    /// quota).
    pub fn record(
        &self,
        principal: &str,
        direction: Direction,
        bytes: u64,
        now: Instant,
    ) -> Duration {
        let Some(rate) = self.rate(direction).filter(|r| *r > 0) else {
            return Duration::ZERO;
        };
        let rate = rate as f64;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (available, at) = buckets
            .entry((principal.to_string(), direction))
            .or_insert((rate, now));
        let elapsed = now.saturating_duration_since(*at).as_secs_f64();
        *available = (*available + elapsed * rate).min(rate) - bytes as f64;
        *at = now;
        if *available >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-*available / rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_limited_in_all_and_per_ip_and_given_back() {
        let limits = Connections::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = limits.admit(a).unwrap();
        let _a2 = limits.admit(a).unwrap();
        let e = limits.admit(a).unwrap_err();
        assert!(e.contains("max.connections.per.ip"), "{e}");
        let _b1 = limits.admit(b).unwrap();
        let e = limits.admit(b).unwrap_err();
        assert!(e.contains("(max.connections)"), "{e}");
        assert_eq!(limits.open(), 3);
        drop(a1);
        assert_eq!(limits.open(), 2);
        let _a3 = limits.admit(a).unwrap();
    }

    #[test]
    fn a_quota_throttles_for_the_time_its_debt_takes_to_refill() {
        let q = Quotas::new(Some(1000), None);
        let t0 = Instant::now();
        // One second's worth is there at first.
        assert_eq!(
            q.record("User:a", Direction::Produce, 1000, t0),
            Duration::ZERO
        );
        // 500 bytes over: half a second.
        assert_eq!(
            q.record("User:a", Direction::Produce, 500, t0),
            Duration::from_millis(500)
        );
        // Another principal has its own bucket; fetch has no quota.
        assert_eq!(
            q.record("User:b", Direction::Produce, 1000, t0),
            Duration::ZERO
        );
        assert_eq!(
            q.record("User:a", Direction::Fetch, 1 << 30, t0),
            Duration::ZERO
        );
        assert!(!q.limits(Direction::Fetch) && q.limits(Direction::Produce));
        // Refilled after the wait (and never beyond one second's worth).
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(
            q.record("User:a", Direction::Produce, 0, t1),
            Duration::ZERO
        );
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(
            q.record("User:a", Direction::Produce, 1000, t2),
            Duration::ZERO
        );
        assert_eq!(
            q.record("User:a", Direction::Produce, 100, t2),
            Duration::from_millis(100)
        );
    }
}
