//! The requested party's QUIC server: each exchange on its own bidirectional stream.
//!
//! A request stream carries one `Request` frame and any `Validation` frames for it; the node
//! answers with the `Acknowledgement` and the `Decision`, or with one `Error` report. A fetch
//! stream carries a `Fetch`; the node answers with the `Decision`, then the sealed package
//! (a `PackageOffer` and its raw bytes) and waits for the signed `Receipt`. A witnessing stream
//! begins with a `WitnessRequest`: the node cosigns the peer's checkpoint and offers its own
//! (see `docs/protocol.md` §3.0). A party whose log conflicts with what this node cosigned is
//! answered `CONFLICT` on every stream. A malformed stream gets its error report and the connection
//! carries on; a connection whose certificate key is not in the registry is closed.
//!
//! Stopping (the `stop` signal) refuses new connections and new streams, lets the streams in
//! flight finish — their answers are what the requesting party needs to avoid a "replay" on
//! its retry — and only then closes the connections.

use std::sync::Arc;
use std::time::Duration;

use evx_node::pki::RegistryFile;
use evx_node::transport::peer_spki_sha256;
use evx_node::wire::{RateLimit, WireError, read_message, refuse, write_message};
use evx_protocol::delivery::{Fetch, PackageOffer};
use evx_protocol::frame::{ErrorReport, Message};
use evx_protocol::ids::{PartyId, UnixTime};
use tokio::io::AsyncReadExt as _;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinSet;

use crate::server::Desk;

/// The most validation frames accepted with one request.
const MAX_VALIDATIONS: usize = 8;
/// How long a peer has to send a request or fetch in full: a peer trickling bytes does not
/// hold a stream's buffers for ever.
const READ_DEADLINE: Duration = Duration::from_secs(30);
/// How long the requesting party has to verify a package and send its receipt.
const RECEIPT_DEADLINE: Duration = Duration::from_secs(600);

fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// Waits until `stop` says so (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Accepts connections until `stop` turns true or the endpoint is closed, then refuses new
/// ones and waits for the streams in flight.
pub async fn run(
    endpoint: quinn::Endpoint,
    desk: Arc<Desk>,
    registry: Arc<RegistryFile>,
    mut stop: watch::Receiver<bool>,
) {
    let (per_second, burst) = desk.rate_limit();
    let limit = Arc::new(Mutex::new(RateLimit::new(f64::from(per_second), burst)));
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                let (desk, registry, limit) = (desk.clone(), registry.clone(), limit.clone());
                let stop = stop.clone();
                tasks.spawn(connection(incoming, desk, registry, limit, stop));
            }
            // Finished connections are reaped as they end, not kept until shutdown.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            () = stopped(&mut stop) => break,
        }
    }
    endpoint.set_server_config(None);
    while tasks.join_next().await.is_some() {}
}

async fn connection(
    incoming: quinn::Incoming,
    desk: Arc<Desk>,
    registry: Arc<RegistryFile>,
    limit: Arc<Mutex<RateLimit>>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(conn) = incoming.await else { return };
    let party =
        peer_spki_sha256(&conn).and_then(|h| registry.party_by_tls(&h).map(|p| p.id.clone()));
    let Some(party) = party else {
        conn.close(
            u32::from(ErrorReport::UNKNOWN_PARTY).into(),
            b"certificate key not in the registry",
        );
        return;
    };
    let mut streams = JoinSet::new();
    loop {
        tokio::select! {
            accepted = conn.accept_bi() => {
                let Ok((send, recv)) = accepted else { break };
                let (desk, party, limit) = (desk.clone(), party.clone(), limit.clone());
                streams.spawn(stream(desk, party, limit, send, recv));
            }
            Some(_) = streams.join_next(), if !streams.is_empty() => {}
            () = stopped(&mut stop) => break,
        }
    }
    while streams.join_next().await.is_some() {}
    conn.close(0u32.into(), b"node shutting down");
}

fn report(code: u16, msg: &str) -> Message {
    Message::Error(ErrorReport::new(code, msg))
}

/// Runs the desk's work off the async threads (it is blocking: signatures, SQLite fsync).
/// A refusal, or a failure of the work itself, is answered on the stream and gives `None`.
async fn on_desk<T: Send + 'static>(
    send: &mut quinn::SendStream,
    work: impl FnOnce() -> Result<T, crate::server::Refusal> + Send + 'static,
) -> Option<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(done)) => Some(done),
        Ok(Err(refusal)) => {
            answer(send, Message::Error(refusal.report())).await;
            None
        }
        Err(_) => {
            answer(send, report(ErrorReport::UNAVAILABLE, "internal failure")).await;
            None
        }
    }
}

async fn answer(send: &mut quinn::SendStream, message: Message) {
    let _ = write_message(send, &message).await;
    let _ = send.finish();
}

async fn stream(
    desk: Arc<Desk>,
    party: PartyId,
    limit: Arc<Mutex<RateLimit>>,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let first = match tokio::time::timeout(READ_DEADLINE, read_message(&mut recv)).await {
        Err(_) => {
            return answer(
                &mut send,
                report(
                    ErrorReport::MALFORMED_FRAME,
                    "nothing complete arrived in time",
                ),
            )
            .await;
        }
        Ok(Err(WireError::Frame(e))) => {
            let _ = refuse(&mut send, &e).await;
            return;
        }
        Ok(Err(WireError::Stream(_))) => return,
        Ok(Ok(m)) => m,
    };
    if !limit.lock().await.allow(&party, std::time::Instant::now()) {
        return answer(
            &mut send,
            report(
                ErrorReport::UNAVAILABLE,
                "too many requests; send it again later",
            ),
        )
        .await;
    }
    // A party whose log conflicts with what this node cosigned gets nothing but that answer.
    if let Err(refusal) = desk.check_peer(&party) {
        return answer(&mut send, Message::Error(refusal.report())).await;
    }
    match first {
        Some(Message::WitnessRequest(offer)) => {
            let Some(peer) = desk.registry().peer_keys(&party) else {
                return answer(
                    &mut send,
                    report(ErrorReport::UNKNOWN_PARTY, "no usable log keys registered"),
                )
                .await;
            };
            let _ = evx_node::witnessing::respond(
                &desk.witnessing(),
                &peer,
                offer,
                &mut send,
                &mut recv,
                now().0,
            )
            .await;
        }
        Some(Message::Request(request)) => {
            let validations =
                match tokio::time::timeout(READ_DEADLINE, validations(&mut recv)).await {
                    Ok(Ok(v)) => v,
                    Ok(Err(m)) => return answer(&mut send, m).await,
                    Err(_) => {
                        return answer(
                            &mut send,
                            report(
                                ErrorReport::MALFORMED_FRAME,
                                "the request's stream did not end in time",
                            ),
                        )
                        .await;
                    }
                };
            let taken = on_desk(&mut send, move || {
                desk.receive(&party, &request, &validations, now())
            })
            .await;
            if let Some((ack, decision)) = taken {
                let _ = write_message(&mut send, &Message::Acknowledgement(ack)).await;
                answer(&mut send, Message::Decision(decision)).await;
            }
        }
        Some(Message::Fetch(fetch)) => deliver(desk, party, fetch, send, recv).await,
        // A request for consent to use delivered evidence beyond its transfer.
        Some(Message::ConsentRequest(consent)) => {
            let taken = on_desk(&mut send, move || {
                desk.receive_consent(&party, &consent, now())
            })
            .await;
            if taken.is_some() {
                let _ = send.finish();
            }
        }
        // An extension of a preservation hold.
        Some(Message::Extension(extension)) => {
            let taken =
                on_desk(&mut send, move || desk.extend_hold(&party, &extension, now())).await;
            if let Some(confirmation) = taken {
                answer(&mut send, Message::PreservationConfirmation(confirmation)).await;
            }
        }
        // A judicial validation sent after its request (an emergency executed before it).
        Some(Message::Validation(validation)) => {
            let taken =
                on_desk(&mut send, move || desk.validate(&party, &validation, now())).await;
            if taken.is_some() {
                let _ = send.finish();
            }
        }
        // A node never answers an error report with another one.
        Some(Message::Error(_)) => {
            let _ = send.finish();
        }
        Some(_) => {
            answer(
                &mut send,
                report(
                    ErrorReport::UNEXPECTED_MESSAGE,
                    "a stream begins with a request, a fetch, a consent request, an extension, a validation or a witness request",
                ),
            )
            .await
        }
        None => {
            answer(
                &mut send,
                report(ErrorReport::UNEXPECTED_MESSAGE, "the stream was empty"),
            )
            .await
        }
    }
}

/// The validations that follow a request, up to the end of the stream.
async fn validations(
    recv: &mut quinn::RecvStream,
) -> Result<Vec<evx_protocol::document::Signed<evx_protocol::document::JudicialValidation>>, Message>
{
    let mut out = Vec::new();
    loop {
        match read_message(recv).await {
            Ok(None) => return Ok(out),
            Ok(Some(Message::Validation(v))) if out.len() < MAX_VALIDATIONS => out.push(v),
            Ok(Some(_)) => {
                return Err(report(
                    ErrorReport::UNEXPECTED_MESSAGE,
                    "a request stream carries one request, then at most 8 validations",
                ));
            }
            Err(WireError::Frame(e)) => {
                return Err(Message::Error(ErrorReport::for_frame_error(&e)));
            }
            Err(WireError::Stream(e)) => {
                return Err(report(ErrorReport::MALFORMED_FRAME, &e));
            }
        }
    }
}

/// Answers a fetch: the decision, then the package and its receipt.
async fn deliver(
    desk: Arc<Desk>,
    party: PartyId,
    fetch: Fetch,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let request = fetch.request_id;
    let lookup = {
        let (desk, party) = (desk.clone(), party.clone());
        tokio::task::spawn_blocking(move || desk.delivery(&party, &request)).await
    };
    let mut delivery = match lookup {
        Ok(Ok(d)) => d,
        Ok(Err(refusal)) => return answer(&mut send, Message::Error(refusal.report())).await,
        Err(_) => {
            return answer(
                &mut send,
                report(ErrorReport::UNAVAILABLE, "internal failure"),
            )
            .await;
        }
    };
    // While the enforcing authority may still raise grounds for refusal (Reg. (EU) 2023/1543
    // Art. 10(2)), the evidence stays here; the decision, which carries the date, goes out.
    if delivery.held_until.is_some_and(|t| now() < t) {
        delivery.packages.clear();
    }
    if write_message(&mut send, &Message::Decision(delivery.decision))
        .await
        .is_err()
    {
        return;
    }
    if let Some(w) = delivery.withdrawal {
        answer(&mut send, Message::Withdrawal(w)).await;
        return;
    }
    // The consents decided about this request's evidence.
    let consents = {
        let desk = desk.clone();
        tokio::task::spawn_blocking(move || desk.consent_decisions(&request))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    for c in consents {
        if write_message(&mut send, &Message::ConsentDecision(c))
            .await
            .is_err()
        {
            return;
        }
    }
    if !fetch.packages || delivery.packages.is_empty() {
        let _ = send.finish();
        return;
    }
    // Each package not yet acknowledged, in order: offer, bytes, receipt. A resume applies to
    // the package it names.
    for (path, package_id, length) in delivery.packages {
        let offset = match fetch.resume {
            Some((id, have)) if id == package_id && have <= length => have,
            _ => 0,
        };
        if !deliver_one(
            &desk, &party, request, &path, package_id, length, offset, &mut send, &mut recv,
        )
        .await
        {
            return;
        }
    }
    let _ = send.finish();
}

/// Sends one package from `offset` and takes in its receipt. `false` if the exchange ended
/// (the stream failed, the requesting side refused the package, or the receipt was wrong).
#[allow(clippy::too_many_arguments)]
async fn deliver_one(
    desk: &Arc<Desk>,
    party: &PartyId,
    request: evx_protocol::ids::RequestId,
    path: &std::path::Path,
    package_id: evx_protocol::ids::PackageId,
    length: u64,
    offset: u64,
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
) -> bool {
    let offer = PackageOffer {
        v: 1,
        request_id: request,
        package_id,
        length,
        offset,
    };
    if write_message(send, &Message::PackageOffer(offer))
        .await
        .is_err()
    {
        return false;
    }
    // The package streams from its file: memory stays flat whatever its size. A package the
    // requesting side holds in full (its receipt was lost) needs no file: only the receipt.
    if offset < length && !stream_package(path, offset, length, send).await {
        return false;
    }
    {
        let desk = desk.clone();
        let _ =
            tokio::task::spawn_blocking(move || desk.delivered(request, package_id, now())).await;
    }
    let receipt = match tokio::time::timeout(RECEIPT_DEADLINE, read_message(recv)).await {
        Ok(Ok(Some(Message::Receipt(r)))) => r,
        Ok(Ok(Some(Message::Error(_)))) | Ok(Err(WireError::Stream(_))) | Ok(Ok(None)) => {
            // The requesting party refused the package or went away: nothing to acknowledge.
            let _ = send.finish();
            return false;
        }
        Ok(Ok(Some(_))) => {
            answer(
                send,
                report(ErrorReport::UNEXPECTED_MESSAGE, "expected a receipt"),
            )
            .await;
            return false;
        }
        Ok(Err(WireError::Frame(e))) => {
            let _ = refuse(send, &e).await;
            return false;
        }
        Err(_) => {
            answer(
                send,
                report(ErrorReport::MALFORMED_FRAME, "no receipt arrived in time"),
            )
            .await;
            return false;
        }
    };
    let (desk, party) = (desk.clone(), party.clone());
    let recorded = tokio::task::spawn_blocking(move || {
        desk.receipt(&party, package_id, request, &receipt, now())
    })
    .await;
    match recorded {
        Ok(Ok(())) => true,
        Ok(Err(refusal)) => {
            answer(send, Message::Error(refusal.report())).await;
            false
        }
        Err(_) => {
            answer(send, report(ErrorReport::UNAVAILABLE, "internal failure")).await;
            false
        }
    }
}

/// Runs the node's periodic work ([`Desk::tick`]: reviews submitted by reviewers applied,
/// overdue reviews escalated) every `every`, until `stop`; each pass's report goes to
/// `report`. A pass that fails is reported and retried on the next.
pub async fn tick_every(
    desk: Arc<Desk>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    report: impl Fn(Result<crate::review::TickReport, String>) + Send + 'static,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = stopped(&mut stop) => return,
        }
        let desk = desk.clone();
        let pass = tokio::task::spawn_blocking(move || desk.tick(now()).map_err(|e| e.to_string()))
            .await
            .unwrap_or_else(|e| Err(format!("the review pass failed: {e}")));
        report(pass);
    }
}

/// Streams the sealed package at `path` from `offset` to `length`. `false` if the exchange
/// ended (the file failed: the stream is reset; or the requesting side stopped it).
async fn stream_package(
    path: &std::path::Path,
    offset: u64,
    length: u64,
    send: &mut quinn::SendStream,
) -> bool {
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        let _ = send.reset(u32::from(ErrorReport::UNAVAILABLE).into());
        return false;
    };
    if tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(offset))
        .await
        .is_err()
    {
        let _ = send.reset(u32::from(ErrorReport::UNAVAILABLE).into());
        return false;
    }
    let mut buf = vec![0u8; 256 * 1024];
    let mut sent = offset;
    while sent < length {
        let n = match file.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = send.reset(u32::from(ErrorReport::UNAVAILABLE).into());
                return false;
            }
            Ok(n) => n.min(usize::try_from(length - sent).unwrap_or(usize::MAX)),
        };
        // The requesting side may stop the stream (a byte limit, or it went away): the rest
        // is sent when it fetches again.
        if send.write_all(&buf[..n]).await.is_err() {
            return false;
        }
        sent += n as u64;
    }
    true
}
