//! Allocations (RFC 8656 §5–§12): relayed addresses, permissions (300 s),
//! channel bindings (600 s) and per-user / total quotas. No sockets and no
//! clock: every call takes `now`.

mod bandwidth;
mod table;

pub use bandwidth::ByteBucket;
pub use table::{AllocationTable, Quotas};

use crate::stun::{LongTermKey, TransactionId};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// RFC 8656 §9: permissions last 300 s.
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// RFC 8656 §12: channel bindings last 600 s.
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// RFC 8656 §7.2: default allocation lifetime.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// How the client reaches the relay. Part of the 5-tuple that identifies an
/// allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientTransport {
    Udp,
    Tcp,
    Tls,
    WebSocket,
    WebTransport,
    /// WebSocket over TLS (`wss://`).
    WebSocketTls,
}

impl ClientTransport {
    pub const ALL: [ClientTransport; 6] = [
        ClientTransport::Udp,
        ClientTransport::Tcp,
        ClientTransport::Tls,
        ClientTransport::WebSocket,
        ClientTransport::WebTransport,
        ClientTransport::WebSocketTls,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ClientTransport::Udp => "udp",
            ClientTransport::Tcp => "tcp",
            ClientTransport::Tls => "tls",
            ClientTransport::WebSocket => "websocket",
            ClientTransport::WebTransport => "webtransport",
            ClientTransport::WebSocketTls => "wss",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Stream transports pad ChannelData to four bytes (RFC 8656 §12.5).
    pub fn is_stream(self) -> bool {
        !matches!(self, ClientTransport::Udp)
    }
}

/// The client side of the 5-tuple. For connection-oriented transports `conn`
/// names the connection (or WebSocket session), so closing it frees exactly
/// its allocation; it is 0 for UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId {
    pub transport: ClientTransport,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub conn: u64,
}

/// One relayed transport address: the socket's bound address and the one
/// advertised in XOR-RELAYED-ADDRESS (they differ behind 1:1 NAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayAddr {
    pub local: SocketAddr,
    pub public: SocketAddr,
}

/// RFC 8016: the allocation may move to another 5-tuple with a ticket.
/// `generation` goes up with every ticket issued, so only the newest works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mobility {
    pub id: u64,
    pub generation: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelBinding {
    pub peer: SocketAddr,
    pub expires: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("allocation quota reached for this user")]
    UserQuota,
    #[error("total allocation quota reached")]
    TotalQuota,
    #[error("too many permissions on this allocation")]
    TooManyPermissions,
    #[error("channel already bound to another peer")]
    ChannelTaken,
    #[error("peer already bound to another channel")]
    PeerBoundElsewhere,
}

/// One allocation: a relayed transport address and what may pass through it.
#[derive(Debug, Clone)]
pub struct Allocation {
    pub client: ClientId,
    pub username: String,
    /// Whom quotas count against: the user part of a time-limited
    /// `expiry:user` name, else the username.
    pub principal: String,
    pub key: LongTermKey,
    /// Answer with MESSAGE-INTEGRITY-SHA256 because the client used it.
    pub use_sha256: bool,
    /// The socket's bound address: what the shell reports peer packets on.
    pub relay_local: SocketAddr,
    /// The advertised address (differs behind 1:1 NAT).
    pub relay_public: SocketAddr,
    pub expires: Instant,
    /// Transaction of the Allocate request, so a retransmission gets the same answer.
    pub allocate_tid: TransactionId,
    pub permissions: HashMap<IpAddr, Instant>,
    pub channels: HashMap<u16, ChannelBinding>,
    pub channel_by_peer: HashMap<SocketAddr, u16>,
    /// Bandwidth limit, if configured.
    pub bandwidth: Option<ByteBucket>,
    /// The IPv6 half of a dual-stack allocation (RFC 8656 §7.2,
    /// ADDITIONAL-ADDRESS-FAMILY); `relay_local` is then IPv4.
    pub second: Option<RelayAddr>,
    /// Set when the client asked for a MOBILITY-TICKET (RFC 8016).
    pub mobility: Option<Mobility>,
}

impl Allocation {
    /// Every relayed address (one, or two for dual stack).
    pub fn relays(&self) -> impl Iterator<Item = RelayAddr> + '_ {
        let first = RelayAddr {
            local: self.relay_local,
            public: self.relay_public,
        };
        std::iter::once(first).chain(self.second)
    }

    /// The relayed address of `peer`'s family: permissions and channels are
    /// per family (RFC 8656 §7.2, 443 otherwise).
    pub fn relay_for(&self, peer: SocketAddr) -> Option<RelayAddr> {
        self.relays().find(|r| r.local.is_ipv4() == peer.is_ipv4())
    }

    pub fn has_permission(&self, ip: IpAddr, now: Instant) -> bool {
        self.permissions.get(&ip).is_some_and(|&exp| exp > now)
    }

    pub fn install_permission(
        &mut self,
        ip: IpAddr,
        now: Instant,
        cap: usize,
    ) -> Result<(), AllocationError> {
        if !self.permissions.contains_key(&ip) && self.permissions.len() >= cap {
            return Err(AllocationError::TooManyPermissions);
        }
        self.permissions.insert(ip, now + PERMISSION_LIFETIME);
        Ok(())
    }

    /// Check a ChannelBind without changing anything (RFC 8656 §11.2).
    pub fn can_bind(&self, channel: u16, peer: SocketAddr) -> Result<(), AllocationError> {
        if let Some(b) = self.channels.get(&channel) {
            if b.peer != peer {
                return Err(AllocationError::ChannelTaken);
            }
        }
        if let Some(&c) = self.channel_by_peer.get(&peer) {
            if c != channel {
                return Err(AllocationError::PeerBoundElsewhere);
            }
        }
        Ok(())
    }

    /// Bind or refresh a channel; also installs or refreshes the permission.
    pub fn bind_channel(
        &mut self,
        channel: u16,
        peer: SocketAddr,
        now: Instant,
        cap: usize,
    ) -> Result<(), AllocationError> {
        self.can_bind(channel, peer)?;
        self.install_permission(peer.ip(), now, cap)?;
        self.channels.insert(
            channel,
            ChannelBinding {
                peer,
                expires: now + CHANNEL_LIFETIME,
            },
        );
        self.channel_by_peer.insert(peer, channel);
        Ok(())
    }

    /// The peer of a live channel binding. Relaying through it also needs a
    /// live permission (RFC 8656 §12: ChannelBind refreshes both).
    pub fn peer_for_channel(&self, channel: u16, now: Instant) -> Option<SocketAddr> {
        self.channels
            .get(&channel)
            .filter(|b| b.expires > now)
            .map(|b| b.peer)
    }

    pub fn channel_for_peer(&self, peer: SocketAddr, now: Instant) -> Option<u16> {
        let &c = self.channel_by_peer.get(&peer)?;
        self.channels.get(&c).filter(|b| b.expires > now).map(|_| c)
    }

    /// Drop expired permissions and channel bindings.
    pub fn prune(&mut self, now: Instant) {
        self.permissions.retain(|_, exp| *exp > now);
        let before = self.channels.len();
        self.channels.retain(|_, b| b.expires > now);
        if self.channels.len() != before {
            let channels = &self.channels;
            self.channel_by_peer.retain(|_, c| channels.contains_key(c));
        }
    }

    /// Earliest instant at which something in this allocation expires.
    pub fn next_expiry(&self) -> Instant {
        let perms = self.permissions.values().copied();
        let chans = self.channels.values().map(|b| b.expires);
        perms.chain(chans).fold(self.expires, Instant::min)
    }
}

#[cfg(test)]
mod tests;
