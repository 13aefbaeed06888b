//! Fault injection: seeded rounds in which nodes submit through a relay that drops,
//! delays, duplicates and reorders datagrams, while the hub and the submitting node
//! are killed (SIGKILL) and restarted at random points. After every round, every
//! submission a node built is stored at the hub exactly once, and every log verifies.
//!
//! `SAMLA_FAULT_ROUNDS` sets the number of rounds (CI runs the default, 4; the long
//! mode in docs/performance.md runs 200) and `SAMLA_FAULT_SEED` the first seed.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use samla_tests::{binary, run, text, Faults, Node, Region, Relay};

/// A small seeded generator (xorshift), so every round can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sequences the node holds (all states) and the hub stored for its kommun.
fn sequences(region: &Region, node: &Node) -> (BTreeSet<i64>, Vec<i64>) {
    let outbox: BTreeSet<i64> = node.outbox_states().into_iter().map(|(s, _)| s).collect();
    let db = region.hub_db();
    let mut s = db
        .prepare("SELECT sequence FROM submissions WHERE kommun = ?1 ORDER BY sequence")
        .unwrap();
    let stored: Vec<i64> = s
        .query_map([&node.kommun], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (outbox, stored)
}

#[test]
fn nothing_is_lost_or_doubled_under_crashes_and_a_bad_network() {
    let rounds = env("SAMLA_FAULT_ROUNDS", 4);
    let mut rng = Rng(env("SAMLA_FAULT_SEED", 20_261_123) | 1);
    let mut region = Region::new();
    let nodes = region.add_nodes(&["2180", "2181"]);
    region.start_hub();
    let relay = Relay::start(
        region.address,
        Faults {
            seed: rng.next(),
            drop: 0.05,
            duplicate: 0.05,
            delay: 0.1,
            max_delay: Duration::from_millis(40),
        },
    );
    for n in &nodes {
        n.point_at(relay.address);
    }
    for round in 0..rounds {
        let node = &nodes[rng.below(2) as usize];
        let export = format!("export-{round}.csv");
        let o = run(
            "samla-node",
            &node.dir,
            &[
                "synth",
                "--out",
                &export,
                "--kommun",
                &node.kommun,
                "--period",
                "2025",
                "--participants",
                &(20 + rng.below(200)).to_string(),
                "--seed",
                &round.to_string(),
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        let mut submit = Command::new(binary("samla-node"))
            .current_dir(&node.dir)
            .args([
                "--config",
                "samla-node.toml",
                "submit",
                &export,
                "--period",
                "2025",
                "--give-up-after",
                "20",
                "--retry-wait",
                "100",
                "--max-retry-wait",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        let fault = rng.below(4);
        if fault & 1 == 1 {
            region.stop_hub();
            std::thread::sleep(Duration::from_millis(rng.below(300)));
            region.start_hub();
        }
        if fault & 2 == 2 {
            let _ = submit.kill();
        }
        let _ = submit.wait();
        // Whatever is left in any outbox is delivered (the network is still bad).
        for n in &nodes {
            let o = n.run(&[
                "send",
                "--give-up-after",
                "60",
                "--retry-wait",
                "100",
                "--max-retry-wait",
                "1",
            ]);
            assert!(
                o.status.success(),
                "round {round} ({}): {}",
                n.kommun,
                text(&o)
            );
        }
        for n in &nodes {
            let (outbox, stored) = sequences(&region, n);
            let unique: BTreeSet<i64> = stored.iter().copied().collect();
            assert_eq!(unique.len(), stored.len(), "round {round}: stored twice");
            assert_eq!(
                outbox, unique,
                "round {round} ({}): lost or extra",
                n.kommun
            );
            assert!(
                n.outbox_states().iter().all(|(_, s)| s == "acknowledged"),
                "round {round}: {:?}",
                n.outbox_states()
            );
        }
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
        assert!(o.status.success(), "round {round}: {}", text(&o));
        for n in &nodes {
            let o = n.run(&["audit", "--lang", "en", "verify"]);
            assert!(o.status.success(), "round {round}: {}", text(&o));
        }
    }
    let submissions = region.count("submissions");
    assert!(
        submissions as u64 >= rounds / 2,
        "{submissions} stored in {rounds} rounds"
    );
    assert!(!relay.seen.lock().unwrap().is_empty());
    eprintln!("{rounds} rounds, {submissions} submissions stored, each exactly once");
}
