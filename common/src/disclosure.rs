//! Disclosure control (DESIGN.md §6): what may leave the hub or be shown to a person.
//!
//! Primary suppression hides every cell with `0 < n < k`. Secondary suppression then
//! hides more cells until no suppressed cell can be derived exactly from the published
//! cells and totals, even across tables that share margins. The guarantee is linear
//! algebra, not a line-by-line rule: every published cell and total is an equation
//! over the inner cells, and a suppressed cell is safe only when its vector is outside
//! the span of those equations. In the manner of Statistics Norway's GaussSuppression,
//! cells are offered for publication one at a time in order of preference, with exact
//! integer Gaussian elimination deciding each (see `Solver::run`), and the result is
//! checked once more from scratch. Zero cells are always published, so every unknown
//! inner cell is at least 1 and a linear-programming attacker using non-negativity
//! cannot pin a suppressed cell either: for a safe cell there is a direction that
//! keeps every published value and keeps all unknowns non-negative.
//!
//! The only way to get a [`Disclosed`] value is through this module.

// The solver's maps are keyed by column numbers and residual rows it makes itself, so
// a fast non-keyed hash is safe here, and it is a large share of the work.
use rustc_hash::FxHashMap as HashMap;

use serde::{Deserialize, Serialize};

use crate::codes::KommunCode;
use crate::period::Period;
use crate::statistics::{Dimension, Grid, SchemaError, Statistics, TableName};

pub mod regional;

/// The default minimum published count.
pub const DEFAULT_K: u64 = 5;

/// The code used for a total along a dimension.
pub const TOTAL: &str = "total";

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

impl PublishedTable {
    /// The cell with exactly this key (codes, `total` where summed).
    pub fn cell(&self, key: &[&str]) -> Option<&PublishedCell> {
        self.cells
            .iter()
            .find(|c| c.key.len() == key.len() && c.key.iter().zip(key).all(|(a, b)| a == b))
    }

    /// The published count at this key; `None` if suppressed or absent.
    pub fn count(&self, key: &[&str]) -> Option<u64> {
        self.cell(key).and_then(|c| c.count)
    }
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
    let mut grids = Vec::new();
    for name in TableName::ALL {
        grids.push((*name, stats.grid(*name)?));
    }
    // Distinct people per project are the linkage sets' sizes; each is linked to its
    // project's participants total so that the two are suppressed alike.
    let sizes: Vec<u64> = stats
        .projects
        .iter()
        .map(|p| {
            stats
                .linkage_sets
                .iter()
                .find(|s| &s.project == p)
                .map_or(0, |s| s.pseudonyms.len() as u64)
        })
        .collect();
    let sums = Sums {
        sums: (0..sizes.len()).map(|p| vec![p]).collect(),
        atoms: sizes,
        preferred: Vec::new(),
    };
    let links = (0..stats.projects.len()).collect();
    let solved = solve_schema(grids, stats.projects.len(), Some((sums, links)), rule)?;
    let domains = |d: Dimension| d.values(&stats.projects, &stats.period);
    let mut tables: Vec<PublishedTable> = solved
        .tables
        .into_iter()
        .map(|(name, cells)| published_table(name, name.dimensions().to_vec(), &domains, cells))
        .collect();
    tables.sort_by_key(|t| t.name);
    let distinct_people = stats
        .projects
        .iter()
        .zip(solved.sums)
        .map(|(project, cell)| published_sum(project.as_str().to_owned(), cell))
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

/// A solved sum as a published count.
pub(crate) fn published_sum(label: String, cell: SolvedCell) -> PublishedCount {
    PublishedCount {
        label,
        count: cell.suppressed.is_none().then_some(cell.value),
        suppressed: cell.suppressed,
    }
}

/// Solved cells as a published table: coordinates become codes, `total` where summed.
pub(crate) fn published_table(
    name: TableName,
    dimensions: Vec<Dimension>,
    domains: &dyn Fn(Dimension) -> Vec<String>,
    cells: Vec<SolvedCell>,
) -> PublishedTable {
    let codes: Vec<Vec<String>> = dimensions.iter().map(|d| domains(*d)).collect();
    let cells = cells
        .into_iter()
        .map(|cell| PublishedCell {
            key: cell
                .coordinate
                .iter()
                .zip(&codes)
                .map(|(c, d)| c.map_or(TOTAL.to_owned(), |i| d[i].clone()))
                .collect(),
            count: cell.suppressed.is_none().then_some(cell.value),
            suppressed: cell.suppressed,
        })
        .collect();
    PublishedTable {
        name,
        dimensions,
        cells,
    }
}

/// Counts of people over "atoms" (groups of people no output shows, such as the
/// people in exactly one set of kommuner), and the published sums over them.
#[derive(Debug, Clone, Default)]
pub struct Sums {
    /// The size of each atom; every one is at least 1.
    pub atoms: Vec<u64>,
    /// Each published sum, as the atoms it adds up.
    pub sums: Vec<Vec<usize>>,
    /// Sums to publish before any table cell when they cannot all be published
    /// (the headline figure, say: distinct people in a project).
    pub preferred: Vec<usize>,
}

/// The schema's tables after solving, and the sums if there were any.
pub(crate) struct SolvedSchema {
    pub tables: Vec<(TableName, Vec<SolvedCell>)>,
    pub sums: Vec<SolvedCell>,
}

/// Solves every table of the schema, given as grids whose first dimension is a unit:
/// a project for one kommun's statistics, or a kommun for a project's regional
/// tables. `sums`, if given, join the group of the `participants` table, with
/// `sum_links[u]` saying which sum equals unit `u`'s participants total.
pub(crate) fn solve_schema(
    grids: Vec<(TableName, Grid)>,
    units: usize,
    sums: Option<(Sums, Vec<usize>)>,
    rule: DisclosureRule,
) -> Result<SolvedSchema, DisclosureError> {
    if rule.k == 0 {
        return Err(DisclosureError::ZeroThreshold);
    }
    let problems = schema_problems(grids, units, sums)?;
    let mut out = SolvedSchema {
        tables: Vec::new(),
        sums: Vec::new(),
    };
    for ((tables, _), solved) in problems.iter().zip(solve_all(&problems, rule)) {
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

/// Solves independent problems on up to as many threads as the machine has cores,
/// largest first; the results come back in the problems' order.
fn solve_all<T: Sync>(problems: &[(T, Problem)], rule: DisclosureRule) -> Vec<Solution> {
    let mut order: Vec<usize> = (0..problems.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(problems[*i].1.size()));
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(problems.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = order.get(at) else {
                return done;
            };
            done.push((i, problems[i].1.solve(rule)));
        }
    };
    let mut results: Vec<(usize, Solution)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for helper in helpers {
            // A helper that panicked leaves its problems unsolved; they are solved
            // again below rather than lost.
            all.extend(helper.join().unwrap_or_default());
        }
        all
    });
    results.sort_by_key(|(i, _)| *i);
    (0..problems.len())
        .map(|i| match results.binary_search_by_key(&i, |(j, _)| *j) {
            Ok(at) => std::mem::replace(&mut results[at].1, Ok(Vec::new())),
            Err(_) => problems[i].1.solve(rule),
        })
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
    sums: Option<Sums>,
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
    /// Offered for publication before every other non-zero cell.
    preferred: bool,
}

impl Problem {
    /// The number of inner cells, a measure of the work to solve it.
    fn size(&self) -> usize {
        self.grids.iter().map(|(g, _)| g.counts.len()).sum()
    }

    /// Adds a grid; `additive[d]` says whether dimension `d` gets a total.
    pub fn add_grid(&mut self, grid: Grid, additive: Vec<bool>) {
        self.grids.push((grid, additive));
    }

    /// Adds sums over atoms, published like cells of one more grid (after every grid
    /// added so far): sum `i` is that grid's cell `[Some(i)]`. Atoms are never published.
    pub fn set_sums(&mut self, sums: Sums) {
        self.sums = Some(sums);
    }

    /// Declares that two published cells hold the same people.
    pub fn link(&mut self, a: CellRef, b: CellRef) {
        self.links.push([a, b]);
    }

    /// Suppresses cells; returns, per grid, every published cell in order.
    pub fn solve(&self, rule: DisclosureRule) -> Result<Vec<Vec<SolvedCell>>, DisclosureError> {
        let solver = Solver::new(self);
        let suppressed = solver.run(rule)?;
        let grids = self.grids.len() + usize::from(self.sums.is_some());
        let mut out: Vec<Vec<SolvedCell>> = vec![Vec::new(); grids];
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
    /// Link equations as pairs of node ids.
    links: Vec<[usize; 2]>,
    /// Ids of the unknowns that are never published (atoms of the sums).
    atoms: Vec<u32>,
}

impl Solver {
    fn new(problem: &Problem) -> Solver {
        let mut nodes = Vec::new();
        let mut lookup: HashMap<(usize, Vec<Option<usize>>), usize> = HashMap::default();
        let mut inner_offset = 0u32;
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
                    preferred: false,
                });
            }
            inner_offset += grid.counts.len() as u32;
        }
        let mut atoms = Vec::new();
        if let Some(sums) = &problem.sums {
            let g = problem.grids.len();
            atoms = (0..sums.atoms.len() as u32)
                .map(|a| inner_offset + a)
                .collect();
            for (i, sum) in sums.sums.iter().enumerate() {
                let coordinate = vec![Some(i)];
                lookup.insert((g, coordinate.clone()), nodes.len());
                nodes.push(Node {
                    grid: g,
                    coordinate,
                    value: sum.iter().filter_map(|a| sums.atoms.get(*a)).sum(),
                    members: sum.iter().map(|a| atoms[*a]).collect(),
                    inner: false,
                    preferred: sums.preferred.contains(&i),
                });
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
            links,
            atoms,
        }
    }

    /// Decides every cell in one pass. Primary cells start suppressed. The other cells
    /// are offered for publication in order of preference (zeros, then totals, then
    /// inner cells from the largest down); a cell is published unless publishing it
    /// would make some suppressed cell derivable, in which case it is suppressed too.
    ///
    /// The published cells are kept as a row-echelon basis over the inner cells, and
    /// every suppressed cell as its residual against that basis (never zero: that is
    /// the invariant). Publishing a cell adds one equation; a suppressed cell becomes
    /// derivable exactly when its residual is a multiple of the new equation's
    /// residual, which a lookup of canonical residuals answers. Each cell is decided
    /// once, so the work grows with the table, not with rounds of repair.
    fn run(&self, rule: DisclosureRule) -> Result<Vec<Option<Suppression>>, DisclosureError> {
        let mut state: Vec<Option<Suppression>> = self
            .nodes
            .iter()
            .map(|n| rule.is_primary(n.value).then_some(Suppression::Primary))
            .collect();
        if state.iter().all(Option::is_none) {
            return Ok(state);
        }
        let order = self.publication_order(&state);
        let label = self.column_labels(&order);
        let mut system = System::default();
        for [a, b] in &self.links {
            let mut row: Vec<(u32, i128)> = self.nodes[*a]
                .members
                .iter()
                .map(|m| (label[*m as usize], 1))
                .collect();
            row.extend(
                self.nodes[*b]
                    .members
                    .iter()
                    .map(|m| (label[*m as usize], -1)),
            );
            system.insert(canonical(row))?;
        }
        let mut hidden = Hidden::default();
        for (id, s) in state.iter().enumerate() {
            if s.is_some() {
                let residual = system.reduce(self.row(id, &label))?;
                if residual.is_empty() {
                    return Err(DisclosureError::Unresolvable);
                }
                hidden.add(id, residual);
            }
        }
        for c in order {
            let residual = system.reduce(self.row(c, &label))?;
            if residual.is_empty() {
                continue;
            }
            if hidden.contains(&residual) {
                state[c] = Some(Suppression::Secondary);
                hidden.add(c, residual);
                continue;
            }
            hidden.eliminate(&residual)?;
            system.insert_reduced(residual);
        }
        // Belt and braces: check the result from scratch, as an attacker's algebra would.
        if self.first_derivable(&state)?.is_some() {
            return Err(DisclosureError::Unresolvable);
        }
        Ok(state)
    }

    /// A published cell as an equation over the inner cells, in the column order of
    /// `label`.
    fn row(&self, id: usize, label: &[u32]) -> Vec<(u32, i128)> {
        canonical(
            self.nodes[id]
                .members
                .iter()
                .map(|m| (label[*m as usize], 1))
                .collect(),
        )
    }

    /// A column order for the elimination that keeps its rows short. Decisions do not
    /// depend on it (a cell is derivable or not whatever the basis looks like), but the
    /// work does: a basis row's lead is its lowest column, and a total over the first
    /// dimension (a regional total over kommuner) leads in the lowest unit. Giving the
    /// units whose cells are offered first the highest columns means each such total
    /// is reduced against units already in the basis in one sweep, instead of
    /// cascading through every unit each time a unit's own totals arrive. Atoms come
    /// last, so sums never lead the links that tie them to table cells.
    fn column_labels(&self, order: &[usize]) -> Vec<u32> {
        let mut first: HashMap<usize, usize> = HashMap::default();
        for (position, id) in order.iter().enumerate() {
            let node = &self.nodes[*id];
            if let Some(Some(unit)) = node.coordinate.first().filter(|_| !is_sum(self, node)) {
                first.entry(*unit).or_insert(position);
            }
        }
        let mut inner: Vec<(std::cmp::Reverse<usize>, usize, u32)> = self
            .nodes
            .iter()
            .filter(|n| n.inner)
            .map(|n| {
                let unit = n.coordinate.first().copied().flatten().unwrap_or(0);
                let rank = first.get(&unit).copied().unwrap_or(usize::MAX);
                (std::cmp::Reverse(rank), n.grid, n.members[0])
            })
            .collect();
        inner.sort_unstable();
        let size = inner.len() + self.atoms.len();
        let mut label = vec![0u32; size];
        for (new, (_, _, old)) in inner
            .iter()
            .chain(
                self.atoms
                    .iter()
                    .map(|a| (std::cmp::Reverse(0), 0, *a))
                    .collect::<Vec<_>>()
                    .iter(),
            )
            .enumerate()
        {
            if let Some(slot) = label.get_mut(*old as usize) {
                *slot = new as u32;
            }
        }
        label
    }

    /// The cells not yet suppressed, most preferred for publication first: zeros (so
    /// every unknown an attacker faces is at least 1), preferred sums, totals and
    /// other sums (largest first), then inner cells from the largest to the smallest.
    fn publication_order(&self, state: &[Option<Suppression>]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.nodes.len())
            .filter(|c| state[*c].is_none())
            .collect();
        order.sort_by_key(|c| {
            let n = &self.nodes[*c];
            (
                n.value != 0,
                !n.preferred,
                n.inner,
                std::cmp::Reverse(n.value),
                *c,
            )
        });
        order
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

    /// The published equations over the unknown (suppressed) inner cells.
    fn system(&self, state: &[Option<Suppression>]) -> Result<System, DisclosureError> {
        let mut column: HashMap<u32, u32> = HashMap::default();
        for (id, node) in self.nodes.iter().enumerate() {
            if node.inner && state[id].is_some() {
                let next = column.len() as u32;
                column.insert(node.members[0], next);
            }
        }
        for atom in &self.atoms {
            let next = column.len() as u32;
            column.insert(*atom, next);
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

/// Rows longer than this are reduced in a sparse accumulator.
const LONG_ROW: usize = 64;

/// Whether a node is a sum over atoms.
fn is_sum(solver: &Solver, node: &Node) -> bool {
    node.members
        .first()
        .is_some_and(|m| solver.atoms.binary_search(m).is_ok())
}

/// A row-echelon basis of the published equations, over unknown columns.
#[derive(Default)]
struct System {
    column: HashMap<u32, u32>,
    /// Rows keyed by their leading column; each row is sorted, non-zero, gcd 1.
    basis: std::collections::BTreeMap<u32, Vec<(u32, i128)>>,
}

impl System {
    /// Adds a row that is already reduced against the basis (and not empty).
    fn insert_reduced(&mut self, row: Vec<(u32, i128)>) {
        if let Some(&(lead, _)) = row.first() {
            self.basis.insert(lead, row);
        }
    }

    fn insert(&mut self, row: Vec<(u32, i128)>) -> Result<(), DisclosureError> {
        let reduced = self.reduce(row)?;
        if let Some(&(lead, _)) = reduced.first() {
            self.basis.insert(lead, reduced);
        }
        Ok(())
    }

    fn reduce(&self, mut row: Vec<(u32, i128)>) -> Result<Vec<(u32, i128)>, DisclosureError> {
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
    fn determines(&self, members: &[u32]) -> Result<bool, DisclosureError> {
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
struct Hidden {
    residuals: Vec<(usize, Vec<(u32, i128)>)>,
    index: HashMap<Vec<(u32, i128)>, usize>,
}

impl Hidden {
    fn add(&mut self, id: usize, residual: Vec<(u32, i128)>) {
        *self.index.entry(residual.clone()).or_default() += 1;
        self.residuals.push((id, residual));
    }

    /// Whether a suppressed residual is a multiple of `row` (both canonical).
    fn contains(&self, row: &[(u32, i128)]) -> bool {
        self.index.contains_key(row)
    }

    /// Eliminates the leading column of a newly published (reduced) row from every
    /// suppressed residual. None becomes zero: the caller checked [`Hidden::contains`].
    fn eliminate(&mut self, pivot: &[(u32, i128)]) -> Result<(), DisclosureError> {
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
