//! The sans-IO engine running inside real browsers (`wasm-pack test --headless --chrome .` and
//! `--firefox .`): time from the shell's clock, randomness from a seed, nothing else.
#![cfg(target_arch = "wasm32")]

use polyrtc::clock::instant_from_ms;
use polyrtc_engine::{
    ApiCall, ApiReply, CertificateData, Configuration, DataChannelInit, ErrorName,
    LocalDescriptionInit, MediaKind, OfferOptions, PeerConnection, SessionDescription,
    SignalingState, TransceiverInit,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const WALL: f64 = 1_764_000_000_000.0;

fn pc(seed: u8) -> PeerConnection {
    PeerConnection::new(
        Configuration::default(),
        [seed; 32],
        instant_from_ms(0.0),
        WALL,
    )
    .expect("default configuration is valid")
}

/// A connection with a given certificate: skips key generation where a test makes many.
fn pc_with(seed: u8, certificate: &CertificateData) -> PeerConnection {
    let configuration = Configuration {
        certificates: vec![certificate.clone()],
        ..Configuration::default()
    };
    PeerConnection::new(configuration, [seed; 32], instant_from_ms(0.0), WALL)
        .expect("configuration with a fresh certificate is valid")
}

fn call(pc: &mut PeerConnection, call: ApiCall) -> Result<ApiReply, polyrtc_engine::ApiError> {
    pc.handle_api_call(call, instant_from_ms(10.0), WALL)
}

fn description(reply: ApiReply) -> SessionDescription {
    match reply {
        ApiReply::Description { description } => description,
        other => panic!("expected a description, got {other:?}"),
    }
}

fn set_local(pc: &mut PeerConnection, d: &SessionDescription) {
    let init = LocalDescriptionInit {
        sdp_type: Some(d.sdp_type),
        sdp: d.sdp.clone(),
    };
    call(pc, ApiCall::SetLocalDescription { description: init }).expect("SLD");
}

#[wasm_bindgen_test]
fn offer_answer_with_media_and_data_reaches_stable() {
    let (mut a, mut b) = (pc(7), pc(8));
    let init = DataChannelInit {
        ordered: true,
        ..Default::default()
    };
    call(
        &mut a,
        ApiCall::CreateDataChannel {
            label: "chat".into(),
            init,
        },
    )
    .unwrap();
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let add = ApiCall::AddTransceiver {
            kind,
            track: None,
            init: TransceiverInit::default(),
        };
        call(&mut a, add).unwrap();
    }
    let offer = description(
        call(
            &mut a,
            ApiCall::CreateOffer {
                options: OfferOptions::default(),
            },
        )
        .unwrap(),
    );
    for needle in [
        "a=group:BUNDLE",
        "m=audio",
        "m=video",
        "webrtc-datachannel",
        "a=fingerprint:sha-256",
    ] {
        assert!(
            offer.sdp.contains(needle),
            "offer lacks {needle}:\n{}",
            offer.sdp
        );
    }
    set_local(&mut a, &offer);
    call(&mut b, ApiCall::SetRemoteDescription { description: offer }).unwrap();
    let answer = description(call(&mut b, ApiCall::CreateAnswer).unwrap());
    set_local(&mut b, &answer);
    call(
        &mut a,
        ApiCall::SetRemoteDescription {
            description: answer,
        },
    )
    .unwrap();
    for p in [&a, &b] {
        let s = p.snapshot();
        assert_eq!(s.signaling_state, SignalingState::Stable);
        assert_eq!(s.transceivers.len(), 2);
        assert!(s.sctp.is_some());
    }
    // The offerer is the DTLS server (actpass answered by active): its channel got an odd id,
    // which reads null until SCTP connects (Chromium); a channel created now shows its odd id.
    assert_eq!(a.snapshot().data_channels[0].id, None);
    let ApiReply::DataChannel { channel } = call(
        &mut a,
        ApiCall::CreateDataChannel {
            label: "later".into(),
            init: DataChannelInit::default(),
        },
    )
    .unwrap() else {
        panic!("not a data channel");
    };
    let id = channel.id;
    assert_eq!(id.map(|id| id % 2), Some(1), "data channel id {id:?}");
}

#[wasm_bindgen_test]
fn wrong_state_calls_are_invalid_state_errors() {
    let mut a = pc(9);
    let err = call(&mut a, ApiCall::CreateAnswer).unwrap_err();
    assert_eq!(err.name, ErrorName::InvalidStateError);
    call(&mut a, ApiCall::Close).unwrap();
    let err = call(
        &mut a,
        ApiCall::CreateOffer {
            options: OfferOptions::default(),
        },
    )
    .unwrap_err();
    assert_eq!(err.name, ErrorName::InvalidStateError);
    assert_eq!(a.snapshot().signaling_state, SignalingState::Closed);
}

/// Mutated SDP must give errors, never a panic: a panic here would trap the whole instance.
#[wasm_bindgen_test]
fn mutated_remote_sdp_never_traps() {
    let mut a = pc(11);
    call(
        &mut a,
        ApiCall::CreateDataChannel {
            label: "x".into(),
            init: DataChannelInit::default(),
        },
    )
    .unwrap();
    let offer = description(
        call(
            &mut a,
            ApiCall::CreateOffer {
                options: OfferOptions::default(),
            },
        )
        .unwrap(),
    );
    let bytes = offer.sdp.as_bytes();
    let keygen = polyrtc_engine::KeygenAlgorithm::Ecdsa {
        named_curve: "P-256".into(),
    };
    let certificate = polyrtc::certificate::generate(&keygen, [5; 32], WALL, 86_400_000.0).unwrap();
    let mut state = 0x2545_f491_u32;
    for round in 0..200 {
        let mut mutated = bytes.to_vec();
        for _ in 0..(1 + round % 8) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let at = state as usize % mutated.len();
            match state % 3 {
                0 => mutated[at] = (state >> 8) as u8,
                1 => {
                    mutated.remove(at);
                }
                _ => mutated.insert(at, b"=: \r\n0"[(state >> 8) as usize % 6]),
            }
        }
        let sdp = String::from_utf8_lossy(&mutated).into_owned();
        let mut b = pc_with(12, &certificate);
        let description = SessionDescription {
            sdp_type: polyrtc_engine::SdpType::Offer,
            sdp,
        };
        let _ = call(&mut b, ApiCall::SetRemoteDescription { description });
        let _ = call(&mut b, ApiCall::CreateAnswer);
    }
}
