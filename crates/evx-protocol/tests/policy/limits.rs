//! Bounds on what a request can make the engine write: however many bad selectors, hits or
//! notes, a trace and its decision stay small enough to sign, and one line per explanation.

use evx_protocol::document::{Decision, MissingField, Outcome, Selector, Signed};
use evx_protocol::policy::{Concern, PrivilegedList, Proposal, RuleId, Trace, Verdict};

use crate::fixture::*;

/// The most entries a result lists before counting the rest.
const LISTED: usize = 16;

fn phones(n: usize) -> Vec<Selector> {
    // No `+`: not E.164, so malformed (not bulk).
    (0..n).map(|i| Selector::Phone(format!("0{i}"))).collect()
}

fn fields(missing: &[MissingField]) -> Vec<&str> {
    missing.iter().map(|m| m.field.as_str()).collect()
}

#[track_caller]
fn single_line(trace: &Trace) {
    let bad = |s: &str| {
        s.chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}'))
    };
    for r in &trace.results {
        assert!(!bad(&r.explanation), "{}: {:?}", r.rule, r.explanation);
        for m in &r.missing {
            assert!(!bad(&m.explanation), "{}: {:?}", m.field, m.explanation);
        }
    }
}

#[test]
fn an_incomplete_result_lists_sixteen_fields_and_counts_the_rest() {
    let w = World::eu();
    let mut r = w.request();
    r.selectors = phones(20);
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::SelectorForm, Verdict::Fail);
    let res = result(&trace, RuleId::SelectorForm);
    assert_eq!(res.missing.len(), LISTED + 1);
    let want: Vec<String> = (0..LISTED)
        .map(|i| format!("selectors[{i}]"))
        .chain(["…".to_owned()])
        .collect();
    assert_eq!(fields(&res.missing), want);
    let rest = &res.missing[LISTED].explanation;
    assert!(rest.starts_with("4 more field(s)"), "{rest}");
    assert!(
        res.explanation
            .starts_with("20 field(s) to supply or correct: selectors[0], selectors[1], "),
        "{}",
        res.explanation
    );
    assert!(
        !res.explanation.contains("selectors[16]"),
        "{}",
        res.explanation
    );
    assert!(
        res.explanation.ends_with("selectors[15], and 4 more"),
        "{}",
        res.explanation
    );
    // The proposal asks for what the result lists.
    let Proposal::Incomplete { missing } = &trace.proposal else {
        panic!("expected incomplete, got {:?}", trace.proposal)
    };
    assert_eq!(missing, &res.missing);

    // Sixteen are listed in full, without a count.
    r.selectors = phones(LISTED);
    let trace = w.evaluate(&r);
    let res = result(&trace, RuleId::SelectorForm);
    assert_eq!(res.missing.len(), LISTED);
    assert!(res.missing.iter().all(|m| m.field != "…"));
    assert!(
        res.explanation
            .starts_with("16 field(s) to supply or correct: "),
        "{}",
        res.explanation
    );
    assert!(!res.explanation.contains("more"), "{}", res.explanation);
}

#[test]
fn one_missing_field_is_counted_too() {
    let w = World::eu();
    let mut r = w.request();
    r.offence.statute.clear();
    let trace = w.evaluate(&r);
    assert_eq!(
        result(&trace, RuleId::RequiredFields).explanation,
        "1 field(s) to supply or correct: offence.statute"
    );
}

#[test]
fn the_bulk_list_names_sixteen_selectors_and_counts_the_rest() {
    let w = World::eu();
    let mut r = w.request();
    r.selectors = (0..20)
        .map(|i| Selector::Keyword(format!("word{i}")))
        .collect();
    let trace = w.evaluate(&r);
    expect(&trace, RuleId::Particularity, Verdict::Fail);
    let e = &result(&trace, RuleId::Particularity).explanation;
    assert!(e.contains("selector 15 (keyword)"), "{e}");
    assert!(!e.contains("selector 16 ("), "{e}");
    assert!(e.ends_with("; and 4 more"), "{e}");
    // The proposed ground carries the same bounded text.
    let Proposal::Refuse { grounds, .. } = &trace.proposal else {
        panic!("expected refusal, got {:?}", trace.proposal)
    };
    assert_eq!(&grounds[0].explanation, e);

    r.selectors.truncate(LISTED);
    let trace = w.evaluate(&r);
    let e = &result(&trace, RuleId::Particularity).explanation;
    assert!(
        e.contains("selector 15 (keyword)") && !e.contains("more"),
        "{e}"
    );
}

#[test]
fn the_privileged_hits_name_sixteen_positions_and_count_the_rest() {
    let w = World::eu();
    let mut r = w.request();
    r.selectors = (0..20)
        .map(|i| Selector::Email(format!("desk{i}@newsroom.example")))
        .collect();
    let list = PrivilegedList::new(&[Selector::Domain("newsroom.example".into())]);
    let signed = w.sign(&r);
    let trace = w.run(&w.intake(&signed, &r).with_privileged(&list));
    expect(&trace, RuleId::Privilege, Verdict::NeedsReview);
    let positions: Vec<String> = (0..LISTED).map(|i| i.to_string()).collect();
    explains(
        &trace,
        RuleId::Privilege,
        &format!(
            "selector(s) {}, and 4 more are on the privileged-persons list",
            positions.join(", ")
        ),
    );
}

#[test]
fn intake_notes_are_sanitised_bounded_and_at_most_eight_per_concern() {
    let w = World::eu();
    let note = "line one\nline two\r\nthree\u{2028}four\u{2029}five\u{85}six\tseven\u{7}eight\u{1b}[31m\u{202e}\u{200b}";
    let flags = [
        flag(Concern::ThirdCountryLaw, note),
        flag(Concern::ThirdCountryLaw, " \u{2028}\t\n "),
        flag(
            Concern::ThirdCountryLaw,
            &format!("\n\n{}", "x".repeat(500)),
        ),
    ];
    let trace = w.evaluate_with(&w.request(), &[], &flags);
    single_line(&trace);
    let e = &result(&trace, RuleId::ThirdCountryLaw).explanation;
    assert!(
        e.starts_with(
            "flagged at intake: line one line two  three four five six seven eight [31m / \
             no note given / "
        ),
        "{e}"
    );
    // Invisible formatting characters (a right-to-left override, a zero-width space) go too.
    assert!(!e.contains('\u{202e}') && !e.contains('\u{200b}'), "{e:?}");
    // 200 characters are taken, then the two leading line breaks trimmed.
    assert!(e.ends_with(&format!(" / {}", "x".repeat(198))), "{e}");
    assert!(!e.contains(&"x".repeat(199)), "{e}");

    // Ten notes: eight are quoted, two counted.
    let flags: Vec<_> = (0..10)
        .map(|i| flag(Concern::SecurityIncident, &format!("note {i}")))
        .collect();
    let trace = w.evaluate_with(&w.request(), &[], &flags);
    let e = &result(&trace, RuleId::SecurityIncident).explanation;
    assert!(e.contains("note 7 / and 2 more"), "{e}");
    assert!(!e.contains("note 8"), "{e}");
    // Each concern is bounded on its own.
    let mut flags = flags;
    flags.push(flag(Concern::NeBisInIdem, "register hit"));
    let trace = w.evaluate_with(&w.request(), &[], &flags);
    explains(
        &trace,
        RuleId::NeBisInIdem,
        "flagged at intake: register hit",
    );
    assert!(
        !result(&trace, RuleId::NeBisInIdem)
            .explanation
            .contains("more")
    );
    // Eight are quoted without a count.
    let flags: Vec<_> = (0..8)
        .map(|i| flag(Concern::SecurityIncident, &format!("note {i}")))
        .collect();
    let trace = w.evaluate_with(&w.request(), &[], &flags);
    let e = &result(&trace, RuleId::SecurityIncident).explanation;
    assert!(e.ends_with("note 7"), "{e}");
}

#[test]
fn at_most_eight_judicial_validations_are_examined() {
    let w = World::eu();
    let mut r = w.request();
    r.categories = vec![evx_protocol::document::DataCategory::Content];
    r.notification_ref = Some("IE-NOTIF-2026-77".into());
    let signed = w.sign(&r);
    let good = w.validate(&signed);

    let eight = vec![good.clone(); 8];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&eight));
    expect(&trace, RuleId::Validation, Verdict::Pass);
    explains(&trace, RuleId::Validation, "8 validation(s) verified");
    assert_eq!(trace.proposal, Proposal::Accept);

    let nine = vec![good; 9];
    let trace = w.run(&w.intake(&signed, &r).with_validations(&nine));
    expect(&trace, RuleId::Validation, Verdict::Fail);
    explains(
        &trace,
        RuleId::Validation,
        "9 validations attached; at most 8 are examined",
    );
    assert!(
        matches!(
            trace.proposal,
            Proposal::Refuse {
                automatic: false,
                ..
            }
        ),
        "{:?}",
        trace.proposal
    );
}

#[test]
fn a_hostile_request_with_5000_malformed_phone_numbers_still_gets_a_signed_answer() {
    let w = World::eu();
    let mut r = w.request();
    r.selectors = phones(5000);
    let signed = w.sign(&r);
    let flags: Vec<_> = (0..50)
        .map(|_| flag(Concern::Privilege, &"n".repeat(10_000)))
        .collect();
    let trace = w.run(&w.intake(&signed, &r).with_flags(&flags));
    let encoded = trace.encode();
    assert!(
        encoded.len() < 64 * 1024,
        "trace of {} bytes",
        encoded.len()
    );
    single_line(&trace);

    let d: Decision = trace.decision(RECEIVED).unwrap();
    let Outcome::Incomplete { missing } = &d.outcome else {
        panic!("expected incomplete, got {:?}", d.outcome)
    };
    // The sixteen first malformed selectors, then the count of the rest.
    assert_eq!(missing.len(), LISTED + 1);
    assert_eq!(missing[LISTED].field, "…");
    assert!(
        missing[LISTED]
            .explanation
            .starts_with("4984 more field(s)"),
        "{}",
        missing[LISTED].explanation
    );
    let key = evx_protocol::crypto::SigningKey::from_seed(&[5; 32]);
    let sent = Signed::sign(&d, &key).expect("the decision fits a signed document");
    assert_eq!(sent.verify(&key.verifying_key()).unwrap(), d);

    // Also when a reviewer must look at it: too many selectors and a proposed refusal.
    let mut r = w.request();
    r.selectors = (0..5000)
        .map(|i| Selector::Keyword(format!("k{i}")))
        .collect();
    let trace = w.evaluate(&r);
    assert!(trace.encode().len() < 64 * 1024);
    let d = trace.decision(RECEIVED).unwrap();
    assert!(matches!(d.outcome, Outcome::PendingReview { .. }));
    assert!(Signed::sign(&d, &key).is_ok());
}
