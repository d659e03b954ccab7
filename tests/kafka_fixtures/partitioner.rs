//! Item 3: the default partitioner puts each real key in the partition the broker put it in.

use std::collections::BTreeSet;

use klog::format::partition_for_key;

use crate::util::*;

#[test]
fn default_partitioner_matches_the_brokers_placement() {
    let Some(fx) = fixtures() else { return };
    let mut keys = BTreeSet::new();
    for partition in 0..3u32 {
        let path = fx.join(format!(
            "kafka/cobyforrester__kafka/data/kafka/TOPIC_NAME-{partition}/00000000000000000000.log"
        ));
        let what = format!("TOPIC_NAME-{partition}");
        let d = decode_file(&read(&path), &what);
        assert!(!d.records.is_empty(), "{what}: no records");
        for r in &d.records {
            let key = r
                .key
                .as_deref()
                .unwrap_or_else(|| panic!("{what}: null key"));
            assert_eq!(
                partition_for_key(key, 3),
                partition,
                "{what}: key {:?}",
                String::from_utf8_lossy(key)
            );
            assert!(keys.insert(key.to_vec()), "{what}: key seen twice");
        }
    }
    // SOURCES.md: the keys are "0".."9", each produced once.
    let want: BTreeSet<Vec<u8>> = (0..10).map(|k: u32| k.to_string().into_bytes()).collect();
    assert_eq!(keys, want);
}
