//! The policy engine: any agreement text loads or is refused without a panic, and evaluation —
//! of any decodable request under the example agreements, or of the sample request under any
//! agreement that loads — never panics, gives a trace that round-trips, and a decision that
//! can always be signed.

#![no_main]

use std::sync::LazyLock;

use evx_protocol::canonical;
use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{EvidenceRequest, Signed};
use evx_protocol::ids::{RequestId, UnixTime};
use evx_protocol::policy::{
    self, Agreement, Channel, Intake, KeyRole, PrivilegedList, Registry, Trace, TrustedKey,
};
use evx_protocol::sample;
use libfuzzer_sys::fuzz_target;

static AGREEMENTS: LazyLock<Vec<Agreement>> = LazyLock::new(|| {
    policy::examples::ALL
        .iter()
        .map(|(name, text)| Agreement::from_toml(text, name).expect("shipped examples load"))
        .collect()
});

static KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::from_seed(&[7; 32]));

fn evaluate(agreement: &Agreement, request: &EvidenceRequest, received_at: UnixTime) {
    // The request is signed by a document key registered for its requesting party, so that the
    // evaluation gets past the R13 precondition and produces a decision to sign.
    let Ok(signed) = Signed::sign(request, &KEY) else {
        return;
    };
    let mut registry = Registry::new();
    registry.add(TrustedKey {
        key: KEY.verifying_key(),
        party: request.requesting_party.clone(),
        role: KeyRole::Documents,
    });
    // The request's own selectors double as a privileged list, to exercise the matching.
    let privileged = PrivilegedList::new(&request.selectors);
    let intake = Intake::new(&signed, request, received_at, Channel::MUTUAL_TLS)
        .with_log_index(0)
        .with_privileged(&privileged);
    let trace = policy::evaluate(agreement, &registry, &intake);
    let bytes = trace.encode();
    assert_eq!(Trace::decode(&bytes).expect("own trace decodes"), trace);
    if let Some(decision) = trace.decision(UnixTime(1)) {
        Signed::sign(&decision, &KEY).expect("every decision fits its size limit");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let received_at = UnixTime(u64::from(selector) << 28);
    match selector & 3 {
        0 => {
            let _ = Agreement::from_toml(&String::from_utf8_lossy(rest), "fuzz.toml");
        }
        2 => {
            if let Ok(agreement) = Agreement::from_toml(&String::from_utf8_lossy(rest), "fuzz.toml")
            {
                let request = sample::production_request(RequestId([1; 16]));
                evaluate(&agreement, &request, received_at);
            }
        }
        _ => {
            let Ok(request) = canonical::decode::<EvidenceRequest>("request", rest) else {
                return;
            };
            let agreement = &AGREEMENTS[usize::from(selector >> 2) % AGREEMENTS.len()];
            evaluate(agreement, &request, received_at);
        }
    }
});
