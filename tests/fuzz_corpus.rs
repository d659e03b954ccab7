//! Replays the fuzz targets' seed corpus on stable, as CI can run it (libFuzzer itself needs
//! nightly and `cargo fuzz`; see `fuzz/README.md`).
//!
//! Every file under `fuzz/corpus/<target>/` goes through the same function the libFuzzer target
//! calls (`fuzz/targets.rs`, compiled here as a module), which asserts no panic, output within
//! its limit and no output left on error. On top of that this file checks:
//! * each seed's outcome against its name: `ok-*` must decode cleanly, `err-*` must be refused
//!   with an error (so the corpus doubles as a table of expected verdicts);
//! * how much memory decoding a seed allocates (a counting global allocator: a forged length
//!   must not make a decoder allocate what the length says);
//! * a few hundred deterministic mutations (truncations, byte flips) of every seed;
//! * that every target has a seed corpus within the size budget.
//!
//! `write_seed_corpus` (ignored) regenerates the seeds:
//! `cargo test --test fuzz_corpus -- --ignored --exact write_seed_corpus`.
//!
//! Regression tests replay the inputs under `fuzz/regressions/` (and run the CLI on the same
//! bytes) that once made klog's offsets overflow.

#[path = "../fuzz/targets.rs"]
mod targets;

#[path = "common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::StrBytes;
use klog::format::batch::{BatchBuilder, compress_batch, compute_crc};
use klog::format::compression::{XERIAL_MAGIC, compress};
use klog::format::varint::put_varint;
use klog::format::{Compression, DECOMPRESS_LIMIT, Header};
use targets::{LIMIT, TARGETS};

// ---------------------------------------------------------------------------------------------
// Counting allocator: bytes live on this thread, and their high-water mark
// ---------------------------------------------------------------------------------------------

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Adds `delta` bytes to this thread's live count. Const-initialised thread-locals without
/// destructors: touching them never allocates, so this is safe inside the allocator.
fn note(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// The only unsafe code of this file: a `GlobalAlloc` must be implemented with `unsafe`, and
// every call is forwarded unchanged to `System`.
#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// caller's guarantees are `System`'s; the bookkeeping only updates plain thread-local integers.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most bytes it had allocated at once on this thread
/// (allocations made by C code, such as zstd's own context, are not seen).
fn peak_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, (peak - start).max(0) as usize)
}

/// The most a target may allocate at once for `input_len` bytes of input: a few times its
/// output limit (the decompression targets also compress and decompress their output again;
/// legacy records copy keys and values), never anything a forged length asks for.
fn allocation_bound(target: &str, input_len: usize) -> usize {
    let base = match target {
        "decode_batch" | "segment_recovery" => DECOMPRESS_LIMIT + 4 * LIMIT,
        "decode_legacy" => 8 * LIMIT,
        _ => 4 * LIMIT,
    };
    base + 4 * input_len
}

// ---------------------------------------------------------------------------------------------
// Corpus helpers
// ---------------------------------------------------------------------------------------------

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Seeds of one target directory: (file name, bytes), sorted by name.
fn files_in(dir: &Path) -> Files {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn target_fn(name: &str) -> targets::Target {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, f)| f)
        .unwrap_or_else(|| panic!("fuzz/corpus/{name}: no such target in fuzz/targets.rs"))
}

/// Runs one input through a target: `Ok(decoded cleanly?)`, or `Err(panic message)`.
fn run(target: &str, data: &[u8]) -> Result<(bool, usize), String> {
    let f = target_fn(target);
    panic::catch_unwind(AssertUnwindSafe(|| peak_allocation(|| f(data)))).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".into())
    })
}

/// Named inputs: (file name, bytes).
type Files = Vec<(String, Vec<u8>)>;

/// Every `fuzz/corpus/<target>` directory with its seeds.
fn corpus() -> Vec<(String, Files)> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fuzz_dir().join("corpus"))
        .expect("fuzz/corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|d| {
            let name = d.file_name().unwrap().to_string_lossy().into_owned();
            let files = files_in(&d);
            (name, files)
        })
        .collect()
}

/// A tiny deterministic generator (xorshift64*), so that mutations are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------------------------

proptest::proptest! {
    /// `produce_split` on generated inputs: delimiters from a small alphabet so that they
    /// occur often, any maximum up to 40, any chunking. The target compares the splitter with
    /// its reference split (the one oracle for it; the fuzzer runs the same on mutated bytes).
    #[test]
    fn produce_split_on_generated_inputs(
        input in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(b'a'),
                proptest::strategy::Just(b'b'),
                proptest::strategy::Just(b'\n'),
                proptest::prelude::any::<u8>(),
            ],
            0..400,
        ),
        delim in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(b'a'),
                proptest::strategy::Just(b'b'),
                proptest::strategy::Just(b'\n'),
            ],
            1..=4,
        ),
        max_len in 0u8..40,
        sizes in proptest::prelude::any::<[u8; 4]>(),
    ) {
        // The target's layout: [d, delimiter (d % 4 + 1 bytes), max, 4 chunk sizes, input…].
        let mut data = vec![(delim.len() - 1) as u8];
        data.extend_from_slice(&delim);
        data.push(max_len);
        data.extend_from_slice(&sizes);
        data.extend_from_slice(&input);
        targets::produce_split(&data);
    }
}

#[test]
fn allocation_tracker_sees_allocations() {
    let (v, peak) = peak_allocation(|| {
        let big = vec![1u8; 10 << 20];
        big.iter().map(|&b| b as usize).sum::<usize>()
    });
    assert_eq!(v, 10 << 20);
    assert!((10 << 20..11 << 20).contains(&peak), "peak {peak}");
    // A seed that decompresses to the limit shows up at about its size.
    let (_, peak) = peak_allocation(|| {
        let mut out = Vec::new();
        let z = {
            let mut c = Vec::new();
            compress(Compression::Gzip, &vec![7u8; LIMIT], &mut c);
            c
        };
        klog::format::compression::decompress(Compression::Gzip, &z, &mut out, LIMIT).unwrap();
        out.len()
    });
    assert!(peak >= LIMIT, "peak {peak}");
}

#[test]
fn every_target_has_a_small_seed_corpus() {
    let corpus = corpus();
    let names: Vec<&str> = corpus.iter().map(|(n, _)| n.as_str()).collect();
    let targets: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    let mut sorted_targets = targets.clone();
    sorted_targets.sort_unstable();
    assert_eq!(names, sorted_targets, "fuzz/corpus directories vs targets");
    for (target, files) in &corpus {
        let ok = files.iter().filter(|(n, _)| n.starts_with("ok-")).count();
        let err = files.iter().filter(|(n, _)| n.starts_with("err-")).count();
        assert!(
            ok >= 2 && err >= 2,
            "{target}: {ok} ok- and {err} err- seeds"
        );
        assert_eq!(ok + err, files.len(), "{target}: seeds named ok-* or err-*");
        let total: usize = files.iter().map(|(_, d)| d.len()).sum();
        assert!(total <= 12 * 1024, "{target}: seed corpus is {total} bytes");
    }
    // Every target is built by the fuzz crate.
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for t in targets {
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{t}.rs\"")),
            "{t} not in fuzz/Cargo.toml"
        );
        let src = fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{t}.rs"))).unwrap();
        assert!(
            src.contains(&format!("targets::{t}(data)")),
            "fuzz_targets/{t}.rs does not call targets::{t}"
        );
    }
}

#[test]
fn seed_corpus_replays_without_panics_and_with_the_named_outcome() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (target, files) in corpus() {
        for (name, data) in files {
            replayed += 1;
            let what = format!("fuzz/corpus/{target}/{name}");
            match run(&target, &data) {
                Err(msg) => failures.push(format!("{what}: panicked: {msg}")),
                Ok((ok, peak)) => {
                    let want = name.starts_with("ok-");
                    if ok != want {
                        failures.push(format!(
                            "{what}: decoded {}, named {}",
                            if ok { "cleanly" } else { "with an error" },
                            if want { "ok-" } else { "err-" }
                        ));
                    }
                    let bound = allocation_bound(&target, data.len());
                    if peak > bound {
                        failures.push(format!("{what}: allocated {peak} bytes at once"));
                    }
                }
            }
        }
    }
    assert!(replayed >= 50, "only {replayed} seeds");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Replays one target's seeds with the named verdicts (the test above does every target at
/// once; these name the target that fails).
fn replay_target(target: &str) {
    let files = files_in(&fuzz_dir().join("corpus").join(target));
    assert!(files.len() >= 4, "{target}: {} seeds", files.len());
    for (name, data) in files {
        match run(target, &data) {
            Err(msg) => panic!("fuzz/corpus/{target}/{name}: panicked: {msg}"),
            Ok((ok, _)) => assert_eq!(ok, name.starts_with("ok-"), "fuzz/corpus/{target}/{name}"),
        }
    }
}

#[test]
fn replay_index_lookup() {
    replay_target("index_lookup");
}

#[test]
fn replay_segment_recovery() {
    replay_target("segment_recovery");
}

#[test]
fn replay_produce_split() {
    replay_target("produce_split");
}

#[test]
fn replay_produce_json() {
    replay_target("produce_json");
}

#[test]
fn replay_serve_request() {
    replay_target("serve_request");
}

#[test]
fn replay_sasl_scram() {
    replay_target("sasl_scram");
}

#[test]
fn replay_unescape() {
    replay_target("unescape");
}

#[test]
fn mutated_seeds_never_panic_or_over_allocate() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for (target, files) in corpus() {
        for (name, data) in files {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ data.len() as u64);
            let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
            for k in 1..8 {
                let cut = data.len() * k / 8;
                inputs.push((format!("cut at {cut}"), data[..cut].to_vec()));
            }
            if !data.is_empty() {
                for _ in 0..24 {
                    let mut m = data.clone();
                    let i = rng.below(m.len());
                    let x = (rng.next() as u8) | 1;
                    m[i] ^= x;
                    inputs.push((format!("byte {i} ^ {x:#04x}"), m));
                }
                for _ in 0..4 {
                    let mut m = data.clone();
                    for _ in 0..6 {
                        let i = rng.below(m.len());
                        m[i] = rng.next() as u8;
                    }
                    inputs.push(("6 random bytes".into(), m));
                }
            }
            for (how, m) in inputs {
                runs += 1;
                match run(&target, &m) {
                    Err(msg) => {
                        failures.push(format!("{target}/{name} ({how}): panicked: {msg}"));
                    }
                    Ok((_, peak)) if peak > allocation_bound(&target, m.len()) => {
                        failures.push(format!("{target}/{name} ({how}): allocated {peak}"));
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    assert!(runs > 1000, "only {runs} mutated inputs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Fixed bugs: inputs under fuzz/regressions/<target>/ that once made a target panic
// ---------------------------------------------------------------------------------------------

fn replay_regressions(target: &str) {
    let files = files_in(&fuzz_dir().join("regressions").join(target));
    assert!(!files.is_empty(), "no regression inputs for {target}");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|(name, data)| {
            run(target, data)
                .err()
                .map(|msg| format!("fuzz/regressions/{target}/{name}: panicked: {msg}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A v2 batch whose base offset is near `i64::MAX`: the base offset is not covered by the CRC,
/// so one damaged field passes `RecordBatch::decode`, and `BatchHeader::last_offset()`
/// (`base_offset + last_offset_delta`, unchecked) overflows.
#[test]
fn regression_decode_batch_base_offset_overflow() {
    replay_regressions("decode_batch");
}

/// The same inputs in partition directories: a v2 batch at base offset `i64::MAX - 2` (topic
/// `v2`) and a v1 gzip wrapper at offset `i64::MIN` (topic `v1`). Commands that read them panic
/// (exit 101) in a debug build instead of reporting a corrupt segment.
#[test]
fn cli_does_not_panic_on_offsets_near_the_i64_limits() {
    let tmp = tempfile::tempdir().unwrap();
    for (topic, data) in [
        ("v2", base_offset_overflow_batch()),
        ("v1", legacy_offset_overflow_wrapper()),
    ] {
        let dir = tmp.path().join(format!("{topic}-0"));
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("00000000000000000000.log"), data).unwrap();
    }
    let mut panics = Vec::new();
    for topic in ["v2", "v1"] {
        for args in [
            &["consume", topic][..],
            &["segments", "dump", topic, "--records"],
            &["segments", "verify", topic],
            &["segments", "list", topic],
            &["topics", "describe", topic],
        ] {
            let out = Command::new(env!("CARGO_BIN_EXE_klog"))
                .env_remove("KLOG_DIR")
                .arg("--dir")
                .arg(tmp.path())
                .args(args)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() == Some(101) || stderr.contains("panicked") {
                panics.push(format!(
                    "klog {}: {}",
                    args.join(" "),
                    stderr
                        .lines()
                        .skip_while(|l| !l.contains("panicked"))
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
        }
    }
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}

/// A v1 compressed wrapper whose offset (not covered by the CRC) is `i64::MIN`: resolving the
/// inner messages' relative offsets computes `wrapper offset - last inner offset` unchecked.
#[test]
fn regression_decode_legacy_wrapper_offset_overflow() {
    replay_regressions("decode_legacy");
}

// ---------------------------------------------------------------------------------------------
// Seed generation
// ---------------------------------------------------------------------------------------------

/// Some Kafka-looking text (about 2.4 KB, compressible).
fn text() -> Vec<u8> {
    let mut t = Vec::new();
    for i in 0..40 {
        writeln!(
            t,
            "{{\"user\":\"user-{}\",\"event\":\"click\",\"seq\":{i},\"page\":\"/p/{}\"}}",
            i % 7,
            i * 13 % 29
        )
        .unwrap();
    }
    t
}

fn packed(codec: Compression, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    compress(codec, data, &mut out);
    out
}

/// The records section of the first batch of a kafka-python fixture, if the fixtures exist.
fn fixture_section(codec: &str) -> Option<Vec<u8>> {
    fixture_batch(codec).map(|b| b[61..].to_vec())
}

/// The first batch of a kafka-python fixture, if the fixtures exist.
fn fixture_batch(codec: &str) -> Option<Vec<u8>> {
    let path = common::fixtures::shared_fixtures()?
        .join(format!("kafka-python/{codec}/00000000000000000000.log"));
    let data = fs::read(path).ok()?;
    let len = i32::from_be_bytes(data[8..12].try_into().unwrap()) as usize;
    Some(data[..12 + len].to_vec())
}

/// A file from `../shared/fixtures/kafka`, if present.
fn fixture_file(rel: &str) -> Option<Vec<u8>> {
    fs::read(common::fixtures::shared_fixtures()?.join("kafka").join(rel)).ok()
}

/// Sets a v2 batch's length to its size and recomputes the CRC.
fn fix_batch(mut b: Vec<u8>) -> Vec<u8> {
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = compute_crc(&b);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// An uncompressed v2 batch of `n` small records.
fn built_batch(n: usize) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        let key = format!("key-{i}");
        let value = format!("value {i} value {i}");
        let headers = [Header {
            key: b"trace",
            value: if i % 2 == 0 { Some(b"t") } else { None },
        }];
        b.append(
            1_700_000_000_000 + i as i64,
            Some(key.as_bytes()),
            Some(value.as_bytes()),
            if i % 3 == 0 { &headers[..] } else { &[] },
        );
    }
    b.finish()
}

/// A batch header (from a built batch) followed by `records`, with `count` records declared.
fn batch_with_records(records: &[u8], count: i32, attributes: i16) -> Vec<u8> {
    let mut b = built_batch(1)[..61].to_vec();
    b[21..23].copy_from_slice(&attributes.to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    b.extend_from_slice(records);
    fix_batch(b)
}

/// The bug input for `regression_decode_batch_base_offset_overflow`: 5 records at base offset
/// `i64::MAX - 2`, CRC valid.
fn base_offset_overflow_batch() -> Vec<u8> {
    let mut b = built_batch(5);
    b[0..8].copy_from_slice(&(i64::MAX - 2).to_be_bytes());
    b
}

/// The bug input for `regression_decode_legacy_wrapper_offset_overflow`: a v1 gzip wrapper at
/// offset `i64::MIN` around inner messages with relative offsets 0..=2, CRC valid.
fn legacy_offset_overflow_wrapper() -> Vec<u8> {
    wrapper(i64::MIN, 1, Compression::Gzip, &inner_set(1, 0, 3))
}

/// A legacy (v0/v1) message with a correct size and CRC.
fn legacy_message(
    offset: i64,
    magic: u8,
    attributes: u8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Vec<u8> {
    let mut body = vec![magic, attributes];
    if magic == 1 {
        body.extend_from_slice(&timestamp.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                body.extend_from_slice(b);
            }
        }
    }
    let mut out = offset.to_be_bytes().to_vec();
    out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Recomputes a legacy message's CRC (after editing bytes 16..).
fn fix_legacy(mut m: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&m[16..]);
    m[12..16].copy_from_slice(&crc.to_be_bytes());
    m
}

/// `n` inner messages for a compressed wrapper, offsets `first..first + n`.
fn inner_set(magic: u8, first: i64, n: i64) -> Vec<u8> {
    let mut set = Vec::new();
    for i in 0..n {
        let key = format!("k{i}");
        let value = format!("inner message {i}");
        set.extend(legacy_message(
            first + i,
            magic,
            0,
            1_479_457_582_140 + i,
            Some(key.as_bytes()),
            Some(value.as_bytes()),
        ));
    }
    set
}

/// A compressed wrapper message around `inner`.
fn wrapper(offset: i64, magic: u8, codec: Compression, inner: &[u8]) -> Vec<u8> {
    let value = packed(codec, inner);
    legacy_message(
        offset,
        magic,
        codec.id(),
        1_479_457_582_999,
        None,
        Some(&value),
    )
}

fn xxh32(data: &[u8]) -> u32 {
    twox_hash::XxHash32::oneshot(0, data)
}

/// Every seed: (target, file name, bytes). Names say the expected verdict: `ok-` decodes,
/// `err-` is refused.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut s: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add = |t: &'static str, name: &str, data: Vec<u8>| s.push((t, name.to_string(), data));
    let text = text();

    // gzip
    let t = "decompress_gzip";
    let gz = packed(Compression::Gzip, &text);
    add(t, "ok-text", gz.clone());
    add(t, "ok-empty-input", Vec::new());
    add(
        t,
        "ok-two-members",
        [gz.clone(), packed(Compression::Gzip, b"more")].concat(),
    );
    add(
        t,
        "ok-trailing-garbage",
        [gz.clone(), b"not a gzip header".to_vec()].concat(),
    );
    if let Some(f) = fixture_section("gzip") {
        add(t, "ok-kafka-python", f);
    }
    add(t, "err-truncated", gz[..gz.len() / 2].to_vec());
    let mut bogus = gz.clone();
    let n = bogus.len();
    bogus[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    add(t, "err-bogus-isize", bogus);
    let mut bad_crc = gz.clone();
    bad_crc[n - 8] ^= 0xFF;
    add(t, "err-bad-crc32", bad_crc);
    let mut bad_method = gz.clone();
    bad_method[2] = 7;
    add(t, "err-bad-method", bad_method);
    add(
        t,
        "err-over-limit",
        packed(Compression::Gzip, &vec![0; LIMIT + 1]),
    );

    // snappy
    let t = "decompress_snappy";
    let big = text.repeat(17); // > 32 KiB: two xerial blocks
    let sn = packed(Compression::Snappy, &big);
    add(t, "ok-two-blocks", sn.clone());
    add(
        t,
        "ok-raw-block",
        snap::raw::Encoder::new().compress_vec(&text).unwrap(),
    );
    add(
        t,
        "ok-concatenated",
        [
            packed(Compression::Snappy, b"one "),
            packed(Compression::Snappy, b"two"),
        ]
        .concat(),
    );
    if let Some(f) = fixture_section("snappy") {
        add(t, "ok-kafka-python", f);
    }
    let header = {
        let mut h = XERIAL_MAGIC.to_vec();
        h.extend_from_slice(&1i32.to_be_bytes());
        h.extend_from_slice(&1i32.to_be_bytes());
        h
    };
    add(
        t,
        "err-block-length-2pow31",
        [&header[..], &0x8000_0000u32.to_be_bytes(), b"abcdefgh"].concat(),
    );
    add(
        t,
        "err-block-length-2pow31-minus-1",
        [&header[..], &0x7FFF_FFFFu32.to_be_bytes(), b"abcdefgh"].concat(),
    );
    // A raw block whose preamble (uncompressed length varint) says 2^32 - 1.
    add(
        t,
        "err-raw-block-declares-4gib",
        vec![0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 0x61],
    );
    // A xerial block whose preamble says 2 MiB, over the limit.
    let block = [0x80, 0x80, 0x80, 0x01, 0x00, 0x61];
    add(
        t,
        "err-block-declares-2mib",
        [&header[..], &(block.len() as u32).to_be_bytes(), &block].concat(),
    );
    add(t, "err-truncated", sn[..sn.len() - 5].to_vec());
    let mut v0 = header.clone();
    v0[8..12].copy_from_slice(&0i32.to_be_bytes());
    add(t, "err-version-0", [v0, sn[16..].to_vec()].concat());

    // lz4
    let t = "decompress_lz4";
    let lz = packed(Compression::Lz4, &text);
    add(t, "ok-frame", lz.clone());
    if let Some(f) = fixture_section("lz4") {
        add(t, "ok-kafka-python", f);
    }
    let checked = {
        use lz4_flex::frame::{FrameEncoder, FrameInfo};
        let info = FrameInfo::new()
            .block_checksums(true)
            .content_checksum(true)
            .content_size(Some(text.len() as u64));
        let mut e = FrameEncoder::with_frame_info(info, Vec::new());
        e.write_all(&text).unwrap();
        e.finish().unwrap()
    };
    add(t, "ok-checksums-and-content-size", checked.clone());
    add(
        t,
        "ok-skippable-then-frame",
        [
            vec![0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3],
            lz.clone(),
        ]
        .concat(),
    );
    // Header (magic, FLG, BD, HC) then a block whose size word says 0x7FFF_FFF0.
    add(
        t,
        "err-huge-block-size",
        [&lz[..7], &0x7FFF_FFF0u32.to_le_bytes(), b"abcdefgh"].concat(),
    );
    add(
        t,
        "err-huge-stored-block",
        [&lz[..7], &0xFFFF_FFF0u32.to_le_bytes(), b"abcdefgh"].concat(),
    );
    // Content size field (bytes 6..14 of a frame with FLG content-size bit) says 2^62.
    let mut huge = checked.clone();
    huge[6..14].copy_from_slice(&(1u64 << 62).to_le_bytes());
    huge[14] = (xxh32(&huge[4..14]) >> 8) as u8;
    add(t, "err-content-size-2pow62", huge);
    let mut bad_hc = lz.clone();
    bad_hc[6] ^= 0x55;
    add(t, "err-bad-header-checksum", bad_hc);
    add(t, "err-truncated", lz[..lz.len() - 6].to_vec());
    add(
        t,
        "err-over-limit",
        packed(Compression::Lz4, &vec![0; LIMIT + 1]),
    );

    // zstd
    let t = "decompress_zstd";
    let zs = packed(Compression::Zstd, &text);
    add(t, "ok-frame", zs.clone());
    if let Some(f) = fixture_section("zstd") {
        add(t, "ok-kafka-python", f);
    }
    let streamed = {
        use zstd::zstd_safe::CParameter;
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.set_parameter(CParameter::WindowLog(27)).unwrap();
        e.include_contentsize(false).unwrap();
        e.write_all(&text).unwrap();
        e.finish().unwrap()
    };
    add(t, "ok-streamed-128mib-window", streamed);
    add(
        t,
        "ok-two-frames",
        [zs.clone(), packed(Compression::Zstd, b"again")].concat(),
    );
    // Single-segment frame declaring 2^40 bytes of content, holding a 5-byte raw block.
    let mut forged = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    forged.extend_from_slice(&(1u64 << 40).to_le_bytes());
    forged.extend_from_slice(&[0x29, 0x00, 0x00]);
    forged.extend_from_slice(b"hello");
    add(t, "err-content-size-2pow40", forged);
    add(t, "err-truncated", zs[..zs.len() - 4].to_vec());
    add(
        t,
        "err-over-limit",
        packed(Compression::Zstd, &vec![0; 2 * LIMIT]),
    );
    let mut bad_magic = zs.clone();
    bad_magic[0] = 0x29;
    add(t, "err-bad-magic", bad_magic);

    // v2 batches
    let t = "decode_batch";
    let batch = built_batch(4);
    add(t, "ok-built", batch.clone());
    if let Some(f) =
        fixture_file("cobyforrester__kafka/data/kafka/TOPIC_NAME-1/00000000000000000000.log")
    {
        add(t, "ok-broker-topic-name-1", f);
    }
    if let Some(f) =
        fixture_file("ronem123__rupia-transaction-service/kafka-logs/bootstrap.checkpoint")
    {
        let len = i32::from_be_bytes(f[8..12].try_into().unwrap()) as usize;
        add(t, "ok-kraft-control-batch", f[..12 + len].to_vec());
    }
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        if let Some(b) = fixture_batch(codec) {
            add(t, &format!("ok-kafka-python-{codec}"), b);
        }
    }
    let mut klog_zstd = Vec::new();
    compress_batch(&built_batch(6), Compression::Zstd, &mut klog_zstd);
    add(t, "ok-klog-zstd", klog_zstd);
    let mut crc = batch.clone();
    *crc.last_mut().unwrap() ^= 1;
    add(t, "err-crc-mismatch", crc);
    add(t, "err-truncated", batch[..batch.len() - 3].to_vec());
    let mut count = batch.clone();
    count[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    add(t, "err-records-count-i32-max", fix_batch(count));
    // One record whose length varint says 2^30.
    let mut rec = Vec::new();
    put_varint(&mut rec, 1 << 30);
    rec.extend_from_slice(&[0, 0, 0, 1, 1, 0]);
    add(
        t,
        "err-record-length-2pow30",
        batch_with_records(&rec, 1, 0),
    );
    // One record declaring 2^30 headers.
    let mut body = vec![0u8, 0, 0]; // attributes, timestamp delta, offset delta
    put_varint(&mut body, -1); // key
    put_varint(&mut body, -1); // value
    put_varint(&mut body, 1 << 30); // header count
    body.extend_from_slice(&[2, b'h', 0]);
    let mut rec = Vec::new();
    put_varint(&mut rec, body.len() as i32);
    rec.extend_from_slice(&body);
    add(t, "err-header-count-2pow30", batch_with_records(&rec, 1, 0));
    // A snappy batch whose xerial block length says 2^31 - 1.
    let section = [&header[..], &0x7FFF_FFFFu32.to_be_bytes(), b"abcd"].concat();
    add(
        t,
        "err-snappy-forged-block-length",
        batch_with_records(&section, 1, 2),
    );
    add(t, "err-codec-7", batch_with_records(&batch[61..], 4, 7));
    let mut magic1 = batch.clone();
    magic1[16] = 1;
    add(t, "err-magic-1", magic1);

    // legacy messages
    let t = "decode_legacy";
    add(
        t,
        "ok-v0-message",
        legacy_message(7, 0, 0, -1, Some(b"key"), Some(b"value")),
    );
    add(
        t,
        "ok-v1-null-key",
        legacy_message(3, 1, 0, 1_479_457_582_140, None, Some(b"Message_1")),
    );
    if let Some(f) = fixture_file(
        "xpxwo100__bullShit/tmp/kafka-logs/__consumer_offsets-40/00000000000000000000.log",
    ) {
        add(t, "ok-broker-v1-offset-commit", f[250..331].to_vec());
    }
    add(
        t,
        "ok-v1-gzip-wrapper",
        wrapper(102, 1, Compression::Gzip, &inner_set(1, 0, 3)),
    );
    add(
        t,
        "ok-v0-snappy-wrapper",
        wrapper(52, 0, Compression::Snappy, &inner_set(0, 50, 3)),
    );
    // Kafka's magic-0 lz4 writer hashed magic + descriptor into the header checksum.
    let inner = inner_set(0, 10, 2);
    let mut value = packed(Compression::Lz4, &inner);
    value[6] = (xxh32(&value[0..6]) >> 8) as u8;
    add(
        t,
        "ok-v0-lz4-wrapper-kafka-header-checksum",
        legacy_message(11, 0, 3, -1, None, Some(&value)),
    );
    let m = legacy_message(3, 1, 0, 5, Some(b"k"), Some(b"v"));
    let mut crc = m.clone();
    *crc.last_mut().unwrap() ^= 1;
    add(t, "err-crc-mismatch", crc);
    add(t, "err-truncated", m[..m.len() - 1].to_vec());
    let mut key_len = m.clone();
    key_len[26..30].copy_from_slice(&i32::MAX.to_be_bytes());
    add(t, "err-key-length-i32-max", fix_legacy(key_len));
    let mut magic2 = m.clone();
    magic2[16] = 2;
    add(t, "err-magic-2", fix_legacy(magic2));
    add(
        t,
        "err-wrapper-not-messages",
        wrapper(9, 1, Compression::Gzip, b"not a message set"),
    );
    add(
        t,
        "err-wrapper-over-limit",
        wrapper(9, 1, Compression::Zstd, &vec![0; 2 * LIMIT]),
    );
    add(
        t,
        "err-inner-magic-differs",
        wrapper(5, 1, Compression::Snappy, &inner_set(0, 0, 2)),
    );
    let mut empty = legacy_message(1, 1, 1, 5, None, Some(&[]));
    empty = fix_legacy(empty);
    add(t, "err-wrapper-empty-value", empty);

    index_seeds(&mut add);
    segment_seeds(&mut add);
    produce_seeds(&mut add);
    s
}

/// `index_lookup` input: base selector, split point (little-endian u16), `.index`, `.timeindex`.
fn index_input(base_sel: u8, idx: &[u8], tidx: &[u8]) -> Vec<u8> {
    let split = idx.len() as u16;
    [&[base_sel][..], &split.to_le_bytes(), idx, tidx].concat()
}

/// Offset index bytes: `(relative offset, position)` entries, then `zeros` empty slots.
fn offset_index(entries: &[(u32, u32)], zeros: usize) -> Vec<u8> {
    let mut b: Vec<u8> = entries
        .iter()
        .flat_map(|&(r, p)| [r.to_be_bytes(), p.to_be_bytes()].concat())
        .collect();
    b.resize(b.len() + 8 * zeros, 0);
    b
}

/// Time index bytes: `(timestamp, relative offset)` entries, then `zeros` empty slots.
fn time_index(entries: &[(i64, u32)], zeros: usize) -> Vec<u8> {
    let mut b: Vec<u8> = entries
        .iter()
        .flat_map(|&(t, r)| [&t.to_be_bytes()[..], &r.to_be_bytes()].concat())
        .collect();
    b.resize(b.len() + 12 * zeros, 0);
    b
}

fn index_seeds(add: &mut impl FnMut(&'static str, &str, Vec<u8>)) {
    let t = "index_lookup";
    let offsets = offset_index(&[(5, 4100), (9, 8200), (20, 12300), (31, 16400)], 3);
    let times = time_index(
        &[
            (1_700_000_000_005, 5),
            (1_700_000_000_009, 9),
            (1_700_000_000_020, 20),
        ],
        2,
    );
    add(
        t,
        "ok-sorted-preallocated",
        index_input(0, &offsets, &times),
    );
    add(
        t,
        "ok-sorted-trimmed",
        index_input(1, &offsets[..32], &times[..36]),
    );
    add(t, "ok-empty", index_input(0, &[], &[]));
    add(t, "ok-base-near-i64-max", index_input(2, &offsets, &times));
    let broker = "andrei755006__patient-management-system/history/0f61f348c1/kafka/data/\
                  __consumer_offsets-0/00000000000000000039";
    if let (Some(i), Some(ti)) = (
        fixture_file(&format!("{broker}.index")),
        fixture_file(&format!("{broker}.timeindex")),
    ) {
        add(t, "ok-broker-consumer-offsets", index_input(1, &i, &ti));
    }
    add(
        t,
        "err-offsets-decrease",
        index_input(
            0,
            &offset_index(&[(20, 12300), (9, 8200), (5, 4100)], 1),
            &times,
        ),
    );
    add(
        t,
        "err-timestamps-decrease",
        index_input(
            0,
            &offsets,
            &time_index(&[(30, 9), (20, 10), (-5, 11), (i64::MIN, 12)], 0),
        ),
    );
    add(
        t,
        "ok-entries-end-at-the-first-zero-slot",
        index_input(0, &offset_index(&[(5, 4100), (0, 0), (9, 8200)], 0), &[]),
    );
    add(
        t,
        "err-partial-entries",
        index_input(0, &offsets[..13], &times[..17]),
    );
    // Relative offsets past i64::MAX when added to the segment's base offset.
    add(
        t,
        "err-base-i64-max",
        index_input(
            3,
            &offset_index(&[(1, 100), (u32::MAX, 200)], 1),
            &time_index(&[(10, 1), (20, u32::MAX)], 1),
        ),
    );
}

/// A v2 batch of `n` small records at base offset `base`.
fn batch_at(base: i64, n: usize) -> Vec<u8> {
    let mut b = built_batch(n);
    b[..8].copy_from_slice(&base.to_be_bytes());
    b
}

/// `segment_recovery` input: flags (klog batches first: `min(flags & 3, 2)`; bit 2: repair
/// before recovery), index interval / 16, then the bytes after those batches.
fn segment_input(flags: u8, interval: u8, rest: &[u8]) -> Vec<u8> {
    [&[flags, interval][..], rest].concat()
}

fn segment_seeds(add: &mut impl FnMut(&'static str, &str, Vec<u8>)) {
    let t = "segment_recovery";
    // With `flags & 3 == 2` the target writes batches of 1 and 2 records: offsets 0..3.
    add(t, "ok-two-batches", segment_input(2, 0, &[]));
    add(t, "ok-empty", segment_input(0, 0, &[]));
    add(
        t,
        "ok-three-batches-small-index-interval",
        segment_input(6, 1, &batch_at(3, 4)),
    );
    if let Some(f) =
        fixture_file("cobyforrester__kafka/data/kafka/TOPIC_NAME-1/00000000000000000000.log")
    {
        add(t, "ok-broker-segment", segment_input(0, 0, &f));
    }
    let next = batch_at(3, 4);
    add(
        t,
        "err-torn-tail",
        segment_input(2, 0, &next[..next.len() - 7]),
    );
    let mut flipped = next.clone();
    flipped[70] ^= 0x40;
    add(t, "err-crc-mismatch", segment_input(2, 0, &flipped));
    add(t, "err-zeros", segment_input(1, 0, &[0; 64]));
    // Garbage, then a valid batch: repair moves it to a segment of its own, recovery cuts it.
    let garbage_then_batch = [&b"not a batch at all"[..], &batch_at(10, 2)].concat();
    // Repair once failed on garbage before batches from the segment's own base offset.
    add(
        t,
        "err-garbage-then-batch-at-the-segment-base",
        segment_input(
            4,
            0,
            &[&b"not a batch at all"[..], &batch_at(0, 2)].concat(),
        ),
    );
    add(
        t,
        "err-garbage-then-batch-repair-first",
        segment_input(6, 1, &garbage_then_batch),
    );
    add(
        t,
        "err-garbage-then-batch-recover-first",
        segment_input(2, 1, &garbage_then_batch),
    );
    // Batches whose base offsets (not under the CRC) are far from the segment base.
    add(
        t,
        "ok-batch-2pow40-past-the-base",
        segment_input(2, 0, &batch_at((1 << 40) + 3, 2)),
    );
    add(
        t,
        "ok-batch-near-i64-max",
        segment_input(2, 0, &batch_at(i64::MAX - 10, 2)),
    );
    add(
        t,
        "err-offsets-go-back",
        segment_input(2, 0, &batch_at(1, 1)),
    );
}

/// `produce_split` input: delimiter, max record length, 4 chunk sizes, the input.
fn split_input(delim: &[u8], max: u8, sizes: [u8; 4], input: &[u8]) -> Vec<u8> {
    assert!((1..=4).contains(&delim.len()));
    [&[(delim.len() - 1) as u8][..], delim, &[max], &sizes, input].concat()
}

fn produce_seeds(add: &mut impl FnMut(&'static str, &str, Vec<u8>)) {
    let t = "produce_split";
    add(
        t,
        "ok-lines",
        split_input(b"\n", 255, [7, 64, 3, 200], b"one\ntwo\n\nthree\nlast"),
    );
    add(
        t,
        "ok-crlf-straddling",
        split_input(b"\r\n", 100, [1, 2, 3, 4], b"a\r\nb\n\r\n\r\nc\r"),
    );
    add(
        t,
        "ok-overlapping-delimiter",
        split_input(b"||", 100, [2, 1, 5, 3], b"||x|y||||||z|||"),
    );
    add(
        t,
        "ok-nul",
        split_input(b"\0", 10, [9, 9, 9, 9], b"./a\0./b/c\0./d e\0"),
    );
    add(
        t,
        "err-too-long-line",
        split_input(b"\n", 4, [3, 3, 3, 3], b"ok\nxxxxxxxxxxxxxxxxxxxx\nafter\n"),
    );
    add(
        t,
        "err-too-long-delimiter-straddles-while-skipping",
        split_input(b"END!", 8, [14, 3, 64, 64], b"xxxxxxxxxxxxxxxxEND!nextEND!"),
    );
    add(
        t,
        "err-too-long-last-record",
        split_input(b"\n", 2, [2, 2, 2, 2], b"a\nbbbbbbbb"),
    );
    add(t, "err-no-chunk-sizes", vec![3, b'a', b'b']);

    let t = "produce_json";
    add(
        t,
        "ok-consume-line",
        br#"{"topic":"t","partition":0,"offset":42,"timestamp":1714564800000,"timestamp_type":"CreateTime","key":"k","value":{"base64":"AP8="},"headers":[["h","v"],["h",null]]}"#.to_vec(),
    );
    add(t, "ok-empty-object", b"{}".to_vec());
    add(
        t,
        "ok-escapes-and-nulls",
        br#"{"key":null,"value":"\u00e9\ud83e\udd80 \"q\" \n","headers":null,"partition":null,"timestamp":null}"#.to_vec(),
    );
    add(t, "err-not-an-object", b"[1]".to_vec());
    add(
        t,
        "err-bad-base64",
        br#"{"value":{"base64":"%%"}}"#.to_vec(),
    );
    add(t, "err-negative-partition", br#"{"partition":-1}"#.to_vec());
    add(
        t,
        "err-header-without-value",
        br#"{"headers":[["h"]]}"#.to_vec(),
    );
    add(t, "err-truncated", br#"{"value":"abc"#.to_vec());

    let t = "unescape";
    add(
        t,
        "ok-every-escape",
        br"\n\t\r\0\\\x00\xff\xAb plain".to_vec(),
    );
    add(t, "ok-non-ascii", "é::🦀".as_bytes().to_vec());
    add(t, "ok-invalid-utf8", vec![b'a', 0xff, 0xfe, b'b']);
    add(t, "err-unknown-escape", br"ab\q".to_vec());
    add(t, "err-short-hex", br"\x1".to_vec());
    add(t, "err-sign-in-hex", br"\x+1".to_vec());
    add(t, "err-lone-backslash", b"tab\\".to_vec());
    add(t, "err-escaped-non-ascii", "\\é".as_bytes().to_vec());

    let t = "serve_request";
    add(
        t,
        "ok-api-versions-v3",
        request_frame(ApiKey::ApiVersions, 3, api_versions()),
    );
    add(
        t,
        "ok-api-versions-too-new",
        request_frame(ApiKey::ApiVersions, 9, api_versions()),
    );
    let join = join_group();
    add(
        t,
        "ok-join-group-v5",
        request_frame(ApiKey::JoinGroup, 5, join.clone()),
    );
    add(
        t,
        "ok-join-group-v7",
        request_frame(ApiKey::JoinGroup, 7, join.clone()),
    );
    add(
        t,
        "ok-produce-v9",
        request_frame(ApiKey::Produce, 9, produce(built_batch(3))),
    );
    // Key, version, correlation id, a null client id.
    let bare = |key: i16, version: i16| {
        [
            &key.to_be_bytes()[..],
            &version.to_be_bytes(),
            &7i32.to_be_bytes(),
            &[0xff, 0xff],
        ]
        .concat()
    };
    add(
        t,
        "err-unknown-key",
        bare(ApiKey::ListTransactions as i16, 0),
    );
    add(t, "err-fetch-v13", bare(ApiKey::Fetch as i16, 13));
    let cut = request_frame(ApiKey::JoinGroup, 5, join);
    add(t, "err-join-group-cut", cut[..cut.len() - 3].to_vec());
    add(t, "err-no-header", vec![0, 18, 0]);

    let t = "sasl_scram";
    let with = |kind: u8, m: &[u8]| [&[kind][..], m].concat();
    add(
        t,
        "ok-client-first",
        with(0, b"n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL"),
    );
    add(
        t,
        "ok-client-first-escaped",
        with(0, b"n,a=a=2Cb,n=a=2Cb,r=x,ext=1"),
    );
    add(t, "ok-client-final", with(1, b"c=biws,r=abcdef,p=AAEC"));
    add(t, "ok-plain", with(2, b"\0alice\0pw"));
    add(
        t,
        "ok-scram-exchange",
        with(3, b"n,,n=alice,r=abc\0c=biws,r=abcxyz,p=AAAA"),
    );
    add(t, "err-channel-binding", with(0, b"p=tls-unique,,n=a,r=x"));
    add(t, "err-bad-escape", with(0, b"n,,n=a=2Xb,r=x"));
    add(t, "err-final-without-proof", with(1, b"c=biws,r=abc"));
    add(t, "err-plain-wrong-password", with(2, b"\0alice\0nope"));
    add(t, "err-scram-first-garbled", with(3, b"n,,r=abc"));
    add(t, "err-empty", Vec::new());
}

/// A request frame without its size prefix: header (client id "fuzz"), then the body.
fn request_frame(api: ApiKey, version: i16, body: RequestKind) -> Vec<u8> {
    use kafka_protocol::protocol::Encodable;
    let mut b = bytes::BytesMut::new();
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("fuzz")));
    // Versions the crate does not have are written at the highest it has, as a client that
    // knows a newer version would.
    let v = version.min(api.valid_versions().max);
    header
        .encode(&mut b, api.request_header_version(v))
        .unwrap();
    body.encode(&mut b, v).unwrap();
    let mut out = b.to_vec();
    out[2..4].copy_from_slice(&version.to_be_bytes());
    out
}

fn api_versions() -> RequestKind {
    RequestKind::ApiVersions(
        kafka_protocol::messages::ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("fuzz"))
            .with_client_software_version(StrBytes::from_static_str("1")),
    )
}

fn join_group() -> RequestKind {
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    RequestKind::JoinGroup(
        kafka_protocol::messages::JoinGroupRequest::default()
            .with_group_id(StrBytes::from_static_str("g").into())
            .with_session_timeout_ms(45_000)
            .with_rebalance_timeout_ms(300_000)
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![
                JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str("range"))
                    .with_metadata(bytes::Bytes::from_static(b"\0\0\0\0\0\x01\0\x01t\0\0\0\0")),
            ]),
    )
}

fn produce(batch: Vec<u8>) -> RequestKind {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    RequestKind::Produce(
        kafka_protocol::messages::ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(1000)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(StrBytes::from_static_str("t").into())
                    .with_partition_data(vec![
                        PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(bytes::Bytes::from(batch))),
                    ]),
            ]),
    )
}

/// Inputs that still make a target panic (see the ignored `regression_*` tests).
fn regressions() -> Vec<(&'static str, String, Vec<u8>)> {
    vec![
        (
            "decode_batch",
            "base-offset-near-i64-max".into(),
            base_offset_overflow_batch(),
        ),
        (
            "decode_legacy",
            "v1-wrapper-offset-i64-min".into(),
            legacy_offset_overflow_wrapper(),
        ),
    ]
}

#[test]
#[ignore = "generator: rewrites fuzz/corpus and fuzz/regressions (run with --ignored --exact)"]
fn write_seed_corpus() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    assert!(
        fixtures.is_dir(),
        "{} not found: the seeds taken from it would silently go missing from the corpus",
        fixtures.display()
    );
    for (dir, entries) in [("corpus", seeds()), ("regressions", regressions())] {
        let root = fuzz_dir().join(dir);
        if root.exists() {
            fs::remove_dir_all(&root).unwrap();
        }
        for (target, name, data) in entries {
            let d = root.join(target);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(name), data).unwrap();
        }
    }
}
