//! The PC-Axis form (PX, the file format of SCB's Statistikdatabasen): one table per
//! file, keywords in the order the PX specification gives, the kommuner and the
//! region as the first stub variable, and `".."` for a suppressed cell.

use samla_common::disclosure::SUPPRESSED;
use std::fmt::Write;

use samla_common::disclosure::{PublishedTable, TOTAL};
use samla_common::statistics::TableName;

use super::sections::esf_label;
use super::{cells_by_key, values_at, Report};

/// Renders one table of the report as a PX file.
pub fn render(report: &Report, name: TableName) -> String {
    let figures = report.figures();
    let Some(table) = figures.table(name) else {
        return String::new();
    };
    let variables: Vec<Variable> = variables(report, table);
    let header = Header {
        matrix: name.code(),
        table: report.lang.table(name),
        title: title(report, name, &variables),
    };
    let cells = cells_by_key(table);
    document(report, &header, &variables, |key| {
        cells.get(key).and_then(|cell| cell.count)
    })
}

/// The ESF+ common indicators (Regulation (EU) 2021/1057, Annex I) as a PX table:
/// the indicator as the stub, the region as the heading, the same values as every
/// other format gives, `".."` where disclosure control suppressed one.
pub fn render_esf(report: &Report) -> String {
    let lang = report.lang;
    let rows = report.esf.rows();
    let region = region_code(report);
    let variables = vec![
        Variable {
            name: lang.pick("indikator", "indicator").to_owned(),
            keys: rows.iter().map(|(code, _)| (*code).to_owned()).collect(),
            codes: rows.iter().map(|(code, _)| (*code).to_owned()).collect(),
            labels: rows
                .iter()
                .map(|(code, _)| esf_label(lang, code).trim().to_owned())
                .collect(),
        },
        Variable {
            name: lang.pick("region", "region").to_owned(),
            keys: vec![TOTAL.to_owned()],
            codes: vec![region],
            labels: vec![report.unit_label(TOTAL)],
        },
    ];
    let table = lang.pick("ESF+ gemensamma indikatorer", "ESF+ common indicators");
    let header = Header {
        matrix: "esf",
        table,
        title: format!(
            "{table} {} {}. {}, {}",
            lang.pick("efter", "by"),
            variables[0].name,
            report.project.name,
            lang.period(&report.figures().period, report.lifetime)
        ),
    };
    let values: std::collections::BTreeMap<&str, Option<u64>> = rows.into_iter().collect();
    document(report, &header, &variables, |key| {
        key.first()
            .and_then(|code| values.get(code.as_str()).copied().flatten())
    })
}

/// What differs between the PX files of one report.
struct Header<'a> {
    /// The table's code, the second part of MATRIX.
    matrix: &'a str,
    /// The table's full name, for DESCRIPTION and CONTENTS.
    table: &'a str,
    title: String,
}

/// The PX file of `variables` (the last one the heading), `value` giving each cell
/// by its key, `None` for a suppressed one.
fn document(
    report: &Report,
    header: &Header<'_>,
    variables: &[Variable],
    value: impl Fn(&[String]) -> Option<u64>,
) -> String {
    let lang = report.lang;
    let figures = report.figures();
    let (stub, heading) = variables.split_at(variables.len() - 1);
    let mut out = String::new();
    keyword(&mut out, "CHARSET", &quoted("ANSI"));
    keyword(&mut out, "AXIS-VERSION", &quoted("2013"));
    keyword(&mut out, "CODEPAGE", &quoted("utf-8"));
    keyword(&mut out, "LANGUAGE", &quoted(lang.code()));
    keyword(&mut out, "CREATION-DATE", &quoted(&report.created));
    keyword(&mut out, "DECIMALS", "0");
    keyword(&mut out, "SHOWDECIMALS", "0");
    keyword(
        &mut out,
        "MATRIX",
        &quoted(&format!("{}_{}", report.project.code, header.matrix).to_uppercase()),
    );
    keyword(&mut out, "SUBJECT-CODE", &quoted("AM"));
    keyword(
        &mut out,
        "SUBJECT-AREA",
        &quoted(lang.pick("Arbetsmarknad", "Labour market")),
    );
    let contents = format!(
        "{}, {}, {}",
        header.table, report.project.name, figures.period
    );
    keyword(&mut out, "DESCRIPTION", &quoted(&contents));
    keyword(&mut out, "TITLE", &quoted(&header.title));
    keyword(&mut out, "CONTENTS", &quoted(&contents));
    keyword(
        &mut out,
        "UNITS",
        &quoted(lang.pick("antal personer", "number of people")),
    );
    keyword(
        &mut out,
        "STUB",
        &list(stub.iter().map(|v| v.name.as_str())),
    );
    keyword(
        &mut out,
        "HEADING",
        &list(heading.iter().map(|v| v.name.as_str())),
    );
    for v in variables {
        keyword(
            &mut out,
            &format!("VALUES({})", quoted(&v.name)),
            &list(v.labels.iter().map(String::as_str)),
        );
    }
    for v in variables {
        keyword(
            &mut out,
            &format!("CODES({})", quoted(&v.name)),
            &list(v.codes.iter().map(String::as_str)),
        );
    }
    keyword(&mut out, "SOURCE", &quoted("samla"));
    keyword(&mut out, "NOTEX", &quoted(&report.rule_note()));
    if let Some(note) = report.scheme_note() {
        keyword(&mut out, "NOTE", &quoted(&note));
    }
    out.push_str("DATA=\n");
    let rows: Vec<Vec<String>> = combinations(stub);
    for row in rows {
        let values: Vec<String> = heading[0]
            .keys
            .iter()
            .map(|c| {
                let mut key = row.clone();
                key.push(c.clone());
                value(&key).map_or_else(|| format!("\"{SUPPRESSED}\""), |n| n.to_string())
            })
            .collect();
        out.push_str(&values.join(" "));
        out.push('\n');
    }
    out.push_str(";\n");
    out
}

/// One variable of the PX table: its name, and its values' codes and labels.
struct Variable {
    name: String,
    /// The values as the report's keys hold them (`total` for the region).
    keys: Vec<String>,
    /// The values' codes in the file.
    codes: Vec<String>,
    labels: Vec<String>,
}

fn variables(report: &Report, table: &PublishedTable) -> Vec<Variable> {
    let lang = report.lang;
    let units = report.row_units();
    let region = region_code(report);
    let mut out = vec![Variable {
        name: lang.pick("region", "region").to_owned(),
        labels: units.iter().map(|u| report.unit_label(u)).collect(),
        codes: units
            .iter()
            .map(|u| {
                if u == TOTAL {
                    region.clone()
                } else {
                    u.clone()
                }
            })
            .collect(),
        keys: units,
    }];
    for (position, dimension) in table.dimensions.iter().enumerate().skip(1) {
        let codes = values_at(table, position);
        out.push(Variable {
            name: lang.dimension(*dimension).to_owned(),
            labels: codes.iter().map(|c| lang.value(*dimension, c)).collect(),
            keys: codes.clone(),
            codes,
        });
    }
    out
}

/// Every key prefix of the stub variables, first variable slowest.
fn combinations(stub: &[Variable]) -> Vec<Vec<String>> {
    let mut rows = vec![Vec::new()];
    for v in stub {
        rows = rows
            .into_iter()
            .flat_map(|prefix| {
                v.keys.iter().map(move |c| {
                    let mut row = prefix.clone();
                    row.push(c.clone());
                    row
                })
            })
            .collect();
    }
    rows
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "'"))
}

/// A list of quoted strings, wrapped so no line passes 256 characters.
fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut line = 0;
    for (i, item) in items.enumerate() {
        let q = quoted(item);
        if i > 0 {
            out.push(',');
            line += 1;
            if line + q.len() > 200 {
                out.push('\n');
                line = 0;
            }
        }
        line += q.len();
        out.push_str(&q);
    }
    out
}

/// `KEYWORD=value;` with a long quoted value split into quoted pieces on lines of
/// their own, as the PX specification allows.
fn keyword(out: &mut String, name: &str, value: &str) {
    if value.len() + name.len() < 250 || !value.starts_with('"') || value.contains("\",\"") {
        let _ = writeln!(out, "{name}={value};");
        return;
    }
    let inner = &value[1..value.len() - 1];
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for ch in inner.chars() {
        if piece.len() > 180 && ch == ' ' {
            pieces.push(std::mem::take(&mut piece));
        }
        piece.push(ch);
    }
    pieces.push(piece);
    let _ = writeln!(
        out,
        "{name}={};",
        pieces
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A title as SCB writes them: "Deltagare efter kommun, kön och ålder. UNG – Ung
/// Nu Gävleborg, 2025".
fn title(report: &Report, name: TableName, variables: &[Variable]) -> String {
    let lang = report.lang;
    let full = lang.table(name);
    let noun = full
        .split_once(lang.pick(" efter ", " by "))
        .map_or(full, |(noun, _)| noun);
    let names: Vec<&str> = variables.iter().map(|v| v.name.as_str()).collect();
    let by = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} {} {last}", rest.join(", "), lang.pick("och", "and")),
        None => String::new(),
    };
    format!(
        "{noun} {} {by}. {}, {}",
        lang.pick("efter", "by"),
        report.project.name,
        lang.period(&report.figures().period, report.lifetime)
    )
}

/// The region's code: the county (län) code its kommuner share, e.g. `21` for
/// Gävleborg, as SCB codes a county; `region` if they span counties.
fn region_code(report: &Report) -> String {
    let counties: Vec<&str> = report
        .project
        .kommuner
        .iter()
        .map(|k| k.as_str().get(..2).unwrap_or(""))
        .collect();
    match counties.first() {
        Some(first) if counties.iter().all(|c| c == first) => (*first).to_owned(),
        _ => "region".to_owned(),
    }
}
