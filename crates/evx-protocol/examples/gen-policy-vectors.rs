//! Writes the policy test vectors in `tests/vectors/policy/`, deterministically.
//!
//! ```text
//! cargo run -p evx-protocol --example gen-policy-vectors [-- OUT_DIR]
//! ```
//!
//! Each vector is one evaluation: a signed request (and any judicial validations) received at a
//! stated time under one of the shipped example agreements, and the exact rule trace the engine
//! must produce for it. Another implementation of the engine reproduces the trace bytes and
//! digest from the header alone; a change to any rule's outcome or wording changes the bytes,
//! which is what audit logs record the digest of. Format: `name: value` header lines, one blank
//! line, then the canonical trace bytes.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{
    AuthorityType, DataCategory, EvidenceRequest, Instrument, JudicialValidation, Selector, Signed,
};
use evx_protocol::ids::RequestId;
use evx_protocol::policy::{
    self, Agreement, Channel, Intake, KeyRole, Proposal, Registry, TrustedKey,
};
use evx_protocol::sample;

/// The requesting party's document key and the judge's key: fixed seeds.
fn keys() -> (SigningKey, SigningKey) {
    (
        SigningKey::from_seed(&[0x11; 32]),
        SigningKey::from_seed(&[0x22; 32]),
    )
}

struct Case {
    name: &'static str,
    comment: &'static str,
    agreement: &'static str,
    request: EvidenceRequest,
    validated: bool,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn budapest(mut r: EvidenceRequest) -> EvidenceRequest {
    r.instrument = Instrument::Budapest;
    r.requesting_party = evx_protocol::ids::PartyId::new("NO-KRIPOS").unwrap();
    r.requested_party = evx_protocol::ids::PartyId::new("CA-DOJ-IAG").unwrap();
    r.notification_ref = None;
    r.offence.code = "illegal-access".into();
    r
}

fn cases() -> Vec<Case> {
    let base = sample::production_request(RequestId([0x5a; 16]));
    let mut incomplete = base.clone();
    incomplete.offence.statute.clear();
    incomplete.facts = "too short".into();
    let mut bulk = base.clone();
    bulk.selectors.push(Selector::Keyword("ransomware".into()));
    let mut political = base.clone();
    political.categories = vec![DataCategory::Subscriber];
    political.offence.code = "insulting-state-organs".into();
    let mut defamation = budapest(base.clone());
    defamation.offence.code = "defamation".into();
    vec![
        Case {
            name: "eu_accept",
            comment: "the sample EPOC with the judge's validation: accepted",
            agreement: "eu-2023-1543.toml",
            request: base.clone(),
            validated: true,
        },
        Case {
            name: "eu_partial_without_validation",
            comment: "traffic data ordered by a prosecutor without validation: partial execution proposed",
            agreement: "eu-2023-1543.toml",
            request: base.clone(),
            validated: false,
        },
        Case {
            name: "eu_incomplete",
            comment: "no criminal provision and too short a statement of facts: incomplete",
            agreement: "eu-2023-1543.toml",
            request: incomplete,
            validated: true,
        },
        Case {
            name: "eu_bulk_keyword",
            comment: "a keyword selector: refusal proposed as bulk collection",
            agreement: "eu-2023-1543.toml",
            request: bulk,
            validated: true,
        },
        Case {
            name: "eu_political_review",
            comment: "an offence on the political list: human review",
            agreement: "eu-2023-1543.toml",
            request: political,
            validated: false,
        },
        Case {
            name: "budapest_accept",
            comment: "subscriber and traffic data between Budapest parties: accepted",
            agreement: "budapest.toml",
            request: budapest(base),
            validated: false,
        },
        Case {
            name: "budapest_sensitive_review",
            comment: "defamation: not criminal in both (refusal proposed) and on the sensitive list",
            agreement: "budapest.toml",
            request: defamation,
            validated: false,
        },
    ]
}

fn main() {
    let out: PathBuf = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/policy")),
        PathBuf::from,
    );
    std::fs::create_dir_all(&out).expect("create the output directory");
    let (police, judge) = keys();
    let received = sample::SAMPLE_TIME.plus_secs(3600);
    let mut written = 0;
    for case in cases() {
        let text = policy::examples::ALL
            .iter()
            .find(|(name, _)| *name == case.agreement)
            .expect("a shipped example")
            .1;
        let agreement = Agreement::from_toml(text, case.agreement).expect("examples load");
        let mut registry = Registry::new();
        registry
            .add(TrustedKey {
                key: police.verifying_key(),
                party: case.request.requesting_party.clone(),
                role: KeyRole::Documents,
            })
            .add(TrustedKey {
                key: judge.verifying_key(),
                party: case.request.requesting_party.clone(),
                role: KeyRole::JudicialAuthority {
                    authority: "Amtsgericht Tiergarten".into(),
                    authority_type: AuthorityType::InvestigatingJudge,
                },
            });
        let signed = Signed::sign(&case.request, &police).expect("sample requests sign");
        let validations: Vec<Signed<JudicialValidation>> = if case.validated {
            vec![
                Signed::sign(&sample::validation(&signed, &case.request), &judge)
                    .expect("validations sign"),
            ]
        } else {
            Vec::new()
        };
        let intake = Intake::new(&signed, &case.request, received, Channel::MUTUAL_TLS)
            .with_log_index(5)
            .with_validations(&validations);
        let trace = policy::evaluate(&agreement, &registry, &intake);
        let proposal = match &trace.proposal {
            Proposal::Accept => "accept",
            Proposal::Incomplete { .. } => "incomplete",
            Proposal::Refuse { .. } => "refuse",
            Proposal::Partial { .. } => "partial",
            Proposal::Review { .. } => "review",
            _ => "blocked",
        };
        let mut head = vec![
            format!("comment: {}", case.comment),
            format!("agreement: {}", case.agreement),
            format!("agreement-digest: {}", hex(&agreement.digest())),
            format!(
                "requesting-key: {}",
                STANDARD.encode(police.verifying_key().to_bytes())
            ),
            format!(
                "judge-key: {}",
                STANDARD.encode(judge.verifying_key().to_bytes())
            ),
            format!("received-at: {}", received.0),
            "log-index: 5".to_owned(),
            format!("request: {}", STANDARD.encode(signed.encode())),
        ];
        for v in &validations {
            head.push(format!("validation: {}", STANDARD.encode(v.encode())));
        }
        head.push(format!("proposal: {proposal}"));
        head.push(format!("trace-digest: {}", hex(&trace.digest())));
        let mut bytes = head.join("\n").into_bytes();
        bytes.extend_from_slice(b"\n\n");
        bytes.extend_from_slice(&trace.encode());
        std::fs::write(out.join(case.name), bytes).expect("write a vector");
        written += 1;
    }
    println!("wrote {written} vectors to {}", out.display());
}
