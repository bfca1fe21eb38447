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
    Acknowledgement, Decision, EvidenceRequest, JudicialValidation, Outcome, Receipt, Signed,
};
use evx_protocol::frame::ErrorReport;
use evx_protocol::ids::{PackageId, PartyId, RequestId, UnixTime};
use evx_protocol::note::NoteSigner;
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
    /// No such request from this party.
    #[error("{0}")]
    NotFound(String),
    /// A receipt or validation that does not match what it refers to.
    #[error("{0}")]
    Mismatch(String),
    /// The party's log conflicts with what this node cosigned.
    #[error("{0}")]
    Conflict(String),
}

impl Refusal {
    /// The report sent back.
    pub fn report(&self) -> ErrorReport {
        let code = match self {
            Self::UnknownParty(_) => ErrorReport::UNKNOWN_PARTY,
            Self::BadSignature(_) => ErrorReport::BAD_SIGNATURE,
            Self::Replay(_) => ErrorReport::REPLAY,
            Self::Unavailable(_) => ErrorReport::UNAVAILABLE,
            Self::NotFound(_) => ErrorReport::NOT_FOUND,
            Self::Mismatch(_) => ErrorReport::UNEXPECTED_MESSAGE,
            Self::Conflict(_) => ErrorReport::CONFLICT,
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
    package_max: u64,
    /// Exchanges a second per party, sustained, and the burst above it.
    rate: (u32, u32),
    documents: SigningKey,
    witness: NoteSigner,
    registry: RegistryFile,
    agreement: Agreement,
    audit: AuditLog,
    db: Mutex<rusqlite::Connection>,
    /// The intake's writes, group-committed: one fsync for all the requests arriving together.
    writer: evx_node::group_commit::GroupCommit,
    /// When the last sweep for leftover files ran (Unix seconds, 0 = never).
    swept_at: std::sync::atomic::AtomicU64,
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
        let witness = NoteSigner::parse(read(&config.keys.witness)?.trim())
            .map_err(|e| ServeError::Other(format!("{}: {e}", config.keys.witness.display())))?;
        let registry = RegistryFile::load(&config.registry)?;
        let agreement = Agreement::from_toml(
            &read(&config.agreement)?,
            &config.agreement.display().to_string(),
        )
        .map_err(|e| ServeError::Other(e.to_string()))?;
        config.create_data_dir()?;
        let audit = AuditLog::open(&config.data_dir.join("audit"), log_key)?;
        let db = crate::store::open(&config.data_dir.join("requests.sqlite"))
            .map_err(|e| ServeError::Other(format!("request store: {e}")))?;
        Ok(Self {
            party: config.party.clone(),
            data_dir: config.data_dir.clone(),
            dataset: config.dataset.clone(),
            package_max: config.package_max_bytes.unwrap_or(1 << 30).max(1),
            rate: (
                config.requests_per_second.unwrap_or(20),
                config.request_burst.unwrap_or(100),
            ),
            documents,
            witness,
            registry,
            agreement,
            audit,
            db: Mutex::new(db),
            writer: evx_node::group_commit::GroupCommit::open(
                &config.data_dir.join("requests.sqlite"),
            )
            .map_err(|e| ServeError::Other(e.to_string()))?,
            swept_at: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The node's audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub(crate) fn actor(&self, by: &str) -> Actor {
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
        let request = self.verify_from(from, signed)?;
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
            let (id, party, bytes) = (
                request.request_id.0.to_vec(),
                from.as_str().to_owned(),
                signed.encode(),
            );
            let inserted = self
                .writer
                .write(move |db| {
                    db.execute(
                        "INSERT OR IGNORE INTO requests (request_id, party, received_at, request) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![id, party, now.0 as i64, bytes],
                    )
                })
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
        let outcome = OutcomeKind::from(&decision.outcome);
        // Stored, then logged, before anyone is told: once the decision exists, a status or
        // fetch can always return it, even if what follows fails; and a decision that could
        // not be stored is not logged (the request is forgotten and may be sent again).
        {
            let pending = matches!(decision.outcome, Outcome::PendingReview { .. });
            let review_due = match &decision.outcome {
                Outcome::PendingReview { due_at, .. } => Some(due_at.0 as i64),
                _ => None,
            };
            let (id, decision_bytes, trace_bytes, validation_by) = (
                request.request_id.0.to_vec(),
                signed_decision.encode(),
                trace.encode(),
                decision.due.validation_by.map(|t| t.0 as i64),
            );
            self.writer
                .write(move |db| {
                    db.execute(
                        "UPDATE requests SET decision = ?2, trace = ?3, pending_review = ?4, \
                         review_due = ?5, validation_by = ?6 WHERE request_id = ?1",
                        params![
                            id,
                            decision_bytes,
                            trace_bytes,
                            i64::from(pending),
                            review_due,
                            validation_by
                        ],
                    )
                })
                .map_err(unavailable)?;
        }
        self.audit
            .append_all(vec![(
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
            )])
            .map_err(unavailable)?;
        // The acknowledgement proves the request's entry in the checkpoint that also covers
        // the decision: the checkpoint the requesting party is asked to cosign next.
        let ack = Signed::sign(
            &Acknowledgement {
                v: 1,
                request_id: request.request_id,
                request_digest: signed.digest(),
                received_at: now,
                log_entry: Some(self.audit.entry_ref(index).map_err(unavailable)?),
            },
            &self.documents,
        )
        .map_err(unavailable)?;
        // Accepted production: collect and seal the evidence now, and keep it for delivery.
        // The decision stands whatever happens here: a failure is recorded and retried.
        if let Some((granted, conditions)) = released(request, &decision) {
            self.execute_or_retry(&granted, &decision, &conditions, now)?;
        }
        Ok((ack, signed_decision))
    }

    /// For a released production (not a preservation) and a configured dataset: collects and
    /// seals the evidence and records the package with the request. A failure here does not
    /// undo the decision: it is recorded, and the package is absent.
    pub(crate) fn store_package(
        &self,
        request: &EvidenceRequest,
        conditions: &evx_protocol::purpose::Conditions,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        if request.request_type == evx_protocol::document::RequestType::Preservation {
            return Ok(());
        }
        // A production citing an active preservation is collected from the preserved copy,
        // which releases the hold; otherwise from the live dataset.
        let hold = match request.preservation_ref {
            Some(p) => self
                .active_hold(&request.requesting_party, &p, now)?
                .map(|h| (p, h)),
            None => None,
        };
        let source = match &hold {
            Some((_, h)) => h.dir.clone().or_else(|| self.dataset.clone()),
            None => self.dataset.clone(),
        };
        let Some(source) = source else {
            return Ok(());
        };
        let packages = self.seal(&source, request, conditions, now).map_err(|e| {
            Refusal::Unavailable(format!("collecting or sealing the evidence: {e}"))
        })?;
        {
            let db = self.db.lock().map_err(unavailable)?;
            for (seq, (path, id, length)) in packages.iter().enumerate() {
                db.execute(
                    "INSERT OR REPLACE INTO packages (package_id, request_id, seq, path, length) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        id.0.as_slice(),
                        request.request_id.0.as_slice(),
                        seq as i64,
                        path.display().to_string(),
                        *length as i64
                    ],
                )
                .map_err(unavailable)?;
            }
            db.execute(
                "UPDATE requests SET package = ?2, package_error = NULL WHERE request_id = ?1",
                params![
                    request.request_id.0.as_slice(),
                    packages.first().map(|(p, ..)| p.display().to_string()),
                ],
            )
            .map_err(unavailable)?;
        }
        if let (Some((p, _)), false) = (hold, packages.is_empty()) {
            self.release_hold(&p, request.request_id, now)?;
        }
        Ok(())
    }

    /// Carries out a decision that releases something: a preservation places its hold (until
    /// the decision's `preserve_until`); a production is collected and sealed.
    pub(crate) fn execute(
        &self,
        request: &EvidenceRequest,
        decision: &Decision,
        conditions: &evx_protocol::purpose::Conditions,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        if request.request_type == evx_protocol::document::RequestType::Preservation {
            let until = decision.due.preserve_until.unwrap_or_else(|| {
                now.plus_secs(u64::from(self.agreement.preservation.initial_days) * 86_400)
            });
            self.place_hold(request, until, now)
        } else {
            self.store_package(request, conditions, now)
        }
    }

    /// The provider dataset evidence is collected from, if configured.
    pub(crate) fn dataset(&self) -> Option<&std::path::Path> {
        self.dataset.as_deref()
    }

    /// The node's data directory.
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// This node's side of witnessing: its log and witness key.
    pub fn witnessing(&self) -> evx_node::witnessing::Me<'_> {
        evx_node::witnessing::Me {
            log: &self.audit,
            witness: &self.witness,
            actor: self.actor("witness"),
        }
    }

    /// Refuses exchanges with a party whose log conflicts with what this node cosigned.
    pub fn check_peer(&self, party: &PartyId) -> Result<(), Refusal> {
        let keys = self
            .registry
            .peer_keys(party)
            .ok_or_else(|| Refusal::UnknownParty(format!("{party} has no usable log keys")))?;
        if self
            .audit
            .has_conflict(keys.log.name())
            .map_err(unavailable)?
        {
            return Err(Refusal::Conflict(format!(
                "the audit log of {party} conflicts with what {} cosigned; exchanges are stopped until the conflict is resolved (see `evx status`)",
                self.party
            )));
        }
        Ok(())
    }

    /// This node's party.
    pub fn party(&self) -> &PartyId {
        &self.party
    }

    /// This node's document-signing public key.
    pub(crate) fn own_key(&self) -> evx_protocol::crypto::VerifyingKey {
        self.documents.verifying_key()
    }

    /// The request store.
    pub(crate) fn db(&self) -> &Mutex<rusqlite::Connection> {
        &self.db
    }

    /// The peer registry.
    pub fn registry(&self) -> &RegistryFile {
        &self.registry
    }

    /// The agreement in force.
    pub fn agreement(&self) -> &Agreement {
        &self.agreement
    }

    /// Signs a document (a decision, a withdrawal) with the node's document key.
    /// Verifies a document `from` sent with the document key the registry lists for it.
    pub(crate) fn verify_from<T: evx_protocol::document::Document>(
        &self,
        from: &PartyId,
        signed: &Signed<T>,
    ) -> Result<T, Refusal> {
        let entry = self
            .registry
            .party(from)
            .ok_or_else(|| Refusal::UnknownParty(format!("{from} is not in the registry")))?;
        let key = evx_node::pki::registry_documents_key(entry)
            .ok_or_else(|| Refusal::UnknownParty(format!("{from} has no usable document key")))?;
        signed
            .verify(&key)
            .map_err(|_| Refusal::BadSignature(from.clone()))
    }

    /// The per-party rate limit its configuration sets: exchanges a second, and the burst.
    pub fn rate_limit(&self) -> (u32, u32) {
        self.rate
    }

    pub(crate) fn swept_at(&self) -> &std::sync::atomic::AtomicU64 {
        &self.swept_at
    }

    /// The key this node signs its documents with, for checking what it stored.
    pub(crate) fn documents_key(&self) -> evx_protocol::crypto::VerifyingKey {
        self.documents.verifying_key()
    }

    pub(crate) fn sign<T: evx_protocol::document::Document>(
        &self,
        document: &T,
    ) -> Result<Signed<T>, evx_protocol::document::DocumentError> {
        Signed::sign(document, &self.documents)
    }

    /// Collects what an accepted request covers and seals it to the requesting party, in as
    /// many packages as the node's package limit needs (whole items each, in order); returns
    /// each package's file, id and length. Collection reads and writes files, memory stays flat.
    fn seal(
        &self,
        dataset: &std::path::Path,
        request: &EvidenceRequest,
        conditions: &evx_protocol::purpose::Conditions,
        now: UnixTime,
    ) -> Result<Vec<(std::path::PathBuf, PackageId, u64)>, String> {
        let work = self
            .data_dir
            .join("collected")
            .join(request.request_id.to_string());
        // The collected plaintext never outlives this call, whatever fails: it is case data.
        let _cleanup = Cleanup(vec![work.clone()]);
        let items =
            crate::dataset::collect(dataset, request, &work, now).map_err(|e| e.to_string())?;
        let mut groups: Vec<Vec<&crate::dataset::Collected>> = vec![Vec::new()];
        let mut size = 0u64;
        for item in &items {
            let len = item.spec.length;
            if let Some(g) = groups.last_mut()
                && !g.is_empty()
                && size.saturating_add(len) > self.package_max
            {
                groups.push(Vec::new());
                size = 0;
            }
            if let Some(g) = groups.last_mut() {
                g.push(item);
            }
            size = size.saturating_add(len);
        }
        let mut sealed = Vec::with_capacity(groups.len());
        for (seq, group) in groups.iter().enumerate() {
            match self.seal_items(group, seq, request, conditions, now) {
                Ok(p) => sealed.push(p),
                Err(e) => {
                    // None of the request's packages is recorded: none may stay behind.
                    for (path, ..) in &sealed {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(e);
                }
            }
        }
        Ok(sealed)
    }

    /// Seals one package of collected items.
    fn seal_items(
        &self,
        items: &[&crate::dataset::Collected],
        seq: usize,
        request: &EvidenceRequest,
        conditions: &evx_protocol::purpose::Conditions,
        now: UnixTime,
    ) -> Result<(std::path::PathBuf, PackageId, u64), String> {
        use std::io::Read as _;
        let recipient = self
            .registry
            .hpke(&request.requesting_party)
            .ok_or("the requesting party has no HPKE key in the registry")?;
        let dir = self.data_dir.join("packages");
        let partial = dir.join(format!("{}-{seq}.evx1.partial", request.request_id));
        // A half-written package never outlives this call.
        let _cleanup = Cleanup(vec![partial.clone()]);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
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
        for item in items {
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
        let length = file.metadata().map_err(|e| e.to_string())?.len();
        let path = dir.join(format!("{}.evx1", sealed.package_id));
        std::fs::rename(&partial, &path).map_err(|e| e.to_string())?;
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
        Ok((path, sealed.package_id, length))
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

/// Removes files and directories when dropped.
struct Cleanup(Vec<std::path::PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// A request's row as a fetch reads it: party, decision, package path, package error.
type DeliveryRow = (
    String,
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
);

/// What a fetch finds for a request.
#[derive(Debug)]
pub struct Delivery {
    /// The decision as it stands.
    pub decision: Signed<Decision>,
    /// The withdrawal, if the request was withdrawn (then there is no package).
    pub withdrawal: Option<Signed<evx_protocol::document::Withdrawal>>,
    /// The sealed packages not yet acknowledged by a receipt, in order: file, id, length.
    pub packages: Vec<(std::path::PathBuf, PackageId, u64)>,
    /// Why there is no package although the request was accepted, if sealing failed.
    pub package_error: Option<String>,
    /// The decision's `release_not_before`: no package leaves before it.
    pub held_until: Option<UnixTime>,
}

impl Desk {
    /// The decision and package of a request `from` made. Another party's request is "not
    /// found", exactly like an unknown one: a party learns nothing about others' requests.
    pub fn delivery(&self, from: &PartyId, request: &RequestId) -> Result<Delivery, Refusal> {
        let not_found =
            || Refusal::NotFound(format!("no request {request} from {from} is known here"));
        let row: Option<DeliveryRow> = {
            let db = self.db.lock().map_err(unavailable)?;
            db.query_row(
                "SELECT party, decision, package, package_error, withdrawal FROM requests \
                 WHERE request_id = ?1",
                params![request.0.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(unavailable)?
        };
        let Some((party, decision, package, package_error, withdrawal)) = row else {
            return Err(not_found());
        };
        if party != from.as_str() {
            return Err(not_found());
        }
        let decision = decision.ok_or_else(|| {
            Refusal::Unavailable(format!("request {request} has no decision recorded yet"))
        })?;
        let decision: Signed<Decision> = Signed::decode_owned(decision).map_err(unavailable)?;
        let held_until = decision
            .verify(&self.documents.verifying_key())
            .map_err(unavailable)?
            .due
            .release_not_before;
        let withdrawal = withdrawal
            .map(Signed::decode_owned)
            .transpose()
            .map_err(unavailable)?;
        let packages = if withdrawal.is_some() {
            Vec::new()
        } else {
            self.undelivered(request, package)?
        };
        Ok(Delivery {
            decision,
            withdrawal,
            packages,
            package_error,
            held_until,
        })
    }

    /// The request's packages without a receipt, in order (a request sealed before packages
    /// were listed separately has its one package in the request's row).
    fn undelivered(
        &self,
        request: &RequestId,
        legacy: Option<String>,
    ) -> Result<Vec<(std::path::PathBuf, PackageId, u64)>, Refusal> {
        let rows: Vec<(Vec<u8>, String, i64, bool)> = {
            let db = self.db.lock().map_err(unavailable)?;
            let mut stmt = db
                .prepare(
                    "SELECT package_id, path, length, receipt IS NOT NULL FROM packages \
                     WHERE request_id = ?1 ORDER BY seq",
                )
                .map_err(unavailable)?;
            stmt.query_map(params![request.0.as_slice()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(unavailable)?
            .collect::<Result<_, _>>()
            .map_err(unavailable)?
        };
        if rows.is_empty() {
            let Some(p) = legacy else {
                return Ok(Vec::new());
            };
            let acknowledged: bool = {
                let db = self.db.lock().map_err(unavailable)?;
                db.query_row(
                    "SELECT receipt IS NOT NULL FROM requests WHERE request_id = ?1",
                    params![request.0.as_slice()],
                    |r| r.get(0),
                )
                .map_err(unavailable)?
            };
            if acknowledged {
                return Ok(Vec::new());
            }
            let path = std::path::PathBuf::from(p);
            let file = std::fs::File::open(&path)
                .map_err(|e| Refusal::Unavailable(format!("the sealed package is missing: {e}")))?;
            let length = file.metadata().map_err(unavailable)?.len();
            let reader = evx_protocol::package::PackageReader::new(std::io::BufReader::new(file))
                .map_err(unavailable)?;
            return Ok(vec![(path, reader.package_id(), length)]);
        }
        rows.into_iter()
            .filter(|(.., received)| !received)
            .map(|(id, path, length, _)| {
                Ok((
                    std::path::PathBuf::from(path),
                    PackageId(id.try_into().map_err(|_| unavailable("bad package id"))?),
                    length as u64,
                ))
            })
            .collect()
    }

    /// Records that a package's bytes were sent in full to the requesting party.
    pub fn delivered(
        &self,
        request: RequestId,
        package_id: PackageId,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        self.audit
            .append(
                &Event {
                    v: 1,
                    at: now,
                    actor: self.actor("delivery"),
                    kind: EventKind::PackageDelivered { package_id },
                    request: Some(request),
                    case: None,
                    purpose: None,
                    subjects: Vec::new(),
                },
                vec![],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    /// Verifies and records the requesting party's receipt for a delivered package.
    pub fn receipt(
        &self,
        from: &PartyId,
        delivered: PackageId,
        request: RequestId,
        signed: &Signed<Receipt>,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let receipt = self.verify_from(from, signed)?;
        // The receipt must prove its entry in the requesting party's log.
        let peer = self
            .registry
            .peer_keys(from)
            .ok_or_else(|| Refusal::UnknownParty(format!("{from} has no usable log keys")))?;
        let entry = receipt.log_entry.as_ref().ok_or_else(|| {
            Refusal::Mismatch("the receipt carries no entry of the requesting party's log".into())
        })?;
        let event = evx_protocol::witnessing::verify_entry(entry, &peer.log)
            .map_err(|e| Refusal::Mismatch(format!("the receipt's log entry: {e}")))?;
        if !matches!(event.kind, EventKind::PackageReceived { package_id } if package_id == delivered)
            || event.request != Some(request)
        {
            return Err(Refusal::Mismatch(
                "the receipt's log entry does not record this package's receipt".into(),
            ));
        }
        if receipt.request_id != request || receipt.package_id != delivered {
            return Err(Refusal::Mismatch(format!(
                "the receipt names request {} and package {}, but package {delivered} of request {request} was delivered",
                receipt.request_id, receipt.package_id
            )));
        }
        let sealed: Option<String> = {
            let db = self.db.lock().map_err(unavailable)?;
            db.execute(
                "UPDATE packages SET receipt = ?2 WHERE package_id = ?1",
                params![delivered.0.as_slice(), signed.encode()],
            )
            .map_err(unavailable)?;
            let sealed = db
                .query_row(
                    "SELECT path FROM packages WHERE package_id = ?1",
                    params![delivered.0.as_slice()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            // The request counts as delivered once every package has its receipt.
            let missing: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM packages WHERE request_id = ?1 AND receipt IS NULL",
                    params![request.0.as_slice()],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            if missing == 0 {
                db.execute(
                    "UPDATE requests SET receipt = ?2 WHERE request_id = ?1",
                    params![request.0.as_slice(), signed.encode()],
                )
                .map_err(unavailable)?;
            }
            sealed
        };
        // The requesting party holds the package and has said so in a signed receipt: the
        // sealed copy (readable only by that party) has no further use here and may be large.
        // The receipt and the package's id stay recorded; a file left by a crash between the
        // two steps is only wasted space.
        if let Some(path) = sealed {
            let _ = std::fs::remove_file(path);
        }
        self.audit
            .append(
                &Event {
                    v: 1,
                    at: now,
                    actor: self.actor("delivery"),
                    kind: EventKind::ReceiptReceived {
                        receipt_digest: signed.digest(),
                    },
                    request: Some(request),
                    case: None,
                    purpose: None,
                    subjects: Vec::new(),
                },
                vec![],
            )
            .map_err(unavailable)?;
        Ok(())
    }
}

/// What a decision releases, if anything: the request as granted (a partial execution keeps
/// only the categories it grants) and the conditions attached.
pub(crate) fn released(
    request: &EvidenceRequest,
    decision: &Decision,
) -> Option<(EvidenceRequest, evx_protocol::purpose::Conditions)> {
    match &decision.outcome {
        Outcome::Accept { conditions } => Some((request.clone(), conditions.clone())),
        Outcome::Partial {
            categories,
            conditions,
            ..
        } => {
            let mut granted = request.clone();
            granted.categories.clone_from(categories);
            Some((granted, conditions.clone()))
        }
        _ => None,
    }
}
