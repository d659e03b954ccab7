//! Consuming a topic: the fetch state of each partition, group membership, and the loop
//! around them, for any front end (`klog consume`, and later the Kafka wire protocol's Fetch
//! and `klog mirror`) to drive without a terminal.
//!
//! - [`PartitionFetch`]: one partition's reader, position and stop, resolved from a
//!   [`StartSpec`] and a [`StopSpec`] (beginning, end, an offset, N before the end, a time),
//!   and the records of each entry that are in range ([`Fetched`]).
//! - [`GroupMember`]: a member of a consumer group: the partitions it owns (a fair share,
//!   taken and given back as members come and go), the out-of-range rule for committed
//!   offsets, and the commit policy: only what the front end says it has delivered.
//! - [`Consumer`]: the partitions of one topic read by a front end, alone or as a group
//!   member, and following the log: it wakes up on file-system changes in the partition
//!   directories ([`crate::storage::watch`]) and picks up partitions added meanwhile.
//!
//! A front end reads with [`Consumer::fetches_mut`] and [`PartitionFetch::next_batch`], hands
//! out records through [`Fetched::take_records`] (or [`Fetched::take_values`], the fast path
//! for whole batches), and between two passes over the partitions calls
//! [`Consumer::after_pass`], which says whether to fetch again, wait, or stop. Whenever it is
//! asked to deliver (write out and flush what was handed out), what it has delivered is what
//! a group member commits. The front end owns its output, the process's signals and its
//! clock: times are passed in, so that the policy is tested without sleeping.
//!
//! A front end that wants records it owns instead calls [`Consumer::poll`] (Kafka's `poll`:
//! a pass at a time, copied out, the previous poll's records counting as delivered) until
//! [`Consumer::is_finished`]; it drives the same policy.
//!
//! # Invariants
//! 1. Without following, a consumer stops at the end offsets it saw when it opened each
//!    partition (or the stop given), however fast others keep producing.
//! 2. A group member commits only positions the front end delivered, every
//!    [`COMMIT_EVERY`] while following, whenever it has caught up, before it gives a
//!    partition back, and when the front end closes it ([`Consumer::close`]).
//!
//! # Crash safety
//! Reading changes nothing on disk. A group member's commits replace one small file per
//! partition atomically ([`crate::group::commit`]); a crash repeats records delivered since
//! the last commit, it never skips any.

mod fetch;
mod member;
mod poll;
#[cfg(test)]
mod tests;

pub use fetch::{Fetched, OffsetReset, PartitionFetch, ResetPolicy, StartSpec, StopSpec};
pub use member::{GroupMember, MemberOptions};
pub use poll::ConsumerRecord;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::storage::file_names::parse_partition_dir;
use crate::storage::watch::{LogWatcher, ParentWatch};
use crate::topic::{META_FILE, Topic, Topics};

/// How often a following group member looks for partitions to take or give back, and
/// checks its positions; also how often new partitions are looked for without a watcher.
pub const GROUP_TICK: Duration = Duration::from_millis(250);
/// How often a following group member commits while it reads.
pub const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// How long a consumer that cannot watch the file system waits before looking again.
pub const POLL_EVERY: Duration = Duration::from_millis(100);
/// How long a follower without a group waits for a wake-up before looking anyway.
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// Where reading starts and stops, and whether it follows the log. The default reads from
/// the beginning (or a group's committed offsets) to the end offsets seen at the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchSpec {
    /// Where to start; `None`: the beginning, or a group's committed offsets.
    pub start: Option<StartSpec>,
    /// Where to stop; `None`: the log end offsets seen at the start, or never when following.
    pub stop: Option<StopSpec>,
    pub follow: bool,
}

/// What a front end does after a pass over the partitions (see [`Consumer::after_pass`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Fetch again.
    Fetch,
    /// Nothing to read: wait for a wake-up ([`Consumer::wait`]) at most this long.
    Wait(Duration),
    /// Every partition reached its stop: the run is over.
    Finished,
}

/// The file-system watch of a follower.
struct Watch {
    watcher: LogWatcher,
    /// Raised when the topic's metadata or its set of partition directories changed.
    changed: Arc<AtomicBool>,
    /// Partition directories to watch once they exist.
    pending: Vec<PathBuf>,
}

/// The partitions of one topic read by a front end: on their own, or as a group member.
pub struct Consumer {
    topics: Topics,
    topic: Topic,
    spec: FetchSpec,
    /// No partitions asked for: partitions added to the topic while following are read too.
    all_partitions: bool,
    /// The partitions read without a group.
    fetches: Vec<PartitionFetch>,
    member: Option<GroupMember>,
    /// The file-system watch while following (`None`: looking every [`POLL_EVERY`]).
    watch: Option<Watch>,
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
    last_commit: Instant,
    last_tick: Instant,
    last_refresh: Instant,
    /// Where [`Consumer::poll`] is.
    poll: poll::PollState,
}

impl Consumer {
    /// Opens `partitions` of `topic` (in `topics`) to read as `spec` says; with `group`, as a
    /// member of that group, which owns nothing before [`Consumer::start`]. `all_partitions`:
    /// no partition was asked for, so that partitions added while following are read too.
    pub fn new(
        topics: Topics,
        topic: Topic,
        partitions: Vec<u32>,
        all_partitions: bool,
        spec: FetchSpec,
        group: Option<MemberOptions>,
    ) -> Result<Consumer> {
        let mut fetches = Vec::new();
        let member = match group {
            Some(options) => Some(GroupMember::join(
                topic.clone(),
                partitions,
                options,
                spec.start,
                spec.stop,
                spec.follow,
            )?),
            None => {
                let start = spec.start.unwrap_or(StartSpec::Beginning);
                for p in partitions {
                    fetches.push(PartitionFetch::open(
                        &topic,
                        p,
                        start,
                        spec.stop,
                        spec.follow,
                    )?);
                }
                None
            }
        };
        let (wake_tx, wake_rx) = mpsc::channel();
        let now = Instant::now();
        Ok(Consumer {
            topics,
            topic,
            spec,
            all_partitions,
            fetches,
            member,
            watch: None,
            wake_tx,
            wake_rx,
            last_commit: now,
            last_tick: now,
            last_refresh: now,
            poll: poll::PollState::New,
        })
    }

    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    pub fn member(&self) -> Option<&GroupMember> {
        self.member.as_ref()
    }

    /// The partitions being read: those asked for, or those the group member owns.
    pub fn fetches(&self) -> &[PartitionFetch] {
        match &self.member {
            Some(m) => m.owned(),
            None => &self.fetches,
        }
    }

    pub fn fetches_mut(&mut self) -> &mut [PartitionFetch] {
        match &mut self.member {
            Some(m) => m.owned_mut(),
            None => &mut self.fetches,
        }
    }

    /// Offsets from the positions to the stop offsets, added up over the partitions being
    /// read (those without a stop offset count none): what is left to read, for progress.
    pub fn offsets_left(&self) -> u64 {
        let left = |p: &PartitionFetch| p.stop_offset().map_or(0, |s| (s - p.position()).max(0));
        self.fetches().iter().map(left).sum::<i64>() as u64
    }

    /// Offsets moved by the out-of-range rule since the last call, for the front end to tell.
    pub fn take_resets(&mut self) -> Vec<OffsetReset> {
        self.member
            .as_mut()
            .map(GroupMember::take_resets)
            .unwrap_or_default()
    }

    /// Wakes [`Consumer::wait`]: for the front end's own events (a signal, its reader gone).
    pub fn waker(&self) -> Sender<()> {
        self.wake_tx.clone()
    }

    /// For following: creates the partition directories that do not exist yet and watches
    /// them, and (when reading every partition) the data directory for the topic's metadata
    /// and new partition directories. `Ok(Some(e))`: the file system cannot be watched (`e`
    /// says why); the consumer looks every [`POLL_EVERY`] instead.
    pub fn watch(&mut self) -> Result<Option<Error>> {
        let dirs: Vec<PathBuf> = (0..self.topic.partitions)
            .map(|p| self.topic.partition_dir(p))
            .collect();
        for d in &dirs {
            std::fs::create_dir_all(d).map_err(Error::io("create", d))?;
        }
        let changed = Arc::new(AtomicBool::new(false));
        let name = self.topic.name.clone();
        let parent = self.all_partitions.then(|| ParentWatch {
            dir: self.topics.dir().to_path_buf(),
            relevant: Box::new(move |entry: &std::ffi::OsStr| {
                entry == META_FILE
                    || entry
                        .to_str()
                        .and_then(parse_partition_dir)
                        .is_some_and(|(t, _)| t == name)
            }),
            changed: changed.clone(),
        });
        match LogWatcher::with_parent(&dirs, self.wake_tx.clone(), parent) {
            Ok(watcher) => {
                self.watch = Some(Watch {
                    watcher,
                    changed,
                    pending: Vec::new(),
                });
                Ok(None)
            }
            Err(e) => Ok(Some(e)),
        }
    }

    /// Before the first pass: a group member takes its share of the partitions (see
    /// [`GroupMember::rebalance`] for `deliver`).
    pub fn start<E: From<Error>>(
        &mut self,
        now: Instant,
        deliver: impl FnOnce() -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.last_commit = now;
        self.last_tick = now;
        self.last_refresh = now;
        self.poll = poll::PollState::Settled;
        match &mut self.member {
            Some(m) => m.rebalance(deliver),
            None => Ok(()),
        }
    }

    /// Before a pass: picks up partitions added to the topic while following, when the
    /// watcher saw the metadata or a partition directory change (or every [`GROUP_TICK`]
    /// without a watcher).
    pub fn refresh(&mut self, now: Instant) -> Result<()> {
        let changed = self
            .watch
            .as_ref()
            .is_some_and(|w| w.changed.swap(false, Ordering::SeqCst));
        let due = self.spec.follow
            && self.watch.is_none()
            && now.saturating_duration_since(self.last_refresh) >= GROUP_TICK;
        if changed || due {
            self.refresh_partitions()?;
            self.last_refresh = now;
        }
        Ok(())
    }

    /// Picks up partitions added to the topic while following (`topics alter --partitions`),
    /// as Kafka consumers do after a metadata refresh: without a group they are read from
    /// their beginning, a group member adds them to those it shares. Then watches the new
    /// partition directories that exist by now, before they are read, so that no append
    /// goes unseen.
    fn refresh_partitions(&mut self) -> Result<()> {
        if !self.spec.follow || !self.all_partitions {
            return Ok(());
        }
        // Metadata being rewritten, or the topic deleted meanwhile: look again next time.
        let Ok(now) = self.topics.open(&self.topic.name) else {
            return Ok(());
        };
        let old = self.topic.partitions;
        if now.partitions > old {
            self.topic = now;
            match &mut self.member {
                Some(m) => m.partitions_added(self.topic.clone()),
                None => {
                    for p in old..self.topic.partitions {
                        let start = StartSpec::Beginning;
                        let fetch =
                            PartitionFetch::open(&self.topic, p, start, self.spec.stop, true)?;
                        self.fetches.push(fetch);
                    }
                }
            }
            if let Some(w) = &mut self.watch {
                w.pending
                    .extend((old..self.topic.partitions).map(|p| self.topic.partition_dir(p)));
            }
        }
        if let Some(w) = &mut self.watch {
            let watcher = &mut w.watcher;
            w.pending
                .retain(|d| !(d.is_dir() && watcher.watch(d).is_ok()));
        }
        Ok(())
    }

    /// After a pass over the partitions (`progressed`: it read something), at time `now`:
    /// whether the run is over, or when to fetch again. Without a group it is over when
    /// every partition is done. A group member that does not follow then takes any free
    /// partition with records left, and is over when none is left. When nothing was read,
    /// or every [`GROUP_TICK`] for a group member, the front end is asked to `deliver` what
    /// it was handed, the member commits (at most every [`COMMIT_EVERY`] while reading),
    /// checks its positions and rebalances.
    pub fn after_pass<E: From<Error>>(
        &mut self,
        progressed: bool,
        now: Instant,
        mut deliver: impl FnMut() -> std::result::Result<(), E>,
    ) -> std::result::Result<Step, E> {
        let follow = self.spec.follow;
        // A following group member that owns nothing yet waits for partitions to free up.
        let idle_member = follow && self.member.is_some() && self.fetches().is_empty();
        if !idle_member && self.fetches().iter().all(PartitionFetch::is_done) {
            let Some(m) = self.member.as_mut().filter(|_| !follow) else {
                return Ok(Step::Finished);
            };
            // A group member that is not following finishes its partitions, then any free
            // ones with records left; it stops when none is left.
            let before = m.owned().len();
            m.rebalance(&mut deliver)?;
            if m.owned().len() == before {
                return Ok(Step::Finished);
            }
            return Ok(Step::Fetch);
        }
        let since = |t: Instant| now.saturating_duration_since(t);
        let group_due = self.member.is_some() && since(self.last_tick) >= GROUP_TICK;
        if !progressed || group_due {
            // Caught up (or time to look around): deliver, commit, rebalance.
            deliver()?;
            self.mark_delivered();
            if let Some(m) = &mut self.member {
                if since(self.last_commit) >= COMMIT_EVERY || !progressed {
                    m.commit()?;
                    self.last_commit = now;
                }
                if group_due {
                    m.check_positions()?;
                }
                m.rebalance(&mut deliver)?;
                self.last_tick = now;
            }
        }
        if progressed {
            return Ok(Step::Fetch);
        }
        Ok(Step::Wait(if self.watch.is_none() {
            POLL_EVERY
        } else if self.member.is_some() {
            GROUP_TICK
        } else {
            IDLE_WAIT
        }))
    }

    /// Waits for a wake-up (a change in a partition directory, or [`Consumer::waker`]) at
    /// most `timeout`, then takes every wake-up that came meanwhile.
    pub fn wait(&self, timeout: Duration) {
        match self.wake_rx.recv_timeout(timeout) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            // Not while the consumer holds a sender itself.
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while self.wake_rx.try_recv().is_ok() {}
    }

    /// The front end has delivered everything handed out so far.
    pub fn mark_delivered(&mut self) {
        match &mut self.member {
            Some(m) => m.mark_delivered(),
            None => self
                .fetches
                .iter_mut()
                .for_each(PartitionFetch::mark_delivered),
        }
    }

    /// At the end of a run, however it ends: `delivered` says whether the front end
    /// delivered everything it was handed (its last flush worked); a group member commits
    /// what was delivered.
    pub fn close(&mut self, delivered: bool) -> Result<()> {
        if delivered {
            self.mark_delivered();
        }
        match &mut self.member {
            Some(m) => m.commit(),
            None => Ok(()),
        }
    }
}
