//! Properties over arbitrary well-typed requests: evaluation never panics, is deterministic,
//! leaves a trace that encodes canonically with one result per rule in catalogue order, and no
//! adverse decision is taken by the engine alone.

use std::net::IpAddr;

use evx_protocol::document::{
    AuthorityType, Confidentiality, DataCategory, Emergency, EvidenceRequest, Instrument, Issuer,
    JudicialValidation, Offence, Outcome, Proceeding, ProtectedStatus, RequestType, Selector,
    Signed, Territory, TimeRange,
};
use evx_protocol::ids::{CaseId, PartyId, RequestId, UnixTime};
use evx_protocol::policy::{
    Channel, Concern, Intake, PrivilegedList, Proposal, ReviewFlag, RuleClass, RuleId, Trace,
    Verdict,
};
use evx_protocol::purpose::{OnwardTransfer, Purpose};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use crate::fixture::*;

/// Short strings: plausible identifiers, pattern characters, and arbitrary text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9.]{1,10}@[a-z0-9-]{1,10}\\.example",
        "[a-z0-9-]{1,12}\\.example",
        "\\+[1-9][0-9]{7,14}",
        "[a-z0-9.@+*%?#\\[\\]{}|^$\\\\x-]{0,20}",
        "\\PC{0,24}",
    ]
}

fn time() -> impl Strategy<Value = UnixTime> {
    prop_oneof![
        4 => (T0.0 - 800 * DAY)..(T0.0 + 100 * DAY),
        1 => any::<u64>(),
        1 => select(vec![0, T0.0, RECEIVED.0, u64::MAX]),
    ]
    .prop_map(UnixTime)
}

fn selector() -> impl Strategy<Value = Selector> {
    prop_oneof![
        (text(), text()).prop_map(|(service, account)| Selector::Account { service, account }),
        text().prop_map(Selector::Email),
        text().prop_map(Selector::Phone),
        (any::<IpAddr>(), any::<Option<u16>>(), time())
            .prop_map(|(address, port, at)| { Selector::IpAddress { address, port, at } }),
        text().prop_map(Selector::Device),
        text().prop_map(Selector::Domain),
        (any::<IpAddr>(), any::<u8>()).prop_map(|(network, prefix_len)| Selector::IpRange {
            network,
            prefix_len
        }),
        text().prop_map(Selector::Keyword),
        (any::<i32>(), any::<i32>(), any::<u32>()).prop_map(
            |(latitude_e6, longitude_e6, radius_m)| Selector::Area {
                latitude_e6,
                longitude_e6,
                radius_m,
            }
        ),
    ]
}

fn category() -> impl Strategy<Value = DataCategory> {
    select(vec![
        DataCategory::Subscriber,
        DataCategory::Identification,
        DataCategory::Traffic,
        DataCategory::Content,
    ])
}

fn offence() -> impl Strategy<Value = Offence> {
    let code = prop_oneof![
        3 => select(vec![
            "illegal-access",
            "fraud",
            "tax-evasion",
            "tax-fraud",
            "insulting-state-organs",
            "defamation",
            "child-sexual-abuse-material",
        ])
        .prop_map(String::from),
        1 => text(),
    ];
    let penalty = prop_oneof![0..100u32, any::<u32>()];
    (code, text(), penalty, any::<bool>()).prop_map(
        |(code, statute, max_penalty_months, committed_via_ict)| Offence {
            code,
            statute,
            max_penalty_months,
            committed_via_ict,
        },
    )
}

fn issuer() -> impl Strategy<Value = Issuer> {
    let kind = select(vec![
        AuthorityType::Judge,
        AuthorityType::Court,
        AuthorityType::InvestigatingJudge,
        AuthorityType::Prosecutor,
        AuthorityType::LawEnforcement,
        AuthorityType::CentralAuthority,
        AuthorityType::PointOfContact,
    ]);
    (text(), kind, text(), text()).prop_map(|(authority, authority_type, file_number, contact)| {
        Issuer {
            authority,
            authority_type,
            file_number,
            contact,
        }
    })
}

fn kinds() -> impl Strategy<Value = (Proceeding, Instrument, RequestType, Purpose)> {
    (
        select(vec![
            Proceeding::Criminal,
            Proceeding::Criminal,
            Proceeding::Civil,
            Proceeding::Administrative,
            Proceeding::Prevention,
        ]),
        select(vec![
            Instrument::Budapest,
            Instrument::BudapestSecondProtocol,
            Instrument::EuEEvidence,
            Instrument::UnCybercrime,
            Instrument::CloudActAgreement,
        ]),
        select(vec![
            RequestType::Preservation,
            RequestType::PreservedTrafficDisclosure,
            RequestType::Production,
            RequestType::EmergencyDisclosure,
            RequestType::RealTimeCollection,
        ]),
        select(Purpose::ALL.to_vec()),
    )
}

/// The request's optional parts: emergency justification, confidentiality, onward transfer,
/// preservation and notification references, territory and protected status.
type Extras = (
    Option<String>,
    Confidentiality,
    OnwardTransfer,
    Option<RequestId>,
    Option<String>,
    Territory,
    Vec<ProtectedStatus>,
);

fn extras() -> impl Strategy<Value = Extras> {
    let confidentiality = (any::<bool>(), proptest::option::of(time())).prop_map(
        |(confidential, no_user_notice_until)| Confidentiality {
            confidential,
            no_user_notice_until,
        },
    );
    let onward = prop_oneof![
        Just(OnwardTransfer::DenyWithoutAuthorisation),
        vec(select(vec!["EUROPOL", "US-FBI", "DE-BfJ"]), 0..3)
            .prop_map(|v| { OnwardTransfer::AuthorisedTo(v.into_iter().map(party).collect()) }),
    ];
    let territory = (any::<bool>(), any::<Option<bool>>()).prop_map(|(o, p)| Territory {
        offence_in_issuing_state: o,
        person_resides_in_issuing_state: p,
    });
    let status = vec(
        select(vec![
            ProtectedStatus::ProfessionalPrivilege,
            ProtectedStatus::Press,
            ProtectedStatus::Immunity,
        ]),
        0..2,
    );
    (
        proptest::option::of(prop_oneof![text(), Just(JUSTIFICATION.to_owned())]),
        confidentiality,
        onward,
        proptest::option::of(any::<[u8; 16]>().prop_map(RequestId)),
        proptest::option::of(text()),
        territory,
        status,
    )
}

prop_compose! {
    /// Arbitrary values for every request field, between placeholder parties: the test takes
    /// some of them into the world's baseline request (see [`merge`]).
    fn request()(
        id in any::<[u8; 16]>(),
        issued_at in time(),
        (proceeding, instrument, request_type, purpose) in kinds(),
        issuer in issuer(),
        offence in offence(),
        facts in prop_oneof![text(), Just("Intrusion into a hospital network; see the ransom note.".to_owned())],
        categories in vec(category(), 0..6),
        selectors in vec(selector(), 0..12),
        (from, to) in (time(), time()),
        (emergency, confidentiality, onward_transfer, preservation_ref, notification_ref, territory, protected_status) in extras(),
    ) -> EvidenceRequest {
        EvidenceRequest {
            v: 1,
            request_id: RequestId(id),
            requesting_party: party("XX-placeholder"),
            requested_party: party("XX-placeholder"),
            issued_at,
            proceeding,
            case_id: CaseId::new("DE-StA-Berlin/2026/0412").unwrap(),
            instrument,
            request_type,
            issuer,
            offence,
            facts,
            categories,
            selectors,
            time_range: TimeRange { from, to },
            purpose,
            emergency: emergency.map(|justification| Emergency { justification }),
            confidentiality,
            onward_transfer,
            preservation_ref,
            notification_ref,
            territory,
            protected_status,
        }
    }
}

/// How many request fields are replaced: `mask[i] < level` replaces field `i`. Level 1 changes
/// about one field in ten (mostly valid requests), level 10 every field (arbitrary requests).
fn mask() -> impl Strategy<Value = (u8, Vec<u8>)> {
    (select(vec![1u8, 1, 1, 2, 4, 10]), vec(0..10u8, FIELDS))
}

const FIELDS: usize = 21;

/// The baseline request with the fields the mask selects taken from `g`.
fn merge(
    mut base: EvidenceRequest,
    g: EvidenceRequest,
    (level, mask): &(u8, Vec<u8>),
) -> EvidenceRequest {
    let take = |i: usize| mask[i] < *level;
    macro_rules! fields {
        ($($i:literal => $($f:ident).+;)*) => {
            $( if take($i) { base.$($f).+ = g.$($f).+.clone(); } )*
        };
    }
    fields! {
        0 => request_id;
        1 => issued_at;
        2 => proceeding;
        3 => instrument;
        4 => request_type;
        5 => issuer.authority_type;
        6 => issuer;
        7 => offence.code;
        8 => offence.max_penalty_months;
        9 => offence;
        10 => facts;
        11 => categories;
        12 => selectors;
        13 => time_range;
        14 => purpose;
        15 => emergency;
        16 => confidentiality;
        17 => onward_transfer;
        18 => preservation_ref;
        19 => notification_ref;
        20 => territory;
    }
    if take(20) {
        base.protected_status = g.protected_status;
    }
    base
}

/// Every safeguard's ground code.
fn safeguard_grounds() -> Vec<&'static str> {
    RuleId::ALL.iter().filter_map(|r| r.ground()).collect()
}

fn concern() -> impl Strategy<Value = Concern> {
    select(vec![
        Concern::Discrimination,
        Concern::PoliticalOffence,
        Concern::EssentialInterests,
        Concern::FundamentalRights,
        Concern::Privilege,
        Concern::NeBisInIdem,
        Concern::ThirdCountryLaw,
        Concern::SecurityIncident,
        Concern::SystematicBreach,
        Concern::DeathPenaltyOrSpeech,
    ])
}

/// The world's agreement, varied where it changes the decision.
#[derive(Clone, Debug)]
struct Setup {
    budapest: bool,
    suspended: bool,
    automatic: Vec<&'static str>,
    preauthorised: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        prop::bool::weighted(0.1),
        prop_oneof![3 => Just(Vec::new()), 1 => subsequence(safeguard_grounds(), 1..4)],
        any::<bool>(),
    )
        .prop_map(|(budapest, suspended, automatic, preauthorised)| Setup {
            budapest,
            suspended,
            automatic,
            preauthorised,
        })
}

/// How the request arrived and what came with it.
#[derive(Clone, Debug)]
struct Arrival {
    /// Index of the requesting and requested party: 0 and 1 are the agreement's, 2 a stranger.
    parties: (usize, usize),
    received_at: UnixTime,
    channel: Channel,
    log_index: Option<u64>,
    /// 0: none; 1: the judge's over this request; 2: a stranger's; 3: the judge's over another.
    validation: u8,
    flags: Vec<ReviewFlag>,
    privileged_first: bool,
}

fn arrival() -> impl Strategy<Value = Arrival> {
    (
        (
            select(vec![0usize, 0, 0, 0, 0, 0, 0, 0, 1, 2]),
            select(vec![1usize, 1, 1, 1, 1, 1, 1, 1, 0, 2]),
        ),
        prop_oneof![7 => Just(RECEIVED), 1 => time()],
        (prop::bool::weighted(0.95), prop::bool::weighted(0.95)),
        prop_oneof![19 => any::<u64>().prop_map(Some), 1 => Just(None)],
        select(vec![0u8, 0, 0, 0, 0, 1, 1, 2, 3]),
        prop_oneof![
            3 => Just(Vec::new()),
            1 => vec(
                (concern(), text()).prop_map(|(concern, note)| ReviewFlag { concern, note }),
                1..3,
            ),
        ],
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(parties, received_at, (mutual_tls, encrypted), log_index, validation, flags, p)| {
                Arrival {
                    parties,
                    received_at,
                    channel: Channel {
                        mutual_tls,
                        encrypted,
                    },
                    log_index,
                    validation,
                    flags,
                    privileged_first: p,
                }
            },
        )
}

fn world(s: &Setup) -> World {
    let mut w = if s.budapest {
        World::budapest()
    } else {
        World::eu()
    };
    w.agreement.transfers.suspended = s.suspended;
    w.agreement
        .automatic_refusals
        .extend(s.automatic.iter().map(|g| (*g).to_owned()));
    if s.preauthorised {
        w.agreement.transfers.preauthorised_onward = vec![party("EUROPOL")];
    }
    w
}

fn party_id(w: &World, i: usize) -> PartyId {
    match i {
        0 => w.requesting.clone(),
        1 => w.requested.clone(),
        _ => party("FR-PNC"),
    }
}

/// Evaluates one request as it arrived.
fn evaluate(w: &World, r: &EvidenceRequest, a: &Arrival) -> Trace {
    let signed = w.sign(r);
    let validations: Vec<Signed<JudicialValidation>> = match a.validation {
        1 => vec![w.validate(&signed)],
        2 => vec![w.validate_with(&signed, &w.stranger, AuthorityType::Judge)],
        3 => {
            let mut other = r.clone();
            other.facts.push('.');
            vec![w.validate(&w.sign(&other))]
        }
        _ => Vec::new(),
    };
    let privileged: Vec<Selector> = if a.privileged_first {
        r.selectors.iter().take(1).cloned().collect()
    } else {
        Vec::new()
    };
    let privileged = PrivilegedList::new(&privileged);
    let mut intake = Intake::new(&signed, r, a.received_at, a.channel)
        .with_validations(&validations)
        .with_flags(&a.flags)
        .with_privileged(&privileged);
    intake.log_index = a.log_index;
    w.run(&intake)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn evaluation_is_total_deterministic_canonical_and_never_refuses_alone(
        s in setup(),
        g in request(),
        m in mask(),
        a in arrival(),
    ) {
        let w = world(&s);
        let mut r = merge(w.request(), g, &m);
        r.requesting_party = party_id(&w, a.parties.0);
        r.requested_party = party_id(&w, a.parties.1);

        let trace = evaluate(&w, &r, &a);

        // Deterministic: a second evaluation, from a fresh world, is the same byte for byte.
        let again = evaluate(&world(&s), &r, &a);
        prop_assert_eq!(&again, &trace);
        prop_assert_eq!(again.digest(), trace.digest());
        prop_assert_eq!(again.encode(), trace.encode());

        // Canonical: the encoding decodes back to the same trace.
        let bytes = trace.encode();
        let back = Trace::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &trace);
        prop_assert_eq!(back.digest(), trace.digest());

        // One result per rule, in catalogue order.
        let order: Vec<RuleId> = trace.results.iter().map(|r| r.rule).collect();
        prop_assert_eq!(order.as_slice(), RuleId::ALL);
        prop_assert_eq!(trace.request_id, r.request_id);
        prop_assert_eq!(trace.received_at, a.received_at);
        prop_assert_eq!(trace.agreement_digest, w.agreement.digest());

        // Each verdict is one its rule's class can give, with the details that go with it.
        for res in &trace.results {
            let class = res.rule.class();
            prop_assert!(!res.explanation.trim().is_empty(), "{} explains nothing", res.rule);
            match res.verdict {
                Verdict::NeedsReview => prop_assert_eq!(class, RuleClass::Review, "{}", res.rule),
                Verdict::Fail => prop_assert_ne!(class, RuleClass::Review, "{}", res.rule),
                Verdict::Pass | Verdict::NotApplicable => {}
                v => prop_assert!(false, "{}: a verdict this suite does not know: {:?}", res.rule, v),
            }
            let incomplete = res.verdict == Verdict::Fail && class == RuleClass::Completeness;
            prop_assert_eq!(!res.missing.is_empty(), incomplete, "{}", res.rule);
            if !res.categories.is_empty() {
                prop_assert_eq!(res.verdict, Verdict::Fail, "{}", res.rule);
                prop_assert!(res.categories.iter().all(|c| r.categories.contains(c)), "{}", res.rule);
            }
        }

        // No solely automated adverse decision: the engine refuses alone only on a ground the
        // agreement makes automatic; everything else adverse waits for a reviewer.
        let failed = |class: RuleClass| {
            trace.results.iter().filter(move |x| x.verdict == Verdict::Fail && x.rule.class() == class)
        };
        let recorded = failed(RuleClass::Precondition).next().is_none();
        let automatic_failure = failed(RuleClass::Safeguard)
            .any(|x| x.rule.ground().is_some_and(|g| w.agreement.refuses_automatically(g)));
        prop_assert_eq!(
            matches!(trace.proposal, Proposal::Refuse { automatic: true, .. }),
            recorded && automatic_failure,
            "{:?}", trace.proposal
        );
        prop_assert_eq!(trace.review_due.is_some(), trace.needs_reviewer());

        // Nothing at all is decided while a precondition fails.
        let blocked = !recorded;
        prop_assert_eq!(matches!(trace.proposal, Proposal::Blocked { .. }), blocked);
        let decision = trace.decision(a.received_at);
        prop_assert_eq!(decision.is_none(), blocked, "{:?}", trace.proposal);
        if let Some(d) = decision {
            prop_assert_eq!(d.request_id, r.request_id);
            prop_assert_eq!(d.trace_digest, Some(trace.digest()));
            prop_assert_eq!(d.review_digest, None);
            prop_assert_eq!(d.due, trace.due);
            match &d.outcome {
                Outcome::Refuse { grounds } => {
                    let automatic = matches!(
                        &trace.proposal,
                        Proposal::Refuse { grounds: g, automatic: true } if g == grounds
                    );
                    prop_assert!(automatic, "refused alone: {:?}", trace.proposal);
                    prop_assert!(!grounds.is_empty());
                    for g in grounds {
                        prop_assert!(w.agreement.refuses_automatically(&g.code), "{}", g.code);
                    }
                }
                Outcome::Accept { conditions } => {
                    prop_assert_eq!(&trace.proposal, &Proposal::Accept);
                    prop_assert_eq!(conditions, &trace.conditions);
                    for res in &trace.results {
                        prop_assert!(
                            matches!(res.verdict, Verdict::Pass | Verdict::NotApplicable),
                            "accepted with {} {}", res.rule, res.verdict.as_str()
                        );
                    }
                }
                Outcome::Incomplete { missing } => {
                    prop_assert!(!missing.is_empty());
                    // Every field asked for comes from a failed completeness rule, in order;
                    // a failure left out concerns only categories a safeguard refused, where
                    // partial execution is possible.
                    let partial = trace.result(RuleId::PartialFirst).unwrap().verdict
                        == Verdict::NeedsReview;
                    let refused = |c: &DataCategory| {
                        failed(RuleClass::Safeguard).any(|x| x.categories.contains(c))
                    };
                    let mut asked = Vec::new();
                    for x in failed(RuleClass::Completeness) {
                        let left_out = partial
                            && !x.categories.is_empty()
                            && x.categories.iter().all(refused);
                        if !left_out {
                            asked.extend(x.missing.iter().cloned());
                        }
                    }
                    prop_assert_eq!(missing, &asked);
                }
                Outcome::PendingReview { due_at, .. } => {
                    prop_assert!(trace.needs_reviewer());
                    prop_assert_eq!(Some(*due_at), trace.review_due);
                    prop_assert!(*due_at >= a.received_at);
                }
                o => prop_assert!(false, "the engine alone decided {:?}", o),
            }
        }
        // A concern raised at intake always reaches a person: never accepted alone.
        let mut flags = a.flags.clone();
        flags.push(ReviewFlag { concern: Concern::FundamentalRights, note: "flagged".into() });
        let flagged = evaluate(&w, &r, &Arrival { flags, ..a.clone() });
        prop_assert_eq!(flagged.result(RuleId::FundamentalRights).unwrap().verdict, Verdict::NeedsReview);
        prop_assert!(
            !matches!(
                flagged.decision(a.received_at).map(|d| d.outcome),
                Some(Outcome::Accept { .. })
            ),
            "accepted despite a flag"
        );
        if let Proposal::Partial { categories, grounds } = &trace.proposal {
            let mut asked = r.categories.clone();
            asked.sort_unstable();
            asked.dedup();
            prop_assert!(!categories.is_empty() && categories.len() < asked.len());
            prop_assert!(categories.iter().all(|c| asked.contains(c)));
            prop_assert!(!grounds.is_empty());
        }
    }
}

/// A marker that no agreement, fixture or rule text contains.
const MARK: &str = "ZQXM4RK";

/// Text around the marker: plausible, a pattern, or malformed.
fn marked() -> impl Strategy<Value = String> {
    let around = "[a-z0-9.]{0,4}";
    prop_oneof![
        (around, around).prop_map(|(a, b)| format!("{a}{MARK}{b}")),
        (around, "[*%?\\[\\]{}|^$]").prop_map(|(a, p)| format!("{a}{MARK}{p}")),
        (
            around,
            select(vec![" ", "\n", "\t", "\u{2028}", "\u{85}", "\u{0}"])
        )
            .prop_map(|(a, c)| format!("{a}{MARK}{c}x")),
        Just(format!("{MARK}.*")),
        Just(MARK.to_lowercase()),
    ]
}

fn marked_selector() -> impl Strategy<Value = Selector> {
    let host = prop_oneof![
        marked().prop_map(|m| format!("{m}.example")),
        marked().prop_map(|m| format!("mail.{m}.example.")),
        marked(),
    ];
    prop_oneof![
        (marked(), Just("mail.provider.example".to_owned()))
            .prop_map(|(account, service)| Selector::Account { service, account }),
        ("[a-z]{1,6}", host.clone())
            .prop_map(|(account, service)| Selector::Account { service, account }),
        (marked(), Just("provider.example")).prop_map(|(l, d)| Selector::Email(format!("{l}@{d}"))),
        ("[a-z]{1,6}", host.clone()).prop_map(|(l, d)| Selector::Email(format!("{l}@{d}"))),
        (marked(), "[a-z]{1,6}")
            .prop_map(|(m, t)| Selector::Email(format!("k.lenz+{m}{t}@provider.example"))),
        marked().prop_map(|m| Selector::Phone(format!("+49{m}"))),
        marked().prop_map(Selector::Phone),
        marked().prop_map(Selector::Device),
        host.prop_map(Selector::Domain),
        marked().prop_map(Selector::Keyword),
    ]
}

/// Intake notes full of line breaks and control characters.
fn hostile_note() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![
            "[a-z ]{0,8}",
            select(vec![
                "\n",
                "\r\n",
                "\u{2028}",
                "\u{2029}",
                "\u{85}",
                "\t",
                "\u{1b}[2J",
                "\u{7f}"
            ])
            .prop_map(String::from),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

/// Whether text is one line: no control character and no Unicode line or paragraph separator.
fn one_line(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}'))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn selector_values_never_reach_the_trace_and_every_explanation_is_one_line(
        s in setup(),
        g in request(),
        m in mask(),
        a in arrival(),
        selectors in vec(marked_selector(), 1..40),
        notes in vec((concern(), hostile_note()), 0..12),
    ) {
        let w = world(&s);
        let mut r = merge(w.request(), g, &m);
        r.requesting_party = party_id(&w, a.parties.0);
        r.requested_party = party_id(&w, a.parties.1);
        // Nothing but the selectors carries the marker.
        let mark = MARK.to_lowercase();
        prop_assume!(!format!("{r:?}").to_lowercase().contains(&mark));
        r.selectors = selectors;
        let mut a = a;
        a.flags.extend(notes.into_iter().map(|(concern, note)| ReviewFlag { concern, note }));
        prop_assume!(!a.flags.iter().any(|f| f.note.to_lowercase().contains(&mark)));

        let trace = evaluate(&w, &r, &a);
        let bytes = trace.encode();
        let lower = bytes.to_ascii_lowercase();
        prop_assert!(
            !lower.windows(mark.len()).any(|x| x == mark.as_bytes()),
            "a selector value reached the trace: {:#?}", trace
        );
        for sel in &r.selectors {
            let values: Vec<&str> = match sel {
                Selector::Account { service, account } => vec![service, account],
                Selector::Email(v) | Selector::Phone(v) | Selector::Device(v)
                | Selector::Domain(v) | Selector::Keyword(v) => vec![v],
                _ => vec![],
            };
            for v in values.into_iter().filter(|v| v.to_lowercase().contains(&mark)) {
                prop_assert!(!bytes.windows(v.len()).any(|x| x == v.as_bytes()), "{v:?}");
            }
        }

        // One line each: what the trace says, and what the decision carries.
        for res in &trace.results {
            prop_assert!(one_line(&res.explanation), "{}: {:?}", res.rule, res.explanation);
            prop_assert!(!res.explanation.trim().is_empty(), "{}", res.rule);
            for f in &res.missing {
                prop_assert!(one_line(&f.field) && one_line(&f.explanation), "{:?}", f);
            }
        }
        match &trace.proposal {
            Proposal::Review { reasons } | Proposal::Blocked { reasons } => {
                for x in reasons {
                    prop_assert!(one_line(x), "{:?}", x);
                }
            }
            Proposal::Refuse { grounds, .. } | Proposal::Partial { grounds, .. } => {
                for x in grounds {
                    prop_assert!(one_line(&x.explanation), "{:?}", x);
                }
            }
            _ => {}
        }
        for n in &trace.conditions.notes {
            prop_assert!(one_line(n), "{:?}", n);
        }
        if let Some(d) = trace.decision(a.received_at) {
            if let Outcome::PendingReview { reason, .. } = &d.outcome {
                prop_assert!(one_line(reason), "{:?}", reason);
            }
            // Whatever the request held, the answer can be signed.
            prop_assert!(Signed::sign(&d, &w.reviewer).is_ok());
        }
    }
}
