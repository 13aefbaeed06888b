//! Disclosure control (DESIGN.md §6): what may leave the hub or be shown to a person.
//!
//! Primary suppression hides every cell with `0 < n < k`. Secondary suppression then
//! hides more cells until no suppressed cell can be derived exactly from the published
//! cells and totals, even across tables that share margins. The guarantee is checked
//! by linear algebra, not by a line-by-line rule: the published cells and totals are
//! linear equations over the unknown (suppressed) inner cells, and a suppressed cell
//! is safe only when its vector is outside the span of those equations (exact integer
//! Gaussian elimination). Only non-zero cells are chosen as secondary suppressions, so
//! every unknown inner cell is at least 1 and a linear-programming attacker using
//! non-negativity cannot pin a suppressed cell either: for a safe cell there is a
//! direction that keeps every published value and keeps all unknowns non-negative.
//!
//! The only way to get a [`Disclosed`] value is through this module.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::codes::KommunCode;
use crate::period::Period;
use crate::statistics::{Dimension, Grid, SchemaError, Statistics, TableName};

/// The default minimum published count.
pub const DEFAULT_K: u64 = 5;

/// The code used for a total along a dimension.
pub const TOTAL: &str = "total";

/// How many candidate cells are tried before a forced choice, per derivable cell.
const MAX_TRIES: usize = 48;

/// The threshold rule applied to every output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureRule {
    /// Cells with `0 < n < k` are suppressed.
    pub k: u64,
}

impl Default for DisclosureRule {
    fn default() -> Self {
        DisclosureRule { k: DEFAULT_K }
    }
}

impl DisclosureRule {
    /// One sentence saying what was done, for the head of every output.
    pub fn describe(&self) -> String {
        format!(
            "disclosure control: cells with 1 to {} people are suppressed (primary, k = {}); \
             further cells are suppressed so that no suppressed cell can be derived from the \
             published cells and totals (secondary, exact Gaussian elimination); `..` marks a \
             suppressed cell",
            self.k.saturating_sub(1),
            self.k
        )
    }

    /// Whether a count must be suppressed on its own.
    pub fn is_primary(&self, count: u64) -> bool {
        count > 0 && count < self.k
    }
}

/// Why a cell was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    /// Below the threshold.
    Primary,
    /// Hidden so that another suppressed cell cannot be derived.
    Secondary,
}

/// Proof that a value went through disclosure control; only this module makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Disclosed<T>(T);

impl<T> Disclosed<T> {
    /// The checked value.
    pub fn get(&self) -> &T {
        &self.0
    }
}

/// Why disclosure control could not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    /// The statistics do not follow the schema.
    #[error("statistics do not follow the schema: {0}")]
    Schema(#[from] SchemaError),
    /// The exact arithmetic overflowed (tables far larger than the schema makes).
    #[error("disclosure control arithmetic overflowed; the tables are too large to check")]
    Overflow,
    /// No further cell could be suppressed although a suppressed cell is still derivable.
    #[error("disclosure control found no way to protect a suppressed cell")]
    Unresolvable,
    /// A threshold of 0 was asked for.
    #[error("the threshold k must be at least 1")]
    ZeroThreshold,
}

/// One published cell: a key with `total` where summed over a dimension, and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedCell {
    /// One code per dimension, or `total`.
    pub key: Vec<String>,
    /// The count, if published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Why it was suppressed, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl PublishedCell {
    /// The cell as printed: the count, or `..`.
    pub fn display(&self) -> String {
        self.count
            .map_or_else(|| "..".to_owned(), |n| n.to_string())
    }
}

/// A table after disclosure control, totals included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTable {
    /// Which table.
    pub name: TableName,
    /// The dimensions, in key order.
    pub dimensions: Vec<Dimension>,
    /// Every cell and total, zeros included.
    pub cells: Vec<PublishedCell>,
}

/// A count of distinct people after disclosure control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedCount {
    /// What is counted.
    pub label: String,
    /// The count, if published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Why it was suppressed, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

/// A kommun's statistics as they may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedStatistics {
    /// The kommun.
    pub kommun: KommunCode,
    /// The period.
    pub period: Period,
    /// The rule applied.
    pub rule: DisclosureRule,
    /// What the rule means, in words.
    pub rule_text: String,
    /// Every table, totals included.
    pub tables: Vec<PublishedTable>,
    /// Distinct people per project (the sizes of the linkage sets).
    pub distinct_people: Vec<PublishedCount>,
}

/// Applies disclosure control to one kommun's statistics.
pub fn disclose(
    stats: &Statistics,
    rule: DisclosureRule,
) -> Result<Disclosed<PublishedStatistics>, DisclosureError> {
    if rule.k == 0 {
        return Err(DisclosureError::ZeroThreshold);
    }
    let mut tables = Vec::new();
    for group in linked_groups(stats.projects.len()) {
        let mut problem = Problem::default();
        for name in group.tables {
            let grid = stats.grid(*name)?;
            let additive = name.dimensions().iter().map(|d| d.is_additive()).collect();
            problem.add_grid(grid, additive);
        }
        for link in group.links {
            problem.link(link[0].clone(), link[1].clone());
        }
        let solved = problem.solve(rule)?;
        for (name, cells) in group.tables.iter().zip(solved) {
            tables.push(published_table(stats, *name, cells));
        }
    }
    tables.sort_by_key(|t| t.name);
    let distinct_people = stats
        .linkage_sets
        .iter()
        .map(|set| {
            published_count(
                set.project.as_str().to_owned(),
                set.pseudonyms.len() as u64,
                rule,
            )
        })
        .collect();
    Ok(Disclosed(PublishedStatistics {
        kommun: stats.kommun,
        period: stats.period,
        rule,
        rule_text: rule.describe(),
        tables,
        distinct_people,
    }))
}

/// A single count under the primary rule (distinct counts stand alone).
pub fn published_count(label: String, count: u64, rule: DisclosureRule) -> PublishedCount {
    let primary = rule.is_primary(count);
    PublishedCount {
        label,
        count: (!primary).then_some(count),
        suppressed: primary.then_some(Suppression::Primary),
    }
}

fn published_table(stats: &Statistics, name: TableName, cells: Vec<SolvedCell>) -> PublishedTable {
    let domains: Vec<Vec<String>> = name
        .dimensions()
        .iter()
        .map(|d| d.values(&stats.projects, &stats.period))
        .collect();
    let cells = cells
        .into_iter()
        .map(|cell| PublishedCell {
            key: cell
                .coordinate
                .iter()
                .zip(&domains)
                .map(|(c, d)| c.map_or(TOTAL.to_owned(), |i| d[i].clone()))
                .collect(),
            count: cell.suppressed.is_none().then_some(cell.value),
            suppressed: cell.suppressed,
        })
        .collect();
    PublishedTable {
        name,
        dimensions: name.dimensions().to_vec(),
        cells,
    }
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

/// A published cell of a grid: `None` is the total along that dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CellRef {
    /// Which grid of the problem.
    pub grid: usize,
    /// One entry per dimension; `None` is the total.
    pub coordinate: Vec<Option<usize>>,
}

/// One published cell after solving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolvedCell {
    /// Where it is.
    pub coordinate: Vec<Option<usize>>,
    /// Its true value.
    pub value: u64,
    /// Why it is hidden, if it is.
    pub suppressed: Option<Suppression>,
}

/// A set of grids (tables) with totals along their additive dimensions, and links
/// between cells of different grids that hold the same people.
#[derive(Debug, Default)]
pub struct Problem {
    grids: Vec<(Grid, Vec<bool>)>,
    links: Vec<[CellRef; 2]>,
}

/// A published cell inside the solver.
struct Node {
    grid: usize,
    coordinate: Vec<Option<usize>>,
    value: u64,
    /// Global ids of the inner cells this cell sums.
    members: Vec<u32>,
    /// Whether this is an inner cell (no totals in its coordinate).
    inner: bool,
}

impl Problem {
    /// Adds a grid; `additive[d]` says whether dimension `d` gets a total.
    pub fn add_grid(&mut self, grid: Grid, additive: Vec<bool>) {
        self.grids.push((grid, additive));
    }

    /// Declares that two published cells hold the same people.
    pub fn link(&mut self, a: CellRef, b: CellRef) {
        self.links.push([a, b]);
    }

    /// Suppresses cells; returns, per grid, every published cell in order.
    pub fn solve(&self, rule: DisclosureRule) -> Result<Vec<Vec<SolvedCell>>, DisclosureError> {
        let solver = Solver::new(self);
        let suppressed = solver.run(rule)?;
        let mut out: Vec<Vec<SolvedCell>> = vec![Vec::new(); self.grids.len()];
        for (node, state) in solver.nodes.iter().zip(suppressed) {
            out[node.grid].push(SolvedCell {
                coordinate: node.coordinate.clone(),
                value: node.value,
                suppressed: state,
            });
        }
        Ok(out)
    }
}

struct Solver {
    nodes: Vec<Node>,
    /// Lines: cells along one additive dimension with the others fixed; total last.
    lines: Vec<Vec<usize>>,
    /// For each node, the lines it lies on.
    lines_of: Vec<Vec<usize>>,
    /// Link equations as pairs of node ids.
    links: Vec<[usize; 2]>,
    /// Node id of each inner cell, by global inner id.
    inner_node: Vec<usize>,
}

impl Solver {
    fn new(problem: &Problem) -> Solver {
        let mut nodes = Vec::new();
        let mut lookup: HashMap<(usize, Vec<Option<usize>>), usize> = HashMap::new();
        let mut inner_offset = 0u32;
        let mut inner_node = Vec::new();
        for (g, (grid, additive)) in problem.grids.iter().enumerate() {
            for coordinate in published_coordinates(&grid.sizes, additive) {
                let members: Vec<u32> = inner_members(&grid.sizes, &coordinate)
                    .into_iter()
                    .map(|i| inner_offset + i as u32)
                    .collect();
                let value = members
                    .iter()
                    .map(|m| grid.counts[(m - inner_offset) as usize])
                    .sum();
                let inner = coordinate.iter().all(Option::is_some);
                lookup.insert((g, coordinate.clone()), nodes.len());
                nodes.push(Node {
                    grid: g,
                    coordinate,
                    value,
                    members,
                    inner,
                });
            }
            inner_node.resize(inner_offset as usize + grid.counts.len(), 0);
            inner_offset += grid.counts.len() as u32;
        }
        for (id, node) in nodes.iter().enumerate() {
            if node.inner {
                inner_node[node.members[0] as usize] = id;
            }
        }
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
        let mut lines_of = vec![Vec::new(); nodes.len()];
        for (l, line) in lines.iter().enumerate() {
            for &n in line {
                lines_of[n].push(l);
            }
        }
        let links = problem
            .links
            .iter()
            .filter_map(|[a, b]| {
                let a = lookup.get(&(a.grid, a.coordinate.clone()))?;
                let b = lookup.get(&(b.grid, b.coordinate.clone()))?;
                Some([*a, *b])
            })
            .collect();
        Solver {
            nodes,
            lines,
            lines_of,
            links,
            inner_node,
        }
    }

    fn run(&self, rule: DisclosureRule) -> Result<Vec<Option<Suppression>>, DisclosureError> {
        let mut state: Vec<Option<Suppression>> = self
            .nodes
            .iter()
            .map(|n| rule.is_primary(n.value).then_some(Suppression::Primary))
            .collect();
        if state.iter().all(Option::is_none) {
            return Ok(state);
        }
        self.protect_lines(&mut state);
        while let Some(exposed) = self.first_derivable(&state)? {
            self.protect(exposed, &mut state)?;
        }
        Ok(state)
    }

    /// Cheap first pass: no line may hold exactly one suppressed cell.
    fn protect_lines(&self, state: &mut [Option<Suppression>]) {
        let mut changed = true;
        while changed {
            changed = false;
            for line in &self.lines {
                if line.iter().filter(|n| state[**n].is_some()).count() != 1 {
                    continue;
                }
                let (members, total) = line.split_at(line.len() - 1);
                let pick = self
                    .cheapest(members.iter().copied(), state)
                    .or_else(|| self.cheapest(total.iter().copied(), state));
                if let Some(n) = pick {
                    state[n] = Some(Suppression::Secondary);
                    changed = true;
                }
            }
        }
    }

    /// The published non-zero cell with the smallest value among `candidates`.
    fn cheapest(
        &self,
        candidates: impl Iterator<Item = usize>,
        state: &[Option<Suppression>],
    ) -> Option<usize> {
        candidates
            .filter(|n| state[*n].is_none() && self.nodes[*n].value > 0)
            .min_by_key(|n| (self.nodes[*n].value, *n))
    }

    /// Suppresses one more cell so that `exposed` can no longer be derived, trying the
    /// cheapest nearby cells first.
    fn protect(
        &self,
        exposed: usize,
        state: &mut [Option<Suppression>],
    ) -> Result<(), DisclosureError> {
        let candidates = self.candidates(exposed, state);
        for &c in candidates.iter().take(MAX_TRIES) {
            state[c] = Some(Suppression::Secondary);
            if !self.is_derivable(exposed, state)? {
                return Ok(());
            }
            state[c] = None;
        }
        let &forced = candidates.first().ok_or(DisclosureError::Unresolvable)?;
        state[forced] = Some(Suppression::Secondary);
        Ok(())
    }

    /// Published non-zero cells, nearest to `n` first: on its lines (inner before totals),
    /// then its grid, then anywhere; each group cheapest first.
    fn candidates(&self, n: usize, state: &[Option<Suppression>]) -> Vec<usize> {
        let order = |ids: &mut Vec<usize>| {
            ids.retain(|c| state[*c].is_none() && self.nodes[*c].value > 0);
            ids.sort_by_key(|c| (!self.nodes[*c].inner, self.nodes[*c].value, *c));
            ids.dedup();
        };
        let mut near: Vec<usize> = self.lines_of[n]
            .iter()
            .flat_map(|l| self.lines[*l].iter().copied())
            .collect();
        near.extend(
            self.nodes[n]
                .members
                .iter()
                .map(|m| self.inner_node[*m as usize]),
        );
        order(&mut near);
        let grid = self.nodes[n].grid;
        let mut same_grid: Vec<usize> = (0..self.nodes.len())
            .filter(|c| self.nodes[*c].grid == grid)
            .collect();
        order(&mut same_grid);
        let mut anywhere: Vec<usize> = (0..self.nodes.len()).collect();
        order(&mut anywhere);
        let mut seen = vec![false; self.nodes.len()];
        near.into_iter()
            .chain(same_grid)
            .chain(anywhere)
            .filter(|c| !std::mem::replace(&mut seen[*c], true))
            .collect()
    }

    /// The first suppressed cell that the published cells determine exactly.
    fn first_derivable(
        &self,
        state: &[Option<Suppression>],
    ) -> Result<Option<usize>, DisclosureError> {
        let system = self.system(state)?;
        for (id, s) in state.iter().enumerate() {
            if s.is_some() && system.determines(&self.nodes[id].members)? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    fn is_derivable(
        &self,
        id: usize,
        state: &[Option<Suppression>],
    ) -> Result<bool, DisclosureError> {
        self.system(state)?.determines(&self.nodes[id].members)
    }

    /// The published equations over the unknown (suppressed) inner cells.
    fn system(&self, state: &[Option<Suppression>]) -> Result<System, DisclosureError> {
        let mut column: HashMap<u32, u32> = HashMap::new();
        for (id, node) in self.nodes.iter().enumerate() {
            if node.inner && state[id].is_some() {
                let next = column.len() as u32;
                column.insert(node.members[0], next);
            }
        }
        let restrict = |members: &[u32], sign: i128, row: &mut Vec<(u32, i128)>| {
            row.extend(
                members
                    .iter()
                    .filter_map(|m| column.get(m).map(|c| (*c, sign))),
            );
        };
        let mut equations = Vec::new();
        for (id, node) in self.nodes.iter().enumerate() {
            if !node.inner && state[id].is_none() {
                let mut row = Vec::new();
                restrict(&node.members, 1, &mut row);
                equations.push(row);
            }
        }
        for [a, b] in &self.links {
            let mut row = Vec::new();
            restrict(&self.nodes[*a].members, 1, &mut row);
            restrict(&self.nodes[*b].members, -1, &mut row);
            equations.push(row);
        }
        let mut system = System {
            column,
            basis: std::collections::BTreeMap::new(),
        };
        for row in equations {
            system.insert(canonical(row))?;
        }
        Ok(system)
    }
}

/// A row-echelon basis of the published equations, over unknown columns.
struct System {
    column: HashMap<u32, u32>,
    /// Rows keyed by their leading column; each row is sorted, non-zero, gcd 1.
    basis: std::collections::BTreeMap<u32, Vec<(u32, i128)>>,
}

impl System {
    fn insert(&mut self, row: Vec<(u32, i128)>) -> Result<(), DisclosureError> {
        let reduced = self.reduce(row)?;
        if let Some(&(lead, _)) = reduced.first() {
            self.basis.insert(lead, reduced);
        }
        Ok(())
    }

    fn reduce(&self, mut row: Vec<(u32, i128)>) -> Result<Vec<(u32, i128)>, DisclosureError> {
        let mut from = 0;
        while let Some(position) = row.iter().position(|(c, _)| *c >= from) {
            let (lead, a) = row[position];
            match self.basis.get(&lead) {
                Some(pivot) => {
                    row = combine(&row, pivot[0].1, pivot, a)?;
                }
                None => from = lead + 1,
            }
        }
        Ok(normalize(row))
    }

    /// Whether the sum of these inner cells is determined by the published equations.
    fn determines(&self, members: &[u32]) -> Result<bool, DisclosureError> {
        let row: Vec<(u32, i128)> = members
            .iter()
            .filter_map(|m| self.column.get(m).map(|c| (*c, 1)))
            .collect();
        Ok(row.is_empty() || self.reduce(canonical(row))?.is_empty())
    }
}

/// Sorts by column and adds up repeated columns, dropping zeros.
fn canonical(mut row: Vec<(u32, i128)>) -> Vec<(u32, i128)> {
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
    let g = row.iter().fold(0i128, |g, (_, v)| gcd(g, v.abs()));
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

/// Every published coordinate: each additive dimension also takes `None` (total).
fn published_coordinates(sizes: &[usize], additive: &[bool]) -> Vec<Vec<Option<usize>>> {
    let mut out = vec![Vec::new()];
    for (size, add) in sizes.iter().zip(additive) {
        let values: Vec<Option<usize>> = (0..*size).map(Some).chain(add.then_some(None)).collect();
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push(*v);
                    c
                })
            })
            .collect();
    }
    out
}

/// Flat indices of the inner cells a published coordinate sums.
fn inner_members(sizes: &[usize], coordinate: &[Option<usize>]) -> Vec<usize> {
    let mut out = vec![0usize];
    for (size, c) in sizes.iter().zip(coordinate) {
        let values: Vec<usize> = match c {
            Some(v) => vec![*v],
            None => (0..*size).collect(),
        };
        out = out
            .into_iter()
            .flat_map(|prefix| values.iter().map(move |v| prefix * size + v))
            .collect();
    }
    out
}

#[cfg(test)]
mod tests;
