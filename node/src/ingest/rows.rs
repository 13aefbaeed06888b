//! Raw rows from a file: delimited text or a spreadsheet, as text per column.
//!
//! CSV fields are borrowed straight from the reader's buffer and decoded only when a
//! field is read: as UTF-8 if they are, else as Windows-1252.

use std::borrow::Cow;
use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use calamine::{Data, Ods, Reader, Sheets, Xls, Xlsx};
use samla_common::text::trim;

use super::{IngestError, RowError, SourceFormat, MAX_ROW_BYTES};

/// How much of a file is looked at to tell its kind and delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// How many non-empty rows at the top of a sheet may be titles above the header.
const HEADER_SEARCH_ROWS: usize = 20;

/// How much a row of cells looks like a header (0: not at all).
pub(super) type HeaderScore<'a> = &'a dyn Fn(&[String]) -> usize;

/// A row that could not be read: its line and why.
pub(super) type RowFailure = (u64, RowError);

/// Rows of one file, after its header.
pub(super) enum Rows {
    Csv(Box<CsvRows>),
    Sheet(SheetRows),
}

/// One row's fields, borrowed from the reader until the next row is read.
pub(super) enum RowView<'a> {
    /// A CSV record; `utf8` is the whole record as text when it is valid UTF-8, so
    /// fields are sliced from it without checking each one again.
    Csv {
        record: &'a csv::ByteRecord,
        utf8: Option<&'a str>,
        windows_1252: &'a Cell<bool>,
    },
    Sheet(&'a [String]),
}

impl<'a> RowView<'a> {
    /// A view of a CSV record; `windows_1252` is set if a field needs that encoding.
    pub(super) fn csv(record: &'a csv::ByteRecord, windows_1252: &'a Cell<bool>) -> RowView<'a> {
        RowView::Csv {
            record,
            utf8: std::str::from_utf8(record.as_slice()).ok(),
            windows_1252,
        }
    }

    /// The text of column `i`, trimmed; empty if the row has no such column.
    pub(super) fn text(&self, i: usize) -> Cow<'_, str> {
        match self {
            RowView::Csv {
                record,
                utf8,
                windows_1252,
            } => {
                let field = record.range(i).and_then(|range| match utf8 {
                    Some(whole) => whole.get(range).map(Cow::Borrowed),
                    None => record.get(i).map(|bytes| decode(bytes, windows_1252)),
                });
                match field {
                    Some(Cow::Borrowed(text)) => Cow::Borrowed(trim(text)),
                    Some(Cow::Owned(text)) => Cow::Owned(trim(&text).to_owned()),
                    None => Cow::Borrowed(""),
                }
            }
            RowView::Sheet(cells) => Cow::Borrowed(cells.get(i).map_or("", |c| trim(c))),
        }
    }
}

impl Rows {
    /// Opens a file and reads its header: a CSV file's first line, a sheet's row
    /// that scores highest among its first rows (title rows above it are skipped).
    pub(super) fn open(
        path: &Path,
        progress: bool,
        score: HeaderScore<'_>,
    ) -> Result<Rows, IngestError> {
        let io = |source| IngestError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut sniff = Vec::with_capacity(SNIFF_BYTES);
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut sniff)
            .map_err(io)?;
        const ZIP: &[u8] = b"PK\x03\x04";
        const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];
        if sniff.starts_with(ZIP) || sniff.starts_with(OLE) {
            drop(file);
            return SheetRows::open(path, sniff.starts_with(OLE), score).map(Rows::Sheet);
        }
        let bom = sniff.starts_with(b"\xEF\xBB\xBF");
        let body = if bom { &sniff[3..] } else { &sniff[..] };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(IngestError::Empty {
                path: path.to_owned(),
            });
        }
        if let Some(offset) = sniff.iter().position(|b| *b == 0) {
            return Err(IngestError::Binary {
                path: path.to_owned(),
                offset,
            });
        }
        let delimiter = detect_delimiter(body);
        let skip = if bom { 3 } else { 0 };
        let source: Box<dyn Read> = if progress {
            let bar = reading_bar(path, file.metadata().map(|m| m.len()).unwrap_or(0));
            bar.inc(sniff.len() as u64);
            Box::new(Cursor::new(sniff).chain(bar.wrap_read(file)))
        } else {
            Box::new(Cursor::new(sniff).chain(file))
        };
        CsvRows::new(path, source, skip, delimiter, bom).map(|rows| Rows::Csv(Box::new(rows)))
    }

    pub(super) fn headers(&self) -> &[String] {
        match self {
            Rows::Csv(c) => &c.headers,
            Rows::Sheet(s) => &s.headers,
        }
    }

    /// Where the header is: `row 3` in a sheet, `line 1` in a CSV file.
    pub(super) fn header_at(&self) -> String {
        match self {
            Rows::Csv(c) => format!("line {}", c.header_line),
            Rows::Sheet(s) => format!("row {}", s.header_row),
        }
    }

    /// Non-empty rows above the header, skipped as titles.
    pub(super) fn title_rows(&self) -> u64 {
        match self {
            Rows::Csv(_) => 0,
            Rows::Sheet(s) => s.title_rows,
        }
    }

    pub(super) fn format(&self) -> SourceFormat {
        match self {
            Rows::Csv(c) => SourceFormat::Csv {
                delimiter: c.delimiter,
                bom: c.bom,
                windows_1252: c.windows_1252.get(),
            },
            Rows::Sheet(s) => SourceFormat::Spreadsheet {
                sheet: s.sheet.clone(),
            },
        }
    }

    /// The next row, borrowed until the next call; `None` at the end.
    pub(super) fn next_row(&mut self) -> Option<Result<(u64, RowView<'_>), RowFailure>> {
        match self {
            Rows::Csv(c) => c.next_row(),
            Rows::Sheet(s) => s.next_row(),
        }
    }

    /// An error that stopped reading before the end, if one did.
    pub(super) fn take_error(&mut self) -> Option<IngestError> {
        match self {
            Rows::Csv(c) => c.error.take(),
            Rows::Sheet(_) => None,
        }
    }
}

/// The delimiter used most in the header line, outside quotes (`,` if none is).
fn detect_delimiter(text: &[u8]) -> u8 {
    let mut counts = [(b';', 0usize), (b',', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in text.iter().take_while(|b| **b != b'\n') {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in &mut counts {
                if b == *d {
                    *n += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

/// Decodes one field: UTF-8 if it is, Windows-1252 otherwise (noted in `windows_1252`).
fn decode<'a>(bytes: &'a [u8], windows_1252: &Cell<bool>) -> Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            windows_1252.set(true);
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

pub(super) struct CsvRows {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    record: csv::ByteRecord,
    headers: Vec<String>,
    header_line: u64,
    delimiter: u8,
    bom: bool,
    windows_1252: Cell<bool>,
    error: Option<IngestError>,
}

impl CsvRows {
    fn new(
        path: &Path,
        mut source: Box<dyn Read>,
        skip: usize,
        delimiter: u8,
        bom: bool,
    ) -> Result<CsvRows, IngestError> {
        let io = |source| IngestError::Io {
            path: path.to_owned(),
            source,
        };
        std::io::copy(&mut (&mut source).take(skip as u64), &mut std::io::sink()).map_err(io)?;
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(source);
        let mut rows = CsvRows {
            path: path.to_owned(),
            reader,
            record: csv::ByteRecord::new(),
            headers: Vec::new(),
            header_line: 1,
            delimiter,
            bom,
            windows_1252: Cell::new(false),
            error: None,
        };
        match rows.read() {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(e),
            None => {
                return Err(IngestError::Empty {
                    path: path.to_owned(),
                })
            }
        }
        rows.header_line = rows.record.position().map_or(1, |p| p.line());
        rows.headers = rows
            .record
            .iter()
            .map(|field| decode(field, &rows.windows_1252).trim().to_owned())
            .collect();
        Ok(rows)
    }

    /// Reads the next non-blank record into `record`; `None` at the end.
    pub(super) fn read_into(
        &mut self,
        record: &mut csv::ByteRecord,
    ) -> Option<Result<(), IngestError>> {
        loop {
            match self.reader.read_byte_record(record) {
                Ok(false) => return None,
                // A line with nothing on it is not a row.
                Ok(true) if record.len() == 1 && record[0].trim_ascii().is_empty() => continue,
                Ok(true) => return Some(Ok(())),
                Err(e) => {
                    let source = match e.into_kind() {
                        csv::ErrorKind::Io(io) => io,
                        other => std::io::Error::other(format!("{other:?}")),
                    };
                    return Some(Err(IngestError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
        }
    }

    fn read(&mut self) -> Option<Result<(), IngestError>> {
        let mut record = std::mem::take(&mut self.record);
        let result = self.read_into(&mut record);
        self.record = record;
        result
    }

    /// A record's line, and why it cannot be a row if its size or width is wrong.
    pub(super) fn shape(&self, record: &csv::ByteRecord) -> (u64, Option<RowError>) {
        let line = record.position().map_or(0, |p| p.line());
        let bytes = record.as_slice().len();
        let error = if bytes > MAX_ROW_BYTES {
            Some(RowError::TooLong {
                bytes,
                limit: MAX_ROW_BYTES,
            })
        } else if record.len() != self.headers.len() {
            Some(RowError::FieldCount {
                found: record.len(),
                expected: self.headers.len(),
            })
        } else {
            None
        };
        (line, error)
    }

    /// Notes that some field was decoded as Windows-1252 (by a worker thread).
    pub(super) fn note_windows_1252(&self) {
        self.windows_1252.set(true);
    }

    pub(super) fn set_error(&mut self, error: IngestError) {
        self.error = Some(error);
    }

    fn next_row(&mut self) -> Option<Result<(u64, RowView<'_>), RowFailure>> {
        if let Err(e) = self.read()? {
            self.error = Some(e);
            return None;
        }
        let (line, error) = self.shape(&self.record);
        if let Some(error) = error {
            return Some(Err((line, error)));
        }
        Some(Ok((line, RowView::csv(&self.record, &self.windows_1252))))
    }
}

pub(super) struct SheetRows {
    headers: Vec<String>,
    header_row: u64,
    title_rows: u64,
    sheet: String,
    rows: std::vec::IntoIter<(u64, Vec<Data>)>,
    current: Vec<String>,
}

impl SheetRows {
    /// Opens a spreadsheet: `.xls` if `ole`, else `.ods` by extension, else `.xlsx`.
    fn open(path: &Path, ole: bool, score: HeaderScore<'_>) -> Result<SheetRows, IngestError> {
        let fail = |message: String| IngestError::Spreadsheet {
            path: path.to_owned(),
            message,
        };
        let file = File::open(path).map_err(|source| IngestError::Io {
            path: path.to_owned(),
            source,
        })?;
        let reader = BufReader::new(file);
        let ods = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ods"));
        let mut workbook: Sheets<BufReader<File>> = if ole {
            Sheets::Xls(Xls::new(reader).map_err(|e| fail(e.to_string()))?)
        } else if ods {
            Sheets::Ods(Ods::new(reader).map_err(|e| fail(e.to_string()))?)
        } else {
            Sheets::Xlsx(Xlsx::new(reader).map_err(|e| fail(e.to_string()))?)
        };
        let mut first_with_data = None;
        for name in workbook.sheet_names() {
            let range = workbook
                .worksheet_range(&name)
                .map_err(|e| fail(e.to_string()))?;
            if !range.is_empty() {
                first_with_data = Some((name, range));
                break;
            }
        }
        let empty = || IngestError::Empty {
            path: path.to_owned(),
        };
        let (sheet, range) = first_with_data.ok_or_else(empty)?;
        let first_row = u64::from(range.start().map_or(0, |(r, _)| r)) + 1;
        let mut rows: Vec<(u64, Vec<Data>)> = range
            .rows()
            .enumerate()
            .map(|(i, cells)| (first_row + i as u64, cells.to_vec()))
            .filter(|(_, cells)| cells.iter().any(|c| !matches!(c, Data::Empty)))
            .collect();
        if rows.is_empty() {
            return Err(empty());
        }
        // The header is the first of the top rows that looks most like one; rows above
        // it are titles. If none looks like a header at all, the first row is taken.
        let texts = |cells: &[Data]| {
            cells
                .iter()
                .map(|c| cell_text(c).trim().to_owned())
                .collect::<Vec<_>>()
        };
        let mut best = (0, 0);
        for (i, (_, cells)) in rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
            let points = score(&texts(cells));
            if points > best.1 {
                best = (i, points);
            }
        }
        let at = best.0;
        let (header_row, header_cells) = rows.remove(at);
        let data = rows.split_off(at);
        Ok(SheetRows {
            headers: texts(&header_cells),
            header_row,
            title_rows: at as u64,
            sheet,
            rows: data.into_iter(),
            current: Vec::new(),
        })
    }

    fn next_row(&mut self) -> Option<Result<(u64, RowView<'_>), RowFailure>> {
        let (line, cells) = self.rows.next()?;
        self.current.clear();
        self.current.extend(cells.iter().map(cell_text));
        Some(Ok((line, RowView::Sheet(&self.current))))
    }
}

/// A spreadsheet cell as the text an export would hold.
///
/// Whole numbers print without decimals; a 9-digit whole number gets back the leading
/// zero that spreadsheets strip from 10-digit personnummer of people born 2000–2009.
/// Dates print as `YYYY-MM-DD`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => whole_number(*i),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => whole_number(*f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_date(d.as_f64()).unwrap_or_else(|| d.as_f64().to_string()),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn whole_number(n: i64) -> String {
    let text = n.to_string();
    if text.len() == 9 {
        format!("0{text}")
    } else {
        text
    }
}

/// An Excel serial date-time (days since 1899-12-30) as `YYYY-MM-DD` when its time is
/// midnight (to the second), else as `YYYY-MM-DD HH:MM:SS`, which a date field refuses
/// as a time of day, just as it refuses that text.
fn excel_date(serial: f64) -> Option<String> {
    const JULIAN_DAY_OF_1899_12_30: i32 = 2_415_019;
    const DAY: i64 = 86_400;
    let seconds = (serial * DAY as f64).round() as i64;
    let days = i32::try_from(seconds.div_euclid(DAY)).ok()?;
    let date = time::Date::from_julian_day(JULIAN_DAY_OF_1899_12_30.checked_add(days)?).ok()?;
    let date = samla_common::period::format_date(date);
    Some(match seconds.rem_euclid(DAY) {
        0 => date,
        s => format!("{date} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
    })
}

/// A progress bar over the bytes of a file, cleared when reading ends.
fn reading_bar(path: &Path, length: u64) -> indicatif::ProgressBar {
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    indicatif::ProgressBar::new(length)
        .with_style(style)
        .with_message(format!(
            "reading {}",
            samla_common::text::shown(&path.file_name().unwrap_or_default().to_string_lossy())
        ))
        .with_finish(indicatif::ProgressFinish::AndClear)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_detected_outside_quotes() {
        assert_eq!(detect_delimiter(b"a;b;c\n1,2;3"), b';');
        assert_eq!(detect_delimiter(b"\"a;b\",c,d\n"), b',');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"abc"), b',');
    }

    #[test]
    fn excel_serial_dates() {
        assert_eq!(excel_date(45356.0).as_deref(), Some("2024-03-05"));
        // Midnight to the second is the date; another time of day is kept, to be
        // refused as one.
        assert_eq!(excel_date(45_356.000_001).as_deref(), Some("2024-03-05"));
        assert_eq!(excel_date(45_355.999_999).as_deref(), Some("2024-03-05"));
        assert_eq!(
            excel_date(45356.0 + (13.0 * 60.0 + 45.0) / 1440.0).as_deref(),
            Some("2024-03-05 13:45:00")
        );
        assert_eq!(whole_number(503129884), "0503129884");
    }
}
