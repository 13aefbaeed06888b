//! What a decoded submission's statistics must satisfy (version, tables in order,
//! keys inside their dimensions and sorted, linkage sets sorted and distinct), and
//! the dense grid of a table that disclosure control works on.

use std::collections::BTreeSet;

use super::{Grid, Statistics, Table, TableName, SUPPORTED_SCHEMA_VERSIONS};

/// Why a decoded set of statistics does not follow the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The schema version is not one this build knows.
    #[error(
        "schema version {found} is not supported (this build reads {SUPPORTED_SCHEMA_VERSIONS:?})"
    )]
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
        if !SUPPORTED_SCHEMA_VERSIONS.contains(&self.schema_version) {
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
