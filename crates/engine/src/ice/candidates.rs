//! Local and remote ICE candidates for the agent: priorities (RFC 8445 §5.1.2), foundations
//! (§5.1.1.3), and the conversion from SDP candidate lines (RFC 8839 §5.1).

use std::net::{IpAddr, SocketAddr};

/// The component all candidates belong to: rtcp-mux and BUNDLE leave one (RFC 8843, RFC 5761).
pub const COMPONENT_RTP: u16 = 1;

/// Candidate types (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateKind {
    Host,
    PeerReflexive,
    ServerReflexive,
    Relayed,
}

impl CandidateKind {
    /// The SDP `typ` value (RFC 8839 §5.1).
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::Relayed => "relay",
        }
    }

    /// RFC 8445 §5.1.2.2 recommended type preferences.
    pub fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relayed => 0,
        }
    }
}

/// How we reach our TURN server, which Chromium folds into the relay type preference
/// (UDP 2 > TCP 1 > TLS 0) so relayed candidates over UDP win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayProtocol {
    Udp,
    Tcp,
    Tls,
}

/// RFC 8445 §5.1.2.1: priority = 2^24 * type pref + 2^8 * local pref + (256 - component).
pub fn candidate_priority(type_preference: u32, local_preference: u16, component: u16) -> u32 {
    let type_part = type_preference.min(126) << 24;
    let local_part = u32::from(local_preference) << 8;
    let component_part = 256u32.saturating_sub(u32::from(component.clamp(1, 256)));
    type_part | local_part | component_part
}

/// Type preference of a local candidate, with Chromium's relay-protocol adjustment.
fn local_type_preference(kind: CandidateKind, relay: Option<RelayProtocol>) -> u32 {
    match (kind, relay) {
        (CandidateKind::Relayed, Some(RelayProtocol::Udp) | None) => 2,
        (CandidateKind::Relayed, Some(RelayProtocol::Tcp)) => 1,
        (CandidateKind::Relayed, Some(RelayProtocol::Tls)) => 0,
        (k, _) => k.type_preference(),
    }
}

/// RFC 8445 §5.1.1.3: same type, base IP, server and transport give the same foundation.
/// A stable FNV-1a hash keeps it within the 32 ice-chars allowed by RFC 8839.
fn foundation(kind: CandidateKind, base: IpAddr, server: Option<IpAddr>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    eat(kind.as_str().as_bytes());
    eat(base.to_string().as_bytes());
    eat(server.map(|s| s.to_string()).unwrap_or_default().as_bytes());
    eat(b"udp");
    h.to_string()
}

/// One of our candidates. `base` is where packets are sent from (RFC 8445 §5.1.1.1: the
/// host address for host and server-reflexive candidates, the relayed address for relayed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCandidate {
    pub addr: SocketAddr,
    pub base: SocketAddr,
    pub kind: CandidateKind,
    pub foundation: String,
    pub priority: u32,
    pub relay_protocol: Option<RelayProtocol>,
    /// Local preference, kept to compute the peer-reflexive PRIORITY of checks (§7.1.1).
    pub local_preference: u16,
}

impl LocalCandidate {
    fn build(
        addr: SocketAddr,
        base: SocketAddr,
        kind: CandidateKind,
        server: Option<IpAddr>,
        relay_protocol: Option<RelayProtocol>,
        local_preference: u16,
    ) -> Self {
        let type_pref = local_type_preference(kind, relay_protocol);
        LocalCandidate {
            addr,
            base,
            kind,
            foundation: foundation(kind, base.ip(), server),
            priority: candidate_priority(type_pref, local_preference, COMPONENT_RTP),
            relay_protocol,
            local_preference,
        }
    }

    /// A host candidate: address and base are the socket's address.
    pub fn host(addr: SocketAddr, local_preference: u16) -> Self {
        Self::build(
            addr,
            addr,
            CandidateKind::Host,
            None,
            None,
            local_preference,
        )
    }

    /// A server-reflexive candidate learned from `server` for the socket at `base`.
    pub fn server_reflexive(
        addr: SocketAddr,
        base: SocketAddr,
        server: IpAddr,
        local_preference: u16,
    ) -> Self {
        let kind = CandidateKind::ServerReflexive;
        Self::build(addr, base, kind, Some(server), None, local_preference)
    }

    /// A relayed candidate allocated on `server`; it is its own base (RFC 8445 §5.1.1.2).
    pub fn relayed(
        addr: SocketAddr,
        server: IpAddr,
        protocol: RelayProtocol,
        local_preference: u16,
    ) -> Self {
        let kind = CandidateKind::Relayed;
        Self::build(
            addr,
            addr,
            kind,
            Some(server),
            Some(protocol),
            local_preference,
        )
    }

    /// PRIORITY sent in checks from this candidate: the peer-reflexive priority (§7.1.1).
    pub fn prflx_priority(&self) -> u32 {
        let type_pref = CandidateKind::PeerReflexive.type_preference();
        candidate_priority(type_pref, self.local_preference, COMPONENT_RTP)
    }

    /// The value of an `a=candidate:` line (RFC 8839 §5.1) for signalling this candidate.
    pub fn to_sdp_value(&self) -> String {
        let mut s = format!(
            "{} {} udp {} {} {} typ {}",
            self.foundation,
            COMPONENT_RTP,
            self.priority,
            self.addr.ip(),
            self.addr.port(),
            self.kind.as_str()
        );
        if self.kind != CandidateKind::Host {
            s.push_str(&format!(
                " raddr {} rport {}",
                self.base.ip(),
                self.base.port()
            ));
        }
        s
    }
}

/// A remote candidate usable by the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCandidate {
    pub addr: SocketAddr,
    pub kind: CandidateKind,
    pub foundation: String,
    pub priority: u32,
    /// `raddr`/`rport` as signalled (getStats relatedAddress/relatedPort of remote candidates).
    pub related: Option<(String, u16)>,
}

/// Why a remote candidate is not used (the caller may log it; Chromium logs likewise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CandidateSkipped {
    #[error("mDNS hostname {0} cannot be resolved here")]
    Mdns(String),
    #[error("address {0} is not an IP address")]
    Hostname(String),
    #[error("transport {0} is not supported (UDP only)")]
    Transport(String),
    #[error("component {0} is not RTP (rtcp-mux only)")]
    Component(u16),
    #[error("the agent is closed")]
    Closed,
    #[error("candidate already known")]
    Duplicate,
}

impl RemoteCandidate {
    pub fn new(addr: SocketAddr, kind: CandidateKind, priority: u32, foundation: &str) -> Self {
        RemoteCandidate {
            addr,
            kind,
            foundation: foundation.to_string(),
            priority,
            related: None,
        }
    }

    /// From a parsed SDP candidate. `.local` hostnames (mDNS, draft-ietf-mmusic-mdns-ice-candidates)
    /// are skipped: a page cannot resolve them.
    pub fn from_sdp(c: &crate::candidate::Candidate) -> Result<Self, CandidateSkipped> {
        if c.protocol != "udp" {
            return Err(CandidateSkipped::Transport(c.protocol.clone()));
        }
        if c.component != COMPONENT_RTP {
            return Err(CandidateSkipped::Component(c.component));
        }
        let ip: IpAddr = match c.address.parse() {
            Ok(ip) => ip,
            Err(_) if c.address.to_ascii_lowercase().ends_with(".local") => {
                return Err(CandidateSkipped::Mdns(c.address.clone()))
            }
            Err(_) => return Err(CandidateSkipped::Hostname(c.address.clone())),
        };
        let kind = match c.typ.as_str() {
            "srflx" => CandidateKind::ServerReflexive,
            "prflx" => CandidateKind::PeerReflexive,
            "relay" => CandidateKind::Relayed,
            _ => CandidateKind::Host,
        };
        Ok(RemoteCandidate {
            addr: SocketAddr::new(ip, c.port),
            kind,
            foundation: c.foundation.clone(),
            priority: c.priority,
            related: c.related_address.clone().zip(c.related_port),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_rfc8445_formula() {
        let a: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let host = LocalCandidate::host(a, 65535);
        assert_eq!(host.priority, (126 << 24) | (65535 << 8) | 255);
        // Chromium's first host candidate: 2122260223 = 126<<24 | 0x7f1e<<8 | 255.
        assert_eq!(candidate_priority(126, 0x7f1e, 1), 2_122_260_223);
        let relay = LocalCandidate::relayed(a, a.ip(), RelayProtocol::Udp, 0x7eff);
        assert_eq!(relay.priority >> 24, 2);
        assert!(host.prflx_priority() < host.priority);
    }

    #[test]
    fn foundations_group_by_type_and_base() {
        let a: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let b: SocketAddr = "192.0.2.1:6000".parse().unwrap();
        let c: SocketAddr = "192.0.2.2:5000".parse().unwrap();
        assert_eq!(
            LocalCandidate::host(a, 1).foundation,
            LocalCandidate::host(b, 1).foundation
        );
        assert_ne!(
            LocalCandidate::host(a, 1).foundation,
            LocalCandidate::host(c, 1).foundation
        );
        let s = LocalCandidate::server_reflexive(c, a, c.ip(), 1);
        assert_ne!(s.foundation, LocalCandidate::host(a, 1).foundation);
    }

    #[test]
    fn mdns_and_tcp_are_skipped() {
        let line = "candidate:1 1 udp 2122260223 3a1f.local 5000 typ host";
        let c = crate::candidate::parse(line).unwrap();
        assert!(matches!(
            RemoteCandidate::from_sdp(&c),
            Err(CandidateSkipped::Mdns(_))
        ));
        let line = "candidate:1 1 tcp 2122260223 192.0.2.1 9 typ host tcptype active";
        let c = crate::candidate::parse(line).unwrap();
        assert!(matches!(
            RemoteCandidate::from_sdp(&c),
            Err(CandidateSkipped::Transport(_))
        ));
        let line =
            "candidate:1 1 udp 1686052607 198.51.100.7 6000 typ srflx raddr 10.0.0.1 rport 5000";
        let c = crate::candidate::parse(line).unwrap();
        let r = RemoteCandidate::from_sdp(&c).unwrap();
        assert_eq!(r.kind, CandidateKind::ServerReflexive);
        assert_eq!(r.addr, "198.51.100.7:6000".parse().unwrap());
    }
}
