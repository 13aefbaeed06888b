//! A Kronoberg-shaped region (kommun codes with a leading zero) through real nodes
//! and a real hub: the ESF+ common indicators equal the sums of the schema tables
//! they come from in every format; the Swedish CSV is what Excel in a Swedish locale
//! opens as columns; a PX file parses in an independent PX reader (pyaxis, when
//! installed); an empty period is refused unless asked for; `--kommun` takes names.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::BTreeMap;

use samla_tests::{json_report, run, text, Node, Region};
use serde_json::Value;

const KOMMUNER: [&str; 4] = ["0764", "0765", "0767", "0781"];

struct Setup {
    region: Region,
    /// The regional sum of every exact cell: (table, key without the project).
    exact: BTreeMap<(String, Vec<String>), u64>,
}

fn setup() -> Setup {
    let mut region = Region::new();
    let nodes: Vec<Node> = KOMMUNER
        .iter()
        .map(|k| region.add_node(k, "ca", &[]))
        .collect();
    let config = region.root().join("hub/hub.toml");
    let mut hub = std::fs::read_to_string(&config).unwrap();
    hub.push_str(
        "\n[[project]]\ncode = \"UNG\"\nname = \"Fasetten för arbete & studier\"\n\
         start = \"2025-01-01\"\nend = \"2026-12-31\"\nlinkage_domain = \"gavleborg-ung-2023\"\n\
         kommuner = [\"0764\", \"0765\", \"0767\", \"0781\"]\n[project.targets]\n\
         participants = 250\nshare_women = 0.5\nshare_work_or_studies = 0.3\n",
    );
    std::fs::write(&config, hub).unwrap();
    region.start_hub();
    let mut exact = BTreeMap::new();
    for (i, (node, size)) in nodes.iter().zip([90, 40, 14, 70]).enumerate() {
        let export = node.export("export.csv", size, 10 + i as u64);
        let preview = node.run(&["preview", &export, "--period", "2025", "--format", "json"]);
        assert!(preview.status.success(), "{}", text(&preview));
        let json: Value = serde_json::from_slice(&preview.stdout).unwrap();
        for table in json["submissions"][0]["submission"]["tables"]
            .as_array()
            .unwrap()
        {
            for cell in table["cells"].as_array().unwrap() {
                let key: Vec<String> = serde_json::from_value(cell["key"].clone()).unwrap();
                *exact
                    .entry((
                        table["name"].as_str().unwrap().to_owned(),
                        key[1..].to_vec(),
                    ))
                    .or_default() += cell["count"].as_u64().unwrap();
            }
        }
        let o = node.run(&["submit", &export, "--period", "2025"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    Setup { region, exact }
}

fn report(region: &Region, args: &[&str]) -> std::process::Output {
    let mut all = vec!["report", "--config", "hub/hub.toml", "--project", "UNG"];
    all.extend_from_slice(args);
    run("samla-hub", region.root(), &all)
}

fn stdout(region: &Region, args: &[&str]) -> String {
    let o = report(region, args);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// Each ESF+ indicator and the schema cells (table, second and third key) it sums,
/// as the issue and Annex I define them.
fn sources() -> Vec<(&'static str, &'static str, Vec<[&'static str; 2]>)> {
    let t = "total";
    vec![
        ("participants.total", "entrants", vec![[t, t]]),
        ("participants.women", "entrants", vec![["K", t]]),
        ("participants.men", "entrants", vec![["M", t]]),
        ("participants.non_binary", "entrants", vec![["X", t]]),
        ("below_18", "entrants", vec![[t, "-17"]]),
        (
            "age_18_29",
            "entrants",
            vec![[t, "18-19"], [t, "20-24"], [t, "25-29"]],
        ),
        ("age_55_plus", "entrants", vec![[t, "55-"]]),
        (
            "unemployed_incl_long_term",
            "entry_status",
            vec![[t, "unemployed"], [t, "long_term_unemployed"]],
        ),
        (
            "long_term_unemployed",
            "entry_status",
            vec![[t, "long_term_unemployed"]],
        ),
        ("inactive", "entry_status", vec![[t, "inactive"]]),
        ("employed", "entry_status", vec![[t, "employed"]]),
        ("isced_0_2", "entry_education", vec![[t, "isced_0_2"]]),
        ("isced_3_4", "entry_education", vec![[t, "isced_3_4"]]),
        ("isced_5_8", "entry_education", vec![[t, "isced_5_8"]]),
        ("disabilities", "background", vec![[t, "disability"]]),
        (
            "foreign_background",
            "background",
            vec![[t, "foreign_born"]],
        ),
        (
            "upon_leaving.job_searching",
            "leavers",
            vec![[t, "job_seeking"]],
        ),
        (
            "upon_leaving.in_education_or_training",
            "leavers",
            vec![[t, "studies"]],
        ),
        ("upon_leaving.in_employment", "leavers", vec![[t, "work"]]),
    ]
}

/// The exact sum of cells (exact figures have no totals: they are summed here).
fn exact_sum(setup: &Setup, table: &str, cells: &[[&str; 2]]) -> u64 {
    cells
        .iter()
        .map(|[a, b]| {
            setup
                .exact
                .iter()
                .filter(|((t, key), _)| {
                    t == table
                        && key.len() == 2
                        && (*a == "total" || key[0] == *a)
                        && (*b == "total" || key[1] == *b)
                })
                .map(|(_, n)| n)
                .sum::<u64>()
        })
        .sum()
}

fn json_value<'a>(json: &'a Value, code: &str) -> &'a Value {
    code.split('.')
        .fold(&json["esf_indicators"], |v, part| &v[part])
}

#[test]
fn esf_indicators_equal_the_sums_of_their_tables_in_every_format() {
    let setup = setup();
    let region = &setup.region;
    let json: Value =
        serde_json::from_str(&stdout(region, &["--period", "2025", "--format", "json"])).unwrap();
    let published = |table: &str, key: [&str; 3]| -> Option<u64> {
        json_report::count(&json, table, &key).as_u64()
    };
    let mut expected: BTreeMap<&str, Option<u64>> = BTreeMap::new();
    let mut shown = 0;
    for (code, table, cells) in sources() {
        let value = json_value(&json, code);
        let all_published = cells
            .iter()
            .all(|[a, b]| published(table, ["total", a, b]).is_some());
        if value.is_null() {
            assert!(
                !all_published,
                "{code} is null although its cells are published"
            );
            expected.insert(code, None);
        } else {
            assert_eq!(
                value.as_u64(),
                Some(exact_sum(&setup, table, &cells)),
                "{code}"
            );
            shown += 1;
            expected.insert(code, value.as_u64());
        }
    }
    assert!(
        shown >= 15,
        "most indicators are published: {}",
        json["esf_indicators"]
    );
    let show = |v: Option<u64>| v.map_or_else(|| "..".to_owned(), |n| n.to_string());

    // CSV (Swedish): the section's rows carry the same values.
    let csv_text = stdout(region, &["--period", "2025", "--format", "csv"]);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let mut from_csv = BTreeMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        if &r[0] == "esf_indikatorer" {
            from_csv.insert(r[1].to_owned(), r[10].to_owned());
        }
    }
    // Terminal and HTML: the code, then the value.
    let table_text = stdout(region, &["--period", "2025"]);
    let html = stdout(region, &["--period", "2025", "--format", "html"]);
    for (code, value) in &expected {
        assert_eq!(from_csv.get(*code), Some(&show(*value)), "CSV {code}");
        let line = table_text
            .lines()
            .find(|l| l.split_whitespace().any(|w| w == *code))
            .unwrap_or_else(|| panic!("{code} in the terminal report"));
        assert_eq!(
            line.split_whitespace().last(),
            Some(show(*value).as_str()),
            "{line}"
        );
        assert!(
            html.contains(&format!("<td>{code}</td><td>{}</td>", show(*value))),
            "HTML {code}"
        );
    }

    // PX: the indicator codes as the stub, one value per line, `".."` when suppressed.
    let px = stdout(
        region,
        &["--period", "2025", "--format", "px", "--table", "esf"],
    );
    // The list may wrap over lines; it ends at the first `;`.
    let codes: Vec<String> = px
        .split_once("CODES(\"indikator\")=")
        .unwrap_or_else(|| panic!("{px}"))
        .1
        .split_once(';')
        .unwrap()
        .0
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_owned())
        .collect();
    let data: Vec<String> = px
        .split_once("DATA=\n")
        .unwrap()
        .1
        .lines()
        .take_while(|l| *l != ";")
        .map(|l| l.trim().trim_matches('"').to_owned())
        .collect();
    assert_eq!(codes.len(), data.len(), "{px}");
    let from_px: BTreeMap<&str, &str> = codes
        .iter()
        .map(String::as_str)
        .zip(data.iter().map(String::as_str))
        .collect();
    for (code, value) in &expected {
        assert_eq!(
            from_px.get(*code).copied(),
            Some(show(*value).as_str()),
            "PX {code}"
        );
    }
    let file = region.root().join("esf.px");
    std::fs::write(&file, &px).unwrap();
    let has_pyaxis = std::process::Command::new("python3")
        .args(["-c", "import pyaxis"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pyaxis {
        eprintln!("skipped: the PX reader check needs python3 with pyaxis (pip install pyaxis)");
        return;
    }
    let script = "import sys, json, math\n\
        from pyaxis import pyaxis\n\
        px = pyaxis.parse(sys.argv[1], encoding='utf-8')\n\
        data = px['DATA']\n\
        print(json.dumps([None if (v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() in ('', '..', 'nan')) else int(float(v)) for v in data['DATA']]))\n";
    let o = std::process::Command::new("python3")
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "pyaxis: {}", text(&o));
    let parsed: Vec<Option<u64>> = serde_json::from_slice(&o.stdout).unwrap();
    let in_order: Vec<Option<u64>> = codes.iter().map(|c| expected[c.as_str()]).collect();
    assert_eq!(parsed, in_order, "pyaxis reads the PX indicator values");
}

#[test]
fn the_swedish_csv_opens_as_columns_in_excel_and_the_px_file_in_a_px_reader() {
    let setup = setup();
    let region = &setup.region;
    let csv_bytes = report(region, &["--period", "2025", "--format", "csv"]).stdout;
    assert!(csv_bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
    let csv_text = String::from_utf8(csv_bytes[3..].to_vec()).unwrap();
    let first = csv_text.lines().next().unwrap();
    assert_eq!(
        first.matches(';').count(),
        10,
        "`;` between 11 columns: {first}"
    );
    assert!(!first.contains(','), "{first}");
    // Codes Excel would turn into numbers or dates are kept as text.
    assert!(
        csv_text.contains("\"=\"\"0764\"\"\""),
        "kommun code 0764 as text"
    );
    assert!(
        csv_text.contains("\"=\"\"18-19\"\"\""),
        "age band 18-19 as text"
    );
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv_text.as_bytes());
    let mut percents = 0;
    for record in reader.records() {
        let r = record.unwrap();
        assert_eq!(r.len(), 11);
        if &r[0] == "mål" && r[4].ends_with("_percent") && !r[10].is_empty() && &r[10] != ".." {
            assert!(
                r[10].contains(',') && !r[10].contains('.'),
                "decimal comma: {r:?}"
            );
            percents += 1;
        }
    }
    assert!(percents >= 2, "target shares in per cent");
    let en = report(
        region,
        &["--period", "2025", "--format", "csv", "--lang", "en"],
    )
    .stdout;
    assert!(!en.starts_with(&[0xEF, 0xBB, 0xBF]) && en.starts_with(b"section,table,"));

    // PX: the county code for the region, a natural title, the code page.
    let px = stdout(
        region,
        &[
            "--period",
            "2025",
            "--format",
            "px",
            "--table",
            "participants",
        ],
    );
    assert!(px.contains("CODEPAGE=\"utf-8\";"), "{px}");
    assert!(
        px.contains(
            "TITLE=\"Deltagare efter region, kön och ålder. Fasetten för arbete & studier, 2025\";"
        ),
        "{px}"
    );
    assert!(
        px.contains("CODES(\"region\")=\"0764\",\"0765\",\"0767\",\"0781\",\"07\";"),
        "{px}"
    );
    let file = region.root().join("participants.px");
    std::fs::write(&file, &px).unwrap();
    let has_pyaxis = std::process::Command::new("python3")
        .args(["-c", "import pyaxis"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pyaxis {
        eprintln!("skipped: the PX reader check needs python3 with pyaxis (pip install pyaxis)");
        return;
    }
    // pyaxis takes the encoding from the caller: the file's CODEPAGE says which.
    // It reads `".."` as a missing value.
    let script = "import sys, re, json\n\
        from pyaxis import pyaxis\n\
        path = sys.argv[1]\n\
        codepage = re.search(r'CODEPAGE=\"([^\"]+)\"', open(path, 'rb').read().decode('ascii', 'ignore')).group(1)\n\
        px = pyaxis.parse(path, encoding=codepage)\n\
        data = px['DATA']\n\
        print(json.dumps({'rows': len(data), 'columns': list(data.columns), 'title': px['METADATA']['TITLE'][0], 'regions': sorted(set(data['region'])), 'dots': int(data['DATA'].isna().sum())}))\n";
    let o = std::process::Command::new("python3")
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "pyaxis: {}", text(&o));
    let parsed: Value = serde_json::from_slice(&o.stdout).unwrap();
    let json: Value =
        serde_json::from_str(&stdout(region, &["--period", "2025", "--format", "json"])).unwrap();
    let cells = json_report::cells(&json, "participants").clone();
    assert_eq!(parsed["rows"], cells.len(), "{parsed}");
    assert_eq!(
        parsed["dots"],
        cells.iter().filter(|c| c["count"].is_null()).count(),
        "{parsed}"
    );
    assert!(parsed["title"]
        .as_str()
        .unwrap()
        .starts_with("Deltagare efter region"));
    assert!(parsed["regions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "Alvesta"));
}

#[test]
fn nothing_is_silently_empty_and_kommuner_are_named() {
    let setup = setup();
    let region = &setup.region;
    // 2026 is in the lifetime, but nobody submitted it.
    let o = report(region, &["--period", "2026"]);
    assert!(!o.status.success());
    let said = text(&o);
    assert!(
        said.contains("no kommun has submitted project UNG for period 2026-01-01..2026-12-31")
            && said.contains("--allow-empty"),
        "{said}"
    );
    let sv = stdout(region, &["--period", "2026", "--allow-empty"]);
    assert!(
        sv.lines()
            .nth(1)
            .unwrap()
            .starts_with("OBS! Ingen kommun har lämnat in"),
        "{sv}"
    );
    let json: Value = serde_json::from_str(&stdout(
        region,
        &["--period", "2026", "--allow-empty", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["empty"], true);
    assert!(json["notice"].as_str().unwrap().contains("2026"));
    for format in ["csv", "html"] {
        let out = stdout(
            region,
            &["--period", "2026", "--allow-empty", "--format", format],
        );
        assert!(out.contains("Ingen kommun har lämnat in"), "{format}");
    }
    // Outside the lifetime.
    let o = report(region, &["--period", "2020"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("outside project UNG's lifetime"),
        "{}",
        text(&o)
    );

    // --kommun by code or by name, with or without å/ä/ö.
    for (asked, code) in [("0764", "0764"), ("Alvesta", "0764"), ("almhult", "0765")] {
        let json: Value = serde_json::from_str(&stdout(
            region,
            &["--period", "2025", "--format", "json", "--kommun", asked],
        ))
        .unwrap();
        assert_eq!(json["kommuner_shown"], serde_json::json!([code]), "{asked}");
    }
    let o = report(region, &["--period", "2025", "--kommun", "Växjö"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains(
            "--kommun Växjö: not a kommun of project UNG; its kommuner are: Alvesta (0764)"
        ),
        "{}",
        text(&o)
    );
}
