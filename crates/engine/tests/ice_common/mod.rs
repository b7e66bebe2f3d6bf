//! Shared by the ICE simulation tests: a deterministic in-memory network (loss, delay,
//! reordering, black-hole) between two agents, or an agent and a minimal ICE-lite responder.
#![allow(dead_code)]

use polyrtc_engine::ice::*;
pub use polyrtc_engine::IceConnectionState as S;
use polyrtc_stun::{Class, Message, MessageBuilder, Method, USE_CANDIDATE, XOR_MAPPED_ADDRESS};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const MS: Duration = Duration::from_millis(1);

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn creds(u: &str) -> IceCredentials {
    IceCredentials {
        ufrag: u.into(),
        pwd: format!("{u}-password-0123456789ab"),
    }
}

/// The minimal ICE-lite side (RFC 8445 §2.5): answers checks, never sends its own.
pub struct Lite {
    pub creds: IceCredentials,
    pub use_candidate_seen: bool,
    pub requests: u32,
}

impl Lite {
    pub fn answer(&mut self, from: SocketAddr, data: &[u8]) -> Option<Vec<u8>> {
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

pub enum Node {
    Full(Box<IceAgent>),
    Lite(Lite),
}

pub struct Peer {
    pub node: Node,
    pub addrs: Vec<SocketAddr>,
    pub events: Vec<(Instant, IceEvent)>,
    pub sent: Vec<(Instant, Transmit)>,
}

impl Peer {
    pub fn agent(&mut self) -> &mut IceAgent {
        match &mut self.node {
            Node::Full(a) => a,
            Node::Lite(_) => panic!("lite peer has no agent"),
        }
    }
    pub fn agent_ref(&self) -> &IceAgent {
        match &self.node {
            Node::Full(a) => a,
            Node::Lite(_) => panic!("lite peer has no agent"),
        }
    }
    pub fn state_events(&self) -> Vec<(Instant, S)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                IceEvent::StateChanged(s) => Some((*t, *s)),
                _ => None,
            })
            .collect()
    }
    pub fn first_state(&self, s: S) -> Option<Instant> {
        self.state_events()
            .iter()
            .find(|(_, x)| *x == s)
            .map(|(t, _)| *t)
    }
}

pub struct Net {
    pub start: Instant,
    pub now: Instant,
    pub peers: [Peer; 2],
    pub in_flight: Vec<(Instant, usize, Transmit)>,
    pub rng: ChaCha20Rng,
    pub loss_percent: u64,
    pub duplicate_percent: u64,
    pub delay: Duration,
    pub jitter: Duration,
    pub blackhole: bool,
}

impl Net {
    pub fn new(seed: u64, a: Node, a_addr: &str, b: Node, b_addr: &str) -> Net {
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
            duplicate_percent: 0,
            delay: 10 * MS,
            jitter: Duration::ZERO,
            blackhole: false,
        }
    }

    /// Two full agents with one host candidate each, signalled both ways.
    pub fn pair(seed: u64, a_controlling: bool, b_controlling: bool) -> Net {
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
    pub fn signal(&mut self, i: usize, with_candidate: bool) {
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

    pub fn owner(&self, to: SocketAddr) -> Option<usize> {
        self.peers.iter().position(|p| p.addrs.contains(&to))
    }

    pub fn drain(&mut self) {
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

    pub fn send(&mut self, t: Transmit) {
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
        if self.rng.next_u64() % 100 < self.duplicate_percent {
            self.in_flight.push((at + MS, to, t.clone()));
        }
        self.in_flight.push((at, to, t));
    }

    pub fn deliver(&mut self, to: usize, t: Transmit) {
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
    pub fn step(&mut self) -> bool {
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

    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Net) -> bool) -> bool {
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

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end - self.start, |_| false);
    }

    pub fn connected(&self) -> bool {
        self.peers.iter().all(|p| match &p.node {
            Node::Full(a) => a.state() == S::Connected && a.selected_pair().is_some(),
            Node::Lite(_) => true,
        })
    }

    pub fn elapsed(&self, t: Instant) -> Duration {
        t - self.start
    }
}

pub fn mirrored(n: &Net) {
    let a = n.peers[0].agent_ref().selected_pair().unwrap();
    let b = n.peers[1].agent_ref().selected_pair().unwrap();
    assert_eq!((a.0, a.1), (b.1, b.0), "both sides use the same 5-tuple");
}
