//! DTLS over the ICE-selected pair (RFC 8842) and SCTP over DTLS (RFC 8261): the transports
//! under `RTCDtlsTransport` and `RTCSctpTransport` (webrtc-pc §5.5, §6.1).
//!
//! DTLS starts when ICE selects a pair for the first time, in the role a=setup gave
//! (`dtls_server`). Its records arrive through `network.inbound` (RFC 7983 demux) and leave
//! through the relay whose allocation is the pair's local candidate. SCTP starts when DTLS
//! connects; each SCTP packet is one DTLS application-data record.

mod channels;
mod stats;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use polyrtc_dtls::certificate::Certificate;
use polyrtc_dtls::{Config, Endpoint, Event as DtlsEvent, Fingerprint, Role};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::api::{DtlsTransportState, Event, SctpTransportState};
use crate::ice::demux::{classify, PacketKind};
use crate::peer_connection::PeerConnection;
use crate::sctp::{SctpConfig, SctpTransport, DEFAULT_SCTP_PORT};

/// The DTLS endpoint and, once it connected, the SCTP association over it.
pub(crate) struct Transport {
    dtls: Endpoint,
    pub dtls_state: DtlsTransportState,
    pub sctp: Option<SctpTransport>,
    pub sctp_state: SctpTransportState,
    /// We are the DTLS client: we send SCTP INIT and use even stream ids (RFC 8832 §6).
    client: bool,
}

impl Transport {
    pub fn poll_timeout(&self) -> Option<Instant> {
        let dtls = self.dtls.poll_timeout();
        let sctp = self.sctp.as_ref().and_then(SctpTransport::poll_timeout);
        dtls.into_iter().chain(sctp).min()
    }
}

/// The first DTLS handshake retransmission: twice the selected pair's ICE round-trip time,
/// clamped to 50 ms..3 s — the range WebRTC's own DTLS transport clamps its RTT-based timeout to
/// — instead of RFC 6347's fixed 1 s, so a lost first flight (or one the peer was not ready for)
/// costs tens of milliseconds, not a second. Without an RTT sample, the RFC's 1 s.
fn initial_retransmit(rtt: Option<Duration>) -> Duration {
    const MIN: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(3);
    rtt.map_or(Duration::from_secs(1), |rtt| (rtt * 2).clamp(MIN, MAX))
}

impl PeerConnection {
    /// Starts, feeds and drains DTLS and SCTP; true if anything moved.
    pub(crate) fn drive_transport(&mut self, now: Instant) -> bool {
        if self.closed {
            return false;
        }
        if self.transport.is_none() {
            self.start_dtls(now);
        }
        let Some(t) = self.transport.as_mut() else {
            return false;
        };
        let mut progressed = false;
        while let Some((from, data)) = self.network.inbound.pop_front() {
            progressed = true;
            // RTCIceCandidatePairStats / transport bytes: DTLS records count as data.
            if let (Some((local, remote)), Some(agent)) =
                (self.network.selected, self.network.agent.as_mut())
            {
                if remote == from {
                    agent.note_data_received(local, remote, data.len(), now);
                }
            }
            if data.first().copied().map(classify) == Some(PacketKind::Dtls) {
                t.dtls.handle_datagram(now, &data);
            }
        }
        progressed |= self.drain_dtls_events(now);
        progressed |= self.drain_sctp(now);
        progressed |= self.flush_dtls(now);
        progressed
    }

    pub(crate) fn transport_timeout(&mut self, now: Instant) {
        if let Some(t) = self.transport.as_mut() {
            if t.dtls.poll_timeout().is_some_and(|d| d <= now) {
                t.dtls.handle_timeout(now);
            }
            if let Some(sctp) = t.sctp.as_mut() {
                if sctp.poll_timeout().is_some_and(|d| d <= now) {
                    sctp.handle_timeout(now);
                }
            }
        }
    }

    pub(crate) fn transport_poll_timeout(&self) -> Option<Instant> {
        self.transport.as_ref().and_then(Transport::poll_timeout)
    }

    /// RFC 8842 §5: the DTLS association runs over the selected pair; role from a=setup.
    fn start_dtls(&mut self, now: Instant) {
        let (Some(selected), Some(server)) = (self.network.selected, self.dtls_server) else {
            return;
        };
        let Some(cert) = self.config.certificates.first() else {
            return;
        };
        let certificate = match Certificate::from_der(&cert.certificate_der, &cert.private_key_der)
        {
            Ok(c) => c,
            Err(_) => {
                self.fail_dtls_before_start();
                return;
            }
        };
        let mut config = Config::new(certificate);
        config.expected_remote_fingerprint = self.remote_fingerprint();
        // Relayed over TURN ChannelData inside a WebSocket/WebTransport: stay well under the
        // 1200-byte datagram budget WebTransport guarantees.
        config.mtu = 1100;
        config.initial_retransmit = initial_retransmit(
            self.network
                .agent
                .as_ref()
                .and_then(|a| a.pair(selected))
                .and_then(|p| p.current_rtt),
        );
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let role = if server { Role::Server } else { Role::Client };
        let dtls = Endpoint::new(role, config, ChaCha20Rng::from_seed(seed), now);
        self.transport = Some(Transport {
            dtls,
            dtls_state: DtlsTransportState::New,
            sctp: None,
            sctp_state: SctpTransportState::Connecting,
            client: !server,
        });
        self.set_dtls_state(DtlsTransportState::Connecting);
    }

    fn fail_dtls_before_start(&mut self) {
        self.events.push_back(Event::DtlsStateChange {
            state: DtlsTransportState::Failed,
        });
    }

    /// The remote description's sha-256 `a=fingerprint` (RFC 8122 §5).
    fn remote_fingerprint(&self) -> Option<Fingerprint> {
        let remote = self.descs.remote()?;
        let sdp = &remote.parsed;
        let line = (0..sdp.media.len()).find_map(|i| sdp.fingerprint(i))?;
        let (alg, value) = line.trim().split_once(' ')?;
        Some(Fingerprint::new(alg.trim(), value.trim()))
    }

    /// RFC 8122 §5 / RFC 8842: the certificate must match the fingerprint of the current remote
    /// description, not only of the one DTLS started with. A mismatch fails DTLS now.
    pub(crate) fn refresh_remote_fingerprint(&mut self) {
        let Some(fingerprint) = self.remote_fingerprint() else {
            return;
        };
        let Some(t) = self.transport.as_mut() else {
            return;
        };
        if t.dtls.set_remote_fingerprint(fingerprint).is_err() {
            let now = self.network.now.unwrap_or(self.created_at);
            self.set_dtls_state(DtlsTransportState::Failed);
            self.sctp_gone(now);
        }
    }

    pub(crate) fn set_dtls_state(&mut self, state: DtlsTransportState) {
        let Some(t) = self.transport.as_mut() else {
            return;
        };
        if t.dtls_state == state {
            return;
        }
        t.dtls_state = state;
        self.events.push_back(Event::DtlsStateChange { state });
        self.update_connection_state();
    }

    fn drain_dtls_events(&mut self, now: Instant) -> bool {
        let mut progressed = false;
        loop {
            let Some(t) = self.transport.as_mut() else {
                return progressed;
            };
            let Some(event) = t.dtls.poll_event() else {
                return progressed;
            };
            progressed = true;
            match event {
                DtlsEvent::Connected {
                    peer_certificate, ..
                } => {
                    self.events.push_back(Event::DtlsRemoteCertificate {
                        der: peer_certificate,
                    });
                    self.set_dtls_state(DtlsTransportState::Connected);
                    self.start_sctp(now);
                }
                DtlsEvent::ApplicationData(packet) => {
                    if let Some(sctp) = self.transport.as_mut().and_then(|t| t.sctp.as_mut()) {
                        sctp.handle_input(now, &packet);
                    }
                }
                // After a failure the endpoint also reports Closed; "failed" is final (webrtc-pc
                // §5.5: failed is a terminal state, as Chromium keeps it).
                DtlsEvent::Closed
                    if self
                        .transport
                        .as_ref()
                        .is_some_and(|t| t.dtls_state == DtlsTransportState::Failed) => {}
                DtlsEvent::Closed => {
                    self.set_dtls_state(DtlsTransportState::Closed);
                    self.sctp_gone(now);
                }
                DtlsEvent::Error(_) => {
                    self.set_dtls_state(DtlsTransportState::Failed);
                    self.sctp_gone(now);
                }
            }
        }
    }

    /// RFC 8841: ports from a=sctp-port, the peer's a=max-message-size (0 = no limit).
    fn start_sctp(&mut self, now: Instant) {
        let (port, max) = self.remote_sctp_params();
        let Some(t) = self.transport.as_mut() else {
            return;
        };
        if t.sctp.is_some() || self.data_mid.is_none() {
            return;
        }
        let config = SctpConfig {
            local_port: DEFAULT_SCTP_PORT,
            remote_port: port,
            max_message_size: max,
            client: t.client,
        };
        t.sctp = Some(SctpTransport::new(config, now));
    }

    fn remote_sctp_params(&self) -> (u16, u32) {
        let m = self
            .descs
            .remote()
            .and_then(|d| d.parsed.media.iter().find(|m| m.is_data()).cloned());
        let attr = |name: &str| {
            m.as_ref()
                .and_then(|m| crate::sdp::Attributes::attr(m, name).map(str::to_owned))
        };
        let port = attr("sctp-port")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_SCTP_PORT);
        let max = attr("max-message-size")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(crate::sctp::DEFAULT_MAX_MESSAGE_SIZE);
        (port, max)
    }

    /// SCTP packets out as DTLS records; DTLS datagrams out over the selected pair.
    fn flush_dtls(&mut self, now: Instant) -> bool {
        let Some((local, remote)) = self.network.selected else {
            return false;
        };
        let Some(t) = self.transport.as_mut() else {
            return false;
        };
        let mut progressed = false;
        if let Some(sctp) = t.sctp.as_mut() {
            while let Some(packet) = sctp.poll_transmit(now) {
                progressed = true;
                // A refused record (DTLS not connected or closed) is a lost packet: SCTP
                // retransmits or the association is already gone.
                let _ = t.dtls.send_application_data(&packet);
            }
        }
        let mut datagrams = Vec::new();
        while let Some(datagram) = t.dtls.poll_datagram() {
            datagrams.push(datagram);
        }
        for datagram in &datagrams {
            progressed = true;
            send_over_pair(self, now, local, remote, datagram);
        }
        progressed
    }

    /// webrtc-pc §4.4.1.3 close: SCTP ABORT, DTLS close_notify, sent before the relays go.
    pub(crate) fn close_transport(&mut self, now: Instant) {
        if let Some(t) = self.transport.as_mut() {
            if let Some(sctp) = t.sctp.as_mut() {
                sctp.close(now);
            }
        }
        let _ = self.flush_dtls(now);
        if let Some(t) = self.transport.as_mut() {
            t.dtls.close();
            t.dtls_state = DtlsTransportState::Closed;
            t.sctp_state = SctpTransportState::Closed;
        }
        let _ = self.flush_dtls(now);
    }
}

fn send_over_pair(
    pc: &mut PeerConnection,
    now: Instant,
    local: SocketAddr,
    remote: SocketAddr,
    datagram: &[u8],
) {
    if let Some(agent) = pc.network.agent.as_mut() {
        agent.note_data_sent(local, remote, datagram.len(), now);
    }
    let relay = pc
        .network
        .relays
        .iter_mut()
        .find(|r| !r.closed && r.relayed == Some(local));
    let Some(r) = relay else {
        return;
    };
    // A refused send is a lost datagram: DTLS and SCTP retransmit.
    let sent = r.client.send_to(now, remote, datagram).is_ok();
    while let Some(bytes) = r.client.poll_transmit() {
        pc.network.transmits.push_back((r.id, bytes));
    }
    // webrtc-stats candidate-pair counters count application data only, as Chromium does.
    if let Some(agent) = &mut pc.network.agent {
        if sent {
            agent.note_data_sent(local, remote, datagram.len(), now);
        } else {
            agent.note_data_discarded(local, remote, datagram.len());
        }
    }
}
