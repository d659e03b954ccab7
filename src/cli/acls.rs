//! `klog acls`: the allow rules `klog serve` checks once users exist
//! (`klog::server::acl` keeps the file).

use std::io::Write;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use super::{Ctx, ExitCode, UsageError};
use klog::server::acl::{Acls, CLUSTER_NAME, Filter, Operation, PatternType, ResourceType, Rule};

#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:
  klog acls add alice read --topic logs. --prefixed   # alice reads every topic logs.*
  klog acls add alice read --group app                # and commits as group app
  klog acls add '*' write --topic public              # every authenticated user writes
  klog acls add admin all --cluster                   # admin APIs (topics, configs, groups)
  klog acls list
  klog acls remove alice read --topic logs. --prefixed

Rules only allow (as Kafka's ALLOW ACLs). Once a user exists (`klog users add`), `klog serve`
refuses what no rule allows: TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, topics
left out of metadata. Read, Write, Delete and Alter imply Describe; All allows everything.
A connection that did not authenticate is User:ANONYMOUS. A running `klog serve` sees a
change within a tenth of a second.")]
pub enum AclsCommand {
    /// Allow a user an operation on a topic, a group or the cluster
    Add(RuleArgs),
    /// List the rules
    List(ListArgs),
    /// Remove a rule
    Remove(RuleArgs),
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// User name, `*` for every authenticated user, or a Kafka principal (User:NAME)
    pub user: String,
    /// read, write, create, delete, alter, describe or all
    pub operation: String,
    /// The topic (a name, `*`, or with --prefixed a prefix)
    #[arg(long, value_name = "NAME", group = "resource")]
    pub topic: Option<String>,
    /// The consumer group (a name, `*`, or with --prefixed a prefix)
    #[arg(long, value_name = "NAME", group = "resource")]
    pub group: Option<String>,
    /// The cluster (creating topics, the admin APIs, managing ACLs)
    #[arg(long, group = "resource")]
    pub cluster: bool,
    /// The name is a prefix
    #[arg(long)]
    pub prefixed: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this user's rules
    #[arg(long)]
    pub user: Option<String>,
}

/// `alice` → `User:alice`, `*` → `User:*`; a `User:` principal as it is.
fn principal(user: &str) -> String {
    if user.starts_with("User:") {
        user.to_string()
    } else {
        format!("User:{user}")
    }
}

fn rule(a: RuleArgs) -> Result<Rule> {
    let operation = Operation::parse(&a.operation).ok_or_else(|| {
        UsageError(format!(
            "invalid operation '{}': read, write, create, delete, alter, describe or all",
            a.operation
        ))
    })?;
    let (resource, name) = match (a.topic, a.group, a.cluster) {
        (Some(t), _, _) => (ResourceType::Topic, t),
        (_, Some(g), _) => (ResourceType::Group, g),
        (_, _, true) => (ResourceType::Cluster, CLUSTER_NAME.to_string()),
        _ => {
            return Err(UsageError("name a resource: --topic, --group or --cluster".into()).into());
        }
    };
    if a.prefixed && resource == ResourceType::Cluster {
        return Err(UsageError("--prefixed does not apply to --cluster".into()).into());
    }
    Ok(Rule {
        principal: principal(&a.user),
        resource,
        pattern: if a.prefixed {
            PatternType::Prefixed
        } else {
            PatternType::Literal
        },
        name,
        operation,
    })
}

/// A rule as `klog acls list` prints it.
fn describe(r: &Rule) -> String {
    let pattern = match r.pattern {
        PatternType::Literal => "literal",
        PatternType::Prefixed => "prefixed",
    };
    format!(
        "{}\t{:?}\t{:?}\t{pattern}\t{}",
        r.principal, r.operation, r.resource, r.name
    )
}

pub fn run(ctx: &Ctx, c: AclsCommand) -> Result<ExitCode> {
    match c {
        AclsCommand::Add(a) => {
            let r = rule(a)?;
            let added = Acls::update(&ctx.dir, |acls| acls.add(r.clone()))?;
            if !ctx.quiet {
                let what = if added { "added" } else { "already there" };
                eprintln!("klog: {what}: {}", describe(&r));
            }
        }
        AclsCommand::List(a) => {
            let acls = Acls::load(&ctx.dir)?;
            let only = a.user.as_deref().map(principal);
            let mut out = std::io::stdout().lock();
            for r in acls
                .rules
                .iter()
                .filter(|r| only.as_ref().is_none_or(|p| *p == r.principal))
            {
                writeln!(out, "{}", describe(r))?;
            }
        }
        AclsCommand::Remove(a) => {
            let r = rule(a)?;
            let filter = Filter {
                principal: Some(r.principal.clone()),
                resource: Some(r.resource),
                pattern: Some(r.pattern),
                name: Some(r.name.clone()),
                operation: Some(r.operation),
            };
            let gone = Acls::update(&ctx.dir, |acls| Ok(acls.remove(&filter)))?;
            if gone.is_empty() {
                bail!("no such rule: {}", describe(&r));
            }
            if !ctx.quiet {
                eprintln!("klog: removed: {}", describe(&r));
            }
        }
    }
    Ok(ExitCode::Success)
}
