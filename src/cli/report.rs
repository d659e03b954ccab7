//! Errors as klog prints them: `klog: error: …`, a `hint: …` line (the error's own, or one
//! found for it: a near topic name, the repair command for damage, what a full disk left
//! behind), and the exit status.

use std::io::{self, Write};

use super::{Command, Ctx, ExitCode, Hint, UsageError, groups, topics};

/// What a command has done when a write fails for lack of space: the hint of that error says
/// what is true for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullDisk {
    /// `produce`: every batch appended before the failing one stays.
    Produce,
    /// `consume --group`: the failing commit leaves the group's last committed offsets.
    Consume,
    /// `topics create NAME`: the metadata is written first, the partitions' files after it.
    CreateTopic(String),
    /// `topics alter`: the metadata is written first, new partitions' directories after it.
    AlterTopic,
    /// `topics delete`: each topic's partitions go before its metadata entry.
    DeleteTopics,
    /// `groups reset GROUP`: the partitions are committed one after the other.
    ResetGroup(String),
    /// Anything else.
    Other,
}

impl FullDisk {
    pub(super) fn of(command: &Command) -> FullDisk {
        match command {
            Command::Produce(_) => FullDisk::Produce,
            Command::Consume(_) => FullDisk::Consume,
            Command::Topics(topics::TopicsCommand::Create(a)) => {
                FullDisk::CreateTopic(a.topic.clone())
            }
            Command::Topics(topics::TopicsCommand::Alter(_)) => FullDisk::AlterTopic,
            Command::Topics(topics::TopicsCommand::Delete(_)) => FullDisk::DeleteTopics,
            Command::Groups(groups::GroupsCommand::Reset(a)) => {
                FullDisk::ResetGroup(a.group.clone())
            }
            _ => FullDisk::Other,
        }
    }

    /// The hint for `err`, a write that failed for lack of space.
    fn hint(&self, err: &klog::Error) -> String {
        // klog-topics.json is replaced whole (a temp file, then a rename): when that write is
        // the one that failed, the metadata is as it was.
        let metadata_unchanged = matches!(err, klog::Error::Io { path, .. }
            if path.file_name().is_some_and(|n| n.to_string_lossy().contains(klog::topic::META_FILE)));
        match self {
            // Creating the topic it writes to (produce), or changing it.
            FullDisk::Produce | FullDisk::CreateTopic(_) | FullDisk::AlterTopic
                if metadata_unchanged =>
            {
                "free some space and run the command again; nothing was changed".into()
            }
            FullDisk::Produce => "free some space; records written before this one are kept".into(),
            FullDisk::Consume => "free some space; the group keeps its last committed offsets, so \
                                  the records printed since are printed again next time"
                .into(),
            FullDisk::CreateTopic(name) => format!(
                "free some space; topic '{name}' was created, but not all of its files were: \
                 `klog topics delete {name}`, then create it again"
            ),
            FullDisk::AlterTopic => "free some space; the change is saved (new partitions get \
                                     their directories when first written)"
                .into(),
            FullDisk::DeleteTopics => "free some space and run the command again; `klog topics \
                                       list` shows the topics still there"
                .into(),
            FullDisk::ResetGroup(group) => format!(
                "free some space; partitions reset before the one named above keep their new \
                 offsets (`klog groups describe {group}` shows them)"
            ),
            FullDisk::Other => "free some space and run the command again".into(),
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error as `klog: error: …` (plus a hint line) and picks the exit status.
pub(super) fn report(err: &anyhow::Error, ctx: Option<&Ctx>) -> i32 {
    if is_broken_pipe(err) {
        return ExitCode::Success as i32;
    }
    let mut msg = String::new();
    let mut hint = None;
    for (i, cause) in err.chain().enumerate() {
        if let Some(h) = cause.downcast_ref::<Hint>() {
            hint = Some(h.0.clone());
            continue;
        }
        if i > 0 && !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&cause.to_string());
    }
    if hint.is_none() {
        hint = default_hint(err, ctx);
    }
    let stderr = io::stderr();
    let mut e = stderr.lock();
    if ctx.is_some_and(|c| c.color_stderr) {
        let _ = writeln!(e, "klog: \x1b[1;31merror:\x1b[0m {msg}");
    } else {
        let _ = writeln!(e, "klog: error: {msg}");
    }
    if let Some(h) = hint {
        let _ = writeln!(e, "hint: {h}");
    }
    let usage = err.chain().any(|c| {
        c.downcast_ref::<UsageError>().is_some()
            || matches!(
                c.downcast_ref::<klog::Error>(),
                Some(
                    klog::Error::InvalidConfig { .. }
                        | klog::Error::InvalidTopicName { .. }
                        | klog::Error::InvalidGroupName { .. }
                        | klog::Error::PartitionNotFound { .. }
                        | klog::Error::Invalid(_)
                )
            )
    });
    if usage {
        ExitCode::Usage as i32
    } else {
        ExitCode::Failure as i32
    }
}

/// Prints a usage error as [`report`] prints errors: `klog: error: MSG` and, if any,
/// `hint: HINT` on stderr.
pub(super) fn print_usage_error(msg: &str, hint: Option<&str>, color: bool) {
    let stderr = io::stderr();
    let mut e = stderr.lock();
    if color {
        let _ = writeln!(e, "klog: \x1b[1;31merror:\x1b[0m {msg}");
    } else {
        let _ = writeln!(e, "klog: error: {msg}");
    }
    if let Some(h) = hint {
        let _ = writeln!(e, "hint: {h}");
    }
}

/// "did you mean 'a' or 'b'? (`LIST_CMD` shows them all)", for names [`nearest`] found.
pub fn did_you_mean(near: &[&str], list_cmd: &str) -> String {
    let names: Vec<String> = near.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "did you mean {}? (`{list_cmd}` shows them all)",
        names.join(" or ")
    )
}

/// Names within a small edit distance of `name`, closest first (at most three).
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|&(d, c)| d <= limit || c.contains(name) || name.contains(c))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

fn default_hint(err: &anyhow::Error, ctx: Option<&Ctx>) -> Option<String> {
    for c in err.chain() {
        match c.downcast_ref::<klog::Error>() {
            Some(klog::Error::TopicNotFound(name)) => {
                let names = ctx
                    .and_then(|c| c.topics().list_names().ok())
                    .unwrap_or_default();
                let near = nearest(name, names.iter().map(String::as_str));
                if !near.is_empty() {
                    return Some(did_you_mean(&near, "klog topics list"));
                }
                return Some("`klog topics list` shows the topics of this data directory".into());
            }
            Some(klog::Error::Corrupt { path, .. }) => {
                return Some(repair_hint(path, ctx));
            }
            Some(e) if e.is_no_space() => {
                return Some(ctx.map_or(&FullDisk::Other, |c| &c.on_full_disk).hint(e));
            }
            _ => {}
        }
    }
    None
}

/// The hint for damage in `path` (a segment file, or a partition directory): the repair
/// command for its partition. A writer's recovery cuts only what a crash leaves behind, which
/// readers read past quietly, so damage that reaches the user is for `--repair`.
fn repair_hint(path: &std::path::Path, ctx: Option<&Ctx>) -> String {
    let dir = if path.is_dir() {
        Some(path)
    } else {
        path.parent()
    };
    let partition = dir.and_then(|d| {
        let (topic, p) = klog::storage::file_names::parse_partition_dir(d.file_name()?.to_str()?)?;
        let in_data_dir = ctx.is_some_and(|c| d.parent() == Some(c.dir.as_path()));
        in_data_dir.then(|| format!("{topic} -p {p}"))
    });
    let target = match (partition, dir) {
        (Some(tp), _) => tp,
        (None, Some(d)) => shell_word(&d.display().to_string()),
        (None, None) => shell_word(&path.display().to_string()),
    };
    format!(
        "`klog segments verify {target} --repair` cuts the damage and keeps every later batch \
         at its offsets; until then nothing is appended to the partition"
    )
}

/// `s` quoted for a shell when it needs it.
fn shell_word(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn broken_pipe_is_success() {
        let err = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(report(&err, None), 0);
    }

    /// A write to `path` that failed for lack of space.
    fn no_space(path: &str) -> klog::Error {
        klog::Error::Io {
            op: "write",
            path: path.into(),
            source: io::Error::from_raw_os_error(28),
        }
    }

    #[test]
    fn full_disk_hints_say_what_is_true_for_each_command() {
        let metadata = no_space("/d/.klog-topics.json.12.0.tmp");
        let partition = no_space("/d/orders-0/partition.metadata");
        let log = no_space("/d/orders-0/00000000000000000000.log");
        let commit = no_space("/d/orders-2/.klog-group.etl.json.12.tmp");
        let nothing = "free some space and run the command again; nothing was changed";
        assert_eq!(
            FullDisk::Produce.hint(&log),
            "free some space; records written before this one are kept"
        );
        // produce creating its topic, create and alter: the metadata write is all or nothing.
        for kind in [
            FullDisk::Produce,
            FullDisk::CreateTopic("orders".into()),
            FullDisk::AlterTopic,
        ] {
            assert_eq!(kind.hint(&metadata), nothing, "{kind:?}");
        }
        assert!(
            FullDisk::CreateTopic("orders".into())
                .hint(&partition)
                .contains("topic 'orders' was created, but not all of its files were")
        );
        assert!(
            FullDisk::AlterTopic
                .hint(&partition)
                .contains("the change is saved")
        );
        assert!(
            FullDisk::Consume
                .hint(&commit)
                .contains("keeps its last committed offsets")
        );
        assert!(
            FullDisk::ResetGroup("etl".into())
                .hint(&commit)
                .contains("`klog groups describe etl`")
        );
        // Only produce keeps records, and nothing else claims it.
        for kind in [
            FullDisk::Consume,
            FullDisk::CreateTopic("orders".into()),
            FullDisk::AlterTopic,
            FullDisk::DeleteTopics,
            FullDisk::ResetGroup("etl".into()),
            FullDisk::Other,
        ] {
            for e in [&metadata, &partition, &log, &commit] {
                assert!(!kind.hint(e).contains("records written"), "{kind:?}");
            }
        }
        // The hint of an error goes by the command in the context.
        let ctx = Ctx {
            dir: PathBuf::from("/d"),
            quiet: true,
            color_stderr: false,
            on_full_disk: FullDisk::ResetGroup("etl".into()),
            writing: true,
        };
        let err = anyhow::Error::new(commit).context("commit orders-2");
        let hint = default_hint(&err, Some(&ctx)).unwrap_or_default();
        assert!(hint.contains("`klog groups describe etl`"), "{hint}");
    }

    #[test]
    fn nearest_names() {
        let names = ["orders", "orders-v2", "payments", "audit"];
        assert_eq!(nearest("ordres", names), vec!["orders"]);
        assert_eq!(nearest("orders-v", names), vec!["orders-v2", "orders"]);
        assert_eq!(nearest("payment", names), vec!["payments"]);
        assert!(nearest("zzzzzzzz", names).is_empty());
    }
}
