//! The sans-IO core of evx, a secure channel for cross-border requests for electronic evidence.
//!
//! This crate holds everything two evx nodes must agree on byte for byte, and nothing that
//! touches the outside world: no sockets, no async runtime, no clock and no file system. Time
//! and randomness are arguments; evidence packages are sealed to an [`std::io::Write`] and
//! opened from an [`std::io::Read`]. That keeps the whole protocol testable and fuzzable alone,
//! and lets the nodes (`evx-node`, `evx-requesting`, `evx-requested`) stay thin shells.
//!
//! # Map
//!
//! - [`ids`]: typed identifiers (parties, cases, requests, packages) and [`ids::UnixTime`].
//! - [`crypto`]: the only module that touches ring, ed25519-dalek or hpke: document-signing
//!   keys, HPKE keys, key ids and the key-file text format.
//! - [`canonical`]: postcard decoding that accepts exactly one encoding per value.
//! - [`document`]: the signed documents of a request's life ([`document::EvidenceRequest`],
//!   [`document::Decision`], …) and [`document::Signed`], their signature envelope.
//! - [`frame`]: the wire codec: length-prefixed, versioned, kind-tagged frames.
//! - [`merkle`]: RFC 9162 tree hashing, shared by packages and the audit log.
//! - [`purpose`]: purpose limitation: what a package may be opened for.
//! - [`package`]: the EVX1 evidence package: streaming seal and open.
//!
//! The formats are specified in `docs/protocol.md` and `docs/package-format.md`.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod canonical;
pub mod crypto;
pub mod document;
pub mod frame;
pub mod ids;
pub mod merkle;
pub mod package;
pub mod purpose;
pub mod sample;

pub use rand_core;
