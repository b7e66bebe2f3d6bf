//! Configuration: CLI flags, each also readable from a `POLYRTC_RELAY_*`
//! environment variable, over an optional TOML file, over defaults.
//! Precedence: flag > environment > file > default.

use crate::allocation::Quotas;
use crate::secure_config::SecureConfig;
use crate::turn::{ExternalIp, Impairment, PeerPolicy, TurnConfig};
use clap::Parser;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("user entry {0:?} is not of the form name:password")]
    BadUser(String),
    #[error("authentication is on but no --user and no --static-auth-secret is configured")]
    NoCredentials,
    #[error("nothing to listen on: give --listen and/or --ws-listen")]
    NoListener,
    #[error("--external-ip {0:?}: {1}")]
    BadExternalIp(String, crate::turn::ExternalIpError),
    #[error("--relay-ip takes at most one IPv4 and one IPv6 address")]
    RelayIpFamilies,
    #[error("--tls-cert and --tls-key go together")]
    CertWithoutKey,
    #[error("--tls-listen and --wss-listen need --tls-cert and --tls-key")]
    TlsNeedsCertificate,
    #[error("--credentials-api-key needs a --static-auth-secret to sign with")]
    MintingNeedsSecret,
    #[error("--test-impair {0:?}: {1}")]
    BadImpairment(String, crate::turn::ImpairmentError),
    #[error("--test-impair is for tests only: it needs --allow-loopback-peers")]
    ImpairmentOutsideTests,
}

/// polyrtc-relay: a TURN server (RFC 8656) for native clients over UDP/TCP/TLS
/// and for the polyrtc polyfill over WebSocket (ws/wss) and WebTransport.
///
/// WebSocket clients connect to ws://HOST:PORT/turn (or /) with subprotocol
/// "turn"; each binary frame carries one or more STUN/TURN messages or
/// ChannelData messages framed exactly as on TCP (RFC 8656 §12.5: back to
/// back, ChannelData padded to 4 bytes). /metrics and /health are served on
/// the same port.
///
/// Time-limited credentials: username "EXPIRY:USER" (EXPIRY in Unix seconds),
/// password base64(HMAC-SHA1(static-auth-secret, username)).
///
/// WebTransport: https://HOST:PORT/turn; one TURN message per datagram, larger
/// ones on a bidirectional stream framed as on TCP. GET /webtransport returns
/// the URL and the certificate hashes for serverCertificateHashes.
#[derive(Debug, Clone, Default, Parser, Deserialize)]
#[command(name = "polyrtc-relay", version)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Args {
    /// TOML config file; its keys are the long flag names (e.g. `listen = "0.0.0.0:3478"`, `user = ["alice:pw"]`).
    #[arg(long, env = "POLYRTC_RELAY_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// UDP and TCP TURN listener (same port for both). Default 0.0.0.0:3478 unless only --ws-listen is given.
    #[arg(long, env = "POLYRTC_RELAY_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Disable the UDP listener.
    #[arg(long, env = "POLYRTC_RELAY_NO_UDP")]
    pub no_udp: bool,

    /// Disable the TCP listener.
    #[arg(long, env = "POLYRTC_RELAY_NO_TCP")]
    pub no_tcp: bool,

    /// HTTP listener for WebSocket TURN (paths / and /turn), /metrics and /health.
    #[arg(long, env = "POLYRTC_RELAY_WS_LISTEN")]
    pub ws_listen: Option<SocketAddr>,

    /// Separate HTTP listener for /metrics and /health only.
    #[arg(long, env = "POLYRTC_RELAY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Allowed WebSocket Origin (repeatable; comma-separated in the env var). Default: any origin.
    #[arg(
        long = "ws-allowed-origin",
        env = "POLYRTC_RELAY_WS_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub ws_allowed_origin: Vec<String>,

    /// Realm of the long-term credentials.
    #[arg(long, env = "POLYRTC_RELAY_REALM")]
    pub realm: Option<String>,

    /// Static user NAME:PASSWORD (repeatable; comma-separated in the env var).
    #[arg(long = "user", env = "POLYRTC_RELAY_USERS", value_delimiter = ',')]
    pub user: Vec<String>,

    /// Shared secret(s) for time-limited credentials (repeatable; the first signs, all verify).
    #[arg(
        long = "static-auth-secret",
        env = "POLYRTC_RELAY_STATIC_AUTH_SECRET",
        value_delimiter = ','
    )]
    pub static_auth_secret: Vec<String>,

    /// Turn authentication off (testing only: anyone may allocate).
    #[arg(long, env = "POLYRTC_RELAY_NO_AUTH")]
    pub no_auth: bool,

    /// IP to bind relay sockets on; give it twice (one IPv4, one IPv6) for IPv6 and dual-stack allocations. Default: the listen IP if it is specific, else the host's primary address.
    #[arg(
        long = "relay-ip",
        env = "POLYRTC_RELAY_RELAY_IP",
        value_delimiter = ','
    )]
    #[serde(deserialize_with = "one_or_many")]
    pub relay_ip: Vec<IpAddr>,

    /// Advertised address for relayed addresses behind 1:1 NAT: PUBLIC (for relay IPs of its family) or PUBLIC/PRIVATE (for relay IP PRIVATE); repeatable.
    #[arg(
        long = "external-ip",
        env = "POLYRTC_RELAY_EXTERNAL_IP",
        value_delimiter = ','
    )]
    #[serde(deserialize_with = "one_or_many")]
    pub external_ip: Vec<String>,

    /// Allow peers on loopback addresses (tests, single-host setups).
    #[arg(long, env = "POLYRTC_RELAY_ALLOW_LOOPBACK_PEERS")]
    pub allow_loopback_peers: bool,

    /// TEST ONLY: impair relayed datagrams, e.g. `loss=0.05,reorder=0.05,duplicate=0.01,seed=7`
    /// (probabilities per datagram; reordering holds one back behind 1–3 later ones, at most
    /// 20 ms). For robustness tests on one host; refused unless --allow-loopback-peers is set.
    #[arg(long, env = "POLYRTC_RELAY_TEST_IMPAIR")]
    pub test_impair: Option<String>,

    /// Allow peers on private, link-local and other non-global addresses.
    #[arg(long, env = "POLYRTC_RELAY_ALLOW_PRIVATE_PEERS")]
    pub allow_private_peers: bool,

    /// Maximum allocations in total [default: 10000].
    #[arg(long, env = "POLYRTC_RELAY_MAX_ALLOCATIONS")]
    pub max_allocations: Option<usize>,

    /// Maximum allocations per user [default: 10].
    #[arg(long, env = "POLYRTC_RELAY_USER_QUOTA")]
    pub user_quota: Option<usize>,

    /// Maximum permissions per allocation [default: 256].
    #[arg(long, env = "POLYRTC_RELAY_MAX_PERMISSIONS")]
    pub max_permissions: Option<usize>,

    /// Maximum allocation lifetime in seconds [default: 3600].
    #[arg(long, env = "POLYRTC_RELAY_MAX_LIFETIME")]
    pub max_lifetime: Option<u64>,

    /// Nonce validity in seconds before 438 Stale Nonce [default: 600].
    #[arg(long, env = "POLYRTC_RELAY_NONCE_LIFETIME")]
    pub nonce_lifetime: Option<u64>,

    /// Unauthenticated requests per second per client IP, 0 = unlimited [default: 20].
    #[arg(long, env = "POLYRTC_RELAY_UNAUTH_RATE")]
    pub unauth_rate: Option<u32>,

    /// Burst of unauthenticated requests per client IP [default: 100].
    #[arg(long, env = "POLYRTC_RELAY_UNAUTH_BURST")]
    pub unauth_burst: Option<u32>,

    /// Maximum open TCP and WebSocket client connections [default: 10000].
    #[arg(long, env = "POLYRTC_RELAY_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Bandwidth limit per allocation in kbit/s of relayed payload, both directions together; 0 = none [default: 0].
    #[arg(long, env = "POLYRTC_RELAY_MAX_ALLOCATION_KBPS")]
    pub max_allocation_kbps: Option<u64>,

    /// Bandwidth limit per user in kbit/s over all its allocations (relayed payload, both directions; excess dropped); 0 = none [default: 0].
    #[arg(long, env = "POLYRTC_RELAY_MAX_USER_KBPS")]
    pub max_user_kbps: Option<u64>,

    /// Refuse MOBILITY-TICKET (RFC 8016) with 405; sessions then always free their allocation on close.
    #[arg(long, env = "POLYRTC_RELAY_NO_MOBILITY")]
    pub no_mobility: bool,

    /// Seconds an allocation with a mobility ticket outlives its closed TCP/WebSocket/WebTransport session (capped by its lifetime) [default: 60].
    #[arg(long, env = "POLYRTC_RELAY_MOBILITY_GRACE")]
    pub mobility_grace: Option<u64>,

    /// Always send relayed datagrams through the kernel, even between two allocations of this relay.
    #[arg(long, env = "POLYRTC_RELAY_NO_INTRA_RELAY_SHORTCUT")]
    pub no_intra_relay_shortcut: bool,

    /// TURN over TLS listener for turns: URIs (e.g. 0.0.0.0:5349 or :443); needs --tls-cert/--tls-key.
    #[arg(long, env = "POLYRTC_RELAY_TLS_LISTEN")]
    pub tls_listen: Option<SocketAddr>,

    /// WebSocket over TLS listener: wss://HOST:PORT/turn, plus /health, /metrics, /webtransport, /credentials.
    #[arg(long, env = "POLYRTC_RELAY_WSS_LISTEN")]
    pub wss_listen: Option<SocketAddr>,

    /// WebTransport (HTTP/3, UDP) listener, session path /turn. Without --tls-cert it serves a rotating self-signed certificate whose hashes GET /webtransport publishes.
    #[arg(long, env = "POLYRTC_RELAY_WT_LISTEN")]
    pub wt_listen: Option<SocketAddr>,

    /// PEM certificate chain for --tls-listen, --wss-listen and WebTransport.
    #[arg(long, env = "POLYRTC_RELAY_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, env = "POLYRTC_RELAY_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Host in the WebTransport URL that /webtransport publishes [default: the Host of the request].
    #[arg(long, env = "POLYRTC_RELAY_WT_HOST")]
    pub wt_host: Option<String>,

    /// Bearer token for POST/GET /credentials (mints time-limited credentials); unset = endpoint off.
    #[arg(
        long,
        env = "POLYRTC_RELAY_CREDENTIALS_API_KEY",
        hide_env_values = true
    )]
    pub credentials_api_key: Option<String>,

    /// Lifetime in seconds of credentials minted by /credentials [default: 86400].
    #[arg(long, env = "POLYRTC_RELAY_CREDENTIALS_TTL")]
    pub credentials_ttl: Option<u64>,

    /// URI returned with minted credentials (repeatable; comma-separated in the env var), e.g. turns:relay.example.org:443?transport=tcp.
    #[arg(
        long = "credentials-uri",
        env = "POLYRTC_RELAY_CREDENTIALS_URIS",
        value_delimiter = ','
    )]
    pub credentials_uri: Vec<String>,

    /// Log filter (tracing EnvFilter syntax; RUST_LOG also works) [default: info].
    #[arg(long, env = "POLYRTC_RELAY_LOG")]
    pub log: Option<String>,
}

/// Fully resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Option<SocketAddr>,
    pub udp: bool,
    pub tcp: bool,
    pub ws_listen: Option<SocketAddr>,
    pub metrics_listen: Option<SocketAddr>,
    pub ws_allowed_origins: Vec<String>,
    /// At most one address per family.
    pub relay_ips: Vec<IpAddr>,
    pub max_connections: usize,
    pub users: Vec<(String, String)>,
    pub static_auth_secrets: Vec<String>,
    pub turn: TurnConfig,
    pub log: String,
    /// TLS, wss, WebTransport and credential minting.
    pub secure: SecureConfig,
}

impl Config {
    /// A config for tests: everything on 127.0.0.1 port 0, one static user,
    /// loopback peers allowed.
    pub fn for_tests() -> Self {
        let turn = TurnConfig {
            peer_policy: PeerPolicy {
                allow_loopback: true,
                ..Default::default()
            },
            ..TurnConfig::default()
        };
        Config {
            listen: Some("127.0.0.1:0".parse().expect("literal")),
            udp: true,
            tcp: true,
            ws_listen: Some("127.0.0.1:0".parse().expect("literal")),
            metrics_listen: None,
            ws_allowed_origins: vec![],
            relay_ips: vec![],
            max_connections: 1000,
            users: vec![("user".into(), "pass".into())],
            static_auth_secrets: vec![],
            turn,
            log: "info".into(),
            secure: SecureConfig::default(),
        }
    }
}

/// A TOML key that takes one value or a list (`relay-ip = "::1"` or `["…"]`).
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(v) => vec![v],
        OneOrMany::Many(v) => v,
    })
}

fn merge_vec<T>(cli: Vec<T>, file: Vec<T>) -> Vec<T> {
    if cli.is_empty() {
        file
    } else {
        cli
    }
}

impl Args {
    /// Resolve flags and environment over the file over defaults.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str::<Args>(&text).map_err(|source| ConfigError::Parse {
                    path: path.clone(),
                    source,
                })?
            }
            None => Args::default(),
        };
        let secure = SecureConfig::from_args(&self, &file)?;
        let users = merge_vec(self.user, file.user)
            .into_iter()
            .map(|u| match u.split_once(':') {
                Some((n, p)) if !n.is_empty() => Ok((n.to_string(), p.to_string())),
                _ => Err(ConfigError::BadUser(u)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let static_auth_secrets = merge_vec(self.static_auth_secret, file.static_auth_secret);
        let no_auth = self.no_auth || file.no_auth;
        if !no_auth && users.is_empty() && static_auth_secrets.is_empty() {
            return Err(ConfigError::NoCredentials);
        }
        if secure.credentials_api_key.is_some() && static_auth_secrets.is_empty() {
            return Err(ConfigError::MintingNeedsSecret);
        }
        let ws_listen = self.ws_listen.or(file.ws_listen);
        let listen = match self.listen.or(file.listen) {
            Some(l) => Some(l),
            None if ws_listen.is_some() || secure.listeners().next().is_some() => None,
            None => Some(SocketAddr::from(([0, 0, 0, 0], 3478))),
        };
        if listen.is_none() && ws_listen.is_none() && secure.listeners().next().is_none() {
            return Err(ConfigError::NoListener);
        }
        let relay_ips = merge_vec(self.relay_ip, file.relay_ip);
        if relay_ips.iter().filter(|ip| ip.is_ipv4()).count() > 1
            || relay_ips.iter().filter(|ip| ip.is_ipv6()).count() > 1
        {
            return Err(ConfigError::RelayIpFamilies);
        }
        let external_ips = merge_vec(self.external_ip, file.external_ip)
            .into_iter()
            .map(|e| {
                e.parse::<ExternalIp>()
                    .map_err(|err| ConfigError::BadExternalIp(e, err))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut own: Vec<IpAddr> = [listen.map(|l| l.ip()), ws_listen.map(|l| l.ip())]
            .into_iter()
            .flatten()
            .chain(secure.listeners().map(|l| l.ip()))
            .chain(relay_ips.iter().copied())
            .chain(
                external_ips
                    .iter()
                    .flat_map(|e| [Some(e.public), e.private])
                    .flatten(),
            )
            .filter(|ip| !ip.is_unspecified())
            .collect();
        own.dedup();
        let allow_loopback = self.allow_loopback_peers || file.allow_loopback_peers;
        let test_impairment = match self.test_impair.or(file.test_impair) {
            Some(_) if !allow_loopback => return Err(ConfigError::ImpairmentOutsideTests),
            Some(spec) => Some(
                spec.parse::<Impairment>()
                    .map_err(|e| ConfigError::BadImpairment(spec, e))?,
            ),
            None => None,
        };
        let defaults = TurnConfig::default();
        let turn = TurnConfig {
            realm: self.realm.or(file.realm).unwrap_or(defaults.realm),
            auth_enabled: !no_auth,
            max_lifetime: Duration::from_secs(
                self.max_lifetime
                    .or(file.max_lifetime)
                    .unwrap_or(3600)
                    .max(1),
            ),
            quotas: Quotas {
                per_user: self
                    .user_quota
                    .or(file.user_quota)
                    .unwrap_or(defaults.quotas.per_user),
                total: self
                    .max_allocations
                    .or(file.max_allocations)
                    .unwrap_or(defaults.quotas.total),
                permissions_per_allocation: self
                    .max_permissions
                    .or(file.max_permissions)
                    .unwrap_or(defaults.quotas.permissions_per_allocation),
            },
            peer_policy: PeerPolicy {
                allow_loopback,
                allow_private: self.allow_private_peers || file.allow_private_peers,
                own_addresses: own,
            },
            external_ips,
            unauth_rate_per_sec: self
                .unauth_rate
                .or(file.unauth_rate)
                .unwrap_or(defaults.unauth_rate_per_sec),
            unauth_burst: self
                .unauth_burst
                .or(file.unauth_burst)
                .unwrap_or(defaults.unauth_burst),
            nonce_lifetime: Duration::from_secs(
                self.nonce_lifetime
                    .or(file.nonce_lifetime)
                    .unwrap_or(600)
                    .max(1),
            ),
            intra_relay_shortcut: !(self.no_intra_relay_shortcut || file.no_intra_relay_shortcut),
            max_allocation_bytes_per_sec: self
                .max_allocation_kbps
                .or(file.max_allocation_kbps)
                .filter(|&k| k > 0)
                .map(|k| k * 1000 / 8),
            max_user_bytes_per_sec: self
                .max_user_kbps
                .or(file.max_user_kbps)
                .filter(|&k| k > 0)
                .map(|k| k * 1000 / 8),
            mobility: !(self.no_mobility || file.no_mobility),
            mobility_grace: Duration::from_secs(
                self.mobility_grace
                    .or(file.mobility_grace)
                    .unwrap_or(defaults.mobility_grace.as_secs()),
            ),
            test_impairment,
            ..defaults
        };
        Ok(Config {
            listen,
            udp: !(self.no_udp || file.no_udp),
            tcp: !(self.no_tcp || file.no_tcp),
            ws_listen,
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            ws_allowed_origins: merge_vec(self.ws_allowed_origin, file.ws_allowed_origin),
            relay_ips,
            max_connections: self
                .max_connections
                .or(file.max_connections)
                .unwrap_or(10_000),
            users,
            static_auth_secrets,
            turn,
            log: self.log.or(file.log).unwrap_or_else(|| "info".into()),
            secure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_defaults_apply() {
        let dir = std::env::temp_dir().join(format!("polyrtc-relay-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:4000\"\nrealm = \"file\"\nuser = [\"a:b\"]\nuser-quota = 3\nallow-loopback-peers = true\n",
        )
        .unwrap();
        let args = Args::parse_from([
            "polyrtc-relay",
            "--config",
            path.to_str().unwrap(),
            "--realm",
            "cli",
        ]);
        let c = args.resolve().unwrap();
        assert_eq!(c.listen, Some("127.0.0.1:4000".parse().unwrap()));
        assert_eq!(c.turn.realm, "cli");
        assert_eq!(c.users, vec![("a".into(), "b".into())]);
        assert_eq!(c.turn.quotas.per_user, 3);
        assert_eq!(c.turn.quotas.total, 10_000);
        assert!(c.turn.peer_policy.allow_loopback);
        assert!(!c.turn.peer_policy.allow_private);
        assert_eq!(c.turn.max_lifetime, Duration::from_secs(3600));
        assert!(c.turn.mobility);
        assert_eq!(c.turn.mobility_grace, Duration::from_secs(60));
        assert_eq!(c.turn.max_user_bytes_per_sec, None);
    }

    #[test]
    fn relay_ips_external_ips_mobility_and_user_bandwidth() {
        let dir = std::env::temp_dir().join(format!("polyrtc-relay-cfg6-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay.toml");
        std::fs::write(
            &path,
            "no-auth = true\nrelay-ip = \"::1\"\nexternal-ip = \"2001:db8::9\"\n",
        )
        .unwrap();
        let c = Args::parse_from(["x", "--config", path.to_str().unwrap()])
            .resolve()
            .unwrap();
        assert_eq!(c.relay_ips, vec!["::1".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.turn.external_ips.len(), 1);
        let c = Args::parse_from([
            "x",
            "--no-auth",
            "--relay-ip",
            "10.0.0.1",
            "--relay-ip",
            "fd00::1",
            "--external-ip",
            "203.0.113.1/10.0.0.1",
            "--external-ip",
            "2001:db8::1",
            "--max-user-kbps",
            "800",
            "--no-mobility",
            "--mobility-grace",
            "5",
        ])
        .resolve()
        .unwrap();
        assert_eq!(c.relay_ips.len(), 2);
        assert_eq!(
            c.turn.external_ips[0].private,
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(c.turn.max_user_bytes_per_sec, Some(100_000));
        assert!(!c.turn.mobility);
        assert_eq!(c.turn.mobility_grace, Duration::from_secs(5));
        assert!(c
            .turn
            .peer_policy
            .own_addresses
            .contains(&"203.0.113.1".parse().unwrap()));
    }

    #[test]
    fn auth_needs_credentials_and_users_need_a_colon() {
        assert!(matches!(
            Args::parse_from(["x"]).resolve(),
            Err(ConfigError::NoCredentials)
        ));
        assert!(matches!(
            Args::parse_from(["x", "--user", "nocolon"]).resolve(),
            Err(ConfigError::BadUser(_))
        ));
        assert!(matches!(
            Args::parse_from([
                "x",
                "--no-auth",
                "--relay-ip",
                "10.0.0.1",
                "--relay-ip",
                "10.0.0.2"
            ])
            .resolve(),
            Err(ConfigError::RelayIpFamilies)
        ));
        assert!(matches!(
            Args::parse_from(["x", "--no-auth", "--external-ip", "1.2.3.4/::1"]).resolve(),
            Err(ConfigError::BadExternalIp(..))
        ));
        let c = Args::parse_from(["x", "--no-auth", "--ws-listen", "127.0.0.1:8443"])
            .resolve()
            .unwrap();
        assert_eq!(c.listen, None);
    }

    #[test]
    fn test_impairment_only_with_loopback_peers() {
        assert!(matches!(
            Args::parse_from(["x", "--no-auth", "--test-impair", "loss=0.05"]).resolve(),
            Err(ConfigError::ImpairmentOutsideTests)
        ));
        assert!(matches!(
            Args::parse_from([
                "x",
                "--no-auth",
                "--allow-loopback-peers",
                "--test-impair",
                "loss=2"
            ])
            .resolve(),
            Err(ConfigError::BadImpairment(..))
        ));
        let c = Args::parse_from([
            "x",
            "--no-auth",
            "--allow-loopback-peers",
            "--test-impair",
            "loss=0.05,reorder=0.05,duplicate=0.01,seed=7",
        ])
        .resolve()
        .unwrap();
        let imp = c.turn.test_impairment.unwrap();
        assert_eq!((imp.loss, imp.reorder, imp.seed), (0.05, 0.05, 7));
        let c = Args::parse_from(["x", "--no-auth"]).resolve().unwrap();
        assert_eq!(c.turn.test_impairment, None);
    }
}
