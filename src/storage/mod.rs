//! Storage: one partition's log on disk, as Kafka lays it out.
//!
//! A partition is a directory `<topic>-<partition>/` holding segments: `<base>.log` (record
//! batches back to back), `<base>.index` and `<base>.timeindex`, where `<base>` is the first
//! offset of the segment as 20 zero-padded digits. [`Log`] appends to the last (active)
//! segment and rolls to a new one; [`LogReader`] reads from any offset or timestamp, and
//! [`Entry::records_in`] lists the records of what it reads, v2 batches and legacy messages
//! alike.
//!
//! # Invariants
//! 1. Offsets are increasing across batches and segments (dense as appended; compaction
//!    leaves gaps, and so do a compacted leader's batches appended as a replica); a segment's
//!    base offset is ≤ every offset in it and > every offset in earlier segments. An offset
//!    never changes.
//! 2. Only whole batches are written, each with a single positioned write at the end of the
//!    active `.log`, by a process holding the partition lock.
//! 3. Closed segments change only as a whole (compaction writes a replacement aside and
//!    renames it into place; retention and trim delete them) or by `segments verify --repair`
//!    cutting damage off; their indexes are trimmed and their data fsynced on roll.
//!
//! # Crash safety
//! Append writes the batch, then the index entries. A crash can leave a torn batch at the end
//! of the active segment (or, after power loss, unflushed garbage anywhere after the last
//! fsync) and index entries past it. The recovery point (`.klog-recovery-point`, written after
//! each fsync; a broker's `recovery-point-offset-checkpoint` where klog has none) bounds what
//! the next writer may cut: it re-validates the active segment from the last index entry
//! below the point, checking every batch's framing, CRC and offsets, and truncates at the first
//! bad byte only when that byte lies at or above the point and is no batch whose checksum
//! holds: exactly what a crash leaves. Damage below the point, or a batch whose checksum holds
//! at offsets that cannot be its own, is no crash's doing: the writer reports it with file and
//! position, cuts nothing and appends nothing until `segments verify --repair` deals with it.
//! So flushed data is never lost and no offset is ever given out twice.
//!
//! # Concurrency
//! Writers in any number of processes serialize on an exclusive `flock` of the partition
//! directory, held for one append. After taking it a writer checks, with a couple of cheap
//! `stat`s, whether another process appended, rolled or recovered since, and reloads the active
//! segment if so. Readers take no lock to read: they read only whole batches within the file
//! size they see, treating an incomplete last batch as the current end, and take a shared lock
//! only to re-check offsets that look damaged (a compaction swap looks the same for a moment).
//! Writers never work under a running Kafka broker: in a data directory with a broker's
//! `.lock`, they hold it shared and refuse to start while a broker holds it (see [`fs`]).
//!
//! # Modules
//! Lowest first; each module uses only modules before it (`module_order` below checks every
//! module's imports against this order, and that it names every module):
//!
//! ```text
//! clock  config  watch  failpoint
//!   → layout → fs → checkpoint → index → file_records → segment
//!   → reader → entries → cleaner → retention → verify → log
//! ```
//!
//! - [`clock`]: the wall clock in milliseconds. [`config`]: topic configs ([`LogConfig`]).
//!   [`watch`]: file-system notifications for followers. [`failpoint`]: the wrappers every
//!   write, fsync, rename and unlink goes through, and the power-loss model of the tests.
//! - [`layout`]: every file and directory name, and the listing of segments.
//! - [`fs`]: replacing a file atomically ([`fs::replace_file`], with a [`fs::Durability`]),
//!   directory fsyncs, locks, opening only regular files.
//! - [`checkpoint`]: Kafka's checkpoint files, and klog's recovery point, log start offset and
//!   cleaner offset.
//! - [`index`]: the offset and time indexes. [`file_records`]: a `.log` read entry by entry
//!   ([`ChunkReader`]), batch validation. [`segment`]: one segment ([`LogSegment`]).
//! - [`reader`]: [`LogReader`] and partition statistics. [`entries`]: the records of a v2
//!   batch or a legacy message alike, for every reader. [`cleaner`]: compaction and the
//!   recovery of an interrupted swap. [`retention`]: which segments go. [`verify`]: checking
//!   and repairing a partition. [`log`]: the writer, [`Log`].
//!
//! # Public API
//! What the rest of the crate (and the CLI) uses: the re-exports below, and the modules
//! `layout`, `fs`, `checkpoint`, `config`, `verify`, `watch`, `cleaner::clean_partition`,
//! `retention::{due, apply}`. The others are public for tools that read segments
//! (`segments dump`, fixture tests) and the benchmarks.

pub mod checkpoint;
pub mod cleaner;
pub mod clock;
pub mod config;
pub mod entries;
pub mod failpoint;
pub mod file_records;
pub mod fs;
pub mod index;
pub mod layout;
pub mod log;
pub mod reader;
pub mod retention;
pub mod segment;
pub mod verify;
pub mod watch;

pub use clock::now_ms;
pub use config::{CONFIGS, CleanupPolicy, LogConfig};
pub use entries::{EntryRecords, LogRecord};
pub use file_records::{ChunkReader, RawAt};
/// The names of segment files and partition directories, under the module's former name.
pub use layout as file_names;
pub use layout::list_segments;
pub use log::{AppendInfo, ConfigSource, Log};
pub use reader::{
    BatchRef, Entry, LogReader, PartitionCheckpoints, PartitionStats, partition_checkpoints,
};
pub use segment::{LogSegment, SegmentSummary, summarize_segment};

#[cfg(test)]
mod power_loss_tests;
#[cfg(test)]
mod tests;

/// The order of the module doc (`# Modules`), checked against what each module imports.
#[cfg(test)]
mod module_order {
    use std::collections::BTreeSet;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/storage");

    /// The modules in the order the doc of `mod.rs` gives, lowest first.
    fn documented_order() -> Vec<String> {
        let doc = std::fs::read_to_string(format!("{DIR}/mod.rs")).unwrap();
        let section = doc
            .split("//! # Modules")
            .nth(1)
            .expect("a # Modules section");
        let block = section
            .split("//! ```text")
            .nth(1)
            .and_then(|b| b.split("//! ```").next())
            .expect("a text block with the order");
        block
            .lines()
            .flat_map(|l| l.trim_start_matches("//!").split_whitespace())
            .filter(|w| *w != "→")
            .map(str::to_string)
            .collect()
    }

    /// The production code of a module (before its `#[cfg(test)]` module), without comments.
    fn code(name: &str) -> String {
        let src = std::fs::read_to_string(format!("{DIR}/{name}.rs")).unwrap();
        let end = ["\n#[cfg(test)]\nmod ", "\n#[cfg(test)]\npub(super) mod "]
            .iter()
            .filter_map(|m| src.find(m))
            .min()
            .unwrap_or(src.len());
        src[..end]
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first path segment of each item of a `{…}` group (nested groups skipped), or of
    /// the path that `rest` starts with.
    fn first_segments(rest: &str) -> Vec<&str> {
        fn ident(s: &str) -> &str {
            let s = s.trim_start();
            let n = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            &s[..n]
        }
        let Some(group) = rest.strip_prefix('{') else {
            return vec![ident(rest)];
        };
        let (mut depth, mut items, mut start) = (0, Vec::new(), 0);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(ident(&group[start..i]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(ident(&group[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
        items
    }

    /// The storage modules `name` uses. A path through the `storage` root (`crate::storage::X`
    /// with `X` no module) would hide which module it reaches, and is refused.
    fn uses(name: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
        let code = code(name);
        let mut out = BTreeSet::new();
        for prefix in ["super::", "crate::storage::"] {
            for (i, _) in code.match_indices(prefix) {
                for first in first_segments(&code[i + prefix.len()..]) {
                    if modules.contains(first) {
                        out.insert(first.to_string());
                    } else {
                        assert!(
                            prefix == "super::" || first.is_empty(),
                            "{name}.rs names crate::storage::{first}: name its module instead"
                        );
                    }
                }
            }
        }
        out.remove(name);
        out
    }

    #[test]
    fn modules_use_only_modules_below_them() {
        let modules: BTreeSet<String> = std::fs::read_dir(DIR)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                let stem = name.strip_suffix(".rs")?.to_string();
                (!["mod", "tests", "power_loss_tests"].contains(&stem.as_str())).then_some(stem)
            })
            .collect();
        let order = documented_order();
        let documented: BTreeSet<String> = order.iter().cloned().collect();
        assert_eq!(
            documented, modules,
            "the order in mod.rs names every module, once"
        );
        assert_eq!(
            order.len(),
            modules.len(),
            "the order names each module once"
        );
        for (rank, name) in order.iter().enumerate() {
            for used in uses(name, &modules) {
                let used_rank = order.iter().position(|m| *m == used).unwrap();
                assert!(
                    used_rank < rank,
                    "{name} uses {used}, which comes after it in the order of mod.rs"
                );
            }
        }
    }

    /// The checker itself: it sees grouped, nested and inline paths, and not comments.
    #[test]
    fn the_checker_sees_every_kind_of_path() {
        assert_eq!(
            first_segments("{self as a, b::{c, d}, e::F}"),
            ["self", "b", "e"]
        );
        assert_eq!(first_segments("log::Log::open(x)"), ["log"]);
        let modules: BTreeSet<String> = ["log", "reader", "layout", "fs", "segment"]
            .map(String::from)
            .into();
        // `log` as written uses at least these (an inline `super::fs::…` among them).
        let used = uses("log", &modules);
        for m in ["layout", "fs", "segment"] {
            assert!(used.contains(m), "{used:?}");
        }
        assert!(
            !used.contains("log") && !used.contains("reader"),
            "{used:?}"
        );
    }
}
