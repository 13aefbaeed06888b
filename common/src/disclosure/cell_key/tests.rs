//! The cell key method over whole outputs, against the true counts: every cell within
//! `max_noise`, zeros kept, none in `1..=js`, the same cell giving the same value in a
//! full report, a report of a subset of kommuner and the kommun's own tables; and the
//! noise over many random tables distributed as the perturbation table says.

use time::macros::date;
use time::Duration;

use super::*;
use crate::cell_key::RecordKeyer;
use crate::codes::{Gender, Outcome, ProjectCode};
use crate::disclosure::regional::regional_report;
use crate::disclosure::{DisclosureRule, PublishedTable, Sequential, TOTAL};
use crate::personnummer::{luhn_check_digit, Personnummer};
use crate::pseudonym::MasterSecret;
use crate::record::{FlagSet, ParticipantRecord, RecordFields};
use crate::statistics::Aggregator;

const KOMMUNER: [&str; 3] = ["2180", "2181", "2104"];

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn personnummer(id: u64) -> Personnummer {
    let nine = format!(
        "{:02}{:02}{:02}{:03}",
        1 + id % 9,
        1 + id / 9 % 12,
        1 + id / 108 % 28,
        id / 3024 % 997 + 1
    );
    let text = format!("20{nine}{}", luhn_check_digit(nine.as_bytes()));
    Personnummer::parse(&text, date!(2026 - 01 - 01)).unwrap()
}

/// Each kommun's statistics for 2025: `people` random people in UNG and OMSTART, some
/// of them in two kommuner; `seed` makes a different region.
fn region(seed: u64, people: u64) -> Vec<Statistics> {
    let master = MasterSecret::from_bytes([9; 32]);
    let domain: crate::pseudonym::LinkageDomain = "gavleborg".parse().unwrap();
    let pseudonyms = master.domain_key(&domain);
    let record_keys = RecordKeyer::new(&master, &domain);
    let projects: Vec<ProjectCode> = vec!["UNG".parse().unwrap(), "OMSTART".parse().unwrap()];
    let mut rng = Rng(seed);
    let mut aggregators: Vec<Aggregator> = KOMMUNER
        .iter()
        .map(|k| {
            Aggregator::new(
                k.parse().unwrap(),
                "2025".parse().unwrap(),
                domain.clone(),
                master.key_id(),
                projects.clone(),
            )
        })
        .collect();
    for i in 0..people {
        let id = seed.wrapping_mul(7919).wrapping_add(i) % 300_000;
        let mut places = vec![rng.below(3) as usize];
        if rng.below(10) == 0 {
            places.push((places[0] + 1) % 3);
        }
        for k in places {
            let start = date!(2024 - 06 - 01) + Duration::days(rng.below(500) as i64);
            let end = (rng.below(2) == 0).then(|| start + Duration::days(rng.below(200) as i64));
            let record = ParticipantRecord::new(RecordFields {
                personnummer: personnummer(id),
                project: projects[usize::from(rng.below(4) == 0)].clone(),
                start,
                end,
                outcome: end.map(|_| Outcome::ALL[rng.below(6) as usize]),
                gender: Some(Gender::ALL[rng.below(2) as usize]),
                flags: FlagSet::default(),
                status_at_entry: None,
                education: None,
            })
            .unwrap();
            let kommun: KommunCode = KOMMUNER[k].parse().unwrap();
            let r = record_keys.record_key(&record.personnummer, kommun, &record.project);
            aggregators[k]
                .add(pseudonyms.pseudonym(&record.personnummer), r, &record)
                .unwrap();
        }
    }
    aggregators.into_iter().map(Aggregator::finish).collect()
}

fn input<'a>(
    project: &'a ProjectCode,
    expected: &'a [KommunCode],
    submissions: &'a [&'a Statistics],
) -> RegionalInput<'a> {
    RegionalInput {
        project,
        period: "2025".parse().unwrap(),
        expected,
        submissions,
    }
}

/// The true counts: the regional report at k = 1 suppresses nothing.
fn truth(input: RegionalInput<'_>) -> super::super::regional::RegionalReport {
    regional_report(input, DisclosureRule { k: 1 }, &Sequential)
        .unwrap()
        .get()
        .clone()
}

fn linkage_counts(l: &super::super::regional::PublishedLinkage) -> Vec<(String, Option<u64>)> {
    std::iter::once(&l.distinct_people)
        .chain(std::iter::once(&l.in_several_kommuner))
        .chain(&l.per_kommun)
        .chain(&l.kommun_overlaps)
        .chain(&l.project_overlaps)
        .map(|c| (c.label.clone(), c.count))
        .collect()
}

fn check_against_truth(
    published: &[PublishedTable],
    true_tables: &[PublishedTable],
    p: PtableParams,
) {
    assert_eq!(published.len(), true_tables.len());
    for (t, truth) in published.iter().zip(true_tables) {
        assert_eq!(t.cells.len(), truth.cells.len(), "{:?}", t.name);
        for (cell, true_cell) in t.cells.iter().zip(&truth.cells) {
            assert_eq!(cell.key, true_cell.key);
            assert!(cell.suppressed.is_none());
            let (Some(n), Some(truth)) = (cell.count, true_cell.count) else {
                panic!("a cell without a count");
            };
            assert!(
                n.abs_diff(truth) <= u64::from(p.max_noise),
                "{:?} {:?}",
                t.name,
                cell.key
            );
            if truth == 0 {
                assert_eq!(n, 0, "a zero stays zero");
            }
            assert!(
                n == 0 || n > u64::from(p.js),
                "published {n} is in 1..={}",
                p.js
            );
        }
    }
}

#[test]
fn every_cell_is_published_within_max_noise_zeros_stay_zero_and_none_in_one_to_js() {
    for params in [
        PtableParams::default(),
        PtableParams {
            max_noise: 3,
            variance: 1.5,
            js: 1,
        },
    ] {
        let table = Ptable::new(params).unwrap();
        let stats = region(1, 400);
        let refs: Vec<&Statistics> = stats.iter().collect();
        let expected: Vec<KommunCode> = KOMMUNER.iter().map(|k| k.parse().unwrap()).collect();
        let project: ProjectCode = "UNG".parse().unwrap();
        let report = perturb_regional(input(&project, &expected, &refs), &table)
            .unwrap()
            .get()
            .clone();
        let true_report = truth(input(&project, &expected, &refs));
        check_against_truth(&report.tables, &true_report.tables, params);
        let published = linkage_counts(report.linkage.as_ref().unwrap());
        let true_linkage = linkage_counts(true_report.linkage.as_ref().unwrap());
        assert_eq!(published.len(), true_linkage.len());
        for ((label, n), (_, t)) in published.iter().zip(&true_linkage) {
            let (n, t) = (n.unwrap(), t.unwrap());
            assert!(n.abs_diff(t) <= u64::from(params.max_noise), "{label}");
            assert!(n == 0 || n > u64::from(params.js), "{label}");
        }
        // Perturbation happened at all: with this many cells some moved.
        let moved_cells = report
            .tables
            .iter()
            .zip(&true_report.tables)
            .flat_map(|(a, b)| a.cells.iter().zip(&b.cells))
            .filter(|(a, b)| a.count != b.count)
            .count();
        assert!(moved_cells > 50, "only {moved_cells} cells moved");
    }
}

/// The cell `kommun, rest…` of a regional table, as the kommun's own `project, rest…`.
fn kommun_view(t: &PublishedTable, kommun: &str, project: &str) -> Vec<(Vec<String>, Option<u64>)> {
    t.cells
        .iter()
        .filter(|c| c.key[0] == kommun)
        .map(|c| {
            let mut key = c.key.clone();
            key[0] = project.to_owned();
            (key, c.count)
        })
        .collect()
}

#[test]
fn the_same_cell_has_the_same_value_in_full_subset_and_kommun_outputs_and_on_a_second_run() {
    let table = Ptable::new(PtableParams::default()).unwrap();
    let stats = region(2, 300);
    let all: Vec<&Statistics> = stats.iter().collect();
    let subset: Vec<&Statistics> = vec![&stats[0], &stats[2]];
    let expected: Vec<KommunCode> = KOMMUNER.iter().map(|k| k.parse().unwrap()).collect();
    let project: ProjectCode = "UNG".parse().unwrap();
    let full = perturb_regional(input(&project, &expected, &all), &table)
        .unwrap()
        .get()
        .clone();
    let again = perturb_regional(input(&project, &expected, &all), &table)
        .unwrap()
        .get()
        .clone();
    assert_eq!(full, again, "a second run gives the same report");
    let part = perturb_regional(input(&project, &expected, &subset), &table)
        .unwrap()
        .get()
        .clone();
    let own = perturb_kommun(&stats[0], &table).unwrap().get().clone();
    let kommun = stats[0].kommun.as_str();
    let mut compared = 0;
    for (t, name) in full.tables.iter().zip(TableName::ALL) {
        let in_full = kommun_view(t, kommun, "UNG");
        let in_part = kommun_view(&part.tables[*name as usize], kommun, "UNG");
        assert_eq!(in_full, in_part, "{name:?}: subset report differs");
        let own_table = &own.tables[*name as usize];
        let in_own: Vec<(Vec<String>, Option<u64>)> = own_table
            .cells
            .iter()
            .filter(|c| c.key[0] == "UNG")
            .map(|c| (c.key.clone(), c.count))
            .collect();
        assert_eq!(in_full, in_own, "{name:?}: the kommun's own tables differ");
        compared += in_full.len();
    }
    assert!(compared > 100);
    let per_kommun = |l: &super::super::regional::PublishedLinkage| {
        l.per_kommun
            .iter()
            .find(|c| c.label == kommun)
            .and_then(|c| c.count)
    };
    let in_full = per_kommun(full.linkage.as_ref().unwrap());
    assert_eq!(in_full, per_kommun(part.linkage.as_ref().unwrap()));
    assert_eq!(in_full, own.distinct_people[0].count);
    // The kommun's distinct count is keyed like its participants total, so where
    // both count the same people they agree.
    let participants = own.tables[0].cell(&["UNG", "total", "total"]).unwrap();
    assert_eq!(own.distinct_people[0].count, participants.count);
}

#[test]
fn a_v1_submission_is_refused_by_name_for_the_cell_key_method() {
    let table = Ptable::new(PtableParams::default()).unwrap();
    let mut stats = region(3, 50);
    stats[1].schema_version = 1;
    let refs: Vec<&Statistics> = stats.iter().collect();
    let expected: Vec<KommunCode> = KOMMUNER.iter().map(|k| k.parse().unwrap()).collect();
    let project: ProjectCode = "UNG".parse().unwrap();
    let error = perturb_regional(input(&project, &expected, &refs), &table).unwrap_err();
    assert!(matches!(error, CellKeyError::NoCellKeys { kommun } if kommun == stats[1].kommun));
    assert!(error.to_string().contains("schema v1"));
}

/// Over many random regions, the noise of every published cell with a true count
/// above 0 has mean 0 and the configured variance, within sampling error (each
/// cell's key is a sum of uniform record keys, so its noise is a draw from its row).
#[test]
fn over_random_tables_the_noise_has_mean_zero_and_the_configured_variance() {
    for params in [
        PtableParams::default(),
        PtableParams {
            max_noise: 3,
            variance: 1.5,
            js: 1,
        },
    ] {
        let table = Ptable::new(params).unwrap();
        let mut noise: Vec<f64> = Vec::new();
        for seed in 0..40 {
            let stats = region(1000 + seed, 120);
            for s in &stats {
                // Inner cells only: totals share people with their parts.
                let own = perturb_kommun(s, &table).unwrap().get().clone();
                for (name, t) in TableName::ALL.iter().zip(&own.tables) {
                    let grid = s.grid(*name).unwrap();
                    let inner = t
                        .cells
                        .iter()
                        .filter(|c| !c.key.iter().any(|k| k == "total"));
                    for (cell, truth) in inner.zip(&grid.counts) {
                        if *truth > 0 {
                            noise.push(cell.count.unwrap() as f64 - *truth as f64);
                        }
                    }
                }
            }
        }
        let n = noise.len() as f64;
        assert!(n > 5000.0, "only {n} cells");
        let mean = noise.iter().sum::<f64>() / n;
        let variance = noise.iter().map(|v| v * v).sum::<f64>() / n;
        // Standard errors: sqrt(V/n) for the mean; for the second moment,
        // sqrt((E[v⁴] − V²)/n) with E[v⁴] at most D² V.
        let d = f64::from(params.max_noise);
        let se_mean = (params.variance / n).sqrt();
        let se_var = ((d * d * params.variance - params.variance.powi(2)) / n).sqrt();
        assert!(mean.abs() < 4.0 * se_mean, "{params:?}: mean {mean}");
        assert!(
            (variance - params.variance).abs() < 4.0 * se_var,
            "{params:?}: variance {variance}, expected {}",
            params.variance
        );
    }
}

/// The key of a cell of `stats` (first dimension the project), computed from the
/// cells the node sent with their keys as integers, summed exactly and reduced mod
/// 2⁶⁴ (mod 1 for the fractions): `rest` may hold `total` for any dimension.
fn independent_key(stats: &Statistics, name: TableName, project: &str, rest: &[String]) -> u128 {
    let table = stats.table(name).unwrap();
    let sum: u128 = table
        .cells
        .iter()
        .filter(|c| c.key[0] == project)
        .filter(|c| {
            rest.iter()
                .zip(&c.key[1..])
                .all(|(r, v)| r == TOTAL || r == v)
        })
        .map(|c| u128::from(c.cell_key.bits()))
        .sum();
    sum % (1u128 << 64)
}

/// A regional cell's key is the sum mod 1 of the kommuner's keys of the same cell, and
/// a kommun's cell in the regional table keeps the key it has in the kommun's own
/// submission: checked on the keys themselves, for every cell and total of every
/// table, against sums computed without the code under test.
#[test]
fn a_regional_cells_key_is_the_sum_mod_1_of_the_kommuners_keys() {
    let stats = region(4, 400);
    let submissions: Vec<&Statistics> = stats.iter().collect();
    let columns = vec![0; submissions.len()];
    let kommun_codes: Vec<String> = stats.iter().map(|s| s.kommun.as_str().to_owned()).collect();
    let project: ProjectCode = "UNG".parse().unwrap();
    let period: crate::period::Period = "2025".parse().unwrap();
    let (mut compared, mut wrapped) = (0, 0);
    for name in TableName::ALL {
        let (grid, keys) = regional_keys(*name, &submissions, &columns).unwrap();
        let mut dimensions = name.dimensions().to_vec();
        dimensions[0] = Dimension::Kommun;
        let codes: Vec<Vec<String>> = dimensions
            .iter()
            .map(|d| match d {
                Dimension::Kommun => kommun_codes.clone(),
                other => other.values(std::slice::from_ref(&project), &period),
            })
            .collect();
        for cell in keyed_cells(&grid, &keys, &dimensions) {
            let key: Vec<String> = cell
                .coordinate
                .iter()
                .zip(&codes)
                .map(|(c, d)| c.map_or(TOTAL.to_owned(), |i| d[i].clone()))
                .collect();
            let own: Vec<u128> = stats
                .iter()
                .filter(|s| key[0] == TOTAL || key[0] == s.kommun.as_str())
                .map(|s| independent_key(s, *name, "UNG", &key[1..]))
                .collect();
            let exact: u128 = own.iter().sum();
            wrapped += usize::from(exact >= 1u128 << 64);
            assert_eq!(
                u128::from(cell.key.bits()),
                exact % (1u128 << 64),
                "{name:?} {key:?}"
            );
            compared += 1;
        }
    }
    assert!(compared > 500, "{compared}");
    assert!(
        wrapped > 50,
        "only {wrapped} sums passed 1: is mod 1 tested?"
    );
}
