//! Loading agreements: both examples load, and every mistake is refused with a message that
//! names the file and the key.

use evx_protocol::document::{DataCategory, Instrument};
use evx_protocol::policy::{self, Agreement, AgreementError, FORMAT, RuleClass, RuleId};
use evx_protocol::purpose::Purpose;

use crate::fixture::*;

const EU: &str = policy::examples::EU_2023_1543;
const BUDAPEST: &str = policy::examples::BUDAPEST;
const ORIGIN: &str = "agreements/eu-2023-1543.toml";

/// The text with its one occurrence of `from` replaced.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

fn load(text: &str) -> Result<Agreement, AgreementError> {
    Agreement::from_toml(text, ORIGIN)
}

/// Loads a text that must be refused as invalid, returning the key and what was expected.
#[track_caller]
fn invalid(text: &str) -> (String, String) {
    match load(text) {
        Err(AgreementError::Invalid {
            origin,
            key,
            expected,
        }) => {
            assert_eq!(origin, ORIGIN);
            (key, expected)
        }
        other => panic!("expected an invalid-value error, got {other:?}"),
    }
}

/// Loads a text that must be refused by the parser, returning its message.
#[track_caller]
fn syntax(text: &str) -> String {
    match load(text) {
        Err(AgreementError::Syntax { origin, message }) => {
            assert_eq!(origin, ORIGIN);
            message
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn both_examples_load() {
    assert_eq!(policy::examples::ALL.len(), 2);
    for (name, text) in policy::examples::ALL {
        let a = Agreement::from_toml(text, name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.format, FORMAT);
        assert_eq!(a.parties.len(), 2);
        assert_ne!(a.parties[0].id, a.parties[1].id);
        assert!(a.refuses_automatically("transfers-suspended"), "{name}");
        assert!(!a.transfers.suspended, "{name}");
        assert!(!a.purposes.contains(&Purpose::AssetRecovery), "{name}");
        // Loading is deterministic.
        assert_eq!(
            Agreement::from_toml(text, name).unwrap().digest(),
            a.digest()
        );
    }
    let eu = eu();
    assert_eq!(eu.id, "eu-2023-1543/DE-IE");
    assert_eq!(eu.instruments, [Instrument::EuEEvidence]);
    // The provider does not check dual criminality; the enforcing authority does (Art. 12).
    assert_eq!(eu.dual_criminality.required_for, []);
    assert_eq!(
        eu.emergency.unvalidated_categories,
        [DataCategory::Subscriber, DataCategory::Identification]
    );
    assert_eq!(eu.preservation.max_extensions, 1);
    assert_eq!(eu.offence("tax-evasion").map(|o| o.fiscal), Some(true));
    let b = budapest();
    assert_eq!(b.id, "budapest/NO-CA");
    assert_eq!(b.instruments, [Instrument::Budapest]);
    assert_eq!(b.dual_criminality.required_for.len(), 4);
    // The Convention has no unvalidated-order regime.
    assert_eq!(b.emergency.unvalidated_categories, []);
    assert_ne!(eu.digest(), b.digest());
}

#[test]
fn an_unknown_key_is_refused_and_named() {
    let text = edit(EU, "format = 1\n", "format = 1\nsurprise = true\n");
    let msg = syntax(&text);
    assert!(msg.contains("surprise"), "{msg}");

    // A misspelt safeguard deep inside a table.
    let text = edit(EU, "max_count = 10", "max_cont = 10");
    let msg = syntax(&text);
    assert!(msg.contains("max_cont"), "{msg}");
    let shown = load(&text).unwrap_err().to_string();
    assert!(shown.starts_with(&format!("{ORIGIN}: ")), "{shown}");

    // Inside an array of tables, too.
    let text = edit(EU, "state = \"DE\"", "state = \"DE\"\nstates = \"DE\"");
    assert!(syntax(&text).contains("states"));
}

#[test]
fn wrong_values_of_a_known_key_are_refused_by_the_parser() {
    let msg = syntax(&edit(EU, "max_count = 10", "max_count = \"ten\""));
    assert!(msg.contains("max_count"), "{msg}");
    let msg = syntax(&edit(
        EU,
        "instruments = [\"eu_e_evidence\"]",
        "instruments = [\"eu_e_evidence\", \"hague\"]",
    ));
    assert!(msg.contains("hague"), "{msg}");
    let msg = syntax(&edit(EU, "suspended = false", ""));
    assert!(msg.contains("suspended"), "{msg}");
}

#[test]
fn a_wrong_format_number_is_refused() {
    let (key, expected) = invalid(&edit(EU, "format = 1", "format = 2"));
    assert_eq!(key, "format");
    assert_eq!(expected, "this build reads format 1; found 2");
}

#[test]
fn an_agreement_has_exactly_two_different_parties() {
    let third = r#"
[[parties]]
id = "FR-PNC"
name = "Parquet national cybercriminalité"
state = "FR"
can_keep_confidential = true

[parties.data_protection]
retention_days = 365
onward_transfer = "prior_authorisation"
sensitive_data = "safeguarded"
automated_decisions = "human_intervention"
oversight = "independent"
remedies = ["judicial", "non_judicial"]
breach_notification_hours = 72
access_records = true
data_subject_rights = true
"#;
    let (key, expected) = invalid(&format!("{EU}{third}"));
    assert_eq!(key, "parties");
    assert!(
        expected.contains("exactly two [[parties]] tables; found 3"),
        "{expected}"
    );

    let (key, expected) = invalid(&edit(EU, "id = \"IE-provider-LERT\"", "id = \"DE-BfJ\""));
    assert_eq!(key, "parties");
    assert!(expected.contains("two different party ids"));
}

#[test]
fn a_fiscal_offence_on_a_sensitive_list_is_refused() {
    let (key, expected) = invalid(&edit(
        EU,
        "political = [\"insulting-state-organs\"]",
        "political = [\"insulting-state-organs\", \"tax-evasion\"]",
    ));
    assert_eq!(key, "sensitive_offences.political");
    assert!(
        expected.contains("`tax-evasion` is marked fiscal"),
        "{expected}"
    );
    assert!(expected.contains("Budapest Art. 25(4)"), "{expected}");

    let (key, _) = invalid(&edit(
        BUDAPEST,
        "other = [\"defamation\"]",
        "other = [\"defamation\", \"tax-fraud\"]",
    ));
    assert_eq!(key, "sensitive_offences.other");
}

#[test]
fn automatic_refusals_accept_only_the_safeguard_grounds() {
    let (key, expected) = invalid(&edit(
        EU,
        "automatic_refusals = [\"transfers-suspended\"]",
        "automatic_refusals = [\"transfers-suspended\", \"political-offence\"]",
    ));
    assert_eq!(key, "automatic_refusals[1]");
    assert!(
        expected.contains("`political-offence` is not a ground"),
        "{expected}"
    );

    // Every safeguard's ground that concerns the whole request may be made automatic, and
    // only those: a ground that can concern single categories comes after partial execution,
    // which needs a reviewer (Budapest Art. 27(6)).
    for &rule in RuleId::ALL {
        let code = rule.ground().unwrap_or(rule.id());
        let text = edit(
            EU,
            "automatic_refusals = [\"transfers-suspended\"]",
            &format!("automatic_refusals = [\"{code}\"]"),
        );
        let scoped = CATEGORY_SCOPED.contains(&code);
        match load(&text) {
            Ok(a) => {
                assert_eq!(rule.class(), RuleClass::Safeguard, "{rule} accepted");
                assert!(!scoped, "{rule}: a category-scoped ground accepted");
                assert!(a.refuses_automatically(code));
                assert!(
                    !a.refuses_automatically("transfers-suspended")
                        || code == "transfers-suspended"
                );
            }
            Err(e) => {
                assert!(
                    rule.class() != RuleClass::Safeguard || scoped,
                    "{rule} refused: {e}"
                );
                assert!(e.to_string().contains("automatic_refusals[0]"), "{e}");
            }
        }
    }
    // The channel is a precondition now, and its old ground is gone.
    let (key, expected) = invalid(&edit(
        EU,
        "automatic_refusals = [\"transfers-suspended\"]",
        "automatic_refusals = [\"unauthenticated-channel\"]",
    ));
    assert_eq!(key, "automatic_refusals[0]");
    assert!(expected.contains("`unauthenticated-channel`"), "{expected}");
}

/// The grounds that can concern single data categories.
const CATEGORY_SCOPED: [&str; 5] = [
    "unsupported-instrument",
    "issuer-not-competent",
    "below-penalty-threshold",
    "no-dual-criminality",
    "emergency-not-allowed",
];

#[test]
fn automatic_refusals_refuse_each_category_scoped_ground_and_say_why() {
    for (i, code) in CATEGORY_SCOPED.iter().enumerate() {
        for text in [EU, BUDAPEST] {
            let from = "automatic_refusals = [\"transfers-suspended\"]";
            let to = format!("automatic_refusals = [\"transfers-suspended\", \"{code}\"]");
            let (key, expected) = invalid(&edit(text, from, &to));
            assert_eq!(key, "automatic_refusals[1]", "{code}");
            assert!(expected.contains(&format!("`{code}`")), "{i}: {expected}");
            assert!(expected.contains("single data categories"), "{expected}");
            assert!(expected.contains("Art. 27(6)"), "{expected}");
        }
    }
    // A whole-request ground stays allowed next to them.
    let a = load(&edit(
        EU,
        "automatic_refusals = [\"transfers-suspended\"]",
        "automatic_refusals = [\"transfers-suspended\", \"bulk-selector\"]",
    ))
    .unwrap();
    assert!(a.refuses_automatically("bulk-selector"));
}

#[test]
fn every_semantic_check_names_its_key() {
    let cases: [(&str, &str, &str); 14] = [
        ("id = \"eu-2023-1543/DE-IE\"", "id = \" \"", "id"),
        ("state = \"DE\"", "state = \"de\"", "parties[0].state"),
        ("state = \"DE\"", "state = \"DEU\"", "parties[0].state"),
        (
            "retention_days = 365",
            "retention_days = 0",
            "parties[1].data_protection.retention_days",
        ),
        (
            "instruments = [\"eu_e_evidence\"]",
            "instruments = []",
            "instruments",
        ),
        (
            "purposes = [\"investigation\", \"prosecution\", \"sentence_enforcement\"]",
            "purposes = []",
            "purposes",
        ),
        (
            "code = \"fraud\"",
            "code = \"illegal-access\"",
            "dual_criminality.offences[6].code",
        ),
        (
            "code = \"fraud\"",
            "code = \"plain fraud\"",
            "dual_criminality.offences[6].code",
        ),
        ("max_count = 10", "max_count = 0", "selectors"),
        (
            "review_above_percent = 80",
            "review_above_percent = 101",
            "selectors.review_above_percent",
        ),
        (
            "validation_due_hours = 48",
            "validation_due_hours = 0",
            "emergency.validation_due_hours",
        ),
        (
            "initial_days = 60",
            "initial_days = 0",
            "preservation.initial_days",
        ),
        (
            "extension_days = 30",
            "extension_days = 0",
            "preservation.extension_days",
        ),
        (
            "review_days = 10",
            "review_days = 0",
            "deadlines.review_days",
        ),
    ];
    for (from, to, want) in cases {
        let (key, expected) = invalid(&edit(EU, from, to));
        assert_eq!(key, want, "{to}");
        assert!(!expected.is_empty());
    }
    // A category nobody may order.
    let text = edit(
        EU,
        "[categories.content]\nissuers = [\"judge\", \"court\", \"investigating_judge\"]\nvalidators = [\"judge\", \"court\", \"investigating_judge\"]",
        "[categories.content]\nissuers = []\nvalidators = []",
    );
    assert_eq!(invalid(&text).0, "categories.content.issuers");
}

#[test]
fn the_error_display_names_the_file_and_the_key() {
    let err = load(&edit(
        EU,
        "review_above_percent = 80",
        "review_above_percent = 0",
    ))
    .unwrap_err();
    let shown = err.to_string();
    assert_eq!(
        shown,
        format!("{ORIGIN}: `selectors.review_above_percent`: a percentage from 1 to 100")
    );
    let err = Agreement::from_toml(&edit(BUDAPEST, "format = 1", "format = 7"), "budapest.toml")
        .unwrap_err();
    assert!(
        err.to_string().starts_with("budapest.toml: `format`: "),
        "{err}"
    );
    let err = Agreement::from_toml("format = 1\n", "empty.toml").unwrap_err();
    assert!(err.to_string().starts_with("empty.toml: "), "{err}");
}

#[test]
fn the_digest_changes_with_any_value() {
    let a = eu();
    assert_eq!(a.digest(), eu().digest());

    let mut b = a.clone();
    b.parties[1].data_protection.retention_days = Some(364);
    assert_ne!(a.digest(), b.digest());

    let mut b = a.clone();
    b.transfers.suspension_reason = "x".into();
    assert_ne!(a.digest(), b.digest());

    let mut b = a.clone();
    b.dual_criminality.offences[0].criminal_in_both = false;
    assert_ne!(a.digest(), b.digest());

    // From the text as well; a comment is not a value.
    let edited = load(&edit(EU, "production_days = 10", "production_days = 11")).unwrap();
    assert_ne!(a.digest(), edited.digest());
    let commented = load(&format!("{EU}\n# a comment\n")).unwrap();
    assert_eq!(a.digest(), commented.digest());

    // The trace records the digest of the agreement it was made under.
    let w = World::eu();
    let trace = w.evaluate(&w.request());
    assert_eq!(trace.agreement_digest, a.digest());
    assert_eq!(trace.agreement_id, a.id);
}

#[test]
fn a_sensitive_offence_must_be_a_row_of_the_dual_criminality_table() {
    // A misspelt code would never match a request, and the offence would go through unreviewed.
    let (key, expected) = invalid(&edit(
        EU,
        "political = [\"insulting-state-organs\"]",
        "political = [\"insulting-state-organs\", \"insulting-state-organ\"]",
    ));
    assert_eq!(key, "sensitive_offences.political");
    assert!(
        expected.contains("`insulting-state-organ` is not one"),
        "{expected}"
    );
    let (key, _) = invalid(&edit(
        BUDAPEST,
        "other = [\"defamation\"]",
        "other = [\"defamation\", \"blasphemy\"]",
    ));
    assert_eq!(key, "sensitive_offences.other");
    // A row of the table, in another case, is accepted: codes ignore ASCII case.
    let a = load(&edit(
        EU,
        "political = [\"insulting-state-organs\"]",
        "political = [\"Insulting-State-Organs\"]",
    ))
    .unwrap();
    assert_eq!(a.sensitive_offences.political.len(), 1);
}

#[test]
fn the_listed_offence_threshold_must_be_positive() {
    let (key, expected) = invalid(&edit(
        EU,
        "required_for_preservation = false",
        "required_for_preservation = false\nlisted_min_penalty_months = 0",
    ));
    assert_eq!(key, "dual_criminality.listed_min_penalty_months");
    assert!(expected.contains("greater than 0"), "{expected}");
    let a = load(&edit(
        EU,
        "required_for_preservation = false",
        "required_for_preservation = false\nlisted_min_penalty_months = 1",
    ))
    .unwrap();
    assert_eq!(a.dual_criminality.listed_min_penalty_months, 1);
}

#[test]
fn a_notified_category_needs_a_notification_window() {
    // EU: traffic and content are notified, so the enforcing authority's window must be open.
    let (key, expected) = invalid(&edit(
        EU,
        "notification_wait_days = 10",
        "notification_wait_days = 0",
    ));
    assert_eq!(key, "deadlines.notification_wait_days");
    assert!(expected.contains("Art. 10(2)"), "{expected}");

    // Budapest notifies nobody: no window is needed, until a category notifies.
    assert_eq!(budapest().deadlines.notification_wait_days, 0);
    let notified = edit(
        BUDAPEST,
        "min_max_penalty_months = 48",
        "min_max_penalty_months = 48\nnotify_enforcing_authority = true",
    );
    let (key, _) = invalid(&notified);
    assert_eq!(key, "deadlines.notification_wait_days");
    let a = load(&edit(
        &notified,
        "notification_wait_days = 0",
        "notification_wait_days = 5",
    ))
    .unwrap();
    assert!(a.categories.content.notify_enforcing_authority);
}

#[test]
fn an_eu_agreement_allows_unvalidated_emergencies_only_for_subscriber_and_identification() {
    for extra in ["traffic", "content"] {
        let (key, expected) = invalid(&edit(
            EU,
            "unvalidated_categories = [\"subscriber\", \"identification\"]",
            &format!("unvalidated_categories = [\"subscriber\", \"identification\", \"{extra}\"]"),
        ));
        assert_eq!(key, "emergency.unvalidated_categories", "{extra}");
        assert!(expected.contains("Art. 4(5)"), "{expected}");
    }
    // Fewer is fine.
    let a = load(&edit(
        EU,
        "unvalidated_categories = [\"subscriber\", \"identification\"]",
        "unvalidated_categories = [\"subscriber\"]",
    ))
    .unwrap();
    assert_eq!(
        a.emergency.unvalidated_categories,
        [DataCategory::Subscriber]
    );
    // The limit is the regulation's: an agreement without it may choose otherwise.
    let b = Agreement::from_toml(
        &edit(
            BUDAPEST,
            "unvalidated_categories = []",
            "unvalidated_categories = [\"traffic\"]",
        ),
        "budapest.toml",
    )
    .unwrap();
    assert_eq!(b.emergency.unvalidated_categories, [DataCategory::Traffic]);
}

#[test]
fn an_offence_code_has_the_form_requests_can_match() {
    let text = policy::examples::BUDAPEST;
    let long = "x".repeat(65);
    let (key, expected) = invalid(&edit(
        text,
        "code = \"computer-fraud\"",
        &format!("code = \"{long}\""),
    ));
    assert_eq!(key, "dual_criminality.offences[3].code");
    assert!(expected.contains("1 to 64 printable ASCII"), "{expected}");
    let (key, _) = invalid(&edit(
        text,
        "code = \"computer-fraud\"",
        "code = \"computer fraud\"",
    ));
    assert_eq!(key, "dual_criminality.offences[3].code");
    // 64 characters are fine.
    let fits = "y".repeat(64);
    assert!(
        load(&edit(
            text,
            "code = \"computer-fraud\"",
            &format!("code = \"{fits}\"")
        ))
        .is_ok()
    );
}

#[test]
fn text_that_reaches_traces_is_one_bounded_line_and_an_umbrella_has_a_name() {
    let (key, expected) = invalid(&edit(
        BUDAPEST,
        "preauthorised_onward = []",
        "preauthorised_onward = []\numbrella_agreement = \"  \"",
    ));
    assert_eq!(key, "transfers.umbrella_agreement");
    assert!(expected.contains("non-blank"), "{expected}");
    let long = "r".repeat(1001);
    let (key, _) = invalid(&edit(
        BUDAPEST,
        "suspension_reason = \"\"",
        &format!("suspension_reason = \"{long}\""),
    ));
    assert_eq!(key, "transfers.suspension_reason");
    let (key, _) = invalid(&edit(
        BUDAPEST,
        "suspension_reason = \"\"",
        "suspension_reason = \"decided\\u001b[2J\"",
    ));
    assert_eq!(key, "transfers.suspension_reason");
    let (key, _) = invalid(&edit(
        BUDAPEST,
        "conduct = \"defamation of a person\"",
        "conduct = \"two\\nlines\"",
    ));
    assert_eq!(key, "dual_criminality.offences[7].conduct");
    // A reason of 1000 bytes is fine.
    let fits = "r".repeat(1000);
    assert!(
        load(&edit(
            BUDAPEST,
            "suspension_reason = \"\"",
            &format!("suspension_reason = \"{fits}\"")
        ))
        .is_ok()
    );
}

#[test]
fn agreement_text_may_not_hide_its_direction_or_lines() {
    for hidden in ["\\u202e", "\\u2028", "\\u200b"] {
        let (key, _) = invalid(&edit(
            BUDAPEST,
            "suspension_reason = \"\"",
            &format!("suspension_reason = \"decided{hidden}by the ministry\""),
        ));
        assert_eq!(key, "transfers.suspension_reason", "{hidden}");
    }
}
