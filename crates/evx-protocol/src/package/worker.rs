//! The sealer's hashing helper: a thread that hashes item bytes while the caller encrypts.
//!
//! Sealing costs, per byte, one SHA-256 for the item digest, one for the Merkle leaf, one
//! AES-256-GCM pass and two copies (into the batch, into the output records). The item digest is
//! one sequential SHA-256 stream per item, independent of the rest, so a helper thread takes it
//! while the caller encrypts. The Merkle leaves are shared out dynamically: each thread, once
//! its own part is done, claims the batch's next unhashed leaf until none is left, so the two
//! finish together whatever the relative speed of SHA-256 and AES-GCM on the machine.
//!
//! The helper lives as long as the sealer, because a sealer is fed through many `write` calls.
//! A batch is handed over as soon as it is full and encrypted at once; the caller then returns
//! to copy the next batch in while the helper hashes, and claims what leaves are left only when
//! it hands the next batch over. Two batch buffers alternate between them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use super::items::ItemHashers;
use crate::merkle::{Hash, leaf_hash};

/// One batch of plaintext, shared by the caller and the helper.
pub(crate) struct Batch {
    data: Vec<u8>,
    chunk_size: usize,
    /// Whether the batch ends the payload (its remainder is then the final chunk).
    last: bool,
    /// The next leaf nobody has claimed yet.
    next_leaf: AtomicUsize,
}

impl Batch {
    pub(crate) fn new(data: Vec<u8>, chunk_size: usize, last: bool) -> Self {
        Self {
            data,
            chunk_size,
            last,
            next_leaf: AtomicUsize::new(0),
        }
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    /// The number of chunks: the full ones, plus the final one if the batch is the last.
    pub(crate) fn chunk_count(&self) -> usize {
        self.data.len() / self.chunk_size + usize::from(self.last)
    }

    /// Chunk `j`'s plaintext.
    pub(crate) fn chunk(&self, j: usize) -> &[u8] {
        let start = (j * self.chunk_size).min(self.data.len());
        let end = ((j + 1) * self.chunk_size).min(self.data.len());
        &self.data[start..end]
    }

    /// Hashes leaves until every one has been claimed; returns those hashed here.
    pub(crate) fn claim_leaves(&self) -> ClaimedLeaves {
        let mut mine = Vec::new();
        loop {
            let j = self.next_leaf.fetch_add(1, Ordering::Relaxed);
            if j >= self.chunk_count() {
                return mine;
            }
            mine.push((j, leaf_hash(self.chunk(j))));
        }
    }

    /// Takes the buffer back once nobody else holds the batch (else a fresh one is allocated
    /// later: correct, only slower).
    pub(crate) fn into_buffer_if_unshared(self: Arc<Self>) -> Vec<u8> {
        let buffer = Arc::try_unwrap(self).map(|b| b.data);
        debug_assert!(buffer.is_ok(), "the helper keeps no batch after answering");
        buffer.unwrap_or_default()
    }
}

/// Leaf hashes with their positions in the batch, as one thread claimed them.
type ClaimedLeaves = Vec<(usize, Hash)>;

/// A running helper and the batch it is working on.
pub(crate) struct HashWorker {
    jobs: Option<Sender<Arc<Batch>>>,
    done: Receiver<ClaimedLeaves>,
    thread: Option<JoinHandle<Option<ItemHashers>>>,
    /// The batch handed over last.
    in_flight: Option<Arc<Batch>>,
}

impl HashWorker {
    /// Starts a helper that owns the item digests from now on. If no thread can be started
    /// (a process limit, a platform without threads), hands the digests back: the caller then
    /// seals on its own thread.
    pub(crate) fn spawn(hashers: ItemHashers) -> Result<Self, Box<ItemHashers>> {
        let (jobs, job_rx) = channel::<Arc<Batch>>();
        let (done_tx, done) = channel();
        let (start_tx, start_rx) = channel::<ItemHashers>();
        let thread = std::thread::Builder::new()
            .name("evx-seal-hash".into())
            .spawn(move || {
                // The digests arrive only once the thread exists.
                let Ok(mut hashers) = start_rx.recv() else {
                    return None;
                };
                for batch in job_rx {
                    hashers.update(batch.data());
                    let leaves = batch.claim_leaves();
                    // Let the caller reuse the buffer as soon as it has our answer.
                    drop(batch);
                    if done_tx.send(leaves).is_err() {
                        break;
                    }
                }
                Some(hashers)
            });
        let Ok(thread) = thread else {
            return Err(Box::new(hashers));
        };
        if let Err(back) = start_tx.send(hashers) {
            return Err(Box::new(back.0));
        }
        Ok(Self {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            in_flight: None,
        })
    }

    /// Hands a batch over; the helper starts on it at once. The previous batch must have been
    /// collected with [`HashWorker::collect`].
    pub(crate) fn submit(&mut self, batch: Arc<Batch>) {
        debug_assert!(self.in_flight.is_none());
        if let Some(jobs) = &self.jobs {
            // A send fails only if the helper is gone, i.e. it panicked: `collect` re-raises it.
            let _ = jobs.send(Arc::clone(&batch));
        }
        self.in_flight = Some(batch);
    }

    /// Finishes the batch in flight, if any, together with the helper: hashes the leaves it has
    /// not claimed yet, waits for its share, and returns all the batch's leaves, in order, and
    /// its buffer for reuse.
    pub(crate) fn collect(&mut self) -> Option<(Vec<Hash>, Vec<u8>)> {
        let batch = self.in_flight.take()?;
        let mine = batch.claim_leaves();
        let Ok(theirs) = self.done.recv() else {
            self.rethrow();
        };
        debug_assert_eq!(mine.len() + theirs.len(), batch.chunk_count());
        let mut leaves = vec![[0u8; 32]; batch.chunk_count()];
        for (j, h) in mine.into_iter().chain(theirs) {
            leaves[j] = h;
        }
        Some((leaves, batch.into_buffer_if_unshared()))
    }

    /// Stops the helper and takes the item digests back.
    pub(crate) fn finish(mut self) -> ItemHashers {
        debug_assert!(self.in_flight.is_none());
        self.jobs = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Some(hashers))) => hashers,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            Some(Ok(None)) | None => {
                unreachable!("the helper got the digests and is joined only here")
            }
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
