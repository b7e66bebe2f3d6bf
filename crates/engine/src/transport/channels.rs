//! Data channels on the SCTP association (RFC 8831, RFC 8832): engine channel objects ↔ SCTP
//! streams, and the events the JS shell fires.

use std::time::Instant;

use crate::api::{
    ApiError, ApiReply, DataChannelHandle, DataChannelInit, DataChannelState, Event,
    SctpTransportState,
};
use crate::data_channel::DataChannel;
use crate::peer_connection::PeerConnection;
use crate::sctp::{ChannelParams, SctpError, SctpEvent};

/// W3C priorities → DCEP priority (RFC 8832 §5.1, webrtc-priority).
fn dcep_priority(priority: Option<&str>) -> u16 {
    match priority {
        Some("very-low") => 128,
        Some("medium") => 512,
        Some("high") => 1024,
        _ => 256,
    }
}

fn params(label: &str, init: &DataChannelInit) -> ChannelParams {
    ChannelParams {
        label: label.to_owned(),
        protocol: init.protocol.clone(),
        ordered: init.ordered,
        max_retransmits: init.max_retransmits,
        max_packet_life_time: init.max_packet_life_time,
        negotiated: init.negotiated,
        priority: dcep_priority(init.priority.as_deref()),
    }
}

impl PeerConnection {
    fn sctp_connected(&self) -> bool {
        self.transport
            .as_ref()
            .is_some_and(|t| t.sctp_state == SctpTransportState::Connected)
    }

    /// SCTP events → channel states and page events.
    pub(crate) fn drain_sctp(&mut self, now: Instant) -> bool {
        let mut progressed = false;
        loop {
            let event = self
                .transport
                .as_mut()
                .and_then(|t| t.sctp.as_mut())
                .and_then(|s| s.poll_event());
            let Some(event) = event else {
                return progressed;
            };
            progressed = true;
            self.on_sctp_event(now, event);
        }
    }

    fn on_sctp_event(&mut self, now: Instant, event: SctpEvent) {
        match event {
            SctpEvent::Connected => self.on_sctp_connected(now),
            SctpEvent::ChannelOpen { id } => {
                self.set_channel_state_by_id(id, DataChannelState::Open)
            }
            SctpEvent::RemoteChannel { id, params } => self.on_remote_channel(id, params),
            SctpEvent::Message { id, data, binary } => {
                if let Some(c) = self.live_channel_mut(id) {
                    c.counters.messages_received += 1;
                    c.counters.bytes_received += data.len() as u64;
                    let channel = c.handle;
                    self.events.push_back(Event::DataChannelMessage {
                        channel,
                        data,
                        binary,
                    });
                }
            }
            SctpEvent::BufferedAmountDecreased { id, amount } => {
                if let Some(c) = self.live_channel(id) {
                    let channel = c.handle;
                    let amount = amount as f64;
                    // A batch of SACKs taken in one go reports the same channel's amount once
                    // per SACK; only the latest matters (these events only ever decrease it),
                    // and each event costs the JS shell a conversion and a dispatch.
                    match self.events.back_mut() {
                        Some(Event::BufferedAmount {
                            channel: last,
                            amount: latest,
                        }) if *last == channel => *latest = amount,
                        _ => self
                            .events
                            .push_back(Event::BufferedAmount { channel, amount }),
                    }
                }
            }
            // rtc-sctp reports an ABORT as a reset of every stream: a failure, not a close.
            SctpEvent::ChannelClosing { id } if self.association_closed() => {
                self.fail_channel_by_id(id)
            }
            SctpEvent::ChannelClosing { id } => {
                self.set_channel_state_by_id(id, DataChannelState::Closing)
            }
            SctpEvent::ChannelClosed { id } if self.association_closed() => {
                self.fail_channel_by_id(id)
            }
            SctpEvent::ChannelClosed { id } => {
                self.set_channel_state_by_id(id, DataChannelState::Closed)
            }
            SctpEvent::Closed { .. } => self.sctp_gone(now),
        }
    }

    /// The association ended under the channels (peer ABORT, lost); a local close() drops
    /// these events with the rest (PeerConnection::close clears the queue).
    fn association_closed(&self) -> bool {
        self.transport
            .as_ref()
            .and_then(|t| t.sctp.as_ref())
            .is_some_and(|s| s.state() == crate::sctp::SctpState::Closed)
    }

    /// Chromium, when the peer aborts the association: closing, an `error` event with an
    /// OperationError "sctp-failure", then close, on every channel still open (measured by
    /// tests/e2e/datachannel-features.test.mjs).
    fn fail_channel_by_id(&mut self, id: u16) {
        if let Some(c) = self.live_channel(id) {
            self.fail_channel(c.handle);
        }
    }

    fn fail_channel(&mut self, channel: DataChannelHandle) {
        let open = self
            .channels
            .iter()
            .any(|c| c.handle == channel && c.ready_state == DataChannelState::Open);
        if !open {
            self.set_channel_state(channel, DataChannelState::Closing);
            self.set_channel_state(channel, DataChannelState::Closed);
            return;
        }
        self.set_channel_state(channel, DataChannelState::Closing);
        self.events.push_back(Event::DataChannelError {
            channel,
            error_detail: "sctp-failure".into(),
        });
        self.set_channel_state(channel, DataChannelState::Closed);
    }

    /// The channel using stream `id` that is not closed yet.
    fn live_channel(&self, id: u16) -> Option<&DataChannel> {
        self.channels
            .iter()
            .find(|c| c.id == Some(id) && c.ready_state != DataChannelState::Closed)
    }

    fn live_channel_mut(&mut self, id: u16) -> Option<&mut DataChannel> {
        self.channels
            .iter_mut()
            .find(|c| c.id == Some(id) && c.ready_state != DataChannelState::Closed)
    }

    fn on_sctp_connected(&mut self, now: Instant) {
        if let Some(t) = self.transport.as_mut() {
            t.sctp_state = SctpTransportState::Connected;
        }
        self.events.push_back(Event::SctpStateChange {
            state: SctpTransportState::Connected,
        });
        // Chromium reports the ids reserved before the association existed from now on.
        for c in &mut self.channels {
            c.id_hidden = false;
        }
        let handles: Vec<DataChannelHandle> = self
            .channels
            .iter()
            .filter(|c| c.ready_state == DataChannelState::Connecting)
            .map(|c| c.handle)
            .collect();
        for handle in handles {
            self.open_on_sctp(now, handle);
        }
    }

    /// Opens a local channel's stream (DCEP OPEN unless negotiated) once SCTP is connected.
    pub(crate) fn open_on_sctp(&mut self, now: Instant, handle: DataChannelHandle) {
        if !self.sctp_connected() {
            return;
        }
        let Some(c) = self.channels.iter().find(|c| c.handle == handle) else {
            return;
        };
        let Some(id) = c.id else {
            return;
        };
        let p = params(&c.label, &c.init);
        let result = self
            .transport
            .as_mut()
            .and_then(|t| t.sctp.as_mut())
            .map(|s| s.open_channel(now, id, p));
        if !matches!(result, Some(Ok(()))) {
            // webrtc-pc §6.2: a channel that cannot be established closes.
            self.set_channel_state(handle, DataChannelState::Closed);
        }
    }

    /// RFC 8832 §6: the peer's DCEP OPEN, already acknowledged: announce then open.
    fn on_remote_channel(&mut self, id: u16, params: ChannelParams) {
        let handle = self.next_channel_handle;
        self.next_channel_handle += 1;
        let init = DataChannelInit {
            ordered: params.ordered,
            max_packet_life_time: params.max_packet_life_time,
            max_retransmits: params.max_retransmits,
            protocol: params.protocol,
            negotiated: false,
            id: Some(id),
            priority: None,
        };
        let channel = DataChannel {
            handle,
            label: params.label,
            init,
            id: Some(id),
            ready_state: DataChannelState::Connecting,
            id_hidden: false,
            counters: Default::default(),
        };
        let snapshot = channel.snapshot();
        self.channels.push(channel);
        self.events
            .push_back(Event::DataChannel { channel: snapshot });
        self.set_channel_state(handle, DataChannelState::Open);
    }

    fn set_channel_state_by_id(&mut self, id: u16, state: DataChannelState) {
        if let Some(handle) = self.live_channel(id).map(|c| c.handle) {
            self.set_channel_state(handle, state);
        }
    }

    /// Moves a channel forward (never back) and queues its event; closed fires after closing.
    pub(crate) fn set_channel_state(&mut self, handle: DataChannelHandle, state: DataChannelState) {
        let Some(c) = self.channels.iter_mut().find(|c| c.handle == handle) else {
            return;
        };
        if rank(state) <= rank(c.ready_state) {
            return;
        }
        let was_open = c.ready_state == DataChannelState::Open;
        c.ready_state = state;
        let id = c.visible_id();
        match state {
            DataChannelState::Open => self.channels_opened += 1,
            _ if was_open => self.channels_closed += 1,
            _ => {}
        }
        self.events.push_back(Event::DataChannelStateChange {
            channel: handle,
            state,
            id,
        });
    }

    /// The association or DTLS is gone: every channel closes (closing first if it was open).
    pub(crate) fn sctp_gone(&mut self, _now: Instant) {
        let Some(t) = self.transport.as_mut() else {
            return;
        };
        if t.sctp_state == SctpTransportState::Closed {
            return;
        }
        let was_connected = t.sctp_state == SctpTransportState::Connected;
        t.sctp_state = SctpTransportState::Closed;
        // Chromium reports "closed" also when DTLS failed before SCTP could start.
        self.events.push_back(Event::SctpStateChange {
            state: SctpTransportState::Closed,
        });
        if !was_connected {
            // Chromium leaves channels that never opened in "connecting" (measured: DTLS
            // failing its fingerprint check).
            return;
        }
        // The peer's close_notify or a DTLS failure under a connected association: as for an
        // ABORT, Chromium fires error "sctp-failure" on each open channel.
        let handles: Vec<_> = self.channels.iter().map(|c| c.handle).collect();
        for h in handles {
            self.fail_channel(h);
        }
    }

    /// `RTCDataChannel.send()` (webrtc-pc §6.2): InvalidStateError unless open, TypeError over
    /// the peer's max-message-size.
    pub(crate) fn send_data_channel_message(
        &mut self,
        now: Instant,
        handle: DataChannelHandle,
        data: &[u8],
        binary: bool,
    ) -> Result<ApiReply, ApiError> {
        let c = self
            .channels
            .iter()
            .find(|c| c.handle == handle)
            .ok_or_else(|| ApiError::invalid_state("unknown data channel"))?;
        if c.ready_state != DataChannelState::Open {
            return Err(ApiError::invalid_state(
                "RTCDataChannel.readyState is not 'open'",
            ));
        }
        let id =
            c.id.ok_or_else(|| ApiError::invalid_state("no stream id"))?;
        let sctp = self
            .transport
            .as_mut()
            .and_then(|t| t.sctp.as_mut())
            .ok_or_else(|| ApiError::invalid_state("no SCTP association"))?;
        match sctp.send(now, id, data, binary) {
            Ok(()) => {}
            Err(e @ SctpError::MessageTooLarge { .. }) => {
                return Err(ApiError::type_error(e.to_string()))
            }
            Err(e) => return Err(ApiError::invalid_state(e.to_string())),
        }
        // No bufferedamount event: the caller counts what it sent (send() adds the size to
        // bufferedAmount at once, as Chromium does); events report decreases only.
        if let Some(c) = self.channels.iter_mut().find(|c| c.handle == handle) {
            c.counters.messages_sent += 1;
            c.counters.bytes_sent += data.len() as u64;
        }
        self.drive_network(now);
        Ok(ApiReply::Done)
    }

    /// `RTCDataChannel.close()` with an association: reset the stream (RFC 8831 §6.7).
    /// Returns false when SCTP does not know the channel (the caller closes it at once).
    pub(crate) fn close_channel_on_sctp(
        &mut self,
        now: Instant,
        handle: DataChannelHandle,
    ) -> bool {
        let Some(id) = self
            .channels
            .iter()
            .find(|c| c.handle == handle)
            .and_then(|c| c.id)
        else {
            return false;
        };
        if !self.sctp_connected() {
            return false;
        }
        let Some(sctp) = self.transport.as_mut().and_then(|t| t.sctp.as_mut()) else {
            return false;
        };
        sctp.close_channel(now, id);
        self.drain_sctp(now);
        self.drive_network(now);
        true
    }
}

fn rank(s: DataChannelState) -> u8 {
    match s {
        DataChannelState::Connecting => 0,
        DataChannelState::Open => 1,
        DataChannelState::Closing => 2,
        DataChannelState::Closed => 3,
    }
}
