//! Cumulative enrolment: distinct people who have started in the project, month by
//! month from its start, against the participants target.
//!
//! A person has started by the end of a month exactly when they were active in some
//! period between the project's start and that day, so the count is the size of the
//! union of the linkage sets of every submission whose period lies within that
//! stretch. A month gets a point only when each kommun's submissions cover the whole
//! stretch without a gap (nodes that submit monthly, or cumulatively "from the start
//! up to …", give a point every month they cover); otherwise the count would be too
//! low, and the month is left out rather than shown wrong.
//!
//! Disclosure control, by the report's method ([`Protection`]). Under suppression a
//! point is published when it is 0 or at least k, and differs from the previous
//! published point by 0 or at least k, so no difference between two published points
//! counts 1 to k-1 people. Under the cell key method every point is published as a
//! cell of its own: its true count moved by the noise its key selects, the key being
//! the sum of the public keys of its people's pseudonyms, as for every distinct count
//! ([`CellKey::of_pseudonyms`]). The point at a period's end therefore has the value
//! of that stretch's distinct count in every report, and a difference between two
//! points is blurred by both points' noise; the series need not rise month by month.

use std::collections::{BTreeMap, HashSet};

use time::Date;

use crate::cell_key::record_key::PseudonymKeyer;
use crate::cell_key::{perturb, CellKey, Ptable};
use crate::codes::{KommunCode, ProjectCode};
use crate::disclosure::DisclosureRule;
use crate::period::{Period, YearMonth};
use crate::pseudonym::Pseudonym;
use crate::statistics::Statistics;

/// One month of the series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentPoint {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// The last day counted (the month's end, or the series' end).
    pub up_to: Date,
    /// Distinct people who have started by then; `None` when suppressed.
    pub count: Option<u64>,
}

/// How the series is protected: the report's disclosure method.
#[derive(Debug, Clone, Copy)]
pub enum Protection<'a> {
    /// Suppression with this rule: small points, and points a small step above the
    /// last published one, are withheld.
    Suppression(DisclosureRule),
    /// The cell key method with this table: every point published, perturbed.
    CellKey(&'a Ptable),
}

/// The cumulative series from `start` to `end` over the submissions of `kommuner`
/// (any periods; those outside `start..=end` are ignored). Submissions made under
/// different pseudonym keys or domains cannot be linked: the series is then empty.
pub fn cumulative_enrolment(
    project: &ProjectCode,
    stretch: Period,
    kommuner: &[KommunCode],
    submissions: &[&Statistics],
    protection: Protection<'_>,
) -> Vec<EnrolmentPoint> {
    let inside: Vec<&Statistics> = submissions
        .iter()
        .copied()
        .filter(|s| {
            kommuner.contains(&s.kommun)
                && s.period.from() >= stretch.from()
                && s.period.to() <= stretch.to()
                && s.projects.contains(project)
        })
        .collect();
    if inside.is_empty()
        || crate::linkage::same_key_and_domain(inside.iter().copied().map(crate::linkage::linkable))
            .is_err()
    {
        return Vec::new();
    }
    let mut by_end: Vec<&Statistics> = inside.clone();
    by_end.sort_by_key(|s| s.period.to());
    let mut periods: BTreeMap<KommunCode, Vec<Period>> = BTreeMap::new();
    for s in &inside {
        periods.entry(s.kommun).or_default().push(s.period);
    }
    let submitting: Vec<KommunCode> = periods.keys().copied().collect();
    let mut seen: HashSet<&Pseudonym> = HashSet::new();
    // The key of the cell of everyone seen so far, for the cell key method only.
    let keyer = matches!(protection, Protection::CellKey(_)).then(PseudonymKeyer::new);
    let mut key = CellKey::EMPTY;
    let mut next = 0;
    let mut out = Vec::new();
    let mut last_published: u64 = 0;
    for month in stretch.months() {
        let up_to = month_end(month).min(stretch.to());
        while let Some(s) = by_end.get(next).filter(|s| s.period.to() <= up_to) {
            for set in s.linkage_sets.iter().filter(|set| &set.project == project) {
                for pseudonym in &set.pseudonyms {
                    if seen.insert(pseudonym) {
                        if let Some(keyer) = &keyer {
                            key = key.with(keyer.key(pseudonym));
                        }
                    }
                }
            }
            next += 1;
        }
        let complete = submitting
            .iter()
            .all(|k| covers(&periods[k], stretch.from(), up_to));
        if !complete {
            continue;
        }
        let n = seen.len() as u64;
        let count = match protection {
            Protection::Suppression(rule) => {
                let step = n.saturating_sub(last_published);
                let count = (!rule.is_primary(n) && !rule.is_primary(step)).then_some(n);
                if let Some(n) = count {
                    last_published = n;
                }
                count
            }
            Protection::CellKey(table) => Some(perturb(n, key, table).get()),
        };
        out.push(EnrolmentPoint {
            month: month.code(),
            up_to,
            count,
        });
    }
    out
}

/// Whether the periods ending by `to` cover every day from `from` to `to`.
fn covers(periods: &[Period], from: Date, to: Date) -> bool {
    let mut sorted: Vec<&Period> = periods.iter().filter(|p| p.to() <= to).collect();
    sorted.sort_by_key(|p| p.from());
    let mut covered: Option<Date> = from.previous_day();
    for p in sorted {
        match covered {
            Some(c) if p.from() > c.next_day().unwrap_or(c) => return false,
            Some(c) => covered = Some(c.max(p.to())),
            None => covered = Some(p.to()),
        }
    }
    covered.is_some_and(|c| c >= to)
}

/// The last day of a month.
fn month_end(month: YearMonth) -> Date {
    let (year, next) = if month.month == 12 {
        (month.year + 1, 1)
    } else {
        (month.year, month.month + 1)
    };
    time::Month::try_from(next)
        .ok()
        .and_then(|m| Date::from_calendar_date(year, m, 1).ok())
        .and_then(Date::previous_day)
        .unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::personnummer::{luhn_check_digit, Personnummer};
    use crate::pseudonym::{LinkageDomain, MasterSecret};
    use crate::record::{FlagSet, ParticipantRecord, RecordFields};
    use crate::statistics::Aggregator;
    use time::macros::date;

    /// One kommun's statistics for `period`: people `0..n` starting on their start day.
    fn kommun(code: &str, period: &str, people: &[(usize, Date)]) -> Statistics {
        let master = MasterSecret::from_bytes([7; 32]);
        let domain: LinkageDomain = "test-enrolment".parse().unwrap();
        let key = master.domain_key(&domain);
        let record_keys = crate::cell_key::RecordKeyer::new(&master, &domain);
        let project: ProjectCode = "UNG".parse().unwrap();
        let period: Period = period.parse().unwrap();
        let kommun: crate::codes::KommunCode = code.parse().unwrap();
        let mut a = Aggregator::new(
            kommun,
            period,
            domain,
            master.key_id(),
            vec![project.clone()],
        );
        for (i, start) in people {
            let nine = format!("01{:02}{:02}{:03}", i % 12 + 1, i % 28 + 1, i + 1);
            let pnr = format!("20{nine}{}", luhn_check_digit(nine.as_bytes()));
            let record = ParticipantRecord::new(RecordFields {
                personnummer: Personnummer::parse(&pnr, date!(2026 - 01 - 01)).unwrap(),
                project: project.clone(),
                start: *start,
                end: None,
                outcome: None,
                gender: None,
                flags: FlagSet::default(),
                status_at_entry: None,
                education: None,
            })
            .unwrap();
            if period.is_active(record.start, record.end) {
                let r = record_keys.record_key(&record.personnummer, kommun, &project);
                a.add(key.pseudonym(&record.personnummer), r, &record)
                    .unwrap();
            }
        }
        a.finish()
    }

    /// Two kommuner submitting monthly: a point per covered month, people counted
    /// once however many months they are active, and a point that adds 1 to k-1
    /// people to the last published one suppressed.
    #[test]
    fn the_series_counts_distinct_starters_and_hides_small_steps() {
        let people: Vec<(usize, Date)> = (0..30)
            .map(|i| (i, date!(2025 - 01 - 10)))
            .chain((30..32).map(|i| (i, date!(2025 - 02 - 10))))
            .chain((32..40).map(|i| (i, date!(2025 - 03 - 10))))
            .collect();
        let (a, b): (Vec<_>, Vec<_>) = people.iter().partition(|(i, _)| i % 2 == 0);
        let mut all = Vec::new();
        for month in ["2025-01", "2025-02", "2025-03"] {
            all.push(kommun("2180", month, &a));
            all.push(kommun("2181", month, &b));
        }
        // Sandviken has not submitted April: no point for it.
        all.push(kommun("2180", "2025-04", &a));
        let refs: Vec<&Statistics> = all.iter().collect();
        let kommuner: Vec<KommunCode> = ["2180", "2181"]
            .iter()
            .map(|k| k.parse().unwrap())
            .collect();
        let series = cumulative_enrolment(
            &"UNG".parse().unwrap(),
            "2025".parse().unwrap(),
            &kommuner,
            &refs,
            Protection::Suppression(DisclosureRule { k: 5 }),
        );
        let shown: Vec<(&str, Option<u64>)> =
            series.iter().map(|p| (p.month.as_str(), p.count)).collect();
        assert_eq!(
            shown,
            [
                ("2025-01", Some(30)),
                ("2025-02", None),
                ("2025-03", Some(40))
            ]
        );
        assert_eq!(series[2].up_to, date!(2025 - 03 - 31));
    }

    /// Under the cell key method every point is published, as the perturbed count of
    /// distinct starters with the key of their pseudonyms: the value of the same
    /// people's distinct count anywhere else, and within max_noise of the truth.
    #[test]
    fn under_the_cell_key_method_every_point_is_a_perturbed_distinct_count() {
        let people: Vec<(usize, Date)> = (0..30)
            .map(|i| (i, date!(2025 - 01 - 10)))
            .chain((30..32).map(|i| (i, date!(2025 - 02 - 10))))
            .chain((32..40).map(|i| (i, date!(2025 - 03 - 10))))
            .collect();
        let (a, b): (Vec<_>, Vec<_>) = people.iter().partition(|(i, _)| i % 2 == 0);
        let mut all = Vec::new();
        for month in ["2025-01", "2025-02", "2025-03"] {
            all.push(kommun("2180", month, &a));
            all.push(kommun("2181", month, &b));
        }
        let refs: Vec<&Statistics> = all.iter().collect();
        let kommuner: Vec<KommunCode> = ["2180", "2181"]
            .iter()
            .map(|k| k.parse().unwrap())
            .collect();
        let table = Ptable::new(crate::cell_key::PtableParams {
            max_noise: 3,
            variance: 1.5,
            js: 1,
        })
        .unwrap();
        let series = cumulative_enrolment(
            &"UNG".parse().unwrap(),
            "2025".parse().unwrap(),
            &kommuner,
            &refs,
            Protection::CellKey(&table),
        );
        assert_eq!(series.len(), 3);
        for (point, (truth, months)) in series.iter().zip([(30, 1), (32, 2), (40, 3)]) {
            let mut union: Vec<&Pseudonym> = all
                .iter()
                .take(2 * months)
                .flat_map(|s| s.linkage_sets.iter().flat_map(|l| l.pseudonyms.iter()))
                .collect();
            union.sort();
            union.dedup();
            assert_eq!(union.len(), truth);
            let expected = perturb(truth as u64, CellKey::of_pseudonyms(union), &table).get();
            let published = point.count.unwrap();
            assert_eq!(published, expected, "{}", point.month);
            assert!(published.abs_diff(truth as u64) <= 3, "{}", point.month);
        }
    }

    #[test]
    fn coverage_needs_every_day_from_the_start() {
        let p = |a: Date, b: Date| Period::new(a, b).unwrap();
        let start = date!(2023 - 09 - 01);
        let months = [
            p(start, date!(2023 - 09 - 30)),
            p(date!(2023 - 10 - 01), date!(2023 - 10 - 31)),
        ];
        assert!(covers(&months, start, date!(2023 - 10 - 31)));
        assert!(!covers(&months[1..], start, date!(2023 - 10 - 31)));
        assert!(covers(
            &[p(start, date!(2024 - 12 - 31))],
            start,
            date!(2024 - 12 - 31)
        ));
        assert!(!covers(
            &[p(start, date!(2024 - 12 - 31))],
            start,
            date!(2024 - 11 - 30)
        ));
        assert_eq!(
            month_end(YearMonth {
                year: 2024,
                month: 2
            }),
            date!(2024 - 02 - 29)
        );
        assert_eq!(
            month_end(YearMonth {
                year: 2025,
                month: 12
            }),
            date!(2025 - 12 - 31)
        );
    }
}
