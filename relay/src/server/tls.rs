//! TURN over TLS (`turns:`, RFC 8656 §3.1): a TLS server on rustls with the
//! `ring` provider wrapping exactly the TCP stream session (RFC 8656 §12.5
//! framing). The same certificate serves `wss://` in `http.rs`.

use super::Shared;
use crate::allocation::{ClientId, ClientTransport};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A TLS handshake that takes longer is dropped (slow-loris on the handshake).
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// ALPN for TURN over TLS (RFC 7443 §6: "stun.turn").
pub const ALPN_TURN: &[u8] = b"stun.turn";
/// ALPN for the HTTP/WebSocket listener.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// Why a certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read certificate {path}: {source}")]
    Cert {
        path: String,
        source: rustls_pki_types::pem::Error,
    },
    #[error("certificate file {0} holds no certificate")]
    NoCert(String),
    #[error("cannot read private key {path}: {source}")]
    Key {
        path: String,
        source: rustls_pki_types::pem::Error,
    },
    #[error("certificate and key rejected: {0}")]
    Rustls(#[from] rustls::Error),
}

impl From<TlsSetupError> for io::Error {
    fn from(e: TlsSetupError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// Certificate chain and key read from PEM files.
pub(super) struct PemIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl PemIdentity {
    pub(super) fn load(cert: &Path, key: &Path) -> Result<Self, TlsSetupError> {
        let cert_name = cert.display().to_string();
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|source| TlsSetupError::Cert {
                path: cert_name.clone(),
                source,
            })?;
        if chain.is_empty() {
            return Err(TlsSetupError::NoCert(cert_name));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsSetupError::Key {
            path: key.display().to_string(),
            source,
        })?;
        Ok(PemIdentity { chain, key })
    }

    /// A rustls server config on the `ring` provider offering `alpn`.
    pub(super) fn acceptor(&self, alpn: &[&[u8]]) -> Result<TlsAcceptor, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(TlsAcceptor::from(Arc::new(cfg)))
    }
}

/// Accept TLS connections and run the TCP stream session inside each.
pub(super) async fn serve_tls(shared: Arc<Shared>, listener: TcpListener, acceptor: TlsAcceptor) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let Ok(local) = stream.local_addr() else { continue };
                    if shared.at_connection_limit() {
                        tracing::warn!(%remote, "connection limit reached");
                        continue;
                    }
                    let shared = shared.clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(%remote, error = %e, "tls handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                        let Some((id, rx)) = shared.new_conn(ClientTransport::Tls) else {
                            return;
                        };
                        let client = ClientId { transport: ClientTransport::Tls, remote, local, conn: id };
                        super::stream::handle_stream(shared, tls, client, rx).await;
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "tls accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}
