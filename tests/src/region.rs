//! A region on loopback: a CA, a real `samla-hub` process with its files, and the
//! kommun nodes registered with it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::node::Node;
use crate::process::{binary, free_port, run, text};

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
                "--organisation",
                "Region Gävleborg",
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

    /// Appends `text` (a `[[project]]` section, say) to the hub config.
    pub fn append_to_hub_config(&self, text: &str) {
        let path = self.root().join("hub/hub.toml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(text);
        std::fs::write(&path, config).unwrap();
    }

    /// One node for each kommun, its certificate issued by the region's CA.
    pub fn add_nodes(&self, kommuner: &[&str]) -> Vec<Node> {
        kommuner
            .iter()
            .map(|k| self.add_node(k, "ca", &[]))
            .collect()
    }

    /// `samla-hub report --project UNG ARGS` with the hub's config: the report, which
    /// must have been made.
    pub fn report_ung(&self, args: &[&str]) -> String {
        let mut all = vec!["report", "--config", "hub/hub.toml", "--project", "UNG"];
        all.extend_from_slice(args);
        let o = run("samla-hub", self.root(), &all);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout).unwrap()
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
