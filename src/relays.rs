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
//!
//! WebTransport falls back to WebSocket: when the shim gave a WebTransport relay URL the same
//! relay's WebSocket URL (`webSocketUrl` in its options) and the session cannot start (no
//! `WebTransport` in this page, a refused certificate, UDP/QUIC blocked: failed, or not open
//! within [`WEBTRANSPORT_OPEN_TIMEOUT_MS`]), a WebSocket session takes its place under the same
//! `RelayId` and serial scheme. The engine only sees a session that took a little longer to
//! open. Once per URL: later sessions to that relay (reconnects) go to the WebSocket at once, and
//! a WebSocket session has no fallback, so nothing loops. A WebTransport session that fails
//! after it opened is a session loss like any other (reconnect, engine network/reconnect.rs).

use crate::clock::instant_from_ms;
use crate::handle::{wake, Core};
use crate::transport::{
    js, options_from_js, CloseKind, OnInput, OnState, RelayTransport, TransportOptions,
    TransportState,
};
use polyrtc_engine::{RelayCommand, RelayId, RelayTransportState};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};
use wasm_bindgen::JsValue;

/// How long a WebTransport session that has a WebSocket fallback may take to open. QUIC to a
/// blocked UDP port is dropped silently and Chromium's own handshake timeout is far longer than
/// gathering should wait; on loopback a session opens in well under a second (BENCHMARKS.md).
const WEBTRANSPORT_OPEN_TIMEOUT_MS: f64 = 3000.0;

#[derive(Clone, Default)]
pub(crate) struct Relays {
    inner: Rc<RefCell<Table>>,
}

#[derive(Default)]
struct Table {
    sessions: HashMap<RelayId, Session>,
    /// Serial of the latest session opened; unique per connection.
    serial: u64,
    /// Per relay URL, from the shim (WebTransport certificate hashes, WebSocket fallback).
    options: HashMap<String, TransportOptions>,
    /// WebTransport relay URLs that fell back to WebSocket: their later sessions skip the try.
    fell_back: HashSet<String>,
    /// URLs whose options the shim is still resolving (it fetches WebTransport certificate
    /// hashes), and the relays waiting for them to open their session: a session started
    /// without the hashes would fail on the certificate.
    pending: HashSet<String>,
    waiting: HashMap<String, Vec<RelayId>>,
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
    /// Options for relay `url` from the shim. `pending: true` in them: more are coming (the
    /// hashes are being fetched); sessions to `url` wait for them, at most
    /// [`WEBTRANSPORT_OPEN_TIMEOUT_MS`]. The final options open the waiting sessions.
    pub fn set_options(
        &self,
        core: &Rc<RefCell<Core>>,
        url: String,
        options: &JsValue,
        now_ms: f64,
    ) -> Result<(), JsValue> {
        let pending = js_sys::Reflect::get(options, &"pending".into())
            .map(|p| p.is_truthy())
            .unwrap_or(false);
        let options = options_from_js(options).map_err(|e| JsValue::from_str(&e.to_string()))?;
        let waiting = {
            let mut table = self.inner.borrow_mut();
            table.options.insert(url.clone(), options);
            if pending {
                table.pending.insert(url);
                return Ok(());
            }
            table.pending.remove(&url);
            table.waiting.remove(&url).unwrap_or_default()
        };
        self.open_waiting(core, &url, waiting, now_ms);
        Ok(())
    }

    /// Opens the sessions of `relays`, which waited for `url`'s options.
    fn open_waiting(&self, core: &Rc<RefCell<Core>>, url: &str, relays: Vec<RelayId>, now_ms: f64) {
        if relays.is_empty() {
            return;
        }
        let before = core.borrow().engine.poll_timeout();
        for relay in relays {
            if self.connect_now(core, relay, url).is_err() {
                core.borrow_mut().engine.handle_relay_state(
                    instant_from_ms(now_ms),
                    relay,
                    RelayTransportState::Closed,
                );
            }
        }
        self.pump(core, now_ms);
        // A session that could not even start is reported by the engine's next events.
        let waker = core
            .try_borrow_mut()
            .ok()
            .and_then(|mut c| c.after_input(before));
        wake(waker);
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
                for relays in table.waiting.values_mut() {
                    relays.retain(|r| !closing.contains(r));
                }
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

    /// Opens a session for `relay` to `url`, or waits for `url`'s options if the shim is still
    /// resolving them (no longer than [`WEBTRANSPORT_OPEN_TIMEOUT_MS`]; then it goes ahead with
    /// what it has, and the fallback applies).
    fn connect(&self, core: &Rc<RefCell<Core>>, relay: RelayId, url: &str) -> Result<(), ()> {
        {
            let mut table = self.inner.borrow_mut();
            if !table.pending.contains(url) {
                drop(table);
                return self.connect_now(core, relay, url);
            }
            table
                .waiting
                .entry(url.to_string())
                .or_default()
                .push(relay);
        }
        let (weak_core, weak_table) = (Rc::downgrade(core), Rc::downgrade(&self.inner));
        let url = url.to_string();
        let task = wasm_bindgen::closure::Closure::once_into_js(move || {
            let (Some(core), Some(table)) = (weak_core.upgrade(), weak_table.upgrade()) else {
                return;
            };
            let waited = {
                let Ok(mut t) = table.try_borrow_mut() else {
                    return;
                };
                let Some(relays) = t.waiting.get_mut(&url) else {
                    return;
                };
                let was = relays.len();
                relays.retain(|r| *r != relay);
                was != relays.len()
            };
            if waited {
                Relays { inner: table }.open_waiting(&core, &url, vec![relay], now_ms());
            }
        });
        // Without setTimeout (no browser lacks it) the session waits for the options.
        let _ = js::set_timeout(&task, WEBTRANSPORT_OPEN_TIMEOUT_MS);
        Ok(())
    }

    /// Opens a session for `relay` to `url`, or straight to its WebSocket fallback when an
    /// earlier WebTransport session to `url` needed it.
    fn connect_now(&self, core: &Rc<RefCell<Core>>, relay: RelayId, url: &str) -> Result<(), ()> {
        let (options, fell_back) = {
            let table = self.inner.borrow();
            let options = table.options.get(url).cloned().unwrap_or_default();
            (options, table.fell_back.contains(url))
        };
        let fallback = options
            .websocket_fallback
            .clone()
            .filter(|_| is_webtransport(url))
            .map(|ws| Fallback {
                from: url.to_string(),
                to: ws,
            });
        match fallback {
            Some(fallback) if fell_back => self.open(core, relay, &fallback.to, &options, None),
            Some(fallback) => {
                let opened = self.open(core, relay, url, &options, Some(fallback.clone()));
                // No WebTransport in this page (the constructor threw): WebSocket at once.
                opened.or_else(|()| self.fall_back(core, relay, &fallback, &options))
            }
            None => self.open(core, relay, url, &options, None),
        }
    }

    /// Replaces `relay`'s session by one to the fallback WebSocket URL.
    fn fall_back(
        &self,
        core: &Rc<RefCell<Core>>,
        relay: RelayId,
        fallback: &Fallback,
        options: &TransportOptions,
    ) -> Result<(), ()> {
        self.inner
            .borrow_mut()
            .fell_back
            .insert(fallback.from.clone());
        self.open(core, relay, &fallback.to, options, None)
    }

    /// Opens one session to `url`; with `fallback`, one that WebSocket replaces if it fails or
    /// times out before it opens.
    fn open(
        &self,
        core: &Rc<RefCell<Core>>,
        relay: RelayId,
        url: &str,
        options: &TransportOptions,
        fallback: Option<Fallback>,
    ) -> Result<(), ()> {
        let serial = {
            let mut table = self.inner.borrow_mut();
            table.serial += 1;
            table.serial
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
        let opened = Rc::new(Cell::new(false));
        let on_state: OnState = {
            let (weak_core, weak_table) = (weak_core.clone(), weak_table.clone());
            let (fallback, opened) = (fallback.clone(), opened.clone());
            let options = options.clone();
            Rc::new(move |state: &TransportState| {
                let state = match state {
                    TransportState::Connecting => return,
                    TransportState::Open => {
                        opened.set(true);
                        RelayTransportState::Open
                    }
                    TransportState::Closed(reason) => {
                        if let Some(fallback) = fallback
                            .as_ref()
                            .filter(|_| !opened.get() && reason.kind == CloseKind::Failed)
                        {
                            // Not from here: this runs inside the failing transport's callback.
                            spawn_fallback(
                                &weak_core,
                                &weak_table,
                                relay,
                                serial,
                                fallback,
                                &options,
                            );
                            return;
                        }
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
                if matches!(state, RelayTransportState::Open)
                    && !current(&weak_table, relay, serial)
                {
                    return;
                }
                deliver(&weak_core, &weak_table, |engine, now| {
                    engine.handle_relay_state(now, relay, state)
                });
            })
        };
        let transport =
            RelayTransport::connect(url, options, on_input, on_state).map_err(|_| ())?;
        let replaced = self
            .inner
            .borrow_mut()
            .sessions
            .insert(relay, Session { serial, transport });
        // A session the engine gave up on (closed already, or about to be), or the WebTransport
        // session this one replaces: its drop closes it without callbacks, outside the borrow.
        drop(replaced);
        if let Some(fallback) = fallback {
            let options = options.clone();
            let task = wasm_bindgen::closure::Closure::once_into_js(move || {
                if !opened.get() {
                    spawn_fallback(&weak_core, &weak_table, relay, serial, &fallback, &options);
                }
            });
            // Without setTimeout (no browser lacks it) the session just waits for its own end.
            let _ = js::set_timeout(&task, WEBTRANSPORT_OPEN_TIMEOUT_MS);
        }
        Ok(())
    }
}

/// A WebTransport relay URL and the same relay's WebSocket URL.
#[derive(Clone)]
struct Fallback {
    from: String,
    to: String,
}

fn is_webtransport(url: &str) -> bool {
    url.get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https:"))
}

/// Falls back to WebSocket from a fresh task (nothing borrowed), if session `serial` still
/// serves `relay`; reports the session closed to the engine if the WebSocket cannot even start.
fn spawn_fallback(
    core: &Weak<RefCell<Core>>,
    table: &Weak<RefCell<Table>>,
    relay: RelayId,
    serial: u64,
    fallback: &Fallback,
    options: &TransportOptions,
) {
    let (core, table) = (core.clone(), table.clone());
    let (fallback, options) = (fallback.clone(), options.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let (Some(strong_core), Some(strong_table)) = (core.upgrade(), table.upgrade()) else {
            return;
        };
        if !strong_table.borrow().is_current(relay, serial) {
            return;
        }
        let relays = Relays {
            inner: strong_table,
        };
        if relays
            .fall_back(&strong_core, relay, &fallback, &options)
            .is_err()
        {
            let gone = relays.inner.borrow_mut().sessions.remove(&relay);
            drop(gone);
            deliver(&core, &table, |engine, now| {
                engine.handle_relay_state(now, relay, RelayTransportState::Closed)
            });
        }
    });
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
