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
//!
//! The work is split by concept: `schema` turns the statistics schema's tables into
//! independent problems of linked grids, `solver` decides each problem's cells,
//! `elimination` is the exact integer linear algebra the solver decides with, and
//! `grid` enumerates a grid's published cells. The caller owns the threads: the
//! independent problems are handed to a [`Parallel`] runner it passes in, so this
//! crate starts none.

use serde::{Deserialize, Serialize};

use crate::codes::KommunCode;
use crate::period::Period;
use crate::statistics::{Dimension, SchemaError, Statistics, TableName};

pub mod cell_key;
mod elimination;
mod grid;
mod parallel;
pub mod regional;
mod schema;
mod solver;

pub use parallel::{Parallel, Sequential};
#[cfg(test)]
pub(crate) use schema::schema_problems;
pub(crate) use schema::solve_schema;
pub use solver::{CellRef, Problem, SolvedCell, Sums};

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
    #[error("statistics do not follow the schema")]
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

/// How every output prints a figure withheld by disclosure control (SCB's `..`).
pub const SUPPRESSED: &str = "..";

impl PublishedCell {
    /// The cell as printed: the count, or [`SUPPRESSED`].
    pub fn display(&self) -> String {
        self.count
            .map_or_else(|| SUPPRESSED.to_owned(), |n| n.to_string())
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Set when the cell key method protected the figures instead of suppression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_key: Option<cell_key::CellKeyMethodInfo>,
}

/// Applies disclosure control to one kommun's statistics; the independent problems
/// run through `parallel`.
pub fn disclose(
    stats: &Statistics,
    rule: DisclosureRule,
    parallel: &dyn Parallel,
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
    let solved = solve_schema(
        grids,
        stats.projects.len(),
        Some((sums, links)),
        rule,
        parallel,
    )?;
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
        cell_key: None,
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

#[cfg(test)]
mod tests;
