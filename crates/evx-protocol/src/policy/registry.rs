//! The keys the policy engine trusts, and for what.
//!
//! The node's peer registry (a file, loaded outside this crate) says which document-signing
//! keys belong to which party, which keys belong to judicial authorities that may validate
//! requests, and which belong to reviewers who may decide what the engine only proposes. The
//! engine receives it as this plain list, so that it checks signatures and roles without
//! touching the file system.

use crate::crypto::VerifyingKey;
use crate::document::AuthorityType;
use crate::ids::{KeyId, PartyId};

/// What a key may sign.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRole {
    /// The party's own documents: requests, decisions, receipts.
    Documents,
    /// Judicial validations, for the named authority of the given type.
    JudicialAuthority {
        /// The authority's name.
        authority: String,
        /// Its type.
        authority_type: AuthorityType,
    },
    /// Review decisions, for the named reviewer.
    Reviewer {
        /// The reviewer's name and function.
        name: String,
    },
}

/// One trusted key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key.
    pub key: VerifyingKey,
    /// The party it belongs to (a judicial authority belongs to its state's party).
    pub party: PartyId,
    /// What it may sign.
    pub role: KeyRole,
}

/// The trusted keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    keys: Vec<TrustedKey>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key. A key id listed twice keeps its first entry: a key has one role.
    pub fn add(&mut self, key: TrustedKey) -> &mut Self {
        if self.get(&key.key.id()).is_none() {
            self.keys.push(key);
        }
        self
    }

    /// The entry for a key id.
    pub fn get(&self, id: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| &k.key.id() == id)
    }

    /// Every entry.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }
}
