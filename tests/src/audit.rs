//! A region whose transfer logs a privacy officer audits: two kommuner that have
//! sent two submissions each, both logs exported as bundles, and the audit commands
//! of both binaries run on them in English.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::node::Node;
use crate::process::{run, text};
use crate::region::Region;

/// The audited region, its two nodes and the two bundles exported from it.
pub struct Setup {
    /// The region, its hub running.
    pub region: Region,
    /// Gävle (2180).
    pub a: Node,
    /// Sandviken (2181).
    pub b: Node,
    /// `hub-bundle/`, the hub's export.
    pub hub_bundle: PathBuf,
    /// `node-bundle/`, 2180's export.
    pub node_bundle: PathBuf,
}

/// Hub log: the registrations of 2180 (0) and 2181 (1), 2181's submission (2),
/// 2180's two (3, 4), 2181's second (5).
pub fn setup() -> Setup {
    let mut region = Region::new();
    let a = region.add_node("2180", "ca", &[]);
    let b = region.add_node("2181", "ca", &[]);
    region.start_hub();
    let export_a = a.export("export.csv", 80, 11);
    let export_b = b.export("export.csv", 80, 12);
    for (node, export, period) in [
        (&b, &export_b, "2025"),
        (&a, &export_a, "2025"),
        (&a, &export_a, "2025-H1"),
        (&b, &export_b, "2025-H1"),
    ] {
        let o = node.run(&["submit", export, "--period", period]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let root = region.root().to_owned();
    let o = audit_en(
        "samla-hub",
        &root,
        &["export", "--config", "hub/hub.toml", "hub-bundle"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = a.run(&["audit", "--lang", "en", "export", "../node-bundle"]);
    assert!(o.status.success(), "{}", text(&o));
    Setup {
        hub_bundle: root.join("hub-bundle"),
        node_bundle: root.join("node-bundle"),
        region,
        a,
        b,
    }
}

/// `PROGRAM audit --lang en ARGS`, run in `dir`.
pub fn audit_en(program: &str, dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["audit", "--lang", "en"];
    all.extend_from_slice(args);
    run(program, dir, &all)
}
