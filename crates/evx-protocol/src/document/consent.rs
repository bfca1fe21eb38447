//! Consent to use delivered evidence beyond what it was transferred for.
//!
//! Evidence is bound to one case and one purpose (purpose limitation, CETS 224 Art. 14(2)),
//! and may not be passed to a third party without the transferring party's prior
//! authorisation (Art. 14(10)). The requesting party asks with a signed [`ConsentRequest`];
//! a reviewer of the requested party decides with a signed [`ConsentDecision`]. A granted
//! consent extends what the requesting node lets its operators open the evidence for, and is
//! logged on both sides.

use serde::{Deserialize, Serialize};

use super::document;
use crate::ids::{CaseId, PartyId, RequestId, UnixTime};
use crate::purpose::Purpose;

/// What a consent is asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentScope {
    /// Use for another purpose in the same case.
    OtherPurpose {
        /// The purpose.
        purpose: Purpose,
    },
    /// Use in another case (for a purpose).
    OtherCase {
        /// The case.
        case_id: CaseId,
        /// The purpose.
        purpose: Purpose,
    },
    /// Pass the evidence on to a third party.
    OnwardTransfer {
        /// The recipient.
        recipient: PartyId,
    },
}

/// The requesting party's request for consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRequest {
    /// Document version (1).
    pub v: u8,
    /// The consent request's own id.
    pub consent_id: RequestId,
    /// The request whose evidence it concerns.
    pub request_id: RequestId,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// What is asked for.
    pub scope: ConsentScope,
    /// Why.
    pub reason: String,
}
document!(ConsentRequest, "consent-request", 16 * 1024);

/// A reviewer's decision on a consent request, signed with the reviewer's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentDecision {
    /// Document version (1).
    pub v: u8,
    /// The consent request decided.
    pub consent_id: RequestId,
    /// The request whose evidence it concerns.
    pub request_id: RequestId,
    /// SHA-256 of the signed consent request decided.
    pub consent_digest: [u8; 32],
    /// What was asked for (repeated, so that the decision stands alone).
    pub scope: ConsentScope,
    /// Granted or refused.
    pub granted: bool,
    /// The reviewer, by name and function.
    pub reviewer: String,
    /// When.
    pub decided_at: UnixTime,
    /// The reasons given to the requesting party.
    pub explanation: String,
}
document!(ConsentDecision, "consent-decision", 16 * 1024);
