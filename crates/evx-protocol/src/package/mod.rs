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
//! 4 MiB batch buffers (two on one thread) and the opener one, plus an O(log n) Merkle frontier
//! and one SHA-256 state; the opener also holds the decoded item index. Hashing the items and hashing the Merkle leaves are independent of each other and of
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
/// The sealer keeps one helper thread for its lifetime, from its first full batch on, in packages
/// of 4 MiB or more; the opener uses a scoped helper per batch of 256 KiB or more, so nothing
/// it starts outlives a call. Where no thread can be started, both carry on alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// Share the hashing with a second thread when the package is large enough to be worth it.
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
