//! The signed-note container: text, a blank line, signature lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::key::{KeyError, NoteSigner, NoteVerifier, SIG_ED25519, check_name};
use crate::crypto::Signature;

/// The largest note accepted, in bytes, checked before anything is parsed.
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// The most signature lines a note may carry (the specification asks for at least 16; Go's
/// reference verifier allows 100).
pub const MAX_SIGNATURES: usize = 100;

/// One signature line: the key name, the key id and the signature bytes after the key id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// What follows the key id (an Ed25519 signature, or a timestamp and one).
    pub signature: Vec<u8>,
}

/// Why a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Larger than [`MAX_NOTE_SIZE`].
    #[error("the note is {0} bytes; at most {MAX_NOTE_SIZE} are accepted")]
    TooLarge(usize),
    /// Not UTF-8, or a control character other than newline.
    #[error("a note is UTF-8 text without control characters other than newline")]
    BadText,
    /// The text is empty or does not end in a newline.
    #[error("the note text must be non-empty and end with a newline")]
    BadEnding,
    /// No blank line separates text and signatures, or a signature line is malformed.
    #[error("malformed signature block: {0}")]
    BadSignatureLine(String),
    /// More than [`MAX_SIGNATURES`] signatures.
    #[error("the note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature by a known key does not verify: the note was altered or forged.
    #[error(
        "the signature of {name} ({key_id:08x}) does not verify: the note was altered or forged"
    )]
    BadSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: u32,
    },
    /// No signature by any of the trusted keys.
    #[error("the note carries no signature by a trusted key")]
    NoTrustedSignature,
    /// A key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// A signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// The specification forbids the ASCII control characters (below U+0020) other than newline.
fn forbidden(c: char) -> bool {
    c < ' ' && c != '\n'
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.chars().any(forbidden) {
        return Err(NoteError::BadText);
    }
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::BadEnding);
    }
    Ok(())
}

impl Note {
    /// An unsigned note with this text.
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        if text.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge(text.len()));
        }
        check_text(&text)?;
        Ok(Self {
            text,
            signatures: Vec::new(),
        })
    }

    /// The text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line.
    pub fn push_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        check_name(&signature.name)?;
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Signs the text with an Ed25519 note key (type 0x01).
    pub fn sign(&mut self, signer: &NoteSigner) -> Result<(), NoteError> {
        if signer.sig_type() != SIG_ED25519 {
            return Err(KeyError::WrongType {
                found: signer.sig_type(),
                expected: SIG_ED25519,
            }
            .into());
        }
        let signature = signer.sign_raw(self.text.as_bytes()).to_vec();
        self.push_signature(NoteSignature {
            name: signer.name().to_owned(),
            key_id: signer.id(),
            signature,
        })
    }

    /// The note as text: the text, a blank line, one line per signature.
    pub fn encode(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            let mut blob = sig.key_id.to_be_bytes().to_vec();
            blob.extend_from_slice(&sig.signature);
            s.push_str("— ");
            s.push_str(&sig.name);
            s.push(' ');
            s.push_str(&STANDARD.encode(blob));
            s.push('\n');
        }
        s
    }

    /// Parses a signed note. Signatures are not checked here: see [`Note::verify`].
    ///
    /// Stricter than Go's reference parser in one respect: base64 with non-zero trailing bits
    /// is refused, so a note has exactly one encoding.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge(bytes.len()));
        }
        let s = core::str::from_utf8(bytes).map_err(|_| NoteError::BadText)?;
        if s.chars().any(forbidden) {
            return Err(NoteError::BadText);
        }
        // The text ends at the last blank line.
        let split = s.rfind("\n\n").ok_or_else(|| {
            NoteError::BadSignatureLine("no blank line before the signatures".into())
        })?;
        let (text, sigs) = (&s[..=split], &s[split + 2..]);
        check_text(text)?;
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::BadSignatureLine(
                "a note needs at least one signature line, each ending with a newline".into(),
            ));
        }
        let mut note = Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        };
        for line in sigs[..sigs.len() - 1].split('\n') {
            let rest = line.strip_prefix("— ").ok_or_else(|| {
                NoteError::BadSignatureLine(
                    "a signature line starts with an em dash and a space".into(),
                )
            })?;
            let (name, b64) = rest.split_once(' ').ok_or_else(|| {
                NoteError::BadSignatureLine("a signature line is `— <name> <base64>`".into())
            })?;
            let blob = STANDARD
                .decode(b64)
                .map_err(|_| NoteError::BadSignatureLine("the signature is not base64".into()))?;
            if blob.len() < 5 {
                return Err(NoteError::BadSignatureLine(
                    "a signature has a 4-byte key id and at least one byte".into(),
                ));
            }
            note.push_signature(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]),
                signature: blob[4..].to_vec(),
            })?;
        }
        Ok(note)
    }

    /// Verifies the note against trusted Ed25519 note keys: signatures by unknown keys are
    /// ignored, every signature by a known key must verify (a repeated line too: a note
    /// carrying a bad signature by a trusted key is refused, as the specification advises), and
    /// at least one must. Returns the verifiers whose signatures verified.
    pub fn verify<'v>(
        &self,
        verifiers: &'v [NoteVerifier],
    ) -> Result<Vec<&'v NoteVerifier>, NoteError> {
        let mut good: Vec<&NoteVerifier> = Vec::new();
        for sig in &self.signatures {
            let Some(v) = verifiers.iter().find(|v| {
                v.sig_type() == SIG_ED25519 && v.name() == sig.name && v.id() == sig.key_id
            }) else {
                continue;
            };
            let ok = <[u8; 64]>::try_from(sig.signature.as_slice())
                .ok()
                .is_some_and(|s| {
                    v.key()
                        .verify(b"", self.text.as_bytes(), &Signature(s))
                        .is_ok()
                });
            if !ok {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            if !good.iter().any(|g| core::ptr::eq(*g, v)) {
                good.push(v);
            }
        }
        if good.is_empty() {
            return Err(NoteError::NoTrustedSignature);
        }
        Ok(good)
    }
}
