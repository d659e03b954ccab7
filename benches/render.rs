//! Output formatting: what `klog consume` does to each record after decoding it.
//!
//! One uncompressed batch of 1000 records (100-byte printable values, null keys, no headers),
//! decoded once per iteration and rendered into a reused buffer in each of the three output
//! shapes: the value alone (the default), kcat's `--format '%o %k %s\n'`, and `--json`. The
//! `decode_only` row is the same walk without rendering, so that the difference is the
//! formatting cost. Throughput is in records/s and in bytes/s of rendered output.
//!
//! Run it with `cargo bench --bench render`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use klog::format::{BatchBuilder, RecordBatch};
use klog::render::{RecordView, Render, parse_format};

const RECORDS: usize = 1000;

fn batch() -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..RECORDS {
        let value: Vec<u8> = format!("{i:010}")
            .into_bytes()
            .into_iter()
            .chain((0..90).map(|j| b'a' + ((i + j) % 26) as u8))
            .collect();
        b.append(1_700_000_000_000 + i as i64, None, Some(&value), &[]);
    }
    b.finish()
}

/// Renders every record of the batch with `r` into `out`; returns the bytes rendered.
fn render_all(bytes: &[u8], mut r: Option<&mut Render>, out: &mut Vec<u8>) -> usize {
    out.clear();
    let batch = RecordBatch::decode(bytes).expect("batch decodes");
    let mut n = 0;
    for rec in batch.records().expect("uncompressed") {
        let rec = rec.expect("record decodes");
        let view = RecordView::of(&batch, &rec);
        match r.as_deref_mut() {
            Some(r) => r.render(out, "orders", 3, &view),
            None => n += black_box(&view).offset as usize,
        }
    }
    out.len() + n
}

fn render(c: &mut Criterion) {
    let bytes = batch();
    let mut shapes = [
        ("decode_only", None),
        (
            "value",
            Some(Render::Value {
                key_sep: None,
                null: Vec::new(),
            }),
        ),
        (
            "format",
            Some(Render::Format {
                tokens: parse_format(b"%o %k %s\n").expect("format parses"),
                null: Vec::new(),
            }),
        ),
        ("json", Some(Render::json())),
    ];
    let mut g = c.benchmark_group("render");
    let mut out = Vec::with_capacity(1 << 20);
    for (name, r) in &mut shapes {
        let rendered = render_all(&bytes, r.as_mut(), &mut out);
        let bytes_out = if r.is_some() { rendered } else { bytes.len() };
        g.throughput(Throughput::ElementsAndBytes {
            elements: RECORDS as u64,
            bytes: bytes_out as u64,
        });
        g.bench_function(*name, |b| {
            b.iter(|| black_box(render_all(&bytes, r.as_mut(), &mut out)))
        });
    }
    g.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
