//! The codecs and RTP header extensions we offer, in Chromium's order and with Chromium's payload
//! types (so SDP from polyrtc looks like Chromium's to SFUs that special-case it), and the answer
//! side intersection (RFC 9429 §5.3.1: keep the offerer's payload types and order).

use crate::api::MediaKind;
use crate::sdp::{Attribute, MediaSection, RtpMap};

#[derive(Debug, Clone, Copy)]
struct CodecDef {
    pt: u8,
    name: &'static str,
    clock: u32,
    channels: Option<u16>,
    fmtp: Option<&'static str>,
    fb: &'static [&'static str],
}

const VIDEO_FB: &[&str] = &["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"];

const fn c(
    pt: u8,
    name: &'static str,
    clock: u32,
    channels: Option<u16>,
    fmtp: Option<&'static str>,
    fb: &'static [&'static str],
) -> CodecDef {
    CodecDef {
        pt,
        name,
        clock,
        channels,
        fmtp,
        fb,
    }
}

/// Chromium M120+ audio offer: `111 63 9 0 8 13 110 126`.
const AUDIO: &[CodecDef] = &[
    c(
        111,
        "opus",
        48000,
        Some(2),
        Some("minptime=10;useinbandfec=1"),
        &["transport-cc"],
    ),
    c(63, "red", 48000, Some(2), Some("111/111"), &[]),
    c(9, "G722", 8000, None, None, &[]),
    c(0, "PCMU", 8000, None, None, &[]),
    c(8, "PCMA", 8000, None, None, &[]),
    c(13, "CN", 8000, None, None, &[]),
    c(110, "telephone-event", 48000, None, None, &[]),
    c(126, "telephone-event", 8000, None, None, &[]),
];

/// VP8, VP9 profile 0, H.264 constrained baseline and AV1, each followed by its RTX
/// (RFC 4588) payload type, as Chromium lists them.
const VIDEO: &[CodecDef] = &[
    c(96, "VP8", 90000, None, None, VIDEO_FB),
    c(97, "rtx", 90000, None, Some("apt=96"), &[]),
    c(98, "VP9", 90000, None, Some("profile-id=0"), VIDEO_FB),
    c(99, "rtx", 90000, None, Some("apt=98"), &[]),
    c(
        102,
        "H264",
        90000,
        None,
        Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
        VIDEO_FB,
    ),
    c(103, "rtx", 90000, None, Some("apt=102"), &[]),
    c(
        45,
        "AV1",
        90000,
        None,
        Some("level-idx=5;profile=0;tier=0"),
        VIDEO_FB,
    ),
    c(46, "rtx", 90000, None, Some("apt=45"), &[]),
];

pub const AUDIO_EXTMAPS: &[(u16, &str)] = &[
    (1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
    (
        2,
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    ),
    (
        3,
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    ),
    (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
];

pub const VIDEO_EXTMAPS: &[(u16, &str)] = &[
    (14, "urn:ietf:params:rtp-hdrext:toffset"),
    (
        2,
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    ),
    (13, "urn:3gpp:video-orientation"),
    (
        3,
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    ),
    (
        5,
        "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
    ),
    (
        6,
        "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type",
    ),
    (
        7,
        "http://www.webrtc.org/experiments/rtp-hdrext/video-timing",
    ),
    (
        8,
        "http://www.webrtc.org/experiments/rtp-hdrext/color-space",
    ),
    (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
    (10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
    (11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
];

fn table(kind: MediaKind) -> &'static [CodecDef] {
    match kind {
        MediaKind::Audio => AUDIO,
        MediaKind::Video => VIDEO,
    }
}

pub fn extmaps(kind: MediaKind) -> &'static [(u16, &'static str)] {
    match kind {
        MediaKind::Audio => AUDIO_EXTMAPS,
        MediaKind::Video => VIDEO_EXTMAPS,
    }
}

/// The payload types of an offer's m= line and the extmap lines.
pub fn offer_formats(kind: MediaKind) -> Vec<String> {
    table(kind).iter().map(|c| c.pt.to_string()).collect()
}

pub fn extmap_attributes(kind: MediaKind) -> Vec<Attribute> {
    extmaps(kind)
        .iter()
        .map(|(id, uri)| Attribute::new("extmap", format!("{id} {uri}")))
        .collect()
}

/// Our extmap lines for a subsequent offer: ids already negotiated in the session keep their
/// URI (RFC 8285 §6 / RFC 9429 §5.2.2; Chromium rejects an offer that reassigns an id in use on
/// a BUNDLE group with InvalidAccessError). `in_use`: (id, uri) pairs of the current
/// descriptions. A URI not yet negotiated keeps our default id when it is free, else takes the
/// lowest free one-byte-header id.
pub fn offer_extmaps(kind: MediaKind, in_use: &[(u16, String)]) -> Vec<Attribute> {
    let mut taken: Vec<(u16, &str)> = in_use.iter().map(|(i, u)| (*i, u.as_str())).collect();
    let mut out = Vec::new();
    for (default_id, uri) in extmaps(kind) {
        let id = match taken.iter().find(|(_, u)| u == uri) {
            Some((id, _)) => Some(*id),
            None => {
                let free = |id: &u16| !taken.iter().any(|(i, _)| i == id);
                let id = Some(*default_id)
                    .filter(free)
                    .or_else(|| (1..=14).find(free));
                if let Some(id) = id {
                    taken.push((id, uri));
                }
                id
            }
        };
        if let Some(id) = id {
            out.push(Attribute::new("extmap", format!("{id} {uri}")));
        }
    }
    out
}

/// rtpmap / rtcp-fb / fmtp lines of an offer, per codec in Chromium's grouping.
pub fn offer_codec_attributes(kind: MediaKind) -> Vec<Attribute> {
    let mut out = Vec::new();
    for c in table(kind) {
        out.push(Attribute::new(
            "rtpmap",
            rtpmap_value(c.pt, c.name, c.clock, c.channels),
        ));
        for fb in c.fb {
            out.push(Attribute::new("rtcp-fb", format!("{} {fb}", c.pt)));
        }
        if let Some(f) = c.fmtp {
            out.push(Attribute::new("fmtp", format!("{} {f}", c.pt)));
        }
    }
    out
}

fn rtpmap_value(pt: u8, name: &str, clock: u32, channels: Option<u16>) -> String {
    match channels {
        Some(ch) => format!("{pt} {name}/{clock}/{ch}"),
        None => format!("{pt} {name}/{clock}"),
    }
}

/// RFC 3551 static payload types an offer may use without an rtpmap line.
fn static_rtpmap(pt: u8) -> Option<RtpMap> {
    let (name, clock) = match pt {
        0 => ("PCMU", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        13 => ("CN", 8000),
        _ => return None,
    };
    Some(RtpMap {
        pt,
        name: name.into(),
        clock_rate: clock,
        channels: None,
    })
}

fn fmtp_param<'a>(fmtp: Option<&'a str>, key: &str) -> Option<&'a str> {
    fmtp?.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k.eq_ignore_ascii_case(key)).then_some(v.trim())
    })
}

/// Does an offered codec match one of ours (name, clock rate, channels, and the fmtp
/// parameters that change the bitstream: H.264 profile and packetization mode, VP9 profile)?
fn supported<'a>(kind: MediaKind, map: &RtpMap, fmtp: Option<&str>) -> Option<&'a CodecDef> {
    table(kind).iter().find(|c| {
        c.name.eq_ignore_ascii_case(&map.name)
            && c.clock == map.clock_rate
            && (c.channels.unwrap_or(1) == map.channels.unwrap_or(1))
            && match c.name {
                "H264" => {
                    let profile = fmtp_param(fmtp, "profile-level-id").and_then(|p| p.get(..2));
                    let mode = fmtp_param(fmtp, "packetization-mode").unwrap_or("0");
                    matches!(profile, Some("42")) && mode == "1"
                }
                "VP9" => fmtp_param(fmtp, "profile-id").unwrap_or("0") == "0",
                _ => true,
            }
    })
}

/// The answer's payload types and codec lines for an offered m-section, or None if nothing in
/// common (the m-section is then rejected, RFC 9429 §5.3.1).
pub fn answer_codecs(
    kind: MediaKind,
    offer: &MediaSection,
) -> Option<(Vec<String>, Vec<Attribute>)> {
    let maps = offer.rtpmaps();
    let lookup = |pt: u8| {
        maps.iter()
            .find(|m| m.pt == pt)
            .cloned()
            .or_else(|| static_rtpmap(pt))
    };
    let mut accepted: Vec<(RtpMap, &CodecDef)> = Vec::new();
    // First the primary codecs, then RTX/RED whose referenced codec was accepted.
    for f in &offer.formats {
        let Some(map) = f.parse().ok().and_then(lookup) else {
            continue;
        };
        if matches!(map.name.to_ascii_lowercase().as_str(), "rtx" | "red") {
            continue;
        }
        if let Some(def) = supported(kind, &map, offer.fmtp(map.pt)) {
            accepted.push((map, def));
        }
    }
    if !accepted.iter().any(|(m, _)| {
        !m.name.eq_ignore_ascii_case("telephone-event") && !m.name.eq_ignore_ascii_case("CN")
    }) {
        return None;
    }
    let primaries: Vec<u8> = accepted.iter().map(|(m, _)| m.pt).collect();
    for f in &offer.formats {
        let Some(map) = f.parse().ok().and_then(lookup) else {
            continue;
        };
        if refers_to_accepted(kind, &map, offer.fmtp(map.pt), &primaries) {
            if let Some(def) = table(kind)
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&map.name))
            {
                accepted.push((map, def));
            }
        }
    }
    // Keep the offer's order.
    let order = |pt: u8| {
        offer
            .formats
            .iter()
            .position(|f| f.parse::<u8>().ok() == Some(pt))
    };
    accepted.sort_by_key(|(m, _)| order(m.pt));
    Some(answer_lines(offer, &accepted))
}

/// RTX (RFC 4588 `apt=`) and audio RED (RFC 2198 `<pt>/<pt>`) ride on an accepted codec.
fn refers_to_accepted(kind: MediaKind, map: &RtpMap, fmtp: Option<&str>, primaries: &[u8]) -> bool {
    match map.name.to_ascii_lowercase().as_str() {
        "rtx" => fmtp_param(fmtp, "apt")
            .and_then(|a| a.parse().ok())
            .is_some_and(|a: u8| primaries.contains(&a)),
        "red" if kind == MediaKind::Audio => fmtp
            .and_then(|f| f.split('/').next())
            .and_then(|p| p.trim().parse().ok())
            .is_some_and(|p: u8| primaries.contains(&p)),
        _ => false,
    }
}

fn answer_lines(
    offer: &MediaSection,
    accepted: &[(RtpMap, &CodecDef)],
) -> (Vec<String>, Vec<Attribute>) {
    let mut formats = Vec::new();
    let mut attrs = Vec::new();
    for (map, def) in accepted {
        formats.push(map.pt.to_string());
        attrs.push(Attribute::new(
            "rtpmap",
            rtpmap_value(map.pt, &map.name, map.clock_rate, map.channels),
        ));
        for fb in offer.rtcp_fbs(map.pt) {
            if def.fb.contains(&fb) {
                attrs.push(Attribute::new("rtcp-fb", format!("{} {fb}", map.pt)));
            }
        }
        if let Some(f) = offer.fmtp(map.pt) {
            attrs.push(Attribute::new("fmtp", format!("{} {f}", map.pt)));
        }
    }
    (formats, attrs)
}

/// Offered header extensions we support, with the offerer's ids (RFC 8285 §6).
pub fn answer_extmaps(kind: MediaKind, offer: &MediaSection) -> Vec<Attribute> {
    let ours = extmaps(kind);
    offer
        .extmaps()
        .into_iter()
        .filter(|(_, uri)| ours.iter().any(|(_, u)| u == uri))
        .map(|(id, uri)| Attribute::new("extmap", format!("{id} {uri}")))
        .collect()
}

pub fn kind_of(m: &MediaSection) -> Option<MediaKind> {
    match m.media.as_str() {
        "audio" => Some(MediaKind::Audio),
        "video" => Some(MediaKind::Video),
        _ => None,
    }
}
