//! The crate's error type and its mapping to TLS alerts (RFC 5246 §7.2).

use crate::certificate::CertificateError;
use crate::codec::DecodeError;
use crate::key_exchange::KeyExchangeError;

/// AlertDescription values we send (RFC 5246 §7.2).
pub mod alert {
    pub const CLOSE_NOTIFY: u8 = 0;
    pub const UNEXPECTED_MESSAGE: u8 = 10;
    pub const HANDSHAKE_FAILURE: u8 = 40;
    pub const BAD_CERTIFICATE: u8 = 42;
    pub const UNSUPPORTED_CERTIFICATE: u8 = 43;
    pub const ILLEGAL_PARAMETER: u8 = 47;
    pub const DECODE_ERROR: u8 = 50;
    pub const DECRYPT_ERROR: u8 = 51;
    pub const PROTOCOL_VERSION: u8 = 70;
    pub const INTERNAL_ERROR: u8 = 80;
    pub const LEVEL_WARNING: u8 = 1;
    pub const LEVEL_FATAL: u8 = 2;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("malformed message: {0}")]
    Decode(#[from] DecodeError),
    #[error("unexpected {0} message")]
    UnexpectedMessage(&'static str),
    #[error("handshake failure: {0}")]
    HandshakeFailure(String),
    #[error("illegal parameter: {0}")]
    IllegalParameter(&'static str),
    #[error("peer certificate: {0}")]
    Certificate(#[from] CertificateError),
    #[error("peer sent no certificate")]
    NoCertificate,
    #[error("peer certificate does not match the expected fingerprint")]
    FingerprintMismatch,
    #[error("Finished verify_data does not match")]
    BadFinished,
    #[error("key exchange: {0}")]
    KeyExchange(#[from] KeyExchangeError),
    #[error("peer does not support DTLS 1.2")]
    ProtocolVersion,
    #[error("peer sent fatal alert {0}")]
    PeerAlert(u8),
    #[error("handshake timed out")]
    Timeout,
    #[error("not connected")]
    NotConnected,
    #[error("connection closed")]
    Closed,
    #[error("application data larger than one record (16384 bytes)")]
    RecordOverflow,
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The fatal alert to send for this error, if any.
    pub fn alert(&self) -> Option<u8> {
        use alert::*;
        Some(match self {
            Error::Decode(_) => DECODE_ERROR,
            Error::UnexpectedMessage(_) => UNEXPECTED_MESSAGE,
            Error::HandshakeFailure(_) => HANDSHAKE_FAILURE,
            Error::IllegalParameter(_) | Error::KeyExchange(_) => ILLEGAL_PARAMETER,
            Error::Certificate(CertificateError::BadSignature) | Error::BadFinished => {
                DECRYPT_ERROR
            }
            Error::Certificate(CertificateError::UnsupportedAlgorithm(_)) => {
                UNSUPPORTED_CERTIFICATE
            }
            Error::Certificate(_) | Error::NoCertificate | Error::FingerprintMismatch => {
                BAD_CERTIFICATE
            }
            Error::ProtocolVersion => PROTOCOL_VERSION,
            Error::Internal(_) => INTERNAL_ERROR,
            Error::PeerAlert(_)
            | Error::Timeout
            | Error::NotConnected
            | Error::RecordOverflow
            | Error::Closed => return None,
        })
    }
}
