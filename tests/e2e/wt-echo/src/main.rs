//! `polyrtc-wt-echo [PORT]`: a WebTransport server on 127.0.0.1 with a fresh self-signed
//! certificate. Prints one JSON line `{"url", "certificateHashes", "hashesUrl"}` on stdout when
//! ready; serves that JSON (with CORS) at `GET /webtransport` on an HTTP port, the format the
//! relay publishes. STUN Binding requests get a success response with XOR-MAPPED-ADDRESS (RFC
//! 8489 §7.3.1); any other message comes back unchanged. Datagram in, datagram out; bytes on a
//! bidirectional stream are reassembled (RFC 8656 §12.5 framing) and answered on that stream.

use polyrtc_stun::framing::stream_frame_len;
use polyrtc_stun::{Class, Message, MessageBuilder, Method, XOR_MAPPED_ADDRESS};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wtransport::endpoint::IncomingSession;
use wtransport::{Endpoint, Identity, ServerConfig};

fn answer(msg: &[u8], peer: SocketAddr) -> Vec<u8> {
    match Message::parse(msg) {
        Ok(m) if m.method == Method::BINDING && m.class == Class::Request => {
            let mut b = MessageBuilder::new(Class::Success, Method::BINDING, m.transaction_id);
            b.xor_address(XOR_MAPPED_ADDRESS, peer).fingerprint();
            b.into_bytes()
        }
        _ => msg.to_vec(),
    }
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args().nth(1).map_or(Ok(0), |p| p.parse())?;
    let identity = Identity::self_signed(["localhost", "127.0.0.1"])?;
    let hash = identity.certificate_chain().as_slice()[0].hash();
    let config = ServerConfig::builder()
        .with_bind_address(SocketAddr::from(([127, 0, 0, 1], port)))
        .with_identity(identity)
        .build();
    let server = Endpoint::server(config)?;
    let wt_port = server.local_addr()?.port();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let http_port = http.local_addr()?.port();
    let json = format!(
        r#"{{"url":"https://127.0.0.1:{wt_port}/turn","certificateHashes":[{{"algorithm":"sha-256","value":"{}"}}],"hashesUrl":"http://127.0.0.1:{http_port}/webtransport"}}"#,
        base64(AsRef::<[u8; 32]>::as_ref(&hash))
    );
    println!("{json}");
    tokio::spawn(serve_http(http, json));
    loop {
        tokio::spawn(session(server.accept().await));
    }
}

async fn serve_http(listener: tokio::net::TcpListener, json: String) {
    while let Ok((mut s, _)) = listener.accept().await {
        let json = json.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        });
    }
}

async fn session(incoming: IncomingSession) {
    let Ok(request) = incoming.await else { return };
    let Ok(conn) = request.accept().await else {
        return;
    };
    let peer = conn.remote_address();
    loop {
        tokio::select! {
            stream = conn.accept_bi() => {
                let Ok((mut send, mut recv)) = stream else { return };
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let mut buf = vec![0u8; 65536];
                    while let Ok(Some(n)) = recv.read(&mut buf).await {
                        pending.extend_from_slice(&buf[..n]);
                        let mut out = Vec::new();
                        while let Ok(Some(len)) = stream_frame_len(&pending) {
                            out.extend(answer(&pending[..len], peer));
                            pending.drain(..len);
                        }
                        if !out.is_empty() && send.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                });
            }
            dgram = conn.receive_datagram() => {
                let Ok(d) = dgram else { return };
                let _ = conn.send_datagram(answer(&d, peer));
            }
        }
    }
}
