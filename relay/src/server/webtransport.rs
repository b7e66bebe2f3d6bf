//! WebTransport over HTTP/3 (`wtransport`): the listener, its certificate
//! (configured, or self-signed and rotated by [`crate::certs::Rotation`]),
//! and the `/webtransport` document publishing the URL and certificate
//! hashes for `serverCertificateHashes`. The session itself is in
//! `wt_session.rs`.

use super::{lock, Shared};
use crate::certs::{unix_secs, CertWindow, Rotation, RotationEvent, RotationPolicy};
use crate::secure_config::SecureConfig;
use base64::Engine;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use wtransport::endpoint::endpoint_side;
use wtransport::tls::self_signed::time::OffsetDateTime;
use wtransport::{Endpoint, Identity, ServerConfig};

/// The WebTransport session path (the only one served).
pub const SESSION_PATH: &str = "/turn";
/// QUIC keep-alive, so idle-but-allocated sessions survive NATs.
const KEEP_ALIVE: Duration = Duration::from_secs(10);
const MAX_IDLE: Duration = Duration::from_secs(30);
/// Re-check the rotation at least this often (catches wall-clock jumps).
const MAX_ROTATION_SLEEP: Duration = Duration::from_secs(3600);

/// Why the WebTransport listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WtSetupError {
    #[error("certificate name rejected")]
    InvalidSan,
    #[error("certificate time out of range")]
    Time,
    #[error("cannot load certificate: {0}")]
    Pem(String),
    #[error("invalid idle timeout")]
    IdleTimeout,
}

impl From<WtSetupError> for io::Error {
    fn from(e: WtSetupError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// One published certificate hash.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PublishedHash {
    sha256: [u8; 32],
    not_after: u64,
}

/// What `/webtransport` answers; updated on rotation.
#[derive(Debug)]
pub(crate) struct WtPublished {
    port: u16,
    listen: SocketAddr,
    host: Option<String>,
    hashes: Mutex<Vec<PublishedHash>>,
}

#[derive(serde::Serialize)]
struct HashJson {
    algorithm: &'static str,
    value: String,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct InfoJson {
    url: String,
    certificate_hashes: Vec<HashJson>,
    /// Unix seconds after which the document must be fetched again (the
    /// earliest expiry among the published certificates); absent with a CA
    /// certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<u64>,
}

impl WtPublished {
    fn set(&self, hashes: Vec<PublishedHash>) {
        *lock(&self.hashes) = hashes;
    }

    /// The JSON document; the URL's host is `--wt-host`, else the host the
    /// client used for this HTTP request, else the listen IP.
    pub(crate) fn json(&self, request_host: Option<&str>) -> String {
        let host = self
            .host
            .clone()
            .or_else(|| request_host.map(strip_port).filter(|h| plausible_host(h)))
            .unwrap_or_else(|| match self.listen {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            });
        let hashes = lock(&self.hashes).clone();
        let b64 = base64::engine::general_purpose::STANDARD;
        let info = InfoJson {
            url: format!("https://{host}:{}{SESSION_PATH}", self.port),
            expires: hashes.iter().map(|h| h.not_after).min(),
            certificate_hashes: hashes
                .iter()
                .map(|h| HashJson {
                    algorithm: "sha-256",
                    value: b64.encode(h.sha256),
                })
                .collect(),
        };
        serde_json::to_string(&info).unwrap_or_default()
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` → the host part.
fn strip_port(h: &str) -> String {
    let h = h.trim();
    if let Some(end) = h.find(']') {
        return h.get(..=end).unwrap_or(h).to_string();
    }
    match h.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_string(),
        _ => h.to_string(),
    }
}

/// A host name, IPv4 or bracketed IPv6 literal: the request's Host is
/// echoed into the URL only if it looks like one.
fn plausible_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

fn offset_time(t: SystemTime) -> Result<OffsetDateTime, WtSetupError> {
    let secs = i64::try_from(unix_secs(t)).map_err(|_| WtSetupError::Time)?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| WtSetupError::Time)
}

/// An ECDSA P-256 self-signed identity for `window` (the only kind a
/// browser pins by hash).
fn issue(sans: &[String], window: CertWindow) -> Result<Identity, WtSetupError> {
    Identity::self_signed_builder()
        .subject_alt_names(sans)
        .not_before(offset_time(window.not_before)?)
        .not_after(offset_time(window.not_after)?)
        .build()
        .map_err(|_| WtSetupError::InvalidSan)
}

fn server_config(addr: SocketAddr, identity: &Identity) -> Result<ServerConfig, WtSetupError> {
    Ok(ServerConfig::builder()
        .with_bind_address(addr)
        .with_identity(identity.clone_identity())
        .keep_alive_interval(Some(KEEP_ALIVE))
        .max_idle_timeout(Some(MAX_IDLE))
        .map_err(|_| WtSetupError::IdleTimeout)?
        .build())
}

fn hash_of(identity: &Identity, window: &CertWindow) -> Option<PublishedHash> {
    let cert = identity.certificate_chain().as_slice().first()?;
    Some(PublishedHash {
        sha256: *cert.hash().as_ref(),
        not_after: unix_secs(window.not_after),
    })
}

/// A bound WebTransport endpoint, ready to serve.
pub(super) struct WtListener {
    pub(super) endpoint: Endpoint<endpoint_side::Server>,
    pub(super) published: Arc<WtPublished>,
    /// `None` when an operator certificate is configured.
    rotation: Option<Rotation<Identity>>,
    bind: SocketAddr,
    sans: Vec<String>,
}

impl WtListener {
    /// Bind `addr` with the configured certificate, or a fresh self-signed one.
    pub(super) async fn bind(
        addr: SocketAddr,
        cfg: &SecureConfig,
        policy: RotationPolicy,
    ) -> io::Result<Self> {
        let sans = self_signed_names(addr, cfg);
        let (identity, rotation) = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(c), Some(k)) => (
                Identity::load_pemfiles(c, k)
                    .await
                    .map_err(|e| WtSetupError::Pem(e.to_string()))?,
                None,
            ),
            _ => {
                let r = Rotation::new(policy, SystemTime::now(), |w| issue(&sans, w))?;
                (r.current().0.clone_identity(), Some(r))
            }
        };
        let endpoint = Endpoint::server(server_config(addr, &identity)?)?;
        let local = endpoint.local_addr()?;
        let published = Arc::new(WtPublished {
            port: local.port(),
            listen: local,
            host: cfg.wt_host.clone(),
            hashes: Mutex::new(vec![]),
        });
        let me = WtListener {
            endpoint,
            published,
            rotation,
            bind: local,
            sans,
        };
        me.publish();
        Ok(me)
    }

    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        self.endpoint.local_addr().ok()
    }

    /// Publish the rotation's hashes (none for an operator certificate: a
    /// CA-issued one is verified the ordinary way, and hashes of long-lived
    /// certificates are refused by browsers anyway).
    fn publish(&self) {
        let hashes = match &self.rotation {
            Some(r) => r.published().filter_map(|(id, w)| hash_of(id, w)).collect(),
            None => vec![],
        };
        self.published.set(hashes);
    }

    /// Run the rotation schedule at `now`; reload the endpoint on a switch.
    fn rotate(&mut self, now: SystemTime) {
        let Some(r) = self.rotation.as_mut() else {
            return;
        };
        let sans = &self.sans;
        match r.poll(now, |w| issue(sans, w)) {
            Ok(RotationEvent::Idle) => return,
            Ok(RotationEvent::Announced) => {
                tracing::info!("next webtransport certificate published")
            }
            Ok(RotationEvent::Switched) => {
                let id = r.current().0.clone_identity();
                // rebind = false: the socket and live sessions stay; only
                // new handshakes see the new certificate.
                match server_config(self.bind, &id)
                    .map_err(io::Error::from)
                    .and_then(|c| self.endpoint.reload_config(c, false))
                {
                    Ok(()) => tracing::info!("webtransport certificate rotated"),
                    Err(e) => tracing::error!(error = %e, "webtransport certificate reload failed"),
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot issue webtransport certificate"),
        }
        self.publish();
    }

    /// How long until the rotation wants to run again.
    fn sleep_for(&self, now: SystemTime) -> Duration {
        self.rotation
            .as_ref()
            .map(|r| r.next_deadline().duration_since(now).unwrap_or_default())
            .unwrap_or(MAX_ROTATION_SLEEP)
            .min(MAX_ROTATION_SLEEP)
    }
}

/// Names in the self-signed certificate. Browsers pinning by hash ignore
/// them; they help native clients' logs.
fn self_signed_names(addr: SocketAddr, cfg: &SecureConfig) -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if !addr.ip().is_unspecified() {
        names.push(addr.ip().to_string());
    }
    names.extend(cfg.wt_host.iter().cloned());
    names
}

/// Accept sessions and keep the certificate fresh until shutdown.
pub(super) async fn serve(shared: Arc<Shared>, mut listener: WtListener) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let sleep = listener.sleep_for(SystemTime::now());
        tokio::select! {
            incoming = listener.endpoint.accept() => {
                tokio::spawn(super::wt_session::handle_incoming(shared.clone(), incoming));
            }
            _ = tokio::time::sleep(sleep) => listener.rotate(SystemTime::now()),
            _ = shutdown.changed() => break,
        }
    }
    listener
        .endpoint
        .close(wtransport::VarInt::from_u32(0), b"shutdown");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_without_port() {
        assert_eq!(strip_port("relay.example:8443"), "relay.example");
        assert_eq!(strip_port("relay.example"), "relay.example");
        assert_eq!(strip_port("[::1]:8443"), "[::1]");
        assert_eq!(strip_port("127.0.0.1"), "127.0.0.1");
        assert!(plausible_host("relay.example") && plausible_host("[::1]"));
        assert!(!plausible_host("evil/path?x") && !plausible_host(""));
    }

    #[test]
    fn issued_certificate_hash_matches_and_window_is_kept() {
        let p = RotationPolicy::default();
        let now = SystemTime::now();
        let w = p.window(now);
        let id = issue(&["localhost".into()], w).unwrap();
        let h = hash_of(&id, &w).unwrap();
        let der = id.certificate_chain().as_slice()[0].der().to_vec();
        use sha2::Digest;
        assert_eq!(h.sha256, <[u8; 32]>::from(sha2::Sha256::digest(&der)));
        assert_eq!(h.not_after, unix_secs(w.not_after));
    }
}
