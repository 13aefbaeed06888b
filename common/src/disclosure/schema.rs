//! The statistics schema as disclosure problems: the tables that share margins are
//! grouped into one problem of linked grids (the same people counted in two tables
//! must be protected in both), and the independent problems are solved through the
//! caller's [`Parallel`] runner, largest first.

use std::sync::OnceLock;

use super::parallel::Parallel;
use super::solver::{CellRef, Problem, SolvedCell, Sums};
use super::{DisclosureError, DisclosureRule};
use crate::statistics::{Grid, SchemaError, TableName};

/// The schema's tables after solving, and the sums if there were any.
pub(crate) struct SolvedSchema {
    pub tables: Vec<(TableName, Vec<SolvedCell>)>,
    pub sums: Vec<SolvedCell>,
}

/// Solves every table of the schema, given as grids whose first dimension is a unit:
/// a project for one kommun's statistics, or a kommun for a project's regional
/// tables. `sums`, if given, join the group of the `participants` table, with
/// `sum_links[u]` saying which sum equals unit `u`'s participants total. The
/// independent problems run through `parallel`.
pub(crate) fn solve_schema(
    grids: Vec<(TableName, Grid)>,
    units: usize,
    sums: Option<(Sums, Vec<usize>)>,
    rule: DisclosureRule,
    parallel: &dyn Parallel,
) -> Result<SolvedSchema, DisclosureError> {
    if rule.k == 0 {
        return Err(DisclosureError::ZeroThreshold);
    }
    let problems = schema_problems(grids, units, sums)?;
    let mut out = SolvedSchema {
        tables: Vec::new(),
        sums: Vec::new(),
    };
    for ((tables, _), solved) in problems.iter().zip(solve_all(&problems, rule, parallel)) {
        let mut solved = solved?;
        if solved.len() > tables.len() {
            out.sums = solved.pop().unwrap_or_default();
        }
        out.tables.extend(tables.iter().copied().zip(solved));
    }
    Ok(out)
}

/// The independent problems of [`solve_schema`]: one per group of linked tables.
pub(crate) fn schema_problems(
    mut grids: Vec<(TableName, Grid)>,
    units: usize,
    mut sums: Option<(Sums, Vec<usize>)>,
) -> Result<Vec<(&'static [TableName], Problem)>, DisclosureError> {
    let mut problems = Vec::new();
    for group in linked_groups(units) {
        let mut problem = Problem::default();
        for name in group.tables {
            let Some(at) = grids.iter().position(|(n, _)| n == name) else {
                return Err(DisclosureError::Schema(SchemaError::Tables {
                    found: grids.iter().map(|(n, _)| *n).collect(),
                }));
            };
            let (_, grid) = grids.swap_remove(at);
            let additive = name.dimensions().iter().map(|d| d.is_additive()).collect();
            problem.add_grid(grid, additive);
        }
        for link in group.links {
            problem.link(link[0].clone(), link[1].clone());
        }
        if group.tables == [TableName::Participants] {
            if let Some((s, links)) = sums.take() {
                problem.set_sums(s);
                for (unit, sum) in links.into_iter().enumerate() {
                    problem.link(
                        CellRef {
                            grid: 0,
                            coordinate: vec![Some(unit), None, None],
                        },
                        CellRef {
                            grid: 1,
                            coordinate: vec![Some(sum)],
                        },
                    );
                }
            }
        }
        problems.push((group.tables, problem));
    }
    Ok(problems)
}

type Solution = Result<Vec<Vec<SolvedCell>>, DisclosureError>;

/// Solves independent problems through `parallel`, largest first; the results come
/// back in the problems' order. A problem the runner did not solve (its thread died,
/// say) is solved here, on the calling thread, rather than lost.
fn solve_all<T: Sync>(
    problems: &[(T, Problem)],
    rule: DisclosureRule,
    parallel: &dyn Parallel,
) -> Vec<Solution> {
    let mut order: Vec<usize> = (0..problems.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(problems[*i].1.size()));
    let solved: Vec<OnceLock<Solution>> = problems.iter().map(|_| OnceLock::new()).collect();
    parallel.run(order.len(), &|job| {
        if let Some(&i) = order.get(job) {
            // A second call for the same job finds the slot taken and changes nothing.
            let _ = solved[i].get_or_init(|| problems[i].1.solve(rule));
        }
    });
    solved
        .into_iter()
        .zip(problems)
        .map(|(slot, (_, problem))| slot.into_inner().unwrap_or_else(|| problem.solve(rule)))
        .collect()
}

/// Tables that share margins, and the margins they share.
struct LinkedGroup {
    tables: &'static [TableName],
    links: Vec<[CellRef; 2]>,
}

/// The schema's tables grouped by shared margins. Within a group, grid `i` is
/// `tables[i]`; a link says two published cells hold the same people.
fn linked_groups(projects: usize) -> Vec<LinkedGroup> {
    let per_project = |f: &dyn Fn(usize) -> Vec<[CellRef; 2]>| (0..projects).flat_map(f).collect();
    let genders = crate::codes::Gender::ALL.len();
    let outcomes = crate::codes::Outcome::ALL.len();
    let cell = |grid, coordinate: Vec<Option<usize>>| CellRef { grid, coordinate };
    vec![
        LinkedGroup {
            tables: &[TableName::Participants],
            links: vec![],
        },
        LinkedGroup {
            // Entrants by project and gender are the same people in all three tables.
            tables: &[
                TableName::Entrants,
                TableName::EntryStatus,
                TableName::EntryEducation,
            ],
            links: per_project(&|p| {
                (0..genders)
                    .flat_map(|g| {
                        let at = |grid| cell(grid, vec![Some(p), Some(g), None]);
                        [[at(0), at(1)], [at(0), at(2)]]
                    })
                    .collect()
            }),
        },
        LinkedGroup {
            // Leavers by project and outcome appear in all three tables.
            tables: &[
                TableName::Leavers,
                TableName::Duration,
                TableName::OutcomeByBackground,
            ],
            links: per_project(&|p| {
                (0..outcomes)
                    .flat_map(|o| {
                        let leavers = cell(0, vec![Some(p), None, Some(o)]);
                        [
                            [leavers.clone(), cell(1, vec![Some(p), Some(o), None])],
                            [leavers, cell(2, vec![Some(p), Some(0), Some(o)])],
                        ]
                    })
                    .collect()
            }),
        },
        LinkedGroup {
            tables: &[TableName::Background],
            links: vec![],
        },
        LinkedGroup {
            tables: &[TableName::MonthlyActive],
            links: vec![],
        },
    ]
}
