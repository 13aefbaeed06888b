//! The example configs in `configs/`: every hub and node config loads and is
//! complete (projects, nodes for every kommun, a daemon section), and the systemd
//! units start the binaries with arguments they accept.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};

use samla_hub::config::HubConfig;
use samla_tests::{binary, text};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs")
}

fn files(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path, keep));
        } else if keep(path.file_name().unwrap().to_str().unwrap()) {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_seed_region_has_a_complete_hub_config_and_a_node_config_per_kommun() {
    let hubs = files(&root(), &|n| n == "hub.toml");
    assert!(hubs.len() >= 3, "Gävleborg, Jämtland, Kronoberg: {hubs:?}");
    let mut projects = Vec::new();
    for hub in &hubs {
        let config = HubConfig::load(hub).unwrap_or_else(|e| panic!("{}: {e}", hub.display()));
        assert!(!config.projects.is_empty(), "{}", hub.display());
        for project in &config.projects {
            projects.push(project.code.to_string());
            for kommun in &project.kommuner {
                assert!(
                    config.nodes.contains_key(kommun),
                    "{}: no [[node]] for {kommun}",
                    hub.display()
                );
            }
        }
        let dir = hub.parent().unwrap();
        let nodes = files(dir, &|n| n.starts_with("node-") && n.ends_with(".toml"));
        assert_eq!(nodes.len(), config.nodes.len(), "{}", dir.display());
        for file in nodes {
            let node = samla_node::config::NodeConfig::load(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(
                config.nodes.contains_key(&node.kommun),
                "{}",
                file.display()
            );
            assert!(node.daemon.is_some(), "{} has no [daemon]", file.display());
            let link = node.hub.unwrap();
            assert_eq!(link.log_origin, config.log_origin, "{}", file.display());
        }
    }
    for seed in ["UNG", "OMSTART", "UVAS", "FASETTEN", "NYAEXTRA"] {
        assert!(projects.iter().any(|p| p == seed), "{seed} in {projects:?}");
    }
}

/// Nya eXtra stöd i Gävleborg (DESIGN.md §1): Region Gävleborg's kommuner without
/// Hofors, about 545 participants, at least 60 % women, foreign-born people and people
/// with disabilities as target groups; every one of its kommuner's nodes reports it.
#[test]
fn nya_extra_stod_is_configured_as_the_project_defines_itself() {
    use samla_common::codes::Flag;
    use samla_common::report::Of;
    let hub = root().join("gavleborg-ung/hub.toml");
    let config = HubConfig::load(&hub).unwrap();
    let ung = config
        .projects
        .iter()
        .find(|p| p.code.as_str() == "UNG")
        .unwrap();
    let nya = config
        .projects
        .iter()
        .find(|p| p.code.as_str() == "NYAEXTRA")
        .unwrap();
    assert_eq!(nya.name, "Nya eXtra stöd i Gävleborg");
    let mut expected: Vec<String> = ung
        .kommuner
        .iter()
        .filter(|k| k.as_str() != "2104")
        .map(|k| k.to_string())
        .collect();
    let mut kommuner: Vec<String> = nya.kommuner.iter().map(|k| k.to_string()).collect();
    expected.sort();
    kommuner.sort();
    assert_eq!(
        kommuner, expected,
        "Gävleborg's UNG kommuner without Hofors"
    );
    assert_eq!(kommuner.len(), 8);
    assert_eq!(nya.targets.participants, Some(545));
    let women = nya.targets.share_women.unwrap();
    assert_eq!((women.share, women.of), (0.6, Of::Participants));
    assert_eq!(nya.target_groups, [Flag::ForeignBorn, Flag::Disability]);
    for file in files(hub.parent().unwrap(), &|n| n.starts_with("node-")) {
        let node = samla_node::config::NodeConfig::load(&file).unwrap();
        let reports = node.projects.iter().any(|p| p.code == nya.code);
        assert_eq!(
            reports,
            nya.kommuner.contains(&node.kommun),
            "{}",
            file.display()
        );
    }
}

#[test]
fn the_systemd_units_run_commands_the_binaries_accept() {
    let units = files(&root(), &|n| n.ends_with(".service"));
    assert_eq!(units.len(), 2, "{units:?}");
    for unit in units {
        let text_ = std::fs::read_to_string(&unit).unwrap();
        let exec = text_
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        let mut args: Vec<&str> = exec.split_whitespace().collect();
        let program = Path::new(args.remove(0))
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        args.push("--help");
        let o = std::process::Command::new(binary(&program))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {exec}: {}",
            unit.display(),
            text(&o)
        );
        for hardening in [
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "CapabilityBoundingSet=",
            "KillSignal=SIGTERM",
        ] {
            assert!(text_.contains(hardening), "{}: {hardening}", unit.display());
        }
    }
}

/// Config text from random characters, and the real configs with characters changed:
/// an error that names the file, never a panic.
#[test]
fn random_and_damaged_configs_are_errors_not_panics() {
    use std::fmt::Write as _;
    let real = std::fs::read_to_string(root().join("gavleborg-ung/hub.toml")).unwrap();
    let path = Path::new("/etc/samla-hub/hub.toml");
    let mut seed = 0x5eed_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..300 {
        let mut text_: Vec<char> = real.chars().collect();
        for _ in 0..1 + round % 8 {
            let at = next() as usize % text_.len();
            text_[at] = char::from_u32((next() % 0x250) as u32).unwrap_or('x');
        }
        let damaged: String = text_.into_iter().collect();
        if let Err(e) = HubConfig::parse(&damaged, path) {
            assert!(e.to_string().contains("/etc/samla-hub/hub.toml"), "{e}");
        }
        let mut random = String::new();
        for _ in 0..next() % 200 {
            let _ = write!(
                random,
                "{}",
                char::from_u32((next() % 0x80) as u32).unwrap_or(' ')
            );
        }
        let _ = HubConfig::parse(&random, path);
    }
}
