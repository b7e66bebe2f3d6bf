//! `PeerConnectionHandle`: one engine `PeerConnection` as the JS shim sees it. The shim owns
//! events, promises and the operations chain; this type only moves calls, time and results across.

use crate::clock::{instant_from_ms, ms_from_instant};
use crate::convert::{error_to_js, from_js, to_js};
use polyrtc_engine::{ApiCall, Configuration, PeerConnection};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct PeerConnectionHandle {
    engine: PeerConnection,
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
            .map(|engine| PeerConnectionHandle { engine })
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
        let events: Vec<_> = std::iter::from_fn(|| self.engine.poll_event()).collect();
        to_js(&events)
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
