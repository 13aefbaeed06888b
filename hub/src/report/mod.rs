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
    cumulative_enrolment, esf_indicators, monthly_series, outcomes_by_flag, progress,
    regional_report, EnrolmentPoint, EsfIndicators, OutcomeByFlag, Protection, RegionalError,
    RegionalInput, RegionalReport, Scope, TargetProgress,
};
use samla_common::statistics::{Statistics, TableName};
use time::OffsetDateTime;

use crate::config::{HubConfig, ProjectDefinition};
use crate::store::{Store, StoreError, Trust, Unverified, VerifiedStored};

mod csv;
mod html;
mod json;
pub mod labels;
mod px;
mod refusal;
mod scheme;
mod sections;
#[cfg(test)]
mod tests;
mod text;

pub use labels::Lang;
use refusal::unverified_message;
pub use refusal::{refusal, unverified_line};
pub use scheme::SchemeGroup;

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
    #[error("project {asked} is not in the hub config; {}", if known.is_empty() { "the config has no [[project]] sections".to_owned() } else { format!("the projects are: {}", known.join(", ")) })]
    UnknownProject {
        /// The code asked for.
        asked: String,
        /// The codes (and names) of the configured projects.
        known: Vec<String>,
    },
    /// A kommun asked for is not in the project.
    #[error("kommun {kommun} is not one of project {project}'s kommuner")]
    NotInProject {
        /// The kommun.
        kommun: KommunCode,
        /// The project.
        project: ProjectCode,
    },
    /// A `--kommun` that names no kommun of the project.
    #[error("--kommun {asked}: not a kommun of project {project}; its kommuner are: {}", known.join(", "))]
    UnknownKommun {
        /// What was asked for.
        asked: String,
        /// The project.
        project: ProjectCode,
        /// Its kommuner, as `Name (code)`.
        known: Vec<String>,
    },
    /// The period asked for lies outside the project's lifetime.
    #[error("period {period} is outside project {project}'s lifetime {lifetime}; ask for a period within it, or `lifetime`")]
    OutsideLifetime {
        /// The period asked for.
        period: Period,
        /// The project.
        project: ProjectCode,
        /// Its lifetime.
        lifetime: Period,
    },
    /// No kommun submitted the period.
    #[error("no kommun has submitted project {project} for period {period}{}; pass --allow-empty for a report that says so", if submitted.is_empty() { String::new() } else { format!(" (periods submitted: {})", submitted.join(", ")) })]
    Empty {
        /// The project.
        project: ProjectCode,
        /// The period.
        period: Period,
        /// The periods that were submitted.
        submitted: Vec<String>,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building the figures failed.
    #[error(transparent)]
    Regional(#[from] RegionalError),
    /// Building the figures under the cell key method failed.
    #[error(transparent)]
    CellKey(#[from] samla_common::disclosure::cell_key::CellKeyError),
    /// JSON encoding failed.
    #[error("encoding JSON")]
    Json(#[from] serde_json::Error),
    /// Stored submissions the report would use fail their check.
    #[error("{}", unverified_message(.0))]
    Unverified(Vec<Unverified>),
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
    /// Whether the period is the project's whole lifetime.
    pub lifetime: bool,
    /// Progress against each target, over the time its scope says.
    pub progress: Vec<TargetProgress>,
    /// The time the targets cover.
    pub scope: Scope,
    /// Distinct people who have started, month by month from the project's start.
    pub enrolment: Vec<EnrolmentPoint>,
    /// The ESF+ common indicators of the period.
    pub esf: EsfIndicators,
    /// Outcomes for all leavers and per background flag.
    pub outcomes: Vec<OutcomeByFlag>,
    /// Active participants per month, region-wide.
    pub monthly: Vec<(String, Option<u64>)>,
    /// Which kommun submitted which period.
    pub matrix: SubmissionMatrix,
    /// The pseudonym schemes and key ids of the period's submissions, with their
    /// kommuner; more than one means nothing was linked across them.
    pub schemes: Vec<SchemeGroup>,
    /// The kommuner whose own rows are shown (all that submitted, or those asked for).
    pub shown: Vec<KommunCode>,
    /// When the report was made, in Swedish local time.
    pub generated_at: String,
    /// The same instant, for PX's CREATION-DATE (`CCYYMMDD hh:mm`, local time).
    pub created: String,
    /// The labels' language.
    pub lang: Lang,
    /// Stored submissions that failed their check and were left out
    /// (`--exclude-unverified`), with their kommuner.
    pub excluded: Vec<Unverified>,
}

/// What a report is asked for.
#[derive(Debug, Clone, Default)]
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
    /// Make a report (that says so) even when nobody submitted the period.
    pub allow_empty: bool,
}

/// The configured project a code names (any case).
pub fn find_project<'a>(
    config: &'a HubConfig,
    code: &str,
) -> Result<&'a ProjectDefinition, ReportError> {
    config
        .projects
        .iter()
        .find(|p| p.code.as_str().eq_ignore_ascii_case(code))
        .ok_or_else(|| ReportError::UnknownProject {
            asked: code.to_owned(),
            known: config
                .projects
                .iter()
                .map(|p| format!("{} ({})", p.code, p.name))
                .collect(),
        })
}

/// A kommun of the project by code (`2180`) or name (`Gävle`, `gavle`; any case,
/// with or without å, ä, ö).
pub fn kommun_named(project: &ProjectDefinition, text: &str) -> Result<KommunCode, ReportError> {
    let fold = |t: &str| -> String {
        t.trim()
            .to_lowercase()
            .chars()
            .map(|c| match c {
                'å' | 'ä' | 'à' | 'á' => 'a',
                'ö' | 'ø' => 'o',
                'é' | 'è' => 'e',
                'ü' => 'u',
                other => other,
            })
            .collect()
    };
    let wanted = fold(text);
    project
        .kommuner
        .iter()
        .find(|k| k.as_str() == text.trim() || k.name().is_some_and(|n| fold(n) == wanted))
        .copied()
        .ok_or_else(|| ReportError::UnknownKommun {
            asked: text.to_owned(),
            project: project.code.clone(),
            known: project
                .kommuner
                .iter()
                .map(|k| format!("{} ({k})", k.label()))
                .collect(),
        })
}

/// Builds a report from the store. The suppression pattern is always computed for
/// the whole project, so reports that show different kommuner never combine into
/// more than one report shows. The period is clipped to the project's lifetime.
/// Targets are measured over the lifetime, or for a sub-period cumulatively from
/// the project's start to the period's end (from the kommuner's submissions for that
/// stretch, when they made them). Only [`VerifiedStored`] submissions are read: if a
/// stored submission of a period the report reads fails its check (or the log and
/// the store disagree about one), the report is refused ([`ReportError::Unverified`]),
/// or with `exclude_unverified` its kommun is left out and [`Report::excluded`] says
/// so.
pub fn build(
    store: &Store,
    config: &HubConfig,
    trust: &Trust,
    request: &Request,
    now: OffsetDateTime,
) -> Result<Report, ReportError> {
    let project = find_project(config, &request.project)?.clone();
    for kommun in &request.kommuner {
        if !project.kommuner.contains(kommun) {
            return Err(ReportError::NotInProject {
                kommun: *kommun,
                project: project.code.clone(),
            });
        }
    }
    let lifetime = project.lifetime;
    let asked = request.period.unwrap_or(lifetime);
    let period = Period::new(
        asked.from().max(lifetime.from()),
        asked.to().min(lifetime.to()),
    )
    .ok_or_else(|| ReportError::OutsideLifetime {
        period: asked,
        project: project.code.clone(),
        lifetime,
    })?;
    let cumulative = Period::new(lifetime.from(), period.to()).unwrap_or(period);
    let (verified, failing) = checked(store, trust, &project, period, cumulative)?;
    if !failing.is_empty() && !request.exclude_unverified {
        return Err(ReportError::Unverified(failing));
    }
    let excluded_kommuner: Vec<&str> = failing.iter().map(|u| u.kommun.as_str()).collect();
    let verified: Vec<VerifiedStored> = verified
        .into_iter()
        .filter(|v| !excluded_kommuner.contains(&v.kommun().as_str()))
        .collect();
    let matrix = matrix(&verified, &project);
    let stored = load(&verified, &project, &period);
    if stored.is_empty() && !request.allow_empty {
        return Err(ReportError::Empty {
            project: project.code.clone(),
            period,
            submitted: matrix.periods.clone(),
        });
    }
    let regional = disclosed(config, &project, period, &stored)?;
    let figures = regional.get();
    let (progress, scope) = if period == lifetime {
        (
            progress(figures, &project.targets, Scope::Lifetime),
            Scope::Lifetime,
        )
    } else if cumulative == period {
        let scope = Scope::Cumulative(period.to());
        (progress(figures, &project.targets, scope), scope)
    } else {
        let earlier = load(&verified, &project, &cumulative);
        if earlier.is_empty() {
            (
                progress(figures, &project.targets, Scope::PeriodOnly),
                Scope::PeriodOnly,
            )
        } else {
            let scope = Scope::Cumulative(period.to());
            let report = disclosed(config, &project, cumulative, &earlier)?;
            (progress(report.get(), &project.targets, scope), scope)
        }
    };
    let enrolment = enrolment(&verified, config, &project, cumulative, &matrix, &stored);
    let mut progress = progress;
    if scope == Scope::PeriodOnly {
        distinct_from_enrolment(&mut progress, &enrolment, period);
    }
    let shown = figures
        .kommuner
        .iter()
        .filter(|k| request.kommuner.is_empty() || request.kommuner.contains(k))
        .copied()
        .collect();
    let local = samla_common::local_time::stockholm(now);
    Ok(Report {
        lifetime: period == lifetime,
        progress,
        scope,
        enrolment,
        esf: esf_indicators(figures),
        outcomes: outcomes_by_flag(figures),
        monthly: monthly_series(figures),
        matrix,
        schemes: scheme::groups(&stored),
        shown,
        generated_at: samla_common::local_time::format_stockholm(now),
        created: format!(
            "{:04}{:02}{:02} {:02}:{:02}",
            local.year(),
            local.month() as u8,
            local.day(),
            local.hour(),
            local.minute()
        ),
        lang: request.lang,
        excluded: failing,
        regional,
        project,
    })
}

/// Without submissions for the stretch from the project's start, distinct
/// participants up to the period's end may still be known: the cumulative enrolment
/// series has them where the kommuner's periods cover the stretch (a daemon's
/// quarters, say). The shares stay the period's own.
fn distinct_from_enrolment(
    progress: &mut [TargetProgress],
    enrolment: &[EnrolmentPoint],
    period: Period,
) {
    let Some(point) = enrolment.last().filter(|p| p.up_to == period.to()) else {
        return;
    };
    let Some(count) = point.count else { return };
    for p in progress
        .iter_mut()
        .filter(|p| p.measure == samla_common::report::Measure::Participants)
    {
        p.part = Some(count);
        p.figure = Some(count as f64);
        p.basis = samla_common::report::Basis::DistinctPeople;
        p.scope = Scope::Cumulative(point.up_to);
    }
}

/// The project's stored submissions that pass their check, and those of the periods
/// the report reads (any period inside `stretch`, the project's start to the
/// period's end) that fail it or that the log and the store disagree about.
fn checked(
    store: &Store,
    trust: &Trust,
    project: &ProjectDefinition,
    period: Period,
    stretch: Period,
) -> Result<(Vec<VerifiedStored>, Vec<Unverified>), ReportError> {
    let domain = &project.linkage_domain;
    let inside = |text: &str| {
        text.parse::<Period>()
            .is_ok_and(|p| p.from() >= stretch.from() && p.to() <= stretch.to())
    };
    let mut verified = Vec::new();
    let mut failing = store.unmatched(Some((&period, domain)))?;
    if stretch != period {
        failing.extend(store.unmatched(Some((&stretch, domain)))?);
    }
    for checked in store.stored_in(domain, trust)? {
        match checked {
            Ok(v) => verified.push(v),
            Err(u) if inside(&u.period) => failing.push(*u),
            Err(_) => {}
        }
    }
    failing.sort_by(|a, b| (&a.kommun, a.log_index).cmp(&(&b.kommun, b.log_index)));
    failing.dedup_by(|a, b| a.id == b.id && a.log_index == b.log_index);
    Ok((verified, failing))
}

/// The statistics of the project's kommuner for exactly this period: each kommun's
/// latest verified submission (highest sequence).
fn load(
    verified: &[VerifiedStored],
    project: &ProjectDefinition,
    period: &Period,
) -> Vec<Statistics> {
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
    latest
        .into_values()
        .map(|v| v.submission().statistics.clone())
        .filter(|s| project.kommuner.contains(&s.kommun) && s.projects.contains(&project.code))
        .collect()
}

/// The regional figures of one period under disclosure control.
fn disclosed(
    config: &HubConfig,
    project: &ProjectDefinition,
    period: Period,
    stored: &[Statistics],
) -> Result<Disclosed<RegionalReport>, ReportError> {
    let statistics: Vec<&Statistics> = stored.iter().collect();
    let input = RegionalInput {
        project: &project.code,
        period,
        expected: &project.kommuner,
        submissions: &statistics,
    };
    if let Some(table) = &config.cell_key {
        return Ok(samla_common::disclosure::cell_key::perturb_regional(
            input, table,
        )?);
    }
    Ok(regional_report(
        input,
        config.disclosure,
        &samla_cli_common::Threads::available(),
    )?)
}

/// The cumulative enrolment series up to the end of `stretch`, from every period the
/// kommuner submitted within it (the report's own, already loaded, reused).
fn enrolment(
    verified: &[VerifiedStored],
    config: &HubConfig,
    project: &ProjectDefinition,
    stretch: Period,
    matrix: &SubmissionMatrix,
    own: &[Statistics],
) -> Vec<EnrolmentPoint> {
    let own_period = own.first().map(|s| s.period);
    let mut loaded: Vec<Statistics> = Vec::new();
    for period in matrix
        .periods
        .iter()
        .filter_map(|p| p.parse::<Period>().ok())
    {
        let inside = period.from() >= stretch.from() && period.to() <= stretch.to();
        if inside && Some(period) != own_period {
            loaded.extend(load(verified, project, &period));
        }
    }
    let all: Vec<&Statistics> = own.iter().chain(&loaded).collect();
    let protection = match &config.cell_key {
        Some(table) => Protection::CellKey(table),
        None => Protection::Suppression(config.disclosure),
    };
    cumulative_enrolment(&project.code, stretch, &project.kommuner, &all, protection)
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
                        .map(|at| samla_common::local_time::stockholm(at).date().to_string())
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
        Format::Json => json::render(report)? + "\n",
        Format::Html => html::render(report),
        Format::Px => px::render(report, table),
    })
}

/// Renders the ESF+ common indicators as a PX file (`--format px --table esf`).
pub fn render_px_esf(report: &Report) -> String {
    px::render_esf(report)
}

impl Report {
    /// The note under every format's header: the disclosure rule, and which stored
    /// submissions were left out because they failed their check.
    pub fn rule_note(&self) -> String {
        let rule = labels::method_text(self.lang, self.figures());
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
            self.lang.region_sum().to_owned()
        } else {
            self.lang
                .value(samla_common::statistics::Dimension::Kommun, unit)
        }
    }

    /// The project's title line.
    pub fn title(&self) -> String {
        format!(
            "{} ({}), {}",
            self.project.name,
            self.project.code,
            self.lang.period(&self.figures().period, self.lifetime)
        )
    }

    /// For a period nobody submitted (with `--allow-empty`): the line every format
    /// puts at its top.
    pub fn empty_notice(&self) -> Option<String> {
        let figures = self.figures();
        figures.kommuner.is_empty().then(|| {
            format!(
                "{} {}; {}",
                self.lang.pick(
                    "Ingen kommun har lämnat in uppgifter för perioden",
                    "No kommun has submitted figures for the period"
                ),
                figures.period,
                self.lang.pick(
                    "alla siffror nedan är därför noll, inte uppmätta",
                    "every figure below is therefore zero, not measured"
                )
            )
        })
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
