//! The audit log: one append-only log per node, in SQLite.
//!
//! Appends go through one sequencer thread, which takes every append waiting, writes them in
//! one transaction with the subtree hashes they complete and a checkpoint of the new tree
//! signed with the node's log key, commits durably (WAL, `synchronous = FULL`), and only then
//! answers each append with its index. An append that returned is therefore on disk with a
//! signed checkpoint covering it, and a crash loses nothing that was acknowledged. Triggers
//! refuse any UPDATE or DELETE on the log's tables, so a rewrite needs the triggers dropped —
//! which [`AuditLog::verify`] then catches by recomputing every hash from the entries.

mod sequencer;
mod store;
mod verify;
mod witness;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

use evx_protocol::audit::{Event, Salt};
use evx_protocol::merkle::{Hash, ProofError};
use evx_protocol::note::checkpoint::Checkpoint;
use evx_protocol::note::proof::LogProof;
use evx_protocol::note::{Note, NoteSigner, NoteVerifier};

pub use verify::{VerifyFailure, VerifyReport};
pub use witness::PeerError;

/// The database file inside the data directory.
pub const DB_FILE: &str = "audit.sqlite";

/// Why the audit log failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("audit store ({context}): {source}")]
    Sqlite {
        /// What was being done.
        context: &'static str,
        /// The error.
        source: rusqlite::Error,
    },
    /// The stored data are inconsistent; run `evx audit verify` for the first bad entry.
    #[error(
        "the audit store is inconsistent: {0}; run `evx audit verify` to find the first bad entry"
    )]
    Corrupt(String),
    /// The append's batch could not be committed; nothing of it was recorded.
    #[error("the append was not recorded: {0}")]
    NotRecorded(String),
    /// Verification found the log altered: the first bad entry, hash or checkpoint.
    #[error("the audit log does not verify: {0}")]
    Tampered(VerifyFailure),
    /// The sequencer stopped (the process is shutting down, or a commit failed earlier).
    #[error("the audit log's sequencer has stopped; reopen the log")]
    Closed,
    /// The log key does not belong to this log.
    #[error("the log key {found:?} does not sign this log (origin {origin:?})")]
    WrongKey {
        /// The key name given.
        found: String,
        /// The log's origin.
        origin: String,
    },
    /// An index or size beyond the log.
    #[error("{0}")]
    OutOfRange(String),
    /// The data directory could not be used.
    #[error("audit data directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

pub(crate) fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| {
        // A damaged or truncated file: say so, rather than pass on SQLite's code.
        if let rusqlite::Error::SqliteFailure(e, _) = &source
            && matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            )
        {
            return StoreError::Corrupt(format!(
                "the database file is damaged or truncated ({context}: {source}); restore it from \
                 a backup — the peer's cosigned checkpoints show what it held"
            ));
        }
        StoreError::Sqlite { context, source }
    }
}

/// One append waiting for the sequencer.
pub(crate) struct Append {
    pub(crate) data: Vec<u8>,
    pub(crate) salts: Vec<(String, Salt)>,
    pub(crate) reply: mpsc::SyncSender<Result<u64, String>>,
}

/// Appends queued by [`AuditLog::submit_all`].
#[must_use = "the appends are known to be recorded only once `wait` returns"]
pub struct PendingAppends(Vec<mpsc::Receiver<Result<u64, String>>>);

impl PendingAppends {
    /// Waits until the appends are durable and covered by a signed checkpoint; returns their
    /// indexes.
    pub fn wait(self) -> Result<Vec<u64>, StoreError> {
        self.0
            .into_iter()
            .map(|answer| match answer.recv() {
                Ok(Ok(index)) => Ok(index),
                Ok(Err(e)) => Err(StoreError::NotRecorded(e)),
                Err(_) => Err(StoreError::Closed),
            })
            .collect()
    }
}

/// An open audit log.
pub struct AuditLog {
    dir: PathBuf,
    origin: String,
    verifier: NoteVerifier,
    reader: Mutex<rusqlite::Connection>,
    appends: Mutex<Option<mpsc::Sender<Vec<Append>>>>,
    sequencer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl AuditLog {
    /// Opens (creating if needed) the log in `dir`, signing checkpoints with `log_key`, whose
    /// name is the log's origin. A new log starts with a signed checkpoint of the empty tree.
    pub fn open(dir: &Path, log_key: NoteSigner) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let mut writer = store::open(&path)?;
        let origin = log_key.name().to_owned();
        store::init(&mut writer, &log_key)?;
        let verifier = log_key.verifier();
        let reader = store::open(&path)?;
        let (tx, rx) = mpsc::channel::<Vec<Append>>();
        let handle = sequencer::spawn(writer, log_key, rx)?;
        Ok(Self {
            dir: dir.to_owned(),
            origin,
            verifier,
            reader: Mutex::new(reader),
            appends: Mutex::new(Some(tx)),
            sequencer: Mutex::new(Some(handle)),
        })
    }

    /// Opens an existing log for reading and verification only, with the log's public key:
    /// what an auditor or `evx audit verify` needs. Appends are refused.
    pub fn open_read_only(dir: &Path, log: NoteVerifier) -> Result<Self, StoreError> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Dir {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no audit log here; give the node's data directory",
                ),
            });
        }
        let reader = store::open(&path)?;
        let latest = store::latest_checkpoint(&reader)?;
        store::check_key(&latest, &log)?;
        let origin = log.name().to_owned();
        Ok(Self {
            dir: dir.to_owned(),
            origin,
            verifier: log,
            reader: Mutex::new(reader),
            appends: Mutex::new(None),
            sequencer: Mutex::new(None),
        })
    }

    /// The cosignature lines recorded for the checkpoint of `size`.
    pub fn cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        self.read(|c| store::cosignatures(c, size))
    }

    /// Whether the log was opened read-only (appends are refused).
    pub fn is_read_only(&self) -> bool {
        self.appends.lock().map(|a| a.is_none()).unwrap_or(true)
    }

    /// The log's origin (its key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The log's public key.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Where the log lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends an event, with the salts of the commitments it carries (kept apart from the
    /// log, revealed per entry). Returns its index once it is durable and covered by a signed
    /// checkpoint. Concurrent appends are committed together.
    pub fn append(&self, event: &Event, salts: Vec<(String, Salt)>) -> Result<u64, StoreError> {
        let mut indexes = self.append_all(vec![(event, salts)])?;
        indexes.pop().ok_or(StoreError::Closed)
    }

    /// Appends several events in one durable commit, in order; returns their indexes. For
    /// steps that happen together (a request created and sent): one commit, not one each.
    pub fn append_all(
        &self,
        events: Vec<(&Event, Vec<(String, Salt)>)>,
    ) -> Result<Vec<u64>, StoreError> {
        self.submit_all(events)?.wait()
    }

    /// Queues events as [`AuditLog::append_all`] does, without waiting for the commit: the
    /// caller can wait for another store's commit meanwhile, then [`PendingAppends::wait`].
    pub fn submit_all(
        &self,
        events: Vec<(&Event, Vec<(String, Salt)>)>,
    ) -> Result<PendingAppends, StoreError> {
        let mut batch = Vec::with_capacity(events.len());
        let mut answers = Vec::with_capacity(events.len());
        for (event, salts) in events {
            let (append, answer) = Self::prepare(event, salts)?;
            batch.push(append);
            answers.push(answer);
        }
        {
            let guard = self.appends.lock().map_err(|_| StoreError::Closed)?;
            let tx = guard.as_ref().ok_or(StoreError::Closed)?;
            tx.send(batch).map_err(|_| StoreError::Closed)?;
        }
        Ok(PendingAppends(answers))
    }

    /// Checks an event and its salts and makes the sequencer's message for it.
    fn prepare(
        event: &Event,
        salts: Vec<(String, Salt)>,
    ) -> Result<(Append, mpsc::Receiver<Result<u64, String>>), StoreError> {
        let data = event.encode();
        // What the log records must read back: version 1, canonical, within the size limit.
        if let Err(e) = Event::decode(&data) {
            return Err(StoreError::OutOfRange(format!(
                "the event cannot be recorded: {e}"
            )));
        }
        let mut fields: Vec<&str> = salts.iter().map(|(f, _)| f.as_str()).collect();
        fields.sort_unstable();
        fields.dedup();
        if fields.len() != salts.len() {
            return Err(StoreError::OutOfRange(
                "each salt field may be given once per entry".into(),
            ));
        }
        if data.len() > evx_protocol::audit::MAX_EVENT_SIZE {
            return Err(StoreError::OutOfRange(format!(
                "the event is {} bytes; at most {} are recorded",
                data.len(),
                evx_protocol::audit::MAX_EVENT_SIZE
            )));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        Ok((Append { data, salts, reply }, answer))
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self
            .reader
            .lock()
            .map_err(|_| StoreError::Corrupt("a reader panicked".into()))?;
        f(&conn)
    }

    /// The number of entries.
    pub fn size(&self) -> Result<u64, StoreError> {
        self.read(store::size)
    }

    /// The latest signed checkpoint, as a note.
    pub fn checkpoint(&self) -> Result<Note, StoreError> {
        self.read(store::latest_checkpoint)
    }

    /// The signed checkpoint of a given size, if one was made.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<Note>, StoreError> {
        self.read(|c| store::checkpoint_at(c, size))
    }

    /// An entry's bytes.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        self.read(|c| store::entry(c, index))
    }

    /// The salts recorded with an entry, to reveal its commitments to an auditor.
    pub fn salts(&self, index: u64) -> Result<Vec<(String, Salt)>, StoreError> {
        self.read(|c| store::salts(c, index))
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.check_size(size)?;
        self.read(|c| {
            evx_protocol::merkle::inclusion_proof(&store::Tree(c), index, size).map_err(proof_error)
        })
    }

    /// Entry `index` as a [`LogEntryRef`] for an acknowledgement or a receipt: the entry, its
    /// inclusion path in the latest checkpoint, and that signed checkpoint.
    pub fn entry_ref(&self, index: u64) -> Result<evx_protocol::document::LogEntryRef, StoreError> {
        let note = self.checkpoint()?;
        let cp = Checkpoint::from_text(note.text())
            .map_err(|e| StoreError::Corrupt(format!("own checkpoint: {e}")))?;
        Ok(evx_protocol::document::LogEntryRef {
            index,
            tree_size: cp.size,
            root: cp.root,
            path: self.inclusion_proof(index, cp.size)?,
            entry: self.entry(index)?,
            checkpoint: note.encode(),
        })
    }

    /// The consistency proof from the tree of `old` entries to that of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        self.check_size(new)?;
        self.read(|c| {
            evx_protocol::merkle::consistency_proof(&store::Tree(c), old, new).map_err(proof_error)
        })
    }

    /// A self-contained proof (C2SP tlog-proof) that entry `index` is in the log: the entry,
    /// its inclusion path to the latest checkpoint, and that checkpoint with every cosignature
    /// recorded for it.
    pub fn proof(&self, index: u64) -> Result<LogProof, StoreError> {
        let note = self.checkpoint()?;
        let checkpoint = Checkpoint::from_text(note.text())
            .map_err(|e| StoreError::Corrupt(format!("latest checkpoint: {e}")))?;
        if index >= checkpoint.size {
            return Err(StoreError::OutOfRange(format!(
                "there is no entry {index}: the latest checkpoint covers {} entries",
                checkpoint.size
            )));
        }
        let mut text = note.encode();
        for line in self.cosignatures(checkpoint.size)? {
            text.push_str(&line);
            text.push('\n');
        }
        Ok(LogProof {
            entry: Some(self.entry(index)?),
            index,
            path: self.inclusion_proof(index, checkpoint.size)?,
            checkpoint: text,
        })
    }

    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        let have = self.size()?;
        if size > have {
            return Err(StoreError::OutOfRange(format!(
                "the log holds {have} entries, not {size}"
            )));
        }
        Ok(())
    }

    /// Records a witness's cosignature of one of this log's checkpoints, after checking that
    /// the note is that checkpoint and the cosignature verifies with `witness`.
    pub fn record_cosignature(
        &self,
        size: u64,
        cosigned: &Note,
        witness: &NoteVerifier,
    ) -> Result<(), StoreError> {
        let checkpoint = Checkpoint::from_text(cosigned.text())
            .map_err(|e| StoreError::Corrupt(format!("cosigned note: {e}")))?;
        if checkpoint.origin != self.origin || checkpoint.size != size {
            return Err(StoreError::OutOfRange(format!(
                "the cosigned checkpoint is of {} at size {}, not of {} at size {size}",
                checkpoint.origin, checkpoint.size, self.origin
            )));
        }
        self.read(|c| store::record_cosignatures(c, size, cosigned, witness))
    }

    /// Recomputes every hash and root from the entries and checks every checkpoint's signature;
    /// names the first bad entry or checkpoint.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        // Its own connection, in one read transaction: a consistent snapshot, and other readers
        // are not held up while it runs.
        let mut conn = store::open(&self.dir.join(DB_FILE))?;
        let tx = conn.transaction().map_err(sql("begin verification"))?;
        verify::verify(&tx, &self.verifier)
    }

    /// Stops the sequencer after the appends already queued.
    pub fn close(&self) {
        if let Ok(mut tx) = self.appends.lock() {
            tx.take();
        }
        if let Ok(mut h) = self.sequencer.lock()
            && let Some(h) = h.take()
        {
            let _ = h.join();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

fn proof_error(e: ProofError<StoreError>) -> StoreError {
    match e {
        ProofError::OutOfRange(m) => StoreError::OutOfRange(m),
        ProofError::Source(e) => e,
    }
}
