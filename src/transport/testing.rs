//! Test-only exports (`__TestTransport`, `__TestTimer`; the JS side reaches them through
//! `__testing` in js/backend.js, not the public API): an e2e page opens a relay transport, sends
//! raw TURN bytes and reads what comes back, and drives the engine timer.

use super::{options_from_js, RelayTransport, TransportState};
use crate::timer::EngineTimer;
use js_sys::{Array, Function, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[derive(Default)]
struct Log {
    received: Vec<Vec<u8>>,
    states: Vec<String>,
}

#[wasm_bindgen(js_name = __TestTransport)]
pub struct TestTransport {
    transport: RelayTransport,
    log: Rc<RefCell<Log>>,
}

/// Calls the page's change callback; its exceptions are the test's business, not ours.
fn notify(on_change: &Option<Function>) {
    if let Some(f) = on_change {
        let _ = f.call0(&JsValue::NULL);
    }
}

#[wasm_bindgen(js_class = __TestTransport)]
impl TestTransport {
    /// `options`: `{serverCertificateHashes}` (see `options_from_js`); `on_change` is called
    /// after every input chunk and state change.
    #[wasm_bindgen(constructor)]
    pub fn new(
        url: &str,
        options: JsValue,
        on_change: Option<Function>,
    ) -> Result<TestTransport, JsValue> {
        let options = options_from_js(&options).map_err(|e| JsValue::from(e.to_string()))?;
        let log = Rc::new(RefCell::new(Log::default()));
        let (input_log, state_log) = (log.clone(), log.clone());
        let on_change = Rc::new(on_change);
        let on_change2 = on_change.clone();
        let transport = RelayTransport::connect(
            url,
            &options,
            Rc::new(move |bytes| {
                input_log.borrow_mut().received.push(bytes);
                notify(&on_change);
            }),
            Rc::new(move |state: &TransportState| {
                let entry = match state.reason() {
                    Some(r) => format!("{}: {}", state.name(), r.detail),
                    None => state.name().to_string(),
                };
                state_log.borrow_mut().states.push(entry);
                notify(&on_change2);
            }),
        )
        .map_err(|e| JsValue::from(e.to_string()))?;
        Ok(TestTransport { transport, log })
    }

    pub fn send(&self, bytes: &[u8]) -> Result<(), JsValue> {
        self.transport
            .send(bytes.to_vec())
            .map_err(|e| JsValue::from(e.to_string()))
    }

    pub fn flush(&self) {
        self.transport.flush();
    }

    pub fn close(&self) {
        self.transport.close();
    }

    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.transport.state().name().to_string()
    }

    #[wasm_bindgen(getter)]
    pub fn reason(&self) -> Option<String> {
        self.transport.state().reason().map(|r| r.detail.clone())
    }

    /// Every state change so far ("open", "failed: ...").
    #[wasm_bindgen(getter)]
    pub fn states(&self) -> Vec<String> {
        self.log.borrow().states.clone()
    }

    #[wasm_bindgen(getter, js_name = bufferedAmount)]
    pub fn buffered_amount(&self) -> f64 {
        self.transport.buffered_amount() as f64
    }

    /// WebSocket frames / datagrams / stream writes handed to the browser.
    #[wasm_bindgen(getter)]
    pub fn writes(&self) -> f64 {
        self.transport.writes() as f64
    }

    /// The input chunks received since the last call, as Uint8Arrays.
    pub fn take(&self) -> Array {
        let chunks = std::mem::take(&mut self.log.borrow_mut().received);
        chunks
            .iter()
            .map(|c| JsValue::from(Uint8Array::from(&c[..])))
            .collect()
    }
}

#[wasm_bindgen(js_name = __TestTimer)]
pub struct TestTimer {
    timer: EngineTimer,
}

#[wasm_bindgen(js_class = __TestTimer)]
impl TestTimer {
    #[wasm_bindgen(constructor)]
    pub fn new(on_fire: Function) -> TestTimer {
        TestTimer {
            timer: EngineTimer::new(move || {
                let _ = on_fire.call0(&JsValue::NULL);
            }),
        }
    }

    #[wasm_bindgen(js_name = setDeadline)]
    pub fn set_deadline(&self, deadline_ms: Option<f64>, now_ms: f64) {
        self.timer.set_deadline(deadline_ms, now_ms);
    }

    #[wasm_bindgen(getter)]
    pub fn deadline(&self) -> Option<f64> {
        self.timer.deadline()
    }

    #[wasm_bindgen(getter)]
    pub fn arms(&self) -> f64 {
        self.timer.arms() as f64
    }
}
