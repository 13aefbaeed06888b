//! The custodian's SQLite file: its log (entries, the RFC 6962 tree's stored hashes,
//! a signed checkpoint after every entry, exactly as the hub keeps its transfer log,
//! with `samla_common::translog`'s formats), each kommun's rate window, the slot
//! ledger and the domains' setup records.
//!
//! [`Store::commit`] stores what a request changes and appends its log entry in one
//! transaction, before the answer leaves: an evaluation is counted and logged, and a
//! slot bound, or nothing happened. Stored records are checked again where they are
//! read (`Custodian::restore` verifies every domain record).

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use samla_cli_common::database::{self, texts, SqliteError};
use samla_common::codes::KommunCode;
use samla_common::oprf::ceremony::SlotNumber;
use samla_common::oprf::domain::DomainRecord;
use samla_common::oprf::log::CustodianLogEntry;
use samla_common::oprf::rate::RateWindow;
use samla_common::oprf::service::{Handled, Persist};
use samla_common::pseudonym::LinkageDomain;
use samla_common::signing::SigningKey;
use samla_common::translog::{self, Checkpoint, HashReader, LogError, LogHash};
use tlog_tiles::tlog as tree;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log_entries (
    log_index INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    kommun TEXT,
    count INTEGER NOT NULL,
    entry BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log_hashes (stored_index INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rate_windows (
    kommun TEXT PRIMARY KEY,
    start INTEGER NOT NULL,
    used INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS slot_bindings (slot INTEGER PRIMARY KEY, domain TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS domains (domain TEXT PRIMARY KEY, record BLOB NOT NULL);
PRAGMA journal_mode = WAL;
";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite.
    #[error(transparent)]
    Sql(#[from] SqliteError),
    /// The log's tree or checkpoint.
    #[error("custodian log")]
    Log(#[from] LogError),
    /// A stored value is not what was written.
    #[error("stored {what} is damaged: {detail}")]
    Damaged {
        /// Which table.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sql(SqliteError(e))
    }
}

/// The log's signing key and name.
pub struct LogSigner<'a> {
    /// The custodian's Ed25519 log key.
    pub key: &'a SigningKey,
    /// The log's origin.
    pub origin: &'a str,
}

/// The custodian's database.
pub struct Store {
    db: Connection,
}

/// One kommun's use of its limit, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KommunUse {
    /// The kommun.
    pub kommun: String,
    /// Its current window.
    pub window: RateWindow,
}

fn index(i: u64) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens (creating if needed) the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            db: database::open(path, SCHEMA)?,
        })
    }

    /// The kommun's stored rate window.
    pub fn window(&self, kommun: KommunCode) -> Result<Option<RateWindow>, StoreError> {
        let row: Option<(i64, i64)> = self
            .db
            .prepare_cached("SELECT start, used FROM rate_windows WHERE kommun = ?1")?
            .query_row([kommun.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(start, used)| {
            Ok(RateWindow {
                start,
                used: u64::try_from(used).map_err(|_| StoreError::Damaged {
                    what: "rate window",
                    detail: format!("kommun {kommun}: a negative count"),
                })?,
            })
        })
        .transpose()
    }

    /// Every kommun's window.
    pub fn windows(&self) -> Result<Vec<KommunUse>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT kommun, start, used FROM rate_windows ORDER BY kommun")?;
        let rows = statement.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kommun, start, used) = row?;
            out.push(KommunUse {
                kommun,
                window: RateWindow {
                    start,
                    used: u64::try_from(used).unwrap_or(0),
                },
            });
        }
        Ok(out)
    }

    /// The slot ledger, as stored.
    pub fn bindings(&self) -> Result<Vec<(SlotNumber, LinkageDomain)>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT slot, domain FROM slot_bindings ORDER BY slot")?;
        let rows =
            statement.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (slot, domain) = row?;
            let damaged = |detail: String| StoreError::Damaged {
                what: "slot binding",
                detail,
            };
            let slot = u16::try_from(slot).map_err(|_| damaged(format!("slot {slot}")))?;
            let domain = domain
                .parse()
                .map_err(|_| damaged(format!("slot {slot}: not a linkage domain")))?;
            out.push((SlotNumber(slot), domain));
        }
        Ok(out)
    }

    /// Every stored domain record (check each against the key set before use).
    pub fn domains(&self) -> Result<Vec<DomainRecord>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT domain, record FROM domains ORDER BY domain")?;
        let rows = statement.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, bytes) = row?;
            let record: DomainRecord =
                samla_common::codec::decode(&bytes).map_err(|e| StoreError::Damaged {
                    what: "domain record",
                    detail: format!("{name}: {e}"),
                })?;
            if record.domain.as_str() != name {
                return Err(StoreError::Damaged {
                    what: "domain record",
                    detail: format!("{name}: holds the record of another domain"),
                });
            }
            out.push(record);
        }
        Ok(out)
    }

    /// Stores what a request changes and appends its log entry, in one transaction.
    pub fn commit(&mut self, handled: &Handled, log: &LogSigner<'_>) -> Result<u64, StoreError> {
        self.commit_all(std::slice::from_ref(handled), log)
    }

    /// [`Store::commit`] for several requests at once (one transaction, one
    /// checkpoint per entry); returns the log's size after.
    pub fn commit_all(
        &mut self,
        handled: &[Handled],
        log: &LogSigner<'_>,
    ) -> Result<u64, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for h in handled {
            for persist in &h.persist {
                store_one(&tx, persist)?;
            }
            append(&tx, &h.log, log)?;
        }
        let size = log_size(&tx)?;
        tx.commit()?;
        Ok(size)
    }

    /// Every log entry, in order, as text.
    pub fn entries(&self) -> Result<Vec<String>, StoreError> {
        Ok(texts(
            &self.db,
            "SELECT entry FROM log_entries ORDER BY log_index",
        )?)
    }

    /// Every signed checkpoint, by size.
    pub fn checkpoints(&self) -> Result<Vec<String>, StoreError> {
        Ok(texts(
            &self.db,
            "SELECT note FROM checkpoints ORDER BY size",
        )?)
    }

    /// The tree's size and root as the stored hashes give them.
    pub fn stored_root(&self) -> Result<(u64, LogHash), StoreError> {
        let size = log_size(&self.db)?;
        Ok((size, translog::tree_root(size, &SqlHashes(&self.db))?))
    }
}

fn store_one(tx: &Connection, persist: &Persist) -> Result<(), StoreError> {
    match persist {
        Persist::RateWindow { kommun, window } => {
            // Batches of one kommun are admitted in order but may be committed out of
            // order: a window never goes back to a smaller count or an older start.
            tx.prepare_cached(
                "INSERT INTO rate_windows (kommun, start, used) VALUES (?1, ?2, ?3)
                 ON CONFLICT(kommun) DO UPDATE SET
                   used = CASE WHEN excluded.start > start THEN excluded.used
                               WHEN excluded.start = start THEN MAX(used, excluded.used)
                               ELSE used END,
                   start = MAX(start, excluded.start)",
            )?
            .execute(params![
                kommun.as_str(),
                window.start,
                i64::try_from(window.used).unwrap_or(i64::MAX)
            ])?;
        }
        Persist::SlotBinding { slot, domain } => {
            tx.prepare_cached("INSERT INTO slot_bindings (slot, domain) VALUES (?1, ?2)")?
                .execute(params![i64::from(slot.0), domain.as_str()])?;
        }
        Persist::Domain(record) => {
            let bytes = samla_common::codec::encode(record).map_err(|e| StoreError::Damaged {
                what: "domain record",
                detail: e.to_string(),
            })?;
            tx.prepare_cached(
                "INSERT INTO domains (domain, record) VALUES (?1, ?2)
                 ON CONFLICT(domain) DO UPDATE SET record = excluded.record",
            )?
            .execute(params![record.domain.as_str(), bytes])?;
        }
    }
    Ok(())
}

fn log_size(db: &Connection) -> Result<u64, StoreError> {
    let next: i64 = db
        .prepare_cached("SELECT COALESCE(MAX(log_index) + 1, 0) FROM log_entries")?
        .query_row([], |row| row.get(0))?;
    Ok(u64::try_from(next).unwrap_or(0))
}

/// Appends an entry and its tree hashes, and signs the checkpoint that ends with it.
fn append(
    tx: &Connection,
    entry: &CustodianLogEntry,
    log: &LogSigner<'_>,
) -> Result<(), StoreError> {
    let at = log_size(tx)?;
    let bytes = entry.to_bytes();
    let new = translog::stored_hashes(at, &bytes, &SqlHashes(tx))
        .map_err(|e| LogError::Storage(e.to_string()))?;
    let first = translog::stored_hash_index(0, at);
    let mut insert =
        tx.prepare_cached("INSERT INTO log_hashes (stored_index, hash) VALUES (?1, ?2)")?;
    for (offset, hash) in new.iter().enumerate() {
        insert.execute(params![index(first + offset as u64), hash.0.as_slice()])?;
    }
    tx.prepare_cached(
        "INSERT INTO log_entries (log_index, at, kind, kommun, count, entry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        index(at),
        entry.at,
        entry.kind.code(),
        entry.kommun.map(|k| k.to_string()),
        i64::try_from(entry.count).unwrap_or(i64::MAX),
        bytes
    ])?;
    let size = at + 1;
    let head = Checkpoint {
        origin: log.origin.to_owned(),
        size,
        root: translog::tree_root(size, &SqlHashes(tx))?,
    };
    let note = head.sign(log.key)?;
    tx.prepare_cached("INSERT INTO checkpoints (size, note) VALUES (?1, ?2)")?
        .execute(params![index(size), note])?;
    Ok(())
}

/// The tree's stored hashes, read from SQLite.
struct SqlHashes<'a>(&'a Connection);

impl HashReader for SqlHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tree::Hash>, tree::Error> {
        let mut statement = self
            .0
            .prepare_cached("SELECT hash FROM log_hashes WHERE stored_index = ?1")
            .map_err(|_| tree::Error::IndexesNotInTree)?;
        indexes
            .iter()
            .map(|i| {
                let bytes: Vec<u8> = statement
                    .query_row([index(*i)], |r| r.get(0))
                    .map_err(|_| tree::Error::IndexesNotInTree)?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map(tree::Hash)
                    .map_err(|_| tree::Error::MalformedHash)
            })
            .collect()
    }
}
