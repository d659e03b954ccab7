//! The consumer-group coordinator: Kafka's classic group protocol (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup), with members of `klog consume -g` in the same groups.
//!
//! # State
//! Groups live in memory only, as a Kafka coordinator's do between two loads of
//! `__consumer_offsets`: a group has a state (Empty, PreparingRebalance,
//! CompletingRebalance, Stable), a generation, the protocol chosen, a leader and its members
//! (member id, client id and host, timeouts, the protocols offered, the assignment). Offsets
//! are not here: commits go to [`crate::group`]'s files (see [`super::groups`]).
//!
//! # Rebalances
//! A join of a new member, a leave, an expired session, a member whose protocols changed, or
//! a change among the group's `klog consume -g` members starts a rebalance
//! (PreparingRebalance): members learn it from their next Heartbeat
//! (REBALANCE_IN_PROGRESS) and join again. The rebalance completes as soon as every known
//! member has joined (and every member id handed out with MEMBER_ID_REQUIRED has come back),
//! but not before `group.initial.rebalance.delay.ms` has passed since a group with no member
//! got its first join; members that have not joined when the rebalance timeout ends are
//! removed. The generation goes up, the leader gets the members' subscriptions, and the
//! group waits (CompletingRebalance) for the leader's SyncGroup; its assignment is handed to
//! each member and the group is Stable.
//!
//! # One owner per partition, with `klog consume -g`
//! For members speaking the `consumer` protocol the coordinator holds, on the server's
//! behalf:
//! - a member slot (`.klog-group.G.member-k`) per member and subscribed topic, from the end
//!   of the join, so that CLI members count Kafka members in their fair share;
//! - the partition lock (`.klog-group.G.lock`) of every partition it grants, from SyncGroup
//!   until the member loses the partition (the next SyncGroup), leaves or expires.
//!
//! At SyncGroup the leader's assignment (`ConsumerProtocolAssignment`, versions 0–3) is
//! decoded and each partition taken; a partition whose lock another process holds (a live
//! `klog consume -g` member) is dropped from the member's assignment. While the group has CLI
//! members on a topic and they hold fewer partitions than their fair shares
//! ([`group::fair_share`], by the rank of each slot) add up to, the difference is left free
//! for them, taken from the Kafka members with the most partitions; CLI members take free
//! partitions up to their share. The assignment is encoded again at its version, user data
//! kept. A Stable group is sent into a rebalance when a partition dropped because a CLI
//! member held it frees, or when the number of CLI members on one of its topics changes.
//! (A CLI member that reads only some partitions, `-p`, may leave a partition kept free for
//! it unread until the next rebalance.)
//!
//! # Invariants
//! 1. A partition lock the coordinator holds is held for exactly one member of its group,
//!    the one whose last SyncGroup granted the partition.
//! 2. A member's locks and slots are released when it leaves, expires or the server stops;
//!    locks of partitions the member loses are released at the SyncGroup that takes them
//!    away, before other members' new partitions are taken.
//! 3. Waiting JoinGroup and SyncGroup requests are answered exactly once: when the
//!    rebalance completes or fails, or never when their connection went away.
//! 4. Time comes from the injected [`Clock`]: the state machine never sleeps, and tests
//!    drive it with a clock of their own.
//!
//! # Crash safety
//! Nothing of the coordinator's is on disk but the lock and slot files (and the commits):
//! when the server dies, the OS releases its locks; clients find a group with no members
//! and join again.
//!
//! # Kafka
//! `GroupCoordinator` and `GroupMetadata` of the classic protocol: `MEMBER_ID_REQUIRED`
//! (JoinGroup v4+), `InitialDelayedJoin`, `DelayedJoin` (rebalance timeout), heartbeat
//! expiry (`session.timeout.ms`, bounded by `group.min.session.timeout.ms` 6 s and
//! `group.max.session.timeout.ms` 30 min). Not here: static membership (a
//! `group.instance.id` is kept for DescribeGroups only), KIP-848's ConsumerGroupHeartbeat.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, SyncGroupRequest,
    SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::sync::oneshot;

use super::groups::{CommitAuthority, Coordinator, Reply};
use crate::group;
use crate::topic::{Topic, Topics};

/// Milliseconds on a monotonic clock (any origin).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The real clock: milliseconds since the coordinator was made.
pub fn system_clock() -> Clock {
    let start = std::time::Instant::now();
    Arc::new(move || start.elapsed().as_millis() as u64)
}

/// Kafka's `group.min.session.timeout.ms` and `group.max.session.timeout.ms`.
pub const MIN_SESSION_TIMEOUT_MS: i32 = 6_000;
pub const MAX_SESSION_TIMEOUT_MS: i32 = 1_800_000;

/// How often a Stable group's CLI members are looked at (see the module doc).
pub const SCAN_EVERY_MS: u64 = 500;

/// The protocol type whose assignments the coordinator reads (Kafka's consumers).
const CONSUMER: &str = "consumer";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl GroupState {
    /// Kafka's name of the state (DescribeGroups, ListGroups).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// Who sent a request: the header's client id and the peer's address.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub client_id: String,
    pub host: String,
}

struct Member {
    id: String,
    instance_id: Option<String>,
    client: ClientInfo,
    session_timeout_ms: u64,
    rebalance_timeout_ms: u64,
    protocol_type: String,
    protocols: Vec<(String, Bytes)>,
    /// Last request of this member (join, sync, heartbeat, commit).
    last_seen: u64,
    /// Order of joining: the first member left is the next leader.
    seq: u64,
    join: Option<(i16, oneshot::Sender<JoinGroupResponse>)>,
    sync: Option<(i16, oneshot::Sender<SyncGroupResponse>)>,
    /// The assignment of the current generation, as granted.
    assignment: Bytes,
    /// Member slots per subscribed topic.
    slots: BTreeMap<String, group::Member>,
    /// Partition locks of the partitions granted.
    locks: BTreeMap<(String, u32), group::PartitionLock>,
}

impl Member {
    fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Topics of its `consumer` subscription (of the protocol chosen).
    fn subscribed(&self, protocol: &str) -> Vec<String> {
        if self.protocol_type != CONSUMER {
            return Vec::new();
        }
        decode_subscription(&self.metadata(protocol))
            .map(|s| s.topics.iter().map(|t| t.to_string()).collect())
            .unwrap_or_default()
    }
}

struct Group {
    state: GroupState,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// Member ids given out with MEMBER_ID_REQUIRED, not joined yet: when they expire.
    pending: HashMap<String, u64>,
    /// PreparingRebalance: when members that have not joined are dropped.
    rebalance_deadline: u64,
    /// PreparingRebalance: not completed before this (the initial delay of a new group).
    earliest_completion: u64,
    /// CompletingRebalance: when members that have not synced are dropped.
    sync_deadline: u64,
    /// Stable: CLI members per topic seen at the last SyncGroup.
    foreign: BTreeMap<String, usize>,
    /// Stable: partitions assigned but held by CLI members at the last SyncGroup.
    blocked: Vec<(String, u32)>,
    next_seq: u64,
}

impl Group {
    fn new() -> Group {
        Group {
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            rebalance_deadline: 0,
            earliest_completion: 0,
            sync_deadline: 0,
            foreign: BTreeMap::new(),
            blocked: Vec::new(),
            next_seq: 0,
        }
    }

    /// Whether the group holds nothing worth keeping in memory.
    fn is_idle(&self) -> bool {
        self.members.is_empty() && self.pending.is_empty()
    }
}

/// The coordinator of every group of one server.
pub struct GroupCoordinator {
    topics: Topics,
    initial_delay_ms: u64,
    clock: Clock,
    groups: Mutex<HashMap<String, Group>>,
    last_scan: Mutex<u64>,
    /// Set by [`GroupCoordinator::close`]: joins are refused from then on.
    closed: std::sync::atomic::AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update of the state is made whole under the lock: a panic elsewhere leaves it
    // consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Runs a decoder over client bytes, a panic in it counting as a failure.
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .ok()
        .flatten()
}

/// A `consumer` subscription (version prefix, then the body); `None` when it is not one.
pub fn decode_subscription(b: &Bytes) -> Option<ConsumerProtocolSubscription> {
    let mut buf = b.clone();
    if buf.remaining() < 2 {
        return None;
    }
    let v = buf.get_i16();
    if v < 0 {
        return None;
    }
    guarded(|| ConsumerProtocolSubscription::decode(&mut buf, v.min(3)).ok())
}

/// A `consumer` assignment and its version; `None` when it is not one.
pub fn decode_assignment(b: &Bytes) -> Option<(i16, ConsumerProtocolAssignment)> {
    let mut buf = b.clone();
    if buf.remaining() < 2 {
        return None;
    }
    let v = buf.get_i16();
    if v < 0 {
        return None;
    }
    guarded(|| ConsumerProtocolAssignment::decode(&mut buf, v.min(3)).ok()).map(|a| (v, a))
}

/// Encodes a `consumer` assignment at `version` (the body at most at version 3).
pub fn encode_assignment(version: i16, a: &ConsumerProtocolAssignment) -> Option<Bytes> {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    a.encode(&mut buf, version.min(3)).ok()?;
    Some(buf.freeze())
}

fn join_error(version: i16, code: i16, member_id: &str) -> JoinGroupResponse {
    let r = JoinGroupResponse::default()
        .with_error_code(code)
        .with_generation_id(-1)
        .with_member_id(sb(member_id));
    if version >= 7 {
        r.with_protocol_name(None)
    } else {
        r
    }
}

fn sync_error(code: i16) -> SyncGroupResponse {
    SyncGroupResponse::default().with_error_code(code)
}

impl GroupCoordinator {
    /// A coordinator over the topics of `dir`, with Kafka's
    /// `group.initial.rebalance.delay.ms`.
    pub fn new(topics: Topics, initial_delay_ms: u64, clock: Clock) -> GroupCoordinator {
        GroupCoordinator {
            topics,
            initial_delay_ms,
            clock,
            groups: Mutex::new(HashMap::new()),
            last_scan: Mutex::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    fn open_topic(&self, name: &str) -> Option<Topic> {
        self.topics.open(name).ok()
    }

    /// The state of a group, if the coordinator has it (for tests and describe).
    pub fn state(&self, group_id: &str) -> Option<(GroupState, i32)> {
        lock(&self.groups)
            .get(group_id)
            .map(|g| (g.state, g.generation))
    }

    /// Releases every lock and slot and answers every waiting request: the server stops.
    pub fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut groups = lock(&self.groups);
        for g in groups.values_mut() {
            for m in g.members.values_mut() {
                fail_waiters(m, ResponseError::CoordinatorNotAvailable.code());
            }
        }
        groups.clear();
    }

    fn join(
        &self,
        req: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
    ) -> Reply<JoinGroupResponse> {
        let now = self.now();
        let group_id = req.group_id.to_string();
        let member_id = req.member_id.to_string();
        let err = |code: ResponseError| Reply::Ready(join_error(version, code.code(), &member_id));
        if self.closed.load(std::sync::atomic::Ordering::Relaxed) {
            return err(ResponseError::CoordinatorNotAvailable);
        }
        if group::validate_group_name(&group_id).is_err() {
            return err(ResponseError::InvalidGroupId);
        }
        if !(MIN_SESSION_TIMEOUT_MS..=MAX_SESSION_TIMEOUT_MS).contains(&req.session_timeout_ms) {
            return err(ResponseError::InvalidSessionTimeout);
        }
        let protocol_type = req.protocol_type.to_string();
        let protocols: Vec<(String, Bytes)> = req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect();
        if protocol_type.is_empty() || protocols.is_empty() {
            return err(ResponseError::InconsistentGroupProtocol);
        }
        let mut groups = lock(&self.groups);
        let g = groups.entry(group_id.clone()).or_insert_with(Group::new);
        // The group's protocol type and a protocol every member has.
        if !g.members.is_empty() {
            let same_type = g.protocol_type.as_deref() == Some(protocol_type.as_str());
            let common = protocols.iter().any(|(n, _)| {
                g.members
                    .values()
                    .filter(|m| m.id != member_id)
                    .all(|m| m.protocols.iter().any(|(o, _)| o == n))
            });
            if !same_type || !common {
                return err(ResponseError::InconsistentGroupProtocol);
            }
        }
        let session = req.session_timeout_ms as u64;
        let rebalance = if version >= 1 {
            req.rebalance_timeout_ms.max(0) as u64
        } else {
            session
        };
        let (tx, rx) = oneshot::channel();
        if member_id.is_empty() {
            let id = format!("{}-{}", client.client_id, crate::topic::new_topic_id());
            if version >= 4 {
                // The client joins again with this id (Kafka's MEMBER_ID_REQUIRED).
                g.pending.insert(id.clone(), now + session);
                return Reply::Ready(join_error(
                    version,
                    ResponseError::MemberIdRequired.code(),
                    &id,
                ));
            }
            self.add_member(
                g,
                id,
                &req,
                protocol_type,
                protocols,
                client,
                now,
                (version, tx),
            );
        } else if g.pending.remove(&member_id).is_some() {
            self.add_member(
                g,
                member_id,
                &req,
                protocol_type,
                protocols,
                client,
                now,
                (version, tx),
            );
        } else if let Some(m) = g.members.get_mut(&member_id) {
            m.last_seen = now;
            m.session_timeout_ms = session;
            m.rebalance_timeout_ms = rebalance;
            m.client = client;
            let changed = m.protocols != protocols;
            m.protocols = protocols;
            let leader = g.leader.as_deref() == Some(member_id.as_str());
            match g.state {
                GroupState::Stable | GroupState::CompletingRebalance if !changed && !leader => {
                    // Nothing changed: the current generation, as it is (the client may
                    // have missed the first answer).
                    let r = self.join_response(g, &member_id, version, false);
                    return Reply::Ready(r);
                }
                GroupState::PreparingRebalance => {
                    if let Some(m) = g.members.get_mut(&member_id) {
                        m.join = Some((version, tx));
                    }
                }
                _ => {
                    if let Some(m) = g.members.get_mut(&member_id) {
                        m.join = Some((version, tx));
                    }
                    self.prepare_rebalance(g, now);
                }
            }
        } else {
            return err(ResponseError::UnknownMemberId);
        }
        self.maybe_complete_join(&group_id, g, now);
        Reply::Wait(rx)
    }

    #[allow(clippy::too_many_arguments)]
    fn add_member(
        &self,
        g: &mut Group,
        id: String,
        req: &JoinGroupRequest,
        protocol_type: String,
        protocols: Vec<(String, Bytes)>,
        client: ClientInfo,
        now: u64,
        join: (i16, oneshot::Sender<JoinGroupResponse>),
    ) {
        let session = req.session_timeout_ms as u64;
        let rebalance = if join.0 >= 1 {
            req.rebalance_timeout_ms.max(0) as u64
        } else {
            session
        };
        if g.members.is_empty() {
            g.protocol_type = Some(protocol_type.clone());
        }
        let seq = g.next_seq;
        g.next_seq += 1;
        g.members.insert(
            id.clone(),
            Member {
                id,
                instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
                client,
                session_timeout_ms: session,
                rebalance_timeout_ms: rebalance,
                protocol_type,
                protocols,
                last_seen: now,
                seq,
                join: Some(join),
                sync: None,
                assignment: Bytes::new(),
                slots: BTreeMap::new(),
                locks: BTreeMap::new(),
            },
        );
        if g.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(g, now);
        }
    }

    /// Starts a rebalance (see the module doc).
    fn prepare_rebalance(&self, g: &mut Group, now: u64) {
        if g.state == GroupState::CompletingRebalance {
            // Members waiting for their assignment join again.
            for m in g.members.values_mut() {
                if let Some((_, tx)) = m.sync.take() {
                    let _ = tx.send(sync_error(ResponseError::RebalanceInProgress.code()));
                }
            }
        }
        let new_group = g.state == GroupState::Empty;
        g.state = GroupState::PreparingRebalance;
        let timeout = g
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0);
        g.rebalance_deadline = now + timeout;
        g.earliest_completion = if new_group {
            now + self.initial_delay_ms
        } else {
            now
        };
    }

    fn all_joined(g: &Group) -> bool {
        g.pending.is_empty() && g.members.values().all(|m| m.join.is_some())
    }

    fn maybe_complete_join(&self, group_id: &str, g: &mut Group, now: u64) {
        if g.state != GroupState::PreparingRebalance || now < g.earliest_completion {
            return;
        }
        if Self::all_joined(g) || now >= g.rebalance_deadline {
            self.complete_join(group_id, g, now);
        }
    }

    /// Ends a rebalance: members that did not join go, the generation goes up, every member
    /// that joined gets its answer.
    fn complete_join(&self, group_id: &str, g: &mut Group, now: u64) {
        let gone: Vec<String> = g
            .members
            .values()
            .filter(|m| m.join.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            if let Some(mut m) = g.members.remove(&id) {
                fail_waiters(&mut m, ResponseError::UnknownMemberId.code());
            }
        }
        g.pending.clear();
        g.generation += 1;
        if g.members.is_empty() {
            g.state = GroupState::Empty;
            g.protocol = None;
            g.protocol_type = None;
            g.leader = None;
            g.blocked.clear();
            g.foreign.clear();
            return;
        }
        g.protocol = Some(choose_protocol(g));
        if g.leader.as_ref().is_none_or(|l| !g.members.contains_key(l)) {
            g.leader = g
                .members
                .values()
                .min_by_key(|m| m.seq)
                .map(|m| m.id.clone());
        }
        g.state = GroupState::CompletingRebalance;
        let timeout = g
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0);
        g.sync_deadline = now + timeout;
        self.take_slots(group_id, g);
        let ids: Vec<String> = g.members.keys().cloned().collect();
        for id in ids {
            let Some((version, tx)) = g.members.get_mut(&id).and_then(|m| m.join.take()) else {
                continue;
            };
            let leader = g.leader.as_deref() == Some(id.as_str());
            let r = self.join_response(g, &id, version, leader);
            if let Some(m) = g.members.get_mut(&id) {
                m.last_seen = now;
            }
            let _ = tx.send(r);
        }
    }

    fn join_response(
        &self,
        g: &Group,
        member_id: &str,
        version: i16,
        leader: bool,
    ) -> JoinGroupResponse {
        let protocol = g.protocol.clone().unwrap_or_default();
        let members = if leader {
            g.members
                .values()
                .map(|m| {
                    let mut jm = JoinGroupResponseMember::default()
                        .with_member_id(sb(&m.id))
                        .with_metadata(m.metadata(&protocol));
                    if version >= 5 {
                        jm.group_instance_id = m.instance_id.as_deref().map(sb);
                    }
                    jm
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut r = JoinGroupResponse::default()
            .with_generation_id(g.generation)
            .with_protocol_name(Some(sb(&protocol)))
            .with_leader(sb(g.leader.as_deref().unwrap_or("")))
            .with_member_id(sb(member_id))
            .with_members(members);
        if version >= 7 {
            r.protocol_type = g.protocol_type.as_deref().map(sb);
        }
        r
    }

    /// Member slots for every member's subscribed topics (taken once per member and topic;
    /// those of topics no longer subscribed are given back).
    fn take_slots(&self, group_id: &str, g: &mut Group) {
        let protocol = g.protocol.clone().unwrap_or_default();
        for m in g.members.values_mut() {
            let want: BTreeSet<String> = m.subscribed(&protocol).into_iter().collect();
            m.slots.retain(|t, _| want.contains(t));
            for t in want {
                if m.slots.contains_key(&t) {
                    continue;
                }
                let Some(topic) = self.open_topic(&t) else {
                    continue;
                };
                if let Ok(slot) = group::Member::join(&topic, group_id) {
                    m.slots.insert(t, slot);
                }
            }
        }
    }

    fn sync(&self, req: SyncGroupRequest, version: i16) -> Reply<SyncGroupResponse> {
        let now = self.now();
        let group_id = req.group_id.to_string();
        let member_id = req.member_id.to_string();
        let err = |code: ResponseError| Reply::Ready(sync_error(code.code()));
        if group::validate_group_name(&group_id).is_err() {
            return err(ResponseError::InvalidGroupId);
        }
        let mut groups = lock(&self.groups);
        let Some(g) = groups.get_mut(&group_id) else {
            return err(ResponseError::UnknownMemberId);
        };
        if !g.members.contains_key(&member_id) {
            return err(ResponseError::UnknownMemberId);
        }
        if req.generation_id != g.generation {
            return err(ResponseError::IllegalGeneration);
        }
        if version >= 5
            && (req
                .protocol_type
                .as_ref()
                .is_some_and(|t| Some(t.as_str()) != g.protocol_type.as_deref())
                || req
                    .protocol_name
                    .as_ref()
                    .is_some_and(|n| Some(n.as_str()) != g.protocol.as_deref()))
        {
            return err(ResponseError::InconsistentGroupProtocol);
        }
        if let Some(m) = g.members.get_mut(&member_id) {
            m.last_seen = now;
        }
        match g.state {
            GroupState::Empty | GroupState::PreparingRebalance => {
                err(ResponseError::RebalanceInProgress)
            }
            GroupState::Stable => Reply::Ready(self.sync_response(g, &member_id, version)),
            GroupState::CompletingRebalance if g.leader.as_deref() != Some(member_id.as_str()) => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = g.members.get_mut(&member_id) {
                    m.sync = Some((version, tx));
                }
                Reply::Wait(rx)
            }
            GroupState::CompletingRebalance => {
                // The leader's assignment: every member waiting gets its part.
                let given: HashMap<String, Bytes> = req
                    .assignments
                    .into_iter()
                    .map(|a| (a.member_id.to_string(), a.assignment))
                    .collect();
                self.grant(&group_id, g, given);
                g.state = GroupState::Stable;
                let ids: Vec<String> = g.members.keys().cloned().collect();
                for id in ids {
                    let Some((v, tx)) = g.members.get_mut(&id).and_then(|m| m.sync.take()) else {
                        continue;
                    };
                    let r = self.sync_response(g, &id, v);
                    let _ = tx.send(r);
                }
                Reply::Ready(self.sync_response(g, &member_id, version))
            }
        }
    }

    fn sync_response(&self, g: &Group, member_id: &str, version: i16) -> SyncGroupResponse {
        let assignment = g
            .members
            .get(member_id)
            .map(|m| m.assignment.clone())
            .unwrap_or_default();
        let mut r = SyncGroupResponse::default().with_assignment(assignment);
        if version >= 5 {
            r.protocol_type = g.protocol_type.as_deref().map(sb);
            r.protocol_name = g.protocol.as_deref().map(sb);
        }
        r
    }

    /// Hands out the leader's assignment: the partition locks taken, partitions CLI members
    /// hold left out, Kafka members held to their fair share while CLI members are there
    /// (see the module doc).
    fn grant(&self, group_id: &str, g: &mut Group, mut given: HashMap<String, Bytes>) {
        g.blocked.clear();
        g.foreign.clear();
        let consumer = g.protocol_type.as_deref() == Some(CONSUMER);
        let mut decoded: BTreeMap<String, (i16, ConsumerProtocolAssignment)> = BTreeMap::new();
        for m in g.members.values_mut() {
            let raw = given.remove(&m.id).unwrap_or_default();
            match consumer.then(|| decode_assignment(&raw)).flatten() {
                Some(d) => {
                    decoded.insert(m.id.clone(), d);
                }
                None => {
                    // Not a consumer assignment (or an empty one): handed over as it is, and
                    // nothing is held for it.
                    m.locks.clear();
                    m.assignment = raw;
                }
            }
        }
        if decoded.is_empty() {
            return;
        }
        // Live slots per topic (ours and CLI members'), for the fair shares.
        let topics: BTreeSet<String> = decoded
            .values()
            .flat_map(|(_, a)| a.assigned_partitions.iter().map(|t| t.topic.to_string()))
            .collect();
        let mut live: BTreeMap<String, (Topic, Vec<usize>)> = BTreeMap::new();
        for t in &topics {
            let Some(topic) = self.open_topic(t) else {
                continue;
            };
            let slots = group::live_member_slots(&topic, group_id).unwrap_or_default();
            let ours = g
                .members
                .values()
                .filter(|m| m.slots.get(t).is_some_and(|s| slots.contains(&s.slot)))
                .count();
            g.foreign
                .insert(t.clone(), slots.len().saturating_sub(ours));
            live.insert(t.clone(), (topic, slots));
        }
        // What each member may have: its part of the assignment, less the partitions CLI
        // members hold and, where they hold less than their fair shares add up to, as many
        // more left free for them (taken from the members with the most).
        let mut wanted: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
        for (name, (topic, slots)) in &live {
            let ours: BTreeSet<usize> = g
                .members
                .values()
                .filter_map(|m| m.slots.get(name).map(|s| s.slot))
                .collect();
            let held_by_us = |p: u32| {
                g.members
                    .values()
                    .any(|m| m.locks.contains_key(&(name.clone(), p)))
            };
            let cli_held: BTreeSet<u32> = (0..topic.partitions)
                .filter(|&p| {
                    !held_by_us(p) && matches!(group::owner(topic, p, group_id), Ok(Some(_)))
                })
                .collect();
            let n = topic.partitions as usize;
            let cli_share: usize = slots
                .iter()
                .enumerate()
                .filter(|(_, s)| !ours.contains(s))
                .map(|(rank, _)| group::fair_share(n, slots.len(), rank))
                .sum();
            let mut reserve = cli_share.saturating_sub(cli_held.len());
            let mut lists: Vec<(String, Vec<u32>)> = decoded
                .iter()
                .map(|(id, (_, a))| {
                    let parts = a
                        .assigned_partitions
                        .iter()
                        .filter(|tp| tp.topic.as_str() == name)
                        .flat_map(|tp| tp.partitions.iter())
                        .filter_map(|&p| u32::try_from(p).ok())
                        .filter(|p| *p < topic.partitions);
                    let mut kept = Vec::new();
                    for p in parts {
                        if cli_held.contains(&p) {
                            g.blocked.push((name.clone(), p));
                        } else if !kept.contains(&p) {
                            kept.push(p);
                        }
                    }
                    (id.clone(), kept)
                })
                .collect();
            while reserve > 0 {
                let Some(most) = lists.iter_mut().max_by_key(|(_, l)| l.len()) else {
                    break;
                };
                if most.1.pop().is_none() {
                    break;
                }
                reserve -= 1;
            }
            for (id, list) in lists {
                wanted
                    .entry(id)
                    .or_default()
                    .extend(list.into_iter().map(|p| (name.clone(), p)));
            }
        }
        // Locks of partitions a member loses go first, so that another member can take them.
        for m in g.members.values_mut() {
            let keep: BTreeSet<(String, u32)> = wanted
                .get(&m.id)
                .map(|l| l.iter().cloned().collect())
                .unwrap_or_default();
            m.locks.retain(|k, _| keep.contains(k));
        }
        for (id, list) in wanted {
            let Some((version, mut a)) = decoded.remove(&id) else {
                continue;
            };
            let Some(m) = g.members.get_mut(&id) else {
                continue;
            };
            let mut granted: BTreeSet<(String, u32)> = BTreeSet::new();
            for (t, p) in list {
                if m.locks.contains_key(&(t.clone(), p)) {
                    granted.insert((t, p));
                    continue;
                }
                let Some((topic, _)) = live.get(&t) else {
                    continue;
                };
                match group::try_own(topic, p, group_id) {
                    Ok(Some(l)) => {
                        m.locks.insert((t.clone(), p), l);
                        granted.insert((t, p));
                    }
                    Ok(None) => g.blocked.push((t, p)),
                    Err(_) => {}
                }
            }
            for tp in &mut a.assigned_partitions {
                let name = tp.topic.to_string();
                tp.partitions.retain(|&p| {
                    u32::try_from(p).is_ok_and(|p| granted.contains(&(name.clone(), p)))
                });
            }
            m.assignment = encode_assignment(version, &a).unwrap_or_default();
        }
    }

    fn heartbeat(&self, req: HeartbeatRequest, _version: i16) -> HeartbeatResponse {
        let now = self.now();
        let group_id = req.group_id.to_string();
        let member_id = req.member_id.to_string();
        let code = |e: ResponseError| HeartbeatResponse::default().with_error_code(e.code());
        if group::validate_group_name(&group_id).is_err() {
            return code(ResponseError::InvalidGroupId);
        }
        let mut groups = lock(&self.groups);
        let Some(g) = groups.get_mut(&group_id) else {
            return code(ResponseError::UnknownMemberId);
        };
        let Some(m) = g.members.get_mut(&member_id) else {
            return code(ResponseError::UnknownMemberId);
        };
        m.last_seen = now;
        if g.state == GroupState::PreparingRebalance {
            return code(ResponseError::RebalanceInProgress);
        }
        if req.generation_id != g.generation {
            return code(ResponseError::IllegalGeneration);
        }
        HeartbeatResponse::default()
    }

    fn leave(&self, req: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
        let now = self.now();
        let group_id = req.group_id.to_string();
        if group::validate_group_name(&group_id).is_err() {
            return LeaveGroupResponse::default()
                .with_error_code(ResponseError::InvalidGroupId.code());
        }
        let ids: Vec<(String, Option<StrBytes>)> = if version >= 3 {
            req.members
                .iter()
                .map(|m| (m.member_id.to_string(), m.group_instance_id.clone()))
                .collect()
        } else {
            vec![(req.member_id.to_string(), None)]
        };
        let mut groups = lock(&self.groups);
        let mut codes = Vec::new();
        let mut left = false;
        match groups.get_mut(&group_id) {
            None => codes.extend(ids.iter().map(|_| ResponseError::UnknownMemberId.code())),
            Some(g) => {
                for (id, _) in &ids {
                    match g.members.remove(id) {
                        Some(mut m) => {
                            fail_waiters(&mut m, ResponseError::UnknownMemberId.code());
                            left = true;
                            codes.push(0);
                        }
                        None if g.pending.remove(id).is_some() => codes.push(0),
                        None => codes.push(ResponseError::UnknownMemberId.code()),
                    }
                }
                if left {
                    self.member_gone(&group_id, g, now);
                }
            }
        }
        if version >= 3 {
            let members = ids
                .into_iter()
                .zip(codes)
                .map(|((id, instance), code)| {
                    MemberResponse::default()
                        .with_member_id(sb(&id))
                        .with_group_instance_id(instance)
                        .with_error_code(code)
                })
                .collect();
            LeaveGroupResponse::default().with_members(members)
        } else {
            LeaveGroupResponse::default().with_error_code(codes.first().copied().unwrap_or(0))
        }
    }

    /// After members left or expired: the others join again, or the group is empty.
    fn member_gone(&self, group_id: &str, g: &mut Group, now: u64) {
        if g.members.is_empty() && g.state != GroupState::PreparingRebalance {
            g.pending.clear();
            g.generation += 1;
            g.state = GroupState::Empty;
            g.protocol = None;
            g.protocol_type = None;
            g.leader = None;
            g.blocked.clear();
            g.foreign.clear();
            return;
        }
        if g.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(g, now);
        }
        self.maybe_complete_join(group_id, g, now);
    }

    /// Periodic work: expired sessions, rebalance and sync timeouts, initial delays that
    /// ended, and (every [`SCAN_EVERY_MS`]) changes among the CLI members of Stable groups.
    pub fn tick_now(&self) {
        let now = self.now();
        let scan = {
            let mut last = lock(&self.last_scan);
            if now >= *last + SCAN_EVERY_MS {
                *last = now;
                true
            } else {
                false
            }
        };
        let mut groups = lock(&self.groups);
        for (id, g) in groups.iter_mut() {
            g.pending.retain(|_, deadline| *deadline > now);
            let expired: Vec<String> = g
                .members
                .values()
                .filter(|m| {
                    let waiting = m.join.as_ref().is_some_and(|(_, tx)| !tx.is_closed())
                        || m.sync.as_ref().is_some_and(|(_, tx)| !tx.is_closed());
                    !waiting && now >= m.last_seen + m.session_timeout_ms
                })
                .map(|m| m.id.clone())
                .collect();
            for mid in &expired {
                if let Some(mut m) = g.members.remove(mid) {
                    fail_waiters(&mut m, ResponseError::UnknownMemberId.code());
                }
            }
            if !expired.is_empty() {
                self.member_gone(id, g, now);
            }
            match g.state {
                GroupState::PreparingRebalance => self.maybe_complete_join(id, g, now),
                GroupState::CompletingRebalance if now >= g.sync_deadline => {
                    // The leader's assignment did not come: members that did not sync go.
                    let gone: Vec<String> = g
                        .members
                        .values()
                        .filter(|m| m.sync.is_none())
                        .map(|m| m.id.clone())
                        .collect();
                    for mid in gone {
                        if let Some(mut m) = g.members.remove(&mid) {
                            fail_waiters(&mut m, ResponseError::UnknownMemberId.code());
                        }
                    }
                    self.prepare_rebalance(g, now);
                    self.maybe_complete_join(id, g, now);
                }
                GroupState::Stable if scan && self.cli_members_changed(id, g) => {
                    self.prepare_rebalance(g, now);
                }
                _ => {}
            }
        }
        groups.retain(|_, g| !(g.state == GroupState::Empty && g.is_idle()));
    }

    /// Whether a partition left out for a CLI member is free now, or the number of CLI
    /// members on one of the group's topics changed.
    fn cli_members_changed(&self, group_id: &str, g: &Group) -> bool {
        for (t, p) in &g.blocked {
            if let Some(topic) = self.open_topic(t)
                && matches!(group::owner(&topic, *p, group_id), Ok(None))
            {
                return true;
            }
        }
        let mut topics: BTreeSet<&String> = g.foreign.keys().collect();
        for m in g.members.values() {
            topics.extend(m.slots.keys());
        }
        for t in topics {
            let Some(topic) = self.open_topic(t) else {
                continue;
            };
            let Ok(slots) = group::live_member_slots(&topic, group_id) else {
                continue;
            };
            let ours = g
                .members
                .values()
                .filter(|m| m.slots.get(t).is_some_and(|s| slots.contains(&s.slot)))
                .count();
            let foreign = slots.len().saturating_sub(ours);
            if foreign != g.foreign.get(t).copied().unwrap_or(0) {
                return true;
            }
        }
        false
    }
}

/// Answers a member's waiting requests with an error (it is going away).
fn fail_waiters(m: &mut Member, code: i16) {
    if let Some((v, tx)) = m.join.take() {
        let _ = tx.send(join_error(v, code, &m.id));
    }
    if let Some((_, tx)) = m.sync.take() {
        let _ = tx.send(sync_error(code));
    }
}

/// The protocol of the generation: among those every member has, the one most members list
/// first (Kafka's vote), ties to the one listed first by the earliest member.
fn choose_protocol(g: &Group) -> String {
    let mut members: Vec<&Member> = g.members.values().collect();
    members.sort_by_key(|m| m.seq);
    let candidates: Vec<&String> = members
        .first()
        .map(|m| {
            m.protocols
                .iter()
                .map(|(n, _)| n)
                .filter(|n| {
                    members
                        .iter()
                        .all(|o| o.protocols.iter().any(|(x, _)| x == *n))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut votes: Vec<usize> = vec![0; candidates.len()];
    for m in &members {
        if let Some(i) = m
            .protocols
            .iter()
            .find_map(|(n, _)| candidates.iter().position(|c| *c == n))
        {
            votes[i] += 1;
        }
    }
    let best = (0..candidates.len()).max_by(|&a, &b| votes[a].cmp(&votes[b]).then(b.cmp(&a)));
    best.map(|i| candidates[i].clone()).unwrap_or_default()
}

impl Coordinator for GroupCoordinator {
    fn validate_commit(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        _instance_id: Option<&str>,
    ) -> Result<CommitAuthority, i16> {
        let now = self.now();
        let mut groups = lock(&self.groups);
        let Some(g) = groups.get_mut(group_id) else {
            return Err(ResponseError::UnknownMemberId.code());
        };
        let Some(m) = g.members.get_mut(member_id) else {
            return Err(ResponseError::UnknownMemberId.code());
        };
        m.last_seen = now;
        if generation != g.generation {
            return Err(ResponseError::IllegalGeneration.code());
        }
        // During PreparingRebalance the generation is still the current one: members commit
        // what they read before they join again (Kafka allows it).
        if g.state == GroupState::CompletingRebalance {
            return Err(ResponseError::RebalanceInProgress.code());
        }
        Ok(CommitAuthority::Member)
    }

    fn holds(&self, group_id: &str, member_id: &str, topic: &str, partition: u32) -> bool {
        lock(&self.groups)
            .get(group_id)
            .and_then(|g| g.members.get(member_id))
            .is_some_and(|m| m.locks.contains_key(&(topic.to_string(), partition)))
    }

    fn describe(&self, group_id: &str) -> Option<DescribedGroup> {
        let groups = lock(&self.groups);
        let g = groups.get(group_id)?;
        if g.members.is_empty() {
            return None;
        }
        let protocol = g.protocol.clone().unwrap_or_default();
        let stable = matches!(g.state, GroupState::Stable);
        let members = g
            .members
            .values()
            .map(|m| {
                DescribedGroupMember::default()
                    .with_member_id(sb(&m.id))
                    .with_client_id(sb(&m.client.client_id))
                    .with_client_host(sb(&m.client.host))
                    .with_member_metadata(if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    })
                    .with_member_assignment(if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    })
            })
            .collect();
        Some(
            DescribedGroup::default()
                .with_group_id(sb(group_id).into())
                .with_group_state(sb(g.state.name()))
                .with_protocol_type(sb(g.protocol_type.as_deref().unwrap_or("")))
                .with_protocol_data(sb(if stable { &protocol } else { "" }))
                .with_members(members),
        )
    }

    fn list(&self) -> Vec<ListedGroup> {
        lock(&self.groups)
            .iter()
            .filter(|(_, g)| !g.members.is_empty())
            .map(|(id, g)| {
                ListedGroup::default()
                    .with_group_id(sb(id).into())
                    .with_protocol_type(sb(g.protocol_type.as_deref().unwrap_or("")))
                    .with_group_state(sb(g.state.name()))
                    .with_group_type(StrBytes::from_static_str("classic"))
            })
            .collect()
    }

    fn join_group(
        &self,
        req: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
    ) -> Reply<JoinGroupResponse> {
        self.join(req, version, client)
    }

    fn sync_group(&self, req: SyncGroupRequest, version: i16) -> Reply<SyncGroupResponse> {
        self.sync(req, version)
    }

    fn heartbeat(&self, req: HeartbeatRequest, version: i16) -> HeartbeatResponse {
        GroupCoordinator::heartbeat(self, req, version)
    }

    fn leave_group(&self, req: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
        self.leave(req, version)
    }

    fn tick(&self) {
        self.tick_now();
    }

    fn close(&self) {
        GroupCoordinator::close(self);
    }
}

#[cfg(test)]
mod tests;
