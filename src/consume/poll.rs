//! [`Consumer::poll`]: records handed out owned, a pass over the partitions at a time, for a
//! front end that keeps records past the next fetch (a library user, a test) rather than
//! writing each out from the batch it was decoded from as `klog consume` does
//! ([`super::Fetched::take_records`], which copies nothing).
//!
//! Delivery follows Kafka's auto commit: the records one poll returned count as delivered
//! when the next poll is called (or [`Consumer::close`] with `delivered`), and a group member
//! commits them on the consumer's usual schedule.

use std::time::{Duration, Instant};

use super::{Consumer, Step};
use crate::error::{Error, Result};
use crate::format::TimestampType;

/// A record read from a topic, owning its bytes (Kafka's `ConsumerRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub partition: u32,
    pub offset: i64,
    pub timestamp: i64,
    /// `None` for a magic 0 message, which has no timestamp.
    pub timestamp_type: Option<TimestampType>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// Where [`Consumer::poll`] is between two calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum PollState {
    /// Not started yet ([`Consumer::start`]): the first poll starts it.
    #[default]
    New,
    /// A pass was made (`true`: it read something) and its records returned: the next
    /// poll settles it with [`Consumer::after_pass`] before it reads again.
    Passed(bool),
    /// The pass was settled; the next poll reads.
    Settled,
    /// Every partition reached its stop.
    Finished,
}

fn delivered() -> Result<()> {
    Ok(())
}

impl Consumer {
    /// Kafka's `poll`: the records of the next pass over the partitions that has any (each
    /// partition's next entry, the records of it in range), in partition order. When there
    /// is nothing to read yet (following), waits for records at most `timeout`. Returns no
    /// records when the timeout passed or the run is over ([`Consumer::is_finished`]).
    ///
    /// The records the previous poll returned count as delivered once this one is called.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let deadline = Instant::now().checked_add(timeout);
        if self.poll == PollState::New {
            self.start(Instant::now(), delivered)?;
        }
        loop {
            match self.poll {
                PollState::Finished => return Ok(Vec::new()),
                PollState::Passed(progressed) => {
                    // The caller is done with what the last poll returned.
                    self.mark_delivered();
                    let now = Instant::now();
                    match self.after_pass(progressed, now, delivered)? {
                        Step::Fetch => {}
                        Step::Finished => {
                            self.poll = PollState::Finished;
                            return Ok(Vec::new());
                        }
                        Step::Wait(wait) => {
                            self.poll = PollState::Settled;
                            let left = deadline.map_or(wait, |d| d.saturating_duration_since(now));
                            if left.is_zero() {
                                return Ok(Vec::new());
                            }
                            self.wait(wait.min(left));
                        }
                    }
                }
                PollState::New | PollState::Settled => {}
            }
            self.refresh(Instant::now())?;
            let (records, progressed) = self.pass()?;
            self.poll = PollState::Passed(progressed);
            if !records.is_empty() {
                return Ok(records);
            }
        }
    }

    /// Whether a [`Consumer::poll`] found every partition at its stop: no poll returns
    /// records any more. Never true while following.
    pub fn is_finished(&self) -> bool {
        self.poll == PollState::Finished
    }

    /// One pass: each partition's next entry, its records in range copied out; and whether
    /// anything was read.
    fn pass(&mut self) -> Result<(Vec<ConsumerRecord>, bool)> {
        let mut records = Vec::new();
        let mut progressed = false;
        let mut scratch = Vec::new();
        let mut left = u64::MAX;
        for fetch in self.fetches_mut() {
            if fetch.is_done() || !fetch.open_if_created()? {
                continue;
            }
            let Some(mut b) = fetch.next_batch()? else {
                continue;
            };
            progressed = true;
            let partition = b.partition();
            b.take_records(&mut scratch, &mut left, |r| {
                records.push(ConsumerRecord {
                    partition,
                    offset: r.offset,
                    timestamp: r.timestamp,
                    timestamp_type: r.timestamp_type,
                    key: r.key.map(<[u8]>::to_vec),
                    value: r.value.map(<[u8]>::to_vec),
                    headers: r
                        .headers
                        .iter()
                        .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
                        .collect(),
                });
                Ok::<(), Error>(())
            })?;
        }
        Ok((records, progressed))
    }
}
