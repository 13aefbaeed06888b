//! What `audit show`, `audit payload` and `audit report` print, the same for the
//! node's log and the hub's: the layout is here, the lines and rows are each
//! binary's own (a [`LogView`]).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use samla_common::audit::html::AuditReport;
use samla_common::audit::person::{self, Lang};
use samla_common::audit::{self, Finding};
use samla_common::wire::{Submission, SubmissionId};

use super::{exit_status, lines_in, write_report};
use crate::args::{PayloadFormatArg, ReportFormatArg, ShowFormatArg};

/// A transfer log as a privacy officer reads it.
pub trait LogView {
    /// The title over the summary lines: (Swedish, English).
    const TITLE: (&'static str, &'static str);

    /// One summary line per submission.
    fn summary_lines(&self, lang: Lang) -> Vec<String>;

    /// The log's column names for a person: (Swedish, English).
    const COLUMNS: &'static [(&'static str, &'static str)];

    /// The log's column names as JSON/CSV keys.
    const KEYS: &'static [&'static str];

    /// How many entries the log holds.
    fn entries(&self) -> usize;

    /// The log's column names: for a person in `lang`, or as JSON/CSV keys when
    /// `full`.
    fn header(lang: Lang, full: bool) -> Vec<String> {
        if full {
            Self::KEYS.iter().map(|&key| key.to_owned()).collect()
        } else {
            Self::COLUMNS
                .iter()
                .map(|&(sv, en)| lang.pick(sv, en).to_owned())
                .collect()
        }
    }

    /// The log's rows: shortened for a person, or in full when `full`.
    fn rows(&self, lang: Lang, full: bool) -> Vec<Vec<String>>;
}

/// The first 16 hex characters of an id (any 8 or more name it in `payload`).
pub fn short(id: SubmissionId) -> String {
    id.to_string()[..16].to_owned()
}

/// `audit show`: as a table, the summary lines and then the log for a person; as
/// JSON or CSV, the log in full.
pub fn show<V: LogView>(
    out: &mut impl Write,
    view: &V,
    format: ShowFormatArg,
    lang: Lang,
) -> std::io::Result<()> {
    let full = format != ShowFormatArg::Table;
    if !full {
        writeln!(out, "{}", lang.pick(V::TITLE.0, V::TITLE.1))?;
        for line in view.summary_lines(lang) {
            writeln!(out, "  {line}")?;
        }
        writeln!(
            out,
            "\n{} ({} {})",
            lang.pick("Överföringsloggen", "The transfer log"),
            view.entries(),
            lang.pick("poster", "entries")
        )?;
    }
    let header = V::header(lang, full);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows = view.rows(lang, full);
    write!(out, "{}", audit::render(&header, &rows, format.into()))
}

/// What `audit export` says it wrote: `wrote 12 entries and 12 checkpoints to DIR`,
/// each count with its (Swedish, English) noun.
pub fn exported(
    out: &mut impl Write,
    counts: [(usize, &str, &str); 2],
    dir: &Path,
    lang: Lang,
) -> std::io::Result<()> {
    let [(first, first_sv, first_en), (second, second_sv, second_en)] = counts;
    writeln!(
        out,
        "{} {first} {} {} {second} {} {} {}",
        lang.pick("skrev", "wrote"),
        lang.pick(first_sv, first_en),
        lang.pick("och", "and"),
        lang.pick(second_sv, second_en),
        lang.pick("till", "to"),
        dir.display()
    )
}

/// `audit payload`: one submission as readable tables, or as JSON.
pub fn payload(
    out: &mut impl Write,
    id: SubmissionId,
    submission: &Submission,
    format: PayloadFormatArg,
    lang: Lang,
) -> anyhow::Result<()> {
    match format {
        PayloadFormatArg::Json => writeln!(out, "{}", serde_json::to_string_pretty(submission)?)?,
        PayloadFormatArg::Table => write!(out, "{}", person::payload_tables(id, submission, lang))?,
    }
    Ok(())
}

/// What `audit report` says of a log and its verification, written as text or HTML
/// to `path` (never overwriting a file) or to `out`.
pub struct Report<'a> {
    /// Whose log: `samla-node, Gävle (2180)` or `samla-hub, <log origin>`.
    pub subject: String,
    /// What the verification found.
    pub findings: &'a [Finding],
    /// What a clean verification says.
    pub ok: &'a str,
    /// Text or HTML.
    pub format: ReportFormatArg,
    /// The file to write, or none for `out`.
    pub path: Option<&'a Path>,
}

impl Report<'_> {
    /// Writes the report of `view` in `lang`; exit status 1 if there are findings.
    pub fn write<V: LogView>(
        self,
        view: &V,
        lang: Lang,
        out: &mut impl Write,
    ) -> anyhow::Result<ExitCode> {
        let (verification, clean) = lines_in(self.findings, self.ok, lang);
        let report = AuditReport {
            lang,
            subject: self.subject,
            made_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            clean,
            verification,
            submissions: view.summary_lines(lang),
            header: V::header(lang, false),
            rows: view.rows(lang, false),
        };
        write_report(&report, self.format, self.path, out)?;
        Ok(exit_status(clean))
    }
}
