//! evx frames on QUIC streams: one message per frame, the header checked before any body is
//! allocated, and a malformed frame answered with an [`ErrorReport`] on its own stream — the
//! connection, and the node, carry on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use evx_protocol::frame::{ErrorReport, Frame, FrameError, FrameHeader, HEADER_LEN, Message};
use evx_protocol::ids::PartyId;

/// Why a message could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The bytes are not an acceptable frame (answer with [`refuse`]).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The stream ended or failed.
    #[error("stream: {0}")]
    Stream(String),
}

/// Reads one message. `Ok(None)` when the stream ends cleanly before a new frame begins. The
/// body is allocated only after the header has been checked against the kind's limit.
pub async fn read_message(recv: &mut quinn::RecvStream) -> Result<Option<Message>, WireError> {
    let mut header = [0u8; HEADER_LEN];
    match recv.read_exact(&mut header).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(quinn::ReadExactError::FinishedEarly(n)) => {
            return Err(FrameError::Truncated {
                needed: HEADER_LEN,
                have: n,
            }
            .into());
        }
        Err(quinn::ReadExactError::ReadError(e)) => return Err(WireError::Stream(e.to_string())),
    }
    let h = FrameHeader::parse(&header)?;
    let mut body = vec![0u8; h.body_len];
    match recv.read_exact(&mut body).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(n)) => {
            return Err(FrameError::Truncated {
                needed: h.body_len,
                have: n,
            }
            .into());
        }
        Err(quinn::ReadExactError::ReadError(e)) => return Err(WireError::Stream(e.to_string())),
    }
    Ok(Some(Message::from_frame(&Frame::new(h.kind, body)?)?))
}

/// Writes one message.
pub async fn write_message(
    send: &mut quinn::SendStream,
    message: &Message,
) -> Result<(), WireError> {
    send.write_all(&message.encode())
        .await
        .map_err(|e| WireError::Stream(e.to_string()))
}

/// Answers a frame that could not be accepted with an error report, and ends the stream.
pub async fn refuse(send: &mut quinn::SendStream, error: &FrameError) -> Result<(), WireError> {
    write_message(send, &Message::Error(ErrorReport::for_frame_error(error))).await?;
    send.finish().map_err(|e| WireError::Stream(e.to_string()))
}

/// A per-party request budget: `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimit {
    burst: f64,
    per_second: f64,
    buckets: HashMap<PartyId, (f64, Instant)>,
}

impl RateLimit {
    /// A limit of `per_second` requests a second per party, with bursts of `burst`.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: per_second.max(0.0),
            buckets: HashMap::new(),
        }
    }

    /// Whether `party` may make a request at `now` (and, if so, counts it).
    pub fn allow(&mut self, party: &PartyId, now: Instant) -> bool {
        let (tokens, last) = self
            .buckets
            .entry(party.clone())
            .or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until `party` may make its next request.
    pub fn retry_after(&self, party: &PartyId) -> Duration {
        match self.buckets.get(party) {
            Some((t, _)) if *t < 1.0 && self.per_second > 0.0 => {
                Duration::from_secs_f64((1.0 - t) / self.per_second)
            }
            _ => Duration::ZERO,
        }
    }
}
