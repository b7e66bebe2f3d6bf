use std::path::PathBuf;
use std::process::Command;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;

/// 2026-11-25T00:00:00Z
const NOW_MS: u64 = 1_795_564_800_000;
const DAY_MS: u64 = 24 * 60 * 60 * 1000;
const RSA_1024: KeyAlgorithm = KeyAlgorithm::Rsa {
    modulus_bits: 1024,
    public_exponent: 65537,
};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn ecdsa_cert() -> Certificate {
    Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng(1), NOW_MS, 30 * DAY_MS).unwrap()
}

/// RSA key generation is slow in debug builds: make the shared one once.
fn rsa_cert() -> Certificate {
    static CERT: std::sync::OnceLock<Certificate> = std::sync::OnceLock::new();
    CERT.get_or_init(|| Certificate::generate(RSA_1024, &mut rng(2), NOW_MS, 30 * DAY_MS).unwrap())
        .clone()
}

/// A scratch directory for files handed to `openssl`; None when `openssl` is not installed.
fn openssl_dir(name: &str) -> Option<PathBuf> {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl not installed: skipping the openssl cross-check");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("polyrtc-dtls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Some(dir)
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Cross-check a generated certificate and key with the system OpenSSL.
fn check_with_openssl(cert: &Certificate, name: &str, key_text: &str) {
    let Some(dir) = openssl_dir(name) else { return };
    let der_path = dir.join("cert.der");
    let pem_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&der_path, &cert.der).unwrap();
    std::fs::write(&pem_path, cert.to_pem()).unwrap();
    std::fs::write(&key_path, cert.private_key_pem()).unwrap();
    let (der_s, pem_s, key_s) = (
        der_path.to_str().unwrap(),
        pem_path.to_str().unwrap(),
        key_path.to_str().unwrap(),
    );

    let text = openssl(&["x509", "-inform", "DER", "-in", der_s, "-noout", "-text"]);
    assert!(text.contains("Version: 3 (0x2)"), "{text}");
    assert!(text.contains("Issuer: CN = WebRTC"), "{text}");
    assert!(text.contains("Subject: CN = WebRTC"), "{text}");
    assert!(
        text.contains("Not Before: Nov 24 00:00:00 2026 GMT"),
        "{text}"
    );
    assert!(
        text.contains("Not After : Dec 25 00:00:00 2026 GMT"),
        "{text}"
    );
    assert!(text.contains(key_text), "{text}");

    // Self-signed: the signature verifies with its own key.
    let verify = openssl(&[
        "verify",
        "-no_check_time",
        "-check_ss_sig",
        "-CAfile",
        pem_s,
        pem_s,
    ]);
    assert!(verify.contains(": OK"), "{verify}");

    let fp = openssl(&["x509", "-in", pem_s, "-noout", "-fingerprint", "-sha256"]);
    assert_eq!(
        fp.trim(),
        format!("sha256 Fingerprint={}", cert.fingerprint_sha256())
    );
    let fp1 = openssl(&["x509", "-in", pem_s, "-noout", "-fingerprint", "-sha1"]);
    assert_eq!(
        fp1.trim(),
        format!(
            "sha1 Fingerprint={}",
            fingerprint(&cert.der, "sha-1").unwrap()
        )
    );

    // The PKCS#8 key parses and its public half is the certificate's.
    let key_pub = openssl(&["pkey", "-in", key_s, "-pubout"]);
    let cert_pub = openssl(&["x509", "-in", pem_s, "-noout", "-pubkey"]);
    assert_eq!(key_pub, cert_pub);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ecdsa_certificate_passes_openssl() {
    let cert = ecdsa_cert();
    assert_eq!(cert.algorithm, KeyAlgorithm::EcdsaP256);
    assert_eq!(cert.expires_unix_ms, NOW_MS + 30 * DAY_MS);
    check_with_openssl(&cert, "ecdsa", "ASN1 OID: prime256v1");
}

#[test]
fn rsa_certificate_passes_openssl() {
    let cert = rsa_cert();
    assert_eq!(cert.algorithm, RSA_1024);
    check_with_openssl(&cert, "rsa", "Public-Key: (1024 bit)");
}

#[test]
fn rsa_exponent_3() {
    let alg = KeyAlgorithm::Rsa {
        modulus_bits: 1024,
        public_exponent: 3,
    };
    let cert = Certificate::generate(alg, &mut rng(3), NOW_MS, 30 * DAY_MS).unwrap();
    assert_eq!(cert.algorithm, alg);
    assert_eq!(
        Certificate::from_der(&cert.der, &cert.private_key_pkcs8),
        Ok(cert.clone())
    );
    check_with_openssl(&cert, "rsa-e3", "Exponent: 3 (0x3)");
}

#[test]
#[ignore = "RSA-2048 key generation takes ~30 s in unoptimised builds"]
fn rsa_2048() {
    let alg = KeyAlgorithm::Rsa {
        modulus_bits: 2048,
        public_exponent: 65537,
    };
    let cert = Certificate::generate(alg, &mut rng(3), NOW_MS, DAY_MS).unwrap();
    assert_eq!(cert.algorithm, alg);
    let back = Certificate::from_der(&cert.der, &cert.private_key_pkcs8).unwrap();
    assert_eq!(back, cert);
}

#[test]
fn generation_is_deterministic_for_a_seed() {
    assert_eq!(ecdsa_cert(), ecdsa_cert());
    let other =
        Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng(9), NOW_MS, 30 * DAY_MS).unwrap();
    assert_ne!(other.der, ecdsa_cert().der);
}

#[test]
fn rejects_unsupported_rsa_parameters() {
    for (bits, e) in [(512, 65537), (8200, 65537), (2048, 17), (2048, 1)] {
        let alg = KeyAlgorithm::Rsa {
            modulus_bits: bits,
            public_exponent: e,
        };
        let err = Certificate::generate(alg, &mut rng(1), NOW_MS, DAY_MS).unwrap_err();
        assert!(
            matches!(err, CertificateError::UnsupportedAlgorithm(_)),
            "{bits}/{e}: {err:?}"
        );
    }
}

#[test]
fn from_der_round_trips() {
    for cert in [ecdsa_cert(), rsa_cert()] {
        let back = Certificate::from_der(&cert.der, &cert.private_key_pkcs8).unwrap();
        assert_eq!(back, cert);
    }
}

#[test]
fn from_der_rejects_a_key_of_another_certificate() {
    let a = ecdsa_cert();
    let b =
        Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng(7), NOW_MS, 30 * DAY_MS).unwrap();
    let r = rsa_cert();
    assert!(matches!(
        Certificate::from_der(&a.der, &b.private_key_pkcs8),
        Err(CertificateError::Invalid(_))
    ));
    assert!(matches!(
        Certificate::from_der(&a.der, &r.private_key_pkcs8),
        Err(CertificateError::Invalid(_))
    ));
    assert!(matches!(
        Certificate::from_der(&r.der, &a.private_key_pkcs8),
        Err(CertificateError::Invalid(_))
    ));
}

#[test]
fn garbage_is_rejected_without_panicking() {
    let good = ecdsa_cert();
    let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0x30], vec![0x30, 0x84, 0xff, 0xff, 0xff]];
    // Every truncation, and every single-byte corruption of the certificate.
    for len in 0..good.der.len() {
        inputs.push(good.der[..len].to_vec());
    }
    for i in 0..good.der.len() {
        let mut d = good.der.clone();
        d[i] ^= 0xa5;
        inputs.push(d);
    }
    for der in &inputs {
        if let Ok(c) = Certificate::from_der(der, &good.private_key_pkcs8) {
            // A flip in the signature or an unparsed field can still match the key.
            assert_eq!(c.algorithm, KeyAlgorithm::EcdsaP256);
        }
        let _ = verify_with_certificate(der, b"m", b"s", SignatureScheme::EcdsaSha256);
    }
    for len in 0..good.private_key_pkcs8.len() {
        assert!(Certificate::from_der(&good.der, &good.private_key_pkcs8[..len]).is_err());
    }
}

#[test]
fn sign_and_verify() {
    for cert in [ecdsa_cert(), rsa_cert()] {
        let msg = b"client_random || server_random || params";
        let sig = cert.sign(&mut rng(5), msg).unwrap();
        let scheme = cert.signature_scheme();
        verify_with_certificate(&cert.der, msg, &sig, scheme).unwrap();
        assert_eq!(
            verify_with_certificate(&cert.der, b"other", &sig, scheme),
            Err(CertificateError::BadSignature)
        );
        let wrong_kind = if scheme.is_ecdsa() {
            SignatureScheme::RsaPkcs1Sha256
        } else {
            SignatureScheme::EcdsaSha256
        };
        assert!(matches!(
            verify_with_certificate(&cert.der, msg, &sig, wrong_kind),
            Err(CertificateError::UnsupportedAlgorithm(_))
        ));
    }
}

#[test]
fn fingerprint_formats() {
    let fp = fingerprint(b"abc", "sha-256").unwrap();
    assert!(fp.starts_with("BA:78:16:BF:"), "{fp}");
    assert_eq!(fp.len(), 32 * 3 - 1);
    assert_eq!(fingerprint(b"abc", "SHA-256"), Some(fp));
    assert_eq!(fingerprint(b"abc", "sha-1").unwrap().len(), 20 * 3 - 1);
    assert_eq!(fingerprint(b"abc", "sha-384").unwrap().len(), 48 * 3 - 1);
    assert_eq!(fingerprint(b"abc", "sha-512").unwrap().len(), 64 * 3 - 1);
    assert_eq!(fingerprint(b"abc", "md5"), None);
}

#[test]
fn validity_uses_generalized_time_after_2049() {
    let lifetime = 30 * 365 * DAY_MS; // ends in 2056
    let cert =
        Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng(1), NOW_MS, lifetime).unwrap();
    let parsed = x509_cert::Certificate::from_der(&cert.der).unwrap();
    assert!(matches!(
        parsed.tbs_certificate.validity.not_after,
        Time::GeneralTime(_)
    ));
    assert!(matches!(
        parsed.tbs_certificate.validity.not_before,
        Time::UtcTime(_)
    ));
    let forever =
        Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng(1), NOW_MS, u64::MAX).unwrap();
    assert_eq!(forever.expires_unix_ms, MAX_NOT_AFTER_SECS * 1000);
}

#[test]
fn pem_wraps_at_64_columns() {
    let pem = ecdsa_cert().to_pem();
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
    assert_eq!(*lines.last().unwrap(), "-----END CERTIFICATE-----");
    assert!(lines[1..lines.len() - 2].iter().all(|l| l.len() == 64));
}
