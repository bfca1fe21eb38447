//! The requested party's side of evx: the evidence source ([`dataset`]) — a provider's records
//! as files, a generator for a realistic synthetic one, and collection that takes only what a
//! request's categories, selectors and time range cover; the intake desk ([`server`]): signed
//! request in, acknowledgement with a log proof and decision out, evidence sealed and
//! delivered; the review queue ([`review`]) where people decide what the engine may not; and
//! the QUIC server ([`serve`]).

#![forbid(unsafe_code)]

pub mod consent;
pub mod dataset;
mod deadline;
mod preservation;
pub mod register;
pub mod review;
pub mod serve;
pub mod server;
mod store;
mod upkeep;
