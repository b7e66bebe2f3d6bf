//! The page's connection to polyrtc-relay: TURN messages (RFC 8656) over a WebSocket or a
//! WebTransport session. The engine produces and consumes the bytes; this module only moves them.
//!
//! Sending: [`RelayTransport::send`] queues one message (a STUN message or ChannelData: padded by
//! the engine for a WebSocket, unpadded, datagram-style, for WebTransport) and the queue is
//! flushed once per turn of the event loop, from a microtask ([`RelayTransport::flush`] does it at
//! once). A browser pays per WebSocket frame (DESIGN.md: ~20 MB/s in 1,200-byte frames, ~136 MB/s
//! in 64 KiB frames), so everything queued in one turn leaves in as few binary frames as hold it,
//! each at most 64 KiB (the relay ends a session on a message over 1 MiB). WebTransport
//! sends each message as one datagram when it fits `datagrams.maxDatagramSize` and the datagram
//! queue has room, else on one bidirectional stream opened on first need (padding ChannelData).
//!
//! Receiving: `on_input` gets one or more whole messages in stream framing (see [`framing`]).
//! State changes (`connecting` → `open` → `closed`/`failed`, with a reason) go to `on_state`;
//! every JS exception becomes such a change, never a panic.

mod framing;
mod hashes;
pub(crate) mod js;
pub mod testing;
mod websocket;
mod webtransport;

pub use framing::{datagram_to_stream, Reassembler};
pub use hashes::{options_from_js, parse_certificate_hash, CertificateHash};
pub use websocket::WebSocketTransport;
pub use webtransport::WebTransportTransport;

use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

/// Receives whole stream-framed messages from the relay.
pub type OnInput = Rc<dyn Fn(Vec<u8>)>;
/// Hears every state change, including the one `close()` makes.
pub type OnState = Rc<dyn Fn(&TransportState)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportState {
    Connecting,
    Open,
    Closed(CloseReason),
}

impl TransportState {
    /// `"connecting"`, `"open"`, `"closed"` (by either side, cleanly) or `"failed"`.
    pub fn name(&self) -> &'static str {
        match self {
            TransportState::Connecting => "connecting",
            TransportState::Open => "open",
            TransportState::Closed(r) if r.kind == CloseKind::Failed => "failed",
            TransportState::Closed(_) => "closed",
        }
    }

    pub fn reason(&self) -> Option<&CloseReason> {
        match self {
            TransportState::Closed(r) => Some(r),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// `close()` was called.
    Local,
    /// The relay closed the connection cleanly.
    Remote,
    /// Connecting failed, the connection broke, or the relay sent something unusable.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    pub kind: CloseKind,
    pub detail: String,
}

impl CloseReason {
    pub fn new(kind: CloseKind, detail: impl Into<String>) -> Self {
        CloseReason {
            kind,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("relay URL {0:?}: the scheme must be ws:, wss: (WebSocket) or https: (WebTransport)")]
    UnsupportedScheme(String),
    #[error("relay certificate hash {0:?} is neither 64 hex digits nor base64 of 32 bytes")]
    BadCertificateHash(String),
    #[error("cannot connect to the relay: {0}")]
    Connect(String),
    #[error("the relay transport is {0}")]
    NotOpen(&'static str),
}

/// Connection options beyond the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportOptions {
    /// WebTransport `serverCertificateHashes` (self-signed relay certificates); ignored by
    /// WebSocket.
    pub certificate_hashes: Vec<CertificateHash>,
    /// For a WebTransport URL: the same relay's WebSocket URL, used when WebTransport is missing
    /// or its session fails before it opens (src/relays.rs). Ignored by WebSocket.
    pub websocket_fallback: Option<String>,
}

/// Either transport, chosen by the URL scheme.
pub enum RelayTransport {
    WebSocket(WebSocketTransport),
    WebTransport(WebTransportTransport),
}

impl RelayTransport {
    /// `ws:`/`wss:` open a WebSocket (subprotocol `turn`), `https:` a WebTransport session.
    /// Errors only for what is wrong before any I/O (scheme, a constructor exception); later
    /// failures arrive through `on_state`.
    pub fn connect(
        url: &str,
        options: &TransportOptions,
        on_input: OnInput,
        on_state: OnState,
    ) -> Result<Self, TransportError> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "ws" | "wss" => {
                WebSocketTransport::connect(url, on_input, on_state).map(RelayTransport::WebSocket)
            }
            "https" => WebTransportTransport::connect(url, options, on_input, on_state)
                .map(RelayTransport::WebTransport),
            _ => Err(TransportError::UnsupportedScheme(url.to_string())),
        }
    }

    /// Queues one whole TURN message; it leaves at the end of this event-loop turn (or on `open`
    /// while connecting).
    pub fn send(&self, message: Vec<u8>) -> Result<(), TransportError> {
        match self {
            RelayTransport::WebSocket(t) => t.send(message),
            RelayTransport::WebTransport(t) => t.send(message),
        }
    }

    /// Sends what is queued now instead of at the end of the turn.
    pub fn flush(&self) {
        match self {
            RelayTransport::WebSocket(t) => t.flush(),
            RelayTransport::WebTransport(t) => t.flush(),
        }
    }

    /// Sends what is queued, closes, and reports `closed` (kind `Local`) through `on_state`.
    pub fn close(&self) {
        match self {
            RelayTransport::WebSocket(t) => t.close(),
            RelayTransport::WebTransport(t) => t.close(),
        }
    }

    pub fn state(&self) -> TransportState {
        match self {
            RelayTransport::WebSocket(t) => t.state(),
            RelayTransport::WebTransport(t) => t.state(),
        }
    }

    /// Bytes accepted but not yet handed to the network (queued here plus the browser's own
    /// buffer where it reports one): stop producing while this is high.
    pub fn buffered_amount(&self) -> usize {
        match self {
            RelayTransport::WebSocket(t) => t.buffered_amount(),
            RelayTransport::WebTransport(t) => t.buffered_amount(),
        }
    }

    /// WebSocket frames, datagrams and stream writes handed to the browser so far.
    pub fn writes(&self) -> u64 {
        match self {
            RelayTransport::WebSocket(t) => t.writes(),
            RelayTransport::WebTransport(t) => t.writes(),
        }
    }
}

/// The state and callbacks both transports share. Callbacks always run with no `RefCell`
/// borrowed, so they may call back into the transport.
pub(crate) struct Common {
    pub state: TransportState,
    pub on_input: OnInput,
    pub on_state: OnState,
    pub flush_scheduled: bool,
    pub writes: u64,
}

impl Common {
    pub fn new(on_input: OnInput, on_state: OnState) -> Self {
        Common {
            state: TransportState::Connecting,
            on_input,
            on_state,
            flush_scheduled: false,
            writes: 0,
        }
    }
}

/// Access to the `Common` part of a transport's shared state.
pub(crate) trait HasCommon {
    fn common(&mut self) -> &mut Common;
}

/// Moves to `next` and tells `on_state`, unless already closed (the first reason wins).
/// Returns whether the state changed.
pub(crate) fn set_state<T: HasCommon>(inner: &RefCell<T>, next: TransportState) -> bool {
    let on_state = {
        let mut guard = inner.borrow_mut();
        let common = guard.common();
        if matches!(common.state, TransportState::Closed(_)) || common.state == next {
            return false;
        }
        common.state = next.clone();
        common.on_state.clone()
    };
    on_state(&next);
    true
}

/// Hands `bytes` to `on_input` with nothing borrowed.
pub(crate) fn deliver<T: HasCommon>(inner: &RefCell<T>, bytes: Vec<u8>) {
    let on_input = inner.borrow_mut().common().on_input.clone();
    on_input(bytes);
}

/// Text for a JS exception or rejection value (`Error`s and `DOMException`s: "name: message").
pub(crate) fn js_error_text(error: &JsValue) -> String {
    if let Some(e) = error.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", e.name(), e.message());
    }
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

/// Runs `flush` from a microtask at the end of this turn of the event loop, once however many
/// messages are queued meanwhile (the batching that makes one WebSocket frame per turn).
pub(crate) fn schedule_flush<T: HasCommon + 'static>(
    inner: &Rc<RefCell<T>>,
    flush: fn(&Rc<RefCell<T>>),
) {
    {
        let mut guard = inner.borrow_mut();
        let common = guard.common();
        if common.flush_scheduled {
            return;
        }
        common.flush_scheduled = true;
    }
    let weak = Rc::downgrade(inner);
    let task = wasm_bindgen::closure::Closure::once_into_js(move || {
        if let Some(inner) = weak.upgrade() {
            inner.borrow_mut().common().flush_scheduled = false;
            flush(&inner);
        }
    });
    if js::queue_microtask(&task).is_err() {
        // No queueMicrotask (not in any browser since 2019): send now rather than never.
        inner.borrow_mut().common().flush_scheduled = false;
        flush(inner);
    }
}
