//! Candidate gathering (webrtc-pc §4.3.2, JSEP §5.1): one TURN allocation per relay URL; each
//! allocation becomes a `typ relay` candidate, each failure an `icecandidateerror`.

use std::net::SocketAddr;
use std::time::Instant;

use super::{Relay, RelayCommand, RelayId};
use crate::api::{Event, IceCandidateInfo, IceGatheringState};
use crate::config::Scheme;
use crate::ice::{LocalCandidate, RelayProtocol};
use crate::peer_connection::PeerConnection;
use crate::turn::{Framing, TurnClient, TurnClientConfig, TurnEvent};

/// icecandidateerror code for a server that could not be reached (webrtc-pc §4.8.2).
pub(crate) const UNREACHABLE: u16 = 701;

impl PeerConnection {
    /// New local ICE credentials were applied: gather afresh (JSEP §5.1.1). Events in webrtc-pc
    /// order: icegatheringstatechange(gathering), icecandidate per allocation or
    /// icecandidateerror per failure, icegatheringstatechange(complete), icecandidate(null).
    pub(crate) fn start_gathering(&mut self) {
        let has_media = self
            .descs
            .local()
            .is_some_and(|d| d.parsed.media.iter().any(|m| !m.is_rejected()));
        if !has_media {
            return;
        }
        let now = self.network.now.unwrap_or(self.created_at);
        self.network.generation += 1;
        self.restart_agent(now);
        self.gathering = IceGatheringState::Gathering;
        self.events.push_back(Event::IceGatheringStateChange {
            state: IceGatheringState::Gathering,
        });
        for url in self
            .ice_urls
            .iter()
            .filter(|u| u.is_unreachable_from_page())
        {
            self.events.push_back(Event::IceCandidateError {
                address: None,
                port: None,
                url: url.url.clone(),
                error_code: UNREACHABLE,
                error_text: "STUN/TURN servers cannot be reached from a web page; use a polyrtc relay (ws:, wss: or https: URL)".into(),
            });
        }
        // The pool's allocations (made when the configuration was set) serve this first
        // gathering; a server without one gets its allocation now; the rest of the pool goes.
        let mut pooled = self.take_pooled_relays();
        for (url, username, password, framing) in self.relay_servers() {
            let found = pooled
                .iter()
                .position(|(_, u, user, pw)| *u == url && *user == username && *pw == password);
            match found.map(|i| pooled.swap_remove(i)) {
                Some((index, ..)) => self.adopt_pooled_relay(index),
                None => self.open_relay(now, url, username, password, framing, false),
            }
        }
        self.release_pool();
        self.drive_network(now);
    }

    /// A TURN client for `url` and the command that opens its session. A pooled one waits,
    /// silent, for the first gathering to adopt it.
    pub(crate) fn open_relay(
        &mut self,
        now: Instant,
        url: String,
        username: String,
        password: String,
        framing: Framing,
        pooled: bool,
    ) {
        let config = TurnClientConfig {
            username: username.clone(),
            password: password.clone(),
            server_url: url.clone(),
            framing,
            request_mobility: true,
            // Not asked for: DF applies to a whole allocation, and SCTP cannot cut a chunk
            // again once it has a TSN. Should the path narrow below 2,048 bytes after path MTU
            // discovery (the peer moves, an ICE restart), chunks already that large could then
            // never be delivered; without DF they still arrive, in IP fragments. The price: a
            // 2,048-byte probe may also pass a 1,500-byte path in fragments, and the association
            // then sends fragmented packets. DF for the probes alone needs a Send indication
            // with DONT-FRAGMENT per probe (RFC 8656 §11), which the relay does not do yet.
            dont_fragment: false,
            max_lifetime: std::time::Duration::from_secs(3600),
        };
        let client = TurnClient::new(config, &mut self.rng, now);
        let id = self.network.next_relay;
        self.network.next_relay += 1;
        self.network.commands.push_back(RelayCommand::Connect {
            relay: id,
            url: url.clone(),
        });
        self.network.relays.push(Relay {
            id,
            url,
            client,
            datagram: framing == Framing::Datagram,
            generation: if pooled { 0 } else { self.network.generation },
            relayed: None,
            mapped: None,
            gathered: false,
            ever_open: false,
            closed: false,
            pool_credentials: pooled.then_some((username, password)),
            reconnect: None,
        });
    }

    /// The polyfill's relays: `ws:`/`wss:` (WebSocket, stream framing) and `https:`
    /// (WebTransport, one message per datagram) iceServers entries with their credentials.
    pub(crate) fn relay_servers(&self) -> Vec<(String, String, String, Framing)> {
        let mut out = Vec::new();
        for server in &self.config.ice_servers {
            for url in crate::config::urls_of(server) {
                let Ok(parsed) = crate::config::parse_ice_url(url) else {
                    continue;
                };
                let framing = match parsed.scheme {
                    Scheme::Ws | Scheme::Wss => Framing::Stream,
                    Scheme::Https => Framing::Datagram,
                    _ => continue,
                };
                out.push((
                    url.to_string(),
                    server.username.clone().unwrap_or_default(),
                    server.credential.clone().unwrap_or_default(),
                    framing,
                ));
            }
        }
        out
    }

    pub(crate) fn relay_unreachable(&mut self, relay: RelayId) {
        let Some(r) = self.network.relays.iter_mut().find(|r| r.id == relay) else {
            return;
        };
        let pooled = r.is_pooled();
        r.closed = true;
        if !r.gathered && !pooled {
            r.gathered = true;
            let url = r.url.clone();
            self.events.push_back(Event::IceCandidateError {
                address: None,
                port: None,
                url,
                error_code: UNREACHABLE,
                error_text: "The relay could not be reached".into(),
            });
        }
    }

    /// Outputs of every TURN client: transmits for the shell, candidates, data for the agent.
    pub(crate) fn drain_relays(&mut self, now: Instant) -> bool {
        let mut progressed = false;
        let mut events = Vec::new();
        for r in &mut self.network.relays {
            while let Some(bytes) = r.client.poll_transmit() {
                self.network.transmits.push_back((r.id, bytes));
                progressed = true;
            }
            while let Some(e) = r.client.poll_event() {
                events.push((r.id, e));
                progressed = true;
            }
        }
        for (id, e) in events {
            self.on_turn_event(now, id, e);
        }
        progressed
    }

    fn on_turn_event(&mut self, now: Instant, id: RelayId, event: TurnEvent) {
        let Some(index) = self.network.relays.iter().position(|r| r.id == id) else {
            return;
        };
        match event {
            TurnEvent::Allocated {
                relayed, mapped, ..
            } => {
                let Some(r) = self.network.relays.get_mut(index) else {
                    return;
                };
                let first = r.relayed.is_none();
                r.relayed = Some(relayed);
                r.mapped = mapped;
                let url = r.url.clone();
                // A pooled allocation waits for the gathering that adopts it.
                let current = r.generation == self.network.generation && !r.is_pooled();
                if first && current {
                    r.gathered = true;
                    self.add_relay_candidate(relayed, mapped, url, index);
                }
            }
            TurnEvent::Data { from, data } => {
                if let Some(relayed) = self.network.relays.get(index).and_then(|r| r.relayed) {
                    self.on_relayed_datagram(now, relayed, from, data);
                }
            }
            // A pooled allocation that failed is dropped; gathering will try afresh and report
            // the error then.
            TurnEvent::Error { .. } | TurnEvent::AllocationLost { .. }
                if self.network.relays.get(index).is_some_and(Relay::is_pooled) =>
            {
                self.release_relay(index);
            }
            TurnEvent::Error { code, text } => {
                let Some(r) = self.network.relays.get_mut(index) else {
                    return;
                };
                let url = r.url.clone();
                if !r.gathered {
                    r.gathered = true;
                }
                self.events.push_back(Event::IceCandidateError {
                    address: None,
                    port: None,
                    url,
                    error_code: code,
                    error_text: text,
                });
            }
            TurnEvent::AllocationLost { .. } => {
                if let Some(r) = self.network.relays.get_mut(index) {
                    r.gathered = true;
                    r.closed = true;
                    self.network
                        .commands
                        .push_back(RelayCommand::Close { relay: id });
                }
            }
            TurnEvent::Resumed { .. }
            | TurnEvent::PermissionFailed { .. }
            | TurnEvent::ChannelFailed { .. } => {}
        }
    }

    /// A relayed address became a local candidate: the agent pairs it, the page hears of it, and
    /// the local description lists it (Chromium adds gathered candidates to
    /// localDescription.sdp).
    pub(crate) fn add_relay_candidate(
        &mut self,
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
        url: String,
        index: usize,
    ) {
        // The relay is reached over a WebSocket/WebTransport session: Chromium would call that
        // TCP/TLS; what the peer sees is a UDP relayed address either way.
        let protocol = if url.starts_with("https:") {
            RelayProtocol::Udp
        } else {
            RelayProtocol::Tcp
        };
        let server = mapped.map_or(relayed.ip(), |m| m.ip());
        let local_pref = 65535u16.saturating_sub(u16::try_from(index).unwrap_or(u16::MAX));
        let candidate = LocalCandidate::relayed(relayed, server, protocol, local_pref);
        let (priority, foundation) = (candidate.priority, candidate.foundation.clone());
        if let Some(agent) = &mut self.network.agent {
            agent.add_local_candidate(candidate);
        }
        let ufrag = self
            .applied_ice
            .as_ref()
            .map(|c| c.ufrag.clone())
            .unwrap_or_default();
        let (raddr, rport) = match mapped {
            Some(m) => (m.ip().to_string(), m.port()),
            None => ("0.0.0.0".to_string(), 0),
        };
        let line = format!(
            "candidate:{foundation} 1 udp {priority} {} {} typ relay raddr {raddr} rport {rport} generation 0 ufrag {ufrag} network-cost 999",
            relayed.ip(),
            relayed.port()
        );
        let (mid, index) = self.first_local_mid();
        self.add_local_candidate_to_description(index, &line);
        let relay_protocol = if protocol == RelayProtocol::Udp {
            "udp"
        } else {
            "tcp"
        };
        let info = IceCandidateInfo {
            candidate: line,
            sdp_mid: mid,
            sdp_m_line_index: Some(index as u16),
            username_fragment: Some(ufrag),
            foundation: Some(foundation),
            component: Some("rtp".into()),
            priority: Some(priority),
            address: Some(relayed.ip().to_string()),
            protocol: Some("udp".into()),
            port: Some(relayed.port()),
            candidate_type: Some("relay".into()),
            tcp_type: None,
            related_address: mapped.map(|m| m.ip().to_string()),
            related_port: mapped.map(|m| m.port()),
            relay_protocol: Some(relay_protocol.into()),
            url: Some(url),
        };
        self.network.local_infos.push((relayed, info.clone()));
        self.events.push_back(Event::IceCandidate {
            candidate: Some(info),
        });
    }

    fn first_local_mid(&self) -> (Option<String>, usize) {
        let Some(d) = self.descs.local() else {
            return (None, 0);
        };
        let index = d
            .parsed
            .media
            .iter()
            .position(|m| !m.is_rejected())
            .unwrap_or(0);
        let mid = d
            .parsed
            .media
            .get(index)
            .and_then(|m| m.mid())
            .map(str::to_string);
        (mid, index)
    }

    fn add_local_candidate_to_description(&mut self, index: usize, line: &str) {
        let Some(d) = self.descs.local_mut() else {
            return;
        };
        if let Some(m) = d.parsed.media.get_mut(index) {
            let value = line.trim_start_matches("candidate:").to_string();
            m.attributes
                .push(crate::sdp::Attribute::new("candidate", value));
            d.sdp = d.parsed.to_sdp_string();
        }
    }

    /// Gathering is complete once every relay of the current generation allocated or failed.
    pub(crate) fn finish_gathering_if_done(&mut self) {
        if self.gathering != IceGatheringState::Gathering {
            return;
        }
        let generation = self.network.generation;
        let pending = self
            .network
            .relays
            .iter()
            .any(|r| r.generation == generation && !r.gathered);
        if pending {
            return;
        }
        self.gathering = IceGatheringState::Complete;
        self.events.push_back(Event::IceGatheringStateChange {
            state: IceGatheringState::Complete,
        });
        self.events
            .push_back(Event::IceCandidate { candidate: None });
    }
}
