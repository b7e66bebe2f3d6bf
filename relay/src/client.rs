//! A minimal sans-IO TURN client: builds authenticated requests and learns
//! realm and nonce from 401/438 answers. Used by the tests and the load
//! generator; the polyfill has its own client in `crates/engine`.

use crate::framing::ChannelData;
use crate::stun::{self, Class, LongTermKey, Message, MessageBuilder, Method, TransactionId};
use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct TurnClient {
    pub username: String,
    pub password: String,
    pub realm: Option<String>,
    pub nonce: Option<String>,
    /// Sign with MESSAGE-INTEGRITY-SHA256 instead of MESSAGE-INTEGRITY.
    pub sha256: bool,
}

impl TurnClient {
    pub fn new(username: &str, password: &str) -> Self {
        TurnClient {
            username: username.into(),
            password: password.into(),
            realm: None,
            nonce: None,
            sha256: false,
        }
    }

    pub fn key(&self) -> Option<LongTermKey> {
        self.realm
            .as_ref()
            .map(|r| LongTermKey::derive(&self.username, r, &self.password))
    }

    /// Store REALM and NONCE of a 401 or 438 answer; true if it was one.
    pub fn learn(&mut self, resp: &Message<'_>) -> bool {
        let Some((code, _)) = resp.error_code() else {
            return false;
        };
        if code != 401 && code != 438 {
            return false;
        }
        if let Ok(Some(r)) = resp.string_attribute(stun::REALM) {
            self.realm = Some(r.to_string());
        }
        if let Ok(Some(n)) = resp.string_attribute(stun::NONCE) {
            self.nonce = Some(n.to_string());
        }
        true
    }

    /// A request with `body`'s attributes, signed once realm and nonce are known.
    pub fn request(
        &self,
        method: Method,
        body: impl FnOnce(&mut MessageBuilder),
    ) -> (TransactionId, Vec<u8>) {
        let tid = crate::stun::random_transaction_id();
        let mut b = MessageBuilder::new(Class::Request, method, tid);
        body(&mut b);
        if let (Some(realm), Some(nonce), Some(key)) = (&self.realm, &self.nonce, self.key()) {
            b.attribute(stun::USERNAME, self.username.as_bytes())
                .attribute(stun::REALM, realm.as_bytes())
                .attribute(stun::NONCE, nonce.as_bytes());
            if self.sha256 {
                b.message_integrity_sha256(&key.0);
            } else {
                b.message_integrity(&key.0);
            }
        }
        b.fingerprint();
        (tid, b.into_bytes())
    }

    pub fn binding() -> Vec<u8> {
        let mut b = MessageBuilder::new(
            Class::Request,
            Method::BINDING,
            crate::stun::random_transaction_id(),
        );
        b.fingerprint();
        b.into_bytes()
    }

    pub fn allocate(&self) -> (TransactionId, Vec<u8>) {
        self.request(Method::ALLOCATE, |b| {
            b.attribute(stun::REQUESTED_TRANSPORT, &[stun::TRANSPORT_UDP, 0, 0, 0]);
        })
    }

    pub fn refresh(&self, lifetime: u32) -> (TransactionId, Vec<u8>) {
        self.request(Method::REFRESH, |b| {
            b.u32_attribute(stun::LIFETIME, lifetime);
        })
    }

    pub fn create_permission(&self, peer: SocketAddr) -> (TransactionId, Vec<u8>) {
        self.request(Method::CREATE_PERMISSION, |b| {
            b.xor_address(stun::XOR_PEER_ADDRESS, peer);
        })
    }

    pub fn channel_bind(&self, channel: u16, peer: SocketAddr) -> (TransactionId, Vec<u8>) {
        self.request(Method::CHANNEL_BIND, |b| {
            b.u32_attribute(stun::CHANNEL_NUMBER, u32::from(channel) << 16)
                .xor_address(stun::XOR_PEER_ADDRESS, peer);
        })
    }

    pub fn send_indication(peer: SocketAddr, data: &[u8]) -> Vec<u8> {
        let mut b = MessageBuilder::new(
            Class::Indication,
            Method::SEND,
            crate::stun::random_transaction_id(),
        );
        b.xor_address(stun::XOR_PEER_ADDRESS, peer)
            .attribute(stun::DATA, data);
        b.into_bytes()
    }

    pub fn channel_data(channel: u16, data: &[u8], stream: bool) -> Vec<u8> {
        ChannelData::encode(channel, data, stream)
    }
}
