//! Certificates for DTLS in WebRTC: key generation (ECDSA P-256, RSASSA-PKCS1-v1_5), self-signed
//! X.509 (validity window from wall time passed in), SHA-256 fingerprints, PEM/DER export.
//!
//! STUB: the signatures below are the contract; the bodies are being written.

use rand_core::{CryptoRng, RngCore};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("unsupported key algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error("invalid certificate or key: {0}")]
    Invalid(String),
    #[error("not implemented yet")]
    Unimplemented,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    EcdsaP256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa { modulus_bits: u32, public_exponent: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// X.509 DER.
    pub der: Vec<u8>,
    /// PKCS#8 DER private key.
    pub private_key_pkcs8: Vec<u8>,
    pub algorithm: KeyAlgorithm,
    /// notAfter, milliseconds since the Unix epoch.
    pub expires_unix_ms: u64,
}

impl Certificate {
    /// Generate a key and a self-signed certificate valid from `now_unix_ms` (minus a day, for
    /// clock skew, as browsers do) until `now_unix_ms + lifetime_ms`.
    pub fn generate<R: RngCore + CryptoRng>(
        _algorithm: KeyAlgorithm,
        _rng: &mut R,
        _now_unix_ms: u64,
        _lifetime_ms: u64,
    ) -> Result<Self, CertificateError> {
        Err(CertificateError::Unimplemented)
    }

    /// Rebuild from DER certificate + PKCS#8 key (as stored by a JS `RTCCertificate`).
    pub fn from_der(_der: &[u8], _private_key_pkcs8: &[u8]) -> Result<Self, CertificateError> {
        Err(CertificateError::Unimplemented)
    }

    /// "sha-256" fingerprint as SDP writes it: upper-case hex bytes joined by ':'.
    pub fn fingerprint_sha256(&self) -> String {
        fingerprint(&self.der, "sha-256").unwrap_or_default()
    }
}

/// Fingerprint of a DER certificate with the named hash ("sha-1", "sha-256", "sha-384",
/// "sha-512"), or None for an unknown hash name.
pub fn fingerprint(_der: &[u8], _algorithm: &str) -> Option<String> {
    None
}
