//! Benchmark of a regional report over 290 kommuner: reading the latest submissions
//! from the hub's store with every check on (content against id, node signature
//! against the registered key, receipt, log entry), disclosure control of every table
//! with distinct people and overlaps, targets measured from the project's start,
//! cumulative enrolment, the ESF+ indicators, the LP bounds (intervals) of the
//! headline shares, and rendering each format.
//!
//! Run with `cargo bench -p samla-hub --bench report`.

#![expect(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use std::sync::LazyLock;

use divan::{black_box, Bencher};
use samla_common::codes::{Education, EntryStatus, Flag, Gender, KommunCode, Outcome, ProjectCode};
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use samla_common::pseudonym::{LinkageDomain, MasterSecret};
use samla_common::record::{FlagSet, ParticipantRecord, RecordFields};
use samla_common::signing::SigningKey;
use samla_common::statistics::TableName;
use samla_common::statistics::{Aggregator, Statistics};
use samla_common::wire::{SignedSubmission, Submission};
use samla_hub::config::HubConfig;
use samla_hub::report::{self, Format, Lang, Request};
use samla_hub::store::{LogSigner, Store, Trust};
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
    let record_keys = samla_common::cell_key::RecordKeyer::new(&master, &domain);
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
            // A few people of gender X, too few in any kommun to show.
            gender: Some(if person % 997 == 0 {
                Gender::Other
            } else {
                Gender::ALL[person % 2]
            }),
            flags,
            status_at_entry: Some(EntryStatus::ALL[person % 5]),
            education: Some(Education::ALL[person % 4]),
        })
        .expect("consistent");
        let r = record_keys.record_key(&record.personnummer, code, &project);
        let _ = aggregator.add(key.pseudonym(&record.personnummer), r, &record);
    }
    aggregator.finish()
}

/// A hub store holding one 2025 submission from each of 290 kommuner of 20 to 520
/// people (about 78 000 in all), and a config with the project over all of them.
struct Fixture {
    _dir: tempfile::TempDir,
    config: HubConfig,
    trust: Trust,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let random = ring::rand::SystemRandom::new();
    let hub_key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&random).unwrap()).unwrap();
    let log = LogSigner {
        key: &hub_key,
        origin: "samla-hub.bench",
    };
    let mut store = Store::open(&dir.path().join("hub.db")).unwrap();
    let mut kommuner = Vec::new();
    let mut nodes = String::new();
    for i in 0..290 {
        let statistics = kommun(i, 20 + i * 37 % 500);
        kommuner.push(format!("\"{}\"", statistics.kommun));
        let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&random).unwrap()).unwrap();
        let sender = statistics.kommun;
        let signed = SignedSubmission::sign(
            &Submission {
                sequence: 1,
                created_at: 1_800_000_000,
                statistics,
            },
            &key,
        )
        .unwrap();
        let verified = signed.verify(sender, &[key.verifying_key()]).unwrap();
        store.accept(&verified, 1_800_000_000, &log).unwrap();
        nodes.push_str(&format!(
            "[[node]]\nkommun = \"{sender}\"\nsigning_keys = [\"{}\"]\n",
            key.verifying_key()
        ));
    }
    let toml = format!(
        "listen = \"127.0.0.1:0\"\ndatabase = \"hub.db\"\nregion_ca = \"ca.crt\"\n\
         certificate = \"hub.crt\"\nprivate_key = \"hub.key\"\nreceipt_key = \"receipt.key\"\n\
         [[project]]\ncode = \"UNG\"\nname = \"UNG nationally\"\nstart = \"2025-01-01\"\n\
         end = \"2026-08-31\"\nlinkage_domain = \"national\"\nkommuner = [{}]\n\
         [project.targets]\nparticipants = 60000\nshare_women = 0.5\nshare_work_or_studies = 0.4\n{nodes}",
        kommuner.join(", ")
    );
    let config = HubConfig::parse(&toml, &dir.path().join("hub.toml")).unwrap();
    // Every stored submission is checked as the CLI checks it: content, node
    // signature against the registered key, receipt and log entry.
    let mut trust = Trust::of(&config, hub_key.verifying_key());
    trust.origin = log.origin.to_owned();
    Fixture {
        _dir: dir,
        config,
        trust,
    }
});

fn request() -> Request {
    Request {
        project: "UNG".to_owned(),
        period: Some("2025".parse().unwrap()),
        kommuner: Vec::new(),
        lang: Lang::Sv,
        exclude_unverified: false,
        allow_empty: false,
    }
}

fn build() -> report::Report {
    let config = &FIXTURE.config;
    let store = Store::open(&config.database).unwrap();
    let built = report::build(
        &store,
        config,
        &FIXTURE.trust,
        &request(),
        time::OffsetDateTime::UNIX_EPOCH,
    )
    .unwrap();
    assert!(built.excluded.is_empty());
    built
}

/// Store to disclosed figures: the latest submission of each of 290 kommuner,
/// decoded, and every table, distinct count and overlap under disclosure control.
#[divan::bench(sample_count = 5)]
fn build_290_kommuner(bencher: Bencher) {
    LazyLock::force(&FIXTURE);
    bencher.bench(build);
}

/// The same report under the cell key method (`[disclosure] method = "cell-key"`,
/// the default table): every cell, total, distinct count and overlap perturbed
/// instead of suppressed.
#[divan::bench(sample_count = 5)]
fn build_290_kommuner_cell_key(bencher: Bencher) {
    LazyLock::force(&FIXTURE);
    let mut config = FIXTURE.config.clone();
    config.cell_key = Some(
        samla_common::cell_key::Ptable::new(samla_common::cell_key::PtableParams::default())
            .unwrap(),
    );
    bencher.bench(|| {
        let store = Store::open(&config.database).unwrap();
        report::build(
            &store,
            &config,
            &FIXTURE.trust,
            &request(),
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap()
    });
}

/// Rendering the 290-kommun report in each format (PX: the participants table).
#[divan::bench(sample_count = 5, args = ["table", "csv", "json", "html", "px"])]
fn render_290_kommuner(bencher: Bencher, format: &str) {
    let built = build();
    let format = match format {
        "table" => Format::Table,
        "csv" => Format::Csv,
        "json" => Format::Json,
        "html" => Format::Html,
        _ => Format::Px,
    };
    bencher.bench(|| report::render(black_box(&built), format, TableName::Participants).unwrap());
}

/// The checks alone: every stored submission of the domain read and verified
/// (content against id, node signature, receipt, log entry), and the log's
/// `accepted` entries held against the rows.
#[divan::bench(sample_count = 5)]
fn verify_290_stored_submissions(bencher: Bencher) {
    LazyLock::force(&FIXTURE);
    let domain = "national".parse().unwrap();
    let period = "2025".parse().unwrap();
    bencher.bench(|| {
        let store = Store::open(&FIXTURE.config.database).unwrap();
        let checked = store.stored_in(&domain, &FIXTURE.trust).unwrap();
        assert!(checked.iter().all(Result::is_ok));
        assert!(store
            .unmatched(Some((&period, &domain)))
            .unwrap()
            .is_empty());
        checked.len()
    });
}

/// The LP bounds of the region's women and of leavers to work or studies over the
/// 290-kommun report's published cells, as an interval for a suppressed figure takes
/// them (computed here whether or not the figure itself is suppressed).
#[divan::bench(sample_count = 5)]
fn intervals_290_kommuner(bencher: Bencher) {
    use samla_common::report::intervals::lp_bounds;
    let built = build();
    let figures = built.figures();
    let participants = figures.table(TableName::Participants).unwrap();
    let outcomes = figures.table(TableName::OutcomeByBackground).unwrap();
    bencher.bench(|| {
        (
            lp_bounds(black_box(participants), &[&["total", "K", "total"]]),
            lp_bounds(
                black_box(outcomes),
                &[&["total", "all", "work"], &["total", "all", "studies"]],
            ),
        )
    });
}
