//! The rules of legal reference §6 (1–17) and the "→" items of §5, one function each.
//!
//! Each function reads the [`Ctx`] and returns one [`RuleResult`]; none has side effects, so
//! the order of evaluation cannot change an outcome. Explanations name fields and selector
//! positions, never selector values: a trace may be shown to people who must not learn who is
//! targeted.

use super::agreement::{
    AutomatedDecisions, OnwardTransferRule, Oversight, Party, Remedy, SensitiveData,
};
use super::engine::Ctx;
use super::rule::{RuleId, RuleResult, Verdict};
use super::selector::{self, SelectorCheck};
use crate::document::{
    AuthorityType, DataCategory, Instrument, MissingField, Proceeding, RequestType,
};
use crate::purpose::{OnwardTransfer, Purpose};

const DAY: u64 = 86_400;
/// How far a request's issue time may lie ahead of the receiving node's clock.
const CLOCK_SKEW_SECS: u64 = 300;

pub(super) fn result(rule: RuleId, verdict: Verdict, explanation: String) -> RuleResult {
    RuleResult {
        rule,
        verdict,
        explanation,
        missing: Vec::new(),
        categories: Vec::new(),
    }
}

fn pass(rule: RuleId, e: impl Into<String>) -> RuleResult {
    result(rule, Verdict::Pass, e.into())
}

fn fail(rule: RuleId, e: impl Into<String>) -> RuleResult {
    result(rule, Verdict::Fail, e.into())
}

fn fail_for(rule: RuleId, e: String, categories: Vec<DataCategory>) -> RuleResult {
    RuleResult {
        categories,
        ..fail(rule, e)
    }
}

fn not_applicable(rule: RuleId, e: impl Into<String>) -> RuleResult {
    result(rule, Verdict::NotApplicable, e.into())
}

/// The most entries a result lists; the rest are counted. A hostile request with thousands
/// of bad selectors must not inflate the trace, or the decision beyond what can be signed.
pub(super) const MAX_LISTED: usize = 16;

/// Joins at most [`MAX_LISTED`] items, then says how many more there are.
pub(super) fn capped(items: &[String], sep: &str) -> String {
    let mut s = items
        .iter()
        .take(MAX_LISTED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(sep);
    if items.len() > MAX_LISTED {
        s.push_str(&format!("{sep}and {} more", items.len() - MAX_LISTED));
    }
    s
}

fn incomplete(rule: RuleId, mut missing: Vec<MissingField>) -> RuleResult {
    let total = missing.len();
    if total > MAX_LISTED {
        missing.truncate(MAX_LISTED);
        missing.push(field(
            "…",
            format!(
                "{} more field(s) of the same kind; correct those listed and the rest before \
                 sending again",
                total - MAX_LISTED
            ),
        ));
    }
    let mut fields: Vec<&str> = missing
        .iter()
        .take(MAX_LISTED)
        .map(|m| m.field.as_str())
        .collect();
    fields.dedup();
    let mut listed = fields.join(", ");
    if total > MAX_LISTED {
        listed.push_str(&format!(", and {} more", total - MAX_LISTED));
    }
    RuleResult {
        missing,
        ..fail(
            rule,
            format!("{total} field(s) to supply or correct: {listed}"),
        )
    }
}

fn field(name: impl Into<String>, explanation: impl Into<String>) -> MissingField {
    MissingField {
        field: name.into(),
        explanation: explanation.into(),
    }
}

/// Authority types as the agreement spells them, comma-separated.
fn authority_names(types: &[AuthorityType]) -> String {
    if types.is_empty() {
        return "none".to_owned();
    }
    let v: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    v.join(", ")
}

pub(super) fn names(categories: &[DataCategory]) -> String {
    let v: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
    v.join(", ")
}

fn instrument_name(i: Instrument) -> &'static str {
    match i {
        Instrument::Budapest => "the Budapest Convention",
        Instrument::BudapestSecondProtocol => "the Second Additional Protocol (CETS 224)",
        Instrument::EuEEvidence => "Reg. (EU) 2023/1543",
        Instrument::UnCybercrime => "the UN Convention against Cybercrime",
        Instrument::CloudActAgreement => "a CLOUD Act agreement",
    }
}

/// Whether an instrument provides for a request type (legal reference §2).
fn provides(instrument: Instrument, t: RequestType) -> bool {
    use RequestType as T;
    match instrument {
        Instrument::Budapest | Instrument::UnCybercrime => true,
        Instrument::BudapestSecondProtocol => {
            matches!(t, T::Production | T::EmergencyDisclosure)
        }
        Instrument::EuEEvidence => {
            matches!(t, T::Preservation | T::Production | T::EmergencyDisclosure)
        }
        Instrument::CloudActAgreement => !matches!(t, T::PreservedTrafficDisclosure),
    }
}

/// Whether an instrument provides for a data category in a request type: disclosure of
/// preserved traffic data is of traffic data only (Budapest Art. 30); the Second Protocol's
/// direct and give-effect orders reach subscriber and traffic data, not content (CETS 224
/// Arts 7–8).
fn provides_category(instrument: Instrument, t: RequestType, category: DataCategory) -> bool {
    match (instrument, t) {
        (_, RequestType::PreservedTrafficDisclosure) => category == DataCategory::Traffic,
        (Instrument::BudapestSecondProtocol, RequestType::Production) => {
            category != DataCategory::Content
        }
        _ => true,
    }
}

/// Rule 1.
pub(super) fn instrument(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Instrument;
    let r = c.request;
    for (who, party) in [
        (&r.requesting_party, c.requesting),
        (&r.requested_party, c.requested),
    ] {
        if party.is_none() {
            return fail(
                id,
                format!("party {who} is not a party to agreement {}", c.agreement.id),
            );
        }
    }
    if r.requesting_party == r.requested_party {
        return fail(
            id,
            "the requesting and requested parties are the same party",
        );
    }
    if !c.agreement.instruments.contains(&r.instrument) {
        return fail(
            id,
            format!(
                "{} is not in force between the parties under agreement {}",
                instrument_name(r.instrument),
                c.agreement.id
            ),
        );
    }
    if !provides(r.instrument, r.request_type) {
        return fail(
            id,
            format!(
                "{} provides no {} request",
                instrument_name(r.instrument),
                request_type_name(r.request_type)
            ),
        );
    }
    let outside: Vec<DataCategory> = c
        .categories
        .iter()
        .copied()
        .filter(|&cat| !provides_category(r.instrument, r.request_type, cat))
        .collect();
    if !outside.is_empty() {
        return fail_for(
            id,
            format!(
                "a {} request under {} does not reach {} data",
                request_type_name(r.request_type),
                instrument_name(r.instrument),
                names(&outside)
            ),
            outside,
        );
    }
    pass(
        id,
        format!(
            "{} request under {}, in force under agreement {}",
            request_type_name(r.request_type),
            instrument_name(r.instrument),
            c.agreement.id
        ),
    )
}

pub(super) fn request_type_name(t: RequestType) -> &'static str {
    match t {
        RequestType::Preservation => "preservation",
        RequestType::PreservedTrafficDisclosure => "preserved-traffic disclosure",
        RequestType::Production => "production",
        RequestType::EmergencyDisclosure => "emergency disclosure",
        RequestType::RealTimeCollection => "real-time collection",
    }
}

/// Rule 2.
pub(super) fn criminal_scope(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::CriminalScope;
    let what = match c.request.proceeding {
        Proceeding::Criminal => {
            return pass(
                id,
                format!("criminal proceeding, case {}", c.request.case_id),
            );
        }
        Proceeding::Civil => "civil proceedings",
        Proceeding::Administrative => "administrative proceedings",
        Proceeding::Prevention => "prevention without a criminal investigation",
    };
    fail(
        id,
        format!("{what} are out of scope: only a specific criminal investigation or proceeding"),
    )
}

/// How an issuer may order one category.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Competence {
    /// The issuer alone.
    Alone,
    /// Through a verified judicial validation.
    Validated,
    /// Only as an emergency, pending validation.
    PendingValidation,
    /// Not at all.
    None,
}

pub(super) fn competence(c: &Ctx<'_>, cat: DataCategory) -> Competence {
    let issuer = c.request.issuer.authority_type;
    if c.request.request_type == RequestType::Preservation {
        if c.agreement.preservation.issuers.contains(&issuer) {
            return Competence::Alone;
        }
        if c.emergency
            && c.agreement.emergency.allowed
            && c.agreement.emergency.unvalidated_preservation
        {
            return Competence::PendingValidation;
        }
    }
    let rule = c.agreement.categories.rule(cat);
    if rule.issuers.contains(&issuer) {
        Competence::Alone
    } else if c.validators.iter().any(|v| rule.validators.contains(v)) {
        Competence::Validated
    } else if c.emergency
        && c.agreement.emergency.allowed
        && c.agreement.emergency.unvalidated_categories.contains(&cat)
    {
        Competence::PendingValidation
    } else {
        Competence::None
    }
}

/// Rule 3.
pub(super) fn issuer(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Issuer;
    let mut refused = Vec::new();
    let mut pending = Vec::new();
    for &cat in &c.categories {
        match competence(c, cat) {
            Competence::Alone | Competence::Validated => {}
            Competence::PendingValidation => pending.push(cat),
            Competence::None => refused.push(cat),
        }
    }
    let issuer = c.request.issuer.authority_type.as_str();
    if !refused.is_empty() {
        let allowed = refused
            .iter()
            .map(|&cat| {
                let rule = c.agreement.categories.rule(cat);
                format!(
                    "{}: issuers {}; validators {}",
                    cat.as_str(),
                    authority_names(&rule.issuers),
                    authority_names(&rule.validators)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return fail_for(
            id,
            format!(
                "issuer type {issuer} may not order {} without a verified judicial validation \
                 ({allowed})",
                names(&refused)
            ),
            refused,
        );
    }
    if !pending.is_empty() {
        return pass(
            id,
            format!(
                "issuer type {issuer} may order {} in an emergency, subject to validation",
                names(&pending)
            ),
        );
    }
    let how = if c.validators.is_empty() {
        "alone".to_owned()
    } else {
        format!("with validation by {}", authority_names(&c.validators))
    };
    pass(
        id,
        format!(
            "issuer type {issuer} may order {} {how}",
            names(&c.categories)
        ),
    )
}

/// Rule 3 / issue item 6: judicial validations attached to the request.
pub(super) fn validation(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Validation;
    if c.validation_errors.is_empty() && c.validators.is_empty() {
        return not_applicable(id, "no judicial validation attached");
    }
    if !c.validation_errors.is_empty() {
        return fail(id, c.validation_errors.join("; "));
    }
    pass(
        id,
        format!(
            "{} validation(s) verified against the registry, bound to this request",
            c.validations_verified
        ),
    )
}

/// Rule 4.
pub(super) fn penalty(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Penalty;
    if c.request.request_type == RequestType::Preservation {
        return not_applicable(
            id,
            "penalty thresholds apply to production, not preservation",
        );
    }
    let o = &c.request.offence;
    let entry = c.agreement.offence(&o.code);
    let mut below = Vec::new();
    let mut notes = Vec::new();
    for &cat in &c.categories {
        let rule = c.agreement.categories.rule(cat);
        if rule
            .penalty_comparison
            .meets(o.max_penalty_months, rule.min_max_penalty_months)
        {
            continue;
        }
        if rule.ict_listed_exempt && o.committed_via_ict && entry.is_some_and(|e| e.ict_listed) {
            notes.push(format!(
                "{}: listed offence committed by means of an information system",
                cat.as_str()
            ));
            continue;
        }
        below.push((cat, rule.penalty_comparison, rule.min_max_penalty_months));
    }
    if !below.is_empty() {
        let detail = below
            .iter()
            .map(|(cat, cmp, min)| format!("{} needs {} {min}", cat.as_str(), cmp.words()))
            .collect::<Vec<_>>()
            .join(", ");
        return fail_for(
            id,
            format!(
                "maximum penalty {} months is below the threshold: {detail}",
                o.max_penalty_months
            ),
            below.into_iter().map(|(cat, ..)| cat).collect(),
        );
    }
    let mut e = format!(
        "maximum penalty {} months meets every category's threshold",
        o.max_penalty_months
    );
    if !notes.is_empty() {
        e = format!("{e} ({})", notes.join("; "));
    }
    pass(id, e)
}

/// Rule 5.
pub(super) fn dual_criminality(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::DualCriminality;
    let dc = &c.agreement.dual_criminality;
    let preservation = matches!(
        c.request.request_type,
        RequestType::Preservation | RequestType::PreservedTrafficDisclosure
    );
    if preservation && !dc.required_for_preservation {
        return not_applicable(
            id,
            "not required for preservation or disclosure of preserved traffic data (Budapest \
             Arts 29(3), 30(2)); no Art. 29(4) reservation",
        );
    }
    let concerned: Vec<DataCategory> = c
        .categories
        .iter()
        .copied()
        .filter(|cat| dc.required_for.contains(cat))
        .collect();
    if concerned.is_empty() {
        return not_applicable(id, format!("not required for {}", names(&c.categories)));
    }
    let o = &c.request.offence;
    match c.agreement.offence(&o.code) {
        Some(e) if e.criminal_in_both => pass(
            id,
            format!("`{}` ({}) is criminal in both parties", e.code, e.conduct),
        ),
        Some(e) if e.listed && o.max_penalty_months >= dc.listed_min_penalty_months => pass(
            id,
            format!(
                "`{}` is a listed category with a maximum penalty of at least {} months: \
                 dual criminality is not verified (Reg. (EU) 2023/1543 Art. 12(1)(d))",
                e.code, dc.listed_min_penalty_months
            ),
        ),
        Some(e) => fail_for(
            id,
            format!(
                "the agreement records `{}` ({}) as not criminal in the requested party",
                e.code, e.conduct
            ),
            concerned,
        ),
        None => fail_for(
            id,
            format!(
                "the offence code ({} bytes) is not in the agreement's dual-criminality table; \
                 the requested party cannot establish that the conduct is criminal in both",
                o.code.len()
            ),
            concerned,
        ),
    }
}

/// The form of an offence code — the loader requires the same of the agreement's table — bounded
/// so that a code can never carry a free-text payload.
fn offence_code_form(code: &str) -> bool {
    (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_graphic())
}

/// Rule 6.
pub(super) fn required_fields(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::RequiredFields;
    let r = c.request;
    let mut missing = Vec::new();
    let mut need = |ok: bool, name: &str, what: &str| {
        if !ok {
            missing.push(field(name, what));
        }
    };
    let filled = |s: &str| !s.trim().is_empty();
    need(
        filled(&r.issuer.authority),
        "issuer.authority",
        "the issuing authority's name",
    );
    need(
        filled(&r.issuer.file_number),
        "issuer.file_number",
        "the issuing authority's file number",
    );
    need(
        filled(&r.issuer.contact),
        "issuer.contact",
        "how to reach the issuing authority about the request",
    );
    need(
        offence_code_form(&r.offence.code),
        "offence.code",
        "the offence code of the agreement's table: 1 to 64 printable ASCII characters, no spaces",
    );
    need(
        filled(&r.offence.statute),
        "offence.statute",
        "the criminal provision in the issuing state",
    );
    need(
        r.request_type == RequestType::Preservation || r.offence.max_penalty_months > 0,
        "offence.max_penalty_months",
        "the maximum custodial sentence, which decides the thresholds",
    );
    need(
        r.facts.trim().chars().count() >= 20,
        "facts",
        "a summary of the facts and of why the data are necessary and proportionate",
    );
    need(
        !r.categories.is_empty(),
        "categories",
        "at least one data category",
    );
    let mut sorted = r.categories.clone();
    sorted.sort_unstable();
    sorted.dedup();
    need(
        sorted.len() == r.categories.len(),
        "categories",
        "each category once",
    );
    need(
        !r.selectors.is_empty(),
        "selectors",
        "at least one particular target",
    );
    if let OnwardTransfer::AuthorisedTo(to) = &r.onward_transfer {
        let mut distinct: Vec<&str> = to.iter().map(|p| p.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        need(
            to.len() <= MAX_LISTED && distinct.len() == to.len(),
            "onward_transfer",
            "at most 16 recipients, each named once",
        );
    }
    need(
        r.time_range.from <= r.time_range.to,
        "time_range",
        "a range whose start is not after its end",
    );
    let now = c.received_at;
    need(
        r.issued_at <= now.plus_secs(CLOCK_SKEW_SECS),
        "issued_at",
        "an issue time that is not in the future",
    );
    if r.request_type != RequestType::RealTimeCollection {
        need(
            r.time_range.to <= now.plus_secs(DAY),
            "time_range.to",
            "an end no later than the time of receipt (one day's tolerance for time zones): \
             stored data cannot come from the future",
        );
    } else {
        need(
            r.time_range.to > r.time_range.from,
            "time_range",
            "a collection window of some length",
        );
        need(
            r.time_range.from.plus_secs(CLOCK_SKEW_SECS) >= now,
            "time_range.from",
            "a collection window that starts no earlier than receipt: past data are stored data, \
             asked for by a production request",
        );
    }
    if r.request_type == RequestType::PreservedTrafficDisclosure {
        need(
            r.preservation_ref.is_some(),
            "preservation_ref",
            "the preservation request whose traffic data is to be disclosed (Budapest Art. 30)",
        );
    }
    if missing.is_empty() {
        pass(
            id,
            format!(
                "every field a {} request requires is present",
                request_type_name(r.request_type)
            ),
        )
    } else {
        incomplete(id, missing)
    }
}

/// Rule 7: form of each selector.
pub(super) fn selector_form(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::SelectorForm;
    let missing: Vec<MissingField> = c
        .request
        .selectors
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match selector::check(s, &c.request.time_range) {
            SelectorCheck::Malformed(why) => Some(field(
                format!("selectors[{i}]"),
                format!("{}: {why}", selector::kind(s)),
            )),
            SelectorCheck::Particular | SelectorCheck::Bulk(_) => None,
        })
        .collect();
    if missing.is_empty() {
        pass(
            id,
            format!(
                "{} selector(s), each well-formed",
                c.request.selectors.len()
            ),
        )
    } else {
        incomplete(id, missing)
    }
}

/// Rule 7: particularity.
pub(super) fn particularity(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Particularity;
    let bulk: Vec<String> = c
        .request
        .selectors
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match selector::check(s, &c.request.time_range) {
            SelectorCheck::Bulk(why) => {
                Some(format!("selector {i} ({}): {why}", selector::kind(s)))
            }
            SelectorCheck::Particular | SelectorCheck::Malformed(_) => None,
        })
        .collect();
    if bulk.is_empty() {
        pass(id, "every selector names one particular target")
    } else {
        fail(
            id,
            format!("bulk collection is out of scope: {}", capped(&bulk, "; ")),
        )
    }
}

/// The request's time range in whole days, rounded up.
pub(super) fn range_days(c: &Ctx<'_>) -> u64 {
    let r = &c.request.time_range;
    r.to.0.saturating_sub(r.from.0).div_ceil(DAY)
}

/// Rule 7: limits.
pub(super) fn selector_limits(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::SelectorLimits;
    let l = &c.agreement.selectors;
    let n = c.request.selectors.len();
    let days = range_days(c);
    let mut over = Vec::new();
    if n > l.max_count as usize {
        over.push(format!("{n} selectors, at most {} allowed", l.max_count));
    }
    let real_time = c.request.request_type == RequestType::RealTimeCollection;
    let max_days = if real_time {
        l.max_real_time_days
    } else {
        l.max_time_range_days
    };
    if days > u64::from(max_days) {
        let what = if real_time {
            "a real-time window"
        } else {
            "a time range"
        };
        over.push(format!("{what} of {days} days, at most {max_days} allowed"));
    }
    if real_time {
        let end_by = c
            .received_at
            .plus_secs(u64::from(l.max_real_time_days) * DAY);
        if c.request.time_range.to > end_by {
            over.push(format!(
                "real-time collection must end by {end_by}, {} days after receipt",
                l.max_real_time_days
            ));
        }
    }
    if over.is_empty() {
        pass(
            id,
            format!(
                "{n} of at most {} selectors; {days} of at most {max_days} days",
                l.max_count
            ),
        )
    } else {
        fail(id, format!("too broad: {}", over.join("; ")))
    }
}

/// Rule 8.
pub(super) fn purpose(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Purpose;
    let p = c.request.purpose;
    if c.agreement.purposes.contains(&p) {
        return pass(
            id,
            format!("purpose {p}, bound to case {}", c.request.case_id),
        );
    }
    let allowed: Vec<&str> = c.agreement.purposes.iter().map(|p| p.as_str()).collect();
    let why = if p == Purpose::AssetRecovery {
        "asset recovery is not allowed under this agreement".to_owned()
    } else {
        format!("purpose {p} is not allowed under this agreement")
    };
    fail(id, format!("{why}; allowed: {}", allowed.join(", ")))
}

/// Rule 9.
pub(super) fn onward_transfer(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::OnwardTransfer;
    let OnwardTransfer::AuthorisedTo(recipients) = &c.request.onward_transfer else {
        return pass(
            id,
            "no onward transfer without the requested party's prior authorisation",
        );
    };
    if recipients.is_empty() {
        return pass(id, "no onward transfer asked for");
    }
    let prohibited = [c.requesting, c.requested]
        .into_iter()
        .flatten()
        .any(|p| p.data_protection.onward_transfer == OnwardTransferRule::Prohibited);
    let unlisted: Vec<String> = recipients
        .iter()
        .filter(|r| !c.agreement.transfers.preauthorised_onward.contains(r))
        .map(ToString::to_string)
        .collect();
    if prohibited {
        return result(
            id,
            Verdict::NeedsReview,
            "onward transfer is asked for, but a party's profile prohibits it".into(),
        );
    }
    if unlisted.is_empty() {
        return pass(
            id,
            "onward transfer only to recipients the agreement pre-authorises",
        );
    }
    result(
        id,
        Verdict::NeedsReview,
        format!(
            "onward transfer to {} is asked for in advance: only a reviewer may authorise it",
            capped(&unlisted, ", ")
        ),
    )
}

/// Rule 10 for a request: the preservation period it starts.
pub(super) fn preservation(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Preservation;
    let p = &c.agreement.preservation;
    match (c.request.request_type, c.request.preservation_ref) {
        (RequestType::Preservation, _) => pass(
            id,
            format!(
                "hold for {} days, until {}; up to {} extension(s) of {} days",
                p.initial_days,
                c.received_at.plus_secs(u64::from(p.initial_days) * DAY),
                p.max_extensions,
                p.extension_days
            ),
        ),
        (_, Some(reference)) => pass(
            id,
            format!("follows preservation request {reference}: its hold stays until production"),
        ),
        (_, None) => not_applicable(id, "no preservation involved"),
    }
}

/// Whether the enforcing authority must be notified (rule 11).
pub(super) fn needs_notification(c: &Ctx<'_>) -> Option<Vec<DataCategory>> {
    let notifiable: Vec<DataCategory> = c
        .categories
        .iter()
        .copied()
        .filter(|&cat| c.agreement.categories.rule(cat).notify_enforcing_authority)
        .collect();
    if notifiable.is_empty() || c.request.request_type == RequestType::Preservation {
        return None;
    }
    let t = &c.request.territory;
    let local = t.offence_in_issuing_state && t.person_resides_in_issuing_state == Some(true);
    (!local).then_some(notifiable)
}

/// Rule 11.
pub(super) fn notification(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Notification;
    let Some(cats) = needs_notification(c) else {
        if c.request.request_type == RequestType::Preservation {
            return not_applicable(id, "preservation orders are not notified");
        }
        let notifiable = c
            .categories
            .iter()
            .any(|&cat| c.agreement.categories.rule(cat).notify_enforcing_authority);
        if !notifiable {
            return not_applicable(id, "no category that requires notification");
        }
        return pass(
            id,
            "no notification needed: offence in the issuing state, person resides there \
             (Reg. (EU) 2023/1543 Art. 8(2))",
        );
    };
    match c.request.notification_ref.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => pass(
            id,
            format!("enforcing authority notified for {}", names(&cats)),
        ),
        _ => RuleResult {
            categories: cats.clone(),
            ..incomplete(
                id,
                vec![field(
                    "notification_ref",
                    format!(
                        "the reference of the notification to the enforcing authority, required for \
                     {} unless the offence was committed in the issuing state and the person \
                     lives there",
                        names(&cats)
                    ),
                )],
            )
        },
    }
}

/// Rule 12: justification.
pub(super) fn emergency_justified(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::EmergencyJustified;
    if !c.emergency {
        return not_applicable(id, "not an emergency");
    }
    let min = c.agreement.emergency.min_justification_chars as usize;
    let text = c
        .request
        .emergency
        .as_ref()
        .map_or("", |e| e.justification.trim());
    if text.chars().count() >= min.max(1) {
        return pass(id, "the imminent risk to life or safety is stated");
    }
    incomplete(
        id,
        vec![field(
            "emergency.justification",
            format!(
                "the significant and imminent risk to a person's life or safety, in at least {min} \
                 characters"
            ),
        )],
    )
}

/// Rule 12: what an emergency may ask for before validation.
pub(super) fn emergency_scope(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::EmergencyScope;
    if !c.emergency {
        return not_applicable(id, "not an emergency");
    }
    let e = &c.agreement.emergency;
    if !e.allowed {
        return fail(id, "the agreement provides no emergency procedure");
    }
    let relies_on_relief = c.categories.iter().any(|&cat| {
        !matches!(
            competence(c, cat),
            Competence::Alone | Competence::Validated
        )
    });
    if !relies_on_relief {
        return pass(
            id,
            "emergency ordered or validated by a competent authority",
        );
    }
    let preservation =
        c.request.request_type == RequestType::Preservation && e.unvalidated_preservation;
    let beyond: Vec<DataCategory> = c
        .categories
        .iter()
        .copied()
        .filter(|&cat| {
            !preservation
                && !e.unvalidated_categories.contains(&cat)
                && !matches!(
                    competence(c, cat),
                    Competence::Alone | Competence::Validated
                )
        })
        .collect();
    if beyond.is_empty() {
        return pass(
            id,
            format!(
                "unvalidated emergency for {}: judicial validation due within {} hours",
                names(&c.categories),
                e.validation_due_hours
            ),
        );
    }
    fail_for(
        id,
        if e.unvalidated_categories.is_empty() {
            format!(
                "the agreement allows no category before validation{}; {} need a competent \
                 issuer or a judicial validation first",
                if e.unvalidated_preservation {
                    " (other than by a preservation request)"
                } else {
                    ""
                },
                names(&beyond)
            )
        } else {
            format!(
                "an unvalidated emergency may ask only for {}; {} need a judicial validation first",
                names(&e.unvalidated_categories),
                names(&beyond)
            )
        },
        beyond,
    )
}

/// Rule 13.
pub(super) fn channel(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Channel;
    if c.requesting.is_none() {
        return fail(
            id,
            format!(
                "{} is not a party to agreement {}: there is no one to answer",
                c.request.requesting_party, c.agreement.id
            ),
        );
    }
    if !c.intake.channel.mutual_tls || !c.intake.channel.encrypted {
        return fail(
            id,
            "not received over a mutually authenticated, encrypted connection",
        );
    }
    match c.registry.get(&c.intake.signer) {
        Some(k)
            if k.party == c.request.requesting_party
                && k.role == super::registry::KeyRole::Documents =>
        {
            pass(
                id,
                format!(
                    "mutual TLS; signed by document key {} of {}",
                    short(&c.intake.signer.to_hex()),
                    k.party
                ),
            )
        }
        Some(k) => fail(
            id,
            format!(
                "signed by key {} of {}, which is not a document key of {}",
                short(&c.intake.signer.to_hex()),
                k.party,
                c.request.requesting_party
            ),
        ),
        None => fail(
            id,
            format!(
                "signed by key {}, which the registry does not list",
                short(&c.intake.signer.to_hex())
            ),
        ),
    }
}

pub(super) fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}

/// Rule 14.
pub(super) fn confidentiality(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Confidentiality;
    if !c.request.confidentiality.confidential {
        return not_applicable(id, "no confidentiality asked for");
    }
    match c.requested {
        Some(p) if p.can_keep_confidential => pass(id, "the requested party keeps it confidential"),
        _ => incomplete(
            id,
            vec![field(
                "confidentiality.confidential",
                "CANNOT_KEEP_CONFIDENTIAL: the requested party cannot keep the request \
                 confidential; the requesting party decides whether it should be executed \
                 nevertheless (Budapest Art. 27(8)) and, if so, sends it again without \
                 confidentiality",
            )],
        ),
    }
}

/// Rule 15: suspension.
pub(super) fn suspension(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Suspension;
    let t = &c.agreement.transfers;
    if !t.suspended {
        return pass(id, "transfers are not suspended");
    }
    let reason = if t.suspension_reason.trim().is_empty() {
        "no reason recorded".to_owned()
    } else {
        t.suspension_reason.clone()
    };
    fail(
        id,
        format!("transfers under this agreement are suspended: {reason}"),
    )
}

/// The Art. 14 items a profile does not meet.
pub(super) fn profile_gaps(party: &Party) -> Vec<&'static str> {
    let p = &party.data_protection;
    let mut gaps = Vec::new();
    if p.sensitive_data == SensitiveData::Unrestricted {
        gaps.push("14(4) sensitive data without safeguards");
    }
    if p.breach_notification_hours.is_none() {
        gaps.push("14(7) no breach notification");
    }
    if p.automated_decisions == AutomatedDecisions::SolelyAutomated {
        gaps.push("14(6) solely automated adverse decisions");
    }
    if !p.access_records {
        gaps.push("14(8) no access records");
    }
    if p.onward_transfer == OnwardTransferRule::Unrestricted {
        gaps.push("14(10) onward transfer without prior authorisation");
    }
    if !p.data_subject_rights {
        gaps.push("14(11)-(12) no transparency or data-subject rights");
    }
    if !(p.remedies.contains(&Remedy::Judicial) && p.remedies.contains(&Remedy::NonJudicial)) {
        gaps.push("14(13) judicial and non-judicial remedies");
    }
    if p.oversight != Oversight::Independent {
        gaps.push("14(14) independent oversight");
    }
    gaps
}

/// Rule 15: the recipient's profile.
pub(super) fn data_protection(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::DataProtection;
    if let Some(umbrella) = &c.agreement.transfers.umbrella_agreement {
        return pass(
            id,
            format!("the {umbrella} binds both parties (CETS 224 Art. 14(1)(b))"),
        );
    }
    let Some(recipient) = c.requesting else {
        return fail(
            id,
            "the requesting party has no data-protection profile in the agreement",
        );
    };
    let gaps = profile_gaps(recipient);
    if gaps.is_empty() {
        pass(id, format!("{} meets every Art. 14 item", recipient.id))
    } else {
        fail(
            id,
            format!(
                "{}'s profile falls short: {}",
                recipient.id,
                gaps.join("; ")
            ),
        )
    }
}

/// The retention that applies: the stricter (shorter) of the two parties' limits.
pub(super) fn effective_retention(c: &Ctx<'_>) -> Option<u32> {
    [c.requesting, c.requested]
        .into_iter()
        .flatten()
        .filter_map(|p| p.data_protection.retention_days)
        .min()
}

/// §5, Art. 14(1) and (5).
pub(super) fn retention(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Retention;
    let days = |p: Option<&Party>| {
        p.and_then(|p| p.data_protection.retention_days)
            .map_or_else(|| "none".to_owned(), |d| format!("{d} days"))
    };
    match effective_retention(c) {
        Some(d) => pass(
            id,
            format!(
                "keep at most {d} days: the stricter of {} (requesting) and {} (requested)",
                days(c.requesting),
                days(c.requested)
            ),
        ),
        None => fail(
            id,
            "neither party sets a retention limit; Art. 14(5) requires one or a periodic review",
        ),
    }
}

/// Rule 16.
pub(super) fn audit(c: &Ctx<'_>) -> RuleResult {
    let id = RuleId::Audit;
    match c.intake.log_index {
        Some(i) => pass(id, format!("recorded as entry {i} of the audit log")),
        None => fail(
            id,
            "not recorded in the audit log: append request_received before evaluating",
        ),
    }
}

/// Rule 17: derived from the other results.
pub(super) fn partial_first(c: &Ctx<'_>, results: &[RuleResult]) -> RuleResult {
    let id = RuleId::PartialFirst;
    let failed: Vec<&RuleResult> = results
        .iter()
        .filter(|r| {
            r.verdict == Verdict::Fail && r.rule.class() == super::rule::RuleClass::Safeguard
        })
        .collect();
    if failed.is_empty() {
        return not_applicable(id, "no safeguard failed");
    }
    if failed.iter().any(|r| r.categories.is_empty()) {
        return not_applicable(
            id,
            "a safeguard failed for the whole request: no partial execution possible",
        );
    }
    let executable = executable_categories(&c.categories, results);
    if executable.is_empty() {
        return not_applicable(id, "every category fails a safeguard");
    }
    result(
        id,
        Verdict::NeedsReview,
        format!(
            "partial execution for {} is possible; a reviewer decides",
            names(&executable)
        ),
    )
}

/// Requested categories that no failed safeguard names.
pub(super) fn executable_categories(
    requested: &[DataCategory],
    results: &[RuleResult],
) -> Vec<DataCategory> {
    requested
        .iter()
        .copied()
        .filter(|cat| {
            !results.iter().any(|r| {
                r.verdict == Verdict::Fail
                    && r.rule.class() == super::rule::RuleClass::Safeguard
                    && r.categories.contains(cat)
            })
        })
        .collect()
}
