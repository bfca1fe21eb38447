//! C2SP `tlog-checkpoint`: a log's tree head as note text — origin, tree size, root hash.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::key::{NoteSigner, NoteVerifier};
use super::signed::{Note, NoteError};
use crate::merkle::Hash;

/// A checkpoint: the state of a log at one size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `evx.example/DE-BfJ/audit`; also its key name.
    pub origin: String,
    /// The number of entries.
    pub size: u64,
    /// The RFC 9162 root of those entries.
    pub root: Hash,
    /// Extension lines (opaque, non-empty; evx writes none).
    pub extensions: Vec<String>,
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note around it is malformed or does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The text is not a checkpoint.
    #[error("not a checkpoint: {0}")]
    Malformed(&'static str),
    /// Signed by the right key, but for another log.
    #[error("the checkpoint is for log {found:?}, not {expected:?}")]
    OtherOrigin {
        /// The origin line.
        found: String,
        /// The log expected.
        expected: String,
    },
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, any extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses checkpoint note text.
    pub fn from_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed(
            "the text must end with a newline",
        ))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(CheckpointError::Malformed("the first line is the origin"))?;
        let size = lines
            .next()
            .filter(|s| {
                !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (s == &"0" || !s.starts_with('0'))
            })
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(CheckpointError::Malformed(
                "the second line is the tree size in decimal, without leading zeros",
            ))?;
        let root: Hash = lines
            .next()
            .and_then(|r| STANDARD.decode(r).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or(CheckpointError::Malformed(
                "the third line is the base64 of a 32-byte root hash",
            ))?;
        if size == 0 && root != crate::merkle::empty_root() {
            return Err(CheckpointError::Malformed(
                "an empty tree's root is the SHA-256 of the empty string",
            ));
        }
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Malformed(
                "extension lines must be non-empty",
            ));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The checkpoint as a note signed by the log's key, whose name must be the origin. Refuses
    /// a checkpoint whose text would read back as something else (an origin with a newline, an
    /// empty extension line, an empty tree with another root).
    pub fn sign(&self, log_key: &NoteSigner) -> Result<Note, CheckpointError> {
        if log_key.name() != self.origin {
            return Err(CheckpointError::OtherOrigin {
                found: self.origin.clone(),
                expected: log_key.name().to_owned(),
            });
        }
        let text = self.to_text();
        if Self::from_text(&text).as_ref() != Ok(self) {
            return Err(CheckpointError::Malformed(
                "its text would not read back as the same checkpoint",
            ));
        }
        let mut note = Note::new(text)?;
        note.sign(log_key)?;
        Ok(note)
    }

    /// Parses a signed checkpoint and verifies it with the log's key, whose name must be the
    /// checkpoint's origin. Other signatures (cosignatures) are kept and ignored here.
    pub fn open(bytes: &[u8], log_key: &NoteVerifier) -> Result<(Self, Note), CheckpointError> {
        let note = Note::parse(bytes)?;
        note.verify(core::slice::from_ref(log_key))?;
        let checkpoint = Self::from_text(note.text())?;
        if checkpoint.origin != log_key.name() {
            return Err(CheckpointError::OtherOrigin {
                found: checkpoint.origin,
                expected: log_key.name().to_owned(),
            });
        }
        Ok((checkpoint, note))
    }
}
