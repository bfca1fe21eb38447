//! Audit-log events: what a node records, encoded once and hashed as a Merkle leaf.
//!
//! Each node keeps one append-only log of everything it does with a request or evidence
//! (`docs/audit-log.md`). An entry is one [`Event`], encoded canonically: its bytes are the
//! leaf, so the log's checkpoints commit to them exactly. Events name the actor, the time, the
//! kind of action with its digests, and the purpose — but never case data in clear: the case id
//! and every selector appear only as salted [`Commitment`]s. The node keeps the salts apart
//! from the log and reveals one (value and salt) to an auditor who needs to link an entry to a
//! case; without the salt, a commitment says nothing, even about a guessable identifier.

mod commitment;
mod event;

pub use commitment::{Commitment, SALT_LEN, Salt};
pub use event::{Actor, Event, EventKind, MAX_EVENT_SIZE, OpenRefusal, OutcomeKind};
