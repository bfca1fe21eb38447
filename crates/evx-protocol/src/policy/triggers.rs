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
use crate::document::Selector;

/// The longest intake note quoted in a trace.
const NOTE_MAX_CHARS: usize = 200;

fn flagged(c: &Ctx<'_>, concern: Concern) -> Option<String> {
    let notes: Vec<String> = c
        .intake
        .flags
        .iter()
        .filter(|f| f.concern == concern)
        .map(|f| {
            let note: String = f.note.chars().take(NOTE_MAX_CHARS).collect();
            let note = note.replace(['\n', '\r'], " ");
            if note.trim().is_empty() {
                "no note given".to_owned()
            } else {
                note
            }
        })
        .collect();
    (!notes.is_empty()).then(|| format!("flagged at intake: {}", notes.join(" / ")))
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
    if c.agreement
        .sensitive_offences
        .political
        .iter()
        .any(|p| p.eq_ignore_ascii_case(code))
    {
        return review(
            rule,
            format!("offence `{code}` is on the agreement's list of political offences"),
        );
    }
    if c.agreement.offence(code).is_none() {
        return review(
            rule,
            format!(
                "offence `{code}` is not in the agreement's table: a person must check that it is \
                 not a political or connected offence"
            ),
        );
    }
    on_flag(c, rule, Concern::PoliticalOffence)
}

/// T03: the list of other sensitive offences.
pub(super) fn sensitive(c: &Ctx<'_>) -> RuleResult {
    let rule = RuleId::SensitiveOffence;
    let code = &c.request.offence.code;
    if c.agreement
        .sensitive_offences
        .other
        .iter()
        .any(|o| o.eq_ignore_ascii_case(code))
    {
        return review(
            rule,
            format!("offence `{code}` is on the agreement's list of sensitive offences"),
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
        .filter(|(_, s)| c.intake.privileged.iter().any(|p| same_target(p, s)))
        .map(|(i, _)| i.to_string())
        .collect();
    if !hits.is_empty() {
        return review(
            rule,
            format!(
                "selector(s) {} are on the privileged-persons list (lawyers, press)",
                hits.join(", ")
            ),
        );
    }
    on_flag(c, rule, Concern::Privilege)
}

/// Whether a selector names the same target as an entry of the privileged list. Host names and
/// e-mail addresses are compared without regard to ASCII case or a trailing dot, account and
/// device names without regard to case, and an IP address whatever its port and time: a
/// request must not escape the list by writing a listed target differently. Erring towards a
/// match only sends the request to a reviewer.
fn same_target(listed: &Selector, asked: &Selector) -> bool {
    fn host(s: &str) -> String {
        s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase()
    }
    match (listed, asked) {
        (Selector::Email(a), Selector::Email(b)) => {
            match (a.rsplit_once('@'), b.rsplit_once('@')) {
                (Some((la, da)), Some((lb, db))) => {
                    la.eq_ignore_ascii_case(lb) && host(da) == host(db)
                }
                _ => a.eq_ignore_ascii_case(b),
            }
        }
        (Selector::Domain(a), Selector::Domain(b)) => host(a) == host(b),
        (
            Selector::Account {
                service: sa,
                account: aa,
            },
            Selector::Account {
                service: sb,
                account: ab,
            },
        ) => host(sa) == host(sb) && aa.eq_ignore_ascii_case(ab),
        (Selector::Device(a), Selector::Device(b)) => a.eq_ignore_ascii_case(b),
        (Selector::IpAddress { address: a, .. }, Selector::IpAddress { address: b, .. }) => a == b,
        _ => listed == asked,
    }
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
