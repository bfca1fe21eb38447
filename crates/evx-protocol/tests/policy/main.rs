//! The policy engine: the example agreements, one pass and one fail per rule, the scenarios of
//! the legal reference, reviewer decisions and determinism.

mod agreement;
mod fixture;
mod limits;
mod privileged;
mod properties;
mod review;
mod rules;
mod scenarios;
mod vectors;
