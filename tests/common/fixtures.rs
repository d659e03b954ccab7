//! Where the test targets find `../shared/fixtures` (real broker-written data and
//! kafka-python's segments), and what happens when it is missing.
//!
//! The fixtures live outside the crate. Outside CI, a test that needs them prints a note on
//! stderr and passes when they are absent, so that a bare clone still tests. Under `CI=true`
//! (what CI services set) their absence fails the test instead: a CI run must not pass
//! without having read them.
//!
//! `KLOG_SHARED_FIXTURES` overrides the location (the tests of this rule point it at a
//! directory that does not exist).

use std::path::{Path, PathBuf};

/// Whether this is a CI run: `CI` set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE"))
}

/// `../shared/fixtures` (or `$KLOG_SHARED_FIXTURES`) when it is there. When it is not: fails
/// the test under CI, and otherwise says so on stderr and returns `None` (the caller skips).
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("KLOG_SHARED_FIXTURES")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"),
            PathBuf::from,
        );
    fixtures_at(&dir, in_ci())
}

/// The rule of [`shared_fixtures`] for a given directory and CI flag.
pub fn fixtures_at(dir: &Path, ci: bool) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    assert!(
        !ci,
        "{} not found: under CI=true the tests that read it fail instead of skipping \
         (check the shared fixtures out next to the crate)",
        dir.display()
    );
    eprintln!(
        "skipping: {} not found (under CI=true this fails)",
        dir.display()
    );
    None
}
