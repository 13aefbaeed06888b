//! The `samla-hub` binary's setup commands as an operator meets them.

use std::path::Path;
use std::process::{Command, Output};

use samla_hub::config::HubConfig;

fn hub(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samla-hub"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("samla-hub runs")
}

#[test]
fn setup_writes_private_keys_and_refuses_to_overwrite() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    assert!(hub(root, &["ca", "init", "--dir", "ca"]).status.success());
    let mode = |p: &str| {
        std::fs::metadata(root.join(p))
            .expect("written")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("ca/ca.key"), 0o600);
    assert_eq!(mode("ca/ca.crt"), 0o644);
    let again = hub(root, &["ca", "init", "--dir", "ca"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr)
        .starts_with("samla-hub: refusing to overwrite existing file ca/ca.key"));

    let node = hub(
        root,
        &[
            "ca",
            "issue-node",
            "--ca-dir",
            "ca",
            "--kommun",
            "2180",
            "--out-dir",
            "n",
        ],
    );
    assert!(node.status.success());
    assert_eq!(mode("n/node-2180.key"), 0o600);
    let bad = hub(
        root,
        &[
            "ca",
            "issue-node",
            "--ca-dir",
            "ca",
            "--kommun",
            "218",
            "--out-dir",
            "n",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("kommun code \"218\" is not four digits"));

    let init = hub(root, &["init", "--dir", "h"]);
    assert!(init.status.success());
    assert_eq!(mode("h/receipt.key"), 0o600);
    let key = String::from_utf8_lossy(&init.stdout)
        .lines()
        .last()
        .map(str::to_owned)
        .unwrap_or_default();
    assert_eq!(key.len(), 64, "the receipt key is printed for the nodes");
    let config = HubConfig::load(&root.join("h/hub.toml")).expect("the written config loads");
    assert!(config.nodes.is_empty());
}

#[test]
fn malformed_configs_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("hub.toml");
    let cases = [
        "",
        "listen = 5",
        "listen = \"nowhere\"\ndatabase = \"a\"\nregion_ca = \"a\"\ncertificate = \"a\"\nprivate_key = \"a\"\nreceipt_key = \"a\"",
        "listen = \"0.0.0.0:1\"\ndatabase = \"a\"\nregion_ca = \"a\"\ncertificate = \"a\"\nprivate_key = \"a\"\nreceipt_key = \"a\"\n[[node]]\nkommun = \"21\"",
        "listen = \"0.0.0.0:1\"\ndatabase = \"a\"\nregion_ca = \"a\"\ncertificate = \"a\"\nprivate_key = \"a\"\nreceipt_key = \"a\"\nlog_origin = \"has space\"",
        "\u{0}\u{1}garbage[[[",
    ];
    for text in cases {
        std::fs::write(&path, text).expect("written");
        let err = HubConfig::load(&path).expect_err("refused");
        assert!(err.to_string().contains("hub.toml"), "{err}");
    }
}

#[test]
fn project_definitions_are_checked() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("hub.toml");
    let base = "listen = \"0.0.0.0:1\"\ndatabase = \"a\"\nregion_ca = \"a\"\ncertificate = \"a\"\nprivate_key = \"a\"\nreceipt_key = \"a\"\n";
    let project = |extra: &str| {
        format!(
            "{base}[[project]]\ncode = \"UVAS\"\nname = \"UVAS\"\nstart = \"2015-06-01\"\nend = \"2018-06-30\"\n\
             linkage_domain = \"jamtland-uvas-2015\"\nkommuner = [\"2380\", \"2309\"]\n{extra}"
        )
    };
    std::fs::write(
        &path,
        project("[project.targets]\nparticipants = 350\nshare_into_activity = 0.5\n"),
    )
    .expect("written");
    let config = HubConfig::load(&path).expect("a valid project");
    assert_eq!(config.projects[0].targets.participants, Some(350));
    assert_eq!(
        config.projects[0].lifetime.to_string(),
        "2015-06-01..2018-06-30"
    );
    for (extra, message) in [
        (
            "[project.targets]\nshare_women = 60\n",
            "targets.share_women must be a share from 0 to 1",
        ),
        ("[project.targets]\nshare_wimmen = 0.6\n", "unknown field"),
        (
            "[project.targets]\nshare_into_activity = { share = 0.5, of = \"leaver\" }\n",
            "targets.share_into_activity: of = \"leaver\"; a share is of \"participants\" (the default) or \"leavers\"",
        ),
        (
            "target_groups = [\"foreign\"]\n",
            "target_groups: \"foreign\" is not a background flag; the flags are foreign_born,",
        ),
    ] {
        std::fs::write(&path, project(extra)).expect("written");
        let err = HubConfig::load(&path).expect_err("refused").to_string();
        assert!(err.contains(message), "{err}");
    }
    std::fs::write(&path, project("").replace("2018-06-30", "2014-01-01")).expect("written");
    let err = HubConfig::load(&path).expect_err("refused").to_string();
    assert!(err.contains("project[0]: end is before start"), "{err}");
}
