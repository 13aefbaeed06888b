//! Benchmarks of the cell key method: building perturbation tables, deriving record
//! keys at a node, summing cell keys over a region, and perturbing every cell of a
//! report the size of a 290-kommun region's.
//!
//! Run with `cargo bench -p samla-common --bench cell_key`.

use divan::{black_box, Bencher};
use samla_common::cell_key::{perturb, CellKey, Ptable, PtableParams, RecordKey, RecordKeyer};
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use samla_common::pseudonym::MasterSecret;
use time::macros::date;

fn main() {
    divan::main();
}

/// Kommuner in the largest region the benchmarks model (every kommun in Sweden).
const KOMMUNER: usize = 290;

/// Cells (and totals) of one kommun's tables for one project: 192 inner cells of the
/// nine schema tables plus their totals along additive dimensions.
const CELLS_PER_KOMMUN: usize = 345;

/// A uniform key per index, as BLAKE3-derived keys are.
fn key(i: u64) -> CellKey {
    CellKey::from_bits(i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29) ^ i)
}

#[divan::bench(args = [(2, 0.9, 0), (3, 1.5, 1), (5, 3.0, 2)])]
fn build_ptable(params: (u32, f64, u32)) -> Ptable {
    let (max_noise, variance, js) = params;
    Ptable::new(black_box(PtableParams {
        max_noise,
        variance,
        js,
    }))
    .expect("valid parameters")
}

/// A node derives one record key per participation: 10 000 people.
#[divan::bench(sample_count = 20)]
fn record_keys_10k(bencher: Bencher) {
    let keyer = RecordKeyer::new(
        &MasterSecret::from_bytes([1; 32]),
        &"gavleborg-ung-2023".parse().expect("valid"),
    );
    let people: Vec<Personnummer> = (0..10_000u32)
        .map(|i| {
            let nine = format!(
                "98{:02}{:02}{:03}",
                1 + i % 12,
                1 + (i / 12) % 28,
                1 + i % 999
            );
            let digit = luhn_check_digit(nine.as_bytes());
            Personnummer::parse(&format!("19{nine}{digit}"), date!(2026 - 11 - 23)).expect("valid")
        })
        .collect();
    let (kommun, project) = (
        "2180".parse().expect("valid"),
        "UNG".parse().expect("valid"),
    );
    bencher
        .counter(divan::counter::ItemsCount::new(people.len()))
        .bench(|| {
            people
                .iter()
                .map(|p| keyer.record_key(p, kommun, &project).bits())
                .fold(0u64, u64::wrapping_add)
        });
}

/// The hub sums each cell's key over 290 kommuner to key the regional cell.
#[divan::bench(sample_count = 50)]
fn regional_keys_290_kommuner(bencher: Bencher) {
    let kommun_keys: Vec<Vec<CellKey>> = (0..KOMMUNER)
        .map(|k| {
            (0..CELLS_PER_KOMMUN)
                .map(|c| key((k * CELLS_PER_KOMMUN + c) as u64))
                .collect()
        })
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(KOMMUNER * CELLS_PER_KOMMUN))
        .bench(|| {
            (0..CELLS_PER_KOMMUN)
                .map(|c| kommun_keys.iter().map(|cells| cells[c]).sum::<CellKey>())
                .collect::<Vec<CellKey>>()
        });
}

/// Every cell of a 290-kommun report, per kommun and regional: 290 × 345 + 345 =
/// 100 395 cells, with counts from 0 to 400.
#[divan::bench(sample_count = 50)]
fn perturb_report_100k_cells(bencher: Bencher) {
    let table = Ptable::new(PtableParams::default()).expect("the default builds");
    let cells: Vec<(u64, CellKey)> = (0..(KOMMUNER + 1) * CELLS_PER_KOMMUN)
        .map(|i| ((i as u64 * 7919) % 401, key(i as u64)))
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(cells.len()))
        .bench(|| {
            cells
                .iter()
                .map(|(count, key)| perturb(*count, *key, &table).get())
                .sum::<u64>()
        });
}

/// Keys of distinct-people cells from pseudonyms: 100 000 pseudonyms.
#[divan::bench(sample_count = 20)]
fn pseudonym_keys_100k(bencher: Bencher) {
    let kd = MasterSecret::from_bytes([1; 32]).domain_key(&"d".parse().expect("valid"));
    let pseudonyms: Vec<_> = (0..100_000u32)
        .map(|i| {
            let nine = format!(
                "98{:02}{:02}{:03}",
                1 + i % 12,
                1 + (i / 12) % 28,
                1 + i % 999
            );
            let digit = luhn_check_digit(nine.as_bytes());
            let person = Personnummer::parse(&format!("19{nine}{digit}"), date!(2026 - 11 - 23))
                .expect("valid");
            kd.pseudonym(&person)
        })
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(pseudonyms.len()))
        .bench(|| CellKey::of_pseudonyms(black_box(&pseudonyms)));
    let _ = RecordKey::of_pseudonym(&pseudonyms[0]);
}
