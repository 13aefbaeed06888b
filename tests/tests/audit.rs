//! Transfer logs a privacy officer can trust (DESIGN.md §8): the audit commands of
//! both binaries on real logs, and every way a tamperer would change them.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};

use samla_common::audit::HubBundle;
use samla_common::signing::SigningKey;
use samla_common::translog::{Checkpoint, EntryKind, LogEntry, MemoryHashes};
use samla_common::wire::SubmissionId;
use samla_tests::{run, text, Node, Region};

struct Setup {
    region: Region,
    a: Node,
    b: Node,
    hub_bundle: PathBuf,
    node_bundle: PathBuf,
}

/// Hub log: the registrations of 2180 (0) and 2181 (1), 2181's submission (2),
/// 2180's two (3, 4), 2181's second (5).
fn setup() -> Setup {
    let mut region = Region::new();
    let a = region.add_node("2180", "ca", &[]);
    let b = region.add_node("2181", "ca", &[]);
    region.start_hub();
    let export_a = a.export("export.csv", 80, 11);
    let export_b = b.export("export.csv", 80, 12);
    for (node, export, period) in [
        (&b, &export_b, "2025"),
        (&a, &export_a, "2025"),
        (&a, &export_a, "2025-H1"),
        (&b, &export_b, "2025-H1"),
    ] {
        let o = node.run(&["submit", export, "--period", period]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let root = region.root().to_owned();
    let o = run(
        "samla-hub",
        &root,
        &[
            "audit",
            "--lang",
            "en",
            "export",
            "--config",
            "hub/hub.toml",
            "hub-bundle",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = a.run(&["audit", "--lang", "en", "export", "../node-bundle"]);
    assert!(o.status.success(), "{}", text(&o));
    Setup {
        hub_bundle: root.join("hub-bundle"),
        node_bundle: root.join("node-bundle"),
        region,
        a,
        b,
    }
}

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
    let o = run(
        "samla-node",
        dir,
        &[
            "audit",
            "--lang",
            "en",
            "verify",
            "--hub-bundle",
            bundle.to_str().unwrap(),
        ],
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
    let o = run(
        "samla-hub",
        root,
        &[
            "audit",
            "--lang",
            "en",
            "verify",
            "--config",
            "hub/hub.toml",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .starts_with("ok: 6 entries, 6 signed checkpoints verify"),
        "{}",
        text(&o)
    );
    let o = run(
        "samla-hub",
        root,
        &["audit", "--lang", "en", "verify", "--bundle", "hub-bundle"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = s.a.run(&["audit", "--lang", "en", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2 receipts verify"),
        "{}",
        text(&o)
    );
    for program in ["samla-node", "samla-hub"] {
        let o = run(
            program,
            root,
            &[
                "audit",
                "--lang",
                "en",
                "cross-check",
                "node-bundle",
                "hub-bundle",
            ],
        );
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
    let o = run(
        "samla-node",
        dir,
        &[
            "audit",
            "--lang",
            "en",
            "cross-check",
            "node-bundle",
            forked.to_str().unwrap(),
        ],
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
    let o = run(
        "samla-hub",
        dir,
        &[
            "audit",
            "--lang",
            "en",
            "cross-check",
            "node-bundle",
            padded.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("FAIL hub entry 6: names submission"),
        "{}",
        text(&o)
    );

    // The other kommun's entries are not this node's business.
    let o = run(
        "samla-node",
        dir,
        &[
            "audit",
            "--lang",
            "en",
            "cross-check",
            "node-bundle",
            "hub-bundle",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_cut_node_log_is_caught_by_what_the_outbox_still_holds() {
    let s = setup();
    let last: i64 =
        s.a.db()
            .query_row(
                "SELECT MAX(entry) FROM transfer_log WHERE kind = 'receipt'",
                [],
                |r| r.get(0),
            )
            .unwrap();
    s.a.db()
        .execute("DELETE FROM transfer_log WHERE entry >= ?1", [last])
        .unwrap();
    let o = s.a.run(&["audit", "--lang", "en", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("has no `receipt` entry for it"),
        "{}",
        text(&o)
    );
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
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("FAIL node log entry 2:"),
        "{}",
        text(&o)
    );
}

/// Every written form of every personnummer in an export.
fn personnummer_forms(export: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(export).unwrap();
    let mut forms = Vec::new();
    for line in text.lines().skip(1) {
        let long = line.split(',').next().unwrap().to_owned();
        assert_eq!(long.len(), 12);
        forms.push(format!("{}-{}", &long[2..8], &long[8..]));
        forms.push(format!("{}-{}", &long[..8], &long[8..]));
        forms.push(long[2..].to_owned());
        forms.push(long);
    }
    forms
}

#[test]
fn show_never_prints_a_personnummer_or_a_pseudonym_and_payload_shows_only_pseudonyms() {
    let s = setup();
    let dir = s.region.root();
    let mut forms = personnummer_forms(&s.a.dir.join("export.csv"));
    forms.extend(personnummer_forms(&s.b.dir.join("export.csv")));
    let id: String = {
        let db = s.region.hub_db();
        let bytes: Vec<u8> = db
            .query_row(
                "SELECT id FROM submissions WHERE kommun = '2180' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let payload = run(
        "samla-hub",
        dir,
        &[
            "audit",
            "--lang",
            "en",
            "payload",
            "--config",
            "hub/hub.toml",
            &id,
            "--format",
            "json",
        ],
    );
    assert!(payload.status.success(), "{}", text(&payload));
    let payload_text = String::from_utf8_lossy(&payload.stdout).into_owned();
    let submission: samla_common::wire::Submission = serde_json::from_str(&payload_text).unwrap();
    let pseudonyms: Vec<String> = submission
        .statistics
        .linkage_sets
        .iter()
        .flat_map(|l| l.pseudonyms.iter().map(|p| p.to_hex()))
        .collect();
    assert!(!pseudonyms.is_empty());
    assert!(
        payload_text.contains(&pseudonyms[0]),
        "payload shows the submission on purpose"
    );
    let node_payload =
        s.a.run(&["audit", "--lang", "en", "payload", &id, "--format", "json"]);
    assert_eq!(
        String::from_utf8_lossy(&node_payload.stdout),
        payload_text,
        "the node shows the same content"
    );

    let mut outputs = vec![payload_text];
    for format in ["table", "json", "csv"] {
        let hub = run(
            "samla-hub",
            dir,
            &[
                "audit",
                "--lang",
                "en",
                "show",
                "--config",
                "hub/hub.toml",
                "--format",
                format,
            ],
        );
        assert!(hub.status.success(), "{}", text(&hub));
        let node =
            s.a.run(&["audit", "--lang", "en", "show", "--format", format]);
        assert!(node.status.success(), "{}", text(&node));
        for shown in [&hub, &node] {
            let out = String::from_utf8_lossy(&shown.stdout);
            for p in &pseudonyms {
                assert!(!out.contains(p.as_str()), "show prints no pseudonym");
            }
            outputs.push(out.into_owned());
        }
    }
    for out in &outputs {
        for form in &forms {
            assert!(
                !out.contains(form.as_str()),
                "an audit output holds a personnummer"
            );
        }
    }
}

/// The hub certificate's SHA-256 fingerprint, hex, as a test reads it from the file.
fn hub_fingerprint(region: &Region) -> String {
    let pem = std::fs::read(region.root().join("hub/hub.crt")).unwrap();
    let der = samla_common::tls::certificates_from_pem(&pem).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, der[0].as_ref());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Swedish local time of a Unix time, minutes only, with its offset, computed here
/// from the EU rule (summer time from 01:00 UTC on the last Sunday of March to the
/// last Sunday of October).
fn stockholm_minute(at: i64) -> String {
    let utc = time::OffsetDateTime::from_unix_timestamp(at).unwrap();
    let last_sunday = |month: time::Month| {
        let mut d =
            time::Date::from_calendar_date(utc.year(), month, month.length(utc.year())).unwrap();
        while d.weekday() != time::Weekday::Sunday {
            d = d.previous_day().unwrap();
        }
        d.with_hms(1, 0, 0).unwrap().assume_utc()
    };
    let summer = utc >= last_sunday(time::Month::March) && utc < last_sunday(time::Month::October);
    let hours = if summer { 2 } else { 1 };
    let local = utc.to_offset(time::UtcOffset::from_hms(hours, 0, 0).unwrap());
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} +0{hours}:00",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute()
    )
}

/// The node's submissions as the test reads them from node.db: (id hex, sequence,
/// time of its last `sent` entry).
fn sent_submissions(node: &Node) -> Vec<(String, i64, i64)> {
    let db = node.db();
    let mut s = db
        .prepare(
            "SELECT o.id, o.sequence, (SELECT MAX(at) FROM transfer_log t WHERE t.kind = 'sent' AND t.submission_id = o.id)
             FROM outbox o ORDER BY o.sequence",
        )
        .unwrap();
    s.query_map([], |r| {
        let id: Vec<u8> = r.get(0)?;
        Ok((
            id.iter().map(|b| format!("{b:02x}")).collect(),
            r.get(1)?,
            r.get(2)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Distinct pseudonyms of a submission, counted from its JSON payload.
fn people_in(node: &Node, id: &str) -> usize {
    let o = node.run(&["audit", "payload", id, "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let submission: samla_common::wire::Submission = serde_json::from_slice(&o.stdout).unwrap();
    let mut all: Vec<String> = submission
        .statistics
        .linkage_sets
        .iter()
        .flat_map(|l| l.pseudonyms.iter().map(|p| p.to_hex()))
        .collect();
    all.sort();
    all.dedup();
    all.len()
}

#[test]
fn audit_output_is_swedish_with_local_times_and_one_summary_line_per_submission() {
    let s = setup();
    let fingerprint = hub_fingerprint(&s.region);
    let submissions = sent_submissions(&s.a);
    assert_eq!(submissions.len(), 2);
    let mut expected = vec!["Inlämningar".to_owned()];
    let mut english = vec!["Submissions".to_owned()];
    for ((id, _, at), period) in submissions.iter().zip(["2025", "2025-H1"]) {
        let people = people_in(&s.a, id);
        let when = stockholm_minute(*at);
        expected.push(format!(
            "  {when} skickad till Region Gävleborg (localhost, certifikat {}…): {people} personer, 9 tabeller, period {period}, kvitto verifierat  [{}]",
            &fingerprint[..16],
            &id[..16]
        ));
        english.push(format!(
            "  {when} sent to Region Gävleborg (localhost, certificate {}…): {people} people, 9 tables, period {period}, receipt verified  [{}]",
            &fingerprint[..16],
            &id[..16]
        ));
    }
    let o = s.a.run(&["audit", "show"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let head: Vec<&str> = out.lines().take(3).collect();
    assert_eq!(head, expected, "{out}");
    assert!(
        out.lines().nth(5).unwrap().starts_with("nr  tid"),
        "Swedish column names: {out}"
    );
    assert!(out.contains("  kvitto  "), "Swedish event names: {out}");
    let o = s.a.run(&["audit", "show", "--lang", "en"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let head: Vec<&str> = out.lines().take(3).collect();
    assert_eq!(head, english, "{out}");

    // verify: the ok line in Swedish, every count named.
    let o = s.a.run(&["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    let entries =
        s.a.db()
            .query_row("SELECT COUNT(*) FROM transfer_log", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap();
    let heads =
        s.a.db()
            .query_row(
                "SELECT COUNT(*) FROM transfer_log WHERE kind = 'signed head'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("ok: {entries} loggposter hänger ihop, {heads} signerade logglägen stämmer; 2 inlämningar stämmer med sina id och nodens signatur; 2 kvitton stämmer\n")
    );

    // The hub names the kommun that sent each one.
    let o = run(
        "samla-hub",
        s.region.root(),
        &["audit", "show", "--config", "hub/hub.toml"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(out.lines().next(), Some("Mottagna inlämningar"), "{out}");
    let (id, _, _) = &submissions[0];
    let received_at: i64 = s
        .region
        .hub_db()
        .query_row(
            "SELECT received_at FROM submissions WHERE lower(hex(id)) = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    let line = format!(
        "  {} mottagen från Gävle (2180): {} personer, 9 tabeller, period 2025, lagrad  [{}]",
        stockholm_minute(received_at),
        people_in(&s.a, id),
        &id[..16]
    );
    assert!(out.lines().any(|l| l == line), "{line:?} in\n{out}");
}

#[test]
fn payload_is_readable_tables_by_default_and_takes_a_unique_prefix() {
    let s = setup();
    let (id, _, _) = sent_submissions(&s.a).remove(0);
    let o = s.a.run(&["audit", "payload", &id[..8]]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.starts_with(&format!("Inlämning {id}\n")), "{out}");
    assert!(out.contains("  period:"), "{out}");
    assert!(out.contains("\nTabell participants ("), "{out}");
    assert!(out.contains("project  gender  age_band  antal"), "{out}");
    assert!(out.contains("pseudonymer"), "{out}");
    // No pseudonym in the tables.
    let json = s.a.run(&["audit", "payload", &id, "--format", "json"]);
    let submission: samla_common::wire::Submission = serde_json::from_slice(&json.stdout).unwrap();
    for set in &submission.statistics.linkage_sets {
        for p in &set.pseudonyms {
            assert!(!out.contains(&p.to_hex()), "tables show no pseudonym");
        }
    }
    // The hub shows the same tables.
    let hub = run(
        "samla-hub",
        s.region.root(),
        &["audit", "payload", "--config", "hub/hub.toml", &id[..12]],
    );
    assert!(hub.status.success(), "{}", text(&hub));
    assert_eq!(String::from_utf8_lossy(&hub.stdout), out);
    // Too short, or naming none: a clear error.
    let o = s.a.run(&["audit", "payload", &id[..7]]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("at least 8 hex characters (given 7)"),
        "{}",
        text(&o)
    );
    let o = s.a.run(&["audit", "payload", "00000000"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no submission id starts with 00000000"),
        "{}",
        text(&o)
    );
}

/// Renders a page in headless Chromium, if it is installed; `None` (with a notice)
/// if not.
fn screenshot(page: &Path, png: &Path) -> Option<Vec<u8>> {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!("NOTICE: /usr/bin/chromium is not installed; the audit report is not rendered");
        return None;
    }
    let profile = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,2000",
            &format!("file://{}", page.display()),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    Some(std::fs::read(png).unwrap())
}

#[test]
fn the_html_audit_report_is_self_contained_and_renders() {
    let s = setup();
    let root = s.region.root();
    let page = root.join("granskning.html");
    let o = s.a.run(&[
        "audit",
        "report",
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"sv\">"),
        "{html}"
    );
    for external in [
        "http://", "https://", "<script", "<link", "src=", "@import", "url(",
    ] {
        assert!(
            !html.contains(external),
            "the page loads nothing: {external}"
        );
    }
    assert!(html.contains("Kontrollen gick igenom"), "{html}");
    assert!(html.contains("skickad till Region Gävleborg (localhost, certifikat"));
    let (id, _, _) = sent_submissions(&s.a).remove(0);
    assert!(html.contains(&id[..16]));
    // The same report is never written over.
    let o = s.a.run(&[
        "audit",
        "report",
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // The hub's report too.
    let hub_page = root.join("hub-granskning.html");
    let o = run(
        "samla-hub",
        root,
        &[
            "audit",
            "report",
            "--config",
            "hub/hub.toml",
            "--format",
            "html",
            "--out",
            hub_page.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let hub_html = std::fs::read_to_string(&hub_page).unwrap();
    assert!(
        hub_html.contains("mottagen från Gävle (2180)"),
        "{hub_html}"
    );
    if let Some(png) = screenshot(&page, &root.join("granskning.png")) {
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "a rendered page"
        );
    }
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
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("innehållet som skickades är det som lagrades"),
        "{}",
        text(&o)
    );
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
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!(
            "FAIL submission {id}: the node and the hub hold different content (tables differs)"
        )),
        "{}",
        text(&o)
    );
    let o = s.a.run(&["audit", "export", "--with-pseudonyms", "../x"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--with-pseudonyms needs --with-content: {}",
        text(&o)
    );
}
