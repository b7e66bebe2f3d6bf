//! `serverCertificateHashes` for WebTransport (W3C WebTransport §6.2: SHA-256 of the DER
//! certificate). The relay publishes them base64 (`GET /webtransport`); operators paste them hex
//! (`openssl x509 -fingerprint -sha256` prints colon-separated hex). Both are accepted.

use super::{TransportError, TransportOptions};
use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

pub type CertificateHash = [u8; 32];

/// A SHA-256 certificate hash from 64 hex digits (colons and spaces allowed between bytes) or
/// from base64 (standard or URL-safe alphabet, padding optional).
pub fn parse_certificate_hash(text: &str) -> Result<CertificateHash, TransportError> {
    let text = text.trim();
    let bad = || TransportError::BadCertificateHash(text.to_string());
    let hex: String = text.chars().filter(|c| *c != ':' && *c != ' ').collect();
    let bytes = if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        decode_hex(&hex)
    } else {
        decode_base64(text)
    };
    bytes.and_then(|b| b.try_into().ok()).ok_or_else(bad)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hex
        .chars()
        .map(|c| c.to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    Some(
        digits
            .chunks(2)
            .map(|p| p.iter().fold(0, |acc, d| acc << 4 | d))
            .collect(),
    )
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let sextets: Vec<u32> = text
        .trim_end_matches('=')
        .bytes()
        .map(|c| match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for group in sextets.chunks(4) {
        if group.len() == 1 {
            return None;
        }
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, s)| n | s << (18 - 6 * i));
        let bytes = n.to_be_bytes();
        out.extend(bytes.get(1..group.len()).unwrap_or_default());
    }
    Some(out)
}

/// [`TransportOptions`] from JS: `{serverCertificateHashes: [h, ...], webSocketUrl}` where each
/// `h` is a hash string or `{algorithm: "sha-256", value}` with `value` a string, an ArrayBuffer
/// or a typed array (the WebTransport dictionary itself), and `webSocketUrl` the same relay's
/// `ws:`/`wss:` URL to fall back to. `undefined`/`null` give the defaults.
pub fn options_from_js(value: &JsValue) -> Result<TransportOptions, TransportError> {
    if value.is_undefined() || value.is_null() {
        return Ok(TransportOptions::default());
    }
    let websocket_fallback = Reflect::get(value, &"webSocketUrl".into())
        .ok()
        .and_then(|u| u.as_string())
        .map(|url| {
            let scheme = url
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if scheme == "ws" || scheme == "wss" {
                Ok(url)
            } else {
                Err(TransportError::UnsupportedScheme(url))
            }
        })
        .transpose()?;
    let list = Reflect::get(value, &"serverCertificateHashes".into()).unwrap_or(JsValue::UNDEFINED);
    let certificate_hashes = if list.is_undefined() || list.is_null() {
        Vec::new()
    } else {
        Array::from(&list)
            .iter()
            .map(|entry| hash_from_js(&entry))
            .collect::<Result<_, _>>()?
    };
    Ok(TransportOptions {
        certificate_hashes,
        websocket_fallback,
    })
}

fn hash_from_js(entry: &JsValue) -> Result<CertificateHash, TransportError> {
    if let Some(text) = entry.as_string() {
        return parse_certificate_hash(&text);
    }
    let bad = || TransportError::BadCertificateHash(format!("{entry:?}"));
    let algorithm = Reflect::get(entry, &"algorithm".into()).map_err(|_| bad())?;
    if algorithm
        .as_string()
        .map(|a| a.to_ascii_lowercase())
        .as_deref()
        != Some("sha-256")
    {
        // WebTransport §6.2: only SHA-256 is defined.
        return Err(bad());
    }
    let value = Reflect::get(entry, &"value".into()).map_err(|_| bad())?;
    if let Some(text) = value.as_string() {
        return parse_certificate_hash(&text);
    }
    let bytes = if let Some(view) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        Uint8Array::new(view).to_vec()
    } else if js_sys::ArrayBuffer::is_view(&value) {
        let view: &js_sys::Object = value.unchecked_ref();
        let buffer = Reflect::get(view, &"buffer".into()).map_err(|_| bad())?;
        let offset = Reflect::get(view, &"byteOffset".into())
            .ok()
            .and_then(|v| v.as_f64());
        let length = Reflect::get(view, &"byteLength".into())
            .ok()
            .and_then(|v| v.as_f64());
        let (Some(offset), Some(length)) = (offset, length) else {
            return Err(bad());
        };
        Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, length as u32).to_vec()
    } else {
        return Err(bad());
    };
    bytes.try_into().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: [u8; 32] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
        0x32, 0x10,
    ];

    #[test]
    fn accepts_hex_with_and_without_colons() {
        let plain = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
        assert_eq!(parse_certificate_hash(plain).unwrap(), HASH);
        let colons = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10";
        assert_eq!(parse_certificate_hash(colons).unwrap(), HASH);
    }

    #[test]
    fn accepts_base64_both_alphabets() {
        // base64 of HASH (checked with `xxd -r -p | base64`).
        let std = "ABEiM0RVZneImaq7zN3u/wEjRWeJq83v/ty6mHZUMhA=";
        assert_eq!(parse_certificate_hash(std).unwrap(), HASH);
        let url = "ABEiM0RVZneImaq7zN3u_wEjRWeJq83v_ty6mHZUMhA";
        assert_eq!(parse_certificate_hash(url).unwrap(), HASH);
    }

    #[test]
    fn rejects_wrong_lengths_and_characters() {
        for bad in [
            "",
            "abcd",
            "ABEiM0RVZneImaq7zN3u/wEjRWeJq83v/ty6mHZU",
            "!!!!",
            &"0".repeat(66),
        ] {
            assert!(parse_certificate_hash(bad).is_err(), "{bad}");
        }
    }
}
