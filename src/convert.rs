//! Conversion at the JS edge: engine values to and from JS through serde-wasm-bindgen, engine
//! errors to plain `{name, message}` objects that the JS shim turns into DOMExceptions.

use polyrtc_engine::{ApiError, ErrorName};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::JsValue;

/// `null` for `None`, plain objects for maps: what the JS shim and `JSON.stringify` expect.
/// Bytes (data-channel messages) become one `Uint8Array`, not `json_compatible`'s default of a
/// plain array with one JS number per byte: that conversion made every received 64 KiB message
/// cost 64 Ki JS values and was the largest single cost of receiving (BENCHMARKS.md).
fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false)
}

pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serializer())
        .map_err(|e| error_to_js(&ApiError::new(ErrorName::OperationError, e.to_string())))
}

/// Input that does not have the engine's shape is the caller's type error (the JS shim's WebIDL
/// conversion should already have caught it).
pub fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| error_to_js(&ApiError::type_error(format!("invalid {what}: {e}"))))
}

pub fn error_to_js(error: &ApiError) -> JsValue {
    // An ApiError always serializes; if it somehow did not, a string still carries the message.
    error
        .serialize(&serializer())
        .unwrap_or_else(|_| JsValue::from_str(&error.message))
}
