//! MOBILITY-TICKET (RFC 8016): an allocation that asked for a ticket can move
//! to another 5-tuple (a new TCP connection, WebSocket or WebTransport
//! session, or UDP source) with a Refresh carrying the ticket, keeping its
//! relayed addresses, permissions and channels.
//!
//! The ticket is opaque to the client: version, allocation id, generation and
//! an HMAC-SHA256 (process-wide random key) over those and the allocation's
//! username. Nothing secret is inside, so it is authenticated, not encrypted;
//! each Refresh with a ticket issues the next generation, and older ones no
//! longer move the allocation (a captured ticket cannot be replayed after the
//! move); from the 5-tuple that already holds the allocation an older ticket
//! still refreshes it (coturn's client keeps presenting its first ticket).
//! On the wire it is 32 characters of base64url text: coturn's client keeps
//! the ticket in a 33-byte C string, so a NUL byte inside would cut it short
//! and a longer ticket is refused. That leaves 24 raw bytes, so the HMAC is
//! truncated to 88 bits (RFC 2104 §5 asks for at least 80).

use super::{Output, Request, TurnServer};
use crate::allocation::{ClientId, Mobility};
use crate::stun;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

const VERSION: u8 = 1;
const MAC_LEN: usize = 11;
/// version (1) + id (8) + generation (4) + truncated HMAC (11).
const RAW_LEN: usize = 1 + 8 + 4 + MAC_LEN;
/// The base64url (unpadded) text of the 24 raw bytes: 32 characters.
pub const TICKET_LEN: usize = (RAW_LEN * 4).div_ceil(3);

/// Why a ticket was refused (all answered 400, RFC 8016 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("ticket has the wrong length")]
    Length,
    #[error("ticket is not base64url")]
    Encoding,
    #[error("unknown ticket version")]
    Version,
    #[error("no allocation with this ticket")]
    Unknown,
    #[error("ticket authentication failed or it was superseded")]
    Invalid,
}

/// The process secret that binds tickets to allocations.
#[derive(Clone)]
pub struct TicketKey([u8; 32]);

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(..)")
    }
}

impl TicketKey {
    pub fn new(secret: [u8; 32]) -> Self {
        TicketKey(secret)
    }

    fn mac(&self, head: &[u8], username: &str) -> [u8; MAC_LEN] {
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).expect("any key size");
        m.update(head);
        m.update(username.as_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The ticket for `m`, bound to `username`.
    pub fn issue(&self, m: Mobility, username: &str) -> Vec<u8> {
        let mut t = Vec::with_capacity(RAW_LEN);
        t.push(VERSION);
        t.extend_from_slice(&m.id.to_be_bytes());
        t.extend_from_slice(&m.generation.to_be_bytes());
        let mac = self.mac(&t, username);
        t.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(t).into_bytes()
    }

    /// The allocation id and generation a ticket names (not yet verified).
    pub fn open(ticket: &[u8]) -> Result<Mobility, TicketError> {
        if ticket.len() != TICKET_LEN {
            return Err(TicketError::Length);
        }
        let ticket = URL_SAFE_NO_PAD
            .decode(ticket)
            .map_err(|_| TicketError::Encoding)?;
        if ticket.first() != Some(&VERSION) {
            return Err(TicketError::Version);
        }
        let id: [u8; 8] = ticket
            .get(1..9)
            .and_then(|s| s.try_into().ok())
            .ok_or(TicketError::Length)?;
        let generation: [u8; 4] = ticket
            .get(9..13)
            .and_then(|s| s.try_into().ok())
            .ok_or(TicketError::Length)?;
        Ok(Mobility {
            id: u64::from_be_bytes(id),
            generation: u32::from_be_bytes(generation),
        })
    }

    /// Whether `ticket` was issued for `m` and `username`.
    pub fn verify(&self, ticket: &[u8], m: Mobility, username: &str) -> Result<(), TicketError> {
        let expected = self.issue(m, username);
        // Constant time: the MAC must not leak byte by byte.
        let same = ticket.len() == expected.len()
            && ticket
                .iter()
                .zip(&expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(TicketError::Invalid)
        }
    }
}

impl TurnServer {
    /// A new mobility state for an Allocate that carried MOBILITY-TICKET.
    pub(super) fn new_mobility(&mut self) -> Mobility {
        self.next_mobility_id = self.next_mobility_id.wrapping_add(1);
        Mobility {
            id: self.next_mobility_id,
            generation: 0,
        }
    }

    /// The 5-tuple a ticketed Refresh refers to, after checking the ticket
    /// and the user; answers the error itself (405, 400, 441, 437).
    fn ticket_owner(
        &self,
        req: &Request<'_, '_>,
        ticket: &[u8],
        out: &mut Vec<Output>,
    ) -> Option<ClientId> {
        if !self.cfg.mobility {
            self.reply_error(req, 405, out, |_| {});
            return None;
        }
        let found = TicketKey::open(ticket).and_then(|presented| {
            let owner = self
                .allocations
                .by_mobility_id(presented.id)
                .ok_or(TicketError::Unknown)?;
            let a = self.allocations.get(&owner).ok_or(TicketError::Unknown)?;
            let current = a.mobility.ok_or(TicketError::Unknown)?;
            self.ticket_key.verify(ticket, presented, &a.username)?;
            if presented.generation != current.generation && owner != req.client {
                return Err(TicketError::Invalid);
            }
            Ok((owner, a.username != req.username))
        });
        match found {
            Err(e) => {
                tracing::debug!(client = %req.client.remote, error = %e, "mobility ticket refused");
                self.reply_error(req, 400, out, |_| {});
                None
            }
            // RFC 8016 §3.3: the ticket is only good with the same credentials.
            Ok((_, true)) => {
                self.reply_error(req, 441, out, |_| {});
                None
            }
            Ok((owner, false))
                if owner != req.client && self.allocations.get(&req.client).is_some() =>
            {
                self.reply_error(req, 437, out, |_| {});
                None
            }
            Ok((owner, false)) => Some(owner),
        }
    }

    /// Refresh with MOBILITY-TICKET (RFC 8016 §3.3): move the allocation to
    /// this request's 5-tuple if it came from elsewhere, then refresh it and
    /// answer with the next ticket.
    pub(super) fn refresh_with_ticket(
        &mut self,
        now: Instant,
        req: &Request<'_, '_>,
        ticket: &[u8],
        out: &mut Vec<Output>,
    ) {
        let Some(owner) = self.ticket_owner(req, ticket, out) else {
            return;
        };
        let requested = match req.msg.u32_attribute(stun::LIFETIME) {
            Ok(l) => l,
            Err(_) => return self.reply_error(req, 400, out, |_| {}),
        };
        if owner != req.client {
            if !self.allocations.move_client(&owner, req.client) {
                return self.reply_error(req, 437, out, |_| {});
            }
            self.metrics.mobility_moves.fetch_add(1, Relaxed);
            tracing::info!(user = %req.username, from = %owner.remote, to = %req.client.remote,
                transport = req.client.transport.name(), "allocation moved by mobility ticket");
        }
        if requested == Some(0) {
            return self.delete_allocation(req, out);
        }
        let lifetime = self.granted_lifetime(requested);
        let Some(a) = self.allocations.get_mut(&req.client) else {
            return self.reply_error(req, 437, out, |_| {});
        };
        a.expires = now + lifetime;
        let ticket = a.mobility.as_mut().map(|m| {
            m.generation = m.generation.wrapping_add(1);
            *m
        });
        let ticket = ticket.map(|m| self.ticket_key.issue(m, &req.username));
        self.reply_success(req, out, |b| {
            b.u32_attribute(stun::LIFETIME, lifetime.as_secs() as u32);
            if let Some(t) = &ticket {
                b.attribute(stun::MOBILITY_TICKET, t);
            }
        });
    }

    /// The session behind `client` ended (TCP, TLS, WebSocket, WebTransport).
    /// An allocation without a ticket goes at once; one with a ticket waits
    /// up to the mobility grace period for its client to come back.
    pub fn session_closed(&mut self, now: Instant, client: ClientId, out: &mut Vec<Output>) {
        let grace = self.cfg.mobility_grace;
        match self.allocations.get_mut(&client) {
            Some(a) if a.mobility.is_some() && self.cfg.mobility && !grace.is_zero() => {
                a.expires = a.expires.min(now + grace);
                tracing::info!(user = %a.username, relay = %a.relay_public, grace = grace.as_secs(),
                    "session closed; allocation kept for its mobility ticket");
            }
            _ => self.client_closed(client, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_verify_only_for_their_generation_user_and_key() {
        let k = TicketKey::new([7; 32]);
        let m = Mobility {
            id: 42,
            generation: 3,
        };
        let t = k.issue(m, "alice");
        assert_eq!(t.len(), TICKET_LEN);
        assert_eq!(TicketKey::open(&t), Ok(m));
        assert_eq!(k.verify(&t, m, "alice"), Ok(()));
        assert_eq!(k.verify(&t, m, "bob"), Err(TicketError::Invalid));
        let next = Mobility { generation: 4, ..m };
        assert_eq!(k.verify(&t, next, "alice"), Err(TicketError::Invalid));
        assert_eq!(
            TicketKey::new([8; 32]).verify(&t, m, "alice"),
            Err(TicketError::Invalid)
        );
        assert!(t
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'));
        let mut flipped = t.clone();
        flipped[TICKET_LEN - 2] ^= 1;
        assert_eq!(k.verify(&flipped, m, "alice"), Err(TicketError::Invalid));
        assert_eq!(TicketKey::open(&t[..5]), Err(TicketError::Length));
        let mut v2 = t.clone();
        v2[0] = b'B';
        assert_eq!(TicketKey::open(&v2), Err(TicketError::Version));
        let mut bad = t.clone();
        bad[3] = b'*';
        assert_eq!(TicketKey::open(&bad), Err(TicketError::Encoding));
    }
}
