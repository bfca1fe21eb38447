//! Signed documents and frames: round trips, strict verification, canonical bytes only, and
//! decoders that never panic.

use evx_protocol::canonical::DecodeError;
use evx_protocol::crypto::{KeyFile, SigningKey};
use evx_protocol::document::{
    Acknowledgement, AuthorityType, Decision, Document, DocumentError, DueDates, EvidenceRequest,
    Extension, JudicialValidation, LogEntryRef, MissingField, Outcome, PreservationConfirmation,
    Receipt, RefusalGround, Signed, Withdrawal, WithdrawalReason,
};
use evx_protocol::frame::{Frame, FrameError, Message, MessageKind};
use evx_protocol::ids::{PackageId, RequestId, UnixTime};
use evx_protocol::purpose::Conditions;
use evx_protocol::sample;
use proptest::prelude::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

fn rid(n: u8) -> RequestId {
    RequestId([n; 16])
}

fn request() -> EvidenceRequest {
    sample::production_request(rid(1))
}

fn every_message() -> Vec<Message> {
    let k = key(1);
    let t = sample::SAMPLE_TIME;
    vec![
        Message::Request(Signed::sign(&request(), &k).unwrap()),
        Message::Acknowledgement(
            Signed::sign(
                &Acknowledgement {
                    v: 1,
                    request_id: rid(1),
                    request_digest: [3; 32],
                    received_at: t,
                    log_entry: Some(LogEntryRef {
                        index: 41,
                        tree_size: 42,
                        root: [9; 32],
                        path: vec![[1; 32], [2; 32]],
                        entry: vec![1, 2, 3],
                        checkpoint: "evx.example/IE/audit\n42\nCQkJ\n\n— evx.example/IE/audit AAAA\n"
                            .into(),
                    }),
                },
                &k,
            )
            .unwrap(),
        ),
        Message::Decision(
            Signed::sign(
                &Decision {
                    v: 1,
                    request_id: rid(1),
                    decided_at: t,
                    outcome: Outcome::Accept {
                        conditions: Conditions::default(),
                    },
                    trace_digest: Some([4; 32]),
                    review_digest: None,
                    due: DueDates::default(),
                },
                &k,
            )
            .unwrap(),
        ),
        Message::Decision(
            Signed::sign(
                &Decision {
                    v: 1,
                    request_id: rid(2),
                    decided_at: t,
                    outcome: Outcome::Refuse {
                        grounds: vec![RefusalGround {
                            code: "political-offence".into(),
                            legal_source: "Budapest Art. 27(4)(a)".into(),
                            explanation: "the offence is political".into(),
                        }],
                    },
                    trace_digest: None,
                    review_digest: Some([5; 32]),
                    due: DueDates::default(),
                },
                &k,
            )
            .unwrap(),
        ),
        Message::Decision(
            Signed::sign(
                &Decision {
                    v: 1,
                    request_id: rid(3),
                    decided_at: t,
                    outcome: Outcome::Incomplete {
                        missing: vec![MissingField {
                            field: "offence.statute".into(),
                            explanation: "name the provision".into(),
                        }],
                    },
                    trace_digest: None,
                    review_digest: None,
                    due: DueDates::default(),
                },
                &k,
            )
            .unwrap(),
        ),
        Message::PreservationConfirmation(
            Signed::sign(
                &PreservationConfirmation {
                    v: 1,
                    request_id: rid(1),
                    preserved_at: t,
                    expires_at: t.plus_secs(60 * 86_400),
                    extensions_remaining: 1,
                    records_preserved: 1234,
                },
                &k,
            )
            .unwrap(),
        ),
        Message::Extension(
            Signed::sign(
                &Extension {
                    v: 1,
                    request_id: rid(4),
                    preservation_ref: rid(1),
                    issued_at: t,
                    extend_by_days: 30,
                    reason: "production request in preparation".into(),
                },
                &k,
            )
            .unwrap(),
        ),
        Message::Withdrawal(
            Signed::sign(
                &Withdrawal {
                    v: 1,
                    request_id: rid(1),
                    withdrawn_at: t,
                    reason: WithdrawalReason::ValidationNotReceived,
                    data_unusable: true,
                },
                &k,
            )
            .unwrap(),
        ),
        Message::Receipt(
            Signed::sign(
                &Receipt {
                    v: 1,
                    request_id: rid(1),
                    package_id: PackageId([7; 32]),
                    received_at: UnixTime(t.0 + 5),
                    length: 1 << 30,
                    root: [8; 32],
                    log_entry: None,
                },
                &k,
            )
            .unwrap(),
        ),
        Message::Validation(
            Signed::sign(
                &JudicialValidation {
                    v: 1,
                    request_id: rid(1),
                    request_digest: Signed::sign(&request(), &k).unwrap().digest(),
                    authority: "Amtsgericht Tiergarten".into(),
                    authority_type: AuthorityType::InvestigatingJudge,
                    reference: "351 Gs 1024/26".into(),
                    validated_at: t,
                    statement: "necessary and proportionate".into(),
                },
                &k,
            )
            .unwrap(),
        ),
        Message::Fetch(evx_protocol::delivery::Fetch {
            v: 1,
            request_id: rid(1),
            packages: true,
            resume: None,
        }),
        Message::PackageOffer(evx_protocol::delivery::PackageOffer {
            v: 1,
            request_id: rid(1),
            package_id: PackageId([7; 32]),
            length: 1 << 30,
            offset: 1 << 20,
        }),
        Message::WitnessRequest(evx_protocol::witnessing::WitnessRequest {
            v: 1,
            checkpoint: "evx.example/IE/audit\n42\nCQkJ\n".into(),
            old_size: 40,
            proof: vec![[4; 32], [5; 32]],
        }),
        Message::Cosigned(evx_protocol::witnessing::Cosigned {
            v: 1,
            note: None,
            cosigned_size: 40,
        }),
        Message::ConsentRequest(
            Signed::sign(
                &evx_protocol::document::ConsentRequest {
                    v: 1,
                    consent_id: rid(2),
                    request_id: rid(1),
                    issued_at: t,
                    scope: evx_protocol::document::ConsentScope::OtherCase {
                        case_id: evx_protocol::ids::CaseId::new("DE-StA-Berlin/2026/0999").unwrap(),
                        purpose: evx_protocol::purpose::Purpose::Prosecution,
                    },
                    reason: "the same intruder attacked a second hospital".into(),
                },
                &k,
            )
            .unwrap(),
        ),
        Message::ConsentDecision(
            Signed::sign(
                &evx_protocol::document::ConsentDecision {
                    v: 1,
                    consent_id: rid(2),
                    request_id: rid(1),
                    consent_digest: [5; 32],
                    scope: evx_protocol::document::ConsentScope::OnwardTransfer {
                        recipient: evx_protocol::ids::PartyId::new("FR-PNC").unwrap(),
                    },
                    granted: false,
                    reviewer: "J. Murphy".into(),
                    decided_at: t,
                    explanation: "no adequate protection".into(),
                },
                &k,
            )
            .unwrap(),
        ),
    ]
}

#[test]
fn every_message_round_trips_through_a_frame() {
    for m in every_message() {
        let bytes = m.encode();
        let back = Message::decode(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.encode(), bytes);
    }
}

#[test]
fn verification_returns_the_document() {
    let s = Signed::sign(&request(), &key(1)).unwrap();
    assert_eq!(s.verify(&key(1).verifying_key()).unwrap(), request());
    let wire = s.encode();
    let again = Signed::<EvidenceRequest>::decode(&wire).unwrap();
    assert_eq!(again.verify(&key(1).verifying_key()).unwrap(), request());
    assert_eq!(again.digest(), s.digest());
}

#[test]
fn wrong_signer_and_altered_bytes_are_refused() {
    let s = Signed::sign(&request(), &key(1)).unwrap();
    assert!(matches!(
        s.verify(&key(2).verifying_key()),
        Err(DocumentError::WrongSigner { .. })
    ));
    let mut wire = s.encode();
    let last = wire.len() - 1;
    wire[last] ^= 1;
    let altered = Signed::<EvidenceRequest>::decode(&wire).unwrap();
    assert_eq!(
        altered.verify(&key(1).verifying_key()),
        Err(DocumentError::BadSignature { kind: "request" })
    );
}

#[test]
fn a_signature_for_one_kind_never_verifies_as_another() {
    // Withdrawal and PreservationConfirmation bytes differ, so use the raw envelope: a
    // withdrawal's signed bytes presented as a receipt fail on the domain, not on decoding.
    let w = Signed::sign(
        &Withdrawal {
            v: 1,
            request_id: rid(1),
            withdrawn_at: UnixTime(1),
            reason: WithdrawalReason::NoLongerNeeded,
            data_unusable: false,
        },
        &key(1),
    )
    .unwrap();
    let as_receipt = Signed::<Receipt>::decode(&w.encode()).unwrap();
    assert_eq!(
        as_receipt.verify(&key(1).verifying_key()),
        Err(DocumentError::BadSignature { kind: "receipt" })
    );
}

/// Signs arbitrary bytes as a `T`, the way a buggy or hostile peer could.
fn sign_raw<T: Document>(bytes: &[u8], k: &SigningKey) -> Signed<T> {
    let sig = k.sign(T::DOMAIN, bytes);
    let mut wire = k.id().as_bytes().to_vec();
    wire.extend_from_slice(&sig.0);
    wire.extend_from_slice(bytes);
    Signed::decode(&wire).unwrap()
}

#[test]
fn validly_signed_but_non_canonical_bytes_are_refused() {
    let k = key(1);
    let ext = Extension {
        v: 1,
        request_id: rid(4),
        preservation_ref: rid(1),
        issued_at: UnixTime(5),
        extend_by_days: 30,
        reason: String::new(),
    };
    let good = evx_protocol::canonical::encode(&ext);
    // Trailing bytes after a complete document.
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        sign_raw::<Extension>(&trailing, &k).verify(&k.verifying_key()),
        Err(DocumentError::Decode(DecodeError::TrailingBytes {
            count: 1,
            ..
        }))
    ));
    // `issued_at` = 5 written as the overlong varint 0x85 0x00.
    let pos = 1 + 16 + 16;
    assert_eq!(good[pos], 5);
    let mut overlong = good[..pos].to_vec();
    overlong.extend_from_slice(&[0x85, 0x00]);
    overlong.extend_from_slice(&good[pos + 1..]);
    assert!(matches!(
        sign_raw::<Extension>(&overlong, &k).verify(&k.verifying_key()),
        Err(DocumentError::Decode(DecodeError::NonCanonical { .. }))
    ));
    // Another version.
    let mut v2 = good.clone();
    v2[0] = 2;
    assert!(matches!(
        sign_raw::<Extension>(&v2, &k).verify(&k.verifying_key()),
        Err(DocumentError::Decode(DecodeError::UnsupportedVersion {
            found: 2,
            supported: 1,
            ..
        }))
    ));
}

#[test]
fn oversized_and_truncated_envelopes_are_refused_before_copying() {
    assert!(matches!(
        Signed::<Receipt>::decode(&[0; 95]),
        Err(DocumentError::Truncated { len: 95, .. })
    ));
    let big = vec![0u8; 96 + Receipt::MAX_SIZE + 1];
    assert!(matches!(
        Signed::<Receipt>::decode(&big),
        Err(DocumentError::TooLarge { .. })
    ));
}

#[test]
fn oversized_documents_are_refused_at_signing() {
    let mut r = request();
    r.facts = "x".repeat(70_000);
    assert!(matches!(
        Signed::sign(&r, &key(1)),
        Err(DocumentError::TooLarge {
            kind: "request",
            ..
        })
    ));
    let mut r = request();
    r.v = 2;
    assert!(Signed::sign(&r, &key(1)).is_err());
    assert!(Frame::new(MessageKind::Error, vec![0; 5000]).is_err());
    let report = evx_protocol::frame::ErrorReport::new(1, &"\u{1b}[2J".repeat(1000));
    assert!(report.message().len() <= 1024 && !report.message().contains('\u{1b}'));
    assert_eq!(
        Message::decode(&Message::Error(report.clone()).encode()).unwrap(),
        Message::Error(report)
    );
}

#[test]
fn newer_document_versions_are_named_as_such() {
    // A v2 document with a layout this build does not know: refused as a version, not as junk.
    let k = key(1);
    let mut bytes = vec![2u8];
    bytes.extend_from_slice(&[0xff; 40]);
    assert!(matches!(
        sign_raw::<Receipt>(&bytes, &k).verify(&k.verifying_key()),
        Err(DocumentError::Decode(DecodeError::UnsupportedVersion {
            found: 2,
            ..
        }))
    ));
}

#[test]
fn frame_bodies_are_checked_per_kind() {
    let too_short = Frame::new(MessageKind::Receipt, vec![0; 10]).unwrap();
    assert!(matches!(
        Message::from_frame(&too_short),
        Err(FrameError::Document {
            kind: MessageKind::Receipt,
            ..
        })
    ));
}

proptest! {
    #[test]
    fn frame_and_document_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let vk = key(1).verifying_key();
        if let Ok(m) = Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes.clone());
        }
        let _ = Frame::decode_prefix(&bytes);
        macro_rules! each {
            ($($t:ty),*) => {$(
                if let Ok(s) = Signed::<$t>::decode(&bytes) {
                    prop_assert_eq!(s.encode(), bytes.clone());
                    let _ = s.verify(&vk);
                }
                if let Ok(d) = evx_protocol::canonical::decode::<$t>("doc", &bytes) {
                    prop_assert_eq!(evx_protocol::canonical::encode(&d), bytes.clone());
                }
            )*};
        }
        each!(EvidenceRequest, Acknowledgement, Decision, PreservationConfirmation, Extension, Withdrawal, Receipt, evx_protocol::package::Manifest);
        let _ = KeyFile::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_frames_never_panic_and_never_verify(pos in any::<prop::sample::Index>(), mask in 1u8..) {
        let vk = key(1).verifying_key();
        for m in every_message() {
            let mut bytes = m.encode();
            let i = pos.index(bytes.len());
            bytes[i] ^= mask;
            if let Ok(m2) = Message::decode(&bytes) {
                let verified = match &m2 {
                    Message::Request(s) => s.verify(&vk).is_ok(),
                    Message::Acknowledgement(s) => s.verify(&vk).is_ok(),
                    Message::Decision(s) => s.verify(&vk).is_ok(),
                    Message::PreservationConfirmation(s) => s.verify(&vk).is_ok(),
                    Message::Extension(s) => s.verify(&vk).is_ok(),
                    Message::Withdrawal(s) => s.verify(&vk).is_ok(),
                    Message::Receipt(s) => s.verify(&vk).is_ok(),
                    Message::Validation(s) => s.verify(&vk).is_ok(),
                    Message::ConsentRequest(s) => s.verify(&vk).is_ok(),
                    Message::ConsentDecision(s) => s.verify(&vk).is_ok(),
                    Message::Fetch(_)
                    | Message::PackageOffer(_)
                    | Message::WitnessRequest(_)
                    | Message::Cosigned(_)
                    | Message::Error(_) => false,
                };
                prop_assert!(!verified, "a mutated frame verified: byte {} ^ {:#x}", i, mask);
            }
        }
    }
}
