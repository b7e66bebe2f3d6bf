//! polyrtc-relay: a TURN server (RFC 8656, STUN RFC 8489) reachable over UDP,
//! TCP, TLS, WebSocket (ws and wss) and WebTransport, built as a sans-IO core ([`turn::TurnServer`]) and thin
//! tokio shells ([`server`]).

pub mod allocation;
pub mod auth;
pub mod certs;
pub mod client;
pub mod config;
pub mod framing;
pub mod fuzzing;
pub mod metrics;
pub mod secure_config;
pub mod server;
pub mod stun;
pub mod turn;
