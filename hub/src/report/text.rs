//! The terminal form: aligned tables, one section per kind of figure.

use samla_common::disclosure::SUPPRESSED;
use std::fmt::Write;

use samla_common::codes::KommunCode;
use samla_common::disclosure::PublishedTable;
use samla_common::statistics::Dimension;

use super::labels::count;
use super::sections;
use super::{cells_by_key, values_at, Report};

/// Renders the whole report for a terminal.
pub fn render(report: &Report) -> String {
    let lang = report.lang;
    let figures = report.figures();
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.title());
    if let Some(notice) = report.empty_notice() {
        let _ = writeln!(out, "{} {notice}", lang.pick("OBS!", "NOTE:"));
    }
    let _ = writeln!(
        out,
        "{} {}",
        lang.pick("Skapad", "Made"),
        report.generated_at
    );
    let _ = writeln!(out, "{}", report.rule_note());
    if let Some(note) = report.scheme_note() {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(
        out,
        "{}: {} / {}",
        lang.pick("Kommuner som lämnat in", "Kommuner that submitted"),
        figures.kommuner.len(),
        report.project.kommuner.len()
    );
    if !figures.missing.is_empty() {
        let _ = writeln!(
            out,
            "{}: {}",
            lang.pick("Saknas", "Missing"),
            kommun_list(&figures.missing)
        );
    }
    section(&mut out, lang.pick("Mål", "Targets"));
    out.push_str(&aligned(&sections::targets(report)));
    let _ = writeln!(out, "{}", sections::targets_note(report));
    if !report.project.target_groups.is_empty() {
        section(&mut out, lang.pick("Målgrupper", "Target groups"));
        if let Some(line) = sections::women_line(report) {
            let _ = writeln!(out, "{line}");
        }
        out.push_str(&aligned(&sections::target_group_rows(report)));
    }
    section(
        &mut out,
        lang.pick(
            "Inskrivna över tid (unika personer som har börjat)",
            "Cumulative enrolment (distinct people who have started)",
        ),
    );
    out.push_str(&aligned(&sections::enrolment_rows(report)));
    section(&mut out, lang.pick("Unika personer", "Distinct people"));
    out.push_str(&distinct(report));
    let _ = writeln!(out, "{}", sections::counts_note(report));
    section(
        &mut out,
        lang.pick(
            "ESF+ gemensamma indikatorer (förordning (EU) 2021/1057, bilaga I)",
            "ESF+ common indicators (Regulation (EU) 2021/1057, Annex I)",
        ),
    );
    out.push_str(&aligned(&sections::esf_rows(report)));
    section(
        &mut out,
        lang.pick(
            "Utfall efter bakgrund (regionen)",
            "Outcomes by background (region)",
        ),
    );
    out.push_str(&aligned(&outcome_rows(report)));
    for table in &figures.tables {
        section(&mut out, lang.table(table.name));
        out.push_str(&aligned(&table_rows(report, table)));
    }
    section(&mut out, lang.pick("Inlämningar", "Submissions"));
    out.push_str(&aligned(&matrix_rows(report)));
    out
}

/// Outcomes for all leavers and per background flag, as rows with a header.
pub(super) fn outcome_rows(report: &Report) -> Vec<Vec<String>> {
    let lang = report.lang;
    let mut rows = vec![vec![
        lang.pick("Bakgrund", "Background").to_owned(),
        lang.pick("Avslutade", "Leavers").to_owned(),
        lang.pick("Arbete eller studier", "Work or studies")
            .to_owned(),
        lang.pick("Andel", "Share").to_owned(),
    ]];
    for o in &report.outcomes {
        rows.push(vec![
            lang.value(Dimension::FlagOrAll, &o.flag),
            count(o.leavers),
            count(o.work_or_studies),
            match (o.share, o.leavers, o.work_or_studies) {
                (Some(s), _, _) => lang.percent(s),
                // No leavers (under the cell key method a small group can be
                // published as 0): nothing to divide, not a suppressed figure.
                (None, Some(_), Some(_)) => "–".to_owned(),
                _ => SUPPRESSED.to_owned(),
            },
        ]);
    }
    rows
}

/// The submission matrix as rows: kommun, then the date per period (`–`: none).
pub(super) fn matrix_rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = vec![std::iter::once("kommun".to_owned())
        .chain(report.matrix.periods.iter().cloned())
        .collect::<Vec<_>>()];
    for (kommun, cells) in &report.matrix.rows {
        rows.push(
            std::iter::once(kommun.label())
                .chain(
                    cells
                        .iter()
                        .map(|c| c.clone().unwrap_or_else(|| "–".to_owned())),
                )
                .collect(),
        );
    }
    rows
}

fn section(out: &mut String, title: &str) {
    let _ = write!(out, "\n{title}\n{}\n", "─".repeat(title.chars().count()));
}

fn kommun_list(kommuner: &[KommunCode]) -> String {
    kommuner
        .iter()
        .map(|k| format!("{} ({k})", k.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn distinct(report: &Report) -> String {
    if let Some(why) = report.linkage_split() {
        return format!("{why}\n");
    }
    match &report.figures().linkage {
        Ok(linkage) => aligned(&distinct_rows(report, linkage, true)),
        Err(problem) => format!(
            "{}: {problem}\n",
            report.lang.pick("Kan inte räknas", "Cannot be counted")
        ),
    }
}

/// Distinct people and overlaps as rows of label and count; with `per_kommun`, each
/// shown kommun's own count too.
pub(super) fn distinct_rows(
    report: &Report,
    linkage: &samla_common::report::PublishedLinkage,
    per_kommun: bool,
) -> Vec<Vec<String>> {
    let lang = report.lang;
    let mut rows = vec![
        vec![
            lang.pick(
                "Unika deltagare i regionen",
                "Distinct participants in the region",
            )
            .to_owned(),
            count(linkage.distinct_people.count),
        ],
        vec![
            lang.pick(
                "Deltagare i mer än en kommun",
                "Participants in more than one kommun",
            )
            .to_owned(),
            count(linkage.in_several_kommuner.count),
        ],
    ];
    for c in linkage
        .per_kommun
        .iter()
        .filter(|c| per_kommun && report.shown.iter().any(|k| k.as_str() == c.label))
    {
        rows.push(vec![
            format!("  {}", report.unit_label(&c.label)),
            count(c.count),
        ]);
    }
    for c in &linkage.kommun_overlaps {
        let names: Vec<String> = c.label.split('+').map(|k| report.unit_label(k)).collect();
        rows.push(vec![
            format!(
                "{} {}",
                lang.pick("I både", "In both"),
                names.join(lang.pick(" och ", " and "))
            ),
            count(c.count),
        ]);
    }
    for c in &linkage.project_overlaps {
        rows.push(vec![
            format!(
                "{} {}",
                lang.pick("Även i projekt", "Also in project"),
                c.label
            ),
            count(c.count),
        ]);
    }
    rows
}

/// A table as rows: for three dimensions, one row per kommun and value of the
/// second, one column per value of the third; for two (months), one row per month
/// and one column per kommun.
pub(super) fn table_rows(report: &Report, table: &PublishedTable) -> Vec<Vec<String>> {
    let lang = report.lang;
    let cells = cells_by_key(table);
    let units = report.row_units();
    let shown = |key: Vec<String>| count(cells.get(key.as_slice()).and_then(|c| c.count));
    if table.dimensions.len() == 2 {
        let mut rows = vec![
            std::iter::once(lang.dimension(table.dimensions[1]).to_owned())
                .chain(units.iter().map(|u| report.unit_label(u)))
                .collect::<Vec<_>>(),
        ];
        for value in values_at(table, 1) {
            rows.push(
                std::iter::once(lang.value(table.dimensions[1], &value))
                    .chain(units.iter().map(|u| shown(vec![u.clone(), value.clone()])))
                    .collect(),
            );
        }
        return rows;
    }
    let (second, third) = (table.dimensions[1], table.dimensions[2]);
    let columns = values_at(table, 2);
    let seconds: Vec<(String, String)> = values_at(table, 1)
        .into_iter()
        .map(|v| {
            let label = lang.value(second, &v);
            (v, label)
        })
        .collect();
    let mut rows = vec![
        std::iter::once(format!("kommun · {}", lang.dimension(second)))
            .chain(columns.iter().map(|c| lang.value(third, c)))
            .collect::<Vec<_>>(),
    ];
    let mut key = vec![String::new(); 3];
    for unit in &units {
        let unit_label = report.unit_label(unit);
        key[0].clone_from(unit);
        for (value, label) in &seconds {
            key[1].clone_from(value);
            let mut row = vec![format!("{unit_label} · {label}")];
            for c in &columns {
                key[2].clone_from(c);
                row.push(count(cells.get(key.as_slice()).and_then(|c| c.count)));
            }
            rows.push(row);
        }
    }
    rows
}

/// Rows as aligned text: the first column left, the others right.
fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|v| v.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, value) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(value.chars().count());
            if c == 0 {
                line.push_str(value);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(value);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
