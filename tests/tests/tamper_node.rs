//! The node's own records under attack (DESIGN.md §8, §10): someone with write access
//! to `node.db` changes a stored submission or the transfer log, with and without
//! recomputing the log's hashes. Each change is found and named by
//! `samla-node audit verify`, and a changed submission is never sent.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use samla_common::audit::node_checks::HEAD_KIND;
use samla_common::audit::{node_entry_bytes, node_entry_hash};
use samla_common::wire::SubmissionId;
use samla_tests::{sql, text, Node, Region};

/// A region with a running hub and one node that has sent two submissions.
fn sent_twice() -> (Region, Node) {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    region.start_hub();
    let export = node.export("export.csv", 60, 3);
    for period in ["2025", "2025-H1"] {
        let o = node.run(&["submit", &export, "--period", period]);
        assert!(o.status.success(), "{}", text(&o));
    }
    (region, node)
}

/// `samla-node audit verify --lang en`: (exit code, stdout).
fn verify(node: &Node) -> (Option<i32>, String) {
    let o = node.run(&["audit", "verify", "--lang", "en"]);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// A log entry's stored columns: entry, at, kind, submission id, detail.
type Row = (i64, i64, String, Option<Vec<u8>>, String);

/// Recomputes every hash of the node's log chain, as an editor who read
/// docs/audit.md would after changing an entry.
fn rehash(node: &Node) {
    let db = node.db();
    let rows: Vec<Row> = {
        let mut s = db
            .prepare(
                "SELECT entry, at, kind, submission_id, detail FROM transfer_log ORDER BY entry",
            )
            .unwrap();
        s.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let mut previous = [0u8; 32];
    for (entry, at, kind, id, detail) in rows {
        let id = id.map(|b| SubmissionId::from_bytes(b.try_into().unwrap()));
        let hash = node_entry_hash(&previous, &node_entry_bytes(entry, at, &kind, id, &detail));
        db.execute(
            "UPDATE transfer_log SET hash = ?1 WHERE entry = ?2",
            rusqlite::params![hash.to_vec(), entry],
        )
        .unwrap();
        previous = hash;
    }
}

#[test]
fn a_clean_node_log_is_signed_and_verifies() {
    let (_region, node) = sent_twice();
    let (code, out) = verify(&node);
    assert_eq!(code, Some(0), "{out}");
    let heads: i64 = sql::one(
        &node.db(),
        "SELECT COUNT(*) FROM transfer_log WHERE kind = ?1",
        [HEAD_KIND],
    );
    assert!(heads >= 2, "every submit signs the log's head ({heads})");
    let last_kind: String = sql::one(
        &node.db(),
        "SELECT kind FROM transfer_log ORDER BY entry DESC LIMIT 1",
        [],
    );
    assert_eq!(
        last_kind, HEAD_KIND,
        "the command ended with its log signed"
    );
}

#[test]
fn a_flipped_byte_in_a_sent_submission_is_named_by_verify() {
    let (_region, node) = sent_twice();
    let id = node.flip_signed_byte(1, 0x01);
    let (code, out) = verify(&node);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("FAIL submission {id} in the outbox: ")),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "only the changed one: {out}");
    // In Swedish, the default.
    let o = node.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with(&format!(
            "FEL inlämning {id} i utkorgen: de signerade byten ger BLAKE3 "
        )),
        "{out}"
    );
    assert!(out.ends_with(", inte inlämningens id\n"), "{out}");
}

#[test]
fn a_changed_pending_submission_is_never_sent_and_is_logged() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    let export = node.export("export.csv", 60, 4);
    // The hub is not started yet: the submission waits in the outbox.
    let o = node.submit(
        &export,
        "2025",
        &["--give-up-after", "0", "--retry-wait", "10"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let id = node.flip_signed_byte(1, 0x01);
    region.start_hub();
    let o = node.run(&["send", "--give-up-after", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(&id.to_string()), "{}", text(&o));
    assert_eq!(region.count("submissions"), 0, "nothing reached the hub");
    let tampered: i64 = sql::one(
        &node.db(),
        "SELECT COUNT(*) FROM transfer_log WHERE kind = 'tampered' AND submission_id = ?1",
        [id.as_bytes().as_slice()],
    );
    assert_eq!(tampered, 1, "the node's log names it once");
    let (code, out) = verify(&node);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("FAIL submission {id} in the outbox")),
        "{out}"
    );
}

#[test]
fn a_submission_re_signed_by_another_key_is_named() {
    let (region, node) = sent_twice();
    // An editor with a key of their own: a valid submission with a changed count,
    // signed and stored under its new id, with the log rewritten to match.
    let db = node.db();
    let (old_id, signed): (Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT id, signed FROM outbox WHERE sequence = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let signed: samla_common::wire::SignedSubmission =
        samla_common::codec::decode(&signed).unwrap();
    let mut submission: samla_common::wire::Submission =
        samla_common::codec::decode(&signed.bytes).unwrap();
    submission.statistics.tables[0].cells[0].count += 1;
    let rng = ring::rand::SystemRandom::new();
    let key = samla_common::signing::SigningKey::from_pkcs8(
        &samla_common::signing::SigningKey::generate_pkcs8(&rng).unwrap(),
    )
    .unwrap();
    let forged = samla_common::wire::SignedSubmission::sign(&submission, &key).unwrap();
    let new_id = forged.id();
    db.execute(
        "UPDATE outbox SET id = ?1, signed = ?2 WHERE sequence = 2",
        rusqlite::params![
            new_id.as_bytes().to_vec(),
            samla_common::codec::encode(&forged).unwrap()
        ],
    )
    .unwrap();
    db.execute(
        "UPDATE transfer_log SET submission_id = ?1 WHERE submission_id = ?2",
        rusqlite::params![new_id.as_bytes().to_vec(), old_id],
    )
    .unwrap();
    drop(db);
    rehash(&node);
    let (code, out) = verify(&node);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "FAIL submission {new_id} in the outbox: it is signed by key {}, which is not one of this node's signing keys",
            key.verifying_key()
        )),
        "{out}"
    );
    assert!(
        out.contains(
            "(signed head): the chain hash it signs is not the log's hash of the entry before it"
        ),
        "the rewritten log no longer matches its signed heads: {out}"
    );
    drop(region);
}

#[test]
fn a_log_edit_with_recomputed_hashes_is_caught_by_the_signed_heads() {
    let (_region, node) = sent_twice();
    let db = node.db();
    let receipt: i64 = sql::one(
        &db,
        "SELECT MIN(entry) FROM transfer_log WHERE kind = 'receipt'",
        [],
    );
    db.execute(
        "UPDATE transfer_log SET detail = 'hub log index 0, stored at 0' WHERE entry = ?1",
        [receipt],
    )
    .unwrap();
    drop(db);
    // Without the hashes recomputed, the chain names the entry.
    let (code, out) = verify(&node);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "FAIL node log entry {receipt}: its hash does not follow"
        )),
        "{out}"
    );
    // With them recomputed the chain holds, but the next signed head does not.
    rehash(&node);
    let head: i64 = sql::one(
        &node.db(),
        "SELECT MIN(entry) FROM transfer_log WHERE kind = ?1 AND entry > ?2",
        rusqlite::params![HEAD_KIND, receipt],
    );
    let (code, out) = verify(&node);
    assert_eq!(code, Some(1), "{out}");
    let named = format!("FAIL node log entry {head} (signed head): the chain hash it signs is not the log's hash of the entry before it; entries ");
    assert!(out.contains(&named), "{out}");
    // The range it names holds the changed entry.
    let range = out
        .lines()
        .find(|l| l.contains(&named))
        .and_then(|l| l.split("; entries ").nth(1))
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .to_owned();
    let (from, to) = range.split_once("..").unwrap();
    let (from, to): (i64, i64) = (from.parse().unwrap(), to.parse().unwrap());
    assert!(from <= receipt && receipt <= to, "{range} holds {receipt}");
}

#[test]
fn removing_the_signed_heads_and_recomputing_is_caught() {
    let (_region, node) = sent_twice();
    let db = node.db();
    db.execute("DELETE FROM transfer_log WHERE kind = ?1", [HEAD_KIND])
        .unwrap();
    // Renumber the entries so the chain could hold again.
    let entries: Vec<i64> = {
        let mut s = db
            .prepare("SELECT entry FROM transfer_log ORDER BY entry")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for (i, entry) in entries.iter().enumerate() {
        db.execute(
            "UPDATE transfer_log SET entry = ?1 WHERE entry = ?2",
            [-(i as i64) - 1, *entry],
        )
        .unwrap();
    }
    db.execute("UPDATE transfer_log SET entry = -entry", [])
        .unwrap();
    drop(db);
    rehash(&node);
    let (code, out) = verify(&node);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL node log entries from 1 on are covered by no signed head"),
        "{out}"
    );
}

#[test]
fn a_hub_that_signs_with_another_key_is_a_changed_history_and_stops_the_node() {
    let (mut region, node) = sent_twice();
    let stored = region.count("submissions");
    region.stop_hub();
    // The hub now signs with a key the node was never given.
    let rng = ring::rand::SystemRandom::new();
    let document = samla_common::signing::SigningKey::generate_pkcs8(&rng).unwrap();
    let path = region.root().join("hub/receipt.key");
    std::fs::remove_file(&path).unwrap();
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        file.write_all(&document).unwrap();
    }
    // An operator who swaps the key re-signs the stored checkpoints with it too, so the
    // hub's own store checks pass (a hub whose checkpoints do not verify under its key
    // refuses as "hub store damaged", a temporary failure, instead).
    {
        use samla_common::translog::{Checkpoint, LogEntry, MemoryHashes};
        let key = samla_common::signing::SigningKey::from_pkcs8(&document).unwrap();
        let db = region.hub_db();
        let note: Vec<u8> = sql::one(
            &db,
            "SELECT note FROM checkpoints ORDER BY size LIMIT 1",
            [],
        );
        let origin = String::from_utf8(note)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        let entries: Vec<Vec<u8>> = sql::column(
            &db,
            "SELECT entry FROM transfer_events ORDER BY log_index",
            [],
        );
        let mut tree = MemoryHashes::default();
        db.execute("DELETE FROM checkpoints", []).unwrap();
        for e in &entries {
            LogEntry::from_bytes(e).unwrap();
            tree.append(e).unwrap();
            let head = Checkpoint {
                origin: origin.clone(),
                size: tree.size(),
                root: tree.root().unwrap(),
            };
            db.execute(
                "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                rusqlite::params![tree.size() as i64, head.sign(&key).unwrap()],
            )
            .unwrap();
        }
    }
    region.start_hub();
    let export = node.dir.join("export.csv");
    let o = node.run(&["submit", export.to_str().unwrap(), "--period", "2025-H2"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("the hub's transfer log was rewritten"),
        "{}",
        text(&o)
    );
    let logged: i64 = sql::one(
        &node.db(),
        "SELECT COUNT(*) FROM transfer_log WHERE kind = 'hub history changed'",
        [],
    );
    assert_eq!(logged, 1, "the documented entry");
    assert_eq!(region.count("submissions"), stored, "nothing more was sent");
}
