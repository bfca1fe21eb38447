//! QUIC with mutual TLS between the nodes of a deployment.
//!
//! Both ends use TLS 1.3 only, on the ring provider, with ALPN `evx/1`, and **no 0-RTT**: the
//! rustls configurations are built here rather than by quinn's helpers, which would enable
//! early data (replayable by an attacker). The server demands a client certificate from the
//! deployment's CA that is not on its CRL; the client checks the server's likewise. The CA
//! only says "this is a node of the network": which party a connection belongs to is decided by
//! the peer registry, from the SHA-256 of the certificate's public key ([`peer_spki_sha256`]).

use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::pki::ConfigError;

/// The ALPN protocol id.
pub const ALPN: &[u8] = b"evx/1";

/// Limits on one connection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Concurrent bidirectional streams a peer may open.
    pub max_streams: u32,
    /// A connection idle this long is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_streams: 64,
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// What a node presents and trusts.
pub struct TlsFiles {
    /// Its certificate chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// Its private key.
    pub key: PrivateKeyDer<'static>,
    /// The deployment CA.
    pub roots: Arc<RootCertStore>,
    /// The CA's revocation lists.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::Read {
        file: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn bad(path: &std::path::Path, what: &str) -> ConfigError {
    ConfigError::Read {
        file: path.display().to_string(),
        reason: format!("not a PEM {what}"),
    }
}

impl TlsFiles {
    /// Loads a node's certificate and key, the CA certificate and the CRL (all PEM).
    pub fn load(
        cert: &std::path::Path,
        key: &std::path::Path,
        ca: &std::path::Path,
        crl: &std::path::Path,
    ) -> Result<Self, ConfigError> {
        let chain = CertificateDer::pem_slice_iter(&read(cert)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad(cert, "certificate"))?;
        if chain.is_empty() {
            return Err(bad(cert, "certificate"));
        }
        let key_der =
            PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|_| bad(key, "private key"))?;
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&read(ca)?) {
            roots
                .add(c.map_err(|_| bad(ca, "certificate"))?)
                .map_err(|e| ConfigError::Read {
                    file: ca.display().to_string(),
                    reason: format!("not a usable CA certificate: {e}"),
                })?;
        }
        let crls = CertificateRevocationListDer::pem_slice_iter(&read(crl)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad(crl, "CRL"))?;
        // No CRL would mean no revocation check at all: fail closed.
        if crls.is_empty() {
            return Err(ConfigError::Read {
                file: crl.display().to_string(),
                reason: "holds no CRL; revocation cannot be checked without one (`evx pki revoke` or `evx pki init` writes it)".into(),
            });
        }
        Ok(Self {
            chain,
            key: key_der,
            roots: Arc::new(roots),
            crls,
        })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Pki(format!("TLS configuration: {e}"))
}

fn transport(limits: Limits) -> Result<Arc<quinn::TransportConfig>, ConfigError> {
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_bidi_streams(limits.max_streams.into());
    t.max_concurrent_uni_streams(0u32.into());
    // Keep-alives well inside the idle timeout: a connection waiting on a long decision or
    // on the sealing of a large package is not taken for a dead one.
    t.keep_alive_interval(Some(limits.idle_timeout / 3));
    t.max_idle_timeout(Some(
        limits
            .idle_timeout
            .try_into()
            .map_err(|e| tls_error(format!("idle timeout: {e}")))?,
    ));
    Ok(Arc::new(t))
}

/// The server side: TLS 1.3, a client certificate from the CA and not revoked, no early data.
pub fn server_config(files: &TlsFiles, limits: Limits) -> Result<quinn::ServerConfig, ConfigError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(files.roots.clone(), provider())
        .with_crls(files.crls.clone())
        .build()
        .map_err(tls_error)?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(files.chain.clone(), files.key.clone_key())
        .map_err(tls_error)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    tls.send_tls13_tickets = 0;
    let quic = QuicServerConfig::try_from(tls).map_err(tls_error)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    config.transport_config(transport(limits)?);
    Ok(config)
}

/// The client side: TLS 1.3, the server's certificate from the CA and not revoked, its own
/// certificate presented, no early data.
pub fn client_config(files: &TlsFiles, limits: Limits) -> Result<quinn::ClientConfig, ConfigError> {
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        files.roots.clone(),
        provider(),
    )
    .with_crls(files.crls.clone())
    .build()
    .map_err(tls_error)?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error)?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(files.chain.clone(), files.key.clone_key())
        .map_err(tls_error)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.enable_early_data = false;
    let quic = QuicClientConfig::try_from(tls).map_err(tls_error)?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(transport(limits)?);
    Ok(config)
}

/// SHA-256 of the peer's end-entity certificate's SubjectPublicKeyInfo, lowercase hex: the key
/// the peer registry maps to a party. `None` if the peer presented no certificate.
pub fn peer_spki_sha256(connection: &quinn::Connection) -> Option<String> {
    let identity = connection.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    let cert = chain.first()?;
    let ee = webpki::EndEntityCert::try_from(cert).ok()?;
    let spki = ee.subject_public_key_info();
    Some(
        evx_protocol::crypto::sha256(spki.as_ref())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// Why a connection failed, as a node reports it.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The peer refused this node's certificate, or this node refused the peer's: not a node of
    /// this deployment, revoked, or expired.
    #[error("authentication failed: {0}")]
    Authentication(String),
    /// Anything else: unreachable, timed out, closed.
    #[error("connection failed: {0}")]
    Other(String),
}

impl ConnectError {
    /// Classifies a quinn connection error: TLS alerts about certificates are authentication
    /// failures. In TLS 1.3 the client's handshake completes before the server has judged the
    /// client's certificate, so the server's refusal arrives as a connection close on the first
    /// stream; this turns it back into what it is.
    pub fn from_connection(e: &quinn::ConnectionError) -> Self {
        let text = e.to_string();
        let auth = matches!(e, quinn::ConnectionError::TransportError(t) if t.code.to_string().contains("crypto"))
            || matches!(e, quinn::ConnectionError::ConnectionClosed(c) if {
                let code: u64 = c.error_code.into();
                // 0x100 + TLS alert: bad_certificate 42, unsupported 43, revoked 44, expired 45,
                // unknown 46, unknown_ca 48, access_denied 49, certificate_required 116.
                matches!(code.checked_sub(0x100), Some(42..=46 | 48 | 49 | 116))
            })
            // The peer's registry does not list this node's certificate key (evx's own close
            // code, the error report code UNKNOWN_PARTY).
            || matches!(e, quinn::ConnectionError::ApplicationClosed(a)
                if u64::from(a.error_code) == u64::from(evx_protocol::frame::ErrorReport::UNKNOWN_PARTY))
            || text.contains("certificate");
        if auth {
            Self::Authentication(text)
        } else {
            Self::Other(text)
        }
    }
}
