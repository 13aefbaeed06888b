//! `synth` writes people of a project's ages, and movers: the same people in two
//! kommuner's exports when both sides use the same seed.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::collections::BTreeSet;
use std::path::Path;

use samla_common::record::ParticipantRecord;
use samla_node::ingest::{read_file, IngestSettings};
use samla_node::synth::{write_export_with, Movers, Population, Style, SynthOptions};
use time::macros::date;

fn options(seed: u64, participants: usize) -> SynthOptions {
    SynthOptions {
        projects: vec!["FASETTEN".parse().unwrap()],
        period: "2021-01-04..2023-02-28".parse().unwrap(),
        participants,
        seed,
        style: Style::default(),
        bad_rows: 0.0,
    }
}

fn records(path: &Path) -> Vec<ParticipantRecord> {
    let settings = IngestSettings {
        progress: false,
        projects: vec!["FASETTEN".parse().unwrap()],
        columns: Default::default(),
        reference_date: date!(2026 - 11 - 23),
    };
    let mut out = Vec::new();
    let summary = read_file(path, &settings, |r| out.push(r)).unwrap();
    assert!(summary.rejections.is_empty(), "{:?}", summary.rejections);
    out
}

#[test]
fn every_participation_starts_within_the_projects_ages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fasetten.csv");
    let population = Population {
        ages: Some((15, 24)),
        movers: None,
    };
    write_export_with(&path, &options(3, 600), &population).unwrap();
    let people = records(&path);
    assert!(people.len() >= 600);
    let ages: BTreeSet<u32> = people.iter().map(ParticipantRecord::age_at_start).collect();
    assert_eq!(ages.first(), Some(&15), "{ages:?}");
    assert_eq!(ages.last(), Some(&24), "{ages:?}");
    assert!(people
        .iter()
        .all(|r| (date!(2021 - 01 - 04)..=date!(2023 - 02 - 28)).contains(&r.start)));
    // Without the ages the usual mix has people outside them.
    write_export_with(&path, &options(3, 600), &Population::default()).unwrap();
    let ages: BTreeSet<u32> = records(&path)
        .iter()
        .map(ParticipantRecord::age_at_start)
        .collect();
    assert!(ages.iter().any(|a| !(15..=24).contains(a)), "{ages:?}");
}

#[test]
fn movers_are_the_same_people_in_two_kommuners_exports() {
    let dir = tempfile::tempdir().unwrap();
    let movers = Population {
        ages: Some((15, 24)),
        movers: Some(Movers {
            people: 25,
            seed: 7,
        }),
    };
    // Two kommuner: different seeds for their own people, the same mover seed.
    let (a, b) = (dir.path().join("0764.csv"), dir.path().join("0765.csv"));
    write_export_with(&a, &options(764, 200), &movers).unwrap();
    write_export_with(&b, &options(765, 200), &movers).unwrap();
    let ids = |path: &Path| -> BTreeSet<String> {
        records(path)
            .iter()
            .map(|r| r.personnummer.as_str().to_owned())
            .collect()
    };
    let (in_a, in_b) = (ids(&a), ids(&b));
    let shared = in_a.intersection(&in_b).count();
    assert_eq!(shared, 25, "exactly the movers are in both");
    // Their participations are each kommun's own, and within the ages.
    let starts = |path: &Path| -> BTreeSet<(String, time::Date)> {
        records(path)
            .iter()
            .map(|r| (r.personnummer.as_str().to_owned(), r.start))
            .collect()
    };
    assert_ne!(starts(&a), starts(&b));
    assert!(records(&b)
        .iter()
        .all(|r| (15..=24).contains(&r.age_at_start())));
    // Without movers the two kommuner share nobody.
    write_export_with(&b, &options(765, 200), &Population::default()).unwrap();
    assert_eq!(ids(&a).intersection(&ids(&b)).count(), 0);
}
