//! Allocate (RFC 8656 §7.2) with address families (RFC 8656 §7.2 and RFC
//! 6156: REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY for dual stack),
//! EVEN-PORT / RESERVATION-TOKEN (§14.6, §14.9) and MOBILITY-TICKET (RFC 8016).

use super::{AddressFamily, Output, RelaySockets, Request, Reservation, TurnServer};
use crate::allocation::{
    Allocation, AllocationError, ByteBucket, Mobility, RelayAddr, DEFAULT_LIFETIME,
};
use crate::stun::{self, Message, MessageBuilder};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// What an Allocate asks for, once its attributes have been checked.
struct Plan {
    family: AddressFamily,
    /// ADDITIONAL-ADDRESS-FAMILY IPv6: a second, IPv6 relayed address.
    dual: bool,
    /// The request used the draft attribute numbers; answer in kind.
    draft_codes: bool,
    token: Option<[u8; 8]>,
    even_port: bool,
    reserve_next: bool,
    mobility: bool,
    /// DONT-FRAGMENT: relay with the DF bit set.
    dont_fragment: bool,
    lifetime: Duration,
}

/// REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §7.2):
/// (family of the first relayed address, dual stack asked, draft numbers used).
fn families(msg: &Message<'_>) -> Result<(AddressFamily, bool, bool), u16> {
    let requested = msg.attribute(stun::REQUESTED_ADDRESS_FAMILY);
    let draft =
        !msg.has(stun::ADDITIONAL_ADDRESS_FAMILY) && msg.has(stun::ADDITIONAL_ADDRESS_FAMILY_DRAFT);
    let additional = msg
        .attribute(stun::ADDITIONAL_ADDRESS_FAMILY)
        .or_else(|| msg.attribute(stun::ADDITIONAL_ADDRESS_FAMILY_DRAFT));
    // The two exclude each other.
    if requested.is_some() && additional.is_some() {
        return Err(400);
    }
    let family = match requested {
        None | Some([stun::FAMILY_IPV4, ..]) => AddressFamily::V4,
        Some([stun::FAMILY_IPV6, ..]) => AddressFamily::V6,
        Some(_) => return Err(440),
    };
    // ADDITIONAL-ADDRESS-FAMILY may only ask for IPv6 (the first is IPv4).
    let dual = match additional {
        None => false,
        Some([stun::FAMILY_IPV6, ..]) => true,
        Some(_) => return Err(400),
    };
    Ok((family, dual, draft))
}

/// ADDRESS-ERROR-CODE (RFC 8656 §14.12): family, reserved, class, number, reason.
fn address_error(family: u8, code: u16, reason: &str) -> Vec<u8> {
    let mut v = vec![family, 0, (code / 100) as u8, (code % 100) as u8];
    v.extend_from_slice(reason.as_bytes());
    v
}

impl TurnServer {
    /// RFC 8656 §7.2: min(requested, max), but never below the default.
    pub(super) fn granted_lifetime(&self, requested: Option<u32>) -> Duration {
        let max = self.cfg.max_lifetime;
        match requested {
            None => DEFAULT_LIFETIME.min(max),
            Some(secs) => Duration::from_secs(u64::from(secs))
                .min(max)
                .max(DEFAULT_LIFETIME.min(max)),
        }
    }

    /// The advertised address of a relay socket bound at `local`: the
    /// `--external-ip PUBLIC/PRIVATE` entry for its IP, else a `PUBLIC`-only
    /// entry of its family, else itself.
    pub(super) fn advertised(&self, local: SocketAddr) -> SocketAddr {
        let ext = &self.cfg.external_ips;
        let by_private = ext.iter().find(|e| e.private == Some(local.ip()));
        let by_family = || {
            ext.iter()
                .find(|e| e.private.is_none() && e.public.is_ipv4() == local.is_ipv4())
        };
        match by_private.or_else(by_family) {
            Some(e) => SocketAddr::new(e.public, local.port()),
            None => local,
        }
    }

    /// Check an Allocate's attributes; `Err(code)` to answer.
    fn plan(&self, msg: &Message<'_>, sockets: &dyn RelaySockets) -> Result<Plan, u16> {
        match msg.attribute(stun::REQUESTED_TRANSPORT) {
            Some([stun::TRANSPORT_UDP, _, _, _]) => {}
            Some([_, _, _, _]) => return Err(442),
            _ => return Err(400),
        }
        let even_port = msg.attribute(stun::EVEN_PORT);
        let token = msg.attribute(stun::RESERVATION_TOKEN);
        let (family, dual, draft_codes) = families(msg)?;
        // RFC 8656 §7.2: RESERVATION-TOKEN excludes EVEN-PORT and the family
        // attributes.
        let has_family = msg.has(stun::REQUESTED_ADDRESS_FAMILY) || dual;
        if token.is_some() && (even_port.is_some() || has_family) {
            return Err(400);
        }
        let token = match token.map(<[u8; 8]>::try_from) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => return Err(400),
        };
        if !sockets.supports(family) {
            return Err(440);
        }
        let mobility = msg.has(stun::MOBILITY_TICKET);
        if mobility && !self.cfg.mobility {
            return Err(405);
        }
        let lifetime = msg.u32_attribute(stun::LIFETIME).map_err(|_| 400u16)?;
        Ok(Plan {
            family,
            dual,
            draft_codes,
            token,
            even_port: even_port.is_some(),
            reserve_next: even_port.is_some_and(|v| v.first().is_some_and(|b| b & 0x80 != 0)),
            mobility,
            dont_fragment: msg.has(stun::DONT_FRAGMENT),
            lifetime: self.granted_lifetime(lifetime),
        })
    }

    /// RFC 8656 §7.2: 486 is this user's quota, 508 the server's capacity.
    fn check_quota(&self, req: &Request<'_, '_>) -> Result<(), u16> {
        self.allocations.check_quota(&req.principal).map_err(|e| {
            self.metrics
                .allocations_rejected_quota
                .fetch_add(1, Relaxed);
            tracing::info!(user = %req.username, error = %e, "allocation refused");
            if e == AllocationError::TotalQuota {
                508
            } else {
                486
            }
        })
    }

    /// The IPv6 half of a dual-stack request. Failing it still grants the
    /// IPv4 half, with ADDRESS-ERROR-CODE saying why (RFC 8656 §7.2).
    fn open_second(&self, sockets: &mut dyn RelaySockets) -> Result<RelayAddr, u16> {
        if !sockets.supports(AddressFamily::V6) {
            return Err(440);
        }
        match sockets.open(AddressFamily::V6, false) {
            Ok(local) => Ok(RelayAddr {
                local,
                public: self.advertised(local),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "could not open an IPv6 relay socket");
                Err(508)
            }
        }
    }

    /// Bind the first relayed address; `Err(code)` to answer.
    fn open_first(
        &mut self,
        now: Instant,
        plan: &Plan,
        sockets: &mut dyn RelaySockets,
    ) -> Result<(SocketAddr, Option<[u8; 8]>), u16> {
        if let Some(t) = plan.token {
            // The reserved port's family is the allocation's: RFC 8656 §7.2
            // forbids a family attribute beside RESERVATION-TOKEN.
            return match self.reservations.remove(&t) {
                Some(r) => Ok((r.relay, None)),
                None => Err(508),
            };
        }
        let opened = if plan.reserve_next {
            if self.reservations.len() >= self.allocations.quotas.total {
                return Err(508);
            }
            sockets.open_pair(plan.family).map(|even| {
                let t: [u8; 8] = rand::random();
                let odd = SocketAddr::new(even.ip(), even.port().wrapping_add(1));
                let expires = now + super::RESERVATION_LIFETIME;
                self.reservations.insert(
                    t,
                    Reservation {
                        relay: odd,
                        expires,
                    },
                );
                (even, Some(t))
            })
        } else {
            sockets.open(plan.family, plan.even_port).map(|a| (a, None))
        };
        opened.map_err(|e| {
            tracing::warn!(error = %e, "could not open a relay socket");
            508
        })
    }

    pub(super) fn allocate(
        &mut self,
        now: Instant,
        req: &Request<'_, '_>,
        sockets: &mut dyn RelaySockets,
        out: &mut Vec<Output>,
    ) {
        if let Some(a) = self.allocations.get(&req.client) {
            if a.allocate_tid == req.tid && a.username == req.username {
                // A retransmission: the same answer again (RFC 8656 §7.2).
                let left = a.expires.saturating_duration_since(now);
                let body = self.allocated_body(a, left, req.client.remote);
                return self.reply_success(req, out, body);
            }
            return self.reply_error(req, 437, out, |_| {});
        }
        let plan = match self
            .plan(req.msg, sockets)
            .and_then(|p| self.check_quota(req).map(|()| p))
        {
            Ok(p) => p,
            Err(code) => return self.reply_error(req, code, out, |_| {}),
        };
        let (relay_local, new_token) = match self.open_first(now, &plan, sockets) {
            Ok(r) => r,
            Err(code) => return self.reply_error(req, code, out, |_| {}),
        };
        let (second, address_error_code) = match plan.dual.then(|| self.open_second(sockets)) {
            None => (None, None),
            Some(Ok(r)) => (Some(r), None),
            Some(Err(code)) => (None, Some(code)),
        };
        if plan.dont_fragment {
            // A reserved port (RESERVATION-TOKEN) was opened by an earlier Allocate and keeps
            // that request's setting.
            let fresh = plan.token.is_none().then_some(relay_local);
            let addrs = [fresh, second.map(|s| s.local)];
            for addr in addrs.into_iter().flatten() {
                if let Err(e) = sockets.dont_fragment(addr) {
                    // Fragmenting is what the relay did before; the allocation still works.
                    tracing::warn!(error = %e, relay = %addr, "could not set DONT-FRAGMENT");
                }
            }
        }
        let mobility = plan.mobility.then(|| self.new_mobility());
        let alloc = self.new_allocation(now, req, &plan, relay_local, second, mobility);
        let body = self.allocated_body(&alloc, plan.lifetime, req.client.remote);
        if self.allocations.insert(alloc).is_err() {
            out.push(Output::CloseRelay { relay: relay_local });
            if let Some(s) = second {
                out.push(Output::CloseRelay { relay: s.local });
            }
            return self.reply_error(req, 486, out, |_| {});
        }
        self.metrics
            .allocations_created
            .add(req.client.transport, 1);
        self.update_gauge();
        tracing::info!(user = %req.username, client = %req.client.remote, transport = req.client.transport.name(),
            relay = %self.advertised(relay_local), second = ?second.map(|s| s.public), mobility = plan.mobility,
            lifetime = plan.lifetime.as_secs(), "allocation created");
        let aec = address_error_code.map(|code| {
            let typ = if plan.draft_codes {
                stun::ADDRESS_ERROR_CODE_DRAFT
            } else {
                stun::ADDRESS_ERROR_CODE
            };
            (
                typ,
                address_error(stun::FAMILY_IPV6, code, super::requests::reason(code)),
            )
        });
        self.reply_success(req, out, |b| {
            body(b);
            if let Some(t) = new_token {
                b.attribute(stun::RESERVATION_TOKEN, &t);
            }
            if let Some((typ, value)) = &aec {
                b.attribute(*typ, value);
            }
        });
    }

    fn new_allocation(
        &self,
        now: Instant,
        req: &Request<'_, '_>,
        plan: &Plan,
        relay_local: SocketAddr,
        second: Option<RelayAddr>,
        mobility: Option<Mobility>,
    ) -> Allocation {
        Allocation {
            client: req.client,
            username: req.username.clone(),
            principal: req.principal.clone(),
            key: req.key.unwrap_or(stun::LongTermKey([0; 16])),
            use_sha256: req.sha256,
            relay_local,
            relay_public: self.advertised(relay_local),
            expires: now + plan.lifetime,
            allocate_tid: req.tid,
            permissions: Default::default(),
            channels: Default::default(),
            channel_by_peer: Default::default(),
            bandwidth: self
                .cfg
                .max_allocation_bytes_per_sec
                .map(|r| ByteBucket::new(r, now)),
            second,
            mobility,
        }
    }

    /// XOR-RELAYED-ADDRESS (one per family), LIFETIME, XOR-MAPPED-ADDRESS
    /// and the current MOBILITY-TICKET.
    fn allocated_body(
        &self,
        a: &Allocation,
        left: Duration,
        mapped: SocketAddr,
    ) -> impl FnOnce(&mut MessageBuilder) {
        let relays: Vec<SocketAddr> = a.relays().map(|r| r.public).collect();
        let ticket = a.mobility.map(|m| self.ticket_key.issue(m, &a.username));
        move |b: &mut MessageBuilder| {
            for r in relays {
                b.xor_address(stun::XOR_RELAYED_ADDRESS, r);
            }
            b.u32_attribute(stun::LIFETIME, left.as_secs() as u32)
                .xor_address(stun::XOR_MAPPED_ADDRESS, mapped);
            if let Some(t) = &ticket {
                b.attribute(stun::MOBILITY_TICKET, t);
            }
        }
    }
}
