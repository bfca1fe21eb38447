//! Purpose limitation.
//!
//! Evidence is transferred for one criminal case and one purpose (Budapest Art. 28(2)(b),
//! CETS 224 Art. 14(2), legal reference §6 rule 8). The purpose tag travels signed in the
//! request, in the decision's conditions and in every package header; opening a package requires
//! declaring the case and purpose it is opened for, and a declaration the package does not allow
//! is refused before anything is decrypted.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, PartyId};

/// What evidence may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Investigating the named criminal offence.
    Investigation,
    /// Prosecuting it before a court.
    Prosecution,
    /// Enforcing a sentence handed down in the case.
    SentenceEnforcement,
    /// Tracing, freezing and confiscating the proceeds of the offence: allowed only where the
    /// agreement says so.
    AssetRecovery,
}

impl Purpose {
    /// Every purpose, in a stable order.
    pub const ALL: [Self; 4] = [
        Self::Investigation,
        Self::Prosecution,
        Self::SentenceEnforcement,
        Self::AssetRecovery,
    ];

    /// The tag as written in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Investigation => "investigation",
            Self::Prosecution => "prosecution",
            Self::SentenceEnforcement => "sentence_enforcement",
            Self::AssetRecovery => "asset_recovery",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for Purpose {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            format!("unknown purpose `{s}`; expected investigation, prosecution, sentence_enforcement or asset_recovery")
        })
    }
}

/// Whether evidence may be passed on to a third state or organisation (CETS 224 Art. 14(10),
/// UN Art. 36: only with the sender's prior authorisation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnwardTransfer {
    /// No onward transfer without the sender's prior, signed authorisation (the default).
    DenyWithoutAuthorisation,
    /// Onward transfer to these parties is authorised in advance.
    AuthorisedTo(Vec<PartyId>),
}

/// The conditions a requested party attaches to a transfer (Budapest Art. 27(6), 28): they
/// travel in the decision and, signed into the header, in every package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    /// Purposes allowed besides the request's own purpose tag, for the same case.
    pub further_purposes: Vec<Purpose>,
    /// Days the requesting party may keep the evidence; `None` = as the agreement says.
    pub retention_days: Option<u32>,
    /// Onward-transfer terms.
    pub onward_transfer: OnwardTransfer,
    /// The requesting party must keep the evidence confidential.
    pub confidential: bool,
    /// Further conditions in words, shown to whoever opens the evidence.
    pub notes: Vec<String>,
}

impl Default for Conditions {
    fn default() -> Self {
        Self {
            further_purposes: Vec::new(),
            retention_days: None,
            onward_transfer: OnwardTransfer::DenyWithoutAuthorisation,
            confidential: true,
            notes: Vec::new(),
        }
    }
}

/// What a person opening evidence declares it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredPurpose {
    /// The case the evidence is opened for.
    pub case: CaseId,
    /// The purpose it is opened for.
    pub purpose: Purpose,
}

/// Why a declared purpose was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurposeRefusal {
    /// The evidence belongs to another case.
    #[error(
        "the evidence was transferred for case {allowed}, not case {declared}; use in another case needs the sender's signed consent"
    )]
    OtherCase {
        /// The case the evidence is bound to.
        allowed: CaseId,
        /// The case declared.
        declared: CaseId,
    },
    /// The purpose is not among those allowed.
    #[error("the evidence may be used for {allowed}, not for {declared}")]
    OtherPurpose {
        /// The purposes allowed, comma-separated.
        allowed: String,
        /// The purpose declared.
        declared: Purpose,
    },
}

/// Checks a declaration against the case, purpose tag and conditions a transfer is bound to.
pub fn check(
    case: &CaseId,
    purpose: Purpose,
    conditions: &Conditions,
    declared: &DeclaredPurpose,
) -> Result<(), PurposeRefusal> {
    if &declared.case != case {
        return Err(PurposeRefusal::OtherCase {
            allowed: case.clone(),
            declared: declared.case.clone(),
        });
    }
    if declared.purpose == purpose || conditions.further_purposes.contains(&declared.purpose) {
        return Ok(());
    }
    let mut allowed = vec![purpose.as_str()];
    allowed.extend(conditions.further_purposes.iter().map(|p| p.as_str()));
    Err(PurposeRefusal::OtherPurpose {
        allowed: allowed.join(", "),
        declared: declared.purpose,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bound_case_and_allowed_purposes_pass() {
        let case = CaseId::new("C-1").unwrap();
        let mut cond = Conditions::default();
        let d = |c: &str, p| DeclaredPurpose {
            case: CaseId::new(c).unwrap(),
            purpose: p,
        };
        assert!(
            check(
                &case,
                Purpose::Investigation,
                &cond,
                &d("C-1", Purpose::Investigation)
            )
            .is_ok()
        );
        assert!(matches!(
            check(
                &case,
                Purpose::Investigation,
                &cond,
                &d("C-1", Purpose::Prosecution)
            ),
            Err(PurposeRefusal::OtherPurpose { .. })
        ));
        assert!(matches!(
            check(
                &case,
                Purpose::Investigation,
                &cond,
                &d("C-2", Purpose::Investigation)
            ),
            Err(PurposeRefusal::OtherCase { .. })
        ));
        cond.further_purposes.push(Purpose::Prosecution);
        assert!(
            check(
                &case,
                Purpose::Investigation,
                &cond,
                &d("C-1", Purpose::Prosecution)
            )
            .is_ok()
        );
        assert_eq!(
            "prosecution".parse::<Purpose>().unwrap(),
            Purpose::Prosecution
        );
    }
}
