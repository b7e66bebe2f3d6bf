//! polyrtc: the wasm-bindgen shell around `polyrtc-engine`. It is the only code that touches JS:
//! it turns `performance.now()` readings into `Instant`s (`clock`), moves API calls, events and
//! results across the boundary (`handle`, `convert`), and exposes certificate generation
//! (`certificate`), and carries the engine's relay traffic over WebSocket or WebTransport
//! (`transport`) with one timer for the engine's deadlines (`timer`). Everything with protocol
//! state lives in the engine.

pub mod certificate;
pub mod clock;
mod convert;
pub mod handle;
mod heap;
mod relays;
pub mod timer;
pub mod transport;

pub use handle::PeerConnectionHandle;
use wasm_bindgen::prelude::*;

/// Runs once when the instance starts: panics print their message to the console before the
/// instance traps (the JS shim then fails only the connections that lived in this instance).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Test-only: panic inside wasm, so tests can prove that a trap fails only the connections of the
/// trapped instance and that new connections still work.
#[wasm_bindgen(js_name = __trap)]
pub fn trap() {
    panic!("polyrtc: deliberate trap requested by a test");
}

/// The crate version, so the shim can check it loaded the wasm it was built with.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
