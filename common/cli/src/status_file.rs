//! A running service's status file (the hub's, a custodian's), for operators and
//! monitoring: the server rewrites it every few seconds (a heartbeat) and whenever its
//! state changes, always by writing a new file and renaming it over the old one, so a
//! reader never sees half a file. Each service keeps its own content (counts and
//! times, never personal data); the file's place, its writing and reading, and the
//! test of whether the service is up are the same for both, and live here.

use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Seconds between heartbeats.
pub const HEARTBEAT_SECONDS: u64 = 5;

/// A status older than this many heartbeats means the service is not running.
pub const STALE_AFTER_HEARTBEATS: u64 = 3;

/// The largest status file read.
const MAX_STATUS_BYTES: u64 = 1 << 20;

/// What the service is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Listening and answering.
    Ready,
    /// Stopping: no new connections; finishing the requests in flight.
    Stopping,
    /// Stopped cleanly.
    Stopped,
}

/// Where the status of the service using `database` is kept: beside it, as
/// `<database file name>.status.json`.
pub fn path_for(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".status.json");
    database.with_file_name(name)
}

/// Writes the status atomically (a temporary file renamed over the old one).
pub fn write<T: Serialize>(path: &Path, status: &T) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text + "\n")?;
    std::fs::rename(&temporary, path)
}

/// Reads the status, capped in size.
pub fn read<T: DeserializeOwned>(path: &Path) -> std::io::Result<T> {
    let text = crate::files::read_small(path, MAX_STATUS_BYTES, "status file")
        .map_err(std::io::Error::other)?;
    serde_json::from_slice(&text).map_err(std::io::Error::other)
}

/// What a status says of the service's liveness.
#[derive(Debug, Clone, Copy)]
pub struct Liveness<'a> {
    /// Its state.
    pub state: State,
    /// When the status was last written (Unix seconds).
    pub heartbeat_at: i64,
    /// The server's process id.
    pub pid: u32,
    /// The UDP address it listens on.
    pub listen: &'a str,
}

/// Whether the service is up: state ready, a recent heartbeat, its process alive
/// (where `/proc` exists: there, and not a zombie), and its UDP address still taken.
/// The last two notice a service that died (killed, crashed) at once, not only when
/// its heartbeat goes stale.
pub fn is_ready(status: Liveness<'_>, now: i64) -> bool {
    let fresh = now - status.heartbeat_at <= (HEARTBEAT_SECONDS * STALE_AFTER_HEARTBEATS) as i64;
    status.state == State::Ready && fresh && process_alive(status.pid) && listening(status.listen)
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

/// Whether something still holds the service's UDP address: if this process can bind
/// it, the service no longer listens. (A bind refused for any other reason, such as a
/// privileged port, proves nothing and counts as listening.)
fn listening(listen: &str) -> bool {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(address) => std::net::UdpSocket::bind(address).is_err(),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(listen: &str, pid: u32, heartbeat_at: i64) -> Liveness<'_> {
        Liveness {
            state: State::Ready,
            heartbeat_at,
            pid,
            listen,
        }
    }

    #[test]
    fn up_only_while_ready_fresh_alive_and_listening() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let listen = socket.local_addr().unwrap().to_string();
        let me = std::process::id();
        assert!(is_ready(live(&listen, me, 1_000), 1_000));
        // A stale heartbeat.
        let stale = (HEARTBEAT_SECONDS * STALE_AFTER_HEARTBEATS) as i64 + 1;
        assert!(!is_ready(live(&listen, me, 1_000), 1_000 + stale));
        // Not ready.
        let stopping = Liveness {
            state: State::Stopping,
            ..live(&listen, me, 1_000)
        };
        assert!(!is_ready(stopping, 1_000));
        // The address free again: the service no longer listens.
        drop(socket);
        assert!(!is_ready(live(&listen, me, 1_000), 1_000));
    }

    #[test]
    fn a_status_is_written_beside_its_database_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("hub.db"));
        assert_eq!(path, dir.path().join("hub.db.status.json"));
        write(&path, &State::Stopping).unwrap();
        assert_eq!(read::<State>(&path).unwrap(), State::Stopping);
        assert!(!dir.path().join("hub.db.status.json.tmp").exists());
    }
}
