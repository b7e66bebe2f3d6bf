//! A TURN-over-WebSocket connection to a running polyrtc-relay, as a page opens it (subprotocol
//! "turn"). Shared by the native tests that drive the engine against the real relay binary's
//! server over loopback.
#![allow(dead_code)]

use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::WebSocketStream;

pub async fn ws_connect(addr: SocketAddr) -> Box<WebSocketStream<TcpStream>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}/turn").into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "turn".parse().unwrap());
    let (ws, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    Box::new(ws)
}
