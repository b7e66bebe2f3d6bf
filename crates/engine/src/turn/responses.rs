//! Answers to the client's requests and their timeouts.

use super::transaction::{RequestKind, Transaction};
use super::{
    refresh_delay, Allocation, TurnClient, TurnEvent, TurnState, CHANNEL_REFRESH, CODE_UNREACHABLE,
    DEFAULT_LIFETIME, PERMISSION_REFRESH,
};
use polyrtc_stun::{self as stun, Class, LongTermKey, Message};
use std::time::{Duration, Instant};

/// 438 retries in a row before giving up (a server that never accepts its own nonce).
const MAX_STALE_NONCE_RETRIES: u8 = 3;
const MAX_GRANTED_LIFETIME: Duration = Duration::from_secs(86_400);

impl TurnClient {
    pub(super) fn handle_response(&mut self, now: Instant, msg: &Message<'_>) {
        let Some(signed) = self.transactions.signed(&msg.transaction_id) else {
            return;
        };
        if !self.authentic(msg, signed) {
            return;
        }
        let Some(t) = self.transactions.take(&msg.transaction_id) else {
            return;
        };
        if self.state == TurnState::Closed {
            return;
        }
        match msg.class {
            Class::Success => self.on_success(now, t, msg),
            _ => self.on_error(now, t, msg),
        }
    }

    /// RFC 8489 §9.2.5: a response to a signed request must carry a MESSAGE-INTEGRITY made with
    /// our key, except the unauthenticated errors a server sends when it could not check ours
    /// (400, 401, 420, 438). A response failing the check is dropped, as if never received.
    fn authentic(&self, msg: &Message<'_>, signed: bool) -> bool {
        let Some(key) = self.auth.key.filter(|_| signed) else {
            return true;
        };
        match msg.verify_integrity(&key.0) {
            Some(ok) => ok,
            None => {
                msg.class == Class::Error
                    && msg
                        .error_code()
                        .is_some_and(|(c, _)| matches!(c, 400 | 401 | 420 | 438))
            }
        }
    }

    fn on_success(&mut self, now: Instant, t: Transaction, msg: &Message<'_>) {
        match t.kind {
            RequestKind::Allocate => self.allocated(now, msg),
            RequestKind::Refresh { lifetime: 0 } => {}
            RequestKind::Refresh { .. } => self.refreshed(now, msg),
            RequestKind::Resume => {
                self.refreshed(now, msg);
                self.state = TurnState::Allocated;
                if let Some(relayed) = self.relayed_address() {
                    self.events.push_back(TurnEvent::Resumed { relayed });
                }
                self.peers.mark_all_due(now);
                self.handle_timeout(now);
            }
            RequestKind::CreatePermission { peer } => {
                self.peers.permission_ok(peer, now + PERMISSION_REFRESH)
            }
            RequestKind::ChannelBind { peer, .. } => {
                self.peers.channel_ok(peer, now + CHANNEL_REFRESH)
            }
        }
    }

    /// The server's LIFETIME, capped at a day: refreshing early is harmless, and the cap keeps
    /// `now + lifetime` far from overflowing whatever a server sends.
    fn granted_lifetime(msg: &Message<'_>) -> Duration {
        match msg.u32_attribute(stun::LIFETIME) {
            Ok(Some(secs)) => Duration::from_secs(u64::from(secs)).min(MAX_GRANTED_LIFETIME),
            _ => DEFAULT_LIFETIME,
        }
    }

    /// RFC 8016 §3.1/§3.2: the server hands out a (new) ticket on Allocate and on a mobility
    /// Refresh; the latest one is the one to present.
    fn learn_ticket(&mut self, msg: &Message<'_>) {
        if let Some(ticket) = msg.attribute(stun::MOBILITY_TICKET) {
            if !ticket.is_empty() {
                self.ticket = Some(ticket.to_vec());
            }
        }
    }

    fn allocated(&mut self, now: Instant, msg: &Message<'_>) {
        let Ok(Some(relayed)) = msg.xor_address(stun::XOR_RELAYED_ADDRESS) else {
            return self.fail(500, "Allocate success without XOR-RELAYED-ADDRESS".into());
        };
        let mapped = msg.xor_address(stun::XOR_MAPPED_ADDRESS).ok().flatten();
        let lifetime = Self::granted_lifetime(msg);
        self.learn_ticket(msg);
        self.allocation = Some(Allocation {
            relayed,
            expires: now + lifetime,
            refresh_at: now + refresh_delay(lifetime),
        });
        self.state = TurnState::Allocated;
        self.events.push_back(TurnEvent::Allocated {
            relayed,
            mapped,
            lifetime,
        });
        // Permissions asked for while allocating go out now.
        for peer in self.peers.due_permissions(now) {
            self.start_request(now, RequestKind::CreatePermission { peer }, 0);
        }
    }

    fn refreshed(&mut self, now: Instant, msg: &Message<'_>) {
        let lifetime = Self::granted_lifetime(msg);
        self.learn_ticket(msg);
        if let Some(a) = &mut self.allocation {
            a.expires = now + lifetime;
            a.refresh_at = now + refresh_delay(lifetime);
        }
    }

    fn on_error(&mut self, now: Instant, t: Transaction, msg: &Message<'_>) {
        let (code, reason) = msg
            .error_code()
            .unwrap_or((0, "error response without ERROR-CODE"));
        // RFC 8489 §10: Try Alternate is reported, not followed (the page chose its relay).
        let text = match msg.attribute(stun::ALTERNATE_SERVER) {
            Some(v) if code == 300 => format!("{reason} (alternate server {})", alternate(v)),
            _ => reason.to_string(),
        };
        match code {
            // RFC 8489 §9.2.5: the first 401 brings realm and nonce; retry once with them.
            401 if !t.signed && t.auth_retries == 0 && self.learn_auth(msg) => {
                self.start_request(now, t.kind, t.auth_retries + 1)
            }
            // RFC 8489 §9.2.5: 438 brings a new nonce; retry the same request with it.
            438 if t.auth_retries < MAX_STALE_NONCE_RETRIES && self.learn_nonce(msg) => {
                self.start_request(now, t.kind, t.auth_retries + 1)
            }
            // RFC 8016 §3.1: 405 (Mobility Forbidden) from a server that refuses mobility; an
            // allocation without a ticket is still an allocation.
            405 if t.kind == RequestKind::Allocate && !self.mobility_refused => {
                self.mobility_refused = true;
                self.start_request(now, t.kind, t.auth_retries)
            }
            // RFC 8656 §7.1: a server that cannot set DF answers 420 naming DONT-FRAGMENT;
            // the client may then allocate without it.
            420 if t.kind == RequestKind::Allocate
                && self.config.dont_fragment
                && !self.dont_fragment_refused
                && names_attribute(msg, stun::DONT_FRAGMENT) =>
            {
                self.dont_fragment_refused = true;
                self.start_request(now, t.kind, t.auth_retries)
            }
            _ => self.request_failed(t.kind, code, text),
        }
    }

    /// Realm and nonce from a 401; the long-term key follows from the realm.
    fn learn_auth(&mut self, msg: &Message<'_>) -> bool {
        let (Ok(Some(realm)), Ok(Some(nonce))) = (
            msg.string_attribute(stun::REALM),
            msg.string_attribute(stun::NONCE),
        ) else {
            return false;
        };
        self.auth.key = Some(LongTermKey::derive(
            &self.config.username,
            realm,
            &self.config.password,
        ));
        self.auth.realm = Some(realm.to_string());
        self.auth.nonce = Some(nonce.to_string());
        true
    }

    /// A 438's new nonce (and realm, should the server have changed it).
    fn learn_nonce(&mut self, msg: &Message<'_>) -> bool {
        match msg.string_attribute(stun::REALM) {
            Ok(Some(realm)) if self.auth.realm.as_deref() != Some(realm) => self.learn_auth(msg),
            _ => match msg.string_attribute(stun::NONCE) {
                Ok(Some(nonce)) => {
                    self.auth.nonce = Some(nonce.to_string());
                    true
                }
                _ => false,
            },
        }
    }

    fn request_failed(&mut self, kind: RequestKind, code: u16, text: String) {
        match kind {
            RequestKind::Allocate => self.fail(code, text),
            RequestKind::Refresh { lifetime: 0 } => {}
            RequestKind::Refresh { .. } | RequestKind::Resume => {
                self.lose_allocation(&format!("refresh failed: {code} {text}"))
            }
            RequestKind::CreatePermission { peer } => {
                self.peers.permission_failed(peer, code != CODE_UNREACHABLE);
                self.events
                    .push_back(TurnEvent::PermissionFailed { peer, code, text });
            }
            RequestKind::ChannelBind { peer, .. } => {
                self.peers.channel_failed(peer, code != CODE_UNREACHABLE);
                self.events
                    .push_back(TurnEvent::ChannelFailed { peer, code, text });
            }
        }
    }

    pub(super) fn on_timeout(&mut self, now: Instant, t: Transaction) {
        let text = "TURN server did not answer".to_string();
        match t.kind {
            RequestKind::Refresh { lifetime } if lifetime > 0 => {
                // The allocation may outlive one lost refresh: try again while it lasts
                // (handle_timeout reports the loss once it expires).
                if let Some(a) = &mut self.allocation {
                    a.refresh_at = now;
                }
            }
            kind => self.request_failed(kind, CODE_UNREACHABLE, text),
        }
    }
}

/// ALTERNATE-SERVER is an address (not XORed, RFC 8489 §14.15); shown as text, never followed.
fn alternate(v: &[u8]) -> String {
    match v {
        [_, 0x01, p0, p1, a, b, c, d] => {
            format!("{a}.{b}.{c}.{d}:{}", u16::from_be_bytes([*p0, *p1]))
        }
        [_, 0x02, p0, p1, rest @ ..] if rest.len() == 16 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(rest);
            std::net::SocketAddr::new(ip.into(), u16::from_be_bytes([*p0, *p1])).to_string()
        }
        _ => "unreadable".into(),
    }
}

/// Whether a 420's UNKNOWN-ATTRIBUTES (RFC 8489 §14.9: 16-bit types) lists `attribute`.
fn names_attribute(msg: &Message<'_>, attribute: u16) -> bool {
    msg.attribute(stun::UNKNOWN_ATTRIBUTES).is_some_and(|v| {
        v.chunks_exact(2)
            .any(|t| u16::from_be_bytes([t[0], t[1]]) == attribute)
    })
}
