//! A region's key custodians on loopback: the key ceremony, three (or n) real
//! `samla-custodian` processes with certificates from the region's CA, the setup
//! coordinator's certificate and config, and nodes switched to custodian mode.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::node::Node;
use crate::process::{binary, free_port, run, text, wait_for};
use crate::region::Region;

/// The custodians of one region.
pub struct Custodians {
    /// The region's directory (custodians live in `custodian-N/`).
    pub root: PathBuf,
    /// Each custodian's UDP port, custodian `i` at `i - 1`.
    pub ports: Vec<u16>,
    /// The key id the ceremony printed.
    pub key_id: String,
    /// t.
    pub threshold: u8,
    /// The running processes, custodian `i` at `i - 1`.
    pub running: Vec<Option<Child>>,
}

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", text(o));
}

/// `samla-custodian audit show --format csv` of the custodian whose directory (with
/// its `custodian.toml`) is `dir`, which must succeed.
pub fn audit_rows(dir: &std::path::Path) -> String {
    let o = run(
        "samla-custodian",
        dir,
        &[
            "audit",
            "show",
            "--config",
            "custodian.toml",
            "--format",
            "csv",
        ],
    );
    ok(&o);
    String::from_utf8(o.stdout).unwrap()
}

impl Custodians {
    /// Runs the ceremony (t of n, 8 slots), initialises n custodians with certificates
    /// from the region CA, pins the coordinator, sets each kommun's limit to
    /// `evaluations` per day, and starts them all.
    pub fn new(region: &Region, threshold: u8, n: u8, evaluations: u64) -> Custodians {
        let root = region.root().to_owned();
        let t = threshold.to_string();
        let count = n.to_string();
        let o = run(
            "samla-custodian",
            &root,
            &[
                "ceremony",
                "--threshold",
                &t,
                "--custodians",
                &count,
                "--slots",
                "8",
                "--out",
                "ceremony",
            ],
        );
        ok(&o);
        let stdout = String::from_utf8_lossy(&o.stdout);
        let key_id = stdout
            .split_whitespace()
            .nth(2)
            .unwrap()
            .trim_end_matches(':')
            .to_owned();
        ok(&run(
            "samla-hub",
            &root,
            &[
                "ca",
                "issue-coordinator",
                "--ca-dir",
                "ca",
                "--out-dir",
                "coordinator",
            ],
        ));
        let fingerprint = String::from_utf8(
            run(
                "samla-hub",
                &root,
                &["ca", "fingerprint", "coordinator/coordinator.crt"],
            )
            .stdout,
        )
        .unwrap()
        .trim()
        .to_owned();
        let mut ports = Vec::new();
        let mut coordinator = String::from(
            "region_ca = \"../ca/ca.crt\"\ncertificate = \"coordinator.crt\"\nprivate_key = \"coordinator.key\"\nkey_set = \"../ceremony/keyset.bin\"\n",
        );
        for i in 1..=n {
            let dir = format!("custodian-{i}");
            let port = free_port();
            ports.push(port);
            ok(&run(
                "samla-custodian",
                &root,
                &[
                    "init",
                    "--dir",
                    &dir,
                    "--number",
                    &i.to_string(),
                    "--name",
                    "localhost",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                ],
            ));
            ok(&run(
                "samla-hub",
                &root,
                &[
                    "ca",
                    "issue-custodian",
                    "--ca-dir",
                    "ca",
                    "--csr",
                    &format!("{dir}/custodian.csr"),
                    "--name",
                    "localhost",
                    "--out-dir",
                    &dir,
                ],
            ));
            let d = root.join(&dir);
            std::fs::copy(root.join("ca/ca.crt"), d.join("ca.crt")).unwrap();
            std::fs::copy(root.join("ceremony/keyset.bin"), d.join("keyset.bin")).unwrap();
            std::fs::rename(
                root.join(format!("ceremony/custodian-{i}.share")),
                d.join("share.key"),
            )
            .unwrap();
            let config = std::fs::read_to_string(d.join("custodian.toml"))
                .unwrap()
                .replace(
                    "coordinators = []",
                    &format!("coordinators = [\"{fingerprint}\"]"),
                )
                .replace(
                    "evaluations = 50000\nperiod_days = 30",
                    &format!("evaluations = {evaluations}\nperiod_days = 1"),
                );
            std::fs::write(d.join("custodian.toml"), config).unwrap();
            coordinator.push_str(&format!(
                "\n[[custodian]]\nnumber = {i}\naddress = \"127.0.0.1:{port}\"\nserver_name = \"localhost\"\n"
            ));
        }
        std::fs::write(root.join("coordinator/coordinator.toml"), coordinator).unwrap();
        let mut custodians = Custodians {
            root,
            ports,
            key_id,
            threshold,
            running: (0..n).map(|_| None).collect(),
        };
        for i in 1..=n {
            custodians.start(i);
        }
        custodians
    }

    /// Custodian `i`'s directory.
    pub fn dir(&self, i: u8) -> PathBuf {
        self.root.join(format!("custodian-{i}"))
    }

    /// Starts custodian `i` and waits until its status says ready.
    pub fn start(&mut self, i: u8) {
        let dir = self.dir(i);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("custodian.log"))
            .unwrap();
        let child = Command::new(binary("samla-custodian"))
            .current_dir(&dir)
            .args(["serve", "--config", "custodian.toml"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.running[usize::from(i - 1)] = Some(child);
        wait_for(Duration::from_secs(20), "the custodian to be ready", || {
            run(
                "samla-custodian",
                &dir,
                &["status", "--config", "custodian.toml"],
            )
            .status
            .success()
        });
    }

    /// Kills custodian `i` (SIGKILL).
    pub fn stop(&mut self, i: u8) {
        if let Some(mut child) = self.running[usize::from(i - 1)].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Custodian `i`'s log.
    pub fn log(&self, i: u8) -> String {
        std::fs::read_to_string(self.dir(i).join("custodian.log")).unwrap_or_default()
    }

    /// `samla-custodian audit show --format csv` of custodian `i`.
    pub fn audit_rows(&self, i: u8) -> String {
        audit_rows(&self.dir(i))
    }

    /// Sets `domain` up on `slot` as the coordinator.
    pub fn setup_domain(&self, domain: &str, slot: u16) {
        ok(&run(
            "samla-custodian",
            &self.root,
            &[
                "setup-domain",
                "--coordinator",
                "coordinator/coordinator.toml",
                "--domain",
                domain,
                "--slot",
                &slot.to_string(),
            ],
        ));
    }

    /// Switches a node from `key_file` to a `[custodian]` section naming these
    /// custodians.
    pub fn switch(&self, node: &Node) {
        let path = node.dir.join("samla-node.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = config
            .lines()
            .filter(|l| !l.starts_with("key_file"))
            .collect();
        let mut section = format!(
            "\n[custodian]\nkey_set = \"{}\"\nkey_id = \"{}\"\nthreshold = {}\n",
            Path::new("..").join("ceremony/keyset.bin").display(),
            self.key_id,
            self.threshold
        );
        for (i, port) in self.ports.iter().enumerate() {
            section.push_str(&format!(
                "\n[[custodian.server]]\nnumber = {}\naddress = \"127.0.0.1:{port}\"\nserver_name = \"localhost\"\n",
                i + 1
            ));
        }
        // Before any later section, so the [custodian] tables stay together.
        let text = kept.join("\n");
        let at = text.find("\n[").unwrap_or(text.len());
        let new = format!("{}{section}{}\n", &text[..at], &text[at..]);
        std::fs::write(path, new).unwrap();
    }
}

impl Drop for Custodians {
    fn drop(&mut self) {
        for child in self.running.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
