//! The ICE agent against itself (and a minimal ICE-lite responder) over a deterministic
//! in-memory network with loss, delay and reordering, in simulated time.

use polyrtc_engine::ice::*;
use polyrtc_engine::IceConnectionState as S;
use polyrtc_stun::{Class, Message, MessageBuilder, Method, USE_CANDIDATE, XOR_MAPPED_ADDRESS};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn creds(u: &str) -> IceCredentials {
    IceCredentials {
        ufrag: u.into(),
        pwd: format!("{u}-password-0123456789ab"),
    }
}

/// The minimal ICE-lite side (RFC 8445 §2.5): answers checks, never sends its own.
struct Lite {
    creds: IceCredentials,
    use_candidate_seen: bool,
    requests: u32,
}

impl Lite {
    fn answer(&mut self, from: SocketAddr, data: &[u8]) -> Option<Vec<u8>> {
        let m = Message::parse(data).ok()?;
        if m.class != Class::Request || m.verify_integrity(self.creds.pwd.as_bytes()) != Some(true)
        {
            return None;
        }
        self.requests += 1;
        self.use_candidate_seen |= m.has(USE_CANDIDATE);
        let mut b = MessageBuilder::new(Class::Success, Method::BINDING, m.transaction_id);
        b.xor_address(XOR_MAPPED_ADDRESS, from);
        b.message_integrity(self.creds.pwd.as_bytes());
        b.fingerprint();
        Some(b.into_bytes())
    }
}

enum Node {
    Full(Box<IceAgent>),
    Lite(Lite),
}

struct Peer {
    node: Node,
    addrs: Vec<SocketAddr>,
    events: Vec<(Instant, IceEvent)>,
    sent: Vec<(Instant, Transmit)>,
}

impl Peer {
    fn agent(&mut self) -> &mut IceAgent {
        match &mut self.node {
            Node::Full(a) => a,
            Node::Lite(_) => panic!("lite peer has no agent"),
        }
    }
    fn agent_ref(&self) -> &IceAgent {
        match &self.node {
            Node::Full(a) => a,
            Node::Lite(_) => panic!("lite peer has no agent"),
        }
    }
    fn state_events(&self) -> Vec<(Instant, S)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                IceEvent::StateChanged(s) => Some((*t, *s)),
                _ => None,
            })
            .collect()
    }
    fn first_state(&self, s: S) -> Option<Instant> {
        self.state_events()
            .iter()
            .find(|(_, x)| *x == s)
            .map(|(t, _)| *t)
    }
}

struct Net {
    start: Instant,
    now: Instant,
    peers: [Peer; 2],
    in_flight: Vec<(Instant, usize, Transmit)>,
    rng: ChaCha20Rng,
    loss_percent: u64,
    delay: Duration,
    jitter: Duration,
    blackhole: bool,
}

impl Net {
    fn new(seed: u64, a: Node, a_addr: &str, b: Node, b_addr: &str) -> Net {
        let start = Instant::now();
        let peer = |node, a: &str| Peer {
            node,
            addrs: vec![addr(a)],
            events: vec![],
            sent: vec![],
        };
        Net {
            start,
            now: start,
            peers: [peer(a, a_addr), peer(b, b_addr)],
            in_flight: vec![],
            rng: ChaCha20Rng::seed_from_u64(seed),
            loss_percent: 0,
            delay: 10 * MS,
            jitter: Duration::ZERO,
            blackhole: false,
        }
    }

    /// Two full agents with one host candidate each, signalled both ways.
    fn pair(seed: u64, a_controlling: bool, b_controlling: bool) -> Net {
        let (ta, tb) = (seed.wrapping_mul(7919) | 1, seed.wrapping_mul(104_729) | 2);
        let t0 = Instant::now();
        let a = IceAgent::new(creds("aaaa"), a_controlling, ta, t0);
        let b = IceAgent::new(creds("bbbb"), b_controlling, tb, t0);
        let mut n = Net::new(
            seed,
            Node::Full(Box::new(a)),
            "10.0.0.1:5000",
            Node::Full(Box::new(b)),
            "10.0.0.2:6000",
        );
        n.now = t0;
        n.start = t0;
        n.signal(0, true);
        n.signal(1, true);
        n
    }

    /// Give peer `i` its own host candidate and the other side's credentials (and candidate).
    fn signal(&mut self, i: usize, with_candidate: bool) {
        let own = self.peers[i].addrs[0];
        let other_addr = self.peers[1 - i].addrs[0];
        let other_creds = match &self.peers[1 - i].node {
            Node::Full(a) => a.local_credentials().clone(),
            Node::Lite(l) => l.creds.clone(),
        };
        let a = self.peers[i].agent();
        if a.local_candidates().all(|c| c.addr != own) {
            a.add_local_candidate(LocalCandidate::host(own, 65535));
        }
        a.set_remote_credentials(other_creds);
        if with_candidate {
            let prio = candidate_priority(126, 65535, 1);
            let _ = a.add_remote_candidate(RemoteCandidate::new(
                other_addr,
                CandidateKind::Host,
                prio,
                "1",
            ));
        }
    }

    fn owner(&self, to: SocketAddr) -> Option<usize> {
        self.peers.iter().position(|p| p.addrs.contains(&to))
    }

    fn drain(&mut self) {
        for i in 0..2 {
            loop {
                let t = match &mut self.peers[i].node {
                    Node::Full(a) => a.poll_transmit(),
                    Node::Lite(_) => None,
                };
                let Some(t) = t else { break };
                self.peers[i].sent.push((self.now, t.clone()));
                self.send(t);
            }
            if let Node::Full(a) = &mut self.peers[i].node {
                while let Some(e) = a.poll_event() {
                    self.peers[i].events.push((self.now, e));
                }
            }
        }
    }

    fn send(&mut self, t: Transmit) {
        let Some(to) = self.owner(t.to) else { return };
        if self.blackhole || self.rng.next_u64() % 100 < self.loss_percent {
            return;
        }
        let jitter_ms = self.jitter.as_millis() as u64;
        let extra = if jitter_ms > 0 {
            self.rng.next_u64() % (jitter_ms + 1)
        } else {
            0
        };
        let at = self.now + self.delay + Duration::from_millis(extra);
        self.in_flight.push((at, to, t));
    }

    fn deliver(&mut self, to: usize, t: Transmit) {
        let now = self.now;
        match &mut self.peers[to].node {
            Node::Full(a) => {
                assert!(
                    a.handle_packet(now, t.to, t.from, &t.data),
                    "ICE must consume its STUN"
                );
            }
            Node::Lite(l) => {
                if let Some(reply) = l.answer(t.from, &t.data) {
                    let r = Transmit {
                        from: t.to,
                        to: t.from,
                        data: reply,
                    };
                    self.peers[to].sent.push((now, r.clone()));
                    self.send(r);
                }
            }
        }
    }

    /// Advance to the next event (timer or delivery); false when nothing is scheduled.
    fn step(&mut self) -> bool {
        self.drain();
        let mut next: Option<Instant> = self.in_flight.iter().map(|(t, _, _)| *t).min();
        for p in &self.peers {
            if let Node::Full(a) = &p.node {
                if let Some(t) = a.poll_timeout() {
                    next = Some(next.map_or(t, |n| n.min(t)));
                }
            }
        }
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        let due: Vec<_> = {
            let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
                .into_iter()
                .partition(|(t, _, _)| *t <= self.now);
            self.in_flight = rest;
            due
        };
        for (_, to, t) in due {
            self.deliver(to, t);
        }
        let now = self.now;
        for p in &mut self.peers {
            if let Node::Full(a) = &mut p.node {
                if a.poll_timeout().is_some_and(|t| t <= now) {
                    a.handle_timeout(now);
                }
            }
        }
        self.drain();
        true
    }

    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Net) -> bool) -> bool {
        while self.now < self.start + limit {
            if done(self) {
                return true;
            }
            if !self.step() {
                break;
            }
        }
        done(self)
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end - self.start, |_| false);
    }

    fn connected(&self) -> bool {
        self.peers.iter().all(|p| match &p.node {
            Node::Full(a) => a.state() == S::Connected && a.selected_pair().is_some(),
            Node::Lite(_) => true,
        })
    }

    fn elapsed(&self, t: Instant) -> Duration {
        t - self.start
    }
}

fn mirrored(n: &Net) {
    let a = n.peers[0].agent_ref().selected_pair().unwrap();
    let b = n.peers[1].agent_ref().selected_pair().unwrap();
    assert_eq!((a.0, a.1), (b.1, b.0), "both sides use the same 5-tuple");
}

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
fn consent_loss_disconnects_then_fails_on_time() {
    let mut n = Net::pair(6, true, false);
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    n.run_for(Duration::from_secs(12));
    assert!(n.connected());
    // Cut the network right after a consent response, so the next request is the first lost.
    let r0 = n.peers[0].agent_ref().last_consent_response();
    assert!(n.run_until(Duration::from_secs(30), |n| n.peers[0]
        .agent_ref()
        .last_consent_response()
        != r0));
    let cut = n.now;
    n.blackhole = true;
    let last_response = n.peers[0].agent_ref().last_consent_response().unwrap();
    assert!(
        n.run_until(Duration::from_secs(120), |n| n.peers[0].agent_ref().state()
            == S::Failed)
    );
    let a = &n.peers[0];
    let disc = a.first_state(S::Disconnected).unwrap();
    let failed = a.first_state(S::Failed).unwrap();
    // The first consent request after the cut goes out within 6 s (5 s + 20%)...
    let is_request =
        |t: &Transmit| Message::parse(&t.data).is_ok_and(|m| m.class == Class::Request);
    let first_lost = a
        .sent
        .iter()
        .find(|(t, x)| *t >= cut && is_request(x))
        .unwrap()
        .0;
    assert!(first_lost - cut <= Duration::from_secs(6));
    // ...Chromium's 2.5 s later the state is disconnected...
    assert_eq!(disc - first_lost, DISCONNECTED_AFTER);
    // ...and RFC 7675's 30 s after the last response, failed.
    assert_eq!(failed - last_response, CONSENT_TIMEOUT);
    let states: Vec<S> = a.state_events().iter().map(|(_, s)| *s).collect();
    assert_eq!(
        states,
        vec![S::Checking, S::Connected, S::Disconnected, S::Failed]
    );
    // RFC 7675 §5.1: no more packets after consent is lost.
    assert!(a.sent.iter().all(|(t, _)| *t <= failed));
    assert!(a.agent_ref().poll_timeout().is_none());
}

#[test]
fn consent_recovers_from_short_outage() {
    let mut n = Net::pair(7, true, false);
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    n.blackhole = true;
    assert!(
        n.run_until(Duration::from_secs(30), |n| n.peers[0].agent_ref().state()
            == S::Disconnected)
    );
    n.blackhole = false;
    assert!(n.run_until(Duration::from_secs(40), Net::connected));
    let states: Vec<S> = n.peers[0].state_events().iter().map(|(_, s)| *s).collect();
    assert_eq!(
        states,
        vec![S::Checking, S::Connected, S::Disconnected, S::Connected]
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
}

#[test]
fn five_percent_loss_with_reordering_still_connects() {
    let mut times = vec![];
    for seed in 100..130 {
        let mut n = Net::pair(seed, seed % 2 == 0, seed % 2 == 1);
        n.loss_percent = 5;
        n.jitter = 30 * MS; // reorders packets sent less than 30 ms apart
        assert!(
            n.run_until(Duration::from_secs(10), Net::connected),
            "seed {seed}"
        );
        mirrored(&n);
        times.push(n.elapsed(n.now));
    }
    times.sort();
    eprintln!("connect times: {times:?}");
    // Most runs see no loss on their few critical packets; a loss costs one RTO (500 ms),
    // two 1.5 s, three 3.5 s (retransmissions at 0.5, 1.5, 3.5 s).
    assert!(
        times[times.len() / 2] < 200 * MS,
        "median {:?}",
        times[times.len() / 2]
    );
    assert!(
        times[times.len() * 9 / 10] < 2000 * MS,
        "p90 {:?}",
        times[times.len() * 9 / 10]
    );
    assert!(
        *times.last().unwrap() < 4000 * MS,
        "worst {:?}",
        times.last()
    );
}

#[test]
fn pacing_and_retransmission_timing() {
    // Three remote candidates that never answer: checks are paced Ta = 50 ms apart and each
    // retransmits 7 times with RTO 500 ms doubling up to 3 s (RFC 8445 §14, RFC 8489 §6.2.1).
    let t0 = Instant::now();
    let mut a = IceAgent::new(creds("aaaa"), true, 1, t0);
    a.add_local_candidate(LocalCandidate::host(addr("10.0.0.1:5000"), 65535));
    a.set_remote_credentials(creds("bbbb"));
    for (i, port) in [7001u16, 7002, 7003].iter().enumerate() {
        let prio = candidate_priority(126, 65535 - i as u16, 1);
        let r = RemoteCandidate::new(
            SocketAddr::new(addr("10.0.0.2:1").ip(), *port),
            CandidateKind::Host,
            prio,
            &format!("f{i}"),
        );
        a.add_remote_candidate(r).unwrap();
    }
    a.end_of_remote_candidates();
    let mut sent: Vec<(Duration, SocketAddr)> = vec![];
    let mut now = t0;
    a.handle_timeout(now);
    loop {
        while let Some(t) = a.poll_transmit() {
            sent.push((now - t0, t.to));
        }
        let Some(next) = a.poll_timeout() else { break };
        assert!(next >= now);
        now = next;
        a.handle_timeout(now);
        if now - t0 > Duration::from_secs(60) {
            panic!("no end");
        }
    }
    let firsts: Vec<Duration> = [7001u16, 7002, 7003]
        .iter()
        .map(|p| sent.iter().find(|(_, to)| to.port() == *p).unwrap().0)
        .collect();
    assert_eq!(
        firsts,
        vec![Duration::ZERO, 50 * MS, 100 * MS],
        "highest priority first, Ta apart"
    );
    let to_first: Vec<u64> = sent
        .iter()
        .filter(|(_, to)| to.port() == 7001)
        .map(|(t, _)| t.as_millis() as u64)
        .collect();
    // RTO = max(500 ms, Ta * 3 busy pairs) = 500 ms at the first check.
    assert_eq!(to_first, vec![0, 500, 1500, 3500, 6500, 9500, 12500, 15500]);
    assert_eq!(a.state(), S::Failed);
    assert!(a.pairs().all(|p| p.state == PairState::Failed));
    // The last pair's last retransmission waited one capped RTO: 100 ms + 18.5 s.
    assert_eq!(now - t0, 18_600 * MS);
}
