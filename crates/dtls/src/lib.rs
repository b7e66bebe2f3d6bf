//! polyrtc-dtls: sans-IO DTLS 1.2 (RFC 6347) for WebRTC, and the certificates it uses.
//!
//! No clock reads, no sockets, no global state: time (`Instant`) and randomness (an injected
//! `rand_core` CSPRNG) are inputs, so it runs on `wasm32-unknown-unknown`.
//!
//! What it speaks: ECDHE (X25519, P-256) with ECDSA P-256 or RSA certificates; AEAD suites
//! only (ChaCha20-Poly1305 preferred, AES-128/256-GCM); extended master secret required
//! (RFC 7627); use_srtp (RFC 5764) and the RFC 5705 exporter; mutual certificate
//! authentication checked against the SDP fingerprint; stateless cookie exchange on the server;
//! retransmission with doubling timers; fragmentation to an MTU and reassembly; a replay
//! window. No renegotiation, resumption, compression or CBC suites.
//!
//! ```no_run
//! use std::time::Instant;
//! use polyrtc_dtls::{Certificate, Config, Endpoint, Event, Fingerprint, KeyAlgorithm, Role};
//! # fn rng() -> rand_chacha::ChaCha20Rng { rand_core::SeedableRng::seed_from_u64(0) }
//! # fn send(_: &[u8]) {}
//! # let (now_unix_ms, remote_fp) = (0u64, String::new());
//! # let now: Instant = todo!();
//! // `now` and `now_unix_ms` come from the caller (in wasm, the shell's clock): the crate never
//! // reads the clock, because std's clock read panics on wasm32-unknown-unknown.
//! let cert = Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng(), now_unix_ms, 30 * 86_400_000)?;
//! let mut config = Config::new(cert);
//! config.expected_remote_fingerprint = Some(Fingerprint::new("sha-256", &remote_fp));
//! let mut dtls = Endpoint::new(Role::Client, config, rng(), now);
//! // Loop: feed input, then drain output and events, then sleep until poll_timeout().
//! # let datagram = [0u8; 0];
//! dtls.handle_datagram(now, &datagram);
//! while let Some(d) = dtls.poll_datagram() { send(&d) }
//! while let Some(ev) = dtls.poll_event() {
//!     if let Event::Connected { srtp_profile, .. } = ev {
//!         let (_profile, _keys) = dtls.srtp_keying_material()?;
//!     }
//! }
//! if let Some(at) = dtls.poll_timeout() { /* call dtls.handle_timeout(at) then */ }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod certificate;
pub mod cipher_suite;
pub mod codec;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod extensions;
pub mod fuzz;
pub mod handshake;
pub mod key_exchange;
pub mod prf;
pub mod record;
pub mod record_protection;
pub mod replay;

mod client;
mod server;
mod session;
mod signature;

pub use certificate::{
    fingerprint, verify_with_certificate, Certificate, CertificateError, KeyAlgorithm,
    SignatureScheme,
};
pub use cipher_suite::CipherSuite;
pub use config::{Config, Fingerprint, Role, SrtpProfile};
pub use endpoint::{Endpoint, Event};
pub use error::Error;
