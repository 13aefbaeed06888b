//! Transfer logs a privacy officer can trust (DESIGN.md §8): `audit verify` and
//! `audit cross-check` of both binaries on real logs and bundles, and every way a
//! tamperer would change them. What the audit commands print for a person is in
//! tests/tests/audit_output.rs.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};

use samla_common::audit::HubBundle;
use samla_common::signing::SigningKey;
use samla_common::translog::{Checkpoint, EntryKind, LogEntry, MemoryHashes};
use samla_common::wire::SubmissionId;
use samla_tests::audit::{audit_en, setup};
use samla_tests::{assert_prints, run, sql, text, Region};

fn read_hub(path: &Path) -> HubBundle {
    serde_json::from_slice(&std::fs::read(path.join("hub-bundle.json")).unwrap()).unwrap()
}

fn write_hub(dir: &Path, name: &str, bundle: &HubBundle) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(bundle).unwrap()).unwrap();
    path
}

/// `samla-node audit verify --hub-bundle`: (exit code, stdout).
fn verify_hub(dir: &Path, bundle: &Path) -> (Option<i32>, String) {
    let o = audit_en(
        "samla-node",
        dir,
        &["verify", "--hub-bundle", bundle.to_str().unwrap()],
    );
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// Re-signs a bundle's checkpoints for its (changed) entries with the hub's own key:
/// what a hub that rewrites its history would do.
fn resign(region: &Region, bundle: &mut HubBundle) {
    let key =
        SigningKey::from_pkcs8(&std::fs::read(region.root().join("hub/receipt.key")).unwrap())
            .unwrap();
    let mut tree = MemoryHashes::default();
    bundle.checkpoints.clear();
    for e in &bundle.entries {
        tree.append(e.as_bytes()).unwrap();
        let head = Checkpoint {
            origin: bundle.origin.clone(),
            size: tree.size(),
            root: tree.root().unwrap(),
        };
        bundle
            .checkpoints
            .push(String::from_utf8(head.sign(&key).unwrap()).unwrap());
    }
}

#[test]
fn clean_logs_verify_and_agree_on_both_sides() {
    let s = setup();
    let root = s.region.root();
    let o = audit_en("samla-hub", root, &["verify", "--config", "hub/hub.toml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .starts_with("ok: 6 entries, 6 signed checkpoints verify"),
        "{}",
        text(&o)
    );
    let o = audit_en("samla-hub", root, &["verify", "--bundle", "hub-bundle"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = s.a.run(&["audit", "--lang", "en", "verify"]);
    assert_prints(&o, 0, "2 receipts verify");
    for program in ["samla-node", "samla-hub"] {
        let o = audit_en(program, root, &["cross-check", "node-bundle", "hub-bundle"]);
        assert!(o.status.success(), "{program}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stdout)
            .contains("kommun 2180's log and the hub's log agree"));
    }
    assert!(std::fs::read_to_string(s.hub_bundle.join("README.md"))
        .unwrap()
        .contains("RFC 6962"));
    assert!(std::fs::read_to_string(s.node_bundle.join("README.md"))
        .unwrap()
        .contains("BLAKE3"));
}

/// A way to change a bundle.
type Tamper = Box<dyn Fn(&mut HubBundle)>;

#[test]
fn every_tampering_with_the_hub_log_is_reported_with_the_entry_at_fault() {
    let s = setup();
    let dir = s.region.root();
    let clean = read_hub(&s.hub_bundle);
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "changed byte",
            Box::new(|b| b.entries[2] = b.entries[2].replacen("sequence", "sequencE", 1)),
            "FAIL entry 2: the entries no longer hash",
        ),
        (
            "deleted entry",
            Box::new(|b| drop(b.entries.remove(1))),
            "FAIL entry 1: the entries no longer hash",
        ),
        (
            "reordered",
            Box::new(|b| b.entries.swap(1, 2)),
            "FAIL entry 1: the entries no longer hash",
        ),
        (
            "forged entry",
            Box::new(|b| {
                let mut forged = LogEntry::from_bytes(b.entries[1].as_bytes()).unwrap();
                forged.submission = Some(SubmissionId::of(b"forged"));
                b.entries
                    .insert(2, String::from_utf8(forged.to_bytes()).unwrap());
            }),
            "FAIL entry 2: the entries no longer hash",
        ),
        (
            "truncated",
            Box::new(|b| drop(b.entries.pop())),
            "FAIL log truncated: a checkpoint covers 6 entries but the log holds 5",
        ),
        (
            "replaced checkpoint signature",
            Box::new(|b| {
                let note = &b.checkpoints[2];
                let at = note.rfind(' ').unwrap() + 5;
                let mut bytes = note.clone().into_bytes();
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                b.checkpoints[2] = String::from_utf8(bytes).unwrap();
            }),
            "FAIL checkpoint 2: checkpoint signature does not verify",
        ),
        (
            "malformed entry",
            Box::new(|b| b.entries[0].push(' ')),
            "FAIL entry 0: malformed",
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut bundle = clean.clone();
        tamper(&mut bundle);
        let path = write_hub(dir, &format!("{}.json", name.replace(' ', "-")), &bundle);
        let (code, out) = verify_hub(dir, &path);
        assert_eq!(code, Some(1), "{name}: {out}");
        assert!(
            out.contains(expected),
            "{name}: expected {expected:?} in\n{out}"
        );
    }
    let (code, out) = verify_hub(dir, &write_hub(dir, "clean.json", &clean));
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_forked_or_padded_hub_log_fails_the_cross_check() {
    let s = setup();
    let dir = s.region.root();
    let clean = read_hub(&s.hub_bundle);

    // A fork: the hub rewrites 2180's second entry and re-signs everything. On its own
    // the forked log verifies; against the node's receipts and checkpoints it does not.
    let mut fork = clean.clone();
    let mut entry = LogEntry::from_bytes(fork.entries[4].as_bytes()).unwrap();
    entry.summary = "sequence 2, period 2024, nothing to see".to_owned();
    fork.entries[4] = String::from_utf8(entry.to_bytes()).unwrap();
    resign(&s.region, &mut fork);
    let forked = write_hub(dir, "fork.json", &fork);
    assert_eq!(
        verify_hub(dir, &forked).0,
        Some(0),
        "a consistently re-signed fork verifies alone"
    );
    let o = audit_en(
        "samla-node",
        dir,
        &["cross-check", "node-bundle", forked.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("FAIL the hub's log forked: at size 5"),
        "{out}"
    );
    assert!(out.contains("has no entry for it at index 4"), "{out}");

    // Padding: an acceptance for 2180 that the node never sent.
    let mut padded = clean.clone();
    padded.entries.push(
        String::from_utf8(
            LogEntry {
                kind: EntryKind::Accepted,
                at: 1_800_000_000,
                kommun: Some("2180".parse().unwrap()),
                submission: Some(SubmissionId::of(b"never sent")),
                summary: "sequence 9".to_owned(),
            }
            .to_bytes(),
        )
        .unwrap(),
    );
    resign(&s.region, &mut padded);
    let padded = write_hub(dir, "padded.json", &padded);
    let o = audit_en(
        "samla-hub",
        dir,
        &["cross-check", "node-bundle", padded.to_str().unwrap()],
    );
    assert_prints(&o, 1, "FAIL hub entry 6: names submission");

    // The other kommun's entries are not this node's business.
    let o = audit_en(
        "samla-node",
        dir,
        &["cross-check", "node-bundle", "hub-bundle"],
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_cut_node_log_is_caught_by_what_the_outbox_still_holds() {
    let s = setup();
    let last: i64 = sql::one(
        &s.a.db(),
        "SELECT MAX(entry) FROM transfer_log WHERE kind = 'receipt'",
        [],
    );
    s.a.db()
        .execute("DELETE FROM transfer_log WHERE entry >= ?1", [last])
        .unwrap();
    let o = s.a.run(&["audit", "--lang", "en", "verify"]);
    assert_prints(&o, 1, "has no `receipt` entry for it");
}

#[test]
fn a_changed_node_log_entry_is_named() {
    let s = setup();
    s.a.db()
        .execute(
            "UPDATE transfer_log SET detail = 'nothing happened' WHERE entry = 2",
            [],
        )
        .unwrap();
    let o = s.a.run(&["audit", "--lang", "en", "verify"]);
    assert_prints(&o, 1, "FAIL node log entry 2:");
}

#[test]
fn bundles_carry_content_digests_and_cross_check_compares_what_was_sent_with_what_was_stored() {
    let s = setup();
    let root = s.region.root();
    let o = run(
        "samla-hub",
        root,
        &[
            "audit",
            "export",
            "--config",
            "hub/hub.toml",
            "--with-content",
            "hub-content",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o =
        s.a.run(&["audit", "export", "--with-content", "../node-content"]);
    assert!(o.status.success(), "{}", text(&o));
    let content: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("node-content/content.json")).unwrap())
            .unwrap();
    let first = &content["submissions"][0];
    assert_eq!(
        first["digest"], first["id"],
        "the digest is recomputed from the bytes"
    );
    assert!(
        first["tables"].is_array(),
        "--with-content carries the tables"
    );
    assert!(
        first.get("linkage_sets").is_none(),
        "but never the pseudonyms unless asked"
    );
    let o =
        s.a.run(&["audit", "cross-check", "../node-content", "../hub-content"]);
    assert_prints(&o, 0, "innehållet som skickades är det som lagrades");
    // A table changed in the hub's content file is named.
    let path = root.join("hub-content/content.json");
    let mut hub: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let id = first["id"].as_str().unwrap().to_owned();
    for sub in hub["submissions"].as_array_mut().unwrap() {
        if sub["id"] == id.as_str() {
            let count = sub["tables"][0]["cells"][0]["count"].as_u64().unwrap();
            sub["tables"][0]["cells"][0]["count"] = (count + 1).into();
        }
    }
    std::fs::write(&path, serde_json::to_vec(&hub).unwrap()).unwrap();
    let o = s.a.run(&[
        "audit",
        "cross-check",
        "--lang",
        "en",
        "../node-content",
        "../hub-content",
    ]);
    assert_prints(
        &o,
        1,
        &format!(
            "FAIL submission {id}: the node and the hub hold different content (tables differs)"
        ),
    );
    let o = s.a.run(&["audit", "export", "--with-pseudonyms", "../x"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--with-pseudonyms needs --with-content: {}",
        text(&o)
    );
}
