//! The signed documents of a request's life, and [`Signed`], their signature envelope.
//!
//! Every document is a plain serde type whose first field is its version `v`. A document is
//! encoded once, canonically (see [`crate::canonical`]); the signature covers exactly those
//! bytes behind a domain-separation label (`"evx/v1 <kind>\0"`), and the bytes travel as they
//! were signed. A verifier checks the signature over the received bytes, decodes them, and
//! refuses them unless they re-encode identically — so there is exactly one signed byte string
//! per document, which is what the audit log hashes.

mod consent;
mod decision;
mod lifecycle;
mod request;
mod review;
mod signed;
mod validation;

pub use consent::{ConsentDecision, ConsentRequest, ConsentScope};
pub use decision::{Decision, DueDates, MissingField, Outcome, RefusalGround};
pub use lifecycle::{
    Acknowledgement, Extension, LogEntryRef, PreservationConfirmation, Receipt, Withdrawal,
    WithdrawalReason,
};
pub use request::{
    AuthorityType, Confidentiality, DataCategory, Emergency, EvidenceRequest, Instrument, Issuer,
    Offence, Proceeding, ProtectedStatus, RequestType, Selector, Territory, TimeRange,
};
pub use review::{ReviewDecision, ReviewVerdict};
pub use signed::{DocumentError, ENVELOPE, Signed};
pub use validation::JudicialValidation;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) mod private {
    /// Seals [`super::Document`]: only evx's own document kinds, with their prefix-free
    /// signature domains, can be signed as documents.
    pub trait Sealed {}
}

/// A signable document type. Sealed: implemented by evx's document kinds only.
pub trait Document: Serialize + DeserializeOwned + private::Sealed {
    /// The kind's name, as in the signature domain and in messages.
    const KIND: &'static str;
    /// The signature domain: `"evx/v1 " ‖ KIND ‖ "\0"`.
    const DOMAIN: &'static [u8];
    /// The document version this build writes and reads.
    const VERSION: u8;
    /// The largest encoded document accepted, in bytes, checked before anything is decoded.
    const MAX_SIZE: usize;
    /// The version field of this value.
    fn version(&self) -> u8;
}

macro_rules! document {
    ($ty:ty, $kind:literal, $max:expr) => {
        impl $crate::document::private::Sealed for $ty {}
        impl $crate::document::Document for $ty {
            const KIND: &'static str = $kind;
            const DOMAIN: &'static [u8] = concat!("evx/v1 ", $kind, "\0").as_bytes();
            const VERSION: u8 = 1;
            const MAX_SIZE: usize = $max;
            fn version(&self) -> u8 {
                self.v
            }
        }
    };
}
pub(crate) use document;
