//! The node's offline pipeline: exports → records → pseudonyms → statistics.
//!
//! One [`Statistics`] is built per linkage domain among the selected projects (the
//! usual case is one). Rows outside the period are read and checked like the others,
//! then left out of the tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use samla_common::cell_key::{PersonSecret, RecordKeyer};
use samla_common::codes::{KommunCode, ProjectCode};
use samla_common::period::Period;
use samla_common::pseudonym::{DomainKey, LinkageDomain, Pseudonym};
use samla_common::statistics::{Aggregator, Statistics};

use crate::config::NodeConfig;
use crate::custodian::{BatchLogged, CustodianError};
use crate::pseudonyms::Pseudonymiser;
use samla_common::record::ParticipantRecord;

use crate::ingest::{read_file_parallel, FileSummary, IngestError, IngestSettings, RecordSink};

/// Why nothing was built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An export could not be read.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The custodians could not make the pseudonyms (custodian mode).
    #[error(transparent)]
    Custodians(#[from] CustodianError),
}

/// What the pipeline read and built.
pub struct Built {
    /// One per linkage domain, in domain order.
    pub statistics: Vec<Statistics>,
    /// One per input file, in argument order.
    pub files: Vec<FileSummary>,
    /// Accepted records that were not active in the period.
    pub outside_period: u64,
    /// In custodian mode, each batch the custodians evaluated (for the node log).
    pub custodian_batches: Vec<BatchLogged>,
}

impl Built {
    /// Rows rejected over all files.
    pub fn rejected(&self) -> usize {
        self.files.iter().map(|f| f.rejections.len()).sum()
    }

    /// Headers over all files that are not read but look like a field.
    pub fn header_warnings(&self) -> usize {
        self.files.iter().map(|f| f.header_warnings.len()).sum()
    }
}

/// The ingest settings a config implies.
pub fn ingest_settings(
    config: &NodeConfig,
    projects: &[ProjectCode],
    reference_date: time::Date,
) -> IngestSettings {
    IngestSettings {
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        projects: projects.to_vec(),
        columns: config.columns.clone(),
        reference_date,
    }
}

/// Worker threads for reading a large CSV file: one per core, at most four.
pub fn reading_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Reads files without building anything: the `check` command.
pub fn check(
    files: &[PathBuf],
    settings: &IngestSettings,
) -> Vec<Result<FileSummary, IngestError>> {
    let mut sinks: Vec<fn(ParticipantRecord)> = vec![|_| {}; reading_threads()];
    files
        .iter()
        .map(|f| read_file_parallel(f, settings, &mut sinks))
        .collect()
}

/// One reading thread's share of the work: pseudonymise, derive the record key (from
/// the master and the personnummer, never from the pseudonym), then aggregate per
/// domain (shared-key mode); or keep the records for the custodians' pseudonyms and
/// record keys (custodian mode, `keys` is `None`).
struct DomainSink<'a> {
    keys: Option<&'a BTreeMap<LinkageDomain, DomainKey>>,
    collected: BTreeMap<LinkageDomain, Vec<ParticipantRecord>>,
    record_keys: &'a BTreeMap<LinkageDomain, RecordKeyer>,
    kommun: KommunCode,
    domain_of: &'a BTreeMap<ProjectCode, LinkageDomain>,
    aggregators: BTreeMap<LinkageDomain, Aggregator>,
    /// Records whose project has no aggregator: impossible while the reader checks
    /// projects against the same list, but counted rather than dropped unseen.
    unplaced: u64,
}

impl RecordSink for DomainSink<'_> {
    fn accept(&mut self, record: ParticipantRecord) {
        let Some(keys) = self.keys else {
            match self.domain_of.get(&record.project) {
                Some(domain) => self
                    .collected
                    .entry(domain.clone())
                    .or_default()
                    .push(record),
                None => self.unplaced += 1,
            }
            return;
        };
        let placed = self.domain_of.get(&record.project).and_then(|domain| {
            let key = keys.get(domain)?;
            let record_key = self.record_keys.get(domain)?.record_key(
                &record.personnummer,
                self.kommun,
                &record.project,
            );
            let aggregator = self.aggregators.get_mut(domain)?;
            aggregator
                .add(key.pseudonym(&record.personnummer), record_key, &record)
                .ok()
        });
        if placed.is_none() {
            self.unplaced += 1;
        }
    }
}

/// Reads, pseudonymises and aggregates the files for one period.
///
/// `projects` selects projects from the config (all if empty). Any file that cannot
/// be read at all stops the whole build: a submission is never built from part of
/// the input.
pub fn build(
    config: &NodeConfig,
    pseudonymiser: &Pseudonymiser,
    files: &[PathBuf],
    period: Period,
    projects: &[ProjectCode],
    reference_date: time::Date,
) -> Result<Built, BuildError> {
    let selected: Vec<_> = config
        .projects
        .iter()
        .filter(|p| projects.is_empty() || projects.contains(&p.code))
        .collect();
    let domain_of: BTreeMap<ProjectCode, LinkageDomain> = selected
        .iter()
        .map(|p| (p.code.clone(), p.linkage_domain.clone()))
        .collect();
    let (keys, record_keys): (
        BTreeMap<LinkageDomain, DomainKey>,
        BTreeMap<LinkageDomain, RecordKeyer>,
    ) = match pseudonymiser {
        Pseudonymiser::SharedKey(master) => (
            domain_of
                .values()
                .map(|d| (d.clone(), master.domain_key(d)))
                .collect(),
            domain_of
                .values()
                .map(|d| (d.clone(), RecordKeyer::new(master, d)))
                .collect(),
        ),
        Pseudonymiser::Custodians(_) => (BTreeMap::new(), BTreeMap::new()),
    };
    let domains: std::collections::BTreeSet<LinkageDomain> = domain_of.values().cloned().collect();
    let key_id = pseudonymiser.key_id();
    let scheme = pseudonymiser.scheme();
    let new_aggregators = || -> BTreeMap<LinkageDomain, Aggregator> {
        domains
            .iter()
            .map(|domain| {
                let in_domain = selected
                    .iter()
                    .filter(|p| &p.linkage_domain == domain)
                    .map(|p| p.code.clone())
                    .collect();
                let aggregator =
                    Aggregator::new(config.kommun, period, domain.clone(), key_id, in_domain)
                        .with_scheme(scheme);
                (domain.clone(), aggregator)
            })
            .collect()
    };
    let mut sinks: Vec<DomainSink<'_>> = (0..reading_threads())
        .map(|_| DomainSink {
            keys: match pseudonymiser {
                Pseudonymiser::SharedKey(_) => Some(&keys),
                Pseudonymiser::Custodians(_) => None,
            },
            collected: BTreeMap::new(),
            record_keys: &record_keys,
            kommun: config.kommun,
            domain_of: &domain_of,
            aggregators: new_aggregators(),
            unplaced: 0,
        })
        .collect();
    let codes: Vec<ProjectCode> = selected.iter().map(|p| p.code.clone()).collect();
    let settings = ingest_settings(config, &codes, reference_date);
    let mut summaries = Vec::new();
    for file in files {
        summaries
            .push(read_file_parallel(file, &settings, &mut sinks).map_err(BuildError::Ingest)?);
    }
    let mut joined = new_aggregators();
    let mut unplaced = 0;
    let mut collected: BTreeMap<LinkageDomain, Vec<ParticipantRecord>> = BTreeMap::new();
    for sink in sinks {
        unplaced += sink.unplaced;
        for (domain, aggregator) in sink.aggregators {
            if let Some(target) = joined.get_mut(&domain) {
                target.absorb(aggregator);
            }
        }
        for (domain, records) in sink.collected {
            collected.entry(domain).or_default().extend(records);
        }
    }
    let mut custodian_batches = Vec::new();
    if let Pseudonymiser::Custodians(client) = pseudonymiser {
        for (domain, records) in collected {
            let people: Vec<_> = records
                .iter()
                .map(|r| r.personnummer)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let made = client.pseudonymise(config.kommun, &domain, &people)?;
            let of: std::collections::HashMap<_, (Pseudonym, PersonSecret)> = people
                .into_iter()
                .zip(made.pseudonyms.into_iter().zip(made.secrets))
                .collect();
            custodian_batches.extend(made.batches);
            let Some(aggregator) = joined.get_mut(&domain) else {
                unplaced += records.len() as u64;
                continue;
            };
            for record in &records {
                let placed = of.get(&record.personnummer).and_then(|(p, secret)| {
                    let record_key = secret.record_key(config.kommun, &record.project);
                    aggregator.add(*p, record_key, record).ok()
                });
                if placed.is_none() {
                    unplaced += 1;
                }
            }
        }
    }
    if unplaced > 0 {
        return Err(BuildError::Ingest(IngestError::Internal {
            message: format!("{unplaced} accepted records matched no linkage domain"),
        }));
    }
    let outside_period = joined.values().map(Aggregator::outside_period).sum();
    Ok(Built {
        statistics: joined.into_values().map(Aggregator::finish).collect(),
        files: summaries,
        outside_period,
        custodian_batches,
    })
}

/// Writes every rejection of every file to a CSV reject report: file, line, column,
/// header, kind and reason. No value from a row is written except through the
/// messages' own withholding rule, so no personnummer reaches the report.
pub fn write_reject_report(path: &Path, files: &[FileSummary]) -> std::io::Result<()> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(["file", "line", "column", "header", "kind", "reason"])?;
    for file in files {
        for r in &file.rejections {
            let (column, header) = r
                .column
                .as_ref()
                .map_or((String::new(), String::new()), |(n, h)| {
                    (n.to_string(), h.clone())
                });
            out.write_record([
                file.path.display().to_string(),
                r.line.to_string(),
                column,
                header,
                r.error.kind().to_owned(),
                r.error.to_string(),
            ])?;
        }
    }
    out.flush()
}
