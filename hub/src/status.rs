//! The running hub's status file, for operators and monitoring: `samla-hub status`
//! reads it. The server rewrites it every few seconds (a heartbeat) and whenever its
//! state changes, always by writing a new file and renaming it over the old one, so a
//! reader never sees half a file. It holds counts and times, never personal data.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Seconds between heartbeats.
pub const HEARTBEAT_SECONDS: u64 = 5;

/// A status older than this many heartbeats means the hub is not running.
pub const STALE_AFTER_HEARTBEATS: u64 = 3;

/// What the hub is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Listening and accepting submissions.
    Ready,
    /// Stopping: no new connections; finishing the submissions in flight.
    Stopping,
    /// Stopped cleanly.
    Stopped,
}

/// The status file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubStatus {
    /// What the hub is doing.
    pub state: State,
    /// The server's process id.
    pub pid: u32,
    /// The UDP address it listens on.
    pub listen: String,
    /// When it started (Unix seconds).
    pub started_at: i64,
    /// When this status was written (Unix seconds).
    pub heartbeat_at: i64,
    /// Submissions stored since it started.
    pub accepted: u64,
    /// Requests refused since it started.
    pub refused: u64,
    /// Requests being handled right now.
    pub in_flight: u64,
    /// The transfer log's name.
    pub log_origin: String,
}

/// Where the status of the hub using `database` is kept: beside it.
pub fn path_for(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".status.json");
    database.with_file_name(name)
}

/// Writes the status atomically (a temporary file renamed over the old one).
pub fn write(path: &Path, status: &HubStatus) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text + "\n")?;
    std::fs::rename(&temporary, path)
}

/// Reads the status, if there is one.
pub fn read(path: &Path) -> std::io::Result<HubStatus> {
    let text = samla_cli_common::files::read_small(path, 1 << 20, "status file")
        .map_err(std::io::Error::other)?;
    serde_json::from_slice(&text).map_err(std::io::Error::other)
}

/// Whether a status says the hub is up and taking submissions: state ready, a
/// recent heartbeat, its process alive (where `/proc` exists: there, and not a
/// zombie), and its UDP address still taken. The last two notice a hub that died
/// (killed, crashed) at once, not only when its heartbeat goes stale.
pub fn is_ready(status: &HubStatus, now: i64) -> bool {
    let fresh = now - status.heartbeat_at <= (HEARTBEAT_SECONDS * STALE_AFTER_HEARTBEATS) as i64;
    status.state == State::Ready && fresh && process_alive(status.pid) && listening(&status.listen)
}

/// Whether the process runs (on Linux: `/proc/PID` exists and is not a zombie).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.exists() {
        return true;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // `PID (name) STATE ...`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Whether something still holds the hub's UDP address: if this process can bind
/// it, the hub no longer listens. (A bind refused for any other reason, such as a
/// privileged port, proves nothing and counts as listening.)
fn listening(listen: &str) -> bool {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(address) => std::net::UdpSocket::bind(address).is_err(),
        Err(_) => true,
    }
}
