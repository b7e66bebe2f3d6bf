//! Handshake signatures: the TLS 1.2 `SignatureAndHashAlgorithm` pairs WebRTC uses
//! (RFC 5246 §7.4.1.4.1), signing with our certificate's key and verifying with the peer's
//! certificate (ServerKeyExchange, CertificateVerify).
//!
//! ECDSA signatures are DER `Ecdsa-Sig-Value` (RFC 4492 §5.4); RSA is RSASSA-PKCS1-v1_5.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::pkcs8::DecodePrivateKey;
use rand_core::{CryptoRng, RngCore};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::der::Decode;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::certificate::{CertificateError, KeyAlgorithm};

/// OID id-ecPublicKey (RFC 5480 §2.1.1).
pub(crate) const OID_EC_PUBLIC_KEY: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// OID secp256r1 / prime256v1 (RFC 5480 §2.1.1.1).
pub(crate) const OID_SECP256R1: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// OID rsaEncryption (RFC 8017 Appendix C).
pub(crate) const OID_RSA_ENCRYPTION: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Largest RSA modulus accepted anywhere (ours or the peer's); bounds the work a hostile
/// certificate can cause.
pub const RSA_MAX_MODULUS_BITS: usize = 8192;
/// Smallest RSA modulus accepted (WebCrypto and Chromium accept 1024).
pub const RSA_MIN_MODULUS_BITS: usize = 1024;

/// A TLS 1.2 SignatureAndHashAlgorithm (RFC 5246 §7.4.1.4.1), written as its two-byte code
/// point: hash in the high byte (4 = SHA-256, 5 = SHA-384, 6 = SHA-512), signature in the low
/// byte (1 = RSA, 3 = ECDSA). In TLS 1.2 the ECDSA curve is not bound to the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    RsaPkcs1Sha512,
    EcdsaSha256,
    EcdsaSha384,
    EcdsaSha512,
}

impl SignatureScheme {
    /// Every scheme we can verify, in our order of preference (what we offer in
    /// `signature_algorithms`).
    pub const ALL: [SignatureScheme; 6] = [
        SignatureScheme::EcdsaSha256,
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::EcdsaSha384,
        SignatureScheme::RsaPkcs1Sha384,
        SignatureScheme::EcdsaSha512,
        SignatureScheme::RsaPkcs1Sha512,
    ];

    pub fn to_u16(self) -> u16 {
        match self {
            SignatureScheme::RsaPkcs1Sha256 => 0x0401,
            SignatureScheme::RsaPkcs1Sha384 => 0x0501,
            SignatureScheme::RsaPkcs1Sha512 => 0x0601,
            SignatureScheme::EcdsaSha256 => 0x0403,
            SignatureScheme::EcdsaSha384 => 0x0503,
            SignatureScheme::EcdsaSha512 => 0x0603,
        }
    }

    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0x0401 => SignatureScheme::RsaPkcs1Sha256,
            0x0501 => SignatureScheme::RsaPkcs1Sha384,
            0x0601 => SignatureScheme::RsaPkcs1Sha512,
            0x0403 => SignatureScheme::EcdsaSha256,
            0x0503 => SignatureScheme::EcdsaSha384,
            0x0603 => SignatureScheme::EcdsaSha512,
            _ => return None,
        })
    }

    pub fn is_ecdsa(self) -> bool {
        matches!(
            self,
            SignatureScheme::EcdsaSha256
                | SignatureScheme::EcdsaSha384
                | SignatureScheme::EcdsaSha512
        )
    }

    /// The scheme our own key signs with (always SHA-256, which every WebRTC stack accepts).
    pub fn for_key(algorithm: KeyAlgorithm) -> Self {
        match algorithm {
            KeyAlgorithm::EcdsaP256 => SignatureScheme::EcdsaSha256,
            KeyAlgorithm::Rsa { .. } => SignatureScheme::RsaPkcs1Sha256,
        }
    }

    fn digest(self, msg: &[u8]) -> Vec<u8> {
        match self {
            SignatureScheme::RsaPkcs1Sha256 | SignatureScheme::EcdsaSha256 => {
                Sha256::digest(msg).to_vec()
            }
            SignatureScheme::RsaPkcs1Sha384 | SignatureScheme::EcdsaSha384 => {
                Sha384::digest(msg).to_vec()
            }
            SignatureScheme::RsaPkcs1Sha512 | SignatureScheme::EcdsaSha512 => {
                Sha512::digest(msg).to_vec()
            }
        }
    }

    fn pkcs1v15(self) -> Pkcs1v15Sign {
        match self {
            SignatureScheme::RsaPkcs1Sha384 | SignatureScheme::EcdsaSha384 => {
                Pkcs1v15Sign::new::<Sha384>()
            }
            SignatureScheme::RsaPkcs1Sha512 | SignatureScheme::EcdsaSha512 => {
                Pkcs1v15Sign::new::<Sha512>()
            }
            _ => Pkcs1v15Sign::new::<Sha256>(),
        }
    }
}

/// A public key taken from a SubjectPublicKeyInfo we support.
#[derive(Debug, Clone)]
pub(crate) enum PublicKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Rsa(RsaPublicKey),
}

impl PublicKey {
    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, CertificateError> {
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| invalid("public key is not a whole number of bytes"))?;
        let oid = spki.algorithm.oid;
        if oid == OID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::oid::ObjectIdentifier>().ok());
            if curve != Some(OID_SECP256R1) {
                return Err(CertificateError::UnsupportedAlgorithm(
                    "EC key on a curve other than P-256".into(),
                ));
            }
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|_| invalid("bad P-256 public key"))?;
            Ok(PublicKey::EcdsaP256(vk))
        } else if oid == OID_RSA_ENCRYPTION {
            // Parse PKCS#1 ourselves: `RsaPublicKey::try_from(spki)` caps the modulus at 4096.
            let pk = rsa::pkcs1::RsaPublicKey::from_der(key_bytes)
                .map_err(|_| invalid("bad RSA public key"))?;
            let n = rsa::BigUint::from_bytes_be(pk.modulus.as_bytes());
            let e = rsa::BigUint::from_bytes_be(pk.public_exponent.as_bytes());
            let key = RsaPublicKey::new_with_max_size(n, e, RSA_MAX_MODULUS_BITS)
                .map_err(|e| invalid(&format!("bad RSA public key: {e}")))?;
            if key.n().bits() < RSA_MIN_MODULUS_BITS {
                return Err(CertificateError::UnsupportedAlgorithm(format!(
                    "RSA modulus of {} bits",
                    key.n().bits()
                )));
            }
            Ok(PublicKey::Rsa(key))
        } else {
            Err(CertificateError::UnsupportedAlgorithm(format!(
                "public key algorithm {oid}"
            )))
        }
    }

    pub(crate) fn algorithm(&self) -> KeyAlgorithm {
        match self {
            PublicKey::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
            PublicKey::Rsa(k) => KeyAlgorithm::Rsa {
                modulus_bits: u32::try_from(k.n().bits()).unwrap_or(u32::MAX),
                public_exponent: rsa_exponent_u32(k),
            },
        }
    }

    pub(crate) fn verify(
        &self,
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), CertificateError> {
        let digest = scheme.digest(msg);
        match self {
            PublicKey::EcdsaP256(vk) if scheme.is_ecdsa() => {
                let sig = p256::ecdsa::Signature::from_der(sig)
                    .map_err(|_| CertificateError::BadSignature)?;
                vk.verify_prehash(&digest, &sig)
                    .map_err(|_| CertificateError::BadSignature)
            }
            PublicKey::Rsa(k) if !scheme.is_ecdsa() => k
                .verify(scheme.pkcs1v15(), &digest, sig)
                .map_err(|_| CertificateError::BadSignature),
            _ => Err(CertificateError::UnsupportedAlgorithm(format!(
                "{scheme:?} does not match the certificate key"
            ))),
        }
    }
}

fn rsa_exponent_u32(k: &RsaPublicKey) -> u32 {
    let bytes = k.e().to_bytes_be();
    if bytes.len() > 4 {
        return u32::MAX;
    }
    bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

/// A private key parsed from PKCS#8 (RFC 5208).
pub(crate) enum PrivateKey {
    EcdsaP256(p256::ecdsa::SigningKey),
    Rsa(Box<RsaPrivateKey>),
}

impl PrivateKey {
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self, CertificateError> {
        let info = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|_| invalid("private key is not PKCS#8"))?;
        let oid = info.algorithm.oid;
        if oid == OID_EC_PUBLIC_KEY {
            let sk = p256::SecretKey::from_pkcs8_der(der)
                .map_err(|_| invalid("bad P-256 private key"))?;
            Ok(PrivateKey::EcdsaP256(sk.into()))
        } else if oid == OID_RSA_ENCRYPTION {
            let sk = rsa::pkcs1::RsaPrivateKey::from_der(info.private_key)
                .map_err(|_| invalid("bad RSA private key"))?;
            // Check the size before the (costly) key validation in `from_components`.
            let n = rsa::BigUint::from_bytes_be(sk.modulus.as_bytes());
            let bits = n.bits();
            if !(RSA_MIN_MODULUS_BITS..=RSA_MAX_MODULUS_BITS).contains(&bits) {
                return Err(CertificateError::UnsupportedAlgorithm(format!(
                    "RSA modulus of {bits} bits"
                )));
            }
            let key = RsaPrivateKey::from_components(
                n,
                rsa::BigUint::from_bytes_be(sk.public_exponent.as_bytes()),
                rsa::BigUint::from_bytes_be(sk.private_exponent.as_bytes()),
                vec![
                    rsa::BigUint::from_bytes_be(sk.prime1.as_bytes()),
                    rsa::BigUint::from_bytes_be(sk.prime2.as_bytes()),
                ],
            )
            .map_err(|e| invalid(&format!("bad RSA private key: {e}")))?;
            Ok(PrivateKey::Rsa(Box::new(key)))
        } else {
            Err(CertificateError::UnsupportedAlgorithm(format!(
                "private key algorithm {oid}"
            )))
        }
    }

    /// The public half, for matching against a certificate.
    pub(crate) fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::EcdsaP256(sk) => PublicKey::EcdsaP256(*sk.verifying_key()),
            PrivateKey::Rsa(sk) => PublicKey::Rsa(sk.to_public_key()),
        }
    }

    /// Sign `msg` with the scheme `SignatureScheme::for_key` names. RSA uses blinding (hence the
    /// rng); ECDSA nonces are deterministic (RFC 6979).
    pub(crate) fn sign<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        msg: &[u8],
    ) -> Result<Vec<u8>, CertificateError> {
        match self {
            PrivateKey::EcdsaP256(sk) => {
                use p256::ecdsa::signature::Signer;
                let sig: p256::ecdsa::Signature = sk
                    .try_sign(msg)
                    .map_err(|_| invalid("ECDSA signing failed"))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            PrivateKey::Rsa(sk) => {
                let scheme = SignatureScheme::RsaPkcs1Sha256;
                sk.sign_with_rng(rng, scheme.pkcs1v15(), &scheme.digest(msg))
                    .map_err(|e| invalid(&format!("RSA signing failed: {e}")))
            }
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (PublicKey::EcdsaP256(a), PublicKey::EcdsaP256(b)) => a == b,
            (PublicKey::Rsa(a), PublicKey::Rsa(b)) => a == b,
            _ => false,
        }
    }
}

pub(crate) fn invalid(msg: &str) -> CertificateError {
    CertificateError::Invalid(msg.to_string())
}
