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

impl Store {
    /// Every `transfer_events` row, in log order, handed to `each`.
    pub fn each_event(&self, mut each: impl FnMut(EventRow)) -> Result<(), StoreError> {
        let mut statement = self.db.prepare(
            "SELECT log_index, at, kind, kommun, submission_id, detail, entry
             FROM transfer_events ORDER BY log_index",
        )?;
        let mut rows = statement.query([])?;
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

    /// Every stored tree hash, by stored index, handed to `each`.
    pub fn each_stored_hash(&self, mut each: impl FnMut(i64, &[u8])) -> Result<(), StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT stored_index, hash FROM log_hashes ORDER BY stored_index")?;
        let mut rows = statement.query([])?;
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

    /// Every stored checkpoint, by size, handed to `each` as the size it is stored
    /// under and the note (streamed: one row in memory at a time).
    pub fn each_checkpoint(&self, mut each: impl FnMut(i64, &[u8])) -> Result<(), StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT size, note FROM checkpoints ORDER BY size")?;
        let mut rows = statement.query([])?;
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
