//! The smaller documents of a request's life: acknowledgement, preservation confirmation,
//! extension, withdrawal and receipt.

use serde::{Deserialize, Serialize};

use super::document;
use crate::ids::{PackageId, RequestId, UnixTime};

/// Where a document was recorded in a party's audit log: the entry itself (an audit event:
/// salted commitments, no case data), its RFC 9162 inclusion path in the tree of the given
/// size and root, and the log's signed checkpoint of that tree — everything the recipient needs
/// to check, with the sender's log key alone, that the entry is in the log
/// (`witnessing::verify_entry`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntryRef {
    /// The entry's index.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// That tree's root hash.
    pub root: [u8; 32],
    /// The inclusion path, leaf to root.
    pub path: Vec<[u8; 32]>,
    /// The entry: the encoded audit event.
    pub entry: Vec<u8>,
    /// The log's signed checkpoint of the tree of `tree_size` (a C2SP signed note).
    pub checkpoint: String,
}

/// The requested party's immediate answer: "we have received and recorded this request".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// Document version (1).
    pub v: u8,
    /// The request acknowledged.
    pub request_id: RequestId,
    /// SHA-256 of the signed request exactly as received ([`super::Signed::digest`]).
    pub request_digest: [u8; 32],
    /// When it was received.
    pub received_at: UnixTime,
    /// Where the receipt of the request is recorded in the requested party's log.
    pub log_entry: Option<LogEntryRef>,
}
document!(Acknowledgement, "acknowledgement", 64 * 1024);

/// Confirms that data are preserved (Budapest Art. 29; EPOC-PR).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreservationConfirmation {
    /// Document version (1).
    pub v: u8,
    /// The preservation request.
    pub request_id: RequestId,
    /// When the hold was placed.
    pub preserved_at: UnixTime,
    /// When the hold ends unless extended or followed up.
    pub expires_at: UnixTime,
    /// How many more extensions the agreement allows.
    pub extensions_remaining: u32,
    /// How many records the hold covers.
    pub records_preserved: u64,
}
document!(
    PreservationConfirmation,
    "preservation-confirmation",
    16 * 1024
);

/// Asks to extend a preservation hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Document version (1).
    pub v: u8,
    /// This extension request's own id.
    pub request_id: RequestId,
    /// The preservation request whose hold is to be extended.
    pub preservation_ref: RequestId,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// By how many days.
    pub extend_by_days: u32,
    /// Why the hold is still needed (e.g. the production request is on its way).
    pub reason: String,
}
document!(Extension, "extension", 16 * 1024);

/// Why a request is withdrawn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WithdrawalReason {
    /// The requesting authority no longer needs the data.
    NoLongerNeeded,
    /// An emergency order was not validated in time (EU Art. 4(5)): data are unusable.
    ValidationNotReceived,
    /// Another reason, in words.
    Other(String),
}

/// Withdraws a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// Document version (1).
    pub v: u8,
    /// The request withdrawn.
    pub request_id: RequestId,
    /// When.
    pub withdrawn_at: UnixTime,
    /// Why.
    pub reason: WithdrawalReason,
    /// Whether data already delivered must be treated as unusable and deleted.
    pub data_unusable: bool,
}
document!(Withdrawal, "withdrawal", 16 * 1024);

/// The requesting party's receipt for a delivered evidence package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Document version (1).
    pub v: u8,
    /// The request the package answers.
    pub request_id: RequestId,
    /// The package received (its header digest `H`).
    pub package_id: PackageId,
    /// When it was received and verified.
    pub received_at: UnixTime,
    /// The plaintext length stated by the verified manifest.
    pub length: u64,
    /// The plaintext Merkle root stated by the verified manifest.
    pub root: [u8; 32],
    /// Where the receipt of the package is recorded in the requesting party's log.
    pub log_entry: Option<LogEntryRef>,
}
document!(Receipt, "receipt", 64 * 1024);
