//! The example agreements shipped with evx, as text: `evx agreement example` prints them as a
//! starting point for a real agreement, and the tests, benches and demo evaluate requests
//! against them.

/// EU member states under Reg. (EU) 2023/1543 (EPOC / EPOC-PR): Germany and a provider
/// established in Ireland.
pub const EU_2023_1543: &str = include_str!("../../agreements/eu-2023-1543.toml");

/// Two Parties to the Budapest Convention (Art. 29 preservation, Art. 31 production).
pub const BUDAPEST: &str = include_str!("../../agreements/budapest.toml");

/// Every example, with its file name.
pub const ALL: [(&str, &str); 2] = [
    ("eu-2023-1543.toml", EU_2023_1543),
    ("budapest.toml", BUDAPEST),
];
