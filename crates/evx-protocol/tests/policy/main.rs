//! The policy engine: the example agreements, one pass and one fail per rule, the scenarios of
//! the legal reference, reviewer decisions and determinism.

mod fixture;
mod scenarios;
