//! Statistics schema v1 (DESIGN.md §5): the tables a submission carries, the linkage
//! set, and aggregation of pseudonymised records into them.
//!
//! Every count is of distinct people: one pseudonym counts at most once per cell, so a
//! person enrolled twice in a kommun counts once. Cells are sent sparse (zero cells are
//! left out) and sorted by key; each key value belongs to its [`Dimension`]'s domain.
//! [`Statistics::check`] is what the hub runs on a decoded submission.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::codes::{
    AgeBand, DurationBand, Education, EntryStatus, Flag, Gender, KommunCode, Outcome, ProjectCode,
};
use crate::period::{whole_months_between, Period};
use crate::pseudonym::{KeyId, LinkageDomain, Pseudonym};
use crate::record::{FlagSet, ParticipantRecord};

/// The schema version this module builds and checks.
pub const SCHEMA_VERSION: u32 = 1;

/// The code of the extra value of the `flag_or_all` dimension: all leavers.
pub const ALL_LEAVERS: &str = "all";

/// One kommun's statistics for one period and linkage domain: the content of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The kommun the statistics describe.
    pub kommun: KommunCode,
    /// The period covered.
    pub period: Period,
    /// The linkage domain of the pseudonyms.
    pub linkage_domain: LinkageDomain,
    /// The master key the pseudonyms were made with.
    pub key_id: KeyId,
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

/// One cell: one value per dimension of the table, and the number of distinct people.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cell {
    /// One code per dimension, in the table's dimension order.
    pub key: Vec<String>,
    /// Distinct people.
    pub count: u64,
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

/// Why a decoded set of statistics does not follow the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The schema version is not one this build knows.
    #[error("schema version {found} is not supported (expected {SCHEMA_VERSION})")]
    Version {
        /// The version found.
        found: u32,
    },
    /// The tables are missing, duplicated or out of order.
    #[error("tables must be exactly the schema v1 tables in order; found {found:?}")]
    Tables {
        /// The table names found.
        found: Vec<TableName>,
    },
    /// A cell's key does not fit its table.
    #[error("table {table}: cell {position} has {problem}")]
    Cell {
        /// The table.
        table: &'static str,
        /// The cell's position in the table.
        position: usize,
        /// What is wrong.
        problem: String,
    },
    /// The project list is empty or holds duplicates.
    #[error("project list must be non-empty and without duplicates")]
    Projects,
    /// Linkage sets do not match the projects, or are not sorted and distinct.
    #[error("linkage set {position}: {problem}")]
    LinkageSet {
        /// The set's position.
        position: usize,
        /// What is wrong.
        problem: &'static str,
    },
}

impl Statistics {
    /// Checks everything the schema promises: version, tables, keys, order, sizes.
    pub fn check(&self) -> Result<(), SchemaError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(SchemaError::Version {
                found: self.schema_version,
            });
        }
        let distinct: BTreeSet<_> = self.projects.iter().collect();
        if self.projects.is_empty() || distinct.len() != self.projects.len() {
            return Err(SchemaError::Projects);
        }
        let names: Vec<TableName> = self.tables.iter().map(|t| t.name).collect();
        if names != TableName::ALL {
            return Err(SchemaError::Tables { found: names });
        }
        for table in &self.tables {
            self.check_table(table)?;
        }
        if self.linkage_sets.len() != self.projects.len() {
            return Err(SchemaError::LinkageSet {
                position: self.linkage_sets.len(),
                problem: "there must be one linkage set per project, in project order",
            });
        }
        for (position, (set, project)) in self.linkage_sets.iter().zip(&self.projects).enumerate() {
            if &set.project != project {
                return Err(SchemaError::LinkageSet {
                    position,
                    problem: "project differs from the project list",
                });
            }
            if !set.pseudonyms.windows(2).all(|w| w[0] < w[1]) {
                return Err(SchemaError::LinkageSet {
                    position,
                    problem: "pseudonyms are not sorted and distinct",
                });
            }
        }
        Ok(())
    }

    fn check_table(&self, table: &Table) -> Result<(), SchemaError> {
        let domains: Vec<Vec<String>> = table
            .name
            .dimensions()
            .iter()
            .map(|d| d.values(&self.projects, &self.period))
            .collect();
        let fail = |position, problem: String| SchemaError::Cell {
            table: table.name.code(),
            position,
            problem,
        };
        for (position, cell) in table.cells.iter().enumerate() {
            if cell.key.len() != domains.len() {
                return Err(fail(
                    position,
                    format!("{} key values, expected {}", cell.key.len(), domains.len()),
                ));
            }
            for ((value, domain), dimension) in
                cell.key.iter().zip(&domains).zip(table.name.dimensions())
            {
                if !domain.contains(value) {
                    return Err(fail(
                        position,
                        format!("{value:?}, not a value of dimension {}", dimension.code()),
                    ));
                }
            }
            if cell.count == 0 {
                return Err(fail(
                    position,
                    "count 0 (zero cells are left out)".to_owned(),
                ));
            }
            if position > 0
                && self.key_order(table, &table.cells[position - 1].key, &domains)
                    >= self.key_order(table, &cell.key, &domains)
            {
                return Err(fail(position, "a key out of order or repeated".to_owned()));
            }
        }
        Ok(())
    }

    fn key_order(&self, _table: &Table, key: &[String], domains: &[Vec<String>]) -> Vec<usize> {
        key.iter()
            .zip(domains)
            .map(|(v, d)| d.iter().position(|x| x == v).unwrap_or(usize::MAX))
            .collect()
    }

    /// The table with the given name.
    pub fn table(&self, name: TableName) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// A table as a dense grid over its dimensions' domains.
    pub fn grid(&self, name: TableName) -> Result<Grid, SchemaError> {
        let domains: Vec<Vec<String>> = name
            .dimensions()
            .iter()
            .map(|d| d.values(&self.projects, &self.period))
            .collect();
        let mut grid = Grid::zeros(domains.iter().map(Vec::len).collect());
        let Some(table) = self.table(name) else {
            return Err(SchemaError::Tables {
                found: self.tables.iter().map(|t| t.name).collect(),
            });
        };
        for (position, cell) in table.cells.iter().enumerate() {
            let coordinate: Option<Vec<usize>> = cell
                .key
                .iter()
                .zip(&domains)
                .map(|(v, d)| d.iter().position(|x| x == v))
                .collect();
            match coordinate {
                Some(c) if c.len() == domains.len() => {
                    let i = grid.index(&c);
                    grid.counts[i] = cell.count;
                }
                _ => {
                    return Err(SchemaError::Cell {
                        table: name.code(),
                        position,
                        problem: "a key outside its dimensions".to_owned(),
                    })
                }
            }
        }
        Ok(grid)
    }
}

/// A participation reduced to what the tables need: no personnummer, no dates of birth.
#[derive(Debug, Clone, Copy)]
struct Enrollment {
    project: u16,
    gender: Gender,
    age_band: AgeBand,
    start: time::Date,
    end: Option<time::Date>,
    outcome: Option<Outcome>,
    flags: FlagSet,
    status_at_entry: EntryStatus,
    education: Education,
}

/// Why a record could not be aggregated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateError {
    /// The record's project is not among the submission's projects.
    #[error("project {found} is not one of this submission's projects")]
    UnknownProject {
        /// The project code.
        found: ProjectCode,
    },
}

/// Builds [`Statistics`] from pseudonymised records, one kommun and period at a time.
///
/// Memory grows with the participations active in the period; records outside it are
/// counted and forgotten.
pub struct Aggregator {
    kommun: KommunCode,
    period: Period,
    linkage_domain: LinkageDomain,
    key_id: KeyId,
    projects: Vec<ProjectCode>,
    enrollments: Vec<(Pseudonym, Enrollment)>,
    outside_period: u64,
}

impl Aggregator {
    /// A new, empty aggregation.
    pub fn new(
        kommun: KommunCode,
        period: Period,
        linkage_domain: LinkageDomain,
        key_id: KeyId,
        projects: Vec<ProjectCode>,
    ) -> Aggregator {
        Aggregator {
            kommun,
            period,
            linkage_domain,
            key_id,
            projects,
            enrollments: Vec::new(),
            outside_period: 0,
        }
    }

    /// Adds one record under its pseudonym. Returns whether it falls in the period.
    pub fn add(
        &mut self,
        pseudonym: Pseudonym,
        record: &ParticipantRecord,
    ) -> Result<bool, AggregateError> {
        let project = self
            .projects
            .iter()
            .position(|p| *p == record.project)
            .and_then(|i| u16::try_from(i).ok())
            .ok_or_else(|| AggregateError::UnknownProject {
                found: record.project.clone(),
            })?;
        if !self.period.is_active(record.start, record.end) {
            self.outside_period += 1;
            return Ok(false);
        }
        self.enrollments.push((
            pseudonym,
            Enrollment {
                project,
                gender: record.gender,
                age_band: AgeBand::of_age(record.age_at_start()),
                start: record.start,
                end: record.end,
                outcome: record.outcome,
                flags: record.flags,
                status_at_entry: record.status_at_entry,
                education: record.education,
            },
        ));
        Ok(true)
    }

    /// Takes over everything another aggregation of the same submission has collected
    /// (aggregations built on several threads are joined this way).
    pub fn absorb(&mut self, other: Aggregator) {
        self.enrollments.extend(other.enrollments);
        self.outside_period += other.outside_period;
    }

    /// Records added so far that were not active in the period.
    pub fn outside_period(&self) -> u64 {
        self.outside_period
    }

    /// Builds the tables and linkage sets.
    pub fn finish(mut self) -> Statistics {
        self.enrollments.sort_unstable_by_key(|e| e.0);
        let months = self.period.months().len();
        let mut counter = TableCounter::new(self.projects.len(), months);
        let mut linkage: Vec<Vec<Pseudonym>> = vec![Vec::new(); self.projects.len()];
        for person in self.enrollments.chunk_by(|a, b| a.0 == b.0) {
            let pseudonym = person[0].0;
            counter.count_person(person.iter().map(|(_, e)| e), &self.period);
            let mut last_project = None;
            let mut projects: Vec<u16> = person.iter().map(|(_, e)| e.project).collect();
            projects.sort_unstable();
            for project in projects {
                if last_project != Some(project) {
                    linkage[usize::from(project)].push(pseudonym);
                    last_project = Some(project);
                }
            }
        }
        let tables = TableName::ALL
            .iter()
            .zip(counter.grids)
            .map(|(name, grid)| sparse_table(*name, &grid, &self.projects, &self.period))
            .collect();
        let linkage_sets = self
            .projects
            .iter()
            .zip(linkage)
            .map(|(project, pseudonyms)| LinkageSet {
                project: project.clone(),
                pseudonyms,
            })
            .collect();
        Statistics {
            schema_version: SCHEMA_VERSION,
            kommun: self.kommun,
            period: self.period,
            linkage_domain: self.linkage_domain,
            key_id: self.key_id,
            projects: self.projects,
            tables,
            linkage_sets,
        }
    }
}

fn sparse_table(name: TableName, grid: &Grid, projects: &[ProjectCode], period: &Period) -> Table {
    let domains: Vec<Vec<String>> = name
        .dimensions()
        .iter()
        .map(|d| d.values(projects, period))
        .collect();
    let cells = grid
        .counts
        .iter()
        .enumerate()
        .filter(|(_, count)| **count > 0)
        .map(|(index, count)| Cell {
            key: grid
                .coordinate(index)
                .iter()
                .zip(&domains)
                .map(|(c, d)| d[*c].clone())
                .collect(),
            count: *count,
        })
        .collect();
    Table { name, cells }
}

/// Dense counters for all tables, fed one person at a time.
struct TableCounter {
    grids: Vec<Grid>,
    scratch: Vec<Vec<usize>>,
}

impl TableCounter {
    fn new(projects: usize, months: usize) -> TableCounter {
        let size = |d: &Dimension| match d {
            Dimension::Project => projects,
            Dimension::Gender => Gender::ALL.len(),
            Dimension::AgeBand => AgeBand::ALL.len(),
            Dimension::Outcome => Outcome::ALL.len(),
            Dimension::Flag => Flag::ALL.len(),
            Dimension::FlagOrAll => Flag::ALL.len() + 1,
            Dimension::StatusAtEntry => EntryStatus::ALL.len(),
            Dimension::Education => Education::ALL.len(),
            Dimension::Duration => DurationBand::ALL.len(),
            Dimension::Month => months,
            Dimension::Kommun => 0,
        };
        TableCounter {
            grids: TableName::ALL
                .iter()
                .map(|t| Grid::zeros(t.dimensions().iter().map(size).collect()))
                .collect(),
            scratch: vec![Vec::new(); TableName::ALL.len()],
        }
    }

    /// Counts one person once in every cell any of their participations falls in.
    fn count_person<'a>(
        &mut self,
        enrollments: impl Iterator<Item = &'a Enrollment>,
        period: &Period,
    ) {
        for s in &mut self.scratch {
            s.clear();
        }
        let mut many = false;
        for (n, e) in enrollments.enumerate() {
            many |= n > 0;
            self.cells_of(e, period);
        }
        for (grid, cells) in self.grids.iter_mut().zip(&mut self.scratch) {
            if many {
                cells.sort_unstable();
                cells.dedup();
            }
            for &i in cells.iter() {
                grid.counts[i] += 1;
            }
        }
    }

    fn cells_of(&mut self, e: &Enrollment, period: &Period) {
        let p = usize::from(e.project);
        let g = e.gender.index();
        let entrant = period.contains(e.start);
        let left = e.end.filter(|end| period.contains(*end)).and(e.outcome);
        let grids = &self.grids;
        let at = |t: TableName, c: &[usize]| grids[t as usize].index(c);
        let s = &mut self.scratch;
        s[TableName::Participants as usize]
            .push(at(TableName::Participants, &[p, g, e.age_band.index()]));
        if entrant {
            s[TableName::Entrants as usize]
                .push(at(TableName::Entrants, &[p, g, e.age_band.index()]));
            s[TableName::EntryStatus as usize].push(at(
                TableName::EntryStatus,
                &[p, g, e.status_at_entry.index()],
            ));
            s[TableName::EntryEducation as usize]
                .push(at(TableName::EntryEducation, &[p, g, e.education.index()]));
        }
        for flag in e.flags.iter() {
            s[TableName::Background as usize]
                .push(at(TableName::Background, &[p, g, flag.index()]));
        }
        if let (Some(outcome), Some(end)) = (left, e.end) {
            let o = outcome.index();
            s[TableName::Leavers as usize].push(at(TableName::Leavers, &[p, g, o]));
            s[TableName::OutcomeByBackground as usize]
                .push(at(TableName::OutcomeByBackground, &[p, 0, o]));
            for flag in e.flags.iter() {
                s[TableName::OutcomeByBackground as usize].push(at(
                    TableName::OutcomeByBackground,
                    &[p, flag.index() + 1, o],
                ));
            }
            let band = DurationBand::of_months(whole_months_between(e.start, end));
            s[TableName::Duration as usize].push(at(TableName::Duration, &[p, o, band.index()]));
        }
        for m in period.active_months(e.start, e.end) {
            s[TableName::MonthlyActive as usize].push(at(TableName::MonthlyActive, &[p, m]));
        }
    }
}
