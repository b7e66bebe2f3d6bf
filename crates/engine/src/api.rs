//! The engine's public contract with its shells (the wasm-bindgen crate in `src/`, native tests).
//!
//! Every type here crosses the wasm boundary as JSON-like data through serde-wasm-bindgen, so field
//! names are camelCase exactly as the W3C webrtc-pc dictionaries spell them, and enums are the
//! spec's strings. The JS shim does WebIDL conversion (a non-string where a DOMString is required, an
//! enum value outside the IDL enum, a missing required member → TypeError) before calling; the engine
//! does the semantic checks the spec puts in the algorithms (InvalidAccessError, SyntaxError,
//! InvalidStateError, InvalidModificationError, OperationError, …) and owns all protocol state.

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// The name of the DOMException (or the JS error class) a failed call turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorName {
    InvalidStateError,
    InvalidAccessError,
    InvalidModificationError,
    InvalidCharacterError,
    SyntaxError,
    OperationError,
    NotSupportedError,
    NotFoundError,
    NotReadableError,
    DataError,
    /// A JS `TypeError`, not a DOMException.
    TypeError,
    /// A JS `RangeError`, not a DOMException.
    RangeError,
}

/// A failed API call: the JS shell turns it into `new DOMException(message, name)` (or the JS
/// error class for TypeError/RangeError). `errorDetail` etc. are set for `RTCError` rejections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{name:?}: {message}")]
pub struct ApiError {
    pub name: ErrorName,
    pub message: String,
    /// For `RTCError` (name OperationError): the spec's RTCErrorDetailType string, e.g.
    /// "sdp-syntax-error", "data-channel-failure", "dtls-failure".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<String>,
    /// For "sdp-syntax-error": the 1-based line number in the SDP that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp_line_number: Option<u32>,
}

impl ApiError {
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        Self { name, message: message.into(), error_detail: None, sdp_line_number: None }
    }
    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ErrorName::InvalidStateError, message)
    }
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(ErrorName::TypeError, message)
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration (RTCConfiguration after WebIDL conversion)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceServer {
    pub urls: Urls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum IceTransportPolicy {
    Relay,
    #[default]
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BundlePolicy {
    #[default]
    Balanced,
    MaxCompat,
    MaxBundle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RtcpMuxPolicy {
    /// Legacy value; Chromium 156 accepts it in the constructor (RTCP is still multiplexed) and
    /// setConfiguration changing the policy throws InvalidModificationError.
    Negotiate,
    #[default]
    Require,
}

/// A certificate as it crosses the boundary: the JS `RTCCertificate` keeps these bytes, so a
/// certificate outlives the wasm instance that made it (instances are replaced after a trap).
// Not `Eq`: `expires` is an f64 (the derive did not compile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateData {
    /// X.509 DER.
    pub certificate_der: Vec<u8>,
    /// PKCS#8 DER private key.
    pub private_key_der: Vec<u8>,
    /// Expiry, milliseconds since the Unix epoch (the spec's `expires` is an EpochTimeStamp).
    pub expires: f64,
    /// "sha-256" fingerprint, lower-case algorithm, upper-case colon-separated hex value.
    pub fingerprints: Vec<Fingerprint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fingerprint {
    pub algorithm: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    #[serde(default)]
    pub ice_servers: Vec<IceServer>,
    #[serde(default)]
    pub ice_transport_policy: IceTransportPolicy,
    #[serde(default)]
    pub bundle_policy: BundlePolicy,
    #[serde(default)]
    pub rtcp_mux_policy: RtcpMuxPolicy,
    #[serde(default)]
    pub ice_candidate_pool_size: u8,
    #[serde(default)]
    pub certificates: Vec<CertificateData>,
    /// Chromium's non-standard `peerIdentity` configuration member (identity API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_identity: Option<String>,
}

/// Keygen parameters of `RTCPeerConnection.generateCertificate()` after WebIDL conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name")]
pub enum KeygenAlgorithm {
    #[serde(rename = "ECDSA", rename_all = "camelCase")]
    Ecdsa { named_curve: String },
    #[serde(rename = "RSASSA-PKCS1-v1_5", rename_all = "camelCase")]
    RsassaPkcs1V15 { modulus_length: u32, public_exponent: Vec<u8>, hash: String },
}

// ---------------------------------------------------------------------------------------------
// Descriptions, candidates, channels, transceivers
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    Offer,
    Pranswer,
    Answer,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDescription {
    #[serde(rename = "type")]
    pub sdp_type: SdpType,
    pub sdp: String,
}

/// `RTCLocalSessionDescriptionInit`: both members optional (implicit SLD / empty sdp).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LocalDescriptionInit {
    #[serde(rename = "type", default)]
    pub sdp_type: Option<SdpType>,
    #[serde(default)]
    pub sdp: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateInit {
    #[serde(default)]
    pub candidate: String,
    #[serde(default)]
    pub sdp_mid: Option<String>,
    #[serde(default)]
    pub sdp_m_line_index: Option<u16>,
    #[serde(default)]
    pub username_fragment: Option<String>,
}

/// A parsed candidate as `RTCIceCandidate` exposes it (all optional fields are null when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateInfo {
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_m_line_index: Option<u16>,
    pub username_fragment: Option<String>,
    pub foundation: Option<String>,
    /// "rtp" | "rtcp"
    pub component: Option<String>,
    pub priority: Option<u32>,
    pub address: Option<String>,
    /// "udp" | "tcp"
    pub protocol: Option<String>,
    pub port: Option<u16>,
    /// "host" | "srflx" | "prflx" | "relay"
    #[serde(rename = "type")]
    pub candidate_type: Option<String>,
    /// "active" | "passive" | "so"
    pub tcp_type: Option<String>,
    pub related_address: Option<String>,
    pub related_port: Option<u16>,
    /// "udp" | "tcp" | "tls" for relay candidates
    pub relay_protocol: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataChannelInit {
    #[serde(default = "default_true")]
    pub ordered: bool,
    #[serde(default)]
    pub max_packet_life_time: Option<u16>,
    #[serde(default)]
    pub max_retransmits: Option<u16>,
    #[serde(default)]
    pub protocol: String,
    #[serde(default)]
    pub negotiated: bool,
    #[serde(default)]
    pub id: Option<u16>,
    /// Chromium's non-standard `priority` ("very-low" | "low" | "medium" | "high").
    #[serde(default)]
    pub priority: Option<String>,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio,
    Video,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransceiverDirection {
    Sendrecv,
    Sendonly,
    Recvonly,
    Inactive,
    Stopped,
}

/// The parts of a `MediaStreamTrack` the engine needs; the JS shell keeps the track object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackInfo {
    pub id: String,
    pub kind: MediaKind,
}

// Not `Eq`: f64 members (the derive did not compile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpEncodingParameters {
    #[serde(default)]
    pub rid: Option<String>,
    #[serde(default = "default_true")]
    pub active: bool,
    #[serde(default)]
    pub max_bitrate: Option<u32>,
    #[serde(default)]
    pub max_framerate: Option<f64>,
    #[serde(default)]
    pub scale_resolution_down_by: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransceiverInit {
    #[serde(default)]
    pub direction: Option<TransceiverDirection>,
    /// Ids of the MediaStreams the sender's track is associated with.
    #[serde(default)]
    pub stream_ids: Vec<String>,
    #[serde(default)]
    pub send_encodings: Vec<RtpEncodingParameters>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OfferOptions {
    #[serde(default)]
    pub ice_restart: bool,
    /// Legacy RTCOfferOptions members (Chromium still honours them).
    #[serde(default)]
    pub offer_to_receive_audio: Option<bool>,
    #[serde(default)]
    pub offer_to_receive_video: Option<bool>,
}

/// Ids the engine hands out so the JS shell can keep one JS object per engine object.
pub type TransceiverId = u32;
pub type DataChannelHandle = u32;

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/// One call from the JS API into the engine. The JS shell serialises these through the spec's
/// operations chain where the spec says so (createOffer, createAnswer, setLocalDescription,
/// setRemoteDescription, addIceCandidate) and calls the rest synchronously.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum ApiCall {
    GetConfiguration,
    #[serde(rename_all = "camelCase")]
    SetConfiguration { configuration: Configuration },
    #[serde(rename_all = "camelCase")]
    CreateOffer { options: OfferOptions },
    CreateAnswer,
    #[serde(rename_all = "camelCase")]
    SetLocalDescription { description: LocalDescriptionInit },
    #[serde(rename_all = "camelCase")]
    SetRemoteDescription { description: SessionDescription },
    /// `None` or an empty candidate string = end-of-candidates.
    #[serde(rename_all = "camelCase")]
    AddIceCandidate { candidate: Option<IceCandidateInit> },
    /// Parse a candidate line for the `RTCIceCandidate` constructor (no state change).
    #[serde(rename_all = "camelCase")]
    ParseCandidate { candidate: IceCandidateInit },
    RestartIce,
    /// The spec's "check if negotiation is needed" (the flag and task queueing live in JS).
    CheckNegotiationNeeded,
    #[serde(rename_all = "camelCase")]
    CreateDataChannel { label: String, init: DataChannelInit },
    #[serde(rename_all = "camelCase")]
    CloseDataChannel { channel: DataChannelHandle },
    /// `RTCDataChannel.send()`: `data` is the UTF-8 of a string (`binary: false`) or the bytes
    /// of a Blob/ArrayBuffer/view (`binary: true`); a Uint8Array on the JS side.
    #[serde(rename_all = "camelCase")]
    SendDataChannelMessage {
        channel: DataChannelHandle,
        #[serde(with = "bytes")]
        data: Vec<u8>,
        binary: bool,
    },
    #[serde(rename_all = "camelCase")]
    AddTrack { track: TrackInfo, stream_ids: Vec<String> },
    #[serde(rename_all = "camelCase")]
    RemoveTrack { transceiver: TransceiverId },
    #[serde(rename_all = "camelCase")]
    AddTransceiver { kind: MediaKind, track: Option<TrackInfo>, init: TransceiverInit },
    #[serde(rename_all = "camelCase")]
    SetDirection { transceiver: TransceiverId, direction: TransceiverDirection },
    #[serde(rename_all = "camelCase")]
    StopTransceiver { transceiver: TransceiverId },
    #[serde(rename_all = "camelCase")]
    ReplaceTrack { transceiver: TransceiverId, track: Option<TrackInfo> },
    #[serde(rename_all = "camelCase")]
    SetStreams { transceiver: TransceiverId, stream_ids: Vec<String> },
    /// `RTCPeerConnection.getStats()`; `timestamp` is the DOMHighResTimeStamp the JS shell uses.
    #[serde(rename_all = "camelCase")]
    GetStats { timestamp: f64 },
    Close,
}

/// What a successful call returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ApiReply {
    Done,
    Bool { value: bool },
    Description { description: SessionDescription },
    Configuration { configuration: Configuration },
    Candidate { candidate: IceCandidateInfo },
    #[serde(rename_all = "camelCase")]
    DataChannel { channel: DataChannelSnapshot },
    #[serde(rename_all = "camelCase")]
    Transceiver { transceiver: TransceiverId },
    /// Each entry is an RTCStats dictionary (`id`, `type`, `timestamp`, and the type's members).
    Stats { stats: Vec<serde_json_compat::Value> },
}

// ---------------------------------------------------------------------------------------------
// Observable state
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SignalingState {
    #[default]
    Stable,
    HaveLocalOffer,
    HaveRemoteOffer,
    HaveLocalPranswer,
    HaveRemotePranswer,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum IceGatheringState {
    #[default]
    New,
    Gathering,
    Complete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum IceConnectionState {
    #[default]
    New,
    Checking,
    Connected,
    Completed,
    Disconnected,
    Failed,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PeerConnectionState {
    #[default]
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DataChannelState {
    #[default]
    Connecting,
    Open,
    Closing,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataChannelSnapshot {
    pub handle: DataChannelHandle,
    pub label: String,
    pub ordered: bool,
    pub max_packet_life_time: Option<u16>,
    pub max_retransmits: Option<u16>,
    pub protocol: String,
    pub negotiated: bool,
    /// Null until the DTLS role is known for in-band negotiated channels; a channel created
    /// before the role was known keeps reading null until the SCTP association is up
    /// (Chromium), though its stream id is reserved when the role becomes known.
    pub id: Option<u16>,
    pub ready_state: DataChannelState,
    pub priority: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransceiverSnapshot {
    pub id: TransceiverId,
    pub kind: MediaKind,
    pub mid: Option<String>,
    pub direction: TransceiverDirection,
    pub current_direction: Option<TransceiverDirection>,
    /// The sender's track id (the JS shell maps it back to its MediaStreamTrack object).
    pub sender_track_id: Option<String>,
    pub sender_stream_ids: Vec<String>,
    /// The receiver's track id: the engine names remote tracks (from a=msid) and the JS shell
    /// creates one MediaStreamTrack per id.
    pub receiver_track_id: String,
    pub stopped: bool,
    pub stopping: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DtlsTransportState {
    #[default]
    New,
    Connecting,
    Connected,
    Closed,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SctpTransportState {
    #[default]
    Connecting,
    Connected,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SctpSnapshot {
    pub state: SctpTransportState,
    pub max_message_size: f64,
    pub max_channels: Option<u16>,
}

/// Everything a JS getter may read, taken after each call so attributes change exactly when the
/// spec's task changes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub signaling_state: SignalingState,
    pub ice_gathering_state: IceGatheringState,
    pub ice_connection_state: IceConnectionState,
    pub connection_state: PeerConnectionState,
    pub dtls_state: DtlsTransportState,
    pub can_trickle_ice_candidates: Option<bool>,
    pub current_local_description: Option<SessionDescription>,
    pub pending_local_description: Option<SessionDescription>,
    pub current_remote_description: Option<SessionDescription>,
    pub pending_remote_description: Option<SessionDescription>,
    pub transceivers: Vec<TransceiverSnapshot>,
    pub sctp: Option<SctpSnapshot>,
    pub data_channels: Vec<DataChannelSnapshot>,
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Things that happened, in the order the JS shell must fire them. State-change events carry the
/// new value; the JS shell updates its mirror of that attribute right before dispatching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    #[serde(rename = "signalingstatechange")]
    SignalingStateChange { state: SignalingState },
    #[serde(rename = "icegatheringstatechange")]
    IceGatheringStateChange { state: IceGatheringState },
    #[serde(rename = "iceconnectionstatechange")]
    IceConnectionStateChange { state: IceConnectionState },
    #[serde(rename = "connectionstatechange")]
    ConnectionStateChange { state: PeerConnectionState },
    /// `candidate: None` is the end-of-gathering null candidate.
    #[serde(rename = "icecandidate")]
    IceCandidate { candidate: Option<IceCandidateInfo> },
    #[serde(rename = "icecandidateerror", rename_all = "camelCase")]
    IceCandidateError {
        address: Option<String>,
        port: Option<u16>,
        url: String,
        error_code: u16,
        error_text: String,
    },
    /// A remote track appeared on `transceiver` (fired after SRD, in transceiver order).
    #[serde(rename = "track", rename_all = "camelCase")]
    Track { transceiver: TransceiverId, stream_ids: Vec<String> },
    /// A remote track was removed from `stream_ids` (legacy removestream, track mute/ended).
    #[serde(rename = "trackremoved", rename_all = "camelCase")]
    TrackRemoved { transceiver: TransceiverId, stream_ids: Vec<String> },
    /// The remote peer opened a channel in-band (DCEP).
    #[serde(rename = "datachannel")]
    DataChannel { channel: DataChannelSnapshot },
    #[serde(rename = "datachannelstatechange")]
    DataChannelStateChange { channel: DataChannelHandle, state: DataChannelState, id: Option<u16> },
    /// The ICE transport selected a new candidate pair (webrtc-pc §5.6 "selectedcandidatepairchange"):
    /// `RTCIceTransport.getSelectedCandidatePair()` reads this pair from the event on.
    #[serde(rename = "selectedcandidatepairchange")]
    SelectedCandidatePairChange { local: IceCandidateInfo, remote: IceCandidateInfo },
    #[serde(rename = "dtlsstatechange")]
    DtlsStateChange { state: DtlsTransportState },
    /// The peer's DTLS certificate (DER), checked against its a=fingerprint; comes right before
    /// the "connected" state change (`RTCDtlsTransport.getRemoteCertificates()`).
    #[serde(rename = "dtlsremotecertificate")]
    DtlsRemoteCertificate {
        #[serde(with = "bytes")]
        der: Vec<u8>,
    },
    #[serde(rename = "sctpstatechange")]
    SctpStateChange { state: SctpTransportState },
    /// One whole message on a channel; `data` is a Uint8Array on the JS side (UTF-8 when
    /// `binary` is false).
    #[serde(rename = "datachannelmessage")]
    DataChannelMessage {
        channel: DataChannelHandle,
        #[serde(with = "bytes")]
        data: Vec<u8>,
        binary: bool,
    },
    /// The channel failed (`error` event with an RTCError, OperationError): `error_detail` is
    /// "sctp-failure" when the association was aborted or lost under it.
    #[serde(rename = "datachannelerror", rename_all = "camelCase")]
    DataChannelError { channel: DataChannelHandle, error_detail: String },
    /// The channel's `bufferedAmount` decreased to `amount` (bytes left the send buffer).
    #[serde(rename = "bufferedamount")]
    BufferedAmount { channel: DataChannelHandle, amount: f64 },
}

/// Byte strings as serde bytes: serde-wasm-bindgen turns them into a Uint8Array (and takes a
/// Uint8Array or ArrayBuffer back); JSON gives and takes an array of numbers.
pub mod bytes {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(data)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_bytes(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("bytes")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

/// A JSON value type for stats dictionaries, so the engine does not need serde_json at runtime.
pub mod serde_json_compat {
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    pub enum Value {
        Null,
        Bool(bool),
        Number(f64),
        String(String),
        Array(Vec<Value>),
        Object(BTreeMap<String, Value>),
    }
}
