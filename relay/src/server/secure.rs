//! Binding and spawning the secure listeners (TLS, wss, WebTransport) and the
//! state the HTTP endpoints need (`/webtransport`, `/credentials`), kept out
//! of `mod.rs` so the plain transports' code stays as it was.

use super::credentials::Minting;
use super::tls::{PemIdentity, ALPN_HTTP1, ALPN_TURN};
use super::webtransport::{WtListener, WtPublished};
use super::Shared;
use crate::config::Config;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// What the shells share about the secure transports.
#[derive(Debug, Default)]
pub(crate) struct SecureShared {
    /// The WebTransport listener's address (the 5-tuple's local side).
    pub(crate) wt_local: Option<SocketAddr>,
    /// `/webtransport` contents; `None` without a WebTransport listener.
    pub(crate) wt: Option<Arc<WtPublished>>,
    /// `/credentials`; `None` when off.
    pub(crate) minting: Option<Minting>,
}

/// Bound, not yet serving.
pub(super) struct SecureListeners {
    tls: Option<(TcpListener, TlsAcceptor)>,
    wss: Option<(TcpListener, TlsAcceptor)>,
    wt: Option<WtListener>,
}

impl SecureListeners {
    pub(super) async fn bind(cfg: &Config) -> io::Result<Self> {
        let s = &cfg.secure;
        let pem = match (&s.tls_cert, &s.tls_key) {
            (Some(c), Some(k)) => Some(PemIdentity::load(c, k)?),
            _ => None,
        };
        let tls_for = |alpn: &[&[u8]]| -> io::Result<TlsAcceptor> {
            let pem = pem.as_ref().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "TLS needs --tls-cert/--tls-key",
                )
            })?;
            Ok(pem.acceptor(alpn)?)
        };
        let tls = match s.tls_listen {
            Some(a) => Some((TcpListener::bind(a).await?, tls_for(&[ALPN_TURN])?)),
            None => None,
        };
        let wss = match s.wss_listen {
            Some(a) => Some((TcpListener::bind(a).await?, tls_for(&[ALPN_HTTP1])?)),
            None => None,
        };
        let wt = match s.wt_listen {
            Some(a) => Some(WtListener::bind(a, s, s.wt_rotation).await?),
            None => None,
        };
        Ok(SecureListeners { tls, wss, wt })
    }

    pub(super) fn shared(&self, cfg: &Config) -> SecureShared {
        let minting = match (
            &cfg.secure.credentials_api_key,
            cfg.static_auth_secrets.first(),
        ) {
            (Some(key), Some(secret)) => Some(Minting::new(
                key,
                secret,
                cfg.secure.credentials_ttl,
                cfg.secure.credentials_uris.clone(),
            )),
            _ => None,
        };
        SecureShared {
            wt_local: self.wt.as_ref().and_then(|w| w.local_addr()),
            wt: self.wt.as_ref().map(|w| w.published.clone()),
            minting,
        }
    }

    /// (tls, wss, webtransport) local addresses.
    pub(super) fn addrs(&self) -> [Option<SocketAddr>; 3] {
        [
            self.tls.as_ref().and_then(|(l, _)| l.local_addr().ok()),
            self.wss.as_ref().and_then(|(l, _)| l.local_addr().ok()),
            self.wt.as_ref().and_then(|w| w.local_addr()),
        ]
    }

    pub(super) fn spawn(self, shared: &Arc<Shared>) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some((l, acceptor)) = self.tls {
            tasks.push(tokio::spawn(super::tls::serve_tls(
                shared.clone(),
                l,
                acceptor,
            )));
        }
        if let Some((l, acceptor)) = self.wss {
            tasks.push(tokio::spawn(super::http::serve_tls(
                shared.clone(),
                l,
                acceptor,
            )));
        }
        if let Some(w) = self.wt {
            tasks.push(tokio::spawn(super::webtransport::serve(shared.clone(), w)));
        }
        tasks
    }
}
