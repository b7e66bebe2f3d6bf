//! crates/dtls inside real browsers (`wasm-pack test --headless --chrome . --test browser_dtls`):
//! a client and a server endpoint handshake in memory, with time from the shell's clock and
//! randomness from seeds, then exchange application data both ways and agree on exported keys.
//! Nothing here may read the system clock: that would trap on wasm32-unknown-unknown.
#![cfg(target_arch = "wasm32")]

use std::time::Instant;

use polyrtc::clock::instant_from_ms;
use polyrtc_dtls::{
    Certificate, CipherSuite, Config, Endpoint, Event, Fingerprint, KeyAlgorithm, Role, SrtpProfile,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const WALL_MS: u64 = 1_764_000_000_000;

fn certificate(seed: u64) -> Certificate {
    Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        &mut ChaCha20Rng::seed_from_u64(seed),
        WALL_MS,
        30 * 86_400_000,
    )
    .expect("ECDSA P-256 certificate")
}

/// Client and server that expect each other's fingerprints.
fn pair(suites: &[CipherSuite], start: Instant) -> (Endpoint, Endpoint) {
    let (cc, sc) = (certificate(1), certificate(2));
    let mut client_config = Config::new(cc.clone());
    client_config.expected_remote_fingerprint =
        Some(Fingerprint::new("sha-256", &sc.fingerprint_sha256()));
    client_config.cipher_suites = suites.to_vec();
    let mut server_config = Config::new(sc);
    server_config.expected_remote_fingerprint =
        Some(Fingerprint::new("sha-256", &cc.fingerprint_sha256()));
    let client = Endpoint::new(
        Role::Client,
        client_config,
        ChaCha20Rng::seed_from_u64(3),
        start,
    );
    let server = Endpoint::new(
        Role::Server,
        server_config,
        ChaCha20Rng::seed_from_u64(4),
        start,
    );
    (client, server)
}

/// Move datagrams until both sides are quiet; returns each side's events.
fn pump(a: &mut Endpoint, b: &mut Endpoint, now: Instant) -> (Vec<Event>, Vec<Event>) {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    for _ in 0..32 {
        let mut moved = false;
        while let Some(d) = a.poll_datagram() {
            b.handle_datagram(now, &d);
            moved = true;
        }
        while let Some(d) = b.poll_datagram() {
            a.handle_datagram(now, &d);
            moved = true;
        }
        ea.extend(std::iter::from_fn(|| a.poll_event()));
        eb.extend(std::iter::from_fn(|| b.poll_event()));
        if !moved {
            break;
        }
    }
    (ea, eb)
}

fn connected(events: &[Event]) -> (CipherSuite, Option<SrtpProfile>, bool) {
    match events.iter().find(|e| matches!(e, Event::Connected { .. })) {
        Some(Event::Connected {
            cipher_suite,
            srtp_profile,
            fingerprint_verified,
            ..
        }) => (*cipher_suite, *srtp_profile, *fingerprint_verified),
        _ => panic!("not connected: {events:?}"),
    }
}

fn handshake_and_talk(suites: &[CipherSuite], expect: CipherSuite) {
    let now = instant_from_ms(js_sys::Date::now() % 1000.0 + 5.0);
    let (mut client, mut server) = pair(suites, now);
    let (ce, se) = pump(&mut client, &mut server, now);
    let (c_suite, c_srtp, c_verified) = connected(&ce);
    let (s_suite, s_srtp, s_verified) = connected(&se);
    assert_eq!((c_suite, s_suite), (expect, expect));
    assert_eq!(c_srtp, Some(SrtpProfile::AeadAes128Gcm));
    assert_eq!(c_srtp, s_srtp);
    assert!(c_verified && s_verified);
    assert_eq!(client.poll_timeout(), None, "nothing left to retransmit");

    client
        .send_application_data(b"hello from the client")
        .unwrap();
    server.send_application_data(&[0x5a; 1100]).unwrap();
    let (ce, se) = pump(&mut client, &mut server, now);
    assert_eq!(
        se,
        [Event::ApplicationData(b"hello from the client".to_vec())]
    );
    assert_eq!(ce, [Event::ApplicationData(vec![0x5a; 1100])]);

    let ck = client
        .export_keying_material("EXTRACTOR-dtls_srtp", 56)
        .unwrap();
    let sk = server
        .export_keying_material("EXTRACTOR-dtls_srtp", 56)
        .unwrap();
    assert_eq!(ck, sk);
    assert_ne!(ck, vec![0; 56]);
    assert_eq!(
        client.srtp_keying_material().unwrap(),
        server.srtp_keying_material().unwrap()
    );
}

#[wasm_bindgen_test]
fn handshake_with_default_suites_prefers_chacha20() {
    handshake_and_talk(
        &CipherSuite::DEFAULT,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    );
}

#[wasm_bindgen_test]
fn handshake_with_aes_128_gcm() {
    handshake_and_talk(
        &[CipherSuite::EcdheEcdsaAes128GcmSha256],
        CipherSuite::EcdheEcdsaAes128GcmSha256,
    );
}

/// A lost flight is resent when the browser-derived clock passes the retransmission timer.
#[wasm_bindgen_test]
fn retransmits_on_browser_time() {
    let start_ms = 1000.0;
    let (mut client, mut server) = pair(&CipherSuite::DEFAULT, instant_from_ms(start_ms));
    let lost = client.poll_datagram().expect("ClientHello");
    assert!(client.poll_datagram().is_none());
    let at = client.poll_timeout().expect("a retransmission timer");
    assert!(at > instant_from_ms(start_ms));
    client.handle_timeout(instant_from_ms(start_ms + 999.0));
    assert!(client.poll_datagram().is_none(), "not before the timer");
    client.handle_timeout(at);
    let resent = client.poll_datagram().expect("ClientHello again");
    assert_eq!(resent[13..], lost[13..], "same handshake message");
    server.handle_datagram(at, &resent);
    let (ce, se) = pump(&mut client, &mut server, at);
    connected(&ce);
    connected(&se);
}
