//! The whole engine against a WebRTC stack nobody here wrote, over real loopback sockets: our
//! `PeerConnection` (JSEP, ICE through polyrtc-relay over a WebSocket like a page, our DTLS and
//! SCTP) and str0m 0.24 (its own SDP, ICE, OpenSSL DTLS and sctp-proto) on a plain UDP socket.
//! Both offer roles; channels opened by either side before and after the connection, ordered and
//! unordered; strings and binaries, one of 100 kB, both ways; close from either side reaches
//! the other while the remaining channels keep working.

mod relay_ws;
use futures_util::{FutureExt, SinkExt, StreamExt};
use polyrtc_engine::*;
use polyrtc_relay::config::Config;
use polyrtc_relay::server::{self, RunningServer};
use relay_ws::ws_connect;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId, Reliability};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, CandidateKind, Event as TheirEvent, Input, Output, Rtc};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

/// Connecting and exchanging everything on loopback takes well under a second.
const DEADLINE: Duration = Duration::from_secs(10);
/// Poll granularity of the loop between socket reads.
const TICK: Duration = Duration::from_millis(2);
const BIG: usize = 100_000;
/// Receive buffer of str0m's socket (`scripts/netns.sh` namespaces allow up to 4 MiB).
const RECV_BUFFER: usize = 4 << 20;

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as f64
}

/// One message as both stacks see it: (binary, bytes).
type Message = (bool, Vec<u8>);

/// What `sender` sends on `label`: strings, small binaries and one 100 kB binary.
fn messages(sender: &str, label: &str) -> Vec<Message> {
    let mut out = Vec::new();
    for i in 0..5u8 {
        out.push((false, format!("{sender} on {label}: {i} ✓").into_bytes()));
        out.push((true, (0..10 + i).map(|k| k.wrapping_mul(7) ^ i).collect()));
    }
    out.push((true, (0..BIG).map(|k| (k * 13 % 251) as u8).collect()));
    out
}

/// Channel state per label on one side: whether it opened and closed, its stream id, messages.
#[derive(Default, Debug)]
struct ChannelLog {
    open: bool,
    closed: bool,
    stream_id: Option<u16>,
    got: Vec<Message>,
}

/// The page's side: the engine, one WebSocket to the relay for its TURN allocation.
struct Ours {
    pc: PeerConnection,
    ws: Option<(RelayId, Box<WebSocketStream<TcpStream>>)>,
    ws_addr: SocketAddr,
    /// Label of each channel handle.
    labels: BTreeMap<DataChannelHandle, String>,
    channels: BTreeMap<String, ChannelLog>,
    candidates: Vec<String>,
    connected: bool,
}

/// str0m on a plain loopback UDP socket with a host candidate.
struct Theirs {
    rtc: Rtc,
    sock: UdpSocket,
    addr: SocketAddr,
    labels: HashMap<ChannelId, String>,
    channels: BTreeMap<String, ChannelLog>,
    /// Writes str0m did not accept yet (its send buffer is 128 KiB).
    outbox: VecDeque<(ChannelId, Message)>,
    connected: bool,
    /// Where every datagram str0m received came from.
    sources: BTreeSet<SocketAddr>,
}

impl Ours {
    fn new(server: &RunningServer) -> Ours {
        let ws_addr = server.ws_addr.expect("relay has a WebSocket listener");
        let config = Configuration {
            ice_servers: vec![IceServer {
                urls: Urls::One(format!("ws://{ws_addr}/turn")),
                username: Some("user".into()),
                credential: Some("pass".into()),
            }],
            ..Default::default()
        };
        let pc = PeerConnection::new(config, [7; 32], Instant::now(), wall_ms())
            .expect("valid configuration");
        Ours {
            pc,
            ws: None,
            ws_addr,
            labels: BTreeMap::new(),
            channels: BTreeMap::new(),
            candidates: vec![],
            connected: false,
        }
    }

    fn call(&mut self, call: ApiCall) -> ApiReply {
        self.pc
            .handle_api_call(call, Instant::now(), wall_ms())
            .unwrap_or_else(|e| panic!("engine call failed: {e:?}"))
    }

    fn open_channel(&mut self, label: &str, ordered: bool) {
        let init = DataChannelInit {
            ordered,
            ..Default::default()
        };
        let label = label.to_string();
        let reply = self.call(ApiCall::CreateDataChannel {
            label: label.clone(),
            init,
        });
        let ApiReply::DataChannel { channel } = reply else {
            panic!("unexpected {reply:?}");
        };
        self.labels.insert(channel.handle, label.clone());
        self.channels.entry(label).or_default();
    }

    fn handle(&self, label: &str) -> DataChannelHandle {
        *self
            .labels
            .iter()
            .find(|(_, l)| *l == label)
            .unwrap_or_else(|| panic!("no channel {label}"))
            .0
    }

    fn send(&mut self, label: &str, (binary, data): Message) {
        let channel = self.handle(label);
        self.call(ApiCall::SendDataChannelMessage {
            channel,
            data,
            binary,
        });
    }

    fn description(&mut self, call: ApiCall) -> SessionDescription {
        match self.call(call) {
            ApiReply::Description { description } => description,
            r => panic!("unexpected {r:?}"),
        }
    }

    fn set_local(&mut self, d: &SessionDescription) {
        self.call(ApiCall::SetLocalDescription {
            description: LocalDescriptionInit {
                sdp_type: Some(d.sdp_type),
                sdp: d.sdp.clone(),
            },
        });
    }

    fn set_remote(&mut self, sdp_type: SdpType, sdp: String) {
        self.call(ApiCall::SetRemoteDescription {
            description: SessionDescription { sdp_type, sdp },
        });
    }

    /// Timers, relay sessions the engine asks for, its bytes to the relay, and its events.
    async fn drive(&mut self) {
        let now = Instant::now();
        if self.pc.poll_timeout().is_some_and(|t| t <= now) {
            self.pc.handle_timeout(now);
        }
        while let Some(cmd) = self.pc.poll_relay_command() {
            match cmd {
                RelayCommand::Connect { relay, url } => {
                    assert_eq!(url, format!("ws://{}/turn", self.ws_addr));
                    assert!(self.ws.is_none(), "one relay, one session");
                    self.ws = Some((relay, ws_connect(self.ws_addr).await));
                    self.pc
                        .handle_relay_state(Instant::now(), relay, RelayTransportState::Open);
                }
                RelayCommand::Close { .. } => self.ws = None,
            }
        }
        // Like the shell: everything queued for the relay in one WebSocket frame.
        let mut frame = Vec::new();
        while let Some((relay, bytes)) = self.pc.poll_relay_transmit() {
            assert_eq!(self.ws.as_ref().map(|w| w.0), Some(relay));
            frame.extend_from_slice(&bytes);
        }
        if let (false, Some((_, ws))) = (frame.is_empty(), self.ws.as_mut()) {
            ws.send(Ws::Binary(frame)).await.unwrap();
        }
        while let Some(e) = self.pc.poll_event() {
            self.on_event(e);
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::IceCandidate { candidate: Some(c) } => self.candidates.push(c.candidate),
            Event::ConnectionStateChange { state } => {
                assert_ne!(state, PeerConnectionState::Failed, "our connection failed");
                self.connected = state == PeerConnectionState::Connected;
            }
            Event::DataChannel { channel } => {
                self.labels.insert(channel.handle, channel.label.clone());
                let log = self.channels.entry(channel.label).or_default();
                log.stream_id = channel.id;
            }
            Event::DataChannelStateChange { channel, state, id } => {
                let label = self.labels[&channel].clone();
                let log = self.channels.entry(label).or_default();
                log.stream_id = log.stream_id.or(id);
                match state {
                    DataChannelState::Open => log.open = true,
                    DataChannelState::Closed => log.closed = true,
                    _ => {}
                }
            }
            Event::DataChannelMessage {
                channel,
                data,
                binary,
            } => {
                let label = self.labels[&channel].clone();
                self.channels
                    .entry(label)
                    .or_default()
                    .got
                    .push((binary, data));
            }
            _ => {}
        }
    }

    /// One WebSocket read: binary frames carry TURN messages, anything else is ignored.
    fn input_frame(&mut self, frame: Option<Result<Ws, tokio_tungstenite::tungstenite::Error>>) {
        match frame {
            Some(Ok(Ws::Binary(frame))) => {
                let relay = self.ws.as_ref().expect("a session").0;
                self.pc.handle_relay_input(Instant::now(), relay, &frame);
            }
            Some(Ok(_)) => {}
            other => panic!("WebSocket ended: {other:?}"),
        }
    }
}

impl Theirs {
    async fn new() -> Theirs {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // The relay forwards a whole WebSocket frame of our packets in one burst, a few hundred
        // datagrams, faster than any reader; the default 208 KiB buffer drops the tail of it and
        // each tail drop costs a 1 s SCTP retransmission timeout (the test still passes, slowly).
        socket2::SockRef::from(&sock)
            .set_recv_buffer_size(RECV_BUFFER)
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let mut rtc = Rtc::builder().build(Instant::now());
        let host = Candidate::host(addr, "udp").unwrap();
        assert!(
            rtc.add_local_candidate(host).is_some(),
            "str0m takes its host candidate"
        );
        Theirs {
            rtc,
            sock,
            addr,
            labels: HashMap::new(),
            channels: BTreeMap::new(),
            outbox: VecDeque::new(),
            connected: false,
            sources: BTreeSet::new(),
        }
    }

    fn config(label: &str, ordered: bool) -> ChannelConfig {
        ChannelConfig {
            label: label.into(),
            ordered,
            reliability: Reliability::Reliable,
            negotiated: None,
            protocol: String::new(),
        }
    }

    /// A channel on a connected association: DCEP right away.
    fn open_channel(&mut self, label: &str, ordered: bool) {
        let id = self
            .rtc
            .direct_api()
            .create_data_channel(Self::config(label, ordered));
        self.labels.insert(id, label.into());
        self.channels.entry(label.into()).or_default();
    }

    fn send(&mut self, label: &str, m: Message) {
        let id = *self
            .labels
            .iter()
            .find(|(_, l)| *l == label)
            .unwrap_or_else(|| panic!("str0m has no channel {label}"))
            .0;
        self.outbox.push_back((id, m));
    }

    async fn drive(&mut self) {
        self.rtc
            .handle_input(Input::Timeout(Instant::now()))
            .unwrap();
        while let Some((id, (binary, data))) = self.outbox.front() {
            let mut ch = self.rtc.channel(*id).expect("channel still there");
            if !ch.write(*binary, data).expect("str0m write") {
                break;
            }
            self.outbox.pop_front();
        }
        loop {
            match self.rtc.poll_output().expect("str0m output") {
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    self.sock.send_to(&t.contents, t.destination).await.unwrap();
                }
                Output::Event(e) => self.on_event(e),
            }
        }
    }

    fn on_event(&mut self, e: TheirEvent) {
        match e {
            TheirEvent::Connected => self.connected = true,
            TheirEvent::ChannelOpen(id, label) => {
                self.labels.insert(id, label.clone());
                let stream_id = self.rtc.direct_api().sctp_stream_id_by_channel_id(id);
                let log = self.channels.entry(label).or_default();
                log.open = true;
                log.stream_id = stream_id;
            }
            TheirEvent::ChannelData(d) => {
                let label = self.labels[&d.id].clone();
                let log = self.channels.entry(label).or_default();
                log.got.push((d.binary, d.data));
            }
            TheirEvent::ChannelClose(id) => {
                let label = self.labels[&id].clone();
                self.channels.entry(label).or_default().closed = true;
            }
            _ => {}
        }
    }

    fn input(&mut self, from: SocketAddr, data: &[u8]) {
        self.sources.insert(from);
        let r = Receive::new(Protocol::Udp, from, self.addr, data).expect("a datagram str0m reads");
        self.rtc
            .handle_input(Input::Receive(Instant::now(), r))
            .unwrap();
    }
}

struct Rig {
    ours: Ours,
    theirs: Theirs,
    /// The relayed addresses our engine trickled: a page has no other candidates.
    relayed: BTreeSet<SocketAddr>,
    /// Whether our engine is the DTLS client, read from the answer's `a=setup` (RFC 8842 §5).
    ours_dtls_client: bool,
}

impl Rig {
    /// One round: drive both, trickle our candidates, then wait up to a tick for input.
    async fn step(&mut self) {
        self.ours.drive().await;
        for c in self.ours.candidates.drain(..) {
            let c = Candidate::from_sdp_string(&c).expect("str0m parses our candidate");
            assert_eq!(
                c.kind(),
                CandidateKind::Relayed,
                "a page only has relay candidates"
            );
            self.relayed.insert(c.addr());
            self.theirs.rtc.add_remote_candidate(c);
        }
        self.theirs.drive().await;
        let mut buf = vec![0u8; 2048];
        let ws = self.ours.ws.as_mut().map(|(_, ws)| ws);
        let frame = async {
            match ws {
                Some(ws) => ws.next().await,
                None => std::future::pending().await,
            }
        };
        // The handlers only note what arrived: the WebSocket future borrows `self.ours`.
        let arrived = tokio::select! {
            frame = frame => Some(Ok(frame)),
            r = self.theirs.sock.recv_from(&mut buf) => Some(Err(r.unwrap())),
            _ = tokio::time::sleep(TICK) => None,
        };
        match arrived {
            Some(Ok(frame)) => self.ours.input_frame(frame),
            Some(Err((n, from))) => self.theirs.input(from, &buf[..n]),
            None => {}
        }
        // Then whatever else is already there, so a burst is not paced by one read per round.
        while let Ok((n, from)) = self.theirs.sock.try_recv_from(&mut buf) {
            self.theirs.input(from, &buf[..n]);
        }
        while let Some(frame) = self
            .ours
            .ws
            .as_mut()
            .and_then(|(_, ws)| ws.next().now_or_never())
        {
            self.ours.input_frame(frame);
        }
    }

    async fn until(&mut self, what: &str, mut done: impl FnMut(&Rig) -> bool) {
        let give_up = Instant::now() + DEADLINE;
        while !done(self) {
            assert!(
                Instant::now() < give_up,
                "timed out waiting for {what}\nours: {:?}\ntheirs: {:?}",
                summary(&self.ours.channels),
                summary(&self.theirs.channels),
            );
            self.step().await;
        }
    }

    fn open_on_both(&self, label: &str) -> bool {
        let open = |m: &BTreeMap<String, ChannelLog>| m.get(label).is_some_and(|c| c.open);
        open(&self.ours.channels) && open(&self.theirs.channels)
    }
}

fn summary(m: &BTreeMap<String, ChannelLog>) -> Vec<String> {
    m.iter()
        .map(|(l, c)| {
            format!(
                "{l}: open={} closed={} id={:?} got={}",
                c.open,
                c.closed,
                c.stream_id,
                c.got.len()
            )
        })
        .collect()
}

/// Offer/answer with one channel "init" from the offerer; both reach the open channel.
async fn connect(server: &RunningServer, we_offer: bool) -> Rig {
    let mut rig = Rig {
        ours: Ours::new(server),
        theirs: Theirs::new().await,
        relayed: BTreeSet::new(),
        ours_dtls_client: false,
    };
    let (ours, theirs) = (&mut rig.ours, &mut rig.theirs);
    if we_offer {
        ours.open_channel("init", true);
        let offer = ours.description(ApiCall::CreateOffer {
            options: OfferOptions::default(),
        });
        ours.set_local(&offer);
        let offer = SdpOffer::from_sdp_string(&offer.sdp).expect("str0m parses our offer");
        let answer = theirs
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .expect("str0m answers");
        let answer = answer.to_sdp_string();
        // str0m answers `passive` (it stays DTLS server and we, the offerer, connect).
        rig.ours_dtls_client = !answerer_is_client(&answer).expect("str0m names its DTLS role");
        ours.set_remote(SdpType::Answer, answer);
    } else {
        let mut api = theirs.rtc.sdp_api();
        let id = api.add_channel_with_config(Theirs::config("init", true));
        let (offer, pending): (SdpOffer, SdpPendingOffer) = api.apply().expect("an offer");
        theirs.labels.insert(id, "init".into());
        theirs.channels.entry("init".into()).or_default();
        ours.set_remote(SdpType::Offer, offer.to_sdp_string());
        let answer = ours.description(ApiCall::CreateAnswer);
        ours.set_local(&answer);
        // Like browsers', our answer says `active`: the answering engine is the DTLS client.
        rig.ours_dtls_client = answerer_is_client(&answer.sdp).expect("we name our DTLS role");
        let answer = SdpAnswer::from_sdp_string(&answer.sdp).expect("str0m parses our answer");
        theirs
            .rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("str0m takes our answer");
    }
    rig.until("connected, \"init\" open on both sides", |r| {
        r.ours.connected && r.theirs.connected && r.open_on_both("init")
    })
    .await;
    rig
}

/// The answer's DTLS role (RFC 8842 §5): `Some(true)` for `a=setup:active`, `Some(false)` for
/// `passive`, `None` when it says neither.
fn answerer_is_client(answer: &str) -> Option<bool> {
    answer
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("a=setup:"))
        .and_then(|role| match role {
            "active" => Some(true),
            "passive" => Some(false),
            _ => None,
        })
}

fn assert_same(label: &str, got: &[Message], want: &[Message], ordered: bool) {
    let (mut got, mut want) = (got.to_vec(), want.to_vec());
    if !ordered {
        got.sort();
        want.sort();
    }
    assert_eq!(got.len(), want.len(), "{label}: message count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            g == w,
            "{label}: message {i} differs ({} vs {} bytes)",
            g.1.len(),
            w.1.len()
        );
    }
}

async fn run(we_offer: bool) {
    let server = server::start(Config::for_tests()).await.unwrap();
    let start = Instant::now();
    let mut rig = connect(&server, we_offer).await;
    let connected_in = start.elapsed();

    // Channels from both sides once connected: DCEP each way, ordered and unordered.
    let labels = [
        ("ours-ordered", true),
        ("ours-unordered", false),
        ("theirs-ordered", true),
        ("theirs-unordered", false),
    ];
    for (label, ordered) in labels {
        if label.starts_with("ours") {
            rig.ours.open_channel(label, ordered);
        } else {
            rig.theirs.open_channel(label, ordered);
        }
    }
    rig.until("all channels open on both sides", |r| {
        labels.iter().all(|(l, _)| r.open_on_both(l))
    })
    .await;
    for label in ["init"].into_iter().chain(labels.map(|l| l.0)) {
        let (o, t) = (&rig.ours.channels[label], &rig.theirs.channels[label]);
        assert!(o.stream_id.is_some(), "{label}: we know the stream id");
        assert_eq!(
            o.stream_id, t.stream_id,
            "{label}: same stream on both sides"
        );
    }
    // RFC 8832 §6: the DTLS client picks even stream ids, the server odd ones.
    let our_parity = u16::from(!rig.ours_dtls_client);
    for label in ["ours-ordered", "ours-unordered"] {
        assert_eq!(
            rig.ours.channels[label].stream_id.unwrap() % 2,
            our_parity,
            "{label}: our stream id parity"
        );
    }
    for label in ["theirs-ordered", "theirs-unordered"] {
        assert_eq!(
            rig.theirs.channels[label].stream_id.unwrap() % 2,
            1 - our_parity,
            "{label}: str0m's stream id parity"
        );
    }

    // Everything both ways on every channel.
    let all = ["init"].into_iter().chain(labels.map(|l| l.0));
    for label in all.clone() {
        for m in messages("ours", label) {
            rig.ours.send(label, m);
        }
        for m in messages("theirs", label) {
            rig.theirs.send(label, m);
        }
    }
    let per_channel = messages("x", "y").len();
    rig.until("every message on both sides", |r| {
        all.clone().all(|l| {
            r.ours.channels[l].got.len() >= per_channel
                && r.theirs.channels[l].got.len() >= per_channel
        })
    })
    .await;
    let exchanged_in = start.elapsed();
    for label in all.clone() {
        let ordered = !label.ends_with("unordered");
        let at_ours = &rig.ours.channels[label].got;
        let at_theirs = &rig.theirs.channels[label].got;
        assert_same(label, at_ours, &messages("theirs", label), ordered);
        assert_same(label, at_theirs, &messages("ours", label), ordered);
    }

    // Close from each side, on a channel the other side opened.
    let ours_close = rig.ours.handle("theirs-ordered");
    rig.ours.call(ApiCall::CloseDataChannel {
        channel: ours_close,
    });
    let theirs_close = *rig
        .theirs
        .labels
        .iter()
        .find(|(_, l)| *l == "ours-unordered")
        .unwrap()
        .0;
    rig.theirs.rtc.direct_api().close_data_channel(theirs_close);
    rig.until("both closes reach both sides", |r| {
        ["theirs-ordered", "ours-unordered"]
            .iter()
            .all(|l| r.ours.channels[*l].closed && r.theirs.channels[*l].closed)
    })
    .await;
    for label in ["init", "ours-ordered", "theirs-unordered"] {
        assert!(
            !rig.ours.channels[label].closed,
            "{label} still open at ours"
        );
        assert!(
            !rig.theirs.channels[label].closed,
            "{label} still open at str0m"
        );
    }

    // The remaining channels still carry messages.
    rig.ours.send("init", (false, b"after close".to_vec()));
    rig.theirs.send("theirs-unordered", (true, vec![1, 2, 3]));
    rig.until("messages after the closes", |r| {
        r.theirs.channels["init"].got.len() == per_channel + 1
            && r.ours.channels["theirs-unordered"].got.len() == per_channel + 1
    })
    .await;
    assert_eq!(
        rig.theirs.channels["init"].got.last(),
        Some(&(false, b"after close".to_vec()))
    );
    assert_eq!(
        rig.ours.channels["theirs-unordered"].got.last(),
        Some(&(true, vec![1, 2, 3]))
    );
    // Every datagram str0m saw came from our relayed address on polyrtc-relay.
    assert!(!rig.relayed.is_empty(), "we trickled a relay candidate");
    assert!(
        rig.theirs.sources.is_subset(&rig.relayed),
        "str0m heard from {:?}, our relayed addresses are {:?}",
        rig.theirs.sources,
        rig.relayed
    );
    eprintln!(
        "we_offer={we_offer}: connected with \"init\" open in {connected_in:?}, \
         all messages in {exchanged_in:?}, done in {:?}",
        start.elapsed()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_offers_str0m_answers() {
    run(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn str0m_offers_engine_answers() {
    run(false).await;
}
