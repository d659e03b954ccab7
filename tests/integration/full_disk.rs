//! A full disk, command by command: the hint after "No space left on device" says what is
//! true for the command that failed. The data directory lives on a small tmpfs (root only: the
//! test says so and passes where it cannot mount one; the hints themselves are unit-tested in
//! `src/cli/mod.rs` everywhere).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{TestDir, assert_error, klog_at};

/// Unmounts the tmpfs when dropped, whatever happened in the test.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// A fresh tmpfs of `size` at `at`, or `None` (said on stderr) where mounting is not allowed.
fn tmpfs(at: &Path, size: &str) -> Option<Mounted> {
    std::fs::create_dir_all(at).expect("mount point");
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(Mounted(at.to_path_buf())),
        Ok(o) => {
            eprintln!(
                "skipping: cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("skipping: cannot run mount: {e}");
            None
        }
    }
}

/// Writes pages to `path` until the file system has none left.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("create filler");
    let page = vec![9u8; 4096];
    while f.write_all(&page).is_ok() {}
}

/// The hint line of a failed run that names the lack of space.
fn no_space_hint(out: &Output, what: &str) -> String {
    let err = assert_error(out, 1);
    assert!(err.contains("No space left on device"), "{what}: {err}");
    err.lines()
        .find_map(|l| l.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("{what}: no hint: {err}"))
        .to_string()
}

/// "free some space; records written before this one are kept" was printed whatever the
/// command; only produce keeps records, and a metadata change that failed changed nothing.
#[test]
fn regression_full_disk_hints_fit_the_command() {
    let scratch = TestDir::new();
    let mnt = scratch.root().join("mnt");
    let Some(_mounted) = tmpfs(&mnt, "2m") else {
        return;
    };
    let data = mnt.join("data");
    let klog = |args: &[&str], stdin: &str| {
        klog_at(&data)
            .args(args)
            .write_stdin(stdin.to_string())
            .output()
            .expect("run klog")
    };
    let ok = |args: &[&str], stdin: &str| {
        let out = klog(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["topics", "create", "t"], "");
    ok(&["produce", "t"], "a\nb\n");
    ok(&["consume", "t", "-g", "g"], "");
    ok(&["produce", "t"], "c\n");
    fill(&mnt.join("filler"));

    let big = format!("{}\n", "x".repeat(64 << 10));
    let hint = no_space_hint(&klog(&["produce", "t"], &big), "produce");
    assert_eq!(
        hint,
        "free some space; records written before this one are kept"
    );

    let hint = no_space_hint(
        &klog(&["topics", "alter", "t", "-c", "retention.ms=1000"], ""),
        "alter",
    );
    assert_eq!(
        hint,
        "free some space and run the command again; nothing was changed"
    );
    let hint = no_space_hint(&klog(&["topics", "create", "new"], ""), "create");
    assert_eq!(
        hint,
        "free some space and run the command again; nothing was changed"
    );

    let hint = no_space_hint(&klog(&["consume", "t", "-g", "g"], ""), "consume");
    assert!(
        hint.contains("the group keeps its last committed offsets"),
        "{hint}"
    );

    let hint = no_space_hint(
        &klog(
            &["groups", "reset", "g", "--topic", "t", "--to-earliest"],
            "",
        ),
        "reset",
    );
    assert!(hint.contains("`klog groups describe g`"), "{hint}");

    // What the hints said nothing changed did not change.
    std::fs::remove_file(mnt.join("filler")).expect("free the space");
    let list = crate::util::json(&String::from_utf8_lossy(
        &klog(&["topics", "list", "--json"], "").stdout,
    ));
    let topics = list.as_array().expect("array");
    assert_eq!(topics.len(), 1, "{list}");
    assert_eq!(topics[0]["name"], "t");
    assert_eq!(topics[0]["retention_ms"], 604_800_000, "{list}");
    ok(&["topics", "create", "new"], "");
}
