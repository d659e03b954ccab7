//! Item 10: the checks of damaged base offsets raise no false alarm on any fixture partition,
//! in verify, repair or a writer's recovery.

use std::fs;
use std::path::{Path, PathBuf};

use klog::format::BatchHeader;
use klog::format::batch::{Peek, peek_entry};
use klog::storage::file_names::LOG_SUFFIX;
use klog::storage::log::RECOVERY_POINT_FILE;
use klog::storage::verify::{
    ProblemKind, Repair, Verification, repair_partition, verify_partition,
};
use klog::storage::{Log, LogConfig};

use crate::util::*;

/// Every fixture directory holding `.log` files, sorted.
fn fixture_partition_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = files_with_suffix(root, LOG_SUFFIX)
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The log end offset as the files say: the next offset after the last segment's last entry,
/// or that segment's base when it is empty.
fn log_end_offset_from_files(dir: &Path) -> i64 {
    let last = log_files(dir).pop().expect("a .log");
    let mut end = base_of(&last, LOG_SUFFIX);
    let data = read(&last);
    let mut pos = 0;
    while let Ok(Peek::Entry(frame)) = peek_entry(&data[pos..]) {
        end = if frame.magic == 2 {
            BatchHeader::parse(&data[pos..]).unwrap().next_offset()
        } else {
            frame.offset + 1
        };
        pos += frame.size;
    }
    end
}

/// Problems of a `.log` itself (not of its indexes).
fn log_problems(v: &Verification) -> Vec<String> {
    v.problems
        .iter()
        .filter(|p| {
            !matches!(
                p.kind,
                ProblemKind::IndexEntry | ProblemKind::TimeIndex | ProblemKind::IndexSize
            )
        })
        .map(|p| format!("{}:{}: {}", p.path.display(), p.position, p.detail))
        .collect()
}

/// Item 10: the checks of damaged base offsets (offsets increasing, inside their segment,
/// contiguous from klog's recovery point on) raise no false alarm on any broker-written or
/// kafka-python partition: `verify_partition` finds nothing wrong in any `.log`;
/// `repair_partition` on a copy cuts and moves nothing; a writer opening a copy recovers
/// nothing and takes the log end offset from the last batch, with no recovery point, and with
/// klog's recovery point at the log end offset (as after klog appended and flushed); and the
/// copy still verifies then.
#[test]
fn base_offset_checks_raise_no_false_alarm_on_any_fixture_partition() {
    let Some(root) = fixtures() else { return };
    let dirs = fixture_partition_dirs(&root);
    assert!(dirs.len() > 100, "fixture partitions: {}", dirs.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut batches_checked = 0u64;
    for (i, dir) in dirs.iter().enumerate() {
        let what = rel(&root, dir);
        let v = verify_partition(dir).unwrap_or_else(|e| panic!("{what}: verify: {e}"));
        assert_eq!(log_problems(&v), Vec::<String>::new(), "{what}: verify");
        batches_checked += v.batches;
        let leo = log_end_offset_from_files(dir);

        for with_recovery_point in [false, true] {
            // The directory name is kept: it names the partition in a data directory.
            let copy = tmp
                .path()
                .join(format!("{i}-{with_recovery_point}"))
                .join(dir.file_name().unwrap());
            fs::create_dir_all(&copy).unwrap();
            copy_partition_dir(dir, &copy);
            let repairs =
                repair_partition(&copy, 4096).unwrap_or_else(|e| panic!("{what}: repair: {e}"));
            let cut: Vec<&Repair> = repairs
                .iter()
                .filter(|r| !matches!(r, Repair::RebuiltIndex { .. }))
                .collect();
            assert!(cut.is_empty(), "{what}: repair changed a log: {cut:?}");
            if with_recovery_point {
                let rp = format!("{{\"recovery_point\":{leo}}}");
                fs::write(copy.join(RECOVERY_POINT_FILE), rp).unwrap();
                let v = verify_partition(&copy).unwrap();
                assert_eq!(
                    log_problems(&v),
                    Vec::<String>::new(),
                    "{what}: verify with klog's recovery point at {leo:?}"
                );
            }
            let mut log = Log::open(&copy, LogConfig::default()).unwrap();
            let end = log
                .log_end_offset()
                .unwrap_or_else(|e| panic!("{what}: recovery: {e}"));
            let cut: Vec<String> = log
                .take_truncations()
                .iter()
                .map(|t| format!("{}:{}: {}", t.path.display(), t.position, t.reason))
                .collect();
            assert_eq!(cut, Vec::<String>::new(), "{what}: recovery cut");
            assert_eq!(end, leo, "{what}: log end offset after recovery");
            drop(log);
            let v = verify_partition(&copy).unwrap();
            assert_eq!(
                log_problems(&v),
                Vec::<String>::new(),
                "{what}: after recovery"
            );
        }
    }
    eprintln!(
        "{} fixture partitions, {batches_checked} entries: no false alarm",
        dirs.len()
    );
}
