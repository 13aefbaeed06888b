//! The `samla-hub` command line. Thin glue over the library and `samla-common`.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use samla_hub::ca::{self, Validity};
use samla_hub::config::HubConfig;
use samla_hub::files;
use samla_hub::server::Hub;

mod cli;

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
struct Cli {
    /// Log as JSON lines (for a log collector) instead of readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The region's certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Create the hub's receipt signing key and a config to edit.
    #[command(after_help = "Example:\n  samla-hub init --dir /etc/samla-hub")]
    Init {
        /// Directory for hub.toml and receipt.key.
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:4433")]
        listen: String,
    },
    /// Audit the transfer log: verify, show, payload, export, cross-check.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Report a project's figures per kommun and for the region, under disclosure control.
    #[command(
        after_help = "Examples:\n  samla-hub report --project UNG --period 2025\n  samla-hub report --project UNG --period 2025-H1 --format html --out ung-2025h1.html\n  samla-hub report --project UNG --format px --out px/ --lang en\n  samla-hub report --project UNG --period 2025 --kommun 2180 --kommun 2181 --format csv"
    )]
    Report(cli::report::ReportArgs),
    /// Build a complete local demo region: CA, hub, nine kommun nodes, synthetic
    /// exports, real QUIC submissions, the regional report and a verified audit.
    #[cfg(feature = "demo")]
    #[command(
        after_help = "Examples:\n  samla-hub demo\n  samla-hub demo --dir ./demo-region --lang en\n\nWith cargo, on a fresh clone: cargo run --release -p samla-hub -- demo"
    )]
    Demo(cli::demo::DemoArgs),
    /// Say whether the hub on this machine is running and ready, and what it holds.
    #[command(
        after_help = "Example:\n  samla-hub status --config /etc/samla-hub/hub.toml\n\nExit status: 0 running and ready, 1 not running or not ready, 2 could not look."
    )]
    Status {
        /// The hub config.
        #[arg(long, env = "SAMLA_HUB_CONFIG", default_value = "hub.toml")]
        config: PathBuf,
    },
    /// Run the hub.
    #[command(
        after_help = "Example:\n  samla-hub serve --config /etc/samla-hub/hub.toml\n\nStops cleanly on SIGTERM or SIGINT: no new connections, submissions in flight\nfinish, then the endpoint closes. `samla-hub status` shows whether it is ready."
    )]
    Serve {
        /// The hub config.
        #[arg(long, env = "SAMLA_HUB_CONFIG", default_value = "hub.toml")]
        config: PathBuf,
        /// Listen here instead of the config's address (port 0 picks a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the log: every entry against every signed checkpoint.
    #[command(
        after_help = "Examples:\n  samla-hub audit verify --config /etc/samla-hub/hub.toml\n  samla-hub audit verify --bundle /media/usb/hub-bundle\n\nExit status: 0 the log verifies, 1 findings (each names the entry at fault), 2 could not run."
    )]
    Verify {
        #[command(flatten)]
        source: Source,
    },
    /// List the log's entries (no personal data: ids, kommuner, summaries).
    #[command(after_help = "Example:\n  samla-hub audit show --format csv > transfers.csv")]
    Show {
        #[command(flatten)]
        source: Source,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormatArg::Table)]
        format: ShowFormatArg,
    },
    /// Print exactly what one submission contained, decoded (tables and pseudonyms).
    #[command(after_help = "Example:\n  samla-hub audit payload 3f5a…e1 > submission.json")]
    Payload {
        /// The hub config.
        #[arg(long, env = "SAMLA_HUB_CONFIG", default_value = "hub.toml")]
        config: PathBuf,
        /// The submission id (64 hex characters).
        id: String,
    },
    /// Write a self-contained bundle of the log for a privacy officer.
    #[command(after_help = "Example:\n  samla-hub audit export /media/usb/hub-bundle")]
    Export {
        /// The hub config.
        #[arg(long, env = "SAMLA_HUB_CONFIG", default_value = "hub.toml")]
        config: PathBuf,
        /// Directory to write hub-bundle.json and README.md into.
        dir: PathBuf,
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
struct Source {
    /// The hub config (its database is read).
    #[arg(long, env = "SAMLA_HUB_CONFIG", default_value = "hub.toml")]
    config: PathBuf,
    /// An exported bundle instead (directory or hub-bundle.json).
    #[arg(long)]
    bundle: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ShowFormatArg {
    Table,
    Json,
    Csv,
}

impl From<ShowFormatArg> for samla_common::audit::ShowFormat {
    fn from(f: ShowFormatArg) -> Self {
        match f {
            ShowFormatArg::Table => samla_common::audit::ShowFormat::Table,
            ShowFormatArg::Json => samla_common::audit::ShowFormat::Json,
            ShowFormatArg::Csv => samla_common::audit::ShowFormat::Csv,
        }
    }
}

#[derive(Subcommand)]
enum CaCommand {
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
        kommun: String,
        /// Where to write node-NNNN.crt and node-NNNN.key.
        #[arg(long)]
        out_dir: PathBuf,
        #[command(flatten)]
        validity: ValidityArgs,
    },
    /// Issue the hub's server certificate.
    #[command(
        after_help = "Example:\n  samla-hub ca issue-hub --ca-dir ca --name samla.regiongavleborg.se --out-dir hub"
    )]
    IssueHub {
        /// The CA directory.
        #[arg(long)]
        ca_dir: PathBuf,
        /// Host names or IP addresses the hub is reached by (repeat for several).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Where to write hub.crt and hub.key.
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

#[derive(Args)]
struct ValidityArgs {
    /// Days the certificate is valid from now.
    #[arg(long, default_value_t = 825)]
    days: i64,
    /// Valid from this date instead (YYYY-MM-DD); with --not-after.
    #[arg(long, requires = "not_after")]
    not_before: Option<String>,
    /// Valid until this date instead (YYYY-MM-DD).
    #[arg(long, requires = "not_before")]
    not_after: Option<String>,
}

impl ValidityArgs {
    fn validity(&self) -> Result<Validity> {
        let now = time::OffsetDateTime::now_utc();
        match (&self.not_before, &self.not_after) {
            (Some(from), Some(to)) => {
                let date = |s: &str| -> Result<time::OffsetDateTime> {
                    Ok(samla_common::period::parse_date(s)?.midnight().assume_utc())
                };
                Ok(Validity {
                    not_before: date(from)?,
                    not_after: date(to)?,
                })
            }
            _ => Ok(Validity::days_from(now, self.days)),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own account of what happens; the server's lines would bury it.
    #[cfg(feature = "demo")]
    let default_level = if matches!(cli.command, Command::Demo(_)) {
        "warn"
    } else {
        "info"
    };
    #[cfg(not(feature = "demo"))]
    let default_level = "info";
    samla_cli_common::logging::init_logging(cli.log_json, default_level);
    match run(cli) {
        Ok(code) => code,
        Err(e) => samla_cli_common::error::exit("samla-hub", &e, 2),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::Audit(command) = cli.command {
        return audit(command);
    }
    match cli.command {
        Command::Ca(CaCommand::Init {
            dir,
            name,
            validity,
        }) => {
            let w = ca::init(&dir, &name, validity.validity()?)?;
            println!(
                "wrote {} and {} (keep the key offline)",
                w.certificate.display(),
                w.private_key.display()
            );
        }
        Command::Ca(CaCommand::IssueNode {
            ca_dir,
            kommun,
            out_dir,
            validity,
        }) => {
            let kommun = kommun.parse().context("--kommun")?;
            let w = ca::issue_node(&ca_dir, kommun, &out_dir, validity.validity()?)?;
            println!(
                "wrote {} and {} for kommun {kommun}",
                w.certificate.display(),
                w.private_key.display()
            );
            println!(
                "Give both to the kommun's node, with {}.",
                ca_dir.join(ca::CA_CERT).display()
            );
        }
        Command::Ca(CaCommand::IssueHub {
            ca_dir,
            names,
            out_dir,
            validity,
        }) => {
            let w = ca::issue_hub(&ca_dir, &names, &out_dir, validity.validity()?)?;
            println!(
                "wrote {} and {}",
                w.certificate.display(),
                w.private_key.display()
            );
        }
        Command::Ca(CaCommand::RevokeLine { file }) => {
            let certs = files::certificates(&file)?;
            let fingerprint = hex::encode(samla_common::tls::fingerprint(&certs[0]));
            let serial = samla_common::tls::serial(&certs[0])
                .map(hex::encode)
                .context("the certificate has no readable serial number")?;
            println!("sha256:{fingerprint}");
            println!("serial:{serial}");
        }
        Command::Ca(CaCommand::Fingerprint { file }) => {
            let certs = files::certificates(&file)?;
            println!("{}", hex::encode(samla_common::tls::fingerprint(&certs[0])));
        }
        Command::Init { dir, listen } => init(&dir, &listen)?,
        Command::Serve { config, listen } => serve(&config, listen)?,
        Command::Report(args) => cli::report::run(args)?,
        #[cfg(feature = "demo")]
        Command::Demo(args) => cli::demo::run(args)?,
        Command::Status { config } => return status(&config),
        Command::Audit(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `samla-hub status`: the running hub's status file and the store's contents.
fn status(config_path: &std::path::Path) -> Result<ExitCode> {
    use samla_hub::status;
    let config = HubConfig::load(config_path)?;
    let path = status::path_for(&config.database);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ready = match status::read(&path) {
        Ok(s) => {
            let ready = status::is_ready(&s, now);
            println!(
                "hub: {} (state {:?}, pid {}, listening on {}, heartbeat {} s ago)",
                if ready { "ready" } else { "NOT READY" },
                s.state,
                s.pid,
                s.listen,
                now - s.heartbeat_at
            );
            println!(
                "since start: {} stored, {} refused, {} in flight",
                s.accepted, s.refused, s.in_flight
            );
            ready
        }
        Err(_) => {
            println!("hub: NOT RUNNING (no status file at {})", path.display());
            false
        }
    };
    if config.database.exists() {
        let store = samla_hub::store::Store::open(&config.database)?;
        let (size, _) = store.stored_root()?;
        println!(
            "store {}: transfer log of {size} entries; {} projects configured, {} nodes registered",
            config.database.display(),
            config.projects.len(),
            config.nodes.len()
        );
    }
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

use samla_cli_common::bundle::read_bundle;

fn report(findings: &[samla_common::audit::Finding], ok: &str) -> ExitCode {
    let (text, clean) = samla_common::audit::report(findings, ok);
    print!("{text}");
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn open_store(config: &std::path::Path) -> Result<(HubConfig, samla_hub::store::Store)> {
    let config = HubConfig::load(config)?;
    let store = samla_hub::store::Store::open(&config.database)
        .with_context(|| format!("opening {}", config.database.display()))?;
    Ok((config, store))
}

fn hub_bundle(source: &Source) -> Result<samla_common::audit::HubBundle> {
    match &source.bundle {
        Some(path) => Ok(read_bundle(path, "hub-bundle.json")?),
        None => {
            let (config, store) = open_store(&source.config)?;
            Ok(samla_hub::audit::bundle(&config, &store)?)
        }
    }
}

fn audit(command: AuditCommand) -> Result<ExitCode> {
    use samla_common::audit;
    match command {
        AuditCommand::Verify { source } => {
            let outcome = match &source.bundle {
                Some(_) => audit::verify_hub_log(&hub_bundle(&source)?),
                None => {
                    let (config, store) = open_store(&source.config)?;
                    samla_hub::audit::verify_store(&config, &store)?
                }
            };
            Ok(match outcome {
                Ok(s) => {
                    let latest = s.latest.map_or("no checkpoint".to_owned(), |c| {
                        format!("latest checkpoint: size {}, root {}", c.size, c.root)
                    });
                    report(
                        &[],
                        &format!(
                            "ok: {} entries, {} signed checkpoints verify; {latest}",
                            s.entries, s.checkpoints
                        ),
                    )
                }
                Err(findings) => report(&findings, ""),
            })
        }
        AuditCommand::Show { source, format } => {
            let bundle = hub_bundle(&source)?;
            print!(
                "{}",
                audit::render(
                    &audit::HUB_HEADER,
                    &audit::hub_rows(&bundle.entries),
                    format.into()
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Payload { config, id } => {
            let id: samla_common::wire::SubmissionId = id.parse().context("the submission id")?;
            let (_, store) = open_store(&config)?;
            let bytes = store
                .signed_bytes(id)?
                .with_context(|| format!("no submission {id} in the store"))?;
            let submission: samla_common::wire::Submission = samla_common::codec::decode(&bytes)?;
            println!("{}", serde_json::to_string_pretty(&submission)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { config, dir } => {
            let (config, store) = open_store(&config)?;
            let bundle = samla_hub::audit::bundle(&config, &store)?;
            samla_hub::audit::export(&bundle, &dir)?;
            println!(
                "wrote {} entries and {} checkpoints to {}",
                bundle.entries.len(),
                bundle.checkpoints.len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::CrossCheck { node, hub } => {
            let node: audit::NodeBundle = read_bundle(&node, "node-bundle.json")?;
            let hub: audit::HubBundle = read_bundle(&hub, "hub-bundle.json")?;
            let findings = audit::cross_check(&node, &hub);
            Ok(report(
                &findings,
                &format!("ok: kommun {}'s log and the hub's log agree", node.kommun),
            ))
        }
    }
}

fn init(dir: &std::path::Path, listen: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let document =
        samla_common::signing::SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
    let key = samla_common::signing::SigningKey::from_pkcs8(&document)?;
    samla_cli_common::files::write_private(&dir.join("receipt.key"), &document)?;
    samla_cli_common::files::write_public(
        &dir.join("hub.toml"),
        HubConfig::template(listen).as_bytes(),
    )?;
    println!(
        "wrote {} and {}",
        dir.join("hub.toml").display(),
        dir.join("receipt.key").display()
    );
    println!("receipt key (give it to every node, as receipt_key in its [hub] section):");
    println!("{}", key.verifying_key());
    Ok(())
}

fn serve(config_path: &std::path::Path, listen: Option<SocketAddr>) -> Result<()> {
    let config = HubConfig::load(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = Hub::open(config)?.bind(listen)?;
        let address = running.local_addr()?;
        println!("samla-hub listening on {address}");
        use std::io::Write;
        std::io::stdout().flush()?;
        running
            .serve(async {
                samla_cli_common::signal::shutdown_signal().await;
                tracing::info!("stop signal received");
            })
            .await;
        anyhow::Ok(())
    })
}
