//! Clients for the secure transports: TLS and wss with a test certificate,
//! and WebTransport pinned by the hashes the relay publishes.

use super::{Conn, TIMEOUT};
use base64::Engine;
use polyrtc_relay::server::RunningServer;
use rustls_pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::WebSocketStream;
use wtransport::endpoint::ConnectOptions;
use wtransport::tls::Sha256Digest;
use wtransport::{ClientConfig, Endpoint, Identity};

/// A self-signed certificate for "localhost" written to PEM files.
pub struct TestCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: CertificateDer<'static>,
}

impl TestCert {
    pub async fn new(tag: &str) -> TestCert {
        let dir = std::env::temp_dir().join(format!(
            "polyrtc-relay-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let id = Identity::self_signed(["localhost", "127.0.0.1"]).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        id.certificate_chain().store_pemfile(&cert).await.unwrap();
        id.private_key().store_secret_pemfile(&key).await.unwrap();
        let der = CertificateDer::from(id.certificate_chain().as_slice()[0].der().to_vec());
        TestCert { cert, key, der }
    }

    pub fn connector(&self, alpn: &[u8]) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = vec![alpn.to_vec()];
        TlsConnector::from(Arc::new(cfg))
    }

    pub async fn tls(&self, addr: SocketAddr, alpn: &[u8]) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        self.connector(alpn).connect(name, tcp).await.unwrap()
    }

    /// `wss://localhost:PORT/turn`, subprotocol "turn".
    pub async fn wss(
        &self,
        addr: SocketAddr,
        origin: Option<&str>,
    ) -> Result<Box<WebSocketStream<TlsStream<TcpStream>>>, String> {
        let tls = self.tls(addr, b"http/1.1").await;
        let mut req = format!("wss://localhost:{}/turn", addr.port())
            .into_client_request()
            .map_err(|e| e.to_string())?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "turn".parse().unwrap());
        if let Some(o) = origin {
            req.headers_mut().insert("Origin", o.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::client_async(req, tls)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Box::new(ws))
    }
}

impl Conn {
    pub async fn open_tls(s: &RunningServer, cert: &TestCert) -> Conn {
        Conn::Tls(
            Box::new(cert.tls(s.tls_addr.unwrap(), b"stun.turn").await),
            Vec::new(),
        )
    }

    pub async fn open_wss(s: &RunningServer, cert: &TestCert) -> Conn {
        Conn::Wss(
            cert.wss(s.wss_addr.unwrap(), None).await.unwrap(),
            Default::default(),
        )
    }
}

/// One HTTP/1.1 request; the whole response as text.
pub async fn http(addr: SocketAddr, method: &str, path: &str, headers: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{headers}\r\n",
            addr.port()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    let _ = tokio::time::timeout(TIMEOUT, s.read_to_string(&mut out)).await;
    out
}

/// The JSON body of an HTTP response.
pub fn json_body(resp: &str) -> serde_json::Value {
    let body = resp.split("\r\n\r\n").nth(1).expect("a body");
    serde_json::from_str(body).expect("JSON")
}

/// `/webtransport`: the URL and the certificate hashes.
pub async fn webtransport_info(
    http_addr: SocketAddr,
) -> (String, Vec<Sha256Digest>, serde_json::Value) {
    let resp = http(http_addr, "GET", "/webtransport", "").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let v = json_body(&resp);
    let url = v["url"].as_str().unwrap().to_string();
    let b64 = base64::engine::general_purpose::STANDARD;
    let hashes = v["certificateHashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert_eq!(h["algorithm"], "sha-256");
            let raw: [u8; 32] = b64
                .decode(h["value"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            Sha256Digest::new(raw)
        })
        .collect();
    (url, hashes, v)
}

/// Which channel a WebTransport message came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Datagram,
    Stream,
}

/// A WebTransport TURN client: datagrams, plus one bidirectional stream
/// opened on first use; everything received lands in one queue, tagged.
pub struct WtConn {
    pub conn: wtransport::Connection,
    send: Option<wtransport::SendStream>,
    rx: mpsc::UnboundedReceiver<(Via, Vec<u8>)>,
    tx: mpsc::UnboundedSender<(Via, Vec<u8>)>,
    _endpoint: Endpoint<wtransport::endpoint::endpoint_side::Client>,
}

pub async fn wt_connect(
    url: &str,
    hashes: Vec<Sha256Digest>,
    origin: Option<&str>,
) -> Result<WtConn, String> {
    let cfg = ClientConfig::builder()
        .with_bind_default()
        .with_server_certificate_hashes(hashes)
        .build();
    let endpoint = Endpoint::client(cfg).map_err(|e| e.to_string())?;
    let mut opts = ConnectOptions::builder(url);
    if let Some(o) = origin {
        opts = opts.add_header("origin", o);
    }
    let conn = tokio::time::timeout(TIMEOUT, endpoint.connect(opts.build()))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (c, t) = (conn.clone(), tx.clone());
    tokio::spawn(async move {
        while let Ok(d) = c.receive_datagram().await {
            if t.send((Via::Datagram, d.payload().to_vec())).is_err() {
                break;
            }
        }
    });
    // A stream the relay opens itself (oversize before we opened ours).
    let (c, t) = (conn.clone(), tx.clone());
    tokio::spawn(async move {
        while let Ok((_, recv)) = c.accept_bi().await {
            tokio::spawn(read_stream(recv, t.clone()));
        }
    });
    Ok(WtConn {
        conn,
        send: None,
        rx,
        tx,
        _endpoint: endpoint,
    })
}

async fn read_stream(mut recv: wtransport::RecvStream, tx: mpsc::UnboundedSender<(Via, Vec<u8>)>) {
    let mut buf = Vec::new();
    let mut tmp = vec![0u8; 4096];
    while let Ok(Some(n)) = recv.read(&mut tmp).await {
        buf.extend_from_slice(&tmp[..n]);
        while let Ok(Some(len)) = polyrtc_relay::framing::stream_frame_len(&buf) {
            let m: Vec<u8> = buf.drain(..len).collect();
            if tx.send((Via::Stream, m)).is_err() {
                return;
            }
        }
    }
}

impl WtConn {
    pub fn max_datagram(&self) -> usize {
        self.conn.max_datagram_size().unwrap()
    }

    pub fn send_datagram(&self, data: &[u8]) {
        self.conn.send_datagram(data).unwrap();
    }

    pub async fn send_stream(&mut self, data: &[u8]) {
        if self.send.is_none() {
            let (send, recv) = self.conn.open_bi().await.unwrap().await.unwrap();
            tokio::spawn(read_stream(recv, self.tx.clone()));
            self.send = Some(send);
        }
        self.send.as_mut().unwrap().write_all(data).await.unwrap();
    }

    /// Datagram when it fits, else the stream.
    pub async fn send(&mut self, data: &[u8]) {
        if data.len() <= self.max_datagram() {
            self.send_datagram(data);
        } else {
            self.send_stream(data).await;
        }
    }

    pub async fn recv(&mut self) -> (Via, Vec<u8>) {
        tokio::time::timeout(TIMEOUT, self.rx.recv())
            .await
            .expect("a message from the relay")
            .expect("session open")
    }

    /// Send a request; the next STUN success/error response and its channel.
    pub async fn ask(&mut self, req: &[u8], via: Via) -> (Via, Vec<u8>) {
        match via {
            Via::Datagram => self.send_datagram(req),
            Via::Stream => self.send_stream(req).await,
        }
        loop {
            let (v, m) = self.recv().await;
            if let Ok(msg) = polyrtc_relay::stun::Message::parse(&m) {
                use polyrtc_relay::stun::Class;
                if matches!(msg.class, Class::Success | Class::Error) {
                    return (v, m);
                }
            }
        }
    }
}
