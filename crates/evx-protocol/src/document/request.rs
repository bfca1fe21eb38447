//! `EvidenceRequest`: what a requesting authority asks for, and under which legal basis.
//!
//! The fields follow the request model of the legal reference (§6) — the EPOC / EPOC-PR
//! certificates of Reg. (EU) 2023/1543 and Budapest Art. 29(2) — so that the requested party's
//! policy engine can check every machine-checkable rule from the signed request alone.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::document;
use crate::ids::{CaseId, PartyId, RequestId, UnixTime};
use crate::purpose::{OnwardTransfer, Purpose};

/// A signed request to preserve or produce electronic evidence for one criminal case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRequest {
    /// Document version (1).
    pub v: u8,
    /// Chosen by the requesting party; unique per request, used for replay checks.
    pub request_id: RequestId,
    /// Who asks.
    pub requesting_party: PartyId,
    /// Who is asked.
    pub requested_party: PartyId,
    /// When the request was issued.
    pub issued_at: UnixTime,
    /// The kind of proceeding; only criminal proceedings are in scope (rule 2).
    pub proceeding: Proceeding,
    /// The case the request is made for (rule 2, rule 8).
    pub case_id: CaseId,
    /// The legal instrument the request is made under (rule 1).
    pub instrument: Instrument,
    /// Preservation, production, emergency disclosure, … (legal reference §2).
    pub request_type: RequestType,
    /// The issuing authority (rule 3).
    pub issuer: Issuer,
    /// The offence investigated (rules 4 and 5).
    pub offence: Offence,
    /// A short statement of the facts and of why the data are necessary and proportionate.
    pub facts: String,
    /// The categories of data asked for (legal reference §3).
    pub categories: Vec<DataCategory>,
    /// Particular targets: each one concrete identifier, never a pattern (rule 7).
    pub selectors: Vec<Selector>,
    /// The period the data must fall in.
    pub time_range: TimeRange,
    /// What the evidence will be used for (rule 8).
    pub purpose: Purpose,
    /// Present only for emergencies: the imminent risk to life or safety (rule 12).
    pub emergency: Option<Emergency>,
    /// Confidentiality asked of the requested party (rule 14).
    pub confidentiality: Confidentiality,
    /// Onward-transfer terms the requesting party accepts (rule 9).
    pub onward_transfer: OnwardTransfer,
    /// The earlier preservation request this one follows up, if any.
    pub preservation_ref: Option<RequestId>,
    /// Reference of the notification to the enforcing authority (EU Art. 8; rule 11).
    pub notification_ref: Option<String>,
    /// Where the offence was committed and the person lives, which decides whether the enforcing
    /// authority must be notified (EU Art. 8(2); rule 11).
    pub territory: Territory,
    /// What the issuer declares about the person concerned: privileges, immunities, press
    /// (EU Art. 5(9)–(10)). A declaration routes the request to a human reviewer.
    pub protected_status: Vec<ProtectedStatus>,
}
document!(EvidenceRequest, "request", 64 * 1024);

/// The kind of proceeding a request serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proceeding {
    /// A criminal investigation or proceeding: the only kind evx serves.
    Criminal,
    /// Civil proceedings: always out of scope; encodable so a refusal can name it.
    Civil,
    /// Administrative proceedings: always out of scope.
    Administrative,
    /// Prevention or intelligence work with no criminal investigation behind it: out of scope.
    Prevention,
}

/// The legal instrument a request is made under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    /// Budapest Convention (ETS 185), mutual assistance (Arts 29–34).
    Budapest,
    /// Second Additional Protocol to the Budapest Convention (CETS 224).
    BudapestSecondProtocol,
    /// Reg. (EU) 2023/1543: European Production and Preservation Orders.
    EuEEvidence,
    /// UN Convention against Cybercrime.
    UnCybercrime,
    /// An executive agreement under the US CLOUD Act.
    CloudActAgreement,
}

/// What the request asks the requested party to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    /// Expedited preservation (Budapest Art. 29; EPOC-PR).
    Preservation,
    /// Disclosure of preserved traffic data to identify the path (Budapest Art. 30).
    PreservedTrafficDisclosure,
    /// Production of stored data (Budapest Art. 31; CETS 224 Arts 7–8; EPOC).
    Production,
    /// Emergency disclosure (CETS 224 Art. 9; EPOC in emergency).
    EmergencyDisclosure,
    /// Real-time collection of traffic or content data for a fixed period (Budapest Arts 33–34):
    /// the time range is the collection window, which must end by the agreement's limit.
    RealTimeCollection,
}

/// The type of an issuing or validating authority (EU Art. 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityType {
    /// A judge.
    Judge,
    /// A court.
    Court,
    /// An investigating judge.
    InvestigatingJudge,
    /// A public prosecutor.
    Prosecutor,
    /// A police or other law-enforcement authority.
    LawEnforcement,
    /// A central authority for mutual assistance.
    CentralAuthority,
    /// A 24/7 point of contact (Budapest Art. 35).
    PointOfContact,
}

impl AuthorityType {
    /// The name as written in agreements, e.g. `investigating_judge`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Judge => "judge",
            Self::Court => "court",
            Self::InvestigatingJudge => "investigating_judge",
            Self::Prosecutor => "prosecutor",
            Self::LawEnforcement => "law_enforcement",
            Self::CentralAuthority => "central_authority",
            Self::PointOfContact => "point_of_contact",
        }
    }
}

/// The authority that issued the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    /// Its name, e.g. "Staatsanwaltschaft Berlin".
    pub authority: String,
    /// Its type.
    pub authority_type: AuthorityType,
    /// Its own file number for the request.
    pub file_number: String,
    /// How to reach it about this request.
    pub contact: String,
}

/// The offence under investigation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offence {
    /// Code in the agreement's dual-criminality table, e.g. `illegal-access`.
    pub code: String,
    /// The criminal provision in the issuing state, e.g. "§ 202a StGB".
    pub statute: String,
    /// The maximum custodial sentence, in months.
    pub max_penalty_months: u32,
    /// Whether the offence was committed by means of an information system (EU Art. 5(4)).
    pub committed_via_ict: bool,
}

/// A category of data (legal reference §3), from least to most intrusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Who holds the account: name, address, billing, service period.
    Subscriber,
    /// Data to identify a user: IP address, source port and time of a connection.
    Identification,
    /// Origin, destination, route, time, size and duration of communications.
    Traffic,
    /// The communications themselves.
    Content,
}

impl DataCategory {
    /// The name as written in agreements, e.g. `traffic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscriber => "subscriber",
            Self::Identification => "identification",
            Self::Traffic => "traffic",
            Self::Content => "content",
        }
    }
}

/// One particular target (rule 7). The first six variants are concrete identifiers, checked for
/// form and for patterns by the policy engine ([`crate::policy`]); the last three exist only so
/// that a bulk request can be decoded, named and refused rather than dropped as malformed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Selector {
    /// An account at a named service.
    Account {
        /// The service, e.g. `mail.example`.
        service: String,
        /// The account name at that service.
        account: String,
    },
    /// An e-mail address.
    Email(String),
    /// A phone number in E.164 form.
    Phone(String),
    /// One IP address, with the source port and instant that identify a user behind NAT.
    IpAddress {
        /// The address.
        address: IpAddr,
        /// The source port, where the address is shared.
        port: Option<u16>,
        /// The instant of the connection.
        at: UnixTime,
    },
    /// A device identifier (IMEI, advertising id, …).
    Device(String),
    /// A domain name.
    Domain(String),
    /// A block of addresses. Refused unless it is a single host (/32, /128): a range of
    /// addresses is bulk collection (rule 7). Encodable so that a refusal can name it.
    IpRange {
        /// The network address.
        network: IpAddr,
        /// The prefix length.
        prefix_len: u8,
    },
    /// A search term. Always refused: a keyword selects everyone who used it (rule 7).
    Keyword(String),
    /// A geographic area. Always refused: an area selects everyone in it (rule 7).
    Area {
        /// Latitude of the centre, in millionths of a degree.
        latitude_e6: i32,
        /// Longitude of the centre, in millionths of a degree.
        longitude_e6: i32,
        /// Radius in metres.
        radius_m: u32,
    },
}

/// A closed time interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// The first instant.
    pub from: UnixTime,
    /// The last instant.
    pub to: UnixTime,
}

impl TimeRange {
    /// Whether `t` falls in the range.
    pub fn contains(&self, t: UnixTime) -> bool {
        self.from <= t && t <= self.to
    }
}

/// Why a request is an emergency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emergency {
    /// The significant and imminent risk to the life or safety of a person.
    pub justification: String,
}

/// Confidentiality the requesting party asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confidentiality {
    /// The request and its execution must stay confidential (Budapest Art. 27(8)).
    pub confidential: bool,
    /// The provider must not tell the user until this time, if set.
    pub no_user_notice_until: Option<UnixTime>,
}

/// Where the offence was committed and the person concerned lives, as the issuer states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Territory {
    /// The offence was committed, is being committed or is likely to be committed in the
    /// issuing state.
    pub offence_in_issuing_state: bool,
    /// The person whose data are sought lives in the issuing state; `None` when unknown, which
    /// counts as "no" for notification.
    pub person_resides_in_issuing_state: Option<bool>,
}

/// A status of the person concerned that calls for a human reviewer (legal reference §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectedStatus {
    /// A profession bound by privilege: lawyer, doctor, clergy.
    ProfessionalPrivilege,
    /// A journalist or media organisation (freedom of the press).
    Press,
    /// A person with immunity (diplomatic, parliamentary).
    Immunity,
}

impl ProtectedStatus {
    /// The name as written in configuration, e.g. `professional_privilege`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfessionalPrivilege => "professional_privilege",
            Self::Press => "press",
            Self::Immunity => "immunity",
        }
    }
}
