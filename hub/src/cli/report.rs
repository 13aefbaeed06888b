//! `samla-hub report`: a project's figures for one period, in the format asked for.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use samla_common::statistics::TableName;
use samla_hub::config::HubConfig;
use samla_hub::report::{self, Format, Lang, Request};
use samla_hub::store::Store;

/// The arguments of `samla-hub report`.
#[derive(Args)]
pub struct ReportArgs {
    /// The hub config.
    #[arg(long, env = "SAMLA_HUB_CONFIG", default_value = "hub.toml")]
    config: PathBuf,
    /// The project's code, as in the config's [[project]] sections.
    #[arg(long)]
    project: String,
    /// The period: 2025, 2025-H1, 2025-Q3, 2025-07, 2025-01-01..2025-06-30, or
    /// `lifetime` (the project's whole lifetime, the default).
    #[arg(long, default_value = "lifetime")]
    period: String,
    /// Show only these kommuner's own rows, by code or name (repeat; the regional
    /// figures always cover every kommun that submitted).
    #[arg(long = "kommun")]
    kommuner: Vec<String>,
    /// Make the report even if no kommun submitted the period (it says so at the
    /// top); without it such a report is refused with a non-zero exit.
    #[arg(long)]
    allow_empty: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Label language.
    #[arg(long, value_enum, default_value = "sv")]
    lang: Lang,
    /// Write here instead of standard output. For --format px without --table, a
    /// directory that gets one PX file per table.
    #[arg(long)]
    out: Option<PathBuf>,
    /// For --format px: the one table to write (participants, leavers, …, or esf
    /// for the ESF+ common indicators).
    #[arg(long)]
    table: Option<String>,
    /// Leave out the kommuner whose stored submissions fail the check of their
    /// signed bytes, signature, receipt and log entry (the report says which),
    /// instead of refusing to report.
    #[arg(long)]
    exclude_unverified: bool,
}

/// Runs `samla-hub report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let config = HubConfig::load(&args.config)?;
    let store = Store::open(&config.database)
        .with_context(|| format!("opening {}", config.database.display()))?;
    let period = match args.period.as_str() {
        "lifetime" | "livstid" => None,
        p => Some(p.parse().with_context(|| format!("--period {p}"))?),
    };
    let project = report::find_project(&config, &args.project)?;
    let kommuner = args
        .kommuner
        .iter()
        .map(|k| report::kommun_named(project, k))
        .collect::<Result<Vec<_>, _>>()?;
    let request = Request {
        project: args.project.clone(),
        period,
        kommuner,
        lang: args.lang,
        exclude_unverified: args.exclude_unverified,
        allow_empty: args.allow_empty,
    };
    let trust = samla_hub::audit::trust(&config)?;
    let built = match report::build(
        &store,
        &config,
        &trust,
        &request,
        time::OffsetDateTime::now_utc(),
    ) {
        Err(report::ReportError::Unverified(list)) => {
            bail!("{}", report::refusal(&list, args.lang))
        }
        built => built?,
    };
    if let Some(note) = built.excluded_note() {
        eprintln!("samla-hub: warning: {note}");
        for u in &built.excluded {
            eprintln!("  {}", report::unverified_line(u, args.lang));
        }
    }
    if let Some(notice) = built.empty_notice() {
        eprintln!("warning: {notice}");
    }
    if args.format == Format::Px && args.table.as_deref() == Some(ESF_TABLE) {
        let text = report::render_px_esf(&built);
        match &args.out {
            Some(file) => {
                write(file, &text)?;
                eprintln!("wrote {}", file.display());
            }
            None => print!("{text}"),
        }
        return Ok(());
    }
    let table = match &args.table {
        Some(name) => Some(
            TableName::ALL
                .iter()
                .copied()
                .find(|t| t.code() == name)
                .with_context(|| {
                    let mut names: Vec<&str> = TableName::ALL.iter().map(|t| t.code()).collect();
                    if args.format == Format::Px {
                        names.push(ESF_TABLE);
                    }
                    format!("--table {name}: the tables are {}", names.join(", "))
                })?,
        ),
        None => None,
    };
    if args.format == Format::Px && table.is_none() {
        let Some(dir) = &args.out else {
            bail!("a PX file holds one table: pass --table NAME, or --out DIRECTORY for one file per table");
        };
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for name in TableName::ALL {
            let file = dir.join(format!(
                "{}-{}.px",
                built.project.code.as_str().to_lowercase(),
                name.code()
            ));
            write(&file, &report::render(&built, Format::Px, *name)?)?;
        }
        let file = dir.join(format!(
            "{}-{ESF_TABLE}.px",
            built.project.code.as_str().to_lowercase()
        ));
        write(&file, &report::render_px_esf(&built))?;
        eprintln!(
            "wrote {} PX files to {}",
            TableName::ALL.len() + 1,
            dir.display()
        );
        return Ok(());
    }
    let text = report::render(
        &built,
        args.format,
        table.unwrap_or(TableName::Participants),
    )?;
    match &args.out {
        Some(file) => {
            write(file, &text)?;
            eprintln!("wrote {}", file.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// The `--table` name of the ESF+ indicators' PX file.
const ESF_TABLE: &str = "esf";

fn write(file: &Path, text: &str) -> Result<()> {
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))
}
