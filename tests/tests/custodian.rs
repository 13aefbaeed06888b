//! Custodian mode end to end with real processes: a hub, kommun nodes and three
//! `samla-custodian` processes (t = 2) on loopback. The same exports give exactly
//! the same report as in shared-key mode, with other pseudonyms; one custodian down
//! changes nothing; two down and the daemon waits, losing nothing, until one is back;
//! a kommun over its limit is refused and both logs say so; and no file of a key or
//! a key share is in any node's or the hub's directory.

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
            "csv",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The time the report was made (to the second) is the one line two runs may differ in.
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(csv.lines().any(|line| line.starts_with("skapad;")), "{csv}");
    csv.lines()
        .filter(|line| !line.starts_with("skapad;"))
        .map(|line| format!("{line}\n"))
        .collect()
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
    // for cell, overlaps included.
    assert_eq!(report(&shared), report(&custodial));
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
