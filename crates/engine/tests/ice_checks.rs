//! Responses to incoming checks (RFC 8445 §7.3): success with XOR-MAPPED-ADDRESS, 400 for
//! malformed, 401 for bad credentials, 487 for role conflicts, all byte-checked with the
//! STUN codec.

use polyrtc_engine::ice::*;
use polyrtc_stun::*;
use std::net::SocketAddr;
use std::time::Instant;

const PWD: &str = "local-password-0123456789";

fn agent(controlling: bool, tie_breaker: u64) -> (IceAgent, Instant) {
    let now = Instant::now();
    let creds = IceCredentials {
        ufrag: "loca".into(),
        pwd: PWD.into(),
    };
    let mut a = IceAgent::new(creds, controlling, tie_breaker, now);
    a.add_local_candidate(LocalCandidate::host(local(), 65535));
    (a, now)
}

fn local() -> SocketAddr {
    "10.0.0.1:5000".parse().unwrap()
}

fn peer() -> SocketAddr {
    "198.51.100.9:7000".parse().unwrap()
}

fn request(
    username: &str,
    key: Option<&str>,
    role: Option<(u16, u64)>,
    use_candidate: bool,
) -> Vec<u8> {
    let mut b = MessageBuilder::new(Class::Request, Method::BINDING, TransactionId([5; 12]));
    b.attribute(USERNAME, username.as_bytes());
    b.u32_attribute(PRIORITY, 1_845_501_695);
    if let Some((typ, tb)) = role {
        b.attribute(typ, &tb.to_be_bytes());
    }
    if use_candidate {
        b.attribute(USE_CANDIDATE, &[]);
    }
    if let Some(k) = key {
        b.message_integrity(k.as_bytes());
    }
    b.fingerprint();
    b.into_bytes()
}

/// Feed one request and return the single response it produced.
fn answer(a: &mut IceAgent, now: Instant, data: &[u8]) -> Vec<u8> {
    assert!(a.handle_packet(now, local(), peer(), data));
    let t = a.poll_transmit().expect("a response");
    assert_eq!((t.from, t.to), (local(), peer()));
    t.data
}

#[test]
fn valid_check_gets_authenticated_success_and_prflx() {
    let (mut a, now) = agent(false, 1);
    let resp = answer(
        &mut a,
        now,
        &request("loca:remo", Some(PWD), Some((ICE_CONTROLLING, 9)), false),
    );
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.class, Class::Success);
    assert_eq!(m.transaction_id, TransactionId([5; 12]));
    assert_eq!(m.xor_address(XOR_MAPPED_ADDRESS).unwrap(), Some(peer()));
    assert_eq!(m.verify_integrity(PWD.as_bytes()), Some(true));
    assert!(m.has(FINGERPRINT));
    let e = std::iter::from_fn(|| a.poll_event()).find_map(|e| match e {
        IceEvent::NewPeerReflexiveRemote(c) => Some(c),
        _ => None,
    });
    let c = e.expect("peer-reflexive remote learned");
    assert_eq!(
        (c.addr, c.priority, c.kind),
        (peer(), 1_845_501_695, CandidateKind::PeerReflexive)
    );
    let p = a.pairs().next().unwrap();
    assert_eq!((p.requests_received, p.responses_sent), (1, 1));
    assert_eq!(
        p.state,
        PairState::Waiting,
        "a triggered check waits for the remote password"
    );
}

#[test]
fn bad_requests_get_400_and_401_without_integrity() {
    let (mut a, now) = agent(true, 1);
    let cases = [
        (request("loca:remo", None, None, false), 400),
        (request("nope:remo", Some(PWD), None, false), 401),
        (
            request("loca:remo", Some("wrong-password"), None, false),
            401,
        ),
        (request("locaremo", Some(PWD), None, false), 400),
    ];
    for (req, code) in cases {
        let resp = answer(&mut a, now, &req);
        let m = Message::parse(&resp).unwrap();
        assert_eq!(m.class, Class::Error);
        assert_eq!(m.error_code().map(|(c, _)| c), Some(code));
        assert!(!m.has(MESSAGE_INTEGRITY));
    }
    assert_eq!(
        a.pairs().count(),
        0,
        "unauthenticated checks create nothing"
    );
}

#[test]
fn role_conflict_487_or_switch_per_tie_breaker() {
    // Both controlling, ours larger: 487, role kept (§7.3.1.1).
    let (mut a, now) = agent(true, 100);
    let resp = answer(
        &mut a,
        now,
        &request("loca:remo", Some(PWD), Some((ICE_CONTROLLING, 50)), false),
    );
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.error_code().map(|(c, _)| c), Some(487));
    assert_eq!(m.verify_integrity(PWD.as_bytes()), Some(true));
    assert!(a.controlling());
    // Both controlling, ours smaller: we become controlled and answer success.
    let (mut a, now) = agent(true, 10);
    let resp = answer(
        &mut a,
        now,
        &request("loca:remo", Some(PWD), Some((ICE_CONTROLLING, 50)), false),
    );
    assert_eq!(Message::parse(&resp).unwrap().class, Class::Success);
    assert!(!a.controlling());
    assert!(std::iter::from_fn(|| a.poll_event())
        .any(|e| e == IceEvent::RoleChanged { controlling: false }));
    // Both controlled, ours larger: we become controlling.
    let (mut a, now) = agent(false, 100);
    let resp = answer(
        &mut a,
        now,
        &request("loca:remo", Some(PWD), Some((ICE_CONTROLLED, 50)), false),
    );
    assert_eq!(Message::parse(&resp).unwrap().class, Class::Success);
    assert!(a.controlling());
    // Both controlled, ours smaller: 487.
    let (mut a, now) = agent(false, 10);
    let resp = answer(
        &mut a,
        now,
        &request("loca:remo", Some(PWD), Some((ICE_CONTROLLED, 50)), false),
    );
    assert_eq!(
        Message::parse(&resp).unwrap().error_code().map(|(c, _)| c),
        Some(487)
    );
    assert!(!a.controlling());
}

#[test]
fn closed_agent_is_silent() {
    let (mut a, now) = agent(false, 1);
    a.close();
    assert_eq!(
        a.poll_event(),
        Some(IceEvent::StateChanged(
            polyrtc_engine::IceConnectionState::Closed
        ))
    );
    assert!(!a.handle_packet(
        now,
        local(),
        peer(),
        &request("loca:remo", Some(PWD), None, false)
    ));
    assert!(a.poll_transmit().is_none());
    assert!(a.poll_timeout().is_none());
    let r = RemoteCandidate::new(peer(), CandidateKind::Host, 1, "1");
    assert_eq!(a.add_remote_candidate(r), Err(CandidateSkipped::Closed));
}

#[test]
fn server_reflexive_pairs_are_pruned_into_host_pairs() {
    // RFC 8445 §6.1.2.4: a server-reflexive local pairs through its base, so with a host
    // candidate on the same base it adds nothing; the higher-priority host pair stays.
    let (mut a, _) = agent(true, 1);
    let srflx = LocalCandidate::server_reflexive(
        "203.0.113.5:40000".parse().unwrap(),
        local(),
        "203.0.113.1".parse().unwrap(),
        65535,
    );
    a.add_local_candidate(srflx);
    let prio = candidate_priority(126, 65535, 1);
    a.add_remote_candidate(RemoteCandidate::new(
        peer(),
        CandidateKind::Host,
        prio,
        "r1",
    ))
    .unwrap();
    let v6: SocketAddr = "[2001:db8::1]:9".parse().unwrap();
    a.add_remote_candidate(RemoteCandidate::new(v6, CandidateKind::Host, prio, "r2"))
        .unwrap();
    let pairs: Vec<_> = a.pairs().collect();
    assert_eq!(
        pairs.len(),
        1,
        "one pair per (base, remote); no IPv4/IPv6 mix"
    );
    assert_eq!(pairs[0].local_kind, CandidateKind::Host);
    assert_eq!(
        pairs[0].priority,
        pair_priority(LocalCandidate::host(local(), 65535).priority, prio, true)
    );
    assert_eq!(pairs[0].state, PairState::Waiting);
    let dup = RemoteCandidate::new(peer(), CandidateKind::Host, prio, "r1");
    assert_eq!(
        a.add_remote_candidate(dup),
        Err(CandidateSkipped::Duplicate)
    );
}

#[test]
fn same_foundation_pairs_start_frozen_and_thaw_on_success() {
    // §6.1.2.6: of pairs sharing a foundation only the first waits.
    let (mut a, now) = agent(true, 1);
    a.set_remote_credentials(IceCredentials {
        ufrag: "remo".into(),
        pwd: "remote-password-012345678".into(),
    });
    let prio = candidate_priority(126, 65535, 1);
    let r1: SocketAddr = "198.51.100.9:7000".parse().unwrap();
    let r2: SocketAddr = "198.51.100.9:7001".parse().unwrap();
    a.add_remote_candidate(RemoteCandidate::new(r1, CandidateKind::Host, prio, "same"))
        .unwrap();
    a.add_remote_candidate(RemoteCandidate::new(
        r2,
        CandidateKind::Host,
        prio - 1,
        "same",
    ))
    .unwrap();
    let states: Vec<_> = a.pairs().map(|p| p.state).collect();
    assert_eq!(states, vec![PairState::Waiting, PairState::Frozen]);
    a.handle_timeout(now);
    let req = a.poll_transmit().unwrap();
    assert_eq!(req.to, r1);
    let m = Message::parse(&req.data).unwrap();
    let mut b = MessageBuilder::new(Class::Success, Method::BINDING, m.transaction_id);
    b.xor_address(XOR_MAPPED_ADDRESS, local());
    b.message_integrity(b"remote-password-012345678");
    b.fingerprint();
    assert!(a.handle_packet(now, local(), r1, &b.into_bytes()));
    let states: Vec<_> = a.pairs().map(|p| p.state).collect();
    assert_eq!(
        states,
        vec![PairState::Succeeded, PairState::Waiting],
        "§7.2.5.3.3 unfreezes"
    );
}

#[test]
fn checklist_failure_recovers_when_the_peer_checks_late() {
    let (mut a, t0) = agent(true, 1);
    a.set_remote_credentials(IceCredentials {
        ufrag: "remo".into(),
        pwd: "remote-password-012345678".into(),
    });
    let silent: SocketAddr = "198.51.100.1:9".parse().unwrap();
    let prio = candidate_priority(126, 65535, 1);
    a.add_remote_candidate(RemoteCandidate::new(silent, CandidateKind::Host, prio, "s"))
        .unwrap();
    a.end_of_remote_candidates();
    let mut now = t0;
    while let Some(t) = a.poll_timeout() {
        now = t;
        a.handle_timeout(now);
        while a.poll_transmit().is_some() {}
    }
    use polyrtc_engine::IceConnectionState as S;
    assert_eq!(a.state(), S::Failed);
    assert_eq!(now - t0, std::time::Duration::from_millis(18_500));
    let req = request("loca:remo", Some(PWD), Some((ICE_CONTROLLED, 7)), false);
    let resp = answer(&mut a, now, &req);
    assert_eq!(Message::parse(&resp).unwrap().class, Class::Success);
    assert_eq!(
        a.state(),
        S::Checking,
        "a new peer-reflexive pair reopens checking"
    );
}
