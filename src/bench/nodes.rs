//! evx's side of the benchmark: a deployment, the requested node serving in this process, and
//! requests that go the whole way — built and signed, sent, verified, replay-checked, decided by
//! the policy engine, logged on both sides, acknowledged with an inclusion proof.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evx_node::pki::{self, Deployment, NodeConfig, RegistryFile};
use evx_node::transport::{Limits, TlsFiles, server_config};
use evx_protocol::crypto::{KeyFile, SigningKey};
use evx_protocol::document::{DataCategory, EvidenceRequest, Outcome, Selector, Signed, TimeRange};
use evx_protocol::frame::Message;
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::sample;
use evx_requested::dataset::account_name;
use evx_requested::server::Desk;
use evx_requesting::client::{Prepared, Requester};

use super::Error;
use crate::request::now;

const DAY: u64 = 86_400;

/// A fresh deployment in `dir`: both nodes, a requested node that takes any number of
/// requests a second (the benchmark is the only client).
pub(crate) fn deployment(dir: &Path) -> Result<Deployment, Error> {
    let d = pki::init(
        dir,
        (&sample::requesting_party(), "Germany"),
        (&sample::requested_party(), "Provider"),
        now().0,
    )?;
    let text = std::fs::read_to_string(&d.requested_config)?;
    std::fs::write(
        &d.requested_config,
        text.replacen(
            "\n[keys]",
            "\nrequests_per_second = 1000000000\nrequest_burst = 1000000000\n\n[keys]",
            1,
        ),
    )?;
    Ok(d)
}

/// The node configuration's TLS files.
pub(crate) fn tls(config: &NodeConfig) -> Result<TlsFiles, Error> {
    Ok(TlsFiles::load(
        &config.keys.tls_cert,
        &config.keys.tls_key,
        &config.ca_cert,
        &config.crl,
    )?)
}

/// The requested node serving in this process on a free loopback port.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    endpoint: quinn::Endpoint,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub(crate) fn start(config: &NodeConfig) -> Result<Self, Error> {
        let desk = Arc::new(Desk::open(config)?);
        let registry = Arc::new(RegistryFile::load(&config.registry)?);
        let endpoint = quinn::Endpoint::server(
            server_config(&tls(config)?, Limits::default())?,
            "127.0.0.1:0".parse()?,
        )?;
        let addr = endpoint.local_addr()?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(evx_requested::serve::run(
            endpoint.clone(),
            desk,
            registry,
            stopping,
        ));
        Ok(Self {
            addr,
            endpoint,
            stop,
            task,
        })
    }

    /// Stops serving after the exchanges in flight.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(20), self.task).await;
        self.endpoint.close(0u32.into(), b"done");
        self.endpoint.wait_idle().await;
    }
}

/// A new request of the most common kind — who holds an account — for the dataset's first
/// account over the last week, issued now, with a fresh random id.
pub(crate) fn subscriber_request() -> Result<EvidenceRequest, Error> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| format!("no randomness: {e}"))?;
    let t = now().0;
    let mut r = sample::production_request(RequestId(id));
    r.issued_at = UnixTime(t);
    r.time_range = TimeRange {
        from: UnixTime(t - 7 * DAY),
        to: UnixTime(t),
    };
    r.categories = vec![DataCategory::Subscriber];
    r.selectors = vec![Selector::Account {
        service: "mail.provider.example".into(),
        account: account_name(0),
    }];
    Ok(r)
}

/// The encoded size of a typical request on the wire: the size the baseline echoes.
pub(crate) fn request_size(requester: &Requester) -> Result<usize, Error> {
    let prepared = requester.prepare(subscriber_request()?, Vec::new())?;
    Ok(Message::Request(prepared.signed).encode().len())
}

/// One request round trip, from building and signing it to the verified, logged decision.
pub(crate) async fn round_trip(
    requester: &Requester,
    to: &PartyId,
    addr: SocketAddr,
) -> Result<Duration, Error> {
    let start = Instant::now();
    let prepared = requester.prepare(subscriber_request()?, Vec::new())?;
    let sent = requester.send(&prepared, to, Some(addr), now()).await?;
    let elapsed = start.elapsed();
    if !matches!(sent.decision.outcome, Outcome::Accept { .. }) {
        return Err(format!(
            "the benchmark's request was not accepted: {:?}",
            sent.decision.outcome
        )
        .into());
    }
    Ok(elapsed)
}

/// The judge's key of the deployment's requesting party.
pub(crate) fn judge(dir: &Path) -> Result<SigningKey, Error> {
    let path: PathBuf = dir.join(format!(
        "authorities/{}-judge.key",
        sample::requesting_party()
    ));
    Ok(KeyFile::parse(&std::fs::read_to_string(&path)?)?.signing_key()?)
}

/// A production order for the content of the dataset's first account over the last week,
/// validated by the judge: the bulk benchmark's evidence.
pub(crate) fn content_request(
    requester: &Requester,
    judge: &SigningKey,
) -> Result<Prepared, Error> {
    let mut r = subscriber_request()?;
    r.categories = vec![DataCategory::Content];
    let prepared = requester.prepare(r, Vec::new())?;
    let mut v = sample::validation(&prepared.signed, &prepared.request);
    v.validated_at = prepared.request.issued_at;
    Ok(Prepared {
        validations: vec![Signed::sign(&v, judge)?],
        ..prepared
    })
}
