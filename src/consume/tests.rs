//! The fetch state, the group member and the consumer's policy, on the files of a temp
//! directory (the group's file locks included) and with times passed in: no sleeps.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::format::BatchBuilder;
use crate::group;

/// A topic of `partitions` partitions in a temp directory.
fn topic(partitions: u32) -> (tempfile::TempDir, Topics, Topic) {
    let dir = tempfile::tempdir().unwrap();
    let topics = Topics::new(dir.path());
    let t = topics.create("t", partitions, BTreeMap::new()).unwrap();
    (dir, topics, t)
}

/// Appends records with these timestamps to a partition, one batch; values are `v<offset>`.
fn append(t: &Topic, partition: u32, timestamps: &[i64]) {
    let mut log = t.open_log(partition).unwrap();
    let first = log.log_end_offset().unwrap();
    let mut b = BatchBuilder::new();
    for (i, &ts) in timestamps.iter().enumerate() {
        let v = format!("v{}", first + i as i64);
        b.append(ts, None, Some(v.as_bytes()), &[]);
    }
    log.append(&mut b.finish()).unwrap();
}

/// Ten records at offsets 0..10, stamped 1000, 1010, … 1090, in batches of 2.
fn ten(t: &Topic, partition: u32) {
    for i in 0..5 {
        append(t, partition, &[1000 + 20 * i, 1010 + 20 * i]);
    }
}

/// Every record a fetch hands out from now on (its offsets), reading to the end.
fn read_all(f: &mut PartitionFetch) -> Vec<i64> {
    let mut got = Vec::new();
    let mut scratch = Vec::new();
    let mut left = u64::MAX;
    while let Some(mut b) = f.next_batch().unwrap() {
        b.take_records(&mut scratch, &mut left, |r| {
            got.push(r.offset);
            Ok::<_, Error>(())
        })
        .unwrap();
    }
    got
}

fn open(t: &Topic, start: StartSpec, stop: Option<StopSpec>, follow: bool) -> PartitionFetch {
    PartitionFetch::open(t, 0, start, stop, follow).unwrap()
}

#[test]
fn start_specs_resolve_against_the_log() {
    let (_d, _ts, t) = topic(1);
    ten(&t, 0);
    let at = |s| open(&t, s, None, false).position();
    assert_eq!(at(StartSpec::Beginning), 0);
    assert_eq!(at(StartSpec::End), 10);
    assert_eq!(at(StartSpec::Offset(4)), 4);
    assert_eq!(at(StartSpec::Last(3)), 7);
    assert_eq!(at(StartSpec::Last(100)), 0);
    assert_eq!(at(StartSpec::Time(1035)), 4);
    assert_eq!(at(StartSpec::Time(1000)), 0);
    // No record that late: the end.
    assert_eq!(at(StartSpec::Time(5000)), 10);
    // Below the log start: the log start.
    t.open_log(0).unwrap().trim(4).unwrap();
    assert_eq!(at(StartSpec::Offset(1)), 4);
    assert_eq!(at(StartSpec::Last(100)), 4);
    let f = open(&t, StartSpec::Beginning, None, false);
    assert_eq!((f.log_start_offset(), f.log_end_offset()), (4, 10));
}

#[test]
fn stop_specs_resolve_against_the_log_and_end_the_fetch() {
    let (_d, _ts, t) = topic(1);
    ten(&t, 0);
    let mut f = open(&t, StartSpec::Offset(3), Some(StopSpec::Offset(6)), false);
    assert_eq!(read_all(&mut f), [3, 4, 5]);
    assert!(f.is_done());
    let mut f = open(&t, StartSpec::Beginning, Some(StopSpec::Time(1035)), false);
    assert_eq!(f.stop_offset(), Some(4));
    assert_eq!(read_all(&mut f), [0, 1, 2, 3]);
    // Without a stop, and with `end`: the log end offset seen at the start, however many
    // records come after.
    for stop in [None, Some(StopSpec::End)] {
        let mut f = open(&t, StartSpec::Last(2), stop, false);
        let end = f.log_end_offset();
        append(&t, 0, &[2000]);
        assert_eq!(read_all(&mut f), [end - 2, end - 1]);
        assert!(f.is_done());
    }
    // A stop time no record reaches yet: the end, or when following the first record that
    // reaches it, whenever it comes.
    let f = open(&t, StartSpec::Beginning, Some(StopSpec::Time(9000)), false);
    assert_eq!(f.stop_offset(), Some(12), "the log end");
    let mut f = open(&t, StartSpec::End, Some(StopSpec::Time(9000)), true);
    assert_eq!(f.stop_offset(), None);
    assert_eq!(read_all(&mut f), Vec::<i64>::new());
    assert!(!f.is_done(), "a follower waits");
    append(&t, 0, &[8000, 9000, 9500]);
    assert_eq!(read_all(&mut f), [12]);
    assert!(f.is_done());
    // A start at or past the stop is done at once.
    assert!(open(&t, StartSpec::Offset(5), Some(StopSpec::Offset(5)), false).is_done());
}

#[test]
fn a_partition_without_a_directory_is_empty_until_it_appears() {
    let (_d, _ts, t) = topic(1);
    std::fs::remove_dir_all(t.partition_dir(0)).unwrap();
    let f = open(&t, StartSpec::Offset(3), None, false);
    assert!(f.is_done(), "nothing to read, not following");
    let mut f = open(&t, StartSpec::Beginning, None, true);
    assert!(!f.open_if_created().unwrap());
    assert!(f.next_batch().unwrap().is_none());
    ten(&t, 0);
    assert!(f.open_if_created().unwrap());
    assert_eq!(read_all(&mut f).len(), 10);
}

/// The count runs out inside a batch: the position stays after the last record taken;
/// otherwise it moves past the batch. The whole-batch path is offered only when nothing in
/// the batch needs a check.
#[test]
fn records_are_taken_within_the_position_the_stop_and_the_count() {
    let (_d, _ts, t) = topic(1);
    ten(&t, 0);
    let mut f = open(&t, StartSpec::Offset(1), None, false);
    let mut scratch = Vec::new();
    let mut b = f.next_batch().unwrap().unwrap();
    assert!(!b.takes_whole(100), "offset 0 is below the position");
    let mut left = 100;
    let mut got = Vec::new();
    let moved = b
        .take_records(&mut scratch, &mut left, |r| {
            got.push((r.offset, r.value.map(<[u8]>::to_vec)));
            Ok::<_, Error>(())
        })
        .unwrap();
    assert_eq!(got, [(1, Some(b"v1".to_vec()))]);
    assert_eq!((moved, left, f.position()), (1, 99, 2));
    let mut b = f.next_batch().unwrap().unwrap();
    assert!(b.takes_whole(3));
    assert!(!b.takes_whole(2), "the count runs out inside the batch");
    let mut values = Vec::new();
    let n = b
        .take_values(&mut scratch, |v| values.push(v.unwrap().to_vec()))
        .unwrap();
    assert_eq!((n, values), (2, vec![b"v2".to_vec(), b"v3".to_vec()]));
    assert_eq!(f.position(), 4);
    let mut b = f.next_batch().unwrap().unwrap();
    let mut left = 1;
    b.take_records(&mut scratch, &mut left, |_| Ok::<_, Error>(()))
        .unwrap();
    assert_eq!((left, f.position()), (0, 5));
    // An error of the front end stops the batch where it is.
    let mut b = f.next_batch().unwrap().unwrap();
    let r = b.take_records(&mut scratch, &mut 10, |_| {
        Err(Error::Invalid("full".into()))
    });
    assert!(r.is_err());
    assert_eq!(f.position(), 5);
    // A stop offset inside the next batch: not whole.
    let mut f = open(&t, StartSpec::Offset(2), Some(StopSpec::Offset(3)), false);
    assert!(!f.next_batch().unwrap().unwrap().takes_whole(100));
}

#[test]
fn a_position_outside_the_log_is_reset_by_the_policy() {
    let (_d, _ts, t) = topic(1);
    ten(&t, 0);
    let mut f = open(&t, StartSpec::Offset(25), None, true);
    assert_eq!(f.position(), 25);
    let r = f
        .reset_if_out_of_range(ResetPolicy::Earliest)
        .unwrap()
        .unwrap();
    assert_eq!((r.offset, r.reset_to, r.committed), (25, 0, false));
    assert_eq!(r.out_of_range, OutOfRange::PastLogEnd);
    assert_eq!(r.why(), "past the log end 10");
    assert_eq!(read_all(&mut f).first(), Some(&0));
    // Retention deletes records never read.
    let mut f = open(&t, StartSpec::Offset(2), None, true);
    t.open_log(0).unwrap().trim(6).unwrap();
    let r = f
        .reset_if_out_of_range(ResetPolicy::Latest)
        .unwrap()
        .unwrap();
    assert_eq!((r.offset, r.reset_to), (2, 10));
    assert_eq!(r.out_of_range, OutOfRange::BelowLogStart);
    assert_eq!(f.position(), 10);
    // Inside the log: nothing moves.
    assert_eq!(
        f.reset_if_out_of_range(ResetPolicy::Earliest).unwrap(),
        None
    );
}

use crate::group::OutOfRange;

fn options(reset: ResetPolicy) -> MemberOptions {
    MemberOptions {
        group: "g".into(),
        reset,
        commit: true,
    }
}

fn join(t: &Topic, follow: bool) -> GroupMember {
    let all = (0..t.partitions).collect();
    GroupMember::join(
        t.clone(),
        all,
        options(ResetPolicy::Earliest),
        None,
        None,
        follow,
    )
    .unwrap()
}

fn owned(m: &GroupMember) -> Vec<u32> {
    let mut v: Vec<u32> = m.owned().iter().map(PartitionFetch::partition).collect();
    v.sort_unstable();
    v
}

fn ok() -> Result<()> {
    Ok(())
}

/// Members share the partitions ⌊P/M⌋ or ⌈P/M⌉ each, by rank, never two on one partition;
/// as members come and go the others give back and take partitions.
#[test]
fn members_take_and_give_back_their_fair_share() {
    let (_d, _ts, t) = topic(4);
    let mut a = join(&t, true);
    a.rebalance(ok).unwrap();
    assert_eq!(owned(&a), [0, 1, 2, 3], "alone, it takes all");

    let mut b = join(&t, true);
    b.rebalance(ok).unwrap();
    assert!(owned(&b).is_empty(), "all are owned: it waits");
    let mut delivered = 0;
    a.rebalance(|| {
        delivered += 1;
        ok()
    })
    .unwrap();
    assert_eq!(
        delivered, 1,
        "the front end delivers before partitions go back"
    );
    assert_eq!(owned(&a), [0, 1]);
    b.rebalance(ok).unwrap();
    assert_eq!(owned(&b), [2, 3]);

    // 3 members on 4 partitions: 2, 1 and 1, by slot.
    let mut c = join(&t, true);
    assert!(a.slot() < b.slot() && b.slot() < c.slot());
    for m in [&mut a, &mut b, &mut c] {
        m.rebalance(ok).unwrap();
    }
    assert_eq!((owned(&a), owned(&b)), (vec![0, 1], vec![2]));
    assert_eq!(owned(&c), [3]);

    // One leaves: the others take its partition and keep theirs.
    drop(b);
    for m in [&mut a, &mut c] {
        m.rebalance(ok).unwrap();
    }
    assert_eq!((owned(&a), owned(&c)), (vec![0, 1], vec![2, 3]));
    drop(a);
    c.rebalance(ok).unwrap();
    assert_eq!(owned(&c), [0, 1, 2, 3]);
}

/// A partition goes back only after the front end delivered: when it cannot, the member
/// keeps its partitions and commits nothing new.
#[test]
fn nothing_is_given_back_when_delivery_fails() {
    let (_d, _ts, t) = topic(2);
    let mut a = join(&t, true);
    a.rebalance(ok).unwrap();
    let _b = join(&t, true);
    let failed = a.rebalance(|| Err(Error::Invalid("closed".into())));
    assert!(failed.is_err());
    assert_eq!(owned(&a), [0, 1]);
    assert_eq!(group::committed(&t, 0, "g").unwrap(), None);
}

/// Commits carry what the front end delivered, never what it was only handed.
#[test]
fn a_member_commits_only_what_was_delivered() {
    let (_d, _ts, t) = topic(1);
    ten(&t, 0);
    let mut m = join(&t, true);
    m.rebalance(ok).unwrap();
    let f = &mut m.owned_mut()[0];
    assert_eq!(read_all(f).len(), 10);
    assert_eq!(f.position(), 10);
    let committed = || group::committed(&t, 0, "g").unwrap().map(|c| c.offset);
    m.commit().unwrap();
    assert_eq!(committed(), Some(0), "handed out, not delivered");
    m.mark_delivered();
    m.commit().unwrap();
    assert_eq!(committed(), Some(10));
    // Without commits, nothing is written.
    let (_d, _ts, t) = topic(1);
    ten(&t, 0);
    let opts = MemberOptions {
        commit: false,
        ..options(ResetPolicy::Earliest)
    };
    let mut m = GroupMember::join(t.clone(), vec![0], opts, None, None, false).unwrap();
    m.rebalance(ok).unwrap();
    read_all(&mut m.owned_mut()[0]);
    m.mark_delivered();
    m.commit().unwrap();
    assert_eq!(group::committed(&t, 0, "g").unwrap(), None);
}

/// A member starts at the committed offset; one outside the log is reset by the policy,
/// and the caller is told; an explicit start overrides both.
#[test]
fn committed_offsets_and_the_out_of_range_rule() {
    let (_d, _ts, t) = topic(3);
    for p in 0..3 {
        ten(&t, p);
    }
    group::commit(&t, 0, "g", 7).unwrap();
    group::commit(&t, 1, "g", 25).unwrap();
    let start = |m: &GroupMember, p: u32| {
        let f = m.owned().iter().find(|f| f.partition() == p).unwrap();
        f.position()
    };
    for (policy, reset_to) in [(ResetPolicy::Earliest, 0), (ResetPolicy::Latest, 10)] {
        let mut m = GroupMember::join(t.clone(), vec![0, 1, 2], options(policy), None, None, false)
            .unwrap();
        m.rebalance(ok).unwrap();
        assert_eq!(start(&m, 0), 7);
        assert_eq!(start(&m, 1), reset_to);
        assert_eq!(start(&m, 2), reset_to, "no committed offset");
        let resets = m.take_resets();
        assert_eq!(resets.len(), 1, "{resets:?}");
        let r = &resets[0];
        assert_eq!((r.partition, r.offset, r.reset_to), (1, 25, reset_to));
        assert!(r.committed && r.policy == policy);
        assert_eq!(r.out_of_range, OutOfRange::PastLogEnd);
        assert!(m.take_resets().is_empty());
    }
    let mut m = GroupMember::join(
        t.clone(),
        vec![0, 1],
        options(ResetPolicy::Earliest),
        Some(StartSpec::Last(1)),
        None,
        false,
    )
    .unwrap();
    m.rebalance(ok).unwrap();
    assert_eq!((start(&m, 0), start(&m, 1)), (9, 9));
    assert!(m.take_resets().is_empty());
}

/// Partitions added while reading start at their beginning, whatever the policy says.
#[test]
fn added_partitions_start_at_their_beginning() {
    let (_d, topics, t) = topic(1);
    let mut m = GroupMember::join(
        t.clone(),
        vec![0],
        options(ResetPolicy::Latest),
        None,
        None,
        true,
    )
    .unwrap();
    m.rebalance(ok).unwrap();
    let grown = topics.alter("t", Some(2), BTreeMap::new(), &[]).unwrap();
    ten(&grown, 1);
    m.partitions_added(grown);
    m.rebalance(ok).unwrap();
    let f = m.owned().iter().find(|f| f.partition() == 1).unwrap();
    assert_eq!(f.position(), 0);
}

fn spec(follow: bool) -> FetchSpec {
    FetchSpec {
        start: None,
        stop: None,
        follow,
    }
}

/// Without following, a consumer is over once every partition is read to the end offset
/// it saw at the start.
#[test]
fn a_consumer_that_does_not_follow_finishes() {
    let (_d, topics, t) = topic(2);
    ten(&t, 0);
    let mut c = Consumer::new(topics, t.clone(), vec![0, 1], true, spec(false), None).unwrap();
    assert_eq!(c.offsets_left(), 10);
    let now = Instant::now();
    c.start(now, ok).unwrap();
    let mut got = 0;
    for f in c.fetches_mut() {
        got += read_all(f).len();
    }
    assert_eq!(got, 10);
    assert_eq!(c.after_pass(true, now, ok).unwrap(), Step::Finished);
}

/// A following group member delivers and rebalances every tick, commits at most every
/// second while it reads and whenever it has caught up, and waits when nothing came.
#[test]
fn a_following_member_delivers_commits_and_waits_on_time() {
    let (_d, topics, t) = topic(1);
    ten(&t, 0);
    let group = Some(options(ResetPolicy::Earliest));
    let mut c = Consumer::new(topics, t.clone(), vec![0], true, spec(true), group).unwrap();
    let t0 = Instant::now();
    let deliveries = std::cell::Cell::new(0);
    let deliver = || {
        deliveries.set(deliveries.get() + 1);
        ok()
    };
    c.start(t0, deliver).unwrap();
    assert_eq!(c.fetches().len(), 1);
    let committed = || group::committed(&t, 0, "g").unwrap().map(|c| c.offset);
    let read = |c: &mut Consumer, n: usize| {
        let f = &mut c.fetches_mut()[0];
        let mut b = f.next_batch().unwrap().unwrap();
        let mut left = n as u64;
        b.take_records(&mut Vec::new(), &mut left, |_| Ok::<_, Error>(()))
            .unwrap();
    };
    read(&mut c, 2);
    assert_eq!(c.after_pass(true, t0, deliver).unwrap(), Step::Fetch);
    assert_eq!(deliveries.get(), 0, "reading on, not yet a tick");
    read(&mut c, 2);
    let tick = t0 + GROUP_TICK;
    assert_eq!(c.after_pass(true, tick, deliver).unwrap(), Step::Fetch);
    assert_eq!(deliveries.get(), 1, "a tick delivers");
    assert_eq!(committed(), None, "no commit before a second");
    read(&mut c, 2);
    let second = t0 + COMMIT_EVERY;
    assert_eq!(c.after_pass(true, second, deliver).unwrap(), Step::Fetch);
    assert_eq!(committed(), Some(6), "what was delivered at the second");
    read(&mut c, 2);
    read(&mut c, 2);
    // Caught up: deliver and commit at once, then wait (no watcher: a short poll).
    let later = second + Duration::from_millis(10);
    assert_eq!(
        c.after_pass(false, later, deliver).unwrap(),
        Step::Wait(POLL_EVERY)
    );
    assert_eq!(committed(), Some(10));
    assert_eq!(deliveries.get(), 3);
    // What was handed out after the last delivery is not committed at the end unless it
    // was delivered.
    append(&t, 0, &[3000]);
    read(&mut c, 1);
    c.close(false).unwrap();
    assert_eq!(committed(), Some(10));
    c.close(true).unwrap();
    assert_eq!(committed(), Some(11));
}

/// A member that does not follow finishes its partitions, then takes free ones with
/// records left, and is over when none is left.
#[test]
fn a_member_that_does_not_follow_takes_free_partitions_when_done() {
    let (_d, topics, t) = topic(2);
    ten(&t, 0);
    ten(&t, 1);
    let mut other = join(&t, true);
    let group = Some(options(ResetPolicy::Earliest));
    let mut c = Consumer::new(topics, t.clone(), vec![0, 1], true, spec(false), group).unwrap();
    other.rebalance(ok).unwrap();
    let now = Instant::now();
    c.start(now, ok).unwrap();
    assert_eq!(
        (owned(&other), c.fetches().len()),
        (vec![0], 1),
        "a share each"
    );
    read_all(&mut c.fetches_mut()[0]);
    assert_eq!(
        c.after_pass(true, now, ok).unwrap(),
        Step::Finished,
        "0 is owned"
    );
    drop(other);
    assert_eq!(c.after_pass(true, now, ok).unwrap(), Step::Fetch);
    assert_eq!(c.fetches().len(), 2, "took the free one");
    assert_eq!(read_all(&mut c.fetches_mut()[1]).len(), 10);
    assert_eq!(c.after_pass(true, now, ok).unwrap(), Step::Finished);
}

/// Partitions added while following are picked up (from their beginning) when the consumer
/// looks again: without a watcher, every tick.
#[test]
fn a_follower_picks_up_added_partitions() {
    let (_d, topics, t) = topic(1);
    let mut c = Consumer::new(topics.clone(), t, vec![0], true, spec(true), None).unwrap();
    let t0 = Instant::now();
    c.start(t0, ok).unwrap();
    let grown = topics.alter("t", Some(3), BTreeMap::new(), &[]).unwrap();
    ten(&grown, 2);
    c.refresh(t0).unwrap();
    assert_eq!(c.fetches().len(), 1, "not before the tick");
    c.refresh(t0 + GROUP_TICK).unwrap();
    assert_eq!(c.topic().partitions, 3);
    let fetches = c.fetches_mut();
    assert_eq!(fetches.len(), 3);
    assert_eq!(read_all(&mut fetches[2]).len(), 10);
}

/// Polls until the consumer is finished: every record's partition and offset.
fn poll_all(c: &mut Consumer) -> Vec<(u32, i64)> {
    let mut got = Vec::new();
    while !c.is_finished() {
        got.extend(
            c.poll(Duration::ZERO)
                .unwrap()
                .iter()
                .map(|r| (r.partition, r.offset)),
        );
    }
    got
}

/// `poll` hands out owned records a pass at a time, within the start and stop asked for,
/// each partition in order, then finishes.
#[test]
fn poll_hands_out_owned_records_until_finished() {
    let (_d, topics, t) = topic(2);
    ten(&t, 0);
    append(&t, 1, &[2000]);
    let mut c = Consumer::new(
        topics.clone(),
        t.clone(),
        vec![0, 1],
        true,
        spec(false),
        None,
    )
    .unwrap();
    let first = c.poll(Duration::ZERO).unwrap();
    // One entry of each partition: offsets 0 and 1 of partition 0, offset 0 of partition 1.
    let keys: Vec<_> = first.iter().map(|r| (r.partition, r.offset)).collect();
    assert_eq!(keys, [(0, 0), (0, 1), (1, 0)]);
    assert_eq!(first[1].value.as_deref(), Some(&b"v1"[..]));
    assert_eq!(first[1].timestamp, 1010);
    assert_eq!(
        first[1].timestamp_type,
        Some(crate::format::TimestampType::CreateTime)
    );
    assert_eq!(
        (first[2].key.as_deref(), first[2].value.as_deref()),
        (None, Some(&b"v0"[..]))
    );
    let rest = poll_all(&mut c);
    assert_eq!(rest, (2..10).map(|o| (0, o)).collect::<Vec<_>>());
    assert!(c.is_finished());
    assert!(c.poll(Duration::ZERO).unwrap().is_empty());

    let within = FetchSpec {
        start: Some(StartSpec::Offset(3)),
        stop: Some(StopSpec::Offset(7)),
        follow: false,
    };
    let mut c = Consumer::new(topics, t, vec![0], false, within, None).unwrap();
    assert_eq!(poll_all(&mut c), (3..7).map(|o| (0, o)).collect::<Vec<_>>());
}

/// A group member polling commits what the previous poll returned, never the records the
/// last poll returned before the front end came back for more.
#[test]
fn poll_counts_the_previous_polls_records_as_delivered() {
    let (_d, topics, t) = topic(1);
    ten(&t, 0);
    let member = || Some(options(ResetPolicy::Earliest));
    let committed = || group::committed(&t, 0, "g").unwrap().map(|c| c.offset);
    let mut c = Consumer::new(
        topics.clone(),
        t.clone(),
        vec![0],
        true,
        spec(false),
        member(),
    )
    .unwrap();
    let offsets = |r: Vec<ConsumerRecord>| r.iter().map(|r| r.offset).collect::<Vec<_>>();
    assert_eq!(offsets(c.poll(Duration::ZERO).unwrap()), [0, 1]);
    assert_eq!(offsets(c.poll(Duration::ZERO).unwrap()), [2, 3]);
    c.close(false).unwrap();
    assert_eq!(
        committed(),
        Some(2),
        "the second poll's records were not delivered"
    );
    drop(c);

    let mut c = Consumer::new(topics, t.clone(), vec![0], true, spec(false), member()).unwrap();
    assert_eq!(
        poll_all(&mut c),
        (2..10).map(|o| (0, o)).collect::<Vec<_>>()
    );
    c.close(false).unwrap();
    assert_eq!(
        committed(),
        Some(10),
        "the poll that found the end delivered the rest"
    );
}

/// A following consumer's poll returns nothing once its timeout passed (here none), and
/// the records appended meanwhile on the next poll; it never finishes.
#[test]
fn a_following_poll_returns_on_its_timeout() {
    let (_d, topics, t) = topic(1);
    let mut c = Consumer::new(topics, t.clone(), vec![0], true, spec(true), None).unwrap();
    assert!(c.poll(Duration::ZERO).unwrap().is_empty());
    assert!(!c.is_finished());
    append(&t, 0, &[1000, 1001]);
    let got = c.poll(Duration::ZERO).unwrap();
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), [0, 1]);
    assert!(c.poll(Duration::ZERO).unwrap().is_empty());
    assert!(!c.is_finished());
}
