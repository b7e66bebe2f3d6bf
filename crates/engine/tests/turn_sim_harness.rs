//! Shared harness of the simulated-time TURN tests (turn_sim*.rs include it with `#[path]`):
//! the engine's TURN client wired by hand to the relay's own sans-IO core. Cargo also builds it
//! as a test target of its own, which holds no tests.
#![allow(dead_code)]

use polyrtc_engine::turn::{Framing, TurnClient, TurnClientConfig, TurnEvent, TurnState};
use polyrtc_relay::allocation::{ClientId, ClientTransport};
use polyrtc_relay::auth::{Authenticator, Credentials, NonceIssuer};
use polyrtc_relay::metrics::Metrics;
use polyrtc_relay::turn::{AddressFamily, Output, RelaySockets, TurnConfig, TurnServer};
use polyrtc_stun::{Class, Message, Method};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Relay sockets that exist only as addresses; `fail` makes opening fail (508).
pub struct FakeSockets {
    pub next: u16,
    pub fail: bool,
    /// Relayed addresses the core asked to send with DF set (DONT-FRAGMENT).
    pub dont_fragment: Vec<SocketAddr>,
}

impl RelaySockets for FakeSockets {
    fn supports(&self, f: AddressFamily) -> bool {
        f == AddressFamily::V4
    }
    fn open(&mut self, _: AddressFamily, _: bool) -> std::io::Result<SocketAddr> {
        if self.fail {
            return Err(std::io::Error::other("no ports left"));
        }
        self.next += 1;
        Ok(SocketAddr::from(([203, 0, 113, 1], self.next)))
    }
    fn open_pair(&mut self, f: AddressFamily) -> std::io::Result<SocketAddr> {
        self.open(f, true)
    }
    fn dont_fragment(&mut self, relay: SocketAddr) -> std::io::Result<()> {
        self.dont_fragment.push(relay);
        Ok(())
    }
}

pub const PEER: &str = "192.0.2.10:5000";

pub fn peer() -> SocketAddr {
    PEER.parse().unwrap()
}

pub fn client_config(framing: Framing, password: &str) -> TurnClientConfig {
    TurnClientConfig {
        username: "alice".into(),
        password: password.into(),
        server_url: "wss://relay.example/turn".into(),
        framing,
        request_mobility: false,
        dont_fragment: false,
        max_lifetime: Duration::from_secs(600),
    }
}

pub fn client_id(framing: Framing, port: u16) -> ClientId {
    ClientId {
        transport: match framing {
            Framing::Stream => ClientTransport::WebSocket,
            Framing::Datagram => ClientTransport::Udp,
        },
        remote: SocketAddr::from(([198, 51, 100, 9], port)),
        local: SocketAddr::from(([203, 0, 113, 1], 3478)),
        conn: u64::from(port),
    }
}

/// One TURN client and the relay core, wired by hand.
pub struct Sim {
    pub server: TurnServer,
    pub sockets: FakeSockets,
    pub metrics: Arc<Metrics>,
    pub client: TurnClient,
    pub cid: ClientId,
    pub t0: Instant,
    pub now: Instant,
    /// Every message the client sent, with its time.
    pub sent: Vec<(Instant, Vec<u8>)>,
    /// Every message the server sent the client.
    pub received: Vec<Vec<u8>>,
    /// Datagrams the relay sent to peers: (peer, payload).
    pub to_peer: Vec<(SocketAddr, Vec<u8>)>,
    pub events: Vec<TurnEvent>,
    pub drop_to_server: usize,
    pub drop_to_client: usize,
    /// Deliver everything the server answered in one pump as one stream frame.
    pub batch: bool,
}

pub fn server_config() -> TurnConfig {
    TurnConfig {
        max_lifetime: Duration::from_secs(3600),
        ..TurnConfig::default()
    }
}

impl Sim {
    pub fn new(framing: Framing, password: &str, cfg: TurnConfig) -> Sim {
        let t0 = Instant::now();
        let auth = Authenticator {
            realm: cfg.realm.clone(),
            credentials: Credentials::new(&cfg.realm, &[("alice".into(), "pw".into())], vec![]),
            nonces: NonceIssuer::new([7; 32], cfg.nonce_lifetime.as_secs()),
        };
        let metrics = Arc::new(Metrics::default());
        let server = TurnServer::new(cfg, auth, metrics.clone(), t0, 1_700_000_000);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let client = TurnClient::new(client_config(framing, password), &mut rng, t0);
        Sim {
            server,
            sockets: FakeSockets {
                next: 50000,
                fail: false,
                dont_fragment: Vec::new(),
            },
            metrics,
            client,
            cid: client_id(framing, 40000),
            t0,
            now: t0,
            sent: vec![],
            received: vec![],
            to_peer: vec![],
            events: vec![],
            drop_to_server: 0,
            drop_to_client: 0,
            batch: false,
        }
    }

    pub fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    pub fn deliver(&mut self, out: Vec<Output>) {
        let mut frame = Vec::new();
        for o in out {
            match o {
                Output::ToClient { client, data } if client == self.cid => {
                    if self.drop_to_client > 0 {
                        self.drop_to_client -= 1;
                        continue;
                    }
                    self.received.push(data.clone());
                    if self.batch {
                        frame.extend_from_slice(&data);
                    } else {
                        self.client.handle_input(self.now, &data);
                    }
                }
                Output::ToPeer { peer, data, .. } => self.to_peer.push((peer, data)),
                _ => {}
            }
        }
        if !frame.is_empty() {
            self.client.handle_input(self.now, &frame);
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
    }

    /// Move messages both ways until both sides are quiet.
    pub fn pump(&mut self) {
        loop {
            let mut out = Vec::new();
            let mut any = false;
            while let Some(m) = self.client.poll_transmit() {
                any = true;
                self.sent.push((self.now, m.clone()));
                if self.drop_to_server > 0 {
                    self.drop_to_server -= 1;
                    continue;
                }
                self.server
                    .handle_client(self.now, self.cid, &m, &mut self.sockets, &mut out);
            }
            self.deliver(out);
            if !any {
                while let Some(e) = self.client.poll_event() {
                    self.events.push(e);
                }
                return;
            }
        }
    }

    /// Advance simulated time to `t`, firing both sides' timers on the way.
    pub fn run_until(&mut self, t: Instant) {
        self.pump();
        for _ in 0..100_000 {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(n) if n <= t => {
                    self.now = n.max(self.now);
                    self.client.handle_timeout(self.now);
                    let mut out = Vec::new();
                    self.server.handle_timeout(self.now, &mut out);
                    self.deliver(out);
                    self.pump();
                }
                _ => {
                    self.now = t;
                    return self.pump();
                }
            }
        }
        panic!("timers never settle");
    }

    pub fn peer_send(&mut self, from: SocketAddr, data: &[u8]) {
        let relay = self.client.relayed_address().expect("allocated");
        let mut out = Vec::new();
        self.server
            .handle_peer(self.now, relay, from, data, &mut out);
        self.deliver(out);
    }

    pub fn take_events(&mut self) -> Vec<TurnEvent> {
        std::mem::take(&mut self.events)
    }

    /// Requests of `method` the client sent (retransmissions included).
    pub fn requests(&self, method: Method) -> Vec<(Instant, Message<'_>)> {
        self.sent
            .iter()
            .filter_map(|(t, m)| Message::parse(m).ok().map(|m| (*t, m)))
            .filter(|(_, m)| m.class == Class::Request && m.method == method)
            .collect()
    }

    /// Success responses of `method` the client received.
    pub fn successes(&self, method: Method) -> usize {
        self.responses(method, Class::Success).len()
    }

    pub fn responses(&self, method: Method, class: Class) -> Vec<Message<'_>> {
        self.received
            .iter()
            .filter_map(|m| Message::parse(m).ok())
            .filter(|m| m.class == class && m.method == method)
            .collect()
    }

    pub fn error_codes(&self) -> Vec<u16> {
        self.received
            .iter()
            .filter_map(|m| Message::parse(m).ok())
            .filter_map(|m| m.error_code().map(|(c, _)| c))
            .collect()
    }
}

pub fn allocated_sim(framing: Framing) -> Sim {
    let mut sim = Sim::new(framing, "pw", server_config());
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Allocated);
    sim.take_events();
    sim
}
