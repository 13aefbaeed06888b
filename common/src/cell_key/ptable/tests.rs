//! The perturbation table: its defining properties for many parameter sets, the
//! published figures of the R package's vignette, every parameter error, the exact
//! lookup, and the default table's bounds pinned bit for bit.

use super::super::maxent::max_entropy;
use super::*;

/// Checks what every table must satisfy; the rounding of the bounds to 10⁻⁸ is the
/// only slack allowed in the moments.
fn assert_well_formed(table: &Ptable) {
    let params = table.params();
    let (d, js) = (i64::from(params.max_noise), i64::from(params.js));
    assert_eq!(table.rows().len() as u32, params.symmetric_from() + 1);
    assert_eq!(table.rows()[0].entries(), &[PtableEntry::new(0, 0, UNIT)]);
    for (i, row) in table.rows().iter().enumerate() {
        assert_eq!(row.count() as usize, i);
        let entries = row.entries();
        // The intervals tile [0, 1) in ascending order of noise.
        assert_eq!(entries.first().map(PtableEntry::lower), Some(0));
        assert_eq!(entries.last().map(PtableEntry::upper), Some(UNIT));
        for pair in entries.windows(2) {
            assert_eq!(pair[0].upper(), pair[1].lower(), "row {i}");
            assert!(pair[0].noise() < pair[1].noise(), "row {i}");
        }
        for entry in entries {
            assert!(entry.lower() <= entry.upper(), "row {i}");
            let (v, target) = (
                i64::from(entry.noise()),
                i as i64 + i64::from(entry.noise()),
            );
            assert!(v.abs() <= d, "row {i}: noise {v} beyond D = {d}");
            assert!(target >= 0, "row {i}: target {target}");
            assert!(
                target == 0 || target > js,
                "row {i}: target {target} in 1..={js}"
            );
        }
        if i == 0 {
            continue;
        }
        let slack = entries.len() as f64 * 1e-8;
        let mean: f64 = entries
            .iter()
            .map(|e| f64::from(e.noise()) * e.probability())
            .sum();
        let variance: f64 = entries
            .iter()
            .map(|e| f64::from(e.noise()).powi(2) * e.probability())
            .sum();
        assert!(mean.abs() <= slack * d as f64, "row {i}: mean {mean}");
        assert!(
            (variance - params.variance).abs() <= slack * (d * d) as f64,
            "row {i}: variance {variance}, not {}",
            params.variance
        );
    }
    // The last row serves every larger count: full support, symmetric.
    let last = table.rows().last().expect("rows");
    assert_eq!(last.entries().len() as i64, 2 * d + 1);
    let p: Vec<u32> = last
        .entries()
        .iter()
        .map(|e| e.upper() - e.lower())
        .collect();
    for (a, b) in p.iter().zip(p.iter().rev()) {
        assert!(a.abs_diff(*b) <= 1, "last row not symmetric: {p:?}");
    }
}

fn table(max_noise: u32, variance: f64, js: u32) -> Ptable {
    Ptable::new(PtableParams {
        max_noise,
        variance,
        js,
    })
    .unwrap_or_else(|e| panic!("D={max_noise} V={variance} js={js}: {e}"))
}

#[test]
fn tables_are_well_formed() {
    for (d, v, js) in [
        (2, 0.9, 0),
        (3, 1.5, 1),
        (5, 3.0, 2),
        (1, 0.5, 0),
        (4, 1.0, 0),
        (10, 0.5, 0),
    ] {
        assert_well_formed(&table(d, v, js));
    }
}

/// Every maximum noise up to 6 with every `js` below it, at both ends and the middle of
/// the variances that work: the solver certifies every row.
#[test]
fn every_feasible_parameter_set_builds() {
    for d in 1..=6 {
        for js in 0..d {
            let Ok(range) = variance_range(d, js) else {
                continue;
            };
            let middle = (range.least + range.most) / 2.0;
            for v in [range.least, middle, round_down(range.most)] {
                assert_well_formed(&table(d, v, js));
            }
        }
    }
}

/// The R package's vignette ("Introduction to the ptable-Package") prints, for
/// `create_cnt_ptable(D = 2, V = 1)`: row 1 p = 0.3665, 0.3665, 0.1676, 0.0995 for
/// v = −1..2 with p_int_ub 0.366, 0.733, 0.901, 1 and `p_var` 0.932 (the variance is
/// not met there, which the vignette points out); row 2 p(−2) = 0.0638 and
/// `p_stay` 0.383 with `p_var` 1. The package keeps such a table and warns; samla
/// refuses it and names the largest variance that works, which is that 0.932 rounded
/// down. Its rows are the ones samla's solver gives: row 1 without a variance bound
/// (the package's bound does not bind there), row 2 with it.
#[test]
fn the_rows_the_package_vignette_prints() {
    let row1 = max_entropy(&support(1, 2, 0), None).expect("solvable");
    for (got, want) in row1.iter().zip([0.3665, 0.3665, 0.1676, 0.0995]) {
        assert!((got - want).abs() < 0.00005, "{row1:?}");
    }
    assert_eq!(
        (second_moment(&[-1, 0, 1, 2], &row1) * 1000.0).round(),
        932.0
    );
    let rounded = rounded_row(1, &support(1, 2, 0), &row1).expect("sums to 1");
    let ub: Vec<f64> = rounded
        .entries()
        .iter()
        .map(|e| (f64::from(e.upper()) / f64::from(UNIT) * 1000.0).round() / 1000.0)
        .collect();
    assert_eq!(ub, [0.366, 0.733, 0.901, 1.0]);

    let row2 = max_entropy(&support(2, 2, 0), Some(1.0)).expect("solvable");
    assert!((row2[0] - 0.0638).abs() < 0.00005, "{row2:?}");
    assert!((row2[2] - 0.383).abs() < 0.0005, "{row2:?}");

    assert_eq!(
        Ptable::new(PtableParams {
            max_noise: 2,
            variance: 1.0,
            js: 0
        }),
        Err(PtableError::VarianceTooLarge {
            variance: 1.0,
            max_noise: 2,
            count: 1,
            most: 0.931
        })
    );
    // The vignette's remedy, V = 0.9, is samla's default and meets every condition.
    assert_well_formed(&table(2, 0.9, 0));
}

#[test]
fn parameter_errors_say_what_to_change() {
    let new = |max_noise, variance, js| {
        Ptable::new(PtableParams {
            max_noise,
            variance,
            js,
        })
    };
    assert_eq!(new(0, 1.0, 0), Err(PtableError::MaxNoise { found: 0 }));
    assert_eq!(new(11, 1.0, 0), Err(PtableError::MaxNoise { found: 11 }));
    assert!(matches!(
        new(2, f64::NAN, 0),
        Err(PtableError::Variance { .. })
    ));
    assert_eq!(
        new(2, 0.001, 0),
        Err(PtableError::Variance { found: 0.001 })
    );
    assert_eq!(
        new(2, 1.0, 2),
        Err(PtableError::JsTooLarge {
            js: 2,
            max_noise: 2
        })
    );
    // D = 2, js = 1: a count of 1 must jump to 0 or 2 (variance ≥ 1), while a count of
    // 3 (noise −1, 0, 1, 2, like a count of 1 with js = 0) allows at most 0.931.
    let no_variance = new(2, 1.2, 1).unwrap_err();
    assert_eq!(
        no_variance,
        PtableError::NoVariance {
            max_noise: 2,
            js: 1,
            least: 1.01,
            least_count: 1,
            most: 0.931,
            most_count: 3
        }
    );
    assert_eq!(
        no_variance.to_string(),
        "no variance works with max_noise 2 and js 1: an original count of 1 needs a variance \
         of at least 1.01, and one of 3 allows at most 0.931; raise max_noise or lower js"
    );
    assert_eq!(
        new(3, 1.0, 1),
        Err(PtableError::VarianceTooSmall {
            variance: 1.0,
            js: 1,
            count: 1,
            least: 1.01
        })
    );
    assert_eq!(
        new(3, 2.0, 1).unwrap_err().to_string(),
        "variance 2 is more than max_noise 3 allows for an original count of 1, where the most \
         spread-out noise has a variance of 1.857; lower variance to at most 1.857 or raise \
         max_noise"
    );
    // The bounds a message names are accepted.
    assert_well_formed(&table(3, 1.857, 1));
    assert_well_formed(&table(3, 1.01, 1));
}

/// The default table, bound for bound: any change to the algorithm or its numerics,
/// or a platform that computes it differently, fails here. docs/cell-key.md lists the
/// same table.
#[test]
fn the_default_table_is_pinned() {
    let table = Ptable::new(PtableParams::default()).expect("the default builds");
    let bounds: Vec<Vec<(i32, u32)>> = table
        .rows()
        .iter()
        .map(|row| {
            row.entries()
                .iter()
                .map(|e| (e.noise(), e.upper()))
                .collect()
        })
        .collect();
    assert_eq!(
        bounds,
        [
            vec![(0, 100_000_000)],
            vec![
                (-1, 36_250_000),
                (0, 72_500_000),
                (1, 91_250_000),
                (2, 100_000_000)
            ],
            vec![
                (-2, 5_154_609),
                (-1, 29_536_173),
                (0, 70_463_827),
                (1, 94_845_391),
                (2, 100_000_000)
            ],
        ]
    );
    assert_eq!(
        table.fingerprint().to_string(),
        "f383459cdb2206bae7b25eb37ee87aa0ccc148f35a604013f2eeaf3cc685a3ac"
    );
    assert_eq!(Ptable::new(PtableParams::default()), Ok(table));
}

/// A key `x` selects the entry whose interval holds `x / 2⁶⁴`: the boundary keys on
/// either side of a bound, computed here from the bound by exact integer arithmetic.
#[test]
fn the_lookup_is_exact_at_every_bound() {
    let table = table(3, 1.5, 1);
    for row in table.rows() {
        let count = u64::from(row.count());
        for pair in row.entries().windows(2) {
            let upper = u128::from(pair[0].upper());
            if pair[0].lower() == pair[0].upper() {
                continue;
            }
            // The smallest key at or above the bound: ⌈upper · 2⁶⁴ / 10⁸⌉.
            let scaled = upper << 64;
            let floor = scaled / u128::from(UNIT);
            let first_above = if floor * u128::from(UNIT) < scaled {
                floor + 1
            } else {
                floor
            };
            let first_above = u64::try_from(first_above).expect("below 2⁶⁴");
            assert!(u128::from(first_above - 1) * u128::from(UNIT) < upper << 64);
            assert!(u128::from(first_above) * u128::from(UNIT) >= upper << 64);
            let below = table.noise(count, CellKey::from_bits(first_above - 1));
            let at = table.noise(count, CellKey::from_bits(first_above));
            assert_eq!(below, pair[0].noise(), "row {count}");
            assert_eq!(at, pair[1].noise(), "row {count}");
        }
        let entries = row.entries();
        assert_eq!(
            table.noise(count, CellKey::from_bits(0)),
            entries[0].noise()
        );
        assert_eq!(
            table.noise(count, CellKey::from_bits(u64::MAX)),
            entries[entries.len() - 1].noise()
        );
    }
    // Counts beyond the table use its last row.
    let key = CellKey::from_bits(0x1234_5678_9abc_def0);
    assert_eq!(table.noise(5, key), table.noise(1_000_000, key));
    assert_eq!(table.noise(5, key), table.noise(u64::MAX, key));
}

/// A config may give any of the three parameters; the others take their defaults.
#[test]
fn parameters_left_out_of_a_config_take_their_defaults() {
    let params: PtableParams = serde_json::from_str(r#"{"max_noise": 3, "js": 1}"#).unwrap();
    assert_eq!(
        params,
        PtableParams {
            max_noise: 3,
            variance: DEFAULT_VARIANCE,
            js: 1
        }
    );
    assert_eq!(
        serde_json::from_str::<PtableParams>("{}").unwrap(),
        PtableParams::default()
    );
    assert!(serde_json::from_str::<PtableParams>(r#"{"max_noise": -1}"#).is_err());
}
