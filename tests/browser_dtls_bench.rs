//! crates/dtls benchmarked inside a real browser (`bench/dtls-wasm.sh`; the in-browser twin of
//! `crates/dtls/examples/dtls_bench.rs`): in-memory handshake time with client and server both
//! in wasm, and 1,200-byte application-data record throughput, timed with `performance.now()`.
//! Every test is `#[ignore]`d so the normal test run skips it; the script passes
//! `--include-ignored --nocapture` and greps the `name value unit` lines printed here.
//! Endpoint time comes from the same `performance.now()` reading via the shell's clock.
#![cfg(target_arch = "wasm32")]

use polyrtc::clock::instant_from_ms;
use polyrtc_dtls::{Certificate, CipherSuite, Config, Endpoint, Event, KeyAlgorithm, Role};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const WALL_MS: u64 = 1_764_000_000_000;
const RECORD: usize = 1200;
const HANDSHAKES: usize = 20;
/// ~10 MB of application data per suite.
const RECORDS: usize = 10_000_000 / RECORD + 1;

/// `performance.now()` in milliseconds, looked up on the global object.
fn now_ms() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .expect("globalThis.performance");
    let now: js_sys::Function = js_sys::Reflect::get(&performance, &JsValue::from_str("now"))
        .expect("performance.now")
        .dyn_into()
        .expect("performance.now is a function");
    now.call0(&performance)
        .expect("performance.now()")
        .as_f64()
        .expect("a number")
}

fn certificate(seed: u64) -> Certificate {
    Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        &mut ChaCha20Rng::seed_from_u64(seed),
        WALL_MS,
        86_400_000,
    )
    .expect("ECDSA P-256 certificate")
}

/// A complete in-memory handshake (as the native benchmark's `connect`); `suites = None` keeps
/// the default list on both sides.
fn connect(
    cc: &Certificate,
    sc: &Certificate,
    suites: Option<&[CipherSuite]>,
    seed: u64,
) -> (Endpoint, Endpoint) {
    let now = instant_from_ms(now_ms());
    let mut client_config = Config::new(cc.clone());
    if let Some(suites) = suites {
        client_config.cipher_suites = suites.to_vec();
    }
    let mut client = Endpoint::new(
        Role::Client,
        client_config,
        ChaCha20Rng::seed_from_u64(seed),
        now,
    );
    let mut server = Endpoint::new(
        Role::Server,
        Config::new(sc.clone()),
        ChaCha20Rng::seed_from_u64(seed + 1),
        now,
    );
    for _ in 0..16 {
        while let Some(d) = client.poll_datagram() {
            server.handle_datagram(now, &d);
        }
        while let Some(d) = server.poll_datagram() {
            client.handle_datagram(now, &d);
        }
        if client.is_connected() && server.is_connected() {
            return (client, server);
        }
    }
    panic!("handshake did not complete");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[wasm_bindgen_test]
#[ignore]
fn bench_handshake() {
    let (cc, sc) = (certificate(1), certificate(2));
    // One untimed handshake first, so the engine has compiled the hot code.
    let (client, _) = connect(&cc, &sc, None, 999);
    let suite = client.cipher_suite().expect("negotiated suite");
    let times: Vec<f64> = (0..HANDSHAKES)
        .map(|i| {
            let t = now_ms();
            connect(&cc, &sc, None, 1000 + 2 * i as u64);
            now_ms() - t
        })
        .collect();
    console_log!(
        "wasm_handshake_ms {suite:?} {:.3} (median of {HANDSHAKES}, default suites)",
        median(times)
    );
}

/// MB/s (10^6 bytes) of sealing `n` records, and of sealing + opening them.
fn throughput(suite: CipherSuite, n: usize) -> (f64, f64) {
    let (cc, sc) = (certificate(1), certificate(2));
    let (mut client, mut server) = connect(&cc, &sc, Some(&[suite]), 100);
    assert_eq!(client.cipher_suite(), Some(suite));
    let payload = vec![0xa5u8; RECORD];
    let mut sealed = Vec::with_capacity(n);
    let t = now_ms();
    for _ in 0..n {
        client.send_application_data(&payload).unwrap();
        sealed.push(client.poll_datagram().unwrap());
    }
    let seal = now_ms() - t;
    let now = instant_from_ms(now_ms());
    let t = now_ms();
    let mut got = 0;
    for d in &sealed {
        server.handle_datagram(now, d);
        while let Some(ev) = server.poll_event() {
            if let Event::ApplicationData(p) = ev {
                got += p.len();
            }
        }
    }
    let open = now_ms() - t;
    assert_eq!(got, n * RECORD, "every record opened");
    let mb = (n * RECORD) as f64 / 1e6;
    (mb / (seal / 1e3), mb / ((seal + open) / 1e3))
}

fn bench_records(suite: CipherSuite) {
    let (seal, both) = throughput(suite, RECORDS);
    console_log!("wasm_seal_MBps {suite:?} {seal:.1} ({RECORDS} x {RECORD} B)");
    console_log!("wasm_seal_open_MBps {suite:?} {both:.1}");
}

#[wasm_bindgen_test]
#[ignore]
fn bench_records_aes_128_gcm() {
    bench_records(CipherSuite::EcdheEcdsaAes128GcmSha256);
}

#[wasm_bindgen_test]
#[ignore]
fn bench_records_chacha20_poly1305() {
    bench_records(CipherSuite::EcdheEcdsaChacha20Poly1305Sha256);
}
