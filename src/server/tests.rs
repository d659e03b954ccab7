//! Handlers driven directly, every API at every version advertised: each response must
//! encode (the encoder refuses a field the version lacks), and what they do must show in
//! the data directory as the CLI sees it.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::wire::{self, SUPPORTED};
use super::*;
use crate::format::BatchBuilder;

struct Fixture {
    _tmp: tempfile::TempDir,
    broker: Arc<Broker>,
    events: Arc<Mutex<Vec<Event>>>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let broker = Broker::open(
        Config::new(tmp.path()),
        ("127.0.0.1".into(), 9092),
        Arc::new(move |e| sink.lock().unwrap().push(e)),
    )
    .unwrap();
    let f = Fixture {
        _tmp: tmp,
        broker: Arc::new(broker),
        events,
    };
    f.broker
        .topics()
        .create("t", 2, Default::default())
        .unwrap();
    f
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

fn batch(values: &[&[u8]]) -> Bytes {
    let mut b = BatchBuilder::new();
    for v in values {
        b.append(1_700_000_000_000, Some(b"k"), Some(v), &[]);
    }
    Bytes::from(b.finish())
}

/// A batch of an idempotent producer.
fn idempotent_batch(values: &[&[u8]], pid: i64, epoch: i16, seq: i32) -> Bytes {
    let mut bytes = batch(values).to_vec();
    let mut h = crate::format::BatchHeader::parse(&bytes).unwrap();
    h.producer_id = pid;
    h.producer_epoch = epoch;
    h.base_sequence = seq;
    let mut head = [0u8; crate::format::batch::RECORD_BATCH_OVERHEAD];
    h.write(&mut head);
    bytes[..head.len()].copy_from_slice(&head);
    let crc = crate::format::batch::compute_crc(&bytes);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(bytes)
}

fn produce_req(topic: &str, partition: i32, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(records)),
                ]),
        ])
}

fn produce_one(f: &Fixture, version: i16, req: ProduceRequest) -> (i16, i64) {
    let r = produce::produce(&f.broker, req, version);
    encode(ApiKey::Produce, version, ResponseKind::Produce(r.clone()));
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn encode(api: ApiKey, version: i16, r: ResponseKind) {
    if let Err(e) = wire::encode_response(1, api, version, &r) {
        panic!("{api:?} v{version} does not encode: {e}\n{r:?}");
    }
}

fn versions(api: ApiKey) -> std::ops::RangeInclusive<i16> {
    let (_, min, max) = SUPPORTED
        .iter()
        .copied()
        .find(|(k, _, _)| *k == api)
        .unwrap();
    min..=max
}

fn fetch_req(topic: &str, partition: i32, offset: i64, max_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(name(topic))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(partition)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(max_bytes),
                ]),
        ])
}

fn fetch(f: &Fixture, version: i16, req: FetchRequest) -> FetchResponse {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut r, files, _) = rt
        .block_on(fetch::fetch(&f.broker, Box::default(), req, version))
        .unwrap();
    super::fetch_frame::inline_records(&mut r, files).unwrap();
    encode(ApiKey::Fetch, version, ResponseKind::Fetch(r.clone()));
    r
}

#[test]
fn produce_appends_and_every_version_encodes() {
    let f = fixture();
    let mut next = 0;
    for v in versions(ApiKey::Produce) {
        let (code, base) = produce_one(&f, v, produce_req("t", 0, batch(&[b"a", b"b"])));
        assert_eq!((code, base), (0, next), "v{v}");
        next += 2;
    }
    // Errors of every kind encode at every version too.
    for v in versions(ApiKey::Produce) {
        let (code, _) = produce_one(&f, v, produce_req("nope", 0, batch(&[b"a"])));
        assert_eq!(
            code,
            kafka_protocol::ResponseError::UnknownTopicOrPartition.code()
        );
        let (code, _) = produce_one(&f, v, produce_req("t", 7, batch(&[b"a"])));
        assert_eq!(
            code,
            kafka_protocol::ResponseError::UnknownTopicOrPartition.code()
        );
        let mut bad = batch(&[b"a"]).to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let (code, _) = produce_one(&f, v, produce_req("t", 0, Bytes::from(bad)));
        assert_eq!(code, kafka_protocol::ResponseError::CorruptMessage.code());
    }
    let topic = f.broker.topics().open("t").unwrap();
    let mut r = topic.open_reader(0).unwrap().unwrap();
    assert_eq!(
        r.log_end_offset().unwrap(),
        next,
        "nothing written by a refused batch"
    );
}

#[test]
fn produce_refuses_what_kafka_refuses_and_writes_nothing() {
    let f = fixture();
    let two = [batch(&[b"a"]), batch(&[b"b"])].concat();
    let huge = batch(&[&vec![b'x'; 1_100_000]]);
    let mut txn = idempotent_batch(&[b"a"], 1, 0, 0).to_vec();
    txn[22] |= 0x10; // transactional bit (attributes low byte)
    let crc = crate::format::batch::compute_crc(&txn);
    txn[17..21].copy_from_slice(&crc.to_be_bytes());
    let cases: [(Bytes, kafka_protocol::ResponseError); 4] = [
        (
            Bytes::from(two),
            kafka_protocol::ResponseError::InvalidRecord,
        ),
        (huge, kafka_protocol::ResponseError::MessageTooLarge),
        (
            Bytes::from(txn),
            kafka_protocol::ResponseError::InvalidTxnState,
        ),
        (
            Bytes::from_static(&[0, 0, 0]),
            kafka_protocol::ResponseError::CorruptMessage,
        ),
    ];
    for (records, want) in cases {
        let (code, _) = produce_one(&f, 9, produce_req("t", 0, records));
        assert_eq!(code, want.code());
    }
    let req = produce_req("t", 0, batch(&[b"a"])).with_acks(2);
    let (code, _) = produce_one(&f, 9, req);
    assert_eq!(
        code,
        kafka_protocol::ResponseError::InvalidRequiredAcks.code()
    );
    let topic = f.broker.topics().open("t").unwrap();
    assert_eq!(
        topic
            .open_reader(0)
            .unwrap()
            .map_or(0, |mut r| r.log_end_offset().unwrap()),
        0
    );
}

#[test]
fn idempotent_retries_are_not_appended_twice() {
    let f = fixture();
    let r = produce::init_producer_id(&f.broker, InitProducerIdRequest::default(), 4);
    assert_eq!(r.error_code, 0);
    let pid = r.producer_id.0;
    let second = produce::init_producer_id(&f.broker, InitProducerIdRequest::default(), 4);
    assert_ne!(second.producer_id.0, pid, "ids are never given twice");
    let b0 = idempotent_batch(&[b"a", b"b"], pid, 0, 0);
    let b1 = idempotent_batch(&[b"c"], pid, 0, 2);
    assert_eq!(produce_one(&f, 9, produce_req("t", 1, b0.clone())), (0, 0));
    assert_eq!(produce_one(&f, 9, produce_req("t", 1, b1.clone())), (0, 2));
    // Retries get their first offsets back.
    assert_eq!(produce_one(&f, 9, produce_req("t", 1, b0)), (0, 0));
    assert_eq!(produce_one(&f, 9, produce_req("t", 1, b1)), (0, 2));
    let gap = idempotent_batch(&[b"d"], pid, 0, 5);
    assert_eq!(
        produce_one(&f, 9, produce_req("t", 1, gap)).0,
        idempotence::OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    let topic = f.broker.topics().open("t").unwrap();
    assert_eq!(
        topic
            .open_reader(1)
            .unwrap()
            .unwrap()
            .log_end_offset()
            .unwrap(),
        3
    );
    // A producer bumping its epoch (KIP-360) keeps its id.
    let bumped = produce::init_producer_id(
        &f.broker,
        InitProducerIdRequest::default()
            .with_producer_id(pid.into())
            .with_producer_epoch(0),
        4,
    );
    assert_eq!((bumped.producer_id.0, bumped.producer_epoch), (pid, 1));
    // Producer ids survive a restart: a new broker on the directory continues after the
    // block handed out.
    let again = Broker::open(
        f.broker.config().clone(),
        ("127.0.0.1".into(), 9092),
        Arc::new(|_| {}),
    )
    .unwrap();
    assert!(again.next_producer_id().unwrap() >= pid + broker::PRODUCER_ID_BLOCK);
    assert_eq!(again.cluster_id(), f.broker.cluster_id());
}

#[test]
fn fetch_returns_whole_batches_within_limits_at_every_version() {
    let f = fixture();
    for _ in 0..3 {
        produce_one(&f, 9, produce_req("t", 0, batch(&[b"a", b"b", b"c"])));
    }
    let one = batch(&[b"a", b"b", b"c"]).len();
    for v in versions(ApiKey::Fetch) {
        // A mid-batch offset returns the whole batch holding it.
        let r = fetch(&f, v, fetch_req("t", 0, 4, 1 << 20));
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.error_code, 0);
        assert_eq!(p.high_watermark, 9);
        let records = p.records.as_ref().unwrap();
        assert_eq!(records.len(), 2 * one, "v{v}");
        assert_eq!(i64::from_be_bytes(records[..8].try_into().unwrap()), 3);
        // Limits smaller than a batch still return the first one whole.
        let r = fetch(&f, v, fetch_req("t", 0, 0, 10));
        assert_eq!(
            r.responses[0].partitions[0].records.as_ref().unwrap().len(),
            one
        );
        // Out of range, and unknown partitions.
        let r = fetch(&f, v, fetch_req("t", 0, 10, 100));
        assert_eq!(
            r.responses[0].partitions[0].error_code,
            kafka_protocol::ResponseError::OffsetOutOfRange.code()
        );
        let r = fetch(&f, v, fetch_req("t", 9, 0, 100));
        assert_eq!(
            r.responses[0].partitions[0].error_code,
            kafka_protocol::ResponseError::UnknownTopicOrPartition.code()
        );
        // At the end: nothing, no error.
        let r = fetch(&f, v, fetch_req("t", 0, 9, 100));
        assert_eq!(
            r.responses[0].partitions[0].records.as_ref().unwrap().len(),
            0
        );
    }
}

/// A partition answering more than `fetch_frame::INLINE_MAX` bytes hands its records over
/// as file ranges (which make the same bytes as the batches); a batch that does not fit is
/// left for the next fetch of the same connection, which goes on from it.
#[test]
fn large_answers_stay_in_the_files_and_the_next_fetch_goes_on() {
    let f = fixture();
    let value = vec![7u8; 40_000];
    let one = batch(&[&value]);
    for _ in 0..5 {
        produce_one(&f, 9, produce_req("t", 0, one.clone()));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut state: Box<fetch::FetchState> = Box::default();
    // (first offset, batches answered, whether from the files)
    for (offset, batches, in_files) in [(0, 2, true), (2, 2, true), (4, 1, false)] {
        let (mut r, files, st) = rt
            .block_on(fetch::fetch(
                &f.broker,
                state,
                fetch_req("t", 0, offset, 100_000),
                12,
            ))
            .unwrap();
        state = st;
        assert_eq!(!files.is_empty(), in_files, "at {offset}");
        if in_files {
            assert_eq!(files[0].0, (0, 0));
            assert_eq!(files[0].1.len as usize, batches * one.len());
            assert_eq!(
                files[0].1.ranges.len(),
                1,
                "contiguous batches make one range"
            );
        }
        super::fetch_frame::inline_records(&mut r, files).unwrap();
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.high_watermark, 5);
        let records = p.records.as_ref().unwrap();
        assert_eq!(records.len(), batches * one.len(), "at {offset}");
        for (i, b) in records.chunks(one.len()).enumerate() {
            assert_eq!(
                i64::from_be_bytes(b[..8].try_into().unwrap()),
                offset + i as i64
            );
            assert_eq!(&b[12..], &one[12..], "the batch as produced");
        }
    }
}

#[test]
fn a_waiting_fetch_wakes_when_a_batch_lands() {
    let f = fixture();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let broker = f.broker.clone();
    let req = fetch_req("t", 0, 0, 1 << 20).with_max_wait_ms(20_000);
    let started = std::time::Instant::now();
    let waiting = rt.spawn(async move { fetch::fetch(&broker, Box::default(), req, 12).await });
    // The fetch is waiting (no data); an append wakes it long before its 20 s.
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!waiting.is_finished());
    produce_one(&f, 9, produce_req("t", 0, batch(&[b"late"])));
    let (r, _, _) = rt.block_on(waiting).unwrap().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        !r.responses[0].partitions[0]
            .records
            .as_ref()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn list_offsets_by_position_and_time() {
    let f = fixture();
    let topic = f.broker.topics().open("t").unwrap();
    let mut log = topic.open_log(0).unwrap();
    for ts in [100, 300, 200] {
        let mut b = BatchBuilder::new();
        b.append(ts, None, Some(b"v"), &[]);
        b.append(ts + 1, None, Some(b"w"), &[]);
        log.append(&mut b.finish()).unwrap();
    }
    drop(log);
    for v in versions(ApiKey::ListOffsets) {
        let mut got = Vec::new();
        for ts in [-2, -1, -3, 150, 301, 302, 0] {
            if ts == -3 && v < 7 {
                continue;
            }
            let req = ListOffsetsRequest::default().with_topics(vec![
                ListOffsetsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        ListOffsetsPartition::default()
                            .with_partition_index(0)
                            .with_timestamp(ts),
                    ]),
            ]);
            let r = list_offsets::list_offsets(&f.broker, req, v);
            encode(ApiKey::ListOffsets, v, ResponseKind::ListOffsets(r.clone()));
            let p = &r.topics[0].partitions[0];
            assert_eq!(p.error_code, 0);
            got.push((ts, p.offset, p.timestamp));
        }
        let want: Vec<(i64, i64, i64)> = vec![
            (-2, 0, -1),
            (-1, 6, -1),
            (-3, 3, 301),
            (150, 2, 300),
            (301, 3, 301),
            (302, -1, -1),
            (0, 0, 100),
        ]
        .into_iter()
        .filter(|w| w.0 != -3 || v >= 7)
        .collect();
        assert_eq!(got, want, "v{v}");
    }
}

#[test]
fn metadata_lists_and_auto_creates_at_every_version() {
    let f = fixture();
    for v in versions(ApiKey::Metadata) {
        let r = metadata::metadata(&f.broker, MetadataRequest::default().with_topics(None), v);
        encode(ApiKey::Metadata, v, ResponseKind::Metadata(r.clone()));
        assert_eq!(r.topics.len(), 1);
        assert_eq!(r.topics[0].partitions.len(), 2);
        assert_eq!(r.brokers[0].port, 9092);
        if v >= 10 {
            assert!(
                !r.topics[0].topic_id.is_nil(),
                "the id of partition.metadata"
            );
        }
    }
    // Auto-creation: v4+ asks, earlier versions always may.
    let ask = |n: &str, allow: bool| {
        MetadataRequest::default()
            .with_allow_auto_topic_creation(allow)
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name(n))),
            ]))
    };
    let r = metadata::metadata(&f.broker, ask("new1", false), 12);
    assert_eq!(
        r.topics[0].error_code,
        kafka_protocol::ResponseError::UnknownTopicOrPartition.code()
    );
    let r = metadata::metadata(&f.broker, ask("new1", true), 12);
    assert_eq!(r.topics[0].error_code, 0);
    let r = metadata::metadata(&f.broker, ask("bad/name", true), 12);
    assert_eq!(
        r.topics[0].error_code,
        kafka_protocol::ResponseError::InvalidTopicException.code()
    );
    assert!(f.broker.topics().open("new1").is_ok());
    assert!(f.events.lock().unwrap().contains(&Event::AutoCreated {
        topic: "new1".into(),
        partitions: 1
    }));
    // The same id every time, from partition.metadata.
    let a = metadata::metadata(&f.broker, ask("t", true), 12).topics[0].topic_id;
    let b = metadata::metadata(&f.broker, ask("t", true), 12).topics[0].topic_id;
    assert_eq!(a, b);
}

#[test]
fn admin_apis_encode_at_every_version_and_change_the_directory() {
    let f = fixture();
    for v in versions(ApiKey::CreateTopics) {
        let topic = format!("c{v}");
        let req = CreateTopicsRequest::default().with_topics(vec![
            CreatableTopic::default()
                .with_name(name(&topic))
                .with_num_partitions(3)
                .with_replication_factor(-1)
                .with_configs(vec![
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_static_str("retention.ms"))
                        .with_value(Some(StrBytes::from_static_str("1000"))),
                ]),
            CreatableTopic::default()
                .with_name(name("t"))
                .with_num_partitions(1)
                .with_replication_factor(1),
            CreatableTopic::default()
                .with_name(name("r3"))
                .with_num_partitions(1)
                .with_replication_factor(3),
        ]);
        let r = metadata::create_topics(&f.broker, req, v);
        encode(
            ApiKey::CreateTopics,
            v,
            ResponseKind::CreateTopics(r.clone()),
        );
        let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
        assert_eq!(
            codes,
            [
                0,
                kafka_protocol::ResponseError::TopicAlreadyExists.code(),
                kafka_protocol::ResponseError::InvalidReplicationFactor.code()
            ]
        );
        let t = f.broker.topics().open(&topic).unwrap();
        assert_eq!((t.partitions, t.config.retention_ms), (3, 1000));
    }
    for v in versions(ApiKey::CreatePartitions) {
        let req = CreatePartitionsRequest::default().with_topics(vec![
            create_partitions_request::CreatePartitionsTopic::default()
                .with_name(name("c2"))
                .with_count(4 + v as i32),
        ]);
        let r = metadata::create_partitions(&f.broker, req, v);
        encode(
            ApiKey::CreatePartitions,
            v,
            ResponseKind::CreatePartitions(r.clone()),
        );
        assert_eq!(r.results[0].error_code, 0);
    }
    assert_eq!(f.broker.topics().open("c2").unwrap().partitions, 7);
    for v in versions(ApiKey::DescribeConfigs) {
        let req = DescribeConfigsRequest::default()
            .with_include_documentation(true)
            .with_resources(vec![
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("c2"))
                    .with_configuration_keys(None),
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(StrBytes::from_static_str("0"))
                    .with_configuration_keys(None),
            ]);
        let r = metadata::describe_configs(&f.broker, req, v);
        encode(
            ApiKey::DescribeConfigs,
            v,
            ResponseKind::DescribeConfigs(r.clone()),
        );
        let retention = r.results[0]
            .configs
            .iter()
            .find(|c| c.name.as_str() == "retention.ms")
            .unwrap();
        assert_eq!(retention.value.as_deref(), Some("1000"));
    }
    for v in versions(ApiKey::IncrementalAlterConfigs) {
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("c2"))
                .with_configs(vec![
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(StrBytes::from_static_str("cleanup.policy"))
                        .with_config_operation(2)
                        .with_value(Some(StrBytes::from_static_str("compact"))),
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(StrBytes::from_static_str("retention.ms"))
                        .with_config_operation(1),
                ]),
        ]);
        let r = metadata::incremental_alter_configs(&f.broker, req, v);
        encode(
            ApiKey::IncrementalAlterConfigs,
            v,
            ResponseKind::IncrementalAlterConfigs(r.clone()),
        );
        assert_eq!(r.responses[0].error_code, 0, "{r:?}");
    }
    let c2 = f.broker.topics().open("c2").unwrap();
    assert!(c2.config.cleanup_policy.compact && c2.config.cleanup_policy.delete);
    assert_eq!(c2.config.retention_ms, 604_800_000);
    for v in versions(ApiKey::DescribeCluster) {
        let r = metadata::describe_cluster(&f.broker, DescribeClusterRequest::default(), v);
        encode(ApiKey::DescribeCluster, v, ResponseKind::DescribeCluster(r));
    }
    for v in versions(ApiKey::DeleteRecords) {
        produce_one(&f, 9, produce_req("t", 0, batch(&[b"a", b"b"])));
        let req = DeleteRecordsRequest::default().with_topics(vec![
            delete_records_request::DeleteRecordsTopic::default()
                .with_name(name("t"))
                .with_partitions(vec![
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(2 * v as i64 + 1),
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(1)
                        .with_offset(5),
                ]),
        ]);
        let r = metadata::delete_records(&f.broker, req, v);
        encode(
            ApiKey::DeleteRecords,
            v,
            ResponseKind::DeleteRecords(r.clone()),
        );
        let p = &r.topics[0].partitions;
        assert_eq!((p[0].error_code, p[0].low_watermark), (0, 2 * v as i64 + 1));
        assert_eq!(
            p[1].error_code,
            kafka_protocol::ResponseError::OffsetOutOfRange.code()
        );
    }
    for v in versions(ApiKey::DeleteTopics) {
        let topic = format!("c{}", v + 1);
        let req = if v >= 6 {
            DeleteTopicsRequest::default().with_topics(vec![
                delete_topics_request::DeleteTopicState::default().with_name(Some(name(&topic))),
            ])
        } else {
            DeleteTopicsRequest::default().with_topic_names(vec![name(&topic)])
        };
        let r = metadata::delete_topics(&f.broker, req, v);
        encode(
            ApiKey::DeleteTopics,
            v,
            ResponseKind::DeleteTopics(r.clone()),
        );
        assert_eq!(r.responses[0].error_code, 0, "{r:?}");
        assert!(f.broker.topics().open(&topic).is_err());
    }
}

fn commit_req(group: &str, offset: i64, metadata: Option<&str>) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(StrBytes::from_string(group.into()).into())
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(name("t"))
                .with_partitions(vec![
                    OffsetCommitRequestPartition::default()
                        .with_partition_index(1)
                        .with_committed_offset(offset)
                        .with_committed_metadata(metadata.map(|m| StrBytes::from_string(m.into()))),
                ]),
        ])
}

#[test]
fn simple_commits_share_the_cli_group_files_and_metadata_round_trips() {
    let f = fixture();
    for v in versions(ApiKey::FindCoordinator) {
        let r = groups::find_coordinator(
            &f.broker,
            FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g")),
            v,
        );
        encode(
            ApiKey::FindCoordinator,
            v,
            ResponseKind::FindCoordinator(r.clone()),
        );
        assert_eq!((r.error_code, r.port), (0, 9092));
    }
    for v in versions(ApiKey::OffsetCommit) {
        let r = groups::offset_commit(&f.broker, commit_req("g", 40 + v as i64, Some("meta")), v);
        encode(
            ApiKey::OffsetCommit,
            v,
            ResponseKind::OffsetCommit(r.clone()),
        );
        assert_eq!(r.topics[0].partitions[0].error_code, 0);
    }
    let topic = f.broker.topics().open("t").unwrap();
    assert_eq!(
        crate::group::committed(&topic, 1, "g")
            .unwrap()
            .unwrap()
            .offset,
        48
    );
    for v in versions(ApiKey::OffsetFetch) {
        let topics = if v >= 2 && v % 2 == 0 {
            None
        } else {
            Some(vec![
                OffsetFetchRequestTopic::default()
                    .with_name(name("t"))
                    .with_partition_indexes(vec![0, 1]),
            ])
        };
        let r = groups::offset_fetch(
            &f.broker,
            OffsetFetchRequest::default()
                .with_group_id(StrBytes::from_static_str("g").into())
                .with_topics(topics.clone()),
            v,
        );
        encode(ApiKey::OffsetFetch, v, ResponseKind::OffsetFetch(r.clone()));
        let parts = &r.topics[0].partitions;
        let p1 = parts.iter().find(|p| p.partition_index == 1).unwrap();
        assert_eq!(
            (p1.committed_offset, p1.metadata.as_deref()),
            (48, Some("meta"))
        );
        if topics.is_some() {
            assert_eq!(parts[0].committed_offset, -1);
        }
    }
    // A live CLI member owning the partition refuses a simple commit.
    let held = crate::group::try_own(&topic, 1, "busy").unwrap().unwrap();
    let r = groups::offset_commit(&f.broker, commit_req("busy", 1, None), 8);
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        kafka_protocol::ResponseError::UnknownMemberId.code()
    );
    drop(held);
    // A commit naming a member needs the coordinator.
    let r = groups::offset_commit(
        &f.broker,
        commit_req("g", 1, None)
            .with_generation_id_or_member_epoch(3)
            .with_member_id(StrBytes::from_static_str("m")),
        8,
    );
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        kafka_protocol::ResponseError::UnknownMemberId.code()
    );
    assert_eq!(
        crate::group::committed(&topic, 1, "g")
            .unwrap()
            .unwrap()
            .offset,
        48
    );
    for v in versions(ApiKey::ListGroups) {
        let r = groups::list_groups(&f.broker, ListGroupsRequest::default(), v);
        encode(ApiKey::ListGroups, v, ResponseKind::ListGroups(r.clone()));
        assert_eq!(r.groups.len(), 1);
    }
    for v in versions(ApiKey::DescribeGroups) {
        let r = groups::describe_groups(
            &f.broker,
            DescribeGroupsRequest::default().with_groups(vec![
                StrBytes::from_static_str("g").into(),
                StrBytes::from_static_str("none").into(),
            ]),
            v,
        );
        encode(
            ApiKey::DescribeGroups,
            v,
            ResponseKind::DescribeGroups(r.clone()),
        );
        assert_eq!(r.groups[0].group_state.as_str(), "Empty");
        assert_eq!(r.groups[1].group_state.as_str(), "Dead");
    }
    let r = groups::offset_delete(
        &f.broker,
        OffsetDeleteRequest::default()
            .with_group_id(StrBytes::from_static_str("g").into())
            .with_topics(vec![
                offset_delete_request::OffsetDeleteRequestTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        offset_delete_request::OffsetDeleteRequestPartition::default()
                            .with_partition_index(1),
                    ]),
            ]),
        0,
    );
    encode(
        ApiKey::OffsetDelete,
        0,
        ResponseKind::OffsetDelete(r.clone()),
    );
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    assert!(crate::group::committed(&topic, 1, "g").unwrap().is_none());
    groups::offset_commit(&f.broker, commit_req("g", 5, None), 8);
    for v in versions(ApiKey::DeleteGroups) {
        let r = groups::delete_groups(
            &f.broker,
            DeleteGroupsRequest::default()
                .with_groups_names(vec![StrBytes::from_static_str("g").into()]),
            v,
        );
        encode(
            ApiKey::DeleteGroups,
            v,
            ResponseKind::DeleteGroups(r.clone()),
        );
        let want = if v == 0 {
            0
        } else {
            kafka_protocol::ResponseError::GroupIdNotFound.code()
        };
        assert_eq!(r.results[0].error_code, want);
    }
    assert!(crate::group::committed(&topic, 1, "g").unwrap().is_none());
}

#[test]
fn api_versions_lists_every_api_served() {
    for v in versions(ApiKey::ApiVersions) {
        encode(
            ApiKey::ApiVersions,
            v,
            ResponseKind::ApiVersions(wire::api_versions(0)),
        );
    }
}

/// A connection kept reading a partition of a topic deleted and created again under the
/// same name from the deleted files.
#[test]
fn regression_a_topic_created_again_is_read_anew_by_the_same_connection() {
    let f = fixture();
    produce_one(&f, 9, produce_req("t", 0, batch(&[b"old", b"old"])));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = Box::default();
    let (r, _, state) = rt
        .block_on(fetch::fetch(
            &f.broker,
            state,
            fetch_req("t", 0, 0, 1 << 20),
            12,
        ))
        .unwrap();
    assert!(
        !r.responses[0].partitions[0]
            .records
            .as_ref()
            .unwrap()
            .is_empty()
    );
    let del = DeleteTopicsRequest::default().with_topic_names(vec![name("t")]);
    assert_eq!(
        metadata::delete_topics(&f.broker, del, 5).responses[0].error_code,
        0
    );
    f.broker
        .topics()
        .create("t", 2, Default::default())
        .unwrap();
    produce_one(&f, 9, produce_req("t", 0, batch(&[b"new", b"new", b"new"])));
    // Offset 2: where the connection's reader of the old topic stands.
    let (r, _, _) = rt
        .block_on(fetch::fetch(
            &f.broker,
            state,
            fetch_req("t", 0, 2, 1 << 20),
            12,
        ))
        .unwrap();
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.high_watermark, 3);
    let records = p.records.as_ref().unwrap();
    assert!(records.windows(3).any(|w| w == b"new"), "{p:?}");
}

/// A group with a Kafka member, through the offset and admin APIs: commits must match its
/// generation and go in for the partitions it was granted, a CLI member's partition refuses
/// them, DescribeGroups and ListGroups show the member, DeleteGroups refuses the group.
#[test]
fn a_group_with_kafka_members_through_the_offset_and_admin_apis() {
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as Assigned;
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
    use kafka_protocol::protocol::Encodable;
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::new(tmp.path());
    config.group_initial_rebalance_delay_ms = 0;
    let broker =
        Arc::new(Broker::open(config, ("127.0.0.1".into(), 9092), Arc::new(|_| {})).unwrap());
    broker.topics().create("t", 2, Default::default()).unwrap();
    let mut sub = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut sub, 0);
    ConsumerProtocolSubscription::default()
        .with_topics(vec![StrBytes::from_static_str("t")])
        .encode(&mut sub, 0)
        .unwrap();
    let join = JoinGroupRequest::default()
        .with_group_id(StrBytes::from_static_str("g").into())
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str("range"))
                .with_metadata(sub.freeze()),
        ]);
    let client = coordinator::ClientInfo {
        client_id: "app".into(),
        host: "/127.0.0.1".into(),
    };
    let joined = match broker.coordinator().join_group(join, 3, client) {
        groups::Reply::Wait(mut rx) => rx.try_recv().expect("joined at once"),
        groups::Reply::Ready(r) => panic!("{r:?}"),
    };
    let (member, generation) = (joined.member_id.clone(), joined.generation_id);
    let assignment = coordinator::encode_assignment(
        0,
        &ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
            Assigned::default()
                .with_topic(name("t"))
                .with_partitions(vec![0, 1]),
        ]),
    )
    .unwrap();
    let topic = broker.topics().open("t").unwrap();
    // A CLI member owns partition 1: the Kafka member gets partition 0 only.
    let cli = crate::group::try_own(&topic, 1, "g").unwrap().unwrap();
    let synced = match broker.coordinator().sync_group(
        SyncGroupRequest::default()
            .with_group_id(StrBytes::from_static_str("g").into())
            .with_generation_id(generation)
            .with_member_id(member.clone())
            .with_assignments(vec![
                SyncGroupRequestAssignment::default()
                    .with_member_id(member.clone())
                    .with_assignment(assignment),
            ]),
        3,
    ) {
        groups::Reply::Ready(r) => r,
        groups::Reply::Wait(_) => panic!("the leader's sync waits"),
    };
    let (_, granted) = coordinator::decode_assignment(&synced.assignment).unwrap();
    assert_eq!(granted.assigned_partitions[0].partitions, [0]);
    let commit = |p: i32, generation: i32| {
        let mut r = commit_req("g", 7, None)
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(member.clone());
        r.topics[0].partitions[0].partition_index = p;
        groups::offset_commit(&broker, r, 8).topics[0].partitions[0].error_code
    };
    assert_eq!(commit(0, generation), 0);
    assert_eq!(
        crate::group::committed(&topic, 0, "g")
            .unwrap()
            .unwrap()
            .offset,
        7
    );
    assert_eq!(
        commit(0, generation + 1),
        kafka_protocol::ResponseError::IllegalGeneration.code()
    );
    assert_eq!(
        commit(1, generation),
        kafka_protocol::ResponseError::UnknownMemberId.code(),
        "the CLI member's partition"
    );
    assert_eq!(crate::group::committed(&topic, 1, "g").unwrap(), None);
    drop(cli);
    for v in versions(ApiKey::DescribeGroups) {
        let r = groups::describe_groups(
            &broker,
            DescribeGroupsRequest::default()
                .with_groups(vec![StrBytes::from_static_str("g").into()]),
            v,
        );
        encode(
            ApiKey::DescribeGroups,
            v,
            ResponseKind::DescribeGroups(r.clone()),
        );
        let g = &r.groups[0];
        assert_eq!(g.group_state.as_str(), "Stable");
        assert_eq!(g.protocol_data.as_str(), "range");
        assert_eq!(g.members[0].client_id.as_str(), "app");
        assert_eq!(g.members[0].member_assignment, synced.assignment);
    }
    let listed = groups::list_groups(&broker, ListGroupsRequest::default(), 5);
    let g = listed
        .groups
        .iter()
        .find(|g| g.group_id.as_str() == "g")
        .unwrap();
    assert_eq!(g.group_state.as_str(), "Stable");
    let deleted = groups::delete_groups(
        &broker,
        DeleteGroupsRequest::default()
            .with_groups_names(vec![StrBytes::from_static_str("g").into()]),
        2,
    );
    assert_eq!(
        deleted.results[0].error_code,
        kafka_protocol::ResponseError::NonEmptyGroup.code()
    );
    assert_eq!(
        crate::group::committed(&topic, 0, "g")
            .unwrap()
            .unwrap()
            .offset,
        7
    );
    // Shutting down releases the member's locks.
    broker.begin_shutdown();
    assert_eq!(crate::group::owner(&topic, 0, "g").unwrap(), None);
}
