//! The wire codec: length-prefixed, versioned, kind-tagged frames.
//!
//! ```text
//! +----------------+---------+------+-----------------+
//! | length: u32 BE | version | kind | body            |
//! +----------------+---------+------+-----------------+
//!   length = 2 + body length (it counts version and kind)
//! ```
//!
//! A reader parses the six header bytes with [`FrameHeader::parse`], which checks the version,
//! the kind and the kind's maximum body size *before* the body is read or allocated; a hostile
//! length prefix therefore costs nothing. [`Frame::decode`] takes exactly one frame and refuses
//! truncation and trailing bytes; [`Frame::decode_prefix`] takes the front of a stream buffer.
//! The body of each kind is specified in `docs/protocol.md`.

use serde::{Deserialize, Serialize};

use crate::canonical::{self, DecodeError};
use crate::delivery::{Fetch, PackageOffer};
use crate::document::{
    Acknowledgement, ConsentDecision, ConsentRequest, Decision, Document, DocumentError, ENVELOPE,
    EvidenceRequest, Extension, JudicialValidation, PreservationConfirmation, Receipt, Signed,
    Withdrawal,
};
use crate::witnessing::{Cosigned, WitnessRequest};

/// The protocol version this build speaks.
pub const VERSION: u8 = 1;
/// Bytes in a frame header: length (4), version (1), kind (1).
pub const HEADER_LEN: usize = 6;

/// Why bytes were not accepted as a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The input ended before the frame did.
    #[error("truncated frame: {needed} bytes needed, {have} available")]
    Truncated {
        /// Bytes the frame needs in all.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// The frame's version is not one this build speaks.
    #[error("frame version {0} is not supported; this evx speaks version {VERSION}")]
    UnknownVersion(u8),
    /// The frame's kind byte is unknown.
    #[error("unknown message kind {0:#04x}")]
    UnknownKind(u8),
    /// The length prefix is below the 2 bytes of version and kind.
    #[error("frame length {0} is shorter than its own version and kind bytes")]
    LengthTooShort(u32),
    /// The body is larger than its kind allows.
    #[error("{kind:?} frame body of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The kind.
        kind: MessageKind,
        /// The body length announced.
        len: usize,
        /// The kind's limit.
        max: usize,
    },
    /// Bytes follow the frame where none may.
    #[error("{0} unexpected bytes after the frame")]
    TrailingBytes(usize),
    /// The body is not a valid signed document of the frame's kind.
    #[error("bad {kind:?} body: {source}")]
    Document {
        /// The kind.
        kind: MessageKind,
        /// What was wrong.
        source: DocumentError,
    },
    /// The body is not a valid error report.
    #[error("bad error report body: {0}")]
    ErrorReport(DecodeError),
    /// The body is not a valid unsigned message of the frame's kind.
    #[error("bad {kind:?} body: {source}")]
    Body {
        /// The kind.
        kind: MessageKind,
        /// What was wrong.
        source: DecodeError,
    },
}

/// The kind of message a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageKind {
    /// A signed [`EvidenceRequest`].
    Request = 0x01,
    /// A signed [`Acknowledgement`].
    Acknowledgement = 0x02,
    /// A signed [`Decision`].
    Decision = 0x03,
    /// A signed [`PreservationConfirmation`].
    PreservationConfirmation = 0x04,
    /// A signed [`Extension`].
    Extension = 0x05,
    /// A signed [`Withdrawal`].
    Withdrawal = 0x06,
    /// A signed [`Receipt`].
    Receipt = 0x07,
    /// A signed [`JudicialValidation`], sent after the request it validates.
    Validation = 0x08,
    /// A [`Fetch`]: the state of a request and, optionally, its packages.
    Fetch = 0x09,
    /// A [`PackageOffer`]: the sealed package's raw bytes follow on the stream.
    PackageOffer = 0x0a,
    /// A [`WitnessRequest`]: cosign this checkpoint.
    WitnessRequest = 0x0b,
    /// A [`Cosigned`] checkpoint, the witness's answer.
    Cosigned = 0x0c,
    /// A signed [`ConsentRequest`].
    ConsentRequest = 0x0d,
    /// A signed [`ConsentDecision`].
    ConsentDecision = 0x0e,
    /// An [`ErrorReport`]: why the peer refused the last message on this stream.
    Error = 0x7f,
}

impl MessageKind {
    /// Every kind.
    pub const ALL: [Self; 15] = [
        Self::Request,
        Self::Acknowledgement,
        Self::Decision,
        Self::PreservationConfirmation,
        Self::Extension,
        Self::Withdrawal,
        Self::Receipt,
        Self::Validation,
        Self::Fetch,
        Self::PackageOffer,
        Self::WitnessRequest,
        Self::Cosigned,
        Self::ConsentRequest,
        Self::ConsentDecision,
        Self::Error,
    ];

    /// The kind for a kind byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as u8 == b)
    }

    /// The largest body this kind may carry.
    pub fn max_body(self) -> usize {
        match self {
            Self::Request => ENVELOPE + EvidenceRequest::MAX_SIZE,
            Self::Acknowledgement => ENVELOPE + Acknowledgement::MAX_SIZE,
            Self::Decision => ENVELOPE + Decision::MAX_SIZE,
            Self::PreservationConfirmation => ENVELOPE + PreservationConfirmation::MAX_SIZE,
            Self::Extension => ENVELOPE + Extension::MAX_SIZE,
            Self::Withdrawal => ENVELOPE + Withdrawal::MAX_SIZE,
            Self::Receipt => ENVELOPE + Receipt::MAX_SIZE,
            Self::Validation => ENVELOPE + JudicialValidation::MAX_SIZE,
            Self::Fetch => Fetch::MAX_SIZE,
            Self::PackageOffer => PackageOffer::MAX_SIZE,
            Self::WitnessRequest | Self::Cosigned => crate::witnessing::MAX_MESSAGE,
            Self::ConsentRequest => ENVELOPE + ConsentRequest::MAX_SIZE,
            Self::ConsentDecision => ENVELOPE + ConsentDecision::MAX_SIZE,
            Self::Error => ErrorReport::MAX_SIZE,
        }
    }
}

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The message kind.
    pub kind: MessageKind,
    /// The body length, already checked against the kind's limit.
    pub body_len: usize,
}

impl FrameHeader {
    /// Parses and checks the six header bytes. A reader may allocate `body_len` bytes once this
    /// returns `Ok`.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if bytes[4] != VERSION {
            return Err(FrameError::UnknownVersion(bytes[4]));
        }
        let kind = MessageKind::from_byte(bytes[5]).ok_or(FrameError::UnknownKind(bytes[5]))?;
        let body_len = len.checked_sub(2).ok_or(FrameError::LengthTooShort(len))? as usize;
        if body_len > kind.max_body() {
            return Err(FrameError::TooLarge {
                kind,
                len: body_len,
                max: kind.max_body(),
            });
        }
        Ok(Self { kind, body_len })
    }
}

/// One frame: a kind and its body bytes, never larger than the kind allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    kind: MessageKind,
    body: Vec<u8>,
}

impl Frame {
    /// A frame, if the body fits the kind's limit.
    pub fn new(kind: MessageKind, body: Vec<u8>) -> Result<Self, FrameError> {
        if body.len() > kind.max_body() {
            return Err(FrameError::TooLarge {
                kind,
                len: body.len(),
                max: kind.max_body(),
            });
        }
        Ok(Self { kind, body })
    }

    /// The message kind.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Encodes the frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.body.len());
        out.extend_from_slice(&((self.body.len() + 2) as u32).to_be_bytes());
        out.push(VERSION);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes exactly one frame from `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let Some(head) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::Truncated {
                needed: HEADER_LEN,
                have: bytes.len(),
            });
        };
        let header = FrameHeader::parse(head)?;
        let needed = HEADER_LEN + header.body_len;
        match bytes.len().cmp(&needed) {
            core::cmp::Ordering::Less => Err(FrameError::Truncated {
                needed,
                have: bytes.len(),
            }),
            core::cmp::Ordering::Greater => Err(FrameError::TrailingBytes(bytes.len() - needed)),
            core::cmp::Ordering::Equal => Ok(Self {
                kind: header.kind,
                body: bytes[HEADER_LEN..].to_vec(),
            }),
        }
    }

    /// Decodes the frame at the front of a stream buffer: `Ok(None)` means "read more", and
    /// `Ok(Some((frame, n)))` that the frame used the first `n` bytes. A bad header is an error
    /// as soon as its six bytes are in.
    pub fn decode_prefix(bytes: &[u8]) -> Result<Option<(Self, usize)>, FrameError> {
        let Some(head) = bytes.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let header = FrameHeader::parse(head)?;
        let end = HEADER_LEN + header.body_len;
        let Some(body) = bytes.get(HEADER_LEN..end) else {
            return Ok(None);
        };
        Ok(Some((
            Self {
                kind: header.kind,
                body: body.to_vec(),
            },
            end,
        )))
    }
}

/// Why a peer refused a message: sent on the same stream instead of an answer. A node never
/// answers an error report with another one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    code: u16,
    message: String,
}

impl ErrorReport {
    /// The longest message, in bytes: the report always fits its frame.
    pub const MAX_MESSAGE: usize = 1024;

    /// A report with a stable code (see the constants) and an explanation for people. The
    /// message is cut to [`Self::MAX_MESSAGE`] bytes and control characters are replaced, so a
    /// report can be shown on an operator's terminal as it is. Never put secrets or case data
    /// in it.
    pub fn new(code: u16, message: &str) -> Self {
        let mut clean = String::with_capacity(message.len().min(Self::MAX_MESSAGE));
        for c in message.chars() {
            let c = if c.is_control() { '\u{fffd}' } else { c };
            if clean.len() + c.len_utf8() > Self::MAX_MESSAGE {
                break;
            }
            clean.push(c);
        }
        Self {
            code,
            message: clean,
        }
    }

    /// The error code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The explanation, as received (escape it before display: a peer's report is untrusted).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The largest encoded report.
    pub const MAX_SIZE: usize = 4096;
    /// The frame could not be parsed (truncated, trailing bytes, bad length).
    pub const MALFORMED_FRAME: u16 = 1;
    /// The frame's version is not spoken here.
    pub const UNSUPPORTED_VERSION: u16 = 2;
    /// The frame's kind is unknown.
    pub const UNKNOWN_KIND: u16 = 3;
    /// The frame's body exceeds its kind's limit.
    pub const TOO_LARGE: u16 = 4;
    /// The body is not a valid document of its kind (bad envelope, non-canonical, version).
    pub const MALFORMED_DOCUMENT: u16 = 5;
    /// The document's signature does not verify, or its signer is not the expected one.
    pub const BAD_SIGNATURE: u16 = 6;
    /// The kind is valid but not expected at this point of the exchange.
    pub const UNEXPECTED_MESSAGE: u16 = 7;
    /// A request already received (same request id), or issued outside the validity window.
    pub const REPLAY: u16 = 8;
    /// The sender is not a party this node may deal with, or its key is not registered.
    pub const UNKNOWN_PARTY: u16 = 9;
    /// The node could not record the request; send it again later.
    pub const UNAVAILABLE: u16 = 10;
    /// No request with that id from the asking party is known here.
    pub const NOT_FOUND: u16 = 11;
    /// The peer's audit log conflicts with what this node has cosigned (a fork): exchanges
    /// with it are stopped until the conflict is resolved by people.
    pub const CONFLICT: u16 = 12;

    /// Builds the report a peer sends back for a frame it could not accept.
    pub fn for_frame_error(e: &FrameError) -> Self {
        let code = match e {
            FrameError::Truncated { .. }
            | FrameError::LengthTooShort(_)
            | FrameError::TrailingBytes(_)
            | FrameError::ErrorReport(_) => Self::MALFORMED_FRAME,
            FrameError::UnknownVersion(_) => Self::UNSUPPORTED_VERSION,
            FrameError::UnknownKind(_) => Self::UNKNOWN_KIND,
            FrameError::TooLarge { .. } => Self::TOO_LARGE,
            FrameError::Document {
                source: DocumentError::BadSignature { .. } | DocumentError::WrongSigner { .. },
                ..
            } => Self::BAD_SIGNATURE,
            FrameError::Document { .. } | FrameError::Body { .. } => Self::MALFORMED_DOCUMENT,
        };
        Self::new(code, &e.to_string())
    }
}

/// A decoded message, with signed documents still unverified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A signed request.
    Request(Signed<EvidenceRequest>),
    /// A signed acknowledgement.
    Acknowledgement(Signed<Acknowledgement>),
    /// A signed decision.
    Decision(Signed<Decision>),
    /// A signed preservation confirmation.
    PreservationConfirmation(Signed<PreservationConfirmation>),
    /// A signed extension request.
    Extension(Signed<Extension>),
    /// A signed withdrawal.
    Withdrawal(Signed<Withdrawal>),
    /// A signed receipt.
    Receipt(Signed<Receipt>),
    /// A signed judicial validation.
    Validation(Signed<JudicialValidation>),
    /// A fetch.
    Fetch(Fetch),
    /// A package offer (the package's bytes follow the frame).
    PackageOffer(PackageOffer),
    /// A witness request.
    WitnessRequest(WitnessRequest),
    /// A cosigned checkpoint.
    Cosigned(Cosigned),
    /// A signed consent request.
    ConsentRequest(Signed<ConsentRequest>),
    /// A signed consent decision.
    ConsentDecision(Signed<ConsentDecision>),
    /// An error report.
    Error(ErrorReport),
}

impl Message {
    /// Decodes a frame's body according to its kind.
    pub fn from_frame(frame: &Frame) -> Result<Self, FrameError> {
        fn signed<T: Document>(frame: &Frame) -> Result<Signed<T>, FrameError> {
            Signed::decode(&frame.body).map_err(|source| FrameError::Document {
                kind: frame.kind,
                source,
            })
        }
        Ok(match frame.kind {
            MessageKind::Request => Self::Request(signed(frame)?),
            MessageKind::Acknowledgement => Self::Acknowledgement(signed(frame)?),
            MessageKind::Decision => Self::Decision(signed(frame)?),
            MessageKind::PreservationConfirmation => Self::PreservationConfirmation(signed(frame)?),
            MessageKind::Extension => Self::Extension(signed(frame)?),
            MessageKind::Withdrawal => Self::Withdrawal(signed(frame)?),
            MessageKind::Receipt => Self::Receipt(signed(frame)?),
            MessageKind::Validation => Self::Validation(signed(frame)?),
            MessageKind::ConsentRequest => Self::ConsentRequest(signed(frame)?),
            MessageKind::ConsentDecision => Self::ConsentDecision(signed(frame)?),
            MessageKind::Fetch => {
                Self::Fetch(
                    Fetch::decode(&frame.body).map_err(|source| FrameError::Body {
                        kind: frame.kind,
                        source,
                    })?,
                )
            }
            MessageKind::PackageOffer => {
                Self::PackageOffer(PackageOffer::decode(&frame.body).map_err(|source| {
                    FrameError::Body {
                        kind: frame.kind,
                        source,
                    }
                })?)
            }
            MessageKind::WitnessRequest => {
                Self::WitnessRequest(WitnessRequest::decode(&frame.body).map_err(|source| {
                    FrameError::Body {
                        kind: frame.kind,
                        source,
                    }
                })?)
            }
            MessageKind::Cosigned => {
                Self::Cosigned(Cosigned::decode(&frame.body).map_err(|source| {
                    FrameError::Body {
                        kind: frame.kind,
                        source,
                    }
                })?)
            }
            MessageKind::Error => Self::Error(
                canonical::decode("error report", &frame.body).map_err(FrameError::ErrorReport)?,
            ),
        })
    }

    /// The frame for this message.
    pub fn to_frame(&self) -> Frame {
        let (kind, body) = match self {
            Self::Request(s) => (MessageKind::Request, s.encode()),
            Self::Acknowledgement(s) => (MessageKind::Acknowledgement, s.encode()),
            Self::Decision(s) => (MessageKind::Decision, s.encode()),
            Self::PreservationConfirmation(s) => {
                (MessageKind::PreservationConfirmation, s.encode())
            }
            Self::Extension(s) => (MessageKind::Extension, s.encode()),
            Self::Withdrawal(s) => (MessageKind::Withdrawal, s.encode()),
            Self::Receipt(s) => (MessageKind::Receipt, s.encode()),
            Self::Validation(s) => (MessageKind::Validation, s.encode()),
            Self::Fetch(f) => (MessageKind::Fetch, f.encode()),
            Self::PackageOffer(o) => (MessageKind::PackageOffer, o.encode()),
            Self::WitnessRequest(w) => (MessageKind::WitnessRequest, w.encode()),
            Self::Cosigned(c) => (MessageKind::Cosigned, c.encode()),
            Self::ConsentRequest(s) => (MessageKind::ConsentRequest, s.encode()),
            Self::ConsentDecision(s) => (MessageKind::ConsentDecision, s.encode()),
            Self::Error(r) => (MessageKind::Error, canonical::encode(r)),
        };
        Frame { kind, body }
    }

    /// Decodes one complete frame into a message.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        Self::from_frame(&Frame::decode(bytes)?)
    }

    /// Encodes the message as one frame.
    pub fn encode(&self) -> Vec<u8> {
        self.to_frame().encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Message {
        Message::Error(ErrorReport {
            code: 7,
            message: "no".into(),
        })
    }

    #[test]
    fn round_trip_and_typed_errors() {
        let bytes = report().encode();
        assert_eq!(Message::decode(&bytes).unwrap(), report());
        assert!(matches!(
            Frame::decode(&bytes[..3]),
            Err(FrameError::Truncated { needed: 6, have: 3 })
        ));
        assert!(matches!(
            Frame::decode(&bytes[..bytes.len() - 1]),
            Err(FrameError::Truncated { .. })
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Frame::decode(&long), Err(FrameError::TrailingBytes(1)));
        let mut v = bytes.clone();
        v[4] = 9;
        assert_eq!(Frame::decode(&v), Err(FrameError::UnknownVersion(9)));
        let mut k = bytes.clone();
        k[5] = 0x42;
        assert_eq!(Frame::decode(&k), Err(FrameError::UnknownKind(0x42)));
        let mut short = bytes.clone();
        short[..4].copy_from_slice(&1u32.to_be_bytes());
        assert_eq!(Frame::decode(&short), Err(FrameError::LengthTooShort(1)));
    }

    #[test]
    fn oversized_length_is_refused_before_reading_the_body() {
        let mut head = [0u8; HEADER_LEN];
        head[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        head[4] = VERSION;
        head[5] = MessageKind::Request as u8;
        assert!(matches!(
            FrameHeader::parse(&head),
            Err(FrameError::TooLarge { .. })
        ));
        // decode_prefix refuses from the header alone, without waiting for 4 GiB.
        assert!(Frame::decode_prefix(&head).is_err());
    }

    #[test]
    fn frame_errors_map_to_report_codes() {
        let r = ErrorReport::for_frame_error(&FrameError::UnknownKind(0x42));
        assert_eq!(r.code, ErrorReport::UNKNOWN_KIND);
        assert!(r.message.contains("0x42"));
        let e = FrameError::TooLarge {
            kind: MessageKind::Request,
            len: 1 << 20,
            max: 10,
        };
        assert_eq!(
            ErrorReport::for_frame_error(&e).code,
            ErrorReport::TOO_LARGE
        );
    }

    #[test]
    fn prefix_decoding_asks_for_more() {
        let bytes = report().encode();
        for cut in 0..bytes.len() {
            assert_eq!(Frame::decode_prefix(&bytes[..cut]).unwrap(), None);
        }
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        let (f, used) = Frame::decode_prefix(&two).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(Message::from_frame(&f).unwrap(), report());
    }
}
