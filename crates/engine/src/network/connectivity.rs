//! The ICE agent's side of the network: credentials and candidates from the descriptions,
//! checks out through the TURN allocations, and the resulting states (webrtc-pc §4.3.3).

use std::net::SocketAddr;
use std::time::Instant;

use super::RelayCommand;
use crate::api::SdpType;
use crate::ice::{
    classify, IceAgent, IceCredentials as AgentCredentials, IceEvent, PacketKind, RemoteCandidate,
};
use crate::peer_connection::PeerConnection;
use crate::sdp::Attributes;

/// DTLS/SRTP records kept from a known pair before any pair is selected: a DTLS flight is at
/// most a handful of records (certificate fragments included at our 1,100-byte MTU).
const EARLY_RECORDS: usize = 8;

impl PeerConnection {
    /// Called when new local credentials are applied: the first agent, or an ICE restart.
    pub(crate) fn restart_agent(&mut self, now: Instant) {
        let Some(local) = self.applied_ice.clone() else {
            return;
        };
        let creds = AgentCredentials {
            ufrag: local.ufrag,
            pwd: local.pwd,
        };
        match &mut self.network.agent {
            Some(agent) => agent.restart(creds, now),
            None => {
                // RFC 8445 §6.1.1: the offerer controls, unless the peer is ICE-lite (then the
                // full agent controls whatever its side); corrected by 487 if both think so.
                let offerer = self
                    .descs
                    .local()
                    .is_some_and(|d| d.sdp_type == SdpType::Offer);
                let tie_breaker = rand_core::RngCore::next_u64(&mut self.rng);
                self.network.agent = Some(IceAgent::new(creds, offerer, tie_breaker, now));
            }
        }
        self.network.remote_ufrag = None;
        self.network.remote_added.clear();
        self.network.remote_lines.clear();
        self.sync_remote_ice(now);
    }

    /// Hands the agent whatever the remote description and addIceCandidate added since the
    /// last call: credentials (a change is a remote ICE restart), lite-ness, candidates.
    pub(crate) fn sync_remote_ice(&mut self, now: Instant) {
        let Some(agent) = &mut self.network.agent else {
            return;
        };
        let Some(remote) = self.descs.remote() else {
            return;
        };
        let sdp = &remote.parsed;
        let (Some(ufrag), Some(pwd)) = sdp.transport_ice() else {
            return;
        };
        if self.network.remote_ufrag.as_deref() != Some(ufrag) {
            agent.set_remote_lite(sdp.attr("ice-lite").is_some());
            agent.set_remote_credentials(AgentCredentials {
                ufrag: ufrag.to_string(),
                pwd: pwd.to_string(),
            });
            self.network.remote_ufrag = Some(ufrag.to_string());
            self.network.remote_added.clear();
            self.network.remote_lines.clear();
        }
        let mut fresh = Vec::new();
        for m in sdp.media.iter().filter(|m| !m.is_rejected()) {
            for value in m.attrs("candidate") {
                if self.network.remote_added.iter().any(|v| v == value) {
                    continue;
                }
                self.network.remote_added.push(value.to_string());
                if let Ok(c) = crate::candidate::parse_attribute_value(value) {
                    fresh.push((c, value.to_string()));
                }
            }
        }
        let end = sdp.media.iter().any(|m| m.has("end-of-candidates"));
        for (c, value) in fresh {
            // mDNS (.local) names, TCP and RTCP candidates are skipped: a page cannot resolve
            // mDNS names and we only speak UDP with rtcp-mux (the agent says why).
            let Ok(remote) = RemoteCandidate::from_sdp(&c) else {
                continue;
            };
            self.network
                .remote_lines
                .push((remote.addr, format!("candidate:{value}")));
            for r in self.network.relays.iter_mut().filter(|r| !r.closed) {
                r.client.create_permission(now, remote.addr.ip());
            }
            let _ = agent.add_remote_candidate(remote);
        }
        if end {
            agent.end_of_remote_candidates();
        }
    }

    /// A datagram from a peer arrived on one of our relayed addresses (RFC 7983 demux).
    pub(crate) fn on_relayed_datagram(
        &mut self,
        now: Instant,
        relayed: SocketAddr,
        from: SocketAddr,
        data: Vec<u8>,
    ) {
        match data.first().copied().map(classify) {
            Some(PacketKind::Stun) => {
                if let Some(agent) = &mut self.network.agent {
                    agent.handle_packet(now, relayed, from, &data);
                }
            }
            // Only the selected pair carries DTLS/SRTP (RFC 8445 §12), with one exception: the
            // peer starts DTLS the moment it selects a pair, so its first flight can arrive
            // before we select the same pair, even in the same relay batch as the check
            // response that makes us select it. Dropping it would cost a whole retransmission
            // timeout (measured: ~1 s on polyfill↔polyfill opens). Like Chromium (which caches
            // the ClientHello), a few early records from a pair the agent knows are kept until
            // DTLS starts.
            Some(PacketKind::Dtls | PacketKind::Rtp) => {
                let key = (relayed, from);
                let selected = self.network.selected == Some(key);
                let early = self.network.selected.is_none()
                    && self.network.inbound.len() < EARLY_RECORDS
                    && self
                        .network
                        .agent
                        .as_ref()
                        .is_some_and(|a| a.pair(key).is_some());
                if !(selected || early) {
                    return;
                }
                if let Some(agent) = &mut self.network.agent {
                    agent.note_data_received(relayed, from, data.len(), now);
                }
                self.network.inbound.push_back((from, data));
            }
            _ => {}
        }
    }

    /// Agent outputs: checks go out through the allocation whose relayed address is their base.
    pub(crate) fn drain_agent(&mut self, now: Instant) -> bool {
        let Some(agent) = &mut self.network.agent else {
            return false;
        };
        let mut progressed = false;
        let mut events = Vec::new();
        while let Some(t) = agent.poll_transmit() {
            progressed = true;
            if let Some(r) = self
                .network
                .relays
                .iter_mut()
                .find(|r| !r.closed && r.relayed == Some(t.from))
            {
                // A refused send (no permission yet, allocation gone) is a lost check: ICE
                // retransmits.
                let _ = r.client.send_to(now, t.to, &t.data);
            }
        }
        while let Some(e) = agent.poll_event() {
            progressed = true;
            events.push(e);
        }
        for e in events {
            match e {
                IceEvent::StateChanged(state) => self.set_ice_state(state),
                IceEvent::SelectedPair { local, remote } => {
                    if self.network.selected != Some((local, remote)) {
                        self.network.selected_changes += 1;
                        self.selected_pair_changed(local, remote);
                    }
                    self.network.selected = Some((local, remote));
                    self.release_stale_relays(local);
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
        progressed
    }

    /// After an ICE restart selected a pair, allocations of older generations are released
    /// (RFC 8656 §7: Refresh with lifetime 0).
    fn release_stale_relays(&mut self, selected_base: SocketAddr) {
        let generation = self.network.generation;
        let now = self.network.now.unwrap_or(self.created_at);
        for r in self.network.relays.iter_mut() {
            if r.closed || r.generation == generation || r.relayed == Some(selected_base) {
                continue;
            }
            r.client.close(now);
            r.closed = true;
            while let Some(bytes) = r.client.poll_transmit() {
                self.network.transmits.push_back((r.id, bytes));
            }
            self.network
                .commands
                .push_back(RelayCommand::Close { relay: r.id });
        }
    }

    /// webrtc-pc §4.4.1.3 close: allocations are released, sessions closed, no events.
    pub(crate) fn close_network(&mut self) {
        let now = self.network.now.unwrap_or(self.created_at);
        if let Some(agent) = &mut self.network.agent {
            agent.close();
        }
        for r in self.network.relays.iter_mut().filter(|r| !r.closed) {
            r.client.close(now);
            r.closed = true;
            while let Some(bytes) = r.client.poll_transmit() {
                self.network.transmits.push_back((r.id, bytes));
            }
            self.network
                .commands
                .push_back(RelayCommand::Close { relay: r.id });
        }
    }
}
