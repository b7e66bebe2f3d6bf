//! STUN message codec (RFC 8489) with the TURN attributes of RFC 8656, and the
//! ChannelData/stream framing of RFC 8656 §12. Shared by the relay and the
//! engine's ICE agent and TURN client; no I/O, no clock, no randomness source
//! of its own (callers bring transaction ids).
//!
//! Parsing borrows from the input and never panics; building appends to a
//! `Vec<u8>` and keeps the header length current so integrity and fingerprint
//! attributes can be computed at any point.

pub mod attributes;
pub mod framing;
pub mod integrity;
mod message;

pub use attributes::*;
pub use integrity::{fingerprint, LongTermKey};
pub use message::{Class, Message, MessageBuilder, Method, RawAttribute, TransactionId};

/// RFC 8489 §5: the fixed value in bytes 4..8 of every STUN message.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Size of the STUN header.
pub const HEADER_LEN: usize = 20;

/// Why a datagram is not a valid STUN message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StunError {
    #[error("message shorter than the 20-byte STUN header")]
    TooShort,
    #[error("first two bits are not zero")]
    NotStun,
    #[error("magic cookie mismatch")]
    BadMagicCookie,
    #[error("message length field {0} is not a multiple of 4")]
    UnalignedLength(usize),
    #[error("message length field says {declared} bytes but {actual} are present")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("attribute 0x{0:04x} runs past the end of the message")]
    TruncatedAttribute(u16),
    #[error("attribute 0x{0:04x} has a malformed value")]
    MalformedAttribute(u16),
    #[error("FINGERPRINT does not match")]
    BadFingerprint,
}
