//! The cell key method end to end in one process: keys made from people, perturbation
//! of cells with them, and the noise over many cells against the table it came from.

use proptest::prelude::*;
use time::macros::date;

use super::*;
use crate::personnummer::{luhn_check_digit, Personnummer};
use crate::pseudonym::{LinkageDomain, MasterSecret};

/// Standard errors allowed between an estimate from sampled cells and the table's
/// exact value. A run makes at most about 5 000 such comparisons; with 6.5 standard
/// errors each one fails by chance with probability 8·10⁻¹¹ (normal tail), so a whole
/// run fails by chance with probability below 10⁻⁶.
const Z: f64 = 6.5;

/// A uniform key for sample `i` of a test case: BLAKE3, as real keys are.
fn sample_key(seed: u64, i: u64) -> RecordKey {
    let mut input = [0u8; 16];
    input[..8].copy_from_slice(&seed.to_le_bytes());
    input[8..].copy_from_slice(&i.to_le_bytes());
    let hash = blake3::hash(&input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    RecordKey::from_bits(u64::from_le_bytes(first))
}

/// `n` distinct valid personnummer.
fn people(n: u32) -> Vec<Personnummer> {
    (0..n)
        .map(|i| {
            let nine = format!(
                "05{:02}{:02}{:03}",
                1 + i % 12,
                1 + (i / 12) % 28,
                1 + i % 999
            );
            let digit = luhn_check_digit(nine.as_bytes());
            Personnummer::parse(&format!("20{nine}{digit}"), date!(2026 - 11 - 23)).expect("valid")
        })
        .collect()
}

fn keyer() -> RecordKeyer {
    let domain: LinkageDomain = "gavleborg-ung-2023".parse().unwrap();
    RecordKeyer::new(&MasterSecret::from_bytes([7; 32]), &domain)
}

#[test]
fn a_zero_stays_zero_and_nothing_moves_beyond_the_maximum_noise() {
    for params in [
        PtableParams::default(),
        PtableParams {
            max_noise: 3,
            variance: 1.5,
            js: 1,
        },
        PtableParams {
            max_noise: 5,
            variance: 3.0,
            js: 2,
        },
    ] {
        let table = Ptable::new(params).expect("valid");
        let d = u64::from(params.max_noise);
        for i in 0..20_000u64 {
            let key = CellKey::EMPTY.with(sample_key(u64::from(params.max_noise), i));
            assert_eq!(perturb(0, key, &table).get(), 0);
            let count = 1 + i % 40;
            let published = perturb(count, key, &table).get();
            assert!(published.abs_diff(count) <= d, "{count} → {published}");
            assert!(
                published == 0 || published > u64::from(params.js),
                "{count} → {published} with js {}",
                params.js
            );
            assert_eq!(perturb(count, key, &table), perturb(count, key, &table));
        }
    }
}

/// The same people make the same key in any order, and a regional cell's key (the
/// sum of its kommuner's cell keys) is the key of all their people together, so the
/// same cell is published the same however it was put together.
#[test]
fn the_same_people_give_the_same_value_however_the_cell_is_built() {
    let keyer = keyer();
    let project = "UNG".parse().unwrap();
    let kommuner: Vec<crate::codes::KommunCode> = ["2180", "2181", "2183"]
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    let everyone = people(31);
    let keys: Vec<RecordKey> = everyone[..30]
        .iter()
        .enumerate()
        .map(|(i, p)| keyer.record_key(p, kommuner[i % 3], &project))
        .collect();
    let forward = CellKey::of_records(keys.iter().copied());
    let backward = CellKey::of_records(keys.iter().rev().copied());
    assert_eq!(forward, backward);
    let per_kommun: Vec<CellKey> = (0..3)
        .map(|k| CellKey::of_records(keys.iter().copied().skip(k).step_by(3)))
        .collect();
    let regional: CellKey = per_kommun.iter().copied().sum();
    assert_eq!(regional, forward);
    let table = Ptable::new(PtableParams::default()).expect("valid");
    assert_eq!(perturb(30, regional, &table), perturb(30, forward, &table));
    // Another person in the cell changes its key.
    let extra = keyer.record_key(&everyone[30], kommuner[0], &project);
    assert_ne!(forward.with(extra), forward);
}

#[test]
fn distinct_counts_are_keyed_by_their_pseudonyms_alone() {
    let domain: LinkageDomain = "gavleborg-ung-2023".parse().unwrap();
    let kd = MasterSecret::from_bytes([7; 32]).domain_key(&domain);
    let pseudonyms: Vec<Pseudonym> = people(10).iter().map(|p| kd.pseudonym(p)).collect();
    let key = CellKey::of_pseudonyms(&pseudonyms);
    assert_eq!(key, CellKey::of_pseudonyms(pseudonyms.iter().rev()));
    let by_hand = pseudonyms.iter().fold(0u64, |sum, p| {
        sum.wrapping_add(RecordKey::of_pseudonym(p).bits())
    });
    assert_eq!(key.bits(), by_hand);
    assert_eq!(CellKey::of_pseudonyms(&[]), CellKey::EMPTY);
}

#[test]
fn cell_keys_serialise_as_hex_for_people_and_as_integers_on_the_wire() {
    let key = CellKey::from_bits(0xfe34_6930_d37f_3cb4);
    let json = serde_json::to_string(&key).unwrap();
    assert_eq!(json, "\"fe346930d37f3cb4\"");
    assert_eq!(serde_json::from_str::<CellKey>(&json).unwrap(), key);
    for bad in [
        "\"FE346930D37F3CB4\"",
        "\"fe346930d37f3cb\"",
        "\"+e346930d37f3cb4\"",
        "7",
    ] {
        assert!(serde_json::from_str::<CellKey>(bad).is_err(), "{bad}");
    }
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(key, config).unwrap();
    let (back, _): (CellKey, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(back, key);
    assert_eq!(format!("{key:?}"), "CellKey(<redacted>)");
}

/// Parameters drawn at random among those that work: `D` in 1..=5, `js` below it,
/// the variance anywhere in its range.
fn random_params() -> impl Strategy<Value = PtableParams> {
    (1u32..=5, 0u32..5, 0.0f64..=1.0).prop_filter_map(
        "no variance works with this D and js",
        |(max_noise, js, position)| {
            let js = js % max_noise;
            let range = ptable::variance_range(max_noise, js).ok()?;
            let variance = range.least + position * (range.most - range.least);
            Some(PtableParams {
                max_noise,
                variance,
                js,
            })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Over many cells, the noise of each row has the distribution the table gives it:
    /// mean 0, the configured variance, and each value's frequency, all within `Z`
    /// standard errors computed from the table's own probabilities. Cell keys are sums
    /// of one to four uniform record keys, as cells of one to four people have.
    #[test]
    fn the_noise_over_many_cells_follows_the_table(params in random_params(), seed: u64) {
        const CELLS: u64 = 4_000;
        let table = Ptable::new(params).expect("a variance from the range");
        for row in table.rows().iter().skip(1) {
            let count = u64::from(row.count());
            let mut hits = vec![0u64; row.entries().len()];
            let (mut sum, mut sum_squares) = (0.0, 0.0);
            for i in 0..CELLS {
                let people = 1 + i % 4;
                let key = CellKey::of_records(
                    (0..people).map(|j| sample_key(seed ^ count, i * 4 + j)),
                );
                let noise = perturb(count, key, &table).get() as i64 - count as i64;
                let index = row
                    .entries()
                    .iter()
                    .position(|e| i64::from(e.noise()) == noise)
                    .expect("a noise value of the row");
                hits[index] += 1;
                sum += noise as f64;
                sum_squares += (noise * noise) as f64;
            }
            let n = CELLS as f64;
            let moment = |k: i32| -> f64 {
                row.entries().iter().map(|e| f64::from(e.noise()).powi(k) * e.probability()).sum()
            };
            let (m1, m2, m4) = (moment(1), moment(2), moment(4));
            // The table's own moments: mean 0 and the variance, up to its rounding.
            prop_assert!(m1.abs() < 1e-6);
            prop_assert!((m2 - params.variance).abs() < 1e-6);
            let mean_error = (m2 - m1 * m1).sqrt() / n.sqrt();
            prop_assert!((sum / n).abs() <= Z * mean_error + m1.abs(),
                "row {count}: mean {} (standard error {mean_error})", sum / n);
            let variance_error = (m4 - m2 * m2).sqrt() / n.sqrt();
            prop_assert!((sum_squares / n - params.variance).abs()
                <= Z * variance_error + (m2 - params.variance).abs(),
                "row {count}: variance {} not {} (standard error {variance_error})",
                sum_squares / n, params.variance);
            for (entry, hits) in row.entries().iter().zip(&hits) {
                let p = entry.probability();
                // The normal approximation needs a few expected hits each way.
                if n * p * (1.0 - p) >= 25.0 {
                    let error = (p * (1.0 - p) / n).sqrt();
                    prop_assert!((*hits as f64 / n - p).abs() <= Z * error,
                        "row {count}, noise {}: frequency {} not {p}", entry.noise(),
                        *hits as f64 / n);
                }
            }
        }
    }

    /// Perturbation is a function of the count and the key: the same cell always gives
    /// the same value, and a table built twice from the same parameters is the same.
    #[test]
    fn the_same_cell_always_gives_the_same_value(
        params in random_params(),
        count in 0u64..1_000,
        bits: u64,
    ) {
        let (first, second) = (Ptable::new(params), Ptable::new(params));
        prop_assert_eq!(&first, &second);
        let table = first.expect("valid");
        let key = CellKey::from_bits(bits);
        prop_assert_eq!(perturb(count, key, &table), perturb(count, key, &table));
        let published = perturb(count, key, &table).get();
        prop_assert!(published.abs_diff(count) <= u64::from(params.max_noise));
        prop_assert!(published == 0 || published > u64::from(params.js));
        if count == 0 {
            prop_assert_eq!(published, 0);
        }
    }
}
