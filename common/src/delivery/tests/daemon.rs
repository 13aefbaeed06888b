//! The daemon's side of delivery with a fake clock: pausing after a permanent failure,
//! going idle when delivered, never giving up, and starting the backoff over once the
//! hub answers.

use super::*;

#[test]
fn a_daemon_pauses_after_a_permanent_failure_then_tries_again() {
    let mut pair = Pair::new(DAEMON);
    let item = pair.build(1);
    pair.queue(vec![item.clone()]);
    let revoked = Failure::ClosedByHub {
        code: close_code::REVOKED,
        reason: "certificate revoked".into(),
    };
    pair.connects = [Net::Fail(revoked.clone())].into();
    pair.run_until(|a| matches!(a, Action::Suspended { .. }));
    assert!(matches!(&pair.log.last().unwrap().1,
        Action::Suspended { stop: Stop::Transport(f), until } if *f == revoked && *until == pair.start + Duration::from_secs(3600)));
    assert_eq!(pair.machine.poll_action(pair.now), None);
    assert_eq!(
        pair.machine.poll_timeout(),
        Some(pair.start + Duration::from_secs(3600))
    );
    // An hour later (the region lifted the revocation) it delivers.
    pair.run_until(|a| matches!(a, Action::RecordReceipt(_)));
    assert!(
        pair.elapsed() >= Duration::from_secs(3600) && pair.elapsed() < Duration::from_secs(3601)
    );
    assert_eq!(pair.outbox[&item.id].state, "acknowledged");
}

#[test]
fn a_daemon_goes_idle_when_delivered_and_connects_again_for_new_submissions() {
    let mut pair = Pair::new(DAEMON);
    let first = pair.build(1);
    pair.queue(vec![first]);
    pair.run_until(|a| matches!(a, Action::Close));
    assert_eq!(pair.machine.poll_action(pair.now), None);
    assert_eq!(
        pair.machine.poll_timeout(),
        None,
        "idle: nothing to wait for"
    );
    pair.now += Duration::from_secs(100);
    let second = pair.build(2);
    pair.queue(vec![second.clone()]);
    assert_eq!(pair.machine.poll_action(pair.now), Some(Action::Connect));
    pair.machine.handle_connected(pair.now);
    pair.run_until(|a| matches!(a, Action::Close));
    assert_eq!(pair.outbox[&second.id].state, "acknowledged");
    assert_eq!(
        pair.checkpoints,
        [1, 2, 3],
        "each connection checks the checkpoint"
    );
    assert!(!pair.machine.is_finished());
}

#[test]
fn a_daemon_never_gives_up_and_waits_at_most_the_cap() {
    let mut pair = Pair::new(DAEMON);
    let item = pair.build(1);
    pair.queue(vec![item.clone()]);
    pair.connects = std::iter::repeat_n(Net::Fail(connect_timeout()), 100).collect();
    pair.run_until(|a| matches!(a, Action::RecordReceipt(_)));
    let waits: Vec<u64> = pair
        .retries()
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs())
        .collect();
    assert_eq!(waits.len(), 99);
    assert!(
        waits[..3] == [2, 4, 8] && waits[3..].iter().all(|w| *w == 8),
        "{waits:?}"
    );
    assert_eq!(pair.outbox[&item.id].attempts, 100);
}

#[test]
fn once_the_hub_answers_the_count_of_failed_attempts_and_the_backoff_start_over() {
    let mut pair = Pair::new(DAEMON);
    let first = pair.build(1);
    pair.queue(vec![first]);
    pair.connects = std::iter::repeat_n(Net::Fail(connect_timeout()), 3).collect();
    pair.run_until(|a| matches!(a, Action::RecordReceipt(_)));
    let before: Vec<u32> = pair.retries().iter().map(|(_, n)| *n).collect();
    assert_eq!(before, [1, 2, 3]);
    pair.run_until(|a| matches!(a, Action::Close));
    let second = pair.build(2);
    pair.queue(vec![second]);
    pair.connects = [Net::Fail(connect_timeout())].into();
    let failed_at = pair.elapsed();
    pair.run_until(|a| matches!(a, Action::Retrying { .. }));
    let (at, attempt) = *pair.retries().last().unwrap();
    assert_eq!(attempt, 1, "counted from one again");
    assert_eq!(
        at - failed_at,
        Duration::from_secs(1),
        "the first wait again"
    );
}
