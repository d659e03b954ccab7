//! Item 2: the worked example of docs/kafka-format.md §1.4 (`TOPIC_NAME-1`), field by field.

use klog::format::{Compression, RecordBatch, TimestampType};

use crate::util::*;

#[test]
fn worked_example_topic_name_1() {
    let Some(fx) = fixtures() else { return };
    let path =
        fx.join("kafka/cobyforrester__kafka/data/kafka/TOPIC_NAME-1/00000000000000000000.log");
    let data = read(&path);
    assert_eq!(data.len(), 79);
    let batch = RecordBatch::decode(&data).unwrap();
    let h = batch.header;
    assert_eq!(h.base_offset, 0);
    assert_eq!(h.batch_length, 67);
    assert_eq!(h.size(), 79);
    assert_eq!(h.partition_leader_epoch, 0);
    assert_eq!(h.magic, 2);
    assert_eq!(h.crc, 0xE115_E118);
    assert_eq!(h.attributes, 0);
    assert_eq!(h.compression(), Some(Compression::None));
    assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    assert!(!h.is_transactional() && !h.is_control());
    assert_eq!(h.last_offset_delta, 1);
    assert_eq!(h.last_offset(), 1);
    assert_eq!(h.base_timestamp, 1_611_544_132_675);
    assert_eq!(h.max_timestamp, 1_611_544_132_675);
    assert_eq!(
        (h.producer_id, h.producer_epoch, h.base_sequence),
        (-1, -1, -1)
    );
    assert_eq!(h.records_count, 2);
    assert_eq!(batch.as_bytes(), &data[..]);

    let recs = batch_records(&batch, "TOPIC_NAME-1");
    let got: Vec<_> = recs
        .iter()
        .map(|r| {
            (
                r.offset,
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
                r.headers.len(),
            )
        })
        .collect();
    let ts = 1_611_544_132_675;
    assert_eq!(
        got,
        vec![
            (0, ts, Some(&b"4"[..]), Some(&b"4"[..]), 0),
            (1, ts, Some(&b"6"[..]), Some(&b"6"[..]), 0),
        ]
    );
}
