//! The cell key method applied to whole outputs (docs/cell-key.md): a kommun's own
//! tables (what `preview` shows) and a project's regional tables, distinct counts and
//! overlaps. Every cell and total is published, each moved by the noise its true count
//! and its cell key select in the perturbation table; nothing is suppressed.
//!
//! Keys: an inner cell's key is the one the node sent; a total's, or a regional cell's,
//! is the sum of the keys of the inner cells it adds up, so it is the same however the
//! cell is put together. A kommun's distinct count takes the key of its participants
//! total; regional distinct counts and overlaps take the sum of their pseudonyms'
//! public keys ([`CellKey::of_pseudonyms`]).
//!
//! Sans-IO and pure: the same statistics and table always give the same output.

use serde::{Deserialize, Serialize};

use super::grid::{inner_members, published_coordinates};
use super::regional::{atoms, regional_grid, RegionalError, RegionalInput, RegionalReport};
use super::{
    Disclosed, DisclosureError, DisclosureRule, PublishedCount, PublishedStatistics,
    PublishedTable, SolvedCell,
};
use crate::cell_key::{perturb, CellKey, Ptable, PtableError, PtableParams};
use crate::codes::KommunCode;
use crate::statistics::{Dimension, Grid, SchemaError, Statistics, TableName, SCHEMA_VERSION_V1};

/// How an output was protected under the cell key method, for it to say so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellKeyMethodInfo {
    /// The table's parameters.
    pub params: PtableParams,
    /// The table's fingerprint, hex.
    pub fingerprint: String,
}

impl CellKeyMethodInfo {
    /// The method as `table` applies it.
    pub fn of(table: &Ptable) -> CellKeyMethodInfo {
        CellKeyMethodInfo {
            params: table.params(),
            fingerprint: table.fingerprint().to_string(),
        }
    }

    /// What was done, in words (English; outputs have their own labels).
    pub fn describe(&self) -> String {
        let p = self.params;
        format!(
            "Cell key method: every cell and total is published, moved by at most {} \
             (variance {}); zeros stay zero; no published count is in 1..={} (none if 0). \
             The same people give the same value in every output. Parts need not add up \
             to totals; shares and targets are computed from the published counts. \
             Perturbation table {}.",
            p.max_noise, p.variance, p.js, self.fingerprint
        )
    }
}

/// A config's `[disclosure]` settings (hub and node read the same ones).
#[derive(Debug, Clone, Copy, Default)]
pub struct DisclosureSettings<'a> {
    /// `method`: `"suppression"` (the default) or `"cell-key"`.
    pub method: Option<&'a str>,
    /// `k`, suppression's threshold.
    pub k: Option<u64>,
    /// `max_noise`, the cell key method's D.
    pub max_noise: Option<u32>,
    /// `variance`, the cell key method's V.
    pub variance: Option<f64>,
    /// `js`: no published count in `1..=js`.
    pub js: Option<u32>,
}

/// A `[disclosure]` setting that is wrong: which key, and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("[disclosure] {message}")]
pub struct SettingError {
    /// The key at fault, as a dotted path (`disclosure.variance`), for configs that name
    /// keys that way.
    pub key: &'static str,
    /// What is wrong and what to do, naming the key.
    pub message: String,
}

impl SettingError {
    fn new(key: &'static str, message: impl Into<String>) -> SettingError {
        SettingError {
            key,
            message: message.into(),
        }
    }

    /// The setting a perturbation table's error is about: the one its message tells
    /// the reader to change first.
    fn of_ptable(e: PtableError) -> SettingError {
        let key = match e {
            PtableError::MaxNoise { .. } | PtableError::NoVariance { .. } => "disclosure.max_noise",
            PtableError::JsTooLarge { .. } => "disclosure.js",
            PtableError::Variance { .. }
            | PtableError::VarianceTooSmall { .. }
            | PtableError::VarianceTooLarge { .. }
            | PtableError::Solver { .. } => "disclosure.variance",
        };
        SettingError::new(key, e.to_string())
    }
}

impl DisclosureSettings<'_> {
    /// The perturbation table if the method is the cell key method, `None` for
    /// suppression; or the setting that is wrong and what to do.
    pub fn cell_key(&self) -> Result<Option<Ptable>, SettingError> {
        let ckm_only = [
            ("disclosure.max_noise", self.max_noise.is_some()),
            ("disclosure.variance", self.variance.is_some()),
            ("disclosure.js", self.js.is_some()),
        ]
        .into_iter()
        .find(|(_, set)| *set);
        match self.method {
            None | Some("suppression") => {
                if let Some((key, _)) = ckm_only {
                    return Err(SettingError::new(key, "max_noise, variance and js belong to method = \"cell-key\"; set that method or remove them"));
                }
                Ok(None)
            }
            Some("cell-key") => {
                if self.k.is_some() {
                    return Err(SettingError::new("disclosure.k", "k belongs to method = \"suppression\"; remove it for method = \"cell-key\""));
                }
                let defaults = PtableParams::default();
                let params = PtableParams {
                    max_noise: self.max_noise.unwrap_or(defaults.max_noise),
                    variance: self.variance.unwrap_or(defaults.variance),
                    js: self.js.unwrap_or(defaults.js),
                };
                Ptable::new(params)
                    .map(Some)
                    .map_err(SettingError::of_ptable)
            }
            Some(other) => Err(SettingError::new("disclosure.method", format!(
                "method = {other:?} is not a method; use \"suppression\" (the default) or \"cell-key\""
            ))),
        }
    }
}

/// Why an output could not be perturbed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CellKeyError {
    /// The statistics do not follow the schema.
    #[error("statistics do not follow the schema")]
    Schema(#[from] SchemaError),
    /// A submission of schema v1 carries no cell keys.
    #[error(
        "the submission of kommun {kommun} is of statistics schema v1 and carries no cell keys; \
         the kommun must submit again with a current samla-node before a report can use the cell key method"
    )]
    NoCellKeys {
        /// The kommun.
        kommun: KommunCode,
    },
    /// The regional tables could not be built.
    #[error(transparent)]
    Regional(#[from] RegionalError),
}

impl From<DisclosureError> for CellKeyError {
    fn from(e: DisclosureError) -> CellKeyError {
        CellKeyError::Regional(RegionalError::Disclosure(e))
    }
}

/// A table's cell keys in the layout of [`Statistics::grid`].
pub fn key_grid(stats: &Statistics, name: TableName) -> Result<Vec<CellKey>, CellKeyError> {
    if stats.schema_version == SCHEMA_VERSION_V1 {
        return Err(CellKeyError::NoCellKeys {
            kommun: stats.kommun,
        });
    }
    let domains: Vec<Vec<String>> = name
        .dimensions()
        .iter()
        .map(|d| d.values(&stats.projects, &stats.period))
        .collect();
    let sizes: Vec<usize> = domains.iter().map(Vec::len).collect();
    let shape = Grid::zeros(sizes);
    let mut keys = vec![CellKey::EMPTY; shape.counts.len()];
    let table = stats.table(name).ok_or_else(|| SchemaError::Tables {
        found: stats.tables.iter().map(|t| t.name).collect(),
    })?;
    for (position, cell) in table.cells.iter().enumerate() {
        let coordinate: Option<Vec<usize>> = cell
            .key
            .iter()
            .zip(&domains)
            .map(|(v, d)| d.iter().position(|x| x == v))
            .collect();
        match coordinate {
            Some(c) if c.len() == domains.len() => keys[shape.index(&c)] = cell.cell_key,
            _ => {
                return Err(CellKeyError::Schema(SchemaError::Cell {
                    table: name.code(),
                    position,
                    problem: "a key outside its dimensions".to_owned(),
                }))
            }
        }
    }
    Ok(keys)
}

/// A cell or total of one grid before perturbation: where it is, its true count and
/// its key (the sum of the keys of the inner cells it adds up).
struct KeyedCell {
    coordinate: Vec<Option<usize>>,
    count: u64,
    key: CellKey,
}

/// Every cell and total of one grid with its count and key. `additive` per dimension.
fn keyed_cells(grid: &Grid, keys: &[CellKey], dimensions: &[Dimension]) -> Vec<KeyedCell> {
    let additive: Vec<bool> = dimensions.iter().map(|d| d.is_additive()).collect();
    published_coordinates(&grid.sizes, &additive)
        .into_iter()
        .map(|coordinate| {
            let members = inner_members(&grid.sizes, &coordinate);
            KeyedCell {
                count: members.iter().map(|i| grid.counts[*i]).sum(),
                key: members.iter().map(|i| keys[*i]).sum(),
                coordinate,
            }
        })
        .collect()
}

/// Every cell and total of one grid, perturbed.
fn perturb_grid(
    grid: &Grid,
    keys: &[CellKey],
    dimensions: &[Dimension],
    table: &Ptable,
) -> Vec<SolvedCell> {
    keyed_cells(grid, keys, dimensions)
        .into_iter()
        .map(|cell| SolvedCell {
            value: perturb(cell.count, cell.key, table).get(),
            coordinate: cell.coordinate,
            suppressed: None,
        })
        .collect()
}

/// One project's regional grid of one table, with the kommun as its first dimension,
/// and the inner cells' keys in the same layout: each kommun's keys as it sent them.
fn regional_keys(
    name: TableName,
    submissions: &[&Statistics],
    columns: &[usize],
) -> Result<(Grid, Vec<CellKey>), CellKeyError> {
    let grid = regional_grid(name, submissions, columns)?;
    let mut keys = Vec::with_capacity(grid.counts.len());
    for (s, project) in submissions.iter().zip(columns) {
        let all = key_grid(s, name)?;
        let inner = all.len() / s.projects.len().max(1);
        keys.extend_from_slice(&all[project * inner..(project + 1) * inner]);
    }
    Ok((grid, keys))
}

/// The perturbed cells as a published table.
fn table_of(
    name: TableName,
    dimensions: Vec<Dimension>,
    domains: &dyn Fn(Dimension) -> Vec<String>,
    cells: Vec<SolvedCell>,
) -> PublishedTable {
    super::published_table(name, dimensions, domains, cells)
}

/// A kommun's own tables and distinct counts under the cell key method: what its
/// `preview` shows, with [`PublishedStatistics::cell_key`] set.
pub fn perturb_kommun(
    stats: &Statistics,
    table: &Ptable,
) -> Result<Disclosed<PublishedStatistics>, CellKeyError> {
    let domains = |d: Dimension| d.values(&stats.projects, &stats.period);
    let mut tables = Vec::new();
    let mut participants_totals = vec![CellKey::EMPTY; stats.projects.len()];
    for name in TableName::ALL {
        let grid = stats.grid(*name)?;
        let keys = key_grid(stats, *name)?;
        if *name == TableName::Participants {
            let inner = grid.counts.len() / stats.projects.len().max(1);
            for (p, total) in participants_totals.iter_mut().enumerate() {
                *total = keys[p * inner..(p + 1) * inner].iter().copied().sum();
            }
        }
        let cells = perturb_grid(&grid, &keys, name.dimensions(), table);
        tables.push(table_of(*name, name.dimensions().to_vec(), &domains, cells));
    }
    let distinct_people = stats
        .projects
        .iter()
        .zip(&participants_totals)
        .map(|(project, key)| {
            let n = stats
                .linkage_sets
                .iter()
                .find(|s| &s.project == project)
                .map_or(0, |s| s.pseudonyms.len() as u64);
            published(project.as_str().to_owned(), perturb(n, *key, table).get())
        })
        .collect();
    Ok(Disclosed(PublishedStatistics {
        kommun: stats.kommun,
        period: stats.period,
        // k = 1 suppresses nothing, which is what happened.
        rule: DisclosureRule { k: 1 },
        rule_text: CellKeyMethodInfo::of(table).describe(),
        cell_key: Some(CellKeyMethodInfo::of(table)),
        tables,
        distinct_people,
    }))
}

fn published(label: String, count: u64) -> PublishedCount {
    PublishedCount {
        label,
        count: Some(count),
        suppressed: None,
    }
}

/// A project's regional report under the cell key method: the tables, distinct counts
/// and overlaps of [`super::regional::regional_report`], every one published, with
/// [`RegionalReport::cell_key`] set.
pub fn perturb_regional(
    input: RegionalInput<'_>,
    table: &Ptable,
) -> Result<Disclosed<RegionalReport>, CellKeyError> {
    let mut submissions = input.submissions.to_vec();
    submissions.sort_by_key(|s| s.kommun);
    for pair in submissions.windows(2) {
        if pair[0].kommun == pair[1].kommun {
            return Err(RegionalError::TwoSubmissions(pair[0].kommun).into());
        }
    }
    let mut columns = Vec::with_capacity(submissions.len());
    for s in &submissions {
        match s.projects.iter().position(|p| p == input.project) {
            Some(p) if s.period == input.period => columns.push(p),
            _ => {
                return Err(RegionalError::WrongSubmission {
                    kommun: s.kommun,
                    project: input.project.clone(),
                    period: input.period,
                }
                .into())
            }
        }
    }
    let kommuner: Vec<KommunCode> = submissions.iter().map(|s| s.kommun).collect();
    let kommun_codes: Vec<String> = kommuner.iter().map(|k| k.as_str().to_owned()).collect();
    let domains = |d: Dimension| match d {
        Dimension::Kommun => kommun_codes.clone(),
        other => other.values(std::slice::from_ref(input.project), &input.period),
    };
    let mut tables = Vec::new();
    let mut participants_totals: Vec<CellKey> = Vec::new();
    for name in TableName::ALL {
        let (grid, keys) = regional_keys(*name, &submissions, &columns)?;
        if *name == TableName::Participants {
            let inner = keys.len() / submissions.len().max(1);
            participants_totals = keys
                .chunks(inner.max(1))
                .map(|k| k.iter().copied().sum::<CellKey>())
                .collect();
        }
        let mut dimensions = name.dimensions().to_vec();
        dimensions[0] = Dimension::Kommun;
        let cells = perturb_grid(&grid, &keys, &dimensions, table);
        tables.push(table_of(*name, dimensions, &domains, cells));
    }
    let linkage = match atoms(input.project, &submissions) {
        Ok(atoms) => {
            let sums = atoms.sums(kommuner.len());
            let atom_keys = atoms.keys();
            let solved: Vec<SolvedCell> = sums
                .sums
                .iter()
                .enumerate()
                .map(|(i, members)| {
                    let count: u64 = members.iter().map(|a| sums.atoms[*a]).sum();
                    // A kommun's own distinct count (sums 2.. 2 + kommuner) takes its
                    // participants total's key, as in the kommun's preview.
                    let key = match i.checked_sub(2) {
                        Some(k) if k < kommuner.len() => participants_totals[k],
                        _ => members.iter().map(|a| atom_keys[*a]).sum(),
                    };
                    SolvedCell {
                        coordinate: Vec::new(),
                        value: perturb(count, key, table).get(),
                        suppressed: None,
                    }
                })
                .collect();
            Ok(atoms.published(&kommuner, solved))
        }
        Err(e) => Err(e.to_string()),
    };
    Ok(Disclosed(RegionalReport {
        project: input.project.clone(),
        period: input.period,
        // k = 1 suppresses nothing, which is what happened.
        rule: DisclosureRule { k: 1 },
        rule_text: CellKeyMethodInfo::of(table).describe(),
        cell_key: Some(CellKeyMethodInfo::of(table)),
        missing: crate::report::missing(input.expected, &kommuner),
        kommuner,
        tables,
        linkage,
    }))
}

#[cfg(test)]
mod tests;
