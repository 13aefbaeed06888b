//! What the `samla-node` binary's tests share: running it in a directory, and its
//! output as text.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `samla-node ARGS` in `dir`, without a config from the environment.
pub fn node(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samla-node"))
        .current_dir(dir)
        .args(args)
        .env_remove("SAMLA_NODE_CONFIG")
        .output()
        .unwrap()
}

/// Standard output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
