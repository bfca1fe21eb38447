//! The sealer's hashing helper: a thread that hashes item bytes while the caller encrypts.
//!
//! Sealing costs, per byte, one SHA-256 for the item digest, one for the Merkle leaf, one
//! AES-256-GCM pass and two copies (into the batch, into the output records). The item digest is
//! one sequential SHA-256 stream per item, independent of the rest, so a helper thread takes it
//! (and one leaf in [`SEAL_HELPER_LEAF_EVERY`]) while the caller copies, encrypts and hashes the
//! other leaves.
//!
//! The helper lives as long as the sealer, because a sealer is fed through many `write` calls:
//! a batch is handed over as soon as it is full, and the helper hashes it while the caller copies
//! the next one in — the copy is overlapped too. Two batch buffers alternate between them.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use super::items::ItemHashers;
use super::{SEAL_HELPER_LEAF_EVERY, chunks_of};
use crate::merkle::{Hash, leaf_hash};

/// One batch: its plaintext, and whether it ends the payload.
type Job = (Arc<Vec<u8>>, bool);

/// A running helper and the batch it is working on.
pub(crate) struct HashWorker {
    jobs: Option<Sender<Job>>,
    done: Receiver<Vec<Hash>>,
    thread: Option<JoinHandle<ItemHashers>>,
    /// The batch handed over last, with the caller's leaves for it (the helper's share still
    /// zero), waiting for the helper's share.
    in_flight: Option<(Arc<Vec<u8>>, Vec<Hash>)>,
}

impl HashWorker {
    /// Starts a helper that owns the item digests from now on.
    pub(crate) fn spawn(hashers: ItemHashers, chunk_size: usize) -> Self {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel();
        let thread = std::thread::Builder::new()
            .name("evx-seal-hash".into())
            .spawn(move || {
                let mut hashers = hashers;
                for (batch, last) in job_rx {
                    hashers.update(&batch);
                    let share = chunks_of(&batch, chunk_size, last)
                        .step_by(SEAL_HELPER_LEAF_EVERY)
                        .map(leaf_hash)
                        .collect();
                    // Let the caller reuse the buffer as soon as it has our answer.
                    drop(batch);
                    if done_tx.send(share).is_err() {
                        break;
                    }
                }
                hashers
            })
            .unwrap_or_else(|e| panic!("cannot start the sealer's hashing thread: {e}"));
        Self {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            in_flight: None,
        }
    }

    /// Hands a batch over; the helper starts on it at once. The previous batch must have been
    /// collected with [`HashWorker::collect`].
    pub(crate) fn submit(&mut self, batch: Arc<Vec<u8>>, last: bool) {
        debug_assert!(self.in_flight.is_none());
        if let Some(jobs) = &self.jobs {
            // A send fails only if the helper is gone, i.e. it panicked: `collect` re-raises it.
            let _ = jobs.send((Arc::clone(&batch), last));
        }
        self.in_flight = Some((batch, Vec::new()));
    }

    /// Records the caller's leaf hashes for the batch in flight, with a zero placeholder at
    /// every index the helper computes.
    pub(crate) fn own_leaves(&mut self, leaves: Vec<Hash>) {
        if let Some((_, mine)) = &mut self.in_flight {
            *mine = leaves;
        }
    }

    /// Waits for the batch in flight, if any: returns its complete leaves, in order, and its
    /// buffer for reuse.
    pub(crate) fn collect(&mut self) -> Option<(Vec<Hash>, Vec<u8>)> {
        let (batch, mut leaves) = self.in_flight.take()?;
        let Ok(share) = self.done.recv() else {
            self.rethrow();
        };
        for (i, h) in share.into_iter().enumerate() {
            leaves[i * SEAL_HELPER_LEAF_EVERY] = h;
        }
        // The helper dropped its handle before answering.
        let buffer = Arc::try_unwrap(batch).unwrap_or_else(|shared| shared.as_ref().clone());
        Some((leaves, buffer))
    }

    /// Stops the helper and takes the item digests back.
    pub(crate) fn finish(mut self) -> ItemHashers {
        debug_assert!(self.in_flight.is_none());
        self.jobs = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(hashers)) => hashers,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => unreachable!("the thread is joined only here"),
        }
    }

    /// Re-raises the helper's panic on the caller's thread.
    fn rethrow(&mut self) -> ! {
        self.jobs = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            _ => unreachable!("the helper stops answering only by panicking"),
        }
    }
}
