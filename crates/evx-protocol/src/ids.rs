//! Typed identifiers.
//!
//! Every identifier that crosses the wire has its own type, so a case reference can never be
//! passed where a party is expected. Text identifiers are validated when they are built and
//! again when they are decoded, so a hostile peer cannot smuggle control characters or
//! megabyte-long names into logs and file names.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Why a text identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier was empty.
    #[error("{kind} is empty; give at least one character")]
    Empty {
        /// Which identifier.
        kind: &'static str,
    },
    /// The identifier was longer than its limit.
    #[error("{kind} is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Which identifier.
        kind: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The identifier held a character outside its alphabet.
    #[error("{kind} contains {found:?}; use only ASCII letters, digits and {extra}")]
    BadCharacter {
        /// Which identifier.
        kind: &'static str,
        /// The first refused character.
        found: char,
        /// The punctuation the identifier allows besides letters and digits.
        extra: &'static str,
    },
    /// A hex identifier was not the expected number of hex digits.
    #[error("{kind} must be {expected} hex digits")]
    BadHex {
        /// Which identifier.
        kind: &'static str,
        /// The expected number of hex digits.
        expected: usize,
    },
}

fn check_text(kind: &'static str, s: &str, max: usize, extra: &'static str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > max {
        return Err(IdError::TooLong {
            kind,
            len: s.len(),
            max,
        });
    }
    if let Some(found) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(*c)))
    {
        return Err(IdError::BadCharacter { kind, found, extra });
    }
    Ok(())
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr, $extra:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest accepted identifier, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Validates and wraps an identifier.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check_text($kind, &s, $max, $extra)?;
                Ok(Self(s))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl core::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

text_id!(
    /// A party of the network: a central authority, a judicial authority or a service
    /// provider's law-enforcement response team, e.g. `DE-BfJ` or `provider.example-LERT`.
    PartyId,
    "party id",
    64,
    "-_."
);

text_id!(
    /// The requesting authority's reference for a specific criminal investigation or
    /// proceeding, e.g. `DE-StA-Berlin-2026-0412`. Requests are bound to one case and evidence
    /// may be used only for it (purpose limitation).
    CaseId,
    "case id",
    128,
    "-_./:"
);

macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lower-case hex, as shown to people and written to files.
            pub fn to_hex(&self) -> String {
                crate::ids::hex(&self.0)
            }
        }

        impl core::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                crate::ids::unhex(s)
                    .map(Self)
                    .ok_or(IdError::BadHex { kind: $kind, expected: 2 * $len })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
    };
}

byte_id!(
    /// A request's identifier: 16 random bytes chosen by the requesting party. Replies,
    /// decisions, receipts and packages name the request they belong to.
    RequestId,
    "request id",
    16
);

byte_id!(
    /// An evidence package's identifier: `H`, the SHA-256 digest of its header (see
    /// `docs/package-format.md`). It names the sender, the recipient and the key material, so
    /// two different packages never share an id.
    PackageId,
    "package id",
    32
);

byte_id!(
    /// A public key's identifier: SHA-256 of the public key's 32 bytes. Documents and package
    /// headers name keys by id, and the peer registry maps ids to parties.
    KeyId,
    "key id",
    32
);

impl RequestId {
    /// Draws a fresh random request id.
    pub fn random(rng: &mut impl rand_core::CryptoRng) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self(id)
    }
}

/// Seconds since the Unix epoch, UTC. The protocol crate never reads a clock: callers pass the
/// time in, which keeps every function deterministic and testable.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// This time plus `secs` seconds, saturating at the end of time.
    pub fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }
}

impl fmt::Display for UnixTime {
    /// RFC 3339 in UTC, e.g. `2026-11-20T09:00:00Z` (proleptic Gregorian calendar).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / 86_400;
        let secs = self.0 % 86_400;
        // Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`), in u64
        // arithmetic shifted by 719_468 days so nothing goes negative.
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

#[cfg(test)]
mod time_tests {
    use super::UnixTime;

    #[test]
    fn displays_rfc3339_utc() {
        assert_eq!(UnixTime(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(UnixTime(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(UnixTime(1_795_165_200).to_string(), "2026-11-20T09:00:00Z");
        assert_eq!(UnixTime(4_102_444_799).to_string(), "2099-12-31T23:59:59Z");
        // The largest value still formats (a year far beyond 9999) rather than panicking.
        assert!(UnixTime(u64::MAX).to_string().ends_with('Z'));
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

pub(crate) fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_ids_are_validated() {
        assert!(PartyId::new("DE-BfJ").is_ok());
        assert_eq!(PartyId::new(""), Err(IdError::Empty { kind: "party id" }));
        assert!(matches!(
            PartyId::new("a b"),
            Err(IdError::BadCharacter { found: ' ', .. })
        ));
        assert!(matches!(
            PartyId::new("x".repeat(65)),
            Err(IdError::TooLong { len: 65, .. })
        ));
        assert!(CaseId::new("DE-StA-Berlin/2026:0412").is_ok());
        assert!(CaseId::new("case\n").is_err());
    }

    #[test]
    fn decoding_revalidates_text_ids() {
        let bytes = postcard::to_allocvec(&"bad id\u{7}").unwrap();
        assert!(postcard::from_bytes::<PartyId>(&bytes).is_err());
        let bytes = postcard::to_allocvec(&"good-id").unwrap();
        assert_eq!(
            postcard::from_bytes::<PartyId>(&bytes).unwrap().as_str(),
            "good-id"
        );
    }

    #[test]
    fn hex_round_trips() {
        let id = RequestId([0xab; 16]);
        assert_eq!(id.to_hex().parse::<RequestId>().unwrap(), id);
        assert!("zz".parse::<RequestId>().is_err());
        assert!(
            "ABABABABABABABABABABABABABABABAB"
                .parse::<RequestId>()
                .is_ok()
        );
    }
}
