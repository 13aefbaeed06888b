//! `samla-hub`: the region side of samla. Receives, verifies, stores and reports.
//!
//! This build has no server yet: the transport, store and report commands arrive
//! with the issues that build them.

#![forbid(unsafe_code)]

use clap::Parser;

/// samla-hub: the region side of samla.
///
/// Receives kommun nodes' signed submissions over QUIC, verifies and stores them,
/// logs every transfer, and publishes statistics under disclosure control.
#[derive(Parser)]
#[command(name = "samla-hub", version)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    println!("samla-hub: no commands in this build yet; see README.md");
}
