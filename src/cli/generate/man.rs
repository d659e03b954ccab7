//! The hidden `klog man DIR`: clap_mangen's pages, with an ENVIRONMENT section in `klog.1`.

use std::path::Path;

use anyhow::{Context, Result};

use super::ManArgs;
use crate::cli::ExitCode;

pub fn man(args: ManArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("create directory {}", args.out.display()))?;
    write_man_pages(&args.out)
        .with_context(|| format!("write man pages to {}", args.out.display()))?;
    Ok(ExitCode::Success)
}

/// Writes `klog.1` and one page per subcommand into `out`: clap_mangen's, with an ENVIRONMENT
/// section in `klog.1`.
fn write_man_pages(out: &Path) -> std::io::Result<()> {
    clap_mangen::generate_to(crate::cli::command(), out)?;
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut page)?;
    std::fs::write(out.join("klog.1"), with_environment(&page))
}

/// A man page with the ENVIRONMENT section put before VERSION (or at the end).
fn with_environment(page: &[u8]) -> Vec<u8> {
    use clap_mangen::roff::{Roff, bold, roman};
    let mut env = Roff::new();
    env.control("SH", ["ENVIRONMENT"]);
    for (name, what) in [
        (
            "KLOG_DIR",
            "The data directory when --dir is not given. Empty is the same as unset: then the \
             platform data directory is used (e.g. ~/.local/share/klog on Linux).",
        ),
        (
            "NO_COLOR",
            "When set to anything but the empty string, klog prints no colors, as with \
             --color never; --color always still colors.",
        ),
    ] {
        env.control("TP", []).text([bold(name)]).text([roman(what)]);
    }
    let env = env.render();
    // Each rendering starts with the same preamble; the page has it already.
    let preamble_end = env.find("\n.SH").map_or(0, |i| i + 1);
    let section = &env[preamble_end..];
    let page = String::from_utf8_lossy(page);
    let text = match page.find("\n.SH VERSION") {
        Some(at) => format!("{}\n{section}{}", &page[..at], &page[at + 1..]),
        None => format!("{page}{section}"),
    };
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::REGENERATE;

    #[test]
    fn committed_man_pages_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
        let tmp = tempfile::tempdir().unwrap();
        super::write_man_pages(tmp.path()).unwrap();
        let names = |d: &Path| {
            let mut v: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            names(tmp.path()),
            names(&root),
            "man/ is stale; {REGENERATE}"
        );
        for name in names(tmp.path()) {
            let want = std::fs::read(tmp.path().join(&name)).unwrap();
            let have = std::fs::read(root.join(&name)).unwrap();
            assert!(have == want, "man/{name:?} is stale; {REGENERATE}");
        }
    }
}

#[cfg(test)]
mod environment {
    use std::path::Path;

    /// `klog.1` documents the environment variables klog reads.
    #[test]
    fn the_klog_man_page_has_an_environment_section() {
        let page = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("man")
                .join("klog.1"),
        )
        .unwrap();
        let env = page
            .split("\n.SH ")
            .find(|s| s.starts_with("ENVIRONMENT"))
            .expect("an ENVIRONMENT section");
        assert!(
            env.contains("\\fBKLOG_DIR\\fR") && env.contains("\\fBNO_COLOR\\fR"),
            "{env}"
        );
        assert!(
            page.find(".SH ENVIRONMENT") < page.find(".SH VERSION"),
            "{page}"
        );
        // The subcommands' pages are clap_mangen's own.
        let consume = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("man")
                .join("klog-consume.1"),
        )
        .unwrap();
        assert!(!consume.contains(".SH ENVIRONMENT"));
    }
}

#[cfg(test)]
mod man_render {
    use std::path::Path;
    use std::process::Command;

    #[test]
    fn the_man_pages_render_with_man() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
        let Ok(out) = Command::new("man")
            .arg("-l")
            .arg(root.join("klog.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
        else {
            eprintln!("skipping: man is not installed");
            return;
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("NAME") && text.contains("klog"), "{text}");
        assert!(text.contains("consume"), "subcommands are listed: {text}");
        assert!(
            text.contains("ENVIRONMENT") && text.contains("KLOG_DIR"),
            "{text}"
        );
    }
}
