//! Disclosure control checked the way an attacker would: linear programming over the
//! published cells, totals and links, with every unknown cell non-negative.

use proptest::prelude::*;

use super::grid::{inner_members, published_coordinates};
use super::solver::Solver;
use super::*;
use crate::statistics::Grid;

/// An attacker's view of a solved problem: the interval each suppressed cell can take.
/// Atoms of sums are unknowns too (non-negative), and each published sum an equation.
pub(crate) fn attack(
    problem: &Problem,
    solved: &[Vec<SolvedCell>],
) -> Vec<(usize, usize, f64, f64)> {
    let mut offsets = Vec::new();
    let mut total = 0;
    for (grid, _) in &problem.grids {
        offsets.push(total);
        total += grid.counts.len();
    }
    let atoms = total;
    total += problem.sums.as_ref().map_or(0, |s| s.atoms.len());
    let members = |g: usize, c: &[Option<usize>]| -> Vec<usize> {
        match problem.grids.get(g) {
            Some((grid, _)) => inner_members(&grid.sizes, c)
                .into_iter()
                .map(|i| offsets[g] + i)
                .collect(),
            None => {
                let sums = problem.sums.as_ref().expect("a sums grid");
                let i = c[0].expect("a sum");
                sums.sums[i].iter().map(|a| atoms + a).collect()
            }
        }
    };
    let build = |direction, target: &[usize]| {
        let mut lp = microlp::Problem::new(direction);
        let vars: Vec<_> = (0..total)
            .map(|i| {
                lp.add_var(
                    if target.contains(&i) { 1.0 } else { 0.0 },
                    (0.0, f64::INFINITY),
                )
            })
            .collect();
        for (g, cells) in solved.iter().enumerate() {
            for cell in cells.iter().filter(|c| c.suppressed.is_none()) {
                let terms: Vec<_> = members(g, &cell.coordinate)
                    .into_iter()
                    .map(|m| (vars[m], 1.0))
                    .collect();
                lp.add_constraint(
                    terms.as_slice(),
                    microlp::ComparisonOp::Eq,
                    cell.value as f64,
                );
            }
        }
        for [a, b] in &problem.links {
            let mut terms: Vec<_> = members(a.grid, &a.coordinate)
                .into_iter()
                .map(|m| (vars[m], 1.0))
                .collect();
            terms.extend(
                members(b.grid, &b.coordinate)
                    .into_iter()
                    .map(|m| (vars[m], -1.0)),
            );
            lp.add_constraint(terms.as_slice(), microlp::ComparisonOp::Eq, 0.0);
        }
        lp
    };
    let mut out = Vec::new();
    for (g, cells) in solved.iter().enumerate() {
        for (i, cell) in cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.suppressed.is_some())
        {
            let target = members(g, &cell.coordinate);
            let low = build(microlp::OptimizationDirection::Minimize, &target)
                .solve()
                .expect("published values are feasible")
                .into_solution()
                .expect("no limit is set")
                .objective();
            // A cell no published total bounds (its totals suppressed too) can be
            // anything: unbounded above.
            let high = match build(microlp::OptimizationDirection::Maximize, &target).solve() {
                Ok(outcome) => outcome
                    .into_solution()
                    .expect("no limit is set")
                    .objective(),
                Err(microlp::Error::Unbounded) => f64::INFINITY,
                Err(e) => panic!("the published values are a feasible system: {e:?}"),
            };
            out.push((g, i, low, high));
        }
    }
    out
}

pub(crate) fn exposed(problem: &Problem, solved: &[Vec<SolvedCell>]) -> Vec<(usize, usize)> {
    attack(problem, solved)
        .into_iter()
        .filter(|(_, _, low, high)| high - low < 0.5)
        .map(|(g, i, _, _)| (g, i))
        .collect()
}

fn grid(sizes: &[usize], counts: &[u64]) -> Grid {
    Grid {
        sizes: sizes.to_vec(),
        counts: counts.to_vec(),
    }
}

fn single(sizes: &[usize], counts: &[u64]) -> Problem {
    let mut problem = Problem::default();
    problem.add_grid(grid(sizes, counts), vec![true; sizes.len()]);
    problem
}

/// No line holds exactly one suppressed cell (necessary, not sufficient).
fn lines_hold_no_single(problem: &Problem, solved: &[Vec<SolvedCell>]) -> bool {
    let solver = Solver::new(problem);
    let flat: Vec<bool> = solved
        .iter()
        .flatten()
        .map(|c| c.suppressed.is_some())
        .collect();
    lines(problem, &solver)
        .iter()
        .all(|line| line.iter().filter(|n| flat[**n]).count() != 1)
}

/// Lines: cells along one additive dimension with the others fixed, total last.
fn lines(problem: &Problem, solver: &Solver) -> Vec<Vec<usize>> {
    let lookup: std::collections::HashMap<(usize, Vec<Option<usize>>), usize> = solver
        .nodes
        .iter()
        .enumerate()
        .map(|(id, n)| ((n.grid, n.coordinate.clone()), id))
        .collect();
    let mut lines = Vec::new();
    for (g, (grid, additive)) in problem.grids.iter().enumerate() {
        for (d, _) in additive.iter().enumerate().filter(|(_, a)| **a) {
            for coordinate in published_coordinates(&grid.sizes, additive) {
                if coordinate[d].is_some() {
                    continue;
                }
                let line: Vec<usize> = (0..grid.sizes[d])
                    .map(Some)
                    .chain([None])
                    .filter_map(|v| {
                        let mut c = coordinate.clone();
                        c[d] = v;
                        lookup.get(&(g, c)).copied()
                    })
                    .collect();
                lines.push(line);
            }
        }
    }
    lines
}

#[test]
fn the_attack_check_catches_a_line_rule_only_pattern() {
    // Two 2x2 blocks of suppressed cells (rows 0-1 x cols 0-1 and rows 2-3 x cols 2-3)
    // joined by one more suppressed cell at (0, 2): every line holds at least two
    // suppressed cells, yet rows 0+1 minus columns 0+1 give the joining cell.
    let counts = [1, 9, 2, 20, 9, 3, 20, 20, 20, 20, 1, 9, 20, 20, 9, 3];
    let problem = single(&[4, 4], &counts);
    let solver = Solver::new(&problem);
    let mut state = vec![None; solver.nodes.len()];
    for (id, node) in solver.nodes.iter().enumerate() {
        let hidden = [
            (0, 0),
            (0, 1),
            (1, 0),
            (1, 1),
            (0, 2),
            (2, 2),
            (2, 3),
            (3, 2),
            (3, 3),
        ];
        if let [Some(r), Some(c)] = node.coordinate[..] {
            if hidden.contains(&(r, c)) {
                state[id] = Some(Suppression::Secondary);
            }
        }
    }
    let solved = vec![solver
        .nodes
        .iter()
        .zip(&state)
        .map(|(n, s)| SolvedCell {
            coordinate: n.coordinate.clone(),
            value: n.value,
            suppressed: *s,
        })
        .collect::<Vec<_>>()];
    assert!(lines_hold_no_single(&problem, &solved));
    assert!(
        !exposed(&problem, &solved).is_empty(),
        "the joining cell is derivable"
    );
    assert!(
        solver.first_derivable(&state).unwrap().is_some(),
        "elimination sees it too"
    );
}

#[test]
fn joined_blocks_get_protected() {
    let counts = [1, 9, 2, 20, 9, 3, 20, 20, 20, 20, 1, 9, 20, 20, 9, 3];
    let problem = single(&[4, 4], &counts);
    let solved = problem.solve(DisclosureRule::default()).unwrap();
    assert!(exposed(&problem, &solved).is_empty());
    assert!(lines_hold_no_single(&problem, &solved));
}

#[test]
fn small_cells_and_their_partners_are_suppressed_totals_kept() {
    // 2x3 table; one cell of 2.
    let problem = single(&[2, 3], &[2, 10, 12, 8, 9, 30]);
    let solved = problem.solve(DisclosureRule::default()).unwrap();
    let by = |c: [Option<usize>; 2]| {
        solved[0]
            .iter()
            .find(|s| s.coordinate == c)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by([Some(0), Some(0)]).suppressed,
        Some(Suppression::Primary)
    );
    assert_eq!(
        by([None, None]).suppressed,
        None,
        "grand total stays published"
    );
    assert_eq!(
        by([Some(0), None]).suppressed,
        None,
        "row total stays published"
    );
    let hidden = solved[0].iter().filter(|c| c.suppressed.is_some()).count();
    assert_eq!(hidden, 4, "the classic rectangle of four");
    assert!(exposed(&problem, &solved).is_empty());
}

#[test]
fn linked_margins_are_protected_across_tables() {
    // Two 2x2 tables whose row totals are the same people: a cell hidden in one table
    // must not be recoverable from the other's published margins.
    let mut problem = Problem::default();
    problem.add_grid(grid(&[2, 2], &[3, 10, 20, 30]), vec![true, true]);
    problem.add_grid(grid(&[2, 2], &[6, 7, 25, 25]), vec![true, true]);
    for r in 0..2 {
        problem.link(
            CellRef {
                grid: 0,
                coordinate: vec![Some(r), None],
            },
            CellRef {
                grid: 1,
                coordinate: vec![Some(r), None],
            },
        );
    }
    let solved = problem.solve(DisclosureRule::default()).unwrap();
    assert!(exposed(&problem, &solved).is_empty());
}

#[test]
fn nothing_to_hide_hides_nothing() {
    let problem = single(&[2, 2], &[0, 10, 12, 8]);
    let solved = problem.solve(DisclosureRule::default()).unwrap();
    assert!(solved[0].iter().all(|c| c.suppressed.is_none()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random small tables, many small cells: no published cell below k, no line with
    /// one suppressed cell, and no suppressed cell pinned by linear programming.
    #[test]
    fn random_tables_leak_nothing(
        sizes in prop::collection::vec(2usize..5, 2..4),
        seed in prop::collection::vec(0u64..40, 64),
        k in 3u64..6,
    ) {
        let len: usize = sizes.iter().product();
        let counts: Vec<u64> = (0..len).map(|i| {
            let v = seed[i % seed.len()].wrapping_mul(i as u64 + 7) % 40;
            if v < 14 { v % 5 } else { v }
        }).collect();
        let problem = single(&sizes, &counts);
        let rule = DisclosureRule { k };
        let solved = problem.solve(rule).unwrap();
        for cell in solved.iter().flatten() {
            if cell.suppressed.is_none() {
                prop_assert!(!rule.is_primary(cell.value));
            }
        }
        prop_assert!(lines_hold_no_single(&problem, &solved));
        prop_assert!(exposed(&problem, &solved).is_empty());
    }
}
