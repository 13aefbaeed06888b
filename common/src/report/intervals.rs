//! Intervals for suppressed headline figures (DESIGN.md §6): the lowest and highest
//! value a sum of cells can take given every published cell of its table, as an
//! attacker computes them by linear programming (every unknown cell non-negative,
//! every published cell and total an equation). Publishing these bounds tells nobody
//! anything the published table does not already give away; the analyst gets the
//! range a suppressed figure lies in instead of `..`.
//!
//! The bounds are integers: the relaxation's optimum rounded inwards (cells are
//! counts of people, and an attacker knows it).

use std::collections::HashMap;

use crate::disclosure::{PublishedTable, TOTAL};

/// A tolerance for the floating-point optimum before rounding to whole people.
const EPSILON: f64 = 1e-6;

/// The bounds of the sum of the cells at `keys` (codes or `total`) over every
/// solution of the table's published cells with non-negative unknowns. `None` when
/// a key is not in the table or a bound is infinite (nothing published bounds it).
pub fn lp_bounds(table: &PublishedTable, keys: &[&[&str]]) -> Option<(u64, u64)> {
    let index: HashMap<&[String], usize> = table
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key.as_slice(), i))
        .collect();
    let inner = |key: &[String]| key.iter().all(|v| v != TOTAL);
    // The unknowns: the suppressed inner cells.
    let unknowns: Vec<usize> = (0..table.cells.len())
        .filter(|i| table.cells[*i].count.is_none() && inner(&table.cells[*i].key))
        .collect();
    // For every cell: its unknown members, and the sum of its published inner members.
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut known: HashMap<usize, u64> = HashMap::new();
    for (i, cell) in table.cells.iter().enumerate() {
        if !inner(&cell.key) {
            continue;
        }
        for general in generalisations(&cell.key) {
            let Some(&at) = index.get(general.as_slice()) else {
                continue;
            };
            match cell.count {
                Some(n) => *known.entry(at).or_default() += n,
                None => members.entry(at).or_default().push(i),
            }
        }
    }
    let mut objective: Vec<usize> = Vec::new();
    let mut constant = 0u64;
    for key in keys {
        let at = *table
            .cells
            .iter()
            .enumerate()
            .find(|(_, c)| c.key.len() == key.len() && c.key.iter().zip(*key).all(|(a, b)| a == b))
            .map(|(i, _)| i)
            .as_ref()?;
        constant += known.get(&at).copied().unwrap_or(0);
        objective.extend(members.get(&at).into_iter().flatten());
    }
    if objective.is_empty() {
        return Some((constant, constant));
    }
    let position: HashMap<usize, usize> =
        unknowns.iter().enumerate().map(|(v, i)| (*i, v)).collect();
    let solve = |direction| -> Option<f64> {
        let mut lp = microlp::Problem::new(direction);
        let vars: Vec<microlp::Variable> = unknowns
            .iter()
            .map(|i| {
                let weight = objective.iter().filter(|o| *o == i).count() as f64;
                lp.add_var(weight, (0.0, f64::INFINITY))
            })
            .collect();
        for (at, list) in &members {
            let Some(value) = table.cells[*at].count else {
                continue;
            };
            let terms: Vec<(microlp::Variable, f64)> =
                list.iter().map(|i| (vars[position[i]], 1.0)).collect();
            let rhs = value as f64 - known.get(at).copied().unwrap_or(0) as f64;
            lp.add_constraint(terms.as_slice(), microlp::ComparisonOp::Eq, rhs);
        }
        lp.solve().ok()?.into_solution().ok().map(|s| s.objective())
    };
    let low = solve(microlp::OptimizationDirection::Minimize)?;
    let high = solve(microlp::OptimizationDirection::Maximize)?;
    if !high.is_finite() {
        return None;
    }
    let low = (low - EPSILON).ceil().max(0.0) as u64;
    let high = (high + EPSILON).floor().max(0.0) as u64;
    Some((constant + low, constant + high.max(low)))
}

/// Every key that sums a cell: each subset of its positions replaced by `total`
/// (keys a table does not have are skipped by the caller), the cell itself included.
fn generalisations(key: &[String]) -> Vec<Vec<String>> {
    let n = key.len();
    (0u32..(1 << n))
        .map(|mask| {
            key.iter()
                .enumerate()
                .map(|(i, v)| {
                    if mask & (1 << i) != 0 {
                        TOTAL.to_owned()
                    } else {
                        v.clone()
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disclosure::PublishedCell;
    use crate::statistics::{Dimension, TableName};

    fn cell(key: &[&str], count: Option<u64>) -> PublishedCell {
        PublishedCell {
            key: key.iter().map(|s| (*s).to_owned()).collect(),
            count,
            suppressed: None,
        }
    }

    /// Two kommuner × two genders; the women of both kommuner and one man suppressed,
    /// with the margins published: women in the region lie between what the margins
    /// leave.
    #[test]
    fn bounds_follow_the_published_margins() {
        let table = PublishedTable {
            name: TableName::MonthlyActive,
            dimensions: vec![Dimension::Kommun, Dimension::Gender],
            cells: vec![
                cell(&["a", "K"], None),
                cell(&["a", "M"], None),
                cell(&["a", TOTAL], Some(10)),
                cell(&["b", "K"], None),
                cell(&["b", "M"], Some(20)),
                cell(&["b", TOTAL], Some(23)),
                cell(&[TOTAL, "K"], None),
                cell(&[TOTAL, "M"], None),
                cell(&[TOTAL, TOTAL], Some(33)),
            ],
        };
        // b's women are exactly 3; a's women anything from 0 to 10.
        assert_eq!(lp_bounds(&table, &[&["b", "K"]]), Some((3, 3)));
        assert_eq!(lp_bounds(&table, &[&[TOTAL, "K"]]), Some((3, 13)));
        assert_eq!(lp_bounds(&table, &[&["b", "M"]]), Some((20, 20)));
        assert_eq!(
            lp_bounds(&table, &[&[TOTAL, "K"], &[TOTAL, "M"]]),
            Some((33, 33))
        );
        assert_eq!(lp_bounds(&table, &[&["c", "K"]]), None);
    }
}
