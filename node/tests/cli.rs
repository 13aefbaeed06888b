//! The `samla-node` binary as a user meets it: exit codes, exact messages for the
//! important failures, and files written.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use samla_common::statistics::Statistics;

mod support;

use support::{node, stderr, stdout};

/// `samla-node preview EXPORT --period PERIOD MORE` in `dir`.
fn preview(dir: &Path, export: &Path, period: &str, more: &[&str]) -> Output {
    let mut args = vec!["preview", export.to_str().unwrap(), "--period", period];
    args.extend_from_slice(more);
    node(dir, &args)
}

/// A node directory: key, config and one synthetic export (with `bad` share of bad rows).
fn setup(dir: &Path, bad: &str) -> PathBuf {
    let o = node(dir, &["key", "generate", "--out", "master.key"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(
        dir.join("samla-node.toml"),
        "kommun = \"2183\"\nkey_file = \"master.key\"\n[[project]]\ncode = \"UNG\"\nlinkage_domain = \"gavleborg-ung-2023\"\n",
    )
    .unwrap();
    let o = node(
        dir,
        &[
            "synth",
            "--out",
            "export.csv",
            "--period",
            "2025",
            "--participants",
            "120",
            "--messy",
            "--bad-rows",
            bad,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    dir.join("export.csv")
}

#[test]
fn key_files_are_private_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let o = node(dir.path(), &["key", "generate", "--out", "master.key"]);
    assert!(o.status.success());
    let key = dir.path().join("master.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(
        !stdout(&o).contains(text.trim()),
        "the key is never printed"
    );
    let again = node(dir.path(), &["key", "generate", "--out", "master.key"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        stderr(&again),
        "samla-node: refusing to overwrite existing file master.key\n\n\
         Choose another path, or move the old file away if you really mean to replace it \
         (a new master key changes every pseudonym).\n"
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
}

#[test]
fn a_key_file_others_can_read_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let export = setup(dir.path(), "0");
    let key = dir.path().join("master.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = preview(dir.path(), &export, "2025", &[]);
    assert_eq!(o.status.code(), Some(2));
    // The config names the key relative to itself: `master.key`.
    let k = "master.key";
    assert_eq!(
        stderr(&o),
        format!("samla-node: key file {k} is accessible by other users (mode 644)\n\nRestrict it to its owner: chmod 600 {k}\n")
    );
    assert!(
        stdout(&o).is_empty(),
        "nothing is built with an exposed key"
    );
}

#[test]
fn check_exit_codes_and_reject_report() {
    let dir = tempfile::tempdir().unwrap();
    let export = setup(dir.path(), "0");
    let o = node(dir.path(), &["check", export.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("CSV, `;`-delimited, Windows-1252"));
    assert!(
        stdout(&o).contains("columns dropped (not fields, never read): Förnamn, Efternamn, Adress")
    );
    assert!(!dir.path().join("rejects.csv").exists());

    let o = node(
        dir.path(),
        &[
            "synth",
            "--out",
            "bad.csv",
            "--participants",
            "200",
            "--bad-rows",
            "0.1",
            "--swedish",
        ],
    );
    assert!(o.status.success());
    let o = node(
        dir.path(),
        &["check", "bad.csv", "--rejects", "bad-rejects.csv"],
    );
    assert_eq!(o.status.code(), Some(1));
    let report = std::fs::read_to_string(dir.path().join("bad-rejects.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "file,line,column,header,kind,reason");
    assert!(lines.len() > 5);
    assert!(stdout(&o).contains(&format!(
        "{} rejected rows written to bad-rejects.csv",
        lines.len() - 1
    )));
    // No personnummer from the export appears in the report, in any written form.
    let export_text = std::fs::read_to_string(dir.path().join("bad.csv")).unwrap();
    for row in export_text.lines().skip(1) {
        let pnr = row.split(',').next().unwrap();
        assert!(
            !report.contains(pnr) && !report.contains(&pnr[2..]),
            "report leaks a personnummer"
        );
    }

    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    let o = node(
        dir.path(),
        &["check", "empty.csv", export.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unreadable file is exit 2 even when others are fine"
    );
    assert!(stderr(&o).starts_with("samla-node: empty.csv: the file is empty"));
}

#[test]
fn preview_json_is_the_complete_submission() {
    let dir = tempfile::tempdir().unwrap();
    let export = setup(dir.path(), "0");
    let o = preview(dir.path(), &export, "2025", &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let submission: Statistics =
        serde_json::from_value(json["submissions"][0]["submission"].clone()).unwrap();
    submission.check().unwrap();
    assert_eq!(submission.kommun.as_str(), "2183");
    let people = submission.linkage_sets[0].pseudonyms.len() as u64;
    assert!(people > 50);
    // Everyone active is in the participants table once per cell they fall in.
    let participants: u64 = submission.tables[0].cells.iter().map(|c| c.count).sum();
    assert!(participants >= people);
    let key_id = stdout(&node(dir.path(), &["key", "id", "master.key"]));
    assert_eq!(submission.key_id.to_string(), key_id.trim());
    let disclosed = &json["submissions"][0]["disclosed"];
    assert_eq!(disclosed["rule"]["k"], 5);
    assert!(disclosed["rule_text"].as_str().unwrap().contains("k = 5"));
    let k3 = preview(
        dir.path(),
        &export,
        "2025",
        &["--format", "json", "--k", "3"],
    );
    let json3: serde_json::Value = serde_json::from_slice(&k3.stdout).unwrap();
    assert_eq!(json3["submissions"][0]["disclosed"]["rule"]["k"], 3);
}

#[test]
fn preview_csv_and_table_show_suppression() {
    let dir = tempfile::tempdir().unwrap();
    let export = setup(dir.path(), "0");
    let csv = preview(dir.path(), &export, "2025", &["--format", "csv"]);
    assert_eq!(csv.status.code(), Some(0));
    let text = stdout(&csv);
    assert!(text.starts_with("section,linkage_domain,table,key1,key2,key3,count,suppressed\n"));
    assert!(text.contains("\nlinkage_set,gavleborg-ung-2023,UNG,"));
    assert!(text.contains(",..,primary\n"));
    let table = preview(dir.path(), &export, "2025", &[]);
    let text = stdout(&table);
    assert!(text.contains("== After disclosure control: what may be shown =="));
    assert!(text.contains("`..` marks a suppressed cell"));
}

#[test]
fn preview_with_rejected_rows_still_shows_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let export = setup(dir.path(), "0.05");
    let o = preview(dir.path(), &export, "2025", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("rejected rows written to rejects.csv"));
}

#[test]
fn unknown_period_and_missing_config_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let o = node(dir.path(), &["check", "x.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("samla-node: reading config samla-node.toml: "));
    assert!(stderr(&o).contains("Give the node config with --config FILE"));
    let export = setup(dir.path(), "0");
    let o = preview(dir.path(), &export, "2025-Q5", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "samla-node: --period: period \"2025-Q5\" is not understood: use 2025, 2025-H1, 2025-Q3, 2025-07 or 2025-03-01..2025-08-31\n"
    );
}

#[test]
fn demo_runs_the_whole_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let o = node(
        dir.path(),
        &[
            "demo",
            "--dir",
            demo.to_str().unwrap(),
            "--participants",
            "150",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("== After disclosure control"));
    for file in ["master.key", "samla-node.toml", "2180-ung.csv"] {
        assert!(demo.join(file).exists(), "{file}");
    }
}

/// `samla-node init ARGS` in `dir`, with a master key, CA and certificate files
/// beside it (their contents are not read by init).
fn init(dir: &Path, node_dir: &str, args: &[&str]) -> Output {
    let mut all = vec![
        "init",
        "--dir",
        node_dir,
        "--kommun",
        "0765",
        "--hub",
        "127.0.0.1:4433",
        "--hub-name",
        "localhost",
        "--region-ca",
        "ca.crt",
        "--certificate",
        "node-0765.crt",
        "--private-key",
        "node-0765.key",
        "--key-file",
        "../master.key",
        "--receipt-key",
        "ebbc77ca98f4baae8344a16fec962ecfa7c57fcca9a5eef1ef95e44ad1a8b9a5",
    ];
    all.extend_from_slice(args);
    node(dir, &all)
}

#[test]
fn init_writes_each_lifetime_and_a_daemon_with_its_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let o = node(dir.path(), &["key", "generate", "--out", "master.key"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = init(
        dir.path(),
        "a",
        &[
            "--project",
            "FASETTEN:kronoberg-fasetten-2021:2021-01-04..2023-02-28",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let config =
        samla_node::config::NodeConfig::load(&dir.path().join("a/samla-node.toml")).unwrap();
    assert_eq!(
        config.projects[0].lifetime.unwrap().to_string(),
        "2021-01-04..2023-02-28"
    );
    let daemon = config.daemon.expect("a [daemon] section");
    assert_eq!(daemon.inbox, Some(dir.path().join("a/inbox")));
    assert!(dir.path().join("a/inbox").is_dir(), "the inbox is made");
    assert_eq!(
        daemon.periods,
        [
            samla_node::config::PeriodChoice::Closed(samla_common::period::PeriodKind::Quarter),
            samla_node::config::PeriodChoice::Lifetime
        ]
    );
    // The registration is printed and written beside the config, the same.
    let registration = std::fs::read_to_string(dir.path().join("a/register-0765.toml")).unwrap();
    assert!(registration.starts_with("[[node]]\nkommun = \"0765\"\nsigning_keys = [\""));
    assert!(stdout(&o).ends_with(&registration), "{}", stdout(&o));

    // Nothing init wrote is overwritten, and nothing is written when one is there.
    let again = [
        "--project",
        "FASETTEN:kronoberg-fasetten-2021:2021-01-04..2023-02-28",
    ];
    let o = init(dir.path(), "a", &again);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "samla-node: refusing to overwrite existing config a/samla-node.toml\n"
    );
    std::fs::rename(
        dir.path().join("a/samla-node.toml"),
        dir.path().join("a/kept.toml"),
    )
    .unwrap();
    let o = init(dir.path(), "a", &again);
    assert_eq!(
        stderr(&o),
        "samla-node: refusing to overwrite existing signing key a/node-signing.key\n"
    );
    assert!(!dir.path().join("a/samla-node.toml").exists());
    std::fs::rename(
        dir.path().join("a/kept.toml"),
        dir.path().join("a/samla-node.toml"),
    )
    .unwrap();

    // With one project `--period lifetime` needs no --project.
    let o = node(
        dir.path(),
        &[
            "--config",
            "a/samla-node.toml",
            "synth",
            "--out",
            "a/export.csv",
            "--project",
            "FASETTEN",
            "--period",
            "2021-01-04..2023-02-28",
            "--participants",
            "40",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let preview = ["--config", "a/samla-node.toml", "preview", "a/export.csv"];
    let o = node(
        dir.path(),
        &[&preview[..], &["--period", "lifetime"]].concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("2021-01-04..2023-02-28"),
        "{}",
        stdout(&o)
    );

    // --start and --end give one project its lifetime.
    let o = init(
        dir.path(),
        "b",
        &[
            "--project",
            "UNG:gavleborg-ung-2023",
            "--project",
            "FASETTEN:kronoberg-fasetten-2021",
            "--start",
            "2023-09-01",
            "--end",
            "2026-08-31",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "samla-node: --start and --end are for one project; give each project its lifetime as --project CODE:DOMAIN:START..END\n"
    );
    assert!(!dir.path().join("b/samla-node.toml").exists());
    let o = init(
        dir.path(),
        "b",
        &[
            "--project",
            "UNG:gavleborg-ung-2023",
            "--start",
            "2023-09-01",
            "--end",
            "2026-08-31",
            "--project",
            "FASETTEN:kronoberg-fasetten-2021:2021-01-04..2023-02-28",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = init(
        dir.path(),
        "b",
        &[
            "--project",
            "UNG:gavleborg-ung-2023:2023-09-01..2026-08-31",
            "--project",
            "FASETTEN:kronoberg-fasetten-2021:2021-01-04..2023-02-28",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // With two projects `lifetime` names them.
    let o = node(
        dir.path(),
        &[
            "--config",
            "b/samla-node.toml",
            "preview",
            "a/export.csv",
            "--period",
            "lifetime",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "samla-node: --period: `lifetime` is one project's, and b/samla-node.toml has UNG, FASETTEN: add --project CODE\n"
    );
    let o = init(
        dir.path(),
        "c",
        &["--project", "UNG:gavleborg-ung-2023:2026-01-01"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("write CODE:LINKAGE-DOMAIN:START..END"),
        "{}",
        stderr(&o)
    );
}
