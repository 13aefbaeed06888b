//! Benchmark of the node's whole offline pipeline on a synthetic export: read CSV,
//! validate, pseudonymise and aggregate (the work of `preview` before printing).
//!
//! Run with `cargo bench -p samla-node --bench ingest`.

use divan::Bencher;
use samla_common::pseudonym::MasterSecret;
use samla_node::config::NodeConfig;
use samla_node::pipeline;
use samla_node::synth::{write_export, Style, SynthOptions};
use time::macros::date;

fn main() {
    divan::main();
}

const ROWS: usize = 200_000;

#[divan::bench(sample_count = 5)]
fn csv_to_statistics(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("export.csv");
    let options = SynthOptions {
        projects: vec!["UNG".parse().expect("valid")],
        period: "2023-09-01..2026-08-31".parse().expect("valid"),
        participants: ROWS,
        seed: 7,
        style: Style {
            semicolons: true,
            swedish: true,
            ..Style::default()
        },
        bad_rows: 0.0,
    };
    let report = write_export(&path, &options).expect("written");
    let config = NodeConfig::parse(
        "kommun = \"2180\"\nkey_file = \"k\"\n[[project]]\ncode = \"UNG\"\nlinkage_domain = \"d\"\n",
        &dir.path().join("node.toml"),
    )
    .expect("valid config");
    let master =
        samla_node::pseudonyms::Pseudonymiser::SharedKey(MasterSecret::from_bytes([1; 32]));
    let files = [path];
    bencher
        .counter(divan::counter::ItemsCount::new(report.rows as usize))
        .bench(|| {
            pipeline::build(
                &config,
                &master,
                &files,
                "2025".parse().expect("valid"),
                &[],
                date!(2026 - 11 - 23),
            )
            .expect("readable")
        });
}
