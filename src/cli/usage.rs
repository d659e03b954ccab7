//! Usage errors found by clap, said the way klog says every error: one `klog: error: …` line
//! and at most one `hint: …` line (clap's own report spans several lines: a tip, the usage,
//! "For more information, try '--help'").
//!
//! The message is clap's first line, with the lines it indents under it (the missing
//! arguments, the possible values) joined onto it. The hint is clap's suggestion of a similar
//! name when it has one, else a pointer to the command's `--help` or its usage. Two of clap's
//! messages are made clearer: a negative number after an option that takes no negative
//! values (clap calls it an unexpected argument and suggests `-- -1`), and Rust's "invalid
//! digit found in string" for a number that does not parse.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Longest usage line given as the hint; a longer one becomes a pointer to `--help`.
const MAX_USAGE_HINT: usize = 80;

/// The message and hint for a clap error that goes to stderr (not `--help`/`--version`).
/// `cmd` is the command that parsed `args` (the whole command line, program name first).
pub fn describe(
    e: &clap::Error,
    cmd: &mut clap::Command,
    args: &[OsString],
) -> (String, Option<String>) {
    cmd.build();
    let text = e.render().to_string();
    let parts = Parts::of(&text);
    let path = parts.command_path();
    let names: Vec<&str> = find_subcommand(cmd, &path)
        .map(|c| {
            c.get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .map(clap::Command::get_name)
                .collect()
        })
        .unwrap_or_default();
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand
    ) && !names.is_empty()
    {
        return (
            format!("'{}' needs a command: {}", path.join(" "), names.join(", ")),
            Some(format!(
                "`{} --help` says what each one does",
                path.join(" ")
            )),
        );
    }
    if e.kind() == ErrorKind::UnknownArgument
        && let Some(msg) = negative_number(e, cmd, &path, args)
    {
        return (msg, None);
    }
    let mut msg = parts.message;
    if e.kind() == ErrorKind::ValueValidation {
        msg = clearer_number_error(e, &msg);
    }
    let similar = parts.tips.iter().find(|t| t.contains("similar")).cloned();
    let hint = similar.or_else(|| match e.kind() {
        ErrorKind::UnknownArgument => {
            Some(format!("`{} --help` lists the options", path.join(" ")))
        }
        ErrorKind::InvalidSubcommand => {
            Some(format!("`{} --help` lists the commands", path.join(" ")))
        }
        _ => match &parts.usage {
            Some(u) if u.len() <= MAX_USAGE_HINT => Some(format!("usage: {u}")),
            Some(_) => Some(format!("`{} --help` shows the usage", path.join(" "))),
            None => None,
        },
    });
    (msg, hint)
}

/// The pieces of clap's rendered error.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parts {
    /// The first line without `error: `, with the indented lines under it joined on.
    message: String,
    /// Each `tip: …`, without `tip: `.
    tips: Vec<String>,
    /// The usage line without `Usage: `.
    usage: Option<String>,
}

impl Parts {
    fn of(text: &str) -> Parts {
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        let mut parts = Parts {
            message: first
                .strip_prefix("error: ")
                .unwrap_or(first)
                .trim()
                .to_string(),
            ..Parts::default()
        };
        let mut listed: Vec<String> = Vec::new();
        let mut in_message = true;
        for line in lines {
            let t = line.trim();
            if let Some(tip) = t.strip_prefix("tip: ") {
                parts.tips.push(tip.to_string());
            } else if let Some(u) = t.strip_prefix("Usage: ") {
                parts.usage = Some(u.to_string());
            } else if t.is_empty() {
                in_message = false;
            } else if in_message && line.starts_with(' ') {
                listed.push(t.to_string());
            }
        }
        if !listed.is_empty() {
            parts.message = format!("{} {}", parts.message, listed.join(", "));
        }
        parts
    }

    /// The command the usage line is about: `["klog", "groups", "reset"]`.
    fn command_path(&self) -> Vec<String> {
        let words: Vec<String> = self
            .usage
            .as_deref()
            .unwrap_or("klog")
            .split_whitespace()
            .take_while(|w| !w.starts_with(['[', '<', '-']))
            .map(str::to_string)
            .collect();
        if words.is_empty() {
            vec!["klog".to_string()]
        } else {
            words
        }
    }
}

/// The subcommand at `path` (`["klog", "groups", "reset"]`) of the built root command.
fn find_subcommand<'c>(root: &'c clap::Command, path: &[String]) -> Option<&'c clap::Command> {
    let mut cmd = root;
    for name in path.iter().skip(1) {
        cmd = cmd.find_subcommand(name)?;
    }
    Some(cmd)
}

/// `-n -1`: clap sees `-1` as an unknown flag. When the word before it is an option of the
/// command that takes a value, the user meant it as that value, which cannot be negative.
fn negative_number(
    e: &clap::Error,
    root: &clap::Command,
    path: &[String],
    args: &[OsString],
) -> Option<String> {
    let Some(ContextValue::String(bad)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let digits = bad.strip_prefix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let cmd = find_subcommand(root, path)?;
    let before = args
        .windows(2)
        .find(|w| w[1] == bad.as_str())
        .and_then(|w| w[0].to_str())?;
    let arg = if let Some(long) = before.strip_prefix("--") {
        cmd.get_arguments().find(|a| a.get_long() == Some(long))
    } else {
        let mut chars = before.strip_prefix('-')?.chars();
        let short = chars.next()?;
        if chars.next().is_some() {
            return None;
        }
        cmd.get_arguments().find(|a| a.get_short() == Some(short))
    }?;
    if !arg.get_action().takes_values() {
        return None;
    }
    Some(format!(
        "invalid value '{bad}' for '{}': it must not be negative",
        display_option(arg)
    ))
}

/// `--count <N>`, as clap names an option in its messages.
fn display_option(arg: &clap::Arg) -> String {
    let name = match (arg.get_long(), arg.get_short()) {
        (Some(l), _) => format!("--{l}"),
        (None, Some(s)) => format!("-{s}"),
        (None, None) => arg.get_id().to_string(),
    };
    let value = arg.get_value_names().and_then(|v| v.first()).map_or_else(
        || arg.get_id().to_string().to_uppercase(),
        |v| v.to_string(),
    );
    format!("{name} <{value}>")
}

/// Rust's "invalid digit found in string" says little about `-1` or `1.5` given as a count.
fn clearer_number_error(e: &clap::Error, msg: &str) -> String {
    const RUST: &str = "invalid digit found in string";
    let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) else {
        return msg.to_string();
    };
    let negative = value
        .strip_prefix('-')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    let instead = if negative {
        "it must not be negative"
    } else {
        "expected a whole number"
    };
    msg.replace(RUST, instead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_a_clap_error() {
        let p = Parts::of(
            "error: the following required arguments were not provided:\n  <TOPIC>\n  --topic \
             <TOPIC>\n\nUsage: klog groups reset --topic <TOPIC> <GROUP>\n\nFor more \
             information, try '--help'.\n",
        );
        assert_eq!(
            p.message,
            "the following required arguments were not provided: <TOPIC>, --topic <TOPIC>"
        );
        assert!(p.tips.is_empty());
        assert_eq!(p.command_path(), ["klog", "groups", "reset"]);

        let p = Parts::of(
            "error: unrecognized subcommand 'grops'\n\n  tip: a similar subcommand exists: \
             'groups'\n\nUsage: klog [OPTIONS] <COMMAND>\n",
        );
        assert_eq!(p.message, "unrecognized subcommand 'grops'");
        assert_eq!(p.tips, ["a similar subcommand exists: 'groups'"]);
        assert_eq!(p.command_path(), ["klog"]);
    }
}
