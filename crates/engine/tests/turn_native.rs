//! The TURN client over real loopback sockets against polyrtc-relay's tokio server started in
//! this process: UDP (datagram framing), TCP and WebSocket (stream framing), with a plain UDP
//! socket as the peer on the far side of the allocation.

mod relay_ws;
use futures_util::{SinkExt, StreamExt};
use polyrtc_engine::turn::{Framing, TurnClient, TurnClientConfig, TurnEvent, TurnState};
use polyrtc_relay::config::Config;
use polyrtc_relay::server::{self, RunningServer};
use polyrtc_stun::framing::stream_frame_len;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use relay_ws::ws_connect;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

const DEADLINE: Duration = Duration::from_secs(5);

enum Transport {
    Udp(UdpSocket, SocketAddr),
    /// The connection and the bytes read but not yet a whole message.
    Tcp(TcpStream, Vec<u8>),
    /// As the page does it: one binary frame carries every message queued at once.
    Ws(Box<WebSocketStream<TcpStream>>),
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Udp,
    Tcp,
    Ws,
}

/// The shell a browser page would be: moves bytes and time between sockets and the client.
struct Driver {
    client: TurnClient,
    transport: Transport,
    events: Vec<TurnEvent>,
    /// WebSocket frames sent that carried more than one message.
    batched_frames: usize,
}

impl Driver {
    async fn open(server: &RunningServer, kind: Kind, password: &str, mobility: bool) -> Driver {
        let (transport, framing) = match kind {
            Kind::Udp => (
                Transport::Udp(
                    UdpSocket::bind("127.0.0.1:0").await.unwrap(),
                    server.udp_addr.unwrap(),
                ),
                Framing::Datagram,
            ),
            Kind::Tcp => (
                Transport::Tcp(
                    TcpStream::connect(server.tcp_addr.unwrap()).await.unwrap(),
                    Vec::new(),
                ),
                Framing::Stream,
            ),
            Kind::Ws => (
                Transport::Ws(ws_connect(server.ws_addr.unwrap()).await),
                Framing::Stream,
            ),
        };
        let cfg = TurnClientConfig {
            username: "user".into(),
            password: password.into(),
            server_url: "turn:127.0.0.1".into(),
            framing,
            request_mobility: mobility,
            dont_fragment: false,
            max_lifetime: Duration::from_secs(600),
        };
        let client = TurnClient::new(cfg, &mut ChaCha20Rng::seed_from_u64(5), Instant::now());
        Driver {
            client,
            transport,
            events: vec![],
            batched_frames: 0,
        }
    }

    async fn flush(&mut self) {
        let (mut frame, mut count) = (Vec::new(), 0);
        while let Some(m) = self.client.poll_transmit() {
            count += 1;
            match &mut self.transport {
                Transport::Udp(s, to) => {
                    s.send_to(&m, *to).await.unwrap();
                }
                Transport::Tcp(s, _) => s.write_all(&m).await.unwrap(),
                Transport::Ws(_) => frame.extend_from_slice(&m),
            }
        }
        if let (Transport::Ws(ws), false) = (&mut self.transport, frame.is_empty()) {
            ws.send(Ws::Binary(frame)).await.unwrap();
            self.batched_frames += usize::from(count > 1);
        }
    }

    /// Whole messages received, or `None` on timeout.
    async fn recv(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let read = async {
            match &mut self.transport {
                Transport::Udp(s, _) => {
                    let mut buf = vec![0u8; 65536];
                    let (n, _) = s.recv_from(&mut buf).await.unwrap();
                    buf.truncate(n);
                    buf
                }
                Transport::Tcp(s, pending) => loop {
                    // Hand over every whole message read so far, as one stream frame.
                    let mut whole = 0;
                    while let Ok(Some(n)) = stream_frame_len(&pending[whole..]) {
                        whole += n;
                    }
                    if whole > 0 {
                        return pending.drain(..whole).collect();
                    }
                    let mut tmp = [0u8; 4096];
                    let n = s.read(&mut tmp).await.unwrap();
                    assert!(n > 0, "relay closed the connection");
                    pending.extend_from_slice(&tmp[..n]);
                },
                Transport::Ws(ws) => loop {
                    match ws.next().await {
                        Some(Ok(Ws::Binary(frame))) => return frame,
                        Some(Ok(_)) => {}
                        other => panic!("WebSocket ended: {other:?}"),
                    }
                },
            }
        };
        tokio::time::timeout(wait, read).await.ok()
    }

    /// Drive the client until `done` holds.
    async fn run_until(&mut self, mut done: impl FnMut(&mut Driver) -> bool) {
        let give_up = Instant::now() + DEADLINE;
        loop {
            self.flush().await;
            while let Some(e) = self.client.poll_event() {
                self.events.push(e);
            }
            if done(self) {
                return;
            }
            let now = Instant::now();
            assert!(now < give_up, "gave up waiting; events {:?}", self.events);
            let timer = self.client.poll_timeout().unwrap_or(give_up).min(give_up);
            match self.recv(timer.saturating_duration_since(now)).await {
                Some(bytes) => self.client.handle_input(Instant::now(), &bytes),
                None => self.client.handle_timeout(Instant::now()),
            }
        }
    }

    fn take_data(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut data = vec![];
        self.events.retain(|e| match e {
            TurnEvent::Data { from, data: d } => {
                data.push((*from, d.clone()));
                false
            }
            _ => true,
        });
        data
    }
}

async fn peer_recv(peer: &UdpSocket) -> (SocketAddr, Vec<u8>) {
    let mut buf = vec![0u8; 2048];
    let (n, from) = tokio::time::timeout(DEADLINE, peer.recv_from(&mut buf))
        .await
        .expect("peer receives in time")
        .unwrap();
    buf.truncate(n);
    (from, buf)
}

async fn exchange(server: &RunningServer, kind: Kind) {
    let mut d = Driver::open(server, kind, "pass", false).await;
    d.run_until(|d| d.client.state() != TurnState::Allocating)
        .await;
    let relayed = match d.events.first() {
        Some(TurnEvent::Allocated {
            relayed,
            mapped: Some(mapped),
            ..
        }) => {
            assert!(mapped.ip().is_loopback());
            *relayed
        }
        other => panic!("{kind:?}: {other:?}"),
    };
    assert_eq!(server.allocation_count(), 1);
    d.events.clear();

    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    d.client.create_permission(Instant::now(), peer_addr.ip());
    d.run_until(|d| d.client.has_permission(peer_addr.ip()))
        .await;

    // Peer → client before any channel: a Data indication.
    peer.send_to(b"hello client", relayed).await.unwrap();
    d.run_until(|d| d.events.iter().any(|e| matches!(e, TurnEvent::Data { .. })))
        .await;
    assert_eq!(d.take_data(), vec![(peer_addr, b"hello client".to_vec())]);

    // Client → peer: a Send indication, and a ChannelBind on the way.
    d.client
        .send_to(Instant::now(), peer_addr, b"hello peer")
        .unwrap();
    d.flush().await;
    assert_eq!(peer_recv(&peer).await, (relayed, b"hello peer".to_vec()));
    d.run_until(|d| d.client.channel(peer_addr).is_some()).await;

    // Both ways over the channel.
    for i in 0..20u8 {
        d.client
            .send_to(Instant::now(), peer_addr, &[i; 101])
            .unwrap();
        d.flush().await;
        assert_eq!(peer_recv(&peer).await, (relayed, vec![i; 101]));
        peer.send_to(&[i; 33], relayed).await.unwrap();
        d.run_until(|d| d.events.iter().any(|e| matches!(e, TurnEvent::Data { .. })))
            .await;
        assert_eq!(d.take_data(), vec![(peer_addr, vec![i; 33])]);
    }
    assert!(d.events.is_empty(), "{:?}", d.events);
    if matches!(kind, Kind::Ws) {
        // The Send indication and its ChannelBind left in one frame; the relay split them.
        assert!(d.batched_frames >= 1);
    }

    d.client.close(Instant::now());
    d.flush().await;
    let give_up = Instant::now() + DEADLINE;
    while server.allocation_count() > 0 {
        assert!(Instant::now() < give_up, "allocation not deleted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocate_permission_and_data_over_udp_tcp_and_websocket() {
    let server = server::start(Config::for_tests()).await.unwrap();
    exchange(&server, Kind::Udp).await;
    exchange(&server, Kind::Tcp).await;
    exchange(&server, Kind::Ws).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unreachable_server_are_reported() {
    let server = server::start(Config::for_tests()).await.unwrap();
    let mut d = Driver::open(&server, Kind::Ws, "nope", false).await;
    d.run_until(|d| d.client.state() == TurnState::Failed).await;
    assert!(matches!(
        d.events.as_slice(),
        [TurnEvent::Error { code: 401, .. }]
    ));
    server.shutdown().await;

    // Nobody listens on this UDP port: the first retransmissions go unanswered.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let cfg = TurnClientConfig {
        username: "user".into(),
        password: "pass".into(),
        server_url: "turn:127.0.0.1".into(),
        framing: Framing::Datagram,
        request_mobility: false,
        dont_fragment: false,
        max_lifetime: Duration::from_secs(600),
    };
    let start = Instant::now();
    let mut c = TurnClient::new(cfg, &mut ChaCha20Rng::seed_from_u64(6), start);
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = silent.local_addr().unwrap();
    let mut got = 0;
    while got < 3 {
        while let Some(m) = c.poll_transmit() {
            sock.send_to(&m, to).await.unwrap();
        }
        let mut buf = [0u8; 1500];
        if let Ok(r) =
            tokio::time::timeout(Duration::from_millis(50), silent.recv_from(&mut buf)).await
        {
            r.unwrap();
            got += 1;
        }
        if let Some(t) = c.poll_timeout() {
            if t <= Instant::now() {
                c.handle_timeout(Instant::now());
            }
        }
    }
    // Sends at 0, 0.5 and 1.5 s (RFC 8489 §6.2.1).
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    assert!(waited < Duration::from_millis(3000), "{waited:?}");
    assert_eq!(c.state(), TurnState::Allocating);
}

/// The WebSocket session drops and a new one opens. A relay that gave a MOBILITY-TICKET keeps the
/// allocation for it (RFC 8016): same relayed address, channel still usable. A relay without
/// mobility support frees the allocation with the session, which the client reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_session_loss_resumes_or_reports_loss() {
    let server = server::start(Config::for_tests()).await.unwrap();
    let mut d = Driver::open(&server, Kind::Ws, "pass", true).await;
    d.run_until(|d| d.client.state() == TurnState::Allocated)
        .await;
    let relayed = d.client.relayed_address().unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    d.client.send_to(Instant::now(), peer_addr, b"one").unwrap();
    d.run_until(|d| d.client.channel(peer_addr).is_some()).await;
    assert_eq!(peer_recv(&peer).await, (relayed, b"one".to_vec()));
    d.events.clear();

    let ticket = d.client.has_mobility_ticket();
    d.client.transport_lost(Instant::now());
    d.transport = Transport::Ws(ws_connect(server.ws_addr.unwrap()).await);
    d.client.transport_reconnected(Instant::now());
    if !ticket {
        assert_eq!(d.client.state(), TurnState::Failed);
        assert!(matches!(
            d.client.poll_event(),
            Some(TurnEvent::AllocationLost { .. })
        ));
        eprintln!("relay gave no MOBILITY-TICKET: allocation lost as expected");
        return server.shutdown().await;
    }
    d.run_until(|d| d.client.state() != TurnState::Reconnecting)
        .await;
    assert_eq!(d.events, vec![TurnEvent::Resumed { relayed }]);
    d.events.clear();
    // Permission and channel refreshed on the new session, then data both ways.
    d.run_until(|d| {
        d.client
            .poll_timeout()
            .is_some_and(|t| t > Instant::now() + Duration::from_secs(100))
    })
    .await;
    d.client.send_to(Instant::now(), peer_addr, b"two").unwrap();
    d.flush().await;
    assert_eq!(peer_recv(&peer).await, (relayed, b"two".to_vec()));
    peer.send_to(b"back", relayed).await.unwrap();
    d.run_until(|d| !d.events.is_empty()).await;
    assert_eq!(d.take_data(), vec![(peer_addr, b"back".to_vec())]);
    assert_eq!(server.allocation_count(), 1);
    eprintln!("relay gave a MOBILITY-TICKET: allocation resumed on the new session");
    server.shutdown().await;
}
