//! A datagram through the record parser, the handshake-fragment parser and every message parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| polyrtc_dtls::fuzz::parse_datagram(data));
