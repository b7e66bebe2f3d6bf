//! Certificates for DTLS in WebRTC: key generation (ECDSA P-256, RSASSA-PKCS1-v1_5), self-signed
//! X.509 v3 (RFC 5280; validity window from wall time passed in), fingerprints as SDP
//! `a=fingerprint` writes them (RFC 8122 §5), PEM/DER export, and the signing/verification the
//! DTLS handshake needs.
//!
//! No clock is read: "now" is a parameter. Randomness comes from the caller's rng.

use core::time::Duration;
use std::str::FromStr;

use der::asn1::{BitString, GeneralizedTime, UtcTime};
use der::{Decode, Encode};
use p256::pkcs8::EncodePrivateKey;
use rand_core::{CryptoRng, RngCore};
use rsa::pkcs8::EncodePublicKey;
use sha2::Digest;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{TbsCertificate, Version};

pub use crate::signature::SignatureScheme;
use crate::signature::{PrivateKey, PublicKey, RSA_MAX_MODULUS_BITS, RSA_MIN_MODULUS_BITS};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("unsupported key algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error("invalid certificate or key: {0}")]
    Invalid(String),
    /// Kept for source compatibility with the stub; never returned.
    #[error("not implemented yet")]
    Unimplemented,
    #[error("signature does not verify")]
    BadSignature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    EcdsaP256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa {
        modulus_bits: u32,
        public_exponent: u32,
    },
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

/// OID ecdsa-with-SHA256 (RFC 5758 §3.2).
const OID_ECDSA_WITH_SHA256: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// OID sha256WithRSAEncryption (RFC 8017 Appendix C).
const OID_SHA256_WITH_RSA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// Browsers backdate notBefore by a day so that a peer whose clock is behind still accepts the
/// certificate (Chromium's `rtc::SSLIdentity` does the same).
const NOT_BEFORE_SKEW_MS: u64 = 24 * 60 * 60 * 1000;
/// 9999-12-31T23:59:59Z, the last instant GeneralizedTime (and `der`) can express.
const MAX_NOT_AFTER_SECS: u64 = 253_402_300_799;
/// 2050-01-01T00:00:00Z: RFC 5280 §4.1.2.5 requires UTCTime before it, GeneralizedTime after.
const UTC_TIME_LIMIT_SECS: u64 = 2_524_608_000;

impl Certificate {
    /// Generate a key and a self-signed certificate valid from `now_unix_ms` (minus a day, for
    /// clock skew, as browsers do) until `now_unix_ms + lifetime_ms`.
    pub fn generate<R: RngCore + CryptoRng>(
        algorithm: KeyAlgorithm,
        rng: &mut R,
        now_unix_ms: u64,
        lifetime_ms: u64,
    ) -> Result<Self, CertificateError> {
        let key = generate_key(algorithm, rng)?;
        let (private_key_pkcs8, spki_der) = match &key {
            PrivateKey::EcdsaP256(sk) => {
                let secret = p256::SecretKey::from(sk);
                let pkcs8 = secret.to_pkcs8_der().map_err(encode_err)?;
                let spki = secret
                    .public_key()
                    .to_public_key_der()
                    .map_err(encode_err)?;
                (pkcs8.as_bytes().to_vec(), spki.into_vec())
            }
            PrivateKey::Rsa(sk) => {
                let pkcs8 = sk.to_pkcs8_der().map_err(encode_err)?;
                let spki = sk.to_public_key().to_public_key_der().map_err(encode_err)?;
                (pkcs8.as_bytes().to_vec(), spki.into_vec())
            }
        };
        let spki = SubjectPublicKeyInfoOwned::from_der(&spki_der).map_err(der_err)?;

        let not_after_secs = now_unix_ms.saturating_add(lifetime_ms) / 1000;
        let not_after_secs = not_after_secs.min(MAX_NOT_AFTER_SECS);
        let not_before_secs = now_unix_ms.saturating_sub(NOT_BEFORE_SKEW_MS) / 1000;
        let validity = Validity {
            not_before: x509_time(not_before_secs.min(not_after_secs))?,
            not_after: x509_time(not_after_secs)?,
        };

        let signature_algorithm = match algorithm {
            KeyAlgorithm::EcdsaP256 => AlgorithmIdentifierOwned {
                oid: OID_ECDSA_WITH_SHA256,
                parameters: None,
            },
            // RFC 4055 §5: the parameters of sha256WithRSAEncryption are NULL.
            KeyAlgorithm::Rsa { .. } => AlgorithmIdentifierOwned {
                oid: OID_SHA256_WITH_RSA,
                parameters: Some(der::asn1::Null.into()),
            },
        };
        let name = Name::from_str("CN=WebRTC").map_err(der_err)?;
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial(rng)?,
            signature: signature_algorithm.clone(),
            issuer: name.clone(),
            validity,
            subject: name,
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: None,
        };
        let tbs_der = tbs.to_der().map_err(der_err)?;
        let signature = key.sign(rng, &tbs_der)?;
        let cert = x509_cert::Certificate {
            tbs_certificate: tbs,
            signature_algorithm,
            signature: BitString::from_bytes(&signature).map_err(der_err)?,
        };
        let der = cert.to_der().map_err(der_err)?;
        Ok(Certificate {
            der,
            private_key_pkcs8,
            algorithm: key.public_key().algorithm(),
            expires_unix_ms: not_after_secs.saturating_mul(1000),
        })
    }

    /// Rebuild from DER certificate + PKCS#8 key (as stored by a JS `RTCCertificate`). Checks
    /// that the key belongs to the certificate; reads the algorithm and notAfter from it.
    pub fn from_der(der: &[u8], private_key_pkcs8: &[u8]) -> Result<Self, CertificateError> {
        let cert = x509_cert::Certificate::from_der(der).map_err(der_err)?;
        let public = PublicKey::from_spki(&cert.tbs_certificate.subject_public_key_info)?;
        let private = PrivateKey::from_pkcs8(private_key_pkcs8)?;
        if private.public_key() != public {
            return Err(CertificateError::Invalid(
                "private key does not match the certificate".into(),
            ));
        }
        let not_after = cert.tbs_certificate.validity.not_after.to_unix_duration();
        Ok(Certificate {
            der: der.to_vec(),
            private_key_pkcs8: private_key_pkcs8.to_vec(),
            algorithm: public.algorithm(),
            expires_unix_ms: u64::try_from(not_after.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// "sha-256" fingerprint as SDP writes it: upper-case hex bytes joined by ':'.
    pub fn fingerprint_sha256(&self) -> String {
        fingerprint(&self.der, "sha-256").unwrap_or_default()
    }

    /// The certificate as PEM ("CERTIFICATE", RFC 7468 §5).
    pub fn to_pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }

    /// The private key as unencrypted PKCS#8 PEM ("PRIVATE KEY", RFC 7468 §10).
    pub fn private_key_pem(&self) -> String {
        pem("PRIVATE KEY", &self.private_key_pkcs8)
    }

    /// The scheme `sign` uses: ecdsa+sha256 or rsa+sha256 (RFC 5246 §7.4.1.4.1).
    pub fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::for_key(self.algorithm)
    }

    /// Sign a handshake message (ServerKeyExchange params, CertificateVerify transcript) with
    /// this certificate's key using `signature_scheme()`: a DER ECDSA-Sig-Value, or an
    /// RSASSA-PKCS1-v1_5 SHA-256 signature. The rng blinds RSA; ECDSA is deterministic.
    pub fn sign<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        msg: &[u8],
    ) -> Result<Vec<u8>, CertificateError> {
        PrivateKey::from_pkcs8(&self.private_key_pkcs8)?.sign(rng, msg)
    }
}

/// Verify `sig` over `msg` with the public key of the DER certificate `cert_der` (the peer's
/// leaf certificate) under `scheme`. Hostile input yields an error, never a panic.
pub fn verify_with_certificate(
    cert_der: &[u8],
    msg: &[u8],
    sig: &[u8],
    scheme: SignatureScheme,
) -> Result<(), CertificateError> {
    let cert = x509_cert::Certificate::from_der(cert_der).map_err(der_err)?;
    PublicKey::from_spki(&cert.tbs_certificate.subject_public_key_info)?.verify(scheme, msg, sig)
}

/// Fingerprint of a DER certificate with the named hash ("sha-1", "sha-256", "sha-384",
/// "sha-512", case-insensitive as RFC 8122 §5 hash names are), or None for an unknown hash name.
pub fn fingerprint(der: &[u8], algorithm: &str) -> Option<String> {
    let digest = match algorithm.to_ascii_lowercase().as_str() {
        "sha-1" => sha1::Sha1::digest(der).to_vec(),
        "sha-256" => sha2::Sha256::digest(der).to_vec(),
        "sha-384" => sha2::Sha384::digest(der).to_vec(),
        "sha-512" => sha2::Sha512::digest(der).to_vec(),
        _ => return None,
    };
    let mut out = String::with_capacity(digest.len() * 3);
    for (i, b) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02X}"));
    }
    Some(out)
}

fn generate_key<R: RngCore + CryptoRng>(
    algorithm: KeyAlgorithm,
    rng: &mut R,
) -> Result<PrivateKey, CertificateError> {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => Ok(PrivateKey::EcdsaP256(p256::ecdsa::SigningKey::random(rng))),
        KeyAlgorithm::Rsa {
            modulus_bits,
            public_exponent,
        } => {
            let bits = modulus_bits as usize;
            if !(RSA_MIN_MODULUS_BITS..=RSA_MAX_MODULUS_BITS).contains(&bits) {
                return Err(CertificateError::UnsupportedAlgorithm(format!(
                    "RSA modulus of {modulus_bits} bits (allowed {RSA_MIN_MODULUS_BITS}..={RSA_MAX_MODULUS_BITS})"
                )));
            }
            if public_exponent != 65537 && public_exponent != 3 {
                return Err(CertificateError::UnsupportedAlgorithm(format!(
                    "RSA public exponent {public_exponent} (allowed 65537 or 3)"
                )));
            }
            let e = rsa::BigUint::from(public_exponent);
            let key = rsa::RsaPrivateKey::new_with_exp(rng, bits, &e)
                .map_err(|e| CertificateError::Invalid(format!("RSA key generation: {e}")))?;
            Ok(PrivateKey::Rsa(Box::new(key)))
        }
    }
}

/// A positive 64-bit random serial number (RFC 5280 §4.1.2.2: positive, unique per issuer).
fn random_serial<R: RngCore>(rng: &mut R) -> Result<SerialNumber, CertificateError> {
    let mut bytes = [0u8; 8];
    rng.fill_bytes(&mut bytes);
    // Clear the sign bit and keep the top byte non-zero, so the INTEGER is exactly 8 octets.
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::new(&bytes).map_err(der_err)
}

fn x509_time(secs: u64) -> Result<Time, CertificateError> {
    let d = Duration::from_secs(secs);
    if secs < UTC_TIME_LIMIT_SECS {
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(d).map_err(der_err)?,
        ))
    } else {
        Ok(Time::GeneralTime(
            GeneralizedTime::from_unix_duration(d).map_err(der_err)?,
        ))
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64ct::Encoding;
    let b64 = base64ct::Base64::encode_string(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    // RFC 7468 §2: lines of exactly 64 characters except the last. Base64 is ASCII, so byte
    // chunks are character boundaries.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn der_err(e: der::Error) -> CertificateError {
    CertificateError::Invalid(format!("DER: {e}"))
}

fn encode_err(e: impl core::fmt::Display) -> CertificateError {
    CertificateError::Invalid(format!("key encoding: {e}"))
}

#[cfg(test)]
#[path = "certificate_tests.rs"]
mod tests;
