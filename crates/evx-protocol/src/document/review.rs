//! `ReviewDecision`: a human reviewer's signed decision on a request the policy engine could not
//! decide alone.
//!
//! No adverse decision about a person may rest solely on automated processing (CETS 224
//! Art. 14(6)), and the refusal grounds of legal reference §4 — political offence,
//! discrimination, fundamental rights, privilege — are for people to weigh. The engine therefore
//! only *proposes*; a reviewer whose key is in the registry confirms or overrides the proposal
//! with grounds, bound to the exact rule trace they saw by its digest, and the final
//! [`super::Decision`] cites the review by its digest.

use serde::{Deserialize, Serialize};

use super::decision::RefusalGround;
use super::document;
use super::request::DataCategory;
use crate::ids::{PartyId, RequestId, UnixTime};

/// A reviewer's decision on one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDecision {
    /// Document version (1).
    pub v: u8,
    /// The request reviewed.
    pub request_id: RequestId,
    /// SHA-256 of the encoded rule trace the reviewer decided on
    /// ([`crate::policy::Trace::digest`]).
    pub trace_digest: [u8; 32],
    /// The reviewer, by name and function, e.g. "J. Murphy, central authority legal unit".
    pub reviewer: String,
    /// When the reviewer decided.
    pub decided_at: UnixTime,
    /// What the reviewer decided.
    pub verdict: ReviewVerdict,
    /// The grounds: required for a refusal or a partial execution, optional otherwise.
    pub grounds: Vec<RefusalGround>,
    /// Recipients to whom the reviewer authorises onward transfer in advance, from those the
    /// request asked for (CETS 224 Art. 14(10)); empty = no onward transfer without a later,
    /// separate authorisation.
    pub onward_authorised: Vec<PartyId>,
    /// The reviewer's reasoning, in words.
    pub note: String,
}
document!(ReviewDecision, "review-decision", 64 * 1024);

/// What a reviewer decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewVerdict {
    /// Execute the request in full, under the conditions the engine computed.
    Approve,
    /// Execute it for these categories only (Budapest Art. 27(6)).
    Partial {
        /// The categories granted.
        categories: Vec<DataCategory>,
    },
    /// Refuse it, on the review's grounds.
    Refuse,
    /// Postpone it, e.g. because it would prejudice a domestic case (Budapest Art. 27(5)).
    Postpone {
        /// Until when.
        until: UnixTime,
    },
}
