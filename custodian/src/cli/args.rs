//! The raw flags of `samla-custodian`, as clap parses them; each command's module
//! then checks them into a configuration (config read, files read, database opened)
//! before any work starts.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use samla_cli_common::args::ShowFormatArg;
use samla_common::pseudonym::LinkageDomain;

/// samla-custodian: one key custodian of a samla region.
///
/// Holds one share of the region's pseudonym key and evaluates kommun nodes' blinded
/// personnummer (RFC 9497 POPRF, t of n custodians), within each kommun's rate limit,
/// logging every request in its own signed, append-only log. It never sees a
/// personnummer, and no one custodian can evaluate alone.
#[derive(Parser)]
#[command(
    name = "samla-custodian",
    version,
    after_help = "Exit status: 0 success, 2 failure (the message says why)."
)]
pub(super) struct Cli {
    /// Log as JSON lines instead of readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Create this custodian's TLS key and certificate request, its log key and a
    /// config to edit.
    #[command(
        after_help = "Example:\n  samla-custodian init --dir /etc/samla-custodian --number 1 --name custodian-1.region.example\n\nThen have the region CA issue the certificate:\n  samla-hub ca issue-custodian --ca-dir ca --csr /etc/samla-custodian/custodian.csr --name custodian-1.region.example --out-dir /etc/samla-custodian"
    )]
    Init(InitArgs),
    /// The key ceremony, on an offline machine: a fresh key shared t of n, the
    /// public key set, and one share file per custodian.
    #[command(
        after_help = "Example:\n  samla-custodian ceremony --threshold 2 --custodians 3 --slots 64 --out /media/ceremony\n\nHand custodian-N.share to custodian N alone (0600, on its own medium) and\nkeyset.bin to every custodian and node; then wipe the machine."
    )]
    Ceremony(CeremonyArgs),
    /// Set a linkage domain up at the custodians (the region's setup coordinator).
    #[command(
        after_help = "Example:\n  samla-custodian setup-domain --coordinator coordinator.toml --domain gavleborg-ung-2023 --slot 0\n\nEach slot serves one domain, ever: give a slot no domain has used."
    )]
    SetupDomain(SetupArgs),
    /// Run the custodian.
    #[command(
        after_help = "Example:\n  samla-custodian serve --config /etc/samla-custodian/custodian.toml\n\nStops cleanly on SIGTERM or SIGINT."
    )]
    Serve(ServeArgs),
    /// Say whether the custodian is running, and each kommun's use of its limit.
    #[command(
        after_help = "Example:\n  samla-custodian status --config /etc/samla-custodian/custodian.toml\n\nExit status: 0 running and ready, 1 not running or not ready, 2 could not look."
    )]
    Status(ConfigArg),
    /// Audit the custodian's log: verify, show, export.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// The custodian config.
#[derive(Args)]
pub(super) struct ConfigArg {
    /// The custodian config.
    #[arg(long, env = "SAMLA_CUSTODIAN_CONFIG", default_value = "custodian.toml")]
    pub config: PathBuf,
}

/// `init`.
#[derive(Args)]
pub(super) struct InitArgs {
    /// Directory for custodian.toml and the keys.
    #[arg(long)]
    pub dir: PathBuf,
    /// This custodian's number in the key set (1 to n).
    #[arg(long)]
    pub number: u8,
    /// The host name (or IP address) nodes reach this custodian by.
    #[arg(long)]
    pub name: String,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:4500")]
    pub listen: SocketAddr,
}

/// `ceremony`.
#[derive(Args)]
pub(super) struct CeremonyArgs {
    /// Custodians needed for an evaluation (t).
    #[arg(long, default_value_t = 2)]
    pub threshold: u8,
    /// Custodians holding shares (n).
    #[arg(long, default_value_t = 3)]
    pub custodians: u8,
    /// Domain slots to deal (one per linkage domain the key will ever serve).
    #[arg(long, default_value_t = 64)]
    pub slots: u16,
    /// A new or empty directory for keyset.bin and the share files.
    #[arg(long)]
    pub out: PathBuf,
}

/// `setup-domain`.
#[derive(Args)]
pub(super) struct SetupArgs {
    /// The coordinator config (its certificate, the key set and the custodians).
    #[arg(long)]
    pub coordinator: PathBuf,
    /// The linkage domain to set up.
    #[arg(long)]
    pub domain: LinkageDomain,
    /// The slot to spend on it.
    #[arg(long)]
    pub slot: u16,
}

/// `serve`.
#[derive(Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Listen here instead of the config's address (port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

#[derive(Subcommand)]
pub(super) enum AuditCommand {
    /// Check the log: every entry against every signed checkpoint.
    #[command(
        after_help = "Examples:\n  samla-custodian audit verify --config custodian.toml\n  samla-custodian audit verify --bundle /media/usb/custodian-1\n\nExit status: 0 the log verifies, 1 findings, 2 could not run."
    )]
    Verify {
        #[command(flatten)]
        source: Source,
    },
    /// List the log's entries (kommun, count, domain, time; never inputs or outputs).
    #[command(
        after_help = "Example:\n  samla-custodian audit show --format csv > custodian-1.csv"
    )]
    Show {
        #[command(flatten)]
        source: Source,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormatArg::Table)]
        format: ShowFormatArg,
    },
    /// Write the log as a bundle for a privacy officer.
    #[command(after_help = "Example:\n  samla-custodian audit export /media/usb/custodian-1")]
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// Directory to write custodian-bundle.json and README.md into.
        dir: PathBuf,
    },
}

/// The custodian's database, or an exported bundle.
#[derive(Args)]
pub(super) struct Source {
    #[command(flatten)]
    pub config: ConfigArg,
    /// An exported bundle (its directory or custodian-bundle.json) instead.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
}
