//! The node's offline pipeline: exports → records → pseudonyms → statistics.
//!
//! One [`Statistics`] is built per linkage domain among the selected projects (the
//! usual case is one). Rows outside the period are read and checked like the others,
//! then left out of the tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use samla_common::codes::ProjectCode;
use samla_common::period::Period;
use samla_common::pseudonym::{DomainKey, LinkageDomain, MasterSecret};
use samla_common::statistics::{Aggregator, Statistics};

use crate::config::NodeConfig;
use crate::ingest::{read_file, FileSummary, IngestError, IngestSettings};

/// What the pipeline read and built.
pub struct Built {
    /// One per linkage domain, in domain order.
    pub statistics: Vec<Statistics>,
    /// One per input file, in argument order.
    pub files: Vec<FileSummary>,
    /// Accepted records that were not active in the period.
    pub outside_period: u64,
}

impl Built {
    /// Rows rejected over all files.
    pub fn rejected(&self) -> usize {
        self.files.iter().map(|f| f.rejections.len()).sum()
    }
}

/// The ingest settings a config implies.
pub fn ingest_settings(
    config: &NodeConfig,
    projects: &[ProjectCode],
    reference_date: time::Date,
) -> IngestSettings {
    IngestSettings {
        projects: projects.to_vec(),
        columns: config.columns.clone(),
        reference_date,
    }
}

/// Reads files without building anything: the `check` command.
pub fn check(
    files: &[PathBuf],
    settings: &IngestSettings,
) -> Vec<Result<FileSummary, IngestError>> {
    files
        .iter()
        .map(|f| read_file(f, settings, |_| {}))
        .collect()
}

/// Reads, pseudonymises and aggregates the files for one period.
///
/// `projects` selects projects from the config (all if empty). Any file that cannot
/// be read at all stops the whole build: a submission is never built from part of
/// the input.
pub fn build(
    config: &NodeConfig,
    master: &MasterSecret,
    files: &[PathBuf],
    period: Period,
    projects: &[ProjectCode],
    reference_date: time::Date,
) -> Result<Built, IngestError> {
    let selected: Vec<_> = config
        .projects
        .iter()
        .filter(|p| projects.is_empty() || projects.contains(&p.code))
        .collect();
    let mut domains: BTreeMap<LinkageDomain, (DomainKey, Aggregator)> = BTreeMap::new();
    for project in &selected {
        if !domains.contains_key(&project.linkage_domain) {
            let in_domain = selected
                .iter()
                .filter(|p| p.linkage_domain == project.linkage_domain)
                .map(|p| p.code.clone())
                .collect();
            let aggregator = Aggregator::new(
                config.kommun,
                period,
                project.linkage_domain.clone(),
                master.key_id(),
                in_domain,
            );
            domains.insert(
                project.linkage_domain.clone(),
                (master.domain_key(&project.linkage_domain), aggregator),
            );
        }
    }
    let domain_of: BTreeMap<ProjectCode, LinkageDomain> = selected
        .iter()
        .map(|p| (p.code.clone(), p.linkage_domain.clone()))
        .collect();
    let codes: Vec<ProjectCode> = selected.iter().map(|p| p.code.clone()).collect();
    let settings = ingest_settings(config, &codes, reference_date);
    let mut summaries = Vec::new();
    for file in files {
        summaries.push(read_file(file, &settings, |record| {
            let entry = domain_of
                .get(&record.project)
                .and_then(|d| domains.get_mut(d));
            if let Some((key, aggregator)) = entry {
                // The project was checked against the same list when the row was read.
                let _in_period = aggregator.add(key.pseudonym(&record.personnummer), &record);
            }
        })?);
    }
    let outside_period = domains.values().map(|(_, a)| a.outside_period()).sum();
    Ok(Built {
        statistics: domains.into_values().map(|(_, a)| a.finish()).collect(),
        files: summaries,
        outside_period,
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
