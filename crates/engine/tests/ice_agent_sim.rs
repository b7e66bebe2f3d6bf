//! The ICE agent against itself (and a minimal ICE-lite responder) over a deterministic
//! in-memory network in simulated time: roles, role conflicts, peer-reflexive discovery,
//! ICE-lite, restart.

mod ice_common;
use ice_common::*;
use polyrtc_engine::ice::*;
use std::time::{Duration, Instant};

#[test]
fn controlling_and_controlled_connect() {
    let mut n = Net::pair(1, true, false);
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    mirrored(&n);
    for p in &n.peers {
        let states: Vec<S> = p.state_events().iter().map(|(_, s)| *s).collect();
        assert_eq!(
            states,
            vec![S::Checking, S::Connected],
            "state events only on change"
        );
        let pair = p.agent_ref().pairs().next().unwrap();
        assert_eq!(pair.state, PairState::Succeeded);
        assert!(pair.nominated);
        assert_eq!(pair.state.as_str(), "succeeded");
    }
    // 10 ms each way: check + response 20 ms, then the nomination check 20 ms more.
    let connected_at = n.peers[0].first_state(S::Connected).unwrap();
    assert!(
        n.elapsed(connected_at) <= 100 * MS,
        "{:?}",
        n.elapsed(connected_at)
    );
    let a = n.peers[0].agent_ref();
    assert_eq!(a.pairs().next().unwrap().current_rtt, Some(20 * MS));
    assert!(a.controlling());
    assert!(!n.peers[1].agent_ref().controlling());
    // Consent keeps it up for a long quiet minute.
    n.run_for(Duration::from_secs(60));
    assert!(n.connected());
    let consent = n.peers[0]
        .agent_ref()
        .pairs()
        .next()
        .unwrap()
        .consent_requests_sent;
    assert!(
        (10..=15).contains(&consent),
        "5 s ± 20% cadence over 60 s gave {consent}"
    );
}

fn role_conflict(a_controlling: bool) {
    let mut n = Net::pair(2, a_controlling, a_controlling);
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    mirrored(&n);
    let roles: Vec<bool> = n
        .peers
        .iter()
        .map(|p| p.agent_ref().controlling())
        .collect();
    assert_eq!(
        roles.iter().filter(|c| **c).count(),
        1,
        "exactly one controlling: {roles:?}"
    );
    let switched: usize = n
        .peers
        .iter()
        .map(|p| {
            p.events
                .iter()
                .filter(|(_, e)| matches!(e, IceEvent::RoleChanged { .. }))
                .count()
        })
        .sum();
    assert_eq!(switched, 1, "one side changed role once");
    // §7.3.1.1: the larger tie-breaker wins the controlling role (tb(b) > tb(a) here).
    assert!(n.peers[1].agent_ref().controlling());
}

#[test]
fn role_conflict_both_controlling_resolves() {
    role_conflict(true);
}

#[test]
fn role_conflict_both_controlled_resolves() {
    role_conflict(false);
}

#[test]
fn peer_reflexive_remote_then_late_trickle() {
    let t0 = Instant::now();
    let a = IceAgent::new(creds("aaaa"), true, 10, t0);
    let b = IceAgent::new(creds("bbbb"), false, 20, t0);
    let mut n = Net::new(
        3,
        Node::Full(Box::new(a)),
        "10.0.0.1:5000",
        Node::Full(Box::new(b)),
        "10.0.0.2:6000",
    );
    n.start = t0;
    n.now = t0;
    n.signal(0, true);
    n.signal(1, false); // B does not know A's candidate yet
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    mirrored(&n);
    let learned: Vec<_> = n.peers[1]
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            IceEvent::NewPeerReflexiveRemote(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(learned.len(), 1);
    assert_eq!(learned[0].addr, addr("10.0.0.1:5000"));
    assert_eq!(learned[0].kind, CandidateKind::PeerReflexive);
    // PRIORITY of A's checks: the peer-reflexive priority of its host candidate (§7.1.1).
    assert_eq!(learned[0].priority, candidate_priority(110, 65535, 1));
    // The trickled candidate replaces the peer-reflexive one; no new pair appears.
    let b = n.peers[1].agent();
    let real = RemoteCandidate::new(
        addr("10.0.0.1:5000"),
        CandidateKind::Host,
        candidate_priority(126, 65535, 1),
        "1",
    );
    b.add_remote_candidate(real).unwrap();
    assert_eq!(b.pairs().count(), 1);
    assert_eq!(b.pairs().next().unwrap().remote_kind, CandidateKind::Host);
    assert_eq!(b.remote_candidates().count(), 1);
    n.run_for(Duration::from_secs(10));
    assert!(n.connected());
}

#[test]
fn ice_lite_remote() {
    let t0 = Instant::now();
    let a = IceAgent::new(creds("aaaa"), false, 10, t0);
    let lite = Lite {
        creds: creds("lite"),
        use_candidate_seen: false,
        requests: 0,
    };
    let mut n = Net::new(
        4,
        Node::Full(Box::new(a)),
        "10.0.0.1:5000",
        Node::Lite(lite),
        "10.0.0.9:443",
    );
    n.start = t0;
    n.now = t0;
    n.peers[0].agent().set_remote_lite(true);
    n.signal(0, true);
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    assert!(
        n.peers[0].agent_ref().controlling(),
        "full agent controls a lite peer (§6.1.1)"
    );
    assert!(n.peers[0]
        .events
        .iter()
        .any(|(_, e)| *e == IceEvent::RoleChanged { controlling: true }));
    assert_eq!(
        n.peers[0].agent_ref().selected_pair(),
        Some((addr("10.0.0.1:5000"), addr("10.0.0.9:443")))
    );
    let Node::Lite(l) = &n.peers[1].node else {
        unreachable!()
    };
    assert!(
        l.use_candidate_seen,
        "regular nomination reached the lite peer"
    );
    assert_eq!(l.requests, 2, "one check, one nomination");
    n.run_for(Duration::from_secs(20));
    assert!(n.connected(), "consent to a lite peer works");
}

#[test]
fn restart_keeps_old_pair_until_new_one_is_nominated() {
    let mut n = Net::pair(5, true, false);
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    let old = n.peers[0].agent_ref().selected_pair().unwrap();
    // Both restart; B gets a new port (as after a network change), keeping the old one.
    let now = n.now;
    n.peers[0].agent().restart(creds("aaa2"), now);
    n.peers[1].agent().restart(creds("bbb2"), now);
    n.peers[1].addrs = vec![addr("10.0.0.2:6001"), addr("10.0.0.2:6000")];
    assert_eq!(
        n.peers[0].agent_ref().selected_pair(),
        Some(old),
        "data keeps flowing"
    );
    assert_eq!(n.peers[0].agent_ref().pairs().count(), 0);
    // Signalling takes 40 s: the old pair keeps its consent with the old credentials.
    let sent_before = n.peers[0].sent.len();
    n.run_for(Duration::from_secs(40));
    assert!(
        n.connected(),
        "consent of the old generation kept the old pair up"
    );
    assert!(
        n.peers[0].sent.len() - sent_before >= 6,
        "old-pair consent checks went out"
    );
    assert_eq!(n.peers[0].agent_ref().selected_pair(), Some(old));
    n.signal(0, true);
    n.signal(1, true);
    let new_remote = addr("10.0.0.2:6001");
    let signalled = n.now;
    assert!(n.run_until(Duration::from_secs(60), |n| {
        n.peers[0]
            .agent_ref()
            .selected_pair()
            .is_some_and(|p| p.1 == new_remote)
            && n.peers[1].agent_ref().selected_pair().is_some()
    }));
    mirrored(&n);
    for p in &n.peers {
        let states: Vec<S> = p.state_events().iter().map(|(_, s)| *s).collect();
        assert_eq!(
            states,
            vec![S::Checking, S::Connected],
            "restart is invisible in the state"
        );
    }
    let selections = n.peers[0]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, IceEvent::SelectedPair { .. }))
        .count();
    assert_eq!(selections, 2);
    assert!(
        n.now - signalled < Duration::from_millis(200),
        "new pair within 200 ms"
    );
}

#[test]
fn mdns_candidate_is_skipped() {
    let line =
        "candidate:3 1 udp 2122260223 6b8a3c1e-1f3e-4cb0-b6d3-1d5c9f1c2a44.local 54321 typ host";
    let c = polyrtc_engine::candidate::parse(line).unwrap();
    let err = RemoteCandidate::from_sdp(&c).unwrap_err();
    assert!(matches!(err, CandidateSkipped::Mdns(_)));
    assert!(err.to_string().contains("mDNS"));
    let mut a = IceAgent::new(creds("aaaa"), true, 1, Instant::now());
    assert!(matches!(
        a.add_remote_candidate_sdp(&c),
        Err(CandidateSkipped::Mdns(_))
    ));
    assert_eq!(a.remote_candidates().count(), 0);
    let ok =
        polyrtc_engine::candidate::parse("candidate:1 1 UDP 2122260223 192.0.2.7 5000 typ host")
            .unwrap();
    a.add_remote_candidate_sdp(&ok).unwrap();
    assert_eq!(a.remote_candidates().count(), 1);
}
