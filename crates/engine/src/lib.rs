//! polyrtc-engine: a sans-IO WebRTC peer connection.
//!
//! The engine owns all protocol state and never reads a clock, opens a socket or touches JS: time
//! comes in as `now` on every call, randomness from a seed given at construction, and wall-clock
//! time (for certificate validity and stats) as milliseconds since the Unix epoch. Given the same
//! inputs it produces the same outputs. Its surface (see `PeerConnection`) follows str0m:
//! `handle_api_call`, `handle_timeout`, `handle_datagram` feed it; `poll_event`,
//! `poll_transmit`, `poll_timeout` drain it; `snapshot` tells every observable attribute.

pub mod api;

pub use api::*;
