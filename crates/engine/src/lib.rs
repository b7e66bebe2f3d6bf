//! polyrtc-engine: a sans-IO WebRTC peer connection.
//!
//! The engine owns all protocol state and never reads a clock, opens a socket or touches JS: time
//! comes in as `now` on every call, randomness from a seed given at construction, and wall-clock
//! time (for certificate validity and stats) as milliseconds since the Unix epoch. Given the same
//! inputs it produces the same outputs. Its surface (see `PeerConnection`) follows str0m:
//! `handle_api_call`, `handle_timeout`, `handle_datagram` feed it; `poll_event`,
//! `poll_transmit`, `poll_timeout` drain it; `snapshot` tells every observable attribute.

// The contract file is shared with the JS shim and the wasm shell and keeps its authors' layout;
// its enums mirror the JS dictionaries, so variant sizes differ by design.
#[rustfmt::skip]
#[allow(clippy::large_enum_variant)]
pub mod api;
pub mod candidate;
pub mod codecs;
pub mod config;
pub mod data_channel;
pub mod fuzz_entry;
pub mod ice;
pub mod jsep;
pub mod network;
mod peer_connection;
mod random;
pub mod sctp;
pub mod sdp;
mod stats;
pub mod transceiver;
mod transport;
pub mod turn;

pub use api::*;
pub use network::{RelayCommand, RelayId, RelayTransportState};
pub use peer_connection::PeerConnection;
