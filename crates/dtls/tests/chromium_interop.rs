//! Interoperability with native Chromium's DTLS (BoringSSL through WebRTC's DtlsTransport), in
//! both roles, over real loopback UDP.
//!
//! A native `RTCPeerConnection` in headless Chromium (`tests/chromium/peer.mjs`, driven by
//! playwright-core) offers a data channel; we answer as an ICE-lite endpoint on 127.0.0.1 with
//! our certificate's fingerprint and `a=setup:passive` (Chromium is the DTLS client) or
//! `a=setup:active` (we are). A minimal STUN responder answers Chromium's connectivity checks
//! and learns its address from them (peer-reflexive); DTLS shares the port, told apart by the
//! first byte (RFC 7983). Success: our endpoint connects with Chromium's certificate matching
//! the offer's fingerprint, and Chromium's `RTCDtlsTransport` (`pc.sctp.transport`) reaches
//! "connected" with our certificate as the remote one. SCTP never comes up, by design.
//!
//! Each test re-runs itself inside a loopback-only network namespace (`scripts/netns.sh`) unless
//! it already is in one, and is skipped, saying why, when Chromium, Node, playwright-core or
//! the namespace are not available. Real sockets and the real clock are fine here: this is test
//! code, never built for wasm.

#[path = "chromium/stun.rs"]
mod stun;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64ct::{Base64, Encoding};
use polyrtc_dtls::record::is_dtls;
use polyrtc_dtls::{Certificate, Config, Endpoint, Event, Fingerprint, KeyAlgorithm, Role};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const NOW_MS: u64 = 1_795_564_800_000;
const LOCAL_UFRAG: &str = "plrt";
const LOCAL_PWD: &str = "polyrtc-dtls-interop-pwd-0001";
const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(40);
/// Chromium's first flight as DTLS client: the ClientHello, exactly as received.
const CLIENT_HELLO_FIXTURE: &str = "tests/fixtures/chromium156_client_hello.bin";
/// Chromium's first flight as DTLS server (ServerHello … ServerHelloDone).
const SERVER_FLIGHT_FIXTURE: &str = "tests/fixtures/chromium156_server_flight.bin";

/// One browser at a time: the machine may be small, and the two roles log side by side.
static SERIAL: Mutex<()> = Mutex::new(());

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Why this environment cannot run the test, if it cannot.
fn missing_prerequisite() -> Option<String> {
    let root = manifest_dir().join("../..");
    let checks: [(&str, PathBuf); 4] = [
        ("Chromium", PathBuf::from(CHROMIUM)),
        (
            "peer script",
            manifest_dir().join("tests/chromium/peer.mjs"),
        ),
        ("playwright-core", root.join("node_modules/playwright-core")),
        ("scripts/netns.sh", root.join("scripts/netns.sh")),
    ];
    for (what, path) in checks {
        if !path.exists() {
            return Some(format!("{what} not found at {}", path.display()));
        }
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node not on PATH".into());
    }
    None
}

/// A plain `cargo test` on a machine without browsers skips; scripts/test.sh installs every
/// prerequisite and sets POLYRTC_REQUIRE_BROWSERS, so there a skip would hide a broken setup.
fn skip(name: &str, why: &str) {
    if std::env::var_os("POLYRTC_REQUIRE_BROWSERS").is_some() {
        panic!("{name} cannot run: {why}");
    }
    eprintln!("SKIPPED {name}: {why}");
}

/// Run `test` inside a loopback-only namespace: directly if we are in one, else by re-running
/// this very test binary, filtered to `name`, under scripts/netns.sh.
fn in_netns(name: &str, test: fn()) {
    if let Some(why) = missing_prerequisite() {
        return skip(name, &why);
    }
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if std::env::var("POLYRTC_IN_NETNS").as_deref() == Ok("1") {
        return test();
    }
    if !Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        return skip(
            name,
            "cannot create a network namespace (unshare -n needs root)",
        );
    }
    let netns = manifest_dir().join("../../scripts/netns.sh");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(netns)
        .arg("--")
        .arg(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{name} failed in the namespace:\n{log}"
    );
    assert!(
        log.contains("1 passed"),
        "{name} did not run in the namespace:\n{log}"
    );
    eprintln!("{log}");
}

#[test]
fn chromium_is_dtls_client() {
    in_netns("chromium_is_dtls_client", || run(Role::Server));
}

#[test]
fn chromium_is_dtls_server() {
    in_netns("chromium_is_dtls_server", || run(Role::Client));
}

/// The Node/Playwright peer: stdout lines arrive on a channel, stderr is kept for the log.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<serde_json::Value>,
    stderr: Arc<Mutex<String>>,
}

impl Peer {
    fn spawn() -> Peer {
        let script = manifest_dir().join("tests/chromium/peer.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("CHROMIUM", CHROMIUM)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn node");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("[peer.mjs stdout] {line}"),
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Peer {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    fn send(&mut self, line: &str) {
        let _ = writeln!(self.stdin, "{line}");
        let _ = self.stdin.flush();
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.send("quit");
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The few SDP attributes of Chromium's offer we need.
#[derive(Debug)]
struct Offer {
    mid: String,
    ufrag: String,
    fingerprint: String,
}

fn parse_offer(sdp: &str) -> Offer {
    let attr = |name: &str| {
        sdp.lines()
            .find_map(|l| l.strip_prefix(&format!("a={name}:")))
            .unwrap_or_else(|| panic!("offer has no a={name}:\n{sdp}"))
            .trim()
            .to_string()
    };
    let fp = attr("fingerprint");
    let (alg, value) = fp.split_once(' ').unwrap();
    assert_eq!(alg, "sha-256", "Chromium's default fingerprint");
    assert_eq!(attr("setup"), "actpass");
    Offer {
        mid: attr("mid"),
        ufrag: attr("ice-ufrag"),
        fingerprint: value.to_string(),
    }
}

/// An ICE-lite answer with one host candidate: our socket.
fn answer(offer: &Offer, cert: &Certificate, our_role: Role, port: u16) -> String {
    let setup = match our_role {
        Role::Server => "passive",
        Role::Client => "active",
    };
    [
        "v=0".to_string(),
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1".into(),
        "s=-".into(),
        "t=0 0".into(),
        "a=ice-lite".into(),
        format!("a=group:BUNDLE {}", offer.mid),
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel".into(),
        "c=IN IP4 0.0.0.0".into(),
        format!("a=mid:{}", offer.mid),
        format!("a=ice-ufrag:{LOCAL_UFRAG}"),
        format!("a=ice-pwd:{LOCAL_PWD}"),
        format!("a=fingerprint:sha-256 {}", cert.fingerprint_sha256()),
        format!("a=setup:{setup}"),
        "a=sctp-port:5000".into(),
        "a=max-message-size:262144".into(),
        format!("a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host"),
        "a=end-of-candidates".into(),
        String::new(),
    ]
    .join("\r\n")
}

/// What one run observed.
#[derive(Default)]
struct Outcome {
    connected: Option<Event>,
    chromium: Option<serde_json::Value>,
    stun_requests: usize,
    nominated: bool,
    /// Chromium's first DTLS flight: what it sent before our next datagram.
    first_flight: Vec<u8>,
}

fn run(our_role: Role) {
    let cert = Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        &mut ChaCha20Rng::seed_from_u64(11),
        NOW_MS,
        30 * 86_400_000,
    )
    .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();

    let mut peer = Peer::spawn();
    let offer_sdp = match peer.lines.recv_timeout(TIMEOUT) {
        Ok(v) => match v["offer"].as_str() {
            Some(sdp) => sdp.to_string(),
            None => panic!("no offer: {v}\n{}", peer.log()),
        },
        Err(e) => panic!("peer.mjs sent no offer ({e}):\n{}", peer.log()),
    };
    let offer = parse_offer(&offer_sdp);
    let answer_sdp = answer(&offer, &cert, our_role, port);
    peer.send(&serde_json::json!({ "answer": answer_sdp }).to_string());

    let mut config = Config::new(cert.clone());
    config.expected_remote_fingerprint = Some(Fingerprint::new("sha-256", &offer.fingerprint));
    let start = Instant::now();
    let mut dtls = (our_role == Role::Server).then(|| {
        Endpoint::new(
            Role::Server,
            config.clone(),
            ChaCha20Rng::seed_from_u64(12),
            start,
        )
    });
    let mut remote: Option<SocketAddr> = None;
    let mut out = Outcome::default();
    let mut first_flight_done = false;
    let mut buf = vec![0u8; 65536];

    while start.elapsed() < TIMEOUT && (out.connected.is_none() || out.chromium.is_none()) {
        if let Ok(v) = peer.lines.try_recv() {
            if !v["error"].is_null() {
                panic!("peer.mjs failed: {v}\n{}", peer.log());
            }
            if !v["result"].is_null() {
                out.chromium = Some(v["result"].clone());
            }
        }
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let datagram = &buf[..n];
            let now = Instant::now();
            if stun::is_stun(datagram) {
                let req = stun::parse_binding_request(datagram, LOCAL_PWD)
                    .unwrap_or_else(|e| panic!("bad check from Chromium: {e}"));
                assert_eq!(req.username, format!("{LOCAL_UFRAG}:{}", offer.ufrag));
                out.stun_requests += 1;
                out.nominated |= req.use_candidate;
                socket
                    .send_to(
                        &stun::binding_success(&req.transaction_id, from, LOCAL_PWD),
                        from,
                    )
                    .unwrap();
                remote.get_or_insert(from);
                if dtls.is_none() {
                    // As DTLS client, start once Chromium's checks say where it is.
                    dtls = Some(Endpoint::new(
                        Role::Client,
                        config.clone(),
                        ChaCha20Rng::seed_from_u64(13),
                        now,
                    ));
                }
            } else if is_dtls(datagram) {
                if !first_flight_done {
                    out.first_flight.extend_from_slice(datagram);
                }
                remote.get_or_insert(from);
                if let Some(d) = dtls.as_mut() {
                    d.handle_datagram(now, datagram);
                }
            }
        }
        let Some(d) = dtls.as_mut() else { continue };
        let now = Instant::now();
        if d.poll_timeout().is_some_and(|t| t <= now) {
            d.handle_timeout(now);
        }
        while let Some(datagram) = d.poll_datagram() {
            if let Some(to) = remote {
                socket.send_to(&datagram, to).unwrap();
                first_flight_done |= !out.first_flight.is_empty();
            }
        }
        while let Some(ev) = d.poll_event() {
            match ev {
                Event::Connected { .. } => out.connected = Some(ev),
                Event::ApplicationData(_) => {} // Chromium's SCTP INIT: nobody here speaks SCTP.
                other => panic!("our endpoint: {other:?}\n{}", peer.log()),
            }
        }
    }

    let log = peer.log();
    let chromium = out
        .chromium
        .unwrap_or_else(|| panic!("Chromium reported no DTLS result in time:\n{log}"));
    eprintln!(
        "{our_role:?}: {} STUN checks (nominated: {}), Chromium: {chromium}",
        out.stun_requests, out.nominated
    );
    assert_eq!(
        chromium["dtls"], "connected",
        "Chromium's RTCDtlsTransport:\n{chromium}\n{log}"
    );
    let their_view = chromium["remoteCertificates"][0]
        .as_str()
        .expect("Chromium reports a remote certificate");
    assert_eq!(
        Base64::decode_vec(their_view).unwrap(),
        cert.der,
        "Chromium saw our certificate"
    );
    match out.connected {
        Some(Event::Connected {
            fingerprint_verified,
            peer_certificate,
            cipher_suite,
            srtp_profile,
        }) => {
            eprintln!("{our_role:?}: connected with {cipher_suite:?}, SRTP {srtp_profile:?}");
            assert!(fingerprint_verified);
            assert!(Fingerprint::new("sha-256", &offer.fingerprint).matches(&peer_certificate));
            // A data-channel-only session still negotiates use_srtp in WebRTC.
            assert!(srtp_profile.is_some());
        }
        other => panic!("our endpoint did not connect: {other:?}\n{log}"),
    }
    assert!(dtls
        .as_ref()
        .unwrap()
        .export_keying_material("EXTRACTOR-dtls_srtp", 60)
        .is_ok());

    let fixture = match our_role {
        Role::Server => CLIENT_HELLO_FIXTURE,
        Role::Client => SERVER_FLIGHT_FIXTURE,
    };
    save_fixture(fixture, &out.first_flight);
}

/// Keep Chromium's real first flight (only when missing, or when POLYRTC_UPDATE_FIXTURES=1).
fn save_fixture(rel: &str, bytes: &[u8]) {
    assert!(!bytes.is_empty(), "no DTLS flight captured for {rel}");
    let path = manifest_dir().join(rel);
    if path.exists() && std::env::var("POLYRTC_UPDATE_FIXTURES").as_deref() != Ok("1") {
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    eprintln!("wrote {} ({} bytes)", Path::new(rel).display(), bytes.len());
}
