//! Entry points for cargo-fuzz (crates/engine/fuzz) and the stable corpus replay test: parsers
//! are fuzzed where they live. They must never panic, whatever the input.

use crate::api::{ApiCall, IceCandidateInit, SdpType, SessionDescription};

/// Parse arbitrary bytes as SDP; on success, writing and re-parsing must give the same value.
pub fn sdp_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sdp) = crate::sdp::parse(text) {
        let again = crate::sdp::parse(&sdp.to_sdp_string());
        assert_eq!(
            again.as_ref(),
            Ok(&sdp),
            "SDP write/parse round trip changed the description"
        );
    }
}

/// Parse arbitrary bytes as a candidate line, and as an RTCIceCandidate constructor argument.
pub fn candidate_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::candidate::parse(text);
    let init = IceCandidateInit {
        candidate: text.to_string(),
        sdp_mid: Some("0".into()),
        ..Default::default()
    };
    let _ = crate::candidate::info_from_init(&init);
}

/// Feed arbitrary bytes to a peer connection as a remote offer (and answer it), exercising
/// validation and answer generation. Needs a certificate; returns early if none can be made.
pub fn remote_offer(data: &[u8], pc: &mut crate::PeerConnection, now: std::time::Instant) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let call = ApiCall::SetRemoteDescription {
        description: SessionDescription {
            sdp_type: SdpType::Offer,
            sdp: text.to_string(),
        },
    };
    if pc.handle_api_call(call, now, 0.0).is_ok() {
        let _ = pc.handle_api_call(ApiCall::CreateAnswer, now, 0.0);
        let _ = pc.handle_api_call(
            ApiCall::SetRemoteDescription {
                description: SessionDescription {
                    sdp_type: SdpType::Rollback,
                    sdp: String::new(),
                },
            },
            now,
            0.0,
        );
    }
}
