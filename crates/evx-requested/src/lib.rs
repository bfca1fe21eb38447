//! The requested party's side of evx. So far: the evidence source ([`dataset`]) — a provider's
//! records as files, a generator for a realistic synthetic one, and collection that takes only
//! what a request's categories, selectors and time range cover — and the intake desk
//! ([`server`]): signed request in, acknowledgement with a log proof and decision out.

#![forbid(unsafe_code)]

pub mod dataset;
pub mod serve;
pub mod server;
