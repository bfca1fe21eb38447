//! The requested party's intake: a signed request in, a signed acknowledgement with an
//! inclusion proof of its log entry out, then the policy engine's decision.
//!
//! Per request: the signature is checked against the document key the registry lists for the
//! connection's party; a request id already received, or an issue time outside the validity
//! window, is refused as a replay; `request_received` is appended to the audit log (the case
//! id only as a salted commitment); the acknowledgement carries the entry's inclusion proof in
//! the checkpoint that covers it; the engine evaluates the request, the decision is signed,
//! stored and logged with the trace's digest.

use std::path::Path;
use std::sync::Mutex;

use evx_node::audit::{AuditLog, StoreError};
use evx_node::pki::{NodeConfig, RegistryFile};
use evx_protocol::audit::{Actor, Commitment, Event, EventKind, OutcomeKind, Salt};
use evx_protocol::crypto::{KeyFile, SigningKey};
use evx_protocol::document::{
    Acknowledgement, Decision, EvidenceRequest, JudicialValidation, LogEntryRef, Outcome, Signed,
};
use evx_protocol::frame::ErrorReport;
use evx_protocol::ids::{PartyId, UnixTime};
use evx_protocol::note::NoteSigner;
use evx_protocol::note::checkpoint::Checkpoint;
use evx_protocol::policy::{self, Agreement, Channel, Intake};
use evx_protocol::rand_core::{Rng as _, UnwrapErr};
use rusqlite::{OptionalExtension, params};

/// How far a request's issue time may lie from the receiving node's clock, either way.
pub const VALIDITY_WINDOW_SECS: u64 = 24 * 3600;

/// Why a request was not taken in. Each maps to an [`ErrorReport`] code sent on its stream.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The connection's party is not in the registry, or the request names another party.
    #[error("{0}")]
    UnknownParty(String),
    /// The signature does not verify with the party's registered document key.
    #[error("the request's signature does not verify with {0}'s registered document key")]
    BadSignature(PartyId),
    /// Seen before, or issued outside the validity window.
    #[error("{0}")]
    Replay(String),
    /// The node could not record it.
    #[error("the request could not be recorded: {0}")]
    Unavailable(String),
}

impl Refusal {
    /// The report sent back.
    pub fn report(&self) -> ErrorReport {
        let code = match self {
            Self::UnknownParty(_) => ErrorReport::UNKNOWN_PARTY,
            Self::BadSignature(_) => ErrorReport::BAD_SIGNATURE,
            Self::Replay(_) => ErrorReport::REPLAY,
            Self::Unavailable(_) => ErrorReport::UNAVAILABLE,
        };
        ErrorReport::new(code, &self.to_string())
    }
}

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A configuration file.
    #[error(transparent)]
    Config(#[from] evx_node::pki::ConfigError),
    /// The audit log.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another file or key.
    #[error("{0}")]
    Other(String),
}

/// The requested party's intake desk.
pub struct Desk {
    party: PartyId,
    data_dir: std::path::PathBuf,
    dataset: Option<std::path::PathBuf>,
    documents: SigningKey,
    registry: RegistryFile,
    agreement: Agreement,
    audit: AuditLog,
    db: Mutex<rusqlite::Connection>,
}

fn read(path: &Path) -> Result<String, ServeError> {
    std::fs::read_to_string(path).map_err(|e| ServeError::Other(format!("{}: {e}", path.display())))
}

impl Desk {
    /// Opens the desk of the node a configuration describes: its keys, the registry, the
    /// agreement, its audit log and its request store.
    pub fn open(config: &NodeConfig) -> Result<Self, ServeError> {
        let documents = KeyFile::parse(&read(&config.keys.documents)?)
            .and_then(|k| k.signing_key())
            .map_err(|e| ServeError::Other(format!("{}: {e}", config.keys.documents.display())))?;
        let log_key = NoteSigner::parse(read(&config.keys.log)?.trim())
            .map_err(|e| ServeError::Other(format!("{}: {e}", config.keys.log.display())))?;
        let registry = RegistryFile::load(&config.registry)?;
        let agreement = Agreement::from_toml(
            &read(&config.agreement)?,
            &config.agreement.display().to_string(),
        )
        .map_err(|e| ServeError::Other(e.to_string()))?;
        let audit = AuditLog::open(&config.data_dir.join("audit"), log_key)?;
        let db = rusqlite::Connection::open(config.data_dir.join("requests.sqlite"))
            .map_err(|e| ServeError::Other(format!("request store: {e}")))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS requests (
                 request_id  BLOB PRIMARY KEY,
                 party       TEXT NOT NULL,
                 received_at INTEGER NOT NULL,
                 request     BLOB NOT NULL,
                 decision    BLOB,
                 package     TEXT,
                 package_error TEXT
             );",
        )
        .map_err(|e| ServeError::Other(format!("request store: {e}")))?;
        Ok(Self {
            party: config.party.clone(),
            data_dir: config.data_dir.clone(),
            dataset: config.dataset.clone(),
            documents,
            registry,
            agreement,
            audit,
            db: Mutex::new(db),
        })
    }

    /// The node's audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    fn actor(&self, by: &str) -> Actor {
        Actor {
            party: self.party.clone(),
            by: by.to_owned(),
        }
    }

    /// Takes in a request from the party `from` (as the connection's certificate says):
    /// returns the signed acknowledgement and the signed decision.
    pub fn receive(
        &self,
        from: &PartyId,
        signed: &Signed<EvidenceRequest>,
        validations: &[Signed<JudicialValidation>],
        now: UnixTime,
    ) -> Result<(Signed<Acknowledgement>, Signed<Decision>), Refusal> {
        let entry = self
            .registry
            .party(from)
            .ok_or_else(|| Refusal::UnknownParty(format!("{from} is not in the registry")))?;
        let key = evx_node::pki::registry_documents_key(entry)
            .ok_or_else(|| Refusal::UnknownParty(format!("{from} has no usable document key")))?;
        let request = signed
            .verify(&key)
            .map_err(|_| Refusal::BadSignature(from.clone()))?;
        if &request.requesting_party != from || request.requested_party != self.party {
            return Err(Refusal::UnknownParty(format!(
                "the request is from {} to {}, but came from {from} to {}",
                request.requesting_party, request.requested_party, self.party
            )));
        }
        let (lo, hi) = (
            now.0.saturating_sub(VALIDITY_WINDOW_SECS),
            now.0.saturating_add(VALIDITY_WINDOW_SECS),
        );
        if request.issued_at.0 < lo || request.issued_at.0 > hi {
            return Err(Refusal::Replay(format!(
                "issued at {}, outside the {} h window around {now}",
                request.issued_at,
                VALIDITY_WINDOW_SECS / 3600
            )));
        }
        // Record the request id first: a second arrival is a replay, whatever happens next.
        {
            let db = self.db.lock().map_err(unavailable)?;
            let inserted = db
                .execute(
                    "INSERT OR IGNORE INTO requests (request_id, party, received_at, request) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        request.request_id.0.as_slice(),
                        from.as_str(),
                        now.0 as i64,
                        signed.encode()
                    ],
                )
                .map_err(unavailable)?;
            if inserted == 0 {
                return Err(Refusal::Replay(format!(
                    "request {} was received before",
                    request.request_id
                )));
            }
        }
        // If anything below fails, forget the id again, so that the requesting party's retry
        // is not taken for a replay.
        let result = self.record_and_decide(from, signed, &request, validations, now);
        if result.is_err()
            && let Ok(db) = self.db.lock()
        {
            let _ = db.execute(
                "DELETE FROM requests WHERE request_id = ?1 AND decision IS NULL",
                params![request.request_id.0.as_slice()],
            );
        }
        result
    }

    fn record_and_decide(
        &self,
        from: &PartyId,
        signed: &Signed<EvidenceRequest>,
        request: &EvidenceRequest,
        validations: &[Signed<JudicialValidation>],
        now: UnixTime,
    ) -> Result<(Signed<Acknowledgement>, Signed<Decision>), Refusal> {
        let rng = &mut UnwrapErr(getrandom::SysRng);
        let mut salt: Salt = [0; 32];
        rng.fill_bytes(&mut salt);
        let received = Event {
            v: 1,
            at: now,
            actor: self.actor("intake"),
            kind: EventKind::RequestReceived {
                request_digest: signed.digest(),
                from: from.clone(),
            },
            request: Some(request.request_id),
            case: Some(Commitment::commit(
                request.case_id.as_str().as_bytes(),
                &salt,
            )),
            purpose: Some(request.purpose),
            subjects: Vec::new(),
        };
        let index = self
            .audit
            .append(&received, vec![("case".into(), salt)])
            .map_err(unavailable)?;
        let checkpoint = self.audit.checkpoint().map_err(unavailable)?;
        let cp = Checkpoint::from_text(checkpoint.text()).map_err(unavailable)?;
        let path = self
            .audit
            .inclusion_proof(index, cp.size)
            .map_err(unavailable)?;
        let ack = Signed::sign(
            &Acknowledgement {
                v: 1,
                request_id: request.request_id,
                request_digest: signed.digest(),
                received_at: now,
                log_entry: Some(LogEntryRef {
                    index,
                    tree_size: cp.size,
                    root: cp.root,
                    path,
                }),
            },
            &self.documents,
        )
        .map_err(unavailable)?;

        // The policy engine.
        let registry = self.registry.policy_registry();
        let intake = Intake::new(signed, request, now, Channel::MUTUAL_TLS)
            .with_log_index(index)
            .with_validations(validations);
        let trace = policy::evaluate(&self.agreement, &registry, &intake);
        let decision = trace
            .decision(now)
            .ok_or_else(|| unavailable(policy::summary(&trace)))?;
        let signed_decision = Signed::sign(&decision, &self.documents).map_err(unavailable)?;
        let outcome = match &decision.outcome {
            Outcome::Accept { .. } => OutcomeKind::Accept,
            Outcome::Partial { .. } => OutcomeKind::Partial,
            Outcome::Incomplete { .. } => OutcomeKind::Incomplete,
            Outcome::Refuse { .. } => OutcomeKind::Refuse,
            Outcome::PendingReview { .. } => OutcomeKind::PendingReview,
            Outcome::Postponed { .. } => OutcomeKind::Postponed,
        };
        self.audit
            .append(
                &Event {
                    v: 1,
                    at: now,
                    actor: self.actor("policy-engine"),
                    kind: EventKind::Decision {
                        decision_digest: signed_decision.digest(),
                        outcome,
                        trace_digest: Some(trace.digest()),
                    },
                    request: Some(request.request_id),
                    case: None,
                    purpose: Some(request.purpose),
                    subjects: Vec::new(),
                },
                vec![],
            )
            .map_err(unavailable)?;
        {
            let db = self.db.lock().map_err(unavailable)?;
            db.execute(
                "UPDATE requests SET decision = ?2 WHERE request_id = ?1",
                params![request.request_id.0.as_slice(), signed_decision.encode()],
            )
            .map_err(unavailable)?;
        }
        // Accepted production: collect and seal the evidence now, and keep it for delivery.
        // A failure here does not undo the decision: it is recorded, and the package is absent.
        if let Outcome::Accept { conditions } = &decision.outcome
            && request.request_type != evx_protocol::document::RequestType::Preservation
            && self.dataset.is_some()
        {
            let (package, error) = match self.seal(request, conditions, now) {
                Ok(path) => (Some(path.display().to_string()), None),
                Err(e) => (None, Some(e)),
            };
            let db = self.db.lock().map_err(unavailable)?;
            db.execute(
                "UPDATE requests SET package = ?2, package_error = ?3 WHERE request_id = ?1",
                params![request.request_id.0.as_slice(), package, error],
            )
            .map_err(unavailable)?;
        }
        Ok((ack, signed_decision))
    }

    /// Collects what an accepted request covers and seals it to the requesting party; returns
    /// the package file. Collection reads and writes files, memory stays flat.
    fn seal(
        &self,
        request: &EvidenceRequest,
        conditions: &evx_protocol::purpose::Conditions,
        now: UnixTime,
    ) -> Result<std::path::PathBuf, String> {
        use std::io::Read as _;
        let dataset = self.dataset.as_ref().ok_or("no dataset configured")?;
        let work = self
            .data_dir
            .join("collected")
            .join(request.request_id.to_string());
        let items =
            crate::dataset::collect(dataset, request, &work, now).map_err(|e| e.to_string())?;
        let recipient = self
            .registry
            .hpke(&request.requesting_party)
            .ok_or("the requesting party has no HPKE key in the registry")?;
        let dir = self.data_dir.join("packages");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let partial = dir.join(format!("{}.evx1.partial", request.request_id));
        let out = std::io::BufWriter::new(
            std::fs::File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?,
        );
        let params = evx_protocol::package::PackageParams {
            sender_party: self.party.clone(),
            recipient_party: request.requesting_party.clone(),
            case_id: request.case_id.clone(),
            request_id: request.request_id,
            purpose: request.purpose,
            conditions: conditions.clone(),
            created_at: now,
            chunk_size: evx_protocol::package::DEFAULT_CHUNK_SIZE,
        };
        let rng = &mut UnwrapErr(getrandom::SysRng);
        let specs = items.iter().map(|i| i.spec.clone()).collect();
        let mut sealer = evx_protocol::package::Sealer::new(
            out,
            params,
            specs,
            &self.documents,
            &recipient,
            rng,
        )
        .map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 1 << 20];
        for item in &items {
            let mut f = std::fs::File::open(&item.path)
                .map_err(|e| format!("{}: {e}", item.path.display()))?;
            loop {
                let n = f.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                sealer.write_payload(&buf[..n]).map_err(|e| e.to_string())?;
            }
        }
        let sealed = sealer.finish().map_err(|e| e.to_string())?;
        let file = sealed
            .writer
            .into_inner()
            .map_err(|e| e.error().to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        let path = dir.join(format!("{}.evx1", sealed.package_id));
        std::fs::rename(&partial, &path).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&work);
        self.audit
            .append(
                &Event {
                    v: 1,
                    at: now,
                    actor: self.actor("collection"),
                    kind: EventKind::PackageSealed {
                        package_id: sealed.package_id,
                        length: sealed.manifest.length,
                    },
                    request: Some(request.request_id),
                    case: None,
                    purpose: Some(request.purpose),
                    subjects: Vec::new(),
                },
                vec![],
            )
            .map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// The sealed package kept for a request, if any.
    pub fn package(
        &self,
        request: &evx_protocol::ids::RequestId,
    ) -> Result<Option<std::path::PathBuf>, Refusal> {
        let db = self.db.lock().map_err(unavailable)?;
        let p: Option<Option<String>> = db
            .query_row(
                "SELECT package FROM requests WHERE request_id = ?1",
                params![request.0.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        Ok(p.flatten().map(std::path::PathBuf::from))
    }

    /// The stored decision on a request, if any.
    pub fn decision(
        &self,
        request: &evx_protocol::ids::RequestId,
    ) -> Result<Option<Signed<Decision>>, Refusal> {
        let db = self.db.lock().map_err(unavailable)?;
        let bytes: Option<Option<Vec<u8>>> = db
            .query_row(
                "SELECT decision FROM requests WHERE request_id = ?1",
                params![request.0.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        bytes
            .flatten()
            .map(|b| Signed::decode_owned(b).map_err(unavailable))
            .transpose()
    }
}
