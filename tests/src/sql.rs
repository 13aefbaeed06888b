//! Reading and changing a real node or hub database the way a test (or a tamperer)
//! does: one value, one column, or one byte of a node's stored submission.

use rusqlite::types::FromSql;
use rusqlite::{Connection, Params};

/// The first column of the one row `sql` selects.
pub fn one<T: FromSql>(db: &Connection, sql: &str, params: impl Params) -> T {
    db.query_row(sql, params, |r| r.get(0)).unwrap()
}

/// The first column of every row `sql` selects, in order.
pub fn column<T: FromSql>(db: &Connection, sql: &str, params: impl Params) -> Vec<T> {
    let mut statement = db.prepare(sql).unwrap();
    statement
        .query_map(params, |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}
