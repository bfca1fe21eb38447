//! The payload AEAD: AES-256-GCM from ring, keyed once per package, with STREAM nonces.
//!
//! The nonce layout follows the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015)
//! as age uses it: three zero bytes, the chunk counter as a big-endian u64, and a last-chunk
//! flag byte (0x01 on the final chunk, else 0x00). Because the flag is part of the nonce, a
//! chunk sealed as non-final can never be accepted as final, which is what makes truncation
//! detectable; because the counter is, chunks cannot be reordered, dropped or duplicated.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

/// Bytes of authentication tag per chunk.
pub(crate) const TAG_LEN: usize = 16;

/// A chunk failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkAuthFailure;

/// The per-package payload key.
pub(crate) struct PayloadKey(LessSafeKey);

fn nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

impl PayloadKey {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .unwrap_or_else(|_| unreachable!("AES-256-GCM takes a 32-byte key"));
        Self(LessSafeKey::new(unbound))
    }

    /// Encrypts `buf[start..]` in place and appends the tag.
    pub(crate) fn seal(
        &self,
        counter: u64,
        last: bool,
        aad: &[u8],
        buf: &mut Vec<u8>,
        start: usize,
    ) {
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce(counter, last), Aad::from(aad), &mut buf[start..])
            .unwrap_or_else(|_| unreachable!("chunks are far below AES-GCM's length limit"));
        buf.extend_from_slice(tag.as_ref());
    }

    /// Decrypts `buf` (ciphertext ‖ tag) in place and returns the plaintext's length.
    pub(crate) fn open(
        &self,
        counter: u64,
        last: bool,
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, ChunkAuthFailure> {
        self.0
            .open_in_place(nonce(counter, last), Aad::from(aad), buf)
            .map(|pt| pt.len())
            .map_err(|_| ChunkAuthFailure)
    }
}
