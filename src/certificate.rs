//! `RTCPeerConnection.generateCertificate()`: WebCrypto-style keygen parameters in, the bytes an
//! `RTCCertificate` keeps out (see `CertificateData`: they outlive this wasm instance).

use crate::convert::{error_to_js, from_js, to_js};
use polyrtc_dtls::certificate::{fingerprint, Certificate, KeyAlgorithm};
use polyrtc_engine::{ApiError, CertificateData, ErrorName, Fingerprint, KeygenAlgorithm};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wasm_bindgen::prelude::*;

/// Chromium's default certificate lifetime: 30 days.
pub const DEFAULT_LIFETIME_MS: f64 = 30.0 * 24.0 * 3600.0 * 1000.0;

/// The key algorithm for WebCrypto-style parameters, or NotSupportedError as Chromium gives for
/// anything but ECDSA P-256 and RSASSA-PKCS1-v1_5 (SHA-256, exponent 65537, modulus ≥ 1024).
pub fn key_algorithm(params: &KeygenAlgorithm) -> Result<KeyAlgorithm, ApiError> {
    let unsupported = |why: &str| ApiError::new(ErrorName::NotSupportedError, why.to_string());
    match params {
        KeygenAlgorithm::Ecdsa { named_curve } if named_curve == "P-256" => {
            Ok(KeyAlgorithm::EcdsaP256)
        }
        KeygenAlgorithm::Ecdsa { named_curve } => Err(unsupported(&format!(
            "the curve {named_curve:?} is not supported; use P-256"
        ))),
        KeygenAlgorithm::RsassaPkcs1V15 {
            modulus_length,
            public_exponent,
            hash,
        } => {
            if !hash.eq_ignore_ascii_case("SHA-256") {
                return Err(unsupported(
                    "RSASSA-PKCS1-v1_5 certificates need hash SHA-256",
                ));
            }
            let exponent = public_exponent
                .iter()
                .skip_while(|b| **b == 0)
                .try_fold(0u32, |acc, b| {
                    acc.checked_mul(256).map(|v| v + u32::from(*b))
                });
            if exponent != Some(65537) {
                return Err(unsupported(
                    "RSASSA-PKCS1-v1_5 certificates need publicExponent 65537",
                ));
            }
            if !(1024..=8192).contains(modulus_length) {
                return Err(unsupported("modulusLength must be between 1024 and 8192"));
            }
            Ok(KeyAlgorithm::Rsa {
                modulus_bits: *modulus_length,
                public_exponent: 65537,
            })
        }
    }
}

/// Generate a certificate valid from now until `wall_ms + lifetime_ms`.
pub fn generate(
    params: &KeygenAlgorithm,
    seed: [u8; 32],
    wall_ms: f64,
    lifetime_ms: f64,
) -> Result<CertificateData, ApiError> {
    let algorithm = key_algorithm(params)?;
    let mut rng = ChaCha20Rng::from_seed(seed);
    let now = wall_ms.max(0.0) as u64;
    let lifetime = if lifetime_ms.is_finite() {
        lifetime_ms.max(0.0) as u64
    } else {
        u64::MAX / 4
    };
    let cert = Certificate::generate(algorithm, &mut rng, now, lifetime)
        .map_err(|e| ApiError::new(ErrorName::OperationError, e.to_string()))?;
    let fingerprints = ["sha-256"]
        .iter()
        .filter_map(|alg| {
            fingerprint(&cert.der, alg).map(|value| Fingerprint {
                algorithm: (*alg).to_string(),
                value,
            })
        })
        .collect();
    Ok(CertificateData {
        expires: cert.expires_unix_ms as f64,
        certificate_der: cert.der,
        private_key_der: cert.private_key_pkcs8,
        fingerprints,
    })
}

/// JS: `generateCertificate(keygenAlgorithm, wallMs, lifetimeMs)` → CertificateData. `lifetimeMs`
/// may be undefined (Chromium's 30-day default).
#[wasm_bindgen(js_name = generateCertificate)]
pub fn generate_certificate(
    keygen_algorithm: JsValue,
    wall_ms: f64,
    lifetime_ms: Option<f64>,
) -> Result<JsValue, JsValue> {
    let params: KeygenAlgorithm = from_js(keygen_algorithm, "keygen algorithm")?;
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| {
        error_to_js(&ApiError::new(
            ErrorName::OperationError,
            format!("no randomness: {e}"),
        ))
    })?;
    let data = generate(
        &params,
        seed,
        wall_ms,
        lifetime_ms.unwrap_or(DEFAULT_LIFETIME_MS),
    )
    .map_err(|e| error_to_js(&e))?;
    to_js(&data)
}
