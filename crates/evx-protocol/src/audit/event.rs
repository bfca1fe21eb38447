//! The event encoded in each audit-log entry.

use serde::{Deserialize, Serialize};

use super::commitment::Commitment;
use crate::canonical::{self, DecodeError};
use crate::ids::{KeyId, PackageId, PartyId, RequestId, UnixTime};
use crate::purpose::Purpose;

/// The largest encoded event, in bytes, checked before decoding.
pub const MAX_EVENT_SIZE: usize = 16 * 1024;

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The party whose node recorded the event.
    pub party: PartyId,
    /// The person or service that acted, as the node names it (an operator account, a
    /// reviewer, `policy-engine`, `sequencer`).
    pub by: String,
}

/// A decision's outcome, without its details (those are in the signed decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutcomeKind {
    /// Accepted.
    Accept,
    /// Executed in part.
    Partial,
    /// Returned as incomplete.
    Incomplete,
    /// Refused.
    Refuse,
    /// Waiting for a reviewer.
    PendingReview,
    /// Postponed.
    Postponed,
}

impl From<&crate::document::Outcome> for OutcomeKind {
    /// What the log records of a decision's outcome.
    fn from(outcome: &crate::document::Outcome) -> Self {
        use crate::document::Outcome;
        match outcome {
            Outcome::Accept { .. } => Self::Accept,
            Outcome::Partial { .. } => Self::Partial,
            Outcome::Incomplete { .. } => Self::Incomplete,
            Outcome::Refuse { .. } => Self::Refuse,
            Outcome::PendingReview { .. } => Self::PendingReview,
            Outcome::Postponed { .. } => Self::Postponed,
        }
    }
}

/// Why opening a package was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpenRefusal {
    /// The declared case or purpose is not one the package allows.
    Purpose,
    /// The package failed verification (altered, truncated, forged).
    Integrity,
    /// The package's retention has expired.
    Expired,
    /// The request was withdrawn and its data declared unusable.
    Withdrawn,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A request was created and signed (requesting side).
    RequestCreated {
        /// SHA-256 of the signed request.
        request_digest: [u8; 32],
    },
    /// A request was sent.
    RequestSent {
        /// SHA-256 of the signed request.
        request_digest: [u8; 32],
        /// To whom.
        to: PartyId,
    },
    /// A request was received (requested side).
    RequestReceived {
        /// SHA-256 of the signed request as received.
        request_digest: [u8; 32],
        /// From whom.
        from: PartyId,
    },
    /// An acknowledgement was sent (requested side).
    AcknowledgementSent {
        /// SHA-256 of the signed acknowledgement.
        acknowledgement_digest: [u8; 32],
    },
    /// An acknowledgement was received (requesting side).
    AcknowledgementReceived {
        /// SHA-256 of the signed acknowledgement.
        acknowledgement_digest: [u8; 32],
    },
    /// A decision was made or received.
    Decision {
        /// SHA-256 of the signed decision.
        decision_digest: [u8; 32],
        /// Its outcome.
        outcome: OutcomeKind,
        /// The digest of the policy engine's rule trace, if the engine evaluated the request.
        trace_digest: Option<[u8; 32]>,
    },
    /// A reviewer decided.
    ReviewDecision {
        /// SHA-256 of the signed review decision.
        review_digest: [u8; 32],
        /// The trace reviewed.
        trace_digest: [u8; 32],
    },
    /// A preservation hold was placed.
    PreservationPlaced {
        /// When it ends unless extended.
        expires_at: UnixTime,
        /// How many records it covers.
        records: u64,
    },
    /// A hold was extended.
    PreservationExtended {
        /// The new end.
        expires_at: UnixTime,
    },
    /// A hold ended.
    PreservationExpired,
    /// A package was sealed.
    PackageSealed {
        /// Its id.
        package_id: PackageId,
        /// Its plaintext length.
        length: u64,
    },
    /// A package was delivered to the requesting party.
    PackageDelivered {
        /// Its id.
        package_id: PackageId,
    },
    /// A package was received and verified.
    PackageReceived {
        /// Its id.
        package_id: PackageId,
    },
    /// A package was opened, for the purpose recorded in the event.
    PackageOpened {
        /// Its id.
        package_id: PackageId,
    },
    /// Opening a package was refused.
    OpenRefused {
        /// Its id.
        package_id: PackageId,
        /// Why.
        reason: OpenRefusal,
    },
    /// A receipt was sent (requesting side).
    ReceiptSent {
        /// SHA-256 of the signed receipt.
        receipt_digest: [u8; 32],
    },
    /// A receipt was received (requested side).
    ReceiptReceived {
        /// SHA-256 of the signed receipt.
        receipt_digest: [u8; 32],
    },
    /// Evidence was deleted at the end of its retention.
    RetentionDeletion {
        /// The package deleted.
        package_id: PackageId,
    },
    /// A key was replaced.
    KeyRotation {
        /// What the key is for (`documents`, `hpke`, `log`, `tls`).
        role: String,
        /// The old key.
        old: KeyId,
        /// The new key.
        new: KeyId,
    },
    /// The agreement in force changed.
    AgreementChange {
        /// Its id.
        agreement_id: String,
        /// Its new digest.
        digest: [u8; 32],
    },
    /// The peer's checkpoint was cosigned.
    CheckpointCosigned {
        /// The peer log's origin.
        origin: String,
        /// The size cosigned.
        size: u64,
        /// Its root.
        root: [u8; 32],
    },
    /// The peer's log conflicts with what was cosigned: exchanges with it stop.
    ConflictDetected {
        /// The peer log's origin.
        origin: String,
        /// SHA-256 of the conflict proof as stored.
        proof_digest: [u8; 32],
    },
    /// A review was not decided by its due date: escalated (nothing is released).
    ReviewOverdue {
        /// When it was due.
        due_at: UnixTime,
    },
    /// A judicial validation of a request already received arrived (and verified).
    ValidationReceived {
        /// SHA-256 of the signed validation.
        validation_digest: [u8; 32],
    },
    /// A request was withdrawn (e.g. an emergency request whose validation did not arrive in
    /// time): sent by the requested side, received by the requesting side.
    Withdrawn {
        /// SHA-256 of the signed withdrawal.
        withdrawal_digest: [u8; 32],
        /// Data already delivered must be treated as unusable.
        data_unusable: bool,
    },
    /// A preservation hold was released: a production request citing it was executed from
    /// the preserved copy.
    PreservationReleased {
        /// The production request.
        by: RequestId,
    },
    /// A consent to use evidence beyond its transfer was asked for (requesting side: sent;
    /// requested side: received).
    ConsentRequested {
        /// SHA-256 of the signed consent request.
        consent_digest: [u8; 32],
    },
    /// A consent was decided (requested side: by a reviewer; requesting side: received).
    ConsentDecided {
        /// SHA-256 of the signed consent decision.
        decision_digest: [u8; 32],
        /// Granted or refused.
        granted: bool,
    },
}

impl EventKind {
    /// The kind's name, e.g. `request_received`, as `evx audit show` prints and filters it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RequestCreated { .. } => "request_created",
            Self::RequestSent { .. } => "request_sent",
            Self::RequestReceived { .. } => "request_received",
            Self::AcknowledgementSent { .. } => "acknowledgement_sent",
            Self::AcknowledgementReceived { .. } => "acknowledgement_received",
            Self::Decision { .. } => "decision",
            Self::ReviewDecision { .. } => "review_decision",
            Self::PreservationPlaced { .. } => "preservation_placed",
            Self::PreservationExtended { .. } => "preservation_extended",
            Self::PreservationExpired { .. } => "preservation_expired",
            Self::PackageSealed { .. } => "package_sealed",
            Self::PackageDelivered { .. } => "package_delivered",
            Self::PackageReceived { .. } => "package_received",
            Self::PackageOpened { .. } => "package_opened",
            Self::OpenRefused { .. } => "open_refused",
            Self::ReceiptSent { .. } => "receipt_sent",
            Self::ReceiptReceived { .. } => "receipt_received",
            Self::RetentionDeletion { .. } => "retention_deletion",
            Self::KeyRotation { .. } => "key_rotation",
            Self::AgreementChange { .. } => "agreement_change",
            Self::CheckpointCosigned { .. } => "checkpoint_cosigned",
            Self::ConflictDetected { .. } => "conflict_detected",
            Self::ReviewOverdue { .. } => "review_overdue",
            Self::ValidationReceived { .. } => "validation_received",
            Self::Withdrawn { .. } => "withdrawn",
            Self::PreservationReleased { .. } => "preservation_released",
            Self::ConsentRequested { .. } => "consent_requested",
            Self::ConsentDecided { .. } => "consent_decided",
        }
    }
}

/// One audit-log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Event format version (1).
    pub v: u8,
    /// When it happened.
    pub at: UnixTime,
    /// Who acted.
    pub actor: Actor,
    /// What happened.
    pub kind: EventKind,
    /// The request concerned (request ids are random: they disclose nothing).
    pub request: Option<RequestId>,
    /// A commitment to the case id.
    pub case: Option<Commitment>,
    /// The purpose the action served (e.g. the purpose a package was opened for).
    pub purpose: Option<Purpose>,
    /// Commitments to the selectors concerned: the subjects, hidden.
    pub subjects: Vec<Commitment>,
}

impl Event {
    /// The canonical encoding: the leaf's data.
    pub fn encode(&self) -> Vec<u8> {
        canonical::encode(self)
    }

    /// Decodes an entry: size checked first, canonical encoding only, version 1 only.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "audit event";
        if bytes.len() > MAX_EVENT_SIZE {
            return Err(DecodeError::Malformed {
                what: WHAT,
                detail: format!("{} bytes, more than {MAX_EVENT_SIZE}", bytes.len()),
            });
        }
        if let Some(&v) = bytes.first()
            && v != 1
        {
            return Err(DecodeError::UnsupportedVersion {
                what: WHAT,
                found: v,
                supported: 1,
            });
        }
        canonical::decode(WHAT, bytes)
    }

    /// The Merkle leaf hash of this entry.
    pub fn leaf_hash(&self) -> crate::merkle::Hash {
        crate::merkle::leaf_hash(&self.encode())
    }
}
