//! Regional reports checked against known answers and against an attacker's linear
//! programming over everything a report publishes.

use proptest::prelude::*;
use time::macros::date;
use time::Date;

use super::*;
use crate::codes::{Gender, Outcome};
use crate::disclosure::tests::exposed;
use crate::disclosure::{schema_problems, DisclosureRule, TOTAL};
use crate::linkage::{link, KommunSet};
use crate::personnummer::{luhn_check_digit, Personnummer};
use crate::pseudonym::MasterSecret;
use crate::record::{FlagSet, ParticipantRecord, RecordFields};
use crate::report::{progress, Measure, RegionalSums, Scope, ShareTarget, Targets};
use crate::statistics::Aggregator;

/// A participation in a synthetic export.
struct Person {
    id: usize,
    kommun: usize,
    project: &'static str,
    start: Date,
    end: Option<Date>,
    outcome: Option<Outcome>,
    gender: Gender,
}

fn personnummer(id: usize) -> Personnummer {
    let nine = format!(
        "{:02}{:02}{:02}{:03}",
        1 + id % 9,
        1 + id % 12,
        1 + id % 28,
        id % 997 + 1
    );
    let text = format!("20{nine}{}", luhn_check_digit(nine.as_bytes()));
    Personnummer::parse(&text, date!(2026 - 01 - 01)).unwrap()
}

const KOMMUNER: [&str; 3] = ["2180", "2181", "2104"];

/// Each kommun's statistics for 2025 over one domain holding UNG and OMSTART.
fn region(people: &[Person], kommuner: &[&str]) -> Vec<Statistics> {
    let master = MasterSecret::from_bytes([9; 32]);
    let domain: crate::pseudonym::LinkageDomain = "gavleborg".parse().unwrap();
    let key = master.domain_key(&domain);
    let record_keys = crate::cell_key::RecordKeyer::new(&master, &domain);
    let projects: Vec<ProjectCode> = vec!["UNG".parse().unwrap(), "OMSTART".parse().unwrap()];
    kommuner
        .iter()
        .enumerate()
        .map(|(k, code)| {
            let mut aggregator = Aggregator::new(
                code.parse().unwrap(),
                "2025".parse().unwrap(),
                domain.clone(),
                master.key_id(),
                projects.clone(),
            );
            for p in people.iter().filter(|p| p.kommun == k) {
                let record = ParticipantRecord::new(RecordFields {
                    personnummer: personnummer(p.id),
                    project: p.project.parse().unwrap(),
                    start: p.start,
                    end: p.end,
                    outcome: p.outcome,
                    gender: Some(p.gender),
                    flags: FlagSet::default(),
                    status_at_entry: None,
                    education: None,
                })
                .unwrap();
                let kommun = code.parse().unwrap();
                let r = record_keys.record_key(&record.personnummer, kommun, &record.project);
                aggregator
                    .add(key.pseudonym(&record.personnummer), r, &record)
                    .unwrap();
            }
            aggregator.finish()
        })
        .collect()
}

/// Gävle: 12 in UNG (person 0 also in OMSTART there); Sandviken: 8 in UNG plus
/// person 1, who is in UNG in Gävle too; Hofors: 3 in UNG. Half of everyone leaves
/// in 2025: even ids to work, odd ids to studies.
fn known_people() -> Vec<Person> {
    let mut people = Vec::new();
    let mut add = |id: usize, kommun: usize, project: &'static str| {
        let leaves = id % 2 == 0;
        people.push(Person {
            id,
            kommun,
            project,
            start: date!(2024 - 09 - 01),
            end: leaves.then_some(date!(2025 - 06 - 30)),
            outcome: leaves.then_some(if id % 4 == 0 {
                Outcome::Work
            } else {
                Outcome::Studies
            }),
            gender: if id % 3 == 0 {
                Gender::Woman
            } else {
                Gender::Man
            },
        });
    };
    for id in 0..12 {
        add(id, 0, "UNG");
    }
    add(0, 0, "OMSTART");
    for id in 100..108 {
        add(id, 1, "UNG");
    }
    add(1, 1, "UNG");
    for id in 200..203 {
        add(id, 2, "UNG");
    }
    people
}

fn report(stats: &[Statistics], k: u64) -> RegionalReport {
    let refs: Vec<&Statistics> = stats.iter().collect();
    let project: ProjectCode = "UNG".parse().unwrap();
    let expected: Vec<KommunCode> = KOMMUNER.iter().map(|k| k.parse().unwrap()).collect();
    let input = RegionalInput {
        project: &project,
        period: "2025".parse().unwrap(),
        expected: &expected,
        submissions: &refs,
    };
    regional_report(input, DisclosureRule { k }, &crate::disclosure::Sequential)
        .unwrap()
        .get()
        .clone()
}

fn count(c: &PublishedCount) -> Option<u64> {
    c.count
}

#[test]
fn exact_regional_figures_distinct_people_and_overlaps() {
    let stats = region(&known_people(), &KOMMUNER);
    let refs: Vec<&Statistics> = stats.iter().collect();
    let ung: ProjectCode = "UNG".parse().unwrap();
    // Before disclosure control: sums over kommuner and the linkage.
    let participants = RegionalSums::of(TableName::Participants, &ung, &refs);
    assert_eq!(participants.total(), 12 + 9 + 3, "a sum, person 1 twice");
    let sets: Vec<KommunSet<'_>> = stats
        .iter()
        .flat_map(|s| {
            s.linkage_sets.iter().map(move |set| KommunSet {
                kommun: s.kommun,
                project: &set.project,
                scheme: s.pseudonym_scheme,
                key_id: s.key_id,
                domain: &s.linkage_domain,
                pseudonyms: &set.pseudonyms,
            })
        })
        .collect();
    let exact = link(&sets).unwrap();
    assert_eq!(exact.people, 23, "everyone once, in either project");
    assert_eq!(exact.in_several_kommuner, 1);
    let (gavle, sandviken) = ("2180".parse().unwrap(), "2181".parse().unwrap());
    assert_eq!(exact.kommun_overlaps[&(gavle, sandviken)], 1);
    assert_eq!(exact.project_overlaps.values().sum::<u64>(), 1);

    // k = 1 publishes every figure, so the report must show exactly these.
    let open = report(&stats, 1);
    let linkage = open.linkage.as_ref().unwrap();
    assert_eq!(count(&linkage.distinct_people), Some(23));
    assert_eq!(count(&linkage.in_several_kommuner), Some(1));
    let per_kommun: Vec<(String, Option<u64>)> = linkage
        .per_kommun
        .iter()
        .map(|c| (c.label.clone(), c.count))
        .collect();
    assert_eq!(
        per_kommun,
        [
            ("2104".to_owned(), Some(3)),
            ("2180".to_owned(), Some(12)),
            ("2181".to_owned(), Some(9))
        ]
    );
    assert_eq!(linkage.kommun_overlaps.len(), 1);
    assert_eq!(linkage.kommun_overlaps[0].label, "2180+2181");
    assert_eq!(count(&linkage.kommun_overlaps[0]), Some(1));
    assert_eq!(linkage.project_overlaps[0].label, "OMSTART");
    assert_eq!(count(&linkage.project_overlaps[0]), Some(1));
    for name in TableName::ALL {
        let table = open.table(*name).unwrap();
        let sums = RegionalSums::of(*name, &ung, &refs);
        for (key, n) in &sums.0 {
            let mut full = vec![TOTAL];
            full.extend(key.iter().map(String::as_str));
            assert_eq!(table.count(&full), Some(*n), "{name:?} {key:?}");
        }
    }
    let leavers = open.table(TableName::Leavers).unwrap();
    assert_eq!(leavers.count(&[TOTAL, TOTAL, TOTAL]), Some(6 + 4 + 2));
    assert_eq!(
        leavers.count(&["2181", TOTAL, TOTAL]),
        Some(4),
        "person 1 stays"
    );
    assert!(open.missing.is_empty());
}

#[test]
fn suppression_hides_small_figures_and_keeps_the_rest_exact() {
    let stats = region(&known_people(), &KOMMUNER);
    let open = report(&stats, 1);
    let closed = report(&stats, 5);
    for (a, b) in open.tables.iter().zip(&closed.tables) {
        for (exact, shown) in a.cells.iter().zip(&b.cells) {
            assert_eq!(exact.key, shown.key);
            match shown.count {
                Some(n) => {
                    assert_eq!(Some(n), exact.count, "{:?} {:?}", a.name, shown.key);
                    assert!(n == 0 || n >= 5, "{:?} {:?} = {n}", a.name, shown.key);
                }
                None => assert!(shown.suppressed.is_some()),
            }
        }
    }
    let hofors = closed.table(TableName::Participants).unwrap();
    assert_eq!(hofors.count(&["2104", TOTAL, TOTAL]), None, "3 people");
    let linkage = closed.linkage.as_ref().unwrap();
    assert_eq!(linkage.in_several_kommuner.count, None, "1 person");
    assert_eq!(linkage.kommun_overlaps[0].count, None);
    assert_eq!(linkage.project_overlaps[0].count, None);
    assert_eq!(linkage.per_kommun[0].count, None, "linked to Hofors' total");
}

#[test]
fn a_kommun_without_a_submission_is_named() {
    let stats = region(&known_people(), &KOMMUNER);
    let report = report(&stats[..2], 5);
    assert_eq!(report.missing, ["2104".parse::<KommunCode>().unwrap()]);
    assert_eq!(report.kommuner.len(), 2);
}

#[test]
fn sets_under_two_key_ids_are_not_linked() {
    let mut stats = region(&known_people(), &KOMMUNER);
    stats[1].key_id = MasterSecret::from_bytes([8; 32]).key_id();
    let report = report(&stats, 5);
    let problem = report.linkage.clone().unwrap_err();
    assert!(problem.contains("different keys"), "{problem}");
    assert!(
        report.table(TableName::Participants).is_some(),
        "tables still come"
    );
}

/// The Omstart! shape: 9 kommuner, 380 participants over the lifetime, 56 to work
/// and 94 to studies.
#[test]
fn an_omstart_shaped_region_shows_39_5_percent_to_work_or_studies() {
    let kommuner = [
        "2183", "2180", "2104", "2184", "2132", "2101", "2121", "2181", "2182",
    ];
    let people: Vec<Person> = (0..380)
        .map(|i| Person {
            id: 1000 + i,
            kommun: i % 9,
            project: "UNG",
            start: date!(2025 - 02 - 01),
            end: Some(date!(2025 - 11 - 30)),
            outcome: Some(match i {
                0..=55 => Outcome::Work,
                56..=149 => Outcome::Studies,
                150..=249 => Outcome::OtherActivity,
                _ => Outcome::JobSeeking,
            }),
            gender: [Gender::Woman, Gender::Man][i % 2],
        })
        .collect();
    let stats = region(&people, &kommuner);
    let report = report(&stats, 5);
    let targets = Targets {
        participants: Some(250),
        share_work_or_studies: Some(ShareTarget::of_participants(0.4)),
        ..Targets::default()
    };
    let progress = progress(&report, &targets, Scope::Lifetime);
    let participants = &progress[0];
    assert_eq!(participants.measure, Measure::Participants);
    assert_eq!(participants.figure, Some(380.0));
    assert_eq!(participants.of_target(), Some(1.52));
    let work_or_studies = &progress[2];
    assert_eq!(work_or_studies.part, Some(56 + 94));
    assert_eq!(work_or_studies.whole, Some(380));
    assert_eq!(
        crate::report::percent(work_or_studies.figure.unwrap()),
        "39.5 %"
    );
    let leavers = report.table(TableName::Leavers).unwrap();
    assert_eq!(leavers.count(&[TOTAL, TOTAL, "work"]), Some(56));
    assert_eq!(leavers.count(&[TOTAL, TOTAL, "studies"]), Some(94));
}

/// Every problem of a regional report, solved, and attacked by linear programming.
fn attack_region(stats: &[Statistics], k: u64) -> Vec<(usize, usize)> {
    let ung: ProjectCode = "UNG".parse().unwrap();
    let refs: Vec<&Statistics> = stats.iter().collect();
    let columns = vec![0; refs.len()];
    let grids = TableName::ALL
        .iter()
        .map(|n| (*n, regional_grid(*n, &refs, &columns).unwrap()))
        .collect();
    let atoms = atoms(&ung, &refs).unwrap();
    let sums = (
        atoms.sums(refs.len()),
        (0..refs.len()).map(|k| 2 + k).collect(),
    );
    let mut found = Vec::new();
    for (_, problem) in schema_problems(grids, refs.len(), Some(sums)).unwrap() {
        let solved = problem.solve(DisclosureRule { k }).unwrap();
        for cell in solved.iter().flatten() {
            assert!(cell.suppressed.is_some() || !DisclosureRule { k }.is_primary(cell.value));
        }
        found.extend(exposed(&problem, &solved));
    }
    found
}

#[test]
fn the_known_region_leaks_nothing_to_linear_programming() {
    let stats = region(&known_people(), &KOMMUNER);
    assert_eq!(attack_region(&stats, 5), []);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("SAMLA_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6)
    ))]

    /// Random small regions with people shared between kommuner and projects: no
    /// suppressed cell, distinct count or overlap is pinned by linear programming.
    #[test]
    fn random_regions_leak_nothing(
        sizes in prop::collection::vec(1usize..14, 4),
        shared in 0usize..4,
        seed in 0usize..1000,
    ) {
        let mut people = Vec::new();
        for (k, n) in sizes.iter().enumerate() {
            for j in 0..*n {
                let id = k * 100 + j;
                let v = (id * 31 + seed) % 17;
                people.push(Person {
                    id,
                    kommun: k,
                    project: if v == 3 { "OMSTART" } else { "UNG" },
                    start: date!(2024 - 11 - 01),
                    end: (v % 2 == 0).then_some(date!(2025 - 03 - 31)),
                    outcome: (v % 2 == 0).then(|| Outcome::ALL[v % Outcome::ALL.len()]),
                    gender: Gender::ALL[v % 3],
                });
            }
        }
        // Some people of the first kommun are also in the next one.
        for j in 0..shared.min(sizes[0]) {
            people.push(Person {
                id: j,
                kommun: 1 + j % 3,
                project: "UNG",
                start: date!(2025 - 05 - 01),
                end: None,
                outcome: None,
                gender: Gender::Woman,
            });
        }
        let stats = region(&people, &["2180", "2181", "2104", "2183"]);
        prop_assert_eq!(attack_region(&stats, 3), Vec::<(usize, usize)>::new());
    }
}
