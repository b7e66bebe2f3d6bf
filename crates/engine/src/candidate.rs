//! ICE candidate lines (RFC 8839 §5.1 grammar) as `RTCIceCandidate` exposes them.
//!
//! ```text
//! candidate:<foundation> <component-id> <transport> <priority> <address> <port> typ <type>
//!           [raddr <addr>] [rport <port>] *(<extension-name> <extension-value>)
//! ```

use crate::api::{IceCandidateInfo, IceCandidateInit};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CandidateError {
    #[error("candidate line is missing '{0}'")]
    Missing(&'static str),
    #[error("invalid candidate {0}")]
    Invalid(&'static str),
}

/// A parsed remote or local candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub foundation: String,
    pub component: u16,
    /// Lower-case "udp" or "tcp".
    pub protocol: String,
    pub priority: u32,
    pub address: String,
    pub port: u16,
    /// "host" | "srflx" | "prflx" | "relay".
    pub typ: String,
    pub related_address: Option<String>,
    pub related_port: Option<u16>,
    pub tcp_type: Option<String>,
    pub ufrag: Option<String>,
}

/// Parse `candidate:...` (also accepts a leading `a=`, as Chromium does).
pub fn parse(line: &str) -> Result<Candidate, CandidateError> {
    let line = line.trim_end_matches(['\r', '\n']);
    let line = line.strip_prefix("a=").unwrap_or(line);
    let value = line
        .strip_prefix("candidate:")
        .ok_or(CandidateError::Missing("candidate:"))?;
    parse_attribute_value(value)
}

/// Parse the value of an `a=candidate:` attribute.
pub fn parse_attribute_value(value: &str) -> Result<Candidate, CandidateError> {
    let f: Vec<&str> = value.split(' ').collect();
    let [foundation, component, transport, priority, address, port, typ_kw, typ, rest @ ..] =
        f.as_slice()
    else {
        return Err(CandidateError::Missing("fields"));
    };
    if foundation.is_empty()
        || foundation.len() > 32
        || !foundation
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return Err(CandidateError::Invalid("foundation"));
    }
    let component = digits(component, 5).ok_or(CandidateError::Invalid("component"))?;
    let component = u16::try_from(component).map_err(|_| CandidateError::Invalid("component"))?;
    let protocol = transport.to_ascii_lowercase();
    if protocol != "udp" && protocol != "tcp" {
        return Err(CandidateError::Invalid("transport"));
    }
    let priority = digits(priority, 10)
        .and_then(|p| u32::try_from(p).ok())
        .ok_or(CandidateError::Invalid("priority"))?;
    if !valid_address(address) {
        return Err(CandidateError::Invalid("address"));
    }
    let port = parse_port(port)?;
    if *typ_kw != "typ" {
        return Err(CandidateError::Missing("typ"));
    }
    if !matches!(*typ, "host" | "srflx" | "prflx" | "relay") {
        return Err(CandidateError::Invalid("type"));
    }
    let mut c = Candidate {
        foundation: foundation.to_string(),
        component,
        protocol,
        priority,
        address: address.to_string(),
        port,
        typ: typ.to_string(),
        related_address: None,
        related_port: None,
        tcp_type: None,
        ufrag: None,
    };
    parse_extensions(&mut c, rest)?;
    Ok(c)
}

fn parse_extensions(c: &mut Candidate, rest: &[&str]) -> Result<(), CandidateError> {
    if !rest.len().is_multiple_of(2) {
        return Err(CandidateError::Invalid("extension list"));
    }
    for pair in rest.chunks(2) {
        let [name, value] = pair else {
            return Err(CandidateError::Invalid("extension list"));
        };
        if name.is_empty() || value.is_empty() {
            return Err(CandidateError::Invalid("extension"));
        }
        match *name {
            "raddr" if valid_address(value) => c.related_address = Some(value.to_string()),
            "raddr" => return Err(CandidateError::Invalid("raddr")),
            "rport" => c.related_port = Some(parse_port(value)?),
            "tcptype" if matches!(*value, "active" | "passive" | "so") => {
                c.tcp_type = Some(value.to_string())
            }
            "tcptype" => return Err(CandidateError::Invalid("tcptype")),
            "ufrag" => c.ufrag = Some(value.to_string()),
            // generation, network-id, network-cost and unknown extensions are ignored
            // (RFC 8839 §5.1: "MUST ignore" unknown extensions).
            _ => {}
        }
    }
    Ok(())
}

fn digits(s: &str, max_len: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_port(s: &str) -> Result<u16, CandidateError> {
    digits(s, 5)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or(CandidateError::Invalid("port"))
}

/// IPv4, IPv6 or an FQDN (mDNS `.local` names included, RFC 8839 §5.1 allows FQDNs).
fn valid_address(a: &str) -> bool {
    if a.is_empty() || a.len() > 255 {
        return false;
    }
    if a.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    a.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        && !a.starts_with('.')
}

impl Candidate {
    /// Fill an `RTCIceCandidate`'s attributes; `init` supplies candidate/sdpMid/index/ufrag.
    pub fn to_info(&self, init: &IceCandidateInit) -> IceCandidateInfo {
        IceCandidateInfo {
            candidate: init.candidate.clone(),
            sdp_mid: init.sdp_mid.clone(),
            sdp_m_line_index: init.sdp_m_line_index,
            username_fragment: init
                .username_fragment
                .clone()
                .or_else(|| self.ufrag.clone()),
            foundation: Some(self.foundation.clone()),
            component: match self.component {
                1 => Some("rtp".into()),
                2 => Some("rtcp".into()),
                _ => None,
            },
            priority: Some(self.priority),
            address: Some(uri_host(&self.address)),
            protocol: Some(self.protocol.clone()),
            port: Some(self.port),
            candidate_type: Some(self.typ.clone()),
            tcp_type: self.tcp_type.clone(),
            related_address: self.related_address.as_deref().map(uri_host),
            related_port: self.related_port,
            relay_protocol: None,
            url: None,
        }
    }
}

/// Chromium exposes addresses as URI hosts (rtc::SocketAddress::HostAsURIString): an IPv6
/// literal is bracketed ("[::1]"); the candidate line itself is unchanged.
fn uri_host(address: &str) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]")
    } else {
        address.to_string()
    }
}

/// The `RTCIceCandidate` constructor: unparseable lines give null attributes, not an error
/// (webrtc-pc §5.4 "RTCIceCandidate constructor"); both sdpMid and sdpMLineIndex null is a
/// TypeError, which the caller reports.
pub fn info_from_init(init: &IceCandidateInit) -> IceCandidateInfo {
    match parse(&init.candidate) {
        Ok(c) => c.to_info(init),
        Err(_) => IceCandidateInfo {
            candidate: init.candidate.clone(),
            sdp_mid: init.sdp_mid.clone(),
            sdp_m_line_index: init.sdp_m_line_index,
            username_fragment: init.username_fragment.clone(),
            ..IceCandidateInfo::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chromium_host_candidate() {
        let c = parse("candidate:842163049 1 udp 1677729535 192.0.2.3 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 0 ufrag EsAw network-id 1 network-cost 10").unwrap();
        assert_eq!(c.foundation, "842163049");
        assert_eq!(c.component, 1);
        assert_eq!(c.protocol, "udp");
        assert_eq!(c.priority, 1677729535);
        assert_eq!(c.address, "192.0.2.3");
        assert_eq!(c.port, 61665);
        assert_eq!(c.typ, "srflx");
        assert_eq!(c.related_address.as_deref(), Some("10.0.0.5"));
        assert_eq!(c.related_port, Some(61665));
        assert_eq!(c.ufrag.as_deref(), Some("EsAw"));
    }

    #[test]
    fn parses_tcp_mdns_and_ipv6() {
        let c = parse("a=candidate:1 2 TCP 2105458943 3e1f4b4a-7a1e-4c58-9b9c-8f0a6b0c0d0e.local 9 typ host tcptype active").unwrap();
        assert_eq!(c.protocol, "tcp");
        assert_eq!(c.tcp_type.as_deref(), Some("active"));
        let info = c.to_info(&IceCandidateInit::default());
        assert_eq!(info.component.as_deref(), Some("rtcp"));
        let c = parse("candidate:0 1 UDP 2122252543 2001:db8::1 50000 typ host").unwrap();
        assert_eq!(c.address, "2001:db8::1");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "candidate:",
            "candidate:1 1 udp 1 1.2.3.4 5 typ",
            "candidate:1 1 sctp 1 1.2.3.4 5 typ host",
            "candidate:1 1 udp 99999999999 1.2.3.4 5 typ host",
            "candidate:1 1 udp 1 1.2.3.4 70000 typ host",
            "candidate:1 1 udp 1 1.2.3.4 5 type host",
            "candidate:1 1 udp 1 1.2.3.4 5 typ bogus",
            "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr",
            "candidate:1 x udp 1 1.2.3.4 5 typ host",
            "candidate:1 1 udp 1 bad/addr 5 typ host",
            "candidate:1 1 tcp 1 1.2.3.4 5 typ host tcptype foo",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn constructor_keeps_unparseable_line() {
        let init = IceCandidateInit {
            candidate: "garbage".into(),
            sdp_mid: Some("0".into()),
            ..Default::default()
        };
        let info = info_from_init(&init);
        assert_eq!(info.candidate, "garbage");
        assert_eq!(info.foundation, None);
        assert_eq!(info.sdp_mid.as_deref(), Some("0"));
    }
}
