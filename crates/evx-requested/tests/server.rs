//! The intake desk: a request in, an acknowledgement whose log proof verifies and a signed
//! decision out; replays, stale requests, wrong keys and unknown parties refused.

use std::path::PathBuf;

use evx_node::pki::{self, NodeConfig};
use evx_protocol::audit::{Event, EventKind};
use evx_protocol::crypto::{KeyFile, SigningKey, VerifyingKey};
use evx_protocol::document::{DataCategory, Outcome, Signed};
use evx_protocol::frame::ErrorReport;
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::merkle::{leaf_hash, verify_inclusion};
use evx_protocol::sample;
use evx_requested::server::{Desk, Refusal};

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn key(path: &std::path::Path) -> SigningKey {
    KeyFile::parse(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .signing_key()
        .unwrap()
}

#[test]
fn a_request_is_acknowledged_with_a_log_proof_and_decided() {
    let dir = Dir(std::env::temp_dir().join(format!("evx-desk-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let now = UnixTime(1_795_165_200);
    let (de_id, ie_id) = (
        PartyId::new("DE-BfJ").unwrap(),
        PartyId::new("IE-provider-LERT").unwrap(),
    );
    let d = pki::init(&dir.0, (&de_id, "Germany"), (&ie_id, "Provider"), now.0).unwrap();
    let de = NodeConfig::load(&d.requesting_config).unwrap();
    let ie = NodeConfig::load(&d.requested_config).unwrap();
    let desk = Desk::open(&ie).unwrap();
    let police = key(&de.keys.documents);
    let provider: VerifyingKey = key(&ie.keys.documents).verifying_key();

    let mut request = sample::production_request(RequestId([7; 16]));
    request.issued_at = now;
    request.categories = vec![DataCategory::Subscriber];
    let signed = Signed::sign(&request, &police).unwrap();
    let (ack, decision) = desk
        .receive(&de_id, &signed, &[], now.plus_secs(5))
        .unwrap();

    // The acknowledgement is the provider's, for this request, with a proof that verifies.
    let ack = ack.verify(&provider).unwrap();
    assert_eq!(ack.request_digest, signed.digest());
    let entry = ack.log_entry.unwrap();
    let bytes = desk.audit().entry(entry.index).unwrap();
    verify_inclusion(
        &leaf_hash(&bytes),
        entry.index,
        entry.tree_size,
        &entry.path,
        &entry.root,
    )
    .unwrap();
    assert!(matches!(
        Event::decode(&bytes).unwrap().kind,
        EventKind::RequestReceived { .. }
    ));
    // The case id is in the log only as a commitment.
    assert!(!String::from_utf8_lossy(&bytes).contains("StA-Berlin"));

    // The decision: subscriber data for a prosecutor's EPOC, accepted; stored; logged.
    let decided = decision.verify(&provider).unwrap();
    assert!(
        matches!(decided.outcome, Outcome::Accept { .. }),
        "{:?}",
        decided.outcome
    );
    assert_eq!(
        desk.decision(&request.request_id).unwrap().unwrap(),
        decision
    );
    let last = Event::decode(&desk.audit().entry(1).unwrap()).unwrap();
    assert!(matches!(
        last.kind,
        EventKind::Decision {
            trace_digest: Some(_),
            ..
        }
    ));
    assert_eq!(desk.audit().verify().unwrap().entries, 2);

    // The same request again is a replay.
    let again = desk
        .receive(&de_id, &signed, &[], now.plus_secs(10))
        .unwrap_err();
    assert!(matches!(again, Refusal::Replay(_)));
    assert_eq!(again.report().code(), ErrorReport::REPLAY);
    // A request issued two days ago is outside the window.
    let mut old = request.clone();
    old.request_id = RequestId([8; 16]);
    old.issued_at = UnixTime(now.0 - 2 * 86_400);
    assert!(matches!(
        desk.receive(&de_id, &Signed::sign(&old, &police).unwrap(), &[], now),
        Err(Refusal::Replay(_))
    ));
    // Signed by a key the registry does not list for DE-BfJ.
    let mut other = request.clone();
    other.request_id = RequestId([9; 16]);
    let forged = Signed::sign(&other, &SigningKey::from_seed(&[5; 32])).unwrap();
    assert!(matches!(
        desk.receive(&de_id, &forged, &[], now),
        Err(Refusal::BadSignature(_))
    ));
    // From a connection whose party is not the request's, or not registered.
    let signed_other = Signed::sign(&other, &police).unwrap();
    assert!(matches!(
        desk.receive(&PartyId::new("FR-PNC").unwrap(), &signed_other, &[], now),
        Err(Refusal::UnknownParty(_))
    ));
    // Nothing refused was recorded.
    assert_eq!(desk.audit().size().unwrap(), 2);
}

#[test]
fn accepted_evidence_is_collected_sealed_to_the_requesting_party_and_logged() {
    use evx_protocol::document::Selector;
    use evx_protocol::package::{MemoryStaging, PackageReader};
    use evx_protocol::purpose::{DeclaredPurpose, Purpose};

    let dir = Dir(std::env::temp_dir().join(format!("evx-desk-seal-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let now = UnixTime(1_795_165_200);
    let (de_id, ie_id) = (
        PartyId::new("DE-BfJ").unwrap(),
        PartyId::new("IE-provider-LERT").unwrap(),
    );
    let d = pki::init(&dir.0, (&de_id, "Germany"), (&ie_id, "Provider"), now.0).unwrap();
    let de = NodeConfig::load(&d.requesting_config).unwrap();
    let mut ie = NodeConfig::load(&d.requested_config).unwrap();
    let data = dir.0.join("dataset");
    evx_requested::dataset::generate(&data, 10, 5, now, 3).unwrap();
    ie.dataset = Some(data);
    let desk = Desk::open(&ie).unwrap();
    let police = key(&de.keys.documents);
    let provider = key(&ie.keys.documents).verifying_key();
    let hpke = KeyFile::parse(&std::fs::read_to_string(&de.keys.hpke).unwrap())
        .unwrap()
        .hpke_secret_key()
        .unwrap();

    let target = evx_requested::dataset::account_name(3);
    let mut request = sample::production_request(RequestId([4; 16]));
    request.issued_at = now;
    request.categories = vec![DataCategory::Subscriber];
    request.selectors = vec![Selector::Account {
        service: "mail.provider.example".into(),
        account: target.clone(),
    }];
    let signed = Signed::sign(&request, &police).unwrap();
    let (_, decision) = desk.receive(&de_id, &signed, &[], now).unwrap();
    assert!(matches!(
        decision.verify(&provider).unwrap().outcome,
        Outcome::Accept { .. }
    ));

    // The package opens for the requesting party, for the request's case and purpose, and holds
    // the one subscriber record asked for.
    let path = desk
        .package(&request.request_id)
        .unwrap()
        .expect("a package was sealed");
    let declared = DeclaredPurpose {
        case: request.case_id.clone(),
        purpose: Purpose::Investigation,
    };
    let opened = PackageReader::new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .open(
            &hpke,
            &provider,
            &declared,
            MemoryStaging::with_limit(1 << 20),
        )
        .unwrap();
    let text = String::from_utf8(opened.committed).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(
        text.contains(&format!("\"account\":\"{target}\"")),
        "{text}"
    );
    // And the sealing is in the log, which verifies.
    let kinds: Vec<String> = (0..desk.audit().size().unwrap())
        .map(|i| {
            Event::decode(&desk.audit().entry(i).unwrap())
                .unwrap()
                .kind
                .name()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["request_received", "decision", "package_sealed"]);
    assert_eq!(desk.audit().verify().unwrap().entries, 3);
}
