//! Runs every policy test vector in `tests/vectors/policy/` (written by
//! `examples/gen-policy-vectors.rs`): the engine must reproduce each trace byte for byte.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evx_protocol::crypto::VerifyingKey;
use evx_protocol::document::{AuthorityType, EvidenceRequest, JudicialValidation, Signed};
use evx_protocol::ids::UnixTime;
use evx_protocol::policy::{
    self, Agreement, Channel, Intake, KeyRole, Registry, Trace, TrustedKey,
};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn key(v: &str) -> VerifyingKey {
    let b: [u8; 32] = STANDARD.decode(v).unwrap().try_into().unwrap();
    VerifyingKey::from_bytes(&b).unwrap()
}

fn check(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let split = bytes.windows(2).position(|w| w == b"\n\n").unwrap();
    let head = std::str::from_utf8(&bytes[..split]).unwrap();
    let expected_trace = &bytes[split + 2..];
    let fields: Vec<(&str, &str)> = head.lines().map(|l| l.split_once(": ").unwrap()).collect();
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| *v)
            .unwrap()
    };
    let name = path.display();

    let text = policy::examples::ALL
        .iter()
        .find(|(n, _)| *n == get("agreement"))
        .unwrap()
        .1;
    let agreement = Agreement::from_toml(text, get("agreement")).unwrap();
    assert_eq!(hex(&agreement.digest()), get("agreement-digest"), "{name}");
    let signed =
        Signed::<EvidenceRequest>::decode(&STANDARD.decode(get("request")).unwrap()).unwrap();
    let requesting = key(get("requesting-key"));
    let request = signed.verify(&requesting).unwrap();
    let validations: Vec<Signed<JudicialValidation>> = fields
        .iter()
        .filter(|(n, _)| *n == "validation")
        .map(|(_, v)| Signed::decode(&STANDARD.decode(v).unwrap()).unwrap())
        .collect();
    let mut registry = Registry::new();
    registry
        .add(TrustedKey {
            key: requesting,
            party: request.requesting_party.clone(),
            role: KeyRole::Documents,
        })
        .add(TrustedKey {
            key: key(get("judge-key")),
            party: request.requesting_party.clone(),
            role: KeyRole::JudicialAuthority {
                authority: "Amtsgericht Tiergarten".into(),
                authority_type: AuthorityType::InvestigatingJudge,
            },
        });
    let intake = Intake::new(
        &signed,
        &request,
        UnixTime(get("received-at").parse().unwrap()),
        Channel::MUTUAL_TLS,
    )
    .with_log_index(get("log-index").parse().unwrap())
    .with_validations(&validations);
    let trace = policy::evaluate(&agreement, &registry, &intake);
    assert_eq!(hex(&trace.digest()), get("trace-digest"), "{name}");
    assert_eq!(trace.encode(), expected_trace, "{name}: trace bytes differ");
    assert_eq!(Trace::decode(expected_trace).unwrap(), trace, "{name}");
}

#[test]
fn every_policy_vector_reproduces_its_trace() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/policy");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        check(&entry.unwrap().path());
        n += 1;
    }
    assert!(n >= 7, "only {n} vectors in {}", dir.display());
}
