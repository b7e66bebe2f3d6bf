use super::*;

const CHROMIUM: &str = include_str!("../../tests/fixtures/chromium_offer.sdp");
const FIREFOX: &str = include_str!("../../tests/fixtures/firefox_offer.sdp");

#[test]
fn parses_chromium_offer() {
    let sdp = parse(CHROMIUM).unwrap();
    assert_eq!(sdp.origin.session_id, "4611731400430051336");
    assert_eq!(sdp.origin.session_version, 2);
    assert_eq!(sdp.bundle_mids().unwrap(), vec!["0", "1", "2"]);
    assert_eq!(sdp.media.len(), 3);
    let audio = &sdp.media[0];
    assert_eq!(audio.media, "audio");
    assert_eq!(audio.formats.len(), 8);
    assert_eq!(audio.direction(), Direction::SendRecv);
    assert_eq!(
        audio.msid_streams(),
        vec!["6b3c5c59-6f9a-4e1c-a7d5-3f1f1c0e9a21"]
    );
    let opus = &audio.rtpmaps()[0];
    assert_eq!(
        (opus.pt, opus.name.as_str(), opus.clock_rate, opus.channels),
        (111, "opus", 48000, Some(2))
    );
    assert_eq!(audio.fmtp(111), Some("minptime=10;useinbandfec=1"));
    assert_eq!(audio.rtcp_fbs(111), vec!["transport-cc"]);
    assert_eq!(sdp.ice_ufrag(0), Some("Yh3q"));
    let video = &sdp.media[1];
    assert_eq!(video.extmaps().len(), 11);
    assert_eq!(video.rtcp_fbs(96).len(), 5);
    assert_eq!(video.attrs("rid").count(), 3);
    assert!(sdp.media[2].is_data());
    assert_eq!(sdp.media[2].attr("max-message-size"), Some("262144"));
    assert_eq!(
        sdp.fingerprint(2).map(|f| f.starts_with("sha-256 1D:5F")),
        Some(true)
    );
}

#[test]
fn parses_firefox_offer() {
    let sdp = parse(FIREFOX).unwrap();
    assert_eq!(sdp.origin.username, "mozilla...THIS_IS_SDPARTA-99.0");
    assert_eq!(sdp.media.len(), 3);
    // Session-level fingerprint and ice-options apply to every m-section.
    assert!(sdp.fingerprint(1).is_some());
    assert_eq!(sdp.ice_options(0), Some("trickle"));
    assert_eq!(
        sdp.media[1].extmaps()[3],
        (
            6,
            "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay".to_string()
        )
    );
    assert_eq!(
        sdp.media[0].msid_streams(),
        vec!["{5b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0}"]
    );
    assert_eq!(sdp.media[0].rtpmaps()[1].channels, Some(1));
}

#[test]
fn round_trips_fixtures() {
    for text in [CHROMIUM, FIREFOX] {
        let sdp = parse(text).unwrap();
        let written = sdp.to_sdp_string();
        assert_eq!(parse(&written).unwrap(), sdp);
        // The fixtures are CRLF and in canonical order, so the text itself survives.
        assert_eq!(written, text);
    }
}

#[test]
fn accepts_lf_and_unknown_attributes() {
    let text = "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=x-unknown:whatever: it is\nm=audio 9 RTP/AVP 0\na=foo\n";
    let sdp = parse(text).unwrap();
    assert_eq!(sdp.attr("x-unknown"), Some("whatever: it is"));
    assert!(sdp.media[0].has("foo"));
}

fn line_of(text: &str) -> u32 {
    parse(text).unwrap_err().line
}

#[test]
fn rejects_garbage_with_line_numbers() {
    let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
    assert_eq!(line_of(""), 1);
    assert_eq!(line_of("hello"), 1);
    assert_eq!(line_of("v=1\r\n"), 1);
    assert_eq!(line_of("v=0\r\no=- x 1 IN IP4 0.0.0.0\r\n"), 2);
    assert_eq!(line_of("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"), 3);
    assert_eq!(line_of(&format!("{head}m=audio\r\n")), 5);
    assert_eq!(
        line_of(&format!(
            "{head}m=audio 9 RTP/AVP 0\r\na=rtpmap:abc opus\r\n"
        )),
        6
    );
    assert_eq!(line_of(&format!("{head}m=audio 99999 RTP/AVP 0\r\n")), 5);
    assert_eq!(line_of(&format!("{head}a=fingerprint:sha-256 zz\r\n")), 5);
    assert_eq!(
        line_of(&format!("{head}m=audio 9 RTP/AVP 0\r\nc=IN IP5 x\r\n")),
        6
    );
    assert_eq!(
        line_of(&format!("{head}m=audio 9 RTP/AVP 0\r\n\r\na=x\r\n")),
        6
    );
    assert_eq!(
        line_of(&format!("{head}m=audio 9 RTP/AVP 0\r\nt=0 0\r\n")),
        6
    );
    assert_eq!(
        line_of(&format!("{head}a=candidate:1 1 udp 1 1.2.3.4 5 typ\r\n")),
        5
    );
    assert_eq!(line_of(&format!("{head}a=extmap:0 urn:x\r\n")), 5);
}

#[test]
fn direction_algebra() {
    assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
    assert_eq!(
        Direction::SendRecv.intersect(Direction::RecvOnly),
        Direction::RecvOnly
    );
    assert_eq!(
        Direction::SendOnly.intersect(Direction::RecvOnly),
        Direction::Inactive
    );
}

#[test]
fn writes_rfc_line_order() {
    let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nr=7d 1h 0 25h\r\ni=info\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nk=prompt\r\ni=media\r\nc=IN IP4 0.0.0.0\r\n";
    let sdp = parse(text).unwrap();
    let out = sdp.to_sdp_string();
    assert_eq!(
        out,
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\ni=info\r\nt=0 0\r\nr=7d 1h 0 25h\r\nm=audio 9 RTP/AVP 0\r\ni=media\r\nc=IN IP4 0.0.0.0\r\nk=prompt\r\n"
    );
    assert_eq!(parse(&out).unwrap(), sdp);
}
