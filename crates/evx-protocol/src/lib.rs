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
//! - [`audit`]: audit-log events, with salted commitments instead of case data.
//! - [`ids`]: typed identifiers (parties, cases, requests, packages) and [`ids::UnixTime`].
//! - [`crypto`]: the only module that touches ring, ed25519-dalek or hpke: document-signing
//!   keys, HPKE keys, key ids and the key-file text format.
//! - [`canonical`]: postcard decoding that accepts exactly one encoding per value.
//! - [`document`]: the signed documents of a request's life ([`document::EvidenceRequest`],
//!   [`document::Decision`], …) and [`document::Signed`], their signature envelope.
//! - [`frame`]: the wire codec: length-prefixed, versioned, kind-tagged frames.
//! - [`merkle`]: RFC 9162 tree hashing and inclusion and consistency proofs, shared by packages
//!   and the audit log.
//! - [`purpose`]: purpose limitation: what a package may be opened for.
//! - [`note`]: C2SP signed notes, log checkpoints and witness cosignatures.
//! - [`package`]: the EVX1 evidence package: streaming seal and open.
//! - [`policy`]: the policy engine: agreements, the safeguard rules, rule traces and review.
//!
//! The formats are specified in `docs/protocol.md` and `docs/package-format.md`.
//!
//! # Example: a request, and evidence sealed in answer to it
//!
//! ```
//! use evx_protocol::crypto::{HpkeSecretKey, SigningKey};
//! use evx_protocol::document::Signed;
//! use evx_protocol::frame::Message;
//! use evx_protocol::ids::RequestId;
//! use evx_protocol::package::{MemoryStaging, PackageReader, Sealer};
//! use evx_protocol::purpose::{DeclaredPurpose, Purpose};
//! use evx_protocol::sample;
//! # use rand_core::SeedableRng;
//! # let rng = &mut rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! // In a node: `rand_core::UnwrapErr(getrandom::SysRng)`.
//!
//! // The requesting party signs a request and frames it.
//! let police = SigningKey::generate(rng);
//! let police_hpke = HpkeSecretKey::generate(rng);
//! let request = sample::production_request(RequestId::random(rng));
//! let frame = Message::Request(Signed::sign(&request, &police)?).encode();
//!
//! // The requested party decodes it and verifies it against the key its registry holds.
//! let Message::Request(signed) = Message::decode(&frame)? else { panic!("not a request") };
//! let request = signed.verify(&police.verifying_key())?;
//!
//! // It seals the evidence to the requesting party, bound to the case and the purpose.
//! let provider = SigningKey::generate(rng);
//! let evidence = b"{\"account\":\"k.lenz\",\"name\":\"K. Lenz\"}\n";
//! let items = vec![sample::item("subscribers.jsonl", "application/x-ndjson", evidence.len() as u64)];
//! let params = sample::package_params(&request);
//! let mut sealer = Sealer::new(Vec::new(), params, items, &provider, police_hpke.public_key(), rng)?;
//! sealer.write_payload(evidence)?;
//! let package = sealer.finish()?.writer;
//!
//! // The requesting party opens it for a declared case and purpose.
//! let declared = DeclaredPurpose { case: request.case_id.clone(), purpose: Purpose::Investigation };
//! let opened = PackageReader::new(&package[..])?.open(
//!     &police_hpke,
//!     &provider.verifying_key(),
//!     &declared,
//!     MemoryStaging::with_limit(1 << 20),
//! )?;
//! assert_eq!(opened.committed, evidence);
//!
//! // Any other purpose is refused before anything is decrypted.
//! let prosecution = DeclaredPurpose { purpose: Purpose::Prosecution, ..declared };
//! let refused = PackageReader::new(&package[..])?.open(
//!     &police_hpke,
//!     &provider.verifying_key(),
//!     &prosecution,
//!     MemoryStaging::with_limit(1 << 20),
//! );
//! assert!(refused.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod audit;
pub mod canonical;
pub mod crypto;
pub mod delivery;
pub mod document;
pub mod frame;
pub mod ids;
pub mod merkle;
pub mod note;
pub mod package;
pub mod policy;
pub mod purpose;
pub mod sample;
pub mod witnessing;

pub use rand_core;
