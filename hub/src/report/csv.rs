//! The CSV form: one row per figure (section, table, kommun, up to two dimensions
//! with their values, count), labels in the report's language and codes beside
//! them, `..` for a suppressed count. The first rows state the rule.
//!
//! Swedish (the default) is written for Excel in a Swedish locale: a UTF-8 byte-order
//! mark, `;` between fields, decimal commas, and every code Excel would turn into a
//! number or a date (`0764`, `18-19`, `2025-07`) written as the formula `="0764"`,
//! which Excel shows as the text. English stays plain CSV: `,`, decimal points, codes
//! as they are, no BOM.

use samla_common::disclosure::SUPPRESSED;
use samla_common::disclosure::TOTAL;
use samla_common::report::{Measure, Scope, TargetProgress};

use super::labels::{count, Lang};
use super::sections::{esf_label, whole_label};
use super::Report;

/// A code as Excel in the language's locale keeps it: in Swedish, anything that
/// starts like a number becomes `="…"`.
fn code(lang: Lang, value: &str) -> String {
    let numeric = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+');
    if lang == Lang::Sv && numeric {
        format!("=\"{value}\"")
    } else {
        value.to_owned()
    }
}

/// A share as a percentage number (`39,5` / `39.5`).
fn percent_number(lang: Lang, share: f64) -> String {
    lang.decimal(&format!("{:.1}", share * 100.0))
}

/// Renders the report as CSV.
pub fn render(report: &Report) -> String {
    let lang = report.lang;
    let figures = report.figures();
    let mut builder = csv::WriterBuilder::new();
    if lang == Lang::Sv {
        builder.delimiter(b';');
    }
    let mut writer = builder.from_writer(Vec::new());
    let mut row = |fields: [&str; 11]| {
        // Codes (kommun code and the two value codes) keep their zeros.
        let mut fields: [String; 11] = fields.map(str::to_owned);
        for i in [2, 5, 8] {
            fields[i] = code(lang, &fields[i]);
        }
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(&fields);
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
    let rule = report.rule_note();
    let control = lang.pick("röjandekontroll", "disclosure_control");
    match &figures.cell_key {
        None => {
            let k = figures.rule.k.to_string();
            row([control, "k", "", "", "", "", &rule, "", "", "", &k]);
        }
        Some(method) => {
            let d = method.params.max_noise.to_string();
            row([control, "cell-key", "", "", "", "", &rule, "", "", "", &d]);
        }
    }
    // How the pseudonyms were made: one row per kommun, its scheme and key id.
    let pseudonyms = lang.pick("pseudonymer", "pseudonyms");
    for group in &report.schemes {
        let key_id = group.key_id.to_string();
        for k in &group.kommuner {
            row([
                pseudonyms,
                group.scheme.code(),
                k.as_str(),
                &k.label(),
                lang.pick("nyckel_id", "key_id"),
                &key_id,
                super::scheme::scheme_name(lang, group.scheme),
                "",
                "",
                "",
                "",
            ]);
        }
    }
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
    let period_label = lang.period(&figures.period, report.lifetime);
    row([
        lang.pick("period", "period"),
        "",
        "",
        "",
        "",
        &period,
        &period_label,
        "",
        "",
        "",
        "",
    ]);
    row([
        lang.pick("skapad", "made"),
        "",
        "",
        "",
        "",
        "",
        &report.generated_at,
        "",
        "",
        "",
        "",
    ]);
    if let Some(notice) = report.empty_notice() {
        row([
            lang.pick("obs", "notice"),
            "empty",
            "",
            "",
            "",
            "",
            &notice,
            "",
            "",
            "",
            "",
        ]);
    }
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
    if let Some(why) = report.linkage_split() {
        row([
            distinct,
            "not_given",
            "",
            lang.region(),
            "",
            "",
            why,
            "",
            "",
            "",
            "",
        ]);
    } else if let Ok(l) = &figures.linkage {
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
        for (attribute, text, number) in target_fields(lang, p) {
            row([
                targets,
                measure_code(p),
                "",
                lang.region(),
                attribute,
                "",
                &text,
                lang.measure(p.measure),
                "",
                "",
                &number,
            ]);
        }
    }
    let enrolment = lang.pick("inskrivna_över_tid", "cumulative_enrolment");
    for p in &report.enrolment {
        row([
            enrolment,
            "cumulative_enrolment",
            "",
            lang.region(),
            lang.pick("månad", "month"),
            &p.month,
            &p.up_to.to_string(),
            "",
            "",
            "",
            &count(p.count),
        ]);
    }
    let esf = lang.pick("esf_indikatorer", "esf_indicators");
    for (indicator, value) in report.esf.rows() {
        row([
            esf,
            indicator,
            "",
            lang.region(),
            lang.pick("indikator", "indicator"),
            "",
            esf_label(lang, indicator).trim(),
            "",
            "",
            "",
            &count(value),
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
    let text = String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default();
    match lang {
        Lang::Sv => format!("\u{feff}{text}"),
        Lang::En => text,
    }
}

/// The measure's code.
fn measure_code(p: &TargetProgress) -> &'static str {
    match p.measure {
        Measure::Participants => "participants",
        Measure::ShareWomen => "share_women",
        Measure::ShareWorkOrStudies => "share_work_or_studies",
        Measure::ShareIntoActivity => "share_into_activity",
    }
}

/// A target's figures as (attribute, words, number) rows: part, whole, the figure in
/// per cent (and its interval where suppressed), the target, and the time covered.
fn target_fields(lang: Lang, p: &TargetProgress) -> Vec<(&'static str, String, String)> {
    let is_count = p.measure == Measure::Participants;
    let value = |v: f64| {
        if is_count {
            format!("{v:.0}")
        } else {
            percent_number(lang, v)
        }
    };
    let mut out = vec![("part", String::new(), count(p.part))];
    if !is_count {
        out.push(("whole", whole_label(lang, p).to_owned(), count(p.whole)));
    }
    let figure_name = if is_count { "figure" } else { "figure_percent" };
    out.push((
        figure_name,
        String::new(),
        p.figure.map_or_else(|| SUPPRESSED.to_owned(), value),
    ));
    if let Some((low, high)) = p.interval {
        out.push((
            "interval_low_percent",
            String::new(),
            percent_number(lang, low),
        ));
        out.push((
            "interval_high_percent",
            String::new(),
            percent_number(lang, high),
        ));
    }
    let target_name = if is_count { "target" } else { "target_percent" };
    out.push((
        target_name,
        String::new(),
        p.target.map(value).unwrap_or_default(),
    ));
    let scope = match p.scope {
        Scope::Lifetime => "lifetime".to_owned(),
        Scope::Cumulative(to) => format!("cumulative:{to}"),
        Scope::PeriodOnly => "period".to_owned(),
    };
    out.push(("scope", lang.scope(p.scope), scope));
    out
}
