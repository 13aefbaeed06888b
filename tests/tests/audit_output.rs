//! What the audit commands of both binaries print for a privacy officer (DESIGN.md
//! §8): Swedish by default with local times, one summary line per submission,
//! readable payload tables, a self-contained HTML report, and never a personnummer
//! or (outside `payload`) a pseudonym.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::Path;

use samla_tests::audit::{audit_en, setup};
use samla_tests::{run, sql, text, Node, Region};

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
        let bytes: Vec<u8> = sql::one(
            &db,
            "SELECT id FROM submissions WHERE kommun = '2180' LIMIT 1",
            [],
        );
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let payload = audit_en(
        "samla-hub",
        dir,
        &[
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
        let hub = audit_en(
            "samla-hub",
            dir,
            &["show", "--config", "hub/hub.toml", "--format", format],
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
    let heads = sql::one::<i64>(
        &s.a.db(),
        "SELECT COUNT(*) FROM transfer_log WHERE kind = 'signed head'",
        [],
    );
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
    let received_at: i64 = sql::one(
        &s.region.hub_db(),
        "SELECT received_at FROM submissions WHERE lower(hex(id)) = ?1",
        [id],
    );
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
    let report = [
        "audit",
        "report",
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ];
    let o = s.a.run(&report);
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
    let o = s.a.run(&report);
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
