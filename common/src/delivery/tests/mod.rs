//! The delivery machine in one process, with a fake clock, a fake hub that keeps a
//! real Merkle log, and a scripted network ([`pair`]): every kind of failure, the
//! backoff, giving up, re-signing after a restore, the history check, a changed
//! outbox; the daemon's pauses are in [`daemon`].

mod daemon;
mod keys;
mod pair;

use std::time::Duration;

use pair::*;

use super::*;
use crate::wire::{Receipt, Request, SignedReceipt};

fn connect_timeout() -> Failure {
    Failure::TimedOut {
        stage: Stage::Connect,
        waited: Duration::from_secs(10),
    }
}

#[test]
fn every_queued_submission_is_sent_once_between_two_checkpoint_checks() {
    let mut pair = Pair::new(DRAIN);
    let items = (1..=3).map(|s| pair.build(s)).collect::<Vec<_>>();
    pair.queue(items.clone());
    // Queuing the same submissions again (the daemon reads the outbox every round)
    // changes nothing.
    pair.queue(items);
    assert_eq!(pair.run(), Outcome::Delivered);
    let kinds: Vec<&str> = pair
        .log
        .iter()
        .map(|(_, a)| match a {
            Action::Connect => "connect",
            Action::RequestCheckpoint { .. } => "checkpoint?",
            Action::RecordCheckpoint { .. } => "record checkpoint",
            Action::Submit(_) => "submit",
            Action::RecordReceipt(_) => "record receipt",
            Action::Close => "close",
            Action::Finished(_) => "finished",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "connect",
            "checkpoint?",
            "record checkpoint",
            "submit",
            "record receipt",
            "submit",
            "record receipt",
            "submit",
            "record receipt",
            "checkpoint?",
            "record checkpoint",
            "close",
            "finished"
        ]
    );
    assert_eq!(
        pair.states(),
        [
            (1, "acknowledged"),
            (2, "acknowledged"),
            (3, "acknowledged")
        ]
    );
    assert_eq!(pair.hub.stored.len(), 3);
    assert_eq!(
        pair.checkpoints,
        [1, 4],
        "the registration, then three submissions later"
    );
    // The second check asked for a proof from the first checkpoint.
    assert!(pair
        .log
        .iter()
        .any(|(_, a)| matches!(a, Action::RequestCheckpoint { since: 1 })));
}

#[test]
fn an_empty_outbox_is_delivered_without_connecting() {
    let mut pair = Pair::new(DRAIN);
    pair.queue(Vec::new());
    assert_eq!(pair.run(), Outcome::Delivered);
    assert_eq!(pair.count(|a| matches!(a, Action::Connect)), 0);
}

#[test]
fn temporary_failures_back_off_doubling_to_the_cap_then_give_up() {
    let mut pair = Pair::new(Mode::Drain {
        give_up_after: Duration::from_secs(30),
    });
    let item = pair.build(1);
    pair.queue(vec![item.clone()]);
    pair.connects = std::iter::repeat_n(Net::Fail(connect_timeout()), 20).collect();
    let outcome = pair.run();
    // Attempts at 0, 1, 3, 7, 15, 23: waits of 1, 2, 4, 8 and then the cap of 8 s;
    // the next would start at 31 s, after the 30 s.
    let retries: Vec<(u64, u32)> = pair
        .retries()
        .iter()
        .map(|(t, n)| (t.as_secs(), *n))
        .collect();
    assert_eq!(retries, [(1, 1), (3, 2), (7, 3), (15, 4), (23, 5)]);
    assert_eq!(
        outcome,
        Outcome::GaveUp {
            failure: connect_timeout(),
            attempts: 6
        }
    );
    assert_eq!(pair.count(|a| matches!(a, Action::Connect)), 6);
    assert_eq!(
        pair.outbox[&item.id].attempts, 6,
        "every failed attempt is counted"
    );
    assert_eq!(pair.outbox[&item.id].state, "pending", "nothing is lost");
}

#[test]
fn a_silent_hub_times_out_and_a_connection_is_never_kept_past_the_give_up_time() {
    let mut pair = Pair::new(Mode::Drain {
        give_up_after: Duration::from_secs(4),
    });
    let item = pair.build(1);
    pair.queue(vec![item]);
    pair.connects = std::iter::repeat_n(Net::Silent, 5).collect();
    let outcome = pair.run();
    // The first attempt is cut at the give-up time (4 s, not the 10 s connect
    // timeout); the next would start after it.
    let failure = Failure::TimedOut {
        stage: Stage::Connect,
        waited: Duration::from_secs(4),
    };
    assert_eq!(
        outcome,
        Outcome::GaveUp {
            failure,
            attempts: 1
        }
    );
    assert_eq!(pair.elapsed(), Duration::from_secs(4));
    assert!(
        matches!(pair.log.last(), Some((t, Action::Finished(_))) if *t == Duration::from_secs(4))
    );
}

#[test]
fn a_lost_answer_is_asked_again_and_the_hub_gives_the_receipt_it_already_gave() {
    // A request in flight is never cut by the give-up time; here it is long enough
    // for one request timeout and a second attempt.
    let mut pair = Pair::new(PATIENT);
    let item = pair.build(1);
    pair.queue(vec![item.clone()]);
    // The checkpoint is answered; the submission is stored but its answer lost.
    pair.requests = [Net::Up, Net::AnswerLost].into();
    assert_eq!(pair.run(), Outcome::Delivered);
    let timeout = pair
        .log
        .iter()
        .find_map(|(t, a)| match a {
            Action::RecordFailure { failure, .. } => Some((*t, failure.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        timeout,
        (
            Duration::from_millis(300_020),
            Failure::TimedOut {
                stage: Stage::Request,
                waited: Duration::from_secs(300)
            }
        ),
        "the request timeout counts from when it was sent"
    );
    assert_eq!(pair.count(|a| matches!(a, Action::Submit(_))), 2);
    assert_eq!(pair.hub.stored.len(), 1, "stored once");
    assert_eq!(pair.outbox[&item.id].state, "acknowledged");
}

#[test]
fn late_answers_after_a_timeout_change_nothing() {
    let mut pair = Pair::new(PATIENT);
    let item = pair.build(1);
    pair.queue(vec![item]);
    pair.requests = [Net::Silent].into();
    pair.run_until(|a| matches!(a, Action::Retrying { .. }));
    let late = pair.hub.answer(&Request::Checkpoint { since: 0 });
    pair.machine.handle_response(pair.now, late);
    pair.machine.handle_connected(pair.now);
    pair.machine.handle_failure(pair.now, connect_timeout());
    assert_eq!(
        pair.machine.poll_action(pair.now),
        None,
        "still waiting for the retry"
    );
    assert_eq!(pair.run(), Outcome::Delivered);
    assert_eq!(pair.count(|a| matches!(a, Action::RecordFailure { .. })), 1);
}

/// Every kind of failure: temporary ones are retried, permanent ones stop at once
/// after one attempt, with the failure as the reason.
#[test]
fn each_failure_is_retried_only_if_it_can_heal() {
    let detail = || "x".to_owned();
    let cases = [
        (connect_timeout(), true),
        (
            Failure::TimedOut {
                stage: Stage::Request,
                waited: Duration::from_secs(300),
            },
            true,
        ),
        (Failure::Unresolved, true),
        (Failure::Local { detail: detail() }, true),
        (Failure::Lost { detail: detail() }, true),
        (Failure::BadAnswer { detail: detail() }, true),
        (
            Failure::ClosedByHub {
                code: close_code::DONE,
                reason: "hub shutting down".into(),
            },
            true,
        ),
        (
            Failure::ClosedByHub {
                code: close_code::TOO_MANY_CONNECTIONS,
                reason: "too many".into(),
            },
            true,
        ),
        (Failure::Refused(Refusal::Unavailable("busy".into())), true),
        (
            Failure::Refused(Refusal::RateLimited {
                kommun: "2180".into(),
                limit: 2,
            }),
            true,
        ),
        (
            Failure::ClosedByHub {
                code: close_code::REVOKED,
                reason: "certificate revoked".into(),
            },
            false,
        ),
        (
            Failure::ClosedByHub {
                code: close_code::NO_KOMMUN,
                reason: "no kommun".into(),
            },
            false,
        ),
        (Failure::BadAddress, false),
        (Failure::BadServerName { name: "a b".into() }, false),
        (Failure::HubCertificateName { detail: detail() }, false),
        (Failure::HubCertificateUnknownCa { detail: detail() }, false),
        (Failure::HubCertificateExpired { detail: detail() }, false),
        (Failure::HubCertificate { detail: detail() }, false),
        (Failure::NodeCertificateRefused { detail: detail() }, false),
        (Failure::WrongProtocol { detail: detail() }, false),
    ];
    for (failure, temporary) in cases {
        assert_eq!(failure.is_temporary(), temporary, "{failure:?}");
        let mut pair = Pair::new(DRAIN);
        let item = pair.build(1);
        pair.queue(vec![item.clone()]);
        pair.connects = [Net::Fail(failure.clone())].into();
        let outcome = pair.run();
        if temporary {
            assert_eq!(outcome, Outcome::Delivered, "{failure:?}");
            assert_eq!(pair.retries(), [(Duration::from_secs(1), 1)], "{failure:?}");
        } else {
            assert_eq!(outcome, Outcome::Stopped(Stop::Transport(failure.clone())));
            assert_eq!(
                pair.count(|a| matches!(a, Action::Connect)),
                1,
                "not retried: {failure:?}"
            );
            assert_eq!(pair.count(|a| matches!(a, Action::Retrying { .. })), 0);
        }
        assert_eq!(pair.outbox[&item.id].attempts, 1, "{failure:?}");
    }
}

#[test]
fn a_refusal_for_now_is_retried_and_a_final_refusal_stops_with_the_rest_waiting() {
    // Rate limited once, then accepted.
    let mut pair = Pair::new(DRAIN);
    let item = pair.build(1);
    pair.queue(vec![item.clone()]);
    let limited = Refusal::RateLimited {
        kommun: "2180".into(),
        limit: 2,
    };
    pair.requests = [
        Net::Up,
        Net::Answer(Box::new(Response::Refused(limited.clone()))),
    ]
    .into();
    assert_eq!(pair.run(), Outcome::Delivered);
    assert!(
        matches!(&pair.log.iter().find(|(_, a)| matches!(a, Action::Retrying { .. })).unwrap().1,
        Action::Retrying { failure: Failure::Refused(r), .. } if *r == limited)
    );
    assert_eq!(pair.outbox[&item.id].state, "acknowledged");

    // A signing key the hub does not know: the first is refused and recorded, the
    // others are not sent and wait for the fix.
    let node = key();
    let mut hub = FakeHub::new(&node);
    hub.registered.clear();
    let mut pair = Pair::with(DRAIN, node, hub, None);
    let items: Vec<_> = (1..=3).map(|s| pair.build(s)).collect();
    pair.queue(items);
    let outcome = pair.run();
    let Outcome::Stopped(Stop::Refused {
        id: Some(_),
        refusal: Refusal::UnknownSigner { .. },
    }) = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        pair.states(),
        [(1, "refused"), (2, "pending"), (3, "pending")]
    );
    assert_eq!(pair.count(|a| matches!(a, Action::Submit(_))), 1);
    assert_eq!(pair.count(|a| matches!(a, Action::Retrying { .. })), 0);

    // A schema the hub does not know stops the same way.
    let mut pair = Pair::new(DRAIN);
    let items: Vec<_> = (1..=2).map(|s| pair.build(s)).collect();
    pair.queue(items);
    let schema = Refusal::SchemaVersion {
        found: 9,
        supported: 1,
    };
    pair.requests = [
        Net::Up,
        Net::Answer(Box::new(Response::Refused(schema.clone()))),
    ]
    .into();
    assert!(
        matches!(pair.run(), Outcome::Stopped(Stop::Refused { refusal, .. }) if refusal == schema)
    );
    assert_eq!(pair.states(), [(1, "refused"), (2, "pending")]);
}

#[test]
fn a_node_restored_from_an_older_database_re_signs_after_the_hubs_last_sequence() {
    // The hub accepted sequences 1 to 5; then the node's database was restored from
    // a copy that held 1 (acknowledged) and 2 (pending, but already at the hub).
    let mut pair = Pair::new(DRAIN);
    let before: Vec<_> = (1..=5).map(|s| pair.build(s)).collect();
    for item in &before {
        assert!(matches!(
            pair.hub.answer(&Request::Submit(item.signed.clone())),
            Response::Receipt(_)
        ));
    }
    for item in &before[2..] {
        pair.outbox.remove(&item.id);
    }
    pair.row(before[0].id).state = "acknowledged";
    // After the restore the node builds sequences 3 and 4 again, with new content.
    let rebuilt: Vec<_> = (3..=4).map(|s| pair.build_with(s, 1_000)).collect();
    pair.queue(vec![
        before[1].clone(),
        rebuilt[0].clone(),
        rebuilt[1].clone(),
    ]);
    assert_eq!(pair.run(), Outcome::Delivered);
    let resequences: Vec<(SubmissionId, u64)> = pair
        .log
        .iter()
        .filter_map(|(_, a)| match a {
            Action::Resequence { id, after } => Some((*id, *after)),
            _ => None,
        })
        .collect();
    // Sequence 2 was at the hub already (it gets its original receipt); 3 is refused
    // as a replay of the hub's 5 and re-signed as 6; then 4 as 7.
    assert_eq!(resequences, [(rebuilt[0].id, 5), (rebuilt[1].id, 6)]);
    assert_eq!(
        pair.states(),
        [
            (1, "acknowledged"),
            (2, "acknowledged"),
            (3, "refused"),
            (4, "refused"),
            (6, "acknowledged"),
            (7, "acknowledged")
        ]
    );
    assert_eq!(pair.hub.last_sequence, 7);
    assert_eq!(
        pair.hub.stored.len(),
        7,
        "five before the restore, two after: each once"
    );
}

#[test]
fn a_re_signed_submission_refused_as_a_replay_again_stops() {
    let mut pair = Pair::new(DRAIN);
    pair.hub.last_sequence = 9;
    let item = pair.build(1);
    pair.queue(vec![item]);
    // The re-signed one (sequence 10) is refused as a replay too (the hub moved on).
    let replay = Refusal::Replay {
        found: 10,
        last: 12,
    };
    pair.requests = [
        Net::Up,
        Net::Up,
        Net::Answer(Box::new(Response::Refused(replay.clone()))),
    ]
    .into();
    let outcome = pair.run();
    assert!(
        matches!(outcome, Outcome::Stopped(Stop::Refused { refusal, .. }) if refusal == replay)
    );
    assert_eq!(pair.count(|a| matches!(a, Action::Resequence { .. })), 1);
}

#[test]
fn a_rewritten_hub_history_stops_everything_before_anything_is_sent() {
    let mut first = Pair::new(DRAIN);
    let item = first.build(1);
    first.queue(vec![item]);
    assert_eq!(first.run(), Outcome::Delivered);
    let (size, note) = first
        .log
        .iter()
        .rev()
        .find_map(|(_, a)| match a {
            Action::RecordCheckpoint { size, note } => Some((*size, note.clone())),
            _ => None,
        })
        .unwrap();
    let mut hub = first.hub;
    hub.rewrite_history();
    let mut pair = Pair::with(DRAIN, first.node, hub, Some((size, note)));
    let item = pair.build(2);
    pair.queue(vec![item.clone()]);
    let outcome = pair.run();
    let Outcome::HistoryChanged(rewritten) = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!((rewritten.old.size, rewritten.new.size), (2, 2));
    assert_eq!(
        pair.count(|a| matches!(a, Action::Submit(_))),
        0,
        "nothing sent"
    );
    assert_eq!(
        pair.count(|a| matches!(a, Action::RecordHistoryChanged(_))),
        1
    );
    assert_eq!(pair.outbox[&item.id].state, "pending");
    // Nothing queued later is sent either.
    let later = pair.build(3);
    pair.machine.handle_queued(pair.now, vec![later]);
    assert_eq!(pair.machine.poll_action(pair.now), None);
    assert!(pair.machine.is_finished());
}

#[test]
fn a_history_rewritten_while_sending_is_found_by_the_check_after() {
    let mut pair = Pair::new(Mode::Daemon {
        pause_after_permanent: Duration::from_secs(60),
    });
    let items: Vec<_> = (1..=2).map(|s| pair.build(s)).collect();
    pair.queue(items);
    pair.rewrite_after = Some(2);
    assert!(
        matches!(pair.run(), Outcome::HistoryChanged(_)),
        "final even for a daemon"
    );
    assert_eq!(pair.count(|a| matches!(a, Action::RecordReceipt(_))), 2);
    assert_eq!(
        pair.count(|a| matches!(a, Action::RecordHistoryChanged(_))),
        1
    );
}

#[test]
fn a_changed_byte_in_the_outbox_is_found_and_never_sent() {
    let mut pair = Pair::new(DRAIN);
    let good = pair.build(1);
    // A flipped byte in the signed bytes: they no longer hash to the stored id.
    let mut flipped = pair.build(2);
    let middle = flipped.signed.bytes.len() / 2;
    flipped.signed.bytes[middle] ^= 1;
    // The same change with the id recomputed: the signature no longer holds.
    let mut forged = pair.build(3);
    forged.signed.bytes[middle] ^= 1;
    pair.outbox.remove(&forged.id);
    forged.id = forged.signed.id();
    pair.outbox.insert(
        forged.id,
        Row {
            item: forged.clone(),
            state: "pending",
            attempts: 0,
        },
    );
    // The sequence beside the bytes changed.
    let mut moved = pair.build(4);
    moved.sequence = 40;
    pair.queue(vec![
        good.clone(),
        flipped.clone(),
        forged.clone(),
        moved.clone(),
    ]);
    assert_eq!(pair.run(), Outcome::Delivered);
    let tampered: Vec<(SubmissionId, Tampering)> = pair
        .log
        .iter()
        .filter_map(|(_, a)| match a {
            Action::RecordTampered { id, problem } => Some((*id, problem.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        tampered,
        [
            (
                flipped.id,
                Tampering::IdMismatch {
                    computed: flipped.signed.id()
                }
            ),
            (forged.id, Tampering::BadSignature),
            (
                moved.id,
                Tampering::SequenceMismatch {
                    stored: 40,
                    signed: 4
                }
            ),
        ]
    );
    let sent: Vec<SubmissionId> = pair
        .log
        .iter()
        .filter_map(|(_, a)| match a {
            Action::Submit(item) => Some(item.id),
            _ => None,
        })
        .collect();
    assert_eq!(sent, [good.id]);
    assert_eq!(pair.hub.stored.len(), 1);
}

#[test]
fn a_hub_signing_with_another_key_is_stopped_at_the_checkpoint_or_the_receipt() {
    // The checkpoint is signed with a key the node does not know.
    let mut pair = Pair::new(DRAIN);
    let item = pair.build(1);
    pair.queue(vec![item.clone()]);
    let real = std::mem::replace(&mut pair.hub.key, key());
    let outcome = pair.run();
    assert!(
        matches!(
            outcome,
            Outcome::Stopped(Stop::BadCheckpoint { stored: false, .. })
        ),
        "{outcome:?}"
    );
    assert_eq!(pair.count(|a| matches!(a, Action::Submit(_))), 0);

    // The checkpoint is fine but a receipt is not: the submission waits.
    let mut pair = Pair::new(DRAIN);
    let item = pair.build(1);
    pair.queue(vec![item.clone()]);
    let receipt = Receipt {
        submission_id: item.id,
        kommun: kommun(),
        sequence: 1,
        received_at: 0,
        log_index: 1,
        entry: Vec::new(),
        checkpoint: Vec::new(),
        inclusion: Vec::new(),
    };
    let forged = SignedReceipt::sign(&receipt, &real).unwrap();
    pair.requests = [Net::Up, Net::Answer(Box::new(Response::Receipt(forged)))].into();
    let outcome = pair.run();
    assert!(
        matches!(outcome, Outcome::Stopped(Stop::BadReceipt { id, .. }) if id == item.id),
        "{outcome:?}"
    );
    assert_eq!(pair.outbox[&item.id].state, "pending");
}
