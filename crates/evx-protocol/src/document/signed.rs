//! The signature envelope shared by every document.

use core::fmt;
use core::marker::PhantomData;

use super::Document;
use crate::canonical::{self, DecodeError};
use crate::crypto::{Signature, SigningKey, VerifyingKey};
use crate::ids::KeyId;

/// Bytes of envelope before the document: signer key id (32) and signature (64).
pub const ENVELOPE: usize = 32 + 64;

/// Why a signed document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Fewer bytes than an envelope holds.
    #[error("signed {kind} is truncated: {len} bytes, at least {ENVELOPE} expected")]
    Truncated {
        /// The document kind.
        kind: &'static str,
        /// The length received.
        len: usize,
    },
    /// The document is larger than its kind allows.
    #[error("signed {kind} body is {len} bytes; the limit is {max}")]
    TooLarge {
        /// The document kind.
        kind: &'static str,
        /// The body's length.
        len: usize,
        /// The kind's limit.
        max: usize,
    },
    /// The document names another signer than the key it is checked against.
    #[error(
        "{kind} is signed by key {found}, not by the expected key {expected}; check the peer registry"
    )]
    WrongSigner {
        /// The document kind.
        kind: &'static str,
        /// The key id the verifier expected.
        expected: KeyId,
        /// The key id the document names.
        found: KeyId,
    },
    /// The signature does not verify: the bytes were altered, or signed as another kind.
    #[error("{kind} signature does not verify: the document was altered in transit or forged")]
    BadSignature {
        /// The document kind.
        kind: &'static str,
    },
    /// The signed bytes are not a canonical document of this kind.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// A document with its exact signed bytes, the signer's key id and an Ed25519 signature over
/// `"evx/v1 <kind>\0" ‖ bytes`.
///
/// On the wire: signer key id (32 bytes) ‖ signature (64 bytes) ‖ document bytes (the rest).
/// The document is only reachable through [`Signed::verify`].
pub struct Signed<T> {
    signer: KeyId,
    signature: Signature,
    bytes: Vec<u8>,
    _doc: PhantomData<fn() -> T>,
}

impl<T> Clone for Signed<T> {
    fn clone(&self) -> Self {
        Self {
            signer: self.signer,
            signature: self.signature,
            bytes: self.bytes.clone(),
            _doc: PhantomData,
        }
    }
}

impl<T> PartialEq for Signed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.signer == other.signer
            && self.signature == other.signature
            && self.bytes == other.bytes
    }
}

impl<T> Eq for Signed<T> {}

impl<T: Document> fmt::Debug for Signed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signed<{}> {{ signer: {}, {} bytes }}",
            T::KIND,
            self.signer,
            self.bytes.len()
        )
    }
}

impl<T: Document> Signed<T> {
    /// Encodes and signs a document. Refuses a document whose version is not the one this
    /// build writes, or whose encoding exceeds its kind's limit (a peer would refuse it).
    pub fn sign(document: &T, key: &SigningKey) -> Result<Self, DocumentError> {
        if document.version() != T::VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: T::KIND,
                found: document.version(),
                supported: T::VERSION,
            }
            .into());
        }
        let bytes = canonical::encode(document);
        if bytes.len() > T::MAX_SIZE {
            return Err(DocumentError::TooLarge {
                kind: T::KIND,
                len: bytes.len(),
                max: T::MAX_SIZE,
            });
        }
        let signature = key.sign(T::DOMAIN, &bytes);
        Ok(Self {
            signer: key.id(),
            signature,
            bytes,
            _doc: PhantomData,
        })
    }

    /// Verifies the signature with `key` (which must be the named signer), then decodes the
    /// document canonically and checks its version.
    pub fn verify(&self, key: &VerifyingKey) -> Result<T, DocumentError> {
        if key.id() != self.signer {
            return Err(DocumentError::WrongSigner {
                kind: T::KIND,
                expected: key.id(),
                found: self.signer,
            });
        }
        key.verify(T::DOMAIN, &self.bytes, &self.signature)
            .map_err(|_| DocumentError::BadSignature { kind: T::KIND })?;
        // `v` is every document's first field, a one-byte u8: check it before decoding, so that
        // a newer document with another layout is reported as a version to upgrade to.
        if let Some(&found) = self.bytes.first()
            && found != T::VERSION
        {
            return Err(DecodeError::UnsupportedVersion {
                what: T::KIND,
                found,
                supported: T::VERSION,
            }
            .into());
        }
        Ok(canonical::decode(T::KIND, &self.bytes)?)
    }

    /// The key id the document claims to be signed by: look it up in the peer registry, then
    /// call [`Signed::verify`] with the key found.
    pub fn signer(&self) -> KeyId {
        self.signer
    }

    /// The exact signed document bytes.
    pub fn document_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// SHA-256 of the wire encoding: how acknowledgements and the audit log name this document.
    pub fn digest(&self) -> [u8; 32] {
        crate::crypto::sha256_parts(&[self.signer.as_bytes(), &self.signature.0, &self.bytes])
    }

    /// The wire encoding: signer ‖ signature ‖ document bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENVELOPE + self.bytes.len());
        out.extend_from_slice(self.signer.as_bytes());
        out.extend_from_slice(&self.signature.0);
        out.extend_from_slice(&self.bytes);
        out
    }

    /// Like [`Signed::decode`], taking ownership of the buffer to avoid a copy.
    pub fn decode_owned(mut wire: Vec<u8>) -> Result<Self, DocumentError> {
        let (signer, signature) = Self::envelope(&wire)?;
        wire.drain(..ENVELOPE);
        Ok(Self {
            signer,
            signature,
            bytes: wire,
            _doc: PhantomData,
        })
    }

    fn envelope(wire: &[u8]) -> Result<(KeyId, Signature), DocumentError> {
        let Some((head, body)) = wire.split_first_chunk::<ENVELOPE>() else {
            return Err(DocumentError::Truncated {
                kind: T::KIND,
                len: wire.len(),
            });
        };
        if body.len() > T::MAX_SIZE {
            return Err(DocumentError::TooLarge {
                kind: T::KIND,
                len: body.len(),
                max: T::MAX_SIZE,
            });
        }
        let (signer, signature) = head.split_at(32);
        let mut id = [0u8; 32];
        id.copy_from_slice(signer);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(signature);
        Ok((KeyId(id), Signature(sig)))
    }

    /// Parses the wire encoding. The size is checked against the kind's limit before anything
    /// is copied; the signature is not checked here (see [`Signed::verify`]).
    pub fn decode(wire: &[u8]) -> Result<Self, DocumentError> {
        let (signer, signature) = Self::envelope(wire)?;
        Ok(Self {
            signer,
            signature,
            bytes: wire[ENVELOPE..].to_vec(),
            _doc: PhantomData,
        })
    }
}
