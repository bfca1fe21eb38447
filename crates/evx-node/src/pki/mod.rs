//! The deployment's PKI and the files a node is configured with.
//!
//! `evx pki init DIR` creates, for a development or test deployment on one machine:
//!
//! ```text
//! DIR/ca/ca.crt, ca.key        the deployment CA (ECDSA P-256): who is a node of the network
//! DIR/ca/crl.pem               its certificate revocation list
//! DIR/ca/issued.toml           the certificates it issued, and which are revoked
//! DIR/nodes/<party>/           tls.crt, tls.key, documents.key, hpke.key, log.key,
//!                              witness.key, config.toml
//! DIR/authorities/…            a judge's key for the requesting party's validations
//! DIR/reviewers/…              a reviewer's key for the requested party
//! DIR/registry.toml            who each party is, by key (the peer registry)
//! DIR/agreement.toml           the agreement in force (the EU example)
//! ```
//!
//! Private keys are written with mode 0600. The CA answers "is this a node of the network";
//! the registry answers "who is it and what may it sign".

mod config;
mod registry;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evx_protocol::crypto::{HpkeSecretKey, SigningKey, sha256};
use evx_protocol::ids::PartyId;
use evx_protocol::note::{NoteSigner, SIG_COSIGNATURE, SIG_ED25519};
use evx_protocol::rand_core::UnwrapErr;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    PublicKeyData, RevocationReason, RevokedCertParams, SerialNumber,
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

pub use config::{KeyPaths, NodeConfig, set_dataset};
pub use registry::{
    AuthorityEntry, PartyEntry, RegistryFile, ReviewerEntry, registry_documents_key,
};

/// Why a configuration, registry or PKI operation failed. Every variant names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{file}: {reason}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Not TOML of the expected shape (the parser's message names line, column and key).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A value is wrong.
    #[error("{file}: `{key}`: expected {expected}")]
    Invalid {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What is expected.
        expected: String,
    },
    /// The PKI operation cannot be done as asked.
    #[error("{0}")]
    Pki(String),
}

impl ConfigError {
    pub(crate) fn invalid(file: &str, key: &str, expected: &str) -> Self {
        Self::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            expected: expected.to_owned(),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |e| ConfigError::Read {
        file: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn pki(e: rcgen::Error) -> ConfigError {
    ConfigError::Pki(format!("certificate generation failed: {e}"))
}

/// Writes a public file.
fn write_public(path: &Path, text: &str) -> Result<(), ConfigError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    std::fs::write(path, text).map_err(io(path))
}

/// Writes a secret: created new with mode 0600 (never over an existing file).
fn write_secret(path: &Path, text: &str) -> Result<(), ConfigError> {
    use std::io::Write as _;
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

const CA_NAME: &str = "evx deployment CA";

fn ca_params(now: OffsetDateTime) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.key_identifier_method = KeyIdMethod::Sha256;
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(3650);
    p
}

fn ca_issuer(dir: &Path) -> Result<Issuer<'static, KeyPair>, ConfigError> {
    let path = dir.join("ca/ca.key");
    let pem = std::fs::read_to_string(&path).map_err(io(&path))?;
    let key = KeyPair::from_pem(&pem).map_err(pki)?;
    // The issuer's name and key identifier are all a certificate or CRL takes from it, and
    // both are fixed: the dates do not matter here.
    Ok(Issuer::new(ca_params(OffsetDateTime::UNIX_EPOCH), key))
}

fn now_time(now: u64) -> Result<OffsetDateTime, ConfigError> {
    OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or(i64::MAX))
        .map_err(|_| ConfigError::Pki(format!("{now} is not a usable time")))
}

/// One certificate the CA issued.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issued {
    /// The party.
    pub party: PartyId,
    /// The serial number, hex.
    pub serial: String,
    /// When it was revoked (POSIX seconds), 0 if it is not.
    pub revoked_at: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuedFile {
    #[serde(default)]
    certificates: Vec<Issued>,
}

fn read_issued(dir: &Path) -> Result<Vec<Issued>, ConfigError> {
    let path = dir.join("ca/issued.toml");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let f: IssuedFile = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        file: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(f.certificates)
}

fn write_issued(dir: &Path, issued: &[Issued]) -> Result<(), ConfigError> {
    let mut s = String::from("# Certificates issued by this deployment's CA (evx pki).\n");
    for i in issued {
        let _ = write!(
            s,
            "\n[[certificates]]\nparty = \"{}\"\nserial = \"{}\"\nrevoked_at = {}\n",
            i.party, i.serial, i.revoked_at
        );
    }
    write_public(&dir.join("ca/issued.toml"), &s)
}

fn write_crl(
    dir: &Path,
    issued: &[Issued],
    now: OffsetDateTime,
    number: u64,
) -> Result<(), ConfigError> {
    let revoked_certs = issued
        .iter()
        .filter(|i| i.revoked_at > 0)
        .map(|i| {
            let serial: Vec<u8> = (0..i.serial.len() / 2)
                .filter_map(|k| u8::from_str_radix(&i.serial[2 * k..2 * k + 2], 16).ok())
                .collect();
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial),
                revocation_time: now_time(i.revoked_at)?,
                reason_code: Some(RevocationReason::Unspecified),
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let crl = CertificateRevocationListParams {
        this_update: now,
        next_update: now + Duration::days(30),
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca_issuer(dir)?)
    .map_err(pki)?;
    write_public(&dir.join("ca/crl.pem"), &crl.pem().map_err(pki)?)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Issues a node identity for `party` under `dir`: TLS certificate and key, document, HPKE, log
/// and witness keys, and a configuration file. Returns its registry entry.
fn issue_node(
    dir: &Path,
    party: &PartyId,
    name: &str,
    listen_port: u16,
    now: OffsetDateTime,
) -> Result<PartyEntry, ConfigError> {
    let rng = &mut UnwrapErr(getrandom::SysRng);
    let node = dir.join("nodes").join(party.as_str());
    if node.exists() {
        return Err(ConfigError::Pki(format!(
            "{} exists already: a party is issued once (revoke it and issue a new party id to \
             replace it)",
            node.display()
        )));
    }
    // TLS: ECDSA P-256, for serverAuth and clientAuth (a node is both).
    let key = KeyPair::generate().map_err(pki)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .map_err(pki)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, party.as_str());
    dn.push(DnType::OrganizationName, name);
    params.distinguished_name = dn;
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let mut serial = [0u8; 16];
    evx_protocol::rand_core::Rng::fill_bytes(rng, &mut serial);
    serial[0] &= 0x7f; // a positive INTEGER
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(365);
    let cert = params.signed_by(&key, &ca_issuer(dir)?).map_err(pki)?;
    write_public(&node.join("tls.crt"), &cert.pem())?;
    write_secret(&node.join("tls.key"), &key.serialize_pem())?;

    let documents = SigningKey::generate(rng);
    write_secret(&node.join("documents.key"), &documents.to_key_file())?;
    let hpke = HpkeSecretKey::generate(rng);
    write_secret(&node.join("hpke.key"), &hpke.to_key_file())?;
    let log = NoteSigner::new(
        &format!("evx.local/{party}/audit"),
        SIG_ED25519,
        SigningKey::generate(rng),
    )
    .map_err(|e| ConfigError::Pki(e.to_string()))?;
    write_secret(&node.join("log.key"), &format!("{}\n", &*log.to_skey()))?;
    let witness = NoteSigner::new(
        &format!("evx.local/{party}/witness"),
        SIG_COSIGNATURE,
        SigningKey::generate(rng),
    )
    .map_err(|e| ConfigError::Pki(e.to_string()))?;
    write_secret(
        &node.join("witness.key"),
        &format!("{}\n", &*witness.to_skey()),
    )?;
    write_public(
        &node.join("config.toml"),
        &format!(
            "# evx node configuration for {party}. Paths are relative to this file.\n\
             format = 1\n\
             party = \"{party}\"\n\
             listen = \"127.0.0.1:{listen_port}\"\n\
             data_dir = \"data\"\n\
             ca_cert = \"../../ca/ca.crt\"\n\
             crl = \"../../ca/crl.pem\"\n\
             registry = \"../../registry.toml\"\n\
             agreement = \"../../agreement.toml\"\n\
             \n\
             [keys]\n\
             tls_cert = \"tls.crt\"\n\
             tls_key = \"tls.key\"\n\
             documents = \"documents.key\"\n\
             hpke = \"hpke.key\"\n\
             log = \"log.key\"\n\
             witness = \"witness.key\"\n"
        ),
    )?;
    let mut issued = read_issued(dir)?;
    issued.push(Issued {
        party: party.clone(),
        serial: hex(&serial),
        revoked_at: 0,
    });
    write_issued(dir, &issued)?;
    Ok(PartyEntry {
        id: party.clone(),
        name: name.to_owned(),
        tls_spki_sha256: hex(&sha256(&key.subject_public_key_info())),
        documents: STANDARD.encode(documents.verifying_key().to_bytes()),
        hpke: STANDARD.encode(hpke.public_key().to_bytes()),
        log: log.verifier().to_vkey(),
        witness: witness.verifier().to_vkey(),
        address: Some(std::net::SocketAddr::from(([127, 0, 0, 1], listen_port))),
    })
}

fn registry_text(reg: &RegistryFile) -> String {
    let mut s = String::from(
        "# evx peer registry: who each party is, by key. Shared by the deployment's nodes.\n\
         format = 1\n",
    );
    // A TOML basic string: quotes, backslashes and control characters escaped.
    let q = |v: &str| {
        v.chars()
            .map(|c| match c {
                '"' => "\\\"".to_owned(),
                '\\' => "\\\\".to_owned(),
                c if c.is_control() => format!("\\u{:04X}", u32::from(c)),
                c => c.to_string(),
            })
            .collect::<String>()
    };
    for p in &reg.parties {
        let _ = write!(
            s,
            "\n[[parties]]\nid = \"{}\"\nname = \"{}\"\ntls_spki_sha256 = \"{}\"\n\
             documents = \"{}\"\nhpke = \"{}\"\nlog = \"{}\"\nwitness = \"{}\"\n",
            p.id,
            q(&p.name),
            p.tls_spki_sha256,
            p.documents,
            p.hpke,
            p.log,
            p.witness
        );
        if let Some(a) = p.address {
            let _ = writeln!(s, "address = \"{a}\"");
        }
    }
    for a in &reg.authorities {
        let _ = write!(
            s,
            "\n[[authorities]]\nparty = \"{}\"\nname = \"{}\"\ntype = \"{}\"\nkey = \"{}\"\n",
            a.party,
            q(&a.name),
            a.authority_type.as_str(),
            a.key
        );
    }
    for r in &reg.reviewers {
        let _ = write!(
            s,
            "\n[[reviewers]]\nparty = \"{}\"\nname = \"{}\"\nkey = \"{}\"\n",
            r.party,
            q(&r.name),
            r.key
        );
    }
    s
}

/// The files of a deployment.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// Its directory.
    pub dir: PathBuf,
    /// The requesting party's configuration file.
    pub requesting_config: PathBuf,
    /// The requested party's configuration file.
    pub requested_config: PathBuf,
}

/// Creates a deployment in `dir` (which must not hold one already): the CA and its CRL, a
/// requesting and a requested party with all their keys and configuration, a judge for the
/// requesting party, a reviewer for the requested party, the registry and the agreement.
pub fn init(
    dir: &Path,
    requesting: (&PartyId, &str),
    requested: (&PartyId, &str),
    now: u64,
) -> Result<Deployment, ConfigError> {
    if dir.join("ca/ca.crt").exists() {
        return Err(ConfigError::Pki(format!(
            "{} already holds a deployment; use `evx pki issue` to add a node",
            dir.display()
        )));
    }
    let now_t = now_time(now)?;
    let ca_key = KeyPair::generate().map_err(pki)?;
    let ca = ca_params(now_t).self_signed(&ca_key).map_err(pki)?;
    write_public(&dir.join("ca/ca.crt"), &ca.pem())?;
    write_secret(&dir.join("ca/ca.key"), &ca_key.serialize_pem())?;
    write_issued(dir, &[])?;
    write_crl(dir, &[], now_t, 1)?;

    let rng = &mut UnwrapErr(getrandom::SysRng);
    let a = issue_node(dir, requesting.0, requesting.1, 4430, now_t)?;
    let b = issue_node(dir, requested.0, requested.1, 4431, now_t)?;
    let judge = SigningKey::generate(rng);
    write_secret(
        &dir.join(format!("authorities/{}-judge.key", requesting.0)),
        &judge.to_key_file(),
    )?;
    let reviewer = SigningKey::generate(rng);
    write_secret(
        &dir.join(format!("reviewers/{}-reviewer.key", requested.0)),
        &reviewer.to_key_file(),
    )?;
    let registry = RegistryFile {
        format: 1,
        parties: vec![a, b],
        authorities: vec![AuthorityEntry {
            party: requesting.0.clone(),
            name: "Investigating judge (development)".into(),
            authority_type: evx_protocol::document::AuthorityType::InvestigatingJudge,
            key: STANDARD.encode(judge.verifying_key().to_bytes()),
        }],
        reviewers: vec![ReviewerEntry {
            party: requested.0.clone(),
            name: "Reviewer (development)".into(),
            key: STANDARD.encode(reviewer.verifying_key().to_bytes()),
        }],
    };
    write_public(&dir.join("registry.toml"), &registry_text(&registry))?;
    let agreement = evx_protocol::policy::examples::EU_2023_1543
        .replace("\"DE-BfJ\"", &format!("\"{}\"", requesting.0))
        .replace("\"IE-provider-LERT\"", &format!("\"{}\"", requested.0));
    write_public(&dir.join("agreement.toml"), &agreement)?;
    Ok(Deployment {
        dir: dir.to_owned(),
        requesting_config: dir
            .join("nodes")
            .join(requesting.0.as_str())
            .join("config.toml"),
        requested_config: dir
            .join("nodes")
            .join(requested.0.as_str())
            .join("config.toml"),
    })
}

/// Adds a node to an existing deployment and to its registry.
pub fn issue(
    dir: &Path,
    party: &PartyId,
    name: &str,
    listen_port: u16,
    now: u64,
) -> Result<PathBuf, ConfigError> {
    let path = dir.join("registry.toml");
    let mut registry = RegistryFile::load(&path)?;
    if registry.party(party).is_some() {
        return Err(ConfigError::Pki(format!(
            "{party} is already in the registry"
        )));
    }
    let entry = issue_node(dir, party, name, listen_port, now_time(now)?)?;
    registry.parties.push(entry);
    write_public(&path, &registry_text(&registry))?;
    Ok(dir.join("nodes").join(party.as_str()).join("config.toml"))
}

/// Revokes a party's certificate: it is listed in a new, signed CRL.
pub fn revoke(dir: &Path, party: &PartyId, now: u64) -> Result<(), ConfigError> {
    let mut issued = read_issued(dir)?;
    let mut found = false;
    for i in issued
        .iter_mut()
        .filter(|i| &i.party == party && i.revoked_at == 0)
    {
        i.revoked_at = now.max(1);
        found = true;
    }
    if !found {
        return Err(ConfigError::Pki(format!(
            "no unrevoked certificate of {party} was issued by this CA"
        )));
    }
    write_issued(dir, &issued)?;
    let number = 1 + issued.iter().filter(|i| i.revoked_at > 0).count() as u64;
    write_crl(dir, &issued, now_time(now)?, number)
}
