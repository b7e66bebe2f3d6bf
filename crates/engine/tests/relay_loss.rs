//! Relay session loss (issue #6), in simulated time: two engines connected through the relay's
//! own sans-IO TURN core, then the polyfill's WebSocket session drops. With a MOBILITY-TICKET
//! the session is opened again (at once, then backing off) and the allocation resumes on the
//! same relayed address without an ICE restart; without one ICE goes "disconnected" and then
//! "failed" on consent's schedule (RFC 7675), no reconnection is tried, and restartIce() with a
//! new offer/answer gathers a new allocation that connects again.

mod common;
#[path = "turn_sim_harness.rs"]
mod harness;

use common::*;
use harness::{client_id, server_config, FakeSockets};
use polyrtc_engine::api::serde_json_compat::Value;
use polyrtc_engine::ice::{CONSENT_TIMEOUT, DISCONNECTED_AFTER};
use polyrtc_engine::network::{retry_delay, RelayCommand, RelayTransportState};
use polyrtc_engine::turn::Framing;
use polyrtc_engine::*;
use polyrtc_relay::allocation::ClientId;
use polyrtc_relay::auth::{Authenticator, Credentials, NonceIssuer};
use polyrtc_relay::metrics::Metrics;
use polyrtc_relay::turn::{Output, TurnConfig, TurnServer};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

const URL: &str = "wss://relay.example/";

/// What happened on one side, with simulated times.
#[derive(Default)]
struct Side {
    events: Vec<(Instant, Event)>,
    /// Every `Connect` the engine asked for: (time, relay).
    connects: Vec<(Instant, u32)>,
    closes: Vec<(Instant, u32)>,
    /// Relayed candidates announced, as `address:port`.
    relay_candidates: Vec<String>,
    /// Until when the shell's connection attempts fail (the relay cannot be reached).
    refuse_until: Option<Instant>,
}

struct World {
    pcs: [PeerConnection; 2],
    sides: [Side; 2],
    server: TurnServer,
    metrics: Arc<Metrics>,
    sockets: FakeSockets,
    /// (pc index, relay id, client id) per open session.
    sessions: Vec<(usize, u32, ClientId)>,
    next_port: u16,
    now: Instant,
    /// The data channel `a` created (its handle on `a`).
    channel: DataChannelHandle,
}

/// No certificate given: the engine generates a real one, so DTLS and SCTP run end to end.
fn relay_config() -> Configuration {
    Configuration {
        ice_servers: vec![IceServer {
            urls: Urls::One(URL.into()),
            username: Some("alice".into()),
            credential: Some("pw".into()),
        }],
        ..Default::default()
    }
}

impl World {
    fn new(turn: TurnConfig) -> World {
        let (mut a, mut b) = (pc_with(relay_config(), 1), pc_with(relay_config(), 2));
        let channel = channel(&mut a, "c", dc_init()).unwrap().handle;
        negotiate(&mut a, &mut b);
        let now = Instant::now();
        let auth = Authenticator {
            realm: turn.realm.clone(),
            credentials: Credentials::new(&turn.realm, &[("alice".into(), "pw".into())], vec![]),
            nonces: NonceIssuer::new([7; 32], turn.nonce_lifetime.as_secs()),
        };
        let metrics = Arc::new(Metrics::default());
        let server = TurnServer::new(turn, auth, metrics.clone(), now, 1_700_000_000);
        let mut w = World {
            pcs: [a, b],
            sides: Default::default(),
            server,
            metrics,
            sockets: FakeSockets {
                next: 50000,
                fail: false,
                dont_fragment: Vec::new(),
            },
            sessions: vec![],
            next_port: 40000,
            now,
            channel,
        };
        w.run_for(Duration::from_secs(3));
        for i in 0..2 {
            assert_eq!(w.ice(i), IceConnectionState::Connected, "side {i}");
            assert_eq!(w.sides[i].relay_candidates.len(), 1);
        }
        w
    }

    fn ice(&self, i: usize) -> IceConnectionState {
        self.pcs[i].snapshot().ice_connection_state
    }

    /// The shell's side: open sessions on request (or fail to), move bytes, trickle candidates.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            for i in 0..2 {
                while let Some(cmd) = self.pcs[i].poll_relay_command() {
                    moved = true;
                    match cmd {
                        RelayCommand::Connect { relay, .. } => self.connect(i, relay),
                        RelayCommand::Close { relay } => {
                            self.sides[i].closes.push((self.now, relay));
                            self.end_session(i, relay);
                        }
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
                    self.on_event(i, &e);
                    self.sides[i].events.push((self.now, e));
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the engines never settle");
    }

    fn connect(&mut self, i: usize, relay: u32) {
        self.sides[i].connects.push((self.now, relay));
        if self.sides[i].refuse_until.is_some_and(|t| self.now < t) {
            self.pcs[i].handle_relay_state(self.now, relay, RelayTransportState::Closed);
            return;
        }
        // A new session is a new 5-tuple for the relay.
        self.end_session(i, relay);
        self.next_port += 1;
        let cid = client_id(Framing::Stream, self.next_port);
        self.sessions.push((i, relay, cid));
        self.pcs[i].handle_relay_state(self.now, relay, RelayTransportState::Open);
    }

    /// The session of `relay` ends on the relay's side (its TCP connection is gone).
    fn end_session(&mut self, i: usize, relay: u32) {
        let Some(at) = self.sessions.iter().position(|s| s.0 == i && s.1 == relay) else {
            return;
        };
        let (_, _, cid) = self.sessions.remove(at);
        let mut out = Vec::new();
        self.server.session_closed(self.now, cid, &mut out);
        self.deliver(out);
    }

    /// The WebSocket carrying side `i`'s relay sessions breaks: both ends see it close.
    fn cut(&mut self, i: usize) {
        let relays: Vec<u32> = self
            .sessions
            .iter()
            .filter(|s| s.0 == i)
            .map(|s| s.1)
            .collect();
        for relay in relays {
            self.end_session(i, relay);
            self.pcs[i].handle_relay_state(self.now, relay, RelayTransportState::Closed);
        }
        self.pump();
    }

    fn on_event(&mut self, i: usize, e: &Event) {
        let Event::IceCandidate { candidate: Some(c) } = e else {
            return;
        };
        if let (Some(addr), Some(port)) = (&c.address, c.port) {
            self.sides[i]
                .relay_candidates
                .push(format!("{addr}:{port}"));
        }
        let init = IceCandidateInit {
            candidate: c.candidate.clone(),
            sdp_mid: c.sdp_mid.clone(),
            sdp_m_line_index: c.sdp_m_line_index,
            username_fragment: None,
        };
        let call = ApiCall::AddIceCandidate {
            candidate: Some(init),
        };
        let peer = &mut self.pcs[1 - i];
        peer.handle_api_call(call, self.now, WALL_MS).unwrap();
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
                    // the peer's relayed address (and is dropped if that allocation is gone).
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
        for _ in 0..1_000_000 {
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

    /// `iceconnectionstatechange`s of side `i` since `from`.
    fn ice_changes(&self, i: usize, from: Instant) -> Vec<(Instant, IceConnectionState)> {
        self.sides[i]
            .events
            .iter()
            .filter(|(t, _)| *t >= from)
            .filter_map(|(t, e)| match e {
                Event::IceConnectionStateChange { state } => Some((*t, *state)),
                _ => None,
            })
            .collect()
    }

    fn connection_changes(&self, i: usize, from: Instant) -> Vec<PeerConnectionState> {
        self.sides[i]
            .events
            .iter()
            .filter(|(t, _)| *t >= from)
            .filter_map(|(_, e)| match e {
                Event::ConnectionStateChange { state } => Some(*state),
                _ => None,
            })
            .collect()
    }

    /// Sends `text` on a's channel and reports whether b received it within a second.
    fn message_arrives(&mut self, text: &str) -> bool {
        let call = ApiCall::SendDataChannelMessage {
            channel: self.channel,
            data: text.as_bytes().to_vec(),
            binary: false,
        };
        self.pcs[0]
            .handle_api_call(call, self.now, WALL_MS)
            .unwrap();
        let from = self.now;
        self.run_for(Duration::from_secs(1));
        self.sides[1].events.iter().any(|(t, e)| {
            *t >= from
                && matches!(e, Event::DataChannelMessage { data, .. } if data == text.as_bytes())
        })
    }

    /// `address:port` of the local candidate of the pair getStats() says is selected.
    fn selected_local(&mut self, i: usize) -> String {
        let call = ApiCall::GetStats { timestamp: WALL_MS };
        let Ok(ApiReply::Stats { stats }) = self.pcs[i].handle_api_call(call, self.now, WALL_MS)
        else {
            panic!("getStats failed");
        };
        let stats: Vec<BTreeMap<String, Value>> = stats
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect();
        let by_id = |id: &str| {
            stats
                .iter()
                .find(|m| text(m, "id") == id)
                .unwrap_or_else(|| panic!("no stats entry {id}"))
        };
        let transport = stats
            .iter()
            .find(|m| text(m, "type") == "transport")
            .expect("a transport entry");
        let pair = by_id(text(transport, "selectedCandidatePairId"));
        let local = by_id(text(pair, "localCandidateId"));
        let port = match local.get("port") {
            Some(Value::Number(p)) => *p,
            p => panic!("port: {p:?}"),
        };
        format!("{}:{port}", text(local, "address"))
    }
}

fn text<'a>(m: &'a BTreeMap<String, Value>, k: &str) -> &'a str {
    match m.get(k) {
        Some(Value::String(v)) => v,
        _ => "",
    }
}

fn mobility(on: bool) -> TurnConfig {
    TurnConfig {
        mobility: on,
        ..server_config()
    }
}

#[test]
fn dropped_session_resumes_at_once_with_the_ticket() {
    let mut w = World::new(mobility(true));
    assert!(w.message_arrives("before"));
    let relayed = w.sides[0].relay_candidates[0].clone();
    assert_eq!(w.selected_local(0), relayed);

    let cut = w.now;
    w.cut(0);
    // The shell is asked for a new session at once; the ticket moves the allocation to it.
    assert_eq!(w.sides[0].connects.len(), 2);
    assert_eq!(w.sides[0].connects[1], (cut, w.sides[0].connects[0].1));
    assert_eq!(w.metrics.mobility_moves.load(Relaxed), 1);
    w.run_for(Duration::from_secs(40));
    assert!(w.message_arrives("after"));
    // No ICE restart, no new candidate, no state change, on either side.
    assert_eq!(w.sides[0].relay_candidates, vec![relayed.clone()]);
    assert_eq!(w.selected_local(0), relayed);
    assert_eq!(w.ice_changes(0, cut), vec![]);
    assert_eq!(w.ice_changes(1, cut), vec![]);
    assert_eq!(w.sides[0].connects.len(), 2, "one reconnection");
    assert!(w.sides[0].closes.is_empty());
}

#[test]
fn unreachable_relay_is_retried_with_back_off_until_the_ticket_resumes() {
    let mut w = World::new(mobility(true));
    let relayed = w.sides[0].relay_candidates[0].clone();
    let cut = w.now;
    // The relay cannot be reached for 10 s: attempts at 0, 0.5, 1.5, 3.5, 7.5 s fail, the
    // one at 15.5 s resumes (the relay keeps the allocation 60 s for its ticket).
    w.sides[0].refuse_until = Some(cut + Duration::from_secs(10));
    w.cut(0);
    w.run_for(Duration::from_secs(40));
    let at: Vec<Duration> = w.sides[0].connects[1..]
        .iter()
        .map(|(t, _)| *t - cut)
        .collect();
    let mut expected = vec![];
    let mut t = Duration::ZERO;
    for n in 0..6 {
        t += retry_delay(n);
        expected.push(t);
    }
    assert_eq!(at, expected);
    assert_eq!(expected.last(), Some(&Duration::from_millis(15_500)));
    assert_eq!(w.metrics.mobility_moves.load(Relaxed), 1);
    // Consent checks went unanswered meanwhile: "disconnected", then "connected" again once a
    // check got through on the resumed allocation; never "failed".
    let changes = w.ice_changes(0, cut);
    let states: Vec<_> = changes.iter().map(|c| c.1).collect();
    assert_eq!(
        states,
        vec![
            IceConnectionState::Disconnected,
            IceConnectionState::Connected
        ]
    );
    let disconnected = changes[0].0 - cut;
    // The first unanswered check leaves 4–6 s after the last one (RFC 7675 jitter).
    assert!(disconnected >= DISCONNECTED_AFTER && disconnected <= DISCONNECTED_AFTER * 4);
    assert!(changes[1].0 - cut >= Duration::from_millis(15_500));
    assert_eq!(
        w.connection_changes(0, cut),
        vec![
            PeerConnectionState::Disconnected,
            PeerConnectionState::Connected
        ]
    );
    assert_eq!(w.sides[0].relay_candidates, vec![relayed.clone()]);
    assert_eq!(w.selected_local(0), relayed);
    assert!(w.message_arrives("after the outage"));
}

#[test]
fn without_mobility_ice_fails_on_time_and_restart_ice_allocates_anew() {
    // The relay refuses MOBILITY-TICKET (405): the client allocates without one.
    let mut w = World::new(mobility(false));
    assert!(w.message_arrives("before"));
    let relayed = w.sides[0].relay_candidates[0].clone();
    let cut = w.now;
    w.cut(0);
    w.run_for(Duration::from_secs(45));

    // The allocation is gone with the session: released, never asked for again.
    assert_eq!(
        w.sides[0].connects.len(),
        1,
        "no reconnection without a ticket"
    );
    assert_eq!(w.sides[0].closes.len(), 1);
    let changes = w.ice_changes(0, cut);
    let states: Vec<_> = changes.iter().map(|c| c.1).collect();
    assert_eq!(
        states,
        vec![IceConnectionState::Disconnected, IceConnectionState::Failed]
    );
    let (disconnected, failed) = (changes[0].0 - cut, changes[1].0 - cut);
    // Disconnected 2.5 s after the first unanswered consent check (sent 4–6 s after the last
    // answered one); failed 30 s after the last answer, which came at most 6 s before the cut.
    assert!(disconnected >= DISCONNECTED_AFTER, "{disconnected:?}");
    assert!(disconnected <= Duration::from_secs(6) + DISCONNECTED_AFTER);
    assert!(
        failed > CONSENT_TIMEOUT - Duration::from_secs(6),
        "{failed:?}"
    );
    assert!(failed <= CONSENT_TIMEOUT, "{failed:?}");
    assert_eq!(
        w.connection_changes(0, cut),
        vec![
            PeerConnectionState::Disconnected,
            PeerConnectionState::Failed
        ]
    );
    // The peer's checks reach nothing either: it fails too.
    let peer: Vec<_> = w.ice_changes(1, cut).iter().map(|c| c.1).collect();
    assert_eq!(
        peer,
        vec![IceConnectionState::Disconnected, IceConnectionState::Failed]
    );

    // restartIce() and a new offer/answer: a new allocation, a new candidate, connected again.
    let restart = w.now;
    ok(&mut w.pcs[0], ApiCall::RestartIce);
    let [a, b] = &mut w.pcs;
    negotiate(a, b);
    w.run_for(Duration::from_secs(5));
    assert_eq!(w.sides[0].connects.len(), 2, "one new session");
    assert_ne!(w.sides[0].connects[1].1, w.sides[0].connects[0].1);
    assert_eq!(w.sides[0].relay_candidates.len(), 2);
    let renewed = w.sides[0].relay_candidates[1].clone();
    assert_ne!(renewed, relayed);
    assert_eq!(w.selected_local(0), renewed);
    for i in 0..2 {
        let states: Vec<_> = w.ice_changes(i, restart).iter().map(|c| c.1).collect();
        assert_eq!(
            states.last(),
            Some(&IceConnectionState::Connected),
            "side {i}"
        );
        assert!(!states.contains(&IceConnectionState::Failed));
    }
    assert_eq!(
        w.connection_changes(0, restart).last(),
        Some(&PeerConnectionState::Connected)
    );
    assert!(w.message_arrives("after restartIce"));
}

#[test]
fn reconnection_stops_once_ice_has_failed() {
    let mut w = World::new(mobility(true));
    let cut = w.now;
    w.sides[0].refuse_until = Some(cut + Duration::from_secs(3600));
    w.cut(0);
    w.run_for(Duration::from_secs(120));
    let failed = w
        .ice_changes(0, cut)
        .into_iter()
        .find(|c| c.1 == IceConnectionState::Failed)
        .expect("ICE fails while the relay is unreachable")
        .0;
    assert!(failed - cut <= CONSENT_TIMEOUT);
    let last_attempt = w.sides[0].connects.last().unwrap().0;
    assert!(last_attempt <= failed, "no attempt after ICE failed");
    assert!(w.sides[0].connects.len() >= 6, "{:?}", w.sides[0].connects);
    // The allocation is given up: the session is closed for good.
    assert_eq!(w.sides[0].closes.len(), 1);
    assert!(w.sides[0].closes[0].0 >= failed);
    assert_eq!(w.pcs[0].poll_relay_command(), None);
}
