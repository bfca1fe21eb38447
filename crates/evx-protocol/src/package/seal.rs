//! Sealing: one pass, constant memory.

use std::io::{self, Write};
use std::sync::Arc;

use super::header::{PackageHeader, PackageParams, SUITE_V1, chunk_size_ok};
use super::items::{EvidenceItem, ItemHashers, ItemIndex, ItemSpec, Manifest, check_items};
use super::worker::{Batch, HashWorker};
use super::{
    HPKE_INFO, MAGIC, MAX_HEADER, MAX_ITEMS, MAX_SEALED_RECORD, PAYLOAD_LABEL, Parallelism,
    RECORD_CHUNK, RECORD_HEADER, RECORD_INDEX, RECORD_TRAILER, batch_chunks,
};
use crate::canonical;
use crate::crypto::aead::{PayloadKey, TAG_LEN};
use crate::crypto::hpke::{SenderContext, setup_sender};
use crate::crypto::{HpkePublicKey, SigningKey};
use crate::document::{Document, Signed};
use crate::ids::PackageId;
use crate::merkle::RootBuilder;

/// Why a package could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Writing the package failed.
    #[error("writing the package failed: {0}")]
    Io(#[from] io::Error),
    /// The chunk size is not a power of two from 4 KiB to 1 MiB.
    #[error("chunk size {0} is invalid: use a power of two from 4096 to 1048576 (default 65536)")]
    BadChunkSize(u32),
    /// An item's name cannot become a file name, repeats another's, or a text field holds
    /// control characters.
    #[error("item {name:?} is invalid: {why}")]
    BadItem {
        /// The item's name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Too many items for one package.
    #[error(
        "{0} items is more than one package holds ({MAX_ITEMS}); split them over several packages"
    )]
    TooManyItems(usize),
    /// The header or the manifest would exceed its size limit.
    #[error(
        "the package {0} is too large: shorten item names, media types or notes, or split the package"
    )]
    MetadataTooLarge(&'static str),
    /// More bytes were written than the items announced.
    #[error("{written} bytes written but the items announce only {announced}")]
    TooMuchData {
        /// Bytes written so far.
        written: u64,
        /// The sum of the items' lengths.
        announced: u64,
    },
    /// Fewer bytes were written than the items announced.
    #[error("only {written} bytes written but the items announce {announced}")]
    TooLittleData {
        /// Bytes written.
        written: u64,
        /// The sum of the items' lengths.
        announced: u64,
    },
    /// HPKE refused the recipient's key (a low-order point).
    #[error(
        "the recipient's HPKE public key is unusable (low-order point); check the peer registry"
    )]
    BadRecipientKey,
    /// An earlier write failed part-way: the package is incomplete and cannot be finished.
    #[error("an earlier write to this package failed; discard the partial output and seal again")]
    Poisoned,
}

/// A sealed package's identity and manifest, returned by [`Sealer::finish`].
#[derive(Debug)]
pub struct Sealed<W> {
    /// `H`, the package id.
    pub package_id: PackageId,
    /// The manifest as signed.
    pub manifest: Manifest,
    /// Total bytes of package written.
    pub package_len: u64,
    /// The writer, handed back.
    pub writer: W,
}

/// Ways to build a deliberately broken package, for the test vectors only.
#[cfg(feature = "forgery")]
#[derive(Debug)]
pub enum Forgery {
    /// Sign the manifest with another key.
    SignWith(Box<SigningKey>),
    /// Flip a bit of the manifest signature.
    CorruptSignature,
    /// Record a wrong digest for the first item.
    WrongItemDigest,
}

/// Seals evidence into an EVX1 package, streaming. Dropping a sealer without calling
/// [`Sealer::finish`] leaves a package without its signed trailer, which no reader opens.
///
/// Create it with the items it will carry (their lengths must be known, so the opener can hash
/// each one as it streams past), write the items' bytes in order through [`Write`] or
/// [`Sealer::write_payload`], then call [`Sealer::finish`]. Output is written as soon as a batch
/// of chunks is full, so memory stays at three 4 MiB batch buffers (two on one thread) whatever
/// the package size.
#[must_use = "a package is only complete once `finish` has written its signed trailer"]
pub struct Sealer<W: Write> {
    out: W,
    header: PackageHeader,
    package_id: PackageId,
    ctx: SenderContext,
    key: PayloadKey,
    signer: SigningKey,
    items: Vec<ItemSpec>,
    /// The item digests, while no helper thread holds them.
    hashers: Option<ItemHashers>,
    worker: Option<HashWorker>,
    announced: u64,
    written: u64,
    counter: u64,
    leaves: RootBuilder,
    pending: Vec<u8>,
    records: Vec<u8>,
    batch_bytes: usize,
    package_len: u64,
    parallelism: Parallelism,
    /// Set while a batch is being written; still set if that failed.
    poisoned: bool,
}

impl<W: Write> Sealer<W> {
    /// Starts a package: writes the header and the sealed item index.
    pub fn new(
        mut out: W,
        params: PackageParams,
        items: Vec<ItemSpec>,
        sender: &SigningKey,
        recipient: &HpkePublicKey,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Self, SealError> {
        if !chunk_size_ok(params.chunk_size) {
            return Err(SealError::BadChunkSize(params.chunk_size));
        }
        if items.len() > MAX_ITEMS {
            return Err(SealError::TooManyItems(items.len()));
        }
        let announced =
            check_items(&items).map_err(|(name, why)| SealError::BadItem { name, why })?;

        let (enc, mut ctx) =
            setup_sender(recipient, HPKE_INFO, rng).map_err(|_| SealError::BadRecipientKey)?;
        let header = PackageHeader {
            v: 1,
            suite: SUITE_V1,
            chunk_size: params.chunk_size,
            sender: sender.id(),
            recipient: recipient.id(),
            sender_party: params.sender_party,
            recipient_party: params.recipient_party,
            case_id: params.case_id,
            request_id: params.request_id,
            purpose: params.purpose,
            conditions: params.conditions,
            created_at: params.created_at,
            enc,
        };
        let header_bytes = header.encode();
        if header_bytes.len() > MAX_HEADER {
            return Err(SealError::MetadataTooLarge("header"));
        }
        let package_id = PackageHeader::package_id_of(&header_bytes);
        let key = PayloadKey::new(&ctx.export32(&[PAYLOAD_LABEL, &package_id.0[..]].concat()));

        let index = canonical::encode(&ItemIndex {
            v: 1,
            items: items.clone(),
        });
        if index.len() + TAG_LEN > MAX_SEALED_RECORD {
            return Err(SealError::MetadataTooLarge("item index"));
        }
        // The manifest's size is known now (digests and root are fixed-size): refuse here
        // rather than after gigabytes of payload.
        let manifest_len = canonical::encode(&Manifest {
            v: 1,
            package_id,
            sender: sender.id(),
            recipient: recipient.id(),
            length: announced,
            chunk_count: announced / u64::from(params.chunk_size) + 1,
            root: [0; 32],
            items: items
                .iter()
                .map(|spec| EvidenceItem {
                    spec: spec.clone(),
                    sha256: [0; 32],
                })
                .collect(),
        })
        .len();
        if manifest_len > <Manifest as Document>::MAX_SIZE {
            return Err(SealError::MetadataTooLarge("manifest"));
        }
        let sealed_index = ctx
            .seal(&index, &package_id.0)
            .unwrap_or_else(|_| unreachable!("the first seal of a fresh HPKE context cannot fail"));

        let mut start =
            Vec::with_capacity(6 + header_bytes.len() + RECORD_HEADER + sealed_index.len());
        start.extend_from_slice(MAGIC);
        start.extend_from_slice(&(header_bytes.len() as u16).to_be_bytes());
        start.extend_from_slice(&header_bytes);
        push_record(&mut start, RECORD_INDEX, &sealed_index);
        out.write_all(&start)?;

        let cs = params.chunk_size as usize;
        let batch_bytes = batch_chunks(params.chunk_size) * cs;
        let first_batch = usize::try_from(announced).map_or(batch_bytes, |a| a.min(batch_bytes));
        Ok(Self {
            out,
            hashers: Some(ItemHashers::new(items.iter().map(|i| i.length).collect())),
            worker: None,
            header,
            package_id,
            ctx,
            key,
            signer: sender.clone(),
            items,
            announced,
            written: 0,
            counter: 0,
            leaves: RootBuilder::new(),
            // Sized to the package: sealing many small packages should not reserve 8 MiB each.
            pending: Vec::with_capacity(first_batch),
            records: Vec::with_capacity(
                first_batch + (first_batch / cs + 1) * (RECORD_HEADER + TAG_LEN),
            ),
            batch_bytes,
            package_len: start.len() as u64,
            parallelism: Parallelism::default(),
            poisoned: false,
        })
    }

    /// Chooses whether hashing may use a second thread.
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The header as written.
    pub fn header(&self) -> &PackageHeader {
        &self.header
    }

    /// `H`, the package id.
    pub fn package_id(&self) -> PackageId {
        self.package_id
    }

    /// Appends payload bytes (the items' bytes, in order).
    pub fn write_payload(&mut self, mut data: &[u8]) -> Result<(), SealError> {
        if self.poisoned {
            return Err(SealError::Poisoned);
        }
        let written = self.written.saturating_add(data.len() as u64);
        if written > self.announced {
            return Err(SealError::TooMuchData {
                written,
                announced: self.announced,
            });
        }
        self.poisoned = true;
        self.written = written;
        while !data.is_empty() {
            let room = self.batch_bytes - self.pending.len();
            let n = room.min(data.len());
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.pending.len() == self.batch_bytes {
                self.flush_batch(false)?;
            }
        }
        self.poisoned = false;
        Ok(())
    }

    /// Encrypts and writes the pending bytes as chunks. Every full chunk is non-final (the
    /// final chunk is always shorter than a full one); with `last`, the remainder — possibly
    /// empty — becomes the final chunk.
    fn flush_batch(&mut self, last: bool) -> Result<(), SealError> {
        let cs = self.header.chunk_size as usize;
        // A helper is worth its thread only for packages of a batch or more.
        if self.worker.is_none()
            && self.parallelism == Parallelism::TwoThreads
            && self.announced >= self.batch_bytes as u64
            && let Some(hashers) = self.hashers.take()
        {
            match HashWorker::spawn(hashers) {
                Ok(worker) => self.worker = Some(worker),
                // No thread to be had: seal on this one.
                Err(hashers) => {
                    self.hashers = Some(*hashers);
                    self.parallelism = Parallelism::SingleThread;
                }
            }
        }
        let spare = self.collect_helper_leaves();
        let batch = Arc::new(Batch::new(
            core::mem::replace(&mut self.pending, spare),
            cs,
            last,
        ));
        if let Some(worker) = &mut self.worker {
            worker.submit(Arc::clone(&batch));
        }
        if let Some(hashers) = &mut self.hashers {
            hashers.update(batch.data());
        }
        self.records.clear();
        for j in 0..batch.chunk_count() {
            let chunk = batch.chunk(j);
            let start = self.records.len();
            self.records.push(RECORD_CHUNK);
            self.records
                .extend_from_slice(&((chunk.len() + TAG_LEN) as u32).to_be_bytes());
            self.records.extend_from_slice(chunk);
            let is_final = last && chunk.len() < cs;
            self.key.seal(
                self.counter,
                is_final,
                &self.package_id.0,
                &mut self.records,
                start + RECORD_HEADER,
            );
            self.counter += 1;
        }
        if self.worker.is_some() {
            // The helper goes on with this batch while the caller copies the next one in; the
            // leaves it has not claimed by then are shared out when that one is handed over.
            drop(batch);
            self.pending.reserve(self.batch_bytes);
        } else {
            for (_, h) in batch.claim_leaves() {
                self.leaves.push_leaf_hash(h);
            }
            self.pending = batch.into_buffer_if_unshared();
        }
        self.out.write_all(&self.records)?;
        self.package_len += self.records.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Waits for the helper's share of the previous batch, adds that batch's leaves to the tree
    /// and returns its buffer for reuse (an empty buffer if there was none).
    fn collect_helper_leaves(&mut self) -> Vec<u8> {
        let Some((leaves, mut buffer)) = self.worker.as_mut().and_then(HashWorker::collect) else {
            return Vec::new();
        };
        leaves
            .into_iter()
            .for_each(|h| self.leaves.push_leaf_hash(h));
        buffer.clear();
        buffer
    }

    /// Writes the final chunk and the signed, sealed trailer.
    pub fn finish(self) -> Result<Sealed<W>, SealError> {
        self.finish_inner(|_| {}, None, false)
    }

    /// Like [`Sealer::finish`], but breaks the package in the given way (test vectors only).
    #[cfg(feature = "forgery")]
    pub fn finish_forged(self, forgery: Forgery) -> Result<Sealed<W>, SealError> {
        match forgery {
            Forgery::SignWith(key) => self.finish_inner(|_| {}, Some(*key), false),
            Forgery::CorruptSignature => self.finish_inner(|_| {}, None, true),
            Forgery::WrongItemDigest => {
                self.finish_inner(|m| m.items[0].sha256[0] ^= 1, None, false)
            }
        }
    }

    fn finish_inner(
        mut self,
        tamper: impl FnOnce(&mut Manifest),
        other_signer: Option<SigningKey>,
        corrupt_signature: bool,
    ) -> Result<Sealed<W>, SealError> {
        if self.poisoned {
            return Err(SealError::Poisoned);
        }
        if self.written != self.announced {
            return Err(SealError::TooLittleData {
                written: self.written,
                announced: self.announced,
            });
        }
        self.flush_batch(true)?;
        self.collect_helper_leaves();
        let hashers = match self.worker.take() {
            Some(worker) => worker.finish(),
            None => self
                .hashers
                .take()
                .unwrap_or_else(|| unreachable!("held by us or the helper")),
        };
        let digests = hashers
            .finish()
            .unwrap_or_else(|| unreachable!("written == announced, so every item is complete"));
        let mut manifest = Manifest {
            v: 1,
            package_id: self.package_id,
            sender: self.header.sender,
            recipient: self.header.recipient,
            length: self.written,
            chunk_count: self.leaves.len(),
            root: self.leaves.root(),
            items: core::mem::take(&mut self.items)
                .into_iter()
                .zip(digests)
                .map(|(spec, sha256)| EvidenceItem { spec, sha256 })
                .collect(),
        };
        tamper(&mut manifest);
        let signer = other_signer.as_ref().unwrap_or(&self.signer);
        let signed = Signed::sign(&manifest, signer).unwrap_or_else(|e| {
            unreachable!("the manifest's size was checked in Sealer::new: {e}")
        });
        let mut signed = signed.encode();
        if corrupt_signature {
            signed[32] ^= 1;
        }
        let trailer = self
            .ctx
            .seal(&signed, &self.package_id.0)
            .unwrap_or_else(|_| unreachable!("the second seal of an HPKE context cannot fail"));
        let mut rec = Vec::with_capacity(RECORD_HEADER + trailer.len());
        push_record(&mut rec, RECORD_TRAILER, &trailer);
        self.out.write_all(&rec)?;
        self.out.flush()?;
        Ok(Sealed {
            package_id: self.package_id,
            manifest,
            package_len: self.package_len + rec.len() as u64,
            writer: self.out,
        })
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_payload(buf).map_err(|e| match e {
            SealError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn push_record(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
}
