//! wasm-bindgen tests of the shell inside real browsers (`wasm-pack test --headless --chrome .`):
//! the clock's one unsafe conversion, certificate generation, and an engine driven through the
//! same handle the JS shim uses.
#![cfg(target_arch = "wasm32")]

use polyrtc::clock::{instant_from_ms, ms_from_instant};
use polyrtc::PeerConnectionHandle;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn performance_now() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let now: js_sys::Function = js_sys::Reflect::get(&perf, &"now".into())
        .unwrap()
        .unchecked_into();
    now.call0(&perf).unwrap().as_f64().unwrap()
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &key.into()).unwrap()
}

#[wasm_bindgen_test]
fn instants_follow_performance_now() {
    let t0 = performance_now();
    let a = instant_from_ms(t0);
    // Let real time pass so the two readings differ.
    while performance_now() - t0 < 5.0 {}
    let t1 = performance_now();
    let b = instant_from_ms(t1);
    assert!(b > a);
    let measured = (b - a).as_secs_f64() * 1000.0;
    assert!(
        (measured - (t1 - t0)).abs() < 0.001,
        "{measured} vs {}",
        t1 - t0
    );
    assert!((ms_from_instant(b) - t1).abs() < 0.001);
}

#[wasm_bindgen_test]
fn instant_arithmetic_works_in_wasm() {
    let a = instant_from_ms(10_000.0);
    let b = a + Duration::from_millis(1500);
    assert_eq!(b.duration_since(a), Duration::from_millis(1500));
    assert_eq!(a.checked_duration_since(b), None);
    assert_eq!(b - Duration::from_millis(1500), a);
    assert_eq!(instant_from_ms(11_500.0), b);
}

#[wasm_bindgen_test]
fn generates_an_ecdsa_certificate_in_the_browser() {
    let params = js_sys::JSON::parse(r#"{"name":"ECDSA","namedCurve":"P-256"}"#).unwrap();
    let wall = js_sys::Date::now();
    let cert = polyrtc::certificate::generate_certificate(params, wall, Some(86_400_000.0))
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    let expires = get(&cert, "expires").as_f64().unwrap();
    assert!(
        (expires - (wall + 86_400_000.0)).abs() < 2000.0,
        "expires {expires}"
    );
    let fp = get(
        &js_sys::Array::from(&get(&cert, "fingerprints")).get(0),
        "value",
    );
    let fp = fp.as_string().unwrap();
    assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
}

#[wasm_bindgen_test]
fn unsupported_curve_is_not_supported_error() {
    let params = js_sys::JSON::parse(r#"{"name":"ECDSA","namedCurve":"P-384"}"#).unwrap();
    let err =
        polyrtc::certificate::generate_certificate(params, js_sys::Date::now(), None).unwrap_err();
    assert_eq!(
        get(&err, "name").as_string().as_deref(),
        Some("NotSupportedError")
    );
}

#[wasm_bindgen_test]
fn two_engines_negotiate_through_the_handle() {
    let now = performance_now();
    let wall = js_sys::Date::now();
    let cfg = js_sys::JSON::parse("{}").unwrap();
    let mut a = PeerConnectionHandle::new(cfg.clone(), &[1u8; 32], now, wall).unwrap();
    let mut b = PeerConnectionHandle::new(cfg, &[2u8; 32], now, wall).unwrap();
    let call = |h: &mut PeerConnectionHandle, json: &str| {
        h.call(
            js_sys::JSON::parse(json).unwrap(),
            performance_now(),
            js_sys::Date::now(),
        )
        .map_err(|e| js_sys::JSON::stringify(&e).unwrap().as_string().unwrap())
        .unwrap()
    };
    call(
        &mut a,
        r#"{"op":"createDataChannel","label":"chat","init":{}}"#,
    );
    let offer = get(
        &call(&mut a, r#"{"op":"createOffer","options":{}}"#),
        "description",
    );
    let offer_json = js_sys::JSON::stringify(&offer)
        .unwrap()
        .as_string()
        .unwrap();
    assert!(offer_json.contains("webrtc-datachannel"), "{offer_json}");
    call(
        &mut a,
        &format!(r#"{{"op":"setLocalDescription","description":{offer_json}}}"#),
    );
    call(
        &mut b,
        &format!(r#"{{"op":"setRemoteDescription","description":{offer_json}}}"#),
    );
    let answer = get(&call(&mut b, r#"{"op":"createAnswer"}"#), "description");
    let answer_json = js_sys::JSON::stringify(&answer)
        .unwrap()
        .as_string()
        .unwrap();
    call(
        &mut b,
        &format!(r#"{{"op":"setLocalDescription","description":{answer_json}}}"#),
    );
    call(
        &mut a,
        &format!(r#"{{"op":"setRemoteDescription","description":{answer_json}}}"#),
    );
    for h in [&a, &b] {
        let state = get(&h.snapshot().unwrap(), "signalingState")
            .as_string()
            .unwrap();
        assert_eq!(state, "stable");
    }
    let events = js_sys::Array::from(&a.poll_events().unwrap());
    let first = get(&events.get(0), "type").as_string().unwrap();
    assert_eq!(first, "signalingstatechange");
}

#[wasm_bindgen_test]
fn bad_input_is_an_error_not_a_trap() {
    let cfg = js_sys::JSON::parse("{}").unwrap();
    let mut a = PeerConnectionHandle::new(cfg, &[3u8; 32], 0.0, js_sys::Date::now()).unwrap();
    let bad = js_sys::JSON::parse(r#"{"op":"setRemoteDescription","description":{"type":"offer","sdp":"garbage\u0000\r\nm=x"}}"#).unwrap();
    let err = a.call(bad, 1.0, js_sys::Date::now()).unwrap_err();
    assert!(get(&err, "name").is_string());
    let unknown = js_sys::JSON::parse(r#"{"op":"noSuchOp"}"#).unwrap();
    let err = a.call(unknown, 1.0, js_sys::Date::now()).unwrap_err();
    assert_eq!(get(&err, "name").as_string().as_deref(), Some("TypeError"));
    // The handle still works after both errors.
    assert!(a.snapshot().is_ok());
}
