//! The solver of one disclosure problem: a set of grids with totals along their
//! additive dimensions, links between cells that hold the same people, and sums over
//! atoms. Primary cells start suppressed; every other cell is offered for publication
//! in order of preference and published unless that would make a suppressed cell
//! derivable (see [`Solver::run`]). The algebra is in `elimination`.

// The solver's maps are keyed by column numbers and residual rows it makes itself, so
// a fast non-keyed hash is safe here, and it is a large share of the work.
use rustc_hash::FxHashMap as HashMap;

use super::elimination::{canonical, Hidden, System};
use super::grid::{inner_members, published_coordinates};
use super::{DisclosureError, DisclosureRule, Suppression};
use crate::statistics::Grid;

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
    pub(super) grids: Vec<(Grid, Vec<bool>)>,
    pub(super) links: Vec<[CellRef; 2]>,
    pub(super) sums: Option<Sums>,
}

/// A published cell inside the solver.
pub(super) struct Node {
    pub(super) grid: usize,
    pub(super) coordinate: Vec<Option<usize>>,
    pub(super) value: u64,
    /// Global ids of the inner cells this cell sums.
    members: Vec<u32>,
    /// Whether this is an inner cell (no totals in its coordinate).
    inner: bool,
    /// Offered for publication before every other non-zero cell.
    preferred: bool,
}

impl Problem {
    /// The number of inner cells, a measure of the work to solve it.
    pub(super) fn size(&self) -> usize {
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

/// One problem's published cells as nodes over global inner-cell ids, ready to decide.
pub(super) struct Solver {
    pub(super) nodes: Vec<Node>,
    /// Link equations as pairs of node ids.
    links: Vec<[usize; 2]>,
    /// Ids of the unknowns that are never published (atoms of the sums).
    atoms: Vec<u32>,
}

impl Solver {
    pub(super) fn new(problem: &Problem) -> Solver {
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
    pub(super) fn first_derivable(
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

/// Whether a node is a sum over atoms.
fn is_sum(solver: &Solver, node: &Node) -> bool {
    node.members
        .first()
        .is_some_and(|m| solver.atoms.binary_search(m).is_ok())
}
