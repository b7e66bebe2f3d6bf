//! Per-channel state: the DCEP handshake (RFC 8832 §6), PPIDs (RFC 8831 §8) and reliability.

use super::dcep::DcepMessage;
use super::ChannelParams;
use rtc_sctp::{PayloadProtocolIdentifier, ReliabilityType};

/// Where a data channel is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChannelState {
    /// Opened before the association was up: its stream is created on `Connected`.
    Pending,
    /// DCEP OPEN sent, ACK not yet received. RFC 8832 §6 lets the opener send already; those
    /// messages go ordered and reliable so they cannot overtake the OPEN.
    AwaitingAck,
    Open,
    /// Our outgoing stream is reset (or being reset); waiting for the peer's reset.
    Closing,
}

#[derive(Debug, Clone)]
pub(super) struct Channel {
    pub params: ChannelParams,
    pub state: ChannelState,
    /// Bytes written to the stream (user data and DCEP) and not yet acknowledged or abandoned.
    buffered: u64,
    /// Of those, DCEP bytes: they are not part of `bufferedAmount`.
    control: u64,
}

impl Channel {
    pub fn new(params: ChannelParams) -> Self {
        Channel {
            params,
            state: ChannelState::Pending,
            buffered: 0,
            control: 0,
        }
    }

    /// `bufferedAmount` (W3C): user bytes queued and not yet acknowledged or abandoned.
    pub fn buffered_amount(&self) -> u64 {
        self.buffered.saturating_sub(self.control)
    }

    pub fn on_written(&mut self, bytes: usize, is_control: bool) {
        self.buffered += bytes as u64;
        if is_control {
            self.control += bytes as u64;
        }
    }

    /// rtc-sctp released `bytes` of this stream. Releases come mostly in TSN order and the DCEP
    /// message went first, so control bytes are taken off first.
    pub fn on_released(&mut self, bytes: usize) {
        let bytes = bytes as u64;
        self.control -= self.control.min(bytes);
        self.buffered -= self.buffered.min(bytes);
        self.control = self.control.min(self.buffered);
    }

    /// Whether `send` may queue a message now.
    pub fn can_send(&self) -> bool {
        matches!(self.state, ChannelState::AwaitingAck | ChannelState::Open)
    }
}

/// The stream settings rtc-sctp applies to each message written after them:
/// (unordered, reliability type, reliability value).
pub(super) fn reliability(params: &ChannelParams) -> (bool, ReliabilityType, u32) {
    let (kind, value) = match (params.max_retransmits, params.max_packet_life_time) {
        (Some(n), _) => (ReliabilityType::Rexmit, u32::from(n)),
        (None, Some(ms)) => (ReliabilityType::Timed, u32::from(ms)),
        (None, None) => (ReliabilityType::Reliable, 0),
    };
    (!params.ordered, kind, value)
}

/// Ordered and reliable: how DCEP messages and data sent before the ACK travel.
pub(super) const ORDERED_RELIABLE: (bool, ReliabilityType, u32) =
    (false, ReliabilityType::Reliable, 0);

/// The PPID and payload for a user message. RFC 8831 §6.6: an empty message is sent as one
/// zero byte with the "empty" PPIDs, as SCTP cannot carry an empty DATA chunk.
pub(super) fn outgoing_payload(data: &[u8], binary: bool) -> (PayloadProtocolIdentifier, &[u8]) {
    match (data.is_empty(), binary) {
        (true, true) => (PayloadProtocolIdentifier::BinaryEmpty, &[0]),
        (true, false) => (PayloadProtocolIdentifier::StringEmpty, &[0]),
        (false, true) => (PayloadProtocolIdentifier::Binary, data),
        (false, false) => (PayloadProtocolIdentifier::String, data),
    }
}

/// What an inbound SCTP user message is.
#[derive(Debug)]
pub(super) enum Inbound {
    Dcep(DcepMessage),
    /// User data: (payload, binary).
    Data(Vec<u8>, bool),
    /// Malformed DCEP or an unknown PPID (including the deprecated partial PPIDs 52/54,
    /// RFC 8831 §8): dropped.
    Ignored,
}

pub(super) fn classify(ppi: PayloadProtocolIdentifier, payload: Vec<u8>) -> Inbound {
    match ppi {
        PayloadProtocolIdentifier::Dcep => match DcepMessage::parse(&payload) {
            Ok(message) => Inbound::Dcep(message),
            Err(_) => Inbound::Ignored,
        },
        PayloadProtocolIdentifier::String => Inbound::Data(payload, false),
        PayloadProtocolIdentifier::Binary => Inbound::Data(payload, true),
        PayloadProtocolIdentifier::StringEmpty => Inbound::Data(Vec::new(), false),
        PayloadProtocolIdentifier::BinaryEmpty => Inbound::Data(Vec::new(), true),
        _ => Inbound::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_messages_use_empty_ppids_and_one_zero_byte() {
        assert_eq!(
            outgoing_payload(b"", true),
            (PayloadProtocolIdentifier::BinaryEmpty, &[0u8][..])
        );
        assert_eq!(
            outgoing_payload(b"", false),
            (PayloadProtocolIdentifier::StringEmpty, &[0u8][..])
        );
        assert!(matches!(
            classify(PayloadProtocolIdentifier::StringEmpty, vec![0]),
            Inbound::Data(d, false) if d.is_empty()
        ));
    }

    #[test]
    fn reliability_follows_params() {
        let mut p = ChannelParams {
            ordered: false,
            max_retransmits: Some(0),
            ..ChannelParams::default()
        };
        assert_eq!(reliability(&p), (true, ReliabilityType::Rexmit, 0));
        p.max_retransmits = None;
        p.max_packet_life_time = Some(250);
        p.ordered = true;
        assert_eq!(reliability(&p), (false, ReliabilityType::Timed, 250));
    }
}
