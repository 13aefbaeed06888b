//! Regional reports from a real hub's store (DESIGN.md §9): every format shows the
//! same figures, each figure equals the exact one from the kommuner's own previews
//! or is suppressed, and nothing below k is ever published.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::{BTreeMap, BTreeSet};

use samla_common::statistics::Statistics;
use samla_tests::statistics::exact_cells;
use samla_tests::{run, text, Region};

const K: u64 = 5;

/// A person enrolled in UNG in both Gävle and Sandviken.
const SHARED: &str = "200203152384";

const PROJECT: &str = "
[[project]]
code = \"UNG\"
name = \"UNG – Ung Nu Gävleborg\"
start = \"2023-09-01\"
end = \"2026-08-31\"
linkage_domain = \"gavleborg-ung-2023\"
kommuner = [\"2180\", \"2181\", \"2104\", \"2183\"]
[project.targets]
participants = 300
share_women = 0.4
share_work_or_studies = 0.35
";

struct Setup {
    region: Region,
    /// Each kommun's exact statistics, as its preview showed them.
    exact: Vec<Statistics>,
    /// Each kommun's linkage set, as its preview showed it (hex pseudonyms).
    sets: Vec<BTreeSet<String>>,
}

fn setup() -> Setup {
    let mut region = Region::new();
    let nodes = region.add_nodes(&["2180", "2181", "2104"]);
    region.append_to_hub_config(PROJECT);
    region.start_hub();
    let mut exact = Vec::new();
    let mut sets = Vec::new();
    for (i, (node, size)) in nodes.iter().zip([120, 60, 7]).enumerate() {
        let export = node.export("export.csv", size, i as u64 + 1);
        if i < 2 {
            let mut csv = std::fs::read_to_string(node.dir.join(&export)).unwrap();
            csv.push_str(&format!(
                "{SHARED},UNG,2025-02-01,,,K,no,no,no,no,no,no,no,unemployed,isced_3_4\n"
            ));
            std::fs::write(node.dir.join(&export), csv).unwrap();
        }
        let preview = node.run(&["preview", &export, "--period", "2025", "--format", "json"]);
        assert!(preview.status.success(), "{}", text(&preview));
        let json: serde_json::Value = serde_json::from_slice(&preview.stdout).unwrap();
        let submission = &json["submissions"][0]["submission"];
        exact.push(serde_json::from_value(submission.clone()).unwrap());
        sets.push(
            serde_json::from_value(submission["linkage_sets"][0]["pseudonyms"].clone()).unwrap(),
        );
        let submit = node.run(&["submit", &export, "--period", "2025"]);
        assert!(submit.status.success(), "{}", text(&submit));
    }
    Setup {
        region,
        exact,
        sets,
    }
}

#[test]
fn every_format_shows_the_same_exact_or_suppressed_figures_and_nothing_below_k() {
    let Setup {
        region,
        exact,
        sets,
    } = setup();
    let json: serde_json::Value =
        serde_json::from_str(&region.report_ung(&["--period", "2025", "--format", "json"]))
            .unwrap();
    assert_eq!(json["disclosure_control"]["k"], K);
    assert_eq!(json["kommuner_missing"], serde_json::json!(["2183"]));

    // JSON: each cell is the exact figure (zeros included) or suppressed.
    let truth = exact_cells(&exact);
    let mut published: BTreeMap<(String, Vec<String>), Option<u64>> = BTreeMap::new();
    for table in json["tables"].as_array().unwrap() {
        let name = table["name"].as_str().unwrap().to_owned();
        for cell in table["cells"].as_array().unwrap() {
            let key: Vec<String> = serde_json::from_value(cell["key"].clone()).unwrap();
            let count = cell["count"].as_u64();
            if let Some(n) = count {
                assert!(n == 0 || n >= K, "{name} {key:?} = {n} is below k");
                let whole_key = key.iter().all(|v| v != "total") || key[0] == "total";
                if whole_key && !key[1..].iter().any(|v| v == "total") {
                    assert_eq!(
                        truth
                            .get(&(name.clone(), key.clone()))
                            .copied()
                            .unwrap_or(0),
                        n,
                        "{name} {key:?}"
                    );
                }
            } else {
                assert_eq!(cell["suppressed"], true);
            }
            published.insert((name.clone(), key), count);
        }
    }
    let suppressed = published.values().filter(|c| c.is_none()).count();
    assert!(
        suppressed > 0,
        "Hofors' 7 people must force some suppression"
    );

    // Distinct people: the union of the kommuner's linkage sets, person SHARED once.
    let union: BTreeSet<&String> = sets.iter().flatten().collect();
    let several = union
        .iter()
        .filter(|p| sets.iter().filter(|s| s.contains(**p)).count() > 1)
        .count();
    assert!(several >= 1, "the shared person");
    let distinct = &json["distinct"];
    assert_eq!(distinct["distinct_people"]["count"], union.len() as u64);
    match distinct["in_several_kommuner"]["count"].as_u64() {
        Some(n) => assert_eq!(n as usize, several),
        None => assert!(several < K as usize, "suppressed only when small"),
    }

    // CSV: the same cells with the same figures, `..` where suppressed.
    let csv_text = region.report_ung(&["--period", "2025", "--format", "csv", "--lang", "en"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let mut from_csv: BTreeMap<(String, Vec<String>), Option<u64>> = BTreeMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        if &r[0] == "disclosure_control" {
            assert_eq!(&r[10], "5");
        }
        if &r[0] != "table" {
            continue;
        }
        let unit = if r[2].is_empty() { "total" } else { &r[2] };
        let table = r[1].to_owned();
        let mut key = vec![unit.to_owned(), r[5].to_owned()];
        if !r[8].is_empty() {
            key.push(r[8].to_owned());
        }
        let count = if &r[10] == ".." {
            None
        } else {
            Some(r[10].parse::<u64>().unwrap())
        };
        if let Some(n) = count {
            assert!(n == 0 || n >= K, "CSV {table} {key:?} = {n}");
        }
        from_csv.insert((table, key), count);
    }
    let csv_suppressed = from_csv.values().filter(|c| c.is_none()).count();
    assert_eq!(
        csv_suppressed, suppressed,
        "CSV and JSON suppress the same cells"
    );
    assert_eq!(from_csv.len(), published.len());

    // PX: one table per file, `".."` for each suppressed cell, every other number
    // as JSON has it.
    let px = region.report_ung(&[
        "--period",
        "2025",
        "--format",
        "px",
        "--table",
        "participants",
    ]);
    assert!(
        px.starts_with("CHARSET=\"ANSI\";\nAXIS-VERSION=\"2013\";"),
        "{px}"
    );
    for keyword in [
        "MATRIX=",
        "SUBJECT-AREA=",
        "CONTENTS=",
        "UNITS=",
        "STUB=",
        "HEADING=",
        "VALUES(",
        "CODES(",
        "DATA=",
    ] {
        assert!(px.contains(keyword), "PX lacks {keyword}");
    }
    let data = &px[px.find("DATA=").unwrap() + 5..];
    let tokens: Vec<&str> = data.split_whitespace().filter(|t| *t != ";").collect();
    let participants: Vec<&Option<u64>> = published
        .iter()
        .filter(|((t, _), _)| t == "participants")
        .map(|(_, c)| c)
        .collect();
    assert_eq!(tokens.len(), participants.len());
    assert_eq!(
        tokens.iter().filter(|t| **t == "\"..\"").count(),
        participants.iter().filter(|c| c.is_none()).count()
    );
    let px_sum: u64 = tokens.iter().filter_map(|t| t.parse::<u64>().ok()).sum();
    let json_sum: u64 = participants.iter().filter_map(|c| **c).sum();
    assert_eq!(px_sum, json_sum);

    // HTML: self-contained, with charts, the rule and `..`.
    let html = region.report_ung(&["--period", "2025", "--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.matches("<svg").count() >= 4, "four charts");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    assert!(html.contains("k = 5") && html.contains(".."));

    // Terminal, both languages.
    let sv = region.report_ung(&["--period", "2025"]);
    assert!(
        sv.contains("Deltagare") && sv.contains("Kvinnor") && sv.contains("Hofors"),
        "{sv}"
    );
    assert!(sv.contains("Saknas: Bollnäs (2183)"), "{sv}");
    let en = region.report_ung(&["--period", "2025", "--lang", "en", "--kommun", "2104"]);
    assert!(en.contains("Participants") && en.contains("Women"), "{en}");
    assert!(!en.contains("Sandviken ·"), "only Hofors' own rows: {en}");
}

#[test]
fn a_report_for_an_unknown_project_says_which_projects_exist() {
    let region = Region::new();
    let o = run(
        "samla-hub",
        region.root(),
        &["report", "--config", "hub/hub.toml", "--project", "NOPE"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains(
            "project NOPE is not in the hub config; the config has no [[project]] sections"
        ),
        "{}",
        text(&o)
    );
}
