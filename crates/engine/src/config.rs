//! `RTCConfiguration` validation (webrtc-pc §4.4.1.6 "set a configuration") and ICE server URL
//! parsing (RFC 7064 stun/stuns, RFC 7065 turn/turns, plus polyrtc's relay URLs ws/wss/https).

use crate::api::{
    ApiError, CertificateData, Configuration, ErrorName, Fingerprint, IceServer, Urls,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("'{0}' is not a valid ICE server URL")]
    BadUrl(String),
    #[error("'{0}' is not one of the supported URL schemes 'stun', 'stuns', 'turn', 'turns', 'ws', 'wss' or 'https'")]
    UnknownScheme(String),
    #[error("ICE server has an empty list of URLs")]
    NoUrls,
    #[error(
        "Both username and credential are required when the URL scheme is \"turn\" or \"turns\"."
    )]
    MissingTurnCredentials,
    #[error("a certificate has expired")]
    ExpiredCertificate,
    #[error("a certificate has no sha-256 fingerprint")]
    BadCertificate,
    #[error("the peer connection is closed")]
    Closed,
    #[error("attempted to modify the PeerConnection's configuration in an unsupported way: {0}")]
    Modified(&'static str),
}

impl From<ConfigError> for ApiError {
    fn from(e: ConfigError) -> Self {
        let name = match e {
            ConfigError::BadUrl(_) | ConfigError::UnknownScheme(_) | ConfigError::NoUrls => {
                ErrorName::SyntaxError
            }
            ConfigError::MissingTurnCredentials
            | ConfigError::ExpiredCertificate
            | ConfigError::BadCertificate => ErrorName::InvalidAccessError,
            ConfigError::Closed => ErrorName::InvalidStateError,
            ConfigError::Modified(_) => ErrorName::InvalidModificationError,
        };
        ApiError::new(name, e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Stun,
    Stuns,
    Turn,
    Turns,
    /// polyrtc relay over WebSocket.
    Ws,
    Wss,
    /// polyrtc relay over WebTransport.
    Https,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// One parsed ICE server URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceUrl {
    pub url: String,
    pub scheme: Scheme,
    pub host: String,
    pub port: Option<u16>,
    pub transport: Option<Transport>,
}

impl IceUrl {
    /// `stun:`/`turn:` servers a page cannot reach (no UDP/TCP from a page): reported through
    /// `icecandidateerror` during gathering.
    pub fn is_unreachable_from_page(&self) -> bool {
        matches!(
            self.scheme,
            Scheme::Stun | Scheme::Stuns | Scheme::Turn | Scheme::Turns
        )
    }
}

pub fn parse_ice_url(url: &str) -> Result<IceUrl, ConfigError> {
    let bad = || ConfigError::BadUrl(url.to_string());
    let (scheme, rest) = url.split_once(':').ok_or_else(bad)?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "stun" => Scheme::Stun,
        "stuns" => Scheme::Stuns,
        "turn" => Scheme::Turn,
        "turns" => Scheme::Turns,
        "ws" => Scheme::Ws,
        "wss" => Scheme::Wss,
        "https" => Scheme::Https,
        s if !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            return Err(ConfigError::UnknownScheme(url.to_string()))
        }
        _ => return Err(bad()),
    };
    if matches!(scheme, Scheme::Ws | Scheme::Wss | Scheme::Https) {
        return parse_relay_url(url, scheme, rest);
    }
    // RFC 7064/7065: no "//" authority marker, only turn(s) takes ?transport=.
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let transport = match (scheme, query) {
        (_, None) => None,
        (Scheme::Turn | Scheme::Turns, Some("transport=udp")) => Some(Transport::Udp),
        (Scheme::Turn | Scheme::Turns, Some("transport=tcp")) => Some(Transport::Tcp),
        _ => return Err(bad()),
    };
    let (host, port) = split_host_port(hostport).ok_or_else(bad)?;
    Ok(IceUrl {
        url: url.to_string(),
        scheme,
        host,
        port,
        transport,
    })
}

/// `ws://host[:port]/path`, `wss://…`, `https://…` (WebTransport).
fn parse_relay_url(url: &str, scheme: Scheme, rest: &str) -> Result<IceUrl, ConfigError> {
    let bad = || ConfigError::BadUrl(url.to_string());
    let rest = rest.strip_prefix("//").ok_or_else(bad)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).ok_or_else(bad)?;
    if authority.contains('@') {
        return Err(bad());
    }
    let (host, port) = split_host_port(authority).ok_or_else(bad)?;
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    Ok(IceUrl {
        url: url.to_string(),
        scheme,
        host,
        port,
        transport: None,
    })
}

fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        h.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{h}]"), port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    let host_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)));
    if !host_ok {
        return None;
    }
    let port = match port {
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
        None => None,
    };
    Some((host, port))
}

pub fn urls_of(server: &IceServer) -> Vec<&str> {
    match &server.urls {
        Urls::One(u) => vec![u.as_str()],
        Urls::Many(v) => v.iter().map(String::as_str).collect(),
    }
}

/// webrtc-pc §4.4.1.6 step "for each server in iceServers".
pub fn validate_ice_servers(servers: &[IceServer]) -> Result<Vec<IceUrl>, ConfigError> {
    let mut out = Vec::new();
    for server in servers {
        let urls = urls_of(server);
        if urls.is_empty() {
            return Err(ConfigError::NoUrls);
        }
        for u in urls {
            let url = parse_ice_url(u)?;
            if matches!(url.scheme, Scheme::Turn | Scheme::Turns)
                && (server.username.is_none() || server.credential.is_none())
            {
                return Err(ConfigError::MissingTurnCredentials);
            }
            out.push(url);
        }
    }
    Ok(out)
}

/// Check a certificate from the configuration and make sure it carries a sha-256 fingerprint.
pub fn normalize_certificate(
    cert: &CertificateData,
    wall_ms: f64,
) -> Result<CertificateData, ConfigError> {
    if cert.expires < wall_ms {
        return Err(ConfigError::ExpiredCertificate);
    }
    let mut cert = cert.clone();
    if !cert
        .fingerprints
        .iter()
        .any(|f| f.algorithm.eq_ignore_ascii_case("sha-256"))
    {
        let value = polyrtc_dtls::certificate::fingerprint(&cert.certificate_der, "sha-256")
            .ok_or(ConfigError::BadCertificate)?;
        cert.fingerprints.push(Fingerprint {
            algorithm: "sha-256".into(),
            value,
        });
    }
    Ok(cert)
}

/// The constructor's checks that `setConfiguration` does differently. Chromium 156 accepts
/// rtcpMuxPolicy "negotiate" in the constructor (older versions threw NotSupportedError); RTCP
/// is multiplexed either way, as "require" does.
pub fn validate_initial(_config: &Configuration) -> Result<(), ConfigError> {
    Ok(())
}

/// webrtc-pc §4.4.1.6 modification checks for `setConfiguration`. `offer_applied`: a local
/// offer has been set (iceCandidatePoolSize is then frozen). `user_certificates`: the
/// constructor's configuration named certificates.
pub fn validate_modification(
    old: &Configuration,
    new: &Configuration,
    offer_applied: bool,
    user_certificates: bool,
) -> Result<(), ConfigError> {
    if old.peer_identity.is_some() && new.peer_identity != old.peer_identity {
        return Err(ConfigError::Modified("peerIdentity"));
    }
    // Chromium compares with the certificates the page gave the constructor: leaving them out
    // is a modification (InvalidModificationError) when the page gave some. An empty list on a
    // connection that generated its own certificate means "not given".
    if new.certificates.is_empty() && user_certificates {
        return Err(ConfigError::Modified("certificates"));
    }
    if !new.certificates.is_empty() {
        let mut a: Vec<&[u8]> = old
            .certificates
            .iter()
            .map(|c| c.certificate_der.as_slice())
            .collect();
        let mut b: Vec<&[u8]> = new
            .certificates
            .iter()
            .map(|c| c.certificate_der.as_slice())
            .collect();
        a.sort();
        b.sort();
        if a != b {
            return Err(ConfigError::Modified("certificates"));
        }
    }
    if new.bundle_policy != old.bundle_policy {
        return Err(ConfigError::Modified("bundlePolicy"));
    }
    if new.rtcp_mux_policy != old.rtcp_mux_policy {
        return Err(ConfigError::Modified("rtcpMuxPolicy"));
    }
    if offer_applied && new.ice_candidate_pool_size != old.ice_candidate_pool_size {
        return Err(ConfigError::Modified("iceCandidatePoolSize"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(urls: &[&str], user: bool) -> IceServer {
        IceServer {
            urls: Urls::Many(urls.iter().map(|s| s.to_string()).collect()),
            username: user.then(|| "u".into()),
            credential: user.then(|| "p".into()),
        }
    }

    fn name(r: Result<Vec<IceUrl>, ConfigError>) -> ErrorName {
        ApiError::from(r.unwrap_err()).name
    }

    #[test]
    fn parses_rfc7064_7065_urls() {
        let u = parse_ice_url("stun:stun.example.org:3478").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port),
            (Scheme::Stun, "stun.example.org", Some(3478))
        );
        let u = parse_ice_url("turns:[2001:db8::1]:5349?transport=tcp").unwrap();
        assert_eq!(
            (u.scheme, u.port, u.transport),
            (Scheme::Turns, Some(5349), Some(Transport::Tcp))
        );
        let u = parse_ice_url("turn:1.2.3.4?transport=udp").unwrap();
        assert_eq!(u.transport, Some(Transport::Udp));
        let u = parse_ice_url("wss://relay.example.com/turn?x=1").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str()),
            (Scheme::Wss, "relay.example.com")
        );
        assert!(parse_ice_url("https://127.0.0.1:4433/").is_ok());
        assert!(parse_ice_url("ws://localhost:8080").is_ok());
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "",
            "stun:",
            "stun:host:99999",
            "stun:host?transport=udp",
            "turn:host?transport=sctp",
            "stun:ho st",
            "stun:[::1",
            "wss:relay",
            "://x",
        ] {
            assert_eq!(
                name(validate_ice_servers(&[server(&[bad], true)])),
                ErrorName::SyntaxError,
                "{bad}"
            );
        }
        assert_eq!(
            name(validate_ice_servers(&[server(&["http://x"], true)])),
            ErrorName::SyntaxError
        );
        assert_eq!(
            name(validate_ice_servers(&[server(&[], true)])),
            ErrorName::SyntaxError
        );
    }

    #[test]
    fn turn_needs_credentials() {
        assert_eq!(
            name(validate_ice_servers(&[server(&["turn:t.example"], false)])),
            ErrorName::InvalidAccessError
        );
        assert!(validate_ice_servers(&[server(&["stun:s.example"], false)]).is_ok());
        assert!(validate_ice_servers(&[server(&["wss://r.example"], false)]).is_ok());
    }

    #[test]
    fn modification_rules() {
        let old = Configuration::default();
        let mut new = old.clone();
        new.bundle_policy = crate::api::BundlePolicy::MaxBundle;
        assert_eq!(
            validate_modification(&old, &new, false, false),
            Err(ConfigError::Modified("bundlePolicy"))
        );
        let mut new = old.clone();
        new.ice_candidate_pool_size = 3;
        assert!(validate_modification(&old, &new, false, false).is_ok());
        assert!(validate_modification(&old, &new, true, false).is_err());
        let mut with_id = old.clone();
        with_id.peer_identity = Some("a".into());
        assert!(validate_modification(&with_id, &old, false, false).is_err());
        assert!(validate_modification(&old, &with_id, false, false).is_ok());
    }
}
