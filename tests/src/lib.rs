//! Helpers for end-to-end tests: a region on loopback with a real `samla-hub`
//! process, real `samla-node` processes, their files, and a raw QUIC client for
//! sending what a well-behaved node never would.

#![forbid(unsafe_code)]
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use samla_common::codes::{Gender, KommunCode, Outcome, ProjectCode};
use samla_common::personnummer::{luhn_check_digit, Personnummer};
use samla_common::pseudonym::{LinkageDomain, MasterSecret};
use samla_common::record::{FlagSet, ParticipantRecord, RecordFields};
use samla_common::statistics::{Aggregator, Statistics};
use samla_common::wire::{self, Request, Response};
use time::macros::date;

/// A kommun's statistics for 2025: `people` participants in UNG under the `national`
/// linkage domain, different for each `index` (for load and store benchmarks).
pub fn kommun_statistics(kommun: KommunCode, index: usize, people: usize) -> Statistics {
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
    for j in 0..people {
        let n = index * people + j;
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

/// A built binary of the workspace, next to the test executable's directory.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace` (or `cargo build --workspace` first)",
        path.display()
    );
    path
}

/// Runs a command to completion.
pub fn run(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(binary(program))
        .current_dir(dir)
        .args(args)
        .env_remove("SAMLA_NODE_CONFIG")
        .env_remove("SAMLA_HUB_CONFIG")
        .output()
        .unwrap()
}

/// Stdout and stderr of an output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A free UDP port on loopback (free when this returns; good enough for tests).
pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A region in a temporary directory: CA, hub files, and nodes.
pub struct Region {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The hub's address.
    pub address: SocketAddr,
    /// The hub's receipt key (hex).
    pub receipt_key: String,
    /// The running hub, if started.
    pub hub: Option<Child>,
}

impl Region {
    /// A CA, hub certificate and hub config; the hub is not started.
    pub fn new() -> Region {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for args in [
            vec!["ca", "init", "--dir", "ca"],
            vec![
                "ca",
                "issue-hub",
                "--ca-dir",
                "ca",
                "--name",
                "localhost",
                "--out-dir",
                "hub",
            ],
        ] {
            let o = run("samla-hub", root, &args);
            assert!(o.status.success(), "{}", text(&o));
        }
        let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let listen = address.to_string();
        let o = run(
            "samla-hub",
            root,
            &["init", "--dir", "hub", "--listen", &listen],
        );
        assert!(o.status.success(), "{}", text(&o));
        let receipt_key = String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_owned();
        std::fs::copy(root.join("ca/ca.crt"), root.join("hub/ca.crt")).unwrap();
        Region {
            dir,
            address,
            receipt_key,
            hub: None,
        }
    }

    /// The region's directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The hub's database.
    pub fn hub_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.root().join("hub/hub.db")).unwrap()
    }

    /// Sets up a node for `kommun` with a certificate issued by `ca_dir` (relative to
    /// the region), registers its signing key at the hub, and returns its directory.
    pub fn add_node(&self, kommun: &str, ca_dir: &str, extra_issue_args: &[&str]) -> Node {
        let root = self.root();
        let node_dir = format!("node-{kommun}");
        let mut args = vec![
            "ca",
            "issue-node",
            "--ca-dir",
            ca_dir,
            "--kommun",
            kommun,
            "--out-dir",
            &node_dir,
        ];
        args.extend_from_slice(extra_issue_args);
        let o = run("samla-hub", root, &args);
        assert!(o.status.success(), "{}", text(&o));
        self.init_node(
            kommun,
            &node_dir,
            &format!("node-{kommun}.crt"),
            &format!("node-{kommun}.key"),
        )
    }

    /// Writes a node config in `node_dir` using the given certificate files (relative
    /// to the node directory) and registers the node's signing key for `kommun`.
    pub fn init_node(
        &self,
        kommun: &str,
        node_dir: &str,
        certificate: &str,
        private_key: &str,
    ) -> Node {
        let root = self.root();
        let dir = root.join(node_dir);
        std::fs::create_dir_all(&dir).unwrap();
        let master = root.join("master.key");
        if !master.exists() {
            let o = run(
                "samla-node",
                root,
                &["key", "generate", "--out", "master.key"],
            );
            assert!(o.status.success(), "{}", text(&o));
        }
        let hub = self.address.to_string();
        let o = run(
            "samla-node",
            root,
            &[
                "init",
                "--dir",
                node_dir,
                "--kommun",
                kommun,
                "--project",
                "UNG:gavleborg-ung-2023",
                "--key-file",
                "../master.key",
                "--hub",
                &hub,
                "--hub-name",
                "localhost",
                "--region-ca",
                "../ca/ca.crt",
                "--certificate",
                certificate,
                "--private-key",
                private_key,
                "--receipt-key",
                &self.receipt_key,
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        let stdout = String::from_utf8_lossy(&o.stdout);
        let registration = &stdout[stdout.find("[[node]]").unwrap()..];
        let mut hub_config = std::fs::read_to_string(root.join("hub/hub.toml")).unwrap();
        hub_config.push('\n');
        hub_config.push_str(registration);
        std::fs::write(root.join("hub/hub.toml"), hub_config).unwrap();
        Node {
            dir,
            kommun: kommun.to_owned(),
        }
    }

    /// Starts the hub and waits until it listens.
    pub fn start_hub(&mut self) {
        assert!(self.hub.is_none(), "the hub is already running");
        let mut child = Command::new(binary("samla-hub"))
            .current_dir(self.root())
            .args(["serve", "--config", "hub/hub.toml"])
            .env("SAMLA_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(self.root().join("hub.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert!(
            line.starts_with("samla-hub listening on"),
            "hub did not start: {line}\n{}",
            self.hub_log()
        );
        self.hub = Some(child);
    }

    /// Kills the hub (SIGKILL) and waits for it.
    pub fn stop_hub(&mut self) {
        if let Some(mut child) = self.hub.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The hub's process id.
    pub fn hub_pid(&self) -> u32 {
        self.hub.as_ref().unwrap().id()
    }

    /// What the hub has logged.
    pub fn hub_log(&self) -> String {
        std::fs::read_to_string(self.root().join("hub.log")).unwrap_or_default()
    }

    /// Whether the hub process is still running.
    pub fn hub_running(&mut self) -> bool {
        self.hub
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// Sets a key the hub config written by `samla-hub init` already has (such as
    /// `revoked_certificates` or a key of `[limits]`) to a TOML value.
    pub fn set_hub_setting(&self, key: &str, value: &str) {
        let path = self.root().join("hub/hub.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let prefix = format!("{key} = ");
        let mut found = false;
        let edited: Vec<String> = text
            .lines()
            .map(|line| {
                if !found && line.starts_with(&prefix) {
                    found = true;
                    format!("{prefix}{value}")
                } else {
                    line.to_owned()
                }
            })
            .collect();
        assert!(found, "the hub config has no {key}");
        std::fs::write(path, edited.join("\n") + "\n").unwrap();
    }

    /// Rows in a hub table.
    pub fn count(&self, table: &str) -> i64 {
        self.hub_db()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::new()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        self.stop_hub();
    }
}

/// One kommun's node directory.
pub struct Node {
    /// Its directory (config `samla-node.toml`, keys, database).
    pub dir: PathBuf,
    /// Its kommun.
    pub kommun: String,
}

impl Node {
    /// Runs `samla-node --config <its config> ARGS` in its directory.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--config", "samla-node.toml"];
        all.extend_from_slice(args);
        run("samla-node", &self.dir, &all)
    }

    /// Writes a synthetic export and returns its file name.
    pub fn export(&self, name: &str, participants: usize, seed: u64) -> String {
        let o = run(
            "samla-node",
            &self.dir,
            &[
                "synth",
                "--out",
                name,
                "--kommun",
                &self.kommun,
                "--period",
                "2025",
                "--participants",
                &participants.to_string(),
                "--seed",
                &seed.to_string(),
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        name.to_owned()
    }

    /// The node's database.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.join("node.db")).unwrap()
    }

    /// Adds a `[daemon]` section watching `inbox/` (every second) to the config.
    pub fn enable_daemon(&self) {
        let path = self.dir.join("samla-node.toml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(
            "\n[daemon]\ninbox = \"inbox\"\nperiods = [\"year\"]\npoll_seconds = 1\nsettle_seconds = 1\n",
        );
        std::fs::write(path, config).unwrap();
        std::fs::create_dir_all(self.dir.join("inbox")).unwrap();
    }

    /// Starts `samla-node run`, logging to `daemon.log` in its directory.
    pub fn start_daemon(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("daemon.log"))
            .unwrap();
        Command::new(binary("samla-node"))
            .current_dir(&self.dir)
            .args(["--config", "samla-node.toml", "run"])
            .env("SAMLA_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap()
    }

    /// What the daemon has logged.
    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// Writes a synthetic export outside the inbox and moves it in whole, as an
    /// export job should.
    pub fn drop_export(&self, name: &str, participants: usize, seed: u64, period: &str) {
        let staging = format!(".{name}.part");
        let o = run(
            "samla-node",
            &self.dir,
            &[
                "synth",
                "--out",
                &staging,
                "--kommun",
                &self.kommun,
                "--period",
                period,
                "--participants",
                &participants.to_string(),
                "--seed",
                &seed.to_string(),
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        std::fs::rename(self.dir.join(&staging), self.dir.join("inbox").join(name)).unwrap();
    }

    /// Outbox rows by state.
    pub fn outbox_states(&self) -> Vec<(i64, String)> {
        let db = self.db();
        let mut s = db
            .prepare("SELECT sequence, state FROM outbox ORDER BY sequence")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// Polls `done` every 100 ms for up to `limit`; panics with `what` if it never holds.
pub fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A raw QUIC client for sending frames a real node never would.
pub struct RawClient {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
}

impl RawClient {
    /// Connects with the given certificate (or none).
    pub async fn connect(
        region: &Region,
        identity: Option<(&Path, &Path)>,
    ) -> Result<RawClient, String> {
        RawClient::connect_to(region, region.address, identity).await
    }

    /// Connects to `address` (the hub, or something in front of it) with the region's
    /// CA and the given certificate.
    pub async fn connect_to(
        region: &Region,
        address: SocketAddr,
        identity: Option<(&Path, &Path)>,
    ) -> Result<RawClient, String> {
        let ca = samla_common::tls::certificates_from_pem(
            &std::fs::read(region.root().join("ca/ca.crt")).unwrap(),
        )
        .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in &ca {
            roots.add(c.clone()).unwrap();
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots);
        let mut tls = match identity {
            Some((cert, key)) => {
                let chain = samla_common::tls::certificates_from_pem(&std::fs::read(cert).unwrap())
                    .unwrap();
                let key =
                    samla_common::tls::private_key_from_pem(&std::fs::read(key).unwrap()).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
            None => builder.with_no_client_auth(),
        };
        tls.alpn_protocols = vec![wire::ALPN.to_vec()];
        let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
        let mut config = quinn::ClientConfig::new(std::sync::Arc::new(quic));
        let mut transport = quinn::TransportConfig::default();
        transport.max_idle_timeout(Some(Duration::from_secs(5).try_into().unwrap()));
        config.transport_config(std::sync::Arc::new(transport));
        let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        endpoint.set_default_client_config(config);
        let connection = endpoint
            .connect(address, "localhost")
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
        Ok(RawClient {
            endpoint,
            connection,
        })
    }

    /// Sends raw bytes on a new stream and reads one response frame.
    pub async fn exchange(&self, bytes: &[u8]) -> Result<Response, String> {
        let (mut send, mut recv) = self.connection.open_bi().await.map_err(|e| e.to_string())?;
        send.write_all(bytes).await.map_err(|e| e.to_string())?;
        let _ = send.finish();
        let mut header = [0u8; 4];
        recv.read_exact(&mut header)
            .await
            .map_err(|e| e.to_string())?;
        let length = wire::frame_length(header, 1 << 20).map_err(|e| e.to_string())?;
        let mut body = vec![0u8; length];
        recv.read_exact(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        samla_common::codec::decode(&body).map_err(|e| e.to_string())
    }

    /// Sends a request and reads the response.
    pub async fn request(&self, request: &Request) -> Result<Response, String> {
        self.exchange(&wire::encode_frame(request).unwrap()).await
    }

    /// The QUIC connection, for tests of the hub's limits.
    pub fn connection(&self) -> &quinn::Connection {
        &self.connection
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.connection.close(0u32.into(), b"done");
        self.endpoint.wait_idle().await;
    }
}

/// What a [`Relay`] does to datagrams, decided by a seeded generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Seed of the generator.
    pub seed: u64,
    /// Share of datagrams dropped.
    pub drop: f64,
    /// Share sent twice.
    pub duplicate: f64,
    /// Share held back (up to `max_delay`), which reorders them.
    pub delay: f64,
    /// The longest hold.
    pub max_delay: Duration,
}

/// A UDP relay of its own between nodes and the hub: it copies every datagram it
/// forwards (both ways) and can drop, duplicate, delay and so reorder them.
pub struct Relay {
    /// Where nodes should send.
    pub address: SocketAddr,
    /// Every datagram seen, both ways.
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl Relay {
    /// Starts a relay to `hub`.
    pub fn start(hub: SocketAddr, faults: Faults) -> Relay {
        use std::sync::{Arc, Mutex};
        let front = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = front.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let back = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        back.connect(hub).unwrap();
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let rng = Arc::new(Mutex::new(faults.seed | 1));
        let chance = {
            let rng = Arc::clone(&rng);
            move || {
                let mut x = rng.lock().unwrap();
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                (*x % 1_000_000) as f64 / 1_000_000.0
            }
        };
        // Sends one datagram with the faults applied.
        let forward = {
            let chance = chance.clone();
            move |socket: std::net::UdpSocket, to: Option<SocketAddr>, bytes: Vec<u8>| {
                if chance() < faults.drop {
                    return;
                }
                let copies = if chance() < faults.duplicate { 2 } else { 1 };
                let hold = (chance() < faults.delay).then(|| faults.max_delay.mul_f64(chance()));
                let send = move || {
                    for _ in 0..copies {
                        let _ = match to {
                            Some(to) => socket.send_to(&bytes, to),
                            None => socket.send(&bytes),
                        };
                    }
                };
                match hold {
                    Some(hold) => {
                        std::thread::spawn(move || {
                            std::thread::sleep(hold);
                            send();
                        });
                    }
                    None => send(),
                }
            }
        };
        {
            let (front, back, client, seen, forward) = (
                front.try_clone().unwrap(),
                back.try_clone().unwrap(),
                Arc::clone(&client),
                Arc::clone(&seen),
                forward.clone(),
            );
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; 65_536];
                loop {
                    let n = match back.recv(&mut buffer) {
                        Ok(n) => n,
                        // The hub is down (ICMP unreachable): keep relaying.
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                    };
                    seen.lock().unwrap().push(buffer[..n].to_vec());
                    let to = *client.lock().unwrap();
                    if to.is_some() {
                        forward(front.try_clone().unwrap(), to, buffer[..n].to_vec());
                    }
                }
            });
        }
        {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; 65_536];
                loop {
                    let Ok((n, from)) = front.recv_from(&mut buffer) else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    *client.lock().unwrap() = Some(from);
                    seen.lock().unwrap().push(buffer[..n].to_vec());
                    forward(back.try_clone().unwrap(), None, buffer[..n].to_vec());
                }
            });
        }
        Relay { address, seen }
    }
}

impl Node {
    /// Points the node's `[hub] address` at `address` (a relay).
    pub fn point_at(&self, address: SocketAddr) {
        let path = self.dir.join("samla-node.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        let start = config.find("address = \"").unwrap() + 11;
        let end = start + config[start..].find('"').unwrap();
        std::fs::write(
            &path,
            format!("{}{address}{}", &config[..start], &config[end..]),
        )
        .unwrap();
    }
}
