//! Reports for the region (DESIGN.md §9): a project's figures for one period, per
//! kommun and for the region, built from the stored submissions and put through
//! disclosure control before anything is rendered. Rendering only reads the
//! [`Disclosed`] report, so no format can show a value the rule withheld.
//!
//! Formats: a terminal table, CSV (one row per figure), JSON, a self-contained HTML
//! page with charts, and PC-Axis (PX, one file per table).

use std::collections::HashMap;

use samla_common::codes::{KommunCode, ProjectCode};
use samla_common::disclosure::{Disclosed, PublishedCell, PublishedTable, TOTAL};
use samla_common::period::Period;
use samla_common::report::{
    monthly_series, outcomes_by_flag, progress, regional_report, OutcomeByFlag, RegionalError,
    RegionalInput, RegionalReport, TargetProgress,
};
use samla_common::statistics::{Statistics, TableName};
use time::OffsetDateTime;

use crate::config::{HubConfig, ProjectDefinition};
use crate::store::{Store, StoreError};

mod csv;
mod html;
pub mod labels;
mod px;
mod text;

pub use labels::Lang;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for a terminal.
    Table,
    /// One row per figure, for spreadsheets.
    Csv,
    /// Everything, for programs.
    Json,
    /// One self-contained page with charts.
    Html,
    /// PC-Axis, the format of SCB's Statistikdatabasen (one table per file).
    Px,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The project is not in the hub config.
    #[error("project {0} is not in the hub config; the config's [[project]] sections list the projects a report can be made for")]
    UnknownProject(String),
    /// A kommun asked for is not in the project.
    #[error("kommun {kommun} is not one of project {project}'s kommuner")]
    NotInProject {
        /// The kommun.
        kommun: KommunCode,
        /// The project.
        project: ProjectCode,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building the figures failed.
    #[error(transparent)]
    Regional(#[from] RegionalError),
    /// JSON encoding failed.
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Which kommun submitted which period, and when.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubmissionMatrix {
    /// Every period any of the project's kommuner submitted, oldest first.
    pub periods: Vec<String>,
    /// Per kommun of the project: for each period, the date the latest submission
    /// arrived, if any.
    pub rows: Vec<(KommunCode, Vec<Option<String>>)>,
}

/// A report, ready to render.
#[derive(Debug, Clone)]
pub struct Report {
    /// The project.
    pub project: ProjectDefinition,
    /// Its figures, after disclosure control.
    pub regional: Disclosed<RegionalReport>,
    /// Progress against each target.
    pub progress: Vec<TargetProgress>,
    /// Outcomes for all leavers and per background flag.
    pub outcomes: Vec<OutcomeByFlag>,
    /// Active participants per month, region-wide.
    pub monthly: Vec<(String, Option<u64>)>,
    /// Which kommun submitted which period.
    pub matrix: SubmissionMatrix,
    /// The kommuner whose own rows are shown (all that submitted, or those asked for).
    pub shown: Vec<KommunCode>,
    /// When the report was made (UTC, minutes).
    pub generated_at: String,
    /// The labels' language.
    pub lang: Lang,
}

/// What a report is asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The project code.
    pub project: String,
    /// The period, or `None` for the project's whole lifetime.
    pub period: Option<Period>,
    /// Only these kommuner's own rows (the regional figures always cover all).
    pub kommuner: Vec<KommunCode>,
    /// The labels' language.
    pub lang: Lang,
}

/// Builds a report from the store. The suppression pattern is always computed for
/// the whole project, so reports that show different kommuner never combine into
/// more than one report shows.
pub fn build(
    store: &Store,
    config: &HubConfig,
    request: &Request,
    now: OffsetDateTime,
) -> Result<Report, ReportError> {
    let project = config
        .projects
        .iter()
        .find(|p| p.code.as_str().eq_ignore_ascii_case(&request.project))
        .ok_or_else(|| ReportError::UnknownProject(request.project.clone()))?
        .clone();
    for kommun in &request.kommuner {
        if !project.kommuner.contains(kommun) {
            return Err(ReportError::NotInProject {
                kommun: *kommun,
                project: project.code.clone(),
            });
        }
    }
    let period = request.period.unwrap_or(project.lifetime);
    let stored = store.latest_for(&period, &project.linkage_domain)?;
    let statistics: Vec<&Statistics> = stored
        .iter()
        .map(|s| &s.statistics)
        .filter(|s| project.kommuner.contains(&s.kommun) && s.projects.contains(&project.code))
        .collect();
    let regional = regional_report(
        RegionalInput {
            project: &project.code,
            period,
            expected: &project.kommuner,
            submissions: &statistics,
        },
        config.disclosure,
        &samla_cli_common::Threads::available(),
    )?;
    let figures = regional.get();
    let shown = figures
        .kommuner
        .iter()
        .filter(|k| request.kommuner.is_empty() || request.kommuner.contains(k))
        .copied()
        .collect();
    Ok(Report {
        progress: progress(figures, &project.targets),
        outcomes: outcomes_by_flag(figures),
        monthly: monthly_series(figures),
        matrix: matrix(store, &project)?,
        shown,
        generated_at: format!("{} {:02}:{:02} UTC", now.date(), now.hour(), now.minute()),
        lang: request.lang,
        regional,
        project,
    })
}

fn matrix(store: &Store, project: &ProjectDefinition) -> Result<SubmissionMatrix, ReportError> {
    let times = store.submission_times(&project.linkage_domain)?;
    let mut periods: Vec<String> = times
        .iter()
        .filter(|t| project.kommuner.contains(&t.kommun))
        .map(|t| t.period.clone())
        .collect();
    periods.sort_by_key(|p| p.parse::<Period>().map(|p| (p.from(), p.to())).ok());
    periods.dedup();
    let rows = project
        .kommuner
        .iter()
        .map(|k| {
            let cells = periods
                .iter()
                .map(|p| {
                    times
                        .iter()
                        .find(|t| t.kommun == *k && &t.period == p)
                        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.received_at).ok())
                        .map(|at| at.date().to_string())
                })
                .collect();
            (*k, cells)
        })
        .collect();
    Ok(SubmissionMatrix { periods, rows })
}

/// Renders a report. PX holds one table per file: `table` picks it.
pub fn render(report: &Report, format: Format, table: TableName) -> Result<String, ReportError> {
    Ok(match format {
        Format::Table => text::render(report),
        Format::Csv => csv::render(report),
        Format::Json => json(report)? + "\n",
        Format::Html => html::render(report),
        Format::Px => px::render(report, table),
    })
}

impl Report {
    /// The figures after disclosure control.
    pub fn figures(&self) -> &RegionalReport {
        self.regional.get()
    }

    /// The first-dimension values whose rows are shown: the kommuner, then `total`.
    pub fn row_units(&self) -> Vec<String> {
        self.shown
            .iter()
            .map(|k| k.as_str().to_owned())
            .chain([TOTAL.to_owned()])
            .collect()
    }

    /// A unit's label: the kommun's name, or the region.
    pub fn unit_label(&self, unit: &str) -> String {
        if unit == TOTAL {
            self.lang.region().to_owned()
        } else {
            self.lang
                .value(samla_common::statistics::Dimension::Kommun, unit)
        }
    }

    /// The project's title line.
    pub fn title(&self) -> String {
        format!(
            "{} ({}), {} {}",
            self.project.name,
            self.project.code,
            self.lang.pick("period", "period"),
            self.figures().period
        )
    }
}

/// A table's cells by key, for rendering.
pub(crate) fn cells_by_key(table: &PublishedTable) -> HashMap<&[String], &PublishedCell> {
    table.cells.iter().map(|c| (c.key.as_slice(), c)).collect()
}

/// The distinct values at one position of a table's keys, in table order, `total`
/// last.
pub(crate) fn values_at(table: &PublishedTable, position: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for cell in &table.cells {
        if let Some(v) = cell.key.get(position) {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
    }
    if let Some(at) = out.iter().position(|v| v == TOTAL) {
        let total = out.remove(at);
        out.push(total);
    }
    out
}

/// A published figure as JSON: the count, or `null` and `"suppressed": true`. Which
/// kind of suppression hid it is not said: "primary" would tell that the count is
/// below k, which is more than `..` says.
#[derive(serde::Serialize)]
struct JsonCount<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    count: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    suppressed: bool,
}

impl<'a> JsonCount<'a> {
    fn cell(cell: &'a PublishedCell) -> JsonCount<'a> {
        JsonCount {
            key: Some(&cell.key),
            label: None,
            count: cell.count,
            suppressed: cell.count.is_none(),
        }
    }

    fn count(count: &'a samla_common::disclosure::PublishedCount) -> JsonCount<'a> {
        JsonCount {
            key: None,
            label: Some(&count.label),
            count: count.count,
            suppressed: count.count.is_none(),
        }
    }
}

fn counts(list: &[samla_common::disclosure::PublishedCount]) -> Vec<JsonCount<'_>> {
    list.iter().map(JsonCount::count).collect()
}

#[derive(serde::Serialize)]
struct JsonTable<'a> {
    name: TableName,
    dimensions: &'a [samla_common::statistics::Dimension],
    cells: Vec<JsonCount<'a>>,
}

/// The JSON form: every figure by code, with the rule.
fn json(report: &Report) -> Result<String, serde_json::Error> {
    let figures = report.figures();
    let shown: std::collections::HashSet<String> = report.row_units().into_iter().collect();
    let tables: Vec<JsonTable<'_>> = figures
        .tables
        .iter()
        .map(|t| JsonTable {
            name: t.name,
            dimensions: &t.dimensions,
            cells: t
                .cells
                .iter()
                .filter(|c| c.key.first().is_some_and(|k| shown.contains(k)))
                .map(JsonCount::cell)
                .collect(),
        })
        .collect();
    let progress: Vec<serde_json::Value> = report
        .progress
        .iter()
        .map(|p| {
            serde_json::json!({
                "measure": p.measure,
                "figure": p.figure,
                "part": p.part,
                "whole": p.whole,
                "target": p.target,
                "of_target": p.of_target(),
                "gap": p.gap(),
            })
        })
        .collect();
    let distinct = match &figures.linkage {
        Ok(l) => serde_json::json!({
            "distinct_people": JsonCount::count(&l.distinct_people),
            "in_several_kommuner": JsonCount::count(&l.in_several_kommuner),
            "per_kommun": counts(&l.per_kommun),
            "kommun_overlaps": counts(&l.kommun_overlaps),
            "project_overlaps": counts(&l.project_overlaps),
        }),
        Err(problem) => serde_json::json!({ "not_counted": problem }),
    };
    let head = serde_json::json!({
        "project": {
            "code": report.project.code,
            "name": report.project.name,
            "lifetime": report.project.lifetime,
            "kommuner": report.project.kommuner,
            "linkage_domain": report.project.linkage_domain.as_str(),
        },
        "period": figures.period,
        "generated_at": report.generated_at,
        "disclosure_control": { "k": figures.rule.k, "rule": figures.rule_text },
        "kommuner_submitted": figures.kommuner,
        "kommuner_missing": figures.missing,
        "kommuner_shown": report.shown,
        "targets": progress,
        "distinct": distinct,
        "outcomes_by_background": report.outcomes,
        "monthly_active": report.monthly.iter().map(|(m, n)| serde_json::json!({"month": m, "count": n})).collect::<Vec<_>>(),
        "submissions": report.matrix,
    });
    // The tables are by far the largest part: serialised straight from the report.
    #[derive(serde::Serialize)]
    struct Whole<'a> {
        #[serde(flatten)]
        head: serde_json::Value,
        tables: Vec<JsonTable<'a>>,
    }
    serde_json::to_string_pretty(&Whole { head, tables })
}
