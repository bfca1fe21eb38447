//! The requesting party's node: signs, audits and sends requests, follows their decisions,
//! fetches and verifies evidence packages and answers each with a signed receipt.
//!
//! Everything the node does with a request is appended to its own audit log before or as it
//! happens: `request_created` when signed, `request_sent` before the bytes leave,
//! `acknowledgement_received` and `decision` when the requested party's signed answers verify,
//! `package_received` once a package has been verified in full, and `receipt_sent` with the
//! receipt that carries the inclusion proof of that entry. The requested party is identified by
//! the registry twice over: its TLS key must be the one registered for the party the request is
//! addressed to (the deployment CA alone would let any node pose as any other), and every
//! document it returns must verify with its registered document key.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use evx_node::audit::{AuditLog, StoreError};
use evx_node::group_commit::blocking;
use evx_node::pki::{ConfigError, NodeConfig, RegistryFile, registry_documents_key};
use evx_node::transport::{ConnectError, Limits, TlsFiles, client_config, peer_spki_sha256};
use evx_node::vault;
use evx_node::wire::{WireError, read_message, write_message};
use evx_node::witnessing::{self, PeerKeys};
use evx_protocol::audit::{Actor, Commitment, Event, EventKind, OutcomeKind, Salt};
use evx_protocol::crypto::{HpkeSecretKey, KeyFile, SigningKey, VerifyingKey};
use evx_protocol::delivery::{Fetch, PackageOffer};
use evx_protocol::document::{
    Acknowledgement, Decision, EvidenceRequest, JudicialValidation, Receipt, Signed,
};
use evx_protocol::frame::{ErrorReport, Message};
use evx_protocol::ids::{PackageId, PartyId, RequestId, UnixTime};
use evx_protocol::note::NoteSigner;
use evx_protocol::package::{PackageReader, VerifyOnly};
use evx_protocol::policy::{self, Agreement, Channel, Intake, Trace};
use evx_protocol::purpose::DeclaredPurpose;
use evx_protocol::rand_core::{Rng as _, UnwrapErr};
use rusqlite::{OptionalExtension as _, params};
use tokio::io::AsyncWriteExt as _;

/// The largest package a fetch accepts: 1 TiB. Checked against the offer before a byte is
/// written.
pub const MAX_PACKAGE: u64 = 1 << 40;

/// Why the requesting node could not do what was asked. Each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A configuration, key or registry file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The audit log.
    #[error("audit log: {0}")]
    Audit(#[from] StoreError),
    /// The node's own request store or files.
    #[error("{0}")]
    Store(String),
    /// The connection failed or was refused.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The requested party refused, with its error report.
    #[error("{party} refused (code {code}): {message}")]
    Refused {
        /// Who refused.
        party: PartyId,
        /// The report's code (see `docs/protocol.md` §3.1).
        code: u16,
        /// Its explanation, with control characters already replaced.
        message: String,
    },
    /// The requested party answered something the protocol does not allow at that point, or a
    /// document that does not verify with its registered key.
    #[error("{0}")]
    Protocol(String),
    /// A delivered package failed verification and was discarded.
    #[error("package from {party} rejected and discarded: {reason}")]
    PackageRejected {
        /// Who sent it.
        party: PartyId,
        /// Why.
        reason: String,
    },
    /// The peer's audit log conflicts with what this node cosigned (or the peer says so of
    /// this node's): exchanges with it are stopped.
    #[error("{0}")]
    Conflict(String),
    /// The delivery was cut off; what arrived is kept and the next fetch resumes from it.
    #[error(
        "the delivery from {party} was cut off after {have} of {total} bytes ({reason}); `evx fetch` again resumes from there"
    )]
    Interrupted {
        /// Who was delivering.
        party: PartyId,
        /// What happened.
        reason: String,
        /// Bytes held.
        have: u64,
        /// The package's length.
        total: u64,
    },
    /// No such request in this node's store.
    #[error("no request {0} in this node's store; `evx request list` shows the known ones")]
    UnknownRequest(RequestId),
}

fn store(e: impl std::fmt::Display) -> ClientError {
    ClientError::Store(e.to_string())
}

fn read_text(path: &Path) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|e| {
        ClientError::Config(ConfigError::Read {
            file: path.display().to_string(),
            reason: e.to_string(),
        })
    })
}

fn key_error(path: &Path, e: impl std::fmt::Display) -> ClientError {
    ClientError::Config(ConfigError::Read {
        file: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// A request signed and ready to send, with the validations that go with it.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The signed request.
    pub signed: Signed<EvidenceRequest>,
    /// The request, as signed.
    pub request: EvidenceRequest,
    /// Judicial validations to send after it.
    pub validations: Vec<Signed<JudicialValidation>>,
}

/// What sending a request gave back, verified.
#[derive(Clone, Debug)]
pub struct Sent {
    /// The requested party's acknowledgement.
    pub acknowledgement: Acknowledgement,
    /// Its decision.
    pub decision: Decision,
    /// Where `request_sent` is in this node's log.
    pub sent_index: u64,
}

/// A request as this node knows it.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    /// The request.
    pub request: EvidenceRequest,
    /// To whom it went.
    pub to: PartyId,
    /// When it was sent, if it was.
    pub sent_at: Option<UnixTime>,
    /// The acknowledgement, if received.
    pub acknowledgement: Option<Acknowledgement>,
    /// The latest decision, if received.
    pub decision: Option<Decision>,
    /// Packages received for it.
    pub packages: Vec<PackageRecord>,
    /// The withdrawal, if the request was withdrawn.
    pub withdrawal: Option<evx_protocol::document::Withdrawal>,
    /// A judicial validation was sent after the request.
    pub validation_sent: bool,
    /// A package partly received, to be resumed by the next fetch.
    pub download: Option<Download>,
}

/// A package partly received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// The package.
    pub package_id: PackageId,
    /// Bytes held.
    pub have: u64,
    /// Its length.
    pub total: u64,
}

/// A package received and verified.
#[derive(Clone, Debug)]
pub struct PackageRecord {
    /// Its id.
    pub package_id: PackageId,
    /// Where it is stored, still sealed.
    pub path: PathBuf,
    /// Its size on disk.
    pub sealed_length: u64,
    /// Its plaintext length, from the verified manifest.
    pub length: u64,
    /// How many evidence items it carries.
    pub items: usize,
    /// The plaintext Merkle root, from the verified manifest.
    pub root: [u8; 32],
    /// When it was received.
    pub received_at: UnixTime,
}

/// Progress of a download: bytes received so far, of the total.
pub type Progress<'a> = &'a mut (dyn FnMut(u64, u64) + Send);

/// The requesting party's node.
pub struct Requester {
    party: PartyId,
    data_dir: PathBuf,
    documents: SigningKey,
    witness: NoteSigner,
    hpke: std::sync::Arc<HpkeSecretKey>,
    registry: RegistryFile,
    agreement: Agreement,
    audit: AuditLog,
    tls: TlsFiles,
    db: Mutex<rusqlite::Connection>,
    /// Writes on a request's way out and back, group-committed across concurrent requests.
    writer: evx_node::group_commit::GroupCommit,
    /// Open connections, one per peer and address, reused by the exchanges that follow.
    connections: tokio::sync::Mutex<Vec<Peer>>,
    /// What the last witnessing exchange achieved, or why it failed.
    witnessed: Mutex<Option<Result<witnessing::Report, String>>>,
    /// When each peer was last witnessed, and how often a long-lived node witnesses.
    witnessed_at: Mutex<Vec<(PartyId, std::time::Instant)>>,
    witness_interval: std::time::Duration,
    /// How many connections to one peer exchanges are spread over, and the next to use.
    connections_per_peer: usize,
    next_connection: std::sync::atomic::AtomicUsize,
    /// The node key that wraps packages' data keys.
    kek: vault::Kek,
    /// The key store: packages' wrapped data keys.
    keys: Mutex<rusqlite::Connection>,
}

/// An open connection to a peer's node.
struct Peer {
    party: PartyId,
    address: Option<std::net::SocketAddr>,
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
}

impl Requester {
    /// Opens the node a configuration describes: keys, registry, agreement, audit log and
    /// request store.
    pub fn open(config: &NodeConfig) -> Result<Self, ClientError> {
        let documents = KeyFile::parse(&read_text(&config.keys.documents)?)
            .and_then(|k| k.signing_key())
            .map_err(|e| key_error(&config.keys.documents, e))?;
        let hpke = KeyFile::parse(&read_text(&config.keys.hpke)?)
            .and_then(|k| k.hpke_secret_key())
            .map_err(|e| key_error(&config.keys.hpke, e))?;
        let log_key = NoteSigner::parse(read_text(&config.keys.log)?.trim())
            .map_err(|e| key_error(&config.keys.log, e))?;
        let witness = NoteSigner::parse(read_text(&config.keys.witness)?.trim())
            .map_err(|e| key_error(&config.keys.witness, e))?;
        let registry = RegistryFile::load(&config.registry)?;
        let agreement = Agreement::from_toml(
            &read_text(&config.agreement)?,
            &config.agreement.display().to_string(),
        )
        .map_err(|e| ClientError::Config(ConfigError::Pki(e.to_string())))?;
        let tls = TlsFiles::load(
            &config.keys.tls_cert,
            &config.keys.tls_key,
            &config.ca_cert,
            &config.crl,
        )?;
        config.create_data_dir()?;
        let audit = AuditLog::open(&config.data_dir.join("audit"), log_key)?;
        let db = crate::store::open(&config.data_dir.join("requests.sqlite")).map_err(store)?;
        let kek =
            vault::Kek::load_or_create(&config.data_dir.join("keys/vault.key")).map_err(store)?;
        let keys = crate::store::open_keys(&config.data_dir.join("keys/data-keys.sqlite"))
            .map_err(store)?;
        Ok(Self {
            party: config.party.clone(),
            data_dir: config.data_dir.clone(),
            documents,
            witness,
            hpke: std::sync::Arc::new(hpke),
            registry,
            agreement,
            audit,
            tls,
            db: Mutex::new(db),
            writer: evx_node::group_commit::GroupCommit::open(
                &config.data_dir.join("requests.sqlite"),
            )
            .map_err(store)?,
            connections: tokio::sync::Mutex::new(Vec::new()),
            witnessed: Mutex::new(None),
            witnessed_at: Mutex::new(Vec::new()),
            witness_interval: std::time::Duration::ZERO,
            connections_per_peer: 1,
            next_connection: std::sync::atomic::AtomicUsize::new(0),
            kek,
            keys: Mutex::new(keys),
        })
    }

    /// Witnesses a peer after an exchange only if it was last witnessed longer ago than
    /// `interval` (default zero: after every exchange, as a command that makes one exchange
    /// needs). A long-lived node making many exchanges a second — a gateway, a benchmark —
    /// cross-witnesses once per interval instead of once per request.
    #[must_use]
    pub fn with_witness_interval(mut self, interval: std::time::Duration) -> Self {
        self.witness_interval = interval;
        self
    }

    /// Spreads exchanges with a peer over up to `n` connections (default 1), opened as needed
    /// and used in turn: many exchanges in flight are not all queued behind one connection's
    /// congestion window and stream limit.
    #[must_use]
    pub fn with_connections_per_peer(mut self, n: usize) -> Self {
        self.connections_per_peer = n.max(1);
        self
    }

    /// This node's party.
    pub fn party(&self) -> &PartyId {
        &self.party
    }

    /// Its audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Its HPKE key (packages are sealed to it).
    pub fn hpke(&self) -> &HpkeSecretKey {
        &self.hpke
    }

    /// The registry it trusts.
    pub fn registry(&self) -> &RegistryFile {
        &self.registry
    }

    fn actor(&self, by: &str) -> Actor {
        Actor {
            party: self.party.clone(),
            by: by.to_owned(),
        }
    }

    fn event(&self, by: &str, kind: EventKind, request: &EvidenceRequest, now: UnixTime) -> Event {
        Event {
            v: 1,
            at: now,
            actor: self.actor(by),
            kind,
            request: Some(request.request_id),
            case: None,
            purpose: Some(request.purpose),
            subjects: Vec::new(),
        }
    }

    fn documents_key(&self, party: &PartyId) -> Result<VerifyingKey, ClientError> {
        self.registry
            .party(party)
            .and_then(registry_documents_key)
            .ok_or_else(|| {
                ClientError::Protocol(format!(
                    "{party} has no usable document key in the registry; add it to {}",
                    "registry.toml"
                ))
            })
    }

    /// Signs a request (with validations already signed by their authorities).
    pub fn prepare(
        &self,
        request: EvidenceRequest,
        validations: Vec<Signed<JudicialValidation>>,
    ) -> Result<Prepared, ClientError> {
        let signed = Signed::sign(&request, &self.documents)
            .map_err(|e| ClientError::Protocol(format!("the request cannot be signed: {e}")))?;
        Ok(Prepared {
            signed,
            request,
            validations,
        })
    }

    /// Signs `request` for a local check.
    pub fn sign(&self, request: &EvidenceRequest) -> Result<Signed<EvidenceRequest>, ClientError> {
        Signed::sign(request, &self.documents)
            .map_err(|e| ClientError::Protocol(format!("the request cannot be signed: {e}")))
    }

    /// Runs the policy engine on a prepared request with this node's copy of the agreement and
    /// registry: the same rules the requested party applies, for early feedback.
    pub fn check(&self, prepared: &Prepared, now: UnixTime) -> Trace {
        let registry = self.registry.policy_registry();
        // The requested party records a request (rule R16) before it evaluates it; locally
        // there is no such entry yet, so the check stands in index 0 for it.
        let intake = Intake::new(
            &prepared.signed,
            &prepared.request,
            now,
            Channel::MUTUAL_TLS,
        )
        .with_log_index(0)
        .with_validations(&prepared.validations);
        policy::evaluate(&self.agreement, &registry, &intake)
    }

    /// Connects to `party`'s node at `address` (or its registry address), and checks that the
    /// node presented the TLS key the registry lists for that party.
    pub async fn connect(
        &self,
        party: &PartyId,
        address: Option<std::net::SocketAddr>,
    ) -> Result<(quinn::Endpoint, quinn::Connection), ClientError> {
        let entry = self
            .registry
            .party(party)
            .ok_or_else(|| ClientError::Protocol(format!("{party} is not in the registry")))?;
        let address = address.or(entry.address).ok_or_else(|| {
            ClientError::Protocol(format!(
                "the registry lists no address for {party}; give one with --address"
            ))
        })?;
        let local: std::net::SocketAddr = if address.is_ipv6() {
            "[::]:0".parse().map_err(store)?
        } else {
            "0.0.0.0:0".parse().map_err(store)?
        };
        let mut endpoint = quinn::Endpoint::client(local)
            .map_err(|e| ConnectError::Other(format!("cannot open a UDP socket: {e}")))?;
        endpoint.set_default_client_config(client_config(&self.tls, Limits::default())?);
        let conn = endpoint
            .connect(address, "localhost")
            .map_err(|e| ConnectError::Other(format!("{address}: {e}")))?
            .await
            .map_err(|e| ConnectError::from_connection(&e))?;
        if peer_spki_sha256(&conn).as_deref() != Some(entry.tls_spki_sha256.as_str()) {
            conn.close(0u32.into(), b"not the expected party");
            return Err(ConnectError::Authentication(format!(
                "the node at {address} is a node of this deployment, but not {party}: its TLS key \
                 is not the one the registry lists for {party}"
            ))
            .into());
        }
        Ok((endpoint, conn))
    }

    fn peer_keys(&self, party: &PartyId) -> Result<PeerKeys, ClientError> {
        self.registry.peer_keys(party).ok_or_else(|| {
            ClientError::Protocol(format!(
                "{party} has no usable log and witness keys in the registry"
            ))
        })
    }

    /// This node's side of witnessing.
    fn me(&self) -> witnessing::Me<'_> {
        witnessing::Me {
            log: &self.audit,
            witness: &self.witness,
            actor: self.actor("witness"),
        }
    }

    /// Cross-witnessing with `party`: this node's latest checkpoint cosigned by the peer, the
    /// peer's cosigned by this node. Run after every exchange; a conflict stops exchanges.
    pub async fn witness(
        &self,
        party: &PartyId,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
    ) -> Result<witnessing::Report, ClientError> {
        let peer = self.peer_keys(party)?;
        let conn = self.connection(party, address).await?;
        let (mut send, mut recv) = Self::open_stream(&conn).await?;
        witnessing::initiate(&self.me(), &peer, &mut send, &mut recv, now.0)
            .await
            .map_err(|e| match e {
                witnessing::WitnessingError::Conflict { .. }
                | witnessing::WitnessingError::ConflictReported(_) => {
                    ClientError::Conflict(e.to_string())
                }
                other => ClientError::Protocol(other.to_string()),
            })
    }

    /// Witnessing after an exchange: a conflict is an error (exchanges stop); any other
    /// failure is kept for [`Self::last_witnessing`] and the exchange stands.
    async fn witness_after(
        &self,
        party: &PartyId,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        if !self.witness_interval.is_zero() {
            // Taken now, so that exchanges finishing meanwhile do not all witness at once.
            let mut at = self.witnessed_at.lock().map_err(store)?;
            let recent = at
                .iter()
                .any(|(p, t)| p == party && t.elapsed() < self.witness_interval);
            if recent {
                return Ok(());
            }
            at.retain(|(p, _)| p != party);
            at.push((party.clone(), std::time::Instant::now()));
        }
        let result = self.witness(party, address, now).await;
        // Only a witnessing that worked counts: after a failure the next exchange tries again.
        if result.is_err()
            && let Ok(mut at) = self.witnessed_at.lock()
        {
            at.retain(|(p, _)| p != party);
        }
        let kept = match &result {
            Ok(r) => Ok(r.clone()),
            Err(e) => Err(e.to_string()),
        };
        if let Ok(mut w) = self.witnessed.lock() {
            *w = Some(kept);
        }
        match result {
            Err(ClientError::Conflict(e)) => Err(ClientError::Conflict(e)),
            _ => Ok(()),
        }
    }

    /// What the last witnessing exchange achieved (sizes cosigned each way), or why it failed.
    pub fn last_witnessing(&self) -> Option<Result<witnessing::Report, String>> {
        self.witnessed.lock().ok().and_then(|w| w.clone())
    }

    /// A connection to `party`'s node: the open one if there is one, else a new one.
    async fn connection(
        &self,
        party: &PartyId,
        address: Option<std::net::SocketAddr>,
    ) -> Result<quinn::Connection, ClientError> {
        let keys = self.peer_keys(party)?;
        if self.audit.has_conflict(keys.log.name())? {
            return Err(ClientError::Conflict(format!(
                "CONFLICT: the audit log of {party} contradicts what this node cosigned; exchanges with {party} are stopped (see `evx status`)"
            )));
        }
        let mut peers = self.connections.lock().await;
        peers.retain(|p| p.connection.close_reason().is_none());
        let open: Vec<&Peer> = peers
            .iter()
            .filter(|p| &p.party == party && p.address == address)
            .collect();
        let turn = self
            .next_connection
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !open.is_empty() && open.len() >= self.connections_per_peer {
            return Ok(open[turn % open.len()].connection.clone());
        }
        let (endpoint, connection) = match self.connect(party, address).await {
            Ok(c) => c,
            // Another connection to the peer is open: use it rather than fail the exchange.
            Err(_) if !open.is_empty() => {
                return Ok(open[turn % open.len()].connection.clone());
            }
            Err(e) => return Err(e),
        };
        peers.push(Peer {
            party: party.clone(),
            address,
            endpoint,
            connection: connection.clone(),
        });
        Ok(connection)
    }

    /// Closes the open connections and waits until the peers have been told.
    pub async fn close(&self) {
        let peers = std::mem::take(&mut *self.connections.lock().await);
        for p in &peers {
            p.connection.close(0u32.into(), b"done");
        }
        for p in peers {
            p.endpoint.wait_idle().await;
        }
    }

    /// Opens a stream; a refusal of this node's certificate surfaces here in TLS 1.3.
    async fn open_stream(
        conn: &quinn::Connection,
    ) -> Result<(quinn::SendStream, quinn::RecvStream), ClientError> {
        conn.open_bi()
            .await
            .map_err(|e| ConnectError::from_connection(&e).into())
    }

    /// Sends one document on a stream of its own: the peer takes it in and ends the stream,
    /// or reports why not.
    async fn send_one(
        &self,
        to: &PartyId,
        address: Option<std::net::SocketAddr>,
        message: &Message,
    ) -> Result<(), ClientError> {
        let conn = self.connection(to, address).await?;
        let (mut send, mut recv) = Self::open_stream(&conn).await?;
        write_message(&mut send, message)
            .await
            .map_err(|e| Self::stream_error(&conn, e))?;
        let _ = send.finish();
        match read_message(&mut recv)
            .await
            .map_err(|e| Self::stream_error(&conn, e))?
        {
            None => Ok(()),
            Some(Message::Error(r)) => Err(self.refused(to, &r)),
            other => Err(ClientError::Protocol(format!(
                "expected the end of the stream, got {}",
                describe(other.as_ref())
            ))),
        }
    }

    fn stream_error(conn: &quinn::Connection, e: WireError) -> ClientError {
        match conn.close_reason() {
            Some(reason) => ConnectError::from_connection(&reason).into(),
            None => ClientError::Protocol(format!("the requested party's answer: {e}")),
        }
    }

    /// Records, signs off and sends a prepared request to `to`; returns the verified
    /// acknowledgement and decision.
    pub async fn send(
        &self,
        prepared: &Prepared,
        to: &PartyId,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
    ) -> Result<Sent, ClientError> {
        let request = &prepared.request;
        let provider = self.documents_key(to)?;
        let rng = &mut UnwrapErr(getrandom::SysRng);
        let mut salt: Salt = [0; 32];
        rng.fill_bytes(&mut salt);
        {
            let (id, party, bytes) = (
                request.request_id.0.to_vec(),
                to.as_str().to_owned(),
                prepared.signed.encode(),
            );
            blocking(|| {
                self.writer.write(move |db| {
                    db.execute(
                        "INSERT OR IGNORE INTO requests (request_id, to_party, request, created_at) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![id, party, bytes, now.0 as i64],
                    )
                })
            })
            .map_err(store)?;
        }
        let mut created = self.event(
            "requester",
            EventKind::RequestCreated {
                request_digest: prepared.signed.digest(),
            },
            request,
            now,
        );
        created.case = Some(Commitment::commit(
            request.case_id.as_str().as_bytes(),
            &salt,
        ));
        let conn = self.connection(to, address).await?;
        // Created and sent are recorded in one durable commit, before the request leaves.
        let sent = self.event(
            "requester",
            EventKind::RequestSent {
                request_digest: prepared.signed.digest(),
                to: to.clone(),
            },
            request,
            now,
        );
        let indexes = blocking(|| {
            self.audit.append_all(vec![
                (&created, vec![("case".into(), salt)]),
                (&sent, vec![]),
            ])
        })?;
        let sent_index = indexes.last().copied().ok_or_else(|| {
            ClientError::Protocol("the audit log recorded nothing for the request".into())
        })?;
        let (mut send, mut recv) = Self::open_stream(&conn).await?;
        let mut bytes = Message::Request(prepared.signed.clone()).encode();
        for v in &prepared.validations {
            bytes.extend(Message::Validation(v.clone()).encode());
        }
        send.write_all(&bytes)
            .await
            .map_err(|e| Self::stream_error(&conn, WireError::Stream(e.to_string())))?;
        let _ = send.finish();
        let first = read_message(&mut recv)
            .await
            .map_err(|e| Self::stream_error(&conn, e))?;
        let ack = match first {
            Some(Message::Acknowledgement(a)) => a,
            // A replay means the requested node holds this id already (an earlier attempt got
            // through and its answer was lost): keep the request, whose decision `status`
            // fetches. Any other refusal means nothing was taken in.
            Some(Message::Error(r)) if r.code() == ErrorReport::REPLAY => {
                return Err(self.refused(to, &r));
            }
            Some(Message::Error(r)) => {
                self.forget_unsent(request);
                return Err(self.refused(to, &r));
            }
            other => {
                return Err(ClientError::Protocol(format!(
                    "expected an acknowledgement, got {}",
                    describe(other.as_ref())
                )));
            }
        };
        let acknowledgement = ack.verify(&provider).map_err(|e| {
            ClientError::Protocol(format!("the acknowledgement does not verify: {e}"))
        })?;
        if acknowledgement.request_digest != prepared.signed.digest()
            || acknowledgement.request_id != request.request_id
        {
            return Err(ClientError::Protocol(
                "the acknowledgement is for another request".into(),
            ));
        }
        // The acknowledgement must prove that the request is recorded in the requested
        // party's log: the entry, its inclusion path and the log's signed checkpoint.
        let peer = self.peer_keys(to)?;
        let entry = acknowledgement.log_entry.as_ref().ok_or_else(|| {
            ClientError::Protocol("the acknowledgement carries no log entry".into())
        })?;
        let recorded = evx_protocol::witnessing::verify_entry(entry, &peer.log)
            .map_err(|e| ClientError::Protocol(format!("the acknowledgement's log entry: {e}")))?;
        if !matches!(
            &recorded.kind,
            EventKind::RequestReceived { request_digest, from }
                if *request_digest == prepared.signed.digest() && from == &self.party
        ) || recorded.request != Some(request.request_id)
        {
            return Err(ClientError::Protocol(
                "the acknowledgement's log entry does not record this request".into(),
            ));
        }
        let acknowledged = self.event(
            "requester",
            EventKind::AcknowledgementReceived {
                acknowledgement_digest: ack.digest(),
            },
            request,
            now,
        );
        let decision_msg = read_message(&mut recv)
            .await
            .map_err(|e| Self::stream_error(&conn, e))?;
        let signed_decision = match decision_msg {
            Some(Message::Decision(d)) => d,
            Some(Message::Error(r)) => return Err(self.refused(to, &r)),
            other => {
                return Err(ClientError::Protocol(format!(
                    "expected a decision, got {}",
                    describe(other.as_ref())
                )));
            }
        };
        let decision = signed_decision
            .verify(&provider)
            .map_err(|e| ClientError::Protocol(format!("the decision does not verify: {e}")))?;
        if decision.request_id != request.request_id {
            return Err(ClientError::Protocol(
                "the decision is for another request".into(),
            ));
        }
        let decided = self.event(
            "requester",
            EventKind::Decision {
                decision_digest: signed_decision.digest(),
                outcome: OutcomeKind::from(&decision.outcome),
                trace_digest: None,
            },
            request,
            now,
        );
        // The acknowledgement and the decision are stored in one transaction and logged in
        // one commit; the two stores commit side by side, and both are durable before the
        // request counts as sent. The log is asked first: it refuses only what it cannot
        // record, before anything is queued. If the store fails after the log recorded them,
        // the next `status` stores the decision again (from the requested party).
        let logged = self
            .audit
            .submit_all(vec![(&acknowledged, vec![]), (&decided, vec![])])?;
        let (id, ack_bytes, decision_bytes) = (
            request.request_id.0.to_vec(),
            ack.encode(),
            signed_decision.encode(),
        );
        let stored = self.writer.submit(move |db| {
            db.execute(
                "UPDATE requests SET sent_at = ?2, ack = ?3, decision = ?4 \
                 WHERE request_id = ?1",
                params![id, now.0 as i64, ack_bytes, decision_bytes],
            )
        });
        blocking(|| {
            let logged = logged.wait().map_err(ClientError::from);
            let stored = stored.and_then(|s| s.wait()).map_err(store);
            logged.and(stored)
        })?;
        self.witness_after(to, address, now).await?;
        Ok(Sent {
            acknowledgement,
            decision,
            sent_index,
        })
    }

    /// A request the requested party refused outright was not taken in there: forget that it
    /// was sent, so that a corrected request with the same id is not blocked here. (Its log
    /// entries stay: the log records what happened.)
    fn forget_unsent(&self, request: &EvidenceRequest) {
        if let Ok(db) = self.db.lock() {
            let _ = db.execute(
                "DELETE FROM requests WHERE request_id = ?1 AND ack IS NULL",
                params![request.request_id.0.as_slice()],
            );
        }
    }

    fn refused(&self, party: &PartyId, r: &ErrorReport) -> ClientError {
        ClientError::Refused {
            party: party.clone(),
            code: r.code(),
            message: r
                .message()
                .chars()
                .map(|c| if c.is_control() { '\u{fffd}' } else { c })
                .collect(),
        }
    }

    /// Verifies a decision, and if it is new, stores and logs it.
    fn record_decision(
        &self,
        request: &EvidenceRequest,
        signed: &Signed<Decision>,
        provider: &VerifyingKey,
        now: UnixTime,
    ) -> Result<Decision, ClientError> {
        let decision = signed
            .verify(provider)
            .map_err(|e| ClientError::Protocol(format!("the decision does not verify: {e}")))?;
        if decision.request_id != request.request_id {
            return Err(ClientError::Protocol(
                "the decision is for another request".into(),
            ));
        }
        let bytes = signed.encode();
        let changed = {
            let db = self.db.lock().map_err(store)?;
            db.execute(
                "UPDATE requests SET decision = ?2 WHERE request_id = ?1 AND (decision IS NULL OR decision != ?2)",
                params![request.request_id.0.as_slice(), bytes],
            )
            .map_err(store)?
        };
        if changed > 0 {
            self.audit.append(
                &self.event(
                    "requester",
                    EventKind::Decision {
                        decision_digest: signed.digest(),
                        outcome: OutcomeKind::from(&decision.outcome),
                        trace_digest: None,
                    },
                    request,
                    now,
                ),
                vec![],
            )?;
        }
        Ok(decision)
    }

    /// A request from this node's store.
    pub fn record(&self, id: &RequestId) -> Result<RequestRecord, ClientError> {
        let db = self.db.lock().map_err(store)?;
        let row: Option<RequestRow> = db
            .query_row(
                "SELECT to_party, request, sent_at, ack, decision, withdrawal, validation IS NOT NULL FROM requests \
                 WHERE request_id = ?1",
                params![id.0.as_slice()],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .optional()
            .map_err(store)?;
        let Some((to, request, sent_at, ack, decision, withdrawal, validation_sent)) = row else {
            return Err(ClientError::UnknownRequest(*id));
        };
        let to = PartyId::new(&to).map_err(store)?;
        let own = self.documents.verifying_key();
        let request = Signed::<EvidenceRequest>::decode_owned(request)
            .and_then(|s| s.verify(&own))
            .map_err(store)?;
        let provider = self.documents_key(&to)?;
        let acknowledgement = ack
            .map(|b| Signed::<Acknowledgement>::decode_owned(b).and_then(|s| s.verify(&provider)))
            .transpose()
            .map_err(store)?;
        let decision = decision
            .map(|b| Signed::<Decision>::decode_owned(b).and_then(|s| s.verify(&provider)))
            .transpose()
            .map_err(store)?;
        let withdrawal = withdrawal
            .map(|b| {
                Signed::<evx_protocol::document::Withdrawal>::decode_owned(b)
                    .and_then(|s| s.verify(&provider))
            })
            .transpose()
            .map_err(store)?;
        let mut stmt = db
            .prepare(
                "SELECT package_id, path, sealed_length, length, items, received_at, root FROM packages \
                 WHERE request_id = ?1 ORDER BY received_at, rowid",
            )
            .map_err(store)?;
        let packages = stmt
            .query_map(params![id.0.as_slice()], |r| {
                let pid: Vec<u8> = r.get(0)?;
                Ok((
                    pid,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                ))
            })
            .map_err(store)?
            .map(|row| {
                let (pid, path, sealed, len, items, at, root) = row.map_err(store)?;
                Ok(PackageRecord {
                    package_id: PackageId(pid.try_into().map_err(|_| store("bad package id"))?),
                    path: PathBuf::from(path),
                    sealed_length: sealed as u64,
                    length: len as u64,
                    items: items as usize,
                    root: root.try_into().map_err(|_| store("bad package root"))?,
                    received_at: UnixTime(at as u64),
                })
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        let download: Option<(Vec<u8>, i64)> = db
            .query_row(
                "SELECT package_id, length FROM downloads WHERE request_id = ?1",
                params![id.0.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(store)?;
        let download = match download {
            Some((pid, total)) => {
                let package_id = PackageId(pid.try_into().map_err(|_| store("bad package id"))?);
                let partial = self
                    .data_dir
                    .join("packages")
                    .join(format!("{package_id}.evx1.partial"));
                std::fs::metadata(&partial).ok().map(|m| Download {
                    package_id,
                    have: m.len().min(total as u64),
                    total: total as u64,
                })
            }
            None => None,
        };
        Ok(RequestRecord {
            request,
            to,
            sent_at: sent_at.map(|t| UnixTime(t as u64)),
            acknowledgement,
            decision,
            packages,
            withdrawal,
            validation_sent,
            download,
        })
    }

    /// Opens a stored package for reading: a vault file through its data key (refused once
    /// the key is deleted), or a plain sealed package.
    pub fn read_package(&self, path: &Path) -> Result<Box<dyn std::io::Read + Send>, ClientError> {
        let file = std::fs::File::open(path)
            .map_err(|e| ClientError::Store(format!("{}: {e}", path.display())))?;
        let mut head = std::io::BufReader::new(file);
        let is_vault = {
            use std::io::BufRead as _;
            head.fill_buf().map_err(store)?.starts_with(vault::MAGIC)
        };
        if !is_vault {
            return Ok(Box::new(head));
        }
        let file = std::fs::File::open(path).map_err(store)?;
        let id = vault::stored_package_id(&file).map_err(store)?;
        let wrapped: Option<Vec<u8>> = {
            let keys = self.keys.lock().map_err(store)?;
            keys.query_row(
                "SELECT wrapped FROM data_keys WHERE package_id = ?1",
                params![id.0.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(store)?
        };
        let wrapped = wrapped.ok_or_else(|| {
            ClientError::Store(format!(
                "package {id} cannot be read: its data key was deleted (end of retention) or \
                 this is not the node that received it"
            ))
        })?;
        let key = vault::DataKey::unwrap(&self.kek, id, &wrapped).map_err(store)?;
        let file = std::fs::File::open(path).map_err(store)?;
        Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            vault::Reader::new(std::io::BufReader::with_capacity(1 << 20, file), key)
                .map_err(store)?,
        )))
    }

    /// When a received package's retention ends and whether it was deleted already.
    pub fn retention(
        &self,
        id: &PackageId,
    ) -> Result<(Option<UnixTime>, Option<UnixTime>), ClientError> {
        let db = self.db.lock().map_err(store)?;
        let row: Option<(Option<i64>, Option<i64>)> = db
            .query_row(
                "SELECT expires_at, deleted_at FROM packages WHERE package_id = ?1",
                params![id.0.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(store)?;
        let (e, d) = row.unwrap_or((None, None));
        Ok((e.map(|t| UnixTime(t as u64)), d.map(|t| UnixTime(t as u64))))
    }

    /// Remembers a file `evx open` wrote from a package: deleted with it at the end of its
    /// retention.
    pub fn track_opened(&self, id: &PackageId, path: &Path) -> Result<(), ClientError> {
        let db = self.db.lock().map_err(store)?;
        db.execute(
            "INSERT INTO opened (package_id, path) VALUES (?1, ?2)",
            params![id.0.as_slice(), path.display().to_string()],
        )
        .map_err(store)?;
        Ok(())
    }

    /// Deletes every package whose retention has ended at `now`: its data key (so that every
    /// copy of the stored file, backups included, is unreadable), the stored file, and every
    /// file `evx open` wrote from it; logs `retention_deletion`. Returns the packages deleted.
    pub fn enforce_retention(&self, now: UnixTime) -> Result<Vec<PackageId>, ClientError> {
        let due: Vec<(Vec<u8>, Vec<u8>, String)> = {
            let db = self.db.lock().map_err(store)?;
            let mut stmt = db
                .prepare(
                    "SELECT package_id, request_id, path FROM packages WHERE expires_at IS NOT NULL \
                     AND expires_at <= ?1 AND deleted_at IS NULL",
                )
                .map_err(store)?;
            stmt.query_map(params![now.0 as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(store)?
            .collect::<Result<_, _>>()
            .map_err(store)?
        };
        let mut deleted = Vec::new();
        for (pid, rid, path) in due {
            let id = PackageId(
                pid.clone()
                    .try_into()
                    .map_err(|_| store("bad package id"))?,
            );
            let request = RequestId(rid.try_into().map_err(|_| store("bad request id"))?);
            // The key first: from then on no copy of the package can be read.
            {
                let keys = self.keys.lock().map_err(store)?;
                keys.execute(
                    "DELETE FROM data_keys WHERE package_id = ?1",
                    params![pid.as_slice()],
                )
                .map_err(store)?;
            }
            let _ = std::fs::remove_file(&path);
            let copies: Vec<String> = {
                let db = self.db.lock().map_err(store)?;
                let mut stmt = db
                    .prepare("SELECT path FROM opened WHERE package_id = ?1")
                    .map_err(store)?;
                stmt.query_map(params![pid.as_slice()], |r| r.get(0))
                    .map_err(store)?
                    .collect::<Result<_, _>>()
                    .map_err(store)?
            };
            for c in &copies {
                let _ = std::fs::remove_file(c);
            }
            {
                let db = self.db.lock().map_err(store)?;
                db.execute(
                    "UPDATE packages SET deleted_at = ?2 WHERE package_id = ?1",
                    params![pid.as_slice(), now.0 as i64],
                )
                .map_err(store)?;
                db.execute(
                    "DELETE FROM opened WHERE package_id = ?1",
                    params![pid.as_slice()],
                )
                .map_err(store)?;
            }
            self.audit.append(
                &Event {
                    v: 1,
                    at: now,
                    actor: self.actor("retention"),
                    kind: EventKind::RetentionDeletion { package_id: id },
                    request: Some(request),
                    case: None,
                    purpose: None,
                    subjects: Vec::new(),
                },
                vec![],
            )?;
            deleted.push(id);
        }
        Ok(deleted)
    }

    /// The stored file of a received package.
    pub fn package_path(&self, id: &PackageId) -> Result<PathBuf, ClientError> {
        let db = self.db.lock().map_err(store)?;
        let path: Option<String> = db
            .query_row(
                "SELECT path FROM packages WHERE package_id = ?1",
                params![id.0.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(store)?;
        path.map(PathBuf::from).ok_or_else(|| {
            ClientError::Store(format!(
                "no package {id} was received by this node; `evx request status ID` lists a request's packages"
            ))
        })
    }

    /// The case of the request a package answers, as this node sent it.
    pub fn case_of_package(
        &self,
        package: &Path,
    ) -> Result<evx_protocol::ids::CaseId, ClientError> {
        let reader = PackageReader::new(self.read_package(package)?)
            .map_err(|e| ClientError::Store(format!("{}: {e}", package.display())))?;
        let request = reader.header().request_id;
        Ok(self.record(&request)?.request.case_id)
    }

    /// Every request in this node's store, newest first.
    pub fn list(&self) -> Result<Vec<RequestId>, ClientError> {
        let db = self.db.lock().map_err(store)?;
        let mut stmt = db
            .prepare("SELECT request_id FROM requests ORDER BY created_at DESC, request_id")
            .map_err(store)?;
        let ids = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(store)?
            .map(|b| {
                let b = b.map_err(store)?;
                Ok(RequestId(
                    b.try_into().map_err(|_| store("bad request id"))?,
                ))
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        Ok(ids)
    }

    /// Asks the requested party for the request's decision as it stands; stores and logs a new
    /// one.
    pub async fn status(
        &self,
        id: &RequestId,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
    ) -> Result<RequestRecord, ClientError> {
        let record = self.record(id)?;
        let conn = self.connection(&record.to, address).await?;
        let (mut send, mut recv) = Self::open_stream(&conn).await?;
        let fetch = Fetch {
            v: 1,
            request_id: *id,
            packages: false,
            resume: None,
        };
        write_message(&mut send, &Message::Fetch(fetch))
            .await
            .map_err(|e| Self::stream_error(&conn, e))?;
        let _ = send.finish();
        let provider = self.documents_key(&record.to)?;
        match read_message(&mut recv)
            .await
            .map_err(|e| Self::stream_error(&conn, e))?
        {
            Some(Message::Decision(d)) => {
                self.record_decision(&record.request, &d, &provider, now)?;
            }
            Some(Message::Error(r)) => return Err(self.refused(&record.to, &r)),
            other => {
                return Err(ClientError::Protocol(format!(
                    "expected a decision, got {}",
                    describe(other.as_ref())
                )));
            }
        }
        loop {
            match read_message(&mut recv)
                .await
                .map_err(|e| Self::stream_error(&conn, e))?
            {
                None => break,
                Some(Message::Withdrawal(w)) => {
                    self.record_withdrawal(&record.request, &w, &provider, now)?;
                }
                Some(Message::ConsentDecision(c)) => {
                    self.record_consent_decision(&record, &c, now)?;
                }
                other => {
                    return Err(ClientError::Protocol(format!(
                        "expected a withdrawal, a consent decision or the end of the stream, got {}",
                        describe(other.as_ref())
                    )));
                }
            }
        }
        self.record(id)
    }

    /// Verifies a withdrawal and, if it is new, stores and logs it: the request's packages
    /// can no longer be opened if it declares the data unusable.
    fn record_withdrawal(
        &self,
        request: &EvidenceRequest,
        signed: &Signed<evx_protocol::document::Withdrawal>,
        provider: &VerifyingKey,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        let w = signed
            .verify(provider)
            .map_err(|e| ClientError::Protocol(format!("the withdrawal does not verify: {e}")))?;
        if w.request_id != request.request_id {
            return Err(ClientError::Protocol(
                "the withdrawal is for another request".into(),
            ));
        }
        let changed = {
            let db = self.db.lock().map_err(store)?;
            db.execute(
                "UPDATE requests SET withdrawal = ?2 WHERE request_id = ?1 AND withdrawal IS NULL",
                params![request.request_id.0.as_slice(), signed.encode()],
            )
            .map_err(store)?
        };
        if changed > 0 {
            self.audit.append(
                &self.event(
                    "requester",
                    EventKind::Withdrawn {
                        withdrawal_digest: signed.digest(),
                        data_unusable: w.data_unusable,
                    },
                    request,
                    now,
                ),
                vec![],
            )?;
        }
        Ok(())
    }

    /// Asks the requested party's consent to use the evidence of request `id` beyond what it
    /// was transferred for; returns the consent request's id. The decision comes with a later
    /// status or fetch.
    pub async fn ask_consent(
        &self,
        id: &RequestId,
        scope: evx_protocol::document::ConsentScope,
        reason: &str,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
    ) -> Result<RequestId, ClientError> {
        let record = self.record(id)?;
        let rng = &mut UnwrapErr(getrandom::SysRng);
        let consent = evx_protocol::document::ConsentRequest {
            v: 1,
            consent_id: RequestId::random(rng),
            request_id: *id,
            issued_at: now,
            scope,
            reason: reason.to_owned(),
        };
        let signed = Signed::sign(&consent, &self.documents).map_err(|e| {
            ClientError::Protocol(format!("the consent request cannot be signed: {e}"))
        })?;
        self.send_one(
            &record.to,
            address,
            &Message::ConsentRequest(signed.clone()),
        )
        .await?;
        {
            let db = self.db.lock().map_err(store)?;
            db.execute(
                "INSERT INTO consents (consent_id, request_id, request) VALUES (?1, ?2, ?3)",
                params![
                    consent.consent_id.0.as_slice(),
                    id.0.as_slice(),
                    signed.encode()
                ],
            )
            .map_err(store)?;
        }
        self.audit.append(
            &self.event(
                "requester",
                EventKind::ConsentRequested {
                    consent_digest: signed.digest(),
                },
                &record.request,
                now,
            ),
            vec![],
        )?;
        Ok(consent.consent_id)
    }

    /// Verifies a consent decision (a reviewer of the requested party, about a consent this
    /// node asked for) and, if it is new, stores and logs it.
    fn record_consent_decision(
        &self,
        record: &RequestRecord,
        signed: &Signed<evx_protocol::document::ConsentDecision>,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        let keys = self.registry.policy_registry();
        let key = keys
            .get(&signed.signer())
            .filter(|k| {
                matches!(k.role, evx_protocol::policy::KeyRole::Reviewer { .. })
                    && k.party == record.to
            })
            .ok_or_else(|| {
                ClientError::Protocol(format!(
                    "a consent decision not signed by a reviewer of {}",
                    record.to
                ))
            })?;
        let decision = signed
            .verify(&key.key)
            .map_err(|e| ClientError::Protocol(format!("the consent decision: {e}")))?;
        let asked: Option<Vec<u8>> = {
            let db = self.db.lock().map_err(store)?;
            db.query_row(
                "SELECT request FROM consents WHERE consent_id = ?1 AND request_id = ?2",
                params![
                    decision.consent_id.0.as_slice(),
                    record.request.request_id.0.as_slice()
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(store)?
        };
        let asked = asked.ok_or_else(|| {
            ClientError::Protocol("a consent decision about a consent this node did not ask".into())
        })?;
        let asked_signed =
            Signed::<evx_protocol::document::ConsentRequest>::decode_owned(asked).map_err(store)?;
        if asked_signed.digest() != decision.consent_digest {
            return Err(ClientError::Protocol(
                "the consent decision is about other bytes than the consent asked".into(),
            ));
        }
        let changed = {
            let db = self.db.lock().map_err(store)?;
            db.execute(
                "UPDATE consents SET decision = ?2 WHERE consent_id = ?1 AND decision IS NULL",
                params![decision.consent_id.0.as_slice(), signed.encode()],
            )
            .map_err(store)?
        };
        if changed > 0 {
            self.audit.append(
                &self.event(
                    "requester",
                    EventKind::ConsentDecided {
                        decision_digest: signed.digest(),
                        granted: decision.granted,
                    },
                    &record.request,
                    now,
                ),
                vec![],
            )?;
        }
        Ok(())
    }

    /// The consents granted about request `id`'s evidence.
    pub fn granted_consents(
        &self,
        id: &RequestId,
    ) -> Result<Vec<evx_protocol::document::ConsentScope>, ClientError> {
        Ok(self
            .consents(id)?
            .into_iter()
            .filter_map(|(_, d)| d.filter(|d| d.granted).map(|d| d.scope))
            .collect())
    }

    /// Every consent asked about request `id`'s evidence, with its decision if one arrived.
    pub fn consents(
        &self,
        id: &RequestId,
    ) -> Result<
        Vec<(
            evx_protocol::document::ConsentRequest,
            Option<evx_protocol::document::ConsentDecision>,
        )>,
        ClientError,
    > {
        let record = self.record(id)?;
        let reviewers = self.registry.policy_registry();
        let db = self.db.lock().map_err(store)?;
        let mut stmt = db
            .prepare("SELECT request, decision FROM consents WHERE request_id = ?1 ORDER BY rowid")
            .map_err(store)?;
        let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = stmt
            .query_map(params![id.0.as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(store)?
            .collect::<Result<_, _>>()
            .map_err(store)?;
        let own = self.documents.verifying_key();
        rows.into_iter()
            .map(|(req, dec)| {
                let req = Signed::<evx_protocol::document::ConsentRequest>::decode_owned(req)
                    .and_then(|s| s.verify(&own))
                    .map_err(store)?;
                let dec = match dec {
                    None => None,
                    Some(b) => {
                        let s = Signed::<evx_protocol::document::ConsentDecision>::decode_owned(b)
                            .map_err(store)?;
                        let key = reviewers
                            .get(&s.signer())
                            .filter(|k| k.party == record.to)
                            .ok_or_else(|| {
                                store("a stored consent decision's signer is unknown")
                            })?;
                        Some(s.verify(&key.key).map_err(store)?)
                    }
                };
                Ok((req, dec))
            })
            .collect()
    }

    /// Asks the requested party to extend the preservation hold placed by request `id` by
    /// `days`; returns its signed confirmation (the new end, the extensions left).
    pub async fn extend(
        &self,
        id: &RequestId,
        days: u32,
        reason: &str,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
    ) -> Result<evx_protocol::document::PreservationConfirmation, ClientError> {
        let record = self.record(id)?;
        let provider = self.documents_key(&record.to)?;
        let rng = &mut UnwrapErr(getrandom::SysRng);
        let extension = Signed::sign(
            &evx_protocol::document::Extension {
                v: 1,
                request_id: RequestId::random(rng),
                preservation_ref: *id,
                issued_at: now,
                extend_by_days: days,
                reason: reason.to_owned(),
            },
            &self.documents,
        )
        .map_err(|e| ClientError::Protocol(format!("the extension cannot be signed: {e}")))?;
        let conn = self.connection(&record.to, address).await?;
        let (mut send, mut recv) = Self::open_stream(&conn).await?;
        write_message(&mut send, &Message::Extension(extension))
            .await
            .map_err(|e| Self::stream_error(&conn, e))?;
        let _ = send.finish();
        match read_message(&mut recv)
            .await
            .map_err(|e| Self::stream_error(&conn, e))?
        {
            Some(Message::PreservationConfirmation(c)) => {
                let c = c.verify(&provider).map_err(|e| {
                    ClientError::Protocol(format!("the confirmation does not verify: {e}"))
                })?;
                if c.request_id != *id {
                    return Err(ClientError::Protocol(
                        "the confirmation is for another hold".into(),
                    ));
                }
                Ok(c)
            }
            Some(Message::Error(r)) => Err(self.refused(&record.to, &r)),
            other => Err(ClientError::Protocol(format!(
                "expected a preservation confirmation, got {}",
                describe(other.as_ref())
            ))),
        }
    }

    /// Sends a judicial validation of a request already sent (an emergency request executed
    /// before its validation): built from `draft`, bound to the request exactly as signed,
    /// signed with the judicial authority's key.
    pub async fn validate(
        &self,
        id: &RequestId,
        draft: &crate::request_file::ValidationDraft,
        judge: &SigningKey,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        let signed_request = {
            let db = self.db.lock().map_err(store)?;
            let bytes: Option<Vec<u8>> = db
                .query_row(
                    "SELECT request FROM requests WHERE request_id = ?1",
                    params![id.0.as_slice()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(store)?;
            Signed::<EvidenceRequest>::decode_owned(bytes.ok_or(ClientError::UnknownRequest(*id))?)
                .map_err(store)?
        };
        let record = self.record(id)?;
        let validation = Signed::sign(
            &draft.validation(&signed_request, &record.request, now),
            judge,
        )
        .map_err(|e| ClientError::Protocol(format!("the validation cannot be signed: {e}")))?;
        self.send_one(
            &record.to,
            address,
            &Message::Validation(validation.clone()),
        )
        .await?;
        let db = self.db.lock().map_err(store)?;
        db.execute(
            "UPDATE requests SET validation = ?2 WHERE request_id = ?1",
            params![id.0.as_slice(), validation.encode()],
        )
        .map_err(store)?;
        Ok(())
    }

    /// Downloads the request's package, if one is ready: streams it to disk, verifies it in
    /// full (header, every chunk, the signed manifest), stores it sealed, logs
    /// `package_received` and sends back a signed receipt with that entry's inclusion proof.
    /// Returns the request as it now stands.
    pub async fn fetch(
        &self,
        id: &RequestId,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
        progress: Progress<'_>,
    ) -> Result<(RequestRecord, Option<PackageRecord>), ClientError> {
        self.fetch_part(id, address, now, progress, u64::MAX).await
    }

    /// Like [`Self::fetch`], but takes at most `limit` more bytes of the package now: a
    /// delivery over a constrained link, continued by the next fetch from where this one
    /// stopped ([`RequestRecord::download`] says how far it got). A delivery cut off by the
    /// network resumes the same way, without receiving again what arrived.
    pub async fn fetch_part(
        &self,
        id: &RequestId,
        address: Option<std::net::SocketAddr>,
        now: UnixTime,
        progress: Progress<'_>,
        limit: u64,
    ) -> Result<(RequestRecord, Option<PackageRecord>), ClientError> {
        let record = self.record(id)?;
        let provider = self.documents_key(&record.to)?;
        let conn = self.connection(&record.to, address).await?;
        let (mut send, mut recv) = Self::open_stream(&conn).await?;
        let fetch = Fetch {
            v: 1,
            request_id: *id,
            packages: true,
            // Resume a partial download; or, if the package is here already (its receipt may
            // not have reached the requested party), say so: nothing is sent again. Only the
            // package received last can lack its receipt — the requested party offers the next
            // one only after the receipt of the one before — and `packages` is in the order
            // received.
            resume: record
                .download
                .as_ref()
                .map(|d| (d.package_id, d.have))
                .or_else(|| {
                    record
                        .packages
                        .last()
                        .map(|p| (p.package_id, p.sealed_length))
                }),
        };
        write_message(&mut send, &Message::Fetch(fetch))
            .await
            .map_err(|e| Self::stream_error(&conn, e))?;
        match read_message(&mut recv)
            .await
            .map_err(|e| Self::stream_error(&conn, e))?
        {
            Some(Message::Decision(d)) => {
                self.record_decision(&record.request, &d, &provider, now)?;
            }
            Some(Message::Error(r)) => return Err(self.refused(&record.to, &r)),
            other => {
                return Err(ClientError::Protocol(format!(
                    "expected a decision, got {}",
                    describe(other.as_ref())
                )));
            }
        }
        let offer = loop {
            match read_message(&mut recv)
                .await
                .map_err(|e| Self::stream_error(&conn, e))?
            {
                None => {
                    let _ = send.finish();
                    return Ok((self.record(id)?, None));
                }
                Some(Message::PackageOffer(o)) => break o,
                Some(Message::ConsentDecision(c)) => {
                    self.record_consent_decision(&record, &c, now)?;
                }
                Some(Message::Withdrawal(w)) => {
                    self.record_withdrawal(&record.request, &w, &provider, now)?;
                    return Ok((self.record(id)?, None));
                }
                Some(Message::Error(r)) => return Err(self.refused(&record.to, &r)),
                other => {
                    return Err(ClientError::Protocol(format!(
                        "expected a package offer, got {}",
                        describe(other.as_ref())
                    )));
                }
            }
        };
        // Every package not yet acknowledged comes in turn on this stream: each is received,
        // verified and stored, and answered with its receipt; the requested party then offers
        // the next or ends the stream.
        let mut offer = offer;
        let mut first: Option<PackageRecord> = None;
        loop {
            let package = match self
                .take_package(
                    &record,
                    &provider,
                    offer,
                    &mut recv,
                    now,
                    (&mut *progress, limit),
                )
                .await
            {
                Ok(Some(p)) => p,
                // Stopped at the limit: the rest comes with the next fetch.
                Ok(None) => return Ok((self.record(id)?, first)),
                Err(e @ ClientError::Interrupted { .. }) => return Err(e),
                Err(e) => {
                    if let Ok(db) = self.db.lock() {
                        let _ = db.execute(
                            "DELETE FROM downloads WHERE request_id = ?1",
                            params![id.0.as_slice()],
                        );
                    }
                    let _ = write_message(
                        &mut send,
                        &Message::Error(ErrorReport::new(
                            ErrorReport::MALFORMED_DOCUMENT,
                            "the package failed verification and was discarded",
                        )),
                    )
                    .await;
                    let _ = send.finish();
                    return Err(e);
                }
            };
            let receipt = self.receipt_for(&record, &package, now)?;
            write_message(&mut send, &Message::Receipt(receipt))
                .await
                .map_err(|e| Self::stream_error(&conn, e))?;
            first.get_or_insert(package);
            match read_message(&mut recv)
                .await
                .map_err(|e| Self::stream_error(&conn, e))?
            {
                None => break,
                Some(Message::PackageOffer(o)) => offer = o,
                Some(Message::Error(r)) => return Err(self.refused(&record.to, &r)),
                Some(other) => {
                    return Err(ClientError::Protocol(format!(
                        "expected another package or the end of the stream, got {}",
                        describe(Some(&other))
                    )));
                }
            }
        }
        let _ = send.finish();
        self.witness_after(&record.to, address, now).await?;
        Ok((self.record(id)?, first))
    }

    /// One offered package: the one already held (its receipt is sent again, no byte taken),
    /// or received now. `None` if the byte limit stopped it.
    async fn take_package(
        &self,
        record: &RequestRecord,
        provider: &VerifyingKey,
        offer: PackageOffer,
        recv: &mut quinn::RecvStream,
        now: UnixTime,
        budget: (Progress<'_>, u64),
    ) -> Result<Option<PackageRecord>, ClientError> {
        if offer.offset == offer.length
            && let Some(held) = self
                .record(&record.request.request_id)?
                .packages
                .into_iter()
                .find(|p| p.package_id == offer.package_id)
        {
            return Ok(Some(held));
        }
        self.receive_package(record, provider, offer, recv, now, budget)
            .await
    }

    /// The receipt of a package: the one already signed if there is one, else a new one with
    /// the inclusion proof of a new `package_received` entry, stored and logged.
    fn receipt_for(
        &self,
        record: &RequestRecord,
        package: &PackageRecord,
        now: UnixTime,
    ) -> Result<Signed<Receipt>, ClientError> {
        let stored: Option<Vec<u8>> = {
            let db = self.db.lock().map_err(store)?;
            db.query_row(
                "SELECT receipt FROM packages WHERE package_id = ?1",
                params![package.package_id.0.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(store)?
            .flatten()
        };
        if let Some(r) = stored {
            return Signed::<Receipt>::decode_owned(r).map_err(store);
        }
        let index = self.audit.append(
            &self.event(
                "requester",
                EventKind::PackageReceived {
                    package_id: package.package_id,
                },
                &record.request,
                now,
            ),
            vec![],
        )?;
        let receipt = Signed::sign(
            &Receipt {
                v: 1,
                request_id: record.request.request_id,
                package_id: package.package_id,
                received_at: now,
                length: package.length,
                root: package.root,
                log_entry: Some(self.audit.entry_ref(index)?),
            },
            &self.documents,
        )
        .map_err(|e| ClientError::Protocol(format!("the receipt cannot be signed: {e}")))?;
        {
            let db = self.db.lock().map_err(store)?;
            db.execute(
                "UPDATE packages SET receipt = ?2 WHERE package_id = ?1",
                params![package.package_id.0.as_slice(), receipt.encode()],
            )
            .map_err(store)?;
        }
        self.audit.append(
            &self.event(
                "requester",
                EventKind::ReceiptSent {
                    receipt_digest: receipt.digest(),
                },
                &record.request,
                now,
            ),
            vec![],
        )?;
        Ok(receipt)
    }

    async fn receive_package(
        &self,
        record: &RequestRecord,
        provider: &VerifyingKey,
        offer: PackageOffer,
        recv: &mut quinn::RecvStream,
        now: UnixTime,
        (progress, limit): (Progress<'_>, u64),
    ) -> Result<Option<PackageRecord>, ClientError> {
        let rejected = |reason: String| ClientError::PackageRejected {
            party: record.to.clone(),
            reason,
        };
        if offer.request_id != record.request.request_id {
            return Err(rejected("the offer names another request".into()));
        }
        // A package held (or deleted at the end of its retention) is never taken in again:
        // that would replace its record, its receipt and its retention date.
        let held: Option<i64> = {
            let db = self.db.lock().map_err(store)?;
            db.query_row(
                "SELECT received_at FROM packages WHERE package_id = ?1",
                params![offer.package_id.0.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(store)?
        };
        if let Some(at) = held {
            return Err(rejected(format!(
                "package {} was received already (at {}); it was offered again from byte {}",
                offer.package_id,
                UnixTime(at as u64),
                offer.offset
            )));
        }
        if offer.length > MAX_PACKAGE {
            return Err(rejected(format!(
                "{} bytes offered, more than the limit of {MAX_PACKAGE}",
                offer.length
            )));
        }
        let dir = self.data_dir.join("packages");
        std::fs::create_dir_all(&dir).map_err(store)?;
        let partial = dir.join(format!("{}.evx1.partial", offer.package_id));
        // A partial download of another package (resealed since) is of no use any more.
        if let Some(d) = &record.download
            && d.package_id != offer.package_id
        {
            let _ = std::fs::remove_file(dir.join(format!("{}.evx1.partial", d.package_id)));
        }
        // Resume where the bytes this node holds end, or start afresh.
        let mut file = if offer.offset > 0 {
            let have = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
            if have < offer.offset || offer.offset > offer.length {
                return Err(rejected(format!(
                    "the offer resumes at byte {}, but this node holds {have}",
                    offer.offset
                )));
            }
            let f = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&partial)
                .await
                .map_err(store)?;
            f.set_len(offer.offset).await.map_err(store)?;
            let mut f = f;
            tokio::io::AsyncSeekExt::seek(&mut f, std::io::SeekFrom::Start(offer.offset))
                .await
                .map_err(store)?;
            f
        } else {
            tokio::fs::File::create(&partial).await.map_err(store)?
        };
        {
            let db = self.db.lock().map_err(store)?;
            db.execute(
                "INSERT OR REPLACE INTO downloads (request_id, package_id, length) VALUES (?1, ?2, ?3)",
                params![
                    record.request.request_id.0.as_slice(),
                    offer.package_id.0.as_slice(),
                    offer.length as i64
                ],
            )
            .map_err(store)?;
        }
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = offer.offset;
        let stop_at = offer.offset.saturating_add(limit).min(offer.length);
        while got < stop_at {
            let want = usize::try_from(stop_at - got)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let cut = match recv.read(&mut buf[..want]).await {
                Ok(Some(n)) => {
                    file.write_all(&buf[..n]).await.map_err(store)?;
                    got += n as u64;
                    progress(got, offer.length);
                    None
                }
                Ok(None) => Some("the stream ended".to_owned()),
                Err(e) => Some(format!("the stream failed: {e}")),
            };
            if let Some(why) = cut {
                // What arrived is kept: the next fetch resumes from it.
                file.sync_all().await.map_err(store)?;
                return Err(ClientError::Interrupted {
                    party: record.to.clone(),
                    reason: why,
                    have: got,
                    total: offer.length,
                });
            }
        }
        file.sync_all().await.map_err(store)?;
        drop(file);
        if got < offer.length {
            // The byte limit of this fetch was reached: stop here, resume later.
            let _ = recv.stop(0u32.into());
            return Ok(None);
        }
        let guard = RemoveOnDrop(Some(partial.clone()));
        // Verify in full, off the async threads: it reads and decrypts the whole package.
        let (hpke, provider, declared, expect_id, expect_request) = (
            std::sync::Arc::clone(&self.hpke),
            *provider,
            DeclaredPurpose {
                case: record.request.case_id.clone(),
                purpose: record.request.purpose,
            },
            offer.package_id,
            record.request.request_id,
        );
        let path = partial.clone();
        let verifying = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
            let reader = PackageReader::new(std::io::BufReader::with_capacity(1 << 20, file))
                .map_err(|e| e.to_string())?;
            if reader.package_id() != expect_id {
                return Err(format!(
                    "its header gives id {}, not the offered {expect_id}",
                    reader.package_id()
                ));
            }
            if reader.header().request_id != expect_request {
                return Err("it answers another request".into());
            }
            reader
                .open(&hpke, &provider, &declared, VerifyOnly)
                .map_err(|e| e.to_string())
        });
        // Meanwhile, the package is written at rest under its own data key (the vault):
        // deleting that key at the end of the retention makes every copy of the file
        // unreadable. The two passes run side by side; the stored copy counts only once the
        // verification has passed, and is removed if it fails.
        let final_path = dir.join(format!("{}.evxv", offer.package_id));
        let data_key = vault::DataKey::generate(offer.package_id);
        let tmp = dir.join(format!("{}.evxv.partial", offer.package_id));
        let mut stored = RemoveOnDrop(Some(tmp.clone()));
        // Created here, so that if this fetch is abandoned the file is removed with `stored`
        // whatever the writing thread has reached.
        let tmp_file = std::fs::File::create(&tmp).map_err(store)?;
        let storing = {
            let src = partial.clone();
            // The data key goes to the writing thread and comes back with its result.
            tokio::task::spawn_blocking(move || -> Result<vault::DataKey, String> {
                let text = |e: std::io::Error| e.to_string();
                let src = std::io::BufReader::with_capacity(
                    1 << 20,
                    std::fs::File::open(&src).map_err(text)?,
                );
                let mut dst = std::io::BufWriter::with_capacity(1 << 20, tmp_file);
                vault::store(&data_key, src, &mut dst).map_err(|e| e.to_string())?;
                dst.into_inner()
                    .map_err(|e| e.into_error().to_string())?
                    .sync_all()
                    .map_err(text)?;
                Ok(data_key)
            })
        };
        let (verified, written) = tokio::join!(verifying, storing);
        let verified = verified.map_err(store)?.map_err(rejected)?;
        let data_key = written.map_err(store)?.map_err(store)?;
        {
            let keys = self.keys.lock().map_err(store)?;
            keys.execute(
                "INSERT OR REPLACE INTO data_keys (package_id, wrapped) VALUES (?1, ?2)",
                params![offer.package_id.0.as_slice(), data_key.wrap(&self.kek)],
            )
            .map_err(store)?;
            std::fs::rename(&tmp, &final_path).map_err(store)?;
            stored.0 = None;
        }
        drop(guard);
        let expires_at = verified
            .header
            .conditions
            .retention_days
            .map(|d| now.0.saturating_add(u64::from(d) * 86_400) as i64);
        let package = PackageRecord {
            package_id: offer.package_id,
            path: final_path,
            sealed_length: offer.length,
            length: verified.manifest.length,
            items: verified.manifest.items.len(),
            root: verified.manifest.root,
            received_at: now,
        };
        let db = self.db.lock().map_err(store)?;
        db.execute(
            "INSERT INTO packages (package_id, request_id, path, sealed_length, length, items, root, received_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                package.package_id.0.as_slice(),
                record.request.request_id.0.as_slice(),
                package.path.display().to_string(),
                package.sealed_length as i64,
                package.length as i64,
                package.items as i64,
                package.root.as_slice(),
                now.0 as i64,
                expires_at
            ],
        )
        .map_err(store)?;
        db.execute(
            "DELETE FROM downloads WHERE request_id = ?1",
            params![record.request.request_id.0.as_slice()],
        )
        .map_err(store)?;
        Ok(Some(package))
    }
}

/// A request's row: party, signed request, sent at, acknowledgement, decision, withdrawal.
type RequestRow = (
    String,
    Vec<u8>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    bool,
);

/// Removes a file when dropped, unless disarmed.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn describe(m: Option<&Message>) -> String {
    match m {
        None => "the end of the stream".into(),
        Some(m) => format!("a {:?} frame", m.to_frame().kind()),
    }
}
