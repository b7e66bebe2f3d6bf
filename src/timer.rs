//! The engine's single timer: one `setTimeout` for the engine's next deadline
//! (`poll_timeout`), re-armed only when that deadline changes. Engines ask for their deadline
//! after every input, so most calls find it unchanged and cost nothing.

use crate::transport::js::{clear_timeout, set_timeout};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Browsers run a `setTimeout` delay above 2^31 - 1 ms at once (HTML timers, "clamp the
/// timeout" is a signed 32-bit value): longer deadlines wait this long and are re-armed.
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

pub struct EngineTimer {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    /// The pending `setTimeout` id and the deadline it was armed for.
    armed: Option<(JsValue, f64)>,
    /// How many times `setTimeout` was called (tests check re-arming is rare).
    arms: u64,
    callback: Option<Closure<dyn FnMut()>>,
}

impl EngineTimer {
    /// `on_fire` runs when the deadline passes (with no borrow of the timer held: it may call
    /// [`EngineTimer::set_deadline`]). It typically calls the engine's `handle_timeout`.
    pub fn new(mut on_fire: impl FnMut() + 'static) -> Self {
        let inner = Rc::new(RefCell::new(Inner {
            armed: None,
            arms: 0,
            callback: None,
        }));
        let weak = Rc::downgrade(&inner);
        let callback = Closure::new(move || {
            let Some(inner) = weak.upgrade() else { return };
            inner.borrow_mut().armed = None;
            on_fire();
        });
        inner.borrow_mut().callback = Some(callback);
        EngineTimer { inner }
    }

    /// Arms the timer for `deadline_ms` (`performance.now()` milliseconds; `None`: disarm).
    /// Nothing happens when that deadline is already armed.
    pub fn set_deadline(&self, deadline_ms: Option<f64>, now_ms: f64) {
        let mut inner = self.inner.borrow_mut();
        if inner.armed.as_ref().map(|(_, at)| *at) == deadline_ms {
            return;
        }
        if let Some((id, _)) = inner.armed.take() {
            clear_timeout(&id);
        }
        let Some(deadline) = deadline_ms else { return };
        let delay = (deadline - now_ms).clamp(0.0, MAX_DELAY_MS);
        let Some(callback) = inner.callback.as_ref() else {
            return;
        };
        // setTimeout throws only without a global to run on; then there is no page either.
        if let Ok(id) = set_timeout(callback.as_ref(), if delay.is_nan() { 0.0 } else { delay }) {
            inner.armed = Some((id, deadline));
            inner.arms += 1;
        }
    }

    /// The armed deadline, if any.
    pub fn deadline(&self) -> Option<f64> {
        self.inner.borrow().armed.as_ref().map(|(_, at)| *at)
    }

    /// `setTimeout` calls so far.
    pub fn arms(&self) -> u64 {
        self.inner.borrow().arms
    }
}

impl Drop for EngineTimer {
    fn drop(&mut self) {
        if let Some((id, _)) = self.inner.borrow_mut().armed.take() {
            clear_timeout(&id);
        }
    }
}
