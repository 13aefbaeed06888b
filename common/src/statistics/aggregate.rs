//! Aggregation: pseudonymised records into one kommun's tables for one period, each
//! person counted once per cell, and each cell's key the sum of its distinct people's
//! record keys (docs/formats.md, "Record keys and cell keys").

use crate::cell_key::{CellKey, RecordKey};
use crate::codes::{
    AgeBand, DurationBand, Education, EntryStatus, Flag, Gender, KommunCode, Outcome, ProjectCode,
};
use crate::oprf::output::PseudonymScheme;
use crate::period::{whole_months_between, Period};
use crate::pseudonym::{KeyId, LinkageDomain, Pseudonym};
use crate::record::{FlagSet, ParticipantRecord};

use super::{Cell, Dimension, Grid, LinkageSet, Statistics, Table, TableName, SCHEMA_VERSION};

/// A participation reduced to what the tables need: no personnummer, no dates of birth.
#[derive(Debug, Clone, Copy)]
struct Enrollment {
    project: u16,
    /// The record key of this person's participation in the project (the same for
    /// every enrolment of one person in one project).
    record_key: RecordKey,
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
    pseudonym_scheme: PseudonymScheme,
    projects: Vec<ProjectCode>,
    enrollments: Vec<(Pseudonym, Enrollment)>,
    outside_period: u64,
}

impl Aggregator {
    /// A new, empty aggregation of pseudonyms made under the shared-key scheme
    /// (DESIGN.md §4); [`Aggregator::with_scheme`] names another.
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
            pseudonym_scheme: PseudonymScheme::SharedKey,
            projects,
            enrollments: Vec::new(),
            outside_period: 0,
        }
    }

    /// The same aggregation, naming `scheme` as the one that made its pseudonyms
    /// (with the key id given to [`Aggregator::new`]).
    pub fn with_scheme(mut self, scheme: PseudonymScheme) -> Aggregator {
        self.pseudonym_scheme = scheme;
        self
    }

    /// Adds one record under its pseudonym, with the record key of the person's
    /// participation in the record's project in this kommun
    /// ([`crate::cell_key::RecordKeyer::record_key`]; never derived from the pseudonym).
    /// Returns whether it falls in the period.
    pub fn add(
        &mut self,
        pseudonym: Pseudonym,
        record_key: RecordKey,
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
                record_key,
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
            .zip(counter.keys)
            .map(|((name, grid), keys)| {
                sparse_table(*name, &grid, &keys, &self.projects, &self.period)
            })
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
            pseudonym_scheme: self.pseudonym_scheme,
            projects: self.projects,
            tables,
            linkage_sets,
        }
    }
}

fn sparse_table(
    name: TableName,
    grid: &Grid,
    keys: &[CellKey],
    projects: &[ProjectCode],
    period: &Period,
) -> Table {
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
            cell_key: keys[index],
        })
        .collect();
    Table { name, cells }
}

/// Dense counters for all tables, fed one person at a time, with each cell's key.
struct TableCounter {
    grids: Vec<Grid>,
    /// Per table, per cell of its grid, the sum of the record keys counted there.
    keys: Vec<Vec<CellKey>>,
    /// Per table, the cells the current person falls in, with the record key of the
    /// participation that put them there. Every cell lies in one project, so a cell's
    /// entries all carry the same key and deduplicating by cell keeps one of them.
    scratch: Vec<Vec<(usize, RecordKey)>>,
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
        let grids: Vec<Grid> = TableName::ALL
            .iter()
            .map(|t| Grid::zeros(t.dimensions().iter().map(size).collect()))
            .collect();
        TableCounter {
            keys: grids
                .iter()
                .map(|g| vec![CellKey::EMPTY; g.counts.len()])
                .collect(),
            grids,
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
        let tables = self.grids.iter_mut().zip(&mut self.keys);
        for ((grid, keys), cells) in tables.zip(&mut self.scratch) {
            if many {
                cells.sort_unstable_by_key(|c| c.0);
                cells.dedup_by_key(|c| c.0);
            }
            for &(i, record_key) in cells.iter() {
                grid.counts[i] += 1;
                keys[i] = keys[i].with(record_key);
            }
        }
    }

    fn cells_of(&mut self, e: &Enrollment, period: &Period) {
        let p = usize::from(e.project);
        let g = e.gender.index();
        let entrant = period.contains(e.start);
        let left = e.end.filter(|end| period.contains(*end)).and(e.outcome);
        let grids = &self.grids;
        let r = e.record_key;
        let at = |t: TableName, c: &[usize]| (grids[t as usize].index(c), r);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell_key::RecordKeyer;
    use crate::personnummer::Personnummer;
    use crate::pseudonym::MasterSecret;
    use crate::record::RecordFields;
    use time::macros::date;

    /// The three people of docs/formats.md's test vector, one of them enrolled twice:
    /// the participants cell counts three and its key is the documented sum.
    #[test]
    fn a_cells_key_is_the_sum_of_its_distinct_peoples_record_keys() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        let master = MasterSecret::from_bytes(bytes);
        let domain: LinkageDomain = "gavleborg-ung-2023".parse().unwrap();
        let kommun: KommunCode = "2180".parse().unwrap();
        let project: ProjectCode = "UNG".parse().unwrap();
        let pseudonyms = master.domain_key(&domain);
        let record_keys = RecordKeyer::new(&master, &domain);
        let mut a = Aggregator::new(
            kommun,
            "2025".parse().unwrap(),
            domain,
            master.key_id(),
            vec![project.clone()],
        );
        let people = [
            "200503129884",
            "199807319935",
            "200701659955",
            "200503129884",
        ];
        for (i, pnr) in people.iter().enumerate() {
            let personnummer = Personnummer::parse(pnr, date!(2026 - 11 - 23)).unwrap();
            let record = ParticipantRecord::new(RecordFields {
                personnummer,
                project: project.clone(),
                start: if i == 3 {
                    date!(2025 - 02 - 15)
                } else {
                    date!(2025 - 02 - 01)
                },
                end: None,
                outcome: None,
                // One gender for all, so every one of them is in one participants cell
                // per age band; the test sums over the table.
                gender: Some(Gender::Woman),
                flags: FlagSet::default(),
                status_at_entry: None,
                education: None,
            })
            .unwrap();
            let r = record_keys.record_key(&record.personnummer, kommun, &project);
            a.add(pseudonyms.pseudonym(&record.personnummer), r, &record)
                .unwrap();
        }
        let statistics = a.finish();
        assert_eq!(statistics.schema_version, 3);
        assert_eq!(statistics.pseudonym_scheme, PseudonymScheme::SharedKey);
        let monthly = &statistics.tables[TableName::MonthlyActive as usize];
        // December 2025: all three people, the twice-enrolled one once.
        let december = monthly
            .cells
            .iter()
            .find(|c| c.key[1] == "2025-12")
            .unwrap();
        assert_eq!(december.count, 3);
        assert_eq!(december.cell_key.bits(), 0xfe34_6930_d37f_3cb4);
        // The participants cells (split by age band) add up to the same key.
        let participants = &statistics.tables[TableName::Participants as usize];
        let sum: CellKey = participants.cells.iter().map(|c| c.cell_key).sum();
        assert_eq!(sum.bits(), 0xfe34_6930_d37f_3cb4);
        // The key is not the pseudonyms' public key sum.
        let linkage = &statistics.linkage_sets[0].pseudonyms;
        assert_ne!(CellKey::of_pseudonyms(linkage), december.cell_key);
    }
}
