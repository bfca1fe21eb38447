//! Audit-log events: every kind encodes canonically and round-trips; decoding refuses other
//! versions, oversized and non-canonical input; case data appear only as commitments that open
//! with the right salt alone.

use evx_protocol::audit::{Actor, Commitment, Event, EventKind, OpenRefusal, OutcomeKind};
use evx_protocol::canonical::DecodeError;
use evx_protocol::ids::{KeyId, PackageId, PartyId, RequestId, UnixTime};
use evx_protocol::purpose::Purpose;
use proptest::prelude::*;

const CASE: &[u8] = b"DE-StA-Berlin/2026/0412";
const SELECTOR: &[u8] = b"k.lenz@mail.provider.example";

fn kinds() -> Vec<EventKind> {
    let d = [7u8; 32];
    let p = PackageId([3; 32]);
    let party = PartyId::new("IE-provider-LERT").unwrap();
    vec![
        EventKind::RequestCreated { request_digest: d },
        EventKind::RequestSent {
            request_digest: d,
            to: party.clone(),
        },
        EventKind::RequestReceived {
            request_digest: d,
            from: party,
        },
        EventKind::AcknowledgementSent {
            acknowledgement_digest: d,
        },
        EventKind::AcknowledgementReceived {
            acknowledgement_digest: d,
        },
        EventKind::Decision {
            decision_digest: d,
            outcome: OutcomeKind::PendingReview,
            trace_digest: Some(d),
        },
        EventKind::ReviewDecision {
            review_digest: d,
            trace_digest: d,
        },
        EventKind::PreservationPlaced {
            expires_at: UnixTime(10),
            records: 12,
        },
        EventKind::PreservationExtended {
            expires_at: UnixTime(20),
        },
        EventKind::PreservationExpired,
        EventKind::PackageSealed {
            package_id: p,
            length: 1 << 30,
        },
        EventKind::PackageDelivered { package_id: p },
        EventKind::PackageReceived { package_id: p },
        EventKind::PackageOpened { package_id: p },
        EventKind::OpenRefused {
            package_id: p,
            reason: OpenRefusal::Purpose,
        },
        EventKind::ReceiptSent { receipt_digest: d },
        EventKind::ReceiptReceived { receipt_digest: d },
        EventKind::RetentionDeletion { package_id: p },
        EventKind::KeyRotation {
            role: "log".into(),
            old: KeyId([1; 32]),
            new: KeyId([2; 32]),
        },
        EventKind::AgreementChange {
            agreement_id: "eu-2023-1543/DE-IE".into(),
            digest: d,
        },
        EventKind::CheckpointCosigned {
            origin: "evx.example/IE/audit".into(),
            size: 99,
            root: d,
        },
        EventKind::ConflictDetected {
            origin: "evx.example/IE/audit".into(),
            proof_digest: d,
        },
        EventKind::ReviewOverdue {
            due_at: UnixTime(1_796_000_000),
        },
        EventKind::ValidationReceived {
            validation_digest: d,
        },
        EventKind::Withdrawn {
            withdrawal_digest: d,
            data_unusable: true,
        },
        EventKind::PreservationReleased {
            by: RequestId([6; 16]),
        },
        EventKind::ConsentRequested { consent_digest: d },
        EventKind::ConsentDecided {
            decision_digest: d,
            granted: true,
        },
    ]
}

fn event(kind: EventKind) -> Event {
    Event {
        v: 1,
        at: UnixTime(1_795_165_200),
        actor: Actor {
            party: PartyId::new("DE-BfJ").unwrap(),
            by: "operator:mmueller".into(),
        },
        kind,
        request: Some(RequestId([5; 16])),
        case: Some(Commitment::commit(CASE, &[11; 32])),
        purpose: Some(Purpose::Investigation),
        subjects: vec![Commitment::commit(SELECTOR, &[12; 32])],
    }
}

#[test]
fn every_kind_round_trips_and_discloses_no_case_data() {
    for kind in kinds() {
        let e = event(kind);
        let bytes = e.encode();
        assert_eq!(Event::decode(&bytes).unwrap(), e);
        assert_eq!(e.leaf_hash(), evx_protocol::merkle::leaf_hash(&bytes));
        let shown = String::from_utf8_lossy(&bytes);
        assert!(!shown.contains("StA-Berlin"), "{shown}");
        assert!(!shown.contains("k.lenz"), "{shown}");
    }
}

#[test]
fn commitments_open_only_with_their_value_and_salt() {
    let c = Commitment::commit(CASE, &[11; 32]);
    assert!(c.opens_to(CASE, &[11; 32]));
    assert!(!c.opens_to(CASE, &[12; 32]));
    assert!(!c.opens_to(b"DE-StA-Berlin/2026/0413", &[11; 32]));
    // The same value under two salts: unlinkable commitments.
    assert_ne!(c, Commitment::commit(CASE, &[13; 32]));
}

#[test]
fn decoding_refuses_other_versions_oversize_and_trailing_bytes() {
    let mut bytes = event(EventKind::PreservationExpired).encode();
    bytes[0] = 2;
    assert!(matches!(
        Event::decode(&bytes),
        Err(DecodeError::UnsupportedVersion { found: 2, .. })
    ));
    let mut bytes = event(EventKind::PreservationExpired).encode();
    bytes.push(0);
    assert!(matches!(
        Event::decode(&bytes),
        Err(DecodeError::TrailingBytes { .. })
    ));
    assert!(Event::decode(&vec![1u8; 20_000]).is_err());
}

proptest! {
    #[test]
    fn decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(e) = Event::decode(&bytes) {
            prop_assert_eq!(e.encode(), bytes);
        }
    }
}
