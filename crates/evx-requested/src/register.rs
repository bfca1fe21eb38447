//! The register of requests received: what the requested party's staff see of each request —
//! its decision, its deadlines and whether each was met, its delivery and receipt, a
//! withdrawal. Read-only, so it can be consulted while the node runs.

use std::sync::Mutex;

use evx_node::pki::NodeConfig;
use evx_protocol::document::{Decision, EvidenceRequest, Signed, Withdrawal};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use rusqlite::{OptionalExtension as _, params};

use crate::review::ReviewQueueError;

fn store(e: impl std::fmt::Display) -> ReviewQueueError {
    ReviewQueueError::Store(e.to_string())
}

/// One request received, as the register shows it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request.
    pub request: EvidenceRequest,
    /// Who made it.
    pub party: PartyId,
    /// When it arrived.
    pub received_at: UnixTime,
    /// The decision as it stands.
    pub decision: Option<Decision>,
    /// It waits for a reviewer.
    pub pending_review: bool,
    /// A sealed package is kept for delivery.
    pub package_ready: bool,
    /// Why sealing failed, if it did.
    pub package_error: Option<String>,
    /// The requesting party's receipt arrived: delivered.
    pub delivered: bool,
    /// A judicial validation arrived after the request.
    pub validated_later: bool,
    /// When the judicial validation is due, if one is awaited.
    pub validation_by: Option<UnixTime>,
    /// The withdrawal, if the request was withdrawn.
    pub withdrawal: Option<Withdrawal>,
}

/// The register of a requested node.
pub struct Register {
    registry: evx_node::pki::RegistryFile,
    party: PartyId,
    db: Mutex<rusqlite::Connection>,
}

type Row = (
    Vec<u8>,
    String,
    i64,
    Vec<u8>,
    Option<Vec<u8>>,
    i64,
    Option<String>,
    Option<String>,
    bool,
    bool,
    Option<i64>,
    Option<Vec<u8>>,
);

const COLUMNS: &str = "request_id, party, received_at, request, decision, pending_review, package, \
                       package_error, receipt IS NOT NULL, validation IS NOT NULL, validation_by, \
                       withdrawal";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

impl Register {
    /// Opens the register of the node a configuration describes.
    pub fn open(config: &NodeConfig) -> Result<Self, ReviewQueueError> {
        let registry = evx_node::pki::RegistryFile::load(&config.registry)
            .map_err(crate::server::ServeError::from)?;
        let db = crate::store::open(&config.data_dir.join("requests.sqlite")).map_err(store)?;
        Ok(Self {
            registry,
            party: config.party.clone(),
            db: Mutex::new(db),
        })
    }

    fn convert(&self, r: Row) -> Result<Received, ReviewQueueError> {
        let (
            _,
            party,
            received_at,
            request,
            decision,
            pending,
            package,
            package_error,
            delivered,
            validated_later,
            validation_by,
            withdrawal,
        ) = r;
        let party = PartyId::new(&party).map_err(store)?;
        let theirs = self
            .registry
            .party(&party)
            .and_then(evx_node::pki::registry_documents_key)
            .ok_or_else(|| store(format!("{party} has no document key in the registry")))?;
        let ours = self
            .registry
            .party(&self.party)
            .and_then(evx_node::pki::registry_documents_key)
            .ok_or_else(|| {
                store(format!(
                    "{} has no document key in the registry",
                    self.party
                ))
            })?;
        let request = Signed::<EvidenceRequest>::decode_owned(request)
            .and_then(|s| s.verify(&theirs))
            .map_err(store)?;
        let decision = decision
            .map(|d| Signed::<Decision>::decode_owned(d).and_then(|s| s.verify(&ours)))
            .transpose()
            .map_err(store)?;
        let withdrawal = withdrawal
            .map(|w| Signed::<Withdrawal>::decode_owned(w).and_then(|s| s.verify(&ours)))
            .transpose()
            .map_err(store)?;
        Ok(Received {
            request,
            party,
            received_at: UnixTime(received_at as u64),
            decision,
            pending_review: pending == 1,
            package_ready: package.is_some(),
            package_error,
            delivered,
            validated_later,
            validation_by: validation_by.map(|t| UnixTime(t as u64)),
            withdrawal,
        })
    }

    /// Every request received, newest first.
    pub fn list(&self) -> Result<Vec<Received>, ReviewQueueError> {
        let rows: Vec<Row> = {
            let db = self.db.lock().map_err(store)?;
            let mut stmt = db
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM requests ORDER BY received_at DESC, request_id"
                ))
                .map_err(store)?;
            stmt.query_map([], row)
                .map_err(store)?
                .collect::<Result<_, _>>()
                .map_err(store)?
        };
        rows.into_iter().map(|r| self.convert(r)).collect()
    }

    /// One request received.
    pub fn get(&self, id: &RequestId) -> Result<Received, ReviewQueueError> {
        let r: Option<Row> = {
            let db = self.db.lock().map_err(store)?;
            db.query_row(
                &format!("SELECT {COLUMNS} FROM requests WHERE request_id = ?1"),
                params![id.0.as_slice()],
                row,
            )
            .optional()
            .map_err(store)?
        };
        let r = r.ok_or_else(|| store(format!("no request {id} was received")))?;
        self.convert(r)
    }
}
