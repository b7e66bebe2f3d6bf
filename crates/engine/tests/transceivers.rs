//! Transceiver object model, remote track processing and negotiation-needed.

mod common;
use common::*;
use polyrtc_engine::*;

fn tr(pc: &PeerConnection, id: TransceiverId) -> TransceiverSnapshot {
    pc.snapshot()
        .transceivers
        .into_iter()
        .find(|t| t.id == id)
        .expect("transceiver exists")
}

fn track_events(ev: &[Event]) -> Vec<(TransceiverId, Vec<String>)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Track {
                transceiver,
                stream_ids,
            } => Some((*transceiver, stream_ids.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn add_track_creates_sendrecv_and_rejects_duplicates() {
    let mut a = pc(1);
    let t = add_track(&mut a, "t1", MediaKind::Audio, &["s", "s"]);
    let s = tr(&a, t);
    assert_eq!(s.direction, TransceiverDirection::Sendrecv);
    assert_eq!(s.sender_track_id.as_deref(), Some("t1"));
    assert_eq!(s.sender_stream_ids, vec!["s"]);
    assert_eq!(s.receiver_track_id.len(), 36);
    assert_eq!(s.mid, None);
    assert_eq!(
        err(
            &mut a,
            ApiCall::AddTrack {
                track: track("t1", MediaKind::Audio),
                stream_ids: vec![]
            }
        ),
        ErrorName::InvalidAccessError
    );
}

#[test]
fn add_track_reuses_unused_transceiver() {
    let mut a = pc(1);
    let t = add_transceiver(&mut a, MediaKind::Video, TransceiverDirection::Recvonly);
    let t2 = add_track(&mut a, "v", MediaKind::Video, &[]);
    assert_eq!(t, t2);
    assert_eq!(tr(&a, t).direction, TransceiverDirection::Sendrecv);
    let t3 = add_transceiver(&mut a, MediaKind::Audio, TransceiverDirection::Inactive);
    assert_eq!(add_track(&mut a, "a", MediaKind::Audio, &[]), t3);
    assert_eq!(tr(&a, t3).direction, TransceiverDirection::Sendonly);
}

#[test]
fn remove_track_changes_direction() {
    let mut a = pc(1);
    let t = add_track(&mut a, "t", MediaKind::Audio, &[]);
    ok(&mut a, ApiCall::RemoveTrack { transceiver: t });
    assert_eq!(tr(&a, t).direction, TransceiverDirection::Recvonly);
    assert_eq!(tr(&a, t).sender_track_id, None);
    let t2 = add_transceiver(&mut a, MediaKind::Audio, TransceiverDirection::Sendonly);
    ok(
        &mut a,
        ApiCall::ReplaceTrack {
            transceiver: t2,
            track: Some(track("x", MediaKind::Audio)),
        },
    );
    ok(&mut a, ApiCall::RemoveTrack { transceiver: t2 });
    assert_eq!(tr(&a, t2).direction, TransceiverDirection::Inactive);
    assert_eq!(
        err(&mut a, ApiCall::RemoveTrack { transceiver: 999 }),
        ErrorName::InvalidAccessError
    );
}

#[test]
fn add_transceiver_validation() {
    let mut a = pc(1);
    let enc = |rid: Option<&str>| RtpEncodingParameters {
        rid: rid.map(Into::into),
        active: true,
        max_bitrate: None,
        max_framerate: None,
        scale_resolution_down_by: None,
    };
    let call = |encs: Vec<RtpEncodingParameters>| ApiCall::AddTransceiver {
        kind: MediaKind::Video,
        track: None,
        init: TransceiverInit {
            send_encodings: encs,
            ..Default::default()
        },
    };
    assert_eq!(
        err(&mut a, call(vec![enc(Some("a")), enc(None)])),
        ErrorName::TypeError
    );
    // Chromium accepts duplicate rids.
    ok(&mut a, call(vec![enc(Some("a")), enc(Some("a"))]));
    assert_eq!(
        err(&mut a, call(vec![enc(Some("bad rid!"))])),
        ErrorName::TypeError
    );
    let mut low = enc(None);
    low.scale_resolution_down_by = Some(0.5);
    assert_eq!(err(&mut a, call(vec![low])), ErrorName::RangeError);
    assert_eq!(
        err(
            &mut a,
            ApiCall::AddTransceiver {
                kind: MediaKind::Audio,
                track: Some(track("v", MediaKind::Video)),
                init: TransceiverInit::default()
            }
        ),
        ErrorName::TypeError
    );
    let stopped = TransceiverInit {
        direction: Some(TransceiverDirection::Stopped),
        ..Default::default()
    };
    // Chromium ignores direction "stopped" and creates a sendrecv transceiver.
    let ApiReply::Transceiver { transceiver } = ok(
        &mut a,
        ApiCall::AddTransceiver {
            kind: MediaKind::Audio,
            track: None,
            init: stopped,
        },
    ) else {
        panic!("not a transceiver")
    };
    assert_eq!(
        tr(&a, transceiver).direction,
        TransceiverDirection::Sendrecv
    );
    // Simulcast encodings produce rid/simulcast lines.
    ok(
        &mut a,
        call(vec![enc(Some("q")), enc(Some("h")), enc(Some("f"))]),
    );
    let o = offer(&mut a);
    assert!(o.sdp.contains("a=rid:q send\r\n"));
    assert!(o.sdp.contains("a=simulcast:send q;h;f\r\n"));
}

#[test]
fn direction_replace_track_and_streams() {
    let mut a = pc(1);
    let t = add_transceiver(&mut a, MediaKind::Audio, TransceiverDirection::Sendrecv);
    ok(
        &mut a,
        ApiCall::SetDirection {
            transceiver: t,
            direction: TransceiverDirection::Sendonly,
        },
    );
    assert_eq!(tr(&a, t).direction, TransceiverDirection::Sendonly);
    assert_eq!(
        err(
            &mut a,
            ApiCall::SetDirection {
                transceiver: t,
                direction: TransceiverDirection::Stopped
            }
        ),
        ErrorName::TypeError
    );
    assert_eq!(
        err(
            &mut a,
            ApiCall::ReplaceTrack {
                transceiver: t,
                track: Some(track("v", MediaKind::Video))
            }
        ),
        ErrorName::TypeError
    );
    ok(
        &mut a,
        ApiCall::ReplaceTrack {
            transceiver: t,
            track: Some(track("a", MediaKind::Audio)),
        },
    );
    ok(
        &mut a,
        ApiCall::SetStreams {
            transceiver: t,
            stream_ids: vec!["x".into(), "y".into()],
        },
    );
    let s = tr(&a, t);
    assert_eq!(s.sender_track_id.as_deref(), Some("a"));
    assert_eq!(s.sender_stream_ids, vec!["x", "y"]);
    let o = offer(&mut a);
    assert!(o.sdp.contains("a=msid:x a\r\na=msid:y a\r\n"));
    assert!(o.sdp.contains("a=sendonly"));
}

#[test]
fn stop_transceiver_stopping_then_stopped() {
    let (mut a, mut b) = (pc(1), pc(2));
    let t = add_track(&mut a, "t", MediaKind::Audio, &[]);
    negotiate(&mut a, &mut b);
    ok(&mut a, ApiCall::StopTransceiver { transceiver: t });
    let s = tr(&a, t);
    assert!(s.stopping && !s.stopped);
    assert_eq!(s.direction, TransceiverDirection::Stopped);
    assert_eq!(
        err(
            &mut a,
            ApiCall::SetDirection {
                transceiver: t,
                direction: TransceiverDirection::Sendrecv
            }
        ),
        ErrorName::InvalidStateError
    );
    assert_eq!(
        err(
            &mut a,
            ApiCall::ReplaceTrack {
                transceiver: t,
                track: None
            }
        ),
        ErrorName::InvalidStateError
    );
    assert!(needs_negotiation(&mut a));
    let o = offer(&mut a);
    assert!(o.sdp.contains("m=audio 0 "));
    // The remote offer with port 0 stops b's transceiver at once (Chromium: currentDirection
    // "stopped" before the answer).
    sld(&mut a, &o).unwrap();
    srd(&mut b, &o).unwrap();
    let sb = &b.snapshot().transceivers[0];
    assert!(sb.stopped);
    assert_eq!(sb.current_direction, Some(TransceiverDirection::Stopped));
    let ans = answer(&mut b);
    sld(&mut b, &ans).unwrap();
    srd(&mut a, &ans).unwrap();
    // Negotiated and stopped: removed from both sides.
    assert!(a.snapshot().transceivers.iter().all(|x| x.id != t));
    assert!(b.snapshot().transceivers.is_empty());
    assert!(!needs_negotiation(&mut a));
    // An unnegotiated transceiver stops at once.
    let u = add_transceiver(&mut a, MediaKind::Video, TransceiverDirection::Sendrecv);
    ok(&mut a, ApiCall::StopTransceiver { transceiver: u });
    assert!(tr(&a, u).stopped);
    assert!(!needs_negotiation(&mut a));
}

#[test]
fn remote_offer_creates_recvonly_transceivers_and_fires_tracks_in_order() {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "a1", MediaKind::Audio, &["s1"]);
    add_track(&mut a, "v1", MediaKind::Video, &["s1", "s2"]);
    add_transceiver(&mut a, MediaKind::Video, TransceiverDirection::Recvonly);
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    srd(&mut b, &o).unwrap();
    let ev = events(&mut b);
    let first_track = ev
        .iter()
        .position(|e| matches!(e, Event::Track { .. }))
        .unwrap();
    let sig = ev
        .iter()
        .position(|e| matches!(e, Event::SignalingStateChange { .. }))
        .unwrap();
    assert!(
        sig < first_track,
        "track events come after signalingstatechange"
    );
    let snap = b.snapshot();
    assert_eq!(snap.transceivers.len(), 3);
    let ids: Vec<_> = snap.transceivers.iter().map(|t| t.id).collect();
    assert_eq!(
        track_events(&ev),
        vec![
            (ids[0], vec!["s1".to_string()]),
            (ids[1], vec!["s1".to_string(), "s2".to_string()])
        ]
    );
    for (t, mid) in snap.transceivers.iter().zip(["0", "1", "2"]) {
        assert_eq!(t.mid.as_deref(), Some(mid));
        assert_eq!(t.direction, TransceiverDirection::Recvonly);
        // The receiver keeps its own track id; remote msid ids only give stream association.
        assert_ne!(t.receiver_track_id, "a1");
    }
    let ans = answer(&mut b);
    assert!(ans.sdp.contains("a=recvonly"));
    assert!(
        ans.sdp.contains("a=inactive"),
        "recvonly offered vs recvonly transceiver"
    );
    sld(&mut b, &ans).unwrap();
    srd(&mut a, &ans).unwrap();
    assert_eq!(
        b.snapshot().transceivers[2].current_direction,
        Some(TransceiverDirection::Inactive)
    );
    assert!(track_events(&events(&mut a)).is_empty());
}

#[test]
fn remote_offer_associates_add_track_transceiver() {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "a1", MediaKind::Audio, &["s"]);
    let tb = add_track(&mut b, "b1", MediaKind::Audio, &["t"]);
    negotiate(&mut a, &mut b);
    let s = tr(&b, tb);
    assert_eq!(s.mid.as_deref(), Some("0"));
    assert_eq!(s.current_direction, Some(TransceiverDirection::Sendrecv));
    assert_eq!(b.snapshot().transceivers.len(), 1);
    assert_eq!(
        tr(&a, 0).current_direction,
        Some(TransceiverDirection::Sendrecv)
    );
    let ev = events(&mut a);
    assert_eq!(track_events(&ev), vec![(0, vec!["t".to_string()])]);
}

#[test]
fn direction_change_removes_remote_track() {
    let (mut a, mut b) = (pc(1), pc(2));
    let t = add_track(&mut a, "a1", MediaKind::Audio, &["s"]);
    negotiate(&mut a, &mut b);
    events(&mut b);
    ok(
        &mut a,
        ApiCall::SetDirection {
            transceiver: t,
            direction: TransceiverDirection::Recvonly,
        },
    );
    assert!(needs_negotiation(&mut a));
    negotiate(&mut a, &mut b);
    let ev = events(&mut b);
    assert!(ev.iter().any(|e| matches!(e, Event::TrackRemoved { stream_ids, .. } if stream_ids == &vec!["s".to_string()])), "{ev:?}");
}

#[test]
fn negotiation_needed_cases() {
    let (mut a, mut b) = (pc(1), pc(2));
    assert!(!needs_negotiation(&mut a));
    let t = add_track(&mut a, "a1", MediaKind::Audio, &["s"]);
    assert!(needs_negotiation(&mut a), "transceiver without mid");
    negotiate(&mut a, &mut b);
    assert!(!needs_negotiation(&mut a));
    assert!(!needs_negotiation(&mut b));
    ok(
        &mut a,
        ApiCall::SetStreams {
            transceiver: t,
            stream_ids: vec!["other".into()],
        },
    );
    assert!(needs_negotiation(&mut a), "msid changed");
    negotiate(&mut a, &mut b);
    assert!(!needs_negotiation(&mut a));
    // sendonly matches the remote answer's recvonly reversed: nothing to negotiate (§4.7.3).
    ok(
        &mut a,
        ApiCall::SetDirection {
            transceiver: t,
            direction: TransceiverDirection::Sendonly,
        },
    );
    assert!(
        !needs_negotiation(&mut a),
        "direction already matches the answer"
    );
    ok(
        &mut a,
        ApiCall::SetDirection {
            transceiver: t,
            direction: TransceiverDirection::Recvonly,
        },
    );
    assert!(needs_negotiation(&mut a), "direction changed");
    negotiate(&mut a, &mut b);
    assert!(!needs_negotiation(&mut a));
    // Answerer side: direction change vs current answer.
    let tb = b.snapshot().transceivers[0].id;
    ok(
        &mut b,
        ApiCall::SetDirection {
            transceiver: tb,
            direction: TransceiverDirection::Sendrecv,
        },
    );
    assert!(needs_negotiation(&mut b));
    ok(&mut a, ApiCall::RestartIce);
    assert!(needs_negotiation(&mut a), "ICE restart pending");
    negotiate(&mut a, &mut b);
    assert!(!needs_negotiation(&mut a));
    channel(&mut a, "c", dc_init()).unwrap();
    assert!(needs_negotiation(&mut a), "first data channel");
    negotiate(&mut a, &mut b);
    assert!(!needs_negotiation(&mut a));
    channel(&mut a, "c2", dc_init()).unwrap();
    assert!(!needs_negotiation(&mut a), "later channels need nothing");
}

#[test]
fn legacy_offer_to_receive() {
    let mut a = pc(1);
    let o = match ok(
        &mut a,
        ApiCall::CreateOffer {
            options: OfferOptions {
                offer_to_receive_audio: Some(true),
                offer_to_receive_video: Some(true),
                ..Default::default()
            },
        },
    ) {
        ApiReply::Description { description } => description,
        r => panic!("{r:?}"),
    };
    assert!(o.sdp.contains("m=audio") && o.sdp.contains("m=video"));
    assert_eq!(a.snapshot().transceivers.len(), 2);
    assert!(a
        .snapshot()
        .transceivers
        .iter()
        .all(|t| t.direction == TransceiverDirection::Recvonly));
}
