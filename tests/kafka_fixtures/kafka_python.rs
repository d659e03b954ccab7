//! Item 5: kafka-python's uncompressed segment decodes to its `expected.json`; its compressed
//! batches pass the CRC check and are refused with `UnsupportedCompression`.

use klog::format::{Compression, DecodeError};

use crate::util::*;

#[test]
fn base64_helper_decodes_rfc4648_vectors() {
    for (enc, dec) in [
        ("", ""),
        ("Zg==", "f"),
        ("Zm8=", "fo"),
        ("Zm9v", "foo"),
        ("Zm9vYg==", "foob"),
        ("Zm9vYmE=", "fooba"),
        ("Zm9vYmFy", "foobar"),
        ("dXNlci00", "user-4"),
    ] {
        assert_eq!(base64(enc), dec.as_bytes(), "{enc}");
    }
    assert_eq!(base64("+/8="), [0xfb, 0xff]);
}

#[test]
fn kafka_python_uncompressed_segment_matches_expected_json() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("kafka-python/none");
    let want = expected_records(&dir);
    let data = read(&dir.join("00000000000000000000.log"));
    let d = decode_file(&data, "kafka-python/none");
    assert_eq!(d.batches.len(), 4, "README: four batches");
    assert_eq!(d.records.len(), want.len());
    for (got, want) in d.records.iter().zip(&want) {
        assert_eq!(got, want, "offset {}", want.offset);
    }
    // The fixture exercises what it claims to: null keys and values, headers, non-UTF-8 bytes.
    assert!(want.iter().any(|r| r.key.is_none()));
    assert!(want.iter().any(|r| r.value.is_none()));
    assert!(want.iter().any(|r| !r.headers.is_empty()));
    assert!(want.iter().any(|r| {
        r.value
            .as_ref()
            .is_some_and(|v| std::str::from_utf8(v).is_err())
    }));
}

#[test]
fn kafka_python_compressed_batches_pass_crc_and_are_refused() {
    let Some(fx) = fixtures() else { return };
    for (codec, id) in [
        (Compression::Gzip, 1u8),
        (Compression::Snappy, 2),
        (Compression::Lz4, 3),
        (Compression::Zstd, 4),
    ] {
        let name = codec.name();
        let dir = fx.join("kafka-python").join(name);
        let want = expected_records(&dir);
        let data = read(&dir.join("00000000000000000000.log"));
        let mut next_offset = 0;
        let mut count = 0;
        let batches = walk_batches(&data, name, |pos, batch| {
            let h = batch.header;
            assert_eq!(h.compression(), Some(codec), "{name}: codec at {pos}");
            assert_eq!(h.compression_id(), id, "{name}: codec id at {pos}");
            assert!(
                !batch.records_bytes().is_empty(),
                "{name}: no compressed stream"
            );
            match batch.records() {
                Err(DecodeError::UnsupportedCompression { codec: c, .. }) => assert_eq!(c, id),
                Err(e) => panic!("{name}: batch at {pos}: unexpected error {e}"),
                Ok(_) => panic!("{name}: batch at {pos}: compressed records handed out"),
            }
            // The header alone must agree with expected.json: dense offsets, the record count,
            // the first record's timestamp as base and the largest as max.
            assert_eq!(h.base_offset, next_offset, "{name}: base offset at {pos}");
            assert_eq!(
                h.records_count,
                h.last_offset_delta + 1,
                "{name}: count at {pos}"
            );
            let in_batch: Vec<&Rec> = want
                .iter()
                .filter(|r| (h.base_offset..=h.last_offset()).contains(&r.offset))
                .collect();
            assert_eq!(
                in_batch.len(),
                h.records_count as usize,
                "{name}: records at {pos}"
            );
            assert_eq!(
                h.base_timestamp, in_batch[0].timestamp,
                "{name}: base ts at {pos}"
            );
            let max = in_batch.iter().map(|r| r.timestamp).max().unwrap();
            assert_eq!(h.max_timestamp, max, "{name}: max ts at {pos}");
            next_offset = h.next_offset();
            count += h.records_count as usize;
        });
        assert_eq!(batches, 4, "{name}: README: four batches");
        assert_eq!(count, want.len(), "{name}: records");
        assert_eq!(next_offset, want.len() as i64, "{name}: offsets");
    }
}
