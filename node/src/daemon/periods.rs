//! Which periods the daemon submits an export for, kept inside each project's
//! lifetime.
//!
//! The period comes from the file's name (`ung-2180-2025-Q3.csv`) or, if it names
//! none, from the `[daemon] periods` choices: the latest closed month, quarter, half
//! or year, and each project's lifetime. A period is submitted for a project only if
//! it overlaps the project's lifetime, and then clipped to it: a project that ended
//! in 2023 gets no submission for a quarter of 2026, and one that started on
//! 2023-09-01 gets `2023-09-01..2023-09-30` for 2023-Q3. Projects without a lifetime
//! in the config get the period as it is. Pure: `today` comes in as an argument.

use samla_common::codes::ProjectCode;
use samla_common::period::{period_in_name, Period};

use crate::config::{PeriodChoice, ProjectConfig};

/// What to submit an export for, and what was left out and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Each period with the projects it is submitted for, in the order chosen.
    pub submit: Vec<(Period, Vec<ProjectCode>)>,
    /// Periods not submitted for a project, and why.
    pub skipped: Vec<Skipped>,
}

/// A period not submitted for a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// The period does not overlap the project's lifetime.
    OutsideLifetime {
        /// The project.
        project: ProjectCode,
        /// The period asked for.
        period: Period,
        /// The project's lifetime.
        lifetime: Period,
    },
    /// `lifetime` was asked for, but the project has no start and end in the config.
    NoLifetime {
        /// The project.
        project: ProjectCode,
    },
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skipped::OutsideLifetime { project, period, lifetime } => write!(
                f,
                "period {period} is outside project {project}'s lifetime {lifetime}: not submitted for it"
            ),
            Skipped::NoLifetime { project } => write!(
                f,
                "project {project} has no start and end in the node config: its lifetime is not submitted"
            ),
        }
    }
}

/// The plan for an export named `name`, read on `today`.
pub fn plan(
    name: &str,
    today: time::Date,
    choices: &[PeriodChoice],
    projects: &[ProjectConfig],
) -> Plan {
    let mut plan = Plan::default();
    if let Some(period) = period_in_name(name, today.year()) {
        plan.within(period, projects);
        return plan;
    }
    for choice in choices {
        match choice {
            PeriodChoice::Closed(kind) => plan.within(kind.latest_closed(today), projects),
            PeriodChoice::Lifetime => {
                for project in projects {
                    match project.lifetime {
                        Some(lifetime) => plan.add(lifetime, &project.code),
                        None => plan.skipped.push(Skipped::NoLifetime {
                            project: project.code.clone(),
                        }),
                    }
                }
            }
        }
    }
    plan
}

impl Plan {
    /// `period` for every project, clipped to each one's lifetime.
    fn within(&mut self, period: Period, projects: &[ProjectConfig]) {
        for project in projects {
            match project.lifetime {
                None => self.add(period, &project.code),
                Some(lifetime) => match overlap(period, lifetime) {
                    Some(clipped) => self.add(clipped, &project.code),
                    None => self.skipped.push(Skipped::OutsideLifetime {
                        project: project.code.clone(),
                        period,
                        lifetime,
                    }),
                },
            }
        }
    }

    /// Submits `period` for `project`, once.
    fn add(&mut self, period: Period, project: &ProjectCode) {
        match self.submit.iter_mut().find(|(p, _)| *p == period) {
            Some((_, codes)) if codes.contains(project) => {}
            Some((_, codes)) => codes.push(project.clone()),
            None => self.submit.push((period, vec![project.clone()])),
        }
    }
}

/// The days two periods share, if any.
fn overlap(a: Period, b: Period) -> Option<Period> {
    Period::new(a.from().max(b.from()), a.to().min(b.to()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use samla_common::period::PeriodKind;
    use time::macros::date;

    fn project(code: &str, lifetime: Option<&str>) -> ProjectConfig {
        ProjectConfig {
            code: code.parse().unwrap(),
            linkage_domain: "d".parse().unwrap(),
            lifetime: lifetime.map(|l| l.parse().unwrap()),
        }
    }

    fn period(text: &str) -> Period {
        text.parse().unwrap()
    }

    #[test]
    fn a_project_that_has_ended_gets_only_its_lifetime() {
        // Fasetten ended on 2023-02-28; on 2026-11-23 the latest closed quarter is
        // 2026-Q3, long after.
        let fasetten = project("FASETTEN", Some("2021-01-04..2023-02-28"));
        let choices = [
            PeriodChoice::Closed(PeriodKind::Quarter),
            PeriodChoice::Lifetime,
        ];
        let plan = plan(
            "export.csv",
            date!(2026 - 11 - 23),
            &choices,
            std::slice::from_ref(&fasetten),
        );
        assert_eq!(
            plan.submit,
            [(
                period("2021-01-04..2023-02-28"),
                vec![fasetten.code.clone()]
            )]
        );
        assert_eq!(
            plan.skipped,
            [Skipped::OutsideLifetime {
                project: fasetten.code.clone(),
                period: period("2026-Q3"),
                lifetime: period("2021-01-04..2023-02-28"),
            }]
        );
        assert_eq!(
            plan.skipped[0].to_string(),
            "period 2026-07-01..2026-09-30 is outside project FASETTEN's lifetime 2021-01-04..2023-02-28: not submitted for it"
        );
    }

    #[test]
    fn periods_at_the_ends_of_a_lifetime_are_clipped_to_it() {
        let ung = project("UNG", Some("2023-09-01..2026-08-31"));
        let open = project("OPEN", None);
        let projects = [ung.clone(), open.clone()];
        // Read on 2023-10-02: the latest closed quarter is 2023-Q3, of which UNG ran
        // from 1 September; a project without a lifetime gets the whole quarter.
        let quarter = [PeriodChoice::Closed(PeriodKind::Quarter)];
        let plan = plan("export.csv", date!(2023 - 10 - 02), &quarter, &projects);
        assert_eq!(
            plan.submit,
            [
                (period("2023-09-01..2023-09-30"), vec![ung.code.clone()]),
                (period("2023-Q3"), vec![open.code.clone()]),
            ]
        );
        // A period named in the file is clipped too, at the end of the lifetime.
        let plan = super::plan(
            "ung-2180-2026-Q3.csv",
            date!(2026 - 10 - 05),
            &quarter,
            std::slice::from_ref(&ung),
        );
        assert_eq!(
            plan.submit,
            [(period("2026-07-01..2026-08-31"), vec![ung.code.clone()])]
        );
        // Inside the lifetime nothing changes, and projects sharing a period share a
        // submission.
        let other = project("OMSTART", Some("2019-01-01..2026-12-31"));
        let plan = super::plan(
            "x.csv",
            date!(2025 - 01 - 10),
            &[PeriodChoice::Closed(PeriodKind::Year)],
            &[ung.clone(), other.clone()],
        );
        assert_eq!(
            plan.submit,
            [(period("2024"), vec![ung.code.clone(), other.code.clone()])]
        );
        assert!(plan.skipped.is_empty());
    }

    #[test]
    fn the_same_period_twice_is_submitted_once_and_a_missing_lifetime_is_named() {
        // Asked for the year and the lifetime, where the lifetime is that year.
        let year = project("YEAR", Some("2025-01-01..2025-12-31"));
        let open = project("OPEN", None);
        let choices = [
            PeriodChoice::Closed(PeriodKind::Year),
            PeriodChoice::Lifetime,
        ];
        let plan = plan(
            "x.csv",
            date!(2026 - 02 - 01),
            &choices,
            &[year.clone(), open.clone()],
        );
        assert_eq!(
            plan.submit,
            [(period("2025"), vec![year.code.clone(), open.code.clone()])]
        );
        assert_eq!(
            plan.skipped,
            [Skipped::NoLifetime {
                project: open.code.clone()
            }]
        );
    }
}
