//! The raw flags of `samla-hub`, as clap parses them: every command, each flag's help
//! beside its definition, and an example per command. Values with a type are parsed
//! here (a kommun code, a date, an address, a submission id), so a malformed one is a
//! usage error before anything runs; each command's module then turns its arguments
//! into a checked configuration (config read, keys and database opened) before it
//! does any work.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use samla_cli_common::args::{date, LangArg, PayloadFormatArg, ReportFormatArg, ShowFormatArg};
use samla_common::codes::KommunCode;

/// samla-hub: the region side of samla.
///
/// Receives kommun nodes' signed submissions over QUIC with mutual TLS, verifies and
/// stores them, and answers each with a signed receipt.
#[derive(Parser)]
#[command(
    name = "samla-hub",
    version,
    after_help = "Exit status: 0 success, 2 failure (the message says why)."
)]
pub(super) struct Cli {
    /// Log as JSON lines (for a log collector) instead of readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// The region's certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Create the hub's receipt signing key and a config to edit.
    #[command(after_help = "Example:\n  samla-hub init --dir /etc/samla-hub")]
    Init(InitArgs),
    /// Audit the transfer log: verify, show, payload, export, report, cross-check.
    /// Swedish by default; --lang en for English.
    Audit(AuditArgs),
    /// Report a project's figures per kommun and for the region, under disclosure control.
    #[command(
        after_help = "Examples:\n  samla-hub report --project UNG --period 2025\n  samla-hub report --project UNG --period 2025-H1 --format html --out ung-2025h1.html\n  samla-hub report --project UNG --format px --out px/ --lang en\n  samla-hub report --project UNG --period 2025 --kommun 2180 --kommun 2181 --format csv"
    )]
    Report(super::report::ReportArgs),
    /// Build a complete local demo region: CA, hub, nine kommun nodes, synthetic
    /// exports, real QUIC submissions, the regional report and a verified audit
    /// (with --custodians, also the key custodians and no master key).
    #[cfg(feature = "demo")]
    #[command(
        after_help = "Examples:\n  samla-hub demo\n  samla-hub demo --dir ./demo-region --lang en\n  samla-hub demo --custodians 3      # custodian mode: 2 of 3 key custodians, no master key\n\nWith cargo, on a fresh clone: cargo run --release -p samla-hub -- demo"
    )]
    Demo(DemoArgs),
    /// Say whether the hub on this machine is running and ready, and what it holds.
    #[command(
        after_help = "Example:\n  samla-hub status --config /etc/samla-hub/hub.toml\n\nExit status: 0 running and ready, 1 not running or not ready, 2 could not look."
    )]
    Status(ConfigArg),
    /// Run the hub.
    #[command(
        after_help = "Example:\n  samla-hub serve --config /etc/samla-hub/hub.toml\n\nStops cleanly on SIGTERM or SIGINT: no new connections, submissions in flight\nfinish, then the endpoint closes. `samla-hub status` shows whether it is ready."
    )]
    Serve(ServeArgs),
}

/// The hub config, for the commands that read it.
#[derive(Args)]
pub(super) struct ConfigArg {
    /// The hub config.
    #[arg(long, env = "SAMLA_HUB_CONFIG", default_value = "hub.toml")]
    pub config: PathBuf,
}

/// `samla-hub init`.
#[derive(Args)]
pub(super) struct InitArgs {
    /// Directory for hub.toml and receipt.key.
    #[arg(long)]
    pub dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:4433")]
    pub listen: SocketAddr,
}

/// `samla-hub serve`.
#[derive(Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Listen here instead of the config's address (port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

/// `samla-hub audit`.
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
    /// Check the log: every entry against every signed checkpoint.
    #[command(
        after_help = "Examples:\n  samla-hub audit verify --config /etc/samla-hub/hub.toml\n  samla-hub audit verify --bundle /media/usb/hub-bundle\n\nExit status: 0 the log verifies, 1 findings (each names the entry at fault), 2 could not run."
    )]
    Verify {
        #[command(flatten)]
        source: Source,
    },
    /// List the submissions received (one summary line each) and the log's entries,
    /// in local time (no personal data: ids, kommuner, summaries).
    #[command(
        after_help = "Examples:\n  samla-hub audit show\n  samla-hub audit show --format csv > transfers.csv"
    )]
    Show {
        #[command(flatten)]
        source: Source,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormatArg::Table)]
        format: ShowFormatArg,
    },
    /// Show exactly what one submission contained: its tables, and (with --format
    /// json) the pseudonyms of its linkage sets.
    #[command(
        after_help = "Examples:\n  samla-hub audit payload 3f5a0c1e\n  samla-hub audit payload 3f5a0c1e --format json > submission.json"
    )]
    Payload {
        #[command(flatten)]
        config: ConfigArg,
        /// The submission id, or a unique prefix of at least 8 hex characters.
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PayloadFormatArg::Table)]
        format: PayloadFormatArg,
    },
    /// Write a self-contained bundle of the log for a privacy officer.
    #[command(
        after_help = "Examples:\n  samla-hub audit export /media/usb/hub-bundle\n  samla-hub audit export --with-content /media/usb/hub-bundle"
    )]
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// Directory to write hub-bundle.json, content.json and README.md into.
        dir: PathBuf,
        /// Also write each submission's aggregate tables (no pseudonyms).
        #[arg(long)]
        with_content: bool,
        /// Also write the linkage sets' pseudonyms (only when asked).
        #[arg(long, requires = "with_content")]
        with_pseudonyms: bool,
    },
    /// Write an audit report to archive: what was checked and found, one line per
    /// submission, and the whole log.
    #[command(
        after_help = "Example:\n  samla-hub audit report --format html --out granskning-2025.html"
    )]
    Report {
        #[command(flatten)]
        config: ConfigArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormatArg::Text)]
        format: ReportFormatArg,
        /// File to write (never overwritten) [default: standard output].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a node's bundle against a hub bundle.
    #[command(
        after_help = "Example:\n  samla-hub audit cross-check node-2180-bundle hub-bundle\n\nExit status: 0 they agree, 1 findings, 2 could not run."
    )]
    CrossCheck {
        /// The node's bundle (directory or node-bundle.json).
        node: PathBuf,
        /// The hub's bundle (directory or hub-bundle.json).
        hub: PathBuf,
    },
}

/// Where the log to audit comes from: the hub's own database, or an exported bundle.
#[derive(Args)]
pub(super) struct Source {
    /// The hub config (its database is read).
    #[arg(long, env = "SAMLA_HUB_CONFIG", default_value = "hub.toml")]
    pub config: PathBuf,
    /// An exported bundle instead (directory or hub-bundle.json).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(super) enum CaCommand {
    /// Create the region CA (ca.crt, ca.key).
    #[command(
        after_help = "Example:\n  samla-hub ca init --dir /etc/samla-hub/ca --name \"Region Gävleborg samla CA\""
    )]
    Init {
        /// Directory for the CA.
        #[arg(long)]
        dir: PathBuf,
        /// The CA's name.
        #[arg(long, default_value = "samla region CA")]
        name: String,
        #[command(flatten)]
        validity: ValidityArgs,
    },
    /// Issue a node's client certificate, naming its kommun.
    #[command(
        after_help = "Example:\n  samla-hub ca issue-node --ca-dir ca --kommun 2180 --out-dir nodes/2180"
    )]
    IssueNode {
        /// The CA directory.
        #[arg(long)]
        ca_dir: PathBuf,
        /// The kommun's SCB code.
        #[arg(long)]
        kommun: KommunCode,
        /// Where to write node-NNNN.crt and node-NNNN.key.
        #[arg(long)]
        out_dir: PathBuf,
        #[command(flatten)]
        validity: ValidityArgs,
    },
    /// Issue the hub's server certificate.
    #[command(
        after_help = "Example:\n  samla-hub ca issue-hub --ca-dir ca --name samla.regiongavleborg.se --organisation \"Region Gävleborg\" --out-dir hub"
    )]
    IssueHub {
        /// The CA directory.
        #[arg(long)]
        ca_dir: PathBuf,
        /// Host names or IP addresses the hub is reached by (repeat for several).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// The organisation that runs the hub, e.g. "Region Gävleborg": written into
        /// the certificate, and named in every node's log of what it sent.
        #[arg(long)]
        organisation: Option<String>,
        /// Where to write hub.crt and hub.key.
        #[arg(long)]
        out_dir: PathBuf,
        #[command(flatten)]
        validity: ValidityArgs,
    },
    /// Issue a key custodian's server certificate from its certificate request.
    #[command(
        after_help = "Example:\n  samla-hub ca issue-custodian --ca-dir ca --csr custodian-1/custodian.csr --name custodian-1.region.example --out-dir custodian-1"
    )]
    IssueCustodian {
        /// The CA directory.
        #[arg(long)]
        ca_dir: PathBuf,
        /// The request from `samla-custodian init` (custodian.csr).
        #[arg(long)]
        csr: PathBuf,
        /// Host names or IP addresses the custodian is reached by (repeat for several).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Where to write custodian.crt.
        #[arg(long)]
        out_dir: PathBuf,
        #[command(flatten)]
        validity: ValidityArgs,
    },
    /// Issue the custodians' setup coordinator its client certificate.
    #[command(
        after_help = "Example:\n  samla-hub ca issue-coordinator --ca-dir ca --out-dir coordinator\n\nEach custodian pins it: `samla-hub ca fingerprint coordinator/coordinator.crt` into\ncoordinators in custodian.toml."
    )]
    IssueCoordinator {
        /// The CA directory.
        #[arg(long)]
        ca_dir: PathBuf,
        /// Where to write coordinator.crt and coordinator.key.
        #[arg(long)]
        out_dir: PathBuf,
        #[command(flatten)]
        validity: ValidityArgs,
    },
    /// Print the SHA-256 fingerprint of a certificate, for pinning a node whose
    /// certificate comes from another PKI (certificate_sha256 in the hub config).
    #[command(after_help = "Example:\n  samla-hub ca fingerprint siths-2180.crt")]
    Fingerprint {
        /// A PEM certificate file.
        file: PathBuf,
    },
    /// Print the line that revokes a certificate, for `revoked_certificates` in the
    /// hub config (by fingerprint, and by serial number).
    #[command(
        after_help = "Example:\n  samla-hub ca revoke-line nodes/2180/node-2180.crt\n\nAdd either printed value to revoked_certificates and restart the hub: from then on\nthe certificate is refused at the handshake, whatever its validity dates."
    )]
    RevokeLine {
        /// A PEM certificate file.
        file: PathBuf,
    },
}

/// How long a certificate is valid.
#[derive(Args)]
pub(super) struct ValidityArgs {
    /// Days the certificate is valid from now.
    #[arg(long, default_value_t = 825)]
    pub days: i64,
    /// Valid from this date instead (YYYY-MM-DD); with --not-after.
    #[arg(long, requires = "not_after", value_parser = date)]
    pub not_before: Option<time::Date>,
    /// Valid until this date instead (YYYY-MM-DD).
    #[arg(long, requires = "not_before", value_parser = date)]
    pub not_after: Option<time::Date>,
}

/// `samla-hub demo`.
#[cfg(feature = "demo")]
#[derive(Args)]
pub(super) struct DemoArgs {
    /// An empty (or new) directory for the region [default: a new directory under
    /// the system's temporary directory].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Label language of the report.
    #[arg(long, value_enum, default_value = "sv")]
    pub lang: samla_hub::report::Lang,
    /// Run the region in custodian mode with this many key custodians (2 to 16; t is
    /// a majority: 3 gives 2 of 3) instead of a shared master key.
    #[arg(long, value_name = "N")]
    pub custodians: Option<u8>,
}
