//! Running the workspace's binaries as real processes, and waiting for what they do.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A built binary of the workspace, next to the test executable's directory.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace` (or `cargo build --workspace` first)",
        path.display()
    );
    path
}

/// Runs a command to completion.
pub fn run(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(binary(program))
        .current_dir(dir)
        .args(args)
        .env_remove("SAMLA_NODE_CONFIG")
        .env_remove("SAMLA_HUB_CONFIG")
        .output()
        .unwrap()
}

/// Stdout and stderr of an output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts that a command exited with `code` and that its standard output holds
/// `expected`.
#[track_caller]
pub fn assert_prints(o: &Output, code: i32, expected: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(expected),
        "expected {expected:?} in {}",
        text(o)
    );
}

/// A free UDP port on loopback (free when this returns; good enough for tests).
pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `done` every 100 ms for up to `limit`; panics with `what` if it never holds.
pub fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
