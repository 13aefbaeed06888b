//! The perturbation table of the cell key method: for each original count, the noise
//! values it may receive, their probabilities, and the interval of cell keys that
//! selects each one.
//!
//! The table is built the way the R package ptable builds one for counts
//! (`create_cnt_ptable(D, V, js)` with its defaults, Enderle, Giessing and Tent 2018;
//! docs/cell-key.md gives the definition and the numerics). Row `i` lists the noise
//! values `v` with `|v| ≤ D` whose target `i + v` is 0 or above `js`, in ascending
//! order, with the maximum-entropy probabilities the solver in `maxent.rs` finds: zero
//! mean, variance exactly `V`, none below 10⁻⁸. Row 0 is "0 stays 0". From the
//! first count whose targets all lie above `js` (`D` if `js = 0`, else `D + js + 1`,
//! as in the package) every row is the same symmetric distribution, so the table
//! stops there and its last row serves every larger count.
//!
//! Each row's cumulative probabilities are rounded to whole multiples of 10⁻⁸, as the
//! package rounds `p_int_ub`, giving the intervals `[lower, upper)` a cell key is
//! looked up in. The lookup compares integers only: a key `x / 2⁶⁴` falls below a bound
//! `u / 10⁸` exactly when `x · 10⁸ < u · 2⁶⁴`.
//!
//! A [`Ptable`] can only be built from parameters that give every row the configured
//! variance; any other parameters get a [`PtableError`] that says what to change.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::maxent::{max_entropy, second_moment};
use super::CellKey;

/// Probabilities and bounds are whole multiples of 1 / `UNIT` = 10⁻⁸.
pub const UNIT: u32 = 100_000_000;

/// The default maximum noise `D`.
pub const DEFAULT_MAX_NOISE: u32 = 2;

/// The default noise variance `V`: the largest round value below 0.932, the most an
/// original count of 1 allows with `D = 2` (the package's vignette uses it for that
/// reason).
pub const DEFAULT_VARIANCE: f64 = 0.9;

/// The default `js`: published counts of 1 are allowed (with `D = 2` no `js` above 0
/// can be combined with any variance).
pub const DEFAULT_JS: u32 = 0;

/// The largest maximum noise accepted.
pub const MAX_NOISE_LIMIT: u32 = 10;

/// The smallest variance accepted, and how far a variance must exceed the least an
/// original count in `1..=js` needs.
pub const VARIANCE_MARGIN: f64 = 0.01;

/// The context of the table's fingerprint.
const FINGERPRINT_CONTEXT: &str = "samla 2026-11 ptable fingerprint v1";

/// The three parameters of a perturbation table, as a config gives them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PtableParams {
    /// `D`: no noise is larger than this in absolute value.
    pub max_noise: u32,
    /// `V`: the variance of the noise of every original count above 0.
    pub variance: f64,
    /// `js`: no published count is in `1..=js`.
    pub js: u32,
}

impl Default for PtableParams {
    fn default() -> Self {
        PtableParams {
            max_noise: DEFAULT_MAX_NOISE,
            variance: DEFAULT_VARIANCE,
            js: DEFAULT_JS,
        }
    }
}

impl PtableParams {
    /// The first original count whose row serves every larger count.
    pub fn symmetric_from(&self) -> u32 {
        if self.js == 0 {
            self.max_noise
        } else {
            self.max_noise + self.js + 1
        }
    }
}

impl fmt::Display for PtableParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max_noise = {}, variance = {}, js = {}",
            self.max_noise, self.variance, self.js
        )
    }
}

/// Why parameters cannot make a perturbation table. Each message says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PtableError {
    /// The maximum noise is 0 or above [`MAX_NOISE_LIMIT`].
    #[error("max_noise {found} must be 1 to {MAX_NOISE_LIMIT}")]
    MaxNoise {
        /// The value given.
        found: u32,
    },
    /// The variance is not a number of at least [`VARIANCE_MARGIN`].
    #[error("variance {found} must be a number of at least {VARIANCE_MARGIN}")]
    Variance {
        /// The value given.
        found: f64,
    },
    /// `js` is not below the maximum noise.
    #[error(
        "js {js} must be less than max_noise {max_noise}: an original count of js + 1 could \
         then only move up, so its noise could not have mean 0; lower js or raise max_noise"
    )]
    JsTooLarge {
        /// The `js` given.
        js: u32,
        /// The maximum noise given.
        max_noise: u32,
    },
    /// With this maximum noise and `js`, the least variance one original count needs is
    /// more than another allows.
    #[error(
        "no variance works with max_noise {max_noise} and js {js}: an original count of \
         {least_count} needs a variance of at least {least}, and one of {most_count} allows \
         at most {most}; raise max_noise or lower js"
    )]
    NoVariance {
        /// The maximum noise given.
        max_noise: u32,
        /// The `js` given.
        js: u32,
        /// The least variance allowed (rounded up to 3 decimals).
        least: f64,
        /// The original count that needs it.
        least_count: u32,
        /// The most variance allowed (rounded down to 3 decimals).
        most: f64,
        /// The original count that allows no more.
        most_count: u32,
    },
    /// The variance is too small for an original count in `1..=js`, whose noise must
    /// jump to 0 or above `js`.
    #[error(
        "variance {variance} is too small for js {js}: an original count of {count} can only \
         move to 0 or above js, which needs a variance of at least {least}; raise variance or \
         lower js"
    )]
    VarianceTooSmall {
        /// The variance given.
        variance: f64,
        /// The `js` given.
        js: u32,
        /// The original count that needs more.
        count: u32,
        /// The least variance allowed (rounded up to 3 decimals).
        least: f64,
    },
    /// The variance is more than the maximum-entropy noise of some original count has
    /// even without a variance bound: that row could not have the variance.
    #[error(
        "variance {variance} is more than max_noise {max_noise} allows for an original count \
         of {count}, where the most spread-out noise has a variance of {most}; lower variance \
         to at most {most} or raise max_noise"
    )]
    VarianceTooLarge {
        /// The variance given.
        variance: f64,
        /// The maximum noise given.
        max_noise: u32,
        /// The original count that allows no more.
        count: u32,
        /// The most variance allowed (rounded down to 3 decimals).
        most: f64,
    },
    /// The solver found no certified optimum for a row (not seen for any parameters
    /// that pass the checks above).
    #[error(
        "the perturbation probabilities for an original count of {count} could not be \
         computed; try a slightly different variance"
    )]
    Solver {
        /// The original count.
        count: u32,
    },
}

/// The variances that work with a maximum noise and `js`: `least..=most`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarianceRange {
    /// The least variance allowed.
    pub least: f64,
    /// The original count in `1..=js` that needs it, if `js > 0`.
    pub least_count: Option<u32>,
    /// The most variance allowed: the smallest, over the rows, of the variance the
    /// row's maximum-entropy noise has without a variance bound.
    pub most: f64,
    /// The original count whose row allows no more.
    pub most_count: u32,
}

/// The variances that work with `max_noise` and `js`.
pub fn variance_range(max_noise: u32, js: u32) -> Result<VarianceRange, PtableError> {
    if !(1..=MAX_NOISE_LIMIT).contains(&max_noise) {
        return Err(PtableError::MaxNoise { found: max_noise });
    }
    if js >= max_noise {
        return Err(PtableError::JsTooLarge { js, max_noise });
    }
    // A count i in 1..=js may only go to 0 (noise −i) or to js + 1 and above (noise
    // js + 1 − i or more): zero-mean noise with nothing in between has a variance of at
    // least i · (js + 1 − i), reached by those two values alone.
    let (least, least_count) = (1..=js)
        .map(|i| (f64::from(i * (js + 1 - i)) + VARIANCE_MARGIN, Some(i)))
        .fold(
            (VARIANCE_MARGIN, None),
            |best, x| {
                if x.0 > best.0 {
                    x
                } else {
                    best
                }
            },
        );
    let params = PtableParams {
        max_noise,
        variance: 0.0,
        js,
    };
    let mut most = (f64::INFINITY, 0);
    for count in 1..=params.symmetric_from() {
        let noise = support(count, max_noise, js);
        let p = max_entropy(&noise, None).ok_or(PtableError::Solver { count })?;
        let variance = second_moment(&noise, &p);
        if variance < most.0 {
            most = (variance, count);
        }
    }
    let range = VarianceRange {
        least,
        least_count,
        most: most.0,
        most_count: most.1,
    };
    if range.least > range.most {
        return Err(PtableError::NoVariance {
            max_noise,
            js,
            least: round_up(range.least),
            least_count: least_count.unwrap_or(1),
            most: round_down(range.most),
            most_count: range.most_count,
        });
    }
    Ok(range)
}

/// A perturbation table: rows for the original counts `0..=symmetric_from`, the last
/// serving every larger count. Only [`Ptable::new`] builds one, from parameters that
/// give every row the configured variance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ptable {
    max_noise: u32,
    js: u32,
    variance_bits: u64,
    rows: Vec<PtableRow>,
}

/// The noise distribution of one original count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtableRow {
    count: u32,
    entries: Vec<PtableEntry>,
}

/// One noise value of a row and the interval of cell keys that selects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtableEntry {
    noise: i32,
    lower: u32,
    upper: u32,
    /// `⌈upper · 2⁶⁴ / 10⁸⌉`: a key `x` is below the upper bound exactly when
    /// `x < threshold`.
    threshold: u128,
}

impl Ptable {
    /// Builds the table for `params`, or says which parameter to change.
    pub fn new(params: PtableParams) -> Result<Ptable, PtableError> {
        let PtableParams {
            max_noise,
            variance,
            js,
        } = params;
        if !variance.is_finite() || variance < VARIANCE_MARGIN {
            return Err(PtableError::Variance { found: variance });
        }
        let range = variance_range(max_noise, js)?;
        if variance < range.least {
            return Err(PtableError::VarianceTooSmall {
                variance,
                js,
                count: range.least_count.unwrap_or(1),
                least: round_up(range.least),
            });
        }
        if variance > range.most {
            return Err(PtableError::VarianceTooLarge {
                variance,
                max_noise,
                count: range.most_count,
                most: round_down(range.most),
            });
        }
        let mut rows = vec![PtableRow {
            count: 0,
            entries: vec![PtableEntry::new(0, 0, UNIT)],
        }];
        for count in 1..=params.symmetric_from() {
            let noise = support(count, max_noise, js);
            let p = max_entropy(&noise, Some(variance)).ok_or(PtableError::Solver { count })?;
            // Within the range the variance bound binds in every row.
            if (second_moment(&noise, &p) - variance).abs() > 1e-9 {
                return Err(PtableError::Solver { count });
            }
            rows.push(rounded_row(count, &noise, &p).ok_or(PtableError::Solver { count })?);
        }
        Ok(Ptable {
            max_noise,
            js,
            variance_bits: variance.to_bits(),
            rows,
        })
    }

    /// The parameters the table was built from.
    pub fn params(&self) -> PtableParams {
        PtableParams {
            max_noise: self.max_noise,
            variance: f64::from_bits(self.variance_bits),
            js: self.js,
        }
    }

    /// The rows for the original counts `0..=symmetric_from`; the last serves every
    /// larger count.
    pub fn rows(&self) -> &[PtableRow] {
        &self.rows
    }

    /// The row that perturbs `count`.
    pub fn row(&self, count: u64) -> &PtableRow {
        let last = self.rows.len() - 1;
        // `rows` holds one row per count in 0..=symmetric_from, so it is never empty.
        let index = usize::try_from(count).map_or(last, |c| c.min(last));
        &self.rows[index]
    }

    /// The noise a cell with `count` people and key `key` receives.
    pub fn noise(&self, count: u64, key: CellKey) -> i32 {
        let key = u128::from(key.bits());
        let entries = &self.row(count).entries;
        entries
            .iter()
            .find(|entry| key < entry.threshold)
            // The last entry's upper bound is 1, so every key is below it.
            .or(entries.last())
            .map_or(0, |entry| entry.noise)
    }

    /// A BLAKE3 fingerprint of every bound of the table, so two parties can check they
    /// perturb with the same table (docs/cell-key.md gives the encoding).
    pub fn fingerprint(&self) -> PtableFingerprint {
        let mut hasher = blake3::Hasher::new_derive_key(FINGERPRINT_CONTEXT);
        for row in &self.rows {
            hasher.update(&row.count.to_le_bytes());
            hasher.update(&(row.entries.len() as u32).to_le_bytes());
            for entry in &row.entries {
                hasher.update(&entry.noise.to_le_bytes());
                hasher.update(&entry.lower.to_le_bytes());
                hasher.update(&entry.upper.to_le_bytes());
            }
        }
        PtableFingerprint(*hasher.finalize().as_bytes())
    }
}

impl PtableRow {
    /// The original count (for the last row: this count and every larger one).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The noise values in ascending order, with their key intervals.
    pub fn entries(&self) -> &[PtableEntry] {
        &self.entries
    }
}

impl PtableEntry {
    fn new(noise: i32, lower: u32, upper: u32) -> PtableEntry {
        PtableEntry {
            noise,
            lower,
            upper,
            threshold: (u128::from(upper) << 64).div_ceil(u128::from(UNIT)),
        }
    }

    /// The noise value `v`.
    pub fn noise(&self) -> i32 {
        self.noise
    }

    /// The interval's lower bound `p_int_lb`, in units of 10⁻⁸.
    pub fn lower(&self) -> u32 {
        self.lower
    }

    /// The interval's upper bound `p_int_ub`, in units of 10⁻⁸.
    pub fn upper(&self) -> u32 {
        self.upper
    }

    /// The probability of this noise value: `upper − lower` in units of 10⁻⁸.
    pub fn probability(&self) -> f64 {
        f64::from(self.upper - self.lower) / f64::from(UNIT)
    }
}

/// The BLAKE3 fingerprint of a table's bounds, shown as 64 hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtableFingerprint([u8; 32]);

impl fmt::Display for PtableFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The noise values of original count `count`, ascending: `|v| ≤ D`, target `≥ 0`,
/// target not in `1..=js`.
fn support(count: u32, max_noise: u32, js: u32) -> Vec<i32> {
    let count = i64::from(count);
    let (d, js) = (i64::from(max_noise), i64::from(js));
    ((count - d).max(0)..=count + d)
        .filter(|target| *target == 0 || *target > js)
        .filter_map(|target| i32::try_from(target - count).ok())
        .collect()
}

/// The row with its cumulative probabilities rounded to multiples of 10⁻⁸; the last
/// upper bound is exactly 1. `None` if the probabilities do not sum to 1.
fn rounded_row(count: u32, noise: &[i32], p: &[f64]) -> Option<PtableRow> {
    let total: f64 = p.iter().sum();
    if (total - 1.0).abs() > 1e-9 {
        return None;
    }
    let mut entries = Vec::with_capacity(noise.len());
    let (mut cumulative, mut lower) = (0.0, 0u32);
    for (k, (&v, &p)) in noise.iter().zip(p).enumerate() {
        cumulative += p;
        let upper = if k + 1 == noise.len() {
            UNIT
        } else {
            // In 0..=UNIT: the cast saturates, and the clamp keeps the bounds monotone.
            ((cumulative * f64::from(UNIT)).round() as u32).clamp(lower, UNIT)
        };
        entries.push(PtableEntry::new(v, lower, upper));
        lower = upper;
    }
    Some(PtableRow { count, entries })
}

/// `x` rounded up to 3 decimals, for a least value shown to the user. Least values
/// are whole hundredths, so the tolerance only absorbs the rounding of `x · 1000`.
fn round_up(x: f64) -> f64 {
    (x * 1000.0 - 1e-6).ceil() / 1000.0
}

/// `x` rounded down to 3 decimals, for a most value shown to the user: any variance up
/// to the value shown is accepted.
fn round_down(x: f64) -> f64 {
    (x * 1000.0).floor() / 1000.0
}

#[cfg(test)]
mod tests;
