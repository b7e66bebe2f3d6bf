//! TURN over WebTransport (W3C WebTransport over HTTP/3): `https://host:port/turn`, with
//! `serverCertificateHashes` for a relay with a self-signed certificate. A message that fits
//! `datagrams.maxDatagramSize` (1211 bytes in headless Chromium, DESIGN.md) goes as one datagram
//! while the datagram writer's queue is short; a larger one, or one sent while the queue is long,
//! goes on a bidirectional stream, opened on first need and framed as on TCP (RFC 8656 §12.5).
//! The engine's ChannelData for WebTransport is unpadded, datagram-style, so it is padded here
//! before it goes on the stream: the relay ends the whole session on a stream it cannot delimit
//! (that was the bulk-transfer stall, BENCHMARKS.md "Relay transport"). Incoming datagrams are
//! one message each; stream bytes go through a reassembler.

use super::js::{
    ignore_rejection, read_chunk, read_value, BidirectionalStream, Reader, WebTransport, Writer,
};
use super::{
    datagram_to_stream, deliver, js_error_text, schedule_flush, set_state, CloseKind, CloseReason,
    Common, HasCommon, OnInput, OnState, Reassembler, TransportError, TransportOptions,
    TransportState,
};
use js_sys::{Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

/// Used until the session reports its own limit (what headless Chromium reported, DESIGN.md).
const DEFAULT_MAX_DATAGRAM: usize = 1211;
/// Datagrams that may wait in the writer's queue beyond its high-water mark (1 in Chromium, not
/// settable through `outgoingHighWaterMark`) before messages take the stream instead: a burst
/// of small messages still leaves as datagrams, a sustained excess does not pile up.
const DATAGRAM_BACKLOG: f64 = 32.0;

pub struct WebTransportTransport {
    inner: Rc<RefCell<Inner>>,
}

enum StreamSlot {
    None,
    Opening,
    Open(Writer),
}

struct Inner {
    common: Common,
    session: WebTransport,
    datagram_writer: Option<Writer>,
    max_datagram: usize,
    /// Messages queued this turn that fit a datagram: datagrams if the writer has room then.
    datagrams: Vec<Vec<u8>>,
    /// Oversize messages queued this turn, back to back: the next stream write.
    stream_queue: Vec<u8>,
    stream: StreamSlot,
}

impl Inner {
    /// Appends `message` to the next stream write, stream-framed (ChannelData padded to four
    /// bytes). A message that is not one whole TURN message is dropped: on the stream it would
    /// make everything after it unreadable.
    fn queue_on_stream(&mut self, message: Vec<u8>) {
        if let Ok(framed) = datagram_to_stream(message) {
            self.stream_queue.extend_from_slice(&framed);
        }
    }
}

impl HasCommon for Inner {
    fn common(&mut self) -> &mut Common {
        &mut self.common
    }
}

impl WebTransportTransport {
    pub fn connect(
        url: &str,
        options: &TransportOptions,
        on_input: OnInput,
        on_state: OnState,
    ) -> Result<Self, TransportError> {
        let session = WebTransport::new(url, &options_to_js(options))
            .map_err(|e| TransportError::Connect(js_error_text(&e)))?;
        let inner = Rc::new(RefCell::new(Inner {
            common: Common::new(on_input, on_state),
            session: session.clone(),
            datagram_writer: None,
            max_datagram: DEFAULT_MAX_DATAGRAM,
            datagrams: Vec::new(),
            stream_queue: Vec::new(),
            stream: StreamSlot::None,
        }));
        spawn_local(wait_ready(Rc::downgrade(&inner), session.ready()));
        spawn_local(wait_closed(Rc::downgrade(&inner), session.closed()));
        Ok(WebTransportTransport { inner })
    }

    pub fn send(&self, message: Vec<u8>) -> Result<(), TransportError> {
        {
            let mut inner = self.inner.borrow_mut();
            if let TransportState::Closed(_) = inner.common.state {
                return Err(TransportError::NotOpen(inner.common.state.name()));
            }
            if message.len() <= inner.max_datagram {
                inner.datagrams.push(message);
            } else {
                inner.queue_on_stream(message);
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
        let session = self.inner.borrow().session.clone();
        let reason = CloseReason::new(CloseKind::Local, "closed by polyrtc");
        if set_state(&self.inner, TransportState::Closed(reason)) {
            let _ = session.close(&JsValue::UNDEFINED);
        }
    }

    pub fn state(&self) -> TransportState {
        self.inner.borrow().common.state.clone()
    }

    pub fn buffered_amount(&self) -> usize {
        let inner = self.inner.borrow();
        let queued: usize = inner.datagrams.iter().map(Vec::len).sum();
        // A negative desiredSize is how far the stream's queue is above its high-water mark.
        let stream_backlog = match &inner.stream {
            StreamSlot::Open(w) => w.desired_size().as_f64().map_or(0.0, |d| (-d).max(0.0)),
            _ => 0.0,
        };
        queued + inner.stream_queue.len() + stream_backlog as usize
    }

    pub fn writes(&self) -> u64 {
        self.inner.borrow().common.writes
    }
}

impl Drop for WebTransportTransport {
    /// Closes without calling `on_state`: the owner is going away (and may be borrowed).
    fn drop(&mut self) {
        flush(&self.inner);
        let mut inner = self.inner.borrow_mut();
        if !matches!(inner.common.state, TransportState::Closed(_)) {
            inner.common.state =
                TransportState::Closed(CloseReason::new(CloseKind::Local, "dropped"));
            let _ = inner.session.close(&JsValue::UNDEFINED);
        }
    }
}

/// `{serverCertificateHashes: [{algorithm: "sha-256", value}]}` (WebTransport §6.2), or `{}`.
fn options_to_js(options: &TransportOptions) -> JsValue {
    let object = Object::new();
    if !options.certificate_hashes.is_empty() {
        let hashes: Array = options
            .certificate_hashes
            .iter()
            .map(|hash| {
                let entry = Object::new();
                // Setting a property of a fresh plain object cannot fail.
                let _ = Reflect::set(&entry, &"algorithm".into(), &"sha-256".into());
                let _ = Reflect::set(&entry, &"value".into(), &Uint8Array::from(&hash[..]));
                JsValue::from(entry)
            })
            .collect();
        let _ = Reflect::set(&object, &"serverCertificateHashes".into(), &hashes);
    }
    object.into()
}

fn fail(inner: &Rc<RefCell<Inner>>, detail: String) {
    set_state(
        inner,
        TransportState::Closed(CloseReason::new(CloseKind::Failed, detail)),
    );
}

/// Writes `bytes`; a synchronous exception fails the transport, a rejection is left to `closed`.
fn write(inner: &Rc<RefCell<Inner>>, writer: &Writer, bytes: &[u8]) -> bool {
    match writer.write(&Uint8Array::from(bytes)) {
        Ok(promise) => {
            ignore_rejection(&promise);
            inner.borrow_mut().common.writes += 1;
            true
        }
        Err(e) => {
            fail(inner, format!("write failed: {}", js_error_text(&e)));
            false
        }
    }
}

fn flush(inner: &Rc<RefCell<Inner>>) {
    let (datagrams, writer) = {
        let mut guard = inner.borrow_mut();
        if guard.common.state != TransportState::Open {
            return;
        }
        (
            std::mem::take(&mut guard.datagrams),
            guard.datagram_writer.clone(),
        )
    };
    let Some(writer) = writer else { return };
    let mut datagrams = datagrams.into_iter();
    // Datagrams while the writer's queue has room; the rest of this turn's messages, in order, on
    // the stream (rather than an ever longer queue, which Chromium drops from).
    while has_room(&writer) {
        let Some(datagram) = datagrams.next() else {
            break;
        };
        if !write(inner, &writer, &datagram) {
            return;
        }
    }
    {
        let mut guard = inner.borrow_mut();
        for message in datagrams {
            guard.queue_on_stream(message);
        }
    }
    flush_stream(inner);
}

/// Whether the datagram writer's queue has room for another datagram (`desiredSize` is the
/// high-water mark minus the datagrams queued; `null` once the writer errored).
fn has_room(writer: &Writer) -> bool {
    writer
        .desired_size()
        .as_f64()
        .is_some_and(|d| d > -DATAGRAM_BACKLOG)
}

fn flush_stream(inner: &Rc<RefCell<Inner>>) {
    let mut guard = inner.borrow_mut();
    if guard.stream_queue.is_empty() || guard.common.state != TransportState::Open {
        return;
    }
    let open_writer = match &guard.stream {
        StreamSlot::Open(writer) => Some(writer.clone()),
        _ => None,
    };
    match (open_writer, &guard.stream) {
        (Some(writer), _) => {
            let bytes = std::mem::take(&mut guard.stream_queue);
            drop(guard);
            write(inner, &writer, &bytes);
        }
        (None, StreamSlot::Opening | StreamSlot::Open(_)) => {}
        (None, StreamSlot::None) => {
            guard.stream = StreamSlot::Opening;
            let opened = guard.session.create_bidirectional_stream();
            drop(guard);
            match opened {
                Ok(promise) => spawn_local(open_stream(Rc::downgrade(inner), promise)),
                Err(e) => fail(
                    inner,
                    format!("cannot open a stream: {}", js_error_text(&e)),
                ),
            }
        }
    }
}

async fn wait_ready(weak: Weak<RefCell<Inner>>, ready: js_sys::Promise) {
    let result = JsFuture::from(ready).await;
    let Some(inner) = weak.upgrade() else { return };
    if let Err(e) = result {
        return fail(
            &inner,
            format!("WebTransport session failed: {}", js_error_text(&e)),
        );
    }
    let datagrams = inner.borrow().session.datagrams();
    let (writer, reader) = match (
        datagrams.writable().get_writer(),
        datagrams.readable().get_reader(),
    ) {
        (Ok(w), Ok(r)) => (w, r),
        (Err(e), _) | (_, Err(e)) => return fail(&inner, js_error_text(&e)),
    };
    {
        let mut guard = inner.borrow_mut();
        guard.datagram_writer = Some(writer);
        if let Some(max) = datagrams.max_datagram_size().as_f64().filter(|m| *m >= 1.0) {
            guard.max_datagram = max as usize;
        }
        // Messages queued while connecting were sorted by the default limit: re-sort them.
        let max = guard.max_datagram;
        let (fit, oversize): (Vec<_>, Vec<_>) = std::mem::take(&mut guard.datagrams)
            .into_iter()
            .partition(|d| d.len() <= max);
        guard.datagrams = fit;
        for message in oversize {
            guard.queue_on_stream(message);
        }
    }
    let incoming = inner
        .borrow()
        .session
        .incoming_bidirectional_streams()
        .get_reader();
    drop(inner);
    spawn_local(read_datagrams(weak.clone(), reader));
    if let Ok(incoming) = incoming {
        spawn_local(accept_streams(weak.clone(), incoming));
    }
    if let Some(inner) = weak.upgrade() {
        if set_state(&inner, TransportState::Open) {
            flush(&inner);
        }
    }
}

async fn wait_closed(weak: Weak<RefCell<Inner>>, closed: js_sys::Promise) {
    let result = JsFuture::from(closed).await;
    let Some(inner) = weak.upgrade() else { return };
    let reason = match result {
        Ok(info) => {
            let code = Reflect::get(&info, &"closeCode".into())
                .ok()
                .and_then(|c| c.as_f64());
            let text = Reflect::get(&info, &"reason".into())
                .ok()
                .and_then(|r| r.as_string());
            let detail = format!(
                "the relay closed the WebTransport session (code {}{})",
                code.unwrap_or(0.0),
                text.filter(|t| !t.is_empty())
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default()
            );
            CloseReason::new(CloseKind::Remote, detail)
        }
        Err(e) => CloseReason::new(
            CloseKind::Failed,
            format!("WebTransport session failed: {}", js_error_text(&e)),
        ),
    };
    set_state(&inner, TransportState::Closed(reason));
}

async fn read_datagrams(weak: Weak<RefCell<Inner>>, reader: Reader) {
    while let Ok(Some(datagram)) = read_chunk(&reader).await {
        let Some(inner) = weak.upgrade() else { return };
        if matches!(inner.borrow().common.state, TransportState::Closed(_)) {
            return;
        }
        // A datagram that is not one whole TURN message is dropped, as UDP would (RFC 8656 §12.4).
        if let Ok(bytes) = datagram_to_stream(datagram) {
            deliver(&inner, bytes);
        }
    }
}

async fn open_stream(weak: Weak<RefCell<Inner>>, opened: js_sys::Promise) {
    let result = JsFuture::from(opened).await;
    let Some(inner) = weak.upgrade() else { return };
    let stream: BidirectionalStream = match result {
        Ok(s) => s.unchecked_into(),
        Err(e) => {
            return fail(
                &inner,
                format!("cannot open a stream: {}", js_error_text(&e)),
            )
        }
    };
    match (
        stream.writable().get_writer(),
        stream.readable().get_reader(),
    ) {
        (Ok(writer), Ok(reader)) => {
            inner.borrow_mut().stream = StreamSlot::Open(writer.clone());
            spawn_local(watch_stream(weak.clone(), writer));
            spawn_local(read_stream(weak, reader));
            flush_stream(&inner);
        }
        (Err(e), _) | (_, Err(e)) => fail(&inner, js_error_text(&e)),
    }
}

/// The relay opens a stream itself when it has an oversize message before the client opened one
/// (relay/README.md); the client only reads such streams.
async fn accept_streams(weak: Weak<RefCell<Inner>>, incoming: Reader) {
    while let Ok(Some(stream)) = read_value(&incoming).await {
        if weak.upgrade().is_none() {
            return;
        }
        let stream: BidirectionalStream = stream.unchecked_into();
        if let Ok(reader) = stream.readable().get_reader() {
            spawn_local(read_stream(weak.clone(), reader));
        }
    }
}

/// Forgets this client's stream once its writing side is closed or errored (the relay stopped
/// reading it, or reset it): the next oversize message opens a new one. The relay ending its own
/// direction of the stream does not matter: it may send on a stream it opened instead
/// (relay/README.md), and this one stays writable.
async fn watch_stream(weak: Weak<RefCell<Inner>>, writer: Writer) {
    let _ = JsFuture::from(writer.closed()).await;
    let Some(inner) = weak.upgrade() else { return };
    let mut guard = inner.borrow_mut();
    if matches!(&guard.stream, StreamSlot::Open(w) if JsValue::from(w.clone()) == JsValue::from(writer))
    {
        guard.stream = StreamSlot::None;
    }
}

/// Reads one stream through a reassembler.
async fn read_stream(weak: Weak<RefCell<Inner>>, reader: Reader) {
    let mut reassembler = Reassembler::default();
    while let Ok(Some(bytes)) = read_chunk(&reader).await {
        let Some(inner) = weak.upgrade() else { return };
        if matches!(inner.borrow().common.state, TransportState::Closed(_)) {
            return;
        }
        match reassembler.push(&bytes) {
            Ok(Some(messages)) => deliver(&inner, messages),
            Ok(None) => {}
            Err(e) => return fail(&inner, format!("bad TURN framing on the stream: {e}")),
        }
    }
}
