//! The network path up to a nominated candidate pair (webrtc-pc §5.6 RTCIceTransport).
//!
//! A page cannot send UDP: its only candidates are TURN allocations on polyrtc relays, reached
//! over WebSocket or WebTransport sessions that the shell opens on request. One [`TurnClient`]
//! per relay URL and generation of ICE credentials, one [`IceAgent`] for the bundled transport.
//! The shell's side of it, all without a clock of its own:
//! - [`PeerConnection::poll_relay_command`]: open or close a session to a relay;
//! - [`PeerConnection::handle_relay_state`]: the session opened or dropped (a dropped session
//!   is asked for again while its allocation can be resumed, see `reconnect`);
//! - [`PeerConnection::handle_relay_input`] / [`PeerConnection::poll_relay_transmit`]: bytes.

mod connectivity;
mod gathering;
mod pool;
mod reconnect;
mod selected_pair;
mod stats;
pub use reconnect::{retry_delay, FIRST_RETRY, GIVE_UP_AFTER, MAX_RETRY};
pub use stats::TRANSPORT_ID;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::api::{Event, IceCandidateInfo, IceConnectionState};
use crate::ice::IceAgent;
use crate::peer_connection::PeerConnection;
use crate::turn::TurnClient;

/// Identifies one relay session of a connection (unique for the connection's lifetime).
pub type RelayId = u32;

/// What the shell must do with its relay sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum RelayCommand {
    /// Open a session to `url` (`ws:`/`wss:` WebSocket with subprotocol `turn`, `https:`
    /// WebTransport) and pass what arrives to `handle_relay_input`. Asked again for the same
    /// `relay` after its session dropped: the new session replaces the dead one.
    Connect { relay: RelayId, url: String },
    /// The allocation is gone: close the session once queued bytes are out.
    Close { relay: RelayId },
}

/// The shell's report on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RelayTransportState {
    Open,
    Closed,
}

/// One TURN allocation and the session that carries it.
pub(crate) struct Relay {
    pub id: RelayId,
    pub url: String,
    pub client: TurnClient,
    /// Datagram relays (WebTransport) get whole messages one by one; the shell hands every
    /// session's input over in stream framing, possibly several messages at once.
    pub datagram: bool,
    /// Credentials generation (ICE restart count) the allocation was gathered for.
    pub generation: u32,
    /// Relayed and server-reflexive addresses once allocated.
    pub relayed: Option<SocketAddr>,
    pub mapped: Option<SocketAddr>,
    /// Gathering on this relay ended (allocated or failed).
    pub gathered: bool,
    /// The session opened at least once (a failure before that is "server unreachable").
    pub ever_open: bool,
    pub closed: bool,
    /// Set while a lost session is being opened again.
    pub reconnect: Option<reconnect::Reconnect>,
    /// Username and credential of an allocation made for the candidate pool and not yet taken
    /// by a gathering (`iceCandidatePoolSize`); `None` once gathering owns it.
    pub pool_credentials: Option<(String, String)>,
}

impl Relay {
    pub fn is_pooled(&self) -> bool {
        self.pool_credentials.is_some() && !self.closed
    }
}

#[derive(Default)]
pub(crate) struct Network {
    pub relays: Vec<Relay>,
    pub next_relay: RelayId,
    pub generation: u32,
    pub commands: VecDeque<RelayCommand>,
    pub transmits: VecDeque<(RelayId, Vec<u8>)>,
    pub agent: Option<IceAgent>,
    /// Remote credentials applied to the agent, to spot a remote ICE restart.
    pub remote_ufrag: Option<String>,
    /// Remote `a=candidate` values already given to the agent in this ICE generation.
    pub remote_added: Vec<String>,
    /// The peer's signalled candidates by address, as `candidate:` lines (this generation).
    pub remote_lines: Vec<(SocketAddr, String)>,
    /// Our candidates as announced in `icecandidate`, by relayed address.
    pub local_infos: Vec<(SocketAddr, IceCandidateInfo)>,
    pub selected: Option<(SocketAddr, SocketAddr)>,
    /// webrtc-stats selectedCandidatePairChanges.
    pub selected_changes: u32,
    /// Non-STUN datagrams from the selected pair, for the DTLS layer (RFC 7983 demux).
    pub inbound: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Latest time the engine was driven with; operations without their own `now` use it.
    pub now: Option<Instant>,
}

impl PeerConnection {
    pub fn poll_relay_command(&mut self) -> Option<RelayCommand> {
        self.network.commands.pop_front()
    }

    pub fn poll_relay_transmit(&mut self) -> Option<(RelayId, Vec<u8>)> {
        self.network.transmits.pop_front()
    }

    pub fn handle_relay_state(&mut self, now: Instant, relay: RelayId, state: RelayTransportState) {
        self.network.now = Some(now);
        match state {
            RelayTransportState::Open => self.relay_session_open(now, relay),
            RelayTransportState::Closed => self.relay_session_lost(now, relay),
        }
        self.drive_network(now);
    }

    pub fn handle_relay_input(&mut self, now: Instant, relay: RelayId, bytes: &[u8]) {
        self.network.now = Some(now);
        if let Some(r) = self.network.relays.iter_mut().find(|r| r.id == relay) {
            if r.datagram {
                // A malformed frame ends the split; what came before it still counts.
                for message in polyrtc_stun::framing::split_frames(bytes).map_while(Result::ok) {
                    r.client.handle_input(now, message);
                }
            } else {
                r.client.handle_input(now, bytes);
            }
        }
        self.drive_network(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.network.now = Some(now);
        for r in &mut self.network.relays {
            if r.client.poll_timeout().is_some_and(|t| t <= now) {
                r.client.handle_timeout(now);
            }
        }
        if let Some(agent) = &mut self.network.agent {
            if agent.poll_timeout().is_some_and(|t| t <= now) {
                agent.handle_timeout(now);
            }
        }
        self.transport_timeout(now);
        self.reconnect_due(now);
        self.drive_network(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let relays = self
            .network
            .relays
            .iter()
            .filter(|r| !r.closed)
            .filter_map(|r| r.client.poll_timeout());
        let agent = self.network.agent.as_ref().and_then(IceAgent::poll_timeout);
        let transport = self.transport_poll_timeout();
        let reconnect = self.reconnect_poll_timeout();
        relays
            .chain(agent)
            .chain(transport)
            .chain(reconnect)
            .chain(self.pool_poll_timeout())
            .min()
    }

    /// Moves everything the TURN clients and the ICE agent produced until nothing moves.
    pub(crate) fn drive_network(&mut self, now: Instant) {
        // Bounded: each round only consumes queued outputs; a few rounds settle any cascade
        // (relay data → agent response → relay transmit).
        for _ in 0..8 {
            let mut progressed = self.drain_relays(now);
            progressed |= self.drain_agent(now);
            progressed |= self.drive_transport(now);
            if !progressed {
                break;
            }
        }
        self.finish_gathering_if_done();
    }

    pub(crate) fn set_ice_state(&mut self, state: IceConnectionState) {
        if self.ice_connection == state || self.closed {
            return;
        }
        self.ice_connection = state;
        self.events
            .push_back(Event::IceConnectionStateChange { state });
        self.update_connection_state();
    }

    /// webrtc-pc §4.3.3 RTCPeerConnectionState from the one ICE transport and the one DTLS
    /// transport (bundle); fired after the iceconnectionstatechange, as Chromium does.
    pub(crate) fn update_connection_state(&mut self) {
        use crate::api::{
            DtlsTransportState as D, IceConnectionState as I, PeerConnectionState as P,
        };
        let dtls = self.snapshot_dtls();
        let next = match (self.ice_connection, dtls) {
            (I::Closed, _) => P::Closed,
            (I::Failed, _) | (_, D::Failed) => P::Failed,
            (I::Disconnected, _) => P::Disconnected,
            (I::New, D::New | D::Closed) => P::New,
            // webrtc-pc §4.3.3 "connected": every DTLS transport "connected" or "closed" (a
            // peer's close_notify leaves Chromium's connectionState at "connected").
            (I::Connected | I::Completed, D::Connected | D::Closed) => P::Connected,
            _ => P::Connecting,
        };
        if next != self.connection {
            self.connection = next;
            self.events
                .push_back(Event::ConnectionStateChange { state: next });
        }
    }
}
