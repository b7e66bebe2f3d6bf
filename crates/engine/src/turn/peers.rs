//! Permissions (RFC 8656 §9) and channel bindings (§12) the client keeps alive.
//!
//! Ordered maps keep the requests the client emits deterministic for a given input.

use polyrtc_stun::framing::CHANNEL_MIN;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// RFC 8656 §12: new clients use 0x4000..=0x4FFF (0x5000..=0x7FFF is RFC 5766 only).
const CHANNEL_LAST: u16 = 0x4FFF;

#[derive(Debug, Clone, Copy)]
struct Permission {
    installed: bool,
    in_flight: bool,
    /// `None`: never sent, due as soon as there is an allocation.
    refresh_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Channel {
    number: u16,
    bound: bool,
    in_flight: bool,
    refresh_at: Option<Instant>,
}

#[derive(Debug, Default)]
pub(super) struct Peers {
    permissions: BTreeMap<IpAddr, Permission>,
    channels: BTreeMap<SocketAddr, Channel>,
    /// Numbers are never reused: RFC 8656 §12 forbids rebinding one to another peer for 5 min.
    used_channels: u16,
    /// Peers the server refused (403 and the like): asking again on every send would only
    /// repeat the refusal, so they are not asked for again.
    refused_permissions: BTreeSet<IpAddr>,
    refused_channels: BTreeSet<SocketAddr>,
}

impl Peers {
    /// Record interest in `peer`; true when it is new and a CreatePermission should go out.
    pub fn want_permission(&mut self, peer: IpAddr) -> bool {
        if self.permissions.contains_key(&peer) || self.refused_permissions.contains(&peer) {
            return false;
        }
        self.permissions.insert(
            peer,
            Permission {
                installed: false,
                in_flight: false,
                refresh_at: None,
            },
        );
        true
    }

    pub fn set_permission_in_flight(&mut self, peer: IpAddr) {
        if let Some(p) = self.permissions.get_mut(&peer) {
            p.in_flight = true;
        }
    }

    pub fn permission_installed(&self, peer: IpAddr) -> bool {
        self.permissions.get(&peer).is_some_and(|p| p.installed)
    }

    pub fn permission_ok(&mut self, peer: IpAddr, refresh_at: Instant) {
        if let Some(p) = self.permissions.get_mut(&peer) {
            *p = Permission {
                installed: true,
                in_flight: false,
                refresh_at: Some(refresh_at),
            };
        }
    }

    /// `refused`: the server answered with an error (not a timeout); do not ask again.
    pub fn permission_failed(&mut self, peer: IpAddr, refused: bool) {
        self.permissions.remove(&peer);
        if refused {
            self.refused_permissions.insert(peer);
        }
    }

    pub fn permission_refused(&self, peer: IpAddr) -> bool {
        self.refused_permissions.contains(&peer)
    }

    /// A fresh channel number for `peer` if it has none yet (marked in flight).
    pub fn want_channel(&mut self, peer: SocketAddr) -> Option<u16> {
        if self.channels.contains_key(&peer) || self.refused_channels.contains(&peer) {
            return None;
        }
        let number = CHANNEL_MIN.checked_add(self.used_channels)?;
        if number > CHANNEL_LAST {
            return None;
        }
        self.used_channels += 1;
        self.channels.insert(
            peer,
            Channel {
                number,
                bound: false,
                in_flight: true,
                refresh_at: None,
            },
        );
        Some(number)
    }

    pub fn bound_channel(&self, peer: SocketAddr) -> Option<u16> {
        self.channels
            .get(&peer)
            .filter(|c| c.bound)
            .map(|c| c.number)
    }

    /// The peer of `number`, bound or being bound: over datagrams ChannelData may overtake the
    /// ChannelBind success response.
    pub fn peer_for_channel(&self, number: u16) -> Option<SocketAddr> {
        self.channels
            .iter()
            .find(|(_, c)| c.number == number)
            .map(|(p, _)| *p)
    }

    pub fn channel_ok(&mut self, peer: SocketAddr, refresh_at: Instant) {
        if let Some(c) = self.channels.get_mut(&peer) {
            c.bound = true;
            c.in_flight = false;
            c.refresh_at = Some(refresh_at);
        }
    }

    pub fn channel_failed(&mut self, peer: SocketAddr, refused: bool) {
        self.channels.remove(&peer);
        if refused {
            self.refused_channels.insert(peer);
        }
    }

    /// Permissions whose CreatePermission is due now; they are marked in flight.
    pub fn due_permissions(&mut self, now: Instant) -> Vec<IpAddr> {
        let mut due = Vec::new();
        for (ip, p) in &mut self.permissions {
            if !p.in_flight && p.refresh_at.is_none_or(|t| t <= now) {
                p.in_flight = true;
                due.push(*ip);
            }
        }
        due
    }

    /// Bound channels whose ChannelBind refresh is due now; they are marked in flight.
    pub fn due_channels(&mut self, now: Instant) -> Vec<(u16, SocketAddr)> {
        let mut due = Vec::new();
        for (peer, c) in &mut self.channels {
            if c.bound && !c.in_flight && c.refresh_at.is_some_and(|t| t <= now) {
                c.in_flight = true;
                due.push((c.number, *peer));
            }
        }
        due
    }

    pub fn next_refresh(&self) -> Option<Instant> {
        let perms = self
            .permissions
            .values()
            .filter(|p| !p.in_flight)
            .filter_map(|p| p.refresh_at);
        let chans = self
            .channels
            .values()
            .filter(|c| c.bound && !c.in_flight)
            .filter_map(|c| c.refresh_at);
        perms.chain(chans).min()
    }

    /// The transport dropped: nothing is in flight any more; unbound channels are forgotten
    /// (the next send starts a new ChannelBind).
    pub fn clear_in_flight(&mut self) {
        for p in self.permissions.values_mut() {
            p.in_flight = false;
        }
        self.channels.retain(|_, c| c.bound);
        for c in self.channels.values_mut() {
            c.in_flight = false;
        }
    }

    /// After RFC 8016 resumption, refresh everything at once: refreshes may have been missed.
    pub fn mark_all_due(&mut self, now: Instant) {
        for p in self.permissions.values_mut() {
            if !p.in_flight {
                p.refresh_at = Some(now);
            }
        }
        for c in self.channels.values_mut() {
            if c.bound && !c.in_flight {
                c.refresh_at = Some(now);
            }
        }
    }
}
