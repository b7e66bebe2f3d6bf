//! Endpoint configuration and the values the handshake negotiates for WebRTC.

use core::time::Duration;

use crate::certificate::{fingerprint, Certificate};
use crate::cipher_suite::CipherSuite;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    Aes128CmHmacSha1_80,
    Aes128CmHmacSha1_32,
    AeadAes128Gcm,
    AeadAes256Gcm,
}

impl SrtpProfile {
    pub fn to_u16(self) -> u16 {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => 0x0001,
            SrtpProfile::Aes128CmHmacSha1_32 => 0x0002,
            SrtpProfile::AeadAes128Gcm => 0x0007,
            SrtpProfile::AeadAes256Gcm => 0x0008,
        }
    }

    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0x0001 => SrtpProfile::Aes128CmHmacSha1_80,
            0x0002 => SrtpProfile::Aes128CmHmacSha1_32,
            0x0007 => SrtpProfile::AeadAes128Gcm,
            0x0008 => SrtpProfile::AeadAes256Gcm,
            _ => return None,
        })
    }

    /// Bytes of SRTP keying material to export: 2 × (master key + master salt)
    /// (RFC 5764 §4.2; key/salt sizes from RFC 3711 §8.2 and RFC 7714 §12).
    pub fn keying_material_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 | SrtpProfile::Aes128CmHmacSha1_32 => 2 * (16 + 14),
            SrtpProfile::AeadAes128Gcm => 2 * (16 + 12),
            SrtpProfile::AeadAes256Gcm => 2 * (32 + 12),
        }
    }
}

/// An SDP `a=fingerprint` value (RFC 8122 §5), e.g. ("sha-256", "AB:CD:…").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub algorithm: String,
    pub value: String,
}

impl Fingerprint {
    pub fn new(algorithm: &str, value: &str) -> Self {
        Fingerprint {
            algorithm: algorithm.to_string(),
            value: value.to_string(),
        }
    }

    /// Whether `der` hashes to this fingerprint (hex compared case-insensitively).
    pub fn matches(&self, der: &[u8]) -> bool {
        fingerprint(der, &self.algorithm).is_some_and(|fp| fp.eq_ignore_ascii_case(&self.value))
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub certificate: Certificate,
    /// The peer's SDP fingerprint. When `None`, any certificate is accepted and the caller
    /// must check `Event::Connected::peer_certificate` itself.
    pub expected_remote_fingerprint: Option<Fingerprint>,
    /// Largest datagram we send (DTLS records included, UDP/IP headers excluded).
    pub mtu: usize,
    /// In preference order; empty = do not negotiate use_srtp.
    pub srtp_profiles: Vec<SrtpProfile>,
    /// In preference order.
    pub cipher_suites: Vec<CipherSuite>,
    /// Give up if the handshake has not completed this long after it started.
    pub handshake_timeout: Duration,
    /// First retransmission timeout (RFC 6347 §4.2.4.1: 1 s, doubling up to 60 s).
    pub initial_retransmit: Duration,
}

impl Config {
    pub fn new(certificate: Certificate) -> Self {
        Config {
            certificate,
            expected_remote_fingerprint: None,
            mtu: 1200,
            srtp_profiles: vec![SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmHmacSha1_80],
            cipher_suites: CipherSuite::DEFAULT.to_vec(),
            handshake_timeout: Duration::from_secs(30),
            initial_retransmit: Duration::from_secs(1),
        }
    }
}

pub const MAX_RETRANSMIT: Duration = Duration::from_secs(60);
