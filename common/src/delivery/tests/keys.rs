//! The hub's signing key as the delivery machine meets it: a hub that signs with
//! another key after the node has checked its log is a changed history.

use super::pair::*;
use super::*;

#[test]
fn a_hub_signing_with_another_key_after_the_node_saw_its_log_is_a_changed_history() {
    let mut first = Pair::new(DRAIN);
    let item = first.build(1);
    first.queue(vec![item]);
    assert_eq!(first.run(), Outcome::Delivered);
    let seen = first.log.iter().rev().find_map(|(_, a)| match a {
        Action::RecordCheckpoint { size, note } => Some((*size, note.clone())),
        _ => None,
    });
    let trusted = first.hub.key.verifying_key();
    let mut hub = first.hub;
    hub.key = key();
    // The node still trusts the key it was given.
    let mut pair = Pair::with(DRAIN, first.node, hub, seen.clone());
    let mut trusting = config(DRAIN, &pair.hub);
    trusting.receipt_key = trusted;
    pair.machine = Delivery::new(pair.now, trusting.clone(), seen);
    let item = pair.build(2);
    pair.queue(vec![item]);
    assert!(
        matches!(pair.run(), Outcome::HistoryChanged(_)),
        "not a configuration error"
    );
    assert_eq!(pair.count(|a| matches!(a, Action::Submit(_))), 0);
    assert_eq!(
        pair.count(|a| matches!(a, Action::RecordHistoryChanged(_))),
        1
    );
    // A node that never saw a checkpoint is told its configuration is wrong.
    let mut fresh = Pair::new(DRAIN);
    fresh.machine = Delivery::new(fresh.now, trusting, None);
    let item = fresh.build(1);
    fresh.queue(vec![item]);
    let outcome = fresh.run();
    assert!(
        matches!(
            outcome,
            Outcome::Stopped(Stop::BadCheckpoint { stored: false, .. })
        ),
        "{outcome:?}"
    );
}
