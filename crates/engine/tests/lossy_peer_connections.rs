//! Two engine `PeerConnection`s, each a TURN client of the relay's own sans-IO core over a
//! simulated WebSocket (5 ms each way), with the relay's test impairment dropping 5%, holding
//! back 5% and duplicating 1% of relayed datagrams. Everything above the relay is the real
//! engine: ICE through the allocations, DTLS on the selected pair, SCTP, DCEP. Simulated time,
//! fixed seeds: deterministic. 2 MB each way must arrive complete and in order, and a channel
//! closed on one side closes on the other.

#[path = "turn_sim_harness.rs"]
mod harness;

use harness::{client_id, server_config, FakeSockets};
use polyrtc_engine::turn::Framing;
use polyrtc_engine::*;
use polyrtc_relay::allocation::ClientId;
use polyrtc_relay::auth::{Authenticator, Credentials, NonceIssuer};
use polyrtc_relay::metrics::Metrics;
use polyrtc_relay::turn::{Impairment, Output, TurnServer};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WALL_MS: f64 = 1_764_000_000_000.0;
/// One way between a page and the relay.
const LATENCY: Duration = Duration::from_millis(5);
/// The relay shell's timer runs once a second; a shorter tick here releases held datagrams
/// sooner, as other traffic does in the real relay.
const SERVER_TICK: Duration = Duration::from_millis(20);
const CHUNK: usize = 16 * 1024;
/// Bytes each way in the default test.
const TOTAL: usize = 2 * 1024 * 1024;
/// Most bytes a sender leaves buffered before waiting for `bufferedamount` events.
const HIGH_WATER: u64 = 512 * 1024;

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Hop {
    /// Stream bytes from peer connection `pc`'s relay session to the server.
    ToServer {
        pc: usize,
        relay: RelayId,
        bytes: Vec<u8>,
    },
    /// Messages from the server to `pc`'s relay session.
    ToClient {
        pc: usize,
        relay: RelayId,
        bytes: Vec<u8>,
    },
}

struct Peer {
    pc: PeerConnection,
    channel: Option<DataChannelHandle>,
    open: bool,
    closed: bool,
    buffered: u64,
    sent_chunks: usize,
    received: Vec<Vec<u8>>,
    candidates: Vec<IceCandidateInit>,
}

struct Sim {
    now: Instant,
    server: TurnServer,
    sockets: FakeSockets,
    metrics: Arc<Metrics>,
    peers: [Peer; 2],
    /// (pc, relay id) ↔ the server's client id of that session.
    sessions: HashMap<(usize, RelayId), ClientId>,
    by_client: HashMap<ClientId, (usize, RelayId)>,
    queue: BinaryHeap<Reverse<(Instant, u64, Hop)>>,
    seq: u64,
    next_tick: Instant,
    /// How often the relay core's timer runs (releases held-back datagrams).
    server_tick: Duration,
    /// Bytes each side sends.
    total: usize,
    /// `POLYRTC_SIM_TRACE` set: progress every 5 s of simulated time on stderr.
    trace: Option<Instant>,
    start: Instant,
}

fn chunk(seq: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHUNK);
    out.extend_from_slice(&(seq as u32).to_be_bytes());
    let mut x = (seq as u32).wrapping_mul(2_654_435_761) | 1;
    while out.len() < CHUNK {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(x as u8);
    }
    out
}

fn configuration() -> Configuration {
    Configuration {
        ice_servers: vec![IceServer {
            urls: Urls::One("ws://relay.test/turn".into()),
            username: Some("alice".into()),
            credential: Some("pw".into()),
        }],
        ..Default::default()
    }
}

impl Sim {
    fn new(impairment: Impairment, total: usize, server_tick: Duration) -> Sim {
        let now = Instant::now();
        let cfg = polyrtc_relay::turn::TurnConfig {
            test_impairment: Some(impairment),
            ..server_config()
        };
        let auth = Authenticator {
            realm: cfg.realm.clone(),
            credentials: Credentials::new(&cfg.realm, &[("alice".into(), "pw".into())], vec![]),
            nonces: NonceIssuer::new([7; 32], cfg.nonce_lifetime.as_secs()),
        };
        let metrics = Arc::new(Metrics::default());
        let server = TurnServer::new(cfg, auth, metrics.clone(), now, 1_700_000_000);
        let peer = |seed: u8| Peer {
            pc: PeerConnection::new(configuration(), [seed; 32], now, WALL_MS).unwrap(),
            channel: None,
            open: false,
            closed: false,
            buffered: 0,
            sent_chunks: 0,
            received: Vec::new(),
            candidates: Vec::new(),
        };
        Sim {
            now,
            server,
            sockets: FakeSockets {
                next: 50000,
                fail: false,
                dont_fragment: Vec::new(),
            },
            metrics,
            peers: [peer(1), peer(2)],
            sessions: HashMap::new(),
            by_client: HashMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            next_tick: now,
            server_tick,
            total,
            trace: std::env::var_os("POLYRTC_SIM_TRACE").map(|_| now),
            start: now,
        }
    }

    fn call(&mut self, pc: usize, call: ApiCall) -> ApiReply {
        self.peers[pc]
            .pc
            .handle_api_call(call, self.now, WALL_MS)
            .expect("API call succeeds")
    }

    fn schedule(&mut self, hop: Hop) {
        self.seq += 1;
        self.queue
            .push(Reverse((self.now + LATENCY, self.seq, hop)));
    }

    /// Drains both engines: relay commands and bytes, events.
    fn drain(&mut self) {
        for pc in 0..2 {
            while let Some(command) = self.peers[pc].pc.poll_relay_command() {
                if let RelayCommand::Connect { relay, .. } = command {
                    let port = 40000 + (pc as u16) * 100 + relay as u16;
                    let cid = client_id(Framing::Stream, port);
                    self.sessions.insert((pc, relay), cid);
                    self.by_client.insert(cid, (pc, relay));
                    self.peers[pc].pc.handle_relay_state(
                        self.now,
                        relay,
                        RelayTransportState::Open,
                    );
                }
            }
            while let Some((relay, bytes)) = self.peers[pc].pc.poll_relay_transmit() {
                self.schedule(Hop::ToServer { pc, relay, bytes });
            }
            while let Some(event) = self.peers[pc].pc.poll_event() {
                self.on_event(pc, event);
            }
        }
        // Trickle: candidates go to the other side once it has a remote description.
        for pc in 0..2 {
            let list = std::mem::take(&mut self.peers[pc].candidates);
            for candidate in list {
                self.call(
                    1 - pc,
                    ApiCall::AddIceCandidate {
                        candidate: Some(candidate),
                    },
                );
            }
        }
    }

    fn on_event(&mut self, pc: usize, event: Event) {
        let peer = &mut self.peers[pc];
        match event {
            Event::IceCandidate { candidate: Some(c) } => peer.candidates.push(IceCandidateInit {
                candidate: c.candidate,
                sdp_mid: c.sdp_mid,
                sdp_m_line_index: c.sdp_m_line_index,
                username_fragment: c.username_fragment,
            }),
            Event::DataChannel { channel } => peer.channel = Some(channel.handle),
            Event::DataChannelStateChange { state, .. } => match state {
                DataChannelState::Open => peer.open = true,
                DataChannelState::Closed => peer.closed = true,
                _ => {}
            },
            Event::DataChannelMessage { data, .. } => peer.received.push(data),
            Event::BufferedAmount { amount, .. } => peer.buffered = amount as u64,
            _ => {}
        }
    }

    fn deliver(&mut self, hop: Hop) {
        match hop {
            Hop::ToServer { pc, relay, bytes } => {
                let Some(&cid) = self.sessions.get(&(pc, relay)) else {
                    return;
                };
                let mut out = Vec::new();
                for message in polyrtc_stun::framing::split_frames(&bytes) {
                    let message = message.expect("the engine frames its stream correctly");
                    self.server
                        .handle_client(self.now, cid, message, &mut self.sockets, &mut out);
                }
                self.route(out);
            }
            Hop::ToClient { pc, relay, bytes } => {
                self.peers[pc]
                    .pc
                    .handle_relay_input(self.now, relay, &bytes);
            }
        }
    }

    fn route(&mut self, out: Vec<Output>) {
        for o in out {
            match o {
                Output::ToClient { client, data } => {
                    if let Some(&(pc, relay)) = self.by_client.get(&client) {
                        self.schedule(Hop::ToClient {
                            pc,
                            relay,
                            bytes: data,
                        });
                    }
                }
                // Both allocations are on this relay: the core delivers between them itself.
                Output::ToPeer { peer, .. } => panic!("datagram to a foreign peer {peer}"),
                Output::CloseRelay { .. } => {}
            }
        }
    }

    /// Sends chunks while the buffer is under the high-water mark.
    fn pump_bulk(&mut self) {
        for pc in 0..2 {
            let peer = &self.peers[pc];
            let (Some(channel), true) = (peer.channel, peer.open) else {
                continue;
            };
            let mut sent = peer.sent_chunks;
            let mut buffered = peer.buffered;
            while sent * CHUNK < self.total && buffered < HIGH_WATER {
                self.call(
                    pc,
                    ApiCall::SendDataChannelMessage {
                        channel,
                        data: chunk(sent),
                        binary: true,
                    },
                );
                sent += 1;
                buffered += CHUNK as u64;
            }
            self.peers[pc].sent_chunks = sent;
            self.peers[pc].buffered = buffered;
        }
    }

    /// Advances simulated time until `done` or `limit`; returns whether `done` held.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Sim) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            self.drain();
            self.pump_bulk();
            self.drain();
            if done(self) {
                return true;
            }
            if self.now > deadline {
                return false;
            }
            self.trace_progress();
            let next = [
                self.queue.peek().map(|Reverse((at, ..))| *at),
                self.peers[0].pc.poll_timeout(),
                self.peers[1].pc.poll_timeout(),
                Some(self.next_tick),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(deadline);
            self.now = self.now.max(next);
            while self
                .queue
                .peek()
                .is_some_and(|Reverse((at, ..))| *at <= self.now)
            {
                let Some(Reverse((_, _, hop))) = self.queue.pop() else {
                    break;
                };
                self.deliver(hop);
            }
            let now = self.now;
            for peer in &mut self.peers {
                if peer.pc.poll_timeout().is_some_and(|t| t <= now) {
                    peer.pc.handle_timeout(now);
                }
            }
            if self.next_tick <= self.now {
                let mut out = Vec::new();
                self.server.handle_timeout(self.now, &mut out);
                self.route(out);
                self.next_tick = self.now + self.server_tick;
            }
        }
    }

    fn trace_progress(&mut self) {
        let Some(at) = self.trace.filter(|at| *at <= self.now) else {
            return;
        };
        self.trace = Some(at + Duration::from_secs(5));
        let [a, b] = &self.peers;
        eprintln!(
            "t+{:?}: received {} / {} chunks, sent {} / {}, buffered {} / {}",
            self.now - self.start,
            a.received.len(),
            b.received.len(),
            a.sent_chunks,
            b.sent_chunks,
            a.buffered,
            b.buffered
        );
    }

    fn connect(&mut self) {
        let reply = self.call(
            0,
            ApiCall::CreateDataChannel {
                label: "bulk".into(),
                // Derived Default has ordered false; the W3C default is true.
                init: DataChannelInit {
                    ordered: true,
                    ..DataChannelInit::default()
                },
            },
        );
        match reply {
            ApiReply::DataChannel { channel } => self.peers[0].channel = Some(channel.handle),
            r => panic!("unexpected {r:?}"),
        }
        let offer = match self.call(
            0,
            ApiCall::CreateOffer {
                options: OfferOptions::default(),
            },
        ) {
            ApiReply::Description { description } => description,
            r => panic!("unexpected {r:?}"),
        };
        self.set_local(0, &offer);
        self.call(1, ApiCall::SetRemoteDescription { description: offer });
        let answer = match self.call(1, ApiCall::CreateAnswer) {
            ApiReply::Description { description } => description,
            r => panic!("unexpected {r:?}"),
        };
        self.set_local(1, &answer);
        self.call(
            0,
            ApiCall::SetRemoteDescription {
                description: answer,
            },
        );
        let open = self.run_until(Duration::from_secs(30), |s| {
            s.peers[0].open && s.peers[1].open
        });
        assert!(
            open,
            "channel did not open: {:?} / {:?}",
            self.peers[0].pc.snapshot(),
            self.peers[1].pc.snapshot()
        );
    }

    fn set_local(&mut self, pc: usize, d: &SessionDescription) {
        self.call(
            pc,
            ApiCall::SetLocalDescription {
                description: LocalDescriptionInit {
                    sdp_type: Some(d.sdp_type),
                    sdp: d.sdp.clone(),
                },
            },
        );
    }
}

#[test]
fn two_megabytes_each_way_through_a_lossy_reordering_duplicating_relay() {
    let mut sim = Sim::new(
        Impairment {
            loss: 0.05,
            reorder: 0.05,
            duplicate: 0.01,
            seed: 11,
        },
        TOTAL,
        SERVER_TICK,
    );
    let start = sim.now;
    sim.connect();
    let connected = sim.now - start;
    let chunks = TOTAL / CHUNK;
    let done = sim.run_until(Duration::from_secs(120), |s| {
        s.peers.iter().all(|p| p.received.len() >= chunks)
    });
    let transfer = sim.now - start - connected;
    for (pc, peer) in sim.peers.iter().enumerate() {
        assert!(
            done,
            "pc {pc} got {} of {chunks} chunks",
            peer.received.len()
        );
        assert_eq!(peer.received.len(), chunks, "pc {pc}: no duplicate message");
        for (seq, data) in peer.received.iter().enumerate() {
            assert!(
                *data == chunk(seq),
                "pc {pc}: chunk {seq} out of order or corrupt"
            );
        }
    }
    let dropped = sim.metrics.test_impaired_dropped.load(Relaxed);
    let reordered = sim.metrics.test_impaired_reordered.load(Relaxed);
    let duplicated = sim.metrics.test_impaired_duplicated.load(Relaxed);
    eprintln!(
        "connected in {connected:?}, 2 MB each way in {transfer:?} simulated; relay dropped \
         {dropped}, held back {reordered}, duplicated {duplicated} datagrams"
    );
    // 4 MB in ~1,100-byte datagrams is ~3,800 datagrams plus acknowledgements.
    assert!(dropped > 100 && reordered > 100 && duplicated > 10);

    // Closing the channel on one side reaches the other through the same bad network.
    let channel = sim.peers[0].channel.unwrap();
    sim.call(0, ApiCall::CloseDataChannel { channel });
    let closed = sim.run_until(Duration::from_secs(30), |s| {
        s.peers[0].closed && s.peers[1].closed
    });
    assert!(closed, "the close did not reach both sides");
}

/// Heavy loss, run with `--ignored` (about 27 s of wall time on the loaded 2-core box, too long
/// for the default run): 15% loss with the real relay's 1 s timer. Before the vendored
/// rtc-sctp fixes (vendor/rtc-sctp/POLYRTC.md) one direction crawled to a halt (16 of 640
/// chunks after 120 s simulated, the other ~100): with cwnd at one MTU after each T3-rtx, a
/// lost SACK or retransmission waited for the next T3-rtx, whose RTO (min 1 s) doubled up to
/// 60 s, and after five in a row rtc-sctp stopped the timer altogether. With Chromium's timer
/// values (RTO min 400 ms, backoff capped at 3 s, no retransmission limit), T3-rtx ending fast
/// recovery and duplicates acknowledged at once, 10 MB each way took 385 s simulated; with
/// retransmitted chunks fast-retransmitted again as well, 217 s (the 2 MB test: 13.4 s, 8.5 s).
#[test]
#[ignore = "slow: ~27 s of wall time"]
fn ten_megabytes_each_way_through_fifteen_percent_loss() {
    let total = 10 * 1024 * 1024;
    let mut sim = Sim::new(
        Impairment {
            loss: 0.15,
            reorder: 0.05,
            duplicate: 0.01,
            seed: 11,
        },
        total,
        Duration::from_secs(1),
    );
    let start = sim.now;
    sim.connect();
    let chunks = total / CHUNK;
    let done = sim.run_until(Duration::from_secs(600), |s| {
        s.peers.iter().all(|p| p.received.len() >= chunks)
    });
    let got: Vec<usize> = sim.peers.iter().map(|p| p.received.len()).collect();
    assert!(done, "received {got:?} of {chunks} chunks each way");
    eprintln!("10 MB each way in {:?} simulated", sim.now - start);
}
