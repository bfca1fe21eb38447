//! The requesting node's store: the requests it sent and the packages it received.

use std::path::Path;

use rusqlite::Connection;

/// Columns added after the first release: added to an older store when it is opened, so that
/// nothing recorded is lost by an upgrade.
const LATER_COLUMNS: &[(&str, &str, &str)] = &[
    // A judicial validation sent after the request.
    ("requests", "validation", "BLOB"),
    // The requested party's signed withdrawal, if the request was withdrawn.
    ("requests", "withdrawal", "BLOB"),
    // When the package's retention ends (from its conditions); none: no limit.
    ("packages", "expires_at", "INTEGER"),
    // When it was deleted at the end of its retention.
    ("packages", "deleted_at", "INTEGER"),
];

/// Opens (creating if needed) the store in `path`.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(std::time::Duration::from_secs(10))?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS requests (
             request_id  BLOB PRIMARY KEY,
             to_party    TEXT NOT NULL,
             request     BLOB NOT NULL,
             created_at  INTEGER NOT NULL,
             sent_at     INTEGER,
             ack         BLOB,
             decision    BLOB
         );
         CREATE TABLE IF NOT EXISTS packages (
             package_id  BLOB PRIMARY KEY,
             request_id  BLOB NOT NULL,
             path        TEXT NOT NULL,
             sealed_length INTEGER NOT NULL,
             length      INTEGER NOT NULL,
             items       INTEGER NOT NULL,
             root        BLOB NOT NULL,
             received_at INTEGER NOT NULL,
             receipt     BLOB
         );
         CREATE TABLE IF NOT EXISTS downloads (
             request_id  BLOB PRIMARY KEY,
             package_id  BLOB NOT NULL,
             length      INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS consents (
             consent_id  BLOB PRIMARY KEY,
             request_id  BLOB NOT NULL,
             request     BLOB NOT NULL,
             decision    BLOB
         );
         CREATE TABLE IF NOT EXISTS opened (
             package_id  BLOB NOT NULL,
             path        TEXT NOT NULL
         );",
    )?;
    for (table, name, ty) in LATER_COLUMNS {
        let present: Vec<String> = db
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if !present.iter().any(|p| p == name) {
            db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {name} {ty};"))?;
        }
    }
    Ok(db)
}

/// Opens (creating if needed) the key store in `path`: the packages' data keys, wrapped by the
/// node key. A separate file, so that it can be kept out of long-lived backups; deleted rows
/// are overwritten (`secure_delete`), so that a deleted key does not linger in free pages.
pub(crate) fn open_keys(path: &Path) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(std::time::Duration::from_secs(10))?;
    db.execute_batch(
        "PRAGMA secure_delete = ON; PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS data_keys (
             package_id  BLOB PRIMARY KEY,
             wrapped     BLOB NOT NULL
         );",
    )?;
    Ok(db)
}
