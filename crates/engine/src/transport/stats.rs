//! The DTLS members of the `transport` stats entry and the remote `certificate` entry
//! (webrtc-stats §7.15 RTCTransportStats, §7.17 RTCCertificateStats), named and formatted as
//! Chromium reports them.

use std::collections::BTreeMap;

use polyrtc_dtls::certificate::fingerprint;
use polyrtc_dtls::cipher_suite::CipherSuite;
use polyrtc_dtls::config::SrtpProfile;

use crate::api::serde_json_compat::Value;
use crate::peer_connection::PeerConnection;

type Map = BTreeMap<String, Value>;

/// IANA TLS cipher suite names (webrtc-stats: "the descriptive name of the cipher suite").
fn cipher_name(suite: CipherSuite) -> &'static str {
    match suite {
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => {
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        CipherSuite::EcdheEcdsaAes128GcmSha256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::EcdheEcdsaAes256GcmSha384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::EcdheRsaChacha20Poly1305Sha256 => {
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        CipherSuite::EcdheRsaAes128GcmSha256 => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::EcdheRsaAes256GcmSha384 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    }
}

/// RFC 5764 / RFC 7714 SRTP profile names.
fn srtp_name(profile: SrtpProfile) -> &'static str {
    match profile {
        SrtpProfile::Aes128CmHmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
        SrtpProfile::Aes128CmHmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        SrtpProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
        SrtpProfile::AeadAes256Gcm => "AEAD_AES_256_GCM",
    }
}

/// Chromium's certificate stats id: "CF" + the SHA-256 fingerprint in upper-case hex.
pub(crate) fn certificate_id(fingerprint: &str) -> String {
    format!("CF{}", fingerprint.to_ascii_uppercase())
}

impl PeerConnection {
    /// The peer's DTLS certificate (DER) once the handshake checked it.
    pub(crate) fn remote_certificate(&self) -> Option<&[u8]> {
        self.transport.as_ref()?.dtls.peer_certificate()
    }

    /// dtlsRole once a=setup decided it; tlsVersion, dtlsCipher, srtpCipher and
    /// remoteCertificateId once DTLS connected (Chromium omits them before).
    pub(crate) fn transport_dtls_stats(&self, t: &mut Map) {
        let role = match self.dtls_server {
            Some(true) => "server",
            Some(false) => "client",
            None => "unknown",
        };
        t.insert("dtlsRole".into(), Value::String(role.into()));
        let Some(dtls) = self.transport.as_ref().map(|t| &t.dtls) else {
            return;
        };
        if let Some(suite) = dtls.cipher_suite() {
            // DTLS 1.2's wire version {254, 253}, as Chromium prints it.
            t.insert("tlsVersion".into(), Value::String("FEFD".into()));
            t.insert(
                "dtlsCipher".into(),
                Value::String(cipher_name(suite).into()),
            );
        }
        if let Some(profile) = dtls.srtp_profile() {
            t.insert(
                "srtpCipher".into(),
                Value::String(srtp_name(profile).into()),
            );
        }
        if let Some(fp) = self
            .remote_certificate()
            .and_then(|der| fingerprint(der, "sha-256"))
        {
            t.insert(
                "remoteCertificateId".into(),
                Value::String(certificate_id(&fp)),
            );
        }
    }

    /// The remote `certificate` entry, once DTLS handed us the peer's certificate.
    pub(crate) fn remote_certificate_stats(&self, timestamp: f64) -> Option<Value> {
        let der = self.remote_certificate()?;
        let fp = fingerprint(der, "sha-256")?;
        let mut c = Map::new();
        c.insert("id".into(), Value::String(certificate_id(&fp)));
        c.insert("type".into(), Value::String("certificate".into()));
        c.insert("timestamp".into(), Value::Number(timestamp));
        c.insert("fingerprint".into(), Value::String(fp));
        c.insert(
            "fingerprintAlgorithm".into(),
            Value::String("sha-256".into()),
        );
        c.insert(
            "base64Certificate".into(),
            Value::String(crate::stats::base64(der)),
        );
        Some(Value::Object(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            cipher_name(CipherSuite::EcdheEcdsaAes128GcmSha256),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(srtp_name(SrtpProfile::AeadAes128Gcm), "AEAD_AES_128_GCM");
        assert_eq!(certificate_id("ab:01"), "CFAB:01");
    }
}
