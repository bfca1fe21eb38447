//! Witnessing a peer's log, with the state kept in the node's store.

use evx_protocol::audit::{Actor, Event, EventKind};
use evx_protocol::crypto::sha256_parts;
use evx_protocol::ids::UnixTime;
use evx_protocol::merkle::Hash;
use evx_protocol::note::checkpoint::Checkpoint;
use evx_protocol::note::witness::{Conflict, WitnessError, Witnessed, witness};
use evx_protocol::note::{Note, NoteSigner, NoteVerifier};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{AuditLog, StoreError, sql, store};

/// Why a peer's checkpoint was not cosigned.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The witnessing rules refused it (see [`WitnessError`]); a conflict has been recorded.
    #[error(transparent)]
    Refused(#[from] WitnessError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The proof starts from a size this node no longer holds as the last cosigned (another
    /// exchange with the same peer cosigned meanwhile): prove from `cosigned_size` instead.
    #[error("the proof starts from another size than the {cosigned_size} cosigned now")]
    Moved {
        /// The size cosigned now.
        cosigned_size: u64,
    },
}

impl AuditLog {
    /// The peer's checkpoint last cosigned, if any.
    pub fn peer_checkpoint(&self, origin: &str) -> Result<Option<Witnessed>, StoreError> {
        self.read(|c| load(c, origin))
    }

    /// The conflicts recorded with peers, as (origin, time, cosigned note, offered note).
    pub fn conflicts(&self) -> Result<Vec<(String, u64, String, String)>, StoreError> {
        self.read(|c| {
            let mut stmt = c
                .prepare("SELECT origin, detected_at, cosigned, offered FROM conflicts ORDER BY id")
                .map_err(sql("read conflicts"))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(sql("read conflicts"))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(sql("read conflicts"))
        })
    }

    /// The largest size of this log that `witness` (by key name) has cosigned; 0 if none.
    pub fn cosigned_size(&self, witness: &str) -> Result<u64, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(size), 0) FROM cosignatures WHERE witness = ?1",
                params![witness],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(sql("read cosignatures"))
        })
    }

    /// Whether a conflict with the peer log `origin` is recorded: exchanges with it stop.
    pub fn has_conflict(&self, origin: &str) -> Result<bool, StoreError> {
        Ok(self.conflicts()?.iter().any(|(o, ..)| o == origin))
    }

    /// Records that the peer log `origin` conflicts with what this node cosigned: `cosigned`
    /// is the checkpoint cosigned before and `offered` the one that contradicts it (both
    /// signed notes). The same conflict is recorded once; `conflict_detected` is logged.
    pub fn record_conflict(
        &self,
        origin: &str,
        cosigned: &str,
        offered: &str,
        actor: Actor,
        now: u64,
    ) -> Result<(), StoreError> {
        let conn = store::open(&self.dir.join(super::DB_FILE))?;
        let new = conn
            .execute(
                "INSERT OR IGNORE INTO conflicts (origin, detected_at, cosigned, offered) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![origin, now as i64, cosigned, offered],
            )
            .map_err(sql("record a conflict"))?
            == 1;
        if new {
            self.append(
                &event(
                    actor,
                    now,
                    EventKind::ConflictDetected {
                        origin: origin.to_owned(),
                        proof_digest: sha256_parts(&[cosigned.as_bytes(), offered.as_bytes()]),
                    },
                ),
                vec![],
            )?;
        }
        Ok(())
    }

    /// Witnesses a peer's checkpoint: in one immediate (write-locked) transaction, reads the
    /// last cosigned state for that log, applies the witnessing rules and stores the new state,
    /// so that two concurrent calls cannot both cosign against the same old state. Then records
    /// `checkpoint_cosigned` in this node's own log and returns the cosigned note to send back.
    /// A fork is stored (both signed checkpoints) and recorded as `conflict_detected`.
    pub fn witness_peer(
        &self,
        offered: &[u8],
        proof: &[Hash],
        peer_log: &NoteVerifier,
        me: &NoteSigner,
        actor: Actor,
        now: u64,
    ) -> Result<Note, PeerError> {
        self.witness_peer_from(offered, None, proof, peer_log, me, actor, now)
    }

    /// As [`AuditLog::witness_peer`], for a proof made from the size `from` (the size the peer
    /// was told this node cosigned). If another exchange has moved the state since, the proof
    /// is not checked against the new state — a proof from an older size would fail and look
    /// like a fork — and [`PeerError::Moved`] says which size to prove from instead.
    #[allow(clippy::too_many_arguments)]
    pub fn witness_peer_from(
        &self,
        offered: &[u8],
        from: Option<u64>,
        proof: &[Hash],
        peer_log: &NoteVerifier,
        me: &NoteSigner,
        actor: Actor,
        now: u64,
    ) -> Result<Note, PeerError> {
        if self.is_read_only() {
            return Err(StoreError::Closed.into());
        }
        let mut conn = store::open(&self.dir.join(super::DB_FILE))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("lock the witness state"))?;
        let last = load(&tx, peer_log.name())?;
        let stored = last.as_ref().map_or(0, |w| w.checkpoint.size);
        if let Some(from) = from
            && from != stored
        {
            return Err(PeerError::Moved {
                cosigned_size: stored,
            });
        }
        match witness(last.as_ref(), offered, proof, peer_log, me, now) {
            Ok(w) => {
                tx.execute(
                    "INSERT OR REPLACE INTO peer_checkpoints (origin, size, note, cosigned_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        w.checkpoint.origin,
                        w.checkpoint.size as i64,
                        w.note.encode(),
                        w.cosigned_at as i64
                    ],
                )
                .map_err(sql("store the witness state"))?;
                tx.commit().map_err(sql("commit the witness state"))?;
                self.append(
                    &event(
                        actor,
                        now,
                        EventKind::CheckpointCosigned {
                            origin: w.checkpoint.origin.clone(),
                            size: w.checkpoint.size,
                            root: w.checkpoint.root,
                        },
                    ),
                    vec![],
                )?;
                Ok(w.note)
            }
            Err(WitnessError::Conflict(c)) => {
                drop(tx);
                let Conflict { cosigned, offered } = &*c;
                // Whatever happens to the record, the caller learns of the conflict.
                let _ = self.record_conflict(peer_log.name(), cosigned, offered, actor, now);
                Err(WitnessError::Conflict(c).into())
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn event(actor: Actor, now: u64, kind: EventKind) -> Event {
    Event {
        v: 1,
        at: UnixTime(now),
        actor,
        kind,
        request: None,
        case: None,
        purpose: None,
        subjects: Vec::new(),
    }
}

fn load(conn: &rusqlite::Connection, origin: &str) -> Result<Option<Witnessed>, StoreError> {
    let row: Option<(String, i64)> = conn
        .query_row(
            "SELECT note, cosigned_at FROM peer_checkpoints WHERE origin = ?1",
            params![origin],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql("read the witness state"))?;
    row.map(|(text, at)| {
        let note = Note::parse(text.as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("witness state for {origin}: {e}")))?;
        let checkpoint = Checkpoint::from_text(note.text())
            .map_err(|e| StoreError::Corrupt(format!("witness state for {origin}: {e}")))?;
        Ok(Witnessed {
            checkpoint,
            note,
            cosigned_at: at as u64,
        })
    })
    .transpose()
}
