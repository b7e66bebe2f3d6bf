//! `/credentials`: mints time-limited TURN credentials ("TURN REST API", as
//! coturn's `use-auth-secret`) for app servers holding the operator API key.
//! The formula is public (README): an app server may equally mint them itself
//! with the shared secret.

use crate::auth::rest_password;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Longest accepted `user` (it ends up in STUN USERNAME, limited to 513 bytes
/// by RFC 8489 §14.3, and in logs).
const MAX_USER_LEN: usize = 128;

/// The JSON answer of `/credentials` (the TURN REST API draft's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestCredential {
    /// `EXPIRY:USER`, EXPIRY in Unix seconds.
    pub username: String,
    /// base64(HMAC-SHA1(secret, username)).
    pub password: String,
    /// Seconds the credential stays valid.
    pub ttl: u64,
    pub uris: Vec<String>,
}

/// Mint a credential for `user` valid `ttl` from `now_unix`.
pub fn mint(
    secret: &str,
    user: &str,
    ttl: Duration,
    now_unix: u64,
    uris: &[String],
) -> RestCredential {
    let ttl = ttl.as_secs();
    let username = format!("{}:{user}", now_unix.saturating_add(ttl));
    RestCredential {
        password: rest_password(secret, &username),
        username,
        ttl,
        uris: uris.to_vec(),
    }
}

/// What the endpoint needs: the key guarding it and how to sign.
#[derive(Clone)]
pub(crate) struct Minting {
    api_key_hash: [u8; 32],
    secret: String,
    ttl: Duration,
    uris: Vec<String>,
}

impl std::fmt::Debug for Minting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minting").field("ttl", &self.ttl).finish()
    }
}

/// Why a mint request was refused; the HTTP status each maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MintError {
    #[error("missing or wrong API key")]
    Unauthorized,
    #[error("query parameter user is missing or invalid")]
    BadUser,
    #[error("query parameter ttl is not a number")]
    BadTtl,
}

impl MintError {
    pub(crate) fn status(&self) -> &'static str {
        match self {
            MintError::Unauthorized => "401 Unauthorized",
            MintError::BadUser | MintError::BadTtl => "400 Bad Request",
        }
    }
}

impl Minting {
    pub(crate) fn new(api_key: &str, secret: &str, ttl: Duration, uris: Vec<String>) -> Self {
        Minting {
            api_key_hash: Sha256::digest(api_key.as_bytes()).into(),
            secret: secret.to_string(),
            ttl,
            uris,
        }
    }

    /// Compare hashes in constant time, so the key's prefix does not leak
    /// through response timing.
    fn key_matches(&self, authorization: Option<&str>) -> bool {
        let Some(token) = authorization.and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        }) else {
            return false;
        };
        let got: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        got.iter()
            .zip(self.api_key_hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Handle one request: `query` is the URL's query string
    /// (`user=NAME&ttl=SECONDS`; ttl optional and capped at the configured one).
    pub(crate) fn handle(
        &self,
        authorization: Option<&str>,
        query: &str,
        now_unix: u64,
    ) -> Result<RestCredential, MintError> {
        if !self.key_matches(authorization) {
            return Err(MintError::Unauthorized);
        }
        let mut user = None;
        let mut ttl = self.ttl;
        for (k, v) in query_pairs(query) {
            match k.as_str() {
                "user" | "username" => user = Some(v),
                "ttl" => {
                    let secs: u64 = v.parse().map_err(|_| MintError::BadTtl)?;
                    ttl = ttl.min(Duration::from_secs(secs.max(1)));
                }
                _ => {}
            }
        }
        let user = user.ok_or(MintError::BadUser)?;
        if user.is_empty() || user.len() > MAX_USER_LEN || user.chars().any(char::is_control) {
            return Err(MintError::BadUser);
        }
        Ok(mint(&self.secret, &user, ttl, now_unix, &self.uris))
    }
}

/// `a=b&c=d` with percent-decoding and `+` as space (HTML form encoding).
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = |j: usize| {
            b.get(j)
                .and_then(|h| char::from(*h).to_digit(16))
                .and_then(|d| u8::try_from(d).ok())
        };
        match (c, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_credentials_verify_with_the_secret() {
        let m = Minting::new("k3y", "s3cret", Duration::from_secs(600), vec![]);
        let c = m
            .handle(Some("Bearer k3y"), "user=al%20ice&ttl=60", 1_000)
            .unwrap();
        assert_eq!(c.username, "1060:al ice");
        assert_eq!(c.ttl, 60);
        assert_eq!(c.password, rest_password("s3cret", "1060:al ice"));
        // The ttl is capped at the configured one.
        let c = m
            .handle(Some("Bearer k3y"), "user=bob&ttl=9999", 0)
            .unwrap();
        assert_eq!(c.ttl, 600);
    }

    #[test]
    fn wrong_or_missing_key_and_bad_queries_are_refused() {
        let m = Minting::new("k3y", "s", Duration::from_secs(600), vec![]);
        assert_eq!(m.handle(None, "user=a", 0), Err(MintError::Unauthorized));
        assert_eq!(
            m.handle(Some("Bearer k3"), "user=a", 0),
            Err(MintError::Unauthorized)
        );
        assert_eq!(
            m.handle(Some("Basic k3y"), "user=a", 0),
            Err(MintError::Unauthorized)
        );
        assert_eq!(m.handle(Some("Bearer k3y"), "", 0), Err(MintError::BadUser));
        assert_eq!(
            m.handle(Some("Bearer k3y"), "user=a&ttl=x", 0),
            Err(MintError::BadTtl)
        );
        assert_eq!(
            m.handle(Some("Bearer k3y"), "user=%0a", 0),
            Err(MintError::BadUser)
        );
        assert_eq!(percent_decode("a%2"), "a%2", "truncated escapes stay as is");
    }
}
