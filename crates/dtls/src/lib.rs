//! polyrtc-dtls: sans-IO DTLS 1.2 (RFC 6347) for WebRTC, and the certificates it uses.
//!
//! No clock reads, no sockets, no global state: time and randomness are inputs.

pub mod certificate;
