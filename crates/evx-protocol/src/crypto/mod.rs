//! The crypto boundary: the only module that names ring, ed25519-dalek or hpke.
//!
//! Everything evx needs is a thin, typed wrapper around audited-in-practice implementations:
//! SHA-256 and AES-256-GCM from ring, Ed25519 from ed25519-dalek (verification is always
//! `verify_strict`), and HPKE (RFC 9180) from the `hpke` crate. No primitive is written here.
//! Secret key types zeroize their memory on drop and print only their key id in `Debug`.

pub(crate) mod aead;
pub(crate) mod hpke;
mod keyfile;
mod sign;

pub use self::hpke::{HpkePublicKey, HpkeSecretKey};
pub use keyfile::{KeyFile, KeyFileError, KeyKind};
pub use sign::{Signature, SignatureError, SigningKey, VerifyingKey};

/// SHA-256 of `data`.
#[must_use]
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of the concatenation of `parts`, without copying them together.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finish()
}

/// An incremental SHA-256 computation.
#[derive(Clone)]
pub struct Sha256(ring::digest::Context);

impl Sha256 {
    /// Starts a new digest.
    pub fn new() -> Self {
        Self(ring::digest::Context::new(&ring::digest::SHA256))
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Finishes the digest.
    pub fn finish(self) -> [u8; 32] {
        let d = self.0.finish();
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Sha256")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answer() {
        // FIPS 180-2 appendix B.1.
        assert_eq!(
            crate::ids::hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_parts(&[b"a", b"", b"bc"]), sha256(b"abc"));
    }
}
