//! The requested party's QUIC server: each request on its own bidirectional stream.
//!
//! On a stream the requesting party sends one `Request` frame, any `Validation` frames for it,
//! and finishes; the node answers with the `Acknowledgement` and the `Decision`, or with one
//! `Error` report, and finishes. A malformed stream gets its error report and the connection
//! carries on; a connection whose certificate key is not in the registry is closed.

use std::sync::Arc;

use evx_node::pki::RegistryFile;
use evx_node::transport::peer_spki_sha256;
use evx_node::wire::{RateLimit, WireError, read_message, refuse, write_message};
use evx_protocol::frame::{ErrorReport, Message};
use evx_protocol::ids::{PartyId, UnixTime};
use tokio::sync::Mutex;

use crate::server::Desk;

/// The most validation frames accepted with one request.
const MAX_VALIDATIONS: usize = 8;

fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// Accepts connections until the endpoint is closed, then waits for the streams in flight.
pub async fn run(endpoint: quinn::Endpoint, desk: Arc<Desk>, registry: Arc<RegistryFile>) {
    let limit = Arc::new(Mutex::new(RateLimit::new(20.0, 100)));
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(incoming) = endpoint.accept().await {
        let (desk, registry, limit) = (desk.clone(), registry.clone(), limit.clone());
        tasks.spawn(async move {
            let Ok(conn) = incoming.await else { return };
            let party = peer_spki_sha256(&conn)
                .and_then(|h| registry.party_by_tls(&h).map(|p| p.id.clone()));
            let Some(party) = party else {
                conn.close(
                    u32::from(ErrorReport::UNKNOWN_PARTY).into(),
                    b"certificate key not in the registry",
                );
                return;
            };
            let mut streams = tokio::task::JoinSet::new();
            while let Ok((send, recv)) = conn.accept_bi().await {
                let (desk, party, limit) = (desk.clone(), party.clone(), limit.clone());
                streams.spawn(async move { stream(desk, party, limit, send, recv).await });
            }
            while streams.join_next().await.is_some() {}
        });
    }
    while tasks.join_next().await.is_some() {}
}

async fn stream(
    desk: Arc<Desk>,
    party: PartyId,
    limit: Arc<Mutex<RateLimit>>,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let answer = |code: u16, msg: &str| Message::Error(ErrorReport::new(code, msg));
    let mut request = None;
    let mut validations = Vec::new();
    loop {
        match read_message(&mut recv).await {
            Ok(None) => break,
            Ok(Some(Message::Request(r))) if request.is_none() => request = Some(r),
            Ok(Some(Message::Validation(v)))
                if request.is_some() && validations.len() < MAX_VALIDATIONS =>
            {
                validations.push(v)
            }
            Ok(Some(_)) => {
                let _ = write_message(
                    &mut send,
                    &answer(
                        ErrorReport::UNEXPECTED_MESSAGE,
                        "a stream carries one request, then at most 8 validations",
                    ),
                )
                .await;
                let _ = send.finish();
                return;
            }
            Err(WireError::Frame(e)) => {
                let _ = refuse(&mut send, &e).await;
                return;
            }
            Err(WireError::Stream(_)) => return,
        }
    }
    let Some(request) = request else {
        let _ = write_message(
            &mut send,
            &answer(ErrorReport::UNEXPECTED_MESSAGE, "no request on the stream"),
        )
        .await;
        let _ = send.finish();
        return;
    };
    if !limit.lock().await.allow(&party, std::time::Instant::now()) {
        let _ = write_message(
            &mut send,
            &answer(
                ErrorReport::UNAVAILABLE,
                "too many requests; send it again later",
            ),
        )
        .await;
        let _ = send.finish();
        return;
    }
    // The desk's work is blocking (signatures, SQLite fsync): off the async threads.
    let outcome =
        tokio::task::spawn_blocking(move || desk.receive(&party, &request, &validations, now()))
            .await;
    match outcome {
        Ok(Ok((ack, decision))) => {
            let _ = write_message(&mut send, &Message::Acknowledgement(ack)).await;
            let _ = write_message(&mut send, &Message::Decision(decision)).await;
        }
        Ok(Err(refusal)) => {
            let _ = write_message(&mut send, &Message::Error(refusal.report())).await;
        }
        Err(_) => {
            let _ = write_message(
                &mut send,
                &answer(ErrorReport::UNAVAILABLE, "internal failure"),
            )
            .await;
        }
    }
    let _ = send.finish();
}
