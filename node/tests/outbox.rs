//! The node's outbox and hash-chained transfer log under tampering.

use samla_common::signing::SigningKey;
use samla_common::wire::{SignedSubmission, Submission};
use samla_node::node_log::ChainError;
use samla_node::outbox::Outbox;

fn outbox_with_three(dir: &std::path::Path) -> Outbox {
    let key = SigningKey::from_pkcs8(
        &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).expect("key"),
    )
    .expect("key");
    let json = include_str!("data/statistics.json");
    let statistics: samla_common::statistics::Statistics =
        serde_json::from_str(json).expect("statistics");
    let mut outbox = Outbox::open(&dir.join("node.db")).expect("open");
    for created_at in 1..=3 {
        outbox
            .enqueue(created_at, "2025", "d", |sequence| {
                SignedSubmission::sign(
                    &Submission {
                        sequence,
                        created_at,
                        statistics: statistics.clone(),
                    },
                    &key,
                )
            })
            .expect("enqueue");
    }
    outbox
}

#[test]
fn every_kind_of_tampering_with_the_node_log_is_caught_and_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let outbox = outbox_with_three(dir.path());
    assert_eq!(outbox.verify_chain(), Ok(3));
    drop(outbox);
    let db_path = dir.path().join("node.db");
    let sql = |statement: &str| {
        rusqlite::Connection::open(&db_path)
            .expect("db")
            .execute_batch(statement)
            .expect("tamper");
    };
    let check = || Outbox::open(&db_path).expect("open").verify_chain();

    // A changed byte in an entry.
    sql("UPDATE transfer_log SET detail = detail || 'x' WHERE entry = 2");
    assert_eq!(check(), Err(ChainError::Broken { entry: 2 }));
    sql("UPDATE transfer_log SET detail = substr(detail, 1, length(detail) - 1) WHERE entry = 2");
    assert_eq!(check(), Ok(3), "undoing the change restores the chain");

    // Two entries swapped.
    sql("UPDATE transfer_log SET at = 99 WHERE entry = 1");
    assert_eq!(check(), Err(ChainError::Broken { entry: 1 }));
    sql("UPDATE transfer_log SET at = 1 WHERE entry = 1");
    sql("UPDATE transfer_log SET entry = -2 WHERE entry = 2; UPDATE transfer_log SET entry = 2 WHERE entry = 3; UPDATE transfer_log SET entry = 3 WHERE entry = -2;");
    assert_eq!(check(), Err(ChainError::Broken { entry: 2 }));
    sql("UPDATE transfer_log SET entry = -2 WHERE entry = 2; UPDATE transfer_log SET entry = 2 WHERE entry = 3; UPDATE transfer_log SET entry = 3 WHERE entry = -2;");
    assert_eq!(check(), Ok(3));

    // A deleted entry, and a forged one in its place with a hash that does not chain.
    sql("CREATE TABLE saved AS SELECT * FROM transfer_log WHERE entry = 2; DELETE FROM transfer_log WHERE entry = 2");
    assert_eq!(check(), Err(ChainError::Broken { entry: 3 }));
    sql(
        "INSERT INTO transfer_log SELECT entry, at, kind, submission_id, 'forged', hash FROM saved",
    );
    assert_eq!(check(), Err(ChainError::Broken { entry: 2 }));
    sql("DELETE FROM transfer_log WHERE entry = 2; INSERT INTO transfer_log SELECT * FROM saved");
    assert_eq!(check(), Ok(3));

    // Truncation at the end leaves a valid shorter chain; the outbox still holds the
    // submissions whose entries were cut, which `audit verify` reports (tests/audit.rs).
    sql("DELETE FROM transfer_log WHERE entry = 3");
    assert_eq!(check(), Ok(2));
}
