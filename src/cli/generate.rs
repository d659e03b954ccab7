//! `klog completions SHELL` and the hidden `klog man DIR`: shell completions and man pages
//! generated from the clap definitions, the same ones committed under `completions/` and `man/`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;

use super::ExitCode;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog completions bash > ~/.local/share/bash-completion/completions/klog
  klog completions zsh > ~/.zfunc/_klog
  klog completions fish > ~/.config/fish/completions/klog.fish")]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write klog.1 and one page per subcommand into
    pub out: PathBuf,
}

pub fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = super::command();
    let mut out = super::stdout();
    clap_complete::generate(args.shell, &mut cmd, "klog", &mut out);
    std::io::Write::flush(&mut out)?;
    Ok(ExitCode::Success)
}

pub fn man(args: ManArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("create directory {}", args.out.display()))?;
    clap_mangen::generate_to(super::command(), &args.out)
        .with_context(|| format!("write man pages to {}", args.out.display()))?;
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap_complete::Shell;

    const REGENERATE: &str = "regenerate with scripts/generate";

    #[test]
    fn committed_completions_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (shell, file) in [
            (Shell::Bash, "klog.bash"),
            (Shell::Zsh, "_klog"),
            (Shell::Fish, "klog.fish"),
            (Shell::Elvish, "klog.elv"),
            (Shell::PowerShell, "_klog.ps1"),
        ] {
            let mut want = Vec::new();
            clap_complete::generate(shell, &mut super::super::command(), "klog", &mut want);
            let have = std::fs::read(root.join("completions").join(file)).unwrap_or_default();
            assert!(have == want, "completions/{file} is stale; {REGENERATE}");
        }
    }

    #[test]
    fn committed_man_pages_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
        let tmp = tempfile::tempdir().unwrap();
        clap_mangen::generate_to(super::super::command(), tmp.path()).unwrap();
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
    }
}
