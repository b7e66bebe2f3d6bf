//! Two engines whose only network is the relay's own sans-IO TURN core, in simulated time, with
//! trickled candidates carried between them after a per-direction delay (what signaling through
//! a page and a server adds). Included by tests with `#[path]`-less `mod relay_world;`.
#![allow(dead_code)]

use crate::common::*;
use crate::harness::{client_id, server_config, FakeSockets};
use polyrtc_engine::network::{RelayCommand, RelayTransportState};
use polyrtc_engine::turn::Framing;
use polyrtc_engine::*;
use polyrtc_relay::allocation::ClientId;
use polyrtc_relay::auth::{Authenticator, Credentials, NonceIssuer};
use polyrtc_relay::metrics::Metrics;
use polyrtc_relay::turn::{Output, TurnServer};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const URL: &str = "wss://relay.example/";

pub fn relay_config(seed: u8, pool: u8) -> Configuration {
    Configuration {
        certificates: vec![fake_cert(seed)],
        ice_servers: vec![IceServer {
            urls: Urls::One(URL.into()),
            username: Some("alice".into()),
            credential: Some("pw".into()),
        }],
        ice_candidate_pool_size: pool,
        ..Default::default()
    }
}

pub struct World {
    pub pcs: Vec<PeerConnection>,
    pub server: TurnServer,
    pub sockets: FakeSockets,
    /// (pc index, relay id, client id) per open session.
    pub sessions: Vec<(usize, u32, ClientId)>,
    /// Sessions the engines closed, as (pc index, relay id).
    pub closed_sessions: Vec<(usize, u32)>,
    next_port: u16,
    pub now: Instant,
    pub t0: Instant,
    /// Delay of a trickled candidate from pc i to pc 1-i.
    pub trickle_delay: [Duration; 2],
    /// Trickled candidates in flight: (arrival time, destination pc, candidate).
    in_flight: Vec<(Instant, usize, IceCandidateInit)>,
    /// Every event of each pc, with its time.
    pub log: Vec<Vec<(Instant, Event)>>,
    /// Whether to carry candidates at all (pool tests look at one connection alone).
    pub trickle: bool,
}

impl World {
    /// Engines created at `t0`; nothing negotiated yet.
    pub fn new(configs: Vec<Configuration>) -> World {
        let t0 = Instant::now();
        let pcs = configs
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                PeerConnection::new(c, [i as u8 + 1; 32], t0, WALL_MS).expect("configuration")
            })
            .collect::<Vec<_>>();
        let cfg = server_config();
        let auth = Authenticator {
            realm: cfg.realm.clone(),
            credentials: Credentials::new(&cfg.realm, &[("alice".into(), "pw".into())], vec![]),
            nonces: NonceIssuer::new([7; 32], cfg.nonce_lifetime.as_secs()),
        };
        let server = TurnServer::new(cfg, auth, Arc::new(Metrics::default()), t0, 1_700_000_000);
        let n = pcs.len();
        World {
            pcs,
            server,
            sockets: FakeSockets {
                next: 50000,
                fail: false,
                dont_fragment: Vec::new(),
            },
            sessions: vec![],
            closed_sessions: vec![],
            next_port: 40000,
            now: t0,
            t0,
            trickle_delay: [Duration::ZERO; 2],
            in_flight: vec![],
            log: (0..n).map(|_| Vec::new()).collect(),
            trickle: true,
        }
    }

    pub fn call(&mut self, i: usize, c: ApiCall) -> Result<ApiReply, ApiError> {
        let r = self.pcs[i].handle_api_call(c, self.now, WALL_MS);
        self.pump();
        r
    }

    /// Offer from pc 0, answer from pc 1, all at the current time.
    pub fn negotiate(&mut self) {
        let o = match self.call(
            0,
            ApiCall::CreateOffer {
                options: OfferOptions::default(),
            },
        ) {
            Ok(ApiReply::Description { description }) => description,
            r => panic!("createOffer: {r:?}"),
        };
        self.sld(0, o.clone());
        self.srd(1, o);
        let a = match self.call(1, ApiCall::CreateAnswer) {
            Ok(ApiReply::Description { description }) => description,
            r => panic!("createAnswer: {r:?}"),
        };
        self.sld(1, a.clone());
        self.srd(0, a);
    }

    pub fn sld(&mut self, i: usize, d: SessionDescription) {
        let description = LocalDescriptionInit {
            sdp_type: Some(d.sdp_type),
            sdp: d.sdp,
        };
        self.call(i, ApiCall::SetLocalDescription { description })
            .expect("setLocalDescription");
    }

    pub fn srd(&mut self, i: usize, description: SessionDescription) {
        self.call(i, ApiCall::SetRemoteDescription { description })
            .expect("setRemoteDescription");
    }

    /// Moves commands, bytes, events and due candidates until nothing moves.
    pub fn pump(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            // Signaling carries candidates once the peer has the description they belong to.
            let due: Vec<_> = {
                let now = self.now;
                let ready: Vec<bool> = self
                    .pcs
                    .iter()
                    .map(|pc| {
                        let s = pc.snapshot();
                        s.current_remote_description.is_some()
                            || s.pending_remote_description.is_some()
                    })
                    .collect();
                let (due, later) = self
                    .in_flight
                    .drain(..)
                    .partition(|(t, to, _)| *t <= now && ready[*to]);
                self.in_flight = later;
                due
            };
            for (_, to, init) in due {
                moved = true;
                let call = ApiCall::AddIceCandidate {
                    candidate: Some(init),
                };
                self.pcs[to]
                    .handle_api_call(call, self.now, WALL_MS)
                    .expect("addIceCandidate");
            }
            for i in 0..self.pcs.len() {
                while let Some(cmd) = self.pcs[i].poll_relay_command() {
                    moved = true;
                    match cmd {
                        RelayCommand::Connect { relay, .. } => {
                            self.next_port += 1;
                            let cid = client_id(Framing::Stream, self.next_port);
                            self.sessions.push((i, relay, cid));
                            self.pcs[i].handle_relay_state(
                                self.now,
                                relay,
                                RelayTransportState::Open,
                            );
                        }
                        RelayCommand::Close { relay } => self.closed_sessions.push((i, relay)),
                    }
                }
                let mut out = Vec::new();
                while let Some((relay, bytes)) = self.pcs[i].poll_relay_transmit() {
                    moved = true;
                    if let Some(&(_, _, cid)) =
                        self.sessions.iter().find(|s| s.0 == i && s.1 == relay)
                    {
                        self.server.handle_client(
                            self.now,
                            cid,
                            &bytes,
                            &mut self.sockets,
                            &mut out,
                        );
                    }
                }
                self.deliver(out);
                for e in events(&mut self.pcs[i]) {
                    moved = true;
                    if let Event::IceCandidate { candidate: Some(c) } = &e {
                        if self.trickle && self.pcs.len() == 2 {
                            let init = IceCandidateInit {
                                candidate: c.candidate.clone(),
                                sdp_mid: c.sdp_mid.clone(),
                                sdp_m_line_index: c.sdp_m_line_index,
                                username_fragment: None,
                            };
                            let at = self.now + self.trickle_delay[i];
                            self.in_flight.push((at, 1 - i, init));
                        }
                    }
                    self.log[i].push((self.now, e));
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Each round's messages to one client arrive as one batch, as the relay's WebSocket writer
    /// sends them (one frame of concatenated stream-framed messages, relay/src/server/queue.rs):
    /// the engine sees e.g. a check response and the peer's first DTLS flight in one input.
    fn deliver(&mut self, out: Vec<Output>) {
        let mut queue = out;
        while !queue.is_empty() {
            let mut next = Vec::new();
            let mut batches: Vec<(ClientId, Vec<u8>)> = Vec::new();
            for o in queue {
                match o {
                    Output::ToClient { client, data } => {
                        match batches.iter_mut().find(|(c, _)| *c == client) {
                            Some((_, batch)) => batch.extend_from_slice(&data),
                            None => batches.push((client, data)),
                        }
                    }
                    // Every allocation lives on this relay: a datagram to a peer arrives on
                    // the peer's relayed address.
                    Output::ToPeer { relay, peer, data } => {
                        self.server
                            .handle_peer(self.now, peer, relay, &data, &mut next);
                    }
                    Output::CloseRelay { .. } => {}
                }
            }
            for (client, data) in batches {
                if let Some(&(i, relay, _)) = self.sessions.iter().find(|s| s.2 == client) {
                    self.pcs[i].handle_relay_input(self.now, relay, &data);
                }
            }
            queue = next;
        }
    }

    /// Runs timers and deliveries until `now + d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.pump();
        for _ in 0..100_000 {
            // Candidates already due wait for a description (pump delivers them then).
            let trickle = self
                .in_flight
                .iter()
                .map(|(t, _, _)| *t)
                .filter(|t| *t > self.now)
                .min();
            let next = self
                .pcs
                .iter()
                .filter_map(PeerConnection::poll_timeout)
                .chain(self.server.poll_timeout())
                .chain(trickle)
                .min();
            let Some(t) = next.filter(|t| *t <= end) else {
                break;
            };
            self.now = t.max(self.now);
            for pc in &mut self.pcs {
                pc.handle_timeout(self.now);
            }
            let mut out = Vec::new();
            self.server.handle_timeout(self.now, &mut out);
            self.deliver(out);
            self.pump();
        }
        self.now = end;
        self.pump();
    }

    /// When pc `i` first fired an event matching `f`, as time since `t0`.
    pub fn first(&self, i: usize, f: impl Fn(&Event) -> bool) -> Option<Duration> {
        self.log[i]
            .iter()
            .find(|(_, e)| f(e))
            .map(|(t, _)| t.saturating_duration_since(self.t0))
    }

    /// Allocations the relay holds right now.
    pub fn allocations(&self) -> usize {
        self.server.allocations().len()
    }
}
