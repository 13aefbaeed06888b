//! Node to hub, end to end: a real `samla-hub` process and real `samla-node`
//! processes on loopback (DESIGN.md §7).

use std::collections::BTreeSet;

use samla_common::signing::{SigningKey, VerifyingKey};
use samla_common::statistics::Statistics;
use samla_common::wire::{Refusal, Request, Response, SignedSubmission, Submission};
use samla_tests::raw_client::runtime;
use samla_tests::{run, sql, text, Node, RawClient, Region};

fn node_cert(node: &Node) -> (std::path::PathBuf, std::path::PathBuf) {
    let k = &node.kommun;
    (
        node.dir.join(format!("node-{k}.crt")),
        node.dir.join(format!("node-{k}.key")),
    )
}

#[test]
fn a_submission_arrives_as_preview_showed_it_and_the_node_holds_a_verified_receipt() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    region.start_hub();
    let export = node.export("export.csv", 400, 1);
    let preview = node.run(&["preview", &export, "--period", "2025", "--format", "json"]);
    assert!(preview.status.success(), "{}", text(&preview));
    let json: serde_json::Value = serde_json::from_slice(&preview.stdout).unwrap();
    let expected: Statistics =
        serde_json::from_value(json["submissions"][0]["submission"].clone()).unwrap();

    let submit = node.run(&["submit", &export, "--period", "2025"]);
    assert!(submit.status.success(), "{}", text(&submit));
    assert!(String::from_utf8_lossy(&submit.stdout).contains("receipt signature verified"));

    // The hub's tables equal what preview printed, cell for cell.
    let db = region.hub_db();
    let mut statement = db
        .prepare("SELECT table_name, key1, key2, key3, count FROM cells ORDER BY rowid")
        .unwrap();
    let stored: BTreeSet<(String, Vec<String>, u64)> = statement
        .query_map([], |r| {
            let key: Vec<String> = [r.get::<_, String>(1)?, r.get::<_, String>(2)?]
                .into_iter()
                .chain(r.get::<_, Option<String>>(3)?)
                .collect();
            Ok((r.get::<_, String>(0)?, key, r.get::<_, i64>(4)? as u64))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let previewed: BTreeSet<(String, Vec<String>, u64)> = expected
        .tables
        .iter()
        .flat_map(|t| {
            t.cells
                .iter()
                .map(move |c| (t.name.code().to_owned(), c.key.clone(), c.count))
        })
        .collect();
    assert!(!previewed.is_empty());
    assert_eq!(stored, previewed);
    let (size, blob): (i64, Vec<u8>) = db
        .query_row("SELECT size, pseudonyms FROM linkage_sets", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let previewed_set: Vec<u8> = expected.linkage_sets[0]
        .pseudonyms
        .iter()
        .flat_map(|p| p.as_bytes().to_vec())
        .collect();
    assert_eq!(size as usize, expected.linkage_sets[0].pseudonyms.len());
    assert_eq!(blob, previewed_set);

    // The node holds the receipt, and it verifies against the hub's key.
    let (state, receipt): (String, Vec<u8>) = node
        .db()
        .query_row("SELECT state, receipt FROM outbox", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(state, "acknowledged");
    let receipt: samla_common::wire::SignedReceipt = samla_common::codec::decode(&receipt).unwrap();
    let hub_key: VerifyingKey = region.receipt_key.parse().unwrap();
    let signed = node.signed(1);
    let verified = receipt
        .verify(&hub_key, "samla-hub", signed.id(), "2180".parse().unwrap())
        .unwrap();
    assert_eq!(verified.receipt().sequence, 1);
    assert_eq!(
        verified.receipt().log_index,
        1,
        "after the node's registration"
    );
    assert_eq!(
        verified.checkpoint().size,
        2,
        "the receipt proves the entry is in a signed checkpoint"
    );
    // The hub stored the exact signed bytes.
    let stored_bytes: Vec<u8> = sql::one(&db, "SELECT signed_bytes FROM submissions", []);
    assert_eq!(stored_bytes, signed.bytes);
    let status = node.run(&["status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("acknowledged"));
}

#[test]
fn untrusted_clients_are_refused_and_the_hub_serves_the_others() {
    let mut region = Region::new();
    let good = region.add_node("2180", "ca", &[]);
    // A node whose certificate comes from another CA.
    let o = run(
        "samla-hub",
        region.root(),
        &["ca", "init", "--dir", "other-ca"],
    );
    assert!(o.status.success());
    let foreign = region.add_node("2181", "other-ca", &[]);
    // A node whose certificate has expired.
    let expired = region.add_node(
        "2182",
        "ca",
        &["--not-before", "2020-01-01", "--not-after", "2021-01-01"],
    );
    // Kommun 2183's config, but kommun 2180's certificate.
    let borrowed = region.init_node(
        "2183",
        "node-2183",
        "../node-2180/node-2180.crt",
        "../node-2180/node-2180.key",
    );
    region.start_hub();

    for node in [&foreign, &expired] {
        let export = node.export("export.csv", 60, 2);
        let o = node.submit(
            &export,
            "2025",
            &["--give-up-after", "2", "--retry-wait", "200"],
        );
        assert_eq!(
            o.status.code(),
            Some(3),
            "refused at the handshake, kept in the outbox: {}",
            text(&o)
        );
        let pending: i64 = sql::one(
            &node.db(),
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
            [],
        );
        assert_eq!(pending, 1);
    }
    let export = borrowed.export("export.csv", 60, 3);
    let o = borrowed.run(&["submit", &export, "--period", "2025"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("the certificate is for kommun 2180 but the submission is for kommun 2183"),
        "{}",
        text(&o)
    );

    // No certificate at all: the handshake fails.
    let rt = runtime();
    let none = rt.block_on(async {
        match RawClient::connect(&region, None).await {
            Err(e) => Err(e),
            Ok(client) => client
                .request(&Request::Submit(borrowed.signed(1)))
                .await
                .map(|_| ()),
        }
    });
    assert!(none.is_err(), "a client without a certificate is refused");

    assert!(region.hub_running());
    let export = good.export("export.csv", 100, 4);
    let o = good.run(&["submit", &export, "--period", "2025"]);
    assert!(o.status.success(), "the hub goes on serving: {}", text(&o));
    assert_eq!(region.count("submissions"), 1);
}

#[test]
fn tampered_repeated_and_replayed_submissions() {
    let mut region = Region::new();
    let node = region.add_node("2184", "ca", &[]);
    region.start_hub();
    let export = node.export("export.csv", 80, 5);
    for _ in 0..2 {
        let o = node.run(&["submit", &export, "--period", "2025"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(region.count("submissions"), 2);
    let first = node.signed(1);
    let stored_receipt: Vec<u8> = sql::one(
        &region.hub_db(),
        "SELECT receipt FROM submissions WHERE sequence = 1",
        [],
    );
    let (cert, key) = node_cert(&node);
    let rt = runtime();
    rt.block_on(async {
        let client = RawClient::connect(&region, Some((&cert, &key)))
            .await
            .unwrap();

        // The same bytes again: the original receipt, nothing stored twice.
        match client
            .request(&Request::Submit(first.clone()))
            .await
            .unwrap()
        {
            Response::Receipt(r) => assert_eq!(r.bytes, stored_receipt),
            other => panic!("expected the original receipt, got {other:?}"),
        }

        // One byte changed after signing: the last, where the submission still decodes
        // (a byte in the middle may fall in a text field), so only its signature fails.
        let mut tampered = first.clone();
        let last = tampered.bytes.len() - 1;
        tampered.bytes[last] ^= 0x01;
        match client.request(&Request::Submit(tampered)).await.unwrap() {
            Response::Refused(Refusal::BadSignature) => {}
            other => panic!("expected a bad signature refusal, got {other:?}"),
        }

        // A correctly signed submission with an older sequence number: a replay.
        let document = std::fs::read(node.dir.join("node-signing.key")).unwrap();
        let signing = SigningKey::from_pkcs8(&document).unwrap();
        let mut old: Submission = samla_common::codec::decode(&first.bytes).unwrap();
        old.created_at += 1;
        let replay = SignedSubmission::sign(&old, &signing).unwrap();
        match client.request(&Request::Submit(replay)).await.unwrap() {
            Response::Refused(Refusal::Replay { found: 1, last: 2 }) => {}
            other => panic!("expected a replay refusal, got {other:?}"),
        }
        client.close().await;
    });
    assert_eq!(
        region.count("submissions"),
        2,
        "nothing stored twice, nothing refused stored"
    );
    let refused: i64 = sql::one(
        &region.hub_db(),
        "SELECT COUNT(*) FROM transfer_events WHERE kind = 'refused'",
        [],
    );
    assert_eq!(refused, 2, "both refusals are logged");
}

#[test]
fn the_outbox_keeps_submissions_while_the_hub_is_down_and_delivers_each_once() {
    let mut region = Region::new();
    let node = region.add_node("2101", "ca", &[]);
    let export = node.export("export.csv", 50, 6);

    // The hub is down: submit gives up after a second and keeps the submission.
    let o = node.submit(
        &export,
        "2025",
        &["--give-up-after", "1", "--retry-wait", "200"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let outbox = node.run(&["outbox"]);
    assert!(
        String::from_utf8_lossy(&outbox.stdout).contains("pending"),
        "{}",
        text(&outbox)
    );

    // A second submission waits with it; a third is sent while the hub starts.
    let o = node.submit(
        &export,
        "2025-H1",
        &["--give-up-after", "1", "--retry-wait", "200"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let waiting = std::process::Command::new(samla_tests::binary("samla-node"))
        .current_dir(&node.dir)
        .args([
            "--config",
            "samla-node.toml",
            "submit",
            &export,
            "--period",
            "2025-H2",
            "--retry-wait",
            "300",
            "--max-retry-wait",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    region.start_hub();
    let o = waiting.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the retrying submit delivers once the hub is up: {}",
        text(&o)
    );
    let o = node.run(&["send"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        region.count("submissions"),
        3,
        "each submission stored exactly once"
    );
    let pending: i64 = sql::one(
        &node.db(),
        "SELECT COUNT(*) FROM outbox WHERE state != 'acknowledged'",
        [],
    );
    assert_eq!(pending, 0);
    let sequences: Vec<i64> = sql::column(
        &region.hub_db(),
        "SELECT sequence FROM submissions ORDER BY sequence",
        [],
    );
    assert_eq!(sequences, [1, 2, 3]);
}

#[test]
fn a_frame_announcing_more_than_the_limit_is_refused_before_allocation() {
    let mut region = Region::new();
    let node = region.add_node("2121", "ca", &[]);
    region.start_hub();
    let (cert, key) = node_cert(&node);
    let rt = runtime();
    let announced: u32 = 3 << 30; // 3 GiB, and no body follows
    let response = rt.block_on(async {
        let client = RawClient::connect(&region, Some((&cert, &key)))
            .await
            .unwrap();
        let response = client.exchange(&announced.to_be_bytes()).await;
        client.close().await;
        response
    });
    match response.unwrap() {
        Response::Refused(Refusal::TooLarge {
            announced: a,
            limit,
        }) => {
            assert_eq!(a, announced);
            assert_eq!(limit, 64 * 1024 * 1024);
        }
        other => panic!("expected a size refusal, got {other:?}"),
    }
    // The hub answered from the header alone: its peak memory is far below the
    // announced size.
    let status = std::fs::read_to_string(format!("/proc/{}/status", region.hub_pid())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(peak_kb < 200 * 1024, "hub peak memory {peak_kb} kB");
    assert!(region.hub_running());
}

#[test]
fn a_certificate_from_another_pki_is_accepted_when_pinned() {
    let mut region = Region::new();
    // Another PKI (standing in for SITHS): its certificate names no kommun of ours.
    let o = run(
        "samla-hub",
        region.root(),
        &["ca", "init", "--dir", "siths"],
    );
    assert!(o.status.success());
    let o = run(
        "samla-hub",
        region.root(),
        &[
            "ca",
            "issue-node",
            "--ca-dir",
            "siths",
            "--kommun",
            "9999",
            "--out-dir",
            "node-2185",
        ],
    );
    assert!(o.status.success());
    let node = region.init_node("2185", "node-2185", "node-9999.crt", "node-9999.key");
    let o = run(
        "samla-hub",
        region.root(),
        &["ca", "fingerprint", "node-2185/node-9999.crt"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let fingerprint = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    let config = region.root().join("hub/hub.toml");
    let mut hub = std::fs::read_to_string(&config).unwrap();
    hub.push_str(&format!("certificate_sha256 = \"{fingerprint}\"\n"));
    std::fs::write(&config, hub).unwrap();
    region.start_hub();
    let export = node.export("export.csv", 60, 7);
    let o = node.run(&["submit", &export, "--period", "2025"]);
    assert!(o.status.success(), "{}", text(&o));
    let kommun: String = sql::one(&region.hub_db(), "SELECT kommun FROM submissions", []);
    assert_eq!(
        kommun, "2185",
        "the pin, not the certificate's own name, says which kommun"
    );
}

#[test]
fn a_node_stops_when_the_hub_rewrote_its_log_between_two_submissions() {
    use samla_common::translog::{LogEntry, MemoryHashes};
    let mut region = Region::new();
    let node = region.add_node("2104", "ca", &[]);
    region.start_hub();
    let export = node.export("export.csv", 60, 8);
    let o = node.run(&["submit", &export, "--period", "2025"]);
    assert!(o.status.success(), "{}", text(&o));

    // The hub operator rewrites the first entry, rebuilds the tree and re-signs its
    // checkpoints with the hub's key so that the store is internally consistent
    // (the hub serves no proof from a store that is not: "hub store damaged"),
    // then restarts the hub.
    region.stop_hub();
    {
        let db = region.hub_db();
        let bytes: Vec<u8> = sql::one(
            &db,
            "SELECT entry FROM transfer_events WHERE log_index = 0",
            [],
        );
        let mut entry = LogEntry::from_bytes(&bytes).unwrap();
        entry.summary.push_str(" (rewritten)");
        db.execute(
            "UPDATE transfer_events SET entry = ?1 WHERE log_index = 0",
            [entry.to_bytes()],
        )
        .unwrap();
        let mut statement = db
            .prepare("SELECT entry FROM transfer_events ORDER BY log_index")
            .unwrap();
        let entries: Vec<Vec<u8>> = statement
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut tree = MemoryHashes::default();
        let mut hashes = Vec::new();
        for e in &entries {
            let index = tree.size();
            let new = samla_common::translog::stored_hashes(index, e, &tree).unwrap();
            let first = samla_common::translog::stored_hash_index(0, index);
            hashes.extend(
                new.into_iter()
                    .enumerate()
                    .map(|(i, h)| (first + i as u64, h.0)),
            );
            tree.append(e).unwrap();
        }
        db.execute("DELETE FROM log_hashes", []).unwrap();
        for (index, hash) in hashes {
            db.execute(
                "INSERT INTO log_hashes (stored_index, hash) VALUES (?1, ?2)",
                rusqlite::params![index as i64, hash.to_vec()],
            )
            .unwrap();
        }
        let note: Vec<u8> = db
            .query_row("SELECT note FROM checkpoints WHERE size = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        let origin = String::from_utf8(note)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        let key = samla_common::signing::SigningKey::from_pkcs8(
            &std::fs::read(region.root().join("hub/receipt.key")).unwrap(),
        )
        .unwrap();
        let mut tree = MemoryHashes::default();
        db.execute("DELETE FROM checkpoints", []).unwrap();
        for e in &entries {
            tree.append(e).unwrap();
            let head = samla_common::translog::Checkpoint {
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

    let o = node.run(&["submit", &export, "--period", "2025-H1"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    // The cause once, on one line after what stopped, and the hint last.
    let stderr = String::from_utf8_lossy(&o.stderr);
    let (cause, hint) = stderr
        .rsplit_once("\n\n")
        .unwrap_or_else(|| panic!("{}", text(&o)));
    let cause = cause.lines().last().unwrap_or_default();
    assert!(
        cause.starts_with(
            "samla-node: delivery stopped: the hub's transfer log was rewritten: \
             it does not extend the checkpoint this node saw last (size "
        ),
        "{}",
        text(&o)
    );
    assert_eq!(
        stderr
            .matches("the hub's transfer log was rewritten")
            .count(),
        1,
        "{}",
        text(&o)
    );
    assert_eq!(
        hint,
        "Nothing more was sent. Tell the region and your privacy officer; the node's log records it.\n",
        "{}",
        text(&o)
    );
    let (pending, logged): (i64, i64) = {
        let db = node.db();
        (
            sql::one(
                &db,
                "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
                [],
            ),
            sql::one(
                &db,
                "SELECT COUNT(*) FROM transfer_log WHERE kind = 'hub history changed'",
                [],
            ),
        )
    };
    assert_eq!(pending, 1, "nothing more was sent to the rewritten hub");
    assert_eq!(logged, 1, "the node's log records it");
    assert_eq!(region.count("submissions"), 1);
}
