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
use crate::store::{Store, StoreError, Trust, Unverified, VerifiedStored};

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
    /// Stored submissions the report would use fail their check.
    #[error("{}", unverified_message(.0))]
    Unverified(Vec<Unverified>),
}

fn unverified_message(list: &[Unverified]) -> String {
    let mut text = format!(
        "{} stored submission(s) fail the check of their signed bytes, signature, receipt and log entry; the report publishes no figure from them:",
        list.len()
    );
    for u in list {
        text.push_str(&format!("\n  {u}"));
    }
    text.push_str(
        "\n\nRun `samla-hub audit verify` to see what is damaged. To publish without these kommuner, pass --exclude-unverified (the report then says they were left out).",
    );
    text
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
    /// Stored submissions that failed their check and were left out
    /// (`--exclude-unverified`), with their kommuner.
    pub excluded: Vec<Unverified>,
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
    /// Leave out the kommuner whose stored submissions fail their check (and say
    /// so), instead of refusing to report.
    pub exclude_unverified: bool,
}

/// Builds a report from the store. The suppression pattern is always computed for
/// the whole project, so reports that show different kommuner never combine into
/// more than one report shows. Only [`VerifiedStored`] submissions are read: if a
/// stored submission of the period fails its check (or the log and the store
/// disagree about one), the report is refused ([`ReportError::Unverified`]), or with
/// `exclude_unverified` its kommun is left out and [`Report::excluded`] says so.
pub fn build(
    store: &Store,
    config: &HubConfig,
    trust: &Trust,
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
    let domain = &project.linkage_domain;
    let mut verified = Vec::new();
    let mut failing = store.unmatched(Some((&period, domain)))?;
    for checked in store.stored_in(domain, trust)? {
        match checked {
            Ok(v) => verified.push(v),
            Err(u) if u.period == period.to_string() => failing.push(*u),
            Err(_) => {}
        }
    }
    failing.sort_by(|a, b| (&a.kommun, a.log_index).cmp(&(&b.kommun, b.log_index)));
    failing.dedup_by(|a, b| a.id == b.id && a.log_index == b.log_index);
    if !failing.is_empty() && !request.exclude_unverified {
        return Err(ReportError::Unverified(failing));
    }
    let excluded_kommuner: Vec<&str> = failing.iter().map(|u| u.kommun.as_str()).collect();
    verified.retain(|v| !excluded_kommuner.contains(&v.kommun().as_str()));
    let latest = latest_of(&verified, &period);
    let statistics: Vec<&Statistics> = latest
        .iter()
        .map(|s| &s.submission().statistics)
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
        matrix: matrix(&verified, &project),
        shown,
        generated_at: format!("{} {:02}:{:02} UTC", now.date(), now.hour(), now.minute()),
        lang: request.lang,
        excluded: failing,
        regional,
        project,
    })
}

/// The latest submission (highest sequence) of each kommun for a period.
fn latest_of<'a>(verified: &'a [VerifiedStored], period: &Period) -> Vec<&'a VerifiedStored> {
    let mut latest: std::collections::BTreeMap<KommunCode, &VerifiedStored> =
        std::collections::BTreeMap::new();
    for v in verified
        .iter()
        .filter(|v| v.submission().statistics.period == *period)
    {
        let slot = latest.entry(v.kommun()).or_insert(v);
        if v.submission().sequence > slot.submission().sequence {
            *slot = v;
        }
    }
    latest.into_values().collect()
}

/// When each kommun last submitted each period, from the verified submissions.
struct SubmissionTime {
    kommun: KommunCode,
    period: String,
    received_at: i64,
}

fn matrix(verified: &[VerifiedStored], project: &ProjectDefinition) -> SubmissionMatrix {
    let mut times: Vec<SubmissionTime> = Vec::new();
    for v in verified {
        let period = v.submission().statistics.period.to_string();
        match times
            .iter_mut()
            .find(|t| t.kommun == v.kommun() && t.period == period)
        {
            Some(t) => t.received_at = t.received_at.max(v.received_at()),
            None => times.push(SubmissionTime {
                kommun: v.kommun(),
                period,
                received_at: v.received_at(),
            }),
        }
    }
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
    SubmissionMatrix { periods, rows }
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
    /// The note under every format's header: the disclosure rule, and which stored
    /// submissions were left out because they failed their check.
    pub fn rule_note(&self) -> String {
        let rule = labels::rule_text(self.lang, self.figures().rule.k);
        match self.excluded_note() {
            Some(note) => format!("{rule} {note}"),
            None => rule,
        }
    }

    /// Which stored submissions failed their check and were left out, if any.
    pub fn excluded_note(&self) -> Option<String> {
        if self.excluded.is_empty() {
            return None;
        }
        let list: Vec<String> = self
            .excluded
            .iter()
            .map(|u| format!("{} ({})", u.kommun, u.id_prefix()))
            .collect();
        Some(format!(
            "{}: {}.",
            self.lang.pick(
                "Utelämnade eftersom de lagrade inlämningarna inte klarade kontrollen av innehåll och signatur",
                "Left out because their stored submissions failed the check of content and signature",
            ),
            list.join(", ")
        ))
    }

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
        "unverified_excluded": report.excluded.iter().map(|u| serde_json::json!({
            "kommun": u.kommun,
            "submission": u.id,
            "log_index": u.log_index,
            "why": u.damage.to_string(),
        })).collect::<Vec<_>>(),
        "note": report.excluded_note(),
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
