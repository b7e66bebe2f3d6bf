use hmac::{Hmac, Mac};
use std::fmt::Write;
use std::net::IpAddr;

/// Stateless nonces: `<issued seconds, hex>-<HMAC over issue time and client
/// IP, hex>`. Nothing is stored per client, so a flood of challenges costs
/// no memory; a nonce older than `lifetime_secs` earns 438 (RFC 8489 §9.2.4).
pub struct NonceIssuer {
    secret: [u8; 32],
    pub lifetime_secs: u64,
}

impl std::fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish()
    }
}

impl NonceIssuer {
    pub fn new(secret: [u8; 32], lifetime_secs: u64) -> Self {
        NonceIssuer {
            secret,
            lifetime_secs,
        }
    }

    fn mac(&self, issued: u64, ip: IpAddr) -> String {
        let mut mac =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.secret).expect("any key size");
        mac.update(&issued.to_be_bytes());
        match ip {
            IpAddr::V4(v4) => mac.update(&v4.octets()),
            IpAddr::V6(v6) => mac.update(&v6.octets()),
        }
        let tag = mac.finalize().into_bytes();
        let mut s = String::with_capacity(24);
        for b in &tag[..12] {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    pub fn issue(&self, ip: IpAddr, mono_secs: u64) -> String {
        format!("{mono_secs:x}-{}", self.mac(mono_secs, ip))
    }

    pub fn is_valid(&self, nonce: &str, ip: IpAddr, mono_secs: u64) -> bool {
        let Some((stamp, tag)) = nonce.split_once('-') else {
            return false;
        };
        let Ok(issued) = u64::from_str_radix(stamp, 16) else {
            return false;
        };
        if issued > mono_secs || mono_secs - issued >= self.lifetime_secs {
            return false;
        }
        // Both sides are public-length hex strings; compare in constant time.
        let want = self.mac(issued, ip);
        want.len() == tag.len()
            && want
                .bytes()
                .zip(tag.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}
