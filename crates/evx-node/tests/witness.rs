//! Cross-party witnessing with the state in the store: a consistent extension is cosigned and
//! remembered across reopening; a stale checkpoint is refused; a fork is recorded with both
//! signed checkpoints and logged; the cosignature ends up in the peer's exported proofs.

mod common;

use common::TempDir;
use evx_node::audit::{AuditLog, PeerError};
use evx_protocol::audit::{Actor, Event, EventKind};
use evx_protocol::crypto::SigningKey;
use evx_protocol::ids::{PartyId, UnixTime};
use evx_protocol::note::witness::WitnessError;
use evx_protocol::note::{NoteSigner, SIG_COSIGNATURE, SIG_ED25519, cosignature};

fn ie_key() -> NoteSigner {
    NoteSigner::new(
        "evx.example/IE/audit",
        SIG_ED25519,
        SigningKey::from_seed(&[21; 32]),
    )
    .unwrap()
}
fn de_key() -> NoteSigner {
    NoteSigner::new(
        "evx.example/DE/audit",
        SIG_ED25519,
        SigningKey::from_seed(&[22; 32]),
    )
    .unwrap()
}
fn de_witness() -> NoteSigner {
    NoteSigner::new(
        "evx.example/DE/witness",
        SIG_COSIGNATURE,
        SigningKey::from_seed(&[23; 32]),
    )
    .unwrap()
}
fn de_actor() -> Actor {
    Actor {
        party: PartyId::new("DE-BfJ").unwrap(),
        by: "witness".into(),
    }
}

fn event(n: u64, tag: &str) -> Event {
    Event {
        v: 1,
        at: UnixTime(n),
        actor: Actor {
            party: PartyId::new("IE-provider-LERT").unwrap(),
            by: tag.into(),
        },
        kind: EventKind::PreservationExpired,
        request: None,
        case: None,
        purpose: None,
        subjects: Vec::new(),
    }
}

#[test]
fn witnessing_a_peer_end_to_end() {
    let (ie_dir, de_dir, fork_dir) = (TempDir::new("ie"), TempDir::new("de"), TempDir::new("fork"));
    let ie = AuditLog::open(&ie_dir.0, ie_key()).unwrap();
    let de = AuditLog::open(&de_dir.0, de_key()).unwrap();
    let peer = ie_key().verifier();
    for i in 0..5 {
        ie.append(&event(i, "a"), vec![]).unwrap();
    }
    // First contact: trusted as it is, cosigned, remembered, logged on DE's side.
    let offered = ie.checkpoint().unwrap().encode();
    let cosigned = de
        .witness_peer(
            offered.as_bytes(),
            &[],
            &peer,
            &de_witness(),
            de_actor(),
            1000,
        )
        .unwrap();
    assert_eq!(
        cosignature::verify(&cosigned, &de_witness().verifier()),
        Ok(1000)
    );
    assert_eq!(
        de.peer_checkpoint(peer.name())
            .unwrap()
            .unwrap()
            .checkpoint
            .size,
        5
    );
    // IE records the cosignature; its exported proofs carry it.
    ie.record_cosignature(5, &cosigned, &de_witness().verifier())
        .unwrap();
    let proof = ie.proof(2).unwrap();
    assert!(proof.verify(&peer, &[de_witness().verifier()], 1).is_ok());

    // IE grows; DE cosigns the extension with a consistency proof from 5.
    for i in 5..12 {
        ie.append(&event(i, "a"), vec![]).unwrap();
    }
    let offered = ie.checkpoint().unwrap().encode();
    let proof = ie.consistency_proof(5, 12).unwrap();
    de.witness_peer(
        offered.as_bytes(),
        &proof,
        &peer,
        &de_witness(),
        de_actor(),
        2000,
    )
    .unwrap();
    // The state survives reopening.
    drop(de);
    let de = AuditLog::open(&de_dir.0, de_key()).unwrap();
    assert_eq!(
        de.peer_checkpoint(peer.name())
            .unwrap()
            .unwrap()
            .checkpoint
            .size,
        12
    );

    // A stale checkpoint is refused, and is not a conflict.
    let old = ie.checkpoint_at(5).unwrap().unwrap().encode();
    assert!(matches!(
        de.witness_peer(old.as_bytes(), &[], &peer, &de_witness(), de_actor(), 3000),
        Err(PeerError::Refused(WitnessError::Stale {
            cosigned_size: 12
        }))
    ));
    assert!(de.conflicts().unwrap().is_empty());

    // A fork: the same log key signs another history of 12 entries.
    let fork = AuditLog::open(&fork_dir.0, ie_key()).unwrap();
    for i in 0..12 {
        fork.append(&event(i, "rewritten"), vec![]).unwrap();
    }
    let forked = fork.checkpoint().unwrap().encode();
    assert!(matches!(
        de.witness_peer(
            forked.as_bytes(),
            &[],
            &peer,
            &de_witness(),
            de_actor(),
            4000
        ),
        Err(PeerError::Refused(WitnessError::Conflict(_)))
    ));
    let conflicts = de.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].0, peer.name());
    // DE's own log recorded both the cosignatures and the conflict, and verifies.
    let kinds: Vec<String> = (0..de.size().unwrap())
        .map(|i| {
            Event::decode(&de.entry(i).unwrap())
                .unwrap()
                .kind
                .name()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "checkpoint_cosigned",
            "checkpoint_cosigned",
            "conflict_detected"
        ]
    );
    assert_eq!(de.verify().unwrap().entries, 3);
    // The cosigned state did not move.
    assert_eq!(
        de.peer_checkpoint(peer.name())
            .unwrap()
            .unwrap()
            .checkpoint
            .size,
        12
    );
}

#[test]
fn cosignatures_are_checked_and_repeated_forks_recorded_once() {
    let (ie_dir, de_dir, fork_dir) = (
        TempDir::new("ie2"),
        TempDir::new("de2"),
        TempDir::new("fork2"),
    );
    let ie = AuditLog::open(&ie_dir.0, ie_key()).unwrap();
    let de = AuditLog::open(&de_dir.0, de_key()).unwrap();
    let fork = AuditLog::open(&fork_dir.0, ie_key()).unwrap();
    let peer = ie_key().verifier();
    for i in 0..4 {
        ie.append(&event(i, "a"), vec![]).unwrap();
        fork.append(&event(i, "b"), vec![]).unwrap();
    }
    // A cosignature of the fork's checkpoint is not one of IE's checkpoints.
    let mut forked = fork.checkpoint().unwrap();
    cosignature::cosign(&mut forked, &de_witness(), 10).unwrap();
    assert!(
        ie.record_cosignature(4, &forked, &de_witness().verifier())
            .is_err()
    );
    // A cosignature by another key than the witness's is refused.
    let mut mine = ie.checkpoint().unwrap();
    let impostor = NoteSigner::new(
        "evx.example/DE/witness",
        SIG_COSIGNATURE,
        SigningKey::from_seed(&[99; 32]),
    )
    .unwrap();
    cosignature::cosign(&mut mine, &impostor, 10).unwrap();
    assert!(
        ie.record_cosignature(4, &mine, &de_witness().verifier())
            .is_err()
    );
    // The first contact, then the same fork offered twice: one conflict row, one log entry.
    de.witness_peer(
        ie.checkpoint().unwrap().encode().as_bytes(),
        &[],
        &peer,
        &de_witness(),
        de_actor(),
        1,
    )
    .unwrap();
    for t in 2..4 {
        assert!(matches!(
            de.witness_peer(
                fork.checkpoint().unwrap().encode().as_bytes(),
                &[],
                &peer,
                &de_witness(),
                de_actor(),
                t
            ),
            Err(PeerError::Refused(WitnessError::Conflict(_)))
        ));
    }
    assert_eq!(de.conflicts().unwrap().len(), 1);
    assert_eq!(de.size().unwrap(), 2);
    // A read-only log does not witness.
    drop(de);
    let ro = AuditLog::open_read_only(&de_dir.0, de_key().verifier()).unwrap();
    assert!(
        ro.witness_peer(
            ie.checkpoint().unwrap().encode().as_bytes(),
            &[],
            &peer,
            &de_witness(),
            de_actor(),
            5
        )
        .is_err()
    );
}

fn ie_peer() -> evx_node::witnessing::PeerKeys {
    evx_node::witnessing::PeerKeys {
        log: ie_key().verifier(),
        witness: NoteSigner::new(
            "evx.example/IE/witness",
            SIG_COSIGNATURE,
            SigningKey::from_seed(&[24; 32]),
        )
        .unwrap()
        .verifier(),
    }
}

/// Two exchanges with the same peer offer the same extension with a proof from the same old
/// size: the one that comes second finds the state moved. It is told the size to prove from,
/// and nothing is recorded as a conflict — a proof from the old size against the new state
/// would fail and look like a fork.
#[test]
fn a_concurrent_offer_is_told_the_new_size_not_taken_for_a_fork() {
    use evx_node::witnessing::{Answer, Me, answer, offer};
    let (ie_dir, de_dir) = (TempDir::new("ie-race"), TempDir::new("de-race"));
    let ie = AuditLog::open(&ie_dir.0, ie_key()).unwrap();
    let de = AuditLog::open(&de_dir.0, de_key()).unwrap();
    let witness = de_witness();
    let me = Me {
        log: &de,
        witness: &witness,
        actor: de_actor(),
    };
    for i in 0..5 {
        ie.append(&event(i, "a"), vec![]).unwrap();
    }
    let first = offer(&ie, 0).unwrap();
    assert!(matches!(
        answer(&me, &ie_peer(), &first, false, 1000).unwrap(),
        Answer::Cosigned(c) if c.note.is_some()
    ));
    for i in 5..12 {
        ie.append(&event(i, "a"), vec![]).unwrap();
    }
    // Both exchanges read the state at 5 and prove from there; the first one cosigns 12.
    let a = offer(&ie, 5).unwrap();
    let b = offer(&ie, 5).unwrap();
    assert!(matches!(
        answer(&me, &ie_peer(), &a, false, 2000).unwrap(),
        Answer::Cosigned(c) if c.cosigned_size == 12 && c.note.is_some()
    ));
    // The second, checked under the write lock as if it had read the state before the first
    // committed.
    let moved = de.witness_peer_from(
        b.checkpoint.as_bytes(),
        Some(5),
        &b.proof,
        &ie_key().verifier(),
        &witness,
        de_actor(),
        2001,
    );
    assert!(
        matches!(moved, Err(PeerError::Moved { cosigned_size: 12 })),
        "{moved:?}"
    );
    // Without the check, the same proof against the new state is refused as a bad proof.
    assert!(matches!(
        de.witness_peer(
            b.checkpoint.as_bytes(),
            &b.proof,
            &ie_key().verifier(),
            &witness,
            de_actor(),
            2002,
        ),
        Err(PeerError::Refused(WitnessError::BadProof(_)))
    ));
    assert!(
        de.conflicts().unwrap().is_empty(),
        "no conflict is recorded"
    );
}

/// A signed checkpoint of the size cosigned with another root is a fork even when the offer
/// claims to prove from another size.
#[test]
fn a_same_size_fork_is_recorded_whatever_size_the_offer_names() {
    use evx_node::witnessing::{Answer, Me, answer, offer};
    let (ie_dir, fork_dir, de_dir) = (
        TempDir::new("ie-fork2"),
        TempDir::new("fork-fork2"),
        TempDir::new("de-fork2"),
    );
    let ie = AuditLog::open(&ie_dir.0, ie_key()).unwrap();
    let fork = AuditLog::open(&fork_dir.0, ie_key()).unwrap();
    let de = AuditLog::open(&de_dir.0, de_key()).unwrap();
    let witness = de_witness();
    let me = Me {
        log: &de,
        witness: &witness,
        actor: de_actor(),
    };
    for i in 0..6 {
        ie.append(&event(i, "a"), vec![]).unwrap();
        fork.append(&event(i, if i < 3 { "a" } else { "b" }), vec![])
            .unwrap();
    }
    assert!(matches!(
        answer(&me, &ie_peer(), &offer(&ie, 0).unwrap(), false, 1000).unwrap(),
        Answer::Cosigned(c) if c.cosigned_size == 6
    ));
    // The fork's checkpoint of size 6, offered "from 3".
    let mut forked = offer(&fork, 3).unwrap();
    forked.old_size = 3;
    assert!(matches!(
        answer(&me, &ie_peer(), &forked, false, 1001).unwrap(),
        Answer::Conflict(_)
    ));
    assert_eq!(de.conflicts().unwrap().len(), 1);
}
