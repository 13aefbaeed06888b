//! The commands that talk to the hub: `init`, `submit`, `send`, `outbox`, `status`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use samla_common::retry::Backoff;
use samla_common::signing::SigningKey;
use samla_common::wire::{SignedSubmission, Submission};
use samla_node::client::{self, Event};
use samla_node::config::{HubLink, NodeConfig};
use samla_node::outbox::{Outbox, State};
use samla_node::{keyfile, pipeline};

use super::{finish_rejects, load_config, select, InitArgs, SendArgs, SubmitArgs};

pub(super) fn init(args: InitArgs) -> Result<ExitCode> {
    let kommun: samla_common::codes::KommunCode = args.kommun.parse().context("--kommun")?;
    let receipt_key: samla_common::signing::VerifyingKey =
        args.receipt_key.parse().context("--receipt-key")?;
    let mut projects = String::new();
    for p in &args.projects {
        let (code, domain) = p.split_once(':').with_context(|| {
            format!("--project {p}: write CODE:LINKAGE-DOMAIN, e.g. UNG:gavleborg-ung-2023")
        })?;
        let code: samla_common::codes::ProjectCode = code.parse()?;
        let domain: samla_common::pseudonym::LinkageDomain = domain.parse()?;
        projects.push_str(&format!(
            "\n[[project]]\ncode = \"{code}\"\nlinkage_domain = \"{domain}\"\n"
        ));
    }
    let hub_name = match args.hub_name {
        Some(name) => name,
        None => args
            .hub
            .rsplit_once(':')
            .map_or(args.hub.clone(), |(host, _)| {
                host.trim_matches(['[', ']']).to_owned()
            }),
    };
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let signing_path = args.dir.join("node-signing.key");
    let document = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
    let signing = SigningKey::from_pkcs8(&document)?;
    let config_path = args.dir.join("samla-node.toml");
    if config_path.exists() {
        bail!(
            "refusing to overwrite existing config {}",
            config_path.display()
        );
    }
    keyfile::write_private(&signing_path, &document)?;
    let path = |p: &Path| {
        p.display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    };
    let text = format!(
        "# samla-node config for kommun {kommun}, written by `samla-node init`.\n\
         # Paths are relative to this file.\n\n\
         kommun = \"{kommun}\"\n\
         # The region's pseudonym master key (same file in every kommun; never at the hub).\n\
         key_file = \"{key_file}\"\n\
         # The node's outbox and transfer log.\n\
         database = \"node.db\"\n\
         {projects}\n\
         [hub]\n\
         address = \"{address}\"\n\
         server_name = \"{hub_name}\"\n\
         region_ca = \"{region_ca}\"\n\
         certificate = \"{certificate}\"\n\
         private_key = \"{private_key}\"\n\
         # This node's key for signing submissions; the hub knows its public half.\n\
         signing_key = \"node-signing.key\"\n\
         # The hub's key for receipts (from `samla-hub init`).\n\
         receipt_key = \"{receipt_key}\"\n\
         # The name of the hub's transfer log (the first line of its checkpoints).\n\
         log_origin = \"{log_origin}\"\n",
        key_file = path(&args.key_file),
        address = args.hub,
        region_ca = path(&args.region_ca),
        certificate = path(&args.certificate),
        private_key = path(&args.private_key),
        log_origin = args.log_origin,
    );
    std::fs::write(&config_path, text)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let public = signing.verifying_key();
    println!(
        "wrote {} and {}",
        config_path.display(),
        signing_path.display()
    );
    println!("\nRegister this node with the region: add to the hub config\n");
    println!("[[node]]\nkommun = \"{kommun}\"\nsigning_keys = [\"{public}\"]");
    Ok(ExitCode::SUCCESS)
}

fn hub_link(config: &NodeConfig) -> Result<&HubLink> {
    config.hub.as_ref().with_context(|| {
        format!(
            "{} has no [hub] section\n\nRun `samla-node init` to create a config with one, or add it by hand (see configs/).",
            config.path.display()
        )
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(super) fn submit(
    config_path: &Path,
    reference: time::Date,
    args: SubmitArgs,
) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let link = hub_link(&config)?;
    let (projects, period) = select(&config, &args.build.projects, &args.build.period)?;
    let signing = keyfile::load_signing_key(&link.signing_key)?;
    let master = keyfile::load(&config.key_file)?;
    let built = pipeline::build(
        &config,
        &master,
        &args.build.files,
        period,
        &projects,
        reference,
    )?;
    drop(master);
    let mut err = std::io::stderr().lock();
    for summary in &built.files {
        samla_node::output::write_file_summary(&mut err, summary)?;
    }
    let warned = built.header_warnings() > 0;
    if (finish_rejects(&args.build.rejects, &built.files, &mut err)? || warned)
        && !args.accept_rejects
    {
        writeln!(err, "\nNothing was submitted: fix the rejected rows and misnamed headers, or pass --accept-rejects to leave them out.")?;
        return Ok(ExitCode::from(1));
    }
    let mut outbox = Outbox::open(&config.database)
        .with_context(|| format!("opening {}", config.database.display()))?;
    outbox.record_signing_key(&signing.verifying_key(), now())?;
    for statistics in built.statistics {
        let (period_text, domain) = (
            statistics.period.to_string(),
            statistics.linkage_domain.to_string(),
        );
        let created_at = now();
        let id = outbox.enqueue(created_at, &period_text, &domain, |sequence| {
            let submission = Submission {
                sequence,
                created_at,
                statistics,
            };
            SignedSubmission::sign(&submission, &signing)
        })?;
        println!("built submission {id} ({period_text}, {domain}); it waits in the outbox until the hub's receipt is verified");
    }
    deliver(&config, link, &mut outbox, &args.send)
}

pub(super) fn send(config_path: &Path, args: SendArgs) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let link = hub_link(&config)?;
    let mut outbox = Outbox::open(&config.database)
        .with_context(|| format!("opening {}", config.database.display()))?;
    deliver(&config, link, &mut outbox, &args)
}

fn deliver(
    config: &NodeConfig,
    link: &HubLink,
    outbox: &mut Outbox,
    args: &SendArgs,
) -> Result<ExitCode> {
    let backoff = Backoff {
        base: Duration::from_millis(args.retry_wait),
        cap: Duration::from_secs(args.max_retry_wait),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // A bar over the submissions to send, when a person is watching.
    let pending = outbox.pending()?.len() as u64;
    let bar = (pending > 1 && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        indicatif::ProgressBar::new(pending)
            .with_style(
                indicatif::ProgressStyle::with_template("sending [{bar:30}] {pos}/{len}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            )
            .with_finish(indicatif::ProgressFinish::AndClear)
    });
    let say = |line: String, error: bool| match &bar {
        Some(bar) => bar.println(line),
        None if error => eprintln!("{line}"),
        None => println!("{line}"),
    };
    let delivered = runtime.block_on(client::deliver(
        outbox,
        link,
        config.kommun,
        backoff,
        Duration::from_secs(args.give_up_after),
        |event| {
            if let (Some(bar), Event::Acknowledged(_)) = (&bar, &event) {
                bar.inc(1);
            }
            say(event.to_string(), event.is_problem())
        },
    ));
    let report = match delivered {
        Err(e @ client::ClientError::HistoryChanged(_)) => {
            eprintln!("samla-node: {e}");
            return Ok(ExitCode::from(5));
        }
        other => other?,
    };
    if let Some(message) = report.message() {
        eprintln!("samla-node: {message}");
    }
    Ok(ExitCode::from(report.exit_code()))
}

pub(super) fn list(config_path: &Path, pending_only: bool) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let outbox = Outbox::open(&config.database)
        .with_context(|| format!("opening {}", config.database.display()))?;
    let entries: Vec<_> = outbox
        .entries()?
        .into_iter()
        .filter(|e| !pending_only || e.state == State::Pending)
        .collect();
    let mut out = std::io::stdout().lock();
    if entries.is_empty() {
        writeln!(
            out,
            "{}",
            if pending_only {
                "the outbox is empty"
            } else {
                "no submissions yet"
            }
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "sequence  state         attempts  hub log  period                  submission id"
    )?;
    for e in entries {
        let log = e.log_index.map_or("-".to_owned(), |i| i.to_string());
        writeln!(
            out,
            "{:<9} {:<13} {:<9} {:<8} {:<23} {}",
            e.sequence,
            e.state.to_string(),
            e.attempts,
            log,
            e.period,
            e.id
        )?;
        if let Some(error) = e.last_error.filter(|_| e.state != State::Acknowledged) {
            writeln!(out, "          last error: {error}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
