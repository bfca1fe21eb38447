//! Every rule of the catalogue, one at a time: a request that meets it and one that does not,
//! asserting that rule's own verdict and what it says (explanation, missing fields, the
//! categories a failure is scoped to).

use std::collections::HashSet;

use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{
    AuthorityType, DataCategory, Emergency, Extension, Instrument, Proceeding, ProtectedStatus,
    RequestType, Selector, Signed, TimeRange,
};
use evx_protocol::ids::{RequestId, UnixTime};
use evx_protocol::policy::{
    self, AutomatedDecisions, Channel, Comparison, Concern, Hold, KeyRole, OnwardTransferRule,
    Oversight, PrivilegedList, Proposal, Remedy, RuleClass, RuleId, SensitiveData, Trace,
    TrustedKey, Verdict,
};
use evx_protocol::purpose::{OnwardTransfer, Purpose};

use crate::fixture::*;

use DataCategory::{Content, Identification, Subscriber, Traffic};

fn accounts(n: usize) -> Vec<Selector> {
    (0..n)
        .map(|i| Selector::Account {
            service: "mail.provider.example".into(),
            account: format!("user{i}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The catalogue itself

#[test]
fn the_catalogue_has_unique_ids_that_round_trip_and_grounds_for_every_safeguard() {
    let mut ids = HashSet::new();
    let mut grounds = HashSet::new();
    for &rule in RuleId::ALL {
        assert!(ids.insert(rule.id()), "id {} listed twice", rule.id());
        assert_eq!(RuleId::from_id(rule.id()), Some(rule), "{}", rule.id());
        assert_eq!(rule.to_string(), rule.id());
        assert!(!rule.title().trim().is_empty(), "{rule} has no title");
        assert!(!rule.source().trim().is_empty(), "{rule} has no source");
        match rule.class() {
            RuleClass::Safeguard => {
                let g = rule
                    .ground()
                    .unwrap_or_else(|| panic!("safeguard {rule} has no ground code"));
                assert!(!g.is_empty() && !g.contains(' '), "{rule}: ground {g:?}");
                assert!(grounds.insert(g), "ground {g} used by two rules");
            }
            _ => assert_eq!(rule.ground(), None, "{rule} is not a safeguard"),
        }
    }
    assert_eq!(ids.len(), RuleId::ALL.len());
    assert_eq!(RuleId::from_id("R99-no-such-rule"), None);
    assert_eq!(RuleId::from_id(""), None);
    // The rules table lists every rule once, in order.
    let table = policy::rules_table();
    let rows: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(rows.len(), RuleId::ALL.len());
    for (row, rule) in rows.iter().zip(RuleId::ALL) {
        assert!(row.starts_with(&format!("| `{}` |", rule.id())), "{row}");
    }
}

#[test]
fn the_rules_table_says_whether_a_reviewer_may_release_over_each_rule() {
    let table = policy::rules_table();
    let mut lines = table.lines();
    assert_eq!(
        lines.next(),
        Some("| Id | Checks | Legal source | On failure | Ground code | Reviewer may release |")
    );
    assert_eq!(lines.next(), Some("|---|---|---|---|---|---|"));
    let mut overridable = Vec::new();
    for (row, &rule) in lines.zip(RuleId::ALL) {
        let last = row.trim_end_matches('|').rsplit('|').next().unwrap().trim();
        let want = match rule.class() {
            RuleClass::Safeguard if rule.reviewer_may_override() => "yes",
            RuleClass::Safeguard | RuleClass::Precondition => "no",
            _ => "—",
        };
        assert_eq!(last, want, "{row}");
        if last == "yes" {
            overridable.push(rule);
        }
    }
    assert_eq!(
        overridable,
        [
            RuleId::DualCriminality,
            RuleId::SelectorLimits,
            RuleId::DataProtection,
            RuleId::Retention
        ]
    );
}

#[test]
fn every_trace_has_one_result_per_rule_in_catalogue_order() {
    for w in [World::eu(), World::budapest()] {
        let mut civil = w.request();
        civil.proceeding = Proceeding::Civil;
        civil.selectors.push(Selector::Keyword("ransom".into()));
        let mut empty = w.request();
        empty.categories.clear();
        empty.selectors.clear();
        empty.facts.clear();
        for r in [w.request(), civil, empty, w.emergency_request()] {
            let trace = w.evaluate(&r);
            let order: Vec<RuleId> = trace.results.iter().map(|r| r.rule).collect();
            assert_eq!(order, RuleId::ALL, "{}", w.agreement.id);
            for res in &trace.results {
                assert!(
                    !res.explanation.trim().is_empty(),
                    "{} explains nothing",
                    res.rule
                );
                assert_eq!(trace.result(res.rule), Some(res));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// R01 instrument

#[test]
fn r01_passes_for_an_instrument_in_force_that_provides_the_request_type() {
    for w in [World::eu(), World::budapest()] {
        let trace = w.evaluate(&w.request());
        expect(&trace, RuleId::Instrument, Verdict::Pass);
        explains(&trace, RuleId::Instrument, &w.agreement.id);
    }
    // Budapest provides real-time collection (Arts 33-34).
    let w = World::budapest();
    let mut r = w.traffic_request();
    r.request_type = RequestType::RealTimeCollection;
    r.time_range = TimeRange {
        from: RECEIVED,
        to: RECEIVED.plus_secs(10 * DAY),
    };
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Pass);
    expect(&trace, RuleId::RequiredFields, Verdict::Pass);
    expect(&trace, RuleId::SelectorLimits, Verdict::Pass);
}

#[test]
fn r01_fails_for_an_instrument_not_in_force() {
    let w = World::eu();
    let mut r = w.request();
    r.instrument = Instrument::Budapest;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Fail);
    explains(
        &trace,
        RuleId::Instrument,
        "the Budapest Convention is not in force",
    );
    assert!(result(&trace, RuleId::Instrument).categories.is_empty());
}

#[test]
fn r01_fails_for_a_request_type_the_instrument_does_not_provide() {
    let w = World::eu();
    let mut r = w.request();
    r.request_type = RequestType::RealTimeCollection;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Fail);
    explains(
        &trace,
        RuleId::Instrument,
        "Reg. (EU) 2023/1543 provides no real-time collection request",
    );
}

#[test]
fn r01_fails_for_a_party_outside_the_agreement_or_the_same_party_on_both_sides() {
    let w = World::eu();
    let mut r = w.request();
    r.requesting_party = party("FR-PNC");
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Fail);
    explains(&trace, RuleId::Instrument, "party FR-PNC is not a party");

    let mut r = w.request();
    r.requested_party = r.requesting_party.clone();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Fail);
    explains(&trace, RuleId::Instrument, "the same party");
}

#[test]
fn r01_a_preserved_traffic_disclosure_reaches_only_traffic_data() {
    let w = World::budapest();
    let mut r = w.traffic_request();
    r.request_type = RequestType::PreservedTrafficDisclosure;
    r.preservation_ref = Some(RequestId([9; 16]));
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Pass);
    assert_eq!(trace.proposal, Proposal::Accept);

    for (asked, outside) in [
        (vec![Subscriber, Traffic], vec![Subscriber]),
        (vec![Traffic, Content], vec![Content]),
        (
            vec![Identification, Traffic, Content],
            vec![Identification, Content],
        ),
    ] {
        r.categories = asked.clone();
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::Instrument, Verdict::Fail);
        assert_eq!(result(&trace, RuleId::Instrument).categories, outside);
        explains(
            &trace,
            RuleId::Instrument,
            "a preserved-traffic disclosure request under the Budapest Convention does not \
             reach",
        );
        // Traffic data can still go: partial execution, for a reviewer.
        match &trace.proposal {
            Proposal::Partial { categories, .. } => assert_eq!(categories, &[Traffic]),
            p => panic!("{asked:?}: expected partial, got {p:?}"),
        }
        assert!(ground_codes(&trace).contains(&"unsupported-instrument".to_owned()));
    }
    // Nothing but subscriber data: nothing can go.
    r.categories = vec![Subscriber];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Fail);
    expect(&trace, RuleId::PartialFirst, Verdict::NotApplicable);
    expect_proposed_refusal(&trace, &["unsupported-instrument"]);
}

#[test]
fn r01_a_second_protocol_production_order_does_not_reach_content() {
    let mut w = World::budapest();
    w.agreement
        .instruments
        .push(Instrument::BudapestSecondProtocol);
    let mut r = w.request();
    r.instrument = Instrument::BudapestSecondProtocol;
    r.issuer.authority_type = AuthorityType::Judge;
    r.offence.max_penalty_months = 60;
    r.categories = vec![Subscriber, Traffic];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Pass);
    explains(
        &trace,
        RuleId::Instrument,
        "production request under the Second Additional Protocol (CETS 224)",
    );
    assert_eq!(trace.proposal, Proposal::Accept);

    r.categories = vec![Subscriber, Traffic, Content];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Instrument, Verdict::Fail);
    assert_eq!(result(&trace, RuleId::Instrument).categories, [Content]);
    explains(&trace, RuleId::Instrument, "does not reach content data");
    match &trace.proposal {
        Proposal::Partial { categories, .. } => assert_eq!(categories, &[Subscriber, Traffic]),
        p => panic!("expected partial, got {p:?}"),
    }
    // Under the Convention itself, the same order reaches content.
    r.instrument = Instrument::Budapest;
    expect(&w.evaluate(&r), RuleId::Instrument, Verdict::Pass);
}

#[test]
fn r05_is_not_applicable_to_a_preserved_traffic_disclosure_without_a_reservation() {
    let mut w = World::budapest();
    let mut r = w.traffic_request();
    r.request_type = RequestType::PreservedTrafficDisclosure;
    r.preservation_ref = Some(RequestId([9; 16]));
    r.offence.code = "defamation".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::NotApplicable);
    explains(
        &trace,
        RuleId::DualCriminality,
        "disclosure of preserved traffic data",
    );
    // With an Art. 29(4) reservation it is checked.
    w.agreement.dual_criminality.required_for_preservation = true;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Fail);
    assert_eq!(
        result(&trace, RuleId::DualCriminality).categories,
        [Traffic]
    );
}

// ---------------------------------------------------------------------------------------------
// R02 criminal proceedings

#[test]
fn r02_passes_for_a_criminal_proceeding_and_names_the_case() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::CriminalScope, Verdict::Pass);
    explains(&trace, RuleId::CriminalScope, "DE-StA-Berlin/2026/0412");
}

#[test]
fn r02_fails_for_civil_administrative_and_prevention_proceedings() {
    let w = World::eu();
    for (p, words) in [
        (Proceeding::Civil, "civil proceedings"),
        (Proceeding::Administrative, "administrative proceedings"),
        (
            Proceeding::Prevention,
            "prevention without a criminal investigation",
        ),
    ] {
        let mut r = w.request();
        r.proceeding = p;
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::CriminalScope, Verdict::Fail);
        explains(&trace, RuleId::CriminalScope, words);
        explains(&trace, RuleId::CriminalScope, "out of scope");
        assert!(result(&trace, RuleId::CriminalScope).categories.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// R03 issuing authority

#[test]
fn r03_passes_for_an_issuer_competent_alone() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Issuer, Verdict::Pass);
    explains(
        &trace,
        RuleId::Issuer,
        "issuer type prosecutor may order subscriber alone",
    );
    let trace = w.evaluate(&w.traffic_request());
    expect(&trace, RuleId::Issuer, Verdict::Pass);
}

#[test]
fn r03_passes_with_a_verified_judicial_validation() {
    let w = World::eu();
    let mut r = w.request();
    r.categories = vec![Content];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let trace = w.evaluate_validated(&r);
    expect(&trace, RuleId::Issuer, Verdict::Pass);
    explains(&trace, RuleId::Issuer, "with validation by");
}

#[test]
fn r03_fails_only_for_the_categories_the_issuer_may_not_order() {
    let w = World::eu();
    let mut r = w.request();
    r.categories = vec![Subscriber, Traffic];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    assert_eq!(result(&trace, RuleId::Issuer).categories, vec![Traffic]);
    explains(&trace, RuleId::Issuer, "may not order traffic");

    // Police may not order even subscriber data outside an emergency under the EU example.
    let mut r = w.request();
    r.issuer.authority_type = AuthorityType::LawEnforcement;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    assert_eq!(result(&trace, RuleId::Issuer).categories, vec![Subscriber]);
}

#[test]
fn r03_a_validator_type_counts_only_for_the_categories_it_may_validate() {
    // A prosecutor's validation makes a police order for subscriber data valid (EU Art.
    // 4(1)(b)), but not one for content (Art. 4(2)(b)).
    let mut w = World::eu();
    let prosecutor = SigningKey::from_seed(&[6; 32]);
    w.registry.add(TrustedKey {
        key: prosecutor.verifying_key(),
        party: w.requesting.clone(),
        role: KeyRole::JudicialAuthority {
            authority: "Staatsanwaltschaft Berlin".into(),
            authority_type: AuthorityType::Prosecutor,
        },
    });
    let mut r = w.request();
    r.issuer.authority_type = AuthorityType::LawEnforcement;
    r.categories = vec![Subscriber, Content];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let signed = w.sign(&r);
    let v = [w.validate_with(&signed, &prosecutor, AuthorityType::Prosecutor)];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&v));
    expect(&trace, RuleId::Validation, Verdict::Pass);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    assert_eq!(result(&trace, RuleId::Issuer).categories, vec![Content]);
}

#[test]
fn r03_preservation_issuers_may_preserve_any_category() {
    let w = World::eu();
    let mut r = w.request();
    r.request_type = RequestType::Preservation;
    r.categories = vec![Subscriber, Traffic, Content];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Pass);
    // Police may not order preservation under the EU example (Art. 4(3)).
    r.issuer.authority_type = AuthorityType::LawEnforcement;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    assert_eq!(
        result(&trace, RuleId::Issuer).categories,
        vec![Subscriber, Traffic, Content]
    );
}

// ---------------------------------------------------------------------------------------------
// R03a judicial validation

#[test]
fn r03a_is_not_applicable_without_a_validation_and_passes_with_the_judges() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Validation, Verdict::NotApplicable);
    let trace = w.evaluate_validated(&w.request());
    expect(&trace, RuleId::Validation, Verdict::Pass);
    explains(&trace, RuleId::Validation, "1 validation(s) verified");
}

#[test]
fn r03a_fails_for_a_validation_by_an_unregistered_key() {
    let w = World::eu();
    let r = w.request();
    let signed = w.sign(&r);
    let v = [w.validate_with(&signed, &w.stranger, AuthorityType::InvestigatingJudge)];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&v));
    expect(&trace, RuleId::Validation, Verdict::Fail);
    explains(&trace, RuleId::Validation, "is not in the registry");
}

#[test]
fn r03a_fails_for_a_validation_over_another_request() {
    let w = World::eu();
    let r = w.request();
    let mut other = w.request();
    other.facts.push_str(" Amended.");
    let v = [w.validate(&w.sign(&other))];
    let trace = w.evaluate_with(&r, &v, &[]);
    expect(&trace, RuleId::Validation, Verdict::Fail);
    explains(&trace, RuleId::Validation, "signed for another request");
}

#[test]
fn r03a_fails_for_a_non_judicial_key_a_wrong_type_or_another_partys_judge() {
    let mut w = World::eu();
    let r = w.request();
    let signed = w.sign(&r);

    // The police document key is registered, but not as a judicial authority.
    let v = [w.validate_with(&signed, &w.police, AuthorityType::Judge)];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&v));
    expect(&trace, RuleId::Validation, Verdict::Fail);
    explains(&trace, RuleId::Validation, "not a judicial authority's key");

    // The judge claims to be a court; the registry says investigating judge.
    let v = [w.validate_with(&signed, &w.judge, AuthorityType::Court)];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&v));
    expect(&trace, RuleId::Validation, Verdict::Fail);
    explains(&trace, RuleId::Validation, "claims type court");

    // A judge of the requested party cannot validate the requesting party's order.
    let irish_judge = SigningKey::from_seed(&[7; 32]);
    w.registry.add(TrustedKey {
        key: irish_judge.verifying_key(),
        party: w.requested.clone(),
        role: KeyRole::JudicialAuthority {
            authority: "District Court Dublin".into(),
            authority_type: AuthorityType::Judge,
        },
    });
    let v = [w.validate_with(&signed, &irish_judge, AuthorityType::Judge)];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&v));
    expect(&trace, RuleId::Validation, Verdict::Fail);
    explains(&trace, RuleId::Validation, "not to the requesting party");
}

#[test]
fn r03a_fails_for_a_tampered_signature_even_next_to_a_good_validation() {
    let w = World::eu();
    let r = w.request();
    let signed = w.sign(&r);
    let good = w.validate(&signed);
    let mut wire = good.encode();
    wire[40] ^= 1; // inside the signature
    let bad = Signed::decode(&wire).unwrap();
    let v = [good, bad];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&v));
    expect(&trace, RuleId::Validation, Verdict::Fail);
    explains(&trace, RuleId::Validation, "validation 1:");
    assert!(
        !result(&trace, RuleId::Validation)
            .explanation
            .contains("validation 0")
    );
}

// ---------------------------------------------------------------------------------------------
// R04 penalty threshold

#[test]
fn r04_passes_at_the_threshold_and_for_a_listed_offence_by_ict() {
    let w = World::eu();
    let trace = w.evaluate(&w.traffic_request());
    expect(&trace, RuleId::Penalty, Verdict::Pass);
    explains(
        &trace,
        RuleId::Penalty,
        "36 months meets every category's threshold",
    );

    let mut r = w.traffic_request();
    r.offence.max_penalty_months = 12;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Penalty, Verdict::Pass);
    explains(
        &trace,
        RuleId::Penalty,
        "traffic: listed offence committed by means of an information system",
    );
}

#[test]
fn r04_fails_below_the_threshold_for_the_categories_concerned() {
    let w = World::eu();
    let mut r = w.traffic_request();
    r.categories = vec![Subscriber, Traffic];
    r.offence.max_penalty_months = 35;
    r.offence.committed_via_ict = false;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Penalty, Verdict::Fail);
    assert_eq!(result(&trace, RuleId::Penalty).categories, vec![Traffic]);
    explains(
        &trace,
        RuleId::Penalty,
        "maximum penalty 35 months is below the threshold: traffic needs at least 36",
    );

    // The ICT exemption needs an ict-listed offence: fraud is listed, but not ict-listed.
    let mut r = w.traffic_request();
    r.offence.code = "fraud".into();
    r.offence.max_penalty_months = 24;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Penalty, Verdict::Fail);
}

#[test]
fn r04_more_than_is_strict_and_not_applicable_to_preservation() {
    let mut w = World::eu();
    w.agreement.categories.traffic.penalty_comparison = Comparison::MoreThan;
    let mut r = w.traffic_request();
    r.offence.committed_via_ict = false;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Penalty, Verdict::Fail);
    explains(&trace, RuleId::Penalty, "traffic needs more than 36");
    r.offence.max_penalty_months = 37;
    expect(&w.evaluate(&r), RuleId::Penalty, Verdict::Pass);

    let mut r = w.traffic_request();
    r.request_type = RequestType::Preservation;
    r.offence.max_penalty_months = 1;
    expect(&w.evaluate(&r), RuleId::Penalty, Verdict::NotApplicable);
}

#[test]
fn r04_budapest_content_needs_four_years() {
    let w = World::budapest();
    let mut r = w.request();
    r.categories = vec![Content];
    r.issuer.authority_type = AuthorityType::Judge;
    r.offence.max_penalty_months = 47;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Penalty, Verdict::Fail);
    explains(&trace, RuleId::Penalty, "content needs at least 48");
    r.offence.max_penalty_months = 48;
    expect(&w.evaluate(&r), RuleId::Penalty, Verdict::Pass);
}

// ---------------------------------------------------------------------------------------------
// R05 dual criminality

#[test]
fn r05_passes_for_an_offence_criminal_in_both() {
    let w = World::eu_enforcing();
    let trace = w.evaluate(&w.traffic_request());
    expect(&trace, RuleId::DualCriminality, Verdict::Pass);
    explains(&trace, RuleId::DualCriminality, "`illegal-access`");
    explains(&trace, RuleId::DualCriminality, "criminal in both parties");
}

#[test]
fn r05_is_not_applicable_to_unchecked_categories_or_to_preservation() {
    let w = World::eu();
    let mut r = w.request();
    r.offence.code = "no-such-offence".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::NotApplicable);
    explains(
        &trace,
        RuleId::DualCriminality,
        "not required for subscriber",
    );

    let w = World::budapest();
    let mut r = w.request();
    r.request_type = RequestType::Preservation;
    r.offence.code = "defamation".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::NotApplicable);
    explains(
        &trace,
        RuleId::DualCriminality,
        "not required for preservation",
    );
}

#[test]
fn r05_fails_for_an_offence_missing_from_the_table_for_the_checked_categories_only() {
    let w = World::eu_enforcing();
    let mut r = w.traffic_request();
    r.categories = vec![Subscriber, Traffic];
    r.offence.code = "jaywalking".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Fail);
    assert_eq!(
        result(&trace, RuleId::DualCriminality).categories,
        vec![Traffic]
    );
    // The request's own spelling is not echoed: only its length.
    explains(
        &trace,
        RuleId::DualCriminality,
        "the offence code (10 bytes) is not in the agreement's dual-criminality table",
    );
    for res in &trace.results {
        assert!(
            !res.explanation.contains("jaywalking"),
            "{}: {}",
            res.rule,
            res.explanation
        );
    }
}

#[test]
fn r05_fails_for_a_row_not_criminal_in_both() {
    let w = World::budapest();
    let mut r = w.request();
    r.offence.code = "defamation".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Fail);
    assert_eq!(
        result(&trace, RuleId::DualCriminality).categories,
        vec![Subscriber]
    );
    explains(
        &trace,
        RuleId::DualCriminality,
        "not criminal in the requested party",
    );

    // With an Art. 29(4) reservation, preservation is checked too.
    let mut w = World::budapest();
    w.agreement.dual_criminality.required_for_preservation = true;
    r.request_type = RequestType::Preservation;
    expect(&w.evaluate(&r), RuleId::DualCriminality, Verdict::Fail);
}

#[test]
fn r05_a_listed_offence_of_three_years_is_not_verified() {
    let mut w = World::eu_enforcing();
    let row = w
        .agreement
        .dual_criminality
        .offences
        .iter_mut()
        .find(|o| o.code == "fraud")
        .unwrap();
    row.criminal_in_both = false;
    assert!(row.listed);
    let mut r = w.traffic_request();
    r.offence.code = "fraud".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Pass);
    explains(&trace, RuleId::DualCriminality, "not verified");
    r.offence.max_penalty_months = 35;
    expect(&w.evaluate(&r), RuleId::DualCriminality, Verdict::Fail);
}

// ---------------------------------------------------------------------------------------------
// R06 required fields

#[test]
fn r06_passes_when_every_field_is_present() {
    for w in [World::eu(), World::budapest()] {
        let trace = w.evaluate(&w.request());
        expect(&trace, RuleId::RequiredFields, Verdict::Pass);
        explains(&trace, RuleId::RequiredFields, "production request");
    }
}

#[test]
fn r06_lists_every_missing_field_in_order() {
    let w = World::eu();
    let mut r = w.request();
    r.issuer.authority = String::new();
    r.issuer.file_number = "   ".into();
    r.issuer.contact = String::new();
    r.offence.code = String::new();
    r.offence.statute = String::new();
    r.offence.max_penalty_months = 0;
    r.facts = "Too short.".into();
    r.categories.clear();
    r.selectors.clear();
    r.time_range = TimeRange {
        from: T0,
        to: UnixTime(T0.0 - DAY),
    };
    r.issued_at = RECEIVED.plus_secs(DAY);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::RequiredFields, Verdict::Fail);
    let want = [
        "issuer.authority",
        "issuer.file_number",
        "issuer.contact",
        "offence.code",
        "offence.statute",
        "offence.max_penalty_months",
        "facts",
        "categories",
        "selectors",
        "time_range",
        "issued_at",
    ];
    assert_eq!(missing(&trace, RuleId::RequiredFields), want);
    explains(
        &trace,
        RuleId::RequiredFields,
        "to supply or correct: issuer.authority",
    );
    for m in &result(&trace, RuleId::RequiredFields).missing {
        assert!(!m.explanation.is_empty(), "{} has no explanation", m.field);
    }
    // The proposal asks for exactly these fields.
    match &trace.proposal {
        Proposal::Incomplete { missing } => {
            let fields: Vec<&str> = missing.iter().map(|m| m.field.as_str()).collect();
            assert_eq!(fields, want);
        }
        p => panic!("expected incomplete, got {p:?}"),
    }
}

#[test]
fn r06_checks_duplicates_future_data_and_the_type_specific_fields() {
    let w = World::budapest();

    let mut r = w.request();
    r.categories = vec![Subscriber, Subscriber];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::RequiredFields, Verdict::Fail);
    assert_eq!(missing(&trace, RuleId::RequiredFields), ["categories"]);

    let mut r = w.request();
    r.time_range.to = RECEIVED.plus_secs(2 * DAY);
    let trace = w.evaluate(&r);
    assert_eq!(missing(&trace, RuleId::RequiredFields), ["time_range.to"]);

    let mut r = w.request();
    r.request_type = RequestType::PreservedTrafficDisclosure;
    r.categories = vec![Traffic];
    let trace = w.evaluate(&r);
    assert_eq!(
        missing(&trace, RuleId::RequiredFields),
        ["preservation_ref"]
    );
    r.preservation_ref = Some(RequestId([9; 16]));
    expect(&w.evaluate(&r), RuleId::RequiredFields, Verdict::Pass);

    let mut r = w.traffic_request();
    r.request_type = RequestType::RealTimeCollection;
    r.time_range = TimeRange {
        from: RECEIVED,
        to: RECEIVED,
    };
    let trace = w.evaluate(&r);
    assert_eq!(missing(&trace, RuleId::RequiredFields), ["time_range"]);

    // Preservation needs no penalty; the clock may be five minutes behind the issuer's.
    let mut r = w.request();
    r.request_type = RequestType::Preservation;
    r.offence.max_penalty_months = 0;
    r.issued_at = RECEIVED.plus_secs(300);
    expect(&w.evaluate(&r), RuleId::RequiredFields, Verdict::Pass);
    r.issued_at = RECEIVED.plus_secs(301);
    assert_eq!(
        missing(&w.evaluate(&r), RuleId::RequiredFields),
        ["issued_at"]
    );
}

#[test]
fn r06_an_offence_code_is_one_to_sixty_four_printable_ascii_characters_without_spaces() {
    let w = World::eu();
    for code in [
        String::new(),
        "illegal access".to_owned(),
        " illegal-access".to_owned(),
        "illegal-access\n".to_owned(),
        "illegal\taccess".to_owned(),
        "accès-illégal".to_owned(),
        "illegal\u{0}access".to_owned(),
        "c".repeat(65),
    ] {
        let mut r = w.request();
        r.offence.code = code.clone();
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::RequiredFields, Verdict::Fail);
        assert_eq!(
            missing(&trace, RuleId::RequiredFields),
            ["offence.code"],
            "{code:?}"
        );
        let m = &result(&trace, RuleId::RequiredFields).missing[0];
        assert!(m.explanation.contains("1 to 64 printable ASCII"), "{m:?}");
        assert!(
            matches!(trace.proposal, Proposal::Incomplete { .. }),
            "{code:?}"
        );
    }
    // Sixty-four characters of any printable ASCII are a code in form, known or not.
    for code in [
        "c".repeat(64),
        "x".to_owned(),
        "a~!`{}".to_owned(),
        "ILLEGAL-ACCESS".to_owned(),
    ] {
        let mut r = w.request();
        r.offence.code = code.clone();
        expect(&w.evaluate(&r), RuleId::RequiredFields, Verdict::Pass);
    }
}

#[test]
fn r05_and_t02_never_echo_an_offence_code_the_agreement_does_not_spell() {
    let w = World::eu_enforcing();
    let code = "ZQXsecret-operation-name";
    let mut r = w.traffic_request();
    r.offence.code = code.into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Fail);
    explains(
        &trace,
        RuleId::DualCriminality,
        &format!(
            "the offence code ({} bytes) is not in the agreement's dual-criminality table",
            code.len()
        ),
    );
    expect(&trace, RuleId::PoliticalOffence, Verdict::NeedsReview);
    assert_eq!(
        result(&trace, RuleId::PoliticalOffence).explanation,
        "the offence code is not in the agreement's table: a person must check that it is not \
         a political or connected offence"
    );
    for res in &trace.results {
        assert!(
            !res.explanation.contains("ZQX"),
            "{}: {}",
            res.rule,
            res.explanation
        );
    }
    let bytes = trace.encode();
    assert!(!bytes.windows(3).any(|x| x == b"ZQX"));

    // A known code is named as the agreement spells it, not as the request wrote it.
    let mut r = w.traffic_request();
    r.offence.code = "ILLEGAL-Access".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Pass);
    explains(&trace, RuleId::DualCriminality, "`illegal-access`");
    let mut r = w.request();
    r.offence.code = "INSULTING-state-organs".into();
    let trace = w.evaluate(&r);
    explains(&trace, RuleId::PoliticalOffence, "`insulting-state-organs`");
    for res in &trace.results {
        assert!(
            !res.explanation.contains("INSULTING"),
            "{}: {}",
            res.rule,
            res.explanation
        );
    }
    let w = World::budapest();
    let mut r = w.request();
    r.offence.code = "DEFAMATION".into();
    let trace = w.evaluate(&r);
    explains(
        &trace,
        RuleId::SensitiveOffence,
        "`defamation` is on the agreement's list",
    );
    explains(
        &trace,
        RuleId::DualCriminality,
        "the agreement records `defamation`",
    );
    for res in &trace.results {
        assert!(
            !res.explanation.contains("DEFAMATION"),
            "{}: {}",
            res.rule,
            res.explanation
        );
    }
}

#[test]
fn r06_a_real_time_window_starts_no_earlier_than_receipt() {
    let w = World::budapest();
    let mut r = w.traffic_request();
    r.request_type = RequestType::RealTimeCollection;
    // Five minutes of clock skew are tolerated.
    r.time_range = TimeRange {
        from: UnixTime(RECEIVED.0 - 300),
        to: RECEIVED.plus_secs(10 * DAY),
    };
    expect(&w.evaluate(&r), RuleId::RequiredFields, Verdict::Pass);
    r.time_range.from = RECEIVED.plus_secs(DAY);
    expect(&w.evaluate(&r), RuleId::RequiredFields, Verdict::Pass);

    for from in [UnixTime(RECEIVED.0 - 301), T0, UnixTime(T0.0 - 30 * DAY)] {
        r.time_range.from = from;
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::RequiredFields, Verdict::Fail);
        assert_eq!(
            missing(&trace, RuleId::RequiredFields),
            ["time_range.from"],
            "{from:?}"
        );
        let m = &result(&trace, RuleId::RequiredFields).missing[0];
        assert!(m.explanation.contains("production request"), "{m:?}");
    }
    // Stored data are not held to it: a production request looks back.
    let mut r = w.traffic_request();
    r.time_range.from = UnixTime(T0.0 - 30 * DAY);
    expect(&w.evaluate(&r), RuleId::RequiredFields, Verdict::Pass);
}

// ---------------------------------------------------------------------------------------------
// R07a selector form

#[test]
fn r07a_passes_for_one_well_formed_selector_of_each_concrete_kind() {
    let w = World::budapest();
    let mut r = w.request();
    r.selectors = vec![
        Selector::Account {
            service: "mail.provider.example".into(),
            account: "k.lenz".into(),
        },
        Selector::Email("k.lenz@provider.example".into()),
        Selector::Phone("+4930123456".into()),
        Selector::IpAddress {
            address: ip(203, 0, 113, 9),
            port: Some(51_234),
            at: UnixTime(T0.0 - DAY),
        },
        Selector::Device("356938035643809".into()),
        Selector::Domain("ransom-drop.example".into()),
    ];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::SelectorForm, Verdict::Pass);
    explains(
        &trace,
        RuleId::SelectorForm,
        "6 selector(s), each well-formed",
    );
    expect(&trace, RuleId::Particularity, Verdict::Pass);
}

#[test]
fn r07a_asks_for_each_malformed_selector_by_position() {
    let w = World::eu();
    let mut r = w.request();
    r.selectors = vec![
        Selector::Email("k.lenz.provider.example".into()),
        Selector::Account {
            service: "mail.provider.example".into(),
            account: "k.lenz".into(),
        },
        Selector::Phone("030 123456".into()),
        Selector::IpAddress {
            address: ip(203, 0, 113, 9),
            port: None,
            at: RECEIVED.plus_secs(DAY), // after the end of the time range
        },
        Selector::Domain("localhost".into()),
        // One host as a range: carries no time, so it is asked for as an address.
        Selector::IpRange {
            network: ip(203, 0, 113, 9),
            prefix_len: 32,
        },
    ];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::SelectorForm, Verdict::Fail);
    assert_eq!(
        missing(&trace, RuleId::SelectorForm),
        [
            "selectors[0]",
            "selectors[2]",
            "selectors[3]",
            "selectors[4]",
            "selectors[5]"
        ]
    );
    let m = &result(&trace, RuleId::SelectorForm).missing;
    assert!(m[0].explanation.starts_with("e-mail address:"), "{m:?}");
    assert!(
        m[2].explanation
            .contains("outside the request's time range"),
        "{m:?}"
    );
    // Malformed is not bulk.
    expect(&trace, RuleId::Particularity, Verdict::Pass);
    // Explanations never repeat selector values.
    for res in &trace.results {
        assert!(
            !res.explanation.contains("k.lenz"),
            "{}: {}",
            res.rule,
            res.explanation
        );
        for f in &res.missing {
            assert!(
                !f.explanation.contains("k.lenz"),
                "{}: {}",
                f.field,
                f.explanation
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// R07b particularity

#[test]
fn r07b_passes_for_particular_targets() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Particularity, Verdict::Pass);
    explains(&trace, RuleId::Particularity, "one particular target");
}

#[test]
fn r07b_fails_for_every_kind_of_pattern_range_keyword_and_area() {
    let w = World::eu();
    let bulk = [
        (Selector::Email("*@example.com".into()), "e-mail address"),
        (
            Selector::Account {
                service: "mail.provider.example".into(),
                account: "k.%".into(),
            },
            "account",
        ),
        (Selector::Phone("+49301234xxxx".into()), "phone number"),
        (Selector::Domain("*.example.com".into()), "domain"),
        (Selector::Device("3569380356.*".into()), "device id"),
        (
            Selector::IpRange {
                network: ip(198, 51, 100, 0),
                prefix_len: 24,
            },
            "address range",
        ),
        (Selector::Keyword("ransomware".into()), "keyword"),
        (
            Selector::Area {
                latitude_e6: 52_520_008,
                longitude_e6: 13_404_954,
                radius_m: 500,
            },
            "area",
        ),
    ];
    for (selector, kind) in bulk {
        let mut r = w.request();
        r.selectors = vec![w.request().selectors[0].clone(), selector.clone()];
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::Particularity, Verdict::Fail);
        explains(
            &trace,
            RuleId::Particularity,
            &format!("selector 1 ({kind})"),
        );
        // A pattern is refused, not sent back as malformed.
        expect(&trace, RuleId::SelectorForm, Verdict::Pass);
        let e = &result(&trace, RuleId::Particularity).explanation;
        for value in [
            "example.com",
            "k.%",
            "4930",
            "ransomware",
            "52520008",
            "198.51",
        ] {
            assert!(
                !e.contains(value),
                "{selector:?}: explanation names the value: {e}"
            );
        }
    }
    let mut r = w.request();
    r.selectors = vec![Selector::IpRange {
        network: ip(198, 51, 100, 0),
        prefix_len: 24,
    }];
    explains(
        &w.evaluate(&r),
        RuleId::Particularity,
        "a /24 range covers 2^8 addresses",
    );
}

// ---------------------------------------------------------------------------------------------
// R07c selector limits

#[test]
fn r07c_passes_within_the_limits() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::SelectorLimits, Verdict::Pass);
    explains(
        &trace,
        RuleId::SelectorLimits,
        "1 of at most 10 selectors; 60 of at most 365 days",
    );
    let mut r = w.request();
    r.selectors = accounts(10);
    r.time_range.from = UnixTime(T0.0 - 365 * DAY);
    expect(&w.evaluate(&r), RuleId::SelectorLimits, Verdict::Pass);
}

#[test]
fn r07c_fails_for_too_many_selectors_or_too_long_a_range() {
    let w = World::eu();
    let mut r = w.request();
    r.selectors = accounts(11);
    r.time_range.from = UnixTime(T0.0 - 366 * DAY);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::SelectorLimits, Verdict::Fail);
    explains(
        &trace,
        RuleId::SelectorLimits,
        "11 selectors, at most 10 allowed",
    );
    explains(
        &trace,
        RuleId::SelectorLimits,
        "a time range of 366 days, at most 365 allowed",
    );
    assert!(result(&trace, RuleId::SelectorLimits).categories.is_empty());
}

#[test]
fn r07c_limits_the_real_time_window_and_when_it_ends() {
    let w = World::budapest();
    let mut r = w.traffic_request();
    r.request_type = RequestType::RealTimeCollection;
    r.time_range = TimeRange {
        from: RECEIVED,
        to: RECEIVED.plus_secs(31 * DAY),
    };
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::SelectorLimits, Verdict::Fail);
    explains(
        &trace,
        RuleId::SelectorLimits,
        "a real-time window of 31 days, at most 30 allowed",
    );
    r.time_range = TimeRange {
        from: RECEIVED.plus_secs(20 * DAY),
        to: RECEIVED.plus_secs(40 * DAY),
    };
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::SelectorLimits, Verdict::Fail);
    explains(&trace, RuleId::SelectorLimits, "must end by");
    r.time_range = TimeRange {
        from: RECEIVED,
        to: RECEIVED.plus_secs(30 * DAY),
    };
    expect(&w.evaluate(&r), RuleId::SelectorLimits, Verdict::Pass);
}

// ---------------------------------------------------------------------------------------------
// R08 purpose

#[test]
fn r08_passes_for_an_allowed_purpose_bound_to_the_case() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Purpose, Verdict::Pass);
    explains(
        &trace,
        RuleId::Purpose,
        "purpose investigation, bound to case",
    );
}

#[test]
fn r08_fails_for_a_purpose_the_agreement_does_not_allow() {
    for w in [World::eu(), World::budapest()] {
        let mut r = w.request();
        r.purpose = Purpose::AssetRecovery;
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::Purpose, Verdict::Fail);
        explains(&trace, RuleId::Purpose, "asset recovery is not allowed");
        explains(
            &trace,
            RuleId::Purpose,
            "allowed: investigation, prosecution, sentence_enforcement",
        );
    }
    let mut w = World::eu();
    w.agreement.purposes = vec![Purpose::Investigation];
    let mut r = w.request();
    r.purpose = Purpose::Prosecution;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Purpose, Verdict::Fail);
    explains(
        &trace,
        RuleId::Purpose,
        "purpose prosecution is not allowed",
    );
}

// ---------------------------------------------------------------------------------------------
// R09 onward transfer

#[test]
fn r09_passes_without_onward_transfer_or_to_pre_authorised_recipients() {
    let mut w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::OnwardTransfer, Verdict::Pass);
    assert_eq!(
        trace.conditions.onward_transfer,
        OnwardTransfer::DenyWithoutAuthorisation
    );

    let mut r = w.request();
    r.onward_transfer = OnwardTransfer::AuthorisedTo(Vec::new());
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::OnwardTransfer, Verdict::Pass);
    explains(
        &trace,
        RuleId::OnwardTransfer,
        "no onward transfer asked for",
    );

    w.agreement.transfers.preauthorised_onward = vec![party("EUROPOL")];
    r.onward_transfer = OnwardTransfer::AuthorisedTo(vec![party("EUROPOL")]);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::OnwardTransfer, Verdict::Pass);
    assert_eq!(
        trace.conditions.onward_transfer,
        OnwardTransfer::AuthorisedTo(vec![party("EUROPOL")])
    );
}

#[test]
fn r09_needs_review_for_an_onward_transfer_asked_for_in_advance() {
    let mut w = World::eu();
    w.agreement.transfers.preauthorised_onward = vec![party("EUROPOL")];
    let mut r = w.request();
    r.onward_transfer = OnwardTransfer::AuthorisedTo(vec![party("EUROPOL"), party("US-FBI")]);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::OnwardTransfer, Verdict::NeedsReview);
    explains(&trace, RuleId::OnwardTransfer, "onward transfer to US-FBI");
    assert!(
        !result(&trace, RuleId::OnwardTransfer)
            .explanation
            .contains("EUROPOL")
    );
    // Until a reviewer authorises it, the conditions deny it.
    assert_eq!(
        trace.conditions.onward_transfer,
        OnwardTransfer::DenyWithoutAuthorisation
    );
    assert!(matches!(trace.proposal, Proposal::Review { .. }));

    // A requested party whose profile prohibits onward transfer: review, and deny.
    w.agreement.parties[1].data_protection.onward_transfer = OnwardTransferRule::Prohibited;
    r.onward_transfer = OnwardTransfer::AuthorisedTo(vec![party("EUROPOL")]);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::OnwardTransfer, Verdict::NeedsReview);
    explains(&trace, RuleId::OnwardTransfer, "prohibits it");
    assert_eq!(
        trace.conditions.onward_transfer,
        OnwardTransfer::DenyWithoutAuthorisation
    );
}

// ---------------------------------------------------------------------------------------------
// R10 preservation period

#[test]
fn r10_passes_for_a_preservation_and_a_follow_up() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Preservation, Verdict::NotApplicable);

    let mut r = w.request();
    r.request_type = RequestType::Preservation;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Preservation, Verdict::Pass);
    explains(
        &trace,
        RuleId::Preservation,
        "hold for 60 days, until 2027-01-19T10:00:00Z; up to 1 extension(s) of 30 days",
    );

    let mut r = w.request();
    r.preservation_ref = Some(RequestId([9; 16]));
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Preservation, Verdict::Pass);
    explains(
        &trace,
        RuleId::Preservation,
        "follows preservation request 0909",
    );
}

fn extension(preservation: RequestId, days: u32) -> Extension {
    Extension {
        v: 1,
        request_id: RequestId([10; 16]),
        preservation_ref: preservation,
        issued_at: T0.plus_secs(50 * DAY),
        extend_by_days: days,
        reason: "the production order is being drafted".into(),
    }
}

#[test]
fn r10_grants_an_extension_within_the_agreement() {
    let w = World::eu();
    let hold = Hold {
        request_id: RequestId([7; 16]),
        expires_at: RECEIVED.plus_secs(60 * DAY),
        extensions_used: 0,
    };
    let out = policy::extend(
        &w.agreement,
        &hold,
        &extension(hold.request_id, 30),
        RECEIVED.plus_secs(55 * DAY),
    );
    assert_eq!(out.result.rule, RuleId::Preservation);
    assert_eq!(
        out.result.verdict,
        Verdict::Pass,
        "{}",
        out.result.explanation
    );
    assert!(out.result.explanation.contains("extension 1 of 1 granted"));
    assert_eq!(
        out.hold,
        Some(Hold {
            request_id: hold.request_id,
            expires_at: RECEIVED.plus_secs(90 * DAY),
            extensions_used: 1,
        })
    );
}

#[test]
fn r10_refuses_an_extension_too_long_too_many_expired_or_of_another_hold() {
    let w = World::eu();
    let hold = Hold {
        request_id: RequestId([7; 16]),
        expires_at: RECEIVED.plus_secs(60 * DAY),
        extensions_used: 0,
    };
    let at = RECEIVED.plus_secs(55 * DAY);
    let cases = [
        (hold, extension(hold.request_id, 31), at, "1 to 30 days; 31"),
        (hold, extension(hold.request_id, 0), at, "1 to 30 days; 0"),
        (
            Hold {
                extensions_used: 1,
                ..hold
            },
            extension(hold.request_id, 30),
            at,
            "allows 1 extension(s) and 1 granted",
        ),
        (
            hold,
            extension(hold.request_id, 30),
            hold.expires_at.plus_secs(1),
            "expired",
        ),
        (
            hold,
            extension(RequestId([8; 16]), 30),
            at,
            "names preservation request 0808",
        ),
    ];
    for (hold, ext, at, words) in cases {
        let out = policy::extend(&w.agreement, &hold, &ext, at);
        assert_eq!(out.result.rule, RuleId::Preservation);
        assert_eq!(out.result.verdict, Verdict::Fail, "{words}");
        assert!(
            out.result.explanation.contains(words),
            "{words:?} not in {:?}",
            out.result.explanation
        );
        assert_eq!(out.hold, None);
    }
}

// ---------------------------------------------------------------------------------------------
// R11 enforcing authority notified

#[test]
fn r11_passes_with_a_notification_reference_or_under_art_8_2() {
    let w = World::eu();
    let trace = w.evaluate(&w.traffic_request());
    expect(&trace, RuleId::Notification, Verdict::Pass);
    explains(
        &trace,
        RuleId::Notification,
        "enforcing authority notified for traffic",
    );

    let mut r = w.traffic_request();
    r.notification_ref = None;
    r.territory.person_resides_in_issuing_state = Some(true);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Notification, Verdict::Pass);
    explains(&trace, RuleId::Notification, "Art. 8(2)");

    // Subscriber data are never notified.
    expect(
        &w.evaluate(&w.request()),
        RuleId::Notification,
        Verdict::NotApplicable,
    );
}

#[test]
fn r11_asks_for_the_notification_reference() {
    let w = World::eu();
    let mut r = w.traffic_request();
    r.categories = vec![Subscriber, Traffic, Content];
    r.notification_ref = Some("  ".into());
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Notification, Verdict::Fail);
    assert_eq!(missing(&trace, RuleId::Notification), ["notification_ref"]);
    let m = &result(&trace, RuleId::Notification).missing[0];
    assert!(
        m.explanation.contains("traffic, content"),
        "{}",
        m.explanation
    );

    // An unknown residence counts as "not resident".
    r.notification_ref = None;
    r.territory.person_resides_in_issuing_state = None;
    expect(&w.evaluate(&r), RuleId::Notification, Verdict::Fail);
}

// ---------------------------------------------------------------------------------------------
// R12a emergency justified

#[test]
fn r12a_passes_for_a_stated_risk_and_is_not_applicable_otherwise() {
    let w = World::eu();
    expect(
        &w.evaluate(&w.request()),
        RuleId::EmergencyJustified,
        Verdict::NotApplicable,
    );
    let trace = w.evaluate(&w.emergency_request());
    expect(&trace, RuleId::EmergencyJustified, Verdict::Pass);
    // An emergency block on a production request makes it an emergency too.
    let mut r = w.request();
    r.emergency = Some(Emergency {
        justification: "x".repeat(40),
    });
    expect(&w.evaluate(&r), RuleId::EmergencyJustified, Verdict::Pass);
}

#[test]
fn r12a_asks_for_a_justification_that_is_missing_or_too_short() {
    let w = World::eu();
    for justification in [None, Some("urgent"), Some("   "), Some(&*"x".repeat(39))] {
        let mut r = w.emergency_request();
        r.emergency = justification.map(|j| Emergency {
            justification: j.into(),
        });
        let trace = w.evaluate(&r);
        expect(&trace, RuleId::EmergencyJustified, Verdict::Fail);
        assert_eq!(
            missing(&trace, RuleId::EmergencyJustified),
            ["emergency.justification"]
        );
        let m = &result(&trace, RuleId::EmergencyJustified).missing[0];
        assert!(
            m.explanation.contains("at least 40 characters"),
            "{}",
            m.explanation
        );
    }
}

// ---------------------------------------------------------------------------------------------
// R12b emergency scope

#[test]
fn r12b_passes_for_a_competent_or_an_allowed_unvalidated_emergency() {
    let w = World::eu();
    expect(
        &w.evaluate(&w.request()),
        RuleId::EmergencyScope,
        Verdict::NotApplicable,
    );

    let trace = w.evaluate(&w.emergency_request());
    expect(&trace, RuleId::EmergencyScope, Verdict::Pass);
    explains(&trace, RuleId::EmergencyScope, "ordered or validated");

    let mut r = w.emergency_request();
    r.issuer.authority_type = AuthorityType::LawEnforcement;
    r.categories = vec![Subscriber, Identification];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::EmergencyScope, Verdict::Pass);
    explains(
        &trace,
        RuleId::EmergencyScope,
        "unvalidated emergency for subscriber, identification: judicial validation due within 48 hours",
    );
    expect(&trace, RuleId::Issuer, Verdict::Pass);
    explains(
        &trace,
        RuleId::Issuer,
        "in an emergency, subject to validation",
    );
}

#[test]
fn r12b_fails_beyond_the_unvalidated_categories_or_without_an_emergency_procedure() {
    let w = World::eu();
    let mut r = w.emergency_request();
    r.issuer.authority_type = AuthorityType::LawEnforcement;
    r.categories = vec![Subscriber, Content];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::EmergencyScope, Verdict::Fail);
    assert_eq!(
        result(&trace, RuleId::EmergencyScope).categories,
        vec![Content]
    );
    explains(
        &trace,
        RuleId::EmergencyScope,
        "may ask only for subscriber, identification; content need a judicial validation",
    );

    let mut w = World::eu();
    w.agreement.emergency.allowed = false;
    let trace = w.evaluate(&w.emergency_request());
    expect(&trace, RuleId::EmergencyScope, Verdict::Fail);
    explains(&trace, RuleId::EmergencyScope, "no emergency procedure");
    assert!(result(&trace, RuleId::EmergencyScope).categories.is_empty());
}

// ---------------------------------------------------------------------------------------------
// R13 authenticated channel

#[test]
fn r13_passes_over_mutual_tls_with_a_document_key_of_the_requesting_party() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Channel, Verdict::Pass);
    explains(
        &trace,
        RuleId::Channel,
        "mutual TLS; signed by document key",
    );
    explains(&trace, RuleId::Channel, "of DE-BfJ");
}

#[test]
fn r13_fails_without_mutual_tls_or_encryption() {
    let w = World::eu();
    let r = w.request();
    let signed = w.sign(&r);
    for channel in [
        Channel {
            mutual_tls: false,
            encrypted: true,
        },
        Channel {
            mutual_tls: true,
            encrypted: false,
        },
    ] {
        let mut intake = w.intake(&signed, &r);
        intake.channel = channel;
        let trace = w.run(&intake);
        expect(&trace, RuleId::Channel, Verdict::Fail);
        explains(&trace, RuleId::Channel, "mutually authenticated, encrypted");
    }
}

#[test]
fn r13_fails_for_an_unlisted_key_or_a_key_that_is_not_the_requesting_partys_document_key() {
    let mut w = World::eu();
    let r = w.request();
    let by = |key: &SigningKey| Signed::sign(&r, key).unwrap();

    let signed = by(&w.stranger);
    let trace = w.run(&w.intake(&signed, &r));
    expect(&trace, RuleId::Channel, Verdict::Fail);
    explains(&trace, RuleId::Channel, "which the registry does not list");

    let signed = by(&w.judge);
    let trace = w.run(&w.intake(&signed, &r));
    expect(&trace, RuleId::Channel, Verdict::Fail);
    explains(
        &trace,
        RuleId::Channel,
        "which is not a document key of DE-BfJ",
    );

    // The requested party's own document key cannot sign the requesting party's request.
    let provider = SigningKey::from_seed(&[8; 32]);
    w.registry.add(TrustedKey {
        key: provider.verifying_key(),
        party: w.requested.clone(),
        role: KeyRole::Documents,
    });
    let signed = by(&provider);
    let trace = w.run(&w.intake(&signed, &r));
    expect(&trace, RuleId::Channel, Verdict::Fail);
    explains(&trace, RuleId::Channel, "of IE-provider-LERT");
}

#[test]
fn r13_is_a_precondition_whose_failure_blocks_every_decision() {
    assert_eq!(RuleId::Channel.class(), RuleClass::Precondition);
    assert_eq!(RuleId::Channel.ground(), None);
    assert!(!RuleId::Channel.reviewer_may_override());

    let w = World::eu();
    let r = w.request();
    // An unknown signer.
    let signed = Signed::sign(&r, &w.stranger).unwrap();
    let trace = w.run(&w.intake(&signed, &r));
    expect(&trace, RuleId::Channel, Verdict::Fail);
    match &trace.proposal {
        Proposal::Blocked { reasons } => {
            assert_eq!(reasons.len(), 1, "{reasons:?}");
            assert!(
                reasons[0].starts_with("R13-authenticated-channel: signed by key "),
                "{reasons:?}"
            );
        }
        p => panic!("expected blocked, got {p:?}"),
    }
    assert_eq!(trace.decision(RECEIVED), None);
    assert!(!trace.needs_reviewer());
    assert_eq!(trace.review_due, None);

    // Blocked even where a refusal would be automatic: nothing is sent to an unknown sender.
    let mut w2 = World::eu();
    w2.agreement.transfers.suspended = true;
    let trace = w2.run(&w2.intake(&signed, &r));
    assert!(matches!(trace.proposal, Proposal::Blocked { .. }));
    assert_eq!(trace.decision(RECEIVED), None);

    // Every failed precondition is listed.
    let signed = Signed::sign(&r, &w.stranger).unwrap();
    let mut intake = policy::Intake::new(&signed, &r, RECEIVED, Channel::MUTUAL_TLS);
    intake.channel = Channel {
        mutual_tls: false,
        encrypted: true,
    };
    let trace = w.run(&intake);
    let Proposal::Blocked { reasons } = &trace.proposal else {
        panic!("expected blocked, got {:?}", trace.proposal)
    };
    let rules: Vec<&str> = reasons
        .iter()
        .map(|x| x.split(": ").next().unwrap())
        .collect();
    assert_eq!(rules, ["R13-authenticated-channel", "R16-recorded"]);
}

#[test]
fn r13_fails_for_a_requesting_party_outside_the_agreement() {
    let mut w = World::eu();
    let outsider = SigningKey::from_seed(&[12; 32]);
    w.registry.add(TrustedKey {
        key: outsider.verifying_key(),
        party: party("FR-PNC"),
        role: KeyRole::Documents,
    });
    let mut r = w.request();
    r.requesting_party = party("FR-PNC");
    let signed = Signed::sign(&r, &outsider).unwrap();
    let trace = w.run(&w.intake(&signed, &r));
    expect(&trace, RuleId::Channel, Verdict::Fail);
    explains(
        &trace,
        RuleId::Channel,
        "FR-PNC is not a party to agreement eu-2023-1543/DE-IE",
    );
    assert!(matches!(trace.proposal, Proposal::Blocked { .. }));
    assert_eq!(trace.decision(RECEIVED), None);
    // A requested party outside the agreement is R01's: the request goes to a reviewer.
    let mut r = w.request();
    r.requested_party = party("FR-PNC");
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Channel, Verdict::Pass);
    expect(&trace, RuleId::Instrument, Verdict::Fail);
    assert!(trace.decision(RECEIVED).is_some());
}

// ---------------------------------------------------------------------------------------------
// R14 confidentiality

#[test]
fn r14_passes_when_the_requested_party_can_keep_confidentiality() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Confidentiality, Verdict::Pass);
    assert!(trace.conditions.confidential);
    let mut r = w.request();
    r.confidentiality.confidential = false;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Confidentiality, Verdict::NotApplicable);
    assert!(!trace.conditions.confidential);
}

#[test]
fn r14_fails_when_the_requested_party_cannot() {
    let mut w = World::budapest();
    w.agreement.parties[1].can_keep_confidential = false;
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Confidentiality, Verdict::Fail);
    // Budapest Art. 27(8): the requesting party is told and decides; not a refusal ground.
    assert_eq!(
        missing(&trace, RuleId::Confidentiality),
        ["confidentiality.confidential"]
    );
    let m = &result(&trace, RuleId::Confidentiality).missing[0];
    assert!(m.explanation.contains("CANNOT_KEEP_CONFIDENTIAL"), "{m:?}");
    assert!(
        matches!(trace.proposal, Proposal::Incomplete { .. }),
        "{:?}",
        trace.proposal
    );
    // Only the requested party's ability counts.
    let mut w = World::budapest();
    w.agreement.parties[0].can_keep_confidential = false;
    expect(
        &w.evaluate(&w.request()),
        RuleId::Confidentiality,
        Verdict::Pass,
    );
}

// ---------------------------------------------------------------------------------------------
// R15a suspension

#[test]
fn r15a_passes_while_transfers_are_not_suspended() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Suspension, Verdict::Pass);
}

#[test]
fn r15a_fails_while_suspended_and_gives_the_reason() {
    let mut w = World::eu();
    w.agreement.transfers.suspended = true;
    w.agreement.transfers.suspension_reason =
        "Ministerial decision 2026/17 under CETS 224 Art. 14(15)".into();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Suspension, Verdict::Fail);
    explains(&trace, RuleId::Suspension, "Ministerial decision 2026/17");
    w.agreement.transfers.suspension_reason = " ".into();
    explains(
        &w.evaluate(&w.request()),
        RuleId::Suspension,
        "no reason recorded",
    );
}

// ---------------------------------------------------------------------------------------------
// R15b data-protection profile

#[test]
fn r15b_passes_for_an_umbrella_agreement_or_a_complete_profile() {
    let mut w = World::eu();
    w.agreement.transfers.umbrella_agreement = Some("EU-US Umbrella Agreement".into());
    // An umbrella agreement replaces the item-by-item check, even for a deficient profile.
    w.agreement.parties[0].data_protection.oversight = Oversight::Internal;
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::DataProtection, Verdict::Pass);
    explains(
        &trace,
        RuleId::DataProtection,
        "EU-US Umbrella Agreement binds both",
    );

    let w = World::budapest();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::DataProtection, Verdict::Pass);
    explains(
        &trace,
        RuleId::DataProtection,
        "NO-KRIPOS meets every Art. 14 item",
    );

    // Gaps in the requested party's own profile do not matter: it is not the recipient.
    let mut w = World::budapest();
    w.agreement.parties[1].data_protection.oversight = Oversight::None;
    expect(
        &w.evaluate(&w.request()),
        RuleId::DataProtection,
        Verdict::Pass,
    );
}

#[test]
fn r15b_fails_and_lists_every_gap_of_the_recipients_profile() {
    let mut w = World::budapest();
    let p = &mut w.agreement.parties[0].data_protection;
    p.sensitive_data = SensitiveData::Unrestricted;
    p.breach_notification_hours = None;
    p.automated_decisions = AutomatedDecisions::SolelyAutomated;
    p.access_records = false;
    p.onward_transfer = OnwardTransferRule::Unrestricted;
    p.data_subject_rights = false;
    p.remedies = vec![Remedy::Judicial];
    p.oversight = Oversight::Internal;
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::DataProtection, Verdict::Fail);
    for item in [
        "14(4)",
        "14(6)",
        "14(7)",
        "14(8)",
        "14(10)",
        "14(11)-(12)",
        "14(13)",
        "14(14)",
    ] {
        explains(&trace, RuleId::DataProtection, item);
    }

    // One gap is enough.
    let mut w = World::budapest();
    w.agreement.parties[0].data_protection.remedies = vec![Remedy::NonJudicial];
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::DataProtection, Verdict::Fail);
    explains(
        &trace,
        RuleId::DataProtection,
        "NO-KRIPOS's profile falls short: 14(13)",
    );
}

// ---------------------------------------------------------------------------------------------
// R15c stricter retention

#[test]
fn r15c_passes_with_the_stricter_retention() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Retention, Verdict::Pass);
    explains(
        &trace,
        RuleId::Retention,
        "keep at most 365 days: the stricter of 730 days (requesting) and 365 days (requested)",
    );
    assert_eq!(trace.conditions.retention_days, Some(365));

    let mut w = World::eu();
    w.agreement.parties[1].data_protection.retention_days = None;
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Retention, Verdict::Pass);
    assert_eq!(trace.conditions.retention_days, Some(730));
}

#[test]
fn r15c_fails_when_neither_party_limits_retention() {
    let mut w = World::eu();
    for p in &mut w.agreement.parties {
        p.data_protection.retention_days = None;
    }
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Retention, Verdict::Fail);
    explains(
        &trace,
        RuleId::Retention,
        "neither party sets a retention limit",
    );
    assert_eq!(trace.conditions.retention_days, None);
}

// ---------------------------------------------------------------------------------------------
// R16 recorded

#[test]
fn r16_passes_once_recorded() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::Audit, Verdict::Pass);
    explains(
        &trace,
        RuleId::Audit,
        "recorded as entry 5 of the audit log",
    );
}

#[test]
fn r16_fails_before_recording_and_nothing_is_decided() {
    let w = World::eu();
    let r = w.request();
    let signed = w.sign(&r);
    let trace = w.run(&policy::Intake::new(
        &signed,
        &r,
        RECEIVED,
        Channel::MUTUAL_TLS,
    ));
    expect(&trace, RuleId::Audit, Verdict::Fail);
    explains(&trace, RuleId::Audit, "append request_received");
    match &trace.proposal {
        Proposal::Blocked { reasons } => {
            assert_eq!(reasons.len(), 1);
            assert!(reasons[0].starts_with("R16-recorded: "), "{reasons:?}");
        }
        p => panic!("expected blocked, got {p:?}"),
    }
    // Nothing is sent, not even a pending-review notice, and no reviewer is asked.
    assert_eq!(trace.decision(RECEIVED), None);
    assert!(!trace.needs_reviewer());
    assert_eq!(trace.review_due, None);
    assert_eq!(policy::summary(&trace), "not decided: 1 precondition(s)");
}

// ---------------------------------------------------------------------------------------------
// R17 partial before refusal

#[test]
fn r17_is_not_applicable_without_a_failure_or_when_no_category_can_go() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    expect(&trace, RuleId::PartialFirst, Verdict::NotApplicable);
    explains(&trace, RuleId::PartialFirst, "no safeguard failed");

    // A failure of the whole request.
    let mut r = w.traffic_request();
    r.categories = vec![Subscriber, Traffic];
    r.proceeding = Proceeding::Civil;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::PartialFirst, Verdict::NotApplicable);
    explains(&trace, RuleId::PartialFirst, "whole request");

    // Every category fails.
    let mut r = w.request();
    r.categories = vec![Content];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::PartialFirst, Verdict::NotApplicable);
    explains(&trace, RuleId::PartialFirst, "every category fails");
}

#[test]
fn r17_needs_review_when_some_categories_could_be_executed() {
    let w = World::eu();
    let mut r = w.request();
    r.categories = vec![Subscriber, Identification, Traffic];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::PartialFirst, Verdict::NeedsReview);
    explains(
        &trace,
        RuleId::PartialFirst,
        "partial execution for subscriber, identification is possible",
    );
    match &trace.proposal {
        Proposal::Partial {
            categories,
            grounds,
        } => {
            assert_eq!(categories, &[Subscriber, Identification]);
            let codes: Vec<&str> = grounds.iter().map(|g| g.code.as_str()).collect();
            assert_eq!(codes, ["issuer-not-competent"]);
        }
        p => panic!("expected partial, got {p:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// T01-T12 review triggers

/// The triggers that fire only on an intake flag.
const FLAG_TRIGGERS: [(RuleId, Concern); 9] = [
    (RuleId::Discrimination, Concern::Discrimination),
    (RuleId::PoliticalOffence, Concern::PoliticalOffence),
    (RuleId::EssentialInterests, Concern::EssentialInterests),
    (RuleId::FundamentalRights, Concern::FundamentalRights),
    (RuleId::Privilege, Concern::Privilege),
    (RuleId::NeBisInIdem, Concern::NeBisInIdem),
    (RuleId::ThirdCountryLaw, Concern::ThirdCountryLaw),
    (RuleId::SecurityIncident, Concern::SecurityIncident),
    (RuleId::SystematicBreach, Concern::SystematicBreach),
];

#[test]
fn triggers_pass_when_nothing_is_flagged() {
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    for (rule, _) in FLAG_TRIGGERS {
        expect(&trace, rule, Verdict::Pass);
    }
    expect(&trace, RuleId::DeathPenaltyOrSpeech, Verdict::Pass);
    explains(
        &trace,
        RuleId::DeathPenaltyOrSpeech,
        "nothing flagged at intake",
    );
    expect(&trace, RuleId::SensitiveOffence, Verdict::Pass);
    expect(&trace, RuleId::Proportionality, Verdict::Pass);
}

#[test]
fn each_flag_sends_its_own_trigger_to_review_with_the_note() {
    let w = World::eu();
    let all = FLAG_TRIGGERS
        .into_iter()
        .chain([(RuleId::DeathPenaltyOrSpeech, Concern::DeathPenaltyOrSpeech)]);
    for (rule, concern) in all {
        let note = format!("raised by the duty officer about {rule}");
        let flags = [flag(concern, &note)];
        let trace = w.evaluate_with(&w.request(), &[], &flags);
        expect(&trace, rule, Verdict::NeedsReview);
        explains(&trace, rule, &format!("flagged at intake: {note}"));
        // No other rule asks for review.
        for r in &trace.results {
            if r.rule != rule {
                assert_ne!(
                    r.verdict,
                    Verdict::NeedsReview,
                    "{concern:?} also hit {}",
                    r.rule
                );
            }
        }
        match &trace.proposal {
            Proposal::Review { reasons } => {
                assert_eq!(reasons.len(), 1);
                assert!(reasons[0].starts_with(&format!("{rule}: ")));
            }
            p => panic!("{concern:?}: expected review, got {p:?}"),
        }
    }
}

#[test]
fn flag_notes_are_joined_cut_to_one_line_and_never_empty() {
    let w = World::eu();
    let long = "é".repeat(300);
    let flags = [
        flag(Concern::NeBisInIdem, "case register hit\nsecond line"),
        flag(Concern::NeBisInIdem, "  "),
        flag(Concern::NeBisInIdem, &long),
    ];
    let trace = w.evaluate_with(&w.request(), &[], &flags);
    let e = &result(&trace, RuleId::NeBisInIdem).explanation;
    assert!(
        e.contains("case register hit second line / no note given / "),
        "{e}"
    );
    assert!(!e.contains('\n'));
    assert!(
        e.contains(&"é".repeat(200)) && !e.contains(&"é".repeat(201)),
        "{e}"
    );
}

#[test]
fn t02_the_political_list_sends_the_offence_to_review() {
    let w = World::eu();
    let mut r = w.request();
    r.offence.code = "insulting-state-organs".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::PoliticalOffence, Verdict::NeedsReview);
    explains(
        &trace,
        RuleId::PoliticalOffence,
        "`insulting-state-organs` is on the agreement's list of political offences",
    );
    expect(&trace, RuleId::SensitiveOffence, Verdict::Pass);
}

#[test]
fn t03_the_list_of_other_sensitive_offences_sends_the_offence_to_review() {
    let w = World::budapest();
    expect(
        &w.evaluate(&w.request()),
        RuleId::SensitiveOffence,
        Verdict::Pass,
    );
    let mut r = w.request();
    r.offence.code = "defamation".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::SensitiveOffence, Verdict::NeedsReview);
    explains(
        &trace,
        RuleId::SensitiveOffence,
        "`defamation` is on the agreement's list of sensitive offences",
    );
    expect(&trace, RuleId::PoliticalOffence, Verdict::Pass);
}

#[test]
fn t06_declared_status_and_the_privileged_list_send_the_request_to_review() {
    let w = World::eu();
    let mut r = w.request();
    r.protected_status = vec![ProtectedStatus::Press, ProtectedStatus::Immunity];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Privilege, Verdict::NeedsReview);
    explains(
        &trace,
        RuleId::Privilege,
        "declares the person protected: press, immunity",
    );

    let mut r = w.request();
    r.selectors
        .insert(0, Selector::Email("editor@newspaper.example".into()));
    let privileged = PrivilegedList::new(&[Selector::Email("editor@newspaper.example".into())]);
    let signed = w.sign(&r);
    let trace = w.run(&w.intake(&signed, &r).with_privileged(&privileged));
    expect(&trace, RuleId::Privilege, Verdict::NeedsReview);
    explains(
        &trace,
        RuleId::Privilege,
        "selector(s) 0 are on the privileged-persons list",
    );
    assert!(
        !result(&trace, RuleId::Privilege)
            .explanation
            .contains("editor@")
    );

    // The list only matters when a selector is on it.
    let trace = w.run(
        &w.intake(&w.sign(&w.request()), &w.request())
            .with_privileged(&privileged),
    );
    expect(&trace, RuleId::Privilege, Verdict::Pass);
}

#[test]
fn t08_a_request_near_the_limits_goes_to_review() {
    let w = World::eu();
    // EU: 80% of 10 selectors and of 365 days.
    let mut r = w.request();
    r.selectors = accounts(8);
    r.time_range.from = UnixTime(T0.0 - 292 * DAY);
    expect(&w.evaluate(&r), RuleId::Proportionality, Verdict::Pass);

    r.selectors = accounts(9);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Proportionality, Verdict::NeedsReview);
    explains(&trace, RuleId::Proportionality, "9 of at most 10 selectors");
    expect(&trace, RuleId::SelectorLimits, Verdict::Pass);

    let mut r = w.request();
    r.time_range.from = UnixTime(T0.0 - 293 * DAY);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Proportionality, Verdict::NeedsReview);
    explains(&trace, RuleId::Proportionality, "293 of at most 365 days");

    let mut w = World::eu();
    w.agreement.selectors.review_above_percent = 100;
    expect(
        &w.evaluate(&r),
        RuleId::Proportionality,
        Verdict::NotApplicable,
    );
}

#[test]
fn t06_the_privileged_list_matches_the_same_target_however_it_is_written() {
    let w = World::eu();
    let privileged = PrivilegedList::new(&[
        Selector::Email("editor@newspaper.example".into()),
        Selector::Domain("newsroom.example".into()),
        Selector::Account {
            service: "chat.example".into(),
            account: "Reporter".into(),
        },
        Selector::IpAddress {
            address: ip(192, 0, 2, 10),
            port: None,
            at: UnixTime(T0.0 - 30 * DAY),
        },
    ]);
    let variants = [
        Selector::Email("Editor@NewsPaper.example".into()),
        Selector::Email("editor@newspaper.example.".into()),
        Selector::Domain("NEWSROOM.example.".into()),
        // A subdomain lies under the listed domain.
        Selector::Domain("sub.newsroom.example".into()),
        Selector::Account {
            service: "Chat.Example".into(),
            account: "reporter".into(),
        },
        Selector::IpAddress {
            address: ip(192, 0, 2, 10),
            port: Some(443),
            at: UnixTime(T0.0 - 2 * DAY),
        },
    ];
    for selector in variants {
        let mut r = w.request();
        r.selectors = vec![selector.clone()];
        let signed = w.sign(&r);
        let trace = w.run(&w.intake(&signed, &r).with_privileged(&privileged));
        expect(&trace, RuleId::Privilege, Verdict::NeedsReview);
        explains(
            &trace,
            RuleId::Privilege,
            "selector(s) 0 are on the privileged-persons list",
        );
    }
    // Other targets are not on it.
    for selector in [
        Selector::Email("editor@other.example".into()),
        Selector::Email("editor2@newspaper.example".into()),
        Selector::Domain("newsroom.example.org".into()),
        Selector::Domain("other-newsroom.example".into()),
        Selector::IpAddress {
            address: ip(192, 0, 2, 11),
            port: None,
            at: UnixTime(T0.0 - 2 * DAY),
        },
    ] {
        let mut r = w.request();
        r.selectors = vec![selector.clone()];
        let signed = w.sign(&r);
        let trace = w.run(&w.intake(&signed, &r).with_privileged(&privileged));
        expect(&trace, RuleId::Privilege, Verdict::Pass);
    }
}

// ---------------------------------------------------------------------------------------------
// Follow-ups: offence codes the agreement does not know, case, onward prohibition by either
// party, emergency preservation, emergency scope, the listed-offence threshold.

#[test]
fn t02_an_offence_code_missing_from_the_table_goes_to_review_and_codes_ignore_case() {
    let w = World::eu();
    let mut r = w.request();
    r.offence.code = "unheard-of".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::PoliticalOffence, Verdict::NeedsReview);
    explains(
        &trace,
        RuleId::PoliticalOffence,
        "not in the agreement's table",
    );
    assert!(matches!(trace.proposal, Proposal::Review { .. }));

    let mut r = w.request();
    r.offence.code = "Insulting-State-Organs".into();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::PoliticalOffence, Verdict::NeedsReview);
    explains(
        &trace,
        RuleId::PoliticalOffence,
        "list of political offences",
    );

    let mut r = w.request();
    r.offence.code = "ILLEGAL-ACCESS".into();
    expect(&w.evaluate(&r), RuleId::PoliticalOffence, Verdict::Pass);
}

#[test]
fn r09_a_prohibition_in_either_profile_sends_asked_onward_transfer_to_review() {
    let mut w = World::budapest();
    w.agreement.parties[0].data_protection.onward_transfer = OnwardTransferRule::Prohibited;
    let mut r = w.request();
    r.onward_transfer = OnwardTransfer::AuthorisedTo(vec![party("FR-PNC")]);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::OnwardTransfer, Verdict::NeedsReview);
    explains(&trace, RuleId::OnwardTransfer, "prohibits");
    assert!(trace.onward_prohibited);
    assert_eq!(
        trace.conditions.onward_transfer,
        OnwardTransfer::DenyWithoutAuthorisation
    );
}

#[test]
fn r03_r12b_an_eu_emergency_preservation_by_police_covers_any_category_pending_validation() {
    let w = World::eu();
    let mut r = w.emergency_request();
    r.request_type = RequestType::Preservation;
    r.issuer.authority_type = AuthorityType::LawEnforcement;
    r.categories = vec![Subscriber, Traffic, Content];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Pass);
    expect(&trace, RuleId::EmergencyScope, Verdict::Pass);
    assert_eq!(trace.due.validation_by, Some(RECEIVED.plus_secs(48 * HOUR)));
    // Without the agreement's allowance, traffic and content preservation by police fail.
    let mut w = World::eu();
    w.agreement.emergency.unvalidated_preservation = false;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::EmergencyScope, Verdict::Fail);
    assert_eq!(
        result(&trace, RuleId::EmergencyScope).categories,
        [Traffic, Content]
    );
}

#[test]
fn r12b_fails_only_the_categories_that_need_emergency_relief() {
    // A prosecutor may order subscriber data alone, but content needs a judge: in an
    // emergency without validation only content is beyond the allowed categories.
    let w = World::eu();
    let mut r = w.emergency_request();
    r.issuer.authority_type = AuthorityType::Prosecutor;
    r.categories = vec![Subscriber, Content];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::EmergencyScope, Verdict::Fail);
    assert_eq!(result(&trace, RuleId::EmergencyScope).categories, [Content]);
}

#[test]
fn r05_the_listed_offence_threshold_comes_from_the_agreement() {
    let mut w = World::eu_enforcing();
    w.agreement
        .dual_criminality
        .offences
        .iter_mut()
        .for_each(|o| o.criminal_in_both = false);
    let mut r = w.traffic_request();
    r.offence.max_penalty_months = 40;
    expect(
        &w.evaluate_validated(&r),
        RuleId::DualCriminality,
        Verdict::Pass,
    );
    w.agreement.dual_criminality.listed_min_penalty_months = 48;
    let trace = w.evaluate_validated(&r);
    expect(&trace, RuleId::DualCriminality, Verdict::Fail);
}

#[test]
fn a_trace_of_another_version_is_refused() {
    let w = World::eu();
    let mut bytes = w.evaluate(&w.request()).encode();
    bytes[0] = 2;
    assert!(matches!(
        Trace::decode(&bytes),
        Err(evx_protocol::canonical::DecodeError::UnsupportedVersion { found: 2, .. })
    ));
}

#[test]
fn r12b_without_unvalidated_categories_names_what_needs_a_competent_issuer() {
    // Budapest allows emergencies but no category before validation: police asking for
    // subscriber data in an emergency fail R12b (and R03), and no validation is awaited.
    let w = World::budapest();
    let mut r = w.emergency_request();
    r.issuer.authority_type = AuthorityType::LawEnforcement;
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::EmergencyScope, Verdict::Fail);
    explains(
        &trace,
        RuleId::EmergencyScope,
        "the agreement allows no category before validation; subscriber need a competent issuer",
    );
    assert_eq!(trace.due.validation_by, None);
    // A prosecutor's emergency for content under Budapest: R03 refuses content, and no
    // validation deadline is set, because the agreement grants no emergency relief for it.
    let mut r = w.emergency_request();
    r.categories = vec![Content];
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Issuer, Verdict::Fail);
    expect(&trace, RuleId::EmergencyScope, Verdict::Fail);
    assert_eq!(trace.due.validation_by, None);
}

#[test]
fn r06_onward_recipients_are_few_and_distinct_and_conditions_name_each_once() {
    let mut w = World::budapest();
    w.agreement.transfers.preauthorised_onward = vec![party("FR-PNC")];
    let mut r = w.request();
    r.onward_transfer = OnwardTransfer::AuthorisedTo(vec![party("FR-PNC"); 2]);
    let trace = w.evaluate(&r);
    assert_eq!(missing(&trace, RuleId::RequiredFields), ["onward_transfer"]);
    r.onward_transfer =
        OnwardTransfer::AuthorisedTo((0..17).map(|i| party(&format!("P-{i}"))).collect());
    let trace = w.evaluate(&r);
    assert_eq!(missing(&trace, RuleId::RequiredFields), ["onward_transfer"]);
    r.onward_transfer = OnwardTransfer::AuthorisedTo(vec![party("FR-PNC")]);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::RequiredFields, Verdict::Pass);
    assert_eq!(
        trace.conditions.onward_transfer,
        OnwardTransfer::AuthorisedTo(vec![party("FR-PNC")])
    );
}
