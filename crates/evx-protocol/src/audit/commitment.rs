//! Salted commitments: `SHA-256("evx/v1 commitment\0" ‖ salt ‖ value)`.

use serde::{Deserialize, Serialize};

use crate::crypto::sha256_parts;
use crate::ids::hex;

/// Salt length: 32 random bytes per committed value.
pub const SALT_LEN: usize = 32;

/// A salt. Secret until revealed: whoever holds it can test guesses of the value.
pub type Salt = [u8; SALT_LEN];

const DOMAIN: &[u8] = b"evx/v1 commitment\0";

/// A commitment to one value (a case id, a selector), which hides it until its salt is revealed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Commitment(pub [u8; 32]);

impl core::fmt::Debug for Commitment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Commitment({})", hex(&self.0))
    }
}

impl Commitment {
    /// Commits to `value` with `salt` (draw the salt from a cryptographic random source, one
    /// per value and entry: reusing a salt links the entries that share it).
    pub fn commit(value: &[u8], salt: &Salt) -> Self {
        Self(sha256_parts(&[DOMAIN, salt, value]))
    }

    /// Whether a revealed value and salt open this commitment.
    pub fn opens_to(&self, value: &[u8], salt: &Salt) -> bool {
        // Commitments are public; no secret depends on the comparison's timing.
        Self::commit(value, salt) == *self
    }
}
