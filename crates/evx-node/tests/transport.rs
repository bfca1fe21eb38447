//! QUIC with mutual TLS between two nodes on loopback: a node of the deployment is admitted and
//! mapped to its party; a certificate from another CA, a revoked certificate and 0-RTT are
//! refused, and the client learns that authentication failed.

mod common;

use common::TempDir;
use std::net::SocketAddr;
use std::path::Path;

use evx_node::pki::{self, NodeConfig, RegistryFile};
use evx_node::transport::{
    ConnectError, Limits, TlsFiles, client_config, peer_spki_sha256, server_config,
};
use evx_protocol::ids::PartyId;

const NOW: u64 = 1_795_165_200;

fn deployment(tag: &str) -> (TempDir, NodeConfig, NodeConfig) {
    let dir = TempDir::new(tag);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .max(NOW);
    let d = pki::init(
        &dir.0,
        (&PartyId::new("DE-BfJ").unwrap(), "Germany"),
        (&PartyId::new("IE-provider-LERT").unwrap(), "Provider"),
        now,
    )
    .unwrap();
    let a = NodeConfig::load(&d.requesting_config).unwrap();
    let b = NodeConfig::load(&d.requested_config).unwrap();
    (dir, a, b)
}

fn files(c: &NodeConfig) -> TlsFiles {
    TlsFiles::load(&c.keys.tls_cert, &c.keys.tls_key, &c.ca_cert, &c.crl).unwrap()
}

/// An echo server that reports the party of each connection it admits.
fn server(
    files: &TlsFiles,
    registry: &Path,
) -> (
    quinn::Endpoint,
    SocketAddr,
    tokio::task::JoinHandle<Vec<String>>,
) {
    let config = server_config(files, Limits::default()).unwrap();
    let endpoint = quinn::Endpoint::server(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let registry = RegistryFile::load(registry).unwrap();
    let ep = endpoint.clone();
    let task = tokio::spawn(async move {
        let mut parties = Vec::new();
        while let Some(incoming) = ep.accept().await {
            let Ok(conn) = incoming.await else { continue };
            let party = peer_spki_sha256(&conn)
                .and_then(|h| registry.party_by_tls(&h).map(|p| p.id.to_string()))
                .unwrap_or_else(|| "unknown".into());
            parties.push(party);
            if let Ok((mut send, mut recv)) = conn.accept_bi().await
                && let Ok(msg) = recv.read_to_end(1024).await
            {
                let _ = send.write_all(&msg).await;
                let _ = send.finish();
                let _ = conn.closed().await;
            }
        }
        parties
    });
    (endpoint, addr, task)
}

async fn ping(files: &TlsFiles, addr: SocketAddr) -> Result<Vec<u8>, ConnectError> {
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(client_config(files, Limits::default()).unwrap());
    let conn = client
        .connect(addr, "localhost")
        .map_err(|e| ConnectError::Other(e.to_string()))?
        .await
        .map_err(|e| ConnectError::from_connection(&e))?;
    let result = async {
        let (mut send, mut recv) = conn
            .open_bi()
            .await
            .map_err(|e| ConnectError::from_connection(&e))?;
        send.write_all(b"ping")
            .await
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        send.finish()
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        recv.read_to_end(1024).await.map_err(|e| match e {
            quinn::ReadToEndError::Read(quinn::ReadError::ConnectionLost(c)) => {
                ConnectError::from_connection(&c)
            }
            other => ConnectError::Other(other.to_string()),
        })
    }
    .await;
    conn.close(0u32.into(), b"done");
    client.wait_idle().await;
    result
}

#[tokio::test]
async fn a_node_of_the_deployment_is_admitted_and_mapped_to_its_party() {
    let (_dir, de, ie) = deployment("ok");
    let (endpoint, addr, task) = server(&files(&ie), &ie.registry);
    assert_eq!(ping(&files(&de), addr).await.unwrap(), b"ping");
    endpoint.close(0u32.into(), b"bye");
    endpoint.wait_idle().await;
    drop(endpoint);
    let parties = task.await.unwrap();
    assert_eq!(parties, ["DE-BfJ"]);
}

#[tokio::test]
async fn another_ca_and_a_revoked_certificate_are_refused_as_authentication_failures() {
    let (dir, de, ie) = deployment("refused");
    let (_other_dir, stranger, _) = deployment("stranger");
    let (endpoint, addr, _task) = server(&files(&ie), &ie.registry);

    // A client whose certificate comes from another deployment's CA (trusting ours).
    let mut forged = files(&stranger);
    let ours = files(&de);
    forged.roots = ours.roots.clone();
    forged.crls = ours.crls.clone();
    match ping(&forged, addr).await {
        Err(ConnectError::Authentication(_)) => {}
        other => panic!("expected an authentication failure, got {other:?}"),
    }
    // A client that trusts another CA refuses our server.
    assert!(matches!(
        ping(&files(&stranger), addr).await,
        Err(ConnectError::Authentication(_))
    ));
    endpoint.close(0u32.into(), b"bye");

    // DE's certificate revoked: a server with the new CRL refuses it.
    pki::revoke(&dir.0, &PartyId::new("DE-BfJ").unwrap(), NOW + 60).unwrap();
    let (endpoint, addr, _task) = server(&files(&ie), &ie.registry);
    assert!(matches!(
        ping(&files(&de), addr).await,
        Err(ConnectError::Authentication(_))
    ));
    endpoint.close(0u32.into(), b"bye");
}

#[tokio::test]
async fn zero_rtt_is_not_possible() {
    let (_dir, de, ie) = deployment("0rtt");
    let (endpoint, addr, _task) = server(&files(&ie), &ie.registry);
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(client_config(&files(&de), Limits::default()).unwrap());
    // A first, full handshake (which would hand out a session ticket if the server sent any).
    let first = client.connect(addr, "localhost").unwrap().await.unwrap();
    first.close(0u32.into(), b"done");
    // The second attempt cannot send early data.
    let connecting = client.connect(addr, "localhost").unwrap();
    assert!(connecting.into_0rtt().is_err(), "0-RTT must be refused");
    endpoint.close(0u32.into(), b"bye");
}
