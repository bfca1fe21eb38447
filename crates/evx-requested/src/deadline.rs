//! Deadlines the requested node enforces itself: the judicial validation of an emergency
//! request executed without one.
//!
//! Reg. (EU) 2023/1543 Art. 4(5) lets a non-judicial authority order subscriber and
//! identification data in an emergency, provided a judge validates the order afterwards; the
//! agreement sets the time (48 h in the EU example), and the decision carries it as
//! `due.validation_by`. A validation that arrives in time ([`Desk::validate`]) is recorded. If
//! none has arrived when the time is up, the node withdraws the request on its next pass: a
//! signed `Withdrawal` declaring delivered data unusable, logged as `withdrawn`; a package not
//! yet delivered is deleted; the requesting party receives the withdrawal with its next status
//! or fetch, logs it, and can no longer open the data.

use evx_protocol::audit::EventKind;
use evx_protocol::document::{
    EvidenceRequest, JudicialValidation, Signed, Withdrawal, WithdrawalReason,
};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::policy::KeyRole;
use rusqlite::{OptionalExtension as _, params};

use crate::server::{Desk, Refusal};

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

impl Desk {
    /// Takes in a judicial validation sent after its request: it must be signed by a judicial
    /// authority of the requesting party the registry lists, bound to the request exactly as
    /// received, and arrive before the request was withdrawn.
    pub fn validate(
        &self,
        from: &PartyId,
        signed: &Signed<JudicialValidation>,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let registry = self.registry().policy_registry();
        let key = registry
            .get(&signed.signer())
            .filter(|k| matches!(k.role, KeyRole::JudicialAuthority { .. }) && &k.party == from)
            .ok_or_else(|| Refusal::BadSignature(from.clone()))?;
        let validation = signed
            .verify(&key.key)
            .map_err(|_| Refusal::BadSignature(from.clone()))?;
        // The same checks as a validation sent with the request (policy rule R03a): the type
        // the document claims is the one the registry lists for its key.
        let KeyRole::JudicialAuthority { authority_type, .. } = &key.role else {
            return Err(Refusal::BadSignature(from.clone()));
        };
        if validation.authority_type != *authority_type {
            return Err(Refusal::Mismatch(format!(
                "the validation claims type {}; the registry lists its key as {}",
                validation.authority_type.as_str(),
                authority_type.as_str()
            )));
        }
        let id = validation.request_id;
        let not_found = || Refusal::NotFound(format!("no request {id} from {from} is known here"));
        type Row = (String, Vec<u8>, Option<Vec<u8>>, Option<i64>);
        let row: Option<Row> = {
            let db = self.db().lock().map_err(unavailable)?;
            db.query_row(
                "SELECT party, request, withdrawal, validation_by FROM requests \
                 WHERE request_id = ?1",
                params![id.0.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(unavailable)?
        };
        let Some((party, request, withdrawal, validation_by)) = row else {
            return Err(not_found());
        };
        if party != from.as_str() {
            return Err(not_found());
        }
        if withdrawal.is_some() {
            return Err(Refusal::Mismatch(format!(
                "request {id} was withdrawn already: its validation did not arrive in time"
            )));
        }
        let Some(due) = validation_by.map(|t| UnixTime(t as u64)) else {
            return Err(Refusal::Mismatch(format!(
                "request {id} awaits no judicial validation (it had one, or needed none)"
            )));
        };
        if now > due {
            // The node's next pass withdraws it; a validation after the time does not save it
            // (Reg. (EU) 2023/1543 Art. 4(5)), even if that pass has not run yet.
            return Err(Refusal::Mismatch(format!(
                "request {id}'s validation was due by {due}; it arrived at {now}, too late, and the request is withdrawn"
            )));
        }
        let signed_request =
            Signed::<EvidenceRequest>::decode_owned(request).map_err(unavailable)?;
        if validation.request_digest != signed_request.digest() {
            return Err(Refusal::Mismatch(
                "the validation is bound to other bytes than the request received".into(),
            ));
        }
        // The validator must be one the agreement accepts for every category its issuer could
        // not order alone.
        // Its signature was checked at intake; the stored bytes are only decoded again.
        let request: EvidenceRequest =
            evx_protocol::canonical::decode("evidence request", signed_request.document_bytes())
                .map_err(unavailable)?;
        let agreement = self.agreement();
        for &category in &request.categories {
            let rule = agreement.categories.rule(category);
            if !rule.issuers.contains(&request.issuer.authority_type)
                && !rule.validators.contains(authority_type)
            {
                return Err(Refusal::Mismatch(format!(
                    "a {} may not validate an order for {category:?} data under agreement {}",
                    authority_type.as_str(),
                    agreement.id
                )));
            }
        }
        {
            let db = self.db().lock().map_err(unavailable)?;
            let changed = db
                .execute(
                    "UPDATE requests SET validation = ?2, validation_by = NULL \
                     WHERE request_id = ?1 AND withdrawal IS NULL AND validation_by IS NOT NULL",
                    params![id.0.as_slice(), signed.encode()],
                )
                .map_err(unavailable)?;
            if changed == 0 {
                return Err(Refusal::Mismatch(format!(
                    "request {id} was withdrawn or validated meanwhile"
                )));
            }
        }
        self.audit()
            .append(
                &self.event(
                    "intake",
                    EventKind::ValidationReceived {
                        validation_digest: signed.digest(),
                    },
                    id,
                    now,
                ),
                vec![],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    /// Withdraws every request whose judicial validation is overdue at `now`; returns them.
    pub(crate) fn withdraw_unvalidated(&self, now: UnixTime) -> Result<Vec<RequestId>, Refusal> {
        let overdue: Vec<(Vec<u8>, Option<String>)> = {
            let db = self.db().lock().map_err(unavailable)?;
            let mut stmt = db
                .prepare(
                    "SELECT request_id, package FROM requests WHERE validation_by IS NOT NULL \
                     AND validation_by < ?1 AND withdrawal IS NULL",
                )
                .map_err(unavailable)?;
            stmt.query_map(params![now.0 as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)?
        };
        let mut out = Vec::new();
        for (id, package) in overdue {
            let id = RequestId(id.try_into().map_err(|_| unavailable("bad request id"))?);
            let withdrawal = self
                .sign(&Withdrawal {
                    v: 1,
                    request_id: id,
                    withdrawn_at: now,
                    reason: WithdrawalReason::ValidationNotReceived,
                    data_unusable: true,
                })
                .map_err(unavailable)?;
            {
                let db = self.db().lock().map_err(unavailable)?;
                db.execute(
                    "UPDATE requests SET withdrawal = ?2, withdrawal_logged = 0, package = NULL, \
                     execution_due = NULL WHERE request_id = ?1",
                    params![id.0.as_slice(), withdrawal.encode()],
                )
                .map_err(unavailable)?;
            }
            if let Some(p) = package {
                let _ = std::fs::remove_file(p);
            }
            // Logged (and its packages deleted) by the same step a crash would leave to the
            // next pass.
            self.finish_withdrawal(id, &withdrawal, now)?;
            out.push(id);
        }
        Ok(out)
    }
}
