//! The `samla-custodian` binary's setup as an operator meets it: `init` writes its keys
//! private and its config and certificate request public, and never overwrites.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn custodian(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samla-custodian"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("samla-custodian runs")
}

#[test]
fn init_writes_private_keys_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    let args = [
        "init",
        "--dir",
        "c1",
        "--number",
        "1",
        "--name",
        "custodian-1.example",
        "--listen",
        "127.0.0.1:4501",
    ];
    let first = custodian(root, &args);
    assert!(first.status.success(), "{first:?}");
    let mode = |p: &str| {
        std::fs::metadata(root.join("c1").join(p))
            .expect("written")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("log.key"), 0o600);
    assert_eq!(mode("custodian.key"), 0o600);
    assert_eq!(mode("custodian.csr"), 0o644);
    let config = std::fs::read_to_string(root.join("c1/custodian.toml")).expect("config");
    assert!(config.contains("127.0.0.1:4501"), "{config}");

    let key_before = std::fs::read(root.join("c1/custodian.key")).expect("key");
    let again = custodian(root, &args);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr)
        .starts_with("samla-custodian: refusing to overwrite existing file"));
    assert_eq!(
        std::fs::read(root.join("c1/custodian.key")).expect("key"),
        key_before,
        "a refused init leaves the key as it was"
    );
}
