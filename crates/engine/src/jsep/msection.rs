//! Building the sections of descriptions we create, in Chromium's attribute order (RFC 9429
//! §5.2.1 lists what each m-section carries).

use super::IceCredentials;
use crate::api::MediaKind;
use crate::codecs;
use crate::sdp::{Attribute, Direction, MediaSection, Origin, Sdp};
use crate::transceiver::Transceiver;

/// Transport attributes shared by every m-section of a description.
pub struct Transport<'a> {
    pub ice: &'a IceCredentials,
    /// "sha-256 AB:CD:…"
    pub fingerprint: &'a str,
    /// "actpass" in offers, "active"/"passive" in answers (RFC 8842 §5).
    pub setup: &'a str,
}

pub fn session(session_id: &str, version: u64, bundle: &[String]) -> Sdp {
    let mut attributes = Vec::new();
    if !bundle.is_empty() {
        attributes.push(Attribute::new(
            "group",
            format!("BUNDLE {}", bundle.join(" ")),
        ));
    }
    // Chromium always offers mixed one/two-byte header extensions (RFC 8285 §6).
    attributes.push(Attribute::flag("extmap-allow-mixed"));
    // Chromium writes "msid-semantic: WMS" with a space (webrtc_sdp.cc kAttributeMsidSemantics).
    attributes.push(Attribute::new("msid-semantic", " WMS"));
    Sdp {
        origin: Origin {
            username: "-".into(),
            session_id: session_id.into(),
            session_version: version,
            net_type: "IN".into(),
            addr_type: "IP4".into(),
            address: "127.0.0.1".into(),
        },
        session_name: "-".into(),
        extra: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        timing: "0 0".into(),
        attributes,
        media: Vec::new(),
    }
}

fn base(media: &str, port: u16, proto: &str, formats: Vec<String>) -> MediaSection {
    MediaSection {
        media: media.into(),
        port,
        num_ports: None,
        proto: proto.into(),
        formats,
        extra: Vec::new(),
        connection: Some("IN IP4 0.0.0.0".into()),
        bandwidths: Vec::new(),
        attributes: Vec::new(),
    }
}

fn transport_attrs(m: &mut MediaSection, t: &Transport, mid: &str) {
    let a = &mut m.attributes;
    a.push(Attribute::new("ice-ufrag", t.ice.ufrag.clone()));
    a.push(Attribute::new("ice-pwd", t.ice.pwd.clone()));
    a.push(Attribute::new("ice-options", "trickle"));
    a.push(Attribute::new("fingerprint", t.fingerprint));
    a.push(Attribute::new("setup", t.setup));
    a.push(Attribute::new("mid", mid));
    // Local candidates and a=end-of-candidates go here once the ICE agent exists.
}

pub fn data(t: &Transport, mid: &str) -> MediaSection {
    let mut m = base(
        "application",
        9,
        "UDP/DTLS/SCTP",
        vec!["webrtc-datachannel".into()],
    );
    transport_attrs(&mut m, t, mid);
    m.attributes.push(Attribute::new("sctp-port", "5000"));
    m.attributes.push(Attribute::new(
        "max-message-size",
        crate::peer_connection::LOCAL_MAX_MESSAGE_SIZE.to_string(),
    ));
    m
}

/// A rejected m-section (port 0, RFC 9429 §5.2.2 / §5.3.1) keeping kind, proto and mid.
pub fn rejected(media: &str, proto: &str, formats: &[String], mid: Option<&str>) -> MediaSection {
    let formats = formats
        .first()
        .cloned()
        .map(|f| vec![f])
        .unwrap_or_else(|| vec!["0".into()]);
    let mut m = base(media, 0, proto, formats);
    // A rejected remote m-section may have had no mid; do not invent an empty one.
    if let Some(mid) = mid.filter(|m| !m.is_empty()) {
        m.attributes.push(Attribute::new("mid", mid));
    }
    if media == "audio" || media == "video" {
        m.attributes.push(Attribute::flag("inactive"));
    }
    m
}

/// The media-specific body: what createOffer and createAnswer share once codecs and extmaps are
/// chosen.
pub struct MediaBody {
    pub formats: Vec<String>,
    pub extmaps: Vec<Attribute>,
    pub codecs: Vec<Attribute>,
    pub direction: Direction,
    /// `a=rid`/`a=simulcast` lines (RFC 8853), offers with several encodings only.
    pub simulcast: Vec<Attribute>,
}

pub fn media(
    t: &Transport,
    mid: &str,
    tr: &Transceiver,
    body: MediaBody,
    cname: &str,
) -> MediaSection {
    let kind = match tr.kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    };
    let mut m = base(kind, 9, "UDP/TLS/RTP/SAVPF", body.formats);
    m.attributes
        .push(Attribute::new("rtcp", "9 IN IP4 0.0.0.0"));
    transport_attrs(&mut m, t, mid);
    m.attributes.extend(body.extmaps);
    m.attributes.push(Attribute::flag(body.direction.as_str()));
    let sends = body.direction.sends();
    if sends {
        push_msid(&mut m.attributes, tr);
    }
    m.attributes.push(Attribute::flag("rtcp-mux"));
    m.attributes.push(Attribute::flag("rtcp-rsize"));
    m.attributes.extend(body.codecs);
    let simulcast = !body.simulcast.is_empty();
    m.attributes.extend(body.simulcast);
    if sends && !simulcast {
        push_ssrcs(&mut m.attributes, tr, cname);
    }
    m
}

/// RFC 8830 `a=msid:<stream> <track>`; "-" for no stream, one line per stream.
fn push_msid(attrs: &mut Vec<Attribute>, tr: &Transceiver) {
    let track = tr
        .sender_track
        .as_ref()
        .map(|t| t.id.as_str())
        .unwrap_or(&tr.sender_id);
    if tr.sender_stream_ids.is_empty() {
        attrs.push(Attribute::new("msid", format!("- {track}")));
    }
    for s in &tr.sender_stream_ids {
        attrs.push(Attribute::new("msid", format!("{s} {track}")));
    }
}

/// `a=ssrc-group:FID` (RFC 5576 + RFC 4588) and `a=ssrc` cname/msid lines, as Chromium still
/// writes them for legacy endpoints.
fn push_ssrcs(attrs: &mut Vec<Attribute>, tr: &Transceiver, cname: &str) {
    let track = tr
        .sender_track
        .as_ref()
        .map(|t| t.id.as_str())
        .unwrap_or(&tr.sender_id);
    let stream = tr
        .sender_stream_ids
        .first()
        .map(String::as_str)
        .unwrap_or("-");
    let mut ssrcs = vec![tr.ssrc];
    if tr.kind == MediaKind::Video {
        attrs.push(Attribute::new(
            "ssrc-group",
            format!("FID {} {}", tr.ssrc, tr.rtx_ssrc),
        ));
        ssrcs.push(tr.rtx_ssrc);
    }
    for s in ssrcs {
        attrs.push(Attribute::new("ssrc", format!("{s} cname:{cname}")));
        attrs.push(Attribute::new("ssrc", format!("{s} msid:{stream} {track}")));
    }
}

/// Offer body for a transceiver: all our codecs and header extensions.
pub fn offer_body(tr: &Transceiver, extmaps_in_use: &[(u16, String)]) -> MediaBody {
    // Duplicate rids are accepted by addTransceiver (as Chromium does); the SDP names each once.
    let mut rids: Vec<&str> = Vec::new();
    for rid in tr.send_encodings.iter().filter_map(|e| e.rid.as_deref()) {
        if !rids.contains(&rid) {
            rids.push(rid);
        }
    }
    let mut simulcast = Vec::new();
    if rids.len() > 1 && tr.sdp_direction().sends() {
        for r in &rids {
            simulcast.push(Attribute::new("rid", format!("{r} send")));
        }
        simulcast.push(Attribute::new(
            "simulcast",
            format!("send {}", rids.join(";")),
        ));
    }
    MediaBody {
        formats: codecs::offer_formats(tr.kind),
        extmaps: codecs::offer_extmaps(tr.kind, extmaps_in_use),
        codecs: codecs::offer_codec_attributes(tr.kind),
        direction: tr.sdp_direction(),
        simulcast,
    }
}
