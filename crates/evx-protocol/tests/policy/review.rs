//! Reviewer decisions: what the engine only proposes becomes a decision when a registered
//! reviewer of the requested party signs a review over the very trace.

use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{
    DataCategory, DocumentError, EvidenceRequest, Outcome, ReviewVerdict, Signed,
};
use evx_protocol::ids::{RequestId, UnixTime};
use evx_protocol::policy::{
    self, Intake, KeyRole, OnwardTransferRule, Proposal, ReviewError, Trace, TrustedKey,
};
use evx_protocol::purpose::OnwardTransfer;

use crate::fixture::*;

use DataCategory::{Subscriber, Traffic};

const DECIDED: UnixTime = UnixTime(T0.0 + 3 * DAY);

/// A request on the political list: the engine proposes review.
fn political(w: &World) -> (EvidenceRequest, Trace) {
    let mut r = w.request();
    r.offence.code = "insulting-state-organs".into();
    let trace = w.evaluate(&r);
    assert!(matches!(trace.proposal, Proposal::Review { .. }));
    (r, trace)
}

/// A civil request: the engine proposes a refusal.
fn civil(w: &World) -> (EvidenceRequest, Trace) {
    let mut r = w.request();
    r.proceeding = evx_protocol::document::Proceeding::Civil;
    let trace = w.evaluate(&r);
    expect_proposed_refusal(&trace, &["not-criminal-proceeding"]);
    (r, trace)
}

/// Subscriber and traffic data ordered by a prosecutor: the engine proposes partial execution.
fn partial(w: &World) -> (EvidenceRequest, Trace) {
    let mut r = w.request();
    r.categories = vec![Subscriber, Traffic];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let trace = w.evaluate(&r);
    assert!(matches!(trace.proposal, Proposal::Partial { .. }));
    (r, trace)
}

fn finalize(
    w: &World,
    trace: &Trace,
    r: &EvidenceRequest,
    review: &Signed<evx_protocol::document::ReviewDecision>,
) -> Result<evx_protocol::document::Decision, ReviewError> {
    policy::finalize(trace, r, review, &w.registry, DECIDED)
}

#[test]
fn a_proposal_is_pending_review_until_its_review_date() {
    let w = World::eu();
    for (_, trace) in [political(&w), civil(&w), partial(&w)] {
        assert!(trace.needs_reviewer());
        let due = trace.review_due.expect("a review date");
        match trace.decision(RECEIVED).outcome {
            Outcome::PendingReview { due_at, .. } => assert_eq!(due_at, due),
            o => panic!("expected pending review, got {o:?}"),
        }
    }
}

#[test]
fn an_approval_accepts_under_the_traces_conditions_and_cites_the_review() {
    let w = World::eu();
    let (r, trace) = political(&w);
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    let d = finalize(&w, &trace, &r, &review).unwrap();
    assert_eq!(
        d.outcome,
        Outcome::Accept {
            conditions: trace.conditions.clone()
        }
    );
    assert_eq!(d.review_digest, Some(review.digest()));
    assert_eq!(d.trace_digest, Some(trace.digest()));
    assert_eq!(d.request_id, r.request_id);
    assert_eq!(d.decided_at, DECIDED);
    assert_eq!(d.due, trace.due);
}

#[test]
fn a_refusal_refuses_on_the_reviewers_grounds() {
    let w = World::eu();
    let (r, trace) = civil(&w);
    let grounds = vec![ground(
        "not-criminal-proceeding",
        "a civil claim for damages, not a criminal case",
    )];
    let review = w.review_with(&trace, ReviewVerdict::Refuse, &w.reviewer, grounds.clone());
    let d = finalize(&w, &trace, &r, &review).unwrap();
    assert_eq!(d.outcome, Outcome::Refuse { grounds });
    assert_eq!(d.review_digest, Some(review.digest()));
}

#[test]
fn a_partial_execution_grants_the_categories_chosen() {
    let w = World::eu();
    let (r, trace) = partial(&w);
    let review = w.review_with(
        &trace,
        ReviewVerdict::Partial {
            categories: vec![Subscriber],
        },
        &w.reviewer,
        vec![
            ground("issuer-not-competent", "traffic data need a judge"),
            ground("reviewer", "subscriber data suffice for now"),
        ],
    );
    let d = finalize(&w, &trace, &r, &review).unwrap();
    assert_eq!(
        d.outcome,
        Outcome::Partial {
            categories: vec![Subscriber],
            selectors: r.selectors.clone(),
            conditions: trace.conditions.clone(),
            reason: "traffic data need a judge; subscriber data suffice for now".into(),
        }
    );
    assert_eq!(d.review_digest, Some(review.digest()));
}

#[test]
fn a_partial_execution_must_grant_some_but_not_all_requested_categories() {
    let w = World::eu();
    let (r, trace) = partial(&w);
    for categories in [
        vec![],
        vec![Subscriber, Traffic],
        vec![Traffic, Subscriber, Subscriber],
        vec![DataCategory::Content],
    ] {
        let review = w.review(&trace, ReviewVerdict::Partial { categories }, &w.reviewer);
        assert_eq!(
            finalize(&w, &trace, &r, &review),
            Err(ReviewError::BadPartial)
        );
    }
}

#[test]
fn a_postponement_keeps_the_reviewers_note() {
    let w = World::eu();
    let (r, trace) = political(&w);
    let until = T0.plus_secs(40 * DAY);
    let review = w.review(&trace, ReviewVerdict::Postpone { until }, &w.reviewer);
    let d = finalize(&w, &trace, &r, &review).unwrap();
    assert_eq!(
        d.outcome,
        Outcome::Postponed {
            until,
            reason: "reviewed".into()
        }
    );
}

#[test]
fn a_review_by_an_unregistered_key_is_refused() {
    let w = World::eu();
    let (r, trace) = political(&w);
    let review = w.review(&trace, ReviewVerdict::Approve, &w.stranger);
    assert_eq!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::UnknownKey(w.stranger.id()))
    );
}

#[test]
fn a_review_by_a_key_registered_for_something_else_is_refused() {
    let w = World::eu();
    let (r, trace) = political(&w);
    for key in [&w.police, &w.judge] {
        let review = w.review(&trace, ReviewVerdict::Approve, key);
        assert_eq!(
            finalize(&w, &trace, &r, &review),
            Err(ReviewError::NotAReviewer(key.id()))
        );
    }
}

#[test]
fn a_reviewer_of_the_requesting_party_cannot_decide() {
    let mut w = World::eu();
    let theirs = SigningKey::from_seed(&[9; 32]);
    w.registry.add(TrustedKey {
        key: theirs.verifying_key(),
        party: w.requesting.clone(),
        role: KeyRole::Reviewer {
            name: "a reviewer of the requesting party".into(),
        },
    });
    let (r, trace) = political(&w);
    let review = w.review(&trace, ReviewVerdict::Approve, &theirs);
    assert_eq!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::OtherParty)
    );
}

#[test]
fn a_review_of_another_trace_is_refused() {
    let w = World::eu();
    let (r, trace) = political(&w);
    let (_, other) = civil(&w);
    assert_eq!(other.request_id, trace.request_id);
    let review = w.review(&other, ReviewVerdict::Approve, &w.reviewer);
    assert_eq!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::OtherTrace)
    );

    // A trace made under a changed agreement is another trace, even for the same request.
    let mut changed = World::eu();
    changed.agreement.deadlines.review_days = 9;
    let retraced = changed.evaluate(&r);
    assert_ne!(retraced.agreement_digest, trace.agreement_digest);
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    assert_eq!(
        finalize(&changed, &retraced, &r, &review),
        Err(ReviewError::OtherTrace)
    );
}

#[test]
fn a_review_of_another_request_is_refused() {
    let w = World::eu();
    let (r, trace) = political(&w);
    // The review names another request.
    let mut other_trace = trace.clone();
    other_trace.request_id = RequestId([1; 16]);
    let review = w.review(&other_trace, ReviewVerdict::Approve, &w.reviewer);
    assert_eq!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::OtherRequest {
            expected: trace.request_id,
            found: RequestId([1; 16]),
        })
    );
    // The request handed in is another one.
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    let mut other = r.clone();
    other.request_id = RequestId([1; 16]);
    assert!(matches!(
        finalize(&w, &trace, &other, &review),
        Err(ReviewError::OtherRequest { .. })
    ));
}

#[test]
fn a_refusal_or_partial_execution_without_grounds_is_refused() {
    let w = World::eu();
    let (r, trace) = civil(&w);
    for grounds in [
        vec![],
        vec![ground("", "no code")],
        vec![ground("reviewer", " ")],
    ] {
        let review = w.review_with(&trace, ReviewVerdict::Refuse, &w.reviewer, grounds);
        assert_eq!(
            finalize(&w, &trace, &r, &review),
            Err(ReviewError::NoGrounds)
        );
    }
    let (r, trace) = partial(&w);
    let review = w.review_with(
        &trace,
        ReviewVerdict::Partial {
            categories: vec![Subscriber],
        },
        &w.reviewer,
        vec![],
    );
    assert_eq!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::NoGrounds)
    );
    // An approval needs none.
    let review = w.review_with(&trace, ReviewVerdict::Approve, &w.reviewer, vec![]);
    assert!(finalize(&w, &trace, &r, &review).is_ok());
}

#[test]
fn nothing_is_released_while_transfers_are_suspended() {
    let mut w = World::eu();
    let (r, _) = partial(&w);
    w.agreement.transfers.suspended = true;
    let trace = w.evaluate(&r);
    assert!(matches!(
        trace.proposal,
        Proposal::Refuse {
            automatic: true,
            ..
        }
    ));
    let approve = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    assert_eq!(
        finalize(&w, &trace, &r, &approve),
        Err(ReviewError::Suspended)
    );
    let part = w.review(
        &trace,
        ReviewVerdict::Partial {
            categories: vec![Subscriber],
        },
        &w.reviewer,
    );
    assert_eq!(finalize(&w, &trace, &r, &part), Err(ReviewError::Suspended));
    // Refusing is still possible.
    let refuse = w.review(&trace, ReviewVerdict::Refuse, &w.reviewer);
    assert!(matches!(
        finalize(&w, &trace, &r, &refuse).unwrap().outcome,
        Outcome::Refuse { .. }
    ));
}

#[test]
fn a_request_not_yet_recorded_cannot_be_decided() {
    let w = World::eu();
    let (r, _) = political(&w);
    let signed = w.sign(&r);
    let trace = w.run(&Intake::new(&signed, &r, RECEIVED));
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    assert_eq!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::NotRecorded)
    );
}

#[test]
fn a_review_with_a_bad_signature_is_refused() {
    let w = World::eu();
    let (r, trace) = political(&w);
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    let mut wire = review.encode();
    let last = wire.len() - 1;
    wire[last] ^= 1; // inside the document bytes
    let tampered = Signed::decode(&wire).unwrap();
    assert!(matches!(
        finalize(&w, &trace, &r, &tampered),
        Err(ReviewError::Document(DocumentError::BadSignature { .. }))
    ));
}

#[test]
fn review_errors_say_what_to_do() {
    let w = World::eu();
    let msg = ReviewError::UnknownKey(w.stranger.id()).to_string();
    assert!(msg.contains(&w.stranger.id().to_hex()) && msg.contains("add the reviewer's key"));
    assert!(ReviewError::OtherTrace.to_string().contains("sign again"));
    assert!(
        ReviewError::Suspended
            .to_string()
            .contains("lift the suspension")
    );
}

/// A review with onward transfer authorised to `to`.
fn review_onward(
    w: &World,
    trace: &Trace,
    to: &[&str],
) -> Signed<evx_protocol::document::ReviewDecision> {
    let mut doc = w
        .review(trace, ReviewVerdict::Approve, &w.reviewer)
        .verify(&w.reviewer.verifying_key())
        .unwrap();
    doc.onward_authorised = to.iter().map(|p| party(p)).collect();
    Signed::sign(&doc, &w.reviewer).unwrap()
}

#[test]
fn a_reviewer_may_authorise_the_onward_transfer_the_request_asked_for() {
    let w = World::budapest();
    let mut r = w.request();
    r.onward_transfer = OnwardTransfer::AuthorisedTo(vec![party("FR-PNC"), party("EUROPOL")]);
    let trace = w.evaluate(&r);
    assert!(matches!(trace.proposal, Proposal::Review { .. }));
    assert_eq!(
        trace.conditions.onward_transfer,
        OnwardTransfer::DenyWithoutAuthorisation
    );

    let d = finalize(&w, &trace, &r, &review_onward(&w, &trace, &["FR-PNC"])).unwrap();
    let Outcome::Accept { conditions } = d.outcome else {
        panic!("expected accept, got {:?}", d.outcome)
    };
    assert_eq!(
        conditions.onward_transfer,
        OnwardTransfer::AuthorisedTo(vec![party("FR-PNC")])
    );
    assert!(conditions.notes.iter().any(|n| n.contains("FR-PNC")));

    // Not to a recipient the request did not name.
    assert_eq!(
        finalize(&w, &trace, &r, &review_onward(&w, &trace, &["US-FBI"])),
        Err(ReviewError::OnwardNotAllowed)
    );
    // Not where a profile prohibits onward transfer.
    let mut w = World::budapest();
    w.agreement.parties[1].data_protection.onward_transfer = OnwardTransferRule::Prohibited;
    let trace = w.evaluate(&r);
    assert_eq!(
        finalize(&w, &trace, &r, &review_onward(&w, &trace, &["FR-PNC"])),
        Err(ReviewError::OnwardNotAllowed)
    );
}

#[test]
fn a_postponement_must_end_after_the_review() {
    let w = World::eu();
    let (r, trace) = political(&w);
    let review = w.review(
        &trace,
        ReviewVerdict::Postpone {
            until: T0.plus_secs(DAY),
        },
        &w.reviewer,
    );
    // The fixture's reviews are decided two days after T0.
    assert!(matches!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::PostponedToThePast { .. })
    ));
}

#[test]
fn an_incomplete_request_cannot_be_approved() {
    let w = World::eu();
    let mut r = w.request();
    r.offence.statute.clear();
    let trace = w.evaluate(&r);
    assert!(matches!(trace.proposal, Proposal::Incomplete { .. }));
    for verdict in [
        ReviewVerdict::Approve,
        ReviewVerdict::Partial {
            categories: vec![Subscriber],
        },
    ] {
        let review = w.review(&trace, verdict, &w.reviewer);
        assert_eq!(
            finalize(&w, &trace, &r, &review),
            Err(ReviewError::Incomplete)
        );
    }
    // A reviewer may still refuse it.
    let review = w.review(&trace, ReviewVerdict::Refuse, &w.reviewer);
    assert!(matches!(
        finalize(&w, &trace, &r, &review).unwrap().outcome,
        Outcome::Refuse { .. }
    ));
}
