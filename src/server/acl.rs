//! Access control of `klog serve`: Kafka's ACL model in its allow-only form, kept in
//! `klog-acls.json` in the data directory (written by `klog acls` and by the
//! CreateAcls/DeleteAcls APIs).
//!
//! A rule allows a principal (`User:NAME`, or `User:*` for every authenticated user) an
//! operation on a resource: a topic, a group or the cluster, named literally (`*` is every
//! name) or by prefix. As in Kafka, `All` allows every operation, and Read, Write, Delete
//! and Alter each imply Describe.
//!
//! # When it applies
//! Authorization is on as soon as a user is defined (`klog users add`): every request is
//! then checked, and what no rule allows is refused (Kafka's
//! `allow.everyone.if.no.acl.found=false`). A connection that did not authenticate (a
//! PLAINTEXT or SSL listener) is `User:ANONYMOUS`, which `User:*` does not cover. Without
//! users nothing is checked: the loopback default stays zero-setup.
//!
//! # Invariants
//! 1. Only allow rules exist: a DENY rule is refused when created.
//! 2. The file is replaced atomically (mode 0600, like the users file), under the data
//!    directory's lock; a crash leaves the old rules or the new ones.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The rules file's name in the data directory.
pub const ACLS_FILE: &str = "klog-acls.json";

/// The principal of a connection that did not authenticate.
pub const ANONYMOUS: &str = "User:ANONYMOUS";

/// Kafka's name of the cluster resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// What a rule is about (Kafka's resource type codes in [`ResourceType::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceType {
    Topic,
    Group,
    Cluster,
}

impl ResourceType {
    pub const ALL: [ResourceType; 3] = [
        ResourceType::Topic,
        ResourceType::Group,
        ResourceType::Cluster,
    ];

    pub fn code(self) -> i8 {
        match self {
            ResourceType::Topic => 2,
            ResourceType::Group => 3,
            ResourceType::Cluster => 4,
        }
    }

    pub fn from_code(code: i8) -> Option<ResourceType> {
        ResourceType::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// How a rule's name matches (Kafka's pattern type codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PatternType {
    Literal,
    Prefixed,
}

impl PatternType {
    pub fn code(self) -> i8 {
        match self {
            PatternType::Literal => 3,
            PatternType::Prefixed => 4,
        }
    }

    pub fn from_code(code: i8) -> Option<PatternType> {
        match code {
            3 => Some(PatternType::Literal),
            4 => Some(PatternType::Prefixed),
            _ => None,
        }
    }
}

/// An operation (Kafka's operation codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
}

impl Operation {
    pub const ALL: [Operation; 7] = [
        Operation::All,
        Operation::Read,
        Operation::Write,
        Operation::Create,
        Operation::Delete,
        Operation::Alter,
        Operation::Describe,
    ];

    pub fn code(self) -> i8 {
        match self {
            Operation::All => 2,
            Operation::Read => 3,
            Operation::Write => 4,
            Operation::Create => 5,
            Operation::Delete => 6,
            Operation::Alter => 7,
            Operation::Describe => 8,
        }
    }

    pub fn from_code(code: i8) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.code() == code)
    }

    /// The name as `klog acls` takes it (any case).
    pub fn parse(s: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|o| format!("{o:?}").eq_ignore_ascii_case(s))
    }

    /// Whether a rule of this operation allows `wanted`.
    fn allows(self, wanted: Operation) -> bool {
        self == Operation::All
            || self == wanted
            || (wanted == Operation::Describe
                && matches!(
                    self,
                    Operation::Read | Operation::Write | Operation::Delete | Operation::Alter
                ))
    }
}

/// One allow rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// `User:NAME` or `User:*`.
    pub principal: String,
    pub resource: ResourceType,
    pub pattern: PatternType,
    pub name: String,
    pub operation: Operation,
}

impl Rule {
    /// Whether the rule allows `principal` `op` on the resource `name`.
    pub fn allows(
        &self,
        principal: &str,
        resource: ResourceType,
        name: &str,
        op: Operation,
    ) -> bool {
        self.resource == resource
            && (self.principal == principal
                || (self.principal == "User:*" && principal != ANONYMOUS))
            && self.operation.allows(op)
            && match self.pattern {
                PatternType::Literal => self.name == name || self.name == "*",
                PatternType::Prefixed => name.starts_with(&self.name),
            }
    }
}

/// A filter of rules (DescribeAcls, DeleteAcls, `klog acls remove`): `None` matches any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub principal: Option<String>,
    pub resource: Option<ResourceType>,
    pub pattern: Option<PatternType>,
    pub name: Option<String>,
    pub operation: Option<Operation>,
}

impl Filter {
    pub fn matches(&self, r: &Rule) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == r.principal)
            && self.resource.is_none_or(|t| t == r.resource)
            && self.pattern.is_none_or(|t| t == r.pattern)
            && self.name.as_ref().is_none_or(|n| *n == r.name)
            && self.operation.is_none_or(|o| o == r.operation)
    }
}

/// The rules of a data directory.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acls {
    pub rules: Vec<Rule>,
}

/// The rules file of a data directory.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(ACLS_FILE)
}

impl Acls {
    /// Reads the rules of `dir` (none without a file).
    pub fn load(dir: &Path) -> Result<Acls> {
        let path = path(dir);
        match crate::storage::fs::read_regular(&path) {
            Ok(text) => serde_json::from_slice(&text).map_err(|e| Error::BadMetadata {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Acls::default()),
            Err(e) => Err(Error::io("read", &path)(e)),
        }
    }

    /// Whether any rule allows `principal` `op` on the resource `name`.
    pub fn allows(
        &self,
        principal: &str,
        resource: ResourceType,
        name: &str,
        op: Operation,
    ) -> bool {
        self.rules
            .iter()
            .any(|r| r.allows(principal, resource, name, op))
    }

    /// Whether any rule allows `principal` `op` on some resource of the type.
    pub fn allows_any(&self, principal: &str, resource: ResourceType, op: Operation) -> bool {
        self.rules.iter().any(|r| {
            r.resource == resource
                && (r.principal == principal || (r.principal == "User:*" && principal != ANONYMOUS))
                && r.operation.allows(op)
        })
    }

    /// Adds a rule; whether it was new.
    pub fn add(&mut self, rule: Rule) -> Result<bool> {
        if !rule.principal.starts_with("User:") || rule.principal.len() == 5 {
            return Err(Error::Invalid(format!(
                "invalid principal '{}': expected User:NAME or User:*",
                rule.principal
            )));
        }
        if rule.name.is_empty() {
            return Err(Error::Invalid("an ACL needs a resource name".into()));
        }
        if rule.resource == ResourceType::Cluster && rule.name != CLUSTER_NAME {
            return Err(Error::Invalid(format!(
                "the cluster resource is named '{CLUSTER_NAME}'"
            )));
        }
        if self.rules.contains(&rule) {
            return Ok(false);
        }
        self.rules.push(rule);
        Ok(true)
    }

    /// Removes the rules the filter matches; those removed.
    pub fn remove(&mut self, filter: &Filter) -> Vec<Rule> {
        let (gone, kept) = std::mem::take(&mut self.rules)
            .into_iter()
            .partition(|r| filter.matches(r));
        self.rules = kept;
        gone
    }

    /// Writes the rules to `dir`'s file, atomically (mode 0600).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        crate::storage::fs::replace_private_file(&path(dir), &text)
    }

    /// Reads, changes and writes the rules of `dir` under the directory's lock.
    pub fn update<T>(dir: &Path, f: impl FnOnce(&mut Acls) -> Result<T>) -> Result<T> {
        std::fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
        let _lock = crate::storage::fs::lock_dir(dir)?;
        let mut acls = Acls::load(dir)?;
        let out = f(&mut acls)?;
        acls.save(dir)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        principal: &str,
        resource: ResourceType,
        pattern: PatternType,
        name: &str,
        op: Operation,
    ) -> Rule {
        Rule {
            principal: principal.into(),
            resource,
            pattern,
            name: name.into(),
            operation: op,
        }
    }

    #[test]
    fn literal_prefixed_wildcard_and_implied_describe() {
        use Operation::*;
        use PatternType::*;
        use ResourceType::*;
        let acls = Acls {
            rules: vec![
                rule("User:alice", Topic, Prefixed, "logs.", Read),
                rule("User:alice", Group, Literal, "g1", Read),
                rule("User:*", Topic, Literal, "public", Write),
                rule("User:bob", Topic, Literal, "*", All),
            ],
        };
        assert!(acls.allows("User:alice", Topic, "logs.app", Read));
        assert!(acls.allows("User:alice", Topic, "logs.app", Describe));
        assert!(!acls.allows("User:alice", Topic, "logs.app", Write));
        assert!(!acls.allows("User:alice", Topic, "orders", Read));
        assert!(!acls.allows("User:alice", Topic, "logs", Read));
        assert!(
            !acls.allows("User:alice", Group, "logs.app", Read),
            "a topic rule is not a group's"
        );
        assert!(acls.allows("User:alice", Group, "g1", Describe));
        assert!(!acls.allows("User:alice", Group, "g10", Read));
        assert!(acls.allows("User:carol", Topic, "public", Write));
        assert!(
            !acls.allows(ANONYMOUS, Topic, "public", Write),
            "User:* is the authenticated"
        );
        assert!(!acls.allows("User:carol", Topic, "public", Read));
        assert!(acls.allows("User:bob", Topic, "anything", Delete));
        assert!(!acls.allows("User:bob", Cluster, CLUSTER_NAME, Alter));
        assert!(acls.allows_any("User:alice", Topic, Describe));
        assert!(
            acls.allows_any("User:alice", Topic, Write),
            "through User:*"
        );
        assert!(!acls.allows_any(ANONYMOUS, Topic, Write));
        assert!(!acls.allows_any("User:alice", Group, Write));
        assert!(acls.allows_any("User:carol", Topic, Write));
        // Create does not imply Describe, Describe implies nothing.
        let acls = Acls {
            rules: vec![
                rule("User:a", Topic, Literal, "t", Create),
                rule("User:a", Topic, Literal, "u", Describe),
            ],
        };
        assert!(!acls.allows("User:a", Topic, "t", Describe));
        assert!(!acls.allows("User:a", Topic, "u", Read));
    }

    #[test]
    fn add_remove_and_the_file() {
        use Operation::*;
        use PatternType::*;
        use ResourceType::*;
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Acls::load(dir.path()).unwrap(), Acls::default());
        let r = rule("User:alice", Topic, Prefixed, "logs.", Read);
        assert!(Acls::update(dir.path(), |a| a.add(r.clone())).unwrap());
        assert!(!Acls::update(dir.path(), |a| a.add(r.clone())).unwrap());
        Acls::update(dir.path(), |a| {
            a.add(rule("User:alice", Group, Literal, "g", Read))
        })
        .unwrap();
        for bad in [
            rule("alice", Topic, Literal, "t", Read),
            rule("User:", Topic, Literal, "t", Read),
            rule("User:a", Topic, Literal, "", Read),
            rule("User:a", Cluster, Literal, "c", Alter),
        ] {
            assert!(Acls::default().add(bad.clone()).is_err(), "{bad:?}");
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(path(dir.path())).unwrap().permissions(),
        ) & 0o777;
        assert_eq!(mode, 0o600);
        let gone = Acls::update(dir.path(), |a| {
            Ok(a.remove(&Filter {
                resource: Some(Group),
                ..Filter::default()
            }))
        })
        .unwrap();
        assert_eq!(gone.len(), 1);
        assert_eq!(Acls::load(dir.path()).unwrap().rules, vec![r]);
    }
}
