//! Signaling state machine, descriptions, SDP munging and rollback through the public API.

mod common;
use common::*;
use polyrtc_engine::*;

fn state(pc: &PeerConnection) -> SignalingState {
    pc.snapshot().signaling_state
}

#[test]
fn offer_answer_between_two_engines() {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "a-audio", MediaKind::Audio, &["s1"]);
    channel(&mut a, "chat", dc_init()).unwrap();
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    assert_eq!(state(&a), SignalingState::HaveLocalOffer);
    let snap = a.snapshot();
    assert_eq!(snap.pending_local_description.as_ref(), Some(&o));
    assert!(snap.current_local_description.is_none());
    srd(&mut b, &o).unwrap();
    assert_eq!(state(&b), SignalingState::HaveRemoteOffer);
    let ans = answer(&mut b);
    sld(&mut b, &ans).unwrap();
    srd(&mut a, &ans).unwrap();
    for (pc, local, remote) in [(&a, &o, &ans), (&b, &ans, &o)] {
        let s = pc.snapshot();
        assert_eq!(s.signaling_state, SignalingState::Stable);
        assert!(s.pending_local_description.is_none() && s.pending_remote_description.is_none());
        assert_eq!(s.current_local_description.as_ref(), Some(local));
        assert_eq!(s.current_remote_description.as_ref(), Some(remote));
        assert!(s.sctp.is_some());
    }
    // a offered actpass, b answered active: a is the DTLS server (odd ids), b the client.
    // "chat" got id 1, hidden until SCTP connects (Chromium).
    assert_eq!(a.snapshot().data_channels[0].id, None);
    assert_eq!(channel(&mut b, "x", dc_init()).unwrap().id, Some(0));
    assert_eq!(channel(&mut a, "y", dc_init()).unwrap().id, Some(3));
    let tb = &b.snapshot().transceivers[0];
    assert_eq!(tb.mid.as_deref(), Some("0"));
    assert_eq!(tb.direction, TransceiverDirection::Recvonly);
    assert_eq!(tb.current_direction, Some(TransceiverDirection::Recvonly));
    assert_eq!(
        a.snapshot().transceivers[0].current_direction,
        Some(TransceiverDirection::Sendonly)
    );
    assert!(!needs_negotiation(&mut a));
    assert!(!needs_negotiation(&mut b));
}

#[test]
fn signaling_events_fire_on_every_change() {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "t", MediaKind::Video, &["s"]);
    negotiate(&mut a, &mut b);
    let sig = |ev: Vec<Event>| -> Vec<SignalingState> {
        ev.into_iter()
            .filter_map(|e| match e {
                Event::SignalingStateChange { state } => Some(state),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        sig(events(&mut a)),
        vec![SignalingState::HaveLocalOffer, SignalingState::Stable]
    );
    assert_eq!(
        sig(events(&mut b)),
        vec![SignalingState::HaveRemoteOffer, SignalingState::Stable]
    );
}

#[test]
fn wrong_state_errors() {
    let mut a = pc(1);
    assert_eq!(
        err(&mut a, ApiCall::CreateAnswer),
        ErrorName::InvalidStateError
    );
    let rollback = LocalDescriptionInit {
        sdp_type: Some(SdpType::Rollback),
        sdp: String::new(),
    };
    assert_eq!(
        err(
            &mut a,
            ApiCall::SetLocalDescription {
                description: rollback
            }
        ),
        ErrorName::InvalidStateError
    );
    let remote_rollback = desc(SdpType::Rollback, "");
    assert_eq!(
        srd(&mut a, &remote_rollback).unwrap_err().name,
        ErrorName::InvalidStateError
    );
    let o = offer(&mut a);
    let as_answer = desc(SdpType::Answer, &o.sdp);
    // No m-section, no fingerprint: the state check decides.
    assert_eq!(
        sld(&mut a, &as_answer).unwrap_err().name,
        ErrorName::InvalidStateError
    );
    // Chromium compares the fingerprint with the last created answer (none) before the state.
    let mut c = pc(3);
    channel(&mut c, "x", dc_init()).unwrap();
    let oc = offer(&mut c);
    assert_eq!(
        sld(&mut c, &desc(SdpType::Answer, &oc.sdp))
            .unwrap_err()
            .name,
        ErrorName::InvalidModificationError
    );
    assert_eq!(
        srd(&mut a, &as_answer).unwrap_err().name,
        ErrorName::InvalidStateError
    );
    sld(&mut a, &o).unwrap();
    assert_eq!(
        err(&mut a, ApiCall::CreateAnswer),
        ErrorName::InvalidStateError
    );
    // SLD(offer) in have-remote-offer is not possible, nor is createOffer.
    let mut b = pc(2);
    let ob = offer(&mut b);
    srd(&mut b, &o).unwrap();
    assert_eq!(
        sld(&mut b, &ob).unwrap_err().name,
        ErrorName::InvalidStateError
    );
    assert_eq!(
        err(
            &mut b,
            ApiCall::CreateOffer {
                options: OfferOptions::default()
            }
        ),
        ErrorName::InvalidStateError
    );
    // A remote description is parsed before the state is checked (Chromium).
    let garbage_answer = desc(SdpType::Answer, "x");
    assert_eq!(
        srd(&mut a, &garbage_answer).unwrap_err().name,
        ErrorName::OperationError
    );
}

#[test]
fn remote_offer_in_have_local_offer_rolls_back_implicitly() {
    // Perfect negotiation: the polite peer applies the remote offer over its own.
    let (mut polite, mut impolite) = (pc(1), pc(2));
    add_track(&mut polite, "p", MediaKind::Audio, &["ps"]);
    add_track(&mut impolite, "i", MediaKind::Audio, &["is"]);
    let op = offer(&mut polite);
    sld(&mut polite, &op).unwrap();
    let oi = offer(&mut impolite);
    sld(&mut impolite, &oi).unwrap();
    events(&mut polite);
    srd(&mut polite, &oi).unwrap();
    let sig: Vec<_> = events(&mut polite)
        .into_iter()
        .filter_map(|e| match e {
            Event::SignalingStateChange { state } => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(
        sig,
        vec![SignalingState::Stable, SignalingState::HaveRemoteOffer]
    );
    let s = polite.snapshot();
    assert!(s.pending_local_description.is_none());
    // The polite peer's addTrack transceiver is reused for the remote audio m-section.
    assert_eq!(s.transceivers.len(), 1);
    assert_eq!(s.transceivers[0].mid.as_deref(), Some("0"));
    let ans = answer(&mut polite);
    sld(&mut polite, &ans).unwrap();
    srd(&mut impolite, &ans).unwrap();
    assert_eq!(
        impolite.snapshot().transceivers[0].current_direction,
        Some(TransceiverDirection::Sendrecv)
    );
}

#[test]
fn sdp_munging_follows_chromium() {
    let mut a = pc(1);
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    let o = offer(&mut a);
    // A changed fingerprint is rejected before anything else.
    let fp = o
        .sdp
        .replace("a=fingerprint:sha-256 0", "a=fingerprint:sha-256 F");
    assert_ne!(fp, o.sdp);
    assert_eq!(
        sld(&mut a, &desc(SdpType::Offer, &fp)).unwrap_err().name,
        ErrorName::InvalidModificationError
    );
    // Garbage has no fingerprint: it fails to parse.
    let garbage = desc(SdpType::Offer, "garbage");
    assert_eq!(
        sld(&mut a, &garbage).unwrap_err().name,
        ErrorName::OperationError
    );
    // Removing an m-section is rejected (Chromium does the same).
    let cut = o
        .sdp
        .split("m=audio")
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        sld(&mut a, &desc(SdpType::Offer, &cut)).unwrap_err().name,
        ErrorName::InvalidModificationError
    );
    assert_eq!(a.snapshot().signaling_state, SignalingState::Stable);
    // Munged ICE credentials are applied, as Chromium does.
    let ufrag = o
        .sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap_or_default()
        .to_string();
    let munged = desc(SdpType::Offer, &o.sdp.replace(&ufrag, "modifiedufrag"));
    sld(&mut a, &munged).unwrap();
    let s = a.snapshot();
    assert_eq!(s.signaling_state, SignalingState::HaveLocalOffer);
    assert!(s
        .pending_local_description
        .unwrap()
        .sdp
        .contains("a=ice-ufrag:modifiedufrag"));
    // Later offers keep the munged ufrag.
    assert!(offer(&mut a).sdp.contains("a=ice-ufrag:modifiedufrag"));
}

#[test]
fn implicit_set_local_description() {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    ok(
        &mut a,
        ApiCall::SetLocalDescription {
            description: LocalDescriptionInit::default(),
        },
    );
    let o = a.snapshot().pending_local_description.unwrap();
    assert_eq!(o.sdp_type, SdpType::Offer);
    srd(&mut b, &o).unwrap();
    ok(
        &mut b,
        ApiCall::SetLocalDescription {
            description: LocalDescriptionInit::default(),
        },
    );
    let ans = b.snapshot().current_local_description.unwrap();
    assert_eq!(ans.sdp_type, SdpType::Answer);
    srd(&mut a, &ans).unwrap();
    assert_eq!(state(&a), SignalingState::Stable);
    // Type given, empty sdp: the last created offer.
    let o2 = offer(&mut a);
    ok(
        &mut a,
        ApiCall::SetLocalDescription {
            description: LocalDescriptionInit {
                sdp_type: Some(SdpType::Offer),
                sdp: String::new(),
            },
        },
    );
    assert_eq!(a.snapshot().pending_local_description.unwrap(), o2);
}

#[test]
fn pranswer_then_answer() {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    srd(&mut b, &o).unwrap();
    let ans = answer(&mut b);
    let pr = desc(SdpType::Pranswer, &ans.sdp);
    sld(&mut b, &pr).unwrap();
    assert_eq!(state(&b), SignalingState::HaveLocalPranswer);
    assert_eq!(b.snapshot().pending_local_description, Some(pr.clone()));
    assert!(b.snapshot().current_local_description.is_none());
    srd(&mut a, &pr).unwrap();
    assert_eq!(state(&a), SignalingState::HaveRemotePranswer);
    assert_eq!(a.snapshot().pending_remote_description, Some(pr.clone()));
    assert_eq!(a.snapshot().pending_local_description, Some(o.clone()));
    sld(&mut b, &ans).unwrap();
    srd(&mut a, &ans).unwrap();
    for pc in [&a, &b] {
        let s = pc.snapshot();
        assert_eq!(s.signaling_state, SignalingState::Stable);
        assert!(s.pending_local_description.is_none() && s.pending_remote_description.is_none());
    }
    assert_eq!(a.snapshot().current_remote_description, Some(ans.clone()));
    assert_eq!(a.snapshot().current_local_description, Some(o));
}

#[test]
fn local_rollback_restores_stable() {
    let mut a = pc(1);
    let t = add_track(&mut a, "t", MediaKind::Audio, &[]);
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    assert_eq!(a.snapshot().transceivers[0].mid.as_deref(), Some("0"));
    sld(&mut a, &desc(SdpType::Rollback, "")).unwrap();
    let s = a.snapshot();
    assert_eq!(s.signaling_state, SignalingState::Stable);
    assert!(s.pending_local_description.is_none());
    assert_eq!(s.transceivers[0].id, t);
    assert_eq!(s.transceivers[0].mid, None);
    assert!(needs_negotiation(&mut a));
}

#[test]
fn remote_rollback_removes_created_transceivers() {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "t", MediaKind::Video, &["s"]);
    let o = offer(&mut a);
    srd(&mut b, &o).unwrap();
    assert_eq!(b.snapshot().transceivers.len(), 1);
    let created = b.snapshot().transceivers[0].id;
    events(&mut b);
    srd(&mut b, &desc(SdpType::Rollback, "")).unwrap();
    let s = b.snapshot();
    assert_eq!(s.signaling_state, SignalingState::Stable);
    assert!(s.pending_remote_description.is_none());
    assert!(s.transceivers.is_empty());
    assert_eq!(
        events(&mut b),
        vec![
            Event::SignalingStateChange {
                state: SignalingState::Stable
            },
            Event::TrackRemoved {
                transceiver: created,
                stream_ids: vec!["s".into()]
            },
        ]
    );
    // A rolled-back offer can be applied again.
    srd(&mut b, &o).unwrap();
    assert_eq!(b.snapshot().transceivers.len(), 1);
}

#[test]
fn set_remote_rollback_in_have_local_offer() {
    let mut a = pc(1);
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    srd(&mut a, &desc(SdpType::Rollback, "")).unwrap();
    assert_eq!(state(&a), SignalingState::Stable);
}

#[test]
fn bad_remote_sdp_is_an_rtc_error_with_line_number() {
    let mut b = pc(2);
    let e = srd(
        &mut b,
        &desc(
            SdpType::Offer,
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n",
        ),
    )
    .unwrap_err();
    assert_eq!(e.name, ErrorName::OperationError);
    assert_eq!(e.error_detail.as_deref(), Some("sdp-syntax-error"));
    assert_eq!(e.sdp_line_number, Some(5));
    assert_eq!(state(&b), SignalingState::Stable);
}

#[test]
fn remote_sdp_without_ice_or_fingerprint_is_invalid_access() {
    let mut a = pc(1);
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    let o = offer(&mut a);
    let no_ufrag: String = o
        .sdp
        .lines()
        .filter(|l| !l.starts_with("a=ice-ufrag"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let no_fp: String = o
        .sdp
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let mut b = pc(2);
    assert_eq!(
        srd(&mut b, &desc(SdpType::Offer, &no_ufrag))
            .unwrap_err()
            .name,
        ErrorName::InvalidAccessError
    );
    assert_eq!(
        srd(&mut b, &desc(SdpType::Offer, &no_fp)).unwrap_err().name,
        ErrorName::InvalidAccessError
    );
}

#[test]
fn answer_with_wrong_mline_count_is_rejected() {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    add_track(&mut a, "v", MediaKind::Video, &[]);
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    srd(&mut b, &o).unwrap();
    let ans = answer(&mut b);
    let cut = ans.sdp.find("m=video").unwrap();
    let short = desc(
        SdpType::Answer,
        &ans.sdp[..cut].replace("BUNDLE 0 1", "BUNDLE 0"),
    );
    assert_eq!(
        srd(&mut a, &short).unwrap_err().name,
        ErrorName::InvalidAccessError
    );
    srd(&mut a, &ans).unwrap();
}

#[test]
fn closed_guards_everything() {
    let mut a = pc(1);
    let t = add_transceiver(&mut a, MediaKind::Audio, TransceiverDirection::Sendrecv);
    channel(&mut a, "c", dc_init()).unwrap();
    let o = offer(&mut a);
    ok(&mut a, ApiCall::Close);
    events(&mut a);
    ok(&mut a, ApiCall::Close);
    let s = a.snapshot();
    assert_eq!(s.signaling_state, SignalingState::Closed);
    assert_eq!(s.ice_connection_state, IceConnectionState::Closed);
    assert_eq!(s.connection_state, PeerConnectionState::Closed);
    assert!(s.transceivers[0].stopped);
    assert_eq!(s.data_channels[0].ready_state, DataChannelState::Closed);
    assert!(events(&mut a).is_empty(), "close fires no events");
    let calls = vec![
        ApiCall::CreateOffer {
            options: OfferOptions::default(),
        },
        ApiCall::CreateAnswer,
        ApiCall::SetLocalDescription {
            description: LocalDescriptionInit::default(),
        },
        ApiCall::SetRemoteDescription { description: o },
        ApiCall::AddIceCandidate { candidate: None },
        ApiCall::CreateDataChannel {
            label: "x".into(),
            init: dc_init(),
        },
        ApiCall::AddTrack {
            track: track("n", MediaKind::Audio),
            stream_ids: vec![],
        },
        ApiCall::RemoveTrack { transceiver: t },
        ApiCall::AddTransceiver {
            kind: MediaKind::Audio,
            track: None,
            init: TransceiverInit::default(),
        },
        ApiCall::SetConfiguration {
            configuration: config(),
        },
        ApiCall::SetDirection {
            transceiver: t,
            direction: TransceiverDirection::Recvonly,
        },
        ApiCall::ReplaceTrack {
            transceiver: t,
            track: None,
        },
        ApiCall::StopTransceiver { transceiver: t },
        ApiCall::SetStreams {
            transceiver: t,
            stream_ids: vec![],
        },
    ];
    for c in calls {
        let name = format!("{c:?}");
        assert_eq!(err(&mut a, c), ErrorName::InvalidStateError, "{name}");
    }
    assert!(!needs_negotiation(&mut a));
    ok(&mut a, ApiCall::GetStats { timestamp: 1.0 });
    ok(&mut a, ApiCall::GetConfiguration);
}

#[test]
fn session_version_increments() {
    let mut a = pc(1);
    let version = |sdp: &str| {
        sdp.lines()
            .next()
            .and_then(|_| sdp.lines().nth(1))
            .unwrap()
            .split(' ')
            .nth(2)
            .unwrap()
            .to_string()
    };
    let id = |sdp: &str| {
        sdp.lines()
            .nth(1)
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .to_string()
    };
    let o1 = offer(&mut a);
    let o2 = offer(&mut a);
    assert_eq!(version(&o1.sdp), "2");
    assert_eq!(version(&o2.sdp), "3");
    assert_eq!(id(&o1.sdp), id(&o2.sdp));
    assert_eq!(id(&o1.sdp).len(), 19);
}

#[test]
fn deterministic_given_seed() {
    let mk = || {
        let mut a = pc(9);
        add_track(&mut a, "t", MediaKind::Video, &["s"]);
        offer(&mut a).sdp
    };
    assert_eq!(mk(), mk());
}
