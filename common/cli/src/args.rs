//! Argument types both command lines parse the same way.

use samla_common::audit::ShowFormat;

/// How `audit show` prints a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormatArg {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON object per entry.
    Json,
    /// CSV for a spreadsheet.
    Csv,
}

impl From<ShowFormatArg> for ShowFormat {
    fn from(format: ShowFormatArg) -> Self {
        match format {
            ShowFormatArg::Table => ShowFormat::Table,
            ShowFormatArg::Json => ShowFormat::Json,
            ShowFormatArg::Csv => ShowFormat::Csv,
        }
    }
}

/// A `YYYY-MM-DD` (or `YYYYMMDD`) date argument, for clap's `value_parser`.
pub fn date(text: &str) -> Result<time::Date, String> {
    samla_common::period::parse_date(text).map_err(|e| e.to_string())
}

/// The language of audit output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LangArg {
    /// Swedish.
    #[default]
    Sv,
    /// English.
    En,
}

impl From<LangArg> for samla_common::audit::person::Lang {
    fn from(lang: LangArg) -> Self {
        match lang {
            LangArg::Sv => samla_common::audit::person::Lang::Sv,
            LangArg::En => samla_common::audit::person::Lang::En,
        }
    }
}

/// How `audit payload` prints a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PayloadFormatArg {
    /// Readable tables (linkage sets as counts).
    #[default]
    Table,
    /// The whole submission as JSON, pseudonyms included.
    Json,
}

/// How `audit report` writes its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReportFormatArg {
    /// Plain text.
    #[default]
    Text,
    /// One self-contained HTML page (inline CSS, no external resources).
    Html,
}
