//! `Decision`: the requested party's answer to a request.

use serde::{Deserialize, Serialize};

use super::document;
use super::request::{DataCategory, Selector};
use crate::ids::{RequestId, UnixTime};
use crate::purpose::Conditions;

/// The requested party's decision on one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Document version (1).
    pub v: u8,
    /// The request decided.
    pub request_id: RequestId,
    /// When it was decided.
    pub decided_at: UnixTime,
    /// The outcome.
    pub outcome: Outcome,
    /// SHA-256 of the policy engine's encoded rule trace, which the audit log records.
    pub trace_digest: Option<[u8; 32]>,
    /// SHA-256 of the signed human review decision this decision rests on, if any. Adverse
    /// outcomes are never final without one.
    pub review_digest: Option<[u8; 32]>,
    /// The due dates the agreement sets for this request.
    pub due: DueDates,
}
document!(Decision, "decision", 64 * 1024);

/// The outcomes a request can have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Executed in full, under the given conditions.
    Accept {
        /// Conditions of use.
        conditions: Conditions,
    },
    /// Executed in part: only these categories and selectors (Budapest Art. 27(6): partial or
    /// conditional help before refusal).
    Partial {
        /// Categories granted.
        categories: Vec<DataCategory>,
        /// Selectors granted.
        selectors: Vec<Selector>,
        /// Conditions of use.
        conditions: Conditions,
        /// Why the rest was not granted.
        reason: String,
    },
    /// Cannot be executed as it stands: the request lacks information (EU Annex III).
    Incomplete {
        /// What is missing or wrong.
        missing: Vec<MissingField>,
    },
    /// Refused, with reasons (Budapest Art. 27(7)).
    Refuse {
        /// The grounds.
        grounds: Vec<RefusalGround>,
    },
    /// Waiting for a human reviewer.
    PendingReview {
        /// Why review is needed.
        reason: String,
        /// When the review is due.
        due_at: UnixTime,
    },
    /// Postponed, e.g. because it would prejudice a domestic case (Budapest Art. 27(5)).
    Postponed {
        /// Until when.
        until: UnixTime,
        /// Why.
        reason: String,
    },
}

/// A field the requested party needs supplied or corrected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingField {
    /// The field, e.g. `offence.statute`.
    pub field: String,
    /// What is expected of it.
    pub explanation: String,
}

/// One ground of refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalGround {
    /// A stable reason code, e.g. `political-offence`.
    pub code: String,
    /// The legal source, e.g. "Budapest Art. 27(4)(a)".
    pub legal_source: String,
    /// The explanation given to the requesting party.
    pub explanation: String,
}

/// The due dates of one request, computed from the agreement when it is received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueDates {
    /// When the requested party must have decided (or a reviewer, for a request in review).
    pub decide_by: Option<UnixTime>,
    /// When accepted evidence must have been delivered.
    pub deliver_by: Option<UnixTime>,
    /// No release before this time: the enforcing authority's window to refuse a notified
    /// order (EU Art. 10(2), 12(1)).
    pub release_not_before: Option<UnixTime>,
    /// An unvalidated emergency request is withdrawn unless a judicial validation arrives by
    /// this time (EU Art. 4(5)).
    pub validation_by: Option<UnixTime>,
    /// A preservation hold placed for this request ends at this time unless extended.
    pub preserve_until: Option<UnixTime>,
}
