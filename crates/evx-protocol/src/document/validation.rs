//! `JudicialValidation`: a judge's or court's attestation that a request may be executed.
//!
//! Under Reg. (EU) 2023/1543 Art. 4 a prosecutor or police authority may issue an order for
//! traffic or content data only once a judge, court or investigating judge has validated it.
//! The validation is a separate document, signed with the validating authority's own key and
//! bound to the exact signed request by its digest, so that a requesting party cannot attach a
//! judge's signature to a request the judge never saw, and the requested party can check the
//! validator's key against its registry of trusted authorities (legal reference §6 rule 3).

use serde::{Deserialize, Serialize};

use super::document;
use super::request::AuthorityType;
use crate::ids::{RequestId, UnixTime};

/// A judicial authority's validation of one signed request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudicialValidation {
    /// Document version (1).
    pub v: u8,
    /// The request validated.
    pub request_id: RequestId,
    /// SHA-256 of the signed request exactly as issued ([`super::Signed::digest`]).
    pub request_digest: [u8; 32],
    /// The validating authority, e.g. "Amtsgericht Tiergarten".
    pub authority: String,
    /// Its type: judge, court or investigating judge (a prosecutor where the agreement allows).
    pub authority_type: AuthorityType,
    /// Its reference for the validation.
    pub reference: String,
    /// When it validated.
    pub validated_at: UnixTime,
    /// Its assessment of necessity and proportionality, in words.
    pub statement: String,
}
document!(JudicialValidation, "judicial-validation", 16 * 1024);
