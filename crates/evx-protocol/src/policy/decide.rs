//! From a trace to a signed-ready [`Decision`]: alone where the engine may decide, or on a
//! reviewer's signed [`ReviewDecision`].

use super::registry::{KeyRole, Registry};
use super::rule::{Proposal, RuleId, Trace, Verdict};
use crate::document::{
    Decision, DocumentError, EvidenceRequest, Outcome, ReviewDecision, ReviewVerdict, Signed,
};
use crate::ids::{KeyId, RequestId, UnixTime};
use crate::purpose::OnwardTransfer;

impl Trace {
    /// The decision the engine may take alone: acceptance, a request for information, or an
    /// automatic refusal. Anything else is [`Outcome::PendingReview`] until a reviewer decides
    /// (see [`finalize`]): no adverse decision rests on the engine alone.
    pub fn decision(&self, decided_at: UnixTime) -> Decision {
        let outcome = match &self.proposal {
            Proposal::Accept => Outcome::Accept {
                conditions: self.conditions.clone(),
            },
            Proposal::Incomplete { missing } => Outcome::Incomplete {
                missing: missing.clone(),
            },
            Proposal::Refuse {
                grounds,
                automatic: true,
            } => Outcome::Refuse {
                grounds: grounds.clone(),
            },
            Proposal::Refuse { .. } | Proposal::Partial { .. } | Proposal::Review { .. } => {
                Outcome::PendingReview {
                    reason: super::engine::summary(self),
                    due_at: self
                        .review_due
                        .or(self.due.decide_by)
                        .unwrap_or(self.received_at),
                }
            }
        };
        Decision {
            v: 1,
            request_id: self.request_id,
            decided_at,
            outcome,
            trace_digest: Some(self.digest()),
            review_digest: None,
            due: self.due,
        }
    }
}

/// Why a review decision cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The signing key is not in the registry.
    #[error("review signed by key {0}, which the registry does not list; add the reviewer's key")]
    UnknownKey(KeyId),
    /// The key is registered, but not as a reviewer's.
    #[error("key {0} is registered, but not as a reviewer's key")]
    NotAReviewer(KeyId),
    /// The reviewer belongs to another party than the requested party.
    #[error("the reviewer belongs to another party; only the requested party's reviewers decide")]
    OtherParty,
    /// The signature or encoding is bad.
    #[error("review decision does not verify: {0}")]
    Document(#[from] DocumentError),
    /// The review is about another request.
    #[error("review decision is for request {found}, not {expected}")]
    OtherRequest {
        /// The request being decided.
        expected: RequestId,
        /// The request the review names.
        found: RequestId,
    },
    /// The review was made on a different trace (another evaluation, or a changed agreement).
    #[error(
        "review decision was made on another rule trace; show the reviewer the current trace and \
         sign again"
    )]
    OtherTrace,
    /// A refusal or partial execution without grounds.
    #[error("a refusal or partial execution needs at least one ground with code and explanation")]
    NoGrounds,
    /// A partial execution that grants no category, or one not requested.
    #[error("a partial execution must grant some, but not all, of the requested categories")]
    BadPartial,
    /// Transfers are suspended: a reviewer cannot release data until the suspension is lifted.
    #[error(
        "transfers under the agreement are suspended; lift the suspension in the agreement before \
         approving"
    )]
    Suspended,
    /// The request lacks required information: it goes back to the requesting party, and a
    /// reviewer cannot approve it as it stands.
    #[error(
        "the request is incomplete; it cannot be approved until the requesting party supplies the \
         missing fields"
    )]
    Incomplete,
    /// A postponement that ends before the decision is taken.
    #[error(
        "a postponement must end after the review decision; {until} is not later than {decided}"
    )]
    PostponedToThePast {
        /// The end of the postponement.
        until: UnixTime,
        /// When the review was decided.
        decided: UnixTime,
    },
    /// Onward transfer authorised to a recipient the request did not ask for, or that a
    /// party's profile does not allow.
    #[error(
        "onward transfer may be authorised only to recipients the request names, and only where \
         neither party's profile prohibits it"
    )]
    OnwardNotAllowed,
    /// The request is not yet recorded in the audit log.
    #[error("the request is not recorded in the audit log; record it and evaluate again")]
    NotRecorded,
}

/// The final decision on a reviewed request. Checks that a reviewer registered for the
/// requested party signed the review, over this trace and this request; the decision cites
/// the review by its digest.
pub fn finalize(
    trace: &Trace,
    request: &EvidenceRequest,
    review: &Signed<ReviewDecision>,
    registry: &Registry,
    decided_at: UnixTime,
) -> Result<Decision, ReviewError> {
    let key_id = review.signer();
    let entry = registry
        .get(&key_id)
        .ok_or(ReviewError::UnknownKey(key_id))?;
    if !matches!(entry.role, KeyRole::Reviewer { .. }) {
        return Err(ReviewError::NotAReviewer(key_id));
    }
    if entry.party != request.requested_party {
        return Err(ReviewError::OtherParty);
    }
    let doc = review.verify(&entry.key)?;
    for found in [doc.request_id, request.request_id] {
        if found != trace.request_id {
            return Err(ReviewError::OtherRequest {
                expected: trace.request_id,
                found,
            });
        }
    }
    if doc.trace_digest != trace.digest() {
        return Err(ReviewError::OtherTrace);
    }
    let failed = |rule| {
        trace
            .result(rule)
            .is_some_and(|r| r.verdict == Verdict::Fail)
    };
    if failed(RuleId::Audit) {
        return Err(ReviewError::NotRecorded);
    }
    let releases = matches!(
        doc.verdict,
        ReviewVerdict::Approve | ReviewVerdict::Partial { .. }
    );
    if releases && failed(RuleId::Suspension) {
        return Err(ReviewError::Suspended);
    }
    if releases && matches!(trace.proposal, Proposal::Incomplete { .. }) {
        return Err(ReviewError::Incomplete);
    }
    let grounds_ok = !doc.grounds.is_empty()
        && doc
            .grounds
            .iter()
            .all(|g| !g.code.trim().is_empty() && !g.explanation.trim().is_empty());
    let mut conditions = trace.conditions.clone();
    if !doc.onward_authorised.is_empty() {
        let asked = match &request.onward_transfer {
            OnwardTransfer::AuthorisedTo(to) => to.as_slice(),
            OnwardTransfer::DenyWithoutAuthorisation => &[],
        };
        if trace.onward_prohibited || !doc.onward_authorised.iter().all(|p| asked.contains(p)) {
            return Err(ReviewError::OnwardNotAllowed);
        }
        conditions.onward_transfer = OnwardTransfer::AuthorisedTo(doc.onward_authorised.clone());
        conditions.notes.push(format!(
            "Onward transfer authorised by the reviewer to: {}.",
            doc.onward_authorised
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let outcome = match &doc.verdict {
        ReviewVerdict::Approve => Outcome::Accept { conditions },
        ReviewVerdict::Partial { categories } => {
            if !grounds_ok {
                return Err(ReviewError::NoGrounds);
            }
            let mut granted = categories.clone();
            granted.sort_unstable();
            granted.dedup();
            let mut asked = request.categories.clone();
            asked.sort_unstable();
            asked.dedup();
            if granted.is_empty()
                || granted.len() >= asked.len()
                || !granted.iter().all(|c| asked.contains(c))
            {
                return Err(ReviewError::BadPartial);
            }
            let reason = doc
                .grounds
                .iter()
                .map(|g| g.explanation.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            Outcome::Partial {
                categories: granted,
                selectors: request.selectors.clone(),
                conditions,
                reason,
            }
        }
        ReviewVerdict::Refuse => {
            if !grounds_ok {
                return Err(ReviewError::NoGrounds);
            }
            Outcome::Refuse {
                grounds: doc.grounds.clone(),
            }
        }
        ReviewVerdict::Postpone { until } if *until <= doc.decided_at => {
            return Err(ReviewError::PostponedToThePast {
                until: *until,
                decided: doc.decided_at,
            });
        }
        ReviewVerdict::Postpone { until } => Outcome::Postponed {
            until: *until,
            reason: if doc.note.trim().is_empty() {
                "postponed by the reviewer".to_owned()
            } else {
                doc.note.clone()
            },
        },
    };
    Ok(Decision {
        v: 1,
        request_id: trace.request_id,
        decided_at,
        outcome,
        trace_digest: Some(trace.digest()),
        review_digest: Some(review.digest()),
        due: trace.due,
    })
}
