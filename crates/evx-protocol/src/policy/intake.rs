//! What the requested node knows about a request when it evaluates it, besides the request.

use serde::{Deserialize, Serialize};

use super::privileged::PrivilegedList;
use crate::document::{EvidenceRequest, JudicialValidation, Signed};
use crate::ids::{KeyId, UnixTime};

/// How the request reached the node (rule 13). The transport layer fills it in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel {
    /// Both ends authenticated each other with certificates of the deployment's CA.
    pub mutual_tls: bool,
    /// The connection is encrypted.
    pub encrypted: bool,
}

impl Channel {
    /// An evx QUIC connection: mutual TLS 1.3.
    pub const MUTUAL_TLS: Self = Self {
        mutual_tls: true,
        encrypted: true,
    };
}

/// A concern raised at intake — by the requested party's staff or by a register lookup — that
/// a person must weigh (legal reference §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Concern {
    /// Substantial grounds that the aim is prosecution or punishment, or that the person would
    /// be prejudiced, on grounds of sex, race, language, religion, nationality, ethnic origin
    /// or political opinion.
    Discrimination,
    /// A political or connected offence, whatever the offence code says.
    PoliticalOffence,
    /// Sovereignty, security, ordre public or other essential interests.
    EssentialInterests,
    /// Specific and objective evidence of a manifest breach of a fundamental right.
    FundamentalRights,
    /// Immunities or privileges, or press freedom, known from a register.
    Privilege,
    /// The person was finally tried for the same acts (case register hit).
    NeBisInIdem,
    /// Executing would conflict with the law of a third country.
    ThirdCountryLaw,
    /// A security incident affects the transfer.
    SecurityIncident,
    /// Evidence of a systematic or material data-protection breach by the requesting party.
    SystematicBreach,
    /// The evidence may be used in a case carrying the death penalty, or against free speech.
    DeathPenaltyOrSpeech,
}

/// One concern with a note explaining it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewFlag {
    /// The concern.
    pub concern: Concern,
    /// Who raised it and why, in words; shown to the reviewer.
    pub note: String,
}

/// A request as received, with what the node knows about its arrival.
#[derive(Clone, Debug)]
pub struct Intake<'a> {
    /// The request, decoded from a signed envelope whose signature the node has verified.
    pub request: &'a EvidenceRequest,
    /// SHA-256 of the signed request as received ([`Signed::digest`]).
    pub request_digest: [u8; 32],
    /// The key that signed it ([`Signed::signer`]).
    pub signer: KeyId,
    /// When it was received: the origin of every due date.
    pub received_at: UnixTime,
    /// How it arrived.
    pub channel: Channel,
    /// Its `request_received` entry in the node's audit log (rule 16).
    pub log_index: Option<u64>,
    /// Judicial validations sent with it.
    pub validations: &'a [Signed<JudicialValidation>],
    /// Concerns raised at intake.
    pub flags: &'a [ReviewFlag],
    /// Identifiers of privileged persons and the press (lawyers, journalists) that the
    /// requested party keeps: a request naming one goes to review.
    pub privileged: &'a PrivilegedList,
}

impl<'a> Intake<'a> {
    /// An intake for a signed request received at `received_at` over `channel`, with nothing
    /// attached: add validations, flags, the privileged list and the log index with the
    /// `with_*` methods. `request` must be the document `signed` verified to; the digest and
    /// signer are taken from `signed`, so they cannot disagree with it.
    pub fn new(
        signed: &Signed<EvidenceRequest>,
        request: &'a EvidenceRequest,
        received_at: UnixTime,
        channel: Channel,
    ) -> Self {
        Self {
            request,
            request_digest: signed.digest(),
            signer: signed.signer(),
            received_at,
            channel,
            log_index: None,
            validations: &[],
            flags: &[],
            privileged: &super::privileged::EMPTY,
        }
    }

    /// With the audit-log index of the request's `request_received` entry.
    pub fn with_log_index(mut self, index: u64) -> Self {
        self.log_index = Some(index);
        self
    }

    /// With judicial validations.
    pub fn with_validations(mut self, validations: &'a [Signed<JudicialValidation>]) -> Self {
        self.validations = validations;
        self
    }

    /// With concerns raised at intake.
    pub fn with_flags(mut self, flags: &'a [ReviewFlag]) -> Self {
        self.flags = flags;
        self
    }

    /// With the requested party's list of privileged identifiers.
    pub fn with_privileged(mut self, privileged: &'a PrivilegedList) -> Self {
        self.privileged = privileged;
        self
    }
}
