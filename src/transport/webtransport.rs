//! TURN over WebTransport (W3C WebTransport over HTTP/3): `https://host:port/turn`, with
//! `serverCertificateHashes` for a relay with a self-signed certificate. A message that fits
//! `datagrams.maxDatagramSize` (1211 bytes in headless Chromium, DESIGN.md) goes as one datagram;
//! a larger one goes on a bidirectional stream, opened on first need and framed as on TCP (RFC
//! 8656 §12.5). Incoming datagrams are one message each; stream bytes go through a reassembler.

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
    /// Datagrams queued this turn.
    datagrams: Vec<Vec<u8>>,
    /// Oversize messages queued this turn, back to back: the next stream write.
    stream_queue: Vec<u8>,
    stream: StreamSlot,
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
                inner.stream_queue.extend_from_slice(&message);
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
    if let Some(writer) = writer {
        for datagram in &datagrams {
            if !write(inner, &writer, datagram) {
                return;
            }
        }
    }
    flush_stream(inner);
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
            guard.stream_queue.extend_from_slice(&message);
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
            inner.borrow_mut().stream = StreamSlot::Open(writer);
            spawn_local(read_stream(weak, reader, true));
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
            spawn_local(read_stream(weak.clone(), reader, false));
        }
    }
}

/// Reads one stream through a reassembler; `own`: the stream this client opened for its
/// oversize messages, which a new one replaces once the relay ends it.
async fn read_stream(weak: Weak<RefCell<Inner>>, reader: Reader, own: bool) {
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
    // The relay ended the stream: the next oversize message opens a new one.
    if let Some(inner) = weak.upgrade().filter(|_| own) {
        inner.borrow_mut().stream = StreamSlot::None;
    }
}
