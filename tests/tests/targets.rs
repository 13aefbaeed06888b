//! Targets as the projects define them (DESIGN.md §9), on regions shaped like the
//! seed projects, through real nodes and a real hub: shares of participants
//! (distinct people), `of = "leavers"`, sub-periods measured cumulatively from the
//! project's start, cumulative enrolment, and the share of women published at k = 5
//! (as a figure or as the interval the published cells imply).

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use samla_tests::statistics::{personnummer, EXPORT_HEADER as HEADER};
use samla_tests::{json_report, text, Node, Region};
use serde_json::Value;

/// A region with nodes for `kommuner` and one project (code UNG, the nodes'
/// project) described by `project` (the [[project]] section without code and domain).
fn shaped(kommuner: &[&str], project: &str) -> (Region, Vec<Node>) {
    let mut region = Region::new();
    let nodes: Vec<Node> = kommuner
        .iter()
        .map(|k| region.add_node(k, "ca", &[]))
        .collect();
    let config = region.root().join("hub/hub.toml");
    let mut hub = std::fs::read_to_string(&config).unwrap();
    hub.push_str(&format!(
        "\n[[project]]\ncode = \"UNG\"\nlinkage_domain = \"gavleborg-ung-2023\"\nkommuner = [{}]\n{project}",
        kommuner
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    std::fs::write(&config, hub).unwrap();
    region.start_hub();
    (region, nodes)
}

/// Writes `rows` as the node's export and submits it for each period.
fn submit(node: &Node, rows: &str, periods: &[&str]) {
    std::fs::write(node.dir.join("export.csv"), format!("{HEADER}\n{rows}")).unwrap();
    for period in periods {
        let o = node.run(&["submit", "export.csv", "--period", period]);
        assert!(o.status.success(), "{}", text(&o));
    }
}

fn json(region: &Region, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&region.report_ung(&all)).unwrap()
}

fn target<'a>(json: &'a Value, measure: &str) -> &'a Value {
    json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["measure"] == measure)
        .unwrap()
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-9)
}

/// Omstart!: 380 participants in nine kommuner, 56 to work and 94 to studies, 50 still
/// in the project: 150 of 380 participants = 39.5 % (of the 330 leavers it would be
/// 45.5 %).
#[test]
fn an_omstart_shaped_region_gives_150_of_380_to_work_or_studies() {
    let kommuner = [
        "2183", "2180", "2104", "2184", "2132", "2101", "2121", "2181", "2182",
    ];
    let (region, nodes) = shaped(
        &kommuner,
        "name = \"Omstart!\"\nstart = \"2019-01-01\"\nend = \"2022-12-31\"\n\
         [project.targets]\nparticipants = 250\nshare_work_or_studies = 0.4\n",
    );
    let mut rows = vec![String::new(); nodes.len()];
    for i in 0..380usize {
        let (end, outcome) = match i {
            0..=55 => ("2020-11-30", "work"),
            56..=149 => ("2020-11-30", "studies"),
            150..=249 => ("2020-11-30", "other_activity"),
            250..=329 => ("2020-11-30", "job_seeking"),
            _ => ("", ""),
        };
        let gender = ["K", "M"][i % 2];
        rows[i % nodes.len()].push_str(&format!(
            "{},UNG,2020-02-01,{end},{outcome},{gender},no,no\n",
            personnummer(i, 2001)
        ));
    }
    for (node, rows) in nodes.iter().zip(&rows) {
        submit(node, rows, &["2019-01-01..2022-12-31"]);
    }
    let json = json(&region, &[]);
    assert_eq!(json["lifetime"], true);
    assert_eq!(json["targets_scope"]["kind"], "lifetime");
    let participants = target(&json, "participants");
    assert_eq!(participants["part"], 380);
    assert_eq!(participants["target"], 250.0);
    assert!(close(&participants["of_target"], 1.52), "{participants}");
    let share = target(&json, "share_work_or_studies");
    assert_eq!(share["part"], 150);
    assert_eq!(share["whole"], 380);
    assert_eq!(share["of"], "participants");
    assert_eq!(share["basis"], "distinct_people");
    assert!(close(&share["figure"], 150.0 / 380.0), "{share}");
    assert!(close(&share["gap"], 150.0 / 380.0 - 0.4), "{share}");
    assert!(close(&share["target"], 0.4), "{share}");
    let leavers = json_report::count(&json, "leavers", &["total", "total", "total"]).clone();
    assert_eq!(leavers, 330, "the leavers are not the denominator");

    let sv = region.report_ung(&[]);
    for expected in [
        "39,5 % (150 av 380)",
        "Hela projekttiden",
        "Kommuner som lämnat in: 9 / 9",
    ] {
        assert!(sv.contains(expected), "missing {expected:?} in:\n{sv}");
    }
    let en = region.report_ung(&["--lang", "en"]);
    assert!(en.contains("39.5 % (150 of 380)"), "{en}");
}

/// UVAS: 399 reached in Jämtland's eight kommuner, 247 into activity (work, studies
/// or another activity): 61.9 % against 50 %; with `of = "leavers"` the same target
/// is measured on the 347 leavers instead.
#[test]
fn a_uvas_shaped_region_gives_247_of_399_into_activity_against_50_percent() {
    let kommuner = [
        "2303", "2305", "2309", "2313", "2321", "2326", "2361", "2380",
    ];
    let project = "name = \"UVAS\"\nstart = \"2015-06-01\"\nend = \"2018-06-30\"\n[project.targets]\nparticipants = 350\n";
    let (region, nodes) = shaped(&kommuner, &format!("{project}share_into_activity = 0.5\n"));
    let mut rows = vec![String::new(); nodes.len()];
    for i in 0..399usize {
        let (end, outcome) = match i {
            0..=99 => ("2017-05-31", "work"),
            100..=179 => ("2017-05-31", "studies"),
            180..=246 => ("2017-05-31", "other_activity"),
            247..=346 => ("2017-05-31", "dropout"),
            _ => ("", ""),
        };
        let gender = ["K", "M", "M"][i % 3];
        rows[i % nodes.len()].push_str(&format!(
            "{},UNG,2016-03-01,{end},{outcome},{gender},no,no\n",
            personnummer(i, 1993)
        ));
    }
    for (node, rows) in nodes.iter().zip(&rows) {
        submit(node, rows, &["2015-06-01..2018-06-30"]);
    }
    let json = json(&region, &[]);
    let share = target(&json, "share_into_activity");
    assert_eq!(
        (share["part"].clone(), share["whole"].clone()),
        (247.into(), 399.into())
    );
    assert_eq!(share["of"], "participants");
    assert!(close(&share["figure"], 247.0 / 399.0), "{share}");
    assert!(close(&share["target"], 0.5), "{share}");
    assert!(close(&share["gap"], 247.0 / 399.0 - 0.5), "{share}");
    let participants = target(&json, "participants");
    assert_eq!(participants["part"], 399);
    assert!(close(&participants["of_target"], 399.0 / 350.0));
    let sv = region.report_ung(&[]);
    assert!(sv.contains("61,9 % (247 av 399)"), "{sv}");
    assert!(sv.contains("50,0 %"), "{sv}");

    // The same target on leavers, as a project may define it.
    let config = region.root().join("hub/hub.toml");
    let hub = std::fs::read_to_string(&config).unwrap().replace(
        "share_into_activity = 0.5",
        "share_into_activity = { share = 0.5, of = \"leavers\" }",
    );
    std::fs::write(&config, hub).unwrap();
    let json = self::json(&region, &[]);
    let share = target(&json, "share_into_activity");
    assert_eq!(share["of"], "leavers");
    assert_eq!(share["basis"], "sum_over_kommuner");
    assert_eq!(
        (share["part"].clone(), share["whole"].clone()),
        (247.into(), 347.into())
    );
}

/// UNG with movers: 20 people enrolled in both Gävle and Sandviken. Participants are
/// distinct people (movers once) against 300; a 2025 report measures the targets
/// from the project's start to 2025-12-31; cumulative enrolment follows the periods
/// the kommuner submitted; the share of women is published at k = 5 although three
/// people of gender X are too few to show.
#[test]
fn a_ung_shaped_region_with_movers_counts_distinct_people_cumulatively() {
    let kommuner = ["2180", "2181", "2104", "2183"];
    let (region, nodes) = shaped(
        &kommuner,
        "name = \"UNG – Ung Nu Gävleborg\"\nstart = \"2023-09-01\"\nend = \"2026-08-31\"\n\
         [project.targets]\nparticipants = 300\nshare_women = 0.4\n",
    );
    // Person i starts in month i % 27 after 2023-10 and stays; every tenth of the
    // first 200 also enrols in Sandviken.
    let start = |i: usize| {
        let m = 10 + i % 27;
        format!("{}-{:02}-15", 2023 + (m - 1) / 12, (m - 1) % 12 + 1)
    };
    let mut rows = vec![String::new(); nodes.len()];
    let mut starts = Vec::new();
    for i in 0..260usize {
        let gender = if i < 3 {
            "X"
        } else if i % 5 < 2 {
            "K"
        } else {
            "M"
        };
        let k = i % nodes.len();
        let row = format!(
            "{},UNG,{},,,{gender},no,no\n",
            personnummer(i, 2001),
            start(i)
        );
        rows[k].push_str(&row);
        if i < 200 && i % 10 == 0 && k == 0 {
            rows[1].push_str(&row);
        }
        starts.push(start(i));
    }
    let movers = (0..200)
        .filter(|i| i % 10 == 0 && i % nodes.len() == 0)
        .count();
    assert!(movers >= 5);
    for (node, rows) in nodes.iter().zip(&rows) {
        submit(
            node,
            rows,
            &[
                "2023-09-01..2023-12-31",
                "2024",
                "2025",
                "2023-09-01..2025-12-31",
            ],
        );
    }
    let json = json(&region, &["--period", "2025"]);
    assert_eq!(json["targets_scope"]["kind"], "cumulative");
    assert_eq!(json["targets_scope"]["up_to"], "2025-12-31");
    let participants = target(&json, "participants");
    assert_eq!(participants["part"], 260, "movers once: {participants}");
    assert_eq!(participants["basis"], "distinct_people");
    assert_eq!(participants["target"], 300.0);
    let sum = json_report::count(&json, "participants", &["total", "total", "total"])
        .as_u64()
        .unwrap();
    assert_eq!(
        sum,
        260 + movers as u64,
        "the table sum counts movers twice"
    );

    // Cumulative enrolment: a point at the end of each submitted stretch.
    let points = json["cumulative_enrolment"].as_array().unwrap();
    let months: Vec<&str> = points
        .iter()
        .map(|p| p["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2023-12", "2024-12", "2025-12"]);
    for p in points {
        let up_to = p["up_to"].as_str().unwrap();
        let started = starts.iter().filter(|s| s.as_str() <= up_to).count() as u64;
        match p["count"].as_u64() {
            Some(n) => assert_eq!(n, started, "{p}"),
            None => panic!("{p} suppressed"),
        }
        assert_eq!(p["participants_target"], 300);
    }

    // The share of women, published as a figure or an interval, never `..`.
    let women = target(&json, "share_women");
    let truth = (3..260).filter(|i| i % 5 < 2).count() as f64;
    match women["figure"].as_f64() {
        Some(f) => assert!(f > 0.0),
        None => {
            let interval = women["interval"].as_array().unwrap();
            let (lo, hi) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());
            let whole = women["whole"].as_f64().unwrap();
            assert!(lo <= hi && lo >= 0.0 && hi <= 1.0, "{women}");
            assert!(whole > 0.0 && truth > 0.0);
        }
    }
    // 2024 has no submissions for the stretch from the project's start to its end:
    // the shares are the period's own, not compared with the targets, and labelled
    // so; distinct participants up to 2024-12-31 come from the periods that tile the
    // stretch (2023-09-01..2023-12-31 and 2024), as in the enrolment series.
    let year = self::json(&region, &["--period", "2024"]);
    assert_eq!(year["targets_scope"]["kind"], "period");
    let women = target(&year, "share_women");
    assert!(
        women["target"] == 0.4 && women["of_target"].is_null() && women["gap"].is_null(),
        "{women}"
    );
    let p = target(&year, "participants");
    let by_2024 = starts.iter().filter(|s| s.as_str() <= "2024-12-31").count();
    assert_eq!(p["part"], by_2024, "{p}");
    assert_eq!(p["scope"]["up_to"], "2024-12-31", "{p}");
    assert!(p["of_target"].is_number(), "{p}");
    assert!(region
        .report_ung(&["--period", "2024"])
        .contains("Endast perioden"));
    // A period reaching past the lifetime is clipped to it.
    let clipped = self::json(&region, &["--period", "2023-09-01..2023-12-31"]);
    assert_eq!(clipped["lifetime"], false);
    let clipped = self::json(&region, &["--period", "2023"]);
    assert_eq!(clipped["period"], "2023-09-01..2023-12-31");
    assert_eq!(clipped["targets_scope"]["kind"], "cumulative");
    let sv = region.report_ung(&["--period", "2025"]);
    assert!(
        sv.contains("Från projektets start till och med 2025-12-31"),
        "{sv}"
    );
    let targets = &sv[sv.find("Mål\n").unwrap()..sv.find("Målen mäts").unwrap()];
    assert!(!targets.contains(".."), "{targets}");
    let html = region.report_ung(&["--period", "2025", "--format", "html"]);
    assert!(html.contains("Inskrivna över tid"), "the enrolment chart");
    assert!(
        !html.contains("mål/kommun"),
        "no invented per-kommun target"
    );
}

/// The bounds of the sum of `targets` (keys with `total`) over every non-negative
/// solution of a JSON table's published cells, found independently of the hub: one
/// unknown per suppressed inner cell, one equation per published cell.
fn lp_bounds(table: &Value, targets: &[Vec<&str>]) -> (f64, f64) {
    let cells: Vec<(Vec<String>, Option<u64>)> = table["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                serde_json::from_value(c["key"].clone()).unwrap(),
                c["count"].as_u64(),
            )
        })
        .collect();
    let inner: Vec<&(Vec<String>, Option<u64>)> = cells
        .iter()
        .filter(|(k, _)| k.iter().all(|v| v != "total"))
        .collect();
    let covers = |general: &[String], key: &[String]| {
        general.iter().zip(key).all(|(g, k)| g == "total" || g == k)
    };
    let unknown: Vec<&Vec<String>> = inner
        .iter()
        .filter(|(_, c)| c.is_none())
        .map(|(k, _)| k)
        .collect();
    let solve = |direction| {
        let mut lp = microlp::Problem::new(direction);
        let vars: Vec<_> = unknown
            .iter()
            .map(|k| {
                let weight = targets
                    .iter()
                    .filter(|t| {
                        let t: Vec<String> = t.iter().map(|s| (*s).to_owned()).collect();
                        covers(&t, k)
                    })
                    .count() as f64;
                lp.add_var(weight, (0.0, f64::INFINITY))
            })
            .collect();
        for (key, count) in &cells {
            let Some(count) = count else { continue };
            let known: u64 = inner
                .iter()
                .filter(|(k, _)| covers(key, k))
                .filter_map(|(_, c)| *c)
                .sum();
            let terms: Vec<_> = unknown
                .iter()
                .zip(&vars)
                .filter(|(k, _)| covers(key, k))
                .map(|(_, v)| (*v, 1.0))
                .collect();
            if !terms.is_empty() {
                lp.add_constraint(
                    terms.as_slice(),
                    microlp::ComparisonOp::Eq,
                    *count as f64 - known as f64,
                );
            }
        }
        lp.solve().unwrap().into_solution().unwrap().objective()
    };
    let known: u64 = targets
        .iter()
        .map(|t| {
            let t: Vec<String> = t.iter().map(|s| (*s).to_owned()).collect();
            inner
                .iter()
                .filter(|(k, _)| covers(&t, k))
                .filter_map(|(_, c)| *c)
                .sum::<u64>()
        })
        .sum();
    let low = solve(microlp::OptimizationDirection::Minimize);
    let high = solve(microlp::OptimizationDirection::Maximize);
    (
        known as f64 + (low - 1e-6).ceil(),
        known as f64 + (high + 1e-6).floor(),
    )
}

/// Every interval a report publishes for a suppressed headline figure is exactly
/// what an attacker's linear programme over the published table gives, so it
/// discloses nothing the table does not.
#[test]
fn each_published_interval_equals_the_lp_attackers_bounds() {
    let kommuner = ["2180", "2181", "2104"];
    let (region, nodes) = shaped(
        &kommuner,
        "name = \"UNG\"\nstart = \"2023-09-01\"\nend = \"2026-08-31\"\n\
         [project.targets]\nparticipants = 300\nshare_women = 0.4\n\
         share_work_or_studies = 0.35\n",
    );
    // Two people of gender X per kommun (too few to show) force the women of the
    // region, fewer than the men, to be suppressed; a handful to work does the same
    // for work or studies.
    let mut rows = vec![String::new(); nodes.len()];
    for i in 0..150usize {
        let gender = if i < 6 {
            "X"
        } else if i % 3 == 0 {
            "K"
        } else {
            "M"
        };
        let (end, outcome) = match i % 10 {
            0 if i < 40 => ("2025-06-30", "work"),
            1..=3 => ("2025-06-30", "studies"),
            4..=6 => ("2025-06-30", "job_seeking"),
            _ => ("", ""),
        };
        rows[i % nodes.len()].push_str(&format!(
            "{},UNG,2025-02-01,{end},{outcome},{gender},no,no\n",
            personnummer(i, 2001)
        ));
    }
    for (node, rows) in nodes.iter().zip(&rows) {
        submit(node, rows, &["2023-09-01..2026-08-31"]);
    }
    let json = json(&region, &[]);
    let table = |name: &str| json_report::table(&json, name).clone();
    let mut checked = 0;
    for (measure, name, keys) in [
        (
            "share_women",
            "participants",
            vec![vec!["total", "K", "total"]],
        ),
        (
            "share_work_or_studies",
            "outcome_by_background",
            vec![
                vec!["total", "all", "work"],
                vec!["total", "all", "studies"],
            ],
        ),
    ] {
        let t = target(&json, measure);
        let Some(interval) = t["interval"].as_array() else {
            assert!(t["figure"].is_number(), "{t}: a figure or an interval");
            continue;
        };
        assert!(t["figure"].is_null() && t["part"].is_null(), "{t}");
        let whole = t["whole"].as_f64().unwrap();
        let (low, high) = lp_bounds(&table(name), &keys);
        assert!(low <= high, "{measure}");
        assert!(
            (interval[0].as_f64().unwrap() - low / whole).abs() < 1e-9
                && (interval[1].as_f64().unwrap() - high / whole).abs() < 1e-9,
            "{measure}: published {interval:?}, attacker's bounds {low}..{high} of {whole}"
        );
        checked += 1;
    }
    assert!(
        checked >= 1,
        "the women of the region are suppressed: {}",
        json["targets"]
    );
    let sv = region.report_ung(&[]);
    let targets = &sv[sv.find("Mål\n").unwrap()..sv.find("Målen mäts").unwrap()];
    assert!(!targets.contains(".."), "intervals, not `..`: {targets}");
    assert!(targets.contains('–') && targets.contains(" %"), "{targets}");
}

/// Nya eXtra stöd i Gävleborg, as configured in configs/: eight kommuner, 545
/// participants, at least 60 % women, foreign-born people and people with
/// disabilities as target groups. The report shows the share of women against 60 %
/// and both groups' outcomes side by side with everyone's.
#[test]
fn a_nya_extra_stod_shaped_region_shows_women_against_60_percent_and_its_groups() {
    let configured = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/gavleborg-ung/hub.toml"),
    )
    .unwrap();
    let section = &configured[configured.find("code = \"NYAEXTRA\"").unwrap()..];
    let section = &section[..section.find("\n\n").unwrap()];
    let field = |name: &str| {
        section
            .lines()
            .find(|l| l.starts_with(&format!("{name} =")))
            .unwrap()
            .to_owned()
    };
    let kommuner: Vec<String> = field("kommuner")
        .split('"')
        .filter(|s| s.len() == 4 && s.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect();
    assert_eq!(kommuner.len(), 8);
    let codes: Vec<&str> = kommuner.iter().map(String::as_str).collect();
    let (region, nodes) = shaped(
        &codes,
        &format!(
            "{}\n{}\n{}\n{}\n[project.targets]\n{}\n{}\n",
            field("name"),
            field("start"),
            field("end"),
            field("target_groups"),
            field("participants"),
            field("share_women"),
        ),
    );
    let mut rows = vec![String::new(); nodes.len()];
    let (mut women, mut groups) = (0, [(0, 0); 3]);
    for i in 0..545usize {
        let gender = if i % 50 < 31 { "K" } else { "M" };
        women += usize::from(gender == "K");
        let (foreign, disability) = (i % 5 < 2, i % 10 < 3);
        let (end, outcome) = match i % 4 {
            0 => ("2025-05-31", "work"),
            1 if i % 3 == 0 => ("2025-05-31", "studies"),
            1 => ("2025-05-31", "job_seeking"),
            _ => ("", ""),
        };
        for (g, member) in [(0, true), (1, foreign), (2, disability)] {
            if member && !end.is_empty() {
                groups[g].0 += 1;
                groups[g].1 += usize::from(outcome != "job_seeking");
            }
        }
        let yes = |b: bool| if b { "yes" } else { "no" };
        rows[i % nodes.len()].push_str(&format!(
            "{},UNG,2024-09-01,{end},{outcome},{gender},{},{}\n",
            personnummer(i, 1990),
            yes(foreign),
            yes(disability)
        ));
    }
    for (node, rows) in nodes.iter().zip(&rows) {
        submit(node, rows, &["2024-01-01..2026-12-31"]);
    }
    let json = json(&region, &[]);
    assert_eq!(
        json["target_groups"],
        serde_json::json!(["foreign_born", "disability"])
    );
    let share = target(&json, "share_women");
    assert_eq!(
        (share["part"].clone(), share["whole"].clone()),
        (women.into(), 545.into())
    );
    assert!(close(&share["target"], 0.6), "{share}");
    let sv = region.report_ung(&[]);
    let section = &sv[sv.find("Målgrupper\n").unwrap()..];
    let expected = format!(
        "Andel kvinnor: {:.1} % ({women} av 545) (mål minst 60,0 %)",
        women as f64 / 545.0 * 100.0
    )
    .replace('.', ",");
    assert!(section.contains(&expected), "{expected:?} in {section}");
    for (label, (leavers, to)) in ["Alla", "Utrikes född", "Funktionsnedsättning"]
        .iter()
        .zip(groups)
    {
        let line = section.lines().find(|l| l.starts_with(label)).unwrap();
        let share = format!("{:.1} % ({to})", to as f64 / leavers as f64 * 100.0).replace('.', ",");
        assert!(
            line.contains(&share) && line.contains(&leavers.to_string()),
            "{share} in {line}"
        );
    }
    let html = region.report_ung(&["--format", "html"]);
    assert!(html.contains("<h2>Målgrupper</h2>") && html.contains(&expected));
}
