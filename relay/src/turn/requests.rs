//! Request handlers: Binding, Allocate, Refresh, CreatePermission, ChannelBind
//! (RFC 8489 §6, RFC 8656 §7–§11).

use super::{Output, RelaySockets, Request, TurnServer};
use crate::allocation::{AllocationError, ClientId};
use crate::auth::AuthError;
use crate::framing::{CHANNEL_MAX, CHANNEL_MIN};
use crate::stun::{self, Class, Message, MessageBuilder, Method};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

pub(super) fn reason(code: u16) -> &'static str {
    match code {
        300 => "Try Alternate",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        405 => "Mobility Forbidden",
        420 => "Unknown Attribute",
        437 => "Allocation Mismatch",
        438 => "Stale Nonce",
        440 => "Address Family not Supported",
        441 => "Wrong Credentials",
        442 => "Unsupported Transport Protocol",
        443 => "Peer Address Family Mismatch",
        486 => "Allocation Quota Reached",
        500 => "Server Error",
        508 => "Insufficient Capacity",
        _ => "Error",
    }
}

impl TurnServer {
    pub(super) fn handle_request(
        &mut self,
        now: Instant,
        client: ClientId,
        msg: &Message<'_>,
        sockets: &mut dyn RelaySockets,
        out: &mut Vec<Output>,
    ) {
        let ip = client.remote.ip();
        let mut req = Request {
            msg,
            client,
            tid: msg.transaction_id,
            method: msg.method,
            username: String::new(),
            principal: String::new(),
            key: None,
            sha256: false,
            fingerprint: msg.has(stun::FINGERPRINT),
        };
        let unknown: Vec<u16> = msg
            .attributes
            .iter()
            .map(|a| a.typ)
            .filter(|t| *t < 0x8000 && !stun::UNDERSTOOD_REQUIRED.contains(t))
            .collect();
        if !unknown.is_empty() {
            if !self.take_unauth_token(ip, now) {
                return;
            }
            let value: Vec<u8> = unknown
                .iter()
                .take(16)
                .flat_map(|t| t.to_be_bytes())
                .collect();
            self.reply_error(&req, 420, out, |b| {
                b.attribute(stun::UNKNOWN_ATTRIBUTES, &value);
            });
            return;
        }
        if msg.method == Method::BINDING {
            if self.take_unauth_token(ip, now) {
                self.reply_success(&req, out, |b| {
                    b.xor_address(stun::XOR_MAPPED_ADDRESS, client.remote);
                });
            }
            return;
        }
        if !matches!(
            msg.method,
            Method::ALLOCATE | Method::REFRESH | Method::CREATE_PERMISSION | Method::CHANNEL_BIND
        ) {
            if self.take_unauth_token(ip, now) {
                self.reply_error(&req, 400, out, |_| {});
            }
            return;
        }
        if self.cfg.auth_enabled {
            match self
                .auth
                .check(msg, ip, self.mono_secs(now), self.unix_secs(now))
            {
                Ok(a) => {
                    req.username = a.username;
                    req.principal = a.principal;
                    req.key = Some(a.key);
                    req.sha256 = !msg.has(stun::MESSAGE_INTEGRITY);
                }
                Err(e) => {
                    self.auth_failed(&req, e, now, out);
                    return;
                }
            }
        } else {
            req.username = "anonymous".into();
            req.principal = "anonymous".into();
        }
        match msg.method {
            Method::ALLOCATE => self.allocate(now, &req, sockets, out),
            Method::REFRESH => self.refresh(now, &req, out),
            Method::CREATE_PERMISSION => self.create_permission(now, &req, out),
            _ => self.channel_bind(now, &req, out),
        }
    }

    fn take_unauth_token(&mut self, ip: std::net::IpAddr, now: Instant) -> bool {
        let ok = self.limiter.allow(ip, now);
        if !ok {
            self.metrics.rate_limited.fetch_add(1, Relaxed);
        }
        ok
    }

    fn auth_failed(
        &mut self,
        req: &Request<'_, '_>,
        e: AuthError,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        if e == AuthError::Challenge {
            self.metrics.auth_challenges.fetch_add(1, Relaxed);
        } else {
            self.metrics.auth_failures.fetch_add(1, Relaxed);
            tracing::debug!(client = %req.client.remote, error = %e, "authentication failed");
        }
        if !self.take_unauth_token(req.client.remote.ip(), now) {
            return;
        }
        let nonce = self
            .auth
            .nonces
            .issue(req.client.remote.ip(), self.mono_secs(now));
        let realm = self.auth.realm.clone();
        let code = e.code();
        self.reply_error(req, code, out, |b| {
            if code != 400 {
                b.attribute(stun::REALM, realm.as_bytes())
                    .attribute(stun::NONCE, nonce.as_bytes());
            }
        });
    }

    pub(super) fn build_reply(
        &self,
        req: &Request<'_, '_>,
        class: Class,
        body: impl FnOnce(&mut MessageBuilder),
    ) -> Vec<u8> {
        let mut b = MessageBuilder::new(class, req.method, req.tid);
        body(&mut b);
        if let Some(sw) = &self.cfg.software {
            b.attribute(stun::SOFTWARE, sw.as_bytes());
        }
        if let Some(key) = &req.key {
            if req.sha256 {
                b.message_integrity_sha256(&key.0);
            } else {
                b.message_integrity(&key.0);
            }
        }
        if req.fingerprint {
            b.fingerprint();
        }
        b.into_bytes()
    }

    pub(super) fn reply_success(
        &self,
        req: &Request<'_, '_>,
        out: &mut Vec<Output>,
        body: impl FnOnce(&mut MessageBuilder),
    ) {
        let data = self.build_reply(req, Class::Success, body);
        out.push(Output::ToClient {
            client: req.client,
            data,
        });
    }

    pub(super) fn reply_error(
        &self,
        req: &Request<'_, '_>,
        code: u16,
        out: &mut Vec<Output>,
        body: impl FnOnce(&mut MessageBuilder),
    ) {
        tracing::debug!(client = %req.client.remote, method = req.method.name(), code, "error response");
        let data = self.build_reply(req, Class::Error, |b| {
            b.error_code(code, reason(code));
            body(b);
        });
        out.push(Output::ToClient {
            client: req.client,
            data,
        });
    }

    /// 437 without an allocation, 441 when another user asks.
    fn check_owner(&self, req: &Request<'_, '_>, out: &mut Vec<Output>) -> bool {
        match self.allocations.get(&req.client) {
            None => {
                self.reply_error(req, 437, out, |_| {});
                false
            }
            Some(a) if a.username != req.username => {
                self.reply_error(req, 441, out, |_| {});
                false
            }
            Some(_) => true,
        }
    }

    fn refresh(&mut self, now: Instant, req: &Request<'_, '_>, out: &mut Vec<Output>) {
        if let Some(ticket) = req.msg.attribute(stun::MOBILITY_TICKET) {
            return self.refresh_with_ticket(now, req, ticket, out);
        }
        if !self.check_owner(req, out) {
            return;
        }
        let requested = match req.msg.u32_attribute(stun::LIFETIME) {
            Ok(l) => l,
            Err(_) => return self.reply_error(req, 400, out, |_| {}),
        };
        // REQUESTED-ADDRESS-FAMILY in a Refresh (RFC 8656 §7.3) is not
        // checked: coturn's client sends IPv6 after a dual-stack Allocate whose
        // IPv6 half was refused, and expects the allocation refreshed.
        if requested == Some(0) {
            return self.delete_allocation(req, out);
        }
        let lifetime = self.granted_lifetime(requested);
        if let Some(a) = self.allocations.get_mut(&req.client) {
            a.expires = now + lifetime;
        }
        self.reply_success(req, out, |b| {
            b.u32_attribute(stun::LIFETIME, lifetime.as_secs() as u32);
        });
    }

    /// Refresh with LIFETIME 0 (RFC 8656 §7.3): free at once, answer 0.
    pub(super) fn delete_allocation(&mut self, req: &Request<'_, '_>, out: &mut Vec<Output>) {
        if let Some(a) = self.allocations.remove(&req.client) {
            for r in a.relays() {
                out.push(Output::CloseRelay { relay: r.local });
            }
            tracing::info!(user = %a.username, relay = %a.relay_public, "allocation deleted by refresh");
        }
        self.update_gauge();
        self.reply_success(req, out, |b| {
            b.u32_attribute(stun::LIFETIME, 0);
        });
    }

    /// Common peer checks: 443 on family mismatch, 403 by policy.
    fn check_peer(&self, req: &Request<'_, '_>, peer: SocketAddr, out: &mut Vec<Output>) -> bool {
        let Some(a) = self.allocations.get(&req.client) else {
            return false;
        };
        if a.relay_for(peer).is_none() {
            self.reply_error(req, 443, out, |_| {});
            return false;
        }
        if !self.peer_allowed(peer) {
            self.metrics.forbidden_peer.fetch_add(1, Relaxed);
            tracing::debug!(peer = %peer, "peer refused by policy");
            self.reply_error(req, 403, out, |_| {});
            return false;
        }
        true
    }

    fn create_permission(&mut self, now: Instant, req: &Request<'_, '_>, out: &mut Vec<Output>) {
        if !self.check_owner(req, out) {
            return;
        }
        let peers = match req.msg.xor_addresses(stun::XOR_PEER_ADDRESS) {
            Ok(p) if !p.is_empty() => p,
            _ => return self.reply_error(req, 400, out, |_| {}),
        };
        for &p in &peers {
            if !self.check_peer(req, p, out) {
                return;
            }
        }
        let cap = self.allocations.quotas.permissions_per_allocation;
        let Some(a) = self.allocations.get_mut(&req.client) else {
            return;
        };
        // All or nothing (RFC 8656 §9.2): check room first.
        let new = peers
            .iter()
            .filter(|p| !a.permissions.contains_key(&p.ip()))
            .count();
        if a.permissions.len() + new > cap {
            return self.reply_error(req, 508, out, |_| {});
        }
        for p in peers {
            let _ = a.install_permission(p.ip(), now, cap);
        }
        self.reply_success(req, out, |_| {});
    }

    fn channel_bind(&mut self, now: Instant, req: &Request<'_, '_>, out: &mut Vec<Output>) {
        if !self.check_owner(req, out) {
            return;
        }
        let channel = match req.msg.u32_attribute(stun::CHANNEL_NUMBER) {
            Ok(Some(v)) => (v >> 16) as u16,
            _ => return self.reply_error(req, 400, out, |_| {}),
        };
        if !(CHANNEL_MIN..=CHANNEL_MAX).contains(&channel) {
            tracing::debug!(channel, "channel number out of range");
            return self.reply_error(req, 400, out, |_| {});
        }
        let peer = match req.msg.xor_address(stun::XOR_PEER_ADDRESS) {
            Ok(Some(p)) => p,
            _ => return self.reply_error(req, 400, out, |_| {}),
        };
        if !self.check_peer(req, peer, out) {
            return;
        }
        let cap = self.allocations.quotas.permissions_per_allocation;
        let Some(a) = self.allocations.get_mut(&req.client) else {
            return;
        };
        match a.bind_channel(channel, peer, now, cap) {
            Ok(()) => self.reply_success(req, out, |_| {}),
            Err(AllocationError::TooManyPermissions) => self.reply_error(req, 508, out, |_| {}),
            Err(e) => {
                tracing::debug!(channel, %peer, error = %e, "channel bind refused");
                self.reply_error(req, 400, out, |_| {})
            }
        }
    }
}
