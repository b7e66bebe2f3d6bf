//! SCTP association and WebRTC data channels (RFC 8831) over DTLS (RFC 8261), with the Data
//! Channel Establishment Protocol (RFC 8832).
//!
//! The SCTP protocol machinery (handshake, congestion control, retransmission, fragmentation,
//! partial reliability, stream reset) is `rtc-sctp`, which is sans-IO and reads no clock. This
//! module owns what WebRTC adds on top: one SCTP stream per data channel, DCEP OPEN/ACK, the PPID
//! conventions for strings, binaries and empty messages, `bufferedAmount`, and closing by stream
//! reset. [`SctpTransport`] takes and gives whole SCTP packets: each one travels as one DTLS
//! application-data record.

mod channel;
pub mod dcep;
mod transport;

pub use transport::SctpTransport;

use thiserror::Error;

/// The SCTP port WebRTC uses unless SDP `a=sctp-port` says otherwise (RFC 8841 §5).
pub const DEFAULT_SCTP_PORT: u16 = 5000;

/// What this endpoint accepts as a message when the remote description gives no
/// `a=max-message-size` (RFC 8841 §6: the default is 64 KiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 65_536;

/// Receive window advertised to the peer. Chromium's SCTP uses 256 KiB or more; a larger window
/// keeps a high bandwidth-delay path (a relayed connection) busy.
pub const RECEIVE_WINDOW: u32 = 4 * 1024 * 1024;

/// How the association is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpConfig {
    /// Our SCTP port (SDP `a=sctp-port`, 5000 by default). rtc-sctp 0.21.1 sends INIT from and
    /// to port 5000 whatever is configured, and a responder answers on the INIT's ports; so
    /// ports other than 5000 only work on the responding side.
    pub local_port: u16,
    /// The peer's SCTP port (see `local_port`).
    pub remote_port: u16,
    /// The peer's `a=max-message-size`: a larger `send` is refused. 0 means "no limit" (RFC 8841 §6).
    pub max_message_size: u32,
    /// Whether this side sends INIT. RFC 8261 lets either side; Chromium sends it from the DTLS
    /// client, so the engine passes `true` on its DTLS client side.
    pub client: bool,
}

impl Default for SctpConfig {
    fn default() -> Self {
        SctpConfig {
            local_port: DEFAULT_SCTP_PORT,
            remote_port: DEFAULT_SCTP_PORT,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            client: true,
        }
    }
}

/// The association's state as `RTCSctpTransport.state` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SctpState {
    Connecting,
    Connected,
    Closed,
}

/// The parameters of a data channel (W3C `RTCDataChannelInit`, RFC 8832 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelParams {
    pub label: String,
    pub protocol: String,
    pub ordered: bool,
    /// Partial reliability by retransmission count (RFC 3758, RFC 8831 §6.1).
    pub max_retransmits: Option<u16>,
    /// Partial reliability by lifetime in milliseconds.
    pub max_packet_life_time: Option<u16>,
    /// Agreed out of band: no DCEP OPEN is sent and the channel opens with the association.
    pub negotiated: bool,
    /// DCEP priority (RFC 8832 §5.1; the W3C priorities map to 128, 256, 512, 1024).
    pub priority: u16,
}

/// What happened, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SctpEvent {
    /// The association is established.
    Connected,
    /// A channel this side opened can carry data both ways: its DCEP ACK arrived, or it was
    /// negotiated and the association is up.
    ChannelOpen { id: u16 },
    /// The peer opened a channel with DCEP OPEN; it is already acknowledged and open.
    RemoteChannel { id: u16, params: ChannelParams },
    /// One whole message. `binary` is false for strings (UTF-8 as the peer sent it).
    Message {
        id: u16,
        data: Vec<u8>,
        binary: bool,
    },
    /// Bytes of the channel left the send buffer; `amount` is the new `bufferedAmount`.
    BufferedAmountDecreased { id: u16, amount: u64 },
    /// The channel is closing (closed locally, or the peer reset its outgoing stream).
    ChannelClosing { id: u16 },
    /// Both directions of the channel's stream are reset; the id may be reused.
    ChannelClosed { id: u16 },
    /// The association is gone (ABORT, SHUTDOWN, retransmission failure or local close).
    Closed { reason: String },
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SctpError {
    /// W3C `send()` throws TypeError above the peer's `a=max-message-size`.
    #[error("message of {size} bytes is over the peer's max-message-size {max}")]
    MessageTooLarge { size: usize, max: u32 },
    #[error("channel id {0} is already in use")]
    ChannelIdInUse(u16),
    #[error("channel id {id} is out of range (max channels {max})")]
    ChannelIdOutOfRange { id: u16, max: u16 },
    #[error("no open channel with id {0}")]
    NoSuchChannel(u16),
    #[error("channel {0} is not open")]
    ChannelNotOpen(u16),
    /// RFC 8831 §6.1: a channel has one reliability policy, never both.
    #[error("maxRetransmits and maxPacketLifeTime are both set")]
    BothReliabilityLimits,
    #[error("label or protocol longer than 65535 bytes")]
    LabelTooLong,
    #[error("the SCTP association is closed")]
    Closed,
    #[error("SCTP: {0}")]
    Sctp(String),
}
