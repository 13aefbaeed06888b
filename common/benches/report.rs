//! Benchmark of a regional report: disclosure control of every table of one project
//! over 290 kommuner, with distinct people and overlaps from the linkage sets.
//!
//! Run with `cargo bench -p samla-common --bench report`.

use divan::{black_box, Bencher};
use samla_common::codes::{Education, EntryStatus, Flag, Gender, KommunCode, Outcome, ProjectCode};
use samla_common::disclosure::regional::{regional_report, RegionalInput};
use samla_common::disclosure::DisclosureRule;
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use samla_common::pseudonym::{LinkageDomain, MasterSecret};
use samla_common::record::{FlagSet, ParticipantRecord, RecordFields};
use samla_common::statistics::{Aggregator, Statistics};
use time::macros::date;
use time::Duration;

fn main() {
    divan::main();
}

/// One kommun's statistics for 2025: `n` people, some shared with the next kommun.
fn kommun(index: usize, n: usize) -> Statistics {
    let master = MasterSecret::from_bytes([1; 32]);
    let domain: LinkageDomain = "national".parse().expect("valid");
    let key = master.domain_key(&domain);
    let project: ProjectCode = "UNG".parse().expect("valid");
    let code: KommunCode = format!("{:04}", 114 + index).parse().expect("valid");
    let mut aggregator = Aggregator::new(
        code,
        "2025".parse().expect("valid"),
        domain,
        master.key_id(),
        vec![project.clone()],
    );
    for j in 0..n {
        // Every 50th person is also counted by the previous kommun.
        let person = if j % 50 == 0 && index > 0 {
            (index - 1) * 1000 + j
        } else {
            index * 1000 + j
        };
        let birth = date!(1998 - 01 - 01) + Duration::days((person % 3000) as i64);
        let nine = format!(
            "{:02}{:02}{:02}{:03}",
            birth.year() % 100,
            birth.month() as u8,
            birth.day(),
            person / 3000 % 999 + 1
        );
        let pnr = format!(
            "{}{nine}{}",
            birth.year() / 100,
            luhn_check_digit(nine.as_bytes())
        );
        let start = date!(2024 - 06 - 01) + Duration::days((person * 7 % 500) as i64);
        let end = (person % 3 == 0).then(|| start + Duration::days((person % 300) as i64));
        let mut flags = FlagSet::default();
        for (f, flag) in Flag::ALL.iter().enumerate() {
            if (person / (f + 2)) % 4 == 0 {
                flags.insert(*flag);
            }
        }
        let record = ParticipantRecord::new(RecordFields {
            personnummer: Personnummer::parse(&pnr, date!(2026 - 01 - 01)).expect("valid"),
            project: project.clone(),
            start,
            end,
            outcome: end.map(|_| Outcome::ALL[person % Outcome::ALL.len()]),
            gender: Some(Gender::ALL[person % 2]),
            flags,
            status_at_entry: Some(EntryStatus::ALL[person % 5]),
            education: Some(Education::ALL[person % 4]),
        })
        .expect("consistent");
        let _ = aggregator.add(key.pseudonym(&record.personnummer), &record);
    }
    aggregator.finish()
}

/// 290 kommuner of 20 to 520 people each (about 78 000 in all).
#[divan::bench(sample_count = 5)]
fn report_290_kommuner(bencher: Bencher) {
    let stats: Vec<Statistics> = (0..290).map(|i| kommun(i, 20 + i * 37 % 500)).collect();
    let refs: Vec<&Statistics> = stats.iter().collect();
    let project: ProjectCode = "UNG".parse().expect("valid");
    let expected: Vec<KommunCode> = stats.iter().map(|s| s.kommun).collect();
    let input = RegionalInput {
        project: &project,
        period: "2025".parse().expect("valid"),
        expected: &expected,
        submissions: &refs,
    };
    bencher
        .bench(|| regional_report(black_box(input), DisclosureRule::default()).expect("solvable"));
}
