//! The sequencer: one thread that owns the writing connection and group-commits appends.

use std::sync::mpsc;

use evx_protocol::merkle::{RootBuilder, leaf_hash};
use evx_protocol::note::NoteSigner;
use evx_protocol::note::checkpoint::Checkpoint;
use rusqlite::{Connection, params};

use super::{Append, StoreError, sql, store};

/// The most appends committed in one transaction.
const MAX_BATCH: usize = 4096;

/// The tree's right edge, as the store holds it.
struct Frontier(RootBuilder);

impl Frontier {
    fn load(conn: &Connection) -> Result<Self, StoreError> {
        let size = store::size(conn)?;
        RootBuilder::from_frontier(size, store::frontier(conn, size)?)
            .map(Self)
            .ok_or_else(|| {
                StoreError::Corrupt("the stored frontier does not match the size".into())
            })
    }

    fn size(&self) -> u64 {
        self.0.len()
    }
}

pub(super) fn spawn(
    conn: Connection,
    log_key: NoteSigner,
    rx: mpsc::Receiver<Vec<Append>>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let frontier = Frontier::load(&conn)?;
    std::thread::Builder::new()
        .name("evx-audit-sequencer".into())
        .spawn(move || run(conn, log_key, rx, frontier))
        .map_err(|source| StoreError::Dir {
            path: "(sequencer thread)".into(),
            source,
        })
}

fn run(
    mut conn: Connection,
    log_key: NoteSigner,
    rx: mpsc::Receiver<Vec<Append>>,
    mut frontier: Frontier,
) {
    // Appends sent together stay together: a batch may exceed MAX_BATCH by the last group
    // taken in, never split one.
    while let Ok(mut batch) = rx.recv() {
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        let start = frontier.size();
        match commit(&mut conn, &log_key, &mut frontier, &batch) {
            Ok(()) => {
                for (i, a) in batch.into_iter().enumerate() {
                    let _ = a.reply.send(Ok(start + i as u64));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for a in batch {
                    let _ = a.reply.send(Err(msg.clone()));
                }
                // A connection still inside a transaction (the rollback failed) cannot be
                // trusted to write again: stop, and let the node reopen the log.
                if !conn.is_autocommit() {
                    return;
                }
                // The transaction rolled back: start again from what is on disk.
                match Frontier::load(&conn) {
                    Ok(f) => frontier = f,
                    Err(_) => return,
                }
            }
        }
    }
}

/// Writes a batch, the subtrees it completes and a signed checkpoint, in one durable commit.
fn commit(
    conn: &mut Connection,
    log_key: &NoteSigner,
    frontier: &mut Frontier,
    batch: &[Append],
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(sql("begin a batch"))?;
    {
        let mut entry = tx
            .prepare_cached("INSERT INTO entries (idx, data, leaf) VALUES (?1, ?2, ?3)")
            .map_err(sql("prepare the entry insert"))?;
        let mut node = tx
            .prepare_cached("INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .map_err(sql("prepare the node insert"))?;
        let mut salt = tx
            .prepare_cached("INSERT INTO salts (idx, field, salt) VALUES (?1, ?2, ?3)")
            .map_err(sql("prepare the salt insert"))?;
        for a in batch {
            let index = frontier.size();
            let leaf = leaf_hash(&a.data);
            entry
                .execute(params![index as i64, a.data, leaf.as_slice()])
                .map_err(sql("append an entry"))?;
            for (field, s) in &a.salts {
                salt.execute(params![index as i64, field, s.as_slice()])
                    .map_err(sql("record a salt"))?;
            }
            let mut result = Ok(());
            frontier.0.push_leaf_hash_with(leaf, |level, idx, h| {
                if result.is_ok() {
                    result = node
                        .execute(params![level, idx as i64, h.as_slice()])
                        .map(drop)
                        .map_err(sql("record a subtree hash"));
                }
            });
            result?;
        }
    }
    let note = Checkpoint {
        origin: log_key.name().to_owned(),
        size: frontier.size(),
        root: frontier.0.root(),
        extensions: Vec::new(),
    }
    .sign(log_key)
    .map_err(|e| StoreError::Corrupt(format!("signing a checkpoint: {e}")))?;
    tx.execute(
        "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
        params![frontier.size() as i64, note.encode()],
    )
    .map_err(sql("record the checkpoint"))?;
    tx.commit().map_err(sql("commit a batch"))
}
