//! Long-term credentials (RFC 8489 §9.2) with realm and nonce, static users
//! and time-limited "TURN REST API" credentials, plus the unauthenticated
//! request rate limiter.

mod nonce;
mod rate_limit;

pub use nonce::NonceIssuer;
pub use rate_limit::RateLimiter;

use crate::stun::{LongTermKey, Message, NONCE, REALM, USERNAME};
use base64::Engine;
use hmac::{Hmac, Mac};
use std::collections::HashMap;
use std::net::IpAddr;

/// Where passwords come from.
#[derive(Clone, Default)]
pub struct Credentials {
    /// Static users: username → long-term key for the configured realm.
    static_keys: HashMap<String, LongTermKey>,
    /// Shared secrets for time-limited credentials; the first signs, all verify
    /// (so a secret can be rotated without breaking live sessions).
    rest_secrets: Vec<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("static_users", &self.static_keys.len())
            .field("rest_secrets", &self.rest_secrets.len())
            .finish()
    }
}

/// Why authentication of a request failed, mapped onto STUN error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// 401 with a fresh nonce: no credentials yet.
    #[error("no MESSAGE-INTEGRITY: challenge")]
    Challenge,
    /// 400: MESSAGE-INTEGRITY without USERNAME, REALM or NONCE.
    #[error("credentials incomplete")]
    Incomplete,
    /// 438 with a fresh nonce.
    #[error("stale or foreign nonce")]
    StaleNonce,
    /// 401: unknown user, expired REST credential, or bad HMAC.
    #[error("wrong credentials")]
    Unauthorized,
}

impl AuthError {
    pub fn code(&self) -> u16 {
        match self {
            AuthError::Challenge | AuthError::Unauthorized => 401,
            AuthError::Incomplete => 400,
            AuthError::StaleNonce => 438,
        }
    }
}

/// An authenticated request's identity and key (used to sign the response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub username: String,
    /// Whom quotas count against (the `user` of `expiry:user`).
    pub principal: String,
    pub key: LongTermKey,
}

/// The password of a time-limited credential: base64(HMAC-SHA1(secret, username)).
pub fn rest_password(secret: &str, username: &str) -> String {
    let mut mac =
        <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("any key size");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The expiry of a `expiry:user` username (coturn also accepts a bare
/// timestamp as username).
fn rest_expiry(username: &str) -> Option<u64> {
    let stamp = username.split(':').next()?;
    stamp.parse().ok()
}

impl Credentials {
    pub fn new(realm: &str, users: &[(String, String)], rest_secrets: Vec<String>) -> Self {
        let static_keys = users
            .iter()
            .map(|(u, p)| (u.clone(), LongTermKey::derive(u, realm, p)))
            .collect();
        Credentials {
            static_keys,
            rest_secrets,
        }
    }

    fn candidate_keys(&self, username: &str, realm: &str, unix_now: u64) -> Vec<LongTermKey> {
        if let Some(k) = self.static_keys.get(username) {
            return vec![*k];
        }
        match rest_expiry(username) {
            Some(expiry) if expiry > unix_now => self
                .rest_secrets
                .iter()
                .map(|s| LongTermKey::derive(username, realm, &rest_password(s, username)))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Checks requests against credentials, realm and nonces.
#[derive(Debug)]
pub struct Authenticator {
    pub realm: String,
    pub credentials: Credentials,
    pub nonces: NonceIssuer,
}

impl Authenticator {
    /// RFC 8489 §9.2.4 server behaviour, in its order.
    pub fn check(
        &self,
        msg: &Message<'_>,
        client_ip: IpAddr,
        mono_secs: u64,
        unix_now: u64,
    ) -> Result<Authenticated, AuthError> {
        let has_integrity = msg.has(crate::stun::MESSAGE_INTEGRITY)
            || msg.has(crate::stun::MESSAGE_INTEGRITY_SHA256);
        if !has_integrity {
            return Err(AuthError::Challenge);
        }
        let (Ok(Some(username)), Ok(Some(realm)), Ok(Some(nonce))) = (
            msg.string_attribute(USERNAME),
            msg.string_attribute(REALM),
            msg.string_attribute(NONCE),
        ) else {
            return Err(AuthError::Incomplete);
        };
        if realm != self.realm || !self.nonces.is_valid(nonce, client_ip, mono_secs) {
            return Err(AuthError::StaleNonce);
        }
        for key in self.credentials.candidate_keys(username, realm, unix_now) {
            if msg.verify_integrity(&key.0) == Some(true) {
                let principal = if self.credentials.static_keys.contains_key(username) {
                    username
                } else {
                    username.split_once(':').map_or(username, |(_, user)| user)
                };
                return Ok(Authenticated {
                    username: username.to_string(),
                    principal: principal.to_string(),
                    key,
                });
            }
        }
        Err(AuthError::Unauthorized)
    }
}

#[cfg(test)]
mod tests;
