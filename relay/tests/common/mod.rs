//! Test client plumbing: one TURN connection over UDP, TCP or WebSocket.
#![allow(dead_code)]

pub mod secure;

use futures_util::{SinkExt, StreamExt};
use polyrtc_relay::client::TurnClient;
use polyrtc_relay::config::Config;
use polyrtc_relay::framing::{split_frames, stream_frame_len};
use polyrtc_relay::server::{self, RunningServer};
use polyrtc_relay::stun::{Class, Message, XOR_RELAYED_ADDRESS};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

pub const TIMEOUT: Duration = Duration::from_secs(3);

pub async fn start(f: impl FnOnce(&mut Config)) -> RunningServer {
    let mut cfg = Config::for_tests();
    f(&mut cfg);
    server::start(cfg).await.expect("server starts")
}

pub enum Conn {
    Udp(UdpSocket, SocketAddr),
    Tcp(TcpStream, Vec<u8>),
    Ws(Box<WebSocketStream<TcpStream>>, VecDeque<Vec<u8>>),
    Tls(Box<TlsStream<TcpStream>>, Vec<u8>),
    Wss(
        Box<WebSocketStream<TlsStream<TcpStream>>>,
        VecDeque<Vec<u8>>,
    ),
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Udp,
    Tcp,
    Ws,
}

pub const ALL: [Kind; 3] = [Kind::Udp, Kind::Tcp, Kind::Ws];

pub async fn ws_connect(
    addr: SocketAddr,
    path: &str,
    origin: Option<&str>,
) -> Result<Box<WebSocketStream<TcpStream>>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut req = format!("ws://{addr}{path}")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "turn".parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    let (ws, resp) = tokio_tungstenite::client_async(req, stream)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        resp.headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.to_str().unwrap()),
        Some("turn")
    );
    Ok(Box::new(ws))
}

impl Conn {
    pub async fn open(kind: Kind, s: &RunningServer) -> Conn {
        match kind {
            Kind::Udp => {
                let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                Conn::Udp(sock, s.udp_addr.unwrap())
            }
            Kind::Tcp => Conn::Tcp(
                TcpStream::connect(s.tcp_addr.unwrap()).await.unwrap(),
                Vec::new(),
            ),
            Kind::Ws => Conn::Ws(
                ws_connect(s.ws_addr.unwrap(), "/turn", None).await.unwrap(),
                VecDeque::new(),
            ),
        }
    }

    pub fn is_stream(&self) -> bool {
        !matches!(self, Conn::Udp(..))
    }

    pub async fn send(&mut self, data: &[u8]) {
        match self {
            Conn::Udp(s, to) => {
                s.send_to(data, *to).await.unwrap();
            }
            Conn::Tcp(s, _) => s.write_all(data).await.unwrap(),
            Conn::Ws(ws, _) => ws.send(Ws::Binary(data.to_vec())).await.unwrap(),
            Conn::Tls(s, _) => s.write_all(data).await.unwrap(),
            Conn::Wss(ws, _) => ws.send(Ws::Binary(data.to_vec())).await.unwrap(),
        }
    }

    pub async fn try_recv(&mut self, wait: Duration) -> Option<Vec<u8>> {
        tokio::time::timeout(wait, self.recv_inner())
            .await
            .ok()
            .flatten()
    }

    pub async fn recv(&mut self) -> Vec<u8> {
        self.try_recv(TIMEOUT)
            .await
            .expect("a message from the relay")
    }

    async fn recv_inner(&mut self) -> Option<Vec<u8>> {
        match self {
            Conn::Udp(s, _) => {
                let mut buf = vec![0u8; 65536];
                let (n, _) = s.recv_from(&mut buf).await.ok()?;
                buf.truncate(n);
                Some(buf)
            }
            Conn::Tcp(s, buf) => read_frame(s, buf).await,
            Conn::Tls(s, buf) => read_frame(s, buf).await,
            Conn::Ws(ws, queue) => read_ws(ws, queue).await,
            Conn::Wss(ws, queue) => read_ws(ws, queue).await,
        }
    }
}

async fn read_frame<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    loop {
        if let Ok(Some(n)) = stream_frame_len(buf) {
            return Some(buf.drain(..n).collect());
        }
        let mut tmp = [0u8; 4096];
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

async fn read_ws<S>(ws: &mut WebSocketStream<S>, queue: &mut VecDeque<Vec<u8>>) -> Option<Vec<u8>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        if let Some(m) = queue.pop_front() {
            return Some(m);
        }
        match ws.next().await? {
            Ok(Ws::Binary(frame)) => {
                for m in split_frames(&frame) {
                    queue.push_back(m.expect("whole messages per frame").to_vec());
                }
            }
            Ok(Ws::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

impl Conn {
    /// Send a request and return the next STUN response (skipping data).
    pub async fn ask(&mut self, req: &[u8]) -> Vec<u8> {
        self.send(req).await;
        loop {
            let m = self.recv().await;
            if let Ok(msg) = Message::parse(&m) {
                if matches!(msg.class, Class::Success | Class::Error) {
                    return m;
                }
            }
        }
    }

    pub async fn code(&mut self, req: &[u8]) -> Option<u16> {
        let resp = self.ask(req).await;
        Message::parse(&resp).unwrap().error_code().map(|e| e.0)
    }

    /// 401 then an authenticated Allocate; the relayed address.
    pub async fn allocate(&mut self, tc: &mut TurnClient) -> SocketAddr {
        let resp = self.ask(&tc.allocate().1).await;
        let m = Message::parse(&resp).unwrap();
        assert_eq!(m.error_code().map(|e| e.0), Some(401));
        assert!(tc.learn(&m));
        let resp = self.ask(&tc.allocate().1).await;
        let m = Message::parse(&resp).unwrap();
        assert_eq!(
            m.class,
            Class::Success,
            "allocate failed: {:?}",
            m.error_code()
        );
        assert_eq!(
            m.verify_integrity(&tc.key().unwrap().0),
            Some(true),
            "response signed with our key"
        );
        m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap()
    }
}

pub async fn http_get(addr: SocketAddr, path: &str, headers: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    let _ = tokio::time::timeout(TIMEOUT, s.read_to_string(&mut out)).await;
    out
}

/// (401 unless `tc` knows a nonce, then) an authenticated Allocate with extra attributes; the whole
/// success response (panics on an error answer).
pub async fn allocate_with(
    c: &mut Conn,
    tc: &mut TurnClient,
    extra: impl Fn(&mut polyrtc_relay::stun::MessageBuilder),
) -> Vec<u8> {
    if tc.nonce.is_none() {
        let resp = c.ask(&tc.allocate().1).await;
        assert!(tc.learn(&Message::parse(&resp).unwrap()));
    }
    let (_, req) = tc.request(polyrtc_relay::stun::Method::ALLOCATE, |b| {
        b.attribute(
            polyrtc_relay::stun::REQUESTED_TRANSPORT,
            &[polyrtc_relay::stun::TRANSPORT_UDP, 0, 0, 0],
        );
        extra(b);
    });
    let resp = c.ask(&req).await;
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.class, Class::Success, "allocate: {:?}", m.error_code());
    resp
}

/// Receive one datagram on `peer` within [`TIMEOUT`].
pub async fn peer_recv(peer: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 2048];
    let (n, from) = tokio::time::timeout(TIMEOUT, peer.recv_from(&mut buf))
        .await
        .expect("peer datagram in time")
        .unwrap();
    buf.truncate(n);
    (buf, from)
}

/// Whether this host can bind ::1 (IPv6 loopback); prints why not.
pub fn ipv6_loopback_available(test: &str) -> bool {
    match std::net::UdpSocket::bind("[::1]:0") {
        Ok(_) => true,
        Err(e) => {
            println!("SKIPPED {test}: no IPv6 loopback here (bind [::1]:0: {e}); run in a netns with ::1");
            false
        }
    }
}

/// Poll `f` every 20 ms for up to 3 s.
pub async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..150 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}
