//! Exact integer Gaussian elimination over sparse rows: the published cells as a
//! row-echelon basis over the unknown (suppressed) inner cells, and the suppressed
//! cells as residuals against it. A suppressed cell is derivable exactly when its
//! residual is zero; the arithmetic is checked, so an overflow is an error, never a
//! wrong answer.

// The maps are keyed by column numbers and residual rows this module makes itself,
// so a fast non-keyed hash is safe here, and it is a large share of the work.
use rustc_hash::FxHashMap as HashMap;

use super::DisclosureError;

/// Rows longer than this are reduced in a sparse accumulator.
const LONG_ROW: usize = 64;

/// A row-echelon basis of the published equations, over unknown columns.
#[derive(Default)]
pub(super) struct System {
    pub(super) column: HashMap<u32, u32>,
    /// Rows keyed by their leading column; each row is sorted, non-zero, gcd 1.
    pub(super) basis: std::collections::BTreeMap<u32, Vec<(u32, i128)>>,
}

impl System {
    /// Adds a row that is already reduced against the basis (and not empty).
    pub(super) fn insert_reduced(&mut self, row: Vec<(u32, i128)>) {
        if let Some(&(lead, _)) = row.first() {
            self.basis.insert(lead, row);
        }
    }

    pub(super) fn insert(&mut self, row: Vec<(u32, i128)>) -> Result<(), DisclosureError> {
        let reduced = self.reduce(row)?;
        if let Some(&(lead, _)) = reduced.first() {
            self.basis.insert(lead, reduced);
        }
        Ok(())
    }

    pub(super) fn reduce(
        &self,
        mut row: Vec<(u32, i128)>,
    ) -> Result<Vec<(u32, i128)>, DisclosureError> {
        // Columns fixed by a one-cell equation (a published zero, say) just drop out.
        row.retain(|(c, _)| self.basis.get(c).is_none_or(|pivot| pivot.len() > 1));
        if row.len() > LONG_ROW {
            return self.reduce_long(row);
        }
        let mut from = 0;
        loop {
            // Rows are sorted by column, so the next column at or after `from` is found
            // by bisection.
            let position = row.partition_point(|(c, _)| *c < from);
            let Some(&(lead, a)) = row.get(position) else {
                break;
            };
            match self.basis.get(&lead) {
                Some(pivot) if pivot.len() == 1 => {
                    row.remove(position);
                }
                Some(pivot) => {
                    row = combine(&row, pivot[0].1, pivot, a)?;
                }
                None => from = lead + 1,
            }
        }
        Ok(normalize(row))
    }

    /// [`System::reduce`] for a long row (a regional total, say), held in a sparse
    /// accumulator: each elimination then costs the length of the (short) pivot row,
    /// not of the long row.
    fn reduce_long(&self, row: Vec<(u32, i128)>) -> Result<Vec<(u32, i128)>, DisclosureError> {
        use std::cmp::Reverse;
        let mut values: HashMap<u32, i128> = row.iter().copied().collect();
        let mut next: std::collections::BinaryHeap<Reverse<u32>> =
            row.iter().map(|(c, _)| Reverse(*c)).collect();
        let mut last = None;
        while let Some(Reverse(lead)) = next.pop() {
            if last == Some(lead) {
                continue;
            }
            last = Some(lead);
            let a = values.get(&lead).copied().unwrap_or(0);
            let Some(pivot) = self.basis.get(&lead).filter(|_| a != 0) else {
                continue;
            };
            let pa = pivot[0].1;
            if pa != 1 {
                for v in values.values_mut() {
                    *v = v.checked_mul(pa).ok_or(DisclosureError::Overflow)?;
                }
            }
            for &(c, pv) in pivot {
                let v = values.entry(c).or_insert(0);
                if *v == 0 && c != lead {
                    next.push(Reverse(c));
                }
                *v = pv
                    .checked_mul(a)
                    .and_then(|x| v.checked_sub(x))
                    .ok_or(DisclosureError::Overflow)?;
            }
        }
        let mut out: Vec<(u32, i128)> = values.into_iter().filter(|(_, v)| *v != 0).collect();
        out.sort_unstable_by_key(|(c, _)| *c);
        Ok(normalize(out))
    }

    /// Whether the sum of these inner cells is determined by the published equations.
    pub(super) fn determines(&self, members: &[u32]) -> Result<bool, DisclosureError> {
        let row: Vec<(u32, i128)> = members
            .iter()
            .filter_map(|m| self.column.get(m).map(|c| (*c, 1)))
            .collect();
        Ok(row.is_empty() || self.reduce(canonical(row))?.is_empty())
    }
}

/// The suppressed cells and their residuals against the published equations, with
/// an index of the residuals' canonical forms (parallel residuals share one).
#[derive(Default)]
pub(super) struct Hidden {
    residuals: Vec<(usize, Vec<(u32, i128)>)>,
    index: HashMap<Vec<(u32, i128)>, usize>,
}

impl Hidden {
    pub(super) fn add(&mut self, id: usize, residual: Vec<(u32, i128)>) {
        *self.index.entry(residual.clone()).or_default() += 1;
        self.residuals.push((id, residual));
    }

    /// Whether a suppressed residual is a multiple of `row` (both canonical).
    pub(super) fn contains(&self, row: &[(u32, i128)]) -> bool {
        self.index.contains_key(row)
    }

    /// Eliminates the leading column of a newly published (reduced) row from every
    /// suppressed residual. None becomes zero: the caller checked [`Hidden::contains`].
    pub(super) fn eliminate(&mut self, pivot: &[(u32, i128)]) -> Result<(), DisclosureError> {
        let Some(&(lead, pa)) = pivot.first() else {
            return Ok(());
        };
        for (_, residual) in &mut self.residuals {
            let Ok(at) = residual.binary_search_by_key(&lead, |(c, _)| *c) else {
                continue;
            };
            let ra = residual[at].1;
            let updated = combine(residual, pa, pivot, ra)?;
            if updated.is_empty() {
                return Err(DisclosureError::Unresolvable);
            }
            if let Some(n) = self.index.get_mut(residual.as_slice()) {
                *n -= 1;
                if *n == 0 {
                    self.index.remove(residual.as_slice());
                }
            }
            *self.index.entry(updated.clone()).or_default() += 1;
            *residual = updated;
        }
        Ok(())
    }
}

/// Sorts by column and adds up repeated columns, dropping zeros.
pub(super) fn canonical(mut row: Vec<(u32, i128)>) -> Vec<(u32, i128)> {
    row.sort_unstable_by_key(|(c, _)| *c);
    let mut out: Vec<(u32, i128)> = Vec::with_capacity(row.len());
    for (c, v) in row {
        match out.last_mut() {
            Some((last, sum)) if *last == c => *sum += v,
            _ => out.push((c, v)),
        }
    }
    out.retain(|(_, v)| *v != 0);
    normalize(out)
}

/// `row * pa - pivot * ra`: eliminates the pivot's leading column from `row`.
fn combine(
    row: &[(u32, i128)],
    pa: i128,
    pivot: &[(u32, i128)],
    ra: i128,
) -> Result<Vec<(u32, i128)>, DisclosureError> {
    let mut out = Vec::with_capacity(row.len() + pivot.len());
    let (mut i, mut j) = (0, 0);
    let mul = |x: i128, y: i128| x.checked_mul(y).ok_or(DisclosureError::Overflow);
    while i < row.len() || j < pivot.len() {
        let (c, v) = match (row.get(i), pivot.get(j)) {
            (Some(&(rc, rv)), Some(&(pc, _))) if rc < pc => {
                i += 1;
                (rc, mul(rv, pa)?)
            }
            (Some(&(rc, rv)), Some(&(pc, pv))) if rc == pc => {
                i += 1;
                j += 1;
                (
                    rc,
                    mul(rv, pa)?
                        .checked_sub(mul(pv, ra)?)
                        .ok_or(DisclosureError::Overflow)?,
                )
            }
            (_, Some(&(pc, pv))) => {
                j += 1;
                (
                    pc,
                    mul(pv, ra)?
                        .checked_neg()
                        .ok_or(DisclosureError::Overflow)?,
                )
            }
            (Some(&(rc, rv)), None) => {
                i += 1;
                (rc, mul(rv, pa)?)
            }
            (None, None) => break,
        };
        if v != 0 {
            out.push((c, v));
        }
    }
    Ok(normalize(out))
}

/// Divides by the gcd and makes the leading coefficient positive.
fn normalize(mut row: Vec<(u32, i128)>) -> Vec<(u32, i128)> {
    let mut g = 0i128;
    for (_, v) in &row {
        g = gcd(g, v.abs());
        if g == 1 {
            break;
        }
    }
    let sign = if row.first().is_some_and(|(_, v)| *v < 0) {
        -1
    } else {
        1
    };
    if g > 1 || sign < 0 {
        for (_, v) in &mut row {
            *v = *v / g.max(1) * sign;
        }
    }
    row
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
