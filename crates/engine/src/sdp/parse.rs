//! SDP parser (RFC 8866 §5, §9 grammar), strict about line structure, tolerant of unknown
//! attributes. Chromium's webrtc_sdp.cc also rejects malformed values of the attributes it
//! interprets (rtpmap, fmtp, mid, extmap, fingerprint, setup, candidate, ...); so do we, because
//! accepting them would only move the failure somewhere less clear.

use super::{Attribute, MediaSection, Origin, Sdp, SdpError};

/// Longest SDP we accept: Chromium's own limit is far above anything real, but a bound keeps a
/// hostile page from making the wasm instance allocate without end.
const MAX_SDP_LEN: usize = 1 << 20;

pub fn parse(text: &str) -> Result<Sdp, SdpError> {
    if text.len() > MAX_SDP_LEN {
        return Err(err(1, "SDP too long"));
    }
    let mut lines = Lines::new(text);
    let (n, first) = lines.next_line()?.ok_or_else(|| err(1, "empty SDP"))?;
    if first != ('v', "0") {
        return Err(err(n, "first line must be v=0"));
    }
    let mut sdp = parse_session(&mut lines)?;
    while let Some((n, (kind, value))) = lines.next_line()? {
        if kind != 'm' {
            return Err(err(n, "expected m= line"));
        }
        sdp.media.push(parse_media(n, value, &mut lines)?);
    }
    Ok(sdp)
}

/// The session-level lines up to the first m= line (RFC 8866 §5 order is not enforced beyond
/// v= first: browsers and hand-written SDP vary).
fn parse_session(lines: &mut Lines) -> Result<Sdp, SdpError> {
    let mut sdp = Sdp {
        origin: Origin {
            username: String::new(),
            session_id: String::new(),
            session_version: 0,
            net_type: String::new(),
            addr_type: String::new(),
            address: String::new(),
        },
        session_name: String::new(),
        extra: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        timing: String::new(),
        attributes: Vec::new(),
        media: Vec::new(),
    };
    let (mut seen_o, mut seen_s, mut seen_t) = (false, false, false);
    while let Some((n, (kind, value))) = lines.next_line()? {
        match kind {
            'o' if !seen_o => {
                sdp.origin = parse_origin(n, value)?;
                seen_o = true;
            }
            's' if !seen_s => {
                sdp.session_name = value.to_string();
                seen_s = true;
            }
            't' => {
                parse_timing(n, value)?;
                sdp.timing = value.to_string();
                seen_t = true;
            }
            'c' if sdp.connection.is_none() => sdp.connection = Some(parse_connection(n, value)?),
            'b' => sdp.bandwidths.push(parse_bandwidth(n, value)?),
            'a' => sdp.attributes.push(parse_attribute(n, value)?),
            'm' => {
                lines.push_back();
                break;
            }
            'i' | 'u' | 'e' | 'p' | 'r' | 'z' | 'k' => sdp.extra.push((kind, value.to_string())),
            _ => {
                return Err(err(
                    n,
                    format!("unexpected line type '{kind}' at session level"),
                ))
            }
        }
    }
    // Keep r=/z=/k= after t= when written back (RFC 8866 §5 order); a stable sort leaves the
    // rest as given.
    sdp.extra
        .sort_by_key(|(kind, _)| matches!(kind, 'r' | 'z' | 'k'));
    if !(seen_o && seen_s && seen_t) {
        return Err(err(lines.line_no(), "missing o=, s= or t= line"));
    }
    Ok(sdp)
}

fn err(line: u32, reason: impl Into<String>) -> SdpError {
    SdpError {
        line,
        reason: reason.into(),
    }
}

/// Iterates `<type>=<value>` lines with 1-based numbers; accepts CRLF or LF (Firefox and
/// hand-written SDP use both) and one trailing empty line.
struct Lines<'a> {
    lines: Vec<&'a str>,
    pos: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines: Vec<&str> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        Self { lines, pos: 0 }
    }
    fn line_no(&self) -> u32 {
        u32::try_from(self.pos).unwrap_or(u32::MAX)
    }
    fn push_back(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }
    #[allow(clippy::type_complexity)]
    fn next_line(&mut self) -> Result<Option<(u32, (char, &'a str))>, SdpError> {
        let Some(line) = self.lines.get(self.pos).copied() else {
            return Ok(None);
        };
        self.pos += 1;
        let n = self.line_no();
        let mut chars = line.chars();
        let kind = chars.next().ok_or_else(|| err(n, "empty line"))?;
        if !kind.is_ascii_lowercase() || chars.next() != Some('=') {
            return Err(err(n, "line is not <type>=<value>"));
        }
        let value = line.get(2..).ok_or_else(|| err(n, "bad line"))?;
        if value.chars().any(|c| c == '\0' || c == '\r') {
            return Err(err(n, "control character in line"));
        }
        Ok(Some((n, (kind, value))))
    }
}

fn parse_origin(n: u32, v: &str) -> Result<Origin, SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    let [username, id, version, net, addr_type, address] = f.as_slice() else {
        return Err(err(n, "o= needs 6 fields"));
    };
    if !id.bytes().all(|b| b.is_ascii_digit()) || id.is_empty() {
        return Err(err(n, "o= session id must be numeric"));
    }
    let session_version = version
        .parse()
        .map_err(|_| err(n, "o= session version must be numeric"))?;
    if username.is_empty() || net.is_empty() || addr_type.is_empty() || address.is_empty() {
        return Err(err(n, "o= has an empty field"));
    }
    Ok(Origin {
        username: username.to_string(),
        session_id: id.to_string(),
        session_version,
        net_type: net.to_string(),
        addr_type: addr_type.to_string(),
        address: address.to_string(),
    })
}

fn parse_timing(n: u32, v: &str) -> Result<(), SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    match f.as_slice() {
        [a, b] if a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok() => Ok(()),
        _ => Err(err(n, "t= needs two numbers")),
    }
}

fn parse_connection(n: u32, v: &str) -> Result<String, SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    match f.as_slice() {
        ["IN", "IP4" | "IP6", addr] if !addr.is_empty() => Ok(v.to_string()),
        _ => Err(err(n, "c= must be IN IP4|IP6 <address>")),
    }
}

fn parse_bandwidth(n: u32, v: &str) -> Result<String, SdpError> {
    match v.split_once(':') {
        Some((t, bw)) if is_token(t) && bw.parse::<u64>().is_ok() => Ok(v.to_string()),
        _ => Err(err(n, "b= must be <bwtype>:<bandwidth>")),
    }
}

/// RFC 8866 token characters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&b))
}

fn parse_media(n: u32, v: &str, lines: &mut Lines) -> Result<MediaSection, SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    let [media, port, proto, formats @ ..] = f.as_slice() else {
        return Err(err(n, "m= needs <media> <port> <proto> <fmt>"));
    };
    if formats.is_empty() || !is_token(media) || proto.is_empty() {
        return Err(err(n, "m= needs <media> <port> <proto> <fmt>"));
    }
    if formats.iter().any(|f| f.is_empty()) {
        return Err(err(n, "m= has an empty format"));
    }
    let (port, num_ports) = match port.split_once('/') {
        Some((p, c)) => (p, Some(c.parse().map_err(|_| err(n, "bad port count"))?)),
        None => (*port, None),
    };
    let port = port.parse().map_err(|_| err(n, "bad port"))?;
    let mut m = MediaSection {
        media: media.to_string(),
        port,
        num_ports,
        proto: proto.to_string(),
        formats: formats.iter().map(|s| s.to_string()).collect(),
        extra: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        attributes: Vec::new(),
    };
    while let Some((n, (kind, value))) = lines.next_line()? {
        match kind {
            'm' => {
                lines.push_back();
                break;
            }
            'c' if m.connection.is_none() => m.connection = Some(parse_connection(n, value)?),
            'b' => m.bandwidths.push(parse_bandwidth(n, value)?),
            'a' => m.attributes.push(parse_attribute(n, value)?),
            'i' | 'k' => m.extra.push((kind, value.to_string())),
            _ => {
                return Err(err(
                    n,
                    format!("unexpected line type '{kind}' in media section"),
                ))
            }
        }
    }
    // RFC 8866 §5: i= before c=/b=, k= after them.
    m.extra.sort_by_key(|(kind, _)| *kind == 'k');
    Ok(m)
}

fn parse_attribute(n: u32, v: &str) -> Result<Attribute, SdpError> {
    let (name, value) = match v.split_once(':') {
        Some((name, value)) => (name, Some(value)),
        None => (v, None),
    };
    if !is_token(name) {
        return Err(err(n, "bad attribute name"));
    }
    if let Some(value) = value {
        check_value(name, value).map_err(|reason| err(n, format!("a={name}: {reason}")))?;
    }
    Ok(Attribute {
        name: name.to_string(),
        value: value.map(str::to_string),
    })
}

/// Values of the attributes the engine interprets must be well-formed.
fn check_value(name: &str, v: &str) -> Result<(), String> {
    let ok = match name {
        "rtpmap" => super::RtpMap::parse(v).is_some(),
        "fmtp" | "rtcp-fb" => v
            .split_once(' ')
            .is_some_and(|(p, _)| p == "*" || p.parse::<u8>().is_ok()),
        "mid" => is_token(v),
        "ice-ufrag" | "ice-pwd" => !v.is_empty() && !v.contains(' '),
        "setup" => matches!(v, "actpass" | "active" | "passive" | "holdconn"),
        "fingerprint" => check_fingerprint(v).is_ok(),
        "extmap" => check_extmap(v),
        "sctp-port" | "max-message-size" => v.parse::<u32>().is_ok(),
        "msid" => v.split(' ').next().is_some_and(|s| !s.is_empty()) && v.split(' ').count() <= 2,
        "group" => v.split(' ').next().is_some_and(is_token),
        "ssrc" => v
            .split_once(' ')
            .is_some_and(|(s, _)| s.parse::<u32>().is_ok()),
        "candidate" => crate::candidate::parse_attribute_value(v).is_ok(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "malformed value '{}'",
            v.chars().take(64).collect::<String>()
        ))
    }
}

fn check_fingerprint(v: &str) -> Result<(), ()> {
    let (alg, hex) = v.split_once(' ').ok_or(())?;
    let known = [
        "sha-1", "sha-224", "sha-256", "sha-384", "sha-512", "md5", "md2",
    ];
    if !known.iter().any(|k| k.eq_ignore_ascii_case(alg)) {
        return Err(());
    }
    hex.split(':')
        .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()))
        .then_some(())
        .ok_or(())
}

fn check_extmap(v: &str) -> bool {
    let mut it = v.split(' ');
    let id_ok = it
        .next()
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse::<u16>().ok())
        .is_some_and(|id| (1..=255).contains(&id));
    id_ok && it.next().is_some_and(|u| !u.is_empty())
}
