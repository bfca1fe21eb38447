//! Preservation holds: extending one within the agreement's limits (rule 10).

use super::agreement::Agreement;
use super::checks::result;
use super::rule::{RuleId, RuleResult, Verdict};
use crate::document::Extension;
use crate::ids::{RequestId, UnixTime};

const DAY: u64 = 86_400;

/// The state of a preservation hold, as the requested node records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    /// The preservation request that placed it.
    pub request_id: RequestId,
    /// When it ends unless extended.
    pub expires_at: UnixTime,
    /// Extensions granted so far.
    pub extensions_used: u32,
}

/// The outcome of an extension request: the rule result, and the new hold if granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionOutcome {
    /// Rule R10's result for the extension.
    pub result: RuleResult,
    /// The extended hold, when the extension is granted.
    pub hold: Option<Hold>,
}

/// Evaluates an extension of `hold`, received at `received_at`. An extension may not revive
/// an expired hold, exceed the agreement's number of extensions, or run longer than one
/// extension period.
pub fn extend(
    agreement: &Agreement,
    hold: &Hold,
    extension: &Extension,
    received_at: UnixTime,
) -> ExtensionOutcome {
    let p = &agreement.preservation;
    let refuse = |why: String| ExtensionOutcome {
        result: result(RuleId::Preservation, Verdict::Fail, why),
        hold: None,
    };
    if extension.preservation_ref != hold.request_id {
        return refuse(format!(
            "the extension names preservation request {}, not {}",
            extension.preservation_ref, hold.request_id
        ));
    }
    if received_at > hold.expires_at {
        return refuse(format!(
            "the hold expired at {}; an expired hold cannot be extended, request preservation \
             again",
            hold.expires_at
        ));
    }
    if hold.extensions_used >= p.max_extensions {
        return refuse(format!(
            "the agreement allows {} extension(s) and {} granted; the hold ends at {} unless a \
             production request follows",
            p.max_extensions, hold.extensions_used, hold.expires_at
        ));
    }
    if extension.extend_by_days == 0 || extension.extend_by_days > p.extension_days {
        return refuse(format!(
            "an extension runs 1 to {} days; {} asked for",
            p.extension_days, extension.extend_by_days
        ));
    }
    let expires_at = hold
        .expires_at
        .plus_secs(u64::from(extension.extend_by_days) * DAY);
    let used = hold.extensions_used + 1;
    ExtensionOutcome {
        result: result(
            RuleId::Preservation,
            Verdict::Pass,
            format!(
                "extension {used} of {} granted: the hold now ends at {expires_at}",
                p.max_extensions
            ),
        ),
        hold: Some(Hold {
            request_id: hold.request_id,
            expires_at,
            extensions_used: used,
        }),
    }
}
