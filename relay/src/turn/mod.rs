//! The sans-IO TURN server: feed it client messages, peer datagrams and time;
//! it answers with [`Output`]s for the shell to send. Relay sockets are opened
//! through the [`RelaySockets`] trait so tests can fake them.

mod allocate;
pub mod impair;
mod mobility;
mod policy;
mod requests;

pub use impair::{Impairment, ImpairmentError};
pub use mobility::{TicketError, TicketKey, TICKET_LEN};
pub use policy::{classify, PeerClass, PeerPolicy};

use crate::allocation::{AllocationTable, ByteBucket, ClientId, Quotas};
use crate::auth::{Authenticator, RateLimiter};
use crate::framing::{self, ChannelData, FrameKind};
use crate::metrics::Metrics;
use crate::stun::{self, Class, LongTermKey, Message, MessageBuilder, Method, TransactionId};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send a STUN message or ChannelData to a client.
    ToClient { client: ClientId, data: Vec<u8> },
    /// Send a datagram from the relay socket bound at `relay` to `peer`.
    ToPeer {
        relay: SocketAddr,
        peer: SocketAddr,
        data: Vec<u8>,
    },
    /// The allocation that owned the relay socket at `relay` is gone.
    CloseRelay { relay: SocketAddr },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFamily {
    V4,
    V6,
}

/// How the core gets relay sockets without doing I/O itself.
pub trait RelaySockets {
    fn supports(&self, family: AddressFamily) -> bool;
    /// Bind a fresh UDP socket; return its local address.
    fn open(&mut self, family: AddressFamily, even_port: bool) -> std::io::Result<SocketAddr>;
    /// EVEN-PORT with the R bit (RFC 8656 §14.6): bind an even port and the
    /// next one; return the even one.
    fn open_pair(&mut self, family: AddressFamily) -> std::io::Result<SocketAddr>;
    /// DONT-FRAGMENT (RFC 8656 §7.2): datagrams from the relayed address `relay`, opened by
    /// this call's `open`, leave with the IP DF bit set and are never fragmented: one larger
    /// than the path is lost instead of arriving in fragments.
    fn dont_fragment(&mut self, relay: SocketAddr) -> std::io::Result<()>;
}

/// `--external-ip PUBLIC[/PRIVATE]` (coturn style): advertise `public` for
/// relay sockets bound on `private`, or on any address of its family when
/// `private` is absent. Only XOR-RELAYED-ADDRESS changes; XOR-MAPPED-ADDRESS
/// is what the client really is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalIp {
    pub public: IpAddr,
    pub private: Option<IpAddr>,
}

/// Why an `--external-ip` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExternalIpError {
    #[error("not an IP address: {0}")]
    Address(String),
    #[error("public and private address of different families: {0}")]
    Family(String),
}

impl std::str::FromStr for ExternalIp {
    type Err = ExternalIpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ip = |v: &str| {
            v.trim()
                .parse::<IpAddr>()
                .map_err(|_| ExternalIpError::Address(s.to_string()))
        };
        let (public, private) = match s.split_once('/') {
            Some((p, q)) => (ip(p)?, Some(ip(q)?)),
            None => (ip(s)?, None),
        };
        if private.is_some_and(|q| q.is_ipv4() != public.is_ipv4()) {
            return Err(ExternalIpError::Family(s.to_string()));
        }
        Ok(ExternalIp { public, private })
    }
}

/// RFC 8656 §14.9: a port held for a later Allocate with RESERVATION-TOKEN.
#[derive(Debug, Clone, Copy)]
struct Reservation {
    relay: SocketAddr,
    expires: Instant,
}

/// How long a reserved port waits for its Allocate (RFC 8656 suggests 30 s).
const RESERVATION_LIFETIME: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct TurnConfig {
    pub realm: String,
    pub software: Option<String>,
    pub auth_enabled: bool,
    pub max_lifetime: Duration,
    pub quotas: Quotas,
    pub peer_policy: PeerPolicy,
    /// Advertised addresses for hosts behind 1:1 NAT.
    pub external_ips: Vec<ExternalIp>,
    pub unauth_rate_per_sec: u32,
    pub unauth_burst: u32,
    pub rate_limit_entries: usize,
    pub nonce_lifetime: Duration,
    /// Deliver between two allocations of this relay without the kernel.
    pub intra_relay_shortcut: bool,
    /// Relayed payload per allocation, both directions together.
    pub max_allocation_bytes_per_sec: Option<u64>,
    /// Relayed payload per user (principal) over all its allocations.
    pub max_user_bytes_per_sec: Option<u64>,
    /// Answer MOBILITY-TICKET (RFC 8016); 405 when off.
    pub mobility: bool,
    /// How long a ticketed allocation outlives its closed session.
    pub mobility_grace: Duration,
    /// TEST ONLY (`--test-impair`): loss, duplication and reordering of relayed datagrams.
    pub test_impairment: Option<Impairment>,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            realm: "polyrtc".into(),
            software: Some(concat!("polyrtc-relay ", env!("CARGO_PKG_VERSION")).into()),
            auth_enabled: true,
            max_lifetime: Duration::from_secs(3600),
            quotas: Quotas {
                per_user: 10,
                total: 10_000,
                permissions_per_allocation: 256,
            },
            peer_policy: PeerPolicy::default(),
            external_ips: Vec::new(),
            unauth_rate_per_sec: 20,
            unauth_burst: 100,
            rate_limit_entries: 100_000,
            nonce_lifetime: Duration::from_secs(600),
            intra_relay_shortcut: true,
            max_allocation_bytes_per_sec: None,
            max_user_bytes_per_sec: None,
            mobility: true,
            mobility_grace: Duration::from_secs(60),
            test_impairment: None,
        }
    }
}

/// The TURN server state machine.
pub struct TurnServer {
    cfg: TurnConfig,
    auth: Authenticator,
    allocations: AllocationTable,
    limiter: RateLimiter,
    metrics: Arc<Metrics>,
    epoch: Instant,
    unix_epoch: u64,
    reservations: std::collections::HashMap<[u8; 8], Reservation>,
    /// Per-user byte buckets (`max_user_bytes_per_sec`), by principal.
    user_buckets: std::collections::HashMap<String, ByteBucket>,
    ticket_key: TicketKey,
    next_mobility_id: u64,
    impairer: Option<impair::Impairer>,
}

/// What a request handler needs to answer.
struct Request<'m, 'a> {
    msg: &'m Message<'a>,
    client: ClientId,
    tid: TransactionId,
    method: Method,
    username: String,
    principal: String,
    key: Option<LongTermKey>,
    sha256: bool,
    fingerprint: bool,
}

impl TurnServer {
    /// `now` and `unix_now` (seconds since 1970) describe the same instant.
    pub fn new(
        cfg: TurnConfig,
        auth: Authenticator,
        metrics: Arc<Metrics>,
        now: Instant,
        unix_now: u64,
    ) -> Self {
        let limiter = RateLimiter::new(
            cfg.unauth_rate_per_sec,
            cfg.unauth_burst,
            cfg.rate_limit_entries,
        );
        let allocations = AllocationTable::new(cfg.quotas);
        let impairer = cfg
            .test_impairment
            .map(|i| impair::Impairer::new(i, metrics.clone()));
        TurnServer {
            cfg,
            auth,
            allocations,
            limiter,
            metrics,
            epoch: now,
            unix_epoch: unix_now,
            reservations: Default::default(),
            user_buckets: Default::default(),
            ticket_key: TicketKey::new(rand::random()),
            next_mobility_id: 0,
            impairer,
        }
    }

    pub fn allocations(&self) -> &AllocationTable {
        &self.allocations
    }

    pub fn config(&self) -> &TurnConfig {
        &self.cfg
    }

    fn mono_secs(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs()
    }

    fn unix_secs(&self, now: Instant) -> u64 {
        self.unix_epoch + self.mono_secs(now)
    }

    /// One STUN message or ChannelData from a client (already de-framed for
    /// stream transports).
    pub fn handle_client(
        &mut self,
        now: Instant,
        client: ClientId,
        data: &[u8],
        sockets: &mut dyn RelaySockets,
        out: &mut Vec<Output>,
    ) {
        let Some(&first) = data.first() else { return };
        match framing::classify(first) {
            Ok(FrameKind::ChannelData) => self.client_channel_data(now, client, data, out),
            Ok(FrameKind::Stun) => match Message::parse(data) {
                Ok(msg) => match msg.class {
                    Class::Request => {
                        self.metrics.requests.add(client.transport, 1);
                        self.handle_request(now, client, &msg, sockets, out)
                    }
                    Class::Indication if msg.method == Method::SEND => {
                        self.handle_send(now, client, &msg, out)
                    }
                    _ => {}
                },
                Err(_) => {
                    self.metrics.malformed.fetch_add(1, Relaxed);
                }
            },
            Err(_) => {
                self.metrics.malformed.fetch_add(1, Relaxed);
            }
        }
    }

    /// A datagram that arrived on the relay socket bound at `relay`.
    pub fn handle_peer(
        &mut self,
        now: Instant,
        relay: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        out: &mut Vec<Output>,
    ) {
        self.metrics.peer_rx_packets.fetch_add(1, Relaxed);
        self.metrics
            .peer_rx_bytes
            .fetch_add(data.len() as u64, Relaxed);
        match self.impairer.as_mut() {
            Some(impairer) => {
                let leg = impair::Leg::ToClient { relay, peer };
                for (leg, data) in impairer.pass(now, leg, data) {
                    self.release_impaired(now, leg, &data, out);
                }
            }
            None => self.deliver_to_client(now, relay, peer, data, out),
        }
    }

    /// A datagram the test impairment let through, on its way again.
    fn release_impaired(
        &mut self,
        now: Instant,
        leg: impair::Leg,
        data: &[u8],
        out: &mut Vec<Output>,
    ) {
        match leg {
            impair::Leg::ToPeer {
                from_local,
                from_public,
                peer,
            } => self.forward_to_peer(now, from_local, from_public, peer, data, out),
            impair::Leg::ToClient { relay, peer } => {
                self.deliver_to_client(now, relay, peer, data, out)
            }
        }
    }

    /// Free `client`'s allocation at once (shutdown, or a session without a
    /// mobility ticket; shells call [`TurnServer::session_closed`]).
    pub fn client_closed(&mut self, client: ClientId, out: &mut Vec<Output>) {
        if let Some(a) = self.allocations.remove(&client) {
            for r in a.relays() {
                out.push(Output::CloseRelay { relay: r.local });
            }
            tracing::info!(user = %a.username, relay = %a.relay_public, "allocation closed with its connection");
        }
        self.update_gauge();
    }

    /// Expire allocations, permissions and channels.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Output>) {
        if let Some(impairer) = self.impairer.as_mut() {
            for (leg, data) in impairer.release(now, false) {
                self.release_impaired(now, leg, &data, out);
            }
        }
        for a in self.allocations.expire(now) {
            tracing::info!(user = %a.username, relay = %a.relay_public, "allocation expired");
            for r in a.relays() {
                out.push(Output::CloseRelay { relay: r.local });
            }
        }
        let allocations = &self.allocations;
        self.user_buckets
            .retain(|user, _| allocations.allocations_of(user) > 0);
        self.reservations.retain(|_, r| {
            let keep = r.expires > now;
            if !keep {
                out.push(Output::CloseRelay { relay: r.relay });
            }
            keep
        });
        self.limiter.purge(now);
        self.update_gauge();
    }

    /// TEST ONLY: whether `--test-impair` holds datagrams back (they are released by the timer).
    pub fn impairs(&self) -> bool {
        self.impairer.is_some()
    }

    /// When `handle_timeout` next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.allocations.next_expiry()
    }

    /// Remove every allocation (shutdown).
    pub fn close_all(&mut self, out: &mut Vec<Output>) {
        let clients: Vec<ClientId> = self.allocations.iter().map(|a| a.client).collect();
        for c in clients {
            self.client_closed(c, out);
        }
        for (_, r) in self.reservations.drain() {
            out.push(Output::CloseRelay { relay: r.relay });
        }
    }

    /// Take `bytes` from the bandwidth buckets of the allocation at `relay`
    /// and of its user; over either limit the datagram is dropped.
    fn charge(&mut self, relay: SocketAddr, bytes: usize, now: Instant) -> bool {
        let Some(a) = self.allocations.by_relay_mut(relay) else {
            return true;
        };
        if !a.bandwidth.as_mut().is_none_or(|b| b.take(bytes, now)) {
            self.metrics.bandwidth_dropped.fetch_add(1, Relaxed);
            return false;
        }
        let Some(rate) = self.cfg.max_user_bytes_per_sec else {
            return true;
        };
        let ok = match self.user_buckets.get_mut(&a.principal) {
            Some(b) => b.take(bytes, now),
            None => {
                let mut b = ByteBucket::new(rate, now);
                let ok = b.take(bytes, now);
                self.user_buckets.insert(a.principal.clone(), b);
                ok
            }
        };
        if !ok {
            self.metrics.user_bandwidth_dropped.fetch_add(1, Relaxed);
        }
        ok
    }

    fn update_gauge(&self) {
        self.metrics
            .allocations_active
            .store(self.allocations.len() as u64, Relaxed);
    }

    fn peer_allowed(&self, peer: SocketAddr) -> bool {
        self.allocations.is_relay_address(peer) || self.cfg.peer_policy.allows(peer.ip())
    }

    /// Relay `data` from an allocation to `peer`, short-cutting to another
    /// allocation of this relay when `peer` is one of ours.
    fn send_to_peer(
        &mut self,
        now: Instant,
        from_local: SocketAddr,
        from_public: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        out: &mut Vec<Output>,
    ) {
        if !self.charge(from_local, data.len(), now) {
            return;
        }
        self.metrics.peer_tx_packets.fetch_add(1, Relaxed);
        self.metrics
            .peer_tx_bytes
            .fetch_add(data.len() as u64, Relaxed);
        match self.impairer.as_mut() {
            Some(impairer) => {
                let leg = impair::Leg::ToPeer {
                    from_local,
                    from_public,
                    peer,
                };
                for (leg, data) in impairer.pass(now, leg, data) {
                    self.release_impaired(now, leg, &data, out);
                }
            }
            None => self.forward_to_peer(now, from_local, from_public, peer, data, out),
        }
    }

    /// The kernel-free shortcut to another allocation of this relay, or a datagram to send.
    fn forward_to_peer(
        &mut self,
        now: Instant,
        from_local: SocketAddr,
        from_public: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        out: &mut Vec<Output>,
    ) {
        if self.cfg.intra_relay_shortcut {
            let target = self
                .allocations
                .by_relay(peer)
                .and_then(|t| t.relays().find(|r| r.public == peer || r.local == peer));
            if let Some(target) = target {
                // The source the kernel would have shown: our address in the
                // same space (bound or advertised) as the one dialled.
                let source = if target.public == peer {
                    from_public
                } else {
                    from_local
                };
                let target_local = target.local;
                self.metrics.intra_relay_packets.fetch_add(1, Relaxed);
                self.metrics.peer_rx_packets.fetch_add(1, Relaxed);
                self.metrics
                    .peer_rx_bytes
                    .fetch_add(data.len() as u64, Relaxed);
                self.deliver_to_client(now, target_local, source, data, out);
                return;
            }
        }
        out.push(Output::ToPeer {
            relay: from_local,
            peer,
            data: data.to_vec(),
        });
    }

    fn deliver_to_client(
        &mut self,
        now: Instant,
        relay: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        out: &mut Vec<Output>,
    ) {
        if !self.charge(relay, data.len(), now) {
            return;
        }
        let Some(a) = self.allocations.by_relay(relay) else {
            return;
        };
        if !a.has_permission(peer.ip(), now) {
            self.metrics.no_permission_dropped.fetch_add(1, Relaxed);
            return;
        }
        let msg = if let Some(channel) = a.channel_for_peer(peer, now) {
            ChannelData::encode(channel, data, a.client.transport.is_stream())
        } else {
            let mut b = MessageBuilder::new(
                Class::Indication,
                Method::DATA,
                crate::stun::random_transaction_id(),
            );
            b.xor_address(stun::XOR_PEER_ADDRESS, peer)
                .attribute(stun::DATA, data);
            b.into_bytes()
        };
        out.push(Output::ToClient {
            client: a.client,
            data: msg,
        });
    }

    fn client_channel_data(
        &mut self,
        now: Instant,
        client: ClientId,
        data: &[u8],
        out: &mut Vec<Output>,
    ) {
        let Ok(cd) = ChannelData::parse(data) else {
            self.metrics.malformed.fetch_add(1, Relaxed);
            return;
        };
        let Some(a) = self.allocations.get(&client) else {
            return;
        };
        let Some(peer) = a
            .peer_for_channel(cd.channel, now)
            .filter(|p| a.has_permission(p.ip(), now))
        else {
            self.metrics.no_permission_dropped.fetch_add(1, Relaxed);
            return;
        };
        // The relayed address of the peer's family (dual stack).
        let Some(r) = a.relay_for(peer) else {
            return;
        };
        self.send_to_peer(now, r.local, r.public, peer, cd.data, out);
    }

    fn handle_send(
        &mut self,
        now: Instant,
        client: ClientId,
        msg: &Message<'_>,
        out: &mut Vec<Output>,
    ) {
        let Some(a) = self.allocations.get(&client) else {
            return;
        };
        let (Ok(Some(peer)), Some(data)) = (
            msg.xor_address(stun::XOR_PEER_ADDRESS),
            msg.attribute(stun::DATA),
        ) else {
            self.metrics.malformed.fetch_add(1, Relaxed);
            return;
        };
        if !a.has_permission(peer.ip(), now) {
            self.metrics.no_permission_dropped.fetch_add(1, Relaxed);
            return;
        }
        let Some(r) = a.relay_for(peer) else {
            return;
        };
        if !self.peer_allowed(peer) {
            self.metrics.forbidden_peer.fetch_add(1, Relaxed);
            return;
        }
        self.send_to_peer(now, r.local, r.public, peer, data, out);
    }
}

#[cfg(test)]
mod tests;
