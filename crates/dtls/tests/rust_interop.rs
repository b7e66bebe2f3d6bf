//! Interoperability with `dimpl` (https://github.com/algesten/dimpl), an independent sans-IO
//! DTLS 1.2/1.3 implementation in Rust (str0m's DTLS stack, with its pure-Rust crypto
//! backend). Every datagram one side emits crosses real loopback UDP sockets to the other,
//! and a virtual clock jumps to the earliest retransmission deadline when nothing is in flight. Test code only: the real clock is read once as the
//! virtual clock's origin.
//!
//! What each handshake proves: the negotiated cipher suite is the one dimpl was restricted to;
//! each side sees the other's certificate and its SHA-256 fingerprint matches (ours checked by
//! `Config::expected_remote_fingerprint`, theirs computed here with dimpl's own digest); the
//! use_srtp profile is the one both sides' preferences imply, and the SRTP keying material
//! dimpl exports equals ours byte for byte; application data flows both ways; close_notify is
//! understood.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dimpl::crypto::Dtls12CipherSuite;
use dimpl::{DtlsCertificate, Output};
use polyrtc_dtls::{
    Certificate, CipherSuite, Config, Endpoint, Error, Event, Fingerprint, KeyAlgorithm, Role,
    SrtpProfile,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn our_certificate(seed: u64) -> Certificate {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        &mut ChaCha20Rng::seed_from_u64(seed),
        now_ms,
        30 * 86_400_000,
    )
    .unwrap()
}

/// dimpl's own certificate. dimpl generates certificates only with its aws-lc backend, which
/// takes many minutes to build, so its key pair comes from our generator with another seed: it is
/// only data, and dimpl does all the signing and verifying with it.
fn their_certificate() -> DtlsCertificate {
    let cert = our_certificate(0xd1_4d_17);
    DtlsCertificate {
        certificate: cert.der,
        private_key: cert.private_key_pkcs8,
    }
}

/// SHA-256 fingerprint as SDP writes it, computed here independently of our certificate code.
fn sdp_fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(der);
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn to_dimpl_profile(p: SrtpProfile) -> Option<dimpl::SrtpProfile> {
    match p {
        SrtpProfile::Aes128CmHmacSha1_80 => Some(dimpl::SrtpProfile::AES128_CM_SHA1_80),
        SrtpProfile::AeadAes128Gcm => Some(dimpl::SrtpProfile::AEAD_AES_128_GCM),
        SrtpProfile::AeadAes256Gcm => Some(dimpl::SrtpProfile::AEAD_AES_256_GCM),
        SrtpProfile::Aes128CmHmacSha1_32 => None,
    }
}

fn to_dimpl_suite(s: CipherSuite) -> Dtls12CipherSuite {
    match s {
        CipherSuite::EcdheEcdsaAes128GcmSha256 => Dtls12CipherSuite::ECDHE_ECDSA_AES128_GCM_SHA256,
        CipherSuite::EcdheEcdsaAes256GcmSha384 => Dtls12CipherSuite::ECDHE_ECDSA_AES256_GCM_SHA384,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => {
            Dtls12CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256
        }
        other => panic!("dimpl has no {other:?}"),
    }
}

/// dimpl's side: its state machine plus everything it reported.
struct Theirs {
    dtls: dimpl::Dtls,
    buf: Vec<u8>,
    timeout: Option<Instant>,
    connected: bool,
    peer_cert: Option<Vec<u8>>,
    keying: Option<(Vec<u8>, dimpl::SrtpProfile)>,
    received: Vec<Vec<u8>>,
    close_notify: bool,
    error: Option<dimpl::Error>,
}

impl Theirs {
    fn new(dtls: dimpl::Dtls) -> Theirs {
        Theirs {
            dtls,
            buf: vec![0; 2048],
            timeout: None,
            connected: false,
            peer_cert: None,
            keying: None,
            received: Vec::new(),
            close_notify: false,
            error: None,
        }
    }

    fn check(&mut self, r: Result<(), dimpl::Error>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }

    /// Drain dimpl's output up to its next `Timeout`, collecting datagrams into `out`.
    fn drain(&mut self, out: &mut Vec<Vec<u8>>) {
        if self.error.is_some() {
            return;
        }
        loop {
            match self.dtls.poll_output(&mut self.buf) {
                Output::Packet(p) => out.push(p.to_vec()),
                Output::BufferTooSmall { needed } => self.buf.resize(needed, 0),
                Output::Timeout(t) => {
                    self.timeout = Some(t);
                    return;
                }
                Output::Connected => self.connected = true,
                Output::PeerCert(c) => self.peer_cert = Some(c.to_vec()),
                Output::KeyingMaterial(km, profile) => self.keying = Some((km.to_vec(), profile)),
                Output::ApplicationData(d) => self.received.push(d.to_vec()),
                Output::CloseNotify => self.close_notify = true,
                _ => {}
            }
        }
    }
}

/// Our side: the endpoint plus everything it reported.
struct Ours {
    ep: Endpoint,
    connected: Option<Event>,
    received: Vec<Vec<u8>>,
    closed: bool,
    error: Option<Error>,
}

impl Ours {
    fn drain(&mut self, out: &mut Vec<Vec<u8>>) {
        while let Some(d) = self.ep.poll_datagram() {
            out.push(d);
        }
        while let Some(ev) = self.ep.poll_event() {
            match ev {
                Event::Connected { .. } => {
                    assert!(self.connected.is_none(), "Connected twice");
                    self.connected = Some(ev);
                }
                Event::ApplicationData(d) => self.received.push(d),
                Event::Closed => self.closed = true,
                Event::Error(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
    }
}

/// The wire between the two stacks: a pair of real UDP sockets on 127.0.0.1, so every datagram
/// crosses the kernel's loopback as it would between two processes. Time stays virtual: a
/// datagram is sent and read back at once, and loss is chosen by the test, not by the kernel.
struct Wire {
    ours: UdpSocket,
    theirs: UdpSocket,
}

impl Wire {
    fn new() -> Wire {
        let ours = UdpSocket::bind("127.0.0.1:0").expect("bind our socket");
        let theirs = UdpSocket::bind("127.0.0.1:0").expect("bind dimpl's socket");
        ours.connect(theirs.local_addr().unwrap()).unwrap();
        theirs.connect(ours.local_addr().unwrap()).unwrap();
        for s in [&ours, &theirs] {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        }
        Wire { ours, theirs }
    }

    /// Send `d` from one socket and return what the other one reads.
    fn carry(from: &UdpSocket, to: &UdpSocket, d: &[u8]) -> Vec<u8> {
        assert_eq!(from.send(d).expect("send on loopback"), d.len());
        let mut buf = vec![0u8; 65_536];
        let n = to
            .recv(&mut buf)
            .expect("a loopback datagram did not arrive");
        buf.truncate(n);
        buf
    }
}

struct Link {
    now: Instant,
    wire: Wire,
    ours: Ours,
    theirs: Theirs,
    to_theirs: Vec<Vec<u8>>,
    to_ours: Vec<Vec<u8>>,
    /// Datagrams sent so far in each direction, and which (by 0-based index) to lose.
    sent_ours: usize,
    sent_theirs: usize,
    lose_ours: Vec<usize>,
    lose_theirs: Vec<usize>,
    delivered: usize,
    lost: usize,
    /// `delivered` once both sides reported Connected.
    handshake_delivered: usize,
}

impl Link {
    /// Shuttle datagrams (and, when the wire is quiet, time) until `done` or a side fails.
    /// Datagrams not yet delivered stay queued for the next call.
    fn run(&mut self, done: impl Fn(&Link) -> bool) {
        let start = self.now;
        for _ in 0..10_000 {
            self.ours.drain(&mut self.to_theirs);
            self.theirs.drain(&mut self.to_ours);
            if done(self) || self.ours.error.is_some() || self.theirs.error.is_some() {
                return;
            }
            let quiet = self.to_theirs.is_empty() && self.to_ours.is_empty();
            self.deliver();
            if quiet {
                let next = [self.ours.ep.poll_timeout(), self.theirs.timeout]
                    .into_iter()
                    .flatten()
                    .min()
                    .expect("nothing in flight and no timer: stuck");
                self.now = self.now.max(next);
                assert!(
                    self.now - start < Duration::from_secs(120),
                    "no progress within 120 s of virtual time"
                );
                self.ours.ep.handle_timeout(self.now);
                let r = self.theirs.dtls.handle_timeout(self.now);
                self.theirs.check(r);
            }
        }
        panic!("did not settle in 10000 rounds");
    }

    /// Deliver everything queued, minus the datagrams chosen to be lost.
    fn deliver(&mut self) {
        for d in std::mem::take(&mut self.to_theirs) {
            let i = self.sent_ours;
            self.sent_ours += 1;
            if self.lose_ours.contains(&i) {
                self.lost += 1;
                continue;
            }
            self.delivered += 1;
            let d = Wire::carry(&self.wire.ours, &self.wire.theirs, &d);
            let r = self.theirs.dtls.handle_timeout(self.now);
            self.theirs.check(r);
            let r = self.theirs.dtls.handle_packet(&d);
            self.theirs.check(r);
        }
        for d in std::mem::take(&mut self.to_ours) {
            let i = self.sent_theirs;
            self.sent_theirs += 1;
            if self.lose_theirs.contains(&i) {
                self.lost += 1;
                continue;
            }
            self.delivered += 1;
            let d = Wire::carry(&self.wire.theirs, &self.wire.ours, &d);
            self.ours.ep.handle_datagram(self.now, &d);
        }
    }
}

struct Case {
    /// The only suite dimpl may use; ours offers all of its defaults.
    suite: CipherSuite,
    /// Our use_srtp preferences (empty: do not negotiate); dimpl always offers / accepts its
    /// three profiles.
    our_srtp: Vec<SrtpProfile>,
    expect_srtp: Option<SrtpProfile>,
    /// dimpl's `new_auto` (DTLS 1.3-capable, falls back to 1.2) instead of `new_12`.
    auto: bool,
    mtu: Option<usize>,
    lose_ours: Vec<usize>,
    lose_theirs: Vec<usize>,
    /// Give our side this fingerprint instead of the one of dimpl's certificate.
    wrong_fingerprint: Option<String>,
}

impl Case {
    fn new(suite: CipherSuite, our_srtp: &[SrtpProfile], expect_srtp: Option<SrtpProfile>) -> Case {
        Case {
            suite,
            our_srtp: our_srtp.to_vec(),
            expect_srtp,
            auto: false,
            mtu: None,
            lose_ours: Vec::new(),
            lose_theirs: Vec::new(),
            wrong_fingerprint: None,
        }
    }
}

struct Setup {
    link: Link,
    our_cert: Certificate,
    their_cert: DtlsCertificate,
}

fn setup(our_role: Role, case: &Case, seed: u64) -> Setup {
    let now = Instant::now();
    let our_cert = our_certificate(seed);
    let their_cert = their_certificate();
    assert_ne!(our_cert.der, their_cert.certificate);

    let mut config = Config::new(our_cert.clone());
    let fp = case
        .wrong_fingerprint
        .clone()
        .unwrap_or_else(|| sdp_fingerprint(&their_cert.certificate));
    config.expected_remote_fingerprint = Some(Fingerprint::new("sha-256", &fp));
    config.srtp_profiles = case.our_srtp.clone();
    if let Some(mtu) = case.mtu {
        config.mtu = mtu;
    }
    let rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5eed);
    let ep = Endpoint::new(our_role, config, rng, now);

    let mut builder = dimpl::Config::builder().dtls12_cipher_suites(&[to_dimpl_suite(case.suite)]);
    if let Some(mtu) = case.mtu {
        builder = builder.mtu(mtu);
    }
    let dconfig = Arc::new(builder.build().unwrap());
    let mut dtls = if case.auto {
        dimpl::Dtls::new_auto(dconfig, their_cert.clone(), now)
    } else {
        dimpl::Dtls::new_12(dconfig, their_cert.clone(), now)
    };
    dtls.set_active(our_role == Role::Server);

    let link = Link {
        wire: Wire::new(),
        now,
        ours: Ours {
            ep,
            connected: None,
            received: Vec::new(),
            closed: false,
            error: None,
        },
        theirs: Theirs::new(dtls),
        to_theirs: Vec::new(),
        to_ours: Vec::new(),
        sent_ours: 0,
        sent_theirs: 0,
        lose_ours: case.lose_ours.clone(),
        lose_theirs: case.lose_theirs.clone(),
        delivered: 0,
        lost: 0,
        handshake_delivered: 0,
    };
    Setup {
        link,
        our_cert,
        their_cert,
    }
}

/// A full session: handshake, checks, data both ways, close_notify. Returns the link for
/// further checks.
fn session(our_role: Role, case: &Case, seed: u64) -> Link {
    let Setup {
        mut link,
        our_cert,
        their_cert,
    } = setup(our_role, case, seed);

    link.run(|l| l.ours.connected.is_some() && l.theirs.connected);
    assert!(link.ours.error.is_none(), "ours: {:?}", link.ours.error);
    assert!(
        link.theirs.error.is_none(),
        "dimpl: {:?}",
        link.theirs.error
    );
    assert!(link.theirs.connected && link.ours.ep.is_connected());
    assert_eq!(link.lost, case.lose_ours.len() + case.lose_theirs.len());
    link.handshake_delivered = link.delivered;

    // Our view: suite, profile, their certificate, fingerprint checked.
    let Some(Event::Connected {
        srtp_profile,
        cipher_suite,
        peer_certificate,
        fingerprint_verified,
    }) = link.ours.connected.clone()
    else {
        unreachable!()
    };
    assert_eq!(cipher_suite, case.suite);
    assert_eq!(link.ours.ep.cipher_suite(), Some(case.suite));
    assert_eq!(srtp_profile, case.expect_srtp);
    assert_eq!(peer_certificate, their_cert.certificate);
    assert!(fingerprint_verified);

    // Their view: our certificate, and its fingerprint computed independently equals the one we
    // would put in SDP.
    let peer = link
        .theirs
        .peer_cert
        .clone()
        .expect("dimpl saw no certificate");
    assert_eq!(peer, our_cert.der);
    assert_eq!(sdp_fingerprint(&peer), our_cert.fingerprint_sha256());

    // SRTP: same profile and byte-identical keying material on both sides.
    match case.expect_srtp {
        Some(profile) => {
            let (their_km, their_profile) = link.theirs.keying.clone().expect("no dimpl keys");
            assert_eq!(Some(their_profile), to_dimpl_profile(profile));
            let (our_profile, our_km) = link.ours.ep.srtp_keying_material().unwrap();
            assert_eq!(our_profile, profile);
            assert_eq!(our_km.len(), profile.keying_material_len());
            assert_eq!(their_km.len(), their_profile.keying_material_len());
            assert_eq!(our_km, their_km, "SRTP keying material differs");
            assert_eq!(
                link.ours
                    .ep
                    .export_keying_material("EXTRACTOR-dtls_srtp", our_km.len())
                    .unwrap(),
                their_km
            );
            assert!(their_km.iter().any(|&b| b != 0));
        }
        None => {
            assert!(link.theirs.keying.is_none(), "dimpl exported SRTP keys");
            assert!(link.ours.ep.srtp_keying_material().is_err());
        }
    }

    // Application data both ways, including a record near the MTU.
    let big: Vec<u8> = (0..900u32).map(|i| (i * 7 + 3) as u8).collect();
    let to_them: Vec<Vec<u8>> = vec![b"hello dimpl".to_vec(), big.clone(), vec![0x42]];
    let to_us: Vec<Vec<u8>> = vec![b"hello polyrtc".to_vec(), big, b"bye".to_vec()];
    for m in &to_them {
        link.ours.ep.send_application_data(m).unwrap();
    }
    for m in &to_us {
        assert_eq!(link.theirs.dtls.send_application_data(m).unwrap(), m.len());
    }
    let (n_them, n_us) = (to_them.len(), to_us.len());
    link.run(|l| l.theirs.received.len() >= n_them && l.ours.received.len() >= n_us);
    assert!(link.ours.error.is_none(), "ours: {:?}", link.ours.error);
    assert!(
        link.theirs.error.is_none(),
        "dimpl: {:?}",
        link.theirs.error
    );
    assert_eq!(link.theirs.received, to_them);
    assert_eq!(link.ours.received, to_us);

    // Our close_notify reaches dimpl as CloseNotify.
    link.ours.ep.close();
    link.run(|l| l.theirs.close_notify);
    assert!(link.theirs.close_notify);
    assert!(link.ours.closed);
    link
}

use CipherSuite::{
    EcdheEcdsaAes128GcmSha256 as AES128, EcdheEcdsaAes256GcmSha384 as AES256,
    EcdheEcdsaChacha20Poly1305Sha256 as CHACHA,
};
use SrtpProfile::{AeadAes128Gcm as GCM128, AeadAes256Gcm as GCM256, Aes128CmHmacSha1_80 as SHA80};

// dimpl as server picks SRTP by its own order (AES-256-GCM, AES-128-GCM, SHA1-80) among what
// we offer; we as server pick by ours among what dimpl offers (all three).

#[test]
fn our_client_dimpl_server_aes128_gcm() {
    session(
        Role::Client,
        &Case::new(AES128, &[GCM128, SHA80], Some(GCM128)),
        1,
    );
}

#[test]
fn our_client_dimpl_server_aes256_gcm() {
    session(
        Role::Client,
        &Case::new(AES256, &[SHA80, GCM256], Some(GCM256)),
        2,
    );
}

#[test]
fn our_client_dimpl_server_chacha20() {
    session(Role::Client, &Case::new(CHACHA, &[SHA80], Some(SHA80)), 3);
}

#[test]
fn dimpl_client_our_server_aes128_gcm() {
    session(
        Role::Server,
        &Case::new(AES128, &[GCM128, SHA80], Some(GCM128)),
        4,
    );
}

#[test]
fn dimpl_client_our_server_aes256_gcm() {
    session(
        Role::Server,
        &Case::new(AES256, &[GCM256, GCM128], Some(GCM256)),
        5,
    );
}

#[test]
fn dimpl_client_our_server_chacha20() {
    session(
        Role::Server,
        &Case::new(CHACHA, &[SHA80, GCM128], Some(SHA80)),
        6,
    );
}

#[test]
fn without_use_srtp_no_profile_either_way() {
    session(Role::Client, &Case::new(AES128, &[], None), 7);
    session(Role::Server, &Case::new(AES128, &[], None), 8);
}

/// dimpl's version-sensing endpoints: as client it sends a hybrid DTLS 1.2/1.3 ClientHello
/// (supported_versions, key_share) that our 1.2 server must answer as 1.2; as server it must
/// fall back to 1.2 for our ClientHello.
#[test]
fn dimpl_auto_version_falls_back_to_dtls12() {
    for (role, seed) in [(Role::Server, 9), (Role::Client, 10)] {
        let mut case = Case::new(AES128, &[GCM128, SHA80], Some(GCM128));
        case.auto = true;
        let link = session(role, &case, seed);
        assert_eq!(
            link.theirs.dtls.protocol_version(),
            Some(dimpl::ProtocolVersion::DTLS1_2)
        );
    }
}

/// Small MTU on both sides: certificates and hello messages are fragmented over several
/// datagrams, and each side reassembles the other's fragments.
#[test]
fn fragmented_handshake_both_ways() {
    for (role, seed) in [(Role::Client, 11), (Role::Server, 12)] {
        let mut case = Case::new(AES256, &[GCM128], Some(GCM128));
        let whole = session(role, &case, seed).handshake_delivered;
        case.mtu = Some(300);
        let fragmented = session(role, &case, seed).handshake_delivered;
        assert!(
            fragmented > whole,
            "{fragmented} datagrams at MTU 300 vs {whole} at the default: not fragmented?"
        );
    }
}

/// Lost flights on both sides are recovered by retransmission timers (virtual time moves).
#[test]
fn lossy_handshake_recovers_by_retransmission() {
    for (role, seed) in [(Role::Client, 13), (Role::Server, 14)] {
        let mut case = Case::new(AES128, &[GCM128, SHA80], Some(GCM128));
        case.lose_ours = vec![1, 2];
        case.lose_theirs = vec![0, 1];
        let Setup { mut link, .. } = setup(role, &case, seed);
        let start = link.now;
        link.run(|l| l.ours.connected.is_some() && l.theirs.connected);
        assert!(link.ours.error.is_none(), "ours: {:?}", link.ours.error);
        assert!(
            link.theirs.error.is_none(),
            "dimpl: {:?}",
            link.theirs.error
        );
        assert_eq!(link.lost, 4);
        assert!(
            link.now - start >= Duration::from_secs(1),
            "no retransmission"
        );
        let (_, ours) = link.ours.ep.srtp_keying_material().unwrap();
        assert_eq!(Some(ours), link.theirs.keying.map(|(km, _)| km));
    }
}

/// The checks can fail: a fingerprint that is not dimpl's certificate's makes our endpoint
/// refuse the handshake in either role with a bad_certificate alert, which dimpl reports as
/// fatal; dimpl never reports Connected or SRTP keys.
#[test]
fn wrong_fingerprint_is_rejected() {
    // The fingerprint of some other certificate, not the one dimpl presents.
    let other = sdp_fingerprint(&our_certificate(0x0bad).der);
    assert_ne!(other, sdp_fingerprint(&their_certificate().certificate));
    for (role, seed) in [(Role::Client, 15), (Role::Server, 16)] {
        let mut case = Case::new(AES128, &[GCM128], Some(GCM128));
        case.wrong_fingerprint = Some(other.clone());
        let Setup { mut link, .. } = setup(role, &case, seed);
        link.run(|l| l.ours.error.is_some() || l.ours.connected.is_some());
        assert_eq!(link.ours.error, Some(Error::FingerprintMismatch));
        assert!(link.ours.connected.is_none());
        assert!(!link.ours.ep.is_connected());
        // Hand dimpl whatever we sent last (our alert, if any): it must not end up connected
        // with SRTP keys.
        link.ours.drain(&mut link.to_theirs);
        let alert = !link.to_theirs.is_empty();
        link.deliver();
        link.theirs.drain(&mut link.to_ours);
        assert!(alert, "no alert sent");
        let err = format!("{:?}", link.theirs.error);
        assert!(
            err.contains("FatalAlert { description: 42 }"),
            "dimpl did not take our bad_certificate alert: {err}"
        );
        assert!(!link.theirs.connected);
        assert!(link.theirs.keying.is_none());
    }
}
