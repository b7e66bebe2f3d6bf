//! getStats ICE entries (webrtc-stats §7.13-7.15) of two engines connected through the relay's
//! own sans-IO TURN core, with simulated time.

mod common;
#[path = "turn_sim_harness.rs"]
mod harness;

use common::*;
use harness::{client_id, server_config, FakeSockets};
use polyrtc_engine::api::serde_json_compat::Value;
use polyrtc_engine::network::{RelayCommand, RelayTransportState};
use polyrtc_engine::turn::Framing;
use polyrtc_engine::*;
use polyrtc_relay::allocation::ClientId;
use polyrtc_relay::auth::{Authenticator, Credentials, NonceIssuer};
use polyrtc_relay::metrics::Metrics;
use polyrtc_relay::turn::{Output, TurnServer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const URL: &str = "wss://relay.example/";

struct World {
    pcs: [PeerConnection; 2],
    server: TurnServer,
    sockets: FakeSockets,
    /// (pc index, relay id, client id) per open session.
    sessions: Vec<(usize, u32, ClientId)>,
    next_port: u16,
    now: Instant,
}

fn relay_config(seed: u8) -> Configuration {
    Configuration {
        certificates: vec![fake_cert(seed)],
        ice_servers: vec![IceServer {
            urls: Urls::One(URL.into()),
            username: Some("alice".into()),
            credential: Some("pw".into()),
        }],
        ..Default::default()
    }
}

impl World {
    fn new() -> World {
        let (mut a, mut b) = (pc_with(relay_config(1), 1), pc_with(relay_config(2), 2));
        channel(&mut a, "c", dc_init()).unwrap();
        negotiate(&mut a, &mut b);
        let now = Instant::now();
        let cfg = server_config();
        let auth = Authenticator {
            realm: cfg.realm.clone(),
            credentials: Credentials::new(&cfg.realm, &[("alice".into(), "pw".into())], vec![]),
            nonces: NonceIssuer::new([7; 32], cfg.nonce_lifetime.as_secs()),
        };
        let server = TurnServer::new(cfg, auth, Arc::new(Metrics::default()), now, 1_700_000_000);
        World {
            pcs: [a, b],
            server,
            sockets: FakeSockets {
                next: 50000,
                fail: false,
                dont_fragment: Vec::new(),
            },
            sessions: vec![],
            next_port: 40000,
            now,
        }
    }

    /// Moves commands, bytes and trickled candidates until nothing moves.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            for i in 0..2 {
                while let Some(cmd) = self.pcs[i].poll_relay_command() {
                    moved = true;
                    if let RelayCommand::Connect { relay, .. } = cmd {
                        self.next_port += 1;
                        let cid = client_id(Framing::Stream, self.next_port);
                        self.sessions.push((i, relay, cid));
                        self.pcs[i].handle_relay_state(self.now, relay, RelayTransportState::Open);
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
                    if let Event::IceCandidate { candidate: Some(c) } = e {
                        moved = true;
                        let init = IceCandidateInit {
                            candidate: c.candidate,
                            sdp_mid: c.sdp_mid,
                            sdp_m_line_index: c.sdp_m_line_index,
                            username_fragment: None,
                        };
                        let call = ApiCall::AddIceCandidate {
                            candidate: Some(init),
                        };
                        let peer = &mut self.pcs[1 - i];
                        peer.handle_api_call(call, self.now, WALL_MS).unwrap();
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn deliver(&mut self, out: Vec<Output>) {
        let mut queue = out;
        while !queue.is_empty() {
            let mut next = Vec::new();
            for o in queue {
                match o {
                    Output::ToClient { client, data } => {
                        if let Some(&(i, relay, _)) = self.sessions.iter().find(|s| s.2 == client) {
                            self.pcs[i].handle_relay_input(self.now, relay, &data);
                        }
                    }
                    // Both allocations live on this relay: a datagram to a peer arrives on
                    // the peer's relayed address.
                    Output::ToPeer { relay, peer, data } => {
                        self.server
                            .handle_peer(self.now, peer, relay, &data, &mut next);
                    }
                    Output::CloseRelay { .. } => {}
                }
            }
            queue = next;
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.pump();
        for _ in 0..100_000 {
            let next = [
                self.pcs[0].poll_timeout(),
                self.pcs[1].poll_timeout(),
                self.server.poll_timeout(),
            ]
            .into_iter()
            .flatten()
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
    }

    fn stats(&mut self, i: usize) -> Vec<BTreeMap<String, Value>> {
        let call = ApiCall::GetStats { timestamp: WALL_MS };
        match self.pcs[i].handle_api_call(call, self.now, WALL_MS) {
            Ok(ApiReply::Stats { stats }) => stats
                .into_iter()
                .filter_map(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .collect(),
            r => panic!("unexpected {r:?}"),
        }
    }
}

fn of_type<'a>(s: &'a [BTreeMap<String, Value>], t: &str) -> Vec<&'a BTreeMap<String, Value>> {
    s.iter()
        .filter(|m| m.get("type") == Some(&Value::String(t.into())))
        .collect()
}

fn s<'a>(m: &'a BTreeMap<String, Value>, k: &str) -> &'a str {
    match m.get(k) {
        Some(Value::String(v)) => v,
        v => panic!("{k}: {v:?}"),
    }
}

fn n(m: &BTreeMap<String, Value>, k: &str) -> f64 {
    match m.get(k) {
        Some(Value::Number(v)) => *v,
        v => panic!("{k}: {v:?}"),
    }
}

#[test]
fn connected_pair_reports_ice_entries() {
    let mut w = World::new();
    w.run_for(Duration::from_secs(3));
    assert_eq!(
        w.pcs[0].snapshot().ice_connection_state,
        IceConnectionState::Connected
    );
    let st = w.stats(0);
    let t = of_type(&st, "transport");
    assert_eq!(t.len(), 1);
    let t = t[0];
    assert_eq!(s(t, "iceRole"), "controlling");
    assert_eq!(s(t, "iceState"), "connected");
    assert_eq!(n(t, "selectedCandidatePairChanges"), 1.0);
    let selected = s(t, "selectedCandidatePairId").to_string();
    let pairs = of_type(&st, "candidate-pair");
    let pair = pairs
        .iter()
        .find(|p| s(p, "id") == selected)
        .expect("selected pair is listed");
    assert_eq!(s(pair, "transportId"), s(t, "id"));
    assert_eq!(s(pair, "state"), "succeeded");
    assert_eq!(pair.get("nominated"), Some(&Value::Bool(true)));
    assert!(n(pair, "requestsSent") >= 1.0);
    assert!(n(pair, "responsesReceived") >= 1.0);
    assert!(n(pair, "totalRoundTripTime") >= 0.0);
    // Only checks flowed (no DTLS here): the pair has sent no application packet yet, and
    // webrtc-stats leaves lastPacketSentTimestamp out until it has.
    assert_eq!(n(pair, "packetsSent"), 0.0);
    assert!(!pair.contains_key("lastPacketSentTimestamp"));
    let local = of_type(&st, "local-candidate");
    let l = local
        .iter()
        .find(|c| s(c, "id") == s(pair, "localCandidateId"))
        .expect("local candidate of the pair");
    assert_eq!(s(l, "candidateType"), "relay");
    assert_eq!(s(l, "url"), URL);
    assert_eq!(s(l, "relayProtocol"), "tcp");
    assert_eq!(s(l, "protocol"), "udp");
    let remote = of_type(&st, "remote-candidate");
    let r = remote
        .iter()
        .find(|c| s(c, "id") == s(pair, "remoteCandidateId"))
        .expect("remote candidate of the pair");
    // The peer's local candidate is our remote one: same address, port and priority.
    let peer = w.stats(1);
    let peer_local = of_type(&peer, "local-candidate");
    let pl = peer_local
        .iter()
        .find(|c| n(c, "port") == n(r, "port"))
        .expect("peer's local candidate");
    assert_eq!(s(pl, "address"), s(r, "address"));
    assert_eq!(n(pl, "priority"), n(r, "priority"));
    assert_eq!(s(of_type(&peer, "transport")[0], "iceRole"), "controlled");
    // Ids are stable and counters live: consent checks keep flowing.
    let before = n(pair, "requestsSent") + n(pair, "consentRequestsSent");
    w.run_for(Duration::from_secs(10));
    let st2 = w.stats(0);
    let pairs2 = of_type(&st2, "candidate-pair");
    let pair2 = pairs2
        .iter()
        .find(|p| s(p, "id") == selected)
        .expect("same id later");
    assert!(n(pair2, "requestsSent") + n(pair2, "consentRequestsSent") > before);
}
