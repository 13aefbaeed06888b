//! One kommun's node: its directory and config, the `samla-node` commands run in it,
//! its daemon, and its database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use crate::process::{binary, run, text};

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

    /// `samla-node submit EXPORT --period PERIOD` and the flags `more` (how long to
    /// try the hub, how long to wait between tries).
    pub fn submit(&self, export: &str, period: &str, more: &[&str]) -> Output {
        let mut args = vec!["submit", export, "--period", period];
        args.extend_from_slice(more);
        self.run(&args)
    }

    /// The node's database.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.join("node.db")).unwrap()
    }

    /// The signed submission the outbox holds at `sequence`, decoded.
    pub fn signed(&self, sequence: i64) -> samla_common::wire::SignedSubmission {
        let sql = "SELECT signed FROM outbox WHERE sequence = ?1";
        let bytes: Vec<u8> = crate::sql::one(&self.db(), sql, [sequence]);
        samla_common::codec::decode(&bytes).unwrap()
    }

    /// Flips the bits `mask` of the middle byte of the stored submission at
    /// `sequence`, as a tamperer with the database would; returns the id it is
    /// stored under.
    pub fn flip_signed_byte(&self, sequence: i64, mask: u8) -> samla_common::wire::SubmissionId {
        let db = self.db();
        let (id, mut signed): (Vec<u8>, Vec<u8>) = db
            .query_row(
                "SELECT id, signed FROM outbox WHERE sequence = ?1",
                [sequence],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let middle = signed.len() / 2;
        signed[middle] ^= mask;
        db.execute(
            "UPDATE outbox SET signed = ?1 WHERE sequence = ?2",
            rusqlite::params![signed, sequence],
        )
        .unwrap();
        samla_common::wire::SubmissionId::from_bytes(id.try_into().unwrap())
    }

    /// Replaces the `[daemon]` section `init` wrote with one watching `inbox/` (every
    /// second).
    pub fn enable_daemon(&self) {
        self.set_daemon_section(
            "inbox = \"inbox\"\nperiods = [\"year\"]\npoll_seconds = 1\nsettle_seconds = 1\n",
        );
        std::fs::create_dir_all(self.dir.join("inbox")).unwrap();
    }

    /// Replaces the config's `[daemon]` section (the last one `init` writes) with
    /// these lines.
    pub fn set_daemon_section(&self, lines: &str) {
        let path = self.dir.join("samla-node.toml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        if let Some(at) = config.find("\n[daemon]\n") {
            config.truncate(at);
        }
        config.push_str("\n[daemon]\n");
        config.push_str(lines);
        std::fs::write(path, config).unwrap();
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
