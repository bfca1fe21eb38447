//! Ed25519 document-signing keys (RFC 8032, via ed25519-dalek).

use core::fmt;

use crate::ids::KeyId;

/// Why a signature did not verify. Deliberately carries no detail: a verifier learns nothing
/// from a failure except that the bytes are not what the key signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the Ed25519 signature does not verify under this key")]
pub struct SignatureError;

/// An Ed25519 signature: 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", crate::ids::hex(&self.0[..8]))
    }
}

/// An Ed25519 signing key. Its secret bytes are zeroized on drop and never printed.
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
    id: KeyId,
}

impl SigningKey {
    /// Generates a key from a cryptographically secure random source.
    pub fn generate(rng: &mut impl rand_core::CryptoRng) -> Self {
        Self::from_inner(ed25519_dalek::SigningKey::generate(rng))
    }

    /// Rebuilds a key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self::from_inner(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn from_inner(inner: ed25519_dalek::SigningKey) -> Self {
        let id = KeyId::of(inner.verifying_key().as_bytes());
        Self { inner, id }
    }

    /// The 32-byte seed. Handle with care: whoever holds it can sign as this party.
    pub fn to_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.inner.to_bytes())
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            inner: self.inner.verifying_key(),
            id: self.id,
        }
    }

    /// The key id: SHA-256 of the public key.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Signs `domain ‖ message`. Every caller passes a domain-separation label, so a signature
    /// made for one kind of document can never be replayed as another. The concatenation has
    /// no length prefix: the set of labels in use must be prefix-free, as evx's
    /// `"evx/v1 <kind>\0"` labels are.
    pub fn sign(&self, domain: &[u8], message: &[u8]) -> Signature {
        use ed25519_dalek::Signer;
        let mut m = Vec::with_capacity(domain.len() + message.len());
        m.extend_from_slice(domain);
        m.extend_from_slice(message);
        Signature(self.inner.sign(&m).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey {{ id: {}, secret: <redacted> }}", self.id)
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey {
    inner: ed25519_dalek::VerifyingKey,
    id: KeyId,
}

impl VerifyingKey {
    /// Parses a 32-byte public key. Refuses bytes that are not a curve point and weak
    /// (small-order) points, under which forgeries are trivial.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SignatureError> {
        let inner = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| SignatureError)?;
        if inner.is_weak() {
            return Err(SignatureError);
        }
        Ok(Self {
            inner,
            id: KeyId::of(bytes),
        })
    }

    /// The 32 public-key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// The key id: SHA-256 of the public key.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Verifies a signature over `domain ‖ message` with `verify_strict`, which refuses
    /// non-canonical signatures and small-order keys (no signature malleability).
    pub fn verify(
        &self,
        domain: &[u8],
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        let mut m = Vec::with_capacity(domain.len() + message.len());
        m.extend_from_slice(domain);
        m.extend_from_slice(message);
        self.inner
            .verify_strict(&m, &sig)
            .map_err(|_| SignatureError)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.id)
    }
}

impl KeyId {
    /// The id of a public key: SHA-256 of its bytes.
    #[must_use]
    pub fn of(public_key: &[u8]) -> Self {
        Self(super::sha256(public_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let seed = crate::ids::unhex::<32>(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        let key = SigningKey::from_seed(&seed);
        assert_eq!(
            crate::ids::hex(&key.verifying_key().to_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.sign(b"", b"");
        assert_eq!(
            crate::ids::hex(&sig.0),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        key.verifying_key().verify(b"", b"", &sig).unwrap();
    }

    #[test]
    fn domain_separation_matters() {
        let key = SigningKey::from_seed(&[7; 32]);
        let sig = key.sign(b"evx/v1 request\0", b"body");
        let vk = key.verifying_key();
        assert!(vk.verify(b"evx/v1 request\0", b"body", &sig).is_ok());
        assert!(vk.verify(b"evx/v1 decision\0", b"body", &sig).is_err());
        assert!(vk.verify(b"evx/v1 request\0", b"bodz", &sig).is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SigningKey::from_seed(&[0x42; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&crate::ids::hex(&[0x42; 4])));
    }

    #[test]
    fn small_order_key_is_refused() {
        // The identity point: without these checks, forging under it is trivial.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(VerifyingKey::from_bytes(&identity).is_err());
    }
}
