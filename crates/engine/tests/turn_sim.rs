//! The engine's TURN client against the relay's own sans-IO core, in simulated time: no
//! sockets, no clock; a 30-minute call runs in milliseconds.

use polyrtc_engine::turn::{
    Framing, TurnClient, TurnClientConfig, TurnError, TurnEvent, TurnState,
};
use polyrtc_relay::allocation::{ClientId, ClientTransport, Quotas};
use polyrtc_relay::auth::{Authenticator, Credentials, NonceIssuer};
use polyrtc_relay::metrics::Metrics;
use polyrtc_relay::turn::{AddressFamily, Output, RelaySockets, TurnConfig, TurnServer};
use polyrtc_stun::{Class, Message, Method};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Relay sockets that exist only as addresses; `fail` makes opening fail (508).
struct FakeSockets {
    next: u16,
    fail: bool,
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
}

const PEER: &str = "192.0.2.10:5000";

fn peer() -> SocketAddr {
    PEER.parse().unwrap()
}

fn client_config(framing: Framing, password: &str) -> TurnClientConfig {
    TurnClientConfig {
        username: "alice".into(),
        password: password.into(),
        server_url: "wss://relay.example/turn".into(),
        framing,
        request_mobility: false,
        max_lifetime: Duration::from_secs(600),
    }
}

fn client_id(framing: Framing, port: u16) -> ClientId {
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
struct Sim {
    server: TurnServer,
    sockets: FakeSockets,
    metrics: Arc<Metrics>,
    client: TurnClient,
    cid: ClientId,
    t0: Instant,
    now: Instant,
    /// Every message the client sent, with its time.
    sent: Vec<(Instant, Vec<u8>)>,
    /// Every message the server sent the client.
    received: Vec<Vec<u8>>,
    /// Datagrams the relay sent to peers: (peer, payload).
    to_peer: Vec<(SocketAddr, Vec<u8>)>,
    events: Vec<TurnEvent>,
    drop_to_server: usize,
    drop_to_client: usize,
    /// Deliver everything the server answered in one pump as one stream frame.
    batch: bool,
}

fn server_config() -> TurnConfig {
    TurnConfig {
        max_lifetime: Duration::from_secs(3600),
        ..TurnConfig::default()
    }
}

impl Sim {
    fn new(framing: Framing, password: &str, cfg: TurnConfig) -> Sim {
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

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn deliver(&mut self, out: Vec<Output>) {
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
    fn pump(&mut self) {
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
    fn run_until(&mut self, t: Instant) {
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

    fn peer_send(&mut self, from: SocketAddr, data: &[u8]) {
        let relay = self.client.relayed_address().expect("allocated");
        let mut out = Vec::new();
        self.server
            .handle_peer(self.now, relay, from, data, &mut out);
        self.deliver(out);
    }

    fn take_events(&mut self) -> Vec<TurnEvent> {
        std::mem::take(&mut self.events)
    }

    /// Requests of `method` the client sent (retransmissions included).
    fn requests(&self, method: Method) -> Vec<(Instant, Message<'_>)> {
        self.sent
            .iter()
            .filter_map(|(t, m)| Message::parse(m).ok().map(|m| (*t, m)))
            .filter(|(_, m)| m.class == Class::Request && m.method == method)
            .collect()
    }

    /// Success responses of `method` the client received.
    fn successes(&self, method: Method) -> usize {
        self.responses(method, Class::Success).len()
    }

    fn responses(&self, method: Method, class: Class) -> Vec<Message<'_>> {
        self.received
            .iter()
            .filter_map(|m| Message::parse(m).ok())
            .filter(|m| m.class == class && m.method == method)
            .collect()
    }

    fn error_codes(&self) -> Vec<u16> {
        self.received
            .iter()
            .filter_map(|m| Message::parse(m).ok())
            .filter_map(|m| m.error_code().map(|(c, _)| c))
            .collect()
    }
}

fn allocated_sim(framing: Framing) -> Sim {
    let mut sim = Sim::new(framing, "pw", server_config());
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Allocated);
    sim.take_events();
    sim
}

#[test]
fn allocate_retries_after_401_with_long_term_credentials() {
    let mut sim = Sim::new(Framing::Datagram, "pw", server_config());
    sim.pump();
    let events = sim.take_events();
    assert_eq!(
        events,
        vec![TurnEvent::Allocated {
            relayed: "203.0.113.1:50001".parse().unwrap(),
            mapped: Some("198.51.100.9:40000".parse().unwrap()),
            lifetime: Duration::from_secs(600),
        }]
    );
    let allocs = sim.requests(Method::ALLOCATE);
    assert_eq!(allocs.len(), 2);
    assert!(!allocs[0].1.has(polyrtc_stun::MESSAGE_INTEGRITY));
    assert_eq!(
        allocs[1].1.string_attribute(polyrtc_stun::USERNAME),
        Ok(Some("alice"))
    );
    let key = polyrtc_stun::LongTermKey::derive("alice", "polyrtc", "pw");
    assert_eq!(allocs[1].1.verify_integrity(&key.0), Some(true));
    assert_eq!(sim.error_codes(), vec![401]);
    assert_eq!(sim.metrics.auth_challenges.load(Relaxed), 1);
    assert_eq!(sim.server.allocations().len(), 1);
}

#[test]
fn wrong_password_surfaces_401_and_fails() {
    let mut sim = Sim::new(Framing::Stream, "wrong", server_config());
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Failed);
    match sim.take_events().as_slice() {
        [TurnEvent::Error { code: 401, text }] => assert_eq!(text, "Unauthorized"),
        other => panic!("{other:?}"),
    }
    // One unauthenticated try, one signed try; no loop.
    assert_eq!(sim.requests(Method::ALLOCATE).len(), 2);
    sim.run_until(sim.at(120_000));
    assert_eq!(sim.sent.len(), 2);
    assert_eq!(sim.client.poll_timeout(), None);
}

#[test]
fn refresh_goes_out_a_minute_before_expiry() {
    let mut sim = allocated_sim(Framing::Datagram);
    sim.run_until(sim.at(539_000));
    assert!(sim.requests(Method::REFRESH).is_empty());
    sim.run_until(sim.at(541_000));
    let refreshes = sim.requests(Method::REFRESH);
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0].0, sim.at(540_000));
    assert_eq!(
        refreshes[0].1.u32_attribute(polyrtc_stun::LIFETIME),
        Ok(Some(600))
    );
    assert_eq!(sim.successes(Method::REFRESH), 1);
    sim.run_until(sim.at(3_000_000));
    assert_eq!(sim.client.state(), TurnState::Allocated);
    assert_eq!(sim.server.allocations().len(), 1);
    assert!(sim.take_events().is_empty());
}

#[test]
fn stale_nonce_438_is_retried_with_the_new_nonce() {
    let cfg = TurnConfig {
        nonce_lifetime: Duration::from_secs(100),
        ..server_config()
    };
    let mut sim = Sim::new(Framing::Stream, "pw", cfg);
    sim.pump();
    sim.take_events();
    sim.run_until(sim.at(150_000));
    sim.client.create_permission(sim.now, peer().ip());
    sim.pump();
    assert!(sim.client.has_permission(peer().ip()));
    assert_eq!(sim.error_codes(), vec![401, 438]);
    let perms = sim.requests(Method::CREATE_PERMISSION);
    assert_eq!(perms.len(), 2);
    let nonce = |m: &Message<'_>| {
        m.string_attribute(polyrtc_stun::NONCE)
            .unwrap()
            .map(str::to_owned)
    };
    assert_ne!(nonce(&perms[0].1), nonce(&perms[1].1));
    assert!(sim.take_events().is_empty());
}

#[test]
fn lost_request_is_retransmitted_over_datagrams() {
    let mut sim = Sim::new(Framing::Datagram, "pw", server_config());
    sim.drop_to_server = 1;
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Allocating);
    assert_eq!(sim.client.poll_timeout(), Some(sim.at(500)));
    sim.run_until(sim.at(600));
    assert_eq!(sim.client.state(), TurnState::Allocated);
    let allocs = sim.requests(Method::ALLOCATE);
    assert_eq!(allocs.len(), 3, "lost, resent at 500 ms, signed");
    assert_eq!(allocs[0].1.raw(), allocs[1].1.raw());
    assert_eq!(allocs[1].0, sim.at(500));

    // A lost success response: the same request again, the same allocation back.
    sim.client.create_permission(sim.now, peer().ip());
    sim.drop_to_client = 1;
    sim.pump();
    assert!(!sim.client.has_permission(peer().ip()));
    sim.run_until(sim.at(1200));
    assert!(sim.client.has_permission(peer().ip()));
    assert_eq!(sim.requests(Method::CREATE_PERMISSION).len(), 2);
}

/// RFC 8489 §6.2.1's example: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; failure at 39.5 s.
#[test]
fn datagram_retransmissions_follow_rfc8489_schedule() {
    let mut sim = Sim::new(Framing::Datagram, "pw", server_config());
    sim.drop_to_server = usize::MAX;
    sim.run_until(sim.at(39_499));
    assert_eq!(sim.client.state(), TurnState::Allocating);
    sim.run_until(sim.at(39_500));
    let sends: Vec<u128> = sim
        .sent
        .iter()
        .map(|(t, _)| t.duration_since(sim.t0).as_millis())
        .collect();
    assert_eq!(sends, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert!(sim.sent.iter().all(|(_, m)| *m == sim.sent[0].1));
    assert_eq!(sim.client.state(), TurnState::Failed);
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::Error { code: 701, .. }]
    ));
}

#[test]
fn stream_framing_never_retransmits_and_times_out_as_701() {
    let mut sim = Sim::new(Framing::Stream, "pw", server_config());
    sim.drop_to_server = 1;
    sim.pump();
    sim.run_until(sim.at(39_499));
    assert_eq!(sim.sent.len(), 1);
    assert_eq!(sim.client.state(), TurnState::Allocating);
    sim.run_until(sim.at(39_500));
    assert_eq!(sim.sent.len(), 1);
    assert_eq!(sim.client.state(), TurnState::Failed);
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::Error { code: 701, .. }]
    ));
}

#[test]
fn data_indications_until_the_channel_is_bound_then_channel_data() {
    let mut sim = allocated_sim(Framing::Stream);
    sim.client.create_permission(sim.now, peer().ip());
    sim.pump();
    sim.peer_send(peer(), b"before any send");
    let last = sim.received.last().unwrap().clone();
    let ind = Message::parse(&last).unwrap();
    assert_eq!((ind.class, ind.method), (Class::Indication, Method::DATA));
    assert_eq!(
        sim.take_events(),
        vec![TurnEvent::Data {
            from: peer(),
            data: b"before any send".to_vec()
        }]
    );

    sim.client.send_to(sim.now, peer(), b"first").unwrap();
    let first = sim.client.poll_transmit().unwrap();
    let send = Message::parse(&first).unwrap();
    assert_eq!((send.class, send.method), (Class::Indication, Method::SEND));
    sim.sent.push((sim.now, first.clone()));
    let mut out = Vec::new();
    sim.server
        .handle_client(sim.now, sim.cid, &first, &mut sim.sockets, &mut out);
    sim.deliver(out);
    sim.pump();
    assert_eq!(sim.client.channel(peer()), Some(0x4000));
    assert_eq!(sim.to_peer, vec![(peer(), b"first".to_vec())]);

    sim.client.send_to(sim.now, peer(), b"second!").unwrap();
    sim.pump();
    let (_, cd) = sim.sent.last().unwrap();
    assert_eq!(cd[..4], [0x40, 0x00, 0, 7]);
    assert_eq!(cd.len(), 12, "padded to four over stream framing");
    assert_eq!(sim.to_peer.last().unwrap(), &(peer(), b"second!".to_vec()));
    sim.peer_send(peer(), b"over the channel");
    assert_eq!(sim.received.last().unwrap()[..2], [0x40, 0x00]);
    assert_eq!(
        sim.take_events(),
        vec![TurnEvent::Data {
            from: peer(),
            data: b"over the channel".to_vec()
        }]
    );
}

#[test]
fn several_messages_in_one_stream_frame_are_all_handled() {
    let mut sim = allocated_sim(Framing::Stream);
    sim.batch = true;
    let peers: Vec<IpAddr> = (1..=3).map(|i| IpAddr::from([192, 0, 2, 20 + i])).collect();
    for p in &peers {
        sim.client.create_permission(sim.now, *p);
    }
    // Three requests queued, three answers in a single frame.
    sim.pump();
    for p in &peers {
        assert!(sim.client.has_permission(*p), "{p}");
    }
    let mut frame = Vec::new();
    for (i, p) in peers.iter().enumerate() {
        let relay = sim.client.relayed_address().unwrap();
        let mut out = Vec::new();
        let data = vec![i as u8; 5 + i];
        sim.server
            .handle_peer(sim.now, relay, SocketAddr::new(*p, 9), &data, &mut out);
        for o in out {
            if let Output::ToClient { data, .. } = o {
                frame.extend_from_slice(&data);
            }
        }
    }
    sim.client.handle_input(sim.now, &frame);
    let mut got = vec![];
    while let Some(TurnEvent::Data { from, data }) = sim.client.poll_event() {
        got.push((from.ip(), data.len()));
    }
    assert_eq!(got, vec![(peers[0], 5), (peers[1], 6), (peers[2], 7)]);
}

/// WebTransport: a client configured for datagrams whose shell sends large messages over a
/// stream. `frame_for_stream` pads its ChannelData; `handle_stream_input` splits what comes back.
#[test]
fn datagram_client_over_a_stream_for_large_messages() {
    let mut sim = allocated_sim(Framing::Datagram);
    sim.client.send_to(sim.now, peer(), b"x").unwrap();
    sim.pump();
    assert_eq!(sim.client.channel(peer()), Some(0x4000));
    sim.client.send_to(sim.now, peer(), &[7; 1401]).unwrap();
    let cd = sim.client.poll_transmit().unwrap();
    assert_eq!(cd.len(), 4 + 1401, "unpadded for a datagram");
    let framed = TurnClient::frame_for_stream(cd);
    assert_eq!(framed.len(), 4 + 1404);
    assert_eq!(
        polyrtc_stun::framing::stream_frame_len(&framed),
        Ok(Some(1408))
    );
    let relay = sim.client.relayed_address().unwrap();
    let mut frame = Vec::new();
    for n in [1401, 2] {
        let mut out = Vec::new();
        sim.server
            .handle_peer(sim.now, relay, peer(), &vec![9; n], &mut out);
        if let [Output::ToClient { data, .. }] = out.as_slice() {
            frame.extend(TurnClient::frame_for_stream(data.clone()));
        }
    }
    sim.client.handle_stream_input(sim.now, &frame);
    let sizes: Vec<usize> = std::iter::from_fn(|| sim.client.poll_event())
        .map(|e| match e {
            TurnEvent::Data { data, .. } => data.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, vec![1401, 2]);
}

#[test]
fn server_error_codes_are_surfaced() {
    // 403: a loopback peer is refused by the relay's default policy.
    let mut sim = allocated_sim(Framing::Datagram);
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    sim.client.create_permission(sim.now, lo);
    sim.pump();
    match sim.take_events().as_slice() {
        [TurnEvent::PermissionFailed {
            peer, code: 403, ..
        }] => assert_eq!(*peer, lo),
        other => panic!("{other:?}"),
    }
    assert!(!sim.client.has_permission(lo));
    // Refused once, not asked again on every send.
    assert_eq!(
        sim.client.send_to(sim.now, SocketAddr::new(lo, 9), b"x"),
        Err(TurnError::PermissionRefused(lo))
    );
    sim.client.create_permission(sim.now, lo);
    sim.pump();
    assert_eq!(sim.requests(Method::CREATE_PERMISSION).len(), 1);

    // 486: the user's allocation quota is one.
    let cfg = TurnConfig {
        quotas: Quotas {
            per_user: 1,
            total: 10,
            permissions_per_allocation: 1,
        },
        ..server_config()
    };
    let mut sim = Sim::new(Framing::Datagram, "pw", cfg);
    sim.pump();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut second = TurnClient::new(client_config(Framing::Datagram, "pw"), &mut rng, sim.now);
    let cid2 = client_id(Framing::Datagram, 40001);
    for _ in 0..4 {
        let mut out = Vec::new();
        while let Some(m) = second.poll_transmit() {
            sim.server
                .handle_client(sim.now, cid2, &m, &mut sim.sockets, &mut out);
        }
        for o in out {
            if let Output::ToClient { data, .. } = o {
                second.handle_input(sim.now, &data);
            }
        }
    }
    assert_eq!(second.state(), TurnState::Failed);
    assert!(matches!(
        second.poll_event(),
        Some(TurnEvent::Error { code: 486, .. })
    ));

    // 508: one permission per allocation, the second does not fit.
    sim.take_events();
    sim.client
        .create_permission(sim.now, "192.0.2.1".parse().unwrap());
    sim.client
        .create_permission(sim.now, "192.0.2.2".parse().unwrap());
    sim.pump();
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::PermissionFailed { code: 508, .. }]
    ));

    // 508 on Allocate: the relay has no port to give.
    let mut sim = Sim::new(Framing::Stream, "pw", server_config());
    sim.sockets.fail = true;
    sim.pump();
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::Error { code: 508, .. }]
    ));
}

#[test]
fn allocation_lost_when_refresh_fails() {
    let mut sim = allocated_sim(Framing::Stream);
    let mut out = Vec::new();
    sim.server.client_closed(sim.cid, &mut out);
    sim.run_until(sim.at(540_000));
    assert_eq!(sim.error_codes().last(), Some(&437));
    assert_eq!(sim.client.state(), TurnState::Failed);
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::AllocationLost { .. }]
    ));
    assert_eq!(sim.client.poll_timeout(), None);
}

/// A new transport session (new 5-tuple). A relay core that answers MOBILITY-TICKET (RFC 8016;
/// the relay-proto branch) moves the allocation to it; one that ignores the comprehension-optional
/// attribute (this branch's relay) leaves the client to report the allocation lost.
#[test]
fn new_session_resumes_with_a_ticket_or_reports_allocation_lost() {
    let mut sim = Sim::new(Framing::Stream, "pw", server_config());
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let cfg = TurnClientConfig {
        request_mobility: true,
        ..client_config(Framing::Stream, "pw")
    };
    sim.client = TurnClient::new(cfg, &mut rng, sim.now);
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Allocated);
    let allocs = sim.requests(Method::ALLOCATE);
    assert_eq!(
        allocs[1].1.attribute(polyrtc_stun::MOBILITY_TICKET),
        Some(&[][..])
    );
    sim.client.send_to(sim.now, peer(), b"one").unwrap();
    sim.pump();
    let relayed = sim.client.relayed_address().unwrap();
    sim.take_events();

    let ticket = sim.client.has_mobility_ticket();
    sim.client.transport_lost(sim.now);
    assert_eq!(sim.client.state(), TurnState::Reconnecting);
    sim.run_until(sim.at(5_000));
    sim.cid = client_id(Framing::Stream, 40002);
    sim.client.transport_reconnected(sim.now);
    sim.pump();
    if !ticket {
        assert_eq!(sim.client.state(), TurnState::Failed);
        assert!(matches!(
            sim.take_events().as_slice(),
            [TurnEvent::AllocationLost { .. }]
        ));
        return;
    }
    assert_eq!(sim.client.state(), TurnState::Allocated);
    assert_eq!(sim.take_events(), vec![TurnEvent::Resumed { relayed }]);
    assert_eq!(sim.client.channel(peer()), Some(0x4000));
    sim.client.send_to(sim.now, peer(), b"two").unwrap();
    sim.pump();
    assert_eq!(sim.to_peer.last().unwrap(), &(peer(), b"two".to_vec()));
    sim.peer_send(peer(), b"back");
    assert_eq!(
        sim.take_events(),
        vec![TurnEvent::Data {
            from: peer(),
            data: b"back".to_vec()
        }]
    );
}

#[test]
fn close_deletes_the_allocation() {
    let mut sim = allocated_sim(Framing::Datagram);
    sim.client.close(sim.now);
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Closed);
    assert_eq!(sim.server.allocations().len(), 0);
    let refresh = sim.requests(Method::REFRESH);
    assert_eq!(
        refresh[0].1.u32_attribute(polyrtc_stun::LIFETIME),
        Ok(Some(0))
    );
    assert_eq!(sim.client.poll_timeout(), None);
}

/// 30 simulated minutes of traffic both ways every second: every packet must arrive, and the
/// allocation, permission and channel must be refreshed on time, never more often than needed.
#[test]
fn thirty_minute_call_keeps_everything_alive() {
    for framing in [Framing::Stream, Framing::Datagram] {
        let mut sim = allocated_sim(framing);
        let (mut up, mut down) = (0usize, 0usize);
        for s in 0..1800u64 {
            sim.run_until(sim.at(s * 1000));
            let msg = format!("up {s}");
            sim.client.send_to(sim.now, peer(), msg.as_bytes()).unwrap();
            up += 1;
            sim.pump();
            sim.peer_send(peer(), format!("down {s}").as_bytes());
            down += 1;
        }
        sim.run_until(sim.at(1_800_000));
        let data: Vec<_> = sim
            .take_events()
            .into_iter()
            .filter(|e| !matches!(e, TurnEvent::Data { .. }))
            .collect();
        assert!(data.is_empty(), "{framing:?}: unexpected {data:?}");
        assert_eq!(sim.to_peer.len(), up, "{framing:?}");
        let received = sim
            .received
            .iter()
            .filter(|m| m[0] & 0xc0 == 0x40 || m[..2] == [0, 0x17])
            .count();
        assert_eq!(received, down, "{framing:?}");
        assert_eq!(sim.metrics.no_permission_dropped.load(Relaxed), 0);
        // Refresh at 540, 1080, 1620 s; permission at 0 then every 240 s up to 1680 s;
        // channel at 0 then 540, 1080, 1620 s.
        assert_eq!(sim.successes(Method::REFRESH), 3, "{framing:?}");
        assert_eq!(sim.successes(Method::CREATE_PERMISSION), 8, "{framing:?}");
        assert_eq!(sim.successes(Method::CHANNEL_BIND), 4, "{framing:?}");
        // The relay's 600 s nonces go stale: those requests are retried once each.
        let stale = sim.error_codes().iter().filter(|c| **c == 438).count();
        assert!(stale >= 2, "{framing:?}: {stale} stale nonces");
        assert_eq!(
            sim.error_codes().iter().filter(|c| **c != 438).count(),
            1,
            "only the first 401"
        );
        assert_eq!(sim.client.state(), TurnState::Allocated);
    }
}
