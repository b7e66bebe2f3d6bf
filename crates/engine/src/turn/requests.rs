//! Building and sending the client's requests (RFC 8656 §7–§11, RFC 8016 §3).

use super::transaction::{RequestKind, Transaction};
use super::TurnClient;
use polyrtc_stun::{self as stun, Class, MessageBuilder, Method};
use std::net::SocketAddr;
use std::time::Instant;

impl RequestKind {
    fn method(&self) -> Method {
        match self {
            RequestKind::Allocate => Method::ALLOCATE,
            RequestKind::Refresh { .. } | RequestKind::Resume => Method::REFRESH,
            RequestKind::CreatePermission { .. } => Method::CREATE_PERMISSION,
            RequestKind::ChannelBind { .. } => Method::CHANNEL_BIND,
        }
    }
}

impl TurnClient {
    /// Send a new request of `kind` (a new transaction id, current credentials).
    pub(super) fn start_request(&mut self, now: Instant, kind: RequestKind, auth_retries: u8) {
        let id = self.new_id();
        let mut b = MessageBuilder::new(Class::Request, kind.method(), id);
        self.body(&kind, &mut b);
        let signed = self.sign(&mut b);
        let bytes = b.into_bytes();
        self.transmits.push_back(bytes.clone());
        self.transactions.insert(Transaction::new(
            now,
            id,
            kind,
            bytes,
            signed,
            auth_retries,
            self.config.framing,
        ));
    }

    fn body(&self, kind: &RequestKind, b: &mut MessageBuilder) {
        match kind {
            RequestKind::Allocate => {
                // RFC 8656 §18.11: protocol number in the first byte, then RFFU.
                b.attribute(stun::REQUESTED_TRANSPORT, &[stun::TRANSPORT_UDP, 0, 0, 0])
                    .u32_attribute(stun::LIFETIME, self.requested_lifetime());
                if self.config.request_mobility && !self.mobility_refused {
                    // RFC 8016 §3.1: an empty MOBILITY-TICKET asks for mobility.
                    b.attribute(stun::MOBILITY_TICKET, &[]);
                }
                if self.config.dont_fragment && !self.dont_fragment_refused {
                    b.attribute(stun::DONT_FRAGMENT, &[]);
                }
            }
            RequestKind::Refresh { lifetime } => {
                b.u32_attribute(stun::LIFETIME, *lifetime);
            }
            RequestKind::Resume => {
                b.u32_attribute(stun::LIFETIME, self.requested_lifetime());
                if let Some(ticket) = &self.ticket {
                    b.attribute(stun::MOBILITY_TICKET, ticket);
                }
            }
            RequestKind::CreatePermission { peer } => {
                // RFC 8656 §9.1: the port is ignored.
                b.xor_address(stun::XOR_PEER_ADDRESS, SocketAddr::new(*peer, 0));
            }
            RequestKind::ChannelBind { channel, peer } => {
                // RFC 8656 §18.1: the number in the top 16 bits, then RFFU.
                b.u32_attribute(stun::CHANNEL_NUMBER, u32::from(*channel) << 16)
                    .xor_address(stun::XOR_PEER_ADDRESS, *peer);
            }
        }
    }

    /// RFC 8489 §9.2.3: once realm and nonce are known every request carries USERNAME, REALM,
    /// NONCE and MESSAGE-INTEGRITY with the long-term key.
    fn sign(&self, b: &mut MessageBuilder) -> bool {
        let (Some(realm), Some(nonce), Some(key)) =
            (&self.auth.realm, &self.auth.nonce, &self.auth.key)
        else {
            return false;
        };
        b.attribute(stun::USERNAME, self.config.username.as_bytes())
            .attribute(stun::REALM, realm.as_bytes())
            .attribute(stun::NONCE, nonce.as_bytes())
            .message_integrity(&key.0);
        true
    }
}
