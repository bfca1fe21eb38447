//! Witnessing a peer's log: cosign a new checkpoint only if it extends the last one cosigned.
//!
//! Each party witnesses the other's audit log. Given the peer's newly signed checkpoint and a
//! consistency proof from the size it last cosigned, [`witness`] either cosigns (the history
//! only grew) or refuses with a [`Conflict`] that carries both signed checkpoints — the
//! portable proof a court or oversight body needs, since both are signed by the peer's log
//! key. The caller stores the returned state in the same transaction as it records the
//! cosignature, so that state and cosignatures never disagree.

use super::checkpoint::{Checkpoint, CheckpointError};
use super::cosignature::{self, CosignatureError};
use super::key::{NoteSigner, NoteVerifier};
use super::signed::Note;
use crate::merkle::{Hash, VerifyError, verify_consistency};

/// The peer checkpoint last cosigned, with the note as cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note, with this witness's cosignature appended.
    pub note: Note,
}

/// What kind of conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictKind {
    /// Two checkpoints of the same size with different roots: the log forked.
    Fork,
    /// A checkpoint smaller than one already cosigned: the log went back in time.
    Rollback,
    /// A larger checkpoint whose consistency with the cosigned one the proof does not show.
    Unproven,
}

/// Two signed checkpoints of one log that cannot both be honest, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// What kind.
    pub kind: ConflictKind,
    /// The checkpoint cosigned before, as a signed note.
    pub cosigned: String,
    /// The checkpoint offered now, as a signed note.
    pub offered: String,
    /// The consistency proof offered with it.
    pub proof: Vec<Hash>,
}

/// Why a checkpoint was not cosigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The offered checkpoint is malformed or not signed by the peer's log key: it proves
    /// nothing, and is simply refused.
    #[error("the offered checkpoint is not valid: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The proof is malformed (wrong length for the sizes): refused, not a conflict.
    #[error("the consistency proof is malformed: {0}")]
    Proof(VerifyError),
    /// The peer's history conflicts with what was cosigned: stop exchanging and report.
    #[error("conflict with the checkpoint cosigned before ({:?}): the peer's log history is not append-only", .0.kind)]
    Conflict(Box<Conflict>),
    /// The cosignature could not be made.
    #[error(transparent)]
    Cosign(#[from] CosignatureError),
}

/// Checks the peer's `offered` checkpoint (a signed note) against the last one cosigned and,
/// if it extends it, cosigns it at `now` (POSIX seconds) and returns the new state. With no
/// earlier state, the first checkpoint is trusted as it is (trust on first use).
pub fn witness(
    last: Option<&Witnessed>,
    offered: &[u8],
    proof: &[Hash],
    peer_log: &NoteVerifier,
    me: &NoteSigner,
    now: u64,
) -> Result<Witnessed, WitnessError> {
    let (checkpoint, mut note) = Checkpoint::open(offered, peer_log)?;
    if let Some(last) = last {
        let conflict = |kind| {
            WitnessError::Conflict(Box::new(Conflict {
                kind,
                cosigned: last.note.encode(),
                offered: String::from_utf8_lossy(offered).into_owned(),
                proof: proof.to_vec(),
            }))
        };
        let (old, new) = (&last.checkpoint, &checkpoint);
        if new.size < old.size {
            return Err(conflict(ConflictKind::Rollback));
        }
        if new.size == old.size && new.root != old.root {
            return Err(conflict(ConflictKind::Fork));
        }
        match verify_consistency(old.size, new.size, &old.root, &new.root, proof) {
            Ok(()) => {}
            Err(e @ VerifyError::WrongLength { .. }) => return Err(WitnessError::Proof(e)),
            Err(_) => return Err(conflict(ConflictKind::Unproven)),
        }
    }
    // Only this witness's own cosignature is added; earlier cosignatures by others stay.
    cosignature::cosign(&mut note, me, now)?;
    Ok(Witnessed { checkpoint, note })
}
