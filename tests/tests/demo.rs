//! The main job: `samla-hub demo` builds a whole region in a directory, prints the
//! regional report and writes the files it names, and what it leaves behind works
//! with the real commands.

use samla_tests::{run, text};

#[test]
fn the_demo_prints_a_regional_report_and_writes_what_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let o = run("samla-hub", dir.path(), &["demo", "--dir", "region"]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8(o.stdout).unwrap();
    for expected in [
        "UNG – Ung Nu Gävleborg (UNG), period 2025-01-01..2025-12-31",
        "Kommuner som lämnat in: 9 / 9",
        "Deltagare (unika personer)",
        "Regionen · Totalt",
        "18 signed submissions sent over QUIC",
        "all 9 node logs chain and match the hub's",
        "report/ung-2025.html",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let region = dir.path().join("region");
    for file in [
        "report/ung-2025.html",
        "report/ung-2025.csv",
        "report/ung-2025.json",
        "report/ung-2025.txt",
        "report/px/ung-2025-participants.px",
        "report/px/ung-2025-monthly_active.px",
        "audit/hub/hub-bundle.json",
        "hub/hub.db",
        "nodes/2180-gavle/node.db",
        "nodes/2101-ockelbo/samla-node.toml",
    ] {
        assert!(region.join(file).is_file(), "{file} was not written");
    }
    let px = std::fs::read_dir(region.join("report/px")).unwrap().count();
    assert_eq!(px, 9, "one PX file per table");
    let html = std::fs::read_to_string(region.join("report/ung-2025.html")).unwrap();
    assert!(html.matches("<svg").count() >= 4);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(region.join("report/ung-2025.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["kommuner_submitted"].as_array().unwrap().len(), 9);

    // What it leaves behind works with the real commands.
    let o = run(
        "samla-hub",
        &region,
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
    let o = run(
        "samla-hub",
        &region,
        &[
            "report",
            "--config",
            "hub/hub.toml",
            "--project",
            "UNG",
            "--period",
            "lifetime",
            "--lang",
            "en",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Participants (distinct people)"));
    let o = run(
        "samla-node",
        &region.join("nodes/2180-gavle"),
        &[
            "--config",
            "samla-node.toml",
            "audit",
            "--lang",
            "en",
            "verify",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));

    // A second run refuses to overwrite the region.
    let o = run("samla-hub", dir.path(), &["demo", "--dir", "region"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not empty"), "{}", text(&o));
}
