//! SDP writer: RFC 8866 §5 line order, CRLF line ends (browsers emit CRLF and some parsers
//! insist on it).

use super::{Attribute, MediaSection, Sdp};
use std::fmt::Write;

pub fn write(sdp: &Sdp) -> String {
    let mut out = String::with_capacity(2048);
    let o = &sdp.origin;
    line(&mut out, 'v', "0");
    line(
        &mut out,
        'o',
        &format!(
            "{} {} {} {} {} {}",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        ),
    );
    line(&mut out, 's', &sdp.session_name);
    // RFC 8866 §5 order: v o s i u e p c b t r z k a (the parser keeps `extra` sorted so).
    let (before_t, after_t): (Vec<_>, Vec<_>) = sdp
        .extra
        .iter()
        .partition(|(kind, _)| !matches!(kind, 'r' | 'z' | 'k'));
    for (kind, value) in before_t {
        line(&mut out, *kind, value);
    }
    if let Some(c) = &sdp.connection {
        line(&mut out, 'c', c);
    }
    for b in &sdp.bandwidths {
        line(&mut out, 'b', b);
    }
    line(&mut out, 't', &sdp.timing);
    for (kind, value) in after_t {
        line(&mut out, *kind, value);
    }
    attributes(&mut out, &sdp.attributes);
    for m in &sdp.media {
        media(&mut out, m);
    }
    out
}

fn media(out: &mut String, m: &MediaSection) {
    let port = match m.num_ports {
        Some(n) => format!("{}/{}", m.port, n),
        None => m.port.to_string(),
    };
    line(
        out,
        'm',
        &format!("{} {} {} {}", m.media, port, m.proto, m.formats.join(" ")),
    );
    let (info, keys): (Vec<_>, Vec<_>) = m.extra.iter().partition(|(kind, _)| *kind != 'k');
    for (kind, value) in info {
        line(out, *kind, value);
    }
    if let Some(c) = &m.connection {
        line(out, 'c', c);
    }
    for b in &m.bandwidths {
        line(out, 'b', b);
    }
    for (kind, value) in keys {
        line(out, *kind, value);
    }
    attributes(out, &m.attributes);
}

fn attributes(out: &mut String, attrs: &[Attribute]) {
    for a in attrs {
        match &a.value {
            Some(v) => {
                let _ = write!(out, "a={}:{}\r\n", a.name, v);
            }
            None => {
                let _ = write!(out, "a={}\r\n", a.name);
            }
        }
    }
}

fn line(out: &mut String, kind: char, value: &str) {
    let _ = write!(out, "{kind}={value}\r\n");
}
