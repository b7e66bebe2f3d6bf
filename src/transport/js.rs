//! The few browser APIs the transports and the timer need that are not bound by web-sys, or only
//! behind `web_sys_unstable_apis` (WebTransport): bound here by hand, with `catch` on everything
//! that can throw. Global functions are looked up on the global object, so workers work too.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// HTML `queueMicrotask`: runs at the end of the current task (this turn of the event loop).
    #[wasm_bindgen(js_name = queueMicrotask, catch)]
    pub fn queue_microtask(callback: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(js_name = setTimeout, catch)]
    pub fn set_timeout(callback: &JsValue, ms: f64) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(id: &JsValue);

    /// A promise seen through `catch` with a plain function (js-sys only takes a `Closure`).
    type CatchablePromise;
    #[wasm_bindgen(method, js_name = catch)]
    fn catch_with(this: &CatchablePromise, on_rejected: &JsValue) -> JsValue;

    /// W3C WebTransport §4.
    #[wasm_bindgen(js_name = WebTransport)]
    #[derive(Clone)]
    pub type WebTransport;
    #[wasm_bindgen(constructor, js_class = "WebTransport", catch)]
    pub fn new(url: &str, options: &JsValue) -> Result<WebTransport, JsValue>;
    #[wasm_bindgen(method, getter)]
    pub fn ready(this: &WebTransport) -> Promise;
    #[wasm_bindgen(method, getter)]
    pub fn closed(this: &WebTransport) -> Promise;
    #[wasm_bindgen(method, getter)]
    pub fn datagrams(this: &WebTransport) -> DatagramDuplexStream;
    /// Streams the server opened (a ReadableStream of BidirectionalStreams).
    #[wasm_bindgen(method, getter, js_name = incomingBidirectionalStreams)]
    pub fn incoming_bidirectional_streams(this: &WebTransport) -> ReadableStream;
    #[wasm_bindgen(method, catch, js_name = createBidirectionalStream)]
    pub fn create_bidirectional_stream(this: &WebTransport) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    pub fn close(this: &WebTransport, info: &JsValue) -> Result<(), JsValue>;

    #[derive(Clone)]
    pub type DatagramDuplexStream;
    #[wasm_bindgen(method, getter)]
    pub fn readable(this: &DatagramDuplexStream) -> ReadableStream;
    #[wasm_bindgen(method, getter)]
    pub fn writable(this: &DatagramDuplexStream) -> WritableStream;
    #[wasm_bindgen(method, getter, js_name = maxDatagramSize)]
    pub fn max_datagram_size(this: &DatagramDuplexStream) -> JsValue;

    #[derive(Clone)]
    pub type BidirectionalStream;
    #[wasm_bindgen(method, getter)]
    pub fn readable(this: &BidirectionalStream) -> ReadableStream;
    #[wasm_bindgen(method, getter)]
    pub fn writable(this: &BidirectionalStream) -> WritableStream;

    #[derive(Clone)]
    pub type ReadableStream;
    #[wasm_bindgen(method, catch, js_name = getReader)]
    pub fn get_reader(this: &ReadableStream) -> Result<Reader, JsValue>;

    #[derive(Clone)]
    pub type Reader;
    #[wasm_bindgen(method)]
    pub fn read(this: &Reader) -> Promise;

    #[derive(Clone)]
    pub type WritableStream;
    #[wasm_bindgen(method, catch, js_name = getWriter)]
    pub fn get_writer(this: &WritableStream) -> Result<Writer, JsValue>;

    #[derive(Clone)]
    pub type Writer;
    #[wasm_bindgen(method, catch)]
    pub fn write(this: &Writer, chunk: &Uint8Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, getter, js_name = desiredSize)]
    pub fn desired_size(this: &Writer) -> JsValue;
    /// Settles when the stream is closed or errored (a reset, STOP_SENDING, the session gone).
    #[wasm_bindgen(method, getter)]
    pub fn closed(this: &Writer) -> Promise;
}

thread_local! {
    /// One handler for every write promise, never freed: a promise may reject after the transport
    /// that wrote it is gone, and must then still find a live function.
    static IGNORE: JsValue = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {}).into_js_value();
}

/// Marks a rejection as handled: a failed write shows up as the session closing (`closed`).
pub fn ignore_rejection(promise: &Promise) {
    IGNORE.with(|ignore| {
        promise
            .unchecked_ref::<CatchablePromise>()
            .catch_with(ignore);
    });
}

/// Reads one chunk: `Ok(Some(bytes))`, `Ok(None)` at the end of the stream, `Err` when the
/// stream errored (the session closed or failed).
pub async fn read_chunk(reader: &Reader) -> Result<Option<Vec<u8>>, JsValue> {
    Ok(read_value(reader)
        .await?
        .map(|value| Uint8Array::new(&value).to_vec()))
}

/// Reads one value of any kind (`Ok(None)` at the end of the stream).
pub async fn read_value(reader: &Reader) -> Result<Option<JsValue>, JsValue> {
    let result = wasm_bindgen_futures::JsFuture::from(reader.read()).await?;
    if js_sys::Reflect::get(&result, &"done".into())?.is_truthy() {
        return Ok(None);
    }
    js_sys::Reflect::get(&result, &"value".into()).map(Some)
}
