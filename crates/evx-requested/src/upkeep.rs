//! Work the requested node finishes on a later pass when it could not finish it at once.
//!
//! A decision is recorded (stored, signed, logged) before it is carried out, and it stands
//! whatever happens next: if collecting and sealing the evidence or placing a hold fails — the
//! dataset unreadable for a moment, a full disk — the failure is recorded with the request
//! (`evx received show` says why) and tried again every [`RETRY_SECS`] seconds, instead of
//! leaving an accepted request without its evidence and the requesting party without its
//! decision. Likewise a withdrawal stored but not yet logged (a crash in between) is logged by
//! the next pass, and files that must go — a delivered package once its receipt is recorded,
//! the packages of a withdrawn request, the copy kept by an ended hold — are removed again by
//! a sweep if the first attempt failed.

use std::sync::atomic::Ordering;

use evx_protocol::audit::EventKind;
use evx_protocol::document::{Decision, EvidenceRequest, Signed, Withdrawal};
use evx_protocol::ids::{RequestId, UnixTime};
use evx_protocol::purpose::Conditions;
use rusqlite::params;

use crate::server::{Desk, Refusal, released};

/// Seconds between two attempts at carrying out a decision.
pub(crate) const RETRY_SECS: u64 = 60;

/// Seconds between two sweeps for files that should have been removed.
const SWEEP_SECS: u64 = 60;

/// Decisions carried out on this attempt, and those that failed again with why.
pub(crate) type Retried = (Vec<RequestId>, Vec<(RequestId, String)>);

/// A request whose execution is pending: id, signed request, signed decision.
type PendingRow = (Vec<u8>, Vec<u8>, Option<Vec<u8>>);

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

fn request_id(bytes: Vec<u8>) -> Result<RequestId, Refusal> {
    Ok(RequestId(
        bytes
            .try_into()
            .map_err(|_| unavailable("bad request id"))?,
    ))
}

impl Desk {
    /// Carries out a released decision; if that fails, records why and when to try again.
    /// Only a failure to record is an error: the decision itself stands.
    pub(crate) fn execute_or_retry(
        &self,
        granted: &EvidenceRequest,
        decision: &Decision,
        conditions: &Conditions,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let outcome = self.execute(granted, decision, conditions, now);
        let db = self.db().lock().map_err(unavailable)?;
        match outcome {
            Ok(()) => db.execute(
                "UPDATE requests SET execution_due = NULL, package_error = NULL WHERE request_id = ?1",
                params![granted.request_id.0.as_slice()],
            ),
            Err(e) => db.execute(
                "UPDATE requests SET package_error = ?2, execution_due = ?3 WHERE request_id = ?1",
                params![
                    granted.request_id.0.as_slice(),
                    e.to_string(),
                    now.plus_secs(RETRY_SECS).0 as i64
                ],
            ),
        }
        .map_err(unavailable)?;
        Ok(())
    }

    /// Tries again every decision whose execution failed and is due for another attempt.
    /// Returns those carried out now, and those that failed again with why.
    pub(crate) fn retry_executions(&self, now: UnixTime) -> Result<Retried, Refusal> {
        let due: Vec<PendingRow> = {
            let db = self.db().lock().map_err(unavailable)?;
            let mut stmt = db
                .prepare(
                    "SELECT request_id, request, decision FROM requests WHERE execution_due IS NOT NULL \
                     AND execution_due <= ?1 AND withdrawal IS NULL",
                )
                .map_err(unavailable)?;
            stmt.query_map(params![now.0 as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(unavailable)?
            .collect::<Result<_, _>>()
            .map_err(unavailable)?
        };
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        for (id, request, decision) in due {
            let id = request_id(id)?;
            let signed = Signed::<EvidenceRequest>::decode_owned(request).map_err(unavailable)?;
            // Verified when it arrived; only decoded again.
            let request: EvidenceRequest =
                evx_protocol::canonical::decode("evidence request", signed.document_bytes())
                    .map_err(unavailable)?;
            let decision = decision
                .ok_or_else(|| unavailable(format!("request {id} has no decision to carry out")))
                .and_then(|d| Signed::<Decision>::decode_owned(d).map_err(unavailable))?
                .verify(&self.documents_key())
                .map_err(unavailable)?;
            let Some((granted, conditions)) = released(&request, &decision) else {
                let db = self.db().lock().map_err(unavailable)?;
                db.execute(
                    "UPDATE requests SET execution_due = NULL WHERE request_id = ?1",
                    params![id.0.as_slice()],
                )
                .map_err(unavailable)?;
                continue;
            };
            self.execute_or_retry(&granted, &decision, &conditions, now)?;
            let error: Option<(Option<i64>, Option<String>)> = {
                let db = self.db().lock().map_err(unavailable)?;
                db.query_row(
                    "SELECT execution_due, package_error FROM requests WHERE request_id = ?1",
                    params![id.0.as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map(Some)
                .map_err(unavailable)?
            };
            match error {
                Some((Some(_), why)) => failed.push((id, why.unwrap_or_default())),
                _ => done.push(id),
            }
        }
        Ok((done, failed))
    }

    /// Deletes a withdrawn request's packages and logs the withdrawal, then marks it logged.
    pub(crate) fn finish_withdrawal(
        &self,
        id: RequestId,
        withdrawal: &Signed<Withdrawal>,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        // The sealed packages are never delivered now.
        for path in self.package_paths(&id)? {
            remove_file(&path);
        }
        self.audit()
            .append(
                &self.event(
                    "deadlines",
                    EventKind::Withdrawn {
                        withdrawal_digest: withdrawal.digest(),
                        data_unusable: true,
                    },
                    id,
                    now,
                ),
                vec![],
            )
            .map_err(unavailable)?;
        let db = self.db().lock().map_err(unavailable)?;
        db.execute(
            "UPDATE requests SET withdrawal_logged = 1 WHERE request_id = ?1",
            params![id.0.as_slice()],
        )
        .map_err(unavailable)?;
        Ok(())
    }

    /// Logs every withdrawal stored but not logged (the node stopped in between).
    pub(crate) fn finish_withdrawals(&self, now: UnixTime) -> Result<(), Refusal> {
        let pending: Vec<(Vec<u8>, Vec<u8>)> = {
            let db = self.db().lock().map_err(unavailable)?;
            let mut stmt = db
                .prepare(
                    "SELECT request_id, withdrawal FROM requests \
                     WHERE withdrawal IS NOT NULL AND withdrawal_logged = 0",
                )
                .map_err(unavailable)?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)?
        };
        for (id, withdrawal) in pending {
            let withdrawal = Signed::<Withdrawal>::decode_owned(withdrawal).map_err(unavailable)?;
            self.finish_withdrawal(request_id(id)?, &withdrawal, now)?;
        }
        Ok(())
    }

    /// The sealed packages recorded for a request.
    fn package_paths(&self, id: &RequestId) -> Result<Vec<String>, Refusal> {
        let db = self.db().lock().map_err(unavailable)?;
        let mut stmt = db
            .prepare("SELECT path FROM packages WHERE request_id = ?1")
            .map_err(unavailable)?;
        stmt.query_map(params![id.0.as_slice()], |r| r.get(0))
            .map_err(unavailable)?
            .collect::<Result<_, _>>()
            .map_err(unavailable)
    }

    /// Removes, at most once a minute, what should be gone and is still there: delivered
    /// packages (their receipt recorded), the packages of withdrawn requests, and the copies
    /// of ended holds.
    pub(crate) fn remove_leftovers(&self, now: UnixTime) -> Result<(), Refusal> {
        let last = self.swept_at().load(Ordering::Relaxed);
        if last != 0 && now.0 < last.saturating_add(SWEEP_SECS) {
            return Ok(());
        }
        self.swept_at().store(now.0.max(1), Ordering::Relaxed);
        let (files, dirs): (Vec<String>, Vec<String>) = {
            let db = self.db().lock().map_err(unavailable)?;
            let files = db
                .prepare(
                    "SELECT p.path FROM packages p JOIN requests r ON r.request_id = p.request_id \
                     WHERE p.receipt IS NOT NULL OR r.withdrawal IS NOT NULL",
                )
                .map_err(unavailable)?
                .query_map([], |r| r.get(0))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)?;
            let dirs = db
                .prepare("SELECT dir FROM holds WHERE ended_at IS NOT NULL AND dir IS NOT NULL")
                .map_err(unavailable)?
                .query_map([], |r| r.get(0))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)?;
            (files, dirs)
        };
        for f in files {
            remove_file(&f);
        }
        for d in dirs {
            if std::path::Path::new(&d).exists() {
                let _ = std::fs::remove_dir_all(&d);
            }
        }
        Ok(())
    }
}

/// Removes a file if it is there; a failure is left to the next sweep.
fn remove_file(path: &str) {
    if std::path::Path::new(path).exists() {
        let _ = std::fs::remove_file(path);
    }
}
