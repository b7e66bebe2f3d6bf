//! Answering realistic Chromium and Firefox offers.

mod common;
use common::*;
use polyrtc_engine::*;

const CHROMIUM: &str = include_str!("fixtures/chromium_offer.sdp");
const FIREFOX: &str = include_str!("fixtures/firefox_offer.sdp");

fn m_lines(sdp: &str) -> Vec<&str> {
    sdp.lines().filter(|l| l.starts_with("m=")).collect()
}

#[test]
fn answers_chromium_offer() {
    let mut b = pc(2);
    srd(&mut b, &desc(SdpType::Offer, CHROMIUM)).unwrap();
    let ev = events(&mut b);
    let tracks = ev
        .iter()
        .filter(|e| matches!(e, Event::Track { .. }))
        .count();
    assert_eq!(tracks, 2);
    let ans = answer(&mut b);
    let m = m_lines(&ans.sdp);
    assert_eq!(m[0], "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126");
    // ulpfec (118) and red/rtx for video red are not supported.
    assert_eq!(
        m[1],
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103 45 46"
    );
    assert_eq!(m[2], "m=application 9 UDP/DTLS/SCTP webrtc-datachannel");
    assert!(ans.sdp.contains("a=group:BUNDLE 0 1 2\r\n"));
    assert!(ans.sdp.contains("a=setup:active\r\n"));
    assert!(ans.sdp.contains("a=rid:q recv\r\n") && ans.sdp.contains("a=simulcast:recv q;h;f\r\n"));
    assert!(ans.sdp.contains(
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
    ));
    assert!(ans.sdp.contains("a=recvonly"));
    sld(&mut b, &ans).unwrap();
    assert_eq!(b.snapshot().signaling_state, SignalingState::Stable);
    assert_eq!(b.snapshot().sctp.unwrap().max_message_size, 262144.0);
}

#[test]
fn answers_firefox_offer() {
    let mut b = pc(2);
    add_track(&mut b, "mic", MediaKind::Audio, &["local"]);
    srd(&mut b, &desc(SdpType::Offer, FIREFOX)).unwrap();
    let snap = b.snapshot();
    assert_eq!(snap.transceivers.len(), 2);
    assert_eq!(snap.transceivers[0].sender_track_id.as_deref(), Some("mic"));
    let ans = answer(&mut b);
    let m = m_lines(&ans.sdp);
    assert_eq!(m[0], "m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101");
    // VP8+rtx, VP9+rtx, H264 packetization-mode=1 + rtx; H264 mode 0 (97/98) is not offered back.
    assert_eq!(m[1], "m=video 9 UDP/TLS/RTP/SAVPF 120 124 121 125 126 127");
    assert!(ans
        .sdp
        .contains("a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"));
    assert!(!ans.sdp.contains("csrc-audio-level"));
    assert!(ans.sdp.contains("a=sendrecv"));
    assert!(ans.sdp.contains("a=msid:local mic\r\n"));
    sld(&mut b, &ans).unwrap();
    let snap = b.snapshot();
    assert_eq!(
        snap.transceivers[0].current_direction,
        Some(TransceiverDirection::Sendrecv)
    );
    // Firefox allows 1 GiB messages; ours cap at 256 KiB.
    assert_eq!(snap.sctp.unwrap().max_message_size, 262144.0);
}

#[test]
fn rejects_unsupported_m_sections() {
    let offer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AA:BB\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=setup:actpass\r\na=rtpmap:98 speex/16000\r\n\
m=text 9 UDP/TLS/RTP/SAVPF 100\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=setup:actpass\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=setup:actpass\r\na=rtpmap:96 VP8/90000\r\n";
    let mut b = pc(2);
    srd(&mut b, &desc(SdpType::Offer, offer)).unwrap();
    let ans = answer(&mut b);
    let m = m_lines(&ans.sdp);
    assert_eq!(m[0], "m=audio 0 UDP/TLS/RTP/SAVPF 98");
    assert_eq!(m[1], "m=text 0 UDP/TLS/RTP/SAVPF 100");
    assert_eq!(m[2], "m=video 9 UDP/TLS/RTP/SAVPF 96");
    assert!(ans.sdp.contains("a=group:BUNDLE 2\r\n"));
    sld(&mut b, &ans).unwrap();
    // The rejected audio transceiver is stopped and, negotiation done, removed (Chromium).
    let t = &b.snapshot().transceivers;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].kind, MediaKind::Video);
    assert!(!t[0].stopped);
}

#[test]
fn rejected_remote_section_without_mid() {
    let offer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AA:BB\r\n\
m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=setup:actpass\r\na=sctp-port:5000\r\n";
    let mut b = pc(2);
    srd(&mut b, &desc(SdpType::Offer, offer)).unwrap();
    let ans = answer(&mut b);
    sld(&mut b, &ans).unwrap();
    assert!(b.snapshot().sctp.is_some());
    assert!(m_lines(&ans.sdp)[0].starts_with("m=video 0 "));
}

#[test]
fn subsequent_offer_keeps_negotiated_extmap_ids() {
    // Firefox numbers its header extensions differently from us; a re-offer must not reassign
    // an id in use (Chromium rejects it with InvalidAccessError).
    let mut b = pc(2);
    srd(&mut b, &desc(SdpType::Offer, FIREFOX)).unwrap();
    let ans = answer(&mut b);
    sld(&mut b, &ans).unwrap();
    let negotiated: Vec<&str> = ans
        .sdp
        .lines()
        .filter(|l| l.starts_with("a=extmap:"))
        .collect();
    assert!(!negotiated.is_empty());
    let o = offer(&mut b);
    for line in &negotiated {
        let (id, uri) = line.split_once(' ').unwrap_or_default();
        for other in o.sdp.lines().filter(|l| l.starts_with("a=extmap:")) {
            let (oid, ouri) = other.split_once(' ').unwrap_or_default();
            assert!(oid != id || ouri == uri, "{other} reassigns {line}");
            assert!(ouri != uri || oid == id, "{other} renumbers {line}");
        }
    }
}

#[test]
fn answerer_keeps_dtls_role_when_answering_a_reoffer() {
    let (mut a, mut b) = (pc(1), pc(2));
    channel(&mut a, "d", dc_init()).unwrap();
    negotiate(&mut a, &mut b); // b answered active: a is the DTLS server
    add_transceiver(&mut b, MediaKind::Video, TransceiverDirection::Sendrecv);
    let o = offer(&mut b);
    assert!(o.sdp.contains("a=setup:actpass\r\n"));
    sld(&mut b, &o).unwrap();
    srd(&mut a, &o).unwrap();
    let ans = answer(&mut a);
    assert!(ans.sdp.contains("a=setup:passive\r\n"));
    assert!(!ans.sdp.contains("a=setup:active"));
    sld(&mut a, &ans).unwrap();
    srd(&mut b, &ans).unwrap();
    // A third round from a: b answers active again.
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    srd(&mut b, &o).unwrap();
    assert!(answer(&mut b).sdp.contains("a=setup:active\r\n"));
}
