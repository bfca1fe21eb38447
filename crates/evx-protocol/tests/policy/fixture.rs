//! A world to evaluate requests in: the EU example agreement, keys for both parties, a judge
//! and a reviewer, and a request that passes every rule.

use std::net::{IpAddr, Ipv4Addr};

use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{
    AuthorityType, Confidentiality, DataCategory, Emergency, EvidenceRequest, Issuer,
    JudicialValidation, Offence, Proceeding, RefusalGround, RequestType, ReviewDecision,
    ReviewVerdict, Selector, Signed, Territory, TimeRange,
};
use evx_protocol::ids::{CaseId, PartyId, RequestId, UnixTime};
use evx_protocol::policy::{
    self, Agreement, Channel, Concern, Intake, KeyRole, Proposal, Registry, ReviewFlag, RuleId,
    RuleResult, Trace, TrustedKey, Verdict,
};
use evx_protocol::purpose::{OnwardTransfer, Purpose};

pub(crate) const T0: UnixTime = UnixTime(1_795_165_200);
pub(crate) const HOUR: u64 = 3600;
pub(crate) const DAY: u64 = 86_400;
/// When the fixture's requests are received: one hour after issue.
pub(crate) const RECEIVED: UnixTime = UnixTime(T0.0 + HOUR);
/// An emergency justification of more than 40 characters.
pub(crate) const JUSTIFICATION: &str =
    "The account holder announced a bomb attack on a school for tomorrow morning.";

pub(crate) fn party(s: &str) -> PartyId {
    PartyId::new(s).unwrap()
}

pub(crate) fn eu() -> Agreement {
    Agreement::from_toml(policy::examples::EU_2023_1543, "eu-2023-1543.toml").unwrap()
}

pub(crate) fn budapest() -> Agreement {
    Agreement::from_toml(policy::examples::BUDAPEST, "budapest.toml").unwrap()
}

/// Keys of everyone involved, and the registry that lists them.
pub(crate) struct World {
    pub(crate) agreement: Agreement,
    pub(crate) police: SigningKey,
    pub(crate) judge: SigningKey,
    pub(crate) reviewer: SigningKey,
    pub(crate) stranger: SigningKey,
    pub(crate) registry: Registry,
    pub(crate) requesting: PartyId,
    pub(crate) requested: PartyId,
}

impl World {
    pub(crate) fn eu() -> Self {
        Self::new(eu())
    }

    pub(crate) fn budapest() -> Self {
        Self::new(budapest())
    }

    /// The EU example as the enforcing authority's own node would configure it: dual
    /// criminality checked for traffic and content data (Art. 12(1)(d)). The example itself is
    /// the provider's, which checks none.
    pub(crate) fn eu_enforcing() -> Self {
        let mut w = Self::eu();
        w.agreement.dual_criminality.required_for =
            vec![DataCategory::Traffic, DataCategory::Content];
        w
    }

    pub(crate) fn new(agreement: Agreement) -> Self {
        let requesting = agreement.parties[0].id.clone();
        let requested = agreement.parties[1].id.clone();
        let police = SigningKey::from_seed(&[1; 32]);
        let judge = SigningKey::from_seed(&[2; 32]);
        let reviewer = SigningKey::from_seed(&[3; 32]);
        let stranger = SigningKey::from_seed(&[4; 32]);
        let mut registry = Registry::new();
        registry
            .add(TrustedKey {
                key: police.verifying_key(),
                party: requesting.clone(),
                role: KeyRole::Documents,
            })
            .add(TrustedKey {
                key: judge.verifying_key(),
                party: requesting.clone(),
                role: KeyRole::JudicialAuthority {
                    authority: "Amtsgericht Tiergarten".into(),
                    authority_type: AuthorityType::InvestigatingJudge,
                },
            })
            .add(TrustedKey {
                key: reviewer.verifying_key(),
                party: requested.clone(),
                role: KeyRole::Reviewer {
                    name: "J. Murphy, legal unit".into(),
                },
            });
        Self {
            agreement,
            police,
            judge,
            reviewer,
            stranger,
            registry,
            requesting,
            requested,
        }
    }

    /// A production request for subscriber data on one account, issued by a prosecutor, that
    /// passes every rule of the world's agreement.
    pub(crate) fn request(&self) -> EvidenceRequest {
        let instrument = self.agreement.instruments[0];
        EvidenceRequest {
            v: 1,
            request_id: RequestId([7; 16]),
            requesting_party: self.requesting.clone(),
            requested_party: self.requested.clone(),
            issued_at: T0,
            proceeding: Proceeding::Criminal,
            case_id: CaseId::new("DE-StA-Berlin/2026/0412").unwrap(),
            instrument,
            request_type: RequestType::Production,
            issuer: Issuer {
                authority: "Staatsanwaltschaft Berlin".into(),
                authority_type: AuthorityType::Prosecutor,
                file_number: "276 Js 412/26".into(),
                contact: "cybercrime@sta-berlin.example".into(),
            },
            offence: Offence {
                code: "illegal-access".into(),
                statute: "§ 202a StGB".into(),
                max_penalty_months: 36,
                committed_via_ict: true,
            },
            facts: "Intrusion into a hospital network on 2026-10-03; the ransom note names the \
                    account."
                .into(),
            categories: vec![DataCategory::Subscriber],
            selectors: vec![Selector::Account {
                service: "mail.provider.example".into(),
                account: "k.lenz".into(),
            }],
            time_range: TimeRange {
                from: UnixTime(T0.0 - 60 * DAY),
                to: T0,
            },
            purpose: Purpose::Investigation,
            emergency: None,
            confidentiality: Confidentiality {
                confidential: true,
                no_user_notice_until: None,
            },
            onward_transfer: OnwardTransfer::DenyWithoutAuthorisation,
            preservation_ref: None,
            notification_ref: None,
            territory: Territory {
                offence_in_issuing_state: true,
                person_resides_in_issuing_state: Some(false),
            },
            protected_status: Vec::new(),
        }
    }

    /// The baseline request for traffic data, ordered by an investigating judge, with the
    /// enforcing authority notified: passes every rule of both examples.
    pub(crate) fn traffic_request(&self) -> EvidenceRequest {
        let mut r = self.request();
        r.categories = vec![DataCategory::Traffic];
        r.issuer.authority_type = AuthorityType::InvestigatingJudge;
        r.notification_ref = Some("IE-NOTIF-2026-77".into());
        r
    }

    /// The baseline request as an emergency disclosure, with a justification that is long
    /// enough.
    pub(crate) fn emergency_request(&self) -> EvidenceRequest {
        let mut r = self.request();
        r.request_type = RequestType::EmergencyDisclosure;
        r.emergency = Some(Emergency {
            justification: JUSTIFICATION.into(),
        });
        r
    }

    pub(crate) fn sign(&self, request: &EvidenceRequest) -> Signed<EvidenceRequest> {
        Signed::sign(request, &self.police).unwrap()
    }

    /// The judge's validation of a signed request.
    pub(crate) fn validate(&self, signed: &Signed<EvidenceRequest>) -> Signed<JudicialValidation> {
        self.validate_with(signed, &self.judge, AuthorityType::InvestigatingJudge)
    }

    pub(crate) fn validate_with(
        &self,
        signed: &Signed<EvidenceRequest>,
        key: &SigningKey,
        authority_type: AuthorityType,
    ) -> Signed<JudicialValidation> {
        let request = signed.verify(&self.police.verifying_key()).unwrap();
        Signed::sign(
            &JudicialValidation {
                v: 1,
                request_id: request.request_id,
                request_digest: signed.digest(),
                authority: "Amtsgericht Tiergarten".into(),
                authority_type,
                reference: "351 Gs 1024/26".into(),
                validated_at: T0,
                statement: "necessary and proportionate for identifying the intruder".into(),
            },
            key,
        )
        .unwrap()
    }

    /// An intake for a signed request received at [`RECEIVED`], recorded as log entry 5.
    pub(crate) fn intake<'a>(
        &self,
        signed: &Signed<EvidenceRequest>,
        request: &'a EvidenceRequest,
    ) -> Intake<'a> {
        Intake::new(signed, request, RECEIVED, Channel::MUTUAL_TLS).with_log_index(5)
    }

    /// Evaluates an intake against the world's agreement and registry.
    pub(crate) fn run(&self, intake: &Intake<'_>) -> Trace {
        policy::evaluate(&self.agreement, &self.registry, intake)
    }

    /// Evaluates a request received one hour after issue, recorded as log entry 5.
    pub(crate) fn evaluate(&self, request: &EvidenceRequest) -> Trace {
        self.evaluate_with(request, &[], &[])
    }

    pub(crate) fn evaluate_with(
        &self,
        request: &EvidenceRequest,
        validations: &[Signed<JudicialValidation>],
        flags: &[ReviewFlag],
    ) -> Trace {
        let signed = self.sign(request);
        let intake = self
            .intake(&signed, request)
            .with_validations(validations)
            .with_flags(flags);
        self.run(&intake)
    }

    /// Evaluates with validations made by the judge over the very request.
    pub(crate) fn evaluate_validated(&self, request: &EvidenceRequest) -> Trace {
        let signed = self.sign(request);
        let v = [self.validate(&signed)];
        self.run(&self.intake(&signed, request).with_validations(&v))
    }

    /// A review signed with `key`, with one ground.
    pub(crate) fn review(
        &self,
        trace: &Trace,
        verdict: ReviewVerdict,
        key: &SigningKey,
    ) -> Signed<ReviewDecision> {
        self.review_with(
            trace,
            verdict,
            key,
            vec![ground("reviewer", "weighed by the legal unit")],
        )
    }

    /// A review signed with `key`, with the given grounds.
    pub(crate) fn review_with(
        &self,
        trace: &Trace,
        verdict: ReviewVerdict,
        key: &SigningKey,
        grounds: Vec<RefusalGround>,
    ) -> Signed<ReviewDecision> {
        Signed::sign(
            &ReviewDecision {
                v: 1,
                request_id: trace.request_id,
                trace_digest: trace.digest(),
                reviewer: "J. Murphy, legal unit".into(),
                decided_at: T0.plus_secs(2 * DAY),
                verdict,
                grounds,
                onward_authorised: Vec::new(),
                note: "reviewed".into(),
            },
            key,
        )
        .unwrap()
    }
}

/// A refusal ground as a reviewer writes it.
pub(crate) fn ground(code: &str, explanation: &str) -> RefusalGround {
    RefusalGround {
        code: code.into(),
        legal_source: "Budapest Art. 27(4)".into(),
        explanation: explanation.into(),
    }
}

/// A concern raised at intake.
pub(crate) fn flag(concern: Concern, note: &str) -> ReviewFlag {
    ReviewFlag {
        concern,
        note: note.into(),
    }
}

pub(crate) fn result(trace: &Trace, rule: RuleId) -> &RuleResult {
    trace.result(rule).unwrap()
}

/// Asserts a rule's verdict, printing the whole trace when it differs.
#[track_caller]
pub(crate) fn expect(trace: &Trace, rule: RuleId, want: Verdict) {
    let got = result(trace, rule);
    assert_eq!(
        got.verdict,
        want,
        "{rule}: {} — {}\nfull trace: {:#?}",
        got.verdict.as_str(),
        got.explanation,
        trace.results
    );
}

pub(crate) fn ip(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// Asserts that a rule's explanation contains `needle`.
#[track_caller]
pub(crate) fn explains(trace: &Trace, rule: RuleId, needle: &str) {
    let got = &result(trace, rule).explanation;
    assert!(
        got.contains(needle),
        "{rule}: expected the explanation to contain {needle:?}, got {got:?}"
    );
}

/// The fields a rule lists as missing.
pub(crate) fn missing(trace: &Trace, rule: RuleId) -> Vec<String> {
    result(trace, rule)
        .missing
        .iter()
        .map(|m| m.field.clone())
        .collect()
}

/// The ground codes of a refusal or partial proposal; empty for any other proposal.
pub(crate) fn ground_codes(trace: &Trace) -> Vec<String> {
    match &trace.proposal {
        Proposal::Refuse { grounds, .. } | Proposal::Partial { grounds, .. } => {
            grounds.iter().map(|g| g.code.clone()).collect()
        }
        _ => Vec::new(),
    }
}

/// Asserts that the proposal is a refusal a reviewer must confirm, on exactly these grounds.
#[track_caller]
pub(crate) fn expect_proposed_refusal(trace: &Trace, codes: &[&str]) {
    assert!(
        matches!(
            trace.proposal,
            Proposal::Refuse {
                automatic: false,
                ..
            }
        ),
        "expected a proposed refusal, got {:#?}",
        trace.proposal
    );
    assert_eq!(ground_codes(trace), codes);
    assert!(trace.needs_reviewer());
}
