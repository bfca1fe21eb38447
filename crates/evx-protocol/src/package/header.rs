//! The clear-text package header.

use serde::{Deserialize, Serialize};

use crate::canonical;
use crate::ids::{CaseId, KeyId, PackageId, PartyId, RequestId, UnixTime};
use crate::purpose::{Conditions, Purpose};

use super::{HEADER_DOMAIN, MAX_CHUNK_SIZE, MAX_HEADER, MIN_CHUNK_SIZE};

/// The one suite of format version 1: DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 + AES-256-GCM for
/// HPKE, AES-256-GCM STREAM for the payload, SHA-256 for digests, Ed25519 for the signature.
pub const SUITE_V1: u8 = 1;

/// The header, in clear so that a recipient can check policy (is this for me, for an open case,
/// for an allowed purpose?) before decrypting anything. Every byte of it is authenticated:
/// `H`, its digest, is the AEAD associated data of every record and the payload key is derived
/// from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageHeader {
    /// Format version (1).
    pub v: u8,
    /// Cipher suite ([`SUITE_V1`]).
    pub suite: u8,
    /// Plaintext bytes per chunk: a power of two from 4 KiB to 1 MiB.
    pub chunk_size: u32,
    /// Key id of the sender's Ed25519 document-signing key.
    pub sender: KeyId,
    /// Key id of the recipient's X25519 HPKE key.
    pub recipient: KeyId,
    /// The sending party.
    pub sender_party: PartyId,
    /// The receiving party.
    pub recipient_party: PartyId,
    /// The case the evidence is for.
    pub case_id: CaseId,
    /// The request the evidence answers.
    pub request_id: RequestId,
    /// The purpose the evidence may be used for.
    pub purpose: Purpose,
    /// Conditions of use, including further allowed purposes.
    pub conditions: Conditions,
    /// When the package was sealed.
    pub created_at: UnixTime,
    /// The HPKE encapsulated key.
    pub enc: [u8; 32],
}

/// What a sealer needs to know besides the keys and the items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageParams {
    /// The sending party.
    pub sender_party: PartyId,
    /// The receiving party.
    pub recipient_party: PartyId,
    /// The case.
    pub case_id: CaseId,
    /// The request answered.
    pub request_id: RequestId,
    /// The purpose.
    pub purpose: Purpose,
    /// Conditions of use.
    pub conditions: Conditions,
    /// The sealing time.
    pub created_at: UnixTime,
    /// Plaintext bytes per chunk (use [`super::DEFAULT_CHUNK_SIZE`]).
    pub chunk_size: u32,
}

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderProblem {
    Decode(canonical::DecodeError),
    Version(u8),
    Suite(u8),
    ChunkSize(u32),
}

pub(crate) fn chunk_size_ok(cs: u32) -> bool {
    cs.is_power_of_two() && (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&cs)
}

impl PackageHeader {
    /// The canonical header bytes.
    pub fn encode(&self) -> Vec<u8> {
        canonical::encode(self)
    }

    /// `H = SHA-256("evx/v1 header\0" ‖ header bytes)`.
    pub fn package_id_of(header_bytes: &[u8]) -> PackageId {
        PackageId(crate::crypto::sha256_parts(&[HEADER_DOMAIN, header_bytes]))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, HeaderProblem> {
        debug_assert!(bytes.len() <= MAX_HEADER);
        // `v` is the first byte (a postcard u8): check it before decoding, so that a future
        // version with another layout is reported as such, not as malformed.
        match bytes.first() {
            Some(1) => {}
            Some(&v) => return Err(HeaderProblem::Version(v)),
            None => {}
        }
        let h: Self = canonical::decode("package header", bytes).map_err(HeaderProblem::Decode)?;
        if h.suite != SUITE_V1 {
            return Err(HeaderProblem::Suite(h.suite));
        }
        if !chunk_size_ok(h.chunk_size) {
            return Err(HeaderProblem::ChunkSize(h.chunk_size));
        }
        Ok(h)
    }
}
