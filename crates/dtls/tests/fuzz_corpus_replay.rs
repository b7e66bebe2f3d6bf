//! Replays every file of the cargo-fuzz corpora (`fuzz/corpus/<target>/`) through the same
//! entry points the nightly fuzz targets call, on stable, so a crash once found stays fixed.
//! Regenerate the seeds with `POLYRTC_UPDATE_FIXTURES=1 cargo test -p polyrtc-dtls --test
//! fuzz_corpus_replay` (the Chromium flights come from `tests/fixtures/`).

use std::path::PathBuf;
use std::time::Instant;

use polyrtc_dtls::fuzz;
use polyrtc_dtls::handshake::header::parse_fragments;
use polyrtc_dtls::record::Record;
use polyrtc_dtls::{Certificate, Config, Endpoint, KeyAlgorithm, Role};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const TARGETS: [&str; 3] = ["record_parse", "handshake_parse", "server_handshake"];

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn cert(seed: u64) -> Certificate {
    Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        &mut ChaCha20Rng::seed_from_u64(seed),
        1_795_564_800_000,
        86_400_000,
    )
    .unwrap()
}

/// What the fuzz target does with `data`; for server_handshake, whether it connected.
fn run(target: &str, data: &[u8], server_cert: &Certificate) -> bool {
    match target {
        "record_parse" => {
            fuzz::parse_datagram(data);
            false
        }
        "handshake_parse" => {
            fuzz::parse_message_bodies(data);
            fuzz::parse_fragments(data);
            false
        }
        "server_handshake" => fuzz::server_handshake(
            Config::new(server_cert.clone()),
            ChaCha20Rng::seed_from_u64(2),
            Instant::now(),
            data,
        ),
        _ => unreachable!(),
    }
}

#[test]
fn replay_every_corpus_file() {
    if std::env::var("POLYRTC_UPDATE_FIXTURES").as_deref() == Ok("1") {
        write_seeds();
    }
    let server_cert = cert(1);
    for target in TARGETS {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(target))
            .unwrap_or_else(|e| panic!("corpus for {target}: {e}"))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 3, "{target}: only {} seeds", files.len());
        for f in &files {
            let data = std::fs::read(f).unwrap();
            // A panic here names the file: reproduce with `cargo fuzz run <target> <file>`.
            eprintln!("{target}: {}", f.display());
            let connected = run(target, &data, &server_cert);
            // The server in the fuzz target is the one the transcript seeds were recorded
            // with, so a whole client transcript replays to a completed handshake.
            let name = f.file_name().unwrap().to_string_lossy();
            if name.starts_with("seed-client-transcript") {
                assert!(connected, "{name} should complete the handshake");
            }
        }
    }
}

/// Every datagram of an in-memory handshake plus application data and close, per direction.
fn handshake_transcript() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let now = Instant::now();
    let mut config = Config::new(cert(3));
    config.mtu = 500; // fragmented handshake messages too
    let mut client = Endpoint::new(Role::Client, config, ChaCha20Rng::seed_from_u64(4), now);
    // Certificate and random source as in the server_handshake fuzz target (and `run`).
    let mut server = Endpoint::new(
        Role::Server,
        Config::new(cert(1)),
        ChaCha20Rng::seed_from_u64(2),
        now,
    );
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    let mut sent_data = false;
    for _ in 0..20 {
        while let Some(d) = client.poll_datagram() {
            server.handle_datagram(now, &d);
            to_server.push(d);
        }
        while let Some(d) = server.poll_datagram() {
            client.handle_datagram(now, &d);
            to_client.push(d);
        }
        if client.is_connected() && server.is_connected() && !sent_data {
            client.send_application_data(b"ping").unwrap();
            server.send_application_data(b"pong").unwrap();
            client.close();
            sent_data = true;
        }
    }
    assert!(sent_data, "the seed handshake completes");
    (to_server, to_client)
}

/// The datagram's epoch-0 records with their sequence numbers moved on by `by`.
fn renumber(datagram: &[u8], by: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for rec in Record::parse_datagram(datagram) {
        let sequence = rec.sequence + if rec.epoch == 0 { by } else { 0 };
        Record { sequence, ..rec }.encode(&mut out);
    }
    out
}

fn write_seeds() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let chromium_hello = std::fs::read(fixtures.join("chromium156_client_hello.bin")).unwrap();
    let chromium_server = std::fs::read(fixtures.join("chromium156_server_flight.bin")).unwrap();
    let (to_server, to_client) = handshake_transcript();

    let mut seeds: Vec<(&str, String, Vec<u8>)> = Vec::new();
    let mut datagrams = vec![
        (
            "chromium156-client-hello".to_string(),
            chromium_hello.clone(),
        ),
        (
            "chromium156-server-flight".to_string(),
            chromium_server.clone(),
        ),
    ];
    datagrams.extend(
        to_server
            .iter()
            .enumerate()
            .map(|(i, d)| (format!("c2s-{i:02}"), d.clone())),
    );
    datagrams.extend(
        to_client
            .iter()
            .enumerate()
            .map(|(i, d)| (format!("s2c-{i:02}"), d.clone())),
    );
    for (name, d) in &datagrams {
        seeds.push(("record_parse", name.clone(), d.clone()));
        // Each plaintext handshake fragment, with its header, and each message body.
        for (r, rec) in Record::parse_datagram(d).iter().enumerate() {
            if rec.epoch != 0 {
                continue;
            }
            if let Ok(frags) = parse_fragments(rec.fragment) {
                seeds.push((
                    "handshake_parse",
                    format!("{name}-rec{r}"),
                    rec.fragment.to_vec(),
                ));
                for (f, (h, body)) in frags.iter().enumerate() {
                    let what = format!("{name}-rec{r}-{f}-{:?}", h.msg_type).to_lowercase();
                    seeds.push(("handshake_parse", what, body.to_vec()));
                }
            }
        }
    }
    let hello_datagrams: Vec<Vec<u8>> = Record::parse_datagram(&chromium_hello)
        .iter()
        .map(|r| {
            let mut d = Vec::new();
            r.encode(&mut d);
            d
        })
        .collect();
    let hello_refs: Vec<&[u8]> = hello_datagrams.iter().map(Vec::as_slice).collect();
    seeds.push((
        "server_handshake",
        "chromium156-client-hello".into(),
        fuzz::encode_datagrams(hello_refs.iter().copied()),
    ));
    // Twice, the second time in new records: it gets the server's cookie spliced in.
    let retry: Vec<Vec<u8>> = hello_datagrams.iter().map(|d| renumber(d, 2)).collect();
    seeds.push((
        "server_handshake",
        "chromium156-client-hello-twice".into(),
        fuzz::encode_datagrams(
            hello_refs
                .iter()
                .copied()
                .chain(retry.iter().map(Vec::as_slice)),
        ),
    ));
    seeds.push((
        "server_handshake",
        "client-transcript".into(),
        fuzz::encode_datagrams(to_server.iter().map(Vec::as_slice)),
    ));
    // The first hello, then the same again in a new record (so the server's own cookie is
    // spliced in and it answers with flight 4), then the rest of the client's flights.
    let again = renumber(&to_server[0], 1);
    let rest: Vec<Vec<u8>> = to_server[2..].iter().map(|d| renumber(d, 1)).collect();
    let mut spliced = vec![to_server[0].as_slice(), again.as_slice()];
    spliced.extend(rest.iter().map(Vec::as_slice));
    seeds.push((
        "server_handshake",
        "spliced-cookie-then-client-flights".into(),
        fuzz::encode_datagrams(spliced),
    ));

    for target in TARGETS {
        let dir = corpus(target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (target, name, data) in seeds {
        std::fs::write(corpus(target).join(format!("seed-{name}")), data).unwrap();
    }
}
