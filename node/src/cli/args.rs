//! The raw flags of `samla-node`, as clap parses them: every command, each flag's
//! help beside its definition, an example per command and the exit codes. Values with
//! a type are parsed here (a kommun code, a project code, a period, a date, a key), so
//! a malformed one is a usage error before anything runs, and flags that cannot go
//! together are refused by name. Each command's module then turns its arguments into
//! a checked configuration (config read, keys loaded, files checked) before it does
//! any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use samla_cli_common::args::{date, LangArg, PayloadFormatArg, ReportFormatArg, ShowFormatArg};
use samla_common::codes::{KommunCode, ProjectCode};
use samla_common::period::Period;
use samla_common::pseudonym::LinkageDomain;
use samla_common::signing::VerifyingKey;
use samla_node::output::Format;

pub(super) const EXIT_CODES: &str = "\
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
pub(super) struct Cli {
    /// The node config (TOML).
    #[arg(
        long,
        global = true,
        env = "SAMLA_NODE_CONFIG",
        default_value = "samla-node.toml"
    )]
    pub config: PathBuf,

    /// The date that decides the century of 10-digit personnummer [default: today]
    #[arg(long, global = true, value_name = "YYYY-MM-DD", value_parser = date)]
    pub reference_date: Option<time::Date>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub(super) enum Command {
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
        after_help = "Example:\n  samla-node init --dir /etc/samla --kommun 2180 --project UNG:gavleborg-ung-2023:2023-09-01..2026-08-31 \\\n    --hub samla.region.se:4433 --hub-name samla.region.se --region-ca ca.crt \\\n    --certificate node-2180.crt --private-key node-2180.key --receipt-key <hex>"
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
    Run(RunArgs),
    /// Send what waits in the outbox.
    #[command(after_help = format!("Example:\n  samla-node send --give-up-after 600\n\n{EXIT_CODES}"))]
    Send(SendArgs),
    /// List submissions waiting in the outbox.
    #[command(after_help = "Example:\n  samla-node outbox")]
    Outbox,
    /// List every submission: sent, acknowledged by the hub, or refused.
    #[command(after_help = "Example:\n  samla-node status")]
    Status,
    /// Audit this node's transfer log: verify, show, payload, export, report,
    /// cross-check. Swedish by default; --lang en for English.
    Audit(AuditArgs),
    /// Run the whole offline pipeline on synthetic data in a fresh directory.
    #[command(after_help = "Example:\n  samla-node demo --dir /tmp/samla-demo")]
    Demo(DemoArgs),
}

#[derive(Subcommand)]
pub(super) enum KeyCommand {
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

/// `samla-node synth`.
#[derive(Args)]
pub(super) struct SynthArgs {
    /// Where to write (`.csv`, or `.xlsx` for a spreadsheet).
    #[arg(long)]
    pub out: PathBuf,
    /// The kommun (varies the data; the code is not written into the file).
    #[arg(long, default_value = "2180")]
    pub kommun: KommunCode,
    /// Project code(s); repeat for several.
    #[arg(long = "project", default_value = "UNG")]
    pub projects: Vec<ProjectCode>,
    /// Start dates fall in this period (2024, 2024-H1, 2023-09-01..2026-08-31, …).
    #[arg(long, default_value = "2024")]
    pub period: Period,
    /// Number of distinct people.
    #[arg(long, default_value_t = 300)]
    pub participants: usize,
    /// Random seed; the same seed gives the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only people of these ages on each start date, as the project's target group
    /// (e.g. 15-24).
    #[arg(long, value_name = "LOW-HIGH", value_parser = ages)]
    pub ages: Option<(u8, u8)>,
    /// This many of the people also appear in every other kommun's export written
    /// with the same --movers, --seed, --period and --ages.
    #[arg(long, value_name = "N")]
    pub movers: Option<usize>,
    /// Share of rows made bad (0.0 to 1.0), rotating through the kinds of error.
    #[arg(long, default_value_t = 0.0)]
    pub bad_rows: f64,
    /// `;` as delimiter.
    #[arg(long)]
    pub semicolons: bool,
    /// Tab as delimiter.
    #[arg(long, conflicts_with_all = ["semicolons", "messy"])]
    pub tabs: bool,
    /// Start with a UTF-8 byte order mark.
    #[arg(long)]
    pub bom: bool,
    /// Encode as Windows-1252.
    #[arg(long)]
    pub windows_1252: bool,
    /// 10-digit personnummer with `-` or `+`.
    #[arg(long)]
    pub short_personnummer: bool,
    /// Swedish headers and values.
    #[arg(long)]
    pub swedish: bool,
    /// CRLF line endings.
    #[arg(long)]
    pub crlf: bool,
    /// Dates as 20240305.
    #[arg(long)]
    pub compact_dates: bool,
    /// Add name and address columns (which the node drops).
    #[arg(long)]
    pub extra_columns: bool,
    /// Quote every field.
    #[arg(long)]
    pub quote_all: bool,
    /// All of the messy forms at once (semicolons, BOM-less Windows-1252, short
    /// personnummer, Swedish, CRLF, compact dates, extra columns).
    #[arg(long)]
    pub messy: bool,
}

/// `samla-node check`.
#[derive(Args)]
pub(super) struct CheckArgs {
    /// Export files (CSV or .xlsx).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where to write the reject report (CSV) if any row is rejected.
    #[arg(long, default_value = "rejects.csv")]
    pub rejects: PathBuf,
}

/// What to build a submission from: the exports, the period and the projects.
#[derive(Args)]
pub(super) struct BuildArgs {
    /// Export files (CSV or .xlsx).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The period: 2025, 2025-H1, 2025-Q3, 2025-07, 2025-03-01..2025-08-31, or
    /// `lifetime` (with one --project).
    #[arg(long)]
    pub period: String,
    /// Only these projects (default: every project in the config).
    #[arg(long = "project")]
    pub projects: Vec<ProjectCode>,
    /// Where to write the reject report (CSV) if any row is rejected.
    #[arg(long, default_value = "rejects.csv")]
    pub rejects: PathBuf,
}

/// `samla-node preview`.
#[derive(Args)]
pub(super) struct PreviewArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Threshold for disclosure control [default: from the config, else 5].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub k: Option<u64>,
}

/// `samla-node init`.
#[derive(Args)]
pub(super) struct InitArgs {
    /// Directory for the config and the signing key (created if missing).
    #[arg(long)]
    pub dir: PathBuf,
    /// The kommun's SCB code.
    #[arg(long)]
    pub kommun: KommunCode,
    /// A project, its linkage domain and its lifetime, as CODE:DOMAIN:START..END
    /// (e.g. FASETTEN:kronoberg-fasetten-2021:2021-01-04..2023-02-28), or CODE:DOMAIN
    /// with --start and --end; repeat for several.
    #[arg(long = "project", required = true, value_parser = init_project)]
    pub projects: Vec<InitProject>,
    /// The first day of the project's lifetime (with one --project CODE:DOMAIN).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date, requires = "end")]
    pub start: Option<time::Date>,
    /// The last day of the project's lifetime (with one --project CODE:DOMAIN).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date, requires = "start")]
    pub end: Option<time::Date>,
    /// The inbox the daemon watches for exports (created; relative to --dir)
    #[arg(long, default_value = "inbox")]
    pub inbox: PathBuf,
    /// The region's pseudonym master key file.
    #[arg(long, default_value = "master.key")]
    pub key_file: PathBuf,
    /// The hub's address, host:port.
    #[arg(long)]
    pub hub: String,
    /// The name on the hub's certificate [default: the host of --hub]
    #[arg(long)]
    pub hub_name: Option<String>,
    /// The region CA certificate.
    #[arg(long)]
    pub region_ca: PathBuf,
    /// This node's certificate from the region CA.
    #[arg(long)]
    pub certificate: PathBuf,
    /// Its private key.
    #[arg(long)]
    pub private_key: PathBuf,
    /// The hub's receipt key (printed by `samla-hub init`).
    #[arg(long)]
    pub receipt_key: VerifyingKey,
    /// The name of the hub's transfer log (log_origin in the hub config).
    #[arg(long, default_value = "samla-hub")]
    pub log_origin: String,
}

/// `samla-node submit`.
#[derive(Args)]
pub(super) struct SubmitArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Build and send even if some rows were rejected (they are left out).
    #[arg(long)]
    pub accept_rejects: bool,
    #[command(flatten)]
    pub send: SendArgs,
}

/// `samla-node send`, and how `submit` delivers.
#[derive(Args)]
pub(super) struct SendArgs {
    /// Keep retrying an unreachable hub for this many seconds before leaving the
    /// submissions in the outbox.
    #[arg(long, default_value_t = 300)]
    pub give_up_after: u64,
    /// First wait between retries, in milliseconds (doubles up to --max-retry-wait).
    #[arg(long, default_value_t = 1000)]
    pub retry_wait: u64,
    /// Longest wait between retries, in seconds.
    #[arg(long, default_value_t = 60)]
    pub max_retry_wait: u64,
}

/// `samla-node run`.
#[derive(Args)]
pub(super) struct RunArgs {
    /// Log as JSON lines (for a log collector) instead of readable text.
    #[arg(long)]
    pub log_json: bool,
    /// Do one round (read the inbox and scheduled export, try to deliver) and exit.
    #[arg(long)]
    pub once: bool,
}

/// `samla-node audit`.
#[derive(Args)]
pub(super) struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// Language of what is printed: sv (Swedish) or en (English).
    #[arg(long, value_enum, global = true, default_value_t = LangArg::Sv)]
    pub lang: LangArg,
}

#[derive(Subcommand)]
pub(super) enum AuditCommand {
    /// Check the node's log and outbox: the hash chain, the log's signed heads, every
    /// stored submission against its id and the node's signature, and every receipt.
    #[command(
        after_help = "Examples:\n  samla-node audit verify\n  samla-node audit verify --bundle /media/usb/node-bundle\n  samla-node audit verify --hub-bundle /media/usb/hub-bundle\n\nExit status: 0 the log verifies, 1 findings (each names the entry or submission at fault), 2 could not run."
    )]
    Verify {
        /// An exported node bundle instead of this node's database.
        #[arg(long, conflicts_with = "hub_bundle")]
        bundle: Option<PathBuf>,
        /// Verify a hub bundle instead.
        #[arg(long)]
        hub_bundle: Option<PathBuf>,
    },
    /// List the submissions (one summary line each) and the node's transfer log, in
    /// local time (no personal data).
    #[command(
        after_help = "Examples:\n  samla-node audit show\n  samla-node audit show --format csv > logg.csv"
    )]
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormatArg::Table)]
        format: ShowFormatArg,
    },
    /// Show exactly what one submission contained: its tables, and (with --format
    /// json) the pseudonyms of its linkage sets.
    #[command(
        after_help = "Examples:\n  samla-node audit payload 3f5a0c1e\n  samla-node audit payload 3f5a0c1e --format json > submission.json"
    )]
    Payload {
        /// The submission id, or a unique prefix of at least 8 hex characters (as
        /// `samla-node audit show` lists them).
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PayloadFormatArg::Table)]
        format: PayloadFormatArg,
    },
    /// Write a self-contained bundle of the node's log for a privacy officer.
    #[command(
        after_help = "Examples:\n  samla-node audit export /media/usb/node-bundle\n  samla-node audit export --with-content /media/usb/node-bundle"
    )]
    Export {
        /// Directory to write node-bundle.json, content.json and README.md into.
        dir: PathBuf,
        /// Also write each submission's aggregate tables (no pseudonyms).
        #[arg(long)]
        with_content: bool,
        /// Also write the linkage sets' pseudonyms (personal data: only when asked).
        #[arg(long, requires = "with_content")]
        with_pseudonyms: bool,
    },
    /// Write an audit report to archive: what was checked and found, one line per
    /// submission, and the whole log.
    #[command(
        after_help = "Example:\n  samla-node audit report --format html --out granskning-2025.html"
    )]
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormatArg::Text)]
        format: ReportFormatArg,
        /// File to write (never overwritten) [default: standard output].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a node bundle against a hub bundle: every submission this node holds a
    /// receipt for is in the hub's log with the same digest (and, when both bundles
    /// carry content, the same content), and the hub's log holds nothing for this
    /// kommun that the node did not send.
    #[command(
        after_help = "Example:\n  samla-node audit cross-check node-bundle hub-bundle\n\nExit status: 0 they agree, 1 findings, 2 could not run."
    )]
    CrossCheck {
        /// The node's bundle (directory or node-bundle.json).
        node: PathBuf,
        /// The hub's bundle (directory or hub-bundle.json).
        hub: PathBuf,
    },
}

/// `samla-node demo`.
#[derive(Args)]
pub(super) struct DemoArgs {
    /// Directory to work in (created; must be empty if it exists) [default: a new temporary directory]
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Number of synthetic participants.
    #[arg(long, default_value_t = 400)]
    pub participants: usize,
}

/// `LOW-HIGH` of `synth --ages`, for clap's `value_parser`.
fn ages(text: &str) -> Result<(u8, u8), String> {
    text.split_once('-')
        .and_then(|(low, high)| Some((low.trim().parse().ok()?, high.trim().parse().ok()?)))
        .filter(|(low, high): &(u8, u8)| low <= high)
        .ok_or_else(|| "write the youngest and oldest age, e.g. 15-24".to_owned())
}

/// One `init --project`: the project's code, linkage domain and, if given, lifetime.
#[derive(Clone)]
pub(super) struct InitProject {
    pub code: ProjectCode,
    pub domain: LinkageDomain,
    pub lifetime: Option<Period>,
}

/// `CODE:DOMAIN` or `CODE:DOMAIN:START..END` of `init --project`, for clap's
/// `value_parser`.
fn init_project(text: &str) -> Result<InitProject, String> {
    const FORM: &str = "write CODE:LINKAGE-DOMAIN:START..END, e.g. FASETTEN:kronoberg-fasetten-2021:2021-01-04..2023-02-28 (or CODE:LINKAGE-DOMAIN with --start and --end)";
    let mut parts = text.splitn(3, ':');
    let (Some(code), Some(domain)) = (parts.next(), parts.next()) else {
        return Err(FORM.to_owned());
    };
    let lifetime = parts
        .next()
        .map(|p| {
            p.parse::<Period>()
                .map_err(|e| format!("the lifetime {p:?}: {e}; {FORM}"))
        })
        .transpose()?;
    Ok(InitProject {
        code: code
            .parse()
            .map_err(|e: samla_common::codes::CodeError| e.to_string())?,
        domain: domain
            .parse()
            .map_err(|e: samla_common::pseudonym::LinkageDomainError| e.to_string())?,
        lifetime,
    })
}
