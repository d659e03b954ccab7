//! Metadata and the admin APIs: topics (create, delete, partitions, configs), records
//! (delete, as `klog trim`), the cluster.
//!
//! # Invariants
//! 1. The cluster is this one broker ([`NODE_ID`], the advertised host and port): leader,
//!    only replica and only in-sync replica of every partition, and controller.
//! 2. A topic's id is the one in its partitions' `partition.metadata` (the same that a
//!    Kafka broker writes), else the one in klog's metadata, else none (all zeros): the same
//!    topic always gets the same id.
//! 3. Metadata creates a missing topic a client asks for when `--auto-create-topics` allows
//!    it and the client does (Metadata v4+ carries the client's wish), with
//!    `--default-partitions` partitions; internal topics (`__…`) are never auto-created.
//! 4. Every change goes through [`Topics`](crate::topic::Topics), as `klog topics` does: the
//!    CLI and the server see the same topics at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::broker::{Broker, error_chain};
use super::{Event, NODE_ID};
use crate::Error;
use crate::storage::{CONFIGS, LogConfig};
use crate::topic::{Topic, builtin_configs, validate_topic_name};

/// "Not asked for" in the authorized-operations fields.
const NO_OPERATIONS: i32 = i32::MIN;

fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

fn topic_name(s: impl Into<String>) -> TopicName {
    TopicName(str_bytes(s))
}

/// Kafka's base64url topic id as a UUID.
fn parse_topic_id(s: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim().trim_end_matches('='))
        .ok()?;
    Some(Uuid::from_bytes(bytes.try_into().ok()?))
}

/// The topic's id (invariant 2).
pub fn topic_id(broker: &Broker, topic: &Topic) -> Uuid {
    let path = topic.partition_dir(0).join("partition.metadata");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("topic_id:"))
            .and_then(parse_topic_id)
    {
        return id;
    }
    broker
        .topics()
        .read_meta()
        .ok()
        .and_then(|m| m.topics.get(&topic.name).and_then(|t| t.topic_id.clone()))
        .and_then(|s| parse_topic_id(&s))
        .unwrap_or(Uuid::nil())
}

fn is_internal(name: &str) -> bool {
    matches!(name, "__consumer_offsets" | "__transaction_state")
}

fn describe_topic(broker: &Broker, topic: &Topic, version: i16) -> MetadataResponseTopic {
    let partitions = (0..topic.partitions)
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p as i32)
                .with_leader_id(NODE_ID.into())
                .with_leader_epoch(if version >= 7 { 0 } else { -1 })
                .with_replica_nodes(vec![NODE_ID.into()])
                .with_isr_nodes(vec![NODE_ID.into()])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(topic.name.clone())))
        .with_topic_id(if version >= 10 {
            topic_id(broker, topic)
        } else {
            Uuid::nil()
        })
        .with_is_internal(is_internal(&topic.name))
        .with_partitions(partitions)
}

fn missing_topic(name: Option<TopicName>, id: Uuid, code: i16) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(name)
        .with_topic_id(id)
        .with_error_code(code)
}

/// A topic of a Metadata request, found or created (invariant 3).
fn metadata_topic(
    broker: &Broker,
    name: &str,
    auto_create: bool,
    version: i16,
) -> MetadataResponseTopic {
    let tn = Some(topic_name(name));
    match broker.topic(name) {
        Ok(Some(t)) => return describe_topic(broker, &t, version),
        Ok(None) => {}
        Err(e) => return missing_topic(tn, Uuid::nil(), super::error_code(&e)),
    }
    if validate_topic_name(name).is_err() {
        return missing_topic(tn, Uuid::nil(), ResponseError::InvalidTopicException.code());
    }
    if !auto_create || name.starts_with("__") {
        return missing_topic(
            tn,
            Uuid::nil(),
            ResponseError::UnknownTopicOrPartition.code(),
        );
    }
    let partitions = broker.config().default_partitions;
    match broker.topics().open_or_create(name, partitions) {
        Ok((t, created)) => {
            if created {
                broker.emit(Event::AutoCreated {
                    topic: name.to_string(),
                    partitions,
                });
            }
            describe_topic(broker, &t, version)
        }
        Err(e) => missing_topic(tn, Uuid::nil(), super::error_code(&e)),
    }
}

/// The brokers of the cluster: this one.
fn brokers(broker: &Broker) -> Vec<MetadataResponseBroker> {
    let (host, port) = broker.advertised();
    vec![
        MetadataResponseBroker::default()
            .with_node_id(NODE_ID.into())
            .with_host(str_bytes(host))
            .with_port(port as i32),
    ]
}

pub fn metadata(broker: &Arc<Broker>, req: MetadataRequest, version: i16) -> MetadataResponse {
    let auto_create =
        broker.config().auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    let topics = match req.topics {
        None => match broker.topics().list_names() {
            Ok(names) => names
                .iter()
                .filter_map(|n| broker.topic(n).ok().flatten())
                .map(|t| describe_topic(broker, &t, version))
                .collect(),
            Err(e) => {
                broker.emit(Event::StorageError {
                    what: "list topics".into(),
                    reason: error_chain(&e),
                });
                Vec::new()
            }
        },
        Some(list) => list
            .into_iter()
            .map(|t| match t.name {
                Some(name) => metadata_topic(broker, &name, auto_create, version),
                None => by_id(broker, t.topic_id).map_or_else(
                    || missing_topic(None, t.topic_id, ResponseError::UnknownTopicId.code()),
                    |topic| describe_topic(broker, &topic, version),
                ),
            })
            .collect(),
    };
    MetadataResponse::default()
        .with_brokers(brokers(broker))
        .with_cluster_id((version >= 2).then(|| str_bytes(broker.cluster_id())))
        .with_controller_id(NODE_ID.into())
        .with_topics(topics)
        .with_cluster_authorized_operations(NO_OPERATIONS)
}

/// The topic with this id, if any.
fn by_id(broker: &Broker, id: Uuid) -> Option<Topic> {
    if id.is_nil() {
        return None;
    }
    let names = broker.topics().list_names().ok()?;
    names
        .iter()
        .filter_map(|n| broker.topic(n).ok().flatten())
        .find(|t| topic_id(broker, t) == id)
}

pub fn create_topics(
    broker: &Arc<Broker>,
    req: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    // Fields of later versions stay at their defaults (the encoder refuses them otherwise).
    let created = |name: TopicName, id: Uuid, partitions: i32| {
        let r = CreatableTopicResult::default()
            .with_name(name)
            .with_error_message(None);
        let r = if version >= 5 {
            r.with_num_partitions(partitions)
                .with_replication_factor(1)
                .with_configs(None)
        } else {
            r
        };
        if version >= 7 { r.with_topic_id(id) } else { r }
    };
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.to_string();
            let fail = |code: i16, msg: String| {
                let r = CreatableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(code)
                    .with_error_message(Some(str_bytes(msg)));
                if version >= 5 {
                    r.with_configs(None)
                } else {
                    r
                }
            };
            let partitions = if t.num_partitions == -1 {
                broker.config().default_partitions as i32
            } else {
                t.num_partitions
            };
            if t.replication_factor > 1 {
                return fail(
                    ResponseError::InvalidReplicationFactor.code(),
                    format!(
                        "replication factor {} is larger than the number of brokers (1)",
                        t.replication_factor
                    ),
                );
            }
            if t.assignments
                .iter()
                .any(|a| a.broker_ids.iter().any(|b| b.0 != NODE_ID))
            {
                return fail(
                    ResponseError::InvalidReplicaAssignment.code(),
                    format!("the only broker is {NODE_ID}"),
                );
            }
            let partitions = if t.assignments.is_empty() {
                partitions
            } else {
                t.assignments.len() as i32
            };
            if partitions <= 0 {
                return fail(
                    ResponseError::InvalidPartitions.code(),
                    format!("number of partitions must be at least 1, not {partitions}"),
                );
            }
            let mut configs = BTreeMap::new();
            for c in &t.configs {
                if let Some(v) = &c.value {
                    match LogConfig::validate(&c.name, v) {
                        Ok(v) => {
                            configs.insert(c.name.to_string(), v);
                        }
                        Err(e) => return fail(ResponseError::InvalidConfig.code(), e.to_string()),
                    }
                }
            }
            if let Err(e) = validate_topic_name(&name) {
                return fail(super::error_code(&e), e.to_string());
            }
            if req.validate_only {
                return match broker.topic(&name) {
                    Ok(Some(_)) => fail(
                        ResponseError::TopicAlreadyExists.code(),
                        format!("topic '{name}' already exists"),
                    ),
                    _ => created(t.name.clone(), Uuid::nil(), partitions),
                };
            }
            match broker.topics().create(&name, partitions as u32, configs) {
                Ok(topic) => created(t.name.clone(), topic_id(broker, &topic), partitions),
                Err(e) => fail(super::error_code(&e), e.to_string()),
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(results)
}

pub fn delete_topics(
    broker: &Arc<Broker>,
    req: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let wanted: Vec<(Option<String>, Uuid)> = if version >= 6 {
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.to_string()), t.topic_id))
            .collect()
    } else {
        req.topic_names
            .iter()
            .map(|n| (Some(n.to_string()), Uuid::nil()))
            .collect()
    };
    let responses = wanted
        .into_iter()
        .map(|(name, id)| {
            let name = name.or_else(|| by_id(broker, id).map(|t| t.name));
            let result = DeletableTopicResult::default()
                .with_name(name.clone().map(topic_name))
                .with_topic_id(if version >= 6 { id } else { Uuid::nil() });
            let Some(name) = name else {
                return result.with_error_code(ResponseError::UnknownTopicId.code());
            };
            broker.drop_writers(&name);
            match broker.topics().delete(&name) {
                Ok(()) => result,
                Err(e) => result
                    .with_error_code(super::error_code(&e))
                    .with_error_message((version >= 5).then(|| str_bytes(e.to_string()))),
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

pub fn create_partitions(
    broker: &Arc<Broker>,
    req: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            let fail = |code: i16, msg: String| {
                CreatePartitionsTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(code)
                    .with_error_message(Some(str_bytes(msg)))
            };
            let topic = match broker.topic(&t.name) {
                Ok(Some(topic)) => topic,
                Ok(None) => {
                    return fail(
                        ResponseError::UnknownTopicOrPartition.code(),
                        format!("topic '{}' does not exist", t.name.as_str()),
                    );
                }
                Err(e) => return fail(super::error_code(&e), e.to_string()),
            };
            if t.count <= topic.partitions as i32 {
                return fail(
                    ResponseError::InvalidPartitions.code(),
                    format!(
                        "topic '{}' has {} partitions; partitions can only grow",
                        topic.name, topic.partitions
                    ),
                );
            }
            if t.assignments
                .iter()
                .flatten()
                .any(|a| a.broker_ids.iter().any(|b| b.0 != NODE_ID))
            {
                return fail(
                    ResponseError::InvalidReplicaAssignment.code(),
                    format!("the only broker is {NODE_ID}"),
                );
            }
            if req.validate_only {
                return result;
            }
            match broker
                .topics()
                .alter(&topic.name, Some(t.count as u32), BTreeMap::new(), &[])
            {
                Ok(_) => result,
                Err(e) => fail(super::error_code(&e), e.to_string()),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

pub fn delete_records(
    broker: &Arc<Broker>,
    req: DeleteRecordsRequest,
    _version: i16,
) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = broker.topic(&t.name).ok().flatten();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1);
                    let Some(topic) = topic.as_ref().filter(|tp| {
                        p.partition_index >= 0 && (p.partition_index as u32) < tp.partitions
                    }) else {
                        return r.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let trimmed = broker
                        .writer(topic, p.partition_index as u32)
                        .and_then(|w| {
                            let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
                            let offset = if p.offset == -1 {
                                w.log.log_end_offset()?
                            } else {
                                p.offset
                            };
                            if offset < 0 {
                                return Err(Error::Invalid(format!("offset {offset}")));
                            }
                            w.log.trim(offset)?;
                            w.dirty = true;
                            w.log.log_start_offset()
                        });
                    match trimmed {
                        Ok(low) => r.with_low_watermark(low),
                        Err(Error::Invalid(_)) => {
                            r.with_error_code(ResponseError::OffsetOutOfRange.code())
                        }
                        Err(e) => r.with_error_code(super::error_code(&e)),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}

/// Kafka's resource types and config sources used here.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;

/// Kafka's `ConfigType` of a topic config.
fn config_type(name: &str) -> i8 {
    const BOOLEAN: i8 = 1;
    const STRING: i8 = 2;
    const INT: i8 = 3;
    const LONG: i8 = 5;
    const DOUBLE: i8 = 6;
    const LIST: i8 = 7;
    match name {
        "cleanup.policy" => LIST,
        "compression.type" | "message.timestamp.type" => STRING,
        "preallocate" => BOOLEAN,
        "min.cleanable.dirty.ratio" => DOUBLE,
        "index.interval.bytes" | "max.message.bytes" | "segment.bytes" | "segment.index.bytes" => {
            INT
        }
        _ => LONG,
    }
}

fn topic_configs(
    topic: &Topic,
    keys: Option<&Vec<StrBytes>>,
    docs: bool,
    version: i16,
) -> Vec<DescribeConfigsResourceResult> {
    CONFIGS
        .iter()
        .filter(|d| keys.is_none_or(|k| k.iter().any(|k| k.as_str() == d.name)))
        .map(|d| {
            let builtin = builtin_configs(&topic.name)
                .iter()
                .find(|(k, _)| *k == d.name)
                .map(|(_, v)| *v);
            let (value, source) = match topic.configs.get(d.name) {
                Some(v) => (v.clone(), SOURCE_DYNAMIC_TOPIC),
                None => (builtin.unwrap_or(d.default).to_string(), SOURCE_DEFAULT),
            };
            let r = DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(d.name))
                .with_value(Some(str_bytes(value)))
                .with_config_source(source);
            if version >= 3 {
                r.with_config_type(config_type(d.name))
                    .with_documentation(docs.then(|| StrBytes::from_static_str(d.doc)))
            } else {
                r
            }
        })
        .collect()
}

fn broker_configs(
    broker: &Broker,
    keys: Option<&Vec<StrBytes>>,
) -> Vec<DescribeConfigsResourceResult> {
    let c = broker.config();
    let (host, port) = broker.advertised();
    // The first listener's, with its security protocol.
    let protocol = c
        .listen
        .first()
        .and_then(|l| super::listener::ListenerSpec::parse(l).ok())
        .map_or("PLAINTEXT", |l| l.protocol.name());
    let all = [
        (
            "advertised.listeners",
            format!("{protocol}://{host}:{port}"),
        ),
        (
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
        ),
        (
            "group.initial.rebalance.delay.ms",
            c.group_initial_rebalance_delay_ms.to_string(),
        ),
        ("log.dirs", c.dir.display().to_string()),
        ("num.partitions", c.default_partitions.to_string()),
        ("socket.request.max.bytes", c.max_request_bytes.to_string()),
    ];
    all.into_iter()
        .filter(|(n, _)| keys.is_none_or(|k| k.iter().any(|k| k.as_str() == *n)))
        .map(|(n, v)| {
            DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(n))
                .with_value(Some(str_bytes(v)))
                .with_read_only(true)
                .with_config_source(SOURCE_STATIC_BROKER)
        })
        .collect()
}

pub fn describe_configs(
    broker: &Arc<Broker>,
    req: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let results = req
        .resources
        .into_iter()
        .map(|r| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_message(None);
            let keys = r.configuration_keys.as_ref();
            match r.resource_type {
                RESOURCE_TOPIC => match broker.topic(&r.resource_name) {
                    Ok(Some(t)) => result.with_configs(topic_configs(
                        &t,
                        keys,
                        req.include_documentation,
                        version,
                    )),
                    Ok(None) => result
                        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        .with_error_message(Some(str_bytes(format!(
                            "topic '{}' does not exist",
                            r.resource_name.as_str()
                        )))),
                    Err(e) => result.with_error_code(super::error_code(&e)),
                },
                RESOURCE_BROKER => result.with_configs(broker_configs(broker, keys)),
                t => result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(str_bytes(format!(
                        "resource type {t} has no configs here"
                    )))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// A list config (`cleanup.policy`) with `value`'s items added or removed.
fn edit_list(current: &str, value: &str, add: bool) -> String {
    let mut items: Vec<&str> = current
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for v in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if add {
            if !items.contains(&v) {
                items.push(v);
            }
        } else {
            items.retain(|i| *i != v);
        }
    }
    items.join(",")
}

pub fn incremental_alter_configs(
    broker: &Arc<Broker>,
    req: IncrementalAlterConfigsRequest,
    _version: i16,
) -> IncrementalAlterConfigsResponse {
    const SET: i8 = 0;
    const DELETE: i8 = 1;
    const APPEND: i8 = 2;
    const SUBTRACT: i8 = 3;
    let responses = req
        .resources
        .into_iter()
        .map(|r| {
            let result = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_message(None);
            let fail = |code: i16, msg: String| {
                AlterConfigsResourceResponse::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
                    .with_error_code(code)
                    .with_error_message(Some(str_bytes(msg)))
            };
            if r.resource_type != RESOURCE_TOPIC {
                return fail(
                    ResponseError::InvalidRequest.code(),
                    "only topic configs can be changed: the broker's are klog serve's options"
                        .into(),
                );
            }
            let topic = match broker.topic(&r.resource_name) {
                Ok(Some(t)) => t,
                Ok(None) => {
                    return fail(
                        ResponseError::UnknownTopicOrPartition.code(),
                        format!("topic '{}' does not exist", r.resource_name.as_str()),
                    );
                }
                Err(e) => return fail(super::error_code(&e), e.to_string()),
            };
            let mut set = BTreeMap::new();
            let mut delete = Vec::new();
            for c in &r.configs {
                let name = c.name.to_string();
                let value = c.value.as_deref().unwrap_or("");
                let current = || {
                    topic.configs.get(&name).cloned().unwrap_or_else(|| {
                        CONFIGS
                            .iter()
                            .find(|d| d.name == name)
                            .map_or(String::new(), |d| d.default.to_string())
                    })
                };
                let new = match c.config_operation {
                    SET => value.to_string(),
                    DELETE => {
                        delete.push(name);
                        continue;
                    }
                    APPEND => edit_list(&current(), value, true),
                    SUBTRACT => edit_list(&current(), value, false),
                    op => {
                        return fail(
                            ResponseError::InvalidRequest.code(),
                            format!("unknown config operation {op}"),
                        );
                    }
                };
                match LogConfig::validate(&name, &new) {
                    Ok(v) => {
                        set.insert(name, v);
                    }
                    Err(e) => return fail(ResponseError::InvalidConfig.code(), e.to_string()),
                }
            }
            if req.validate_only {
                return result;
            }
            match broker.topics().alter(&topic.name, None, set, &delete) {
                Ok(_) => result,
                Err(e @ Error::Invalid(_)) => {
                    fail(ResponseError::InvalidConfig.code(), e.to_string())
                }
                Err(e) => fail(super::error_code(&e), e.to_string()),
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

pub fn describe_cluster(
    broker: &Arc<Broker>,
    _req: DescribeClusterRequest,
    _version: i16,
) -> DescribeClusterResponse {
    let (host, port) = broker.advertised();
    DescribeClusterResponse::default()
        .with_error_message(None)
        .with_endpoint_type(1)
        .with_cluster_id(str_bytes(broker.cluster_id()))
        .with_controller_id(NODE_ID.into())
        .with_cluster_authorized_operations(NO_OPERATIONS)
        .with_brokers(vec![
            DescribeClusterBroker::default()
                .with_broker_id(NODE_ID.into())
                .with_host(str_bytes(host))
                .with_port(port as i32),
        ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_ids_are_kafkas_base64url_uuids() {
        let id = parse_topic_id("AAAAAAAAAAAAAAAAAAAAAQ").unwrap();
        assert_eq!(id.as_u128(), 1);
        assert!(parse_topic_id("short").is_none());
        let fresh = crate::topic::new_topic_id();
        assert!(parse_topic_id(&fresh).is_some_and(|u| !u.is_nil()));
    }

    #[test]
    fn list_configs_grow_and_shrink() {
        assert_eq!(edit_list("delete", "compact", true), "delete,compact");
        assert_eq!(edit_list("delete,compact", "delete", false), "compact");
        assert_eq!(edit_list("delete", "delete", true), "delete");
    }
}
