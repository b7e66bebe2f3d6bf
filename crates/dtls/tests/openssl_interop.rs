//! Interoperability with OpenSSL's DTLS 1.2 (`openssl s_server` / `s_client`) over loopback
//! UDP. Skipped when the `openssl` binary is missing. Real sockets and the real clock are
//! fine here: this is test code, never built for wasm.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polyrtc_dtls::{
    Certificate, CipherSuite, Config, Endpoint, Event, Fingerprint, KeyAlgorithm, Role, SrtpProfile,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const NOW_MS: u64 = 1_795_564_800_000;

fn have_openssl() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok();
    if !ok {
        eprintln!("openssl not installed: skipping interop test");
    }
    ok
}

fn cert(seed: u64, alg: KeyAlgorithm) -> Certificate {
    Certificate::generate(
        alg,
        &mut ChaCha20Rng::seed_from_u64(seed),
        NOW_MS,
        86_400_000,
    )
    .unwrap()
}

struct Files {
    dir: std::path::PathBuf,
}

impl Files {
    fn new(name: &str) -> Files {
        let dir = std::env::temp_dir().join(format!(
            "polyrtc-dtls-interop-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Files { dir }
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, contents).unwrap();
        p.to_str().unwrap().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An openssl child whose stdout (and stderr) is collected in the background.
struct OpenSsl {
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<String>>,
}

impl OpenSsl {
    fn spawn(args: &[&str]) -> OpenSsl {
        let mut child = Command::new("openssl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    out.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let stdin = child.stdin.take();
        OpenSsl {
            child,
            stdin,
            output,
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    fn wait_for(&self, needle: &str, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// "Keying material: HEX" as OpenSSL prints it after `-keymatexport`.
    fn keying_material(&self) -> Option<Vec<u8>> {
        let out = self.output();
        let hex = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Keying material: "))?
            .trim()
            .to_string();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect()
    }
}

impl Drop for OpenSsl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `ep` over `sock` until `done` holds for the events so far, or `limit` passes.
fn drive(
    ep: &mut Endpoint,
    sock: &UdpSocket,
    peer: &mut Option<SocketAddr>,
    events: &mut Vec<Event>,
    limit: Duration,
    done: impl Fn(&[Event]) -> bool,
) {
    let end = Instant::now() + limit;
    let mut buf = vec![0u8; 65536];
    while Instant::now() < end {
        while let Some(d) = ep.poll_datagram() {
            if let Some(p) = peer {
                sock.send_to(&d, *p).unwrap();
            }
        }
        while let Some(e) = ep.poll_event() {
            events.push(e);
        }
        if done(events) {
            return;
        }
        let now = Instant::now();
        let wait = ep
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(50))
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        sock.set_read_timeout(Some(wait)).unwrap();
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                *peer = Some(from);
                ep.handle_datagram(Instant::now(), &buf[..n]);
            }
            Err(_) => ep.handle_timeout(Instant::now()),
        }
    }
}

fn connected(ev: &[Event]) -> bool {
    ev.iter()
        .any(|e| matches!(e, Event::Connected { .. } | Event::Closed))
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn openssl_srtp_name(p: SrtpProfile) -> &'static str {
    match p {
        SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
        SrtpProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
        SrtpProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_SHA1_32",
        SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
    }
}

fn client_against_s_server(
    ours: KeyAlgorithm,
    theirs: KeyAlgorithm,
    suite: CipherSuite,
    srtp: SrtpProfile,
) {
    if !have_openssl() {
        return;
    }
    let files = Files::new(&format!("c-{suite:?}"));
    let server_cert = cert(20, theirs);
    let our_cert = cert(21, ours);
    let cert_path = files.write("server.pem", &server_cert.to_pem());
    let key_path = files.write("server.key", &server_cert.private_key_pem());
    let ca_path = files.write("client.pem", &our_cert.to_pem());
    let port = free_port();
    let accept = format!("127.0.0.1:{port}");
    let mut server = OpenSsl::spawn(&[
        "s_server",
        "-dtls1_2",
        // Debian's OpenSSL defaults to security level 2, which refuses our quick 1024-bit test
        // keys; browsers accept them.
        "-cipher",
        "DEFAULT:@SECLEVEL=1",
        "-accept",
        &accept,
        "-cert",
        &cert_path,
        "-key",
        &key_path,
        "-Verify",
        "1",
        "-verifyCAfile",
        &ca_path,
        "-use_srtp",
        openssl_srtp_name(srtp),
        "-keymatexport",
        "EXTRACTOR-dtls_srtp",
        "-keymatexportlen",
        &srtp.keying_material_len().to_string(),
        "-naccept",
        "1",
    ]);
    assert!(
        server.wait_for("ACCEPT", Duration::from_secs(5)),
        "{}",
        server.output()
    );

    let mut config = Config::new(our_cert);
    config.expected_remote_fingerprint = Some(Fingerprint::new(
        "sha-256",
        &server_cert.fingerprint_sha256(),
    ));
    config.cipher_suites = vec![suite];
    config.srtp_profiles = vec![srtp];
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut peer = Some(accept.parse().unwrap());
    let mut ep = Endpoint::new(
        Role::Client,
        config,
        ChaCha20Rng::seed_from_u64(3),
        Instant::now(),
    );
    let mut events = Vec::new();
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        Duration::from_secs(10),
        connected,
    );
    assert!(ep.is_connected(), "{events:?}\n{}", server.output());
    match &events[0] {
        Event::Connected {
            cipher_suite,
            srtp_profile,
            fingerprint_verified,
            ..
        } => {
            assert_eq!(*cipher_suite, suite);
            assert_eq!(*srtp_profile, Some(srtp));
            assert!(fingerprint_verified);
        }
        e => panic!("{e:?}"),
    }

    ep.send_application_data(b"hello from polyrtc\n").unwrap();
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        Duration::from_millis(200),
        |_| false,
    );
    assert!(
        server.wait_for("hello from polyrtc", Duration::from_secs(5)),
        "{}",
        server.output()
    );
    server.send_line("hello from openssl\n");
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        Duration::from_secs(5),
        |ev| ev.iter().any(|e| matches!(e, Event::ApplicationData(_))),
    );
    assert!(
        events.contains(&Event::ApplicationData(b"hello from openssl\n".to_vec())),
        "{events:?}"
    );
    let (profile, km) = ep.srtp_keying_material().unwrap();
    assert_eq!(profile, srtp);
    assert_eq!(server.keying_material(), Some(km), "{}", server.output());
    ep.close();
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        Duration::from_millis(100),
        |_| false,
    );
}

fn server_against_s_client(
    ours: KeyAlgorithm,
    theirs: KeyAlgorithm,
    suite: CipherSuite,
    mtu: usize,
) {
    if !have_openssl() {
        return;
    }
    let files = Files::new(&format!("s-{suite:?}-{mtu}"));
    let client_cert = cert(30, theirs);
    let our_cert = cert(31, ours);
    let cert_path = files.write("client.pem", &client_cert.to_pem());
    let key_path = files.write("client.key", &client_cert.private_key_pem());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let connect = sock.local_addr().unwrap().to_string();
    let mut config = Config::new(our_cert);
    config.expected_remote_fingerprint = Some(Fingerprint::new(
        "sha-256",
        &client_cert.fingerprint_sha256(),
    ));
    config.cipher_suites = vec![suite];
    config.mtu = mtu;
    let mut ep = Endpoint::new(
        Role::Server,
        config,
        ChaCha20Rng::seed_from_u64(4),
        Instant::now(),
    );
    let mut client = OpenSsl::spawn(&[
        "s_client",
        "-dtls1_2",
        "-cipher",
        "DEFAULT:@SECLEVEL=1",
        "-connect",
        &connect,
        "-cert",
        &cert_path,
        "-key",
        &key_path,
        "-use_srtp",
        "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
        "-keymatexport",
        "EXTRACTOR-dtls_srtp",
        "-keymatexportlen",
        "56",
        "-mtu",
        &mtu.to_string(),
    ]);
    let mut peer = None;
    let mut events = Vec::new();
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        Duration::from_secs(10),
        connected,
    );
    assert!(ep.is_connected(), "{events:?}\n{}", client.output());
    assert!(
        client.wait_for("Keying material", Duration::from_secs(5)),
        "{}",
        client.output()
    );
    let (profile, km) = ep.srtp_keying_material().unwrap();
    assert_eq!(profile, SrtpProfile::AeadAes128Gcm);
    assert_eq!(client.keying_material(), Some(km), "{}", client.output());

    client.send_line("ping from openssl\n");
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        Duration::from_secs(5),
        |ev| ev.iter().any(|e| matches!(e, Event::ApplicationData(_))),
    );
    assert!(
        events.contains(&Event::ApplicationData(b"ping from openssl\n".to_vec())),
        "{events:?}"
    );
    ep.send_application_data(b"pong from polyrtc\n").unwrap();
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        Duration::from_millis(200),
        |_| false,
    );
    assert!(
        client.wait_for("pong from polyrtc", Duration::from_secs(5)),
        "{}",
        client.output()
    );
}

#[test]
fn client_interops_with_openssl_server_ecdsa_chacha() {
    client_against_s_server(
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP256,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        SrtpProfile::AeadAes128Gcm,
    );
}

#[test]
fn client_interops_with_openssl_server_ecdsa_aes256() {
    client_against_s_server(
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP256,
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        SrtpProfile::Aes128CmHmacSha1_80,
    );
}

#[test]
fn client_interops_with_openssl_server_rsa_aes128() {
    let rsa = KeyAlgorithm::Rsa {
        modulus_bits: 1024,
        public_exponent: 65537,
    };
    client_against_s_server(
        rsa,
        rsa,
        CipherSuite::EcdheRsaAes128GcmSha256,
        SrtpProfile::AeadAes128Gcm,
    );
}

#[test]
fn server_interops_with_openssl_client_aes128() {
    server_against_s_client(
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP256,
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        1200,
    );
}

#[test]
fn server_interops_with_openssl_client_small_mtu_rsa_client() {
    server_against_s_client(
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::Rsa {
            modulus_bits: 1024,
            public_exponent: 65537,
        },
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        400,
    );
}
