//! Signed notes, checkpoints and cosignatures, against the reference implementation's
//! published example (golang.org/x/mod/sumdb/note): same key ids, same key encodings, the same
//! signature byte for byte — so any standard verifier accepts evx's checkpoints.

use evx_protocol::crypto::SigningKey;
use evx_protocol::merkle::{leaf_hash, root_of_leaf_hashes};
use evx_protocol::note::checkpoint::{Checkpoint, CheckpointError};
use evx_protocol::note::cosignature::{self, CosignatureError};
use evx_protocol::note::{
    KeyError, Note, NoteError, NoteSigner, NoteVerifier, SIG_COSIGNATURE, SIG_ED25519,
};
use proptest::prelude::*;

const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn note_text() -> String {
    format!("{TEXT}\n{SIG}")
}

#[test]
fn keys_and_signature_match_the_reference_example() {
    let signer = NoteSigner::parse(SKEY).unwrap();
    assert_eq!(signer.id(), 0xc74f_20a3);
    assert_eq!(signer.verifier().to_vkey(), VKEY);
    assert_eq!(&*signer.to_skey(), SKEY);
    let verifier = NoteVerifier::parse(VKEY).unwrap();
    assert_eq!(verifier, signer.verifier());

    let mut note = Note::new(TEXT).unwrap();
    note.sign(&signer).unwrap();
    assert_eq!(note.encode(), note_text());

    let parsed = Note::parse(note_text().as_bytes()).unwrap();
    assert_eq!(parsed, note);
    let ok = parsed.verify(std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(ok.len(), 1);
    // Secrets stay out of Debug.
    assert!(!format!("{signer:?}").contains("AYEKFALV"));
}

#[test]
fn malformed_keys_are_refused() {
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+!!!!",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(NoteVerifier::parse(bad).is_err(), "{bad}");
    }
    assert!(matches!(
        NoteVerifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::IdMismatch { .. })
    ));
    // Every truncation of the reference key is refused.
    for end in 0..VKEY.len() {
        if VKEY.is_char_boundary(end) {
            assert!(
                NoteVerifier::parse(&VKEY[..end]).is_err(),
                "{}",
                &VKEY[..end]
            );
        }
    }
}

#[test]
fn altered_notes_and_untrusted_signatures_are_refused() {
    let verifier = NoteVerifier::parse(VKEY).unwrap();
    let altered = note_text().replacen("answer", "answers", 1);
    let note = Note::parse(altered.as_bytes()).unwrap();
    assert!(matches!(
        note.verify(std::slice::from_ref(&verifier)),
        Err(NoteError::BadSignature { .. })
    ));
    // A note signed only by a key we do not know.
    let other = NoteSigner::new(
        "other.example/log",
        SIG_ED25519,
        SigningKey::from_seed(&[9; 32]),
    )
    .unwrap();
    let mut n = Note::new(TEXT).unwrap();
    n.sign(&other).unwrap();
    assert_eq!(
        n.verify(std::slice::from_ref(&verifier)),
        Err(NoteError::NoTrustedSignature)
    );
    // Malformed envelopes.
    for bad in [
        "no blank line\n— PeterNeumann x08go/ZJ=\n".to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n- PeterNeumann x08go/ZJkuBS9U=\n"),
        format!("{TEXT}\n— PeterNeumann\n"),
        format!("{TEXT}\n— PeterNeumann AAAA\n"),
        format!("{TEXT}\n{}", SIG.trim_end()),
        format!("tab\there\n\n{SIG}"),
    ] {
        assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
    assert!(Note::parse(&[0xff, 0xfe, b'\n', b'\n']).is_err());
    assert!(matches!(
        Note::parse(&vec![b'a'; (1 << 20) + 1]),
        Err(NoteError::TooLarge(_))
    ));
}

fn log_key() -> NoteSigner {
    NoteSigner::new(
        "evx.example/DE-BfJ/audit",
        SIG_ED25519,
        SigningKey::from_seed(&[1; 32]),
    )
    .unwrap()
}

fn witness_key() -> NoteSigner {
    NoteSigner::new(
        "evx.example/IE-provider-LERT/witness",
        SIG_COSIGNATURE,
        SigningKey::from_seed(&[2; 32]),
    )
    .unwrap()
}

fn checkpoint(size: u64) -> Checkpoint {
    let leaves: Vec<_> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    Checkpoint {
        origin: "evx.example/DE-BfJ/audit".into(),
        size,
        root: root_of_leaf_hashes(&leaves),
        extensions: Vec::new(),
    }
}

#[test]
fn checkpoints_round_trip_sign_and_open() {
    let c = checkpoint(20);
    let text = c.to_text();
    assert!(text.starts_with("evx.example/DE-BfJ/audit\n20\n"));
    assert_eq!(Checkpoint::from_text(&text).unwrap(), c);
    let note = c.sign(&log_key()).unwrap();
    let wire = note.encode();
    let (opened, _) = Checkpoint::open(wire.as_bytes(), &log_key().verifier()).unwrap();
    assert_eq!(opened, c);
    // Another log's key, or a checkpoint naming another origin, is refused.
    let other = NoteSigner::new(
        "evx.example/FR/audit",
        SIG_ED25519,
        SigningKey::from_seed(&[1; 32]),
    )
    .unwrap();
    assert!(Checkpoint::open(wire.as_bytes(), &other.verifier()).is_err());
    // A log key signs only its own origin, and only text that reads back the same.
    let mut foreign = c.clone();
    foreign.origin = "evx.example/FR/audit".into();
    assert!(matches!(
        foreign.sign(&log_key()),
        Err(CheckpointError::OtherOrigin { .. })
    ));
    let mut sneaky = c.clone();
    sneaky.extensions = vec![String::new()];
    assert!(matches!(
        sneaky.sign(&log_key()),
        Err(CheckpointError::Malformed(_))
    ));
    let mut empty = c.clone();
    empty.size = 0;
    assert!(
        empty.sign(&log_key()).is_err(),
        "an empty tree with a non-empty root"
    );
    // A note naming another origin, even signed by this log's key, does not open.
    let mut note = Note::new(foreign.to_text()).unwrap();
    note.sign(&log_key()).unwrap();
    let wire = note.encode();
    assert!(matches!(
        Checkpoint::open(wire.as_bytes(), &log_key().verifier()),
        Err(CheckpointError::OtherOrigin { .. })
    ));
    for bad in [
        "o\n01\nAAAA\n",
        "o\n-1\nAAAA\n",
        "o\n\nAAAA\n",
        "\n1\nAAAA\n",
        "o\n1\nAAAA\n",
        "o\n1\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ] {
        assert!(Checkpoint::from_text(bad).is_err(), "{bad:?}");
    }
    // An empty tree has exactly one root: SHA-256 of the empty string.
    assert!(Checkpoint::from_text("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").is_err());
    assert!(Checkpoint::from_text("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").is_ok());
}

#[test]
fn cosignatures_are_timestamped_and_bound_to_the_checkpoint() {
    let mut note = checkpoint(20).sign(&log_key()).unwrap();
    cosignature::cosign(&mut note, &witness_key(), 1_795_165_200).unwrap();
    let wire = note.encode();
    assert_eq!(wire.matches("\n— ").count(), 2);
    let parsed = Note::parse(wire.as_bytes()).unwrap();
    assert_eq!(
        cosignature::verify(&parsed, &witness_key().verifier()),
        Ok(1_795_165_200)
    );
    // The log's signature still opens; the cosignature is not a note signature of type 0x01.
    assert!(Checkpoint::open(wire.as_bytes(), &log_key().verifier()).is_ok());
    assert_eq!(
        parsed.verify(&[witness_key().verifier()]),
        Err(NoteError::NoTrustedSignature)
    );
    // A checkpoint altered after cosigning: the cosignature no longer verifies.
    let altered = wire.replacen("\n20\n", "\n21\n", 1);
    let altered = Note::parse(altered.as_bytes()).unwrap();
    assert!(matches!(
        cosignature::verify(&altered, &witness_key().verifier()),
        Err(CosignatureError::Bad(_))
    ));
    // Not cosigned at all; a plain note key cannot cosign.
    let plain = checkpoint(20).sign(&log_key()).unwrap();
    assert!(matches!(
        cosignature::verify(&plain, &witness_key().verifier()),
        Err(CosignatureError::Missing(_))
    ));
    let mut n = plain.clone();
    assert_eq!(
        cosignature::cosign(&mut n, &log_key(), 1),
        Err(CosignatureError::WrongKeyType)
    );
    assert_eq!(
        cosignature::cosign(&mut n, &witness_key(), 1 << 63),
        Err(CosignatureError::BadTimestamp)
    );
}

proptest! {
    #[test]
    fn parsing_never_panics_and_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(note) = Note::parse(&bytes) {
            let encoded = note.encode();
            prop_assert_eq!(encoded.as_bytes(), &bytes[..]);
        }
        let _ = Checkpoint::from_text(&String::from_utf8_lossy(&bytes));
        let _ = NoteVerifier::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn any_signed_text_verifies_and_round_trips(lines in prop::collection::vec("[a-z0-9 /.]{1,30}", 1..6)) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut note = Note::new(text).unwrap();
        note.sign(&log_key()).unwrap();
        let parsed = Note::parse(note.encode().as_bytes()).unwrap();
        prop_assert!(parsed.verify(&[log_key().verifier()]).is_ok());
    }
}

mod witnessing {
    use evx_protocol::merkle::{Hash, consistency_proof, leaf_hash, root_of_leaf_hashes};
    use evx_protocol::note::checkpoint::Checkpoint;
    use evx_protocol::note::witness::{WitnessError, Witnessed, witness};
    use evx_protocol::note::{Note, NoteSignature, cosignature};

    use super::{log_key, witness_key};

    fn leaves(n: u64, fork_at: Option<u64>) -> Vec<Hash> {
        (0..n)
            .map(|i| {
                if Some(i) == fork_at {
                    leaf_hash(b"rewritten entry")
                } else {
                    leaf_hash(&i.to_be_bytes())
                }
            })
            .collect()
    }

    fn signed(l: &[Hash]) -> String {
        Checkpoint {
            origin: "evx.example/DE-BfJ/audit".into(),
            size: l.len() as u64,
            root: root_of_leaf_hashes(l),
            extensions: Vec::new(),
        }
        .sign(&log_key())
        .unwrap()
        .encode()
    }

    fn offer(
        last: Option<&Witnessed>,
        l: &[Hash],
        proof: &[Hash],
        now: u64,
    ) -> Result<Witnessed, WitnessError> {
        witness(
            last,
            signed(l).as_bytes(),
            proof,
            &log_key().verifier(),
            &witness_key(),
            now,
        )
    }

    #[test]
    fn a_consistent_extension_is_cosigned() {
        let l = leaves(30, None);
        let w = offer(None, &l[..10], &[], 100).unwrap();
        assert_eq!(
            cosignature::verify(&w.note, &witness_key().verifier()),
            Ok(100)
        );
        let proof = consistency_proof(&l[..], 10, 30).unwrap();
        let w2 = offer(Some(&w), &l, &proof, 200).unwrap();
        assert_eq!(w2.checkpoint.size, 30);
        assert_eq!(w2.cosigned_at, 200);
        assert_eq!(
            cosignature::verify(&w2.note, &witness_key().verifier()),
            Ok(200)
        );
        // The same checkpoint again is cosigned again (a newer timestamp), with no proof.
        let w3 = offer(Some(&w2), &l, &[], 300).unwrap();
        assert_eq!(w3.checkpoint, w2.checkpoint);
    }

    #[test]
    fn only_a_fork_is_a_conflict_and_it_carries_portable_proof() {
        let honest = leaves(30, None);
        let w = offer(None, &honest[..20], &[], 100).unwrap();
        let log = log_key().verifier();
        // Same size, rewritten history: a fork, proven by two checkpoints signed by the log.
        match offer(Some(&w), &leaves(20, Some(3)), &[], 105) {
            Err(WitnessError::Conflict(c)) => {
                let (a, _) = Checkpoint::open(c.cosigned.as_bytes(), &log).unwrap();
                let (b, _) = Checkpoint::open(c.offered.as_bytes(), &log).unwrap();
                assert_eq!(a.size, b.size);
                assert_ne!(a.root, b.root);
            }
            other => panic!("expected a fork, got {other:?}"),
        }
        // Smaller than what was cosigned: stale, refused, not a conflict.
        assert_eq!(
            offer(Some(&w), &honest[..15], &[], 105),
            Err(WitnessError::Stale { cosigned_size: 20 })
        );
        // Larger, but built on a rewritten history: the proof fails, nothing is cosigned.
        let forked30 = leaves(30, Some(3));
        let proof = consistency_proof(&forked30[..], 20, 30).unwrap();
        assert!(matches!(
            offer(Some(&w), &forked30, &proof, 105),
            Err(WitnessError::BadProof(_))
        ));
        // A proof of the wrong length, likewise.
        assert!(matches!(
            offer(Some(&w), &honest, &[], 105),
            Err(WitnessError::BadProof(_))
        ));
        // The witness's clock may not go back behind its last cosignature.
        let proof = consistency_proof(&honest[..], 20, 30).unwrap();
        assert_eq!(
            offer(Some(&w), &honest, &proof, 99),
            Err(WitnessError::ClockBehind { now: 99, last: 100 })
        );
        // A checkpoint not signed by the peer's log proves nothing.
        let fake = signed(&honest).replacen("\n30\n", "\n31\n", 1);
        assert!(matches!(
            witness(Some(&w), fake.as_bytes(), &proof, &log, &witness_key(), 105),
            Err(WitnessError::Checkpoint(_))
        ));
    }

    #[test]
    fn the_cosigned_note_keeps_only_the_logs_signature_and_the_cosignature() {
        let l = leaves(10, None);
        // The offered note carries junk: a bad line under the witness's own name and id, and
        // a line by a stranger.
        let mut offered = Note::parse(signed(&l).as_bytes()).unwrap();
        let me = witness_key();
        offered
            .push_signature(NoteSignature {
                name: me.name().to_owned(),
                key_id: me.id(),
                signature: vec![0; 72],
            })
            .unwrap();
        offered
            .push_signature(NoteSignature {
                name: "stranger.example".into(),
                key_id: 7,
                signature: vec![1; 64],
            })
            .unwrap();
        let w = witness(
            None,
            offered.encode().as_bytes(),
            &[],
            &log_key().verifier(),
            &me,
            100,
        )
        .unwrap();
        assert_eq!(w.note.signatures().len(), 2);
        assert_eq!(cosignature::verify(&w.note, &me.verifier()), Ok(100));
        // An oversized offer is refused before anything is parsed.
        let big = format!("{}{}", "x".repeat(20_000), signed(&l));
        assert!(matches!(
            witness(None, big.as_bytes(), &[], &log_key().verifier(), &me, 100),
            Err(WitnessError::Checkpoint(_))
        ));
    }
}

mod proofs {
    use evx_protocol::merkle::{inclusion_proof, leaf_hash, root_of_leaf_hashes};
    use evx_protocol::note::checkpoint::{Checkpoint, CheckpointError};
    use evx_protocol::note::cosignature;
    use evx_protocol::note::proof::{LogProof, ProofFormatError};

    use super::{log_key, witness_key};

    fn entries() -> Vec<Vec<u8>> {
        (0..13u32)
            .map(|i| format!("event {i}").into_bytes())
            .collect()
    }

    fn proof_for(index: usize, cosigned: bool) -> LogProof {
        let e = entries();
        let leaves: Vec<_> = e.iter().map(|d| leaf_hash(d)).collect();
        let mut note = Checkpoint {
            origin: "evx.example/DE-BfJ/audit".into(),
            size: leaves.len() as u64,
            root: root_of_leaf_hashes(&leaves),
            extensions: Vec::new(),
        }
        .sign(&log_key())
        .unwrap();
        if cosigned {
            cosignature::cosign(&mut note, &witness_key(), 1_795_165_200).unwrap();
        }
        LogProof {
            entry: Some(e[index].clone()),
            index: index as u64,
            path: inclusion_proof(&leaves[..], index as u64, leaves.len() as u64).unwrap(),
            checkpoint: note.encode(),
        }
    }

    #[test]
    fn a_proof_round_trips_and_verifies_offline() {
        let p = proof_for(7, true);
        let text = p.encode();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra ZXZlbnQgNw==\nindex 7\n"));
        let parsed = LogProof::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, p);
        let v = parsed
            .verify(&log_key().verifier(), &[witness_key().verifier()], 1)
            .unwrap();
        assert_eq!(v.index, 7);
        assert_eq!(v.entry, b"event 7");
        assert_eq!(
            v.cosigned_by,
            [(witness_key().name().to_owned(), 1_795_165_200)]
        );
    }

    #[test]
    fn altered_or_unwitnessed_proofs_are_refused() {
        let log = log_key().verifier();
        let w = [witness_key().verifier()];
        let mut p = proof_for(7, true);
        p.entry = Some(b"event 8".to_vec());
        assert!(matches!(
            p.verify(&log, &w, 1),
            Err(ProofFormatError::NotIncluded { index: 7, .. })
        ));
        let mut p = proof_for(7, true);
        p.index = 6;
        assert!(matches!(
            p.verify(&log, &w, 1),
            Err(ProofFormatError::NotIncluded { .. })
        ));
        let p = proof_for(7, false);
        assert_eq!(
            p.verify(&log, &w, 1),
            Err(ProofFormatError::TooFewCosignatures {
                found: 0,
                required: 1
            })
        );
        assert!(p.verify(&log, &w, 0).is_ok());
        let mut p = proof_for(7, true);
        p.checkpoint = p.checkpoint.replacen("\n13\n", "\n14\n", 1);
        assert!(matches!(
            p.verify(&log, &w, 1),
            Err(ProofFormatError::Checkpoint(CheckpointError::Note(_)))
        ));
        let mut p = proof_for(7, true);
        p.entry = None;
        assert_eq!(p.verify(&log, &w, 1), Err(ProofFormatError::NoEntry));
        for bad in [
            "c2sp.org/tlog-proof@v2\nindex 1\n\nx\n",
            "c2sp.org/tlog-proof@v1\nindex 01\n\nx\n",
            "c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx\n",
            "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx\n",
            "c2sp.org/tlog-proof@v1\nindex 1\n",
        ] {
            assert!(LogProof::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}

#[test]
fn a_witness_listed_twice_counts_once() {
    use evx_protocol::merkle::{inclusion_proof, leaf_hash, root_of_leaf_hashes};
    use evx_protocol::note::proof::{LogProof, ProofFormatError};
    let leaves: Vec<_> = (0..3u8).map(|i| leaf_hash(&[i])).collect();
    let mut note = Checkpoint {
        origin: "evx.example/DE-BfJ/audit".into(),
        size: 3,
        root: root_of_leaf_hashes(&leaves),
        extensions: Vec::new(),
    }
    .sign(&log_key())
    .unwrap();
    cosignature::cosign(&mut note, &witness_key(), 5).unwrap();
    let p = LogProof {
        entry: Some(vec![1]),
        index: 1,
        path: inclusion_proof(&leaves[..], 1, 3).unwrap(),
        checkpoint: note.encode(),
    };
    let w = witness_key().verifier();
    assert_eq!(
        p.verify(&log_key().verifier(), &[w.clone(), w], 2),
        Err(ProofFormatError::TooFewCosignatures {
            found: 1,
            required: 2
        })
    );
}
