//! AEAD record protection for epochs ≥ 1 (RFC 5246 §6.2.3.3 as adapted by RFC 6347 §4.1.2.1):
//! AES-GCM with an 8-byte explicit nonce (RFC 5288 §3), ChaCha20-Poly1305 with the sequence
//! number XORed into the IV (RFC 7905 §2).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use chacha20poly1305::ChaCha20Poly1305;

use crate::cipher_suite::AeadAlgorithm;
use crate::record::{epoch_seq, ContentType, DTLS_1_2};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtectionError {
    #[error("bad record MAC")]
    BadRecordMac,
    #[error("invalid key length")]
    InvalidKey,
}

enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

/// One direction's AEAD state.
pub struct RecordProtection {
    algorithm: AeadAlgorithm,
    cipher: Cipher,
    iv: Vec<u8>,
}

impl core::fmt::Debug for RecordProtection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RecordProtection({:?})", self.algorithm)
    }
}

/// additional_data = seq_num + type + version + length (RFC 5246 §6.2.3.3).
fn aad(epoch: u16, sequence: u64, ty: ContentType, len: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    a[..8].copy_from_slice(&epoch_seq(epoch, sequence).to_be_bytes());
    a[8] = ty.to_u8();
    a[9..11].copy_from_slice(&DTLS_1_2.to_be_bytes());
    a[11..13].copy_from_slice(&(len as u16).to_be_bytes());
    a
}

impl RecordProtection {
    pub fn new(algorithm: AeadAlgorithm, key: &[u8], iv: &[u8]) -> Result<Self, ProtectionError> {
        if key.len() != algorithm.key_len() || iv.len() != algorithm.fixed_iv_len() {
            return Err(ProtectionError::InvalidKey);
        }
        let cipher = match algorithm {
            AeadAlgorithm::Aes128Gcm => Cipher::Aes128(Box::new(
                Aes128Gcm::new_from_slice(key).map_err(|_| ProtectionError::InvalidKey)?,
            )),
            AeadAlgorithm::Aes256Gcm => Cipher::Aes256(Box::new(
                Aes256Gcm::new_from_slice(key).map_err(|_| ProtectionError::InvalidKey)?,
            )),
            AeadAlgorithm::ChaCha20Poly1305 => Cipher::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(key).map_err(|_| ProtectionError::InvalidKey)?,
            )),
        };
        Ok(RecordProtection {
            algorithm,
            cipher,
            iv: iv.to_vec(),
        })
    }

    pub fn overhead(&self) -> usize {
        self.algorithm.overhead()
    }

    /// The 12-byte nonce and the explicit part carried in the record (empty for ChaCha20).
    fn nonce(&self, epoch: u16, sequence: u64, explicit: Option<&[u8]>) -> ([u8; 12], Vec<u8>) {
        let seq = epoch_seq(epoch, sequence).to_be_bytes();
        let mut nonce = [0u8; 12];
        match self.algorithm {
            AeadAlgorithm::ChaCha20Poly1305 => {
                // RFC 7905 §2: the 64-bit sequence number, left-padded, XORed with the IV.
                nonce.copy_from_slice(&self.iv);
                for (n, s) in nonce[4..].iter_mut().zip(seq) {
                    *n ^= s;
                }
                (nonce, Vec::new())
            }
            _ => {
                // RFC 5288 §3: salt (4) || explicit nonce (8); we send epoch||seq, which is
                // unique per key as required.
                let explicit = explicit.map(<[u8]>::to_vec).unwrap_or_else(|| seq.to_vec());
                nonce[..4].copy_from_slice(&self.iv);
                nonce[4..].copy_from_slice(&explicit);
                (nonce, explicit)
            }
        }
    }

    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> Result<(), ProtectionError> {
        let n = Nonce::from_slice(nonce);
        let r = match &self.cipher {
            Cipher::Aes128(c) => c.encrypt_in_place(n, aad, buf),
            Cipher::Aes256(c) => c.encrypt_in_place(n, aad, buf),
            Cipher::ChaCha(c) => c.encrypt_in_place(n, aad, buf),
        };
        r.map_err(|_| ProtectionError::BadRecordMac)
    }

    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> Result<(), ProtectionError> {
        let n = Nonce::from_slice(nonce);
        let r = match &self.cipher {
            Cipher::Aes128(c) => c.decrypt_in_place(n, aad, buf),
            Cipher::Aes256(c) => c.decrypt_in_place(n, aad, buf),
            Cipher::ChaCha(c) => c.decrypt_in_place(n, aad, buf),
        };
        r.map_err(|_| ProtectionError::BadRecordMac)
    }

    /// Protect `plaintext`; returns the record fragment (explicit nonce || ciphertext || tag).
    pub fn encrypt(
        &self,
        ty: ContentType,
        epoch: u16,
        sequence: u64,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ProtectionError> {
        let (nonce, explicit) = self.nonce(epoch, sequence, None);
        let mut buf = plaintext.to_vec();
        self.seal(&nonce, &aad(epoch, sequence, ty, plaintext.len()), &mut buf)?;
        Ok([explicit, buf].concat())
    }

    /// Open a record fragment; any malformation is `BadRecordMac`.
    pub fn decrypt(
        &self,
        ty: ContentType,
        epoch: u16,
        sequence: u64,
        fragment: &[u8],
    ) -> Result<Vec<u8>, ProtectionError> {
        let explicit_len = self.algorithm.explicit_nonce_len();
        if fragment.len() < self.overhead() {
            return Err(ProtectionError::BadRecordMac);
        }
        let (explicit, ciphertext) = fragment.split_at(explicit_len);
        let (nonce, _) = self.nonce(epoch, sequence, Some(explicit).filter(|e| !e.is_empty()));
        let plain_len = ciphertext.len() - 16;
        let mut buf = ciphertext.to_vec();
        self.open(&nonce, &aad(epoch, sequence, ty, plain_len), &mut buf)?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(alg: AeadAlgorithm) -> RecordProtection {
        RecordProtection::new(alg, &vec![7; alg.key_len()], &vec![9; alg.fixed_iv_len()]).unwrap()
    }

    #[test]
    fn seal_open_round_trip_and_tamper() {
        for alg in [
            AeadAlgorithm::Aes128Gcm,
            AeadAlgorithm::Aes256Gcm,
            AeadAlgorithm::ChaCha20Poly1305,
        ] {
            let p = pair(alg);
            let ct = p
                .encrypt(ContentType::ApplicationData, 1, 42, b"hello")
                .unwrap();
            assert_eq!(ct.len(), 5 + alg.overhead());
            assert_eq!(
                p.decrypt(ContentType::ApplicationData, 1, 42, &ct).unwrap(),
                b"hello"
            );
            // Wrong sequence number, type, or a flipped bit all fail authentication.
            assert!(p.decrypt(ContentType::ApplicationData, 1, 43, &ct).is_err());
            assert!(p.decrypt(ContentType::Handshake, 1, 42, &ct).is_err());
            let mut bad = ct.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(p
                .decrypt(ContentType::ApplicationData, 1, 42, &bad)
                .is_err());
            for n in 0..ct.len() {
                assert!(p
                    .decrypt(ContentType::ApplicationData, 1, 42, &ct[..n])
                    .is_err());
            }
        }
    }

    #[test]
    fn wrong_key_length_is_an_error() {
        assert!(RecordProtection::new(AeadAlgorithm::Aes128Gcm, &[0; 15], &[0; 4]).is_err());
    }
}
