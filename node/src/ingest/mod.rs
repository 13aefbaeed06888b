//! Reading a kommun's exports: CSV or spreadsheet in, checked [`ParticipantRecord`]s out.
//!
//! Every form of DESIGN.md §3 is accepted: `;`, `,` or tab delimiters (detected from
//! the header line), UTF-8 with or without BOM or Windows-1252 (decided per field: a
//! field that is not UTF-8 is Windows-1252), CRLF, quoted fields, both date forms,
//! both header languages, and `.xlsx` (also `.xls` and `.ods`, whose header row is
//! found below any title rows). Columns that are not fields (names, addresses,
//! anything else) are never decoded and are named in the summary; one whose header
//! looks like a field's ([`headers`]) is warned about with the fix, and optional
//! fields with no column are listed. A file that cannot be used at all is an
//! [`IngestError`]; a row that cannot be used is a [`Rejection`] with its line and
//! column, and the rows after it go on. No message ever shows a personnummer.

mod fields;
pub mod headers;
mod parallel;
mod rows;

use std::fmt;
use std::path::{Path, PathBuf};

use samla_common::codes::ProjectCode;
use samla_common::record::ParticipantRecord;

use fields::RecordReader;
pub use fields::RowError;
pub use headers::{Column, Field, HeaderWarning};
use rows::Rows;

/// The longest row accepted, in bytes; longer rows are rejected.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// What the reader needs to know besides the file.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    /// The projects a row may name (matched case-insensitively).
    pub projects: Vec<ProjectCode>,
    /// Extra header names (lowercased) mapped to fields (or ignored), from the node
    /// config.
    pub columns: std::collections::BTreeMap<String, Column>,
    /// The date that decides the century of 10-digit personnummer.
    pub reference_date: time::Date,
    /// Show a progress bar on standard error while reading (set it only when
    /// standard error is a terminal).
    pub progress: bool,
}

/// A file that could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading failed. The message names the file; the cause is its source, printed
    /// after it by the chain printer.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file has no content.
    #[error("{path}: the file is empty\n\nExport the participant list again; the file has no header and no rows.")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file has a header line but no rows.
    #[error("{path}: the file has a header but no data rows\n\nCheck that the export selected the participants.")]
    NoDataRows {
        /// The file.
        path: PathBuf,
    },
    /// The file is neither text nor a spreadsheet.
    #[error("{path}: not a CSV or spreadsheet export (binary data at byte {offset})\n\nExport the list as CSV (UTF-8 or Windows-1252) or .xlsx.")]
    Binary {
        /// The file.
        path: PathBuf,
        /// Where the first binary byte is.
        offset: usize,
    },
    /// Required columns are missing.
    #[error(transparent)]
    MissingColumns(Box<MissingColumns>),
    /// Two columns map to the same field.
    #[error("{path}: columns {first} and {second} both hold {field}\n\nRemove one of them, or map one to another field in the node config under [columns].")]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The field.
        field: Field,
        /// The first column's header and number.
        first: String,
        /// The second column's header and number.
        second: String,
    },
    /// A fault in samla itself, not in the file.
    #[error("internal error: {message}; please report this")]
    Internal {
        /// What went wrong.
        message: String,
    },
    /// The spreadsheet could not be read.
    #[error("{path}: spreadsheet could not be read: {message}")]
    Spreadsheet {
        /// The file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
}

/// Required fields without a column, all named at once with the header found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: no column for {} in the header on {header_at} ({found})\n\n{}Accepted headers: {accepted}. Rename the column(s), or map their headers in the node config under [columns].", names(fields), resembling.iter().map(|w| format!("{w}\n")).collect::<String>())]
pub struct MissingColumns {
    /// The file.
    pub path: PathBuf,
    /// Where the header was found: `row 3` (spreadsheet) or `line 1` (CSV).
    pub header_at: String,
    /// The headers found there, as shown.
    pub found: String,
    /// The fields without a column.
    pub fields: Vec<Field>,
    /// The header names that would have matched.
    pub accepted: String,
    /// Headers that look like a field no column holds.
    pub resembling: Vec<HeaderWarning>,
}

/// Field names joined for a message.
fn names(fields: &[Field]) -> String {
    fields
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl IngestError {
    /// Required fields without a column, named at once with the header found.
    pub(super) fn missing_columns(
        path: &Path,
        header_at: String,
        headers: &[String],
        fields: Vec<Field>,
        resembling: &[HeaderWarning],
    ) -> IngestError {
        const SHOWN: usize = 20;
        let mut found: Vec<String> = headers
            .iter()
            .take(SHOWN)
            .map(|h| samla_common::text::shown(h))
            .collect();
        if headers.len() > SHOWN {
            found.push(format!("… {} more", headers.len() - SHOWN));
        }
        IngestError::MissingColumns(Box::new(MissingColumns {
            path: path.to_owned(),
            header_at,
            found: found.join(", "),
            accepted: fields
                .iter()
                .map(|f| f.headers())
                .collect::<Vec<_>>()
                .join("; "),
            fields,
            resembling: resembling.to_vec(),
        }))
    }
}

/// One rejected row: where, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The line (CSV) or row (spreadsheet), counting from 1.
    pub line: u64,
    /// The column number (from 1) and its header, when one column is at fault.
    pub column: Option<(usize, String)>,
    /// What is wrong.
    pub error: RowError,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some((number, header)) = &self.column {
            write!(f, ", column {number} ({header})")?;
        }
        write!(f, ": {}", self.error)
    }
}

/// How a file was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFormat {
    /// Delimited text.
    Csv {
        /// The delimiter found in the header line.
        delimiter: u8,
        /// Whether the file began with a UTF-8 byte order mark.
        bom: bool,
        /// Whether any field was Windows-1252 rather than UTF-8.
        windows_1252: bool,
    },
    /// A spreadsheet; the first sheet with data was read.
    Spreadsheet {
        /// The sheet's name.
        sheet: String,
    },
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceFormat::Csv {
                delimiter,
                bom,
                windows_1252,
            } => {
                let delimiter = match delimiter {
                    b'\t' => "tab".to_owned(),
                    d => format!("`{}`", char::from(*d)),
                };
                let encoding = match (windows_1252, bom) {
                    (true, _) => "Windows-1252",
                    (false, true) => "UTF-8 with BOM",
                    (false, false) => "UTF-8",
                };
                write!(f, "CSV, {delimiter}-delimited, {encoding}")
            }
            SourceFormat::Spreadsheet { sheet } => write!(f, "spreadsheet, sheet {sheet:?}"),
        }
    }
}

/// What reading one file found.
#[derive(Debug, Clone)]
pub struct FileSummary {
    /// The file.
    pub path: PathBuf,
    /// How it was read.
    pub format: SourceFormat,
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows that became records.
    pub accepted: u64,
    /// Rows that did not, in file order.
    pub rejections: Vec<Rejection>,
    /// Headers of columns that were not read (not fields), in file order.
    pub dropped_columns: Vec<String>,
    /// Where the header was found: `row 3` (spreadsheet) or `line 1` (CSV).
    pub header_at: String,
    /// Non-empty rows above the header that were skipped as titles (spreadsheets).
    pub title_rows: u64,
    /// Headers that are not read but look like a field no column holds. Each makes
    /// the file one to look at (like a rejected row).
    pub header_warnings: Vec<HeaderWarning>,
    /// Optional fields that no column holds (empty for every row).
    pub absent_fields: Vec<Field>,
}

impl FileSummary {
    /// Whether a person should look at the file before it is submitted: rows were
    /// rejected, or a header looks misnamed.
    pub fn needs_attention(&self) -> bool {
        !self.rejections.is_empty() || !self.header_warnings.is_empty()
    }

    /// Rejections counted by kind, most frequent first.
    pub fn rejections_by_kind(&self) -> Vec<(&'static str, usize)> {
        let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
        for r in &self.rejections {
            *counts.entry(r.error.kind()).or_default() += 1;
        }
        let mut out: Vec<_> = counts.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        out
    }
}

/// Where accepted records go. Each worker thread has its own sink.
pub trait RecordSink: Send {
    /// Takes one accepted record.
    fn accept(&mut self, record: ParticipantRecord);
}

impl<F: FnMut(ParticipantRecord) + Send> RecordSink for F {
    fn accept(&mut self, record: ParticipantRecord) {
        self(record)
    }
}

/// Accepted and rejected rows, as one reader or worker counts them.
#[derive(Default)]
struct RowOutcome {
    accepted: u64,
    rejections: Vec<Rejection>,
}

impl RowOutcome {
    fn add(
        &mut self,
        line: u64,
        outcome: Result<ParticipantRecord, fields::Refusal>,
        headers: &[String],
        sink: &mut impl RecordSink,
    ) {
        match outcome {
            Ok(record) => {
                self.accepted += 1;
                sink.accept(record);
            }
            Err((column, error)) => self.rejections.push(Rejection {
                line,
                column: column.map(|c| (c + 1, samla_common::text::shown(&headers[c]))),
                error,
            }),
        }
    }
}

/// How much a row looks like a header: 2 for each cell that names a field, 1 for
/// each that looks like one.
fn header_score(cells: &[String], columns: &std::collections::BTreeMap<String, Column>) -> usize {
    cells
        .iter()
        .map(|cell| {
            let key = cell.trim().to_lowercase();
            if matches!(columns.get(&key), Some(Column::Field(_)))
                || Field::from_header(&key).is_some()
            {
                2
            } else {
                usize::from(headers::resembles(cell).is_some())
            }
        })
        .sum()
}

/// Reads one export on the calling thread, handing each accepted record to `sink`.
pub fn read_file(
    path: &Path,
    settings: &IngestSettings,
    sink: impl RecordSink,
) -> Result<FileSummary, IngestError> {
    read_file_parallel(path, settings, &mut [sink])
}

/// Reads one export with one worker thread per sink (CSV only; a spreadsheet, already
/// in memory, is read on the calling thread into the first sink).
pub fn read_file_parallel<S: RecordSink>(
    path: &Path,
    settings: &IngestSettings,
    sinks: &mut [S],
) -> Result<FileSummary, IngestError> {
    let score = |cells: &[String]| header_score(cells, &settings.columns);
    let mut rows = Rows::open(path, settings.progress, &score)?;
    let header_at = rows.header_at();
    let reader = RecordReader::new(path, rows.headers(), header_at.clone(), settings)?;
    let headers = rows.headers().to_vec();
    let mut summary = FileSummary {
        path: path.to_owned(),
        format: rows.format(),
        rows: 0,
        accepted: 0,
        rejections: Vec::new(),
        dropped_columns: reader.dropped_columns(&headers),
        header_at,
        title_rows: rows.title_rows(),
        header_warnings: reader.header_warnings().to_vec(),
        absent_fields: reader.absent_fields().to_vec(),
    };
    match (&mut rows, sinks) {
        (Rows::Csv(csv), sinks) if sinks.len() > 1 => {
            parallel::read_csv(csv, &reader, &headers, sinks, &mut summary)?;
        }
        (rows, [sink, ..]) => {
            let mut tally = RowOutcome::default();
            while let Some(row) = rows.next_row() {
                summary.rows += 1;
                match row {
                    Ok((line, view)) => tally.add(line, reader.record(&view), &headers, sink),
                    Err((line, error)) => tally.add(line, Err((None, error)), &headers, sink),
                }
            }
            summary.accepted = tally.accepted;
            summary.rejections = tally.rejections;
        }
        (_, []) => {}
    }
    if let Some(error) = rows.take_error() {
        return Err(error);
    }
    if summary.rows == 0 {
        return Err(IngestError::NoDataRows {
            path: path.to_owned(),
        });
    }
    summary.format = rows.format();
    Ok(summary)
}
