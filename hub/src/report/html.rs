//! The HTML form: one self-contained page (inline CSS and SVG, no scripts, nothing
//! fetched) with the targets, charts of cumulative enrolment against the
//! participants target, distinct participants per kommun, outcome shares, gender
//! shares and the monthly series, the ESF+ indicators, then every table.

use samla_common::disclosure::SUPPRESSED;
use std::fmt::Write;

use samla_common::codes::{Gender, Outcome};
use samla_common::disclosure::TOTAL;
use samla_common::report::{Basis, Measure};
use samla_common::statistics::{Dimension, TableName};

use super::sections;
use super::text::{distinct_rows, matrix_rows, outcome_rows, table_rows};
use super::{cells_by_key, Report};

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.2rem;margin:32px 0 8px;border-bottom:2px solid #e3e7ec;padding-bottom:4px}
h3{font-size:1rem;margin:20px 0 6px}
.meta{color:#566372;font-size:.9rem;margin:2px 0}
.rule{background:#f1f4f8;border-left:4px solid #3a6ea5;padding:8px 12px;font-size:.85rem;margin:12px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:18px}
figure{margin:0;border:1px solid #e3e7ec;border-radius:6px;padding:10px 12px}
figcaption{font-weight:600;font-size:.95rem;margin-bottom:6px}
table{border-collapse:collapse;font-size:.85rem;margin:6px 0 12px;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid #edf0f3;text-align:right}
td:not(:first-child){white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:#f1f4f8}
tr.region td{font-weight:600;border-top:2px solid #c9d1da}
.missing{color:#a33}
.note{color:#566372;font-size:.8rem}
svg text{font-size:12px;fill:#1d2733}
";

const COLOURS: [&str; 6] = [
    "#3a6ea5", "#e07b39", "#7aa95c", "#b05fa5", "#c9b037", "#8c8c8c",
];

/// Renders the report as one HTML page.
pub fn render(report: &Report) -> String {
    let lang = report.lang;
    let figures = report.figures();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\n",
        lang.code(),
        escape(&report.title())
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&report.title()));
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} {} · {} {}/{}</p>",
        lang.pick("Skapad", "Made"),
        escape(&report.generated_at),
        lang.pick("kommuner som lämnat in:", "kommuner that submitted:"),
        figures.kommuner.len(),
        report.project.kommuner.len()
    );
    if let Some(notice) = report.empty_notice() {
        let _ = writeln!(
            out,
            "<p class=\"rule missing\"><strong>{}</strong></p>",
            escape(&notice)
        );
    }
    if !figures.missing.is_empty() {
        let names: Vec<String> = figures
            .missing
            .iter()
            .map(|k| format!("{} ({k})", k.label()))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"meta missing\">{}: {}</p>",
            lang.pick("Saknas", "Missing"),
            escape(&names.join(", "))
        );
    }
    let _ = writeln!(out, "<p class=\"rule\">{}</p>", escape(&report.rule_note()));
    if let Some(note) = report.scheme_note() {
        let _ = writeln!(out, "<p class=\"rule scheme\">{}</p>", escape(&note));
    }
    let _ = writeln!(out, "<h2>{}</h2>", lang.pick("Mål", "Targets"));
    out.push_str(&html_table(&sections::targets(report), false));
    let _ = writeln!(
        out,
        "<p class=\"note\">{}</p>",
        escape(&sections::targets_note(report))
    );
    if !report.project.target_groups.is_empty() {
        let _ = writeln!(out, "<h2>{}</h2>", lang.pick("Målgrupper", "Target groups"));
        if let Some(line) = sections::women_line(report) {
            let _ = writeln!(out, "<p><strong>{}</strong></p>", escape(&line));
        }
        out.push_str(&html_table(&sections::target_group_rows(report), false));
    }
    let _ = writeln!(
        out,
        "<h2>{}</h2><div class=\"grid\">",
        lang.pick("Diagram", "Charts")
    );
    out.push_str(&enrolment_chart(report));
    out.push_str(&participants_chart(report));
    out.push_str(&outcome_chart(report));
    out.push_str(&gender_chart(report));
    out.push_str(&monthly_chart(report));
    out.push_str("</div>\n");
    let _ = writeln!(
        out,
        "<h2>{}</h2>",
        lang.pick("Unika personer", "Distinct people")
    );
    out.push_str(&distinct_table(report));
    let _ = writeln!(
        out,
        "<p class=\"note\">{}</p>",
        escape(&sections::counts_note(report))
    );
    let _ = writeln!(
        out,
        "<h2>{}</h2>",
        lang.pick(
            "ESF+ gemensamma indikatorer (förordning (EU) 2021/1057, bilaga I)",
            "ESF+ common indicators (Regulation (EU) 2021/1057, Annex I)"
        )
    );
    out.push_str(&html_table(&sections::esf_rows(report), false));
    let _ = writeln!(
        out,
        "<h2>{}</h2>",
        lang.pick("Utfall efter bakgrund", "Outcomes by background")
    );
    out.push_str(&html_table(&outcome_rows(report), false));
    let _ = writeln!(out, "<h2>{}</h2>", lang.pick("Tabeller", "Tables"));
    for table in &figures.tables {
        let _ = writeln!(out, "<h3>{}</h3>", escape(lang.table(table.name)));
        out.push_str(&html_table(
            &table_rows(report, table),
            table.dimensions.len() == 3,
        ));
    }
    let _ = writeln!(out, "<h2>{}</h2>", lang.pick("Inlämningar", "Submissions"));
    out.push_str(&html_table(&matrix_rows(report), false));
    let _ = writeln!(
        out,
        "<p class=\"note\">samla · {}</p></main></body></html>",
        match &figures.cell_key {
            None => format!("k = {}", figures.rule.k),
            Some(m) => format!(
                "{} D = {}",
                lang.pick("cellnyckelmetoden,", "cell key method,"),
                m.params.max_noise
            ),
        }
    );
    out
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Rows as an HTML table, the first row as header; `regions` marks rows of the
/// region (their label starts with the region's name).
fn html_table(rows: &[Vec<String>], regions: bool) -> String {
    let mut out = String::from("<table>");
    for (i, row) in rows.iter().enumerate() {
        let cell = if i == 0 { "th" } else { "td" };
        if i == 0 {
            out.push_str("<thead>");
        }
        let region = regions
            && i > 0
            && row
                .first()
                .is_some_and(|l| l.starts_with("Regionen") || l.starts_with("Region "));
        out.push_str(if region {
            "<tr class=\"region\">"
        } else {
            "<tr>"
        });
        for value in row {
            let _ = write!(out, "<{cell}>{}</{cell}>", escape(value));
        }
        out.push_str("</tr>");
        if i == 0 {
            out.push_str("</thead><tbody>");
        }
    }
    out.push_str("</tbody></table>\n");
    out
}

fn distinct_table(report: &Report) -> String {
    if let Some(why) = report.linkage_split() {
        return format!("<p>{}</p>\n", escape(why));
    }
    match &report.figures().linkage {
        Err(problem) => format!("<p>{}</p>\n", escape(problem)),
        Ok(l) => {
            let mut rows = vec![vec![
                String::new(),
                report.lang.pick("Antal", "Count").to_owned(),
            ]];
            rows.extend(distinct_rows(report, l, false));
            html_table(&rows, false)
        }
    }
}

/// A horizontal bar chart: one bar per item, `..` where a value is suppressed, and
/// an optional dashed target line.
fn bar_chart(
    caption: &str,
    items: &[(String, Option<f64>, String)],
    target: Option<(f64, String)>,
) -> String {
    let max = items
        .iter()
        .filter_map(|(_, v, _)| *v)
        .chain(target.as_ref().map(|(t, _)| *t))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let (label_w, bar_w, row_h) = (150.0, 300.0, 22.0);
    let height = row_h * items.len() as f64 + 30.0;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 520 {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        escape(caption),
        escape(caption)
    );
    for (i, (label, value, text)) in items.iter().enumerate() {
        let y = 8.0 + row_h * i as f64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 13.0,
            escape(label)
        );
        match value {
            Some(v) => {
                let w = bar_w * v / max;
                let _ = write!(
                    svg,
                    "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"{}\"/>\
                     <text x=\"{:.1}\" y=\"{}\">{}</text>",
                    COLOURS[0],
                    label_w + w + 4.0,
                    y + 13.0,
                    escape(text)
                );
            }
            None => {
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" fill=\"#888\">..</text>",
                    label_w + 4.0,
                    y + 13.0
                );
            }
        }
    }
    if let Some((t, label)) = target {
        let x = label_w + bar_w * t / max;
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"2\" y2=\"{}\" stroke=\"#a33\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{x:.1}\" y=\"{}\" fill=\"#a33\" text-anchor=\"middle\">{}</text>",
            height - 18.0,
            height - 4.0,
            escape(&label)
        );
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// Each shown kommun's distinct participants (from its linkage set).
fn participants_chart(report: &Report) -> String {
    let lang = report.lang;
    let Ok(linkage) = &report.figures().linkage else {
        return String::new();
    };
    let items: Vec<(String, Option<f64>, String)> = linkage
        .per_kommun
        .iter()
        .filter(|c| report.shown.iter().any(|k| k.as_str() == c.label))
        .map(|c| {
            (
                report.unit_label(&c.label),
                c.count.map(|n| n as f64),
                super::labels::count(c.count),
            )
        })
        .collect();
    let caption = format!(
        "{} — {}: {}",
        lang.pick(
            "Unika deltagare per kommun",
            "Distinct participants per kommun"
        ),
        lang.pick("regionen", "region"),
        super::labels::count(linkage.distinct_people.count)
    );
    bar_chart(&caption, &items, None)
}

/// Distinct people who have started, month by month, against the participants target.
fn enrolment_chart(report: &Report) -> String {
    let lang = report.lang;
    let caption = lang.pick(
        "Inskrivna över tid: unika personer som har börjat",
        "Cumulative enrolment: distinct people who have started",
    );
    let points: Vec<(String, Option<u64>)> = report
        .enrolment
        .iter()
        .map(|p| (p.month.clone(), p.count))
        .collect();
    if points.is_empty() {
        return format!(
            "<figure><figcaption>{caption}</figcaption><p class=\"note\">{}</p></figure>\n",
            lang.pick(
                "Inga månader är täckta av inlämningar från projektets start.",
                "No month is covered by submissions from the project's start."
            )
        );
    }
    let target = report
        .progress
        .iter()
        .find(|p| p.measure == Measure::Participants)
        .and(report.project.targets.participants);
    line_chart(caption, &points, target)
}

fn outcome_chart(report: &Report) -> String {
    let lang = report.lang;
    let Some(table) = report.figures().table(TableName::Leavers) else {
        return String::new();
    };
    let whole = table.count(&[TOTAL, TOTAL, TOTAL]);
    let items: Vec<(String, Option<f64>, String)> = Outcome::ALL
        .iter()
        .map(|o| {
            let share = table
                .count(&[TOTAL, TOTAL, o.code()])
                .zip(whole)
                .filter(|(_, w)| *w > 0)
                .map(|(n, w)| n as f64 / w as f64);
            (
                lang.value(Dimension::Outcome, o.code()),
                share,
                share.map_or_else(|| SUPPRESSED.to_owned(), |s| lang.percent(s)),
            )
        })
        .collect();
    let target = report
        .progress
        .iter()
        .find(|p| p.measure == Measure::ShareWorkOrStudies)
        .and(report.project.targets.share_work_or_studies)
        .map(|t| {
            (
                t.share,
                format!(
                    "{} {}",
                    lang.pick("mål arbete+studier", "target work+studies"),
                    lang.percent(t.share)
                ),
            )
        });
    bar_chart(
        lang.pick(
            "Utfall bland avslutade (regionen)",
            "Outcomes of leavers (region)",
        ),
        &items,
        target,
    )
}

/// Stacked bars of gender shares per kommun and for the region.
fn gender_chart(report: &Report) -> String {
    let lang = report.lang;
    let Some(table) = report.figures().table(TableName::Participants) else {
        return String::new();
    };
    let cells = cells_by_key(table);
    let units = report.row_units();
    // Women among the region's participants (table sums), or their interval.
    let region_women = report
        .progress
        .iter()
        .find(|p| p.measure == Measure::ShareWomen && p.basis == Basis::SumOverKommuner)
        .and_then(|p| p.figure.map(|f| (f, f)).or(p.interval));
    let (label_w, bar_w, row_h) = (150.0, 330.0, 22.0);
    let height = row_h * units.len() as f64 + 34.0;
    let caption = lang.pick("Kön bland deltagarna", "Gender of participants");
    let mut svg = format!(
        "<figure><figcaption>{caption}</figcaption><svg viewBox=\"0 0 520 {height}\" width=\"100%\" role=\"img\" aria-label=\"{caption}\">"
    );
    for (i, unit) in units.iter().enumerate() {
        let y = 8.0 + row_h * i as f64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 13.0,
            escape(&if unit == TOTAL {
                lang.region().to_owned()
            } else {
                report.unit_label(unit)
            })
        );
        let get = |g: &str| {
            let key = [unit.clone(), g.to_owned(), TOTAL.to_owned()];
            cells.get(key.as_slice()).and_then(|c| c.count)
        };
        let all = get(TOTAL);
        let parts: Option<Vec<u64>> = Gender::ALL.iter().map(|g| get(g.code())).collect();
        match (parts, all) {
            (Some(parts), Some(all)) if all > 0 => {
                let mut x = label_w;
                for (g, n) in parts.iter().enumerate() {
                    let w = bar_w * *n as f64 / all as f64;
                    let _ = write!(
                        svg,
                        "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"{}\"/>",
                        COLOURS[g]
                    );
                    if w > 34.0 {
                        let _ = write!(
                            svg,
                            "<text x=\"{:.1}\" y=\"{}\" fill=\"#fff\">{}</text>",
                            x + 4.0,
                            y + 13.0,
                            lang.percent(*n as f64 / all as f64)
                        );
                    }
                    x += w;
                }
            }
            _ => match region_women.filter(|_| unit == TOTAL) {
                // The region's women as the interval the published cells imply: the
                // lower bound solid, the rest of the interval lighter.
                Some((low, high)) => {
                    let (w_low, w_high) = (bar_w * low, bar_w * (high - low));
                    let _ = write!(
                        svg,
                        "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w_low:.1}\" height=\"16\" fill=\"{}\"/>\
                         <rect x=\"{:.1}\" y=\"{y}\" width=\"{w_high:.1}\" height=\"16\" fill=\"{}\" opacity=\"0.45\"/>\
                         <text x=\"{:.1}\" y=\"{}\" fill=\"#fff\">{}</text>",
                        COLOURS[0],
                        label_w + w_low,
                        COLOURS[0],
                        label_w + 4.0,
                        y + 13.0,
                        escape(&format!(
                            "{} {}",
                            lang.value(Dimension::Gender, Gender::Woman.code()),
                            if high > low {
                                lang.percent_interval((low, high))
                            } else {
                                lang.percent(low)
                            }
                        ))
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        "<text x=\"{}\" y=\"{}\" fill=\"#888\">..</text>",
                        label_w + 4.0,
                        y + 13.0
                    );
                }
            },
        }
    }
    let mut x = label_w;
    for (g, gender) in Gender::ALL.iter().enumerate() {
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            height - 16.0,
            COLOURS[g],
            x + 14.0,
            height - 7.0,
            lang.value(Dimension::Gender, gender.code())
        );
        x += 90.0;
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// The monthly series as a line with points; a suppressed month is a gap.
fn monthly_chart(report: &Report) -> String {
    let lang = report.lang;
    if report.monthly.is_empty() {
        return String::new();
    }
    let caption = lang.pick(
        "Aktiva deltagare per månad (regionen, summa över kommuner)",
        "Active participants per month (region, sum over kommuner)",
    );
    line_chart(caption, &report.monthly, None)
}

/// A series as a line with points, a suppressed point as a gap, and an optional
/// dashed target line.
fn line_chart(caption: &str, points: &[(String, Option<u64>)], target: Option<u64>) -> String {
    let max = points
        .iter()
        .filter_map(|(_, n)| *n)
        .chain(target)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (left, width, top, height) = (46.0, 440.0, 10.0, 170.0);
    let step = width / (points.len().max(2) - 1) as f64;
    let mut svg = format!(
        "<figure><figcaption>{caption}</figcaption><svg viewBox=\"0 0 520 {}\" width=\"100%\" role=\"img\" aria-label=\"{caption}\">",
        height + 40.0
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{}\" stroke=\"#c9d1da\"/>\
         <line x1=\"{left}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#c9d1da\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max:.0}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        top + height,
        left + width,
        top + height,
        top + height,
        left - 4.0,
        top + 10.0,
        left - 4.0,
        top + height
    );
    let xy = |i: usize, n: u64| {
        (
            left + step * i as f64,
            top + height - height * n as f64 / max,
        )
    };
    let mut path = String::new();
    for (i, (_, n)) in points.iter().enumerate() {
        match n {
            Some(n) => {
                let (x, y) = xy(i, *n);
                let _ = write!(
                    path,
                    "{}{x:.1},{y:.1} ",
                    if path.is_empty() || points[i - 1].1.is_none() {
                        "M"
                    } else {
                        "L"
                    }
                );
                let _ = write!(
                    svg,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{}\"/>",
                    COLOURS[0]
                );
            }
            None => {
                let x = left + step * i as f64;
                let _ = write!(
                    svg,
                    "<text x=\"{x:.1}\" y=\"{}\" fill=\"#888\" text-anchor=\"middle\">..</text>",
                    top + height - 4.0
                );
            }
        }
    }
    let _ = write!(
        svg,
        "<path d=\"{path}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
        COLOURS[0]
    );
    if let Some(t) = target {
        let y = top + height - height * t as f64 / max;
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#a33\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{}\" y=\"{:.1}\" fill=\"#a33\" text-anchor=\"end\">{t}</text>",
            left + width,
            left + width,
            y - 4.0
        );
    }
    let every = points.len().div_ceil(8).max(1);
    for (i, (month, _)) in points.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            left + step * i as f64,
            top + height + 16.0,
            escape(month)
        );
    }
    svg.push_str("</svg></figure>\n");
    svg
}
