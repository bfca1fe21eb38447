//! The SQLite schema and the queries on it.

use std::path::Path;

use evx_protocol::audit::Salt;
use evx_protocol::merkle::{Hash, Subtrees, empty_root, node_hash};
use evx_protocol::note::checkpoint::Checkpoint;
use evx_protocol::note::{Note, NoteSigner, NoteVerifier};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, sql};

/// Tables, and the triggers that make the log's tables append-only. Level-0 hashes (leaves)
/// live with their entries; `nodes` holds every complete subtree of two or more leaves, keyed
/// by level and index (the node at level `l`, index `i` covers leaves `i·2^l .. (i+1)·2^l`).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    idx  INTEGER PRIMARY KEY,
    data BLOB NOT NULL,
    leaf BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cosignatures (
    size    INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TABLE IF NOT EXISTS peer_checkpoints (
    origin      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    note        TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS conflicts (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL,
    detected_at INTEGER NOT NULL,
    cosigned    TEXT NOT NULL,
    offered     TEXT NOT NULL,
    UNIQUE (origin, offered)
);
CREATE TABLE IF NOT EXISTS salts (
    idx   INTEGER NOT NULL,
    field TEXT NOT NULL,
    salt  BLOB NOT NULL,
    PRIMARY KEY (idx, field)
);
";

const APPEND_ONLY: [&str; 5] = [
    "entries",
    "nodes",
    "checkpoints",
    "cosignatures",
    "conflicts",
];

pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(sql("open the database"))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sql("set the busy timeout"))?;
    // WAL: readers do not block the sequencer. FULL: every commit is fsynced before it returns.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(sql("enable WAL"))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql("set synchronous = FULL"))?;
    let sync: i64 = conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .map_err(sql("read synchronous"))?;
    if !mode.eq_ignore_ascii_case("wal") || sync != 2 {
        return Err(StoreError::Corrupt(format!(
            "SQLite would not run in WAL mode with synchronous = FULL (got {mode}, {sync}); \
             the log cannot promise durable appends on this file system"
        )));
    }
    Ok(conn)
}

pub(super) fn init(conn: &mut Connection, log_key: &NoteSigner) -> Result<(), StoreError> {
    conn.execute_batch(SCHEMA)
        .map_err(sql("create the tables"))?;
    for table in APPEND_ONLY {
        for op in ["UPDATE", "DELETE"] {
            conn.execute_batch(&format!(
                "CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op} ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {op} on {table} refused'); END;",
                op = op.to_lowercase()
            ))
            .map_err(sql("create the append-only triggers"))?;
        }
    }
    match latest_checkpoint(conn) {
        Ok(note) => check_key(&note, &log_key.verifier())?,
        Err(StoreError::OutOfRange(_)) => {
            // A new log: its first checkpoint is the empty tree's.
            let note = Checkpoint {
                origin: log_key.name().to_owned(),
                size: 0,
                root: empty_root(),
                extensions: Vec::new(),
            }
            .sign(log_key)
            .map_err(|e| StoreError::Corrupt(format!("signing the first checkpoint: {e}")))?;
            conn.execute(
                "INSERT INTO checkpoints (size, note) VALUES (0, ?1)",
                params![note.encode()],
            )
            .map_err(sql("write the first checkpoint"))?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The latest checkpoint must be signed by exactly this key (same name is not enough: a log
/// signed by two keys of one name could never verify again).
pub(super) fn check_key(latest: &Note, key: &NoteVerifier) -> Result<(), StoreError> {
    let origin = Checkpoint::from_text(latest.text())
        .map_err(|e| StoreError::Corrupt(format!("latest checkpoint: {e}")))?
        .origin;
    let signed_by_key = latest
        .signatures()
        .iter()
        .any(|s| s.name == key.name() && s.key_id == key.id());
    if origin != key.name() || !signed_by_key {
        return Err(StoreError::WrongKey {
            found: key.to_vkey(),
            origin,
        });
    }
    latest
        .verify(std::slice::from_ref(key))
        .map_err(|e| StoreError::Corrupt(format!("latest checkpoint: {e}")))?;
    Ok(())
}

pub(super) fn size(conn: &Connection) -> Result<u64, StoreError> {
    // Entries are written with consecutive indexes from 0 (the sequencer's invariant, which
    // `verify` checks): the size is the last index plus one, found in the primary key's
    // b-tree without reading every entry, as COUNT(*) would on each proof.
    let n: i64 = conn
        .query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries", [], |r| {
            r.get(0)
        })
        .map_err(sql("count the entries"))?;
    Ok(n as u64)
}

pub(super) fn latest_checkpoint(conn: &Connection) -> Result<Note, StoreError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql("read the latest checkpoint"))?;
    let text = text.ok_or_else(|| StoreError::OutOfRange("the log has no checkpoint".into()))?;
    Note::parse(text.as_bytes()).map_err(|e| StoreError::Corrupt(format!("latest checkpoint: {e}")))
}

pub(super) fn checkpoint_at(conn: &Connection, size: u64) -> Result<Option<Note>, StoreError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT note FROM checkpoints WHERE size = ?1",
            params![size as i64],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql("read a checkpoint"))?;
    text.map(|t| {
        Note::parse(t.as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("checkpoint {size}: {e}")))
    })
    .transpose()
}

pub(super) fn entry(conn: &Connection, index: u64) -> Result<Vec<u8>, StoreError> {
    conn.query_row(
        "SELECT data FROM entries WHERE idx = ?1",
        params![index as i64],
        |r| r.get(0),
    )
    .optional()
    .map_err(sql("read an entry"))?
    .ok_or_else(|| StoreError::OutOfRange(format!("there is no entry {index}")))
}

pub(super) fn salts(conn: &Connection, index: u64) -> Result<Vec<(String, Salt)>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT field, salt FROM salts WHERE idx = ?1 ORDER BY field")
        .map_err(sql("read salts"))?;
    let rows = stmt
        .query_map(params![index as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(sql("read salts"))?;
    let mut out = Vec::new();
    for row in rows {
        let (field, salt) = row.map_err(sql("read salts"))?;
        let salt: Salt = salt
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("entry {index}: a salt is not 32 bytes")))?;
        out.push((field, salt));
    }
    Ok(out)
}

fn hash_of(v: Vec<u8>, what: &str) -> Result<Hash, StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

/// A stored hash: a leaf (level 0) or a complete subtree.
pub(super) fn stored_hash(conn: &Connection, level: u32, index: u64) -> Result<Hash, StoreError> {
    let h: Option<Vec<u8>> = if level == 0 {
        conn.query_row(
            "SELECT leaf FROM entries WHERE idx = ?1",
            params![index as i64],
            |r| r.get(0),
        )
    } else {
        conn.query_row(
            "SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2",
            params![level, index as i64],
            |r| r.get(0),
        )
    }
    .optional()
    .map_err(sql("read a tree hash"))?;
    let h = h.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "the hash at level {level}, index {index} is missing"
        ))
    })?;
    hash_of(h, "a stored hash")
}

/// Subtree hashes from the store: complete, aligned subtrees are read, others combined.
pub(super) struct Tree<'c>(pub(super) &'c Connection);

impl Subtrees for Tree<'_> {
    type Error = StoreError;

    fn subtree(&self, start: u64, end: u64) -> Result<Hash, StoreError> {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = n.trailing_zeros();
            return stored_hash(self.0, level, start >> level);
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        Ok(node_hash(
            &self.subtree(start, start + k)?,
            &self.subtree(start + k, end)?,
        ))
    }
}

/// The roots of the complete subtrees that make up the first `size` leaves, largest first:
/// what the sequencer needs to go on appending.
pub(super) fn frontier(conn: &Connection, size: u64) -> Result<Vec<Hash>, StoreError> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        if size & (1 << level) != 0 {
            out.push(stored_hash(conn, level, start >> level)?);
            start += 1 << level;
        }
    }
    Ok(out)
}

/// Records a witness's cosignature of the checkpoint of `size`: the note's text must be that
/// checkpoint's, and the cosignature must verify with the witness's key. A witness's line is
/// recorded once per size; a different line for the same size is refused.
pub(super) fn record_cosignatures(
    conn: &Connection,
    size: u64,
    cosigned: &Note,
    witness: &NoteVerifier,
) -> Result<(), StoreError> {
    let ours = checkpoint_at(conn, size)?.ok_or_else(|| {
        StoreError::OutOfRange(format!("this log made no checkpoint of size {size}"))
    })?;
    if ours.text() != cosigned.text() {
        return Err(StoreError::OutOfRange(format!(
            "the cosigned note is not this log's checkpoint of size {size}"
        )));
    }
    evx_protocol::note::cosignature::verify(cosigned, witness)
        .map_err(|e| StoreError::OutOfRange(format!("the cosignature does not verify: {e}")))?;
    for sig in cosigned
        .signatures()
        .iter()
        .filter(|s| s.name == witness.name() && s.key_id == witness.id())
    {
        let mut one = Note::new(cosigned.text())
            .map_err(|e| StoreError::Corrupt(format!("cosigned note: {e}")))?;
        one.push_signature(sig.clone())
            .map_err(|e| StoreError::Corrupt(format!("cosigned note: {e}")))?;
        let line = one.encode().lines().last().unwrap_or_default().to_owned();
        let existing: Option<String> = conn
            .query_row(
                "SELECT line FROM cosignatures WHERE size = ?1 AND witness = ?2",
                params![size as i64, sig.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read a cosignature"))?;
        match existing {
            Some(l) if l == line => {}
            Some(_) => {
                return Err(StoreError::OutOfRange(format!(
                    "{} has already cosigned size {size} with another line",
                    sig.name
                )));
            }
            None => {
                conn.execute(
                    "INSERT INTO cosignatures (size, witness, line) VALUES (?1, ?2, ?3)",
                    params![size as i64, sig.name, line],
                )
                .map_err(sql("record a cosignature"))?;
            }
        }
    }
    Ok(())
}

pub(super) fn cosignatures(conn: &Connection, size: u64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT line FROM cosignatures WHERE size = ?1 ORDER BY witness")
        .map_err(sql("read cosignatures"))?;
    let rows = stmt
        .query_map(params![size as i64], |r| r.get::<_, String>(0))
        .map_err(sql("read cosignatures"))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(sql("read cosignatures"))
}
