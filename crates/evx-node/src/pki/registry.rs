//! The peer registry: who each party is — the key of its TLS certificate, its document, HPKE,
//! log and witness keys — and which judicial authorities and reviewers the policy engine
//! trusts. One TOML file, shared by the deployment's nodes.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evx_protocol::crypto::{HpkePublicKey, VerifyingKey};
use evx_protocol::document::AuthorityType;
use evx_protocol::ids::PartyId;
use evx_protocol::note::NoteVerifier;
use evx_protocol::policy::{self, KeyRole, TrustedKey};
use serde::Deserialize;

use super::ConfigError;

/// One party of the deployment.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyEntry {
    /// Its party id.
    pub id: PartyId,
    /// Its name.
    pub name: String,
    /// SHA-256 of its TLS certificate's SubjectPublicKeyInfo, lowercase hex: how a connection's
    /// client certificate is mapped to the party.
    pub tls_spki_sha256: String,
    /// Its Ed25519 document key, base64.
    pub documents: String,
    /// Its X25519 HPKE key, base64: evidence is sealed to it.
    pub hpke: String,
    /// Its audit log's verifier key (`name+id+key`).
    pub log: String,
    /// Its witness (cosignature) verifier key.
    pub witness: String,
    /// Where its node accepts connections, if it serves requests: the address a requesting
    /// node connects to.
    #[serde(default)]
    pub address: Option<std::net::SocketAddr>,
}

/// A judicial authority whose validations the engine accepts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityEntry {
    /// The party (state) it belongs to.
    pub party: PartyId,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub authority_type: AuthorityType,
    /// Its Ed25519 key, base64.
    pub key: String,
}

/// A reviewer whose decisions the engine accepts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewerEntry {
    /// The party it decides for.
    pub party: PartyId,
    /// Name and function.
    pub name: String,
    /// Its Ed25519 key, base64.
    pub key: String,
}

/// The registry file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    /// Format (1).
    pub format: u8,
    /// The parties.
    #[serde(default)]
    pub parties: Vec<PartyEntry>,
    /// Judicial authorities.
    #[serde(default)]
    pub authorities: Vec<AuthorityEntry>,
    /// Reviewers.
    #[serde(default)]
    pub reviewers: Vec<ReviewerEntry>,
}

fn ed25519(file: &str, key: &str, value: &str) -> Result<VerifyingKey, ConfigError> {
    let bad = || ConfigError::invalid(file, key, "the base64 of a 32-byte Ed25519 public key");
    let bytes: [u8; 32] = STANDARD
        .decode(value)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

impl RegistryFile {
    /// Reads and checks the registry.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let reg: Self = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            file: file.clone(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        if reg.format != 1 {
            return Err(ConfigError::invalid(&file, "format", "1"));
        }
        for (i, p) in reg.parties.iter().enumerate() {
            let k = |f: &str| format!("parties[{i}].{f}");
            ed25519(&file, &k("documents"), &p.documents)?;
            let hpke: Option<[u8; 32]> = STANDARD
                .decode(&p.hpke)
                .ok()
                .and_then(|b| b.try_into().ok());
            if hpke.is_none() {
                return Err(ConfigError::invalid(
                    &file,
                    &k("hpke"),
                    "the base64 of a 32-byte X25519 public key",
                ));
            }
            NoteVerifier::parse(&p.log)
                .map_err(|e| ConfigError::invalid(&file, &k("log"), &e.to_string()))?;
            NoteVerifier::parse(&p.witness)
                .map_err(|e| ConfigError::invalid(&file, &k("witness"), &e.to_string()))?;
            if p.tls_spki_sha256.len() != 64
                || !p
                    .tls_spki_sha256
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(ConfigError::invalid(
                    &file,
                    &k("tls_spki_sha256"),
                    "64 lowercase hex digits: SHA-256 of the certificate's public key info",
                ));
            }
            if reg.parties[..i].iter().any(|q| q.id == p.id) {
                return Err(ConfigError::invalid(&file, &k("id"), "a party listed once"));
            }
            // One TLS key, one party: otherwise a connection could be taken for either.
            if reg.parties[..i]
                .iter()
                .any(|q| q.tls_spki_sha256 == p.tls_spki_sha256)
            {
                return Err(ConfigError::invalid(
                    &file,
                    &k("tls_spki_sha256"),
                    "a TLS key registered for one party only",
                ));
            }
        }
        for (i, a) in reg.authorities.iter().enumerate() {
            ed25519(&file, &format!("authorities[{i}].key"), &a.key)?;
        }
        for (i, r) in reg.reviewers.iter().enumerate() {
            ed25519(&file, &format!("reviewers[{i}].key"), &r.key)?;
        }
        Ok(reg)
    }

    /// The party whose TLS key hashes to `spki_sha256`.
    pub fn party_by_tls(&self, spki_sha256: &str) -> Option<&PartyEntry> {
        self.parties
            .iter()
            .find(|p| p.tls_spki_sha256 == spki_sha256)
    }

    /// A party's audit-log and witness keys.
    pub fn peer_keys(&self, id: &PartyId) -> Option<crate::witnessing::PeerKeys> {
        let p = self.party(id)?;
        Some(crate::witnessing::PeerKeys {
            log: NoteVerifier::parse(&p.log).ok()?,
            witness: NoteVerifier::parse(&p.witness).ok()?,
        })
    }

    /// The party with this id.
    pub fn party(&self, id: &PartyId) -> Option<&PartyEntry> {
        self.parties.iter().find(|p| &p.id == id)
    }

    /// A party's HPKE key.
    pub fn hpke(&self, id: &PartyId) -> Option<HpkePublicKey> {
        let p = self.party(id)?;
        let b: [u8; 32] = STANDARD.decode(&p.hpke).ok()?.try_into().ok()?;
        Some(HpkePublicKey::from_bytes(&b))
    }

    /// The keys the policy engine trusts, with their roles.
    pub fn policy_registry(&self) -> policy::Registry {
        let mut r = policy::Registry::new();
        for p in &self.parties {
            if let Ok(key) = ed25519("", "", &p.documents) {
                r.add(TrustedKey {
                    key,
                    party: p.id.clone(),
                    role: KeyRole::Documents,
                });
            }
        }
        for a in &self.authorities {
            if let Ok(key) = ed25519("", "", &a.key) {
                r.add(TrustedKey {
                    key,
                    party: a.party.clone(),
                    role: KeyRole::JudicialAuthority {
                        authority: a.name.clone(),
                        authority_type: a.authority_type,
                    },
                });
            }
        }
        for v in &self.reviewers {
            if let Ok(key) = ed25519("", "", &v.key) {
                r.add(TrustedKey {
                    key,
                    party: v.party.clone(),
                    role: KeyRole::Reviewer {
                        name: v.name.clone(),
                    },
                });
            }
        }
        r
    }
}

/// A party's registered document key.
pub fn registry_documents_key(entry: &PartyEntry) -> Option<VerifyingKey> {
    ed25519("", "", &entry.documents).ok()
}
