//! Transport benchmark: QUIC handshake time, submission latency, and throughput for a
//! submission whose linkage set holds 1 000 000 pseudonyms, next to quinn's raw stream
//! throughput with the same TLS setup, measured in the same run on loopback.
//!
//! Run with `cargo bench -p samla-tests --bench transport`.

#![expect(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use samla_common::pseudonym::{MasterSecret, Pseudonym};
use samla_common::signing::SigningKey;
use samla_common::statistics::Aggregator;
use samla_common::wire::{self, Request, Response, SignedSubmission, Submission};
use samla_hub::ca::{self, Validity};
use samla_hub::config::HubConfig;
use samla_hub::server::Hub;

const HANDSHAKES: usize = 30;
const SMALL_SUBMISSIONS: usize = 30;
const BIG_RUNS: usize = 3;
const PSEUDONYMS: usize = 1_000_000;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct Setup {
    _dir: tempfile::TempDir,
    client: quinn::ClientConfig,
    server: quinn::ServerConfig,
    hub: HubConfig,
    signing: SigningKey,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let validity = Validity::days_from(time::OffsetDateTime::now_utc(), 30);
    ca::init(&root.join("ca"), "bench CA", validity).unwrap();
    ca::issue_hub(&root.join("ca"), &["localhost".to_owned()], root, validity).unwrap();
    ca::issue_node(&root.join("ca"), "2180".parse().unwrap(), root, validity).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let receipt = SigningKey::generate_pkcs8(&rng).unwrap();
    std::fs::write(root.join("receipt.key"), &*receipt).unwrap();
    let signing = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap()).unwrap();
    let text = format!(
        "listen = \"127.0.0.1:0\"\ndatabase = \"hub.db\"\nregion_ca = \"ca/ca.crt\"\ncertificate = \"hub.crt\"\n\
         private_key = \"hub.key\"\nreceipt_key = \"receipt.key\"\n[[node]]\nkommun = \"2180\"\nsigning_keys = [\"{}\"]\n",
        signing.verifying_key()
    );
    let hub = HubConfig::parse(&text, &root.join("hub.toml")).unwrap();
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    let ca_certs = samla_common::tls::certificates_from_pem(&read("ca/ca.crt")).unwrap();
    let client = samla_common::tls::client_config(
        &ca_certs,
        samla_common::tls::certificates_from_pem(&read("node-2180.crt")).unwrap(),
        samla_common::tls::private_key_from_pem(&read("node-2180.key")).unwrap(),
    )
    .unwrap();
    let server = samla_common::tls::server_config(
        samla_common::tls::certificates_from_pem(&read("hub.crt")).unwrap(),
        samla_common::tls::private_key_from_pem(&read("hub.key")).unwrap(),
        &ca_certs,
        vec![],
    )
    .unwrap();
    Setup {
        _dir: dir,
        client,
        server,
        hub,
        signing,
    }
}

fn submission(sequence: u64, people: usize, pseudonyms: usize) -> Submission {
    let master = MasterSecret::from_bytes([9; 32]);
    let domain: samla_common::pseudonym::LinkageDomain = "bench".parse().unwrap();
    let key = master.domain_key(&domain);
    let record_keys = samla_common::cell_key::RecordKeyer::new(&master, &domain);
    let kommun: samla_common::codes::KommunCode = "2180".parse().unwrap();
    let mut aggregator = Aggregator::new(
        kommun,
        "2025".parse().unwrap(),
        domain,
        master.key_id(),
        vec!["UNG".parse().unwrap()],
    );
    for i in 0..people {
        let nine = format!("95{:02}{:02}{:03}", i % 12 + 1, i % 28 + 1, i % 999 + 1);
        let check = samla_common::personnummer::luhn_check_digit(nine.as_bytes());
        let pnr = format!("19{nine}{check}");
        let record =
            samla_common::record::ParticipantRecord::new(samla_common::record::RecordFields {
                personnummer: samla_common::personnummer::Personnummer::parse(
                    &pnr,
                    time::macros::date!(2026 - 01 - 01),
                )
                .unwrap(),
                project: "UNG".parse().unwrap(),
                start: time::macros::date!(2025 - 02 - 01),
                end: None,
                outcome: None,
                gender: None,
                flags: Default::default(),
                status_at_entry: None,
                education: None,
            })
            .unwrap();
        let r = record_keys.record_key(&record.personnummer, kommun, &record.project);
        aggregator
            .add(key.pseudonym(&record.personnummer), r, &record)
            .unwrap();
    }
    let mut statistics = aggregator.finish();
    if pseudonyms > 0 {
        let mut set: Vec<Pseudonym> = (0..pseudonyms as u64)
            .map(|i| Pseudonym::from_bytes(*blake3::hash(&i.to_le_bytes()).as_bytes()))
            .collect();
        set.sort_unstable();
        set.dedup();
        statistics.linkage_sets[0].pseudonyms = set;
    }
    Submission {
        sequence,
        created_at: 0,
        statistics,
    }
}

async fn request(connection: &quinn::Connection, frame: &[u8]) -> Response {
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    send.write_all(frame).await.unwrap();
    send.finish().unwrap();
    let mut header = [0u8; 4];
    recv.read_exact(&mut header).await.unwrap();
    let mut body = vec![0u8; wire::frame_length(header, 1 << 20).unwrap()];
    recv.read_exact(&mut body).await.unwrap();
    samla_common::codec::decode(&body).unwrap()
}

fn main() {
    let setup = setup();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let running = Hub::open(setup.hub.clone()).unwrap().bind(None).unwrap();
        let address = running.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(running.serve(async {
            let _ = stopped.await;
        }));
        let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        endpoint.set_default_client_config(setup.client.clone());

        // 1. Handshakes.
        let mut handshakes = Vec::new();
        for _ in 0..HANDSHAKES {
            let t = Instant::now();
            let c = endpoint.connect(address, "localhost").unwrap().await.unwrap();
            handshakes.push(t.elapsed());
            c.close(0u32.into(), b"");
        }
        println!("QUIC + TLS 1.3 handshake with client certificate: median {:?} over {HANDSHAKES}", median(handshakes));

        let connection = endpoint.connect(address, "localhost").unwrap().await.unwrap();
        // 2. Small submissions (400 people, all tables): request to verified receipt.
        let mut latencies = Vec::new();
        let mut sequence = 0;
        for _ in 0..SMALL_SUBMISSIONS {
            sequence += 1;
            let signed = SignedSubmission::sign(&submission(sequence, 400, 0), &setup.signing).unwrap();
            let frame = wire::encode_frame(&Request::Submit(signed)).unwrap();
            let t = Instant::now();
            let response = request(&connection, &frame).await;
            latencies.push(t.elapsed());
            assert!(matches!(response, Response::Receipt(_)), "{response:?}");
        }
        println!("submission of 400 people (all tables) to receipt: median {:?} over {SMALL_SUBMISSIONS}", median(latencies));

        // 3. One million pseudonyms.
        let mut big = Vec::new();
        let mut bytes = 0;
        for _ in 0..BIG_RUNS {
            sequence += 1;
            let signed = SignedSubmission::sign(&submission(sequence, 400, PSEUDONYMS), &setup.signing).unwrap();
            let frame = wire::encode_frame(&Request::Submit(signed)).unwrap();
            bytes = frame.len();
            let t = Instant::now();
            let response = request(&connection, &frame).await;
            big.push(t.elapsed());
            assert!(matches!(response, Response::Receipt(_)), "{response:?}");
        }
        let big = median(big);
        println!(
            "submission with {PSEUDONYMS} pseudonyms ({:.1} MB frame) to receipt: median {:?}, {:.1} MB/s",
            bytes as f64 / 1e6,
            big,
            bytes as f64 / 1e6 / big.as_secs_f64()
        );
        connection.close(0u32.into(), b"");
        let _ = stop.send(());
        let _ = server.await;

        // 4. Raw quinn: the same bytes over one stream to a sink, same TLS setup.
        let raw = quinn::Endpoint::server(setup.server.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
        let raw_address = raw.local_addr().unwrap();
        let sink = tokio::spawn(async move {
            let conn = raw.accept().await.unwrap().await.unwrap();
            while let Ok((mut send, mut recv)) = conn.accept_bi().await {
                let _ = recv.read_to_end(usize::MAX).await.unwrap();
                send.write_all(b"k").await.unwrap();
                send.finish().unwrap();
            }
        });
        let connection = endpoint.connect(raw_address, "localhost").unwrap().await.unwrap();
        let payload = vec![0x5au8; bytes];
        let mut raw_times = Vec::new();
        for _ in 0..BIG_RUNS {
            let t = Instant::now();
            let (mut send, mut recv) = connection.open_bi().await.unwrap();
            send.write_all(&payload).await.unwrap();
            send.finish().unwrap();
            let _ = recv.read_to_end(16).await.unwrap();
            raw_times.push(t.elapsed());
        }
        let raw_time = median(raw_times);
        println!(
            "raw quinn stream, same {:.1} MB: median {:?}, {:.1} MB/s",
            bytes as f64 / 1e6,
            raw_time,
            bytes as f64 / 1e6 / raw_time.as_secs_f64()
        );
        connection.close(0u32.into(), b"");
        sink.abort();
        endpoint.wait_idle().await;
    });
    let _ = Arc::new(());
}
