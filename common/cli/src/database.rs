//! The SQLite files both binaries keep (the hub's store; the node's outbox and
//! transfer log): opened with the same settings, and their errors told once.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// How long a write waits for another connection's transaction before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) a database and brings its schema up to date; `schema`
/// is SQL that can run on every open (`CREATE TABLE IF NOT EXISTS …`).
pub fn open(path: &Path, schema: &str) -> Result<Connection, SqliteError> {
    let db = Connection::open(path)?;
    db.busy_timeout(BUSY_TIMEOUT)?;
    db.execute_batch(schema)?;
    Ok(db)
}

/// Opens an existing database to read only (a second connection beside one opened
/// with [`open`], for reading in another thread): the schema is left as it is.
pub fn open_read_only(path: &Path) -> Result<Connection, SqliteError> {
    use rusqlite::OpenFlags;
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(BUSY_TIMEOUT)?;
    Ok(db)
}

/// Every row of a one-column query of text stored as bytes (log entries, signed
/// notes), as text; bytes that are not UTF-8 are replaced, so an audit that reads the
/// text finds the change instead of the read failing.
pub fn texts(db: &Connection, sql: &str) -> Result<Vec<String>, SqliteError> {
    let mut statement = db.prepare(sql)?;
    let rows = statement.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(String::from_utf8_lossy(&row?).into_owned());
    }
    Ok(out)
}

/// A SQLite error, as its message. rusqlite gives the message (`unable to open
/// database file: …/hub.db`) and, as its source, the error code that says the same
/// again (`Error code 14: Unable to open the database file`); this wrapper keeps the
/// message and leaves the code out of the chain, so a reader sees the cause once.
#[derive(Debug)]
pub struct SqliteError(pub rusqlite::Error);

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SqliteError {}

impl From<rusqlite::Error> for SqliteError {
    fn from(e: rusqlite::Error) -> Self {
        SqliteError(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_no_database_and_says_so_once() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(dir.path(), "").unwrap_err();
        let text = crate::error::message(&err);
        assert!(text.starts_with("unable to open database file"), "{text}");
        assert!(!text.contains("Error code"), "{text}");
    }

    #[test]
    fn the_schema_runs_on_every_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let schema = "CREATE TABLE IF NOT EXISTS t (a INTEGER);";
        open(&path, schema)
            .unwrap()
            .execute("INSERT INTO t VALUES (1)", [])
            .unwrap();
        let n: i64 = open(&path, schema)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }
}
