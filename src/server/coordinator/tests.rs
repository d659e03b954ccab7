//! The group state machine driven directly with a clock of the test's own: joins, the
//! initial delay, syncs, heartbeats, leaves, expiries and timeouts, and the partition locks
//! and member slots shared with `klog consume -g` members.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{ApiKey, ResponseKind, TopicName};

use super::*;

const SESSION: i32 = 10_000;
const REBALANCE: i32 = 30_000;
const DELAY: u64 = 3_000;

struct Fixture {
    _tmp: tempfile::TempDir,
    topics: Topics,
    now: Arc<AtomicU64>,
    c: GroupCoordinator,
}

impl Fixture {
    fn new(delay: u64) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let topics = Topics::new(tmp.path());
        topics.create("t", 4, BTreeMap::new()).unwrap();
        let now = Arc::new(AtomicU64::new(1_000));
        let clock = now.clone();
        let c = GroupCoordinator::new(
            Topics::new(tmp.path()),
            delay,
            Arc::new(move || clock.load(Ordering::SeqCst)),
        );
        Fixture {
            _tmp: tmp,
            topics,
            now,
            c,
        }
    }

    fn advance(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
        self.c.tick_now();
    }

    fn topic(&self) -> Topic {
        self.topics.open("t").unwrap()
    }

    /// JoinGroup v5 of `member` ("" for a new one) subscribed to `t`.
    fn join(&self, member: &str) -> Reply<JoinGroupResponse> {
        self.join_v(member, 5, "range")
    }

    fn join_v(&self, member: &str, version: i16, protocol: &str) -> Reply<JoinGroupResponse> {
        self.c.join(
            join_req("g", member, protocol),
            version,
            ClientInfo {
                client_id: "cl".into(),
                host: "/127.0.0.1".into(),
            },
        )
    }

    /// A new member through MEMBER_ID_REQUIRED: its id and its waiting join.
    fn new_member(&self) -> (String, oneshot::Receiver<JoinGroupResponse>) {
        let r = ready(self.join(""));
        assert_eq!(r.error_code, ResponseError::MemberIdRequired.code());
        let id = r.member_id.to_string();
        assert!(id.starts_with("cl-"), "{id}");
        (id.clone(), waiting(self.join(&id)))
    }

    fn sync(
        &self,
        member: &str,
        generation: i32,
        assign: &[(&str, &[i32])],
    ) -> Reply<SyncGroupResponse> {
        let assignments = assign
            .iter()
            .map(|(m, parts)| {
                SyncGroupRequestAssignment::default()
                    .with_member_id(sb(m))
                    .with_assignment(assignment(parts))
            })
            .collect();
        self.c.sync(
            SyncGroupRequest::default()
                .with_group_id(sb("g").into())
                .with_generation_id(generation)
                .with_member_id(sb(member))
                .with_assignments(assignments),
            3,
        )
    }

    fn heartbeat(&self, member: &str, generation: i32) -> i16 {
        GroupCoordinator::heartbeat(
            &self.c,
            HeartbeatRequest::default()
                .with_group_id(sb("g").into())
                .with_generation_id(generation)
                .with_member_id(sb(member)),
            3,
        )
        .error_code
    }

    fn owners(&self) -> Vec<Option<u32>> {
        let t = self.topic();
        (0..4).map(|p| group::owner(&t, p, "g").unwrap()).collect()
    }
}

fn join_req(group: &str, member: &str, protocol: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(sb(group).into())
        .with_session_timeout_ms(SESSION)
        .with_rebalance_timeout_ms(REBALANCE)
        .with_member_id(sb(member))
        .with_protocol_type(sb("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default()
                .with_name(sb(protocol))
                .with_metadata(subscription(&["t"])),
        ])
}

fn subscription(topics: &[&str]) -> Bytes {
    let s = ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| sb(t)).collect())
        .with_user_data(None);
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    s.encode(&mut buf, 0).unwrap();
    buf.freeze()
}

fn assignment(parts: &[i32]) -> Bytes {
    let a = ConsumerProtocolAssignment::default()
        .with_assigned_partitions(vec![
            AssignedTopic::default()
                .with_topic(TopicName(sb("t")))
                .with_partitions(parts.to_vec()),
        ])
        .with_user_data(Some(Bytes::from_static(b"ud")));
    encode_assignment(1, &a).unwrap()
}

/// The partitions of topic `t` in an assignment.
fn parts_of(b: &Bytes) -> Vec<i32> {
    let (v, a) = decode_assignment(b).expect("a consumer assignment");
    assert_eq!(v, 1, "the version is kept");
    assert_eq!(
        a.user_data.as_deref(),
        Some(&b"ud"[..]),
        "user data is kept"
    );
    a.assigned_partitions
        .iter()
        .filter(|t| t.topic.as_str() == "t")
        .flat_map(|t| t.partitions.clone())
        .collect()
}

fn ready<T>(r: Reply<T>) -> T {
    match r {
        Reply::Ready(r) => r,
        Reply::Wait(_) => panic!("the request waits"),
    }
}

fn waiting<T>(r: Reply<T>) -> oneshot::Receiver<T> {
    match r {
        Reply::Wait(rx) => rx,
        Reply::Ready(_) => panic!("the request was answered at once"),
    }
}

/// The answer a waiting request got by now.
fn answered<T: std::fmt::Debug>(rx: &mut oneshot::Receiver<T>) -> T {
    rx.try_recv().expect("answered")
}

fn not_answered<T: std::fmt::Debug>(rx: &mut oneshot::Receiver<T>) {
    assert!(
        matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)),
        "answered too early"
    );
}

/// Two members joined and synced: (a, b, generation).
fn stable_pair(f: &Fixture) -> (String, String, i32) {
    let (a, mut ja) = f.new_member();
    let (b, mut jb) = f.new_member();
    f.advance(DELAY);
    let ra = answered(&mut ja);
    let rb = answered(&mut jb);
    let generation = ra.generation_id;
    assert_eq!(rb.generation_id, generation);
    let (leader, follower) = if ra.leader.as_str() == a {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    };
    let mut sf = waiting(f.sync(&follower, generation, &[]));
    let sl = ready(f.sync(
        &leader,
        generation,
        &[(leader.as_str(), &[0, 1]), (follower.as_str(), &[2, 3])],
    ));
    assert_eq!(parts_of(&sl.assignment), [0, 1]);
    assert_eq!(parts_of(&answered(&mut sf).assignment), [2, 3]);
    (leader, follower, generation)
}

#[test]
fn first_join_needs_a_member_id_then_waits_for_the_initial_delay() {
    let f = Fixture::new(DELAY);
    let (id, mut join) = f.new_member();
    assert_eq!(f.c.state("g"), Some((GroupState::PreparingRebalance, 0)));
    f.advance(DELAY - 1);
    not_answered(&mut join);
    f.advance(1);
    let r = answered(&mut join);
    assert_eq!(r.error_code, 0);
    assert_eq!((r.generation_id, r.leader.as_str()), (1, id.as_str()));
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].metadata, subscription(&["t"]));
    assert_eq!(f.c.state("g"), Some((GroupState::CompletingRebalance, 1)));
    // Its member slot counts for `klog consume -g` members from now on.
    assert_eq!(group::live_members(&f.topic(), "g").unwrap(), 1);
}

#[test]
fn without_the_delay_a_lone_join_completes_at_once() {
    let f = Fixture::new(0);
    let (_, mut join) = f.new_member();
    assert_eq!(answered(&mut join).generation_id, 1);
    // Before v4 a join without an id gets one and joins in the same request.
    let f = Fixture::new(0);
    let r = match f.join_v("", 3, "range") {
        Reply::Wait(mut rx) => answered(&mut rx),
        Reply::Ready(r) => panic!("{r:?}"),
    };
    assert_eq!((r.error_code, r.generation_id), (0, 1));
    assert_eq!(r.leader, r.member_id);
}

#[test]
fn sync_hands_out_the_leaders_assignment_and_takes_the_locks() {
    let f = Fixture::new(DELAY);
    let (leader, follower, generation) = stable_pair(&f);
    assert_eq!(f.c.state("g"), Some((GroupState::Stable, generation)));
    let pid = Some(std::process::id());
    assert_eq!(f.owners(), [pid; 4]);
    assert!(f.c.holds("g", &leader, "t", 0) && !f.c.holds("g", &leader, "t", 2));
    assert!(f.c.holds("g", &follower, "t", 3));
    assert_eq!(group::live_members(&f.topic(), "g").unwrap(), 2);
    // A follower that syncs again gets the same.
    let again = ready(f.sync(&follower, generation, &[]));
    assert_eq!(parts_of(&again.assignment), [2, 3]);
    assert_eq!(f.heartbeat(&follower, generation), 0);
    // Commits must match the generation and a member.
    assert_eq!(
        f.c.validate_commit("g", generation, &leader, None),
        Ok(CommitAuthority::Member)
    );
    assert_eq!(
        f.c.validate_commit("g", generation - 1, &leader, None),
        Err(ResponseError::IllegalGeneration.code())
    );
    assert_eq!(
        f.c.validate_commit("g", generation, "nobody", None),
        Err(ResponseError::UnknownMemberId.code())
    );
    assert_eq!(
        f.heartbeat(&leader, generation + 1),
        ResponseError::IllegalGeneration.code()
    );
    assert_eq!(
        f.heartbeat("nobody", generation),
        ResponseError::UnknownMemberId.code()
    );
}

#[test]
fn a_new_member_rebalances_and_the_join_completes_when_every_member_rejoined() {
    let f = Fixture::new(DELAY);
    let (leader, follower, generation) = stable_pair(&f);
    let (c, mut jc) = f.new_member();
    assert_eq!(
        f.heartbeat(&leader, generation),
        ResponseError::RebalanceInProgress.code()
    );
    // The old generation still commits while the members rejoin.
    assert_eq!(
        f.c.validate_commit("g", generation, &follower, None),
        Ok(CommitAuthority::Member)
    );
    let mut jl = waiting(f.join(&leader));
    // Not the initial delay: the group had members. Waits for the follower only.
    f.advance(1);
    not_answered(&mut jc);
    let mut jf = waiting(f.join(&follower));
    let (rl, rf, rc) = (answered(&mut jl), answered(&mut jf), answered(&mut jc));
    assert_eq!(rl.generation_id, generation + 1);
    assert_eq!(
        (rf.generation_id, rc.generation_id),
        (generation + 1, generation + 1)
    );
    assert_eq!(rl.leader.as_str(), leader, "the leader stays");
    assert_eq!(rl.members.len(), 3);
    assert!(rf.members.is_empty() && rc.members.is_empty());
    // Until the leader syncs, commits wait for the new assignment.
    assert_eq!(
        f.c.validate_commit("g", generation + 1, &c, None),
        Err(ResponseError::RebalanceInProgress.code())
    );
    assert_eq!(
        ready(f.sync(&c, generation, &[])).error_code,
        ResponseError::IllegalGeneration.code()
    );
    // The leader moves partition 1 from itself to c: the lock changes hands.
    let mut sc = waiting(f.sync(&c, generation + 1, &[]));
    ready(f.sync(
        &leader,
        generation + 1,
        &[
            (leader.as_str(), &[0]),
            (follower.as_str(), &[2, 3]),
            (c.as_str(), &[1]),
        ],
    ));
    assert_eq!(parts_of(&answered(&mut sc).assignment), [1]);
    assert!(f.c.holds("g", &c, "t", 1) && !f.c.holds("g", &leader, "t", 1));
}

#[test]
fn members_that_do_not_rejoin_are_dropped_at_the_rebalance_timeout() {
    let f = Fixture::new(DELAY);
    let (leader, follower, generation) = stable_pair(&f);
    let (_c, mut jc) = f.new_member();
    let mut jl = waiting(f.join(&leader));
    // The follower keeps heartbeating but never joins.
    for _ in 0..REBALANCE / 5_000 {
        assert_eq!(
            f.heartbeat(&follower, generation),
            ResponseError::RebalanceInProgress.code()
        );
        not_answered(&mut jl);
        f.advance(5_000);
    }
    let rl = answered(&mut jl);
    assert_eq!(rl.members.len(), 2, "{rl:?}");
    answered(&mut jc);
    assert_eq!(
        f.heartbeat(&follower, generation + 1),
        ResponseError::UnknownMemberId.code()
    );
    // Its partitions were let go.
    assert_eq!(group::owner(&f.topic(), 2, "g").unwrap(), None);
}

#[test]
fn an_expired_session_removes_the_member_and_frees_its_partitions() {
    let f = Fixture::new(DELAY);
    let (leader, follower, generation) = stable_pair(&f);
    f.advance(SESSION as u64 - 1);
    assert_eq!(f.heartbeat(&leader, generation), 0);
    f.advance(1);
    assert_eq!(
        f.c.state("g"),
        Some((GroupState::PreparingRebalance, generation))
    );
    assert_eq!(
        f.c.validate_commit("g", generation, &follower, None),
        Err(ResponseError::UnknownMemberId.code())
    );
    let t = f.topic();
    assert_eq!(group::owner(&t, 2, "g").unwrap(), None);
    assert_eq!(group::owner(&t, 0, "g").unwrap(), Some(std::process::id()));
    assert_eq!(group::live_members(&t, "g").unwrap(), 1);
    // The leader alone: the rebalance completes as soon as it joins again.
    let mut jl = waiting(f.join(&leader));
    assert_eq!(answered(&mut jl).generation_id, generation + 1);
    // A member id handed out and never used expires too.
    let r = ready(f.join(""));
    assert_eq!(r.error_code, ResponseError::MemberIdRequired.code());
    f.advance(SESSION as u64);
    assert_eq!(
        ready(f.join(&r.member_id)).error_code,
        ResponseError::UnknownMemberId.code()
    );
}

#[test]
fn leaving_frees_the_partitions_and_the_last_member_empties_the_group() {
    let f = Fixture::new(DELAY);
    let (leader, follower, generation) = stable_pair(&f);
    let r = f.c.leave(
        LeaveGroupRequest::default()
            .with_group_id(sb("g").into())
            .with_members(vec![
                MemberIdentity::default().with_member_id(sb(&follower)),
                MemberIdentity::default().with_member_id(sb("nobody")),
            ]),
        3,
    );
    assert_eq!(r.error_code, 0);
    let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
    assert_eq!(codes, [0, ResponseError::UnknownMemberId.code()]);
    assert_eq!(group::owner(&f.topic(), 3, "g").unwrap(), None);
    assert_eq!(
        f.heartbeat(&leader, generation),
        ResponseError::RebalanceInProgress.code()
    );
    // v0: one member, the error at the top.
    let r = f.c.leave(
        LeaveGroupRequest::default()
            .with_group_id(sb("g").into())
            .with_member_id(sb(&leader)),
        0,
    );
    assert_eq!(r.error_code, 0);
    assert_eq!(f.c.state("g").map(|s| s.0), Some(GroupState::Empty));
    assert_eq!(f.owners(), [None; 4]);
    assert_eq!(group::live_members(&f.topic(), "g").unwrap(), 0);
    assert!(f.c.describe("g").is_none() && f.c.list().is_empty());
    f.advance(1);
    assert_eq!(f.c.state("g"), None, "an empty group is forgotten");
}

#[test]
fn partitions_a_cli_member_holds_are_left_out_until_they_free() {
    let f = Fixture::new(DELAY);
    let t = f.topic();
    let cli = group::try_own(&t, 1, "g").unwrap().unwrap();
    let (leader, _follower, generation) = {
        let (a, mut ja) = f.new_member();
        f.advance(DELAY);
        let r = answered(&mut ja);
        let s = ready(f.sync(&a, r.generation_id, &[(a.as_str(), &[0, 1, 2, 3])]));
        assert_eq!(parts_of(&s.assignment), [0, 2, 3]);
        (a, (), r.generation_id)
    };
    assert!(!f.c.holds("g", &leader, "t", 1));
    f.advance(SCAN_EVERY_MS);
    assert_eq!(f.heartbeat(&leader, generation), 0, "nothing changed");
    drop(cli);
    f.advance(SCAN_EVERY_MS);
    assert_eq!(
        f.heartbeat(&leader, generation),
        ResponseError::RebalanceInProgress.code()
    );
    let mut jl = waiting(f.join(&leader));
    let r = answered(&mut jl);
    let s = ready(f.sync(
        &leader,
        r.generation_id,
        &[(leader.as_str(), &[0, 1, 2, 3])],
    ));
    assert_eq!(parts_of(&s.assignment), [0, 1, 2, 3]);
}

#[test]
fn a_cli_member_joining_gets_its_fair_share_after_a_rebalance() {
    let f = Fixture::new(0);
    let (a, mut ja) = f.new_member();
    let generation = answered(&mut ja).generation_id;
    ready(f.sync(&a, generation, &[(a.as_str(), &[0, 1, 2, 3])]));
    assert_eq!(f.owners(), [Some(std::process::id()); 4]);
    // A `klog consume -g` member takes a slot: the group rebalances and the Kafka member
    // keeps its share (slot 0: the first 2), leaving 2 for the CLI member.
    let t = f.topic();
    let cli = group::Member::join(&t, "g").unwrap();
    f.advance(SCAN_EVERY_MS);
    assert_eq!(
        f.heartbeat(&a, generation),
        ResponseError::RebalanceInProgress.code()
    );
    let mut j = waiting(f.join(&a));
    let generation = answered(&mut j).generation_id;
    let s = ready(f.sync(&a, generation, &[(a.as_str(), &[0, 1, 2, 3])]));
    assert_eq!(parts_of(&s.assignment), [0, 1]);
    assert_eq!(group::owner(&t, 2, "g").unwrap(), None);
    assert_eq!(group::owner(&t, 3, "g").unwrap(), None);
    f.advance(SCAN_EVERY_MS);
    assert_eq!(
        f.heartbeat(&a, generation),
        0,
        "stable while nothing changes"
    );
    // The CLI member goes: everything is the Kafka member's again.
    drop(cli);
    f.advance(SCAN_EVERY_MS);
    assert_eq!(
        f.heartbeat(&a, generation),
        ResponseError::RebalanceInProgress.code()
    );
}

#[test]
fn bad_joins_are_refused() {
    let f = Fixture::new(0);
    let client = ClientInfo::default();
    let code = |req: JoinGroupRequest| ready(f.c.join(req, 5, client.clone())).error_code;
    assert_eq!(
        code(join_req("", "", "range")),
        ResponseError::InvalidGroupId.code()
    );
    assert_eq!(
        code(join_req("g", "", "range").with_session_timeout_ms(100)),
        ResponseError::InvalidSessionTimeout.code()
    );
    assert_eq!(
        code(join_req("g", "", "range").with_protocols(vec![])),
        ResponseError::InconsistentGroupProtocol.code()
    );
    assert_eq!(
        code(join_req("g", "who", "range")),
        ResponseError::UnknownMemberId.code()
    );
    // A member whose protocols have nothing in common with the group's.
    let (_, mut j) = f.new_member();
    answered(&mut j);
    let r = ready(f.join(""));
    let other = f.join_v(&r.member_id, 5, "roundrobin");
    assert_eq!(
        ready(other).error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
}

#[test]
fn closing_answers_waiting_joins_and_refuses_new_ones() {
    let f = Fixture::new(DELAY);
    let (_, mut j) = f.new_member();
    f.c.close();
    assert_eq!(
        answered(&mut j).error_code,
        ResponseError::CoordinatorNotAvailable.code()
    );
    assert_eq!(
        ready(f.join("")).error_code,
        ResponseError::CoordinatorNotAvailable.code()
    );
}

/// Every response at every version advertised encodes (the encoder refuses a field the
/// version lacks), errors and successes alike, and DescribeGroups and ListGroups show the
/// live members.
#[test]
fn responses_encode_at_every_version() {
    use kafka_protocol::messages::ResponseKind as R;
    let encode = |api: ApiKey, v: i16, r: ResponseKind| {
        crate::server::wire::encode_response(1, api, v, &r)
            .unwrap_or_else(|e| panic!("{api:?} v{v}: {e}"));
    };
    for v in 0..=7 {
        let f = Fixture::new(0);
        let first = f.join_v("", v, "range");
        let r = match first {
            Reply::Ready(r) => {
                encode(ApiKey::JoinGroup, v, R::JoinGroup(r.clone()));
                let mut rx = waiting(f.join_v(&r.member_id, v, "range"));
                answered(&mut rx)
            }
            Reply::Wait(mut rx) => answered(&mut rx),
        };
        assert_eq!(r.error_code, 0, "v{v}");
        encode(ApiKey::JoinGroup, v, R::JoinGroup(r.clone()));
        encode(
            ApiKey::JoinGroup,
            v,
            R::JoinGroup(ready(f.join_v("nobody", v, "range"))),
        );
        for sv in 0..=5 {
            let s = ready(
                f.c.sync(
                    SyncGroupRequest::default()
                        .with_group_id(sb("g").into())
                        .with_generation_id(r.generation_id)
                        .with_member_id(r.member_id.clone())
                        .with_assignments(vec![
                            SyncGroupRequestAssignment::default()
                                .with_member_id(r.member_id.clone())
                                .with_assignment(assignment(&[0])),
                        ]),
                    sv,
                ),
            );
            assert_eq!(s.error_code, 0);
            encode(ApiKey::SyncGroup, sv, R::SyncGroup(s));
        }
        for hv in 0..=4 {
            let h = GroupCoordinator::heartbeat(
                &f.c,
                HeartbeatRequest::default()
                    .with_group_id(sb("g").into())
                    .with_generation_id(r.generation_id)
                    .with_member_id(r.member_id.clone()),
                hv,
            );
            assert_eq!(h.error_code, 0);
            encode(ApiKey::Heartbeat, hv, R::Heartbeat(h));
        }
        let d = f.c.describe("g").unwrap();
        assert_eq!(d.group_state.as_str(), "Stable");
        assert_eq!(d.members[0].client_id.as_str(), "cl");
        assert_eq!(parts_of(&d.members[0].member_assignment), [0]);
        assert_eq!(f.c.list()[0].group_state.as_str(), "Stable");
        for lv in 0..=4 {
            let l = f.c.leave(
                LeaveGroupRequest::default()
                    .with_group_id(sb("g").into())
                    .with_member_id(if lv < 3 { sb("nobody") } else { sb("") })
                    .with_members(if lv >= 3 {
                        vec![MemberIdentity::default().with_member_id(sb("nobody"))]
                    } else {
                        vec![]
                    }),
                lv,
            );
            encode(ApiKey::LeaveGroup, lv, R::LeaveGroup(l));
        }
    }
}

/// A CLI member holding its share when a Kafka member joins: the Kafka member gets the
/// others, not the fair share it would have by position in the leader's list (it got
/// nothing, as it wanted the CLI member's partitions).
#[test]
fn a_kafka_member_joining_a_cli_member_gets_the_partitions_left() {
    let f = Fixture::new(0);
    let t = f.topic();
    let cli = group::Member::join(&t, "g").unwrap();
    let held: Vec<_> = [0, 1]
        .iter()
        .map(|&p| group::try_own(&t, p, "g").unwrap().unwrap())
        .collect();
    let (a, mut ja) = f.new_member();
    let generation = answered(&mut ja).generation_id;
    let s = ready(f.sync(&a, generation, &[(a.as_str(), &[0, 1, 2, 3])]));
    assert_eq!(parts_of(&s.assignment), [2, 3]);
    f.advance(SCAN_EVERY_MS);
    assert_eq!(f.heartbeat(&a, generation), 0, "stable");
    // The CLI member exits: the Kafka member is told to join again, and gets all.
    drop((held, cli));
    f.advance(SCAN_EVERY_MS);
    assert_eq!(
        f.heartbeat(&a, generation),
        ResponseError::RebalanceInProgress.code()
    );
    let mut j = waiting(f.join(&a));
    let generation = answered(&mut j).generation_id;
    let s = ready(f.sync(&a, generation, &[(a.as_str(), &[0, 1, 2, 3])]));
    assert_eq!(parts_of(&s.assignment), [0, 1, 2, 3]);
}

/// A member whose connection went away while its join waited is not waited for again: it
/// expires a session after its last request, and the others go on without it.
#[test]
fn a_member_whose_connection_went_away_expires_after_its_session() {
    let f = Fixture::new(DELAY);
    let (leader, follower, generation) = stable_pair(&f);
    let (_c, mut jc) = f.new_member();
    let mut jl = waiting(f.join(&leader));
    // The follower joins, then its connection closes before the answer.
    drop(waiting(f.join(&follower)));
    let rl = answered(&mut jl);
    answered(&mut jc);
    let generation = generation + 1;
    assert_eq!(rl.generation_id, generation);
    assert!(rl.members.iter().any(|m| m.member_id.as_str() == follower));
    // Nobody hears from the follower again: it goes a session later, and the group
    // rebalances without it.
    for _ in 0..2 {
        f.advance(SESSION as u64 / 2);
        let _ = f.heartbeat(&leader, generation);
    }
    assert_eq!(
        f.heartbeat(&follower, generation),
        ResponseError::UnknownMemberId.code()
    );
    assert_eq!(
        f.c.state("g").map(|s| s.0),
        Some(GroupState::PreparingRebalance)
    );
}
