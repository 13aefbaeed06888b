//! The exact standard error of the failures operators meet most, for both binaries:
//! a missing key file, a database that cannot be opened, a bad config, and a hub
//! that cannot be reached. Each cause is printed once, on one line after the
//! binary's name, and a hint follows after a blank line.

use std::process::Output;

use samla_tests::{run, text, Node, Region};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `samla-hub ARGS` in the region's directory.
fn hub(region: &Region, args: &[&str]) -> Output {
    run("samla-hub", region.root(), args)
}

/// Asserts a failure's exit status and its exact standard error.
fn fails_with(o: &Output, code: i32, expected: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    assert_eq!(stderr(o), expected, "{}", text(o));
}

/// A region with one node (hub not started) and an export in the node's directory.
fn region_with_node() -> (Region, Node, String) {
    let region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    let export = node.export("export.csv", 40, 1);
    (region, node, export)
}

#[test]
fn node_missing_key_file() {
    let (region, node, export) = region_with_node();
    std::fs::remove_file(region.root().join("master.key")).unwrap();
    let o = node.run(&["preview", &export, "--period", "2025"]);
    fails_with(
        &o,
        2,
        "samla-node: reading key file ../master.key: No such file or directory (os error 2)\n",
    );
    std::fs::remove_file(node.dir.join("node-signing.key")).unwrap();
    let o = node.run(&["submit", &export, "--period", "2025"]);
    fails_with(
        &o,
        2,
        "samla-node: reading signing key node-signing.key: No such file or directory (os error 2)\n",
    );
}

#[test]
fn node_unreadable_database() {
    let (_region, node, _) = region_with_node();
    std::fs::create_dir(node.dir.join("node.db")).unwrap();
    let o = node.run(&["status"]);
    fails_with(
        &o,
        2,
        "samla-node: opening node.db: node database: unable to open database file: node.db\n",
    );
    std::fs::remove_dir(node.dir.join("node.db")).unwrap();
    std::fs::write(node.dir.join("node.db"), [0x5a; 4096]).unwrap();
    let o = node.run(&["outbox"]);
    fails_with(
        &o,
        2,
        "samla-node: opening node.db: node database: file is not a database\n",
    );
}

#[test]
fn node_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let o = run("samla-node", dir.path(), &["check", "x.csv"]);
    fails_with(
        &o,
        2,
        "samla-node: reading config samla-node.toml: No such file or directory (os error 2)\n\n\
         Give the node config with --config FILE (or SAMLA_NODE_CONFIG); configs/ has examples.\n",
    );
    std::fs::write(
        dir.path().join("samla-node.toml"),
        "kommun = \"218\"\nkey_file = \"master.key\"\n[[project]]\ncode = \"UNG\"\nlinkage_domain = \"d\"\n",
    )
    .unwrap();
    let o = run("samla-node", dir.path(), &["check", "x.csv"]);
    fails_with(
        &o,
        2,
        "samla-node: config samla-node.toml: kommun: kommun code \"218\" is not four digits (SCB code, e.g. 2180 for Gävle)\n",
    );
}

#[test]
fn node_missing_region_ca() {
    let (region, node, _) = region_with_node();
    std::fs::remove_file(region.root().join("ca/ca.crt")).unwrap();
    let o = node.run(&["send"]);
    fails_with(
        &o,
        2,
        "samla-node: [hub] region_ca = ../ca/ca.crt: cannot be read: No such file or directory (os error 2)\n\n\
         region_ca is the region CA's certificate (ca.crt), given by the region with this \
         node's certificate; a relative path is relative to the config's directory.\n",
    );
}

#[test]
fn node_unreadable_export() {
    let (_region, node, _) = region_with_node();
    let o = node.run(&["check", "missing.csv"]);
    fails_with(
        &o,
        2,
        "samla-node: missing.csv: No such file or directory (os error 2)\n",
    );
    let o = node.run(&["preview", "missing.csv", "--period", "2025"]);
    fails_with(
        &o,
        2,
        "samla-node: missing.csv: No such file or directory (os error 2)\n",
    );
}

#[test]
fn node_hub_unreachable() {
    let (region, node, export) = region_with_node();
    let quick = ["--give-up-after", "0", "--retry-wait", "10"];
    let mut submit = vec!["submit", export.as_str(), "--period", "2025"];
    submit.extend(quick);
    let o = node.run(&submit);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let mut send = vec!["send"];
    send.extend(quick);
    let o = node.run(&send);
    fails_with(
        &o,
        3,
        &format!(
            "samla-node: 1 submission(s) wait in the outbox: hub {a} (UDP): no answer within 1 s \
             (after 1 attempt)\n\n\
             Nothing answered at {a} (UDP). Check [hub] address (host:port of the hub), that \
             firewalls on both sides let UDP port {port} through, and that the hub is running \
             (`samla-hub status` at the region).\n\
             `samla-node send` delivers them once the hub can be reached.\n",
            a = region.address,
            port = region.address.port(),
        ),
    );
}

/// What `samla-hub serve` says of a file its config names that cannot be used.
fn hub_file_fails(region: &Region, key: &str, path: &str, fault: &str, hint: &str) {
    let o = hub(region, &["serve", "--config", "hub/hub.toml"]);
    fails_with(
        &o,
        2,
        &format!("samla-hub: config hub/hub.toml: {key} = {path}: {fault}\n\n{hint}\n"),
    );
    assert!(
        !region.root().join("hub/hub.db").exists(),
        "the files are read before the database is opened"
    );
}

#[test]
fn hub_missing_files_are_named_once_with_their_config_key() {
    let region = Region::new();
    let missing = "cannot be read: No such file or directory (os error 2)";
    let hub_files = "certificate and private_key are the hub's own certificate and key, \
         hub.crt and hub.key from `samla-hub ca issue-hub`; a relative path is relative \
         to the config's directory.";
    let root = region.root();
    std::fs::rename(root.join("hub/ca.crt"), root.join("ca.crt.away")).unwrap();
    hub_file_fails(
        &region,
        "region_ca",
        "hub/ca.crt",
        missing,
        "region_ca is the region CA's certificate, ca.crt from `samla-hub ca init` (never \
         ca.key); a relative path is relative to the config's directory.",
    );
    std::fs::rename(root.join("ca.crt.away"), root.join("hub/ca.crt")).unwrap();
    std::fs::rename(root.join("hub/hub.crt"), root.join("hub.crt.away")).unwrap();
    hub_file_fails(&region, "certificate", "hub/hub.crt", missing, hub_files);
    std::fs::rename(root.join("hub.crt.away"), root.join("hub/hub.crt")).unwrap();
    std::fs::write(root.join("hub/hub.key"), "not a key\n").unwrap();
    hub_file_fails(
        &region,
        "private_key",
        "hub/hub.key",
        "not usable: not a PEM private key: no items found",
        hub_files,
    );
}

#[test]
fn hub_missing_key_file() {
    let region = Region::new();
    std::fs::remove_file(region.root().join("hub/receipt.key")).unwrap();
    hub_file_fails(
        &region,
        "receipt_key",
        "hub/receipt.key",
        "cannot be read: No such file or directory (os error 2)",
        "receipt_key is the hub's receipt signing key, receipt.key from `samla-hub init`; \
         a relative path is relative to the config's directory.",
    );
    std::fs::remove_file(region.root().join("ca/ca.key")).unwrap();
    let issue: Vec<&str> = "ca issue-node --ca-dir ca --kommun 2180 --out-dir n"
        .split(' ')
        .collect();
    let o = hub(&region, &issue);
    fails_with(
        &o,
        2,
        "samla-hub: reading CA key ca/ca.key: No such file or directory (os error 2)\n",
    );
}

#[test]
fn hub_unreadable_database() {
    let region = Region::new();
    std::fs::create_dir(region.root().join("hub/hub.db")).unwrap();
    let o = hub(
        &region,
        &[
            "audit",
            "--lang",
            "en",
            "verify",
            "--config",
            "hub/hub.toml",
        ],
    );
    fails_with(
        &o,
        2,
        "samla-hub: opening hub/hub.db: SQLite: unable to open database file: hub/hub.db\n",
    );
}

#[test]
fn hub_bad_config() {
    let region = Region::new();
    region.set_hub_setting("listen", "\"nowhere\"");
    let o = hub(&region, &["serve", "--config", "hub/hub.toml"]);
    fails_with(
        &o,
        2,
        "samla-hub: config hub/hub.toml: listen: \"nowhere\" is not an address like 0.0.0.0:4433\n",
    );
    let o = hub(&region, &["status", "--config", "nowhere.toml"]);
    fails_with(
        &o,
        2,
        "samla-hub: reading config nowhere.toml: No such file or directory (os error 2)\n",
    );
}

#[test]
fn hub_not_running_or_not_listening() {
    let mut region = Region::new();
    let o = hub(&region, &["status", "--config", "hub/hub.toml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "hub: NOT RUNNING (no status file at hub/hub.db.status.json)\n"
    );
    assert_eq!(stderr(&o), "");

    // A second hub on the same address cannot listen.
    region.start_hub();
    let o = hub(&region, &["serve", "--config", "hub/hub.toml"]);
    fails_with(
        &o,
        2,
        &format!(
            "samla-hub: listening on {}: Address already in use (os error 98)\n",
            region.address
        ),
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let (_region, node, _) = region_with_node();
    // More JSON than a pipe holds, so the node writes after the reader has gone.
    let big = node.export("big.csv", 3000, 2);
    let mut child = std::process::Command::new(samla_tests::binary("samla-node"))
        .current_dir(&node.dir)
        .args(["--config", "samla-node.toml", "preview", &big])
        .args(["--period", "2025", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(stderr(&o), "");
}

#[test]
fn conflicting_flags_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for other in ["--semicolons", "--messy"] {
        let o = run(
            "samla-node",
            dir.path(),
            &["synth", "--out", "x.csv", other, "--tabs"],
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            stderr(&o).starts_with(&format!(
                "error: the argument '{other}' cannot be used with '--tabs'"
            )),
            "{}",
            text(&o)
        );
        assert!(!dir.path().join("x.csv").exists(), "nothing is written");
    }
}
