//! Ephemeral ECDH for ECDHE suites (RFC 8422 §5.10–5.11): X25519 (RFC 7748) and P-256
//! (uncompressed points, RFC 8422 §5.4.1).

use rand_core::{CryptoRng, RngCore};

pub const GROUP_SECP256R1: u16 = 23;
pub const GROUP_X25519: u16 = 29;

/// Groups in our order of preference.
pub const SUPPORTED_GROUPS: [u16; 2] = [GROUP_X25519, GROUP_SECP256R1];

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyExchangeError {
    #[error("unsupported group {0}")]
    UnsupportedGroup(u16),
    #[error("invalid peer public key")]
    InvalidPublicKey,
}

pub enum EphemeralKey {
    X25519(x25519_dalek::StaticSecret),
    P256(p256::ecdh::EphemeralSecret),
}

impl core::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EphemeralKey(..)")
    }
}

impl EphemeralKey {
    pub fn generate<R: RngCore + CryptoRng>(
        group: u16,
        rng: &mut R,
    ) -> Result<Self, KeyExchangeError> {
        match group {
            GROUP_X25519 => Ok(EphemeralKey::X25519(
                x25519_dalek::StaticSecret::random_from_rng(rng),
            )),
            GROUP_SECP256R1 => Ok(EphemeralKey::P256(p256::ecdh::EphemeralSecret::random(rng))),
            g => Err(KeyExchangeError::UnsupportedGroup(g)),
        }
    }

    pub fn group(&self) -> u16 {
        match self {
            EphemeralKey::X25519(_) => GROUP_X25519,
            EphemeralKey::P256(_) => GROUP_SECP256R1,
        }
    }

    pub fn public(&self) -> Vec<u8> {
        match self {
            EphemeralKey::X25519(s) => x25519_dalek::PublicKey::from(s).as_bytes().to_vec(),
            EphemeralKey::P256(s) => {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                s.public_key().to_encoded_point(false).as_bytes().to_vec()
            }
        }
    }

    /// The premaster secret: the X25519 output, or the P-256 shared x-coordinate.
    pub fn agree(&self, peer_public: &[u8]) -> Result<Vec<u8>, KeyExchangeError> {
        match self {
            EphemeralKey::X25519(s) => {
                let bytes: [u8; 32] = peer_public
                    .try_into()
                    .map_err(|_| KeyExchangeError::InvalidPublicKey)?;
                let shared = s.diffie_hellman(&x25519_dalek::PublicKey::from(bytes));
                // RFC 8422 §5.11 / RFC 7748 §6.1: reject the all-zero output (small-order
                // peer key).
                if !shared.was_contributory() {
                    return Err(KeyExchangeError::InvalidPublicKey);
                }
                Ok(shared.as_bytes().to_vec())
            }
            EphemeralKey::P256(s) => {
                // Only uncompressed points are allowed (RFC 8422 §5.1.2).
                if peer_public.first() != Some(&4) {
                    return Err(KeyExchangeError::InvalidPublicKey);
                }
                let pk = p256::PublicKey::from_sec1_bytes(peer_public)
                    .map_err(|_| KeyExchangeError::InvalidPublicKey)?;
                Ok(s.diffie_hellman(&pk).raw_secret_bytes().to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn both_sides_agree() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for g in SUPPORTED_GROUPS {
            let a = EphemeralKey::generate(g, &mut rng).unwrap();
            let b = EphemeralKey::generate(g, &mut rng).unwrap();
            assert_eq!(a.agree(&b.public()).unwrap(), b.agree(&a.public()).unwrap());
            assert!(a.agree(&[4; 3]).is_err());
            assert!(a.agree(&[]).is_err());
        }
        let x = EphemeralKey::generate(GROUP_X25519, &mut rng).unwrap();
        assert_eq!(x.agree(&[0; 32]), Err(KeyExchangeError::InvalidPublicKey));
        assert!(EphemeralKey::generate(24, &mut rng).is_err());
    }
}
