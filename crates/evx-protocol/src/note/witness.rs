//! Witnessing a peer's log: cosign a new checkpoint only if it extends the last one cosigned.
//!
//! Each party witnesses the other's audit log. Given the peer's newly signed checkpoint and a
//! consistency proof from the size it last cosigned, [`witness`] either cosigns (the history
//! only grew) or refuses. Only a [`Conflict`] — two checkpoints of the same size with different
//! roots, both signed by the peer's log key — is reported as misbehaviour: it proves itself to
//! anyone. A stale checkpoint (smaller than one already cosigned) or a proof that does not
//! check out is an ordinary refusal, as in C2SP tlog-witness: it may be a retransmission or a
//! corrupted message, and proves nothing.
//!
//! [`witness`] is pure. The caller must read the last state and store the new one as one
//! serialised compare-and-swap (in the same transaction that records the cosignature):
//! otherwise two concurrent calls could both pass against the same old state, and the witness
//! would cosign two trees that do not extend each other.

use super::checkpoint::{Checkpoint, CheckpointError};
use super::cosignature::{self, CosignatureError};
use super::key::{NoteSigner, NoteVerifier};
use super::signed::Note;
use crate::merkle::{Hash, VerifyError, verify_consistency};

/// The largest checkpoint note a witness accepts: evx checkpoints carry no extension lines
/// and a handful of signatures.
pub const MAX_CHECKPOINT_SIZE: usize = 16 * 1024;

/// The peer checkpoint last cosigned, with the note as cosigned and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The note: the checkpoint text, the log's signature and this witness's cosignature.
    pub note: Note,
    /// The cosignature's timestamp.
    pub cosigned_at: u64,
}

/// Two signed checkpoints of one log with the same size and different roots: a fork.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The checkpoint cosigned before, as a signed note.
    pub cosigned: String,
    /// The checkpoint offered now, as a signed note (the log's signature only).
    pub offered: String,
}

/// Why a checkpoint was not cosigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The offered checkpoint is malformed, too large or not signed by the peer's log key.
    #[error("the offered checkpoint is not valid: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// Smaller than the checkpoint already cosigned: send a proof from that size instead.
    #[error(
        "the witness has already cosigned a tree of {cosigned_size} entries; offer a larger one with a consistency proof from that size"
    )]
    Stale {
        /// The size cosigned.
        cosigned_size: u64,
    },
    /// The consistency proof does not show that the offered tree extends the cosigned one.
    #[error("the consistency proof from the cosigned size does not check out: {0}")]
    BadProof(VerifyError),
    /// The witness's clock is behind its last cosignature: cosigning now would contradict it.
    #[error("the clock ({now}) is behind the last cosignature ({last}); fix the clock")]
    ClockBehind {
        /// Now.
        now: u64,
        /// The last cosignature's timestamp.
        last: u64,
    },
    /// The peer's log forked: stop exchanging and report, with the proof.
    #[error("the peer's log forked: two signed trees of the same size with different roots")]
    Conflict(Box<Conflict>),
    /// The cosignature could not be made.
    #[error(transparent)]
    Cosign(#[from] CosignatureError),
}

/// Checks the peer's `offered` checkpoint (a signed note) against the last one cosigned and,
/// if it extends it, cosigns it at `now` (POSIX seconds) and returns the new state. With no
/// earlier state, the first checkpoint is trusted as it is (trust on first use). The returned
/// note carries only the checkpoint text, the log's signature and this witness's cosignature,
/// whatever else the offered note held.
pub fn witness(
    last: Option<&Witnessed>,
    offered: &[u8],
    proof: &[Hash],
    peer_log: &NoteVerifier,
    me: &NoteSigner,
    now: u64,
) -> Result<Witnessed, WitnessError> {
    if offered.len() > MAX_CHECKPOINT_SIZE {
        return Err(CheckpointError::Malformed("larger than a checkpoint note may be").into());
    }
    let (checkpoint, received) = Checkpoint::open(offered, peer_log)?;
    // Keep the text and the log's own signature lines; drop everything else.
    let mut note = Note::new(received.text()).map_err(CheckpointError::from)?;
    for sig in received
        .signatures()
        .iter()
        .filter(|s| s.name == peer_log.name() && s.key_id == peer_log.id())
    {
        note.push_signature(sig.clone())
            .map_err(CheckpointError::from)?;
    }
    if let Some(last) = last {
        if now < last.cosigned_at {
            return Err(WitnessError::ClockBehind {
                now,
                last: last.cosigned_at,
            });
        }
        let (old, new) = (&last.checkpoint, &checkpoint);
        if new.size < old.size {
            return Err(WitnessError::Stale {
                cosigned_size: old.size,
            });
        }
        if new.size == old.size && new.root != old.root {
            return Err(WitnessError::Conflict(Box::new(Conflict {
                cosigned: last.note.encode(),
                offered: note.encode(),
            })));
        }
        verify_consistency(old.size, new.size, &old.root, &new.root, proof)
            .map_err(WitnessError::BadProof)?;
    }
    cosignature::cosign(&mut note, me, now)?;
    Ok(Witnessed {
        checkpoint,
        note,
        cosigned_at: now,
    })
}
