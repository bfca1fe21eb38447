//! Cross-party witnessing: each node cosigns the other's audit-log checkpoints, so that neither
//! can later show a history different from the one the other has seen.
//!
//! On a witnessing stream a node offers its latest signed checkpoint with a consistency proof
//! from the size it believes the peer last cosigned ([`WitnessRequest`]); the peer, as witness,
//! answers with the cosigned note, or with the size it really last cosigned so that the offer
//! can be made again with the right proof ([`Cosigned`]). A fork — a checkpoint that does not
//! extend the one cosigned — is answered with an error report (`CONFLICT`) and recorded with
//! both signed checkpoints. The choreography is in `docs/protocol.md` §3.0.
//!
//! Acknowledgements and receipts carry the entry they are about, its inclusion path and the
//! signed checkpoint it leads to ([`crate::document::LogEntryRef`]); [`verify_entry`] checks
//! all three against the sender's log key.

use serde::{Deserialize, Serialize};

use crate::audit::Event;
use crate::canonical::{self, DecodeError};
use crate::document::LogEntryRef;
use crate::merkle::{self, Hash};
use crate::note::NoteVerifier;
use crate::note::checkpoint::Checkpoint;
use crate::note::witness::MAX_CHECKPOINT_SIZE;

/// The longest proof accepted: a tree of 2⁶⁴ entries needs at most 64 hashes (consistency
/// proofs one more).
pub const MAX_PROOF_HASHES: usize = 65;

/// "Cosign my checkpoint": the sender's latest signed checkpoint and a consistency proof from
/// `old_size`, the size it believes the witness last cosigned (0: none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessRequest {
    /// Version (1).
    pub v: u8,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// The size the proof starts from.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
}

/// The witness's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cosigned {
    /// Version (1).
    pub v: u8,
    /// The checkpoint as cosigned (the log's signature and the witness's cosignature), or
    /// `None` if the offer's proof did not start from the size the witness last cosigned.
    pub note: Option<String>,
    /// The size of the sender's tree the witness has last cosigned (0: none): where the proof
    /// of a new offer must start.
    pub cosigned_size: u64,
}

/// The largest encoding of either message.
pub const MAX_MESSAGE: usize = MAX_CHECKPOINT_SIZE + MAX_PROOF_HASHES * 32 + 64;

fn decode_v1<T>(what: &'static str, bytes: &[u8], v: fn(&T) -> u8) -> Result<T, DecodeError>
where
    T: Serialize + serde::de::DeserializeOwned,
{
    let m: T = canonical::decode(what, bytes)?;
    if v(&m) != 1 {
        return Err(DecodeError::UnsupportedVersion {
            what,
            found: v(&m),
            supported: 1,
        });
    }
    Ok(m)
}

impl WitnessRequest {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        canonical::encode(self)
    }

    /// Decodes the canonical encoding of version 1; the proof's length is bounded.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let m = decode_v1::<Self>("witness request", bytes, |m| m.v)?;
        if m.proof.len() > MAX_PROOF_HASHES {
            return Err(DecodeError::Malformed {
                what: "witness request",
                detail: format!("a proof of {} hashes", m.proof.len()),
            });
        }
        Ok(m)
    }
}

impl Cosigned {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        canonical::encode(self)
    }

    /// Decodes the canonical encoding of version 1.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_v1::<Self>("cosigned checkpoint", bytes, |m| m.v)
    }
}

/// Why a log entry reference did not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProofError {
    /// The checkpoint is malformed or not signed by the sender's log key.
    #[error("the checkpoint is not the sender's: {0}")]
    Checkpoint(String),
    /// The reference's size or root is not the checkpoint's.
    #[error("the reference names tree size {size}, but its checkpoint is of another tree")]
    OtherTree {
        /// The size named.
        size: u64,
    },
    /// The entry is not an audit event.
    #[error("the entry is not an audit event: {0}")]
    Entry(DecodeError),
    /// The inclusion path does not lead from the entry to the checkpoint's root.
    #[error("the entry's inclusion proof does not verify: {0}")]
    Inclusion(merkle::VerifyError),
}

/// Checks a log entry reference against the sender's log key: the checkpoint is signed by that
/// log, the reference's size and root are the checkpoint's, and the entry's inclusion path
/// leads to that root. Returns the event recorded, for the caller to check what it says.
pub fn verify_entry(entry: &LogEntryRef, log_key: &NoteVerifier) -> Result<Event, EntryProofError> {
    let (checkpoint, _) = Checkpoint::open(entry.checkpoint.as_bytes(), log_key)
        .map_err(|e| EntryProofError::Checkpoint(e.to_string()))?;
    if checkpoint.size != entry.tree_size || checkpoint.root != entry.root {
        return Err(EntryProofError::OtherTree {
            size: entry.tree_size,
        });
    }
    let event = Event::decode(&entry.entry).map_err(EntryProofError::Entry)?;
    merkle::verify_inclusion(
        &merkle::leaf_hash(&entry.entry),
        entry.index,
        entry.tree_size,
        &entry.path,
        &entry.root,
    )
    .map_err(EntryProofError::Inclusion)?;
    Ok(event)
}
