//! `samla-node demo`: the node's offline pipeline on synthetic data, in a fresh
//! directory: a key, a messy export, `check`, and `preview` before and after
//! disclosure control.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use samla_cli_common::files;
use samla_node::keyfile;
use samla_node::output::Format;
use samla_node::synth::{write_export, Style, SynthOptions};

use super::args::{BuildArgs, CheckArgs, DemoArgs, PreviewArgs};
use super::check::Check;
use super::preview::Preview;

/// A checked `samla-node demo`: a new or empty directory and the number of people.
pub(super) struct Demo {
    dir: PathBuf,
    participants: usize,
    reference: time::Date,
}

impl Demo {
    /// Picks the directory and checks that it is new or empty.
    pub(super) fn prepare(reference: time::Date, args: DemoArgs) -> Result<Demo> {
        let dir = match args.dir {
            Some(dir) => dir,
            None => std::env::temp_dir().join(format!("samla-demo-{}", std::process::id())),
        };
        samla_cli_common::files::require_new_or_empty_dir(&dir)?;
        Ok(Demo {
            dir,
            participants: args.participants,
            reference,
        })
    }

    /// Writes the key, config and export, then checks and previews the export.
    pub(super) fn run(self) -> Result<ExitCode> {
        let Demo {
            dir,
            participants,
            reference,
        } = self;
        files::create_dir(&dir)?;
        let key = dir.join("master.key");
        keyfile::generate(&key)?;
        let config_path = dir.join("samla-node.toml");
        files::write_public(
            &config_path,
            "# Demo node: Gävle in UNG – Ung Nu Gävleborg.\nkommun = \"2180\"\nkey_file = \"master.key\"\n\n\
             [[project]]\ncode = \"UNG\"\nlinkage_domain = \"gavleborg-ung-2023\"\nstart = \"2023-09-01\"\nend = \"2026-08-31\"\n"
                .as_bytes(),
        )?;
        let export = dir.join("2180-ung.csv");
        let options = SynthOptions {
            projects: vec!["UNG".parse()?],
            period: "2023-09-01..2026-08-31".parse()?,
            participants,
            seed: 2180,
            style: Style {
                semicolons: true,
                windows_1252: true,
                swedish: true,
                crlf: true,
                extra_columns: true,
                ..Style::default()
            },
            bad_rows: 0.01,
        };
        let report = write_export(&export, &options)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "samla demo in {}\n", dir.display())?;
        writeln!(
            out,
            "1. key generate  -> {} (key id {})",
            key.display(),
            keyfile::load(&key)?.key_id()
        )?;
        writeln!(
            out,
            "2. synth         -> {} ({} rows, {} bad on purpose)",
            export.display(),
            report.rows,
            report.bad_rows
        )?;
        writeln!(out, "3. check:\n")?;
        drop(out);
        let rejects = dir.join("rejects.csv");
        let check = CheckArgs {
            files: vec![export.clone()],
            rejects: rejects.clone(),
        };
        Check::prepare(&config_path, reference, check)?.run()?;
        writeln!(
            std::io::stdout(),
            "\n4. preview --period 2025 (exact tables, then after disclosure control):\n"
        )?;
        let preview = PreviewArgs {
            build: BuildArgs {
                files: vec![export.clone()],
                period: "2025".to_owned(),
                projects: vec![],
                rejects,
            },
            format: Format::Table,
            k: None,
        };
        Preview::prepare(&config_path, reference, preview)?.run()?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "\nFiles are in {}: the config, the key, the export and the reject report.",
            dir.display()
        )?;
        writeln!(
            out,
            "Try: samla-node --config {} preview {} --period 2025 --format json",
            config_path.display(),
            export.display()
        )?;
        Ok(ExitCode::SUCCESS)
    }
}
