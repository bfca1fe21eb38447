//! What both evx nodes run: the durable, verifiable audit log ([`audit`]), group commit for
//! their request stores ([`group_commit`]), and the deployment's PKI and configuration files
//! ([`pki`]).
//!
//! The protocol crate defines what an audit entry, a checkpoint and a proof are; this crate
//! keeps them: in SQLite, append-only, group-committed by one sequencer, checkpointed and
//! signed after every commit, and verifiable from scratch.

#![forbid(unsafe_code)]

pub mod audit;
pub mod group_commit;
pub mod pki;
pub mod transport;
pub mod vault;
pub mod wire;
pub mod witnessing;
