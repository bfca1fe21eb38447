//! C2SP `tlog-proof`: an offline-verifiable proof that an entry is in a log, as text.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the entry's bytes>
//! index <entry index>
//! <base64 inclusion-path hash, nearest first, one per line>
//!
//! <the signed checkpoint, verbatim, with its cosignatures>
//! ```
//!
//! evx always fills the optional `extra` line with the entry itself (the encoded audit event),
//! so that the proof carries what it proves: the verifier hashes the entry, checks the
//! inclusion path up to the checkpoint's root, the log's signature on the checkpoint and the
//! witnesses' cosignatures, with nothing but the public keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::checkpoint::{Checkpoint, CheckpointError};
use super::cosignature;
use super::key::NoteVerifier;
use super::signed::MAX_NOTE_SIZE;
use crate::merkle::{Hash, VerifyError, leaf_hash, verify_inclusion};

const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The largest proof accepted, in bytes: a checkpoint note and a path of at most 64 hashes,
/// plus the entry.
pub const MAX_PROOF_SIZE: usize = MAX_NOTE_SIZE + 64 * 1024;

/// A proof that an entry is in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogProof {
    /// The entry's bytes (the `extra` line).
    pub entry: Option<Vec<u8>>,
    /// Its index.
    pub index: u64,
    /// The inclusion path, nearest sibling first.
    pub path: Vec<Hash>,
    /// The signed checkpoint, with cosignatures, as text.
    pub checkpoint: String,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFormatError {
    /// Larger than [`MAX_PROOF_SIZE`].
    #[error("the proof is {0} bytes; at most {MAX_PROOF_SIZE} are accepted")]
    TooLarge(usize),
    /// Not a tlog-proof.
    #[error("not a c2sp.org/tlog-proof@v1: {0}")]
    Malformed(&'static str),
    /// The checkpoint is not signed by the log, or malformed.
    #[error("the proof's checkpoint is not valid: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The entry is missing.
    #[error("the proof carries no entry (no `extra` line)")]
    NoEntry,
    /// The inclusion path does not lead from the entry to the checkpoint's root.
    #[error("the entry is not at index {index} of the checkpointed tree: {source}")]
    NotIncluded {
        /// The index claimed.
        index: u64,
        /// Why.
        source: VerifyError,
    },
    /// Fewer witnesses cosigned than required.
    #[error("{found} of the required {required} witnesses cosigned the checkpoint")]
    TooFewCosignatures {
        /// Valid cosignatures by the given witnesses.
        found: usize,
        /// Required.
        required: usize,
    },
}

/// What a verified proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The checkpoint the entry is in.
    pub checkpoint: Checkpoint,
    /// The entry's index.
    pub index: u64,
    /// The entry's bytes.
    pub entry: Vec<u8>,
    /// The witnesses whose cosignatures verified, with their timestamps.
    pub cosigned_by: Vec<(String, u64)>,
}

impl LogProof {
    /// The proof as text.
    pub fn encode(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(e) = &self.entry {
            s.push_str(&format!("extra {}\n", STANDARD.encode(e)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.path {
            s.push_str(&STANDARD.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses a proof (the checkpoint is checked by [`LogProof::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, ProofFormatError> {
        use ProofFormatError::Malformed;
        if bytes.len() > MAX_PROOF_SIZE {
            return Err(ProofFormatError::TooLarge(bytes.len()));
        }
        let s = core::str::from_utf8(bytes).map_err(|_| Malformed("not UTF-8"))?;
        let (head, checkpoint) = s
            .split_once("\n\n")
            .ok_or(Malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(Malformed("the first line must be c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next();
        let mut entry = None;
        if let Some(extra) = line.and_then(|l| l.strip_prefix("extra ")) {
            entry = Some(
                STANDARD
                    .decode(extra)
                    .map_err(|_| Malformed("the extra line is not base64"))?,
            );
            line = lines.next();
        }
        let index = line
            .and_then(|l| l.strip_prefix("index "))
            .filter(|n| {
                !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && (*n == "0" || !n.starts_with('0'))
            })
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or(Malformed(
                "expected `index <n>` in decimal without leading zeros",
            ))?;
        let mut path = Vec::new();
        for l in lines {
            if path.len() == 64 {
                return Err(Malformed("an inclusion path has at most 64 hashes"));
            }
            let h: Hash = STANDARD
                .decode(l)
                .ok()
                .and_then(|h| h.try_into().ok())
                .ok_or(Malformed("each path line is the base64 of a 32-byte hash"))?;
            path.push(h);
        }
        Ok(Self {
            entry,
            index,
            path,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Verifies the proof with the log's key and the witnesses' cosignature keys: the checkpoint
    /// is signed by the log, at least `min_cosignatures` of the witnesses cosigned it, and the
    /// entry is at the index claimed in the checkpointed tree.
    pub fn verify(
        &self,
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
        min_cosignatures: usize,
    ) -> Result<Verified, ProofFormatError> {
        let (checkpoint, note) = Checkpoint::open(self.checkpoint.as_bytes(), log)?;
        let entry = self.entry.clone().ok_or(ProofFormatError::NoEntry)?;
        verify_inclusion(
            &leaf_hash(&entry),
            self.index,
            checkpoint.size,
            &self.path,
            &checkpoint.root,
        )
        .map_err(|source| ProofFormatError::NotIncluded {
            index: self.index,
            source,
        })?;
        // Each witness counts once, however often it is listed.
        let mut distinct: Vec<&NoteVerifier> = Vec::new();
        for w in witnesses {
            if !distinct
                .iter()
                .any(|d| d.name() == w.name() && d.id() == w.id())
            {
                distinct.push(w);
            }
        }
        let cosigned_by: Vec<(String, u64)> = distinct
            .iter()
            .filter_map(|w| {
                cosignature::verify(&note, w)
                    .ok()
                    .map(|t| (w.name().to_owned(), t))
            })
            .collect();
        if cosigned_by.len() < min_cosignatures {
            return Err(ProofFormatError::TooFewCosignatures {
                found: cosigned_by.len(),
                required: min_cosignatures,
            });
        }
        Ok(Verified {
            checkpoint,
            index: self.index,
            entry,
            cosigned_by,
        })
    }
}
