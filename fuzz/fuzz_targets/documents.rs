//! Every signed document decoder, the canonical postcard decoder and the key-file parser.
//!
//! The first input byte picks the type (low 7 bits) and whether the rest is also signed with
//! the fixed test key before verification (high bit), so that `Signed::verify` gets past the
//! signature to the canonical decoding and the version check. For each type:
//!
//! - `Signed::<T>::decode(rest)` -> `encode()` must give back `rest`;
//! - `canonical::decode::<T>` -> `canonical::encode` must give back `rest`;
//! - `verify` against the fixed key must not panic; with the self-signed envelope, a document
//!   that verifies must re-sign to the very same wire bytes (Ed25519 is deterministic) and
//!   decode canonically to the same value.
//!
//! The whole input, read as UTF-8 (lossily), also goes through `KeyFile::parse`; a key that
//! parses must survive being written out and parsed again.

#![no_main]

use std::sync::LazyLock;

use evx_protocol::audit::Event;
use evx_protocol::canonical;
use evx_protocol::crypto::{KeyFile, KeyKind, SigningKey, VerifyingKey};
use evx_protocol::document::{
    Acknowledgement, Decision, Document, EvidenceRequest, Extension, JudicialValidation,
    PreservationConfirmation, Receipt, ReviewDecision, Signed, Withdrawal,
};
use evx_protocol::frame::ErrorReport;
use evx_protocol::package::{ItemIndex, Manifest, PackageHeader};
use evx_protocol::policy::Trace;
use libfuzzer_sys::fuzz_target;

static SIGNER: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::from_seed(&[1; 32]));
static VERIFIER: LazyLock<VerifyingKey> = LazyLock::new(|| SIGNER.verifying_key());

/// The canonical decoder must only accept what it re-encodes identically. (A macro rather
/// than a generic function so the fuzz crate needs no direct serde dependency.)
macro_rules! canonical_round_trip {
    ($ty:ty, $data:expr) => {{
        let data: &[u8] = $data;
        canonical::decode::<$ty>("x", data).ok().inspect(|value| {
            assert_eq!(
                canonical::encode(value),
                data,
                "canonical::decode accepted bytes that do not re-encode identically"
            );
        })
    }};
}

fn signed<T: Document + PartialEq + core::fmt::Debug>(data: &[u8], self_sign: bool) {
    let decoded = Signed::<T>::decode(data);
    assert_eq!(
        Signed::<T>::decode_owned(data.to_vec()),
        decoded,
        "decode_owned and decode disagree"
    );
    if let Ok(s) = decoded {
        assert_eq!(
            s.encode(),
            data,
            "Signed::decode -> encode changed the bytes"
        );
        assert_eq!(s.document_bytes(), &data[96..]);
        let _ = s.digest();
        if let Ok(doc) = s.verify(&VERIFIER) {
            // Only reachable with the self-signed envelope below: keep it consistent.
            assert_eq!(canonical::encode(&doc), s.document_bytes());
        }
    }

    let value = canonical_round_trip!(T, data);

    if self_sign {
        // signer id ‖ Ed25519(domain ‖ data) ‖ data: a genuinely signed envelope, so verify()
        // reaches the canonical decoding and the version check.
        let signature = SIGNER.sign(T::DOMAIN, data);
        let mut wire = Vec::with_capacity(96 + data.len());
        wire.extend_from_slice(SIGNER.id().as_bytes());
        wire.extend_from_slice(&signature.0);
        wire.extend_from_slice(data);
        let Ok(s) = Signed::<T>::decode(&wire) else {
            return;
        };
        assert_eq!(s.encode(), wire);
        match s.verify(&VERIFIER) {
            Ok(doc) => {
                assert_eq!(doc.version(), T::VERSION);
                assert_eq!(value.as_ref(), Some(&doc));
                assert_eq!(
                    Signed::sign(&doc, &SIGNER)
                        .expect("a verified document has the right version and size")
                        .encode(),
                    wire,
                    "a verified document does not re-sign to the same bytes"
                );
            }
            Err(_) => {
                if let Some(v) = &value {
                    // Decodes canonically but refused: only for a version it does not read.
                    assert_ne!(v.version(), T::VERSION);
                }
            }
        }
    }
}

fn key_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(file) = KeyFile::parse(&text) else {
        return;
    };
    let kind = file.kind();
    let ok = [
        file.signing_key().is_ok(),
        file.verifying_key().is_ok(),
        file.hpke_secret_key().is_ok(),
        file.hpke_public_key().is_ok(),
    ];
    let again = match kind {
        KeyKind::Ed25519Secret => {
            let k = file.signing_key().expect("kind says ed25519-secret");
            let again = KeyFile::parse(&k.to_key_file()).expect("own key file parses");
            assert_eq!(again.signing_key().expect("same kind").id(), k.id());
            again
        }
        KeyKind::Ed25519Public => {
            // parse() already checked the point when an id line was present; without one the
            // point is checked here.
            let Ok(k) = file.verifying_key() else {
                return;
            };
            let again = KeyFile::parse(&k.to_key_file()).expect("own key file parses");
            assert_eq!(again.verifying_key().expect("same kind"), k);
            again
        }
        KeyKind::X25519Secret => {
            let k = file.hpke_secret_key().expect("kind says x25519-secret");
            let again = KeyFile::parse(&k.to_key_file()).expect("own key file parses");
            assert_eq!(again.hpke_secret_key().expect("same kind").id(), k.id());
            again
        }
        KeyKind::X25519Public => {
            let k = file.hpke_public_key().expect("kind says x25519-public");
            let again = KeyFile::parse(&k.to_key_file()).expect("own key file parses");
            assert_eq!(&again.hpke_public_key().expect("same kind"), &k);
            again
        }
    };
    assert_eq!(again.kind(), kind);
    // Exactly one accessor matches the kind (the Ed25519 public one may still refuse a point).
    assert!(ok.iter().filter(|b| **b).count() <= 1);
}

fuzz_target!(|data: &[u8]| {
    key_file(data);
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let self_sign = selector & 0x80 != 0;
    match (selector & 0x7f) % 15 {
        0 => signed::<EvidenceRequest>(rest, self_sign),
        1 => signed::<Acknowledgement>(rest, self_sign),
        2 => signed::<Decision>(rest, self_sign),
        3 => signed::<PreservationConfirmation>(rest, self_sign),
        4 => signed::<Extension>(rest, self_sign),
        5 => signed::<Withdrawal>(rest, self_sign),
        6 => signed::<Receipt>(rest, self_sign),
        7 => signed::<Manifest>(rest, self_sign),
        11 => signed::<JudicialValidation>(rest, self_sign),
        12 => signed::<ReviewDecision>(rest, self_sign),
        13 => {
            canonical_round_trip!(Trace, rest);
        }
        14 => {
            canonical_round_trip!(Event, rest);
        }
        // Canonical-only types without a signature envelope.
        8 => {
            canonical_round_trip!(ErrorReport, rest);
        }
        9 => {
            canonical_round_trip!(ItemIndex, rest);
        }
        _ => {
            canonical_round_trip!(PackageHeader, rest);
        }
    }
});
