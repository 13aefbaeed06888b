//! The store's rows as they are, unchecked, for `samla-hub audit verify` to check
//! (`hub/src/audit/store.rs`): the log's entries with the columns kept beside
//! them, every stored tree hash, every stored checkpoint, and the derived tables.
//! Nothing else reads these: reports and proofs use the checked readers.

use std::collections::HashMap;

use super::{Store, StoreError};

/// A `transfer_events` row.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// `log_index`.
    pub index: i64,
    /// `at`.
    pub at: i64,
    /// `kind`.
    pub kind: String,
    /// `kommun`.
    pub kommun: Option<String>,
    /// `submission_id`.
    pub submission: Option<Vec<u8>>,
    /// `detail`.
    pub detail: String,
    /// `entry`: the entry's exact bytes, the tree's leaf.
    pub entry: Vec<u8>,
}

/// A `cells` row without its submission id: table, the key's values, count.
pub type CellRow = (String, String, String, Option<String>, i64);

/// A `linkage_sets` row without its submission id: project, size, pseudonyms.
pub type LinkageRow = (String, i64, Vec<u8>);

/// How far the log's three tables reach at one moment: the largest `log_index`,
/// checkpoint `size` and `stored_index` (`None` for an empty table). `audit verify`
/// reads each table up to these, on two connections and in several statements, so a
/// hub that appends while it runs (entries, their hashes and checkpoints written in
/// one transaction) adds nothing it reads: what it checks is the log as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// The largest `transfer_events.log_index`.
    pub entries: Option<i64>,
    /// The largest `checkpoints.size`.
    pub checkpoints: Option<i64>,
    /// The largest `log_hashes.stored_index`.
    pub hashes: Option<i64>,
}

impl Store {
    /// The log's [`Extent`] now, read in one transaction.
    pub fn extent(&self) -> Result<Extent, StoreError> {
        let read = self.db.unchecked_transaction()?;
        let max = |sql: &str| read.query_row(sql, [], |r| r.get::<_, Option<i64>>(0));
        let extent = Extent {
            entries: max("SELECT MAX(log_index) FROM transfer_events")?,
            checkpoints: max("SELECT MAX(size) FROM checkpoints")?,
            hashes: max("SELECT MAX(stored_index) FROM log_hashes")?,
        };
        read.commit()?;
        Ok(extent)
    }

    /// Every `transfer_events` row up to `extent.entries`, in log order, handed to
    /// `each`.
    pub fn each_event(
        &self,
        extent: &Extent,
        mut each: impl FnMut(EventRow),
    ) -> Result<(), StoreError> {
        let mut statement = self.db.prepare(
            "SELECT log_index, at, kind, kommun, submission_id, detail, entry
             FROM transfer_events WHERE log_index <= ?1 ORDER BY log_index",
        )?;
        let mut rows = statement.query([extent.entries])?;
        while let Some(r) = rows.next()? {
            each(EventRow {
                index: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                kommun: r.get(3)?,
                submission: r.get(4)?,
                detail: r.get(5)?,
                entry: r.get(6)?,
            });
        }
        Ok(())
    }

    /// Every stored tree hash up to `extent.hashes`, by stored index, handed to
    /// `each`.
    pub fn each_stored_hash(
        &self,
        extent: &Extent,
        mut each: impl FnMut(i64, &[u8]),
    ) -> Result<(), StoreError> {
        let mut statement = self.db.prepare(
            "SELECT stored_index, hash FROM log_hashes WHERE stored_index <= ?1
             ORDER BY stored_index",
        )?;
        let mut rows = statement.query([extent.hashes])?;
        while let Some(r) = rows.next()? {
            let index: i64 = r.get(0)?;
            let hash = r.get_ref(1)?.as_blob().unwrap_or_default();
            each(index, hash);
        }
        Ok(())
    }

    /// Whether a `submissions` row has this id.
    pub fn has_row(&self, id: &[u8]) -> Result<bool, StoreError> {
        Ok(self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM submissions WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )?)
    }

    /// Every stored checkpoint up to `extent.checkpoints`, by size, handed to `each`
    /// as the size it is stored under and the note (streamed: one row in memory at a
    /// time).
    pub fn each_checkpoint(
        &self,
        extent: &Extent,
        mut each: impl FnMut(i64, &[u8]),
    ) -> Result<(), StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT size, note FROM checkpoints WHERE size <= ?1 ORDER BY size")?;
        let mut rows = statement.query([extent.checkpoints])?;
        while let Some(r) = rows.next()? {
            let size: i64 = r.get(0)?;
            let note = r.get_ref(1)?.as_blob().unwrap_or_default();
            each(size, note);
        }
        Ok(())
    }

    /// Every `cells` row, by the submission id it names.
    pub fn cell_rows(&self) -> Result<HashMap<Vec<u8>, Vec<CellRow>>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT submission_id, table_name, key1, key2, key3, count FROM cells")?;
        let mut rows = statement.query([])?;
        let mut out: HashMap<Vec<u8>, Vec<CellRow>> = HashMap::new();
        while let Some(r) = rows.next()? {
            out.entry(r.get(0)?).or_default().push((
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ));
        }
        Ok(out)
    }

    /// Every `linkage_sets` row, by the submission id it names.
    pub fn linkage_rows(&self) -> Result<HashMap<Vec<u8>, Vec<LinkageRow>>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT submission_id, project, size, pseudonyms FROM linkage_sets")?;
        let mut rows = statement.query([])?;
        let mut out: HashMap<Vec<u8>, Vec<LinkageRow>> = HashMap::new();
        while let Some(r) = rows.next()? {
            out.entry(r.get(0)?)
                .or_default()
                .push((r.get(1)?, r.get(2)?, r.get(3)?));
        }
        Ok(out)
    }
}
