//! Item 4: re-encoding every uncompressed batch reproduces its bytes exactly.

use std::path::PathBuf;

use klog::format::Compression;
use klog::format::batch::encode_batch;
use klog::storage::file_names::LOG_SUFFIX;

use crate::util::*;

#[test]
fn re_encoding_every_uncompressed_batch_reproduces_its_bytes() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let mut files: Vec<PathBuf> = files_with_suffix(&kafka, LOG_SUFFIX)
        .into_iter()
        .chain(files_with_suffix(&kafka, ".checkpoint"))
        .collect();
    files.push(fx.join("kafka-python/none/00000000000000000000.log"));
    let (mut from_logs, mut total) = (0, 0);
    for path in &files {
        let data = read(path);
        if data.len() < 17 || data[16] != 2 {
            continue;
        }
        let name = rel(&fx, path);
        let n = walk_batches(&data, &name, |pos, batch| {
            assert_eq!(
                batch.header.compression(),
                Some(Compression::None),
                "{name}"
            );
            let records: Vec<_> = batch.records().unwrap().map(Result::unwrap).collect();
            let again = encode_batch(&batch.header, &records);
            assert!(
                again == batch.as_bytes(),
                "{name}: batch at byte {pos} (base offset {}) re-encodes differently",
                batch.header.base_offset
            );
        });
        total += n;
        if path.starts_with(&kafka) && path.extension().is_some_and(|e| e == "log") {
            from_logs += n;
        }
    }
    let want: usize = MAGIC2_LOGS.iter().map(|e| e.2).sum();
    assert_eq!(from_logs, want, "batches re-encoded from broker .log files");
    assert!(
        total > want,
        "checkpoints and kafka-python batches were re-encoded too"
    );
}
