//! Identifiers drawn from the connection's seeded RNG (never from the OS: the engine is
//! deterministic given its seed).

use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

/// RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/".
const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn ice_chars(rng: &mut ChaCha20Rng, len: usize) -> String {
    (0..len)
        .map(|_| {
            let i = (rng.next_u32() as usize) % ICE_CHARS.len();
            char::from(ICE_CHARS.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// ICE ufrag (Chromium uses 4 characters, the RFC 8839 minimum).
pub fn ice_ufrag(rng: &mut ChaCha20Rng) -> String {
    ice_chars(rng, 4)
}

/// ICE password (Chromium uses 24 characters; RFC 8839 requires at least 22).
pub fn ice_pwd(rng: &mut ChaCha20Rng) -> String {
    ice_chars(rng, 24)
}

/// An RFC 4122 version-4 UUID string, as Chromium uses for track and stream ids.
pub fn uuid(rng: &mut ChaCha20Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The o= session id: a random 63-bit number, 19 digits like Chromium's (RFC 8866 §5.2 only
/// asks for a numeric string; JSEP §5.2.1 says it should be 64-bit random, top bit clear).
pub fn session_id(rng: &mut ChaCha20Rng) -> String {
    const MIN: u64 = 1_000_000_000_000_000_000;
    const SPAN: u64 = (i64::MAX as u64) - MIN;
    (MIN + rng.next_u64() % SPAN).to_string()
}

pub fn ssrc(rng: &mut ChaCha20Rng) -> u32 {
    rng.next_u32().max(1)
}
