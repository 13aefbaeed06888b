//! `samla-hub demo`: a complete local region in one directory, with one command.
//!
//! It makes a region CA, a hub, and the nine UNG kommun nodes of Region Gävleborg with
//! their certificates and keys; writes a synthetic export per kommun; runs the hub on
//! loopback and has every node build, sign and send its submissions over QUIC with
//! mutual TLS, exactly as `samla-node` does (the nodes run in this process, through
//! the `samla-node` library); prints the regional report and writes it as HTML, CSV,
//! JSON and PX; and verifies every transfer log. Everything it makes stays in the
//! directory, with configs that the real commands accept.
//!
//! With `--custodians N` the region runs in custodian mode instead of with a shared
//! master key: the key ceremony, N key custodians run in this process through the
//! `samla-custodian` library ([`custodians`]), the linkage domain set up through the
//! coordinator messages, and every node with a `[custodian]` section.

mod custodians;

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use samla_common::codes::{KommunCode, ProjectCode};
use samla_common::retry::Backoff;
use samla_common::signing::SigningKey;
use samla_common::statistics::TableName;
use samla_hub::ca::{self, Validity};
use samla_hub::config::HubConfig;
use samla_hub::report::{self, Format, Lang, Request};
use samla_hub::server::Hub;
use samla_hub::store::Store;
use samla_node::config::{HubLink, NodeConfig};
use samla_node::outbox::{Outbox, PendingBuild};
use samla_node::pseudonyms::Pseudonymiser;
use samla_node::synth::{write_export, Style, SynthOptions};
use samla_node::{client, keyfile, pipeline};

use super::args::DemoArgs;

/// The UNG kommuner and how many people each has over the project's life in the demo.
const KOMMUNER: [(&str, &str, usize); 9] = [
    ("2180", "gavle", 210),
    ("2181", "sandviken", 90),
    ("2184", "hudiksvall", 80),
    ("2182", "soderhamn", 60),
    ("2183", "bollnas", 60),
    ("2121", "ovanaker", 30),
    ("2104", "hofors", 24),
    ("2132", "nordanstig", 24),
    ("2101", "ockelbo", 16),
];

const PROJECT: &str = "UNG";
const LIFETIME: &str = "2023-09-01..2026-08-31";
const DOMAIN: &str = "gavleborg-ung-2023";

/// A checked `samla-hub demo`: an empty (or new) directory, the report's language and
/// the pseudonym mode.
pub(super) struct Demo {
    dir: PathBuf,
    lang: Lang,
    now: time::OffsetDateTime,
    /// Custodian mode: how many custodians, and t.
    custodians: Option<samla_common::oprf::shamir::Threshold>,
}

impl Demo {
    /// Picks the directory and checks it is new or empty.
    pub(super) fn prepare(args: DemoArgs) -> Result<Demo> {
        let now = time::OffsetDateTime::now_utc();
        let dir = match args.dir {
            Some(dir) => dir,
            None => std::env::temp_dir().join(format!("samla-demo-{}", now.unix_timestamp())),
        };
        let custodians = args.custodians.map(custodians::threshold_for).transpose()?;
        samla_cli_common::files::require_new_or_empty_dir(&dir)?;
        Ok(Demo {
            dir,
            lang: args.lang,
            now,
            custodians,
        })
    }

    /// Builds and runs the region, and says where everything is.
    pub(super) fn run(self) -> Result<ExitCode> {
        run(self)?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Runs the demo.
fn run(demo: Demo) -> Result<()> {
    let started = Instant::now();
    let Demo {
        dir,
        lang,
        now,
        custodians: threshold,
    } = demo;
    let mut term = std::io::stdout().lock();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    writeln!(term, "samla demo region in {}\n", dir.display())?;

    let validity = Validity::days_from(now, 825);
    ca::init(
        &dir.join("ca"),
        "Region Gävleborg samla CA (demo)",
        validity,
    )?;
    ca::issue_hub_for(
        &dir.join("ca"),
        &["localhost".to_owned()],
        Some("Region Gävleborg"),
        &dir.join("hub"),
        validity,
    )?;
    let receipt_document = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
    let receipt_key = SigningKey::from_pkcs8(&receipt_document)?.verifying_key();
    samla_cli_common::files::write_private(&dir.join("hub/receipt.key"), &receipt_document)?;
    std::fs::copy(dir.join("ca/ca.crt"), dir.join("hub/ca.crt"))?;
    step(
        &mut term,
        "region CA, hub certificate and receipt key",
        "ca/, hub/",
    )?;

    // The shared master key, or the custodians' files.
    let (master, prepared) = match threshold {
        None => (
            Some(Pseudonymiser::SharedKey(keyfile::generate(
                &dir.join("master.key"),
            )?)),
            None,
        ),
        Some(threshold) => {
            let prepared = custodians::prepare(
                &dir.join("custodians"),
                &dir.join("ca"),
                validity,
                threshold,
            )?;
            step(
                &mut term,
                &format!(
                    "key ceremony (key id {}, {} of {} custodians) and {} key custodians with certificates, log keys and configs",
                    prepared.key_id(),
                    threshold.required(),
                    threshold.custodians(),
                    threshold.custodians()
                ),
                "custodians/",
            )?;
            (None, Some(prepared))
        }
    };
    // A node's `key_file` line, or its `[custodian]` section.
    let (key_file, custodian_section) = match &prepared {
        None => ("key_file = \"../../master.key\"\n", String::new()),
        Some(prepared) => ("", prepared.node_section()),
    };
    let port = free_udp_port()?;
    let mut registrations = String::new();
    let mut nodes = Vec::new();
    for (i, (code, name, people)) in KOMMUNER.iter().enumerate() {
        let kommun: KommunCode = code.parse()?;
        let node_dir = dir.join("nodes").join(format!("{code}-{name}"));
        ca::issue_node(&dir.join("ca"), kommun, &node_dir, validity)?;
        let signing = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new())?;
        samla_cli_common::files::write_private(&node_dir.join("node-signing.key"), &signing)?;
        let public = SigningKey::from_pkcs8(&signing)?.verifying_key();
        std::fs::write(
            node_dir.join("samla-node.toml"),
            node_config(
                kommun,
                port,
                &receipt_key.to_string(),
                key_file,
                &custodian_section,
            ),
        )?;
        let _ = writeln!(
            registrations,
            "\n[[node]]\nkommun = \"{code}\"   # {}\nsigning_keys = [\"{public}\"]",
            kommun.label()
        );
        let export = node_dir.join(format!("ung-{code}-export.csv"));
        write_export(
            &export,
            &SynthOptions {
                projects: vec![PROJECT.parse()?],
                period: LIFETIME.parse()?,
                participants: *people,
                seed: 2023 + i as u64,
                style: Style::default(),
                bad_rows: 0.0,
            },
        )?;
        nodes.push((kommun, node_dir, export));
    }
    std::fs::write(dir.join("hub/hub.toml"), hub_config(port) + &registrations)?;
    match &master {
        Some(master) => step(&mut term,
            &format!(
                "shared pseudonym key (key id {}), 9 kommun nodes with certificates, signing keys, configs and synthetic exports",
                master.key_id()
            ),
            "master.key, nodes/",
        )?,
        None => step(
            &mut term,
            "9 kommun nodes in custodian mode (no key file) with certificates, signing keys, configs and synthetic exports",
            "nodes/",
        )?,
    }

    let config = HubConfig::load(&dir.join("hub/hub.toml"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = runtime.block_on(async { Hub::open(config.clone())?.bind(None) })?;
    let address = running.local_addr()?;
    let server = runtime.spawn(running.serve(async {
        let _ = stopped.await;
    }));
    step(
        &mut term,
        &format!("hub listening on {address} (QUIC, mutual TLS)"),
        "hub/hub.toml",
    )?;
    let serving = match prepared {
        None => None,
        Some(prepared) => {
            let serving = prepared.start(&runtime, &DOMAIN.parse()?)?;
            step(
                &mut term,
                &format!("key custodians listening on loopback (QUIC, mutual TLS); linkage domain {DOMAIN} set up at each through the coordinator messages"),
                "custodians/*/custodian.toml",
            )?;
            Some(serving)
        }
    };

    // Every node builds and signs its submissions at once (in custodian mode most of
    // a build is waiting on its connections to the custodians), then each delivers.
    let built: Vec<Result<(KommunCode, HubLink, Outbox)>> = std::thread::scope(|scope| {
        let builds: Vec<_> = nodes
            .iter()
            .map(|(kommun, node_dir, export)| {
                let master = master.as_ref();
                scope.spawn(move || {
                    build_node(node_dir, export, master, now)
                        .map(|(link, outbox)| (*kommun, link, outbox))
                })
            })
            .collect();
        builds
            .into_iter()
            .map(|b| b.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut sent = 0;
    for node in built {
        let (kommun, link, mut outbox) = node?;
        let kommun = &kommun;
        let delivery = runtime.block_on(client::deliver(
            &mut outbox,
            &link,
            *kommun,
            Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(2),
            },
            Duration::from_secs(20),
            |_| {},
        ))?;
        outbox.seal(time::OffsetDateTime::now_utc().unix_timestamp())?;
        if delivery.pending > 0 || !delivery.refused.is_empty() {
            bail!(
                "kommun {kommun}: {} pending, {} refused ({})",
                delivery.pending,
                delivery.refused.len(),
                delivery.last_error.unwrap_or_default()
            );
        }
        sent += delivery.acknowledged;
    }
    step(&mut term,
        &format!("{sent} signed submissions sent over QUIC (2025, the project's lifetime, and from its start to each quarter's end, from each kommun); every receipt verified"),
        "nodes/*/node.db",
    )?;

    let store = Store::open(&config.database)?;
    let request = Request {
        project: PROJECT.to_owned(),
        period: Some("2025".parse()?),
        kommuner: Vec::new(),
        lang,
        exclude_unverified: false,
        allow_empty: false,
    };
    let trust = samla_hub::audit::trust(&config)?;
    let built = report::build(&store, &config, &trust, &request, now)?;
    let out = dir.join("report");
    std::fs::create_dir_all(out.join("px"))?;
    for (format, file) in [
        (Format::Html, "ung-2025.html"),
        (Format::Csv, "ung-2025.csv"),
        (Format::Json, "ung-2025.json"),
        (Format::Table, "ung-2025.txt"),
    ] {
        std::fs::write(
            out.join(file),
            report::render(&built, format, TableName::Participants)?,
        )?;
    }
    for table in TableName::ALL {
        std::fs::write(
            out.join("px").join(format!("ung-2025-{}.px", table.code())),
            report::render(&built, Format::Px, *table)?,
        )?;
    }
    step(
        &mut term,
        "regional report for 2025 under disclosure control (k = 5)",
        "report/",
    )?;

    let hub_findings = match samla_hub::audit::verify_store(&config, &store)? {
        Ok(summary) => {
            format!(
                "hub log: {} entries, {} signed checkpoints verify",
                summary.entries, summary.checkpoints
            )
        }
        Err(findings) => bail!("the hub log does not verify: {findings:?}"),
    };
    let hub_bundle = samla_hub::audit::bundle(&config, &store)?;
    samla_hub::audit::export(&hub_bundle, &dir.join("audit/hub"))?;
    for (kommun, node_dir, _) in &nodes {
        let node = NodeConfig::load(&node_dir.join("samla-node.toml"))?;
        let link = node.hub.clone().context("a [hub] section")?;
        let node_key = keyfile::load_signing_key(&link.signing_key)?.verifying_key();
        let bundle = Outbox::open(&node.database)?.bundle(*kommun, &link, Some(node_key))?;
        let findings = samla_common::audit::cross_check(&bundle, &hub_bundle);
        if !findings.is_empty() {
            bail!("kommun {kommun}: the node's log and the hub's disagree: {findings:?}");
        }
    }
    step(
        &mut term,
        &format!("{hub_findings}; all 9 node logs chain and match the hub's entry for entry"),
        "audit/hub/",
    )?;
    let custodian_mode = serving.is_some();
    if let Some(serving) = serving {
        let verified = serving.stop_and_verify(&runtime, &dir.join("audit"))?;
        step(&mut term, &verified, "audit/custodian-*/")?;
    }

    let _ = stop.send(());
    runtime.block_on(server)?;
    drop(runtime);

    writeln!(
        term,
        "\n{}",
        report::render(&built, Format::Table, TableName::Participants)?
    )?;
    writeln!(
        term,
        "Done in {:.1} s. Everything is in {}:\n",
        started.elapsed().as_secs_f64(),
        dir.display()
    )?;
    writeln!(
        term,
        "  report/ung-2025.html      the report with charts; open it in a browser"
    )?;
    writeln!(term, "  report/ung-2025.csv, .json, .txt, px/   the same figures for spreadsheets, programs and PxWeb")?;
    writeln!(
        term,
        "  hub/hub.toml, hub/hub.db  the hub's config and store (SQLite)"
    )?;
    writeln!(term, "  nodes/NNNN-name/          each kommun's node: config, keys, export, outbox and log (node.db)")?;
    writeln!(term, "  audit/hub/                the hub's log as a bundle a privacy officer can verify elsewhere")?;
    if custodian_mode {
        writeln!(term, "  custodians/custodian-N/   each key custodian: config, key share, certificate, log key and log (custodian.db)")?;
        writeln!(term, "  custodians/keyset.bin, coordinator/   the ceremony's public key set; the setup coordinator's certificate and config")?;
        writeln!(
            term,
            "  audit/custodian-N/        each custodian's log as a bundle"
        )?;
    }
    writeln!(term)?;
    writeln!(term, "Try:")?;
    let hub = dir.join("hub/hub.toml");
    writeln!(
        term,
        "  samla-hub report --config {} --project UNG --period 2025 --lang en",
        hub.display()
    )?;
    writeln!(term, "  samla-hub report --config {} --project UNG --period lifetime --format html --out ung.html", hub.display())?;
    writeln!(term, "  samla-hub audit verify --config {}", hub.display())?;
    if custodian_mode {
        let custodian = dir.join("custodians/custodian-1/custodian.toml");
        writeln!(
            term,
            "  samla-custodian audit verify --config {}",
            custodian.display()
        )?;
        writeln!(
            term,
            "  samla-custodian serve --config {}   # and the other custodians, before the node runs",
            custodian.display()
        )?;
    }
    writeln!(
        term,
        "  samla-hub serve --config {}      # then, in another terminal:",
        hub.display()
    )?;
    writeln!(
        term,
        "  samla-node --config {} run     # watches that node's inbox/",
        dir.join("nodes/2180-gavle/samla-node.toml").display()
    )?;
    writeln!(term, "(with cargo: `cargo run --release -p samla-hub -- report …`, `cargo run --release -p samla-node -- …`{})",
        if custodian_mode { ", `cargo run --release -p samla-custodian -- …`" } else { "" })?;
    Ok(())
}

/// One demo node's submissions, built from its export and signed into its outbox
/// (what `samla-node submit` does before it sends): the year, the lifetime, and the
/// stretch from the project's start to each quarter's end up to 2025.
fn build_node(
    node_dir: &Path,
    export: &Path,
    master: Option<&Pseudonymiser>,
    now: time::OffsetDateTime,
) -> Result<(HubLink, Outbox)> {
    let today = now.date();
    let files = [export.to_owned()];
    let node = NodeConfig::load(&node_dir.join("samla-node.toml"))?;
    let loaded;
    let pseudonymiser = match master {
        Some(master) => master,
        None => {
            loaded = Pseudonymiser::load(&node)?;
            &loaded
        }
    };
    let link = node
        .hub
        .clone()
        .context("the demo node config has a [hub] section")?;
    let signing = keyfile::load_signing_key(&link.signing_key)?;
    let mut outbox = Outbox::open(&node.database)?;
    outbox.record_signing_key(&signing.verifying_key(), now.unix_timestamp())?;
    outbox.sign_heads_with(keyfile::load_signing_key(&link.signing_key)?);
    let project: ProjectCode = PROJECT.parse()?;
    // The year, the lifetime, and the stretch from the project's start to each
    // quarter's end up to 2025 (what cumulative targets and enrolment read).
    let mut periods: Vec<samla_common::period::Period> = vec!["2025".parse()?, LIFETIME.parse()?];
    for to in [
        "2023-12-31",
        "2024-03-31",
        "2024-06-30",
        "2024-09-30",
        "2024-12-31",
        "2025-03-31",
        "2025-06-30",
        "2025-09-30",
        "2025-12-31",
    ] {
        periods.push(format!("2023-09-01..{to}").parse()?);
    }
    for period in periods {
        let built = pipeline::build(
            &node,
            pseudonymiser,
            &files,
            period,
            std::slice::from_ref(&project),
            today,
        )?;
        outbox.record_custodian_batches(&built.custodian_batches)?;
        for statistics in built.statistics {
            let created_at = time::OffsetDateTime::now_utc().unix_timestamp();
            outbox.enqueue_build(
                created_at,
                PendingBuild::signed(statistics, &signing, created_at),
            )?;
        }
    }
    Ok((link, outbox))
}

fn step(out: &mut impl Write, what: &str, where_: &str) -> std::io::Result<()> {
    writeln!(out, "  ✓ {what}  [{where_}]")
}

/// A UDP port nothing listens on now.
fn free_udp_port() -> Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn hub_config(port: u16) -> String {
    format!(
        "# samla-hub config of the demo region (written by `samla-hub demo`).\n\
         listen = \"127.0.0.1:{port}\"\n\
         database = \"hub.db\"\n\
         region_ca = \"ca.crt\"\n\
         certificate = \"hub.crt\"\n\
         private_key = \"hub.key\"\n\
         receipt_key = \"receipt.key\"\n\
         log_origin = \"samla-hub.demo\"\n\
         \n\
         [disclosure]\n\
         k = 5\n\
         \n\
         [[project]]\n\
         code = \"{PROJECT}\"\n\
         name = \"UNG – Ung Nu Gävleborg\"\n\
         start = \"2023-09-01\"\n\
         end = \"2026-08-31\"\n\
         linkage_domain = \"{DOMAIN}\"\n\
         kommuner = [\"2183\", \"2180\", \"2104\", \"2184\", \"2132\", \"2101\", \"2121\", \"2181\", \"2182\"]\n\
         [project.targets]\n\
         participants = 300\n\
         share_women = 0.4\n\
         share_work_or_studies = 0.35\n\
         share_into_activity = 0.5\n"
    )
}

/// A node's config, with its `key_file` line or its `[custodian]` section.
fn node_config(
    kommun: KommunCode,
    port: u16,
    receipt_key: &str,
    key_file: &str,
    custodian: &str,
) -> String {
    format!(
        "# samla-node config of {name} in the demo region (written by `samla-hub demo`).\n\
         kommun = \"{kommun}\"\n\
         {key_file}\
         database = \"node.db\"\n\
         \n\
         [[project]]\n\
         code = \"{PROJECT}\"\n\
         linkage_domain = \"{DOMAIN}\"\n\
         start = \"2023-09-01\"\n\
         end = \"2026-08-31\"\n\
         \n\
         [hub]\n\
         address = \"127.0.0.1:{port}\"\n\
         server_name = \"localhost\"\n\
         region_ca = \"../../ca/ca.crt\"\n\
         certificate = \"node-{kommun}.crt\"\n\
         private_key = \"node-{kommun}.key\"\n\
         signing_key = \"node-signing.key\"\n\
         receipt_key = \"{receipt_key}\"\n\
         log_origin = \"samla-hub.demo\"\n\
         \n\
         [daemon]\n\
         inbox = \"inbox\"\n\
         periods = [\"quarter\", \"lifetime\"]\n\
         {custodian}",
        name = kommun.label(),
    )
}
