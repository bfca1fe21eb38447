//! Whole requests, as the legal reference's scenarios describe them.

use evx_protocol::document::{DataCategory, Outcome};
use evx_protocol::policy::{Proposal, RuleId, Verdict};

use crate::fixture::*;

#[test]
fn the_baseline_request_is_accepted_under_both_examples() {
    for w in [World::eu(), World::budapest()] {
        let trace = w.evaluate(&w.request());
        for r in &trace.results {
            assert!(
                matches!(r.verdict, Verdict::Pass | Verdict::NotApplicable),
                "{}: {} — {}",
                r.rule,
                r.verdict.as_str(),
                r.explanation
            );
        }
        assert_eq!(trace.proposal, Proposal::Accept, "{}", w.agreement.id);
        let d = trace.decision(T0.plus_secs(7200));
        assert!(matches!(d.outcome, Outcome::Accept { .. }));
    }
}

#[test]
fn content_without_judicial_validation_is_a_proposed_refusal() {
    let w = World::eu();
    let mut r = w.request();
    r.categories = vec![DataCategory::Content];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    assert!(matches!(
        trace.proposal,
        Proposal::Refuse {
            automatic: false,
            ..
        }
    ));
    // With the judge's validation over this very request, it passes.
    let trace = w.evaluate_validated(&r);
    expect(&trace, RuleId::Issuer, Verdict::Pass);
    expect(&trace, RuleId::Validation, Verdict::Pass);
    assert_eq!(trace.proposal, Proposal::Accept);
}
