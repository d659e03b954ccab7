//! Engine throughput: the record codec, the partition log, the produce input splitter and index
//! lookups, without the CLI.
//!
//! Every record is a 100-byte value with a null key and no headers, all with the same
//! CreateTime timestamp. Throughput is reported both in records/s and in bytes/s of encoded
//! batch bytes (what lands on disk: batch headers and record framing included).
//!
//! - `batch_encode`: build one uncompressed RecordBatch v2 of 1000 records with
//!   [`BatchBuilder`], reusing the buffer so that encoding (and the CRC) is measured, not
//!   allocation.
//! - `batch_decode`: [`RecordBatch::decode`] of that batch (framing and CRC check) plus a walk
//!   over all its records.
//! - `log_append`: 1 M records appended as 125 batches of 8000 (about 0.9 MB each, under the
//!   default `max.message.bytes`) to a fresh [`Log`] in a temporary directory, default config.
//!   One batch is built beforehand and appended 125 times (the log patches its base offset
//!   in place). Opening the log and creating the segment are timed; the final fsync (done
//!   when the log is dropped) and removing the directory are not, so this is the write path
//!   into the page cache.
//! - `produce`: the whole [`Producer`] on a new one-partition topic in a temporary
//!   directory: 1 M keyless records of 100-byte values sent one by one
//!   ([`Producer::send_value`], as `klog produce` sends lines), batched, appended by the
//!   writer thread and fsynced by [`Producer::close`], all timed (opening the topic is not).
//!   Throughput in records/s and value bytes/s.
//! - `log_read`: a [`LogReader`] over the 1 M records written once in setup, from offset 0,
//!   decoding every batch (CRC included) and walking every record. The data is in the page
//!   cache, so this measures the read path, not the disk.
//!
//! - `line_split`: [`Splitter`] over 16 MiB of 100-byte newline-terminated lines, pushed in
//!   1 MiB chunks as `klog produce` reads them (so lines straddle chunk ends), counting the
//!   records handed out. Throughput in input bytes/s.
//! - `index_lookup`: lookups of random targets in full 10 MiB indexes (the default
//!   `segment.index.bytes`: 1,310,720 offset entries, 873,813 time entries), 1024 lookups per
//!   iteration: through the memory mapping the writer uses ([`OffsetIndex`], [`TimeIndex`])
//!   and through the positioned reads a reader uses on the active segment ([`FileSource`]).
//!   The files are in the page cache.
//!
//! Run it with `cargo bench --bench engine` (about two minutes on a 2-core machine);
//! pick one group with e.g. `cargo bench --bench engine -- log_append`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use klog::format::{BatchBuilder, RecordBatch};
use klog::input::{Piece, Splitter};
use klog::produce::{Producer, ProducerConfig};
use klog::storage::index::{
    self, FileSource, OFFSET_ENTRY_SIZE, OffsetIndex, TIME_ENTRY_SIZE, TimeIndex,
};
use klog::storage::{Log, LogConfig, LogReader};
use klog::topic::Topics;

const TIMESTAMP_MS: i64 = 1_700_000_000_000;
const VALUE_LEN: usize = 100;
/// Records in the batch of the codec benchmarks.
const CODEC_RECORDS: usize = 1000;
/// Records written and read per iteration by the log benchmarks.
const LOG_RECORDS: usize = 1_000_000;
/// Records per batch in the log benchmarks.
const LOG_BATCH_RECORDS: usize = 8000;

const _: () = assert!(LOG_RECORDS.is_multiple_of(LOG_BATCH_RECORDS));

fn value() -> Vec<u8> {
    (0..VALUE_LEN).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Builds a batch of `n` records into `buf` (whose capacity is kept) and returns it.
fn build_batch(buf: Vec<u8>, n: usize, value: &[u8]) -> Vec<u8> {
    let mut b = BatchBuilder::from_vec(buf);
    for _ in 0..n {
        b.append(TIMESTAMP_MS, None, Some(value), &[]);
    }
    b.finish()
}

/// Walks the records of a decoded batch; returns (records, key + value bytes).
fn walk_batch(batch: &RecordBatch<'_>) -> (usize, usize) {
    let mut records = 0;
    let mut payload = 0;
    for r in batch.records().expect("uncompressed batch") {
        let r = r.expect("valid record");
        records += 1;
        payload += r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len);
    }
    (records, payload)
}

/// The batch appended `LOG_RECORDS / LOG_BATCH_RECORDS` times by the log benchmarks, checked
/// against the default `max.message.bytes`.
fn log_batch() -> Vec<u8> {
    let batch = build_batch(Vec::new(), LOG_BATCH_RECORDS, &value());
    let max = LogConfig::default().max_message_bytes as usize;
    // The log accepts a batch of up to max.message.bytes plus the 12-byte offset/size prefix.
    assert!(
        batch.len() <= max + 12,
        "batch of {} bytes exceeds max.message.bytes {max}",
        batch.len()
    );
    batch
}

/// Appends the batch `LOG_RECORDS / LOG_BATCH_RECORDS` times to a new log in `dir`. The log
/// is returned undropped so the caller decides whether its final fsync is timed.
fn write_log(dir: &Path, batch: &mut [u8]) -> Log {
    let mut log = Log::open(dir, LogConfig::default()).expect("open log");
    for _ in 0..LOG_RECORDS / LOG_BATCH_RECORDS {
        log.append(batch).expect("append");
    }
    log
}

fn batch_codec(c: &mut Criterion) {
    let value = value();
    let batch = build_batch(Vec::new(), CODEC_RECORDS, &value);
    let throughput = Throughput::ElementsAndBytes {
        elements: CODEC_RECORDS as u64,
        bytes: batch.len() as u64,
    };

    let mut g = c.benchmark_group("batch_encode");
    g.throughput(throughput.clone());
    let mut buf = Some(Vec::with_capacity(batch.len()));
    g.bench_function("1000x100B", |b| {
        b.iter(|| {
            let out = build_batch(buf.take().unwrap_or_default(), CODEC_RECORDS, &value);
            black_box(out.as_slice());
            buf = Some(out);
        })
    });
    // The path `klog produce` takes for a line: no key, no headers.
    let mut buf = Some(Vec::with_capacity(batch.len()));
    g.bench_function("1000x100B_value_only", |b| {
        b.iter(|| {
            let mut bb = BatchBuilder::from_vec(buf.take().unwrap_or_default());
            for _ in 0..CODEC_RECORDS {
                bb.append_value(TIMESTAMP_MS, &value);
            }
            let out = bb.finish();
            black_box(out.as_slice());
            buf = Some(out);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("batch_decode");
    g.throughput(throughput);
    g.bench_function("1000x100B", |b| {
        b.iter(|| {
            let decoded = RecordBatch::decode(black_box(&batch)).expect("valid batch");
            black_box(walk_batch(&decoded))
        })
    });
    g.finish();
}

fn log_append(c: &mut Criterion) {
    let mut batch = log_batch();
    let batches = (LOG_RECORDS / LOG_BATCH_RECORDS) as u64;
    let mut g = c.benchmark_group("log_append");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::ElementsAndBytes {
            elements: LOG_RECORDS as u64,
            bytes: batches * batch.len() as u64,
        });
    g.bench_function("1M_in_8000_batches", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let tmp = tempfile::tempdir().expect("temp dir");
                let dir = tmp.path().join("bench-0");
                let start = Instant::now();
                let log = write_log(&dir, &mut batch);
                total += start.elapsed();
                drop(log);
            }
            total
        })
    });
    g.finish();
}

fn produce(c: &mut Criterion) {
    let value = value();
    let mut g = c.benchmark_group("produce");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::ElementsAndBytes {
            elements: LOG_RECORDS as u64,
            bytes: (LOG_RECORDS * value.len()) as u64,
        });
    g.bench_function("1M_100B_values_appended_and_flushed", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let tmp = tempfile::tempdir().expect("temp dir");
                let topic = Topics::new(tmp.path())
                    .create("bench", 1, BTreeMap::new())
                    .expect("create topic");
                let start = Instant::now();
                let mut producer = Producer::new(&topic, ProducerConfig::default());
                for _ in 0..LOG_RECORDS {
                    producer
                        .send_value(black_box(&value), TIMESTAMP_MS)
                        .expect("send");
                }
                let summary = producer.close().expect("close");
                total += start.elapsed();
                assert_eq!(summary.records, LOG_RECORDS as u64);
            }
            total
        })
    });
    g.finish();
}

fn log_read(c: &mut Criterion) {
    let mut batch = log_batch();
    let batches = (LOG_RECORDS / LOG_BATCH_RECORDS) as u64;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("bench-0");
    drop(write_log(&dir, &mut batch));

    let mut g = c.benchmark_group("log_read");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::ElementsAndBytes {
            elements: LOG_RECORDS as u64,
            bytes: batches * batch.len() as u64,
        });
    g.bench_function("1M_from_offset_0", |b| {
        b.iter(|| {
            let mut reader = LogReader::open(&dir).expect("open reader");
            reader.seek(0).expect("seek");
            let (mut records, mut payload) = (0, 0);
            while let Some(b) = reader.next_batch().expect("read batch") {
                let (n, p) = walk_batch(b.batch.as_batch().expect("a v2 batch"));
                records += n;
                payload += p;
            }
            assert_eq!(records, LOG_RECORDS);
            black_box(payload)
        })
    });
    g.finish();
}

/// Input bytes of the splitter benchmark, and its read chunk size.
const SPLIT_BYTES: usize = 16 << 20;
const SPLIT_CHUNK: usize = 1 << 20;
const LINE_LEN: usize = 100;

fn line_split(c: &mut Criterion) {
    let line: Vec<u8> = (0..LINE_LEN - 1).map(|i| b'a' + (i % 26) as u8).collect();
    let mut input = Vec::with_capacity(SPLIT_BYTES);
    while input.len() + LINE_LEN <= SPLIT_BYTES {
        input.extend_from_slice(&line);
        input.push(b'\n');
    }
    let lines = input.len() / LINE_LEN;
    let max = LogConfig::default().max_message_bytes as usize;
    let mut g = c.benchmark_group("line_split");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("16MiB_100B_lines_1MiB_chunks", |b| {
        let mut splitter = Splitter::new(b"\n", max);
        b.iter(|| {
            let (mut records, mut bytes) = (0usize, 0usize);
            let mut count = |p: Piece<'_>| {
                if let Piece::Record(r) = p {
                    records += 1;
                    bytes += r.len();
                }
                Ok::<_, ()>(())
            };
            for chunk in black_box(&input).chunks(SPLIT_CHUNK) {
                splitter.push(chunk, &mut count).expect("push");
            }
            splitter.finish(&mut count).expect("finish");
            assert_eq!(records, lines);
            black_box(bytes)
        })
    });
    g.finish();
}

/// Bytes of each index: the default `segment.index.bytes`.
const INDEX_BYTES: usize = 10 << 20;
/// Lookups per iteration of the index benchmarks.
const LOOKUPS: usize = 1024;
const INDEX_BASE: i64 = 1_000_000;

/// `n` targets spread over `0..span` by a fixed xorshift sequence (the same every run).
fn random_targets(n: usize, span: u64) -> Vec<i64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % span) as i64
        })
        .collect()
}

fn index_lookup(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let offsets = INDEX_BYTES / OFFSET_ENTRY_SIZE;
    let times = INDEX_BYTES / TIME_ENTRY_SIZE;
    // Entry i: relative offset 4i + 1 at position 64i + 1; timestamp T + 10i.
    let mut idx = Vec::with_capacity(INDEX_BYTES);
    for i in 0..offsets as u32 {
        idx.extend_from_slice(&(4 * i + 1).to_be_bytes());
        idx.extend_from_slice(&(64 * i + 1).to_be_bytes());
    }
    let mut tidx = Vec::with_capacity(INDEX_BYTES);
    for i in 0..times as u32 {
        tidx.extend_from_slice(&(TIMESTAMP_MS + 10 * i64::from(i)).to_be_bytes());
        tidx.extend_from_slice(&(4 * i + 1).to_be_bytes());
    }
    let idx_path = tmp.path().join("00000000000001000000.index");
    let tidx_path = tmp.path().join("00000000000001000000.timeindex");
    std::fs::write(&idx_path, &idx).expect("write index");
    std::fs::write(&tidx_path, &tidx).expect("write time index");
    let offset_index =
        OffsetIndex::open(&idx_path, INDEX_BASE, INDEX_BYTES as u32).expect("open index");
    let time_index =
        TimeIndex::open(&tidx_path, INDEX_BASE, INDEX_BYTES as u32).expect("open time index");
    assert_eq!(
        (offset_index.entries(), time_index.entries()),
        (offsets, times)
    );
    let file_source = FileSource::open(&idx_path).expect("open index file");
    let n = index::valid_entries(&file_source, OFFSET_ENTRY_SIZE);
    assert_eq!(n, offsets);

    let offset_targets: Vec<i64> = random_targets(LOOKUPS, 4 * offsets as u64)
        .into_iter()
        .map(|t| INDEX_BASE + t)
        .collect();
    let time_targets: Vec<i64> = random_targets(LOOKUPS, 10 * times as u64)
        .into_iter()
        .map(|t| TIMESTAMP_MS + t)
        .collect();

    let mut g = c.benchmark_group("index_lookup");
    g.throughput(Throughput::Elements(LOOKUPS as u64));
    g.bench_function("offset_mmap_10MiB", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for &t in &offset_targets {
                sum += offset_index
                    .lookup(black_box(t))
                    .map_or(0, |e| u64::from(e.position));
            }
            black_box(sum)
        })
    });
    g.bench_function("time_mmap_10MiB", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            for &t in &time_targets {
                sum += time_index.lookup(black_box(t)).map_or(0, |e| e.offset);
            }
            black_box(sum)
        })
    });
    g.bench_function("offset_pread_10MiB", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for &t in &offset_targets {
                sum += index::lookup_offset(&file_source, n, INDEX_BASE, black_box(t))
                    .map_or(0, |e| u64::from(e.position));
            }
            black_box(sum)
        })
    });
    g.finish();
    // Lookups agree with the layout: the entry at or below each target.
    for &t in offset_targets.iter().filter(|&&t| t > INDEX_BASE) {
        let e = offset_index.lookup(t).expect("an entry");
        assert!(e.offset <= t && t - e.offset < 4, "{t}: {e:?}");
    }
    for &t in &time_targets {
        let e = time_index.lookup(t).expect("an entry");
        assert!(e.timestamp <= t && t - e.timestamp < 10, "{t}: {e:?}");
    }
}

criterion_group!(
    benches,
    batch_codec,
    log_append,
    produce,
    log_read,
    line_split,
    index_lookup
);
criterion_main!(benches);
