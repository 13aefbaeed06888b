//! The cell key method where the hub knows people only by pseudonym, from real nodes
//! and a real hub: cumulative enrolment, distinct counts and overlaps are published as
//! perturbed cells of their own (each the true count moved by the noise of its
//! people's pseudonym keys), targets and shares are computed from published counts,
//! and a record key is not a function of the pseudonym the hub holds.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::BTreeSet;

use samla_common::cell_key::{perturb, CellKey, Ptable, RecordKey};
use samla_common::pseudonym::Pseudonym;
use samla_common::statistics::Statistics;
use samla_tests::cell_key::{set_disclosure, DISCLOSURE, PARAMS, PROJECT};
use samla_tests::statistics::{personnummer, EXPORT_HEADER as HEADER};
use samla_tests::{run, text, Node, Region};

fn report(region: &Region, args: &[&str]) -> String {
    let mut all = vec!["report", "--config", "hub/hub.toml", "--project", "UNG"];
    all.extend_from_slice(args);
    let o = run("samla-hub", region.root(), &all);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn json_report(region: &Region, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&report(region, &all)).unwrap()
}

/// Puts the node on the cell key method with [`DISCLOSURE`].
fn node_on_cell_key(node: &Node) {
    let config = node.dir.join("samla-node.toml");
    let mut text_of_config = std::fs::read_to_string(&config).unwrap();
    text_of_config.push_str(&format!("\n[disclosure]\n{DISCLOSURE}"));
    std::fs::write(&config, text_of_config).unwrap();
}

/// The exact submission `preview` shows for `period` of the node's `export.csv`.
fn exact_submission(node: &Node, period: &str) -> Statistics {
    let o = node.run(&[
        "preview",
        "export.csv",
        "--period",
        period,
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    serde_json::from_value(json["submissions"][0]["submission"].clone()).unwrap()
}

/// The UNG pseudonyms of these submissions, each once.
fn pseudonyms<'a>(submissions: impl IntoIterator<Item = &'a Statistics>) -> BTreeSet<Pseudonym> {
    submissions
        .into_iter()
        .flat_map(|s| s.linkage_sets.iter())
        .filter(|set| set.project.as_str() == "UNG")
        .flat_map(|set| set.pseudonyms.iter().copied())
        .collect()
}

/// What the cell key method publishes for a cell of these people, whom the hub knows
/// by pseudonym: their number, moved by the noise of their pseudonyms' public keys.
fn expected_distinct(people: &BTreeSet<Pseudonym>, table: &Ptable) -> u64 {
    let key = CellKey::of_pseudonyms(people);
    perturb(people.len() as u64, key, table).get()
}

fn count_of(value: &serde_json::Value) -> u64 {
    value["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("{value} is not published"))
}

fn published_cell(json: &serde_json::Value, table: &str, key: [&str; 3]) -> u64 {
    let table = json["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == table)
        .unwrap();
    let cell = table["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == serde_json::json!(key))
        .unwrap();
    count_of(cell)
}

/// UNG with movers under the cell key method, submitted for the stretches a
/// cumulative report reads: every point of cumulative enrolment is published (none
/// withheld for a small step), within max_noise of the number who had started, and is
/// the perturbed count of those people's pseudonyms, so the last point has the value
/// of the stretch's distinct count in every report; distinct counts and overlaps are
/// perturbed the same way; targets and shares are computed from the published counts.
#[test]
fn enrolment_distinct_counts_overlaps_and_targets_are_perturbed_cells() {
    let mut region = Region::new();
    let kommuner = ["2180", "2181", "2104"];
    let nodes: Vec<Node> = kommuner
        .iter()
        .map(|k| region.add_node(k, "ca", &[]))
        .collect();
    set_disclosure(&region, DISCLOSURE, PROJECT);
    region.start_hub();
    // Person i starts in month i % 27 after 2023-10 and stays; every tenth of the
    // first 120 who is in Gävle also enrols in Sandviken.
    let start = |i: usize| {
        let m = 10 + i % 27;
        format!("{}-{:02}-15", 2023 + (m - 1) / 12, (m - 1) % 12 + 1)
    };
    let mut rows = vec![String::new(); nodes.len()];
    let mut starts = Vec::new();
    for i in 0..180usize {
        let gender = if i % 5 < 2 { "K" } else { "M" };
        let k = i % nodes.len();
        let row = format!(
            "{},UNG,{},,,{gender},no,no\n",
            personnummer(i, 2001),
            start(i)
        );
        rows[k].push_str(&row);
        if i < 120 && i % 10 == 0 && k == 0 {
            rows[1].push_str(&row);
        }
        starts.push(start(i));
    }
    let periods = [
        "2023-09-01..2023-12-31",
        "2024",
        "2025",
        "2023-09-01..2025-12-31",
    ];
    // exact[period][kommun]
    let mut exact: Vec<Vec<Statistics>> = vec![Vec::new(); periods.len()];
    for (node, rows) in nodes.iter().zip(&rows) {
        node_on_cell_key(node);
        std::fs::write(node.dir.join("export.csv"), format!("{HEADER}\n{rows}")).unwrap();
        for (p, period) in periods.iter().enumerate() {
            exact[p].push(exact_submission(node, period));
            let o = node.run(&["submit", "export.csv", "--period", period]);
            assert!(o.status.success(), "{}", text(&o));
        }
    }
    let table = Ptable::new(PARAMS).unwrap();
    let json = json_report(&region, &["--period", "2025"]);
    assert_eq!(json["targets_scope"]["kind"], "cumulative");

    // Cumulative enrolment: a point at the end of each submitted stretch, each the
    // perturbed count of everyone seen by then.
    let points = json["cumulative_enrolment"].as_array().unwrap();
    let months: Vec<&str> = points
        .iter()
        .map(|p| p["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2023-12", "2024-12", "2025-12"]);
    let seen_by = [
        pseudonyms(&exact[0]),
        pseudonyms(exact[0].iter().chain(&exact[1])),
        pseudonyms(exact.iter().flatten()),
    ];
    for (point, seen) in points.iter().zip(&seen_by) {
        let up_to = point["up_to"].as_str().unwrap();
        let started = starts.iter().filter(|s| s.as_str() <= up_to).count() as u64;
        assert_eq!(seen.len() as u64, started, "{point}");
        let n = count_of(point);
        assert_eq!(n, expected_distinct(seen, &table), "{point}");
        assert!(
            n.abs_diff(started) <= 3 && n != 1,
            "{point}: {n} for {started}"
        );
    }
    let text_report = report(&region, &["--period", "2025", "--lang", "en"]);
    assert!(
        text_report.contains("the series need not rise from month to month"),
        "{text_report}"
    );

    // The last point is the distinct count of the stretch from the project's start,
    // and the participants target's part, in every report that shows it.
    let last = count_of(&points[2]);
    let stretch = json_report(&region, &["--period", "2023-09-01..2025-12-31"]);
    assert_eq!(count_of(&stretch["distinct"]["distinct_people"]), last);
    let target = |json: &serde_json::Value, measure: &str| {
        json["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["measure"] == measure)
            .unwrap()
            .clone()
    };
    assert_eq!(target(&json, "participants")["part"], last);
    // 2024 alone has no submission from the project's start: its participants part
    // comes from the enrolment series, whose 2024-12 point it is.
    let year = json_report(&region, &["--period", "2024"]);
    assert_eq!(year["targets_scope"]["kind"], "period");
    assert_eq!(
        target(&year, "participants")["part"],
        count_of(&points[1]),
        "{}",
        year["targets"]
    );
    assert_eq!(year["cumulative_enrolment"][1], points[1].clone());

    // Shares and targets from the published counts of the stretch's report.
    let women = target(&json, "share_women");
    let part = published_cell(&stretch, "participants", ["total", "K", "total"]);
    let whole = published_cell(&stretch, "participants", ["total", "total", "total"]);
    assert_eq!(women["part"], part, "{women}");
    assert_eq!(women["whole"], whole, "{women}");
    // The figure is the share as the report computes it; only float rounding may differ.
    let figure = women["figure"].as_f64().unwrap();
    assert!(
        (figure - part as f64 / whole as f64).abs() < 1e-9,
        "{figure} is not {part}/{whole}"
    );

    // Distinct people and overlaps of the 2025 report: perturbed counts of the
    // pseudonyms, none withheld.
    let distinct = &json["distinct"];
    let of_2025 = &exact[2];
    let all = pseudonyms(of_2025);
    assert_eq!(
        count_of(&distinct["distinct_people"]),
        expected_distinct(&all, &table)
    );
    let sets: Vec<_> = of_2025.iter().map(|s| pseudonyms([s])).collect();
    let several: BTreeSet<_> = all
        .iter()
        .filter(|p| sets.iter().filter(|s| s.contains(p)).count() > 1)
        .copied()
        .collect();
    assert!(several.len() >= 3, "movers: {}", several.len());
    assert_eq!(
        count_of(&distinct["in_several_kommuner"]),
        expected_distinct(&several, &table)
    );
    let overlaps = distinct["kommun_overlaps"].as_array().unwrap();
    let (gavle, sandviken) = (&sets[0], &sets[1]);
    let both: BTreeSet<_> = gavle.intersection(sandviken).copied().collect();
    assert_eq!(both, several);
    let pair = overlaps
        .iter()
        .find(|o| {
            let label = o["label"].as_str().unwrap();
            label.contains("2180") && label.contains("2181")
        })
        .unwrap_or_else(|| panic!("no Gävle–Sandviken overlap in {overlaps:?}"));
    assert_eq!(count_of(pair), expected_distinct(&both, &table));
    for o in overlaps {
        assert!(!o["suppressed"].as_bool().unwrap_or(false), "{o}");
    }
}

/// One person enrolled in two kommuner has one pseudonym, which the hub sees in both
/// kommuner's linkage sets; the one-person cells that count them carry different keys
/// in the two kommuner, and neither is the pseudonym's public key or a slice of the
/// pseudonym: the record key is not a function of the pseudonym the hub holds.
#[test]
fn a_record_key_is_not_a_function_of_the_pseudonym() {
    let region = Region::new();
    let nodes: Vec<Node> = ["2180", "2181"]
        .iter()
        .map(|k| region.add_node(k, "ca", &[]))
        .collect();
    let row = format!("{},UNG,2025-03-15,,,K,no,no\n", personnummer(7, 2001));
    let mut keys = Vec::new();
    let mut seen = Vec::new();
    for node in &nodes {
        std::fs::write(node.dir.join("export.csv"), format!("{HEADER}\n{row}")).unwrap();
        let s = exact_submission(node, "2025");
        let table = s
            .tables
            .iter()
            .find(|t| t.name.code() == "participants")
            .unwrap();
        let ones: Vec<_> = table.cells.iter().filter(|c| c.count == 1).collect();
        assert_eq!(ones.len(), 1, "one person, one cell");
        keys.push(ones[0].cell_key.bits());
        seen.push(pseudonyms([&s]));
    }
    assert_eq!(seen[0], seen[1], "the same person, the same pseudonym");
    assert_eq!(seen[0].len(), 1);
    assert_ne!(
        keys[0], keys[1],
        "the same pseudonym, different record keys"
    );
    let pseudonym = seen[0].iter().next().unwrap();
    for key in &keys {
        assert_ne!(*key, RecordKey::of_pseudonym(pseudonym).bits());
        for window in pseudonym.as_bytes().windows(8) {
            let bytes: [u8; 8] = window.try_into().unwrap();
            assert_ne!(*key, u64::from_le_bytes(bytes));
            assert_ne!(*key, u64::from_be_bytes(bytes));
        }
    }
}
