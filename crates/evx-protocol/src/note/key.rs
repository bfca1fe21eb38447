//! Note keys: names, key ids, and the text encodings of verifier and signer keys.
//!
//! A verifier key is `<name>+<key id, 8 lowercase hex digits>+<base64(type ‖ public key)>`; a
//! signer key is `PRIVATE+KEY+<name>+<key id>+<base64(type ‖ seed)>`, as in
//! `golang.org/x/mod/sumdb/note`. The key id is the first four bytes of
//! `SHA-256(name ‖ "\n" ‖ type ‖ public key)`, big-endian.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::crypto::{SigningKey, VerifyingKey, sha256_parts};

/// Signature type of plain Ed25519 note signatures (C2SP signed-note).
pub const SIG_ED25519: u8 = 0x01;
/// Signature type of timestamped Ed25519 cosignatures (C2SP tlog-cosignature).
pub const SIG_COSIGNATURE: u8 = 0x04;

/// The key id of a key: `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[..4]`, big-endian.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8; 32]) -> u32 {
    let h = sha256_parts(&[name.as_bytes(), b"\n", &[sig_type], public_key]);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// Why a key or key name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The name is empty or has a space, a plus sign or a control character.
    #[error(
        "key name {0:?} is not valid: it must be non-empty, without spaces, `+` or control characters"
    )]
    BadName(String),
    /// The text is not of the form `name+id+key` (or `PRIVATE+KEY+name+id+key`).
    #[error("not a note key: expected `<name>+<8 hex digits>+<base64 key>`")]
    Malformed,
    /// The signature type is not the one expected.
    #[error("the key is of signature type {found:#04x}; expected {expected:#04x}")]
    WrongType {
        /// Found.
        found: u8,
        /// Expected.
        expected: u8,
    },
    /// The key id does not match the name and key.
    #[error("the key id {found:08x} does not match the name and key (expected {expected:08x})")]
    IdMismatch {
        /// Found.
        found: u32,
        /// Computed.
        expected: u32,
    },
    /// The key bytes are not an Ed25519 key.
    #[error("the key is not a valid Ed25519 public key")]
    BadKey,
}

pub(super) fn check_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ')
    {
        return Err(KeyError::BadName(name.chars().take(64).collect()));
    }
    Ok(())
}

fn parse_id(hex: &str) -> Result<u32, KeyError> {
    if hex.len() != 8 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(KeyError::Malformed);
    }
    u32::from_str_radix(hex, 16).map_err(|_| KeyError::Malformed)
}

/// A key that verifies note signatures of one type.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    sig_type: u8,
    id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({})", self.to_vkey())
    }
}

impl NoteVerifier {
    /// A verifier for `key` under `name`, for signatures of `sig_type`.
    pub fn new(name: &str, sig_type: u8, key: VerifyingKey) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            sig_type,
            id: key_id(name, sig_type, &key.to_bytes()),
            key,
        })
    }

    /// Parses a verifier key, `<name>+<id>+<base64(type ‖ key)>`, of an Ed25519 type.
    pub fn parse(vkey: &str) -> Result<Self, KeyError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Malformed);
        };
        check_name(name)?;
        let id = parse_id(id)?;
        let bytes = STANDARD.decode(key).map_err(|_| KeyError::Malformed)?;
        let (&sig_type, key) = bytes.split_first().ok_or(KeyError::Malformed)?;
        if sig_type != SIG_ED25519 && sig_type != SIG_COSIGNATURE {
            return Err(KeyError::WrongType {
                found: sig_type,
                expected: SIG_ED25519,
            });
        }
        let key: [u8; 32] = key.try_into().map_err(|_| KeyError::BadKey)?;
        let expected = key_id(name, sig_type, &key);
        if expected != id {
            return Err(KeyError::IdMismatch {
                found: id,
                expected,
            });
        }
        let key = VerifyingKey::from_bytes(&key).map_err(|_| KeyError::BadKey)?;
        Ok(Self {
            name: name.to_owned(),
            sig_type,
            id,
            key,
        })
    }

    /// The verifier key text.
    pub fn to_vkey(&self) -> String {
        let mut material = vec![self.sig_type];
        material.extend_from_slice(&self.key.to_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(material)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn sig_type(&self) -> u8 {
        self.sig_type
    }

    /// The Ed25519 key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// A key that signs notes (type 0x01) or cosignatures (type 0x04).
pub struct NoteSigner {
    name: String,
    sig_type: u8,
    id: u32,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NoteSigner {{ name: {}, id: {:08x}, secret: <redacted> }}",
            self.name, self.id
        )
    }
}

impl NoteSigner {
    /// A signer for `key` under `name`, for signatures of `sig_type`.
    pub fn new(name: &str, sig_type: u8, key: SigningKey) -> Result<Self, KeyError> {
        check_name(name)?;
        let id = key_id(name, sig_type, &key.verifying_key().to_bytes());
        Ok(Self {
            name: name.to_owned(),
            sig_type,
            id,
            key,
        })
    }

    /// Parses a signer key, `PRIVATE+KEY+<name>+<id>+<base64(type ‖ seed)>`.
    pub fn parse(skey: &str) -> Result<Self, KeyError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(KeyError::Malformed)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Malformed);
        };
        check_name(name)?;
        let id = parse_id(id)?;
        let bytes = Zeroizing::new(STANDARD.decode(key).map_err(|_| KeyError::Malformed)?);
        let (&sig_type, seed) = bytes.split_first().ok_or(KeyError::Malformed)?;
        if sig_type != SIG_ED25519 && sig_type != SIG_COSIGNATURE {
            return Err(KeyError::WrongType {
                found: sig_type,
                expected: SIG_ED25519,
            });
        }
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(seed.try_into().map_err(|_| KeyError::BadKey)?);
        let signer = Self::new(name, sig_type, SigningKey::from_seed(&seed))?;
        if signer.id != id {
            return Err(KeyError::IdMismatch {
                found: id,
                expected: signer.id,
            });
        }
        Ok(signer)
    }

    /// The signer key text. It holds the secret: write it only to a protected file.
    pub fn to_skey(&self) -> Zeroizing<String> {
        let mut material = Zeroizing::new(vec![self.sig_type]);
        material.extend_from_slice(&*self.key.to_seed());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(&*material)
        ))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            sig_type: self.sig_type,
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn sig_type(&self) -> u8 {
        self.sig_type
    }

    /// Raw Ed25519 over `message` (no domain label: see the module documentation).
    pub(super) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(b"", message).0
    }
}
