//! Someone with write access to `hub.db` (DESIGN.md §10): every stored thing changed
//! in a real hub's SQLite file — a byte of a submission's signed bytes, a deleted
//! submission row, a receipt, a linkage set, a cell, an interior tree hash, a
//! checkpoint — is found by `samla-hub audit verify`, named (log index, tree size,
//! kommun and submission), and kept out of reports; and a damaged tree makes the hub
//! refuse for now, never tell a node its history was rewritten.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::process::Output;

use samla_common::translog::stored_hash_index;
use samla_tests::{run, sql, text, Node, Region};

const PROJECT: &str = "
[[project]]
code = \"UNG\"
name = \"UNG – Ung Nu Gävleborg\"
start = \"2023-09-01\"
end = \"2026-08-31\"
linkage_domain = \"gavleborg-ung-2023\"
kommuner = [\"2180\", \"2181\", \"2104\"]
[project.targets]
participants = 300
";

/// Log: the registrations of 2180, 2181, 2104 (entries 0-2), then one 2025
/// submission of each in that order (entries 3, 4, 5). The hub is stopped.
struct Setup {
    region: Region,
    nodes: Vec<Node>,
}

fn setup() -> Setup {
    let mut region = Region::new();
    let nodes = region.add_nodes(&["2180", "2181", "2104"]);
    region.append_to_hub_config(PROJECT);
    region.start_hub();
    for (i, node) in nodes.iter().enumerate() {
        let export = node.export("export.csv", 60 + 20 * i, i as u64 + 1);
        let o = node.run(&["submit", &export, "--period", "2025"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    region.stop_hub();
    Setup { region, nodes }
}

/// The hub's database as a tamperer opens it: foreign keys not enforced.
fn open_db(region: &Region) -> rusqlite::Connection {
    let db = region.hub_db();
    db.execute_batch("PRAGMA foreign_keys = OFF;").unwrap();
    db
}

/// Flips the bits `mask` of one byte (at `at` of its length) of the column `column`
/// of the submission at log index `index`, as a tamperer would; returns the changed
/// bytes.
fn flip_stored_byte(
    db: &rusqlite::Connection,
    column: &str,
    index: i64,
    at: fn(usize) -> usize,
    mask: u8,
) -> Vec<u8> {
    let select = format!("SELECT {column} FROM submissions WHERE log_index = ?1");
    let mut bytes: Vec<u8> = sql::one(db, &select, [index]);
    let at = at(bytes.len());
    bytes[at] ^= mask;
    db.execute(
        &format!("UPDATE submissions SET {column} = ?1 WHERE log_index = ?2"),
        rusqlite::params![bytes, index],
    )
    .unwrap();
    bytes
}

/// The id (hex) of the submission at a log index.
fn id_at(region: &Region, index: i64) -> String {
    let id: Vec<u8> = sql::one(
        &region.hub_db(),
        "SELECT id FROM submissions WHERE log_index = ?1",
        [index],
    );
    hex(&id)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hub(region: &Region, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--config", "hub/hub.toml"]);
    if args.first() == Some(&"audit") {
        // The audit's lines are read in English (Swedish is the default).
        all.extend(["--lang", "en"]);
    }
    run("samla-hub", region.root(), &all)
}

/// `audit verify` must fail (exit 1) and print every expected piece, each on a
/// FAIL line.
fn verify_finds(region: &Region, expected: &[&str]) -> String {
    let o = hub(region, &["audit", "verify"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    for piece in expected {
        assert!(
            out.lines()
                .any(|l| l.starts_with("FAIL") && l.contains(piece)),
            "expected a FAIL line with {piece:?}:\n{}",
            text(&o)
        );
    }
    out
}

/// The report as JSON (which must succeed).
fn report_json(region: &Region, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "report",
        "--project",
        "UNG",
        "--period",
        "2025",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = hub(region, &args);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The report must be refused, naming the kommun and the submission; with
/// `--exclude-unverified` it leaves the kommun out and says so in every format.
fn report_keeps_out(region: &Region, kommun: &str, id: &str) {
    let prefix = &id[..16];
    let o = hub(region, &["report", "--project", "UNG", "--period", "2025"]);
    assert!(
        !o.status.success(),
        "a report from a damaged store: {}",
        text(&o)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    // In Swedish by default, as `audit verify` names it; in English on request.
    assert!(
        stderr.contains(&format!("({kommun}), inlämning {prefix}"))
            && stderr.contains("klarar inte kontrollen")
            && stderr.contains("--exclude-unverified"),
        "{stderr}"
    );
    assert!(o.stdout.is_empty(), "no figures are published");
    let o = hub(
        region,
        &[
            "report",
            "--project",
            "UNG",
            "--period",
            "2025",
            "--lang",
            "en",
        ],
    );
    assert!(!o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("kommun {kommun} submission {prefix}")),
        "{stderr}"
    );
    let json = report_json(region, &["--exclude-unverified"]);
    let submitted: Vec<String> =
        serde_json::from_value(json["kommuner_submitted"].clone()).unwrap();
    assert!(!submitted.contains(&kommun.to_owned()), "{submitted:?}");
    assert_eq!(json["unverified_excluded"][0]["kommun"], kommun, "{json}");
    assert!(json["note"].as_str().unwrap().contains(prefix), "{json}");
    for format in ["table", "csv", "html"] {
        let o = hub(
            region,
            &[
                "report",
                "--project",
                "UNG",
                "--period",
                "2025",
                "--format",
                format,
                "--exclude-unverified",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("Utelämnade") && out.contains(prefix),
            "{format} does not say what was left out:\n{out}"
        );
    }
    let dir = region.root().join("px");
    let o = hub(
        region,
        &[
            "report",
            "--project",
            "UNG",
            "--period",
            "2025",
            "--format",
            "px",
            "--out",
            dir.to_str().unwrap(),
            "--exclude-unverified",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let px = std::fs::read(dir.join("ung-participants.px")).unwrap();
    assert!(String::from_utf8_lossy(&px).contains(prefix), "px NOTEX");
}

/// What a tampering with a derived table must leave alone: the published figures.
fn figures(json: &serde_json::Value) -> (serde_json::Value, serde_json::Value) {
    (json["tables"].clone(), json["distinct"].clone())
}

#[test]
fn a_clean_store_verifies_and_reports() {
    let s = setup();
    let o = hub(&s.region, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    let json = report_json(&s.region, &[]);
    assert_eq!(json["kommuner_submitted"].as_array().unwrap().len(), 3);
    assert_eq!(json["unverified_excluded"], serde_json::json!([]));
}

#[test]
fn a_changed_byte_of_signed_bytes_is_found_named_and_kept_out() {
    let s = setup();
    let id = id_at(&s.region, 4);
    let db = open_db(&s.region);
    let bytes = flip_stored_byte(&db, "signed_bytes", 4, |length| length / 2, 0x01);
    verify_finds(
        &s.region,
        &[
            &format!("entry 4: kommun 2181 submission {}", &id[..16]),
            "do not hash to its id",
        ],
    );
    // The same finding in the default output reads in Swedish, named the same way.
    let o = run(
        "samla-hub",
        s.region.root(),
        &["audit", "verify", "--config", "hub/hub.toml"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let swedish = format!(
        "FEL post 4: Sandviken (2181), inlämning {}: de lagrade signerade byten stämmer inte med inlämningens id",
        &id[..16]
    );
    assert!(
        out.lines().any(|l| l.starts_with(&swedish)),
        "expected {swedish:?}:\n{out}"
    );
    assert!(
        !out.contains("FAIL") && !out.contains("do not hash"),
        "English in the Swedish output:\n{out}"
    );
    report_keeps_out(&s.region, "2181", &id);
    // `audit payload` does not show what the kommun did not send.
    let o = hub(&s.region, &["audit", "payload", &id]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));

    // The same change with the id recomputed to match: the node's signature fails.
    let new_id = blake3::hash(&bytes);
    db.execute(
        "UPDATE submissions SET id = ?1 WHERE log_index = 4",
        [new_id.as_bytes().as_slice()],
    )
    .unwrap();
    verify_finds(&s.region, &["kommun 2181", "signature does not verify"]);
    let o = hub(
        &s.region,
        &["report", "--project", "UNG", "--period", "2025"],
    );
    assert!(!o.status.success(), "{}", text(&o));
}

#[test]
fn a_deleted_submission_row_is_found_named_and_kept_out() {
    let s = setup();
    let id = id_at(&s.region, 3);
    let db = open_db(&s.region);
    db.execute("DELETE FROM submissions WHERE log_index = 3", [])
        .unwrap();
    verify_finds(
        &s.region,
        &[
            &format!("entry 3: kommun 2180 submission {}", &id[..16]),
            "records it as accepted but the store holds no such submission",
            "table `cells`",
        ],
    );
    report_keeps_out(&s.region, "2180", &id);
}

#[test]
fn a_changed_receipt_is_found_named_and_kept_out() {
    let s = setup();
    let id = id_at(&s.region, 5);
    let db = open_db(&s.region);
    flip_stored_byte(&db, "receipt", 5, |length| length / 3, 0x40);
    verify_finds(
        &s.region,
        &[
            &format!("entry 5: kommun 2104 submission {}", &id[..16]),
            "receipt",
        ],
    );
    report_keeps_out(&s.region, "2104", &id);
}

#[test]
fn a_changed_linkage_set_or_cell_is_found_and_never_published() {
    let s = setup();
    let before = figures(&report_json(&s.region, &[]));
    let a = id_at(&s.region, 3);
    let b = id_at(&s.region, 4);
    let db = open_db(&s.region);
    let mut set: Vec<u8> = sql::one(
        &db,
        "SELECT pseudonyms FROM linkage_sets WHERE submission_id = ?1",
        [&a_bytes(&a)],
    );
    set[0] ^= 0xff;
    db.execute(
        "UPDATE linkage_sets SET pseudonyms = ?1 WHERE submission_id = ?2",
        rusqlite::params![set, a_bytes(&a)],
    )
    .unwrap();
    db.execute(
        "UPDATE cells SET count = count + 7 WHERE rowid =
           (SELECT MIN(rowid) FROM cells WHERE submission_id = ?1)",
        [&a_bytes(&b)],
    )
    .unwrap();
    verify_finds(
        &s.region,
        &[
            &format!(
                "table `linkage_sets`: its rows for kommun 2180 submission {}",
                &a[..16]
            ),
            &format!(
                "table `cells`: its rows for kommun 2181 submission {}",
                &b[..16]
            ),
        ],
    );
    // Reports decode the tables from the verified signed bytes: the changed rows
    // never reach a figure.
    assert_eq!(figures(&report_json(&s.region, &[])), before);
}

fn a_bytes(hex_id: &str) -> Vec<u8> {
    (0..hex_id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_id[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_changed_interior_tree_hash_is_named_and_the_hub_refuses_for_now() {
    let mut s = setup();
    let db = open_db(&s.region);
    // The hash over entries 0..=3 (level 2): every root from size 4 on uses it.
    let stored = i64::try_from(stored_hash_index(2, 0)).unwrap();
    let changed = db
        .execute(
            "UPDATE log_hashes SET hash = zeroblob(32) WHERE stored_index = ?1",
            [stored],
        )
        .unwrap();
    assert_eq!(changed, 1);
    verify_finds(
        &s.region,
        &["stored tree hash at level 2 over entries 0..=3"],
    );
    // A lower one, inside a complete subtree (no root reads it; proofs do).
    let leaf = i64::try_from(stored_hash_index(0, 1)).unwrap();
    db.execute(
        "UPDATE log_hashes SET hash = zeroblob(32) WHERE stored_index = ?1",
        [leaf],
    )
    .unwrap();
    verify_finds(
        &s.region,
        &[
            "stored tree hash at level 2 over entries 0..=3",
            "stored tree hash at level 0 over entries 1..=1",
        ],
    );
    // Reports read no tree hash: still published.
    report_json(&s.region, &[]);

    // The hub gives no checkpoint or receipt from the damaged tree: the node is told
    // to try later (exit 3), never that history was rewritten (exit 5).
    s.region.start_hub();
    let node = &s.nodes[0];
    let export = node.export("again.csv", 40, 9);
    let o = node.submit(&export, "2025-H1", &["--give-up-after", "2"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("hub store damaged"), "{}", text(&o));
    assert!(!text(&o).contains("rewritten"), "{}", text(&o));
    let log: Vec<String> = sql::column(&node.db(), "SELECT kind FROM transfer_log", []);
    assert!(!log.iter().any(|k| k.contains("history")), "{log:?}");
    assert!(s.region.hub_log().contains("hub store damaged"));
}

#[test]
fn a_changed_checkpoint_is_named_by_its_tree_size() {
    let s = setup();
    let db = open_db(&s.region);
    let note: Vec<u8> = db
        .query_row("SELECT note FROM checkpoints WHERE size = 5", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut text_note = String::from_utf8(note).unwrap();
    // The root line (third) of the note's text, one base64 character changed.
    let lines: Vec<&str> = text_note.split('\n').collect();
    let root = lines[2].to_owned();
    let changed_root = match root.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", &root[1..]),
    };
    text_note = text_note.replacen(&root, &changed_root, 1);
    db.execute(
        "UPDATE checkpoints SET note = ?1 WHERE size = 5",
        [text_note.as_bytes()],
    )
    .unwrap();
    verify_finds(&s.region, &["checkpoint of size 5:"]);
    // Only the signature of another checkpoint changed (one base64 character in the
    // middle of its signature line): the batch of signatures fails, and exactly this
    // checkpoint is named, no other.
    let note: Vec<u8> = db
        .query_row("SELECT note FROM checkpoints WHERE size = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut note = String::from_utf8(note).unwrap();
    let line = note.rfind(' ').unwrap() + 1;
    let at = line + 60;
    let changed = if &note[at..=at] == "A" { "B" } else { "A" };
    note.replace_range(at..=at, changed);
    db.execute(
        "UPDATE checkpoints SET note = ?1 WHERE size = 3",
        [note.as_bytes()],
    )
    .unwrap();
    let out = verify_finds(
        &s.region,
        &["checkpoint of size 3:", "checkpoint of size 5:"],
    );
    let named = out
        .lines()
        .filter(|l| l.starts_with("FAIL") && l.contains("checkpoint of size"))
        .count();
    assert_eq!(named, 2, "only the two changed checkpoints:\n{out}");
    // A checkpoint stored under another size than it is of.
    db.execute("DELETE FROM checkpoints WHERE size = 5", [])
        .unwrap();
    db.execute("UPDATE checkpoints SET size = 5 WHERE size = 4", [])
        .unwrap();
    verify_finds(
        &s.region,
        &["checkpoint of size 5: it is stored for size 5 but is of size 4"],
    );
}

#[test]
fn the_hub_bundle_readme_names_commands_that_run() {
    let s = setup();
    let o = hub(&s.region, &["audit", "export", "bundle"]);
    assert!(o.status.success(), "{}", text(&o));
    let readme = std::fs::read_to_string(s.region.root().join("bundle/README.md")).unwrap();
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let commands: Vec<&str> = flat
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("samla-") && c.contains("verify"))
        .collect();
    assert!(commands.len() >= 2, "{readme}");
    for command in commands {
        let words: Vec<&str> = command
            .split(' ')
            .map(|w| if w == "DIR" { "bundle" } else { w })
            .collect();
        let o = run(words[0], s.region.root(), &words[1..]);
        assert!(
            o.status.success(),
            "`{command}` from the README: {}",
            text(&o)
        );
    }
}
