//! addIceCandidate, candidate parsing, gathering events without a network, restartIce.

mod common;
use common::*;
use polyrtc_engine::*;

const CAND: &str = "candidate:842163049 1 udp 1677729535 192.0.2.3 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 0";

fn cand(c: &str, mid: Option<&str>, index: Option<u16>) -> ApiCall {
    ApiCall::AddIceCandidate {
        candidate: Some(IceCandidateInit {
            candidate: c.into(),
            sdp_mid: mid.map(Into::into),
            sdp_m_line_index: index,
            username_fragment: None,
        }),
    }
}

fn negotiated_pair() -> (PeerConnection, PeerConnection) {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    channel(&mut a, "c", dc_init()).unwrap();
    negotiate(&mut a, &mut b);
    (a, b)
}

#[test]
fn add_ice_candidate_errors() {
    let mut a = pc(1);
    assert_eq!(err(&mut a, cand(CAND, None, None)), ErrorName::TypeError);
    assert_eq!(
        err(&mut a, cand(CAND, Some("0"), None)),
        ErrorName::InvalidStateError
    );
    // Chromium: end-of-candidates without a remote description resolves.
    ok(&mut a, ApiCall::AddIceCandidate { candidate: None });
    ok(&mut a, cand("", Some("0"), None));
    let (mut a, _b) = negotiated_pair();
    // ... and so does end-of-candidates for an unknown mid.
    ok(&mut a, cand("", Some("9"), None));
    assert_eq!(
        err(&mut a, cand(CAND, Some("9"), None)),
        ErrorName::OperationError
    );
    assert_eq!(
        err(&mut a, cand(CAND, None, Some(2))),
        ErrorName::OperationError
    );
    assert_eq!(
        err(&mut a, cand("candidate:garbage", Some("0"), None)),
        ErrorName::OperationError
    );
    // Chromium resolves a candidate whose ufrag matches no remote description.
    let wrong_ufrag = format!("{CAND} ufrag zzzz");
    ok(&mut a, cand(&wrong_ufrag, Some("0"), None));
    let init = IceCandidateInit {
        candidate: CAND.into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: None,
        username_fragment: Some("nope".into()),
    };
    ok(
        &mut a,
        ApiCall::AddIceCandidate {
            candidate: Some(init),
        },
    );
}

#[test]
fn remote_candidates_land_in_remote_description() {
    let (mut a, _b) = negotiated_pair();
    ok(&mut a, cand(CAND, Some("0"), None));
    ok(&mut a, cand(CAND, Some("0"), None)); // duplicates are ignored
    ok(
        &mut a,
        cand(
            "candidate:1 1 UDP 2122252543 198.51.100.7 40000 typ host",
            None,
            Some(1),
        ),
    );
    let ufrag = {
        let sdp = a.snapshot().current_remote_description.unwrap().sdp;
        sdp.lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap()
            .to_string()
    };
    let with_ufrag = IceCandidateInit {
        candidate: CAND.replace("192.0.2.3", "192.0.2.4"),
        sdp_mid: Some("1".into()),
        sdp_m_line_index: None,
        username_fragment: Some(ufrag),
    };
    ok(
        &mut a,
        ApiCall::AddIceCandidate {
            candidate: Some(with_ufrag),
        },
    );
    ok(&mut a, ApiCall::AddIceCandidate { candidate: None });
    let sdp = a.snapshot().current_remote_description.unwrap().sdp;
    assert_eq!(sdp.matches(&format!("a={CAND}\r\n")).count(), 1);
    assert!(sdp.contains("a=candidate:1 1 UDP 2122252543 198.51.100.7 40000 typ host\r\n"));
    assert_eq!(sdp.matches("a=end-of-candidates\r\n").count(), 2);
}

#[test]
fn parse_candidate_for_constructor() {
    let mut a = pc(1);
    let init = IceCandidateInit {
        candidate: format!("{CAND} ufrag EsAw"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    };
    let ApiReply::Candidate { candidate } = ok(&mut a, ApiCall::ParseCandidate { candidate: init })
    else {
        panic!()
    };
    assert_eq!(candidate.foundation.as_deref(), Some("842163049"));
    assert_eq!(candidate.component.as_deref(), Some("rtp"));
    assert_eq!(candidate.priority, Some(1677729535));
    assert_eq!(candidate.address.as_deref(), Some("192.0.2.3"));
    assert_eq!(candidate.protocol.as_deref(), Some("udp"));
    assert_eq!(candidate.port, Some(61665));
    assert_eq!(candidate.candidate_type.as_deref(), Some("srflx"));
    assert_eq!(candidate.related_address.as_deref(), Some("10.0.0.5"));
    assert_eq!(candidate.related_port, Some(61665));
    assert_eq!(candidate.username_fragment.as_deref(), Some("EsAw"));
    let both_null = IceCandidateInit {
        candidate: CAND.into(),
        ..Default::default()
    };
    assert_eq!(
        err(
            &mut a,
            ApiCall::ParseCandidate {
                candidate: both_null
            }
        ),
        ErrorName::TypeError
    );
}

#[test]
fn gathering_events_after_first_sld() {
    let mut config = config();
    config.ice_servers = vec![
        IceServer {
            urls: Urls::Many(vec![
                "stun:stun.example.org".into(),
                "wss://relay.example.org/".into(),
            ]),
            username: None,
            credential: None,
        },
        IceServer {
            urls: Urls::One("turn:turn.example.org?transport=tcp".into()),
            username: Some("u".into()),
            credential: Some("p".into()),
        },
    ];
    let mut a = pc_with(config, 1);
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    let o = offer(&mut a);
    assert_eq!(a.snapshot().ice_gathering_state, IceGatheringState::New);
    sld(&mut a, &o).unwrap();
    // The wss: relay is the page's only way out: gathering waits for its session.
    assert_eq!(
        a.snapshot().ice_gathering_state,
        IceGatheringState::Gathering
    );
    let relay = match a.poll_relay_command() {
        Some(RelayCommand::Connect { relay, url }) => {
            assert_eq!(url, "wss://relay.example.org/");
            relay
        }
        other => panic!("expected a Connect command, got {other:?}"),
    };
    assert_eq!(a.poll_relay_command(), None);
    // The session never opens: the relay is unreachable (701) and gathering completes.
    a.handle_relay_state(
        std::time::Instant::now(),
        relay,
        RelayTransportState::Closed,
    );
    assert_eq!(
        a.snapshot().ice_gathering_state,
        IceGatheringState::Complete
    );
    let ev = events(&mut a);
    let err = |url: &str| Event::IceCandidateError {
        address: None,
        port: None,
        url: url.into(),
        error_code: 701,
        error_text: String::new(),
    };
    let normalized: Vec<Event> = ev
        .into_iter()
        .map(|e| match e {
            Event::IceCandidateError {
                url,
                error_code,
                address,
                port,
                ..
            } => Event::IceCandidateError {
                url,
                error_code,
                address,
                port,
                error_text: String::new(),
            },
            e => e,
        })
        .collect();
    assert_eq!(
        normalized,
        vec![
            Event::SignalingStateChange {
                state: SignalingState::HaveLocalOffer
            },
            Event::IceGatheringStateChange {
                state: IceGatheringState::Gathering
            },
            err("stun:stun.example.org"),
            err("turn:turn.example.org?transport=tcp"),
            err("wss://relay.example.org/"),
            Event::IceGatheringStateChange {
                state: IceGatheringState::Complete
            },
            Event::IceCandidate { candidate: None },
        ]
    );
    // Re-applying an offer with the same credentials gathers nothing new.
    let o2 = offer(&mut a);
    sld(&mut a, &o2).unwrap();
    assert!(events(&mut a).is_empty());
}

#[test]
fn restart_ice_changes_credentials() {
    let (mut a, mut b) = negotiated_pair();
    events(&mut a);
    let creds = |sdp: &str| {
        sdp.lines()
            .filter(|l| l.starts_with("a=ice-"))
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let before = creds(&a.snapshot().current_local_description.unwrap().sdp);
    let same = offer(&mut a);
    assert_eq!(creds(&same.sdp), before);
    ok(&mut a, ApiCall::RestartIce);
    let o = offer(&mut a);
    let o_again = offer(&mut a);
    assert_ne!(creds(&o.sdp), before);
    assert_eq!(creds(&o.sdp), creds(&o_again.sdp));
    sld(&mut a, &o_again).unwrap();
    assert!(events(&mut a).iter().any(|e| matches!(
        e,
        Event::IceGatheringStateChange {
            state: IceGatheringState::Gathering
        }
    )));
    srd(&mut b, &o_again).unwrap();
    let before_b = creds(&b.snapshot().current_local_description.unwrap().sdp);
    let ans = answer(&mut b);
    assert_ne!(creds(&ans.sdp), before_b, "answerer restarts too");
    sld(&mut b, &ans).unwrap();
    srd(&mut a, &ans).unwrap();
    assert!(!needs_negotiation(&mut a));
    // The explicit option also restarts.
    let ApiReply::Description { description } = ok(
        &mut a,
        ApiCall::CreateOffer {
            options: OfferOptions {
                ice_restart: true,
                ..Default::default()
            },
        },
    ) else {
        panic!()
    };
    assert_ne!(creds(&description.sdp), creds(&o.sdp));
}

#[test]
fn can_trickle_follows_remote_description() {
    let (a, b) = negotiated_pair();
    assert_eq!(a.snapshot().can_trickle_ice_candidates, Some(true));
    assert_eq!(b.snapshot().can_trickle_ice_candidates, Some(true));
    assert_eq!(pc(3).snapshot().can_trickle_ice_candidates, None);
}
