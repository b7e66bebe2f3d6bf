//! `PeerConnectionHandle`: one engine `PeerConnection` as the JS shim sees it. The shim owns
//! events, promises and the operations chain; this type only moves calls, time and results across.

use crate::clock::{instant_from_ms, ms_from_instant};
use crate::convert::{error_to_js, from_js, to_js};
use polyrtc_engine::{ApiCall, Configuration, Event, PeerConnection};
use std::collections::VecDeque;
use std::time::Instant;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct PeerConnectionHandle {
    engine: PeerConnection,
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
        PeerConnection::new(configuration, seed, instant_from_ms(now_ms), wall_ms)
            .map(|engine| PeerConnectionHandle {
                engine,
                waker: None,
                pending_events: VecDeque::new(),
            })
            .map_err(|e| error_to_js(&e))
    }

    /// One API call (an engine `ApiCall` object); returns the `ApiReply` or throws an `ApiError`.
    pub fn call(&mut self, call: JsValue, now_ms: f64, wall_ms: f64) -> Result<JsValue, JsValue> {
        let call: ApiCall = from_js(call, "API call")?;
        let reply = self
            .engine
            .handle_api_call(call, instant_from_ms(now_ms), wall_ms)
            .map_err(|e| error_to_js(&e))?;
        to_js(&reply)
    }

    /// Every attribute a JS getter may read.
    pub fn snapshot(&self) -> Result<JsValue, JsValue> {
        to_js(&self.engine.snapshot())
    }

    /// The events that happened since the last call, in the order they must be fired.
    #[wasm_bindgen(js_name = pollEvents)]
    pub fn poll_events(&mut self) -> Result<JsValue, JsValue> {
        let mut events: Vec<_> = self.pending_events.drain(..).collect();
        events.extend(std::iter::from_fn(|| self.engine.poll_event()));
        to_js(&events)
    }

    /// The shim's wake-up (js/README-internal.md): `waker()` is called when input that arrived
    /// outside any shim call (relay bytes) produced events or moved the engine's deadline; the
    /// shim then drains `pollEvents()` and re-reads `pollTimeout()` in a new task. It must not
    /// call this handle synchronously. `null`/`undefined` removes it.
    #[wasm_bindgen(js_name = setWaker)]
    pub fn set_waker(&mut self, waker: Option<js_sys::Function>) {
        self.waker = waker;
    }

    /// When the engine next wants `handleTimeout`, in `performance.now()` milliseconds.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.engine.poll_timeout().map(ms_from_instant)
    }

    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now_ms: f64) {
        self.engine.handle_timeout(instant_from_ms(now_ms));
    }
}

/// For the shell's own drivers (relay transports, the engine timer), not exported to JS.
impl PeerConnectionHandle {
    pub fn engine_mut(&mut self) -> &mut PeerConnection {
        &mut self.engine
    }

    /// Call after feeding the engine input the shim did not ask for, with the engine's deadline
    /// from before that input: keeps the new events for the next `pollEvents` and calls the
    /// waker when there are any or the deadline moved. Returns whether it woke the shim.
    pub fn after_input(&mut self, timeout_before: Option<Instant>) -> bool {
        self.pending_events
            .extend(std::iter::from_fn(|| self.engine.poll_event()));
        let moved = self.engine.poll_timeout() != timeout_before;
        if self.pending_events.is_empty() && !moved {
            return false;
        }
        match &self.waker {
            Some(waker) => {
                // The waker only queues a task; an exception in it is the shim's bug, and the
                // events stay queued for the shim's next pollEvents either way.
                if let Err(e) = waker.call0(&JsValue::NULL) {
                    web_sys::console::error_2(&"polyrtc: the waker threw".into(), &e);
                }
                true
            }
            None => false,
        }
    }
}

/// Test-only: runs `after_input` as if relay input had arrived, so a page can check that events
/// left undrained by the last call reach the waker and then `pollEvents`, in order.
#[wasm_bindgen(js_name = __wakeAfterInput)]
pub fn wake_after_input(handle: &mut PeerConnectionHandle) -> bool {
    let timeout = handle.engine.poll_timeout();
    handle.after_input(timeout)
}
