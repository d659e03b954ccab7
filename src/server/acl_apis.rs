//! Kafka's CreateAcls, DescribeAcls and DeleteAcls on the rules of [`super::acl`], so that
//! `kafka-acls.sh` and admin clients manage them as on a Kafka cluster.
//!
//! Only ALLOW rules for any host (`*`) exist: a DENY rule or one for a given host is
//! refused with INVALID_REQUEST. Filters follow Kafka: ANY (1) matches every value; the
//! MATCH pattern type (2) matches the rules that apply to the named resource.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::Broker;
use super::acl::{Acls, Operation, PatternType, ResourceType, Rule};

const ANY: i8 = 1;
const MATCH: i8 = 2;
const ALLOW: i8 = 3;

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn invalid(why: &str) -> (i16, Option<StrBytes>) {
    (ResponseError::InvalidRequest.code(), Some(text(why)))
}

/// A Kafka filter of rules.
struct KafkaFilter<'a> {
    resource: i8,
    name: Option<&'a str>,
    pattern: i8,
    principal: Option<&'a str>,
    host: Option<&'a str>,
    operation: i8,
    permission: i8,
}

impl KafkaFilter<'_> {
    fn matches(&self, r: &Rule) -> bool {
        let name_ok = match (self.pattern, self.name) {
            (_, None) => true,
            (MATCH, Some(n)) => match r.pattern {
                PatternType::Literal => r.name == n || r.name == "*",
                PatternType::Prefixed => n.starts_with(&r.name),
            },
            (_, Some(n)) => r.name == n,
        };
        (self.resource == ANY || self.resource == r.resource.code())
            && name_ok
            && (self.pattern == ANY || self.pattern == MATCH || self.pattern == r.pattern.code())
            && self.principal.is_none_or(|p| p == r.principal)
            && self.host.is_none_or(|h| h == "*")
            && (self.operation == ANY || self.operation == r.operation.code())
            && (self.permission == ANY || self.permission == ALLOW)
    }
}

fn description(r: &Rule) -> AclDescription {
    AclDescription::default()
        .with_principal(text(&r.principal))
        .with_host(text("*"))
        .with_operation(r.operation.code())
        .with_permission_type(ALLOW)
}

/// CreateAcls: each creation added (or already there), or refused with its reason.
pub fn create_acls(broker: &Broker, req: CreateAclsRequest, allowed: bool) -> CreateAclsResponse {
    let dir = &broker.config().dir;
    let mut results = Vec::with_capacity(req.creations.len());
    let outcome = Acls::update(dir, |acls| {
        for c in &req.creations {
            let (code, message) = if !allowed {
                (super::authz::CLUSTER_DENIED, None)
            } else if c.permission_type != ALLOW {
                invalid("klog has ALLOW rules only")
            } else if c.host.as_str() != "*" {
                invalid("klog's rules are for every host (*)")
            } else {
                match (
                    ResourceType::from_code(c.resource_type),
                    PatternType::from_code(c.resource_pattern_type),
                    Operation::from_code(c.operation),
                ) {
                    (Some(resource), Some(pattern), Some(operation)) => match acls.add(Rule {
                        principal: c.principal.to_string(),
                        resource,
                        pattern,
                        name: c.resource_name.to_string(),
                        operation,
                    }) {
                        Ok(_) => (0, None),
                        Err(e) => invalid(&e.to_string()),
                    },
                    _ => invalid(
                        "klog's rules are on topics, groups and the cluster, literal or prefixed, \
                         for All, Read, Write, Create, Delete, Alter or Describe",
                    ),
                }
            };
            results.push(
                AclCreationResult::default()
                    .with_error_code(code)
                    .with_error_message(message),
            );
        }
        Ok(())
    });
    if let Err(e) = outcome {
        let code = super::error_code(&e);
        results = req
            .creations
            .iter()
            .map(|_| {
                AclCreationResult::default()
                    .with_error_code(code)
                    .with_error_message(Some(text(&e.to_string())))
            })
            .collect();
    }
    broker.refresh_policy();
    CreateAclsResponse::default().with_results(results)
}

/// DescribeAcls: the rules the filter matches, grouped by resource.
pub fn describe_acls(
    broker: &Broker,
    req: DescribeAclsRequest,
    allowed: bool,
) -> DescribeAclsResponse {
    if !allowed {
        return DescribeAclsResponse::default().with_error_code(super::authz::CLUSTER_DENIED);
    }
    let acls = match Acls::load(&broker.config().dir) {
        Ok(a) => a,
        Err(e) => {
            return DescribeAclsResponse::default()
                .with_error_code(super::error_code(&e))
                .with_error_message(Some(text(&e.to_string())));
        }
    };
    let filter = KafkaFilter {
        resource: req.resource_type_filter,
        name: req.resource_name_filter.as_deref(),
        pattern: req.pattern_type_filter,
        principal: req.principal_filter.as_deref(),
        host: req.host_filter.as_deref(),
        operation: req.operation,
        permission: req.permission_type,
    };
    let mut resources: Vec<DescribeAclsResource> = Vec::new();
    for r in acls.rules.iter().filter(|r| filter.matches(r)) {
        let same = |d: &DescribeAclsResource| {
            d.resource_type == r.resource.code()
                && d.resource_name.as_str() == r.name
                && d.pattern_type == r.pattern.code()
        };
        match resources.iter_mut().find(|d| same(d)) {
            Some(d) => d.acls.push(description(r)),
            None => resources.push(
                DescribeAclsResource::default()
                    .with_resource_type(r.resource.code())
                    .with_resource_name(text(&r.name))
                    .with_pattern_type(r.pattern.code())
                    .with_acls(vec![description(r)]),
            ),
        }
    }
    DescribeAclsResponse::default()
        .with_error_message(None)
        .with_resources(resources)
}

/// DeleteAcls: per filter, the rules it matched and removed.
pub fn delete_acls(broker: &Broker, req: DeleteAclsRequest, allowed: bool) -> DeleteAclsResponse {
    if !allowed {
        return DeleteAclsResponse::default().with_filter_results(
            req.filters
                .iter()
                .map(|_| {
                    DeleteAclsFilterResult::default().with_error_code(super::authz::CLUSTER_DENIED)
                })
                .collect(),
        );
    }
    let outcome = Acls::update(&broker.config().dir, |acls| {
        Ok(req
            .filters
            .iter()
            .map(|f| {
                let filter = KafkaFilter {
                    resource: f.resource_type_filter,
                    name: f.resource_name_filter.as_deref(),
                    pattern: f.pattern_type_filter,
                    principal: f.principal_filter.as_deref(),
                    host: f.host_filter.as_deref(),
                    operation: f.operation,
                    permission: f.permission_type,
                };
                let (gone, kept) = std::mem::take(&mut acls.rules)
                    .into_iter()
                    .partition::<Vec<_>, _>(|r| filter.matches(r));
                acls.rules = kept;
                DeleteAclsFilterResult::default().with_matching_acls(
                    gone.iter()
                        .map(|r| {
                            DeleteAclsMatchingAcl::default()
                                .with_resource_type(r.resource.code())
                                .with_resource_name(text(&r.name))
                                .with_pattern_type(r.pattern.code())
                                .with_principal(text(&r.principal))
                                .with_host(text("*"))
                                .with_operation(r.operation.code())
                                .with_permission_type(ALLOW)
                        })
                        .collect(),
                )
            })
            .collect::<Vec<_>>())
    });
    broker.refresh_policy();
    match outcome {
        Ok(results) => DeleteAclsResponse::default().with_filter_results(results),
        Err(e) => DeleteAclsResponse::default().with_filter_results(
            req.filters
                .iter()
                .map(|_| {
                    DeleteAclsFilterResult::default()
                        .with_error_code(super::error_code(&e))
                        .with_error_message(Some(text(&e.to_string())))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::create_acls_request::AclCreation;
    use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
    use std::sync::Arc;

    fn broker() -> (tempfile::TempDir, Broker) {
        let tmp = tempfile::tempdir().unwrap();
        let b = Broker::open(
            super::super::Config::new(tmp.path()),
            ("127.0.0.1".into(), 9092),
            Arc::new(|_| {}),
        )
        .unwrap();
        (tmp, b)
    }

    fn creation(principal: &str, pattern: i8, name: &str, op: i8, permission: i8) -> AclCreation {
        AclCreation::default()
            .with_resource_type(ResourceType::Topic.code())
            .with_resource_name(text(name))
            .with_resource_pattern_type(pattern)
            .with_principal(text(principal))
            .with_host(text("*"))
            .with_operation(op)
            .with_permission_type(permission)
    }

    fn describe_all(b: &Broker) -> Vec<(String, String, i8)> {
        let resp = describe_acls(
            b,
            DescribeAclsRequest::default()
                .with_resource_type_filter(ANY)
                .with_resource_name_filter(None)
                .with_principal_filter(None)
                .with_host_filter(None)
                .with_pattern_type_filter(ANY)
                .with_operation(ANY)
                .with_permission_type(ANY),
            true,
        );
        assert_eq!(resp.error_code, 0);
        resp.resources
            .iter()
            .flat_map(|r| {
                r.acls.iter().map(move |a| {
                    (
                        a.principal.to_string(),
                        r.resource_name.to_string(),
                        a.operation,
                    )
                })
            })
            .collect()
    }

    #[test]
    fn create_describe_delete_round_trip_and_refusals() {
        let (_tmp, b) = broker();
        let resp = create_acls(
            &b,
            CreateAclsRequest::default().with_creations(vec![
                creation("User:alice", 4, "logs.", Operation::Read.code(), ALLOW),
                creation("User:bob", 3, "orders", Operation::Write.code(), ALLOW),
                creation("User:bob", 3, "orders", Operation::Write.code(), 2),
                creation("bob", 3, "orders", Operation::Write.code(), ALLOW),
                creation("User:bob", 3, "orders", 12, ALLOW),
            ]),
            true,
        );
        let codes: Vec<i16> = resp.results.iter().map(|r| r.error_code).collect();
        assert_eq!(codes, [0, 0, 42, 42, 42]);
        assert_eq!(
            describe_all(&b),
            [
                ("User:alice".into(), "logs.".into(), Operation::Read.code()),
                ("User:bob".into(), "orders".into(), Operation::Write.code()),
            ]
        );
        assert!(b.policy().1.acls.allows(
            "User:alice",
            ResourceType::Topic,
            "logs.x",
            Operation::Read
        ));
        // MATCH: the rules that apply to logs.app.
        let resp = describe_acls(
            &b,
            DescribeAclsRequest::default()
                .with_resource_type_filter(ResourceType::Topic.code())
                .with_resource_name_filter(Some(text("logs.app")))
                .with_principal_filter(None)
                .with_host_filter(None)
                .with_pattern_type_filter(MATCH)
                .with_operation(ANY)
                .with_permission_type(ANY),
            true,
        );
        assert_eq!(resp.resources.len(), 1);
        assert_eq!(resp.resources[0].resource_name.as_str(), "logs.");
        let resp = delete_acls(
            &b,
            DeleteAclsRequest::default().with_filters(vec![
                DeleteAclsFilter::default()
                    .with_resource_type_filter(ANY)
                    .with_resource_name_filter(None)
                    .with_host_filter(None)
                    .with_pattern_type_filter(ANY)
                    .with_principal_filter(Some(text("User:bob")))
                    .with_operation(ANY)
                    .with_permission_type(ANY),
            ]),
            true,
        );
        assert_eq!(resp.filter_results[0].matching_acls.len(), 1);
        assert_eq!(describe_all(&b).len(), 1);
        // Not allowed: nothing changes.
        let resp = create_acls(
            &b,
            CreateAclsRequest::default().with_creations(vec![creation(
                "User:eve",
                3,
                "*",
                Operation::All.code(),
                ALLOW,
            )]),
            false,
        );
        assert_eq!(resp.results[0].error_code, 31);
        assert_eq!(
            describe_acls(&b, DescribeAclsRequest::default(), false).error_code,
            31
        );
        assert_eq!(describe_all(&b).len(), 1);
    }
}
