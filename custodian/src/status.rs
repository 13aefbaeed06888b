//! The running custodian's status file, beside its database, rewritten every few
//! seconds (a new file renamed over the old, so a reader never sees half of one).
//! It holds counts and times, never an input or an output.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Seconds between heartbeats.
pub const HEARTBEAT_SECONDS: u64 = 5;
/// A status older than this many heartbeats means the custodian is not running.
pub const STALE_AFTER_HEARTBEATS: u64 = 3;

/// What the custodian is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Listening and answering.
    Ready,
    /// Stopping: no new connections, finishing requests in flight.
    Stopping,
    /// Stopped cleanly.
    Stopped,
}

/// The status file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodianStatus {
    /// What it is doing.
    pub state: State,
    /// The server's process id.
    pub pid: u32,
    /// The UDP address it listens on.
    pub listen: String,
    /// Which custodian of the key set it is.
    pub custodian: u8,
    /// The key id (hex).
    pub key_id: String,
    /// When it started (Unix seconds).
    pub started_at: i64,
    /// When this status was written (Unix seconds).
    pub heartbeat_at: i64,
    /// Batches evaluated since it started.
    pub batches: u64,
    /// Elements evaluated since it started.
    pub evaluations: u64,
    /// Requests refused since it started.
    pub refused: u64,
}

/// Where the status of the custodian using `database` is kept.
pub fn path_for(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".status.json");
    database.with_file_name(name)
}

/// Writes the status atomically.
pub fn write(path: &Path, status: &CustodianStatus) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text + "\n")?;
    std::fs::rename(&temporary, path)
}

/// Reads the status.
pub fn read(path: &Path) -> std::io::Result<CustodianStatus> {
    let text = samla_cli_common::files::read_small(path, 1 << 20, "status file")
        .map_err(std::io::Error::other)?;
    serde_json::from_slice(&text).map_err(std::io::Error::other)
}

/// Whether a status says the custodian is up: ready, a recent heartbeat, and (where
/// `/proc` exists) its process alive.
pub fn is_ready(status: &CustodianStatus, now: i64) -> bool {
    let fresh = now - status.heartbeat_at <= (HEARTBEAT_SECONDS * STALE_AFTER_HEARTBEATS) as i64;
    let proc = Path::new("/proc");
    let alive = !proc.exists() || proc.join(status.pid.to_string()).exists();
    status.state == State::Ready && fresh && alive
}
