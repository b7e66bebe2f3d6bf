//! HTTP/1.1 on the WebSocket port: `GET /` or `/turn` with an Upgrade
//! becomes a TURN-over-WebSocket session (subprotocol `turn`); `/metrics` and
//! `/health` answer plain text. Only GET; one request per connection.

use super::stream::process_frames;
use super::Shared;
use crate::allocation::{ClientId, ClientTransport};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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

pub(super) async fn serve(shared: Arc<Shared>, listener: TcpListener, websocket: bool) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(handle(shared.clone(), stream, remote, websocket));
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

struct Head {
    path: String,
    upgrade: bool,
    key: Option<String>,
    version_ok: bool,
    protocols: Vec<String>,
    origin: Option<String>,
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
    if req.method != Some("GET") {
        return Err(());
    }
    let path = req
        .path
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    let mut head = Head {
        path,
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
            _ => {}
        }
    }
    Ok(Some(head))
}

async fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn read_head(stream: &mut TcpStream) -> Option<(Head, Vec<u8>)> {
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

async fn handle(shared: Arc<Shared>, mut stream: TcpStream, remote: SocketAddr, websocket: bool) {
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
    match head.path.as_str() {
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
    if !shared.ws_allowed_origins.is_empty()
        && !head
            .origin
            .as_ref()
            .is_some_and(|o| shared.ws_allowed_origins.iter().any(|a| a == o))
    {
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
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let leftover = buf[head.consumed..].to_vec();
    let config = WebSocketConfig {
        max_message_size: Some(MAX_WS_MESSAGE),
        max_frame_size: Some(MAX_WS_MESSAGE),
        ..Default::default()
    };
    let ws =
        WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(config)).await;
    session(
        shared,
        ws,
        ClientId {
            transport: ClientTransport::WebSocket,
            remote: super::canonical(remote),
            local: super::canonical(local),
            conn: 0,
        },
    )
    .await;
}

async fn session(shared: Arc<Shared>, ws: WebSocketStream<TcpStream>, mut client: ClientId) {
    let Some((id, mut rx)) = shared.new_conn(ClientTransport::WebSocket) else {
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
