//! The cipher suites we offer: ECDHE key exchange with AEAD record protection only
//! (RFC 5289 AES-GCM, RFC 7905 ChaCha20-Poly1305).

/// Hash of the PRF and the handshake transcript (RFC 5246 §5; RFC 5289 §3 for SHA-384).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrfHash {
    Sha256,
    Sha384,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlgorithm {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    pub fn key_len(self) -> usize {
        match self {
            AeadAlgorithm::Aes128Gcm => 16,
            AeadAlgorithm::Aes256Gcm | AeadAlgorithm::ChaCha20Poly1305 => 32,
        }
    }

    /// client/server_write_IV length from the key block: the GCM salt (RFC 5288 §3) or the
    /// whole ChaCha20 nonce mask (RFC 7905 §2).
    pub fn fixed_iv_len(self) -> usize {
        match self {
            AeadAlgorithm::ChaCha20Poly1305 => 12,
            _ => 4,
        }
    }

    /// Bytes of nonce sent in each record (RFC 5288 §3: 8 for GCM; none for ChaCha20).
    pub fn explicit_nonce_len(self) -> usize {
        match self {
            AeadAlgorithm::ChaCha20Poly1305 => 0,
            _ => 8,
        }
    }

    /// Ciphertext expansion per record: explicit nonce + 16-byte tag.
    pub fn overhead(self) -> usize {
        self.explicit_nonce_len() + 16
    }
}

/// Which certificate key the suite authenticates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthAlgorithm {
    Ecdsa,
    Rsa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    EcdheEcdsaChacha20Poly1305Sha256,
    EcdheEcdsaAes128GcmSha256,
    EcdheEcdsaAes256GcmSha384,
    EcdheRsaChacha20Poly1305Sha256,
    EcdheRsaAes128GcmSha256,
    EcdheRsaAes256GcmSha384,
}

impl CipherSuite {
    /// Our default preference: ChaCha20 first (several times faster than AES-GCM in wasm, see
    /// DESIGN.md), then AES-128-GCM, which every WebRTC stack has.
    pub const DEFAULT: [CipherSuite; 6] = [
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        CipherSuite::EcdheRsaChacha20Poly1305Sha256,
        CipherSuite::EcdheRsaAes128GcmSha256,
        CipherSuite::EcdheRsaAes256GcmSha384,
    ];

    pub fn to_u16(self) -> u16 {
        match self {
            CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => 0xcca9,
            CipherSuite::EcdheEcdsaAes128GcmSha256 => 0xc02b,
            CipherSuite::EcdheEcdsaAes256GcmSha384 => 0xc02c,
            CipherSuite::EcdheRsaChacha20Poly1305Sha256 => 0xcca8,
            CipherSuite::EcdheRsaAes128GcmSha256 => 0xc02f,
            CipherSuite::EcdheRsaAes256GcmSha384 => 0xc030,
        }
    }

    pub fn from_u16(v: u16) -> Option<Self> {
        CipherSuite::DEFAULT.into_iter().find(|s| s.to_u16() == v)
    }

    pub fn aead(self) -> AeadAlgorithm {
        match self {
            CipherSuite::EcdheEcdsaChacha20Poly1305Sha256
            | CipherSuite::EcdheRsaChacha20Poly1305Sha256 => AeadAlgorithm::ChaCha20Poly1305,
            CipherSuite::EcdheEcdsaAes128GcmSha256 | CipherSuite::EcdheRsaAes128GcmSha256 => {
                AeadAlgorithm::Aes128Gcm
            }
            CipherSuite::EcdheEcdsaAes256GcmSha384 | CipherSuite::EcdheRsaAes256GcmSha384 => {
                AeadAlgorithm::Aes256Gcm
            }
        }
    }

    pub fn prf_hash(self) -> PrfHash {
        match self.aead() {
            AeadAlgorithm::Aes256Gcm => PrfHash::Sha384,
            _ => PrfHash::Sha256,
        }
    }

    pub fn auth(self) -> AuthAlgorithm {
        match self {
            CipherSuite::EcdheEcdsaChacha20Poly1305Sha256
            | CipherSuite::EcdheEcdsaAes128GcmSha256
            | CipherSuite::EcdheEcdsaAes256GcmSha384 => AuthAlgorithm::Ecdsa,
            _ => AuthAlgorithm::Rsa,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_round_trip() {
        for s in CipherSuite::DEFAULT {
            assert_eq!(CipherSuite::from_u16(s.to_u16()), Some(s));
        }
        assert_eq!(CipherSuite::from_u16(0x002f), None);
        assert_eq!(
            CipherSuite::EcdheRsaAes256GcmSha384.prf_hash(),
            PrfHash::Sha384
        );
    }
}
