//! [`SctpTransport`]: one SCTP association carrying data channels, driven by packets and time.

use super::channel::{self, Channel, ChannelState, Inbound, ORDERED_RELIABLE};
use super::dcep::DcepMessage;
use super::{ChannelParams, SctpConfig, SctpError, SctpEvent, SctpState, RECEIVE_WINDOW};
use bytes::Bytes;
use rtc_sctp::{
    Association, AssociationError, AssociationHandle, ClientConfig, DatagramEvent, Endpoint,
    EndpointConfig, Event, Payload, PayloadProtocolIdentifier, ServerConfig, StreamEvent,
    TimerConfig, TransportConfig,
};
use rtc_shared::TransportProtocol;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// rtc-sctp addresses associations by socket address; over DTLS there is exactly one peer, so
/// these are placeholders that never reach the wire.
const LOCAL_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 1);
const PEER_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 2);

/// A server keeps at most this many half-open associations: a retransmitted INIT (our INIT ACK
/// was lost) makes rtc-sctp start a fresh one, and whichever completes the cookie exchange wins.
const MAX_HANDSHAKING: usize = 8;

/// W3C `RTCDataChannel.id` 65535 is reserved ("null").
const RESERVED_STREAM_ID: u16 = u16::MAX;

/// Most channels whose outgoing stream we have reset and the peer has not yet reset back; further
/// closes wait. The peer answers each batch of our resets with its own batch, and keeping both
/// small keeps every RE-CONFIG request well inside one packet (256 stream ids: ~550 bytes).
/// Measured towards Chromium (tests/e2e/datachannel-robust.test.mjs, 1,000 channels closed at
/// once): without this bound, with rtc-sctp already sending one request at a time, one run in
/// three still left 999 channels "closing" on both ends; with it, every run closed all 1,000.
const MAX_RESETS_IN_FLIGHT: usize = 256;

/// An SCTP association and its data channels. See the module documentation.
pub struct SctpTransport {
    config: SctpConfig,
    endpoint: Endpoint,
    /// Associations still in the handshake.
    handshaking: Vec<(AssociationHandle, Association)>,
    /// The established association (kept after closing to flush a final ABORT).
    association: Option<(AssociationHandle, Association)>,
    state: SctpState,
    close_reason: Option<String>,
    channels: BTreeMap<u16, Channel>,
    /// Closing channels whose outgoing stream reset is issued, until the peer resets back.
    resetting: BTreeSet<u16>,
    /// Closing channels whose reset waits for room in `resetting` (in close order).
    pending_resets: VecDeque<u16>,
    events: VecDeque<SctpEvent>,
    transmits: VecDeque<Bytes>,
}

impl SctpTransport {
    pub fn new(config: SctpConfig, now: Instant) -> Self {
        let transport = TransportConfig::default()
            .with_sctp_port(config.local_port)
            .with_max_receive_buffer_size(RECEIVE_WINDOW)
            .with_max_message_size(send_limit(config.max_message_size))
            .with_timer_config(timer_config())
            // Packets grow from 1,191 to up to 2,048 bytes once a probe proves the path and
            // the peer take them (vendor/rtc-sctp/POLYRTC.md, "Path MTU discovery").
            .with_path_mtu_discovery(true);
        let server = (!config.client).then(|| Arc::new(ServerConfig::new(transport.clone())));
        let mut endpoint = Endpoint::new(
            LOCAL_ADDR,
            TransportProtocol::UDP,
            Arc::new(EndpointConfig::new()),
            server,
        );
        let mut handshaking = Vec::new();
        let mut state = SctpState::Connecting;
        if config.client {
            match endpoint.connect(now, ClientConfig::new(transport), PEER_ADDR) {
                Ok(pair) => handshaking.push(pair),
                // Only reachable with a zero peer port or 3 billion associations.
                Err(_) => state = SctpState::Closed,
            }
        }
        SctpTransport {
            config,
            endpoint,
            handshaking,
            association: None,
            state,
            close_reason: None,
            channels: BTreeMap::new(),
            resetting: BTreeSet::new(),
            pending_resets: VecDeque::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
        }
    }

    /// One SCTP packet (one decrypted DTLS application-data record). Garbage is dropped.
    pub fn handle_input(&mut self, now: Instant, packet: &[u8]) {
        if self.state == SctpState::Closed {
            return;
        }
        let data = Bytes::copy_from_slice(packet);
        match self.endpoint.handle(now, PEER_ADDR, None, data) {
            Some((handle, DatagramEvent::AssociationEvent(event))) => {
                if let Some(association) = self.association_by_handle(handle) {
                    association.handle_event(event);
                }
            }
            // A second INIT after we are established (a peer restart) is dropped: WebRTC
            // restarts SCTP only with a new DTLS session, i.e. a new transport.
            Some((handle, DatagramEvent::NewAssociation(association)))
                if self.association.is_none() =>
            {
                if self.handshaking.len() >= MAX_HANDSHAKING {
                    self.handshaking.remove(0);
                }
                self.handshaking.push((handle, association));
            }
            _ => {}
        }
        self.process(now);
        // Collect what this packet calls for now, not after the whole batch it came in: the SACK
        // due every second DATA packet (RFC 9260 §6.2) must not become one SACK per relay batch
        // (up to ~50 packets), because a sender in slow start grows cwnd by at most one MTU per
        // SACK (RFC 9260 §7.2.1): Chromium sending to us stayed at a small window.
        self.gather_transmits(now);
    }

    /// The next SCTP packet to hand to DTLS.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.transmits.is_empty() {
            self.gather_transmits(now);
        }
        self.transmits.pop_front().map(|packet| packet.to_vec())
    }

    fn gather_transmits(&mut self, now: Instant) {
        let associations = self.handshaking.iter_mut().chain(self.association.as_mut());
        for (_, association) in associations {
            while let Some(transmit) = association.poll_transmit(now) {
                if let Payload::RawEncode(packets) = transmit.message {
                    self.transmits.extend(packets);
                }
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.handshaking
            .iter()
            .chain(self.association.as_ref())
            .filter_map(|(_, association)| association.poll_timeout())
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let associations = self.handshaking.iter_mut().chain(self.association.as_mut());
        for (_, association) in associations {
            association.handle_timeout(now);
        }
        self.process(now);
    }

    pub fn state(&self) -> SctpState {
        self.state
    }

    /// The negotiated number of streams (`RTCSctpTransport.maxChannels`); 0 until connected.
    pub fn max_channels(&self) -> u16 {
        self.association
            .as_ref()
            .and_then(|(_, association)| association.negotiated_max_streams())
            .unwrap_or(0)
    }

    /// Opens a channel on stream `id`. Before the association is up the channel waits and opens
    /// with it. A non-negotiated channel announces itself with DCEP OPEN (RFC 8832 §6).
    pub fn open_channel(
        &mut self,
        now: Instant,
        id: u16,
        params: ChannelParams,
    ) -> Result<(), SctpError> {
        if self.state == SctpState::Closed {
            return Err(SctpError::Closed);
        }
        if params.max_retransmits.is_some() && params.max_packet_life_time.is_some() {
            return Err(SctpError::BothReliabilityLimits);
        }
        if params.label.len() > usize::from(u16::MAX)
            || params.protocol.len() > usize::from(u16::MAX)
        {
            return Err(SctpError::LabelTooLong);
        }
        let max = self.max_channels();
        if id == RESERVED_STREAM_ID || (self.state == SctpState::Connected && id >= max) {
            return Err(SctpError::ChannelIdOutOfRange { id, max });
        }
        if self.channels.contains_key(&id) {
            return Err(SctpError::ChannelIdInUse(id));
        }
        self.channels.insert(id, Channel::new(params));
        if self.state == SctpState::Connected {
            self.start_channel(now, id);
        }
        Ok(())
    }

    /// Sends one message (RFC 8831 §6.6): PPID 51 for strings, 53 for binaries, 56/57 for empty.
    pub fn send(
        &mut self,
        now: Instant,
        id: u16,
        data: &[u8],
        binary: bool,
    ) -> Result<(), SctpError> {
        let max = send_limit(self.config.max_message_size);
        if data.len() > max as usize {
            return Err(SctpError::MessageTooLarge {
                size: data.len(),
                max,
            });
        }
        let channel = self.channels.get(&id).ok_or(SctpError::NoSuchChannel(id))?;
        if !channel.can_send() {
            return Err(SctpError::ChannelNotOpen(id));
        }
        let (ppi, payload) = channel::outgoing_payload(data, binary);
        let (_, association) = self.association.as_mut().ok_or(SctpError::Closed)?;
        let mut stream = association
            .stream(id)
            .map_err(|e| SctpError::Sctp(e.to_string()))?;
        stream
            .write_with_ppi(now, payload, ppi)
            .map_err(|e| SctpError::Sctp(e.to_string()))?;
        if let Some(channel) = self.channels.get_mut(&id) {
            // rtc-sctp releases the zero byte of an empty message too, so it is counted here.
            channel.on_written(payload.len(), false);
        }
        Ok(())
    }

    /// `bufferedAmount`: bytes sent on the channel and not yet acknowledged or abandoned.
    pub fn buffered_amount(&self, id: u16) -> u64 {
        self.channels.get(&id).map_or(0, Channel::buffered_amount)
    }

    /// Closes a channel by resetting its outgoing stream (RFC 8831 §6.7). `ChannelClosed` follows
    /// when the peer has reset its side too.
    pub fn close_channel(&mut self, now: Instant, id: u16) {
        let Some(channel) = self.channels.get_mut(&id) else {
            return;
        };
        match channel.state {
            ChannelState::Closing => {}
            ChannelState::Pending => {
                self.channels.remove(&id);
                self.events.push_back(SctpEvent::ChannelClosed { id });
            }
            ChannelState::AwaitingAck | ChannelState::Open => {
                channel.state = ChannelState::Closing;
                self.events.push_back(SctpEvent::ChannelClosing { id });
                self.pending_resets.push_back(id);
                self.issue_resets(now);
            }
        }
        self.process(now);
    }

    /// Resets the outgoing streams of closing channels while fewer than
    /// [`MAX_RESETS_IN_FLIGHT`] await the peer's reset.
    fn issue_resets(&mut self, now: Instant) {
        while self.resetting.len() < MAX_RESETS_IN_FLIGHT {
            let Some(id) = self.pending_resets.pop_front() else {
                return;
            };
            if !self.channels.contains_key(&id) {
                continue;
            }
            let reset = self
                .association
                .as_mut()
                .and_then(|(_, association)| association.stream(id).ok())
                .map(|mut stream| stream.close(now));
            if matches!(reset, Some(Ok(()))) {
                self.resetting.insert(id);
            } else {
                // No stream or a refused reset (association gone): nothing left to wait for.
                self.channels.remove(&id);
                self.events.push_back(SctpEvent::ChannelClosed { id });
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        self.events.pop_front()
    }

    /// Ends the association with ABORT (W3C `RTCPeerConnection.close()`: "sending an SCTP ABORT
    /// chunk"); the ABORT leaves with the next `poll_transmit`.
    pub fn close(&mut self, now: Instant) {
        if self.state == SctpState::Closed {
            return;
        }
        if let Some((_, association)) = self.association.as_mut() {
            // Already closed is the only failure, and then there is nothing to abort.
            let _ = association.abort();
        }
        self.handshaking.clear();
        self.close_reason = Some("closed locally".to_owned());
        self.set_closed();
        self.process(now);
    }

    fn association_by_handle(&mut self, handle: AssociationHandle) -> Option<&mut Association> {
        self.handshaking
            .iter_mut()
            .chain(self.association.as_mut())
            .find(|(h, _)| *h == handle)
            .map(|(_, association)| association)
    }

    /// Drains rtc-sctp's events after any input.
    fn process(&mut self, now: Instant) {
        self.promote_connected(now);
        let mut endpoint_events = Vec::new();
        for (handle, association) in self.handshaking.iter_mut().chain(self.association.as_mut()) {
            while let Some(event) = association.poll_endpoint_event() {
                endpoint_events.push((*handle, event));
            }
        }
        for (handle, event) in endpoint_events {
            self.endpoint.handle_event(handle, event);
        }
        while let Some(event) = self
            .association
            .as_mut()
            .and_then(|(_, association)| association.poll())
        {
            self.on_event(now, event);
        }
        self.check_closed();
    }

    /// Moves the first handshaking association that reports `Connected` to `association`.
    fn promote_connected(&mut self, now: Instant) {
        if self.association.is_some() || self.state == SctpState::Closed {
            return;
        }
        let mut connected = None;
        let mut failed = Vec::new();
        for (index, (_, association)) in self.handshaking.iter_mut().enumerate() {
            // Events after `Connected` (data bundled with COOKIE ECHO) stay queued for `process`.
            while let Some(event) = association.poll() {
                match event {
                    Event::Connected => {
                        connected = Some(index);
                        break;
                    }
                    // T1-init or T1-cookie ran out of retransmissions (RFC 9260 §5.1).
                    Event::HandshakeFailed { reason } => failed.push((index, reason.to_string())),
                    _ => {}
                }
            }
            if connected.is_some() {
                break;
            }
        }
        if let Some(index) = connected {
            let established = self.handshaking.swap_remove(index);
            self.handshaking.clear();
            self.association = Some(established);
            self.on_connected(now);
            return;
        }
        failed.dedup_by_key(|(index, _)| *index);
        for (index, reason) in failed.into_iter().rev() {
            if index < self.handshaking.len() {
                self.handshaking.remove(index);
            }
            self.close_reason = Some(format!("SCTP handshake failed: {reason}"));
        }
        // Only the client's association can fail: a server-side one stays in CLOSED until
        // COOKIE ECHO (RFC 9260 §5.1: the state lives in the cookie) and just goes unanswered.
        if self.config.client && self.handshaking.is_empty() {
            self.close_reason
                .get_or_insert_with(|| "SCTP handshake failed".to_owned());
            self.set_closed();
        }
    }

    fn on_connected(&mut self, now: Instant) {
        self.state = SctpState::Connected;
        self.events.push_back(SctpEvent::Connected);
        let max = self.max_channels();
        let pending: Vec<u16> = self.channels.keys().copied().collect();
        for id in pending {
            if id >= max {
                // W3C: a channel whose id does not fit the negotiated stream count closes.
                self.channels.remove(&id);
                self.events.push_back(SctpEvent::ChannelClosed { id });
            } else {
                self.start_channel(now, id);
            }
        }
    }

    /// Creates the stream of a pending channel and sends its DCEP OPEN unless negotiated.
    fn start_channel(&mut self, now: Instant, id: u16) {
        let Some(channel) = self.channels.get_mut(&id) else {
            return;
        };
        let Some((_, association)) = self.association.as_mut() else {
            return;
        };
        let negotiated = channel.params.negotiated;
        let open = DcepMessage::Open(channel.params.clone()).encode();
        let settings = if negotiated {
            channel::reliability(&channel.params)
        } else {
            ORDERED_RELIABLE
        };
        let result = open_stream(association, id).and_then(|mut stream| {
            let (unordered, kind, value) = settings;
            stream.set_reliability_params(unordered, kind, value)?;
            match (&open, negotiated) {
                (_, true) => Ok(()),
                (Ok(open), false) => stream
                    .write_with_ppi(now, open, PayloadProtocolIdentifier::Dcep)
                    .map(|_| channel.on_written(open.len(), true)),
                (Err(_), false) => Err(rtc_shared::error::Error::ErrStreamCreateFailed),
            }
        });
        if result.is_err() {
            self.channels.remove(&id);
            self.events.push_back(SctpEvent::ChannelClosed { id });
        } else if negotiated {
            channel.state = ChannelState::Open;
            self.events.push_back(SctpEvent::ChannelOpen { id });
        } else {
            channel.state = ChannelState::AwaitingAck;
        }
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Stream(StreamEvent::Readable { id }) => self.read_stream(now, id),
            Event::Stream(StreamEvent::Opened { .. }) => {
                // Channels are tracked by stream id; rtc-sctp's accept queue only needs draining.
                if let Some((_, association)) = self.association.as_mut() {
                    while association.accept_stream().is_some() {}
                }
            }
            Event::Stream(StreamEvent::BufferedAmountReleased { id, n_bytes }) => {
                if let Some(channel) = self.channels.get_mut(&id) {
                    let before = channel.buffered_amount();
                    channel.on_released(n_bytes);
                    let amount = channel.buffered_amount();
                    if amount < before {
                        self.events
                            .push_back(SctpEvent::BufferedAmountDecreased { id, amount });
                    }
                }
            }
            Event::AssociationLost {
                reason: AssociationError::Reset,
                id,
            } => {
                self.on_stream_reset(id);
                self.issue_resets(now);
            }
            Event::AssociationLost { reason, .. } | Event::HandshakeFailed { reason } => {
                self.close_reason.get_or_insert_with(|| reason.to_string());
            }
            _ => {}
        }
    }

    /// The peer reset its outgoing stream (rtc-sctp answers with ours): the channel is closed.
    fn on_stream_reset(&mut self, id: u16) {
        self.resetting.remove(&id);
        // Reset by the peer first: rtc-sctp resets our side in its answer.
        self.pending_resets.retain(|pending| *pending != id);
        if let Some(channel) = self.channels.remove(&id) {
            if channel.state != ChannelState::Closing {
                self.events.push_back(SctpEvent::ChannelClosing { id });
            }
            self.events.push_back(SctpEvent::ChannelClosed { id });
        }
    }

    fn read_stream(&mut self, now: Instant, id: u16) {
        loop {
            let Some((_, association)) = self.association.as_mut() else {
                return;
            };
            let Ok(mut stream) = association.stream(id) else {
                return;
            };
            let Ok(Some(chunks)) = stream.read_sctp() else {
                return;
            };
            let Ok(payload) = chunks.to_payload(usize::MAX) else {
                continue;
            };
            match channel::classify(chunks.ppi, payload.to_vec()) {
                Inbound::Dcep(DcepMessage::Open(params)) => self.on_remote_open(now, id, params),
                Inbound::Dcep(DcepMessage::Ack) => self.on_ack(id),
                Inbound::Data(data, binary) => self.on_data(id, data, binary),
                Inbound::Ignored => {}
            }
        }
    }

    /// DCEP OPEN (RFC 8832 §6): the channel is open once we queue the ACK.
    fn on_remote_open(&mut self, now: Instant, id: u16, params: ChannelParams) {
        // An OPEN on a stream we already use is a protocol error; RFC 8832 leaves it to us.
        if self.channels.contains_key(&id) {
            return;
        }
        let Some((_, association)) = self.association.as_mut() else {
            return;
        };
        let Ok(mut stream) = association.stream(id) else {
            return;
        };
        let (unordered, kind, value) = channel::reliability(&params);
        let (o_unordered, o_kind, o_value) = ORDERED_RELIABLE;
        let acked = stream
            .set_reliability_params(o_unordered, o_kind, o_value)
            .and_then(|()| {
                stream.write_with_ppi(
                    now,
                    &[super::dcep::MESSAGE_ACK],
                    PayloadProtocolIdentifier::Dcep,
                )
            })
            .and_then(|_| stream.set_reliability_params(unordered, kind, value));
        if acked.is_err() {
            return;
        }
        let mut channel = Channel::new(params.clone());
        channel.on_written(1, true);
        channel.state = ChannelState::Open;
        self.channels.insert(id, channel);
        self.events
            .push_back(SctpEvent::RemoteChannel { id, params });
    }

    fn on_ack(&mut self, id: u16) {
        let Some(channel) = self.channels.get_mut(&id) else {
            return;
        };
        if channel.state != ChannelState::AwaitingAck {
            return;
        }
        let (unordered, kind, value) = channel::reliability(&channel.params);
        let Some((_, association)) = self.association.as_mut() else {
            return;
        };
        if let Ok(mut stream) = association.stream(id) {
            // Only fails when the stream is gone, which a reset event reports separately.
            let _ = stream.set_reliability_params(unordered, kind, value);
        }
        channel.state = ChannelState::Open;
        self.events.push_back(SctpEvent::ChannelOpen { id });
    }

    fn on_data(&mut self, id: u16, data: Vec<u8>, binary: bool) {
        let Some(channel) = self.channels.get(&id) else {
            // No channel on this stream (data before OPEN, or a negotiated channel we do not
            // have): W3C gives it nowhere to go.
            return;
        };
        match channel.state {
            // RFC 8832 §6: user data implies the peer saw our OPEN, as if the ACK came.
            ChannelState::AwaitingAck => self.on_ack(id),
            ChannelState::Open => {}
            // W3C "receive a message": dropped unless readyState is "open".
            ChannelState::Pending | ChannelState::Closing => return,
        }
        self.events
            .push_back(SctpEvent::Message { id, data, binary });
    }

    fn check_closed(&mut self) {
        let lost = self
            .association
            .as_ref()
            .is_some_and(|(_, association)| association.is_closed());
        if lost && self.state != SctpState::Closed {
            self.set_closed();
        }
    }

    fn set_closed(&mut self) {
        self.state = SctpState::Closed;
        let ids: Vec<u16> = self.channels.keys().copied().collect();
        self.channels.clear();
        self.resetting.clear();
        self.pending_resets.clear();
        for id in ids {
            self.events.push_back(SctpEvent::ChannelClosed { id });
        }
        let reason = self
            .close_reason
            .clone()
            .unwrap_or_else(|| "association closed".to_owned());
        self.events.push_back(SctpEvent::Closed { reason });
    }
}

/// The stream for `id`: ours if it exists already (the peer may have sent on it first).
fn open_stream(
    association: &mut Association,
    id: u16,
) -> rtc_shared::error::Result<rtc_sctp::Stream<'_>> {
    if association.stream_ids().contains(&id) {
        association.stream(id)
    } else {
        association.open_stream(id, PayloadProtocolIdentifier::Binary)
    }
}

/// Retransmission timing as Chromium's SCTP (dcsctp) has it, rather than RFC 9260's defaults
/// (RTO.Initial 1 s, RTO.Min 1 s, backoff up to RTO.Max 60 s): over a lossy path the RFC values
/// let a lost retransmission or SACK stop a direction for seconds, then minutes. dcsctp's
/// `DcSctpOptions` defaults: rto_initial 500 ms, rto_min 400 ms, rto_max 60 s,
/// delayed_ack_max_timeout 200 ms; Chromium's `DcSctpTransport` adds
/// max_timer_backoff_duration 3 s and no retransmission limit ("let the ICE layer decide when a
/// connection is dead"). Data channels fail with ICE/DTLS, so unlimited T3-rtx and RE-CONFIG
/// retransmissions cost nothing; rtc-sctp's default of 5 stopped the timer for good (a stalled
/// direction, or a channel left "closing"). The handshake keeps its limit: a failing INIT is
/// how `SctpState::Closed` learns of an unreachable peer.
fn timer_config() -> TimerConfig {
    TimerConfig {
        max_t3_rtx_retrans: usize::MAX,
        max_reconfig_retrans: usize::MAX,
        rto_initial_ms: 500,
        rto_min_ms: 400,
        rto_max_ms: 60_000,
        max_timer_backoff_ms: Some(3_000),
        delayed_ack_max_ms: 200,
        // A SACK for every fourth in-order DATA chunk, not every second packet (vendor/rtc-sctp
        // POLYRTC.md item 10): a native peer's packets reach a page over the relay's WebSocket,
        // each SACK costs the page a send and releases only ~2 of the peer's packets, which then
        // arrive as WebSocket messages of their own. Native → polyfill went from 6.3–7.8 to
        // 9.1–10.6 MB/s, and from 258–317 to 194–223 CPU ms per MiB (bench/datachannel.sh).
        // Losses and duplicates are still acknowledged at once; the delayed-ACK timer bounds
        // the wait.
        sack_every: 4,
        ..TimerConfig::default()
    }
}

/// RFC 8841 §6: a max-message-size of 0 means the peer takes messages of any size.
fn send_limit(max_message_size: u32) -> u32 {
    if max_message_size == 0 {
        u32::MAX
    } else {
        max_message_size
    }
}
