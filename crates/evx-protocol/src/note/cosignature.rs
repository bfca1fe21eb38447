//! C2SP `tlog-cosignature` (Ed25519, signature type 0x04): a witness's statement that, at a
//! time, the checkpoint is the largest consistent tree head it has seen for the log.
//!
//! The signed message is `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's note
//! text; the signature line carries the key id, the 8-byte big-endian timestamp and the 64-byte
//! Ed25519 signature.

use super::key::{NoteSigner, NoteVerifier, SIG_COSIGNATURE};
use super::signed::{Note, NoteError, NoteSignature};
use crate::crypto::Signature;

/// The largest timestamp a cosignature may carry.
pub const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

fn message(timestamp: u64, text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

/// Why a cosignature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// The key is not a cosignature key.
    #[error("the key is not a cosignature key (signature type 0x04)")]
    WrongKeyType,
    /// The witness has not cosigned this note.
    #[error("no cosignature by {0}")]
    Missing(String),
    /// A cosignature by the witness does not verify.
    #[error(
        "the cosignature by {0} does not verify: the checkpoint was altered, or it was not cosigned"
    )]
    Bad(String),
    /// The timestamp is out of range.
    #[error("cosignature timestamps are at most 2^63 - 1")]
    BadTimestamp,
    /// The note could not take another signature.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// Cosigns `note` (a checkpoint) at `timestamp` (POSIX seconds), appending the signature line.
pub fn cosign(
    note: &mut Note,
    witness: &NoteSigner,
    timestamp: u64,
) -> Result<(), CosignatureError> {
    if witness.sig_type() != SIG_COSIGNATURE {
        return Err(CosignatureError::WrongKeyType);
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::BadTimestamp);
    }
    let sig = witness.sign_raw(&message(timestamp, note.text()));
    let mut blob = timestamp.to_be_bytes().to_vec();
    blob.extend_from_slice(&sig);
    note.push_signature(NoteSignature {
        name: witness.name().to_owned(),
        key_id: witness.id(),
        signature: blob,
    })?;
    Ok(())
}

/// Verifies the witness's cosignature on `note` and returns its timestamp.
pub fn verify(note: &Note, witness: &NoteVerifier) -> Result<u64, CosignatureError> {
    if witness.sig_type() != SIG_COSIGNATURE {
        return Err(CosignatureError::WrongKeyType);
    }
    let mut found = None;
    for sig in note
        .signatures()
        .iter()
        .filter(|s| s.name == witness.name() && s.key_id == witness.id())
    {
        let bad = || CosignatureError::Bad(witness.name().to_owned());
        if sig.signature.len() != 72 {
            return Err(bad());
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&sig.signature[..8]);
        let timestamp = u64::from_be_bytes(ts);
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::BadTimestamp);
        }
        let mut s = [0u8; 64];
        s.copy_from_slice(&sig.signature[8..]);
        witness
            .key()
            .verify(b"", &message(timestamp, note.text()), &Signature(s))
            .map_err(|_| bad())?;
        found = Some(found.map_or(timestamp, |t: u64| t.max(timestamp)));
    }
    found.ok_or_else(|| CosignatureError::Missing(witness.name().to_owned()))
}
