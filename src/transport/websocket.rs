//! TURN over WebSocket: the relay's `/turn` endpoint, subprotocol `turn`, binary frames that each
//! carry whole stream-framed messages (relay/src/server/http.rs). Everything queued in one
//! event-loop turn leaves at its end, in as few frames of at most [`MAX_FRAME`] bytes as hold it.

use super::{
    deliver, js_error_text, schedule_flush, set_state, CloseKind, CloseReason, Common, HasCommon,
    OnInput, OnState, TransportError, TransportState,
};
use js_sys::{ArrayBuffer, Uint8Array};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// The subprotocol the relay requires (relay/src/server/http.rs `SUBPROTOCOL`).
const SUBPROTOCOL: &str = "turn";
/// RFC 6455 §7.4.1: normal closure.
const NORMAL_CLOSURE: u16 = 1000;
/// Largest frame built from queued messages. The relay refuses a WebSocket message over 1 MiB
/// and ends the session (relay/src/server/http.rs `MAX_WS_MESSAGE`), and a full SCTP congestion
/// window sent in one turn is several MiB: in one frame it closed the session, and every T3-rtx
/// retransmission of the window closed the next one. 64 KiB is what the relay batches towards
/// us (relay/src/server/queue.rs `BATCH_BYTES`).
const MAX_FRAME: usize = 64 * 1024;

pub struct WebSocketTransport {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    common: Common,
    socket: WebSocket,
    /// Messages queued this turn, back to back, split into the next frames (each at most
    /// [`MAX_FRAME`] bytes unless it holds one larger message).
    queue: VecDeque<Vec<u8>>,
    /// An `error` event came before `close`: the close is a failure whatever its code.
    errored: bool,
    /// The event handlers, alive as long as the socket may call them.
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl HasCommon for Inner {
    fn common(&mut self) -> &mut Common {
        &mut self.common
    }
}

impl WebSocketTransport {
    pub fn connect(
        url: &str,
        on_input: OnInput,
        on_state: OnState,
    ) -> Result<Self, TransportError> {
        let socket = WebSocket::new_with_str(url, SUBPROTOCOL)
            .map_err(|e| TransportError::Connect(js_error_text(&e)))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let inner = Rc::new(RefCell::new(Inner {
            common: Common::new(on_input, on_state),
            socket: socket.clone(),
            queue: VecDeque::new(),
            errored: false,
            _handlers: Vec::new(),
        }));
        let weak = Rc::downgrade(&inner);
        let handlers = vec![
            handler(&weak, |inner, _| on_open(inner)),
            handler(&weak, on_message),
            handler(&weak, |inner, _| inner.borrow_mut().errored = true),
            handler(&weak, on_close),
        ];
        if let [open, message, error, close] = handlers.as_slice() {
            socket.set_onopen(Some(open.as_ref().unchecked_ref()));
            socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
            socket.set_onerror(Some(error.as_ref().unchecked_ref()));
            socket.set_onclose(Some(close.as_ref().unchecked_ref()));
        }
        inner.borrow_mut()._handlers = handlers;
        Ok(WebSocketTransport { inner })
    }

    pub fn send(&self, message: Vec<u8>) -> Result<(), TransportError> {
        {
            let mut inner = self.inner.borrow_mut();
            if let TransportState::Closed(_) = inner.common.state {
                return Err(TransportError::NotOpen(inner.common.state.name()));
            }
            match inner.queue.back_mut() {
                Some(frame) if frame.len() + message.len() <= MAX_FRAME => {
                    frame.extend_from_slice(&message)
                }
                _ => inner.queue.push_back(message),
            }
        }
        schedule_flush(&self.inner, flush);
        Ok(())
    }

    pub fn flush(&self) {
        flush(&self.inner);
    }

    pub fn close(&self) {
        flush(&self.inner);
        let socket = self.inner.borrow().socket.clone();
        let reason = CloseReason::new(CloseKind::Local, "closed by polyrtc");
        if set_state(&self.inner, TransportState::Closed(reason)) {
            // Cannot throw for a 1000 code and a short reason (WebSocket §close() steps 1-2).
            let _ = socket.close_with_code_and_reason(NORMAL_CLOSURE, "closed by polyrtc");
        }
    }

    pub fn state(&self) -> TransportState {
        self.inner.borrow().common.state.clone()
    }

    pub fn buffered_amount(&self) -> usize {
        let inner = self.inner.borrow();
        let queued: usize = inner.queue.iter().map(Vec::len).sum();
        queued + inner.socket.buffered_amount() as usize
    }

    pub fn writes(&self) -> u64 {
        self.inner.borrow().common.writes
    }
}

impl Drop for WebSocketTransport {
    /// Closes without calling `on_state`: the owner is going away (and may be borrowed).
    fn drop(&mut self) {
        flush(&self.inner);
        let mut inner = self.inner.borrow_mut();
        if !matches!(inner.common.state, TransportState::Closed(_)) {
            let reason = CloseReason::new(CloseKind::Local, "dropped");
            inner.common.state = TransportState::Closed(reason);
            let _ = inner
                .socket
                .close_with_code_and_reason(NORMAL_CLOSURE, "closed by polyrtc");
        }
        inner.socket.set_onopen(None);
        inner.socket.set_onmessage(None);
        inner.socket.set_onerror(None);
        inner.socket.set_onclose(None);
    }
}

/// A socket event handler that finds the transport through a weak reference (the socket must not
/// keep a dropped transport alive).
fn handler(
    weak: &Weak<RefCell<Inner>>,
    f: impl Fn(&Rc<RefCell<Inner>>, JsValue) + 'static,
) -> Closure<dyn FnMut(JsValue)> {
    let weak = weak.clone();
    Closure::new(move |event: JsValue| {
        if let Some(inner) = weak.upgrade() {
            f(&inner, event);
        }
    })
}

/// Everything queued, if open.
fn flush(inner: &Rc<RefCell<Inner>>) {
    loop {
        let result = {
            let mut guard = inner.borrow_mut();
            if guard.common.state != TransportState::Open {
                return;
            }
            let Some(frame) = guard.queue.pop_front() else {
                return;
            };
            guard.common.writes += 1;
            guard.socket.send_with_u8_array(&frame)
        };
        if let Err(e) = result {
            let detail = format!("send failed: {}", js_error_text(&e));
            set_state(
                inner,
                TransportState::Closed(CloseReason::new(CloseKind::Failed, detail)),
            );
            return;
        }
    }
}

fn on_open(inner: &Rc<RefCell<Inner>>) {
    if set_state(inner, TransportState::Open) {
        // What was queued while connecting.
        flush(inner);
    }
}

fn on_message(inner: &Rc<RefCell<Inner>>, event: JsValue) {
    if matches!(inner.borrow().common.state, TransportState::Closed(_)) {
        return;
    }
    let data = event.unchecked_into::<MessageEvent>().data();
    match data.dyn_into::<ArrayBuffer>() {
        Ok(buffer) => deliver(inner, Uint8Array::new(&buffer).to_vec()),
        Err(_) => {
            // The relay only ever sends binary frames; a text frame means a wrong endpoint.
            let reason = CloseReason::new(CloseKind::Failed, "the relay sent a text frame");
            let socket = inner.borrow().socket.clone();
            if set_state(inner, TransportState::Closed(reason)) {
                let _ = socket.close();
            }
        }
    }
}

fn on_close(inner: &Rc<RefCell<Inner>>, event: JsValue) {
    let event: CloseEvent = event.unchecked_into();
    let (code, text) = (event.code(), event.reason());
    let errored = inner.borrow().errored;
    // RFC 6455 §7.4.1: 1006 = closed without a close frame (never connected, or connection lost).
    let kind = if errored || code == 1006 || !event.was_clean() {
        CloseKind::Failed
    } else {
        CloseKind::Remote
    };
    let url = inner.borrow().socket.url();
    let detail = match (kind, text.is_empty()) {
        (CloseKind::Failed, _) => format!("WebSocket to {url} failed (code {code})"),
        (_, true) => format!("the relay closed the WebSocket (code {code})"),
        (_, false) => format!("the relay closed the WebSocket (code {code}: {text})"),
    };
    set_state(
        inner,
        TransportState::Closed(CloseReason::new(kind, detail)),
    );
}
