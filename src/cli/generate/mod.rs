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
//!
//! The completion scripts are here; [`names`] answers `__complete-names`, and
//! [`man`](mod@man) writes the man pages.

mod man;
mod names;

pub use man::man;
pub use names::complete_names;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use clap_complete::Shell;

use super::ExitCode;

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap_complete::Shell;

    pub(super) const REGENERATE: &str = "regenerate with scripts/generate";

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
}
