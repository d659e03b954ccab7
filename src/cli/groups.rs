//! `klog groups list|describe|reset|delete`: consumer groups' committed offsets and members.
//!
//! `list` and `describe` show klog's groups and, in a Kafka broker's data directory, the
//! broker's (from its `__consumer_offsets` topic, read only), each row marked with its source.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{print_table, table};
use super::timespec::{now_ms, parse_duration_ms, parse_iso_duration_ms, parse_time};
use super::{Ctx, ExitCode, Hint, UsageError};
use klog::group::{self, GroupPartition, OutOfRange, Source};
use klog::topic::Topic;

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List consumer groups with their topics, live members and total lag (klog's, and a
    /// Kafka broker's from its __consumer_offsets topic)
    #[command(after_help = "Examples:
  klog groups list
  klog groups list --json | jq -r '.[] | select(.lag > 0) | .group'
  klog --dir /var/lib/kafka/data groups list   # a broker's groups (SOURCE kafka)")]
    List(ListArgs),
    /// Show a group's offsets, lag and owning member per partition (a committed offset outside
    /// the log is flagged: the next member starts where its --reset says)
    #[command(after_help = "Examples:
  klog groups describe etl
  klog groups describe etl --json | jq '[.[].lag] | add'")]
    Describe(DescribeArgs),
    /// Move a group's committed offsets (refused while a member owns an affected partition)
    #[command(after_help = "Examples:
  klog groups reset etl --topic orders --to-earliest --dry-run
  klog groups reset etl --topic orders -p 0 --to-offset 1200
  klog groups reset etl --topic orders --to-time 2026-11-26T08:00:00Z
  klog groups reset etl --topic orders --by-duration PT1H   # back to one hour ago (or 1h)
  klog groups reset etl --topic orders --by-duration P1DT12H
  klog groups reset etl --topic orders --shift-by -100")]
    Reset(ResetArgs),
    /// Delete a group: its committed offsets and its lock and member files (refused while it
    /// has live members, as in Kafka)
    #[command(after_help = "Examples:
  klog groups delete etl
  klog groups list --json | jq -r '.[] | select(.lag == 0) | .group' | xargs -n1 klog groups delete")]
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Consumer group name
    pub group: String,
    /// Only this topic
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args([
    "to_earliest", "to_latest", "to_offset", "to_time", "by_duration", "shift_by"
])))]
pub struct ResetArgs {
    /// Consumer group name
    pub group: String,
    /// Topic whose offsets to move
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
    /// Only this partition (repeatable; default: all)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// To the log start offset
    #[arg(long)]
    pub to_earliest: bool,
    /// To the log end offset (skip everything there is)
    #[arg(long)]
    pub to_latest: bool,
    /// To this offset; past the log end it goes to the log end, below the log start to the
    /// log start (as Kafka's tool does), with a note
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub to_offset: Option<i64>,
    /// To the first record at or after TIME (RFC 3339, epoch ms, or relative such as -1h,
    /// -1h30m)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to_time: Option<String>,
    /// To the first record at or after now minus DURATION: ISO 8601 as Kafka's tool takes it
    /// (PT1H, P1DT2H, PT0.5S), or 30m, 1h30m, 2d
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub by_duration: Option<String>,
    /// Move by N records (negative: back), kept within the log
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Show the old and new offsets without changing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Consumer group name
    pub group: String,
}

pub fn run(ctx: &Ctx, cmd: GroupsCommand) -> Result<ExitCode> {
    match cmd {
        GroupsCommand::List(a) => list(ctx, a),
        GroupsCommand::Describe(a) => describe(ctx, a),
        GroupsCommand::Reset(a) => reset(ctx, a),
        GroupsCommand::Delete(a) => delete(ctx, a),
    }
}

/// "group 'G' does not exist", with a hint naming the known groups or the nearest ones.
fn unknown_group(name: &str, known: &[&str]) -> anyhow::Error {
    let hint = if known.is_empty() {
        "no group has committed offsets here yet; `klog consume TOPIC --group G` creates one"
            .to_string()
    } else {
        let near = super::nearest(name, known.iter().copied());
        if near.is_empty() {
            format!("known groups: {}", known.join(", "))
        } else {
            super::did_you_mean(&near, "klog groups list")
        }
    };
    anyhow::Error::new(Hint(hint)).context(format!("group '{name}' does not exist"))
}

/// The groups of a data directory: klog's own, and a Kafka broker's from its
/// `__consumer_offsets` topic, each with the topics it has offsets (or members) in.
struct AllGroups {
    klog: Vec<(String, Vec<String>)>,
    kafka: Vec<(String, Vec<String>)>,
    commits: group::BrokerCommits,
}

impl AllGroups {
    fn read(ctx: &Ctx) -> Result<AllGroups> {
        let topics = ctx.topics();
        let commits = group::broker_commits(&topics)?;
        Ok(AllGroups {
            klog: group::list_groups(&topics)?,
            kafka: group::broker_groups(&commits),
            commits,
        })
    }

    /// Every group name, sorted, each once.
    fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .klog
            .iter()
            .chain(&self.kafka)
            .map(|(g, _)| g.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The rows of `describe` for one group: klog's, then the broker's.
    fn rows(&self, ctx: &Ctx, name: &str) -> Result<Vec<GroupPartition>> {
        let topics = ctx.topics();
        let mut rows = Vec::new();
        if let Some((_, names)) = self.klog.iter().find(|(g, _)| g == name) {
            for t in names {
                rows.extend(group::describe_topic(&topics.open(t)?, name)?);
            }
        }
        rows.extend(group::describe_broker(&topics, &self.commits, name)?);
        Ok(rows)
    }
}

#[derive(Serialize)]
struct GroupSummary {
    group: String,
    topics: Vec<String>,
    partitions: usize,
    members: usize,
    lag: i64,
    source: Source,
}

/// A SOURCE column, shown where a broker's offsets are listed.
fn with_source(mut columns: Vec<&'static str>, shown: bool) -> Vec<&'static str> {
    if shown {
        columns.push("SOURCE");
    }
    columns
}

fn list(ctx: &Ctx, a: ListArgs) -> Result<ExitCode> {
    let all = AllGroups::read(ctx)?;
    let mut rows = Vec::new();
    for (source, groups) in [(Source::Klog, &all.klog), (Source::Kafka, &all.kafka)] {
        for (g, names) in groups {
            let mut partitions = 0;
            let mut lag = 0;
            let mut members = std::collections::BTreeSet::new();
            for r in all.rows(ctx, g)?.iter().filter(|r| r.source == source) {
                if r.current_offset.is_some() {
                    partitions += 1;
                }
                lag += r.lag.unwrap_or(0);
                if let Some(pid) = r.member {
                    members.insert(pid);
                }
            }
            rows.push(GroupSummary {
                group: g.clone(),
                topics: names.clone(),
                partitions,
                members: members.len(),
                lag,
                source,
            });
        }
    }
    rows.sort_by(|a, b| (&a.group, a.source).cmp(&(&b.group, b.source)));
    let mut out = super::stdout();
    if a.json {
        super::output::print_json(&mut out, &rows)?;
    } else if rows.is_empty() {
        ctx.note("no consumer groups (consume with `--group G` to create one)");
    } else {
        let kafka = rows.iter().any(|r| r.source == Source::Kafka);
        let mut t = table(&with_source(
            vec!["GROUP", "TOPICS", "PARTITIONS", "MEMBERS", "LAG"],
            kafka,
        ));
        for r in &rows {
            let mut row = vec![
                r.group.clone(),
                r.topics.join(","),
                r.partitions.to_string(),
                r.members.to_string(),
                r.lag.to_string(),
            ];
            if kafka {
                row.push(r.source.name().to_string());
            }
            t.add_row(row);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn describe(ctx: &Ctx, a: DescribeArgs) -> Result<ExitCode> {
    group::validate_group_name(&a.group)?;
    let all = AllGroups::read(ctx)?;
    let mut rows = all.rows(ctx, &a.group)?;
    if rows.is_empty() && !all.names().contains(&a.group.as_str()) {
        return Err(unknown_group(&a.group, &all.names()));
    }
    if let Some(t) = &a.topic {
        rows.retain(|r| &r.topic == t);
        if rows.is_empty() {
            ctx.topics().open(t)?;
            return Err(
                UsageError(format!("group '{}' has no offsets in topic '{t}'", a.group)).into(),
            );
        }
    }
    let mut out = super::stdout();
    if a.json {
        super::output::print_json(&mut out, &rows)?;
    } else {
        let kafka = rows.iter().any(|r| r.source == Source::Kafka);
        let mut t = table(&with_source(
            vec![
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "MEMBER",
            ],
            kafka,
        ));
        for r in &rows {
            let current = match (r.current_offset, r.out_of_range) {
                (Some(c), Some(OutOfRange::PastLogEnd)) => format!("{c} (past log end)"),
                (Some(c), Some(OutOfRange::BelowLogStart)) => format!("{c} (below log start)"),
                (c, _) => opt(c),
            };
            let mut row = vec![
                r.group.clone(),
                r.topic.clone(),
                r.partition.to_string(),
                current,
                r.log_end_offset.to_string(),
                opt(r.lag),
                r.member
                    .map_or_else(|| "-".to_string(), |p| format!("pid {p}")),
            ];
            if kafka {
                row.push(r.source.name().to_string());
            }
            t.add_row(row);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    for r in &rows {
        if let (Some(c), Some(o)) = (r.current_offset, r.out_of_range) {
            let who = match r.source {
                Source::Klog => "the group's next member starts where its --reset says",
                Source::Kafka => {
                    "a Kafka consumer of the group starts where its auto.offset.reset says"
                }
            };
            ctx.note(format_args!(
                "warning: committed offset {c} of {}-{} is {}: {who} (earliest: {}, latest: {})",
                r.topic,
                r.partition,
                o.describe(r.log_start_offset, r.log_end_offset),
                r.log_start_offset,
                r.log_end_offset
            ));
        }
    }
    Ok(ExitCode::Success)
}

#[derive(Serialize)]
struct ResetRow {
    group: String,
    topic: String,
    partition: u32,
    old_offset: Option<i64>,
    new_offset: i64,
}

/// Where `groups reset` moves a group's offsets.
#[derive(Debug, Clone, Copy)]
enum ResetTo {
    Earliest,
    Latest,
    Offset(i64),
    /// The first record at or after this time (ms).
    Time(i64),
    ShiftBy(i64),
}

/// The target of `groups reset`, parsed before anything is touched (`None`: none given).
fn reset_target(a: &ResetArgs, now: i64) -> Result<Option<ResetTo>> {
    if let Some(o) = a.to_offset
        && o < 0
    {
        return Err(UsageError(format!(
            "invalid --to-offset {o}: an offset is never negative (--shift-by {o} moves the \
             group back by {})",
            super::plural(o.unsigned_abs(), "record")
        ))
        .into());
    }
    let to_time = a
        .to_time
        .as_deref()
        .map(|t| parse_time(t, now))
        .transpose()?;
    let by_duration = match &a.by_duration {
        Some(d) => {
            let ms = parse_iso_duration_ms(d)
                .or_else(|| parse_duration_ms(d))
                .ok_or_else(|| {
                    UsageError(format!(
                        "invalid --by-duration '{d}': expected an ISO 8601 duration such as \
                         PT1H, P1DT2H, PT0.5S (Kafka's PnDTnHnMnS), or 30m, 1h30m, 2d"
                    ))
                })?;
            Some(now.saturating_sub(ms))
        }
        None => None,
    };
    Ok(if a.to_earliest {
        Some(ResetTo::Earliest)
    } else if a.to_latest {
        Some(ResetTo::Latest)
    } else if let Some(o) = a.to_offset {
        Some(ResetTo::Offset(o))
    } else if let Some(t) = to_time.or(by_duration) {
        Some(ResetTo::Time(t))
    } else {
        a.shift_by.map(ResetTo::ShiftBy)
    })
}

/// The group's committed offset of a partition, and the offset `to` moves it to. Kafka's
/// kafka-consumer-groups moves an offset outside the log to its nearest end, with a note.
fn reset_offset(
    ctx: &Ctx,
    topic: &Topic,
    p: u32,
    group: &str,
    to: Option<ResetTo>,
) -> Result<(Option<i64>, i64)> {
    let (start, end, mut reader) = match topic.open_reader(p)? {
        Some(mut r) => (r.log_start_offset(), r.log_end_offset()?, Some(r)),
        None => (0, 0, None),
    };
    let old = group::committed(topic, p, group)?.map(|c| c.offset);
    let Some(to) = to else {
        return Err(UsageError("give a reset target".into()).into());
    };
    let new = match to {
        ResetTo::Earliest => start,
        ResetTo::Latest => end,
        ResetTo::Offset(o) if o > end => {
            ctx.note(format_args!(
                "offset {o} is past the log end of {}-{p}: using the log end offset {end}",
                topic.name
            ));
            end
        }
        ResetTo::Offset(o) if o < start => {
            ctx.note(format_args!(
                "offset {o} is below the log start of {}-{p}: using the log start offset \
                 {start}",
                topic.name
            ));
            start
        }
        ResetTo::Offset(o) => o,
        ResetTo::Time(t) => match reader.as_mut() {
            Some(r) => r.offset_for_timestamp(t)?.unwrap_or(end),
            None => end,
        },
        ResetTo::ShiftBy(n) => old.unwrap_or(start).saturating_add(n).clamp(start, end),
    };
    Ok((old, new))
}

fn reset(ctx: &Ctx, a: ResetArgs) -> Result<ExitCode> {
    group::validate_group_name(&a.group)?;
    // Parse every target before touching anything.
    let target = reset_target(&a, now_ms())?;
    let topic = ctx.topics().open(&a.topic)?;
    let partitions = super::partitions_of(&topic, &a.partitions)?;
    let known = group::list_groups(&ctx.topics())?
        .iter()
        .any(|(g, _)| g == &a.group);
    // Own every affected partition for the duration of the reset: no member can start
    // reading from the old offsets meanwhile, and a live member makes the reset fail.
    let mut locks = Vec::new();
    for &p in &partitions {
        match group::try_own(&topic, p, &a.group)? {
            Some(l) => locks.push(l),
            None => {
                let pid = group::owner(&topic, p, &a.group)?.unwrap_or(0);
                return Err(anyhow::Error::new(Hint(format!(
                    "stop the consumer (pid {pid}) first, or reset other partitions with -p"
                )))
                .context(format!(
                    "partition {}-{p} is owned by a live member of group '{}' (pid {pid})",
                    topic.name, a.group
                )));
            }
        }
    }
    let mut rows = Vec::new();
    for &p in &partitions {
        let (old_offset, new_offset) = reset_offset(ctx, &topic, p, &a.group, target)?;
        rows.push(ResetRow {
            group: a.group.clone(),
            topic: topic.name.clone(),
            partition: p,
            old_offset,
            new_offset,
        });
    }
    if !a.dry_run {
        if !known {
            ctx.note(format_args!("group '{}' is new", a.group));
        }
        for r in &rows {
            group::commit(&topic, r.partition, &a.group, r.new_offset)
                .with_context(|| format!("commit {}-{}", topic.name, r.partition))?;
        }
    }
    drop(locks);
    print_reset(&rows, a.json)?;
    if a.dry_run {
        ctx.note("dry run: nothing changed");
    }
    Ok(ExitCode::Success)
}

/// The rows of `groups reset`: a table, or one JSON document.
fn print_reset(rows: &[ResetRow], json: bool) -> Result<()> {
    let mut out = super::stdout();
    if json {
        super::output::print_json(&mut out, &rows)?;
    } else {
        let mut t = table(&["GROUP", "TOPIC", "PARTITION", "OLD-OFFSET", "NEW-OFFSET"]);
        for r in rows {
            t.add_row(vec![
                r.group.clone(),
                r.topic.clone(),
                r.partition.to_string(),
                opt(r.old_offset),
                r.new_offset.to_string(),
            ]);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    Ok(())
}

fn delete(ctx: &Ctx, a: DeleteArgs) -> Result<ExitCode> {
    group::validate_group_name(&a.group)?;
    let topics = ctx.topics();
    // Every topic with a file of the group, offsets or not: a run with --no-commit leaves only
    // lock and member-slot files, which delete removes too.
    let names = group::topics_with_files(&topics, &a.group)?;
    let all = AllGroups::read(ctx)?;
    let in_broker = all.kafka.iter().any(|(g, _)| g == &a.group);
    if names.is_empty() {
        if in_broker {
            return Err(anyhow::Error::new(Hint(
                "delete it with Kafka's tools (kafka-consumer-groups --delete) while the broker \
                 runs"
                    .into(),
            ))
            .context(format!(
                "group '{}' has offsets only in the Kafka broker's {}, which klog reads but \
                 never changes",
                a.group,
                group::CONSUMER_OFFSETS
            )));
        }
        return Err(unknown_group(&a.group, &all.names()));
    }
    let ts = names
        .iter()
        .map(|t| topics.open(t))
        .collect::<Result<Vec<_>, _>>()?;
    match group::delete(&ts, &a.group) {
        Err(e @ klog::Error::GroupNotEmpty { .. }) => {
            return Err(anyhow::Error::new(Hint(
                "stop its members first (Kafka too refuses to delete a group with members)".into(),
            ))
            .context(e.to_string()));
        }
        r => r?,
    }
    ctx.note(format_args!("deleted group '{}'", a.group));
    if in_broker {
        ctx.note(format_args!(
            "the offsets of '{}' in the Kafka broker's {} are left as they are",
            a.group,
            group::CONSUMER_OFFSETS
        ));
    }
    Ok(ExitCode::Success)
}
