//! Statistics built in memory, for benchmarks and tests that need many different
//! kommuner's submissions without running a node; and the exact figures of
//! kommuner's statistics that tests hold reports against.

use samla_common::codes::{Gender, KommunCode, Outcome, ProjectCode};
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use samla_common::pseudonym::{LinkageDomain, MasterSecret};
use samla_common::record::{FlagSet, ParticipantRecord, RecordFields};
use samla_common::statistics::{Aggregator, Statistics};
use time::macros::date;

/// A kommun's statistics for 2025: `people` participants in UNG under the `national`
/// linkage domain, different for each `index` (for load and store benchmarks).
pub fn kommun_statistics(kommun: KommunCode, index: usize, people: usize) -> Statistics {
    let master = MasterSecret::from_bytes([3; 32]);
    let domain: LinkageDomain = "national".parse().unwrap();
    let key = master.domain_key(&domain);
    let record_keys = samla_common::cell_key::RecordKeyer::new(&master, &domain);
    let project: ProjectCode = "UNG".parse().unwrap();
    let mut a = Aggregator::new(
        kommun,
        "2025".parse().unwrap(),
        domain,
        master.key_id(),
        vec![project.clone()],
    );
    for j in 0..people {
        let n = index * people + j;
        let nine = format!(
            "0{}{:02}{:02}{:03}",
            1 + n % 9,
            1 + n % 12,
            1 + n % 28,
            n % 997 + 1
        );
        let pnr = Personnummer::parse(
            &format!("20{nine}{}", luhn_check_digit(nine.as_bytes())),
            date!(2026 - 01 - 01),
        )
        .unwrap();
        let record = ParticipantRecord::new(RecordFields {
            personnummer: pnr,
            project: project.clone(),
            start: date!(2025 - 02 - 01),
            end: (j % 2 == 0).then_some(date!(2025 - 10 - 31)),
            outcome: (j % 2 == 0).then_some(Outcome::ALL[j % Outcome::ALL.len()]),
            gender: Some(Gender::ALL[j % 2]),
            flags: FlagSet::default(),
            status_at_entry: None,
            education: None,
        })
        .unwrap();
        let r = record_keys.record_key(&record.personnummer, kommun, &project);
        a.add(key.pseudonym(&record.personnummer), r, &record)
            .unwrap();
    }
    a.finish()
}

/// The exact regional figures of UNG's cells in kommuner's statistics: for each
/// table and key, per kommun and in `total` (the key's first part replaced by the
/// kommun or `total`).
pub fn exact_cells(exact: &[Statistics]) -> std::collections::BTreeMap<(String, Vec<String>), u64> {
    let mut out = std::collections::BTreeMap::new();
    for s in exact {
        for table in &s.tables {
            for cell in table.cells.iter().filter(|c| c.key[0] == "UNG") {
                for unit in [s.kommun.as_str(), "total"] {
                    let mut key = vec![unit.to_owned()];
                    key.extend(cell.key[1..].iter().cloned());
                    *out.entry((table.name.code().to_owned(), key)).or_default() += cell.count;
                }
            }
        }
    }
    out
}

/// The header of the node's CSV export that the tests write rows for.
pub const EXPORT_HEADER: &str =
    "personal_id,project,start_date,end_date,outcome,gender,foreign_born,disability";

/// A valid personnummer (12 digits), different for each `i` below 997, born in
/// `year` to `year + 4`.
pub fn personnummer(i: usize, year: usize) -> String {
    let y = year + i % 5;
    let nine = format!(
        "{:02}{:02}{:02}{:03}",
        y % 100,
        1 + i % 12,
        1 + i % 28,
        i % 997 + 1
    );
    format!("{}{nine}{}", y / 100, luhn_check_digit(nine.as_bytes()))
}
