//! Whole requests, as the legal reference's scenarios describe them.

use evx_protocol::document::{
    AuthorityType, DataCategory, Extension, Instrument, Outcome, Proceeding, RequestType, Selector,
    TimeRange,
};
use evx_protocol::ids::RequestId;
use evx_protocol::policy::{self, Concern, Hold, Proposal, RuleId, Verdict};
use evx_protocol::purpose::Purpose;

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
        let d = trace.decision(T0.plus_secs(7200)).unwrap();
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

#[test]
fn traffic_below_the_three_year_threshold_is_a_proposed_refusal_under_the_eu_example() {
    let w = World::eu();
    let mut r = w.traffic_request();
    r.offence.code = "fraud".into(); // listed, but not an Art. 5(4)(b)-(d) offence
    r.offence.max_penalty_months = 24;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Penalty, Verdict::Fail);
    expect_proposed_refusal(&trace, &["below-penalty-threshold"]);
    let d = trace.decision(RECEIVED).unwrap();
    assert!(matches!(d.outcome, Outcome::PendingReview { .. }), "{d:?}");

    // Subscriber data have no threshold: asked for together, they may go on their own.
    r.categories = vec![DataCategory::Subscriber, DataCategory::Traffic];
    let trace = w.evaluate(&r);
    assert!(
        matches!(&trace.proposal, Proposal::Partial { categories, .. } if categories == &[DataCategory::Subscriber]),
        "{:?}",
        trace.proposal
    );
    assert_eq!(ground_codes(&trace), ["below-penalty-threshold"]);

    // Three years meet it.
    r.categories = vec![DataCategory::Traffic];
    r.offence.max_penalty_months = 36;
    assert_eq!(w.evaluate(&r).proposal, Proposal::Accept);
}

#[test]
fn an_offence_on_the_political_list_waits_for_a_reviewer() {
    let w = World::eu();
    let mut r = w.request();
    r.offence.code = "insulting-state-organs".into();
    r.offence.statute = "§ 90b StGB".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::PoliticalOffence, Verdict::NeedsReview);
    match &trace.proposal {
        Proposal::Review { reasons } => {
            assert_eq!(reasons.len(), 1, "{reasons:?}");
            assert!(reasons[0].starts_with("T02-political-offence: "));
        }
        p => panic!("expected review, got {p:?}"),
    }
    assert_eq!(trace.review_due, Some(RECEIVED.plus_secs(10 * DAY)));
    let d = trace.decision(RECEIVED).unwrap();
    assert_eq!(
        d.outcome,
        Outcome::PendingReview {
            reason: "review: 1 reason(s)".into(),
            due_at: RECEIVED.plus_secs(10 * DAY),
        }
    );
    assert_eq!(d.trace_digest, Some(trace.digest()));
    assert_eq!(d.review_digest, None);

    // Under Budapest the list is empty, but a flag raised at intake does the same.
    let w = World::budapest();
    let flags = [flag(
        Concern::PoliticalOffence,
        "protest organiser; see country note",
    )];
    let trace = w.evaluate_with(&w.request(), &[], &flags);
    expect(&trace, RuleId::PoliticalOffence, Verdict::NeedsReview);
    assert!(matches!(trace.proposal, Proposal::Review { .. }));
}

#[test]
fn bulk_selectors_are_a_proposed_refusal_on_the_bulk_ground() {
    let w = World::eu();
    let bulk = [
        Selector::Email("*@example.com".into()),
        Selector::IpRange {
            network: ip(198, 51, 100, 0),
            prefix_len: 24,
        },
        Selector::Keyword("bitcoin ransom".into()),
    ];
    for selector in bulk {
        let mut r = w.request();
        r.selectors = vec![selector.clone()];
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::Particularity, Verdict::Fail);
        expect_proposed_refusal(&trace, &["bulk-selector"]);
        let Proposal::Refuse { grounds, .. } = &trace.proposal else {
            unreachable!()
        };
        assert!(grounds[0].legal_source.contains("Budapest Arts 29, 31"));
        assert!(
            grounds[0]
                .explanation
                .starts_with("bulk collection is out of scope")
        );
        assert!(matches!(
            trace.decision(RECEIVED).unwrap().outcome,
            Outcome::PendingReview { .. }
        ));
    }

    // An agreement may make the bulk ground automatic: then it is final.
    let mut w = World::eu();
    w.agreement.automatic_refusals.push("bulk-selector".into());
    let mut r = w.request();
    r.selectors.push(Selector::Keyword("bitcoin ransom".into()));
    let trace = w.evaluate(&r);
    assert!(matches!(
        trace.proposal,
        Proposal::Refuse {
            automatic: true,
            ..
        }
    ));
    assert!(!trace.needs_reviewer());
    assert_eq!(trace.review_due, None);
    match trace.decision(RECEIVED).unwrap().outcome {
        Outcome::Refuse { grounds } => assert_eq!(grounds[0].code, "bulk-selector"),
        o => panic!("expected refusal, got {o:?}"),
    }
}

#[test]
fn a_civil_case_is_a_proposed_refusal() {
    for w in [World::eu(), World::budapest()] {
        let mut r = w.request();
        r.proceeding = Proceeding::Civil;
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::CriminalScope, Verdict::Fail);
        expect_proposed_refusal(&trace, &["not-criminal-proceeding"]);
        expect(&trace, RuleId::PartialFirst, Verdict::NotApplicable);
    }
}

#[test]
fn an_emergency_needs_its_justification() {
    let w = World::eu();
    let trace = w.evaluate(&w.emergency_request());
    assert_eq!(trace.proposal, Proposal::Accept);
    // 8 hours to deliver (EU Art. 10(4)); a review would be due within 96 hours.
    assert_eq!(trace.due.decide_by, Some(RECEIVED.plus_secs(8 * HOUR)));
    assert_eq!(trace.due.deliver_by, Some(RECEIVED.plus_secs(8 * HOUR)));

    let mut r = w.emergency_request();
    r.emergency = None;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::EmergencyJustified, Verdict::Fail);
    let Proposal::Incomplete { missing } = &trace.proposal else {
        panic!("expected incomplete, got {:?}", trace.proposal)
    };
    let fields: Vec<&str> = missing.iter().map(|m| m.field.as_str()).collect();
    assert_eq!(fields, ["emergency.justification"]);
    match trace.decision(RECEIVED).unwrap().outcome {
        Outcome::Incomplete { missing: m } => assert_eq!(&m, missing),
        o => panic!("expected incomplete, got {o:?}"),
    }

    // An emergency that goes to review gets the emergency review period (96 h under the EU
    // example), cut to the 8-hour decision deadline: the emergency must still be decided in time.
    let flags = [flag(Concern::ThirdCountryLaw, "provider cites US law")];
    let trace = w.evaluate_with(&w.emergency_request(), &[], &flags);
    assert_eq!(trace.due.decide_by, Some(RECEIVED.plus_secs(8 * HOUR)));
    assert_eq!(trace.review_due, Some(RECEIVED.plus_secs(8 * HOUR)));
    // A non-emergency review gets the full review period, here equal to the decision deadline.
    let trace = w.evaluate_with(&w.request(), &[], &flags);
    assert_eq!(trace.review_due, Some(RECEIVED.plus_secs(10 * DAY)));
}

#[test]
fn an_unvalidated_police_emergency_may_have_subscriber_data_but_not_content() {
    let w = World::eu();
    let mut r = w.emergency_request();
    r.issuer.authority_type = AuthorityType::LawEnforcement;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Pass);
    expect(&trace, RuleId::EmergencyScope, Verdict::Pass);
    assert_eq!(trace.proposal, Proposal::Accept);
    assert_eq!(trace.due.validation_by, Some(RECEIVED.plus_secs(48 * HOUR)));
    assert_eq!(trace.due.decide_by, Some(RECEIVED.plus_secs(8 * HOUR)));

    let mut content = r.clone();
    content.categories = vec![DataCategory::Content];
    content.notification_ref = Some("IE-NOTIF-2026-78".into());
    let trace = w.evaluate(&content);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    expect(&trace, RuleId::EmergencyScope, Verdict::Fail);
    expect_proposed_refusal(&trace, &["issuer-not-competent", "emergency-not-allowed"]);

    // Validated by the investigating judge, the content emergency passes and no validation is
    // awaited.
    let trace = w.evaluate_validated(&content);
    expect(&trace, RuleId::EmergencyScope, Verdict::Pass);
    assert_eq!(trace.proposal, Proposal::Accept);
    assert_eq!(trace.due.validation_by, None);

    // A prosecutor's own emergency order needs no validation either.
    assert_eq!(w.evaluate(&w.emergency_request()).due.validation_by, None);
}

#[test]
fn preservation_then_one_extension_under_the_eu_example() {
    let w = World::eu();
    let mut r = w.request();
    r.request_type = RequestType::Preservation;
    r.categories = vec![DataCategory::Traffic, DataCategory::Content];
    let trace = w.evaluate(&r);
    assert_eq!(trace.proposal, Proposal::Accept);
    expect(&trace, RuleId::Preservation, Verdict::Pass);
    expect(&trace, RuleId::Penalty, Verdict::NotApplicable);
    expect(&trace, RuleId::DualCriminality, Verdict::NotApplicable);
    expect(&trace, RuleId::Notification, Verdict::NotApplicable);
    let until = RECEIVED.plus_secs(60 * DAY);
    assert_eq!(trace.due.preserve_until, Some(until));
    assert_eq!(trace.due.decide_by, Some(RECEIVED.plus_secs(24 * HOUR)));
    assert_eq!(trace.due.deliver_by, None);
    assert_eq!(trace.due.release_not_before, None);

    let hold = Hold {
        request_id: r.request_id,
        expires_at: until,
        extensions_used: 0,
    };
    let ext = |days| Extension {
        v: 1,
        request_id: RequestId([11; 16]),
        preservation_ref: r.request_id,
        issued_at: T0.plus_secs(50 * DAY),
        extend_by_days: days,
        reason: "production order in preparation".into(),
    };
    let first = policy::extend(&w.agreement, &hold, &ext(30), RECEIVED.plus_secs(50 * DAY));
    assert_eq!(
        first.result.verdict,
        Verdict::Pass,
        "{}",
        first.result.explanation
    );
    let extended = first.hold.unwrap();
    assert_eq!(extended.expires_at, until.plus_secs(30 * DAY));
    assert_eq!(extended.extensions_used, 1);

    let second = policy::extend(
        &w.agreement,
        &extended,
        &ext(30),
        RECEIVED.plus_secs(80 * DAY),
    );
    assert_eq!(second.result.verdict, Verdict::Fail);
    assert!(second.result.explanation.contains("allows 1 extension(s)"));
    assert_eq!(second.hold, None);

    // Budapest allows three.
    let w = World::budapest();
    let mut h = Hold {
        expires_at: RECEIVED.plus_secs(60 * DAY),
        ..hold
    };
    for n in 1..=3 {
        let out = policy::extend(&w.agreement, &h, &ext(60), h.expires_at);
        assert_eq!(out.result.verdict, Verdict::Pass, "extension {n}");
        h = out.hold.unwrap();
        assert_eq!(h.extensions_used, n);
    }
    assert_eq!(h.expires_at, RECEIVED.plus_secs(240 * DAY));
    let out = policy::extend(&w.agreement, &h, &ext(60), h.expires_at);
    assert_eq!(out.result.verdict, Verdict::Fail);
}

#[test]
fn no_dual_criminality_is_a_proposed_refusal() {
    // An offence code the table does not know, at a node that checks dual criminality.
    let w = World::eu_enforcing();
    let mut r = w.traffic_request();
    r.offence.code = "unlicensed-gambling".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Fail);
    expect_proposed_refusal(&trace, &["no-dual-criminality"]);

    // A row that records the conduct as not criminal in the requested party.
    let w = World::budapest();
    let mut r = w.request();
    r.offence.code = "defamation".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Fail);
    // The failed safeguard is proposed; the sensitive-offence trigger is in the trace for the
    // reviewer.
    expect(&trace, RuleId::SensitiveOffence, Verdict::NeedsReview);
    expect_proposed_refusal(&trace, &["no-dual-criminality"]);
}

#[test]
fn the_stricter_retention_of_the_two_profiles_applies() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    assert_eq!(trace.conditions.retention_days, Some(365));
    assert!(
        trace
            .conditions
            .notes
            .iter()
            .any(|n| n.contains("Delete after 365 days")),
        "{:?}",
        trace.conditions.notes
    );
    let w = World::budapest();
    assert_eq!(
        w.evaluate(&w.request()).conditions.retention_days,
        Some(730)
    );
    // The decision carries the conditions.
    match w.evaluate(&w.request()).decision(RECEIVED).unwrap().outcome {
        Outcome::Accept { conditions } => {
            assert_eq!(conditions.retention_days, Some(730));
            assert!(
                conditions
                    .notes
                    .iter()
                    .any(|n| n.contains("within 24 hours"))
            );
        }
        o => panic!("expected accept, got {o:?}"),
    }
}

#[test]
fn suspended_transfers_are_refused_automatically() {
    for mut w in [World::eu(), World::budapest()] {
        w.agreement.transfers.suspended = true;
        w.agreement.transfers.suspension_reason = "Decision of the ministry, 2026-11-01".into();
        // Even a request that is incomplete and would otherwise be reviewed.
        let mut r = w.request();
        r.facts = String::new();
        r.offence.code = "insulting-state-organs".into();
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::Suspension, Verdict::Fail);
        let Proposal::Refuse { grounds, automatic } = &trace.proposal else {
            panic!("expected refusal, got {:?}", trace.proposal)
        };
        assert!(automatic);
        assert_eq!(grounds.len(), 1);
        assert_eq!(grounds[0].code, "transfers-suspended");
        assert!(grounds[0].explanation.contains("Decision of the ministry"));
        assert!(!trace.needs_reviewer());
        assert_eq!(trace.review_due, None);
        let d = trace.decision(RECEIVED).unwrap();
        assert_eq!(
            d.outcome,
            Outcome::Refuse {
                grounds: grounds.clone()
            }
        );
        assert_eq!(d.review_digest, None);
        assert_eq!(d.trace_digest, Some(trace.digest()));
    }
}

#[test]
fn a_request_under_an_instrument_not_in_force_is_a_proposed_refusal() {
    let w = World::eu();
    let mut r = w.request();
    r.instrument = Instrument::Budapest;
    let trace = w.evaluate(&r);
    expect_proposed_refusal(&trace, &["unsupported-instrument"]);
    let mut r = w.request();
    r.instrument = Instrument::BudapestSecondProtocol;
    expect_proposed_refusal(&w.evaluate(&r), &["unsupported-instrument"]);
}

#[test]
fn a_forged_or_misbound_validation_does_not_validate() {
    let w = World::eu();
    let mut r = w.request();
    r.categories = vec![DataCategory::Content];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let signed = w.sign(&r);

    // Signed by a key nobody registered, claiming to be an investigating judge.
    let forged = [w.validate_with(&signed, &w.stranger, AuthorityType::InvestigatingJudge)];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&forged));
    expect(&trace, RuleId::Validation, Verdict::Fail);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    expect_proposed_refusal(
        &trace,
        &["issuer-not-competent", "validation-not-authentic"],
    );

    // The real judge's signature, over another request.
    let mut other = r.clone();
    other.request_id = RequestId([8; 16]);
    let misbound = [w.validate(&w.sign(&other))];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&misbound));
    expect(&trace, RuleId::Validation, Verdict::Fail);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    explains(&trace, RuleId::Validation, "signed for another request");
}

#[test]
fn the_eu_enforcing_authority_must_be_notified_unless_art_8_2_applies() {
    let w = World::eu();
    let mut r = w.traffic_request();
    r.notification_ref = None;
    let trace = w.evaluate(&r);
    let Proposal::Incomplete { missing } = &trace.proposal else {
        panic!("expected incomplete, got {:?}", trace.proposal)
    };
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].field, "notification_ref");

    // Offence in Germany, person living in Germany: no notification needed, no waiting.
    r.territory.offence_in_issuing_state = true;
    r.territory.person_resides_in_issuing_state = Some(true);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Notification, Verdict::Pass);
    assert_eq!(trace.proposal, Proposal::Accept);
    assert_eq!(trace.due.release_not_before, None);

    // Only one of the two is not enough.
    r.territory.offence_in_issuing_state = false;
    expect(&w.evaluate(&r), RuleId::Notification, Verdict::Fail);
}

#[test]
fn asset_recovery_is_refused_under_both_examples() {
    for w in [World::eu(), World::budapest()] {
        let mut r = w.request();
        r.purpose = Purpose::AssetRecovery;
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::Purpose, Verdict::Fail);
        expect_proposed_refusal(&trace, &["purpose-not-allowed"]);
    }
}

#[test]
fn due_dates_follow_the_agreement() {
    let w = World::eu();
    // Production of subscriber data: 10 days, nothing to wait for.
    let due = w.evaluate(&w.request()).due;
    assert_eq!(due.decide_by, Some(RECEIVED.plus_secs(10 * DAY)));
    assert_eq!(due.deliver_by, Some(RECEIVED.plus_secs(10 * DAY)));
    assert_eq!(due.release_not_before, None);
    assert_eq!(due.validation_by, None);
    assert_eq!(due.preserve_until, None);

    // Notified traffic data wait out the enforcing authority's 10 days (Art. 10(2)).
    let trace = w.evaluate(&w.traffic_request());
    assert_eq!(trace.proposal, Proposal::Accept);
    assert_eq!(trace.due.decide_by, Some(RECEIVED.plus_secs(10 * DAY)));
    assert_eq!(
        trace.due.release_not_before,
        Some(RECEIVED.plus_secs(10 * DAY))
    );
    assert!(trace.due.deliver_by >= trace.due.release_not_before);
    // The decision carries the due dates.
    assert_eq!(trace.decision(RECEIVED).unwrap().due, trace.due);

    // Except in an emergency (Art. 8(4)).
    let mut r = w.traffic_request();
    r.emergency = Some(evx_protocol::document::Emergency {
        justification: JUSTIFICATION.into(),
    });
    let due = w.evaluate(&r).due;
    assert_eq!(due.release_not_before, None);
    assert_eq!(due.decide_by, Some(RECEIVED.plus_secs(8 * HOUR)));

    // Preservation: held 60 days from receipt.
    let mut r = w.request();
    r.request_type = RequestType::Preservation;
    assert_eq!(
        w.evaluate(&r).due.preserve_until,
        Some(RECEIVED.plus_secs(60 * DAY))
    );

    // Budapest: 45 days to produce, 10 days to decide on real-time collection.
    let w = World::budapest();
    assert_eq!(
        w.evaluate(&w.request()).due.decide_by,
        Some(RECEIVED.plus_secs(45 * DAY))
    );
    let mut r = w.traffic_request();
    r.request_type = RequestType::RealTimeCollection;
    r.time_range = TimeRange {
        from: RECEIVED,
        to: RECEIVED.plus_secs(10 * DAY),
    };
    let due = w.evaluate(&r).due;
    assert_eq!(due.decide_by, Some(RECEIVED.plus_secs(10 * DAY)));
    assert_eq!(due.deliver_by, Some(RECEIVED.plus_secs(10 * DAY)));
}

#[test]
fn a_proposed_refusal_is_pending_review_until_the_review_is_due() {
    let w = World::eu();
    let mut r = w.request();
    r.proceeding = Proceeding::Prevention;
    let trace = w.evaluate(&r);
    let due = trace
        .review_due
        .expect("a proposed refusal has a review date");
    assert_eq!(due, RECEIVED.plus_secs(10 * DAY));
    let d = trace.decision(RECEIVED.plus_secs(60)).unwrap();
    assert_eq!(d.decided_at, RECEIVED.plus_secs(60));
    match d.outcome {
        Outcome::PendingReview { reason, due_at } => {
            assert_eq!(due_at, due);
            assert_eq!(reason, "proposed refusal: not-criminal-proceeding");
        }
        o => panic!("expected pending review, got {o:?}"),
    }
}

#[test]
fn fields_only_refused_categories_need_are_not_asked_for_where_partial_execution_is_possible() {
    // A prosecutor asks for subscriber and traffic data; the person does not live in Germany
    // and no notification reference is given. Traffic needs a judge (R03) and a notification
    // (R11); subscriber data need neither. Asking for the reference would only delay the
    // subscriber data, which can go now.
    let w = World::eu();
    let mut r = w.request();
    r.categories = vec![DataCategory::Subscriber, DataCategory::Traffic];
    r.notification_ref = None;
    r.territory.person_resides_in_issuing_state = Some(false);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    expect(&trace, RuleId::Notification, Verdict::Fail);
    assert_eq!(
        result(&trace, RuleId::Notification).categories,
        [DataCategory::Traffic]
    );
    assert_eq!(missing(&trace, RuleId::Notification), ["notification_ref"]);
    expect(&trace, RuleId::PartialFirst, Verdict::NeedsReview);
    match &trace.proposal {
        Proposal::Partial {
            categories,
            grounds,
        } => {
            assert_eq!(categories, &[DataCategory::Subscriber]);
            let codes: Vec<&str> = grounds.iter().map(|g| g.code.as_str()).collect();
            assert_eq!(codes, ["issuer-not-competent"]);
        }
        p => panic!("expected partial, not {p:?}"),
    }
    assert!(matches!(
        trace.decision(RECEIVED).unwrap().outcome,
        Outcome::PendingReview { .. }
    ));

    // Ordered by a judge, traffic can go too: then the reference is asked for.
    r.issuer.authority_type = AuthorityType::InvestigatingJudge;
    let trace = w.evaluate(&r);
    match &trace.proposal {
        Proposal::Incomplete { missing } => {
            let fields: Vec<&str> = missing.iter().map(|m| m.field.as_str()).collect();
            assert_eq!(fields, ["notification_ref"]);
        }
        p => panic!("expected incomplete, not {p:?}"),
    }

    // A missing field of the whole request is still asked for.
    r.issuer.authority_type = AuthorityType::Prosecutor;
    r.offence.statute.clear();
    let trace = w.evaluate(&r);
    match &trace.proposal {
        Proposal::Incomplete { missing } => {
            let fields: Vec<&str> = missing.iter().map(|m| m.field.as_str()).collect();
            assert_eq!(fields, ["offence.statute"]);
        }
        p => panic!("expected incomplete, not {p:?}"),
    }

    // Without partial execution (traffic alone), the reference is asked for as before.
    let mut r = w.request();
    r.categories = vec![DataCategory::Traffic];
    r.territory.person_resides_in_issuing_state = Some(false);
    assert!(matches!(
        w.evaluate(&r).proposal,
        Proposal::Incomplete { .. }
    ));
}

#[test]
fn the_sample_production_request_is_accepted_under_the_eu_example_once_validated() {
    use evx_protocol::document::Signed;
    use evx_protocol::sample;

    let w = World::eu();
    let r = sample::production_request(RequestId([3; 16]));
    assert_eq!(r.notification_ref, None);
    assert_eq!(r.territory.person_resides_in_issuing_state, Some(true));
    let signed = w.sign(&r);
    let v = [Signed::sign(&sample::validation(&signed, &r), &w.judge).unwrap()];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&v));
    assert_eq!(trace.proposal, Proposal::Accept, "{:#?}", trace.results);
    // Offence and person in Germany: no notification, no waiting window (Art. 8(2)).
    expect(&trace, RuleId::Notification, Verdict::Pass);
    explains(&trace, RuleId::Notification, "Art. 8(2)");
    assert_eq!(trace.due.release_not_before, None);
    // The provider does not check dual criminality.
    expect(&trace, RuleId::DualCriminality, Verdict::NotApplicable);

    // Without the judge's validation, only the subscriber data may go.
    let trace = w.evaluate(&r);
    assert!(
        matches!(&trace.proposal, Proposal::Partial { categories, .. } if categories == &[DataCategory::Subscriber]),
        "{:?}",
        trace.proposal
    );
}
