//! Group commit: a batch of writes in one transaction gives each write its own outcome
//! (each entry still with its own signed checkpoint), and a write that fails takes
//! nothing else with it.

use samla_common::audit::{self, HubBundle};
use samla_common::codes::KommunCode;
use samla_common::signing::{SigningKey, VerifyingKey};
use samla_common::statistics::Statistics;
use samla_common::translog::{self, EntryKind, LogEntry};
use samla_common::wire::{Refusal, SignedSubmission, Submission, VerifiedSubmission};

use super::{LogSigner, Store, StoreError, Write};

const ORIGIN: &str = "samla-hub.test";
const AT: i64 = 1_800_000_000;

fn key() -> SigningKey {
    SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap())
        .unwrap()
}

/// A kommun's statistics with `people` participants.
fn statistics(kommun: &str, people: usize) -> Statistics {
    samla_tests::kommun_statistics(kommun.parse().unwrap(), 0, people)
}

fn verified(node: &SigningKey, kommun: &str, sequence: u64, people: usize) -> VerifiedSubmission {
    let submission = Submission {
        sequence,
        created_at: AT,
        statistics: statistics(kommun, people),
    };
    SignedSubmission::sign(&submission, node)
        .unwrap()
        .verify(kommun.parse().unwrap(), &[node.verifying_key()])
        .unwrap()
}

/// A store in a new directory, with `sql` run on its database from another
/// connection first (to make some writes fail).
fn store_with(sql: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let store = Store::open(&path).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    (dir, store)
}

fn accept(submission: &VerifiedSubmission) -> Write<'_> {
    Write::Accept {
        submission,
        received_at: AT,
    }
}

/// The store's log as an audit bundle, verified as a privacy officer would.
fn verify_log(store: &Store, hub: &VerifyingKey) -> audit::LogSummary {
    let bundle = HubBundle {
        version: audit::BUNDLE_VERSION,
        origin: ORIGIN.to_owned(),
        hub_key: *hub,
        note_verifier_key: translog::note_verifier_key(ORIGIN, hub).unwrap(),
        entries: store.entries().unwrap(),
        checkpoints: store.checkpoints().unwrap(),
    };
    audit::verify_hub_log(&bundle).unwrap()
}

fn kinds(store: &Store) -> Vec<EntryKind> {
    store
        .entries()
        .unwrap()
        .iter()
        .map(|e| LogEntry::from_bytes(e.as_bytes()).unwrap().kind)
        .collect()
}

#[test]
fn a_batch_gives_each_write_its_own_outcome() {
    let (_dir, mut store) = store_with("");
    let hub = key();
    let log = LogSigner {
        key: &hub,
        origin: ORIGIN,
    };
    let node = key();
    let first = verified(&node, "2180", 1, 3);
    let second = verified(&node, "2180", 2, 4);
    let replayed = verified(&node, "2180", 2, 5);
    let other = verified(&node, "0114", 1, 2);
    let refusal = Refusal::Malformed("test".to_owned());
    let batch = [
        accept(&first),
        accept(&second),
        accept(&first),
        accept(&replayed),
        Write::Refusal {
            at: AT,
            kommun: Some("2180".parse().unwrap()),
            id: None,
            refusal: &refusal,
        },
        accept(&other),
    ];
    let outcomes = store.write_batch(&batch, &log);
    assert_eq!(outcomes.len(), batch.len());

    let receipt = |i: usize| match &outcomes[i] {
        Ok(Some(stored)) => stored.receipt.clone(),
        other => panic!("write {i}: expected a receipt, got {other:?}"),
    };
    for (i, v) in [(0, &first), (1, &second), (5, &other)] {
        let checked = receipt(i)
            .verify(
                &hub.verifying_key(),
                ORIGIN,
                v.id(),
                v.submission().statistics.kommun,
            )
            .unwrap();
        // Each receipt's proof leads to the checkpoint signed right after its entry.
        assert_eq!(
            checked.checkpoint().size,
            checked.receipt().log_index + 1,
            "write {i}"
        );
    }
    assert_eq!(
        receipt(2).bytes,
        receipt(0).bytes,
        "the same bytes twice: one receipt"
    );
    assert!(
        matches!(&outcomes[0], Ok(Some(s)) if s.new),
        "first time: stored"
    );
    assert!(
        matches!(&outcomes[2], Ok(Some(s)) if !s.new),
        "the same bytes again: not stored again, and not reported as new"
    );
    assert!(
        matches!(
            outcomes[3],
            Err(StoreError::Refused(Refusal::Replay { found: 2, last: 2 }))
        ),
        "{:?}",
        outcomes[3]
    );
    assert!(matches!(outcomes[4], Ok(None)), "{:?}", outcomes[4]);

    assert_eq!(
        kinds(&store),
        [
            EntryKind::Accepted,
            EntryKind::Accepted,
            EntryKind::Refused,
            EntryKind::Refused,
            EntryKind::Accepted
        ]
    );
    assert_eq!(store.checkpoints().unwrap().len(), 5, "one per entry");
    let summary = verify_log(&store, &hub.verifying_key());
    assert_eq!(summary.entries, 5);

    // After the batch, the same bytes again get the stored receipt.
    let again = store.accept(&second, AT + 60, &log).unwrap();
    assert_eq!(again.receipt.bytes, receipt(1).bytes);
    assert!(!again.new);
    assert_eq!(
        store.checkpoints().unwrap().len(),
        5,
        "nothing new was logged"
    );
}

#[test]
fn a_failing_write_takes_nothing_else_with_it() {
    // The database refuses submissions from one kommun, as a full disk or a broken
    // file would refuse a write.
    let (_dir, mut store) = store_with(
        "CREATE TRIGGER fail BEFORE INSERT ON submissions WHEN NEW.kommun = '0114'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
    );
    let hub = key();
    let log = LogSigner {
        key: &hub,
        origin: ORIGIN,
    };
    let node = key();
    let before = verified(&node, "2180", 1, 3);
    let failing = verified(&node, "0114", 1, 3);
    let after = verified(&node, "2180", 2, 3);
    let outcomes = store.write_batch(&[accept(&before), accept(&failing), accept(&after)], &log);

    assert!(matches!(outcomes[0], Ok(Some(_))), "{:?}", outcomes[0]);
    assert!(
        matches!(outcomes[1], Err(StoreError::Sql(_))),
        "{:?}",
        outcomes[1]
    );
    assert!(matches!(outcomes[2], Ok(Some(_))), "{:?}", outcomes[2]);
    for (i, v) in [(0, &before), (2, &after)] {
        let Ok(Some(stored)) = &outcomes[i] else {
            unreachable!()
        };
        stored
            .receipt
            .verify(
                &hub.verifying_key(),
                ORIGIN,
                v.id(),
                "2180".parse().unwrap(),
            )
            .unwrap();
    }
    // The failed submission left no trace: not stored, not logged.
    assert_eq!(store.signed_bytes(failing.id()).unwrap(), None);
    assert!(store.signed_bytes(before.id()).unwrap().is_some());
    assert_eq!(kinds(&store), [EntryKind::Accepted, EntryKind::Accepted]);
    assert_eq!(verify_log(&store, &hub.verifying_key()).entries, 2);
    let kommun: KommunCode = "0114".parse().unwrap();
    assert!(store
        .entries()
        .unwrap()
        .iter()
        .all(|e| LogEntry::from_bytes(e.as_bytes()).unwrap().kommun != Some(kommun)));
}

#[test]
fn a_transaction_that_cannot_commit_fails_every_write_and_stores_none() {
    // A submission from 0114 makes the commit fail (a deferred constraint, checked
    // only at commit), as a full disk or an I/O error would fail it.
    let (_dir, mut store) = store_with(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
         CREATE TRIGGER late AFTER INSERT ON submissions WHEN NEW.kommun = '0114'
         BEGIN INSERT INTO child VALUES (42); END;",
    );
    let hub = key();
    let log = LogSigner {
        key: &hub,
        origin: ORIGIN,
    };
    let node = key();
    let first = verified(&node, "2180", 1, 3);
    let poisoned = verified(&node, "0114", 1, 3);
    let outcomes = store.write_batch(&[accept(&first), accept(&poisoned)], &log);
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Err(StoreError::Transaction(_))),
            "{outcome:?}"
        );
    }
    assert!(store.entries().unwrap().is_empty(), "nothing logged");
    assert_eq!(store.signed_bytes(first.id()).unwrap(), None);
    // The store goes on: the next batch commits.
    let stored = store.accept(&first, AT, &log).unwrap();
    stored
        .receipt
        .verify(
            &hub.verifying_key(),
            ORIGIN,
            first.id(),
            "2180".parse().unwrap(),
        )
        .unwrap();
    assert_eq!(verify_log(&store, &hub.verifying_key()).entries, 1);
}
