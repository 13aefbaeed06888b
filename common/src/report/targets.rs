//! A project's targets as the project defines them (DESIGN.md §9): participants are
//! distinct people; a share target is of participants (distinct people of the
//! report's period) unless it says `of = "leavers"`. Every figure comes from published
//! cells only; where the part of a share is suppressed, the report gives the interval
//! the published table already implies ([`super::intervals::lp_bounds`]).

use serde::{Deserialize, Serialize};

use super::intervals::lp_bounds;
use crate::codes::{Gender, Outcome};
use crate::disclosure::regional::RegionalReport;
use crate::disclosure::TOTAL;
use crate::statistics::{TableName, ALL_LEAVERS};

/// What a share target is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Of {
    /// The participants of the period: distinct people, from the linkage sets.
    #[default]
    Participants,
    /// The people who left the project in the period.
    Leavers,
}

/// A share to reach, and what it is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShareTarget {
    /// From 0 to 1.
    pub share: f64,
    /// Its denominator.
    pub of: Of,
}

impl ShareTarget {
    /// A share of participants.
    pub fn of_participants(share: f64) -> ShareTarget {
        ShareTarget {
            share,
            of: Of::Participants,
        }
    }
}

/// A project's targets; each is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Targets {
    /// Distinct participants over the lifetime.
    pub participants: Option<u64>,
    /// Minimum share of women.
    pub share_women: Option<ShareTarget>,
    /// Share who go to work or studies.
    pub share_work_or_studies: Option<ShareTarget>,
    /// Share who go into any activity: work, studies or another activity closer to
    /// the labour market.
    pub share_into_activity: Option<ShareTarget>,
}

/// What a target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Distinct participants.
    Participants,
    /// Women.
    ShareWomen,
    /// To work or studies.
    ShareWorkOrStudies,
    /// To work, studies or another activity.
    ShareIntoActivity,
}

/// How the whole of a figure is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Distinct people across the kommuner (the linkage sets): a person in two
    /// kommuner counts once.
    DistinctPeople,
    /// The sum of the kommuner's table cells: a person in two kommuner counts in both.
    SumOverKommuner,
}

/// Which stretch of time a figure covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The project's whole lifetime.
    Lifetime,
    /// From the project's start up to (and including) this day.
    Cumulative(time::Date),
    /// Only the report's period (no cumulative submissions were found), so it is not
    /// compared with the target.
    PeriodOnly,
}

/// One measure against its target, from published figures only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetProgress {
    /// What is measured.
    pub measure: Measure,
    /// The whole a share is taken of (a count's is participants).
    pub of: Of,
    /// How the whole is counted.
    pub basis: Basis,
    /// The count, or the part of a share; `None` when suppressed.
    pub part: Option<u64>,
    /// The whole a share is taken of (a count has none).
    pub whole: Option<u64>,
    /// The figure: a count, or a share from 0 to 1; `None` when suppressed or there
    /// is nobody to count.
    pub figure: Option<f64>,
    /// Where `figure` is suppressed: the tightest interval the published cells of
    /// its table imply, as a figure (share or count).
    pub interval: Option<(f64, f64)>,
    /// The project's target, if it has one (shown beside a period-only figure too,
    /// but not compared with it).
    pub target: Option<f64>,
    /// The time the figure covers.
    pub scope: Scope,
}

impl TargetProgress {
    /// Whether the figure covers what the target speaks of (not a period alone).
    pub fn comparable(&self) -> bool {
        self.scope != Scope::PeriodOnly
    }

    /// The figure as a share of the target (1.0 = reached); `None` for a period-only
    /// figure.
    pub fn of_target(&self) -> Option<f64> {
        let (f, t) = (self.figure?, self.target?);
        (t > 0.0 && self.comparable()).then(|| f / t)
    }

    /// Figure minus target; `None` for a period-only figure.
    pub fn gap(&self) -> Option<f64> {
        self.comparable().then_some(self.figure? - self.target?)
    }
}

/// The cells of a table whose sum is a share's part, and the table.
struct Part {
    table: TableName,
    keys: Vec<Vec<&'static str>>,
}

fn outcome_part(outcomes: &[Outcome]) -> Part {
    Part {
        table: TableName::OutcomeByBackground,
        keys: outcomes
            .iter()
            .map(|o| vec![TOTAL, ALL_LEAVERS, o.code()])
            .collect(),
    }
}

fn women_part(of: Of) -> Part {
    match of {
        Of::Participants => Part {
            table: TableName::Participants,
            keys: vec![vec![TOTAL, Gender::Woman.code(), TOTAL]],
        },
        Of::Leavers => Part {
            table: TableName::Leavers,
            keys: vec![vec![TOTAL, Gender::Woman.code(), TOTAL]],
        },
    }
}

/// Progress against each of the project's targets, from published cells only, over
/// the time `scope` says the report covers. A period-only figure is not compared
/// with its target.
pub fn progress(report: &RegionalReport, targets: &Targets, scope: Scope) -> Vec<TargetProgress> {
    let distinct = report
        .linkage
        .as_ref()
        .ok()
        .map(|l| l.distinct_people.count);
    let leavers = report
        .table(TableName::OutcomeByBackground)
        .and_then(|t| t.count(&[TOTAL, ALL_LEAVERS, TOTAL]));
    let participants_sum = report
        .table(TableName::Participants)
        .and_then(|t| t.count(&[TOTAL, TOTAL, TOTAL]));
    // The whole of a share: distinct people where the linkage sets can be counted.
    let whole = |of: Of, measure: Measure| -> (Option<u64>, Basis) {
        match (of, measure) {
            (Of::Leavers, Measure::ShareWomen) => (
                report
                    .table(TableName::Leavers)
                    .and_then(|t| t.count(&[TOTAL, TOTAL, TOTAL])),
                Basis::SumOverKommuner,
            ),
            (Of::Leavers, _) => (leavers, Basis::SumOverKommuner),
            // Gender is not in the linkage sets: women are a share of the table sum.
            (Of::Participants, Measure::ShareWomen) => (participants_sum, Basis::SumOverKommuner),
            (Of::Participants, _) => match distinct {
                Some(count) => (count, Basis::DistinctPeople),
                None => (participants_sum, Basis::SumOverKommuner),
            },
        }
    };
    let share = |measure: Measure, target: Option<ShareTarget>, part: &dyn Fn(Of) -> Part| {
        let of = target.map_or(Of::Participants, |t| t.of);
        let part = part(of);
        let table = report.table(part.table);
        let keys: Vec<&[&str]> = part.keys.iter().map(Vec::as_slice).collect();
        let count: Option<u64> = table.and_then(|t| keys.iter().map(|k| t.count(k)).sum());
        let (whole, basis) = whole(of, measure);
        let figure = count
            .zip(whole)
            .filter(|(_, w)| *w > 0)
            .map(|(p, w)| p as f64 / w as f64);
        let interval = match (count, whole, table) {
            (None, Some(w), Some(t)) if w > 0 => {
                lp_bounds(t, &keys).map(|(lo, hi)| (lo as f64 / w as f64, hi as f64 / w as f64))
            }
            _ => None,
        };
        TargetProgress {
            measure,
            of,
            basis,
            part: count,
            whole,
            figure,
            interval,
            target: target.map(|t| t.share),
            scope,
        }
    };
    let participants = distinct.unwrap_or(participants_sum);
    vec![
        TargetProgress {
            measure: Measure::Participants,
            of: Of::Participants,
            basis: if distinct.is_some() {
                Basis::DistinctPeople
            } else {
                Basis::SumOverKommuner
            },
            part: participants,
            whole: None,
            figure: participants.map(|n| n as f64),
            interval: None,
            target: targets.participants.map(|n| n as f64),
            scope,
        },
        share(Measure::ShareWomen, targets.share_women, &women_part),
        share(
            Measure::ShareWorkOrStudies,
            targets.share_work_or_studies,
            &|_| outcome_part(&[Outcome::Work, Outcome::Studies]),
        ),
        share(
            Measure::ShareIntoActivity,
            targets.share_into_activity,
            &|_| outcome_part(&[Outcome::Work, Outcome::Studies, Outcome::OtherActivity]),
        ),
    ]
}
