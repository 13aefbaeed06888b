//! Both daemons as real processes (issue "run it for real"): exports dropped into the
//! nodes' inboxes, the hub killed with SIGKILL and restarted mid-run, a node killed
//! mid-submission and restarted, and in the end every export submitted exactly once
//! and every log verifying. Also: SIGTERM stops both cleanly.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use samla_tests::{run, sql, text, wait_for, Node, Region};

const LIMIT: Duration = Duration::from_secs(90);

fn stored(region: &Region, kommun: &str) -> Vec<String> {
    sql::column(
        &region.hub_db(),
        "SELECT period FROM submissions WHERE kommun = ?1 ORDER BY period",
        [kommun],
    )
}

/// Waits until each node's outbox holds `count(node)` submissions, every one
/// acknowledged by a verified receipt (the only way the outbox marks one
/// acknowledged). The hub's submissions table alone is not enough: a hub killed right
/// after storing a submission never sends its receipt, and the node sends it again
/// only after its backoff (the hub then answers with the receipt it already gave).
fn wait_acknowledged(nodes: &[Node], count: impl Fn(&Node) -> usize) {
    wait_for(LIMIT, "every submission's receipt at its node", || {
        nodes.iter().all(|n| {
            let states = n.outbox_states();
            states.len() == count(n) && states.iter().all(|(_, s)| s == "acknowledged")
        })
    });
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    child.wait().unwrap()
}

#[test]
fn exports_are_submitted_exactly_once_through_hub_and_node_crashes() {
    let mut region = Region::new();
    let nodes = region.add_nodes(&["2180", "2181", "2104"]);
    region.start_hub();
    let mut daemons: Vec<_> = nodes
        .iter()
        .map(|n| {
            n.enable_daemon();
            n.start_daemon()
        })
        .collect();

    // Round 1: one export per kommun, delivered normally.
    for (i, n) in nodes.iter().enumerate() {
        n.drop_export("ung-2023.csv", 80, i as u64 + 1, "2023");
    }
    wait_for(LIMIT, "round 1 stored", || {
        nodes.iter().all(|n| stored(&region, &n.kommun).len() == 1)
    });

    // Round 2 while the hub is dead (SIGKILL): the nodes queue and retry.
    region.stop_hub();
    for (i, n) in nodes.iter().enumerate() {
        n.drop_export("ung-2024.csv", 80, i as u64 + 11, "2024");
    }
    wait_for(LIMIT, "round 2 queued while the hub is down", || {
        nodes.iter().all(|n| n.outbox_states().len() == 2)
    });
    region.start_hub();
    wait_for(LIMIT, "round 2 stored after the hub came back", || {
        nodes.iter().all(|n| stored(&region, &n.kommun).len() == 2)
    });

    // Round 3: the first node is killed (SIGKILL) while it reads and submits a large
    // export, then restarted.
    let big = &nodes[0];
    big.drop_export("ung-2025.csv", 60_000, 99, "2025");
    // The file settles for a second before it is read; reading 60 000 people and
    // sending takes a while longer. Kill inside that window.
    std::thread::sleep(Duration::from_millis(1_600));
    daemons[0].kill().unwrap();
    daemons[0].wait().unwrap();
    daemons[0] = big.start_daemon();
    for (i, n) in nodes.iter().enumerate().skip(1) {
        n.drop_export("ung-2025.csv", 80, i as u64 + 21, "2025");
    }
    wait_for(LIMIT, "round 3 stored", || {
        nodes.iter().all(|n| stored(&region, &n.kommun).len() == 3)
    });

    // Round 4: the first node holds a built, signed submission it could not deliver
    // (the hub is down) when it is killed; restarted with the hub, it delivers it
    // once.
    region.stop_hub();
    big.drop_export("ung-2022.csv", 80, 31, "2022");
    // The new export's submission, not one whose receipt the last kill of the hub cut
    // off: the fourth in the outbox, pending.
    wait_for(
        LIMIT,
        "the new submission pending at the first node",
        || {
            let states = big.outbox_states();
            states.len() == 4 && states.last().is_some_and(|(_, s)| s == "pending")
        },
    );
    daemons[0].kill().unwrap();
    daemons[0].wait().unwrap();
    region.start_hub();
    daemons[0] = big.start_daemon();
    wait_for(LIMIT, "round 4 stored", || {
        stored(&region, &big.kommun).len() == 4
    });
    // Before anything is stopped, every node holds the receipt of everything it sent,
    // including any the hub was killed before it could send (rounds 2 and 4 kill it
    // as soon as the last submission is stored).
    wait_acknowledged(&nodes, |n| if n.kommun == big.kommun { 4 } else { 3 });

    // SIGTERM stops every daemon cleanly, then the hub.
    for (daemon, n) in daemons.iter_mut().zip(&nodes) {
        let status = terminate(daemon);
        assert!(
            status.success(),
            "{}: {status}\n{}",
            n.kommun,
            n.daemon_log()
        );
        assert!(
            n.daemon_log().contains("daemon stopped"),
            "{}",
            n.daemon_log()
        );
    }
    let root = region.root().to_owned();
    let status = || run("samla-hub", &root, &["status", "--config", "hub/hub.toml"]);
    let o = status();
    assert!(o.status.success(), "a running hub is ready: {}", text(&o));
    assert!(text(&o).contains("hub: ready"), "{}", text(&o));
    let mut hub = region.hub.take().unwrap();
    assert!(terminate(&mut hub).success(), "{}", region.hub_log());
    assert!(
        region.hub_log().contains("stopped cleanly"),
        "{}",
        region.hub_log()
    );
    let o = status();
    assert_eq!(
        o.status.code(),
        Some(1),
        "a stopped hub is not: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("NOT READY") && text(&o).contains("Stopped"),
        "{}",
        text(&o)
    );

    // Exactly once: one submission per export and period, all acknowledged, every
    // export moved to processed/.
    for (i, n) in nodes.iter().enumerate() {
        let mut expected = vec![
            "2023-01-01..2023-12-31",
            "2024-01-01..2024-12-31",
            "2025-01-01..2025-12-31",
        ];
        if i == 0 {
            expected.insert(0, "2022-01-01..2022-12-31");
        }
        assert_eq!(stored(&region, &n.kommun), expected, "{}", n.kommun);
        let states = n.outbox_states();
        assert_eq!(states.len(), expected.len(), "{}: {states:?}", n.kommun);
        assert!(
            states.iter().all(|(_, s)| s == "acknowledged"),
            "{states:?}"
        );
        let processed: Vec<_> = std::fs::read_dir(n.dir.join("inbox/processed"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(processed.len(), expected.len(), "{processed:?}");
        let left: Vec<_> = std::fs::read_dir(n.dir.join("inbox"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    // Every log verifies, and each node's log matches the hub's.
    let o = run(
        "samla-hub",
        region.root(),
        &[
            "audit",
            "--lang",
            "en",
            "verify",
            "--config",
            "hub/hub.toml",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        "samla-hub",
        region.root(),
        &[
            "audit",
            "--lang",
            "en",
            "export",
            "--config",
            "hub/hub.toml",
            "hub-bundle",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    for n in &nodes {
        let o = n.run(&["audit", "--lang", "en", "verify"]);
        assert!(o.status.success(), "{}", text(&o));
        let o = n.run(&["audit", "--lang", "en", "export", "node-bundle"]);
        assert!(o.status.success(), "{}", text(&o));
        let hub_bundle = region.root().join("hub-bundle");
        let o = n.run(&[
            "audit",
            "--lang",
            "en",
            "cross-check",
            "node-bundle",
            hub_bundle.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    // No personnummer in any daemon log (the exports' first column).
    for n in &nodes {
        let log = n.daemon_log();
        for line in log.lines() {
            assert!(
                !line
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .contains("19990"),
                "{line}"
            );
        }
    }
}

#[test]
fn a_scheduled_export_is_submitted_once_per_content() {
    let mut region = Region::new();
    let node = region.add_node("2180", "ca", &[]);
    node.set_daemon_section("export = \"current-2025.csv\"\nevery_minutes = 1\n");
    region.start_hub();
    let once = || {
        let o = node.run(&["run", "--once"]);
        assert!(o.status.success(), "{}", text(&o));
    };
    node.export("current-2025.csv", 50, 1);
    once();
    once();
    assert_eq!(stored(&region, "2180").len(), 1, "the same content once");
    node.export("current-2025.csv", 50, 2);
    once();
    assert_eq!(stored(&region, "2180").len(), 2, "new content again");
    assert!(
        node.dir.join("current-2025.csv").exists(),
        "a scheduled file stays where it is"
    );
    assert!(node
        .outbox_states()
        .iter()
        .all(|(_, s)| s == "acknowledged"));
}
