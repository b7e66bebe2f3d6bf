//! Client and server endpoints talking over an in-memory network with simulated time.
//!
//! Test-only: included by `endpoint.rs` under `#[cfg(test)]` and run by native `cargo test`
//! (the in-browser DTLS tests are `tests/browser_dtls.rs`, which take time as input). The real
//! clock is read only to get a starting `Instant`; everything after it is simulated.

use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::certificate::{Certificate, KeyAlgorithm};
use crate::config::Fingerprint;

const NOW_MS: u64 = 1_795_564_800_000;
const DAY_MS: u64 = 86_400_000;

/// How many copies of a datagram the network delivers (0 = lost).
type Fate = Box<dyn FnMut(&[u8]) -> usize>;

/// Certificates by (seed, algorithm), made once: RSA key generation is slow in debug builds.
fn cert(seed: u64, alg: KeyAlgorithm) -> Certificate {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<HashMap<(u64, bool), Certificate>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let make = || {
        Certificate::generate(alg, &mut ChaCha20Rng::seed_from_u64(seed), NOW_MS, DAY_MS).unwrap()
    };
    let key = (seed, alg == KeyAlgorithm::EcdsaP256);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap().get(&key) {
        return c.clone();
    }
    let c = make();
    cache.lock().unwrap().insert(key, c.clone());
    c
}

fn rsa() -> KeyAlgorithm {
    KeyAlgorithm::Rsa {
        modulus_bits: 1024,
        public_exponent: 65537,
    }
}

fn configs(client_cert: Certificate, server_cert: Certificate) -> (Config, Config) {
    let mut c = Config::new(client_cert.clone());
    let mut s = Config::new(server_cert.clone());
    c.expected_remote_fingerprint = Some(Fingerprint::new(
        "sha-256",
        &server_cert.fingerprint_sha256(),
    ));
    s.expected_remote_fingerprint = Some(Fingerprint::new(
        "sha-256",
        &client_cert.fingerprint_sha256(),
    ));
    (c, s)
}

struct Net {
    client: Endpoint,
    server: Endpoint,
    now: Instant,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
    /// Decides the fate of each datagram: how many copies to deliver (0 = lost).
    copies: Fate,
    /// Deliver each batch in reverse order.
    reorder: bool,
    datagrams: usize,
}

impl Net {
    fn new(c: Config, s: Config) -> Net {
        let now = Instant::now();
        Net {
            client: Endpoint::new(Role::Client, c, ChaCha20Rng::seed_from_u64(10), now),
            server: Endpoint::new(Role::Server, s, ChaCha20Rng::seed_from_u64(11), now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            copies: Box::new(|_| 1),
            reorder: false,
            datagrams: 0,
        }
    }

    fn default_pair() -> Net {
        let (c, s) = configs(
            cert(1, KeyAlgorithm::EcdsaP256),
            cert(2, KeyAlgorithm::EcdsaP256),
        );
        Net::new(c, s)
    }

    fn drain(&mut self) {
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// Move datagrams until neither side has anything to send.
    fn exchange(&mut self) {
        for _ in 0..100 {
            let mut to_server = Vec::new();
            while let Some(d) = self.client.poll_datagram() {
                to_server.push(d);
            }
            let mut to_client = Vec::new();
            while let Some(d) = self.server.poll_datagram() {
                to_client.push(d);
            }
            if to_server.is_empty() && to_client.is_empty() {
                break;
            }
            for (batch, to_srv) in [(to_server, true), (to_client, false)] {
                let mut batch: Vec<Vec<u8>> = batch;
                if self.reorder {
                    batch.reverse();
                }
                for d in batch {
                    self.datagrams += 1;
                    for _ in 0..(self.copies)(&d) {
                        if to_srv {
                            self.server.handle_datagram(self.now, &d);
                        } else {
                            self.client.handle_datagram(self.now, &d);
                        }
                    }
                }
            }
        }
        self.drain();
    }

    /// Exchange, then advance simulated time to the next timeout, until both are connected
    /// or closed, or `limit` passes.
    fn run(&mut self, limit: Duration) {
        let end = self.now + limit;
        loop {
            self.exchange();
            if self.done() {
                return;
            }
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next.filter(|t| *t <= end) else {
                return;
            };
            self.now = self.now.max(next);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
    }

    fn done(&self) -> bool {
        let finished = |ev: &[Event]| {
            ev.iter()
                .any(|e| matches!(e, Event::Connected { .. } | Event::Closed))
        };
        finished(&self.client_events) && finished(&self.server_events)
    }

    fn connected(&self) -> bool {
        self.client.is_connected() && self.server.is_connected()
    }
}

fn connected_event(events: &[Event]) -> &Event {
    events
        .iter()
        .find(|e| matches!(e, Event::Connected { .. }))
        .expect("no Connected event")
}

#[test]
fn handshake_then_application_data_and_close() {
    let mut net = Net::default_pair();
    net.run(Duration::from_secs(5));
    assert!(
        net.connected(),
        "{:?} / {:?}",
        net.client_events,
        net.server_events
    );
    for events in [&net.client_events, &net.server_events] {
        match connected_event(events) {
            Event::Connected {
                srtp_profile,
                cipher_suite,
                fingerprint_verified,
                ..
            } => {
                assert_eq!(*srtp_profile, Some(SrtpProfile::AeadAes128Gcm));
                assert_eq!(*cipher_suite, CipherSuite::EcdheEcdsaChacha20Poly1305Sha256);
                assert!(*fingerprint_verified);
            }
            _ => unreachable!(),
        }
    }
    // Both sides derive the same SRTP keys (RFC 5764 §4.2).
    let ck = net.client.srtp_keying_material().unwrap();
    assert_eq!(ck, net.server.srtp_keying_material().unwrap());
    assert_eq!(ck.1.len(), 56);
    assert_eq!(
        net.client
            .export_keying_material("EXPORTER-test", 20)
            .unwrap(),
        net.server
            .export_keying_material("EXPORTER-test", 20)
            .unwrap()
    );

    net.client.send_application_data(b"ping").unwrap();
    net.server.send_application_data(b"pong").unwrap();
    net.exchange();
    assert!(net
        .server_events
        .contains(&Event::ApplicationData(b"ping".to_vec())));
    assert!(net
        .client_events
        .contains(&Event::ApplicationData(b"pong".to_vec())));

    net.client.close();
    net.exchange();
    assert_eq!(net.client_events.last(), Some(&Event::Closed));
    assert_eq!(net.server_events.last(), Some(&Event::Closed));
    assert_eq!(
        net.client.send_application_data(b"late"),
        Err(Error::Closed)
    );
}

#[test]
fn every_cipher_suite_negotiates() {
    for suite in CipherSuite::DEFAULT {
        let server_alg = match suite.auth() {
            crate::cipher_suite::AuthAlgorithm::Ecdsa => KeyAlgorithm::EcdsaP256,
            crate::cipher_suite::AuthAlgorithm::Rsa => rsa(),
        };
        // The client authenticates with the other kind of key, to cover both in CertificateVerify.
        let client_alg = match server_alg {
            KeyAlgorithm::EcdsaP256 => rsa(),
            _ => KeyAlgorithm::EcdsaP256,
        };
        let (mut c, s) = configs(cert(1, client_alg), cert(2, server_alg));
        c.cipher_suites = vec![suite];
        let mut net = Net::new(c, s);
        net.run(Duration::from_secs(5));
        assert!(net.connected(), "{suite:?}: {:?}", net.client_events);
        match connected_event(&net.client_events) {
            Event::Connected { cipher_suite, .. } => assert_eq!(*cipher_suite, suite),
            _ => unreachable!(),
        }
        net.server.send_application_data(&[7; 1000]).unwrap();
        net.exchange();
        assert!(net
            .client_events
            .contains(&Event::ApplicationData(vec![7; 1000])));
    }
}

#[test]
fn srtp_profile_follows_server_preference_or_is_absent() {
    let (mut c, mut s) = configs(
        cert(1, KeyAlgorithm::EcdsaP256),
        cert(2, KeyAlgorithm::EcdsaP256),
    );
    c.srtp_profiles = vec![SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmHmacSha1_80];
    s.srtp_profiles = vec![SrtpProfile::Aes128CmHmacSha1_80];
    let mut net = Net::new(c.clone(), s);
    net.run(Duration::from_secs(5));
    assert_eq!(
        net.client.srtp_keying_material().unwrap().0,
        SrtpProfile::Aes128CmHmacSha1_80
    );
    let (_, s2) = configs(
        cert(1, KeyAlgorithm::EcdsaP256),
        cert(2, KeyAlgorithm::EcdsaP256),
    );
    let mut s2 = s2;
    s2.srtp_profiles.clear();
    let mut net = Net::new(c, s2);
    net.run(Duration::from_secs(5));
    assert!(net.connected());
    assert_eq!(net.client.srtp_keying_material(), Err(Error::NotConnected));
}

#[test]
fn wrong_fingerprint_fails_both_sides() {
    let (mut c, s) = configs(
        cert(1, KeyAlgorithm::EcdsaP256),
        cert(2, KeyAlgorithm::EcdsaP256),
    );
    c.expected_remote_fingerprint = Some(Fingerprint::new(
        "sha-256",
        &cert(9, KeyAlgorithm::EcdsaP256).fingerprint_sha256(),
    ));
    let mut net = Net::new(c, s);
    net.run(Duration::from_secs(5));
    assert!(net
        .client_events
        .contains(&Event::Error(Error::FingerprintMismatch)));
    assert!(net
        .server_events
        .contains(&Event::Error(Error::PeerAlert(alert::BAD_CERTIFICATE))));
    assert!(!net.client.is_connected() && !net.server.is_connected());
}

#[test]
fn survives_loss_duplication_and_reordering() {
    for seed in 0..16u64 {
        // Half the runs with RSA keys and a small MTU, so fragments get lost and reordered.
        let mut net = if seed < 8 {
            Net::default_pair()
        } else {
            let (mut c, mut s) = configs(cert(1, rsa()), cert(2, KeyAlgorithm::EcdsaP256));
            c.mtu = 300;
            s.mtu = 300;
            Net::new(c, s)
        };
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        // 30% loss, 20% duplication.
        net.copies = Box::new(move |_| match rng.next_u32() % 10 {
            0..=2 => 0,
            3..=4 => 2,
            _ => 1,
        });
        net.reorder = seed % 2 == 0;
        net.run(Duration::from_secs(30));
        assert!(
            net.connected(),
            "seed {seed}: {:?} / {:?}",
            net.client_events,
            net.server_events
        );
    }
}

#[test]
fn small_mtu_fragments_handshake_messages() {
    let (mut c, mut s) = configs(cert(1, rsa()), cert(2, rsa()));
    c.mtu = 256;
    s.mtu = 256;
    let mut net = Net::new(c, s);
    net.reorder = true;
    let mut max = 0;
    net.copies = Box::new(move |d| {
        max = max.max(d.len());
        assert!(max <= 256, "datagram of {max} bytes");
        1
    });
    net.run(Duration::from_secs(5));
    assert!(net.connected(), "{:?}", net.client_events);
}

#[test]
fn retransmission_backs_off_then_times_out() {
    let (mut c, _) = configs(
        cert(1, KeyAlgorithm::EcdsaP256),
        cert(2, KeyAlgorithm::EcdsaP256),
    );
    c.handshake_timeout = Duration::from_secs(20);
    let start = Instant::now();
    let mut client = Endpoint::new(Role::Client, c, ChaCha20Rng::seed_from_u64(1), start);
    assert!(client.poll_datagram().is_some());
    let mut sends = Vec::new();
    while let Some(t) = client.poll_timeout() {
        client.handle_timeout(t);
        if client.poll_datagram().is_some() {
            sends.push((t - start).as_secs());
        }
    }
    // 1, 2, 4, 8 s apart, then the 20 s deadline.
    assert_eq!(sends, vec![1, 3, 7, 15]);
    assert_eq!(client.poll_event(), Some(Event::Error(Error::Timeout)));
    assert_eq!(client.poll_event(), Some(Event::Closed));
}

#[test]
fn lost_final_flight_is_resent_when_the_client_retransmits() {
    let mut net = Net::default_pair();
    // Drop the server's first flight-6 datagram: it is the first one carrying epoch 1.
    let dropped = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = dropped.clone();
    net.copies = Box::new(move |d| {
        let epoch1 = Record::parse_datagram(d).iter().any(|r| r.epoch == 1);
        // Flight 6 is the only one that starts with ChangeCipherSpec.
        let server_final = epoch1 && d.first() == Some(&20);
        if server_final && !flag.get() {
            flag.set(true);
            0
        } else {
            1
        }
    });
    net.run(Duration::from_secs(10));
    assert!(dropped.get());
    assert!(net.connected(), "{:?}", net.client_events);
}

#[test]
fn replayed_application_data_is_delivered_once() {
    let mut net = Net::default_pair();
    net.run(Duration::from_secs(5));
    net.client.send_application_data(b"once").unwrap();
    let d = net.client.poll_datagram().unwrap();
    for _ in 0..3 {
        net.server.handle_datagram(net.now, &d);
    }
    net.drain();
    let n = net
        .server_events
        .iter()
        .filter(|e| **e == Event::ApplicationData(b"once".to_vec()))
        .count();
    assert_eq!(n, 1);
}

#[test]
fn garbage_and_mutated_datagrams_do_not_panic() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (c, s) = configs(
        cert(1, KeyAlgorithm::EcdsaP256),
        cert(2, KeyAlgorithm::EcdsaP256),
    );
    let now = Instant::now();
    let mut client = Endpoint::new(Role::Client, c.clone(), ChaCha20Rng::seed_from_u64(1), now);
    let hello = client.poll_datagram().unwrap();
    for i in 0..2000 {
        let mut server = Endpoint::new(Role::Server, s.clone(), ChaCha20Rng::seed_from_u64(2), now);
        let mut d = hello.clone();
        if i % 3 == 0 {
            d = vec![0; (rng.next_u32() % 300) as usize];
            rng.fill_bytes(&mut d);
            if let Some(b) = d.first_mut() {
                *b = 22;
            }
        } else {
            for _ in 0..1 + rng.next_u32() % 4 {
                let at = rng.next_u32() as usize % d.len();
                d[at] = rng.next_u32() as u8;
            }
            if i % 5 == 0 {
                d.truncate(rng.next_u32() as usize % d.len());
            }
        }
        server.handle_datagram(now, &d);
        while server.poll_datagram().is_some() {}
        while server.poll_event().is_some() {}
    }
}

#[test]
fn application_data_before_connection_is_refused() {
    let mut net = Net::default_pair();
    assert_eq!(
        net.client.send_application_data(b"early"),
        Err(Error::NotConnected)
    );
    assert_eq!(
        net.client
            .send_application_data(&vec![0; MAX_PLAINTEXT + 1]),
        Err(Error::NotConnected)
    );
    net.run(Duration::from_secs(5));
    assert_eq!(
        net.client
            .send_application_data(&vec![0; MAX_PLAINTEXT + 1]),
        Err(Error::RecordOverflow)
    );
}

#[test]
fn mutated_server_flights_do_not_panic_the_client() {
    let (c, s) = configs(
        cert(1, KeyAlgorithm::EcdsaP256),
        cert(2, KeyAlgorithm::EcdsaP256),
    );
    let now = Instant::now();
    // Record the server's datagrams of a clean handshake, with a fixed seed on both sides.
    let mut net = Net::new(c.clone(), s);
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = seen.clone();
    net.copies = Box::new(move |d| {
        log.borrow_mut().push(d.to_vec());
        1
    });
    net.run(Duration::from_secs(5));
    assert!(net.connected());
    let datagrams = seen.borrow().clone();
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    for i in 0..600 {
        let mut client =
            Endpoint::new(Role::Client, c.clone(), ChaCha20Rng::seed_from_u64(10), now);
        for (j, d) in datagrams.iter().enumerate() {
            let mut d = d.clone();
            if j % datagrams.len() == i % datagrams.len() && !d.is_empty() {
                let at = rng.next_u32() as usize % d.len();
                d[at] ^= 1 << (rng.next_u32() % 8);
            }
            client.handle_datagram(now, &d);
            while client.poll_datagram().is_some() {}
        }
        while client.poll_event().is_some() {}
    }
}

#[test]
fn endpoint_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Endpoint>();
}

#[test]
fn fingerprint_can_arrive_after_the_handshake() {
    let client_cert = cert(1, KeyAlgorithm::EcdsaP256);
    let server_cert = cert(2, KeyAlgorithm::EcdsaP256);
    let (mut c, mut s) = configs(client_cert.clone(), server_cert.clone());
    c.expected_remote_fingerprint = None;
    s.expected_remote_fingerprint = None;
    let mut net = Net::new(c, s);
    net.run(Duration::from_secs(5));
    assert!(net.connected());
    match connected_event(&net.client_events) {
        Event::Connected {
            fingerprint_verified,
            peer_certificate,
            ..
        } => {
            assert!(!fingerprint_verified);
            assert_eq!(*peer_certificate, server_cert.der);
        }
        _ => unreachable!(),
    }
    let good = Fingerprint::new("sha-256", &server_cert.fingerprint_sha256().to_lowercase());
    assert_eq!(net.client.set_remote_fingerprint(good), Ok(true));
    let wrong = Fingerprint::new("sha-256", &server_cert.fingerprint_sha256());
    assert_eq!(
        net.server.set_remote_fingerprint(wrong),
        Err(Error::FingerprintMismatch)
    );
    net.exchange();
    assert!(net
        .client_events
        .contains(&Event::Error(Error::PeerAlert(alert::BAD_CERTIFICATE))));
    assert!(!net.client.is_connected() && !net.server.is_connected());
}
