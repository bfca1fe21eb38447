//! The requested node's request store: one SQLite table, one row per request received.
//!
//! Both the running node and the operator's commands (`evx review`) open it, so it runs in WAL
//! mode with a busy timeout: a reviewer's decision is written while the node serves, and the
//! node applies it. Only the node writes the audit log.

use std::path::Path;

use rusqlite::Connection;

/// Columns added after the first release, with their types: added to an older store when it
/// is opened, so that nothing recorded is lost by an upgrade.
const LATER_COLUMNS: &[(&str, &str)] = &[
    ("receipt", "BLOB"),
    // The policy engine's trace, for review and for finalising a reviewed decision.
    ("trace", "BLOB"),
    // 1 while the request waits for a reviewer.
    ("pending_review", "INTEGER NOT NULL DEFAULT 0"),
    // When the reviewer must decide.
    ("review_due", "INTEGER"),
    // When the overdue review was escalated (logged once).
    ("escalated_at", "INTEGER"),
    // A signed review decision submitted by a reviewer, not yet applied by the node.
    ("review_submitted", "BLOB"),
    // The signed review decision the final decision cites.
    ("review", "BLOB"),
    // When an unvalidated emergency request's judicial validation is due.
    ("validation_by", "INTEGER"),
    // The judicial validation that arrived after the request, signed.
    ("validation", "BLOB"),
    // The signed withdrawal, if the request was withdrawn.
    ("withdrawal", "BLOB"),
    // 0 from the moment a withdrawal is stored until it is logged (then 1): a crash in
    // between is finished by the next pass.
    ("withdrawal_logged", "INTEGER NOT NULL DEFAULT 1"),
    // When the failed execution of a decision (collection and sealing, or placing a hold) is
    // tried again; NULL when nothing is pending.
    ("execution_due", "INTEGER"),
];

/// Opens (creating if needed) the store in `path`.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(std::time::Duration::from_secs(10))?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS requests (
             request_id  BLOB PRIMARY KEY,
             party       TEXT NOT NULL,
             received_at INTEGER NOT NULL,
             request     BLOB NOT NULL,
             decision    BLOB,
             package     TEXT,
             package_error TEXT
         );
         CREATE TABLE IF NOT EXISTS packages (
             package_id  BLOB PRIMARY KEY,
             request_id  BLOB NOT NULL,
             seq         INTEGER NOT NULL,
             path        TEXT NOT NULL,
             length      INTEGER NOT NULL,
             receipt     BLOB
         );
         CREATE TABLE IF NOT EXISTS consents (
             consent_id  BLOB PRIMARY KEY,
             request_id  BLOB NOT NULL,
             party       TEXT NOT NULL,
             received_at INTEGER NOT NULL,
             request     BLOB NOT NULL,
             submitted   BLOB,
             decision    BLOB
         );
         CREATE TABLE IF NOT EXISTS holds (
             request_id  BLOB PRIMARY KEY,
             party       TEXT NOT NULL,
             placed_at   INTEGER NOT NULL,
             expires_at  INTEGER NOT NULL,
             extensions  INTEGER NOT NULL DEFAULT 0,
             records     INTEGER NOT NULL,
             dir         TEXT,
             released_by BLOB,
             ended_at    INTEGER
         );",
    )?;
    let present: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('requests')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (name, ty) in LATER_COLUMNS {
        if !present.iter().any(|p| p == name) {
            db.execute_batch(&format!("ALTER TABLE requests ADD COLUMN {name} {ty};"))?;
        }
    }
    // The node's pass looks four times a second for the few requests that need something
    // done; partial indexes keep that from reading every request ever received.
    db.execute_batch(
        "CREATE INDEX IF NOT EXISTS requests_pending_review ON requests (review_due)
             WHERE pending_review = 1;
         CREATE INDEX IF NOT EXISTS requests_awaiting_validation ON requests (validation_by)
             WHERE validation_by IS NOT NULL;
         CREATE INDEX IF NOT EXISTS requests_execution_due ON requests (execution_due)
             WHERE execution_due IS NOT NULL;
         CREATE INDEX IF NOT EXISTS requests_withdrawal_unlogged ON requests (request_id)
             WHERE withdrawal_logged = 0;
         CREATE INDEX IF NOT EXISTS packages_by_request ON packages (request_id);",
    )?;
    Ok(db)
}
