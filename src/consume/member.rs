//! A member of a consumer group: the partitions it owns and reads, its fair share of them,
//! and what it commits.
//!
//! Membership and ownership are the file locks of [`crate::group`]: the member holds a member
//! slot while it lives, and a partition's lock while it owns the partition. Its rank among
//! the live slots gives its share ([`group::fair_share`]: ⌊P/M⌋ or ⌈P/M⌉) and where its range
//! of partitions starts ([`group::range_start`]), so that the members of a stable group
//! settle on disjoint ranges; [`GroupMember::rebalance`] takes free partitions up to the share
//! and gives back those beyond it.
//!
//! # Invariants
//! 1. The member commits a partition's delivered position only (see
//!    [`PartitionFetch::mark_delivered`]), and only while it owns the partition; before it
//!    gives a partition back, the front end delivers what was handed out and the member
//!    commits it.
//! 2. Without an explicit start, a partition starts at the group's committed offset; with
//!    none, at its beginning if it was added to the topic meanwhile, else where the reset
//!    policy says; a committed offset outside the log is reset by the policy, and so is a
//!    position that falls outside it while following (the caller is told, see
//!    [`GroupMember::take_resets`]).
//!
//! # Crash safety
//! A member killed at any point leaves its group's last commits: a later member reads again
//! what was delivered since, never skips anything. Its locks go with its process.

use std::collections::BTreeSet;

use super::fetch::{OffsetReset, PartitionFetch, ResetPolicy, StartSpec, StopSpec};
use crate::error::{Error, Result};
use crate::group::{self, OutOfRange};
use crate::topic::Topic;

/// How a group member reads: its group, its reset policy, and whether it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberOptions {
    pub group: String,
    pub reset: ResetPolicy,
    /// False: read with the group's offsets and partition sharing, but commit nothing.
    pub commit: bool,
}

/// A live member of a group on one topic, with the partitions it owns.
pub struct GroupMember {
    topic: Topic,
    options: MemberOptions,
    member: group::Member,
    /// Where to start instead of the committed offsets.
    start: Option<StartSpec>,
    stop: Option<StopSpec>,
    follow: bool,
    /// Partitions this member may read (all, or those asked for).
    wanted: Vec<u32>,
    /// Partitions added to the topic while reading: without a committed offset they start
    /// at their beginning, whatever the reset policy says (their records are all new).
    added: BTreeSet<u32>,
    owned: Vec<PartitionFetch>,
    resets: Vec<OffsetReset>,
}

impl GroupMember {
    /// Joins the group on `topic` (takes a member slot) to share `wanted` with its other
    /// members. It owns nothing until [`GroupMember::rebalance`]. `start`, when given,
    /// overrides the committed offsets; `stop` and `follow` are as for
    /// [`PartitionFetch::open`].
    pub fn join(
        topic: Topic,
        wanted: Vec<u32>,
        options: MemberOptions,
        start: Option<StartSpec>,
        stop: Option<StopSpec>,
        follow: bool,
    ) -> Result<GroupMember> {
        let member = group::Member::join(&topic, &options.group)?;
        Ok(GroupMember {
            topic,
            options,
            member,
            start,
            stop,
            follow,
            wanted,
            added: BTreeSet::new(),
            owned: Vec::new(),
            resets: Vec::new(),
        })
    }

    pub fn group(&self) -> &str {
        &self.options.group
    }

    pub fn reset_policy(&self) -> ResetPolicy {
        self.options.reset
    }

    /// The member slot it holds.
    pub fn slot(&self) -> usize {
        self.member.slot
    }

    /// The partitions it owns, in the order it took them.
    pub fn owned(&self) -> &[PartitionFetch] {
        &self.owned
    }

    pub fn owned_mut(&mut self) -> &mut [PartitionFetch] {
        &mut self.owned
    }

    /// Offsets moved by the out-of-range rule since the last call, for the caller to tell.
    pub fn take_resets(&mut self) -> Vec<OffsetReset> {
        std::mem::take(&mut self.resets)
    }

    /// Partitions were added to the topic (`topic` is it now): they are shared too, and
    /// start at their beginning.
    pub fn partitions_added(&mut self, topic: Topic) {
        for p in self.topic.partitions..topic.partitions {
            self.wanted.push(p);
            self.added.insert(p);
        }
        self.topic = topic;
    }

    /// The front end has delivered everything handed out so far.
    pub fn mark_delivered(&mut self) {
        for p in &mut self.owned {
            p.mark_delivered();
        }
    }

    /// Commits the delivered position of every owned partition that moved since its last
    /// commit (nothing when the member does not commit).
    pub fn commit(&mut self) -> Result<()> {
        if !self.options.commit {
            return Ok(());
        }
        for p in &mut self.owned {
            if p.lock.is_some() && p.committed != Some(p.delivered()) {
                group::commit(
                    &self.topic,
                    p.partition(),
                    &self.options.group,
                    p.delivered(),
                )
                .map_err(Error::partition(
                    "commit",
                    &self.topic.name,
                    p.partition(),
                ))?;
                p.committed = Some(p.delivered());
            }
        }
        Ok(())
    }

    /// Takes free partitions up to the member's fair share (or, when not following and the
    /// owned ones are done, every free one with records left), and gives back those beyond
    /// it, the last taken first. Before giving any back, `deliver` has the front end deliver
    /// what was handed out (write and flush it); then the member commits.
    pub fn rebalance<E: From<Error>>(
        &mut self,
        deliver: impl FnOnce() -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        // This member's rank among the live ones, by slot: its share and where its range
        // starts (members see each other's slots, so their shares add up to the partitions).
        let slots = group::live_member_slots(&self.topic, &self.options.group)?;
        let rank = slots.iter().filter(|&&s| s < self.member.slot).count();
        let members = slots.len().max(rank + 1);
        let n = self.wanted.len();
        let share = group::fair_share(n, members, rank);
        let owned = self.owned.len();
        if owned > share {
            deliver()?;
            self.mark_delivered();
            self.commit()?;
            self.owned.truncate(share);
            return Ok(());
        }
        let all_done = self.owned.iter().all(PartitionFetch::is_done);
        let limit = if !self.follow && all_done { n } else { share };
        if owned >= limit {
            return Ok(());
        }
        let first = group::range_start(n, members, rank) % n.max(1);
        for i in 0..n {
            if self.owned.len() >= limit {
                break;
            }
            let p = self.wanted[(first + i) % n];
            if self.owned.iter().any(|x| x.partition() == p) {
                continue;
            }
            let Some(lock) = group::try_own(&self.topic, p, &self.options.group)? else {
                continue;
            };
            // Kept even when there is nothing to read (its start reaches its stop): the start
            // position is committed at exit, as Kafka commits a consumer's position.
            let fetch = self.open_owned(p, lock)?;
            self.owned.push(fetch);
        }
        Ok(())
    }

    /// Opens a partition just taken: at the explicit start, else the committed offset, else
    /// where the reset policy says (the beginning, for a partition added meanwhile).
    fn open_owned(&mut self, partition: u32, lock: group::PartitionLock) -> Result<PartitionFetch> {
        let committed =
            group::committed(&self.topic, partition, &self.options.group)?.map(|c| c.offset);
        let policy = self.options.reset;
        let start = match (self.start, committed) {
            (Some(s), _) => s,
            (None, Some(c)) => StartSpec::Offset(c),
            (None, None) if self.added.contains(&partition) => StartSpec::Beginning,
            (None, None) => policy.start(),
        };
        let open =
            |start| PartitionFetch::open(&self.topic, partition, start, self.stop, self.follow);
        let mut fetch = open(start)?;
        // A committed offset outside the log (records deleted before they were read, or a
        // tail the log lost after they were) is reset by the policy, as Kafka's
        // auto.offset.reset does: reading on from it would skip records or wait for offsets
        // that new records reach only later.
        if let (None, Some(c)) = (self.start, committed)
            && let Some(out_of_range) =
                OutOfRange::of(c, fetch.log_start_offset(), fetch.log_end_offset())
        {
            let (log_start_offset, log_end_offset) =
                (fetch.log_start_offset(), fetch.log_end_offset());
            fetch = open(policy.start())?;
            self.resets.push(OffsetReset {
                partition,
                committed: true,
                offset: c,
                out_of_range,
                log_start_offset,
                log_end_offset,
                reset_to: fetch.position(),
                policy,
            });
        }
        fetch.committed = committed;
        fetch.lock = Some(lock);
        Ok(fetch)
    }

    /// While following, the log of an owned partition may lose its tail (recovery cuts a torn
    /// one) or its head (retention) under the member: a position outside the log is reset by
    /// the policy, as at the start. (Not with an explicit start, which is kept as given.)
    pub fn check_positions(&mut self) -> Result<()> {
        if self.start.is_some() || !self.follow {
            return Ok(());
        }
        let mut resets = Vec::new();
        for p in &mut self.owned {
            resets.extend(p.reset_if_out_of_range(self.options.reset)?);
        }
        self.resets.extend(resets);
        Ok(())
    }
}
