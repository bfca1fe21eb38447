//! HPKE (RFC 9180) in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM,
//! via the `hpke` crate. evx uses one HPKE context per package: its exporter yields the payload
//! key and its AEAD seals the package's index and trailer.

use core::fmt;

use hpke::{Deserializable, Kem as _, Serializable};

use crate::ids::KeyId;

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::AesGcm256;

/// Why an HPKE operation failed. No detail is given on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HpkeFailure;

/// An X25519 public key that packages are sealed to.
#[derive(Clone, PartialEq, Eq)]
pub struct HpkePublicKey {
    bytes: [u8; 32],
    id: KeyId,
}

impl HpkePublicKey {
    /// Wraps 32 public-key bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self {
            bytes: *bytes,
            id: KeyId::of(bytes),
        }
    }

    /// The 32 public-key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The key id: SHA-256 of the public key.
    pub fn id(&self) -> KeyId {
        self.id
    }
}

impl fmt::Debug for HpkePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HpkePublicKey({})", self.id)
    }
}

/// An X25519 secret key that opens packages. Zeroized on drop; `Debug` shows only the id.
pub struct HpkeSecretKey {
    inner: <Kem as hpke::Kem>::PrivateKey,
    public: HpkePublicKey,
}

impl HpkeSecretKey {
    /// Generates a key pair from a cryptographically secure random source.
    pub fn generate(rng: &mut impl rand_core::CryptoRng) -> Self {
        let (sk, _) = Kem::gen_keypair_with_rng(rng);
        Self::from_inner(sk)
    }

    /// Rebuilds a key from its 32 secret bytes. The bytes are clamped as X25519 requires, so
    /// [`Self::to_bytes`] may differ from the input in a few bits.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        // X25519 accepts every 32-byte string as a scalar: this cannot fail.
        let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .unwrap_or_else(|_| unreachable!("every 32-byte string is an X25519 scalar"));
        Self::from_inner(sk)
    }

    fn from_inner(inner: <Kem as hpke::Kem>::PrivateKey) -> Self {
        let pk = Kem::sk_to_pk(&inner);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&pk.to_bytes());
        Self {
            inner,
            public: HpkePublicKey::from_bytes(&bytes),
        }
    }

    /// The 32 secret bytes (clamped). Whoever holds them can open every package sealed to us.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        let mut out = zeroize::Zeroizing::new([0u8; 32]);
        let mut bytes = self.inner.to_bytes();
        out.copy_from_slice(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes[..]);
        out
    }

    /// The public half.
    pub fn public_key(&self) -> &HpkePublicKey {
        &self.public
    }

    /// The key id of the public half.
    pub fn id(&self) -> KeyId {
        self.public.id
    }
}

impl fmt::Debug for HpkeSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HpkeSecretKey {{ id: {}, secret: <redacted> }}",
            self.public.id
        )
    }
}

/// The sender's side of an HPKE context.
pub(crate) struct SenderContext(hpke::aead::AeadCtxS<Aead, Kdf, Kem>);

/// The recipient's side of an HPKE context.
pub(crate) struct ReceiverContext(hpke::aead::AeadCtxR<Aead, Kdf, Kem>);

/// `SetupBaseS(pk_R, info)`: returns the 32-byte encapsulated key and the context.
pub(crate) fn setup_sender(
    recipient: &HpkePublicKey,
    info: &[u8],
    rng: &mut impl rand_core::CryptoRng,
) -> Result<([u8; 32], SenderContext), HpkeFailure> {
    let pk =
        <Kem as hpke::Kem>::PublicKey::from_bytes(&recipient.bytes).map_err(|_| HpkeFailure)?;
    let (enc, ctx) =
        hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(&hpke::OpModeS::Base, &pk, info, rng)
            .map_err(|_| HpkeFailure)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&enc.to_bytes());
    Ok((out, SenderContext(ctx)))
}

/// `SetupBaseR(enc, sk_R, info)`. Fails for an all-zero (non-contributory) shared secret.
pub(crate) fn setup_receiver(
    recipient: &HpkeSecretKey,
    enc: &[u8; 32],
    info: &[u8],
) -> Result<ReceiverContext, HpkeFailure> {
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| HpkeFailure)?;
    let ctx =
        hpke::setup_receiver::<Aead, Kdf, Kem>(&hpke::OpModeR::Base, &recipient.inner, &enc, info)
            .map_err(|_| HpkeFailure)?;
    Ok(ReceiverContext(ctx))
}

impl SenderContext {
    /// `Context.Export(exporter_context, 32)`.
    pub(crate) fn export32(&self, exporter_context: &[u8]) -> zeroize::Zeroizing<[u8; 32]> {
        let mut out = zeroize::Zeroizing::new([0u8; 32]);
        self.0
            .export(exporter_context, out.as_mut())
            .unwrap_or_else(|_| unreachable!("32 bytes is within HKDF-SHA256's output limit"));
        out
    }

    /// `Context.Seal(aad, pt)`; the sequence number advances.
    pub(crate) fn seal(&mut self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, HpkeFailure> {
        self.0.seal(plaintext, aad).map_err(|_| HpkeFailure)
    }
}

impl ReceiverContext {
    /// `Context.Export(exporter_context, 32)`.
    pub(crate) fn export32(&self, exporter_context: &[u8]) -> zeroize::Zeroizing<[u8; 32]> {
        let mut out = zeroize::Zeroizing::new([0u8; 32]);
        self.0
            .export(exporter_context, out.as_mut())
            .unwrap_or_else(|_| unreachable!("32 bytes is within HKDF-SHA256's output limit"));
        out
    }

    /// `Context.Open(aad, ct)`; the sequence number advances only on success.
    pub(crate) fn open(&mut self, ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>, HpkeFailure> {
        self.0.open(ciphertext, aad).map_err(|_| HpkeFailure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9180_a1_public_key_derivation() {
        // RFC 9180 A.1 (DHKEM(X25519, HKDF-SHA256)): skRm → pkRm. The suite's key schedule is
        // checked end to end by the package test vectors and docs/package-format.md App. B.
        let sk = crate::ids::unhex::<32>(
            "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
        )
        .unwrap();
        let key = HpkeSecretKey::from_bytes(&sk);
        assert_eq!(
            crate::ids::hex(&key.public_key().to_bytes()),
            "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"
        );
    }

    #[test]
    fn sender_and_receiver_agree() {
        let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
        let key = HpkeSecretKey::generate(&mut rng);
        let (enc, mut s) = setup_sender(key.public_key(), b"info", &mut rng).unwrap();
        let mut r = setup_receiver(&key, &enc, b"info").unwrap();
        assert_eq!(*s.export32(b"x"), *r.export32(b"x"));
        let ct = s.seal(b"hello", b"aad").unwrap();
        assert!(r.open(&ct, b"other").is_err());
        assert_eq!(r.open(&ct, b"aad").unwrap(), b"hello");
        let r2 = setup_receiver(&key, &enc, b"other info").unwrap();
        assert_ne!(*s.export32(b"x"), *r2.export32(b"x"));
    }
}
