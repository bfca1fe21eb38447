//! Consent requests: the requesting party asks to use delivered evidence for another purpose
//! or case, or to pass it on; a reviewer of the requested party decides.
//!
//! The request arrives signed on its own stream and is recorded (`consent_requested`). It
//! waits in the review queue; `evx review consent ID --grant|--refuse` signs a
//! `ConsentDecision` with the reviewer's key and leaves it in the store; the running node checks
//! it again, records it (`consent_decided`) and hands it to the requesting party with its next
//! status or fetch.

use evx_protocol::audit::{Event, EventKind};
use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{ConsentDecision, ConsentRequest, Outcome, Signed};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::policy::KeyRole;
use rusqlite::{OptionalExtension as _, params};

use crate::review::{ReviewQueue, ReviewQueueError};
use crate::server::{Desk, Refusal};

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

fn store(e: impl std::fmt::Display) -> ReviewQueueError {
    ReviewQueueError::Store(e.to_string())
}

/// A consent request waiting for a reviewer.
#[derive(Clone, Debug)]
pub struct PendingConsent {
    /// The signed consent request.
    pub signed: Signed<ConsentRequest>,
    /// The consent request.
    pub consent: ConsentRequest,
    /// Who asked.
    pub party: PartyId,
    /// When it arrived.
    pub received_at: UnixTime,
    /// A reviewer has decided; the node has yet to apply it.
    pub submitted: bool,
}

impl Desk {
    /// Takes in a consent request from `from` about one of its requests that was executed.
    pub fn receive_consent(
        &self,
        from: &PartyId,
        signed: &Signed<ConsentRequest>,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let consent = self.verify_from(from, signed)?;
        let decision = self
            .delivery(from, &consent.request_id)?
            .decision
            .verify(&self.own_key())
            .map_err(unavailable)?;
        let executed = matches!(
            decision.outcome,
            Outcome::Accept { .. } | Outcome::Partial { .. }
        );
        if !executed {
            return Err(Refusal::Mismatch(format!(
                "request {} was not executed: there is no evidence to consent about",
                consent.request_id
            )));
        }
        let inserted = {
            let db = self.db().lock().map_err(unavailable)?;
            db.execute(
                "INSERT OR IGNORE INTO consents (consent_id, request_id, party, received_at, request) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    consent.consent_id.0.as_slice(),
                    consent.request_id.0.as_slice(),
                    from.as_str(),
                    now.0 as i64,
                    signed.encode()
                ],
            )
            .map_err(unavailable)?
        };
        if inserted == 0 {
            return Err(Refusal::Replay(format!(
                "consent request {} was received before",
                consent.consent_id
            )));
        }
        self.audit()
            .append(
                &Event {
                    v: 1,
                    at: now,
                    actor: self.actor("intake"),
                    kind: EventKind::ConsentRequested {
                        consent_digest: signed.digest(),
                    },
                    request: Some(consent.request_id),
                    case: None,
                    purpose: None,
                    subjects: Vec::new(),
                },
                vec![],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    /// The decided consents of a request, for delivery to the requesting party.
    pub fn consent_decisions(
        &self,
        request: &RequestId,
    ) -> Result<Vec<Signed<ConsentDecision>>, Refusal> {
        let db = self.db().lock().map_err(unavailable)?;
        let mut stmt = db
            .prepare(
                "SELECT decision FROM consents WHERE request_id = ?1 AND decision IS NOT NULL \
                 ORDER BY received_at, consent_id",
            )
            .map_err(unavailable)?;
        let rows: Vec<Vec<u8>> = stmt
            .query_map(params![request.0.as_slice()], |r| r.get(0))
            .map_err(unavailable)?
            .collect::<Result<_, _>>()
            .map_err(unavailable)?;
        rows.into_iter()
            .map(|b| Signed::decode_owned(b).map_err(unavailable))
            .collect()
    }

    /// Applies the consent decisions reviewers have signed: checked again, recorded and
    /// logged. Returns (consent id, granted).
    pub(crate) fn apply_consents(&self, now: UnixTime) -> Result<Vec<(RequestId, bool)>, Refusal> {
        let submitted: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = {
            let db = self.db().lock().map_err(unavailable)?;
            let mut stmt = db
                .prepare(
                    "SELECT consent_id, request, submitted FROM consents \
                     WHERE submitted IS NOT NULL AND decision IS NULL",
                )
                .map_err(unavailable)?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)?
        };
        let mut out = Vec::new();
        for (id, request, decision) in submitted {
            let request = Signed::<ConsentRequest>::decode_owned(request).map_err(unavailable)?;
            let signed = Signed::<ConsentDecision>::decode_owned(decision).map_err(unavailable)?;
            let checked = check_decision(self.registry(), self.party(), &request, &signed);
            let db = self.db().lock().map_err(unavailable)?;
            match checked {
                Ok(decision) => {
                    db.execute(
                        "UPDATE consents SET decision = submitted WHERE consent_id = ?1",
                        params![id.as_slice()],
                    )
                    .map_err(unavailable)?;
                    drop(db);
                    self.audit()
                        .append(
                            &Event {
                                v: 1,
                                at: now,
                                actor: self.actor("reviewer"),
                                kind: EventKind::ConsentDecided {
                                    decision_digest: signed.digest(),
                                    granted: decision.granted,
                                },
                                request: Some(decision.request_id),
                                case: None,
                                purpose: None,
                                subjects: Vec::new(),
                            },
                            vec![],
                        )
                        .map_err(unavailable)?;
                    out.push((decision.consent_id, decision.granted));
                }
                Err(_) => {
                    db.execute(
                        "UPDATE consents SET submitted = NULL WHERE consent_id = ?1",
                        params![id.as_slice()],
                    )
                    .map_err(unavailable)?;
                }
            }
        }
        Ok(out)
    }
}

/// Checks a consent decision: signed by a reviewer of `party` the registry lists, about
/// exactly this consent request.
pub(crate) fn check_decision(
    registry: &evx_node::pki::RegistryFile,
    party: &PartyId,
    request: &Signed<ConsentRequest>,
    signed: &Signed<ConsentDecision>,
) -> Result<ConsentDecision, String> {
    let keys = registry.policy_registry();
    let key = keys
        .get(&signed.signer())
        .filter(|k| matches!(k.role, KeyRole::Reviewer { .. }) && &k.party == party)
        .ok_or("not signed by a reviewer of this party")?;
    let decision = signed.verify(&key.key).map_err(|e| e.to_string())?;
    let asked = registry
        .policy_registry()
        .get(&request.signer())
        .and_then(|k| request.verify(&k.key).ok())
        .ok_or("the consent request no longer verifies")?;
    if decision.consent_digest != request.digest()
        || decision.consent_id != asked.consent_id
        || decision.request_id != asked.request_id
        || decision.scope != asked.scope
    {
        return Err("the decision is about another consent request".into());
    }
    Ok(decision)
}

impl ReviewQueue {
    /// The consent requests waiting for a reviewer, oldest first.
    pub fn consents(&self) -> Result<Vec<PendingConsent>, ReviewQueueError> {
        let rows: Vec<(Vec<u8>, String, i64, bool)> = {
            let db = self.db().lock().map_err(store)?;
            let mut stmt = db
                .prepare(
                    "SELECT request, party, received_at, submitted IS NOT NULL FROM consents \
                     WHERE decision IS NULL ORDER BY received_at, consent_id",
                )
                .map_err(store)?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(store)?
                .collect::<Result<_, _>>()
                .map_err(store)?
        };
        rows.into_iter()
            .map(|(request, party, at, submitted)| {
                let signed = Signed::<ConsentRequest>::decode_owned(request).map_err(store)?;
                let party = PartyId::new(&party).map_err(store)?;
                let key = self
                    .registry()
                    .party(&party)
                    .and_then(evx_node::pki::registry_documents_key)
                    .ok_or_else(|| store(format!("{party} has no document key")))?;
                let consent = signed.verify(&key).map_err(store)?;
                Ok(PendingConsent {
                    signed,
                    consent,
                    party,
                    received_at: UnixTime(at as u64),
                    submitted,
                })
            })
            .collect()
    }

    /// A reviewer decides a consent request: the decision is signed with `key`, checked, and
    /// left for the node to record and deliver.
    pub fn decide_consent(
        &self,
        consent_id: &RequestId,
        granted: bool,
        explanation: String,
        key: &SigningKey,
        now: UnixTime,
    ) -> Result<ConsentDecision, ReviewQueueError> {
        let pending = self
            .consents()?
            .into_iter()
            .find(|c| &c.consent.consent_id == consent_id)
            .ok_or(ReviewQueueError::NotPending(*consent_id))?;
        let reviewer = self.reviewer_name(key)?;
        let decision = ConsentDecision {
            v: 1,
            consent_id: *consent_id,
            request_id: pending.consent.request_id,
            consent_digest: pending.signed.digest(),
            scope: pending.consent.scope.clone(),
            granted,
            reviewer,
            decided_at: now,
            explanation,
        };
        let signed = Signed::sign(&decision, key).map_err(store)?;
        check_decision(self.registry(), self.party(), &pending.signed, &signed)
            .map_err(ReviewQueueError::NotAReviewer)?;
        let db = self.db().lock().map_err(store)?;
        db.execute(
            "UPDATE consents SET submitted = ?2 WHERE consent_id = ?1 AND decision IS NULL",
            params![consent_id.0.as_slice(), signed.encode()],
        )
        .map_err(store)?;
        Ok(decision)
    }

    /// Whether a consent request still waits (its decision not yet recorded by the node).
    pub fn consent_pending(&self, consent_id: &RequestId) -> Result<bool, ReviewQueueError> {
        let db = self.db().lock().map_err(store)?;
        let decided: Option<bool> = db
            .query_row(
                "SELECT decision IS NOT NULL FROM consents WHERE consent_id = ?1",
                params![consent_id.0.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(store)?;
        Ok(decided == Some(false))
    }
}
