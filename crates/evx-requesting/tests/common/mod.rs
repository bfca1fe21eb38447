//! The two-node harness shared by the end-to-end tests: a deployment, a dataset, a requested
//! node served in-process and a requesting node, each test in its own temporary directory.

#![allow(dead_code, unused_imports)]
pub(crate) use std::net::SocketAddr;
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::sync::Arc;
pub(crate) use std::sync::atomic::{AtomicU32, Ordering};
pub(crate) use std::time::Duration;

pub(crate) use evx_node::audit::AuditLog;
pub(crate) use evx_node::pki::{self, NodeConfig, RegistryFile};
pub(crate) use evx_node::transport::{
    ConnectError, Limits, TlsFiles, client_config, server_config,
};
pub(crate) use evx_protocol::audit::{Event, EventKind, OpenRefusal};
pub(crate) use evx_protocol::crypto::{KeyFile, SigningKey};
pub(crate) use evx_protocol::document::{
    Acknowledgement, DataCategory, Emergency, EvidenceRequest, Outcome, RequestType, Selector,
    Signed, TimeRange,
};
pub(crate) use evx_protocol::frame::{ErrorReport, Frame, Message, MessageKind, VERSION};
pub(crate) use evx_protocol::ids::{CaseId, PartyId, RequestId, UnixTime};
pub(crate) use evx_protocol::merkle;
pub(crate) use evx_protocol::note::checkpoint::Checkpoint;
pub(crate) use evx_protocol::purpose::{DeclaredPurpose, Purpose};
pub(crate) use evx_protocol::sample;
pub(crate) use evx_requested::dataset::account_name;
pub(crate) use evx_requested::server::Desk;
pub(crate) use evx_requesting::client::{ClientError, Prepared, Requester, Sent};
pub(crate) use evx_requesting::open::OpenPackageError;

pub(crate) const DAY: u64 = 86_400;
pub(crate) const SERVICE: &str = "mail.provider.example";

// ---------------------------------------------------------------------------------------------
// Harness

/// A temporary directory, unique per test, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "evx-nodes-{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(crate) fn de_id() -> PartyId {
    sample::requesting_party()
}

pub(crate) fn ie_id() -> PartyId {
    sample::requested_party()
}

pub(crate) fn tls_files(c: &NodeConfig) -> TlsFiles {
    TlsFiles::load(&c.keys.tls_cert, &c.keys.tls_key, &c.ca_cert, &c.crl).unwrap()
}

/// The requested node's server: a desk behind a QUIC endpoint on 127.0.0.1, port 0.
pub(crate) struct Server {
    pub(crate) endpoint: quinn::Endpoint,
    pub(crate) addr: SocketAddr,
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) task: tokio::task::JoinHandle<()>,
    pub(crate) desk: Arc<Desk>,
}

impl Server {
    /// Opens the desk of `config` (its keys, registry, agreement, CRL as they are on disk now)
    /// and serves it.
    pub(crate) fn start(config: &NodeConfig) -> Self {
        let desk = Arc::new(Desk::open(config).unwrap());
        let registry = Arc::new(RegistryFile::load(&config.registry).unwrap());
        let endpoint = quinn::Endpoint::server(
            server_config(&tls_files(config), Limits::default()).unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let addr = endpoint.local_addr().unwrap();
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(evx_requested::serve::run(
            endpoint.clone(),
            desk.clone(),
            registry,
            stopping,
        ));
        Self {
            endpoint,
            addr,
            stop,
            task,
            desk,
        }
    }

    pub(crate) fn desk(&self) -> &Desk {
        &self.desk
    }

    /// Stops serving, waits for the streams in flight, closes the endpoint and closes the desk
    /// (its audit log and request store): nothing of this server is left running.
    pub(crate) async fn stop(self) {
        // The server may have stopped already (its endpoint closed).
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the server did not stop")
            .unwrap();
        self.endpoint.close(0u32.into(), b"stopping");
        self.endpoint.wait_idle().await;
        let desk = Arc::try_unwrap(self.desk)
            .ok()
            .expect("the server still holds the desk after it stopped");
        drop(desk);
    }
}

/// A deployment with both nodes' configurations, a provider dataset and the requested node's
/// server running.
pub(crate) struct Net {
    pub(crate) dir: PathBuf,
    pub(crate) de: NodeConfig,
    pub(crate) ie: NodeConfig,
    pub(crate) dataset: PathBuf,
    pub(crate) judge: SigningKey,
    pub(crate) server: Option<Server>,
    // Last: removed after everything in it is closed.
    pub(crate) tmp: TempDir,
}

impl Net {
    /// A new deployment with the example agreement, a dataset of four accounts over the last
    /// ten days, and the requested node serving it.
    pub(crate) async fn new(tag: &str) -> Self {
        let tmp = TempDir::new(tag);
        let dir = tmp.0.join("deployment");
        let d = pki::init(&dir, (&de_id(), "Germany"), (&ie_id(), "Provider"), now()).unwrap();
        let dataset = tmp.0.join("dataset");
        evx_requested::dataset::generate(&dataset, 4, 10, UnixTime(now()), 7).unwrap();
        pki::set_dataset(&d.requested_config, &dataset).unwrap();
        let de = NodeConfig::load(&d.requesting_config).unwrap();
        let ie = NodeConfig::load(&d.requested_config).unwrap();
        let judge = KeyFile::parse(
            &std::fs::read_to_string(dir.join(format!("authorities/{}-judge.key", de_id())))
                .unwrap(),
        )
        .unwrap()
        .signing_key()
        .unwrap();
        let server = Some(Server::start(&ie));
        Self {
            dir,
            de,
            ie,
            dataset,
            judge,
            server,
            tmp,
        }
    }

    pub(crate) fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.server().addr
    }

    pub(crate) fn desk(&self) -> &Desk {
        self.server().desk()
    }

    pub(crate) fn requester(&self) -> Requester {
        Requester::open(&self.de).unwrap()
    }

    /// Stops the server and starts a new one on the same data directory (and the files of
    /// the deployment as they are now): a new desk, a new endpoint, a new port.
    pub(crate) async fn restart(&mut self) {
        self.server.take().unwrap().stop().await;
        self.server = Some(Server::start(&self.ie));
    }

    /// Stops the server: call at the end of a test, so that nothing outlives it.
    pub(crate) async fn shutdown(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    /// `request` signed by the requesting node, with the judge's validation of exactly that
    /// signed request.
    pub(crate) fn validated(&self, requester: &Requester, request: EvidenceRequest) -> Prepared {
        let prepared = requester.prepare(request, Vec::new()).unwrap();
        let mut v = sample::validation(&prepared.signed, &prepared.request);
        v.validated_at = prepared.request.issued_at;
        let validation = Signed::sign(&v, &self.judge).unwrap();
        Prepared {
            signed: prepared.signed,
            request: prepared.request,
            validations: vec![validation],
        }
    }
}

/// The sample production order (subscriber and traffic data, issued by a prosecutor, the
/// person living in the issuing state) for the first account of the dataset over the last
/// seven days, issued now.
pub(crate) fn request(id: u8) -> EvidenceRequest {
    let t = now();
    let mut r = sample::production_request(RequestId([id; 16]));
    r.issued_at = UnixTime(t);
    r.time_range = TimeRange {
        from: UnixTime(t - 7 * DAY),
        to: UnixTime(t),
    };
    r.selectors = vec![Selector::Account {
        service: SERVICE.into(),
        account: account_name(0),
    }];
    r
}

pub(crate) fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Accept { .. } => "accept",
        Outcome::Partial { .. } => "partial",
        Outcome::Incomplete { .. } => "incomplete",
        Outcome::Refuse { .. } => "refuse",
        Outcome::PendingReview { .. } => "pending_review",
        Outcome::Postponed { .. } => "postponed",
    }
}

/// Every event of a log, in order.
pub(crate) fn events(log: &AuditLog) -> Vec<Event> {
    (0..log.size().unwrap())
        .map(|i| Event::decode(&log.entry(i).unwrap()).unwrap())
        .collect()
}

/// The kinds of the events about one request, in order.
pub(crate) fn kinds(log: &AuditLog, id: &RequestId) -> Vec<&'static str> {
    events(log)
        .iter()
        .filter(|e| e.request.as_ref() == Some(id))
        .map(|e| e.kind.name())
        .collect()
}

/// Checks an acknowledgement's log entry against the requested node's log: the entry records
/// the receipt of exactly this signed request from DE-BfJ, and its inclusion proof leads to the
/// root of the checkpoint the log signed at that size.
pub(crate) fn check_ack_entry(
    desk: &Desk,
    ack: &Acknowledgement,
    signed: &Signed<EvidenceRequest>,
) {
    assert_eq!(ack.request_digest, signed.digest());
    let e = ack
        .log_entry
        .as_ref()
        .expect("the acknowledgement carries no log entry");
    let data = desk.audit().entry(e.index).unwrap();
    match Event::decode(&data).unwrap().kind {
        EventKind::RequestReceived {
            request_digest,
            from,
        } => {
            assert_eq!(request_digest, signed.digest());
            assert_eq!(from, de_id());
        }
        other => panic!("the acknowledged entry is {}", other.name()),
    }
    merkle::verify_inclusion(
        &merkle::leaf_hash(&data),
        e.index,
        e.tree_size,
        &e.path,
        &e.root,
    )
    .expect("the acknowledgement's inclusion proof does not verify");
    let note = desk
        .audit()
        .checkpoint_at(e.tree_size)
        .unwrap()
        .expect("no checkpoint was signed at the acknowledged tree size");
    assert_eq!(Checkpoint::from_text(note.text()).unwrap().root, e.root);
}

/// Sends the validated production order `request(id)`, which the requested node accepts.
pub(crate) async fn send_production(net: &Net, de: &Requester, id: u8) -> (Prepared, Sent) {
    let prepared = net.validated(de, request(id));
    let sent = de
        .send(&prepared, &ie_id(), Some(net.addr()), UnixTime(now()))
        .await
        .unwrap();
    assert!(
        matches!(sent.decision.outcome, Outcome::Accept { .. }),
        "{:?}",
        sent.decision.outcome
    );
    (prepared, sent)
}

/// A field of a JSON line as the dataset writes it: a string's text or a number's digits.
pub(crate) fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let tag = format!("\"{key}\":");
    let start = line
        .find(&tag)
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + tag.len();
    let rest = &line[start..];
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    &rest[..rest.find(['"', ',', '}']).unwrap()]
}

pub(crate) fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The files in a directory (none if it does not exist).
pub(crate) fn files_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    }
}

/// Connects with quinn directly, presenting `files`.
pub(crate) async fn raw_connect(
    files: &TlsFiles,
    addr: SocketAddr,
) -> (
    quinn::Endpoint,
    Result<quinn::Connection, quinn::ConnectionError>,
) {
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(client_config(files, Limits::default()).unwrap());
    let conn = client.connect(addr, "localhost").unwrap().await;
    (client, conn)
}

/// Sends `bytes` on a new stream, ends it, and returns the messages that come back.
pub(crate) async fn exchange(
    conn: &quinn::Connection,
    bytes: &[u8],
) -> Result<Vec<Message>, String> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    send.write_all(bytes).await.map_err(|e| e.to_string())?;
    send.finish().map_err(|e| e.to_string())?;
    let mut reply = recv.read_to_end(1 << 20).await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some((frame, used)) = Frame::decode_prefix(&reply).map_err(|e| e.to_string())? {
        out.push(Message::from_frame(&frame).map_err(|e| e.to_string())?);
        reply.drain(..used);
    }
    assert!(
        reply.is_empty(),
        "{} bytes after the last frame",
        reply.len()
    );
    Ok(out)
}

/// The code of the single error report in `reply`.
pub(crate) fn report_code(reply: &[Message]) -> u16 {
    match reply {
        [Message::Error(r)] => r.code(),
        other => panic!("expected one error report, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
