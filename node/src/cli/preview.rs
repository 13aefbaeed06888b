//! `samla-node preview`: a submission exactly as it would be sent, and after
//! disclosure control; and how `preview` and `submit` resolve their projects and
//! period against the config.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use samla_cli_common::Threads;
use samla_common::codes::ProjectCode;
use samla_common::disclosure::{disclose, DisclosureRule};
use samla_common::period::Period;
use samla_common::pseudonym::MasterSecret;
use samla_node::config::NodeConfig;
use samla_node::ingest::IngestError;
use samla_node::keyfile;
use samla_node::output::{write_file_summary, write_previews, Format, Preview as Shown};
use samla_node::pipeline;

use super::args::{BuildArgs, PreviewArgs};
use super::check::finish_rejects;

/// What to build a submission from, checked against the config, with the key loaded.
pub(super) struct Build {
    pub config: NodeConfig,
    pub master: MasterSecret,
    pub files: Vec<PathBuf>,
    pub projects: Vec<ProjectCode>,
    pub period: Period,
    pub rejects: PathBuf,
    pub reference: time::Date,
}

impl Build {
    /// Reads the config, resolves `--project` and `--period` against it, and loads the
    /// master key.
    pub(super) fn prepare(config: &Path, reference: time::Date, args: BuildArgs) -> Result<Build> {
        let config = super::load_config(config)?;
        let (projects, period) = select(&config, &args.projects, &args.period)?;
        Ok(Build {
            master: keyfile::load(&config.key_file)?,
            config,
            files: args.files,
            projects,
            period,
            rejects: args.rejects,
            reference,
        })
    }

    /// Reads the exports and builds the statistics; the master key is dropped (and
    /// zeroed) as soon as they are built.
    pub(super) fn build(self) -> (NodeConfig, PathBuf, Result<pipeline::Built, IngestError>) {
        let built = pipeline::build(
            &self.config,
            &self.master,
            &self.files,
            self.period,
            &self.projects,
            self.reference,
        );
        drop(self.master);
        (self.config, self.rejects, built)
    }
}

/// A checked `samla-node preview`.
pub(super) struct Preview {
    build: Build,
    format: Format,
    rule: DisclosureRule,
}

impl Preview {
    /// Checks what to build from, and the threshold.
    pub(super) fn prepare(
        config: &Path,
        reference: time::Date,
        args: PreviewArgs,
    ) -> Result<Preview> {
        let build = Build::prepare(config, reference, args.build)?;
        Ok(Preview {
            rule: DisclosureRule {
                k: args.k.unwrap_or(build.config.disclosure.k),
            },
            build,
            format: args.format,
        })
    }

    /// Builds the statistics and prints them, exact and after disclosure control;
    /// exits 1 if rows were rejected or a header is misnamed.
    pub(super) fn run(self) -> Result<ExitCode> {
        let period = self.build.period;
        let (_, rejects, built) = self.build.build();
        let built = match built {
            Ok(built) => built,
            Err(e @ IngestError::Io { .. }) => return Err(e.into()),
            Err(e) => {
                samla_cli_common::error::warn("samla-node", &e);
                return Ok(ExitCode::from(2));
            }
        };
        let threads = Threads::available();
        let disclosed = built
            .statistics
            .iter()
            .map(|s| disclose(s, self.rule, &threads))
            .collect::<Result<Vec<_>, _>>()?;
        let previews: Vec<Shown<'_>> = built
            .statistics
            .iter()
            .zip(&disclosed)
            .map(|(statistics, disclosed)| Shown {
                statistics,
                disclosed,
            })
            .collect();
        let mut stdout = std::io::stdout().lock();
        write_previews(&mut stdout, &previews, &built.files, self.format)?;
        stdout.flush()?;
        let mut err = std::io::stderr().lock();
        for summary in &built.files {
            write_file_summary(&mut err, summary)?;
        }
        if built.outside_period > 0 {
            writeln!(
                err,
                "{} accepted rows fall outside {period} and are not in the tables",
                built.outside_period
            )?;
        }
        let rejected =
            finish_rejects(&rejects, &built.files, &mut err)? || built.header_warnings() > 0;
        Ok(if rejected {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// The projects named by `--project` (all if none) and the period of `--period`.
pub(super) fn select(
    config: &NodeConfig,
    projects: &[ProjectCode],
    period: &str,
) -> Result<(Vec<ProjectCode>, Period)> {
    let projects = projects
        .iter()
        .map(|p| {
            config
                .projects
                .iter()
                .find(|c| c.code.as_str().eq_ignore_ascii_case(p.as_str()))
                .map(|c| c.code.clone())
                .with_context(|| format!("--project {p}: not in {}", config.path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    // `lifetime` is one project's: the one named, or the config's only project.
    let only = match (projects.as_slice(), config.projects.as_slice()) {
        ([one], _) => config.projects.iter().find(|p| &p.code == one),
        ([], [only]) => Some(only),
        _ => None,
    };
    let period = config
        .period(period, only)
        .map_err(anyhow::Error::msg)
        .context("--period")?;
    Ok((projects, period))
}
