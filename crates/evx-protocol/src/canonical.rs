//! Canonical postcard encoding.
//!
//! postcard is compact and has a stable, specified wire format, but its decoder is lenient: it
//! accepts overlong varints (`81 00` decodes as 1) and `from_bytes` ignores trailing bytes. For
//! anything that is signed, hashed or compared, evx needs exactly one byte string per value, so
//! [`decode`] accepts an input only if it is consumed entirely and re-encodes to the very same
//! bytes. Types that go through here avoid maps, floats, `flatten` and untagged enums, whose
//! encodings are not unique.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why bytes were not accepted as the canonical encoding of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not decode as the expected type (truncated, a bad tag, invalid UTF-8, an
    /// identifier that fails validation, …).
    #[error("{what} does not decode: {detail}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// postcard's or the validator's description.
        detail: String,
    },
    /// A complete value was followed by more bytes.
    #[error("{what} is followed by {count} unexpected trailing bytes")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
    /// The bytes decode, but are not the canonical encoding (e.g. an overlong varint).
    #[error("{what} is not canonically encoded (it does not re-encode to the same bytes)")]
    NonCanonical {
        /// What was being decoded.
        what: &'static str,
    },
    /// The value's version field names a version this build does not understand.
    #[error(
        "{what} has version {found}; this evx understands version {supported} — upgrade the node that cannot read it"
    )]
    UnsupportedVersion {
        /// What was being decoded.
        what: &'static str,
        /// The version found.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
}

/// Encodes a value. Infallible for evx's types, which hold no maps or sequences of unknown
/// length and raise no serde errors of their own; meant for those types only.
#[must_use]
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value)
        .unwrap_or_else(|e| unreachable!("evx types always encode with postcard: {e}"))
}

/// Decodes `bytes` as the canonical encoding of a `T`: no trailing bytes, and re-encoding must
/// give back exactly `bytes`. `what` names the value in errors.
pub fn decode<T: Serialize + DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let (value, rest): (T, &[u8]) =
        postcard::take_from_bytes(bytes).map_err(|e| DecodeError::Malformed {
            what,
            detail: e.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes {
            what,
            count: rest.len(),
        });
    }
    if encode(&value) != bytes {
        return Err(DecodeError::NonCanonical { what });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_overlong_varints_and_trailing_bytes() {
        assert_eq!(decode::<u16>("n", &[1]).unwrap(), 1);
        assert_eq!(
            decode::<u16>("n", &[0x81, 0x00]),
            Err(DecodeError::NonCanonical { what: "n" })
        );
        assert_eq!(
            decode::<u16>("n", &[1, 2]),
            Err(DecodeError::TrailingBytes {
                what: "n",
                count: 1
            })
        );
        assert!(matches!(
            decode::<u16>("n", &[]),
            Err(DecodeError::Malformed { .. })
        ));
    }
}
