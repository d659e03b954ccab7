//! `klog __complete-names`: which names a command line being typed expects as its last word
//! (by the clap definitions), and those names from the data directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{CompleteNamesArgs, NameKind};
use crate::cli::{Ctx, ExitCode};

/// `klog __complete-names`: topic or group names, one per line. Never fails loudly: a data
/// directory that cannot be read has no names.
pub fn complete_names(ctx: &Ctx, args: CompleteNamesArgs) -> Result<ExitCode> {
    let (kind, dir) = match args.kind {
        NameKind::Auto => match name_position(&crate::cli::command(), &args.words) {
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
    let mut out = crate::cli::stdout();
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
    let mut walk = Walk {
        cmd: &root,
        path: Vec::new(),
        positionals: 0,
        pending: None,
        dir: None,
        only_positionals: false,
    };
    for w in typed.iter().skip(1) {
        walk.step(w);
    }
    let dir = walk.dir.as_deref().map(expand_tilde);
    let kind = name_kind(walk.current_arg(current)?, current)?;
    Some((kind, dir))
}

/// A walk through the typed words of a command line, as clap would parse them: the
/// subcommand reached, and what the next word is.
struct Walk<'a> {
    cmd: &'a clap::Command,
    /// The subcommands' names, outermost first.
    path: Vec<&'a str>,
    /// Positional arguments of `cmd` seen so far.
    positionals: usize,
    /// An option whose value is the next word.
    pending: Option<&'a clap::Arg>,
    /// The value of `--dir`, as typed.
    dir: Option<String>,
    /// After `--`: every word is a positional argument.
    only_positionals: bool,
}

impl<'a> Walk<'a> {
    /// Takes one typed word.
    fn step(&mut self, w: &str) {
        if let Some(arg) = self.pending.take() {
            // bash splits `--dir=x` into `--dir`, `=`, `x`.
            if w == "=" {
                self.pending = Some(arg);
            } else if arg.get_id() == "dir" {
                self.dir = Some(w.to_string());
            }
            return;
        }
        let cmd = self.cmd;
        if !self.only_positionals && w == "--" {
            self.only_positionals = true;
        } else if let Some(long) = w.strip_prefix("--").filter(|_| !self.only_positionals) {
            self.long_option(long);
        } else if let Some(shorts) = w
            .strip_prefix('-')
            .filter(|s| !s.is_empty() && !self.only_positionals)
        {
            self.short_options(shorts);
        } else if self.positionals == 0
            && !self.only_positionals
            && let Some(sub) = cmd.find_subcommand(w)
        {
            self.cmd = sub;
            self.path.push(sub.get_name());
        } else {
            self.positionals += 1;
        }
    }

    /// `--name` or `--name=value` (without the dashes).
    fn long_option(&mut self, long: &str) {
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (long, None),
        };
        let arg = self
            .cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(name));
        if let Some(arg) = arg.filter(|a| a.get_action().takes_values()) {
            match value {
                Some(v) if arg.get_id() == "dir" => self.dir = Some(v.to_string()),
                Some(_) => {}
                None => self.pending = Some(arg),
            }
        }
    }

    /// A cluster such as -qp (without the dash): the first short option that takes a value
    /// takes the rest of the word, or the next word.
    fn short_options(&mut self, shorts: &str) {
        for (i, c) in shorts.char_indices() {
            let arg = self.cmd.get_arguments().find(|a| a.get_short() == Some(c));
            if let Some(arg) = arg.filter(|a| a.get_action().takes_values()) {
                if shorts.len() == i + c.len_utf8() {
                    self.pending = Some(arg);
                }
                break;
            }
        }
    }

    /// The argument the word being completed is a value of, once every typed word is taken:
    /// `None` for an option's name, or where no argument takes a value.
    fn current_arg(&self, current: &str) -> Option<&'a clap::Arg> {
        match self.pending {
            Some(arg) => Some(arg),
            None if current.starts_with('-') && !self.only_positionals => None,
            None => {
                if self.path == ["topics", "create"] {
                    return None;
                }
                let args: Vec<&clap::Arg> = self.cmd.get_positionals().collect();
                let many = |a: &&&clap::Arg| a.get_num_args().is_some_and(|r| r.max_values() > 1);
                Some(
                    *args
                        .get(self.positionals)
                        .or_else(|| args.last().filter(many))?,
                )
            }
        }
    }
}

/// The names `arg` takes, by its value name (TOPIC, GROUP), for the word `current`.
fn name_kind(arg: &clap::Arg, current: &str) -> Option<NameKind> {
    let value_name = arg.get_value_names().and_then(|v| v.first()).map_or_else(
        || arg.get_id().to_string().to_uppercase(),
        |v| v.to_string(),
    );
    if value_name.contains("GROUP") {
        Some(NameKind::Groups)
    } else if value_name.contains("TOPIC") {
        // PATH|TOPIC: a word that looks like a path is one.
        if value_name.contains("PATH") && (current.contains('/') || current.starts_with(['.', '~']))
        {
            return None;
        }
        Some(NameKind::Topics)
    } else {
        None
    }
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{NameKind, name_position};

    /// What `name_position` says of a command line given as one string (the last word may
    /// be empty: a new word being typed).
    fn at(line: &str) -> Option<(NameKind, Option<PathBuf>)> {
        let mut words: Vec<String> = line.split(' ').map(String::from).collect();
        if line.ends_with(' ') {
            words.pop();
            words.push(String::new());
        }
        name_position(&crate::cli::command(), &words)
    }

    #[test]
    fn topics_and_groups_by_the_argument_being_typed() {
        assert_eq!(at("klog consume o"), Some((NameKind::Topics, None)));
        assert_eq!(at("klog groups describe "), Some((NameKind::Groups, None)));
        assert_eq!(
            at("klog consume orders --group "),
            Some((NameKind::Groups, None))
        );
        assert_eq!(
            at("klog consume orders -g "),
            Some((NameKind::Groups, None))
        );
        // After `--` an option's name is a positional: the topic.
        assert_eq!(at("klog consume -- -o"), Some((NameKind::Topics, None)));
        // A short option that takes a value, last in a cluster, takes the next word.
        assert_eq!(
            at("klog segments dump -p 1 o"),
            Some((NameKind::Topics, None))
        );
        // A new topic's name, an option's name, and a PATH that looks like one: no names.
        assert_eq!(at("klog topics create x"), None);
        assert_eq!(at("klog consume --gr"), None);
        assert_eq!(at("klog segments dump ./x"), None);
        assert_eq!(at("klog"), None);
    }

    #[test]
    fn the_data_directory_of_the_command_line() {
        let dir = Some(PathBuf::from("/d"));
        assert_eq!(
            at("klog --dir /d consume o"),
            Some((NameKind::Topics, dir.clone()))
        );
        assert_eq!(
            at("klog --dir=/d consume o"),
            Some((NameKind::Topics, dir.clone()))
        );
        // bash splits `--dir=/d` into three words.
        assert_eq!(
            at("klog --dir = /d consume o"),
            Some((NameKind::Topics, dir))
        );
    }
}
