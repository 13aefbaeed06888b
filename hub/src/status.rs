//! The running hub's status file, for operators and monitoring: `samla-hub status`
//! reads it. The server rewrites it every few seconds (a heartbeat) and whenever its
//! state changes, always by writing a new file and renaming it over the old one, so a
//! reader never sees half a file. It holds counts and times, never personal data.

use std::path::Path;

use serde::{Deserialize, Serialize};

use samla_cli_common::status_file::{self, Liveness};
pub use samla_cli_common::status_file::{path_for, State, HEARTBEAT_SECONDS};

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

/// Writes the status atomically.
pub fn write(path: &Path, status: &HubStatus) -> std::io::Result<()> {
    status_file::write(path, status)
}

/// Reads the status.
pub fn read(path: &Path) -> std::io::Result<HubStatus> {
    status_file::read(path)
}

/// Whether a status says the hub is up (`status_file::is_ready`: ready, a recent
/// heartbeat, its process alive and its UDP address still taken).
pub fn is_ready(status: &HubStatus, now: i64) -> bool {
    let liveness = Liveness {
        state: status.state,
        heartbeat_at: status.heartbeat_at,
        pid: status.pid,
        listen: &status.listen,
    };
    status_file::is_ready(liveness, now)
}
