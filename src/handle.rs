//! `PeerConnectionHandle`: one engine `PeerConnection` as the JS shim sees it. The shim owns
//! events, promises and the operations chain; this type moves calls, time and results across,
//! and owns the connection's relay sessions (crate::transport), which feed the engine bytes
//! outside any shim call.

use crate::clock::{instant_from_ms, ms_from_instant};
use crate::convert::{error_to_js, from_js, to_js};
use crate::relays::Relays;
use polyrtc_engine::{ApiCall, ApiReply, Configuration, Event, PeerConnection};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct PeerConnectionHandle {
    core: Rc<RefCell<Core>>,
    relays: Relays,
    /// The last snapshot and the JS object made of it. The shim takes a snapshot after every
    /// wake-up, and in a bulk transfer nearly none of them changes anything; building the JS
    /// object (four SDPs among it) each time was a visible share of the page's CPU per message.
    last_snapshot: RefCell<Option<(polyrtc_engine::Snapshot, JsValue)>>,
}

/// What the handle and its relay sessions' callbacks share.
pub(crate) struct Core {
    pub engine: PeerConnection,
    /// The shim's wake-up callback (`setWaker`).
    waker: Option<js_sys::Function>,
    /// Events taken from the engine after input the shim did not ask for, waiting for its next
    /// `pollEvents` (they come first: they happened first).
    pending_events: VecDeque<Event>,
}

#[wasm_bindgen]
impl PeerConnectionHandle {
    /// `configuration` is an engine `Configuration` (the shim did the WebIDL conversion); `seed`
    /// is 32 bytes from `crypto.getRandomValues`; `now_ms` is `performance.now()`, `wall_ms`
    /// `Date.now()`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        configuration: JsValue,
        seed: &[u8],
        now_ms: f64,
        wall_ms: f64,
    ) -> Result<PeerConnectionHandle, JsValue> {
        let configuration: Configuration = from_js(configuration, "RTCConfiguration")?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| {
            error_to_js(&polyrtc_engine::ApiError::type_error(
                "the seed must be 32 bytes",
            ))
        })?;
        let engine = PeerConnection::new(configuration, seed, instant_from_ms(now_ms), wall_ms)
            .map_err(|e| error_to_js(&e))?;
        crate::heap::LIVE_HANDLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(PeerConnectionHandle {
            core: Rc::new(RefCell::new(Core {
                engine,
                waker: None,
                pending_events: VecDeque::new(),
            })),
            relays: Relays::default(),
            last_snapshot: RefCell::new(None),
        })
    }

    /// One API call (an engine `ApiCall` object); returns the `ApiReply` or throws an `ApiError`.
    pub fn call(&mut self, call: JsValue, now_ms: f64, wall_ms: f64) -> Result<JsValue, JsValue> {
        let call: ApiCall = from_js(call, "API call")?;
        to_js(&self.run(call, now_ms, wall_ms)?)
    }

    /// The engine runs `call`; then what it wants sent leaves through the relay sessions.
    fn run(&mut self, call: ApiCall, now_ms: f64, wall_ms: f64) -> Result<ApiReply, JsValue> {
        let reply =
            self.core
                .borrow_mut()
                .engine
                .handle_api_call(call, instant_from_ms(now_ms), wall_ms);
        self.relays.pump(&self.core, now_ms);
        reply.map_err(|e| error_to_js(&e))
    }

    /// `RTCDataChannel.send()`: the engine's `sendDataChannelMessage` without the generic call's
    /// conversion of a JS object (reflection per field; a visible share of a small message's
    /// cost). Throws the same `ApiError`s.
    #[wasm_bindgen(js_name = sendData)]
    pub fn send_data(
        &mut self,
        channel: u32,
        data: Vec<u8>,
        binary: bool,
        now_ms: f64,
        wall_ms: f64,
    ) -> Result<(), JsValue> {
        let call = ApiCall::SendDataChannelMessage {
            channel,
            data,
            binary,
        };
        self.run(call, now_ms, wall_ms).map(|_| ())
    }

    /// Every attribute a JS getter may read. An unchanged snapshot comes back as the very same
    /// JS object, so the shim can tell "nothing changed" by identity; it never mutates it.
    pub fn snapshot(&self) -> Result<JsValue, JsValue> {
        let snapshot = self.core.borrow().engine.snapshot();
        let mut last = self.last_snapshot.borrow_mut();
        if let Some((previous, js)) = last.as_ref() {
            if *previous == snapshot {
                return Ok(js.clone());
            }
        }
        let js = to_js(&snapshot)?;
        *last = Some((snapshot, js.clone()));
        Ok(js)
    }

    /// The events that happened since the last call, in the order they must be fired.
    #[wasm_bindgen(js_name = pollEvents)]
    pub fn poll_events(&mut self) -> Result<JsValue, JsValue> {
        let mut core = self.core.borrow_mut();
        let mut events: Vec<_> = core.pending_events.drain(..).collect();
        events.extend(std::iter::from_fn(|| core.engine.poll_event()));
        to_js(&events)
    }

    /// The shim's wake-up (js/README-internal.md): `waker()` is called when input that arrived
    /// outside any shim call (relay bytes) produced events or moved the engine's deadline; the
    /// shim then drains `pollEvents()` and re-reads `pollTimeout()` in a new task. It must not
    /// call this handle synchronously. `null`/`undefined` removes it.
    #[wasm_bindgen(js_name = setWaker)]
    pub fn set_waker(&mut self, waker: Option<js_sys::Function>) {
        self.core.borrow_mut().waker = waker;
    }

    /// Transport options for relay `url` (WebTransport `serverCertificateHashes`, resolved by the
    /// shim from iceServers/install()/meta, and the relay's WebSocket URL to fall back to):
    /// `{serverCertificateHashes: [...], webSocketUrl, pending}`; `pending: true` while the shim
    /// still fetches the hashes (sessions to `url` wait for the final options, src/relays.rs).
    #[wasm_bindgen(js_name = setRelayOptions)]
    pub fn set_relay_options(
        &mut self,
        url: String,
        options: JsValue,
        now_ms: f64,
    ) -> Result<(), JsValue> {
        self.relays.set_options(&self.core, url, &options, now_ms)
    }

    /// When the engine next wants `handleTimeout`, in `performance.now()` milliseconds.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.core
            .borrow()
            .engine
            .poll_timeout()
            .map(ms_from_instant)
    }

    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now_ms: f64) {
        self.core
            .borrow_mut()
            .engine
            .handle_timeout(instant_from_ms(now_ms));
        self.relays.pump(&self.core, now_ms);
    }
}

impl Drop for PeerConnectionHandle {
    fn drop(&mut self) {
        crate::heap::LIVE_HANDLES.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Core {
    /// Call after feeding the engine input the shim did not ask for, with the engine's deadline
    /// from before that input: keeps the new events for the next `pollEvents` and returns the
    /// waker to call (after the borrow of the core ends) when there are any or the deadline
    /// moved.
    pub(crate) fn after_input(
        &mut self,
        timeout_before: Option<Instant>,
    ) -> Option<js_sys::Function> {
        let mut new_events = std::iter::from_fn(|| self.engine.poll_event()).peekable();
        let had_events = new_events.peek().is_some();
        let collected: Vec<_> = new_events.collect();
        self.pending_events.extend(collected);
        let moved = self.engine.poll_timeout() != timeout_before;
        if !had_events && self.pending_events.is_empty() && !moved {
            return None;
        }
        self.waker.clone()
    }
}

/// Calls the shim's waker. It only queues a task; an exception in it is the shim's bug, and the
/// events stay queued for the shim's next pollEvents either way.
pub(crate) fn wake(waker: Option<js_sys::Function>) -> bool {
    let Some(waker) = waker else { return false };
    if let Err(e) = waker.call0(&JsValue::NULL) {
        web_sys::console::error_2(&"polyrtc: the waker threw".into(), &e);
    }
    true
}

/// Test-only: runs the after-input path as if relay input had arrived, so a page can check that
/// events left undrained by the last call reach the waker and then `pollEvents`, in order.
#[wasm_bindgen(js_name = __wakeAfterInput)]
pub fn wake_after_input(handle: &mut PeerConnectionHandle) -> bool {
    let waker = {
        let mut core = handle.core.borrow_mut();
        let timeout = core.engine.poll_timeout();
        core.after_input(timeout)
    };
    wake(waker)
}
