//! The review queue: requests the policy engine may not decide alone wait here for a person.
//!
//! The engine only *proposes* a refusal, a partial execution, or a review (CETS 224
//! Art. 14(6): no adverse decision solely by automated processing; legal reference §4: the
//! refusal grounds are for people to weigh). A reviewer whose key the registry lists reads the
//! request, the rule trace with its legal sources and the parties' profiles, and signs a
//! [`ReviewDecision`] bound to that exact trace. `evx review decide` checks it on the spot —
//! the same [`policy::finalize`] the node applies — and leaves it in the request store; the
//! running node picks it up within a quarter second, signs the final decision that cites it, logs both,
//! and, if evidence is released, collects and seals it. The requesting party receives the final
//! decision on its next status or fetch.
//!
//! A review that is not made in time is escalated — logged once as `review_overdue` and listed
//! first — and nothing is ever released because a deadline passed.

use std::path::Path;
use std::sync::Mutex;

use evx_node::pki::{NodeConfig, RegistryFile};
use evx_protocol::audit::{Event, EventKind};
use evx_protocol::crypto::SigningKey;
use evx_protocol::document::{
    Decision, EvidenceRequest, Outcome, RefusalGround, ReviewDecision, ReviewVerdict, Signed,
};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::policy::{self, Agreement, Proposal, Trace};
use rusqlite::{OptionalExtension as _, params};

use crate::server::{Desk, ServeError};

/// Why a review could not be listed, shown or submitted.
#[derive(Debug, thiserror::Error)]
pub enum ReviewQueueError {
    /// The node's files.
    #[error(transparent)]
    Node(#[from] ServeError),
    /// The request store.
    #[error("request store: {0}")]
    Store(String),
    /// No request with that id waits for review.
    #[error("request {0} does not wait for review; `evx review list` shows those that do")]
    NotPending(RequestId),
    /// The review decision cannot be applied as it stands.
    #[error("the review cannot be applied: {0}")]
    Rejected(#[from] policy::ReviewError),
    /// The key is not a reviewer's key of this party.
    #[error("{0}")]
    NotAReviewer(String),
}

fn store(e: impl std::fmt::Display) -> ReviewQueueError {
    ReviewQueueError::Store(e.to_string())
}

/// A request waiting for review, as the queue lists it.
#[derive(Clone, Debug)]
pub struct Pending {
    /// The request.
    pub request_id: RequestId,
    /// Who made it.
    pub party: PartyId,
    /// When it was received.
    pub received_at: UnixTime,
    /// When the review is due.
    pub due_at: Option<UnixTime>,
    /// When it was escalated for being overdue, if it was.
    pub escalated_at: Option<UnixTime>,
    /// A review decision has been signed and waits for the node to apply it.
    pub submitted: bool,
    /// The engine's proposal, in one line.
    pub proposal: String,
}

impl Pending {
    /// Whether the review is overdue at `now`.
    pub fn overdue(&self, now: UnixTime) -> bool {
        self.due_at.is_some_and(|d| d < now)
    }
}

/// Everything a reviewer needs to decide one request.
#[derive(Clone, Debug)]
pub struct Case {
    /// The queue entry.
    pub pending: Pending,
    /// The signed request as received.
    pub signed: Signed<EvidenceRequest>,
    /// The request.
    pub request: EvidenceRequest,
    /// The rule trace the reviewer decides on.
    pub trace: Trace,
    /// The decision as it stands (pending review).
    pub decision: Decision,
}

/// The review queue of a requested node's store. Opening it does not open the audit log: the
/// operator's commands use it while the node runs.
pub struct ReviewQueue {
    party: PartyId,
    registry: RegistryFile,
    agreement: Agreement,
    db: Mutex<rusqlite::Connection>,
}

fn read(path: &Path) -> Result<String, ServeError> {
    std::fs::read_to_string(path).map_err(|e| ServeError::Other(format!("{}: {e}", path.display())))
}

type Row = (
    Vec<u8>,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

const PENDING_COLUMNS: &str =
    "request_id, party, received_at, review_due, escalated_at, review_submitted, trace";

fn pending(row: Row) -> Result<(Pending, Option<Trace>), ReviewQueueError> {
    let (id, party, received_at, due, escalated, submitted, trace) = row;
    let trace = trace
        .map(|t| Trace::decode(&t))
        .transpose()
        .map_err(store)?;
    let proposal = trace.as_ref().map_or_else(
        || "no trace recorded".to_owned(),
        |t| match &t.proposal {
            Proposal::Refuse { grounds, .. } => format!(
                "proposed refusal: {}",
                grounds
                    .iter()
                    .map(|g| g.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Proposal::Partial {
                categories,
                grounds,
            } => format!(
                "proposed partial execution ({categories:?}): {}",
                grounds
                    .iter()
                    .map(|g| g.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Proposal::Review { reasons } => format!("review: {}", reasons.join("; ")),
            _ => policy::summary(t),
        },
    );
    Ok((
        Pending {
            request_id: RequestId(id.try_into().map_err(|_| store("bad request id"))?),
            party: PartyId::new(&party).map_err(store)?,
            received_at: UnixTime(received_at as u64),
            due_at: due.map(|d| UnixTime(d as u64)),
            escalated_at: escalated.map(|d| UnixTime(d as u64)),
            submitted: submitted.is_some(),
            proposal,
        },
        trace,
    ))
}

impl ReviewQueue {
    /// Opens the queue of the node a configuration describes.
    pub fn open(config: &NodeConfig) -> Result<Self, ReviewQueueError> {
        let registry = RegistryFile::load(&config.registry).map_err(ServeError::from)?;
        let agreement = Agreement::from_toml(
            &read(&config.agreement)?,
            &config.agreement.display().to_string(),
        )
        .map_err(|e| ServeError::Other(e.to_string()))?;
        config.create_data_dir().map_err(ServeError::from)?;
        let db = crate::store::open(&config.data_dir.join("requests.sqlite")).map_err(store)?;
        Ok(Self {
            party: config.party.clone(),
            registry,
            agreement,
            db: Mutex::new(db),
        })
    }

    /// The requests waiting for review: escalated and overdue ones first, then by due date.
    pub fn list(&self, now: UnixTime) -> Result<Vec<Pending>, ReviewQueueError> {
        let db = self.db.lock().map_err(store)?;
        let mut stmt = db
            .prepare(&format!(
                "SELECT {PENDING_COLUMNS} FROM requests WHERE pending_review = 1"
            ))
            .map_err(store)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .map_err(store)?
            .collect::<Result<Vec<Row>, _>>()
            .map_err(store)?;
        let mut out = rows
            .into_iter()
            .map(|r| pending(r).map(|(p, _)| p))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|p| {
            (
                !p.overdue(now),
                p.due_at.unwrap_or(UnixTime(u64::MAX)),
                p.received_at,
            )
        });
        Ok(out)
    }

    /// One waiting request with everything a reviewer needs.
    pub fn case(&self, id: &RequestId) -> Result<Case, ReviewQueueError> {
        let db = self.db.lock().map_err(store)?;
        let row: Option<(Row, Vec<u8>, Option<Vec<u8>>)> = db
            .query_row(
                &format!(
                    "SELECT {PENDING_COLUMNS}, request, decision FROM requests \
                     WHERE request_id = ?1 AND pending_review = 1"
                ),
                params![id.0.as_slice()],
                |r| {
                    Ok((
                        (
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ),
                        r.get(7)?,
                        r.get(8)?,
                    ))
                },
            )
            .optional()
            .map_err(store)?;
        let Some((row, request, decision)) = row else {
            return Err(ReviewQueueError::NotPending(*id));
        };
        let (pending, trace) = pending(row)?;
        let trace = trace.ok_or_else(|| store("the request has no rule trace recorded"))?;
        let signed = Signed::<EvidenceRequest>::decode_owned(request).map_err(store)?;
        let key = self
            .registry
            .party(&pending.party)
            .and_then(evx_node::pki::registry_documents_key)
            .ok_or_else(|| {
                store(format!(
                    "{} has no document key in the registry",
                    pending.party
                ))
            })?;
        let request = signed.verify(&key).map_err(store)?;
        let decision = decision
            .ok_or_else(|| store("no decision recorded"))
            .and_then(|d| {
                let own = self.documents_key()?;
                Signed::<Decision>::decode_owned(d)
                    .and_then(|s| s.verify(&own))
                    .map_err(store)
            })?;
        Ok(Case {
            pending,
            signed,
            request,
            trace,
            decision,
        })
    }

    fn documents_key(&self) -> Result<evx_protocol::crypto::VerifyingKey, ReviewQueueError> {
        self.registry
            .party(&self.party)
            .and_then(evx_node::pki::registry_documents_key)
            .ok_or_else(|| {
                store(format!(
                    "{} has no document key in the registry",
                    self.party
                ))
            })
    }

    /// The agreement in force.
    pub fn agreement(&self) -> &Agreement {
        &self.agreement
    }

    /// The peer registry.
    pub(crate) fn registry(&self) -> &RegistryFile {
        &self.registry
    }

    /// This node's party.
    pub(crate) fn party(&self) -> &PartyId {
        &self.party
    }

    /// The request store.
    pub(crate) fn db(&self) -> &Mutex<rusqlite::Connection> {
        &self.db
    }

    /// The name the registry lists for a reviewer's key of this party.
    pub fn reviewer_name(&self, key: &SigningKey) -> Result<String, ReviewQueueError> {
        let id = key.verifying_key().id();
        self.registry
            .reviewers
            .iter()
            .find(|r| r.party == self.party && base64_key(&r.key).is_some_and(|k| k.id() == id))
            .map(|r| r.name.clone())
            .ok_or_else(|| {
                ReviewQueueError::NotAReviewer(format!(
                    "key {id} is not a reviewer's key of {} in the registry",
                    self.party
                ))
            })
    }

    /// Signs a review decision with `key` for the request `id`, checks it exactly as the node
    /// will apply it, and leaves it for the node. Returns the final decision it will produce.
    pub fn submit(
        &self,
        id: &RequestId,
        verdict: ReviewVerdict,
        grounds: Vec<RefusalGround>,
        note: String,
        key: &SigningKey,
        now: UnixTime,
    ) -> Result<(Signed<ReviewDecision>, Decision), ReviewQueueError> {
        let case = self.case(id)?;
        let reviewer = self.reviewer_name(key)?;
        // A refusal or partial execution without grounds of its own confirms the engine's.
        let grounds = if grounds.is_empty()
            && matches!(
                verdict,
                ReviewVerdict::Refuse | ReviewVerdict::Partial { .. }
            ) {
            match &case.trace.proposal {
                Proposal::Refuse { grounds, .. } | Proposal::Partial { grounds, .. } => {
                    grounds.clone()
                }
                _ => Vec::new(),
            }
        } else {
            grounds
        };
        let review = ReviewDecision {
            v: 1,
            request_id: *id,
            trace_digest: case.trace.digest(),
            reviewer,
            decided_at: now,
            verdict,
            grounds,
            onward_authorised: Vec::new(),
            note,
        };
        let signed = Signed::sign(&review, key)
            .map_err(|e| ReviewQueueError::Store(format!("the review cannot be signed: {e}")))?;
        let decision = policy::finalize(
            &case.trace,
            &self.agreement,
            &case.signed,
            &signed,
            &self.registry.policy_registry(),
            now,
        )?;
        let db = self.db.lock().map_err(store)?;
        let n = db
            .execute(
                "UPDATE requests SET review_submitted = ?2 WHERE request_id = ?1 AND pending_review = 1",
                params![id.0.as_slice(), signed.encode()],
            )
            .map_err(store)?;
        if n == 0 {
            return Err(ReviewQueueError::NotPending(*id));
        }
        Ok((signed, decision))
    }

    /// Whether the request is still pending (the node has not applied a review yet).
    pub fn is_pending(&self, id: &RequestId) -> Result<bool, ReviewQueueError> {
        let db = self.db.lock().map_err(store)?;
        let p: Option<i64> = db
            .query_row(
                "SELECT pending_review FROM requests WHERE request_id = ?1",
                params![id.0.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(store)?;
        Ok(p == Some(1))
    }
}

fn base64_key(b64: &str) -> Option<evx_protocol::crypto::VerifyingKey> {
    use base64::Engine as _;
    let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()?
        .try_into()
        .ok()?;
    evx_protocol::crypto::VerifyingKey::from_bytes(&bytes).ok()
}

/// What one pass of the node's review work did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Reviews applied: the request and its final outcome in one line.
    pub applied: Vec<(RequestId, String)>,
    /// Submitted reviews that could not be applied (the agreement changed, say), with why;
    /// they are removed and the request stays pending.
    pub rejected: Vec<(RequestId, String)>,
    /// Requests escalated for an overdue review.
    pub escalated: Vec<RequestId>,
    /// Requests withdrawn because their judicial validation did not arrive in time.
    pub withdrawn: Vec<RequestId>,
    /// Preservation holds that reached their end unreleased (their copies deleted).
    pub holds_ended: Vec<RequestId>,
    /// Consent decisions recorded: (consent id, granted).
    pub consents: Vec<(RequestId, bool)>,
    /// Decisions whose execution (collection and sealing, or the hold) failed before and
    /// succeeded now.
    pub executed: Vec<RequestId>,
    /// Decisions whose execution failed again, with why; retried later.
    pub execution_failed: Vec<(RequestId, String)>,
}

impl Desk {
    /// The node's periodic work at `now`: applies submitted review decisions, escalates
    /// overdue reviews (logged once; nothing is released), and withdraws emergency requests
    /// whose judicial validation is overdue.
    pub fn tick(&self, now: UnixTime) -> Result<TickReport, ReviewQueueError> {
        let mut report = TickReport::default();
        let submitted: Vec<(Vec<u8>, Vec<u8>)> = {
            let db = self.db().lock().map_err(store)?;
            let mut stmt = db
                .prepare(
                    "SELECT request_id, review_submitted FROM requests \
                     WHERE pending_review = 1 AND review_submitted IS NOT NULL",
                )
                .map_err(store)?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(store)?
                .collect::<Result<_, _>>()
                .map_err(store)?
        };
        for (id, review) in submitted {
            let id = RequestId(id.try_into().map_err(|_| store("bad request id"))?);
            match self.apply_review(&id, review, now) {
                Ok(outcome) => report.applied.push((id, outcome)),
                Err(e) => {
                    let db = self.db().lock().map_err(store)?;
                    db.execute(
                        "UPDATE requests SET review_submitted = NULL WHERE request_id = ?1",
                        params![id.0.as_slice()],
                    )
                    .map_err(store)?;
                    report.rejected.push((id, e.to_string()));
                }
            }
        }
        let overdue: Vec<(Vec<u8>, i64)> = {
            let db = self.db().lock().map_err(store)?;
            let mut stmt = db
                .prepare(
                    "SELECT request_id, review_due FROM requests WHERE pending_review = 1 \
                     AND escalated_at IS NULL AND review_due IS NOT NULL AND review_due < ?1",
                )
                .map_err(store)?;
            stmt.query_map(params![now.0 as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(store)?
                .collect::<Result<_, _>>()
                .map_err(store)?
        };
        for (id, due) in overdue {
            let id = RequestId(id.try_into().map_err(|_| store("bad request id"))?);
            self.audit()
                .append(
                    &Event {
                        v: 1,
                        at: now,
                        actor: self.actor("review-queue"),
                        kind: EventKind::ReviewOverdue {
                            due_at: UnixTime(due as u64),
                        },
                        request: Some(id),
                        case: None,
                        purpose: None,
                        subjects: Vec::new(),
                    },
                    vec![],
                )
                .map_err(store)?;
            let db = self.db().lock().map_err(store)?;
            db.execute(
                "UPDATE requests SET escalated_at = ?2 WHERE request_id = ?1",
                params![id.0.as_slice(), now.0 as i64],
            )
            .map_err(store)?;
            report.escalated.push(id);
        }
        report.withdrawn = self.withdraw_unvalidated(now).map_err(store)?;
        report.holds_ended = self.expire_holds(now).map_err(store)?;
        report.consents = self.apply_consents(now).map_err(store)?;
        (report.executed, report.execution_failed) = self.retry_executions(now).map_err(store)?;
        self.finish_withdrawals(now).map_err(store)?;
        self.remove_leftovers(now).map_err(store)?;
        Ok(report)
    }

    /// Applies one submitted review: the final decision, signed, stored and logged with the
    /// review; evidence collected and sealed if released.
    fn apply_review(
        &self,
        id: &RequestId,
        review: Vec<u8>,
        now: UnixTime,
    ) -> Result<String, ReviewQueueError> {
        let (request, trace) = {
            let db = self.db().lock().map_err(store)?;
            let (request, trace): (Vec<u8>, Option<Vec<u8>>) = db
                .query_row(
                    "SELECT request, trace FROM requests WHERE request_id = ?1",
                    params![id.0.as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(store)?;
            (request, trace)
        };
        let signed_request = Signed::<EvidenceRequest>::decode_owned(request).map_err(store)?;
        let trace =
            Trace::decode(&trace.ok_or_else(|| store("no trace recorded"))?).map_err(store)?;
        let review = Signed::<ReviewDecision>::decode_owned(review).map_err(store)?;
        let registry = self.registry().policy_registry();
        let decision = policy::finalize(
            &trace,
            self.agreement(),
            &signed_request,
            &review,
            &registry,
            now,
        )?;
        let request = registry
            .get(&signed_request.signer())
            .and_then(|k| signed_request.verify(&k.key).ok())
            .ok_or_else(|| store("the stored request no longer verifies"))?;
        let signed_decision = self.sign(&decision).map_err(store)?;
        {
            let db = self.db().lock().map_err(store)?;
            db.execute(
                "UPDATE requests SET decision = ?2, review = ?3, review_submitted = NULL, \
                 pending_review = 0 WHERE request_id = ?1",
                params![id.0.as_slice(), signed_decision.encode(), review.encode()],
            )
            .map_err(store)?;
        }
        let event = |by: &str, kind| Event {
            v: 1,
            at: now,
            actor: self.actor(by),
            kind,
            request: Some(*id),
            case: None,
            purpose: Some(request.purpose),
            subjects: Vec::new(),
        };
        self.audit()
            .append(
                &event(
                    "reviewer",
                    EventKind::ReviewDecision {
                        review_digest: review.digest(),
                        trace_digest: trace.digest(),
                    },
                ),
                vec![],
            )
            .map_err(store)?;
        self.audit()
            .append(
                &event(
                    "review-queue",
                    EventKind::Decision {
                        decision_digest: signed_decision.digest(),
                        outcome: evx_protocol::audit::OutcomeKind::from(&decision.outcome),
                        trace_digest: Some(trace.digest()),
                    },
                ),
                vec![],
            )
            .map_err(store)?;
        // The final decision stands whatever happens here: a failure is recorded and retried.
        if let Some((granted, conditions)) = crate::server::released(&request, &decision) {
            self.execute_or_retry(&granted, &decision, &conditions, now)
                .map_err(store)?;
        }
        Ok(match &decision.outcome {
            Outcome::Accept { .. } => "accepted".into(),
            Outcome::Partial { categories, .. } => format!("partially accepted: {categories:?}"),
            Outcome::Refuse { grounds } => format!(
                "refused: {}",
                grounds
                    .iter()
                    .map(|g| g.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Outcome::Postponed { until, .. } => format!("postponed until {until}"),
            other => format!("{other:?}"),
        })
    }
}
