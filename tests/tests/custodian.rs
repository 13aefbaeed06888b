//! Custodian mode end to end with real processes: a hub, kommun nodes and three
//! `samla-custodian` processes (t = 2) on loopback. The same exports give exactly
//! the same report as in shared-key mode, with other pseudonyms; one custodian down
//! changes nothing; two down and the daemon waits, losing nothing, until one is back;
//! a kommun over its limit is refused and both logs say so; no file of a key or
//! a key share is in any node's or the hub's directory; and a region with one node
//! in each mode gets a report that links nothing across them and says so.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::Path;
use std::time::Duration;

use samla_tests::{run, text, wait_for, Custodians, Node, Region};

/// A person enrolled in UNG in both Gävle and Sandviken.
const SHARED: &str = "200203152384";
const DOMAIN: &str = "gavleborg-ung-2023";
const PROJECT: &str = "
[[project]]
code = \"UNG\"
name = \"UNG – Ung Nu Gävleborg\"
start = \"2023-09-01\"
end = \"2026-08-31\"
linkage_domain = \"gavleborg-ung-2023\"
kommuner = [\"2180\", \"2181\"]
";

fn logged(node: &Node, kind: &str) -> Vec<String> {
    let db = node.db();
    // Before the daemon's first start the database has no tables yet.
    let Ok(mut s) = db.prepare("SELECT detail FROM transfer_log WHERE kind = ?1 ORDER BY entry")
    else {
        return Vec::new();
    };
    s.query_map([kind], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn region_with_nodes() -> (Region, Vec<Node>) {
    let mut region = Region::new();
    let nodes = region.add_nodes(&["2180", "2181"]);
    region.append_to_hub_config(PROJECT);
    region.start_hub();
    (region, nodes)
}

/// The node's export: synthetic people and, in both kommuner, person SHARED.
fn export(node: &Node, size: usize, seed: u64) -> String {
    let name = node.export("export.csv", size, seed);
    let mut csv = std::fs::read_to_string(node.dir.join(&name)).unwrap();
    csv.push_str(&format!(
        "{SHARED},UNG,2025-02-01,,,K,no,no,no,no,no,no,no,unemployed,isced_3_4\n"
    ));
    std::fs::write(node.dir.join(&name), csv).unwrap();
    name
}

/// The linkage set the node would send, from `preview --format json`.
fn linkage_set(node: &Node, export: &str) -> Vec<String> {
    let o = node.run(&["preview", export, "--period", "2025", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let submission = &json["submissions"][0]["submission"];
    serde_json::from_value(submission["linkage_sets"][0]["pseudonyms"].clone()).unwrap()
}

fn submit(node: &Node, export: &str) {
    let o = node.run(&["submit", export, "--period", "2025"]);
    assert!(o.status.success(), "{}", text(&o));
}

/// The 2025 UNG report as CSV, without the line of when it was made.
fn report(region: &Region) -> String {
    // The time the report was made (to the second) is the one line two runs may differ in.
    let csv = report_as(region, "csv", "sv");
    assert!(csv.lines().any(|line| line.starts_with("skapad;")), "{csv}");
    csv.lines()
        .filter(|line| !line.starts_with("skapad;"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The 2025 UNG report in `format` and `lang`.
fn report_as(region: &Region, format: &str, lang: &str) -> String {
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
            "--lang",
            lang,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// A Swedish CSV report without its rows naming the pseudonym scheme.
fn without_scheme_rows(csv: &str) -> String {
    csv.lines()
        .filter(|l| !l.starts_with("pseudonymer;"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A region whose nodes are in custodian mode (the shared master key the region
/// helper writes is removed), with the domain set up.
fn custodian_region(evaluations: u64) -> (Region, Vec<Node>, Custodians) {
    let (region, nodes) = region_with_nodes();
    std::fs::remove_file(region.root().join("master.key")).unwrap();
    let custodians = Custodians::new(&region, 2, 3, evaluations);
    custodians.setup_domain(DOMAIN, 0);
    for node in &nodes {
        custodians.switch(node);
    }
    (region, nodes, custodians)
}

#[test]
fn custodian_mode_counts_and_links_exactly_as_shared_key_mode_with_other_pseudonyms() {
    let (shared, shared_nodes) = region_with_nodes();
    let (custodial, custodial_nodes, mut custodians) = custodian_region(10_000);
    let mut shared_sets = Vec::new();
    for (i, (a, b)) in shared_nodes.iter().zip(&custodial_nodes).enumerate() {
        let name = export(a, [90, 40][i], i as u64 + 1);
        std::fs::copy(a.dir.join(&name), b.dir.join(&name)).unwrap();
        shared_sets.push(linkage_set(a, &name));
        submit(a, &name);
    }
    // One custodian down: the other two still make every pseudonym.
    custodians.stop(3);
    for (i, node) in custodial_nodes.iter().enumerate() {
        let set = linkage_set(node, "export.csv");
        assert_eq!(set.len(), shared_sets[i].len(), "same distinct people");
        assert!(
            set.iter().all(|p| !shared_sets[i].contains(p)),
            "custodian pseudonyms are not the shared key's"
        );
        submit(node, "export.csv");
        let batches = logged(node, "custodian batch");
        assert!(
            batches
                .iter()
                .any(|b| b.contains(DOMAIN) && b.contains("1 localhost, 2 localhost")),
            "the node logs each batch with its custodians: {batches:?}"
        );
    }
    // The person in both kommuner is linked in both modes: the reports agree cell
    // for cell, overlaps included; only the scheme they name differs.
    let (shared_csv, custodial_csv) = (report(&shared), report(&custodial));
    assert_eq!(
        without_scheme_rows(&shared_csv),
        without_scheme_rows(&custodial_csv)
    );
    assert!(
        shared_csv.contains("pseudonymer;blake3-shared-key-v1;\"=\"\"2180\"\"\";Gävle;"),
        "{shared_csv}"
    );
    // Both kommuner name the custodian scheme with the key id the ceremony printed.
    let rows: Vec<&str> = custodial_csv
        .lines()
        .filter(|l| l.starts_with("pseudonymer;poprf-ristretto255-sha512-v1;"))
        .collect();
    assert_eq!(rows.len(), 2, "{custodial_csv}");
    assert!(
        rows.iter()
            .all(|l| l.contains(&format!("nyckel_id;{}", custodians.key_id))
                || l.contains(&format!("nyckel_id;\"=\"\"{}\"\"\"", custodians.key_id))),
        "{custodial_csv}"
    );
    // Each evaluating custodian logged the node's batches with kommun and count.
    let rows = custodians.audit_rows(1);
    assert!(
        rows.lines()
            .any(|l| l.contains(",evaluated,2180,") && l.contains(DOMAIN)),
        "{rows}"
    );
    for i in [1, 2] {
        let o = run(
            "samla-custodian",
            &custodians.dir(i),
            &["audit", "verify", "--config", "custodian.toml"],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
}

#[test]
fn with_two_custodians_down_the_daemon_waits_and_delivers_when_one_is_back() {
    let (_region, nodes, mut custodians) = custodian_region(10_000);
    let node = &nodes[0];
    node.enable_daemon();
    custodians.stop(2);
    custodians.stop(3);
    let mut daemon = node.start_daemon();
    node.drop_export("ung-2025.csv", 30, 7, "2025");
    wait_for(Duration::from_secs(30), "the node to log the wait", || {
        !logged(node, "custodian unavailable").is_empty()
    });
    assert!(
        node.outbox_states().is_empty(),
        "nothing is built without pseudonyms"
    );
    assert!(
        node.dir.join("inbox/ung-2025.csv").exists(),
        "the export waits in the inbox"
    );
    custodians.start(3);
    wait_for(
        Duration::from_secs(60),
        "the hub to acknowledge the submission",
        || {
            node.outbox_states()
                .iter()
                .any(|(_, state)| state == "acknowledged")
        },
    );
    assert!(node.dir.join("inbox/processed/ung-2025.csv").exists());
    assert!(!logged(node, "custodian batch").is_empty());
    let _ = daemon.kill();
    let _ = daemon.wait();
}

#[test]
fn a_kommun_over_its_limit_is_refused_and_both_logs_say_so() {
    let (_region, nodes, custodians) = custodian_region(20);
    let node = &nodes[0];
    node.enable_daemon();
    let mut daemon = node.start_daemon();
    node.drop_export("ung-2025.csv", 40, 3, "2025");
    wait_for(
        Duration::from_secs(30),
        "the node to log the refusal",
        || {
            logged(node, "custodian unavailable")
                .iter()
                .any(|d| d.contains("rate limit"))
        },
    );
    assert!(node.outbox_states().is_empty());
    let _ = daemon.kill();
    let _ = daemon.wait();
    let rows = custodians.audit_rows(1);
    assert!(
        rows.lines()
            .any(|l| l.contains(",refused,2180,") && l.ends_with("rate_limited")),
        "{rows}"
    );
    assert!(!rows.contains(",evaluated,2180,"), "{rows}");
}

/// Every file under `dir`.
fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn in_custodian_mode_no_node_or_hub_directory_holds_a_key_or_a_share() {
    let (region, nodes, custodians) = custodian_region(10_000);
    for node in &nodes {
        let name = export(node, 20, 5);
        submit(node, &name);
    }
    let shares: Vec<Vec<u8>> = (1..=3)
        .map(|i| std::fs::read(custodians.dir(i).join("share.key")).unwrap())
        .collect();
    let mut found = Vec::new();
    for dir in nodes
        .iter()
        .map(|n| n.dir.clone())
        .chain([region.root().join("hub")])
    {
        files(&dir, &mut found);
    }
    assert!(found.len() > 5, "the scan saw the directories: {found:?}");
    for path in &found {
        let bytes = std::fs::read(path).unwrap();
        // The hub's receipt key is public and has a key file's shape.
        let public = String::from_utf8_lossy(&bytes).trim() == region.receipt_key;
        assert!(
            public || samla_common::pseudonym::MasterSecret::from_key_file(&bytes).is_err(),
            "{} is a master key file",
            path.display()
        );
        for share in &shares {
            assert!(
                !bytes.windows(share.len()).any(|w| w == share.as_slice()),
                "{} holds a custodian's key share",
                path.display()
            );
        }
        assert!(
            samla_common::oprf::ceremony::CustodianSecret::from_bytes(&bytes).is_err(),
            "{} is a key share",
            path.display()
        );
    }
    assert!(!region.root().join("master.key").exists());
}

#[test]
fn a_region_with_a_node_in_each_mode_links_nothing_across_them_and_says_so() {
    let (region, nodes) = region_with_nodes();
    let custodians = Custodians::new(&region, 2, 3, 10_000);
    custodians.setup_domain(DOMAIN, 0);
    // Gävle in custodian mode, Sandviken keeps the shared key.
    custodians.switch(&nodes[0]);
    for (i, node) in nodes.iter().enumerate() {
        let name = export(node, 20, i as u64 + 1);
        submit(node, &name);
    }
    let csv = report(&region);
    assert!(
        csv.contains("pseudonymer;poprf-ristretto255-sha512-v1;\"=\"\"2180\"\"\";Gävle;"),
        "{csv}"
    );
    assert!(
        csv.contains("pseudonymer;blake3-shared-key-v1;\"=\"\"2181\"\"\";Sandviken;"),
        "{csv}"
    );
    // Not merged: no distinct people or overlaps, a row saying why instead.
    assert!(csv.contains("unika_personer;not_given;"), "{csv}");
    assert!(!csv.contains("distinct_people;"), "{csv}");
    assert!(!csv.contains("kommun_overlap"), "{csv}");
    let table = report_as(&region, "table", "sv");
    assert!(table.contains("redovisas inte"), "{table}");
    assert!(table.contains("olika metoder eller nycklar"), "{table}");
    let english = report_as(&region, "table", "en");
    assert!(english.contains("are not given"), "{english}");
    assert!(english.contains("key custodians"), "{english}");
    let json: serde_json::Value = serde_json::from_str(&report_as(&region, "json", "sv")).unwrap();
    assert_eq!(json["distinct"]["reason"], "pseudonym_schemes_differ");
    let schemes: Vec<(String, String)> = json["pseudonym_schemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["scheme"].as_str().unwrap().to_owned(),
                g["kommuner"][0].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        schemes,
        [
            ("blake3-shared-key-v1".to_owned(), "2181".to_owned()),
            ("poprf-ristretto255-sha512-v1".to_owned(), "2180".to_owned())
        ]
    );
    assert!(json["cumulative_enrolment"].as_array().unwrap().is_empty());
    // The tables still stand: the region's participants are the two kommuner's sum.
    let participants = json["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "participants")
        .unwrap();
    let total = |unit: &str| {
        participants["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == serde_json::json!([unit, "total", "total"]))
            .and_then(|c| c["count"].as_u64())
            .unwrap()
    };
    assert!(total("2180") > 0 && total("2181") > 0);
    assert_eq!(total("total"), total("2180") + total("2181"));
}
