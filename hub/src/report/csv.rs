//! The CSV form: one row per figure (section, table, kommun, up to two dimensions
//! with their values, count), labels in the report's language and codes beside
//! them, `..` for a suppressed count. The first rows state the rule.

use samla_common::disclosure::TOTAL;

use super::labels::count;
use super::Report;

/// Renders the report as CSV.
pub fn render(report: &Report) -> String {
    let lang = report.lang;
    let figures = report.figures();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut row = |fields: [&str; 11]| {
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(fields);
    };
    row([
        lang.pick("avsnitt", "section"),
        lang.pick("tabell", "table"),
        lang.pick("kommunkod", "kommun_code"),
        "kommun",
        lang.pick("variabel_1", "variable_1"),
        lang.pick("kod_1", "code_1"),
        lang.pick("värde_1", "value_1"),
        lang.pick("variabel_2", "variable_2"),
        lang.pick("kod_2", "code_2"),
        lang.pick("värde_2", "value_2"),
        lang.pick("antal", "count"),
    ]);
    let k = figures.rule.k.to_string();
    let rule = report.rule_note();
    let control = lang.pick("röjandekontroll", "disclosure_control");
    row([control, "k", "", "", "", "", &rule, "", "", "", &k]);
    let project = report.project.code.as_str();
    let period = figures.period.to_string();
    row([
        lang.pick("projekt", "project"),
        project,
        "",
        "",
        "",
        "",
        &report.project.name,
        "",
        "",
        "",
        "",
    ]);
    row([
        lang.pick("period", "period"),
        "",
        "",
        "",
        "",
        "",
        &period,
        "",
        "",
        "",
        "",
    ]);
    let units = report.row_units();
    let unit_labels: std::collections::HashMap<&String, String> =
        units.iter().map(|u| (u, report.unit_label(u))).collect();
    let mut labels = std::collections::HashMap::new();
    for table in &figures.tables {
        let name = table.name.code();
        for cell in &table.cells {
            let Some(unit) = cell.key.first().filter(|u| unit_labels.contains_key(u)) else {
                continue;
            };
            let code = if unit == TOTAL { "" } else { unit.as_str() };
            let label = unit_labels.get(unit).cloned().unwrap_or_default();
            let dims: Vec<(String, String, String)> = table.dimensions[1..]
                .iter()
                .zip(&cell.key[1..])
                .map(|(d, v)| {
                    let label = labels
                        .entry((*d, v.clone()))
                        .or_insert_with(|| lang.value(*d, v))
                        .clone();
                    (lang.dimension(*d).to_owned(), v.clone(), label)
                })
                .collect();
            let get = |i: usize| dims.get(i).cloned().unwrap_or_default();
            let ((d1, c1, v1), (d2, c2, v2)) = (get(0), get(1));
            row([
                lang.pick("tabell", "table"),
                name,
                code,
                &label,
                &d1,
                &c1,
                &v1,
                &d2,
                &c2,
                &v2,
                &count(cell.count),
            ]);
        }
    }
    let distinct = lang.pick("unika_personer", "distinct_people");
    if let Ok(l) = &figures.linkage {
        let region = lang.region();
        row([
            distinct,
            "distinct_people",
            "",
            region,
            "",
            "",
            "",
            "",
            "",
            "",
            &count(l.distinct_people.count),
        ]);
        row([
            distinct,
            "in_several_kommuner",
            "",
            region,
            "",
            "",
            "",
            "",
            "",
            "",
            &count(l.in_several_kommuner.count),
        ]);
        for c in l.per_kommun.iter().filter(|c| units.contains(&c.label)) {
            row([
                distinct,
                "per_kommun",
                &c.label,
                &report.unit_label(&c.label),
                "",
                "",
                "",
                "",
                "",
                "",
                &count(c.count),
            ]);
        }
        for c in &l.kommun_overlaps {
            let (a, b) = c.label.split_once('+').unwrap_or((&c.label, ""));
            row([
                distinct,
                "kommun_overlap",
                a,
                &report.unit_label(a),
                "kommun",
                b,
                &report.unit_label(b),
                "",
                "",
                "",
                &count(c.count),
            ]);
        }
        for c in &l.project_overlaps {
            row([
                distinct,
                "project_overlap",
                "",
                region,
                lang.pick("projekt", "project"),
                &c.label,
                &c.label,
                "",
                "",
                "",
                &count(c.count),
            ]);
        }
    }
    let targets = lang.pick("mål", "targets");
    for p in &report.progress {
        let measure = lang.measure(p.measure);
        let figure = p
            .figure
            .map_or_else(|| "..".to_owned(), |f| format!("{f:.4}"));
        let target = p.target.map(|t| format!("{t:.4}")).unwrap_or_default();
        row([
            targets,
            "figure",
            "",
            lang.region(),
            measure,
            "",
            &figure,
            lang.pick("mål", "target"),
            "",
            &target,
            &count(p.part),
        ]);
    }
    for (kommun, cells) in &report.matrix.rows {
        for (period, at) in report.matrix.periods.iter().zip(cells) {
            row([
                lang.pick("inlämningar", "submissions"),
                "received",
                kommun.as_str(),
                &kommun.label(),
                "period",
                period,
                at.as_deref().unwrap_or(""),
                "",
                "",
                "",
                "",
            ]);
        }
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}
