//! Helpers shared by the integration tests.
#![allow(dead_code)]

use polyrtc_engine::*;
use std::time::Instant;

pub const WALL_MS: f64 = 1_764_000_000_000.0;

/// A certificate the engine accepts without the DTLS crate (it trusts the given fingerprint).
pub fn fake_cert(tag: u8) -> CertificateData {
    CertificateData {
        certificate_der: vec![0x30, 0x03, 0x02, 0x01, tag],
        private_key_der: vec![0x30, 0x00],
        expires: WALL_MS + 86_400_000.0,
        fingerprints: vec![Fingerprint {
            algorithm: "sha-256".into(),
            value: (0..32)
                .map(|i| format!("{:02X}", i ^ tag))
                .collect::<Vec<_>>()
                .join(":"),
        }],
    }
}

pub fn config() -> Configuration {
    Configuration {
        certificates: vec![fake_cert(1)],
        ..Default::default()
    }
}

pub fn pc_with(config: Configuration, seed: u8) -> PeerConnection {
    PeerConnection::new(config, [seed; 32], Instant::now(), WALL_MS).expect("valid configuration")
}

pub fn pc(seed: u8) -> PeerConnection {
    pc_with(config(), seed)
}

pub fn call(pc: &mut PeerConnection, c: ApiCall) -> Result<ApiReply, ApiError> {
    pc.handle_api_call(c, Instant::now(), WALL_MS)
}

pub fn ok(pc: &mut PeerConnection, c: ApiCall) -> ApiReply {
    call(pc, c).expect("call succeeds")
}

pub fn err(pc: &mut PeerConnection, c: ApiCall) -> ErrorName {
    call(pc, c).expect_err("call fails").name
}

pub fn offer(pc: &mut PeerConnection) -> SessionDescription {
    match ok(
        pc,
        ApiCall::CreateOffer {
            options: OfferOptions::default(),
        },
    ) {
        ApiReply::Description { description } => description,
        r => panic!("unexpected {r:?}"),
    }
}

pub fn answer(pc: &mut PeerConnection) -> SessionDescription {
    match ok(pc, ApiCall::CreateAnswer) {
        ApiReply::Description { description } => description,
        r => panic!("unexpected {r:?}"),
    }
}

pub fn sld(pc: &mut PeerConnection, d: &SessionDescription) -> Result<ApiReply, ApiError> {
    call(
        pc,
        ApiCall::SetLocalDescription {
            description: LocalDescriptionInit {
                sdp_type: Some(d.sdp_type),
                sdp: d.sdp.clone(),
            },
        },
    )
}

pub fn srd(pc: &mut PeerConnection, d: &SessionDescription) -> Result<ApiReply, ApiError> {
    call(
        pc,
        ApiCall::SetRemoteDescription {
            description: d.clone(),
        },
    )
}

pub fn desc(t: SdpType, sdp: &str) -> SessionDescription {
    SessionDescription {
        sdp_type: t,
        sdp: sdp.to_string(),
    }
}

pub fn track(id: &str, kind: MediaKind) -> TrackInfo {
    TrackInfo {
        id: id.into(),
        kind,
    }
}

pub fn add_track(
    pc: &mut PeerConnection,
    id: &str,
    kind: MediaKind,
    streams: &[&str],
) -> TransceiverId {
    match ok(
        pc,
        ApiCall::AddTrack {
            track: track(id, kind),
            stream_ids: streams.iter().map(|s| s.to_string()).collect(),
        },
    ) {
        ApiReply::Transceiver { transceiver } => transceiver,
        r => panic!("unexpected {r:?}"),
    }
}

pub fn add_transceiver(
    pc: &mut PeerConnection,
    kind: MediaKind,
    dir: TransceiverDirection,
) -> TransceiverId {
    let init = TransceiverInit {
        direction: Some(dir),
        ..Default::default()
    };
    match ok(
        pc,
        ApiCall::AddTransceiver {
            kind,
            track: None,
            init,
        },
    ) {
        ApiReply::Transceiver { transceiver } => transceiver,
        r => panic!("unexpected {r:?}"),
    }
}

pub fn channel(
    pc: &mut PeerConnection,
    label: &str,
    init: DataChannelInit,
) -> Result<DataChannelSnapshot, ApiError> {
    call(
        pc,
        ApiCall::CreateDataChannel {
            label: label.into(),
            init,
        },
    )
    .map(|r| match r {
        ApiReply::DataChannel { channel } => channel,
        r => panic!("unexpected {r:?}"),
    })
}

pub fn dc_init() -> DataChannelInit {
    DataChannelInit {
        ordered: true,
        ..Default::default()
    }
}

pub fn events(pc: &mut PeerConnection) -> Vec<Event> {
    std::iter::from_fn(|| pc.poll_event()).collect()
}

pub fn needs_negotiation(pc: &mut PeerConnection) -> bool {
    matches!(
        ok(pc, ApiCall::CheckNegotiationNeeded),
        ApiReply::Bool { value: true }
    )
}

/// Full offer/answer: `a` offers, `b` answers.
pub fn negotiate(a: &mut PeerConnection, b: &mut PeerConnection) {
    let o = offer(a);
    sld(a, &o).unwrap();
    srd(b, &o).unwrap();
    let ans = answer(b);
    sld(b, &ans).unwrap();
    srd(a, &ans).unwrap();
}
