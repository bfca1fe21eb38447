//! The requesting party's side of evx: a request file people can write, the client that signs,
//! sends and follows a request, fetches and verifies its evidence packages, and opens them for
//! a declared purpose.

pub mod client;
pub mod open;
pub mod request_file;
mod store;
