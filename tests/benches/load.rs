//! National load: 290 distinct node identities (each its own certificate from the
//! region CA and its own signing key) submit concurrently to one `samla-hub` process
//! on loopback. Prints submissions per second, p50 and p99 latency (request sent to
//! verified-shape receipt received), and the hub's peak memory (VmHWM).
//!
//! Run with:
//!   cargo build --release -p samla-hub && cargo bench -p samla-tests --bench load
//! Optional: SAMLA_LOAD_RATE (submissions per second offered, default 1200),
//! SAMLA_LOAD_SECONDS (default 10), SAMLA_LOAD_PEOPLE (participants per kommun, default
//! 30).

#![expect(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use samla_common::codes::KommunCode;
use samla_common::signing::SigningKey;
use samla_common::wire::{Request, Response, SignedSubmission, Submission};
use samla_hub::ca::{self, Validity};
use samla_node::client::HubClient;
use samla_node::config::HubLink;

const KOMMUNER: usize = 290;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    let people = env("SAMLA_LOAD_PEOPLE", 30) as usize;
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
        let stats = samla_tests::kommun_statistics(kommun, i, people);
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
    let frame_bytes = samla_common::wire::encode_frame(&nodes[0].1[0])
        .unwrap()
        .len();
    println!(
        "{KOMMUNER} identities with {per_node} signed submissions each ({people} people, \
         {frame_bytes} bytes a frame), set up in {:.1} s",
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
    // Connection set-up (290 mutual-TLS handshakes) is measured on its own: a node
    // keeps its connection, so the steady state is what the rate and latency describe.
    let connecting = Instant::now();
    // The identities share one UDP socket, as if behind one router: 290 sockets on the
    // load generator's side would cost the shared 2 cores more than the hub itself.
    let clients: Vec<(HubClient, Vec<Request>)> = runtime.block_on(async {
        let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut clients = Vec::new();
        for (link, frames) in nodes {
            clients.push((
                HubClient::connect_on(&endpoint, &link).await.unwrap(),
                frames,
            ));
        }
        clients
    });
    println!(
        "{KOMMUNER} connections set up in {:.2} s",
        connecting.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let latencies: Vec<Vec<Duration>> = runtime.block_on(async {
        let first = tokio::time::Instant::now();
        let clients: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, (client, frames))| {
                tokio::spawn(async move {
                    // Stagger the identities over one interval, then send on a fixed
                    // schedule, one request at a time as a node does. Latency counts
                    // from the scheduled time, so a slow hub is not hidden by late
                    // sending.
                    let start = first + interval.mul_f64(i as f64 / KOMMUNER as f64);
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
