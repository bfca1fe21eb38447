//! Cross-party witnessing over a QUIC stream: each node cosigns the other's latest checkpoint.
//!
//! The node that opens the stream (the requesting node, after each exchange) offers its
//! checkpoint first; the other answers, then offers its own. An offer carries a consistency
//! proof from the size the offerer believes the witness last cosigned; a witness whose state
//! differs answers with its real size and the offer is made once more with the right proof
//! (a lost answer or a concurrent exchange leaves the two sides' beliefs apart; that is not a
//! fork). A fork is:
//! - a checkpoint of the size cosigned with another root;
//! - a consistency proof from exactly the size cosigned that does not check out;
//! - a second offer, after being told the size cosigned, still smaller than it (the log was
//!   rolled back).
//!
//! Each is recorded with both signed checkpoints (`conflict_detected`), answered with the
//! `CONFLICT` error report, and stops exchanges with that peer on both sides.

use evx_protocol::audit::Actor;
use evx_protocol::frame::{ErrorReport, Message};
use evx_protocol::note::checkpoint::Checkpoint;
use evx_protocol::note::witness::WitnessError;
use evx_protocol::note::{Note, NoteSigner, NoteVerifier};
use evx_protocol::witnessing::{Cosigned, WitnessRequest};

use crate::audit::{AuditLog, PeerError, StoreError};
use crate::group_commit::blocking;
use crate::wire::{WireError, read_message, write_message};

/// A peer's public log and witness keys, from the registry.
#[derive(Clone, Debug)]
pub struct PeerKeys {
    /// Its audit log's key.
    pub log: NoteVerifier,
    /// Its witness (cosignature) key.
    pub witness: NoteVerifier,
}

/// This node's side: its log, its witness key, who it is.
pub struct Me<'a> {
    /// Its audit log.
    pub log: &'a AuditLog,
    /// Its witness key.
    pub witness: &'a NoteSigner,
    /// Who acts, for the log entries witnessing writes.
    pub actor: Actor,
}

/// What one witnessing exchange achieved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The size of this node's log the peer cosigned now, if it did.
    pub ours_cosigned: Option<u64>,
    /// The size of the peer's log this node cosigned now, if it did.
    pub theirs_cosigned: Option<u64>,
}

/// Why witnessing did not complete.
#[derive(Debug, thiserror::Error)]
pub enum WitnessingError {
    /// The peer's log conflicts with what this node cosigned: recorded, exchanges stop.
    #[error(
        "CONFLICT: the audit log of {origin} contradicts what this node cosigned ({why}); the conflict and both signed checkpoints are recorded, and exchanges with that party are stopped"
    )]
    Conflict {
        /// The peer log's origin.
        origin: String,
        /// What contradicts what.
        why: String,
    },
    /// The peer reports that this node's log conflicts with what it cosigned.
    #[error("CONFLICT reported by the peer: {0}")]
    ConflictReported(String),
    /// The peer refused for another reason.
    #[error("the peer refused: {0}")]
    Refused(String),
    /// The stream failed or carried something unexpected.
    #[error("witnessing exchange: {0}")]
    Stream(String),
    /// This node's log failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WireError> for WitnessingError {
    fn from(e: WireError) -> Self {
        Self::Stream(e.to_string())
    }
}

/// This node's latest checkpoint, offered with a consistency proof from `old_size`.
pub fn offer(log: &AuditLog, old_size: u64) -> Result<WitnessRequest, StoreError> {
    let note = log.checkpoint()?;
    let size = Checkpoint::from_text(note.text())
        .map_err(|e| StoreError::Corrupt(format!("own checkpoint: {e}")))?
        .size;
    let proof = if old_size == 0 || old_size > size {
        Vec::new()
    } else {
        log.consistency_proof(old_size, size)?
    };
    Ok(WitnessRequest {
        v: 1,
        checkpoint: note.encode(),
        old_size,
        proof,
    })
}

/// What a witness answers an offer with.
#[derive(Debug)]
pub enum Answer {
    /// The cosigned note, or the size to prove from.
    Cosigned(Cosigned),
    /// A fork, recorded; the explanation.
    Conflict(String),
}

/// Answers a peer's offer as its witness. `second` is true for the offer made again after a
/// `Cosigned` without a note.
pub fn answer(
    me: &Me<'_>,
    peer: &PeerKeys,
    offer: &WitnessRequest,
    second: bool,
    now: u64,
) -> Result<Answer, WitnessingError> {
    let origin = peer.log.name().to_owned();
    let last = me.log.peer_checkpoint(&origin)?;
    let last_size = last.as_ref().map_or(0, |w| w.checkpoint.size);
    let need = |size| {
        Answer::Cosigned(Cosigned {
            v: 1,
            note: None,
            cosigned_size: size,
        })
    };
    if let Some(l) = &last
        && offer.old_size != last_size
    {
        let offered = Checkpoint::open(offer.checkpoint.as_bytes(), &peer.log)
            .map(|(c, _)| c)
            .map_err(|e| WitnessingError::Refused(format!("the offered checkpoint: {e}")))?;
        if offered.size == last_size && offered.root != l.checkpoint.root {
            // A signed checkpoint of the size cosigned with another root is a fork whatever
            // size the offer claims to prove from: the store records it (the proof is not
            // consulted for a same-size fork).
            return match me.log.witness_peer(
                offer.checkpoint.as_bytes(),
                &[],
                &peer.log,
                me.witness,
                me.actor.clone(),
                now,
            ) {
                Err(PeerError::Refused(WitnessError::Conflict(_))) => Ok(Answer::Conflict(
                    "a signed checkpoint of the size cosigned, with another root".into(),
                )),
                Err(PeerError::Store(e)) => Err(e.into()),
                Err(e) => Err(WitnessingError::Refused(e.to_string())),
                Ok(_) => Err(WitnessingError::Refused(
                    "the store cosigned a checkpoint that differs from the one cosigned".into(),
                )),
            };
        }
        if second && offered.size < last_size {
            return rollback(me, &origin, last.as_ref(), offer, now);
        }
        return Ok(need(last_size));
    }
    // The size the proof starts from is checked again under the store's write lock: another
    // exchange with the same peer may cosign in between, and its newer state is no fork.
    let from = last.as_ref().map(|_| offer.old_size);
    match me.log.witness_peer_from(
        offer.checkpoint.as_bytes(),
        from,
        &offer.proof,
        &peer.log,
        me.witness,
        me.actor.clone(),
        now,
    ) {
        Ok(note) => {
            let size = Checkpoint::from_text(note.text())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .size;
            Ok(Answer::Cosigned(Cosigned {
                v: 1,
                note: Some(note.encode()),
                cosigned_size: size,
            }))
        }
        Err(PeerError::Refused(WitnessError::Conflict(_))) => Ok(Answer::Conflict(
            "a signed checkpoint of the size cosigned, with another root".into(),
        )),
        Err(PeerError::Refused(WitnessError::Stale { cosigned_size })) => {
            if second {
                rollback(me, &origin, last.as_ref(), offer, now)
            } else {
                Ok(need(cosigned_size))
            }
        }
        Err(PeerError::Refused(WitnessError::BadProof(e))) => {
            // The proof starts from exactly the size this node cosigned and still fails: the
            // offered tree does not contain the one cosigned.
            if let Some(last) = &last {
                me.log.record_conflict(
                    &origin,
                    &last.note.encode(),
                    &offer.checkpoint,
                    me.actor.clone(),
                    now,
                )?;
            }
            Ok(Answer::Conflict(format!(
                "the checkpoint offered does not extend the one cosigned: {e}"
            )))
        }
        Err(PeerError::Moved { cosigned_size }) => Ok(need(cosigned_size)),
        Err(PeerError::Refused(e)) => Err(WitnessingError::Refused(e.to_string())),
        Err(PeerError::Store(e)) => Err(e.into()),
    }
}

fn rollback(
    me: &Me<'_>,
    origin: &str,
    last: Option<&evx_protocol::note::witness::Witnessed>,
    offer: &WitnessRequest,
    now: u64,
) -> Result<Answer, WitnessingError> {
    if let Some(last) = last {
        me.log.record_conflict(
            origin,
            &last.note.encode(),
            &offer.checkpoint,
            me.actor.clone(),
            now,
        )?;
    }
    Ok(Answer::Conflict(
        "its latest checkpoint is smaller than one already cosigned: the log was rolled back"
            .into(),
    ))
}

/// Records the peer's cosignature of this node's checkpoint.
pub fn record(me: &Me<'_>, peer: &PeerKeys, cosigned: &str) -> Result<u64, WitnessingError> {
    let note = Note::parse(cosigned.as_bytes())
        .map_err(|e| WitnessingError::Refused(format!("the cosigned note: {e}")))?;
    let size = Checkpoint::from_text(note.text())
        .map_err(|e| WitnessingError::Refused(format!("the cosigned note: {e}")))?
        .size;
    me.log.record_cosignature(size, &note, &peer.witness)?;
    Ok(size)
}

fn conflict(origin: &str, why: String) -> WitnessingError {
    WitnessingError::Conflict {
        origin: origin.to_owned(),
        why,
    }
}

/// Stops here if a conflict with the peer is recorded.
pub fn check_no_conflict(log: &AuditLog, peer: &PeerKeys) -> Result<(), WitnessingError> {
    if log.has_conflict(peer.log.name())? {
        return Err(conflict(
            peer.log.name(),
            "recorded earlier; see `evx status`".into(),
        ));
    }
    Ok(())
}

async fn expect_cosigned(recv: &mut quinn::RecvStream) -> Result<Cosigned, WitnessingError> {
    match read_message(recv).await? {
        Some(Message::Cosigned(c)) => Ok(c),
        Some(Message::Error(r)) if r.code() == ErrorReport::CONFLICT => {
            Err(WitnessingError::ConflictReported(r.message().to_owned()))
        }
        Some(Message::Error(r)) => Err(WitnessingError::Refused(r.message().to_owned())),
        other => Err(WitnessingError::Stream(format!(
            "expected a cosigned checkpoint, got {}",
            other.map_or("the end of the stream".into(), |m| format!(
                "{:?}",
                m.to_frame().kind()
            ))
        ))),
    }
}

async fn expect_offer(
    recv: &mut quinn::RecvStream,
) -> Result<Option<WitnessRequest>, WitnessingError> {
    match read_message(recv).await? {
        Some(Message::WitnessRequest(w)) => Ok(Some(w)),
        None => Ok(None),
        Some(Message::Error(r)) if r.code() == ErrorReport::CONFLICT => {
            Err(WitnessingError::ConflictReported(r.message().to_owned()))
        }
        Some(Message::Error(r)) => Err(WitnessingError::Refused(r.message().to_owned())),
        Some(m) => Err(WitnessingError::Stream(format!(
            "expected a witness request, got {:?}",
            m.to_frame().kind()
        ))),
    }
}

/// Offers this node's checkpoint (and once more with the proof the witness asks for).
async fn offer_ours(
    me: &Me<'_>,
    peer: &PeerKeys,
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
) -> Result<Option<u64>, WitnessingError> {
    let first = blocking(|| {
        let believed = me.log.cosigned_size(peer.witness.name())?;
        offer(me.log, believed)
    })?;
    write_message(send, &Message::WitnessRequest(first)).await?;
    let mut answer = expect_cosigned(recv).await?;
    if answer.note.is_none() {
        let again = blocking(|| offer(me.log, answer.cosigned_size))?;
        write_message(send, &Message::WitnessRequest(again)).await?;
        answer = expect_cosigned(recv).await?;
    }
    match answer.note {
        Some(note) => Ok(Some(blocking(|| record(me, peer, &note))?)),
        None => Ok(None),
    }
}

/// Answers the peer's offer (and its second offer, if asked for). Returns the size cosigned.
async fn witness_theirs(
    me: &Me<'_>,
    peer: &PeerKeys,
    first: WitnessRequest,
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
    now: u64,
) -> Result<Option<u64>, WitnessingError> {
    let mut offer = first;
    for second in [false, true] {
        match blocking(|| answer(me, peer, &offer, second, now))? {
            Answer::Cosigned(c) => {
                let done = c.note.is_some() || second;
                let size = c.note.as_ref().map(|_| c.cosigned_size);
                write_message(send, &Message::Cosigned(c)).await?;
                if done {
                    return Ok(size);
                }
            }
            Answer::Conflict(why) => {
                let _ = write_message(
                    send,
                    &Message::Error(ErrorReport::new(ErrorReport::CONFLICT, &why)),
                )
                .await;
                let _ = send.finish();
                return Err(conflict(peer.log.name(), why));
            }
        }
        offer = expect_offer(recv)
            .await?
            .ok_or_else(|| WitnessingError::Stream("the peer did not offer again".into()))?;
    }
    Ok(None)
}

/// The side that opened the stream: offers first, then witnesses the peer's offer.
pub async fn initiate(
    me: &Me<'_>,
    peer: &PeerKeys,
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
    now: u64,
) -> Result<Report, WitnessingError> {
    blocking(|| check_no_conflict(me.log, peer))?;
    let ours_cosigned = offer_ours(me, peer, send, recv).await?;
    let theirs = expect_offer(recv)
        .await?
        .ok_or_else(|| WitnessingError::Stream("the peer offered no checkpoint".into()))?;
    let theirs_cosigned = witness_theirs(me, peer, theirs, send, recv, now).await?;
    let _ = send.finish();
    // The peer ends its side once it has recorded this node's cosignature (or reports why
    // it could not).
    match read_message(recv).await? {
        None => {}
        Some(Message::Error(r)) => return Err(WitnessingError::Refused(r.message().to_owned())),
        Some(m) => {
            return Err(WitnessingError::Stream(format!(
                "expected the end of the stream, got {:?}",
                m.to_frame().kind()
            )));
        }
    }
    Ok(Report {
        ours_cosigned,
        theirs_cosigned,
    })
}

/// The side that accepted the stream, whose first message was `first`: witnesses the peer's
/// offer, then offers its own.
pub async fn respond(
    me: &Me<'_>,
    peer: &PeerKeys,
    first: WitnessRequest,
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
    now: u64,
) -> Result<Report, WitnessingError> {
    if let Err(e) = blocking(|| check_no_conflict(me.log, peer)) {
        let _ = write_message(
            send,
            &Message::Error(ErrorReport::new(ErrorReport::CONFLICT, &e.to_string())),
        )
        .await;
        let _ = send.finish();
        return Err(e);
    }
    let theirs_cosigned = witness_theirs(me, peer, first, send, recv, now).await?;
    let ours_cosigned = match offer_ours(me, peer, send, recv).await {
        Ok(size) => size,
        Err(e) => {
            let _ = write_message(
                send,
                &Message::Error(ErrorReport::new(ErrorReport::UNAVAILABLE, &e.to_string())),
            )
            .await;
            let _ = send.finish();
            return Err(e);
        }
    };
    let _ = send.finish();
    Ok(Report {
        ours_cosigned,
        theirs_cosigned,
    })
}
