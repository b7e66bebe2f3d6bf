//! Handshake layer: message header and fragmentation, reassembly, message bodies.

pub mod header;
pub mod messages;
pub mod reassembly;

pub use header::{HandshakeHeader, HandshakeType};
