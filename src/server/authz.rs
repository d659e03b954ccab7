//! Authorization of requests against the ACLs ([`super::acl`]), once users exist.
//!
//! Each check runs before the handler: what the principal may not do is taken out of the
//! request and answered with Kafka's error for it (TOPIC_AUTHORIZATION_FAILED,
//! GROUP_AUTHORIZATION_FAILED), what remains is handled as usual, and the two are put
//! together in the response. What Kafka checks, per API:
//!
//! | API | needs |
//! | --- | --- |
//! | Produce | Write on each topic |
//! | Fetch | Read on each topic |
//! | ListOffsets, Metadata | Describe on each topic (Metadata leaves out the topics the principal may not describe; auto-creation needs Create on the topic or the cluster) |
//! | InitProducerId | Write on some topic |
//! | FindCoordinator | Describe on the group |
//! | JoinGroup, SyncGroup, Heartbeat, LeaveGroup | Read on the group |
//! | OffsetCommit | Read on the group and on each topic |
//! | OffsetFetch | Describe on the group and on each topic |
//! | CreateTopics | Create on the topic or the cluster |
//! | DeleteTopics | Delete on each topic |
//! | DescribeConfigs | Describe on each topic (a denied topic's configs are left out of the answer, its error is TOPIC_AUTHORIZATION_FAILED), Describe on the cluster for the broker's |
//! | ListGroups | the groups the principal may describe (all of them with Describe on the cluster) |
//! | DescribeGroups | Describe on each group |
//! | DeleteGroups | Delete on each group |
//! | OffsetDelete | Delete on the group, Read on each topic |
//! | CreatePartitions | Alter on each topic |
//! | DeleteRecords | Delete on each topic |
//! | IncrementalAlterConfigs | Alter on each topic, Alter on the cluster for the broker's configs |
//! | DescribeCluster | Describe on the cluster (CLUSTER_AUTHORIZATION_FAILED) |
//! | DescribeAcls | Describe on the cluster; CreateAcls, DeleteAcls: Alter on the cluster |
//!
//! Read, Write, Delete and Alter each imply Describe, as in Kafka. An API served without a
//! check of its own (none today) would need Alter on the cluster ([`Access::admin`]), and
//! without it the connection is closed before the request is handled: never more
//! permissive than Kafka.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::delete_records_request::DeleteRecordsPartition;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_request::OffsetDeleteRequestPartition;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteGroupsRequest, DeleteRecordsRequest,
    DeleteTopicsRequest, DescribeConfigsResponse, DescribeGroupsResponse, FetchRequest,
    IncrementalAlterConfigsRequest, ListGroupsResponse, ListOffsetsRequest, MetadataRequest,
    MetadataResponse, OffsetCommitRequest, OffsetDeleteRequest, OffsetFetchRequest,
    OffsetFetchResponse, ProduceRequest,
};

use super::acl::{Acls, CLUSTER_NAME, Operation, ResourceType};

/// DescribeConfigs' resource type of a topic (the broker's is 4).
const RESOURCE_TOPIC: i8 = 2;
const TOPIC_DENIED: i16 = ResponseError::TopicAuthorizationFailed.code();
pub const GROUP_DENIED: i16 = ResponseError::GroupAuthorizationFailed.code();
pub const CLUSTER_DENIED: i16 = ResponseError::ClusterAuthorizationFailed.code();

/// A principal and the rules, for the checks of one request.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub acls: &'a Acls,
    pub principal: &'a str,
}

impl Access<'_> {
    pub fn topic(&self, name: &str, op: Operation) -> bool {
        self.acls
            .allows(self.principal, ResourceType::Topic, name, op)
    }

    pub fn group(&self, name: &str, op: Operation) -> bool {
        self.acls
            .allows(self.principal, ResourceType::Group, name, op)
    }

    pub fn cluster(&self, op: Operation) -> bool {
        self.acls
            .allows(self.principal, ResourceType::Cluster, CLUSTER_NAME, op)
    }

    /// The APIs without per-resource checks: Alter on the cluster.
    pub fn admin(&self) -> bool {
        self.cluster(Operation::Alter)
    }

    /// InitProducerId: Kafka allows it to a principal that may write to some topic.
    pub fn idempotent_write(&self) -> bool {
        self.cluster(Operation::All)
            || self
                .acls
                .allows_any(self.principal, ResourceType::Topic, Operation::Write)
    }
}

/// DescribeConfigs, answered in full first: every resource the principal may not describe
/// loses its configs and gets Kafka's authorization error (a topic's whether it exists or
/// not, so the answer says nothing of it).
pub fn describe_configs_response(a: Access<'_>, resp: &mut DescribeConfigsResponse) {
    for r in &mut resp.results {
        let (allowed, code) = match r.resource_type {
            RESOURCE_TOPIC => (
                a.topic(r.resource_name.as_str(), Operation::Describe),
                TOPIC_DENIED,
            ),
            _ => (a.cluster(Operation::Describe), CLUSTER_DENIED),
        };
        if !allowed {
            r.error_code = code;
            r.error_message = None;
            r.configs.clear();
        }
    }
}

/// Takes the items `allowed` refuses out of `items`, in order, and returns `answer` of each:
/// the shape of every per-resource check below.
fn take_denied<T, R>(
    items: &mut Vec<T>,
    allowed: impl Fn(&T) -> bool,
    answer: impl Fn(&T) -> R,
) -> Vec<R> {
    let mut denied = Vec::new();
    items.retain(|t| {
        let ok = allowed(t);
        if !ok {
            denied.push(answer(t));
        }
        ok
    });
    denied
}

/// The group-administration and topic-administration APIs, checked per resource as Kafka
/// does: ListGroups shows the groups the principal may describe, DescribeGroups answers a
/// denied group with GROUP_AUTHORIZATION_FAILED, DeleteGroups and OffsetDelete need Delete
/// on the group (OffsetDelete also Read on each topic), CreatePartitions and
/// IncrementalAlterConfigs need Alter on the topic (the broker's configs Alter on the
/// cluster), DeleteRecords Delete on the topic, DescribeCluster Describe on the cluster.
/// Each `take_*` removes what is denied from the request before it is handled and returns
/// the answers to put back into the response.
pub fn list_groups_response(a: Access<'_>, resp: &mut ListGroupsResponse) {
    if !a.cluster(Operation::Describe) {
        resp.groups
            .retain(|g| a.group(g.group_id.as_str(), Operation::Describe));
    }
}

pub fn describe_groups_response(a: Access<'_>, resp: &mut DescribeGroupsResponse) {
    for g in &mut resp.groups {
        if !a.group(g.group_id.as_str(), Operation::Describe) {
            *g = DescribedGroup::default()
                .with_group_id(g.group_id.clone())
                .with_error_code(GROUP_DENIED);
        }
    }
}

pub fn take_delete_groups(
    a: Access<'_>,
    req: &mut DeleteGroupsRequest,
) -> Vec<DeletableGroupResult> {
    take_denied(
        &mut req.groups_names,
        |g| a.group(g.as_str(), Operation::Delete),
        |g| {
            DeletableGroupResult::default()
                .with_group_id(g.clone())
                .with_error_code(GROUP_DENIED)
        },
    )
}

/// OffsetDelete: `Err(code)` when the group is denied (nothing is handled), else the
/// topics taken out for want of Read.
pub fn take_offset_delete(
    a: Access<'_>,
    req: &mut OffsetDeleteRequest,
) -> Result<Vec<OffsetDeleteResponseTopic>, i16> {
    if !a.group(req.group_id.as_str(), Operation::Delete) {
        return Err(GROUP_DENIED);
    }
    Ok(take_denied(
        &mut req.topics,
        |t| a.topic(t.name.as_str(), Operation::Read),
        |t| {
            let partition = |p: &OffsetDeleteRequestPartition| {
                OffsetDeleteResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(TOPIC_DENIED)
            };
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(t.partitions.iter().map(partition).collect())
        },
    ))
}

pub fn take_create_partitions(
    a: Access<'_>,
    req: &mut CreatePartitionsRequest,
) -> Vec<CreatePartitionsTopicResult> {
    take_denied(
        &mut req.topics,
        |t| a.topic(t.name.as_str(), Operation::Alter),
        |t| {
            CreatePartitionsTopicResult::default()
                .with_name(t.name.clone())
                .with_error_code(TOPIC_DENIED)
        },
    )
}

pub fn take_delete_records(
    a: Access<'_>,
    req: &mut DeleteRecordsRequest,
) -> Vec<DeleteRecordsTopicResult> {
    take_denied(
        &mut req.topics,
        |t| a.topic(t.name.as_str(), Operation::Delete),
        |t| {
            let partition = |p: &DeleteRecordsPartition| {
                DeleteRecordsPartitionResult::default()
                    .with_partition_index(p.partition_index)
                    .with_low_watermark(-1)
                    .with_error_code(TOPIC_DENIED)
            };
            DeleteRecordsTopicResult::default()
                .with_name(t.name.clone())
                .with_partitions(t.partitions.iter().map(partition).collect())
        },
    )
}

pub fn take_alter_configs(
    a: Access<'_>,
    req: &mut IncrementalAlterConfigsRequest,
) -> Vec<AlterConfigsResourceResponse> {
    let check = |r: &AlterConfigsResource| match r.resource_type {
        RESOURCE_TOPIC => (
            a.topic(r.resource_name.as_str(), Operation::Alter),
            TOPIC_DENIED,
        ),
        _ => (a.cluster(Operation::Alter), CLUSTER_DENIED),
    };
    take_denied(
        &mut req.resources,
        |r| check(r).0,
        |r| {
            AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_code(check(r).1)
        },
    )
}

/// Takes the topics the principal may not write out of a Produce; their answers.
pub fn produce(a: Access, r: &mut ProduceRequest) -> Vec<TopicProduceResponse> {
    take_denied(
        &mut r.topic_data,
        |t| a.topic(t.name.as_str(), Operation::Write),
        |t| {
            TopicProduceResponse::default()
                .with_name(t.name.clone())
                .with_partition_responses(
                    t.partition_data
                        .iter()
                        .map(|p| {
                            PartitionProduceResponse::default()
                                .with_index(p.index)
                                .with_error_code(TOPIC_DENIED)
                                .with_base_offset(-1)
                                .with_log_append_time_ms(-1)
                                .with_log_start_offset(-1)
                        })
                        .collect(),
                )
        },
    )
}

/// Takes the topics the principal may not read out of a Fetch; their answers.
pub fn fetch(a: Access, r: &mut FetchRequest) -> Vec<FetchableTopicResponse> {
    let denied = take_denied(
        &mut r.topics,
        |t| a.topic(t.topic.as_str(), Operation::Read),
        |t| {
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_topic_id(t.topic_id)
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            PartitionData::default()
                                .with_partition_index(p.partition)
                                .with_error_code(TOPIC_DENIED)
                                .with_high_watermark(-1)
                                .with_last_stable_offset(-1)
                                .with_log_start_offset(-1)
                        })
                        .collect(),
                )
        },
    );
    r.forgotten_topics_data
        .retain(|t| a.topic(t.topic.as_str(), Operation::Read));
    denied
}

/// Takes the topics the principal may not describe out of a ListOffsets; their answers.
pub fn list_offsets(a: Access, r: &mut ListOffsetsRequest) -> Vec<ListOffsetsTopicResponse> {
    take_denied(
        &mut r.topics,
        |t| a.topic(t.name.as_str(), Operation::Describe),
        |t| {
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            ListOffsetsPartitionResponse::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(TOPIC_DENIED)
                                .with_timestamp(-1)
                                .with_offset(-1)
                        })
                        .collect(),
                )
        },
    )
}

/// Takes out of a Metadata the topics the principal may not describe, and those it may
/// not create that do not exist (`exists`); their answers.
pub fn metadata(
    a: Access,
    r: &mut MetadataRequest,
    exists: impl Fn(&str) -> bool,
) -> Vec<MetadataResponseTopic> {
    let mut denied = Vec::new();
    let Some(topics) = &mut r.topics else {
        return denied;
    };
    topics.retain(|t| {
        let Some(name) = &t.name else { return true };
        let code = if !a.topic(name.as_str(), Operation::Describe) {
            TOPIC_DENIED
        } else if !exists(name.as_str())
            && !a.topic(name.as_str(), Operation::Create)
            && !a.cluster(Operation::Create)
        {
            ResponseError::UnknownTopicOrPartition.code()
        } else {
            return true;
        };
        denied.push(
            MetadataResponseTopic::default()
                .with_name(Some(name.clone()))
                .with_error_code(code),
        );
        false
    });
    denied
}

/// A Metadata response: the topics the principal may not describe left out, the answers
/// of those taken out of the request added.
pub fn metadata_response(
    a: Access,
    resp: &mut MetadataResponse,
    denied: Vec<MetadataResponseTopic>,
) {
    resp.topics.retain(|t| {
        t.name
            .as_ref()
            .is_some_and(|n| a.topic(n.as_str(), Operation::Describe))
    });
    resp.topics.extend(denied);
}

/// Takes the topics the principal may not read out of an OffsetCommit; their answers.
pub fn offset_commit(a: Access, r: &mut OffsetCommitRequest) -> Vec<OffsetCommitResponseTopic> {
    let mut denied = Vec::new();
    let group_ok = a.group(r.group_id.as_str(), Operation::Read);
    r.topics.retain(|t| {
        let code = if !group_ok {
            GROUP_DENIED
        } else if !a.topic(t.name.as_str(), Operation::Read) {
            TOPIC_DENIED
        } else {
            return true;
        };
        denied.push(
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                ),
        );
        false
    });
    denied
}

/// An OffsetFetch: `Err` with the answer when the group may not be described; else the
/// topics the principal may not describe taken out, with their answers.
pub fn offset_fetch(
    a: Access,
    r: &mut OffsetFetchRequest,
    version: i16,
) -> Result<Vec<OffsetFetchResponseTopic>, OffsetFetchResponse> {
    if !a.group(r.group_id.as_str(), Operation::Describe) {
        let resp = OffsetFetchResponse::default();
        return Err(if version >= 2 {
            resp.with_error_code(GROUP_DENIED)
        } else {
            // v0-1 have no top-level error: every partition asked for gets it.
            resp.with_topics(
                r.topics
                    .iter()
                    .flatten()
                    .map(|t| {
                        OffsetFetchResponseTopic::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partition_indexes
                                    .iter()
                                    .map(|&p| {
                                        OffsetFetchResponsePartition::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(-1)
                                            .with_error_code(GROUP_DENIED)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            )
        });
    }
    let mut denied = Vec::new();
    if let Some(topics) = &mut r.topics {
        topics.retain(|t| {
            if a.topic(t.name.as_str(), Operation::Describe) {
                return true;
            }
            denied.push(
                OffsetFetchResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partition_indexes
                            .iter()
                            .map(|&p| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(-1)
                                    .with_error_code(TOPIC_DENIED)
                            })
                            .collect(),
                    ),
            );
            false
        });
    }
    Ok(denied)
}

/// An OffsetFetch response: topics the principal may not describe left out (a fetch of
/// all the group's offsets), the answers of those taken out of the request added.
pub fn offset_fetch_response(
    a: Access,
    resp: &mut OffsetFetchResponse,
    denied: Vec<OffsetFetchResponseTopic>,
) {
    resp.topics
        .retain(|t| a.topic(t.name.as_str(), Operation::Describe));
    resp.topics.extend(denied);
}

/// Takes the topics the principal may not create out of a CreateTopics; their answers.
pub fn create_topics(a: Access, r: &mut CreateTopicsRequest) -> Vec<CreatableTopicResult> {
    let cluster = a.cluster(Operation::Create);
    take_denied(
        &mut r.topics,
        |t| cluster || a.topic(t.name.as_str(), Operation::Create),
        |t| {
            CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_error_code(TOPIC_DENIED)
                .with_num_partitions(-1)
                .with_replication_factor(-1)
        },
    )
}

/// Takes the topics the principal may not delete out of a DeleteTopics; their answers.
/// Topics named by id only are refused (klog names topics by name).
pub fn delete_topics(a: Access, r: &mut DeleteTopicsRequest) -> Vec<DeletableTopicResult> {
    let mut denied = Vec::new();
    r.topic_names.retain(|n| {
        if a.topic(n.as_str(), Operation::Delete) {
            return true;
        }
        denied.push(
            DeletableTopicResult::default()
                .with_name(Some(n.clone()))
                .with_error_code(TOPIC_DENIED),
        );
        false
    });
    r.topics.retain(|t| {
        if t.name
            .as_ref()
            .is_some_and(|n| a.topic(n.as_str(), Operation::Delete))
        {
            return true;
        }
        denied.push(
            DeletableTopicResult::default()
                .with_name(t.name.clone())
                .with_topic_id(t.topic_id)
                .with_error_code(TOPIC_DENIED),
        );
        false
    });
    denied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::acl::{PatternType, Rule};
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::protocol::StrBytes;

    fn acls() -> Acls {
        Acls {
            rules: vec![
                Rule {
                    principal: "User:alice".into(),
                    resource: ResourceType::Topic,
                    pattern: PatternType::Prefixed,
                    name: "logs.".into(),
                    operation: Operation::Read,
                },
                Rule {
                    principal: "User:alice".into(),
                    resource: ResourceType::Group,
                    pattern: PatternType::Literal,
                    name: "g".into(),
                    operation: Operation::Read,
                },
            ],
        }
    }

    fn name(s: &str) -> TopicName {
        TopicName(StrBytes::from_string(s.into()))
    }

    #[test]
    fn describe_configs_answers_only_what_the_principal_may_describe() {
        use kafka_protocol::messages::describe_configs_response::{
            DescribeConfigsResourceResult, DescribeConfigsResult,
        };
        let acls = acls();
        let a = Access {
            acls: &acls,
            principal: "User:alice",
        };
        let result = |kind: i8, n: &str| {
            DescribeConfigsResult::default()
                .with_resource_type(kind)
                .with_resource_name(StrBytes::from_string(n.into()))
                .with_configs(vec![DescribeConfigsResourceResult::default()])
        };
        let mut resp = DescribeConfigsResponse::default().with_results(vec![
            result(RESOURCE_TOPIC, "logs.app"),
            result(RESOURCE_TOPIC, "orders"),
            result(4, "0"),
        ]);
        describe_configs_response(a, &mut resp);
        let got: Vec<(i16, usize)> = resp
            .results
            .iter()
            .map(|r| (r.error_code, r.configs.len()))
            .collect();
        // Read on the prefix allows Describe of logs.app; orders and the broker are denied.
        assert_eq!(got, [(0, 1), (TOPIC_DENIED, 0), (CLUSTER_DENIED, 0)]);
    }

    #[test]
    fn group_and_topic_administration_is_checked_per_resource() {
        use kafka_protocol::messages::GroupId;
        use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
        let acls = Acls {
            rules: vec![Rule {
                principal: "User:alice".into(),
                resource: ResourceType::Group,
                pattern: PatternType::Literal,
                name: "mine".into(),
                operation: Operation::Delete,
            }],
        };
        let a = Access {
            acls: &acls,
            principal: "User:alice",
        };
        let group = |g: &str| GroupId(StrBytes::from_string(g.into()));
        let mut req =
            DeleteGroupsRequest::default().with_groups_names(vec![group("mine"), group("theirs")]);
        let denied = take_delete_groups(a, &mut req);
        assert_eq!(req.groups_names, [group("mine")]);
        assert_eq!(denied.len(), 1);
        assert_eq!(
            (denied[0].group_id.as_str(), denied[0].error_code),
            ("theirs", GROUP_DENIED)
        );

        let mut resp = DescribeGroupsResponse::default().with_groups(vec![
            DescribedGroup::default().with_group_id(group("mine")),
            DescribedGroup::default()
                .with_group_id(group("theirs"))
                .with_group_state(StrBytes::from_static_str("Stable")),
        ]);
        describe_groups_response(a, &mut resp);
        let got: Vec<(&str, i16, &str)> = resp
            .groups
            .iter()
            .map(|g| (g.group_id.as_str(), g.error_code, g.group_state.as_str()))
            .collect();
        // Delete on "mine" implies Describe; "theirs" says nothing of its state.
        assert_eq!(got, [("mine", 0, ""), ("theirs", GROUP_DENIED, "")]);

        let mut req = CreatePartitionsRequest::default().with_topics(vec![
            CreatePartitionsTopic::default().with_name(name("orders")),
        ]);
        let denied = take_create_partitions(a, &mut req);
        assert!(req.topics.is_empty());
        assert_eq!(denied[0].error_code, TOPIC_DENIED);
        assert_eq!(
            take_offset_delete(a, &mut OffsetDeleteRequest::default()),
            Err(GROUP_DENIED)
        );
    }

    #[test]
    fn produce_without_write_is_answered_topic_authorization_failed() {
        let acls = acls();
        let a = Access {
            acls: &acls,
            principal: "User:alice",
        };
        let mut r = ProduceRequest::default().with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name("logs.app"))
                .with_partition_data(vec![PartitionProduceData::default().with_index(3)]),
        ]);
        let denied = produce(a, &mut r);
        assert!(r.topic_data.is_empty());
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].partition_responses[0].index, 3);
        assert_eq!(denied[0].partition_responses[0].error_code, 29);
    }

    #[test]
    fn metadata_hides_what_may_not_be_described_and_creates_nothing_unallowed() {
        let acls = acls();
        let a = Access {
            acls: &acls,
            principal: "User:alice",
        };
        let topic = |n: &str| MetadataRequestTopic::default().with_name(Some(name(n)));
        let mut r = MetadataRequest::default().with_topics(Some(vec![
            topic("logs.app"),
            topic("orders"),
            topic("logs.new"),
        ]));
        let denied = metadata(a, &mut r, |n| n == "logs.app");
        let kept: Vec<_> = r
            .topics
            .unwrap()
            .iter()
            .map(|t| t.name.clone().unwrap())
            .collect();
        assert_eq!(kept, vec![name("logs.app")]);
        let codes: Vec<_> = denied
            .iter()
            .map(|t| (t.name.clone().unwrap(), t.error_code))
            .collect();
        assert_eq!(codes, vec![(name("orders"), 29), (name("logs.new"), 3)]);
        let mut resp = MetadataResponse::default().with_topics(vec![
            MetadataResponseTopic::default().with_name(Some(name("logs.app"))),
            MetadataResponseTopic::default().with_name(Some(name("orders"))),
        ]);
        metadata_response(a, &mut resp, vec![]);
        assert_eq!(resp.topics.len(), 1);
        assert_eq!(resp.topics[0].name, Some(name("logs.app")));
    }

    #[test]
    fn offset_fetch_of_a_group_not_allowed_is_refused_whole() {
        let acls = acls();
        let a = Access {
            acls: &acls,
            principal: "User:alice",
        };
        let mut r = OffsetFetchRequest::default().with_group_id(kafka_protocol::messages::GroupId(
            StrBytes::from_static_str("other"),
        ));
        let resp = offset_fetch(a, &mut r, 3).unwrap_err();
        assert_eq!(resp.error_code, GROUP_DENIED);
        let mut r = OffsetFetchRequest::default().with_group_id(kafka_protocol::messages::GroupId(
            StrBytes::from_static_str("g"),
        ));
        assert!(offset_fetch(a, &mut r, 3).unwrap().is_empty());
        assert!(!a.idempotent_write());
        assert!(!a.admin());
    }
}
