//! The human-review triggers of legal reference §4.
//!
//! A trigger never refuses anything: it sends the request to a reviewer, with the reason, and
//! keeps any preservation running. Most triggers fire on a [`Concern`] raised at intake (a
//! person or a register lookup saw it); the political and sensitive offence lists, declared
//! privileges, the privileged-identifier list and the proportionality margin are checked by
//! the engine itself.

use super::checks::{range_days, result};
use super::engine::Ctx;
use super::intake::Concern;
use super::rule::{RuleId, RuleResult, Verdict};

/// The longest intake note quoted in a trace, in characters.
const NOTE_MAX_CHARS: usize = 200;
/// The most notes quoted per concern.
const MAX_NOTES: usize = 8;

/// A note as it may appear in a trace: one line, no control or line-separator characters,
/// bounded. Notes are shown to auditors, so they must not carry selector values (see
/// [`super::ReviewFlag::note`]); the bound limits what a careless note can hold.
fn sanitise(note: &str) -> String {
    let one_line: String = note
        .chars()
        .map(|c| {
            if c.is_control() || invisible(c) {
                ' '
            } else {
                c
            }
        })
        .take(NOTE_MAX_CHARS)
        .collect();
    let trimmed = one_line.trim();
    if trimmed.is_empty() {
        "no note given".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Line separators and the invisible formatting characters (bidirectional overrides and
/// isolates, zero-width characters, the byte-order mark) that could make a note display
/// differently from what it says.
pub(super) fn invisible(c: char) -> bool {
    matches!(c,
        '\u{85}' | '\u{2028}' | '\u{2029}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

fn flagged(c: &Ctx<'_>, concern: Concern) -> Option<String> {
    let notes: Vec<String> = c
        .intake
        .flags
        .iter()
        .filter(|f| f.concern == concern)
        .map(|f| sanitise(&f.note))
        .collect();
    let mut s = notes
        .iter()
        .take(MAX_NOTES)
        .cloned()
        .collect::<Vec<_>>()
        .join(" / ");
    if notes.len() > MAX_NOTES {
        s.push_str(&format!(" / and {} more", notes.len() - MAX_NOTES));
    }
    (!notes.is_empty()).then(|| format!("flagged at intake: {s}"))
}

fn review(rule: RuleId, why: String) -> RuleResult {
    result(rule, Verdict::NeedsReview, why)
}

fn clear(rule: RuleId, what: &str) -> RuleResult {
    result(rule, Verdict::Pass, what.to_owned())
}

/// A trigger that fires only on an intake flag.
pub(super) fn on_flag(c: &Ctx<'_>, rule: RuleId, concern: Concern) -> RuleResult {
    match flagged(c, concern) {
        Some(why) => review(rule, why),
        None => clear(rule, "nothing flagged at intake"),
    }
}

/// T02: the political list, or a flag.
pub(super) fn political(c: &Ctx<'_>) -> RuleResult {
    let rule = RuleId::PoliticalOffence;
    let code = &c.request.offence.code;
    if let Some(listed) = c
        .agreement
        .sensitive_offences
        .political
        .iter()
        .find(|p| p.eq_ignore_ascii_case(code))
    {
        return review(
            rule,
            format!("offence `{listed}` is on the agreement's list of political offences"),
        );
    }
    if c.agreement.offence(code).is_none() {
        return review(
            rule,
            "the offence code is not in the agreement's table: a person must check that it is \
             not a political or connected offence"
                .to_owned(),
        );
    }
    on_flag(c, rule, Concern::PoliticalOffence)
}

/// T03: the list of other sensitive offences.
pub(super) fn sensitive(c: &Ctx<'_>) -> RuleResult {
    let rule = RuleId::SensitiveOffence;
    let code = &c.request.offence.code;
    if let Some(listed) = c
        .agreement
        .sensitive_offences
        .other
        .iter()
        .find(|o| o.eq_ignore_ascii_case(code))
    {
        return review(
            rule,
            format!("offence `{listed}` is on the agreement's list of sensitive offences"),
        );
    }
    clear(rule, "the offence is on no sensitive list")
}

/// T06: declared status, the privileged list, or a flag.
pub(super) fn privilege(c: &Ctx<'_>) -> RuleResult {
    let rule = RuleId::Privilege;
    if !c.request.protected_status.is_empty() {
        let v: Vec<String> = c
            .request
            .protected_status
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        return review(
            rule,
            format!("the issuer declares the person protected: {}", v.join(", ")),
        );
    }
    let hits: Vec<String> = c
        .request
        .selectors
        .iter()
        .enumerate()
        .filter(|(_, s)| c.intake.privileged.matches(s))
        .map(|(i, _)| i.to_string())
        .collect();
    if !hits.is_empty() {
        return review(
            rule,
            format!(
                "selector(s) {} are on the privileged-persons list (lawyers, press)",
                super::checks::capped(&hits, ", ")
            ),
        );
    }
    on_flag(c, rule, Concern::Privilege)
}

/// T08: a request close to the rule-7 limits.
pub(super) fn proportionality(c: &Ctx<'_>) -> RuleResult {
    let rule = RuleId::Proportionality;
    let l = &c.agreement.selectors;
    let pct = u64::from(l.review_above_percent);
    if pct >= 100 {
        return result(
            rule,
            Verdict::NotApplicable,
            "margin review turned off".into(),
        );
    }
    let n = c.request.selectors.len() as u64;
    let max_days =
        if c.request.request_type == super::super::document::RequestType::RealTimeCollection {
            l.max_real_time_days
        } else {
            l.max_time_range_days
        };
    let days = range_days(c);
    let mut near = Vec::new();
    if n * 100 > u64::from(l.max_count) * pct {
        near.push(format!("{n} of at most {} selectors", l.max_count));
    }
    if days * 100 > u64::from(max_days) * pct {
        near.push(format!("{days} of at most {max_days} days"));
    }
    if near.is_empty() {
        return clear(rule, "well within the agreement's limits");
    }
    review(
        rule,
        format!(
            "above {pct}% of a limit ({}): a reviewer weighs necessity and proportionality",
            near.join("; ")
        ),
    )
}
