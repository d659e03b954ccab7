//! `klog completions SHELL` and the hidden `klog man DIR`: shell completions and man pages
//! generated from the clap definitions, the same ones committed under `completions/` and `man/`.
//!
//! The bash, zsh and fish completions also complete topic and group names, read from the data
//! directory when the shell asks: each script wraps clap_complete's static completion in a
//! function that first runs the hidden `klog __complete-names auto -- WORDS…` with the words
//! typed so far. That command decides from the clap definitions whether the last word is a
//! topic (an argument or option named TOPIC) or a group (GROUP), prints the names found in the
//! data directory of the command line (`--dir`, else `KLOG_DIR`, else the default), and exits
//! 0; anywhere else it prints nothing and exits 1, and the static completion answers.
//!
//! `klog.1` gets an ENVIRONMENT section (`KLOG_DIR`, `NO_COLOR`) that clap_mangen cannot
//! generate.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use clap_complete::Shell;

use super::{Ctx, ExitCode};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog completions bash > ~/.local/share/bash-completion/completions/klog
  klog completions zsh > ~/.zfunc/_klog
  klog completions fish > ~/.config/fish/completions/klog.fish
In bash, zsh and fish, topic and group names complete too, from the data directory of the
command line being typed (--dir, else KLOG_DIR, else the default).")]
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

/// The hidden `klog __complete-names`.
#[derive(Debug, Args)]
pub struct CompleteNamesArgs {
    /// What to list: topics, groups, or auto (what the command line after -- expects as its
    /// last word: exit status 1, and nothing printed, when that is neither)
    #[arg(value_enum)]
    pub kind: NameKind,
    /// The command line being completed, program name first, the word being completed last
    #[arg(last = true, value_name = "WORDS")]
    pub words: Vec<String>,
}

/// `klog __complete-names KIND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NameKind {
    Topics,
    Groups,
    Auto,
}

pub fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut out = super::stdout();
    out.write_all(&script(args.shell))?;
    out.flush()?;
    Ok(ExitCode::Success)
}

/// The completion script for `shell`: clap_complete's, with topic and group names for bash,
/// zsh and fish.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut super::command(), "klog", &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let text = match shell {
        Shell::Bash => with_bash_names(&text),
        Shell::Zsh => with_zsh_names(&text),
        Shell::Fish => with_fish_names(&text),
        _ => text,
    };
    text.into_bytes()
}

const NAMES_COMMENT: &str = "# Topic and group names come from the data directory of the command line (--dir, \
                             else $KLOG_DIR,\n# else the default): `klog __complete-names` says \
                             where one is expected and lists them.\n";

/// bash: `_klog_names` asks klog first and falls back to clap's `_klog`.
fn with_bash_names(text: &str) -> String {
    let registered = text.replace("complete -F _klog ", "complete -F _klog_names ");
    format!(
        "{registered}\n{NAMES_COMMENT}{}",
        r#"_klog_names() {
    local names
    if names=$(klog __complete-names auto -- "${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null); then
        local IFS=$'\n'
        COMPREPLY=( $(compgen -W "${names}" -- "${COMP_WORDS[COMP_CWORD]}") )
        return 0
    fi
    _klog "$@"
}
"#
    )
}

/// zsh: clap's `_klog` becomes `_klog_static`; the new `_klog` asks klog first.
fn with_zsh_names(text: &str) -> String {
    let renamed = text.replacen("\n_klog() {\n", "\n_klog_static() {\n", 1);
    let wrapper = format!(
        "{NAMES_COMMENT}{}",
        r#"_klog() {
    local out
    local -a names
    if out=$(klog __complete-names auto -- "${(@)words[1,CURRENT]}" 2>/dev/null); then
        [[ -n $out ]] && names=("${(@f)out}")
        compadd -a names
        return
    fi
    _klog_static "$@"
}

"#
    );
    let trailer = "if [ \"$funcstack[1]\" = \"_klog\" ]; then";
    match renamed.rfind(trailer) {
        Some(at) => format!("{}{wrapper}{}", &renamed[..at], &renamed[at..]),
        None => format!("{renamed}\n{wrapper}"),
    }
}

/// fish: one more completion, for where klog says a name goes.
fn with_fish_names(text: &str) -> String {
    format!(
        "{text}\n{NAMES_COMMENT}{}",
        r#"function __fish_klog_names
    set -l current (commandline -ct)
    klog __complete-names auto -- (commandline -opc) "$current" 2>/dev/null
end
complete -c klog -n '__fish_klog_names >/dev/null' -f -a '(__fish_klog_names)'
"#
    )
}

/// `klog __complete-names`: topic or group names, one per line. Never fails loudly: a data
/// directory that cannot be read has no names.
pub fn complete_names(ctx: &Ctx, args: CompleteNamesArgs) -> Result<ExitCode> {
    let (kind, dir) = match args.kind {
        NameKind::Auto => match name_position(&super::command(), &args.words) {
            Some(found) => found,
            None => return Ok(ExitCode::Failure),
        },
        kind => (kind, None),
    };
    let dir = dir.unwrap_or_else(|| ctx.dir.clone());
    let topics = klog::topic::Topics::new(&dir);
    let names: Vec<String> = match kind {
        NameKind::Groups => klog::group::list_groups(&topics)
            .map(|g| g.into_iter().map(|(name, _)| name).collect())
            .unwrap_or_default(),
        _ => topics.list_names().unwrap_or_default(),
    };
    let mut out = super::stdout();
    for n in names {
        writeln!(out, "{n}")?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

/// Which names the last of `words` (a command line, program name first) is, by the clap
/// definitions, and the data directory its `--dir` names, if any. `None` where it is no
/// topic or group (a new topic's name included).
fn name_position(root: &clap::Command, words: &[String]) -> Option<(NameKind, Option<PathBuf>)> {
    let mut root = root.clone();
    root.build();
    let (current, typed) = words.split_last()?;
    let mut cmd = &root;
    let mut path: Vec<&str> = Vec::new();
    let mut positionals = 0usize;
    let mut pending: Option<&clap::Arg> = None;
    let mut dir: Option<String> = None;
    let mut only_positionals = false;
    for w in typed.iter().skip(1) {
        if let Some(arg) = pending.take() {
            // bash splits `--dir=x` into `--dir`, `=`, `x`.
            if w == "=" {
                pending = Some(arg);
            } else if arg.get_id() == "dir" {
                dir = Some(w.clone());
            }
            continue;
        }
        if !only_positionals && w == "--" {
            only_positionals = true;
        } else if let Some(long) = w.strip_prefix("--").filter(|_| !only_positionals) {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let arg = cmd.get_arguments().find(|a| a.get_long() == Some(name));
            if let Some(arg) = arg.filter(|a| a.get_action().takes_values()) {
                match value {
                    Some(v) if arg.get_id() == "dir" => dir = Some(v.to_string()),
                    Some(_) => {}
                    None => pending = Some(arg),
                }
            }
        } else if let Some(shorts) = w
            .strip_prefix('-')
            .filter(|s| !s.is_empty() && !only_positionals)
        {
            // A cluster such as -qp: the first short option that takes a value takes the rest
            // of the word, or the next word.
            for (i, c) in shorts.char_indices() {
                let arg = cmd.get_arguments().find(|a| a.get_short() == Some(c));
                if let Some(arg) = arg.filter(|a| a.get_action().takes_values()) {
                    if shorts.len() == i + c.len_utf8() {
                        pending = Some(arg);
                    }
                    break;
                }
            }
        } else if positionals == 0
            && !only_positionals
            && let Some(sub) = cmd.find_subcommand(w)
        {
            cmd = sub;
            path.push(sub.get_name());
        } else {
            positionals += 1;
        }
    }
    let dir = dir.map(|d| expand_tilde(&d));
    let arg = match pending {
        Some(arg) => arg,
        None if current.starts_with('-') && !only_positionals => return None,
        None => {
            if path == ["topics", "create"] {
                return None;
            }
            let args: Vec<&clap::Arg> = cmd.get_positionals().collect();
            let many = |a: &&&clap::Arg| a.get_num_args().is_some_and(|r| r.max_values() > 1);
            *args.get(positionals).or_else(|| args.last().filter(many))?
        }
    };
    let value_name = arg.get_value_names().and_then(|v| v.first()).map_or_else(
        || arg.get_id().to_string().to_uppercase(),
        |v| v.to_string(),
    );
    let kind = if value_name.contains("GROUP") {
        NameKind::Groups
    } else if value_name.contains("TOPIC") {
        // PATH|TOPIC: a word that looks like a path is one.
        if value_name.contains("PATH") && (current.contains('/') || current.starts_with(['.', '~']))
        {
            return None;
        }
        NameKind::Topics
    } else {
        return None;
    };
    Some((kind, dir))
}

/// `~/x` as the shell would expand it (a completion sees the word as typed).
fn expand_tilde(d: &str) -> PathBuf {
    match (d.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            Path::new(&home).join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(d),
    }
}

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
    clap_mangen::generate_to(super::command(), out)?;
    let mut cmd = super::command().disable_help_subcommand(true);
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
            let want = super::script(shell);
            let have = std::fs::read(root.join("completions").join(file)).unwrap_or_default();
            assert!(have == want, "completions/{file} is stale; {REGENERATE}");
        }
    }

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
