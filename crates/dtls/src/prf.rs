//! The TLS 1.2 PRF (RFC 5246 §5), the extended master secret (RFC 7627 §4), key expansion
//! (RFC 5246 §6.3), Finished verify_data (RFC 5246 §7.4.9) and the keying-material exporter
//! (RFC 5705 §4) that DTLS-SRTP uses (RFC 5764 §4.2).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384};

use crate::cipher_suite::PrfHash;

fn p_hash<M: Mac + hmac::digest::KeyInit + Clone>(secret: &[u8], seed: &[u8], out: &mut [u8]) {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let Ok(base) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return;
    };
    let mut a = {
        let mut m = base.clone();
        m.update(seed);
        m.finalize().into_bytes()
    };
    let mut filled = 0;
    while filled < out.len() {
        let mut m = base.clone();
        m.update(&a);
        m.update(seed);
        let block = m.finalize().into_bytes();
        let n = block.len().min(out.len() - filled);
        out[filled..filled + n].copy_from_slice(&block[..n]);
        filled += n;
        let mut m = base.clone();
        m.update(&a);
        a = m.finalize().into_bytes();
    }
}

/// PRF(secret, label, seed) = P_<hash>(secret, label + seed), `len` bytes.
pub fn prf(hash: PrfHash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let full_seed = [label, seed].concat();
    let mut out = vec![0u8; len];
    match hash {
        PrfHash::Sha256 => p_hash::<Hmac<Sha256>>(secret, &full_seed, &mut out),
        PrfHash::Sha384 => p_hash::<Hmac<Sha384>>(secret, &full_seed, &mut out),
    }
    out
}

pub fn transcript_hash(hash: PrfHash, messages: &[u8]) -> Vec<u8> {
    match hash {
        PrfHash::Sha256 => Sha256::digest(messages).to_vec(),
        PrfHash::Sha384 => Sha384::digest(messages).to_vec(),
    }
}

/// RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret",
/// session_hash)[0..47], session_hash covering the transcript through ClientKeyExchange.
pub fn extended_master_secret(hash: PrfHash, pre_master: &[u8], session_hash: &[u8]) -> [u8; 48] {
    let v = prf(
        hash,
        pre_master,
        b"extended master secret",
        session_hash,
        48,
    );
    let mut out = [0u8; 48];
    out.copy_from_slice(&v);
    out
}

/// RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label, Hash(handshake_messages)).
pub fn verify_data(
    hash: PrfHash,
    master: &[u8; 48],
    label: &[u8],
    handshake_hash: &[u8],
) -> [u8; 12] {
    let v = prf(hash, master, label, handshake_hash, 12);
    let mut out = [0u8; 12];
    out.copy_from_slice(&v);
    out
}

/// Traffic keys from the key block (RFC 5246 §6.3; AEAD suites have no MAC keys).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyBlock {
    pub client_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub client_iv: Vec<u8>,
    pub server_iv: Vec<u8>,
}

impl core::fmt::Debug for KeyBlock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyBlock(..)")
    }
}

pub fn key_block(
    hash: PrfHash,
    master: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    key_len: usize,
    iv_len: usize,
) -> KeyBlock {
    // RFC 5246 §6.3: seed is server_random + client_random.
    let seed = [&server_random[..], &client_random[..]].concat();
    let kb = prf(
        hash,
        master,
        b"key expansion",
        &seed,
        2 * key_len + 2 * iv_len,
    );
    let (client_key, rest) = kb.split_at(key_len);
    let (server_key, rest) = rest.split_at(key_len);
    let (client_iv, server_iv) = rest.split_at(iv_len);
    KeyBlock {
        client_key: client_key.to_vec(),
        server_key: server_key.to_vec(),
        client_iv: client_iv.to_vec(),
        server_iv: server_iv.to_vec(),
    }
}

/// RFC 5705 §4: PRF(master_secret, label, client_random + server_random [+ context_len +
/// context]). DTLS-SRTP uses label "EXTRACTOR-dtls_srtp" with no context (RFC 5764 §4.2).
pub fn export_keying_material(
    hash: PrfHash,
    master: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    label: &[u8],
    context: Option<&[u8]>,
    len: usize,
) -> Vec<u8> {
    let mut seed = [&client_random[..], &server_random[..]].concat();
    if let Some(ctx) = context {
        seed.extend_from_slice(&(ctx.len() as u16).to_be_bytes());
        seed.extend_from_slice(ctx);
    }
    prf(hash, master, label, &seed, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Widely used TLS 1.2 PRF test vectors (posted to the IETF TLS list; also in Go's and
    // mbedTLS's suites).
    #[test]
    fn prf_sha256_vector() {
        let out = prf(
            PrfHash::Sha256,
            &hex("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &hex("a0ba9f936cda311827a6f796ffd5198c"),
            100,
        );
        assert_eq!(
            out,
            hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66")
        );
    }

    #[test]
    fn prf_sha384_vector() {
        let out = prf(
            PrfHash::Sha384,
            &hex("b80b733d6ceefcdc71566ea48e5567df"),
            b"test label",
            &hex("cd665cf6a8447dd6ff8b27555edb7465"),
            148,
        );
        assert_eq!(
            out,
            hex("7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f")
        );
    }

    #[test]
    fn key_block_splits_in_order() {
        let kb = key_block(PrfHash::Sha256, &[1; 48], &[2; 32], &[3; 32], 16, 4);
        let seed = [[3u8; 32], [2u8; 32]].concat();
        let raw = prf(PrfHash::Sha256, &[1; 48], b"key expansion", &seed, 40);
        assert_eq!(kb.client_key, raw[..16]);
        assert_eq!(kb.server_key, raw[16..32]);
        assert_eq!(kb.client_iv, raw[32..36]);
        assert_eq!(kb.server_iv, raw[36..40]);
    }
}
