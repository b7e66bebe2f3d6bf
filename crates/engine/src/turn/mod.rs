//! The sans-IO TURN client (RFC 8656): one allocation on one server.
//!
//! The page cannot send UDP, so every packet of the polyfill leaves through a TURN allocation on
//! polyrtc-relay, reached over a WebSocket or WebTransport session (or, in native tests, plain
//! UDP/TCP). This module owns the TURN state: Allocate with the long-term credential retry
//! (RFC 8489 §9.2), refreshes, permissions, channels, Send/Data indications and mobility
//! (RFC 8016). Bytes and time come in; bytes, events and the next deadline go out.

mod input;
mod peers;
mod requests;
mod responses;
mod transaction;

use peers::Peers;
use polyrtc_stun::framing::ChannelData;
use polyrtc_stun::{Class, LongTermKey, MessageBuilder, Method, TransactionId};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use transaction::{RequestKind, Transactions};

/// How messages to and from the server are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// TCP, TLS, WebSocket, a WebTransport stream (RFC 8656 §12.5): messages back to back,
    /// ChannelData padded to four bytes; requests are not retransmitted.
    Stream,
    /// UDP or a WebTransport datagram: one message per datagram, requests retransmitted.
    Datagram,
}

#[derive(Debug, Clone)]
pub struct TurnClientConfig {
    pub username: String,
    pub password: String,
    /// The `iceServers` URL, echoed in `icecandidateerror`.
    pub server_url: String,
    pub framing: Framing,
    /// Ask for a MOBILITY-TICKET (RFC 8016) so the allocation survives a new transport session.
    pub request_mobility: bool,
    /// Ask the server to relay with the IP DF bit set (DONT-FRAGMENT, RFC 8656 §7.1), so that
    /// datagrams larger than the path are lost rather than fragmented. A server that refuses
    /// it (420) is asked again without. The peer connection does not ask (see gathering.rs).
    pub dont_fragment: bool,
    /// The LIFETIME asked for in Allocate and Refresh; the server may grant less.
    pub max_lifetime: Duration,
}

/// Where the allocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnState {
    Allocating,
    Allocated,
    /// The transport dropped while allocated; waiting for `transport_reconnected`.
    Reconnecting,
    Failed,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    Allocated {
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
        lifetime: Duration,
    },
    /// Data from a peer, through a Data indication or a channel.
    Data { from: SocketAddr, data: Vec<u8> },
    /// The allocation could not be made: `icecandidateerror`'s errorCode and errorText (its
    /// url is the config's `server_url`).
    Error { code: u16, text: String },
    /// The allocation is gone (refresh failed, expired, transport lost without a ticket).
    AllocationLost { reason: String },
    /// CreatePermission failed; sends to this address will not be relayed.
    PermissionFailed {
        peer: IpAddr,
        code: u16,
        text: String,
    },
    /// ChannelBind failed; this peer keeps using Send/Data indications.
    ChannelFailed {
        peer: SocketAddr,
        code: u16,
        text: String,
    },
    /// RFC 8016: the allocation moved to the new transport session.
    Resumed { relayed: SocketAddr },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnError {
    #[error("no allocation (state {0:?})")]
    NotAllocated(TurnState),
    #[error("payload of {0} bytes does not fit a TURN message")]
    TooLarge(usize),
    #[error("peer {peer} is not of the relayed address's family")]
    FamilyMismatch { peer: SocketAddr },
    #[error("the server refused a permission for {0}")]
    PermissionRefused(IpAddr),
}

/// Browsers report an unreachable TURN server as errorCode 701 (W3C webrtc-pc §4.8.2).
pub const CODE_UNREACHABLE: u16 = 701;
/// The largest payload relayed: the Send indication's length field is 16 bits.
pub const MAX_PAYLOAD: usize = 65_000;
/// RFC 8656 §9: permissions last 300 s; refresh a minute early.
const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// RFC 8656 §12: channel bindings last 600 s; rebind a minute early.
const CHANNEL_REFRESH: Duration = Duration::from_secs(540);
/// RFC 8656 §7.2: the default allocation lifetime when the server names none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// The credentials learned from the server's 401 (RFC 8489 §9.2.3).
#[derive(Debug, Default)]
struct Auth {
    realm: Option<String>,
    nonce: Option<String>,
    key: Option<LongTermKey>,
}

#[derive(Debug)]
struct Allocation {
    relayed: SocketAddr,
    expires: Instant,
    refresh_at: Instant,
}

pub struct TurnClient {
    config: TurnClientConfig,
    rng: ChaCha20Rng,
    state: TurnState,
    auth: Auth,
    transactions: Transactions,
    allocation: Option<Allocation>,
    /// RFC 8016: presented in a Refresh over a new transport to keep the allocation.
    ticket: Option<Vec<u8>>,
    /// The server answered 405 (Mobility Forbidden): Allocate without asking for a ticket.
    mobility_refused: bool,
    /// The server answered 420 to DONT-FRAGMENT: Allocate without it.
    dont_fragment_refused: bool,
    peers: Peers,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<TurnEvent>,
}

impl std::fmt::Debug for TurnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnClient")
            .field("server_url", &self.config.server_url)
            .field("state", &self.state)
            .field("relayed", &self.relayed_address())
            .field("alloc", &self.allocation)
            .field("peers", &self.peers)
            .field("tx", &self.transactions.poll_timeout())
            .finish_non_exhaustive()
    }
}

impl TurnClient {
    /// A client that sends its Allocate at once.
    pub fn new(config: TurnClientConfig, rng: &mut impl RngCore, now: Instant) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut client = TurnClient {
            config,
            rng: ChaCha20Rng::from_seed(seed),
            state: TurnState::Allocating,
            auth: Auth::default(),
            transactions: Transactions::default(),
            allocation: None,
            ticket: None,
            mobility_refused: false,
            dont_fragment_refused: false,
            peers: Peers::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        client.start_request(now, RequestKind::Allocate, 0);
        client
    }

    pub fn state(&self) -> TurnState {
        self.state
    }

    pub fn server_url(&self) -> &str {
        &self.config.server_url
    }

    pub fn relayed_address(&self) -> Option<SocketAddr> {
        self.allocation.as_ref().map(|a| a.relayed)
    }

    /// Whether RFC 8016 resumption is possible after a transport loss.
    pub fn has_mobility_ticket(&self) -> bool {
        self.ticket.is_some()
    }

    /// The channel bound to `peer`, once the server confirmed it.
    pub fn channel(&self, peer: SocketAddr) -> Option<u16> {
        self.peers.bound_channel(peer)
    }

    /// Whether the server confirmed a permission for `peer`.
    pub fn has_permission(&self, peer: IpAddr) -> bool {
        self.peers.permission_installed(peer)
    }

    /// One message for the server, framed for the configured transport.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<TurnEvent> {
        self.events.pop_front()
    }

    /// Relay `data` to `peer`: over its channel once bound (RFC 8656 §12), else in a Send
    /// indication (§10). The permission and the channel are created on first use.
    pub fn send_to(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), TurnError> {
        let relayed = match (&self.allocation, self.state) {
            (Some(a), TurnState::Allocated) => a.relayed,
            _ => return Err(TurnError::NotAllocated(self.state)),
        };
        if data.len() > MAX_PAYLOAD {
            return Err(TurnError::TooLarge(data.len()));
        }
        // RFC 8656 §9.1: a relayed address only reaches peers of its own family.
        if relayed.is_ipv4() != peer.is_ipv4() {
            return Err(TurnError::FamilyMismatch { peer });
        }
        if self.peers.permission_refused(peer.ip()) {
            return Err(TurnError::PermissionRefused(peer.ip()));
        }
        self.create_permission(now, peer.ip());
        if let Some(channel) = self.peers.bound_channel(peer) {
            let pad = self.config.framing == Framing::Stream;
            self.transmits
                .push_back(ChannelData::encode(channel, data, pad));
            return Ok(());
        }
        let mut b = MessageBuilder::new(Class::Indication, Method::SEND, self.new_id());
        b.xor_address(polyrtc_stun::XOR_PEER_ADDRESS, peer)
            .attribute(polyrtc_stun::DATA, data);
        self.transmits.push_back(b.into_bytes());
        if let Some(channel) = self.peers.want_channel(peer) {
            self.start_request(now, RequestKind::ChannelBind { channel, peer }, 0);
        }
        Ok(())
    }

    /// Install a permission for `peer` (RFC 8656 §9) unless one exists or is being made; sent
    /// once the allocation exists if it does not yet.
    pub fn create_permission(&mut self, now: Instant, peer: IpAddr) {
        if !matches!(
            self.state,
            TurnState::Allocating | TurnState::Allocated | TurnState::Reconnecting
        ) {
            return;
        }
        if self.peers.want_permission(peer) && self.state == TurnState::Allocated {
            self.peers.set_permission_in_flight(peer);
            self.start_request(now, RequestKind::CreatePermission { peer }, 0);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let txs = self.transactions.poll_timeout();
        let alloc = match (&self.allocation, self.state) {
            (Some(a), TurnState::Allocated) => {
                let refresh = (!self.refresh_in_flight()).then_some(a.refresh_at);
                [Some(a.expires), refresh, self.peers.next_refresh()]
                    .into_iter()
                    .flatten()
                    .min()
            }
            (Some(a), TurnState::Reconnecting) => Some(a.expires),
            _ => None,
        };
        [txs, alloc].into_iter().flatten().min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let due = self.transactions.handle_timeout(now);
        if matches!(self.state, TurnState::Failed) {
            return;
        }
        self.transmits.extend(due.retransmit);
        for t in due.timed_out {
            self.on_timeout(now, t);
        }
        let Some(a) = &self.allocation else { return };
        if matches!(self.state, TurnState::Allocated | TurnState::Reconnecting) && a.expires <= now
        {
            return self.lose_allocation("allocation expired before it was refreshed");
        }
        if self.state != TurnState::Allocated {
            return;
        }
        if a.refresh_at <= now && !self.refresh_in_flight() {
            let lifetime = self.requested_lifetime();
            self.start_request(now, RequestKind::Refresh { lifetime }, 0);
        }
        for peer in self.peers.due_permissions(now) {
            self.start_request(now, RequestKind::CreatePermission { peer }, 0);
        }
        for (channel, peer) in self.peers.due_channels(now) {
            self.start_request(now, RequestKind::ChannelBind { channel, peer }, 0);
        }
    }

    /// The WebSocket/WebTransport session dropped: what was in flight is lost with it. With a
    /// ticket the allocation waits for `transport_reconnected`; without one it is unreachable
    /// from any other session (RFC 8656 §3.1 binds it to the 5-tuple) and is reported lost now.
    pub fn transport_lost(&mut self, _now: Instant) {
        self.transactions.clear();
        self.transmits.clear();
        self.peers.clear_in_flight();
        if self.state == TurnState::Allocated {
            if self.ticket.is_some() {
                self.state = TurnState::Reconnecting;
            } else {
                self.lose_allocation("transport lost and the server gave no mobility ticket");
            }
        }
    }

    /// The caller stops trying to reach the server again: an allocation waiting for a new
    /// session is lost, one still being made fails as unreachable (errorCode 701).
    pub fn abandon(&mut self, reason: &str) {
        match self.state {
            TurnState::Reconnecting => self.lose_allocation(reason),
            TurnState::Allocating => self.fail(CODE_UNREACHABLE, reason.to_string()),
            _ => {}
        }
    }

    /// A new session is up. RFC 8016 §3.2: with a ticket, a Refresh carrying it moves the
    /// allocation to the new session; without one the old allocation is unreachable.
    pub fn transport_reconnected(&mut self, now: Instant) {
        match self.state {
            TurnState::Allocating => {
                self.transactions.clear();
                self.start_request(now, RequestKind::Allocate, 0);
            }
            TurnState::Reconnecting if self.ticket.is_some() => {
                self.start_request(now, RequestKind::Resume, 0);
            }
            TurnState::Reconnecting => {
                self.lose_allocation("transport lost and the server gave no mobility ticket")
            }
            _ => {}
        }
    }

    /// Delete the allocation (RFC 8656 §8: Refresh with LIFETIME 0).
    pub fn close(&mut self, now: Instant) {
        let had_allocation = self.state == TurnState::Allocated;
        self.transactions.clear();
        self.peers = Peers::default();
        self.state = TurnState::Closed;
        if had_allocation {
            self.start_request(now, RequestKind::Refresh { lifetime: 0 }, 0);
        }
    }

    fn new_id(&mut self) -> TransactionId {
        TransactionId::from_rng(&mut self.rng)
    }

    fn requested_lifetime(&self) -> u32 {
        u32::try_from(self.config.max_lifetime.as_secs()).unwrap_or(u32::MAX)
    }

    fn refresh_in_flight(&self) -> bool {
        self.transactions
            .any(|k| matches!(k, RequestKind::Refresh { .. } | RequestKind::Resume))
    }

    fn lose_allocation(&mut self, reason: &str) {
        self.state = TurnState::Failed;
        self.transactions.clear();
        self.peers = Peers::default();
        self.events.push_back(TurnEvent::AllocationLost {
            reason: reason.to_string(),
        });
    }

    fn fail(&mut self, code: u16, text: String) {
        self.state = TurnState::Failed;
        self.transactions.clear();
        self.peers = Peers::default();
        self.events.push_back(TurnEvent::Error { code, text });
    }
}

/// When to refresh an allocation granted for `lifetime`: a minute early, or at half when short.
fn refresh_delay(lifetime: Duration) -> Duration {
    if lifetime > Duration::from_secs(120) {
        lifetime - Duration::from_secs(60)
    } else {
        lifetime / 2
    }
}
