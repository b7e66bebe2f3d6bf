//! Load generator for polyrtc-relay (and any TURN server over UDP): bounded
//! in count and time, loopback only. Reports allocation setup rate, relayed
//! packets/s and Mbit/s, and round-trip latency through the relay.
//!
//! cargo run -p polyrtc-relay --release --example loadgen -- \
//!     --target udp://127.0.0.1:3478 --allocations 1000 --payload 1200 --seconds 3
//! (`ws://127.0.0.1:8443/turn` for WebSocket, with `--batch 8` datagrams per frame;
//! `--intra` makes the peer another allocation on the same relay, UDP only)

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use polyrtc_relay::client::TurnClient;
use polyrtc_relay::framing::{split_frames, ChannelData};
use polyrtc_relay::stun::{Class, Message};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// udp://HOST:PORT or ws://HOST:PORT/PATH (loopback only).
    #[arg(long)]
    target: String,
    #[arg(long, default_value = "user")]
    user: String,
    #[arg(long, default_value = "pass")]
    password: String,
    #[arg(long, default_value_t = 1)]
    allocations: usize,
    /// Payload bytes per relayed datagram.
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// Sending time for the throughput phase (capped at 30 s).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Datagrams per WebSocket frame.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Round trips for the latency phase (capped at 100,000).
    #[arg(long, default_value_t = 2000)]
    pings: usize,
    /// Skip the throughput phase (setup and memory only).
    #[arg(long)]
    setup_only: bool,
    /// After setup, wait this many seconds (for an external RSS reading).
    #[arg(long, default_value_t = 0.0)]
    hold: f64,
    /// Both ends are allocations of the target relay (client A → relay →
    /// relayed address of B → client B): measures the intra-relay path.
    #[arg(long)]
    intra: bool,
}

enum Conn {
    Udp(UdpSocket),
    Ws(Box<WebSocketStream<TcpStream>>),
}

impl Conn {
    async fn open(target: &str) -> Conn {
        if let Some(addr) = target.strip_prefix("udp://") {
            let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            s.connect(addr).await.expect("connect");
            Conn::Udp(s)
        } else {
            let hostport = target
                .trim_start_matches("ws://")
                .split('/')
                .next()
                .unwrap_or_default();
            let stream = TcpStream::connect(hostport).await.expect("tcp connect");
            stream.set_nodelay(true).ok();
            let mut req = target.into_client_request().expect("ws url");
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", "turn".parse().expect("header"));
            let (ws, _) = tokio_tungstenite::client_async(req, stream)
                .await
                .expect("ws handshake");
            Conn::Ws(Box::new(ws))
        }
    }

    fn stream(&self) -> bool {
        matches!(self, Conn::Ws(_))
    }

    async fn send(&mut self, data: Vec<u8>) {
        match self {
            Conn::Udp(s) => {
                let _ = s.send(&data).await;
            }
            Conn::Ws(ws) => {
                let _ = ws.send(Ws::Binary(data)).await;
            }
        }
    }

    /// Next message (first of a frame; fine for request/response and pings).
    async fn recv(&mut self) -> Vec<u8> {
        match self {
            Conn::Udp(s) => {
                let mut buf = vec![0u8; 65536];
                let n = s.recv(&mut buf).await.expect("recv");
                buf.truncate(n);
                buf
            }
            Conn::Ws(ws) => loop {
                if let Some(Ok(Ws::Binary(f))) = ws.next().await {
                    if let Some(Ok(m)) = split_frames(&f).next() {
                        return m.to_vec();
                    }
                } else {
                    panic!("websocket closed");
                }
            },
        }
    }

    /// Request/response, retransmitted over UDP (RFC 8489 §6.2.1 style).
    async fn ask(&mut self, req: Vec<u8>) -> Vec<u8> {
        for attempt in 0..7u32 {
            self.send(req.clone()).await;
            let wait = Duration::from_millis(250 << attempt.min(4));
            let deadline = tokio::time::Instant::now() + wait;
            while let Ok(m) = tokio::time::timeout_at(deadline, self.recv()).await {
                if let Ok(msg) = Message::parse(&m) {
                    let ours = msg.transaction_id.0[..] == req[8..20];
                    if ours && matches!(msg.class, Class::Success | Class::Error) {
                        return m;
                    }
                }
            }
        }
        panic!("no answer after 7 attempts");
    }
}

/// One allocation with a channel to `peer`. A 437 means the kernel handed us
/// a port whose earlier allocation (from a previous run) is still alive on the
/// server: take another port.
async fn setup(args: &Args, peer: SocketAddr) -> (Conn, TurnClient) {
    let mut stale = Vec::new();
    for _ in 0..8 {
        let mut c = Conn::open(&args.target).await;
        let mut tc = TurnClient::new(&args.user, &args.password);
        let r = c.ask(tc.allocate().1).await;
        tc.learn(&Message::parse(&r).expect("stun"));
        let r = c.ask(tc.allocate().1).await;
        let m = Message::parse(&r).expect("stun");
        if m.error_code().map(|e| e.0) == Some(437) {
            stale.push(c);
            continue;
        }
        assert_eq!(m.class, Class::Success, "allocate: {:?}", m.error_code());
        let r = c.ask(tc.channel_bind(0x4000, peer).1).await;
        let m = Message::parse(&r).expect("stun");
        assert_eq!(
            m.class,
            Class::Success,
            "channel bind: {:?}",
            m.error_code()
        );
        return (c, tc);
    }
    panic!("every port tried had a live allocation");
}

/// Allocate only; the relayed address.
async fn allocate_only(args: &Args) -> (Conn, TurnClient, SocketAddr) {
    let mut c = Conn::open(&args.target).await;
    let mut tc = TurnClient::new(&args.user, &args.password);
    let r = c.ask(tc.allocate().1).await;
    tc.learn(&Message::parse(&r).expect("stun"));
    let r = c.ask(tc.allocate().1).await;
    let m = Message::parse(&r).expect("stun");
    assert_eq!(m.class, Class::Success, "allocate: {:?}", m.error_code());
    let relayed = m
        .xor_address(polyrtc_relay::stun::XOR_RELAYED_ADDRESS)
        .ok()
        .flatten()
        .expect("XOR-RELAYED-ADDRESS");
    (c, tc, relayed)
}

async fn bind_channel(c: &mut Conn, tc: &TurnClient, peer: SocketAddr) {
    let r = c.ask(tc.channel_bind(0x4000, peer).1).await;
    let m = Message::parse(&r).expect("stun");
    assert_eq!(
        m.class,
        Class::Success,
        "channel bind: {:?}",
        m.error_code()
    );
}

/// `--intra`: A and B are both allocations of the relay, bound to each
/// other's relayed address; A sends ChannelData as fast as it can for
/// `seconds`, B's client counts what arrives.
async fn intra(args: &Args, seconds: f64) {
    assert!(args.target.starts_with("udp://"), "--intra is UDP only");
    let (mut a, ta, ra) = allocate_only(args).await;
    let (mut b, tb, rb) = allocate_only(args).await;
    bind_channel(&mut a, &ta, rb).await;
    bind_channel(&mut b, &tb, ra).await;
    let Conn::Udp(b_sock) = b else {
        unreachable!("udp target")
    };
    let got = Arc::new(AtomicU64::new(0));
    let counter = {
        let got = got.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok(Ok(_)) =
                tokio::time::timeout(Duration::from_millis(500), b_sock.recv(&mut buf)).await
            {
                got.fetch_add(1, Relaxed);
            }
            b_sock
        })
    };
    let one = ChannelData::encode(0x4000, &vec![0xab; args.payload], false);
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            a.send(one.clone()).await;
            sent += 1;
        }
        tokio::task::yield_now().await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let b_sock = counter.await.expect("counter task");
    let got = got.load(Relaxed);
    println!(
        "throughput: intra-relay, payload {} B: sent {} in {:.2} s, relayed {} ({:.1}% loss) = {:.0} packets/s, {:.1} Mbit/s",
        args.payload,
        sent,
        elapsed,
        got,
        100.0 * sent.saturating_sub(got) as f64 / sent.max(1) as f64,
        got as f64 / elapsed,
        got as f64 * args.payload as f64 * 8.0 / elapsed / 1e6
    );
    let mut conns = vec![(a, ta), (Conn::Udp(b_sock), tb)];
    release(&mut conns).await;
}

/// Delete the allocations (Refresh with LIFETIME 0), without waiting.
async fn release(conns: &mut [(Conn, TurnClient)]) {
    for (c, tc) in conns.iter_mut() {
        c.send(tc.refresh(0).1).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let host: String = args
        .target
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
        .into();
    let server: SocketAddr = host.parse().expect("target must be IP:PORT");
    assert!(server.ip().is_loopback(), "loopback targets only");
    let seconds = args.seconds.clamp(0.1, 30.0);
    let pings = args.pings.min(100_000);
    if args.intra {
        return intra(&args, seconds).await;
    }

    // The peer: counts what arrives, echoes when asked.
    let peer = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("peer"));
    let peer_addr = peer.local_addr().expect("addr");
    let (rx_packets, rx_bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let echo = Arc::new(AtomicBool::new(false));
    {
        let (peer, rx_packets, rx_bytes, echo) = (
            peer.clone(),
            rx_packets.clone(),
            rx_bytes.clone(),
            echo.clone(),
        );
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, from)) = peer.recv_from(&mut buf).await {
                rx_packets.fetch_add(1, Relaxed);
                rx_bytes.fetch_add(n as u64, Relaxed);
                if echo.load(Relaxed) {
                    let _ = peer.send_to(&buf[..n], from).await;
                }
            }
        });
    }

    // Setup, 64 at a time.
    let t0 = Instant::now();
    let mut conns = Vec::with_capacity(args.allocations);
    let mut pending = Vec::new();
    for _ in 0..args.allocations {
        let a = args.clone();
        pending.push(tokio::spawn(async move { setup(&a, peer_addr).await }));
        if pending.len() == 64 {
            for p in pending.drain(..) {
                conns.push(p.await.expect("setup task"));
            }
        }
    }
    for p in pending {
        conns.push(p.await.expect("setup task"));
    }
    let setup_secs = t0.elapsed().as_secs_f64();
    println!(
        "setup: {} allocations (+channel bind) in {:.2} s = {:.0} allocations/s",
        conns.len(),
        setup_secs,
        conns.len() as f64 / setup_secs
    );
    if args.hold > 0.0 {
        println!("holding {} allocations for {:.1} s", conns.len(), args.hold);
        tokio::time::sleep(Duration::from_secs_f64(args.hold.min(60.0))).await;
    }
    if args.setup_only || conns.is_empty() {
        release(&mut conns).await;
        return;
    }

    // Throughput: round-robin over all allocations for `seconds`.
    let payload = vec![0xabu8; args.payload];
    let stream = conns[0].0.stream();
    let one = ChannelData::encode(0x4000, &payload, stream);
    let frame: Vec<u8> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * args.batch.max(1))
        .collect();
    let per_send = if stream { args.batch.max(1) } else { 1 };
    let start = Instant::now();
    let mut sent = 0u64;
    let mut i = 0;
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            let c = &mut conns[i % args.allocations].0;
            c.send(if stream { frame.clone() } else { one.clone() })
                .await;
            sent += per_send as u64;
            i += 1;
        }
        tokio::task::yield_now().await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx_packets.load(Relaxed);
    let bytes = rx_bytes.load(Relaxed);
    println!(
        "throughput: payload {} B, {} allocations, batch {}: sent {} in {:.2} s, relayed {} ({:.1}% loss) = {:.0} packets/s, {:.1} Mbit/s",
        args.payload,
        args.allocations,
        per_send,
        sent,
        elapsed,
        got,
        100.0 * (sent.saturating_sub(got)) as f64 / sent.max(1) as f64,
        got as f64 / elapsed,
        bytes as f64 * 8.0 / elapsed / 1e6
    );

    // Latency through the relay vs a direct UDP round trip.
    echo.store(true, Relaxed);
    let c = &mut conns[0].0;
    let mut rtts = Vec::with_capacity(pings);
    for _ in 0..pings {
        let t = Instant::now();
        c.send(ChannelData::encode(0x4000, &payload, stream)).await;
        if tokio::time::timeout(Duration::from_secs(1), c.recv())
            .await
            .is_ok()
        {
            rtts.push(t.elapsed());
        }
    }
    rtts.sort();
    let direct = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    direct.connect(peer_addr).await.expect("connect");
    let mut base = Vec::with_capacity(pings);
    let mut buf = vec![0u8; 65536];
    for _ in 0..pings {
        let t = Instant::now();
        let _ = direct.send(&payload).await;
        if tokio::time::timeout(Duration::from_secs(1), direct.recv(&mut buf))
            .await
            .is_ok()
        {
            base.push(t.elapsed());
        }
    }
    base.sort();
    let ip: IpAddr = server.ip();
    println!(
        "latency via {ip}: rtt p50 {:.0} us p99 {:.0} us ({} of {} answered); direct udp rtt p50 {:.0} us p99 {:.0} us; added p50 {:.0} us p99 {:.0} us",
        percentile(&rtts, 0.5),
        percentile(&rtts, 0.99),
        rtts.len(),
        pings,
        percentile(&base, 0.5),
        percentile(&base, 0.99),
        percentile(&rtts, 0.5) - percentile(&base, 0.5),
        percentile(&rtts, 0.99) - percentile(&base, 0.99),
    );
    release(&mut conns).await;
}
