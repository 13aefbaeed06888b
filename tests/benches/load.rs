//! National load: 290 distinct node identities (each its own certificate from the
//! region CA and its own signing key) submit concurrently to one `samla-hub` process
//! on loopback. Prints submissions per second, p50 and p99 latency (request sent to
//! verified-shape receipt received), and the hub's peak memory (VmHWM).
//!
//! Run with:
//!   cargo build --release -p samla-hub && cargo bench -p samla-tests --bench load
//! Optional: SAMLA_LOAD_RATE (submissions per second offered, default 1200),
//! SAMLA_LOAD_SECONDS (default 10).

#![expect(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use samla_common::codes::{Gender, KommunCode, Outcome, ProjectCode};
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use samla_common::pseudonym::{LinkageDomain, MasterSecret};
use samla_common::record::{FlagSet, ParticipantRecord, RecordFields};
use samla_common::signing::SigningKey;
use samla_common::statistics::{Aggregator, Statistics};
use samla_common::wire::{Request, Response, SignedSubmission, Submission};
use samla_hub::ca::{self, Validity};
use samla_node::client::HubClient;
use samla_node::config::HubLink;
use time::macros::date;

const KOMMUNER: usize = 290;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small kommun's statistics for 2025 (30 people).
fn statistics(kommun: KommunCode, index: usize) -> Statistics {
    let master = MasterSecret::from_bytes([3; 32]);
    let domain: LinkageDomain = "national".parse().unwrap();
    let key = master.domain_key(&domain);
    let project: ProjectCode = "UNG".parse().unwrap();
    let mut a = Aggregator::new(
        kommun,
        "2025".parse().unwrap(),
        domain,
        master.key_id(),
        vec![project.clone()],
    );
    for j in 0..30 {
        let n = index * 100 + j;
        let nine = format!(
            "0{}{:02}{:02}{:03}",
            1 + n % 9,
            1 + n % 12,
            1 + n % 28,
            n % 997 + 1
        );
        let pnr = Personnummer::parse(
            &format!("20{nine}{}", luhn_check_digit(nine.as_bytes())),
            date!(2026 - 01 - 01),
        )
        .unwrap();
        let record = ParticipantRecord::new(RecordFields {
            personnummer: pnr,
            project: project.clone(),
            start: date!(2025 - 02 - 01),
            end: (j % 2 == 0).then_some(date!(2025 - 10 - 31)),
            outcome: (j % 2 == 0).then_some(Outcome::ALL[j % Outcome::ALL.len()]),
            gender: Some(Gender::ALL[j % 2]),
            flags: FlagSet::default(),
            status_at_entry: None,
            education: None,
        })
        .unwrap();
        a.add(key.pseudonym(&record.personnummer), &record).unwrap();
    }
    a.finish()
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let rate = env("SAMLA_LOAD_RATE", 1200);
    let seconds = env("SAMLA_LOAD_SECONDS", 10);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let validity = Validity::days_from(time::OffsetDateTime::now_utc(), 30);
    ca::init(&root.join("ca"), "load CA", validity).unwrap();
    ca::issue_hub(
        &root.join("ca"),
        &["localhost".to_owned()],
        &root.join("hub"),
        validity,
    )
    .unwrap();
    let receipt = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let receipt_public = SigningKey::from_pkcs8(&receipt).unwrap().verifying_key();
    std::fs::write(root.join("hub/receipt.key"), &receipt).unwrap();
    std::fs::copy(root.join("ca/ca.crt"), root.join("hub/ca.crt")).unwrap();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    // 290 identities: certificate, signing key, link, and pre-signed submissions.
    let per_node = (rate * seconds).div_ceil(KOMMUNER as u64) as usize;
    let mut config = format!(
        "listen = \"127.0.0.1:{port}\"\ndatabase = \"hub.db\"\nregion_ca = \"ca.crt\"\ncertificate = \"hub.crt\"\n\
         private_key = \"hub.key\"\nreceipt_key = \"receipt.key\"\nlog_origin = \"samla-load\"\n\
         [limits]\nsubmissions_per_minute = 100000\n"
    );
    let mut nodes = Vec::new();
    let t = Instant::now();
    for i in 0..KOMMUNER {
        let kommun: KommunCode = format!("{:04}", 1000 + i).parse().unwrap();
        let node_dir = root.join(format!("node-{kommun}"));
        ca::issue_node(&root.join("ca"), kommun, &node_dir, validity).unwrap();
        let signing = SigningKey::from_pkcs8(
            &SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap(),
        )
        .unwrap();
        config.push_str(&format!(
            "[[node]]\nkommun = \"{kommun}\"\nsigning_keys = [\"{}\"]\n",
            signing.verifying_key()
        ));
        let stats = statistics(kommun, i);
        let frames: Vec<Request> = (1..=per_node as u64)
            .map(|sequence| {
                Request::Submit(
                    SignedSubmission::sign(
                        &Submission {
                            sequence,
                            created_at: 1,
                            statistics: stats.clone(),
                        },
                        &signing,
                    )
                    .unwrap(),
                )
            })
            .collect();
        let link = HubLink {
            address: format!("127.0.0.1:{port}"),
            server_name: "localhost".to_owned(),
            region_ca: root.join("ca/ca.crt"),
            certificate: node_dir.join(format!("node-{kommun}.crt")),
            private_key: node_dir.join(format!("node-{kommun}.key")),
            signing_key: PathBuf::new(),
            receipt_key: receipt_public,
            log_origin: "samla-load".to_owned(),
        };
        nodes.push((link, frames));
    }
    std::fs::write(root.join("hub/hub.toml"), config).unwrap();
    println!(
        "{KOMMUNER} identities with {per_node} signed submissions each, set up in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let hub_binary = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("samla-hub");
    let mut hub = std::process::Command::new(&hub_binary)
        .args(["serve", "--config", "hub/hub.toml"])
        .current_dir(root)
        .env(
            "SAMLA_LOG",
            std::env::var("SAMLA_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(std::env::temp_dir().join("samla-load-hub.log")).unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (build it with cargo build --release -p samla-hub)",
                hub_binary.display()
            )
        });
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(hub.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("samla-hub listening"), "{line}");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let interval = Duration::from_secs_f64(KOMMUNER as f64 / rate as f64);
    let started = Instant::now();
    let latencies: Vec<Vec<Duration>> = runtime.block_on(async {
        let clients: Vec<_> = nodes
            .into_iter()
            .enumerate()
            .map(|(i, (link, frames))| {
                tokio::spawn(async move {
                    let client = HubClient::connect(&link).await.unwrap();
                    // Stagger the identities over one interval, then send on a fixed
                    // schedule, one request at a time as a node does. Latency counts
                    // from the scheduled time, so a slow hub is not hidden by late
                    // sending.
                    let start =
                        tokio::time::Instant::now() + interval.mul_f64(i as f64 / KOMMUNER as f64);
                    let mut out = Vec::new();
                    for (n, frame) in frames.into_iter().enumerate() {
                        let due = start + interval * n as u32;
                        tokio::time::sleep_until(due).await;
                        let response = client.request(&frame).await.unwrap();
                        assert!(matches!(response, Response::Receipt(_)), "{response:?}");
                        out.push(due.elapsed());
                    }
                    out
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in clients {
            all.push(c.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed();
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    let peak = peak_rss_kb(hub.id());
    let _ = hub.kill();
    let _ = hub.wait();
    let stored: i64 = rusqlite::Connection::open(root.join("hub/hub.db"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored as usize, all.len(), "every submission stored once");
    println!(
        "offered {rate}/s from {KOMMUNER} identities for {seconds} s: {} submissions in {:.2} s = {:.0} submissions/s",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; hub peak memory (VmHWM) {} MB",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all[all.len() - 1].as_secs_f64() * 1e3,
        peak / 1024
    );
}
