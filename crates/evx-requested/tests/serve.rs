//! Two nodes on loopback over QUIC with mutual TLS: a request is acknowledged and decided on
//! its stream; garbage gets an error report and the connection carries on; a replay is
//! refused; a node whose key the registry does not list is turned away.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use evx_node::pki::{self, NodeConfig, RegistryFile};
use evx_node::transport::{Limits, TlsFiles, client_config, server_config};
use evx_protocol::crypto::KeyFile;
use evx_protocol::document::{DataCategory, Outcome, Signed};
use evx_protocol::frame::{ErrorReport, Frame, Message};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use evx_protocol::sample;
use evx_requested::server::Desk;

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn files(c: &NodeConfig) -> TlsFiles {
    TlsFiles::load(&c.keys.tls_cert, &c.keys.tls_key, &c.ca_cert, &c.crl).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sends `bytes` on a new stream and returns the messages that come back.
async fn exchange(conn: &quinn::Connection, bytes: &[u8]) -> Result<Vec<Message>, String> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    send.write_all(bytes).await.map_err(|e| e.to_string())?;
    send.finish().map_err(|e| e.to_string())?;
    let mut reply = recv
        .read_to_end(1 << 20)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let mut out = Vec::new();
    while let Some((frame, used)) = Frame::decode_prefix(&reply).map_err(|e| e.to_string())? {
        out.push(Message::from_frame(&frame).map_err(|e| e.to_string())?);
        reply.drain(..used);
    }
    Ok(out)
}

async fn connect(files: &TlsFiles, addr: SocketAddr) -> (quinn::Endpoint, quinn::Connection) {
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(client_config(files, Limits::default()).unwrap());
    let conn = client.connect(addr, "localhost").unwrap().await.unwrap();
    (client, conn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_quic() {
    let dir = Dir(std::env::temp_dir().join(format!("evx-serve-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let (de_id, ie_id) = (
        PartyId::new("DE-BfJ").unwrap(),
        PartyId::new("IE-provider-LERT").unwrap(),
    );
    let d = pki::init(&dir.0, (&de_id, "Germany"), (&ie_id, "Provider"), now()).unwrap();
    let de = NodeConfig::load(&d.requesting_config).unwrap();
    let ie = NodeConfig::load(&d.requested_config).unwrap();
    let desk = Arc::new(Desk::open(&ie).unwrap());
    let registry = Arc::new(RegistryFile::load(&ie.registry).unwrap());
    let endpoint = quinn::Endpoint::server(
        server_config(&files(&ie), Limits::default()).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let addr = endpoint.local_addr().unwrap();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(evx_requested::serve::run(
        endpoint.clone(),
        desk.clone(),
        registry,
        stopping,
    ));

    let police = KeyFile::parse(&std::fs::read_to_string(&de.keys.documents).unwrap())
        .unwrap()
        .signing_key()
        .unwrap();
    let provider = KeyFile::parse(&std::fs::read_to_string(&ie.keys.documents).unwrap())
        .unwrap()
        .signing_key()
        .unwrap()
        .verifying_key();
    let request = |id: u8| {
        let mut r = sample::production_request(RequestId([id; 16]));
        r.issued_at = UnixTime(now());
        r.categories = vec![DataCategory::Subscriber];
        Message::Request(Signed::sign(&r, &police).unwrap()).encode()
    };

    let (_client, conn) = connect(&files(&de), addr).await;
    // Garbage first: an error report on that stream.
    let reply = exchange(&conn, b"\x00\x00\x00\x02\x09\x01").await.unwrap();
    assert!(
        matches!(&reply[..], [Message::Error(r)] if r.code() == ErrorReport::UNSUPPORTED_VERSION)
    );
    // Then a request on the same connection: acknowledged and decided.
    let reply = exchange(&conn, &request(1)).await.unwrap();
    match &reply[..] {
        [Message::Acknowledgement(ack), Message::Decision(decision)] => {
            let ack = ack.verify(&provider).unwrap();
            assert!(ack.log_entry.is_some());
            assert!(matches!(
                decision.verify(&provider).unwrap().outcome,
                Outcome::Accept { .. }
            ));
        }
        other => panic!("expected an acknowledgement and a decision, got {other:?}"),
    }
    // The same request again: a replay.
    let reply = exchange(&conn, &request(1)).await.unwrap();
    assert!(matches!(&reply[..], [Message::Error(r)] if r.code() == ErrorReport::REPLAY));
    // A stream with something else than a request first.
    let offer_first = Message::PackageOffer(evx_protocol::delivery::PackageOffer {
        v: 1,
        request_id: RequestId([1; 16]),
        package_id: evx_protocol::ids::PackageId([2; 32]),
        length: 0,
        offset: 0,
    })
    .encode();
    let reply = exchange(&conn, &offer_first).await.unwrap();
    assert!(
        matches!(&reply[..], [Message::Error(r)] if r.code() == ErrorReport::UNEXPECTED_MESSAGE)
    );
    // An error report first: not answered with another.
    let error_first = Message::Error(ErrorReport::new(1, "x")).encode();
    assert!(exchange(&conn, &error_first).await.unwrap().is_empty());

    // A node of the deployment that the server's registry does not list is turned away.
    let fr = pki::issue(
        &dir.0,
        &PartyId::new("FR-PNC").unwrap(),
        "France",
        4440,
        now(),
    )
    .unwrap();
    let fr = NodeConfig::load(&fr).unwrap();
    let (_c2, conn2) = connect(&files(&fr), addr).await;
    let e = exchange(&conn2, &request(2)).await.unwrap_err();
    assert!(e.contains("not in the registry"), "{e}");

    assert_eq!(desk.audit().verify().unwrap().entries, 2);
    conn.close(0u32.into(), b"done");
    stop.send(true).unwrap();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
}
