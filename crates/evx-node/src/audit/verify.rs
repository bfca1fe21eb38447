//! Verifying a log from scratch: every entry, every stored hash, every checkpoint.

use std::collections::BTreeMap;

use evx_protocol::audit::Event;
use evx_protocol::merkle::{Hash, RootBuilder, empty_root, leaf_hash};
use evx_protocol::note::NoteVerifier;
use evx_protocol::note::checkpoint::Checkpoint;
use rusqlite::{Connection, OptionalExtension};

use super::{StoreError, sql};

/// What a successful verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The root of the whole log.
    pub root: Hash,
}

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyFailure {
    /// An entry is missing, malformed, or its stored leaf hash differs.
    #[error("entry {index}: {why}")]
    Entry {
        /// Its index.
        index: u64,
        /// What is wrong.
        why: String,
    },
    /// A stored subtree hash differs from the one recomputed from the entries.
    #[error(
        "stored subtree hash at level {level}, index {index} differs from the entries' (or is missing)"
    )]
    Node {
        /// Its level.
        level: u32,
        /// Its index.
        index: u64,
    },
    /// More subtree hashes are stored than the entries complete: rows were added.
    #[error(
        "{found} subtree hashes are stored where the entries complete {expected}: rows were added"
    )]
    NodeCount {
        /// Rows found.
        found: u64,
        /// Rows the entries make.
        expected: u64,
    },
    /// A checkpoint is unsigned, malformed, or its root differs from the entries'.
    #[error("checkpoint of size {size}: {why}")]
    Checkpoint {
        /// Its size.
        size: u64,
        /// What is wrong.
        why: String,
    },
}

impl From<VerifyFailure> for StoreError {
    fn from(f: VerifyFailure) -> Self {
        Self::Tampered(f)
    }
}

/// Recomputes the log and checks it; the first failure is returned as
/// [`StoreError::Tampered`] naming the entry, hash or checkpoint.
pub(super) fn verify(conn: &Connection, log: &NoteVerifier) -> Result<VerifyReport, StoreError> {
    // Checkpoints first: their signatures, and the sizes at which roots must be compared.
    let mut checkpoints: BTreeMap<u64, Hash> = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT size, note FROM checkpoints ORDER BY size")
            .map_err(sql("read the checkpoints"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(sql("read the checkpoints"))?;
        for row in rows {
            let (size, note) = row.map_err(sql("read the checkpoints"))?;
            let size = size as u64;
            let bad = |why: String| VerifyFailure::Checkpoint { size, why };
            let (c, _) = Checkpoint::open(note.as_bytes(), log).map_err(|e| bad(e.to_string()))?;
            if c.size != size {
                return Err(bad(format!("its text says size {}", c.size)).into());
            }
            checkpoints.insert(size, c.root);
        }
    }
    // Then every entry, in order, rebuilding every subtree.
    let mut stmt = conn
        .prepare("SELECT idx, CAST(data AS BLOB), CAST(leaf AS BLOB) FROM entries ORDER BY idx")
        .map_err(sql("read the entries"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .map_err(sql("read the entries"))?;
    let mut node_stmt = conn
        .prepare("SELECT CAST(hash AS BLOB) FROM nodes WHERE level = ?1 AND idx = ?2")
        .map_err(sql("read the subtree hashes"))?;
    let mut tree = RootBuilder::new();
    let mut size = 0u64;
    if let Some(r) = checkpoints.get(&0)
        && *r != empty_root()
    {
        return Err(VerifyFailure::Checkpoint {
            size: 0,
            why: "its root is not the empty tree's".into(),
        }
        .into());
    }
    for row in rows {
        let (idx, data, leaf) = row.map_err(sql("read the entries"))?;
        let index = idx as u64;
        let bad = |why: &str| VerifyFailure::Entry {
            index: size,
            why: why.to_owned(),
        };
        if index != size {
            return Err(bad("missing: the entries jump past it").into());
        }
        if let Err(e) = Event::decode(&data) {
            return Err(bad(&format!("does not decode: {e}")).into());
        }
        let h = leaf_hash(&data);
        if leaf.as_slice() != h.as_slice() {
            return Err(bad("its stored leaf hash differs from its data's").into());
        }
        // Fold into the tree, checking each subtree completed against the stored one.
        let mut failure: Result<(), StoreError> = Ok(());
        tree.push_leaf_hash_with(h, |level, node_index, acc| {
            if failure.is_err() {
                return;
            }
            failure = node_stmt
                .query_row(rusqlite::params![level, node_index as i64], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
                .optional()
                .map_err(sql("read a subtree hash"))
                .and_then(|stored| {
                    if stored.as_deref() == Some(acc.as_slice()) {
                        Ok(())
                    } else {
                        Err(VerifyFailure::Node {
                            level,
                            index: node_index,
                        }
                        .into())
                    }
                });
        });
        failure?;
        size += 1;
        if let Some(root) = checkpoints.get(&size)
            && *root != tree.root()
        {
            return Err(VerifyFailure::Checkpoint {
                size,
                why: "its root differs from the entries' root at that size".into(),
            }
            .into());
        }
    }
    let last = checkpoints.keys().next_back().copied().unwrap_or(0);
    if last > size {
        return Err(VerifyFailure::Checkpoint {
            size: last,
            why: format!("it covers {last} entries but the log holds {size}: entries were removed"),
        }
        .into());
    }
    // Every entry is covered by a signed checkpoint (each commit writes one).
    if size > last {
        return Err(VerifyFailure::Entry {
            index: last,
            why: "not covered by any signed checkpoint: added outside the sequencer".into(),
        }
        .into());
    }
    // No subtree hash beyond those the entries complete.
    let nodes: i64 = conn
        .query_row("SELECT COUNT(*) FROM nodes", [], |r| r.get(0))
        .map_err(sql("count the subtree hashes"))?;
    let expected = size - u64::from(size.count_ones());
    if nodes as u64 != expected {
        return Err(VerifyFailure::NodeCount {
            found: nodes as u64,
            expected,
        }
        .into());
    }
    // Cosignatures only for checkpoints this log made; one for a larger size means the log's
    // tail was cut off after a witness saw it.
    let mut stmt = conn
        .prepare("SELECT DISTINCT size FROM cosignatures ORDER BY size")
        .map_err(sql("read the cosignatures"))?;
    let sizes = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .map_err(sql("read the cosignatures"))?;
    for s in sizes {
        let s = s.map_err(sql("read the cosignatures"))? as u64;
        if !checkpoints.contains_key(&s) {
            return Err(VerifyFailure::Checkpoint {
                size: s,
                why: if s > last {
                    format!("a witness cosigned it, but the log now holds {size} entries: its tail was removed")
                } else {
                    "a witness cosigned it, but the log has no such checkpoint".into()
                },
            }
            .into());
        }
    }
    Ok(VerifyReport {
        entries: size,
        checkpoints: checkpoints.len() as u64,
        root: tree.root(),
    })
}
