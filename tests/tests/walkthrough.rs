//! docs/operations.md's walkthrough, run as a new user would run it: the shell blocks
//! marked `<!-- walkthrough -->` are run as written, in order, in an empty directory,
//! with the built binaries on the `PATH` and only the port `4433` replaced by a free
//! one. `<!-- walkthrough: background -->` blocks are started one process a line (the
//! hub, then the four kommuner's daemons) and stopped with SIGTERM at the end;
//! `<!-- walkthrough: retry -->` is run until it succeeds (the hub's status);
//! `<!-- walkthrough: report -->` is run once every kommun's submissions are
//! acknowledged at the node and stored at the hub.
//!
//! On the way, the errors a user meets are made to happen, and each must say what the
//! doc's "What you may meet on the way" says (its `text` blocks, in order): the hub not
//! running, a wrong `server_name`, a misnamed header, and the hub's missing
//! `region_ca`. The daemon moves the export with the misnamed header to `rejected/`
//! with the fix beside it, and a file in an inbox that is not an export is left there
//! and logged.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use samla_tests::{binary, free_port, sql, text, wait_for};

/// The kommuner of the walkthrough's region.
const KOMMUNER: [&str; 4] = ["0781", "0764", "0767", "0765"];

/// The port the doc's commands use; replaced by a free one.
const DOC_PORT: &str = "4433";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Run,
    Background,
    Retry,
    Report,
}

/// The marked shell blocks of the walkthrough section, in order.
fn shell_blocks(doc: &str) -> Vec<(Kind, String)> {
    let mut blocks = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line
            .trim()
            .strip_prefix("<!-- walkthrough")
            .and_then(|m| m.strip_suffix("-->"))
        else {
            continue;
        };
        let kind = match marker.trim().trim_start_matches(':').trim() {
            "" => Kind::Run,
            "background" => Kind::Background,
            "retry" => Kind::Retry,
            "report" => Kind::Report,
            other => panic!("unknown walkthrough marker {other:?}"),
        };
        assert_eq!(
            lines.next(),
            Some("```sh"),
            "a marker stands above a sh block"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        blocks.push((kind, body.join("\n") + "\n"));
    }
    blocks
}

/// The `text` blocks of "What you may meet on the way": the messages the doc promises.
fn promised_messages(doc: &str) -> Vec<String> {
    let start = doc
        .find("### What you may meet on the way")
        .expect("the walkthrough lists the errors met on the way");
    let section = &doc[start..];
    let section = &section[..section[4..].find("\n## ").map_or(section.len(), |e| e + 4)];
    let mut messages = Vec::new();
    let mut rest = section;
    while let Some(at) = rest.find("```text\n") {
        let body = &rest[at + 8..];
        let end = body.find("```").unwrap();
        let message: Vec<&str> = body[..end].lines().map(str::trim).collect();
        messages.push(message.join("\n").trim().to_owned());
        rest = &body[end + 3..];
    }
    messages
}

/// The walkthrough's directory, its port, and the processes it started.
struct Walk {
    dir: tempfile::TempDir,
    port: String,
    path: std::ffi::OsString,
    started: Vec<(String, Child)>,
}

impl Walk {
    fn new() -> Walk {
        let bin = binary("samla-node").parent().unwrap().to_owned();
        let mut path = std::ffi::OsString::from(bin);
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        Walk {
            dir: tempfile::tempdir().unwrap(),
            port: free_port().to_string(),
            path,
            started: Vec::new(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The doc's text with its port replaced.
    fn local(&self, text: &str) -> String {
        text.replace(DOC_PORT, &self.port)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.root())
            .env("PATH", &self.path)
            .env_remove("SAMLA_NODE_CONFIG")
            .env_remove("SAMLA_HUB_CONFIG")
            .env_remove("SAMLA_LOG");
        command
    }

    /// Runs a shell script as written (`set -eu`: the first failing command fails it).
    fn sh(&self, script: &str) -> Output {
        self.command("bash")
            .args(["-eu", "-o", "pipefail", "-c", &self.local(script)])
            .output()
            .unwrap()
    }

    /// Runs one of the binaries with these arguments.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().unwrap()
    }

    /// Starts one command line of a background block; its output goes to a log file.
    fn start(&mut self, line: &str) {
        let name = format!("process-{}.log", self.started.len());
        let log = std::fs::File::create(self.root().join(&name)).unwrap();
        let child = self
            .command("bash")
            .args(["-c", &format!("exec {}", self.local(line))])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.started.push((name, child));
    }

    /// What a started process has written so far.
    fn log(&self, index: usize) -> String {
        std::fs::read_to_string(self.root().join(&self.started[index].0)).unwrap_or_default()
    }

    fn node_db(&self, kommun: &str) -> rusqlite::Connection {
        rusqlite::Connection::open(self.root().join(format!("kommuner/{kommun}/node.db"))).unwrap()
    }

    fn hub_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.root().join("hub/hub.db")).unwrap()
    }

    /// `(state, count)` of a kommun's outbox.
    fn outbox(&self, kommun: &str) -> Vec<(String, i64)> {
        let db = self.node_db(kommun);
        let mut s = db
            .prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The periods the hub stored for a kommun.
    fn stored(&self, kommun: &str) -> Vec<String> {
        sql::column(
            &self.hub_db(),
            "SELECT period FROM submissions WHERE kommun = ?1 ORDER BY period",
            [kommun],
        )
    }
}

impl Drop for Walk {
    fn drop(&mut self) {
        for (_, child) in &mut self.started {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        }
        for (_, child) in &mut self.started {
            let _ = child.wait();
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Before the hub runs: a misnamed header, a hub that does not answer, and the hub's
/// missing CA file, each with the message the doc promises.
fn errors_before_the_hub(walk: &Walk, promised: &[String]) {
    // A header `Kon` instead of `Kön`: check exits 1 with the fix.
    let export = walk.root().join("kommuner/0764/prov.csv");
    let original = std::fs::read_to_string(&export).unwrap();
    let (header, rows) = original.split_once('\n').unwrap();
    assert!(header.contains("Kön"), "{header}");
    let misnamed = walk.root().join("kon.csv");
    std::fs::write(
        &misnamed,
        format!("{}\n{rows}", header.replace("Kön", "Kon")),
    )
    .unwrap();
    let config = "kommuner/0764/samla-node.toml";
    let o = walk.run("samla-node", &["--config", config, "check", "kon.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(out.contains(&promised[2]), "{out}");

    // The hub not running: the hint, exit 3, the submission kept for later.
    let o = walk.run(
        "samla-node",
        &[
            "--config",
            "kommuner/0767/samla-node.toml",
            "submit",
            "kommuner/0767/prov.csv",
            "--period",
            "lifetime",
            "--give-up-after",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        stderr(&o).contains(&walk.local(&promised[0])),
        "{}",
        text(&o)
    );
    assert_eq!(walk.outbox("0767"), [("pending".to_owned(), 1)]);

    // The hub's CA file missing: named once, with its key and path.
    let ca = walk.root().join("hub/ca.crt");
    let away = walk.root().join("ca.crt.away");
    std::fs::rename(&ca, &away).unwrap();
    let o = walk.run("samla-hub", &["serve", "--config", "hub/hub.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = stderr(&o);
    assert!(err.starts_with(&format!("{}\n\n", promised[3])), "{err}");
    assert_eq!(
        err.matches("region_ca").count(),
        2,
        "the message and the hint: {err}"
    );
    std::fs::rename(&away, &ca).unwrap();
}

/// With the hub running: a wrong `server_name` says so and is not retried.
fn wrong_server_name(walk: &Walk, promised: &[String]) {
    let dir = walk.root().join("kommuner/0767");
    let config = std::fs::read_to_string(dir.join("samla-node.toml")).unwrap();
    let wrong = config.replace(
        "server_name = \"localhost\"",
        "server_name = \"samla.ljungby.se\"",
    );
    assert_ne!(wrong, config, "init wrote server_name = \"localhost\"");
    std::fs::write(dir.join("wrong-name.toml"), wrong).unwrap();
    let o = walk.run(
        "samla-node",
        &["--config", "kommuner/0767/wrong-name.toml", "send"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = stderr(&o);
    assert!(err.contains(&promised[1]), "{err}");
    assert!(
        err.contains("server_name") && err.contains("samla.ljungby.se"),
        "{err}"
    );
    assert!(!err.contains("next attempt"), "not retried: {err}");
    assert_eq!(walk.outbox("0767"), [("pending".to_owned(), 1)]);
}

#[test]
fn a_new_user_stands_up_a_four_kommun_region_from_the_operations_doc() {
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let blocks = shell_blocks(&doc);
    let kinds: Vec<Kind> = blocks.iter().map(|(k, _)| *k).collect();
    assert!(
        kinds.iter().filter(|k| **k == Kind::Background).count() == 2
            && kinds.contains(&Kind::Retry)
            && kinds.last() == Some(&Kind::Report),
        "the walkthrough starts the hub, waits for it, starts the daemons, reports: {kinds:?}"
    );
    let promised = promised_messages(&doc);
    assert_eq!(promised.len(), 4, "{promised:?}");

    let mut walk = Walk::new();
    let mut backgrounds = 0;
    for (kind, script) in &blocks {
        match kind {
            Kind::Run => {
                let o = walk.sh(script);
                assert!(o.status.success(), "{script}\n{}", text(&o));
            }
            Kind::Background => {
                match backgrounds {
                    0 => errors_before_the_hub(&walk, &promised),
                    _ => {
                        let root = walk.root();
                        std::fs::write(
                            root.join("kommuner/0765/inbox/README.md"),
                            "Exporter från Procapita läggs här.\n",
                        )
                        .unwrap();
                        // The export with the misnamed header, dropped into Alvesta's
                        // inbox: the daemon must not submit it.
                        std::fs::rename(
                            root.join("kon.csv"),
                            root.join("kommuner/0764/inbox/kon-0764.csv"),
                        )
                        .unwrap();
                    }
                }
                for line in script.lines().filter(|l| !l.trim().is_empty()) {
                    walk.start(line);
                }
                backgrounds += 1;
            }
            Kind::Retry => {
                wait_for(Duration::from_secs(30), script, || {
                    walk.sh(script).status.success()
                });
                wrong_server_name(&walk, &promised);
            }
            Kind::Report => {
                // 0781 submitted by hand and through its daemon, 0767 kept the
                // submission made while the hub was down; each daemon submitted its
                // export for the project's lifetime only.
                let expected = |kommun: &str| match kommun {
                    "0781" | "0767" => 2,
                    _ => 1,
                };
                wait_for(Duration::from_secs(90), "every kommun's receipts", || {
                    KOMMUNER
                        .iter()
                        .all(|k| walk.outbox(k) == [("acknowledged".to_owned(), expected(k))])
                });
                for kommun in KOMMUNER {
                    assert_eq!(
                        walk.stored(kommun),
                        vec!["2021-01-04..2023-02-28"; expected(kommun) as usize],
                        "{kommun}"
                    );
                    let inbox = walk.root().join(format!("kommuner/{kommun}/inbox"));
                    assert!(inbox
                        .join(format!("processed/fasetten-{kommun}.csv"))
                        .exists());
                }
                let rejected = walk.root().join("kommuner/0764/inbox/rejected");
                wait_for(
                    Duration::from_secs(30),
                    "the misnamed export rejected",
                    || rejected.join("kon-0764.csv.error.txt").exists(),
                );
                assert!(rejected.join("kon-0764.csv").exists());
                let why = std::fs::read_to_string(rejected.join("kon-0764.csv.error.txt")).unwrap();
                assert!(why.contains(&promised[2]), "{why}");
                let o = walk.sh(script);
                assert!(o.status.success(), "{script}\n{}", text(&o));
                let report = String::from_utf8_lossy(&o.stdout).into_owned();
                assert!(
                    report.contains(
                        "Fasetten för arbete & studier (FASETTEN), Hela projekttiden (2021-01-04–2023-02-28)"
                    ) && report.contains("Kommuner som lämnat in: 4 / 4"),
                    "{report}"
                );
                for name in ["Ljungby", "Alvesta", "Markaryd", "Älmhult"] {
                    assert!(report.contains(name), "{name}: {report}");
                }
                let html = std::fs::read_to_string(walk.root().join("fasetten.html")).unwrap();
                assert!(html.contains("Fasetten"), "the HTML report is written");
            }
        }
    }

    // The daemons' logs: the periods left out and why, the file each came from, the
    // file that is not an export, and plain values only.
    for (i, kommun) in KOMMUNER.iter().enumerate() {
        let log = walk.log(1 + i);
        assert!(
            log.contains(&format!("samla-node daemon started kommun={kommun} ")),
            "{log}"
        );
        assert!(
            log.contains("is outside project FASETTEN's lifetime 2021-01-04..2023-02-28: not submitted for it")
                && log.contains(&format!(
                    "submission queued file=fasetten-{kommun}.csv period=2021-01-04..2023-02-28 projects=FASETTEN"
                ))
                && log.contains("receipt verified"),
            "{log}"
        );
        assert!(!log.contains("Some(") && !log.contains("=\""), "{log}");
    }
    let log = walk.log(4);
    assert!(
        log.contains("not an export; left in the inbox file=README.md"),
        "{log}"
    );
    assert!(walk.root().join("kommuner/0765/inbox/README.md").exists());
    let hub_log = walk.log(0);
    assert!(!hub_log.contains("Some("), "{hub_log}");
}
