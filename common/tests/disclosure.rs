//! Disclosure control on whole submissions, checked from the published tables alone,
//! the way an attacker would: every cell and total becomes an equation over the
//! unknown inner cells, the margins that tables share become equations too, and
//! linear programming bounds each suppressed cell.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::collections::HashMap;

use proptest::prelude::*;
use samla_common::codes::{Education, EntryStatus, Flag, Gender, Outcome};
use samla_common::disclosure::{
    disclose, DisclosureRule, PublishedStatistics, PublishedTable, Sequential, TOTAL,
};
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use samla_common::pseudonym::MasterSecret;
use samla_common::record::{FlagSet, ParticipantRecord, RecordFields};
use samla_common::statistics::{Aggregator, Statistics, TableName};
use time::macros::date;
use time::Duration;

/// A small random population: (seed values per person).
fn population() -> impl Strategy<Value = Vec<[u16; 8]>> {
    prop::collection::vec(any::<[u16; 8]>(), 15..90)
}

fn statistics(people: &[[u16; 8]]) -> Statistics {
    let master = MasterSecret::from_bytes([7; 32]);
    let domain = "test-domain".parse().unwrap();
    let key = master.domain_key(&domain);
    let record_keys = samla_common::cell_key::RecordKeyer::new(&master, &domain);
    let kommun: samla_common::codes::KommunCode = "2180".parse().unwrap();
    let projects = vec!["UNG".parse().unwrap(), "OMSTART".parse().unwrap()];
    let mut aggregator = Aggregator::new(
        kommun,
        "2025".parse().unwrap(),
        domain,
        master.key_id(),
        projects.clone(),
    );
    for (i, v) in people.iter().enumerate() {
        let birth = date!(1995 - 01 - 01) + Duration::days(i64::from(v[0] % 4000));
        let nine = format!(
            "{:02}{:02}{:02}{:03}",
            birth.year() % 100,
            birth.month() as u8,
            birth.day(),
            i % 998 + 1
        );
        let pnr = format!(
            "{}{nine}{}",
            birth.year() / 100,
            luhn_check_digit(nine.as_bytes())
        );
        let start = date!(2024 - 06 - 01) + Duration::days(i64::from(v[1] % 500));
        let end = (v[2] % 3 != 0)
            .then(|| start + Duration::days(i64::from(v[3] % 400)))
            .filter(|e| *e <= date!(2025 - 12 - 31));
        let mut flags = FlagSet::default();
        for (bit, flag) in Flag::ALL.iter().enumerate() {
            if v[4] & (1 << bit) != 0 && v[4] % 3 == 0 {
                flags.insert(*flag);
            }
        }
        let record = ParticipantRecord::new(RecordFields {
            personnummer: Personnummer::parse(&pnr, date!(2026 - 01 - 01)).unwrap(),
            project: projects[usize::from(v[5] % 5 == 0)].clone(),
            start,
            end,
            outcome: end.map(|_| Outcome::ALL[usize::from(v[6]) % Outcome::ALL.len()]),
            gender: Some(Gender::ALL[usize::from(v[7] % 20).min(2) % 3]),
            flags,
            status_at_entry: Some(EntryStatus::ALL[usize::from(v[6] / 7) % EntryStatus::ALL.len()]),
            education: Some(Education::ALL[usize::from(v[7] / 11) % Education::ALL.len()]),
        })
        .unwrap();
        let r = record_keys.record_key(&record.personnummer, kommun, &record.project);
        aggregator
            .add(key.pseudonym(&record.personnummer), r, &record)
            .unwrap();
    }
    let stats = aggregator.finish();
    stats.check().unwrap();
    stats
}

/// A published cell's place: table and key.
type Place = (TableName, Vec<String>);

/// The attacker's model: inner cells as variables, every published value as an
/// equation, and the shared margins the schema implies as equalities.
struct Attack<'a> {
    published: &'a PublishedStatistics,
    inner: HashMap<Place, usize>,
}

impl<'a> Attack<'a> {
    fn new(published: &'a PublishedStatistics) -> Attack<'a> {
        let mut inner = HashMap::new();
        for t in &published.tables {
            for c in t.cells.iter().filter(|c| !c.key.iter().any(|k| k == TOTAL)) {
                let next = inner.len();
                inner.insert((t.name, c.key.clone()), next);
            }
        }
        Attack { published, inner }
    }

    fn members(&self, table: TableName, key: &[String]) -> Vec<usize> {
        self.inner
            .iter()
            .filter(|((t, k), _)| {
                *t == table && k.iter().zip(key).all(|(a, b)| b == TOTAL || a == b)
            })
            .map(|(_, v)| *v)
            .collect()
    }

    fn table(&self, name: TableName) -> &PublishedTable {
        self.published
            .tables
            .iter()
            .find(|t| t.name == name)
            .unwrap()
    }

    /// Equalities between cells of different tables that hold the same people.
    fn links(&self) -> Vec<(Vec<usize>, Vec<usize>)> {
        let t = |s: &str| s.to_owned();
        let mut links = Vec::new();
        for c in &self.table(TableName::Leavers).cells {
            if let [p, g, o] = &c.key[..] {
                if g == TOTAL && p != TOTAL && o != TOTAL {
                    let l = self.members(TableName::Leavers, &c.key);
                    links.push((
                        l.clone(),
                        self.members(TableName::Duration, &[p.clone(), o.clone(), t(TOTAL)]),
                    ));
                    links.push((
                        l,
                        self.members(
                            TableName::OutcomeByBackground,
                            &[p.clone(), t("all"), o.clone()],
                        ),
                    ));
                }
            }
        }
        for c in &self.table(TableName::Entrants).cells {
            if let [p, g, a] = &c.key[..] {
                if a == TOTAL && p != TOTAL && g != TOTAL {
                    let e = self.members(TableName::Entrants, &c.key);
                    let key = [p.clone(), g.clone(), t(TOTAL)];
                    links.push((e.clone(), self.members(TableName::EntryStatus, &key)));
                    links.push((e, self.members(TableName::EntryEducation, &key)));
                }
            }
        }
        links
    }

    /// The interval each suppressed cell can take: (table, key, low, high).
    fn bounds(&self) -> Vec<(TableName, Vec<String>, f64, f64)> {
        // Every equation as (variable, coefficient) terms and a right-hand side.
        let mut equations: Vec<(Vec<(usize, f64)>, f64)> = Vec::new();
        for t in &self.published.tables {
            for c in t.cells.iter() {
                if let Some(n) = c.count {
                    let terms = self
                        .members(t.name, &c.key)
                        .into_iter()
                        .map(|m| (m, 1.0))
                        .collect();
                    equations.push((terms, n as f64));
                }
            }
        }
        for (a, b) in self.links() {
            let terms = a
                .iter()
                .map(|m| (*m, 1.0))
                .chain(b.iter().map(|m| (*m, -1.0)))
                .collect();
            equations.push((terms, 0.0));
        }
        let solve = |direction, target: &[usize]| {
            let mut lp = microlp::Problem::new(direction);
            let vars: Vec<_> = (0..self.inner.len())
                .map(|i| {
                    lp.add_var(
                        if target.contains(&i) { 1.0 } else { 0.0 },
                        (0.0, f64::INFINITY),
                    )
                })
                .collect();
            for (terms, rhs) in &equations {
                let terms: Vec<_> = terms.iter().map(|(m, c)| (vars[*m], *c)).collect();
                lp.add_constraint(terms.as_slice(), microlp::ComparisonOp::Eq, *rhs);
            }
            match lp.solve() {
                Ok(outcome) => outcome.into_solution().unwrap().objective(),
                Err(microlp::Error::Unbounded) => f64::INFINITY,
                Err(e) => panic!("the published values are a feasible system: {e:?}"),
            }
        };
        let mut out = Vec::new();
        for t in &self.published.tables {
            for c in t.cells.iter().filter(|c| c.suppressed.is_some()) {
                let target = self.members(t.name, &c.key);
                let low = solve(microlp::OptimizationDirection::Minimize, &target);
                let high = solve(microlp::OptimizationDirection::Maximize, &target);
                out.push((t.name, c.key.clone(), low, high));
            }
        }
        out
    }
}

/// Lines (all dimensions fixed but one additive one) holding exactly one suppressed cell.
fn single_suppressed_lines(
    published: &PublishedStatistics,
) -> Vec<(TableName, usize, Vec<String>)> {
    let mut bad = Vec::new();
    for t in &published.tables {
        for (d, _) in t
            .dimensions
            .iter()
            .enumerate()
            .filter(|(_, dim)| dim.is_additive())
        {
            let mut lines: HashMap<Vec<String>, usize> = HashMap::new();
            for c in &t.cells {
                let mut rest = c.key.clone();
                rest.remove(d);
                *lines.entry(rest).or_default() += usize::from(c.suppressed.is_some());
            }
            bad.extend(
                lines
                    .into_iter()
                    .filter(|(_, n)| *n == 1)
                    .map(|(k, _)| (t.name, d, k)),
            );
        }
    }
    bad
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn published_submissions_give_nothing_away(people in population(), k in 3u64..=5) {
        let stats = statistics(&people);
        let disclosed = disclose(&stats, DisclosureRule { k }, &Sequential).unwrap();
        let published = disclosed.get();
        // No published cell below k, and published values are the true sums.
        for t in &published.tables {
            for c in &t.cells {
                if let Some(n) = c.count {
                    prop_assert!(n == 0 || n >= k, "{:?} {:?} = {n}", t.name, c.key);
                }
            }
        }
        prop_assert!(single_suppressed_lines(published).is_empty());
        for (table, key, low, high) in Attack::new(published).bounds() {
            prop_assert!(high - low > 0.5, "{table:?} {key:?} pinned to [{low}, {high}]");
        }
    }
}

#[test]
fn the_attack_model_sees_a_leak_when_there_is_one() {
    // Publish a table with one suppressed cell in a line: the attacker must pin it.
    let people: Vec<[u16; 8]> = (0..40u16)
        .map(|i| [i * 97, i * 13, 1, i * 7, 0, 1, i, i * 3])
        .collect();
    let stats = statistics(&people);
    // With k = 1 nothing is suppressed, so every value is there to start from.
    let disclosed = disclose(&stats, DisclosureRule { k: 1 }, &Sequential).unwrap();
    let mut leaky = disclosed.get().clone();
    // Hide exactly one inner cell of participants with a non-zero count.
    let t = leaky
        .tables
        .iter_mut()
        .find(|t| t.name == TableName::Participants)
        .unwrap();
    let c = t
        .cells
        .iter_mut()
        .find(|c| !c.key.iter().any(|k| k == TOTAL))
        .unwrap();
    c.suppressed = Some(samla_common::disclosure::Suppression::Primary);
    c.count = None;
    assert!(!single_suppressed_lines(&leaky).is_empty());
    let bounds = Attack::new(&leaky).bounds();
    assert_eq!(bounds.len(), 1);
    assert!(
        bounds[0].3 - bounds[0].2 < 0.5,
        "a lone suppressed cell is pinned"
    );
}
