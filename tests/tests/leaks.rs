//! The leak check: every byte a node sends (the UDP datagrams on the wire and the
//! plaintext submissions inside them), every log line, database, report and audit
//! output is scanned for every personnummer of the exports, in all its written
//! forms. None may appear.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use samla_tests::{run, text, Faults, Region, Relay};
use std::collections::{BTreeSet, HashSet};

/// Every way a personnummer from an export can be written.
fn written_forms(value: &str) -> Vec<String> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 10 {
        return Vec::new();
    }
    let last10 = &digits[digits.len() - 10..];
    let mut forms = vec![
        value.to_owned(),
        digits.clone(),
        last10.to_owned(),
        format!("{}-{}", &last10[..6], &last10[6..]),
        format!("{}+{}", &last10[..6], &last10[6..]),
    ];
    if digits.len() == 12 {
        forms.push(format!("{}-{}", &digits[..8], &digits[8..]));
    }
    forms
}

/// The first column of every data row of an export.
fn personnummer_of(export: &std::path::Path) -> BTreeSet<String> {
    let bytes = std::fs::read(export).unwrap();
    let text_ = String::from_utf8_lossy(&bytes);
    text_
        .lines()
        .skip(1)
        .filter_map(|l| l.split([',', ';']).next())
        .map(|v| v.trim_matches('"').to_owned())
        .filter(|v| v.chars().filter(char::is_ascii_digit).count() >= 10)
        .collect()
}

/// Whether any of the forms (grouped by length) occurs in `haystack`.
fn contains_any(
    haystack: &[u8],
    forms: &std::collections::HashMap<usize, HashSet<Vec<u8>>>,
) -> bool {
    forms
        .iter()
        .any(|(len, set)| haystack.windows(*len).any(|w| set.contains(w)))
}

#[test]
fn no_personnummer_leaves_a_kommun_or_reaches_a_log_or_report() {
    let mut region = Region::new();
    let gavle = region.add_node("2180", "ca", &[]);
    let hofors = region.add_node("2104", "ca", &[]);
    let mut hub = std::fs::read_to_string(region.root().join("hub/hub.toml")).unwrap();
    hub.push_str("\n[[project]]\ncode = \"UNG\"\nname = \"UNG\"\nstart = \"2023-09-01\"\nend = \"2026-08-31\"\nlinkage_domain = \"gavleborg-ung-2023\"\nkommuner = [\"2180\", \"2104\"]\n");
    std::fs::write(region.root().join("hub/hub.toml"), hub).unwrap();
    region.start_hub();
    let relay = Relay::start(region.address, Faults::default());
    gavle.point_at(relay.address);
    hofors.point_at(relay.address);

    let mut everyone = BTreeSet::new();
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    for (node, messy) in [(&gavle, false), (&hofors, true)] {
        let mut args = vec![
            "synth",
            "--out",
            "export.csv",
            "--kommun",
            &node.kommun,
            "--period",
            "2025",
            "--participants",
            "120",
            "--bad-rows",
            "0.05",
        ];
        if messy {
            args.extend(["--short-personnummer", "--semicolons", "--swedish"]);
        }
        let o = run("samla-node", &node.dir, &args);
        assert!(o.status.success(), "{}", text(&o));
        everyone.extend(personnummer_of(&node.dir.join("export.csv")));
        for command in [
            vec!["check", "export.csv"],
            vec!["preview", "export.csv", "--period", "2025"],
            vec![
                "preview",
                "export.csv",
                "--period",
                "2025",
                "--format",
                "json",
            ],
            vec![
                "submit",
                "export.csv",
                "--period",
                "2025",
                "--accept-rejects",
            ],
            vec!["status"],
            vec!["audit", "show"],
            vec!["audit", "show", "--format", "json"],
            vec!["audit", "verify"],
        ] {
            let o = node.run(&command);
            outputs.push((
                format!("{} {command:?}", node.kommun),
                [o.stdout, o.stderr].concat(),
            ));
        }
        for file in ["rejects.csv", "node.db"] {
            if let Ok(bytes) = std::fs::read(node.dir.join(file)) {
                outputs.push((format!("{} {file}", node.kommun), bytes));
            }
        }
        let db = node.db();
        let mut s = db.prepare("SELECT signed FROM outbox").unwrap();
        for signed in s.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap() {
            outputs.push((format!("{} sent submission", node.kommun), signed.unwrap()));
        }
    }
    assert!(everyone.len() > 200, "{} personnummer", everyone.len());
    for format in ["table", "csv", "json", "html"] {
        let o = run(
            "samla-hub",
            region.root(),
            &[
                "report",
                "--config",
                "hub/hub.toml",
                "--project",
                "UNG",
                "--period",
                "2025",
                "--format",
                format,
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        outputs.push((format!("report {format}"), o.stdout));
    }
    for command in [
        vec!["audit", "show", "--config", "hub/hub.toml"],
        vec!["audit", "verify", "--config", "hub/hub.toml"],
    ] {
        let o = run("samla-hub", region.root(), &command);
        outputs.push((format!("hub {command:?}"), [o.stdout, o.stderr].concat()));
    }
    region.stop_hub();
    outputs.push(("hub log".to_owned(), region.hub_log().into_bytes()));
    outputs.push((
        "hub.db".to_owned(),
        std::fs::read(region.root().join("hub/hub.db")).unwrap(),
    ));
    let wire = relay.seen.lock().unwrap().concat();
    assert!(
        wire.len() > 10_000,
        "the relay saw the traffic ({} bytes)",
        wire.len()
    );
    outputs.push(("UDP datagrams".to_owned(), wire));

    let mut forms: std::collections::HashMap<usize, HashSet<Vec<u8>>> = Default::default();
    for pnr in &everyone {
        for form in written_forms(pnr) {
            forms
                .entry(form.len())
                .or_default()
                .insert(form.into_bytes());
        }
    }
    for (what, bytes) in &outputs {
        assert!(
            !contains_any(bytes, &forms),
            "a personnummer form appears in {what}"
        );
    }
    // The check itself finds one when there is one.
    let planted = format!("x{}y", everyone.iter().next().unwrap());
    assert!(contains_any(planted.as_bytes(), &forms));
}
