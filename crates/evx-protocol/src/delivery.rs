//! Asking for a decision and its evidence: the two unsigned messages of a delivery.
//!
//! The requesting party opens a stream and sends a [`Fetch`] naming its request. The requested
//! party answers with the signed [`crate::document::Decision`] as it stands, then — if the
//! fetch asks for packages and one is ready — a [`PackageOffer`] followed on the same stream
//! by the raw bytes of the sealed EVX1 package from `offset` to `length`: a delivery cut off
//! resumes, over a new connection, from what the requesting side already holds. The requesting party verifies the
//! package, records it, and sends a signed [`crate::document::Receipt`] back on the stream.
//!
//! Neither message is signed: both travel inside the mutual-TLS connection, which already says
//! who is asking, and neither carries anything either party must later prove. What must be
//! proven — the decision, the package (signed manifest) and the receipt — is signed.

use serde::{Deserialize, Serialize};

use crate::canonical::{self, DecodeError};
use crate::ids::{PackageId, RequestId};

/// Asks for the state of a request and, optionally, its packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetch {
    /// Version (1).
    pub v: u8,
    /// The request, which the asking party must have made.
    pub request_id: RequestId,
    /// Send the packages too (`false`: only the decision, for a status check).
    pub packages: bool,
    /// Resume a package already partly received: its id and how many of its bytes the
    /// requesting side holds. Ignored if that is not the package on offer.
    pub resume: Option<(PackageId, u64)>,
}

/// Announces a sealed package: its id and exact length; the raw bytes follow on the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageOffer {
    /// Version (1).
    pub v: u8,
    /// The request the package answers.
    pub request_id: RequestId,
    /// `H`, the package id, as its header will give it: the receiver checks it.
    pub package_id: PackageId,
    /// The package's length in bytes: the receiver checks it against its own limit before
    /// accepting a byte.
    pub length: u64,
    /// Where the bytes that follow start: 0, or the resume point the fetch asked for. Exactly
    /// `length - offset` bytes follow.
    pub offset: u64,
}

macro_rules! unsigned_message {
    ($t:ty, $what:literal) => {
        impl $t {
            /// The largest encoding.
            pub const MAX_SIZE: usize = 128;

            /// The canonical encoding.
            pub fn encode(&self) -> Vec<u8> {
                canonical::encode(self)
            }

            /// Decodes the canonical encoding, refusing other versions.
            pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
                let m: Self = canonical::decode($what, bytes)?;
                if m.v != 1 {
                    return Err(DecodeError::UnsupportedVersion {
                        what: $what,
                        found: m.v,
                        supported: 1,
                    });
                }
                Ok(m)
            }
        }
    };
}

unsigned_message!(Fetch, "fetch");
unsigned_message!(PackageOffer, "package offer");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_check() {
        let f = Fetch {
            v: 1,
            request_id: RequestId([3; 16]),
            packages: true,
            resume: Some((PackageId([4; 32]), u64::MAX)),
        };
        assert_eq!(Fetch::decode(&f.encode()).unwrap(), f);
        assert!(f.encode().len() <= Fetch::MAX_SIZE);
        let o = PackageOffer {
            v: 1,
            request_id: RequestId([3; 16]),
            package_id: PackageId([9; 32]),
            length: u64::MAX,
            offset: u64::MAX,
        };
        assert_eq!(PackageOffer::decode(&o.encode()).unwrap(), o);
        assert!(o.encode().len() <= PackageOffer::MAX_SIZE);
        let v2 = Fetch { v: 2, ..f };
        assert!(matches!(
            Fetch::decode(&v2.encode()),
            Err(DecodeError::UnsupportedVersion { found: 2, .. })
        ));
        let mut bad = f.encode();
        bad.push(0);
        assert!(Fetch::decode(&bad).is_err());
    }
}
