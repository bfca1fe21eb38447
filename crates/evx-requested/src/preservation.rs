//! Preservation holds: the records an accepted preservation request covers are copied aside and
//! kept until the hold ends, whatever the source does with them.
//!
//! A hold is placed when a preservation request is accepted (by the engine or after review):
//! the matching records are copied into `DATA_DIR/holds/<request id>/`, itself a provider
//! dataset, and the hold runs until the decision's `preserve_until` (the agreement's initial
//! period). An `Extension` document from the requesting party extends it, as many times and by
//! as much as the agreement allows (`policy::extend`), answered with a signed
//! `PreservationConfirmation`. A production request citing the preservation
//! (`preservation_ref`) is collected from the preserved copy, which releases the hold. A hold
//! that reaches its end unreleased is deleted on the node's next pass and logged.

use std::path::PathBuf;

use evx_protocol::audit::{Event, EventKind};
use evx_protocol::document::{EvidenceRequest, Extension, PreservationConfirmation, Signed};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::policy::{self, Verdict};
use rusqlite::{OptionalExtension as _, params};

use crate::server::{Desk, Refusal};

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

/// An active hold, as a production request finds it.
pub(crate) struct ActiveHold {
    /// The preserved copy (a dataset), if a dataset was configured when it was placed.
    pub(crate) dir: Option<PathBuf>,
}

type HoldRow = (String, i64, i64, i64, Option<String>);

impl Desk {
    /// An event about one request, by the node's `by` (no case, purpose or subjects).
    pub(crate) fn event(
        &self,
        by: &str,
        kind: EventKind,
        request: RequestId,
        now: UnixTime,
    ) -> Event {
        Event {
            v: 1,
            at: now,
            actor: self.actor(by),
            kind,
            request: Some(request),
            case: None,
            purpose: None,
            subjects: Vec::new(),
        }
    }

    /// Places the hold of an accepted preservation request, until `until`.
    pub(crate) fn place_hold(
        &self,
        request: &EvidenceRequest,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let (dir, records) = match self.dataset() {
            Some(source) => {
                let dir = self
                    .data_dir()
                    .join("holds")
                    .join(request.request_id.to_string());
                let counts = crate::dataset::preserve(source, request, &dir)
                    .map_err(|e| unavailable(format!("preserving the records: {e}")))?;
                (Some(dir), counts.records())
            }
            None => (None, 0),
        };
        {
            let db = self.db().lock().map_err(unavailable)?;
            db.execute(
                "INSERT OR IGNORE INTO holds (request_id, party, placed_at, expires_at, records, dir) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    request.request_id.0.as_slice(),
                    request.requesting_party.as_str(),
                    now.0 as i64,
                    until.0 as i64,
                    records as i64,
                    dir.as_ref().map(|d| d.display().to_string())
                ],
            )
            .map_err(unavailable)?;
        }
        self.audit()
            .append(
                &self.event(
                    "preservation",
                    EventKind::PreservationPlaced {
                        expires_at: until,
                        records,
                    },
                    request.request_id,
                    now,
                ),
                vec![],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    fn hold(&self, id: &RequestId) -> Result<Option<HoldRow>, Refusal> {
        let db = self.db().lock().map_err(unavailable)?;
        db.query_row(
            "SELECT party, expires_at, extensions, records, dir FROM holds \
             WHERE request_id = ?1 AND ended_at IS NULL",
            params![id.0.as_slice()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(unavailable)
    }

    /// The active hold of the preservation request `id` made by `party`, if any.
    pub(crate) fn active_hold(
        &self,
        party: &PartyId,
        id: &RequestId,
        now: UnixTime,
    ) -> Result<Option<ActiveHold>, Refusal> {
        Ok(self
            .hold(id)?
            .filter(|(p, expires, ..)| p == party.as_str() && (*expires as u64) >= now.0)
            .map(|(.., dir)| ActiveHold {
                dir: dir.map(PathBuf::from),
            }))
    }

    /// Releases a hold: a production request citing it was executed from its copy.
    pub(crate) fn release_hold(
        &self,
        id: &RequestId,
        by: RequestId,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        // Logged first: a crash before the hold is marked ended logs it twice, never not at
        // all. The copy is deleted last; a failed deletion is retried by the node's sweep.
        self.audit()
            .append(
                &self.event(
                    "preservation",
                    EventKind::PreservationReleased { by },
                    *id,
                    now,
                ),
                vec![],
            )
            .map_err(unavailable)?;
        let dir = {
            let db = self.db().lock().map_err(unavailable)?;
            let dir: Option<Option<String>> = db
                .query_row(
                    "SELECT dir FROM holds WHERE request_id = ?1 AND ended_at IS NULL",
                    params![id.0.as_slice()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            db.execute(
                "UPDATE holds SET released_by = ?2, ended_at = ?3 WHERE request_id = ?1 \
                 AND ended_at IS NULL",
                params![id.0.as_slice(), by.0.as_slice(), now.0 as i64],
            )
            .map_err(unavailable)?;
            dir.flatten()
        };
        if let Some(d) = dir {
            let _ = std::fs::remove_dir_all(d);
        }
        Ok(())
    }

    /// Takes in an extension of a hold from `from`: granted within the agreement's limits and
    /// answered with a signed confirmation, or refused with the reason.
    pub fn extend_hold(
        &self,
        from: &PartyId,
        signed: &Signed<Extension>,
        now: UnixTime,
    ) -> Result<Signed<PreservationConfirmation>, Refusal> {
        let extension = self.verify_from(from, signed)?;
        let id = extension.preservation_ref;
        let not_found = || {
            Refusal::NotFound(format!(
                "no active preservation hold {id} of {from} is known here"
            ))
        };
        let Some((party, expires, used, records, _)) = self.hold(&id)? else {
            return Err(not_found());
        };
        if party != from.as_str() {
            return Err(not_found());
        }
        let hold = policy::Hold {
            request_id: id,
            expires_at: UnixTime(expires as u64),
            extensions_used: used as u32,
        };
        let outcome = policy::extend(self.agreement(), &hold, &extension, now);
        let Some(extended) = outcome
            .hold
            .filter(|_| outcome.result.verdict == Verdict::Pass)
        else {
            return Err(Refusal::Mismatch(format!(
                "extension refused: {}",
                outcome.result.explanation
            )));
        };
        {
            let db = self.db().lock().map_err(unavailable)?;
            db.execute(
                "UPDATE holds SET expires_at = ?2, extensions = ?3 WHERE request_id = ?1",
                params![
                    id.0.as_slice(),
                    extended.expires_at.0 as i64,
                    i64::from(extended.extensions_used)
                ],
            )
            .map_err(unavailable)?;
        }
        self.audit()
            .append(
                &self.event(
                    "preservation",
                    EventKind::PreservationExtended {
                        expires_at: extended.expires_at,
                    },
                    id,
                    now,
                ),
                vec![],
            )
            .map_err(unavailable)?;
        let remaining = self
            .agreement()
            .preservation
            .max_extensions
            .saturating_sub(extended.extensions_used);
        self.sign(&PreservationConfirmation {
            v: 1,
            request_id: id,
            preserved_at: now,
            expires_at: extended.expires_at,
            extensions_remaining: remaining,
            records_preserved: records as u64,
        })
        .map_err(unavailable)
    }

    /// Ends every hold whose time is up at `now`: its copy deleted, `preservation_expired`
    /// logged. Returns the holds ended.
    pub(crate) fn expire_holds(&self, now: UnixTime) -> Result<Vec<RequestId>, Refusal> {
        let due: Vec<(Vec<u8>, Option<String>)> = {
            let db = self.db().lock().map_err(unavailable)?;
            let mut stmt = db
                .prepare(
                    "SELECT request_id, dir FROM holds WHERE ended_at IS NULL AND expires_at < ?1",
                )
                .map_err(unavailable)?;
            stmt.query_map(params![now.0 as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)?
        };
        let mut out = Vec::new();
        for (id, dir) in due {
            let id = RequestId(id.try_into().map_err(|_| unavailable("bad request id"))?);
            // Logged, marked ended, then deleted (retried by the sweep), as for a release.
            self.audit()
                .append(
                    &self.event("preservation", EventKind::PreservationExpired, id, now),
                    vec![],
                )
                .map_err(unavailable)?;
            {
                let db = self.db().lock().map_err(unavailable)?;
                db.execute(
                    "UPDATE holds SET ended_at = ?2 WHERE request_id = ?1",
                    params![id.0.as_slice(), now.0 as i64],
                )
                .map_err(unavailable)?;
            }
            if let Some(d) = dir {
                let _ = std::fs::remove_dir_all(d);
            }
            out.push(id);
        }
        Ok(out)
    }
}
