//! Opening: check the header, decrypt to staging, verify the signed trailer, then commit.

use std::io::{self, Read};

use zeroize::Zeroizing;

use super::header::{HeaderProblem, PackageHeader};
use super::items::{self, ItemHashers, ItemIndex, Manifest, check_items};
use super::staging::Staging;
use super::{
    HPKE_INFO, MAGIC, MAX_HEADER, MAX_ITEMS, MAX_SEALED_RECORD, PAYLOAD_LABEL, Parallelism,
    RECORD_CHUNK, RECORD_HEADER, RECORD_INDEX, RECORD_TRAILER, batch_chunks,
};
use crate::canonical::{self, DecodeError};
use crate::crypto::aead::{PayloadKey, TAG_LEN};
use crate::crypto::hpke::{ReceiverContext, setup_receiver};
use crate::crypto::{HpkeSecretKey, VerifyingKey};
use crate::document::{DocumentError, Signed};
use crate::ids::{KeyId, PackageId};
use crate::merkle::RootBuilder;
use crate::purpose::{self, DeclaredPurpose, PurposeRefusal};

/// Why a package was refused. Each refusal case has its own variant, and none of them carries
/// plaintext or key material.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading the package or writing to staging failed.
    #[error("I/O error while opening the package: {0}")]
    Io(#[from] io::Error),
    /// The input does not start with `EVX1`.
    #[error("not an EVX1 evidence package (bad magic bytes)")]
    BadMagic,
    /// The structure is broken: a length out of bounds, an unexpected record, an undecodable
    /// header, index or manifest.
    #[error("malformed package: {0}")]
    Malformed(String),
    /// The header, the index or the manifest has a version this build cannot read.
    #[error(
        "{what} version {found} is not supported; this evx reads version 1 — upgrade evx to open this package"
    )]
    UnsupportedVersion {
        /// Which part: package format, item index or manifest.
        what: &'static str,
        /// The version found.
        found: u8,
    },
    /// The package is sealed to another key.
    #[error(
        "the package is sealed to key {sealed_to}, not to this node's key {ours}: it was sent to the wrong party, or the node's HPKE key was rotated"
    )]
    WrongRecipient {
        /// The recipient key id in the header.
        sealed_to: KeyId,
        /// Our key id.
        ours: KeyId,
    },
    /// The header names another sender than the one expected.
    #[error("the package claims sender key {claimed}, but it was expected from key {expected}")]
    UnexpectedSender {
        /// The sender key id in the header.
        claimed: KeyId,
        /// The expected sender's key id.
        expected: KeyId,
    },
    /// The declared purpose is not allowed for this package; nothing was decrypted.
    #[error("opening refused: {0}")]
    PurposeRefused(#[from] PurposeRefusal),
    /// The header does not authenticate: a header byte was altered.
    #[error("the package header was altered: it does not match the sealed key material")]
    HeaderAltered,
    /// The package ends before its final chunk.
    #[error(
        "the package is truncated: it ends inside its header or a record, or before its final chunk"
    )]
    Truncated,
    /// Data follows the final chunk or the trailer.
    #[error("the package was extended: data follows its final chunk or its trailer")]
    Extended,
    /// A chunk failed authentication at its position.
    #[error(
        "chunk {index} failed authentication: chunks were reordered, dropped, duplicated or altered"
    )]
    ChunkRejected {
        /// The chunk's position (0-based).
        index: u64,
    },
    /// The package has no trailer, so no signature.
    #[error("the package has no signed trailer: it was cut after its final chunk")]
    MissingSignature,
    /// The sealed trailer does not authenticate.
    #[error("the package trailer was altered")]
    TrailerAltered,
    /// The manifest is signed by a key other than the expected sender's.
    #[error("the manifest is signed by key {signer}, not by the expected sender {expected}")]
    ForeignSignature {
        /// Who signed.
        signer: KeyId,
        /// Who was expected to.
        expected: KeyId,
    },
    /// The manifest's signature does not verify.
    #[error("the manifest signature does not verify")]
    BadSignature,
    /// The signed manifest disagrees with the package.
    #[error("the signed manifest does not match the package: {0}")]
    ManifestMismatch(&'static str),
}

impl OpenError {
    /// A stable, kebab-case name for the refusal: used in test vectors, logs and error reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "io",
            Self::BadMagic => "bad-magic",
            Self::Malformed(_) => "malformed",
            Self::UnsupportedVersion { .. } => "unsupported-version",
            Self::WrongRecipient { .. } => "wrong-recipient",
            Self::UnexpectedSender { .. } => "unexpected-sender",
            Self::PurposeRefused(_) => "purpose-refused",
            Self::HeaderAltered => "header-altered",
            Self::Truncated => "truncated",
            Self::Extended => "extended",
            Self::ChunkRejected { .. } => "chunk-rejected",
            Self::MissingSignature => "missing-signature",
            Self::TrailerAltered => "trailer-altered",
            Self::ForeignSignature { .. } => "foreign-signature",
            Self::BadSignature => "bad-signature",
            Self::ManifestMismatch(_) => "manifest-mismatch",
        }
    }
}

/// A verified package: its manifest and what the staging sink committed.
pub struct Opened<C> {
    /// `H`, the package id.
    pub package_id: PackageId,
    /// The header.
    pub header: PackageHeader,
    /// The verified manifest.
    pub manifest: Manifest,
    /// The signed manifest exactly as received: with the plaintext, proof of origin for a court.
    pub signed_manifest: Signed<Manifest>,
    /// What the staging sink committed.
    pub committed: C,
}

/// A package whose header has been read and parsed, not yet authenticated.
///
/// Inspect [`PackageReader::header`] to decide whether to open at all (is it for us, from the
/// expected party, for an open case?), then call [`PackageReader::open`].
pub struct PackageReader<R: Read> {
    reader: R,
    header: PackageHeader,
    package_id: PackageId,
    parallelism: Parallelism,
}

impl<C> core::fmt::Debug for Opened<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never the committed plaintext: it is case data.
        f.debug_struct("Opened")
            .field("package_id", &self.package_id)
            .field("length", &self.manifest.length)
            .field("items", &self.manifest.items.len())
            .finish_non_exhaustive()
    }
}

impl<R: Read> core::fmt::Debug for PackageReader<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PackageReader")
            .field("package_id", &self.package_id)
            .finish()
    }
}

fn read_exact_or_truncated(r: &mut impl Read, buf: &mut [u8]) -> Result<(), OpenError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => OpenError::Truncated,
        _ => OpenError::Io(e),
    })
}

/// Reads a record header; `None` at a clean end of input.
fn read_record_header(r: &mut impl Read) -> Result<Option<(u8, usize)>, OpenError> {
    let mut h = [0u8; RECORD_HEADER];
    let mut got = 0;
    while got < RECORD_HEADER {
        match r.read(&mut h[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(OpenError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(OpenError::Io(e)),
        }
    }
    Ok(Some((
        h[0],
        u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize,
    )))
}

fn read_sealed_record(r: &mut impl Read, len: usize, what: &str) -> Result<Vec<u8>, OpenError> {
    if len > MAX_SEALED_RECORD {
        return Err(OpenError::Malformed(format!(
            "{what} record of {len} bytes exceeds the limit of {MAX_SEALED_RECORD}"
        )));
    }
    let mut body = vec![0u8; len];
    read_exact_or_truncated(r, &mut body)?;
    Ok(body)
}

impl<R: Read> PackageReader<R> {
    /// Reads and parses the magic and the header.
    pub fn new(mut reader: R) -> Result<Self, OpenError> {
        let mut magic = [0u8; 4];
        read_exact_or_truncated(&mut reader, &mut magic)?;
        if &magic != MAGIC {
            return Err(OpenError::BadMagic);
        }
        let mut len = [0u8; 2];
        read_exact_or_truncated(&mut reader, &mut len)?;
        let len = usize::from(u16::from_be_bytes(len));
        if len > MAX_HEADER {
            return Err(OpenError::Malformed(format!(
                "header of {len} bytes exceeds the limit of {MAX_HEADER}"
            )));
        }
        let mut bytes = vec![0u8; len];
        read_exact_or_truncated(&mut reader, &mut bytes)?;
        let header = PackageHeader::decode(&bytes).map_err(|p| match p {
            HeaderProblem::Decode(e) => OpenError::Malformed(e.to_string()),
            HeaderProblem::Version(v) => OpenError::UnsupportedVersion {
                what: "package format",
                found: v,
            },
            HeaderProblem::Suite(s) => OpenError::Malformed(format!("unknown cipher suite {s}")),
            HeaderProblem::ChunkSize(c) => OpenError::Malformed(format!("invalid chunk size {c}")),
        })?;
        let package_id = PackageHeader::package_id_of(&bytes);
        Ok(Self {
            reader,
            header,
            package_id,
            parallelism: Parallelism::default(),
        })
    }

    /// Chooses whether hashing may use a second thread.
    #[must_use]
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The header, parsed but not yet authenticated.
    pub fn header(&self) -> &PackageHeader {
        &self.header
    }

    /// `H`, the package id.
    pub fn package_id(&self) -> PackageId {
        self.package_id
    }

    /// Authenticates and decrypts the package into `staging`, and commits it only if every
    /// check passes.
    ///
    /// In order: the package must be sealed to `recipient`, claim `sender`, and allow
    /// `declared` (all before any decryption); then the header must authenticate, every chunk
    /// must authenticate in sequence up to a final chunk, the trailer must be present and
    /// sealed, its manifest signed by `sender` and consistent with the header, the length, the
    /// Merkle root and every item digest, and nothing may follow it.
    pub fn open<S: Staging>(
        mut self,
        recipient: &HpkeSecretKey,
        sender: &VerifyingKey,
        declared: &DeclaredPurpose,
        mut staging: S,
    ) -> Result<Opened<S::Committed>, OpenError> {
        // Every refusal, before or after decryption, discards the staging area.
        match self.check_and_decrypt(recipient, sender, declared, &mut staging) {
            Ok((manifest, signed_manifest)) => {
                let committed = staging.commit(&manifest)?;
                Ok(Opened {
                    package_id: self.package_id,
                    header: self.header,
                    manifest,
                    signed_manifest,
                    committed,
                })
            }
            Err(e) => {
                staging.discard();
                Err(e)
            }
        }
    }

    fn check_and_decrypt<S: Staging>(
        &mut self,
        recipient: &HpkeSecretKey,
        sender: &VerifyingKey,
        declared: &DeclaredPurpose,
        staging: &mut S,
    ) -> Result<(Manifest, Signed<Manifest>), OpenError> {
        let h = &self.header;
        if h.recipient != recipient.id() {
            return Err(OpenError::WrongRecipient {
                sealed_to: h.recipient,
                ours: recipient.id(),
            });
        }
        if h.sender != sender.id() {
            return Err(OpenError::UnexpectedSender {
                claimed: h.sender,
                expected: sender.id(),
            });
        }
        purpose::check(&h.case_id, h.purpose, &h.conditions, declared)?;

        let aad = self.package_id.0;
        let mut ctx = setup_receiver(recipient, &self.header.enc, HPKE_INFO)
            .map_err(|_| OpenError::HeaderAltered)?;

        // The index is the first AEAD under H: if any header byte changed, it fails here.
        let sealed_index = match read_record_header(&mut self.reader)? {
            Some((RECORD_INDEX, len)) => read_sealed_record(&mut self.reader, len, "index")?,
            Some((t, _)) => {
                return Err(OpenError::Malformed(format!(
                    "expected the index record, found type {t:#04x}"
                )));
            }
            None => return Err(OpenError::Truncated),
        };
        let plain_index = Zeroizing::new(
            ctx.open(&sealed_index, &aad)
                .map_err(|_| OpenError::HeaderAltered)?,
        );
        drop(sealed_index);
        // Refuse an oversized item list before decoding it: decoded items take up to ~20 times
        // their encoded size, and nothing is signed yet.
        match items::peek_index(&plain_index) {
            Some((1, count)) if count <= MAX_ITEMS as u64 => {}
            Some((1, count)) => {
                return Err(OpenError::Malformed(format!(
                    "the index lists {count} items; a package holds at most {MAX_ITEMS}"
                )));
            }
            Some((v, _)) => {
                return Err(OpenError::UnsupportedVersion {
                    what: "item index",
                    found: v,
                });
            }
            None => return Err(OpenError::Malformed("the item index is cut short".into())),
        }
        let index: ItemIndex = canonical::decode("item index", &plain_index)
            .map_err(|e| OpenError::Malformed(e.to_string()))?;
        // Hold only the decoded index while the payload streams past.
        drop(plain_index);
        let announced = check_items(&index.items)
            .map_err(|(name, why)| OpenError::Malformed(format!("item {name:?}: {why}")))?;

        let key = PayloadKey::new(&ctx.export32(&[PAYLOAD_LABEL, &aad[..]].concat()));
        let (length, leaves, digests) =
            self.decrypt_chunks(&key, &aad, &index, announced, staging)?;
        let signed = self.read_trailer(&mut ctx, &aad)?;
        let manifest = signed.verify(sender).map_err(|e| match e {
            DocumentError::WrongSigner {
                found, expected, ..
            } => OpenError::ForeignSignature {
                signer: found,
                expected,
            },
            DocumentError::BadSignature { .. } => OpenError::BadSignature,
            DocumentError::Decode(DecodeError::UnsupportedVersion { found, .. }) => {
                OpenError::UnsupportedVersion {
                    what: "manifest",
                    found,
                }
            }
            other => OpenError::Malformed(format!("manifest: {other}")),
        })?;

        let mismatch = [
            (manifest.package_id != self.package_id, "package id"),
            (manifest.sender != self.header.sender, "sender key"),
            (manifest.recipient != self.header.recipient, "recipient key"),
            (manifest.length != length, "plaintext length"),
            (manifest.chunk_count != leaves.len(), "chunk count"),
            (manifest.root != leaves.root(), "Merkle root"),
            (manifest.items.len() != index.items.len(), "item count"),
        ];
        if let Some((_, what)) = mismatch.iter().find(|(bad, _)| *bad) {
            return Err(OpenError::ManifestMismatch(what));
        }
        for ((m, spec), digest) in manifest.items.iter().zip(&index.items).zip(&digests) {
            if &m.spec != spec {
                return Err(OpenError::ManifestMismatch("item description"));
            }
            if &m.sha256 != digest {
                return Err(OpenError::ManifestMismatch("item digest"));
            }
        }
        Ok((manifest, signed))
    }

    /// Decrypts every chunk record up to the final one, batch by batch, feeding staging, the
    /// Merkle leaves and the item digests.
    fn decrypt_chunks<S: Staging>(
        &mut self,
        key: &PayloadKey,
        aad: &[u8; 32],
        index: &ItemIndex,
        announced: u64,
        staging: &mut S,
    ) -> Result<(u64, RootBuilder, Vec<[u8; 32]>), OpenError> {
        let cs = self.header.chunk_size as usize;
        let slot = cs + TAG_LEN;
        // A batch holds at most the chunks the index announces, so small packages stay small.
        let expected_chunks = announced / cs as u64 + 1;
        let max_batch = batch_chunks(self.header.chunk_size);
        // (On a 32-bit target a huge announced length must not wrap to a zero-chunk batch.)
        let per_batch = usize::try_from(expected_chunks).map_or(max_batch, |e| e.min(max_batch));
        let mut batch = Zeroizing::new(vec![0u8; per_batch * slot]);
        let mut hashers = ItemHashers::new(index.items.iter().map(|i| i.length).collect());
        let mut leaves = RootBuilder::new();
        let mut leaf_buf = Vec::with_capacity(per_batch);
        let (mut counter, mut length) = (0u64, 0u64);
        let reader = &mut self.reader;
        loop {
            let slots = batch.chunks_mut(slot);
            let final_seen = hash_chunks(
                self.parallelism,
                per_batch * cs,
                &mut hashers,
                &mut leaf_buf,
                |feed| -> Result<bool, OpenError> {
                    for buf in slots {
                        let len = match read_record_header(reader)? {
                            Some((RECORD_CHUNK, len)) => len,
                            // A trailer (or the end) before a final chunk: the tail was cut off.
                            Some((RECORD_TRAILER, _)) | None => return Err(OpenError::Truncated),
                            Some((t, _)) => {
                                return Err(OpenError::Malformed(format!(
                                    "unexpected record type {t:#04x} in the payload"
                                )));
                            }
                        };
                        if !(TAG_LEN..=slot).contains(&len) {
                            return Err(OpenError::Malformed(format!(
                                "chunk record of {len} bytes; chunks are {TAG_LEN} to {slot} bytes"
                            )));
                        }
                        let is_final = len < slot;
                        let buf = &mut buf[..len];
                        read_exact_or_truncated(reader, buf)?;
                        let n = key
                            .open(counter, is_final, aad, buf)
                            .map_err(|_| OpenError::ChunkRejected { index: counter })?;
                        counter += 1;
                        length += n as u64;
                        if length > announced {
                            return Err(OpenError::ManifestMismatch(
                                "plaintext longer than the items announce",
                            ));
                        }
                        // Authenticated, not yet verified: to the hashes and to staging only.
                        let plaintext: &[u8] = buf;
                        let plaintext = &plaintext[..n];
                        feed(plaintext);
                        staging.write(plaintext)?;
                        if is_final {
                            return Ok(true);
                        }
                    }
                    Ok(false)
                },
            )?;
            for h in leaf_buf.drain(..) {
                leaves.push_leaf_hash(h);
            }
            if final_seen {
                break;
            }
        }
        let digests = hashers.finish().ok_or(OpenError::ManifestMismatch(
            "plaintext shorter than the items announce",
        ))?;
        Ok((length, leaves, digests))
    }

    /// Reads the trailer record, then checks that nothing follows it.
    fn read_trailer(
        &mut self,
        ctx: &mut ReceiverContext,
        aad: &[u8; 32],
    ) -> Result<Signed<Manifest>, OpenError> {
        let len = match read_record_header(&mut self.reader)? {
            Some((RECORD_TRAILER, len)) => len,
            Some((RECORD_CHUNK, _)) => return Err(OpenError::Extended),
            Some((t, _)) => {
                return Err(OpenError::Malformed(format!(
                    "expected the trailer record, found type {t:#04x}"
                )));
            }
            None => return Err(OpenError::MissingSignature),
        };
        let body = read_sealed_record(&mut self.reader, len, "trailer")?;
        let plain = ctx
            .open(&body, aad)
            .map_err(|_| OpenError::TrailerAltered)?;
        let signed = Signed::<Manifest>::decode(&plain)
            .map_err(|e| OpenError::Malformed(format!("trailer: {e}")))?;
        let mut probe = [0u8; 1];
        loop {
            match self.reader.read(&mut probe) {
                Ok(0) => return Ok(signed),
                Ok(_) => return Err(OpenError::Extended),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(OpenError::Io(e)),
            }
        }
    }
}

/// Which Merkle leaves the opener's helper thread hashes: every `n`-th. The helper hashes every
/// item byte (one sequential SHA-256 stream per item) plus this share of the leaves; the
/// caller's thread reads, decrypts and hashes the other leaves. One in six balances the two on
/// an AES-NI machine, where AES-GCM costs about a fifth of SHA-256 (measured with the
/// `package` bench). (The sealer shares its leaves dynamically instead: see `super::worker`.)
const OPEN_HELPER_LEAF_EVERY: usize = 6;

/// Batches smaller than this are hashed on the caller's thread: a spawn costs tens of
/// microseconds.
const MIN_PARALLEL_BATCH: usize = 256 * 1024;

/// Feeds one batch of chunks, in order, to the item digests and to the Merkle leaves.
///
/// `produce` is called once, on the caller's thread, with a `feed` function; it calls `feed`
/// with each chunk's plaintext right after decrypting it. With [`Parallelism::TwoThreads`] and a large enough
/// batch, a scoped helper thread hashes the items (and its share of the leaves) while
/// `produce` goes on; otherwise everything runs inline. `leaves` receives the batch's leaf
/// hashes in chunk order.
fn hash_chunks<'d, R>(
    parallelism: Parallelism,
    batch_bytes: usize,
    hashers: &mut ItemHashers,
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
        let (start_tx, start_rx) = std::sync::mpsc::channel::<&mut ItemHashers>();
        let helper = std::thread::Builder::new().spawn_scoped(s, move || {
            // The digests arrive only once the thread exists.
            let Ok(hashers) = start_rx.recv() else {
                return Vec::new();
            };
            let mut share = Vec::new();
            for (j, chunk) in rx.iter().enumerate() {
                hashers.update(chunk);
                if j.is_multiple_of(OPEN_HELPER_LEAF_EVERY) {
                    share.push(leaf_hash(chunk));
                }
            }
            share
        });
        // No thread to be had (a process limit, a platform without threads): work inline.
        let Ok(helper) = helper else {
            return produce(&mut |chunk| {
                hashers.update(chunk);
                leaves.push(leaf_hash(chunk));
            });
        };
        // The helper only stops receiving by panicking, which join() re-raises below.
        let _ = start_tx.send(hashers);
        let out = produce(&mut |chunk| {
            let j = leaves.len();
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
