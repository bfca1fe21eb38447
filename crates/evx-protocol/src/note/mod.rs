//! C2SP signed notes, transparency-log checkpoints and cosignatures.
//!
//! The audit log publishes its tree heads as [checkpoints](checkpoint::Checkpoint) in the
//! C2SP `tlog-checkpoint` text format, signed as a C2SP `signed-note` with the node's Ed25519
//! log key, so that any standard verifier — Go's `golang.org/x/mod/sumdb/note`, the
//! transparency-dev tools — accepts them. The peer witnesses them with C2SP `tlog-cosignature`
//! Ed25519 cosignatures (signature type 0x04), which add a timestamp. Formats and limits are
//! those of the specifications; `docs/audit-log.md` sums them up.
//!
//! Note signatures are raw Ed25519 over the note text, as the specification requires, not
//! over evx's domain-separated document encoding. That cannot be confused with a document
//! signature: every evx document domain contains a NUL byte, which note text may never hold,
//! and the log key is a key of its own.

pub mod checkpoint;
pub mod cosignature;
mod key;
pub mod proof;
mod signed;
pub mod witness;

pub use key::{KeyError, NoteSigner, NoteVerifier, SIG_COSIGNATURE, SIG_ED25519, key_id};
pub use signed::{MAX_NOTE_SIZE, MAX_SIGNATURES, Note, NoteError, NoteSignature};
