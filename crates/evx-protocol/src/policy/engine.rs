//! Evaluation: every rule over one request, the proposal, the conditions and the due dates.

use super::agreement::{Agreement, OnwardTransferRule, Party};
use super::checks::{self, names};
use super::intake::{Concern, Intake};
use super::registry::{KeyRole, Registry};
use super::rule::{Proposal, RuleClass, RuleId, RuleResult, Trace, Verdict};
use super::triggers;
use crate::document::{
    AuthorityType, DataCategory, DueDates, EvidenceRequest, RefusalGround, RequestType,
};
use crate::ids::UnixTime;
use crate::purpose::{Conditions, OnwardTransfer};

const HOUR: u64 = 3600;
/// The most judicial validations examined per request: each costs a signature check, and a
/// request needs one.
const MAX_VALIDATIONS: usize = 8;
const DAY: u64 = 86_400;

/// Everything a rule may read, computed once per evaluation.
pub(super) struct Ctx<'a> {
    pub(super) agreement: &'a Agreement,
    pub(super) registry: &'a Registry,
    pub(super) intake: &'a Intake<'a>,
    pub(super) request: &'a EvidenceRequest,
    pub(super) received_at: UnixTime,
    /// The requested categories, sorted, each once.
    pub(super) categories: Vec<DataCategory>,
    /// An emergency request: emergency disclosure, or any request with an emergency block.
    pub(super) emergency: bool,
    /// The authority types of the verified validations.
    pub(super) validators: Vec<AuthorityType>,
    /// Why attached validations failed verification.
    pub(super) validation_errors: Vec<String>,
    /// How many attached validations verified.
    pub(super) validations_verified: usize,
    pub(super) requesting: Option<&'a Party>,
    pub(super) requested: Option<&'a Party>,
}

impl<'a> Ctx<'a> {
    fn new(agreement: &'a Agreement, registry: &'a Registry, intake: &'a Intake<'a>) -> Self {
        let request = intake.request;
        let mut categories = request.categories.clone();
        categories.sort_unstable();
        categories.dedup();
        let mut ctx = Self {
            agreement,
            registry,
            intake,
            request,
            received_at: intake.received_at,
            categories,
            emergency: request.emergency.is_some()
                || request.request_type == RequestType::EmergencyDisclosure,
            validators: Vec::new(),
            validation_errors: Vec::new(),
            validations_verified: 0,
            requesting: agreement.party(&request.requesting_party),
            requested: agreement.party(&request.requested_party),
        };
        ctx.verify_validations();
        ctx
    }

    /// Checks each attached validation: a registered judicial key of the requesting party's
    /// state, a good signature, bound to this very request, and the type the registry records.
    fn verify_validations(&mut self) {
        let attached = self.intake.validations.len();
        if attached > MAX_VALIDATIONS {
            self.validation_errors.push(format!(
                "{attached} validations attached; at most {MAX_VALIDATIONS} are examined"
            ));
        }
        for (i, signed) in self
            .intake
            .validations
            .iter()
            .take(MAX_VALIDATIONS)
            .enumerate()
        {
            let key_id = signed.signer();
            let key_hex = key_id.to_hex();
            let who = checks::short(&key_hex);
            let Some(entry) = self.registry.get(&key_id) else {
                self.validation_errors
                    .push(format!("validation {i}: key {who} is not in the registry"));
                continue;
            };
            let KeyRole::JudicialAuthority { authority_type, .. } = &entry.role else {
                self.validation_errors.push(format!(
                    "validation {i}: key {who} is not a judicial authority's key"
                ));
                continue;
            };
            if entry.party != self.request.requesting_party {
                self.validation_errors.push(format!(
                    "validation {i}: key {who} belongs to {}, not to the requesting party",
                    entry.party
                ));
                continue;
            }
            let doc = match signed.verify(&entry.key) {
                Ok(doc) => doc,
                Err(e) => {
                    self.validation_errors.push(format!("validation {i}: {e}"));
                    continue;
                }
            };
            if doc.request_digest != self.intake.request_digest
                || doc.request_id != self.request.request_id
            {
                self.validation_errors.push(format!(
                    "validation {i} was signed for another request (digest differs)"
                ));
                continue;
            }
            if doc.authority_type != *authority_type {
                self.validation_errors.push(format!(
                    "validation {i} claims type {}; the registry lists the key as {}",
                    doc.authority_type.as_str(),
                    authority_type.as_str()
                ));
                continue;
            }
            self.validations_verified += 1;
            if !self.validators.contains(authority_type) {
                self.validators.push(*authority_type);
            }
        }
    }

    /// An emergency request that relies on the emergency relief of the agreement for some
    /// category: it must be validated by `validation_by`.
    pub(super) fn unvalidated_emergency(&self) -> bool {
        self.emergency
            && self.agreement.emergency.allowed
            && self
                .categories
                .iter()
                .any(|&cat| checks::competence(self, cat) == checks::Competence::PendingValidation)
    }
}

/// Evaluates a request against an agreement: every rule, in [`RuleId::ALL`] order, then the
/// proposal, the conditions and the due dates. Pure and deterministic: the same inputs always
/// give the same trace, byte for byte.
pub fn evaluate(agreement: &Agreement, registry: &Registry, intake: &Intake<'_>) -> Trace {
    let c = Ctx::new(agreement, registry, intake);
    let mut results: Vec<RuleResult> = Vec::with_capacity(RuleId::ALL.len());
    for &rule in RuleId::ALL {
        let r = match rule {
            RuleId::Instrument => checks::instrument(&c),
            RuleId::CriminalScope => checks::criminal_scope(&c),
            RuleId::Issuer => checks::issuer(&c),
            RuleId::Validation => checks::validation(&c),
            RuleId::Penalty => checks::penalty(&c),
            RuleId::DualCriminality => checks::dual_criminality(&c),
            RuleId::RequiredFields => checks::required_fields(&c),
            RuleId::SelectorForm => checks::selector_form(&c),
            RuleId::Particularity => checks::particularity(&c),
            RuleId::SelectorLimits => checks::selector_limits(&c),
            RuleId::Purpose => checks::purpose(&c),
            RuleId::OnwardTransfer => checks::onward_transfer(&c),
            RuleId::Preservation => checks::preservation(&c),
            RuleId::Notification => checks::notification(&c),
            RuleId::EmergencyJustified => checks::emergency_justified(&c),
            RuleId::EmergencyScope => checks::emergency_scope(&c),
            RuleId::Channel => checks::channel(&c),
            RuleId::Confidentiality => checks::confidentiality(&c),
            RuleId::Suspension => checks::suspension(&c),
            RuleId::DataProtection => checks::data_protection(&c),
            RuleId::Retention => checks::retention(&c),
            RuleId::Audit => checks::audit(&c),
            RuleId::PartialFirst => checks::partial_first(&c, &results),
            RuleId::Discrimination => triggers::on_flag(&c, rule, Concern::Discrimination),
            RuleId::PoliticalOffence => triggers::political(&c),
            RuleId::SensitiveOffence => triggers::sensitive(&c),
            RuleId::EssentialInterests => triggers::on_flag(&c, rule, Concern::EssentialInterests),
            RuleId::FundamentalRights => triggers::on_flag(&c, rule, Concern::FundamentalRights),
            RuleId::Privilege => triggers::privilege(&c),
            RuleId::NeBisInIdem => triggers::on_flag(&c, rule, Concern::NeBisInIdem),
            RuleId::Proportionality => triggers::proportionality(&c),
            RuleId::ThirdCountryLaw => triggers::on_flag(&c, rule, Concern::ThirdCountryLaw),
            RuleId::SecurityIncident => triggers::on_flag(&c, rule, Concern::SecurityIncident),
            RuleId::SystematicBreach => triggers::on_flag(&c, rule, Concern::SystematicBreach),
            RuleId::DeathPenaltyOrSpeech => {
                triggers::on_flag(&c, rule, Concern::DeathPenaltyOrSpeech)
            }
        };
        debug_assert_eq!(r.rule, rule);
        results.push(r);
    }
    let proposal = propose(&c, &results);
    let due = due_dates(&c);
    let review_period = if c.emergency {
        u64::from(agreement.deadlines.review_emergency_hours) * HOUR
    } else {
        u64::from(agreement.deadlines.review_days) * DAY
    };
    let mut trace = Trace {
        v: 1,
        agreement_id: agreement.id.clone(),
        agreement_digest: agreement.digest(),
        request_id: c.request.request_id,
        request_digest: intake.request_digest,
        received_at: c.received_at,
        results,
        proposal,
        conditions: conditions(&c),
        onward_prohibited: onward_prohibited(&c),
        due,
        review_due: None,
    };
    if trace.needs_reviewer() {
        // The reviewer's period, but never past the decision deadline: an emergency request
        // must be decided in hours whatever the review period says.
        let review_due = c.received_at.plus_secs(review_period);
        trace.review_due = Some(due.decide_by.map_or(review_due, |d| d.min(review_due)));
    }
    trace
}

fn ground(r: &RuleResult) -> RefusalGround {
    RefusalGround {
        code: r.rule.ground().unwrap_or(r.rule.id()).to_owned(),
        legal_source: r.rule.source().to_owned(),
        explanation: r.explanation.clone(),
    }
}

/// The proposal, in this order: a precondition the node has not met; refusals the agreement
/// makes automatic; missing fields; failed safeguards (partial execution first); review
/// triggers; otherwise acceptance.
fn propose(c: &Ctx<'_>, results: &[RuleResult]) -> Proposal {
    let failed = |class: RuleClass| {
        results
            .iter()
            .filter(move |r| r.verdict == Verdict::Fail && r.rule.class() == class)
    };
    let blocked: Vec<String> = failed(RuleClass::Precondition)
        .map(|r| format!("{}: {}", r.rule, r.explanation))
        .collect();
    if !blocked.is_empty() {
        return Proposal::Blocked { reasons: blocked };
    }
    let automatic: Vec<RefusalGround> = failed(RuleClass::Safeguard)
        .filter(|r| {
            r.rule
                .ground()
                .is_some_and(|g| c.agreement.refuses_automatically(g))
        })
        .map(ground)
        .collect();
    if !automatic.is_empty() {
        return Proposal::Refuse {
            grounds: automatic,
            automatic: true,
        };
    }
    // Where partial execution is possible, fields that only the refused categories need are
    // not asked for: the request goes ahead for the rest.
    let partial = results
        .iter()
        .any(|r| r.rule == RuleId::PartialFirst && r.verdict == Verdict::NeedsReview);
    let executable = checks::executable_categories(&c.categories, results);
    // Only categories a reviewer could not release anyway (a mandatory safeguard refused
    // them) are spared their fields: for the others the reviewer would need them.
    let refused_for_good: Vec<_> = failed(RuleClass::Safeguard)
        .filter(|r| !r.rule.reviewer_may_override())
        .flat_map(|r| r.categories.iter().copied())
        .collect();
    let missing: Vec<_> = failed(RuleClass::Completeness)
        .filter(|r| {
            !(partial
                && !r.categories.is_empty()
                && r.categories
                    .iter()
                    .all(|cat| refused_for_good.contains(cat)))
        })
        .flat_map(|r| r.missing.iter().cloned())
        .collect();
    if !missing.is_empty() {
        return Proposal::Incomplete { missing };
    }
    let grounds: Vec<RefusalGround> = failed(RuleClass::Safeguard).map(ground).collect();
    if !grounds.is_empty() {
        if partial {
            return Proposal::Partial {
                categories: executable,
                grounds,
            };
        }
        return Proposal::Refuse {
            grounds,
            automatic: false,
        };
    }
    let reasons: Vec<String> = results
        .iter()
        .filter(|r| r.verdict == Verdict::NeedsReview)
        .map(|r| format!("{}: {}", r.rule, r.explanation))
        .collect();
    if !reasons.is_empty() {
        return Proposal::Review { reasons };
    }
    Proposal::Accept
}

/// The conditions of use: the request's case and purpose, the stricter of the two
/// data-protection profiles field by field, onward transfer only with prior consent unless the
/// agreement pre-authorises the recipients, confidentiality as requested.
fn conditions(c: &Ctx<'_>) -> Conditions {
    let r = c.request;
    let profiles: Vec<_> = [c.requesting, c.requested]
        .into_iter()
        .flatten()
        .map(|p| &p.data_protection)
        .collect();
    let prohibited = onward_prohibited(c);
    let onward_transfer = match &r.onward_transfer {
        OnwardTransfer::AuthorisedTo(to)
            if !prohibited
                && !to.is_empty()
                && to
                    .iter()
                    .all(|p| c.agreement.transfers.preauthorised_onward.contains(p)) =>
        {
            let mut to = to.clone();
            to.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
            to.dedup();
            OnwardTransfer::AuthorisedTo(to)
        }
        _ => OnwardTransfer::DenyWithoutAuthorisation,
    };
    let retention_days = checks::effective_retention(c);
    let mut notes = vec![format!(
        "Use only in case {} for {}; any other case or purpose needs the requested party's \
         signed consent (Budapest Art. 28(2)(b)).",
        r.case_id, r.purpose
    )];
    if let Some(d) = retention_days {
        notes.push(format!(
            "Delete after {d} days at the latest: the stricter of both parties' retention limits \
             (CETS 224 Art. 14(5))."
        ));
    }
    notes.push(if prohibited {
        "No onward transfer: a party's profile prohibits it.".to_owned()
    } else {
        "Onward transfer to another state or organisation only with the requested party's prior \
         authorisation (CETS 224 Art. 14(10))."
            .to_owned()
    });
    if let Some(h) = profiles
        .iter()
        .filter_map(|p| p.breach_notification_hours)
        .min()
    {
        notes.push(format!(
            "Notify the requested party of a security incident affecting the evidence within {h} \
             hours (CETS 224 Art. 14(7))."
        ));
    }
    if r.confidentiality.confidential {
        notes.push("Keep the request, its execution and the evidence confidential.".to_owned());
    }
    Conditions {
        further_purposes: Vec::new(),
        retention_days,
        onward_transfer,
        confidential: r.confidentiality.confidential,
        notes,
    }
}

/// Whether either party's profile prohibits onward transfer.
fn onward_prohibited(c: &Ctx<'_>) -> bool {
    [c.requesting, c.requested]
        .into_iter()
        .flatten()
        .any(|p| p.data_protection.onward_transfer == OnwardTransferRule::Prohibited)
}

/// Due dates from the agreement, counted from receipt.
fn due_dates(c: &Ctx<'_>) -> DueDates {
    let a = c.agreement;
    let t0 = c.received_at;
    let decide = a.deadline_secs(c.request.request_type, c.emergency);
    let mut due = DueDates {
        decide_by: Some(t0.plus_secs(decide)),
        ..DueDates::default()
    };
    match c.request.request_type {
        RequestType::Preservation => {
            due.preserve_until = Some(t0.plus_secs(u64::from(a.preservation.initial_days) * DAY));
        }
        RequestType::Production
        | RequestType::PreservedTrafficDisclosure
        | RequestType::EmergencyDisclosure
        | RequestType::RealTimeCollection => {
            due.deliver_by = Some(t0.plus_secs(decide));
        }
    }
    if !c.emergency && checks::needs_notification(c).is_some() {
        let wait = u64::from(a.deadlines.notification_wait_days) * DAY;
        if wait > 0 {
            due.release_not_before = Some(t0.plus_secs(wait));
            // Delivery cannot be due before release is allowed.
            if let Some(d) = due.deliver_by {
                due.deliver_by = Some(d.max(t0.plus_secs(wait)));
            }
        }
    }
    if c.unvalidated_emergency() {
        due.validation_by = Some(t0.plus_secs(u64::from(a.emergency.validation_due_hours) * HOUR));
    }
    due
}

/// A one-line summary of a trace's proposal, for logs and review lists.
pub fn summary(trace: &Trace) -> String {
    match &trace.proposal {
        Proposal::Accept => "accept".to_owned(),
        Proposal::Incomplete { missing } => format!("incomplete: {} field(s)", missing.len()),
        Proposal::Refuse { grounds, automatic } => {
            let codes: Vec<&str> = grounds.iter().map(|g| g.code.as_str()).collect();
            let kind = if *automatic {
                "refuse"
            } else {
                "proposed refusal"
            };
            format!("{kind}: {}", codes.join(", "))
        }
        Proposal::Partial { categories, .. } => {
            format!("proposed partial execution: {}", names(categories))
        }
        Proposal::Review { reasons } => format!("review: {} reason(s)", reasons.len()),
        Proposal::Blocked { reasons } => format!("not decided: {} precondition(s)", reasons.len()),
    }
}
