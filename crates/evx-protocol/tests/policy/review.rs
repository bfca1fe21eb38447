//! Reviewer decisions: what the engine only proposes becomes a decision when a registered
//! reviewer of the requested party signs a review over the very trace.

use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{
    DataCategory, DocumentError, EvidenceRequest, Outcome, Proceeding, ReviewVerdict, Selector,
    Signed,
};
use evx_protocol::ids::{RequestId, UnixTime};
use evx_protocol::policy::{
    self, Channel, Intake, KeyRole, OnwardTransferRule, Proposal, ReviewError, RuleClass, RuleId,
    Trace, TrustedKey, Verdict,
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

/// Subscriber and traffic data for an offence missing from the dual-criminality table, at a
/// node that checks it for traffic: partial execution, traffic failing only R05.
fn overridable_partial(w: &World) -> (EvidenceRequest, Trace) {
    let mut r = w.traffic_request();
    r.categories = vec![Subscriber, Traffic];
    r.offence.code = "unlicensed-gambling".into();
    let trace = w.evaluate(&r);
    assert!(
        matches!(&trace.proposal, Proposal::Partial { categories, .. } if categories == &[Subscriber]),
        "{:?}",
        trace.proposal
    );
    let failed: Vec<RuleId> = trace
        .results
        .iter()
        .filter(|x| x.verdict == Verdict::Fail)
        .map(|x| x.rule)
        .collect();
    assert_eq!(failed, [RuleId::DualCriminality]);
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
    policy::finalize(
        trace,
        &w.agreement,
        &w.sign(r),
        review,
        &w.registry,
        DECIDED,
    )
}

#[test]
fn a_proposal_is_pending_review_until_its_review_date() {
    let w = World::eu();
    for (_, trace) in [political(&w), civil(&w), partial(&w)] {
        assert!(trace.needs_reviewer());
        let due = trace.review_due.expect("a review date");
        match trace.decision(RECEIVED).unwrap().outcome {
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
    // Traffic fails only an overridable safeguard here (dual criminality), so granting it is
    // not blocked as mandatory: the shape of the grant is what is refused.
    let w = World::eu_enforcing();
    let (r, trace) = overridable_partial(&w);
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
    // Where traffic failed a mandatory safeguard, granting it is refused for that reason first.
    let w = World::eu();
    let (r, trace) = partial(&w);
    for categories in [vec![], vec![DataCategory::Content]] {
        let review = w.review(&trace, ReviewVerdict::Partial { categories }, &w.reviewer);
        assert_eq!(
            finalize(&w, &trace, &r, &review),
            Err(ReviewError::BadPartial)
        );
    }
    for categories in [
        vec![Subscriber, Traffic],
        vec![Traffic, Subscriber, Subscriber],
    ] {
        let review = w.review(&trace, ReviewVerdict::Partial { categories }, &w.reviewer);
        assert!(matches!(
            finalize(&w, &trace, &r, &review),
            Err(ReviewError::Mandatory {
                rule: RuleId::Issuer,
                ..
            })
        ));
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
    // The request handed in is another one: its bytes are not the ones the trace was made for.
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    let mut other = r.clone();
    other.request_id = RequestId([1; 16]);
    assert_eq!(
        finalize(&w, &trace, &other, &review),
        Err(ReviewError::OtherRequestBytes)
    );
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
    let (r, trace) = political(&w);
    let review = w.review_with(&trace, ReviewVerdict::Approve, &w.reviewer, vec![]);
    assert!(finalize(&w, &trace, &r, &review).is_ok());
}

#[test]
fn nothing_is_released_while_transfers_are_suspended() {
    let mut w = World::eu();
    let (r, _) = partial(&w);
    w.agreement.transfers.suspended = true;
    // Where the agreement makes the suspension automatic, the refusal is final at once and no
    // reviewer decides it again.
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
        Err(ReviewError::NotForReview)
    );
    // Where it does not, a reviewer decides, and cannot release anything.
    w.agreement.automatic_refusals.clear();
    let trace = w.evaluate(&r);
    assert!(matches!(
        trace.proposal,
        Proposal::Refuse {
            automatic: false,
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
    let trace = w.run(&Intake::new(&signed, &r, RECEIVED, Channel::MUTUAL_TLS));
    assert!(matches!(trace.proposal, Proposal::Blocked { .. }));
    assert_eq!(trace.decision(RECEIVED), None);
    for verdict in [ReviewVerdict::Approve, ReviewVerdict::Refuse] {
        let review = w.review(&trace, verdict, &w.reviewer);
        match finalize(&w, &trace, &r, &review) {
            Err(ReviewError::Precondition { rule, explanation }) => {
                assert_eq!(rule, RuleId::Audit);
                assert!(
                    explanation.contains("append request_received"),
                    "{explanation}"
                );
            }
            other => panic!("expected a precondition error, got {other:?}"),
        }
    }
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
    // The engine's own decision (incomplete) has gone out: no reviewer decides it again,
    // whatever the verdict; the completed request is evaluated anew.
    assert!(!trace.needs_reviewer());
    for verdict in [
        ReviewVerdict::Approve,
        ReviewVerdict::Partial {
            categories: vec![Subscriber],
        },
        ReviewVerdict::Refuse,
    ] {
        let review = w.review(&trace, verdict, &w.reviewer);
        assert_eq!(
            finalize(&w, &trace, &r, &review),
            Err(ReviewError::NotForReview)
        );
    }
}

#[test]
fn an_automatic_decision_cannot_be_reviewed_again() {
    // Accepted by the engine, or refused automatically while transfers are suspended.
    let w = World::eu();
    let r = w.request();
    let trace = w.evaluate(&r);
    assert_eq!(trace.proposal, Proposal::Accept);
    let review = w.review(&trace, ReviewVerdict::Refuse, &w.reviewer);
    assert_eq!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::NotForReview)
    );
}

// ---------------------------------------------------------------------------------------------
// The trace, the agreement and the request bytes must be the ones reviewed

#[test]
fn a_substituted_request_with_the_same_id_is_refused() {
    let w = World::eu();
    let (r, trace) = political(&w);
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    // Same id, same signer, a valid signature: but not the bytes the trace was made for.
    let mut substitute = r.clone();
    substitute.selectors.push(Selector::Account {
        service: "mail.provider.example".into(),
        account: "someone.else".into(),
    });
    assert_eq!(substitute.request_id, r.request_id);
    let signed = w.sign(&substitute);
    assert!(signed.verify(&w.police.verifying_key()).is_ok());
    assert_eq!(
        policy::finalize(&trace, &w.agreement, &signed, &review, &w.registry, DECIDED),
        Err(ReviewError::OtherRequestBytes)
    );
    // The original goes through.
    assert!(finalize(&w, &trace, &r, &review).is_ok());
}

#[test]
fn a_trace_made_under_another_version_of_the_agreement_is_refused() {
    let w = World::eu();
    let (r, trace) = political(&w);
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    let mut changed = w.agreement.clone();
    changed.deadlines.review_days = 9;
    let run = |a: &policy::Agreement| {
        policy::finalize(&trace, a, &w.sign(&r), &review, &w.registry, DECIDED)
    };
    assert_eq!(
        run(&changed),
        Err(ReviewError::OtherAgreement {
            agreement: "eu-2023-1543/DE-IE".into()
        })
    );
    // A suspension imposed after the trace was made changes the agreement too: nothing is
    // released on the old trace, whatever the verdict.
    let mut suspended = w.agreement.clone();
    suspended.transfers.suspended = true;
    assert!(matches!(
        run(&suspended),
        Err(ReviewError::OtherAgreement { .. })
    ));
    // Another agreement altogether.
    assert!(matches!(
        run(&budapest()),
        Err(ReviewError::OtherAgreement { agreement }) if agreement == "budapest/NO-CA"
    ));
    assert!(run(&w.agreement).is_ok());
    let msg = ReviewError::OtherAgreement {
        agreement: "eu-2023-1543/DE-IE".into(),
    }
    .to_string();
    assert!(msg.contains("evaluate the request again"), "{msg}");
}

#[test]
fn a_request_whose_signature_does_not_verify_is_refused() {
    let w = World::eu();
    let (r, _) = political(&w);
    // The police key signed it, but the signature was altered in transit. The engine takes the
    // caller's word that it verified; finalize checks again.
    let mut wire = w.sign(&r).encode();
    wire[40] ^= 1; // inside the signature
    let tampered: Signed<EvidenceRequest> = Signed::decode(&wire).unwrap();
    let trace = w.run(&w.intake(&tampered, &r));
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    assert_eq!(
        policy::finalize(
            &trace,
            &w.agreement,
            &tampered,
            &review,
            &w.registry,
            DECIDED
        ),
        Err(ReviewError::RequestNotAuthentic)
    );
    // A key the registry does not list, or one that is not a document key.
    for key in [&w.stranger, &w.judge, &w.reviewer] {
        let signed = Signed::sign(&r, key).unwrap();
        let trace = w.run(&w.intake(&signed, &r));
        assert!(
            matches!(trace.proposal, Proposal::Blocked { .. }),
            "{:?}",
            trace.proposal
        );
        let review = w.review(&trace, ReviewVerdict::Refuse, &w.reviewer);
        assert_eq!(
            policy::finalize(&trace, &w.agreement, &signed, &review, &w.registry, DECIDED),
            Err(ReviewError::RequestNotAuthentic)
        );
    }
}

#[test]
fn a_request_from_outside_the_agreement_cannot_be_decided_by_a_reviewer() {
    // A document key registered for a party that is not in the agreement.
    let mut w = World::eu();
    let outsider = evx_protocol::crypto::SigningKey::from_seed(&[12; 32]);
    w.registry.add(TrustedKey {
        key: outsider.verifying_key(),
        party: party("FR-PNC"),
        role: KeyRole::Documents,
    });
    let mut r = w.request();
    r.requesting_party = party("FR-PNC");
    let signed = Signed::sign(&r, &outsider).unwrap();
    let trace = w.run(&w.intake(&signed, &r));
    assert_eq!(trace.decision(RECEIVED), None);
    let review = w.review(&trace, ReviewVerdict::Refuse, &w.reviewer);
    match policy::finalize(&trace, &w.agreement, &signed, &review, &w.registry, DECIDED) {
        Err(ReviewError::Precondition { rule, explanation }) => {
            assert_eq!(rule, RuleId::Channel);
            assert!(
                explanation.contains("FR-PNC is not a party"),
                "{explanation}"
            );
        }
        other => panic!("expected a precondition error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Mandatory safeguards: a reviewer may refuse or postpone, not release

/// The rules whose failure a reviewer may release data over.
const OVERRIDABLE: [RuleId; 4] = [
    RuleId::DualCriminality,
    RuleId::SelectorLimits,
    RuleId::DataProtection,
    RuleId::Retention,
];

#[test]
fn only_four_safeguards_may_be_overridden_by_a_reviewer() {
    for &rule in RuleId::ALL {
        assert_eq!(
            rule.reviewer_may_override(),
            OVERRIDABLE.contains(&rule),
            "{rule}"
        );
        if rule.reviewer_may_override() {
            assert_eq!(rule.class(), RuleClass::Safeguard, "{rule}");
        }
    }
}

/// Asserts that approval and partial release are refused as mandatory over `rule`, and that
/// refusal and postponement are still possible.
#[track_caller]
fn only_refusal_or_postponement(w: &World, r: &EvidenceRequest, trace: &Trace, rule: RuleId) {
    let review = w.review(trace, ReviewVerdict::Approve, &w.reviewer);
    match finalize(w, trace, r, &review) {
        Err(ReviewError::Mandatory {
            rule: got,
            explanation,
        }) => {
            assert_eq!(got, rule);
            assert_eq!(explanation, result(trace, rule).explanation);
            let shown = ReviewError::Mandatory {
                rule: got,
                explanation,
            }
            .to_string();
            assert!(shown.contains("may refuse or postpone"), "{shown}");
        }
        other => panic!("expected {rule} to be mandatory, got {other:?}"),
    }
    let refuse = w.review(trace, ReviewVerdict::Refuse, &w.reviewer);
    assert!(matches!(
        finalize(w, trace, r, &refuse).unwrap().outcome,
        Outcome::Refuse { .. }
    ));
    let until = T0.plus_secs(40 * DAY);
    let postpone = w.review(trace, ReviewVerdict::Postpone { until }, &w.reviewer);
    assert!(matches!(
        finalize(w, trace, r, &postpone).unwrap().outcome,
        Outcome::Postponed { .. }
    ));
}

#[test]
fn an_approval_over_bulk_selectors_is_refused_as_mandatory() {
    let w = World::eu();
    let mut r = w.request();
    r.selectors.push(Selector::Keyword("bitcoin ransom".into()));
    let trace = w.evaluate(&r);
    expect_proposed_refusal(&trace, &["bulk-selector"]);
    only_refusal_or_postponement(&w, &r, &trace, RuleId::Particularity);
    // A failure of the whole request blocks partial execution of any category too.
    let mut r = w.request();
    r.categories = vec![Subscriber, DataCategory::Identification];
    r.selectors.push(Selector::Keyword("bitcoin ransom".into()));
    let trace = w.evaluate(&r);
    let review = w.review(
        &trace,
        ReviewVerdict::Partial {
            categories: vec![Subscriber],
        },
        &w.reviewer,
    );
    assert!(matches!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::Mandatory {
            rule: RuleId::Particularity,
            ..
        })
    ));
}

#[test]
fn an_approval_of_a_civil_case_is_refused_as_mandatory() {
    let w = World::eu();
    let (r, trace) = civil(&w);
    only_refusal_or_postponement(&w, &r, &trace, RuleId::CriminalScope);
    let mut r = w.request();
    r.proceeding = Proceeding::Administrative;
    let trace = w.evaluate(&r);
    only_refusal_or_postponement(&w, &r, &trace, RuleId::CriminalScope);
}

#[test]
fn a_partial_execution_may_grant_only_categories_no_mandatory_safeguard_refused() {
    let w = World::eu();
    let (r, trace) = partial(&w);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    assert_eq!(result(&trace, RuleId::Issuer).categories, [Traffic]);
    // Granting traffic, which the prosecutor may not order (R03), is refused.
    let review = w.review(
        &trace,
        ReviewVerdict::Partial {
            categories: vec![Traffic],
        },
        &w.reviewer,
    );
    match finalize(&w, &trace, &r, &review) {
        Err(ReviewError::Mandatory { rule, explanation }) => {
            assert_eq!(rule, RuleId::Issuer);
            assert!(
                explanation.contains("may not order traffic"),
                "{explanation}"
            );
        }
        other => panic!("expected mandatory, got {other:?}"),
    }
    // So is approving everything.
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    assert!(matches!(
        finalize(&w, &trace, &r, &review),
        Err(ReviewError::Mandatory {
            rule: RuleId::Issuer,
            ..
        })
    ));
    // Granting subscriber data only is fine.
    let review = w.review(
        &trace,
        ReviewVerdict::Partial {
            categories: vec![Subscriber],
        },
        &w.reviewer,
    );
    let d = finalize(&w, &trace, &r, &review).unwrap();
    assert!(matches!(
        d.outcome,
        Outcome::Partial { ref categories, .. } if categories == &[Subscriber]
    ));
}

#[test]
fn an_approval_over_a_dual_criminality_failure_is_the_reviewers_to_give() {
    // Budapest checks dual criminality for every category; the table records defamation as
    // not criminal in the requested party. The table may be out of date: a reviewer may
    // release nevertheless.
    let w = World::budapest();
    let mut r = w.request();
    r.offence.code = "defamation".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Fail);
    expect_proposed_refusal(&trace, &["no-dual-criminality"]);
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    let d = finalize(&w, &trace, &r, &review).unwrap();
    assert_eq!(
        d.outcome,
        Outcome::Accept {
            conditions: trace.conditions.clone()
        }
    );
    assert_eq!(d.review_digest, Some(review.digest()));

    // Partial execution over an R05 failure for the granted category, too.
    let w = World::eu_enforcing();
    let (r, trace) = overridable_partial(&w);
    for categories in [vec![Subscriber], vec![Traffic]] {
        let review = w.review(&trace, ReviewVerdict::Partial { categories }, &w.reviewer);
        assert!(finalize(&w, &trace, &r, &review).is_ok());
    }
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    assert!(finalize(&w, &trace, &r, &review).is_ok());
}

#[test]
fn an_approval_over_too_many_selectors_is_the_reviewers_to_give() {
    let w = World::eu();
    let mut r = w.request();
    r.selectors = (0..11)
        .map(|i| Selector::Account {
            service: "mail.provider.example".into(),
            account: format!("user{i}"),
        })
        .collect();
    let trace = w.evaluate(&r);
    expect_proposed_refusal(&trace, &["request-too-broad"]);
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    assert!(finalize(&w, &trace, &r, &review).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Gaps the reviewer checks close.

#[test]
fn a_reviewer_cannot_release_a_category_whose_notification_was_never_given() {
    // Traffic fails only R05 (overridable) and lacks its notification reference; the engine
    // proposes partial execution of subscriber data and does not ask for the reference. A
    // reviewer overriding R05 must still not release traffic data the enforcing authority was
    // never notified of (Reg. (EU) 2023/1543 Art. 8).
    let w = World::eu_enforcing();
    let mut r = w.traffic_request();
    r.categories = vec![Subscriber, Traffic];
    r.offence.code = "unlicensed-gambling".into();
    r.notification_ref = None;
    // Because a reviewer may override R05, traffic could be released: so the engine asks for
    // the notification reference first instead of proposing partial execution.
    let trace = w.evaluate(&r);
    let Proposal::Incomplete { missing } = &trace.proposal else {
        panic!("expected incomplete, got {:?}", trace.proposal)
    };
    assert!(
        missing.iter().any(|m| m.field == "notification_ref"),
        "{missing:?}"
    );
    // With the reference, partial execution is proposed, and a reviewer may override R05.
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let trace = w.evaluate(&r);
    assert!(
        matches!(trace.proposal, Proposal::Partial { .. }),
        "{:?}",
        trace.proposal
    );
    let review = w.review(&trace, ReviewVerdict::Approve, &w.reviewer);
    assert!(finalize(&w, &trace, &r, &review).is_ok());
}

#[test]
fn a_decision_too_large_to_sign_is_refused_with_what_to_shorten() {
    // The largest partial-execution review that still signs: its decision adds the conditions
    // of use and the selectors to the reviewer's explanation, and no longer fits.
    let w = World::eu_enforcing();
    let mut r = w.traffic_request();
    r.categories = vec![Subscriber, Traffic];
    r.offence.code = "unlicensed-gambling".into();
    let trace = w.evaluate(&r);
    assert!(
        matches!(trace.proposal, Proposal::Partial { .. }),
        "{:?}",
        trace.proposal
    );
    let verdict = ReviewVerdict::Partial {
        categories: vec![Subscriber],
    };
    let mut len = 65_500;
    let review = loop {
        let mut doc = w
            .review(&trace, verdict.clone(), &w.reviewer)
            .verify(&w.reviewer.verifying_key())
            .unwrap();
        doc.grounds = vec![ground("reviewer", &"x".repeat(len))];
        doc.note.clear();
        if let Ok(signed) = Signed::sign(&doc, &w.reviewer) {
            break signed;
        }
        len -= 50;
    };
    match finalize(&w, &trace, &r, &review) {
        Err(ReviewError::TooLarge { size, max }) => {
            assert!(size > max);
            assert_eq!(max, 64 * 1024);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let e = ReviewError::TooLarge {
        size: 70_000,
        max: 65_536,
    }
    .to_string();
    assert!(e.contains("shorten"), "{e}");
}
