//! The policy engine: does a request meet the safeguards of the agreement it is made under?
//!
//! A requested party must be able to show that every request it answered met the safeguards
//! of the instrument — scope, seriousness, dual criminality, stricter rules for content than
//! for metadata, particular (never bulk) targets, purpose limitation, data protection and the
//! refusal grounds — and that no adverse decision rested on a machine alone. This module turns
//! the rules of the legal reference (§6 rules 1–17, the §5 checklist, the §4 review triggers)
//! into pure functions over the signed documents:
//!
//! ```text
//!  Agreement (TOML) ─┐
//!  Registry (keys) ──┼─► evaluate ─► Trace ─┬─► Trace::decision  (accept / incomplete /
//!  Intake (request,  ┘   every rule,        │                      automatic refusal /
//!   validations,         in order           │                      pending review)
//!   flags, log index)                       └─► finalize(ReviewDecision) ─► Decision
//! ```
//!
//! Every rule has a stable id and a legal source and returns pass, fail, needs-review or n/a
//! with a one-line explanation ([`RuleResult`]). The [`Trace`] keeps them all, with the
//! proposal, the conditions of use and the due dates; it encodes canonically and its digest is
//! what the decision and the audit log record. Nothing here reads a clock, a file or the
//! network: time arrives in the [`Intake`], the agreement as text, keys in the [`Registry`].
//! `docs/policy.md` is the table of rules and the configuration reference.

mod agreement;
mod checks;
mod decide;
mod engine;
pub mod examples;
mod hold;
mod intake;
mod privileged;
mod registry;
mod rule;
pub mod selector;
mod triggers;

pub use agreement::{
    Agreement, AgreementError, AutomatedDecisions, Categories, CategoryRule, Comparison,
    DataProtectionProfile, Deadlines, DualCriminality, EmergencyRules, FORMAT, OffenceEntry,
    OnwardTransferRule, Oversight, Party, PreservationRules, Remedy, SelectorLimits, SensitiveData,
    SensitiveOffences, Transfers,
};
pub use decide::{ReviewError, finalize};
pub use engine::{evaluate, summary};
pub use hold::{ExtensionOutcome, Hold, extend};
pub use intake::{Channel, Concern, Intake, ReviewFlag};
pub use privileged::PrivilegedList;
pub use registry::{KeyRole, Registry, TrustedKey};
pub use rule::{Proposal, RuleClass, RuleId, RuleResult, Trace, Verdict, rules_table};
