//! The connection's relay sessions: opens and closes them on the engine's `RelayCommand`s,
//! sends what `poll_relay_transmit` yields, and feeds what arrives back into the engine, then
//! wakes the shim (js/README-internal.md) so it fires the resulting events.
//!
//! Borrowing: the engine (`Core`) and the session table are separate `RefCell`s; transport
//! callbacks run in their own tasks, so neither is borrowed when they start, and nothing here
//! calls out to JS (transport close, the waker) or drops a session while holding a borrow.
//!
//! A dropped session is opened again when the engine asks (`Connect` for a relay it already
//! knows: RFC 8016 mobility, see the engine's network/reconnect.rs). The new session replaces
//! the dead one under the same `RelayId`; each session carries a serial so that a late callback
//! of the old one cannot remove or report on its successor.

use crate::clock::instant_from_ms;
use crate::handle::{wake, Core};
use crate::transport::{
    options_from_js, OnInput, OnState, RelayTransport, TransportOptions, TransportState,
};
use polyrtc_engine::{RelayCommand, RelayId, RelayTransportState};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsValue;

#[derive(Clone, Default)]
pub(crate) struct Relays {
    inner: Rc<RefCell<Table>>,
}

#[derive(Default)]
struct Table {
    sessions: HashMap<RelayId, Session>,
    /// Serial of the latest session opened; unique per connection.
    serial: u64,
    /// Per relay URL, from the shim (WebTransport certificate hashes).
    options: HashMap<String, TransportOptions>,
}

struct Session {
    serial: u64,
    transport: RelayTransport,
}

impl Table {
    /// Whether `serial` is the session now serving `relay` (false once it was replaced).
    fn is_current(&self, relay: RelayId, serial: u64) -> bool {
        self.sessions
            .get(&relay)
            .is_some_and(|s| s.serial == serial)
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `performance.now()` of whatever global runs us (window, worker, Node).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn now_ms() -> f64;
}

impl Relays {
    pub fn set_options(&self, url: String, options: &JsValue) -> Result<(), JsValue> {
        let options = options_from_js(options).map_err(|e| JsValue::from_str(&e.to_string()))?;
        self.inner.borrow_mut().options.insert(url, options);
        Ok(())
    }

    /// Carries out what the engine asked for until it asks for nothing more.
    pub fn pump(&self, core: &Rc<RefCell<Core>>, now_ms: f64) {
        // Bounded: a command can only cause another through a failed connect.
        for _ in 0..16 {
            let (commands, transmits) = {
                let mut c = core.borrow_mut();
                let commands: Vec<_> =
                    std::iter::from_fn(|| c.engine.poll_relay_command()).collect();
                let transmits: Vec<_> =
                    std::iter::from_fn(|| c.engine.poll_relay_transmit()).collect();
                (commands, transmits)
            };
            if commands.is_empty() && transmits.is_empty() {
                return;
            }
            let mut failed = Vec::new();
            let mut closing = Vec::new();
            for command in commands {
                match command {
                    RelayCommand::Connect { relay, url } => {
                        if self.connect(core, relay, &url).is_err() {
                            failed.push(relay);
                        }
                    }
                    RelayCommand::Close { relay } => closing.push(relay),
                }
            }
            {
                // Before the closing sessions leave the table: what the engine sent last on them
                // (close(): the SCTP ABORT, DTLS close_notify, the Refresh that deletes the
                // allocation) must go out, or the peer never hears of the close.
                let table = self.inner.borrow();
                for (relay, bytes) in transmits {
                    // A session that is gone or failed drops the datagram, as a lost UDP packet.
                    if let Some(session) = table.sessions.get(&relay) {
                        let _ = session.transport.send(bytes);
                    }
                }
            }
            let to_close: Vec<_> = {
                let mut table = self.inner.borrow_mut();
                closing
                    .iter()
                    .filter_map(|relay| table.sessions.remove(relay))
                    .collect()
            };
            for session in to_close {
                // Queued bytes (the Refresh that deletes the allocation) go out before the close.
                session.transport.flush();
                session.transport.close();
            }
            for relay in failed {
                core.borrow_mut().engine.handle_relay_state(
                    instant_from_ms(now_ms),
                    relay,
                    RelayTransportState::Closed,
                );
            }
        }
    }

    fn connect(&self, core: &Rc<RefCell<Core>>, relay: RelayId, url: &str) -> Result<(), ()> {
        let (options, serial) = {
            let mut table = self.inner.borrow_mut();
            table.serial += 1;
            let options = table.options.get(url).cloned().unwrap_or_default();
            (options, table.serial)
        };
        let weak_core = Rc::downgrade(core);
        let weak_table = Rc::downgrade(&self.inner);
        let on_input: OnInput = {
            let (weak_core, weak_table) = (weak_core.clone(), weak_table.clone());
            Rc::new(move |bytes: Vec<u8>| {
                if !current(&weak_table, relay, serial) {
                    return;
                }
                deliver(&weak_core, &weak_table, |engine, now| {
                    engine.handle_relay_input(now, relay, &bytes)
                });
            })
        };
        let on_state: OnState = Rc::new(move |state: &TransportState| {
            let state = match state {
                TransportState::Connecting => return,
                TransportState::Open => RelayTransportState::Open,
                TransportState::Closed(_) => {
                    // The session ended: forget it, unless a newer one serves the relay now
                    // (then this is old news the engine already acted on). When the table is
                    // busy, this is the session pump is closing and has removed already.
                    if let Some(table) = weak_table.upgrade() {
                        if let Ok(mut t) = table.try_borrow_mut() {
                            if !t.is_current(relay, serial) {
                                return;
                            }
                            t.sessions.remove(&relay);
                        }
                    }
                    RelayTransportState::Closed
                }
            };
            if matches!(state, RelayTransportState::Open) && !current(&weak_table, relay, serial) {
                return;
            }
            deliver(&weak_core, &weak_table, |engine, now| {
                engine.handle_relay_state(now, relay, state)
            });
        });
        let transport =
            RelayTransport::connect(url, &options, on_input, on_state).map_err(|_| ())?;
        let replaced = self
            .inner
            .borrow_mut()
            .sessions
            .insert(relay, Session { serial, transport });
        // A session the engine gave up on (closed already, or about to be): its drop closes it
        // without callbacks, outside the table's borrow.
        drop(replaced);
        Ok(())
    }
}

/// Whether session `serial` still serves `relay` (a busy table is taken as yes: only pump
/// borrows it, and pump never runs a session's input callback).
fn current(table: &Weak<RefCell<Table>>, relay: RelayId, serial: u64) -> bool {
    let Some(table) = table.upgrade() else {
        return false;
    };
    table
        .try_borrow()
        .map_or(true, |t| t.is_current(relay, serial))
}

/// Feeds one input to the engine from a transport callback, then sends what it produced and
/// wakes the shim for its events. Does nothing once the connection is gone or when the engine
/// is busy (only possible if a transport called back synchronously from inside the engine's
/// own call; then the input is dropped like a lost packet).
fn deliver(
    core: &Weak<RefCell<Core>>,
    table: &Weak<RefCell<Table>>,
    input: impl FnOnce(&mut polyrtc_engine::PeerConnection, std::time::Instant),
) {
    let (Some(core), Some(table)) = (core.upgrade(), table.upgrade()) else {
        return;
    };
    let now = now_ms();
    let before = {
        let Ok(mut c) = core.try_borrow_mut() else {
            return;
        };
        let before = c.engine.poll_timeout();
        input(&mut c.engine, instant_from_ms(now));
        before
    };
    Relays { inner: table }.pump(&core, now);
    let waker = match core.try_borrow_mut() {
        Ok(mut c) => c.after_input(before),
        Err(_) => None,
    };
    wake(waker);
}
