//! Consumer groups: FindCoordinator (this broker), offset commits and fetches, the admin
//! APIs over groups, and the [`Coordinator`] hook behind which the membership protocol
//! (JoinGroup, SyncGroup, Heartbeat, LeaveGroup: [`super::coordinator`]) runs.
//!
//! Offsets live in the files `klog consume -g` uses (see [`crate::group`]), so a Kafka
//! client's commits and `klog consume -g`'s are one set, and `klog groups` shows both.
//!
//! # Invariants
//! 1. A simple commit (generation -1, no member id: a client that assigns itself partitions)
//!    is written only while the server holds the partition's group lock for it; a partition
//!    a live `klog consume -g` member owns refuses it with UNKNOWN_MEMBER_ID, as Kafka
//!    refuses a simple commit to a group with members. The commit's `metadata` is stored and
//!    returned by OffsetFetch.
//! 2. A commit that names a member or generation goes to the [`Coordinator`]; without one,
//!    no such member exists (UNKNOWN_MEMBER_ID). A member's commit is written as it is for
//!    the partitions the coordinator holds the lock of for that member, and as a simple
//!    commit (invariant 1) for any other. (A SyncGroup may move the lock to another owner
//!    between the check and the write; the new owner then starts at an offset at or before
//!    the one written: records are read again, never skipped.)
//! 3. Group ids klog cannot store (see [`crate::group::validate_group_name`]) get
//!    INVALID_GROUP_ID before anything is read or written.

use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListGroupsRequest,
    ListGroupsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest,
    OffsetDeleteResponse, OffsetFetchRequest, OffsetFetchResponse, SyncGroupRequest,
    SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::broker::Broker;
use super::coordinator::ClientInfo;
use super::{Event, NODE_ID};
use crate::group;
use crate::topic::Topic;

/// How a commit that names a group member is to be written, as the coordinator decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitAuthority {
    /// As a simple commit: take the partition's group lock for the write.
    Simple,
    /// The coordinator holds the partitions' locks for its members: write as it is.
    Member,
}

/// An answer now, or one to wait for (a JoinGroup or SyncGroup held until the rebalance
/// completes). A waiting answer's sender is dropped only if the server stops first.
pub enum Reply<T> {
    Ready(T),
    Wait(tokio::sync::oneshot::Receiver<T>),
}

/// The consumer-group coordinator: the membership APIs, and what the offset APIs ask it.
pub trait Coordinator: Send + Sync {
    /// JoinGroup: answered when the group's rebalance completes (or at once on an error).
    fn join_group(
        &self,
        req: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
    ) -> Reply<JoinGroupResponse>;

    /// SyncGroup: a member's assignment, once the leader has sent it.
    fn sync_group(&self, req: SyncGroupRequest, version: i16) -> Reply<SyncGroupResponse>;

    fn heartbeat(&self, req: HeartbeatRequest, version: i16) -> HeartbeatResponse;

    fn leave_group(&self, req: LeaveGroupRequest, version: i16) -> LeaveGroupResponse;

    /// Periodic work (timeouts), called every few hundred milliseconds.
    fn tick(&self);

    /// The server stops: members are dropped and their locks released.
    fn close(&self);

    /// Whether the coordinator holds `topic`'s `partition` lock of `group` for `member_id`.
    fn holds(&self, group: &str, member_id: &str, topic: &str, partition: u32) -> bool;

    /// Whether a commit from `member_id` in `generation` may go in, and how; the Kafka
    /// error code otherwise (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS).
    fn validate_commit(
        &self,
        group: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<CommitAuthority, i16>;

    /// The state and members of a group the coordinator has, for DescribeGroups.
    fn describe(&self, group: &str) -> Option<DescribedGroup>;

    /// The groups the coordinator has (with their state), for ListGroups.
    fn list(&self) -> Vec<ListedGroup>;
}

/// No coordinator: no group has Kafka members.
pub struct NoCoordinator;

impl Coordinator for NoCoordinator {
    fn join_group(
        &self,
        req: JoinGroupRequest,
        version: i16,
        _client: ClientInfo,
    ) -> Reply<JoinGroupResponse> {
        let r = JoinGroupResponse::default()
            .with_error_code(ResponseError::CoordinatorNotAvailable.code())
            .with_member_id(req.member_id);
        Reply::Ready(if version >= 7 {
            r.with_protocol_name(None)
        } else {
            r
        })
    }
    fn sync_group(&self, _req: SyncGroupRequest, _version: i16) -> Reply<SyncGroupResponse> {
        Reply::Ready(
            SyncGroupResponse::default()
                .with_error_code(ResponseError::CoordinatorNotAvailable.code()),
        )
    }
    fn heartbeat(&self, _req: HeartbeatRequest, _version: i16) -> HeartbeatResponse {
        HeartbeatResponse::default().with_error_code(ResponseError::CoordinatorNotAvailable.code())
    }
    fn leave_group(&self, _req: LeaveGroupRequest, _version: i16) -> LeaveGroupResponse {
        LeaveGroupResponse::default().with_error_code(ResponseError::CoordinatorNotAvailable.code())
    }
    fn tick(&self) {}
    fn close(&self) {}
    fn holds(&self, _group: &str, _member_id: &str, _topic: &str, _partition: u32) -> bool {
        false
    }
    fn validate_commit(
        &self,
        _group: &str,
        _generation: i32,
        _member_id: &str,
        _instance_id: Option<&str>,
    ) -> Result<CommitAuthority, i16> {
        Err(ResponseError::UnknownMemberId.code())
    }
    fn describe(&self, _group: &str) -> Option<DescribedGroup> {
        None
    }
    fn list(&self) -> Vec<ListedGroup> {
        Vec::new()
    }
}

/// Kafka's coordinator key types.
const KEY_GROUP: i8 = 0;

pub fn find_coordinator(
    broker: &Arc<Broker>,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let (host, port) = broker.advertised();
    let resp = FindCoordinatorResponse::default();
    let resp = if version >= 1 {
        resp.with_error_message(None)
    } else {
        resp
    };
    if req.key_type != KEY_GROUP {
        let resp = resp
            .with_error_code(ResponseError::CoordinatorNotAvailable.code())
            .with_node_id((-1).into())
            .with_port(-1);
        return if version >= 1 {
            resp.with_error_message(Some(StrBytes::from_static_str(
                "klog serve has no transaction coordinator",
            )))
        } else {
            resp
        };
    }
    resp.with_node_id(NODE_ID.into())
        .with_host(StrBytes::from_string(host.to_string()))
        .with_port(port as i32)
}

/// Writes one commit (invariants 1 and 2); the Kafka error code.
#[allow(clippy::too_many_arguments)]
fn commit_one(
    broker: &Broker,
    topic: &Topic,
    partition: u32,
    group_id: &str,
    member_id: &str,
    offset: i64,
    metadata: Option<&str>,
    authority: CommitAuthority,
) -> i16 {
    let _one_at_a_time = broker.commit_lock();
    let held = authority == CommitAuthority::Member
        && broker
            .coordinator()
            .holds(group_id, member_id, &topic.name, partition);
    let _lock = match held {
        true => None,
        false => match group::try_own(topic, partition, group_id) {
            Ok(Some(l)) => Some(l),
            Ok(None) => return ResponseError::UnknownMemberId.code(),
            Err(e) => return super::error_code(&e),
        },
    };
    match group::commit_with_metadata(topic, partition, group_id, offset, metadata) {
        Ok(()) => 0,
        Err(e) => {
            broker.emit(Event::StorageError {
                what: format!("commit of group '{group_id}' on {}-{partition}", topic.name),
                reason: super::broker::error_chain(&e),
            });
            super::error_code(&e)
        }
    }
}

pub fn offset_commit(
    broker: &Arc<Broker>,
    req: OffsetCommitRequest,
    _version: i16,
) -> OffsetCommitResponse {
    let group_id = req.group_id.to_string();
    let whole = if group::validate_group_name(&group_id).is_err() {
        Err(ResponseError::InvalidGroupId.code())
    } else if req.generation_id_or_member_epoch < 0 && req.member_id.is_empty() {
        Ok(CommitAuthority::Simple)
    } else {
        broker.coordinator().validate_commit(
            &group_id,
            req.generation_id_or_member_epoch,
            &req.member_id,
            req.group_instance_id.as_deref(),
        )
    };
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = broker.topic(&t.name).ok().flatten();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = match (&whole, &topic) {
                        (Err(code), _) => *code,
                        (Ok(_), None) => ResponseError::UnknownTopicOrPartition.code(),
                        (Ok(_), Some(tp))
                            if p.partition_index < 0
                                || p.partition_index as u32 >= tp.partitions =>
                        {
                            ResponseError::UnknownTopicOrPartition.code()
                        }
                        (Ok(authority), Some(tp)) => commit_one(
                            broker,
                            tp,
                            p.partition_index as u32,
                            &group_id,
                            &req.member_id,
                            p.committed_offset,
                            p.committed_metadata.as_deref(),
                            *authority,
                        ),
                    };
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

fn fetched(index: i32, c: Option<group::Committed>, code: i16) -> OffsetFetchResponsePartition {
    let (offset, metadata) = match c {
        Some(c) => (c.offset, c.metadata.unwrap_or_default()),
        None => (-1, String::new()),
    };
    OffsetFetchResponsePartition::default()
        .with_partition_index(index)
        .with_committed_offset(offset)
        .with_committed_leader_epoch(-1)
        .with_metadata(Some(StrBytes::from_string(metadata)))
        .with_error_code(code)
}

pub fn offset_fetch(
    broker: &Arc<Broker>,
    req: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    let group_id = req.group_id.to_string();
    // v1 has no top-level error: an error goes to every partition asked for.
    let whole_error = |code: i16, req: OffsetFetchRequest| {
        if version >= 2 {
            return OffsetFetchResponse::default().with_error_code(code);
        }
        let topics = req
            .topics
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partition_indexes
                    .iter()
                    .map(|&p| fetched(p, None, code))
                    .collect();
                OffsetFetchResponseTopic::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect();
        OffsetFetchResponse::default().with_topics(topics)
    };
    if group::validate_group_name(&group_id).is_err() {
        return whole_error(ResponseError::InvalidGroupId.code(), req);
    }
    let all_topics = req.topics.is_none();
    let wanted: Vec<(String, Option<Vec<i32>>)> = match req.topics {
        Some(list) => list
            .into_iter()
            .map(|t| (t.name.to_string(), Some(t.partition_indexes)))
            .collect(),
        None => match group::topics_with_files(broker.topics(), &group_id) {
            Ok(names) => names.into_iter().map(|n| (n, None)).collect(),
            Err(e) => {
                let code = super::error_code(&e);
                return whole_error(code, OffsetFetchRequest::default());
            }
        },
    };
    let mut topics = Vec::new();
    for (name, parts) in wanted {
        let topic = broker.topic(&name).ok().flatten();
        let partitions: Vec<OffsetFetchResponsePartition> = match (&topic, parts) {
            (None, Some(parts)) => parts.iter().map(|&p| fetched(p, None, 0)).collect(),
            (None, None) => continue,
            (Some(t), Some(parts)) => parts
                .iter()
                .map(|&p| {
                    if p < 0 || p as u32 >= t.partitions {
                        return fetched(p, None, ResponseError::UnknownTopicOrPartition.code());
                    }
                    match group::committed(t, p as u32, &group_id) {
                        Ok(c) => fetched(p, c, 0),
                        Err(e) => fetched(p, None, super::error_code(&e)),
                    }
                })
                .collect(),
            (Some(t), None) => (0..t.partitions)
                .filter_map(|p| match group::committed(t, p, &group_id) {
                    Ok(Some(c)) => Some(fetched(p as i32, Some(c), 0)),
                    Ok(None) => None,
                    Err(e) => Some(fetched(p as i32, None, super::error_code(&e))),
                })
                .collect(),
        };
        if partitions.is_empty() && all_topics {
            continue;
        }
        topics.push(
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(StrBytes::from_string(name)))
                .with_partitions(partitions),
        );
    }
    OffsetFetchResponse::default().with_topics(topics)
}

/// Whether a `klog consume -g` member of `group` is live on any of `topics`.
fn has_live_member(broker: &Broker, group_id: &str, topics: &[String]) -> bool {
    topics.iter().any(|n| {
        broker.topic(n).ok().flatten().is_some_and(|t| {
            group::live_members(&t, group_id).is_ok_and(|m| m > 0)
                || (0..t.partitions)
                    .any(|p| group::owner(&t, p, group_id).is_ok_and(|o| o.is_some()))
        })
    })
}

/// A group's state as Kafka names it: members of `klog consume -g` count as members.
fn state_of(broker: &Broker, group_id: &str, topics: &[String]) -> &'static str {
    if has_live_member(broker, group_id, topics) {
        "Stable"
    } else {
        "Empty"
    }
}

pub fn list_groups(
    broker: &Arc<Broker>,
    req: ListGroupsRequest,
    version: i16,
) -> ListGroupsResponse {
    let groups = match group::list_groups(broker.topics()) {
        Ok(g) => g,
        Err(e) => return ListGroupsResponse::default().with_error_code(super::error_code(&e)),
    };
    let mut listed: Vec<ListedGroup> = broker.coordinator().list();
    for (g, topics) in groups {
        if listed.iter().any(|l| l.group_id.as_str() == g) {
            continue;
        }
        let state = state_of(broker, &g, &topics);
        listed.push(
            ListedGroup::default()
                .with_group_id(StrBytes::from_string(g).into())
                .with_protocol_type(StrBytes::from_static_str("consumer"))
                .with_group_state(StrBytes::from_static_str(state))
                .with_group_type(StrBytes::from_static_str("classic")),
        );
    }
    listed.retain(|l| {
        (req.states_filter.is_empty()
            || req
                .states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&l.group_state)))
            && (req.types_filter.is_empty()
                || req
                    .types_filter
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&l.group_type)))
    });
    // Fields of later versions stay at their defaults (the encoder refuses them otherwise).
    for l in &mut listed {
        if version < 4 {
            l.group_state = StrBytes::default();
        }
        if version < 5 {
            l.group_type = StrBytes::default();
        }
    }
    ListGroupsResponse::default().with_groups(listed)
}

pub fn describe_groups(
    broker: &Arc<Broker>,
    req: DescribeGroupsRequest,
    _version: i16,
) -> DescribeGroupsResponse {
    let groups = req
        .groups
        .into_iter()
        .map(|g| {
            let id = g.to_string();
            let base = DescribedGroup::default()
                .with_group_id(g.clone())
                .with_error_message(None)
                .with_authorized_operations(i32::MIN);
            if group::validate_group_name(&id).is_err() {
                return base.with_error_code(ResponseError::InvalidGroupId.code());
            }
            if let Some(d) = broker.coordinator().describe(&id) {
                return d;
            }
            match group::topics_with_files(broker.topics(), &id) {
                Ok(topics) if topics.is_empty() => {
                    base.with_group_state(StrBytes::from_static_str("Dead"))
                }
                Ok(topics) => base
                    .with_group_state(StrBytes::from_static_str(state_of(broker, &id, &topics)))
                    .with_protocol_type(StrBytes::from_static_str("consumer")),
                Err(e) => base.with_error_code(super::error_code(&e)),
            }
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

pub fn delete_groups(
    broker: &Arc<Broker>,
    req: DeleteGroupsRequest,
    _version: i16,
) -> DeleteGroupsResponse {
    let results = req
        .groups_names
        .into_iter()
        .map(|g| {
            let id = g.to_string();
            let r = DeletableGroupResult::default().with_group_id(g);
            if group::validate_group_name(&id).is_err() {
                return r.with_error_code(ResponseError::InvalidGroupId.code());
            }
            if broker
                .coordinator()
                .describe(&id)
                .is_some_and(|d| !d.members.is_empty())
            {
                return r.with_error_code(ResponseError::NonEmptyGroup.code());
            }
            let names = match group::topics_with_files(broker.topics(), &id) {
                Ok(n) if n.is_empty() => {
                    return r.with_error_code(ResponseError::GroupIdNotFound.code());
                }
                Ok(n) => n,
                Err(e) => return r.with_error_code(super::error_code(&e)),
            };
            let topics: Vec<Topic> = names
                .iter()
                .filter_map(|n| broker.topic(n).ok().flatten())
                .collect();
            let _one_at_a_time = broker.commit_lock();
            match group::delete(&topics, &id) {
                Ok(()) => r,
                Err(e) => r.with_error_code(super::error_code(&e)),
            }
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

pub fn offset_delete(
    broker: &Arc<Broker>,
    req: OffsetDeleteRequest,
    _version: i16,
) -> OffsetDeleteResponse {
    let id = req.group_id.to_string();
    if group::validate_group_name(&id).is_err() {
        return OffsetDeleteResponse::default()
            .with_error_code(ResponseError::InvalidGroupId.code());
    }
    match group::topics_with_files(broker.topics(), &id) {
        Ok(n) if n.is_empty() => {
            return OffsetDeleteResponse::default()
                .with_error_code(ResponseError::GroupIdNotFound.code());
        }
        Ok(_) => {}
        Err(e) => return OffsetDeleteResponse::default().with_error_code(super::error_code(&e)),
    }
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = broker.topic(&t.name).ok().flatten();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let i = p.partition_index;
                    let code = match &topic {
                        Some(tp) if i >= 0 && (i as u32) < tp.partitions => {
                            let _one_at_a_time = broker.commit_lock();
                            match group::try_own(tp, i as u32, &id) {
                                Ok(Some(_lock)) => match group::forget(tp, i as u32, &id) {
                                    Ok(()) => 0,
                                    Err(e) => super::error_code(&e),
                                },
                                Ok(None) => ResponseError::GroupSubscribedToTopic.code(),
                                Err(e) => super::error_code(&e),
                            }
                        }
                        _ => ResponseError::UnknownTopicOrPartition.code(),
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(i)
                        .with_error_code(code)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
