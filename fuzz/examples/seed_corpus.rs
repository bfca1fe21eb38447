//! Writes seed inputs for the fuzz targets into `corpus/<target>/` (git-ignored): one valid
//! encoding of every message, document, key file and package header, so the fuzzer starts
//! from inputs that decode instead of having to discover postcard layouts and identifier rules
//! byte by byte. Run from `fuzz/` with `cargo run --example seed_corpus` (stable is fine).

use std::fs;
use std::path::Path;

use evx_protocol::canonical;
use evx_protocol::crypto::{HpkeSecretKey, SigningKey};
use evx_protocol::document::{
    Acknowledgement, AuthorityType, Decision, Document, DueDates, Extension, LogEntryRef,
    MissingField, Outcome, PreservationConfirmation, Receipt, RefusalGround, ReviewDecision,
    ReviewVerdict, Signed, Withdrawal, WithdrawalReason,
};
use evx_protocol::frame::{ErrorReport, Message};
use evx_protocol::ids::{PackageId, RequestId, UnixTime};
use evx_protocol::package::{MIN_CHUNK_SIZE, Sealer};
use evx_protocol::policy::{self, Agreement, Channel, Intake, KeyRole, Registry, TrustedKey};
use evx_protocol::purpose::Conditions;
use evx_protocol::sample;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("create the corpus directory");
    fs::write(dir.join(name), bytes).expect("write a seed");
}

/// The `documents` seeds for one type: its canonical bytes (self-signed by the target) and its
/// signed wire encoding. `selector` is the type's number in the target.
fn document<T: Document>(selector: u8, doc: &T, key: &SigningKey) -> Vec<u8> {
    let plain = canonical::encode(doc);
    let signed = Signed::sign(doc, key)
        .expect("sample documents sign")
        .encode();
    write(
        "documents",
        &format!("{}-canonical", T::KIND),
        &[&[selector | 0x80], &plain[..]].concat(),
    );
    write(
        "documents",
        &format!("{}-signed", T::KIND),
        &[&[selector], &signed[..]].concat(),
    );
    signed
}

fn main() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = SigningKey::from_seed(&[1; 32]);
    let id = RequestId::random(&mut rng);
    let t = sample::SAMPLE_TIME;
    let log_entry = LogEntryRef {
        index: 5,
        tree_size: 8,
        root: [7; 32],
        path: vec![[1; 32], [2; 32], [3; 32]],
        entry: vec![1, 2, 3],
        checkpoint: "evx.example/IE/audit\n8\nBwcH\n\n— evx.example/IE/audit AAAA\n".into(),
    };

    let request = sample::production_request(id);
    let ack = Acknowledgement {
        v: 1,
        request_id: id,
        request_digest: [9; 32],
        received_at: t,
        log_entry: Some(log_entry.clone()),
    };
    let decisions = [
        Outcome::Accept {
            conditions: Conditions::default(),
        },
        Outcome::Partial {
            categories: request.categories.clone(),
            selectors: request.selectors.clone(),
            conditions: Conditions::default(),
            reason: "only subscriber data".into(),
        },
        Outcome::Incomplete {
            missing: vec![MissingField {
                field: "offence.statute".into(),
                explanation: "missing".into(),
            }],
        },
        Outcome::Refuse {
            grounds: vec![RefusalGround {
                code: "political-offence".into(),
                legal_source: "Budapest Art. 27(4)(a)".into(),
                explanation: "no".into(),
            }],
        },
        Outcome::PendingReview {
            reason: "review".into(),
            due_at: t,
        },
        Outcome::Postponed {
            until: t.plus_secs(86_400),
            reason: "domestic case".into(),
        },
    ]
    .map(|outcome| Decision {
        v: 1,
        request_id: id,
        decided_at: t,
        outcome,
        trace_digest: Some([3; 32]),
        review_digest: None,
        due: DueDates {
            decide_by: Some(t.plus_secs(10 * 86_400)),
            release_not_before: Some(t.plus_secs(10 * 86_400)),
            ..DueDates::default()
        },
    });
    let preservation = PreservationConfirmation {
        v: 1,
        request_id: id,
        preserved_at: t,
        expires_at: t.plus_secs(90 * 86_400),
        extensions_remaining: 1,
        records_preserved: 1234,
    };
    let extension = Extension {
        v: 1,
        request_id: id,
        preservation_ref: id,
        issued_at: t,
        extend_by_days: 90,
        reason: "production request on its way".into(),
    };
    let withdrawal = Withdrawal {
        v: 1,
        request_id: id,
        withdrawn_at: t,
        reason: WithdrawalReason::Other("case closed".into()),
        data_unusable: true,
    };
    let receipt = Receipt {
        v: 1,
        request_id: id,
        package_id: PackageId([4; 32]),
        received_at: UnixTime(t.0 + 10),
        length: 9196,
        root: [5; 32],
        log_entry: Some(log_entry),
    };

    // The policy engine: the request evaluated under both example agreements, with its trace
    // and a review of it.
    let signed_request = Signed::sign(&request, &key).expect("sample request signs");
    let validation = sample::validation(&signed_request, &request);
    let mut registry = Registry::new();
    registry.add(TrustedKey {
        key: key.verifying_key(),
        party: request.requesting_party.clone(),
        role: KeyRole::JudicialAuthority {
            authority: "Amtsgericht Tiergarten".into(),
            authority_type: AuthorityType::InvestigatingJudge,
        },
    });
    let canonical_request = canonical::encode(&request);
    for (i, (name, text)) in policy::examples::ALL.iter().enumerate() {
        write(
            "policy",
            &format!("agreement-{name}"),
            &[&[0u8], text.as_bytes()].concat(),
        );
        write(
            "policy",
            &format!("sample-under-{name}"),
            &[&[2u8], text.as_bytes()].concat(),
        );
        let selector = 1 | (i as u8) << 2;
        write(
            "policy",
            &format!("request-under-{name}"),
            &[&[selector], &canonical_request[..]].concat(),
        );
        let agreement = Agreement::from_toml(text, name).expect("shipped examples load");
        let intake =
            Intake::new(&signed_request, &request, t, Channel::MUTUAL_TLS).with_log_index(1);
        let trace = policy::evaluate(&agreement, &registry, &intake);
        write(
            "documents",
            &format!("trace-{name}"),
            &[&[13u8], &trace.encode()[..]].concat(),
        );
        let review = ReviewDecision {
            v: 1,
            request_id: id,
            trace_digest: trace.digest(),
            reviewer: "J. Murphy, legal unit".into(),
            decided_at: t.plus_secs(86_400),
            verdict: ReviewVerdict::Partial {
                categories: vec![request.categories[0]],
            },
            grounds: vec![RefusalGround {
                code: "reviewer".into(),
                legal_source: "Budapest Art. 27(6)".into(),
                explanation: "traffic data only after validation".into(),
            }],
            onward_authorised: Vec::new(),
            note: "partial".into(),
        };
        // One review per agreement, so not through `document`, which names seeds by kind.
        let signed_review = Signed::sign(&review, &key).expect("reviews sign").encode();
        write(
            "documents",
            &format!("review-decision-{name}-signed"),
            &[&[12u8], &signed_review[..]].concat(),
        );
        write(
            "documents",
            &format!("review-decision-{name}-canonical"),
            &[&[12u8 | 0x80], &canonical::encode(&review)[..]].concat(),
        );
    }

    let messages = [
        Message::Request(Signed::decode(&document(0, &request, &key)).expect("own encoding")),
        Message::Acknowledgement(Signed::decode(&document(1, &ack, &key)).expect("own")),
        Message::PreservationConfirmation(
            Signed::decode(&document(3, &preservation, &key)).expect("own"),
        ),
        Message::Extension(Signed::decode(&document(4, &extension, &key)).expect("own")),
        Message::Withdrawal(Signed::decode(&document(5, &withdrawal, &key)).expect("own")),
        Message::Receipt(Signed::decode(&document(6, &receipt, &key)).expect("own")),
        Message::Validation(Signed::decode(&document(11, &validation, &key)).expect("own")),
        Message::Error(ErrorReport::new(400, "bad request")),
    ];
    for (i, m) in messages.iter().enumerate() {
        write("frame", &format!("message-{i}"), &m.encode());
    }
    for (i, d) in decisions.iter().enumerate() {
        let signed = Signed::sign(d, &key)
            .expect("sample documents sign")
            .encode();
        write(
            "frame",
            &format!("decision-{i}"),
            &Message::Decision(Signed::decode(&signed).expect("own")).encode(),
        );
        write(
            "documents",
            &format!("decision-{i}-canonical"),
            &[&[0x82], &canonical::encode(d)[..]].concat(),
        );
    }
    write(
        "documents",
        "error-report",
        &[&[8u8], &canonical::encode(&ErrorReport::new(1, "x"))[..]].concat(),
    );

    // Key files of every kind (the documents target also parses the whole input as one).
    let hpke = HpkeSecretKey::from_bytes(&[2; 32]);
    write(
        "documents",
        "key-ed25519-secret",
        key.to_key_file().as_bytes(),
    );
    write(
        "documents",
        "key-ed25519-public",
        key.verifying_key().to_key_file().as_bytes(),
    );
    write(
        "documents",
        "key-x25519-secret",
        hpke.to_key_file().as_bytes(),
    );
    write(
        "documents",
        "key-x25519-public",
        hpke.public_key().to_key_file().as_bytes(),
    );

    // A real package: its header for package_header, its manifest for documents.
    let recipient = HpkeSecretKey::generate(&mut rng);
    let mut params = sample::package_params(&request);
    params.chunk_size = MIN_CHUNK_SIZE;
    let items = vec![
        sample::item("subscribers.jsonl", "application/x-ndjson", 5000),
        sample::item("empty.bin", "application/octet-stream", 0),
    ];
    let mut sealer = Sealer::new(
        Vec::new(),
        params,
        items,
        &key,
        recipient.public_key(),
        &mut rng,
    )
    .expect("sample parameters seal");
    sealer
        .write_payload(&sample::payload(1, 5000))
        .expect("announced length");
    let sealed = sealer.finish().expect("sealing to memory");
    let header_len = 6 + usize::from(u16::from_be_bytes([sealed.writer[4], sealed.writer[5]]));
    write("package_header", "header", &sealed.writer[..header_len]);
    write("package_header", "package", &sealed.writer);
    document(7, &sealed.manifest, &key);
    write(
        "documents",
        "item-index",
        &[
            &[9u8],
            &canonical::encode(&evx_protocol::package::ItemIndex {
                v: 1,
                items: sealed
                    .manifest
                    .items
                    .iter()
                    .map(|i| i.spec.clone())
                    .collect(),
            })[..],
        ]
        .concat(),
    );
    write(
        "documents",
        "package-header",
        &[&[10u8], &sealed.writer[6..header_len]].concat(),
    );

    // package_open: each base package unedited, and a few typical edits.
    for base in 0..7u8 {
        write("package_open", &format!("base-{base}"), &[base, 0]);
    }
    write("package_open", "trickle", &[0, 0x13]);
    write("package_open", "truncate", &[0, 0, 9, 0, 0x10, 0]);
    write("package_open", "drop-trailer", &[0, 0, 0, 4]);
    write("package_open", "swap-chunks", &[0, 0, 2, 1, 2]);
    println!("seeds written under corpus/");
}
