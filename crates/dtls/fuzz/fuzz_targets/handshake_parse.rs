//! A handshake message body through every message parser, and the bytes as a run of fragments.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    polyrtc_dtls::fuzz::parse_message_bodies(data);
    polyrtc_dtls::fuzz::parse_fragments(data);
});
