//! The running custodian's status file, beside its database, rewritten every few
//! seconds (a new file renamed over the old, so a reader never sees half of one).
//! It holds counts and times, never an input or an output.

use std::path::Path;

use serde::{Deserialize, Serialize};

use samla_cli_common::status_file::{self, Liveness};
pub use samla_cli_common::status_file::{path_for, State, HEARTBEAT_SECONDS};

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

/// Writes the status atomically.
pub fn write(path: &Path, status: &CustodianStatus) -> std::io::Result<()> {
    status_file::write(path, status)
}

/// Reads the status.
pub fn read(path: &Path) -> std::io::Result<CustodianStatus> {
    status_file::read(path)
}

/// Whether a status says the custodian is up (`status_file::is_ready`: ready, a recent
/// heartbeat, its process alive and its UDP address still taken).
pub fn is_ready(status: &CustodianStatus, now: i64) -> bool {
    let liveness = Liveness {
        state: status.state,
        heartbeat_at: status.heartbeat_at,
        pid: status.pid,
        listen: &status.listen,
    };
    status_file::is_ready(liveness, now)
}
