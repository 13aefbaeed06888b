//! Statistics schema v3 (DESIGN.md §5, §4a): the tables a submission carries, each cell
//! with its cell key, the linkage set, the pseudonym scheme and key id that made its
//! pseudonyms, and aggregation of pseudonymised records into them. v1 submissions
//! (cells without keys) and v2 submissions (no scheme field) stay readable
//! (`versioned`); both mean the shared-key scheme.
//!
//! Every count is of distinct people: one pseudonym counts at most once per cell, so a
//! person enrolled twice in a kommun counts once. Cells are sent sparse (zero cells are
//! left out) and sorted by key; each key value belongs to its [`Dimension`]'s domain.
//! [`Statistics::check`] is what the hub runs on a decoded submission.
//!
//! By concept: the schema's types and dimensions are here; `check` is what a decoded
//! submission must satisfy (and how its tables become dense grids); `aggregate`
//! builds the tables from pseudonymised records; `versioned` decodes v1, v2 and v3.

use serde::{Deserialize, Serialize};

use crate::cell_key::CellKey;

use crate::oprf::output::PseudonymScheme;

use crate::codes::{
    AgeBand, DurationBand, Education, EntryStatus, Flag, Gender, KommunCode, Outcome, ProjectCode,
};
use crate::period::Period;
use crate::pseudonym::{KeyId, LinkageDomain, Pseudonym};

mod aggregate;
mod check;
mod versioned;

pub use aggregate::{AggregateError, Aggregator};
pub use check::SchemaError;

/// The schema version this module builds: v3, whose cells carry cell keys and which
/// names its pseudonym scheme.
pub const SCHEMA_VERSION: u32 = 3;

/// The first schema version, whose cells carry no cell keys; still decoded and checked.
pub const SCHEMA_VERSION_V1: u32 = 1;

/// The second schema version: cells with cell keys, no `pseudonym_scheme` (it means
/// the shared-key scheme); still decoded and checked.
pub const SCHEMA_VERSION_V2: u32 = 2;

/// The first schema version that carries `pseudonym_scheme`.
pub const SCHEMA_VERSION_WITH_SCHEME: u32 = 3;

/// Every schema version this build decodes and checks.
pub const SUPPORTED_SCHEMA_VERSIONS: &[u32] =
    &[SCHEMA_VERSION_V1, SCHEMA_VERSION_V2, SCHEMA_VERSION];

/// The code of the extra value of the `flag_or_all` dimension: all leavers.
pub const ALL_LEAVERS: &str = "all";

/// One kommun's statistics for one period and linkage domain: the content of a submission.
///
/// Encoded in field order; decoding reads `schema_version` first and then the fields
/// and tables of that version (`versioned`), so v1 bytes decode with every cell key
/// [`CellKey::EMPTY`], v1 and v2 bytes decode with [`PseudonymScheme::SharedKey`],
/// and both re-encode as the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    /// [`SCHEMA_VERSION`] for statistics built here; [`SCHEMA_VERSION_V1`] or
    /// [`SCHEMA_VERSION_V2`] for old submissions.
    pub schema_version: u32,
    /// The kommun the statistics describe.
    pub kommun: KommunCode,
    /// The period covered.
    pub period: Period,
    /// The linkage domain of the pseudonyms.
    pub linkage_domain: LinkageDomain,
    /// The key the pseudonyms were made with: the shared master key's id, or the
    /// custodians' key set's id.
    pub key_id: KeyId,
    /// The scheme the pseudonyms were made with (v3; v1 and v2 mean
    /// [`PseudonymScheme::SharedKey`]). Linkage sets of different schemes or key ids
    /// are never merged.
    pub pseudonym_scheme: PseudonymScheme,
    /// The projects covered, in order; the `project` dimension's domain.
    pub projects: Vec<ProjectCode>,
    /// Every table of the schema, in [`TableName::ALL`] order.
    pub tables: Vec<Table>,
    /// Per project, the sorted pseudonyms of the people active in the period.
    pub linkage_sets: Vec<LinkageSet>,
}

/// One table: cells with a non-zero count, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Which table.
    pub name: TableName,
    /// Non-zero cells, sorted by key.
    pub cells: Vec<Cell>,
}

/// One cell: one value per dimension of the table, the number of distinct people and
/// (schema v2) the cell key, the sum mod 2⁶⁴ of those people's record keys
/// (docs/formats.md, "Record keys and cell keys").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// One code per dimension, in the table's dimension order.
    pub key: Vec<String>,
    /// Distinct people.
    pub count: u64,
    /// The sum of the cell's people's record keys; [`CellKey::EMPTY`] in v1.
    pub cell_key: CellKey,
}

/// The people of one project active in the period, as sorted pseudonyms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkageSet {
    /// The project.
    pub project: ProjectCode,
    /// Sorted, distinct pseudonyms.
    pub pseudonyms: Vec<Pseudonym>,
}

/// A dimension of a table and its domain of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The submission's projects.
    Project,
    /// [`Gender`] codes.
    Gender,
    /// [`AgeBand`] codes.
    AgeBand,
    /// [`Outcome`] codes.
    Outcome,
    /// [`Flag`] codes; a person can have several, so cells do not add up along it.
    Flag,
    /// `all`, then the [`Flag`] codes; does not add up either.
    FlagOrAll,
    /// [`EntryStatus`] codes.
    StatusAtEntry,
    /// [`Education`] codes.
    Education,
    /// [`DurationBand`] codes.
    Duration,
    /// The months of the period, `YYYY-MM`; a person is active in several, so it does
    /// not add up.
    Month,
    /// The kommuner of a regional table (reports only; submissions never carry it).
    /// Its domain comes from the report, not from [`Dimension::values`].
    Kommun,
}

impl Dimension {
    /// The dimension's name in tables and reports.
    pub fn code(self) -> &'static str {
        match self {
            Dimension::Project => "project",
            Dimension::Gender => "gender",
            Dimension::AgeBand => "age_band",
            Dimension::Outcome => "outcome",
            Dimension::Flag => "flag",
            Dimension::FlagOrAll => "flag",
            Dimension::StatusAtEntry => "status_at_entry",
            Dimension::Education => "education",
            Dimension::Duration => "months",
            Dimension::Month => "month",
            Dimension::Kommun => "kommun",
        }
    }

    /// Whether the cells along this dimension partition a line, so a total is their sum.
    pub fn is_additive(self) -> bool {
        !matches!(
            self,
            Dimension::Flag | Dimension::FlagOrAll | Dimension::Month
        )
    }

    /// The codes of the domain, in order.
    pub fn values(self, projects: &[ProjectCode], period: &Period) -> Vec<String> {
        fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<String> {
            all.iter().map(|v| code(*v).to_owned()).collect()
        }
        match self {
            Dimension::Project => projects.iter().map(|p| p.as_str().to_owned()).collect(),
            Dimension::Gender => codes(Gender::ALL, Gender::code),
            Dimension::AgeBand => codes(AgeBand::ALL, AgeBand::code),
            Dimension::Outcome => codes(Outcome::ALL, Outcome::code),
            Dimension::Flag => codes(Flag::ALL, Flag::code),
            Dimension::FlagOrAll => std::iter::once(ALL_LEAVERS.to_owned())
                .chain(codes(Flag::ALL, Flag::code))
                .collect(),
            Dimension::StatusAtEntry => codes(EntryStatus::ALL, EntryStatus::code),
            Dimension::Education => codes(Education::ALL, Education::code),
            Dimension::Duration => codes(DurationBand::ALL, DurationBand::code),
            Dimension::Month => period.months().iter().map(|m| m.code()).collect(),
            Dimension::Kommun => Vec::new(),
        }
    }
}

/// The tables of schema v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableName {
    /// Active in the period: project × gender × age band.
    Participants,
    /// Started in the period: project × gender × age band.
    Entrants,
    /// Ended in the period: project × gender × outcome.
    Leavers,
    /// Active with the flag: project × gender × flag.
    Background,
    /// Leavers with the flag (or all leavers): project × flag × outcome.
    OutcomeByBackground,
    /// Entrants: project × gender × status at entry.
    EntryStatus,
    /// Entrants: project × gender × education.
    EntryEducation,
    /// Leavers: project × outcome × months of participation.
    Duration,
    /// Active in each month: project × month.
    MonthlyActive,
}

impl TableName {
    /// Every table, in submission order.
    pub const ALL: &'static [TableName] = &[
        TableName::Participants,
        TableName::Entrants,
        TableName::Leavers,
        TableName::Background,
        TableName::OutcomeByBackground,
        TableName::EntryStatus,
        TableName::EntryEducation,
        TableName::Duration,
        TableName::MonthlyActive,
    ];

    /// The table's name in submissions and reports.
    pub fn code(self) -> &'static str {
        match self {
            TableName::Participants => "participants",
            TableName::Entrants => "entrants",
            TableName::Leavers => "leavers",
            TableName::Background => "background",
            TableName::OutcomeByBackground => "outcome_by_background",
            TableName::EntryStatus => "entry_status",
            TableName::EntryEducation => "entry_education",
            TableName::Duration => "duration",
            TableName::MonthlyActive => "monthly_active",
        }
    }

    /// The table's dimensions, in key order.
    pub fn dimensions(self) -> &'static [Dimension] {
        use Dimension as D;
        match self {
            TableName::Participants | TableName::Entrants => &[D::Project, D::Gender, D::AgeBand],
            TableName::Leavers => &[D::Project, D::Gender, D::Outcome],
            TableName::Background => &[D::Project, D::Gender, D::Flag],
            TableName::OutcomeByBackground => &[D::Project, D::FlagOrAll, D::Outcome],
            TableName::EntryStatus => &[D::Project, D::Gender, D::StatusAtEntry],
            TableName::EntryEducation => &[D::Project, D::Gender, D::Education],
            TableName::Duration => &[D::Project, D::Outcome, D::Duration],
            TableName::MonthlyActive => &[D::Project, D::Month],
        }
    }
}

/// A table as a dense array over its dimensions' domains, zeros included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// The size of each dimension's domain.
    pub sizes: Vec<usize>,
    /// Counts in row-major order (last dimension fastest).
    pub counts: Vec<u64>,
}

impl Grid {
    /// A grid of zeros.
    pub fn zeros(sizes: Vec<usize>) -> Grid {
        let len = sizes.iter().product();
        Grid {
            sizes,
            counts: vec![0; len],
        }
    }

    /// The flat index of a coordinate.
    pub fn index(&self, coordinate: &[usize]) -> usize {
        coordinate
            .iter()
            .zip(&self.sizes)
            .fold(0, |acc, (c, size)| acc * size + c)
    }

    /// The coordinate of a flat index.
    pub fn coordinate(&self, mut index: usize) -> Vec<usize> {
        let mut coordinate = vec![0; self.sizes.len()];
        for (c, size) in coordinate.iter_mut().zip(&self.sizes).rev() {
            *c = index % size;
            index /= size;
        }
        coordinate
    }
}
