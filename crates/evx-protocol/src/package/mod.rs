//! The EVX1 evidence package: streaming seal and open.
//!
//! A package carries evidence items from the requested party to the requesting party. It is
//! sealed to the recipient's HPKE key, signed by the sender's document key, and bound to a
//! case, a request and a purpose. The byte-level format is specified in
//! `docs/package-format.md`; in short:
//!
//! ```text
//! "EVX1" ‖ u16 header length ‖ header            (clear; H = SHA-256("evx/v1 header\0" ‖ header))
//! 'I' ‖ u32 length ‖ HPKE.Seal(aad=H, index)     (the items' names, types and lengths)
//! 'C' ‖ u32 length ‖ AES-256-GCM chunk           (one record per chunk; the last is short)
//! …
//! 'T' ‖ u32 length ‖ HPKE.Seal(aad=H, signed manifest)
//! ```
//!
//! Memory is constant in both directions whatever the package size: the sealer holds three
//! 4 MiB batch buffers and the opener one, plus an O(log n) Merkle frontier and one SHA-256
//! state. Hashing the items and hashing the Merkle leaves are independent of each other and of
//! the cipher, so they are shared with a helper thread (see [`Parallelism`]).
//!
//! Opening never hands out unverified plaintext: it is written to a [`Staging`] sink, which is
//! committed only once the trailer's signature and every digest have been checked, and
//! discarded on any error.

mod header;
mod items;
mod open;
mod seal;
mod staging;
mod worker;

pub use header::{PackageHeader, PackageParams, SUITE_V1};
pub use items::{Collection, EvidenceItem, ItemIndex, ItemSpec, Manifest};
pub use open::{OpenError, Opened, PackageReader};
pub use seal::{SealError, Sealed, Sealer};
pub use staging::{MemoryStaging, Staging, VerifyOnly};

#[cfg(feature = "forgery")]
#[doc(hidden)]
pub use seal::Forgery;

/// The package magic.
pub const MAGIC: &[u8; 4] = b"EVX1";
/// HPKE `info` for every package context.
pub const HPKE_INFO: &[u8] = b"evx/v1 package";
/// Domain label hashed before the header bytes to give `H`.
pub const HEADER_DOMAIN: &[u8] = b"evx/v1 header\0";
/// Exporter context prefix for the payload key: `K = Export(PAYLOAD_LABEL ‖ H, 32)`.
pub const PAYLOAD_LABEL: &[u8] = b"evx/v1 payload\0";
/// The default chunk size: 64 KiB.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// The smallest chunk size accepted.
pub const MIN_CHUNK_SIZE: u32 = 4 * 1024;
/// The largest chunk size accepted: bounds the opener's memory.
pub const MAX_CHUNK_SIZE: u32 = 1024 * 1024;
/// The largest encoded header accepted.
pub const MAX_HEADER: usize = 8 * 1024;
/// The largest index or trailer record body accepted.
pub const MAX_SEALED_RECORD: usize = 4 * 1024 * 1024;
/// The most evidence items one package may carry.
pub const MAX_ITEMS: usize = 10_000;

/// Record type of the sealed item index.
pub(crate) const RECORD_INDEX: u8 = b'I';
/// Record type of a payload chunk.
pub(crate) const RECORD_CHUNK: u8 = b'C';
/// Record type of the sealed trailer.
pub(crate) const RECORD_TRAILER: u8 = b'T';
/// Bytes of record header: type (1) and body length (4).
pub(crate) const RECORD_HEADER: usize = 5;

/// Whether seal and open may use a second thread for hashing.
///
/// The work per chunk is one SHA-256 for the item digest, one for the Merkle leaf and one
/// AES-256-GCM pass; the two hashes are independent, so with a second core the package moves at
/// close to the speed of one hash plus the cipher rather than two hashes plus the cipher.
/// Threads are scoped per batch of chunks: nothing outlives a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// Hash items on a second thread when a batch is large enough to be worth it.
    #[default]
    TwoThreads,
    /// Everything on the caller's thread (e.g. under a fuzzer, or on a single core).
    SingleThread,
}

/// Chunks processed per batch: 4 MiB worth (chunk sizes are powers of two up to 1 MiB). Larger
/// batches amortise handing work to the helper thread; memory stays a few batches.
pub(crate) fn batch_chunks(chunk_size: u32) -> usize {
    (4 * 1024 * 1024) / chunk_size as usize
}

/// Which Merkle leaves the opener's helper thread hashes: every `n`-th. The helper hashes every
/// item byte (one sequential SHA-256 stream per item) plus this share of the leaves; the
/// caller's thread reads, decrypts and hashes the other leaves. One in six balances the two on
/// an AES-NI machine, where AES-GCM costs about a fifth of SHA-256 (measured with the
/// `package` bench). (The sealer shares its leaves dynamically instead: see `worker.rs`.)
pub(crate) const OPEN_HELPER_LEAF_EVERY: usize = 6;

/// Batches smaller than this are hashed on the caller's thread: a spawn costs tens of
/// microseconds.
const MIN_PARALLEL_BATCH: usize = 256 * 1024;

/// Feeds one batch of chunks, in order, to the item digests and to the Merkle leaves.
///
/// `produce` is called once, on the caller's thread, with a `feed` function; it calls `feed`
/// with each chunk's plaintext as soon as that plaintext is ready (sealing: before encrypting
/// it; opening: right after decrypting it). With [`Parallelism::TwoThreads`] and a large enough
/// batch, a scoped helper thread hashes the items (and its share of the leaves) while
/// `produce` goes on; otherwise everything runs inline. `leaves` receives the batch's leaf
/// hashes in chunk order.
pub(crate) fn hash_chunks<'d, R>(
    parallelism: Parallelism,
    batch_bytes: usize,
    hashers: &mut items::ItemHashers,
    leaves: &mut Vec<crate::merkle::Hash>,
    produce: impl FnOnce(&mut dyn FnMut(&'d [u8])) -> R,
) -> R {
    use crate::merkle::leaf_hash;
    leaves.clear();
    if parallelism == Parallelism::SingleThread || batch_bytes < MIN_PARALLEL_BATCH {
        return produce(&mut |chunk| {
            hashers.update(chunk);
            leaves.push(leaf_hash(chunk));
        });
    }
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<&'d [u8]>();
        let helper = s.spawn(move || {
            let mut share = Vec::new();
            for (j, chunk) in rx.iter().enumerate() {
                hashers.update(chunk);
                if j.is_multiple_of(OPEN_HELPER_LEAF_EVERY) {
                    share.push(leaf_hash(chunk));
                }
            }
            share
        });
        let out = produce(&mut |chunk| {
            let j = leaves.len();
            // The helper only stops receiving by panicking, which join() re-raises below.
            let _ = tx.send(chunk);
            leaves.push(if j.is_multiple_of(OPEN_HELPER_LEAF_EVERY) {
                [0; 32]
            } else {
                leaf_hash(chunk)
            });
        });
        drop(tx);
        let share = helper
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        for (i, h) in share.into_iter().enumerate() {
            leaves[i * OPEN_HELPER_LEAF_EVERY] = h;
        }
        out
    })
}
