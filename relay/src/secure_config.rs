//! The secure transports' part of the configuration: TLS (`turns:`), `wss://`,
//! WebTransport and the credential-minting endpoint. The flags live in
//! [`Args`](crate::config::Args) (clap and the TOML file need one flat
//! struct); this module resolves and checks them.

use crate::certs::RotationPolicy;
use crate::config::{Args, ConfigError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default lifetime of minted credentials (coturn's usual one day).
pub const DEFAULT_CREDENTIALS_TTL: Duration = Duration::from_secs(86_400);

/// Resolved TLS / WebSocket-over-TLS / WebTransport / minting settings.
#[derive(Debug, Clone)]
pub struct SecureConfig {
    /// TURN over TLS (RFC 8656 §12.5 framing inside TLS), for `turns:` URIs.
    pub tls_listen: Option<SocketAddr>,
    /// HTTP over TLS: `wss://HOST:PORT/turn`, plus /health, /metrics, /webtransport.
    pub wss_listen: Option<SocketAddr>,
    /// WebTransport over HTTP/3 (UDP), session path `/turn`.
    pub wt_listen: Option<SocketAddr>,
    /// PEM certificate chain and private key for TLS, wss and (if given) WebTransport.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Host name (or IP) put in the WebTransport URL published at /webtransport;
    /// default: the host of the HTTP request asking.
    pub wt_host: Option<String>,
    /// Bearer token that unlocks `/credentials`; `None` turns the endpoint off.
    pub credentials_api_key: Option<String>,
    /// Lifetime of minted credentials.
    pub credentials_ttl: Duration,
    /// TURN/STUN/wss URIs returned with minted credentials.
    pub credentials_uris: Vec<String>,
    /// Self-signed WebTransport certificate schedule (no flag: the defaults
    /// follow the browsers' 14-day limit; tests shorten it).
    pub wt_rotation: RotationPolicy,
}

impl Default for SecureConfig {
    fn default() -> Self {
        SecureConfig {
            tls_listen: None,
            wss_listen: None,
            wt_listen: None,
            tls_cert: None,
            tls_key: None,
            wt_host: None,
            credentials_api_key: None,
            credentials_ttl: DEFAULT_CREDENTIALS_TTL,
            credentials_uris: vec![],
            wt_rotation: RotationPolicy::default(),
        }
    }
}

impl SecureConfig {
    /// Every listener address configured here.
    pub fn listeners(&self) -> impl Iterator<Item = SocketAddr> {
        [self.tls_listen, self.wss_listen, self.wt_listen]
            .into_iter()
            .flatten()
    }

    /// True when a CA-issued (or operator-provided) certificate is configured.
    pub fn has_certificate(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// Flags over the file; call before `resolve` moves fields out of `cli`.
    pub fn from_args(cli: &Args, file: &Args) -> Result<Self, ConfigError> {
        let pick_vec = |a: &Vec<String>, b: &Vec<String>| {
            if a.is_empty() {
                b.clone()
            } else {
                a.clone()
            }
        };
        let c = SecureConfig {
            tls_listen: cli.tls_listen.or(file.tls_listen),
            wss_listen: cli.wss_listen.or(file.wss_listen),
            wt_listen: cli.wt_listen.or(file.wt_listen),
            tls_cert: cli.tls_cert.clone().or_else(|| file.tls_cert.clone()),
            tls_key: cli.tls_key.clone().or_else(|| file.tls_key.clone()),
            wt_host: cli.wt_host.clone().or_else(|| file.wt_host.clone()),
            credentials_api_key: cli
                .credentials_api_key
                .clone()
                .or_else(|| file.credentials_api_key.clone())
                .filter(|k| !k.is_empty()),
            credentials_ttl: cli
                .credentials_ttl
                .or(file.credentials_ttl)
                .map(|s| Duration::from_secs(s.max(1)))
                .unwrap_or(DEFAULT_CREDENTIALS_TTL),
            credentials_uris: pick_vec(&cli.credentials_uri, &file.credentials_uri),
            wt_rotation: RotationPolicy::default(),
        };
        if c.tls_cert.is_some() != c.tls_key.is_some() {
            return Err(ConfigError::CertWithoutKey);
        }
        if (c.tls_listen.is_some() || c.wss_listen.is_some()) && !c.has_certificate() {
            return Err(ConfigError::TlsNeedsCertificate);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Args, ConfigError};
    use clap::Parser;

    #[test]
    fn secure_listeners_alone_suffice_and_tls_needs_a_certificate() {
        let c = Args::parse_from(["x", "--no-auth", "--wt-listen", "127.0.0.1:4433"])
            .resolve()
            .unwrap();
        assert_eq!(c.listen, None, "no default UDP/TCP listener");
        assert_eq!(c.secure.wt_listen, Some("127.0.0.1:4433".parse().unwrap()));
        assert!(c
            .turn
            .peer_policy
            .own_addresses
            .contains(&"127.0.0.1".parse().unwrap()));
        assert!(matches!(
            Args::parse_from(["x", "--no-auth", "--tls-listen", "127.0.0.1:5349"]).resolve(),
            Err(ConfigError::TlsNeedsCertificate)
        ));
        assert!(matches!(
            Args::parse_from(["x", "--no-auth", "--tls-cert", "c.pem"]).resolve(),
            Err(ConfigError::CertWithoutKey)
        ));
        assert!(matches!(
            Args::parse_from(["x", "--user", "a:b", "--credentials-api-key", "k"]).resolve(),
            Err(ConfigError::MintingNeedsSecret)
        ));
    }

    #[test]
    fn minting_settings_come_from_the_file_under_the_flags() {
        let dir = std::env::temp_dir().join(format!("polyrtc-relay-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay.toml");
        std::fs::write(
            &path,
            "static-auth-secret = [\"s\"]\ncredentials-api-key = \"file-key\"\ncredentials-ttl = 60\ncredentials-uri = [\"turn:a\", \"turns:b\"]\nwt-listen = \"127.0.0.1:0\"\n",
        )
        .unwrap();
        let c = Args::parse_from([
            "x",
            "--config",
            path.to_str().unwrap(),
            "--credentials-ttl",
            "30",
        ])
        .resolve()
        .unwrap();
        assert_eq!(c.secure.credentials_api_key.as_deref(), Some("file-key"));
        assert_eq!(c.secure.credentials_ttl.as_secs(), 30);
        assert_eq!(c.secure.credentials_uris, vec!["turn:a", "turns:b"]);
        assert!(c.secure.wt_listen.is_some());
    }
}
