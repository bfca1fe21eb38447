//! Frames on QUIC streams between two nodes: garbage, a wrong version, an oversized length and
//! a truncated frame each get their error report on their own stream, and a legitimate request
//! on the same connection still goes through. And the per-party rate limit.

mod common;

use common::TempDir;
use std::time::{Duration, Instant};

use evx_node::pki::{self, NodeConfig};
use evx_node::transport::{Limits, TlsFiles, client_config, server_config};
use evx_node::wire::{RateLimit, WireError, read_message, refuse, write_message};
use evx_protocol::crypto::SigningKey;
use evx_protocol::document::Signed;
use evx_protocol::frame::{ErrorReport, Message};
use evx_protocol::ids::{PartyId, RequestId};
use evx_protocol::sample;

fn files(c: &NodeConfig) -> TlsFiles {
    TlsFiles::load(&c.keys.tls_cert, &c.keys.tls_key, &c.ca_cert, &c.crl).unwrap()
}

#[tokio::test]
async fn malformed_frames_are_answered_and_the_connection_carries_on() {
    let dir = TempDir::new("wire");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let d = pki::init(
        &dir.0,
        (&PartyId::new("DE-BfJ").unwrap(), "Germany"),
        (&PartyId::new("IE-provider-LERT").unwrap(), "Provider"),
        now,
    )
    .unwrap();
    let (de, ie) = (
        NodeConfig::load(&d.requesting_config).unwrap(),
        NodeConfig::load(&d.requested_config).unwrap(),
    );
    let server = quinn::Endpoint::server(
        server_config(&files(&ie), Limits::default()).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let addr = server.local_addr().unwrap();
    // The server: each stream carries one message; it echoes what it accepts.
    let srv = server.clone();
    tokio::spawn(async move {
        while let Some(incoming) = srv.accept().await {
            let Ok(conn) = incoming.await else { continue };
            tokio::spawn(async move {
                while let Ok((mut send, mut recv)) = conn.accept_bi().await {
                    tokio::spawn(async move {
                        match read_message(&mut recv).await {
                            Ok(Some(m)) => {
                                let _ = write_message(&mut send, &m).await;
                                let _ = send.finish();
                            }
                            Ok(None) => {}
                            Err(WireError::Frame(e)) => {
                                let _ = refuse(&mut send, &e).await;
                            }
                            Err(WireError::Stream(_)) => {}
                        }
                    });
                }
            });
        }
    });

    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(client_config(&files(&de), Limits::default()).unwrap());
    let conn = client.connect(addr, "localhost").unwrap().await.unwrap();
    let exchange = |bytes: Vec<u8>| {
        let conn = conn.clone();
        async move {
            let (mut send, mut recv) = conn.open_bi().await.unwrap();
            send.write_all(&bytes).await.unwrap();
            send.finish().unwrap();
            let reply = recv.read_to_end(1 << 20).await.unwrap();
            Message::decode(&reply).unwrap()
        }
    };
    let code = |m: Message| match m {
        Message::Error(r) => r.code(),
        other => panic!("expected an error report, got {other:?}"),
    };
    // A wrong version, an unknown kind, an oversized length (refused from its header), a
    // truncated frame, plain garbage.
    assert_eq!(
        code(exchange(vec![0, 0, 0, 2, 9, 1]).await),
        ErrorReport::UNSUPPORTED_VERSION
    );
    assert_eq!(
        code(exchange(vec![0, 0, 0, 2, 1, 0x42]).await),
        ErrorReport::UNKNOWN_KIND
    );
    assert_eq!(
        code(exchange(vec![0xff, 0xff, 0xff, 0xff, 1, 1]).await),
        ErrorReport::TOO_LARGE
    );
    assert_eq!(
        code(exchange(vec![0, 0, 0, 50, 1, 1, 7, 7]).await),
        ErrorReport::MALFORMED_FRAME
    );
    assert_eq!(
        code(exchange(b"GET / HTTP/1.1\r\n\r\n".to_vec()).await),
        ErrorReport::UNSUPPORTED_VERSION
    );
    // A body that is not a signed request.
    let mut junk = vec![0, 0, 0, 12, 1, 1];
    junk.extend_from_slice(&[0xaa; 10]);
    assert_eq!(code(exchange(junk).await), ErrorReport::MALFORMED_DOCUMENT);
    // And then a legitimate request on the same connection.
    let key = SigningKey::from_seed(&[1; 32]);
    let request = Message::Request(
        Signed::sign(&sample::production_request(RequestId([3; 16])), &key).unwrap(),
    );
    assert_eq!(exchange(request.encode()).await, request);
    conn.close(0u32.into(), b"done");
    server.close(0u32.into(), b"bye");
}

#[test]
fn the_rate_limit_allows_bursts_and_refills() {
    let mut limit = RateLimit::new(2.0, 3);
    let (a, b) = (
        PartyId::new("DE-BfJ").unwrap(),
        PartyId::new("FR-PNC").unwrap(),
    );
    let t0 = Instant::now();
    assert!((0..3).all(|_| limit.allow(&a, t0)));
    assert!(!limit.allow(&a, t0), "the burst is spent");
    assert!(limit.retry_after(&a) > Duration::ZERO);
    assert!(limit.allow(&b, t0), "parties have their own budgets");
    assert!(
        limit.allow(&a, t0 + Duration::from_millis(500)),
        "refilled at 2 per second"
    );
    assert!(!limit.allow(&a, t0 + Duration::from_millis(500)));
}
