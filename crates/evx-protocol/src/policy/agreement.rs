//! The agreement between two parties: what the instruments in force between them allow, as
//! data the policy engine reads.
//!
//! An agreement is written in TOML (see `docs/policy.md` for every key, and the two examples in
//! [`super::examples`]). Loading it is pure — the caller reads the file — and strict: unknown
//! keys are refused (a misspelt safeguard must not silently fall back to a default), and every
//! semantic error names the key and what is expected, so that an operator can fix the file from
//! the message alone.

use serde::{Deserialize, Serialize};

use crate::crypto::sha256_parts;
use crate::document::{AuthorityType, DataCategory, Instrument, RequestType};
use crate::ids::PartyId;
use crate::purpose::Purpose;

/// The configuration format this build reads.
pub const FORMAT: u8 = 1;

/// Domain label of [`Agreement::digest`].
const DIGEST_DOMAIN: &[u8] = b"evx/v1 agreement\0";

/// The agreement between two parties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Configuration format; must be [`FORMAT`].
    pub format: u8,
    /// A stable identifier, recorded in every rule trace, e.g. `eu-2023-1543/DE-IE`.
    pub id: String,
    /// A human title.
    pub title: String,
    /// The two parties. Either may request from the other.
    pub parties: Vec<Party>,
    /// The instruments in force between them (rule 1).
    pub instruments: Vec<Instrument>,
    /// The purposes evidence may be requested for (rule 8). `asset_recovery` only where the
    /// instruments allow it.
    pub purposes: Vec<Purpose>,
    /// Transfer switches: suspension and onward transfer (rules 9, 15).
    pub transfers: Transfers,
    /// Offences both parties criminalise (rule 5) and how to treat them.
    pub dual_criminality: DualCriminality,
    /// Per data category: who may order it and for which offences (rules 3, 4, 11).
    pub categories: Categories,
    /// Limits that keep requests particular (rule 7).
    pub selectors: SelectorLimits,
    /// Emergency rules (rule 12).
    pub emergency: EmergencyRules,
    /// Preservation periods (rule 10).
    pub preservation: PreservationRules,
    /// Deadlines per request type (rule 10).
    pub deadlines: Deadlines,
    /// Offences routed to a human reviewer (legal reference §4).
    pub sensitive_offences: SensitiveOffences,
    /// Refusal grounds the engine may apply without a reviewer, by ground code (e.g.
    /// `transfers-suspended`). Every other failed safeguard is only a proposed refusal.
    #[serde(default)]
    pub automatic_refusals: Vec<String>,
}

/// One party to the agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Its evx party id.
    pub id: PartyId,
    /// Its name.
    pub name: String,
    /// Its state, as an ISO 3166-1 alpha-2 code.
    pub state: String,
    /// Whether it can keep a request and its execution confidential (Budapest Art. 27(8)).
    pub can_keep_confidential: bool,
    /// Its declared data-protection profile (CETS 224 Art. 14).
    pub data_protection: DataProtectionProfile,
}

/// A party's data-protection profile: what it guarantees for personal data it receives
/// (CETS 224 Art. 14; legal reference §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataProtectionProfile {
    /// Longest time received evidence is kept, in days (14(5)); absent if the law sets no fixed
    /// period.
    pub retention_days: Option<u32>,
    /// What it does about onward transfer (14(9)–(10)).
    pub onward_transfer: OnwardTransferRule,
    /// How it treats sensitive data (14(4)).
    pub sensitive_data: SensitiveData,
    /// Whether decisions with adverse effect may be automated (14(6)).
    pub automated_decisions: AutomatedDecisions,
    /// Who oversees it (14(14)).
    pub oversight: Oversight,
    /// Remedies open to the person concerned (14(13)).
    pub remedies: Vec<Remedy>,
    /// Hours within which it notifies the transferring party of a security incident (14(7));
    /// absent if it makes no such commitment.
    pub breach_notification_hours: Option<u32>,
    /// It keeps records of who accessed, used and disclosed the data (14(8)).
    pub access_records: bool,
    /// It informs people about the processing and lets them access, correct and erase their
    /// data (14(11)–(12)).
    pub data_subject_rights: bool,
}

/// A recipient's rule for onward transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnwardTransferRule {
    /// Only with the sending party's prior authorisation (CETS 224 Art. 14(10)).
    PriorAuthorisation,
    /// Never.
    Prohibited,
    /// Without asking the sender: does not meet Art. 14(10).
    Unrestricted,
}

/// A recipient's treatment of sensitive data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveData {
    /// Processed only with safeguards against prejudicial use, notably discrimination.
    Safeguarded,
    /// Not processed at all.
    Prohibited,
    /// No particular safeguards: does not meet Art. 14(4).
    Unrestricted,
}

/// A recipient's rule for automated decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutomatedDecisions {
    /// Adverse decisions always involve a human.
    HumanIntervention,
    /// No automated decisions at all.
    Prohibited,
    /// Solely automated adverse decisions happen: does not meet Art. 14(6).
    SolelyAutomated,
}

/// Who oversees a recipient's processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Oversight {
    /// An independent authority (14(14)).
    Independent,
    /// Only internal oversight: does not meet Art. 14(14).
    Internal,
    /// None.
    None,
}

/// A remedy open to the person concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    /// Before a court.
    Judicial,
    /// Before an administrative or supervisory body.
    NonJudicial,
}

/// Transfer switches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfers {
    /// Transfers are suspended for a systematic or material data-protection breach
    /// (CETS 224 Art. 14(15)); every request is refused while this is set.
    pub suspended: bool,
    /// Why, and by whose decision — shown in every refusal while suspended.
    #[serde(default)]
    pub suspension_reason: String,
    /// Recipients to whom onward transfer is authorised in advance for every request; empty
    /// means onward transfer always needs the sender's prior authorisation (rule 9 default).
    #[serde(default)]
    pub preauthorised_onward: Vec<PartyId>,
    /// The name of a comprehensive data-protection agreement binding both parties (e.g. the
    /// EU-US Umbrella Agreement), which replaces the profile check of rule 15 (14(1)).
    #[serde(default)]
    pub umbrella_agreement: Option<String>,
}

/// Offences both parties criminalise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DualCriminality {
    /// The categories whose production requires dual criminality (all four under Budapest;
    /// traffic and content under the EU regulation, Art. 12(1)(d)).
    pub required_for: Vec<DataCategory>,
    /// Dual criminality is checked for preservation too: a Budapest Art. 29(4) reservation.
    pub required_for_preservation: bool,
    /// The maximum penalty, in months, from which an offence marked `listed` is exempt from
    /// the check (EU Art. 12(1)(d): Annex IV categories carrying at least three years).
    #[serde(default = "default_listed_min_penalty_months")]
    pub listed_min_penalty_months: u32,
    /// The table.
    pub offences: Vec<OffenceEntry>,
}

fn default_listed_min_penalty_months() -> u32 {
    36
}

/// One row of the dual-criminality table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffenceEntry {
    /// The code requests use, e.g. `illegal-access`.
    pub code: String,
    /// The conduct both parties criminalise, in words.
    pub conduct: String,
    /// Whether both parties criminalise it: a row with `false` documents a known gap.
    pub criminal_in_both: bool,
    /// An offence category listed in EU Annex IV: dual criminality is not checked when its
    /// maximum penalty is at least 36 months (EU Art. 12(1)(d)).
    #[serde(default)]
    pub listed: bool,
    /// One of the offences of EU Art. 5(4)(b)–(d) that meet the traffic and content threshold
    /// whatever the penalty, when committed by means of an information system.
    #[serde(default)]
    pub ict_listed: bool,
    /// A fiscal offence: never a ground of refusal by itself (Budapest Art. 25(4)).
    #[serde(default)]
    pub fiscal: bool,
}

/// Per-category rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Categories {
    /// Subscriber data.
    pub subscriber: CategoryRule,
    /// User-identification data.
    pub identification: CategoryRule,
    /// Traffic data.
    pub traffic: CategoryRule,
    /// Content data.
    pub content: CategoryRule,
}

impl Categories {
    /// The rule for one category.
    pub fn rule(&self, category: DataCategory) -> &CategoryRule {
        match category {
            DataCategory::Subscriber => &self.subscriber,
            DataCategory::Identification => &self.identification,
            DataCategory::Traffic => &self.traffic,
            DataCategory::Content => &self.content,
        }
    }
}

/// Who may order one category, and for which offences.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// Issuer types that may order it alone.
    pub issuers: Vec<AuthorityType>,
    /// Authority types whose signed validation makes another issuer's order valid; empty if
    /// none can.
    #[serde(default)]
    pub validators: Vec<AuthorityType>,
    /// The smallest maximum penalty, in months, of an offence it may be ordered for; 0 for any
    /// offence.
    pub min_max_penalty_months: u32,
    /// Whether the threshold is "at least" or "more than" (instruments word it both ways).
    #[serde(default)]
    pub penalty_comparison: Comparison,
    /// Offences marked `ict_listed`, committed by means of an information system, meet the
    /// threshold whatever their penalty (EU Art. 5(4)).
    #[serde(default)]
    pub ict_listed_exempt: bool,
    /// The enforcing authority must be notified (EU Art. 8) unless the offence was committed in
    /// the issuing state and the person lives there.
    #[serde(default)]
    pub notify_enforcing_authority: bool,
}

/// How a penalty is compared with a threshold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// `penalty >= threshold`.
    #[default]
    AtLeast,
    /// `penalty > threshold`.
    MoreThan,
}

impl Comparison {
    /// Whether `penalty` meets `threshold`.
    pub fn meets(self, penalty: u32, threshold: u32) -> bool {
        match self {
            Self::AtLeast => penalty >= threshold,
            Self::MoreThan => penalty > threshold,
        }
    }

    /// "at least" or "more than".
    pub fn words(self) -> &'static str {
        match self {
            Self::AtLeast => "at least",
            Self::MoreThan => "more than",
        }
    }
}

/// Limits that keep a request particular.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorLimits {
    /// Most selectors in one request.
    pub max_count: u32,
    /// Longest time range, in days.
    pub max_time_range_days: u32,
    /// Longest real-time collection window, in days.
    pub max_real_time_days: u32,
    /// A request using more than this share (in percent) of a limit goes to a reviewer for
    /// necessity and proportionality (legal reference §4); 100 turns this off.
    pub review_above_percent: u8,
}

/// Emergency rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRules {
    /// Emergency requests are possible under this agreement.
    pub allowed: bool,
    /// Shortest justification accepted, in characters: a placeholder is not a justification.
    pub min_justification_chars: u32,
    /// Categories an emergency request may cover before a judicial validation arrives.
    pub unvalidated_categories: Vec<DataCategory>,
    /// An emergency preservation request may cover any category before validation (EU
    /// Art. 4(5) allows EPOC-PR as well as subscriber and identification EPOC).
    #[serde(default)]
    pub unvalidated_preservation: bool,
    /// Hours within which an unvalidated emergency request must be validated (EU Art. 4(5)).
    pub validation_due_hours: u32,
}

/// Preservation periods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreservationRules {
    /// Issuer types that may order preservation of any category (EU Art. 4(3): judges, courts,
    /// investigating judges and prosecutors; Budapest Art. 29: any competent authority).
    pub issuers: Vec<AuthorityType>,
    /// The first period, in days.
    pub initial_days: u32,
    /// How many extensions may follow.
    pub max_extensions: u32,
    /// The longest single extension, in days.
    pub extension_days: u32,
}

/// Deadlines per request type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// Hours to place a preservation hold.
    pub preservation_hours: u32,
    /// Days to decide and deliver a production request.
    pub production_days: u32,
    /// Hours to deliver in an emergency.
    pub emergency_hours: u32,
    /// Days to decide a real-time collection request.
    pub real_time_days: u32,
    /// Days a reviewer has to decide a request sent to review.
    pub review_days: u32,
    /// Hours a reviewer has for an emergency request.
    pub review_emergency_hours: u32,
    /// Days a notified order waits for the enforcing authority before release (EU Art. 10(2));
    /// 0 when nothing is notified.
    #[serde(default)]
    pub notification_wait_days: u32,
}

/// Offences that go to a human reviewer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitiveOffences {
    /// Political or connected offences (Budapest Arts 27(4)(a), 29(5)).
    pub political: Vec<String>,
    /// Other sensitive offences (e.g. blasphemy, offences against the head of state, offences
    /// linked to sexual orientation), by code.
    #[serde(default)]
    pub other: Vec<String>,
}

/// Why an agreement could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgreementError {
    /// The text is not TOML of the agreement's shape.
    #[error("{origin}: {message}")]
    Syntax {
        /// Where the text came from (a file name).
        origin: String,
        /// The parser's message: line, column, key and what was expected.
        message: String,
    },
    /// A value is well-formed but wrong.
    #[error("{origin}: `{key}`: {expected}")]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// The key at fault, as a dotted path.
        key: String,
        /// What is expected of it.
        expected: String,
    },
}

impl Agreement {
    /// Parses and checks an agreement. `origin` names the text in errors (usually its path).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, AgreementError> {
        let agreement: Self = toml::from_str(text).map_err(|e| AgreementError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        agreement
            .check()
            .map_err(|(key, expected)| AgreementError::Invalid {
                origin: origin.to_owned(),
                key,
                expected,
            })?;
        Ok(agreement)
    }

    /// SHA-256 of the agreement's canonical encoding: what a rule trace records, so that an
    /// auditor can tell which version of the agreement a decision was made under.
    pub fn digest(&self) -> [u8; 32] {
        let bytes = postcard::to_allocvec(self)
            .unwrap_or_else(|_| unreachable!("postcard encodes every agreement into a Vec"));
        sha256_parts(&[DIGEST_DOMAIN, &bytes])
    }

    /// The party with this id.
    pub fn party(&self, id: &PartyId) -> Option<&Party> {
        self.parties.iter().find(|p| &p.id == id)
    }

    /// The dual-criminality row for an offence code, compared without regard to ASCII case.
    pub fn offence(&self, code: &str) -> Option<&OffenceEntry> {
        self.dual_criminality
            .offences
            .iter()
            .find(|o| o.code.eq_ignore_ascii_case(code))
    }

    /// Whether a refusal ground may be applied without a reviewer.
    pub fn refuses_automatically(&self, ground: &str) -> bool {
        self.automatic_refusals.iter().any(|g| g == ground)
    }

    /// The decision deadline for a request type, in seconds.
    pub fn deadline_secs(&self, request_type: RequestType, emergency: bool) -> u64 {
        const H: u64 = 3600;
        const D: u64 = 86_400;
        let d = &self.deadlines;
        if emergency || request_type == RequestType::EmergencyDisclosure {
            return u64::from(d.emergency_hours) * H;
        }
        match request_type {
            RequestType::Preservation => u64::from(d.preservation_hours) * H,
            RequestType::RealTimeCollection => u64::from(d.real_time_days) * D,
            RequestType::Production
            | RequestType::PreservedTrafficDisclosure
            | RequestType::EmergencyDisclosure => u64::from(d.production_days) * D,
        }
    }

    /// Semantic checks serde cannot express; `Err((key, expected))`.
    fn check(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, expected: &str| Err((key.to_owned(), expected.to_owned()));
        if self.format != FORMAT {
            return bad(
                "format",
                &format!("this build reads format {FORMAT}; found {}", self.format),
            );
        }
        if self.id.trim().is_empty() || self.id.len() > 128 {
            return bad("id", "a non-empty identifier of at most 128 bytes");
        }
        // Text that reaches traces, decisions and terminals: one line, bounded.
        let line = |key: &str, value: &str, max: usize, may_be_empty: bool| {
            if (!may_be_empty && value.trim().is_empty())
                || value.len() > max
                || value
                    .chars()
                    .any(|c| c.is_control() || super::triggers::invisible(c))
            {
                Err((
                    key.to_owned(),
                    format!(
                        "{}one line of at most {max} bytes, without control characters",
                        if may_be_empty { "" } else { "a non-blank " }
                    ),
                ))
            } else {
                Ok(())
            }
        };
        line("id", &self.id, 128, false)?;
        line("title", &self.title, 200, false)?;
        line(
            "transfers.suspension_reason",
            &self.transfers.suspension_reason,
            1000,
            true,
        )?;
        if let Some(u) = &self.transfers.umbrella_agreement {
            line("transfers.umbrella_agreement", u, 200, false)?;
        }
        for (i, p) in self.parties.iter().enumerate() {
            line(&format!("parties[{i}].name"), &p.name, 200, false)?;
        }
        for (i, o) in self.dual_criminality.offences.iter().enumerate() {
            line(
                &format!("dual_criminality.offences[{i}].conduct"),
                &o.conduct,
                500,
                false,
            )?;
        }
        if self.parties.len() != 2 {
            return bad(
                "parties",
                &format!(
                    "exactly two [[parties]] tables; found {}",
                    self.parties.len()
                ),
            );
        }
        if self.parties[0].id == self.parties[1].id {
            return bad("parties", "two different party ids");
        }
        for (i, p) in self.parties.iter().enumerate() {
            let s = &p.state;
            if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
                return bad(
                    &format!("parties[{i}].state"),
                    "an ISO 3166-1 alpha-2 code in capitals, e.g. \"DE\"",
                );
            }
            if p.data_protection.retention_days == Some(0) {
                return bad(
                    &format!("parties[{i}].data_protection.retention_days"),
                    "a number of days greater than 0",
                );
            }
        }
        if self.instruments.is_empty() {
            return bad("instruments", "at least one instrument in force");
        }
        if self.purposes.is_empty() {
            return bad("purposes", "at least one purpose");
        }
        let mut codes: Vec<&str> = Vec::new();
        for (i, o) in self.dual_criminality.offences.iter().enumerate() {
            if !(1..=64).contains(&o.code.len()) || !o.code.bytes().all(|b| b.is_ascii_graphic()) {
                return bad(
                    &format!("dual_criminality.offences[{i}].code"),
                    "a code of 1 to 64 printable ASCII characters without spaces",
                );
            }
            if codes.iter().any(|c| c.eq_ignore_ascii_case(&o.code)) {
                return bad(
                    &format!("dual_criminality.offences[{i}].code"),
                    &format!("a code listed once; `{}` appears twice", o.code),
                );
            }
            codes.push(&o.code);
        }
        for (list, name) in [
            (&self.sensitive_offences.political, "political"),
            (&self.sensitive_offences.other, "other"),
        ] {
            for code in list {
                if self.offence(code).is_none() {
                    return bad(
                        &format!("sensitive_offences.{name}"),
                        &format!(
                            "codes of the dual_criminality.offences table; `{code}` is not one \
                             (a misspelt code would let the offence through unreviewed)"
                        ),
                    );
                }
                if self.offence(code).is_some_and(|o| o.fiscal) {
                    return bad(
                        &format!("sensitive_offences.{name}"),
                        &format!(
                            "no fiscal offence: `{code}` is marked fiscal, and fiscal nature \
                             alone is never a reason to refuse (Budapest Art. 25(4))"
                        ),
                    );
                }
            }
        }
        for (cat, rule) in [
            ("subscriber", &self.categories.subscriber),
            ("identification", &self.categories.identification),
            ("traffic", &self.categories.traffic),
            ("content", &self.categories.content),
        ] {
            if rule.issuers.is_empty() && rule.validators.is_empty() {
                return bad(
                    &format!("categories.{cat}.issuers"),
                    "at least one issuer or validator type",
                );
            }
        }
        let s = &self.selectors;
        if s.max_count == 0 || s.max_time_range_days == 0 {
            return bad(
                "selectors",
                "max_count and max_time_range_days greater than 0",
            );
        }
        if s.review_above_percent == 0 || s.review_above_percent > 100 {
            return bad(
                "selectors.review_above_percent",
                "a percentage from 1 to 100",
            );
        }
        if self.emergency.allowed && self.emergency.validation_due_hours == 0 {
            return bad(
                "emergency.validation_due_hours",
                "a number of hours greater than 0 when emergencies are allowed",
            );
        }
        if self.dual_criminality.listed_min_penalty_months == 0 {
            return bad(
                "dual_criminality.listed_min_penalty_months",
                "a number of months greater than 0 (Reg. (EU) 2023/1543 Art. 12(1)(d): 36)",
            );
        }
        let notified = [
            &self.categories.subscriber,
            &self.categories.identification,
            &self.categories.traffic,
            &self.categories.content,
        ]
        .iter()
        .any(|r| r.notify_enforcing_authority);
        if notified && self.deadlines.notification_wait_days == 0 {
            return bad(
                "deadlines.notification_wait_days",
                "a number of days greater than 0 when a category notifies the enforcing \
                 authority: its window to refuse (Reg. (EU) 2023/1543 Art. 10(2): 10)",
            );
        }
        if self.instruments.contains(&Instrument::EuEEvidence)
            && self
                .emergency
                .unvalidated_categories
                .iter()
                .any(|c| matches!(c, DataCategory::Traffic | DataCategory::Content))
        {
            return bad(
                "emergency.unvalidated_categories",
                "only subscriber and identification under Reg. (EU) 2023/1543 Art. 4(5): traffic \
                 and content data need a judicial order or validation first",
            );
        }
        if self.preservation.initial_days == 0 {
            return bad(
                "preservation.initial_days",
                "a number of days greater than 0",
            );
        }
        if self.preservation.max_extensions > 0 && self.preservation.extension_days == 0 {
            return bad(
                "preservation.extension_days",
                "a number of days greater than 0 when extensions are allowed",
            );
        }
        let d = &self.deadlines;
        for (key, v) in [
            ("deadlines.preservation_hours", d.preservation_hours),
            ("deadlines.production_days", d.production_days),
            ("deadlines.emergency_hours", d.emergency_hours),
            ("deadlines.real_time_days", d.real_time_days),
            ("deadlines.review_days", d.review_days),
            ("deadlines.review_emergency_hours", d.review_emergency_hours),
        ] {
            if v == 0 {
                return bad(key, "a period greater than 0");
            }
        }
        for (i, g) in self.automatic_refusals.iter().enumerate() {
            if super::rule::CATEGORY_SCOPED_GROUNDS.contains(&g.as_str()) {
                return bad(
                    &format!("automatic_refusals[{i}]"),
                    &format!(
                        "a ground that concerns the whole request; `{g}` can concern single \
                         data categories, where partial execution comes before refusal \
                         (Budapest Art. 27(6)), which needs a reviewer"
                    ),
                );
            }
            if !super::rule::AUTOMATIC_GROUNDS.contains(&g.as_str()) {
                return bad(
                    &format!("automatic_refusals[{i}]"),
                    &format!(
                        "one of {}; `{g}` is not a ground the engine may apply alone",
                        super::rule::AUTOMATIC_GROUNDS.join(", ")
                    ),
                );
            }
        }
        Ok(())
    }
}
