//! `samla-node synth`: a synthetic export, with any of the messy forms real exports
//! come in.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use samla_node::synth::{write_export_with, Movers, Population, Style, SynthOptions};

use super::args::SynthArgs;

/// A checked `samla-node synth`: where to write, and what.
pub(super) struct Synth {
    out: PathBuf,
    options: SynthOptions,
    population: Population,
}

impl Synth {
    /// Checks the share of bad rows and works out the style (`--messy` sets most) and
    /// who the people are (`--ages`, `--movers`).
    pub(super) fn prepare(args: SynthArgs) -> Result<Synth> {
        if !(0.0..=1.0).contains(&args.bad_rows) {
            bail!("--bad-rows must be between 0.0 and 1.0");
        }
        let m = args.messy;
        let kommun_number = u64::from(args.kommun.as_str().parse::<u16>().unwrap_or(0));
        Ok(Synth {
            options: SynthOptions {
                projects: args.projects,
                period: args.period,
                participants: args.participants,
                seed: args.seed ^ kommun_number << 32,
                style: Style {
                    semicolons: args.semicolons || m,
                    tabs: args.tabs,
                    bom: args.bom,
                    windows_1252: args.windows_1252 || m,
                    short_personnummer: args.short_personnummer || m,
                    swedish: args.swedish || m,
                    crlf: args.crlf || m,
                    compact_dates: args.compact_dates || m,
                    extra_columns: args.extra_columns || m,
                    quote_all: args.quote_all,
                },
                bad_rows: args.bad_rows,
            },
            population: Population {
                ages: args.ages,
                movers: args.movers.map(|people| Movers {
                    people,
                    seed: args.seed,
                }),
            },
            out: args.out,
        })
    }

    /// Writes the export and says how many rows it has.
    pub(super) fn run(self) -> Result<ExitCode> {
        let report = write_export_with(&self.out, &self.options, &self.population)
            .with_context(|| format!("writing {}", self.out.display()))?;
        writeln!(
            std::io::stdout().lock(),
            "wrote {}: {} rows ({} made bad on purpose)",
            self.out.display(),
            report.rows,
            report.bad_rows
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
