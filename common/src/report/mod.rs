//! A project's regional report for one period (DESIGN.md §9), as figures that may be
//! published: every table of the schema per kommun and for the region (the sum over
//! the kommuner that submitted), distinct people and overlaps from the linkage sets,
//! and progress against the project's targets. Everything goes through disclosure
//! control in one joint problem per group of linked tables, with the kommun as one
//! more additive dimension, so the per-kommun cells, the regional totals and the
//! distinct counts cannot be played against each other. Rendering is the hub's.
//!
//! The exact figures ([`RegionalSums`], [`crate::linkage::link`]) stay here too, for
//! checking; only [`regional_report`] makes something that may be shown.

use std::collections::BTreeMap;

pub mod enrolment;
pub mod esf;
pub mod intervals;
pub mod targets;

pub use enrolment::{cumulative_enrolment, EnrolmentPoint, Protection};
pub use esf::{esf_indicators, EsfIndicators};
pub use targets::{progress, Basis, Measure, Of, Scope, ShareTarget, TargetProgress, Targets};

use serde::Serialize;

use crate::codes::{Flag, Gender, KommunCode, Outcome, ProjectCode};
pub use crate::disclosure::regional::{
    regional_report, PublishedLinkage, RegionalError, RegionalInput, RegionalReport,
};
use crate::disclosure::TOTAL;
use crate::statistics::{Statistics, TableName, ALL_LEAVERS};

/// One table of one project summed over kommuner: each key (without the project)
/// and its count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionalSums(pub BTreeMap<Vec<String>, u64>);

impl RegionalSums {
    /// A table of one project summed over the statistics of the given kommuner. Each
    /// kommun's cells count distinct people within the kommun; the regional figure is
    /// their sum.
    pub fn of(name: TableName, project: &ProjectCode, submissions: &[&Statistics]) -> RegionalSums {
        let mut sums = BTreeMap::new();
        for s in submissions {
            let Some(table) = s.table(name) else { continue };
            for cell in &table.cells {
                if cell.key.first().map(String::as_str) == Some(project.as_str()) {
                    *sums.entry(cell.key[1..].to_vec()).or_default() += cell.count;
                }
            }
        }
        RegionalSums(sums)
    }

    /// The sum of every cell.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The sum of the cells whose key at `position` is one of `codes`.
    pub fn with(&self, position: usize, codes: &[&str]) -> u64 {
        self.0
            .iter()
            .filter(|(key, _)| {
                key.get(position)
                    .is_some_and(|v| codes.contains(&v.as_str()))
            })
            .map(|(_, n)| n)
            .sum()
    }
}

/// The kommuner of a project that have not submitted.
pub fn missing(expected: &[KommunCode], submitted: &[KommunCode]) -> Vec<KommunCode> {
    expected
        .iter()
        .filter(|k| !submitted.contains(k))
        .copied()
        .collect()
}

/// A figure set against its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The figure: a count, or a share from 0 to 1.
    pub figure: f64,
    /// The target, if the project has one.
    pub target: Option<f64>,
}

impl Progress {
    /// Figure minus target.
    pub fn gap(&self) -> Option<f64> {
        self.target.map(|t| self.figure - t)
    }

    /// The figure as a share of the target (1.0 = reached).
    pub fn of_target(&self) -> Option<f64> {
        self.target.filter(|t| *t > 0.0).map(|t| self.figure / t)
    }
}

/// The shares a project's targets speak of, from regional sums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shares {
    /// Women among participants.
    pub women: Option<f64>,
    /// Leavers who went to work or studies.
    pub work_or_studies: Option<f64>,
    /// Leavers who went to work, studies or another activity closer to the labour market.
    pub into_activity: Option<f64>,
}

impl Shares {
    /// Computes the shares from the regional `participants` and `leavers` sums.
    pub fn from_sums(participants: &RegionalSums, leavers: &RegionalSums) -> Shares {
        let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        let (work, studies, other) = (
            Outcome::Work.code(),
            Outcome::Studies.code(),
            Outcome::OtherActivity.code(),
        );
        Shares {
            women: share(
                participants.with(0, &[Gender::Woman.code()]),
                participants.total(),
            ),
            work_or_studies: share(leavers.with(1, &[work, studies]), leavers.total()),
            into_activity: share(leavers.with(1, &[work, studies, other]), leavers.total()),
        }
    }
}

/// Leavers with a background flag (or all leavers) and how many went to work or
/// studies: the differences the projects aim to narrow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeByFlag {
    /// `all`, or a flag code.
    pub flag: String,
    /// Leavers with the flag, if published.
    pub leavers: Option<u64>,
    /// Of them, to work or studies, if published.
    pub work_or_studies: Option<u64>,
    /// The share, when both are published.
    pub share: Option<f64>,
}

/// The regional sum of leavers with one of these outcomes, if every such cell is
/// published.
fn leavers_with(report: &RegionalReport, row: &[&str], outcomes: &[Outcome]) -> Option<u64> {
    let table = report.table(TableName::OutcomeByBackground)?;
    outcomes
        .iter()
        .map(|o| {
            let mut key = row.to_vec();
            key.push(o.code());
            table.count(&key)
        })
        .sum()
}

/// Outcomes for all leavers and for each background flag, region-wide.
pub fn outcomes_by_flag(report: &RegionalReport) -> Vec<OutcomeByFlag> {
    let Some(table) = report.table(TableName::OutcomeByBackground) else {
        return Vec::new();
    };
    std::iter::once(ALL_LEAVERS)
        .chain(Flag::ALL.iter().map(|f| f.code()))
        .map(|flag| {
            let leavers = table.count(&[TOTAL, flag, TOTAL]);
            let work_or_studies =
                leavers_with(report, &[TOTAL, flag], &[Outcome::Work, Outcome::Studies]);
            OutcomeByFlag {
                flag: flag.to_owned(),
                leavers,
                work_or_studies,
                share: leavers
                    .zip(work_or_studies)
                    .filter(|(l, _)| *l > 0)
                    .map(|(l, w)| w as f64 / l as f64),
            }
        })
        .collect()
}

/// Active participants per month, region-wide (a person active in two kommuner in
/// a month counts in both).
pub fn monthly_series(report: &RegionalReport) -> Vec<(String, Option<u64>)> {
    let Some(table) = report.table(TableName::MonthlyActive) else {
        return Vec::new();
    };
    table
        .cells
        .iter()
        .filter(|c| c.key.first().map(String::as_str) == Some(TOTAL))
        .filter_map(|c| Some((c.key.get(1)?.clone(), c.count)))
        .collect()
}

/// A share as reports print it: one decimal, `39.5 %`.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::personnummer::{luhn_check_digit, Personnummer};
    use crate::pseudonym::MasterSecret;
    use crate::record::{FlagSet, ParticipantRecord, RecordFields};
    use crate::statistics::Aggregator;
    use time::macros::date;

    /// A region shaped like Omstart!: 9 kommuner, 380 participants over the project's
    /// life, 56 to work and 94 to studies.
    #[test]
    fn an_omstart_shaped_region_reaches_39_5_percent_to_work_or_studies() {
        let kommuner: Vec<KommunCode> = [
            "2183", "2180", "2104", "2184", "2132", "2101", "2121", "2181", "2182",
        ]
        .iter()
        .map(|k| k.parse().unwrap())
        .collect();
        let project: ProjectCode = "OMSTART".parse().unwrap();
        let master = MasterSecret::from_bytes([4; 32]);
        let domain: crate::pseudonym::LinkageDomain = "gavleborg-omstart-2019".parse().unwrap();
        let key = master.domain_key(&domain);
        let record_keys = crate::cell_key::RecordKeyer::new(&master, &domain);
        let lifetime: crate::period::Period = "2019-01-01..2022-12-31".parse().unwrap();
        let mut aggregators: Vec<Aggregator> = kommuner
            .iter()
            .map(|k| {
                Aggregator::new(
                    *k,
                    lifetime,
                    domain.clone(),
                    master.key_id(),
                    vec![project.clone()],
                )
            })
            .collect();
        for i in 0..380usize {
            let nine = format!("99{:02}{:02}{:03}", i % 12 + 1, i % 28 + 1, i % 999 + 1);
            let pnr = format!("19{nine}{}", luhn_check_digit(nine.as_bytes()));
            let outcome = match i {
                0..=55 => Outcome::Work,
                56..=149 => Outcome::Studies,
                150..=249 => Outcome::OtherActivity,
                _ => Outcome::JobSeeking,
            };
            let record = ParticipantRecord::new(RecordFields {
                personnummer: Personnummer::parse(&pnr, date!(2026 - 01 - 01)).unwrap(),
                project: project.clone(),
                start: date!(2020 - 02 - 01),
                end: Some(date!(2020 - 11 - 30)),
                outcome: Some(outcome),
                gender: None,
                flags: FlagSet::default(),
                status_at_entry: None,
                education: None,
            })
            .unwrap();
            let k = kommuner[i % kommuner.len()];
            let r = record_keys.record_key(&record.personnummer, k, &project);
            let a = &mut aggregators[i % kommuner.len()];
            a.add(key.pseudonym(&record.personnummer), r, &record)
                .unwrap();
        }
        let stats: Vec<Statistics> = aggregators.into_iter().map(Aggregator::finish).collect();
        let refs: Vec<&Statistics> = stats.iter().take(8).collect();
        assert_eq!(
            missing(
                &kommuner,
                &refs.iter().map(|s| s.kommun).collect::<Vec<_>>()
            ),
            [kommuner[8]]
        );
        let all: Vec<&Statistics> = stats.iter().collect();
        let participants = RegionalSums::of(TableName::Participants, &project, &all);
        let leavers = RegionalSums::of(TableName::Leavers, &project, &all);
        assert_eq!(participants.total(), 380);
        assert_eq!(
            (leavers.with(1, &["work"]), leavers.with(1, &["studies"])),
            (56, 94)
        );
        let shares = Shares::from_sums(&participants, &leavers);
        assert_eq!(percent(shares.work_or_studies.unwrap()), "39.5 %");
        assert_eq!(percent(shares.into_activity.unwrap()), "65.8 %");
        let reached = Progress {
            figure: 380.0,
            target: Some(250.0),
        };
        assert_eq!(reached.gap(), Some(130.0));
        assert_eq!(reached.of_target(), Some(1.52));
    }
}
