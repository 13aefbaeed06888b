//! Arguments, commands and exit codes of `samla-node`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use samla_common::codes::ProjectCode;
use samla_common::disclosure::{disclose, DisclosureRule};
use samla_common::period::{parse_date, Period};
use samla_node::config::NodeConfig;
use samla_node::ingest::IngestError;
use samla_node::output::{write_file_summary, write_previews, Format, Preview};
use samla_node::synth::{write_export, write_export_with, Movers, Population, Style, SynthOptions};
use samla_node::{keyfile, pipeline};

mod audit;
mod daemon;
mod transfer;

const EXIT_CODES: &str = "\
Exit status:
  0  everything was read and done
  1  some rows were rejected (they are listed, and written to the reject report), or
     a column header looks like a field's but is not read (the fix is printed)
  2  a file, key or config could not be used at all, a stored submission does not
     match what was signed (it is not sent), or the arguments are wrong
  3  the hub could not be reached; submissions wait in the outbox (samla-node send)
  4  the hub refused a submission (the reason is printed)
  5  the hub's transfer log was rewritten: nothing more is sent";

/// samla-node: the kommun side of samla.
///
/// Reads the kommun's participant exports, pseudonymises every personnummer with the
/// region's key, and builds the aggregate tables that are sent to the region's hub.
/// Raw personal data never leaves this machine.
#[derive(Parser)]
#[command(name = "samla-node", version, after_help = EXIT_CODES)]
struct Cli {
    /// The node config (TOML).
    #[arg(
        long,
        global = true,
        env = "SAMLA_NODE_CONFIG",
        default_value = "samla-node.toml"
    )]
    config: PathBuf,

    /// The date that decides the century of 10-digit personnummer [default: today]
    #[arg(long, global = true, value_name = "YYYY-MM-DD")]
    reference_date: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pseudonym master key files.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Write a synthetic export for tests, demos and benchmarks.
    #[command(
        after_help = "Example:\n  samla-node synth --out 2180.csv --project UNG --period 2024 --participants 400 --swedish --semicolons"
    )]
    Synth(SynthArgs),
    /// Check exports and print what was read, accepted, rejected and dropped.
    #[command(after_help = format!("Example:\n  samla-node --config /etc/samla/node.toml check export.csv\n\n{EXIT_CODES}"))]
    Check(CheckArgs),
    /// Show a submission exactly as it would be sent, and after disclosure control.
    #[command(after_help = format!("Example:\n  samla-node preview export.csv --period 2025-H1 --format json\n\n{EXIT_CODES}"))]
    Preview(PreviewArgs),
    /// Create this node's signing key and config, and print what the region registers.
    #[command(
        after_help = "Example:\n  samla-node init --dir /etc/samla --kommun 2180 --project UNG:gavleborg-ung-2023 \\\n    --hub samla.region.se:4433 --hub-name samla.region.se --region-ca ca.crt \\\n    --certificate node-2180.crt --private-key node-2180.key --receipt-key <hex>"
    )]
    Init(InitArgs),
    /// Build, sign and send a submission for a period; it waits in the outbox until the
    /// hub's receipt is verified.
    #[command(after_help = format!("Example:\n  samla-node submit export.csv --period 2025-H1\n\n{EXIT_CODES}"))]
    Submit(SubmitArgs),
    /// Run as a daemon: submit each new export from the inbox (and/or a scheduled
    /// export file) for its closed periods, and deliver the outbox with backoff.
    #[command(
        after_help = "Examples:\n  samla-node --config /etc/samla/samla-node.toml run\n  samla-node run --once        # one round, for cron or a test\n\nStops cleanly on SIGTERM or SIGINT. Exit status: 0 stopped, 2 could not run,\n5 the hub's transfer log was rewritten (nothing more is sent)."
    )]
    Run(daemon::RunArgs),
    /// Send what waits in the outbox.
    #[command(after_help = format!("Example:\n  samla-node send --give-up-after 600\n\n{EXIT_CODES}"))]
    Send(SendArgs),
    /// List submissions waiting in the outbox.
    #[command(after_help = "Example:\n  samla-node outbox")]
    Outbox,
    /// List every submission: sent, acknowledged by the hub, or refused.
    #[command(after_help = "Example:\n  samla-node status")]
    Status,
    /// Audit this node's transfer log: verify, show, payload, export, cross-check.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Run the whole offline pipeline on synthetic data in a fresh directory.
    #[command(after_help = "Example:\n  samla-node demo --dir /tmp/samla-demo")]
    Demo(DemoArgs),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create a new random master secret (file mode 0600; never overwrites).
    #[command(
        after_help = "Example:\n  samla-node key generate --out /etc/samla/master.key\n\nOne kommun creates the key; every kommun of the region installs the same file.\nThe hub never gets it."
    )]
    Generate {
        /// Where to write the key file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the key id of a key file (names the key, reveals nothing).
    #[command(after_help = "Example:\n  samla-node key id /etc/samla/master.key")]
    Id {
        /// The key file.
        file: PathBuf,
    },
}

#[derive(Args)]
struct SynthArgs {
    /// Where to write (`.csv`, or `.xlsx` for a spreadsheet).
    #[arg(long)]
    out: PathBuf,
    /// The kommun (varies the data; the code is not written into the file).
    #[arg(long, default_value = "2180")]
    kommun: String,
    /// Project code(s); repeat for several.
    #[arg(long = "project", default_value = "UNG")]
    projects: Vec<String>,
    /// Start dates fall in this period (2024, 2024-H1, 2023-09-01..2026-08-31, …).
    #[arg(long, default_value = "2024")]
    period: String,
    /// Number of distinct people.
    #[arg(long, default_value_t = 300)]
    participants: usize,
    /// Random seed; the same seed gives the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only people of these ages on each start date, as the project's target group
    /// (e.g. 15-24).
    #[arg(long, value_name = "LOW-HIGH")]
    ages: Option<String>,
    /// This many of the people also appear in every other kommun's export written
    /// with the same --movers, --seed, --period and --ages.
    #[arg(long, value_name = "N")]
    movers: Option<usize>,
    /// Share of rows made bad (0.0 to 1.0), rotating through the kinds of error.
    #[arg(long, default_value_t = 0.0)]
    bad_rows: f64,
    /// `;` as delimiter.
    #[arg(long)]
    semicolons: bool,
    /// Tab as delimiter.
    #[arg(long)]
    tabs: bool,
    /// Start with a UTF-8 byte order mark.
    #[arg(long)]
    bom: bool,
    /// Encode as Windows-1252.
    #[arg(long)]
    windows_1252: bool,
    /// 10-digit personnummer with `-` or `+`.
    #[arg(long)]
    short_personnummer: bool,
    /// Swedish headers and values.
    #[arg(long)]
    swedish: bool,
    /// CRLF line endings.
    #[arg(long)]
    crlf: bool,
    /// Dates as 20240305.
    #[arg(long)]
    compact_dates: bool,
    /// Add name and address columns (which the node drops).
    #[arg(long)]
    extra_columns: bool,
    /// Quote every field.
    #[arg(long)]
    quote_all: bool,
    /// All of the messy forms at once (semicolons, BOM-less Windows-1252, short
    /// personnummer, Swedish, CRLF, compact dates, extra columns).
    #[arg(long)]
    messy: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// Export files (CSV or .xlsx).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Where to write the reject report (CSV) if any row is rejected.
    #[arg(long, default_value = "rejects.csv")]
    rejects: PathBuf,
}

/// What to build a submission from: the exports, the period and the projects.
#[derive(Args)]
struct BuildArgs {
    /// Export files (CSV or .xlsx).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The period: 2025, 2025-H1, 2025-Q3, 2025-07, 2025-03-01..2025-08-31, or
    /// `lifetime` (with one --project).
    #[arg(long)]
    period: String,
    /// Only these projects (default: every project in the config).
    #[arg(long = "project")]
    projects: Vec<String>,
    /// Where to write the reject report (CSV) if any row is rejected.
    #[arg(long, default_value = "rejects.csv")]
    rejects: PathBuf,
}

#[derive(Args)]
struct PreviewArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Threshold for disclosure control [default: from the config, else 5].
    #[arg(long)]
    k: Option<u64>,
}

#[derive(Args)]
struct InitArgs {
    /// Directory for the config and the signing key (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// The kommun's SCB code.
    #[arg(long)]
    kommun: String,
    /// A project and its linkage domain, as CODE:DOMAIN (repeat for several).
    #[arg(long = "project", required = true)]
    projects: Vec<String>,
    /// The region's pseudonym master key file.
    #[arg(long, default_value = "master.key")]
    key_file: PathBuf,
    /// The hub's address, host:port.
    #[arg(long)]
    hub: String,
    /// The name on the hub's certificate [default: the host of --hub]
    #[arg(long)]
    hub_name: Option<String>,
    /// The region CA certificate.
    #[arg(long)]
    region_ca: PathBuf,
    /// This node's certificate from the region CA.
    #[arg(long)]
    certificate: PathBuf,
    /// Its private key.
    #[arg(long)]
    private_key: PathBuf,
    /// The hub's receipt key (printed by `samla-hub init`).
    #[arg(long)]
    receipt_key: String,
    /// The name of the hub's transfer log (log_origin in the hub config).
    #[arg(long, default_value = "samla-hub")]
    log_origin: String,
}

#[derive(Args)]
struct SubmitArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// Build and send even if some rows were rejected (they are left out).
    #[arg(long)]
    accept_rejects: bool,
    #[command(flatten)]
    send: SendArgs,
}

#[derive(Args)]
struct SendArgs {
    /// Keep retrying an unreachable hub for this many seconds before leaving the
    /// submissions in the outbox.
    #[arg(long, default_value_t = 300)]
    give_up_after: u64,
    /// First wait between retries, in milliseconds (doubles up to --max-retry-wait).
    #[arg(long, default_value_t = 1000)]
    retry_wait: u64,
    /// Longest wait between retries, in seconds.
    #[arg(long, default_value_t = 60)]
    max_retry_wait: u64,
}

#[derive(Args)]
struct DemoArgs {
    /// Directory to work in (created; must be empty if it exists) [default: a new temporary directory]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Number of synthetic participants.
    #[arg(long, default_value_t = 400)]
    participants: usize,
}

/// Runs the command line and turns the outcome into an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samla-node: {}", chain(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, followed by any hint the innermost gave.
fn chain(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let reference = match &cli.reference_date {
        Some(text) => parse_date(text).context("--reference-date")?,
        None => time::OffsetDateTime::now_utc().date(),
    };
    match cli.command {
        Command::Key(KeyCommand::Generate { out }) => {
            let secret = keyfile::generate(&out)?;
            println!(
                "wrote new master key {} (key id {})",
                out.display(),
                secret.key_id()
            );
            println!("Give the same file to every kommun node of the region, never to the hub.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(KeyCommand::Id { file }) => {
            println!("{}", keyfile::load(&file)?.key_id());
            Ok(ExitCode::SUCCESS)
        }
        Command::Synth(args) => synth(args),
        Command::Check(args) => check(&cli.config, reference, args),
        Command::Preview(args) => preview(&cli.config, reference, args),
        Command::Demo(args) => demo(reference, args),
        Command::Init(args) => transfer::init(args),
        Command::Submit(args) => transfer::submit(&cli.config, reference, args),
        Command::Send(args) => transfer::send(&cli.config, args),
        Command::Run(args) => daemon::run(&cli.config, args),
        Command::Outbox => transfer::list(&cli.config, true),
        Command::Status => transfer::list(&cli.config, false),
        Command::Audit(command) => audit::run(&cli.config, command),
    }
}

fn synth(args: SynthArgs) -> Result<ExitCode> {
    let period: Period = args.period.parse()?;
    let projects = args
        .projects
        .iter()
        .map(|p| p.parse::<ProjectCode>())
        .collect::<Result<Vec<_>, _>>()?;
    if !(0.0..=1.0).contains(&args.bad_rows) {
        bail!("--bad-rows must be between 0.0 and 1.0");
    }
    let kommun: samla_common::codes::KommunCode = args.kommun.parse()?;
    let m = args.messy;
    let options = SynthOptions {
        projects,
        period,
        participants: args.participants,
        seed: args.seed ^ u64::from(kommun.as_str().parse::<u16>().unwrap_or(0)) << 32,
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
    };
    let ages = args
        .ages
        .as_deref()
        .map(|text| {
            text.split_once('-')
                .and_then(|(low, high)| Some((low.trim().parse().ok()?, high.trim().parse().ok()?)))
                .filter(|(low, high): &(u8, u8)| low <= high)
                .with_context(|| {
                    format!("--ages {text}: write the youngest and oldest age, e.g. 15-24")
                })
        })
        .transpose()?;
    let population = Population {
        ages,
        movers: args.movers.map(|people| Movers {
            people,
            seed: args.seed,
        }),
    };
    let report = write_export_with(&args.out, &options, &population)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {}: {} rows ({} made bad on purpose)",
        args.out.display(),
        report.rows,
        report.bad_rows
    );
    Ok(ExitCode::SUCCESS)
}

fn load_config(path: &Path) -> Result<NodeConfig> {
    NodeConfig::load(path).map_err(|e| {
        let hint = if matches!(e, samla_node::config::ConfigError::Read { .. }) {
            "\n\nGive the node config with --config FILE (or SAMLA_NODE_CONFIG); configs/ has examples."
        } else {
            ""
        };
        anyhow::anyhow!("{e}{hint}")
    })
}

fn check(config: &Path, reference: time::Date, args: CheckArgs) -> Result<ExitCode> {
    let config = load_config(config)?;
    let settings = pipeline::ingest_settings(&config, &config.project_codes(), reference);
    let mut out = std::io::stdout().lock();
    let mut unreadable = false;
    let mut summaries = Vec::new();
    for result in pipeline::check(&args.files, &settings) {
        match result {
            Ok(summary) => {
                write_file_summary(&mut out, &summary)?;
                summaries.push(summary);
            }
            Err(e) => {
                out.flush()?;
                eprintln!("samla-node: {e}");
                unreadable = true;
            }
        }
    }
    let rejected = finish_rejects(&args.rejects, &summaries, &mut out)?
        || summaries.iter().any(|s| !s.header_warnings.is_empty());
    Ok(if unreadable {
        ExitCode::from(2)
    } else if rejected {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the reject report if anything was rejected; says where. Returns whether it did.
fn finish_rejects(
    path: &Path,
    summaries: &[samla_node::ingest::FileSummary],
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

/// The projects named by `--project` (all if none) and the period of `--period`.
fn select(
    config: &NodeConfig,
    projects: &[String],
    period: &str,
) -> Result<(Vec<ProjectCode>, Period)> {
    let projects = projects
        .iter()
        .map(|p| {
            config
                .projects
                .iter()
                .find(|c| c.code.as_str().eq_ignore_ascii_case(p))
                .map(|c| c.code.clone())
                .with_context(|| format!("--project {p}: not in {}", config.path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let only = match projects.as_slice() {
        [one] => config.projects.iter().find(|p| &p.code == one),
        _ => None,
    };
    let period = config
        .period(period, only)
        .map_err(anyhow::Error::msg)
        .context("--period")?;
    Ok((projects, period))
}

fn preview(config_path: &Path, reference: time::Date, args: PreviewArgs) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let (projects, period) = select(&config, &args.build.projects, &args.build.period)?;
    let master = keyfile::load(&config.key_file)?;
    let built = match pipeline::build(
        &config,
        &master,
        &args.build.files,
        period,
        &projects,
        reference,
    ) {
        Ok(built) => built,
        Err(e @ IngestError::Io { .. }) => return Err(e.into()),
        Err(e) => {
            eprintln!("samla-node: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    drop(master);
    let rule = DisclosureRule {
        k: args.k.unwrap_or(config.disclosure.k),
    };
    let disclosed = built
        .statistics
        .iter()
        .map(|s| disclose(s, rule))
        .collect::<Result<Vec<_>, _>>()?;
    let previews: Vec<Preview<'_>> = built
        .statistics
        .iter()
        .zip(&disclosed)
        .map(|(statistics, disclosed)| Preview {
            statistics,
            disclosed,
        })
        .collect();
    let mut stdout = std::io::stdout().lock();
    write_previews(&mut stdout, &previews, &built.files, args.format)?;
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
        finish_rejects(&args.build.rejects, &built.files, &mut err)? || built.header_warnings() > 0;
    Ok(if rejected {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn demo(reference: time::Date, args: DemoArgs) -> Result<ExitCode> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("samla-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if std::fs::read_dir(&dir)?.next().is_some() {
        bail!(
            "{} is not empty\n\nGive an empty or new directory with --dir.",
            dir.display()
        );
    }
    let key = dir.join("master.key");
    keyfile::generate(&key)?;
    let config_path = dir.join("samla-node.toml");
    std::fs::write(
        &config_path,
        "# Demo node: Gävle in UNG – Ung Nu Gävleborg.\nkommun = \"2180\"\nkey_file = \"master.key\"\n\n\
         [[project]]\ncode = \"UNG\"\nlinkage_domain = \"gavleborg-ung-2023\"\nstart = \"2023-09-01\"\nend = \"2026-08-31\"\n",
    )?;
    let export = dir.join("2180-ung.csv");
    let options = SynthOptions {
        projects: vec!["UNG".parse()?],
        period: "2023-09-01..2026-08-31".parse()?,
        participants: args.participants,
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
    println!("samla demo in {}\n", dir.display());
    println!(
        "1. key generate  -> {} (key id {})",
        key.display(),
        keyfile::load(&key)?.key_id()
    );
    println!(
        "2. synth         -> {} ({} rows, {} bad on purpose)",
        export.display(),
        report.rows,
        report.bad_rows
    );
    println!("3. check:\n");
    let rejects = dir.join("rejects.csv");
    check(
        &config_path,
        reference,
        CheckArgs {
            files: vec![export.clone()],
            rejects: rejects.clone(),
        },
    )?;
    println!("\n4. preview --period 2025 (exact tables, then after disclosure control):\n");
    let preview_args = |format| PreviewArgs {
        build: BuildArgs {
            files: vec![export.clone()],
            period: "2025".to_owned(),
            projects: vec![],
            rejects: rejects.clone(),
        },
        format,
        k: None,
    };
    preview(&config_path, reference, preview_args(Format::Table))?;
    println!(
        "\nFiles are in {}: the config, the key, the export and the reject report.",
        dir.display()
    );
    println!(
        "Try: samla-node --config {} preview {} --period 2025 --format json",
        config_path.display(),
        export.display()
    );
    Ok(ExitCode::SUCCESS)
}
