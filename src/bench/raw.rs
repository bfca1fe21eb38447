//! The baseline: plain quinn with the same certificates and mutual TLS, and nothing of evx —
//! no framing, no documents, no log. An echo of a request-sized message on a new stream, a
//! bulk download on one stream, and new connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use evx_node::transport::TlsFiles;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};

use super::Error;

const ALPN: &[u8] = b"evx-bench-raw";
/// The bulk download's write size.
const BLOCK: usize = 1 << 20;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// quinn's server with default transport settings, TLS 1.3, a client certificate from the CA.
fn server_config(files: &TlsFiles) -> Result<quinn::ServerConfig, Error> {
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        files.roots.clone(),
        provider(),
    )
    .build()?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(files.chain.clone(), files.key.clone_key())?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    Ok(quinn::ServerConfig::with_crypto(Arc::new(
        QuicServerConfig::try_from(tls)?,
    )))
}

/// quinn's client with default transport settings, presenting its certificate.
pub(crate) fn client_config(files: &TlsFiles) -> Result<quinn::ClientConfig, Error> {
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(files.roots.clone())
        .with_client_auth_cert(files.chain.clone(), files.key.clone_key())?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    Ok(quinn::ClientConfig::new(Arc::new(
        QuicClientConfig::try_from(tls)?,
    )))
}

/// The baseline server: on each stream, `E` + bytes is echoed back; `B` + a length (u64, big
/// endian) is answered with that many bytes.
pub(crate) struct Server {
    pub(crate) endpoint: quinn::Endpoint,
    pub(crate) addr: SocketAddr,
}

impl Server {
    pub(crate) fn start(files: &TlsFiles) -> Result<Self, Error> {
        let endpoint = quinn::Endpoint::server(server_config(files)?, "127.0.0.1:0".parse()?)?;
        let addr = endpoint.local_addr()?;
        let accepting = endpoint.clone();
        tokio::spawn(async move {
            while let Some(incoming) = accepting.accept().await {
                tokio::spawn(async move {
                    let Ok(conn) = incoming.await else { return };
                    while let Ok((send, recv)) = conn.accept_bi().await {
                        tokio::spawn(answer(send, recv));
                    }
                });
            }
        });
        Ok(Self { endpoint, addr })
    }
}

async fn answer(mut send: quinn::SendStream, mut recv: quinn::RecvStream) {
    let Ok(message) = recv.read_to_end(1 << 20).await else {
        return;
    };
    match message.split_first() {
        Some((b'E', rest)) => {
            let _ = send.write_all(rest).await;
        }
        Some((b'B', len)) => {
            let Ok(len) = <[u8; 8]>::try_from(len).map(u64::from_be_bytes) else {
                return;
            };
            let block = vec![0x5a; BLOCK];
            let mut left = len;
            while left > 0 {
                let n = left.min(BLOCK as u64) as usize;
                if send.write_all(&block[..n]).await.is_err() {
                    return;
                }
                left -= n as u64;
            }
        }
        _ => return,
    }
    let _ = send.finish();
}

/// A client connection to the baseline server.
pub(crate) async fn connect(
    files: &TlsFiles,
    addr: SocketAddr,
) -> Result<(quinn::Endpoint, quinn::Connection), Error> {
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse()?)?;
    endpoint.set_default_client_config(client_config(files)?);
    let conn = endpoint.connect(addr, "localhost")?.await?;
    Ok((endpoint, conn))
}

/// One echo of `message` on a new bidirectional stream.
pub(crate) async fn echo(conn: &quinn::Connection, message: &[u8]) -> Result<Duration, Error> {
    let start = Instant::now();
    let (mut send, mut recv) = conn.open_bi().await?;
    let mut framed = Vec::with_capacity(message.len() + 1);
    framed.push(b'E');
    framed.extend_from_slice(message);
    send.write_all(&framed).await?;
    send.finish()?;
    let back = recv.read_to_end(message.len() + 1).await?;
    if back.len() != message.len() {
        return Err(format!(
            "echo of {} bytes came back as {}",
            message.len(),
            back.len()
        )
        .into());
    }
    Ok(start.elapsed())
}

/// Downloads `bytes` on one stream; returns how long it took.
pub(crate) async fn download(conn: &quinn::Connection, bytes: u64) -> Result<Duration, Error> {
    let start = Instant::now();
    let (mut send, mut recv) = conn.open_bi().await?;
    let mut ask = vec![b'B'];
    ask.extend_from_slice(&bytes.to_be_bytes());
    send.write_all(&ask).await?;
    send.finish()?;
    let mut got = 0u64;
    while let Some(chunk) = recv.read_chunk(usize::MAX, true).await? {
        got += chunk.bytes.len() as u64;
    }
    if got != bytes {
        return Err(format!("the download stopped at {got} of {bytes} bytes").into());
    }
    Ok(start.elapsed())
}
