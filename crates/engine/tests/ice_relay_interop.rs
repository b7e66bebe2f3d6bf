//! The engine's ICE through polyrtc-relay, over real loopback sockets, against a third-party
//! agent: our side is what a page runs — a TURN allocation over WebSocket (stream framing) and
//! an ICE agent whose only local candidate is the relayed address; the far side is str0m's
//! agent (the `is` crate) on a plain loopback UDP socket with a host candidate. Both roles.
//! After selection, application datagrams cross the relay both ways, and consent freshness
//! (RFC 7675) keeps the pair alive past its first check.

mod relay_ws;
use futures_util::{SinkExt, StreamExt};
use polyrtc_engine::ice::{
    CandidateKind, IceAgent, IceCredentials, IceEvent, LocalCandidate, RelayProtocol,
    RemoteCandidate,
};
use polyrtc_engine::turn::{Framing, TurnClient, TurnClientConfig, TurnEvent, TurnState};
use polyrtc_engine::IceConnectionState;
use polyrtc_relay::config::Config;
use polyrtc_relay::server::{self, RunningServer};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use relay_ws::ws_connect;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

const APP_DATAGRAMS: usize = 5;
/// Connecting through a loopback relay takes well under a second; this bounds a broken run.
const CONNECT_DEADLINE: Duration = Duration::from_secs(5);
/// Our first consent check goes 4–6 s after selection (RFC 7675 §5.1, ±20 % jitter).
const CONSENT_DEADLINE: Duration = Duration::from_secs(8);
/// Poll granularity of the loop between socket reads.
const TICK: Duration = Duration::from_millis(2);

/// What the page runs: TURN client over a WebSocket, ICE agent on the relayed address.
struct Ours {
    turn: TurnClient,
    ws: Box<WebSocketStream<TcpStream>>,
    agent: Option<IceAgent>,
    relayed: Option<SocketAddr>,
    selected: Option<(SocketAddr, SocketAddr)>,
    got: Vec<Vec<u8>>,
}

/// str0m's agent on a plain loopback UDP socket.
struct Theirs {
    sock: UdpSocket,
    addr: SocketAddr,
    agent: is::IceAgent,
    nominated: Option<(SocketAddr, SocketAddr)>,
    connected: bool,
    /// STUN requests str0m received after it connected: its view of consent traffic.
    requests_after_connect: usize,
    got: Vec<Vec<u8>>,
}

impl Ours {
    async fn open(server: &RunningServer) -> Ours {
        let cfg = TurnClientConfig {
            username: "user".into(),
            password: "pass".into(),
            server_url: "turns:127.0.0.1?transport=tcp".into(),
            framing: Framing::Stream,
            request_mobility: false,
            dont_fragment: false,
            max_lifetime: Duration::from_secs(600),
        };
        let turn = TurnClient::new(cfg, &mut ChaCha20Rng::seed_from_u64(7), Instant::now());
        Ours {
            turn,
            ws: ws_connect(server.ws_addr.unwrap()).await,
            agent: None,
            relayed: None,
            selected: None,
            got: vec![],
        }
    }

    /// Timers, ICE transmits relayed through TURN, and TURN's messages in one WebSocket frame.
    async fn drive(&mut self, now: Instant) {
        if self.turn.poll_timeout().is_some_and(|t| t <= now) {
            self.turn.handle_timeout(now);
        }
        if let (Some(agent), Some(relayed)) = (self.agent.as_mut(), self.relayed) {
            if agent.poll_timeout().is_some_and(|t| t <= now) {
                agent.handle_timeout(now);
            }
            while let Some(t) = agent.poll_transmit() {
                assert_eq!(t.from, relayed, "every check leaves from the relayed base");
                self.turn.send_to(now, t.to, &t.data).unwrap();
            }
            while let Some(e) = agent.poll_event() {
                if let IceEvent::SelectedPair { local, remote } = e {
                    self.selected = Some((local, remote));
                }
            }
        }
        let mut frame = Vec::new();
        while let Some(m) = self.turn.poll_transmit() {
            frame.extend_from_slice(&m);
        }
        if !frame.is_empty() {
            self.ws.send(Ws::Binary(frame)).await.unwrap();
        }
        while let Some(e) = self.turn.poll_event() {
            self.on_turn_event(now, e);
        }
    }

    fn on_turn_event(&mut self, now: Instant, e: TurnEvent) {
        match e {
            TurnEvent::Allocated { relayed, .. } => self.relayed = Some(relayed),
            TurnEvent::Data { from, data } => {
                let (Some(agent), Some(relayed)) = (self.agent.as_mut(), self.relayed) else {
                    panic!("data before the agent exists");
                };
                if !agent.handle_packet(now, relayed, from, &data) {
                    agent.note_data_received(relayed, from, data.len(), now);
                    self.got.push(data);
                }
            }
            other => panic!("unexpected TURN event {other:?}"),
        }
    }

    fn input(&mut self, frame: Vec<u8>) {
        self.turn.handle_input(Instant::now(), &frame);
    }
}

impl Theirs {
    async fn drive(&mut self, now: Instant) {
        // str0m's agent wants a first handle_timeout before its poll_timeout says anything.
        if self.agent.poll_timeout().is_none_or(|t| t <= now) {
            self.agent.handle_timeout(now);
        }
        while let Some(t) = self.agent.poll_transmit() {
            self.sock.send_to(&t.contents, t.destination).await.unwrap();
        }
        while let Some(e) = self.agent.poll_event() {
            match e {
                is::IceAgentEvent::NominatedSend {
                    source,
                    destination,
                    ..
                } => self.nominated = Some((source, destination)),
                is::IceAgentEvent::IceConnectionStateChange(s) => self.connected = s.is_connected(),
                _ => {}
            }
        }
    }

    fn input(&mut self, from: SocketAddr, data: &[u8]) {
        match is::stun::StunMessage::parse(data) {
            Ok(message) => {
                if self.connected && message.is_binding_request() {
                    self.requests_after_connect += 1;
                }
                let packet = is::stun::StunPacket {
                    proto: is::Protocol::Udp,
                    source: from,
                    destination: self.addr,
                    message,
                };
                self.agent.handle_packet(Instant::now(), packet);
            }
            Err(_) => self.got.push(data.to_vec()),
        }
    }
}

struct Rig {
    ours: Ours,
    theirs: Theirs,
}

impl Rig {
    /// One round: drive both, then wait up to a tick for a WebSocket frame or a datagram.
    async fn step(&mut self) {
        let now = Instant::now();
        self.ours.drive(now).await;
        self.theirs.drive(now).await;
        let mut buf = vec![0u8; 2048];
        tokio::select! {
            frame = self.ours.ws.next() => match frame {
                Some(Ok(Ws::Binary(f))) => self.ours.input(f),
                Some(Ok(_)) => {}
                other => panic!("WebSocket ended: {other:?}"),
            },
            r = self.theirs.sock.recv_from(&mut buf) => {
                let (n, from) = r.unwrap();
                self.theirs.input(from, &buf[..n]);
            }
            _ = tokio::time::sleep(TICK) => {}
        }
    }

    async fn until(&mut self, what: &str, limit: Duration, mut done: impl FnMut(&Rig) -> bool) {
        let give_up = Instant::now() + limit;
        while !done(self) {
            assert!(Instant::now() < give_up, "timed out waiting for {what}");
            self.step().await;
        }
    }
}

/// Allocate, then set both agents up with each other's credentials and candidates.
async fn rig(server: &RunningServer, ours_controlling: bool) -> Rig {
    let mut ours = Ours::open(server).await;
    let give_up = Instant::now() + CONNECT_DEADLINE;
    while ours.turn.state() == TurnState::Allocating {
        assert!(Instant::now() < give_up, "allocation timed out");
        ours.drive(Instant::now()).await;
        if let Ok(Some(Ok(Ws::Binary(f)))) = tokio::time::timeout(TICK, ours.ws.next()).await {
            ours.input(f);
        }
    }
    ours.drive(Instant::now()).await;
    let relayed = ours.relayed.expect("allocated");
    assert!(relayed.ip().is_loopback(), "{relayed}");

    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let our_creds = IceCredentials {
        ufrag: "ours".into(),
        pwd: "our-password-0123456789ab".into(),
    };
    let their_creds = is::IceCreds {
        ufrag: "thrs".into(),
        pass: "their-password-0123456789".into(),
    };
    let mut agent = IceAgent::new(
        our_creds.clone(),
        ours_controlling,
        0x0fed_cba9_8765_4321,
        Instant::now(),
    );
    let server_ip = server.ws_addr.unwrap().ip();
    agent.add_local_candidate(LocalCandidate::relayed(
        relayed,
        server_ip,
        RelayProtocol::Tcp,
        65535,
    ));
    agent.set_remote_credentials(IceCredentials {
        ufrag: their_creds.ufrag.clone(),
        pwd: their_creds.pass.clone(),
    });

    let mut theirs = is::IceAgent::new(their_creds);
    theirs.set_controlling(!ours_controlling);
    let host = is::Candidate::host(addr, "udp").unwrap();
    let their_prio = theirs.add_local_candidate(host).unwrap().prio();
    theirs.set_remote_credentials(is::IceCreds {
        ufrag: our_creds.ufrag.clone(),
        pass: our_creds.pwd.clone(),
    });
    let mut our_cand = is::Candidate::relayed(relayed, relayed, "udp").unwrap();
    our_cand.set_ufrag(&our_creds.ufrag);
    theirs.add_remote_candidate(our_cand);

    agent
        .add_remote_candidate(RemoteCandidate::new(
            addr,
            CandidateKind::Host,
            their_prio,
            "1",
        ))
        .unwrap();
    // As the shell does on a remote candidate: ask for the permission up front so str0m's
    // first checks are not dropped by the relay (RFC 8656 §9).
    ours.turn.create_permission(Instant::now(), addr.ip());
    ours.agent = Some(agent);
    Rig {
        ours,
        theirs: Theirs {
            sock,
            addr,
            agent: theirs,
            nominated: None,
            connected: false,
            requests_after_connect: 0,
            got: vec![],
        },
    }
}

fn agent(rig: &Rig) -> &IceAgent {
    rig.ours.agent.as_ref().expect("agent set up")
}

async fn run(ours_controlling: bool) {
    let server = server::start(Config::for_tests()).await.unwrap();
    let mut rig = rig(&server, ours_controlling).await;
    let start = Instant::now();
    rig.until("both sides connected", CONNECT_DEADLINE, |r| {
        r.ours.selected.is_some()
            && agent(r).state() == IceConnectionState::Connected
            && r.theirs.nominated.is_some()
            && r.theirs.connected
    })
    .await;
    let connected_in = start.elapsed();
    let relayed = rig.ours.relayed.unwrap();
    let host = rig.theirs.addr;
    assert_eq!(rig.ours.selected, Some((relayed, host)));
    assert_eq!(rig.theirs.nominated, Some((host, relayed)));
    assert_ne!(agent(&rig).controlling(), rig.theirs.agent.controlling());
    assert_eq!(agent(&rig).controlling(), ours_controlling);

    // Application datagrams both ways through the relay: RTP-looking from us, DTLS-looking
    // from them (RFC 7983), so neither agent mistakes them for STUN.
    let now = Instant::now();
    for i in 0..APP_DATAGRAMS as u8 {
        let data = [0x80, i, b'o', b'u', b'r', b's'];
        rig.ours.turn.send_to(now, host, &data).unwrap();
        let ice = rig.ours.agent.as_mut().unwrap();
        ice.note_data_sent(relayed, host, data.len(), now);
        rig.theirs
            .sock
            .send_to(&[23, 254, 253, i], relayed)
            .await
            .unwrap();
    }
    rig.until("data both ways", CONNECT_DEADLINE, |r| {
        r.ours.got.len() == APP_DATAGRAMS && r.theirs.got.len() == APP_DATAGRAMS
    })
    .await;
    let expect_theirs: Vec<Vec<u8>> = (0..APP_DATAGRAMS as u8)
        .map(|i| vec![0x80, i, b'o', b'u', b'r', b's'])
        .collect();
    let expect_ours: Vec<Vec<u8>> = (0..APP_DATAGRAMS as u8)
        .map(|i| vec![23, 254, 253, i])
        .collect();
    assert_eq!(rig.theirs.got, expect_theirs);
    assert_eq!(rig.ours.got, expect_ours);

    // Consent: our first consent check after selection is answered by str0m through the
    // relay; meanwhile neither side leaves the connected state.
    let consented_at = Instant::now();
    rig.until("an answered consent check", CONSENT_DEADLINE, |r| {
        assert_eq!(agent(r).state(), IceConnectionState::Connected);
        assert!(r.theirs.connected, "str0m stays connected");
        agent(r)
            .last_consent_response()
            .is_some_and(|t| t > consented_at)
    })
    .await;
    let pair = agent(&rig)
        .pairs()
        .find(|p| p.local_base == relayed && p.remote == host)
        .expect("the selected pair");
    assert!(pair.consent_requests_sent >= 1, "{pair:?}");
    assert_eq!(pair.packets_sent, APP_DATAGRAMS as u64);
    assert_eq!(pair.packets_received, APP_DATAGRAMS as u64);
    assert!(
        rig.theirs.requests_after_connect >= 1,
        "str0m saw our consent check"
    );
    assert_eq!(rig.ours.selected, Some((relayed, host)), "pair unchanged");
    eprintln!(
        "ours controlling={ours_controlling}: connected in {connected_in:?}, consent after {:?}",
        consented_at.elapsed()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_controlling_through_relay_str0m_controlled() {
    run(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn str0m_controlling_ours_controlled_through_relay() {
    run(false).await;
}
