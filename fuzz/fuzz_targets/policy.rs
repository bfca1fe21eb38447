//! The policy engine: any agreement text loads or is refused without a panic, and any request
//! that decodes evaluates to a trace that round-trips — never a panic.

#![no_main]

use std::sync::LazyLock;

use evx_protocol::canonical;
use evx_protocol::document::EvidenceRequest;
use evx_protocol::ids::{KeyId, UnixTime};
use evx_protocol::policy::{self, Agreement, Channel, Intake, Registry, Trace};
use libfuzzer_sys::fuzz_target;

static AGREEMENTS: LazyLock<Vec<Agreement>> = LazyLock::new(|| {
    policy::examples::ALL
        .iter()
        .map(|(name, text)| Agreement::from_toml(text, name).expect("shipped examples load"))
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector & 1 == 0 {
        let _ = Agreement::from_toml(&String::from_utf8_lossy(rest), "fuzz.toml");
        return;
    }
    let Ok(request) = canonical::decode::<EvidenceRequest>("request", rest) else {
        return;
    };
    let agreement = &AGREEMENTS[usize::from(selector >> 1) % AGREEMENTS.len()];
    let intake = Intake {
        request: &request,
        request_digest: [0; 32],
        signer: KeyId([0; 32]),
        received_at: UnixTime(u64::from(selector) << 28),
        channel: Channel::MUTUAL_TLS,
        log_index: Some(0),
        validations: &[],
        flags: &[],
        privileged: &[],
    };
    let trace = policy::evaluate(agreement, &Registry::new(), &intake);
    let bytes = trace.encode();
    assert_eq!(Trace::decode(&bytes).expect("own trace decodes"), trace);
    let _ = trace.decision(UnixTime(1));
});
