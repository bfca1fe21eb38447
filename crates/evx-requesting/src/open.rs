//! Opening a received package for a declared case and purpose.
//!
//! Evidence is bound to the case and purpose it was transferred for (purpose limitation): the
//! package header states them, the sender signed them, and opening checks the declaration
//! against them before anything is decrypted. Every opening — and every refusal — is logged
//! with the purpose declared, so an oversight body can see what evidence was used for.
//!
//! Plaintext is staged in a hidden file in the output directory and split into the items only
//! once the whole package has verified; on any failure the staged bytes are removed.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use evx_protocol::audit::{Event, EventKind, OpenRefusal};
use evx_protocol::crypto::VerifyingKey;
use evx_protocol::document::ConsentScope;
use evx_protocol::ids::{PackageId, UnixTime};
use evx_protocol::package::{Manifest, OpenError, PackageReader, Staging};
use evx_protocol::purpose::DeclaredPurpose;

use crate::client::{ClientError, Requester};

/// Why a package was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenPackageError {
    /// The declared case or purpose is not one the package allows (logged as `open_refused`).
    #[error("{0}")]
    PurposeRefused(String),
    /// The request was withdrawn and its data declared unusable (logged as `open_refused`).
    #[error("{0}")]
    Withdrawn(String),
    /// The package's retention has ended: it was deleted (logged as `open_refused`).
    #[error("{0}")]
    Expired(String),
    /// The package failed verification (logged as `open_refused`); nothing was written.
    #[error("the package failed verification; nothing was written: {0}")]
    Integrity(String),
    /// The package cannot be attributed: not for this party, or from a sender the registry
    /// does not list.
    #[error("{0}")]
    NotOurs(String),
    /// The output directory or a file in it.
    #[error("{0}")]
    Output(String),
    /// The node's log or store.
    #[error(transparent)]
    Node(#[from] ClientError),
}

/// One evidence item written out.
#[derive(Clone, Debug)]
pub struct WrittenItem {
    /// Its file.
    pub path: PathBuf,
    /// Its length.
    pub length: u64,
    /// Its media type, as the manifest states.
    pub media_type: String,
    /// Where it was collected from, as the manifest states.
    pub source: String,
}

/// A package opened into a directory.
#[derive(Clone, Debug)]
pub struct OpenedPackage {
    /// Its id.
    pub package_id: PackageId,
    /// The items, in package order.
    pub items: Vec<WrittenItem>,
    /// The signed manifest, written next to the items: with them, proof of origin.
    pub manifest_path: PathBuf,
    /// Opened for a case or purpose the sender consented to after the transfer.
    pub by_consent: bool,
}

/// Stages plaintext in a hidden file of the output directory; on commit, splits it into the
/// manifest's items.
struct DirectoryStaging {
    dir: PathBuf,
    staged: PathBuf,
    file: Option<BufWriter<File>>,
}

fn item_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with(".evx-")
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control)
}

impl Staging for DirectoryStaging {
    type Committed = Vec<WrittenItem>;

    fn write(&mut self, plaintext: &[u8]) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.write_all(plaintext),
            None => Err(std::io::Error::other("staging already closed")),
        }
    }

    fn commit(mut self, manifest: &Manifest) -> std::io::Result<Vec<WrittenItem>> {
        // Every name is checked before anything is written, and the files written are removed
        // again if a later one fails: a failed opening leaves no plaintext behind (and none
        // that retention would not know to delete).
        let mut created: Vec<PathBuf> = Vec::new();
        let result = (|| {
            for (i, item) in manifest.items.iter().enumerate() {
                if !item_name_ok(&item.spec.name) {
                    return Err(std::io::Error::other(format!(
                        "the manifest names an item {:?}, which is not a plain file name",
                        item.spec.name
                    )));
                }
                if manifest.items[..i]
                    .iter()
                    .any(|other| other.spec.name == item.spec.name)
                {
                    return Err(std::io::Error::other(format!(
                        "the manifest names the item {:?} twice",
                        item.spec.name
                    )));
                }
            }
            let file = self
                .file
                .take()
                .ok_or_else(|| std::io::Error::other("staging already closed"))?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            let mut staged = BufReader::new(File::open(&self.staged)?);
            let mut out = Vec::new();
            for (item, range) in manifest.items.iter().zip(manifest.item_ranges()) {
                let path = self.dir.join(&item.spec.name);
                let mut w = BufWriter::new(
                    File::options()
                        .write(true)
                        .create_new(true)
                        .open(&path)
                        .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?,
                );
                created.push(path.clone());
                staged.seek(SeekFrom::Start(range.start))?;
                let copied =
                    std::io::copy(&mut (&mut staged).take(range.end - range.start), &mut w)?;
                w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                out.push(WrittenItem {
                    path,
                    length: copied,
                    media_type: item.spec.media_type.clone(),
                    source: item.spec.collection.source.clone(),
                });
            }
            Ok(out)
        })();
        let _ = std::fs::remove_file(&self.staged);
        if result.is_err() {
            for path in &created {
                let _ = std::fs::remove_file(path);
            }
        }
        result
    }

    fn discard(mut self) {
        self.file = None;
        let _ = std::fs::remove_file(&self.staged);
    }
}

impl Requester {
    /// Opens the sealed package at `package` for `declared`, writing its items into `out`
    /// (created if needed; existing files are never overwritten). Logs `package_opened` or
    /// `open_refused`, with the purpose declared.
    pub fn open_package(
        &self,
        package: &Path,
        declared: &DeclaredPurpose,
        out: &Path,
        now: UnixTime,
    ) -> Result<OpenedPackage, OpenPackageError> {
        // The retention pass first: a package whose time is up is deleted, not opened.
        self.enforce_retention(now)?;
        if let Ok(id) = File::open(package)
            .map_err(|e| e.to_string())
            .and_then(|f| evx_node::vault::stored_package_id(f).map_err(|e| e.to_string()))
            && let (_, Some(deleted)) = self.retention(&id)?
        {
            self.log_refusal(id, OpenRefusal::Expired, declared, now)?;
            return Err(OpenPackageError::Expired(format!(
                "package {id} was deleted at the end of its retention ({deleted}); opening refused and logged"
            )));
        }
        let source = match self.read_package(package) {
            Ok(r) => r,
            Err(e) => return Err(OpenPackageError::Output(e.to_string())),
        };
        let reader =
            PackageReader::new(source).map_err(|e| OpenPackageError::Integrity(e.to_string()))?;
        let header = reader.header().clone();
        let package_id = reader.package_id();
        if header.recipient_party != *self.party() {
            return Err(OpenPackageError::NotOurs(format!(
                "the package is for {}, not for {}",
                header.recipient_party,
                self.party()
            )));
        }
        let sender: VerifyingKey = self
            .registry()
            .party(&header.sender_party)
            .and_then(evx_node::pki::registry_documents_key)
            .filter(|k| k.id() == header.sender)
            .ok_or_else(|| {
                OpenPackageError::NotOurs(format!(
                    "the package claims to come from {} with key {}, which the registry does not list",
                    header.sender_party, header.sender
                ))
            })?;
        let log = |kind: EventKind| -> Result<u64, ClientError> {
            Ok(self.audit().append(
                &Event {
                    v: 1,
                    at: now,
                    actor: evx_protocol::audit::Actor {
                        party: self.party().clone(),
                        by: "requester".into(),
                    },
                    kind,
                    request: Some(header.request_id),
                    case: None,
                    purpose: Some(declared.purpose),
                    subjects: Vec::new(),
                },
                vec![],
            )?)
        };
        // Whatever file it came from (a vault file, a stray copy of the sealed bytes): a
        // package deleted at the end of its retention is not opened again.
        if let (_, Some(deleted)) = self.retention(&package_id)? {
            log(EventKind::OpenRefused {
                package_id,
                reason: OpenRefusal::Expired,
            })?;
            return Err(OpenPackageError::Expired(format!(
                "package {package_id} was deleted at the end of its retention ({deleted}); opening refused and logged"
            )));
        }
        // A withdrawn request's data may not be used any more. A request this node never sent
        // has no withdrawal to honour; any other failure to read the record refuses the
        // opening rather than skip the check.
        let withdrawn = match self.record(&header.request_id) {
            Ok(record) => record.withdrawal.as_ref().is_some_and(|w| w.data_unusable),
            Err(ClientError::UnknownRequest(_)) => false,
            Err(e) => return Err(e.into()),
        };
        if withdrawn {
            log(EventKind::OpenRefused {
                package_id,
                reason: OpenRefusal::Withdrawn,
            })?;
            return Err(OpenPackageError::Withdrawn(format!(
                "request {} was withdrawn and its data declared unusable; opening refused and logged",
                header.request_id
            )));
        }
        std::fs::create_dir_all(out)
            .map_err(|e| OpenPackageError::Output(format!("{}: {e}", out.display())))?;
        let staged = out.join(format!(".evx-staging-{package_id}"));
        let staging = DirectoryStaging {
            dir: out.to_owned(),
            file: Some(BufWriter::new(File::create(&staged).map_err(|e| {
                OpenPackageError::Output(format!("{}: {e}", staged.display()))
            })?)),
            staged,
        };
        // Beyond what the package was transferred for, only with the sender's consent: then it
        // is opened under its own binding, and the opening is logged with the purpose declared.
        let by_consent = evx_protocol::purpose::check(
            &header.case_id,
            header.purpose,
            &header.conditions,
            declared,
        )
        .is_err()
            && self
                .granted_consents(&header.request_id)
                .unwrap_or_default()
                .iter()
                .any(|scope| match scope {
                    ConsentScope::OtherPurpose { purpose } => {
                        declared.case == header.case_id && declared.purpose == *purpose
                    }
                    ConsentScope::OtherCase { case_id, purpose } => {
                        &declared.case == case_id && declared.purpose == *purpose
                    }
                    ConsentScope::OnwardTransfer { .. } => false,
                });
        let binding = DeclaredPurpose {
            case: header.case_id.clone(),
            purpose: header.purpose,
        };
        let effective = if by_consent { &binding } else { declared };
        match reader.open(self.hpke(), &sender, effective, staging) {
            Ok(opened) => {
                let manifest_path = out.join(format!(".evx-manifest-{package_id}"));
                std::fs::write(&manifest_path, opened.signed_manifest.encode()).map_err(|e| {
                    OpenPackageError::Output(format!("{}: {e}", manifest_path.display()))
                })?;
                log(EventKind::PackageOpened { package_id })?;
                // Deleted with the package at the end of its retention.
                for path in opened
                    .committed
                    .iter()
                    .map(|i| i.path.as_path())
                    .chain([manifest_path.as_path()])
                {
                    self.track_opened(&package_id, path)?;
                }
                Ok(OpenedPackage {
                    package_id,
                    items: opened.committed,
                    manifest_path,
                    by_consent,
                })
            }
            Err(OpenError::PurposeRefused(r)) => {
                log(EventKind::OpenRefused {
                    package_id,
                    reason: OpenRefusal::Purpose,
                })?;
                Err(OpenPackageError::PurposeRefused(format!(
                    "opening refused and logged: {r}"
                )))
            }
            Err(OpenError::Io(e)) => Err(OpenPackageError::Output(e.to_string())),
            Err(e) => {
                log(EventKind::OpenRefused {
                    package_id,
                    reason: OpenRefusal::Integrity,
                })?;
                Err(OpenPackageError::Integrity(e.to_string()))
            }
        }
    }
}

impl Requester {
    fn log_refusal(
        &self,
        package_id: evx_protocol::ids::PackageId,
        reason: OpenRefusal,
        declared: &DeclaredPurpose,
        now: UnixTime,
    ) -> Result<(), ClientError> {
        self.audit().append(
            &Event {
                v: 1,
                at: now,
                actor: evx_protocol::audit::Actor {
                    party: self.party().clone(),
                    by: "requester".into(),
                },
                kind: EventKind::OpenRefused { package_id, reason },
                request: None,
                case: None,
                purpose: Some(declared.purpose),
                subjects: Vec::new(),
            },
            vec![],
        )?;
        Ok(())
    }
}
