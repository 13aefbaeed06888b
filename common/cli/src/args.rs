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
