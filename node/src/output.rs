//! What the node prints: file summaries, and submissions before and after disclosure
//! control, as terminal tables, JSON or CSV.

use std::io::Write;

use samla_common::disclosure::{Disclosed, PublishedStatistics};
use samla_common::statistics::Statistics;
use serde::Serialize;

use crate::ingest::FileSummary;

/// How `preview` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal.
    Table,
    /// The complete content, linkage pseudonyms included.
    Json,
    /// One row per cell.
    Csv,
}

/// How many rejections a summary prints before pointing to the reject report.
const REJECTIONS_SHOWN: usize = 20;

/// Prints one file's summary for `check` and `preview`.
pub fn write_file_summary(out: &mut impl Write, s: &FileSummary) -> std::io::Result<()> {
    writeln!(out, "{}: {}", s.path.display(), s.format)?;
    match s.title_rows {
        0 => writeln!(out, "  header on {}", s.header_at)?,
        n => writeln!(
            out,
            "  header on {} ({n} title row(s) above it skipped)",
            s.header_at
        )?,
    }
    writeln!(
        out,
        "  rows read {}, accepted {}, rejected {}",
        s.rows,
        s.accepted,
        s.rejections.len()
    )?;
    for (kind, n) in s.rejections_by_kind() {
        writeln!(out, "    {kind}: {n}")?;
    }
    if !s.dropped_columns.is_empty() {
        writeln!(
            out,
            "  columns dropped (not fields, never read): {}",
            s.dropped_columns.join(", ")
        )?;
    }
    if !s.absent_fields.is_empty() {
        let names: Vec<String> = s.absent_fields.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "  optional fields with no column (empty in every row): {}",
            names.join(", ")
        )?;
    }
    for w in &s.header_warnings {
        writeln!(out, "  varning: {w}")?;
    }
    for r in s.rejections.iter().take(REJECTIONS_SHOWN) {
        writeln!(out, "  {}", r)?;
    }
    if s.rejections.len() > REJECTIONS_SHOWN {
        writeln!(
            out,
            "  … {} more in the reject report",
            s.rejections.len() - REJECTIONS_SHOWN
        )?;
    }
    Ok(())
}

/// A file summary in JSON.
#[derive(Serialize)]
pub struct FileSummaryJson {
    path: String,
    format: String,
    rows: u64,
    accepted: u64,
    rejected: usize,
    rejected_by_kind: Vec<(&'static str, usize)>,
    dropped_columns: Vec<String>,
    header_at: String,
    title_rows: u64,
    header_warnings: Vec<String>,
    absent_fields: Vec<String>,
}

impl From<&FileSummary> for FileSummaryJson {
    fn from(s: &FileSummary) -> Self {
        FileSummaryJson {
            path: s.path.display().to_string(),
            format: s.format.to_string(),
            rows: s.rows,
            accepted: s.accepted,
            rejected: s.rejections.len(),
            rejected_by_kind: s.rejections_by_kind(),
            dropped_columns: s.dropped_columns.clone(),
            header_at: s.header_at.clone(),
            title_rows: s.title_rows,
            header_warnings: s.header_warnings.iter().map(ToString::to_string).collect(),
            absent_fields: s.absent_fields.iter().map(ToString::to_string).collect(),
        }
    }
}

/// One submission and its disclosure-controlled form.
pub struct Preview<'a> {
    /// The exact content as it would be sent.
    pub statistics: &'a Statistics,
    /// The same after disclosure control.
    pub disclosed: &'a Disclosed<PublishedStatistics>,
}

#[derive(Serialize)]
struct PreviewJson<'a> {
    submission: &'a Statistics,
    disclosed: &'a PublishedStatistics,
}

/// Prints previews in the chosen format.
pub fn write_previews(
    out: &mut impl Write,
    previews: &[Preview<'_>],
    files: &[FileSummary],
    format: Format,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct All<'a> {
                submissions: Vec<PreviewJson<'a>>,
                files: Vec<FileSummaryJson>,
            }
            let all = All {
                submissions: previews
                    .iter()
                    .map(|p| PreviewJson {
                        submission: p.statistics,
                        disclosed: p.disclosed.get(),
                    })
                    .collect(),
                files: files.iter().map(FileSummaryJson::from).collect(),
            };
            serde_json::to_writer_pretty(&mut *out, &all)?;
            writeln!(out)
        }
        Format::Csv => write_csv(out, previews),
        Format::Table => {
            for p in previews {
                write_table(out, p)?;
            }
            Ok(())
        }
    }
}

fn write_csv(out: &mut impl Write, previews: &[Preview<'_>]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "section",
        "linkage_domain",
        "table",
        "key1",
        "key2",
        "key3",
        "count",
        "suppressed",
    ])?;
    let key = |k: &[String], i: usize| k.get(i).cloned().unwrap_or_default();
    for p in previews {
        let domain = p.statistics.linkage_domain.as_str();
        for table in &p.statistics.tables {
            for c in &table.cells {
                w.write_record([
                    "submission",
                    domain,
                    table.name.code(),
                    &key(&c.key, 0),
                    &key(&c.key, 1),
                    &key(&c.key, 2),
                    &c.count.to_string(),
                    "",
                ])?;
            }
        }
        for set in &p.statistics.linkage_sets {
            for pseudonym in &set.pseudonyms {
                w.write_record([
                    "linkage_set",
                    domain,
                    set.project.as_str(),
                    &pseudonym.to_hex(),
                    "",
                    "",
                    "",
                    "",
                ])?;
            }
        }
        for table in &p.disclosed.get().tables {
            for c in &table.cells {
                let suppressed = c
                    .suppressed
                    .map(|s| format!("{s:?}").to_lowercase())
                    .unwrap_or_default();
                w.write_record([
                    "disclosed",
                    domain,
                    table.name.code(),
                    &key(&c.key, 0),
                    &key(&c.key, 1),
                    &key(&c.key, 2),
                    &c.display(),
                    &suppressed,
                ])?;
            }
        }
    }
    w.flush()
}

fn write_table(out: &mut impl Write, p: &Preview<'_>) -> std::io::Result<()> {
    let s = p.statistics;
    let projects: Vec<&str> = s.projects.iter().map(|p| p.as_str()).collect();
    writeln!(
        out,
        "kommun {}, period {}, linkage domain {}, key id {}, projects {}",
        s.kommun,
        s.period,
        s.linkage_domain,
        s.key_id,
        projects.join(", ")
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "== The submission as it would be sent: exact counts, not for publication =="
    )?;
    for table in &s.tables {
        let rows: Vec<Vec<String>> = table
            .cells
            .iter()
            .map(|c| c.key.iter().cloned().chain([c.count.to_string()]).collect())
            .collect();
        let header: Vec<String> = table
            .name
            .dimensions()
            .iter()
            .map(|d| d.code().to_owned())
            .chain(["count".to_owned()])
            .collect();
        writeln!(
            out,
            "\n{} ({} non-zero cells)",
            table.name.code(),
            rows.len()
        )?;
        write_aligned(out, &header, &rows)?;
    }
    writeln!(out)?;
    for set in &s.linkage_sets {
        writeln!(
            out,
            "linkage set {}: {} pseudonyms (listed with --format json or csv)",
            set.project,
            set.pseudonyms.len()
        )?;
    }
    let d = p.disclosed.get();
    writeln!(out, "\n== After disclosure control: what may be shown ==")?;
    writeln!(out, "{}", d.rule_text)?;
    for table in &d.tables {
        let header: Vec<String> = table
            .dimensions
            .iter()
            .map(|d| d.code().to_owned())
            .chain(["count".to_owned()])
            .collect();
        let rows: Vec<Vec<String>> = table
            .cells
            .iter()
            .map(|c| c.key.iter().cloned().chain([c.display()]).collect())
            .collect();
        let hidden = table
            .cells
            .iter()
            .filter(|c| c.suppressed.is_some())
            .count();
        writeln!(
            out,
            "\n{} ({} cells with totals, {} suppressed)",
            table.name.code(),
            rows.len(),
            hidden
        )?;
        write_aligned(out, &header, &rows)?;
    }
    writeln!(out)?;
    for c in &d.distinct_people {
        let value = c.count.map_or("..".to_owned(), |n| n.to_string());
        writeln!(out, "distinct people in {}: {}", c.label, value)?;
    }
    writeln!(out)
}

/// Writes rows under a header, each column padded to its widest cell; the last
/// column is right-aligned (it holds counts).
fn write_aligned(
    out: &mut impl Write,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let last = widths.len().saturating_sub(1);
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::from(" ");
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            line.push(' ');
            if i == last {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
