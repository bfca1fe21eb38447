//! The rule catalogue and the trace an evaluation leaves behind.
//!
//! Every rule has a stable id (never reused, never renamed: traces in audit logs name rules by
//! it), the legal source it implements, and a class that says what its failure means for the
//! decision. A [`Trace`] holds one [`RuleResult`] per rule, in catalogue order, and the
//! [`Proposal`] derived from them; it encodes canonically and hashes to the digest that the
//! decision and the audit log record.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::crypto::sha256_parts;
use crate::document::{DataCategory, DueDates, MissingField, RefusalGround};
use crate::ids::{RequestId, UnixTime};
use crate::purpose::Conditions;

/// What a rule's failure means for the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleClass {
    /// A required field is missing or malformed: the request is returned as incomplete, listing
    /// the fields (EU Annex III).
    Completeness,
    /// A safeguard is not met: a refusal ground, proposed to a reviewer unless the agreement
    /// lists the ground in `automatic_refusals`.
    Safeguard,
    /// A trigger of legal reference §4: the request waits for a human reviewer.
    Review,
    /// Something the requested node itself must do first; nothing is decided until it is.
    Precondition,
}

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $class:ident, $ground:expr, $source:literal, $title:literal; )*) => {
        /// A rule of the policy engine. See `docs/policy.md` for the full table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum RuleId {
            $( $(#[$doc])* $variant, )*
        }

        impl RuleId {
            /// Every rule, in evaluation order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The stable id, as written in traces and documentation.
            pub fn id(self) -> &'static str {
                match self { $(Self::$variant => $id,)* }
            }

            /// What its failure means.
            pub fn class(self) -> RuleClass {
                match self { $(Self::$variant => RuleClass::$class,)* }
            }

            /// The refusal ground code its failure gives, for safeguard rules.
            pub fn ground(self) -> Option<&'static str> {
                match self { $(Self::$variant => $ground,)* }
            }

            /// The legal source it implements.
            pub fn source(self) -> &'static str {
                match self { $(Self::$variant => $source,)* }
            }

            /// What it checks, in a few words.
            pub fn title(self) -> &'static str {
                match self { $(Self::$variant => $title,)* }
            }

            /// The rule with this stable id.
            pub fn from_id(id: &str) -> Option<Self> {
                match id { $($id => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

rules! {
    /// Rule 1: the instrument is in force between the two parties and provides for the request
    /// type.
    Instrument = "R01-instrument-in-force", Safeguard, Some("unsupported-instrument"),
        "legal ref. §6 rule 1; Reg. (EU) 2023/1543 Art. 1; CETS 224 Art. 2",
        "instrument in force between the parties, and provides for the request type";
    /// Rule 2: criminal proceedings only.
    CriminalScope = "R02-criminal-proceeding", Safeguard, Some("not-criminal-proceeding"),
        "Budapest Art. 14(1); Reg. (EU) 2023/1543 Art. 1(1); UN Art. 3",
        "a specific criminal investigation or proceeding, not civil, administrative or prevention";
    /// Rule 3: the issuer (or a validator) may order each category.
    Issuer = "R03-issuing-authority", Safeguard, Some("issuer-not-competent"),
        "Reg. (EU) 2023/1543 Art. 4; CETS 224 Art. 7(5)",
        "issuer, or a verified judicial validator, may order each category";
    /// Rule 3 and issue item 6: every attached judicial validation is authentic.
    Validation = "R03a-judicial-validation", Safeguard, Some("validation-not-authentic"),
        "Reg. (EU) 2023/1543 Art. 4(1)(b), 4(2)(b)",
        "attached validations are signed by a registered judicial authority, over this request";
    /// Rule 4: the offence's maximum penalty meets each category's threshold.
    Penalty = "R04-penalty-threshold", Safeguard, Some("below-penalty-threshold"),
        "Reg. (EU) 2023/1543 Art. 5(4); UN Art. 2(h); Budapest Art. 24(1)",
        "maximum penalty meets the category's threshold, or a listed offence via ICT";
    /// Rule 5: dual criminality.
    DualCriminality = "R05-dual-criminality", Safeguard, Some("no-dual-criminality"),
        "Budapest Arts 25(5), 29(3)-(4); Reg. (EU) 2023/1543 Art. 12(1)(d); UN Art. 35(2)",
        "the conduct is criminal in both parties (not checked for preservation without reservation)";
    /// Rule 6: required fields per request type.
    RequiredFields = "R06-required-fields", Completeness, None,
        "Budapest Art. 29(2); Reg. (EU) 2023/1543 Art. 5(5), Annex I-III; CETS 224 Arts 7-9",
        "every field the request type requires is present and well-formed";
    /// Rule 7: each selector is well-formed.
    SelectorForm = "R07a-selector-form", Completeness, None,
        "Budapest Arts 29(2)(c), 31; Reg. (EU) 2023/1543 Art. 5(5)(d)",
        "each selector is a well-formed account, e-mail, E.164 number, address, device or domain";
    /// Rule 7: each selector is one particular target, never a pattern, range, keyword or area.
    Particularity = "R07b-particular-selectors", Safeguard, Some("bulk-selector"),
        "Budapest Arts 29, 31 (\"specified\"); 18 U.S.C. §2523(b)(4)(D)(iv)",
        "each selector names one target: no wildcard, pattern, range, keyword or area";
    /// Rule 7: counts, time range and real-time window within the agreement's limits.
    SelectorLimits = "R07c-selector-limits", Safeguard, Some("request-too-broad"),
        "Budapest Art. 15; Reg. (EU) 2023/1543 Art. 5(2); 18 U.S.C. §2523(b)(4)(D)(iv)",
        "number of selectors, time range and real-time window within the agreement's limits";
    /// Rule 8: the purpose is allowed and bound to the case.
    Purpose = "R08-purpose", Safeguard, Some("purpose-not-allowed"),
        "Budapest Art. 28(2)(b); CETS 224 Art. 14(2); UN Art. 40",
        "the purpose is one the agreement allows (asset recovery only where it says so)";
    /// Rule 9: onward transfer only with prior authorisation.
    OnwardTransfer = "R09-onward-transfer", Review, None,
        "CETS 224 Art. 14(10); UN Art. 36",
        "onward transfer asked for in advance is pre-authorised by the agreement, or reviewed";
    /// Rule 10: preservation period and deadlines.
    Preservation = "R10-preservation-period", Safeguard, Some("preservation-period-exceeded"),
        "Budapest Art. 29(7); Reg. (EU) 2023/1543 Art. 11; UN Art. 42",
        "preservation held for the agreement's period; extensions within count and length";
    /// Rule 11: the enforcing authority was notified where required.
    Notification = "R11-enforcing-authority-notified", Completeness, None,
        "Reg. (EU) 2023/1543 Art. 8",
        "traffic or content orders carry the notification reference unless Art. 8(2) applies";
    /// Rule 12: an emergency is justified.
    EmergencyJustified = "R12a-emergency-justified", Completeness, None,
        "CETS 224 Arts 3(2)(c), 9; Reg. (EU) 2023/1543 Art. 3(18)",
        "an emergency states the imminent risk to life or safety";
    /// Rule 12: an unvalidated emergency stays within the categories allowed before validation.
    EmergencyScope = "R12b-emergency-scope", Safeguard, Some("emergency-not-allowed"),
        "Reg. (EU) 2023/1543 Art. 4(5); CETS 224 Art. 9",
        "emergencies are provided for; unvalidated ones ask only for the allowed categories";
    /// Rule 13: mutually authenticated, encrypted channel; signer registered for the party.
    Channel = "R13-authenticated-channel", Precondition, None,
        "Budapest Art. 25(3); Reg. (EU) 2023/1543 Art. 19",
        "received over mutual TLS, signed by a document key registered for the requesting party";
    /// Rule 14: requested confidentiality can be kept.
    Confidentiality = "R14-confidentiality", Completeness, None,
        "Budapest Art. 27(8); Reg. (EU) 2023/1543 Art. 11(5)",
        "confidentiality asked for can be kept by the requested party";
    /// Rule 15: transfers are not suspended.
    Suspension = "R15a-transfers-not-suspended", Safeguard, Some("transfers-suspended"),
        "CETS 224 Art. 14(15)",
        "transfers to the requesting party are not suspended";
    /// Rule 15: the recipient's data-protection profile meets every Art. 14 item.
    DataProtection = "R15b-data-protection-profile", Safeguard, Some("inadequate-data-protection"),
        "CETS 224 Art. 14(1)-(14); UN Art. 36",
        "the requesting party's profile meets each Art. 14 item, or an umbrella agreement applies";
    /// §5, Art. 14(1) and 14(5): the stricter of the two profiles governs retention.
    Retention = "R15c-stricter-retention", Safeguard, Some("no-retention-limit"),
        "CETS 224 Art. 14(1), 14(5)",
        "retention is limited, to the stricter of the two parties' periods";
    /// Rule 16: the request is recorded in the audit log before it is decided.
    Audit = "R16-recorded", Precondition, None,
        "CETS 224 Art. 14(8)",
        "the request is recorded in the requested party's audit log";
    /// Rule 17: partial or conditional execution before refusal.
    PartialFirst = "R17-partial-before-refusal", Review, None,
        "Budapest Art. 27(6)-(7); UN Art. 40",
        "where only some categories fail, partial execution is proposed instead of refusal";
    /// §4: substantial grounds of discrimination.
    Discrimination = "T01-discrimination", Review, None,
        "UN Art. 40(8); Budapest Art. 25(4) with the treaties in force",
        "no concern of prosecution or prejudice on grounds of sex, race, language, religion, nationality, ethnic origin or political opinion";
    /// §4: political or connected offence.
    PoliticalOffence = "T02-political-offence", Review, None,
        "Budapest Arts 27(4)(a), 29(5), 30(2)",
        "the offence is not on the agreement's political list and none is flagged";
    /// §4: other sensitive offence.
    SensitiveOffence = "T03-sensitive-offence", Review, None,
        "Budapest Art. 27(4); UN Art. 40",
        "the offence is not on the agreement's list of sensitive offences";
    /// §4: sovereignty, security, ordre public, essential interests.
    EssentialInterests = "T04-essential-interests", Review, None,
        "Budapest Art. 27(4)(b), 29(5)",
        "no concern for sovereignty, security, ordre public or essential interests is flagged";
    /// §4: manifest breach of a fundamental right.
    FundamentalRights = "T05-fundamental-rights", Review, None,
        "Reg. (EU) 2023/1543 Art. 12(1)(b)",
        "no manifest breach of a fundamental right is flagged";
    /// §4: immunities, privileges, press freedom.
    Privilege = "T06-privilege-or-press", Review, None,
        "Reg. (EU) 2023/1543 Arts 5(9)-(10), 12(1)(a)",
        "the person is not declared privileged, immune or press, and no selector is on the privileged list";
    /// §4: ne bis in idem.
    NeBisInIdem = "T07-ne-bis-in-idem", Review, None,
        "Reg. (EU) 2023/1543 Art. 12(1)(c)",
        "no case-register hit for the same acts is flagged";
    /// §4: necessity and proportionality near the limits of rule 7.
    Proportionality = "T08-proportionality", Review, None,
        "Budapest Art. 15; Reg. (EU) 2023/1543 Art. 5(2)",
        "selectors and time range stay clear of the agreement's limits";
    /// §4: conflict with third-country law.
    ThirdCountryLaw = "T09-third-country-law", Review, None,
        "Reg. (EU) 2023/1543 Art. 17",
        "no conflict with the law of a third country is flagged";
    /// §4: security incident.
    SecurityIncident = "T10-security-incident", Review, None,
        "CETS 224 Art. 14(7)",
        "no open security incident affects the transfer";
    /// §4: evidence of a systematic or material breach, before any suspension.
    SystematicBreach = "T11-systematic-breach", Review, None,
        "CETS 224 Art. 14(15)",
        "no evidence of a systematic or material data-protection breach is flagged";
    /// §4: death penalty or free-speech use.
    DeathPenaltyOrSpeech = "T12-death-penalty-or-speech", Review, None,
        "US-UK Agreement Art. 8(4)",
        "no death-penalty or free-speech use is flagged";
}

/// Grounds that can concern single categories: never automatic, because partial execution
/// comes first and needs a reviewer.
pub(crate) const CATEGORY_SCOPED_GROUNDS: &[&str] = &[
    "unsupported-instrument",
    "issuer-not-competent",
    "below-penalty-threshold",
    "no-dual-criminality",
    "emergency-not-allowed",
];

/// Grounds the agreement may mark as automatic: the safeguard rules' grounds.
pub(crate) const AUTOMATIC_GROUNDS: &[&str] = &[
    "unsupported-instrument",
    "not-criminal-proceeding",
    "issuer-not-competent",
    "validation-not-authentic",
    "below-penalty-threshold",
    "no-dual-criminality",
    "bulk-selector",
    "request-too-broad",
    "purpose-not-allowed",
    "preservation-period-exceeded",
    "emergency-not-allowed",
    "transfers-suspended",
    "inadequate-data-protection",
    "no-retention-limit",
];

impl RuleId {
    /// Whether a reviewer may release data although this rule failed. The rules a reviewer may
    /// override are the ones that rest on the requested party's own judgement or records — the
    /// dual-criminality table may be incomplete, a limit may be exceeded for good reason, a
    /// profile may be out of date — not the ones the law makes absolute: scope, competence,
    /// seriousness, particularity, purpose, emergency limits, the preservation period and a
    /// suspension.
    pub fn reviewer_may_override(self) -> bool {
        matches!(
            self,
            Self::DualCriminality | Self::SelectorLimits | Self::DataProtection | Self::Retention
        )
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Self::from_id(&id)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown rule id `{id}`")))
    }
}

/// A rule's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Verdict {
    /// The rule is met.
    Pass,
    /// The rule is not met; what that means depends on its [`RuleClass`].
    Fail,
    /// A person must decide.
    NeedsReview,
    /// The rule does not apply to this request (e.g. preservation periods to a production
    /// request). Kept distinct from a pass, so that an auditor reads what was checked.
    NotApplicable,
}

impl Verdict {
    /// "pass", "fail", "needs-review" or "n/a".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NeedsReview => "needs-review",
            Self::NotApplicable => "n/a",
        }
    }
}

/// One rule's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// The rule.
    pub rule: RuleId,
    /// Its outcome.
    pub verdict: Verdict,
    /// One line saying why.
    pub explanation: String,
    /// For a failed completeness rule: the fields to supply or correct.
    pub missing: Vec<MissingField>,
    /// For a failure that concerns only some data categories: those categories. Empty when
    /// the failure concerns the whole request.
    pub categories: Vec<DataCategory>,
}

/// What the engine proposes. Only [`Proposal::Accept`], [`Proposal::Incomplete`] and an
/// automatic [`Proposal::Refuse`] become decisions without a reviewer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Proposal {
    /// Execute under the trace's conditions.
    Accept,
    /// Ask for these fields.
    Incomplete {
        /// What is missing or malformed.
        missing: Vec<MissingField>,
    },
    /// Refuse on these grounds.
    Refuse {
        /// The grounds, each with its code, legal source and explanation.
        grounds: Vec<RefusalGround>,
        /// Every ground is one the agreement marks automatic: final without a reviewer.
        automatic: bool,
    },
    /// Execute only for these categories; the others fail on the grounds given.
    Partial {
        /// Categories that may be executed.
        categories: Vec<DataCategory>,
        /// Why the others may not.
        grounds: Vec<RefusalGround>,
    },
    /// A reviewer must decide, for these reasons (one line per rule that asked for review).
    Review {
        /// The reasons.
        reasons: Vec<String>,
    },
    /// Nothing is decided, and nothing is sent, until the node has met these preconditions
    /// (the request is recorded in the audit log; it came over an authenticated channel from a
    /// registered key of a party to the agreement).
    Blocked {
        /// The preconditions not met, one line each.
        reasons: Vec<String>,
    },
}

/// Domain label of [`Trace::digest`].
const TRACE_DOMAIN: &[u8] = b"evx/v1 rule-trace\0";

/// The full record of one evaluation: which agreement, which request, every rule's result and
/// the proposal. Encodes canonically; its digest goes into the decision and the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// Trace format version (1).
    pub v: u8,
    /// The agreement's id.
    pub agreement_id: String,
    /// The agreement's digest ([`super::Agreement::digest`]).
    pub agreement_digest: [u8; 32],
    /// The request evaluated.
    pub request_id: RequestId,
    /// SHA-256 of the signed request as received.
    pub request_digest: [u8; 32],
    /// When the request was received: the origin of every due date.
    pub received_at: UnixTime,
    /// One result per rule, in [`RuleId::ALL`] order.
    pub results: Vec<RuleResult>,
    /// What the engine proposes.
    pub proposal: Proposal,
    /// The conditions of use if the request is executed (in full or in part).
    pub conditions: Conditions,
    /// A party's data-protection profile prohibits onward transfer: no reviewer may authorise
    /// it for this request.
    pub onward_prohibited: bool,
    /// The due dates.
    pub due: DueDates,
    /// When a reviewer must decide, if the proposal needs one.
    pub review_due: Option<UnixTime>,
}

impl Trace {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self)
            .unwrap_or_else(|_| unreachable!("postcard encodes every trace into a Vec"))
    }

    /// Decodes a trace, refusing anything but its one canonical encoding of version 1.
    pub fn decode(bytes: &[u8]) -> Result<Self, crate::canonical::DecodeError> {
        const WHAT: &str = "rule trace";
        if let Some(&v) = bytes.first()
            && v != 1
        {
            return Err(crate::canonical::DecodeError::UnsupportedVersion {
                what: WHAT,
                found: v,
                supported: 1,
            });
        }
        crate::canonical::decode(WHAT, bytes)
    }

    /// SHA-256 over a domain label and the canonical encoding.
    pub fn digest(&self) -> [u8; 32] {
        sha256_parts(&[TRACE_DOMAIN, &self.encode()])
    }

    /// The result of one rule.
    pub fn result(&self, rule: RuleId) -> Option<&RuleResult> {
        self.results.iter().find(|r| r.rule == rule)
    }

    /// Whether the proposal needs a human reviewer before it becomes a decision.
    pub fn needs_reviewer(&self) -> bool {
        match &self.proposal {
            Proposal::Accept | Proposal::Incomplete { .. } | Proposal::Blocked { .. } => false,
            Proposal::Refuse { automatic, .. } => !automatic,
            Proposal::Partial { .. } | Proposal::Review { .. } => true,
        }
    }
}

impl RuleClass {
    /// What a rule of this class does to the decision when it fails, in words.
    pub fn consequence(self) -> &'static str {
        match self {
            Self::Completeness => "fail → incomplete (fields listed)",
            Self::Safeguard => "fail → refusal ground (proposed to a reviewer unless automatic)",
            Self::Review => "needs-review → pending human review",
            Self::Precondition => "fail → nothing decided until the node has done it",
        }
    }
}

/// The rule catalogue as a Markdown table (id, what it checks, legal source, outcome), as
/// `docs/policy.md` carries it; a test keeps the two identical.
pub fn rules_table() -> String {
    let mut s = String::from(
        "| Id | Checks | Legal source | On failure | Ground code | Reviewer may release |\n\
         |---|---|---|---|---|---|\n",
    );
    for &r in RuleId::ALL {
        let overridable = match r.class() {
            RuleClass::Safeguard if r.reviewer_may_override() => "yes",
            RuleClass::Safeguard | RuleClass::Precondition => "no",
            RuleClass::Completeness | RuleClass::Review => "—",
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {overridable} |\n",
            r.id(),
            r.title(),
            r.source(),
            r.class().consequence(),
            r.ground()
                .map_or_else(|| "—".to_owned(), |g| format!("`{g}`")),
        ));
    }
    s
}
