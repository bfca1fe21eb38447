//! The request file: template, parse, render, and what they refuse.

use std::net::{IpAddr, Ipv6Addr};

use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{
    AuthorityType, DataCategory, Emergency, EvidenceRequest, ProtectedStatus, RequestType,
    Selector, Signed,
};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::purpose::OnwardTransfer;
use evx_protocol::rand_core::UnwrapErr;
use evx_protocol::sample;
use evx_requesting::request_file::{
    RequestFile, RequestFileError, ValidationDraft, parse, render, template,
};

const FILE: &str = "request.toml";
/// 2026-11-01T00:00:00Z.
const NOV_1: u64 = 1_793_491_200;

fn me() -> PartyId {
    sample::requesting_party()
}

fn template_text() -> String {
    template(
        RequestId([9; 16]),
        &sample::requested_party(),
        sample::SAMPLE_TIME,
    )
}

fn parse_ok(text: &str) -> RequestFile {
    parse(text, FILE, &me(), sample::SAMPLE_TIME)
        .unwrap_or_else(|e| panic!("refused: {e}\n---\n{text}"))
}

fn parse_err(text: &str) -> RequestFileError {
    match parse(text, FILE, &me(), sample::SAMPLE_TIME) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => {
            assert!(e.to_string().starts_with("request.toml: "), "{e}");
            e
        }
    }
}

/// `text` with the first line starting with `prefix` replaced by `line`.
fn with_line(text: &str, prefix: &str, line: &str) -> String {
    let mut done = false;
    let out: Vec<&str> = text
        .lines()
        .map(|l| {
            if !done && l.starts_with(prefix) {
                done = true;
                line
            } else {
                l
            }
        })
        .collect();
    assert!(done, "no line starts with {prefix:?}");
    out.join("\n")
}

fn invalid_key(e: &RequestFileError) -> &str {
    match e {
        RequestFileError::Invalid { key, .. } => key,
        other => panic!("expected an invalid value, got {other:?}"),
    }
}

/// A request using every optional part and every kind of selector.
fn full_request() -> EvidenceRequest {
    let mut r = sample::production_request(RequestId([0xa5; 16]));
    r.request_type = RequestType::EmergencyDisclosure;
    r.categories = vec![
        DataCategory::Subscriber,
        DataCategory::Identification,
        DataCategory::Traffic,
        DataCategory::Content,
    ];
    r.facts = "Quotes \" and \\ backslashes,\nnew lines,\ttabs, a bell \u{7}, DEL \u{7f}, \
               é and 📎."
        .into();
    r.emergency = Some(Emergency {
        justification: "A hostage is held; \"now\" matters.".into(),
    });
    r.confidentiality.no_user_notice_until = Some(UnixTime(NOV_1 + 90 * 86_400));
    r.preservation_ref = Some(RequestId([0x3c; 16]));
    r.notification_ref = Some("IE-NOTIF-2026-17".into());
    r.territory.person_resides_in_issuing_state = None;
    r.protected_status = vec![ProtectedStatus::Press, ProtectedStatus::Immunity];
    r.onward_transfer = OnwardTransfer::AuthorisedTo(vec![
        PartyId::new("NL-OM").unwrap(),
        PartyId::new("Eurojust").unwrap(),
    ]);
    r.selectors.extend([
        Selector::Email("k.lenz@mail.provider.example".into()),
        Selector::Phone("+4930123456".into()),
        Selector::IpAddress {
            address: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            port: None,
            at: UnixTime(NOV_1),
        },
        Selector::Device("356938035643809".into()),
        Selector::Domain("intruder.example".into()),
        Selector::IpRange {
            network: "198.51.100.0".parse().unwrap(),
            prefix_len: 24,
        },
        Selector::Keyword("ransom".into()),
        Selector::Area {
            latitude_e6: 52_520_008,
            longitude_e6: -13_404_954,
            radius_m: 500,
        },
    ]);
    r
}

fn draft() -> ValidationDraft {
    ValidationDraft {
        authority: "Amtsgericht Tiergarten".into(),
        authority_type: AuthorityType::InvestigatingJudge,
        reference: "351 Gs 1024/26".into(),
        statement: "Necessary to identify the intruder; limited to one account.".into(),
    }
}

#[test]
fn the_template_parses_into_a_seven_day_production_request() {
    let now = UnixTime(1_800_000_000);
    let id = RequestId([0x42; 16]);
    let text = template(id, &sample::requested_party(), now);
    let issued = UnixTime(1_800_000_123);
    let file = parse(&text, FILE, &me(), issued).unwrap();
    let r = &file.request;
    assert_eq!(r.v, 1);
    assert_eq!(r.request_type, RequestType::Production);
    assert_eq!(r.request_id, id);
    assert_eq!(r.requesting_party, me());
    assert_eq!(r.requested_party, sample::requested_party());
    assert_eq!(r.issued_at, issued);
    assert_eq!(r.time_range.to, now);
    assert_eq!(r.time_range.from, UnixTime(now.0 - 7 * 86_400));
    assert_eq!(r.categories, vec![DataCategory::Traffic]);
    assert!(matches!(r.selectors.as_slice(), [Selector::Account { .. }]));
    assert_eq!(file.validation, None);
    // Dates are written for people, and the optional parts are shown commented out.
    assert!(text.contains("to = 2027-01-15T08:00:00Z"), "{text}");
    for example in ["# [validation]", "# [emergency]", "# IpAddress = {"] {
        assert!(text.contains(example), "no {example:?} in\n{text}");
    }
}

#[test]
fn every_value_the_template_lists_is_accepted() {
    let text = template_text();
    let lines: Vec<&str> = text.lines().collect();
    for key in [
        "proceeding",
        "instrument",
        "request_type",
        "purpose",
        "authority_type",
        "categories",
        "protected_status",
    ] {
        let prefix = format!("{key} = ");
        let at = lines.iter().position(|l| l.starts_with(&prefix)).unwrap();
        let comment = lines[at - 1];
        let (_, list) = comment.rsplit_once(": ").unwrap();
        let values: Vec<&str> = list.split(" | ").collect();
        assert!(values.len() >= 3, "{comment}");
        for value in values {
            let line = if key == "categories" || key == "protected_status" {
                format!("{key} = [\"{value}\"]")
            } else {
                format!("{key} = \"{value}\"")
            };
            parse_ok(&with_line(&text, &prefix, &line));
        }
    }
}

#[test]
fn the_sample_request_round_trips() {
    let request = sample::production_request(RequestId([7; 16]));
    let text = render(&request, None);
    let file = parse(&text, FILE, &request.requesting_party, request.issued_at).unwrap();
    assert_eq!(
        file,
        RequestFile {
            request,
            validation: None
        }
    );
}

#[test]
fn every_field_and_selector_round_trips() {
    let request = full_request();
    let text = render(&request, Some(&draft()));
    let file = parse(&text, FILE, &request.requesting_party, request.issued_at)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(file.request, request);
    assert_eq!(file.validation, Some(draft()));

    // A time no calendar date can show is written as Unix seconds, and still round-trips.
    let mut far = request;
    far.time_range.to = UnixTime(i64::MAX as u64);
    let text = render(&far, None);
    assert!(text.contains(&format!("to = {}", i64::MAX)));
    assert_eq!(parse_ok(&text).request, far);
}

#[test]
fn times_may_be_toml_datetimes_rfc3339_strings_or_unix_seconds() {
    let text = template_text();
    for form in [
        "2026-11-01T00:00:00Z",
        "2026-11-01T02:00:00+02:00",
        "2026-10-31T19:00:00-05:00",
        "2026-11-01T00:00Z",
        "2026-11-01T00:00:00.999Z",
        "\"2026-11-01T00:00:00Z\"",
        "\"2026-11-01T02:00:00+02:00\"",
        "1793491200",
    ] {
        let file = parse_ok(&with_line(&text, "from = ", &format!("from = {form}")));
        assert_eq!(file.request.time_range.from, UnixTime(NOV_1), "{form}");
    }
    let at = with_line(
        &text,
        "# no_user_notice_until",
        "no_user_notice_until = \"2026-11-01T01:00:00+01:00\"",
    );
    assert_eq!(
        parse_ok(&at).request.confidentiality.no_user_notice_until,
        Some(UnixTime(NOV_1))
    );
}

#[test]
fn a_bad_time_names_its_key() {
    let text = template_text();
    for bad in [
        "\"2026-13-01T00:00:00Z\"",
        "\"yesterday\"",
        "2026-11-01T00:00:00",
        "2026-11-01",
        "-1",
        "true",
        "\"1969-12-31T23:59:59Z\"",
    ] {
        let e = parse_err(&with_line(&text, "from = ", &format!("from = {bad}")));
        assert_eq!(invalid_key(&e), "time_range.from", "{bad}: {e}");
        assert!(
            e.to_string().contains(
                "`time_range.from`: expected a date and time (2026-11-01T00:00:00Z) or Unix seconds"
            ),
            "{e}"
        );
    }

    let sample = render(&sample::production_request(RequestId([7; 16])), None);
    let e = parse_err(&with_line(
        &sample,
        "IpAddress = { address = \"203.0.113.77\", port = 51234",
        "IpAddress = { address = \"203.0.113.77\", port = 51234, at = \"soon\" }",
    ));
    assert_eq!(invalid_key(&e), "selectors[1].IpAddress.at");
}

#[test]
fn a_bad_request_id_names_request_id() {
    let text = template_text();
    for bad in [
        "\"0909\"",
        "\"zz09090909090909090909090909090909\"",
        "\"zz090909090909090909090909090909\"",
        "7",
    ] {
        let e = parse_err(&with_line(
            &text,
            "request_id = ",
            &format!("request_id = {bad}"),
        ));
        assert_eq!(invalid_key(&e), "request_id", "{bad}");
        assert!(e.to_string().contains("32 hex digits"), "{e}");
    }
    let e = parse_err(&with_line(
        &text,
        "# preservation_ref",
        "preservation_ref = \"nope\"",
    ));
    assert_eq!(invalid_key(&e), "preservation_ref");
}

#[test]
fn unknown_keys_are_refused_at_every_level() {
    let text = template_text();
    let e = parse_err(&with_line(
        &text,
        "categories = ",
        "catgories = [\"traffic\"]",
    ));
    match &e {
        RequestFileError::UnknownKey { key, hint, .. } => {
            assert_eq!(key, "catgories");
            assert!(hint.contains("did you mean `categories`?"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("`catgories`"));

    let e = parse_err(&with_line(
        &text,
        "# no_user_notice_until",
        "no_user_notice_untill = 2027-01-01T00:00:00Z",
    ));
    assert!(
        matches!(&e, RequestFileError::UnknownKey { key, .. } if key == "confidentiality.no_user_notice_untill"),
        "{e}"
    );

    let e = parse_err(&with_line(
        &text,
        "Account = ",
        "Acount = { service = \"s.example\", account = \"a\" }",
    ));
    assert!(
        matches!(&e, RequestFileError::UnknownKey { key, hint, .. }
            if key == "selectors[0].Acount" && hint.contains("`Account`")),
        "{e}"
    );

    let e = parse_err(&with_line(
        &text,
        "Account = ",
        "Account = { service = \"s.example\", acount = \"a\" }",
    ));
    assert!(
        matches!(&e, RequestFileError::UnknownKey { key, .. } if key == "selectors[0].Account.acount"),
        "{e}"
    );
}

#[test]
fn missing_keys_and_wrong_types_name_the_key() {
    let text = template_text();
    let e = parse_err(&with_line(&text, "facts = ", ""));
    assert!(
        matches!(&e, RequestFileError::Missing { key, .. } if key == "facts"),
        "{e}"
    );
    let e = parse_err(&with_line(
        &text,
        "max_penalty_months = ",
        "max_penalty_months = \"36\"",
    ));
    assert_eq!(invalid_key(&e), "offence.max_penalty_months");
    let e = parse_err(&with_line(
        &text,
        "request_type = ",
        "request_type = \"productoin\"",
    ));
    assert_eq!(invalid_key(&e), "request_type");
    assert!(
        e.to_string()
            .contains("preservation | preserved_traffic_disclosure | production")
    );
    let e = parse_err(&with_line(&text, "Account = ", "Email = 7"));
    assert_eq!(invalid_key(&e), "selectors[0].Email");
}

#[test]
fn requesting_party_comes_from_the_configuration() {
    let text = template_text();
    let own = format!("requesting_party = \"{}\"\n{text}", me());
    assert_eq!(parse_ok(&own).request.requesting_party, me());

    let other = format!("requesting_party = \"FR-PNC\"\n{text}");
    match parse_err(&other) {
        RequestFileError::WrongRequestingParty {
            found, configured, ..
        } => {
            assert_eq!(found.as_str(), "FR-PNC");
            assert_eq!(configured, me());
        }
        other => panic!("{other:?}"),
    }

    let e = parse_err(&format!("issued_at = 2026-11-01T00:00:00Z\n{text}"));
    assert!(matches!(e, RequestFileError::NotInFile { .. }), "{e}");
    assert_eq!(parse_ok(&format!("v = 1\n{text}")).request.v, 1);
    assert_eq!(invalid_key(&parse_err(&format!("v = 2\n{text}"))), "v");
}

#[test]
fn a_wildcard_account_still_parses_for_the_policy_engine_to_refuse() {
    let text = with_line(
        &template_text(),
        "Account = ",
        "Account = { service = \"mail.provider.example\", account = \"*\" }",
    );
    let file = parse_ok(&text);
    assert_eq!(
        file.request.selectors,
        vec![Selector::Account {
            service: "mail.provider.example".into(),
            account: "*".into()
        }]
    );
    // The table form of a selector entry is read the same way.
    let table_form = with_line(
        &template_text(),
        "Account = ",
        "[selectors.Account]\nservice = \"mail.provider.example\"\naccount = \"*\"",
    );
    assert_eq!(parse_ok(&table_form), file);
}

#[test]
fn the_validation_table_is_bound_to_the_signed_request() {
    let request = sample::production_request(RequestId([7; 16]));
    let text = render(&request, Some(&draft()));
    let file = parse(&text, FILE, &request.requesting_party, request.issued_at).unwrap();
    let draft = file.validation.clone().unwrap();
    assert_eq!(draft, self::draft());

    let rng = &mut UnwrapErr(getrandom::SysRng);
    let prosecutor = SigningKey::generate(rng);
    let judge = SigningKey::generate(rng);
    let signed = Signed::sign(&file.request, &prosecutor).unwrap();
    let at = request.issued_at.plus_secs(60);
    let validation = draft.validation(&signed, &file.request, at);
    assert_eq!(validation.v, 1);
    assert_eq!(validation.request_id, request.request_id);
    assert_eq!(validation.request_digest, signed.digest());
    assert_eq!(validation.validated_at, at);
    assert_eq!(validation.authority_type, AuthorityType::InvestigatingJudge);
    let signed_validation = Signed::sign(&validation, &judge).unwrap();
    assert_eq!(
        signed_validation.verify(&judge.verifying_key()).unwrap(),
        validation
    );

    // A validation table with a typo is refused, not half-read.
    let typo = with_line(&text, "reference = ", "referance = \"x\"");
    assert!(
        matches!(parse_err(&typo), RequestFileError::UnknownKey { key, .. } if key == "validation.referance")
    );
}

#[test]
fn syntax_errors_carry_the_line() {
    let text = with_line(&template_text(), "facts = ", "facts = \"unterminated");
    match parse_err(&text) {
        RequestFileError::Syntax { message, .. } => assert!(message.contains("line"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_input_never_panics() {
    let text = render(&full_request(), Some(&draft()));
    let boundaries = text.char_indices().map(|(i, _)| i);
    for end in boundaries {
        let _ = parse(&text[..end], FILE, &me(), sample::SAMPLE_TIME);
    }
    let template = template_text();
    let odd = [
        String::new(),
        "\0".into(),
        "[[selectors]]\n[[selectors]]".into(),
        "selectors = \"x\"".into(),
        "selectors = [1, [], {}]".into(),
        format!("a = {}", "[".repeat(500)),
        format!("k = {}{}", "[".repeat(200), "]".repeat(200)),
        with_line(&template, "from = ", "from = 99999999999999999999999"),
        with_line(&template, "from = ", &format!("from = {}", i64::MAX)),
        with_line(&template, "from = ", &format!("from = {}", i64::MIN)),
        with_line(&template, "from = ", "from = -1"),
        with_line(&template, "from = ", "from = 9999-12-31T23:59:59-23:59"),
        with_line(&template, "from = ", "from = 0000-01-01T00:00:00+23:59"),
        with_line(&template, "from = ", "from = 1.5e300"),
        with_line(&template, "Account = ", "Account = 1\nEmail = \"a\""),
        with_line(
            &template,
            "Account = ",
            "IpAddress = { address = \"::1\", port = 70000, at = 0 }",
        ),
        with_line(
            &template,
            "Account = ",
            "Area = { latitude_e6 = 1e9, longitude_e6 = 0, radius_m = -1 }",
        ),
        with_line(
            &template,
            "max_penalty_months = ",
            "max_penalty_months = -1",
        ),
        with_line(
            &template,
            "request_id = ",
            &format!("request_id = \"{}\"", "é".repeat(16)),
        ),
        with_line(
            &template,
            "categories = ",
            &format!("x{} = 1", "y".repeat(100_000)),
        ),
    ];
    for input in &odd {
        if let Err(e) = parse(input, FILE, &me(), sample::SAMPLE_TIME) {
            let _ = e.to_string();
        }
    }
    // Times from the limits of i64 are refused as out of range or kept, never wrapped.
    let max = with_line(&template, "to = ", &format!("to = {}", i64::MAX));
    assert_eq!(
        parse_ok(&max).request.time_range.to,
        UnixTime(i64::MAX as u64)
    );
    let min = with_line(&template, "to = ", &format!("to = {}", i64::MIN));
    assert_eq!(invalid_key(&parse_err(&min)), "time_range.to");
}
