//! SDP (RFC 8866) as JSEP (RFC 9429) uses it: a lossless line model plus typed accessors for the
//! attributes the engine reads. Parsing is strict about structure (so garbage is rejected with a
//! line number, as `RTCError.sdpLineNumber` reports) and tolerant of unknown attributes, which are
//! kept and written back unchanged.

mod parse;
mod write;

pub use parse::parse;

/// Why an SDP was rejected, with the 1-based line that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SDP syntax error on line {line}: {reason}")]
pub struct SdpError {
    pub line: u32,
    pub reason: String,
}

/// `a=<name>[:<value>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    pub fn flag(name: &str) -> Self {
        Self {
            name: name.to_string(),
            value: None,
        }
    }
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            value: Some(value.into()),
        }
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: u64,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// One `m=` section with the lines that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSection {
    pub media: String,
    pub port: u16,
    pub num_ports: Option<u16>,
    pub proto: String,
    pub formats: Vec<String>,
    /// `i=`, `k=` and other lines we keep but do not interpret, in order.
    pub extra: Vec<(char, String)>,
    pub connection: Option<String>,
    pub bandwidths: Vec<String>,
    pub attributes: Vec<Attribute>,
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    pub origin: Origin,
    pub session_name: String,
    /// `i=`, `u=`, `e=`, `p=`, `r=`, `z=`, `k=` lines, in order.
    pub extra: Vec<(char, String)>,
    pub connection: Option<String>,
    pub bandwidths: Vec<String>,
    pub timing: String,
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaSection>,
}

/// Attribute lookup shared by the session level and media sections.
pub trait Attributes {
    fn attributes(&self) -> &[Attribute];

    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes()
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.as_deref())
    }
    fn attrs<'a>(&'a self, name: &'a str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        Box::new(
            self.attributes()
                .iter()
                .filter(move |a| a.name == name)
                .filter_map(|a| a.value.as_deref()),
        )
    }
    fn has(&self, name: &str) -> bool {
        self.attributes().iter().any(|a| a.name == name)
    }
}

impl Attributes for Sdp {
    fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
}

impl Attributes for MediaSection {
    fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
}

/// RFC 8866 §6.7 direction attributes; absent means sendrecv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    pub fn from_parts(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
    /// The same media flow seen from the other end.
    pub fn reversed(self) -> Self {
        Self::from_parts(self.receives(), self.sends())
    }
    pub fn intersect(self, other: Self) -> Self {
        Self::from_parts(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
}

impl MediaSection {
    /// Port 0 marks a rejected (or stopped) m-section (RFC 8843 §7.3 bundle-only aside).
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.has("bundle-only")
    }
    pub fn mid(&self) -> Option<&str> {
        self.attr("mid")
    }
    pub fn direction(&self) -> Direction {
        for a in &self.attributes {
            match a.name.as_str() {
                "sendrecv" => return Direction::SendRecv,
                "sendonly" => return Direction::SendOnly,
                "recvonly" => return Direction::RecvOnly,
                "inactive" => return Direction::Inactive,
                _ => {}
            }
        }
        Direction::SendRecv
    }
    pub fn is_data(&self) -> bool {
        self.media == "application"
    }
    /// Stream ids from `a=msid:<stream> <track>` lines ("-" means no stream, RFC 8830 §2).
    pub fn msid_streams(&self) -> Vec<String> {
        let mut out = Vec::new();
        for v in self.attrs("msid") {
            if let Some(stream) = v.split_whitespace().next() {
                if stream != "-" && !out.iter().any(|s| s == stream) {
                    out.push(stream.to_string());
                }
            }
        }
        out
    }
    pub fn has_msid(&self) -> bool {
        self.has("msid")
    }
    /// `a=rtpmap` entries: (payload type, encoding name, clock rate, channels).
    pub fn rtpmaps(&self) -> Vec<RtpMap> {
        self.attrs("rtpmap").filter_map(RtpMap::parse).collect()
    }
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attrs("fmtp")
            .find_map(|v| split_pt(v).filter(|(p, _)| *p == pt).map(|(_, r)| r))
    }
    pub fn rtcp_fbs(&self, pt: u8) -> Vec<&str> {
        self.attrs("rtcp-fb")
            .filter_map(|v| {
                let (p, rest) = v.split_once(' ')?;
                (p == "*" || p.parse::<u8>().ok() == Some(pt)).then_some(rest)
            })
            .collect()
    }
    /// `a=extmap:<id>[/<direction>] <uri>` as (id, uri).
    pub fn extmaps(&self) -> Vec<(u16, String)> {
        self.attrs("extmap")
            .filter_map(|v| {
                let mut it = v.split_whitespace();
                let id = it.next()?.split('/').next()?.parse().ok()?;
                Some((id, it.next()?.to_string()))
            })
            .collect()
    }
}

fn split_pt(v: &str) -> Option<(u8, &str)> {
    let (p, rest) = v.split_once(' ')?;
    Some((p.parse().ok()?, rest))
}

/// `a=rtpmap:<pt> <name>/<clock>[/<channels>]` (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub pt: u8,
    pub name: String,
    pub clock_rate: u32,
    pub channels: Option<u16>,
}

impl RtpMap {
    pub fn parse(v: &str) -> Option<Self> {
        let (pt, rest) = split_pt(v)?;
        let mut parts = rest.trim().split('/');
        let name = parts.next().filter(|n| !n.is_empty())?.to_string();
        let clock_rate = parts.next()?.parse().ok()?;
        let channels = match parts.next() {
            Some(c) => Some(c.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            pt,
            name,
            clock_rate,
            channels,
        })
    }
}

impl Sdp {
    /// ICE ufrag of m-section `index` (media level overrides session level, RFC 8839 §5.4).
    pub fn ice_ufrag(&self, index: usize) -> Option<&str> {
        self.media
            .get(index)
            .and_then(|m| m.attr("ice-ufrag"))
            .or_else(|| self.attr("ice-ufrag"))
    }
    pub fn ice_pwd(&self, index: usize) -> Option<&str> {
        self.media
            .get(index)
            .and_then(|m| m.attr("ice-pwd"))
            .or_else(|| self.attr("ice-pwd"))
    }
    pub fn fingerprint(&self, index: usize) -> Option<&str> {
        self.media
            .get(index)
            .and_then(|m| m.attr("fingerprint"))
            .or_else(|| self.attr("fingerprint"))
    }
    pub fn setup(&self, index: usize) -> Option<&str> {
        self.media
            .get(index)
            .and_then(|m| m.attr("setup"))
            .or_else(|| self.attr("setup"))
    }
    /// a=setup of the first m-section in use (rejected ones may carry none): the DTLS role is
    /// per transport and bundled m-sections share one.
    pub fn transport_setup(&self) -> Option<&str> {
        (0..self.media.len())
            .find(|&i| self.media.get(i).is_some_and(|m| !m.is_rejected()))
            .and_then(|i| self.setup(i))
    }
    /// ICE ufrag and pwd of the first m-section in use (Chromium's bundled transport).
    pub fn transport_ice(&self) -> (Option<&str>, Option<&str>) {
        let i =
            (0..self.media.len()).find(|&i| self.media.get(i).is_some_and(|m| !m.is_rejected()));
        match i {
            Some(i) => (self.ice_ufrag(i), self.ice_pwd(i)),
            None => (None, None),
        }
    }
    /// RFC 8840 §4.3: trickle support is signalled at session level or in any m-section.
    pub fn supports_trickle(&self) -> bool {
        let has = |v: Option<&str>| v.is_some_and(|o| o.split(' ').any(|x| x == "trickle"));
        has(self.attr("ice-options")) || self.media.iter().any(|m| has(m.attr("ice-options")))
    }
    pub fn ice_options(&self, index: usize) -> Option<&str> {
        self.media
            .get(index)
            .and_then(|m| m.attr("ice-options"))
            .or_else(|| self.attr("ice-options"))
    }
    /// Mids of the first `a=group:BUNDLE` line (RFC 8843), if any.
    pub fn bundle_mids(&self) -> Option<Vec<String>> {
        self.attrs("group").find_map(|g| {
            let mut it = g.split_whitespace();
            (it.next() == Some("BUNDLE")).then(|| it.map(str::to_string).collect())
        })
    }
    pub fn media_index_by_mid(&self, mid: &str) -> Option<usize> {
        self.media.iter().position(|m| m.mid() == Some(mid))
    }
    pub fn to_sdp_string(&self) -> String {
        write::write(self)
    }
}

#[cfg(test)]
mod tests;
