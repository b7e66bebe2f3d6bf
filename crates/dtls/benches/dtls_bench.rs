//! Native benchmark of crates/dtls, run by `bench/dtls.sh`: in-memory handshake time (ECDSA
//! P-256 certificates made beforehand) and record throughput (1,200-byte application data
//! records: seal on one side, open on the other). Prints `name value unit` lines.
//!
//!     cargo bench -p polyrtc-dtls --bench dtls_bench -- [handshakes] [records]
//!
//! A bench target (`harness = false`): only `cargo bench` builds it, natively. The endpoints
//! get their time as an input like everywhere else; the clock is read only to time the work.

use std::time::{Duration, Instant};

use polyrtc_dtls::{Certificate, CipherSuite, Config, Endpoint, Event, KeyAlgorithm, Role};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const RECORD: usize = 1200;

fn cert(seed: u64) -> Certificate {
    Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        &mut ChaCha20Rng::seed_from_u64(seed),
        1_795_564_800_000,
        86_400_000,
    )
    .unwrap()
}

fn connect(
    cc: &Certificate,
    sc: &Certificate,
    suite: CipherSuite,
    seed: u64,
    now: Instant,
) -> (Endpoint, Endpoint) {
    let mut ccfg = Config::new(cc.clone());
    ccfg.cipher_suites = vec![suite];
    let mut client = Endpoint::new(Role::Client, ccfg, ChaCha20Rng::seed_from_u64(seed), now);
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// MB/s (10^6 bytes) of sealing `n` records, and of sealing + opening them.
fn throughput(
    cc: &Certificate,
    sc: &Certificate,
    suite: CipherSuite,
    n: usize,
    now: Instant,
) -> (f64, f64) {
    let (mut client, mut server) = connect(cc, sc, suite, 100, now);
    let payload = vec![0xa5u8; RECORD];
    let mut sealed = Vec::with_capacity(n);
    let t = Instant::now();
    for _ in 0..n {
        client.send_application_data(&payload).unwrap();
        sealed.push(client.poll_datagram().unwrap());
    }
    let seal = t.elapsed();
    let t = Instant::now();
    let mut got = 0;
    for d in &sealed {
        server.handle_datagram(now, d);
        while let Some(ev) = server.poll_event() {
            if let Event::ApplicationData(p) = ev {
                got += p.len();
            }
        }
    }
    let open = t.elapsed();
    assert_eq!(got, n * RECORD, "every record opened");
    let mb = (n * RECORD) as f64 / 1e6;
    (mb / seal.as_secs_f64(), mb / (seal + open).as_secs_f64())
}

fn main() {
    // `cargo bench` adds `--bench`: only the numbers are ours.
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse::<usize>().unwrap());
    let handshakes = args.next().unwrap_or(50);
    let records = args.next().unwrap_or(20_000);
    let (cc, sc) = (cert(1), cert(2));
    // The endpoints' time: handshakes and records in memory take no simulated time.
    let now = Instant::now();

    for suite in [
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    ] {
        let times: Vec<Duration> = (0..handshakes)
            .map(|i| {
                let t = Instant::now();
                connect(&cc, &sc, suite, 1000 + 2 * i as u64, now);
                t.elapsed()
            })
            .collect();
        println!(
            "handshake_ms {suite:?} {:.3} (median of {handshakes})",
            median(times).as_secs_f64() * 1e3
        );
    }
    let t = Instant::now();
    let n = 20;
    for i in 0..n {
        cert(10 + i);
    }
    println!(
        "certificate_generate_ms EcdsaP256 {:.3} (mean of {n})",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
    for suite in [
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    ] {
        let (seal, both) = throughput(&cc, &sc, suite, records, now);
        println!("seal_MBps {suite:?} {seal:.1} ({records} x {RECORD} B)");
        println!("seal_open_MBps {suite:?} {both:.1}");
    }
}
