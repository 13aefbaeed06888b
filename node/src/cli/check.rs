//! `samla-node check`: how each export was read, what was accepted, rejected and
//! dropped; and the reject report that `check`, `preview` and `submit` write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_node::ingest::{FileSummary, IngestSettings};
use samla_node::output::write_file_summary;
use samla_node::pipeline;

use super::args::CheckArgs;

/// A checked `samla-node check`: the exports and how to read them.
pub(super) struct Check {
    files: Vec<PathBuf>,
    rejects: PathBuf,
    settings: IngestSettings,
}

impl Check {
    /// Reads the config: which projects, columns and reference date the files are
    /// read with.
    pub(super) fn prepare(config: &Path, reference: time::Date, args: CheckArgs) -> Result<Check> {
        let config = super::load_config(config)?;
        Ok(Check {
            settings: pipeline::ingest_settings(&config, &config.project_codes(), reference),
            files: args.files,
            rejects: args.rejects,
        })
    }

    /// Reads every file; exits 2 if one could not be read, 1 if rows were rejected or
    /// a header is misnamed.
    pub(super) fn run(self) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        let mut unreadable = false;
        let mut summaries = Vec::new();
        for result in pipeline::check(&self.files, &self.settings) {
            match result {
                Ok(summary) => {
                    write_file_summary(&mut out, &summary)?;
                    summaries.push(summary);
                }
                Err(e) => {
                    out.flush()?;
                    samla_cli_common::error::warn("samla-node", &e);
                    unreadable = true;
                }
            }
        }
        let rejected = finish_rejects(&self.rejects, &summaries, &mut out)?
            || summaries.iter().any(|s| !s.header_warnings.is_empty());
        Ok(if unreadable {
            ExitCode::from(2)
        } else if rejected {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// Writes the reject report if anything was rejected; says where. Returns whether it did.
pub(super) fn finish_rejects(
    path: &Path,
    summaries: &[FileSummary],
    out: &mut impl Write,
) -> Result<bool> {
    let rejected: usize = summaries.iter().map(|s| s.rejections.len()).sum();
    if rejected == 0 {
        return Ok(false);
    }
    pipeline::write_reject_report(path, summaries)
        .with_context(|| format!("writing reject report {}", path.display()))?;
    writeln!(
        out,
        "{rejected} rejected rows written to {}",
        path.display()
    )?;
    Ok(true)
}
