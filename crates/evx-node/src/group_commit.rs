//! Group commit for a node's request store.
//!
//! Every write a request makes to its store must be durable (`synchronous = FULL`: an fsync per
//! commit) before the node answers — a request recorded and then lost would be taken in twice.
//! One commit per write serialises every request behind the disk's flush: a few thousand a
//! second at best, whatever the number of cores. A [`GroupCommit`] owns one connection on its
//! own thread and commits every write waiting for it in one transaction, each write in a
//! savepoint of its own (a write that fails is undone alone and reported to its caller), and
//! answers each only once the commit is durable. Under load, one fsync covers many requests;
//! alone, a write costs what it did.

use std::path::Path;
use std::sync::{Mutex, mpsc};

use rusqlite::Connection;

/// Runs a call that waits on the disk (a durable commit, a proof read from the log) from async
/// code: on a multi-threaded runtime the worker thread hands its other tasks over while it
/// waits, so that exchanges in flight do not queue behind one another's fsync; elsewhere it
/// simply runs.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The most writes committed in one transaction.
const MAX_BATCH: usize = 1024;

/// A write to the store: the rows it changed, or why it failed.
type Work = Box<dyn FnOnce(&Connection) -> rusqlite::Result<usize> + Send>;

struct Job {
    work: Work,
    reply: mpsc::SyncSender<Result<usize, CommitError>>,
}

/// Why a write was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The write, or the commit of its batch, failed in SQLite.
    #[error("the request store: {0}")]
    Sql(String),
    /// The writer has stopped (the node is closing).
    #[error("the request store's writer has stopped")]
    Closed,
}

/// A store's writer thread.
pub struct GroupCommit {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl GroupCommit {
    /// Opens a writing connection on the database at `path` (WAL, `synchronous = FULL`, a busy
    /// timeout for the other connections on the same file) and starts its thread.
    pub fn open(path: &Path) -> Result<Self, CommitError> {
        let sql = |e: rusqlite::Error| CommitError::Sql(e.to_string());
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(sql)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("evx-store-writer".into())
            .spawn(move || run(&conn, &rx))
            .map_err(|e| CommitError::Sql(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            jobs: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `work` in the next batch; returns what it returned once the batch is durable.
    pub fn write(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<usize> + Send + 'static,
    ) -> Result<usize, CommitError> {
        self.submit(work)?.wait()
    }

    /// Queues `work` for the next batch without waiting: the caller can wait for another
    /// store's commit meanwhile, then [`PendingWrite::wait`].
    pub fn submit(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<usize> + Send + 'static,
    ) -> Result<PendingWrite, CommitError> {
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let jobs = self.jobs.lock().map_err(|_| CommitError::Closed)?;
            jobs.as_ref()
                .ok_or(CommitError::Closed)?
                .send(Job {
                    work: Box::new(work),
                    reply,
                })
                .map_err(|_| CommitError::Closed)?;
        }
        Ok(PendingWrite(answer))
    }
}

/// A write queued by [`GroupCommit::submit`].
#[must_use = "the write is known to be recorded only once `wait` returns"]
pub struct PendingWrite(mpsc::Receiver<Result<usize, CommitError>>);

impl PendingWrite {
    /// Waits until the write's batch is durable; returns the rows it changed.
    pub fn wait(self) -> Result<usize, CommitError> {
        self.0.recv().map_err(|_| CommitError::Closed)?
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Ok(mut thread) = self.thread.lock()
            && let Some(t) = thread.take()
        {
            let _ = t.join();
        }
    }
}

fn run(conn: &Connection, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(conn, batch);
    }
}

fn commit(conn: &Connection, batch: Vec<Job>) {
    let sql = |e: rusqlite::Error| CommitError::Sql(e.to_string());
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let why = e.to_string();
        for job in batch {
            let _ = job.reply.send(Err(CommitError::Sql(why.clone())));
        }
        return;
    }
    type Reply = mpsc::SyncSender<Result<usize, CommitError>>;
    let mut done: Vec<(Reply, Result<usize, CommitError>)> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    while let Some(job) = jobs.next() {
        // An error that made SQLite roll the whole transaction back (a full disk, an I/O
        // error) ends the batch: a savepoint opened now would be a transaction of its own,
        // committed at its release while its caller is told it failed.
        if conn.is_autocommit() {
            let why = "the batch's transaction was rolled back by an earlier failure";
            for (reply, _) in done {
                let _ = reply.send(Err(CommitError::Sql(why.into())));
            }
            for job in std::iter::once(job).chain(jobs) {
                let _ = job.reply.send(Err(CommitError::Sql(why.into())));
            }
            return;
        }
        let work = job.work;
        let result = conn
            .execute_batch("SAVEPOINT write")
            .map_err(sql)
            .and_then(|()| {
                // A write that panics fails alone; the writer goes on.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)))
                    .map_err(|_| CommitError::Sql("the write panicked".into()))?
                    .map_err(sql)
            });
        // A failed write is undone alone; the others stand.
        let undo = if result.is_err() {
            "ROLLBACK TO write; RELEASE write"
        } else {
            "RELEASE write"
        };
        let result = match conn.execute_batch(undo) {
            Ok(()) => result,
            Err(e) => Err(sql(e)),
        };
        done.push((job.reply, result));
    }
    if conn.is_autocommit() {
        let why = "the batch's transaction was rolled back by a failure";
        for (reply, _) in done {
            let _ = reply.send(Err(CommitError::Sql(why.into())));
        }
        return;
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        let why = e.to_string();
        for (reply, _) in done {
            let _ = reply.send(Err(CommitError::Sql(why.clone())));
        }
        return;
    }
    for (reply, result) in done {
        let _ = reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "evx-group-commit-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn concurrent_writes_are_all_durable_and_a_failing_one_is_undone_alone() {
        let dir = temp("writes");
        let path = dir.join("store.sqlite");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
                .unwrap();
        }
        let writer = std::sync::Arc::new(GroupCommit::open(&path).unwrap());
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let k = t * 1000 + i;
                        let n = writer
                            .write(move |c| c.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", [k]))
                            .unwrap();
                        assert_eq!(n, 1);
                    }
                })
            })
            .collect();
        // A write that fails (a duplicate key) is reported, and only it is undone.
        let dup = writer.write(|c| {
            c.execute("INSERT INTO t (k, v) VALUES (1000000, 'x')", [])?;
            c.execute("INSERT INTO t (k, v) VALUES (1000000, 'y')", [])
        });
        assert!(matches!(dup, Err(CommitError::Sql(_))), "{dup:?}");
        for h in handles {
            h.join().unwrap();
        }
        // A write that panics fails alone, and the writer goes on.
        let panicked = writer.write(|_| panic!("a bug in one write"));
        assert!(matches!(panicked, Err(CommitError::Sql(_))), "{panicked:?}");
        assert_eq!(
            writer
                .write(|c| c.execute("INSERT INTO t (k, v) VALUES (2000000, 'z')", []))
                .unwrap(),
            1
        );
        drop(writer);
        let c = Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 401);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
