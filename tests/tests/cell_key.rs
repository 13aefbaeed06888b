//! The cell key method from a real hub's store: with `[disclosure] method =
//! "cell-key"` every cell of the report is published, within `max_noise` of the exact
//! figure from the kommuner's own previews, zeros kept, none in `1..=js`; the same cell
//! has the same value in the full report, in a report made before a kommun submitted,
//! in a `--kommun` report and in a second run; every format says which method was used.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::BTreeMap;

use samla_common::cell_key::Ptable;
use samla_common::disclosure::cell_key::perturb_kommun;
use samla_common::statistics::Statistics;
use samla_tests::cell_key::{set_disclosure, DISCLOSURE, PARAMS, PROJECT};
use samla_tests::statistics::exact_cells;
use samla_tests::{run, text, Region};

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
        assert_eq!(submission.schema_version, 3);
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

    // A regional cell (any cell of the `total` row) is the perturbation of the sum of
    // the kommuner's counts with the sum mod 1 (mod 2⁶⁴ for the integers) of the
    // kommuner's own cell keys, as the nodes sent them.
    let mut regional = 0;
    for ((name, key), n) in published.iter().filter(|((_, key), _)| key[0] == "total") {
        let (mut count, mut sum) = (0u64, 0u128);
        for s in &exact {
            let table = s.tables.iter().find(|t| t.name.code() == name).unwrap();
            for cell in table.cells.iter().filter(|c| c.key[0] == "UNG") {
                if key[1..]
                    .iter()
                    .zip(&cell.key[1..])
                    .all(|(k, v)| k == "total" || k == v)
                {
                    count += cell.count;
                    sum += u128::from(cell.cell_key.bits());
                }
            }
        }
        let key_bits = u64::try_from(sum % (1u128 << 64)).unwrap();
        let expected = samla_common::cell_key::perturb(
            count,
            samla_common::cell_key::CellKey::from_bits(key_bits),
            &table,
        );
        assert_eq!(*n, expected.get(), "{name} {key:?}");
        regional += 1;
    }
    assert!(regional > 50, "{regional}");

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
        // And as the real node printed it in its `preview`.
        let mut shown = 0;
        for t in previews[i]["tables"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            for cell in t["cells"].as_array().unwrap() {
                let mut key: Vec<String> = serde_json::from_value(cell["key"].clone()).unwrap();
                if key[0] != "UNG" {
                    continue;
                }
                key[0] = kommun.to_owned();
                let in_report = published[&(name.to_owned(), key.clone())];
                assert_eq!(
                    Some(in_report),
                    cell["count"].as_u64(),
                    "preview {kommun}: {name} {key:?}"
                );
                shown += 1;
            }
        }
        assert!(shown > 50, "{shown} cells in the preview of {kommun}");
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
        assert_eq!(
            distinct["count"],
            previews[i]["distinct_people"][0]["count"]
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

/// A node config whose cell key settings cannot make a perturbation table, or that
/// mixes the methods' settings, is refused by the real samla-node before any work,
/// naming the config file and the key at fault.
#[test]
fn the_node_refuses_cell_key_settings_that_do_not_fit_naming_file_and_key() {
    let region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    let config = node.dir.join("samla-node.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    assert!(!original.contains("[disclosure]"), "{original}");
    node.export("export.csv", 20, 1);
    for (settings, key, expected) in [
        (
            "method = \"cell-key\"\nmax_noise = 2\nvariance = 1.0\n",
            "disclosure.variance",
            "0.931",
        ),
        (
            "method = \"cell-key\"\nmax_noise = 0\n",
            "disclosure.max_noise",
            "max_noise 0 must be 1 to",
        ),
        (
            "method = \"cell-key\"\nmax_noise = 2\njs = 2\n",
            "disclosure.js",
            "js 2 must be less than max_noise 2",
        ),
        (
            "method = \"cell-key\"\nvariance = -1.0\n",
            "disclosure.variance",
            "variance -1 must be a number",
        ),
        ("method = \"noise\"\n", "disclosure.method", "not a method"),
        (
            "variance = 1.5\n",
            "disclosure.variance",
            "belong to method = \"cell-key\"",
        ),
        (
            "method = \"cell-key\"\nk = 5\n",
            "disclosure.k",
            "k belongs to method = \"suppression\"",
        ),
    ] {
        std::fs::write(&config, format!("{original}\n[disclosure]\n{settings}")).unwrap();
        for args in [
            &["preview", "export.csv", "--period", "2025"][..],
            &["submit", "export.csv", "--period", "2025"][..],
        ] {
            let o = node.run(args);
            let shown = text(&o);
            assert!(!o.status.success(), "{settings}: {shown}");
            assert!(
                shown.contains(&config.display().to_string()) || shown.contains("samla-node.toml"),
                "{settings}: the file is not named: {shown}"
            );
            assert!(
                shown.contains(&format!("{key}: ")),
                "{settings}: the key {key} is not named: {shown}"
            );
            assert!(shown.contains(expected), "{settings}: {shown}");
        }
    }
}

/// Without `method`, hub and node use suppression: the report says so and withholds
/// small cells, and the preview shows no cell key method.
#[test]
fn suppression_stays_the_default() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    set_disclosure(&region, "", PROJECT);
    region.start_hub();
    let export = node.export("export.csv", 40, 3);
    let preview = node.run(&["preview", &export, "--period", "2025"]);
    assert!(preview.status.success(), "{}", text(&preview));
    let shown = text(&preview);
    assert!(!shown.contains("Cell key method"), "{shown}");
    assert!(shown.contains(".."), "small cells are suppressed: {shown}");
    let submit = node.run(&["submit", &export, "--period", "2025"]);
    assert!(submit.status.success(), "{}", text(&submit));
    let json: serde_json::Value =
        serde_json::from_str(&region.report_ung(&["--period", "2025", "--format", "json"]))
            .unwrap();
    assert_eq!(json["disclosure_control"]["method"], "suppression");
    assert_eq!(json["disclosure_control"]["k"], 5);
    let withheld = json["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["cells"].as_array().unwrap())
        .filter(|c| c["suppressed"] == true)
        .count();
    assert!(withheld > 0, "nothing suppressed under suppression");
    let sv = region.report_ung(&["--period", "2025"]);
    assert!(!sv.contains("cellnyckelmetoden"), "{sv}");
}

/// `scripts/record-key.py`, an implementation of docs/formats.md's derivation in
/// Python's standard library, reproduces the documented test vector, and every value
/// of that vector in docs/formats.md is one the script checks.
#[test]
fn the_documented_record_key_derivation_is_reproduced_independently() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let o = std::process::Command::new("python3")
        .arg(repo.join("scripts/record-key.py"))
        .output()
        .expect("python3 runs scripts/record-key.py (the independent implementation)");
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.contains("DIFFERS"), "{out}");
    let formats = std::fs::read_to_string(repo.join("docs/formats.md")).unwrap();
    let vector = &formats[formats.find("**Test vector**").unwrap()..];
    let vector = &vector[..vector.find("`scripts/record-key.py`").unwrap()];
    let mut checked = 0;
    for row in vector
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| what"))
    {
        // The value column's first `code` span: a hex string or an integer.
        let Some(value) = row.split('|').nth(2).and_then(|v| v.split('`').nth(1)) else {
            continue;
        };
        if value.len() >= 16 {
            assert!(
                out.contains(value),
                "{value} of docs/formats.md is not checked: {out}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 9, "values found in docs/formats.md");
}
