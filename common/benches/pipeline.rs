//! Benchmarks of the core steps: parse and validate a personnummer, pseudonymise,
//! aggregate, and apply disclosure control.
//!
//! Run with `cargo bench -p samla-common --bench pipeline`.

use divan::{black_box, Bencher};
use samla_common::codes::{Education, EntryStatus, Gender, Outcome};
use samla_common::disclosure::{disclose, DisclosureRule, Sequential};
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use samla_common::pseudonym::MasterSecret;
use samla_common::record::{FlagSet, ParticipantRecord, RecordFields};
use samla_common::statistics::Aggregator;
use time::macros::date;
use time::Duration;

fn main() {
    divan::main();
}

/// `n` valid 12-digit personnummer.
fn numbers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let birth = date!(1990 - 01 - 01) + Duration::days((i % 9000) as i64);
            let nine = format!(
                "{:02}{:02}{:02}{:03}",
                birth.year() % 100,
                birth.month() as u8,
                birth.day(),
                i % 999 + 1
            );
            format!(
                "{}{nine}{}",
                birth.year() / 100,
                luhn_check_digit(nine.as_bytes())
            )
        })
        .collect()
}

fn records(n: usize) -> Vec<ParticipantRecord> {
    numbers(n)
        .iter()
        .enumerate()
        .map(|(i, pnr)| {
            let start = date!(2024 - 01 - 01) + Duration::days((i % 700) as i64);
            let end = (i % 3 == 0).then(|| start + Duration::days((i % 300) as i64));
            ParticipantRecord::new(RecordFields {
                personnummer: Personnummer::parse(pnr, date!(2026 - 01 - 01)).expect("valid"),
                project: "UNG".parse().expect("valid"),
                start,
                end,
                outcome: end.map(|_| Outcome::ALL[i % Outcome::ALL.len()]),
                gender: Some(Gender::ALL[i % 2]),
                flags: FlagSet::default(),
                status_at_entry: Some(EntryStatus::ALL[i % 4]),
                education: Some(Education::ALL[i % 3]),
            })
            .expect("consistent")
        })
        .collect()
}

#[divan::bench(args = ["199807319935", "980731-9935"])]
fn parse_personnummer(text: &str) -> Personnummer {
    Personnummer::parse(black_box(text), date!(2026 - 11 - 23)).expect("valid")
}

#[divan::bench]
fn pseudonymise(bencher: Bencher) {
    let master = MasterSecret::from_bytes([1; 32]);
    let key = master.domain_key(&"gavleborg-ung-2023".parse().expect("valid"));
    let person = Personnummer::parse("199807319935", date!(2026 - 11 - 23)).expect("valid");
    bencher.bench(|| key.pseudonym(black_box(&person)));
}

/// Pseudonymise and aggregate 100 000 records into every table and the linkage set.
#[divan::bench(sample_count = 10)]
fn aggregate_100k(bencher: Bencher) {
    let master = MasterSecret::from_bytes([1; 32]);
    let domain: samla_common::pseudonym::LinkageDomain =
        "gavleborg-ung-2023".parse().expect("valid");
    let key = master.domain_key(&domain);
    let record_keys = samla_common::cell_key::RecordKeyer::new(&master, &domain);
    let kommun: samla_common::codes::KommunCode = "2180".parse().expect("valid");
    let records = records(100_000);
    bencher
        .counter(divan::counter::ItemsCount::new(records.len()))
        .bench(|| {
            let mut aggregator = Aggregator::new(
                kommun,
                "2025".parse().expect("valid"),
                domain.clone(),
                master.key_id(),
                vec!["UNG".parse().expect("valid")],
            );
            for record in &records {
                let r = record_keys.record_key(&record.personnummer, kommun, &record.project);
                let _ = aggregator.add(key.pseudonym(&record.personnummer), r, record);
            }
            aggregator.finish()
        });
}

/// Disclosure control of one kommun's submission (all tables, one project).
#[divan::bench(sample_count = 10)]
fn disclose_submission(bencher: Bencher) {
    let master = MasterSecret::from_bytes([1; 32]);
    let domain: samla_common::pseudonym::LinkageDomain =
        "gavleborg-ung-2023".parse().expect("valid");
    let key = master.domain_key(&domain);
    let record_keys = samla_common::cell_key::RecordKeyer::new(&master, &domain);
    let kommun: samla_common::codes::KommunCode = "2180".parse().expect("valid");
    let mut aggregator = Aggregator::new(
        kommun,
        "2025".parse().expect("valid"),
        domain,
        master.key_id(),
        vec!["UNG".parse().expect("valid")],
    );
    for record in &records(400) {
        let r = record_keys.record_key(&record.personnummer, kommun, &record.project);
        let _ = aggregator.add(key.pseudonym(&record.personnummer), r, record);
    }
    let statistics = aggregator.finish();
    bencher.bench(|| {
        disclose(
            black_box(&statistics),
            DisclosureRule::default(),
            &Sequential,
        )
        .expect("solvable")
    });
}
