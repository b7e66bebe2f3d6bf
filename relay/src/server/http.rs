//! HTTP/1.1 on the WebSocket port: `GET /` or `/turn` with an Upgrade
//! becomes a TURN-over-WebSocket session (subprotocol `turn`); `/metrics` and
//! `/health` answer plain text; `/webtransport` publishes the WebTransport
//! URL and certificate hashes, `/credentials` mints credentials (both in
//! `endpoints.rs`). GET (and POST for `/credentials`); one request per
//! connection. The same handler runs inside TLS for `wss://`.

use super::stream::process_frames;
use super::Shared;
use crate::allocation::{ClientId, ClientTransport};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// The documented WebSocket subprotocol.
pub const SUBPROTOCOL: &str = "turn";
const MAX_HEAD: usize = 8192;
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest WebSocket message accepted from a client.
const MAX_WS_MESSAGE: usize = 1 << 20;
/// Bytes read from a WebSocket client per system call (see `handle`).
const WS_READ_BUFFER: usize = 16 * 1024;

pub(super) async fn serve(shared: Arc<Shared>, listener: TcpListener, websocket: bool) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let Ok(local) = stream.local_addr() else { continue };
                    let conn = Conn { remote, local, websocket, transport: ClientTransport::WebSocket };
                    tokio::spawn(handle(shared.clone(), stream, conn));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// `wss://`: the same HTTP/WebSocket service inside TLS.
pub(super) async fn serve_tls(shared: Arc<Shared>, listener: TcpListener, acceptor: TlsAcceptor) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let Ok(local) = stream.local_addr() else { continue };
                    let conn = Conn { remote, local, websocket: true, transport: ClientTransport::WebSocketTls };
                    let (shared, acceptor) = (shared.clone(), acceptor.clone());
                    tokio::spawn(async move {
                        let hs = tokio::time::timeout(super::tls::HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                        match hs.await {
                            Ok(Ok(tls)) => handle(shared, tls, conn).await,
                            Ok(Err(e)) => tracing::debug!(%remote, error = %e, "wss tls handshake failed"),
                            Err(_) => {}
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "wss accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// Who is connected, and what this listener serves.
#[derive(Clone, Copy)]
struct Conn {
    remote: SocketAddr,
    local: SocketAddr,
    /// WebSocket TURN served here (not on the metrics-only listener).
    websocket: bool,
    transport: ClientTransport,
}

pub(super) struct Head {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: String,
    pub(super) host: Option<String>,
    pub(super) authorization: Option<String>,
    upgrade: bool,
    key: Option<String>,
    version_ok: bool,
    protocols: Vec<String>,
    pub(super) origin: Option<String>,
    consumed: usize,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let consumed = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let method = req.method.unwrap_or_default().to_string();
    if method != "GET" && method != "POST" {
        return Err(());
    }
    let (path, query) = req
        .path
        .unwrap_or("/")
        .split_once('?')
        .unwrap_or((req.path.unwrap_or("/"), ""));
    let mut head = Head {
        method,
        path: path.to_string(),
        query: query.to_string(),
        host: None,
        authorization: None,
        upgrade: false,
        key: None,
        version_ok: false,
        protocols: vec![],
        origin: None,
        consumed,
    };
    for h in req.headers.iter() {
        let v = String::from_utf8_lossy(h.value).trim().to_string();
        match h.name.to_ascii_lowercase().as_str() {
            "upgrade" => head.upgrade = v.eq_ignore_ascii_case("websocket"),
            "sec-websocket-key" => head.key = Some(v),
            "sec-websocket-version" => head.version_ok = v == "13",
            "sec-websocket-protocol" => head
                .protocols
                .extend(v.split(',').map(|p| p.trim().to_string())),
            "origin" => head.origin = Some(v),
            "host" => head.host = Some(v),
            "authorization" => head.authorization = Some(v),
            _ => {}
        }
    }
    Ok(Some(head))
}

async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    body: &str,
) {
    respond_with(stream, status, content_type, "", body).await;
}

/// `extra` is zero or more complete header lines, each ending in CRLF.
pub(super) async fn respond_with<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    extra: &str,
    body: &str,
) {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n{extra}\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<(Head, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut tmp = [0u8; 2048];
    loop {
        let n = stream.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        match parse_head(&buf) {
            Ok(Some(h)) => return Some((h, buf)),
            Ok(None) if buf.len() < MAX_HEAD => continue,
            _ => return None,
        }
    }
}

async fn handle<S>(shared: Arc<Shared>, mut stream: S, conn: Conn)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Conn {
        remote,
        local,
        websocket,
        transport,
    } = conn;
    let Ok(Some((head, buf))) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await
    else {
        respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "bad request\n",
        )
        .await;
        return;
    };
    if head.method == "POST" && head.path != "/credentials" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n",
        )
        .await;
    }
    match head.path.as_str() {
        "/webtransport" | "/credentials" => {
            return super::endpoints::answer(&shared, &head, &mut stream).await
        }
        "/health" => return respond(&mut stream, "200 OK", "text/plain", "ok\n").await,
        "/metrics" => {
            let body = shared.metrics.render();
            return respond(&mut stream, "200 OK", "text/plain; version=0.0.4", &body).await;
        }
        "/" | "/turn" if websocket && head.upgrade => {}
        "/" | "/turn" if websocket => {
            return respond(
                &mut stream,
                "426 Upgrade Required",
                "text/plain",
                "WebSocket TURN endpoint (subprotocol \"turn\")\n",
            )
            .await
        }
        _ => return respond(&mut stream, "404 Not Found", "text/plain", "not found\n").await,
    }
    if shared.at_connection_limit() {
        return respond(
            &mut stream,
            "503 Service Unavailable",
            "text/plain",
            "connection limit\n",
        )
        .await;
    }
    if !shared.origin_allowed(head.origin.as_deref()) {
        tracing::info!(%remote, origin = ?head.origin, "websocket origin refused");
        return respond(
            &mut stream,
            "403 Forbidden",
            "text/plain",
            "origin not allowed\n",
        )
        .await;
    }
    let (Some(key), true) = (head.key.as_ref(), head.version_ok) else {
        return respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "bad websocket handshake\n",
        )
        .await;
    };
    let offers_turn = head.protocols.iter().any(|p| p == SUBPROTOCOL);
    if !head.protocols.is_empty() && !offers_turn {
        return respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "subprotocol must be \"turn\"\n",
        )
        .await;
    }
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        derive_accept_key(key.as_bytes())
    );
    if offers_turn {
        resp.push_str("Sec-WebSocket-Protocol: turn\r\n");
    }
    resp.push_str("\r\n");
    if stream.write_all(resp.as_bytes()).await.is_err() {
        return;
    }
    let leftover = buf[head.consumed..].to_vec();
    let config = WebSocketConfig {
        max_message_size: Some(MAX_WS_MESSAGE),
        max_frame_size: Some(MAX_WS_MESSAGE),
        ..Default::default()
    };
    // tungstenite reads 4 KiB per call: a browser's 64 KiB batch took 16 system calls. This
    // buffer makes it one to four, at 16 KiB per connection (as the TCP listener's own buffer).
    let stream = tokio::io::BufReader::with_capacity(WS_READ_BUFFER, stream);
    let ws =
        WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(config)).await;
    session(
        shared,
        ws,
        ClientId {
            transport,
            remote: super::canonical(remote),
            local: super::canonical(local),
            conn: 0,
        },
    )
    .await;
}

async fn session<S>(shared: Arc<Shared>, ws: WebSocketStream<S>, mut client: ClientId)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some((id, mut rx)) = shared.new_conn(client.transport) else {
        return;
    };
    client.conn = id;
    let (mut sink, mut source) = ws.split();
    let writer = tokio::spawn(async move {
        // Several queued messages leave as one frame (RFC 8656 §12.5 framing
        // inside), which is what makes WebSocket fast in browsers.
        while let Some(batch) = rx.next_batch().await {
            if sink.send(WsMessage::Binary(batch)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut shutdown = shared.shutdown.clone();
    let mut idle = super::stream::idle_timer();
    let mut active = false;
    loop {
        tokio::select! {
            m = source.next() => match m {
                Some(Ok(WsMessage::Binary(data))) => {
                    active = true;
                    // A frame holds whole messages only.
                    if process_frames(&shared, client, &data) != Some(data.len()) {
                        tracing::debug!(remote = %client.remote, "bad TURN framing in websocket frame");
                        break;
                    }
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {}
                Some(Ok(WsMessage::Text(_) | WsMessage::Close(_))) | Some(Err(_)) | None => break,
            },
            _ = idle.tick() => {
                if !std::mem::take(&mut active) && !shared.has_allocation(&client) {
                    break;
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    shared.conn_closed(client);
    writer.abort();
}
