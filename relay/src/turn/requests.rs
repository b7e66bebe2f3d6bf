//! Request handlers: Binding, Allocate, Refresh, CreatePermission, ChannelBind
//! (RFC 8489 §6, RFC 8656 §7–§11).

use super::{AddressFamily, Output, RelaySockets, Request, TurnServer};
use crate::allocation::{Allocation, AllocationError, ClientId, DEFAULT_LIFETIME};
use crate::auth::AuthError;
use crate::framing::{CHANNEL_MAX, CHANNEL_MIN};
use crate::stun::{self, Class, Message, MessageBuilder, Method};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

fn reason(code: u16) -> &'static str {
    match code {
        300 => "Try Alternate",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
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

fn family_of(addr: SocketAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::V4
    } else {
        AddressFamily::V6
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

    fn build_reply(
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

    fn reply_success(
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

    fn reply_error(
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

    /// RFC 8656 §7.2: min(requested, max), but never below the default.
    fn granted_lifetime(&self, requested: Option<u32>) -> Duration {
        let max = self.cfg.max_lifetime;
        match requested {
            None => DEFAULT_LIFETIME.min(max),
            Some(secs) => Duration::from_secs(u64::from(secs))
                .min(max)
                .max(DEFAULT_LIFETIME.min(max)),
        }
    }

    fn allocate(
        &mut self,
        now: Instant,
        req: &Request<'_, '_>,
        sockets: &mut dyn RelaySockets,
        out: &mut Vec<Output>,
    ) {
        let msg = req.msg;
        if let Some(a) = self.allocations.get(&req.client) {
            if a.allocate_tid == req.tid && a.username == req.username {
                // A retransmission: the same answer again (RFC 8656 §7.2).
                let (relay, left) = (a.relay_public, a.expires.saturating_duration_since(now));
                return self.reply_allocated(req, relay, left, out);
            }
            return self.reply_error(req, 437, out, |_| {});
        }
        let transport = match msg.attribute(stun::REQUESTED_TRANSPORT) {
            Some(v) if v.len() == 4 => v[0],
            _ => return self.reply_error(req, 400, out, |_| {}),
        };
        if transport != stun::TRANSPORT_UDP {
            return self.reply_error(req, 442, out, |_| {});
        }
        let requested_family = msg.attribute(stun::REQUESTED_ADDRESS_FAMILY);
        let additional_family = msg.attribute(stun::ADDITIONAL_ADDRESS_FAMILY);
        let even_port = msg.attribute(stun::EVEN_PORT);
        let token = msg.attribute(stun::RESERVATION_TOKEN);
        if token.is_some() && (even_port.is_some() || requested_family.is_some()) {
            return self.reply_error(req, 400, out, |_| {});
        }
        let token: Option<[u8; 8]> = match token.map(<[u8; 8]>::try_from) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => return self.reply_error(req, 400, out, |_| {}),
        };
        let reserve_next = even_port.is_some_and(|v| v.first().is_some_and(|b| b & 0x80 != 0));
        if requested_family.is_some() && additional_family.is_some() {
            return self.reply_error(req, 400, out, |_| {});
        }
        let family = match requested_family {
            None => AddressFamily::V4,
            Some([stun::FAMILY_IPV4, ..]) => AddressFamily::V4,
            Some([stun::FAMILY_IPV6, ..]) => AddressFamily::V6,
            Some(_) => return self.reply_error(req, 440, out, |_| {}),
        };
        // Dual stack (RFC 8656 §7.2, ADDITIONAL-ADDRESS-FAMILY) is answered with
        // an IPv4 allocation and ADDRESS-ERROR-CODE 440 for the IPv6 half.
        let dual_refused = match additional_family {
            None => false,
            Some([stun::FAMILY_IPV6, ..]) => true,
            Some(_) => return self.reply_error(req, 400, out, |_| {}),
        };
        if !sockets.supports(family) {
            return self.reply_error(req, 440, out, |_| {});
        }
        if let Err(e) = self.allocations.check_quota(&req.principal) {
            self.metrics
                .allocations_rejected_quota
                .fetch_add(1, Relaxed);
            tracing::info!(user = %req.username, error = %e, "allocation refused");
            return self.reply_error(req, 486, out, |_| {});
        }
        let lifetime = match msg.u32_attribute(stun::LIFETIME) {
            Ok(l) => self.granted_lifetime(l),
            Err(_) => return self.reply_error(req, 400, out, |_| {}),
        };
        let mut new_token = None;
        let opened = if let Some(t) = token {
            match self.reservations.remove(&t) {
                Some(r) if family_of(r.relay) == family => Ok(r.relay),
                Some(r) => {
                    out.push(Output::CloseRelay { relay: r.relay });
                    return self.reply_error(req, 508, out, |_| {});
                }
                None => return self.reply_error(req, 508, out, |_| {}),
            }
        } else if reserve_next {
            if self.reservations.len() >= self.allocations.quotas.total {
                return self.reply_error(req, 508, out, |_| {});
            }
            sockets.open_pair(family).inspect(|even| {
                let t: [u8; 8] = rand::random();
                let odd = SocketAddr::new(even.ip(), even.port().wrapping_add(1));
                self.reservations.insert(
                    t,
                    super::Reservation {
                        relay: odd,
                        expires: now + super::RESERVATION_LIFETIME,
                    },
                );
                new_token = Some(t);
            })
        } else {
            sockets.open(family, even_port.is_some())
        };
        let relay_local = match opened {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "could not open a relay socket");
                return self.reply_error(req, 508, out, |_| {});
            }
        };
        let external = match family {
            AddressFamily::V4 => self.cfg.external_ipv4,
            AddressFamily::V6 => self.cfg.external_ipv6,
        };
        let relay_public =
            SocketAddr::new(external.unwrap_or(relay_local.ip()), relay_local.port());
        let alloc = Allocation {
            client: req.client,
            username: req.username.clone(),
            principal: req.principal.clone(),
            key: req.key.unwrap_or(stun::LongTermKey([0; 16])),
            use_sha256: req.sha256,
            relay_local,
            relay_public,
            expires: now + lifetime,
            allocate_tid: req.tid,
            permissions: Default::default(),
            channels: Default::default(),
            channel_by_peer: Default::default(),
            bandwidth: self
                .cfg
                .max_allocation_bytes_per_sec
                .map(|r| crate::allocation::ByteBucket::new(r, now)),
        };
        if self.allocations.insert(alloc).is_err() {
            out.push(Output::CloseRelay { relay: relay_local });
            return self.reply_error(req, 486, out, |_| {});
        }
        self.metrics
            .allocations_created
            .add(req.client.transport, 1);
        self.update_gauge();
        tracing::info!(user = %req.username, client = %req.client.remote, transport = req.client.transport.name(), relay = %relay_public, lifetime = lifetime.as_secs(), "allocation created");
        let data = self.build_reply(req, Class::Success, |b| {
            b.xor_address(stun::XOR_RELAYED_ADDRESS, relay_public)
                .u32_attribute(stun::LIFETIME, lifetime.as_secs() as u32)
                .xor_address(stun::XOR_MAPPED_ADDRESS, req.client.remote);
            if let Some(t) = new_token {
                b.attribute(stun::RESERVATION_TOKEN, &t);
            }
            if dual_refused {
                b.attribute(stun::ADDRESS_ERROR_CODE, &[0x02, 0, 4, 40]);
            }
        });
        out.push(Output::ToClient {
            client: req.client,
            data,
        });
    }

    fn reply_allocated(
        &self,
        req: &Request<'_, '_>,
        relay: SocketAddr,
        left: Duration,
        out: &mut Vec<Output>,
    ) {
        self.reply_success(req, out, |b| {
            b.xor_address(stun::XOR_RELAYED_ADDRESS, relay)
                .u32_attribute(stun::LIFETIME, left.as_secs() as u32)
                .xor_address(stun::XOR_MAPPED_ADDRESS, req.client.remote);
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
        if !self.check_owner(req, out) {
            return;
        }
        let requested = match req.msg.u32_attribute(stun::LIFETIME) {
            Ok(l) => l,
            Err(_) => return self.reply_error(req, 400, out, |_| {}),
        };
        if requested == Some(0) {
            if let Some(a) = self.allocations.remove(&req.client) {
                out.push(Output::CloseRelay {
                    relay: a.relay_local,
                });
                tracing::info!(user = %a.username, relay = %a.relay_public, "allocation deleted by refresh");
            }
            self.update_gauge();
            return self.reply_success(req, out, |b| {
                b.u32_attribute(stun::LIFETIME, 0);
            });
        }
        let lifetime = self.granted_lifetime(requested);
        if let Some(a) = self.allocations.get_mut(&req.client) {
            a.expires = now + lifetime;
        }
        self.reply_success(req, out, |b| {
            b.u32_attribute(stun::LIFETIME, lifetime.as_secs() as u32);
        });
    }

    /// Common peer checks: 443 on family mismatch, 403 by policy.
    fn check_peer(&self, req: &Request<'_, '_>, peer: SocketAddr, out: &mut Vec<Output>) -> bool {
        let Some(a) = self.allocations.get(&req.client) else {
            return false;
        };
        if family_of(peer) != family_of(a.relay_local) {
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
