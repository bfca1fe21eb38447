//! From a trace to a signed-ready [`Decision`]: alone where the engine may decide, or on a
//! reviewer's signed [`ReviewDecision`].

use super::agreement::Agreement;
use super::registry::{KeyRole, Registry};
use super::rule::{Proposal, RuleClass, RuleId, Trace, Verdict};
use crate::document::{
    Decision, Document, DocumentError, EvidenceRequest, Outcome, ReviewDecision, ReviewVerdict,
    Signed,
};
use crate::ids::{KeyId, RequestId, UnixTime};
use crate::purpose::OnwardTransfer;

impl Trace {
    /// The decision the engine may take alone: acceptance, a request for information, or an
    /// automatic refusal. Anything else is [`Outcome::PendingReview`] until a reviewer decides
    /// (see [`finalize`]): no adverse decision rests on the engine alone. `None` when a
    /// precondition is not met ([`Proposal::Blocked`]): then nothing may be sent at all.
    pub fn decision(&self, decided_at: UnixTime) -> Option<Decision> {
        let outcome = match &self.proposal {
            Proposal::Blocked { .. } => return None,
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
        Some(Decision {
            v: 1,
            request_id: self.request_id,
            decided_at,
            outcome,
            trace_digest: Some(self.digest()),
            review_digest: None,
            due: self.due,
        })
    }
}

/// Why a review decision cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
    /// The engine decided the request itself (acceptance, incomplete, or an automatic refusal
    /// the agreement allows): a reviewer's decision would contradict the one already sent.
    #[error(
        "this request was decided without review (accepted, returned incomplete or refused \
         automatically); a reviewer cannot decide it again — evaluate anew if circumstances changed"
    )]
    NotForReview,
    /// The decision would be larger than a decision may be.
    #[error(
        "the decision would be {size} bytes, more than the {max} a decision may have; shorten the \
         grounds' explanations or the reviewer's note"
    )]
    TooLarge {
        /// Its encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A precondition failed: nothing may be decided until the node has met it.
    #[error("{rule} is not met ({explanation}); meet it and evaluate again")]
    Precondition {
        /// The rule.
        rule: RuleId,
        /// Its explanation.
        explanation: String,
    },
    /// The trace was made under another version of the agreement than the one in force.
    #[error(
        "the trace was evaluated under another version of agreement {agreement}; evaluate the \
         request again under the agreement in force and review the new trace"
    )]
    OtherAgreement {
        /// The agreement's id.
        agreement: String,
    },
    /// The signed request given is not the one the trace was made for.
    #[error("the signed request is not the one the trace was made for (its digest differs)")]
    OtherRequestBytes,
    /// The request's signature does not verify against the registry.
    #[error("the request's signer is not a registered document key, or the signature is bad")]
    RequestNotAuthentic,
    /// A safeguard the law makes mandatory failed: a reviewer may refuse or postpone, not
    /// release.
    #[error(
        "{rule} failed and is mandatory ({explanation}); a reviewer may refuse or postpone, but \
         not release"
    )]
    Mandatory {
        /// The rule.
        rule: RuleId,
        /// Its explanation.
        explanation: String,
    },
}

/// The final decision on a reviewed request. Checks that the trace was made under `agreement`
/// as it stands and for exactly `signed_request`; that a reviewer registered for the requested
/// party signed the review, over this trace; that nothing a mandatory safeguard refused is
/// released (see [`RuleId::reviewer_may_override`]); and builds the decision, which cites the
/// review by its digest.
pub fn finalize(
    trace: &Trace,
    agreement: &Agreement,
    signed_request: &Signed<EvidenceRequest>,
    review: &Signed<ReviewDecision>,
    registry: &Registry,
    decided_at: UnixTime,
) -> Result<Decision, ReviewError> {
    if agreement.digest() != trace.agreement_digest {
        return Err(ReviewError::OtherAgreement {
            agreement: agreement.id.clone(),
        });
    }
    if signed_request.digest() != trace.request_digest {
        return Err(ReviewError::OtherRequestBytes);
    }
    let request = registry
        .get(&signed_request.signer())
        .filter(|k| k.role == KeyRole::Documents)
        .and_then(|k| signed_request.verify(&k.key).ok())
        .ok_or(ReviewError::RequestNotAuthentic)?;
    let request = &request;
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
    if let Some(r) = trace
        .results
        .iter()
        .find(|r| r.verdict == Verdict::Fail && r.rule.class() == RuleClass::Precondition)
    {
        return Err(ReviewError::Precondition {
            rule: r.rule,
            explanation: r.explanation.clone(),
        });
    }
    if !trace.needs_reviewer() {
        return Err(ReviewError::NotForReview);
    }
    let releases = matches!(
        doc.verdict,
        ReviewVerdict::Approve | ReviewVerdict::Partial { .. }
    );
    if releases && (failed(RuleId::Suspension) || agreement.transfers.suspended) {
        return Err(ReviewError::Suspended);
    }
    if releases {
        // Nothing is released for a category whose required fields were never asked for (the
        // engine skips asking when it proposes partial execution without that category).
        let released = |cats: &[crate::document::DataCategory]| match &doc.verdict {
            ReviewVerdict::Partial { categories } => {
                cats.is_empty() || categories.iter().any(|c| cats.contains(c))
            }
            _ => true,
        };
        if trace.results.iter().any(|r| {
            r.verdict == Verdict::Fail
                && r.rule.class() == RuleClass::Completeness
                && released(&r.categories)
        }) {
            return Err(ReviewError::Incomplete);
        }
        // A mandatory safeguard that failed for the whole request blocks any release; one that
        // failed for some categories blocks approval, and partial execution of those.
        let mandatory = trace.results.iter().filter(|r| {
            r.verdict == Verdict::Fail
                && r.rule.class() == RuleClass::Safeguard
                && !r.rule.reviewer_may_override()
        });
        for r in mandatory {
            let blocks = match &doc.verdict {
                ReviewVerdict::Partial { categories } => {
                    r.categories.is_empty() || categories.iter().any(|c| r.categories.contains(c))
                }
                _ => true,
            };
            if blocks {
                return Err(ReviewError::Mandatory {
                    rule: r.rule,
                    explanation: r.explanation.clone(),
                });
            }
        }
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
        let mut to = doc.onward_authorised.clone();
        to.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        to.dedup();
        let names: Vec<String> = to.iter().map(ToString::to_string).collect();
        conditions.notes.push(format!(
            "Onward transfer authorised by the reviewer to: {}.",
            super::checks::capped(&names, ", ")
        ));
        conditions.onward_transfer = OnwardTransfer::AuthorisedTo(to);
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
    let decision = Decision {
        v: 1,
        request_id: trace.request_id,
        decided_at,
        outcome,
        trace_digest: Some(trace.digest()),
        review_digest: Some(review.digest()),
        due: trace.due,
    };
    let size = crate::canonical::encode(&decision).len();
    if size > Decision::MAX_SIZE {
        return Err(ReviewError::TooLarge {
            size,
            max: Decision::MAX_SIZE,
        });
    }
    Ok(decision)
}
