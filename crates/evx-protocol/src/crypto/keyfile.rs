//! The key-file text format: one small, line-oriented, self-checking file per key.
//!
//! ```text
//! # evx document-signing key (Ed25519). Secret: keep this file mode 0600.
//! evx-key: v1
//! type: ed25519-secret
//! id: 9a7c…(64 hex digits: SHA-256 of the public key)
//! key: <standard base64 of the 32 key bytes>
//! ```
//!
//! Lines starting with `#` and blank lines are comments. `evx-key`, `type` and `key` are
//! required; `id` is optional when reading but always written, and when present it must match
//! the key, which catches a file copied under the wrong name. Any other field, a repeated field
//! or a file over 4 KiB is refused. The full specification is in `docs/protocol.md`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{HpkePublicKey, HpkeSecretKey, SigningKey, VerifyingKey};
use crate::ids::KeyId;

/// The largest key file accepted, in bytes.
pub(crate) const MAX_KEY_FILE: usize = 4096;

/// Which key a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An Ed25519 signing (secret) key: documents, manifests, checkpoints.
    Ed25519Secret,
    /// An Ed25519 public key.
    Ed25519Public,
    /// An X25519 HPKE secret key: opens packages sealed to us.
    X25519Secret,
    /// An X25519 HPKE public key.
    X25519Public,
}

impl KeyKind {
    /// The `type:` value in the file.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ed25519Secret => "ed25519-secret",
            Self::Ed25519Public => "ed25519-public",
            Self::X25519Secret => "x25519-secret",
            Self::X25519Public => "x25519-public",
        }
    }

    fn from_label(s: &str) -> Option<Self> {
        [
            Self::Ed25519Secret,
            Self::Ed25519Public,
            Self::X25519Secret,
            Self::X25519Public,
        ]
        .into_iter()
        .find(|k| k.label() == s)
    }

    /// Whether the file holds a secret.
    pub fn is_secret(self) -> bool {
        matches!(self, Self::Ed25519Secret | Self::X25519Secret)
    }
}

/// Why a key file was refused. Messages never quote the key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The file is larger than any key file evx writes.
    #[error(
        "key file is {0} bytes; a key file is at most {MAX_KEY_FILE} bytes — is this the right file?"
    )]
    TooLarge(usize),
    /// A line is not `name: value`.
    #[error(
        "line {0} is not `name: value`; key files hold `evx-key`, `type`, `id` and `key` lines"
    )]
    BadLine(usize),
    /// A field appears twice.
    #[error("field `{0}` appears twice")]
    DuplicateField(String),
    /// A field evx does not know.
    #[error("unknown field `{0}`; key files hold only `evx-key`, `type`, `id` and `key`")]
    UnknownField(String),
    /// A required field is missing.
    #[error("the `{0}` field is missing")]
    MissingField(&'static str),
    /// The format version is not one this build reads.
    #[error("key file version `{0}` is not supported; this evx reads `v1`")]
    UnsupportedVersion(String),
    /// The `type:` value is unknown.
    #[error(
        "unknown key type `{0}`; expected ed25519-secret, ed25519-public, x25519-secret or x25519-public"
    )]
    UnknownType(String),
    /// The file holds a different kind of key than the caller needs.
    #[error("this file holds an {found} key, but an {expected} key is needed here")]
    WrongType {
        /// What the caller needs.
        expected: &'static str,
        /// What the file holds.
        found: &'static str,
    },
    /// The `key:` value is not base64 of 32 bytes.
    #[error("the `key` field is not standard base64 of 32 bytes")]
    BadKey,
    /// The `id:` value is not 64 hex digits.
    #[error("the `id` field is not 64 hex digits")]
    BadId,
    /// The key does not match the `id:` line: the file was edited or mixed up.
    #[error(
        "the key does not match the file's `id` (file says {stated}, key is {actual}); the file was altered or mixed up with another"
    )]
    IdMismatch {
        /// The id written in the file.
        stated: KeyId,
        /// The id of the key in the file.
        actual: KeyId,
    },
    /// An Ed25519 public key that is not a valid curve point.
    #[error("the Ed25519 public key is not a valid curve point")]
    BadPoint,
}

/// A parsed key file: its kind and the 32 key bytes (zeroized on drop).
pub struct KeyFile {
    kind: KeyKind,
    key: zeroize::Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyFile {{ kind: {:?}, key: <redacted> }}", self.kind)
    }
}

fn render(kind: KeyKind, comment: &str, id: KeyId, bytes: &[u8; 32]) -> String {
    let secrecy = if kind.is_secret() {
        "Secret: keep this file mode 0600 and out of version control."
    } else {
        "Public: safe to share."
    };
    let mut out = format!(
        "# evx {comment}. {secrecy}\nevx-key: v1\ntype: {}\nid: {}\nkey: ",
        kind.label(),
        id
    );
    // Reserve first, so that the key's base64 is written once, in place, never reallocated.
    out.reserve(48);
    STANDARD.encode_string(bytes, &mut out);
    out.push('\n');
    out
}

impl KeyFile {
    /// Parses a key file.
    pub fn parse(text: &str) -> Result<Self, KeyFileError> {
        if text.len() > MAX_KEY_FILE {
            return Err(KeyFileError::TooLarge(text.len()));
        }
        let (mut version, mut kind, mut id, mut key) = (None, None, None, None);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line.split_once(':').ok_or(KeyFileError::BadLine(n + 1))?;
            let (name, value) = (name.trim(), value.trim());
            let slot = match name {
                "evx-key" => &mut version,
                "type" => &mut kind,
                "id" => &mut id,
                "key" => &mut key,
                other => return Err(KeyFileError::UnknownField(other.to_owned())),
            };
            if slot.replace(value).is_some() {
                return Err(KeyFileError::DuplicateField(name.to_owned()));
            }
        }
        let version = version.ok_or(KeyFileError::MissingField("evx-key"))?;
        if version != "v1" {
            return Err(KeyFileError::UnsupportedVersion(version.to_owned()));
        }
        let kind = kind.ok_or(KeyFileError::MissingField("type"))?;
        let kind =
            KeyKind::from_label(kind).ok_or_else(|| KeyFileError::UnknownType(kind.into()))?;
        let key = key.ok_or(KeyFileError::MissingField("key"))?;
        let decoded =
            zeroize::Zeroizing::new(STANDARD.decode(key).map_err(|_| KeyFileError::BadKey)?);
        if decoded.len() != 32 {
            return Err(KeyFileError::BadKey);
        }
        let mut file = Self {
            kind,
            key: zeroize::Zeroizing::new([0u8; 32]),
        };
        file.key.copy_from_slice(&decoded);
        if let Some(stated) = id {
            let stated: KeyId = stated.parse().map_err(|_| KeyFileError::BadId)?;
            let actual = file.public_id()?;
            if stated != actual {
                return Err(KeyFileError::IdMismatch { stated, actual });
            }
        }
        Ok(file)
    }

    /// The kind of key in the file.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    fn public_id(&self) -> Result<KeyId, KeyFileError> {
        Ok(match self.kind {
            KeyKind::Ed25519Secret => SigningKey::from_seed(&self.key).id(),
            KeyKind::Ed25519Public => VerifyingKey::from_bytes(&self.key)
                .map_err(|_| KeyFileError::BadPoint)?
                .id(),
            KeyKind::X25519Secret => HpkeSecretKey::from_bytes(&self.key).id(),
            KeyKind::X25519Public => HpkePublicKey::from_bytes(&self.key).id(),
        })
    }

    fn expect(&self, kind: KeyKind) -> Result<&[u8; 32], KeyFileError> {
        if self.kind == kind {
            Ok(&self.key)
        } else {
            Err(KeyFileError::WrongType {
                expected: kind.label(),
                found: self.kind.label(),
            })
        }
    }

    /// The Ed25519 signing key in the file.
    pub fn signing_key(&self) -> Result<SigningKey, KeyFileError> {
        self.expect(KeyKind::Ed25519Secret)
            .map(SigningKey::from_seed)
    }

    /// The Ed25519 public key in the file.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyFileError> {
        VerifyingKey::from_bytes(self.expect(KeyKind::Ed25519Public)?)
            .map_err(|_| KeyFileError::BadPoint)
    }

    /// The HPKE secret key in the file.
    pub fn hpke_secret_key(&self) -> Result<HpkeSecretKey, KeyFileError> {
        self.expect(KeyKind::X25519Secret)
            .map(HpkeSecretKey::from_bytes)
    }

    /// The HPKE public key in the file.
    pub fn hpke_public_key(&self) -> Result<HpkePublicKey, KeyFileError> {
        self.expect(KeyKind::X25519Public)
            .map(HpkePublicKey::from_bytes)
    }
}

impl SigningKey {
    /// The key-file text for this secret key.
    pub fn to_key_file(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(render(
            KeyKind::Ed25519Secret,
            "document-signing key (Ed25519)",
            self.id(),
            &self.to_seed(),
        ))
    }
}

impl VerifyingKey {
    /// The key-file text for this public key.
    pub fn to_key_file(&self) -> String {
        render(
            KeyKind::Ed25519Public,
            "document-signing public key (Ed25519)",
            self.id(),
            &self.to_bytes(),
        )
    }
}

impl HpkeSecretKey {
    /// The key-file text for this secret key.
    pub fn to_key_file(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(render(
            KeyKind::X25519Secret,
            "package decryption key (HPKE X25519)",
            self.id(),
            &self.to_bytes(),
        ))
    }
}

impl HpkePublicKey {
    /// The key-file text for this public key.
    pub fn to_key_file(&self) -> String {
        render(
            KeyKind::X25519Public,
            "package encryption public key (HPKE X25519)",
            self.id(),
            &self.to_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let sk = SigningKey::from_seed(&[1; 32]);
        let parsed = KeyFile::parse(&sk.to_key_file())
            .unwrap()
            .signing_key()
            .unwrap();
        assert_eq!(parsed.id(), sk.id());
        let vk = KeyFile::parse(&sk.verifying_key().to_key_file())
            .unwrap()
            .verifying_key()
            .unwrap();
        assert_eq!(vk, sk.verifying_key());
        let hk = HpkeSecretKey::from_bytes(&[2; 32]);
        let parsed = KeyFile::parse(&hk.to_key_file())
            .unwrap()
            .hpke_secret_key()
            .unwrap();
        assert_eq!(parsed.public_key(), hk.public_key());
        let hp = KeyFile::parse(&hk.public_key().to_key_file())
            .unwrap()
            .hpke_public_key()
            .unwrap();
        assert_eq!(&hp, hk.public_key());
    }

    #[test]
    fn refusals_name_the_problem() {
        let sk = SigningKey::from_seed(&[1; 32]);
        let text = sk.to_key_file();
        let file = KeyFile::parse(&text).unwrap();
        assert!(matches!(
            file.hpke_secret_key(),
            Err(KeyFileError::WrongType { .. })
        ));
        let other = SigningKey::from_seed(&[3; 32]);
        let swapped = text.replace(&sk.id().to_hex(), &other.id().to_hex());
        assert!(matches!(
            KeyFile::parse(&swapped),
            Err(KeyFileError::IdMismatch { .. })
        ));
        assert_eq!(
            KeyFile::parse("evx-key: v2\ntype: x\nkey: y").unwrap_err(),
            KeyFileError::UnsupportedVersion("v2".into())
        );
        assert_eq!(
            KeyFile::parse("type: ed25519-secret").unwrap_err(),
            KeyFileError::MissingField("evx-key")
        );
        assert_eq!(
            KeyFile::parse("evx-key: v1\nevx-key: v1").unwrap_err(),
            KeyFileError::DuplicateField("evx-key".into())
        );
        assert_eq!(
            KeyFile::parse("garbage").unwrap_err(),
            KeyFileError::BadLine(1)
        );
        assert_eq!(
            KeyFile::parse("evx-key: v1\ntype: ed25519-secret\nkey: AAAA").unwrap_err(),
            KeyFileError::BadKey
        );
        assert!(matches!(
            KeyFile::parse(&"#".repeat(5000)),
            Err(KeyFileError::TooLarge(5000))
        ));
    }

    #[test]
    fn secrets_stay_out_of_errors_and_debug() {
        let sk = SigningKey::from_seed(&[9; 32]);
        let text = sk.to_key_file();
        let key_line = text
            .lines()
            .find(|l| l.starts_with("key:"))
            .unwrap()
            .to_owned();
        let secret = key_line.trim_start_matches("key: ");
        let file = KeyFile::parse(&text).unwrap();
        assert!(!format!("{file:?}").contains(secret));
        let err = KeyFile::parse(&text.replace("type: ed25519-secret", "type: nope")).unwrap_err();
        assert!(!err.to_string().contains(secret));
    }
}
