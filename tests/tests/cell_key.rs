//! The cell key method from a real hub's store: with `[disclosure] method =
//! "cell-key"` every cell of the report is published, within `max_noise` of the exact
//! figure from the kommuner's own previews, zeros kept, none in `1..=js`; the same cell
//! has the same value in the full report, in a report made before a kommun submitted,
//! in a `--kommun` report and in a second run; every format says which method was used.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::BTreeMap;

use samla_common::cell_key::{Ptable, PtableParams};
use samla_common::disclosure::cell_key::perturb_kommun;
use samla_common::statistics::Statistics;
use samla_tests::statistics::exact_cells;
use samla_tests::{run, text, Region};

const PARAMS: PtableParams = PtableParams {
    max_noise: 3,
    variance: 1.5,
    js: 1,
};

const DISCLOSURE: &str = "method = \"cell-key\"\nmax_noise = 3\nvariance = 1.5\njs = 1\n";

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
share_women = 0.4
";

/// The hub config with `[disclosure]` holding `settings` instead of `k = 5`.
fn set_disclosure(region: &Region, settings: &str, extra: &str) {
    let config = region.root().join("hub/hub.toml");
    let hub = std::fs::read_to_string(&config).unwrap();
    let at = hub.find("[disclosure]\n").unwrap() + "[disclosure]\n".len();
    let end = at + hub[at..].find('\n').unwrap() + 1;
    assert!(hub[at..end].starts_with("k = "), "{}", &hub[at..end]);
    let edited = format!("{}{settings}{}{extra}", &hub[..at], &hub[end..]);
    std::fs::write(&config, edited).unwrap();
}

type Cells = BTreeMap<(String, Vec<String>), u64>;

/// Every cell of a JSON report; each must have a count (nothing suppressed).
fn json_cells(json: &serde_json::Value) -> Cells {
    let mut out = BTreeMap::new();
    for table in json["tables"].as_array().unwrap() {
        let name = table["name"].as_str().unwrap().to_owned();
        for cell in table["cells"].as_array().unwrap() {
            let key: Vec<String> = serde_json::from_value(cell["key"].clone()).unwrap();
            let n = cell["count"]
                .as_u64()
                .unwrap_or_else(|| panic!("{name} {key:?} has no count: {cell}"));
            out.insert((name.clone(), key), n);
        }
    }
    out
}

fn kommun_cells(cells: &Cells, kommun: &str) -> Cells {
    cells
        .iter()
        .filter(|((_, key), _)| key[0] == kommun)
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[test]
fn every_cell_is_published_near_the_truth_and_the_same_cell_keeps_its_value() {
    let mut region = Region::new();
    let nodes = region.add_nodes(&["2180", "2181", "2104"]);
    set_disclosure(&region, DISCLOSURE, PROJECT);
    region.start_hub();
    let mut exact = Vec::new();
    let mut previews = Vec::new();
    let mut before_hofors = None;
    for (i, (node, size)) in nodes.iter().zip([120, 60, 7]).enumerate() {
        let config = node.dir.join("samla-node.toml");
        let mut text_of_config = std::fs::read_to_string(&config).unwrap();
        text_of_config.push_str(&format!("\n[disclosure]\n{DISCLOSURE}"));
        std::fs::write(&config, text_of_config).unwrap();
        let export = node.export("export.csv", size, i as u64 + 1);
        let preview = node.run(&["preview", &export, "--period", "2025", "--format", "json"]);
        assert!(preview.status.success(), "{}", text(&preview));
        let json: serde_json::Value = serde_json::from_slice(&preview.stdout).unwrap();
        let submission: Statistics =
            serde_json::from_value(json["submissions"][0]["submission"].clone()).unwrap();
        assert_eq!(submission.schema_version, 2);
        exact.push(submission);
        previews.push(json["submissions"][0]["disclosed"].clone());
        let shown = node.run(&["preview", &export, "--period", "2025"]);
        assert!(text(&shown).contains("Cell key method"), "{}", text(&shown));
        let submit = node.run(&["submit", &export, "--period", "2025"]);
        assert!(submit.status.success(), "{}", text(&submit));
        if i == 1 {
            // A report of a subset of the kommuner: Hofors has not submitted yet.
            let json: serde_json::Value =
                serde_json::from_str(&region.report_ung(&["--period", "2025", "--format", "json"]))
                    .unwrap();
            before_hofors = Some(json_cells(&json));
        }
    }
    let full_text = region.report_ung(&["--period", "2025", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&full_text).unwrap();
    let control = &json["disclosure_control"];
    assert_eq!(control["method"], "cell-key");
    assert_eq!(control["max_noise"], 3);
    assert_eq!(control["js"], 1);
    let table = Ptable::new(PARAMS).unwrap();
    assert_eq!(
        control["ptable_fingerprint"],
        table.fingerprint().to_string()
    );
    let published = json_cells(&json);
    let truth = exact_cells(&exact);

    // Within max_noise of the truth, zeros kept, none in 1..=js, and some moved.
    let mut moved = 0;
    for ((name, key), n) in &published {
        assert!(*n == 0 || *n > 1, "{name} {key:?} = {n} is in 1..=js");
        if key[1..].iter().any(|v| v == "total") {
            continue;
        }
        let t = truth
            .get(&(name.clone(), key.clone()))
            .copied()
            .unwrap_or(0);
        assert!(n.abs_diff(t) <= 3, "{name} {key:?}: {n} for {t}");
        if t == 0 {
            assert_eq!(*n, 0, "{name} {key:?}: a zero stays zero");
        }
        moved += usize::from(*n != t);
    }
    assert!(
        moved > 10,
        "only {moved} cells moved: is anything perturbed?"
    );

    // The same cell, the same value: before Hofors submitted, in a second run, in a
    // --kommun report, and as the kommun computes it from its own preview.
    let before = before_hofors.unwrap();
    for kommun in ["2180", "2181"] {
        assert_eq!(
            kommun_cells(&before, kommun),
            kommun_cells(&published, kommun),
            "kommun {kommun}'s cells changed when Hofors submitted"
        );
    }
    assert_ne!(
        before.get(&(
            "participants".to_owned(),
            vec!["total".into(), "total".into(), "total".into()]
        )),
        None
    );
    let again = region.report_ung(&["--period", "2025", "--format", "json"]);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(json_cells(&again), published, "a second run differs");
    let subset: serde_json::Value = serde_json::from_str(
        &region.report_ung(&["--period", "2025", "--format", "json", "--kommun", "2181"]),
    )
    .unwrap();
    let subset_cells = json_cells(&subset);
    assert_eq!(
        kommun_cells(&subset_cells, "2181"),
        kommun_cells(&published, "2181")
    );
    for (i, s) in exact.iter().enumerate() {
        let own = perturb_kommun(s, &table).unwrap();
        let kommun = s.kommun.as_str();
        for t in &own.get().tables {
            for cell in t.cells.iter().filter(|c| c.key[0] == "UNG") {
                let mut key = cell.key.clone();
                key[0] = kommun.to_owned();
                let in_report = published[&(t.name.code().to_owned(), key.clone())];
                assert_eq!(
                    Some(in_report),
                    cell.count,
                    "kommun {i}: {:?} {key:?}",
                    t.name
                );
            }
        }
        let distinct = json["distinct"]["per_kommun"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == kommun)
            .unwrap();
        assert_eq!(
            distinct["count"].as_u64(),
            own.get().distinct_people[0].count
        );
    }

    // Every format says which method was used and that parts need not add up.
    let csv_text = region.report_ung(&["--period", "2025", "--format", "csv", "--lang", "en"]);
    assert!(
        csv_text.contains("disclosure_control,cell-key"),
        "{csv_text}"
    );
    assert!(csv_text.contains("Parts need not add up to totals"));
    let sv = region.report_ung(&["--period", "2025"]);
    assert!(sv.contains("cellnyckelmetoden"), "{sv}");
    assert!(sv.contains("Delar behöver inte summera till totaler"));
    let dotted: Vec<&str> = sv
        .split_whitespace()
        .filter(|w| w.trim_matches(|c: char| c == '|' || c == '│') == "..")
        .collect();
    assert!(dotted.is_empty(), "nothing is suppressed: {dotted:#?}");
    let html = region.report_ung(&["--period", "2025", "--format", "html"]);
    assert!(html.contains("cellnyckelmetoden"));
    let px = region.report_ung(&[
        "--period",
        "2025",
        "--format",
        "px",
        "--table",
        "participants",
    ]);
    assert!(
        px.contains("NOTEX=\"Röjandekontroll: cellnyckelmetoden"),
        "{px}"
    );
    assert!(!px[px.find("DATA=").unwrap()..].contains(".."));
}

#[test]
fn the_hub_config_refuses_cell_key_settings_that_do_not_fit() {
    for (settings, expected) in [
        (
            "method = \"cell-key\"\nmax_noise = 2\nvariance = 1.0\n",
            "0.931",
        ),
        ("method = \"noise\"\n", "not a method"),
        ("max_noise = 3\n", "belong to method = \"cell-key\""),
        (
            "method = \"cell-key\"\nk = 5\n",
            "k belongs to method = \"suppression\"",
        ),
    ] {
        let region = Region::new();
        set_disclosure(&region, settings, PROJECT);
        let o = run(
            "samla-hub",
            region.root(),
            &["report", "--config", "hub/hub.toml", "--project", "UNG"],
        );
        assert!(!o.status.success());
        assert!(text(&o).contains(expected), "{settings}: {}", text(&o));
    }
}
